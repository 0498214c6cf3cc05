"""Confirmation tokens: the user's yes, carried by a model whose host cannot show a question.

A host without elicitation gets `confirmation_token` instead of a question; the model asks the user and
passes it back as edit_video's `confirmation`. A `confirm: true` the model can set by itself would prove
nothing, so the token is minted by the server and is

- signed: HMAC-SHA256 with a per-install secret (`confirm.key`, mode 0600, in the config folder), so
  it cannot be made or changed outside the server;
- bound to the project, the instruction (a digest of its words) and the quoted amount;
- short-lived (`ttl`, 10 minutes by default);
- single-use: using it leaves a marker file named by its nonce (`confirmations-used/`), created with
  O_EXCL so two servers sharing the config folder cannot both spend it.

A token for an agent's go-ahead is bound to "a plain yes" instead of one instruction's words.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nemo_mcp.server.failures import ToolFailure

PREFIX = "nc1"
KEY_FILE = "confirm.key"
USED_DIR = "confirmations-used"
GO_AHEAD = "\x00go-ahead"  # what a go-ahead token is bound to instead of an instruction
_MAX_SWEEP = 2000  # used markers looked at per cleanup

NEW_QUOTE = (
    "Nothing was sent. Call edit_video again without `confirmation` for a new quote, ask the user, and pass "
    "the new confirmation_token back unchanged with the same instruction."
)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def digest(instruction: str) -> str:
    """What a token remembers of an instruction (its words, whitespace aside)."""
    return hashlib.sha256(" ".join(instruction.split()).encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Claims:
    nonce: str
    project: str
    instruction: str  # digest(...) or GO_AHEAD's digest
    credits: float
    expires: float

    @property
    def go_ahead(self) -> bool:
        return self.instruction == digest(GO_AHEAD)


class ConfirmationTokens:
    def __init__(self, folder: Path, ttl: float, clock: Callable[[], float] = time.time) -> None:
        self.folder = folder
        self.ttl = ttl
        self.clock = clock
        self._key: bytes | None = None

    def _secret(self) -> bytes:
        """The per-install key, made on first use (0600; a key another server just wrote wins)."""
        if self._key is None:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = self.folder / KEY_FILE
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                key = path.read_bytes()
            else:
                key = secrets.token_bytes(32)
                with os.fdopen(fd, "wb") as f:
                    f.write(key)
            if len(key) < 32:
                raise ToolFailure(
                    "internal",
                    f"The confirmation key {path} is damaged; delete it and try again (tokens already "
                    "handed out stop working).",
                )
            self._key = key
        return self._key

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._secret(), body.encode("ascii"), hashlib.sha256).digest()[:20])

    def mint(self, project: str, instruction: str, credits: float, *, go_ahead: bool = False) -> str:
        payload = {
            "n": _b64(secrets.token_bytes(12)),
            "p": project,
            "i": digest(GO_AHEAD if go_ahead else instruction),
            "a": credits,
            "e": round(self.clock() + self.ttl, 3),
        }
        body = _b64(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
        return f"{PREFIX}.{body}.{self._sign(body)}"

    def read(self, token: str) -> Claims:
        """The token's claims when this server signed it unchanged and it has not expired."""
        parts = token.strip().split(".")
        if len(parts) != 3 or parts[0] != PREFIX or not hmac.compare_digest(self._sign(parts[1]), parts[2]):
            raise ToolFailure(
                "confirmation_invalid",
                "The confirmation is not a token this server issued, or it was changed. " + NEW_QUOTE,
            )
        try:
            raw: dict[str, Any] = json.loads(_unb64(parts[1]))
            claims = Claims(
                nonce=str(raw["n"]),
                project=str(raw["p"]),
                instruction=str(raw["i"]),
                credits=float(raw["a"]),
                expires=float(raw["e"]),
            )
        except (ValueError, KeyError, TypeError):
            raise ToolFailure(
                "confirmation_invalid", "The confirmation token cannot be read. " + NEW_QUOTE
            ) from None
        if self.clock() >= claims.expires:
            raise ToolFailure(
                "confirmation_expired",
                f"The confirmation expired (a token lasts {self.ttl / 60:g} minutes). " + NEW_QUOTE,
            )
        return claims

    def used(self, claims: Claims) -> bool:
        return (self.folder / USED_DIR / claims.nonce).exists()

    def spend(self, claims: Claims) -> None:
        """Use the token up (once, across every server sharing the folder); raises if it was used."""
        used = self.folder / USED_DIR
        used.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._sweep(used)
        try:
            os.close(os.open(used / claims.nonce, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            raise ToolFailure(
                "confirmation_used",
                "This confirmation was already used: one confirmation pays for one instruction, once. "
                + NEW_QUOTE,
            ) from None

    def _sweep(self, used: Path) -> None:
        """Forget markers of tokens that expired long ago (they are refused as expired anyway)."""
        cutoff = self.clock() - 2 * self.ttl
        with os.scandir(used) as entries:
            for i, entry in enumerate(entries):
                if i >= _MAX_SWEEP:
                    break
                try:
                    if entry.stat().st_mtime < cutoff:
                        os.unlink(entry.path)
                except OSError:
                    continue
