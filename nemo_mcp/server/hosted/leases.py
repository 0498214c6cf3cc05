"""Which server workers are alive, and the requests to stop a job that another worker runs.

With a shared store each worker holds a lease, ``<prefix>:worker:<owner>`` with a TTL of ``LEASE_SECONDS``,
renewed every third of it; a worker that dies (``kill -9``, a machine gone) stops renewing, and once its
lease has run out every other worker knows that the jobs it owned will not end by themselves
(:mod:`nemo_mcp.server.hosted.remote_jobs` then marks them failed, or resumes a render by its id). A clean
stop deletes the lease at once. ``owner`` is the name job records carry (``JobRecord.owner``).

Without a shared store there is one process: it is alive, every other owner is an earlier process
(``knows_liveness`` is False: restarts are handled as before, by :mod:`nemo_mcp.server.workflows.restored`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
from typing import Any

import anyio
from redis.exceptions import RedisError

__all__ = ["LEASE_SECONDS", "Leases", "SharedLeases", "make_owner"]

log = logging.getLogger(__name__)

LEASE_SECONDS = 15.0
CANCEL_TTL_SECONDS = 600


def make_owner() -> str:
    """This worker's name in job records: host, pid and a random part (a reused pid is another worker)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Leases:
    """One process: alive is itself."""

    knows_liveness = False

    def __init__(self, owner: str | None = None) -> None:
        self.owner = owner or make_owner()

    async def run(self) -> None:
        """Keep the lease while the server runs (nothing to keep here)."""
        await anyio.sleep_forever()

    async def alive(self, owner: str) -> bool:
        return owner == self.owner

    async def release(self) -> None:
        return None

    async def ask_cancel(self, job_id: str) -> None:
        return None

    async def cancel_asked(self, job_id: str) -> bool:
        return False


class SharedLeases(Leases):
    """Leases and cancel requests in the shared Valkey/Redis store (``client`` is the store's)."""

    knows_liveness = True

    def __init__(self, client: Any, prefix: str, owner: str | None = None, lease: float = LEASE_SECONDS):
        super().__init__(owner)
        self._r = client
        self._prefix = prefix
        self.lease = lease

    def _key(self, owner: str) -> str:
        return f"{self._prefix}:worker:{owner}"

    async def renew(self) -> None:
        await self._r.set(self._key(self.owner), "1", px=int(self.lease * 1000))

    async def run(self) -> None:
        while True:
            try:
                await self.renew()
            except RedisError as exc:  # the store is down: the jobs cannot be shared anyway; keep trying
                log.warning("could not renew this worker's lease in the shared store: %s", exc)
            await anyio.sleep(self.lease / 3)

    async def alive(self, owner: str) -> bool:
        if owner == self.owner:
            return True
        try:
            return bool(await self._r.exists(self._key(owner)))
        except RedisError:
            return True  # unknown: never declare a worker dead because the store did not answer

    async def release(self) -> None:
        with anyio.CancelScope(shield=True), contextlib.suppress(RedisError):
            await self._r.delete(self._key(self.owner))

    async def ask_cancel(self, job_id: str) -> None:
        await self._r.set(f"{self._prefix}:cancel:{job_id}", "1", ex=CANCEL_TTL_SECONDS)

    async def cancel_asked(self, job_id: str) -> bool:
        try:
            return bool(await self._r.exists(f"{self._prefix}:cancel:{job_id}"))
        except RedisError:
            return False
