"""What every tool module shares: the one registration decorator, annotation presets, common fields.

`@nemo_tool(mcp, render=..., title=..., annotations=...)` registers an async function whose return value is a
result model. The decorator is the one place that

- runs the tool and turns ANY failure into an `is_error` result whose text starts with its tag
  (`[no_credits] ...`; raising out of a tool would make the SDK prefix "Error executing tool X: "),
- answers with ONE text block (the module's renderer: what a model reads) plus the model as
  `structuredContent` (for applications), so nothing is said twice,
- dedents the docstring into the tool's description (hosts show it as is).

A tool may add content after its text (an image, resource links) with `attach(...)` while it runs. With
`ui=` the tool names the MCP App that shows its result (`_meta.ui.resourceUri`, plus the flat
`_meta["ui/resourceUri"]` older hosts read); registered on the `Apps` extension instead of the server, it is
bound to that app (`visibility=["app"]`: a tool only the app calls).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Annotated, Any, ParamSpec, TypeVar, cast

from mcp.server import MCPServer
from mcp.server.apps import Apps, Visibility
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, ContentBlock, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from nemo_mcp.server.failures import ToolFailure, as_failure
from nemo_mcp.server.jobs import DEFAULT_WAIT_SECONDS, MAX_WAIT_SECONDS, ProgressFn
from nemo_mcp.server.service import NemoService

P = ParamSpec("P")
M = TypeVar("M", bound=BaseModel)


@dataclass
class AppContext:
    """What the lifespan yields: the service, and the embedded backend's URL in local mode."""

    service: NemoService
    backend_url: str | None = None


def service_of(ctx: Context) -> NemoService:
    """The service of this request: in hosted mode the verified user's own, else the server's one."""
    from nemo_mcp.server.hosted.current import current_service

    return current_service() or cast(AppContext, ctx.request_context.lifespan_context).service


def progress_of(ctx: Context) -> ProgressFn:
    """The request's progress notifications (a no-op when the client sent no progress token)."""

    async def report(progress: float, total: float | None, message: str) -> None:
        await ctx.report_progress(progress, total, message)

    return report


# --- annotation presets (all four hints set explicitly on every tool) ---------------------------------

READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)
LOCAL_READ = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)


def writes(
    *, idempotent: bool = False, destructive: bool = False, open_world: bool = True
) -> ToolAnnotations:
    return ToolAnnotations(
        read_only_hint=False,
        destructive_hint=destructive,
        idempotent_hint=idempotent,
        open_world_hint=open_world,
    )


# --- argument fields shared by several tools --------------------------------------------------------------

WaitSeconds = Annotated[
    float | None,
    Field(
        ge=0,
        le=MAX_WAIT_SECONDS,
        description=(
            f"Seconds to wait before returning status 'running' with a job_id (default "
            f"{DEFAULT_WAIT_SECONDS:g}, max {MAX_WAIT_SECONDS:g}). The work continues either way."
        ),
    ),
]
SessionId = Annotated[
    str | None,
    Field(
        max_length=200, description="Project to use (from list_projects). Omit to use the current project."
    ),
]


# --- responses ---------------------------------------------------------------------------------------------


def respond(model: BaseModel, text: str) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text.strip() or "OK")],
        structured_content=model.model_dump(mode="json"),
    )


def failure_result(failure: ToolFailure) -> CallToolResult:
    structured = failure.result.model_dump(mode="json") if failure.result is not None else None
    return CallToolResult(
        content=[TextContent(type="text", text=failure.text)], structured_content=structured, is_error=True
    )


def lines(*parts: str | None) -> str:
    """Join the non-empty parts, one per line."""
    return "\n".join(p for p in parts if p)


@dataclass
class _Attached:
    blocks: list[ContentBlock] = field(default_factory=list)
    text: list[str] = field(default_factory=list)


_ATTACHED: ContextVar[_Attached | None] = ContextVar("nemo_attached", default=None)


def attach(*blocks: ContentBlock, text: str | None = None) -> None:
    """Add content after the running tool's text block (images, resource links), and optionally a line to
    that text. Only inside a @nemo_tool call; elsewhere it is a no-op."""
    current = _ATTACHED.get()
    if current is None:
        return
    current.blocks.extend(blocks)
    if text:
        current.text.append(text)


def ui_meta(resource_uri: str) -> dict[str, Any]:
    """A tool's link to the MCP App showing its result: the nested key, and the flat one pre-GA hosts read."""
    return {"ui": {"resourceUri": resource_uri}, "ui/resourceUri": resource_uri}


def nemo_tool(
    mcp: MCPServer[Any] | Apps,
    *,
    render: Callable[[M], str],
    title: str,
    annotations: ToolAnnotations,
    ui: str | None = None,
    visibility: Sequence[Visibility] | None = None,
) -> Callable[[Callable[P, Awaitable[M]]], Callable[P, Awaitable[M]]]:
    """Register the decorated function as a tool (see the module docstring); returns it unchanged."""

    def register(fn: Callable[P, Awaitable[M]]) -> Callable[P, Awaitable[M]]:
        sig = inspect.signature(fn, eval_str=True)
        model = sig.return_annotation

        @functools.wraps(fn)
        async def call(*args: P.args, **kwargs: P.kwargs) -> CallToolResult:
            extra = _Attached()
            token = _ATTACHED.set(extra)
            try:
                result = await fn(*args, **kwargs)
            except Exception as exc:
                return failure_result(as_failure(exc))
            finally:
                _ATTACHED.reset(token)
            out = respond(result, lines(render(result), *extra.text))
            out.content.extend(extra.blocks)
            return out

        # The SDK reads the schema from the signature: the same arguments, and the model as output schema.
        call.__signature__ = sig.replace(return_annotation=Annotated[CallToolResult, model])  # type: ignore[attr-defined]
        options: dict[str, Any] = {
            "name": fn.__name__,
            "title": title,
            "description": inspect.cleandoc(fn.__doc__ or ""),
            "annotations": annotations,
            "structured_output": True,
        }
        if isinstance(mcp, Apps):
            if ui is None:
                raise ValueError(f"{fn.__name__}: a tool registered on the Apps extension needs ui=")
            flat = {"ui/resourceUri": ui}
            mcp.tool(resource_uri=ui, visibility=visibility, meta=flat, **options)(call)
        else:
            mcp.tool(meta=ui_meta(ui) if ui else None, **options)(call)
        return fn

    return register
