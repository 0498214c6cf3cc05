"""A child process for the store's cross-process tests: `python -m tests.store.writer MODE FOLDER [N]`.

- `loop`: write forever, one transaction per step that adds a project AND its job record and makes it
  current (so a reader can check that every step is all-or-nothing), printing "ready" once started;
- `projects N`: add N projects, concurrently, then exit;
- `hold`: take the mint lock, print "locked", and sleep until killed.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import anyio

from nemo_mcp.store import JobRecord, ProjectRecord, open_store
from nemo_mcp.store.sqlite import SQLiteStore

SERVER = "https://api.example"


def step_writer(store: SQLiteStore, i: int) -> None:
    """Project i, its job and the current pointer, in ONE transaction (the invariant the test checks)."""
    rec = ProjectRecord(f"s{i}", "t", SERVER, title=f"p{i}")
    job = JobRecord(id=f"job_{i}", kind="edit", server=SERVER, session_id=f"s{i}", description="x" * 200)

    def work(conn: object) -> None:
        import json
        import sqlite3

        assert isinstance(conn, sqlite3.Connection)
        conn.execute(
            "INSERT INTO projects (tenant, server, session_id, task_id, title, created_at, updated_at,"
            " user_id, summary, lost) VALUES ('local', ?, ?, 't', ?, ?, ?, NULL, NULL, 0)",
            (SERVER, rec.session_id, rec.title, time.time(), time.time()),
        )
        conn.execute(
            "INSERT INTO jobs VALUES ('local', ?, ?, ?)", (job.id, time.time(), json.dumps(job.to_dict()))
        )
        conn.execute(
            "INSERT OR REPLACE INTO current_project VALUES ('local', ?, ?)", (SERVER, rec.session_id)
        )

    store._db.write_now(work)


async def main(mode: str, folder: Path, n: int) -> None:
    store = open_store(folder)
    assert isinstance(store, SQLiteStore)
    if mode == "loop":
        start = len(await store.projects.recent(SERVER))
        print("ready", flush=True)
        for i in range(start, start + 1_000_000):  # killed long before
            step_writer(store, i)
    elif mode == "projects":

        async def add(i: int) -> None:
            rec = ProjectRecord(f"{os.getpid()}-{i}", "t", SERVER)
            await store.projects.add(rec, make_current=True, keep=500)

        async with anyio.create_task_group() as tg:
            for i in range(n):
                tg.start_soon(add, i)
    elif mode == "hold":
        async with store.tokens.mint_lock(SERVER, timeout=5) as held:
            print("locked" if held else "not locked", flush=True)
            await anyio.sleep(60)
    await store.aclose()


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0)
