"""The data of one local backend instance, in plain typed classes: accounts, tokens, claims, sessions and
their media, render jobs, counters, background tasks, and the live `Knobs`.

No logic lives here; the modules that act on this data import it, never the other way round. Its only
imports from the package are the leaf modules `knobs` (Knobs) and `media` (Probe), which import nothing
of the package themselves, so this module can never be part of an import cycle.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nemo_mcp.local.knobs import Knobs
from nemo_mcp.local.media import Probe


@dataclass
class User:
    user_id: str
    client_id: str
    available: int
    frozen: int = 0  # reserved by turns still running
    anonymous: bool = True

    def credits(self) -> dict[str, int]:
        return {"available": self.available, "frozen": self.frozen, "total": self.available + self.frozen}


@dataclass
class LedgerEntry:
    """One movement of credits (ledger.py writes them; `GET /_local/ledger` shows them).

    `action`: grant (a new account's credits), freeze (reserved while a step runs), charge (a frozen
    amount spent), release (a frozen amount given back: the step failed or never finished), refund (a
    charge given back: the turn failed and was undone), adjust (set from outside: admin, faults).
    `kind`: generation | edit | analysis | other."""

    seq: int
    time: float
    user_id: str
    session_id: str | None
    action: str
    kind: str
    amount: int
    before: dict[str, int]  # the user's {available, frozen, total} before and after
    after: dict[str, int]
    message_id: str | None = None  # the turn's ADK invocationId
    instruction: str | None = None  # an excerpt of the turn's text
    note: str | None = None  # why, for adjustments

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "user_id": self.user_id,
            "session_id": self.session_id,
            "action": self.action,
            "kind": self.kind,
            "amount": self.amount,
            "balance_before": self.before,
            "balance_after": self.after,
            "message_id": self.message_id,
            "instruction": self.instruction,
            "note": self.note,
        }


@dataclass
class Token:
    value: str
    user: User
    issued_at: float
    expires_at: float

    def live(self, now: float) -> bool:
        return now < self.expires_at


@dataclass
class Claim:
    """A browser-link token (docs/nemo-api.md §1.6): reusable until it expires; no API access."""

    session_id: str
    expires_at: float


@dataclass
class Media:
    """A file the backend holds for a session: the public entry plus what only the server needs."""

    info: dict[str, Any]  # the upload response entry (also stored in video_infos)
    path: Path
    probe: Probe


@dataclass
class PendingTurn:
    """A generation waiting for the user's go-ahead (pending.py, the `confirm_generation` knob)."""

    text: str  # the instruction that asked for it
    cost: int  # the price quoted
    asked_at: float
    message_id: str = ""  # the turn that quoted it


@dataclass
class Session:
    session_id: str
    task_id: str
    task_name: str
    language: str | None
    user: User
    state: dict[str, Any]  # what GET .../latest answers under "state" (docs/nemo-api.md §3.1)
    media: dict[str, Media] = field(default_factory=dict)  # by cdn_url
    turns: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one turn at a time
    pending: PendingTurn | None = None  # a generation waiting for the go-ahead

    @property
    def draft(self) -> dict[str, Any]:
        return self.state["draft"]  # type: ignore[no-any-return]


@dataclass
class RenderJob:
    id: str
    session_id: str
    user_id: str
    out: Path
    status: str = "pending"
    progress: int = 5
    error: str | None = None
    created_at: float = field(default_factory=time.time)
    completed_at: float | None = None
    duration: float = 0.0
    size: int = 0
    task: asyncio.Task[None] | None = None
    proc: asyncio.subprocess.Process | None = None

    @property
    def terminal(self) -> bool:
        return self.status in ("completed", "failed", "cancelled")


@dataclass
class Stats:
    """Counters for tests and the `/_local/stats` admin route."""

    turns: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # accepted /run_sse texts
    run_sse_posts: int = 0  # raw POSTs, accepted or not
    renders: dict[str, dict[str, Any]] = field(default_factory=dict)  # accepted submissions by id
    render_submits: int = 0  # raw submissions, accepted or not
    requests: Counter[str] = field(default_factory=Counter)  # by path
    last_headers: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "turns": dict(self.turns),
            "run_sse_posts": self.run_sse_posts,
            "renders": self.renders,
            "render_submits": self.render_submits,
            "requests": dict(self.requests),
            "last_headers": self.last_headers,
        }


@dataclass
class BackendState:
    """Everything one backend knows. A reset (`controls.reset`) replaces every field except those in
    `SURVIVES_RESET`, so a field added here is forgotten by a reset unless it is listed there."""

    knobs: Knobs
    data_dir: Path  # uploads, generated media and render outputs live below it
    tokens: dict[str, Token] = field(default_factory=dict)  # by token value
    by_client: dict[str, Token] = field(default_factory=dict)  # the latest token per X-Client-Id
    ip_issued: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # issue times
    users: dict[str, User] = field(default_factory=dict)
    claims: dict[str, Claim] = field(default_factory=dict)  # by claim token
    sessions: dict[str, Session] = field(default_factory=dict)
    renders: dict[str, RenderJob] = field(default_factory=dict)  # by client-chosen id
    render_submit_failed: bool = False  # the `fail_first_render_submit` fault has fired
    stats: Stats = field(default_factory=Stats)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)  # work that outlives its request
    ledger: list[LedgerEntry] = field(default_factory=list)  # every credit movement, in order


SURVIVES_RESET = frozenset({"knobs", "data_dir", "tasks"})
