"""The server's policy for local files, URLs and downloads (media_policy.py), on its own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nemo_mcp.server.failures import ToolFailure
from nemo_mcp.server.media_policy import (
    check_source,
    open_download_folder,
    resolve_download_dir,
    safe_filename,
)

MP4_HEAD = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"


# --- uploads --------------------------------------------------------------------------------------------


def test_local_file_rules(tmp_path: Path) -> None:
    good = tmp_path / "clip.mp4"
    good.write_bytes(MP4_HEAD)
    src = check_source(str(good))
    assert src.kind == "file"
    assert src.media_type == "video"
    assert src.name == "clip.mp4"

    bad = tmp_path / "notes.txt"
    bad.write_text("hi")
    with pytest.raises(ToolFailure) as e:
        check_source(str(bad))
    assert e.value.tag == "unsupported_file"
    assert "notes.txt" in e.value.message
    assert "mp4, mov" in e.value.message

    with pytest.raises(ToolFailure) as e:
        check_source(str(tmp_path / "missing.mp4"))
    assert e.value.tag == "file_not_found"
    assert "missing.mp4" in e.value.message

    big = tmp_path / "big.mov"
    big.write_bytes(b"x" * 2048)
    with pytest.raises(ToolFailure) as e:
        check_source(str(big), max_bytes=1024)
    assert e.value.tag == "file_too_large"
    assert "big.mov" in e.value.message


def test_media_dirs_allowlist(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed_media"
    allowed.mkdir()
    outside = tmp_path / "other"
    outside.mkdir()
    (allowed / "a.mp4").write_bytes(MP4_HEAD)
    (outside / "b.mp4").write_bytes(MP4_HEAD)
    os.symlink(outside / "b.mp4", allowed / "link.mp4")
    assert check_source(str(allowed / "a.mp4"), media_dirs=[allowed.resolve()]).kind == "file"
    for p in (outside / "b.mp4", allowed / "link.mp4", allowed / ".." / "other" / "b.mp4"):
        with pytest.raises(ToolFailure) as e:
            check_source(str(p), media_dirs=[allowed.resolve()])
        assert e.value.tag == "path_not_allowed"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "data:video/mp4;base64,AAAA",
        "ftp://x.test/a.mp4",
        "https://user:pw@x.test/a.mp4",
    ],
)
def test_refused_urls(url: str) -> None:
    with pytest.raises(ToolFailure) as e:
        check_source(url)
    assert e.value.tag == "bad_url"
    assert "pw" not in e.value.message


def test_https_url_ok() -> None:
    src = check_source("https://cdn.test/v/clip.mov?x=1")
    assert src.kind == "url"
    assert src.name == "clip.mov"
    assert src.media_type == "video"


def test_download_confinement(tmp_path: Path) -> None:
    root = tmp_path / "dl"
    assert resolve_download_dir(None, root) == root.resolve()
    assert resolve_download_dir("sub/dir", root) == (root / "sub" / "dir").resolve()
    for bad in ("../escape", str(tmp_path / "elsewhere"), "/etc"):
        with pytest.raises(ToolFailure) as e:
            resolve_download_dir(bad, root)
        assert e.value.tag == "path_not_allowed"


def test_safe_names_and_no_overwrite(tmp_path: Path) -> None:
    assert safe_filename("../../etc/passwd") == "etc_passwd.mp4"
    assert safe_filename("城市 timelapse!.mp4") == "城市_timelapse.mp4"  # readable in any script
    assert safe_filename("a/b\\c:d*e") == "a_b_c_d_e.mp4"
    assert safe_filename("...") == "video.mp4"
    assert safe_filename(".hidden") == "hidden.mp4"
    (tmp_path / "a.mp4").write_bytes(b"1")
    with open_download_folder(tmp_path, tmp_path) as folder:
        taken = folder.reserve("a.mp4")
        assert taken.name == "a_1.mp4"  # reserved at once: an empty placeholder holds the name
        assert folder.reserve("a.mp4").name == "a_2.mp4"
        assert folder.reserve("a.mp4", overwrite=True).name == "a.mp4"
        taken.discard()
    assert sorted(p.name for p in tmp_path.glob("a*")) == ["a.mp4", "a_2.mp4"]
    assert (tmp_path / "a.mp4").read_bytes() == b"1"
