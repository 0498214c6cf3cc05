"""The intent routing table (skill "Matching Input to Actions"), English and Chinese.

`route(instruction)` decides what `edit_video` does with a plain-language instruction:

| User says...                                         | Intent  | Goes to the backend agent? |
|------------------------------------------------------|---------|----------------------------|
| export / 导出 / download / send me the video          | EXPORT  | no (render workflow)       |
| credits / 积分 / balance / 余额                        | CREDITS | no                         |
| status / 状态 / show tracks                            | STATE   | no                         |
| upload / 上传, or a media path / URL in the text       | UPLOAD  | no (then the rest, if any) |
| everything else (generate, edit, add BGM...)          | AGENT   | yes (`/run_sse`)           |

Keywords alone are not enough: "add rolling credits" is an edit, and "extract metadata, generate a
summary, and export a trimmed clip" is an edit followed by an export. So the non-agent intents win only
when the instruction carries no editing verb; an edit that also asks for an export is routed to the
agent with `then_export=True`, and the caller runs the export workflow after the turn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from nemo_mcp.api.media import ACCEPTED_EXTENSIONS


class Intent(StrEnum):
    EXPORT = "export"
    CREDITS = "credits"
    STATE = "state"
    UPLOAD = "upload"
    AGENT = "agent"


@dataclass(frozen=True)
class Route:
    """The outcome of routing one instruction."""

    intent: Intent
    # Local paths and URLs found in the instruction (upload them first).
    sources: list[str] = field(default_factory=list)
    # The instruction with the sources and the bare upload verb removed; what goes on after the upload.
    rest: str = ""
    # The intent of `rest` once the upload is done (AGENT, EXPORT, ...), or None when nothing is left.
    then: Intent | None = None
    # An edit that also asks for the export: run the export workflow after the agent turn.
    then_export: bool = False
    # The keyword or rule that decided (for logs and tests).
    matched: str = ""


# --- source detection ---------------------------------------------------------------------------------

_EXT = "|".join(ACCEPTED_EXTENSIONS)
# Any URL-looking token with a scheme we might meet (the unsafe ones are refused later, by name).
_URL_RE = re.compile(r"""(?:https?|file|data|ftp)://[^\s"'<>`]+|data:[^\s"'<>`]+""", re.IGNORECASE)
# Quoted paths may contain spaces.
_QUOTED_RE = re.compile(
    r"""["'`“”‘’「」]((?:~|\.{1,2}|/|[A-Za-z]:[\\/]|\\\\)?[^"'`“”‘’「」\n]*?\.(?:"""
    + _EXT
    + r"""))["'`“”‘’「」]""",
    re.IGNORECASE,
)
# Unquoted paths need a directory part (`/`, `~`, `./`, `C:\`) so a bare "clip.mp4" that names an
# already uploaded file is not mistaken for something to upload.
_PATH_RE = re.compile(
    r"""(?<![\w/])((?:~|\.{1,2})?(?:[/\\][^\s"'<>|,，。；;、]+)+\.(?:""" + _EXT + r""")"""
    r"""|[A-Za-z]:[\\/][^\s"'<>|,，。；;]*\.(?:""" + _EXT + r"""))(?![\w])""",
    re.IGNORECASE,
)
_TRAILING_PUNCT = ".,;:!?)]}>，。；：！？）】」、"


def find_sources(text: str) -> tuple[list[str], str]:
    """Return (sources, text without them). Sources keep their order of appearance, without duplicates."""
    found: list[tuple[int, str]] = []
    spans: list[tuple[int, int]] = []

    def taken(start: int, end: int) -> bool:
        return any(start < e and s < end for s, e in spans)

    for m in _URL_RE.finditer(text):
        url = m.group(0).rstrip(_TRAILING_PUNCT)
        found.append((m.start(), url))
        spans.append((m.start(), m.start() + len(url)))
    for m in _QUOTED_RE.finditer(text):
        if not taken(m.start(), m.end()):
            found.append((m.start(1), m.group(1)))
            spans.append((m.start(), m.end()))
    for m in _PATH_RE.finditer(text):
        if not taken(m.start(1), m.end(1)):
            found.append((m.start(1), m.group(1)))
            spans.append((m.start(1), m.end(1)))
    found.sort()
    sources: list[str] = []
    for _, s in found:
        if s not in sources:
            sources.append(s)
    rest = text
    for start, end in sorted(spans, reverse=True):
        rest = rest[:start] + " " + rest[end:]
    return sources, _tidy(rest)


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    # Drop connective debris left where a path was cut out ("upload  and then", "上传 ，然后").
    text = re.sub(r"^(?:[,，;；:：、.。]|and|then|并且|然后|并)\s*", "", text, flags=re.IGNORECASE).strip()
    text = re.sub(r"\s+([,，;；:：、.。!！?？])", r"\1", text)
    return text.strip(" ,，;；:：、")


# --- keyword intents ----------------------------------------------------------------------------------

# Editing verbs: their presence makes an instruction an edit even when a routing keyword also occurs.
_EDIT_VERBS_EN = (
    r"\b(?:add|insert|put|place|make|create|generate|produce|edit|cut|trim|crop|shorten|lengthen|extend|"
    r"remove|delete|drop|replace|swap|change|modify|adjust|set|apply|mute|unmute|speed|slow|fade|"
    r"extract|summari[sz]e|caption|subtitle|translate|overlay|merge|combine|split|reorder|move|"
    r"resize|rotate|flip|color|colour|grade|stabili[sz]e|enhance|improve|convert|transcribe|dub|narrate|"
    r"animate|zoom|blur|brighten|darken|loop|reverse|layer|mix|title)\w*\b"
)
_EDIT_VERBS_ZH = (
    r"(?:加|添加|增加|插入|生成|制作|做一个|做个|剪|裁|删除|删掉|去掉|替换|更换|换成|修改|改成|调整|调|"
    r"静音|配乐|配音|字幕|转换|合并|拆分|移动|旋转|提取|总结|摘要|翻译|特效|滤镜|加速|减速)"
)

_EXPORT_RE = re.compile(
    r"\b(?:export(?:ing|ed)?|download|render(?:\s+it|\s+the\s+(?:video|project|timeline|final))|"
    r"send\s+(?:me\s+)?(?:the\s+)?(?:final\s+)?(?:video|mp4|file|result)|give\s+me\s+the\s+(?:video|mp4|file))\b"
    r"|导出|下载|发给我|发我",
    re.IGNORECASE,
)
_CREDITS_RE = re.compile(
    r"\b(?:credits?|balance)\b|积分|余额|点数",
    re.IGNORECASE,
)
# "end credits" / "rolling credits" are video content, never a balance question.
_CREDITS_CONTENT_RE = re.compile(
    r"\b(?:end|rolling|closing|opening|movie|film)\s+credits\b|片尾|演职员", re.IGNORECASE
)
_STATE_RE = re.compile(
    r"\b(?:status|state|show\s+(?:me\s+)?(?:the\s+)?(?:tracks?|timeline|project)|"
    r"(?:what(?:'s|\s+is)\s+(?:on|in)\s+(?:the\s+)?(?:timeline|project))|list\s+(?:the\s+)?tracks)\b"
    r"|状态|进度|轨道|时间线|时间轴",
    re.IGNORECASE,
)
_UPLOAD_RE = re.compile(r"\b(?:upload(?:ing|ed)?|import)\b|上传|导入", re.IGNORECASE)
# Filler that can surround a keyword without making it an edit ("please export it now", "帮我导出一下").
_FILLER_RE = re.compile(
    r"\b(?:please|pls|can|could|would|you|i|me|my|we|our|the|a|an|this|that|these|those|it|them|now|"
    r"video|videos|clip|clips|file|files|project|final|result|mp4|to|for|and|then|just|here|is|are|"
    r"do|does|have|has|how|many|much|what|what's|whats|left|remaining|current|show|check|get|see|"
    r"let|know|tell|give|send|as|in|on|of|up|again)\b"
    r"|请|帮我|帮忙|一下|我的|我|把|这个|那个|视频|文件|项目|现在|吧|吗|呢|的|了|看看|查看|查询|还有|多少|剩余|剩下",
    re.IGNORECASE,
)


def _has_edit(text: str) -> bool:
    return bool(re.search(_EDIT_VERBS_EN, text, re.IGNORECASE) or re.search(_EDIT_VERBS_ZH, text))


def _only_filler(text: str) -> bool:
    stripped = _FILLER_RE.sub(" ", text)
    stripped = re.sub(r"[\s\W_]+", "", stripped)
    return not stripped


def _keyword_intent(text: str) -> tuple[Intent, bool, str]:
    """(intent, then_export, matched) for an instruction that carries no media source."""
    has_edit = _has_edit(text)
    export = _EXPORT_RE.search(text)
    if export:
        if not has_edit:
            return Intent.EXPORT, False, export.group(0)
        return Intent.AGENT, True, export.group(0)
    credits = _CREDITS_RE.search(text)
    if credits and not _CREDITS_CONTENT_RE.search(text) and not has_edit:
        return Intent.CREDITS, False, credits.group(0)
    state = _STATE_RE.search(text)
    if state and not has_edit:
        return Intent.STATE, False, state.group(0)
    upload = _UPLOAD_RE.search(text)
    if upload and not has_edit:
        return Intent.UPLOAD, False, upload.group(0)
    return Intent.AGENT, False, ""


def route(instruction: str) -> Route:
    """Route one instruction. Never raises; an empty instruction routes to STATE (show where things are)."""
    text = instruction.strip()
    if not text:
        return Route(Intent.STATE, matched="empty")
    sources, rest = find_sources(text)
    if sources:
        rest_wo_upload = _tidy(_UPLOAD_RE.sub(" ", rest))
        if not rest_wo_upload or _only_filler(rest_wo_upload):
            return Route(Intent.UPLOAD, sources=sources, rest="", then=None, matched="source")
        then, then_export, _ = _keyword_intent(rest_wo_upload)
        if then is Intent.UPLOAD:  # "upload a.mp4 and b.mp4": nothing else to do
            return Route(Intent.UPLOAD, sources=sources, rest="", then=None, matched="source")
        return Route(
            Intent.UPLOAD,
            sources=sources,
            rest=rest_wo_upload,
            then=then,
            then_export=then_export,
            matched="source",
        )
    intent, then_export, matched = _keyword_intent(text)
    return Route(
        intent, rest=text if intent is Intent.AGENT else "", then_export=then_export, matched=matched
    )
