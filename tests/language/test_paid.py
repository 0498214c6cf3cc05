"""The paid kinds an instruction asks for (nemo_mcp.language.paid), English and Chinese: a making verb counts
only with new media as its object, quoted text is content, and a plain yes is told apart."""

from __future__ import annotations

import pytest

from nemo_mcp.language.paid import PaidKind, is_go_ahead, read

G, E, A = PaidKind.GENERATION, PaidKind.EDIT, PaidKind.ANALYSIS


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("generate a 10 second city timelapse", [G]),
        ("generate a video of a city timelapse with lo-fi music", [G, E]),
        ("Make a 20-second city timelapse with lo-fi music and the title 'Urban Dreams'", [G, E]),
        ("create an animation of a paper boat", [G]),
        ("compose a soundtrack for it", [G]),
        ("add AI-generated narration", [G, E]),
        ("text-to-video: a fox in the snow", [G]),
        ("生成一个城市延时摄影的视频", [G]),
        ("帮我做一段关于城市延时摄影的视频", [G]),
        # making verbs whose object is the project's own media, or not media at all
        ("make the video shorter", [E]),
        ("make this clip vertical", [E]),
        ("create a title card that says hello", [E]),
        ("add the title 'Generate Leads' at the top", [E]),  # quoted text is content
        ("生成字幕", [E]),
        ("trim to the first 10 s", [E]),
        ("add background music at 35%", [E]),
        # reading the media
        ("extract metadata", [A]),
        ("what is in this video?", [A]),
        ("总结一下这个视频", [A]),
        ("extract metadata, generate a summary, and export a trimmed clip", [E, A]),
        # unfamiliar words: an agent turn may still edit, so it is never free by default
        ("hmm, do your thing", [E]),
    ],
)
def test_paid_kinds(text: str, kinds: list[PaidKind]) -> None:
    assert list(read(text).kinds) == kinds


@pytest.mark.parametrize(
    "text", ["yes, go ahead", "OK", "Yes please!", "go for it", "确认", "好的，开始吧", "行"]
)
def test_a_plain_yes_is_a_go_ahead(text: str) -> None:
    assert is_go_ahead(text)
    assert read(text).go_ahead


@pytest.mark.parametrize(
    "text",
    [
        "yes, and add a title",
        "no",
        "go ahead and trim it",
        "ok but make it shorter",
        "不要",
        "确认一下积分",
        "",
    ],
)
def test_anything_more_is_not_a_plain_yes(text: str) -> None:
    assert not is_go_ahead(text)
