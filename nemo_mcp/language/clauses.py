"""An instruction cut into clauses: `split_clauses(text)`, on normalised text.

Sentences end at ., !, ?, 。 and the like (not at a full stop inside a word: "final.mp4", "v2.1"). A
sentence is cut at commas, dashes and arrows, at "but" and "also", before "because my…", "then" and "once
it's done", at "and <verb>" when the verb starts a request of its own, and at the Chinese conjunctions
(然后, 之后, 做好了…) except inside a question. Each `Clause` keeps whether its sentence asked something
and which sentence it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nemo_mcp.language.intent import intent_words as _w

# A full stop inside a word ("final.mp4", "v2.1") does not end the sentence.
_SENTENCE_RE = re.compile(r"(?:[^.!?。！？；;\n]|\.(?=[^\s.]))+(?:(?:[!?。！？；;\n]|\.(?![^\s.]))+|$)")
_COMMA_RE = re.compile(
    r"\s+(?=(?:because|cause|cuz|coz|since|as)\s+(?:my|our|i|we|he|she|they)\b)|\s*[,，、]\s*|\s+-+\s+|"
    r"\s*[—–]+\s*|\s*(?:->|→)\s*|\s+but\s+|但是|不过|\s+also\s+"
)
_THEN_EN = re.compile(
    r"\s+(?=(?:and\s+then|then|after\s+that|afterwards|once\s+(?:that'?s\s+|it'?s\s+)?done|"
    r"when\s+(?:you'?re\s+|it'?s\s+)?done|and\s+if|if\s+(?:it'?s|so|fine|ok|good|we'?re)|if\s+so)\b)"
)
_AND_EN = re.compile(r"\s+(?:and|&|\+|plus)\s+(?:(?:then|just|also|please|pls)\s+)?(?P<next>[a-z']+)")
_REQUEST_VERBS = {
    "give",
    "send",
    "hand",
    "get",
    "grab",
    "tell",
    "show",
    "let",
    "check",
    "save",
    "export",
    "i'll",
    "i",
    "produce",
    "bundle",
    "package",
    "render",
    "download",
    "ship",
    "deliver",
}
# Chinese conjunctions end a clause ("加个片头然后导出"), but not inside a question ("弄完了吗").
_THEN_ZH = re.compile(
    r"(然后再|然后|之后|以后|接着|最后|完了|好之后|好了就|的话|并且|完成后|弄好了|做好了|剪好了|加好了|"
    r"(?:做|弄|剪|加|改|搞)(?:完|好)(?=[,，\s]|就|直接|然后|再|后|告诉|给|发|send|出))"
    r"(?!了?[吗没么嘛呢?]|有没|没有|不)"
)
_AGAIN_ZH = re.compile(
    r"(?=(?:再|直接|就)\s*(?:下载|导出|汇出|出片|发|给|渲染|render|export|download|存|保存|ship|send))"
    r"|(?=告诉我|跟我说)"
)
# "去水印后下载": after an edit, then the export
_AFTER_ZH = re.compile(r"(后)(?=\s*(?:下载|导出|汇出|出片|发|给|渲染|render|export|download|send|存|保存))")
_LEADING = re.compile(
    r"^(?:(?:and then|then|and|also|so|plus|but|after that|afterwards|&|\+)\s+)+"
    r"|^(?:然后|再|并且|还有|另外)\s*"
)


def _split_and(part: str) -> list[str]:
    """Cut at "and <verb>" where the verb starts a request of its own; "credits for X and an export" stays."""
    out, last = [], 0
    for m in _AND_EN.finditer(part):
        nxt = m.group("next")
        if nxt in _REQUEST_VERBS or _w("export", "verbs_en").any(nxt) or _w("edit", "verbs_en").any(nxt):
            out.append(part[last : m.start()])
            last = m.start("next")
    out.append(part[last:])
    return out


@dataclass
class Clause:
    text: str
    question: bool
    sentence: int


_CJK_SPACE = re.compile(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")


def split_clauses(text: str) -> list[Clause]:
    text = _CJK_SPACE.sub("，", text)  # Chinese chat uses a space where a comma would go
    out: list[Clause] = []
    for n, m in enumerate(_SENTENCE_RE.finditer(text)):
        sentence = m.group(0)
        question = "?" in sentence
        for comma_part in _COMMA_RE.split(sentence.strip(" .!?。！？;；\n")):
            for then_part in _THEN_EN.split(comma_part):
                for and_part in _split_and(then_part):
                    for zh_part in _THEN_ZH.sub("\\1\x00", and_part).split("\x00"):
                        for piece in _AGAIN_ZH.split(_AFTER_ZH.sub("\\1\x00", zh_part).replace("\x00", "\n")):
                            for bit in piece.split("\n"):
                                bit = _LEADING.sub("", bit.strip())
                                if bit:
                                    out.append(Clause(bit, question, n))
    return out
