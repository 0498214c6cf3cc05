"""Media paths and URLs in an instruction: what to upload, where to save an export, and which links are
pages (content for the agent, not files).

- A local path starts with `/`, `~/`, `./`, `../`, `X:\\` or `X:/` after a space, a quote, a colon or a
  Chinese character, and ends at a media extension (`.mp4`, `.MOV`, ...) followed by a space, punctuation,
  a closing quote or the end. Spaces inside are allowed ("Screen Recording 2024-06-11 at 10.42.13.mov"); the
  shortest such path wins, so two paths in a row stay two. A bare name ("clip.mp4") names a file already
  in the project and is left alone.
- A URL is a media source when its path ends with a media extension; other links (an article, a YouTube
  page) stay in the text for the agent.
- A path after a save/export cue ("save it as ~/x.mp4", "render to /out/", 导出到 D:\\成片.mp4) is the
  export's destination, not an upload; it may also be a folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from nemo_mcp.api.media import ACCEPTED_EXTENSIONS, EXTENSION_ALIASES

# Longest first, so "jpeg" is tried before "jpg".
# Media the backend does not take is still handed over, so that the upload says so plainly (rather than
# the path going to the agent as text): FLV, MXF, WMV, HEIC...
OTHER_MEDIA = (
    "flv",
    "mxf",
    "wmv",
    "3gp",
    "mts",
    "m2ts",
    "ts",
    "mpg",
    "mpeg",
    "vob",
    "m4v",
    "heic",
    "heif",
    "tif",
    "tiff",
    "bmp",
    "webp",
    "flac",
    "ogg",
    "opus",
    "aiff",
    "aif",
    "wma",
    "braw",
    "r3d",
    "dng",
)
_EXT = "|".join(sorted((*ACCEPTED_EXTENSIONS, *EXTENSION_ALIASES, *OTHER_MEDIA), key=len, reverse=True))
_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
# What may stand right before a path / right after its extension.
_BEFORE = rf"(?:(?<=^)|(?<=[\s\"'`(（「『《:：,，、;；=>→{_CJK}]))"
_AFTER = rf"(?=$|[\s\"'`)）」』》,，。.;；:：!！?？、>{_CJK}])"
_START = r"(?:~[\\/]|\.{1,2}[\\/]|[A-Za-z]:[\\/]|\\\\|/(?=[^\s/]))"
_PATH_RE = re.compile(rf"{_BEFORE}({_START}[^\n\"`<>|*?]*?\.(?:{_EXT})){_AFTER}", re.IGNORECASE)
_QUOTED_RE = re.compile(rf"([\"'`“‘「『])({_START}[^\n\"'`“”‘’「」『』]*?)([\"'`”’」』])", re.IGNORECASE)
# A folder (or a file of any kind) after a destination cue: no spaces unless quoted.
_BARE_PATH_RE = re.compile(rf"{_BEFORE}({_START}[^\s\"'`<>|，。；！？]*)")
_URL_RE = re.compile(
    r"(?:https?|ftp|file)://[^\s\"'<>`，。；！？、）】」》]+|data:[^\s\"'<>`]+", re.IGNORECASE
)
_TRAILING = ".,;:!?)]}>，。；：！？）】」、'\""
_MEDIA_URL_RE = re.compile(rf"\.(?:{_EXT})$", re.IGNORECASE)
_MEDIA_IN_URL_RE = re.compile(rf"\.(?:{_EXT})(?=[{_CJK}])", re.IGNORECASE)

# Saving or exporting somewhere: the path that follows is where the MP4 goes.
_PREP = (
    r"(?:\b(?:to|into|as|in|at|onto|under|on|with)|->|→)\s*(?:the\s+|my\s+)?(?:folder\s+|file\s+|path\s+)?"
    r"[:：]?\s*[\"'`“‘]?$"
)
_DEVICE = (
    r"\b(?:on|to|in|onto)\s+(?:my\s+|the\s+)?[\w ]{0,20}?"
    r"\b(?:drive|disk|nas|folder|desktop|computer|laptop|usb|stick)\b[,:：]?\s*$"
)
_DEST_EN = re.compile(
    # a saving verb and a preposition: "save it as", "render to", "export the cut into", "output to"
    r"\b(?:export(?:s|ed|ing)?(?![_\w])|render\w*|sav(?:e|ing)|writ(?:e|ing)|print\w*|download\w*|output\w*|dl|exp|"
    r"stor(?:e|ing)|bounce|deliver\w*)\b[^.!?\n]*?" + _PREP +
    # or a placing verb whose object is the finished video: "put the finished video in", "send the mp4 to"
    r"|\b(?:put|place|drop|send|copy|move|stick|dump|let me have|give me|hand me)\b[^.!?\n]*?\b(?:finished|"
    r"final|"
    r"completed|result|output|export\w*|render\w*|mp4|master|video|film|file|cut|it)\b[^.!?\n]*?(?:"
    + _PREP
    + "|"
    + _DEVICE
    + ")"
    # or overwriting a file with the result: "overwrite ~/draft.mp4 with the final"
    r"|\b(?:overwrite|replace)\s*$"
    # or saving/putting somewhere named loosely: "save inside my external,", "put the finished tour in my
    # listings share,", "onto the memory stick … F:\"
    r"|(?<!\bi )(?<!\bi've )(?<!\bi have )(?<!\bwe )\b(?:save|put|place|drop|copy|move|store|send|write)\b"
    r"[^.!?\n,]{0,60}?\b(?:inside|in|into|onto|on|to)\s+(?:my|the|our|a)\b[\w '’-]{0,40}[,:：]?\s*$",
    re.IGNORECASE,
)
_DEST_ZH = re.compile(
    r"(?:导出|汇出|匯出|保存|存|输出|輸出|下载|下載|渲染|export\w*|render\w*|save|download\w*|output\w*)\s*"
    r"(?:档|檔|盘|一份|一下)?\s*(?:到|至|成|为|進|进|去|在)[^，。！？\n]*$"
    r"|(?:成片|成品|最终版|最终稿|视频文件|final)\S{0,6}?(?:放在|放到|存在|存到|保存到|放)\s*$"
    r"|(?:出片|导出|export|render|出)[^。！？\n]{0,12}?(?:放|存|save|put)\s*$"
    # a bare placing verb before a folder: "放到 D:\成片\ 里面就行", "擺去 \\NAS\media\"
    r"|(?<![开解释发])(?:放|摆|擺|丢|丟|扔|存|拷|copy|放返)\s*(?:到|进|進|去|在|入)\s*$"
    r"|(?:存|放|拷|存到|放到)(?:到|進|进)?[^，。\n]{0,8}(?:随身碟|隨身碟|u盘|U盘|硬盘|硬碟|文件夹|資料夾)[，,:：]\s*$",
    re.IGNORECASE,
)


@dataclass
class Found:
    """What `find` saw in one instruction."""

    sources: list[str] = field(default_factory=list)  # media to upload, in order, without duplicates
    destination: str | None = None  # where an export should be saved
    links: list[str] = field(default_factory=list)  # other URLs (pages): content for the agent
    text: str = ""  # the instruction without the sources and the destination (what the agent gets)
    masked: str = ""  # the instruction with «file», «dest» and «link» in their place (for classification)


def _is_destination(before: str) -> bool:
    tail = before[-120:]
    if re.search(r"我(?:已经|刚)?把[^，。,]*$|我(?:已经|刚)?(?:放|存)[^，。,]*$", tail):
        return False  # "我把视频放在 <path> 了": where the user put a file, told
    return bool(_DEST_EN.search(tail) or _DEST_ZH.search(tail))


def find(text: str) -> Found:
    """Sources, destination and links of `text` (see the module docstring)."""
    spans: list[tuple[int, int, str, str]] = []  # (start, end, kind, value) over `text`

    def free(start: int, end: int) -> bool:
        return all(end <= s or e <= start for s, e, _, _ in spans)

    for m in _URL_RE.finditer(text):
        url = m.group(0)
        cut = _MEDIA_IN_URL_RE.search(url)
        if cut:  # "…/开场.mp4这个链接": the URL ends at its media extension
            url = url[: cut.end()]
        url = url.rstrip(_TRAILING)
        path = urlsplit(url).path if "://" in url else url
        kind = (
            "source" if _MEDIA_URL_RE.search(path) or not url.lower().startswith(("http", "ftp")) else "link"
        )
        spans.append((m.start(), m.start() + len(url), kind, url))
    for m in _QUOTED_RE.finditer(text):
        value = m.group(2).rstrip()
        if free(m.start(), m.end()) and (_MEDIA_URL_RE.search(value) or _is_destination(text[: m.start()])):
            spans.append((m.start(), m.end(), "path", value))
    for m in _PATH_RE.finditer(text):
        if free(m.start(1), m.end(1)):
            spans.append((m.start(1), m.end(1), "path", m.group(1)))
    for m in _BARE_PATH_RE.finditer(text):
        value = m.group(1).rstrip(_TRAILING)
        if (
            len(value) > 1
            and free(m.start(1), m.start(1) + len(value))
            and _is_destination(text[: m.start(1)])
        ):
            spans.append((m.start(1), m.start(1) + len(value), "path", value))

    found = Found()
    spans.sort()
    for start, _end, kind, value in spans:
        if kind == "link":
            found.links.append(value)
        elif kind == "path" and found.destination is None and _is_destination(text[:start]):
            found.destination = value
        elif value not in found.sources:
            found.sources.append(value)
    cut_text, masked = text, text
    for start, end, kind, value in reversed(spans):
        label = "«link»" if kind == "link" else "«dest»" if value == found.destination else "«file»"
        masked = masked[:start] + f" {label} " + masked[end:]
        if kind != "link":
            cut_text = cut_text[:start] + " " + cut_text[end:]
    found.text = tidy(cut_text)
    found.masked = re.sub(r"\s+", " ", masked).strip()
    return found


def tidy(text: str) -> str:
    """Whitespace collapsed and the connective debris left where a path was cut out dropped."""
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(
        r"^(?:[,，;；:：、.。\-–>→]|and|then|并且|然后|并)\s*", "", text, flags=re.IGNORECASE
    ).strip()
    text = re.sub(r"\s+([,，;；:：、.。!！?？])", r"\1", text)
    return text.strip(" ,，;；:：、-")
