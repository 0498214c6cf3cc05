"""Every row of the routing table (docs/skill.md "Matching Input to Actions"), English and Chinese, and the
parts of an instruction the router pulls out: sources, destinations, holds, compounds."""

from __future__ import annotations

import pytest

from nemo_mcp.language.routing import Intent, route
from nemo_mcp.language.sources import find

A, E, C, S, U = Intent.AGENT, Intent.EXPORT, Intent.CREDITS, Intent.STATUS, Intent.UPLOAD


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("export", [E]),
        ("Export the video", [E]),
        ("导出", [E]),
        ("请导出视频", [E]),
        ("download", [E]),
        ("send me the video", [E]),
        ("credits", [C]),
        ("how many credits do I have left?", [C]),
        ("积分", [C]),
        ("余额", [C]),
        ("balance", [C]),
        ("status", [S]),
        ("状态", [S]),
        ("show me the timeline", [S]),
        ("add BGM", [A]),
        ("generate a 10 second city timelapse", [A]),
        ("给视频加上背景音乐", [A]),
        ("add rolling credits at the end", [A]),
        ("trim clip.mp4 to 5 seconds", [A]),
        # the skill's own example prompts: an edit, then the export
        ("extract metadata, generate a summary, and export a trimmed clip via API", [A, E]),
        ("convert a 2-minute MP4 product demo video into a 1080p MP4", [A, E]),
        ("把这段转成 1080p 的 MP4", [A, E]),
        ("make it 1080p", [A]),
        ("convert the subtitles to SRT", [A]),
        ("加字幕然后导出", [A, E]),
        # typos, full-width, traditional, Cantonese
        ("exprot the video", [E]),
        ("credts left?", [C]),
        ("statsu", [S]),
        ("ｅｘｐｏｒｔ", [E]),
        ("匯出影片", [E]),
        ("俾條片我", [E]),
        ("到处视频", [E]),
        # questions about money or progress, whatever else they name
        ("will my credits cover an export?", [C]),
        ("is the export done?", [S]),
        ("弄完了吗", [S]),
        # a plain go-ahead answers the agent waiting for it
        ("yes, go ahead", [A]),
        ("sure, go for it", [A]),
        ("好的，开始吧", [A]),
        # holds
        ("not yet, first add a fade-out", [A]),
        ("先不要导出", [S]),
        # keywords as content: the edit must reach the agent
        ("credit the photographer in the corner", [A]),
        ("balance the audio levels", [A]),
        ("add an animated 'download now' button at the end", [A]),
        ("put a status bar overlay at the top", [A]),
        ("render the title in gold with a soft glow", [A]),
        ("export the subtitles as an SRT", [A]),
        ("加一个积分榜的动画", [A]),
        # a check before the edit keeps its place
        ("check the balance, then trim the intro", [C, A]),
        ("trim it and tell me how many credits that cost", [A, C]),
    ],
)
def test_rows(text: str, steps: list[Intent]) -> None:
    assert list(route(text).steps) == steps, route(text).clauses


def test_deferred_export_is_not_run() -> None:
    r = route("add captions but don't render it yet")
    assert r.steps == (A,)
    assert r.deferred
    assert route("hold off on the download").deferred


@pytest.mark.parametrize(
    ("text", "sources", "steps"),
    [
        ("upload /tmp/a.mp4", ["/tmp/a.mp4"], [U]),
        ("上传 /tmp/视频.mp4", ["/tmp/视频.mp4"], [U]),
        ("here you go: /Users/ana/trip.mov", ["/Users/ana/trip.mov"], [U]),
        ("这个是视频 /home/li/片段一.mp4", ["/home/li/片段一.mp4"], [U]),
        ("/tmp/a.mp4 add a title Hello", ["/tmp/a.mp4"], [U, A]),
        ("上传 /tmp/a.mov 然后加字幕", ["/tmp/a.mov"], [U, A]),
        ("https://example.com/x.mp4", ["https://example.com/x.mp4"], [U]),
        ('"/tmp/my clip.mov" trim to 5s', ["/tmp/my clip.mov"], [U, A]),
        ("add /x/a.mp4 and export", ["/x/a.mp4"], [U, E]),
        ("use ~/Music/lofi.mp3 as background music", ["~/Music/lofi.mp3"], [U, A]),
        ("file:///etc/passwd", ["file:///etc/passwd"], [U]),
    ],
)
def test_sources_inside_instruction(text: str, sources: list[str], steps: list[Intent]) -> None:
    r = route(text)
    assert list(r.sources) == sources
    assert list(r.steps) == steps, r.clauses


def test_a_web_page_is_content_for_the_agent_not_an_upload() -> None:
    r = route("make a summary video of https://example.com/blog/launch-post")
    assert r.sources == ()
    assert r.steps == (A,)
    assert "https://example.com/blog/launch-post" in r.agent_text


def test_destination_is_not_an_upload() -> None:
    r = route("save it as ~/Movies/final.mp4")
    assert r.sources == ()
    assert r.destination == "~/Movies/final.mp4"
    assert r.steps == (E,)
    r = route("把开头5秒剪掉，导出到 D:\\输出\\final.mp4")
    assert r.destination == "D:\\输出\\final.mp4"
    assert r.steps == (A, E)


def test_agent_text_drops_the_uploaded_paths() -> None:
    r = route("upload /tmp/a.mp4 and add a title 'Hello'")
    assert "/tmp/a.mp4" not in r.agent_text
    assert "add a title 'Hello'" in r.agent_text


def test_find_windows_paths_and_trailing_punctuation() -> None:
    f = find(r"see C:\Users\me\a.mp4, then https://x.test/v.mov.")
    assert f.sources == [r"C:\Users\me\a.mp4", "https://x.test/v.mov"]
    assert "C:" not in f.text


def test_empty_instruction_shows_the_status() -> None:
    assert route("   ").steps == (S,)
