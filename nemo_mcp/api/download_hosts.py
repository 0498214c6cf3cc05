"""Which links a rendered video may be fetched from, and the connection to the address that was checked.

A render's output URL comes from the backend; this client opens it only when

- it is http(s), without user info;
- it is on the backend's own origin (scheme, host and port of ``base_url``), or its host matches the
  allowlist (``NEMO_DOWNLOAD_HOSTS``, default ``*.nemovideo.ai``: exact names, or ``*.domain`` for the
  domain and its subdomains);
- for any host but the backend's own origin, every address the name resolves to is public: loopback,
  link-local, private (RFC 1918, ULA, CGNAT), unspecified, multicast and reserved addresses are refused,
  and an IPv4 address carried inside IPv6 is judged as that IPv4 address. So a backend on loopback or a
  private address (the embedded one, a test server) is reachable only at its own host:port.

The connection then goes to the address that was checked (the ``Host`` header and the TLS server name stay
the URL's), so a second DNS answer cannot swap in another one. Redirect hops are checked the same way by
the caller. The local backend's URL import applies the same address rule (``nemo_mcp.local.urlfetch``);
the layers share no code, so the rule is written in both.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit, urlunsplit

import anyio

from nemo_mcp.api.errors import BadRenderUrlError, ConfigError

__all__ = [
    "DEFAULT_DOWNLOAD_HOSTS",
    "Resolver",
    "Target",
    "host_allowed",
    "is_public",
    "parse_hosts",
    "refusal",
    "resolve_addresses",
    "resolve_target",
]

#: NemoVideo's CDN (renders are served from static1.nemovideo.ai, docs/nemo-api.md §8 C1)
DEFAULT_DOWNLOAD_HOSTS: tuple[str, ...] = ("*.nemovideo.ai",)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_HOST_RE = re.compile(r"^(\*\.)?[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$|^\[?[0-9a-f:.]+\]?$")


def parse_hosts(raw: str) -> tuple[str, ...]:
    """``NEMO_DOWNLOAD_HOSTS``: host names separated by commas or spaces, ``*.domain`` for a whole domain."""
    hosts: list[str] = []
    for item in re.split(r"[,\s]+", raw.strip().lower()):
        if not item:
            continue
        if not _HOST_RE.match(item):
            raise ConfigError(
                f"NEMO_DOWNLOAD_HOSTS: {item[:60]!r} is not a host name; give names such as "
                "static1.nemovideo.ai or *.nemovideo.ai, separated by commas (no scheme, port or path)."
            )
        hosts.append(item.strip("[]"))
    return tuple(dict.fromkeys(hosts))


def host_allowed(host: str, patterns: tuple[str, ...]) -> bool:
    """True when ``host`` is one of the names, or inside one of the ``*.domain`` entries."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        if pattern.startswith("*."):
            domain = pattern[2:]
            if host == domain or host.endswith("." + domain):
                return True
        elif host == pattern:
            return True
    return False


def _origin(parts: SplitResult) -> tuple[str, str, int | None]:
    port = parts.port if parts.port is not None else {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def refusal(url: str, base_url: str, patterns: tuple[str, ...]) -> str | None:
    """Why ``url`` may not be opened (scheme, user info, host), or None; addresses are checked later.
    The reason names the scheme or the host only, never the whole link."""
    try:
        parts = urlsplit(url.strip())
        _ = parts.port  # ValueError for a malformed port
    except ValueError:
        return "a malformed link"
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return f"a {scheme}: link" if scheme else "a link without a scheme"
    if parts.username is not None or parts.password is not None:
        return "a link with a user name in it"
    if not parts.hostname:
        return "a link without a host"
    if _origin(parts) == _origin(urlsplit(base_url)):
        return None
    if not host_allowed(parts.hostname, patterns):
        return f"a link on {parts.hostname} (not one of NemoVideo's hosts)"
    return None


def is_public(address: str) -> bool:
    """True only for a globally routable unicast address (IPv4 inside IPv6 judged as IPv4)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded: list[ipaddress.IPv4Address] = []
        if ip.ipv4_mapped is not None:
            embedded.append(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            embedded.append(ip.sixtofour)
        if ip.teredo is not None:
            embedded.extend(ip.teredo)
        if ip in _NAT64 or int(ip) >> 32 == 0:  # NAT64, and the deprecated ::a.b.c.d form (:: and ::1 too)
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if embedded:
            return all(is_public(str(v4)) for v4 in embedded)
    bad = (
        ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_unspecified
        or ip.is_multicast
        or ip.is_reserved
        or not ip.is_global
    )
    return not bad


@dataclass(frozen=True)
class Target:
    """Where to send the GET for a checked link: the URL to request and the headers/extensions that keep
    the original name (``Host``, TLS ``sni_hostname``); ``own`` is True for the backend's own origin."""

    url: str
    own: bool
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve_addresses(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (none when it does not resolve)."""
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def resolve_target(
    url: str, base_url: str, patterns: tuple[str, ...], resolve: Resolver = resolve_addresses
) -> Target:
    """The checked connection target of ``url``; :class:`BadRenderUrlError` when a rule refuses it."""
    reason = refusal(url, base_url, patterns)
    if reason is not None:
        raise BadRenderUrlError(f"NemoVideo named the rendered video at {reason}; it was not opened.")
    parts = urlsplit(url.strip())
    if _origin(parts) == _origin(urlsplit(base_url)):
        return Target(url=url.strip(), own=True)
    host = parts.hostname or ""
    port = _origin(parts)[2] or 443
    addresses = await resolve(host, port)
    if not addresses or not all(is_public(a) for a in addresses):
        raise BadRenderUrlError(
            f"NemoVideo named the rendered video on {host}, which does not resolve to a public address; "
            "it was not opened."
        )
    address = addresses[0]
    literal = f"[{address}]" if ":" in address else address
    target = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
    shown = f"[{host}]" if ":" in host else host
    headers = {"Host": shown if parts.port is None else f"{shown}:{port}"}
    extensions = {"sni_hostname": host} if parts.scheme.lower() == "https" else {}
    return Target(url=target, own=False, headers=headers, extensions=extensions)
