"""Identity and authentication: which bearer token is sent, and what happens when it is refused.

- ``NEMO_TOKEN`` wins; else an unexpired anonymous token from the token store (the state store in the
  config folder, shared by every nemo-mcp process of the user); else a new one from
  ``POST /api/auth/anonymous-token`` with ``X-Client-Id``.
- Minting once across processes: the backend issues one anonymous token per client id per 7 days, so a
  process that finds no usable token takes the store's mint lock, reads the store again (another process
  may just have saved one) and only then mints, saving with compare-and-swap.
- A refused anonymous token (never ``NEMO_TOKEN``) is replaced once, however many tasks saw it refused: by
  the token another process saved meanwhile if there is one, else by a new one. Only the token this
  process saw refused is ever deleted from the store.
- Minting: a 400 (client id refused) regenerates the client id and retries once; a 429 watches the store
  for ``rate_limit_retry_delay`` (another process holding a fresh token is the usual cause) and retries
  once, then explains the one-token-per-7-days limit.
- The user id (for the ``?bind=`` registration link) is remembered from tokens, sessions and states.

:class:`Auth` belongs to the :class:`~nemo_mcp.api.client._transport.Transport` that creates it: the
transport asks it for the token of each request, and it sends its own token requests through that
transport (seen here only as a :class:`Channel`, so this module does not import the transport's).
"""

from __future__ import annotations

import logging
import math
import sqlite3
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, Protocol

import anyio
import anyio.to_thread

from nemo_mcp.api import links
from nemo_mcp.api.config import ApiConfig
from nemo_mcp.api.envelope import Endpoint
from nemo_mcp.api.errors import (
    AuthError,
    MalformedResponseError,
    MissingClientIdError,
    NemoError,
    NoCreditsError,
    RateLimitedError,
)
from nemo_mcp.api.identity import IdentityStore, StoredToken, TokenStore, parse_expiry
from nemo_mcp.store import StateStore, open_store
from nemo_mcp.store.memory import MemoryStore

__all__ = ["Auth", "Channel", "TokenSource"]

log = logging.getLogger("nemo_mcp.api")

TokenSource = Literal["env", "stored", "minted", "none"]


class Channel(Protocol):
    """What :class:`Auth` uses of the transport that owns it."""

    @property
    def config(self) -> ApiConfig: ...

    @property
    def sleep(self) -> Callable[[float], Awaitable[None]]: ...

    async def request(
        self,
        method: str,
        path: str,
        *,
        endpoint: Endpoint,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
        idempotent: bool = False,
        retry_rate_limit: bool = True,
    ) -> Any: ...


class Auth:
    """The token and user identity of one client. ``channel`` is the transport that owns this object; its
    ``config`` is read at each use (it may be replaced), except ``token``, ``client_id`` and ``config_dir``,
    which are read once here. ``tokens`` is where anonymous tokens are kept (the server passes its state
    store's); without one, the state store of ``config_dir`` is opened on first need (``persist_token``),
    or the token lasts this process only."""

    def __init__(self, channel: Channel, tokens: TokenStore | None = None) -> None:
        self._channel = channel
        cfg = channel.config
        self._ids = IdentityStore(cfg.config_dir)
        self._tokens = tokens
        self._owned: StateStore | None = None  # a store opened here, closed with this object
        self._token: str | None = cfg.token
        self._token_source: TokenSource = "env" if cfg.token else "none"
        self._expires_at: float | None = None
        self._user_id: str | None = None
        self._client_id: str | None = cfg.client_id
        self._lock = anyio.Lock()

    def __repr__(self) -> str:
        return f"Auth(source={self._token_source!r})"

    async def aclose(self) -> None:
        if self._owned is not None:
            owned, self._owned = self._owned, None
            await owned.aclose()

    @property
    def user_id(self) -> str | None:
        return self._user_id

    @property
    def anonymous(self) -> bool:
        """True when using an anonymous token (minted or stored), or the user id says ``anon_``."""
        if self._token_source in ("minted", "stored"):
            return True
        return bool(self._user_id and self._user_id.startswith("anon"))

    @property
    def token_source(self) -> TokenSource:
        return self._token_source

    @property
    def token(self) -> str | None:
        """The bearer token in use, if any. It only goes into the ``Authorization`` header to ``base_url``."""
        return self._token

    def register_url(self) -> str:
        """``$NEMO_WEB_URL/register?bind=<anonymous user id>`` (without ``bind`` when the id is unknown or the
        token is not anonymous); see :func:`nemo_mcp.api.links.register_url`."""
        return links.register_url(self._channel.config.web_url, self._user_id, anonymous=self.anonymous)

    def note_user(self, user_id: Any) -> None:
        """Remember the user id a token, session or state named (ignored unless a short non-blank string)."""
        if isinstance(user_id, str) and user_id.strip() and len(user_id) <= 200:
            self._user_id = user_id.strip()

    def _usable(self) -> bool:
        if not self._token:
            return False
        if self._token_source == "env" or self._expires_at is None:  # noqa: S105
            return True
        return StoredToken(token=self._token, expires_at=self._expires_at).valid()

    def can_remint(self) -> bool:
        """False for ``NEMO_TOKEN``: only an anonymous token is ever replaced."""
        return self._token_source != "env"  # noqa: S105

    async def ensure_token(self) -> str:
        """The bearer token: ``NEMO_TOKEN``, else a stored unexpired anonymous token, else a new one."""
        if not self._usable():
            async with self._lock:
                if not self._usable():
                    await self._obtain(rejected=None)
        assert self._token is not None
        return self._token

    async def remint(self, rejected: str | None) -> None:
        """Replace the anonymous token ``rejected`` (once, however many tasks saw it refused): by the token
        another process saved meanwhile, else by a new one."""
        async with self._lock:
            if self._token is not None and self._token != rejected and self._usable():
                return  # another task already replaced the rejected token
            log.info("NemoVideo rejected the token; replacing it once")
            self._token = None
            self._expires_at = None
            self._token_source = "none"  # noqa: S105
            await self._obtain(rejected)

    # -- the store ------

    async def _store(self) -> TokenStore:
        if self._tokens is None:
            cfg = self._channel.config
            store: StateStore = MemoryStore()
            if cfg.persist_token:
                try:
                    store = await anyio.to_thread.run_sync(open_store, cfg.config_dir)
                except (OSError, sqlite3.Error) as exc:
                    log.warning(
                        "could not open the NemoVideo state store in %s (%s); the anonymous token will last "
                        "this process only",
                        cfg.config_dir,
                        exc,
                    )
                self._owned = store
            self._tokens = store.tokens
        return self._tokens

    def _adopt(self, stored: StoredToken | None, rejected: str | None) -> bool:
        """Use ``stored`` if it is unexpired and not the token just refused."""
        if stored is None or not stored.valid() or stored.token == rejected:
            return False
        self._set_token(stored.token, "stored", stored.expires_at, stored.user_id)
        return True

    async def _obtain(self, rejected: str | None) -> None:
        """A usable token, ``rejected`` excepted: one in the store, else a new one minted under the store's
        mint lock (the caller holds ``_lock``)."""
        cfg = self._channel.config
        tokens = await self._store()
        if self._adopt(await tokens.read(cfg.base_url), rejected):
            log.debug("using the stored anonymous NemoVideo token")
            return
        async with tokens.mint_lock(cfg.base_url, timeout=cfg.token_lock_timeout) as held:
            if not held:
                log.warning(
                    "another nemo-mcp process has been getting a NemoVideo token for %.0f s; asking too",
                    cfg.token_lock_timeout,
                )
            stored = await tokens.read(cfg.base_url)
            if self._adopt(stored, rejected):
                log.info("using the anonymous NemoVideo token another nemo-mcp process saved")
                return
            replacing = stored.token if stored is not None else None
            if rejected is not None and replacing == rejected:
                await tokens.forget(cfg.base_url, rejected)  # the very token this process saw refused
                replacing = None
            minted = await self._mint(tokens, rejected)
            if minted is not None and not await tokens.save(cfg.base_url, minted, replacing=replacing):
                log.info("another nemo-mcp process saved a NemoVideo token meanwhile; both stay valid")

    async def _stored_while_limited(self, tokens: TokenStore, rejected: str | None, seconds: float) -> bool:
        """Watch the store for ``seconds`` (at least one look) for a token another process saved."""
        base_url = self._channel.config.base_url
        if self._adopt(await tokens.read(base_url), rejected):
            return True
        step = 0.5
        for _ in range(math.ceil(max(0.0, seconds) / step)):
            await self._channel.sleep(step)
            if self._adopt(await tokens.read(base_url), rejected):
                return True
        return False

    def _set_token(
        self, token: str, source: TokenSource, expires_at: float | None, user_id: str | None
    ) -> None:
        self._token = token
        self._token_source = source
        self._expires_at = expires_at
        if user_id:
            self.note_user(user_id)

    def _client_id_value(self) -> str:
        if self._client_id is None:
            self._client_id = self._ids.client_id()
        return self._client_id

    async def _mint(self, tokens: TokenStore, rejected: str | None) -> StoredToken | None:
        """``POST /api/auth/anonymous-token`` with ``X-Client-Id``: the new token (in use from now on), or
        None when a 429 was answered by a token another process saved (also in use)."""
        cfg = self._channel.config
        client_id = self._client_id_value()
        regenerated = False
        waited = False
        while True:
            try:
                data = await self._channel.request(
                    "POST",
                    "/api/auth/anonymous-token",
                    endpoint="token",
                    auth=False,
                    idempotent=True,
                    retry_rate_limit=False,
                    headers={"X-Client-Id": client_id},
                )
                break
            except MissingClientIdError:
                if regenerated:
                    raise
                regenerated = True
                log.info("NemoVideo refused the client id; generating a new one and retrying once")
                client_id = self._ids.new_client_id()
                self._client_id = client_id
            except RateLimitedError as exc:
                # Usually another process holds this client's fresh token: read it rather than fail.
                delay = 0.0 if waited else cfg.rate_limit_retry_delay
                if await self._stored_while_limited(tokens, rejected, delay):
                    log.info("anonymous-token request rate-limited; using the token another process saved")
                    return None
                if waited:
                    raise exc.reworded(
                        "NemoVideo allows one free anonymous token per client every 7 days, and it "
                        "refused a new one. Set NEMO_TOKEN to a token from nemovideo.com (Settings -> "
                        "API Tokens), or wait and try again later."
                    ) from None
                waited = True
                log.info("anonymous-token request rate-limited; retried once after %.1f s", delay)
        if not isinstance(data, Mapping):
            raise MalformedResponseError("NemoVideo did not return a token. Try again, or set NEMO_TOKEN.")
        token = data.get("token") or data.get("access_token")
        if not isinstance(token, str) or not token.strip() or len(token) > 4096:
            raise MalformedResponseError("NemoVideo did not return a token. Try again, or set NEMO_TOKEN.")
        token = token.strip()
        expires_at = parse_expiry(data.get("expires_at", data.get("expiresAt")))
        if expires_at is None:
            ttl = data.get("expires_in")
            if isinstance(ttl, (int, float)) and not isinstance(ttl, bool) and ttl > 0:
                expires_at = time.time() + float(ttl)
        user_id = data.get("user_id") if isinstance(data.get("user_id"), str) else None
        self._set_token(token, "minted", expires_at, user_id)
        log.info("obtained an anonymous NemoVideo token (100 free credits)")
        return StoredToken(token=token, expires_at=expires_at, user_id=user_id, client_id=client_id)

    def final_error(self, exc: AuthError, reauthed: bool) -> AuthError:
        """The auth error to raise once no re-mint is left: reworded for NEMO_TOKEN or a fresh token."""
        if self._token_source == "env":  # noqa: S105
            msg = (
                "NemoVideo rejected NEMO_TOKEN (invalid, expired or revoked). Create a new token at "
                "nemovideo.com (Settings -> API Tokens), or unset NEMO_TOKEN to use a free anonymous token."
            )
        elif reauthed:
            msg = (
                "NemoVideo rejected a freshly issued anonymous token. Try again later, or set NEMO_TOKEN "
                "to a token from nemovideo.com (Settings -> API Tokens)."
            )
        else:
            return exc
        return exc.reworded(msg)

    def enrich(self, err: NemoError) -> NemoError:
        """``err`` with what only the client knows added (the registration link of a 2001)."""
        if isinstance(err, NoCreditsError) and err.register_url is None:
            return err.with_user(self._user_id, self._channel.config.web_url, self.anonymous)
        return err
