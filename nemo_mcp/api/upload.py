"""A constant-memory streamed multipart body for the files :func:`nemo_mcp.api.media.preflight` checked.

The body is an async generator reading 1 MiB chunks; ``Content-Length`` is computed up front (so httpx
sends no chunked transfer), the boundary comes from ``uuid4``. Each file is read through
:func:`~nemo_mcp.api.media.open_checked` (one open per request attempt), never by opening its path again.
"""

from __future__ import annotations

import inspect
import os
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio

from nemo_mcp.api.media import MediaFile, file_changed, open_checked

__all__ = ["MultipartBody", "ProgressFn", "build_multipart"]


def _quote_filename(name: str) -> str:
    # what browsers and httpx do: percent-escape the three characters that would break the header
    return name.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


ProgressFn = Callable[[int, int], Any]


@dataclass
class MultipartBody:
    """A re-creatable streamed body: call :meth:`stream` once per request attempt."""

    boundary: str
    parts: list[tuple[bytes, MediaFile]]
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
            fd = open_checked(item)
            try:
                fh = await anyio.open_file(fd, "rb")  # owns the descriptor from here on
            except BaseException:
                os.close(fd)
                raise
            async with fh:
                while remaining > 0:
                    chunk = await fh.read(min(self.chunk_size, remaining))
                    if not chunk:
                        raise file_changed(item.name, item.path)  # shrank while being read
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
    items: Sequence[MediaFile], *, field: str = "files", chunk_size: int = 1024 * 1024
) -> MultipartBody:
    boundary = uuid.uuid4().hex
    parts: list[tuple[bytes, MediaFile]] = []
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
