"""Upload preflight (before any byte leaves the machine) and a constant-memory streamed multipart body.

The body is an async generator reading 1 MiB chunks with ``anyio.open_file``; ``Content-Length`` is
computed up front (so httpx sends no chunked transfer), the boundary comes from ``uuid4``.
"""

from __future__ import annotations

import inspect
import os
import stat
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import anyio

from nemo_mcp.api.errors import (
    ACCEPTED_EXTENSIONS,
    FileTooLargeError,
    MediaNotFoundError,
    UnsupportedFileError,
)

__all__ = [
    "ACCEPTED_EXTENSIONS",
    "MIME_TYPES",
    "MediaFamily",
    "MultipartBody",
    "PreflightResult",
    "build_multipart",
    "preflight",
    "sniff",
]

MediaFamily = Literal["video", "image", "audio"]

FAMILY: dict[str, MediaFamily] = {
    "mp4": "video",
    "mov": "video",
    "avi": "video",
    "webm": "video",
    "mkv": "video",
    "jpg": "image",
    "jpeg": "image",
    "png": "image",
    "gif": "image",
    "webp": "image",
    "mp3": "audio",
    "wav": "audio",
    "m4a": "audio",
    "aac": "audio",
}
MIME_TYPES: dict[str, str] = {
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "avi": "video/x-msvideo",
    "webm": "video/webm",
    "mkv": "video/x-matroska",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
}
_SNIFF_BYTES = 64


def sniff(head: bytes) -> tuple[str, frozenset[MediaFamily]] | None:
    """(container, families it can hold) from the first bytes, or None when unrecognised."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B ", b"M4P "):
            return "isobmff", frozenset({"audio", "video"})
        return "isobmff", frozenset({"video", "audio"})
    if len(head) >= 8 and head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return "quicktime", frozenset({"video", "audio"})
    if len(head) >= 12 and head[:4] == b"RIFF":
        kind = head[8:12]
        if kind == b"AVI ":
            return "avi", frozenset({"video"})
        if kind == b"WAVE":
            return "wav", frozenset({"audio"})
        if kind == b"WEBP":
            return "webp", frozenset({"image"})
        return None
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "ebml", frozenset({"video", "audio"})
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg", frozenset({"image"})
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png", frozenset({"image"})
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif", frozenset({"image"})
    if head[:3] == b"ID3":
        return "id3", frozenset({"audio"})
    if head[:4] == b"ADIF":
        return "adif", frozenset({"audio"})
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:
        # MPEG audio frame sync (mp3) or ADTS (aac: layer bits 00)
        return ("adts" if (head[1] & 0x06) == 0 else "mpeg-audio"), frozenset({"audio"})
    return None


@dataclass(frozen=True)
class PreflightResult:
    path: Path
    name: str
    size: int
    extension: str
    family: MediaFamily
    mime: str
    container: str


def _accepted_list() -> str:
    return ", ".join(ACCEPTED_EXTENSIONS)


def preflight(path: str | Path, *, max_bytes: int = 500 * 1024 * 1024) -> PreflightResult:
    """Check a local file before uploading it. Raises a typed error naming the file and the broken rule.

    Rules: exists; regular file (not a folder, FIFO, socket or device); extension in the accepted
    list; content sniffed (magic bytes) as that media family; not empty; at most ``max_bytes``.
    """
    p = Path(path).expanduser()
    name = p.name or str(p)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise MediaNotFoundError(f"{p} does not exist. Check the path and try again.", path=str(p)) from None
    except OSError as exc:
        raise MediaNotFoundError(
            f"{p} cannot be read ({exc.strerror or 'access error'}). Check the path and its permissions.",
            path=str(p),
        ) from None
    if not stat.S_ISREG(st.st_mode):
        what = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file (a pipe, socket or device)"
        raise UnsupportedFileError(
            f"{name} is {what}. Upload a media file ({_accepted_list()}).", path=str(p), rule="regular_file"
        )
    ext = p.suffix.lower().lstrip(".")
    family = FAMILY.get(ext)
    if family is None:
        shown = f".{ext}" if ext else "no extension"
        raise UnsupportedFileError(
            f"{name} has {shown}, which NemoVideo does not accept. Supported: {_accepted_list()}. "
            "Convert it to one of these first.",
            path=str(p),
            rule="extension",
        )
    if st.st_size == 0:
        raise UnsupportedFileError(
            f"{name} is empty (0 bytes). Choose the real media file.", path=str(p), rule="empty"
        )
    if st.st_size > max_bytes:
        raise FileTooLargeError(
            f"{name} is {st.st_size / 1048576:.0f} MB; the limit is {max_bytes / 1048576:.0f} MB. "
            "Compress it or trim it to a shorter clip, then upload again.",
            path=str(p),
            size=st.st_size,
            limit=max_bytes,
        )
    try:
        with p.open("rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError as exc:
        raise MediaNotFoundError(
            f"{p} cannot be read ({exc.strerror or 'access error'}). Check its permissions.", path=str(p)
        ) from None
    sniffed = sniff(head)
    if sniffed is None or family not in sniffed[1]:
        found = f"looks like {sniffed[0]} data" if sniffed else "is not recognisable media"
        raise UnsupportedFileError(
            f"{name} is named .{ext} ({family}) but its content {found}. "
            f"Make sure it is a real {family} file in one of: {_accepted_list()}.",
            path=str(p),
            rule="content",
        )
    return PreflightResult(
        path=p,
        name=name,
        size=st.st_size,
        extension=ext,
        family=family,
        mime=MIME_TYPES[ext],
        container=sniffed[0],
    )


def _quote_filename(name: str) -> str:
    # what browsers and httpx do: percent-escape the three characters that would break the header
    return name.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


ProgressFn = Callable[[int, int], Any]


@dataclass
class MultipartBody:
    """A re-creatable streamed body: call :meth:`stream` once per request attempt."""

    boundary: str
    parts: list[tuple[bytes, PreflightResult]]
    epilogue: bytes
    content_length: int
    total_file_bytes: int
    chunk_size: int = 1024 * 1024

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    async def stream(self, progress: ProgressFn | None = None) -> AsyncIterator[bytes]:
        sent = 0
        for header, item in self.parts:
            yield header
            remaining = item.size
            async with await anyio.open_file(item.path, "rb") as fh:
                while remaining > 0:
                    chunk = await fh.read(min(self.chunk_size, remaining))
                    if not chunk:
                        raise UnsupportedFileError(
                            f"{item.name} shrank while it was being uploaded. "
                            "Upload it again once it is complete.",
                            path=str(item.path),
                            rule="changed",
                        )
                    remaining -= len(chunk)
                    sent += len(chunk)
                    yield chunk
                    if progress is not None:
                        await _call(progress, sent, self.total_file_bytes)
            yield b"\r\n"
        yield self.epilogue


async def _call(fn: Callable[..., Any], *args: Any) -> None:
    result = fn(*args)
    if inspect.isawaitable(result):
        await result


def build_multipart(
    items: Sequence[PreflightResult], *, field: str = "files", chunk_size: int = 1024 * 1024
) -> MultipartBody:
    boundary = uuid.uuid4().hex
    parts: list[tuple[bytes, PreflightResult]] = []
    length = 0
    for item in items:
        header = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{_quote_filename(item.name)}"\r\n'
            f"Content-Type: {item.mime}\r\n\r\n"
        ).encode()
        parts.append((header, item))
        length += len(header) + item.size + 2
    epilogue = f"--{boundary}--\r\n".encode()
    length += len(epilogue)
    return MultipartBody(
        boundary=boundary,
        parts=parts,
        epilogue=epilogue,
        content_length=length,
        total_file_bytes=sum(i.size for i in items),
        chunk_size=chunk_size,
    )


def file_size_now(path: Path) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None
