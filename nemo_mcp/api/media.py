"""What NemoVideo accepts as an uploaded file, and the check of a local file before any byte is sent.

The one home of these rules (docs/skill.md "Accepted file types", "Max file size is 500MB"; docs/nemo-api.md
§1.8): the accepted extensions, their families and MIME types, content sniffing, the size limit, and the
local-file preflight. Callers that add their own policy (the MCP server's folder allowlist) apply it first,
then call :func:`preflight`; the upload reads each file through :func:`open_checked`, so the bytes sent
come from the very file that was checked.

Every refusal is a typed error (:class:`MediaNotFoundError`, :class:`UnsupportedFileError` with ``rule=``,
:class:`FileTooLargeError`) whose message names the file, the broken rule and what to do next.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from nemo_mcp.api.errors import FileTooLargeError, MediaNotFoundError, UnsupportedFileError

__all__ = [
    "ACCEPTED_EXTENSIONS",
    "EXTENSION_ALIASES",
    "FAMILY",
    "MAX_UPLOAD_BYTES",
    "MIME_TYPES",
    "SUPPORTED_LIST",
    "MediaFamily",
    "MediaFile",
    "family_of",
    "file_changed",
    "open_checked",
    "preflight",
    "sniff",
    "too_large",
    "unreadable",
    "unsupported_type_message",
]

MediaFamily = Literal["video", "image", "audio"]

#: the skill's list, in its order
ACCEPTED_EXTENSIONS: tuple[str, ...] = (
    "mp4",
    "mov",
    "avi",
    "webm",
    "mkv",
    "jpg",
    "png",
    "gif",
    "webp",
    "mp3",
    "wav",
    "m4a",
    "aac",
)
#: other names of the same formats, accepted and uploaded as they are
EXTENSION_ALIASES: Mapping[str, str] = {"jpeg": "jpg"}
#: the supported types as shown in messages
SUPPORTED_LIST = ", ".join(ACCEPTED_EXTENSIONS)
#: the skill's limit ("Max file size is 500MB")
MAX_UPLOAD_BYTES = 500 * 1024 * 1024

_FAMILY: dict[str, MediaFamily] = {
    "mp4": "video",
    "mov": "video",
    "avi": "video",
    "webm": "video",
    "mkv": "video",
    "jpg": "image",
    "png": "image",
    "gif": "image",
    "webp": "image",
    "mp3": "audio",
    "wav": "audio",
    "m4a": "audio",
    "aac": "audio",
}
_MIME: dict[str, str] = {
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "avi": "video/x-msvideo",
    "webm": "video/webm",
    "mkv": "video/x-matroska",
    "jpg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
}
#: family of every extension a file may have (lower case, aliases included)
FAMILY: Mapping[str, MediaFamily] = {
    **_FAMILY,
    **{alias: _FAMILY[ext] for alias, ext in EXTENSION_ALIASES.items()},
}
#: MIME type sent for every extension a file may have (lower case, aliases included)
MIME_TYPES: Mapping[str, str] = {
    **_MIME,
    **{alias: _MIME[ext] for alias, ext in EXTENSION_ALIASES.items()},
}

_SNIFF_BYTES = 64
_AV: frozenset[MediaFamily] = frozenset({"video", "audio"})
_VIDEO: frozenset[MediaFamily] = frozenset({"video"})
_IMAGE: frozenset[MediaFamily] = frozenset({"image"})
_AUDIO: frozenset[MediaFamily] = frozenset({"audio"})
#: top-level boxes a QuickTime file may start with (older files have no ``ftyp``)
_QUICKTIME_BOXES = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")

# Open without following a symlink in the last component and without blocking (a FIFO put in the file's
# place must not hang the caller); flags the OS lacks are 0.
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
#: what ``open`` says when the last component became a symlink (Linux/macOS: ELOOP, FreeBSD: EMLINK)
_SYMLINK_ERRNOS = frozenset({errno.ELOOP, errno.EMLINK})


def _extension(name: str) -> str:
    return Path(name).suffix.lower().lstrip(".")


def family_of(name: str) -> MediaFamily | None:
    """The family (video / image / audio) a file or URL name's extension stands for, or None."""
    return FAMILY.get(_extension(name))


def sniff(head: bytes) -> tuple[str, frozenset[MediaFamily]] | None:
    """(container, families it can hold) from a file's first bytes, or None when unrecognised."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "isobmff", _AV  # mp4, m4a; QuickTime with a brand (mov)
    if len(head) >= 8 and head[4:8] in _QUICKTIME_BOXES:
        return "quicktime", _AV
    if len(head) >= 12 and head[:4] == b"RIFF":
        kind = head[8:12]
        if kind == b"AVI ":
            return "avi", _VIDEO
        if kind == b"WAVE":
            return "wav", _AUDIO
        if kind == b"WEBP":
            return "webp", _IMAGE
        return None
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "ebml", _AV  # mkv, webm
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg", _IMAGE
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png", _IMAGE
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif", _IMAGE
    if head[:3] == b"ID3":
        return "id3", _AUDIO  # mp3 (or aac) behind an ID3 tag
    if head[:4] == b"ADIF":
        return "adif", _AUDIO  # aac, ADIF header
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:
        # an MPEG audio frame sync: layer bits 00 are ADTS (aac), anything else mp3
        return ("adts" if (head[1] & 0x06) == 0 else "mpeg-audio"), _AUDIO
    return None


@dataclass(frozen=True)
class MediaFile:
    """A local file that passed :func:`preflight`; :func:`open_checked` opens it again for the upload."""

    path: Path  # the resolved path that was checked
    name: str
    size: int
    extension: str  # lower case, as the file is named (``jpeg`` stays ``jpeg``)
    family: MediaFamily
    mime: str
    container: str  # what sniff() recognised: isobmff, quicktime, ebml, avi, wav, webp, jpeg, png, ...
    device: int  # st_dev / st_ino of the descriptor that was checked
    inode: int


# -- messages: one per rule, used wherever the rule is broken ------


def _size_text(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.0f} MB"
    return f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} bytes"


def unsupported_type_message(names: str | None = None) -> str:
    """The backend refused the file type (4001 / 415), of ``names`` when known."""
    what = (
        f"NemoVideo did not accept {names}: unsupported file type."
        if names
        else ("NemoVideo does not accept this file type.")
    )
    return f"{what} Supported: {SUPPORTED_LIST}. Convert it to one of these first."


def too_large(name: str, size: int, limit: int, path: Path | str) -> FileTooLargeError:
    """The error for a file over ``limit`` bytes (the same wherever the limit is checked)."""
    return FileTooLargeError(
        f"{name} is {_size_text(size)}; the limit is {_size_text(limit)}. "
        "Compress it or trim it to a shorter clip, then upload again.",
        path=str(path),
        size=size,
        limit=limit,
    )


def _not_found(path: Path) -> MediaNotFoundError:
    return MediaNotFoundError(
        f"{path} does not exist. Check the path (an absolute path is safest) and try again.", path=str(path)
    )


def unreadable(path: Path, exc: OSError) -> MediaNotFoundError:
    """The error for a file that exists but cannot be opened or read."""
    return MediaNotFoundError(
        f"{path} cannot be read ({exc.strerror or 'access error'}). Check the path and its permissions.",
        path=str(path),
    )


def _not_regular(name: str, path: Path, mode: int) -> UnsupportedFileError:
    if stat.S_ISDIR(mode):
        message = f"{name} is a folder. Give the media files inside it ({SUPPORTED_LIST})."
    else:
        message = (
            f"{name} is not a regular file (a pipe, socket or device cannot be uploaded). "
            f"Give a media file ({SUPPORTED_LIST})."
        )
    return UnsupportedFileError(message, path=str(path), rule="regular_file")


def file_changed(name: str, path: Path | str) -> UnsupportedFileError:
    """The error for a file that changed between its check and its upload (rule ``changed``)."""
    return UnsupportedFileError(
        f"{name} changed after it was checked (rewritten, or replaced by another file, a link or a pipe). "
        "Upload it again once it is complete.",
        path=str(path),
        rule="changed",
    )


# -- the checks ------


def _open(path: Path, name: str) -> tuple[int, os.stat_result]:
    """A descriptor of ``path`` (not following a final symlink, never blocking) and its fstat."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise _not_found(path) from None
    except OSError as exc:
        if exc.errno in _SYMLINK_ERRNOS:
            raise file_changed(name, path) from None
        try:
            mode = os.stat(path).st_mode
        except OSError:
            mode = stat.S_IFREG
        if not stat.S_ISREG(mode):  # e.g. a socket (ENXIO), or a folder where folders cannot be opened
            raise _not_regular(name, path, mode) from None
        raise unreadable(path, exc) from None
    try:
        return fd, os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        raise unreadable(path, exc) from None


def _read_head(fd: int) -> bytes:
    head = b""
    while len(head) < _SNIFF_BYTES:
        chunk = os.read(fd, _SNIFF_BYTES - len(head))
        if not chunk:
            break
        head += chunk
    return head


def preflight(path: str | Path, *, max_bytes: int = MAX_UPLOAD_BYTES) -> MediaFile:
    """Check a local file before uploading it; raise a typed error naming the file and the broken rule.

    Rules, in order: the path exists (``~`` expanded, symlinks followed); it is a regular file (not a folder,
    FIFO, socket or device); its extension is accepted; it is not empty; it is at most ``max_bytes``; its
    first bytes are a container of the extension's family. Everything after the extension is read from one
    descriptor, opened without following a final symlink and without blocking; its device and inode are kept
    for :func:`open_checked`.
    """
    given = Path(path)
    with contextlib.suppress(RuntimeError):  # ~unknown-user stays a literal name, reported as missing
        given = given.expanduser()
    try:
        resolved = given.resolve(strict=True)
    except FileNotFoundError:
        raise _not_found(given) from None
    except RuntimeError:  # a symlink loop (an OSError from Python 3.13 on)
        raise unreadable(given, OSError(errno.ELOOP, os.strerror(errno.ELOOP))) from None
    except OSError as exc:
        raise unreadable(given, exc) from None
    name = resolved.name or str(resolved)
    try:
        mode = os.stat(resolved).st_mode
    except FileNotFoundError:
        raise _not_found(given) from None
    except OSError as exc:
        raise unreadable(given, exc) from None
    # decided on the path first, so a folder or a device is never opened
    if not stat.S_ISREG(mode):
        raise _not_regular(name, resolved, mode)
    ext = _extension(name)
    family = FAMILY.get(ext)
    if family is None:
        shown = f".{ext}" if ext else "no extension"
        raise UnsupportedFileError(
            f"{name} has {shown}, which NemoVideo does not accept. Supported: {SUPPORTED_LIST}. "
            "Convert it to one of these first.",
            path=str(resolved),
            rule="extension",
        )
    fd, st = _open(resolved, name)
    try:
        if not stat.S_ISREG(st.st_mode):  # swapped since the stat above
            raise _not_regular(name, resolved, st.st_mode)
        if st.st_size == 0:
            raise UnsupportedFileError(
                f"{name} is empty (0 bytes). Choose the real media file.", path=str(resolved), rule="empty"
            )
        if st.st_size > max_bytes:
            raise too_large(name, st.st_size, max_bytes, resolved)
        try:
            head = _read_head(fd)
        except OSError as exc:
            raise unreadable(resolved, exc) from None
    finally:
        os.close(fd)
    sniffed = sniff(head)
    if sniffed is None or family not in sniffed[1]:
        found = f"looks like {sniffed[0]} data" if sniffed else "is not recognisable media"
        raise UnsupportedFileError(
            f"{name} is named .{ext} ({family}) but its content {found}. Make sure it is a real {family} "
            f"file (export it again from the app that made it); supported: {SUPPORTED_LIST}.",
            path=str(resolved),
            rule="content",
        )
    return MediaFile(
        path=resolved,
        name=name,
        size=st.st_size,
        extension=ext,
        family=family,
        mime=MIME_TYPES[ext],
        container=sniffed[0],
        device=st.st_dev,
        inode=st.st_ino,
    )


def open_checked(item: MediaFile) -> int:
    """A new read-only descriptor of the file :func:`preflight` checked; the caller closes it.

    Opened the same way (no final symlink followed, never blocking); refused with
    ``UnsupportedFileError(rule="changed")`` unless it is still a regular file with the same device, inode
    and size, so a file swapped (for a symlink, a FIFO or another file) or rewritten since is not sent.
    """
    fd, st = _open(item.path, item.name)
    same = stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino, st.st_size) == (
        item.device,
        item.inode,
        item.size,
    )
    if not same:
        os.close(fd)
        raise file_changed(item.name, item.path)
    return fd
