"""Render polling: the documented backoff, shortened near the completion predicted from a rising progress.

``next_poll_delay`` is a pure function; ``simulate`` drives it like ``poll_render`` does (same backoff
sequence, one status request per poll) against a render described by ``progress_at(t)``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import respx

from nemo_mcp.api import ApiConfig, NemoClient
from nemo_mcp.api.client._renders import next_poll_delay

BASE = "http://nemo.test"
TOKEN = "nmv_usr_POLL0123456789"
MINT = {"code": 0, "data": {"token": TOKEN, "user_id": "anon_p", "expires_at": "2099-01-01"}}


def backoffs(n: int, initial: float = 2.0, factor: float = 1.5, cap: float = 15.0) -> list[float]:
    out, d = [], initial
    for _ in range(n):
        out.append(d)
        d = min(d * factor, cap)
    return out


def simulate(
    done_at: float,
    progress_at: Callable[[float], float | None],
    *,
    initial: float = 2.0,
    factor: float = 1.5,
    cap: float = 15.0,
    floor: float = 1.0,
) -> tuple[float, int]:
    """(seconds between completion and the poll that sees it, status requests) of one render."""
    t, delay, requests = 0.0, initial, 0
    seen: list[tuple[float, float]] = []
    while True:
        requests += 1
        if t >= done_at:
            return t - done_at, requests
        p = progress_at(t)
        if p is not None:
            seen.append((t, p))
        wait = next_poll_delay(delay, seen, t, floor=floor) if p is not None else delay
        t += wait
        delay = min(delay * factor, cap)
        assert requests < 1000


# -- the pure function ------


def test_without_usable_progress_the_backoff_is_used() -> None:
    assert next_poll_delay(2.0, [], 0.0) == 2.0
    assert next_poll_delay(3.0, [(0.0, 10.0)], 0.0) == 3.0  # one sample: no rate
    assert next_poll_delay(4.5, [(0.0, 10.0), (2.0, 10.0), (5.0, 10.0)], 5.0) == 4.5  # no rise
    assert next_poll_delay(4.5, [(0.0, 10.0), (2.0, 100.0)], 2.0) == 4.5  # 100 but not completed yet
    assert next_poll_delay(4.5, [(0.0, 0.0), (0.0, 50.0)], 0.0) == 4.5  # no time elapsed: no rate


def test_rising_progress_polls_halfway_to_the_predicted_completion() -> None:
    # 10 %/s from t=0: 50 % at t=5 predicts completion at t=10; halfway from now (5) is 2.5 s
    assert next_poll_delay(15.0, [(0.0, 0.0), (5.0, 50.0)], 5.0) == pytest.approx(2.5)
    # never longer than the backoff, never shorter than the floor
    assert next_poll_delay(2.0, [(0.0, 0.0), (5.0, 50.0)], 5.0) == 2.0
    assert next_poll_delay(15.0, [(0.0, 0.0), (9.5, 95.0)], 9.5) == 1.0
    assert next_poll_delay(15.0, [(0.0, 0.0), (9.5, 95.0)], 9.5, floor=0.5) == pytest.approx(0.5)


def test_the_rate_is_taken_at_the_poll_that_first_showed_the_latest_value() -> None:
    seen = [(0.0, 0.0), (4.0, 40.0), (6.0, 40.0)]  # 10 %/s measured up to t=4: done at t=10
    assert next_poll_delay(15.0, seen, 6.0) == pytest.approx(2.0)


def test_an_overdue_prediction_falls_back_to_the_backoff() -> None:
    seen = [(0.0, 0.0), (2.0, 99.0)]  # predicts completion at ~2.02 s
    assert next_poll_delay(15.0, seen, 3.0) == pytest.approx(1.0)  # floor
    assert next_poll_delay(15.0, seen, 6.0) == pytest.approx(6.0 - 2.0 - 2 / 99, rel=1e-6)
    assert next_poll_delay(10.0, seen, 40.0) == 10.0


def test_progress_going_down_restarts_the_estimate() -> None:
    seen = [(0.0, 0.0), (2.0, 90.0), (4.0, 10.0), (6.0, 20.0)]  # second phase: 5 %/s from t=4
    assert next_poll_delay(15.0, seen, 6.0) == pytest.approx(8.0)  # done at t=22, halfway from 6
    assert next_poll_delay(15.0, seen[:3], 4.0) == 15.0  # one sample of the new phase


# -- whole renders ------


@pytest.mark.parametrize("done_at", [10.0, 30.0, 45.0, 60.0, 120.0])
def test_linear_progress_is_seen_within_two_seconds_of_completion(done_at: float) -> None:
    added, requests = simulate(done_at, lambda t: min(99.0, int(100 * t / done_at)))
    assert added <= 2.0
    if done_at == 30.0:
        assert requests <= 12
    assert requests <= 12 + done_at / 30


def test_a_30s_render_with_linear_progress() -> None:
    added, requests = simulate(30.0, lambda t: 100 * t / 30.0)
    assert added <= 2.0
    assert requests <= 12


@pytest.mark.parametrize("progress_at", [lambda t: None, lambda t: 0.0, lambda t: 50.0])
def test_without_progress_the_documented_backoff_is_kept(
    progress_at: Callable[[float], float | None],
) -> None:
    # polls at 0, 2, 5, 9.5, 16.25, 26.4, 41.4: the documented 2 s x 1.5 up to 15 s
    added, requests = simulate(30.0, progress_at)
    assert requests == 7
    assert added == pytest.approx(sum(backoffs(6)) - 30.0)


def test_progress_that_runs_ahead_of_the_work_costs_a_few_polls_only() -> None:
    # the local backend's profile: 5 % at submit, 95-99 % after ~1-2 s of FFmpeg, then 99 % until the end
    def local(t: float) -> float:
        return 5.0 if t < 1.0 else 99.0

    added, requests = simulate(30.0, local)
    assert requests <= 10
    assert added <= 15.0  # never later than the backoff would be
    _, plain = simulate(30.0, lambda t: None)
    assert requests <= plain + 4


# -- poll_render with a fake clock ------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.delays: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        self.now += delay


@pytest.fixture
async def polling(make_config: Callable[..., ApiConfig]) -> AsyncIterator[tuple[NemoClient, Clock]]:
    cfg = make_config(
        BASE, render_poll_initial=2.0, render_poll_factor=1.5, render_poll_max=15.0, render_timeout=600.0
    )
    async with NemoClient(cfg) as api:
        clock = Clock()
        api._transport.clock = clock
        api._transport.sleep = clock.sleep
        yield api, clock


def render_at(clock: Clock, start: float, done_at: float, progress: Callable[[float], Any]) -> Any:
    def answer(request: httpx.Request) -> httpx.Response:
        t = clock.now - start
        if t >= done_at:
            data = {"status": "completed", "progress": 100, "outputUrl": "https://cdn/x.mp4"}
        else:
            data = {"status": "processing", "progress": progress(t)}
        return httpx.Response(200, json={"success": True, "data": data})

    return answer


@pytest.mark.anyio
async def test_poll_render_follows_linear_progress(polling: tuple[NemoClient, Clock]) -> None:
    api, clock = polling
    with respx.mock(base_url=BASE) as mock:
        mock.post("/api/auth/anonymous-token").mock(return_value=httpx.Response(200, json=MINT))
        route = mock.get("/api/render/proxy/lambda/r").mock(
            side_effect=render_at(clock, clock.now, 30.0, lambda t: int(100 * t / 30))
        )
        start = clock.now
        final = await api.wait_render("r")
    assert final.status == "completed"
    assert clock.now - start - 30.0 <= 2.0
    assert route.call_count <= 12
    assert clock.delays[:2] == [2.0, 3.0]  # the backoff bounds the early waits
    assert all(1.0 <= d <= 15.0 for d in clock.delays)


@pytest.mark.anyio
async def test_poll_render_keeps_the_backoff_without_progress(polling: tuple[NemoClient, Clock]) -> None:
    api, clock = polling
    with respx.mock(base_url=BASE) as mock:
        mock.post("/api/auth/anonymous-token").mock(return_value=httpx.Response(200, json=MINT))
        route = mock.get("/api/render/proxy/lambda/r").mock(
            side_effect=render_at(clock, clock.now, 30.0, lambda t: None)
        )
        await api.wait_render("r")
    assert clock.delays == backoffs(6)
    assert route.call_count == 7
