"""Render proxy: submit rules, 402 attribution, poll shapes, cancel, failures, download fallback."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from nemo_mcp.local import Knobs, LocalBackend, run_local_backend
from tests.local.helpers import SKILL_HEADERS, download, render, start, state, upload, wait_render

pytestmark = pytest.mark.anyio
SUBMIT = "/api/render/proxy/lambda"


async def _project(client: httpx.AsyncClient, clip: Path) -> tuple[dict[str, str], str, dict[str, Any]]:
    headers, sid = await start(client)
    await upload(client, headers, sid, clip)
    return headers, sid, (await state(client, headers, sid))["draft"]


def _body(sid: str, draft: dict[str, Any], rid: str | None = None) -> dict[str, Any]:
    return {"id": rid or f"render_{uuid.uuid4().hex}", "sessionId": sid, "draft": draft}


async def test_submit_validation(local_backend: LocalBackend, media: dict[str, Path]) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, sid, draft = await _project(client, media["clip2"])
        r = await client.post(SUBMIT, headers=headers, json=_body(sid, draft, "render_dup"))
        assert r.json() == {"success": True, "data": {"id": "render_dup", "status": "pending", "progress": 5}}
        r = await client.post(SUBMIT, headers=headers, json=_body(sid, draft, "render_dup"))
        assert r.status_code == 409
        assert r.json()["success"] is False
        assert "new id" in r.json()["error"]
        bad: Any
        for bad in ({"t": []}, {"t": [{"tt": 0, "sg": []}]}, "nope"):
            r = await client.post(SUBMIT, headers=headers, json=_body(sid, bad))
            assert r.status_code == 400
            assert "no track with segments" in r.json()["message"]
        assert (
            await client.post(SUBMIT, headers=headers, json={"sessionId": sid, "draft": draft})
        ).status_code == 400
        r = await client.post(SUBMIT, headers=headers, json=_body("1" * 19, draft))
        assert r.json()["code"] == 1002
        assert r.json()["success"] is False
        assert (await client.post(SUBMIT, json=_body(sid, draft))).json()["code"] == 1001
        r = await client.get("/api/render/proxy/lambda/render_missing", headers=headers)
        assert r.status_code == 404
        assert r.json()["success"] is False
        assert (await wait_render(client, headers, "render_dup"))["status"] == "completed"
        assert set(local_backend.stats.renders) == {"render_dup"}
        assert local_backend.stats.render_submits == 8
        assert local_backend.stats.renders["render_dup"]["headers"]["x-skill-source"] == "nemo-mcp-tests"


async def test_402_without_attribution_once_credits_are_used_up(
    local_backend: LocalBackend, media: dict[str, Path]
) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, sid, draft = await _project(client, media["clip2"])
        bare = {"Authorization": headers["Authorization"]}
        assert (await client.post(SUBMIT, headers=bare, json=_body(sid, draft))).status_code == 200
        local_backend.exhaust_credits()
        r = await client.post(SUBMIT, headers=bare, json=_body(sid, draft))
        assert r.status_code == 402
        assert "Register or upgrade".lower() in r.json()["message"].lower()
        assert (await client.post(SUBMIT, headers=headers, json=_body(sid, draft))).status_code == 200
        local_backend.knobs.strict_attribution = True
        partial = {**bare, "X-Skill-Source": SKILL_HEADERS["X-Skill-Source"]}
        assert (await client.post(SUBMIT, headers=partial, json=_body(sid, draft))).status_code == 402
        assert (await client.post(SUBMIT, headers=headers, json=_body(sid, draft))).status_code == 200


async def test_flat_shape_and_progress(media: dict[str, Path], tmp_path: Path) -> None:
    knobs = Knobs(render_shape="flat", render_min_seconds=0.8)
    async with (
        run_local_backend(knobs) as backend,
        httpx.AsyncClient(base_url=backend.url, timeout=30) as client,
    ):
        headers, sid, draft = await _project(client, media["clip"])
        rid = "render_flat"
        await client.post(SUBMIT, headers=headers, json=_body(sid, draft, rid))
        seen = []
        with anyio.fail_after(30):
            while True:
                body = (await client.get(f"/api/render/proxy/lambda/{rid}", headers=headers)).json()
                seen.append((body["status"], body["progress"]))
                if body["status"] == "completed":
                    break
                await asyncio.sleep(0.05)
        assert body["taskId"] == rid
        assert "success" not in body
        assert "data" not in body
        assert body["output"]["duration"] == pytest.approx(4.0)
        assert body["output"]["size"] > 10_000
        assert "processing" in {s for s, _ in seen}
        assert [p for _, p in seen] == sorted(p for _, p in seen)
        out = await download(client, body["output"]["url"], tmp_path / "flat.mp4")
        assert out.duration == pytest.approx(4.0, abs=0.15)
        assert (out.width, out.height) == (320, 180)


async def test_progress_tracks_the_minimum_render_time(media: dict[str, Path]) -> None:
    """With `render_min_seconds`, progress rises with the clock (as a cloud render's does), not to 99% at
    once: a client can predict completion from it."""
    knobs = Knobs(render_min_seconds=2.0)
    async with (
        run_local_backend(knobs) as backend,
        httpx.AsyncClient(base_url=backend.url, timeout=30) as client,
    ):
        headers, sid, draft = await _project(client, media["clip"])
        rid = "render_steady"
        await client.post(SUBMIT, headers=headers, json=_body(sid, draft, rid))
        start_at = time.monotonic()
        seen: list[tuple[float, int]] = []
        with anyio.fail_after(30):
            while True:
                data = (await client.get(f"/api/render/proxy/lambda/{rid}", headers=headers)).json()["data"]
                seen.append((time.monotonic() - start_at, data["progress"]))
                if data["status"] == "completed":
                    break
                await asyncio.sleep(0.1)
        midway = [p for t, p in seen if 0.8 <= t <= 1.2]
        assert midway, seen
        assert all(25 <= p <= 80 for p in midway), seen  # about half way at half time (5 + 94 * 0.5)
        assert [p for _, p in seen] == sorted(p for _, p in seen)


async def test_cancel_kills_the_render(local_backend: LocalBackend, media: dict[str, Path]) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, sid, draft = await _project(client, media["image"])
        # a ten-minute 1080p still keeps FFmpeg busy long enough to cancel it mid-way
        draft["t"][0]["sg"][0]["d"] = draft["d"] = 600_000
        draft["m"].update(width=1920, height=1080)
        await client.post(SUBMIT, headers=headers, json=_body(sid, draft, "render_c"))
        job = local_backend.renders["render_c"]
        with anyio.fail_after(10):
            while job.proc is None:
                await asyncio.sleep(0.05)
        began = time.monotonic()  # FFmpeg runs as a subprocess: the loop keeps answering meanwhile
        assert (await client.get("/api/credits/balance/simple", headers=headers)).json()["code"] == 0
        assert time.monotonic() - began < 0.5
        assert (await client.get("/api/render/proxy/lambda/render_c", headers=headers)).json()["data"][
            "status"
        ] in (
            "pending",
            "processing",
        )
        r = await client.post("/api/render/proxy/lambda/render_c/cancel", headers=headers)
        assert r.json() == {"success": True, "data": {"id": "render_c", "status": "cancelled"}}
        assert (await wait_render(client, headers, "render_c", limit=5))["status"] == "cancelled"
        with anyio.fail_after(5):
            await job.proc.wait()  # FFmpeg was killed, not left running
        assert job.proc.returncode != 0
        assert job.task is not None
        assert job.task.done()
        assert (await client.get("/api/render/proxy/render_c/download", headers=headers)).status_code == 409
        draft["t"][0]["sg"][0]["d"] = draft["d"] = 1000
        assert (await render(client, headers, sid, draft))["status"] == "completed"  # the service carries on


async def test_failures_and_fallbacks(media: dict[str, Path], tmp_path: Path) -> None:
    knobs = Knobs(fail_first_render_submit=True, output_url_gone=True)
    async with (
        run_local_backend(knobs) as backend,
        httpx.AsyncClient(base_url=backend.url, timeout=30) as client,
    ):
        headers, sid, draft = await _project(client, media["clip2"])
        r = await client.post(SUBMIT, headers=headers, json=_body(sid, draft, "render_first"))
        assert r.status_code == 503
        assert r.json()["success"] is False
        done = await render(client, headers, sid, draft, "render_second")
        assert done["status"] == "completed"
        assert (await client.get(done["outputUrl"])).status_code == 404  # the CDN link is gone...
        out = await download(client, "/api/render/proxy/render_second/download", tmp_path / "d.mp4", headers)
        assert out.duration == pytest.approx(2.0, abs=0.15)  # ...the authenticated fallback works
        assert (await client.get("/api/render/proxy/render_second/download")).json()["code"] == 1001
        r = await client.post("/api/render/proxy/lambda/render_second/cancel", headers=headers)
        assert r.status_code == 409
        backend.knobs.render_fail = True
        failed = await render(client, headers, sid, draft)
        assert failed["status"] == "failed"
        assert "injected" in failed["error"]
        backend.knobs.render_fail = False
        remote = {
            **draft,
            "t": [{**draft["t"][0], "sg": [{**draft["t"][0]["sg"][0], "src": "https://cdn.example/x.mp4"}]}],
        }
        failed = await render(client, headers, sid, remote)
        assert failed["status"] == "failed"
        assert "not available offline" in failed["error"]


async def test_client_draft_with_gap_and_still(
    local_backend: LocalBackend, media: dict[str, Path], tmp_path: Path
) -> None:
    """A draft written by a client (gaps, images without `m.kind`, speed) renders to the draft's length."""
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, sid = await start(client)
        files = (await upload(client, headers, sid, media["clip"], media["image"]))["data"]["files"]
        video, image = (f["cdn_url"] for f in files)
        draft = {
            "t": [
                {
                    "tt": 0,
                    "sg": [
                        {"s": 0, "d": 1000, "src": image},
                        {"s": 1500, "d": 1000, "src": video, "ss": 1000, "sp": 2.0, "v": 50},
                    ],
                },
                {"tt": 7, "sg": [{"s": 0, "d": 2500, "txt": 'It\'s 100% "fine": yes'}]},
            ],
            "d": 2500,
            "m": {"width": 640, "height": 480, "fps": 25},
        }
        done = await render(client, headers, sid, draft)
        assert done["status"] == "completed", done
        out = await download(client, done["outputUrl"], tmp_path / "g.mp4")
        assert out.duration == pytest.approx(2.5, abs=0.15)
        assert (out.width, out.height, out.fps) == (640, 480, 25)
