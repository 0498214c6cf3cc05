"""paths.py, projects.py and jobs.py on their own."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import anyio
import pytest

from nemo_mcp.server import projects as projects_module
from nemo_mcp.server.jobs import MAX_WAIT_SECONDS, Job, JobKind, JobManager, JobStatus, clamp_wait
from nemo_mcp.server.paths import (
    PathRuleError,
    check_source,
    resolve_download_dir,
    safe_filename,
    unique_path,
)
from nemo_mcp.server.projects import ProjectRecord, ProjectStore, default_config_dir

pytestmark = pytest.mark.anyio

MP4_HEAD = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --- paths --------------------------------------------------------------------------------------------


def test_local_file_rules(tmp_path: Path) -> None:
    good = tmp_path / "clip.mp4"
    good.write_bytes(MP4_HEAD)
    src = check_source(str(good))
    assert src.kind == "file"
    assert src.media_type == "video"
    assert src.name == "clip.mp4"

    bad = tmp_path / "notes.txt"
    bad.write_text("hi")
    with pytest.raises(PathRuleError) as e:
        check_source(str(bad))
    assert e.value.tag == "unsupported_file"
    assert e.value.message.startswith("notes.txt:")
    assert "mp4, mov" in e.value.message

    with pytest.raises(PathRuleError) as e:
        check_source(str(tmp_path / "missing.mp4"))
    assert e.value.tag == "file_not_found"
    assert "missing.mp4" in e.value.message

    big = tmp_path / "big.mov"
    big.write_bytes(b"x" * 2048)
    with pytest.raises(PathRuleError) as e:
        check_source(str(big), max_bytes=1024)
    assert e.value.tag == "file_too_large"
    assert "big.mov" in e.value.message


def test_media_dirs_allowlist(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed_media"
    allowed.mkdir()
    outside = tmp_path / "other"
    outside.mkdir()
    (allowed / "a.mp4").write_bytes(MP4_HEAD)
    (outside / "b.mp4").write_bytes(MP4_HEAD)
    os.symlink(outside / "b.mp4", allowed / "link.mp4")
    assert check_source(str(allowed / "a.mp4"), media_dirs=[allowed.resolve()]).kind == "file"
    for p in (outside / "b.mp4", allowed / "link.mp4", allowed / ".." / "other" / "b.mp4"):
        with pytest.raises(PathRuleError) as e:
            check_source(str(p), media_dirs=[allowed.resolve()])
        assert e.value.tag == "path_not_allowed"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "data:video/mp4;base64,AAAA",
        "ftp://x.test/a.mp4",
        "https://user:pw@x.test/a.mp4",
    ],
)
def test_refused_urls(url: str) -> None:
    with pytest.raises(PathRuleError) as e:
        check_source(url)
    assert e.value.tag == "bad_url"
    assert "pw" not in e.value.message


def test_https_url_ok() -> None:
    src = check_source("https://cdn.test/v/clip.mov?x=1")
    assert src.kind == "url"
    assert src.name == "clip.mov"
    assert src.media_type == "video"


def test_download_confinement(tmp_path: Path) -> None:
    root = tmp_path / "dl"
    assert resolve_download_dir(None, root) == root.resolve()
    assert resolve_download_dir("sub/dir", root) == (root / "sub" / "dir").resolve()
    for bad in ("../escape", str(tmp_path / "elsewhere"), "/etc"):
        with pytest.raises(PathRuleError) as e:
            resolve_download_dir(bad, root)
        assert e.value.tag == "path_not_allowed"


def test_safe_names_and_no_overwrite(tmp_path: Path) -> None:
    assert safe_filename("../../etc/passwd") == "etc_passwd.mp4"
    assert safe_filename("城市 timelapse!.mp4") == "timelapse.mp4"
    assert safe_filename("...") == "video.mp4"
    assert safe_filename(".hidden") == "hidden.mp4"
    (tmp_path / "a.mp4").write_bytes(b"1")
    assert unique_path(tmp_path, "a.mp4").name == "a_1.mp4"
    assert unique_path(tmp_path, "a.mp4", overwrite=True).name == "a.mp4"


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


# --- jobs ---------------------------------------------------------------------------------------------


def _mapper(exc: BaseException) -> tuple[str, str]:
    return "internal", str(exc)


def test_clamp_wait() -> None:
    assert clamp_wait(None) == 40
    assert clamp_wait(500) == MAX_WAIT_SECONDS
    assert clamp_wait(-3) == 0


async def test_job_finishes_within_wait() -> None:
    async with anyio.create_task_group() as tg:
        jm = JobManager(tg, _mapper)

        async def work(job: Job) -> str:
            job.update(50, "half")
            await anyio.sleep(0.05)
            return "ok"

        job = jm.start(JobKind.EDIT, "s1", "test", work)
        beats: list[tuple[float, float | None, str]] = []

        async def progress(p: float, t: float | None, m: str) -> None:
            beats.append((p, t, m))

        assert await jm.wait(job, 5, progress)
        assert job.status is JobStatus.SUCCEEDED
        assert job.result == "ok"
        values = [b[0] for b in beats]
        assert values == sorted(values)
        assert len(set(values)) == len(values)


async def test_progress_notifications_are_rate_limited() -> None:
    """A job publishing thousands of small steps (an upload's chunks) yields a bounded number of
    notifications: the first, intermediate ones, and the final 100%, strictly increasing."""
    async with anyio.create_task_group() as tg:
        jm = JobManager(tg, _mapper)

        async def work(job: Job) -> str:
            for i in range(2000):
                job.update(min(99.0, i / 20), f"uploading {i}")
                await anyio.sleep(0)
            return "ok"

        job = jm.start(JobKind.UPLOAD, "s1", "fast upload", work)
        beats: list[tuple[float, float | None, str]] = []

        async def progress(p: float, t: float | None, m: str) -> None:
            beats.append((p, t, m))

        assert await jm.wait(job, 20, progress)
        values = [b[0] for b in beats]
        assert values == sorted(values)
        assert len(set(values)) == len(values)
        assert values[0] < 1.0  # the first one went out at once
        assert values[-1] == 100.0  # and the final one
        assert len(values) >= 10  # some intermediate ones
        # one per percentage point at most, plus a couple per second of elapsed time
        assert len(values) <= 100 + 2 + 2 * (job.elapsed + 1), len(values)


async def test_held_back_progress_is_flushed_and_beats_continue() -> None:
    """An update held back by the interval goes out once it has passed; beats keep flowing."""
    async with anyio.create_task_group() as tg:
        jm = JobManager(tg, _mapper, heartbeat=0.3)
        release = anyio.Event()

        async def work(job: Job) -> str:
            job.update(10.0, "first")
            await anyio.sleep(0.05)
            job.update(10.2, "small step")  # < 1 point, right after: held back, then flushed
            await release.wait()
            return "ok"

        job = jm.start(JobKind.EXPORT, "s1", "render", work)
        beats: list[tuple[float, float | None, str]] = []

        async def progress(p: float, t: float | None, m: str) -> None:
            beats.append((p, t, m))

        assert not await jm.wait(job, 1.0, progress)
        assert any(m.startswith("small step") for _, _, m in beats), beats
        assert len(beats) >= 3  # first, the flushed update, and beats
        values = [b[0] for b in beats]
        assert values == sorted(values)
        assert len(set(values)) == len(values)
        release.set()
        beats.clear()
        assert await jm.wait(job, 5, progress)  # a new request: its own first and final
        assert beats
        assert beats[-1][0] == 100.0


async def test_job_outlives_wait_and_cancelled_request() -> None:
    async with anyio.create_task_group() as tg:
        jm = JobManager(tg, _mapper, heartbeat=0.05)
        release = anyio.Event()

        async def work(job: Job) -> str:
            await release.wait()
            return "late"

        job = jm.start(JobKind.EDIT, "s1", "slow", work)
        beats: list[float] = []

        async def progress(p: float, t: float | None, m: str) -> None:
            beats.append(p)

        assert not await jm.wait(job, 0.3, progress)
        assert len(beats) >= 3  # heartbeats while waiting
        assert jm.running("s1") is job
        # a cancelled MCP request stops the waiting, not the work
        with anyio.move_on_after(0.05):
            await jm.wait(job, 5)
        assert not job.done
        release.set()
        assert await jm.wait(job, 5)
        assert job.result == "late"
        assert jm.get(job.id) is job


async def test_job_failure_and_cancel() -> None:
    async with anyio.create_task_group() as tg:
        jm = JobManager(tg, _mapper)

        async def boom(job: Job) -> None:
            raise RuntimeError("kaput")

        async def forever(job: Job) -> None:
            await anyio.sleep_forever()

        j1 = jm.start(JobKind.EXPORT, None, "boom", boom)
        await jm.wait(j1, 5)
        assert j1.status is JobStatus.FAILED
        assert j1.error_message == "kaput"
        j2 = jm.start(JobKind.EXPORT, None, "forever", forever)
        await anyio.sleep(0.01)
        assert jm.cancel(j2)
        await jm.wait(j2, 5)
        assert j2.status is JobStatus.CANCELLED
        with pytest.raises(KeyError):
            jm.get("job_nope")
