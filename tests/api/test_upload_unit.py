"""Upload preflight rules and the streamed multipart body (no network)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from python_multipart.multipart import MultipartParser

from nemo_mcp.api import FileTooLargeError, MediaNotFoundError, UnsupportedFileError
from nemo_mcp.api.upload import build_multipart, preflight, sniff

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


@pytest.mark.parametrize("ext", sorted(MAGIC))
def test_every_accepted_type_passes(tmp_path: Path, ext: str) -> None:
    path = write(tmp_path, f"f.{ext.upper()}", MAGIC[ext] + b"\x00" * 100)
    result = preflight(path)
    assert result.extension == ext
    assert result.size == len(MAGIC[ext]) + 100


def test_real_media_passes(media: dict[str, Path]) -> None:
    for path in media.values():
        assert preflight(path).size > 0


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MediaNotFoundError) as info:
        preflight(tmp_path / "nope.mp4")
    assert "nope.mp4" in str(info.value)
    assert info.value.tag == "file_not_found"


def test_directory_is_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "clip.mp4"
    folder.mkdir()
    with pytest.raises(UnsupportedFileError) as info:
        preflight(folder)
    assert info.value.rule == "regular_file"
    assert "folder" in str(info.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_rejected_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    with pytest.raises(UnsupportedFileError) as info:
        preflight(fifo)
    assert info.value.rule == "regular_file"


def test_device_is_rejected() -> None:
    if not Path("/dev/null").exists():
        pytest.skip("no /dev/null")
    with pytest.raises(UnsupportedFileError) as info:
        preflight("/dev/null")
    assert info.value.rule in ("regular_file", "extension")


def test_bad_extension_lists_accepted_types(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFileError) as info:
        preflight(write(tmp_path, "notes.txt", b"hello"))
    assert info.value.rule == "extension"
    assert "notes.txt" in str(info.value)
    assert "mp4" in str(info.value)
    with pytest.raises(UnsupportedFileError):
        preflight(write(tmp_path, "noext", MAGIC["mp4"]))


def test_content_must_match_the_family(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFileError) as info:
        preflight(write(tmp_path, "fake.mp4", MAGIC["png"] + b"\x00" * 50))
    assert info.value.rule == "content"
    assert "png" in str(info.value)
    with pytest.raises(UnsupportedFileError):
        preflight(write(tmp_path, "text.mp3", b"just some text, not audio"))
    with pytest.raises(UnsupportedFileError):
        preflight(write(tmp_path, "img.wav", MAGIC["jpg"]))


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFileError) as info:
        preflight(write(tmp_path, "empty.mp4", b""))
    assert info.value.rule == "empty"


def test_size_limit(tmp_path: Path) -> None:
    path = write(tmp_path, "big.mp4", MAGIC["mp4"] + b"\x00" * 2000)
    with pytest.raises(FileTooLargeError) as info:
        preflight(path, max_bytes=1000)
    assert info.value.size == path.stat().st_size
    assert "big.mp4" in str(info.value)
    assert "ompress" in str(info.value)
    # the default limit is 500 MB: a sparse 501 MB file is rejected without reading it
    huge = tmp_path / "huge.mp4"
    with huge.open("wb") as fh:
        fh.write(MAGIC["mp4"])
        fh.truncate(501 * 1024 * 1024)
    with pytest.raises(FileTooLargeError):
        preflight(huge)


def test_sniff_unknown() -> None:
    assert sniff(b"") is None
    assert sniff(b"RIFF\x00\x00\x00\x00XXXX") is None


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
