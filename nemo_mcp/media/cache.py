"""A folder of files bounded in total size: the least recently used files go first.

Used for downloaded exports (so frames and previews of the same render read a local file), for preview
MP4s and for frames. Files are written under a temporary name and renamed into place, so a reader never
sees half a file and several server processes can share the folder. Names are plain (`[A-Za-z0-9_.-]`),
never paths.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from pathlib import Path

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,150}$")
_TEMP_PREFIX = ".tmp-"
STALE_TEMP_SECONDS = 3600.0  # a temporary file this old was left by a process that died


class FileCache:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def path(self, name: str) -> Path:
        if not _NAME.match(name) or ".." in name:
            raise ValueError(f"not a cache file name: {name!r}")
        return self.root / name

    def get(self, name: str) -> Path | None:
        """The cached file, marked as just used; None when it is not (or no longer) there."""
        path = self.path(name)
        try:
            os.utime(path)
        except OSError:
            return None
        return path if path.is_file() else None

    def temp(self, name: str) -> Path:
        """A fresh temporary path in the cache folder to write `name` to, then `commit` it."""
        self.path(name)  # validates
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root / f"{_TEMP_PREFIX}{secrets.token_hex(6)}-{name}"

    def commit(self, temp: Path, name: str) -> Path:
        """Move a finished temporary file into place, then trim the folder (the new file stays)."""
        path = self.path(name)
        os.replace(temp, path)
        self.trim(keep={name})
        return path

    def put_bytes(self, name: str, data: bytes) -> Path:
        temp = self.temp(name)
        temp.write_bytes(data)
        return self.commit(temp, name)

    def fits(self, size: int) -> bool:
        """Whether a file of `size` bytes may be cached at all (at most half of the bound)."""
        return size <= self.max_bytes // 2

    def total(self) -> int:
        return sum(size for _, size, _ in self._entries())

    def trim(self, keep: set[str] | None = None) -> None:
        """Delete the least recently used files until the folder is within its bound, and temporary files
        left behind by a process that died."""
        keep = keep or set()
        now = time.time()
        entries = []
        total = 0
        for path, size, mtime in self._entries(include_temp=True):
            if path.name.startswith(_TEMP_PREFIX):
                if now - mtime > STALE_TEMP_SECONDS:
                    with contextlib.suppress(OSError):
                        path.unlink()
                continue
            entries.append((mtime, path, size))
            total += size
        for _, path, size in sorted(entries):
            if total <= self.max_bytes:
                break
            if path.name in keep:
                continue
            with contextlib.suppress(OSError):
                path.unlink()
                total -= size

    def _entries(self, include_temp: bool = False) -> list[tuple[Path, int, float]]:
        out: list[tuple[Path, int, float]] = []
        try:
            items = list(os.scandir(self.root))
        except OSError:
            return out
        for entry in items:
            if entry.name.startswith(_TEMP_PREFIX) and not include_temp:
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if entry.is_file(follow_symlinks=False):
                out.append((Path(entry.path), st.st_size, st.st_mtime))
        return out
