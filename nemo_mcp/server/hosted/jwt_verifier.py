"""The OAuth 2.1 resource server's token check: JWT access tokens signed by the issuer's keys (JWKS).

PyJWT (``pyjwt[crypto]``, already a dependency of the MCP SDK, so nothing new is installed) checks the
signature with the key named by the token's ``kid``, the algorithm against an allow-list (never ``none``,
never a symmetric one with a public key), ``iss``, ``aud``, ``exp`` and ``nbf`` with a small leeway, and
that ``sub`` is there. The key set is fetched with httpx (async, so a slow issuer never blocks the event
loop), kept ``JWKS_TTL`` seconds, and fetched again early when a token names a key not in it (the issuer
rotated its keys), at most once per ``REFETCH_SECONDS``.

The verified subject becomes the tenant of every store record (``user:<sub>``); the token itself is never
sent anywhere, NemoVideo included.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio
import httpx
import jwt
from mcp.server.auth.provider import AccessToken

from nemo_mcp.server.hosted.config import HostedConfig

__all__ = ["JwksVerifier"]

log = logging.getLogger(__name__)

JWKS_TTL = 600.0
REFETCH_SECONDS = 30.0
_MAX_JWKS_BYTES = 256 * 1024


class JwksVerifier:
    """The SDK's ``TokenVerifier`` for JWTs of one issuer."""

    def __init__(self, config: HostedConfig, *, http: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self._http = http
        self._keys: dict[str, Any] = {}  # kid -> PyJWK ("" for a key without kid)
        self._fresh_until = 0.0  # monotonic time the key set is kept until
        self._next_fetch = 0.0  # no fetch before this (a bad kid must not make every call fetch)
        self._lock = anyio.Lock()

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        alg = header.get("alg")
        if alg not in self.config.algorithms:
            return None
        key = await self._key(str(header.get("kid") or ""))
        if key is None:
            return None
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                audience=self.config.expected_audience,
                issuer=self.config.issuer,
                leeway=self.config.leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            log.info("refused an access token: %s", type(exc).__name__)
            return None
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub.strip() or len(sub) > 256:
            return None
        scope = claims.get("scope")
        scopes = (scope.split() if isinstance(scope, str) else []) or [
            s for s in claims.get("scp") or [] if isinstance(s, str)
        ]
        client = claims.get("client_id") or claims.get("azp") or "unknown"
        return AccessToken(
            token=token,
            client_id=str(client),
            scopes=scopes,
            expires_at=int(claims["exp"]),
            # the audience is checked above; naming it lets the SDK compare it with the resource URL too
            resource=self.config.expected_audience,
            subject=sub,
            claims={"iss": claims.get("iss")},
        )

    async def _key(self, kid: str) -> Any:
        if kid in self._keys and time.monotonic() < self._fresh_until:
            return self._keys[kid]
        async with self._lock:  # one fetch at a time; the others then find its keys
            fresh = kid in self._keys and time.monotonic() < self._fresh_until
            if not fresh and time.monotonic() >= self._next_fetch:
                await self._fetch()
            # a key set that could not be refreshed is still used (the issuer being down for a moment
            # must not log everybody out); a kid it does not have is refused
            return self._keys.get(kid)

    async def _fetch(self) -> None:
        url = self.config.jwks
        self._next_fetch = time.monotonic() + REFETCH_SECONDS
        try:
            if self._http is not None:
                response = await self._http.get(url, timeout=10)
            else:
                async with httpx.AsyncClient(follow_redirects=False) as http:
                    response = await http.get(url, timeout=10)
            response.raise_for_status()
            if len(response.content) > _MAX_JWKS_BYTES:
                raise ValueError("the key set is too large")
            keyset = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            log.warning("could not fetch the issuer's keys from %s: %s", url, exc)
            return
        self._keys = {str(k.key_id or ""): k for k in keyset.keys}
        self._fresh_until = time.monotonic() + JWKS_TTL
