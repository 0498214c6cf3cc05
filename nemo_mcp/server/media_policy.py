"""The server's policy for local files and URLs: which may be uploaded, and where downloads may land.

What a media file is (extensions, types, content sniffing, the size limit) is the api's business
(`nemo_mcp.api.media`); this module adds only what THIS server allows:

- `NEMO_MEDIA_DIRS` (os.pathsep-separated, optional): when set, local uploads must resolve (symlinks
  followed) inside one of these folders.
- URLs: http(s) only, no credentials inside them.
- `NEMO_DOWNLOAD_DIR` (optional, default `~/Downloads/nemo-mcp`): the root every download is confined to;
  a requested `download_dir` is resolved inside it (relative paths are taken relative to it, absolute
  paths must already be inside it) when the call is made. When the file is saved, `open_download_folder`
  opens that folder again from the root one component at a time, never through a symlink
  (`nemo_mcp.api.saving`), so a sub-folder swapped for a link meanwhile is refused, not followed. File
  names are reduced to a safe character set; an existing file is never overwritten unless asked (the
  name is reserved atomically: `take.mp4`, `take_1.mp4`, ...).

Failures are `ToolFailure`s whose message names the file and the broken rule.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from nemo_mcp.api.media import (
    MAX_UPLOAD_BYTES,
    SUPPORTED_LIST,
    MediaFamily,
    MediaFile,
    family_of,
    preflight,
)
from nemo_mcp.api.saving import SaveFolder
from nemo_mcp.server.failures import ToolFailure, as_failure, invalid_argument

__all__ = [
    "MAX_UPLOAD_BYTES",
    "SUPPORTED_LIST",
    "Source",
    "check_source",
    "download_root_from_env",
    "has_control_chars",
    "is_url",
    "media_dirs_from_env",
    "open_download_folder",
    "resolve_destination",
    "resolve_download_dir",
    "safe_filename",
]


def media_dirs_from_env(env: dict[str, str] | None = None) -> list[Path]:
    raw = (env if env is not None else os.environ).get("NEMO_MEDIA_DIRS", "")
    return [Path(p).expanduser().resolve() for p in raw.split(os.pathsep) if p.strip()]


def download_root_from_env(env: dict[str, str] | None = None) -> Path:
    raw = (env if env is not None else os.environ).get("NEMO_DOWNLOAD_DIR", "").strip()
    return Path(raw).expanduser() if raw else Path.home() / "Downloads" / "nemo-mcp"


def _expand(path: Path) -> Path:
    """`~` and `~user` expanded; an unknown user (`~nobody9`) stays a literal name instead of raising."""
    try:
        return path.expanduser()
    except RuntimeError:
        return path


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Source:
    """One upload source that passed the checks: a local file (`file` set) or an http(s) URL."""

    kind: Literal["file", "url"]
    value: str  # resolved absolute path, or the URL
    name: str  # display name (file name)
    media_type: MediaFamily | None  # None for a URL without a known extension
    size: int | None = None
    file: MediaFile | None = None


_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_ANY_RE = re.compile(r"[\x00-\x1f\x7f]")


def has_control_chars(text: str, *, allow_newlines: bool = False) -> bool:
    """True for C0 controls and DEL (tab/CR/LF allowed in free text when `allow_newlines`)."""
    return bool((_CONTROL_RE if allow_newlines else _CONTROL_ANY_RE).search(text))


def is_url(source: str) -> bool:
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", source)) and not re.match(r"^[A-Za-z]:[\\/]", source)


def _without_userinfo(url: str) -> str:
    """The URL with any `user:password@` part replaced, for messages (never echo credentials)."""
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@", r"\1***@", url)


def check_url(url: str) -> Source:
    """Accept http(s) URLs only; refuse file:, data:, other schemes and credentials in URLs."""
    shown = _without_userinfo(url)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    scheme = url.split(":", 1)[0].lower()
    if scheme not in ("http", "https"):
        raise ToolFailure(
            "bad_url",
            f"{shown.split(',')[0] if scheme == 'data' else shown}: only http(s) URLs can be imported "
            f"({scheme}: URLs are refused). Give a local file path or a public http(s) link instead.",
        )
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        host = parts.hostname or "?"
        raise ToolFailure(
            "bad_url",
            f"URL on {host}: credentials inside URLs are refused (they would be sent to the backend). "
            "Use a public or pre-signed link without user:password@.",
        )
    if not parts.hostname:
        raise ToolFailure("bad_url", f"{shown}: the URL has no host name.")
    name = Path(parts.path).name or parts.hostname
    family = family_of(name)
    if family is None and "." in name and Path(name).suffix:
        raise ToolFailure("unsupported_file", f"{name}: supported types are {SUPPORTED_LIST}.")
    return Source(kind="url", value=url, name=name, media_type=family)


def check_local_file(
    raw: str,
    *,
    media_dirs: list[Path] | None = None,
    max_bytes: int = MAX_UPLOAD_BYTES,
    base_dir: Path | None = None,
) -> Source:
    """Preflight one local file: the folder allowlist here, then the media rules of `nemo_mcp.api.media`."""
    p = _expand(Path(raw))
    if not p.is_absolute():
        p = (base_dir or Path.cwd()) / p
    name = p.name or raw
    try:
        resolved = p.resolve(strict=True)
    except (FileNotFoundError, RuntimeError, ValueError):
        raise ToolFailure(
            "file_not_found", f"{name}: no such file ({raw}). Check the path; use an absolute path."
        ) from None
    except OSError as exc:
        raise ToolFailure(
            "file_not_found", f"{name}: cannot be read ({exc.strerror or 'OS error'})."
        ) from None
    if media_dirs and not any(_inside(resolved, d) for d in media_dirs):
        allowed = ", ".join(str(d) for d in media_dirs)
        raise ToolFailure(
            "path_not_allowed",
            f"{name}: outside the allowed media folders ({allowed}). Move the file there, "
            "or add its folder to NEMO_MEDIA_DIRS.",
        )
    try:
        checked = preflight(resolved, max_bytes=max_bytes)
    except Exception as exc:
        raise as_failure(exc) from None
    return Source(
        kind="file",
        value=str(checked.path),
        name=checked.name,
        media_type=checked.family,
        size=checked.size,
        file=checked,
    )


def check_source(
    raw: str, *, media_dirs: list[Path] | None = None, max_bytes: int = MAX_UPLOAD_BYTES
) -> Source:
    raw = raw.strip()
    if not raw:
        raise invalid_argument("an empty source was given; pass a file path or an http(s) URL.")
    if has_control_chars(raw):
        raise invalid_argument(
            f"{raw[:60]!r}: control characters are not allowed in a path or URL. Pass the plain path."
        )
    if is_url(raw):
        return check_url(raw)
    return check_local_file(raw, media_dirs=media_dirs, max_bytes=max_bytes)


# --- downloads ----------------------------------------------------------------------------------------


def resolve_destination(requested: str, root: Path) -> tuple[Path, str | None]:
    """A destination named in an instruction ("save it as ~/Movies/final.mp4", "导出到 D:\\成片"): the folder,
    confined like `download_dir`, and the file name when one was given (always saved as .mp4)."""
    p = _expand(Path(requested.strip().strip("\"'")))
    if p.suffix and (family_of(p.name) is not None or p.suffix.lower() == ".mp4"):
        return resolve_download_dir(str(p.parent), root, what="The destination folder"), safe_filename(p.stem)
    return resolve_download_dir(str(p), root, what="The destination"), None


def resolve_download_dir(requested: str | None, root: Path, *, what: str = "download_dir") -> Path:
    """Return the folder to write into, confined to `root` (created if missing)."""
    root = root.expanduser()
    root.mkdir(parents=True, exist_ok=True)
    root_resolved = root.resolve()
    if not requested or not requested.strip():
        return root_resolved
    if has_control_chars(requested):
        raise invalid_argument("download_dir contains control characters; give a plain sub-folder name.")
    req = _expand(Path(requested.strip()))
    target = req if req.is_absolute() else root_resolved / req
    # Resolve without requiring existence, then check containment (catches `..` and symlinks out).
    target_resolved = target.resolve()
    if not _inside(target_resolved, root_resolved):
        raise ToolFailure(
            "path_not_allowed",
            f"{what} {requested!r} is outside the download folder {root_resolved}, where exports are saved. "
            "Name a file or sub-folder inside it, or change NEMO_DOWNLOAD_DIR. Nothing was done.",
        )
    target_resolved.mkdir(parents=True, exist_ok=True)
    # Re-check after creation in case a component was a symlink created meanwhile.
    if not _inside(target_resolved.resolve(), root_resolved):
        raise ToolFailure("path_not_allowed", f"download_dir {requested!r} escapes the download folder.")
    return target_resolved


_UNSAFE = re.compile(r"[^\w.-]+")


def safe_filename(stem: str, ext: str = ".mp4", *, max_len: int = 80) -> str:
    """A file name of letters (any script), digits and `._-` with the given extension (never hidden, never
    empty, no separators or control characters): "年会视频 终版" stays readable as 年会视频_终版.mp4."""
    norm = unicodedata.normalize("NFC", stem)
    cleaned = _UNSAFE.sub("_", norm).strip("._-")
    cleaned = re.sub(r"_{2,}", "_", cleaned)
    if cleaned.lower().endswith(ext.lower()):
        cleaned = cleaned[: -len(ext)]
    cleaned = cleaned[:max_len].strip("._-") or "video"
    return cleaned + ext


def open_download_folder(folder: Path, root: Path) -> SaveFolder:
    """`folder` (a result of `resolve_download_dir`) opened for writing: the root by its path, each
    component below it without following a symlink, created when missing. `path_not_allowed` when a
    component is now a link or a file (it changed since the call), or the folder is no longer inside."""
    root_resolved = root.expanduser().resolve()
    try:
        parts = folder.relative_to(root_resolved).parts
    except ValueError:
        parts = None
    if parts is None or ".." in parts:
        raise ToolFailure(
            "path_not_allowed",
            f"{folder} is outside the download folder {root_resolved}; nothing was saved. Name a sub-folder "
            "inside it.",
        )
    try:
        return SaveFolder.open(root_resolved, parts)
    except OSError as exc:
        raise ToolFailure(
            "path_not_allowed",
            f"The download folder {folder} cannot be used ({exc.strerror or 'changed'}): a part of it was "
            "replaced by a link or a file after the call was made, so nothing was saved there. Choose "
            "another download_dir.",
        ) from None
