"""Every row of the GUI-translation table (docs/skill.md "Backend Response Translation"), in English
and Chinese."""

from __future__ import annotations

import pytest

from nemo_mcp.server.translate import GuiAction, translate


@pytest.mark.parametrize(
    ("text", "kept", "action"),
    [
        (
            'I added a title "Urban Dreams" at the top. Click Apply to confirm.',
            'I added a title "Urban Dreams" at the top.',
            GuiAction.API_DONE,
        ),
        ("已添加标题。点击确认按钮保存。", "已添加标题。", GuiAction.API_DONE),
        (
            "The color grade is warm. Open the Effects panel to adjust it.",
            "The color grade is warm.",
            GuiAction.SHOW_STATE,
        ),
        ("已生成背景音乐。打开音频面板查看。", "已生成背景音乐。", GuiAction.SHOW_STATE),
        (
            "I placed the BGM at 35% volume; you can drag it on the timeline to move it.",
            "I placed the BGM at 35% volume.",
            GuiAction.EDIT_VIA_SSE,
        ),
        ("字幕已添加。你可以拖拽字幕调整位置。", "字幕已添加。", GuiAction.EDIT_VIA_SSE),
        ("Your video is ready! Preview it in the timeline.", "Your video is ready!", GuiAction.SHOW_SUMMARY),
        ("字幕为白色。在时间线上预览效果。", "字幕为白色。", GuiAction.SHOW_SUMMARY),
        ("Trimmed to 10 s. Click the Export button to download.", "Trimmed to 10 s.", GuiAction.EXPORT),
        ("已剪辑完成。点击导出按钮下载。", "已剪辑完成。", GuiAction.EXPORT),
    ],
)
def test_rows(text: str, kept: str, action: GuiAction) -> None:
    t = translate(text)
    assert t.text == kept
    assert action in t.actions


def test_content_is_kept_untouched() -> None:
    text = "I added subtitles in white at the bottom, with a 0.5 s fade."
    t = translate(text)
    assert t.text == text
    assert t.actions == []


def test_trailing_temporary_issue_dropped_after_normal_reply() -> None:
    t = translate("Done! The clip is trimmed to 10s. I encountered a temporary issue.")
    assert t.text == "Done! The clip is trimmed to 10s."
    assert t.dropped_trailing_issue


def test_temporary_issue_alone_is_kept() -> None:
    t = translate("I encountered a temporary issue.")
    assert "temporary issue" in t.text
    assert not t.dropped_trailing_issue


def test_mixed_sentence_keeps_both_actions() -> None:
    t = translate("Your video is ready! Preview it in the timeline or click the Export button to download.")
    assert t.text == "Your video is ready!"
    assert GuiAction.SHOW_SUMMARY in t.actions
    assert GuiAction.EXPORT in t.actions
