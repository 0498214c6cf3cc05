"""The intent routing table (docs/skill.md "Matching Input to Actions") for real phrasing.

`route(instruction)` decides what `edit_video` does with a plain-language instruction, as steps in order:

| The user asks for...                                   | Step     | Reaches the backend agent? |
|--------------------------------------------------------|----------|----------------------------|
| the finished file ("hand over the mp4", 出片吧)          | EXPORT   | no (render workflow)       |
| the balance or a price ("will my credits cover it?")   | CREDITS  | no                         |
| progress or the project ("is it done?", 时间线上有什么) | STATUS   | no                         |
| media handed over (a path or a media URL)              | UPLOAD   | no                         |
| an edit, a generation, an analysis, anything else      | AGENT    | yes (`/run_sse`)           |

This module only assembles the route; each step of reading is a module of its own:

1. paths and links are taken out (`sources.find`); the rest is normalised (`content.normalise`: case,
   full-width forms, traditional characters, Cantonese function words; what is content masked «q»: quoted
   text, what follows "title card:" or "旁白：", keywords written as names mid-sentence ("Pacific Rim Export
   Ltd."); typing slips mended by `typos`);
2. with files handed over, the words that only hand them over go (`handover`);
3. the text is cut into clauses at sentence ends, commas and conjunctions ("then", "but", 然后) (`clauses`);
4. each clause is read for its mood and its topic (`reading.read`), from the evidence of its own modules:
   editing verbs and nouns (`edits`), questions (`questions`), holds (`holds`), the file asked for
   (`exports`, `deliverables`), money (`money`), progress and the project (`status`), requests with verbs
   the lexicons do not know (`requests`):
   - a HOLD ("don't export yet", 先别导出, "not yet") defers the export, and may still carry an edit;
   - a QUESTION is CREDITS when it is about money or the balance, AGENT when it asks what the editor can do
     or what is in the video, STATUS when it asks about progress or the project, EXPORT when it asks for
     the file ("could I have the mp4?"), else AGENT when it names an edit;
   - a REQUEST is CREDITS or STATUS when it asks to see them ("check my balance", "show me the tracks"),
     EXPORT when it asks for the file (an export verb with the video, or nothing, as its object; a giving
     verb with a deliverable; a destination), and AGENT when it carries an edit;
5. clauses are read together (`context`): a follow-on list, a question about the price of what the
   sentence names;
6. here, the steps are put in order; when the rules find nothing, the second reader (`guess`) is asked.

A keyword is content, not a request, when an editing verb comes before it in the clause ("add a download
button"), when a word around it makes it part of a thing on screen ("status bar", "end credits", 积分榜),
or when an export verb takes another object ("render the title in gold", "export the subtitles as SRT").
An edit anywhere makes AGENT the first step (a lost edit is the worst outcome: an extra turn costs less),
and an export asked for after it runs when the edit is done, unless the user held it back. Files handed
over are uploaded first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nemo_mcp.language.clauses import Clause, split_clauses
from nemo_mcp.language.content import normalise
from nemo_mcp.language.context import FILLER, follow_on, within_sentences
from nemo_mcp.language.guess import guess
from nemo_mcp.language.handover import (
    UPLOAD_WISH,
    describes_file,
    placed,
    role_named,
    text_for_agent,
    without_handover,
)
from nemo_mcp.language.intent import Intent
from nemo_mcp.language.paid import is_go_ahead
from nemo_mcp.language.reading import Reading, read
from nemo_mcp.language.sources import find

__all__ = ["Clause", "Intent", "Reading", "Route", "normalise", "read", "route", "split_clauses"]


@dataclass(frozen=True)
class Route:
    """What to do with one instruction: the steps in order, and what they need."""

    steps: tuple[Intent, ...]
    sources: tuple[str, ...] = ()  # media to upload first
    destination: str | None = None  # where the export goes, when the user named a path
    deferred: bool = False  # the user said not to export yet
    agent_text: str = ""  # what the agent gets (the instruction without the uploaded paths)
    wants_file: bool = False  # an upload asked for with no path or link ("I want to upload a video")
    clauses: tuple[str, ...] = field(default=(), compare=False)  # how it was read (logs, tests)

    @property
    def intent(self) -> Intent:
        return self.steps[0]

    @property
    def then(self) -> Intent | None:
        return self.steps[1] if len(self.steps) > 1 else None

    @property
    def then_export(self) -> bool:
        return Intent.EXPORT in self.steps[1:]


_FIRST = re.compile(r"先|\bfirst\b|\bas (?:it is|is)\b|\bcurrent (?:version|cut)\b|现在这版|这一版")


def _worth_guessing(text: str) -> bool:
    """Enough words to read ("ok", "啊这", "？？" are not: the agent asks what is meant)."""
    if FILLER.fullmatch(text.strip(" ?？!！.。~")) or re.fullmatch(r"[\W\d_]*", text):
        return False
    return len(re.findall(r"[a-z0-9']+", text)) + len(re.findall(r"[\u4e00-\u9fff]", text)) / 2 >= 2


def route(instruction: str) -> Route:
    """Route one instruction. Never raises; an empty instruction is a status request."""
    raw = instruction.strip()
    if not raw:
        return Route(steps=(Intent.STATUS,))
    found = find(raw)
    text = normalise(found.masked)
    if found.sources:
        text = without_handover(text)
    clauses = split_clauses(text)
    readings = [
        Reading(c.text, c.question, c.sentence, aside=True)
        if found.sources and describes_file(c.text)
        else read(c)
        for c in clauses
    ]
    follow_on(readings)
    within_sentences(readings)
    deferred = any(r.hold for r in readings)
    steps: list[Intent] = []
    for r in readings:
        if r.step is not None and r.step not in steps and not (r.step is Intent.EXPORT and deferred):
            steps.append(r.step)
        if r.also_export and Intent.EXPORT not in steps and not deferred:
            steps.append(Intent.EXPORT)
    if found.sources:
        rest = " ".join(r.text for r in readings if not (r.hold or r.aside) or "«file»" in r.text)
        if Intent.AGENT not in steps and (
            placed(rest) or any(r.question and r.step is None and not r.aside for r in readings)
        ):
            steps.append(Intent.AGENT)
        if (
            Intent.AGENT in steps
            and not any(r.edit.strong or r.request for r in readings if r.step is Intent.AGENT)
            and not placed(rest)
            and not any(r.question for r in readings)
            and not role_named(rest)
        ):
            steps.remove(Intent.AGENT)  # "BGM 在这 ~/a.mp3": naming what the file is, not an edit
    export_first = any(r.step is Intent.EXPORT and _FIRST.search(r.text) for r in readings)
    if (
        Intent.AGENT in steps
        and Intent.EXPORT in steps
        and steps.index(Intent.EXPORT) < steps.index(Intent.AGENT)
        and not export_first  # "把现在这版先发我，然后再换片头": the current version first, as asked
    ):
        steps.remove(Intent.EXPORT)  # never a render of the timeline before the edit asked for with it
        steps.append(Intent.EXPORT)
    if found.destination and Intent.EXPORT not in steps and not deferred:
        steps.append(Intent.EXPORT)
    if not steps and not found.sources and not deferred:
        # Nothing the rules know: the second reader may know the words, else the agent (anything unclear).
        # A plain go-ahead ("yes, go ahead", 好的开始吧) answers the agent: never guessed at.
        label, margin = guess(raw) if _worth_guessing(text) and not is_go_ahead(raw) else ("agent", 0.0)
        sure = margin > 0 and label in (Intent.EXPORT, Intent.CREDITS, Intent.STATUS)
        steps = [Intent(label)] if sure else [Intent.AGENT]
    if not steps and not found.sources:
        steps = [Intent.STATUS] if deferred else [Intent.AGENT]
    if found.sources:
        steps.insert(0, Intent.UPLOAD)
    if not steps:
        steps = [Intent.AGENT]
    wants_file = (
        not found.sources
        and steps == [Intent.AGENT]
        and not any(r.edit.strong for r in readings)
        and any(UPLOAD_WISH.search(r.text) for r in readings)
    )
    return Route(
        steps=tuple(steps),
        sources=tuple(found.sources),
        destination=found.destination,
        deferred=deferred,
        wants_file=wants_file,
        agent_text=text_for_agent(found.text, bool(found.sources)) or raw,
        clauses=tuple(f"{r.step or '-'}{'/hold' if r.hold else ''}: {r.text}" for r in readings),
    )
