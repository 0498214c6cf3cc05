"""What an instruction may cost, and when the user must agree first.

- `SpendPolicy` is `NEMO_CONFIRM_SPEND`: `never`, `always` (every instruction the agent gets) or
  `above:<credits>` (the default `above:50`: every generation, about 100, but not a single edit, about 50).
- `Prices` are NemoVideo's published ones (docs/nemo-api.md §1.14), or the embedded backend's own.
- `Quote` is the estimate for one instruction: the paid kinds it asks for (`nemo_mcp.language.paid`) at
  those prices, or the agent's own price when it waits for a go-ahead on the project, with what makes the
  real charge differ.
- `Quotes` pins a quote per instruction and project for `PIN_SECONDS`. An elicitation is asked again on
  every round of a 2026-07-28 call whose question text changed, so the question must come from the
  arguments and a quote that stays put; a price or go-ahead that changes between rounds changes nothing
  until the pin expires. It also remembers which projects' agents wait for a go-ahead, and at what price.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from nemo_mcp.language.paid import PaidKind, is_go_ahead, read
from nemo_mcp.language.routing import Intent, route
from nemo_mcp.server.confirm_tokens import ConfirmationTokens
from nemo_mcp.server.models import SpendEstimate

DEFAULT_POLICY = "above:50"
CONFIRM_TTL_SECONDS = 600.0  # a confirmation_token's life
PIN_SECONDS = 600.0  # the SDK's request_state lasts 600 s per round; a quote outlives the rounds of a call
_MAX_PINNED = 512


@dataclass(frozen=True)
class SpendPolicy:
    mode: Literal["never", "always", "above"]
    limit: float = 0.0

    @classmethod
    def parse(cls, text: str | None) -> SpendPolicy:
        """`never`, `always` or `above:<credits>` (unset or blank: the default); ValueError otherwise."""
        raw = (text or "").strip().lower() or DEFAULT_POLICY
        if raw in ("never", "always"):
            return cls(raw)  # type: ignore[arg-type]
        head, _, number = raw.partition(":")
        try:
            limit = float(number)
        except ValueError:
            limit = -1.0
        if head != "above" or not 0 <= limit < float("inf"):
            raise ValueError(
                f"NEMO_CONFIRM_SPEND must be never, always or above:<credits> (e.g. above:50), not {text!r}"
            )
        return cls("above", limit)

    def asks(self, credits: float) -> bool:
        """Whether an instruction quoted at `credits` needs the user's confirmation."""
        if self.mode == "never":
            return False
        return self.mode == "always" or credits > self.limit

    def __str__(self) -> str:
        return f"above:{self.limit:g}" if self.mode == "above" else self.mode


@dataclass(frozen=True)
class Prices:
    generation: float
    edit: float
    analysis: float
    basis: str
    exact: bool = False  # the backend charges these and never more (the embedded one)


CLOUD_PRICES = Prices(
    generation=100,
    edit=50,
    analysis=0,
    basis="NemoVideo's published prices",
)


class PricedBackend(Protocol):
    """What the embedded backend's knobs say its agent charges."""

    generation_cost: int
    edit_cost: int
    analysis_cost: int


PriceSource = Callable[[], Prices]


def cloud_prices() -> Prices:
    return CLOUD_PRICES


def embedded_prices(knobs: PricedBackend) -> PriceSource:
    """The embedded backend's prices, read when quoting (its knobs may change while it runs)."""

    def prices() -> Prices:
        return Prices(
            generation=knobs.generation_cost,
            edit=knobs.edit_cost,
            analysis=knobs.analysis_cost,
            basis="the embedded backend's prices",
            exact=True,
        )

    return prices


@dataclass(frozen=True)
class Quote:
    kinds: tuple[PaidKind, ...]
    credits: float
    basis: str
    uncertainty: str

    def view(self) -> SpendEstimate:
        return SpendEstimate(
            kinds=[k.value for k in self.kinds],
            credits=self.credits,
            basis=self.basis,
            uncertainty=self.uncertainty,
        )

    @property
    def phrase(self) -> str:
        """ "about 100 credits (a generation)" for sentences."""
        what = " and ".join(_KIND_WORDS[k] for k in self.kinds)
        return f"about {self.credits:g} credits ({what})"


_KIND_WORDS = {PaidKind.GENERATION: "a generation", PaidKind.EDIT: "an edit", PaidKind.ANALYSIS: "analysis"}


def estimate(instruction: str, prices: Prices, waiting: float | Literal["none"] | None = "none") -> Quote:
    """The quote for one instruction to the agent. `waiting`: the agent of this project waits for a
    go-ahead at that price (None: it gave none), "none": it does not."""
    reading = read(instruction)
    kinds = reading.kinds
    made = prices.generation if PaidKind.GENERATION in kinds else 0.0
    edited = prices.edit if PaidKind.EDIT in kinds else 0.0
    read_ = prices.analysis if PaidKind.ANALYSIS in kinds else 0.0
    # One charge for the turn's editing and a generation covering the edits beside it, as the agent bills.
    credits = max(made, edited) + read_
    notes: list[str] = []
    basis = prices.basis
    if waiting != "none" or reading.go_ahead:
        # The agent may start what it waits for (priced like a generation when its price is unknown).
        quoted = waiting if isinstance(waiting, float | int) else prices.generation
        if quoted > credits:
            credits = quoted
            kinds = (PaidKind.GENERATION, *[k for k in kinds if k is not PaidKind.GENERATION])
        if isinstance(waiting, float | int):
            basis = "the NemoVideo agent's own quote"
            notes.append(f"the agent waits for a go-ahead on about {waiting:g} credits; this may start it")
        elif waiting is None:
            notes.append("the agent waits for a go-ahead on work it did not price; this may start it")
        else:
            notes.append("a plain yes may start work the agent quoted earlier, at a price not known here")
    if prices.exact:
        notes.append("the backend charges at most this")
    else:
        if PaidKind.GENERATION in kinds:
            notes.append(
                f"about {prices.generation:g} per generated clip; the agent decides how many it makes"
            )
        if PaidKind.EDIT in kinds:
            notes.append(f"editing about {prices.edit:g} per instruction")
        if PaidKind.ANALYSIS in kinds:
            notes.append("analysis has no published price")
    notes.append("steps that fail are not charged")
    return Quote(kinds=kinds, credits=float(credits), basis=basis, uncertainty="; ".join(notes) + ".")


class Quotes:
    """Pinned quotes, and the projects whose agent waits for a go-ahead."""

    def __init__(self, prices: PriceSource, clock: Callable[[], float] = time.monotonic) -> None:
        self.prices = prices
        self.clock = clock
        self._pinned: OrderedDict[tuple[str, str], tuple[float, Quote]] = OrderedDict()
        self._waiting: dict[str, float | None] = {}

    def quote(self, instruction: str, project: str) -> Quote | None:
        """The pinned quote for `instruction` on `project` (a session id, or "new"); None when the
        instruction never reaches the agent (export, credits, status, uploads are free)."""
        r = route(instruction)
        if Intent.AGENT not in r.steps and not self.is_go_ahead_for(instruction, project):
            return None
        key = (" ".join(instruction.split()), project)
        now = self.clock()
        hit = self._pinned.get(key)
        if hit is not None and now - hit[0] < PIN_SECONDS:
            return hit[1]
        waiting: float | Literal["none"] | None = self._waiting.get(project, "none")
        q = estimate(r.agent_text or instruction, self.prices(), waiting)
        self._pinned[key] = (now, q)
        self._pinned.move_to_end(key)
        while len(self._pinned) > _MAX_PINNED:
            self._pinned.popitem(last=False)
        return q

    def waiting(self, project: str) -> bool:
        return project in self._waiting

    def is_go_ahead_for(self, instruction: str, project: str) -> bool:
        """A plain yes to the project's agent, which waits for one: it goes to the agent, whatever the
        router would make of it alone ("yes, go ahead" is not a question about credits)."""
        return project in self._waiting and is_go_ahead(instruction)

    def agent_waits(self, project: str, cost: float | None) -> None:
        """The agent of `project` waits for a go-ahead at `cost` (None: it named no price)."""
        self._waiting[project] = cost
        self._unpin(project)

    def agent_went_on(self, project: str) -> None:
        """A turn reached the agent of `project`: whatever it waited for is started or dropped."""
        if self._waiting.pop(project, "none") != "none":
            self._unpin(project)

    def _unpin(self, project: str) -> None:
        """What the project's agent waits for changed: its instructions cost something else now."""
        for key in [k for k in self._pinned if k[1] == project]:
            del self._pinned[key]


@dataclass(frozen=True)
class Consent:
    """What the user said about spending, as the tool call carries it to the workflow."""

    # not_needed: under the policy; accepted / declined / cancelled: the user's answer to the question;
    # needed: the policy wants a yes that could not be asked for (the host shows no questions), so
    # `token` (edit_video's `confirmation`) must carry it.
    answer: Literal["not_needed", "accepted", "declined", "cancelled", "needed"]
    token: str | None = None
    can_ask: bool = False  # the host shows questions: a later go-ahead is asked for, not tokened


@dataclass
class Spending:
    """The spending rules of one server: the policy, the pinned quotes, the confirmation tokens."""

    policy: SpendPolicy
    quotes: Quotes
    tokens: ConfirmationTokens
