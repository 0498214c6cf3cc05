"""The config folder's file rules: the folder is 0700 and the files 0600 (they hold a bearer token), and a
file that cannot be read is moved aside, never deleted, under a name the log gives."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

__all__ = ["create_private_file", "move_aside", "private_dir"]

log = logging.getLogger("nemo_mcp.store")


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) if needed; the folder itself is made owner-only (0700) whichever
    file is written first, and an existing folder of ours left wider by an older version is narrowed."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):
        st = path.stat()
        if hasattr(os, "getuid") and st.st_uid == os.getuid() and st.st_mode & 0o077:
            path.chmod(0o700)
    return path


def create_private_file(path: Path) -> None:
    """Make sure ``path`` exists with mode 0600 (SQLite gives its -wal and -shm files the same mode)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def move_aside(path: Path, why: str) -> Path | None:
    """Rename ``path`` to ``<name>.<why>-<UTC time>`` (a number added if taken); the new path, or None if
    there was nothing to move."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for n in range(100):
        target = path.with_name(f"{path.name}.{why}-{stamp}" + (f".{n}" if n else ""))
        if target.exists():
            continue
        try:
            path.rename(target)
        except FileNotFoundError:
            return None
        return target
    raise OSError(f"no free name to move {path.name} aside")
