"""`nemo-mcp` command line: dispatches to the part of the package that owns each sub-command.

Imports are lazy so that the default path (an MCP host spawning the stdio server) loads
only what it needs, and nothing is printed on stdout before the MCP wire is up.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

USAGE = """\
usage: nemo-mcp [--transport stdio|http] [--backend cloud|local] [...]  run the MCP server (default: stdio)
       nemo-mcp local-backend [--host H] [--port N] [...]   run the embedded NemoVideo-compatible backend
       nemo-mcp demo [...]                                  the quick-edit workflow end to end, offline
       nemo-mcp install --client claude|cursor|vscode|claude-code   write or print a host's config entry

Run `nemo-mcp <command> --help` for the options of each command.
"""


def _local_backend(argv: Sequence[str]) -> int:
    from nemo_mcp.local.cli import main

    return main(argv)


def _demo(argv: Sequence[str]) -> int:
    from nemo_mcp.server.demo import main

    return main(argv)


def _install(argv: Sequence[str]) -> int:
    from nemo_mcp.install import main

    return main(argv)


def _serve(argv: Sequence[str]) -> int:
    from nemo_mcp.server.cli import main

    return main(argv)


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "local-backend": _local_backend,
    "demo": _demo,
    "install": _install,
    "serve": _serve,
}


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help", "help"):
        sys.stderr.write(USAGE)
        raise SystemExit(0)
    if args and args[0] in ("-V", "--version"):
        from nemo_mcp import __version__

        sys.stderr.write(f"nemo-mcp {__version__}\n")
        raise SystemExit(0)
    if args and args[0] in COMMANDS:
        raise SystemExit(COMMANDS[args[0]](args[1:]))
    raise SystemExit(_serve(args))
