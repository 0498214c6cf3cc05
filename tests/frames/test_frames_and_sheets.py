"""nemo_mcp.media: frames grabbed with seeking, contact sheets that can be checked by looking (each tile
the colour of the second its label names, the label where it belongs), and their bounds."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pytest

from nemo_mcp.media import ffmpeg as ffmpeg_mod
from nemo_mcp.media.frames import FrameError, Source, grab, probe
from nemo_mcp.media.sheet import (
    HARD_MAX_BYTES,
    MAX_EDGE,
    MAX_PIXELS,
    TARGET_BYTES,
    Tile,
    build_sheet,
    plan_layout,
)
from tests.frames.colours import colour_at, colour_clip, dark, decode, nearest, white
from tests.media import FFMPEG

pytestmark = pytest.mark.anyio

KEYFRAMES = [0.0, 2.5, 5.0, 7.5]  # keyint 25 at 10 fps


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return colour_clip(tmp_path_factory.mktemp("clips") / "colours.mp4", seconds=8)


async def test_exact_times_show_the_colour_of_their_second(clip: Path, tmp_path: Path) -> None:
    for i, t in enumerate([0.5, 2.5, 3.95, 6.2, 7.9]):
        frame = await grab(Source(str(clip)), t, tmp_path / f"{i}.jpg", box=(160, 90))
        # the picture is the first reference frame at or after t: at most a few frames later
        assert t <= frame.time + 1e-6 <= t + 0.35, (t, frame.time)
        image = decode(frame.path.read_bytes())
        assert (image.width, image.height) == (160, 90)
        assert nearest(image.mean(60, 30, 100, 60)) == colour_at(frame.time), (t, frame.time)


async def test_an_overview_slot_takes_its_keyframe_or_its_first_frame(clip: Path, tmp_path: Path) -> None:
    for i in range(8):
        window = (float(i), float(i + 1))
        frame = await grab(Source(str(clip)), i + 0.5, tmp_path / f"{i}.jpg", box=(160, 90), window=window)
        inside = [k for k in KEYFRAMES if window[0] <= k < window[1]]
        if inside:
            assert frame.time == inside[0]
        else:
            assert window[0] <= frame.time < window[0] + 0.35
        assert nearest(decode(frame.path.read_bytes()).mean(60, 30, 100, 60)) == colour_at(frame.time)


async def test_a_time_past_the_end_is_a_frame_error(clip: Path, tmp_path: Path) -> None:
    with pytest.raises(FrameError):
        await grab(Source(str(clip)), 60.0, tmp_path / "x.jpg")
    info = await probe(Source(str(clip)))
    assert (info.width, info.height) == (320, 180)
    assert math.isclose(info.duration, 8.0, abs_tol=0.15)


async def test_a_sheet_shows_each_frame_with_its_label_in_the_corner(clip: Path, tmp_path: Path) -> None:
    layout = plan_layout(8, 320 / 180, max_tile_width=320)
    frames = []
    for i in range(8):
        frames.append(
            await grab(
                Source(str(clip)),
                i + 0.5,
                tmp_path / f"{i}.jpg",
                box=(layout.tile_width, layout.tile_height),
                window=(i, i + 1),
            )
        )
    sheet = await build_sheet([Tile(f.path, f"{f.time:.1f} s") for f in frames], layout, tmp_path)
    image = decode(sheet.jpeg)
    assert (image.width, image.height) == (layout.width, layout.height)
    assert max(image.width, image.height) <= MAX_EDGE
    assert sheet.labelled
    for i, f in enumerate(frames):
        x, y = layout.origin(i)
        tw, th = layout.tile_width, layout.tile_height
        want = colour_at(f.time)
        # the tile's free area (top right) is the colour of its second
        assert nearest(image.mean(x + tw * 3 // 5, y + th // 8, x + tw - 4, y + th // 2)) == want, i
        # the label: a dark box with white text in the bottom-left corner, and nowhere else
        x0, y0, x1, y1 = layout.label_box(i)
        box = image.region(x0, y0, x1, y1)
        assert sum(map(white, box)) > 20, f"tile {i}: no label text in its corner"
        assert sum(map(dark, box)) > 50, f"tile {i}: no label box in its corner"
        top = image.region(x + 2, y + 2, x + tw - 2, y + th // 2)
        assert not any(map(white, top)), f"tile {i}: label pixels outside the corner"


@pytest.mark.parametrize("aspect", [16 / 9, 9 / 16, 1.0, 4 / 3])
def test_layouts_stay_within_the_bounds_and_never_upscale(aspect: float) -> None:
    for count in range(1, 25):
        layout = plan_layout(count, aspect, max_tile_width=1920)
        assert layout.columns * layout.rows >= count
        assert max(layout.width, layout.height) <= MAX_EDGE
        assert layout.tile_width * layout.tile_height * count <= MAX_PIXELS
        assert abs(layout.tile_width / layout.tile_height - aspect) < 0.05 * aspect + 2 / layout.tile_height
    small = plan_layout(1, 16 / 9, max_tile_width=320)
    assert small.tile_width == 320  # a 320 px frame is not blown up to 1568 px


async def test_busy_frames_step_the_quality_down_into_the_budget(tmp_path: Path) -> None:
    layout = plan_layout(24, 16 / 9, max_tile_width=1920)
    noise = tmp_path / "noise.png"  # grain at tile size: nothing to smooth away when it is scaled
    source = f"testsrc2=s={layout.tile_width}x{layout.tile_height},noise=alls=100:allf=u"
    subprocess.run(
        [
            FFMPEG,
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            source,
            "-frames:v",
            "1",
            str(noise),
        ],
        check=True,
        timeout=60,
    )
    tiles = [Tile(noise, f"{i}.0 s") for i in range(24)]
    best = await build_sheet(tiles, layout, tmp_path, target_bytes=10**9)
    assert best.quality == 4
    assert len(best.jpeg) > TARGET_BYTES, "24 tiles of grain at the best quality are over the budget"
    sheet = await build_sheet(tiles, layout, tmp_path)
    assert sheet.quality > 4
    assert len(sheet.jpeg) <= TARGET_BYTES < HARD_MAX_BYTES
    image = decode(sheet.jpeg)
    assert max(image.width, image.height) <= MAX_EDGE


async def test_empty_tiles_are_dark_and_labelled(clip: Path, tmp_path: Path) -> None:
    layout = plan_layout(2, 16 / 9, max_tile_width=320)
    frame = await grab(
        Source(str(clip)), 1.5, tmp_path / "a.jpg", box=(layout.tile_width, layout.tile_height)
    )
    sheet = await build_sheet([Tile(frame.path, "1.5 s"), Tile(None, "9.0 s")], layout, tmp_path)
    image = decode(sheet.jpeg)
    x, y = layout.origin(1)
    assert max(image.mean(x + 4, y + 4, x + layout.tile_width - 4, y + layout.tile_height // 2)) < 40


def test_without_ffmpeg_the_error_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_wheel(name: str, *args: object, **kwargs: object) -> object:
        if name == "imageio_ffmpeg":
            raise ImportError("no imageio_ffmpeg")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_wheel)
    monkeypatch.setattr(ffmpeg_mod.shutil, "which", lambda _name: None)
    ffmpeg_mod.ffmpeg_exe.cache_clear()
    try:
        with pytest.raises(ffmpeg_mod.FFmpegMissing) as info:
            ffmpeg_mod.ffmpeg_exe()
        assert ffmpeg_mod.INSTALL_COMMAND in str(info.value)
        assert "imageio-ffmpeg" in ffmpeg_mod.INSTALL_COMMAND
    finally:
        ffmpeg_mod.ffmpeg_exe.cache_clear()
