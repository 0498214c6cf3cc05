"""Incremental, tolerant parser of the ``/run_sse`` stream (docs/nemo-api.md §2.3, §2.7).

Two layers, both pure (bytes in, events out; no I/O), so they can be property-tested and benchmarked:

- :class:`SSEDecoder`: SSE framing. Buffers across chunks, splits on CRLF/CR/LF (a CR at a chunk
  end waits for the next chunk), joins multi-line ``data``, keeps ``event``/``id``/``retry``,
  reports comment lines.
- :class:`TurnParser`: turns decoded events into typed events (ADK form, typed form, top-level
  ``text``, every heartbeat form, ``{"error": ...}``), and keeps a summary of the turn (texts,
  tools, state-delta keys, counters).
"""

from __future__ import annotations

import codecs
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

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

_M = TypeVar("_M", bound=StreamItem)
_new = object.__new__
_setattr = object.__setattr__

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


#: an SSE event as the decoder hands it to :class:`TurnParser`: (data, event, id, retry, comment)
_Frame = tuple[str, str, str | None, int | None, bool]


class SSEDecoder:
    """Incremental SSE decoder (WHATWG rules, tolerant at EOF: a final event without a blank line is kept).

    Each chunk is decoded once (an incremental UTF-8 decoder keeps a character split across chunks) and
    split into lines on ``str``; a CR at the end of a chunk waits for the next one (it may be half a CRLF).
    """

    def __init__(self, max_event_bytes: int = 64 * 1024 * 1024) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self._tail = ""  # the unterminated last line (may end with a CR)
        self._data: list[str] = []
        self._event = ""
        self._last_id: str | None = None
        self._retry: int | None = None
        self._event_bytes = 0
        self._max = max_event_bytes
        self._first = True

    def feed(self, chunk: bytes) -> list[RawEvent]:
        return [RawEvent(*frame) for frame in self._feed(chunk)]

    def flush(self) -> list[RawEvent]:
        """End of stream: process a pending partial line and dispatch a pending event."""
        return [RawEvent(*frame) for frame in self._flush()]

    # -- internals (TurnParser uses the tuples directly) ------

    def _feed(self, chunk: bytes) -> list[_Frame]:
        out: list[_Frame] = []
        if not chunk:
            return out
        text = self._utf8.decode(chunk)
        if self._first:
            if not text:
                return out  # the first bytes of a character (or of a BOM): wait for more
            self._first = False
            if text[0] == "\ufeff":
                text = text[1:]
        if self._tail:
            text = self._tail + text
        if "\r" in text:
            held = text[-1] == "\r"  # a CR at the end: could be half of CRLF, wait for more
            if held:
                text = text[:-1]
            lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            tail = lines.pop()
            if held:
                tail += "\r"
        else:
            lines = text.split("\n")
            tail = lines.pop()
        self._tail = tail
        self._lines(lines, out)
        if len(tail) > self._max or (len(tail) * 4 > self._max and len(tail.encode()) > self._max):
            self._tail = ""
            raise MalformedResponseError("The agent stream sent an event larger than the client accepts.")
        return out

    def _flush(self) -> list[_Frame]:
        out: list[_Frame] = []
        rest = self._tail + self._utf8.decode(b"", final=True)
        self._tail = ""
        if rest:
            if self._first and rest[0] == "\ufeff":
                rest = rest[1:]
            self._first = False
            self._lines(rest.rstrip("\r").replace("\r\n", "\n").replace("\r", "\n").split("\n"), out)
        self._dispatch(out)
        return out

    def _lines(self, lines: list[str], out: list[_Frame]) -> None:
        data = self._data
        for line in lines:
            if not line:
                if data or self._event:
                    self._dispatch(out)
                    data = self._data
                continue
            if line[:5] == "data:":  # the common case, inline
                self._event_bytes += len(line) if line.isascii() else len(line.encode())
                if self._event_bytes > self._max:
                    self._data = []
                    self._event_bytes = 0
                    raise MalformedResponseError(
                        "The agent stream sent an event larger than the client accepts."
                    )
                data.append(line[6:] if line[5:6] == " " else line[5:])
                continue
            self._line(line, out)
            data = self._data

    def _line(self, line: str, out: list[_Frame]) -> None:
        if line[0] == ":":
            out.append((line[1:].strip(), "comment", None, None, True))
            return
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "data":  # "data" without a colon
            self._event_bytes += len(line)
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id":
            if "\x00" not in value:
                self._last_id = value
        elif field == "retry" and value.isascii() and value.isdigit() and len(value) < 12:
            self._retry = int(value)
        # other fields are ignored

    def _dispatch(self, out: list[_Frame]) -> None:
        if not self._data:
            if self._event:
                # an `event: heartbeat` with no data line still signals liveness
                out.append(("", self._event, self._last_id, self._retry, False))
            self._event = ""
            return
        data = self._data
        out.append(
            (
                data[0] if len(data) == 1 else "\n".join(data),
                self._event or "message",
                self._last_id,
                self._retry,
                False,
            )
        )
        self._data = []
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
    if type(value) is dict:
        return value  # from json.loads: string keys already, and nobody else holds it
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    return {}


#: the C scanner behind ``json.loads`` (same options as its default decoder)
_scan_once = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _loads(data: str) -> Any:
    """``json.loads(data)``, skipping its wrapper when the document fills ``data`` exactly (the usual case);
    anything else (surrounding whitespace, invalid JSON) goes through ``json.loads`` for its exact answer."""
    try:
        doc, end = _scan_once(data, 0)
    except StopIteration:
        return json.loads(data)
    if end != len(data):
        return json.loads(data)
    return doc


#: the first characters that can start a match of ``_NOISE_TEXT`` besides whitespace ("i" ignoring case,
#: dotless and dotted i included); tests/api/test_sse_parser.py checks this against the regex
_NOISE_FIRST = frozenset("iI\u0130\u0131")


def _event(cls: type[_M], values: dict[str, Any], fields_set: frozenset[str]) -> _M:
    """A frozen event model built from values already of the field types, without re-validation: the same
    object as ``cls(**{k: values[k] for k in fields_set})`` (``values`` names every field, defaults
    included, in declaration order; ``fields_set`` the ones that call would pass), at a fraction of the cost.
    """
    obj = _new(cls)
    _setattr(obj, "__dict__", values)
    _setattr(obj, "__pydantic_fields_set__", set(fields_set))
    _setattr(obj, "__pydantic_extra__", None)
    _setattr(obj, "__pydantic_private__", None)
    return obj


#: the fields each event is built with (``model_fields_set`` as if validated from those keywords)
_HEARTBEAT_SET = frozenset({"ts", "style"})
_FINAL_TEXT_SET = frozenset({"ts", "text", "partial", "author", "noise"})
_PARTIAL_TEXT_SET = frozenset({"ts", "text", "partial", "accumulated", "author"})
_TOOL_CALL_SET = frozenset({"ts", "name", "args", "call_id"})
_TOOL_RESULT_SET = frozenset({"ts", "name", "result", "call_id"})
_ERROR_SET = frozenset({"ts", "message", "code"})


class TurnParser:
    """Typed events from ``/run_sse`` bytes, plus a running summary of the turn.

    ``feed(chunk)`` and ``close()`` return the new events. Never raises on arbitrary input except
    :class:`~nemo_mcp.api.errors.MalformedResponseError` for an over-long event.

    The documents it interprets come from ``json.loads``: the only mapping type is ``dict`` and the only
    string type ``str``, so exact type checks (``type(x) is dict``) stand for the abstract ones.
    """

    def __init__(
        self, clock: Callable[[], float] = time.time, max_event_bytes: int = 64 * 1024 * 1024
    ) -> None:
        self._decoder = SSEDecoder(max_event_bytes)
        #: event timestamps are floats (what validating the models would make of an int clock)
        self._clock: Callable[[], float] = clock if clock is time.time else lambda: float(clock())
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
        interpret = self._interpret
        for frame in self._decoder._feed(chunk):
            interpret(frame, out)
        return out

    def close(self) -> list[StreamItem]:
        out: list[StreamItem] = []
        if self.closed:
            return out
        for frame in self._decoder._flush():
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

    # -- interpretation ------

    def _resolve(self, call_id: str | None, name: str) -> None:
        for i, (pid, pname) in enumerate(self._pending):
            same_id = call_id is not None and pid == call_id
            if same_id or ((call_id is None or pid is None) and pname == name):
                del self._pending[i]
                return

    def _heartbeat(self, style: str, out: list[StreamItem]) -> None:
        self.heartbeat_count += 1
        out.append(
            _event(HeartbeatEvent, {"ts": self._clock(), "kind": "heartbeat", "style": style}, _HEARTBEAT_SET)
        )

    def _interpret(self, frame: _Frame, out: list[StreamItem]) -> None:
        data, event, _id, _retry, comment = frame
        if comment:
            self._heartbeat("comment", out)
            return
        name = "message" if event == "message" else event.strip().lower()
        if name in HEARTBEAT_NAMES:
            self._heartbeat("event", out)
            return
        if not data or data.isspace():
            self._heartbeat("empty", out)
            return
        try:
            doc = _loads(data)
        except (ValueError, RecursionError):
            if name == "error":
                self._error(data.strip()[:500], None, out)
            else:
                self._heartbeat("noise", out)
            return
        if type(doc) is not dict:
            if name == "error" and type(doc) is str:
                self._error(doc[:500], None, out)
            else:
                self._heartbeat("noise", out)
            return
        self._interpret_doc(doc, name, out)

    def _interpret_doc(self, doc: dict[str, Any], event_name: str, out: list[StreamItem]) -> None:
        get = doc.get
        typ = get("type")
        if typ is not None:
            typ = typ.strip().lower() if type(typ) is str else None
            if typ in HEARTBEAT_NAMES:
                self._heartbeat("typed", out)
                return
        self._track_state_delta(doc)

        err = get("error")
        if err is not None and err not in ("", False, {}, []) and typ in (None, "error"):
            self._error(_error_text(err), _error_code(err) or _error_code(get("code")), out)
            return
        if typ == "error" or event_name == "error":
            msg = _error_text(get("message") or get("content") or get("text") or get("detail") or err)
            self._error(msg, _error_code(get("code")), out)
            return

        handled = False
        if get("errorCode") is not None or get("errorMessage") is not None:
            self._error(
                _error_text(get("errorMessage") or get("errorCode")),
                _error_code(get("errorCode")),
                out,
            )
            handled = True

        if typ is not None and self._typed(doc, typ, out):
            return

        content = get("content")
        author = get("author")
        if type(author) is not str:
            author = None
        if type(content) is dict:
            parts = content.get("parts")
            if type(parts) is list:
                self._adk_parts(parts, get("partial") is True, author, out)
                return
        elif type(content) is str and typ is None and not content.isspace() and content:
            self._text(content, get("partial") is True, author, out)
            return

        text = get("text")
        if type(text) is str and text:
            self._text(text, get("partial") is True, author, out)
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
            self._tool_call(name, _dict(args), _str(doc.get("id")), out)
            return True
        if typ in _TOOL_RESULT_TYPES:
            name = self._tool_name(doc)
            result = doc.get("result", doc.get("output", doc.get("response")))
            self._tool_result(name, result, _str(doc.get("id")), out)
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
        tools: list[tuple[bool, str, Any, str | None]] = []  # (is_call, name, args or result, call id)
        for part in parts:
            if type(part) is not dict:
                continue
            text = part.get("text")
            if type(text) is str:
                if part.get("thought") is True:
                    continue
                texts.append(text)
                continue
            call = part.get("functionCall", part.get("function_call"))
            if type(call) is dict:
                name = call.get("name")
                name = name[:200] if type(name) is str and name else "tool"
                self.tools_used.append(name)
                call_id = call.get("id")
                tools.append((True, name, _dict(call.get("args")), call_id if type(call_id) is str else None))
                continue
            resp = part.get("functionResponse", part.get("function_response"))
            if type(resp) is dict:
                name = resp.get("name")
                name = name[:200] if type(name) is str and name else "tool"
                call_id = resp.get("id")
                tools.append((False, name, resp.get("response"), call_id if type(call_id) is str else None))
        if texts:
            self._text(texts[0] if len(texts) == 1 else "".join(texts), partial, author, out)
        elif not tools:
            self._heartbeat("noise", out)
            return
        for is_call, name, value, call_id in tools:
            if is_call:
                self._tool_call(name, value, call_id, out)
            else:
                self._tool_result(name, value, call_id, out)

    def _tool_call(self, name: str, args: dict[str, Any], call_id: str | None, out: list[StreamItem]) -> None:
        ts = self._clock()
        if len(self._pending) < 1000:
            self._pending.append((call_id, name))
        self.event_count += 1
        self.last_meaningful = ts
        out.append(
            _event(
                ToolCallEvent,
                {"ts": ts, "kind": "tool_call", "name": name, "args": args, "call_id": call_id},
                _TOOL_CALL_SET,
            )
        )

    def _tool_result(self, name: str, result: Any, call_id: str | None, out: list[StreamItem]) -> None:
        ts = self._clock()
        self._resolve(call_id, name)
        self.event_count += 1
        self.last_meaningful = ts
        out.append(
            _event(
                ToolResultEvent,
                {"ts": ts, "kind": "tool_result", "name": name, "result": result, "call_id": call_id},
                _TOOL_RESULT_SET,
            )
        )

    def _text(self, text: str, partial: bool, author: str | None, out: list[StreamItem]) -> None:
        if partial:
            self._partial += text
            self._partial_author = author
            ts = self._clock()
            self.event_count += 1
            self.last_meaningful = ts
            out.append(
                _event(
                    TextEvent,
                    {
                        "ts": ts,
                        "kind": "text",
                        "text": text,
                        "partial": True,
                        "accumulated": self._partial,
                        "author": author,
                        "noise": False,
                    },
                    _PARTIAL_TEXT_SET,
                )
            )
            return
        self._final_text(text, author, out)

    def _final_text(self, text: str, author: str | None, out: list[StreamItem]) -> None:
        # a final (non-partial) text replaces the accumulated partial chunks (ADK repeats the full text)
        self._partial = ""
        self._partial_author = None
        if not text or text.isspace():
            self._heartbeat("empty", out)
            return
        noise = False
        if self.texts:
            first = text[0]
            if first in _NOISE_FIRST or first.isspace():
                noise = _NOISE_TEXT.match(text) is not None
        if not noise:
            self.texts.append(text)
        ts = self._clock()
        self.event_count += 1
        self.last_meaningful = ts
        out.append(
            _event(
                TextEvent,
                {
                    "ts": ts,
                    "kind": "text",
                    "text": text,
                    "partial": False,
                    "accumulated": None,
                    "author": author,
                    "noise": noise,
                },
                _FINAL_TEXT_SET,
            )
        )

    def _error(self, message: str, code: str | None, out: list[StreamItem]) -> None:
        self.stream_errors.append(message)
        ts = self._clock()
        self.event_count += 1
        self.last_meaningful = ts
        out.append(
            _event(
                StreamErrorEvent, {"ts": ts, "kind": "error", "message": message, "code": code}, _ERROR_SET
            )
        )

    def _track_state_delta(self, doc: dict[str, Any]) -> None:
        # candidates in order: doc.stateDelta, doc.state_delta, actions.stateDelta, actions.state_delta
        if "stateDelta" in doc or "state_delta" in doc:
            self._delta_keys(doc.get("stateDelta"))
            self._delta_keys(doc.get("state_delta"))
        actions = doc.get("actions")
        if type(actions) is dict:
            delta = actions.get("stateDelta")
            if delta:
                self._delta_keys(delta)
            if "state_delta" in actions:
                self._delta_keys(actions["state_delta"])

    def _delta_keys(self, delta: Any) -> None:
        if type(delta) is not dict:
            return
        seen, keys = self._delta_seen, self.state_delta_keys
        for key in delta:
            skey = str(key)[:200]
            if skey not in seen and len(keys) < 1000:
                seen.add(skey)
                keys.append(skey)


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
