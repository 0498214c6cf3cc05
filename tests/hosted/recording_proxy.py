"""A loopback reverse proxy that records every header and body sent through it (streamed both ways): put
between nemo-mcp and the embedded backend to show what reaches NemoVideo, or in front of several nemo-mcp
servers as a round-robin load balancer (each request to the next one, no stickiness)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import httpx
import uvicorn
from starlette.types import Receive, Scope, Send

from tests.server.conftest import free_port


@dataclass
class Recorded:
    url: str
    requests: int = 0
    parts: list[str] = field(default_factory=list)

    @property
    def seen(self) -> str:
        return "\n".join(self.parts)


@asynccontextmanager
async def run_recording_proxy(upstream: str | list[str]) -> AsyncIterator[Recorded]:
    port = free_port()
    rec = Recorded(f"http://127.0.0.1:{port}")
    upstreams = [upstream] if isinstance(upstream, str) else upstream
    async with httpx.AsyncClient(timeout=60) as http:

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                return
            body = b""
            while True:
                msg = await receive()
                body += msg.get("body", b"")
                if not msg.get("more_body"):
                    break
            headers = [
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"] if k != b"host"
            ]
            rec.parts += [f"{k}: {v}" for k, v in headers] + [body.decode("utf-8", "replace")]
            path = scope["path"] + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
            target = upstreams[rec.requests % len(upstreams)].rstrip("/")
            req = http.build_request(scope["method"], target + path, headers=headers, content=body)
            rec.requests += 1
            resp = await http.send(req, stream=True)
            try:
                out = [
                    (k.encode(), v.encode()) for k, v in resp.headers.items() if k.lower() != "content-length"
                ]
                await send({"type": "http.response.start", "status": resp.status_code, "headers": out})
                async for chunk in resp.aiter_raw():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            finally:
                await resp.aclose()

        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.serve)
            with anyio.fail_after(10):
                while not server.started:
                    await anyio.sleep(0.02)
            try:
                yield rec
            finally:
                server.should_exit = True
