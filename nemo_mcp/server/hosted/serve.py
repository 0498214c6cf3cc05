"""``nemo-mcp --transport http`` in hosted mode: what the CLI calls when OAuth, a shared store or
``--workers`` is asked for.

The HTTP app is the SDK's Streamable HTTP app with the usual hardening (DNS-rebinding protection, body and
JSON-depth limits; the single static bearer token is refused next to OAuth), plus the rate limit every
worker shares (:mod:`.rate_limit`). Sessions: requests of the 2026-07-28 protocol carry no session and any
worker answers them; 2025-era clients are served **without server-side sessions** as soon as a shared
store is configured (the SDK's ``stateless_http``), so any worker (any machine behind a load balancer)
answers each of their requests too, with no sticky routing. What they lose is the server-to-client
back-channel between requests: the spending question then comes as a ``confirmation_token`` result
and the link page as a link in the result, as for hosts without elicitation; progress notifications
still arrive on the response of the call they belong to.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from typing import Any

from mcp.server import MCPServer

from nemo_mcp import __version__
from nemo_mcp.server.hosted.mode import Hosted
from nemo_mcp.server.hosted.rate_limit import SharedRateLimit
from nemo_mcp.server.http_security import HttpOptions, harden, transport_security, uvicorn_options
from nemo_mcp.store.redis import RedisStore

__all__ = ["hosted_http_app", "serve_hosted"]

log = logging.getLogger("nemo_mcp")


def hosted_http_app(server: MCPServer[Any], opts: HttpOptions, hosted: Hosted) -> Any:
    app = server.streamable_http_app(
        streamable_http_path="/mcp",
        transport_security=transport_security(opts),
        host=opts.host,
        max_request_body_size=opts.max_body,
        stateless_http=hosted.config.store_url is not None,
    )
    wrapped = harden(app, dataclasses.replace(opts, rate_limit=None))
    if opts.rate_limit is None:
        return wrapped

    def shared() -> tuple[Any, str] | None:
        tenants = hosted.slot.tenants
        state = tenants.state if tenants is not None else None
        return (state.redis, state.prefix) if isinstance(state, RedisStore) else None

    return SharedRateLimit(wrapped, opts.rate_limit, opts.max_body, hosted.verifier, shared)


def serve_hosted(server: MCPServer[Any], opts: HttpOptions, hosted: Hosted, log_level: str) -> int:
    """Serve until stopped (one worker in this process, or ``--workers`` forked ones)."""
    import uvicorn

    app = hosted_http_app(server, opts, hosted)
    config = hosted.config
    who = f"OAuth users of {config.issuer}" if config.per_user else "one NemoVideo account"
    store = "shared store" if config.store_url else "local store"
    sys.stderr.write(
        f"nemo-mcp {__version__}: Streamable HTTP on http://{opts.host}:{opts.port}/mcp, hosted for {who}, "
        f"{config.workers} worker(s), {store}, rate limit {opts.rate_limit or 'off'}\n"
    )
    options = {"log_level": log_level.lower(), "lifespan": "on", **uvicorn_options(opts)}
    if config.workers == 1:
        uvicorn.run(app, host=opts.host, port=opts.port, **options)
        return 0
    from nemo_mcp.server.hosted.workers import run_workers

    return run_workers(app, opts.host, opts.port, config.workers, options)
