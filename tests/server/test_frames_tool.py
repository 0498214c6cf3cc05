"""get_frames through `mcp.Client` against the real local backend: a clip whose every second is one colour
is uploaded, and the contact sheets are checked by looking (each tile the colour of the second its label
names, the label in its corner), from the timeline's media and then from the export; the sheet's bounds,
the full-size frame behind each resource link, the refusals, and edit_video's opt-in before/after pair."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from mcp import MCPError
from mcp.types import INVALID_PARAMS, CallToolResult

from nemo_mcp.media.ffmpeg import INSTALL_COMMAND, FFmpegMissing
from nemo_mcp.media.sheet import Layout
from nemo_mcp.server.workflows import frames as frames_workflow
from tests.frames.colours import Image, colour_at, colour_clip, dark, decode, nearest, white
from tests.server.conftest import Session

pytestmark = pytest.mark.anyio

MIB = 1 << 20


@pytest.fixture
def colours(tmp_path: Path) -> Path:
    return colour_clip(tmp_path / "media" / "colours.mp4", seconds=8, size="320x180", audio=True)


def sheet_of(result: CallToolResult) -> Image:
    images = [b for b in result.content if getattr(b, "type", "") == "image"]
    assert len(images) == 1, [b.type for b in result.content]
    assert images[0].mime_type == "image/jpeg"  # type: ignore[union-attr]
    return decode(base64.b64decode(images[0].data))  # type: ignore[union-attr]


def layout_of(data: dict[str, Any]) -> Layout:
    s = data["sheet"]
    gap = 6
    tw = (s["width"] - (s["columns"] - 1) * gap) // s["columns"]
    th = (s["height"] - (s["rows"] - 1) * gap) // s["rows"]
    return Layout(s["columns"], s["rows"], tw, th, gap)


def assert_looks_right(result: CallToolResult, data: dict[str, Any]) -> None:
    """Every tile is the colour of the second its time names, with its label in the bottom-left corner; the
    sheet and the whole result are within their bounds."""
    image = sheet_of(result)
    layout = layout_of(data)
    assert (image.width, image.height) == (data["sheet"]["width"], data["sheet"]["height"])
    assert max(image.width, image.height) <= 1568
    assert len(json.dumps(result.model_dump(mode="json", by_alias=True, exclude_none=True))) < MIB
    for f in data["frames"]:
        x, y = layout.origin(f["index"])
        tw, th = layout.tile_width, layout.tile_height
        area = image.mean(x + tw * 3 // 5, y + th // 8, x + tw - 3, y + th // 2)
        assert nearest(area) == colour_at(f["time_seconds"]), f
        box = image.region(*layout.label_box(f["index"]))
        assert sum(map(white, box)) > 10, f"tile {f['index']}: no label text"
        assert sum(map(dark, box)) > 30, f"tile {f['index']}: no label box"
    links = [b for b in result.content if getattr(b, "type", "") == "resource_link"]
    assert [str(b.uri) for b in links] == [f["uri"] for f in data["frames"] if f["uri"]]  # type: ignore[union-attr]


async def test_frames_from_the_timeline_then_from_the_export(nemo: Session, colours: Path) -> None:
    await nemo.ok("upload_media", {"sources": [str(colours)]})

    c = await nemo.ok("get_frames", {"count": 8})
    d = c.data
    assert d["source"] == "timeline"
    assert d["approximate"] is True
    assert "Approximate" in c.text
    assert len(d["frames"]) == 8
    times = [f["time_seconds"] for f in d["frames"]]
    assert times == sorted(times)
    assert all(i <= t < i + 1 for i, t in enumerate(times)), times  # one frame per slot of the 8 s
    assert all(f["clip"] == "colours.mp4" for f in d["frames"])
    assert_looks_right(c.result, d)
    for t in times:
        assert f"{t:.1f}" in c.text

    # the full-size frame behind a link: same picture, the clip's own size
    frame = d["frames"][5]
    read = await nemo.client.read_resource(frame["uri"])
    blob = read.contents[0]
    assert blob.mime_type == "image/jpeg"
    full = decode(base64.b64decode(blob.blob))  # type: ignore[union-attr]
    assert (full.width, full.height) == (320, 180)
    assert nearest(full.mean(140, 70, 180, 110)) == colour_at(frame["time_seconds"])

    e = await nemo.ok("export_video", {"wait_seconds": 40})
    x = await nemo.ok("get_frames", {"at": [1.5, 4.2, 6.9, 30]})
    xd = x.data
    assert xd["source"] == "export"
    assert xd["approximate"] is False
    assert xd["render_id"] == e.data["render_id"]
    for want, f in zip([1.5, 4.2, 6.9], xd["frames"][:3], strict=True):
        assert want <= f["time_seconds"] < want + 0.4, (want, f)
    assert 7.0 <= xd["frames"][3]["time_seconds"] < 8.0, "a time past the end shows the last frames"
    assert_looks_right(x.result, xd)


async def test_an_edit_after_the_export_switches_to_the_timeline(nemo: Session, colours: Path) -> None:
    await nemo.ok("upload_media", {"sources": [str(colours)]})
    await nemo.ok("export_video", {"wait_seconds": 40})
    await nemo.ok("edit_video", {"instruction": "trim to the first 4 seconds"})
    auto = await nemo.ok("get_frames", {"count": 4})
    assert auto.data["source"] == "timeline"
    assert "before the last edit" in auto.text
    assert auto.data["duration_seconds"] == pytest.approx(4.0, abs=0.1)
    assert_looks_right(auto.result, auto.data)
    forced = await nemo.ok("get_frames", {"count": 2, "source": "export"})
    assert forced.data["source"] == "export"
    assert "from it anyway" in forced.text


async def test_refusals_are_tagged(nemo: Session, colours: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    await nemo.fail("get_frames", {}, "no_project")
    await nemo.ok("new_project", {"title": "empty"})
    await nemo.fail("get_frames", {}, "no_frames")
    await nemo.ok("upload_media", {"sources": [str(colours)]})
    text = await nemo.fail("get_frames", {"source": "export"}, "no_export")
    assert "export_video" in text
    await nemo.fail("get_frames", {"count": 0}, "invalid_argument")
    await nemo.fail("get_frames", {"at": [1.0] * 25}, "invalid_argument")
    await nemo.fail("get_frames", {"at": [-1]}, "invalid_argument")
    await nemo.fail("get_frames", {"source": "render"}, "invalid_argument")
    with pytest.raises(MCPError) as gone:
        await nemo.client.read_resource("nemo://frames/fr_0123456789abcdef")
    assert gone.value.error.code == INVALID_PARAMS
    assert gone.value.error.message.startswith("[frame_expired] ")

    def missing() -> str:
        raise FFmpegMissing(f"FFmpeg is not available. Install it with `{INSTALL_COMMAND}`.")

    monkeypatch.setattr(frames_workflow, "ffmpeg_exe", missing)
    text = await nemo.fail("get_frames", {}, "ffmpeg_missing")
    assert INSTALL_COMMAND in text


async def test_edit_video_attaches_a_before_after_pair_only_on_request(nemo: Session, colours: Path) -> None:
    await nemo.ok("upload_media", {"sources": [str(colours)]})
    plain = await nemo.ok("edit_video", {"instruction": "add the title 'Plain' at the top"})
    assert [b.type for b in plain.result.content] == ["text"]

    pair = await nemo.ok(
        "edit_video", {"instruction": "trim to the first 2 seconds", "before_after_frames": True}
    )
    assert "Before/after at" in pair.text
    image = sheet_of(pair.result)
    half = image.width // 2
    # before: the middle of the 8 s clip (second 4); after: the same time clamped into the 2 s left
    assert nearest(image.mean(half // 2, 4, half - 4, image.height // 2)) == colour_at(4.0)
    assert nearest(image.mean(half + half // 2, 4, image.width - 4, image.height // 2)) == colour_at(1.9)
