"""Who the client is: the client id file, and where anonymous tokens are kept.

- ``<config_dir>/client_id``: the stable client id, a plain file (the one the NemoVideo skills use; holds only
  the id), written atomically (temp file in the same folder + ``os.replace``) with mode 0600 in a 0700 folder.
- Anonymous tokens live in a :class:`TokenStore`: the state store's token part
  (:class:`nemo_mcp.store.base.TokenStore`, shared by every process of the user, so a restart or a second
  server reuses the token instead of hitting the one-token-per-client-per-7-days limit). It is the one
  protocol the client needs of the store: read, save-if-unchanged, forget-only-this-token and a
  cross-process mint lock; ``NemoClient(config, tokens=...)`` takes any implementation. Older versions kept
  tokens in ``token.json``; the store imports that file once (:mod:`nemo_mcp.store.migrate`).

Nothing here logs or formats the token.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from nemo_mcp.store.base import EXPIRY_SKEW, StoredToken, TokenStore

__all__ = ["EXPIRY_SKEW", "IdentityStore", "StoredToken", "TokenStore", "parse_expiry"]

log = logging.getLogger("nemo_mcp.api")

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
    """Reads and writes the client id file under ``config_dir``."""

    def __init__(self, config_dir: Path) -> None:
        self.config_dir = Path(config_dir)

    @property
    def client_id_path(self) -> Path:
        return self.config_dir / "client_id"

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
