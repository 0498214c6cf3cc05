"""Request bodies on the Streamable HTTP transport: buffered within the size limit, and refused when their
JSON nests too deep.

`JsonDepthLimit` answers a POST body nested deeper than `MAX_JSON_DEPTH` arrays/objects with HTTP 400 and a
JSON-RPC error starting `[invalid_request]`, before any JSON parser recurses into it (a body nested 200,000
levels deep used to end in a 500 and a traceback). The scan skips strings whole, so brackets inside them do
not count, and stops at the first level past the limit. The body is buffered once (413 past the limit) and
replayed to the app.
"""

from __future__ import annotations

import json
import re
from collections import deque
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "MAX_JSON_DEPTH",
    "JsonDepthLimit",
    "buffer_body",
    "header",
    "json_too_deep",
    "read_capped_body",
    "replayer",
    "send_json",
    "too_large",
]

MAX_JSON_DEPTH = 64  # nested arrays/objects; MCP messages use fewer than ten
_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


async def send_json(
    send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", []):
        if k.lower() == name:
            return bytes(v).decode("latin-1")
    return None


async def too_large(send: Send, limit: int) -> None:
    await send_json(send, 413, {"error": f"request body over the {limit} byte limit"})


def json_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when arrays/objects in `body` nest deeper than `limit` (strings skipped; stops at the first
    level past the limit: a hostile deep body is refused after `limit` + 1 brackets)."""
    depth = 0
    for token in _JSON_TOKENS.finditer(body):
        char = token.group()
        if char in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif char in (b"]", b"}"):
            depth -= 1
    return False


async def buffer_body(receive: Receive, max_body: int) -> tuple[bytes, deque[Message]] | None:
    """The whole request body and the messages to replay, or None when it is over `max_body`."""
    body = bytearray()
    cached: deque[Message] = deque()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            cached.append(message)
            break
        body.extend(message.get("body", b""))
        if len(body) > max_body:
            return None
        if not message.get("more_body", False):
            break
    cached.appendleft({"type": "http.request", "body": bytes(body), "more_body": False})
    return bytes(body), cached


async def read_capped_body(
    scope: Scope, receive: Receive, send: Send, max_body: int
) -> tuple[bytes, deque[Message]] | None:
    """A POST body within `max_body` (declared or read) and the messages to replay; None once a 413 was
    sent for a body over it."""
    declared = header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_body:
        await too_large(send, max_body)
        return None
    buffered = await buffer_body(receive, max_body)
    if buffered is None:
        await too_large(send, max_body)
    return buffered


def replayer(cached: deque[Message], receive: Receive) -> Receive:
    async def replay() -> Message:
        if cached:
            return cached.popleft()
        return await receive()

    return replay


class JsonDepthLimit:
    """400 + `[invalid_request]` JSON-RPC error for a POST body nested deeper than `MAX_JSON_DEPTH`."""

    def __init__(self, app: ASGIApp, max_body: int, limit: int = MAX_JSON_DEPTH) -> None:
        self.app = app
        self.max_body = max_body
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        buffered = await read_capped_body(scope, receive, send, self.max_body)
        if buffered is None:
            return
        body, cached = buffered
        if json_too_deep(body, self.limit):
            msg = (
                f"[invalid_request] The request's JSON is nested more than {self.limit} levels deep, far "
                "more than any MCP message needs, so it was not read. Send the message without the extra "
                "nesting."
            )
            err = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": msg}}
            await send_json(send, 400, err)
            return
        await self.app(scope, replayer(cached, receive), send)
