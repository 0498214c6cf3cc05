"""The one error mapping: every client error class and every server-side refusal keeps its stable tag."""

from __future__ import annotations

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from nemo_mcp.api import errors as api_errors
from nemo_mcp.server.errors import SERVER_TAGS, TaggedError, describe, refuse, tool_error
from nemo_mcp.server.paths import PathRuleError

CLIENT_ERRORS = [
    cls
    for cls in vars(api_errors).values()
    if isinstance(cls, type) and issubclass(cls, api_errors.NemoError) and cls is not api_errors.NemoError
]


@pytest.mark.parametrize("cls", CLIENT_ERRORS, ids=lambda c: c.__name__)
def test_client_errors_keep_their_tag(cls: type[api_errors.NemoError]) -> None:
    exc = cls(detail='{"code": 1234, "token": "nmv_usr_secret"}')
    err = tool_error(exc)
    assert isinstance(err, ToolError)
    text = str(err)
    assert text.startswith(f"[{cls.tag}] ")
    assert "nmv_usr_secret" not in text
    assert '{"code"' not in text


def test_plan_required_is_not_about_credits() -> None:
    text = str(tool_error(api_errors.PlanRequiredError()))
    assert text.startswith("[plan_required]")
    assert "not credits" in text


def test_no_credits_for_anonymous_users_links_registration() -> None:
    exc = api_errors.NoCreditsError(user_id="anon_abc")
    tag, msg = describe(exc, web_url="https://web.test", anonymous=True)
    assert tag == "no_credits"
    assert "https://web.test/register?bind=anon_abc" in msg
    tag, msg = describe(exc, web_url="https://web.test", anonymous=False)
    assert "Top up" in msg


@pytest.mark.parametrize("tag", sorted(SERVER_TAGS))
def test_server_tags(tag: str) -> None:
    assert str(refuse(tag, "x. do y")).startswith(f"[{tag}] ")
    assert describe(TaggedError(tag, "m")) == (tag, "m")
    assert describe(PathRuleError(tag, "m")) == (tag, "m")
    assert describe(ToolError(f"[{tag}] m")) == (tag, "m")


def test_unexpected_errors_hide_details() -> None:
    tag, msg = describe(RuntimeError("boom at /secret/path with nmv_usr_zzz"))
    assert tag == "internal"
    assert "boom" not in msg
    assert "nmv_usr" not in msg
