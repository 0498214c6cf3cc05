"""The /run_sse parser as it was before the speed work (commit 1e736f3), kept verbatim as the reference of
the differential tests in test_sse_parser.py: the optimised parser must produce the same events."""

# ruff: noqa
# mypy: ignore-errors

"""Incremental, tolerant parser of the ``/run_sse`` stream (docs/nemo-api.md §2.3, §2.7).

Two layers, both pure (bytes in, events out; no I/O), so they can be property-tested and benchmarked:

- :class:`SSEDecoder`: SSE framing. Buffers across chunks, splits on CRLF/CR/LF (a CR at a chunk
  end waits for the next chunk), joins multi-line ``data``, keeps ``event``/``id``/``retry``,
  reports comment lines.
- :class:`TurnParser`: turns decoded events into typed events (ADK form, typed form, top-level
  ``text``, every heartbeat form, ``{"error": ...}``), and keeps a summary of the turn (texts,
  tools, state-delta keys, counters).
"""


import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nemo_mcp.api.errors import MalformedResponseError
from nemo_mcp.api.models import (
    HeartbeatEvent,
    StreamErrorEvent,
    StreamItem,
    TextEvent,
    ToolCallEvent,
    ToolResultEvent,
)

__all__ = ["RawEvent", "SSEDecoder", "TurnParser", "parse_stream"]

HEARTBEAT_NAMES = frozenset({"heartbeat", "ping", "keepalive", "keep-alive", "keep_alive", "pong"})
_TOOL_CALL_TYPES = frozenset(
    {"tool_call", "tool_start", "toolcall_start", "function_call", "tool_use", "toolcall", "tool"}
)
_TOOL_RESULT_TYPES = frozenset(
    {"tool_result", "tool_end", "toolcall_end", "function_response", "function_result", "tool_response"}
)
_TEXT_TYPES = frozenset({"text", "message", "final", "answer", "content"})
_DELTA_TYPES = frozenset({"chunk", "delta", "text_delta", "partial"})
_NOISE_TEXT = re.compile(r"^\s*i\s+encountered\s+a\s+temporary\s+issue", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class RawEvent:
    """One decoded SSE event (or one comment line when ``comment`` is True)."""

    data: str = ""
    event: str = "message"
    id: str | None = None
    retry: int | None = None
    comment: bool = False


class SSEDecoder:
    """Incremental SSE decoder (WHATWG rules, tolerant at EOF: a final event without a blank line is kept)."""

    def __init__(self, max_event_bytes: int = 64 * 1024 * 1024) -> None:
        self._buf = bytearray()
        self._data: list[str] = []
        self._has_data = False
        self._event = ""
        self._last_id: str | None = None
        self._retry: int | None = None
        self._event_bytes = 0
        self._max = max_event_bytes
        self._first = True

    def feed(self, chunk: bytes) -> list[RawEvent]:
        out: list[RawEvent] = []
        if not chunk:
            return out
        self._buf += chunk
        if self._first and len(self._buf) >= 3:
            if self._buf.startswith(b"\xef\xbb\xbf"):
                del self._buf[:3]
            self._first = False
        buf = self._buf
        start = 0
        n = len(buf)
        while start < n:
            # find the next line break
            i_lf = buf.find(b"\n", start)
            i_cr = buf.find(b"\r", start, i_lf if i_lf >= 0 else n)
            if i_cr >= 0:
                if i_cr == n - 1:
                    break  # a CR at the end: could be half of CRLF, wait for more
                end = i_cr
                nxt = i_cr + 2 if buf[i_cr + 1] == 0x0A else i_cr + 1
            elif i_lf >= 0:
                end = i_lf
                nxt = i_lf + 1
            else:
                break
            self._line(bytes(buf[start:end]), out)
            start = nxt
        if start:
            del buf[:start]
        if len(buf) > self._max:
            del buf[:]
            raise MalformedResponseError("The agent stream sent an event larger than the client accepts.")
        return out

    def flush(self) -> list[RawEvent]:
        """End of stream: process a pending partial line and dispatch a pending event."""
        out: list[RawEvent] = []
        if self._buf:
            line = bytes(self._buf).rstrip(b"\r")
            self._buf.clear()
            self._line(line, out)
        self._dispatch(out)
        return out

    def _line(self, raw: bytes, out: list[RawEvent]) -> None:
        if not raw:
            self._dispatch(out)
            return
        line = raw.decode("utf-8", "replace")
        if line.startswith(":"):
            out.append(RawEvent(data=line[1:].strip(), event="comment", comment=True))
            return
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._event_bytes += len(raw)
            if self._event_bytes > self._max:
                self._data.clear()
                self._event_bytes = 0
                raise MalformedResponseError("The agent stream sent an event larger than the client accepts.")
            self._data.append(value)
            self._has_data = True
        elif field == "event":
            self._event = value
        elif field == "id":
            if "\x00" not in value:
                self._last_id = value
        elif field == "retry" and value.isascii() and value.isdigit() and len(value) < 12:
            self._retry = int(value)
        # other fields are ignored

    def _dispatch(self, out: list[RawEvent]) -> None:
        if not self._has_data:
            if self._event:
                # an `event: heartbeat` with no data line still signals liveness
                out.append(RawEvent(data="", event=self._event, id=self._last_id, retry=self._retry))
            self._event = ""
            return
        out.append(
            RawEvent(
                data="\n".join(self._data),
                event=self._event or "message",
                id=self._last_id,
                retry=self._retry,
            )
        )
        self._data = []
        self._has_data = False
        self._event = ""
        self._event_bytes = 0


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _error_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()[:500] or "unknown error"
    if isinstance(value, Mapping):
        for key in ("message", "msg", "detail", "error", "reason", "errorMessage"):
            inner = value.get(key)
            if isinstance(inner, str) and inner.strip():
                return inner.strip()[:500]
        return "unknown error"
    if value is None or isinstance(value, bool):
        return "unknown error"
    return str(value)[:500]


def _error_code(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("code", value.get("errorCode"))
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int, float)):
        return str(value)[:64]
    return None


def _dict(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    return {}


class TurnParser:
    """Typed events from ``/run_sse`` bytes, plus a running summary of the turn.

    ``feed(chunk)`` and ``close()`` return the new events. Never raises on arbitrary input except
    :class:`~nemo_mcp.api.errors.MalformedResponseError` for an over-long event.
    """

    def __init__(
        self, clock: Callable[[], float] = time.time, max_event_bytes: int = 64 * 1024 * 1024
    ) -> None:
        self._decoder = SSEDecoder(max_event_bytes)
        self._clock = clock
        self._partial = ""
        self._partial_author: str | None = None
        self.texts: list[str] = []
        self.tools_used: list[str] = []
        self.stream_errors: list[str] = []
        self.state_delta_keys: list[str] = []
        self._pending: list[tuple[str | None, str]] = []  # tool calls without a result yet: (id, name)
        self.event_count = 0  # non-heartbeat events
        self.heartbeat_count = 0
        self.last_meaningful: float | None = None
        self.closed = False

    # -- public ------

    def feed(self, chunk: bytes) -> list[StreamItem]:
        out: list[StreamItem] = []
        for raw in self._decoder.feed(chunk):
            self._interpret(raw, out)
        return out

    def close(self) -> list[StreamItem]:
        out: list[StreamItem] = []
        if self.closed:
            return out
        for raw in self._decoder.flush():
            self._interpret(raw, out)
        if self._partial:
            self._final_text(self._partial, self._partial_author, out)
        self.closed = True
        return out

    @property
    def had_error(self) -> bool:
        return bool(self.stream_errors)

    @property
    def pending_tools(self) -> list[str]:
        """Names of tool calls whose result never arrived (a close now means the stream was cut)."""
        return [name for _, name in self._pending]

    # -- interpretation ------

    def _emit(self, ev: StreamItem, out: list[StreamItem]) -> None:
        if isinstance(ev, ToolCallEvent):
            if len(self._pending) < 1000:
                self._pending.append((ev.call_id, ev.name))
        elif isinstance(ev, ToolResultEvent):
            self._resolve(ev.call_id, ev.name)
        if isinstance(ev, HeartbeatEvent):
            self.heartbeat_count += 1
        else:
            self.event_count += 1
            self.last_meaningful = ev.ts
        out.append(ev)

    def _resolve(self, call_id: str | None, name: str) -> None:
        for i, (pid, pname) in enumerate(self._pending):
            same_id = call_id is not None and pid == call_id
            if same_id or ((call_id is None or pid is None) and pname == name):
                del self._pending[i]
                return

    def _heartbeat(self, style: str, out: list[StreamItem]) -> None:
        self._emit(HeartbeatEvent(ts=self._clock(), style=style), out)

    def _interpret(self, raw: RawEvent, out: list[StreamItem]) -> None:
        if raw.comment:
            self._heartbeat("comment", out)
            return
        name = raw.event.strip().lower()
        if name in HEARTBEAT_NAMES:
            self._heartbeat("event", out)
            return
        data = raw.data
        if not data.strip():
            self._heartbeat("empty", out)
            return
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError):
            if name == "error":
                self._error(data.strip()[:500], None, out)
            else:
                self._heartbeat("noise", out)
            return
        if not isinstance(doc, dict):
            if name == "error" and isinstance(doc, str):
                self._error(doc[:500], None, out)
            else:
                self._heartbeat("noise", out)
            return
        self._interpret_doc(doc, name, out)

    def _interpret_doc(self, doc: dict[str, Any], event_name: str, out: list[StreamItem]) -> None:
        typ = doc.get("type")
        typ = typ.strip().lower() if isinstance(typ, str) else None
        if typ in HEARTBEAT_NAMES:
            self._heartbeat("typed", out)
            return
        self._track_state_delta(doc)

        err = doc.get("error")
        if err not in (None, "", False, {}, []) and typ in (None, "error"):
            self._error(_error_text(err), _error_code(err) or _error_code(doc.get("code")), out)
            return
        if typ == "error" or event_name == "error":
            msg = _error_text(
                doc.get("message") or doc.get("content") or doc.get("text") or doc.get("detail") or err
            )
            self._error(msg, _error_code(doc.get("code")), out)
            return

        handled = False
        if doc.get("errorCode") is not None or doc.get("errorMessage") is not None:
            self._error(
                _error_text(doc.get("errorMessage") or doc.get("errorCode")),
                _error_code(doc.get("errorCode")),
                out,
            )
            handled = True

        if typ is not None and self._typed(doc, typ, out):
            return

        content = doc.get("content")
        author = _str(doc.get("author"))
        if isinstance(content, Mapping):
            parts = content.get("parts")
            if isinstance(parts, list):
                self._adk_parts(parts, bool(doc.get("partial") is True), author, out)
                return
        elif isinstance(content, str) and content.strip() and typ is None:
            self._text(content, bool(doc.get("partial") is True), author, out)
            return

        text = doc.get("text")
        if isinstance(text, str) and text:
            self._text(text, bool(doc.get("partial") is True), author, out)
            return
        if not handled:
            # a JSON object we do not understand (e.g. an action-only ADK event): liveness, not content
            self._heartbeat("noise", out)

    def _typed(self, doc: dict[str, Any], typ: str, out: list[StreamItem]) -> bool:
        if typ in _TEXT_TYPES:
            text = doc.get("content")
            if not isinstance(text, str):
                text = doc.get("text")
            if isinstance(text, str):
                self._text(text, bool(doc.get("partial") is True), _str(doc.get("author")), out)
                return True
            return False
        if typ in _DELTA_TYPES:
            text = doc.get("text")
            if not isinstance(text, str):
                text = doc.get("content") if isinstance(doc.get("content"), str) else doc.get("delta")
            if isinstance(text, str):
                self._text(text, True, _str(doc.get("author")), out)
            else:
                self._heartbeat("noise", out)
            return True
        if typ in _TOOL_CALL_TYPES:
            name = self._tool_name(doc)
            args = doc.get("args", doc.get("arguments", doc.get("input")))
            self.tools_used.append(name)
            self._emit(
                ToolCallEvent(ts=self._clock(), name=name, args=_dict(args), call_id=_str(doc.get("id"))),
                out,
            )
            return True
        if typ in _TOOL_RESULT_TYPES:
            name = self._tool_name(doc)
            result = doc.get("result", doc.get("output", doc.get("response")))
            self._emit(
                ToolResultEvent(ts=self._clock(), name=name, result=result, call_id=_str(doc.get("id"))), out
            )
            return True
        if typ in ("done", "end", "turn_complete", "complete"):
            # SSE has no done signal; a close ends the turn (docs/nemo-api.md §8 C5)
            self._heartbeat("noise", out)
            return True
        return False

    @staticmethod
    def _tool_name(doc: Mapping[str, Any]) -> str:
        for key in ("name", "tool", "tool_name", "toolName"):
            val = doc.get(key)
            if isinstance(val, str) and val:
                return val[:200]
        return "tool"

    def _adk_parts(self, parts: list[Any], partial: bool, author: str | None, out: list[StreamItem]) -> None:
        texts: list[str] = []
        tool_events: list[StreamItem] = []
        for part in parts:
            if not isinstance(part, Mapping):
                continue
            text = part.get("text")
            if isinstance(text, str):
                if part.get("thought") is True:
                    continue
                texts.append(text)
                continue
            call = part.get("functionCall", part.get("function_call"))
            if isinstance(call, Mapping):
                name = _str(call.get("name")) or "tool"
                self.tools_used.append(name[:200])
                tool_events.append(
                    ToolCallEvent(
                        ts=self._clock(),
                        name=name[:200],
                        args=_dict(call.get("args")),
                        call_id=_str(call.get("id")),
                    )
                )
                continue
            resp = part.get("functionResponse", part.get("function_response"))
            if isinstance(resp, Mapping):
                name = _str(resp.get("name")) or "tool"
                tool_events.append(
                    ToolResultEvent(
                        ts=self._clock(),
                        name=name[:200],
                        result=resp.get("response"),
                        call_id=_str(resp.get("id")),
                    )
                )
        if texts:
            self._text("".join(texts), partial, author, out)
        for ev in tool_events:
            self._emit(ev, out)
        if not texts and not tool_events:
            self._heartbeat("noise", out)

    def _text(self, text: str, partial: bool, author: str | None, out: list[StreamItem]) -> None:
        if partial:
            self._partial += text
            self._partial_author = author
            self._emit(
                TextEvent(
                    ts=self._clock(), text=text, partial=True, accumulated=self._partial, author=author
                ),
                out,
            )
            return
        self._final_text(text, author, out)

    def _final_text(self, text: str, author: str | None, out: list[StreamItem]) -> None:
        # a final (non-partial) text replaces the accumulated partial chunks (ADK repeats the full text)
        self._partial = ""
        self._partial_author = None
        if not text.strip():
            self._heartbeat("empty", out)
            return
        noise = bool(self.texts) and bool(_NOISE_TEXT.match(text))
        if not noise:
            self.texts.append(text)
        self._emit(TextEvent(ts=self._clock(), text=text, partial=False, author=author, noise=noise), out)

    def _error(self, message: str, code: str | None, out: list[StreamItem]) -> None:
        self.stream_errors.append(message)
        self._emit(StreamErrorEvent(ts=self._clock(), message=message, code=code), out)

    def _track_state_delta(self, doc: Mapping[str, Any]) -> None:
        actions = doc.get("actions")
        candidates: list[Any] = [doc.get("stateDelta"), doc.get("state_delta")]
        if isinstance(actions, Mapping):
            candidates += [actions.get("stateDelta"), actions.get("state_delta")]
        for delta in candidates:
            if isinstance(delta, Mapping):
                for key in delta:
                    skey = str(key)[:200]
                    if skey not in self.state_delta_keys and len(self.state_delta_keys) < 1000:
                        self.state_delta_keys.append(skey)


def parse_stream(data: bytes, chunk_size: int = 0) -> tuple[list[StreamItem], TurnParser]:
    """Parse a complete stream (optionally fed in ``chunk_size`` pieces). Handy for tests and benchmarks."""
    parser = TurnParser()
    events: list[StreamItem] = []
    if chunk_size <= 0:
        events.extend(parser.feed(data))
    else:
        for i in range(0, len(data), chunk_size):
            events.extend(parser.feed(data[i : i + chunk_size]))
    events.extend(parser.close())
    return events, parser
