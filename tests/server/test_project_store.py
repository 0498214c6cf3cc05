"""The project registry (projects.py): one server's view of the state store's projects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from nemo_mcp.server import projects as projects_module
from nemo_mcp.server.projects import ProjectRecord, ProjectStore, default_config_dir
from nemo_mcp.store import open_store
from nemo_mcp.store.sqlite import SQLiteStore

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_config_dir_env(tmp_path: Path) -> None:
    assert default_config_dir({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "nemovideo"
    assert default_config_dir({"NEMO_CONFIG_DIR": str(tmp_path / "x")}) == tmp_path / "x"


async def test_current_is_kept_per_server_and_across_restarts(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    a = ProjectStore(store.projects, "https://api.test")
    b = ProjectStore(store.projects, "local")
    await a.add(ProjectRecord(session_id="1", task_id="t1", server="https://api.test", title="first"))
    await a.add(ProjectRecord(session_id="2", task_id="t2", server="https://api.test", title="second"))
    await b.add(ProjectRecord(session_id="9", task_id="t9", server="local"))
    await store.aclose()
    store = open_store(tmp_path)  # a restart resumes the current project
    again = ProjectStore(store.projects, "https://api.test")
    cur = await again.current()
    assert cur is not None
    assert cur.session_id == "2"
    assert [p.session_id for p in await again.list()] == ["2", "1"]
    assert await ProjectStore(store.projects, "local").current_id() == "9"
    cur.title = "changed by a caller"  # records handed out are copies
    assert (await again.get("2")).title == "second"  # type: ignore[union-attr]
    await again.mark_lost("2")
    assert await again.current() is None
    assert (await again.get("2")).lost  # type: ignore[union-attr]
    await store.aclose()


async def test_reads_do_not_rewrite_the_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(tmp_path)
    assert isinstance(store, SQLiteStore)
    reg = ProjectStore(store.projects, "s")
    await reg.add(ProjectRecord(session_id="1", task_id="t", server="s"))
    writes: list[dict[str, Any]] = []
    real_touch = store.projects.touch

    async def counting_touch(server: str, session_id: str, **kw: Any) -> bool:
        writes.append(kw)
        return await real_touch(server, session_id, **kw)

    monkeypatch.setattr(store.projects, "touch", counting_touch)
    await reg.touch("1", summary="2 tracks", read=True)  # the summary changed: written
    assert len(writes) == 1
    for _ in range(5):
        await reg.touch_async("1", summary="2 tracks", read=True)  # same summary, recent: nothing to write
    assert len(writes) == 1
    await reg.touch("1", summary="3 tracks", read=True)
    assert len(writes) == 2
    await reg.touch("1")  # activity (an upload, an edit) always records
    assert len(writes) == 3
    await reg.touch("unknown", summary="x", read=True)
    assert len(writes) == 3
    monkeypatch.setattr(projects_module, "TOUCH_DEBOUNCE_SECONDS", 0.0)
    await reg.touch("1", summary="3 tracks", read=True)  # debounce passed: the activity time is refreshed
    assert len(writes) == 4
    assert (await reg.get("1")).summary == "3 tracks"  # type: ignore[union-attr]
    await store.aclose()


async def test_concurrent_adds_lose_nothing(tmp_path: Path) -> None:
    # two stores on one file stand for two server processes (the cross-process run: tests/store)
    first, second = open_store(tmp_path), open_store(tmp_path)
    regs = [ProjectStore(s.projects, "s") for s in (first, second)]
    async with anyio.create_task_group() as tg:
        for i in range(30):
            rec = ProjectRecord(session_id=f"p{i}", task_id="t", server="s")
            tg.start_soon(regs[i % 2].add, rec)
    assert len(await regs[0].list()) == 30
    assert (await regs[1].current_id() or "").startswith("p")
    await first.aclose()
    await second.aclose()
