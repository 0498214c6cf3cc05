"""Injected faults: latency, 5xx bursts, rate limits, lost sessions, expired tokens, exhausted credits,
broken JSON, gateway pages, cut downloads; and the `/_local/credits` admin route."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import httpx
import pytest

from nemo_mcp.local import Knobs, LocalBackend
from nemo_mcp.local.accounts import issue_claim, issue_token
from nemo_mcp.local.controls import reset
from nemo_mcp.local.sessions import create_session
from nemo_mcp.local.state import SURVIVES_RESET, BackendState
from tests.local.helpers import credits, render, start, state, upload

pytestmark = pytest.mark.anyio


async def test_latency(local_backend: LocalBackend) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url) as client:
        headers, _ = await start(client)
        local_backend.knobs.latency = 0.3
        began = time.monotonic()
        assert (await credits(client, headers))["available"] == 100
        assert time.monotonic() - began >= 0.3


async def test_5xx_burst_matching_a_path(local_backend: LocalBackend) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url) as client:
        headers, sid = await start(client)
        local_backend.knobs.update({"fail_5xx": 2, "fail_5xx_path": "/api/state/"})
        assert (
            await client.get("/api/credits/balance/simple", headers=headers)
        ).status_code == 200  # other path
        for _ in range(2):
            r = await client.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=headers)
            assert r.status_code == 503
            assert r.json()["code"] == 503
            assert r.json()["data"] is None
        assert (
            await client.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=headers)
        ).status_code == 200
        local_backend.knobs.update({"fail_5xx": 1, "fail_5xx_path": "/api/render/"})
        r = await client.get("/api/render/proxy/lambda/x", headers=headers)
        assert r.status_code == 503
        assert r.json()["success"] is False


async def test_rate_limit_with_retry_after(local_backend: LocalBackend) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url) as client:
        headers, _ = await start(client)
        local_backend.knobs.update({"rate_limit": 1, "rate_limit_path": "/api/credits", "retry_after": 7})
        r = await client.get("/api/credits/balance/simple", headers=headers)
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "7"
        assert r.json()["code"] == 429
        assert (await client.get("/api/credits/balance/simple", headers=headers)).status_code == 200


async def test_lose_session_expire_tokens_exhaust_credits(local_backend: LocalBackend) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url) as client:
        headers, sid = await start(client)
        _, keep = await start(client)
        local_backend.knobs.lose_session = sid
        r = await client.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=headers)
        assert r.json()["code"] == 1002
        assert local_backend.knobs.lose_session == ""  # one-shot
        local_backend.knobs.exhaust_credits = True
        assert await credits(client, headers) == {"available": 0, "frozen": 0, "total": 0}
        r = await client.patch("/_local/knobs", json={"expire_tokens": True})
        assert r.status_code == 200
        assert (await client.get("/api/credits/balance/simple", headers=headers)).json()["code"] == 1001
        assert keep in local_backend.state.sessions
        fresh, sid2 = await start(client)  # new tokens work
        assert (await state(client, fresh, sid2))["video_infos"] == []


async def test_plan_required_despite_attribution_headers(local_backend: LocalBackend) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url) as client:
        headers, sid = await start(client)
        assert headers["X-Skill-Source"]  # the attribution headers are sent
        draft = {"t": [{"tt": 0, "sg": [{"s": 0, "d": 1000}]}], "d": 1000}
        local_backend.knobs.update({"plan_required": 2})
        for n in range(2):
            body = {"id": f"render_plan_{n}", "sessionId": sid, "draft": draft}
            r = await client.post("/api/render/proxy/lambda", headers=headers, json=body)
            assert r.status_code == 402
            assert r.json()["code"] == 402
            assert r.json()["success"] is False
            assert "free plan export blocked" in r.json()["message"].lower()
        assert local_backend.knobs.plan_required == 0
        assert local_backend.stats.renders == {}
        # an invalid submission is a 400 and does not consume the fault
        local_backend.knobs.plan_required = 1
        bad = await client.post("/api/render/proxy/lambda", headers=headers, json={"sessionId": sid})
        assert bad.status_code == 400
        assert local_backend.knobs.plan_required == 1


async def test_wrong_content_type_is_a_200_html_gateway_page(local_backend: LocalBackend) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url) as client:
        headers, sid = await start(client)
        local_backend.knobs.update({"wrong_content_type": 2, "wrong_content_type_path": "/api/state/"})
        assert (await client.get("/api/credits/balance/simple", headers=headers)).json()["code"] == 0
        for _ in range(2):
            r = await client.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=headers)
            assert r.status_code == 200  # on purpose: a status check alone is fooled
            assert r.headers["content-type"].startswith("text/html")
            assert "502 Bad Gateway" in r.text
            with pytest.raises(ValueError):
                r.json()
        assert (await state(client, headers, sid))["video_infos"] == []
        # no path filter: any route, and the request never reaches the backend
        local_backend.knobs.update({"wrong_content_type": 1, "wrong_content_type_path": ""})
        before = local_backend.stats.render_submits
        r = await client.post("/api/render/proxy/lambda", headers=headers, json={})
        assert r.headers["content-type"].startswith("text/html")
        assert local_backend.stats.render_submits == before
        assert (await client.get("/_local/knobs")).json()["data"]["wrong_content_type"] == 0
        # forwarded: the request is handled (a session is created), only its answer is the page
        local_backend.knobs.update({"wrong_content_type": 1, "wrong_content_type_forward": True})
        sessions = len(local_backend.state.sessions)
        r = await client.post("/api/tasks/me/with-session/nemo_agent", headers=headers, json={})
        assert r.status_code == 200
        assert "502 Bad Gateway" in r.text
        assert len(local_backend.state.sessions) == sessions + 1


async def test_malformed_json_truncates_json_answers_only(local_backend: LocalBackend) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url) as client:
        headers, _ = await start(client)
        r = await client.patch("/_local/knobs", json={"malformed_json": 2, "malformed_json_path": "/api/"})
        assert r.json()["data"]["malformed_json"] == 2  # the admin answer itself is never mangled
        cut = [await client.get("/api/credits/balance/simple", headers=headers) for _ in range(2)]
        whole = await client.get("/api/credits/balance/simple", headers=headers)
        assert whole.json()["data"]["available"] == 100
        assert local_backend.knobs.malformed_json == 0
        for r in cut:
            assert r.status_code == 200
            assert r.headers["content-type"] == "application/json"
            assert int(r.headers["content-length"]) == len(r.content)  # a complete, well-framed answer
            assert whole.content.startswith(r.content)
            assert 0 < len(r.content) < len(whole.content)
            with pytest.raises(ValueError):
                r.json()
        # the request still takes effect: a new session exists though its answer is unreadable
        local_backend.knobs.malformed_json = 1
        r = await client.post("/api/tasks/me/with-session/nemo_agent", headers=headers, json={})
        with pytest.raises(ValueError):
            r.json()
        assert len(local_backend.state.sessions) == 2
        # non-JSON answers pass and do not count; errors in the envelope are JSON and do
        local_backend.knobs.update({"malformed_json": 1, "malformed_json_path": ""})
        assert (await client.get("/cdn/uploads/nothing")).status_code == 404  # JSON 404: consumed
        assert local_backend.knobs.malformed_json == 0


async def test_malformed_json_garble_keeps_the_length_but_breaks_the_syntax(
    local_backend: LocalBackend,
) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url) as client:
        headers, _ = await start(client)
        whole = await client.get("/api/credits/balance/simple", headers=headers)
        local_backend.knobs.update({"malformed_json": 1, "malformed_json_style": "garble"})
        r = await client.get("/api/credits/balance/simple", headers=headers)
        assert r.status_code == 200
        assert int(r.headers["content-length"]) == len(r.content) == len(whole.content) + 2
        assert r.content == whole.content[:-1] + b",]}"
        with pytest.raises(ValueError):
            r.json()
        with pytest.raises(ValueError):
            Knobs(malformed_json_style="shuffle")


async def _partial_get(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> tuple[int, int]:
    """(declared Content-Length, bytes received) of a download the server breaks off."""
    got = 0
    broken = False
    async with client.stream("GET", url, headers=headers) as resp:
        assert resp.status_code == 200
        declared = int(resp.headers["content-length"])
        try:
            async for chunk in resp.aiter_raw():
                got += len(chunk)
        except httpx.RemoteProtocolError:
            broken = True
    assert broken, "the connection should break, not end cleanly"
    return declared, got


async def test_truncate_download_cuts_both_download_routes(
    local_backend: LocalBackend, media: dict[str, Path]
) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, sid = await start(client)
        await upload(client, headers, sid, media["clip2"])
        done = await render(client, headers, sid, (await state(client, headers, sid))["draft"], "render_cut")
        proxy = "/api/render/proxy/render_cut/download"
        full = (await client.get(done["outputUrl"])).content
        assert len(full) > 10_000
        local_backend.knobs.truncate_download = 2
        # a HEAD, a JSON error and other routes are no downloads: they pass and do not count
        assert (await client.head(done["outputUrl"])).status_code == 200
        assert (await client.get("/api/render/proxy/nope/download", headers=headers)).status_code == 404
        assert (await client.get("/api/credits/balance/simple", headers=headers)).json()["code"] == 0
        assert local_backend.knobs.truncate_download == 2
        for url in (done["outputUrl"], proxy):
            declared, got = await _partial_get(client, url, headers)
            assert declared == len(full)  # a correct Content-Length...
            assert len(full) // 4 < got < len(full)  # ...but only about half the body
        assert local_backend.knobs.truncate_download == 0
        assert (await client.get(proxy, headers=headers)).content == full  # the next download is whole
        local_backend.knobs.truncate_download = 1  # any /cdn/ file counts
        media_url = (await state(client, headers, sid))["video_infos"][0]["cdn_url"]
        declared, got = await _partial_get(client, media_url, {})
        assert got < declared == media["clip2"].stat().st_size


async def test_admin_credits_route(local_backend: LocalBackend) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url) as client:
        headers, _ = await start(client)
        other, _ = await start(client)
        token = headers["Authorization"].split(" ", 1)[1]
        user_id = local_backend.state.tokens[token].user.user_id
        r = await client.patch("/_local/credits", json={"token": token, "available": 7})
        assert r.status_code == 200
        assert r.json()["data"] == {user_id: {"available": 7, "frozen": 0, "total": 7}}
        assert (await credits(client, headers))["available"] == 7
        assert (await credits(client, other))["available"] == 100
        r = await client.patch("/_local/credits", json={"user_id": user_id, "available": 0})
        assert (await credits(client, headers))["available"] == 0
        r = await client.patch("/_local/credits", json={"user_id": "*", "available": 500})
        assert len(r.json()["data"]) == 2
        assert (
            (await credits(client, headers))["available"]
            == (await credits(client, other))["available"]
            == 500
        )
        for bad in (
            {"user_id": user_id},
            {"user_id": user_id, "available": -1},
            {"user_id": user_id, "available": "5"},
            {"user_id": user_id, "available": True},
            {"available": 5},
            {"user_id": user_id, "token": token, "available": 5},
        ):
            r = await client.patch("/_local/credits", json=bad)
            assert r.status_code == 400, bad
        assert (await client.patch("/_local/credits", json={"user_id": "anon_x", "available": 5})).json()[
            "code"
        ] == 404
        assert (await client.patch("/_local/credits", json={"token": "nmv_usr_x", "available": 5})).json()[
            "code"
        ] == 404
        assert (await credits(client, headers))["available"] == 500


def test_reset_forgets_all_but_the_knobs_the_data_dir_and_running_tasks(tmp_path: Path) -> None:
    knobs = Knobs(initial_credits=7)
    state = BackendState(knobs, tmp_path)
    user = issue_token(state, "c", "127.0.0.1", 100, 60, 0).user
    issue_claim(state, create_session(state, user, "p", None), 60)
    state.stats.run_sse_posts, state.render_submit_failed = 3, True
    tasks = state.tasks
    reset(state)
    fresh = BackendState(knobs, tmp_path)
    for field in dataclasses.fields(BackendState):
        if field.name not in SURVIVES_RESET:
            assert getattr(state, field.name) == getattr(fresh, field.name), field.name
    assert state.knobs is knobs
    assert state.data_dir == tmp_path
    assert state.tasks is tasks
    assert (state.users, state.tokens, state.sessions, state.claims) == ({}, {}, {}, {})
