"""What the user is told about the agent's reply: GUI steps turned into what this server does instead.

The language layer (`nemo_mcp.language.replies`) takes the GUI steps out and names them; this module
decides the words: "click Export" becomes the export (when the user asked for one) or "ready to export:
call export_video"; "open the panel" and "preview it in the timeline" become the track summary the result
carries anyway; "drag the clip" becomes "describe the change to edit_video"; "click Apply" needs nothing.
A reply that was nothing but GUI steps becomes the state diff. An agent waiting for a go-ahead is said to
be waiting, with the cost it quoted and how to confirm; the server never confirms on the user's behalf.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nemo_mcp.language.replies import Step, translate
from nemo_mcp.server.models import GoAheadView

GO_AHEAD_HINT = (
    "Ask the user first; to go ahead, call edit_video again with their answer (e.g. 'yes, go ahead'). "
    "Nothing is charged for it until then."
)
_STEP_NOTES = {
    Step.EDIT: "There is nothing to drag or click here: to change it further, describe the change to "
    "edit_video (e.g. 'move the title to 0:05').",
    Step.OPEN: "There is no panel here: the project's current tracks are listed below.",
}


@dataclass
class AgentReply:
    text: str  # the agent's words, cleaned and without GUI steps ("" when it said nothing else)
    notes: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    waiting: GoAheadView | None = None
    next_step: str = ""


def reply_of(texts: list[str], changes: list[str], *, asked_export: bool, export_ready: bool) -> AgentReply:
    tr = translate("\n\n".join(texts)) if texts else None
    out = AgentReply(text=tr.text if tr else "", steps=list(tr.steps) if tr else [])
    if tr is None or not tr.text:
        # Never silence: the state diff says what was applied, even when the agent only sent GUI steps.
        if changes:
            out.text = "Done. " + "; ".join(changes) + "."
        elif tr is not None and tr.gui_only:
            out.text = (
                "The agent answered only with steps for NemoVideo's web editor, and the timeline did not "
                "change."
            )
        elif tr is None:
            out.text = (
                "The agent finished without a reply and the timeline did not change. Rephrase the "
                "instruction more concretely (e.g. 'add the title \"Hello\" at the top for 3 s')."
            )
    if tr is None:
        return out
    if tr.cleaned:
        out.notes.append(
            "Parts of the agent's reply were removed as unsafe ("
            + ", ".join(tr.cleaned)
            + "); they were not "
            "followed."
        )
    for step in tr.steps:
        note = _STEP_NOTES.get(step)
        if note:
            out.notes.append(note)
    if Step.EXPORT in tr.steps and not asked_export:
        out.next_step = (
            "Ready to export: call export_video to render the MP4 (there is no Export button here)."
            if export_ready
            else "Nothing is on the timeline to export yet."
        )
    if tr.waiting is not None:
        cost = f" (about {tr.waiting.cost:g} credits)" if tr.waiting.cost is not None else ""
        out.waiting = GoAheadView(cost=tr.waiting.cost, hint=GO_AHEAD_HINT)
        out.notes.insert(0, f"The NemoVideo agent is waiting for a go-ahead before it starts{cost}.")
        out.next_step = GO_AHEAD_HINT
    return out
