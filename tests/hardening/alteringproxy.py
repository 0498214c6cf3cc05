"""A reverse proxy in front of the local backend that alters what the backend's knobs cannot (test-only,
loopback): the render's output URL, a file answer without Content-Length and longer than the file, a file
answer that stops half-way and hangs.

It keeps the client's `Host` header, as a reverse proxy does, so the backend's own links name the proxy's
origin (the one the MCP server talks to).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import uvicorn
from starlette.types import Receive, Scope, Send

from tests.server.conftest import free_port

CHUNK = 64 * 1024


@dataclass
class Alterations:
    output_url: str | None = None  # render status answers name this URL instead of the backend's
    extra_bytes: int = 0  # file answers lose their Content-Length and go on this many bytes past the file
    stall: bool = False  # file answers send half of the file, then hang until released


def _is_file(path: str) -> bool:
    return path.startswith("/cdn/") or (path.startswith("/api/render/proxy/") and path.endswith("/download"))


def _is_render_status(method: str, path: str) -> bool:
    return method == "GET" and path.startswith("/api/render/proxy/lambda/") and path.count("/") == 5


def _rewrite_urls(value: Any, url: str) -> Any:
    if isinstance(value, dict):
        out = {k: _rewrite_urls(v, url) for k, v in value.items()}
        if isinstance(out.get("outputUrl"), str):
            out["outputUrl"] = url
        if isinstance(out.get("output"), dict) and isinstance(out["output"].get("url"), str):
            out["output"]["url"] = url
        return out
    if isinstance(value, list):
        return [_rewrite_urls(v, url) for v in value]
    return value


class AlteringProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.alter = Alterations()
        self.release = anyio.Event()  # ends a stalled file answer
        self.stalled = anyio.Event()  # set once a stalled file answer has sent its first half
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
        path, method = scope["path"], scope["method"]
        query = scope.get("query_string", b"").decode()
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.lower() not in (b"content-length", b"accept-encoding")
        ]
        req = self._http.build_request(
            method,
            self.upstream + path + (f"?{query}" if query else ""),
            headers=headers,
            content=bytes(body),
        )
        resp = await self._http.send(req, stream=True)
        try:
            out = [
                (k.encode("latin-1"), v.encode("latin-1"))
                for k, v in resp.headers.items()
                if k.lower() not in ("content-length", "transfer-encoding", "content-encoding")
            ]
            if _is_render_status(method, path) and self.alter.output_url is not None:
                data = _rewrite_urls(json.loads(await resp.aread()), self.alter.output_url)
                await send({"type": "http.response.start", "status": resp.status_code, "headers": out})
                await send({"type": "http.response.body", "body": json.dumps(data).encode()})
                return
            altered = self.alter.extra_bytes or self.alter.stall
            if altered and _is_file(path) and method == "GET" and resp.status_code == 200:
                await self._file(resp, out, send)
                return
            length = resp.headers.get("content-length")
            if length is not None:
                out.append((b"content-length", length.encode()))
            await send({"type": "http.response.start", "status": resp.status_code, "headers": out})
            # an upstream answer cut short raises here, mid-body: uvicorn then breaks this connection too
            async for chunk in resp.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await resp.aclose()

    async def _file(self, resp: httpx.Response, out: list[tuple[bytes, bytes]], send: Send) -> None:
        data = await resp.aread()
        if not self.alter.extra_bytes:  # keep the exact length unless told to drop it
            out.append((b"content-length", str(len(data)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": out})
        if self.alter.stall:
            await send({"type": "http.response.body", "body": data[: len(data) // 2], "more_body": True})
            self.stalled.set()
            with anyio.move_on_after(60):
                await self.release.wait()
            return
        for i in range(0, len(data), CHUNK):
            await send({"type": "http.response.body", "body": data[i : i + CHUNK], "more_body": True})
        extra = self.alter.extra_bytes
        while extra > 0:
            n = min(CHUNK, extra)
            await send({"type": "http.response.body", "body": b"\0" * n, "more_body": True})
            extra -= n
        await send({"type": "http.response.body", "body": b""})


@asynccontextmanager
async def run_altering_proxy(upstream: str) -> AsyncIterator[tuple[AlteringProxy, str]]:
    proxy = AlteringProxy(upstream)
    port = free_port()
    config: Any = uvicorn.Config(proxy, host="127.0.0.1", port=port, log_level="critical", lifespan="off")
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
                proxy.release.set()
                server.should_exit = True
