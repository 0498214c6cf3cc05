"""The streamed multipart body of an upload (no network); the preflight rules are in test_media.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from python_multipart.multipart import MultipartParser

from nemo_mcp.api import UnsupportedFileError
from nemo_mcp.api.media import preflight
from nemo_mcp.api.upload import build_multipart

pytestmark = pytest.mark.anyio

MAGIC = {
    "mp4": b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00",
    "mov": b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00",
    "m4a": b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00",
    "avi": b"RIFF\x00\x00\x00\x00AVI LIST",
    "wav": b"RIFF\x00\x00\x00\x00WAVEfmt ",
    "webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    "webm": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81",
    "mkv": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81",
    "jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF",
    "jpeg": b"\xff\xd8\xff\xe1\x00\x10Exif",
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "gif": b"GIF89a\x01\x00\x01\x00",
    "mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00",
    "aac": b"\xff\xf1\x50\x80\x02\x1f\xfc",
}


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


async def test_multipart_body_is_exact_and_streams_in_chunks(tmp_path: Path) -> None:
    a = write(tmp_path, 'we"ird name.mp4', MAGIC["mp4"] + os.urandom(300_000))
    b = write(tmp_path, "b.png", MAGIC["png"] + os.urandom(1000))
    items = [preflight(a), preflight(b)]
    body = build_multipart(items, chunk_size=64 * 1024)
    seen: list[tuple[int, int]] = []
    chunks = [c async for c in body.stream(lambda sent, total: seen.append((sent, total)))]
    raw = b"".join(chunks)
    assert len(raw) == body.content_length
    assert max(len(c) for c in chunks) <= 64 * 1024
    assert seen[-1] == (body.total_file_bytes, body.total_file_bytes)
    assert [s for s, _ in seen] == sorted(s for s, _ in seen)

    parts: list[dict[str, object]] = []
    current: dict[str, object] = {}
    header_field = b""

    def on_part_begin() -> None:
        current.clear()
        current["data"] = b""

    def on_header_field(d: bytes, s: int, e: int) -> None:
        nonlocal header_field
        header_field = d[s:e]

    def on_header_value(d: bytes, s: int, e: int) -> None:
        current[header_field.decode().lower()] = d[s:e].decode()

    def on_part_data(d: bytes, s: int, e: int) -> None:
        current["data"] = current["data"] + d[s:e]  # type: ignore[operator]

    def on_part_end() -> None:
        parts.append(dict(current))

    parser = MultipartParser(
        body.boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    parser.write(raw)
    parser.finalize()
    assert [p["data"] for p in parts] == [a.read_bytes(), b.read_bytes()]
    assert 'name="files"' in str(parts[0]["content-disposition"])
    assert "we%22ird name.mp4" in str(parts[0]["content-disposition"])
    assert parts[0]["content-type"] == "video/mp4"
    assert parts[1]["content-type"] == "image/png"
    # a second stream (a retry) produces the same bytes
    again = b"".join([c async for c in body.stream()])
    assert again == raw


async def test_file_shrinking_during_upload_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "c.mp4", MAGIC["mp4"] + b"\x00" * 5000)
    body = build_multipart([preflight(path)])
    path.write_bytes(MAGIC["mp4"])
    with pytest.raises(UnsupportedFileError) as info:
        _ = [c async for c in body.stream()]
    assert info.value.rule == "changed"


async def test_the_body_reads_only_the_file_that_was_checked(tmp_path: Path) -> None:
    path = write(tmp_path, "d.mp4", MAGIC["mp4"] + os.urandom(5000))
    body = build_multipart([preflight(path)])
    assert len(b"".join([c async for c in body.stream()])) == body.content_length
    # replaced between two attempts (same name and size, another file): the next attempt sends nothing of it
    other = write(tmp_path, "other.mp4", MAGIC["mp4"] + os.urandom(5000))
    os.replace(other, path)
    sent: list[bytes] = []

    async def attempt() -> None:
        async for chunk in body.stream():
            sent.append(chunk)

    with pytest.raises(UnsupportedFileError) as info:
        await attempt()
    assert info.value.rule == "changed"
    assert sent == [body.parts[0][0]]  # the part header only, no byte of the other file


async def test_each_attempt_opens_each_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nemo_mcp.api import media, upload

    a = write(tmp_path, "a.mp4", MAGIC["mp4"] + os.urandom(3000))
    b = write(tmp_path, "b.png", MAGIC["png"] + os.urandom(3000))
    body = build_multipart([preflight(a), preflight(b)], chunk_size=1024)
    opened: list[str] = []

    def counting(item: media.MediaFile) -> int:
        opened.append(item.name)
        return media.open_checked(item)

    monkeypatch.setattr(upload, "open_checked", counting)
    for _attempt in range(2):
        _ = [c async for c in body.stream()]
    assert opened == ["a.mp4", "b.png", "a.mp4", "b.png"]
