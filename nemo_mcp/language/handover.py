"""Instructions that hand files over (a path or a media URL: `sources.find`).

The words that only hand the files over are no edit ("upload ~/a.mp4", 加上 «file», "«file» 也要"):
`without_handover` takes them out of what is read, and `text_for_agent` out of what the agent gets. A clause
that only names a file ("刚导出的素材 «file»", "the podcast intro sting: «file»") is an aside
(`describes_file`). Where or how to use a file is an edit for the agent ("as background music", "at the
end", 当水印: `placed`; "BGM 用这首": `role_named`). `UPLOAD_WISH`: an upload asked for in words, with no
file.
"""

from __future__ import annotations

import re

from nemo_mcp.language.edits import find_edit
from nemo_mcp.language.intent import intent_words as _w
from nemo_mcp.language.requests import imperative

_HANDOVER_EN = re.compile(
    r"\b(?:add|adding|put|grab|use|using|load|attach|attaching|throw in|import|upload|include|drop)\b"
    r"(?:(?:\s+[\w'-]+){0,8}?\s*[:：]?\s*(?=«file»)|\s+(?:this|these|it|them|that)\s+(?:to|in|into)\s+(?:the|"
    r"my)\s+"
    r"(?:project|media\s+bin|bin|timeline|library)\b)"
)
_HANDOVER_ZH = re.compile(
    r"(?:加上|加进去|加进来|加一下|加个|加一个|加|用这个|放进去|补一个|补上|补|传一下|传个|上传|放在|上穿|传上去)"
    r"(?:(?!当|作为|做成|放在|放到|换成|替换)[^，。,;；]){0,12}?\s*[:：]?\s*(?=«file»)"
)
_AFTER_FILE = re.compile(
    r"(?<=«file»)\s*(?:(?:也要|加进去|加上|也传上去|传上去|这支补上去|补上去|补进去|都加埋|加埋入去|加埋|也放进去)"
    r"(?=\s*$|[,，。!！?？])|(?:to|in|into)\s+(?:the|my)\s+(?:project|media\s+bin|bin|timeline|library)"
    r"|[\s,]*(?:kindly |please |pls )?(?:add|include|use|upload) (?:it|them|this|these)"
    r"(?: in| too| as well)?\s*$)"
)


def without_handover(text: str) -> str:
    """The instruction without the words that only hand the files over; words that say where a file goes
    stay ("use this one for the intro «file»" is an edit)."""

    def drop(m: re.Match[str]) -> str:
        after_verb = re.sub(r"^\S+", "", m.group(0).strip())  # "放在 «file»" places nothing by itself
        return m.group(0) if placed(after_verb) else " "

    return _AFTER_FILE.sub(" ", _HANDOVER_ZH.sub(drop, _HANDOVER_EN.sub(drop, text)))


_ROLE = re.compile(
    r"(?:bgm|背景音乐|配乐|片头|片尾|封面|水印|logo)\s*用这|用这\S?(?:首|段|个)?\s*(?:当|做|作为)"
)


def role_named(text: str) -> bool:
    """The file's role in the edit is named: "BGM 用这首 «file»", "用这个当片头"."""
    return bool(_ROLE.search(text))


def describes_file(clause: str) -> bool:
    """A clause that only names a handed-over file: its words end at the path and hold no request."""
    if "«file»" not in clause:
        return False
    before, _, after = clause.partition("«file»")
    tail = after.replace("«file»", " ").strip(" ,，。.:：;；-—")
    if tail and not re.fullmatch(r"(?:(?:and|跟|和|vs|&)?\s*)*(?:that'?s all(?: for now)?|here)?", tail):
        return False
    short_label = (
        len(re.findall(r"[a-z']+|[\u4e00-\u9fff]", before)) <= 4
        and not re.search(r"把|帮|请|给|用", before)
        and not _w("edit", "verbs_en").any(before)
        # "lay them over «file»": a verb with its object is a request, not a name
        and not re.search(r"\b(?!is\b|are\b|here\b)[a-z]+\s+(?:them|it|these|those)\b", before)
    )
    if (
        find_edit(before).strong
        and not short_label
        and not re.search(r"的(?:素材|视频|文件|图|图片|音频)?\s*[:：]?\s*$", before)
    ):
        return False  # "summarize this meeting for me: «file»", "swap the music for «file»"
    if role_named(before):
        return False  # "BGM 用这首 «file»": how to use it
    if not short_label and imperative(before.strip() + " «file»", handing_over=True):
        return False  # "lay them over «file»": a request with a verb the lexicons do not know
    return not re.search(
        r"\b(?:then|and then|export\w*|download\w*|render\w*)\b|然后|导出|下载|出片|渲染", before
    ) or bool(re.search(r"的(?:素材|视频|文件|图|图片|音频)?\s*$|[:：]\s*$", before))


_WHERE_IN_VIDEO = re.compile(
    r"\b(?:at|to|in|on|into|onto)\s+the\s+(?:very\s+)?(?:end|start|beginning|top|bottom|middle|front|back|"
    r"corner|intro|outro)\b|\b(?:bottom|top)[ -](?:left|right)\b"
    r"|\bwith (?:some |a )?(?:soft |gentle )?music\b"
    r"|\b(?:for|as) the (?:intro|outro|opening|ending|end|start|background|thumbnail|cover|b-roll)\b"
)


def placed(text: str) -> bool:
    """Where or how to use a handed-over file: "as background music", "at the end", 当水印."""
    if _WHERE_IN_VIDEO.search(text):
        return True
    for m in _w("with_files", "placement_en", "placement_zh").find(text):
        if not text[m.end() :].lstrip().startswith("«file»"):
            return True
    return False


_LEAD_HANDOVER = re.compile(
    r"^(?:(?:please|pls|ok|okay|so)\s+)*"
    r"(?:upload(?:ing)?|import|attach|here(?:'s| is| you go)|heres|上传|导入|传一下|这是|这个是)"
    r"(?:\s+(?:this|these|it|them|the file|the files))?\s*(?:[:：,，]|\band\b|\bthen\b|然后|并且)?\s*",
    re.IGNORECASE,
)


# An upload asked for in words only: the file has to come through `media` / upload_media, not the chat.
UPLOAD_WISH = re.compile(r"(?<![\w«-])(?:upload|import|attach)(?:ing)?\b(?![-«])|上传|导入")


def text_for_agent(text: str, had_files: bool) -> str:
    """What the agent gets: the instruction without the uploaded paths and the words that only handed them
    over ("upload ~/a.mp4 and add a title" -> "add a title")."""
    return _LEAD_HANDOVER.sub("", text).strip() if had_files else text
