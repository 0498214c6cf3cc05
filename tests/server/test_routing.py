"""Every row of the routing table (skill "Matching Input to Actions"), English and Chinese."""

from __future__ import annotations

import pytest

from nemo_mcp.server.routing import Intent, find_sources, route


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("export", Intent.EXPORT),
        ("Export the video", Intent.EXPORT),
        ("导出", Intent.EXPORT),
        ("请导出视频", Intent.EXPORT),
        ("download", Intent.EXPORT),
        ("download the final video please", Intent.EXPORT),
        ("send me the video", Intent.EXPORT),
        ("credits", Intent.CREDITS),
        ("how many credits do I have left?", Intent.CREDITS),
        ("积分", Intent.CREDITS),
        ("我还有多少积分", Intent.CREDITS),
        ("balance", Intent.CREDITS),
        ("余额", Intent.CREDITS),
        ("status", Intent.STATE),
        ("状态", Intent.STATE),
        ("查看状态", Intent.STATE),
        ("show tracks", Intent.STATE),
        ("show me the timeline", Intent.STATE),
        ("upload", Intent.UPLOAD),
        ("上传", Intent.UPLOAD),
        ("add BGM", Intent.AGENT),
        ("generate a 10 second city timelapse", Intent.AGENT),
        ("给视频加上背景音乐", Intent.AGENT),
        ("add rolling credits at the end", Intent.AGENT),
        ("trim clip.mp4 to 5 seconds", Intent.AGENT),
    ],
)
def test_keyword_rows(text: str, intent: Intent) -> None:
    assert route(text).intent is intent


def test_edit_plus_export_goes_to_agent_then_export() -> None:
    r = route("extract metadata, generate a summary, and export a trimmed clip")
    assert r.intent is Intent.AGENT
    assert r.then_export
    r = route("加字幕然后导出")
    assert r.intent is Intent.AGENT
    assert r.then_export


@pytest.mark.parametrize(
    ("text", "sources", "then"),
    [
        ("upload /tmp/a.mp4", ["/tmp/a.mp4"], None),
        ("上传 /tmp/视频.mp4", ["/tmp/视频.mp4"], None),
        ("/tmp/a.mp4 add a title Hello", ["/tmp/a.mp4"], Intent.AGENT),
        ("上传 /tmp/a.mov 然后加字幕", ["/tmp/a.mov"], Intent.AGENT),
        ("https://example.com/x.mp4", ["https://example.com/x.mp4"], None),
        ('"/tmp/my clip.mov" trim to 5s', ["/tmp/my clip.mov"], Intent.AGENT),
        ("use ~/Videos/a.mp4 and export it", ["~/Videos/a.mp4"], Intent.EXPORT),
        ("upload /a/b.mp4 and ./c.png", ["/a/b.mp4", "./c.png"], None),
        ("file:///etc/passwd", ["file:///etc/passwd"], None),
    ],
)
def test_sources_inside_instruction(text: str, sources: list[str], then: Intent | None) -> None:
    r = route(text)
    assert r.intent is Intent.UPLOAD
    assert r.sources == sources
    assert r.then is then
    if then is None:
        assert r.rest == ""


def test_rest_keeps_the_edit_text() -> None:
    r = route("upload /tmp/a.mp4 and add a title 'Hello'")
    assert r.rest == "add a title 'Hello'"


def test_find_sources_windows_and_trailing_punctuation() -> None:
    src, rest = find_sources(r"see C:\Users\me\a.mp4, then https://x.test/v.mov.")
    assert src == [r"C:\Users\me\a.mp4", "https://x.test/v.mov"]
    assert "C:" not in rest


def test_empty_instruction_shows_state() -> None:
    assert route("   ").intent is Intent.STATE
