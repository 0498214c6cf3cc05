"""A constant-memory streamed multipart body for the files :func:`nemo_mcp.api.media.preflight` checked.

The body is an async generator of 1 MiB chunks; ``Content-Length`` is computed up front (so httpx sends no
chunked transfer), the boundary comes from ``uuid4``. Each file is read through
:func:`~nemo_mcp.api.media.open_checked` (one open per request attempt), never by opening its path again.

Reads run in a daemon thread of the file's own, one chunk ahead, handed over through a one-slot stream. A
read that returns nothing for ``stall_timeout`` seconds (a network drive or a device that hangs) ends the
upload with :class:`~nemo_mcp.api.errors.FileStalledError`; a cancelled upload stops waiting at once. A
read stuck in the kernel cannot be interrupted by any thread, so the thread is abandoned: it is a daemon,
never one the event loop or the interpreter waits for at exit, and it ends (closing the file) as soon as
its read returns.
"""

from __future__ import annotations

import inspect
import os
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from anyio.lowlevel import current_token

from nemo_mcp.api.errors import FileStalledError
from nemo_mcp.api.media import MediaFile, file_changed, open_checked, unreadable

__all__ = ["DEFAULT_STALL_TIMEOUT", "MultipartBody", "ProgressFn", "build_multipart", "read_chunk"]

#: seconds a local file may take to give its next chunk before the upload is ended
DEFAULT_STALL_TIMEOUT = 60.0


def read_chunk(fd: int, size: int) -> bytes:
    """One read of a file being uploaded (in its reader thread)."""
    return os.read(fd, size)


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
    stall_timeout: float = DEFAULT_STALL_TIMEOUT

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    async def stream(self, progress: ProgressFn | None = None) -> AsyncIterator[bytes]:
        sent = 0
        for header, item in self.parts:
            yield header
            async for chunk in _file_chunks(item, self.chunk_size, self.stall_timeout):
                sent += len(chunk)
                yield chunk
                if progress is not None:
                    await _call(progress, sent, self.total_file_bytes)
            yield b"\r\n"
        yield self.epilogue


_EOF = b""


async def _file_chunks(item: MediaFile, chunk_size: int, stall_timeout: float) -> AsyncIterator[bytes]:
    """``item``'s bytes (exactly its checked size), read ahead by a daemon thread that owns the descriptor."""
    fd = open_checked(item)
    send, receive = anyio.create_memory_object_stream[bytes | Exception](1)
    token = current_token()
    abandoned = threading.Event()

    def hand_over(value: bytes | Exception) -> bool:
        if abandoned.is_set():
            return False
        try:
            anyio.from_thread.run(send.send, value, token=token)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.RunFinishedError):
            return False
        return True

    def pump() -> None:
        remaining = item.size
        try:
            while remaining > 0:
                try:
                    data = read_chunk(fd, min(chunk_size, remaining))
                except Exception as exc:  # raised again on the event loop's side
                    hand_over(exc)
                    return
                if not hand_over(data) or not data:
                    return
                remaining -= len(data)
        finally:
            os.close(fd)

    try:
        threading.Thread(target=pump, name=f"nemo-upload-read-{item.name[:40]}", daemon=True).start()
    except BaseException:
        os.close(fd)
        raise
    try:
        async with receive:
            remaining = item.size
            while remaining > 0:
                with anyio.move_on_after(stall_timeout) as waited:
                    value = await receive.receive()
                if waited.cancelled_caught:
                    raise FileStalledError(
                        f"{item.name} stopped giving data for {stall_timeout:g} s while it was being "
                        "uploaded (a network drive or a device that does not answer), so the upload was "
                        "stopped. Copy the file to a local folder and upload it again.",
                        path=str(item.path),
                    )
                if isinstance(value, OSError):
                    raise unreadable(item.path, value)
                if isinstance(value, Exception):
                    raise value
                if value == _EOF:
                    raise file_changed(item.name, item.path)  # shrank while being read
                remaining -= len(value)
                yield value
    finally:
        abandoned.set()  # a read still in progress hands nothing over and closes the file when it returns


async def _call(fn: Callable[..., Any], *args: Any) -> None:
    result = fn(*args)
    if inspect.isawaitable(result):
        await result


def build_multipart(
    items: Sequence[MediaFile],
    *,
    field: str = "files",
    chunk_size: int = 1024 * 1024,
    stall_timeout: float = DEFAULT_STALL_TIMEOUT,
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
        stall_timeout=stall_timeout,
    )
