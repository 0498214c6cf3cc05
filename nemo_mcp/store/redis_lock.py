"""The token mint lock of the shared store: a Redis lease, held by one process of any worker or machine.

``SET key <random token> NX PX <lease>`` takes it; a Lua script deletes it only if it still holds our
token (redis-py's ``Lock``, which does exactly this, with ``reacquire`` for the renewal). Why a lease with
a TTL, renewed while held, and not a plain key: a worker killed while minting (``kill -9``, a machine
gone) never runs its release, so the key must expire on its own, and soon (``LEASE_SECONDS``), like the
kernel drops a file lock (:mod:`nemo_mcp.store.filelock`); a holder whose request outlives one lease keeps
it by renewing every third of it. The token check keeps a holder whose lease did expire (a stalled
process) from releasing the lock another process holds now.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from redis.exceptions import LockError, RedisError

__all__ = ["LEASE_SECONDS", "lease_lock"]

log = logging.getLogger("nemo_mcp.store")

#: a dead holder blocks the others at most this long
LEASE_SECONDS = 10.0
_POLL = 0.05


@asynccontextmanager
async def lease_lock(
    client: Any, key: str, within: float, lease: float = LEASE_SECONDS
) -> AsyncIterator[bool]:
    """``async with lease_lock(redis, key, timeout) as held``: True once held, False after ``within``
    seconds without it (the body then runs unlocked, as every mint lock allows)."""
    lock = client.lock(key, timeout=lease, sleep=_POLL, blocking=True, blocking_timeout=max(0.0, within))
    held = bool(await lock.acquire())
    try:
        if not held:
            yield False
            return
        async with anyio.create_task_group() as tg:
            tg.start_soon(_renew, lock, lease)
            try:
                yield True
            finally:
                tg.cancel_scope.cancel()
    finally:
        if held:
            with anyio.CancelScope(shield=True), contextlib.suppress(LockError, RedisError):
                await lock.release()  # only if still ours (Lua compares the token)


async def _renew(lock: Any, lease: float) -> None:
    while True:
        await anyio.sleep(lease / 3)
        try:
            await lock.reacquire()
        except (LockError, RedisError) as exc:  # lost it (expired while the loop stalled): say so, go on
            log.warning("the token mint lock could not be renewed: %s", exc)
            return
