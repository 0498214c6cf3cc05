"""What each paid instruction cost, checked against the embedded backend's own ledger (`GET /_local/ledger`,
loopback HTTP): several edits and a generation, credits running out part-way through a turn, a balance that
cannot be read, and the reserve a running turn already shows."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client

from nemo_mcp.local import LocalBackend
from nemo_mcp.server.app import build_server
from nemo_mcp.server.settings import ServerSettings
from tests.server.conftest import Session

pytestmark = pytest.mark.anyio


async def ledger(backend: LocalBackend, session_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=backend.url) as http:
        r = await http.get("/_local/ledger", params={"session": session_id})
    r.raise_for_status()
    return r.json()["data"]  # type: ignore[no-any-return]


@pytest.fixture
def never(settings: ServerSettings) -> ServerSettings:
    settings.confirm_spend = "never"  # the questions are tested in test_spending.py
    return settings


async def test_accounting_matches_the_ledger_over_edits_and_a_generation(
    never: ServerSettings, local_backend: LocalBackend, clip: Path
) -> None:
    local_backend.knobs.update(
        {"simulate_generation": True, "initial_credits": 1000, "edit_cost": 10, "generation_cost": 100}
    )
    instructions = [
        "add the title 'One' at the top",
        "trim it to the first 2 seconds",
        "mute the original audio",
        "generate a video of a quiet beach at dawn",
    ]
    async with Client(build_server(never)) as client:
        nemo = Session(client)
        sid = (await nemo.ok("upload_media", {"sources": [str(clip)]})).data["session_id"]
        seen: list[dict[str, Any]] = []
        charged_so_far = 0.0
        for text in instructions:
            c = await nemo.ok("edit_video", {"instruction": text, "wait_seconds": 45})
            assert c.data["status"] == "done", c.text
            credits = c.data["credits"]
            book = await ledger(local_backend, sid)
            assert credits["charged"] == book["charged"] - charged_so_far, (text, credits, book)
            assert credits["frozen"] == book["frozen"] == 0
            assert f"{credits['charged']:g} charged" in c.text  # the one line the model reads
            charged_so_far = book["charged"]
            seen.append(credits)
    charges = [c["charged"] for c in seen]
    assert charges == [10, 10, 10, 100]  # each edit once, the generation at its price
    for earlier, later in itertools.pairwise(seen):
        assert later["before"] == earlier["after"]
    user = next(iter(local_backend.state.users.values()))
    assert seen[-1]["after"] == user.available == 1000 - sum(charges)
    assert seen[0]["before"] == 1000


async def test_credits_running_out_mid_turn_report_the_state_and_retry_nothing(
    never: ServerSettings, local_backend: LocalBackend, clip: Path
) -> None:
    """The edit is paid; while it runs the credits drop to 0, so the generation after it cannot start:
    the stream ends with code 2001 and the answer says what was done, what it cost, and what to do."""
    local_backend.knobs.update(
        {"simulate_generation": True, "initial_credits": 1000, "edit_cost": 10, "agent_delay": 0.5}
    )
    instruction = "add the title 'Before' at the top, then generate a video of a stormy sea"
    async with Client(build_server(never)) as client:
        nemo = Session(client)
        sid = (await nemo.ok("upload_media", {"sources": [str(clip)]})).data["session_id"]
        async with anyio.create_task_group() as tg:

            async def exhaust_once_the_edit_holds_its_price() -> None:
                with anyio.fail_after(10):
                    while not any(e.action == "freeze" for e in local_backend.state.ledger):
                        await anyio.sleep(0.01)
                local_backend.exhaust_credits()

            tg.start_soon(exhaust_once_the_edit_holds_its_price)
            c = await nemo.call("edit_video", {"instruction": instruction, "wait_seconds": 45})
    assert c.error, c.text
    assert c.text.startswith("[no_credits] "), c.text
    assert "Before" in c.text  # what was done before it stopped
    assert "Nothing was retried" in c.text
    assert "/register?bind=" in c.text  # the way to more credits (an anonymous token)
    d = c.data  # structuredContent comes with the error: what the turn did and cost
    assert d["status"] == "stopped"
    assert any("Before" in ch for ch in d["changes"])
    # The edit was charged its price before the credits ran out; the generation never started.
    book = await ledger(local_backend, sid)
    assert book["charged"] == 10
    assert book["frozen"] == 0
    assert [e["kind"] for e in book["entries"] if e["action"] == "charge"] == ["edit"]
    # The measure is the account's balance (it cannot tell this turn's charge from what drained the
    # rest), so it is said as such, and agrees with the ledger's balances.
    first, last = book["entries"][0], local_backend.state.ledger[-1]  # the turn's first hold; the end
    drop = first["balance_before"]["total"] - last.after["total"]
    assert d["credits"]["before"] - d["credits"]["after"] == d["credits"]["charged"] == drop
    assert d["credits"]["after"] == 0
    assert "account-wide" in c.text
    assert local_backend.stats.turns[sid] == [instruction]  # sent once, never again


async def test_an_unreadable_balance_is_unknown_never_zero(
    never: ServerSettings, local_backend: LocalBackend, clip: Path
) -> None:
    async with Client(build_server(never)) as client:
        nemo = Session(client)
        await nemo.ok("upload_media", {"sources": [str(clip)]})
        local_backend.knobs.update({"fail_5xx": 1000, "fail_5xx_path": "/api/credits"})
        c = await nemo.ok("edit_video", {"instruction": "add the title 'Dark' at the top"})
    credits = c.data["credits"]
    assert c.data["status"] == "done"
    assert c.data["changes"]
    assert credits["before"] == credits["after"] == credits["charged"] == "unknown"
    assert "charged: unknown" in c.text


async def test_a_running_turn_already_shows_its_credits(
    never: ServerSettings, local_backend: LocalBackend, clip: Path
) -> None:
    local_backend.knobs.update({"agent_delay": 1.0, "initial_credits": 500, "edit_cost": 10})
    async with Client(build_server(never)) as client:
        nemo = Session(client)
        await nemo.ok("upload_media", {"sources": [str(clip)]})
        running = await nemo.ok(
            "edit_video", {"instruction": "add the title 'Slow' at the top", "wait_seconds": 0.5}
        )
        assert running.data["status"] == "running"
        assert running.data["credits"]["before"] == 500  # measured before the instruction was sent
        done = await nemo.ok("get_job", {"job_id": running.data["job"]["job_id"], "wait_seconds": 20})
    assert done.data["edit"]["credits"]["charged"] == 10
    assert done.data["edit"]["credits"]["after"] == 490
