"""`nemo-mcp [serve]`: run the MCP server over stdio (default) or Streamable HTTP.

stdio: nothing but MCP goes to stdout; every log line goes to stderr.
HTTP: Streamable HTTP at /mcp (both protocol eras), DNS-rebinding protection on, GET /health; loopback
by default, a non-loopback bind needs --allow-remote plus NEMO_MCP_AUTH_TOKEN or --no-auth (see
http_security.py for auth, rate limit and body limit).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nemo_mcp import __version__
from nemo_mcp.server.http_security import (
    DEFAULT_MAX_BODY,
    DEFAULT_RATE_LIMIT,
    LOOPBACK,
    HttpConfigError,
    HttpOptions,
    harden,
    parse_rate_limit,
    transport_security,
    uvicorn_options,
)

if TYPE_CHECKING:
    from mcp.server import MCPServer

log = logging.getLogger("nemo_mcp")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="nemo-mcp",
        description="MCP server that edits video in plain language through the NemoVideo cloud.",
    )
    p.add_argument("--transport", choices=("stdio", "http"), default="stdio", help="default: stdio")
    p.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    p.add_argument(
        "--backend",
        choices=("cloud", "local"),
        default=None,
        help="cloud: NemoVideo (NEMO_API_URL); local: the embedded offline backend (also NEMO_API_URL=local)",
    )
    p.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="extra Host header values accepted over HTTP (repeatable; needed behind a real hostname)",
    )
    p.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="extra Origin values accepted over HTTP (repeatable)",
    )
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="confirm a non-loopback --host (then NEMO_MCP_AUTH_TOKEN or --no-auth is required)",
    )
    p.add_argument(
        "--no-auth",
        action="store_true",
        help="serve a non-loopback HTTP bind without a bearer token (only behind an authenticating proxy)",
    )
    p.add_argument(
        "--rate-limit",
        default=DEFAULT_RATE_LIMIT,
        metavar="N/UNIT",
        help=f"tool calls per HTTP client, e.g. 120/min, 5/s; 'off' disables (default {DEFAULT_RATE_LIMIT}). "
        "A client is the bearer token's principal with auth, else the peer address (clients behind one "
        "proxy or on loopback share one budget)",
    )
    p.add_argument(
        "--max-body",
        type=int,
        default=DEFAULT_MAX_BODY,
        metavar="BYTES",
        help=f"largest HTTP request body; bigger ones get 413 (default {DEFAULT_MAX_BODY})",
    )
    p.add_argument(
        "--forwarded-allow-ips",
        default=None,
        metavar="IPS",
        help="HTTP: trust X-Forwarded-For/-Proto only from these proxy addresses (comma-separated IPs or "
        "networks, '*' for any); default: nobody, so the peer address is the client (rate limit key)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="HTTP: serve from N worker processes sharing NEMO_STORE_URL (hosted mode; README 'Run it for a "
        "team')",
    )
    p.add_argument(
        "--download-dir", type=Path, default=None, help="confine downloads here (NEMO_DOWNLOAD_DIR)"
    )
    p.add_argument(
        "--log-level", default=os.environ.get("NEMO_LOG_LEVEL", "WARNING"), help="stderr log level"
    )
    p.add_argument("--version", action="version", version=f"nemo-mcp {__version__}")
    return p


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.WARNING))


def http_options(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> HttpOptions:
    """HTTP hardening options from the parsed CLI and the environment (NEMO_MCP_AUTH_TOKEN)."""
    e = os.environ if env is None else env
    token = e.get("NEMO_MCP_AUTH_TOKEN")
    opts = HttpOptions(
        host=args.host,
        port=args.port,
        allow_remote=args.allow_remote,
        auth_token=token if token is None else token.strip(),
        no_auth=args.no_auth,
        allowed_hosts=list(args.allowed_host),
        allowed_origins=list(args.allowed_origin),
        rate_limit=parse_rate_limit(args.rate_limit),
        max_body=args.max_body,
        forwarded_allow_ips=args.forwarded_allow_ips,
        oauth_issuer=(e.get("NEMO_AUTH_ISSUER") or "").strip() or None,
    )
    opts.validate()
    return opts


def build_http_app(server: MCPServer[Any], opts: HttpOptions) -> Any:
    """The Streamable HTTP app with DNS-rebinding protection, body limit, auth and rate limit."""
    app = server.streamable_http_app(
        streamable_http_path="/mcp",
        transport_security=transport_security(opts),
        host=opts.host,
        max_request_body_size=opts.max_body,
    )
    return harden(app, opts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    setup_logging(args.log_level)
    opts: HttpOptions | None = None
    if args.transport == "http":
        try:
            opts = http_options(args)
        except HttpConfigError as exc:
            parser.error(str(exc))

    from nemo_mcp.server.app import build_server
    from nemo_mcp.server.settings import ServerSettings

    overrides: dict[str, Any] = {}
    if args.backend is not None:
        overrides["backend"] = args.backend
        if args.backend == "local":
            overrides["api_url"] = None
    if args.download_dir is not None:
        overrides["download_root"] = args.download_dir.expanduser()
    settings = ServerSettings.from_env(**overrides)
    if settings.backend == "local":
        from nemo_mcp.local.media import FFmpegMissing, ffmpeg_exe

        try:
            ffmpeg_exe()
        except FFmpegMissing:
            # Fail at start with the fix, not later with a puzzling error on the first upload.
            sys.stderr.write(
                "nemo-mcp: the embedded backend (--backend local / NEMO_API_URL=local) needs FFmpeg: "
                "pip install 'nemo-mcp[local]' (or uvx --from 'nemo-mcp[local]' nemo-mcp ...)\n"
            )
            return 2
    if args.transport == "http" and args.host not in LOOPBACK and not settings.media_dirs:
        # Reachable from other machines: never read arbitrary local files for remote callers.
        settings.allow_local_paths = False
        log.warning(
            "HTTP on %s: local file paths are refused (set NEMO_MEDIA_DIRS to allow folders)", args.host
        )
    hosted = None
    if args.transport == "http" or args.workers != 1:
        from nemo_mcp.server.hosted.entry import hosted_from_args

        try:  # per-user OAuth, a shared store, several workers: nemo_mcp.server.hosted
            hosted = hosted_from_args(args)
        except ValueError as exc:
            parser.error(str(exc))
    server = build_server(settings, hosted)

    if args.transport == "stdio":
        log.info("nemo-mcp %s on stdio (backend: %s)", __version__, settings.backend)
        server.run("stdio")
        return 0

    assert opts is not None
    if hosted is not None:
        from nemo_mcp.server.hosted.serve import serve_hosted

        return serve_hosted(server, opts, hosted, args.log_level)
    import uvicorn

    app = build_http_app(server, opts)
    auth = "bearer token" if opts.auth_token else "no auth"
    limit = opts.rate_limit or "off"
    sys.stderr.write(
        f"nemo-mcp {__version__}: Streamable HTTP on http://{args.host}:{args.port}/mcp "
        f"({auth}, rate limit {limit})\n"
    )
    uvicorn.run(
        app, host=args.host, port=args.port, log_level=args.log_level.lower(), **uvicorn_options(opts)
    )
    return 0
