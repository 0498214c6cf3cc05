"""Realism knobs and fault injection for the local backend (all invented; none is part of the NemoVideo API).

One `Knobs` object per backend instance. It is read on every request, so changes made through the
Python object, the `/_local/knobs` admin route, CLI flags (`--silent-fraction 0.5`) or env
(`NEMO_LOCAL_SILENT_FRACTION`) take effect on the next request. One-shot faults (`expire_tokens`,
`lose_session`, `exhaust_credits`) are applied by the next request and then reset; counters
(`fail_5xx`, `rate_limit`, `wrong_content_type`, `malformed_json`, `plan_required`,
`truncate_download`) count down, each only when it actually fires. Faults never touch the `/_local/`
admin routes or the invented web pages (`/workspace/claim`, `/register`).

- `wrong_content_type`: the request does NOT reach the backend; the answer is HTTP **200** with
  `text/html` and a gateway error page (like a captive portal or a misconfigured proxy), so a client
  that trusts the status alone is fooled. Any path (REST, `/run_sse`, `/cdn/`) matching the prefix.
  With `wrong_content_type_forward` the request is handled first (its effects happen, a stream runs to
  its end) and only its answer is replaced by the page, like a proxy that lost the upstream answer.
- `malformed_json`: the backend handles the request normally (state changes happen), but the next N
  `application/json` answers are cut in half: a complete HTTP response with a correct Content-Length
  whose body is invalid JSON. Non-JSON answers (SSE streams, files) pass and do not count.
  `malformed_json_style` says how: `truncate` (the first half of the body) or `garble` (the whole body
  with a syntax error before its closing bracket: `{...,]}`, still a correct Content-Length).
- `truncate_sse`: like `drop_stream_after`, but after N events the next event's frame is sent only up to
  the middle of its JSON, then the connection breaks (no final chunk). The turn still completes.
- `truncate_download`: the next N file downloads (`/cdn/...` and `/api/render/proxy/<id>/download`,
  HTTP 200 only) send a correct Content-Length but only about half of the body, then the connection
  breaks, like a connection reset mid-transfer.
- `plan_required`: the next N render submissions that pass validation answer HTTP 402 "Free plan
  export blocked", even with the `X-Skill-*` attribution headers (docs/nemo-api.md §1.13).
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

HEARTBEAT_STYLES = ("comment", "typed", "empty", "none")
SSE_FORMATS = ("adk", "typed")
ERROR_TRANSPORTS = ("http200", "status")
RENDER_SHAPES = ("wrapped", "flat")
MALFORMED_JSON_STYLES = ("truncate", "garble")
GUI_SPEAK = ("off", "some", "always")
_CHOICES = {
    "gui_speak": GUI_SPEAK,
    "heartbeat_style": HEARTBEAT_STYLES,
    "sse_format": SSE_FORMATS,
    "error_transport": ERROR_TRANSPORTS,
    "render_shape": RENDER_SHAPES,
    "malformed_json_style": MALFORMED_JSON_STYLES,
}


@dataclass
class Knobs:
    seed: int = 0
    # SSE realism
    sse_format: str = "adk"  # adk: Google-ADK Event JSON; typed: {"type":"text","content":...}
    silent_fraction: float = 0.3  # share of edit turns that emit only tool events (docs/nemo-api.md §2.4)
    heartbeat_style: str = "comment"  # comment | typed | empty | none
    heartbeat_interval: float = 5.0  # seconds of stream silence before a heartbeat
    trailing_temporary_issue: bool = False  # append "I encountered a temporary issue..." after the reply
    gui_speak: str = "some"  # replies' GUI steps (speech.py): off | some (mixed, noisy) | always
    agent_delay: float = 0.0  # seconds each tool call takes
    simulate_generation: bool = False  # "generate a video of ..." makes real FFmpeg media instead of refusing
    confirm_generation: bool = False  # a generation quotes its price and waits for a yes (pending.py)
    # envelopes
    error_transport: str = "http200"  # http200: HTTP 200 + code; status: 401/404/403/415/413 + code
    render_shape: str = "wrapped"  # wrapped {success,data{outputUrl}} | flat {taskId,status,output{url}}
    # economy and limits
    initial_credits: int = 100
    edit_cost: int = 10
    generation_cost: int = 100
    analysis_cost: int = 0  # metadata/summary turns (free by default)
    max_upload_bytes: int = 500 * 1024 * 1024
    token_ttl_seconds: float = 7 * 86400.0
    ip_token_cap: int = 10  # anonymous tokens per IP per 7 days; 0 = no cap
    strict_attribution: bool = False  # 402 on render whenever X-Skill-* headers are missing
    claim_ttl_seconds: float = 604800.0  # browser-link (claim) token lifetime, `expires_in`
    render_min_seconds: float = 0.0
    # URL import (urlfetch.py)
    allow_private_url_import: bool = False  # also fetch loopback/private/link-local targets (tests)
    url_import_timeout: float = 30.0  # seconds per URL, redirects included
    # faults
    latency: float = 0.0  # seconds added to every request
    fail_5xx: int = 0  # the next N requests (matching fail_5xx_path) get 503
    fail_5xx_path: str = ""
    rate_limit: int = 0  # the next N requests (matching rate_limit_path) get 429
    rate_limit_path: str = ""
    retry_after: int = 1  # Retry-After seconds sent with injected 429s
    wrong_content_type: int = 0  # the next N requests (matching the path) get a 200 text/html gateway page
    wrong_content_type_path: str = ""
    wrong_content_type_forward: bool = False  # handle the request first, then answer with the page
    malformed_json: int = 0  # the next N JSON answers (matching the path) are truncated mid-body
    malformed_json_path: str = ""
    malformed_json_style: str = "truncate"  # truncate | garble (a syntax error, complete length)
    plan_required: int = 0  # the next N valid render submissions answer 402 despite attribution headers
    drop_stream_after: int = (
        -1
    )  # close the SSE connection after N events (-1 = off); the turn still completes
    truncate_sse: int = -1  # after N events, half of the next frame, then the connection breaks (-1 = off)
    error_mid_stream: int = -1  # emit {"error": ...} after N events and end the turn (-1 = off)
    expire_tokens: bool = False  # one-shot: every issued token expires now
    lose_session: str = ""  # one-shot: forget this session id ("*" = all sessions)
    exhaust_credits: bool = False  # one-shot: every user's available credits drop to 0
    fail_first_render_submit: bool = False  # the first render submission answers 503
    render_fail: bool = False  # renders end with status failed
    output_url_gone: bool = False  # the static output URL 404s, so clients must use /download
    truncate_download: int = 0  # the next N file downloads break after about half the body

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}")
        if not 0.0 <= self.silent_fraction <= 1.0:
            raise ValueError("silent_fraction must be between 0 and 1")

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply a partial update (admin route, CLI); unknown names or bad values raise ValueError."""
        types_ = field_types()
        before = dataclasses.asdict(self)
        try:
            for name, raw in changes.items():
                if name not in types_:
                    raise ValueError(f"unknown knob: {name}")
                setattr(self, name, coerce(types_[name], raw, name))
            self.validate()
        except ValueError:
            for name, value in before.items():
                setattr(self, name, value)
            raise

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Knobs:
        env = os.environ if environ is None else environ
        knobs = cls()
        from_env = {
            name: env[f"NEMO_LOCAL_{name.upper()}"]
            for name in field_types()
            if f"NEMO_LOCAL_{name.upper()}" in env
        }
        knobs.update({**from_env, **overrides})
        return knobs


def field_types() -> dict[str, type]:
    hints = typing.get_type_hints(Knobs)
    return {f.name: _base_type(hints[f.name]) for f in dataclasses.fields(Knobs)}


def _base_type(hint: Any) -> type:
    if isinstance(hint, types.UnionType):
        return next(t for t in typing.get_args(hint) if t is not type(None))  # type: ignore[no-any-return]
    return hint  # type: ignore[no-any-return]


def coerce(kind: type, raw: Any, name: str) -> Any:
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off", ""}:
            return False
        raise ValueError(f"{name} must be a boolean")
    try:
        if kind is int:
            if isinstance(raw, float) and not raw.is_integer():
                raise ValueError
            return int(raw)
        if kind is float:
            return float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a {kind.__name__}") from None
    return str(raw)
