"""The `/_local/` admin routes answer loopback clients only, checked at the ASGI level (no remote traffic)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from nemo_mcp.local import Knobs, LocalBackend
from nemo_mcp.local.accounts import issue_token
from nemo_mcp.local.addresses import is_loopback_host
from nemo_mcp.local.app import create_app
from nemo_mcp.local.sessions import create_session

pytestmark = pytest.mark.anyio

ADMIN = [
    ("GET", "/_local/stats"),
    ("GET", "/_local/knobs"),
    ("PATCH", "/_local/knobs"),
    ("PATCH", "/_local/credits"),
    ("POST", "/_local/reset"),
    ("GET", "/_local/ledger"),
]


def _client(app: object, peer: tuple[str, int], base: str = "http://127.0.0.1:8000") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=peer), base_url=base)  # type: ignore[arg-type]


async def test_non_loopback_clients_get_403(tmp_path: Path) -> None:
    backend = LocalBackend(Knobs(), tmp_path)
    user = issue_token(backend.state, "c", "127.0.0.1", 100, 60, 0).user
    create_session(backend.state, user, "p", None)
    bare = create_app(backend.state, guard=False)
    for app in (backend.app, bare):  # the Guard refuses; the routes repeat the check without it
        async with _client(app, ("10.1.2.3", 1234)) as remote:
            for method, path in ADMIN:
                r = await remote.request(
                    method, path, json={"render_fail": True, "user_id": "*", "available": 0}
                )
                assert r.status_code == 403, (method, path)
                assert r.json()["code"] == 403
                assert "loopback" in r.json()["message"]
                assert "turns" not in r.text
        assert backend.knobs.render_fail is False  # not changed
        assert user.available == 100
        assert len(backend.state.sessions) == 1  # not reset
    async with _client(backend.app, ("::ffff:192.168.1.9", 5)) as mapped:
        assert (await mapped.get("/_local/stats")).status_code == 403
    for peer in (("127.0.0.1", 1), ("127.8.9.10", 2), ("::1", 3), ("::ffff:127.0.0.1", 4)):
        async with _client(backend.app, peer) as local:
            assert (await local.get("/_local/stats")).status_code == 200, peer
    async with _client(backend.app, ("127.0.0.1", 1)) as local:
        r = await local.patch("/_local/knobs", json={"render_fail": True})
        assert r.status_code == 200
        assert backend.knobs.render_fail is True
        assert (await local.post("/_local/reset")).json()["data"]["reset"] is True
        assert backend.state.sessions == {}
    # the API itself is not restricted to loopback
    async with _client(backend.app, ("10.1.2.3", 1234)) as remote:
        assert (await remote.get("/api/credits/balance/simple")).json()["code"] == 1001


async def test_browser_tricks_from_loopback_are_refused(tmp_path: Path) -> None:
    """DNS rebinding (a foreign Host) and cross-site form posts (a foreign Origin) reach us from loopback."""
    backend = LocalBackend(Knobs(), tmp_path)
    async with _client(backend.app, ("127.0.0.1", 1), base="http://evil.example:8000") as rebound:
        assert (await rebound.get("/_local/stats")).status_code == 403
    async with _client(backend.app, ("127.0.0.1", 1)) as local:
        r = await local.post("/_local/reset", headers={"Origin": "https://evil.example"})
        assert r.status_code == 403
        assert (
            await local.post("/_local/reset", headers={"Origin": "http://127.0.0.1:8000"})
        ).status_code == 200
    for base in ("http://localhost:9", "http://[::1]:9"):
        async with _client(backend.app, ("127.0.0.1", 1), base=base) as local:
            assert (await local.get("/_local/stats")).status_code == 200, base


def test_is_loopback_host() -> None:
    assert all(
        map(is_loopback_host, ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"])
    )
    assert not any(map(is_loopback_host, ["10.1.2.3", "", "testclient", "0.0.0.0", "::", "evil.example"]))
