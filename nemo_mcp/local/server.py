"""Start and stop a local backend in the current event loop (uvicorn on an ephemeral loopback port)."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator, Generator
from pathlib import Path

import uvicorn

from nemo_mcp.local.backend import LocalBackend
from nemo_mcp.local.knobs import Knobs


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: the embedding program owns Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@contextlib.asynccontextmanager
async def run_local_backend(
    knobs: Knobs | None = None,
    data_dir: Path | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> AsyncIterator[LocalBackend]:
    """Serve a backend while the block runs; `backend.url` is its base URL.

    A temporary data directory is created (and removed on exit) unless `data_dir` is given.
    """
    owned = data_dir is None
    folder = Path(tempfile.mkdtemp(prefix="nemo-local-")) if data_dir is None else Path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    backend = LocalBackend(knobs, folder)
    config = uvicorn.Config(
        backend.asgi,
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        access_log=False,
        h11_max_incomplete_event_size=256
        * 1024,  # larger than our own 32 KB header check, which answers in JSON
        timeout_graceful_shutdown=2,
    )
    server = _Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(1000):  # bounded: about 10 s
            if server.started or serving.done():
                break
            await asyncio.sleep(0.01)
        if not server.started:
            if serving.done() and serving.exception():
                raise RuntimeError(f"local backend failed to start: {serving.exception()}")
            raise RuntimeError("local backend failed to start")
        bound = server.servers[0].sockets[0].getsockname()
        shown = f"[{host}]" if ":" in host else host
        backend.url = f"http://{'127.0.0.1' if host == '0.0.0.0' else shown}:{bound[1]}"  # noqa: S104
        yield backend
    finally:
        await backend.close()
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(serving), 5)
        except (TimeoutError, Exception):
            server.force_exit = True
            serving.cancel()
            with contextlib.suppress(BaseException):
                await serving
        if owned:
            backend.remove_data()
