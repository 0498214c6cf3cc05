"""The invented web stand-ins over loopback HTTP: the claim page (project, timeline, media, latest render),
invalid/expired links, the register page, HTML escaping of user text, and no faults on these pages."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from nemo_mcp.local import LocalBackend
from nemo_mcp.local.routes.web import clock, timeline_html
from tests.local.helpers import render, sign_in, state, turn, upload

pytestmark = pytest.mark.anyio

EVIL = "<script>alert(1)</script>"


async def _claim(client: httpx.AsyncClient, headers: dict[str, str], sid: str, task_id: str) -> str:
    r = await client.post(
        "/api/auth/claim-token", headers=headers, json={"task_id": task_id, "session_id": sid}
    )
    assert r.json()["code"] == 0, r.text
    return str(r.json()["data"]["claim_token"])


def _html(r: httpx.Response, status: int = 200) -> str:
    assert r.status_code == status, r.text[:300]
    assert r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "<script" not in r.text.lower()  # no scripts of ours, and user text never becomes markup
    assert not re.search(r"<(?:link|img|iframe|object)\b|@import", r.text, re.I), "self-contained"
    base = str(r.request.url).split("/", 3)[:3]
    for url in re.findall(r'(?:src|href)="([^"]*)"', r.text):
        assert url.split("/", 3)[:3] == base, f"{url} is not on the backend"
    return r.text


async def test_claim_page_shows_the_project(local_backend: LocalBackend, media: dict[str, Path]) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, _ = await sign_in(client)
        r = await client.post(
            "/api/tasks/me/with-session/nemo_agent", headers=headers, json={"task_name": f"Trip {EVIL}"}
        )
        sid, task_id = r.json()["data"]["session_id"], r.json()["data"]["task_id"]
        ct = await _claim(client, headers, sid, task_id)
        page = _html(await client.get("/workspace/claim", params={"ct": ct}))
        assert "The timeline is empty" in page
        assert "Not exported yet" in page
        assert "Trip &lt;script&gt;alert(1)&lt;/script&gt;" in page

        await upload(client, headers, sid, media["clip"])
        await turn(client, headers, sid, f"add a title '{EVIL}' from 0:01 to 0:03 at the top")
        await turn(client, headers, sid, "mute the video")
        draft = (await state(client, headers, sid))["draft"]
        assert any(tr["tt"] == 7 for tr in draft["t"]), draft
        done = await render(client, headers, sid, draft)
        assert done["status"] == "completed"

        page = _html(await client.get(f"/workspace/claim?ct={ct}"))  # the token is reusable
        assert sid in page
        assert task_id in page
        assert "Video track (1 segment)" in page
        assert "Text track (1 segment)" in page
        assert "clip.mp4" in page
        assert "muted" in page
        assert "0:01.0–0:03.0" in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "0:04.0" in page  # the length
        video = re.search(r'<video controls[^>]* src="([^"]+)"', page)
        assert video, page
        assert video.group(1).startswith(f"{local_backend.url}/cdn/renders/")
        got = await client.get(video.group(1))
        assert got.status_code == 200
        assert got.headers["content-type"] == "video/mp4"
        assert "completed" in page


async def test_invalid_or_expired_claim_links(local_backend: LocalBackend) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url) as client:
        headers, _ = await sign_in(client)
        r = await client.post("/api/tasks/me/with-session/nemo_agent", headers=headers, json={})
        sid, task_id = r.json()["data"]["session_id"], r.json()["data"]["task_id"]
        for query in ("?ct=clm_nope", "?ct=", "", f"?ct={EVIL}"):
            page = _html(await client.get(f"/workspace/claim{query}"), 404)
            assert "invalid or has expired" in page
        ct = await _claim(client, headers, sid, task_id)
        assert (await client.get(f"/workspace/claim?ct={ct}")).status_code == 200
        local_backend.state.claims[ct].expires_at = 0  # expired
        assert "invalid" in _html(await client.get(f"/workspace/claim?ct={ct}"), 404)
        local_backend.knobs.claim_ttl_seconds = 60
        ct = await _claim(client, headers, sid, task_id)
        local_backend.lose_session(sid)  # the project is gone
        assert (await client.get(f"/workspace/claim?ct={ct}")).status_code == 404
        local_backend.knobs.claim_ttl_seconds = -1  # links that are dead on arrival
        headers2, _ = await sign_in(client)
        r = await client.post("/api/tasks/me/with-session/nemo_agent", headers=headers2, json={})
        data = r.json()["data"]
        r = await client.post(
            "/api/auth/claim-token",
            headers=headers2,
            json={"task_id": data["task_id"], "session_id": data["session_id"]},
        )
        assert r.json()["data"]["expires_in"] == -1
        ct = r.json()["data"]["claim_token"]
        assert (await client.get(f"/workspace/claim?ct={ct}")).status_code == 404


async def test_register_page(local_backend: LocalBackend) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url) as client:
        _, user_id = await sign_in(client)
        page = _html(await client.get("/register", params={"bind": user_id}))
        assert "no accounts" in page.lower()
        assert f"<code>{user_id}</code> has 100 credits" in page
        assert f"curl -X POST {local_backend.url}/_local/reset" in page
        assert f"curl -X PATCH {local_backend.url}/_local/credits" in page
        assert f"&quot;user_id&quot;: &quot;{user_id}&quot;" in page or f'"user_id": "{user_id}"' in page
        assert "initial_credits" in page
        assert "--initial-credits" in page
        page = _html(await client.get("/register", params={"bind": EVIL}))
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "not known" in page
        assert "No accounts" in _html(await client.get("/register"))


async def test_web_pages_are_not_api_requests(local_backend: LocalBackend) -> None:
    """Faults and one-shots model the API: a browser opening a link must not trigger or consume them."""
    async with httpx.AsyncClient(base_url=local_backend.url) as client:
        headers, _ = await sign_in(client)
        await client.get("/api/credits/balance/simple", headers=headers)
        local_backend.knobs.update(
            {"fail_5xx": 1, "wrong_content_type": 1, "malformed_json": 1, "exhaust_credits": True}
        )
        assert (await client.get("/register")).status_code == 200
        assert (await client.get("/workspace/claim?ct=x")).status_code == 404
        k = local_backend.knobs
        assert (k.fail_5xx, k.wrong_content_type, k.malformed_json, k.exhaust_credits) == (1, 1, 1, True)
        assert local_backend.stats.last_headers["authorization"] == "Bearer ***"  # still the API call's


def test_timeline_formatter_tolerates_odd_drafts() -> None:
    assert clock(0) == "0:00.0"
    assert clock(61_260) == "1:01.3"
    assert clock(3_600_000) == "1:00:00.0"
    assert clock("x") == "?"
    assert "empty" in timeline_html(None)
    assert "empty" in timeline_html({"t": [{"tt": 0, "sg": []}]})
    odd = {
        "t": [
            {"tt": 9, "sg": [{"s": "a", "d": None, "n": EVIL, "m": "x"}, 5]},
            {
                "tt": 1,
                "sg": [{"s": 0, "d": 2000, "n": "song.m4a", "v": 30, "m": {"kind": "audio", "loop": True}}],
            },
            {"tt": 0, "sg": [{"s": 0, "d": 1000, "n": "fast.mp4", "sp": 2.0, "v": 100}]},
        ],
        "d": 2000,
        "m": [],
    }
    out = timeline_html(odd)
    assert "Track type 9" in out
    assert "&lt;script&gt;" in out
    assert "<script" not in out
    assert "volume 30% · looped" in out
    assert "speed ×2" in out
