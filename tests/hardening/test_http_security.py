"""HTTP transport hardening on a real uvicorn loopback port: remote-bind rules, bearer auth, DNS rebinding
allowlist, per-client tool-call rate limit, request size limit.

Tests bind 127.0.0.1 only; the network-facing code paths are exercised by passing the options a
`--host 0.0.0.0 --allow-remote` server would get (auth token, hosted names) to a loopback server.
"""

from __future__ import annotations

import hmac
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from nemo_mcp.local import LocalBackend
from nemo_mcp.server import http_security
from nemo_mcp.server.cli import build_parser, http_options, main
from nemo_mcp.server.http_security import (
    HttpConfigError,
    HttpOptions,
    RateLimit,
    TokenBuckets,
    parse_rate_limit,
)
from tests.server.conftest import free_port, make_settings, serve_http

pytestmark = pytest.mark.anyio

TOKEN = "mcp-test-bearer-7f3a9c"
SCRIPT = Path(sys.executable).parent / "nemo-mcp"
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


def _call(i: int, name: str = "list_projects") -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": name, "arguments": {}}}


@pytest.fixture
def serve(tmp_path: Path, local_backend: LocalBackend) -> Callable[..., Any]:
    def run(**kw: Any) -> Any:
        return serve_http(make_settings(tmp_path, local_backend.url), **kw)

    return run


# --- bind rules -----------------------------------------------------------------------------------------


def _opts(*argv: str, env: dict[str, str] | None = None) -> HttpOptions:
    return http_options(build_parser().parse_args(["--transport", "http", *argv]), env or {})


def test_http_binds_loopback_by_default() -> None:
    opts = _opts()
    assert opts.host == "127.0.0.1"
    assert not opts.remote
    assert opts.rate_limit is not None  # the rate limit is on by default


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])
def test_non_loopback_bind_needs_allow_remote(host: str) -> None:
    with pytest.raises(HttpConfigError, match="--allow-remote"):
        _opts("--host", host, env={"NEMO_MCP_AUTH_TOKEN": TOKEN})


def test_non_loopback_bind_needs_a_token_or_explicit_no_auth() -> None:
    with pytest.raises(HttpConfigError, match="NEMO_MCP_AUTH_TOKEN"):
        _opts("--host", "0.0.0.0", "--allow-remote")
    assert (
        _opts("--host", "0.0.0.0", "--allow-remote", env={"NEMO_MCP_AUTH_TOKEN": TOKEN}).auth_token == TOKEN
    )
    assert _opts("--host", "0.0.0.0", "--allow-remote", "--no-auth").no_auth
    with pytest.raises(HttpConfigError):
        _opts("--host", "0.0.0.0", "--allow-remote", "--no-auth", env={"NEMO_MCP_AUTH_TOKEN": TOKEN})
    with pytest.raises(HttpConfigError, match="empty"):
        _opts(env={"NEMO_MCP_AUTH_TOKEN": "  "})


def test_cli_refuses_a_remote_bind_before_listening(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--transport", "http", "--host", "0.0.0.0", "--backend", "local"])
    assert exc.value.code == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_rate_limit_option_parsing() -> None:
    assert parse_rate_limit("120/min") == RateLimit(120, 60)
    assert parse_rate_limit("5/s") == RateLimit(5, 1)
    assert parse_rate_limit("off") is None
    for bad in ("fast", "10/week", "-1/min", "0/min"):
        with pytest.raises(HttpConfigError):
            parse_rate_limit(bad)


# --- bearer auth ----------------------------------------------------------------------------------------


async def test_bearer_token_required_and_health_stays_open(serve: Callable[..., Any]) -> None:
    async with serve(auth_token=TOKEN, allow_remote=True) as url, httpx.AsyncClient(timeout=10) as http:
        none = await http.post(f"{url}/mcp", json=LIST, headers=HEADERS)
        assert none.status_code == 401
        assert none.headers["www-authenticate"].startswith("Bearer")
        wrong = await http.post(f"{url}/mcp", json=LIST, headers={**HEADERS, "Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
        basic = await http.post(
            f"{url}/mcp", json=LIST, headers={**HEADERS, "Authorization": f"Basic {TOKEN}"}
        )
        assert basic.status_code == 401
        assert TOKEN not in wrong.text + none.text
        health = await http.get(f"{url}/health")
        assert health.status_code == 200
    async with serve(auth_token=TOKEN, allow_remote=True) as url:
        client = create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"})
        with anyio.fail_after(30):
            async with Client(streamable_http_client(f"{url}/mcp", http_client=client)) as mcp:
                res = await mcp.call_tool("check_credits", {})
                assert not res.is_error


async def test_bearer_token_is_compared_in_constant_time(
    serve: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(http_security.hmac, "compare_digest", spy)
    async with serve(auth_token=TOKEN) as url, httpx.AsyncClient(timeout=10) as http:
        r = await http.post(f"{url}/mcp", json=LIST, headers={**HEADERS, "Authorization": "Bearer guess"})
        assert r.status_code == 401
    assert calls == [(b"guess", TOKEN.encode())]


# --- DNS rebinding --------------------------------------------------------------------------------------


async def test_dns_rebinding_protection_with_hosted_names(serve: Callable[..., Any]) -> None:
    async with (
        serve(allowed_hosts=["mcp.example.com"], allowed_origins=["https://app.example.com"]) as url,
        httpx.AsyncClient(timeout=10) as http,
    ):

        async def post(**headers: str) -> int:
            r = await http.post(f"{url}/mcp", json=LIST, headers={**HEADERS, **headers})
            return r.status_code

        assert await post(Host="evil.example") == 421
        assert await post(Host="mcp.example.com.evil.example") == 421
        assert await post(Origin="http://evil.example") == 403
        # hosted names pass the Host/Origin checks (the request then proceeds to the MCP layer)
        assert await post(Host="mcp.example.com") not in (421, 403)
        assert await post(Host="mcp.example.com:8443") not in (421, 403)
        assert await post(Host="mcp.example.com", Origin="https://mcp.example.com") not in (421, 403)
        assert await post(Origin="https://app.example.com") not in (421, 403)


# --- rate limit -----------------------------------------------------------------------------------------


async def test_tool_calls_are_rate_limited_per_client(serve: Callable[..., Any]) -> None:
    async with serve(rate_limit=RateLimit(3, 60)) as url:
        with anyio.fail_after(30):
            async with Client(f"{url}/mcp") as mcp:
                for _ in range(3):
                    ok = await mcp.call_tool("list_projects", {})
                    assert not ok.is_error
                # listing tools is not a tool call: never limited
                assert (await mcp.list_tools()).tools
        async with httpx.AsyncClient(timeout=10) as http:
            r = await http.post(f"{url}/mcp", json=_call(9), headers=HEADERS)
            assert r.status_code == 429
            assert int(r.headers["retry-after"]) >= 1
            body = r.json()
            assert body["id"] == 9
            assert body["error"]["message"].startswith("[rate_limited]")
            assert "3/min" in body["error"]["message"]


def test_token_buckets_are_per_client_and_refill() -> None:
    now = [0.0]
    buckets = TokenBuckets(RateLimit(2, 60), clock=lambda: now[0])
    assert buckets.take("a") == 0
    assert buckets.take("a") == 0
    wait = buckets.take("a")
    assert 29 < wait <= 30  # one token every 30 s
    assert buckets.take("b") == 0  # another client has its own bucket
    now[0] += 30
    assert buckets.take("a") == 0


def _spoofed(i: int) -> dict[str, str]:
    return {**HEADERS, "X-Forwarded-For": f"203.0.113.{i}"}


async def test_a_spoofed_forwarded_for_gets_no_fresh_bucket(serve: Callable[..., Any]) -> None:
    """Loopback without auth: X-Forwarded-For is not believed unless --forwarded-allow-ips names the proxy
    (uvicorn would believe loopback proxies), so naming another address each time changes nothing."""
    async with serve(rate_limit=RateLimit(2, 60)) as url, httpx.AsyncClient(timeout=10) as http:
        codes = [
            (await http.post(f"{url}/mcp", json=_call(i), headers=_spoofed(i))).status_code for i in range(3)
        ]
    assert codes[:2] != [429, 429]
    assert codes[2] == 429


async def test_forwarded_for_is_believed_from_a_named_proxy(serve: Callable[..., Any]) -> None:
    async with (
        serve(rate_limit=RateLimit(1, 60), forwarded_allow_ips="127.0.0.1") as url,
        httpx.AsyncClient(timeout=10) as http,
    ):
        codes = [
            (await http.post(f"{url}/mcp", json=_call(i), headers=_spoofed(i))).status_code for i in range(3)
        ]
        assert 429 not in codes  # three clients behind the trusted proxy, one call each
        again = await http.post(f"{url}/mcp", json=_call(9), headers=_spoofed(0))
        assert again.status_code == 429  # the first client's bucket is spent


@pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed (./dev setup)")
async def test_the_console_script_does_not_believe_forwarded_for(
    tmp_path: Path, local_backend: LocalBackend
) -> None:
    """`nemo-mcp --transport http` itself (uvicorn.run as main() calls it), not only the app: spoofed
    addresses share the one peer's budget."""
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "NEMO_DOWNLOAD_DIR": str(tmp_path / "dl"),
        "NEMO_API_URL": local_backend.url,
        "FORWARDED_ALLOW_IPS": "*",  # uvicorn's own variable: not read
    }
    argv = [str(SCRIPT), "--transport", "http", "--port", str(port), "--rate-limit", "2/min"]
    proc = await anyio.open_process(argv, env=env)
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            with anyio.fail_after(30):
                while True:
                    try:
                        if (await http.get(f"http://127.0.0.1:{port}/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await anyio.sleep(0.05)
            url = f"http://127.0.0.1:{port}/mcp"
            codes = [(await http.post(url, json=_call(i), headers=_spoofed(i))).status_code for i in range(3)]
        assert codes[2] == 429, codes
    finally:
        proc.terminate()
        with anyio.fail_after(15):
            await proc.wait()


def test_proxy_headers_are_off_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")  # uvicorn's own setting is not read
    assert http_security.uvicorn_options(_opts()) == {"proxy_headers": False, "forwarded_allow_ips": ""}
    trusted = http_security.uvicorn_options(_opts("--forwarded-allow-ips", "10.0.0.5,10.0.1.0/24"))
    assert trusted == {"proxy_headers": True, "forwarded_allow_ips": "10.0.0.5,10.0.1.0/24"}


@pytest.mark.parametrize("rate_limit", [RateLimit(100, 60), None], ids=["with-rate-limit", "sdk-only"])
async def test_json_nested_too_deep_is_a_clear_400(
    serve: Callable[..., Any], rate_limit: RateLimit | None
) -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    inside = json.dumps(_call(1, "get_job")).replace(
        '"arguments": {}', '"arguments": {"job_id": ' + "[" * 65 + "1" + "]" * 65 + "}"
    )
    in_strings = {**_call(2, "get_job"), "params": {"name": "get_job", "arguments": {"job_id": "[" * 5000}}}
    async with serve(rate_limit=rate_limit) as url, httpx.AsyncClient(timeout=10) as http:
        for body in (deep, inside.encode()):
            r = await http.post(f"{url}/mcp", content=body, headers=HEADERS)
            assert r.status_code == 400, r.text[:300]
            err = r.json()["error"]
            assert err["code"] == -32600
            assert err["message"].startswith(
                "[invalid_request] The request's JSON is nested more than 64 levels"
            )
            assert "Traceback" not in r.text
        # brackets inside strings are text, not nesting; and the server still answers
        r = await http.post(f"{url}/mcp", json=in_strings, headers=HEADERS)
        assert r.status_code != 400 or "nested" not in r.text
        assert (await http.post(f"{url}/mcp", json=LIST, headers=HEADERS)).status_code < 500


async def test_rate_limit_keys_on_the_auth_principal(serve: Callable[..., Any]) -> None:
    auth = {**HEADERS, "Authorization": f"Bearer {TOKEN}"}
    async with (
        serve(auth_token=TOKEN, rate_limit=RateLimit(1, 60)) as url,
        httpx.AsyncClient(timeout=10) as h,
    ):
        # Unauthenticated calls are refused before they can spend the principal's budget.
        for i in range(3):
            assert (await h.post(f"{url}/mcp", json=_call(i), headers=HEADERS)).status_code == 401
        first = await h.post(f"{url}/mcp", json=_call(10), headers=auth)
        assert first.status_code != 429
        second = await h.post(f"{url}/mcp", json=_call(11), headers=auth)
        assert second.status_code == 429


async def test_rate_limit_without_auth_keys_on_the_address_not_the_session_id() -> None:
    """A client-rotated Mcp-Session-Id must not buy a fresh bucket (initialize is free, so session keys
    would bound nothing); another peer address has its own bucket."""
    passed: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        passed.append(scope["client"][0])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    limiter = http_security.ToolCallRateLimit(app, RateLimit(2, 60), max_body=10_000)

    async def call(addr: str, session: str) -> int:
        body = json.dumps(_call(1)).encode()
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/mcp",
            "client": (addr, 5000),
            "headers": [(b"content-type", b"application/json"), (b"mcp-session-id", session.encode())],
        }
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await limiter(scope, receive, send)
        return int(sent[0]["status"])

    assert [await call("10.0.0.1", f"s{i}") for i in range(4)] == [200, 200, 429, 429]
    assert await call("10.0.0.2", "s0") == 200
    assert passed == ["10.0.0.1", "10.0.0.1", "10.0.0.2"]


# --- body size ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rate_limit", [RateLimit(100, 60), None], ids=["with-rate-limit", "sdk-only"])
async def test_request_body_limit(serve: Callable[..., Any], rate_limit: RateLimit | None) -> None:
    big = {
        **_call(1, "edit_video"),
        "params": {"name": "edit_video", "arguments": {"instruction": "x" * 70_000}},
    }
    async with serve(max_body=64 * 1024, rate_limit=rate_limit) as url, httpx.AsyncClient(timeout=10) as http:
        r = await http.post(f"{url}/mcp", json=big, headers=HEADERS)
        assert r.status_code == 413

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit applies while reading
            for _ in range(20):
                yield b" " * 8192

        r = await http.post(f"{url}/mcp", content=chunks(), headers=HEADERS)
        assert r.status_code == 413
        ok = await http.post(f"{url}/mcp", json=LIST, headers=HEADERS)
        assert ok.status_code != 413


def test_default_body_limit_is_sane() -> None:
    opts = _opts()
    assert 64 * 1024 <= opts.max_body <= 4 * 1024 * 1024
