"""Races on local files, each swap made at the exact moment through `mcp.Client` and the real local backend:

- the download folder swapped for a symlink while the render runs (the render slowed with
  `render_min_seconds`, the swap made once the backend has the render) writes nothing outside;
- two same-titled projects exported into one folder at once get two files, each whole;
- an upload file swapped for a symlink, or for a FIFO in the middle of a multi-file upload, at the moment
  the upload opens it (a hook around `open_checked`), is refused with a tag, and nothing of it is sent;
- a read that stalls (a hook in place of the read) ends the upload with `[file_stalled]`, and `cancel_job`
  stops a stalled upload at once.

Outcomes join the fault matrix table; none may be `[internal]`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from nemo_mcp.api import upload as upload_module
from nemo_mcp.api.media import MediaFile
from nemo_mcp.local import LocalBackend
from nemo_mcp.server.settings import ServerSettings
from tests.hardening.conftest import record_cell
from tests.media import make_video
from tests.server.conftest import Call, Session, make_settings

pytestmark = pytest.mark.anyio


def tag_of(c: Call) -> str:
    assert c.error, c.text
    assert c.text.startswith("["), c.text
    tag = c.text[1 : c.text.index("]")]
    assert tag != "internal", c.text
    assert "Traceback" not in c.text
    return f"[{tag}]"


async def until_done(nemo: Session, c: Call, seconds: float = 30) -> Call:
    """Follow a 'running' answer with get_job until it ends."""
    with anyio.fail_after(seconds):
        while not c.error and (c.data.get("job") or {}).get("status") == "running":
            c = await nemo.call("get_job", {"job_id": c.data["job"]["job_id"], "wait_seconds": 10})
    return c


async def timeline_with(nemo: Session, clip: Path, session_id: str | None = None) -> str:
    args: dict[str, Any] = {"sources": [str(clip)]}
    if session_id:
        args["session_id"] = session_id
    up = await nemo.ok("upload_media", args)
    sid = str(up.data["session_id"])
    await nemo.ok("edit_video", {"instruction": "use the uploaded clip, trim it to 1 s", "session_id": sid})
    return sid


def hook_open_checked(monkeypatch: pytest.MonkeyPatch, swap: Callable[[int, MediaFile], None]) -> None:
    """Call `swap(n, item)` right before the upload opens its n-th file (0-based)."""
    real = upload_module.open_checked
    opened = 0

    def swapping(item: MediaFile) -> int:
        nonlocal opened
        swap(opened, item)
        opened += 1
        return real(item)

    monkeypatch.setattr(upload_module, "open_checked", swapping)


# --- writes ------------------------------------------------------------------------------------------


async def test_download_folder_swapped_for_a_symlink_while_the_render_runs(
    nemo: Session, clip: Path, tmp_path: Path, local_backend: LocalBackend
) -> None:
    await timeline_with(nemo, clip)
    root = tmp_path / "downloads"
    outside = tmp_path / "outside"
    outside.mkdir()
    local_backend.knobs.render_min_seconds = 1.5
    c = await nemo.ok("export_video", {"download_dir": "exports", "wait_seconds": 0})
    assert (root / "exports").is_dir()  # checked and created when the call was made
    with anyio.fail_after(20):
        while not local_backend.renders:  # the backend has the render: swap now
            await anyio.sleep(0.02)
    (root / "exports").rename(root / "exports.moved")
    (root / "exports").symlink_to(outside, target_is_directory=True)
    done = await until_done(nemo, c)
    got = tag_of(done)
    record_cell("download folder swapped for a symlink mid-render", "export_video", got)
    assert got == "[path_not_allowed]", done.text
    assert "is done" in done.text  # the render itself succeeded: say so
    assert list(outside.iterdir()) == []
    assert [p for p in root.rglob("*") if p.is_file()] == []


async def test_same_titled_exports_into_one_folder_get_two_files(
    nemo: Session, tmp_path: Path, local_backend: LocalBackend
) -> None:
    clips = [make_video(tmp_path / "media" / f"c{i}.mp4", seconds=1 + i) for i in range(2)]
    sids = []
    for clip in clips:
        project = await nemo.ok("new_project", {"title": "take"})
        sids.append(await timeline_with(nemo, clip, str(project.data["session_id"])))
    results: dict[str, Call] = {}

    async def export(sid: str) -> None:
        args = {"session_id": sid, "download": True, "wait_seconds": 45}
        results[sid] = await until_done(nemo, await nemo.ok("export_video", args), 60)

    local_backend.knobs.render_min_seconds = 0.5  # both renders end, and both downloads start, together
    async with anyio.create_task_group() as tg:
        for sid in sids:
            tg.start_soon(export, sid)
    saved = {sid: Path(str(results[sid].data["downloaded_to"])) for sid in sids}
    record_cell("two same-titled exports into one folder", "export_video", "recovered")
    assert sorted(p.name for p in saved.values()) == ["take.mp4", "take_1.mp4"]
    for sid in sids:
        render = local_backend.renders[str(results[sid].data["render_id"])]
        assert saved[sid].read_bytes() == render.out.read_bytes()  # each file is its own render, whole
    root = tmp_path / "downloads"
    assert sorted(p.name for p in root.iterdir()) == ["take.mp4", "take_1.mp4"]


# --- reads -------------------------------------------------------------------------------------------


async def test_upload_file_swapped_for_a_symlink_when_it_is_opened(
    nemo: Session, tmp_path: Path, local_backend: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    media = tmp_path / "media"
    clip = make_video(media / "clip.mp4", seconds=1)
    secret = make_video(tmp_path / "secret.mp4", seconds=2)

    def swap(n: int, item: MediaFile) -> None:
        item.path.unlink()
        item.path.symlink_to(secret)

    hook_open_checked(monkeypatch, swap)
    c = await until_done(nemo, await nemo.call("upload_media", {"sources": [str(clip)], "wait_seconds": 20}))
    got = tag_of(c)
    record_cell("upload file swapped for a symlink when opened", "upload_media", got)
    assert got == "[unsupported_file]", c.text
    assert "clip.mp4 changed after it was checked" in c.text
    assert all(not s.media for s in local_backend.state.sessions.values())  # nothing of it arrived


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")
async def test_fifo_swapped_in_during_a_multi_file_upload_ends_the_job(
    nemo: Session, tmp_path: Path, local_backend: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    media = tmp_path / "media"
    first = make_video(media / "a.mp4", seconds=1)
    second = make_video(media / "b.mp4", seconds=1)

    def swap(n: int, item: MediaFile) -> None:
        if n == 1:  # the first file is on the wire; the second becomes a FIFO now
            item.path.unlink()
            os.mkfifo(item.path)

    hook_open_checked(monkeypatch, swap)
    with anyio.fail_after(15):  # a blocked open or read would hang here
        c = await until_done(
            nemo, await nemo.call("upload_media", {"sources": [str(first), str(second)], "wait_seconds": 10})
        )
    got = tag_of(c)
    record_cell("FIFO swapped in during a multi-file upload", "upload_media", got)
    assert got == "[unsupported_file]", c.text
    assert "b.mp4 changed after it was checked" in c.text
    assert all(not s.media for s in local_backend.state.sessions.values())
    timeline = await nemo.ok("get_timeline")
    assert not timeline.data.get("running")  # no job left running


class StalledRead:
    """A read that hangs (a drive that stopped answering) until released; bounded so the thread ends."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self.left = threading.Event()

    def __call__(self, fd: int, size: int) -> bytes:
        self.entered.set()
        try:
            self.release.wait(timeout=20)
            return os.read(fd, size)
        finally:
            self.left.set()


async def test_a_stalled_read_ends_the_upload_with_a_tag(
    tmp_path: Path, local_backend: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mcp import Client

    from nemo_mcp.server.app import build_server
    from tests.server.conftest import FAST_API

    clip = make_video(tmp_path / "media" / "clip.mp4", seconds=1)
    stall = StalledRead()
    monkeypatch.setattr(upload_module, "read_chunk", stall)
    settings: ServerSettings = make_settings(
        tmp_path, local_backend.url, api_overrides={**FAST_API, "upload_stall_timeout": 0.5}
    )
    try:
        async with Client(build_server(settings)) as client:
            nemo = Session(client)
            with anyio.fail_after(10):
                c = await until_done(nemo, await nemo.call("upload_media", {"sources": [str(clip)]}))
    finally:
        stall.release.set()
    got = tag_of(c)
    record_cell("upload read stalls", "upload_media", got)
    assert got == "[file_stalled]", c.text
    assert "clip.mp4 stopped giving data for 0.5 s" in c.text
    assert stall.left.wait(timeout=10)  # released, the reader thread ends


async def test_cancel_job_stops_a_stalled_upload_at_once(
    nemo: Session, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stall = StalledRead()
    monkeypatch.setattr(upload_module, "read_chunk", stall)
    try:
        c = await nemo.ok("upload_media", {"sources": [str(clip)], "wait_seconds": 0})
        job_id = c.data["job"]["job_id"]
        with anyio.fail_after(10):
            while not stall.entered.is_set():
                await anyio.sleep(0.02)
        with anyio.fail_after(3):  # not the 5 s cancel_job would wait for a job that does not stop
            cancelled = await nemo.ok("cancel_job", {"job_id": job_id})
        assert cancelled.data["status"] == "cancelled", cancelled.text
        assert not stall.left.is_set()  # the read is still hanging: the job did not wait for it
        job = await nemo.ok("get_job", {"job_id": job_id, "wait_seconds": 0})
        assert job.data["job"]["status"] == "cancelled"
    finally:
        stall.release.set()
    assert stall.left.wait(timeout=10)
    record_cell("upload read stalls, then cancel_job", "upload_media", "recovered")
