"""What an instruction for the agent may cost: the paid kinds it asks for (docs/nemo-api.md §1.14).

`read(instruction)` says which kinds of paid work the instruction asks the NemoVideo agent for, so the
server can estimate the cost before anything is sent:

| The instruction asks to...                                        | Kind        | Priced (cloud)   |
|-------------------------------------------------------------------|-------------|------------------|
| make new media: "generate a 10 s city timelapse", 生成一段视频       | GENERATION  | about 100 a clip |
| read the media: "extract metadata", "summarize it", 总结一下         | ANALYSIS    | not published    |
| change the timeline: trims, titles, music, speed, anything else   | EDIT        | about 50         |

A making verb counts only with new media as its object: "generate a summary" reads the video and "make the
video shorter" edits the project's own clip (a definite object), while "make a video of the sea" is a
generation. Quoted text is content ("add the title 'Generate Leads'"). An instruction with no recognised
kind is an EDIT: every agent turn may edit, so the estimate never says a turn is free because the words
were unfamiliar.

`go_ahead` is True for a message that is only a yes ("yes, go ahead", "OK", 好的开始吧): sent to an agent
that waits for a go-ahead, it starts whatever the agent quoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from nemo_mcp.language.lexicon import Words, data, words
from nemo_mcp.language.normalize import fold, has_cjk


class PaidKind(StrEnum):
    GENERATION = "generation"
    EDIT = "edit"
    ANALYSIS = "analysis"


@dataclass(frozen=True)
class Reading:
    kinds: tuple[PaidKind, ...]  # what the instruction asks for, generation first, never empty
    go_ahead: bool = False  # the whole message is a yes to what the agent waits for

    @property
    def costliest(self) -> PaidKind:
        return self.kinds[0]


def _w(section: str, *keys: str) -> Words:
    return words("paid", section, *keys)


_QUOTED = re.compile(
    r'"[^"\n]{1,300}"|“[^”\n]{1,300}”|(?<![\w\'])\'[^\'\n]{1,300}\'(?!\w)|[「『《][^」』》\n]{1,300}[」』》]'
)
# Clauses: a making verb's object never reaches past a comma, a full stop or "and"/"then".
_CLAUSE = re.compile(r"[,.;:!?，。；：！？\n]+|\s+(?:and|then|but|also|plus)\s+|然后|并且|再")
_WORD = re.compile(r"[\w'-]+")
_OBJECT_WINDOW = 6  # words between a making verb and what it makes


def _mask(text: str) -> str:
    return _QUOTED.sub(" «q» ", text)


def _makes_media(clause: str) -> bool:
    media = _w("generation", "media_en")
    for verb in _w("generation", "strong_en").find(clause):
        after = clause[verb.end() :]
        if media.first(" ".join(_WORD.findall(after)[:_OBJECT_WINDOW])):
            return True
    definite = {w.strip() for w in data("paid")["generation"]["definite_en"]}
    for verb in _w("generation", "weak_en").find(clause):
        following = _WORD.findall(clause[verb.end() :])
        if following and following[0] in definite:
            continue  # "make the video shorter": the project's own media
        if media.first(" ".join(following[:_OBJECT_WINDOW])):
            return True
    return False


def _generation(text: str) -> bool:
    if _w("generation", "phrases_en").any(text):
        return True
    if has_cjk(text):
        zh_text = text
        for phrase in data("paid")["generation"]["not_zh"]:
            zh_text = zh_text.replace(phrase, " ")
        if _w("generation", "zh").any(zh_text):
            return True
    return any(_makes_media(c) for c in _CLAUSE.split(text) if c.strip())


def _only(text: str, core: Words, filler: Words) -> bool:
    """The text is made of these words only (and punctuation), at least one of them a core word."""
    rest = re.sub(r"[\s,.!?;:~，。！？；：、…'\"“”‘’()（）-]+", " ", text).strip()
    if not rest:
        return False
    found = False
    while rest:
        m = core.at(rest, 0)
        if m is not None and m.end() > 0:
            found = True
        else:
            m = filler.at(rest, 0)
            if m is None or m.end() == 0:
                return False
        rest = rest[m.end() :].lstrip()
    return found


def is_go_ahead(text: str) -> bool:
    """The whole message is a go-ahead, asking for nothing else."""
    t = fold(text)
    if has_cjk(t):
        return _only(t, _w("go_ahead", "zh", "en"), _w("go_ahead", "filler_zh", "filler_en"))
    return _only(t, _w("go_ahead", "en"), _w("go_ahead", "filler_en"))


def read(instruction: str) -> Reading:
    text = _mask(fold(instruction))
    kinds: list[PaidKind] = []
    if _generation(text):
        kinds.append(PaidKind.GENERATION)
    analysis = _w("analysis", "en", "zh").any(text)
    edit = _w("edit", "en", "zh").any(text)
    if edit or not (kinds or analysis):
        kinds.append(PaidKind.EDIT)
    if analysis:
        kinds.append(PaidKind.ANALYSIS)
    return Reading(kinds=tuple(kinds), go_ahead=is_go_ahead(instruction))
