"""Tool-call rate limits in hosted mode: per verified user, and the same on every worker.

The single-server limiter (:class:`nemo_mcp.server.http_security.ToolCallRateLimit`) keeps its buckets in
one process and keys them by the shared bearer token or the peer address. Here:

- the key is the verified user (``user:<sub>``, from the same :class:`JwksVerifier` the SDK uses, its
  keys cached), so users behind one proxy do not share a budget and one user cannot get a fresh budget
  per worker or per session; without a valid token, the peer address (the request is refused anyway);
- the bucket lives in the shared Valkey/Redis store (a token bucket updated by one Lua script, timed by
  the server's clock, expiring once full again), so N workers allow the configured rate, not N times it;
  without a shared store, in this process's memory as before.

Only JSON-RPC ``tools/call`` spends; an empty bucket answers HTTP 429 with ``Retry-After`` and a JSON-RPC
error starting ``[rate_limited]``.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nemo_mcp.server.hosted.jwt_verifier import JwksVerifier
from nemo_mcp.server.http_security import RateLimit, TokenBuckets

__all__ = ["SharedRateLimit"]

log = logging.getLogger(__name__)

# KEYS[1]: the bucket; ARGV: capacity, refill per second. Returns the seconds to wait ("0": allowed).
_TAKE = """
local cap, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local b = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens, stamp = tonumber(b[1]) or cap, tonumber(b[2]) or now
tokens = math.min(cap, tokens + math.max(0, now - stamp) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((cap / rate) * 1000) + 1000)
return tostring(wait)
"""


async def _body(receive: Receive, limit: int) -> tuple[bytes, list[Message]] | None:
    """The whole body (None past ``limit``) and the messages to replay it."""
    messages: list[Message] = []
    size = 0
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


def _tool_call_ids(body: bytes) -> list[Any]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return []
    msgs = data if isinstance(data, list) else [data]
    return [m.get("id") for m in msgs if isinstance(m, dict) and m.get("method") == "tools/call"]


async def _send_json(
    send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]]
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class SharedRateLimit:
    """ASGI middleware: ``shared()`` gives the store's Redis client and key prefix once the lifespan opened
    it (None: buckets in this process)."""

    def __init__(
        self,
        app: ASGIApp,
        limit: RateLimit,
        max_body: int,
        verifier: JwksVerifier | None,
        shared: Callable[[], tuple[Any, str] | None],
    ) -> None:
        self.app = app
        self.limit = limit
        self.max_body = max_body
        self.verifier = verifier
        self.shared = shared
        self.local = TokenBuckets(limit)
        self._script: Any = None

    async def _key(self, scope: Scope) -> str:
        if self.verifier is not None:
            auth = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
            scheme, _, token = auth.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                verified = await self.verifier.verify_token(token.strip())
                if verified is not None and verified.subject:
                    return f"user:{verified.subject}"
        client = scope.get("client") or ("unknown", 0)
        return str(scope.get("nemo_principal") or f"addr:{client[0]}")

    async def _take(self, key: str) -> float:
        shared = self.shared()
        if shared is None:
            return self.local.take(key)
        client, prefix = shared
        if self._script is None:
            self._script = client.register_script(_TAKE)
        try:
            wait = await self._script(
                keys=[f"{prefix}:ratelimit:{key}"], args=[max(1.0, self.limit.calls), self.limit.per_second]
            )
            return float(wait)
        except RedisError as exc:  # the shared store is down: limit in this process rather than not at all
            log.warning("rate limit in the shared store failed (%s); limiting in this worker", exc)
            return self.local.take(key)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        buffered = await _body(receive, self.max_body)
        if buffered is None:
            await _send_json(send, 413, {"error": "request body too large"}, [])
            return
        body, messages = buffered
        ids = _tool_call_ids(body)
        if ids:
            key = await self._key(scope)
            retry = max([await self._take(key) for _ in ids])
            if retry > 0:
                seconds = max(1, math.ceil(retry))
                msg = (
                    f"[rate_limited] Too many tool calls from this user (limit {self.limit}, shared by every "
                    f"worker). Wait {seconds} s and call again."
                )
                err = {"jsonrpc": "2.0", "id": ids[0], "error": {"code": -32000, "message": msg}}
                await _send_json(send, 429, err, [(b"retry-after", str(seconds).encode())])
                return
        await self.app(scope, _replay(messages, receive), send)
