"""In-memory accounts, sessions and counters of one local backend instance."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import string
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nemo_mcp.local import draft as drafts
from nemo_mcp.local.envelope import AUTH, SESSION, ApiError
from nemo_mcp.local.media import Probe

WEEK = 7 * 86400.0


@dataclass
class User:
    user_id: str
    client_id: str
    available: int
    frozen: int = 0
    anonymous: bool = True

    def credits(self) -> dict[str, int]:
        return {"available": self.available, "frozen": self.frozen, "total": self.available + self.frozen}


@dataclass
class Token:
    value: str
    user: User
    issued_at: float
    expires_at: float

    def live(self, now: float) -> bool:
        return now < self.expires_at


@dataclass
class Media:
    """A file the backend holds for a session: the public entry plus what only the server needs."""

    info: dict[str, Any]  # the upload response entry (also stored in video_infos)
    path: Path
    probe: Probe


@dataclass
class Session:
    session_id: str
    task_id: str
    task_name: str
    language: str | None
    user: User
    state: dict[str, Any]
    media: dict[str, Media] = field(default_factory=dict)  # by cdn_url
    turns: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def draft(self) -> dict[str, Any]:
        return self.state["draft"]  # type: ignore[no-any-return]


@dataclass
class Claim:
    """A browser-link token (docs/nemo-api.md §1.6): reusable until it expires; no API access."""

    session_id: str
    expires_at: float


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


def rand(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


class Store:
    def __init__(self) -> None:
        self.tokens: dict[str, Token] = {}
        self.by_client: dict[str, Token] = {}
        self.ip_issued: dict[str, list[float]] = defaultdict(list)
        self.users: dict[str, User] = {}
        self.sessions: dict[str, Session] = {}
        self.claims: dict[str, Claim] = {}
        self.stats = Stats()

    # accounts
    def issue_token(self, client_id: str, ip: str, credits: int, ttl: float, ip_cap: int) -> Token:
        now = time.time()
        previous = self.by_client.get(client_id)
        if previous and previous.live(now) and now - previous.issued_at < WEEK:
            raise ApiError(429, "Rate limit: 1 anonymous token per client per 7 days", {"Retry-After": "30"})
        recent = [t for t in self.ip_issued[ip] if now - t < WEEK]
        if ip_cap and len(recent) >= ip_cap:
            raise ApiError(
                429, f"Rate limit: {ip_cap} anonymous tokens per IP per 7 days", {"Retry-After": "30"}
            )
        self.ip_issued[ip] = [*recent, now]
        # An expired client gets a fresh token for the same anonymous user
        # (docs/nemo-api.md §1.4: re-request with the same id).
        user = previous.user if previous else User(f"anon_{rand(12).lower()}", client_id, credits)
        self.users[user.user_id] = user
        value = "nmv_usr_" + secrets.token_urlsafe(30)[:40]
        token = Token(value, user, now, now + ttl)
        self.tokens[value] = self.by_client[client_id] = token
        return token

    def authenticate(self, authorization: str | None) -> User:
        scheme, _, value = (authorization or "").partition(" ")
        token = self.tokens.get(value.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            raise ApiError(AUTH, "Invalid or missing token: send Authorization: Bearer <NEMO_TOKEN>")
        if not token.live(time.time()):
            raise ApiError(AUTH, "Token expired: request a new anonymous token with the same X-Client-Id")
        return token.user

    def expire_all_tokens(self) -> None:
        now = time.time()
        for token in self.tokens.values():
            token.expires_at = min(token.expires_at, now - 1)

    # sessions
    def create_session(self, user: User, task_name: str, language: str | None) -> Session:
        sid = str(secrets.randbelow(9 * 10**18) + 10**18)  # 19-digit numeric, snowflake-like
        state = {
            "draft": drafts.empty_draft(task_name),
            "video_infos": [],
            "canvas_config": {"width": 1920, "height": 1080, "aspect_ratio": "16:9"},
            "generated_media": [],
            "video_analyses": {},
        }
        session = Session(sid, f"task_{rand(16).lower()}", task_name, language, user, state)
        self.sessions[sid] = session
        return session

    def session(self, user: User, user_segment: str | None, session_id: Any) -> Session:
        """Look a session up; the user segment may be `me`, the real user id, or absent."""
        if user_segment not in (None, "me", user.user_id):
            raise ApiError(AUTH, f"User '{user_segment}' does not match the token; use 'me'")
        session = self.sessions.get(str(session_id)) if session_id is not None else None
        if session is None or session.user is not user:
            raise ApiError(SESSION, f"Session not found: {session_id}")
        return session

    # browser links
    def issue_claim(self, session: Session, ttl: float) -> str:
        value = "clm_" + rand(32)
        self.claims[value] = Claim(session.session_id, time.time() + ttl)
        return value

    def claimed_session(self, value: str) -> Session | None:
        """The session a live claim token points at; None if unknown, expired, or the session is gone."""
        claim = self.claims.get(value)
        if claim is None or time.time() >= claim.expires_at:
            return None
        return self.sessions.get(claim.session_id)

    def iso(self, ts: float) -> str:
        return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
