"""Every row of the GUI-translation table (docs/skill.md "Backend Response Translation"), in English
and Chinese, and what must never be touched."""

from __future__ import annotations

import pytest

from nemo_mcp.language.replies import Step, translate


@pytest.mark.parametrize(
    ("text", "kept", "step"),
    [
        (
            'I added a title "Urban Dreams" at the top. Click Apply to confirm.',
            'I added a title "Urban Dreams" at the top.',
            Step.CLICK,
        ),
        ("已添加标题。点击确认按钮保存。", "已添加标题。", Step.CLICK),
        (
            "The color grade is warm. Open the Effects panel to adjust it.",
            "The color grade is warm.",
            Step.OPEN,
        ),
        ("已生成背景音乐。打开音频面板查看。", "已生成背景音乐。", Step.OPEN),
        (
            "I placed the BGM at 35% volume; you can drag it on the timeline to move it.",
            "I placed the BGM at 35% volume.",
            Step.EDIT,
        ),
        ("字幕已添加。你可以拖拽字幕调整位置。", "字幕已添加。", Step.EDIT),
        ("Your video is ready! Preview it in the timeline.", "Your video is ready!", Step.PREVIEW),
        ("字幕为白色。在时间线上预览效果。", "字幕为白色。", Step.PREVIEW),
        ("Trimmed to 10 s. Click the Export button to download.", "Trimmed to 10 s.", Step.EXPORT),
        ("已剪辑完成。点击导出按钮下载。", "已剪辑完成。", Step.EXPORT),
        ("Done.. Click Export.", "Done.", Step.EXPORT),
        (
            "Your 30-second cut is ready. Hit Render, then choose MP4 and 1080p in the dialog.",
            "Your 30-second cut is ready.",
            Step.EXPORT,
        ),
    ],
)
def test_rows(text: str, kept: str, step: Step) -> None:
    t = translate(text)
    assert t.text == kept
    assert step in t.steps


@pytest.mark.parametrize(
    "text",
    [
        "I added subtitles in white at the bottom, with a 0.5 s fade.",
        "Done! The title now reads 'Tap to follow' and stays on screen for the last 3 seconds.",
        "The drag-race footage is trimmed to 12 s.",
        "I opened the video with a slow zoom on the skyline (0:00–0:04).",
        "字幕内容为“点击关注”，出现在视频最后 2 秒。",
        "拖拉机那段我保留了 8 秒。",
        "Cut the product demo down to 45 seconds for the ad slot.",
    ],
)
def test_content_is_kept_untouched(text: str) -> None:
    t = translate(text)
    assert t.text == text
    assert t.steps == []


def test_a_reply_of_only_gui_steps_is_gui_only() -> None:
    t = translate("Open the Music panel and drag a track onto the timeline.")
    assert t.gui_only
    assert t.text == ""


def test_trailing_temporary_issue_is_dropped_after_a_normal_reply() -> None:
    t = translate("Done! The clip is trimmed to 10s. I encountered a temporary issue.")
    assert t.text == "Done! The clip is trimmed to 10s."
    assert t.noise_dropped
    alone = translate("I encountered a temporary issue.")
    assert "temporary issue" in alone.text


@pytest.mark.parametrize(
    ("text", "cost"),
    [
        (
            "I can generate a 10-second AI intro. This will use about 100 credits. Click Generate to start.",
            100,
        ),
        ("要生成 3 个封面，每个 10 积分，共 30 积分。你确认的话，我就开始做～", 30),
        ("The AI narrator is queued for your script. Estimated 25 credits. Shall I go ahead?", 25),
    ],
)
def test_waiting_for_the_go_ahead(text: str, cost: float) -> None:
    t = translate(text)
    assert t.waiting is not None
    assert t.waiting.cost == cost
    assert Step.CONFIRM in t.steps


def test_a_question_with_no_price_is_no_go_ahead() -> None:
    t = translate(
        "Which song would you like for the background — something calm like piano, or upbeat like pop?"
    )
    assert t.waiting is None
    assert t.steps == []
