"""A POST that changes something and whose answer was lost (read timeout, dropped connection, unreadable
answer, 504) may have been applied: the error says so and what to check, instead of only "try again"."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
import respx

from nemo_mcp.api import (
    ApiConfig,
    BackendUnreachableError,
    MalformedResponseError,
    NemoClient,
    NemoTimeoutError,
    ServerError,
)

pytestmark = pytest.mark.anyio

BASE = "http://nemo.test"
TOKEN = "nmv_usr_UNANSWERED0123456789"
MINT = {"code": 0, "data": {"token": TOKEN, "user_id": "anon_u", "expires_at": "2099-01-01T00:00:00Z"}}
DRAFT = {"t": [{"tt": 0, "sg": [{"s": 0, "d": 1000}]}]}
UPLOAD = "/api/upload-video/nemo_agent/me/42"
MAYBE = "may have been applied anyway"


@pytest.fixture
def mock() -> AsyncIterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/api/auth/anonymous-token").mock(return_value=httpx.Response(200, json=MINT))
        yield router


@pytest.fixture
async def api(make_config: Callable[..., ApiConfig]) -> AsyncIterator[NemoClient]:
    async with NemoClient(make_config(BASE)) as client:

        async def no_wait(delay: float) -> None:
            return None

        client._transport.sleep = no_wait
        yield client


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (httpx.ReadTimeout("slow"), NemoTimeoutError),
        (httpx.RemoteProtocolError("closed without a response"), BackendUnreachableError),
        (httpx.Response(200, text="<html>proxy page</html>"), MalformedResponseError),
        (httpx.Response(504, text="gateway timeout"), ServerError),
    ],
)
async def test_upload_whose_answer_was_lost_says_check_the_timeline(
    mock: respx.MockRouter, api: NemoClient, media: dict[str, Path], answer: object, kind: type
) -> None:
    route = mock.post(UPLOAD).mock(side_effect=[answer])
    with pytest.raises(kind) as info:
        await api.upload_files("42", [media["clip"]])
    err = info.value
    assert route.call_count == 1  # never re-sent
    assert MAYBE in err.message
    assert "timeline" in err.message
    assert "clip.mp4" in err.message
    assert "try again" not in err.message.lower()
    assert err.outcome_unknown is True
    assert err.tagged().startswith(f"[{kind.tag}] ")  # the tag is unchanged


async def test_upload_that_never_left_keeps_the_plain_message(
    mock: respx.MockRouter, api: NemoClient, media: dict[str, Path]
) -> None:
    mock.post(UPLOAD).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(BackendUnreachableError) as info:
        await api.upload_files("42", [media["clip"]])
    assert MAYBE not in info.value.message
    assert info.value.outcome_unknown is False
    mock.post(UPLOAD).mock(return_value=httpx.Response(500))
    with pytest.raises(ServerError) as server:
        await api.upload_files("42", [media["clip"]])
    assert MAYBE not in server.value.message


async def test_import_urls_timeout(mock: respx.MockRouter, api: NemoClient) -> None:
    mock.post(UPLOAD).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(NemoTimeoutError) as info:
        await api.import_urls("42", ["https://example.com/a.mp4"])
    assert MAYBE in info.value.message
    assert "importing the same URLs" in info.value.message


async def test_create_session_timeout_or_answer_without_ids(mock: respx.MockRouter, api: NemoClient) -> None:
    route = mock.post("/api/tasks/me/with-session/nemo_agent").mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200, json={"code": 0, "data": {"ok": 1}})]
    )
    with pytest.raises(NemoTimeoutError) as timeout:
        await api.create_session(text_hint="hello")
    assert "new-project request" in timeout.value.message
    assert MAYBE in timeout.value.message
    assert "nemovideo.com" in timeout.value.message
    with pytest.raises(MalformedResponseError) as unreadable:
        await api.create_session(text_hint="hello")
    assert MAYBE in unreadable.value.message
    assert unreadable.value.outcome_unknown
    assert route.call_count == 2


async def test_claim_token_retried_then_says_asking_again_is_safe(
    mock: respx.MockRouter, api: NemoClient
) -> None:
    route = mock.post("/api/auth/claim-token").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(NemoTimeoutError) as info:
        await api.browser_link("t1", "s1")
    assert route.call_count == 3  # idempotent: still retried as before
    assert "browser-link request" in info.value.message
    assert "asking for it again is safe" in info.value.message


async def test_render_submit_names_every_export_that_may_have_started(
    mock: respx.MockRouter, api: NemoClient
) -> None:
    route = mock.post("/api/render/proxy/lambda").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(NemoTimeoutError) as info:
        await api.submit_render("123", DRAFT)
    ids = [json.loads(c.request.content)["id"] for c in route.calls]
    assert len(ids) == 2
    assert ids[0] != ids[1]
    message = info.value.message
    assert MAYBE in message
    assert "export request" in message
    assert all(i in message for i in ids)
    assert "before exporting again" in message


async def test_gets_are_not_reworded(mock: respx.MockRouter, api: NemoClient) -> None:
    mock.get("/api/credits/balance/simple").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(NemoTimeoutError) as info:
        await api.get_credits()
    assert MAYBE not in info.value.message
    assert "Try again in a moment" in info.value.message
    assert info.value.outcome_unknown is False
