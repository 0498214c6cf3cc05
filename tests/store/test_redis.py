"""What the shared store does beyond the contract, against a real `valkey-server` (tests/valkey.py): the
mint lock is a lease that a killed holder loses and a live one keeps; concurrent writers on separate
connections lose no project; keys of one tenant never reach another's; the URL's password stays out of
`location`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import anyio
import pytest

from nemo_mcp.store import ProjectRecord
from nemo_mcp.store.redis import open_redis_store, safe_url
from nemo_mcp.store.redis_lock import lease_lock

pytestmark = pytest.mark.anyio

HOLDER = textwrap.dedent(
    """
    import sys, anyio
    from redis.asyncio import Redis
    from nemo_mcp.store.redis_lock import lease_lock

    async def main():
        client = Redis.from_url(sys.argv[1])
        async with lease_lock(client, sys.argv[2], 5, lease=1.0) as held:
            print("held" if held else "not held", flush=True)
            await anyio.sleep(60)

    anyio.run(main)
    """
)


async def test_a_killed_holder_loses_the_mint_lock_within_its_lease(shared_store_url: str) -> None:
    store = open_redis_store(shared_store_url)
    key = f"{store.prefix}:lock"
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, shared_store_url.split("?")[0], key],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "held"
        async with lease_lock(store.redis, key, 0.3) as held:
            assert not held  # the live holder keeps it (renewed past its 1 s lease)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        t0 = time.monotonic()
        async with lease_lock(store.redis, key, 5) as held:
            assert held
        assert time.monotonic() - t0 < 2.0  # released by expiry, not by the dead holder
    finally:
        child.kill()
        child.wait(10)
        await store.aclose()


async def test_a_holder_renews_its_lease_while_it_works(shared_store_url: str) -> None:
    store = open_redis_store(shared_store_url)
    async with lease_lock(store.redis, "renew", 1, lease=0.3) as held:
        assert held
        await anyio.sleep(0.8)  # more than two leases
        async with lease_lock(store.redis, "renew", 0.2, lease=0.3) as second:
            assert not second
    async with lease_lock(store.redis, "renew", 0.2, lease=0.3) as again:
        assert again  # released on leaving
    await store.aclose()


async def test_concurrent_writers_lose_no_project(shared_store_url: str) -> None:
    a, b = open_redis_store(shared_store_url), open_redis_store(shared_store_url)

    async def writer(store: object, name: str) -> None:
        for i in range(15):
            rec = ProjectRecord(f"{name}{i}", "t", "srv", updated_at=time.time())
            await store.projects.add(rec, make_current=True, keep=100)  # type: ignore[attr-defined]

    async with anyio.create_task_group() as tg:
        for n in range(3):
            tg.start_soon(writer, a, f"a{n}-")
            tg.start_soon(writer, b, f"b{n}-")
    assert len(await a.projects.recent("srv")) == 90
    await a.aclose()
    await b.aclose()


async def test_tenant_names_cannot_reach_other_keys(shared_store_url: str) -> None:
    store = open_redis_store(shared_store_url)
    await store.for_tenant("x:token:y").projects.add(ProjectRecord("1", "t", "s"), make_current=True, keep=5)
    assert await store.for_tenant("x").projects.recent("s") == []
    keys = [k async for k in store.redis.scan_iter(f"{store.prefix}:*")]
    assert keys
    assert all(k.split(":")[1] == "x%3Atoken%3Ay" for k in keys if ":projects:" in k)
    await store.aclose()


def test_the_password_stays_out_of_the_location() -> None:
    assert safe_url("redis://user:s3cret@cache.example:6380/1") == "redis://user:***@cache.example:6380/1"
    store = open_redis_store("redis://:s3cret@127.0.0.1:1/0?prefix=p")
    assert "s3cret" not in store.location
    assert "s3cret" not in repr(store)
    assert store.prefix == "p"
