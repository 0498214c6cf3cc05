"""The GUI steps in one sentence of a reply.

`gui_kind(clause, paid)`: the step one clause asks for (`gui_english`, `gui_chinese`), refined (an export
button, a paid go-ahead). `translate_sentence`: the clauses with their neighbours (a follow-on of the same
workflow, "…, then choose MP4 and 1080p", and a statement of where things are go with the step before; a
lead-in that only introduces a step, "When you're happy with it, …", with the step after; what follows an
export step is its dialog), and what stays. `is_instruction`: an instruction of any kind (a list item
among GUI steps goes with them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nemo_mcp.language.go_ahead import COST, asks_go_ahead
from nemo_mcp.language.gui_chinese import DEPENDENT_ZH, IMPERATIVE_ZH, TOLD_ZH, kind_zh
from nemo_mcp.language.gui_english import DEPENDENT_EN, LEAD_IN_EN, any_imperative, kind_en
from nemo_mcp.language.gui_steps import GUI_PLACE_LINE, Step, gui_verb_roots, refine
from nemo_mcp.language.normalize import fold, has_cjk, mandarin
from nemo_mcp.language.reply_text import end_mark, mask_quotes, reply_clauses


def gui_kind(raw: str, paid: bool) -> Step | None:
    """The GUI step one clause asks for, or None; in a reply about paid work, asking for the go-ahead is
    CONFIRM."""
    t = mandarin(fold(mask_quotes(raw))).strip(" .!?。！？~～*-—–")
    if not t:
        return None
    kind = kind_zh(t) if has_cjk(t) else kind_en(t)
    if kind is not None:
        kind = refine(t, kind)
    bare = re.sub(r"[「」『』“”\"'«»]", "", t)  # "按「确认」后开始": the button's name, unquoted
    if (
        paid
        and asks_go_ahead(bare)
        and (kind is not Step.EXPORT or re.search(r"confirm|proceed|approve|确认|同意", t))
    ):
        return Step.CONFIRM
    return kind


def is_instruction(t: str) -> bool:
    """An instruction of any kind: it opens with a GUI or editing verb in its base form (English) or an
    imperative marker (Chinese)."""
    if has_cjk(t) and IMPERATIVE_ZH.match(t) and not TOLD_ZH.search(t):
        return True
    core = LEAD_IN_EN.sub("", t).strip(" ,:;-*")
    return any_imperative(core) or any(
        core == root or core.startswith(root + " ") for root, _kind, _generic in gui_verb_roots()
    )


@dataclass
class _Clause:
    raw: str
    kind: Step | None = None


def translate_sentence(sentence: str, steps: list[Step], removed: list[str], paid: bool) -> tuple[str, bool]:
    """The sentence with its GUI clauses out; True when a GUI step was found in it. The kinds found are
    added to `steps` (once each) and the GUI text taken out to `removed`."""
    clauses = [_Clause(p, gui_kind(p, paid)) for p in reply_clauses(sentence)]
    if not any(c.kind for c in clauses):
        return sentence, False
    for i, c in enumerate(clauses):
        if i == 0 or c.kind is not None:
            continue
        prev = clauses[i - 1].kind
        t = fold(mask_quotes(c.raw)).strip(" ,，;；:：")
        joined_by_dash = bool(re.search(r"[—–-]\s*$", clauses[i - 1].raw))
        if prev is not None and (
            joined_by_dash  # "— the ramp looks smoother at full screen": why to do the step
            or re.match(
                r"(?:and\s+|then\s+|or\s+)*(?:choose|select|pick|set|type|enter|change|press|hit|click|tap|"
                r"use|find|drag|"
                r"move|switch|turn|check|untick|tick|go|open|play|save|confirm|drop|resize|zoom|scroll)\b|"
                r"^(?:然后|再|接着|并|或者|或)?\s*(?:在[^，。]{0,24}?里)?\s*(?:选|点|按|输入|改|拖|设置|勾选|确认|挑|拉|找到|找|"
                r"定位|滑到|移到|用)|^把[^，。]{0,10}?(?:改成|调成|设为|设成|拉到|调到|改为)",
                t,
            )
            or GUI_PLACE_LINE.search(t)
            or any_imperative(bare := re.sub(r"^(?:(?:and|then|or|just|also)\s+)+", "", t))
            or any(bare.startswith(root + " ") for root, _kind, _generic in gui_verb_roots())
        ):
            # a follow-on step of the same workflow
            c.kind = Step.EXPORT if prev is Step.EXPORT else refine(t, prev)
    # a statement of where a GUI step finds things goes with the step ("所有音效都在音效库里，轻点即可试听")
    for c in clauses:
        if c.kind is None and GUI_PLACE_LINE.search(fold(c.raw)):
            c.kind = Step.OPEN
    # a lead-in that only introduces the step goes with it ("When you're happy with it, click Export")
    for i in range(len(clauses) - 2, -1, -1):
        c = clauses[i]
        t = fold(c.raw).strip()
        lead_in = DEPENDENT_EN.match(t) or DEPENDENT_ZH.match(t)
        if c.kind is None and clauses[i + 1].kind is not None and lead_in and not re.search(r"\d", t):
            c.kind = clauses[i + 1].kind
    # after an export step, the rest of the same sentence is its dialog ("…, 再点“确定”")
    exported = False
    for c in clauses:
        if exported and c.kind in (Step.CLICK, Step.CONFIRM):
            c.kind = Step.EXPORT
        exported = exported or c.kind is Step.EXPORT
    kept: list[str] = []
    for c in clauses:
        if c.kind is None:
            kept.append(c.raw)
            continue
        if c.kind not in steps:
            steps.append(c.kind)
        removed.append(c.raw.strip(" ,，;；"))
        cost = COST.search(c.raw) if c.kind is Step.CONFIRM else None
        if cost and not any(COST.search(k) for k in kept):
            kept.append(f" ({cost.group(0).strip()})")  # "Type CONFIRM to spend 230 credits": the price stays
    text = "".join(kept).strip()
    return (end_mark(text, has_cjk(sentence)) if text else ""), True
