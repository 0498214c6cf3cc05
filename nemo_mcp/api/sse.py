"""The ``/run_sse`` stream as typed events (docs/nemo-api.md §2.3, §2.7).

Two layers, both pure (bytes in, events out; no I/O):

- :class:`SSEFramer`: SSE framing by httpx-sse. Its line decoder splits the text on CR, LF and CRLF
  (a CR at a chunk end waits for the next chunk) and its event decoder gathers ``data`` (multi-line
  joined with ``\\n``), ``event``, ``id`` and ``retry`` into :class:`httpx_sse.ServerSentEvent`.
- :class:`TurnParser`: turns those events into typed events (ADK form, typed form, top-level ``text``,
  every heartbeat form, ``{"error": ...}``) and keeps a summary of the turn (texts, tools, state-delta
  keys, counters).

Why the framer feeds httpx-sse's decoders line by line instead of using ``EventSource.aiter_sse()``:
``aiter_sse`` reads the response itself and drops comment lines inside its decoder, but a ``: keep-alive``
comment is one of the documented heartbeat forms, and the turn's watchdog (``client/_turns.py``) reads the
chunks itself, with its own deadlines. So the framer sees every line first and handles what httpx-sse
leaves out: comment lines (heartbeats, in stream order), a UTF-8 BOM, a last event that ends without its
blank line (kept at close), and a bound on one event's size (memory).
"""

from __future__ import annotations

import codecs
import json
import re
import time
from collections.abc import Callable
from typing import Any, NamedTuple

# The decoders behind EventSource.aiter_sse(), used line by line (see the module docstring). They are not
# in httpx_sse's __all__; tests/api/test_sse_parser.py pins the behaviour relied on here.
from httpx_sse import ServerSentEvent
from httpx_sse._decoders import SSEDecoder, SSELineDecoder

from nemo_mcp.api.errors import MalformedResponseError
from nemo_mcp.api.models import (
    HeartbeatEvent,
    StreamErrorEvent,
    StreamItem,
    TextEvent,
    ToolCallEvent,
    ToolResultEvent,
)

__all__ = ["Comment", "SSEFramer", "TurnParser", "parse_stream"]

#: the default bound on one event (its field lines, or one unterminated line)
MAX_EVENT_BYTES = 64 * 1024 * 1024

HEARTBEAT_NAMES = frozenset({"heartbeat", "ping", "keepalive", "keep-alive", "keep_alive", "pong"})
_TOOL_CALL_TYPES = frozenset(
    {"tool_call", "tool_start", "toolcall_start", "function_call", "tool_use", "toolcall", "tool"}
)
_TOOL_RESULT_TYPES = frozenset(
    {"tool_result", "tool_end", "toolcall_end", "function_response", "function_result", "tool_response"}
)
_TEXT_TYPES = frozenset({"text", "message", "final", "answer", "content"})
_DELTA_TYPES = frozenset({"chunk", "delta", "text_delta", "partial"})
_DONE_TYPES = frozenset({"done", "end", "turn_complete", "complete"})
_NOISE_TEXT = re.compile(r"^\s*i\s+encountered\s+a\s+temporary\s+issue", re.IGNORECASE)


class Comment(NamedTuple):
    """An SSE comment line (``: keep-alive``): a heartbeat."""

    text: str


def _too_long() -> MalformedResponseError:
    return MalformedResponseError("The agent stream sent an event larger than the client accepts.")


class SSEFramer:
    """Incremental SSE framing: bytes in, :class:`~httpx_sse.ServerSentEvent` and :class:`Comment` out.

    ``max_event_bytes`` bounds the characters of one event's lines (and of one unterminated line); a longer
    event raises :class:`~nemo_mcp.api.errors.MalformedResponseError` instead of growing without limit.
    """

    def __init__(self, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")  # as httpx decodes text
        self._lines = SSELineDecoder()
        self._events = SSEDecoder()
        self._max = max_event_bytes
        self._started = False  # a BOM is skipped at the very start only
        self._block = 0  # characters of the current event's lines
        self._tail = 0  # characters of the line not terminated yet
        # Whether the block so far is an event: it has a data line, or names itself (``event: ping`` alone is
        # a heartbeat). httpx-sse also dispatches blocks of only ``id:``/``retry:`` lines (and, once an id
        # was seen, every further blank line), which SSE does not.
        self._data = False
        self._named = False

    def feed(self, chunk: bytes) -> list[ServerSentEvent | Comment]:
        return self._decode(self._utf8.decode(chunk))

    def close(self) -> list[ServerSentEvent | Comment]:
        """End of stream: the last line, then the last event even without its blank line."""
        out = self._decode(self._utf8.decode(b"", final=True))
        for line in self._lines.flush():
            self._line(line, out)
        self._line("", out)
        return out

    def _decode(self, text: str) -> list[ServerSentEvent | Comment]:
        out: list[ServerSentEvent | Comment] = []
        if not text:
            return out
        if not self._started:
            self._started = True
            if text[0] == "\ufeff":
                text = text[1:]
        lines = self._lines.decode(text)
        for line in lines:
            self._line(line, out)
        if lines:
            self._tail = len(text) - 1 - max(text.rfind("\n"), text.rfind("\r"))
        else:
            self._tail += len(text)
        if self._block + self._tail > self._max:
            raise _too_long()
        return out

    def _line(self, line: str, out: list[ServerSentEvent | Comment]) -> None:
        if line[:1] == ":":
            out.append(Comment(line[1:].strip()))
            return
        if line:
            self._block += len(line)
            if self._block > self._max:
                raise _too_long()
            if line.startswith("data:") or line == "data":
                self._data = True
            elif line.startswith("event"):
                field, _, value = line.partition(":")
                if field == "event":
                    self._named = bool(value[1:] if value[:1] == " " else value)
        event = self._events.decode(line)
        if not line:
            if event is not None and (self._data or self._named):
                out.append(event)
            self._data = self._named = False
            self._block = 0


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _error_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()[:500] or "unknown error"
    if isinstance(value, dict):
        for key in ("message", "msg", "detail", "error", "reason", "errorMessage"):
            inner = value.get(key)
            if isinstance(inner, str) and inner.strip():
                return inner.strip()[:500]
        return "unknown error"
    if value is None or isinstance(value, bool):
        return "unknown error"
    return str(value)[:500]


def _error_code(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("code", value.get("errorCode"))
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int, float)):
        return str(value)[:64]
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _tool_name(value: Any) -> str:
    return value[:200] if isinstance(value, str) and value else "tool"


class TurnParser:
    """Typed events from ``/run_sse`` bytes, plus a running summary of the turn.

    ``feed(chunk)`` and ``close()`` return the new events. Never raises on arbitrary input except
    :class:`~nemo_mcp.api.errors.MalformedResponseError` for an over-long event.

    The documents come from ``json.loads``: ``dict`` is their only mapping type, and its keys are strings.
    """

    def __init__(
        self, clock: Callable[[], float] = time.time, max_event_bytes: int = MAX_EVENT_BYTES
    ) -> None:
        self._framer = SSEFramer(max_event_bytes)
        self._clock = clock
        self._partial = ""
        self._partial_author: str | None = None
        self.texts: list[str] = []
        self.tools_used: list[str] = []
        self.stream_errors: list[str] = []
        self.state_delta_keys: list[str] = []
        self._delta_seen: set[str] = set()
        self._pending: list[tuple[str | None, str]] = []  # tool calls without a result yet: (id, name)
        self.event_count = 0  # non-heartbeat events
        self.heartbeat_count = 0
        self.last_meaningful: float | None = None
        self.closed = False

    # -- public ------

    def feed(self, chunk: bytes) -> list[StreamItem]:
        out: list[StreamItem] = []
        for frame in self._framer.feed(chunk):
            self._interpret(frame, out)
        return out

    def close(self) -> list[StreamItem]:
        out: list[StreamItem] = []
        if self.closed:
            return out
        for frame in self._framer.close():
            self._interpret(frame, out)
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

    # -- what each event does to the summary ------

    def _event(self, ev: StreamItem, out: list[StreamItem]) -> None:
        """A non-heartbeat event: it counts, and moves the time of the last meaningful event."""
        self.event_count += 1
        self.last_meaningful = ev.ts
        out.append(ev)

    def _heartbeat(self, style: str, out: list[StreamItem]) -> None:
        self.heartbeat_count += 1
        out.append(HeartbeatEvent(ts=self._clock(), style=style))

    def _tool_call(self, name: str, args: dict[str, Any], call_id: str | None, out: list[StreamItem]) -> None:
        self.tools_used.append(name)
        if len(self._pending) < 1000:
            self._pending.append((call_id, name))
        self._event(ToolCallEvent(ts=self._clock(), name=name, args=args, call_id=call_id), out)

    def _tool_result(self, name: str, result: Any, call_id: str | None, out: list[StreamItem]) -> None:
        for i, (pid, pname) in enumerate(self._pending):
            same_id = call_id is not None and pid == call_id
            if same_id or ((call_id is None or pid is None) and pname == name):
                del self._pending[i]
                break
        self._event(ToolResultEvent(ts=self._clock(), name=name, result=result, call_id=call_id), out)

    def _text(self, text: str, partial: bool, author: str | None, out: list[StreamItem]) -> None:
        if not partial:
            self._final_text(text, author, out)
            return
        self._partial += text
        self._partial_author = author
        ev = TextEvent(ts=self._clock(), text=text, partial=True, accumulated=self._partial, author=author)
        self._event(ev, out)

    def _final_text(self, text: str, author: str | None, out: list[StreamItem]) -> None:
        # a final (non-partial) text replaces the accumulated partial chunks (ADK repeats the full text)
        self._partial = ""
        self._partial_author = None
        if not text or text.isspace():
            self._heartbeat("empty", out)
            return
        # the backend's trailing "I encountered a temporary issue" after real output is noise
        # (docs/nemo-api.md §2.3); alone, it is all the user gets, so it stays
        noise = bool(self.texts) and _NOISE_TEXT.match(text) is not None
        if not noise:
            self.texts.append(text)
        self._event(TextEvent(ts=self._clock(), text=text, author=author, noise=noise), out)

    def _error(self, message: str, code: str | None, out: list[StreamItem]) -> None:
        self.stream_errors.append(message)
        self._event(StreamErrorEvent(ts=self._clock(), message=message, code=code), out)

    # -- interpretation ------

    def _interpret(self, frame: ServerSentEvent | Comment, out: list[StreamItem]) -> None:
        if isinstance(frame, Comment):
            self._heartbeat("comment", out)
            return
        name = frame.event  # "message" unless the event named itself
        if name != "message":
            name = name.strip().lower()
            if name in HEARTBEAT_NAMES:
                self._heartbeat("event", out)
                return
        data = frame.data
        if not data or data.isspace():
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
            code = _error_code(err) if isinstance(err, dict) else None  # a bare string is the message only
            self._error(_error_text(err), code or _error_code(doc.get("code")), out)
            return
        if typ == "error" or event_name == "error":
            msg = _error_text(
                doc.get("message") or doc.get("content") or doc.get("text") or doc.get("detail") or err
            )
            self._error(msg, _error_code(doc.get("code")), out)
            return

        # a model-level error can come with content: report it, then read the rest of the event
        reported = doc.get("errorCode") is not None or doc.get("errorMessage") is not None
        if reported:
            self._error(
                _error_text(doc.get("errorMessage") or doc.get("errorCode")),
                _error_code(doc.get("errorCode")),
                out,
            )

        if typ is not None and self._typed(doc, typ, out):
            return

        content = doc.get("content")
        author = _str(doc.get("author"))
        partial = doc.get("partial") is True
        if isinstance(content, dict):
            parts = content.get("parts")
            if isinstance(parts, list):
                self._adk_parts(parts, partial, author, out)
                return
        elif isinstance(content, str) and content and not content.isspace() and typ is None:
            self._text(content, partial, author, out)
            return

        text = doc.get("text")
        if isinstance(text, str) and text:
            self._text(text, partial, author, out)
            return
        if not reported:
            # a JSON object we do not understand (e.g. an action-only ADK event): liveness, not content
            self._heartbeat("noise", out)

    def _typed(self, doc: dict[str, Any], typ: str, out: list[StreamItem]) -> bool:
        """The typed form (``{"type": "text", ...}``); False when ``typ`` names no form handled here."""
        author = _str(doc.get("author"))
        if typ in _TEXT_TYPES:
            text = doc.get("content")
            if not isinstance(text, str):
                text = doc.get("text")
            if not isinstance(text, str):
                return False
            self._text(text, doc.get("partial") is True, author, out)
            return True
        if typ in _DELTA_TYPES:
            text = doc.get("text")
            if not isinstance(text, str):
                text = doc.get("content") if isinstance(doc.get("content"), str) else doc.get("delta")
            if isinstance(text, str):
                self._text(text, True, author, out)
            else:
                self._heartbeat("noise", out)
            return True
        if typ in _TOOL_CALL_TYPES or typ in _TOOL_RESULT_TYPES:
            name = "tool"
            for key in ("name", "tool", "tool_name", "toolName"):
                if isinstance(doc.get(key), str) and doc[key]:
                    name = _tool_name(doc[key])
                    break
            call_id = _str(doc.get("id"))
            if typ in _TOOL_CALL_TYPES:
                args = doc.get("args", doc.get("arguments", doc.get("input")))
                self._tool_call(name, _dict(args), call_id, out)
            else:
                result = doc.get("result", doc.get("output", doc.get("response")))
                self._tool_result(name, result, call_id, out)
            return True
        if typ in _DONE_TYPES:
            # SSE has no done signal; a close ends the turn (docs/nemo-api.md §8 C5)
            self._heartbeat("noise", out)
            return True
        return False

    def _adk_parts(self, parts: list[Any], partial: bool, author: str | None, out: list[StreamItem]) -> None:
        texts: list[str] = []
        tools: list[tuple[bool, str, Any, str | None]] = []  # (is a call, name, args or result, call id)
        for part in parts:
            if not isinstance(part, dict):
                continue
            text = part.get("text")
            if isinstance(text, str):
                if part.get("thought") is not True:  # model thinking is not for the user
                    texts.append(text)
                continue
            call = part.get("functionCall", part.get("function_call"))
            if isinstance(call, dict):
                args = _dict(call.get("args"))
                tools.append((True, _tool_name(call.get("name")), args, _str(call.get("id"))))
                continue
            resp = part.get("functionResponse", part.get("function_response"))
            if isinstance(resp, dict):
                result = resp.get("response")
                tools.append((False, _tool_name(resp.get("name")), result, _str(resp.get("id"))))
        # the text of an event first, then its tool calls and results
        if texts:
            self._text("".join(texts), partial, author, out)
        elif not tools:
            self._heartbeat("noise", out)
        for is_call, name, value, call_id in tools:
            if is_call:
                self._tool_call(name, value, call_id, out)
            else:
                self._tool_result(name, value, call_id, out)

    def _track_state_delta(self, doc: dict[str, Any]) -> None:
        actions = doc.get("actions")
        for owner in (doc, actions) if isinstance(actions, dict) else (doc,):
            # old ADK versions wrote the actions' keys in snake_case (docs/nemo-api.md §2.2)
            for delta in (owner.get("stateDelta"), owner.get("state_delta")):
                if delta and isinstance(delta, dict):
                    for key in delta:
                        skey = key[:200]
                        if skey not in self._delta_seen and len(self.state_delta_keys) < 1000:
                            self._delta_seen.add(skey)
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
