"""One `/run_sse` turn as the agent's modules share it: its context, and the helpers that emit its events.

The agent emits neutral events (`text`, `call`, `result`); `sse.py` encodes them as ADK or typed SSE.
"""

from __future__ import annotations

import asyncio
import copy
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nemo_mcp.local import draft as drafts
from nemo_mcp.local.knobs import Knobs
from nemo_mcp.local.ledger import Bill
from nemo_mcp.local.speech import Say, Speaker
from nemo_mcp.local.state import Session

Emit = Callable[[dict[str, Any]], Awaitable[None]]


class Aborted(Exception):
    """The turn was cut off (injected mid-stream error)."""


@dataclass
class TurnContext:
    session: Session
    knobs: Knobs
    data_dir: Path
    base_url: str
    emit: Emit
    silent: bool
    bill: Bill  # each paid step holds its price, then settles or cancels it
    speaker: Speaker  # the turn's language and wording
    instruction: str = ""
    applied: int = 0  # edits actually made
    generated: bool = False  # a simulated generation ran
    edit_paid: bool = False  # the turn's editing charge is settled (later edits are covered)
    analysis_paid: bool = False
    info: list[Say] = field(default_factory=list)  # metadata/summary answers, first in the reply
    said: list[Say] = field(default_factory=list)  # past-tense descriptions of the edits
    notes: list[Say] = field(default_factory=list)  # problems and caveats
    topics: list[str] = field(default_factory=list)  # GUI step topics for what was done


def sec(ms: float, lang: str = "en") -> str:
    """Milliseconds as `2.0s` / `1:05.0` (`2.0秒` in Chinese)."""
    seconds = ms / 1000
    if seconds >= 60:
        return f"{int(seconds // 60)}:{seconds % 60:04.1f}"
    return f"{seconds:.1f}秒" if lang == "zh" else f"{seconds:.1f}s"


def both(en: Callable[[str], str]) -> Say:
    """A Say from one formatter that takes the language (for texts built around numbers)."""
    return Say(en("en"), en("zh"))


async def text(ctx: TurnContext, words: str) -> None:
    await ctx.emit({"type": "text", "text": words})


async def tool(ctx: TurnContext, name: str, args: dict[str, Any], long: bool = False) -> str:
    call_id = f"adk-{secrets.token_hex(8)}"
    await ctx.emit({"type": "call", "id": call_id, "name": name, "args": args, "long": long})
    if ctx.knobs.agent_delay > 0:
        await asyncio.sleep(ctx.knobs.agent_delay)
    return call_id


async def result(
    ctx: TurnContext, call_id: str, name: str, response: dict[str, Any], keys: tuple[str, ...]
) -> None:
    delta = {key: copy.deepcopy(ctx.session.state[key]) for key in keys}
    await ctx.emit({"type": "result", "id": call_id, "name": name, "response": response, "delta": delta})


def sync_canvas(session: Session) -> None:
    m = session.draft.setdefault("m", {})
    width, height = int(m.get("width", 1920)), int(m.get("height", 1080))
    session.state["canvas_config"] = {
        "width": width,
        "height": height,
        "aspect_ratio": drafts.aspect_label(width, height),
    }
