"""NemoClient against the embedded local backend over real loopback HTTP: every knob and fault."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from nemo_mcp.api import (
    ApiConfig,
    AuthError,
    FileTooLargeError,
    HeartbeatEvent,
    NemoClient,
    NoCreditsError,
    PlanRequiredError,
    RateLimitedError,
    RenderFailedError,
    ServerError,
    SessionLostError,
    TextEvent,
    ToolCallEvent,
    TurnEnded,
    TurnEvent,
    UnsupportedFileError,
    diff,
)
from nemo_mcp.api.media import preflight
from nemo_mcp.local import LocalBackend

pytestmark = pytest.mark.anyio


async def run_turn(api: NemoClient, sid: str, text: str) -> tuple[list[TurnEvent], TurnEnded]:
    events = [ev async for ev in api.stream_turn(sid, text)]
    ends = [e for e in events if isinstance(e, TurnEnded)]
    assert len(ends) == 1, "exactly one TurnEnded"
    assert events[-1] is ends[0], "TurnEnded comes last"
    return events, ends[0]


async def ready_session(api: NemoClient, media: dict[str, Path]) -> str:
    session = await api.create_session(text_hint="edit my clip")
    await api.upload_files(session.session_id, [media["clip"]])
    return session.session_id


def accepted_turns(backend: LocalBackend, sid: str) -> list[str]:
    return list(backend.stats.turns.get(sid, []))


# -- the whole workflow ----------


async def test_full_workflow(
    api: NemoClient, local_backend: LocalBackend, media: dict[str, Path], tmp_path: Path
) -> None:
    session = await api.create_session(text_hint="做一个视频")
    assert session.language == "zh-CN"
    assert session.session_id.isdigit()
    assert session.task_id.startswith("task_")
    assert session.user_id is not None
    assert session.user_id.startswith("anon_")
    assert api.user_id == session.user_id
    assert api.anonymous

    credits = await api.get_credits()
    assert credits.available == 100
    assert credits.total == credits.available + credits.frozen

    progress: list[tuple[int, int]] = []
    files = await api.upload_files(
        session.session_id, [media["clip"], media["image"]], progress=lambda s, t: progress.append((s, t))
    )
    assert [f.filename for f in files] == ["clip.mp4", "still.png"]
    assert files[0].file_type == "video"
    assert files[0].cdn_url
    assert files[0].duration == pytest.approx(3.0, abs=0.2)
    total = media["clip"].stat().st_size + media["image"].stat().st_size
    assert progress[-1] == (total, total)

    before = await api.get_state(session.session_id)
    assert before.export_ready
    assert before.summary_line().startswith("Timeline (1 track): 1. Video: clip.mp4 (0-3s), still.png")

    events, end = await run_turn(api, session.session_id, "add a title 'Hello'")
    assert end.reason == "closed"
    assert end.accepted
    assert end.had_text
    assert "edit_multitrack" in end.tools_used
    assert any(isinstance(e, ToolCallEvent) for e in events)
    after = await api.get_state(session.session_id)
    sentences = [c.sentence for c in diff(before, after)]
    assert any('"Hello"' in s for s in sentences), sentences
    assert '2. Title: "Hello"' in after.summary_line()

    job = await api.submit_render(session.session_id, after.draft)
    assert job.id.startswith("render_")
    assert job.attempted_ids == [job.id]
    seen: list[str] = []
    final = await api.wait_render(job.id, on_status=lambda s: seen.append(s.status))
    assert final.status == "completed"
    assert final.progress == 100
    assert final.output_url
    assert seen[-1] == "completed"

    got: list[tuple[int, int]] = []
    (tmp_path / "out").mkdir()
    out = await api.download_render(
        job.id, tmp_path / "out", output_url=final.output_url, progress=lambda r, t: got.append((r, t))
    )
    assert out == tmp_path / "out" / f"{job.id}.mp4"
    assert out.stat().st_size > 1000
    assert out.read_bytes()[4:8] == b"ftyp"
    assert got[-1][0] == out.stat().st_size
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temp file left

    link = await api.browser_link(session.task_id, session.session_id)
    assert link.startswith("https://nemovideo.com/workspace/claim?ct=clm_")
    assert "nmv_" not in link


async def test_attribution_headers_on_every_request(api: NemoClient, local_backend: LocalBackend) -> None:
    await api.get_credits()
    headers = local_backend.stats.last_headers
    attribution = api.attribution.headers()
    for name, value in attribution.items():
        assert headers[name.lower()] == value
    assert headers["authorization"] == "Bearer ***"
    assert attribution["X-Skill-Source"] == "from-video-openapi"


async def test_attribution_platform_from_skill_source(
    local_backend: LocalBackend, make_config: Callable[..., ApiConfig]
) -> None:
    async with NemoClient(make_config(local_backend.url, skill_source="claude-desktop")) as api:
        await api.get_credits()
    assert local_backend.stats.last_headers["x-skill-platform"] == "claude-desktop"


# -- identity ----------


async def test_token_is_persisted_0600_and_reused_across_restarts(
    local_backend: LocalBackend, make_config: Callable[..., ApiConfig], config_dir: Path
) -> None:
    cfg = make_config(local_backend.url)
    async with NemoClient(cfg) as api:
        await api.get_credits()
        first_user = api.user_id
    store_file = config_dir / "state.db"  # the state store keeps the token (0600)
    assert stat.S_IMODE(os.stat(store_file).st_mode) == 0o600
    assert (config_dir / "client_id").read_text().strip()
    async with NemoClient(cfg) as again:
        await again.get_credits()
        assert again.token_source == "stored"
        assert again.user_id == first_user
    # one token per client: the restart did not ask for another (which would be a 429)
    assert local_backend.stats.requests["/api/auth/anonymous-token"] == 1


async def test_env_token_is_used_without_minting(
    local_backend: LocalBackend, make_config: Callable[..., ApiConfig]
) -> None:
    async with NemoClient(make_config(local_backend.url)) as minted:
        await minted.get_credits()
        token = minted._transport.auth.token
    async with NemoClient(
        make_config(local_backend.url, token=token, config_dir=Path("/nonexistent/x"))
    ) as api:
        assert (await api.get_credits()).available == 100
        assert api.token_source == "env"
    assert local_backend.stats.requests["/api/auth/anonymous-token"] == 1


async def test_bad_env_token_is_an_actionable_auth_error(
    local_backend: LocalBackend, make_config: Callable[..., ApiConfig]
) -> None:
    async with NemoClient(make_config(local_backend.url, token="nmv_usr_revoked")) as api:
        with pytest.raises(AuthError) as info:
            await api.get_credits()
    assert "NEMO_TOKEN" in str(info.value)
    assert "nmv_usr_revoked" not in str(info.value)
    assert local_backend.stats.requests["/api/auth/anonymous-token"] == 0


@pytest.mark.parametrize("transport", ["http200", "status"])
async def test_token_expiry_mid_session_remints_once(
    api: NemoClient, local_backend: LocalBackend, media: dict[str, Path], transport: str
) -> None:
    local_backend.knobs.error_transport = transport
    sid = await ready_session(api, media)
    user = api.user_id
    local_backend.knobs.expire_tokens = True
    state = await api.get_state(sid)  # 1001 -> re-mint with the same client id -> retried once
    assert state.session_id == sid
    assert api.user_id == user  # same anonymous user
    local_backend.knobs.expire_tokens = True
    _, end = await run_turn(api, sid, "add a title 'After expiry'")
    assert end.reason == "closed"
    assert end.reauthenticated
    assert accepted_turns(local_backend, sid) == ["add a title 'After expiry'"]
    assert local_backend.stats.requests["/api/auth/anonymous-token"] == 3


async def test_missing_client_id_400_regenerates_once(
    local_backend: LocalBackend, make_config: Callable[..., ApiConfig], config_dir: Path
) -> None:
    config_dir.mkdir(parents=True)
    (config_dir / "client_id").write_text("x" * 64 + "\n")  # valid for us, but the backend may reject odd ids
    async with NemoClient(make_config(local_backend.url, client_id="  ")) as api:
        await api.get_credits()
    # client id from the file was accepted (<= 64 chars); now force the 400 path with an over-long id
    async with NemoClient(make_config(local_backend.url, persist_token=False)) as api:
        api._transport.auth._client_id = "y" * 65
        await api.get_credits()
        assert api._transport.auth._client_id != "y" * 65
    assert (config_dir / "client_id").read_text().strip() != "x" * 64


async def test_anonymous_token_429_then_success(
    local_backend: LocalBackend, make_config: Callable[..., ApiConfig]
) -> None:
    local_backend.knobs.rate_limit = 1
    local_backend.knobs.rate_limit_path = "/api/auth/anonymous-token"
    async with NemoClient(make_config(local_backend.url)) as api:
        assert (await api.get_credits()).available == 100
    assert local_backend.stats.requests["/api/auth/anonymous-token"] == 2


async def test_anonymous_token_429_exhausted_says_set_nemo_token(
    local_backend: LocalBackend, make_config: Callable[..., ApiConfig]
) -> None:
    cfg = make_config(local_backend.url, persist_token=False, client_id="fixed-client")
    async with NemoClient(cfg) as first:
        await first.get_credits()
    async with NemoClient(cfg) as second:  # same client id, token not persisted: 1 token / client / 7 days
        with anyio.fail_after(5):
            with pytest.raises(RateLimitedError) as info:
                await second.get_credits()
    assert "NEMO_TOKEN" in str(info.value)
    assert local_backend.stats.requests["/api/auth/anonymous-token"] == 3  # first, then 429 + one retry


# -- error codes through both transports ----------


@pytest.mark.parametrize("transport", ["http200", "status"])
async def test_session_loss(
    api: NemoClient, local_backend: LocalBackend, media: dict[str, Path], transport: str
) -> None:
    local_backend.knobs.error_transport = transport
    sid = await ready_session(api, media)
    local_backend.lose_session(sid)
    with pytest.raises(SessionLostError) as info:
        await api.get_state(sid)
    assert info.value.tag == "session_lost"
    assert "timeline is gone" in str(info.value)
    _, end = await run_turn(api, sid, "add a title 'x'")
    assert end.reason == "error"
    assert end.error_tag == "session_lost"
    assert not end.accepted
    fresh = await api.create_session()
    assert fresh.session_id != sid


@pytest.mark.parametrize("transport", ["http200", "status"])
async def test_no_credits_carries_the_bind_link(
    api: NemoClient, local_backend: LocalBackend, media: dict[str, Path], transport: str
) -> None:
    local_backend.knobs.error_transport = transport
    sid = await ready_session(api, media)
    local_backend.exhaust_credits()
    _, end = await run_turn(api, sid, "add a title 'x'")
    assert end.reason == "error"
    assert isinstance(end.error, NoCreditsError)
    assert end.error.register_url == f"https://nemovideo.com/register?bind={api.user_id}"
    assert end.message is not None
    assert end.error.register_url in end.message
    assert accepted_turns(local_backend, sid) == []


@pytest.mark.parametrize("transport", ["http200", "status"])
async def test_unsupported_and_too_large_uploads(
    api: NemoClient, local_backend: LocalBackend, media: dict[str, Path], tmp_path: Path, transport: str
) -> None:
    local_backend.knobs.error_transport = transport
    session = await api.create_session()
    fake = tmp_path / "fake.mp4"  # passes our magic-byte sniff, but is not decodable media
    fake.write_bytes(b"\x00\x00\x00\x20ftypisom" + os.urandom(4000))
    with pytest.raises(UnsupportedFileError) as info:
        await api.upload_files(session.session_id, [fake])
    assert "fake.mp4" in str(info.value)
    assert "mp4, mov" in str(info.value)
    local_backend.knobs.max_upload_bytes = 1000
    with pytest.raises(FileTooLargeError) as too_big:
        await api.upload_files(session.session_id, [media["clip"]])
    assert "ompress" in str(too_big.value)


async def test_plan_required_402_is_not_credits(
    api: NemoClient, local_backend: LocalBackend, media: dict[str, Path]
) -> None:
    sid = await ready_session(api, media)
    draft = (await api.get_state(sid)).draft
    local_backend.knobs.strict_attribution = True
    for name in ("X-Skill-Source", "X-Skill-Version", "X-Skill-Platform"):
        del api._transport._http.headers[name]  # simulate a client that forgets the attribution headers
    with pytest.raises(PlanRequiredError) as info:
        await api.submit_render(sid, draft)
    assert info.value.tag == "plan_required"
    assert "not credits" in str(info.value)
    assert local_backend.stats.render_submits == 1  # a plan refusal is not retried


async def test_preflight_blocks_before_any_byte(
    api: NemoClient, local_backend: LocalBackend, tmp_path: Path
) -> None:
    session = await api.create_session()
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(UnsupportedFileError):
        await api.upload_files(session.session_id, [bad])
    assert local_backend.stats.requests[f"/api/upload-video/nemo_agent/me/{session.session_id}"] == 0


async def test_a_checked_file_is_uploaded_only_if_unchanged(
    api: NemoClient, local_backend: LocalBackend, media: dict[str, Path], tmp_path: Path
) -> None:
    session = await api.create_session()
    path = tmp_path / "mine.mp4"
    path.write_bytes(media["clip"].read_bytes())
    checked = preflight(path)  # what the MCP server does first, after its own folder rules
    files = await api.upload_files(session.session_id, [checked])
    assert [f.filename for f in files] == ["mine.mp4"]

    other = tmp_path / "other.mp4"
    other.write_bytes(media["clip"].read_bytes())
    os.replace(other, path)  # swapped after the check
    with pytest.raises(UnsupportedFileError) as info:
        await api.upload_files(session.session_id, [checked])
    assert info.value.rule == "changed"
    assert "mine.mp4" in str(info.value)
    assert len((await api.get_state(session.session_id)).video_infos) == 1

    # the client's own limit still applies to a file checked with another one
    small = ApiConfig.from_env(
        env={}, base_url=local_backend.url, config_dir=tmp_path / "cfg", max_upload_bytes=100
    )
    async with NemoClient(small) as limited:
        with pytest.raises(FileTooLargeError) as too_big:
            await limited.upload_files(session.session_id, [preflight(media["clip"])])
    assert "the limit is 100 bytes" in str(too_big.value)


# -- retries ----------


async def test_429_then_success_honours_retry_after(api: NemoClient, local_backend: LocalBackend) -> None:
    await api.get_credits()
    local_backend.knobs.update({"rate_limit": 1, "rate_limit_path": "/api/credits", "retry_after": 1})
    started = anyio.current_time()
    assert (await api.get_credits()).available == 100
    assert anyio.current_time() - started >= 0.9  # waited for Retry-After: 1
    assert local_backend.stats.requests["/api/credits/balance/simple"] == 3


async def test_429_exhausted(api: NemoClient, local_backend: LocalBackend) -> None:
    await api.get_credits()
    local_backend.knobs.update({"rate_limit": 10, "rate_limit_path": "/api/credits", "retry_after": 0})
    with pytest.raises(RateLimitedError):
        await api.get_credits()
    assert (
        local_backend.stats.requests["/api/credits/balance/simple"] == 1 + 3
    )  # first call + 1 try + 2 retries


async def test_5xx_retried_for_get_not_for_upload(
    api: NemoClient, local_backend: LocalBackend, media: dict[str, Path]
) -> None:
    session = await api.create_session()
    local_backend.knobs.update({"fail_5xx": 2, "fail_5xx_path": "/api/state"})
    assert (await api.get_state(session.session_id)).session_id == session.session_id
    path = f"/api/upload-video/nemo_agent/me/{session.session_id}"
    local_backend.knobs.update({"fail_5xx": 1, "fail_5xx_path": path})
    with pytest.raises(ServerError):
        await api.upload_files(session.session_id, [media["clip"]])
    assert local_backend.stats.requests[path] == 1


# -- render ----------


async def test_first_render_submit_failing_retries_with_a_new_id(
    api: NemoClient, local_backend: LocalBackend, media: dict[str, Path]
) -> None:
    sid = await ready_session(api, media)
    draft = (await api.get_state(sid)).draft
    local_backend.knobs.fail_first_render_submit = True
    job = await api.submit_render(sid, draft)
    assert len(job.attempted_ids) == 2
    assert job.attempted_ids[0] != job.attempted_ids[1]
    assert job.id == job.attempted_ids[1]
    assert local_backend.stats.render_submits == 2
    assert list(local_backend.stats.renders) == [job.id]
    assert (await api.wait_render(job.id)).status == "completed"


@pytest.mark.parametrize("shape", ["wrapped", "flat"])
async def test_both_poll_shapes(
    api: NemoClient, local_backend: LocalBackend, media: dict[str, Path], tmp_path: Path, shape: str
) -> None:
    local_backend.knobs.render_shape = shape
    sid = await ready_session(api, media)
    job = await api.submit_render(sid, (await api.get_state(sid)).draft)
    statuses = [s async for s in api.poll_render(job.id)]
    assert statuses[-1].status == "completed"
    assert statuses[-1].output_url
    assert statuses[-1].id == job.id
    path = await api.download_render(job.id, tmp_path / "video.mp4", output_url=statuses[-1].output_url)
    assert path.stat().st_size > 1000


async def test_render_failure(api: NemoClient, local_backend: LocalBackend, media: dict[str, Path]) -> None:
    sid = await ready_session(api, media)
    local_backend.knobs.render_fail = True
    job = await api.submit_render(sid, (await api.get_state(sid)).draft)
    with pytest.raises(RenderFailedError) as info:
        await api.wait_render(job.id)
    assert info.value.render_id == job.id
    assert info.value.tag == "render_failed"


async def test_output_url_gone_falls_back_to_proxy_download(
    api: NemoClient, local_backend: LocalBackend, media: dict[str, Path], tmp_path: Path
) -> None:
    local_backend.knobs.output_url_gone = True
    sid = await ready_session(api, media)
    job = await api.submit_render(sid, (await api.get_state(sid)).draft)
    final = await api.wait_render(job.id)
    dest = tmp_path / "downloads"
    path = await api.download_render(job.id, dest / "x.mp4", output_url=final.output_url)
    assert path.read_bytes()[4:8] == b"ftyp"
    assert local_backend.stats.requests[f"/api/render/proxy/{job.id}/download"] == 1
    assert sorted(p.name for p in dest.iterdir()) == ["x.mp4"]  # the failed first try left nothing behind


async def test_cancel_render(api: NemoClient, local_backend: LocalBackend, media: dict[str, Path]) -> None:
    local_backend.knobs.render_min_seconds = 5
    sid = await ready_session(api, media)
    job = await api.submit_render(sid, (await api.get_state(sid)).draft)
    await api.cancel_render(job.id)
    with pytest.raises(RenderFailedError):
        await api.wait_render(job.id, max_wait=10)


# -- /run_sse forms, heartbeats and faults ----------


@pytest.mark.parametrize("fmt", ["adk", "typed"])
@pytest.mark.parametrize("style", ["comment", "typed", "empty", "none"])
async def test_sse_forms_and_heartbeat_styles(
    api: NemoClient, local_backend: LocalBackend, media: dict[str, Path], fmt: str, style: str
) -> None:
    local_backend.knobs.update(
        {"sse_format": fmt, "heartbeat_style": style, "heartbeat_interval": 0.05, "agent_delay": 0.3}
    )
    sid = await ready_session(api, media)
    events, end = await run_turn(api, sid, "add a title 'Beats'")
    assert end.reason == "closed"
    assert end.had_text
    assert "edit_multitrack" in end.tools_used
    beats = [e for e in events if isinstance(e, HeartbeatEvent)]
    if style == "none":
        assert end.heartbeat_count == len(beats)
    else:
        assert beats, "heartbeats were delivered as events"
        assert {b.style for b in beats} >= {{"comment": "comment", "typed": "typed", "empty": "empty"}[style]}
    assert all(e.ts >= end.started_at for e in events)


async def test_silent_edit_is_reported_by_diff(
    api: NemoClient, local_backend: LocalBackend, media: dict[str, Path]
) -> None:
    local_backend.knobs.silent_fraction = 1.0
    sid = await ready_session(api, media)
    before = await api.get_state(sid)
    _, end = await run_turn(api, sid, "add a title 'Quiet'")
    assert end.silent
    assert end.tools_used
    changes = diff(before, await api.get_state(sid))
    assert any("Quiet" in c.sentence for c in changes)


async def test_trailing_temporary_issue_is_marked_noise(
    api: NemoClient, local_backend: LocalBackend, media: dict[str, Path]
) -> None:
    local_backend.knobs.trailing_temporary_issue = True
    sid = await ready_session(api, media)
    events, end = await run_turn(api, sid, "add a title 'Noise'")
    noise = [e for e in events if isinstance(e, TextEvent) and e.noise]
    assert len(noise) == 1
    assert not any("temporary issue" in t for t in end.texts)


async def test_dropped_stream_is_interrupted_and_not_resent(
    api: NemoClient, local_backend: LocalBackend, media: dict[str, Path]
) -> None:
    local_backend.knobs.drop_stream_after = 1
    sid = await ready_session(api, media)
    before = await api.get_state(sid)
    _, end = await run_turn(api, sid, "add a title 'Dropped'")
    assert end.reason == "interrupted"
    assert end.error_tag == "stream_interrupted"
    assert end.accepted
    assert local_backend.stats.run_sse_posts == 1
    # the backend finished the edit anyway: the caller recovers by polling the state
    with anyio.fail_after(10):
        while not diff(before, await api.get_state(sid)):
            await anyio.sleep(0.05)


async def test_gateway_page_instead_of_the_stream(
    api: NemoClient, local_backend: LocalBackend, media: dict[str, Path]
) -> None:
    sid = await ready_session(api, media)
    local_backend.knobs.wrong_content_type = 1
    local_backend.knobs.wrong_content_type_path = "/run_sse"
    _, end = await run_turn(api, sid, "add a title 'Gateway'")
    assert end.reason == "interrupted"  # unknown whether it got through: check the state, never re-send
    assert end.error_tag == "bad_response"
    assert "web page" in (end.message or str(end.error))
    assert local_backend.stats.turns[sid] == []  # the gateway page never reached the agent
    assert local_backend.knobs.wrong_content_type == 0


async def test_error_mid_stream(api: NemoClient, local_backend: LocalBackend, media: dict[str, Path]) -> None:
    local_backend.knobs.error_mid_stream = 1
    sid = await ready_session(api, media)
    _, end = await run_turn(api, sid, "add a title 'Err'")
    assert end.reason == "error"
    assert end.error_tag == "agent_error"
    assert end.stream_errors
    assert local_backend.stats.run_sse_posts == 1


async def test_idle_watchdog_ends_a_heartbeat_only_turn(
    local_backend: LocalBackend, make_config: Callable[..., ApiConfig], media: dict[str, Path]
) -> None:
    local_backend.knobs.update({"heartbeat_interval": 0.05, "agent_delay": 3.0})
    async with NemoClient(make_config(local_backend.url, sse_idle_timeout=0.6)) as api:
        sid = await ready_session(api, media)
        started = anyio.current_time()
        events, end = await run_turn(api, sid, "add a title 'Slow'")
        assert end.reason == "idle_timeout"
        assert end.error_tag == "timeout"
        assert anyio.current_time() - started < 2.5
        assert any(isinstance(e, HeartbeatEvent) for e in events)
    assert local_backend.stats.run_sse_posts == 1


async def test_5xx_on_run_sse_is_not_retried(
    api: NemoClient, local_backend: LocalBackend, media: dict[str, Path]
) -> None:
    sid = await ready_session(api, media)
    local_backend.knobs.update({"fail_5xx": 1, "fail_5xx_path": "/run_sse"})
    _, end = await run_turn(api, sid, "add a title 'x'")
    assert end.reason == "error"
    assert end.error_tag == "server_error"
    assert local_backend.stats.requests["/run_sse"] == 1


async def test_no_run_sse_message_is_ever_sent_twice(
    api: NemoClient, local_backend: LocalBackend, media: dict[str, Path]
) -> None:
    """Whatever fails, each message reaches the agent at most once (stats count accepted turns)."""
    sid = await ready_session(api, media)
    faults: list[dict[str, Any]] = [
        {"drop_stream_after": 0},
        {"drop_stream_after": 2},
        {"error_mid_stream": 0},
        {"error_mid_stream": 1},
        {"fail_5xx": 1, "fail_5xx_path": "/run_sse"},
        {"rate_limit": 1, "rate_limit_path": "/run_sse", "retry_after": 0},
        {"expire_tokens": True},
        {"trailing_temporary_issue": True},
        {"sse_format": "typed", "heartbeat_style": "empty"},
    ]
    for i, fault in enumerate(faults):
        local_backend.knobs.update(
            {"drop_stream_after": -1, "error_mid_stream": -1, "trailing_temporary_issue": False, **fault}
        )
        await run_turn(api, sid, f"add a title 'Message {i}'")
        await anyio.sleep(0.05)
    texts = accepted_turns(local_backend, sid)
    assert len(texts) == len(set(texts)), texts
    # every /run_sse POST carried a different message, except the one documented auth retry
    # (refused on auth, so never accepted)
    assert local_backend.stats.requests["/run_sse"] == len(faults) + 1
    await anyio.sleep(0.2)
    local_backend.lose_session(sid)
    _, end = await run_turn(api, sid, "after loss")
    assert end.error_tag == "session_lost"
    assert "after loss" not in accepted_turns(local_backend, sid)
