"""The project registry (projects.py) on its own."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from nemo_mcp.server import projects as projects_module
from nemo_mcp.server.projects import ProjectRecord, ProjectStore, default_config_dir

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --- projects -----------------------------------------------------------------------------------------


def test_config_dir_env(tmp_path: Path) -> None:
    assert default_config_dir({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "nemovideo"
    assert default_config_dir({"NEMO_CONFIG_DIR": str(tmp_path / "x")}) == tmp_path / "x"


def test_project_store_persists_current_per_server(tmp_path: Path) -> None:
    a = ProjectStore(tmp_path, "https://api.test")
    b = ProjectStore(tmp_path, "local")
    a.add(ProjectRecord(session_id="1", task_id="t1", server="https://api.test", title="first"))
    a.add(ProjectRecord(session_id="2", task_id="t2", server="https://api.test", title="second"))
    b.add(ProjectRecord(session_id="9", task_id="t9", server="local"))
    # a restart (a new store object) resumes the current project
    again = ProjectStore(tmp_path, "https://api.test")
    cur = again.current()
    assert cur is not None
    assert cur.session_id == "2"
    assert [p.session_id for p in again.list()] == ["2", "1"]
    assert ProjectStore(tmp_path, "local").current_id() == "9"
    again.mark_lost("2")
    assert again.current() is None
    assert (tmp_path / "projects.json").stat().st_mode & 0o777 == 0o600


def test_corrupt_registry_is_survived(tmp_path: Path) -> None:
    (tmp_path / "projects.json").write_text("{not json")
    store = ProjectStore(tmp_path, "s")
    assert store.current() is None
    store.add(ProjectRecord(session_id="1", task_id="t", server="s"))
    assert store.current() is not None


def test_project_store_caches_reads_and_sees_other_writers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = ProjectStore(tmp_path, "s")
    b = ProjectStore(tmp_path, "s")  # another server process sharing the file
    a.add(ProjectRecord(session_id="1", task_id="t", server="s", title="one"))
    parses = 0
    real_parse = ProjectStore._parse

    def counting_parse(self: ProjectStore) -> dict[str, object]:
        nonlocal parses
        parses += 1
        return real_parse(self)

    monkeypatch.setattr(ProjectStore, "_parse", counting_parse)
    for _ in range(5):
        cur = a.current()
        assert cur is not None
        assert cur.session_id == "1"
        assert a.get("1") is not None
    assert parses == 0  # a's own write filled its cache
    cur.title = "changed by a caller"  # records handed out are copies
    got = a.get("1")
    assert got is not None
    assert got.title == "one"
    b.add(ProjectRecord(session_id="2", task_id="t2", server="s", title="two"))
    parses = 0  # (b read the file once before writing)
    cur = a.current()
    assert cur is not None
    assert cur.session_id == "2"  # the other writer's change is seen
    assert a.get("1") is not None
    assert parses == 1  # once, then cached again


def test_reads_do_not_rewrite_the_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ProjectStore(tmp_path, "s")
    store.add(ProjectRecord(session_id="1", task_id="t", server="s"))
    path = tmp_path / "projects.json"
    writes = 0
    real_write = ProjectStore._write

    def counting_write(self: ProjectStore, data: dict[str, object]) -> None:
        nonlocal writes
        writes += 1
        real_write(self, data)

    monkeypatch.setattr(ProjectStore, "_write", counting_write)
    store.touch("1", summary="2 tracks", read=True)  # the summary changed: written
    assert writes == 1
    for _ in range(5):
        store.touch("1", summary="2 tracks", read=True)  # same summary, recent: nothing to write
    assert writes == 1
    store.touch("1", summary="3 tracks", read=True)
    assert writes == 2
    store.touch("1")  # activity (an upload, an edit) always records
    assert writes == 3
    store.touch("unknown", summary="x")
    assert writes == 3
    monkeypatch.setattr(projects_module, "TOUCH_DEBOUNCE_SECONDS", 0.0)
    store.touch("1", summary="3 tracks", read=True)  # debounce passed: the activity time is refreshed
    assert writes == 4
    rec = store.get("1")
    assert rec is not None
    assert rec.summary == "3 tracks"
    assert json.loads(path.read_text())["projects"][0]["summary"] == "3 tracks"


async def test_touch_async_writes_off_the_loop(tmp_path: Path) -> None:
    store = ProjectStore(tmp_path, "s")
    store.add(ProjectRecord(session_id="1", task_id="t", server="s"))
    loop_thread = threading.get_ident()
    seen: list[int] = []
    real_write = store._write

    def spy(data: dict[str, object]) -> None:
        seen.append(threading.get_ident())
        real_write(data)

    store._write = spy  # type: ignore[method-assign]
    await store.touch_async("1", summary="1 track", read=True)
    await store.touch_async("1", summary="1 track", read=True)  # unchanged: no write at all
    assert len(seen) == 1
    assert seen[0] != loop_thread
    again = ProjectStore(tmp_path, "s").get("1")  # a restart reads it back
    assert again is not None
    assert again.summary == "1 track"
