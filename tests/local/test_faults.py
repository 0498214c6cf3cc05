"""Injected faults: latency, 5xx bursts, rate limits, lost sessions, expired tokens, exhausted credits."""

from __future__ import annotations

import time

import httpx
import pytest

from nemo_mcp.local import LocalBackend
from tests.local.helpers import credits, start, state

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
        assert keep in local_backend.store.sessions
        fresh, sid2 = await start(client)  # new tokens work
        assert (await state(client, fresh, sid2))["video_infos"] == []
