"""Start and stop a local backend in the current event loop (uvicorn on an ephemeral loopback port)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator, Generator
from pathlib import Path

import uvicorn

from nemo_mcp.local.backend import LocalBackend
from nemo_mcp.local.knobs import Knobs
from nemo_mcp.local.sse import StreamDropped


def _not_an_injected_drop(record: logging.LogRecord) -> bool:
    """uvicorn logs the exception that breaks a connection; an injected drop is not an error."""
    exc = record.exc_info[1] if record.exc_info else None
    while exc is not None:
        if isinstance(exc, StreamDropped):
            return False
        exc = exc.__cause__ or exc.__context__ or _first_of_group(exc)
    return True


def _first_of_group(exc: BaseException) -> BaseException | None:
    group = exc if isinstance(exc, BaseExceptionGroup) else None
    return group.exceptions[0] if group and group.exceptions else None


logging.getLogger("uvicorn.error").addFilter(_not_an_injected_drop)


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

    A temporary data directory is created (and removed on exit) unless `data_dir` is given. Leaving the
    block, normally, by an exception or by cancellation (how an embedding program's Ctrl-C reaches it),
    cancels running turns and renders, stops the server and removes that temporary directory.
    """
    owned = data_dir is None
    folder = Path(tempfile.mkdtemp(prefix="nemo-local-")) if data_dir is None else Path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    backend = LocalBackend(knobs, folder)
    config = uvicorn.Config(
        backend.app,
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
        try:
            await backend.close()  # turns and renders first: their streams end, their FFmpeg dies
            server.should_exit = True
            try:
                await asyncio.wait_for(asyncio.shield(serving), 5)
            except (TimeoutError, Exception):
                server.force_exit = True
                serving.cancel()
                with contextlib.suppress(BaseException):
                    await serving
        finally:  # even when the stop itself is interrupted (a second cancellation)
            if not serving.done():
                server.force_exit = True
                serving.cancel()
            if owned:
                backend.remove_data()
