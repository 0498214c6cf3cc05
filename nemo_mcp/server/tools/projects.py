"""new_project and list_projects: the local registry of projects (backend A cannot list them)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from pydantic import Field

from nemo_mcp.server.models import NewProjectResult, ProjectListResult
from nemo_mcp.server.toolkit import LOCAL_READ, lines, nemo_tool, service_of, writes


def new_project_text(r: NewProjectResult) -> str:
    return lines(
        f"New project {r.session_id} ({r.title}) is now current.",
        *r.notes,
        f"{r.link_label}: {r.browser_link}" if r.browser_link else None,
    )


def project_list_text(r: ProjectListResult) -> str:
    live = sum(1 for p in r.projects if not p.lost)
    head = (
        f"{live} project(s); current: {r.current_session_id}."
        if r.current_session_id
        else f"{live} project(s); none is current (the next upload or edit creates one)."
    )
    rows = [
        f"- {p.session_id}{' (current)' if p.current else (' (gone)' if p.lost else '')}: {p.title}, "
        f"updated {p.updated_at}. {p.summary or ''}".rstrip()
        for p in r.projects
    ]
    return lines(head, *rows)


def register(mcp: MCPServer[Any]) -> None:
    @nemo_tool(mcp, render=new_project_text, title="Start a new project", annotations=writes())
    async def new_project(
        ctx: Context,
        title: Annotated[str | None, Field(max_length=100, description="A name for the project.")] = None,
    ) -> NewProjectResult:
        """Start a fresh, empty project and make it current. Earlier projects stay available through
        list_projects and session_id."""
        return await service_of(ctx).projects.new_project(title)

    @nemo_tool(mcp, render=project_list_text, title="List projects", annotations=LOCAL_READ)
    async def list_projects(ctx: Context) -> ProjectListResult:
        """List this server's projects (newest first) with their last known timeline summary and which one
        is current. Pass a session_id to other tools to work on an earlier project."""
        return await service_of(ctx).projects.list_projects()
