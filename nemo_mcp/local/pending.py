"""Waiting for the go-ahead before a paid generation (`confirm_generation`).

With the knob on, a turn that would generate (about `generation_cost` credits) does not run: it answers
with the price and waits, charging nothing, and the session keeps it as `pending`. The next turn on that
session decides: a plain yes ("yes", "go ahead", "ok", "confirm", "确认", "开始", "好的", "继续", ...)
runs the pending instruction (charged then); an explicit no ("no", "cancel", "取消", "算了", ...) drops
it; anything else drops it too and is handled as a new instruction. `decide` only reads; `settle` records
the outcome once the turn has been admitted (a yes refused with 2001 leaves the generation pending).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from nemo_mcp.local.agent import Plan, plan
from nemo_mcp.local.knobs import Knobs
from nemo_mcp.local.state import PendingTurn, Session

_EN_YES = frozenset(
    {"yes", "yeah", "yep", "yup", "y", "sure", "ok", "okay", "k", "confirm", "confirmed", "proceed", "start"}
    | {"generate", "alright", "go", "continue", "do", "fine"}
)
_EN_FILLER = frozenset(
    {"please", "it", "ahead", "thanks", "thank", "you", "lets", "let's", "let", "us", "right", "now", "then"}
    | {"sounds", "good", "great", "that", "the", "generation", "and", "i", "agree", "of", "course", "thing"}
)
_EN_NO = frozenset({"no", "nope", "cancel", "stop", "don", "dont", "nevermind", "nah", "abort", "skip"})
_EN_NO_FILLER = frozenset(
    {"it", "that", "thanks", "thank", "you", "generate", "generation", "the", "please", "now", "not", "do"}
    | {"need", "to", "never", "mind", "this", "one", "video", "i", "changed", "my", "t"}
)
_ZH_YES = ("确认生成", "开始生成", "没问题", "确认", "确定", "开始", "好的", "继续", "是的", "可以", "生成")
_ZH_YES_SHORT = ("好", "是", "行", "嗯", "对", "要")
_ZH_FILLER = ("吧", "啊", "呀", "吗", "了", "呢", "请", "那就", "就", "直接", "现在", "谢谢", "麻烦")
_ZH_NO = ("不要", "不用", "取消", "算了", "别", "不", "停")
_ZH_NO_FILLER = ("生成", "视频", "这个", "了", "吧", "啊", "呀", "先", "还是", "谢谢", "暂时", "需要")
_PUNCT = re.compile(r"[\s,.!?;:~，。！？；：、…'\"“”‘’()（）-]+")


def is_yes(text: str) -> bool:
    """The whole message is a go-ahead (a plain yes, nothing else asked)."""
    return _only(text, _EN_YES, _EN_FILLER, (*_ZH_YES, *_ZH_YES_SHORT), _ZH_FILLER)


def is_no(text: str) -> bool:
    """The whole message is a no to the pending generation (nothing else asked)."""
    return _only(text, _EN_NO, _EN_NO_FILLER, _ZH_NO, _ZH_NO_FILLER)


def _only(
    text: str,
    en_core: frozenset[str],
    en_filler: frozenset[str],
    zh_core: tuple[str, ...],
    zh_filler: tuple[str, ...],
) -> bool:
    """The message is made of these words only, with at least one core word."""
    flat = text.strip().lower()
    if re.search(r"[\u4e00-\u9fff]", flat):
        rest, found = _PUNCT.sub("", flat), False
        while rest:
            for word in (*zh_core, *zh_filler):  # longer core words come first in each tuple
                if rest.startswith(word):
                    found = found or word in zh_core
                    rest = rest[len(word) :]
                    break
            else:
                return False
        return found
    words = [w for w in _PUNCT.split(flat) if w]
    return (
        bool(words)
        and all(w in en_core or w in en_filler for w in words)
        and any(w in en_core for w in words)
    )


@dataclass
class Decision:
    plan: Plan  # what this turn runs (empty when it asks or drops)
    instruction: str  # the instruction it runs (the pending one when confirmed)
    ask: PendingTurn | None = None  # quote this and wait
    confirmed: bool = False
    dropped: PendingTurn | None = None  # a pending generation this message cancels
    refused: bool = False  # the message was an explicit no to it
    prompt: str = ""  # what the quoted generation is of


def decide(session: Session, text: str, knobs: Knobs) -> Decision:
    pending = session.pending
    if pending is not None and is_yes(text):
        return Decision(plan(pending.text, knobs), pending.text, confirmed=True)
    if pending is not None and is_no(text):
        return Decision(Plan([], 0), text, dropped=pending, refused=True)
    turn_plan = plan(text, knobs)
    generating = knobs.simulate_generation and any(op.kind == "generate" for op in turn_plan.ops)
    if knobs.confirm_generation and generating:
        quote = PendingTurn(text, turn_plan.cost, time.time())
        prompt = next(str(op.args.get("prompt") or "") for op in turn_plan.ops if op.kind == "generate")
        return Decision(Plan([], 0), text, ask=quote, dropped=pending, prompt=prompt)
    return Decision(turn_plan, text, dropped=pending)


def price(decision: Decision) -> int:
    """What the turn must be able to pay to be admitted (a quote is checked at its price)."""
    return decision.ask.cost if decision.ask else decision.plan.cost


def settle(session: Session, decision: Decision, message_id: str) -> None:
    """Record the decision on the session once the turn is admitted."""
    if decision.ask is not None:
        decision.ask.message_id = message_id
        session.pending = decision.ask
    elif decision.confirmed or decision.dropped is not None:
        session.pending = None
