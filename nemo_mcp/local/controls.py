"""Direct controls over a backend's state: the one-shot faults, setting credits, and a reset.

The Guard applies the one-shot knobs through `apply_one_shot_faults`; the `/_local/` admin routes and the
test-facing `LocalBackend` call the rest.
"""

from __future__ import annotations

import dataclasses
import time

from nemo_mcp.local import ledger
from nemo_mcp.local.state import SURVIVES_RESET, BackendState, User


def expire_tokens(state: BackendState) -> None:
    now = time.time()
    for token in state.tokens.values():
        token.expires_at = min(token.expires_at, now - 1)


def lose_session(state: BackendState, session_id: str = "*") -> None:
    """Forget one session, or every session for `*`."""
    if session_id == "*":
        state.sessions.clear()
    else:
        state.sessions.pop(session_id, None)


def exhaust_credits(state: BackendState) -> None:
    for user in state.users.values():
        ledger.adjust(state, user, 0, "fault: exhaust_credits")


def set_credits(state: BackendState, available: int, user_id: str = "*") -> list[User]:
    """Set a user's available credits (`*` = every user); the users changed. KeyError if unknown."""
    if available < 0:
        raise ValueError("available must be a non-negative integer")
    users = list(state.users.values()) if user_id == "*" else [state.users[user_id]]
    for user in users:
        ledger.adjust(state, user, available, "admin: PATCH /_local/credits")
    return users


def apply_one_shot_faults(state: BackendState) -> None:
    """Fire the one-shot knobs that are armed, then disarm them."""
    k = state.knobs
    if k.expire_tokens:
        k.expire_tokens = False
        expire_tokens(state)
    if k.lose_session:
        lose_session(state, k.lose_session)
        k.lose_session = ""
    if k.exhaust_credits:
        k.exhaust_credits = False
        exhaust_credits(state)


def reset(state: BackendState) -> None:
    """Forget accounts, sessions, renders, counters and the ledger (running renders are cancelled); the
    knobs, the data directory and running background tasks stay."""
    for job in state.renders.values():
        if job.task and not job.task.done():
            job.task.cancel()
    fresh = BackendState(state.knobs, state.data_dir)
    for f in dataclasses.fields(BackendState):
        if f.name not in SURVIVES_RESET:
            setattr(state, f.name, getattr(fresh, f.name))
