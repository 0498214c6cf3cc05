"""`confirm_generation`: a generation quotes its price and waits; the next turn's yes runs it (charged then),
anything else drops it. Over real HTTP (`/run_sse`), in English and in Chinese."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from nemo_mcp.local import Knobs, LocalBackend, run_local_backend
from nemo_mcp.local.generation import QUOTE_GUI, QUOTE_PLAIN
from nemo_mcp.local.pending import is_no, is_yes
from nemo_mcp.local.speech import Speaker
from tests.local.helpers import credits, start, state, turn, upload

pytestmark = pytest.mark.anyio

HAN = re.compile(r"[\u4e00-\u9fff]")
KNOBS = {"simulate_generation": True, "confirm_generation": True, "silent_fraction": 0, "agent_delay": 0}


async def _ledger(client: httpx.AsyncClient, sid: str) -> list[dict[str, Any]]:
    return (await client.get("/_local/ledger", params={"session": sid})).json()["data"]["entries"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("ask", "yes", "lang"),
    [
        ("generate a video of a city timelapse", "yes, go ahead", "en"),
        ("generate a video of a city timelapse", "OK", "en"),
        ("生成一个城市延时摄影的视频", "确认", "zh"),
        ("帮我做一段关于城市延时摄影的视频", "好的，开始吧", "zh"),
    ],
)
async def test_nothing_is_charged_before_the_go_ahead(ask: str, yes: str, lang: str) -> None:
    async with (
        run_local_backend(Knobs(**KNOBS)) as backend,
        httpx.AsyncClient(base_url=backend.url, timeout=60) as client,
    ):
        headers, sid = await start(client)
        quote = await turn(client, headers, sid, ask)
        assert quote.tools == []
        assert len(quote.texts) == 1
        assert "100" in quote.text
        assert ("积分" in quote.text) if lang == "zh" else ("credits" in quote.text)
        assert bool(HAN.search(quote.text)) == (lang == "zh")
        assert await credits(client, headers) == {"available": 100, "frozen": 0, "total": 100}
        assert await _ledger(client, sid) == []
        assert (await state(client, headers, sid))["draft"]["t"] == []
        assert backend.state.sessions[sid].pending is not None

        done = await turn(client, headers, sid, yes)
        assert done.tools == ["generate_video_with_seedance", "edit_multitrack"]
        assert bool(HAN.search(done.text)) == (lang == "zh")
        assert await credits(client, headers) == {"available": 0, "frozen": 0, "total": 0}
        entries = await _ledger(client, sid)
        assert [(e["action"], e["kind"], e["amount"]) for e in entries] == [
            ("freeze", "generation", 100),
            ("charge", "generation", 100),
        ]
        assert {e["message_id"] for e in entries} == {done.events[0]["invocationId"]}
        assert entries[0]["instruction"] == ask  # the request that was confirmed
        st = await state(client, headers, sid)
        assert [tr["tt"] for tr in st["draft"]["t"]] == [0, 1, 7]
        assert backend.state.sessions[sid].pending is None
        again = await turn(client, headers, sid, yes)  # nothing is waiting any more
        assert again.tools == []
        assert len(await _ledger(client, sid)) == 2


async def test_anything_else_drops_it(media: dict[str, Path]) -> None:
    knobs = Knobs(**KNOBS, gui_speak="off", initial_credits=1000)
    async with (
        run_local_backend(knobs) as backend,
        httpx.AsyncClient(base_url=backend.url, timeout=60) as client,
    ):
        headers, sid = await start(client)
        await upload(client, headers, sid, media["clip"])
        await turn(client, headers, sid, "generate a video of a red balloon")
        other = await turn(client, headers, sid, "make it square")  # a new instruction: handled as one
        assert other.tools == ["edit_multitrack"]
        assert "dropped the generation" in other.text
        assert (await state(client, headers, sid))["canvas_config"]["aspect_ratio"] == "1:1"
        assert (await turn(client, headers, sid, "yes")).tools == []  # nothing waits any more
        assert await credits(client, headers) == {"available": 990, "frozen": 0, "total": 990}
        assert [e["kind"] for e in await _ledger(client, sid)] == ["edit", "edit"]
        # an explicit no, in Chinese
        await turn(client, headers, sid, "生成一个红气球的视频")
        no = await turn(client, headers, sid, "取消")
        assert no.tools == []
        assert "已取消生成" in no.text
        assert backend.state.sessions[sid].pending is None
        assert (await turn(client, headers, sid, "确认")).tools == []
        assert (await credits(client, headers))["available"] == 990


async def test_a_go_ahead_without_the_credits_keeps_it_waiting(local_backend: LocalBackend) -> None:
    local_backend.knobs.update(KNOBS)
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=60) as client:
        headers, sid = await start(client)
        user_id = local_backend.state.sessions[sid].user.user_id
        await turn(client, headers, sid, "generate a video of a sunrise")
        await client.patch("/_local/credits", json={"user_id": user_id, "available": 50})
        refused = await turn(client, headers, sid, "yes")
        assert refused.body["code"] == 2001
        assert local_backend.state.sessions[sid].pending is not None
        await client.patch("/_local/credits", json={"user_id": user_id, "available": 100})
        assert (await turn(client, headers, sid, "yes")).tools[0] == "generate_video_with_seedance"
        assert (await credits(client, headers))["available"] == 0


def test_quotes_come_in_gui_and_plain_forms() -> None:
    for lang, instruction in (("en", "generate a video of a cat"), ("zh", "生成一个猫的视频")):
        seen = set()
        for seed in range(60):
            speaker = Speaker.for_turn(instruction, "some", seed, 1)
            assert speaker.lang == lang
            bank = QUOTE_GUI if speaker.gui(0.5) else QUOTE_PLAIN
            seen.add(speaker.pick(bank[lang]))
        assert seen & set(QUOTE_GUI[lang])
        assert seen & set(QUOTE_PLAIN[lang])


@pytest.mark.parametrize(
    "text",
    [
        "yes",
        "Yes, go ahead!",
        "ok",
        "okay please",
        "confirm",
        "go ahead",
        "do it",
        "确认",
        "开始",
        "好的",
        "继续",
    ],
)
def test_yes(text: str) -> None:
    assert is_yes(text)
    assert not is_no(text)


@pytest.mark.parametrize(
    "text",
    ["yes but make it vertical", "好的但是改成竖屏", "不，改成竖屏", "no, make it vertical", "", "trim it"],
)
def test_neither_yes_nor_a_plain_no(text: str) -> None:
    assert not is_yes(text)
    assert not is_no(text)


@pytest.mark.parametrize(
    "text", ["no", "no thanks", "cancel it", "don't generate it", "取消", "不要", "算了吧"]
)
def test_no(text: str) -> None:
    assert is_no(text)
    assert not is_yes(text)
