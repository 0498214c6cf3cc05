"""A fault-injecting reverse proxy in front of the local backend (test-only, loopback).

The local backend's knobs have no fault for malformed or truncated JSON or for wrong content types, so
these are injected here, on the wire between the MCP server's API client and the real backend: the
tools see exactly what a misbehaving gateway would send. Everything that matches no rule streams
through unchanged (SSE included).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import uvicorn
from starlette.types import Receive, Scope, Send

HTML = b"<!doctype html><html><body><h1>502 Bad Gateway</h1>cloudflare</body></html>"


@dataclass
class Rule:
    path: str  # path prefix
    mode: str  # truncated_json | malformed_json | html | sse_truncated | sse_html
    count: int = 1  # how many matching responses to corrupt
    method: str | None = None


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.rules: list[Rule] = []
        self.hits: list[str] = []
        self.seen: list[str] = []  # every request: "METHOD URL" (for leak scans)
        self.seen_headers: list[tuple[str, str]] = []  # every request header except Authorization
        self._http: httpx.AsyncClient | None = None

    def _match(self, method: str, path: str) -> Rule | None:
        for rule in self.rules:
            if rule.count > 0 and path.startswith(rule.path) and rule.method in (None, method):
                rule.count -= 1
                self.hits.append(f"{rule.mode} {method} {path}")
                return rule
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            msg = await receive()
            body.extend(msg.get("body", b""))
            if not msg.get("more_body"):
                break
        assert self._http is not None
        path = scope["path"]
        query = scope.get("query_string", b"").decode()
        headers = [
            (k.decode(), v.decode())
            for k, v in scope["headers"]
            if k.lower() not in (b"host", b"content-length", b"accept-encoding")
        ]
        self.seen.append(f"{scope['method']} {path}" + (f"?{query}" if query else ""))
        self.seen_headers += [(k, v) for k, v in headers if k.lower() != "authorization"]
        req = self._http.build_request(
            scope["method"],
            self.upstream + path + (f"?{query}" if query else ""),
            headers=headers,
            content=bytes(body),
        )
        resp = await self._http.send(req, stream=True)
        try:
            rule = self._match(scope["method"], path)
            out_headers = [
                (k.encode(), v.encode())
                for k, v in resp.headers.items()
                if k.lower()
                not in ("content-length", "transfer-encoding", "content-encoding", "content-type")
            ]
            ctype = resp.headers.get("content-type", "application/octet-stream")
            if rule is None:
                await send(
                    {
                        "type": "http.response.start",
                        "status": resp.status_code,
                        "headers": [*out_headers, (b"content-type", ctype.encode())],
                    }
                )
                async for chunk in resp.aiter_bytes():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
                return
            raw = await resp.aread()
            status, ctype, payload = self._corrupt(rule, resp.status_code, ctype, raw)
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [*out_headers, (b"content-type", ctype.encode())],
                }
            )
            await send({"type": "http.response.body", "body": payload})
        finally:
            await resp.aclose()

    @staticmethod
    def _corrupt(rule: Rule, status: int, ctype: str, raw: bytes) -> tuple[int, str, bytes]:
        if rule.mode == "truncated_json":
            return status, "application/json", raw[: max(1, len(raw) // 2)]
        if rule.mode == "malformed_json":
            return status, "application/json", b'{"code": 0, "data": {"session_id": "x", ]]]' + raw[:5]
        if rule.mode == "html":
            return 200, "text/html; charset=utf-8", HTML
        if rule.mode == "sse_truncated":
            # the first complete event, then half a JSON event, then the connection ends
            first, sep, rest = raw.partition(b"\n\n")
            return status, ctype, first + sep + rest[: max(1, len(rest) // 3)].split(b"\n\n")[0][:40]
        if rule.mode == "sse_html":
            return 200, "text/html", HTML
        raise ValueError(rule.mode)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def run_fault_proxy(upstream: str) -> AsyncIterator[tuple[FaultProxy, str]]:
    proxy = FaultProxy(upstream)
    port = _free_port()
    config: Any = uvicorn.Config(proxy, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    async with httpx.AsyncClient(timeout=httpx.Timeout(120.0)) as http:
        proxy._http = http
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.serve)
            with anyio.fail_after(10):
                while not server.started:
                    await anyio.sleep(0.02)
            try:
                yield proxy, f"http://127.0.0.1:{port}"
            finally:
                server.should_exit = True
