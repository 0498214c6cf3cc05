"""The tools, one module per family; each has a `register(mcp)` and renders its own text."""

from __future__ import annotations

from typing import Any

from mcp.server import MCPServer

from nemo_mcp.server.tools import credits, edit, export, frames, jobs, media, projects, timeline

FAMILIES = (media, edit, timeline, frames, credits, export, jobs, projects)


def register_all(mcp: MCPServer[Any]) -> None:
    for family in FAMILIES:
        family.register(mcp)
