"""GUI-speak translation of the backend agent's replies (docs/skill.md "Backend Response Translation").

The agent was built for NemoVideo's web editor and tells the user to click, open, drag and preview. There
is no GUI here, so `translate(reply)` takes those steps out, clause by clause, and says which kind each
was; the caller does instead what each stands for:

| The agent says                                   | Step      | The server instead                        |
|--------------------------------------------------|-----------|-------------------------------------------|
| "click Export", "Hit Render, then choose MP4"    | EXPORT    | the export workflow, or "ready to export" |
| "open the Music panel", "go to the Effects tab"  | OPEN      | the project's state                       |
| "drag the clip", "adjust the slider", 右键…分割    | EDIT      | "describe the change to edit_video"       |
| "preview it in the timeline", 按空格键播放         | PREVIEW   | the track summary                         |
| "click Apply", "tap Save"                        | CLICK     | nothing: it is applied already            |
| "Click Generate to start", "Shall I go ahead?"   | CONFIRM   | says the agent waits, with the cost       |

How a clause is told apart: a GUI step is addressed to the user — an imperative ("Hover over the clip",
"Shift-click both clips", "把播放头移到 00:38"), or "you can…"/"可以…即可" — and is about operating an editor:
a GUI verb, a GUI place (panel, slider, playhead, 属性栏), a keyboard shortcut or a gesture (长按, 二指缩放).
What the agent says it did ("I opened the video with a slow zoom", 已经导出为 MP4) is content, and so is
quoted text (a title reading "Tap to follow"). A follow-on of the same workflow ("…, then choose MP4 and
1080p") goes with the step it follows, and so does a lead-in that only introduces it ("When you're happy
with it, …", 如果想换的话，…). Plain replies come back exactly as they were (after `untrusted.clean`).

This module assembles the translation of the whole reply (lines, list items, headers, the go-ahead); the
pieces are modules of their own: the kinds of step and the words that name them (`gui_steps`), one
clause in English (`gui_english`) or Chinese (`gui_chinese`), one sentence's clauses with their follow-ons
and lead-ins (`gui_clauses`), cutting a reply into sentences and clauses and telling noise (`reply_text`),
and whether the agent waits for a go-ahead on paid work (`go_ahead`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nemo_mcp.language.go_ahead import COST, asks_go_ahead, is_paid
from nemo_mcp.language.gui_clauses import gui_kind, is_instruction, translate_sentence
from nemo_mcp.language.gui_steps import EXPORT_OBJECT, Step, gui_words
from nemo_mcp.language.normalize import fold
from nemo_mcp.language.reply_text import DOUBLE_STOP, LIST_MARK, is_filler, is_noise, mask_quotes, sentences
from nemo_mcp.language.untrusted import clean

__all__ = ["Step", "Translation", "Waiting", "translate"]


@dataclass
class Waiting:
    """The agent waits for the user's go-ahead before a paid action."""

    cost: float | None  # credits it quoted, when it did
    what: str  # the reply without its GUI steps


@dataclass
class Translation:
    text: str  # the reply without its GUI steps ("" when nothing else was said)
    steps: list[Step] = field(default_factory=list)  # kinds of GUI steps found, in order, once each
    removed: list[str] = field(default_factory=list)  # the GUI text taken out
    waiting: Waiting | None = None
    gui_only: bool = False  # the reply was nothing but GUI steps (and interjections)
    cleaned: list[str] = field(default_factory=list)  # kinds of untrusted content removed
    noise_dropped: bool = False  # a trailing "I encountered a temporary issue" was dropped


def translate(reply: str) -> Translation:
    cleaned = clean(reply)
    out = Translation(text="", cleaned=cleaned.removed)
    paid = is_paid(cleaned.text) or (
        gui_words("confirm", "paid_en", "paid_zh").any(fold(cleaned.text))
        and asks_go_ahead(fold(cleaned.text))
        and bool(re.search(r"\b(?:ready to|about to|i can|i'?ll)\b|准备|可以帮你", fold(cleaned.text)))
    )
    for label in cleaned.link_labels:
        kind = gui_kind(label, paid) or (Step.EXPORT if EXPORT_OBJECT.search(fold(label)) else None)
        if kind is not None and kind not in out.steps:
            out.steps.append(kind)  # an unsafe "Download it here" link was an offer of a step
    body = DOUBLE_STOP.sub(lambda m: "。" if m.group(0).startswith("。") else ".", cleaned.text)
    lines_out: list[str] = []
    gui_lines: list[bool] = []
    content_seen = False
    for line in body.split("\n"):
        mark = LIST_MARK.match(line)
        prefix = mark.group(0) if mark else ""
        rest = line[len(prefix) :]
        kept: list[str] = []
        any_gui = False
        gap = ""
        for s, sep in sentences(rest):
            if is_noise(s):
                out.noise_dropped = True
                continue
            text, gui = translate_sentence(s, out.steps, out.removed, paid)
            any_gui = any_gui or gui
            if text:
                kept.append(gap + text if kept else text)
                gap = sep  # the space the writer put after it ("Dr. Ife" stays "Dr. Ife")
        joined = "".join(kept).strip()
        if joined and not is_filler(joined):
            content_seen = True
        lines_out.append(prefix + joined if joined else "")
        gui_lines.append(any_gui)
    # in a list of GUI steps, an item that is an instruction of its own goes too ("3. Change the speed to what
    # you want", "2. 选择 2K、60 帧")
    for i, line in enumerate(lines_out):
        item = LIST_MARK.match(line)
        if (
            not item
            or not line[item.end() :].strip()
            or not (any(gui_lines[max(0, i - 1) : i]) or any(gui_lines[i + 1 : i + 2]))
        ):
            continue
        body_t = fold(mask_quotes(line[item.end() :])).strip(" .。")
        if is_instruction(body_t):
            out.removed.append(line[item.end() :].strip())
            lines_out[i] = ""
            gui_lines[i] = True
    content_seen = any(x.strip() and not is_filler(x) for x in lines_out)
    # a header whose list was all GUI steps ("Next steps:", "操作步骤如下：") goes with it
    for i, line in enumerate(lines_out):
        if (
            line.rstrip().endswith((":", "："))
            and not any(x.strip() for x in lines_out[i + 1 :])
            and any(gui_lines[i + 1 :])
        ):
            lines_out[i] = ""
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines_out)).strip()
    if out.noise_dropped and not text and not out.steps:
        out.noise_dropped = False  # the notice was all there was: keep it
        text = cleaned.text
    out.gui_only = bool(out.steps) and (not content_seen or is_filler(text))
    out.text = "" if out.gui_only else text
    if Step.CONFIRM in out.steps and not paid:
        # "Click Apply to confirm": nothing paid waits on it
        out.steps = list(dict.fromkeys(Step.CLICK if s is Step.CONFIRM else s for s in out.steps))
    if Step.CONFIRM in out.steps:
        costs = [float(next(g for g in m if g)) for m in COST.findall(fold(reply))]
        out.waiting = Waiting(cost=max(costs) if costs else None, what=out.text)
    return out
