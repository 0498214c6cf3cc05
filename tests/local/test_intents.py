"""The local agent's instruction parser and draft edits, without HTTP."""

from __future__ import annotations

import pytest

from nemo_mcp.local import draft as drafts
from nemo_mcp.local.intents import parse, parse_time


def kinds(text: str) -> list[tuple[str, dict[str, object]]]:
    return [(op.kind, op.args) for op in parse(text)]


def test_times() -> None:
    assert parse_time("1:45") == 105_000
    assert parse_time("0:05.5") == 5_500
    assert parse_time("1:02:03") == 3_723_000
    assert parse_time("30s") == 30_000
    assert parse_time("2 min") == 120_000
    assert parse_time("12") == 12_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("trim to the first 10 seconds", [("trim", {"start": 0, "end": 10_000})]),
        ("cut from 0:30 to 1:45", [("trim", {"start": 30_000, "end": 105_000})]),
        ("keep between 5s and 8s", [("trim", {"start": 5_000, "end": 8_000})]),
        ("remove 0:05 to 0:08", [("remove", {"start": 5_000, "end": 8_000})]),
        ("trim off the first 2 seconds", [("remove", {"start": 0, "end": 2_000})]),
        ("keep the last 3 seconds", [("trim", {"last": 3_000})]),
        ("export a trimmed clip", [("export", {}), ("trim_default", {})]),
        ("make it 1080p", [("canvas", {"short": 1080, "label": "1080p"})]),
        ("make it vertical 9:16", [("canvas", {"ratio": (9, 16)})]),
        ("4k please", [("canvas", {"short": 2160, "label": "4K"})]),
        ("square 720p", [("canvas", {"short": 720, "label": "720p", "ratio": (1, 1)})]),
        ("2x speed", [("speed", {"factor": 2.0})]),
        ("slow motion 0.5x", [("speed", {"factor": 0.5})]),
        ("speed it up", [("speed", {"factor": 2.0})]),
        ("mute the video", [("volume", {"volume": 0})]),
        ("unmute", [("volume", {"volume": 100})]),
        ("join the clips", [("concat", {})]),
        ("extract metadata", [("metadata", {})]),
        ("give me a summary", [("summary", {})]),
        ("generate a video of a cat surfing", [("generate", {"prompt": "a cat surfing"})]),
        ("what's the weather", []),
    ],
)
def test_parse(text: str, expected: list[tuple[str, dict[str, object]]]) -> None:
    assert kinds(text) == expected


def test_titles() -> None:
    [(kind, args)] = kinds("add a title 'Hello, World' for 3 seconds")
    assert kind == "title"
    assert args == {"text": "Hello, World", "start": 0, "dur": 3000, "pos": "center"}
    [(_, args)] = kinds('add a title "Big Sale" from 0:01 to 0:04 at the top')
    assert (args["text"], args["start"], args["dur"], args["pos"]) == ("Big Sale", 1000, 3000, "top-center")
    [(_, args)] = kinds("put a caption 'bye' at the bottom")
    assert args["pos"] == "bottom-center"


def test_order_and_music() -> None:
    ops = kinds(
        "trim to the first 3 seconds, make it 1080p and add background music at 30% then add a title 'Hi'"
    )
    assert [k for k, _ in ops] == ["trim", "canvas", "bgm", "title"]
    assert ops[2][1]["volume"] == 30
    assert kinds("extract metadata, generate a summary, and export a trimmed clip via API") == [
        ("metadata", {}),
        ("summary", {}),
        ("export", {}),
        ("trim_default", {}),
    ]
    assert kinds("convert a 2-minute MP4 product demo video into a 1080p MP4") == [
        ("canvas", {"short": 1080, "label": "1080p"})
    ]


def _draft(*durations: int) -> drafts.Draft:
    d = drafts.empty_draft()
    for n, ms in enumerate(durations):
        drafts.append_clip(
            d, src=f"http://127.0.0.1/cdn/uploads/s/{n}.mp4", name=f"{n}.mp4", kind="video", duration_ms=ms
        )
    return d


def test_draft_edits() -> None:
    d = _draft(4000, 2000)
    drafts.add_title(d, "T", 3000, 2000, "center")
    drafts.keep_range(d, 1000, 5000)
    main = drafts.segments(d, drafts.VIDEO)
    assert [(s["s"], s["d"], s["ss"]) for s in main] == [(0, 3000, 1000), (3000, 1000, 0)]
    assert d["d"] == 4000
    assert [(s["s"], s["d"]) for s in drafts.segments(d, drafts.TEXT)] == [(2000, 2000)]
    d = _draft(4000)
    drafts.remove_range(d, 1000, 2000)
    assert [(s["s"], s["d"], s["ss"]) for s in drafts.segments(d, drafts.VIDEO)] == [
        (0, 1000, 0),
        (1000, 2000, 2000),
    ]
    drafts.set_speed(d, 2.0)
    assert d["d"] == 1500
    assert drafts.segments(d, drafts.VIDEO)[1]["ss"] == 2000
    with pytest.raises(ValueError, match="whole video"):
        drafts.remove_range(d, 0, 99_999)
    assert drafts.fit_canvas(3840, 2160) == (1920, 1080)
    assert drafts.fit_canvas(2160, 3840) == (1080, 1920)
    assert drafts.export_ready(d)
    assert not drafts.export_ready({"t": [{"tt": 0, "sg": []}]})


def test_probe_parsing() -> None:
    from nemo_mcp.local.media import parse_probe

    phone = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'a.mov':
  Duration: 00:01:02.50, start: 0.000000, bitrate: 100 kb/s
  Stream #0:0[0x1](und): Video: hevc (Main) (hvc1 / 0x31637668), yuv420p(tv), 1920x1080, 29.97 fps, 30 tbr
      Side data:
        displaymatrix: rotation of -90.00 degrees
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp, 128 kb/s"""
    p = parse_probe(phone)
    assert p is not None
    assert (p.duration, p.width, p.height, p.fps, p.has_audio, p.kind) == (
        62.5,
        1080,
        1920,
        29.97,
        True,
        "video",
    )
    png = (
        "Input #0, png_pipe, from 'a.png':\n  Duration: N/A, bitrate: N/A\n"
        "  Stream #0:0: Video: png, rgb24(pc), 640x480, 25 tbr"
    )
    p = parse_probe(png)
    assert p is not None
    assert (p.kind, p.width, p.height, p.duration) == ("image", 640, 480, 0.0)
    mp3 = """  Duration: 00:00:03.00, start: 0.0, bitrate: 64 kb/s
  Stream #0:0: Audio: mp3 (mp3float), 44100 Hz, mono, fltp, 64 kb/s
  Stream #0:1: Video: mjpeg (Baseline), yuvj420p(pc), 300x300, 90k tbr (attached pic)"""
    p = parse_probe(mp3)
    assert p is not None
    assert (p.kind, p.has_video) == ("audio", False)
    assert parse_probe("a.txt: Invalid data found when processing input") is None
