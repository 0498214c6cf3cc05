"""Typed errors of the NemoVideo API client.

Every error is a :class:`NemoError` with

- ``tag``: a short stable machine name the MCP layer puts in front of its message
  (``[tag] what happened. what to do``);
- ``str(err)``: one or two sentences a user can act on. Never raw backend JSON, never a token;
- ``status`` (HTTP status, if any), ``code`` (backend business code, if any),
  ``retry_after`` (seconds, if known).

Tags: ``auth``, ``session_lost``, ``no_credits``, ``unsupported_file``, ``file_too_large``,
``file_not_found``, ``file_stalled``, ``missing_client_id``, ``plan_required``, ``rate_limited``,
``bad_request``, ``not_found``, ``server_error``, ``backend_unreachable``, ``timeout``, ``bad_response``,
``render_failed``, ``not_exportable``, ``download_failed`` (and its kinds ``download_incomplete``,
``download_too_large``, ``disk_full``, ``bad_render_url``), ``stream_interrupted``, ``agent_error``,
``config``.

The failures worth retrying (unreachable, timeout, HTTP 5xx, 429) share the base :class:`TransientError`.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Self

from nemo_mcp.api import links

__all__ = [
    "AgentError",
    "AuthError",
    "BackendError",
    "BackendUnreachableError",
    "BadRenderUrlError",
    "BadRequestError",
    "ConfigError",
    "DiskFullError",
    "DownloadError",
    "DownloadIncompleteError",
    "DownloadTooLargeError",
    "FileStalledError",
    "FileTooLargeError",
    "MalformedResponseError",
    "MediaNotFoundError",
    "MissingClientIdError",
    "NemoError",
    "NemoTimeoutError",
    "NoCreditsError",
    "NotExportableError",
    "NotFoundError",
    "PlanRequiredError",
    "RateLimitedError",
    "RenderFailedError",
    "ServerError",
    "SessionLostError",
    "StreamInterruptedError",
    "TransientError",
    "UnsupportedFileError",
    "format_duration",
    "format_size",
    "redact",
    "short_reason",
]

_SECRET_PATTERNS = (
    re.compile(r"nmv_[A-Za-z0-9_\-]+"),
    re.compile(r"(?i)bearer\s+[^\s\"',;]+"),
    re.compile(r"(?i)(token[\"']?\s*[:=]\s*[\"']?)[^\s\"',;}&]+"),
)


def redact(text: str) -> str:
    """Remove anything that looks like an API token from ``text``."""
    out = _SECRET_PATTERNS[0].sub("nmv_***", text)
    out = _SECRET_PATTERNS[1].sub("Bearer ***", out)
    return _SECRET_PATTERNS[2].sub(r"\1***", out)


def clean_backend_message(raw: Any, limit: int = 160) -> str | None:
    """A short, single-line, redacted backend message, or None when it is absent or looks like raw JSON."""
    if isinstance(raw, dict):
        for key in ("message", "msg", "detail", "error", "reason"):
            inner = raw.get(key)
            if isinstance(inner, str) and inner.strip():
                raw = inner
                break
        else:
            return None
    if isinstance(raw, list):
        # FastAPI validation errors: [{"loc": [...], "msg": "...", ...}]
        msgs = [
            item.get("msg") for item in raw if isinstance(item, dict) and isinstance(item.get("msg"), str)
        ]
        raw = "; ".join(m for m in msgs if m) if msgs else None
    if not isinstance(raw, str):
        return None
    text = " ".join(raw.split())
    # Anything with braces may be a JSON fragment; never pass it on to the model.
    if not text or text[0] in "[<" or "{" in text or "}" in text:
        return None
    text = redact(text)
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def short_reason(text: str | None, limit: int = 200) -> str:
    """A one-line, redacted, shortened reason for a message (``unknown error`` when there is none)."""
    if not text:
        return "unknown error"
    flat = redact(" ".join(text.split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def format_size(n: int) -> str:
    """``2621440`` -> ``2.5 MB``, ``51200`` -> ``50 KB``, ``12`` -> ``12 bytes``."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} bytes"


def format_duration(seconds: float) -> str:
    """``90`` -> ``90 s``, ``600`` -> ``10 min``."""
    if seconds < 120:
        return f"{seconds:g} s"
    return f"{seconds / 60:.0f} min"


class NemoError(Exception):
    """Base class of every error raised by ``nemo_mcp.api``."""

    tag: ClassVar[str] = "error"
    default_message: ClassVar[str] = "The NemoVideo backend request failed."
    #: True when a request that changes something (upload, new project, export) may have been applied
    #: although its answer was lost (read timeout, dropped connection, unreadable answer, 504)
    outcome_unknown: bool = False

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        code: int | None = None,
        retry_after: float | None = None,
        detail: str | None = None,
    ) -> None:
        self.message = redact(message or self.default_message)
        self.status = status
        self.code = code
        self.retry_after = retry_after
        #: the backend's own short message (redacted, single line), for logs and debugging
        self.detail = clean_backend_message(detail) if detail is not None else None
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        parts = [repr(self.message)]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code is not None:
            parts.append(f"code={self.code}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def tagged(self) -> str:
        """``[tag] message``: the form the MCP layer shows."""
        return f"[{self.tag}] {self.message}"

    def reworded(self, message: str, **extra: Any) -> Self:
        """The same kind of error with a more specific message; ``status``, ``code``, ``retry_after`` and
        ``detail`` are kept, ``extra`` goes to the subclass (e.g. ``user_id=`` of :class:`NoCreditsError`)."""
        err = type(self)(message, status=self.status, code=self.code, retry_after=self.retry_after, **extra)
        err.detail = self.detail
        return err


class AuthError(NemoError):
    """1001 / 1010 / 1011 / HTTP 401 (after the single automatic re-authentication failed)."""

    tag = "auth"
    default_message = (
        "NemoVideo rejected the access token. Unset NEMO_TOKEN to use a free anonymous token, "
        "or create a new token at nemovideo.com (Settings -> API Tokens) and set NEMO_TOKEN."
    )


class SessionLostError(NemoError):
    """1002, or HTTP 404 "Session not found": the backend no longer knows the session."""

    tag = "session_lost"
    default_message = (
        "The editing session no longer exists on NemoVideo, so its timeline is gone. "
        "Start a new project and upload or generate the media again."
    )

    def __init__(self, message: str | None = None, *, session_id: str | None = None, **kw: Any) -> None:
        self.session_id = session_id
        super().__init__(message, **kw)


class NoCreditsError(NemoError):
    """2001: not enough credits. Carries the anonymous user id for the registration link."""

    tag = "no_credits"
    default_message = (
        "Not enough NemoVideo credits for this operation. Top up credits in your nemovideo.com account."
    )

    def __init__(
        self,
        message: str | None = None,
        *,
        user_id: str | None = None,
        register_url: str | None = None,
        **kw: Any,
    ) -> None:
        self.user_id = user_id
        self.register_url = register_url
        super().__init__(message, **kw)

    def with_user(self, user_id: str | None, web_url: str, anonymous: bool) -> NoCreditsError:
        """Return a copy whose message carries the registration (anonymous) or top-up (registered) advice."""
        if anonymous:
            url = links.register_url(web_url, user_id, anonymous=True)
            msg = (
                "The free anonymous credits are used up. Register at "
                f"{url} to keep this work and get more credits, then try again."
            )
        else:
            url = None
            msg = "Not enough credits on this NemoVideo account. Top up at nemovideo.com, then try again."
        return self.reworded(msg, user_id=user_id, register_url=url)


class UnsupportedFileError(NemoError):
    """4001, or a local preflight rule (extension, content, not a regular file, empty)."""

    tag = "unsupported_file"
    # the messages that list the supported types are built in nemo_mcp.api.media, which owns the list
    default_message = (
        "NemoVideo does not accept this file type. Convert it to a supported format (such as mp4, jpg or "
        "mp3), then upload again."
    )

    def __init__(
        self, message: str | None = None, *, path: str | None = None, rule: str | None = None, **kw: Any
    ) -> None:
        self.path = path
        self.rule = rule
        super().__init__(message, **kw)


class FileTooLargeError(NemoError):
    """4002, or the local size limit."""

    tag = "file_too_large"
    default_message = (
        "The file is too large for NemoVideo. Compress it or trim it to a shorter clip, then upload again."
    )

    def __init__(
        self,
        message: str | None = None,
        *,
        path: str | None = None,
        size: int | None = None,
        limit: int | None = None,
        **kw: Any,
    ) -> None:
        self.path = path
        self.size = size
        self.limit = limit
        super().__init__(message, **kw)


class MediaNotFoundError(NemoError):
    """The local file to upload does not exist."""

    tag = "file_not_found"
    default_message = "The file does not exist. Check the path."

    def __init__(self, message: str | None = None, *, path: str | None = None, **kw: Any) -> None:
        self.path = path
        super().__init__(message, **kw)


class FileStalledError(NemoError):
    """Reading a local file for an upload stopped returning data (a network drive or device that hangs)."""

    tag = "file_stalled"
    default_message = (
        "Reading the file stopped (its drive does not answer). Copy it to a local folder and upload it again."
    )

    def __init__(self, message: str | None = None, *, path: str | None = None, **kw: Any) -> None:
        self.path = path
        super().__init__(message, **kw)


class MissingClientIdError(NemoError):
    """HTTP 400 on the anonymous-token call (missing ``X-Client-Id``), after the automatic retry."""

    tag = "missing_client_id"
    default_message = (
        "NemoVideo refused to issue a free token because the client id was missing or invalid. "
        "Set NEMO_CLIENT_ID to a UUID (or delete ~/.config/nemovideo/client_id), or set NEMO_TOKEN."
    )


class PlanRequiredError(NemoError):
    """HTTP 402: the plan does not allow this (export on the free plan). Not a credits problem."""

    tag = "plan_required"
    default_message = (
        "Export is not available on the current NemoVideo plan (this is a plan limit, not credits). "
        "Register or upgrade your plan at nemovideo.com to unlock export."
    )


class TransientError(NemoError):
    """Base of the failures worth retrying: the backend was unreachable, slow, overloaded or rate-limiting, so
    the same request may succeed later (like httpx's ``TransportError``). The client retries idempotent calls
    on these by itself; anything else that fails the same way again if repeated is not a ``TransientError``.
    """


class RateLimitedError(TransientError):
    """HTTP 429."""

    tag = "rate_limited"
    default_message = "NemoVideo is rate-limiting requests. Wait a minute and try again."


class BadRequestError(NemoError):
    """Another 4xx (400 outside the token call, 409, 422 validation, duplicate render id, ...)."""

    tag = "bad_request"
    default_message = "NemoVideo rejected the request as invalid."


class NotFoundError(NemoError):
    """HTTP 404 that is not a lost session (e.g. an unknown render id)."""

    tag = "not_found"
    default_message = "NemoVideo does not know this item (it may have expired)."


class ServerError(TransientError):
    """HTTP 5xx (or a 5xx code inside the body)."""

    tag = "server_error"
    default_message = "The NemoVideo backend had an internal error. Try again in a moment."


class BackendError(NemoError):
    """A nonzero business code this client does not know (or ``success: false``) answered with a 2xx status:
    the backend refused the call for a reason it did not classify, so repeating it is not expected to help."""

    tag = "server_error"
    default_message = "The NemoVideo backend reported an error. Try again later."


class BackendUnreachableError(TransientError):
    """Connection refused / reset / DNS failure / dropped before a response."""

    tag = "backend_unreachable"
    default_message = (
        "Could not reach the NemoVideo backend. Check the network connection and NEMO_API_URL, "
        "then try again."
    )


class NemoTimeoutError(TransientError):
    """A request or a wait exceeded its time budget."""

    tag = "timeout"
    default_message = "The NemoVideo backend did not answer in time. Try again in a moment."


class MalformedResponseError(NemoError):
    """The backend answered with something that is not the documented JSON."""

    tag = "bad_response"
    default_message = "The NemoVideo backend sent a response that could not be understood. Try again later."


class RenderFailedError(NemoError):
    """The render ended with status ``failed`` (or was cancelled)."""

    tag = "render_failed"
    default_message = "The export failed on the NemoVideo render service. Try exporting again."

    def __init__(self, message: str | None = None, *, render_id: str | None = None, **kw: Any) -> None:
        self.render_id = render_id
        super().__init__(message, **kw)


class NotExportableError(NemoError):
    """The draft has no track with segments (docs/nemo-api.md §8 C21): nothing to render yet."""

    tag = "not_exportable"
    default_message = "The timeline is empty, so there is nothing to export yet. Generate or add media first."


class DownloadError(NemoError):
    """The rendered file could not be downloaded completely."""

    tag = "download_failed"
    default_message = "The rendered video could not be downloaded. Try the download again."


class DownloadIncompleteError(DownloadError):
    """The file arrived only in part: the connection ended before its last byte."""

    tag = "download_incomplete"
    default_message = "The download of the rendered video stopped early. Try the download again."

    def __init__(
        self, message: str | None = None, *, received: int | None = None, total: int | None = None, **kw: Any
    ) -> None:
        self.received = received  # bytes that arrived
        self.total = total  # bytes announced (Content-Length or the render's size), if known
        super().__init__(message, **kw)

    @property
    def amount(self) -> str:
        """``2.0 MB of 4.0 MB arrived``: how much of the file came (empty when unknown)."""
        if self.received is None:
            return ""
        got = format_size(self.received)
        return f"{got} of {format_size(self.total)} arrived" if self.total else f"{got} arrived"


class DownloadTooLargeError(DownloadError):
    """The file grew past its cap (the render's announced size plus a margin, or the maximum)."""

    tag = "download_too_large"
    default_message = "The download grew far past the rendered video's size and was stopped."

    def __init__(
        self,
        message: str | None = None,
        *,
        size: int | None = None,
        cap: int | None = None,
        announced: int | None = None,
        **kw: Any,
    ) -> None:
        self.size = size  # bytes seen (received, or declared by Content-Length) when it was stopped
        self.cap = cap
        self.announced = announced  # the render's own size, when it said one
        super().__init__(message, **kw)

    @property
    def why(self) -> str:
        """``past its cap of 1.1 MB (the render announced 64 KB)``."""
        cap = f"past its cap of {format_size(self.cap)}" if self.cap is not None else "past its cap"
        if self.announced:
            return f"{cap} (the render announced {format_size(self.announced)})"
        return f"{cap} (the largest download allowed)"


class DiskFullError(DownloadError):
    """No space was left (or the disk quota was reached) while saving the rendered file."""

    tag = "disk_full"
    default_message = "The disk is full, so the rendered video could not be saved. Free some space."


class BadRenderUrlError(DownloadError):
    """The backend named a file URL this client will not open: not http(s), or not on an allowed host."""

    tag = "bad_render_url"
    default_message = "NemoVideo named the rendered video at a link this server does not open."


class StreamInterruptedError(NemoError):
    """The ``/run_sse`` stream dropped. The message was NOT re-sent: check the project state."""

    tag = "stream_interrupted"
    default_message = (
        "The connection to the NemoVideo agent dropped before the reply finished. The request was not "
        "re-sent (that could charge twice); check the timeline to see whether the edit was applied."
    )


class AgentError(NemoError):
    """The agent reported an error inside the ``/run_sse`` stream (``{"error": ...}``, ``errorCode``)."""

    tag = "agent_error"
    default_message = (
        "The NemoVideo agent reported an error and stopped. Check the timeline to see what was applied, "
        "then try again with a simpler request."
    )


class ConfigError(NemoError):
    """Invalid configuration (e.g. a malformed NEMO_API_URL)."""

    tag = "config"
    default_message = "The nemo-mcp configuration is invalid."
