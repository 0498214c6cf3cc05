"""Uploads: multipart `files` parts streamed to disk chunk by chunk (URL imports: `urlfetch.py`); then a
probe.

Nothing is held whole in memory: python-multipart's streaming parser hands us each chunk as it arrives and
we write it straight to the file. The name the user gave a file is kept for display; on disk every file is
`<data_dir>/uploads/<session_id>/<random hex>.<ext>` (names.py states the rule).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from python_multipart.multipart import MultipartParser, parse_options_header

from nemo_mcp.local.envelope import TOO_LARGE, UNSUPPORTED, ApiError, bad_request
from nemo_mcp.local.media import AUDIO_EXTS, IMAGE_EXTS, VIDEO_EXTS, Probe, probe
from nemo_mcp.local.names import create_unique, display_name, disposition_params, extension, part_filename

ALLOWED_EXTS = VIDEO_EXTS | IMAGE_EXTS | AUDIO_EXTS
SUPPORTED = "mp4, mov, avi, webm, mkv, jpg, png, gif, webp, mp3, wav, m4a, aac"


@dataclass
class Written:
    name: str  # the user's name for the file, for display only (names.display_name)
    path: Path
    size: int = 0
    sha: Any = field(default_factory=hashlib.sha256)


class _Sink:
    """Receives python-multipart callbacks and writes `files` parts to disk as they stream in."""

    def __init__(self, folder: Path, cap: int) -> None:
        self.folder, self.cap = folder, cap
        self.files: list[Written] = []
        self.error: ApiError | None = None
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._current: Written | None = None
        self._handle: IO[bytes] | None = None

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda d, s, e: self._add("_header_field", d[s:e]),
            "on_header_value": lambda d, s, e: self._add("_header_value", d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_done,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _add(self, attr: str, chunk: bytes) -> None:
        setattr(self, attr, getattr(self, attr) + chunk)

    def _begin(self) -> None:
        self._headers, self._current = {}, None

    def _header_end(self) -> None:
        self._headers[self._header_field.strip().lower()] = self._header_value.strip()
        self._header_field = self._header_value = b""

    def _headers_done(self) -> None:
        params = disposition_params(self._headers.get(b"content-disposition", b""))
        if params.get("name") != "files" or self.error:
            return  # other fields are ignored
        name = display_name(part_filename(params) or "")
        if extension(name) not in ALLOWED_EXTS:
            self.error = unsupported(name)
            return
        written = Written(name, create_unique(self.folder, extension(name)))
        self.files.append(written)
        self._current = written
        self._handle = written.path.open("wb")

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._current is None or self._handle is None or self.error:
            return
        chunk = data[start:end]
        self._current.size += len(chunk)
        if self._current.size > self.cap:
            self.error = too_large(self._current.name, self.cap)
            self.close()
            return
        self._current.sha.update(chunk)
        self._handle.write(chunk)

    def _end(self) -> None:
        self.close()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
        self._handle, self._current = None, None


def unsupported(name: str) -> ApiError:
    return ApiError(UNSUPPORTED, f"Unsupported file type: {name}. Supported formats: {SUPPORTED}")


def too_large(name: str, cap: int) -> ApiError:
    return ApiError(
        TOO_LARGE,
        f"File too large: {name} exceeds the {_limit(cap)} limit. Compress or trim it first.",
    )


def _limit(cap: int) -> str:
    return f"{cap // (1024 * 1024)} MB" if cap >= 1024 * 1024 else f"{cap} bytes"


def discard(files: list[Written]) -> None:
    for item in files:
        with contextlib.suppress(OSError):
            item.path.unlink()


async def receive_multipart(
    content_type: str, body: AsyncIterator[bytes], folder: Path, cap: int
) -> list[Written]:
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise bad_request("multipart body without a boundary")
    folder.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (one cheap local mkdir)
    sink = _Sink(folder, cap)
    parser = MultipartParser(boundary, sink.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in body:
            if sink.error is None:
                parser.write(chunk)  # callbacks write to disk; nothing accumulates here
            # after an error we keep draining so the client can read our answer
        if sink.error is None:
            parser.finalize()
    except ApiError:
        raise
    except Exception as exc:
        sink.close()
        discard(sink.files)
        raise bad_request(f"malformed multipart body: {exc}") from None
    sink.close()
    if sink.error:
        discard(sink.files)
        raise sink.error
    if not sink.files:
        discard(sink.files)
        raise bad_request("no file in the request: send one or more multipart parts named 'files'")
    return sink.files


async def classify(item: Written) -> tuple[str, Probe]:
    """Probe a received file; the content must match its extension (else 4001)."""
    info = await probe(item.path)
    ext = extension(item.name)
    wanted = "video" if ext in VIDEO_EXTS else "image" if ext in IMAGE_EXTS else "audio"
    if info is not None and wanted == "image" and info.kind == "video" and ext == "gif":
        return "video", info  # animated GIFs play as clips
    if info is None or info.kind != wanted:
        raise ApiError(
            UNSUPPORTED, f"Unsupported or unreadable content in {item.name}: expected a valid {wanted} file"
        )
    return wanted, info
