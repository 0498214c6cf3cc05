"""The local agent speaks like NemoVideo's web-editor agent: the instruction's language, facts then GUI steps,
sometimes GUI steps only, doubled end marks or the temporary-issue noise, sometimes plain; all seeded, and
only the text changes (tool events and state are the same whatever `gui_speak` says)."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from nemo_mcp.local import Knobs, LocalBackend, run_local_backend
from nemo_mcp.local.intents import language_of
from nemo_mcp.local.speech import NOISE, STEPS, Reply, Say, Speaker
from tests.local.helpers import gui_steps, start, state, turn, upload

pytestmark = pytest.mark.anyio

HAN = re.compile(r"[\u4e00-\u9fff]")
TRIM = Say("trimmed the video to 0.0s–2.0s (2.0s)", "把视频裁剪到 0.0秒–2.0秒（共 2.0秒）")
TITLE = Say('added the title "Hi" (0.0s–3.0s, center)', "添加标题「Hi」（0.0秒–3.0秒，居中）")


def _reply(mode: str, seed: int, lang: str = "en", **kw: Any) -> str:
    speaker = Speaker(lang, mode, random.Random(seed))
    defaults: dict[str, Any] = {"said": [TRIM, TITLE], "topics": ["cut", "text", "preview", "export"]}
    return speaker.reply(Reply(**(defaults | kw)))


def _has_fact(text: str, lang: str) -> bool:
    return (TRIM.text(lang) in text) and (TITLE.text(lang).split("（")[0].split(" (")[0] in text)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_modes(lang: str) -> None:
    off = [_reply("off", seed, lang) for seed in range(200)]
    always = [_reply("always", seed, lang) for seed in range(200)]
    some = [_reply("some", seed, lang) for seed in range(400)]
    noise = NOISE[lang]
    double = "。。" if lang == "zh" else ".."
    assert all(_has_fact(r, lang) and not gui_steps(r, lang) for r in off)
    assert not any(n in r for r in off + always for n in noise)
    assert not any(double in r for r in off + always)
    assert all(_has_fact(r, lang) and gui_steps(r, lang) for r in always)
    assert len(set(always)) > 20  # varied phrasings
    plain = [r for r in some if not gui_steps(r, lang)]
    gui_only = [r for r in some if gui_steps(r, lang) and not _has_fact(r, lang)]
    assert plain
    assert gui_only
    assert [r for r in some if _has_fact(r, lang) and gui_steps(r, lang)]
    assert [r for r in some if double in r]
    assert [r for r in some if any(n in r for n in noise)]
    # steps of more than one kind, one or two at a time
    assert len({s for r in always for s in gui_steps(r, lang)}) >= 8
    assert max(len(gui_steps(r, lang)) for r in always) == 2


def test_export_requests_and_what_is_always_said() -> None:
    for seed in range(100):
        asked = _reply("always", seed, export="ready")
        assert gui_steps(asked, topic="export")
        notes = _reply(
            "some", seed, notes=[Say("4K isn't available here.", "这里不支持 4K。")], export="not_ready"
        )
        assert "4K isn't available here." in notes  # notes are never dropped
        assert "There's nothing to export yet" in notes
        info = _reply("some", seed, said=[], info=[Say("Metadata — a.mp4: 1.00s.", "元数据")])
        assert "Metadata — a.mp4: 1.00s." in info


def test_the_same_seed_and_turn_say_the_same() -> None:
    one = Speaker.for_turn("trim to 2 seconds", "some", 7, 3)
    two = Speaker.for_turn("trim to 2 seconds", "some", 7, 3)
    assert one.reply(Reply(said=[TRIM], topics=["cut"])) == two.reply(Reply(said=[TRIM], topics=["cut"]))
    replies = {
        Speaker.for_turn("trim to 2 seconds", "always", s, 3).reply(Reply(said=[TRIM])) for s in range(30)
    }
    assert len(replies) > 3


def test_language_of() -> None:
    assert language_of("把视频剪到前3秒") == "zh"
    assert language_of("把 clip.mp4 剪到前3秒，导出 1080p") == "zh"  # file names and units are not English
    assert language_of("trim to 3 seconds") == "en"
    assert language_of("add a title '你好'") == "en"  # quoted text is not the instruction's language
    assert language_of("trim to 3 seconds 然后静音") == "mixed"
    langs = {Speaker.for_turn("trim to 3 seconds 然后静音", "off", s, 1).lang for s in range(20)}
    assert langs == {"en", "zh"}  # mixed: either


async def test_chinese_in_chinese_out_over_http(local_backend: LocalBackend, media: dict[str, Path]) -> None:
    local_backend.knobs.gui_speak = "always"
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, sid = await start(client)
        await upload(client, headers, sid, media["clip"])
        t = await turn(client, headers, sid, "把视频剪到前2秒，然后在顶部加标题「你好」")
        assert t.tools == ["edit_multitrack", "edit_multitrack"]
        assert "把视频裁剪到 0.0秒–2.0秒" in t.text
        assert "「你好」" in t.text
        assert gui_steps(t.text, "zh")
        assert not re.search(r"\b(?:the|and|Done)\b", t.text)
        draft = (await state(client, headers, sid))["draft"]
        assert draft["d"] == 2000
        assert [s["txt"] for tr in draft["t"] if tr["tt"] == 7 for s in tr["sg"]] == ["你好"]
        en = await turn(client, headers, sid, "make it vertical")
        assert "1080x1920" in en.text
        assert not HAN.search(en.text)
        local_backend.knobs.gui_speak = "off"
        zh = await turn(client, headers, sid, "提取元数据")
        assert "元数据 — clip.mp4：4.00秒，" in zh.text
        help_zh = await turn(client, headers, sid, "今天天气怎么样？")
        assert "这个我在这里做不了" in help_zh.text


def _strip(value: Any) -> Any:
    """Drop what differs between runs anyway (ids, URLs, timestamps)."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in ("id", "src", "cdn_url", "timestamp")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


async def test_only_the_text_changes(media: dict[str, Path]) -> None:
    script = [
        "trim to the first 3 seconds",
        "add a title 'Hello' at the top",
        "make it vertical and mute it",
        "extract metadata",
        "把速度调为2倍速",
        "export it",
    ]
    seen: dict[str, tuple[list[Any], Any, list[str]]] = {}
    async with (
        run_local_backend(Knobs(silent_fraction=0.5, seed=3)) as backend,
        httpx.AsyncClient(base_url=backend.url, timeout=30) as client,
    ):
        for mode in ("off", "some", "always"):
            backend.knobs.gui_speak = mode
            headers, sid = await start(client)
            await upload(client, headers, sid, media["clip"])
            events: list[Any] = []
            texts: list[str] = []
            spoke: list[bool] = []
            for line in script:
                t = await turn(client, headers, sid, line)
                events += [_strip(p) for p in t.parts("functionCall") + t.parts("functionResponse")]
                spoke.append(bool(t.texts))
                texts += t.texts
            seen[mode] = (events, _strip((await state(client, headers, sid))["draft"]), texts)
            # silent turns stay silent, and which turns are silent is the same in every mode
            expected = [random.Random(f"3:{sid}:{n}").random() >= 0.5 for n in range(1, 7)]
            info = [False, False, False, True, False, False]  # info turns always answer
            assert spoke == [
                e or i or line == "export it" for e, i, line in zip(expected, info, script, strict=True)
            ]
    assert seen["off"][0] == seen["some"][0] == seen["always"][0]
    assert seen["off"][1] == seen["some"][1] == seen["always"][1]
    assert not any(gui_steps(t) or gui_steps(t, "zh") for t in seen["off"][2])


def test_steps_read_like_a_gui() -> None:
    wanted = ["Export", "timeline", "Music panel", "Delete", "gear icon", "Effects tab", "volume slider"]
    text = " ".join(s for bank in STEPS["en"].values() for s in bank)
    assert all(w in text for w in wanted)
    zh = "".join(s for bank in STEPS["zh"].values() for s in bank)
    for w in [
        "导出",
        "音乐面板",
        "时间轴",
        "预览窗口",
        "双击字幕",
        "分割",
        "滤镜",
        "特效面板",
        "属性栏",
        "空格键",
        "Delete",
    ]:
        assert w in zh, w
