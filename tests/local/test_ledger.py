"""The ledger (`GET /_local/ledger`): every grant, freeze, charge, release, refund and adjustment, so a
client's accounting can be checked against it; credits running out mid-turn keep what was charged before
and charge nothing after, and the stream ends with the 2001 error event."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from nemo_mcp.local import Knobs, LocalBackend, run_local_backend
from tests.local.helpers import credits, sign_in, start, state, turn, upload

pytestmark = pytest.mark.anyio


async def _ledger(client: httpx.AsyncClient, **filters: str) -> dict[str, Any]:
    r = await client.get("/_local/ledger", params=filters)
    assert r.json()["code"] == 0, r.text
    return r.json()["data"]  # type: ignore[no-any-return]


def _moves(entries: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [(e["action"], e["kind"], e["amount"]) for e in entries]


def _consistent(entries: list[dict[str, Any]]) -> None:
    """Each entry's balances add up, and each starts where the user's previous one ended."""
    last: dict[str, dict[str, int]] = {}
    for e in entries:
        before, after = e["balance_before"], e["balance_after"]
        assert before["total"] == before["available"] + before["frozen"]
        assert after["total"] == after["available"] + after["frozen"]
        if e["user_id"] in last:
            assert before == last[e["user_id"]], e
        last[e["user_id"]] = after
        delta = {
            "grant": (e["amount"], 0),
            "freeze": (-e["amount"], e["amount"]),
            "charge": (0, -e["amount"]),
            "release": (e["amount"], -e["amount"]),
            "refund": (e["amount"], 0),
            "adjust": (e["amount"], 0),
        }[e["action"]]
        assert (after["available"] - before["available"], after["frozen"] - before["frozen"]) == delta, e


async def test_turns_are_recorded_and_match_the_balance(media: dict[str, Path]) -> None:
    knobs = Knobs(silent_fraction=0, agent_delay=0.4, edit_cost=10, analysis_cost=3)
    async with (
        run_local_backend(knobs) as backend,
        httpx.AsyncClient(base_url=backend.url, timeout=30) as client,
    ):
        headers, sid = await start(client)
        user_id = backend.state.sessions[sid].user.user_id
        await upload(client, headers, sid, media["clip"])
        running = asyncio.create_task(turn(client, headers, sid, "make it square and mute it"))
        await asyncio.sleep(0.2)
        assert await credits(client, headers) == {"available": 90, "frozen": 10, "total": 100}
        edit = await running
        ids = {e["invocationId"] for e in edit.events}
        await turn(client, headers, sid, "cut from 0:10 to 0:20")  # fails: held, then released
        await turn(client, headers, sid, "extract metadata")  # analysis: 3
        await turn(client, headers, sid, "export it")  # free: nothing recorded
        data = await _ledger(client, session=sid)
        entries = data["entries"]
        assert _moves(entries) == [
            ("freeze", "edit", 10),
            ("charge", "edit", 10),  # two edits, one editing charge
            ("freeze", "edit", 10),
            ("release", "edit", 10),
            ("freeze", "analysis", 3),
            ("charge", "analysis", 3),
        ]
        assert {e["message_id"] for e in entries[:2]} == ids  # the turn's ADK invocationId
        assert entries[0]["instruction"] == "make it square and mute it"
        assert all(e["session_id"] == sid and e["user_id"] == user_id for e in entries)
        assert (data["charged"], data["frozen"]) == (13, 0)
        mine = await _ledger(client, user=user_id)
        assert _moves(mine["entries"])[0] == ("grant", "other", 100)
        _consistent(mine["entries"])
        balance = await credits(client, headers)
        assert balance == mine["entries"][-1]["balance_after"] == {"available": 87, "frozen": 0, "total": 87}
        assert 100 - mine["charged"] == balance["available"]
        # another user's entries stay apart; an unknown filter finds nothing
        other, _ = await sign_in(client)
        assert len((await _ledger(client))["entries"]) == len(mine["entries"]) + 1
        assert (await _ledger(client, user="anon_nobody"))["entries"] == []
        assert other


async def test_generation_and_a_failed_turn_is_refunded(media: dict[str, Path]) -> None:
    knobs = Knobs(simulate_generation=True, silent_fraction=0, error_mid_stream=3)
    async with (
        run_local_backend(knobs) as backend,
        httpx.AsyncClient(base_url=backend.url, timeout=60) as client,
    ):
        headers, sid = await start(client)
        t = await turn(client, headers, sid, "generate a video of a quiet lake")
        assert t.errors  # after the generation result: the turn is undone
        with anyio.fail_after(10):
            while (await credits(client, headers))["frozen"]:
                await asyncio.sleep(0.05)
        assert await credits(client, headers) == {"available": 100, "frozen": 0, "total": 100}
        assert _moves((await _ledger(client, session=sid))["entries"]) == [
            ("freeze", "generation", 100),
            ("charge", "generation", 100),
            ("refund", "generation", 100),
        ]
        backend.knobs.error_mid_stream = -1
        await turn(client, headers, sid, "generate a video of a quiet lake")
        data = await _ledger(client, session=sid)
        assert _moves(data["entries"])[3:] == [("freeze", "generation", 100), ("charge", "generation", 100)]
        assert data["charged"] == 100
        assert (await credits(client, headers))["available"] == 0


@pytest.mark.parametrize("how", ["direct", "knob"])
@pytest.mark.parametrize("fmt", ["adk", "typed"])
async def test_credits_running_out_mid_turn(media: dict[str, Path], how: str, fmt: str) -> None:
    """The analysis step is charged; the credits then run out; the edit step never starts; the stream
    ends with {"error": ..., "code": 2001}; nothing is charged after."""
    knobs = Knobs(silent_fraction=0, agent_delay=0.5, analysis_cost=5, edit_cost=10, sse_format=fmt)
    async with (
        run_local_backend(knobs) as backend,
        httpx.AsyncClient(base_url=backend.url, timeout=30) as client,
    ):
        headers, sid = await start(client)
        await upload(client, headers, sid, media["clip"])
        body = {
            "app_name": "nemo_agent",
            "session_id": sid,
            "new_message": {"parts": [{"text": "extract metadata, then make it square"}]},
        }
        events: list[dict[str, Any]] = []
        with anyio.fail_after(20):
            async with client.stream("POST", "/run_sse", headers=headers, json=body) as resp:
                async for line in resp.aiter_lines():
                    if not line.startswith("data:") or not line[5:].strip():
                        continue
                    events.append(json.loads(line[5:]))
                    if len(events) == 1:  # the analysis call is out (its price is frozen): drain now
                        if how == "direct":
                            backend.exhaust_credits()
                        else:  # the fault knob fires on the next API request, here mid-turn
                            backend.knobs.exhaust_credits = True
                            assert (await credits(client, headers))["available"] == 0
        error = events[-1]
        assert error["code"] == 2001
        assert "Insufficient credits" in error["error"]
        assert "register?bind=anon_" in error["error"]
        if fmt == "typed":
            assert error["type"] == "error"
            calls = [e["name"] for e in events if e.get("type") == "tool_call"]
        else:
            parts = [p for e in events[:-1] for p in e["content"]["parts"]]
            calls = [p["functionCall"]["name"] for p in parts if "functionCall" in p]
        assert calls == ["understand_video"]  # the edit never started
        st = await state(client, headers, sid)
        assert st["video_analyses"]  # done before: kept
        assert st["canvas_config"]["aspect_ratio"] == "16:9"  # not done
        assert await credits(client, headers) == {"available": 0, "frozen": 0, "total": 0}
        data = await _ledger(client, session=sid)
        assert _moves(data["entries"]) == [("freeze", "analysis", 5), ("charge", "analysis", 5)]
        assert data["charged"] == 5
        everything = (await _ledger(client))["entries"]
        _consistent(everything)
        assert [e["note"] for e in everything if e["action"] == "adjust"] == ["fault: exhaust_credits"]
        assert everything[-1]["action"] == "charge"  # nothing after the analysis charge


async def test_admin_changes_and_reset(local_backend: LocalBackend) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, user_id = await sign_in(client)
        r = await client.patch("/_local/credits", json={"user_id": user_id, "available": 40})
        assert r.json()["code"] == 0
        entries = (await _ledger(client, user=user_id))["entries"]
        assert _moves(entries) == [("grant", "other", 100), ("adjust", "other", -60)]
        assert entries[1]["note"] == "admin: PATCH /_local/credits"
        _consistent(entries)
        await client.post("/_local/reset")
        assert (await _ledger(client))["entries"] == []
        assert headers
