"""One failure type for the MCP layer, and the one mapper from any exception to it.

Every failure a tool reports is a `ToolFailure(tag, message)`: the server's own refusals raise it
directly, and `as_failure(exc)` turns anything else into one (an api `NemoError` keeps its tag and
message; anything unexpected becomes `[internal]`, logged with its traceback on stderr, with no
traceback, token or backend JSON in the text). A job keeps the failure object it ended with.

The model reads `[tag] what happened. what to do next`; the tags are listed in `SERVER_TAGS` here and in
`nemo_mcp.api.errors` for the client's.
"""

from __future__ import annotations

import logging

from pydantic import BaseModel

from nemo_mcp.api.errors import NemoError, redact

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
    "unknown_job": "a job handle this server does not know (past its retention, or on another backend)",
    "unknown_tool": "a tool name this server does not have",
    "no_project": "a session id this server has never seen",
    "invalid_argument": "an argument that makes no sense",
    "cancelled": "a job that was cancelled before it finished",
    "session_lost": "a project the backend no longer knows (a new current project is created)",
    "ffmpeg_missing": "no FFmpeg to take frames with (the message names the install command)",
    "no_frames": "no picture could be read at the requested times (or put on a sheet)",
    "no_export": "frames of the export asked for, but this server has made no export of the project",
    "frame_expired": "a frame link whose files were evicted from the cache (call get_frames again)",
    "unknown_render": "a render preview asked for that this server did not make",
    "job_interrupted": "a job whose server process stopped at a point it cannot be resumed from",
    "file_stalled": "a local file whose reads stopped during an upload (a hanging drive); the upload ended",
    "disk_full": "the render is done but the disk was full when saving it; its URL still works",
    "download_incomplete": "the render is done but its download stopped early; nothing was saved",
    "download_too_large": "a download past its cap (the render's size plus a margin, or the maximum)",
    "bad_render_url": "the backend named the render at a link that is not http(s) on its own or CDN hosts",
    "invalid_request": "an HTTP body refused before it is read as MCP (JSON nested too deep)",
    "confirmation_invalid": "a confirmation token this server did not issue, or one that was changed",
    "confirmation_expired": "a confirmation token past its lifetime (10 minutes by default)",
    "confirmation_used": "a confirmation token that already paid for an instruction (single use)",
    "confirmation_wrong_project": "a confirmation token issued for another project",
    "confirmation_wrong_instruction": "a confirmation token issued for another instruction",
    "confirmation_price_changed": "a confirmation for less than the instruction is now quoted at",
    "confirmation_unanswered": "an answer to the spending question that could not be read",
    "internal": "an unexpected failure inside the server",
}

INTERNAL_MESSAGE = "Something went wrong inside nemo-mcp (details are in the server log). Try again."


class ToolFailure(Exception):
    """A failure the model can act on: a short tag and one or two sentences. `result`: what the call did
    before it failed, for applications (structuredContent), e.g. the credits an interrupted turn spent."""

    def __init__(self, tag: str, message: str, result: BaseModel | None = None) -> None:
        super().__init__(message)
        self.tag = tag
        self.message = message
        self.result = result

    def __str__(self) -> str:
        return self.text

    @property
    def text(self) -> str:
        return f"[{self.tag}] {self.message}"

    def amended(self, extra: str) -> ToolFailure:
        """The same failure with a sentence added (e.g. which project it concerned)."""
        return ToolFailure(self.tag, f"{self.message} {extra}".strip(), self.result)


def as_failure(exc: BaseException) -> ToolFailure:
    """The ToolFailure for any exception (never leaks tokens, JSON bodies or tracebacks)."""
    if isinstance(exc, ToolFailure):
        return exc
    if isinstance(exc, NemoError):
        return ToolFailure(exc.tag, exc.message)
    log.error("unexpected failure", exc_info=exc)
    return ToolFailure("internal", INTERNAL_MESSAGE)


def invalid_argument(message: str) -> ToolFailure:
    return ToolFailure("invalid_argument", redact(message))
