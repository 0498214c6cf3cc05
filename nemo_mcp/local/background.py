"""Work that outlives its request (a turn continues after a dropped stream; a render after its submit),
tracked in the state so that a backend shutting down can cancel it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from nemo_mcp.local.state import BackendState


def spawn(state: BackendState, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    task = asyncio.create_task(coro)
    state.tasks.add(task)
    task.add_done_callback(state.tasks.discard)
    return task


async def cancel_all(state: BackendState, wait: float = 5.0) -> None:
    """Cancel every background task and give each up to `wait` seconds to finish."""
    for task in list(state.tasks):
        task.cancel()
    for task in list(state.tasks):
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(task, wait)
