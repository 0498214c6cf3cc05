"""Hardening of the Streamable HTTP transport: bearer auth, per-client tool-call rate limit, body limit.

Pure ASGI middleware around the SDK's Starlette app (no extra dependencies):

- `BearerAuth`: when a token is configured (`NEMO_MCP_AUTH_TOKEN`), every request except the open paths
  (`/health`) needs `Authorization: Bearer <token>`, compared in constant time (`hmac.compare_digest`);
  otherwise 401 with `WWW-Authenticate: Bearer`.
- `ToolCallRateLimit`: a token bucket per client (auth principal, else the peer address) that is spent by
  JSON-RPC `tools/call` requests only; an empty bucket answers 429 with `Retry-After` and a JSON-RPC error
  whose message starts with `[rate_limited]`.

  Keying trade-off: with bearer auth the key is the token's principal (one configured token, so every
  client holding it shares one bucket, wherever it connects from). Without auth the key is the peer
  address, so clients behind one proxy, or several local clients on loopback, share one bucket: raise
  `--rate-limit` (or turn it off) there, or turn auth on. The `Mcp-Session-Id` header is deliberately not
  part of the key: `initialize` is free and mints a new session for any caller, so a client could get a
  fresh bucket per session and the limit would bound nothing; and requests of the 2026 protocol era
  carry no session id at all.
- `JsonDepthLimit` (http_body.py): a POST body nested too deep answers 400 `[invalid_request]` before any
  JSON parser recurses into it.
- Body size: the SDK's `max_request_body_size` (413) behind this; the depth guard and the rate limiter,
  which must read the body, enforce the same limit themselves while buffering (http_body.py).
- Proxy headers (`X-Forwarded-For`, `X-Forwarded-Proto`) are trusted only from the addresses given with
  `--forwarded-allow-ips` (uvicorn's own default trusts loopback proxies, so any local client could pick
  its rate-limit bucket by naming another address): see `uvicorn_options`.

DNS-rebinding protection (Host/Origin allowlist) is the SDK's `TransportSecuritySettings`, built by
`transport_security()` here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send

from nemo_mcp.server.http_body import JsonDepthLimit, header, read_capped_body, replayer, send_json

LOOPBACK = ("127.0.0.1", "localhost", "::1")
OPEN_PATHS = frozenset({"/health"})
DEFAULT_RATE_LIMIT = "120/min"
DEFAULT_MAX_BODY = 1024 * 1024  # tool arguments are small; media never travels in MCP messages
MAX_BUCKETS = 10_000

_UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0, "h": 3600.0}


class HttpConfigError(ValueError):
    """A refused combination of HTTP options (the CLI prints it and exits 2)."""


@dataclass(frozen=True)
class RateLimit:
    calls: float  # tokens per `per_seconds`
    per_seconds: float

    @property
    def per_second(self) -> float:
        return self.calls / self.per_seconds

    def __str__(self) -> str:
        unit = {1.0: "s", 60.0: "min", 3600.0: "h"}.get(self.per_seconds, f"{self.per_seconds:g}s")
        return f"{self.calls:g}/{unit}"


def parse_rate_limit(text: str) -> RateLimit | None:
    """`120/min`, `5/s`, `1000/h`; `0`, `off` or `none` disable the limit (None)."""
    t = text.strip().lower()
    if t in ("0", "off", "none", "no", ""):
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*/\s*([a-z]+)", t)
    if not m or m.group(2) not in _UNITS or float(m.group(1)) <= 0:
        raise HttpConfigError(f"--rate-limit {text!r}: use N/s, N/min or N/h (e.g. 120/min), or 'off'")
    return RateLimit(float(m.group(1)), _UNITS[m.group(2)])


@dataclass
class HttpOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    allow_remote: bool = False
    auth_token: str | None = None
    no_auth: bool = False
    allowed_hosts: list[str] = field(default_factory=list)
    allowed_origins: list[str] = field(default_factory=list)
    rate_limit: RateLimit | None = field(default_factory=lambda: parse_rate_limit(DEFAULT_RATE_LIMIT))
    max_body: int = DEFAULT_MAX_BODY
    # proxies whose X-Forwarded-* headers are believed (comma-separated IPs/networks, "*"); None: nobody
    forwarded_allow_ips: str | None = None
    # NEMO_AUTH_ISSUER: every request needs this issuer's access token (hosted mode, nemo_mcp.server.hosted)
    oauth_issuer: str | None = None

    @property
    def remote(self) -> bool:
        return self.host not in LOOPBACK

    def validate(self) -> None:
        """Refuse a network-facing bind that was not asked for explicitly, or has no auth decision."""
        if self.auth_token is not None and not self.auth_token.strip():
            raise HttpConfigError("NEMO_MCP_AUTH_TOKEN is set but empty")
        if self.auth_token and self.no_auth:
            raise HttpConfigError("--no-auth contradicts NEMO_MCP_AUTH_TOKEN; drop one of them")
        if self.max_body <= 0:
            raise HttpConfigError("--max-body must be a positive number of bytes")
        if not self.remote:
            return
        if not self.allow_remote:
            raise HttpConfigError(
                f"--host {self.host} is reachable from other machines: pass --allow-remote to confirm, "
                "and set NEMO_MCP_AUTH_TOKEN (or pass --no-auth behind an authenticating proxy)"
            )
        if not self.auth_token and not self.no_auth and not self.oauth_issuer:
            raise HttpConfigError(
                f"--host {self.host}: a network-facing server needs a bearer token: set NEMO_MCP_AUTH_TOKEN, "
                "or pass --no-auth explicitly (only behind a proxy that authenticates)"
            )


def uvicorn_options(opts: HttpOptions) -> dict[str, Any]:
    """Keyword arguments for uvicorn: proxy headers only from `--forwarded-allow-ips` (uvicorn would trust
    loopback proxies by default, and read FORWARDED_ALLOW_IPS from the environment)."""
    trusted = (opts.forwarded_allow_ips or "").strip()
    if not trusted:
        return {"proxy_headers": False, "forwarded_allow_ips": ""}
    return {"proxy_headers": True, "forwarded_allow_ips": trusted}


def transport_security(opts: HttpOptions) -> TransportSecuritySettings:
    """DNS-rebinding protection stays on; loopback names plus the hosted names given with --allowed-host."""
    hosts = [f"127.0.0.1:{opts.port}", f"localhost:{opts.port}", f"[::1]:{opts.port}"]
    if opts.host not in LOOPBACK and opts.host not in ("0.0.0.0", "::"):  # noqa: S104
        hosts += [opts.host, f"{opts.host}:{opts.port}"]
    for name in opts.allowed_hosts:
        name = name.strip()
        if not name:
            continue
        hosts.append(name)
        if ":" not in name.rsplit("]", 1)[-1]:  # no port given: any port
            hosts.append(f"{name}:*")
    origins: list[str] = []
    for h in hosts:
        origins += [f"http://{h}", f"https://{h}"]
    origins += [o.strip().rstrip("/") for o in opts.allowed_origins if o.strip()]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=list(dict.fromkeys(hosts)),
        allowed_origins=list(dict.fromkeys(origins)),
    )


# --- ASGI helpers -----------------------------------------------------------------------------------------


def _bearer(scope: Scope) -> str | None:
    value = header(scope, b"authorization")
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class BearerAuth:
    """401 unless `Authorization: Bearer <token>` matches (constant-time); open paths pass."""

    def __init__(self, app: ASGIApp, token: str, open_paths: frozenset[str] = OPEN_PATHS) -> None:
        self.app = app
        self._token = token.encode()
        self.open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.open_paths:
            await self.app(scope, receive, send)
            return
        given = _bearer(scope)
        if given is None or not hmac.compare_digest(given.encode(), self._token):
            error = "invalid_token" if given is not None else "invalid_request"
            await send_json(
                send,
                401,
                {"error": error, "error_description": "a valid bearer token is required"},
                [(b"www-authenticate", f'Bearer realm="nemo-mcp", error="{error}"'.encode())],
            )
            return
        scope["nemo_principal"] = "bearer:" + _digest(given)
        await self.app(scope, receive, send)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class _Bucket:
    __slots__ = ("stamp", "tokens")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.tokens = tokens
        self.stamp = stamp


class TokenBuckets:
    """Per-key token buckets (capacity = one period's worth of calls, refilled continuously)."""

    def __init__(self, limit: RateLimit, clock: Any = time.monotonic) -> None:
        self.limit = limit
        self.capacity = max(1.0, limit.calls)
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str) -> float:
        """Spend one token; 0.0 when allowed, else the seconds until one is available."""
        now = self.clock()
        b = self._buckets.get(key)
        if b is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._prune(now)
            b = self._buckets[key] = _Bucket(self.capacity, now)
        b.tokens = min(self.capacity, b.tokens + (now - b.stamp) * self.limit.per_second)
        b.stamp = now
        if b.tokens >= 1.0:
            b.tokens -= 1.0
            return 0.0
        return (1.0 - b.tokens) / self.limit.per_second

    def _prune(self, now: float) -> None:
        rate = self.limit.per_second
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.stamp) * rate >= 1]
        for k in full:
            del self._buckets[k]
        while len(self._buckets) >= MAX_BUCKETS:
            self._buckets.pop(next(iter(self._buckets)))


def _tool_call_ids(body: bytes) -> list[Any] | None:
    """The JSON-RPC ids of `tools/call` requests in the body (None when there are none)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    msgs = data if isinstance(data, list) else [data]
    ids = [m.get("id") for m in msgs if isinstance(m, dict) and m.get("method") == "tools/call"]
    return ids or None


class ToolCallRateLimit:
    """429 + `[rate_limited]` JSON-RPC error when a client's bucket is empty; only `tools/call` spends."""

    def __init__(self, app: ASGIApp, limit: RateLimit, max_body: int, clock: Any = time.monotonic) -> None:
        self.app = app
        self.buckets = TokenBuckets(limit, clock)
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        buffered = await read_capped_body(scope, receive, send, self.max_body)
        if buffered is None:
            return
        body, cached = buffered
        ids = _tool_call_ids(body)
        if ids is not None:
            client = scope.get("client") or ("unknown", 0)
            key = str(scope.get("nemo_principal") or f"addr:{client[0]}")
            retry = 0.0
            for _ in ids:
                retry = max(retry, self.buckets.take(key))
            if retry > 0:
                seconds = max(1, math.ceil(retry))
                msg = (
                    f"[rate_limited] Too many tool calls from this client (limit {self.buckets.limit}). "
                    f"Wait {seconds} s and call again."
                )
                err = {"jsonrpc": "2.0", "id": ids[0], "error": {"code": -32000, "message": msg}}
                await send_json(send, 429, err, [(b"retry-after", str(seconds).encode())])
                return

        await self.app(scope, replayer(cached, receive), send)


def harden(app: ASGIApp, opts: HttpOptions) -> ASGIApp:
    """Wrap the SDK app: auth outermost (unauthenticated callers cost nothing), then the JSON depth guard
    (before anything parses the body), then the rate limit."""
    wrapped: ASGIApp = app
    if opts.rate_limit is not None:
        wrapped = ToolCallRateLimit(wrapped, opts.rate_limit, opts.max_body)
    wrapped = JsonDepthLimit(wrapped, opts.max_body)
    if opts.auth_token:
        wrapped = BearerAuth(wrapped, opts.auth_token)
    return wrapped
