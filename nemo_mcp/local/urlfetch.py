"""URL import (`{"urls": [...], "source_type": "url"}`, docs/nemo-api.md §1.8): the backend downloads the
media itself, without becoming a way into the machine it runs on.

- http and https only, no user info in the URL.
- The backend's own `/cdn/` URLs are read from its data directory and never fetched: a project re-importing
  a file this backend served it costs no connection at all.
- Any other host is resolved first, and refused unless every address it resolves to is public: loopback,
  link-local, private (RFC 1918, ULA, CGNAT), unspecified, multicast and reserved addresses are refused,
  and an IPv4 address carried inside IPv6 (mapped, NAT64, 6to4, Teredo) is judged as that IPv4 address.
  The `allow_private_url_import` knob lifts this (tests fetch from loopback servers).
- The connection goes to the address that was checked (the Host header and the TLS server name stay the
  URL's), so a second DNS answer cannot swap in another one; redirects are followed by hand, at most
  `MAX_REDIRECTS`, each hop checked the same way.
- Every refusal and every failure (refused address, closed port, timeout, HTTP error, too large, not a
  media file) answers the same error, code and message: the answer is no oracle for ports or addresses.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Callable
from pathlib import Path
from urllib.parse import SplitResult, unquote, urljoin, urlsplit, urlunsplit

import httpx

from nemo_mcp.local.envelope import ApiError
from nemo_mcp.local.names import create_unique, display_name, extension
from nemo_mcp.local.upload import ALLOWED_EXTS, Written, discard

MAX_REDIRECTS = 5
CHUNK = 1024 * 1024
IMPORT_FAILED = (
    "Could not import from that URL: the backend could not download a supported media file from it. "
    "Check the link, or upload the file itself."
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_REDIRECTS = (301, 302, 303, 307, 308)

# one of our own /cdn/ URLs -> its file and the name it was uploaded under (if known); None otherwise
OwnFile = Callable[[str], tuple[Path, str | None] | None]
log = logging.getLogger("nemo_mcp.local")


def import_failed() -> ApiError:
    """The one answer to every failed URL import."""
    return ApiError(400, IMPORT_FAILED)


class _Failed(Exception):
    """Any reason an import stops; the reason goes to the log only, never to the client."""


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
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if int(ip) >> 32 == 0:  # ::a.b.c.d, the deprecated IPv4-compatible form (and ::, ::1)
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


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (IP literals, odd IPv4 forms like `127.1` included)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def fetch_urls(
    urls: list[str],
    folder: Path,
    cap: int,
    *,
    own_file: OwnFile,
    allow_private: bool = False,
    limit: float = 30.0,
) -> list[Written]:
    """Download each URL into `folder` (all or nothing); `import_failed()` for any failure."""
    folder.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (one cheap local mkdir)
    files: list[Written] = []
    try:
        for url in urls:
            async with asyncio.timeout(limit):
                files.append(await _import(url, folder, cap, own_file, allow_private, limit))
    except (_Failed, httpx.HTTPError, OSError, TimeoutError, ValueError, UnicodeError) as exc:
        discard(files)
        log.info("URL import failed: %s", type(exc).__name__)  # the reason stays here
        raise import_failed() from None
    except BaseException:
        discard(files)
        raise
    return files


async def _import(
    url: str, folder: Path, cap: int, own_file: OwnFile, allow_private: bool, limit: float
) -> Written:
    name = _name_of(url)
    async with httpx.AsyncClient(
        timeout=limit, follow_redirects=False, trust_env=False, headers={"Accept": "*/*"}
    ) as client:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            parts = _checked(current)
            if (own := own_file(current)) is not None:
                return await _copy(own[0], own[1] or name, folder, cap)
            host = parts.hostname or ""
            port = parts.port or (443 if parts.scheme == "https" else 80)
            addresses = await resolve(host, port)
            if not addresses or (not allow_private and not all(is_public(a) for a in addresses)):
                raise _Failed("refused address")
            address = addresses[0]
            literal = f"[{address}]" if ":" in address else address
            target = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
            default_port = parts.port is None
            headers = {"Host": host if default_port else f"{host}:{port}"}
            if ":" in host:
                headers["Host"] = f"[{host}]" if default_port else f"[{host}]:{port}"
            extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
            async with client.stream("GET", target, headers=headers, extensions=extensions) as resp:
                if resp.status_code in _REDIRECTS and resp.headers.get("location"):
                    current = urljoin(current, resp.headers["location"])
                    continue
                if resp.status_code != 200:
                    raise _Failed(f"HTTP {resp.status_code}")
                item = Written(name, create_unique(folder, extension(name)))
                try:
                    with item.path.open("wb") as handle:
                        async for chunk in resp.aiter_bytes(CHUNK):
                            _take(item, chunk, cap)
                            handle.write(chunk)
                except BaseException:
                    discard([item])
                    raise
                return item
    raise _Failed("too many redirects")


def _name_of(url: str) -> str:
    parts = _checked(url)
    name = display_name(unquote(parts.path.rsplit("/", 1)[-1]))
    if extension(name) not in ALLOWED_EXTS:
        raise _Failed("not a supported extension")
    return name


def _checked(url: str) -> SplitResult:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Failed("not an http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise _Failed("user info in the URL")
    _ = parts.port  # ValueError for a malformed port
    return parts


def _take(item: Written, chunk: bytes, cap: int) -> None:
    item.size += len(chunk)
    if item.size > cap:
        raise _Failed("too large")
    item.sha.update(chunk)


async def _copy(source: Path, name: str, folder: Path, cap: int) -> Written:
    """One of our own files, copied without a connection."""
    item = Written(name, create_unique(folder, extension(name)))

    def copy() -> None:
        with source.open("rb") as src, item.path.open("wb") as dst:
            while chunk := src.read(CHUNK):
                _take(item, chunk, cap)
                dst.write(chunk)

    try:
        await asyncio.to_thread(copy)
    except BaseException:
        with contextlib.suppress(OSError):
            item.path.unlink()
        raise
    return item
