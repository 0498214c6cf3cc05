"""A recording reverse proxy in front of the local backend (test-only, loopback).

Everything streams through unchanged (SSE included); the proxy only records what the MCP server's API
client sends on the wire (every request line and every header except Authorization), so the secrets
suite can scan them. Faults are the backend's own knobs (`nemo_mcp.local.knobs`), not injected here.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import uvicorn
from starlette.types import Receive, Scope, Send


class RecordingProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.seen: list[str] = []  # every request: "METHOD URL" (for leak scans)
        self.seen_headers: list[tuple[str, str]] = []  # every request header except Authorization
        self._http: httpx.AsyncClient | None = None

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
            # the Host header is kept (a reverse proxy does), so the backend's links name the proxy
            if k.lower() not in (b"content-length", b"accept-encoding")
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
            out_headers = [
                (k.encode(), v.encode())
                for k, v in resp.headers.items()
                if k.lower() not in ("content-length", "transfer-encoding", "content-encoding")
            ]
            await send({"type": "http.response.start", "status": resp.status_code, "headers": out_headers})
            async for chunk in resp.aiter_bytes():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await resp.aclose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def run_recording_proxy(upstream: str) -> AsyncIterator[tuple[RecordingProxy, str]]:
    proxy = RecordingProxy(upstream)
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
