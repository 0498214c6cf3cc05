"""The SQLite store on disk: permissions, the import of older files, damaged files moved aside, and what
several processes see (the mint lock released by a kill -9, concurrent writers losing nothing, and a
writer killed at random points leaving a store that opens and is consistent)."""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from nemo_mcp.store import ProjectRecord, StoredToken, open_store
from nemo_mcp.store.sqlite import SQLiteStore

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
URL = "https://api.example"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.store.writer", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_line(proc: subprocess.Popen[str], expected: str) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()  # the child prints one line once it is where the test needs it
    assert line == expected, (line, proc.stderr.read() if proc.stderr else "")


# -- files ---------------------------------------------------------------------------------------------


async def test_folder_is_0700_and_files_0600_whatever_is_written_first(tmp_path: Path) -> None:
    cfg = tmp_path / "home" / ".config" / "nemovideo"
    store = open_store(cfg)
    await store.projects.add(ProjectRecord("1", "t", URL), make_current=True, keep=10)  # a project first
    assert mode(cfg) == 0o700
    files = sorted(p.name for p in cfg.iterdir())
    assert "state.db" in files
    assert {p.name for p in cfg.iterdir() if mode(p) != 0o600} == set(), [
        (p.name, oct(mode(p))) for p in cfg.iterdir()
    ]
    assert any(name.endswith("-wal") for name in files)  # WAL: the -wal/-shm files get the db's mode
    await store.aclose()


async def test_an_existing_wide_folder_is_narrowed(tmp_path: Path) -> None:
    cfg = tmp_path / "nemovideo"
    cfg.mkdir(mode=0o755)
    cfg.chmod(0o755)  # what an older version left when projects.json was written first
    await open_store(cfg).aclose()
    assert mode(cfg) == 0o700


# -- the files of older versions ------------------------------------------------------------------------


def legacy(cfg: Path) -> None:
    cfg.mkdir(parents=True)
    tokens = {
        "version": 1,
        "tokens": {URL: {"token": "nmv_usr_OLD", "expires_at": time.time() + 3600, "user_id": "anon_7"}},
    }
    (cfg / "token.json").write_text(json.dumps(tokens))
    (cfg / "token.json").chmod(0o600)
    projects = {
        "current": {URL: "s2"},
        "projects": [
            {"session_id": "s1", "task_id": "t1", "server": URL, "title": "片段一", "updated_at": 1.0},
            {"session_id": "s2", "task_id": "t2", "server": URL, "title": "second", "updated_at": 2.0},
            {"no": "session"},
        ],
    }
    (cfg / "projects.json").write_text(json.dumps(projects, ensure_ascii=False))


async def test_older_files_are_imported_once_and_kept_renamed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = tmp_path / "nemovideo"
    legacy(cfg)
    caplog.set_level(logging.INFO, logger="nemo_mcp.store")
    store = open_store(cfg)
    got = await store.tokens.read(URL)
    assert got is not None
    assert (got.token, got.user_id) == ("nmv_usr_OLD", "anon_7")
    assert await store.projects.current(URL) == "s2"
    assert [(r.session_id, r.title) for r in await store.projects.recent(URL)] == [
        ("s2", "second"),
        ("s1", "片段一"),
    ]
    await store.aclose()
    assert not (cfg / "token.json").exists()
    assert not (cfg / "projects.json").exists()
    assert mode(cfg / "token.json.migrated") == 0o600  # kept, owner-only (it holds a token)
    assert (cfg / "projects.json.migrated").exists()
    said = caplog.text
    assert "migrated 1 token(s)" in said
    assert "migrated 2 project(s)" in said
    assert "token.json.migrated" in said
    assert "nmv_usr_OLD" not in said
    # a file put back later is not imported again over newer state (the import is remembered)
    (cfg / "token.json").write_text(json.dumps({"tokens": {URL: {"token": "nmv_usr_STALE"}}}))
    store = open_store(cfg)
    assert (await store.tokens.read(URL)).token == "nmv_usr_OLD"  # type: ignore[union-attr]
    await store.aclose()
    assert not (cfg / "token.json").exists()


async def test_a_token_already_in_the_store_wins_over_an_old_file(tmp_path: Path) -> None:
    cfg = tmp_path / "nemovideo"
    store = open_store(cfg)
    assert await store.tokens.save(URL, StoredToken("nmv_usr_NEW"), replacing=None)
    await store.aclose()
    (cfg / "token.json").write_text(json.dumps({"tokens": {URL: {"token": "nmv_usr_OLD"}}}))
    store = open_store(cfg)
    assert (await store.tokens.read(URL)).token == "nmv_usr_NEW"  # type: ignore[union-attr]
    await store.aclose()


@pytest.mark.parametrize("content", ["{not json", '{"tokens": 5}', "[1, 2]", "\udcff"])
async def test_an_unreadable_old_file_is_moved_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str
) -> None:
    cfg = tmp_path / "nemovideo"
    cfg.mkdir()
    (cfg / "token.json").write_bytes(content.encode("utf-8", "surrogateescape"))
    (cfg / "projects.json").write_text(
        content if content != '{"tokens": 5}' else "[]", errors="surrogateescape"
    )
    store = open_store(cfg)
    assert await store.tokens.read(URL) is None  # started without it, at once (no wait, no error)
    assert await store.projects.recent(URL) == []
    await store.aclose()
    aside = sorted(p.name for p in cfg.iterdir() if ".corrupt-" in p.name)
    assert [n.split(".corrupt-")[0] for n in aside] == ["projects.json", "token.json"]
    assert (cfg / aside[1]).read_bytes() == content.encode("utf-8", "surrogateescape")  # kept as it was
    for name in aside:
        assert name in caplog.text  # the log names where it went


# -- a damaged store -----------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["garbage", "torn page"])
async def test_a_damaged_store_is_moved_aside_and_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    cfg = tmp_path / "nemovideo"
    store = open_store(cfg)
    for i in range(50):
        await store.projects.add(ProjectRecord(str(i), "t" * 500, URL), make_current=True, keep=500)
    await store.aclose()
    db = cfg / "state.db"
    if damage == "garbage":
        db.write_bytes(os.urandom(8192))
    else:  # a sound header, a page of the table overwritten
        data = bytearray(db.read_bytes())
        data[4096 * 2 : 4096 * 2 + 2000] = os.urandom(2000)
        db.write_bytes(bytes(data))
    before = db.read_bytes()
    store = open_store(cfg)
    await store.projects.add(ProjectRecord("new", "t", URL), make_current=True, keep=10)
    assert [r.session_id for r in await store.projects.recent(URL)] == ["new"]
    await store.aclose()
    aside = [
        p
        for p in cfg.iterdir()
        if p.name.startswith("state.db.corrupt-") and not p.name.endswith(("-wal", "-shm"))
    ]
    assert len(aside) == 1
    assert aside[0].read_bytes() == before  # kept as it was
    assert aside[0].name in caplog.text
    assert mode(db) == 0o600


def test_an_unusable_folder_raises_for_the_caller_to_fall_back(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(OSError):
        open_store(tmp_path / "file" / "nemovideo")


# -- several processes ---------------------------------------------------------------------------------


async def test_the_mint_lock_spans_processes_and_a_kill_releases_it(tmp_path: Path) -> None:
    cfg = tmp_path / "nemovideo"
    await open_store(cfg).aclose()
    holder = child("hold", str(cfg))
    try:
        wait_line(holder, "locked")
        store = open_store(cfg)
        async with store.tokens.mint_lock(URL, timeout=0.3) as held:
            assert not held  # the other process has it
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        started = time.monotonic()
        async with store.tokens.mint_lock(URL, timeout=5) as held:
            assert held  # the kernel released it with the process: no lease to run out
        assert time.monotonic() - started < 1.0
        await store.aclose()
    finally:
        holder.kill()
        holder.wait(10)


async def test_two_processes_adding_projects_lose_none(tmp_path: Path) -> None:
    cfg = tmp_path / "nemovideo"
    await open_store(cfg).aclose()
    procs = [child("projects", str(cfg), "15") for _ in range(2)]
    for p in procs:
        assert p.wait(60) == 0, p.stderr.read() if p.stderr else ""
    store = open_store(cfg)
    assert len(await store.projects.recent("https://api.example")) == 30
    await store.aclose()


async def test_a_writer_killed_at_random_points_leaves_a_consistent_store(tmp_path: Path) -> None:
    """kill -9 mid-transaction, again and again: the store opens every time, and every step is all or
    nothing (a project, its job record and the current pointer are written in one transaction)."""
    cfg = tmp_path / "nemovideo"
    await open_store(cfg).aclose()
    rng = random.Random(12)  # fixed: the same kill points on every run
    seen = 0
    for _ in range(6):
        proc = child("loop", str(cfg))
        try:
            wait_line(proc, "ready")
            time.sleep(rng.uniform(0.02, 0.25))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        store = open_store(cfg)  # checks integrity; a damaged file would be moved aside
        assert isinstance(store, SQLiteStore)
        projects = await store.projects.recent("https://api.example")
        count = len(projects)
        jobs = [await store.jobs.get(f"job_{i}") for i in range(count + 1)]
        assert all(j is not None for j in jobs[:count])
        assert jobs[count] is None  # no job without its project
        if count:
            assert await store.projects.current("https://api.example") == f"s{count - 1}"
        assert count >= seen  # nothing committed was lost
        seen = count
        await store.aclose()
    assert not [p for p in cfg.iterdir() if ".corrupt-" in p.name]
    assert seen > 0
    with sqlite3.connect(cfg / "state.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def test_waiting_for_the_mint_lock_does_not_block_the_event_loop(tmp_path: Path) -> None:
    cfg = tmp_path / "nemovideo"
    store = open_store(cfg)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await anyio.sleep(0.01)
            ticks += 1

    async with store.tokens.mint_lock(URL, timeout=1):
        other = open_store(cfg)
        async with anyio.create_task_group() as tg:
            tg.start_soon(ticker)
            async with other.tokens.mint_lock(URL, timeout=0.3) as held:
                assert not held
            tg.cancel_scope.cancel()
        await other.aclose()
    assert ticks >= 10
    await store.aclose()


async def test_a_truncated_token_file_still_gives_its_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Losing the token locks the client out of anonymous tokens for days: a file cut short (a crash while
    an older version wrote it) still yields the token it shows; a token cut short is not taken."""
    cfg = tmp_path / "nemovideo"
    cfg.mkdir()
    whole = json.dumps(
        {
            "version": 1,
            "tokens": {
                URL: {"token": "nmv_usr_WHOLE1234", "user_id": "a"},
                "https://b.example": {"token": "nmv_usr_CUT"},
            },
        },
        indent=2,
    )
    (cfg / "token.json").write_text(whole[: whole.index("nmv_usr_CUT") + 7])
    store = open_store(cfg)
    assert (await store.tokens.read(URL)).token == "nmv_usr_WHOLE1234"  # type: ignore[union-attr]
    assert await store.tokens.read("https://b.example") is None
    await store.aclose()
    assert "1 token(s) still legible in it were recovered" in caplog.text
    assert "nmv_usr_WHOLE1234" not in caplog.text
