"""The shared ``httpx.AsyncClient``: created on first use (not in ``NemoClient()``), one per client object,
its SSL context built off the event loop, closed cleanly whether it was used or not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
import respx

from nemo_mcp.api import ApiConfig, BackendUnreachableError, NemoClient
from nemo_mcp.api.client._transport import MAX_CONNECTIONS

pytestmark = pytest.mark.anyio

BASE = "http://nemo.test"
MINT = {"code": 0, "data": {"token": "nmv_usr_LAZY0123456789", "user_id": "anon_l"}}
CREDITS = {"code": 0, "data": {"available": 1, "frozen": 0, "total": 1}}


@pytest.fixture
def ssl_contexts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records where httpx's verifying SSL context is built (the ~35-80 ms part of a client)."""
    calls: list[str] = []
    real = httpx.create_ssl_context

    def spy(*args: Any, **kwargs: Any) -> Any:
        try:
            anyio.get_current_task()
            calls.append("event loop")
        except RuntimeError:
            calls.append("worker thread")
        return real(*args, **kwargs)

    monkeypatch.setattr(httpx, "create_ssl_context", spy)
    return calls


def mocked() -> respx.MockRouter:
    router = respx.mock(base_url=BASE, assert_all_called=False)
    router.post("/api/auth/anonymous-token").mock(return_value=httpx.Response(200, json=MINT))
    router.get("/api/credits/balance/simple").mock(return_value=httpx.Response(200, json=CREDITS))
    return router


async def test_constructing_a_client_builds_no_http_client(
    make_config: Callable[..., ApiConfig], ssl_contexts: list[str]
) -> None:
    api = NemoClient(make_config(BASE))
    assert api._transport._http_client is None
    assert ssl_contexts == []
    await api.aclose()  # closing a client that was never used
    await api.aclose()  # and again
    assert api._transport._http_client is None
    with pytest.raises(BackendUnreachableError):
        await api.get_credits()
    with pytest.raises(BackendUnreachableError):
        api._transport._http  # noqa: B018 - a closed client does not create a new httpx client


async def test_first_request_builds_the_ssl_context_in_a_worker_thread(
    make_config: Callable[..., ApiConfig], ssl_contexts: list[str]
) -> None:
    with mocked():
        async with NemoClient(make_config(BASE)) as api:
            assert ssl_contexts == []
            await api.get_credits()
            assert ssl_contexts == ["worker thread"]
            first = api._transport._http_client
            assert first is not None
            await api.get_credits()
            assert api._transport._http_client is first
            assert ssl_contexts == ["worker thread"]
        assert first.is_closed


async def test_concurrent_first_requests_share_one_client(
    make_config: Callable[..., ApiConfig], ssl_contexts: list[str]
) -> None:
    built: list[httpx.AsyncClient] = []
    with mocked():
        async with NemoClient(make_config(BASE)) as api:
            real = api._transport._new_client

            def counting(verify: Any) -> httpx.AsyncClient:
                built.append(real(verify))
                return built[-1]

            api._transport._new_client = counting  # type: ignore[method-assign]
            async with anyio.create_task_group() as tg:
                for _ in range(6):
                    tg.start_soon(api.get_credits)
            assert len(built) == 1
            assert api._transport._http_client is built[0]
        assert built[0].is_closed


async def test_a_plugged_transport_needs_no_ssl_context(
    make_config: Callable[..., ApiConfig], ssl_contexts: list[str]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/auth/anonymous-token":
            return httpx.Response(200, json=MINT)
        return httpx.Response(200, json=CREDITS)

    async with NemoClient(make_config(BASE), transport=httpx.MockTransport(handler)) as api:
        credits = await api.get_credits()
        assert credits.available == 1
    assert ssl_contexts == []


async def test_a_stream_turn_on_a_closed_client_ends_with_an_error(
    make_config: Callable[..., ApiConfig],
) -> None:
    api = NemoClient(make_config(BASE, token="nmv_usr_ENV0123456789"))
    await api.aclose()
    events = [ev async for ev in api.stream_turn("s1", "hello")]
    assert len(events) == 1
    assert events[0].reason == "error"
    assert events[0].error_tag == BackendUnreachableError("x").tag


async def test_the_pool_keeps_as_many_idle_connections_as_it_may_open(
    make_config: Callable[..., ApiConfig],
) -> None:
    async with NemoClient(make_config(BASE)) as api:
        pool = (await api._transport.client())._transport._pool  # type: ignore[attr-defined]
        assert pool._max_connections == MAX_CONNECTIONS
        assert pool._max_keepalive_connections == MAX_CONNECTIONS


async def test_a_burst_reuses_its_connections_afterwards(
    local_backend: Any, make_config: Callable[..., ApiConfig]
) -> None:
    """20 concurrent calls open up to 20 connections; the next burst reuses them instead of reconnecting."""
    async with NemoClient(make_config(local_backend.url)) as api:
        await api.get_credits()  # token minted, client created
        pool = (await api._transport.client())._transport._pool  # type: ignore[attr-defined]

        async def burst() -> None:
            async with anyio.create_task_group() as tg:
                for _ in range(20):
                    tg.start_soon(api.get_credits)

        await burst()
        opened = len(pool.connections)
        assert opened > 8  # the burst really was concurrent
        await burst()
        assert len(pool.connections) <= MAX_CONNECTIONS
        assert len(pool.connections) >= opened  # none of the idle ones was dropped
