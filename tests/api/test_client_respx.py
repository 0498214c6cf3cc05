"""Retry, backoff, Retry-After, re-mint and stream edge cases pinned down with respx (no backend)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from nemo_mcp.api import (
    ApiConfig,
    AuthError,
    BackendError,
    BackendUnreachableError,
    DownloadError,
    HeartbeatEvent,
    MalformedResponseError,
    NemoClient,
    NemoTimeoutError,
    PlanRequiredError,
    RateLimitedError,
    ServerError,
    TurnEnded,
)

pytestmark = pytest.mark.anyio

BASE = "http://nemo.test"
TOKEN = "nmv_usr_RESPXSECRET0123456789"
MINT = {"code": 0, "data": {"token": TOKEN, "user_id": "anon_x", "expires_at": "2099-01-01T00:00:00Z"}}
DRAFT = {"t": [{"tt": 0, "sg": [{"s": 0, "d": 1000}]}]}


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def mock() -> AsyncIterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/api/auth/anonymous-token").mock(return_value=httpx.Response(200, json=MINT))
        yield router


@pytest.fixture
async def client(make_config: Callable[..., ApiConfig]) -> AsyncIterator[tuple[NemoClient, Sleeps]]:
    async with NemoClient(make_config(BASE, max_retries=2, retry_base_delay=0.5, retry_max_delay=8.0)) as api:
        sleeps = Sleeps()
        api._transport.sleep = sleeps
        yield api, sleeps


def credits(**kw: Any) -> httpx.Response:
    return httpx.Response(200, json={"code": 0, "data": {"available": 5, "frozen": 1}}, **kw)


# -- idempotent retries -----------------------------------------------------------------------------


async def test_get_is_retried_on_5xx_with_jittered_backoff(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps]
) -> None:
    api, sleeps = client
    route = mock.get("/api/credits/balance/simple").mock(
        side_effect=[httpx.Response(503), httpx.Response(502), credits()]
    )
    result = await api.get_credits()
    assert result.total == 6  # computed when absent
    assert route.call_count == 3
    assert 0.375 <= sleeps.delays[0] <= 0.5
    assert 0.75 <= sleeps.delays[1] <= 1.0


async def test_retries_are_bounded(mock: respx.MockRouter, client: tuple[NemoClient, Sleeps]) -> None:
    api, sleeps = client
    route = mock.get("/api/credits/balance/simple").mock(return_value=httpx.Response(500))
    with pytest.raises(ServerError):
        await api.get_credits()
    assert route.call_count == 3
    assert len(sleeps.delays) == 2


async def test_retry_after_is_honoured_exactly(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps]
) -> None:
    api, sleeps = client
    mock.get("/api/credits/balance/simple").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "1"}),
            httpx.Response(503, headers={"retry-after-ms": "300"}),
            credits(),
        ]
    )
    await api.get_credits()
    assert sleeps.delays == [1.0, 0.3]


async def test_retry_after_beyond_the_cap_is_not_waited(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps]
) -> None:
    api, sleeps = client
    route = mock.get("/api/credits/balance/simple").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "3600"})
    )
    with pytest.raises(RateLimitedError) as info:
        await api.get_credits()
    assert info.value.retry_after == 3600
    assert route.call_count == 1
    assert sleeps.delays == []


async def test_connection_errors_and_timeouts(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps]
) -> None:
    api, _ = client
    route = mock.get("/api/credits/balance/simple").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(BackendUnreachableError) as info:
        await api.get_credits()
    assert route.call_count == 3
    assert "NEMO_API_URL" in str(info.value)
    route.mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(NemoTimeoutError):
        await api.get_credits()


async def test_non_idempotent_posts_are_not_retried(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps]
) -> None:
    api, sleeps = client
    route = mock.post("/api/tasks/me/with-session/nemo_agent").mock(side_effect=httpx.ConnectError("down"))
    with pytest.raises(BackendUnreachableError):
        await api.create_session()
    assert route.call_count == 1
    route.mock(return_value=httpx.Response(503))
    with pytest.raises(ServerError):
        await api.create_session()
    assert route.call_count == 2
    assert sleeps.delays == []


async def test_unknown_business_code_with_200_is_not_retried(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps]
) -> None:
    api, _ = client
    route = mock.get("/api/credits/balance/simple").mock(
        return_value=httpx.Response(200, json={"code": 7777, "message": "?"})
    )
    with pytest.raises(BackendError):
        await api.get_credits()
    assert route.call_count == 1


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(408),
        httpx.Response(429, headers={"Retry-After": "0"}),
        httpx.Response(504, text="gateway timeout"),
        httpx.Response(200, json={"code": 503, "message": "busy"}),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
    ],
)
async def test_every_transient_failure_is_retried_on_idempotent_calls(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps], failure: httpx.Response | Exception
) -> None:
    api, sleeps = client
    route = mock.get("/api/credits/balance/simple").mock(side_effect=[failure, credits()])
    assert (await api.get_credits()).available == 5
    assert route.call_count == 2
    assert len(sleeps.delays) == 1


async def test_html_instead_of_json(mock: respx.MockRouter, client: tuple[NemoClient, Sleeps]) -> None:
    api, _ = client
    mock.get("/api/credits/balance/simple").mock(
        return_value=httpx.Response(200, text="<html>captive portal</html>")
    )
    with pytest.raises(MalformedResponseError):
        await api.get_credits()


# -- identity ----------------------------------------------------------------------------------------


async def test_remint_once_on_1001_then_give_up(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps]
) -> None:
    api, _ = client
    route = mock.get("/api/credits/balance/simple").mock(
        return_value=httpx.Response(200, json={"code": 1001, "message": "expired"})
    )
    with pytest.raises(AuthError) as info:
        await api.get_credits()
    assert route.call_count == 2
    assert mock.routes[0].call_count == 2  # mint, then one re-mint
    assert "freshly issued" in str(info.value)


async def test_mint_sends_client_id_and_no_authorization(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps], config_dir: Path
) -> None:
    api, _ = client
    mock.get("/api/credits/balance/simple").mock(return_value=credits())
    await api.get_credits()
    mint_request = mock.routes[0].calls[0].request
    assert mint_request.headers["X-Client-Id"] == (config_dir / "client_id").read_text().strip()
    assert "authorization" not in mint_request.headers
    assert mint_request.headers["X-Skill-Source"]
    get_request = mock.routes[1].calls[0].request
    assert get_request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in str(get_request.url)


async def test_expired_stored_token_is_replaced_before_use(
    mock: respx.MockRouter, make_config: Callable[..., ApiConfig], config_dir: Path
) -> None:
    from nemo_mcp.store import StoredToken, open_store

    store = open_store(config_dir)
    assert await store.tokens.save(BASE, StoredToken("nmv_usr_OLD", expires_at=1.0), replacing=None)
    await store.aclose()
    route = mock.get("/api/credits/balance/simple").mock(return_value=credits())
    async with NemoClient(make_config(BASE)) as api:
        await api.get_credits()
    assert route.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


# -- /run_sse ----------------------------------------------------------------------------------------


def sse(*payloads: Any) -> bytes:
    return b"".join(f"data: {json.dumps(p)}\n\n".encode() for p in payloads)


class Dropping(httpx.AsyncByteStream):
    """Yields some bytes, then fails like a reset connection."""

    def __init__(self, first: bytes) -> None:
        self.first = first

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.first
        raise httpx.ReadError("connection reset by peer")


async def turn(api: NemoClient) -> list[Any]:
    return [e async for e in api.stream_turn("123", "make it pop")]


async def test_run_sse_auth_refusal_remints_and_sends_once_more(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps]
) -> None:
    api, _ = client
    route = mock.post("/run_sse").mock(
        side_effect=[
            httpx.Response(401, json={"code": 1001, "message": "expired"}),
            httpx.Response(200, content=sse({"text": "ok"}), headers={"content-type": "text/event-stream"}),
        ]
    )
    events = await turn(api)
    end = events[-1]
    assert isinstance(end, TurnEnded)
    assert end.reason == "closed"
    assert end.reauthenticated
    assert route.call_count == 2
    body = json.loads(route.calls[0].request.content)
    assert body == {
        "app_name": "nemo_agent",
        "user_id": "me",
        "session_id": "123",
        "new_message": {"parts": [{"text": "make it pop"}]},
    }
    assert route.calls[0].request.headers["Accept"] == "text/event-stream"


async def test_run_sse_auth_refused_twice_is_not_sent_a_third_time(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps]
) -> None:
    api, _ = client
    route = mock.post("/run_sse").mock(return_value=httpx.Response(200, json={"code": 1001, "message": "no"}))
    end = (await turn(api))[-1]
    assert end.reason == "error"
    assert end.error_tag == "auth"
    assert route.call_count == 2


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(503),
        httpx.Response(429, headers={"Retry-After": "0"}),
        httpx.ReadTimeout("t"),
        httpx.RemoteProtocolError("x"),
    ],
)
async def test_run_sse_is_never_retried(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps], failure: Any
) -> None:
    api, sleeps = client
    route = mock.post("/run_sse").mock(side_effect=[failure])
    end = (await turn(api))[-1]
    assert end.reason in ("error", "interrupted")
    assert route.call_count == 1
    assert sleeps.delays == []


async def test_run_sse_connect_error_is_an_error_not_sent(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps]
) -> None:
    api, _ = client
    mock.post("/run_sse").mock(side_effect=httpx.ConnectError("refused"))
    end = (await turn(api))[-1]
    assert end.reason == "error"
    assert end.error_tag == "backend_unreachable"
    assert not end.accepted


async def test_run_sse_reset_mid_stream_is_interrupted(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps]
) -> None:
    api, _ = client
    route = mock.post("/run_sse").mock(
        return_value=httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=Dropping(sse({"text": "Working"}))
        )
    )
    events = await turn(api)
    end = events[-1]
    assert end.reason == "interrupted"
    assert end.error_tag == "stream_interrupted"
    assert end.texts == ["Working"]
    assert route.call_count == 1


async def test_run_sse_answered_with_one_json_document(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps]
) -> None:
    api, _ = client
    body = b'{\r\n  "content": {"parts": [{"text": "Done."}]},\r\n  "author": "nemo_agent"\r\n}\r\n'
    mock.post("/run_sse").mock(
        return_value=httpx.Response(200, content=body, headers={"content-type": "application/json"})
    )
    events = await turn(api)
    assert [e.kind for e in events] == ["text", "end"]
    assert (events[-1].reason, events[-1].texts) == ("closed", ["Done."])


async def test_run_sse_business_error_in_200_json(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps]
) -> None:
    api, _ = client
    mock.post("/run_sse").mock(
        return_value=httpx.Response(200, json={"code": 1002, "message": "Session not found"})
    )
    end = (await turn(api))[-1]
    assert end.error_tag == "session_lost"
    mock.post("/run_sse").mock(return_value=httpx.Response(404, json={"detail": "Session not found: 123"}))
    end = (await turn(api))[-1]
    assert end.error_tag == "session_lost"


async def test_run_sse_close_before_any_event_is_interrupted(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps]
) -> None:
    api, _ = client
    mock.post("/run_sse").mock(
        return_value=httpx.Response(200, content=b": ping\n\n", headers={"content-type": "text/event-stream"})
    )
    end = (await turn(api))[-1]
    assert end.reason == "interrupted"
    assert end.heartbeat_count == 1


async def test_consumer_stopping_early_closes_the_response(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps]
) -> None:
    api, _ = client
    closed: list[bool] = []

    class Endless(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            for i in range(1000):
                yield sse({"text": f"t{i}"})

        async def aclose(self) -> None:
            closed.append(True)

    mock.post("/run_sse").mock(
        return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Endless())
    )
    gen = api.stream_turn("123", "hi")
    async for _ in gen:
        break
    await gen.aclose()
    assert closed == [True]


# -- render ----------------------------------------------------------------------------------------------


async def test_submit_retry_uses_a_new_id_and_at_most_two(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps]
) -> None:
    api, _ = client
    route = mock.post("/api/render/proxy/lambda").mock(
        side_effect=[httpx.ConnectError("x"), httpx.Response(503)]
    )
    with pytest.raises(ServerError):
        await api.submit_render("123", DRAFT)
    ids = [json.loads(c.request.content)["id"] for c in route.calls]
    assert len(ids) == 2
    assert ids[0] != ids[1]
    assert all(i.startswith("render_") for i in ids)
    body = json.loads(route.calls[0].request.content)
    assert body["sessionId"] == "123"
    assert body["output"] == {"format": "mp4", "quality": "high"}


async def test_submit_402_is_not_retried(mock: respx.MockRouter, client: tuple[NemoClient, Sleeps]) -> None:
    api, _ = client
    route = mock.post("/api/render/proxy/lambda").mock(return_value=httpx.Response(402, json={"code": 402}))
    with pytest.raises(PlanRequiredError):
        await api.submit_render("123", DRAFT)
    assert route.call_count == 1


async def test_poll_tolerates_transient_errors_on_the_same_id(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps]
) -> None:
    api, sleeps = client
    api.config = api.config.replace(
        max_retries=0, render_poll_initial=2.0, render_poll_factor=1.5, render_poll_max=15.0
    )
    route = mock.get("/api/render/proxy/lambda/render_1").mock(
        side_effect=[
            httpx.Response(503),
            httpx.ConnectError("blip"),
            httpx.Response(
                200,
                json={"success": True, "data": {"id": "render_1", "status": "processing", "progress": 40}},
            ),
            httpx.Response(
                200, json={"taskId": "render_1", "status": "completed", "progress": 100}
            ),  # no URL yet
            httpx.Response(
                200,
                json={
                    "taskId": "render_1",
                    "status": "completed",
                    "output": {"url": "https://cdn/x.mp4", "size": 9},
                },
            ),
        ]
    )
    statuses = [s async for s in api.poll_render("render_1")]
    assert [s.status for s in statuses] == ["processing", "completed"]
    assert statuses[-1].output_url == "https://cdn/x.mp4"
    assert statuses[-1].size == 9
    assert route.call_count == 5
    assert all(c.request.url.path == "/api/render/proxy/lambda/render_1" for c in route.calls)
    assert sleeps.delays == [2.0, 3.0, 4.5, 6.75]  # adaptive backoff


async def test_poll_backoff_caps_and_times_out(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps]
) -> None:
    api, sleeps = client
    api.config = api.config.replace(render_poll_initial=2.0, render_poll_factor=1.5, render_poll_max=15.0)
    mock.get("/api/render/proxy/lambda/r").mock(
        return_value=httpx.Response(200, json={"success": True, "data": {"status": "pending"}})
    )
    with pytest.raises(NemoTimeoutError):
        async for _ in api.poll_render("r", max_wait=0.0):
            pass
    assert max([*sleeps.delays, 0]) <= 15.0


async def test_completed_without_url_falls_back_to_proxy_download(
    mock: respx.MockRouter, make_config: Callable[..., ApiConfig], tmp_path: Path
) -> None:
    async with NemoClient(make_config(BASE, render_url_grace=0.0, render_poll_initial=0.01)) as api:
        mock.get("/api/render/proxy/lambda/r").mock(
            return_value=httpx.Response(200, json={"success": True, "data": {"status": "completed"}})
        )
        final = await api.wait_render("r")
        assert final.output_url is None
        dl = mock.get("/api/render/proxy/r/download").mock(
            return_value=httpx.Response(200, content=b"MP4DATA")
        )
        path = await api.download_render("r", tmp_path / "o.mp4", output_url=final.output_url)
    assert path.read_bytes() == b"MP4DATA"
    assert dl.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


CDN_IP = "93.184.215.14"  # what the allowed CDN host "resolves" to here (a public address)


def with_cdn(api: NemoClient) -> None:
    """cdn.example on the download allowlist, resolved without DNS (the connection goes to CDN_IP)."""

    async def resolve(host: str, port: int) -> list[str]:
        assert host == "cdn.example"
        return [CDN_IP]

    api.config = api.config.replace(download_hosts=("cdn.example",))
    api._downloads.resolve = resolve


async def test_download_never_sends_the_token_to_another_host(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps], tmp_path: Path
) -> None:
    api, _ = client
    with_cdn(api)
    cdn = mock.route(method="GET", scheme="https", host=CDN_IP, path="/out.mp4").mock(
        return_value=httpx.Response(200, content=b"x" * 100)
    )
    path = await api.download_render(
        "r", tmp_path / "v.mp4", output_url="https://cdn.example/out.mp4", expected_size=100
    )
    assert path.stat().st_size == 100
    request = cdn.calls[0].request
    assert "authorization" not in request.headers
    # the connection went to the checked address, under the host's own name
    assert request.headers["host"] == "cdn.example"
    assert request.extensions["sni_hostname"] == "cdn.example"


async def test_truncated_download_leaves_no_partial_file(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps], tmp_path: Path
) -> None:
    api, _ = client

    mock.get("/api/render/proxy/r/download").mock(
        return_value=httpx.Response(200, headers={"content-length": "1000"}, stream=Dropping(b"y" * 10))
    )
    with_cdn(api)
    mock.route(method="GET", scheme="https", host=CDN_IP, path="/out.mp4").mock(
        return_value=httpx.Response(200, content=b"x" * 10)
    )
    with pytest.raises(DownloadError):
        await api.download_render(
            "r", tmp_path / "v.mp4", output_url="https://cdn.example/out.mp4", expected_size=50
        )
    assert list(tmp_path.iterdir()) == [] or [p.name for p in tmp_path.iterdir()] == ["config"]


async def test_download_follows_a_json_pointer(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps], tmp_path: Path
) -> None:
    api, _ = client
    with_cdn(api)
    mock.get("/api/render/proxy/r/download").mock(
        return_value=httpx.Response(200, json={"output": {"url": "https://cdn.example/f.mp4", "size": 3}})
    )
    mock.route(method="GET", scheme="https", host=CDN_IP, path="/f.mp4").mock(
        return_value=httpx.Response(200, content=b"abc")
    )
    path = await api.download_render("r", tmp_path / "f.mp4")
    assert path.read_bytes() == b"abc"


async def test_cancel(mock: respx.MockRouter, client: tuple[NemoClient, Sleeps]) -> None:
    api, _ = client
    mock.post("/api/render/proxy/lambda/r/cancel").mock(
        return_value=httpx.Response(200, json={"success": True, "data": {"id": "r", "status": "cancelled"}})
    )
    status = await api.cancel_render("r")
    assert status is not None
    assert status.status == "cancelled"


async def test_browser_link_refuses_an_api_token_in_the_url(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps]
) -> None:
    api, _ = client
    mock.post("/api/auth/claim-token").mock(
        return_value=httpx.Response(200, json={"code": 0, "data": {"claim_token": TOKEN}})
    )
    with pytest.raises(MalformedResponseError):
        await api.browser_link("t", "s")
    mock.post("/api/auth/claim-token").mock(
        return_value=httpx.Response(
            200, json={"code": 0, "data": {"claim_token": "clm_a/b", "expires_in": 604800}}
        )
    )
    assert await api.browser_link("t", "s") == "https://nemovideo.com/workspace/claim?ct=clm_a%2Fb"


class Trickle(httpx.AsyncByteStream):
    """Sends one event every `every` seconds, forever."""

    def __init__(self, payload: bytes, every: float) -> None:
        self.payload, self.every = payload, every

    async def __aiter__(self) -> AsyncIterator[bytes]:
        import anyio

        while True:
            yield self.payload
            await anyio.sleep(self.every)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [(b": keep-alive\n\n", "idle_timeout"), (sse({"text": "still talking"}), "interrupted")],
)
async def test_watchdog_and_overall_budget(
    mock: respx.MockRouter, make_config: Callable[..., ApiConfig], payload: bytes, reason: str
) -> None:
    import anyio

    mock.post("/run_sse").mock(
        return_value=httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=Trickle(payload, 0.02)
        )
    )
    async with NemoClient(make_config(BASE, sse_idle_timeout=0.3, sse_read_timeout=0.6)) as api:
        with anyio.fail_after(5):
            end = (await turn(api))[-1]
    assert end.reason == reason
    assert end.error_tag == "timeout"
    assert "not re-sent" in (end.message or "")


class Handshake(httpx.AsyncByteStream):
    """Sends ``first``, then waits until the reader saw it (``seen``) before sending ``then``."""

    def __init__(self, first: bytes, then: bytes) -> None:
        import anyio

        self.first, self.then, self.seen = first, then, anyio.Event()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.first
        await self.seen.wait()
        yield self.then


@pytest.mark.parametrize(
    ("keepalive", "style"),
    [
        (b": keep-alive\n\n", "comment"),
        (b"data:\n\n", "empty"),
        (b'data: {"type": "heartbeat"}\n\n', "typed"),
        (b"event: ping\n\n", "event"),
    ],
)
async def test_every_heartbeat_form_arrives_while_the_stream_waits(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps], keepalive: bytes, style: str
) -> None:
    # liveness as it happens: the stream sends nothing more until the heartbeat has reached the caller
    import anyio

    api, _ = client
    stream = Handshake(keepalive, sse({"text": "done"}))
    mock.post("/run_sse").mock(
        return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=stream)
    )
    seen: list[Any] = []
    with anyio.fail_after(5):
        async for ev in api.stream_turn("123", "make it pop"):
            seen.append(ev)
            if isinstance(ev, HeartbeatEvent):
                stream.seen.set()
    assert [e.kind for e in seen] == ["heartbeat", "text", "end"]
    assert seen[0].style == style
    assert (seen[-1].reason, seen[-1].heartbeat_count) == ("closed", 1)


async def test_upload_is_resent_only_after_an_auth_refusal(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps], media: dict[str, Path]
) -> None:
    api, _ = client
    route = mock.post("/api/upload-video/nemo_agent/me/42").mock(
        side_effect=[
            httpx.Response(401, json={"code": 1001, "message": "expired"}),
            httpx.Response(200, json={"code": 0, "data": {"files": [{"filename": "clip.mp4"}]}}),
        ]
    )
    await api.upload_files("42", [media["clip"]])
    assert route.call_count == 2
    first, second = (c.request for c in route.calls)
    assert first.headers["content-length"] == second.headers["content-length"]
    assert len(second.content) == int(second.headers["content-length"])  # a fresh body stream for the resend
    assert mock.routes[0].call_count == 2  # minted, then re-minted once


async def test_a_defect_still_ends_the_turn_exactly_once(
    mock: respx.MockRouter, client: tuple[NemoClient, Sleeps], monkeypatch: pytest.MonkeyPatch
) -> None:
    from nemo_mcp.api.sse import TurnParser

    api, _ = client
    mock.post("/run_sse").mock(
        return_value=httpx.Response(
            200, content=sse({"text": "x"}), headers={"content-type": "text/event-stream"}
        )
    )

    def boom(self: TurnParser, chunk: bytes) -> list[Any]:
        raise RuntimeError("bug")

    monkeypatch.setattr(TurnParser, "feed", boom)
    events = await turn(api)
    assert len(events) == 1
    assert isinstance(events[0], TurnEnded)
    assert events[0].reason == "interrupted"
    assert events[0].error_tag == "bad_response"
