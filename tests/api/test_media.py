"""The media rules on real files: accepted types, content sniffing, limits, and the checked re-open."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
from pathlib import Path

import pytest

from nemo_mcp.api import FileTooLargeError, MediaNotFoundError, UnsupportedFileError
from nemo_mcp.api.media import (
    ACCEPTED_EXTENSIONS,
    FAMILY,
    MAX_UPLOAD_BYTES,
    MIME_TYPES,
    SUPPORTED_LIST,
    MediaFile,
    family_of,
    open_checked,
    preflight,
    sniff,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def read_all(fd: int) -> bytes:
    out = b""
    while chunk := os.read(fd, 1 << 16):
        out += chunk
    return out


@pytest.fixture(scope="module")
def encoded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One small file per accepted name, written by FFmpeg's own muxers (what users upload)."""
    from tests.media import FFMPEG

    folder = tmp_path_factory.mktemp("encoded")
    video = ["-f", "lavfi", "-i", "testsrc=size=64x36:rate=10:duration=0.3"]
    still = [*video, "-frames:v", "1"]
    tone = ["-f", "lavfi", "-i", "sine=duration=0.3"]
    jobs = {
        "clip.mp4": video,
        "clip.mov": video,
        "clip.avi": video,
        "clip.webm": [*video, "-c:v", "libvpx"],
        "clip.mkv": video,
        "still.jpg": still,
        "still.jpeg": still,
        "still.png": still,
        "still.gif": still,
        "still.webp": still,
        "tagged.mp3": tone,  # FFmpeg writes an ID3v2 tag by default
        "bare.mp3": [*tone, "-id3v2_version", "0", "-write_xing", "0"],  # starts with a frame sync
        "tone.wav": tone,
        "tone.m4a": tone,
        "tone.aac": tone,  # ADTS
    }
    out = {}
    for name, args in jobs.items():
        subprocess.run(
            [FFMPEG, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *args, str(folder / name)],
            check=True,
            timeout=60,
        )
        out[name] = folder / name
    return out


# -- the lists --------------------


def test_accepted_types_are_the_skills_list() -> None:
    skill = (DOCS / "skill.md").read_text()
    line = re.search(r"Accepted file types: (.+)\.", skill)
    assert line is not None
    assert tuple(e.strip() for e in line.group(1).split(",")) == ACCEPTED_EXTENSIONS
    assert line.group(1) == SUPPORTED_LIST
    assert "Max file size is 500MB" in skill
    assert MAX_UPLOAD_BYTES == 500 * 1024 * 1024


def test_every_accepted_name_has_a_family_and_a_mime_type() -> None:
    assert set(FAMILY) == set(MIME_TYPES) == {*ACCEPTED_EXTENSIONS, "jpeg"}
    assert FAMILY["jpeg"] == FAMILY["jpg"] == "image"
    assert MIME_TYPES["jpeg"] == MIME_TYPES["jpg"] == "image/jpeg"
    for ext, family in FAMILY.items():
        assert MIME_TYPES[ext].split("/")[0] == family


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("clip.mp4", "video"),
        ("CLIP.MKV", "video"),
        ("photo.JPEG", "image"),
        ("a.b.webp", "image"),
        ("song.m4a", "audio"),
        ("voice.aac", "audio"),
        ("notes.txt", None),
        ("noext", None),
        (".mp4", None),  # a hidden file named ".mp4" has no extension
        ("video.mp4.exe", None),
    ],
)
def test_family_of(name: str, family: str | None) -> None:
    assert family_of(name) == family


# -- accepted files --------------------

CONTAINERS = {
    "clip.mp4": ("isobmff", "video", "video/mp4"),
    "clip.mov": ("isobmff", "video", "video/quicktime"),
    "clip.avi": ("avi", "video", "video/x-msvideo"),
    "clip.webm": ("ebml", "video", "video/webm"),
    "clip.mkv": ("ebml", "video", "video/x-matroska"),
    "still.jpg": ("jpeg", "image", "image/jpeg"),
    "still.jpeg": ("jpeg", "image", "image/jpeg"),
    "still.png": ("png", "image", "image/png"),
    "still.gif": ("gif", "image", "image/gif"),
    "still.webp": ("webp", "image", "image/webp"),
    "tagged.mp3": ("id3", "audio", "audio/mpeg"),
    "bare.mp3": ("mpeg-audio", "audio", "audio/mpeg"),
    "tone.wav": ("wav", "audio", "audio/wav"),
    "tone.m4a": ("isobmff", "audio", "audio/mp4"),
    "tone.aac": ("adts", "audio", "audio/aac"),
}


@pytest.mark.parametrize("name", sorted(CONTAINERS))
def test_each_accepted_container_passes(encoded: dict[str, Path], name: str) -> None:
    path = encoded[name]
    item = preflight(path)
    container, family, mime = CONTAINERS[name]
    assert (item.container, item.family, item.mime) == (container, family, mime)
    assert item.name == name
    assert item.extension == name.rsplit(".", 1)[1]
    assert item.size == path.stat().st_size
    assert item.path == path.resolve()
    assert (item.device, item.inode) == (path.stat().st_dev, path.stat().st_ino)


def test_adif_aac_and_legacy_quicktime_pass(tmp_path: Path) -> None:
    # ADIF: the other AAC header (FFmpeg writes only ADTS); QuickTime files from before the ftyp box
    adif = write(tmp_path, "old.aac", b"ADIF" + b"\x00\x10" * 40)
    assert preflight(adif).container == "adif"
    for box in (b"moov", b"mdat", b"wide", b"free"):
        legacy = write(tmp_path, f"legacy-{box.decode()}.mov", b"\x00\x00\x00\x08" + box + b"\x00" * 64)
        assert preflight(legacy).container == "quicktime"


def test_upper_case_names_and_home_expansion(
    tmp_path: Path, encoded: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    write(tmp_path, "HOLIDAY.MP4", encoded["clip.mp4"].read_bytes())
    item = preflight("~/HOLIDAY.MP4")
    assert item.path == (tmp_path / "HOLIDAY.MP4").resolve()
    assert (item.extension, item.family) == ("mp4", "video")


def test_symlinks_are_followed_to_the_file_they_name(tmp_path: Path, encoded: dict[str, Path]) -> None:
    link = tmp_path / "latest.mp4"
    link.symlink_to(encoded["clip.mp4"])
    item = preflight(link)
    assert item.path == encoded["clip.mp4"].resolve()
    assert item.name == "clip.mp4"


def test_sniff_of_nothing_known() -> None:
    assert sniff(b"") is None
    assert sniff(b"RIFF\x00\x00\x00\x00XXXX") is None
    assert sniff(b"%PDF-1.7") is None


# -- refused files: each message names the file, the rule, what to do --------------------


def test_missing_file_and_dangling_link(tmp_path: Path) -> None:
    with pytest.raises(MediaNotFoundError) as info:
        preflight(tmp_path / "nope.mp4")
    assert info.value.tag == "file_not_found"
    assert "nope.mp4" in str(info.value)
    assert "Check the path" in str(info.value)
    dangling = tmp_path / "gone.mp4"
    dangling.symlink_to(tmp_path / "deleted.mp4")
    with pytest.raises(MediaNotFoundError):
        preflight(dangling)
    with pytest.raises(MediaNotFoundError):  # ~user of no such user: a literal name, not a crash
        preflight("~no-such-user-3141/clip.mp4")
    loop = tmp_path / "loop.mp4"
    loop.symlink_to(loop)
    with pytest.raises(MediaNotFoundError) as looping:
        preflight(loop)
    assert "loop.mp4" in str(looping.value)


def test_folder(tmp_path: Path) -> None:
    folder = tmp_path / "clips.mp4"
    folder.mkdir()
    with pytest.raises(UnsupportedFileError) as info:
        preflight(folder)
    assert info.value.rule == "regular_file"
    assert "clips.mp4 is a folder" in str(info.value)
    assert "media files inside it" in str(info.value)


@needs_fifo
@pytest.mark.timeout(10)
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    with pytest.raises(UnsupportedFileError) as info:
        preflight(fifo)
    assert info.value.rule == "regular_file"
    assert "pipe.mp4" in str(info.value)


def test_device_is_refused() -> None:
    if not Path("/dev/null").exists() or not stat.S_ISCHR(os.stat("/dev/null").st_mode):
        pytest.skip("no /dev/null device")
    with pytest.raises(UnsupportedFileError) as info:
        preflight("/dev/null")
    assert info.value.rule == "regular_file"
    assert "null is not a regular file" in str(info.value)


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="needs unix sockets")
def test_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.mp4"
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.bind(str(path))
        except OSError:
            pytest.skip("cannot bind a unix socket here")
        with pytest.raises(UnsupportedFileError) as info:
            preflight(path)
    assert info.value.rule == "regular_file"


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFileError) as info:
        preflight(write(tmp_path, "empty.mp4", b""))
    assert info.value.rule == "empty"
    assert "empty.mp4 is empty" in str(info.value)


def test_size_limit(tmp_path: Path, encoded: dict[str, Path]) -> None:
    path = encoded["clip.mp4"]
    size = path.stat().st_size
    with pytest.raises(FileTooLargeError) as info:
        preflight(path, max_bytes=size - 1)
    assert (info.value.size, info.value.limit) == (size, size - 1)
    assert info.value.tag == "file_too_large"
    assert "clip.mp4" in str(info.value)
    assert "ompress it or trim it" in str(info.value)
    assert preflight(path, max_bytes=size).size == size
    # the default limit: a sparse 501 MB file is refused without reading it
    huge = tmp_path / "huge.mp4"
    with huge.open("wb") as fh:
        fh.write(path.read_bytes()[:64])
        fh.truncate(501 * 1024 * 1024)
    with pytest.raises(FileTooLargeError) as big:
        preflight(huge)
    assert "501 MB; the limit is 500 MB" in str(big.value)


def test_extension_not_accepted(tmp_path: Path, encoded: dict[str, Path]) -> None:
    with pytest.raises(UnsupportedFileError) as info:
        preflight(write(tmp_path, "notes.txt", b"hello"))
    assert info.value.rule == "extension"
    assert "notes.txt has .txt" in str(info.value)
    assert SUPPORTED_LIST in str(info.value)
    with pytest.raises(UnsupportedFileError) as noext:
        preflight(write(tmp_path, "clip", encoded["clip.mp4"].read_bytes()))
    assert "no extension" in str(noext.value)


@pytest.mark.parametrize(
    ("name", "source", "found"),
    [
        ("fake.mp4", "still.png", "looks like png data"),
        ("photo.jpg", "clip.mp4", "looks like isobmff data"),
        ("song.mp3", "clip.avi", "looks like avi data"),
        ("img.wav", "still.jpg", "looks like jpeg data"),
        ("movie.avi", "still.webp", "looks like webp data"),
        ("clip.webm", "tone.aac", "looks like adts data"),
    ],
)
def test_content_must_be_of_the_extensions_family(
    tmp_path: Path, encoded: dict[str, Path], name: str, source: str, found: str
) -> None:
    with pytest.raises(UnsupportedFileError) as info:
        preflight(write(tmp_path, name, encoded[source].read_bytes()))
    assert info.value.rule == "content"
    assert name in str(info.value)
    assert found in str(info.value)


def test_text_is_not_media(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFileError) as info:
        preflight(write(tmp_path, "lyrics.mp3", b"just some text, not audio"))
    assert info.value.rule == "content"
    assert "is not recognisable media" in str(info.value)


# -- open_checked: the upload reads the file that was checked, or nothing --------------------


def test_open_checked_reads_the_checked_file(tmp_path: Path, encoded: dict[str, Path]) -> None:
    item = preflight(encoded["tone.wav"])
    fd = open_checked(item)
    try:
        assert read_all(fd) == encoded["tone.wav"].read_bytes()
    finally:
        os.close(fd)
    # every call is a new descriptor (one per request attempt)
    first, second = open_checked(item), open_checked(item)
    assert first != second
    os.close(first)
    os.close(second)


def _checked_copy(tmp_path: Path, encoded: dict[str, Path]) -> tuple[Path, MediaFile]:
    path = write(tmp_path, "clip.mp4", encoded["clip.mp4"].read_bytes())
    return path, preflight(path)


def _assert_changed(item: MediaFile) -> None:
    with pytest.raises(UnsupportedFileError) as info:
        os.close(open_checked(item))
    assert info.value.rule == "changed"
    assert "clip.mp4 changed after it was checked" in str(info.value)
    assert info.value.tag == "unsupported_file"


def test_a_symlink_swapped_in_after_the_check_is_refused(tmp_path: Path, encoded: dict[str, Path]) -> None:
    path, item = _checked_copy(tmp_path, encoded)
    secret = write(tmp_path, "secret.mp4", encoded["clip.mp4"].read_bytes())
    path.unlink()
    path.symlink_to(secret)
    _assert_changed(item)


@needs_fifo
@pytest.mark.timeout(10)
def test_a_fifo_swapped_in_after_the_check_is_refused_without_blocking(
    tmp_path: Path, encoded: dict[str, Path]
) -> None:
    path, item = _checked_copy(tmp_path, encoded)
    path.unlink()
    os.mkfifo(path)
    _assert_changed(item)


def test_another_file_swapped_in_after_the_check_is_refused(tmp_path: Path, encoded: dict[str, Path]) -> None:
    path, item = _checked_copy(tmp_path, encoded)
    replacement = write(tmp_path, "other.mp4", encoded["clip.mp4"].read_bytes())
    os.replace(replacement, path)  # same name, same size, another inode
    _assert_changed(item)


def test_a_file_rewritten_after_the_check_is_refused(tmp_path: Path, encoded: dict[str, Path]) -> None:
    path, item = _checked_copy(tmp_path, encoded)
    with path.open("ab") as fh:  # same inode, still being written
        fh.write(b"\x00" * 100)
    _assert_changed(item)


def test_a_file_deleted_after_the_check_is_not_found(tmp_path: Path, encoded: dict[str, Path]) -> None:
    path, item = _checked_copy(tmp_path, encoded)
    path.unlink()
    with pytest.raises(MediaNotFoundError) as info:
        open_checked(item)
    assert "clip.mp4" in str(info.value)
