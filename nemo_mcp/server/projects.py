"""Projects: the current project per server, persisted so a restart resumes it, plus a registry.

Backend A has no project-listing endpoint, so the registry is local: `projects.json` in the config folder
(`$XDG_CONFIG_HOME/nemovideo/` or `~/.config/nemovideo/`, overridable). One file holds every backend's
projects; "current" is kept per server key (the API base URL, or "local" for the embedded backend), so
a cloud project and a local-test project never mix.

Nothing secret is stored here (no token): session ids, task ids, titles, timestamps.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FILE_NAME = "projects.json"
MAX_PROJECTS = 200


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
    """Thread-safe, file-backed registry. Every mutation re-reads the file first (another server process
    may have written it) and writes atomically."""

    def __init__(self, config_dir: Path, server: str) -> None:
        self.config_dir = config_dir
        self.server = server
        self.path = config_dir / FILE_NAME
        self._lock = threading.Lock()

    # -- file I/O -------------------------------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"current": {}, "projects": []}
        except (OSError, ValueError):
            # A corrupt file must not take the server down; start over but keep the broken copy.
            with contextlib.suppress(OSError):
                self.path.replace(self.path.with_suffix(".json.corrupt"))
            return {"current": {}, "projects": []}
        if not isinstance(data, dict):
            return {"current": {}, "projects": []}
        data.setdefault("current", {})
        data.setdefault("projects", [])
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

    def _records(self, data: dict[str, Any]) -> list[ProjectRecord]:
        out = []
        for d in data.get("projects", []):
            if isinstance(d, dict) and d.get("session_id"):
                try:
                    out.append(ProjectRecord.from_dict(d))
                except TypeError:
                    continue
        return out

    # -- API ------------------------------------------------------------------------------------------

    def current(self) -> ProjectRecord | None:
        with self._lock:
            data = self._read()
            sid = data["current"].get(self.server)
            if not sid:
                return None
            for r in self._records(data):
                if r.session_id == sid and r.server == self.server and not r.lost:
                    return r
            return None

    def get(self, session_id: str) -> ProjectRecord | None:
        with self._lock:
            for r in self._records(self._read()):
                if r.session_id == session_id and r.server == self.server:
                    return r
            return None

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
            data = self._read()
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
            data = self._read()
            data["current"][self.server] = session_id
            self._write(data)

    def touch(self, session_id: str, *, summary: str | None = None, user_id: str | None = None) -> None:
        with self._lock:
            data = self._read()
            changed = False
            for d in data["projects"]:
                if (
                    isinstance(d, dict)
                    and d.get("session_id") == session_id
                    and d.get("server") == self.server
                ):
                    d["updated_at"] = time.time()
                    if summary is not None:
                        d["summary"] = summary
                    if user_id:
                        d["user_id"] = user_id
                    changed = True
            if changed:
                self._write(data)

    def mark_lost(self, session_id: str) -> None:
        with self._lock:
            data = self._read()
            for d in data["projects"]:
                if (
                    isinstance(d, dict)
                    and d.get("session_id") == session_id
                    and d.get("server") == self.server
                ):
                    d["lost"] = True
            if data["current"].get(self.server) == session_id:
                data["current"].pop(self.server, None)
            self._write(data)
