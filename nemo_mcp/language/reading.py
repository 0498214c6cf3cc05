"""One clause read: its mood and its step (`read(clause) -> Reading`).

The mood first: an aside (a reason, a thought, someone else's say, a condition or a time: "because my
wife…", 我再想想, "before you touch it") asks for nothing; a hold defers the export and keeps only an edit;
an embedded question ("check whether the cover finished") is read as the question. Then the topic, first
match wins: the project's state asked (STATUS), what is in the video (AGENT), money (CREDITS), what the
editor can do (AGENT), progress or the project (STATUS), the file (EXPORT), an edit (AGENT), a request
with an unknown verb (AGENT). An edit whose result is a file ("convert it into a 1080p MP4", 导一个竖屏的)
is the edit, then the export.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nemo_mcp.language.clauses import Clause
from nemo_mcp.language.edits import Edit, find_edit
from nemo_mcp.language.exports import export_request
from nemo_mcp.language.holds import find_hold
from nemo_mcp.language.intent import Intent
from nemo_mcp.language.intent import intent_words as _w
from nemo_mcp.language.money import asks_money
from nemo_mcp.language.normalize import has_cjk
from nemo_mcp.language.questions import asking, content_question
from nemo_mcp.language.requests import imperative
from nemo_mcp.language.status import STATE_ASKED, asks_status

# An edit whose result is named as a file format: "convert the demo into a 1080p MP4", "转成 1080p 的 MP4".
_INTO_FILE = re.compile(
    r"\b(?:into|to|as)\s+(?:an?\s+|the\s+|one\s+)?(?:[\w:-]+\s+){0,3}(?:mp4|mov|webm)(?:\s+(?:file|"
    r"video))?\s*$"
    r"|(?:转成|转为|转换成|转换为|做成|弄成|输出成|输出为|存成|保存为|保存成)[^，。,;；]{0,12}?(?:mp4|mov|webm)(?:文件|视频)?\s*$"
)


@dataclass
class Reading:
    """What one clause says."""

    text: str
    question: bool
    sentence: int
    step: Intent | None = None
    also_export: bool = False  # an edit whose result is the file: "convert it into a 1080p MP4"
    request: bool = False  # a request with a verb the lexicons do not know ("redact every mention")
    aside: bool = False  # a condition or a time ("before you touch it"), not a request
    hold: bool = False
    edit: Edit = field(default_factory=lambda: Edit([], False))


_SHOULD = re.compile(
    r"\b(?:should|needs? to|has to|have to|must|ought to)\s+(?:be\s+)?(?!ask|know|check|see|wait)[a-z]+|"
    r"(?:应该|要|得)(?:是|在|从|放|有|用|加|换|改)"
)
_HANDOVER_WORDS = re.compile(r"上传|传上去|传一下|upload|import|ingest|放进去|加进去")


# An embedded question: "check whether the cover finished", "let me know if the upload went through".
_EMBEDDED_Q = re.compile(
    r"(?:(?:please|pls|can you|could you)\s+)?(?:check|see|find out|let me know|tell me|confirm|ask)\s+"
    r"(?:for me\s+)?(?:whether|if)\s+"
)
# A reason or a thought, not a request: "as my wife would like to add photos", "我再想想要不要加滤镜",
# "colour we settle later"
_REASON = re.compile(
    r"(?:as|because|cause|cuz|coz|bc|since)\s+(?:my|our|the|i|we|he|she|they|it|you|there)\b|"
    r"(?:我|我们)?(?:再|还要|还得)?(?:想想|想一想|考虑|琢磨)|.*\b(?:later|another time|next time)\s*$|"
    # someone else's say: "the brand still has to approve the shake shot", "legal might want changes"
    r".*\b(?:still\s+)?(?:has|have|needs?)\s+to\s+(?:approve|check|see|review|sign off|okay|ok|clear)\b|"
    r".*\b(?:might|may) want (?:changes|to change|edits)\b|"
    r"(?:i(?:'m| am) not sure|not sure|perhaps|maybe)\b|i (?:do not|don'?t|dont) want to (?:lose|break|mess|"
    r"ruin|waste|spend|pay)\b|"
    r"(?:要是|如果|假如|万一|若是)(?!.*(?:就|那就|的话就))|我(?:在)?等(?:着|紧)|我(?:不太|不)(?:会|懂|熟)|"
    r"\S{0,6}(?:还要|还得|要先|得先)(?:看|确认|检查|审)|.*每(?:周|天|次|个月|星期)\S{0,4}要|"
    r"我要(?:放到|发到|传到|上传到|分享到|发给)|"
    r".*(?:以后再说|回头再说|之后再说|晚点再说|再说吧)$"
)
# A condition or a time, not a request: "before you touch it", "if you can", "once it's in"
_SUBORDINATE = re.compile(
    r"(?:before|after|when|once|while|until|if|unless|since|as soon as)\s+(?:you|u|i|we|it|they|that|this)\b"
    r"(?:'s|'re|'m)?(?:\s+\S+){0,3}$"
)


_ABILITY_ONLY = re.compile(
    r"(?:能不能|可不可以|能否|可以|can you|could you|would you)\s*(?:先|先帮我|first|please)?"
)


def read(clause: Clause) -> Reading:
    text = clause.text
    embedded = _EMBEDDED_Q.match(text)
    if embedded:
        text = text[embedded.end() :]
    r = Reading(text, clause.question or bool(embedded), clause.sentence, edit=find_edit(text))
    if _REASON.match(text) or (_SUBORDINATE.fullmatch(text) and not export_request(text, r.edit)):
        r.aside = True
        return r
    asks = asking(text, r.question)
    held = find_hold(text)
    if held is not None:
        r.hold = True
        r.edit = find_edit(text[: held.start()] + " " + text[held.end() :])
        if r.edit.strong:
            r.step = Intent.AGENT
        return r
    ability = _w("edit", "ability_en").any(text) or (has_cjk(text) and _w("edit", "ability_zh").any(text))
    export = export_request(text, r.edit)
    if (
        not r.edit.strong
        and STATE_ASKED.search(text)
        and not re.search(r"\b(?:add|put|insert)\b|加|放", text)
    ):
        r.step = (
            Intent.STATUS
        )  # "which clips are in this edit right now?", "where's the render at?", "runtime?"
        return r
    if (
        asks
        and ability
        and not r.edit.strong
        and asks_status(text, asks, r.edit)
        and re.search(r"\b(?:see|show|view|look at|check|list)\b|看|查|列", text)
    ):
        r.step = Intent.STATUS  # "is there a way to see what's on the timeline?"
        return r
    if ability and _ABILITY_ONLY.fullmatch(text):
        return r  # "能不能先…": the lead-in of the request that follows
    if asks and content_question(text):
        r.step = Intent.AGENT  # what is in the video: "视频里有没有说到价格？"
    elif asks_money(text, asks, r.edit):
        r.step = Intent.CREDITS
    elif asks and ability and (r.edit.strong or not export):
        r.step = Intent.AGENT
    elif asks_status(text, asks, r.edit):
        r.step = Intent.STATUS
    elif export is not None:
        r.step = Intent.EXPORT
    elif embedded and _w("status", "completion_en").any(text) and not r.edit.strong:
        r.step = Intent.STATUS  # "check whether the cover finished processing"
    elif r.edit.any or ability:
        r.step = Intent.AGENT
    elif not r.question and _SHOULD.search(text):
        r.step, r.request = Intent.AGENT, True  # "the walkthrough should open on the front door"
    elif imperative(text, handing_over="«file»" in text or bool(_HANDOVER_WORDS.search(text))):
        r.step, r.request = Intent.AGENT, True
    if r.step in (Intent.EXPORT, Intent.AGENT) and re.search(
        r"^(?:\w+\s+){0,2}?(?:render|export|bounce|output)\w*\b.{0,20}\b(?:after|once|when)\s+(?:you'?ve|"
        r"you have|you)\s+"
        r"(?:\w+ed|done|made|put|cut|set)\b",
        text,
    ):
        r.step, r.also_export = Intent.AGENT, True  # "render after you've added the captions"
    # an export in another shape: "给我导一个竖屏的", "出三个尺寸": the shape is an edit, then the file
    if r.step is Intent.EXPORT and re.search(
        r"竖屏|横屏|竖版|横版|方形|竖的|横的|尺寸|比例|\bvertical\b|\bsquare\b|\bportrait\b|\b\d+:\d+\b", text
    ):
        r.step, r.also_export = Intent.AGENT, True
    if r.step in (Intent.AGENT, None) and _INTO_FILE.search(text):
        r.step, r.also_export = Intent.AGENT, True
    return r
