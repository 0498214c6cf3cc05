"""`nemo-mcp [serve]`: run the MCP server over stdio (default) or Streamable HTTP.

stdio: nothing but MCP goes to stdout; every log line goes to stderr.
HTTP: Streamable HTTP at /mcp (both protocol eras), DNS-rebinding protection on, GET /health.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nemo_mcp import __version__

log = logging.getLogger("nemo_mcp")

LOOPBACK = ("127.0.0.1", "localhost", "::1")


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


def http_security(host: str, port: int, hosts: list[str], origins: list[str]) -> object:
    from mcp.server.transport_security import TransportSecuritySettings

    allowed_hosts = [f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", *hosts]
    if host not in LOOPBACK and host not in ("0.0.0.0", "::"):  # noqa: S104
        allowed_hosts += [host, f"{host}:{port}"]
    allowed_origins = [f"http://{h}" for h in allowed_hosts] + list(origins)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=allowed_hosts, allowed_origins=allowed_origins
    )


def build_http_app(server: object, host: str, port: int, hosts: list[str], origins: list[str]) -> object:
    from mcp.server import MCPServer

    assert isinstance(server, MCPServer)
    return server.streamable_http_app(
        streamable_http_path="/mcp",
        transport_security=http_security(host, port, hosts, origins),  # type: ignore[arg-type]
        host=host,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    setup_logging(args.log_level)

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
    if args.transport == "http" and args.host not in LOOPBACK and not settings.media_dirs:
        # Reachable from other machines: never read arbitrary local files for remote callers.
        settings.allow_local_paths = False
        log.warning(
            "HTTP on %s: local file paths are refused (set NEMO_MEDIA_DIRS to allow folders)", args.host
        )
    server = build_server(settings)

    if args.transport == "stdio":
        log.info("nemo-mcp %s on stdio (backend: %s)", __version__, settings.backend)
        server.run("stdio")
        return 0

    import uvicorn

    app = build_http_app(server, args.host, args.port, args.allowed_host, args.allowed_origin)
    sys.stderr.write(f"nemo-mcp {__version__}: Streamable HTTP on http://{args.host}:{args.port}/mcp\n")
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level.lower())  # type: ignore[arg-type]
    return 0
