"""The ONE place where failures become `ToolError("[tag] what happened. what to do")`.

The tools (`app._guard`) hand that text to the client as an `is_error` result that starts with the tag
(raising ToolError out of a tool would make the SDK prefix "Error executing tool <name>: ").

Client errors (`nemo_mcp.api.errors.NemoError`, each with `.tag` and an actionable message), local rule
violations (`PathRuleError`) and the server's own refusals all pass through `tool_error()`. Anything
unexpected becomes `[internal]` with no traceback, backend JSON or token in the text (the traceback goes
to the log on stderr).
"""

from __future__ import annotations

import logging

from mcp.server.mcpserver.exceptions import ToolError

from nemo_mcp.api.errors import NemoError, NoCreditsError, redact
from nemo_mcp.server.paths import PathRuleError

log = logging.getLogger(__name__)

# Server-side tags (the client's tags are listed in nemo_mcp.api.errors).
SERVER_TAGS = {
    "bad_url": "a URL that cannot be imported (scheme, credentials)",
    "path_not_allowed": "a local path outside the allowed folders",
    "file_not_found": "a local file that does not exist",
    "unsupported_file": "a file type the backend does not accept",
    "file_too_large": "a file over the size limit",
    "no_media": "an upload asked for without any path or URL",
    "not_exportable": "an export asked for while the timeline is empty",
    "turn_running": "a new instruction while an agent turn runs on the same project",
    "unknown_job": "a job handle this server does not know (expired or from another process)",
    "no_project": "a session id this server has never seen",
    "invalid_argument": "an argument that makes no sense",
    "cancelled": "a job that was cancelled before it finished",
    "session_lost": "a project the backend no longer knows (a new current project is created)",
    "internal": "an unexpected failure inside the server",
}


class TaggedError(Exception):
    """A server-side refusal carrying its tag; converted by `tool_error()`."""

    def __init__(self, tag: str, message: str) -> None:
        super().__init__(message)
        self.tag = tag
        self.message = message


def describe(
    exc: BaseException, *, web_url: str = "https://nemovideo.com", anonymous: bool = True
) -> tuple[str, str]:
    """(tag, message) for any exception; never leaks tokens, JSON bodies or tracebacks."""
    if isinstance(exc, ToolError):
        text = str(exc)
        if text.startswith("[") and "]" in text:
            tag, _, rest = text[1:].partition("]")
            return tag, rest.strip()
        return "internal", redact(text)
    if isinstance(exc, NoCreditsError):
        if exc.register_url or not anonymous:
            return exc.tag, exc.message
        return exc.tag, exc.with_user(exc.user_id, web_url, anonymous).message
    if isinstance(exc, NemoError):
        return exc.tag, exc.message
    if isinstance(exc, PathRuleError | TaggedError):
        return exc.tag, redact(exc.message)
    log.error("unexpected failure", exc_info=exc)
    return "internal", "Something went wrong inside nemo-mcp (details are in the server log). Try again."


def tool_error(exc: BaseException, **kw: str | bool) -> ToolError:
    tag, message = describe(exc, **kw)  # type: ignore[arg-type]
    return ToolError(f"[{tag}] {message}")


def refuse(tag: str, message: str) -> ToolError:
    return ToolError(f"[{tag}] {message}")
