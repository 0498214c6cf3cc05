"""What an instruction to the agent cost: the balance just before it was sent, what the backend held in
reserve while it ran, and the balance when it ended (docs/nemo-api.md §1.9: total = available + frozen).

A paid step freezes its price while it runs and is then charged (or released), so `charged` is the total
before minus the total after: a reserve lowers `available`, not `total`. A balance that cannot be read
leaves what it feeds "unknown", never 0, so a budget loop never takes a paid turn for a free one. The
balance is the account's: work running elsewhere at the same time is counted too.

While the turn runs, the latest reading is kept for the job (`live(job)`), so a "running" answer already
says what is reserved.
"""

from __future__ import annotations

import logging
from typing import Literal
from weakref import WeakKeyDictionary

from nemo_mcp.api import Credits, NemoClient, NemoError
from nemo_mcp.server.jobs import EditJob
from nemo_mcp.server.models import Amount, CreditsResult
from nemo_mcp.server.settings import ServerSettings
from nemo_mcp.server.workflows.reads import balance_view

log = logging.getLogger(__name__)

UNKNOWN: Literal["unknown"] = "unknown"
_LIVE: WeakKeyDictionary[EditJob, CreditsResult] = WeakKeyDictionary()


def live(job: EditJob) -> CreditsResult | None:
    """The credits of a turn still running (before, and the balance and reserve seen last)."""
    return _LIVE.get(job)


class Meter:
    def __init__(self, api: NemoClient, settings: ServerSettings, job: EditJob) -> None:
        self.api = api
        self.settings = settings
        self.job = job
        self.before: Credits | None = None

    async def _read(self) -> Credits | None:
        try:
            return await self.api.get_credits()
        except NemoError as exc:  # the accounting says "unknown"; the edit itself goes on
            log.info("credits read failed: %s", exc.tag)
            return None

    async def start(self) -> None:
        """The balance just before the instruction is sent."""
        self.before = await self._read()
        _LIVE[self.job] = self._result(self.before)

    async def sample(self) -> float | None:
        """A reading while the turn runs; the credits reserved now (None when unreadable)."""
        now = await self._read()
        if now is None:
            return None
        _LIVE[self.job] = self._result(now)
        return now.frozen

    async def finish(self) -> CreditsResult:
        """The balance when the turn ended, and what it cost."""
        result = self._result(await self._read())
        _LIVE.pop(self.job, None)
        return result

    def _result(self, now: Credits | None) -> CreditsResult:
        before: Amount = self.before.available if self.before is not None else UNKNOWN
        if now is None:
            view = CreditsResult(
                available=UNKNOWN,
                frozen=UNKNOWN,
                total=UNKNOWN,
                anonymous=self.api.anonymous,
                advice="The balance could not be read after the instruction; check_credits shows it.",
            )
            return view.model_copy(update={"before": before, "after": UNKNOWN, "charged": UNKNOWN})
        charged: Amount = UNKNOWN
        if self.before is not None:
            # a refund or top-up while it ran can only lower what is shown as charged, never below 0
            charged = max(0.0, round(self.before.total - now.total, 6))
        view = balance_view(now, self.api, self.settings)
        return view.model_copy(update={"before": before, "after": now.available, "charged": charged})


def charged_sentence(c: CreditsResult) -> str:
    """One line on what a paid action cost ("" for a plain balance)."""
    if c.charged is None:
        return ""
    if isinstance(c.charged, str) or isinstance(c.before, str) or isinstance(c.after, str):
        before = f" ({c.before:g} available before)" if isinstance(c.before, float | int) else ""
        return f"Credits charged: unknown: the balance could not be read{before}; check_credits shows it."
    reserve = f", {c.frozen:g} still reserved" if isinstance(c.frozen, float | int) and c.frozen else ""
    return f"Credits: {c.charged:g} charged ({c.before:g} -> {c.after:g} available{reserve})."


def fell_sentence(c: CreditsResult) -> str:
    """What the balance did while a turn ran that something else cut short (the measure is account-wide,
    and what used the credits up is part of it)."""
    if isinstance(c.before, float | int) and isinstance(c.after, float | int):
        return (
            f"The balance went from {c.before:g} to {c.after:g} credits while it ran (account-wide: whatever "
            "used the credits up counts too)."
        )
    return "What it cost is unknown: the balance could not be read; check_credits shows it."
