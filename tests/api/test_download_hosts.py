"""Which links a rendered video may be fetched from: schemes, hosts, addresses, and the pinned connection."""

from __future__ import annotations

import pytest

from nemo_mcp.api import ApiConfig, BadRenderUrlError, ConfigError
from nemo_mcp.api.download_hosts import (
    DEFAULT_DOWNLOAD_HOSTS,
    Resolver,
    host_allowed,
    is_public,
    parse_hosts,
    refusal,
    resolve_target,
)

pytestmark = pytest.mark.anyio

CLOUD = "https://mega-api-prod.nemovideo.ai"
LOCAL = "http://127.0.0.1:8123"
HOSTS = DEFAULT_DOWNLOAD_HOSTS


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:video/mp4;base64,AAAA",
        "ftp://static1.nemovideo.ai/x.mp4",
        "//static1.nemovideo.ai/x.mp4",
        "https://user:pw@static1.nemovideo.ai/x.mp4",
        "https://evil.example/render.mp4",
        "https://nemovideo.ai.evil.example/x.mp4",
        "https://static1.nemovideo.ai:99999/x.mp4",
        "http://127.0.0.1:8124/cdn/x.mp4",  # another port of the backend's machine
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8123/x.mp4",
    ],
)
def test_links_that_are_refused(url: str) -> None:
    for base in (CLOUD, LOCAL):
        reason = refusal(url, base, HOSTS)
        assert reason is not None, (url, base)
        assert "passwd" not in reason
        assert "alert" not in reason  # the reason names the scheme or host, never the whole link


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("https://static1.nemovideo.ai/render-result/render_1.mp4", CLOUD),
        ("https://nemovideo.ai/x.mp4", CLOUD),
        ("https://mega-api-prod.nemovideo.ai/api/render/proxy/r/download", CLOUD),
        ("http://127.0.0.1:8123/cdn/renders/x.mp4", LOCAL),  # the embedded backend's own origin
    ],
)
def test_links_that_are_allowed(url: str, base: str) -> None:
    assert refusal(url, base, HOSTS) is None


def test_host_patterns() -> None:
    assert host_allowed("static1.nemovideo.ai", ("*.nemovideo.ai",))
    assert host_allowed("NEMOVIDEO.AI.", ("*.nemovideo.ai",))
    assert not host_allowed("xnemovideo.ai", ("*.nemovideo.ai",))
    assert host_allowed("cdn.example", ("cdn.example",))
    assert not host_allowed("a.cdn.example", ("cdn.example",))
    assert parse_hosts(" CDN.example, *.nemovideo.ai  other.test ") == (
        "cdn.example",
        "*.nemovideo.ai",
        "other.test",
    )
    for bad in ("https://cdn.example", "cdn.example/path", "cdn.example:443", "*"):
        with pytest.raises(ConfigError, match="NEMO_DOWNLOAD_HOSTS"):
            parse_hosts(bad)


def test_the_allowlist_comes_from_the_environment() -> None:
    assert ApiConfig.from_env(env={}).download_hosts == DEFAULT_DOWNLOAD_HOSTS
    cfg = ApiConfig.from_env(env={"NEMO_DOWNLOAD_HOSTS": "cdn.example,*.renders.test"})
    assert cfg.download_hosts == ("cdn.example", "*.renders.test")


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.0.1", False),
        ("100.64.0.1", False),
        ("169.254.169.254", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("not an address", False),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public(address) is public


def resolving_to(*addresses: str) -> Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


async def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    allowed = ("*.nemovideo.ai",)
    for address in ("127.0.0.1", "10.0.0.7", "169.254.169.254", "::1"):
        with pytest.raises(BadRenderUrlError, match="public address"):
            await resolve_target("https://static1.nemovideo.ai/x.mp4", CLOUD, allowed, resolving_to(address))

    async def none(host: str, port: int) -> list[str]:
        return []

    with pytest.raises(BadRenderUrlError):
        await resolve_target("https://static1.nemovideo.ai/x.mp4", CLOUD, allowed, none)


async def test_the_connection_goes_to_the_checked_address() -> None:
    async def resolve(host: str, port: int) -> list[str]:
        assert (host, port) == ("static1.nemovideo.ai", 443)
        return ["93.184.215.14"]

    target = await resolve_target("https://static1.nemovideo.ai/r/x.mp4?sig=1", CLOUD, HOSTS, resolve)
    assert target.url == "https://93.184.215.14:443/r/x.mp4?sig=1"
    assert target.headers == {"Host": "static1.nemovideo.ai"}
    assert target.extensions == {"sni_hostname": "static1.nemovideo.ai"}
    assert not target.own

    async def never(host: str, port: int) -> list[str]:
        raise AssertionError("the backend's own origin is not resolved again")

    own = await resolve_target(f"{LOCAL}/cdn/x.mp4", LOCAL, HOSTS, never)
    assert own.own
    assert own.url == f"{LOCAL}/cdn/x.mp4"


async def test_one_private_answer_among_public_ones_is_enough_to_refuse() -> None:
    resolve = resolving_to("93.184.215.14", "127.0.0.1")
    with pytest.raises(BadRenderUrlError):
        await resolve_target("https://static1.nemovideo.ai/x.mp4", CLOUD, HOSTS, resolve)
