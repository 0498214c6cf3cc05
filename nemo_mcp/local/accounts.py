"""Anonymous accounts: issuing API tokens (with the per-client and per-IP limits), authenticating a
request's bearer token, and browser-link claim tokens (docs/nemo-api.md §1.4, §1.6)."""

from __future__ import annotations

import time

from nemo_mcp.local import ids, ledger
from nemo_mcp.local.envelope import AUTH, ApiError
from nemo_mcp.local.state import BackendState, Claim, Session, Token, User

WEEK = 7 * 86400.0


def issue_token(state: BackendState, client_id: str, ip: str, credits: int, ttl: float, ip_cap: int) -> Token:
    now = time.time()
    previous = state.by_client.get(client_id)
    if previous and previous.live(now) and now - previous.issued_at < WEEK:
        raise ApiError(429, "Rate limit: 1 anonymous token per client per 7 days", {"Retry-After": "30"})
    recent = [t for t in state.ip_issued[ip] if now - t < WEEK]
    if ip_cap and len(recent) >= ip_cap:
        raise ApiError(429, f"Rate limit: {ip_cap} anonymous tokens per IP per 7 days", {"Retry-After": "30"})
    state.ip_issued[ip] = [*recent, now]
    # An expired client gets a fresh token for the same anonymous user
    # (docs/nemo-api.md §1.4: re-request with the same id).
    user = previous.user if previous else User(ids.user_id(), client_id, credits)
    if previous is None:
        ledger.grant(state, user)
    state.users[user.user_id] = user
    token = Token(ids.api_token(), user, now, now + ttl)
    state.tokens[token.value] = state.by_client[client_id] = token
    return token


def authenticate(state: BackendState, authorization: str | None) -> User:
    scheme, _, value = (authorization or "").partition(" ")
    token = state.tokens.get(value.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        raise ApiError(AUTH, "Invalid or missing token: send Authorization: Bearer <NEMO_TOKEN>")
    if not token.live(time.time()):
        raise ApiError(AUTH, "Token expired: request a new anonymous token with the same X-Client-Id")
    return token.user


def issue_claim(state: BackendState, session: Session, ttl: float) -> str:
    value = ids.claim_token()
    state.claims[value] = Claim(session.session_id, time.time() + ttl)
    return value


def claimed_session(state: BackendState, value: str) -> Session | None:
    """The session a live claim token points at; None if unknown, expired, or the session is gone."""
    claim = state.claims.get(value)
    if claim is None or time.time() >= claim.expires_at:
        return None
    return state.sessions.get(claim.session_id)
