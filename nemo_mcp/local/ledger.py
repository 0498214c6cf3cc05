"""Credits and their ledger: every grant, freeze, charge, release, refund and adjustment of a user's credits
goes through here and is recorded in `state.ledger` (docs/nemo-api.md §1.9, §1.14).

A turn pays step by step (`Bill`), as a backend whose agent decides its tool calls as it goes must: each
paid step (a generation, the turn's editing, an analysis) freezes its price when it starts, which is the
`frozen` a client sees meanwhile, and is charged when it succeeds or released when it does not. A turn never
charges more than the price it was admitted with (`cap`: what `agent.plan` quoted), so several edits in one
turn cost one editing charge, and a generation covers the edits beside it. When a step cannot freeze its
price (the credits ran out while the turn ran: another turn, an admin change, a fault), it raises
`OutOfCredits`: what was charged before stays charged, nothing after is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from nemo_mcp.local.state import BackendState, LedgerEntry, User

KINDS = ("generation", "edit", "analysis", "other")
EXCERPT = 80


@dataclass
class TurnRef:
    """What ties a ledger entry to a turn."""

    session_id: str | None = None
    message_id: str | None = None
    instruction: str | None = None


class OutOfCredits(Exception):
    """A paid step could not freeze its price; the message is the 2001 answer."""

    def __init__(self, user: User, needed: int) -> None:
        super().__init__(insufficient(user, needed))
        self.needed = needed


def insufficient(user: User, needed: int, what: str = "this request") -> str:
    return (
        f"Insufficient credits: {what} needs {needed}, you have {user.available}. "
        f"Register at https://nemovideo.com/register?bind={user.user_id} or top up."
    )


def excerpt(text: str | None) -> str | None:
    if text is None:
        return None
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1] + "…"


def _record(
    state: BackendState,
    user: User,
    action: str,
    kind: str,
    amount: int,
    before: dict[str, int],
    ref: TurnRef,
    note: str | None = None,
) -> LedgerEntry:
    entry = LedgerEntry(
        seq=len(state.ledger) + 1,
        time=round(time.time(), 6),
        user_id=user.user_id,
        session_id=ref.session_id,
        action=action,
        kind=kind if kind in KINDS else "other",
        amount=amount,
        before=before,
        after=user.credits(),
        message_id=ref.message_id,
        instruction=excerpt(ref.instruction),
        note=note,
    )
    state.ledger.append(entry)
    return entry


def grant(state: BackendState, user: User) -> None:
    """A new account's credits (already on the user)."""
    before = {"available": 0, "frozen": 0, "total": 0}
    _record(state, user, "grant", "other", user.available, before, TurnRef(), "new anonymous account")


def adjust(state: BackendState, user: User, available: int, why: str) -> None:
    """Set `available` from outside a turn (admin route, a fault); recorded when it changes."""
    before = user.credits()
    if available == user.available:
        return
    user.available = available
    _record(state, user, "adjust", "other", available - before["available"], before, TurnRef(), why)


def freeze(state: BackendState, user: User, amount: int, kind: str, ref: TurnRef) -> bool:
    """Reserve `amount`; False (and nothing recorded) when the user has less available."""
    if amount <= 0:
        return True
    if user.available < amount:
        return False
    before = user.credits()
    user.available -= amount
    user.frozen += amount
    _record(state, user, "freeze", kind, amount, before, ref)
    return True


def charge(state: BackendState, user: User, amount: int, kind: str, ref: TurnRef) -> None:
    """Spend `amount` of what is frozen."""
    if amount <= 0:
        return
    before = user.credits()
    user.frozen -= amount
    _record(state, user, "charge", kind, amount, before, ref)


def release(state: BackendState, user: User, amount: int, kind: str, ref: TurnRef) -> None:
    """Give back `amount` of what is frozen."""
    if amount <= 0:
        return
    before = user.credits()
    user.frozen -= amount
    user.available += amount
    _record(state, user, "release", kind, amount, before, ref)


def refund(state: BackendState, user: User, amount: int, kind: str, ref: TurnRef) -> None:
    """Give back `amount` that was charged."""
    if amount <= 0:
        return
    before = user.credits()
    user.available += amount
    _record(state, user, "refund", kind, amount, before, ref)


@dataclass
class Bill:
    """One turn's payments: `hold` when a paid step starts, then `settle` or `cancel` it."""

    state: BackendState
    user: User
    ref: TurnRef
    cap: int  # the price the turn was admitted with; never exceeded
    held: list[tuple[str, int]] = field(default_factory=list)
    charged: list[tuple[str, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(a for _, a in self.charged)

    def hold(self, kind: str, price: int) -> int:
        """Freeze the step's price (what is left of the cap at most); the amount held, maybe 0.
        Raises OutOfCredits when the user cannot cover it."""
        amount = min(price, self.cap - self.total - sum(a for _, a in self.held))
        if amount <= 0:
            return 0
        if not freeze(self.state, self.user, amount, kind, self.ref):
            raise OutOfCredits(self.user, amount)
        self.held.append((kind, amount))
        return amount

    def settle(self, kind: str, amount: int) -> None:
        if amount > 0 and (kind, amount) in self.held:
            self.held.remove((kind, amount))
            charge(self.state, self.user, amount, kind, self.ref)
            self.charged.append((kind, amount))

    def cancel(self, kind: str, amount: int) -> None:
        if amount > 0 and (kind, amount) in self.held:
            self.held.remove((kind, amount))
            release(self.state, self.user, amount, kind, self.ref)

    def release_all(self) -> None:
        """Give back every hold still open (the turn ended, failed or was cancelled mid-step)."""
        for kind, amount in list(self.held):
            self.cancel(kind, amount)

    def refund_all(self) -> None:
        """Undo every charge of the turn (the turn failed and its changes were rolled back)."""
        for kind, amount in self.charged:
            refund(self.state, self.user, amount, kind, self.ref)
        self.charged = []


def entries(
    state: BackendState, user_id: str | None = None, session_id: str | None = None
) -> list[LedgerEntry]:
    return [
        e
        for e in state.ledger
        if (user_id is None or e.user_id == user_id) and (session_id is None or e.session_id == session_id)
    ]
