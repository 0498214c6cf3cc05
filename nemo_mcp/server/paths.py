"""Local file rules: what may be uploaded, where downloads may land, safe file names.

- `NEMO_MEDIA_DIRS` (os.pathsep-separated, optional): when set, local uploads must resolve (symlinks
  followed) inside one of these folders.
- `NEMO_DOWNLOAD_DIR` (optional, default `~/Downloads/nemo-mcp`): the root every download is confined to;
  a requested `download_dir` is resolved inside it (relative paths are taken relative to it, absolute
  paths must already be inside it).
- File names are reduced to a safe character set, and an existing file is never overwritten unless asked.

Failures raise `PathRuleError(tag, message)`; the message names the file and the broken rule.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from nemo_mcp.server.routing import AUDIO_EXTENSIONS, IMAGE_EXTENSIONS, SUPPORTED_EXTENSIONS, VIDEO_EXTENSIONS

MAX_UPLOAD_BYTES = 500 * 1024 * 1024  # skill: "Max file size is 500MB"
SUPPORTED_LIST = ", ".join(SUPPORTED_EXTENSIONS)


class PathRuleError(Exception):
    def __init__(self, tag: str, message: str) -> None:
        super().__init__(message)
        self.tag = tag
        self.message = message


def media_type_of(name: str) -> str | None:
    ext = Path(name).suffix.lower().lstrip(".")
    if ext == "jpeg":
        ext = "jpg"
    if ext in VIDEO_EXTENSIONS:
        return "video"
    if ext in IMAGE_EXTENSIONS:
        return "image"
    if ext in AUDIO_EXTENSIONS:
        return "audio"
    return None


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
    """One validated upload source."""

    kind: str  # "file" | "url"
    value: str  # resolved absolute path, or the URL
    name: str  # display name (file name)
    media_type: str | None  # video | image | audio (None for a URL without a known extension)
    size: int | None = None


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
        raise PathRuleError(
            "bad_url",
            f"{shown.split(',')[0] if scheme == 'data' else shown}: only http(s) URLs can be imported "
            f"({scheme}: URLs are refused). Give a local file path or a public http(s) link instead.",
        )
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        host = parts.hostname or "?"
        raise PathRuleError(
            "bad_url",
            f"URL on {host}: credentials inside URLs are refused (they would be sent to the backend). "
            "Use a public or pre-signed link without user:password@.",
        )
    if not parts.hostname:
        raise PathRuleError("bad_url", f"{shown}: the URL has no host name.")
    name = Path(parts.path).name or parts.hostname
    mtype = media_type_of(name)
    ext = Path(name).suffix.lower().lstrip(".")
    if ext and mtype is None and "." in name:
        raise PathRuleError(
            "unsupported_file",
            f"{name}: supported types are {SUPPORTED_LIST}.",
        )
    return Source(kind="url", value=url, name=name, media_type=mtype)


def check_local_file(
    raw: str,
    *,
    media_dirs: list[Path] | None = None,
    max_bytes: int = MAX_UPLOAD_BYTES,
    base_dir: Path | None = None,
) -> Source:
    """Preflight one local file: exists, allowed folder, supported type, size."""
    p = _expand(Path(raw))
    if not p.is_absolute():
        p = (base_dir or Path.cwd()) / p
    name = p.name or raw
    try:
        resolved = p.resolve(strict=True)
    except (FileNotFoundError, RuntimeError, ValueError):
        raise PathRuleError(
            "file_not_found", f"{name}: no such file ({raw}). Check the path; use an absolute path."
        ) from None
    except OSError as exc:
        raise PathRuleError(
            "file_not_found", f"{name}: cannot be read ({exc.strerror or 'OS error'})."
        ) from None
    if media_dirs and not any(_inside(resolved, d) for d in media_dirs):
        allowed = ", ".join(str(d) for d in media_dirs)
        raise PathRuleError(
            "path_not_allowed",
            f"{name}: outside the allowed media folders ({allowed}). Move the file there, "
            "or add its folder to NEMO_MEDIA_DIRS.",
        )
    if resolved.is_dir():
        raise PathRuleError("unsupported_file", f"{name}: is a folder; give the media files inside it.")
    if not resolved.is_file():
        raise PathRuleError(
            "unsupported_file",
            f"{name}: is not a regular file (a device, pipe or socket cannot be uploaded).",
        )
    mtype = media_type_of(resolved.name)
    if mtype is None:
        raise PathRuleError("unsupported_file", f"{name}: supported types are {SUPPORTED_LIST}.")
    # Open without blocking (a path swapped for a FIFO after the checks above must not hang the server)
    # and re-check the opened object: a regular file of a sane size whose bytes look like its type.
    try:
        fd = os.open(resolved, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except PermissionError:
        raise PathRuleError("file_not_found", f"{name}: permission denied.") from None
    except OSError as exc:
        reason = exc.strerror or "OS error"
        raise PathRuleError("file_not_found", f"{name}: cannot be read ({reason}).") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise PathRuleError("unsupported_file", f"{name}: is not a regular file.")
        size = st.st_size
        if size == 0:
            raise PathRuleError("unsupported_file", f"{name}: the file is empty.")
        if size > max_bytes:
            raise PathRuleError(
                "file_too_large",
                f"{name}: {size / 1024 / 1024:.0f} MB is over the {max_bytes // 1024 // 1024} MB limit. "
                "Compress it or trim it to a shorter clip, then upload again.",
            )
        head = os.read(fd, SNIFF_BYTES)
    finally:
        os.close(fd)
    family = sniff_family(head)
    if mtype not in family:
        found = "/".join(sorted(family)) if family else "not a known media format"
        raise PathRuleError(
            "unsupported_file",
            f"{name}: the content does not look like {mtype} ({found}); the extension and the bytes must "
            "agree. Export it again from the app that made it.",
        )
    return Source(kind="file", value=str(resolved), name=resolved.name, media_type=mtype, size=size)


SNIFF_BYTES = 64
_MP4_ATOMS = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


def sniff_family(head: bytes) -> frozenset[str]:
    """The media families (video/image/audio) the first bytes of a file are consistent with."""
    if len(head) >= 8 and head[4:8] in _MP4_ATOMS:  # ISO BMFF / QuickTime: mp4, mov, m4a
        return frozenset({"video", "audio"})
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: mkv, webm
        return frozenset({"video", "audio"})
    if head.startswith(b"RIFF") and len(head) >= 12:
        kind = head[8:12]
        if kind == b"AVI ":
            return frozenset({"video"})
        if kind == b"WEBP":
            return frozenset({"image"})
        if kind == b"WAVE":
            return frozenset({"audio"})
        return frozenset()
    if head.startswith(b"\xff\xd8\xff") or head.startswith(b"\x89PNG\r\n\x1a\n"):
        return frozenset({"image"})
    if head.startswith((b"GIF87a", b"GIF89a")):
        return frozenset({"image"})
    if head.startswith(b"ID3") or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return frozenset({"audio"})  # MP3 (ID3 tag or frame sync), AAC ADTS
    return frozenset()


def check_source(
    raw: str, *, media_dirs: list[Path] | None = None, max_bytes: int = MAX_UPLOAD_BYTES
) -> Source:
    raw = raw.strip()
    if not raw:
        raise PathRuleError(
            "invalid_argument", "an empty source was given; pass a file path or an http(s) URL."
        )
    if has_control_chars(raw):
        raise PathRuleError(
            "invalid_argument",
            f"{raw[:60]!r}: control characters are not allowed in a path or URL. Pass the plain path.",
        )
    if is_url(raw):
        return check_url(raw)
    return check_local_file(raw, media_dirs=media_dirs, max_bytes=max_bytes)


# --- downloads ----------------------------------------------------------------------------------------


def resolve_download_dir(requested: str | None, root: Path) -> Path:
    """Return the folder to write into, confined to `root` (created if missing)."""
    root = root.expanduser()
    root.mkdir(parents=True, exist_ok=True)
    root_resolved = root.resolve()
    if not requested or not requested.strip():
        return root_resolved
    if has_control_chars(requested):
        raise PathRuleError(
            "invalid_argument", "download_dir contains control characters; give a plain sub-folder name."
        )
    req = _expand(Path(requested.strip()))
    target = req if req.is_absolute() else root_resolved / req
    # Resolve without requiring existence, then check containment (catches `..` and symlinks out).
    target_resolved = target.resolve()
    if not _inside(target_resolved, root_resolved):
        raise PathRuleError(
            "path_not_allowed",
            f"download_dir {requested!r} is outside the download folder {root_resolved}. "
            "Give a sub-folder name (or omit download_dir), or change NEMO_DOWNLOAD_DIR.",
        )
    target_resolved.mkdir(parents=True, exist_ok=True)
    # Re-check after creation in case a component was a symlink created meanwhile.
    if not _inside(target_resolved.resolve(), root_resolved):
        raise PathRuleError("path_not_allowed", f"download_dir {requested!r} escapes the download folder.")
    return target_resolved


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(stem: str, ext: str = ".mp4", *, max_len: int = 80) -> str:
    """A file name made of [A-Za-z0-9._-] with the given extension (never hidden, never empty)."""
    norm = unicodedata.normalize("NFKD", stem)
    norm = norm.encode("ascii", "ignore").decode("ascii")
    cleaned = _UNSAFE.sub("_", norm).strip("._-")
    cleaned = re.sub(r"_{2,}", "_", cleaned)
    if cleaned.lower().endswith(ext.lower()):
        cleaned = cleaned[: -len(ext)]
    cleaned = cleaned[:max_len].strip("._-") or "video"
    return cleaned + ext


def unique_path(folder: Path, filename: str, *, overwrite: bool = False) -> Path:
    """`folder/filename`, or `stem_1.ext`, `stem_2.ext`... when it exists and overwriting was not asked."""
    target = folder / filename
    if overwrite or not target.exists():
        return target
    stem, suffix = Path(filename).stem, Path(filename).suffix
    for n in range(1, 10_000):
        candidate = folder / f"{stem}_{n}{suffix}"
        if not candidate.exists():
            return candidate
    raise PathRuleError("path_not_allowed", f"too many files named {filename} in {folder}.")
