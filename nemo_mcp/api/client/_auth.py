"""Identity and authentication: which bearer token is sent, and what happens when it is refused.

- ``NEMO_TOKEN`` wins; else a stored unexpired anonymous token (``<config_dir>/token.json``); else a new
  one from ``POST /api/auth/anonymous-token`` with ``X-Client-Id``.
- Minting: a 400 (client id refused) regenerates the client id and retries once; a 429 waits
  ``rate_limit_retry_delay`` and retries once, then explains the one-token-per-7-days limit.
- A refused anonymous token is re-minted once (never ``NEMO_TOKEN``); concurrent refusals mint once.
- The user id (for the ``?bind=`` registration link) is remembered from tokens, sessions and states.

:class:`Auth` belongs to the :class:`~nemo_mcp.api.client._transport.Transport` that creates it: the
transport asks it for the token of each request, and it sends its own token requests through that
transport (seen here only as a :class:`Channel`, so this module does not import the transport's).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, Protocol

import anyio

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
from nemo_mcp.api.identity import IdentityStore, StoredToken, parse_expiry

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
    which are read once here."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel
        cfg = channel.config
        self._store = IdentityStore(cfg.config_dir)
        self._token: str | None = cfg.token
        self._token_source: TokenSource = "env" if cfg.token else "none"
        self._expires_at: float | None = None
        self._user_id: str | None = None
        self._client_id: str | None = cfg.client_id
        self._lock = anyio.Lock()

    def __repr__(self) -> str:
        return f"Auth(source={self._token_source!r})"

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
        if self._usable():
            assert self._token is not None
            return self._token
        async with self._lock:
            if self._usable():
                assert self._token is not None
                return self._token
            cfg = self._channel.config
            if cfg.persist_token and self._token_source in ("none",):
                stored = self._store.load_token(cfg.base_url)
                if stored is not None and stored.valid():
                    self._set_token(stored.token, "stored", stored.expires_at, stored.user_id)
                    log.debug("using the stored anonymous NemoVideo token")
                    assert self._token is not None
                    return self._token
            await self._mint()
            assert self._token is not None
            return self._token

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
            self._client_id = self._store.client_id()
        return self._client_id

    async def _mint(self) -> None:
        """``POST /api/auth/anonymous-token`` with ``X-Client-Id``. Caller holds ``_lock``."""
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
                client_id = self._store.new_client_id()
                self._client_id = client_id
            except RateLimitedError as exc:
                if waited:
                    raise exc.reworded(
                        "NemoVideo allows one free anonymous token per client every 7 days, and it "
                        "refused a new one. Set NEMO_TOKEN to a token from nemovideo.com (Settings -> "
                        "API Tokens), or wait and try again later."
                    ) from None
                waited = True
                log.info(
                    "anonymous-token request rate-limited; retrying once in %.1f s",
                    cfg.rate_limit_retry_delay,
                )
                await self._channel.sleep(cfg.rate_limit_retry_delay)
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
        if cfg.persist_token:
            self._store.save_token(
                cfg.base_url,
                StoredToken(token=token, expires_at=expires_at, user_id=user_id, client_id=client_id),
            )

    async def remint(self, rejected: str | None) -> None:
        """Replace the anonymous token ``rejected`` by a new one (once, however many tasks saw it refused)."""
        async with self._lock:
            if self._token is not None and self._token != rejected and self._usable():
                return  # another task already replaced the rejected token
            log.info("NemoVideo rejected the token; requesting a new anonymous token once")
            cfg = self._channel.config
            if cfg.persist_token:
                self._store.forget_token(cfg.base_url)
            self._token = None
            self._expires_at = None
            self._token_source = "none"  # noqa: S105
            await self._mint()

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
