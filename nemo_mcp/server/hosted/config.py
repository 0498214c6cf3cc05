"""Settings of hosted mode ("Run it for a team" in the README): one deployment, several workers, each user's
NemoVideo credentials and projects their own.

Environment (the names are fixed; ``--workers`` is the CLI's):

- ``NEMO_AUTH_ISSUER``: the OAuth 2.1 authorization server that issues the MCP access tokens (JWTs). Set,
  it turns per-user mode on: every HTTP request needs one of its tokens and is served as its subject.
- ``NEMO_AUTH_AUDIENCE``: the ``aud`` a token must carry (default: the resource URL, ``<public URL>/mcp``).
- ``NEMO_AUTH_JWKS_URL``: where the issuer's signing keys are (default ``<issuer>/.well-known/jwks.json``).
- ``NEMO_AUTH_SCOPES``: scopes every token needs (space- or comma-separated; default none).
- ``NEMO_AUTH_ALGORITHMS``: accepted signature algorithms (default ``RS256 ES256 PS256 EdDSA``).
- ``NEMO_PUBLIC_URL``: this server as its users reach it (``https://mcp.example.com``): the resource URL in
  the protected-resource metadata and the base of the account-link page.
- ``NEMO_SECRET_KEY`` / ``NEMO_SECRET_KEY_FILE``: Fernet keys (comma-separated or one per line, newest
  first) that encrypt the users' NemoVideo tokens at rest; the first also derives the key that seals the
  SDK's request state, shared by every worker. Required in per-user mode.
- ``NEMO_STORE_URL``: the shared Valkey/Redis store (``redis://...``); required with more than one worker.
- ``NEMO_WORKER_LEASE_SECONDS``: how soon the other workers know a worker died (default 15).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DEFAULT_ALGORITHMS", "HostedConfig", "HostedConfigError"]

DEFAULT_ALGORITHMS = ("RS256", "ES256", "PS256", "EdDSA")


class HostedConfigError(ValueError):
    """A hosted-mode setting that cannot work (the CLI prints it and exits 2)."""


def _words(text: str | None) -> list[str]:
    return [w for w in re.split(r"[\s,]+", text or "") if w]


def _seconds(text: str | None, default: float) -> float:
    try:
        value = float(text or default)
    except ValueError:
        return default
    return value if 0.2 <= value <= 3600 else default


@dataclass
class HostedConfig:
    issuer: str | None = None
    audience: str | None = None
    jwks_url: str | None = None
    scopes: list[str] = field(default_factory=list)
    algorithms: list[str] = field(default_factory=lambda: list(DEFAULT_ALGORITHMS))
    public_url: str | None = None
    secret_keys: list[str] = field(default_factory=list, repr=False)
    store_url: str | None = field(default=None, repr=False)
    workers: int = 1
    #: seconds a JWT's exp/nbf/iat may be off (clock skew between issuer and workers)
    leeway: float = 30.0
    #: a dead worker's jobs are known as such this long after its last renewal (NEMO_WORKER_LEASE_SECONDS)
    lease_seconds: float = 15.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, workers: int = 1) -> HostedConfig:
        e = os.environ if env is None else env
        keys = _words(e.get("NEMO_SECRET_KEY"))
        key_file = (e.get("NEMO_SECRET_KEY_FILE") or "").strip()
        if key_file:
            try:
                keys += _words(Path(key_file).expanduser().read_text(encoding="utf-8"))
            except OSError as exc:
                raise HostedConfigError(f"NEMO_SECRET_KEY_FILE {key_file} cannot be read: {exc}") from None
        algorithms = _words(e.get("NEMO_AUTH_ALGORITHMS")) or list(DEFAULT_ALGORITHMS)
        return cls(
            issuer=(e.get("NEMO_AUTH_ISSUER") or "").strip().rstrip("/") or None,
            audience=(e.get("NEMO_AUTH_AUDIENCE") or "").strip() or None,
            jwks_url=(e.get("NEMO_AUTH_JWKS_URL") or "").strip() or None,
            scopes=_words(e.get("NEMO_AUTH_SCOPES")),
            algorithms=algorithms,
            public_url=(e.get("NEMO_PUBLIC_URL") or "").strip().rstrip("/") or None,
            secret_keys=keys,
            store_url=(e.get("NEMO_STORE_URL") or "").strip() or None,
            workers=workers,
            lease_seconds=_seconds(e.get("NEMO_WORKER_LEASE_SECONDS"), 15.0),
        )

    # -- what is on -------------------------------------------------------------------------------------

    @property
    def per_user(self) -> bool:
        """OAuth is configured: requests are served as the token's subject."""
        return self.issuer is not None

    @property
    def active(self) -> bool:
        """Anything of hosted mode is asked for (per-user auth, a shared store, several workers)."""
        return self.per_user or self.store_url is not None or self.workers > 1

    @property
    def resource_url(self) -> str:
        assert self.public_url is not None
        return f"{self.public_url}/mcp"

    @property
    def expected_audience(self) -> str:
        return self.audience or self.resource_url

    @property
    def jwks(self) -> str:
        assert self.issuer is not None
        return self.jwks_url or f"{self.issuer}/.well-known/jwks.json"

    def validate(self, *, static_token: bool) -> None:
        if self.workers < 1:
            raise HostedConfigError("--workers must be at least 1")
        if self.workers > 1 and not self.store_url:
            raise HostedConfigError(
                "--workers above 1 needs a store every worker shares: set NEMO_STORE_URL=redis://host:6379/0 "
                "(Valkey or Redis)"
            )
        if not self.per_user:
            return
        if static_token:
            raise HostedConfigError(
                "NEMO_AUTH_ISSUER (per-user OAuth) and NEMO_MCP_AUTH_TOKEN (one shared token) exclude each "
                "other: unset one"
            )
        if not self.public_url or not re.match(r"^https?://[^/\s]+", self.public_url):
            raise HostedConfigError(
                "NEMO_AUTH_ISSUER needs NEMO_PUBLIC_URL, this server's address as users reach it "
                "(e.g. https://mcp.example.com)"
            )
        if not re.match(r"^https?://", self.issuer or ""):
            raise HostedConfigError("NEMO_AUTH_ISSUER must be the issuer's http(s) URL")
        if not self.secret_keys:
            raise HostedConfigError(
                "per-user mode keeps each user's NemoVideo token encrypted: set NEMO_SECRET_KEY (make one "
                "with: "
                "python -c 'from cryptography.fernet import Fernet as F; print(F.generate_key().decode())')"
            )
