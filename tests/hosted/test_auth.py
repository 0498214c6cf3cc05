"""The OAuth 2.1 resource server: JWTs from a real local issuer (its JWKS on a loopback port) checked by the
server's verifier, never a stub; the protected-resource metadata; the access token never reaching NemoVideo;
the settings that cannot work refused at start."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from nemo_mcp.local import LocalBackend
from nemo_mcp.server.hosted.config import HostedConfig, HostedConfigError
from nemo_mcp.server.hosted.entry import hosted_from_args
from nemo_mcp.server.http_security import HttpConfigError, HttpOptions
from tests.hosted.conftest import HostedServer, serve_hosted
from tests.hosted.issuer import Issuer
from tests.hosted.recording_proxy import run_recording_proxy

pytestmark = pytest.mark.anyio

LIST = {  # a 2025-era opening request: the smallest one the server answers 200 to
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


async def post(url: str, token: str | None) -> httpx.Response:
    headers = dict(HEADERS)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(f"{url}/mcp", json=LIST, headers=headers)


async def test_metadata_and_a_401_that_points_to_it(hosted: HostedServer) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        meta = (await http.get(f"{hosted.url}/.well-known/oauth-protected-resource/mcp")).json()
    assert meta["resource"] == f"{hosted.url}/mcp"
    assert meta["authorization_servers"] == [hosted.issuer.url]
    refused = await post(hosted.url, None)
    assert refused.status_code == 401
    assert "resource_metadata=" in refused.headers["www-authenticate"]
    ok = await post(hosted.url, hosted.issuer.token("alice"))
    assert ok.status_code == 200, ok.text


def _other_key(issuer: Issuer) -> str:
    """A token with the issuer's kid, signed by a key that is not the issuer's."""
    other = rsa.generate_private_key(65537, 2048)
    now = int(time.time())
    body = {"iss": issuer.url, "sub": "mallory", "aud": issuer.audience, "iat": now, "exp": now + 60}
    return jwt.encode(body, other, algorithm="RS256", headers={"kid": issuer.kid})


REFUSED: dict[str, Any] = {
    "another audience": {"aud": "https://other.example/mcp"},
    "expired": {"exp": int(time.time()) - 3600},
    "not yet valid": {"nbf": int(time.time()) + 3600},
    "another issuer": {"iss": "https://evil.example"},
    "no subject": {"sub": None},
    "unknown key id": {"_kid": "nope"},
}


async def test_tokens_the_verifier_refuses(hosted: HostedServer) -> None:
    issuer = hosted.issuer
    tokens = {}
    for name, claims in REFUSED.items():
        claims = dict(claims)
        sub = claims.pop("sub", "alice")
        if sub is None:
            now = int(time.time())
            body = {"iss": issuer.url, "aud": issuer.audience, "iat": now, "exp": now + 60}
            tokens[name] = jwt.encode(body, issuer.key, algorithm="RS256", headers={"kid": issuer.kid})
        else:
            tokens[name] = issuer.token(sub, **claims)
    tokens["signed by another key"] = _other_key(issuer)
    tokens["alg none"] = jwt.encode(
        {"iss": issuer.url, "sub": "a", "aud": issuer.audience}, None, algorithm="none"
    )
    tokens["not a JWT"] = "hello"
    for name, token in tokens.items():
        r = await post(hosted.url, token)
        assert r.status_code == 401, name
    # an unknown kid fetched the key set again, but a flood of them does not refetch every time
    before = issuer.jwks_requests
    for _ in range(5):
        assert (await post(hosted.url, issuer.token("alice", _kid="unknown"))).status_code == 401
    assert issuer.jwks_requests - before <= 1
    assert (await post(hosted.url, issuer.token("alice"))).status_code == 200  # the real key still works


async def test_the_access_token_never_reaches_nemovideo(
    tmp_path: Path, local_backend: LocalBackend, issuer: Issuer
) -> None:
    async with (
        run_recording_proxy(str(local_backend.url)) as proxy,
        serve_hosted(tmp_path, proxy.url, issuer) as server,
    ):
        token = issuer.token("alice")
        async with server.client("alice", token=token) as client:
            for name, args in (("new_project", {"title": "t"}), ("check_credits", {}), ("get_timeline", {})):
                r = await client.call_tool(name, args)
                assert not r.is_error, name
    assert proxy.requests >= 3
    assert token not in proxy.seen
    assert token.split(".")[1] not in proxy.seen  # not even its claims part


def test_settings_that_cannot_work_are_refused() -> None:
    base = {"NEMO_AUTH_ISSUER": "https://id.example", "NEMO_PUBLIC_URL": "https://mcp.example"}
    with pytest.raises(HostedConfigError, match="NEMO_SECRET_KEY"):
        HostedConfig.from_env(base).validate(static_token=False)
    keyed = {**base, "NEMO_SECRET_KEY": "s3cret-key"}
    with pytest.raises(HostedConfigError, match="exclude each other"):
        HostedConfig.from_env(keyed).validate(static_token=True)
    with pytest.raises(HostedConfigError, match="NEMO_PUBLIC_URL"):
        HostedConfig.from_env({**keyed, "NEMO_PUBLIC_URL": ""}).validate(static_token=False)
    with pytest.raises(HostedConfigError, match="NEMO_STORE_URL"):
        HostedConfig.from_env({}, workers=2).validate(static_token=False)
    config = HostedConfig.from_env({**keyed, "NEMO_AUTH_SCOPES": "mcp, video"})
    config.validate(static_token=False)
    assert config.scopes == ["mcp", "video"]
    assert config.expected_audience == "https://mcp.example/mcp"
    assert config.jwks == "https://id.example/.well-known/jwks.json"
    assert "s3cret" not in repr(config)
    stdio = argparse.Namespace(transport="stdio", workers=1)
    assert hosted_from_args(stdio, {}) is None  # nothing asked: a single-user server
    with pytest.raises(HostedConfigError, match="--transport http"):
        hosted_from_args(stdio, {"NEMO_STORE_URL": "redis://127.0.0.1:1/0"})
    # a network-facing bind: OAuth is its auth decision (no static token, no --no-auth needed)
    HttpOptions(host="0.0.0.0", allow_remote=True, oauth_issuer="https://id.example").validate()
    with pytest.raises(HttpConfigError, match="bearer token"):
        HttpOptions(host="0.0.0.0", allow_remote=True).validate()


async def test_a_client_without_a_token_cannot_reach_a_tool(hosted: HostedServer) -> None:
    # the SDK client raises (an HTTP 401 status error) before any tool is listed
    with anyio.fail_after(20), pytest.raises(Exception):
        async with hosted.client(None) as client:
            await client.list_tools()
