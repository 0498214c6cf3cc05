"""The registration link (``$NEMO_WEB_URL/register?bind=<anonymous user id>``) has one builder,
``nemo_mcp.api.links.register_url``: the client's ``register_url()`` and the 2001 error's link both come
from it, with the user id percent-encoded."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from nemo_mcp.api import ApiConfig, NemoClient, NoCreditsError, links

pytestmark = pytest.mark.anyio

BASE = "http://nemo.test"
WEB = "https://web.test"
#: a user id with characters that must be encoded in a query value
ODD_ID = "anon_a/b c&bind=x?#%é+"
ENCODED = "anon_a%2Fb%20c%26bind%3Dx%3F%23%25%C3%A9%2B"


def test_the_id_is_percent_encoded() -> None:
    url = links.register_url(WEB, ODD_ID, anonymous=True)
    assert url == f"{WEB}/register?bind={ENCODED}"
    assert parse_qs(urlsplit(url).query) == {"bind": [ODD_ID]}  # one parameter, the id read back whole


@pytest.mark.parametrize(
    ("user_id", "anonymous"),
    [(None, True), ("", True), ("   ", True), ("usr_1", False), (None, False)],
)
def test_no_bind_without_an_anonymous_id(user_id: str | None, anonymous: bool) -> None:
    assert links.register_url(WEB, user_id, anonymous=anonymous) == f"{WEB}/register"


def test_a_trailing_slash_of_the_web_url_is_not_doubled() -> None:
    assert links.register_url(WEB + "/", "anon_1", anonymous=True) == f"{WEB}/register?bind=anon_1"


def test_the_no_credits_error_uses_the_same_link() -> None:
    err = NoCreditsError().with_user(ODD_ID, WEB, anonymous=True)
    assert err.register_url == links.register_url(WEB, ODD_ID, anonymous=True)
    assert err.register_url in err.message
    assert err.user_id == ODD_ID
    registered = NoCreditsError().with_user("usr_1", WEB, anonymous=False)
    assert registered.register_url is None
    assert "/register" not in registered.message


async def test_client_and_2001_give_the_same_encoded_link(make_config: Callable[..., ApiConfig]) -> None:
    mint = {"code": 0, "data": {"token": "nmv_usr_LINK0123456789", "user_id": ODD_ID}}
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        mock.post("/api/auth/anonymous-token").mock(return_value=httpx.Response(200, json=mint))
        mock.get("/api/credits/balance/simple").mock(
            return_value=httpx.Response(200, json={"code": 2001, "message": "no credits"})
        )
        async with NemoClient(make_config(BASE, web_url=WEB)) as api:
            with pytest.raises(NoCreditsError) as info:
                await api.get_credits()
            assert api.user_id == ODD_ID
            assert api.anonymous
            assert api.register_url() == f"{WEB}/register?bind={ENCODED}"
    assert info.value.register_url == api.register_url()
    assert api.register_url() in info.value.message


async def test_a_registered_token_gets_no_bind(make_config: Callable[..., ApiConfig]) -> None:
    async with NemoClient(make_config(BASE, web_url=WEB, token="nmv_usr_ENV0123456789")) as api:
        assert not api.anonymous
        assert api.register_url() == f"{WEB}/register"


def test_links_is_the_only_builder_of_the_registration_link() -> None:
    """No other module of the api package spells out the ``/register`` path (docstrings may mention it)."""
    root = Path(__file__).resolve().parents[2] / "nemo_mcp" / "api"
    found = []
    for path in root.rglob("*.py"):
        if path.name == "links.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        found += [
            f"{path.name}:{node.lineno}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and "/register" in node.value
            and id(node) not in docstrings
        ]
    assert found == []
