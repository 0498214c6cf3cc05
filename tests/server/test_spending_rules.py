"""The spending rules on their own: the policy's values, quotes at published or exact prices, and the
confirmation tokens (signature, expiry on an injected clock, single use across two servers sharing a
config folder, the key file's mode)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nemo_mcp.language.paid import PaidKind
from nemo_mcp.server.confirm_tokens import ConfirmationTokens, _b64, _unb64, digest
from nemo_mcp.server.failures import ToolFailure
from nemo_mcp.server.settings import ServerSettings
from nemo_mcp.server.spending import CLOUD_PRICES, Prices, Quotes, SpendPolicy, estimate


@pytest.mark.parametrize(
    ("raw", "policy", "asks_50", "asks_100"),
    [
        (None, "above:50", False, True),  # the default: every generation, not a single edit
        ("", "above:50", False, True),
        ("never", "never", False, False),
        ("ALWAYS", "always", True, True),
        (" above:0 ", "above:0", True, True),
        ("above:150", "above:150", False, False),
    ],
)
def test_policy_values(raw: str | None, policy: str, asks_50: bool, asks_100: bool) -> None:
    p = SpendPolicy.parse(raw)
    assert str(p) == policy
    assert (p.asks(50), p.asks(100)) == (asks_50, asks_100)


@pytest.mark.parametrize(
    "raw", ["sometimes", "above", "above:", "above:-1", "above:lots", "below:5", "above:inf"]
)
def test_a_bad_policy_is_refused_at_start(raw: str) -> None:
    with pytest.raises(ValueError, match="NEMO_CONFIRM_SPEND"):
        ServerSettings.from_env({"NEMO_CONFIRM_SPEND": raw})


def test_the_policy_comes_from_the_environment() -> None:
    assert ServerSettings.from_env({"NEMO_CONFIRM_SPEND": "always"}).confirm_spend == "always"
    assert ServerSettings.from_env({}).confirm_spend == "above:50"


def test_quotes_say_what_they_rest_on() -> None:
    gen = estimate("generate a video of a beach", CLOUD_PRICES)
    assert gen.credits == 100
    assert gen.kinds == (PaidKind.GENERATION,)
    assert "per generated clip" in gen.uncertainty
    both = estimate("trim it, then describe what happens", CLOUD_PRICES)
    assert both.credits == 50
    assert "no published price" in both.uncertainty
    exact = estimate("add a title", Prices(generation=100, edit=10, analysis=0, basis="b", exact=True))
    assert exact.credits == 10
    assert "at most this" in exact.uncertainty
    # the agent waits for a go-ahead on the project: whatever is sent may start it
    assert estimate("ok", CLOUD_PRICES, waiting=230).credits == 230
    assert estimate("ok", CLOUD_PRICES, waiting=None).credits == 100  # it named no price
    assert estimate("yes, go ahead", CLOUD_PRICES).credits == 100  # nothing known to wait: priced high


def test_quotes_are_pinned_until_the_agent_waits_for_something_else() -> None:
    prices = {"edit": 50.0}
    quotes = Quotes(lambda: Prices(generation=100, edit=prices["edit"], analysis=0, basis="b"))
    first = quotes.quote("add a title", "s1")
    prices["edit"] = 70
    assert quotes.quote("add a title", "s1") == first  # pinned: the same question every round
    assert quotes.quote("add a title", "s2") is not None
    assert quotes.quote("add a title", "s2").credits == 70
    assert quotes.quote("export it", "s1") is None  # free, never quoted
    quotes.agent_waits("s1", 230)
    assert quotes.quote("add a title", "s1").credits == 230  # type: ignore[union-attr]
    quotes.agent_went_on("s1")
    assert quotes.quote("add a title", "s1").credits == 70  # type: ignore[union-attr]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_tokens_are_signed_bound_short_lived_and_single_use(tmp_path: Path) -> None:
    clock = Clock()
    a = ConfirmationTokens(tmp_path, ttl=600, clock=clock)
    token = a.mint("s1", "generate a beach", 100)
    assert (tmp_path / "confirm.key").stat().st_mode & 0o777 == 0o600
    claims = a.read(token)
    assert (claims.project, claims.instruction, claims.credits) == ("s1", digest("generate a beach"), 100)
    assert claims.instruction == digest("generate   a beach")  # whitespace aside

    head, body, sig = token.split(".")
    payload = json.loads(_unb64(body))
    payload["a"] = 1000  # a bigger amount, re-encoded: the signature no longer matches
    forged = f"{head}.{_b64(json.dumps(payload).encode())}.{sig}"
    for bad in (forged, f"{head}.{body}.{sig[:-1]}", "nc1..", "", "nc2." + body + "." + sig):
        with pytest.raises(ToolFailure) as info:
            a.read(bad)
        assert info.value.tag == "confirmation_invalid"
    other_install = ConfirmationTokens(tmp_path / "elsewhere", ttl=600, clock=clock)
    with pytest.raises(ToolFailure, match="not a token this server issued"):
        other_install.read(token)

    b = ConfirmationTokens(tmp_path, ttl=600, clock=clock)  # another server, same config folder
    a.spend(claims)
    assert b.used(b.read(token))
    with pytest.raises(ToolFailure) as info:
        b.spend(b.read(token))
    assert info.value.tag == "confirmation_used"

    clock.now += 601
    with pytest.raises(ToolFailure) as info:
        a.read(token)
    assert info.value.tag == "confirmation_expired"


def test_used_markers_of_long_expired_tokens_are_swept(tmp_path: Path) -> None:
    clock = Clock()
    tokens = ConfirmationTokens(tmp_path, ttl=1, clock=clock)
    tokens.spend(tokens.read(tokens.mint("s", "i", 1)))
    used = tmp_path / "confirmations-used"
    assert len(list(used.iterdir())) == 1
    clock.now += 10_000_000_000  # far past every marker's file time
    tokens.spend(tokens.read(tokens.mint("s", "j", 1)))
    assert len(list(used.iterdir())) == 1  # only the new one


def test_a_plain_yes_to_a_waiting_agent_is_quoted_whatever_the_router_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from nemo_mcp.language.routing import Intent, Route
    from nemo_mcp.server import spending

    monkeypatch.setattr(spending, "route", lambda text: Route(steps=(Intent.CREDITS,)))
    quotes = Quotes(lambda: CLOUD_PRICES)
    assert quotes.quote("yes, go ahead", "s1") is None  # nothing waits: the router decides
    quotes.agent_waits("s1", 120)
    assert quotes.is_go_ahead_for("yes, go ahead", "s1")
    assert not quotes.is_go_ahead_for("yes, and check my credits", "s1")
    assert quotes.quote("yes, go ahead", "s1").credits == 120  # type: ignore[union-attr]
    assert quotes.quote("yes, go ahead", "s2") is None
