"""Auth, sessions, claim token, credits, state, envelopes and bad input, over real loopback HTTP."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest

from nemo_mcp.local import Knobs, LocalBackend, run_local_backend
from tests.local.helpers import credits, new_session, sign_in, start, state

pytestmark = pytest.mark.anyio


async def test_anonymous_token_shape_and_limits(local_backend: LocalBackend) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url) as client:
        r = await client.post("/api/auth/anonymous-token", headers={"X-Client-Id": "client-a"})
        data = r.json()["data"]
        assert r.status_code == 200
        assert r.json()["code"] == 0
        assert re.fullmatch(r"nmv_usr_[A-Za-z0-9_-]{40}", data["token"])
        assert data["user_id"].startswith("anon_")
        assert data["credits"] == 100
        expires = dt.datetime.fromisoformat(data["expires_at"].replace("Z", "+00:00"))
        assert dt.timedelta(days=6.9) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=7)
        # no X-Client-Id: HTTP 400 in the envelope
        r = await client.post("/api/auth/anonymous-token")
        assert r.status_code == 400
        assert r.json()["code"] == 400
        assert "X-Client-Id" in r.json()["message"]
        # one live token per client id
        r = await client.post("/api/auth/anonymous-token", headers={"X-Client-Id": "client-a"})
        assert r.status_code == 429
        assert r.json()["data"] is None
        assert r.headers["Retry-After"]
        # after expiry the same client id gets a new token for the same user
        local_backend.knobs.expire_tokens = True
        r2 = await client.post("/api/auth/anonymous-token", headers={"X-Client-Id": "client-a"})
        assert r2.status_code == 200
        assert r2.json()["data"]["user_id"] == data["user_id"]
        assert r2.json()["data"]["token"] != data["token"]


async def test_per_ip_cap_and_initial_credits() -> None:
    knobs = Knobs(ip_token_cap=2, initial_credits=7)
    async with run_local_backend(knobs) as backend, httpx.AsyncClient(base_url=backend.url) as client:
        answers = [
            await client.post("/api/auth/anonymous-token", headers={"X-Client-Id": f"c{i}"}) for i in range(3)
        ]
        assert [r.status_code for r in answers] == [200, 200, 429]
        assert answers[0].json()["data"]["credits"] == 7


async def test_sessions_claim_credits_state(local_backend: LocalBackend) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url) as client:
        headers, user_id = await sign_in(client)
        for segment in ("me", user_id):  # both user segments work
            r = await client.post(
                f"/api/tasks/{segment}/with-session/nemo_agent",
                headers=headers,
                json={"task_name": "demo", "language": "en"},
            )
            data = r.json()["data"]
            assert re.fullmatch(r"\d{19}", data["session_id"])
            assert data["task_id"].startswith("task_")
            assert data["user_id"] == user_id
        sid = data["session_id"]
        assert local_backend.state.sessions[sid].language == "en"
        r = await client.post(
            "/api/auth/claim-token", headers=headers, json={"task_id": data["task_id"], "session_id": sid}
        )
        assert r.json()["data"]["claim_token"].startswith("clm_")
        assert r.json()["data"]["expires_in"] == 604800
        assert (await client.post("/api/auth/claim-token", headers=headers, json={})).status_code == 400
        assert await credits(client, headers) == {"available": 100, "frozen": 0, "total": 100}
        for segment in ("me", user_id):
            r = await client.get(f"/api/state/nemo_agent/{segment}/{sid}/latest", headers=headers)
            body = r.json()["data"]
            assert (body["session_id"], body["task_id"], body["task_name"]) == (sid, data["task_id"], "demo")
            assert set(body["state"]) >= {
                "draft",
                "video_infos",
                "canvas_config",
                "generated_media",
                "video_analyses",
            }
        assert body["state"]["draft"]["t"] == []
        assert body["state"]["canvas_config"]["width"] == 1920


async def test_auth_and_session_errors_http200_transport(local_backend: LocalBackend) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url) as client:
        for hdrs in ({}, {"Authorization": "Bearer nmv_usr_nope"}, {"Authorization": "Basic abc"}):
            r = await client.get("/api/credits/balance/simple", headers=hdrs)
            assert r.status_code == 200
            assert r.json() == {
                "code": 1001,
                "message": r.json()["message"],
                "data": None,
            }
        headers, sid = await start(client)
        r = await client.get("/api/state/nemo_agent/me/1234567890123456789/latest", headers=headers)
        assert r.status_code == 200
        assert r.json()["code"] == 1002
        r = await client.get(f"/api/state/nemo_agent/anon_someoneelse/{sid}/latest", headers=headers)
        assert r.json()["code"] == 1001
        # another user's session is not found
        other, _ = await sign_in(client)
        assert (await client.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=other)).json()[
            "code"
        ] == 1002
        # expired tokens are 1001
        local_backend.expire_tokens()
        assert (await client.get("/api/credits/balance/simple", headers=headers)).json()["code"] == 1001


async def test_status_transport_maps_codes() -> None:
    async with (
        run_local_backend(Knobs(error_transport="status")) as backend,
        httpx.AsyncClient(base_url=backend.url) as client,
    ):
        r = await client.get("/api/credits/balance/simple")
        assert r.status_code == 401
        assert r.json()["code"] == 1001
        headers, _ = await start(client)
        r = await client.get("/api/state/nemo_agent/me/1/latest", headers=headers)
        assert r.status_code == 404
        assert r.json()["code"] == 1002
        r = await client.post("/api/auth/anonymous-token")
        assert r.status_code == 400


async def test_bad_input_is_answered_in_the_envelope(local_backend: LocalBackend) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url) as client:
        headers, sid = await start(client)
        json_headers = {**headers, "Content-Type": "application/json"}
        r = await client.post(
            "/api/tasks/me/with-session/nemo_agent", headers=json_headers, content=b"{not json"
        )
        assert r.status_code == 400
        assert r.json()["code"] == 400
        assert "Malformed JSON" in r.json()["message"]
        r = await client.post(
            "/api/tasks/me/with-session/nemo_agent", headers=json_headers, content=b"[1, 2]"
        )
        assert r.status_code == 400
        assert "object" in r.json()["message"]
        r = await client.post("/api/tasks/me/with-session/nemo_agent", headers=headers, json={"task_name": 5})
        assert r.status_code == 400
        r = await client.get("/api/credits/balance/simple", headers={**headers, "X-Big": "x" * 40_000})
        assert r.status_code == 431
        assert r.json()["code"] == 431
        big = b'{"task_name": "' + b"x" * (17 * 1024 * 1024) + b'"}'
        r = await client.post("/api/tasks/me/with-session/nemo_agent", headers=json_headers, content=big)
        assert r.status_code == 413
        assert r.json()["code"] == 413
        r = await client.get("/api/nowhere", headers=headers)
        assert r.status_code == 404
        assert r.json()["code"] == 404
        r = await client.delete("/api/credits/balance/simple", headers=headers)
        assert r.status_code == 405
        assert r.json()["data"] is None
        # and the server keeps serving
        assert (await state(client, headers, sid))["draft"]["t"] == []
        assert await new_session(client, headers)


async def test_an_unhandled_error_is_answered_in_the_envelope(
    local_backend: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in a handler becomes a JSON 500 in the envelope (render routes: with `success: false`)."""

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    async with httpx.AsyncClient(base_url=local_backend.url) as client:
        headers, _ = await start(client)
        monkeypatch.setattr("nemo_mcp.local.accounts.authenticate", broken)
        r = await client.get("/api/credits/balance/simple", headers=headers)
        assert r.status_code == 500
        assert r.json() == {"code": 500, "message": "Internal error in the local backend", "data": None}
        r = await client.get("/api/render/proxy/lambda/r1", headers=headers)
        assert r.status_code == 500
        assert r.json()["success"] is False
        monkeypatch.undo()
        assert (await credits(client, headers))["available"] == 100  # still serving


async def test_admin_routes(local_backend: LocalBackend) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url) as client:
        r = await client.patch("/_local/knobs", json={"silent_fraction": 0.5, "render_shape": "flat"})
        assert r.json()["data"]["silent_fraction"] == 0.5
        assert local_backend.knobs.render_shape == "flat"
        r = await client.patch("/_local/knobs", json={"render_shape": "round"})
        assert r.status_code == 400
        assert local_backend.knobs.render_shape == "flat"
        assert (await client.patch("/_local/knobs", json={"nope": 1})).status_code == 400
        assert (await client.get("/_local/knobs")).json()["data"]["silent_fraction"] == 0.5
        headers, _ = await start(client)
        stats = (await client.get("/_local/stats")).json()["data"]
        assert stats["requests"]["/api/auth/anonymous-token"] == 1
        assert stats["last_headers"]["x-skill-source"] == "nemo-mcp-tests"
        assert stats["last_headers"]["authorization"] == "Bearer ***"  # never recorded in clear
        assert (await client.post("/_local/reset")).json()["data"]["reset"]
        assert (await client.get("/api/credits/balance/simple", headers=headers)).json()["code"] == 1001
