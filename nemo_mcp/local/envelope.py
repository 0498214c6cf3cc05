"""Response envelopes and business errors (docs/nemo-api.md §1.3, §1.13, §9.2).

REST success: `{"code": 0, "data": ...}`; error: `{"code": N, "message": "...", "data": null}`.
Render proxy success: `{"success": true, "data": ...}`; its errors carry both forms (plus `success: false`
and `error`) so any tolerant client reads them.

Business codes 1001/1002/2001/4001/4002 travel as HTTP 200 in the default "http200" transport (§9.2);
the "status" transport maps them to 401/404/403/415/413 (403, not 402, for credits: 402 means "plan
required" to clients). 400/402/429 and generic failures always use their real HTTP status.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

AUTH, SESSION, CREDITS, UNSUPPORTED, TOO_LARGE = 1001, 1002, 2001, 4001, 4002
_STATUS_TRANSPORT = {AUTH: 401, SESSION: 404, CREDITS: 403, UNSUPPORTED: 415, TOO_LARGE: 413}


class ApiError(Exception):
    """A failure answered in the envelope; `code` is a business code or an HTTP status."""

    def __init__(self, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = headers or {}

    def http_status(self, transport: str) -> int:
        if self.code in _STATUS_TRANSPORT:
            return _STATUS_TRANSPORT[self.code] if transport == "status" else 200
        return self.code if 400 <= self.code <= 599 else 400


def ok(data: Any) -> JSONResponse:
    return JSONResponse({"code": 0, "data": data})


def render_ok(data: Any) -> JSONResponse:
    return JSONResponse({"success": True, "data": data})


def error_response(err: ApiError, transport: str, render: bool = False) -> JSONResponse:
    body: dict[str, Any] = {"code": err.code, "message": err.message, "data": None}
    if render:
        body = {"success": False, "error": err.message, **body}
    return JSONResponse(body, status_code=err.http_status(transport), headers=err.headers)


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)
