"""Acceptance: real uploads, real edits through /run_sse, real FFmpeg renders, probed results."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from nemo_mcp.local import LocalBackend
from tests.local.helpers import download, gui_steps, render, start, state, turn, upload

pytestmark = pytest.mark.anyio


async def test_trim_1080p_title_render_download(
    local_backend: LocalBackend, media: dict[str, Path], tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, sid = await start(client)
        assert (await upload(client, headers, sid, media["clip"]))["code"] == 0
        for text in ("trim to the first 3 seconds", "make it 1080p", "add a title 'Hello'"):
            t = await turn(client, headers, sid, text)
            assert t.status == 200
            assert "edit_multitrack" in t.tools
            assert not t.errors
        draft = (await state(client, headers, sid))["draft"]
        assert draft["d"] == 3000
        assert draft["m"]["width"] == 1920
        assert draft["m"]["height"] == 1080
        assert [s["txt"] for tr in draft["t"] if tr["tt"] == 7 for s in tr["sg"]] == ["Hello"]
        done = await render(client, headers, sid, draft)
        assert done["status"] == "completed"
        assert done["progress"] == 100
        # the public output URL needs no auth; /download needs it
        out = await download(client, done["outputUrl"], tmp_path / "out.mp4")
        assert abs(out.duration - 3.0) < 0.15
        assert (out.width, out.height) == (1920, 1080)
        assert out.video_codec == "h264"
        assert out.audio_codec == "aac"
        fallback = await download(
            client, f"/api/render/proxy/{done['id']}/download", tmp_path / "dl.mp4", headers
        )
        assert abs(fallback.duration - 3.0) < 0.15


async def test_skill_prompt_convert_to_1080p(
    local_backend: LocalBackend, media: dict[str, Path], tmp_path: Path
) -> None:
    local_backend.knobs.gui_speak = "always"
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, sid = await start(client)
        await upload(client, headers, sid, media["clip2"])
        t = await turn(client, headers, sid, "convert a 2-minute MP4 product demo video into a 1080p MP4")
        assert "1920x1080" in t.text
        assert gui_steps(t.text)
        draft = (await state(client, headers, sid))["draft"]
        done = await render(client, headers, sid, draft)
        out = await download(client, done["outputUrl"], tmp_path / "o.mp4")
        assert (out.width, out.height) == (1920, 1080)
        assert abs(out.duration - 2.0) < 0.15


async def test_skill_prompt_metadata_summary_trimmed_clip(
    local_backend: LocalBackend, media: dict[str, Path], tmp_path: Path
) -> None:
    local_backend.knobs.gui_speak = "always"
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, sid = await start(client)
        await upload(client, headers, sid, media["clip"])
        t = await turn(
            client, headers, sid, "extract metadata, generate a summary, and export a trimmed clip via API"
        )
        assert t.tools == ["understand_video", "understand_video", "edit_multitrack"]
        # real probed facts in the reply
        assert "320x180" in t.text
        assert "30 fps" in t.text
        assert "4.00s" in t.text
        assert "aac" in t.text
        assert "Summary" in t.text
        assert "with sound" in t.text
        assert gui_steps(t.text, topic="export")  # export is answered in GUI-speak
        st = await state(client, headers, sid)
        assert st["video_analyses"]["clip.mp4"]["width"] == 320
        assert st["draft"]["d"] == 3200  # 4 s clip, ~10% dropped at each end
        done = await render(client, headers, sid, st["draft"])
        out = await download(client, done["outputUrl"], tmp_path / "t.mp4")
        assert abs(out.duration - 3.2) < 0.15
        assert (out.width, out.height) == (320, 180)


async def test_concat_speed_music_mute_render(
    local_backend: LocalBackend, media: dict[str, Path], tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, sid = await start(client)
        await upload(client, headers, sid, media["clip"], media["image"], media["clip2"], media["audio"])
        st = await state(client, headers, sid)
        assert st["draft"]["d"] == 4000 + 5000 + 2000
        t = await turn(
            client, headers, sid, "combine the clips, then speed up 2x and add background music at 40%"
        )
        assert t.status == 200
        assert not t.errors
        draft = (await state(client, headers, sid))["draft"]
        assert draft["d"] == 2000 + 5000 + 1000  # the still keeps its 5 s
        bgm = [s for tr in draft["t"] if tr["tt"] == 1 for s in tr["sg"]]
        assert bgm[0]["v"] == 40
        assert bgm[0]["n"] == "music.m4a"
        assert bgm[0]["d"] == 8000
        await turn(client, headers, sid, "make it vertical 9:16 and mute the original audio")
        draft = (await state(client, headers, sid))["draft"]
        assert (draft["m"]["width"], draft["m"]["height"]) == (1080, 1920)
        assert all(s["v"] == 0 for tr in draft["t"] if tr["tt"] == 0 for s in tr["sg"])
        done = await render(client, headers, sid, draft)
        assert done["status"] == "completed", done
        out = await download(client, done["outputUrl"], tmp_path / "c.mp4")
        assert abs(out.duration - 8.0) < 0.2
        assert (out.width, out.height) == (1080, 1920)
        assert out.has_audio
