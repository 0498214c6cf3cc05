"""Projects: the current project per server, persisted so a restart resumes it, plus a registry.

Backend A has no project-listing endpoint, so the registry is local: `projects.json` in the config folder
(`$XDG_CONFIG_HOME/nemovideo/` or `~/.config/nemovideo/`, overridable). One file holds every backend's
projects; "current" is kept per server key (the API base URL, or "local" for the embedded backend), so
a cloud project and a local-test project never mix.

Nothing secret is stored here (no token): session ids, task ids, titles, timestamps.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

FILE_NAME = "projects.json"
MAX_PROJECTS = 200
# A read (get_timeline) records activity at most this often unless the summary changed.
TOUCH_DEBOUNCE_SECONDS = 60.0


def default_config_dir(env: dict[str, str] | None = None) -> Path:
    e = env if env is not None else os.environ
    override = e.get("NEMO_CONFIG_DIR", "").strip()
    if override:
        return Path(override).expanduser()
    xdg = e.get("XDG_CONFIG_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".config"
    return base / "nemovideo"


@dataclass
class ProjectRecord:
    session_id: str
    task_id: str
    server: str
    title: str = "project"
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    user_id: str | None = None
    summary: str | None = None  # last known timeline summary line
    lost: bool = False  # the backend answered "session not found"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ProjectRecord:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


class ProjectStore:
    """Thread-safe, file-backed registry.

    Reads use a parsed copy of the file cached until the file changes (its inode, mtime or size: another
    server process may have written it), so a read costs one `stat`. Every mutation starts from the
    file's current content and writes atomically (temp file + replace). A read-only look at a project
    (`touch(..., read=True)`, e.g. get_timeline) writes only when something a user sees changed (the
    summary) or the activity time is older than `TOUCH_DEBOUNCE_SECONDS`; async callers use
    `touch_async`, which does the remaining writes in a worker thread, off the event loop."""

    def __init__(self, config_dir: Path, server: str) -> None:
        self.config_dir = config_dir
        self.server = server
        self.path = config_dir / FILE_NAME
        self._lock = threading.Lock()
        self._cache: tuple[tuple[int, ...], dict[str, Any]] | None = None

    # -- file I/O -------------------------------------------------------------------------------------

    @staticmethod
    def _empty() -> dict[str, Any]:
        return {"current": {}, "projects": []}

    def _stat_key(self) -> tuple[int, ...] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)

    def _read(self) -> dict[str, Any]:
        """The registry, parsed. Shared with the cache: callers that change it use `_read_for_update`."""
        key = self._stat_key()
        if key is None:
            self._cache = None
            return self._empty()
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        data = self._parse()
        # Cache only what was read from an unchanged file (a corrupt one was moved aside).
        self._cache = (key, data) if self._stat_key() == key else None
        return data

    def _read_for_update(self) -> dict[str, Any]:
        return copy.deepcopy(self._read())

    def _parse(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return self._empty()
        except (OSError, ValueError):
            # A corrupt file must not take the server down; start over but keep the broken copy.
            with contextlib.suppress(OSError):
                self.path.replace(self.path.with_suffix(".json.corrupt"))
            return self._empty()
        if not isinstance(data, dict):
            return self._empty()
        if not isinstance(data.get("current"), dict):
            data["current"] = {}
        if not isinstance(data.get("projects"), list):
            data["projects"] = []
        return data

    def _write(self, data: dict[str, Any]) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".projects.", suffix=".tmp", dir=self.config_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, ensure_ascii=False, indent=1)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        key = self._stat_key()
        self._cache = (key, data) if key is not None else None

    def _records(self, data: dict[str, Any]) -> list[ProjectRecord]:
        out = []
        for d in data.get("projects", []):
            if isinstance(d, dict) and d.get("session_id"):
                try:
                    out.append(ProjectRecord.from_dict(d))
                except TypeError:
                    continue
        return out

    def _find(self, data: dict[str, Any], session_id: str) -> ProjectRecord | None:
        """This server's record for `session_id` (a fresh object: callers may change it)."""
        for d in data.get("projects", []):
            if isinstance(d, dict) and d.get("session_id") == session_id and d.get("server") == self.server:
                try:
                    return ProjectRecord.from_dict(d)
                except TypeError:
                    continue
        return None

    def _entries(self, data: dict[str, Any], session_id: str) -> list[dict[str, Any]]:
        return [
            d
            for d in data["projects"]
            if isinstance(d, dict) and d.get("session_id") == session_id and d.get("server") == self.server
        ]

    # -- API ------------------------------------------------------------------------------------------

    def current(self) -> ProjectRecord | None:
        with self._lock:
            data = self._read()
            sid = data["current"].get(self.server)
            if not sid:
                return None
            rec = self._find(data, sid)
            return rec if rec is not None and not rec.lost else None

    def get(self, session_id: str) -> ProjectRecord | None:
        with self._lock:
            return self._find(self._read(), session_id)

    def list(self) -> list[ProjectRecord]:
        """This server's projects, newest activity first."""
        with self._lock:
            recs = [r for r in self._records(self._read()) if r.server == self.server]
        return sorted(recs, key=lambda r: r.updated_at, reverse=True)

    def current_id(self) -> str | None:
        with self._lock:
            sid = self._read()["current"].get(self.server)
            return sid if isinstance(sid, str) else None

    def add(self, record: ProjectRecord, *, make_current: bool = True) -> None:
        with self._lock:
            data = self._read_for_update()
            recs = [
                r
                for r in self._records(data)
                if not (r.session_id == record.session_id and r.server == record.server)
            ]
            recs.append(record)
            if len(recs) > MAX_PROJECTS:
                recs = sorted(recs, key=lambda r: r.updated_at)[-MAX_PROJECTS:]
            data["projects"] = [asdict(r) for r in recs]
            if make_current:
                data["current"][self.server] = record.session_id
            self._write(data)

    def set_current(self, session_id: str) -> None:
        with self._lock:
            data = self._read_for_update()
            data["current"][self.server] = session_id
            self._write(data)

    def _touch_needed(
        self, data: dict[str, Any], session_id: str, summary: str | None, user_id: str | None, read: bool
    ) -> bool:
        entries = self._entries(data, session_id)
        if not entries:
            return False
        if not read:
            return True
        now = time.time()
        for d in entries:
            if summary is not None and d.get("summary") != summary:
                return True
            if user_id and d.get("user_id") != user_id:
                return True
            updated = d.get("updated_at")
            if not isinstance(updated, (int, float)) or now - updated >= TOUCH_DEBOUNCE_SECONDS:
                return True
        return False

    def touch(
        self, session_id: str, *, summary: str | None = None, user_id: str | None = None, read: bool = False
    ) -> None:
        """Record activity on a project (and its summary / user id). With `read=True` (the project was only
        looked at), write only when the summary or user id changed or the last write is older than
        `TOUCH_DEBOUNCE_SECONDS`."""
        with self._lock:
            if not self._touch_needed(self._read(), session_id, summary, user_id, read):
                return
            data = self._read_for_update()
            entries = self._entries(data, session_id)
            for d in entries:
                d["updated_at"] = time.time()
                if summary is not None:
                    d["summary"] = summary
                if user_id:
                    d["user_id"] = user_id
            if entries:
                self._write(data)

    async def touch_async(
        self, session_id: str, *, summary: str | None = None, user_id: str | None = None, read: bool = False
    ) -> None:
        """`touch` for the event loop: decides on the cached registry, writes in a worker thread."""
        with self._lock:
            needed = self._touch_needed(self._read(), session_id, summary, user_id, read)
        if needed:
            await anyio.to_thread.run_sync(
                functools.partial(self.touch, session_id, summary=summary, user_id=user_id, read=read)
            )

    def mark_lost(self, session_id: str) -> None:
        with self._lock:
            data = self._read_for_update()
            for d in self._entries(data, session_id):
                d["lost"] = True
            if data["current"].get(self.server) == session_id:
                data["current"].pop(self.server, None)
            self._write(data)
