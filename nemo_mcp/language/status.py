"""Whether a clause asks about progress or the project: `asks_status`, and `STATE_ASKED` for the
questions the server answers whatever else the clause says.

Progress: "Render done?", "how's it going", 还在渲染吗, a bar stuck at 73%. The project: what it holds now
("which clips are in this edit right now?", 现在有哪些片段), how long it runs, a look at the tracks ("show
me the timeline"). Not a question about what the video says or shows.
"""

from __future__ import annotations

import re

from nemo_mcp.language.content import keywords
from nemo_mcp.language.edits import Edit
from nemo_mcp.language.intent import intent_words as _w
from nemo_mcp.language.normalize import has_cjk
from nemo_mcp.language.questions import content_question

_COMPLETION_OPENERS = re.compile(
    r"(?:is|are|was|were|did|has|have|r|am|any|you|u|do|does|still)\b|(?:done|finished|ready|complete)\b|"
    r"(?:still working|still processing|still rendering|still running|how'?s it going|hows it going|"
    r"how is it going|how'?s the|hows the|how is the|how is my|how'?s my|how far|anything happening|"
    r"what'?s happening|eta|where are we|how (?:much )?long(?:er)?|how soon|when will|"
    r"where(?:'s| is) (?:it|the \w+|my \w+) at)\b"
)


_STUCK = re.compile(
    r"\d+\s*%.{0,30}\b(?:frozen|stuck|hung|hanging|not moving|hasn'?t moved)\b|"
    r"\b(?:frozen|stuck|hung|hanging)\b.{0,30}\d+\s*%|\d+\s*%.{0,12}(?:卡|不动)|^(?:is|'s)?\s*(?:something|"
    r"anything) "
    r"(?:wrong|broken|off)\s*$|^what'?s wrong\s*$|^(?:is )?(?:it|this) (?:stuck|frozen|hung|broken)\s*$"
)


# What the project holds now: "which clips are in this edit right now?", "whats in the reel rn", "shot list of
# what's currently cut into reel 4", "里头现在有哪几个菜", "现在的视频有哪些片段"
_STATE_NOW = re.compile(
    r"\b(?:what'?s|whats|what is|what are|which (?:\w+ ){0,2}(?:are|is)|list of what'?s|shot list|what parts|"
    r"which parts)\b.{0,40}?\b(?:in|on|into)\b.{0,30}?\b(?:now|right now|rn|currently|at the moment|so far|"
    r"atm)\b|\bshot list\b|(?:现在|目前|而今)\S{0,6}?有(?:哪|什么|啥|几)"
    r"|(?:里头|里面)\S{0,4}?(?:现在|目前)\S{0,4}有"
)


_DONE_YET = re.compile(
    r"^(?:render|export|upload|edit|cut|video|file)\w*\s+(?:done|finished|ready|complete|through|up)\b|"
    r"^(?:actually\s+|so\s+|and\s+)?how(?:'s| is) (?:it|the \w+|my \w+)\s*$"
    r"|^(?:it|this)(?:'s| is) (?:done|finished|ready)\s*$|"
    r"还\s*(?:render|export|upload|渲染|导出|上传|处理)\S{0,2}(?:着|中)"
)


def asks_status(text: str, asks: bool, edit: Edit) -> bool:
    if asks and _DONE_YET.search(text):
        return True  # "Render done?", "how is the video? It is finished?", "仲render紧？"
    if _STATE_NOW.search(text) and not re.search(r"\b(?:add|put|insert)\b|加|放", text):
        return True
    if _STUCK.search(text) and not content_question(text):
        return True  # "render bar frozen at 73%", "is something wrong?"
    if re.match(
        r"(?:what did you change|what changed|what have we got|where are we at|what have you done)\b", text
    ):
        return True
    words = keywords(_w("status", "words_en", "words_zh"), text, verbs=False)  # "what's the status?"
    if words and not edit.before(words[0].start()):
        return True
    if has_cjk(text):
        found = _w("status", "completion_zh").find(text)
        done = found[-1] if found else None
        # the verb right before the completion belongs to it: "弄好了吗", "剪到哪了"
        at_end = (
            done is not None and len(text) - done.end() <= 3
        )  # "edit 完成了吗": the question it ends with
        stuck_only = (
            done is not None
            and done.group(0) in ("卡在", "卡住")
            and not (asks or re.search(r"进度|渲染|导出|上传|%|render|upload|export|转圈", text))
        )
        if (
            done is not None
            and not stuck_only
            and not content_question(text)
            and (at_end or not edit.before(done.start()))
        ):
            return True
        if (
            _w("status", "view_objects_zh").any(text)
            and _w("status", "view_zh").any(text)
            and (asks or re.search(r"看|列|说|给我", text))
        ):
            return True
    if (
        _COMPLETION_OPENERS.match(text)
        and (
            _w("status", "completion_en").any(text)
            or re.match(r"(?:still|how|eta|any|where are we|when will)", text)
        )
        and (
            asks
            and not content_question(text)
            and not re.match(r"(?:can|could|would|will)\s+(?:you|u|i|we|it)\b", text)
        )
    ):
        return True
    if _w("status", "view_objects_en").any(text) and (
        asks
        or re.search(
            r"\b(?:show|list|tell|let me see)\b|^what|\bwhat'?s on\b|\b(?:rundown|overview|breakdown)\b", text
        )
    ):
        return not content_question(text) and not edit.strong
    return False


# Questions about the project the server answers, whatever else the clause says: what it holds now, how long
# it runs, how far the work is.
STATE_ASKED = re.compile(
    _STATE_NOW.pattern
    + r"|\b(?:runtime|running time|run time|trt|total length|total duration)\b"
    + r"|\bwhere(?:'s| is| are)\s+(?:it|we|things|the \w+|my \w+)\s+at\b"
    + r"|\b(?:is|was)\s+it\s+(?:done|finished|ready|up|uploaded|in|through)\b"
    + r"|\bhow long is (?:it|the (?:video|cut|edit|reel|film|clip)|this)(?: now)?\b"
    + r"|(?:现在|目前|而家)\S{0,8}?(?:多长|几长|总长|时长)|总长|几分几秒"
)
