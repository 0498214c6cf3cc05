"""What the CLI asks hosted mode: is it on, and with what (kept apart from :mod:`.mode`, which loads the
OAuth, crypto and Redis clients, so a missing ``hosted`` extra is reported as such)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from nemo_mcp.server.hosted.config import HostedConfig, HostedConfigError

if TYPE_CHECKING:
    from nemo_mcp.server.hosted.mode import Hosted

__all__ = ["hosted_from_args"]


def hosted_from_args(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Hosted | None:
    """The hosted mode the CLI and environment ask for, or None (a single-user server). Raises
    :class:`HostedConfigError` for settings that cannot work."""
    e = os.environ if env is None else env
    config = HostedConfig.from_env(e, workers=int(getattr(args, "workers", 1) or 1))
    if not config.active:
        return None
    if args.transport != "http":
        raise HostedConfigError(
            "hosted mode (NEMO_AUTH_ISSUER, NEMO_STORE_URL, --workers) needs --transport http"
        )
    config.validate(static_token=bool((e.get("NEMO_MCP_AUTH_TOKEN") or "").strip()))
    if config.workers > 1 and not config.secret_keys:
        from cryptography.fernet import Fernet

        # the workers of this machine share the request-state key through the fork; several machines must
        # share NEMO_SECRET_KEY themselves
        config.secret_keys = [Fernet.generate_key().decode()]
    try:
        from nemo_mcp.server.hosted.mode import Hosted
    except ImportError as exc:  # the redis client is the hosted extra
        raise HostedConfigError(
            f"hosted mode needs the 'hosted' extra ({exc.name} is missing): pip install 'nemo-mcp[hosted]'"
        ) from None
    return Hosted(config)
