"""What outlives a server restart: job handles (a render resumed by its render id, an edit re-derived from
the project's state), what cancel_job can still stop, handles that cannot be resumed or are past their
retention, and the token and projects an older version left in files. Each "restart" stops a real server
(its lifespan ends, the store is closed) and starts a new one on the same config folder."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from mcp import Client

from nemo_mcp.local import LocalBackend
from nemo_mcp.server.app import build_server
from nemo_mcp.server.settings import ServerSettings, retention_from_env
from nemo_mcp.store import JobRecord, open_store
from tests.server.conftest import Session

pytestmark = pytest.mark.anyio

EARLIER = "started by an earlier server process"


@asynccontextmanager
async def running(settings: ServerSettings) -> AsyncIterator[Session]:
    async with Client(build_server(settings)) as client:
        yield Session(client)


def turns(backend: LocalBackend) -> int:
    return sum(len(v) for v in backend.stats.turns.values())


async def render_id_known(nemo: Session) -> None:
    """Stop the server only once the render has its id (what a restart resumes it by; a server stopped
    before that has nothing to follow: test_handles_that_cannot_be_resumed_or_are_too_old)."""
    while not (await nemo.ok("export_video", {"wait_seconds": 0})).data["render_id"]:
        await anyio.sleep(0.05)


async def sent(backend: LocalBackend) -> None:
    """Stop the server only once the instruction reached the agent (the snapshot is taken before)."""
    while turns(backend) < 1:
        await anyio.sleep(0.05)


async def test_a_render_outlives_a_restart(
    settings: ServerSettings, local_backend: LocalBackend, clip: Path, tmp_path: Path
) -> None:
    local_backend.knobs.render_min_seconds = 2.0
    with anyio.fail_after(60):
        async with running(settings) as first:
            await first.ok("upload_media", {"sources": [str(clip)]})
            c = await first.ok("export_video", {"download_dir": "exports", "wait_seconds": 0.5})
            assert c.data["status"] == "running"
            job_id = c.data["job"]["job_id"]
            await render_id_known(first)
        # the first server is gone; the render goes on upstream
        async with running(settings) as second:
            done = await second.ok("get_job", {"job_id": job_id, "wait_seconds": 30})
            again = await second.ok("get_job", {"job_id": job_id})
    assert done.data["job"]["job_id"] == job_id
    export = done.data["export"]
    assert export["status"] == "completed"
    assert len(local_backend.stats.renders) == 1  # followed by its render id, never submitted again
    saved = Path(export["downloaded_to"])
    assert saved.is_file()
    assert (
        saved.parent == (tmp_path / "downloads" / "exports").resolve()
    )  # where it was asked, still confined
    assert EARLIER in done.text
    assert any(EARLIER in n for n in done.data["notes"])
    assert again.data["export"]["url"] == export["url"]


async def test_an_edit_outlives_a_restart(
    settings: ServerSettings, local_backend: LocalBackend, clip: Path
) -> None:
    with anyio.fail_after(60):
        async with running(settings) as first:
            await first.ok("upload_media", {"sources": [str(clip)]})
            local_backend.knobs.agent_delay = 2.5
            c = await first.ok(
                "edit_video", {"instruction": "add a title 'Survivor' at the top", "wait_seconds": 0.5}
            )
            assert c.data["status"] == "running"
            job_id = c.data["job"]["job_id"]
            await sent(local_backend)
        async with running(settings) as second:
            early = await second.ok("get_job", {"job_id": job_id, "wait_seconds": 0})
            if early.data["job"]["status"] == "running":  # the agent is still at it
                assert EARLIER in early.text
                assert "no change on the project yet" in early.data["job"]["message"]
                assert "get_job" in early.data["job"]["next_step"]
            done = await second.ok("get_job", {"job_id": job_id, "wait_seconds": 30})
            later = await second.ok("get_job", {"job_id": job_id})
    assert done.data["job"]["status"] == "succeeded"
    assert any("Survivor" in ch for ch in done.data["edit"]["changes"])
    assert EARLIER in done.text
    assert "not re-sent" in done.text
    assert turns(local_backend) == 1  # the instruction went to the agent once
    assert later.data["edit"]["changes"] == done.data["edit"]["changes"]  # the outcome is kept


async def test_cancel_after_a_restart_says_what_it_can_stop(
    settings: ServerSettings, local_backend: LocalBackend, clip: Path
) -> None:
    local_backend.knobs.render_min_seconds = 30.0
    with anyio.fail_after(60):
        async with running(settings) as first:
            await first.ok("upload_media", {"sources": [str(clip)]})
            render = await first.ok("export_video", {"wait_seconds": 0.5})
            await render_id_known(first)
            local_backend.knobs.agent_delay = 30.0
            edit = await first.ok(
                "edit_video", {"instruction": "add a title 'Long' at the top", "wait_seconds": 0.5}
            )
            await sent(local_backend)
        async with running(settings) as second:
            stopped = await second.ok("cancel_job", {"job_id": render.data["job"]["job_id"]})
            after = await second.ok("get_job", {"job_id": render.data["job"]["job_id"]})
            kept = await second.ok("cancel_job", {"job_id": edit.data["job"]["job_id"]})
    assert stopped.data["backend_cancelled"] is True
    assert stopped.data["status"] == "cancelled"
    assert EARLIER in stopped.text
    assert [r.status for r in local_backend.renders.values()] == ["cancelled"]
    assert after.data["job"]["status"] == "cancelled"
    assert kept.data["backend_cancelled"] is False
    assert "cannot be interrupted" in kept.text
    assert EARLIER in kept.text


async def test_handles_that_cannot_be_resumed_or_are_too_old(settings: ServerSettings) -> None:
    now = time.time()
    store = open_store(settings.config_dir)
    here = settings.server_key
    for rec in (
        JobRecord(id="job_up", kind="upload", server=here, session_id="s1", description="upload: a.mp4"),
        JobRecord(id="job_pre", kind="export", server=here, session_id="s1", description="export (render)"),
        JobRecord(
            id="job_elsewhere", kind="export", server="https://other.example", session_id="s", description="x"
        ),
    ):
        rec.started_at, rec.owner = now - 180, "another-host:1:1"
        await store.jobs.put(rec)
    old = JobRecord(
        id="job_old", kind="export", server=here, session_id="s1", description="x", render_id="render_x"
    )
    old.updated_at = now - 2 * 86400  # past the day handles are kept
    await store.jobs.put(old)
    await store.aclose()
    async with running(settings) as s:
        text = await s.fail("get_job", {"job_id": "job_up"}, "job_interrupted")
        assert "3 min ago" in text
        assert "upload_media" in text
        text = await s.fail("get_job", {"job_id": "job_pre"}, "job_interrupted")
        assert "export_video" in text
        await s.fail("get_job", {"job_id": "job_old"}, "unknown_job")  # pruned when the server started
        await s.fail("get_job", {"job_id": "job_elsewhere"}, "unknown_job")  # another backend's handle
        await s.fail("get_job", {"job_id": "job_never"}, "unknown_job")
        ended = await s.ok("cancel_job", {"job_id": "job_up"})
    assert "already ended" in ended.text


def test_retention_is_a_day_unless_set() -> None:
    assert retention_from_env({}) == 86400
    assert retention_from_env({"NEMO_JOB_RETENTION_HOURS": "2"}) == 7200
    for bad in ("0", "-1", "soon", "1e9"):
        assert retention_from_env({"NEMO_JOB_RETENTION_HOURS": bad}) == 86400


async def test_an_older_versions_files_are_migrated_at_start(
    settings: ServerSettings, local_backend: LocalBackend
) -> None:
    """A config folder an older version wrote: its token (still valid) and projects are used, no token is
    minted, and the old files are kept renamed."""
    cfg = settings.config_dir
    async with running(settings) as first:
        await first.ok("new_project", {"title": "before the upgrade"})
    store = open_store(cfg)
    token = await store.tokens.read(local_backend.url)
    project = (await store.projects.recent(local_backend.url))[0]
    await store.aclose()
    assert token is not None
    for path in cfg.glob("state.db*"):
        path.unlink()
    (cfg / "token.json").write_text(
        json.dumps({"version": 1, "tokens": {local_backend.url: token.to_dict()}})
    )
    current = {local_backend.url: project.session_id}
    (cfg / "projects.json").write_text(json.dumps({"current": current, "projects": [project.to_dict()]}))
    minted = local_backend.stats.requests["/api/auth/anonymous-token"]
    async with running(settings) as upgraded:
        listed = await upgraded.ok("list_projects")
        await upgraded.ok("check_credits")
    assert local_backend.stats.requests["/api/auth/anonymous-token"] == minted
    assert listed.data["current_session_id"] == project.session_id
    assert [p["title"] for p in listed.data["projects"]] == ["before the upgrade"]
    assert (cfg / "token.json.migrated").exists()
    assert (cfg / "projects.json.migrated").exists()


async def test_an_unusable_config_folder_falls_back_to_memory(
    tmp_path: Path, local_backend: LocalBackend, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "blocker").write_text("x")
    from tests.server.conftest import make_settings

    settings = make_settings(tmp_path, local_backend.url, config_dir=tmp_path / "blocker" / "nemovideo")
    async with running(settings) as s:
        await s.ok("new_project", {"title": "kept in memory"})
        listed = await s.ok("list_projects")
    assert [p["title"] for p in listed.data["projects"]] == ["kept in memory"]
    assert "last this process only" in caplog.text
