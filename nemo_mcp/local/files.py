"""Public files under the data directory (what `/cdn/...` serves) and our own `/cdn/` URLs mapped back to
them, which is how a render finds its media offline."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from nemo_mcp.local.addresses import is_loopback_host, is_loopback_url

PUBLIC_DIRS = ("uploads", "generated", "renders")


def public_file(data_dir: Path, rel: str) -> Path | None:
    """The file `rel` names below one of the public folders; None for anything else (dot files, escapes)."""
    first = rel.split("/", 1)[0]
    if first not in PUBLIC_DIRS or any(p.startswith(".") for p in rel.split("/")):
        return None
    path = (data_dir / rel).resolve()
    if not path.is_relative_to(data_dir) or not path.is_file():
        return None
    return path


def resolve_media(data_dir: Path, url: str) -> Path | None:
    """Our own `/cdn/...` URLs map to files in the data dir; anything else is unavailable offline."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not is_loopback_url(url):
        return None
    if not parts.path.startswith("/cdn/"):
        return None
    return public_file(data_dir, unquote(parts.path).removeprefix("/cdn/"))


def own_cdn_file(data_dir: Path, url: str, origins: set[tuple[str, int]]) -> Path | None:
    """The file behind one of this backend's own `/cdn/` URLs: its host and port are one of `origins`
    (lower-case host, port), or a loopback host on one of those ports. None for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.path.startswith("/cdn/"):
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    ports = {p for _, p in origins}
    if (host, port) not in origins and not (is_loopback_host(host) and port in ports):
        return None
    return public_file(data_dir, unquote(parts.path).removeprefix("/cdn/"))
