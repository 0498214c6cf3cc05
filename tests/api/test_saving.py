"""Saving a file where it was meant to go: a folder opened once, names reserved atomically, `.part` files
renamed at the end, killed downloads' leftovers swept. Real files on the test's own folder."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from nemo_mcp.api.saving import PART_MAX_AGE, SaveFolder, sweep_leftovers

DAY_AGO = time.time() - PART_MAX_AGE - 60


def _save(folder: SaveFolder, name: str, data: bytes) -> Path:
    reserved = folder.reserve(name)
    reserved.open_part()
    reserved.write(data)
    return reserved.commit()


def test_a_reserved_name_is_taken_before_a_byte_is_written(tmp_path: Path) -> None:
    with SaveFolder.open(tmp_path) as folder:
        first = folder.reserve("take.mp4")
        second = folder.reserve("take.mp4")  # the first download has not written anything yet
        assert (first.name, second.name) == ("take.mp4", "take_1.mp4")
        for reserved, data in ((second, b"two"), (first, b"one")):
            reserved.open_part()
            reserved.write(data)
            reserved.commit()
    assert (tmp_path / "take.mp4").read_bytes() == b"one"
    assert (tmp_path / "take_1.mp4").read_bytes() == b"two"
    assert not list(tmp_path.glob(".*.part"))


def test_concurrent_savers_of_one_name_never_share_a_file(tmp_path: Path) -> None:
    n = 12
    start = threading.Barrier(n)
    saved: list[Path] = []

    def save(i: int) -> None:
        with SaveFolder.open(tmp_path) as folder:
            start.wait(timeout=10)
            saved.append(_save(folder, "take.mp4", f"video {i}".encode()))

    threads = [threading.Thread(target=save, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert len({p.name for p in saved}) == n
    assert sorted(p.read_bytes() for p in saved) == sorted(f"video {i}".encode() for i in range(n))


def test_a_sub_folder_that_is_a_symlink_is_refused_not_followed(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "sub").symlink_to(outside, target_is_directory=True)
    with pytest.raises(OSError):
        SaveFolder.open(root, ("sub",))
    (root / "file").write_bytes(b"x")
    with pytest.raises(OSError):
        SaveFolder.open(root, ("file",))
    for bad in ("..", ".", "a/b", ""):
        with pytest.raises(OSError):
            SaveFolder.open(root, (bad,))
    assert list(outside.iterdir()) == []


def test_the_open_folder_keeps_its_place_when_the_path_is_swapped(tmp_path: Path) -> None:
    """Once open, files land in the folder that was opened: a symlink put at its path redirects nothing."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    outside.mkdir()
    with SaveFolder.open(root, ("exports",)) as folder:
        (root / "exports").rename(root / "moved")
        (root / "exports").symlink_to(outside, target_is_directory=True)
        saved = _save(folder, "final.mp4", b"mp4")
    assert saved.name == "final.mp4"
    assert (root / "moved" / "final.mp4").read_bytes() == b"mp4"
    assert list(outside.iterdir()) == []


def test_the_final_rename_never_follows_a_symlink_put_in_the_name(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"keep me")
    with SaveFolder.open(tmp_path / "dl") as folder:
        reserved = folder.reserve("take.mp4")
        reserved.open_part()
        reserved.write(b"video")
        os.unlink(tmp_path / "dl" / "take.mp4")  # someone swaps the placeholder for a link
        (tmp_path / "dl" / "take.mp4").symlink_to(secret)
        saved = reserved.commit()
    assert secret.read_bytes() == b"keep me"
    assert saved.read_bytes() == b"video"
    assert not saved.is_symlink()


def test_a_placeholder_replaced_meanwhile_is_not_overwritten(tmp_path: Path) -> None:
    with SaveFolder.open(tmp_path) as folder:
        reserved = folder.reserve("take.mp4")
        reserved.open_part()
        reserved.write(b"ours")
        os.unlink(tmp_path / "take.mp4")
        (tmp_path / "take.mp4").write_bytes(b"theirs")
        saved = reserved.commit()
    assert (tmp_path / "take.mp4").read_bytes() == b"theirs"
    assert saved.name == "take_1.mp4"
    assert saved.read_bytes() == b"ours"


def test_discard_gives_back_the_name_and_the_part(tmp_path: Path) -> None:
    with SaveFolder.open(tmp_path) as folder:
        reserved = folder.reserve("take.mp4")
        reserved.open_part()
        reserved.write(b"half")
        reserved.discard()
        overwriting = folder.reserve("other.mp4", overwrite=True)
        overwriting.open_part()
        overwriting.discard()
    assert list(tmp_path.iterdir()) == []


def test_sweep_removes_stale_leftovers_only(tmp_path: Path) -> None:
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    stale = sub / ".take.mp4.0123456789ab.part"
    stale.write_bytes(b"half of a video")
    placeholder = sub / "take.mp4"
    placeholder.write_bytes(b"")
    fresh = tmp_path / ".live.mp4.ba9876543210.part"  # a download running right now
    fresh.write_bytes(b"x")
    lookalike = tmp_path / ".notes.part"  # not one of ours
    lookalike.write_bytes(b"x")
    kept = tmp_path / "kept.mp4"  # an empty file of the user's, no stale part beside it
    kept.write_bytes(b"")
    for p in (stale, placeholder, lookalike, kept):
        os.utime(p, (DAY_AGO, DAY_AGO))
    removed = sweep_leftovers(tmp_path)
    assert sorted(removed) == sorted([stale, placeholder])
    assert fresh.exists()
    assert lookalike.exists()
    assert kept.exists()
    assert sweep_leftovers(tmp_path / "missing") == []


def test_sweep_does_not_walk_through_symlinks(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    theirs = outside / ".x.mp4.0123456789ab.part"
    theirs.write_bytes(b"x")
    os.utime(theirs, (DAY_AGO, DAY_AGO))
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    assert sweep_leftovers(root) == []
    assert theirs.exists()
