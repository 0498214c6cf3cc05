"""Each user's NemoVideo credentials, encrypted at rest: a linked token, or their own anonymous identity.

- A **linked token** (the user's ``nmv_usr_...`` API token, given once on the link page, never through
  the model) is kept encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) under the
  ring of keys in ``NEMO_SECRET_KEY``: the first key encrypts, every key decrypts
  (:class:`~cryptography.fernet.MultiFernet`). The plaintext names its tenant, and a record read under
  another tenant is refused, so a ciphertext copied between users' keys in the store decrypts to nothing.
  It is decrypted only to build that user's NemoVideo client.
- **Rotation**: put a new key first (``NEW,OLD``) on every worker; each token is re-encrypted under the new
  key the next time its user is served (``MultiFernet.rotate``); once every user has been served (or
  after their tokens' lifetime) drop the old key.
- A user with no linked token gets **their own anonymous identity**: a client id made for them (kept in
  the store, the same on every worker) and the anonymous token minted for it, in their own tenant's token
  entry (the client's usual mint-once logic, :mod:`nemo_mcp.api.client._auth`).

Where: the tenant's token part of the state store, under keys of their own (``nemo-mcp:linked:<API URL>``,
``nemo-mcp:client-id:<API URL>``): it is already per tenant, compare-and-swap and shared across workers
in every store implementation.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from nemo_mcp.store import StoredToken, TokenStore

__all__ = ["Vault", "derived_key"]

log = logging.getLogger(__name__)

LINKED = "nemo-mcp:linked:"
CLIENT_ID = "nemo-mcp:client-id:"


def derived_key(secret: str, purpose: str) -> bytes:
    """32 bytes for ``purpose`` from the first secret key (HKDF-SHA256): one secret to configure, a key of
    its own for each use (the SDK's request-state seal is one)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        secret.encode()
    )


class Vault:
    """Encrypts, stores and reads the NemoVideo credentials of the tenants of one API (``server``)."""

    def __init__(self, keys: list[str], server: str) -> None:
        if not keys:
            raise ValueError("the vault needs at least one key (NEMO_SECRET_KEY)")
        try:
            self._ring = MultiFernet([Fernet(k.encode()) for k in keys])
            self._primary = Fernet(keys[0].encode())
        except ValueError:
            raise ValueError(
                "NEMO_SECRET_KEY must hold Fernet keys (32 url-safe base64 bytes each, comma-separated)"
            ) from None
        self.server = server

    # -- the linked token --------------------------------------------------------------------------------

    def _seal(self, tenant: str, token: str) -> str:
        doc = json.dumps({"tenant": tenant, "token": token})
        return self._primary.encrypt(doc.encode()).decode()

    def _open(self, tenant: str, sealed: str) -> str | None:
        try:
            doc = json.loads(self._ring.decrypt(sealed.encode()))
        except (InvalidToken, ValueError):
            log.warning("a stored NemoVideo token could not be decrypted (wrong NEMO_SECRET_KEY?)")
            return None
        if not isinstance(doc, dict) or doc.get("tenant") != tenant or not isinstance(doc.get("token"), str):
            log.warning("a stored NemoVideo token belongs to another user; ignored")
            return None
        return str(doc["token"])

    async def linked(self, tenant: str, tokens: TokenStore) -> str | None:
        """The tenant's linked NemoVideo token, decrypted (re-encrypted under the newest key if needed)."""
        rec = await tokens.read(LINKED + self.server)
        if rec is None:
            return None
        token = self._open(tenant, rec.token)
        if token is None:
            return None
        try:
            self._primary.decrypt(rec.token.encode())
        except InvalidToken:  # sealed under an older key: rotate it now
            fresh = StoredToken(self._ring.rotate(rec.token.encode()).decode(), user_id=rec.user_id)
            await tokens.save(LINKED + self.server, fresh, replacing=rec.token)
        return token

    async def link(self, tenant: str, tokens: TokenStore, token: str, nemo_user: str | None) -> None:
        """Keep ``token`` for the tenant (replacing any linked before)."""
        record = StoredToken(self._seal(tenant, token), user_id=nemo_user, obtained_at=time.time())
        for _ in range(20):  # compare-and-swap against a concurrent link of the same user
            cur = await tokens.read(LINKED + self.server)
            if await tokens.save(LINKED + self.server, record, replacing=cur.token if cur else None):
                return
        raise RuntimeError("the linked token could not be stored (the store kept changing)")

    async def unlink(self, tokens: TokenStore) -> bool:
        cur = await tokens.read(LINKED + self.server)
        return cur is not None and await tokens.forget(LINKED + self.server, cur.token)

    async def linked_user(self, tokens: TokenStore) -> tuple[bool, str | None]:
        """Whether a token is linked, and the NemoVideo user it was linked as (no decryption)."""
        cur = await tokens.read(LINKED + self.server)
        return (cur is not None, cur.user_id if cur else None)

    # -- the anonymous identity ------------------------------------------------------------------------

    async def client_id(self, tenant: str, tokens: TokenStore) -> str:
        """The tenant's own client id for anonymous tokens, made once (the same on every worker)."""
        cur = await tokens.read(CLIENT_ID + self.server)
        if cur is not None:
            return cur.token
        made = StoredToken(str(uuid.uuid4()))
        if await tokens.save(CLIENT_ID + self.server, made, replacing=None):
            log.info("made a client id for %s", hashlib.sha256(tenant.encode()).hexdigest()[:12])
            return made.token
        again = await tokens.read(CLIENT_ID + self.server)  # another worker made it first: theirs wins
        return again.token if again is not None else made.token
