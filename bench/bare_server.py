"""Baseline for the benchmarks: a bare MCPServer with one tool, same SDK and venv as nemo-mcp.

stdio (default):  python bench/bare_server.py
The `echo` tool returns its text; nothing else is registered.
"""

from __future__ import annotations

import sys

from mcp.server import MCPServer

mcp = MCPServer("bare", version="0.0.0")


@mcp.tool()
async def echo(text: str = "") -> str:
    """Return the text unchanged."""
    return text


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] != "stdio":
        sys.stderr.write("usage: bare_server.py [stdio]\n")
        raise SystemExit(2)
    mcp.run("stdio")
