"""Tolerant decoders from response payloads to models (render status shapes, state, uploads, sessions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nemo_mcp.api._values import finite_float, json_in_string
from nemo_mcp.api.errors import MalformedResponseError
from nemo_mcp.api.models import Credits, ProjectState, RenderStatus, Session, UploadedFile
from nemo_mcp.api.models import RenderStatusName as _StatusName
from nemo_mcp.api.timeline import Timeline

__all__ = [
    "detect_language",
    "normalize_render_status",
    "parse_credits",
    "parse_render_status",
    "parse_session",
    "parse_state",
    "parse_uploaded_files",
]


def detect_language(text: str | None) -> str:
    """``ja`` if any kana, ``ko`` if any hangul, ``zh-CN`` if any CJK ideograph, else ``en``."""
    if not text:
        return "en"
    han = hangul = False
    for ch in text:
        cp = ord(ch)
        if 0x3040 <= cp <= 0x30FF or 0x31F0 <= cp <= 0x31FF or 0xFF66 <= cp <= 0xFF9D:
            return "ja"
        if 0xAC00 <= cp <= 0xD7AF or 0x1100 <= cp <= 0x11FF or 0x3130 <= cp <= 0x318F:
            hangul = True
        elif (
            0x4E00 <= cp <= 0x9FFF
            or 0x3400 <= cp <= 0x4DBF
            or 0xF900 <= cp <= 0xFAFF
            or 0x20000 <= cp <= 0x2FA1F
        ):
            han = True
    if hangul:
        return "ko"
    if han:
        return "zh-CN"
    return "en"


def _int(value: Any) -> int | None:
    n = finite_float(value)
    return int(n) if n is not None and abs(n) < 1e15 else None


def _str(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _pick(doc: Mapping[str, Any], *keys: str) -> Any:
    """First present value among ``keys`` in ``doc``, then in ``doc["data"]`` / ``doc["session"]``."""
    for scope in (doc, doc.get("data"), doc.get("session")):
        if isinstance(scope, Mapping):
            for key in keys:
                val = scope.get(key)
                if val not in (None, ""):
                    return val
    return None


def parse_session(data: Any, language: str) -> Session:
    if not isinstance(data, Mapping):
        raise MalformedResponseError("NemoVideo did not return a project/session id. Try again.")
    task_id = _str(_pick(data, "task_id", "taskId", "project_id"))
    session_id = _str(_pick(data, "session_id", "sessionId", "id"))
    if not session_id:
        raise MalformedResponseError("NemoVideo did not return a session id for the new project. Try again.")
    return Session(
        task_id=task_id or "",
        session_id=session_id,
        user_id=_str(_pick(data, "user_id", "userId")),
        language=language,
    )


def parse_credits(data: Any) -> Credits:
    if not isinstance(data, Mapping):
        raise MalformedResponseError("NemoVideo returned an unreadable credit balance. Try again.")
    scope: Mapping[str, Any] = data
    if finite_float(data.get("available")) is None and isinstance(data.get("data"), Mapping):
        scope = data["data"]
    available = finite_float(scope.get("available"))
    if available is None:
        available = finite_float(scope.get("balance", scope.get("credits")))
    if available is None:
        raise MalformedResponseError("NemoVideo returned an unreadable credit balance. Try again.")
    frozen = finite_float(scope.get("frozen")) or 0.0
    total = finite_float(scope.get("total"))
    if total is None:
        total = available + frozen
    return Credits(available=available, frozen=frozen, total=total)


_STATUS_MAP: dict[str, _StatusName] = {
    "pending": "pending",
    "queued": "pending",
    "submitted": "pending",
    "created": "pending",
    "waiting": "pending",
    "processing": "processing",
    "running": "processing",
    "rendering": "processing",
    "in_progress": "processing",
    "progress": "processing",
    "started": "processing",
    "completed": "completed",
    "complete": "completed",
    "succeeded": "completed",
    "success": "completed",
    "done": "completed",
    "finished": "completed",
    "failed": "failed",
    "failure": "failed",
    "error": "failed",
    "errored": "failed",
    "timed_out": "failed",
    "cancelled": "cancelled",
    "canceled": "cancelled",
}


def normalize_render_status(value: Any) -> _StatusName:
    if isinstance(value, str):
        return _STATUS_MAP.get(value.strip().lower().replace("-", "_").replace(" ", "_"), "unknown")
    return "unknown"


def _url_of(scope: Mapping[str, Any]) -> str | None:
    for key in ("outputUrl", "output_url"):
        val = _str(scope.get(key))
        if val:
            return val
    output = scope.get("output")
    if isinstance(output, Mapping):
        val = _str(output.get("url"))
        if val:
            return val
    elif isinstance(output, str) and output.strip():
        return output.strip()
    for key in ("url", "download_url", "downloadUrl"):
        val = _str(scope.get(key))
        if val:
            return val
    return None


def parse_render_status(doc: Any, render_id: str) -> RenderStatus:
    """Both documented poll shapes (docs/nemo-api.md §8 C1), with or without the envelope unwrapped."""
    if not isinstance(doc, Mapping):
        raise MalformedResponseError(
            "The render service returned an unreadable status. Trying again may help."
        )
    inner_raw = doc.get("data")
    inner: Mapping[str, Any] = inner_raw if isinstance(inner_raw, Mapping) else {}
    status_raw = inner.get("status") if "status" in inner else doc.get("status")
    status = normalize_render_status(status_raw)
    url = _url_of(inner) or _url_of(doc)
    progress = (
        finite_float(inner.get("progress")) if "progress" in inner else finite_float(doc.get("progress"))
    )
    if progress is not None:
        if 0 < progress <= 1 and isinstance(inner.get("progress", doc.get("progress")), float):
            progress *= 100
        progress = max(0.0, min(100.0, progress))
    error: Any = inner.get("error") or doc.get("error")
    if error is None and status == "failed":
        error = inner.get("message") or doc.get("message")
    if isinstance(error, Mapping):
        error = error.get("message") or error.get("detail")
    err_text = " ".join(error.split())[:300] if isinstance(error, str) and error.strip() else None
    size = None
    for scope in (inner, doc):
        out = scope.get("output")
        if isinstance(out, Mapping):
            size = _int(out.get("size"))
            if size is not None:
                break
    rid = _str(inner.get("id")) or _str(doc.get("id")) or _str(doc.get("taskId")) or render_id
    return RenderStatus(
        id=rid,
        status=status,
        progress=progress,
        output_url=url,
        error=err_text,
        size=size,
        raw=dict(doc),
    )


def parse_state(data: Any, session_id: str) -> ProjectState:
    """``GET /api/state/...`` payload: ``{session_id, task_id, task_name, state}`` or the state itself."""
    if not isinstance(data, Mapping):
        raise MalformedResponseError("NemoVideo returned an unreadable project state. Try again.")
    state_raw = json_in_string(data.get("state"))
    state: Mapping[str, Any] = state_raw if isinstance(state_raw, Mapping) else data
    draft_raw = json_in_string(state.get("draft"))
    draft: dict[str, Any] = dict(draft_raw) if isinstance(draft_raw, Mapping) else {}
    infos = state.get("video_infos")
    canvas = state.get("canvas_config")
    return ProjectState(
        session_id=_str(data.get("session_id")) or session_id,
        task_id=_str(data.get("task_id")),
        task_name=_str(data.get("task_name")),
        user_id=_str(data.get("user_id")) or _str(state.get("user_id")),
        draft=draft,
        timeline=Timeline.from_draft(draft),
        video_infos=list(infos) if isinstance(infos, list) else [],
        canvas_config=dict(canvas) if isinstance(canvas, Mapping) else {},
        video_analyses=state.get("video_analyses"),
        generated_media=state.get("generated_media"),
        raw=dict(data),
    )


def parse_uploaded_files(data: Any) -> list[UploadedFile]:
    if isinstance(data, list):
        files_raw: Any = data
    elif isinstance(data, Mapping):
        files_raw = data.get("files")
        if files_raw is None and isinstance(data.get("data"), Mapping):
            files_raw = data["data"].get("files")
        if files_raw is None and (_str(data.get("cdn_url")) or _str(data.get("url"))):
            files_raw = [data]
    else:
        files_raw = None
    if not isinstance(files_raw, list):
        raise MalformedResponseError(
            "NemoVideo accepted the upload but returned no file list. Check the project state."
        )
    out: list[UploadedFile] = []
    for item in files_raw:
        if not isinstance(item, Mapping):
            continue
        url = _str(item.get("cdn_url")) or _str(item.get("url"))
        name = (
            _str(item.get("filename"))
            or _str(item.get("name"))
            or (url.rsplit("/", 1)[-1] if url else "file")
        )
        out.append(
            UploadedFile(
                filename=name,
                file_type=_str(item.get("file_type")) or _str(item.get("type")),
                cdn_url=url,
                duration=finite_float(item.get("duration")),
                width=_int(item.get("width")),
                height=_int(item.get("height")),
                fps=finite_float(item.get("fps")),
                hash=_str(item.get("hash")),
                raw=dict(item),
            )
        )
    return out
