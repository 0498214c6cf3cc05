"""Envelope-agnostic parsing and the error table (unit level; also proven on the local backend)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nemo_mcp.api import (
    AuthError,
    BackendError,
    BackendUnreachableError,
    BadRequestError,
    FileTooLargeError,
    MalformedResponseError,
    MissingClientIdError,
    NemoError,
    NemoTimeoutError,
    NoCreditsError,
    NotFoundError,
    PlanRequiredError,
    RateLimitedError,
    ServerError,
    SessionLostError,
    TransientError,
    UnsupportedFileError,
)
from nemo_mcp.api.envelope import parse_envelope, parse_retry_after
from nemo_mcp.api.errors import redact


def _outcome(fn: Any) -> NemoError | None:
    """Run ``fn``; return the typed error it raised (any other exception fails the test)."""
    try:
        fn()
    except NemoError as exc:
        return exc
    return None


def body(doc: Any) -> bytes:
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("status", "doc", "expected"),
    [
        (200, {"code": 0, "data": {"a": 1}}, {"a": 1}),
        (200, {"code": "0", "data": {"a": 1}, "message": "ok"}, {"a": 1}),
        (200, {"success": True, "data": {"id": "r"}}, {"id": "r"}),
        (200, {"taskId": "r", "status": "completed"}, {"taskId": "r", "status": "completed"}),
        (200, {"data": {"x": 1}}, {"x": 1}),
        (200, {"code": 0, "data": None}, {}),
        (201, [1, 2], [1, 2]),
    ],
)
def test_success_envelopes(status: int, doc: Any, expected: Any) -> None:
    assert parse_envelope(status, body(doc)) == expected


@pytest.mark.parametrize("status", [200, 401, 403, 404, 413, 415])
@pytest.mark.parametrize(
    ("code", "cls", "tag"),
    [
        (1001, AuthError, "auth"),
        (1010, AuthError, "auth"),
        (1011, AuthError, "auth"),
        (1002, SessionLostError, "session_lost"),
        (2001, NoCreditsError, "no_credits"),
        (4001, UnsupportedFileError, "unsupported_file"),
        (4002, FileTooLargeError, "file_too_large"),
    ],
)
def test_business_codes_with_any_status(status: int, code: int, cls: type[NemoError], tag: str) -> None:
    with pytest.raises(cls) as info:
        parse_envelope(status, body({"code": code, "message": "backend says no", "data": None}))
    err = info.value
    assert err.tag == tag
    assert err.code == code
    assert err.status == status
    assert "{" not in str(err)
    assert "backend says no" not in str(err)
    assert err.detail == "backend says no"


@pytest.mark.parametrize(
    ("status", "doc", "cls"),
    [
        (401, {"detail": "Not authenticated"}, AuthError),
        (402, {"code": 402, "message": "Free plan"}, PlanRequiredError),
        (402, None, PlanRequiredError),
        (429, {"code": 429, "message": "slow down"}, RateLimitedError),
        (404, {"detail": "Session not found: 123"}, SessionLostError),
        (404, {"detail": "Render not found"}, NotFoundError),
        (422, {"detail": [{"loc": ["body", "id"], "msg": "field required"}]}, BadRequestError),
        (409, {"code": 409, "message": "duplicate render id"}, BadRequestError),
        (500, {"code": 500, "message": "oops"}, ServerError),
        (503, None, ServerError),
        (408, None, NemoTimeoutError),
        (200, {"success": False, "error": "render proxy refused"}, BackendError),
        (400, {"success": False, "error": "bad draft", "code": 400}, BadRequestError),
        (200, {"code": 9999, "message": "weird"}, BackendError),
    ],
)
def test_http_status_errors(status: int, doc: Any, cls: type[NemoError]) -> None:
    raw = body(doc) if doc is not None else b"<html>Bad gateway</html>"
    with pytest.raises(cls):
        parse_envelope(status, raw)


@pytest.mark.parametrize(
    ("status", "doc", "transient"),
    [
        (500, None, True),
        (502, None, True),
        (503, {"code": 503, "message": "busy"}, True),
        (504, None, True),
        (200, {"code": 500, "message": "oops"}, True),  # a 5xx code in the body counts like the status
        (408, None, True),
        (429, {"code": 429, "message": "slow down"}, True),
        (200, {"code": 9999, "message": "weird"}, False),
        (200, {"success": False, "error": "refused"}, False),
        (400, {"code": 400, "message": "bad"}, False),
        (401, {"code": 1001, "message": "expired"}, False),
        (402, None, False),
        (404, {"detail": "Render not found"}, False),
        (200, {"code": 2001, "message": "no credits"}, False),
        (200, {"code": 4001, "message": "unsupported"}, False),
    ],
)
def test_only_failures_worth_retrying_are_transient(status: int, doc: Any, transient: bool) -> None:
    err = _outcome(lambda: parse_envelope(status, body(doc) if doc is not None else b"<html>oops</html>"))
    assert err is not None
    assert isinstance(err, TransientError) is transient


def test_transient_family() -> None:
    for cls in (BackendUnreachableError, NemoTimeoutError, ServerError, RateLimitedError):
        assert issubclass(cls, TransientError)
    # an unknown business code keeps the server_error tag but is not worth repeating
    unknown = _outcome(lambda: parse_envelope(200, body({"code": 9999, "message": "weird"})))
    assert isinstance(unknown, BackendError)
    assert unknown.tag == "server_error"
    assert not isinstance(unknown, ServerError)


def test_402_is_plan_not_credits() -> None:
    with pytest.raises(PlanRequiredError) as info:
        parse_envelope(402, body({"code": 402, "message": "export needs a plan"}))
    assert "not credits" in str(info.value)
    assert info.value.tag == "plan_required"


def test_400_means_missing_client_id_only_on_the_token_call() -> None:
    with pytest.raises(MissingClientIdError):
        parse_envelope(400, body({"code": 400, "message": "Missing X-Client-Id"}), endpoint="token")
    with pytest.raises(BadRequestError):
        parse_envelope(400, body({"code": 400, "message": "bad"}), endpoint="session")


def test_404_on_run_sse_is_session_lost() -> None:
    with pytest.raises(SessionLostError) as info:
        parse_envelope(404, b'{"detail": "Not Found"}', endpoint="run", session_id="42")
    assert info.value.session_id == "42"


def test_non_json_success_is_malformed() -> None:
    with pytest.raises(MalformedResponseError) as info:
        parse_envelope(200, b"<html>proxy login</html>")
    assert info.value.tag == "bad_response"


def test_retry_after_is_carried() -> None:
    with pytest.raises(RateLimitedError) as info:
        parse_envelope(429, b"{}", headers={"Retry-After": "7"})
    assert info.value.retry_after == 7.0
    assert "7 s" in str(info.value)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after-ms": "250"}, 0.25),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "-5"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers) == expected


def test_http_date_retry_after_in_the_future() -> None:
    value = parse_retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480.0)
    assert value == pytest.approx(10.0)


def test_tokens_are_redacted_from_backend_messages() -> None:
    with pytest.raises(AuthError) as info:
        parse_envelope(200, body({"code": 1001, "message": "token nmv_usr_SECRET123 expired, Bearer abc"}))
    text = f"{info.value} {info.value.detail} {info.value!r}"
    assert "SECRET123" not in text
    assert "abc" not in text
    assert redact("Authorization: Bearer nmv_usr_x-y_z") == "Authorization: Bearer ***"


def test_error_messages_never_contain_raw_json() -> None:
    for code in (1001, 1002, 2001, 4001, 4002, 1234):
        with pytest.raises(NemoError) as info:
            parse_envelope(200, body({"code": code, "message": '{"nested": "json"}'}))
        assert "{" not in str(info.value)
        assert info.value.detail is None


def test_unsupported_file_lists_accepted_types() -> None:
    with pytest.raises(UnsupportedFileError) as info:
        parse_envelope(200, body({"code": 4001, "message": "no"}))
    assert "mp4" in str(info.value)
    assert "webp" in str(info.value)
    assert "aac" in str(info.value)


def test_too_large_suggests_compress_or_trim() -> None:
    with pytest.raises(FileTooLargeError) as info:
        parse_envelope(413, body({"code": 4002}))
    assert "ompress" in str(info.value)
    assert "trim" in str(info.value)


@settings(max_examples=400, deadline=None)
@given(st.integers(min_value=100, max_value=599), st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_typed_errors(status: int, raw: bytes) -> None:
    err = _outcome(lambda: parse_envelope(status, raw))
    if err is not None:
        assert err.tag
        assert str(err)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda c: (
        st.lists(c, max_size=3)
        | st.dictionaries(
            st.one_of(
                st.sampled_from(["code", "data", "success", "detail", "error", "message"]),
                st.text(max_size=5),
            ),
            c,
            max_size=4,
        )
    ),
    max_leaves=15,
)


@settings(max_examples=400, deadline=None)
@given(st.integers(min_value=100, max_value=599), json_values)
def test_arbitrary_json_raises_only_typed_errors(status: int, doc: Any) -> None:
    err = _outcome(lambda: parse_envelope(status, json.dumps(doc).encode(), endpoint="token"))
    if err is not None:
        assert err.tag
        assert "{" not in err.message
