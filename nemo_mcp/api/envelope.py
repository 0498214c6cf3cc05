"""Envelope-agnostic response parsing and the mapping of backend errors to typed errors.

Accepted envelopes (docs/nemo-api.md §1.3, §7.3, §8): ``{"code", "data", "message"}``,
``{"success", "data", "error"}``, FastAPI ``{"detail": ...}``, bare objects. Business codes may
arrive with HTTP 200 or with an error status.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any, Literal

from nemo_mcp.api.errors import (
    AuthError,
    BackendError,
    BadRequestError,
    FileTooLargeError,
    MalformedResponseError,
    MissingClientIdError,
    NemoError,
    NemoTimeoutError,
    NoCreditsError,
    NotFoundError,
    PlanRequiredError,
    RateLimitedError,
    ServerError,
    SessionLostError,
    UnsupportedFileError,
    clean_backend_message,
)
from nemo_mcp.api.media import unsupported_type_message

__all__ = ["Endpoint", "error_for", "parse_envelope", "parse_json_body", "parse_retry_after"]

#: what the request was, for mapping ambiguous statuses (400 means "missing client id" only on the token call)
Endpoint = Literal[
    "token", "session", "run", "upload", "state", "credits", "claim", "render", "poll", "other"
]

AUTH_CODES = frozenset({1001, 1010, 1011})
_SUCCESS_CODES = frozenset({0, 200})
_UNWRAP_ONLY_KEYS = frozenset({"data", "message", "msg", "request_id", "trace_id", "requestId", "traceId"})


def parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date), else None."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms:
        try:
            val = float(raw_ms) / 1000.0
            if math.isfinite(val) and val >= 0:
                return val
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if not raw:
        return None
    raw = raw.strip()
    try:
        val = float(raw)
        return val if math.isfinite(val) and val >= 0 else None
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def parse_json_body(body: bytes) -> tuple[bool, Any]:
    """(True, value) for a JSON body, (False, None) otherwise. Never raises."""
    if not body or not body.strip():
        return False, None
    try:
        return True, json.loads(body)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return False, None


def _as_code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value.strip()) < 12:
        return int(value.strip())
    return None


def _message_of(obj: Mapping[str, Any]) -> Any:
    for key in ("message", "msg", "error", "detail", "reason", "error_message", "errorMessage"):
        val = obj.get(key)
        if val not in (None, "", [], {}):
            return val
    return None


def error_for(
    *,
    status: int,
    code: int | None = None,
    backend_message: Any = None,
    endpoint: Endpoint = "other",
    retry_after: float | None = None,
    session_id: str | None = None,
) -> NemoError:
    """The typed error for an HTTP status and/or business code. The backend text goes to ``.detail`` only."""
    detail = clean_backend_message(backend_message)
    kw: dict[str, Any] = {"status": status, "code": code, "retry_after": retry_after, "detail": detail}
    if code is not None and code not in _SUCCESS_CODES:
        if code in AUTH_CODES:
            return AuthError(**kw)
        if code == 1002:
            return SessionLostError(session_id=session_id, **kw)
        if code == 2001:
            return NoCreditsError(**kw)
        if code == 4001:
            return UnsupportedFileError(unsupported_type_message(), **kw)
        if code == 4002:
            return FileTooLargeError(**kw)
        if code in (400, 401, 402, 403, 404, 408, 409, 413, 415, 422, 429) or 500 <= code <= 599:
            # an HTTP-like status inside the body: map it like the status
            return error_for(
                status=code,
                backend_message=backend_message,
                endpoint=endpoint,
                retry_after=retry_after,
                session_id=session_id,
            )
    if status == 401:
        return AuthError(**kw)
    if status == 402:
        return PlanRequiredError(**kw)
    if status == 403:
        text = (detail or "").lower()
        if any(w in text for w in ("token", "auth", "expired", "credential")):
            return AuthError(**kw)
        return BadRequestError(
            "NemoVideo refused this request for the current account (permission denied). "
            "Set NEMO_TOKEN to a token with the needed scope, or register at nemovideo.com.",
            **kw,
        )
    if status == 429:
        msg = "NemoVideo is rate-limiting requests. Wait a minute and try again."
        if retry_after:
            msg = f"NemoVideo is rate-limiting requests. Try again in about {max(1, round(retry_after))} s."
        return RateLimitedError(msg, **kw)
    if status == 404:
        text = (detail or "").lower()
        if "session" in text or endpoint == "run":
            return SessionLostError(session_id=session_id, **kw)
        return NotFoundError(**kw)
    if status == 413:
        return FileTooLargeError(**kw)
    if status == 415:
        return UnsupportedFileError(unsupported_type_message(), **kw)
    if status == 400 and endpoint == "token":
        return MissingClientIdError(**kw)
    if status == 408:
        return NemoTimeoutError(**kw)
    if 400 <= status < 500:
        msg = "NemoVideo rejected the request as invalid"
        msg += f": {detail}." if detail else "."
        return BadRequestError(msg, **kw)
    if status >= 500:
        return ServerError(**kw)
    # a nonzero business code we do not know, delivered with a 2xx/3xx status
    msg = "The NemoVideo backend reported an error"
    msg += f": {detail}." if detail else f" (code {code})." if code is not None else "."
    return BackendError(msg, **kw)


def parse_envelope(
    status: int,
    body: bytes,
    *,
    headers: Mapping[str, str] | None = None,
    endpoint: Endpoint = "other",
    session_id: str | None = None,
) -> Any:
    """The payload of a response (``data`` when enveloped, else the body), or raise the typed error.

    Raises only :class:`NemoError` subclasses, whatever the bytes.
    """
    retry_after = parse_retry_after(headers) if status in (429, 503) else None

    def failure(http_status: int, code: int | None = None, message: Any = None) -> NemoError:
        return error_for(
            status=http_status,
            code=code,
            backend_message=message,
            endpoint=endpoint,
            retry_after=retry_after,
            session_id=session_id,
        )

    is_json, doc = parse_json_body(body)
    if not is_json:
        if status >= 400 or status < 200:
            text = None
            try:
                text = body[:300].decode("utf-8", "replace")
            except Exception:  # pragma: no cover - decode with "replace" does not raise
                text = None
            raise failure(status, message=text)
        if not body.strip() and endpoint in ("other", "render"):
            return {}
        raise MalformedResponseError(status=status)

    if isinstance(doc, dict):
        code = _as_code(doc.get("code")) if "code" in doc else None
        if "code" in doc and code is not None and code not in _SUCCESS_CODES:
            raise failure(status, code, _message_of(doc))
        success = doc.get("success")
        if success is False or (isinstance(success, str) and success.lower() == "false"):
            raise failure(status if status >= 400 else 200, code, _message_of(doc))
        if status >= 400 or status < 200:
            raise failure(status, code, _message_of(doc))
        if "data" in doc and ("code" in doc or "success" in doc or set(doc).issubset(_UNWRAP_ONLY_KEYS)):
            data = doc.get("data")
            return {} if data is None else data
        return doc

    if status >= 400 or status < 200:
        raise failure(status)
    return doc
