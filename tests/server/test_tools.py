"""Every tool through `mcp.Client` in memory, against the real local backend over loopback HTTP."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp import Client

from nemo_mcp.local import LocalBackend
from nemo_mcp.server.app import build_server
from nemo_mcp.server.settings import ServerSettings
from tests.media import make_audio
from tests.server.conftest import FAST_API, Session, make_settings

pytestmark = pytest.mark.anyio

TOOLS = {
    "upload_media",
    "edit_video",
    "get_timeline",
    "get_frames",
    "check_credits",
    "export_video",
    "get_job",
    "cancel_job",
    "new_project",
    "list_projects",
}
GUI_WORDS = ("Click", "click", "Preview it in the timeline", "Open the", "Export button", "drag")


def turns(backend: LocalBackend) -> int:
    return sum(len(v) for v in backend.stats.turns.values())


async def upload(nemo: Session, clip: Path) -> str:
    c = await nemo.ok("upload_media", {"sources": [str(clip)]})
    return str(c.data["session_id"])


async def test_tools_are_described_annotated_and_typed(nemo: Session) -> None:
    tools = (await nemo.client.list_tools()).tools
    assert {t.name for t in tools} == TOOLS
    for t in tools:
        assert t.title, t.name
        assert t.description, t.name
        assert len(t.description) > 40, t.name
        assert not any(line.startswith(" ") for line in t.description.splitlines()), "dedented for the model"
        a = t.annotations
        assert a is not None, t.name
        for hint in (a.read_only_hint, a.destructive_hint, a.idempotent_hint, a.open_world_hint):
            assert hint is not None, t.name
        assert t.output_schema is not None, t.name
        for name, prop in t.input_schema.get("properties", {}).items():
            assert prop.get("description"), f"{t.name}.{name}"
    by = {t.name: t for t in tools}
    assert by["get_timeline"].annotations.read_only_hint is True  # type: ignore[union-attr]
    assert by["edit_video"].annotations.read_only_hint is False  # type: ignore[union-attr]
    assert by["edit_video"].input_schema["properties"]["wait_seconds"]["anyOf"][0]["maximum"] == 50


async def test_server_identity_and_instructions(nemo: Session) -> None:
    assert nemo.client.instructions
    assert "get_job" in nemo.client.instructions
    info = nemo.client.server_info
    assert info is not None
    assert info.name == "nemo-mcp"


async def test_upload_media_reports_files_and_progress(nemo: Session, clip: Path, tmp_path: Path) -> None:
    song = make_audio(tmp_path / "media" / "song.mp3", seconds=2)
    c = await nemo.ok("upload_media", {"sources": [str(clip), str(song)]})
    files = c.data["files"]
    assert [f["name"] for f in files] == ["clip.mp4", "song.mp3"]
    assert files[0]["type"] == "video"
    assert files[0]["resolution"] == "320x180"
    assert files[0]["duration_seconds"] == pytest.approx(3, abs=0.3)
    assert files[1]["type"] == "audio"
    assert c.progress, "no progress notifications"
    values = [p[0] for p in c.progress]
    assert values == sorted(values)
    assert "clip.mp4" in c.text


async def test_fast_upload_progress_is_bounded(
    tmp_path: Path, local_backend: LocalBackend, clip: Path
) -> None:
    """Tiny upload chunks (hundreds of byte callbacks) still give a first, some intermediate and a final
    notification, and at most one per percentage point plus a few."""
    api = dict(FAST_API, upload_chunk_size=256)
    settings = make_settings(tmp_path, local_backend.url, api_overrides=api)
    async with Client(build_server(settings)) as client:
        c = await Session(client).ok("upload_media", {"sources": [str(clip)]})
    chunks = clip.stat().st_size // 256
    assert chunks > 150, chunks  # enough byte callbacks to need rate limiting
    values = [p[0] for p in c.progress]
    assert values == sorted(values)
    assert len(set(values)) == len(values)
    assert values[0] < 1.0
    assert values[-1] == 100.0
    assert len(values) >= 3, c.progress
    assert len(values) <= 110, len(values)


async def test_edit_video_agent_turn_is_translated(
    nemo: Session, clip: Path, local_backend: LocalBackend
) -> None:
    await upload(nemo, clip)
    c = await nemo.ok(
        "edit_video", {"instruction": "trim to the first 2 seconds and add a title 'Hello' at the top"}
    )
    d = c.data
    assert d["routed_to"] == "agent"
    assert d["status"] == "done"
    assert d["changes"], d
    assert any("Hello" in ch for ch in d["changes"])
    for word in GUI_WORDS:
        assert word not in d["reply"], d["reply"]
    assert d["notes"], "GUI instructions should be replaced by notes"
    assert "Timeline (" in (d["timeline_summary"] or "")
    assert turns(local_backend) == 1


async def test_silent_turn_reports_the_state_diff(
    nemo: Session, clip: Path, local_backend: LocalBackend
) -> None:
    await upload(nemo, clip)
    local_backend.knobs.silent_fraction = 1.0
    c = await nemo.ok("edit_video", {"instruction": "add a title 'Quiet' at the top for 2 seconds"})
    d = c.data
    assert d["reply"], "a silent turn must never be reported as silence"
    assert d["changes"]
    assert "Quiet" in d["reply"]


async def test_upload_path_inside_instruction_then_agent(
    nemo: Session, clip: Path, local_backend: LocalBackend
) -> None:
    c = await nemo.ok("edit_video", {"instruction": f"upload {clip} and add a title 'Inline' at the top"})
    d = c.data
    assert d["routed_to"] == "agent"
    assert d["upload"]["files"][0]["name"] == "clip.mp4"
    assert any("Inline" in ch for ch in d["changes"])
    assert next(iter(local_backend.stats.turns.values())) == ["add a title 'Inline' at the top"]


async def test_upload_only_instruction_never_reaches_agent(
    nemo: Session, clip: Path, local_backend: LocalBackend
) -> None:
    c = await nemo.ok("edit_video", {"instruction": f"上传 {clip}"})
    assert c.data["routed_to"] == "upload"
    assert c.data["upload"]["files"][0]["name"] == "clip.mp4"
    assert turns(local_backend) == 0


@pytest.mark.parametrize(
    ("instruction", "routed"),
    [
        ("credits", "credits"),
        ("积分", "credits"),
        ("balance", "credits"),
        ("余额", "credits"),
        ("status", "state"),
        ("状态", "state"),
        ("show tracks", "state"),
        ("export", "export"),
        ("导出", "export"),
        ("download", "export"),
        ("send me the video", "export"),
    ],
)
async def test_routing_rows_skip_the_agent(
    nemo: Session, clip: Path, local_backend: LocalBackend, instruction: str, routed: str
) -> None:
    await upload(nemo, clip)
    c = await nemo.ok("edit_video", {"instruction": instruction, "wait_seconds": 30})
    assert c.data["routed_to"] == routed
    if routed == "export":
        assert c.data["export"]["status"] == "completed"
        assert c.data["export"]["url"]
    if routed == "credits":
        assert c.data["credits"]["total"] >= c.data["credits"]["available"]
    if routed == "state":
        assert c.data["timeline"]["export_ready"] is True
    assert turns(local_backend) == 0


async def test_edit_plus_export_goes_to_agent_with_export_hint(nemo: Session, clip: Path) -> None:
    await upload(nemo, clip)
    c = await nemo.ok(
        "edit_video", {"instruction": "extract metadata, generate a summary, and export a trimmed clip"}
    )
    assert c.data["routed_to"] == "agent"
    assert "export_video" in c.data["next_step"]


async def test_job_handles_wait_resume_and_no_resend(
    nemo: Session, clip: Path, local_backend: LocalBackend
) -> None:
    await upload(nemo, clip)
    local_backend.knobs.agent_delay = 1.5
    first = await nemo.ok("edit_video", {"instruction": "add a title 'Slow' at the top", "wait_seconds": 0.3})
    assert first.data["status"] == "running"
    job_id = first.data["job"]["job_id"]
    assert job_id in first.text
    assert "get_job" in first.data["next_step"]
    # a second instruction while it runs gets a clear answer with the running job's handle
    text = await nemo.fail("edit_video", {"instruction": "add a title 'Other'"}, "turn_running")
    assert job_id in text
    # the same instruction again is not re-sent either
    await nemo.fail("edit_video", {"instruction": "add a title 'Slow' at the top"}, "turn_running")
    # the timeline shows the running turn, and export waits for it
    tl = await nemo.ok("get_timeline", {})
    assert [j["job_id"] for j in tl.data["running"]] == [job_id]
    await nemo.fail("export_video", {}, "turn_running")
    with anyio.fail_after(30):
        done = await nemo.ok("get_job", {"job_id": job_id, "wait_seconds": 20})
    assert done.data["job"]["status"] == "succeeded"
    assert any("Slow" in ch for ch in done.data["edit"]["changes"])
    assert done.progress, "waiting must send progress notifications"
    assert turns(local_backend) == 1


async def test_cancelled_request_keeps_the_backend_work(
    nemo: Session, clip: Path, local_backend: LocalBackend
) -> None:
    await upload(nemo, clip)
    local_backend.knobs.agent_delay = 1.0
    with anyio.move_on_after(0.5):
        await nemo.call("edit_video", {"instruction": "add a title 'Kept' at the top"})
    # the job survives the cancelled call: the next instruction is refused, and the edit lands
    text = await nemo.fail("edit_video", {"instruction": "add a title 'Second'"}, "turn_running")
    job_id = text.split("job ")[1].split(",")[0]
    with anyio.fail_after(30):
        done = await nemo.ok("get_job", {"job_id": job_id, "wait_seconds": 20})
    assert done.data["job"]["status"] == "succeeded"
    assert turns(local_backend) == 1


async def test_get_timeline_and_readiness(nemo: Session, clip: Path) -> None:
    empty = await nemo.ok("get_timeline", {})
    assert empty.data["session_id"] == ""
    assert empty.data["export_ready"] is False
    assert "No project yet" in empty.text
    await nemo.fail("get_timeline", {"session_id": "42"}, "no_project")
    sid = await upload(nemo, clip)
    c = await nemo.ok("get_timeline", {})
    d = c.data
    assert d["session_id"] == sid
    assert d["export_ready"] is True
    assert d["summary"].startswith("Timeline (")
    assert d["tracks"][0]["type"] == "video"
    assert d["running"] == []


async def test_check_credits_and_low_balance_advice(
    nemo: Session, clip: Path, local_backend: LocalBackend
) -> None:
    c = await nemo.ok("check_credits")
    d = c.data
    assert d["total"] == d["available"] + d["frozen"]
    assert d["anonymous"] is True
    local_backend.exhaust_credits()
    low = await nemo.ok("check_credits")
    assert low.data["low"] is True
    assert "register" in low.data["advice"]
    assert "bind=anon_" in (low.data["register_url"] or "")


async def test_no_credits_error_has_registration_link(
    nemo: Session, clip: Path, local_backend: LocalBackend
) -> None:
    await upload(nemo, clip)
    local_backend.exhaust_credits()
    text = await nemo.fail("edit_video", {"instruction": "add a title 'Paid' at the top"}, "no_credits")
    assert "/register?bind=anon_" in text


async def test_export_with_download_and_browser_link(nemo: Session, clip: Path, tmp_path: Path) -> None:
    await upload(nemo, clip)
    c = await nemo.ok("export_video", {"download_dir": "exports", "wait_seconds": 40})
    d = c.data
    assert d["status"] == "completed"
    assert d["url"]
    assert "/workspace/claim?ct=" in (d["browser_link"] or "")
    out = Path(d["downloaded_to"])
    assert out.is_file()
    assert out.parent == (tmp_path / "downloads" / "exports").resolve()
    assert out.stat().st_size > 1000
    assert c.progress
    again = await nemo.ok("export_video", {"download_dir": "exports"})
    assert Path(again.data["downloaded_to"]) != out, "an existing file is never overwritten"


async def test_export_refusals(nemo: Session, clip: Path) -> None:
    await nemo.ok("new_project", {"title": "empty"})
    await nemo.fail("export_video", {}, "not_exportable")
    await upload(nemo, clip)
    await nemo.fail("export_video", {"download_dir": "../outside"}, "path_not_allowed")


async def test_export_runs_past_the_wait_and_resumes(
    nemo: Session, clip: Path, local_backend: LocalBackend
) -> None:
    await upload(nemo, clip)
    local_backend.knobs.render_min_seconds = 1.5
    c = await nemo.ok("export_video", {"wait_seconds": 0.2})
    assert c.data["status"] == "running"
    job_id = c.data["job"]["job_id"]
    # asking again resumes the same render instead of submitting another
    again = await nemo.ok("export_video", {"wait_seconds": 0.1})
    assert again.data["job"]["job_id"] == job_id
    with anyio.fail_after(30):
        done = await nemo.ok("get_job", {"job_id": job_id, "wait_seconds": 20})
    assert done.data["export"]["status"] == "completed"
    assert len(local_backend.stats.renders) == 1
    # resume by render id (a finished render is returned, not re-submitted)
    rid = done.data["export"]["render_id"]
    by_id = await nemo.ok("export_video", {"render_id": rid})
    assert by_id.data["url"] == done.data["export"]["url"]
    assert len(local_backend.stats.renders) == 1


async def test_cancel_jobs(nemo: Session, clip: Path, local_backend: LocalBackend) -> None:
    await upload(nemo, clip)
    local_backend.knobs.render_min_seconds = 5
    c = await nemo.ok("export_video", {"wait_seconds": 0.2})
    job_id = c.data["job"]["job_id"]
    cancelled = await nemo.ok("cancel_job", {"job_id": job_id})
    assert cancelled.data["kind"] == "export"
    assert cancelled.data["status"] == "cancelled"
    local_backend.knobs.agent_delay = 1.0
    e = await nemo.ok("edit_video", {"instruction": "add a title 'Go' at the top", "wait_seconds": 0.2})
    ce = await nemo.ok("cancel_job", {"job_id": e.data["job"]["job_id"]})
    assert ce.data["backend_cancelled"] is False
    assert "charged" in ce.data["message"]
    await nemo.fail("cancel_job", {"job_id": "job_unknown"}, "unknown_job")
    await nemo.fail("get_job", {"job_id": "job_unknown"}, "unknown_job")


async def test_projects_new_list_and_restart(
    settings: object, nemo: Session, clip: Path, tmp_path: Path, local_backend: LocalBackend
) -> None:
    first = await upload(nemo, clip)
    new = await nemo.ok("new_project", {"title": "second one"})
    second = new.data["session_id"]
    assert second != first
    listed = await nemo.ok("list_projects")
    assert listed.data["current_session_id"] == second
    assert {p["session_id"] for p in listed.data["projects"]} == {first, second}
    # a restarted server resumes the current project
    async with Client(build_server(make_settings(tmp_path, local_backend.url))) as client2:
        again = Session(client2)
        tl = await again.ok("get_timeline", {})
        assert tl.data["session_id"] == second
        old = await again.ok("get_timeline", {"session_id": first})
        assert old.data["export_ready"] is True


async def test_session_loss_creates_a_new_current_project(
    nemo: Session, clip: Path, local_backend: LocalBackend
) -> None:
    old = await upload(nemo, clip)
    local_backend.lose_session(old)
    text = await nemo.fail("get_timeline", {}, "session_lost")
    assert "gone" in text
    listed = await nemo.ok("list_projects")
    cur = listed.data["current_session_id"]
    assert cur
    assert cur != old
    assert any(p["session_id"] == old and p["lost"] for p in listed.data["projects"])


async def test_upload_preflight_errors_name_the_file(
    nemo: Session, tmp_path: Path, local_backend: LocalBackend
) -> None:
    notes = tmp_path / "media" / "notes.txt"
    notes.write_text("hello")
    text = await nemo.fail("upload_media", {"sources": [str(notes)]}, "unsupported_file")
    assert "notes.txt" in text
    assert "mp4, mov" in text
    await nemo.fail("upload_media", {"sources": [str(tmp_path / "nope.mp4")]}, "file_not_found")
    await nemo.fail("upload_media", {"sources": ["file:///etc/passwd"]}, "bad_url")
    await nemo.fail("upload_media", {"sources": ["data:video/mp4;base64,AAAA"]}, "bad_url")
    text = await nemo.fail("upload_media", {"sources": ["https://bob:secret@example.com/a.mp4"]}, "bad_url")
    assert "secret" not in text
    assert local_backend.stats.requests.get("/api/upload-video/nemo_agent/me", 0) == 0


async def test_media_dirs_and_size_limit(tmp_path: Path, local_backend: LocalBackend, clip: Path) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    s = make_settings(tmp_path, local_backend.url, media_dirs=[allowed.resolve()], max_upload_bytes=1000)
    async with Client(build_server(s)) as client:
        nemo = Session(client)
        await nemo.fail("upload_media", {"sources": [str(clip)]}, "path_not_allowed")
        inside = allowed / "big.mp4"
        inside.write_bytes(clip.read_bytes())
        text = await nemo.fail("upload_media", {"sources": [str(inside)]}, "file_too_large")
        assert "big.mp4" in text


async def test_two_stage_generation_is_reported_per_stage(
    settings: ServerSettings, local_backend: LocalBackend
) -> None:
    local_backend.knobs.simulate_generation = True
    local_backend.knobs.initial_credits = 1000
    local_backend.knobs.generation_cost = 100
    settings.confirm_spend = "never"  # the question before a generation: tests/server/test_spending.py
    async with Client(build_server(settings)) as client:
        c = await Session(client).ok(
            "edit_video", {"instruction": "generate a video of a city timelapse", "wait_seconds": 45}
        )
    d = c.data
    assert d["status"] == "done", c.text
    assert len(d["stages"]) == 2, d
    assert d["stages"][0].startswith("Stage 1")


async def test_dropped_stream_recovers_from_state_without_resending(
    nemo: Session, clip: Path, local_backend: LocalBackend
) -> None:
    await upload(nemo, clip)
    local_backend.knobs.drop_stream_after = 1
    c = await nemo.ok("edit_video", {"instruction": "add a title 'Dropped' at the top"})
    assert any("Dropped" in ch for ch in c.data["changes"])
    assert any("not re-sent" in n for n in c.data["notes"])
    assert turns(local_backend) == 1


async def test_dropped_stream_without_change_is_reported(
    nemo: Session, clip: Path, local_backend: LocalBackend
) -> None:
    await upload(nemo, clip)
    local_backend.knobs.drop_stream_after = 1
    text = await nemo.fail("edit_video", {"instruction": "extract metadata"}, "stream_interrupted")
    assert "NOT re-sent" in text
    assert turns(local_backend) == 1


async def test_resources_and_prompts(nemo: Session, clip: Path) -> None:
    sid = await upload(nemo, clip)
    templates = (await nemo.client.list_resource_templates()).resource_templates
    assert any(t.uri_template == "nemo://projects/{session_id}/timeline" for t in templates)
    res = await nemo.client.read_resource(f"nemo://projects/{sid}/timeline")
    assert '"export_ready":true' in res.contents[0].text  # type: ignore[union-attr]
    credits = await nemo.client.read_resource("nemo://credits")
    assert '"available"' in credits.contents[0].text  # type: ignore[union-attr]
    prompts = {p.name for p in (await nemo.client.list_prompts()).prompts}
    assert prompts == {"quick_edit", "batch_edit", "iterative_refine"}
    got = await nemo.client.get_prompt("quick_edit", {"file": "/tmp/a.mp4"})
    assert "upload_media" in got.messages[0].content.text  # type: ignore[union-attr]


async def test_upload_by_url(nemo: Session, clip: Path, local_backend: LocalBackend) -> None:
    first = await nemo.ok("upload_media", {"sources": [str(clip)]})
    url = first.data["files"][0]["url"]
    assert url
    assert url.startswith(local_backend.url)
    await nemo.ok("new_project", {"title": "by url"})
    c = await nemo.ok("upload_media", {"sources": [url]})
    assert c.data["files"][0]["type"] == "video"
    assert c.data["files"][0]["source"] == url
    assert c.data["session_id"] != first.data["session_id"]


async def test_trailing_temporary_issue_is_dropped(
    nemo: Session, clip: Path, local_backend: LocalBackend
) -> None:
    await upload(nemo, clip)
    local_backend.knobs.trailing_temporary_issue = True
    c = await nemo.ok("edit_video", {"instruction": "add a title 'Noise' at the top"})
    assert "temporary issue" not in c.data["reply"]
    assert "temporary issue" not in c.text
    assert any("Noise" in ch for ch in c.data["changes"])


async def test_bad_path_in_instruction_is_refused_before_anything_happens(
    nemo: Session, local_backend: LocalBackend
) -> None:
    text = await nemo.fail(
        "edit_video", {"instruction": "upload /no/such/clip.mp4 and add a title 'X'"}, "file_not_found"
    )
    assert "clip.mp4" in text
    listed = await nemo.ok("list_projects")
    assert listed.data["projects"] == []
    assert turns(local_backend) == 0


async def test_upload_after_session_loss_moves_to_a_new_project(
    nemo: Session, clip: Path, local_backend: LocalBackend
) -> None:
    old = await upload(nemo, clip)
    local_backend.lose_session(old)
    c = await nemo.ok("upload_media", {"sources": [str(clip)]})
    assert c.data["session_id"] != old
    assert "gone" in " ".join(c.data["notes"])
    assert "gone" in c.text
    listed = await nemo.ok("list_projects")
    assert listed.data["current_session_id"] == c.data["session_id"]


async def test_edit_after_session_loss_says_the_timeline_is_gone(
    nemo: Session, clip: Path, local_backend: LocalBackend
) -> None:
    old = await upload(nemo, clip)
    local_backend.lose_session(old)
    text = await nemo.fail("edit_video", {"instruction": "add a title 'Lost' at the top"}, "session_lost")
    assert "timeline is gone" in text
    assert turns(local_backend) == 0


async def test_heartbeats_keep_progress_flowing(
    nemo: Session, clip: Path, local_backend: LocalBackend
) -> None:
    await upload(nemo, clip)
    local_backend.knobs.update({"heartbeat_interval": 0.2, "agent_delay": 1.0, "heartbeat_style": "typed"})
    c = await nemo.ok("edit_video", {"instruction": "add a title 'Beat' at the top", "wait_seconds": 20})
    assert c.data["status"] == "done"
    assert any("still working" in (m or "") for _, _, m in c.progress), c.progress


async def test_error_inside_the_stream(nemo: Session, clip: Path, local_backend: LocalBackend) -> None:
    await upload(nemo, clip)
    local_backend.knobs.error_mid_stream = 1
    c = await nemo.call("edit_video", {"instruction": "add a title 'Broken' at the top"})
    assert c.error, c.text
    assert "[agent_error]" in c.text
    assert "Traceback" not in c.text
    assert turns(local_backend) == 1


async def test_network_facing_server_refuses_local_paths(
    tmp_path: Path, local_backend: LocalBackend, clip: Path
) -> None:
    s = make_settings(tmp_path, local_backend.url, allow_local_paths=False)
    async with Client(build_server(s)) as client:
        text = await Session(client).fail("upload_media", {"sources": [str(clip)]}, "path_not_allowed")
        assert "clip.mp4" in text
