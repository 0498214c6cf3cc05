"""Saving a downloaded file where it was meant to go, and nowhere else.

- :meth:`SaveFolder.open` opens the folder once: the root by its path (the user's own setting), every
  sub-folder below it relative to its parent's descriptor with ``O_NOFOLLOW | O_DIRECTORY`` (created when
  missing), so a sub-folder that is, or becomes, a symlink is refused instead of followed.
- Every later step is relative to that descriptor: :meth:`SaveFolder.reserve` takes the final name with
  ``O_CREAT | O_EXCL | O_NOFOLLOW`` (an empty placeholder; two downloads of same-titled videos get
  ``take.mp4`` and ``take_1.mp4``), the bytes go to a hidden ``.<name>.<12 hex>.part`` beside it, renamed
  over the placeholder at the end; a failure removes both.
- Leftovers of a killed download (``.part`` files older than :data:`PART_MAX_AGE`, and the empty
  placeholder they were for) are removed when a folder is opened and by :func:`sweep_leftovers`.

Where the OS has no ``dir_fd`` support (Windows), the same steps run on paths.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType

__all__ = ["PART_MAX_AGE", "Reserved", "SaveFolder", "sweep_leftovers", "write_all"]

#: a ``.part`` file older than this was left by a download that was killed
PART_MAX_AGE = 86400.0
_PART_RE = re.compile(r"^\.(?P<final>.+)\.[0-9a-f]{12}\.part$")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | getattr(os, "O_BINARY", 0)
# openat/renameat/unlinkat/fstatat/mkdirat and scandir(fd) (os.replace is renameat, listed as os.rename)
_DIR_FD = {
    os.open,
    os.rename,
    os.unlink,
    os.stat,
    os.mkdir,
} <= os.supports_dir_fd and os.scandir in os.supports_fd
_MAX_NAMES = 10_000


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` (``os.write`` may write less than asked)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class SaveFolder:
    """A folder opened once; files are created, renamed and removed relative to its descriptor."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path = path
        self._fd = fd

    @classmethod
    def open(cls, root: Path, parts: Sequence[str] = (), *, create: bool = True) -> SaveFolder:
        """``root`` (created if missing), then each of ``parts`` below it without following a symlink.
        Raises ``OSError`` (``ELOOP``/``ENOTDIR`` for a symlink or a file in the way)."""
        root = Path(root).expanduser()
        if create:
            root.mkdir(parents=True, exist_ok=True)
        folder = cls(root, os.open(root, _DIR_FLAGS) if _DIR_FD else None)
        try:
            for part in parts:
                child = folder.child(part, create=create)
                folder.close()
                folder = child
        except BaseException:
            folder.close()
            raise
        return folder

    def child(self, name: str, *, create: bool = False) -> SaveFolder:
        """The sub-folder ``name`` (created when missing and ``create``), never through a symlink."""
        if name in ("", ".", "..") or "/" in name or os.sep in name:
            raise OSError(errno.EINVAL, f"not a plain folder name: {name!r}")
        if self._fd is None:
            step = self.path / name
            if step.is_symlink():
                raise OSError(errno.ELOOP, "a symlink in the download folder", str(step))
            if create:
                with contextlib.suppress(FileExistsError):
                    step.mkdir()
            if not step.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(step))
            return SaveFolder(step, None)
        if create:
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, dir_fd=self._fd)
        return SaveFolder(self.path / name, os.open(name, _DIR_FLAGS | _NOFOLLOW, dir_fd=self._fd))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> SaveFolder:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- operations relative to the folder ------

    def _where(self, name: str) -> tuple[str, dict[str, int]]:
        if self._fd is None:
            return str(self.path / name), {}
        return name, {"dir_fd": self._fd}

    def create(self, name: str) -> int:
        """A new file (never an existing one, never through a symlink), opened for writing."""
        target, kw = self._where(name)
        return os.open(target, _NEW_FILE, 0o666, **kw)

    def lstat(self, name: str) -> os.stat_result:
        target, kw = self._where(name)
        return os.stat(target, follow_symlinks=False, **kw)

    def unlink(self, name: str) -> None:
        target, kw = self._where(name)
        os.unlink(target, **kw)

    def rename(self, src: str, dst: str) -> None:
        """``src`` over ``dst`` (a symlink at ``dst`` is replaced itself, never followed)."""
        if self._fd is None:
            os.replace(self.path / src, self.path / dst)
        else:
            os.replace(src, dst, src_dir_fd=self._fd, dst_dir_fd=self._fd)

    def names(self) -> list[str]:
        with os.scandir(self._fd if self._fd is not None else self.path) as entries:
            return [e.name for e in entries]

    def reserve(self, filename: str, *, overwrite: bool = False) -> Reserved:
        """The final name, taken now: ``filename``, else ``stem_1.ext``, ``stem_2.ext``... With
        ``overwrite`` nothing is taken; the finished file replaces whatever has the name."""
        if overwrite:
            return Reserved(self, filename, None)
        stem, suffix = _split(filename)
        for n in range(_MAX_NAMES):
            name = filename if n == 0 else f"{stem}_{n}{suffix}"
            try:
                fd = self.create(name)
            except FileExistsError:
                continue
            try:
                placeholder = os.fstat(fd)
            finally:
                os.close(fd)
            return Reserved(self, name, _identity(placeholder))
        raise FileExistsError(errno.EEXIST, f"too many files named {filename}", str(self.path))

    def sweep(self, max_age: float = PART_MAX_AGE) -> list[str]:
        """Remove ``.part`` files older than ``max_age`` and the empty placeholders they were for."""
        removed: list[str] = []
        now = time.time()
        for name in self.names():
            m = _PART_RE.match(name)
            if m is None:
                continue
            with contextlib.suppress(OSError):
                st = self.lstat(name)
                if not stat.S_ISREG(st.st_mode) or now - st.st_mtime < max_age:
                    continue
                self.unlink(name)
                removed.append(name)
                final = self.lstat(m.group("final"))
                if stat.S_ISREG(final.st_mode) and final.st_size == 0 and now - final.st_mtime >= max_age:
                    self.unlink(m.group("final"))
                    removed.append(m.group("final"))
        return removed


class Reserved:
    """A reserved final name and, once opened, the ``.part`` file its bytes are written to."""

    def __init__(self, folder: SaveFolder, name: str, placeholder: tuple[int, int, int] | None) -> None:
        self.folder = folder
        self.name = name
        self._placeholder = placeholder  # _identity() of the empty file holding the name
        self._part: str | None = None
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        return self.folder.path / self.name

    def open_part(self) -> None:
        """A fresh hidden ``.part`` file beside the final name (any earlier one is removed first)."""
        self.drop_part()
        for _ in range(8):
            part = f".{self.name}.{secrets.token_hex(6)}.part"
            try:
                self._fd = self.folder.create(part)
            except FileExistsError:
                continue
            self._part = part
            return
        raise FileExistsError(errno.EEXIST, "no free temporary name", str(self.folder.path))

    def write(self, data: bytes) -> None:
        assert self._fd is not None, "open_part() first"
        write_all(self._fd, data)

    def commit(self) -> Path:
        """The finished ``.part`` renamed over the reserved name; a placeholder someone replaced meanwhile
        is not overwritten (the file takes the next free name instead)."""
        assert self._fd is not None, "open_part() first"
        assert self._part is not None
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None
        if self._placeholder is not None and not self._still_ours():
            stem, suffix = _split(self.name)
            taken = self.folder.reserve(f"{stem}{suffix}")
            self.name, self._placeholder = taken.name, taken._placeholder
        self.folder.rename(self._part, self.name)
        self._part = None
        self._placeholder = None
        return self.path

    def _still_ours(self) -> bool:
        try:
            st = self.folder.lstat(self.name)
        except OSError:
            return False
        return stat.S_ISREG(st.st_mode) and st.st_size == 0 and _identity(st) == self._placeholder

    def drop_part(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        if self._part is not None:
            with contextlib.suppress(OSError):
                self.folder.unlink(self._part)
            self._part = None

    def discard(self) -> None:
        """Give everything back: the ``.part`` file and the placeholder (only if it is still ours)."""
        self.drop_part()
        if self._placeholder is not None and self._still_ours():
            with contextlib.suppress(OSError):
                self.folder.unlink(self.name)
        self._placeholder = None


def _identity(st: os.stat_result) -> tuple[int, int, int]:
    """Device, inode and change time: a file made after ours was removed may reuse its inode number."""
    return st.st_dev, st.st_ino, st.st_ctime_ns


def _split(filename: str) -> tuple[str, str]:
    p = Path(filename)
    return p.stem, p.suffix


def sweep_leftovers(root: Path, *, max_age: float = PART_MAX_AGE, depth: int = 4) -> list[Path]:
    """Remove killed downloads' leftovers in ``root`` and its sub-folders (``depth`` levels, symlinks not
    followed); a root that does not exist is left alone."""
    removed: list[Path] = []

    def walk(folder: SaveFolder, level: int) -> Iterator[tuple[SaveFolder, int]]:
        yield folder, level
        if level >= depth:
            return
        for name in folder.names():
            if name.startswith("."):
                continue
            try:
                if not stat.S_ISDIR(folder.lstat(name).st_mode):
                    continue
                child = folder.child(name)
            except OSError:
                continue
            with child:
                yield from walk(child, level + 1)

    try:
        top = SaveFolder.open(Path(root), create=False)
    except OSError:
        return removed
    with top, contextlib.suppress(OSError):
        for folder, _level in walk(top, 0):
            with contextlib.suppress(OSError):
                removed += [folder.path / name for name in folder.sweep(max_age)]
    return removed
