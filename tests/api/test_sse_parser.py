"""The pure `/run_sse` parser: SSE framing, every documented form (docs/nemo-api.md §2.3, §2.7), chunk
boundaries, properties, a 100k-event run."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nemo_mcp.api import (
    HeartbeatEvent,
    MalformedResponseError,
    StreamErrorEvent,
    TextEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from nemo_mcp.api.sse import Comment, SSEFramer, TurnParser, parse_stream


def frame(payload: Any) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def adk_text(text: str, **kw: Any) -> dict[str, Any]:
    return {"content": {"parts": [{"text": text}], "role": "model"}, "author": "nemo_agent", **kw}


def adk_call(name: str, call_id: str | None = "c1", **args: Any) -> dict[str, Any]:
    call: dict[str, Any] = {"name": name, "args": args}
    if call_id is not None:
        call["id"] = call_id
    return {"content": {"parts": [{"functionCall": call}], "role": "model"}}


def adk_result(name: str, call_id: str | None = "c1", **response: Any) -> dict[str, Any]:
    resp: dict[str, Any] = {"name": name, "response": response}
    if call_id is not None:
        resp["id"] = call_id
    return {"content": {"parts": [{"functionResponse": resp}], "role": "user"}}


def kinds(events: list[Any]) -> list[str]:
    return [e.kind for e in events]


def framed(raw: bytes, chunk: int = 0) -> list[tuple[str, str] | str]:
    """(event, data) of each framed event, and ``#text`` for each comment line."""
    framer = SSEFramer()
    pieces = [raw] if chunk <= 0 else [raw[i : i + chunk] for i in range(0, len(raw), chunk)]
    frames = [f for piece in pieces for f in framer.feed(piece)] + framer.close()
    return [f"#{f.text}" if isinstance(f, Comment) else (f.event, f.data) for f in frames]


# -- framing --------------------


def test_framing_joins_multiline_data_and_ignores_id_and_retry() -> None:
    raw = b"event: message\nid: 7\nretry: 1500\ndata: a\ndata:b\ndata\n\n"
    assert framed(raw) == [("message", "a\nb\n")]


@pytest.mark.parametrize("sep", [b"\n", b"\r\n", b"\r"])
def test_every_line_break_at_every_chunk_boundary(sep: bytes) -> None:
    raw = b'data: {"text": "hi"}' + sep + sep + b": ping" + sep + b"data: 2" + sep + sep
    for size in (0, 1, 2, 3, 5):
        assert framed(raw, size) == [("message", '{"text": "hi"}'), "#ping", ("message", "2")]


def test_a_cr_at_a_chunk_end_waits_for_its_lf() -> None:
    framer = SSEFramer()
    assert framer.feed(b"data: x\r") == []
    assert [f.data for f in framer.feed(b"\n\r\n") if not isinstance(f, Comment)] == ["x"]


def test_comment_lines_are_reported_in_stream_order() -> None:
    # a comment between two data lines of one event comes out before that event
    raw = b': first\n\ndata: {"text":\n: inside\ndata: "x"}\n\n:last'
    assert framed(raw) == ["#first", "#inside", ("message", '{"text":\n"x"}'), "#last"]


def test_blocks_without_data_or_event_name_are_not_events() -> None:
    # httpx-sse dispatches id-only blocks, and once an id was seen, every further blank line
    assert framed(b"id: 1\n\nretry: 20\n\n\n\nevent:\n\nfoo: bar\n\n") == []
    assert framed(b"id: 1\n\n\n\ndata: x\n\n\n\n") == [("message", "x")]


def test_an_event_name_alone_is_an_event() -> None:
    assert framed(b"event: ping\n\nevent: heartbeat\n") == [("ping", ""), ("heartbeat", "")]


def test_utf8_split_across_chunks_and_invalid_bytes_replaced() -> None:
    raw = frame(adk_text("視頻剪輯 ✂️"))
    _events, parser = parse_stream(raw, chunk_size=1)
    assert parser.texts == ["視頻剪輯 ✂️"]
    assert framed(b"data: a\xffb\n\n") == [("message", "a\ufffdb")]


def test_the_final_event_without_a_blank_line_is_kept() -> None:
    for tail in (b"", b"\n", b"\r", b"\r\n"):
        _events, parser = parse_stream(b'data: {"text": "tail"}' + tail, chunk_size=3)
        assert parser.texts == ["tail"]


def test_a_bom_is_skipped_at_the_start_only() -> None:
    for chunk in (0, 1, 2):
        _, parser = parse_stream(b"\xef\xbb\xbf" + frame({"text": "x"}), chunk_size=chunk)
        assert parser.texts == ["x"]
    # anywhere else it is content (here: an unknown field name, so no event)
    assert framed(frame({"text": "x"}) + b"\xef\xbb\xbfdata: y\n\n") == [("message", '{"text": "x"}')]


def parse_limited(raw: bytes, chunk: int) -> None:
    parser = TurnParser(max_event_bytes=1000)
    size = chunk or len(raw)
    for i in range(0, len(raw), size):
        parser.feed(raw[i : i + size])
    parser.close()


@pytest.mark.parametrize(
    "raw",
    [
        b"data: " + b"x" * 5000,  # one line that never ends
        b"data: " + b"x" * 5000 + b"\n\n",  # a complete event, in one chunk
        b"data: xxxxxxxxxx\n" * 200,  # many lines of one event
        b"data: " + b"x" * 600 + b"\ndata: " + b"x" * 600,  # complete lines plus an unterminated one
    ],
)
def test_an_over_long_event_is_a_typed_error(raw: bytes) -> None:
    for chunk in (0, 7, 64):
        with pytest.raises(MalformedResponseError) as info:
            parse_limited(raw, chunk)
        assert info.value.tag == "bad_response"
    # the bound is per event: many normal events are fine
    parser = TurnParser(max_event_bytes=1000)
    assert len(parser.feed(frame({"text": "x" * 500}) * 100)) == 100


def test_httpx_sse_decoders_behave_as_relied_on() -> None:
    # nemo_mcp.api.sse feeds httpx-sse's decoders line by line; pin what it relies on
    from httpx_sse._decoders import SSEDecoder, SSELineDecoder

    lines = SSELineDecoder()
    assert lines.decode("a\r\nb\rc\nd\r") == ["a", "b", "c"]
    assert lines.decode("\ne") == ["d"]
    assert lines.flush() == ["e"]
    events = SSEDecoder()
    assert events.decode(": comment") is None
    assert [events.decode(x) for x in ("event: x", "data: 1", "data:2")] == [None, None, None]
    sse = events.decode("")
    assert sse is not None
    assert (sse.event, sse.data) == ("x", "1\n2")
    assert events.decode("") is None


# -- heartbeats --------------------


@pytest.mark.parametrize(
    ("raw", "style"),
    [
        (b": keep-alive\n\n", "comment"),
        (b":\n", "comment"),
        (b"data:\n\n", "empty"),
        (b"data: \n\n", "empty"),
        (b"data:  \t \n\n", "empty"),
        (b'data: {"type": "heartbeat"}\n\n', "typed"),
        (b'data: {"type": "ping"}\n\n', "typed"),
        (b'data: {"type": " KeepAlive "}\n\n', "typed"),
        (b"event: heartbeat\ndata: {}\n\n", "event"),
        (b"event: ping\n\n", "event"),
        (b"event: keep-alive\ndata: whatever\n\n", "event"),
        (b"data: not json at all\n\n", "noise"),
        (b"data: [1, 2]\n\n", "noise"),
        (b"data: {bad\n\n", "noise"),
        (b'data: {"trunc', "noise"),  # a frame cut mid-JSON at the end of the stream
        (b'data: {"type": "done"}\n\n', "noise"),  # SSE has no done event: the close ends the turn
        (b'data: {"actions": {"artifactDelta": {"a": 1}}}\n\n', "noise"),  # an action-only ADK event
        (b'data: {"content": "  "}\n\n', "noise"),
    ],
)
def test_every_heartbeat_form_is_liveness_not_content(raw: bytes, style: str) -> None:
    events, parser = parse_stream(raw)
    assert [type(e) for e in events] == [HeartbeatEvent]
    assert events[0].style == style  # type: ignore[union-attr]
    assert parser.event_count == 0
    assert parser.heartbeat_count == 1
    assert not parser.texts
    assert parser.last_meaningful is None


# -- ADK form --------------------


def test_adk_text_tool_call_result_and_state_delta() -> None:
    raw = (
        frame(adk_text("Sure, editing now."))
        + frame({**adk_call("edit_multitrack", x=1), "longRunningToolIds": ["c1"]})
        + b": keep-alive\n\n"
        + frame(
            {
                **adk_result("edit_multitrack", ok=1),
                "actions": {"stateDelta": {"draft": {}, "video_infos": []}},
            }
        )
        + frame(adk_text("Done! Click Export to download."))
    )
    events, parser = parse_stream(raw)
    assert kinds(events) == ["text", "tool_call", "heartbeat", "tool_result", "text"]
    call = events[1]
    assert isinstance(call, ToolCallEvent)
    assert (call.name, call.args, call.call_id) == ("edit_multitrack", {"x": 1}, "c1")
    result = events[3]
    assert isinstance(result, ToolResultEvent)
    assert (result.name, result.result, result.call_id) == ("edit_multitrack", {"ok": 1}, "c1")
    assert parser.texts == ["Sure, editing now.", "Done! Click Export to download."]
    assert parser.tools_used == ["edit_multitrack"]
    assert parser.state_delta_keys == ["draft", "video_infos"]
    assert parser.pending_tools == []
    assert (parser.event_count, parser.heartbeat_count) == (4, 1)


def test_snake_case_parts_and_several_parts_in_one_event() -> None:
    raw = frame(
        {
            "content": {
                "parts": [
                    {"text": "Adding "},
                    {"text": "a title."},
                    {"function_call": {"name": "edit_multitrack", "args": {"t": "Hi"}, "id": "a"}},
                    "not a part",
                    {"function_response": {"name": "edit_multitrack", "response": [1], "id": "a"}},
                ]
            }
        }
    )
    events, parser = parse_stream(raw)
    assert kinds(events) == ["text", "tool_call", "tool_result"]  # the text first, then the tools
    assert parser.texts == ["Adding a title."]
    assert parser.pending_tools == []


def test_thought_parts_are_skipped() -> None:
    raw = frame({"content": {"parts": [{"text": "secret plan", "thought": True}, {"text": "Visible"}]}})
    _, parser = parse_stream(raw)
    assert parser.texts == ["Visible"]
    only_thought = frame({"content": {"parts": [{"text": "hmm", "thought": True}]}})
    events, parser = parse_stream(only_thought)
    assert parser.texts == []
    assert kinds(events) == ["heartbeat"]


def test_partial_chunks_accumulate_then_final_replaces() -> None:
    raw = (
        frame(adk_text("Hel", partial=True))
        + frame(adk_text("lo wor", partial=True))
        + frame(adk_text("Hello world!"))  # ADK repeats the full text in the final event
    )
    events, parser = parse_stream(raw)
    partials = [e for e in events if isinstance(e, TextEvent) and e.partial]
    assert [(p.text, p.accumulated, p.author) for p in partials] == [
        ("Hel", "Hel", "nemo_agent"),
        ("lo wor", "Hello wor", "nemo_agent"),
    ]
    finals = [e for e in events if isinstance(e, TextEvent) and not e.partial]
    assert [(f.text, f.accumulated) for f in finals] == [("Hello world!", None)]
    assert parser.texts == ["Hello world!"]  # not "Hello worHello world!"


def test_unfinished_partials_are_flushed_at_close() -> None:
    events, parser = parse_stream(
        frame(adk_text("half", partial=True)) + frame(adk_text(" done", partial=True))
    )
    assert parser.texts == ["half done"]
    assert isinstance(events[-1], TextEvent)
    assert (events[-1].partial, events[-1].author) == (False, "nemo_agent")


def test_error_code_and_message_event() -> None:
    events, parser = parse_stream(frame({"errorCode": "MALFORMED_FUNCTION_CALL", "errorMessage": "bad call"}))
    assert kinds(events) == ["error"]
    assert isinstance(events[0], StreamErrorEvent)
    assert (events[0].message, events[0].code) == ("bad call", "MALFORMED_FUNCTION_CALL")
    assert parser.stream_errors == ["bad call"]


def test_an_error_code_with_content_reports_both() -> None:
    events, parser = parse_stream(frame({"errorCode": "E1", "errorMessage": "bad", "text": "still"}))
    assert kinds(events) == ["error", "text"]
    assert parser.stream_errors == ["bad"]
    assert parser.texts == ["still"]
    events, _ = parse_stream(frame({"errorCode": 429}))
    assert [(e.message, e.code) for e in events if isinstance(e, StreamErrorEvent)] == [("429", "429")]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"error": "boom"}, None),
        ({"error": "boom", "code": 503}, "503"),
        ({"error": {"message": "boom", "code": 500}}, "500"),
        ({"error": {"detail": "boom"}, "code": 7}, "7"),
        ({"type": "error", "message": "boom"}, None),
        ({"type": "Error", "content": "boom", "code": "E"}, "E"),
    ],
)
def test_error_events(payload: dict[str, Any], code: str | None) -> None:
    events, parser = parse_stream(frame(payload))
    assert kinds(events) == ["error"]
    assert isinstance(events[0], StreamErrorEvent)
    assert (events[0].message, events[0].code) == ("boom", code)
    assert parser.had_error


def test_an_empty_error_value_is_not_an_error() -> None:
    _, parser = parse_stream(frame({"error": None, "text": "fine"}) + frame({"error": "", "text": "ok"}))
    assert parser.texts == ["fine", "ok"]
    assert not parser.had_error


def test_an_event_named_error() -> None:
    events, _ = parse_stream(b'event: error\ndata: upstream exploded\n\nevent: error\ndata: "quoted"\n\n')
    assert [(e.kind, getattr(e, "message", None)) for e in events] == [
        ("error", "upstream exploded"),
        ("error", "quoted"),
    ]
    events, _ = parse_stream(b'event: error\ndata: {"detail": "no session"}\n\n')
    assert [getattr(e, "message", None) for e in events] == ["no session"]


@pytest.mark.parametrize(
    "trailing",
    [
        "I encountered a temporary issue. Try again.",
        " I encountered a temporary issue",
        "i  ENCOUNTERED a Temporary issue",
        "\u0130 encountered a TEMPORARY issue",  # dotted capital I
        "\u3000i encountered a temporary issue",  # an ideographic space first
    ],
)
def test_trailing_temporary_issue_is_noise_after_real_output(trailing: str) -> None:
    events, parser = parse_stream(frame(adk_text("Your video is ready.")) + frame(adk_text(trailing)))
    assert parser.texts == ["Your video is ready."]
    assert isinstance(events[-1], TextEvent)
    assert events[-1].noise
    assert events[-1].text == trailing


def test_temporary_issue_alone_is_kept() -> None:
    # alone, it is the only thing the user gets
    events, alone = parse_stream(frame(adk_text("I encountered a temporary issue.")))
    assert alone.texts == ["I encountered a temporary issue."]
    assert isinstance(events[0], TextEvent)
    assert not events[0].noise


def test_state_delta_keys_from_every_place_once() -> None:
    raw = frame({"stateDelta": {"a": 1}, "actions": {"state_delta": {"b": 2}, "stateDelta": {"c": 3}}})
    raw += frame({"state_delta": {"a": 0, "d": 1}, "text": "x"})
    _, parser = parse_stream(raw)
    assert parser.state_delta_keys == ["a", "c", "b", "d"]


# -- typed form and others --------------------


def test_typed_form() -> None:
    raw = (
        frame({"type": "text", "content": "I'll generate your video now..."})
        + frame({"type": "tool_call", "name": "generate_video_with_seedance", "args": {"d": 10}})
        + frame({"type": "heartbeat"})
        + frame({"type": "tool_result", "name": "generate_video_with_seedance", "result": {"ok": True}})
        + frame({"type": "text", "text": "Ready."})
    )
    events, parser = parse_stream(raw)
    assert kinds(events) == ["text", "tool_call", "heartbeat", "tool_result", "text"]
    assert parser.texts == ["I'll generate your video now...", "Ready."]
    assert parser.tools_used == ["generate_video_with_seedance"]
    assert parser.pending_tools == []


def test_typed_tools_pair_by_id_and_deltas_accumulate() -> None:
    raw = (
        frame({"type": "tool_call", "name": "t", "arguments": {"a": 1}, "id": "c1"})
        + frame({"type": "tool_use", "tool": "u", "input": {"b": 2}, "id": "c2"})
        + frame({"type": "tool_result", "name": "t", "output": [1], "id": "c1"})
        + frame({"type": "delta", "delta": "pa"})
        + frame({"type": "chunk", "text": "rt"})
    )
    events, parser = parse_stream(raw)
    calls = [e for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.name, c.args, c.call_id) for c in calls] == [("t", {"a": 1}, "c1"), ("u", {"b": 2}, "c2")]
    results = [e for e in events if isinstance(e, ToolResultEvent)]
    assert [(r.name, r.result) for r in results] == [("t", [1])]
    assert parser.pending_tools == ["u"]
    assert [e.accumulated for e in events if isinstance(e, TextEvent) and e.partial] == ["pa", "part"]
    assert parser.texts == ["part"]  # flushed at close


def test_gateway_style_chunks_then_full_text() -> None:
    raw = frame({"type": "chunk", "text": "Hi "}) + frame({"type": "chunk", "text": "there"})
    raw += frame({"type": "text", "text": "Hi there"}) + frame({"type": "tool_start", "tool": "edit"})
    _, parser = parse_stream(raw)
    assert parser.texts == ["Hi there"]
    assert parser.tools_used == ["edit"]


def test_top_level_text_and_content_forms() -> None:
    _, parser = parse_stream(frame({"text": "Nicola style"}) + frame({"content": "top-level content"}))
    assert parser.texts == ["Nicola style", "top-level content"]
    _, spaced = parse_stream(b'data:  {"text": "spaced"}  \n\n')  # whitespace around the JSON
    assert spaced.texts == ["spaced"]


def test_tool_only_stream_is_silent() -> None:
    raw = frame(adk_call("edit_multitrack", call_id=None)) + frame(
        adk_result("edit_multitrack", call_id=None)
    )
    _, parser = parse_stream(raw)
    assert parser.texts == []
    assert parser.event_count == 2
    assert parser.pending_tools == []  # paired by name when there is no id


def test_a_call_without_its_result_is_pending() -> None:
    _, parser = parse_stream(frame(adk_call("generate_video_with_seedance")) + frame(adk_text("Working")))
    assert parser.pending_tools == ["generate_video_with_seedance"]


def test_timestamps_come_from_the_clock() -> None:
    ticks = iter(range(100, 200))
    parser = TurnParser(clock=lambda: float(next(ticks)))
    out = parser.feed(frame({"text": "a"}) + b": ping\n\n" + frame({"text": "b"}))
    assert [e.ts for e in out] == [100.0, 101.0, 102.0]
    assert parser.last_meaningful == 102.0


def test_close_twice_adds_nothing() -> None:
    parser = TurnParser()
    parser.feed(b'data: {"text": "a"}')
    assert kinds(parser.close()) == ["text"]
    assert parser.close() == []


# -- properties --------------------

json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20)
)
json_values = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)
interesting_keys = st.sampled_from(
    [
        "type",
        "text",
        "content",
        "parts",
        "partial",
        "thought",
        "functionCall",
        "functionResponse",
        "error",
        "errorCode",
        "errorMessage",
        "actions",
        "stateDelta",
        "name",
        "args",
        "result",
        "author",
    ]
)
adkish = st.recursive(
    json_leaf,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(interesting_keys, children, max_size=5),
    max_leaves=30,
)
#: pieces of SSE syntax, so random streams hit field names, separators and line breaks often
sse_bytes = st.lists(
    st.sampled_from(
        [
            b"data: ",
            b"data:",
            b"data",
            b"event: ",
            b"error",
            b"heartbeat",
            b"id: 1",
            b"retry: 20",
            b": c",
            b"\n",
            b"\r",
            b"\r\n",
            b"\n\n",
            b"{",
            b"}",
            b'"text"',
            b":",
            b" ",
            b"x",
            b"\xc3\xa9",
            b"\xe8\xa6",
            b"\x96",
            b"\xef\xbb\xbf",
            b"\xff",
            b"\x00",
        ]
    ),
    max_size=60,
).map(b"".join)


def _summary(parser: TurnParser) -> tuple[Any, ...]:
    return (
        parser.texts,
        parser.tools_used,
        parser.stream_errors,
        parser.state_delta_keys,
        parser.event_count,
        parser.heartbeat_count,
        parser.pending_tools,
    )


@settings(max_examples=300, deadline=None)
@given(st.one_of(sse_bytes, st.binary(max_size=2000)), st.integers(min_value=1, max_value=64))
def test_arbitrary_bytes_never_raise_and_chunking_is_invisible(data: bytes, chunk: int) -> None:
    whole, p1 = parse_stream(data)
    pieces, p2 = parse_stream(data, chunk_size=chunk)
    assert p2.heartbeat_count + p2.event_count == len(pieces)
    assert [e.model_copy(update={"ts": 0.0}) for e in whole] == [
        e.model_copy(update={"ts": 0.0}) for e in pieces
    ]
    assert _summary(p1) == _summary(p2)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(json_values, adkish), max_size=8), st.integers(min_value=1, max_value=50))
def test_arbitrary_json_events_never_raise_and_chunking_is_invisible(payloads: list[Any], chunk: int) -> None:
    raw = b"".join(f"data: {json.dumps(p)}\n\n".encode() for p in payloads)
    whole, p1 = parse_stream(raw)
    pieces, p2 = parse_stream(raw, chunk_size=chunk)
    assert len(whole) >= len(payloads)  # every event is at least a heartbeat
    assert [e.model_copy(update={"ts": 0.0}) for e in whole] == [
        e.model_copy(update={"ts": 0.0}) for e in pieces
    ]
    assert _summary(p1) == _summary(p2)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=6))
def test_partial_then_final_yields_the_final_text_once(chunks: list[str]) -> None:
    full = "".join(chunks)
    raw = b"".join(frame(adk_text(c, partial=True)) for c in chunks) + frame(adk_text(full))
    _, parser = parse_stream(raw, chunk_size=7)
    if full.strip():
        assert parser.texts == [full]


# -- a long turn --------------------


def test_100k_events() -> None:
    one_turn = (
        frame(adk_text("Working on it"))
        + frame(adk_call("edit_multitrack", call_id="c", a=1))
        + b": keep-alive\n\n"
        + frame(adk_result("edit_multitrack", call_id="c"))
        + frame({"type": "heartbeat"})
    )
    raw = one_turn * 20_000  # 100,000 events
    start = time.perf_counter()
    parser = TurnParser()
    count = 0
    for i in range(0, len(raw), 16 * 1024):
        count += len(parser.feed(raw[i : i + 16 * 1024]))
    count += len(parser.close())
    elapsed = time.perf_counter() - start
    assert count == 100_000
    assert (parser.event_count, parser.heartbeat_count) == (60_000, 40_000)
    assert parser.pending_tools == []
    assert elapsed < 15, f"100k events took {elapsed:.2f}s"
