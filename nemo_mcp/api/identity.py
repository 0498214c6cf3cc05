"""Client id and anonymous-token persistence in the NemoVideo config folder.

- ``<config_dir>/client_id``: the stable client id (the file the NemoVideo skills use; holds only the id).
- ``<config_dir>/token.json``: anonymous tokens keyed by API base URL, with ``expires_at`` and ``user_id``,
  so a restart reuses the token instead of hitting the one-token-per-client-per-7-days limit (429).

Both files are written atomically (temp file in the same folder + ``os.replace``) with mode 0600;
the folder is created 0700. Nothing here logs or formats the token.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["IdentityStore", "StoredToken", "parse_expiry"]

log = logging.getLogger("nemo_mcp.api")

#: treat a token as expired this long before its stated expiry
EXPIRY_SKEW = 120.0
_MAX_FILE = 1024 * 1024


def parse_expiry(value: Any) -> float | None:
    """Epoch seconds from an ISO-8601 string, epoch seconds or epoch milliseconds; None if unusable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        ts = float(value)
        if ts > 1e12:  # milliseconds
            ts /= 1000.0
        return ts if ts > 0 else None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return parse_expiry(float(text))
        except ValueError:
            pass
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
        if dt.tzinfo is None:
            from datetime import UTC

            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()
    return None


@dataclass
class StoredToken:
    token: str = field(repr=False)
    expires_at: float | None = None
    user_id: str | None = None
    client_id: str | None = None
    obtained_at: float = field(default_factory=time.time)

    def valid(self, now: float | None = None) -> bool:
        if not self.token:
            return False
        if self.expires_at is None:
            return True
        now = time.time() if now is None else now
        return now < self.expires_at - EXPIRY_SKEW

    def to_json(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "expires_at": self.expires_at,
            "user_id": self.user_id,
            "client_id": self.client_id,
            "obtained_at": self.obtained_at,
        }


def _restrict(fd: int) -> None:
    """Owner read/write only (mkstemp already creates 0600 files; this also covers odd umasks)."""
    if hasattr(os, "fchmod"):
        os.fchmod(fd, 0o600)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        _restrict(fd)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read_small(path: Path) -> str | None:
    try:
        if path.stat().st_size > _MAX_FILE:
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


class IdentityStore:
    """Reads and writes the client id and stored anonymous tokens under ``config_dir``."""

    def __init__(self, config_dir: Path) -> None:
        self.config_dir = Path(config_dir)

    @property
    def client_id_path(self) -> Path:
        return self.config_dir / "client_id"

    @property
    def token_path(self) -> Path:
        return self.config_dir / "token.json"

    # client id ----------------------------------------------------------------------------------

    def load_client_id(self) -> str | None:
        text = _read_small(self.client_id_path)
        if text is None:
            return None
        cid = text.strip().splitlines()[0].strip() if text.strip() else ""
        if not cid or len(cid) > 64 or not cid.isprintable():
            return None
        return cid

    def new_client_id(self) -> str:
        """Generate a UUID client id and persist it, replacing any previous one (best effort: an unwritable
        folder is only logged)."""
        cid = str(uuid.uuid4())
        try:
            _atomic_write(self.client_id_path, cid + "\n")
        except OSError as exc:
            log.warning("could not save the NemoVideo client id in %s: %s", self.config_dir, exc.strerror)
        return cid

    def client_id(self) -> str:
        """The stored client id, or a new one created exclusively (two processes starting together agree)."""
        existing = self.load_client_id()
        if existing:
            return existing
        cid = str(uuid.uuid4())
        try:
            self.config_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(prefix=".client_id.", suffix=".tmp", dir=self.config_dir)
        except OSError as exc:
            log.warning("could not save the NemoVideo client id in %s: %s", self.config_dir, exc.strerror)
            return cid
        try:
            _restrict(fd)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(cid + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.link(tmp, self.client_id_path)  # fails if another process created it meanwhile
        except FileExistsError:
            return self.load_client_id() or self.new_client_id()
        except OSError:
            return self.new_client_id()  # no hard links here: plain atomic replace
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return cid

    # tokens -------------------------------------------------------------------------------------

    def _load_all(self) -> dict[str, Any]:
        text = _read_small(self.token_path)
        if not text:
            return {}
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            return {}
        if not isinstance(doc, dict):
            return {}
        tokens = doc.get("tokens")
        return tokens if isinstance(tokens, dict) else {}

    def load_token(self, base_url: str) -> StoredToken | None:
        entry = self._load_all().get(base_url)
        if not isinstance(entry, dict):
            return None
        token = entry.get("token")
        if not isinstance(token, str) or not token.strip():
            return None
        user_id = entry.get("user_id")
        client_id = entry.get("client_id")
        obtained = entry.get("obtained_at")
        return StoredToken(
            token=token.strip(),
            expires_at=parse_expiry(entry.get("expires_at")),
            user_id=user_id if isinstance(user_id, str) else None,
            client_id=client_id if isinstance(client_id, str) else None,
            obtained_at=float(obtained) if isinstance(obtained, (int, float)) else time.time(),
        )

    def save_token(self, base_url: str, stored: StoredToken) -> None:
        tokens = self._load_all()
        tokens[base_url] = stored.to_json()
        try:
            _atomic_write(self.token_path, json.dumps({"version": 1, "tokens": tokens}, indent=2))
        except OSError as exc:
            log.warning("could not save the NemoVideo token file in %s: %s", self.config_dir, exc.strerror)

    def forget_token(self, base_url: str) -> None:
        tokens = self._load_all()
        if base_url not in tokens:
            return
        del tokens[base_url]
        try:
            _atomic_write(self.token_path, json.dumps({"version": 1, "tokens": tokens}, indent=2))
        except OSError as exc:
            log.warning("could not update the NemoVideo token file in %s: %s", self.config_dir, exc.strerror)
