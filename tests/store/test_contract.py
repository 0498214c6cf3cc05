"""The state-store contract (nemo_mcp/store/base.py), run against every implementation: what any store,
SQLite, memory, or the shared Valkey/Redis store (a real `valkey-server`, tests/valkey.py), must do. A new
implementation adds itself to `STORES`."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import anyio
import pytest

from nemo_mcp.store import JobRecord, ProjectRecord, StateStore, StoredToken, open_store
from nemo_mcp.store.memory import MemoryStore
from nemo_mcp.store.redis import open_redis_store

pytestmark = pytest.mark.anyio

URL = "https://api.example"
STORES: dict[str, Callable[[Path, pytest.FixtureRequest], StateStore]] = {
    "sqlite": lambda path, _req: open_store(path),
    "memory": lambda _path, _req: MemoryStore(),
    "redis": lambda _path, req: open_redis_store(req.getfixturevalue("shared_store_url")),
}


@pytest.fixture(params=sorted(STORES))
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StateStore]:
    opened = STORES[request.param](tmp_path / "cfg", request)
    yield opened
    await opened.aclose()


def tok(value: str, **kw: object) -> StoredToken:
    return StoredToken(value, expires_at=time.time() + 3600, **kw)  # type: ignore[arg-type]


async def test_tokens_compare_and_swap(store: StateStore) -> None:
    t = store.tokens
    assert await t.read(URL) is None
    assert not await t.save(URL, tok("T1"), replacing="T0")  # nothing stored, so not "T0"
    assert await t.save(URL, tok("T1", user_id="anon_1"), replacing=None)
    assert not await t.save(URL, tok("T9"), replacing=None)  # another process saved first: refused
    got = await t.read(URL)
    assert got is not None
    assert (got.token, got.user_id) == ("T1", "anon_1")
    assert got.valid()
    assert await t.save(URL, tok("T2"), replacing="T1")
    assert not await t.save(URL, tok("T3"), replacing="T1")  # T1 is gone: the swap is refused
    assert (await t.read(URL)).token == "T2"  # type: ignore[union-attr]
    assert await t.read("https://other.example") is None  # keyed by API URL


async def test_a_token_is_only_forgotten_by_who_saw_it_rejected(store: StateStore) -> None:
    t = store.tokens
    assert await t.save(URL, tok("T2"), replacing=None)
    assert not await t.forget(URL, "T1")  # a process holding the old token must not drop the new one
    assert (await t.read(URL)).token == "T2"  # type: ignore[union-attr]
    assert await t.forget(URL, "T2")
    assert await t.read(URL) is None
    assert not await t.forget(URL, "T2")


async def test_records_read_back_are_copies(store: StateStore) -> None:
    assert await store.tokens.save(URL, tok("T1"), replacing=None)
    got = await store.tokens.read(URL)
    assert got is not None
    got.token = "changed"
    assert (await store.tokens.read(URL)).token == "T1"  # type: ignore[union-attr]


async def test_the_mint_lock_is_held_by_one_at_a_time(store: StateStore) -> None:
    order: list[str] = []

    async def minter(name: str) -> None:
        async with store.tokens.mint_lock(URL, timeout=5) as held:
            assert held
            order.append(f"{name} in")
            await anyio.sleep(0.05)
            order.append(f"{name} out")

    async with anyio.create_task_group() as tg:
        for name in "abc":
            tg.start_soon(minter, name)
    # never two inside at once
    assert [e.split()[1] for e in order] == ["in", "out"] * 3
    async with store.tokens.mint_lock(URL, timeout=5) as held:
        assert held
        async with store.tokens.mint_lock(URL, timeout=0.1) as second:
            assert not second  # timed out: the caller goes on without it


async def test_projects_current_and_listing(store: StateStore) -> None:
    p = store.projects
    await p.add(ProjectRecord("1", "t1", "A", title="first", updated_at=1.0), make_current=True, keep=10)
    await p.add(ProjectRecord("2", "t2", "A", title="second", updated_at=2.0), make_current=False, keep=10)
    await p.add(ProjectRecord("9", "t9", "B"), make_current=True, keep=10)
    assert await p.current("A") == "1"
    assert await p.current("B") == "9"
    assert [r.session_id for r in await p.recent("A")] == ["2", "1"]
    assert await p.touch("A", "1", summary="2 tracks")
    assert not await p.touch("A", "nope")
    assert [r.session_id for r in await p.recent("A")] == ["1", "2"]  # activity moves it up
    rec = await p.get("A", "1")
    assert rec is not None
    assert (rec.summary, rec.title) == ("2 tracks", "first")
    await p.set_current("A", "2")
    await p.mark_lost("A", "2")
    assert await p.current("A") is None  # the lost project is no longer current
    assert (await p.get("A", "2")).lost  # type: ignore[union-attr]
    await p.mark_lost("A", "1")  # not current: the pointer is untouched
    assert await p.current("B") == "9"


async def test_projects_keep_only_the_most_recent(store: StateStore) -> None:
    for i in range(6):
        await store.projects.add(
            ProjectRecord(str(i), "t", "A", updated_at=float(i)), make_current=True, keep=4
        )
    assert [r.session_id for r in await store.projects.recent("A")] == ["5", "4", "3", "2"]


async def test_job_records_round_trip_and_prune(store: StateStore) -> None:
    j = store.jobs
    rec = JobRecord(
        id="job_a",
        kind="edit",
        server="A",
        session_id="1",
        description="edit: add a title",
        instruction="add a title",
        snapshot={"draft": {"t": [{"sg": [{"n": "片段一.mp4"}]}]}, "video_infos": []},
        details={"plan": ["agent"]},
        updated_at=time.time() - 100,
    )
    await j.put(rec)
    got = await j.get("job_a")
    assert got == rec
    rec.status = "succeeded"
    rec.result = {"session_id": "1", "changes": ["Added title Hello"]}
    rec.updated_at = time.time()
    await j.put(rec)
    assert (await j.get("job_a")).status == "succeeded"  # type: ignore[union-attr]
    await j.put(
        JobRecord(id="job_old", kind="export", server="A", session_id="1", description="x", updated_at=5.0)
    )
    assert await j.prune(time.time() - 50) == 1
    assert await j.get("job_old") is None
    assert await j.get("job_a") is not None


async def test_tenants_do_not_see_each_other(store: StateStore) -> None:
    other = store.for_tenant("user-b")
    assert store.tenant == "local"
    assert other.tenant == "user-b"
    assert await store.tokens.save(URL, tok("mine"), replacing=None)
    assert await other.tokens.read(URL) is None
    await other.projects.add(ProjectRecord("b1", "t", "A"), make_current=True, keep=10)
    assert await store.projects.recent("A") == []
    assert await store.projects.current("A") is None
    await other.jobs.put(JobRecord(id="job_b", kind="upload", server="A", session_id=None, description="u"))
    assert await store.jobs.get("job_b") is None
    assert await other.jobs.get("job_b") is not None


def test_records_survive_json_and_ignore_unknown_keys() -> None:
    rec = JobRecord(id="j", kind="export", server="s", session_id=None, description="d", render_id="r")
    assert JobRecord.from_dict({**rec.to_dict(), "added_later": 1}) == rec
    assert ProjectRecord.from_dict({"session_id": "1", "task_id": "t", "server": "s"}).title == "project"
    assert StoredToken.from_dict({"token": "x"}).token == "x"
    with pytest.raises(TypeError):
        JobRecord.from_dict(["not", "a", "dict"])
