"""The object of an export or giving verb: is it the finished video?

`deliverable_at(text, pos)` finds a deliverable right after a giving verb ("the final", "the mp4", "a
shareable 4k file"); `after_deliverable(rest)` says whether what follows leaves the request one for the
file ("now please", "for opposing counsel") rather than an edit ("the file with the logo removed");
`object_is_video(text, verb)` says whether an export verb takes the video, or nothing, as its object
("export it", "render to PATH"), not another output or an on-screen element ("render the title in gold",
"export the subtitles as SRT").
"""

from __future__ import annotations

import re

from nemo_mcp.language.edits import find_edit
from nemo_mcp.language.intent import intent_words as _w


def after_deliverable(rest: str) -> bool:
    """What follows a deliverable leaves the request one for the file: "now please", "for opposing
    counsel", "leh", "can or not" — but not an edit ("the file with the logo removed")."""
    rest = rest.strip(" !.?,")
    if not rest:
        return True
    hit = _w("export", "after_deliverable_en").first(rest)
    if hit is not None and hit.start() == 0:
        return True
    return (
        len(rest.split()) <= 6
        and not find_edit(rest).any
        and not _w("export", "other_outputs").any(rest)
        and not re.match(r"(?:of|from|with|without|where|that|which|showing|about)\b", rest)
    )


_LEAD_WORDS = re.compile(
    r"\s*(?:(?:me|us|you|myself)\s+)?(?:(?:over|back)\s+)?((?:(?:a|an|the|my|our|that|this|your|final|"
    r"finished|full|whole|completed|edited|new|shareable|download|\d+p|hd|4k|official|real|all|both|"
    r"two|three|four|five|\d+|proper)\s+){0,3})"
)


def deliverable_at(text: str, pos: int) -> int | None:
    """End of one or two deliverable words at `pos`, after optional determiners and adjectives (one of
    which may be the deliverable itself: "produce the final for counsel")."""
    lead = _LEAD_WORDS.match(text, pos)
    assert lead is not None  # every part is optional
    starts = [lead.end()]
    for word in reversed(list(re.finditer(r"\S+\s+", lead.group(1)))):
        starts.append(lead.start(1) + word.start())
    for at in starts:
        end = None
        for _ in range(2):
            m = _w("export", "deliverables_en").at(text, at)
            if m is None:
                break
            end = at = m.end()
            at += len(text[at:]) - len(text[at:].lstrip())
        if end is not None:
            return end
    return None


def object_is_video(text: str, verb: re.Match[str]) -> bool:
    """The object of an export verb is the video (or there is none): "export it", "render to PATH",
    "export a trimmed clip", not "render the title in gold" or "export the subtitles as SRT"."""
    rest = text[verb.end() :].strip(" ,.!")
    if not rest:
        return True
    if _w("export", "other_outputs").any(rest[:40]):
        return False
    head = re.findall(r"[\w«»'-]+", rest)[:4]
    for word in head:
        if word in ("the", "my", "a", "an", "this", "that", "our", "your"):
            continue
        if _w("export", "objects_en").any(word) or _w("export", "deliverables_en").any(word):
            return True
        if _w("edit", "nouns_en").any(word) and not word.endswith("ed"):
            return False  # "render the title in gold": an on-screen element, edited
    return not head or not _w("edit", "nouns_en").any(head[0])
