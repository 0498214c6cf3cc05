"""Spending only what the user agreed to: the question on both protocol eras, the confirmation token for
hosts that cannot ask, and the agent's own "shall I go ahead?". Real MCP clients (in memory, both eras),
the real embedded backend over loopback HTTP; what was sent is read from the backend's own records."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import ElicitRequestParams, ElicitResult

from nemo_mcp.local import Knobs, LocalBackend
from nemo_mcp.server import spending
from nemo_mcp.server.app import build_server
from tests.server.conftest import Session, make_settings

pytestmark = pytest.mark.anyio

TITLE = "add the title 'Sunday' at the top"
GENERATE = "generate a video of a city timelapse"
Callback = Callable[[Any, ElicitRequestParams], Awaitable[ElicitResult]]


def answering(action: str, asked: list[str], between: Callable[[], None] | None = None) -> Callback:
    async def answer(context: Any, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        if between is not None:
            between()
        if action == "accept":
            return ElicitResult(action="accept", content={"spend": True})
        return ElicitResult(action=action)  # type: ignore[arg-type]

    return answer


def sent(backend: LocalBackend) -> list[str]:
    """Every instruction the backend's agent received."""
    return [t for texts in backend.stats.turns.values() for t in texts]


def ledger(backend: LocalBackend, kind: str = "charge") -> int:
    return sum(e.amount for e in backend.state.ledger if e.action == kind)


@pytest.mark.parametrize("mode", ["legacy", "auto"])  # 2025-11-25 (pushed question) and 2026-07-28 (MRTR)
@pytest.mark.parametrize("action", ["accept", "decline", "cancel", None])
async def test_the_user_is_asked_before_spending(
    tmp_path: Path, local_backend: LocalBackend, clip: Path, mode: str, action: str | None
) -> None:
    settings = make_settings(tmp_path, local_backend.url, confirm_spend="always")
    asked: list[str] = []
    callback = answering(action, asked) if action else None
    async with Client(build_server(settings), mode=mode, elicitation_callback=callback) as client:
        nemo = Session(client)
        if action == "accept":  # something to put the title on
            await nemo.ok("upload_media", {"sources": [str(clip)]})  # free: never asked
            assert asked == []
        c = await nemo.ok("edit_video", {"instruction": TITLE})
    d = c.data
    assert d["estimate"]["credits"] == 50  # an edit, at NemoVideo's published prices
    if action is None:  # no elicitation capability: no protocol error, a token instead
        assert asked == []
        assert d["status"] == "needs_confirmation"
        assert d["confirmation"]["outcome"] == "needed"
        assert d["confirmation_token"] in c.text
        assert sent(local_backend) == []
        return
    assert len(asked) == 1, asked  # asked once, on either era
    assert "about 50 credits" in asked[0]
    assert "Sunday" in asked[0]
    assert d["confirmation_token"] is None
    if action == "accept":
        assert d["status"] == "done", c.text
        assert d["confirmation"]["outcome"] == "accepted"
        assert sent(local_backend) == [TITLE]
        assert d["credits"]["charged"] == ledger(local_backend) == local_backend.knobs.edit_cost
    else:
        assert d["status"] == "not_sent", c.text
        assert d["confirmation"]["outcome"] == ("declined" if action == "decline" else "cancelled")
        assert "nothing was sent" in c.text
        assert sent(local_backend) == []
        assert ledger(local_backend, "freeze") == 0


async def test_under_the_policy_nothing_is_asked(
    local_backend: LocalBackend, clip: Path, tmp_path: Path
) -> None:
    asked: list[str] = []
    settings = make_settings(tmp_path, local_backend.url)  # the default: above:50
    async with Client(build_server(settings), elicitation_callback=answering("decline", asked)) as client:
        nemo = Session(client)
        await nemo.ok("upload_media", {"sources": [str(clip)]})
        c = await nemo.ok("edit_video", {"instruction": TITLE})
        assert c.data["status"] == "done"
        assert c.data["confirmation"]["outcome"] == "not_needed"
        await nemo.ok("edit_video", {"instruction": "export"})  # free: routed, never quoted
        c = await nemo.ok("edit_video", {"instruction": GENERATE})  # about 100: asked, declined
    assert len(asked) == 1
    assert "about 100 credits" in asked[0]
    assert c.data["status"] == "not_sent"
    assert sent(local_backend) == [TITLE]


async def test_a_question_is_asked_once_while_prices_move_between_rounds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2026-07-28 asks again whenever the question's text changed since the last round: the quote is
    pinned for the call, so a price that moves between rounds (here the embedded backend's) changes
    nothing. Without the pin the same call is asked round after round until the client gives up."""
    knobs = Knobs(silent_fraction=0.0, edit_cost=60)
    settings = make_settings(tmp_path, "", backend="local", local_knobs=knobs, confirm_spend="above:50")

    def bump() -> None:
        knobs.edit_cost += 7

    asked: list[str] = []
    client = Client(
        build_server(settings),
        elicitation_callback=answering("decline", asked, bump),
        input_required_max_rounds=4,
    )
    async with client:
        assert client.protocol_version >= "2026-07-28"
        c = await Session(client).ok("edit_video", {"instruction": TITLE})
        assert len(asked) == 1
        assert c.data["status"] == "not_sent"
        assert c.data["estimate"]["credits"] == 60  # the price the user was asked about

        monkeypatch.setattr(spending, "PIN_SECONDS", 0.0)  # the check itself can fail
        asked.clear()
        with pytest.raises(Exception, match="more than 4 rounds"):  # the client gives up
            await Session(client).call("edit_video", {"instruction": TITLE + " again"})
        assert len(asked) == 4, asked  # re-asked every round, each time with another price
        assert len(set(asked)) == 4


async def test_a_host_without_questions_confirms_with_a_token(
    nemo: Session, local_backend: LocalBackend, clip: Path, tmp_path: Path
) -> None:
    local_backend.knobs.simulate_generation = True
    local_backend.knobs.initial_credits = 1000
    quoted = await nemo.ok("edit_video", {"instruction": GENERATE})
    d = quoted.data
    assert d["status"] == "needs_confirmation"
    assert d["estimate"]["credits"] == 100
    assert d["estimate"]["kinds"][0] == "generation"
    assert not quoted.error
    assert sent(local_backend) == []
    token = d["confirmation_token"]
    assert d["confirmation"]["expires_in_seconds"] == 600
    key = tmp_path / "config" / "confirm.key"
    assert key.stat().st_mode & 0o777 == 0o600

    done = await nemo.ok("edit_video", {"instruction": GENERATE, "confirmation": token, "wait_seconds": 45})
    assert done.data["status"] == "done", done.text
    assert done.data["confirmation"]["outcome"] == "token"
    assert done.data["credits"]["charged"] == ledger(local_backend) == 100
    assert sent(local_backend) == [GENERATE]

    again = await nemo.fail(
        "edit_video", {"instruction": GENERATE, "confirmation": token}, "confirmation_used"
    )
    assert "Nothing was sent" in again
    assert sent(local_backend) == [GENERATE]  # a replay sends nothing


async def test_tokens_refused(nemo: Session, local_backend: LocalBackend, tmp_path: Path) -> None:
    async def token_for(instruction: str, **args: Any) -> str:
        c = await nemo.ok("edit_video", {"instruction": instruction, **args})
        assert c.data["status"] == "needs_confirmation", c.text
        return str(c.data["confirmation_token"])

    token = await token_for(GENERATE)
    head, body, sig = token.split(".")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    for forged in (f"{head}.{flipped}.{sig}", f"{head}.{body}.{sig[::-1]}", "yes", token + "x"):
        await nemo.fail(
            "edit_video", {"instruction": GENERATE, "confirmation": forged}, "confirmation_invalid"
        )
    other = GENERATE.replace("city", "beach")
    text = await nemo.fail(
        "edit_video", {"instruction": other, "confirmation": token}, "confirmation_wrong_instruction"
    )
    assert "exactly the instruction" in text

    a = (await nemo.ok("new_project", {"title": "a"})).data["session_id"]  # quoted when there was none
    text = await nemo.fail(
        "edit_video", {"instruction": GENERATE, "confirmation": token}, "confirmation_wrong_project"
    )
    assert a in text
    token = await token_for(GENERATE)  # for project a
    b = (await nemo.ok("new_project", {"title": "b"})).data["session_id"]
    text = await nemo.fail(
        "edit_video", {"instruction": GENERATE, "confirmation": token}, "confirmation_wrong_project"
    )
    assert a in text
    assert b in text
    await nemo.fail(
        "edit_video",
        {"instruction": GENERATE, "confirmation": token, "session_id": b},
        "confirmation_wrong_project",
    )
    done = await nemo.ok("edit_video", {"instruction": GENERATE, "confirmation": token, "session_id": a})
    assert done.data["status"] == "done"
    assert done.data["session_id"] == a
    assert sent(local_backend) == [GENERATE]  # only the one that was confirmed


async def test_tokens_expire(local_backend: LocalBackend, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, local_backend.url, confirm_ttl_seconds=0.3)
    async with Client(build_server(settings)) as client:
        nemo = Session(client)
        token = (await nemo.ok("edit_video", {"instruction": GENERATE})).data["confirmation_token"]
        await anyio.sleep(0.4)
        text = await nemo.fail(
            "edit_video", {"instruction": GENERATE, "confirmation": token}, "confirmation_expired"
        )
    assert "new quote" in text
    assert sent(local_backend) == []


async def test_the_agents_go_ahead_goes_through_the_same_confirmation(
    nemo: Session, local_backend: LocalBackend
) -> None:
    local_backend.knobs.update(
        {"simulate_generation": True, "confirm_generation": True, "initial_credits": 1000, "gui_speak": "off"}
    )
    first = await nemo.ok("edit_video", {"instruction": GENERATE})
    token = first.data["confirmation_token"]
    waiting = await nemo.ok("edit_video", {"instruction": GENERATE, "confirmation": token})
    d = waiting.data
    assert d["awaiting_go_ahead"] is not None, waiting.text
    assert d["awaiting_go_ahead"]["cost"] == 100
    assert ledger(local_backend) == 0
    assert d["credits"]["charged"] == 0

    # "yes" alone is quoted at the agent's price: no token, nothing sent
    yes = await nemo.ok("edit_video", {"instruction": "yes, go ahead"})
    assert yes.data["status"] == "needs_confirmation"
    assert yes.data["estimate"]["basis"] == "the NemoVideo agent's own quote"
    assert len(sent(local_backend)) == 1

    # the go-ahead token handed out with the agent's question
    go = await nemo.ok(
        "edit_video",
        {"instruction": "yes, go ahead", "confirmation": d["confirmation_token"], "wait_seconds": 45},
    )
    assert go.data["status"] == "done", go.text
    assert go.data["credits"]["charged"] == ledger(local_backend) == 100
    assert sent(local_backend) == [GENERATE, "yes, go ahead"]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_an_unreadable_answer_sends_nothing(
    tmp_path: Path, local_backend: LocalBackend, mode: str
) -> None:
    async def accept_without_the_form(context: Any, params: ElicitRequestParams) -> ElicitResult:
        return ElicitResult(action="accept", content=None)

    settings = make_settings(tmp_path, local_backend.url, confirm_spend="always")
    async with Client(
        build_server(settings), mode=mode, elicitation_callback=accept_without_the_form
    ) as client:
        text = await Session(client).fail("edit_video", {"instruction": TITLE}, "confirmation_unanswered")
    assert "Nothing was sent" in text
    assert sent(local_backend) == []
