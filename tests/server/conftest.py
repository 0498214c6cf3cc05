"""Fixtures for the MCP layer: a server wired to the real local backend over loopback HTTP, and an
in-memory `mcp.Client` connected to it."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
import uvicorn
from mcp import Client
from mcp.types import CallToolResult

from nemo_mcp.local import LocalBackend
from nemo_mcp.server.app import build_server
from nemo_mcp.server.cli import build_http_app
from nemo_mcp.server.http_security import HttpOptions, uvicorn_options
from nemo_mcp.server.settings import ServerSettings
from tests.media import make_video

FAST_API = {
    "render_poll_initial": 0.2,
    "render_poll_factor": 1.2,
    "render_poll_max": 0.5,
    "retry_base_delay": 0.01,
    "retry_max_delay": 0.05,
    "rate_limit_retry_delay": 0.05,
    "retry_after_cap": 1.0,
}


def make_settings(tmp_path: Path, api_url: str, **kw: Any) -> ServerSettings:
    values: dict[str, Any] = {
        "backend": "cloud",
        "api_url": api_url,
        "config_dir": tmp_path / "config",
        "download_root": tmp_path / "downloads",
        "media_dirs": [],
        "api_overrides": dict(FAST_API),
        "recovery_intervals": (0.3, 0.3, 0.5),
        "heartbeat_seconds": 0.5,
        "env": {},
    }
    values.update(kw)
    return ServerSettings(**values)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def serve_http(settings: ServerSettings, **options: Any) -> AsyncIterator[str]:
    """The Streamable HTTP app (as `nemo-mcp --transport http` builds it) on a real uvicorn loopback port;
    yields the base URL."""
    opts = HttpOptions(host="127.0.0.1", port=free_port(), **options)
    opts.validate()
    app = build_http_app(build_server(settings), opts)
    config = uvicorn.Config(
        app, host=opts.host, port=opts.port, log_level="warning", lifespan="on", **uvicorn_options(opts)
    )
    uv = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(uv.serve)
        with anyio.fail_after(10):
            while not uv.started:
                await anyio.sleep(0.02)
        try:
            yield f"http://127.0.0.1:{opts.port}"
        finally:
            uv.should_exit = True


@dataclass
class Call:
    """One tool call's outcome, with the progress notifications it produced."""

    result: CallToolResult
    progress: list[tuple[float, float | None, str | None]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(b.text for b in self.result.content if getattr(b, "type", "") == "text")

    @property
    def data(self) -> dict[str, Any]:
        sc = self.result.structured_content
        assert isinstance(sc, dict), self.text
        return sc

    @property
    def error(self) -> bool:
        return bool(self.result.is_error)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?。！？])\s+|\n", text) if len(s.strip()) > 12]


def assert_said_once(c: Call) -> None:
    """One text block for the model (no JSON copy of the structured data), and no sentence in it twice."""
    texts = [b for b in c.result.content if getattr(b, "type", "") == "text"]
    assert len(texts) == 1, [b.text for b in texts]  # type: ignore[attr-defined]
    said = sentences(c.text)
    repeated = {s for s in said if said.count(s) > 1}
    assert not repeated, repeated
    assert c.result.structured_content is not None


class Session:
    def __init__(self, client: Client) -> None:
        self.client = client

    async def call(self, name: str, args: dict[str, Any] | None = None) -> Call:
        progress: list[tuple[float, float | None, str | None]] = []

        async def cb(value: float, total: float | None, message: str | None) -> None:
            progress.append((value, total, message))

        res = await self.client.call_tool(name, args or {}, progress_callback=cb)
        return Call(res, progress)

    async def ok(self, name: str, args: dict[str, Any] | None = None) -> Call:
        c = await self.call(name, args)
        assert not c.error, c.text
        assert_said_once(c)
        return c

    async def fail(self, name: str, args: dict[str, Any] | None, tag: str) -> str:
        c = await self.call(name, args)
        assert c.error, f"expected [{tag}], got success: {c.text}"
        assert c.text.startswith(f"[{tag}] "), c.text  # the tag leads, no SDK prefix
        # never raw JSON, tracebacks or tokens
        assert "Traceback" not in c.text
        assert "nmv_usr_" not in c.text
        assert '{"code"' not in c.text
        return c.text


@pytest.fixture
def settings(tmp_path: Path, local_backend: LocalBackend) -> ServerSettings:
    return make_settings(tmp_path, local_backend.url)


@pytest.fixture
async def nemo(settings: ServerSettings) -> AsyncIterator[Session]:
    async with Client(build_server(settings)) as client:
        yield Session(client)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return make_video(tmp_path / "media" / "clip.mp4", seconds=3)


@pytest.fixture(autouse=True)
def _media_dir(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir(exist_ok=True)
