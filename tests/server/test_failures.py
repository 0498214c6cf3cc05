"""The one failure type and the one mapper: every client error and every server refusal keeps its tag."""

from __future__ import annotations

import logging

import pytest

from nemo_mcp.api import errors as api_errors
from nemo_mcp.server.failures import SERVER_TAGS, ToolFailure, as_failure

CLIENT_ERRORS = [
    cls
    for cls in vars(api_errors).values()
    if isinstance(cls, type) and issubclass(cls, api_errors.NemoError) and cls is not api_errors.NemoError
]


@pytest.mark.parametrize("cls", CLIENT_ERRORS, ids=lambda c: c.__name__)
def test_client_errors_keep_their_tag(cls: type[api_errors.NemoError]) -> None:
    exc = cls(detail='{"code": 1234, "token": "nmv_usr_secret"}')
    failure = as_failure(exc)
    assert failure.tag == cls.tag
    assert failure.text.startswith(f"[{cls.tag}] ")
    assert "nmv_usr_secret" not in failure.text
    assert '{"code"' not in failure.text


def test_plan_required_is_not_about_credits() -> None:
    text = as_failure(api_errors.PlanRequiredError()).text
    assert text.startswith("[plan_required]")
    assert "not credits" in text


@pytest.mark.parametrize("tag", sorted(SERVER_TAGS))
def test_server_failures_pass_through_unchanged(tag: str) -> None:
    failure = ToolFailure(tag, "x happened. Do y.")
    assert as_failure(failure) is failure
    assert failure.text == f"[{tag}] x happened. Do y."
    assert str(failure) == failure.text
    assert failure.amended("(project 1)").text == f"[{tag}] x happened. Do y. (project 1)"


def test_unexpected_errors_hide_details_and_log_the_traceback(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="nemo_mcp.server.failures"):
        failure = as_failure(RuntimeError("boom at /secret/path with nmv_usr_zzz"))
    assert failure.tag == "internal"
    assert "boom" not in failure.text
    assert "nmv_usr" not in failure.text
    assert caplog.records
    assert caplog.records[0].exc_info is not None
