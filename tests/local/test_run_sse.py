"""`/run_sse`: ADK and typed forms, heartbeats, silent turns, credits, faults in and before the stream."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from nemo_mcp.local import Knobs, LocalBackend, run_local_backend
from nemo_mcp.local.speech import PLAIN_EXPORT
from tests.local.helpers import credits, gui_steps, sign_in, start, state, turn, upload

pytestmark = pytest.mark.anyio


def _no_nulls(value: Any) -> bool:
    if isinstance(value, dict):
        return all(v is not None and _no_nulls(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_nulls(v) for v in value)
    return True


async def _ready(client: httpx.AsyncClient, clip: Path) -> tuple[dict[str, str], str]:
    headers, sid = await start(client)
    await upload(client, headers, sid, clip)
    return headers, sid


async def test_adk_events(local_backend: LocalBackend, media: dict[str, Path]) -> None:
    local_backend.knobs.gui_speak = "always"
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, sid = await _ready(client, media["clip"])
        t = await turn(client, headers, sid, "trim to the first 2 seconds")
        assert t.status == 200
        assert all(f.startswith("data: ") for f in t.frames)
        call, result, text = t.events
        for event in t.events:
            assert set(event) >= {"id", "invocationId", "author", "timestamp", "content", "actions"}
            assert isinstance(event["timestamp"], float)
            assert event["author"] == "nemo_agent"
            assert _no_nulls(event)
            assert "stateDelta" in event["actions"]
        assert len({e["invocationId"] for e in t.events}) == 1
        fc = call["content"]["parts"][0]["functionCall"]
        fr = result["content"]["parts"][0]["functionResponse"]
        assert call["content"]["role"] == "model"
        assert result["content"]["role"] == "user"
        assert fc["name"] == fr["name"] == "edit_multitrack"
        assert fc["id"] == fr["id"]
        assert result["actions"]["stateDelta"]["draft"]["d"] == 2000
        reply = text["content"]["parts"][0]["text"]
        assert "trimmed the video to 0.0s–2.0s" in reply
        assert gui_steps(reply)
        assert local_backend.stats.turns[sid] == ["trim to the first 2 seconds"]


async def test_typed_events(media: dict[str, Path]) -> None:
    knobs = Knobs(sse_format="typed", silent_fraction=0)
    async with (
        run_local_backend(knobs) as backend,
        httpx.AsyncClient(base_url=backend.url, timeout=30) as client,
    ):
        headers, sid = await _ready(client, media["clip"])
        t = await turn(client, headers, sid, "mute it")
        assert [e["type"] for e in t.events] == ["tool_call", "tool_result", "text"]
        assert t.events[0]["name"] == "edit_multitrack"
        assert t.events[0]["args"]["action"] == "volume"
        assert t.events[1]["result"]["status"] == "success"
        assert "muted" in t.events[2]["content"]


@pytest.mark.parametrize("style", ["comment", "typed", "empty", "none"])
async def test_heartbeat_styles(style: str, media: dict[str, Path]) -> None:
    knobs = Knobs(heartbeat_style=style, heartbeat_interval=0.05, agent_delay=0.4, silent_fraction=0)
    async with (
        run_local_backend(knobs) as backend,
        httpx.AsyncClient(base_url=backend.url, timeout=30) as client,
    ):
        headers, sid = await _ready(client, media["clip"])
        t = await turn(client, headers, sid, "make it square")
        assert len(t.events) == 3  # heartbeats never count as events
        if style == "none":
            assert t.heartbeats == []
        else:
            assert len(t.heartbeats) >= 3
            assert set(t.heartbeats) == {style}


async def test_silent_fraction_and_seed(media: dict[str, Path]) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        async with run_local_backend(Knobs(silent_fraction=1.0)) as backend:
            client.base_url = httpx.URL(backend.url)
            headers, sid = await _ready(client, media["clip"])
            t = await turn(client, headers, sid, "add a title 'Quiet' at the top")
            assert t.texts == []
            assert t.tools == ["edit_multitrack"]
            assert (await state(client, headers, sid))["draft"]["t"][-1]["sg"][0]["txt"] == "Quiet"
            info = await turn(client, headers, sid, "extract metadata")
            assert info.texts  # info turns always answer
        async with run_local_backend(Knobs(silent_fraction=0.5, seed=7)) as backend:
            client.base_url = httpx.URL(backend.url)
            headers, sid = await _ready(client, media["clip"])
            spoke = [bool((await turn(client, headers, sid, "speed 1.1x")).texts) for _ in range(8)]
        # seeded per (seed, session, turn number): reproducible, and a mix of silent and spoken turns
        expected = [random.Random(f"7:{sid}:{n}").random() >= 0.5 for n in range(1, 9)]
        assert spoke == expected


async def test_trailing_temporary_issue(media: dict[str, Path]) -> None:
    knobs = Knobs(trailing_temporary_issue=True, silent_fraction=0)
    async with (
        run_local_backend(knobs) as backend,
        httpx.AsyncClient(base_url=backend.url, timeout=30) as client,
    ):
        headers, sid = await _ready(client, media["clip"])
        t = await turn(client, headers, sid, "make it 720p")
        assert len(t.texts) == 2
        assert "1280x720" in t.texts[0]
        assert t.texts[1].startswith("I encountered a temporary issue")


async def test_credits_frozen_during_turn_then_debited(media: dict[str, Path]) -> None:
    knobs = Knobs(agent_delay=0.6, silent_fraction=0, edit_cost=10)
    async with (
        run_local_backend(knobs) as backend,
        httpx.AsyncClient(base_url=backend.url, timeout=30) as client,
    ):
        headers, sid = await _ready(client, media["clip"])
        running = asyncio.create_task(turn(client, headers, sid, "slow motion"))
        await asyncio.sleep(0.3)
        assert await credits(client, headers) == {"available": 90, "frozen": 10, "total": 100}
        await running
        assert await credits(client, headers) == {"available": 90, "frozen": 0, "total": 90}
        await turn(client, headers, sid, "summarize the video")  # info turns are free
        await turn(client, headers, sid, "export it")  # export requests are free
        assert (await credits(client, headers))["available"] == 90


async def test_insufficient_credits_is_2001_before_the_stream(
    local_backend: LocalBackend, media: dict[str, Path]
) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, sid = await _ready(client, media["clip"])
        local_backend.knobs.exhaust_credits = True
        t = await turn(client, headers, sid, "make it vertical")
        assert t.status == 200
        assert t.body["code"] == 2001
        assert "register?bind=anon_" in t.body["message"]
        assert (await turn(client, headers, sid, "extract metadata")).texts  # free turns still work
        local_backend.knobs.error_transport = "status"
        assert (await turn(client, headers, sid, "make it vertical")).status == 403


async def test_request_validation(local_backend: LocalBackend, media: dict[str, Path]) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, sid = await _ready(client, media["clip"])
        _, user_id = await sign_in(client)
        base = {"app_name": "nemo_agent", "session_id": sid, "new_message": {"parts": [{"text": "mute"}]}}
        assert (await turn(client, headers, sid, "", body={**base, "app_name": "other"})).status == 400
        assert (await turn(client, headers, sid, "", body={**base, "new_message": {}})).status == 400
        unknown = await turn(client, headers, sid, "", body={**base, "session_id": "9" * 19})
        assert unknown.status == 200
        assert unknown.body["code"] == 1002
        assert (await turn(client, {}, sid, "", body=base)).body["code"] == 1001
        # user_id may be "me", the real id, or missing
        own_id = local_backend.state.sessions[sid].user.user_id
        for user in ("me", own_id, None):
            body = {**base, "user_id": user} if user else base
            assert (await turn(client, headers, sid, "", body=body)).events
        assert (await turn(client, headers, sid, "", body={**base, "user_id": user_id})).body["code"] == 1001
        assert local_backend.stats.run_sse_posts == 8
        assert len(local_backend.stats.turns[sid]) == 3
    async with (
        run_local_backend(Knobs(error_transport="status")) as backend,
        httpx.AsyncClient(base_url=backend.url, timeout=30) as client,
    ):
        headers, sid = await start(client)
        assert (await turn(client, headers, sid, "", body={**base, "session_id": "1"})).status == 404


async def test_drop_stream_after_keeps_the_edit(media: dict[str, Path]) -> None:
    knobs = Knobs(drop_stream_after=1, agent_delay=0.3, silent_fraction=0)
    async with (
        run_local_backend(knobs) as backend,
        httpx.AsyncClient(base_url=backend.url, timeout=30) as client,
    ):
        headers, sid = await _ready(client, media["clip"])
        t = await turn(client, headers, sid, "trim to the first 1 second")
        assert t.dropped  # an abortive close, not a clean end of the chunked body
        assert len(t.events) == 1
        assert t.tools == ["edit_multitrack"]
        assert not t.errors
        with anyio.fail_after(10):  # the turn continues on the server: poll state like a client would
            while (await state(client, headers, sid))["draft"]["d"] != 1000:
                await asyncio.sleep(0.1)
            while (await credits(client, headers))["frozen"]:
                await asyncio.sleep(0.05)
        assert (await credits(client, headers))["available"] == 90


async def test_truncate_sse_cuts_a_frame_mid_json_and_keeps_the_edit(media: dict[str, Path]) -> None:
    knobs = Knobs(truncate_sse=1, agent_delay=0.2, silent_fraction=0, heartbeat_style="none")
    async with (
        run_local_backend(knobs) as backend,
        httpx.AsyncClient(base_url=backend.url, timeout=30) as client,
    ):
        headers, sid = await _ready(client, media["clip"])
        body = {
            "app_name": "nemo_agent",
            "session_id": sid,
            "new_message": {"parts": [{"text": "trim to 1 s"}]},
        }
        raw, broken = b"", False
        with anyio.fail_after(10):
            async with client.stream("POST", "/run_sse", headers=headers, json=body) as resp:
                try:
                    async for chunk in resp.aiter_raw():
                        raw += chunk
                except httpx.RemoteProtocolError:
                    broken = True
        assert broken  # the connection breaks, no clean end of the chunked body
        *whole, cut = raw.split(b"\n\n")
        assert len(whole) == 1
        assert json.loads(whole[0].removeprefix(b"data: "))["content"]["parts"][0]["functionCall"]
        assert cut.startswith(b'data: {"')  # half a frame: no blank line, JSON cut in the middle
        with pytest.raises(ValueError):
            json.loads(cut.removeprefix(b"data: "))
        with anyio.fail_after(10):  # the turn continues on the server
            while (await state(client, headers, sid))["draft"]["d"] != 1000:
                await asyncio.sleep(0.05)
        backend.knobs.truncate_sse = -1
        assert (await turn(client, headers, sid, "make it square")).dropped is False


async def test_error_mid_stream_aborts_and_refunds(media: dict[str, Path]) -> None:
    knobs = Knobs(error_mid_stream=1, silent_fraction=0)
    async with (
        run_local_backend(knobs) as backend,
        httpx.AsyncClient(base_url=backend.url, timeout=30) as client,
    ):
        headers, sid = await _ready(client, media["clip"])
        t = await turn(client, headers, sid, "trim to the first 1 second")
        assert len(t.events) == 2
        assert t.errors
        assert t.events[-1] == {"error": t.errors[0]}
        await asyncio.sleep(0.1)
        assert (await state(client, headers, sid))["draft"]["d"] == 4000  # not applied
        assert await credits(client, headers) == {"available": 100, "frozen": 0, "total": 100}
        backend.knobs.sse_format = "typed"
        backend.knobs.error_mid_stream = 0
        t = await turn(client, headers, sid, "mute")
        assert t.events == [{"type": "error", "error": t.errors[0]}]


async def test_replies_for_export_help_and_generation(
    local_backend: LocalBackend, media: dict[str, Path]
) -> None:
    local_backend.knobs.gui_speak = "off"  # plain words
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, sid = await start(client)
        help_reply = (await turn(client, headers, sid, "what's the weather like?")).text
        assert "trim" in help_reply
        assert "Upload a video" in help_reply
        assert "upload a video first" in (await turn(client, headers, sid, "make it 1080p")).text
        await upload(client, headers, sid, media["clip"])
        plain = (await turn(client, headers, sid, "export")).text
        assert any(phrase in plain for phrase in PLAIN_EXPORT["en"])
        assert not gui_steps(plain)
        local_backend.knobs.gui_speak = "always"
        assert gui_steps((await turn(client, headers, sid, "export")).text, topic="export")
        gen = await turn(client, headers, sid, "generate a video of a city timelapse")
        assert "needs the NemoVideo cloud" in gen.text
        assert gen.tools == []
        assert (await credits(client, headers))["available"] == 100


async def test_simulated_two_stage_generation(media: dict[str, Path], tmp_path: Path) -> None:
    knobs = Knobs(simulate_generation=True, agent_delay=0.2, heartbeat_style="typed", heartbeat_interval=0.05)
    async with (
        run_local_backend(knobs) as backend,
        httpx.AsyncClient(base_url=backend.url, timeout=30) as client,
    ):
        headers, sid = await start(client)
        t = await turn(client, headers, sid, "generate a video of a city timelapse")
        assert t.tools == ["generate_video_with_seedance", "edit_multitrack"]
        gen_call = t.events[1]
        assert gen_call["longRunningToolIds"] == [gen_call["content"]["parts"][0]["functionCall"]["id"]]
        assert len(t.texts) == 3
        assert "ready" in t.texts[1]
        assert t.heartbeats
        st = await state(client, headers, sid)
        assert [tr["tt"] for tr in st["draft"]["t"]] == [0, 1, 7]
        assert st["draft"]["d"] == 5000
        assert st["generated_media"][0]["prompt"] == "a city timelapse"
        assert st["video_infos"][0]["duration"] == pytest.approx(5.0, abs=0.1)
        assert "5.00s" in (await turn(client, headers, sid, "extract metadata")).text
        assert (await credits(client, headers))["available"] == 0
        r = await client.get(st["generated_media"][0]["cdn_url"])
        assert r.status_code == 200
        assert r.content[4:8] == b"ftyp"


async def test_drop_before_any_event_and_client_disconnect(media: dict[str, Path]) -> None:
    knobs = Knobs(drop_stream_after=0, agent_delay=0.2, silent_fraction=0)
    async with (
        run_local_backend(knobs) as backend,
        httpx.AsyncClient(base_url=backend.url, timeout=30) as client,
    ):
        headers, sid = await _ready(client, media["clip"])
        t = await turn(client, headers, sid, "make it square")
        assert t.status == 200
        assert t.frames == []
        assert t.dropped
        backend.knobs.drop_stream_after = -1
        # the client walks away after the first event: the edit still lands
        body = {
            "app_name": "nemo_agent",
            "session_id": sid,
            "new_message": {"parts": [{"text": "trim to 1 second"}]},
        }
        with anyio.fail_after(10):
            async with client.stream("POST", "/run_sse", headers=headers, json=body) as resp:
                async for line in resp.aiter_lines():
                    if line.startswith("data:"):
                        break
            while (await state(client, headers, sid))["draft"]["d"] != 1000:
                await asyncio.sleep(0.05)
        st = await state(client, headers, sid)
        assert st["draft"]["m"]["width"] == st["draft"]["m"]["height"] == 1080  # the first turn applied too


async def test_events_arrive_while_the_turn_runs(media: dict[str, Path]) -> None:
    """A real stream: the tool call shows up before the (slow) tool finishes, not all at the end."""
    knobs = Knobs(agent_delay=0.8, silent_fraction=0, heartbeat_style="none")
    async with (
        run_local_backend(knobs) as backend,
        httpx.AsyncClient(base_url=backend.url, timeout=30) as client,
    ):
        headers, sid = await _ready(client, media["clip"])
        body = {"app_name": "nemo_agent", "session_id": sid, "new_message": {"parts": [{"text": "2x speed"}]}}
        arrivals = []
        began = asyncio.get_running_loop().time()
        with anyio.fail_after(10):
            async with client.stream("POST", "/run_sse", headers=headers, json=body) as resp:
                async for line in resp.aiter_lines():
                    if line.startswith("data:"):
                        arrivals.append(asyncio.get_running_loop().time() - began)
        assert len(arrivals) == 3
        assert arrivals[0] < 0.5  # the call event comes at once
        assert arrivals[1] > 0.7  # the result after the tool's 0.8 s
