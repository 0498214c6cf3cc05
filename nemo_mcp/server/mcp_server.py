"""`NemoMCPServer`: the SDK's `MCPServer`, with protocol-level failures told in plain words.

- Tool arguments that fail the input schema come back as `[invalid_argument] wait_seconds must be at most
  50.` instead of pydantic's report (with its URL); an unknown tool as `[unknown_tool] ...`.
- `prompts/get` with an unknown prompt or a missing required argument is a JSON-RPC `-32602` (invalid
  params) with a readable message, not `-32603` or code 0, and logs no ERROR traceback.

Two MCP Apps adjustments (the `io.modelcontextprotocol/ui` extension):

- The legacy handshake gap: mcp 2.3.0 advertises `capabilities.extensions` on a 2026-07-28 `server/discover`
  but drops it from a 2025-11-25 `initialize` result (its legacy wire model has no such field; the SDK pins
  this in `test_legacy_handshake_drops_apps_extension_from_capabilities`, python-sdk #2896). Most hosts
  still negotiate 2025-11-25, and at least one reports a widget that does not render without it. A
  middleware puts the server's extensions back into the `initialize` result after the SDK serialized
  it. Remove it once the SDK carries extensions on legacy handshakes.
- Tools bound to an app with `visibility: ["app"]` only (the player's own calls) are listed only to clients
  that negotiated Apps: other hosts would show them to the model, which must not call them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from mcp import MCPError
from mcp.server import MCPServer
from mcp.server.apps import client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import (
    INVALID_PARAMS,
    CallToolResult,
    GetPromptResult,
    InputRequiredResult,
    ListToolsResult,
    PaginatedRequestParams,
)
from mcp.types import Tool as MCPTool
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from nemo_mcp.server.failures import ToolFailure
from nemo_mcp.server.toolkit import AppContext

log = logging.getLogger(__name__)


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the arguments"


def _plural(n: Any, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _one(err: ErrorDetails) -> str:
    """One pydantic error in plain words (field first, then the rule)."""
    field = _where(err["loc"])
    ctx = err.get("ctx") or {}
    kind = err["type"]
    plain = {
        "missing": f"{field} is required",
        "less_than_equal": f"{field} must be at most {ctx.get('le')}",
        "less_than": f"{field} must be less than {ctx.get('lt')}",
        "greater_than_equal": f"{field} must be at least {ctx.get('ge')}",
        "greater_than": f"{field} must be more than {ctx.get('gt')}",
        "string_too_long": f"{field} must be at most {_plural(ctx.get('max_length'), 'character')}",
        "string_too_short": (
            f"{field} must not be empty"
            if ctx.get("min_length") == 1
            else f"{field} must have at least {_plural(ctx.get('min_length'), 'character')}"
        ),
        "too_long": f"{field} takes at most {_plural(ctx.get('max_length'), 'item')}",
        "too_short": f"{field} needs at least {_plural(ctx.get('min_length'), 'item')}",
        "string_type": f"{field} must be text",
        "bool_type": f"{field} must be true or false",
        "bool_parsing": f"{field} must be true or false",
        "float_type": f"{field} must be a number",
        "float_parsing": f"{field} must be a number",
        "int_type": f"{field} must be a whole number",
        "int_parsing": f"{field} must be a whole number",
        "list_type": f"{field} must be a list",
        "finite_number": f"{field} must be a finite number",
        "extra_forbidden": f"{field} is not an argument of this tool",
    }.get(kind)
    if plain is not None:
        return plain
    msg = str(err.get("msg") or "is not valid").rstrip(".")
    return f"{field}: {msg[:1].lower()}{msg[1:]}"


def plain_validation_error(exc: ValidationError) -> str:
    """Every problem once, in plain words, ending with a full stop."""
    seen: list[str] = []
    for err in exc.errors():
        text = _one(err)
        if text not in seen:
            seen.append(text)
    return "; ".join(seen[:5]) + "."


def app_only(tool: MCPTool) -> bool:
    """A tool only an MCP App calls (`_meta.ui.visibility` without "model")."""
    ui = (tool.meta or {}).get("ui")
    visibility = ui.get("visibility") if isinstance(ui, dict) else None
    return isinstance(visibility, list) and "model" not in visibility


class LegacyExtensions:
    """Server middleware: the server's extensions in a 2025-11-25 `initialize` result (see the module
    docstring). A 2026-07-28 `server/discover` already carries them and is left alone."""

    def __init__(self, extensions: dict[str, dict[str, Any]]) -> None:
        self.extensions = extensions

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method != "initialize" or not isinstance(result, dict) or not self.extensions:
            return result
        capabilities = result.get("capabilities")
        if isinstance(capabilities, dict):
            present = capabilities.get("extensions")
            merged = dict(self.extensions)
            if isinstance(present, dict):
                merged.update(present)
            capabilities["extensions"] = merged
        return result


class NemoMCPServer(MCPServer[AppContext]):
    def __init__(self, *args: Any, extensions: Sequence[Extension] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, extensions=extensions, **kwargs)
        advertised = {ext.identifier: ext.settings() for ext in extensions or ()}
        self.middleware.append(LegacyExtensions(advertised))

    async def _handle_list_tools(
        self, ctx: ServerRequestContext[AppContext], params: PaginatedRequestParams | None
    ) -> ListToolsResult:
        tools = await self.list_tools()
        if not client_supports_apps(ctx):
            tools = [t for t in tools if not app_only(t)]
        return ListToolsResult(tools=tools)

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[AppContext, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, ValidationError):
                failure = ToolFailure(
                    "invalid_argument", plain_validation_error(cause) + " Nothing was done."
                )
                raise ToolError(failure.text) from cause  # the SDK logs field names only
            if isinstance(cause, ToolError) and "Resolver " in str(cause):
                # the answer to the spending question (confirm.py) did not fit its form
                raise ToolError(
                    ToolFailure(
                        "confirmation_unanswered",
                        "The answer to the question about spending credits could not be read (accepted "
                        "without its form, or with other fields). Nothing was sent. Send the instruction "
                        "again to be asked again.",
                    ).text
                ) from None
            if str(exc).startswith("Unknown tool"):
                raise ToolError(
                    ToolFailure(
                        "unknown_tool",
                        f"There is no tool named {name[:80]!r}. Call tools/list for the tools.",
                    ).text
                ) from None
            raise

    async def get_prompt(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        context: Context[AppContext, Any] | None = None,
    ) -> GetPromptResult | InputRequiredResult:
        prompt = next((p for p in await self.list_prompts() if p.name == name), None)
        if prompt is None:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown prompt {name[:80]!r}.")
        missing = [a.name for a in prompt.arguments or [] if a.required and a.name not in (arguments or {})]
        if missing:
            names = ", ".join(missing)
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"The prompt {name!r} needs the argument(s) {names}; pass them in arguments.",
            )
        return await super().get_prompt(name, arguments, context)
