"""The local agent through the wire: orientation, 4K clamp, title timing, cut-outs, music choice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from nemo_mcp.local import Knobs, LocalBackend, run_local_backend
from tests.local.helpers import download, gui_steps, render, start, state, turn, upload

pytestmark = pytest.mark.anyio


async def test_resolution_keeps_orientation_and_clamps_4k(
    local_backend: LocalBackend, media: dict[str, Path]
) -> None:
    local_backend.knobs.gui_speak = "always"
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, sid = await start(client)
        await upload(client, headers, sid, media["portrait"])
        assert (await state(client, headers, sid))["canvas_config"]["aspect_ratio"] == "9:16"
        t = await turn(client, headers, sid, "make it 1080p")
        assert "1080x1920" in t.text
        t = await turn(client, headers, sid, "export in 4k")
        assert "maximum of 1080p" in t.text
        assert gui_steps(t.text, topic="export")  # export was asked for: the GUI step for it
        st = await state(client, headers, sid)
        assert st["canvas_config"] == {"width": 1080, "height": 1920, "aspect_ratio": "9:16"}
        await turn(client, headers, sid, "make it square")
        assert (await state(client, headers, sid))["draft"]["m"]["width"] == 1080
        assert (await state(client, headers, sid))["draft"]["m"]["height"] == 1080


async def test_title_timing_cut_out_and_named_music(
    local_backend: LocalBackend, media: dict[str, Path], tmp_path: Path
) -> None:
    local_backend.knobs.gui_speak = "always"
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, sid = await start(client)
        other = tmp_path / "other.m4a"
        other.write_bytes(media["audio"].read_bytes())
        await upload(client, headers, sid, media["clip"], media["audio"], other)
        t = await turn(client, headers, sid, "add a title 'Big Sale' from 0:01 to 0:03 at the top")
        assert 'added the title "Big Sale" (1.0s–3.0s, top-center)' in t.text
        assert gui_steps(t.text)
        await turn(client, headers, sid, "remove 0:00.5 to 0:01.5")
        await turn(client, headers, sid, "add the music.m4a as background music at 25%")
        draft = (await state(client, headers, sid))["draft"]
        assert draft["d"] == 3000
        [title] = [s for tr in draft["t"] if tr["tt"] == 7 for s in tr["sg"]]
        assert (title["txt"], title["m"]["pos"]) == ("Big Sale", "top-center")
        assert (title["s"], title["d"]) == (500, 1500)  # 1-3 s, minus the 0.5-1.5 s cut
        [bgm] = [s for tr in draft["t"] if tr["tt"] == 1 for s in tr["sg"]]
        assert (bgm["n"], bgm["v"]) == ("music.m4a", 25)
        out = await download(
            client, (await render(client, headers, sid, draft))["outputUrl"], tmp_path / "o.mp4"
        )
        assert out.duration == pytest.approx(3.0, abs=0.15)


async def test_edit_failures_are_reported_and_free(
    local_backend: LocalBackend, media: dict[str, Path]
) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, sid = await start(client)
        await upload(client, headers, sid, media["clip"])
        t = await turn(client, headers, sid, "add background music")
        assert "no uploaded audio file" in t.text
        t = await turn(client, headers, sid, "cut from 0:10 to 0:20")
        assert "only 4.0s long" in t.text
        assert (await state(client, headers, sid))["draft"]["d"] == 4000
        credits = (await client.get("/api/credits/balance/simple", headers=headers)).json()["data"]
        assert credits["available"] == 100


async def test_token_ttl_knob() -> None:
    async with (
        run_local_backend(Knobs(token_ttl_seconds=0.3)) as backend,
        httpx.AsyncClient(base_url=backend.url) as client,
    ):
        headers, _ = await start(client)
        assert (await client.get("/api/credits/balance/simple", headers=headers)).json()["code"] == 0
        await asyncio.sleep(0.4)
        assert (await client.get("/api/credits/balance/simple", headers=headers)).json()["code"] == 1001


async def test_trim_longer_than_the_video_is_a_free_no_op(
    local_backend: LocalBackend, media: dict[str, Path]
) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, sid = await start(client)
        await upload(client, headers, sid, media["clip"])
        t = await turn(client, headers, sid, "trim to the first 10 seconds")
        assert "already 4.0s long" in t.text
        assert (await state(client, headers, sid))["draft"]["d"] == 4000
        assert (await client.get("/api/credits/balance/simple", headers=headers)).json()["data"][
            "available"
        ] == 100
