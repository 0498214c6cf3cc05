"""The pure `/run_sse` parser: every documented form, chunk boundaries, properties, a 100k benchmark."""

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
from nemo_mcp.api.sse import SSEDecoder, TurnParser, parse_stream


def frame(payload: Any) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def adk_text(text: str, **kw: Any) -> dict[str, Any]:
    return {"content": {"parts": [{"text": text}], "role": "model"}, "author": "nemo_agent", **kw}


def kinds(events: list[Any]) -> list[str]:
    return [e.kind for e in events]


# -- framing --------------------


def test_decoder_joins_multiline_data_and_keeps_fields() -> None:
    dec = SSEDecoder()
    out = dec.feed(b"event: message\nid: 7\nretry: 1500\ndata: a\ndata:b\n\n")
    assert len(out) == 1
    ev = out[0]
    assert (ev.event, ev.id, ev.retry, ev.data) == ("message", "7", 1500, "a\nb")


@pytest.mark.parametrize("sep", [b"\n", b"\r\n", b"\r"])
def test_decoder_handles_every_line_break(sep: bytes) -> None:
    raw = b'data: {"text": "hi"}' + sep + sep + b": ping" + sep + sep
    for size in (1, 2, 3, len(raw)):
        dec = SSEDecoder()
        out = []
        for i in range(0, len(raw), size):
            out += dec.feed(raw[i : i + size])
        out += dec.flush()
        assert [e.data for e in out if not e.comment] == ['{"text": "hi"}']
        assert [e.comment for e in out].count(True) == 1


def test_cr_at_chunk_end_waits_for_lf() -> None:
    dec = SSEDecoder()
    assert dec.feed(b"data: x\r") == []
    out = dec.feed(b"\n\r\n")
    assert [e.data for e in out] == ["x"]


def test_utf8_split_across_chunks() -> None:
    raw = frame(adk_text("視頻剪輯 ✂️"))
    _events, parser = parse_stream(raw, chunk_size=1)
    assert parser.texts == ["視頻剪輯 ✂️"]


def test_final_event_without_blank_line_is_kept_at_eof() -> None:
    _events, parser = parse_stream(b'data: {"text": "tail"}')
    assert parser.texts == ["tail"]


def test_bom_is_ignored() -> None:
    _, parser = parse_stream(b"\xef\xbb\xbf" + frame({"text": "x"}))
    assert parser.texts == ["x"]


def test_oversized_event_is_a_typed_error() -> None:
    parser = TurnParser(max_event_bytes=1000)
    with pytest.raises(MalformedResponseError):
        parser.feed(b"data: " + b"x" * 5000)


# -- heartbeats --------------------


@pytest.mark.parametrize(
    ("raw", "style"),
    [
        (b": keep-alive\n\n", "comment"),
        (b"data:\n\n", "empty"),
        (b"data: \n\n", "empty"),
        (b'data: {"type": "heartbeat"}\n\n', "typed"),
        (b'data: {"type": "ping"}\n\n', "typed"),
        (b"event: heartbeat\ndata: {}\n\n", "event"),
        (b"event: ping\n\n", "event"),
        (b"data: not json at all\n\n", "noise"),
        (b"data: [1, 2]\n\n", "noise"),
    ],
)
def test_every_heartbeat_form_is_ignored(raw: bytes, style: str) -> None:
    events, parser = parse_stream(raw)
    assert [type(e) for e in events] == [HeartbeatEvent]
    assert events[0].style == style  # type: ignore[union-attr]
    assert parser.event_count == 0
    assert parser.heartbeat_count == 1
    assert not parser.texts


# -- ADK form --------------------


def test_adk_text_tool_call_result_and_state_delta() -> None:
    raw = (
        frame(adk_text("Sure, editing now."))
        + frame(
            {
                "content": {
                    "parts": [{"functionCall": {"id": "c1", "name": "edit_multitrack", "args": {"x": 1}}}]
                },
                "longRunningToolIds": ["c1"],
            }
        )
        + b": keep-alive\n\n"
        + frame(
            {
                "content": {
                    "parts": [
                        {"functionResponse": {"id": "c1", "name": "edit_multitrack", "response": {"ok": 1}}}
                    ],
                    "role": "user",
                },
                "actions": {"stateDelta": {"draft": {}, "video_infos": []}},
            }
        )
        + frame(adk_text("Done! Click Export to download."))
    )
    events, parser = parse_stream(raw)
    assert kinds(events) == ["text", "tool_call", "heartbeat", "tool_result", "text"]
    call = events[1]
    assert isinstance(call, ToolCallEvent)
    assert call.name == "edit_multitrack"
    assert call.args == {"x": 1}
    assert call.call_id == "c1"
    result = events[3]
    assert isinstance(result, ToolResultEvent)
    assert result.result == {"ok": 1}
    assert parser.texts == ["Sure, editing now.", "Done! Click Export to download."]
    assert parser.tools_used == ["edit_multitrack"]
    assert parser.state_delta_keys == ["draft", "video_infos"]


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
    assert [p.accumulated for p in partials] == ["Hel", "Hello wor"]
    finals = [e for e in events if isinstance(e, TextEvent) and not e.partial]
    assert [f.text for f in finals] == ["Hello world!"]
    assert parser.texts == ["Hello world!"]  # not "Hello worHello world!"


def test_unfinished_partials_are_flushed_at_close() -> None:
    _, parser = parse_stream(frame(adk_text("half", partial=True)) + frame(adk_text(" done", partial=True)))
    assert parser.texts == ["half done"]


def test_error_code_and_message_event() -> None:
    events, parser = parse_stream(frame({"errorCode": "MALFORMED_FUNCTION_CALL", "errorMessage": "bad call"}))
    assert isinstance(events[0], StreamErrorEvent)
    assert events[0].message == "bad call"
    assert events[0].code == "MALFORMED_FUNCTION_CALL"
    assert parser.stream_errors == ["bad call"]


@pytest.mark.parametrize(
    "payload",
    [{"error": "boom"}, {"error": {"message": "boom", "code": 500}}, {"type": "error", "message": "boom"}],
)
def test_error_events(payload: dict[str, Any]) -> None:
    events, parser = parse_stream(frame(payload))
    assert isinstance(events[0], StreamErrorEvent)
    assert events[0].message == "boom"
    assert parser.had_error


def test_event_error_name_with_plain_text() -> None:
    events, _ = parse_stream(b"event: error\ndata: upstream exploded\n\n")
    assert isinstance(events[0], StreamErrorEvent)
    assert events[0].message == "upstream exploded"


def test_trailing_temporary_issue_is_noise_after_real_output() -> None:
    raw = frame(adk_text("Your video is ready.")) + frame(
        adk_text("I encountered a temporary issue. Try again.")
    )
    events, parser = parse_stream(raw)
    assert parser.texts == ["Your video is ready."]
    assert isinstance(events[-1], TextEvent)
    assert events[-1].noise
    # alone, it is the only thing the user gets: keep it
    _, alone = parse_stream(frame(adk_text("I encountered a temporary issue.")))
    assert alone.texts == ["I encountered a temporary issue."]


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


def test_gateway_style_chunks_then_full_text() -> None:
    raw = frame({"type": "chunk", "text": "Hi "}) + frame({"type": "chunk", "text": "there"})
    raw += frame({"type": "text", "text": "Hi there"}) + frame({"type": "tool_start", "tool": "edit"})
    _, parser = parse_stream(raw)
    assert parser.texts == ["Hi there"]
    assert parser.tools_used == ["edit"]


def test_top_level_text_form() -> None:
    _, parser = parse_stream(frame({"text": "Nicola style"}))
    assert parser.texts == ["Nicola style"]


def test_tool_only_stream_is_silent() -> None:
    raw = frame({"content": {"parts": [{"functionCall": {"name": "edit_multitrack", "args": {}}}]}})
    raw += frame({"content": {"parts": [{"functionResponse": {"name": "edit_multitrack", "response": {}}}]}})
    _, parser = parse_stream(raw)
    assert parser.texts == []
    assert parser.event_count == 2


def test_timestamps_come_from_the_clock() -> None:
    ticks = iter(range(100, 200))
    parser = TurnParser(clock=lambda: float(next(ticks)))
    out = parser.feed(frame({"text": "a"}) + frame({"text": "b"}))
    assert [e.ts for e in out] == [100.0, 101.0]


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


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000), st.integers(min_value=1, max_value=64))
def test_arbitrary_bytes_never_raise(data: bytes, chunk: int) -> None:
    events, parser = parse_stream(data, chunk_size=chunk)
    assert parser.heartbeat_count + parser.event_count == len(events)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(json_values, adkish), max_size=8), st.integers(min_value=1, max_value=50))
def test_arbitrary_json_events_never_raise_and_chunking_is_invisible(payloads: list[Any], chunk: int) -> None:
    raw = b"".join(f"data: {json.dumps(p)}\n\n".encode() for p in payloads)
    whole, p1 = parse_stream(raw)
    pieces, p2 = parse_stream(raw, chunk_size=chunk)
    strip = [e.model_copy(update={"ts": 0.0}) for e in whole]
    assert strip == [e.model_copy(update={"ts": 0.0}) for e in pieces]
    assert (p1.texts, p1.tools_used, p1.stream_errors) == (p2.texts, p2.tools_used, p2.stream_errors)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=6))
def test_partial_then_final_yields_the_final_text_once(chunks: list[str]) -> None:
    full = "".join(chunks)
    raw = b"".join(frame(adk_text(c, partial=True)) for c in chunks) + frame(adk_text(full))
    _, parser = parse_stream(raw, chunk_size=7)
    if full.strip():
        assert parser.texts == [full]


# -- benchmark --------------------


def test_benchmark_100k_events() -> None:
    one_turn = (
        frame(adk_text("Working on it"))
        + frame(
            {
                "content": {
                    "parts": [{"functionCall": {"id": "c", "name": "edit_multitrack", "args": {"a": 1}}}]
                }
            }
        )
        + b": keep-alive\n\n"
        + frame(
            {
                "content": {
                    "parts": [{"functionResponse": {"id": "c", "name": "edit_multitrack", "response": {}}}]
                }
            }
        )
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
    assert parser.event_count == 60_000
    assert parser.heartbeat_count == 40_000
    assert elapsed < 15, f"100k events took {elapsed:.2f}s"
    print(f"\n100k SSE events parsed in {elapsed:.2f}s ({100_000 / elapsed:,.0f} events/s)")


# -- the optimised parser against the reference (the parser before the speed work) --------------------


def _events_of(parser_cls: Any, raw: bytes, chunk: int) -> tuple[list[Any], Any]:
    parser = parser_cls(clock=lambda: 0.0)
    events: list[Any] = []
    if chunk <= 0:
        events += parser.feed(raw)
    else:
        for i in range(0, len(raw), chunk):
            events += parser.feed(raw[i : i + chunk])
    events += parser.close()
    return events, parser


def _assert_same_as_reference(raw: bytes, chunk: int) -> None:
    from tests.api import _sse_reference as ref

    try:
        expected, p1 = _events_of(ref.TurnParser, raw, 0)
    except MalformedResponseError:
        with pytest.raises(MalformedResponseError):
            _events_of(TurnParser, raw, chunk)
        return
    got, p2 = _events_of(TurnParser, raw, chunk)
    assert got == expected
    assert [type(e) for e in got] == [type(e) for e in expected]
    assert [e.model_fields_set for e in got] == [e.model_fields_set for e in expected]
    assert [e.model_dump() for e in got] == [e.model_dump() for e in expected]
    summary = ("texts", "tools_used", "stream_errors", "state_delta_keys", "event_count", "heartbeat_count")
    assert [getattr(p2, k) for k in summary] == [getattr(p1, k) for k in summary]
    assert p2.pending_tools == p1.pending_tools


def _reference_frames(raw: bytes) -> list[Any]:
    from tests.api import _sse_reference as ref

    dec = ref.SSEDecoder()
    return [*dec.feed(raw), *dec.flush()]


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


@settings(max_examples=400, deadline=None)
@given(st.one_of(sse_bytes, st.binary(max_size=300)), st.integers(min_value=1, max_value=40))
def test_decoder_matches_the_reference_on_any_bytes_and_chunking(raw: bytes, chunk: int) -> None:
    dec = SSEDecoder()
    got: list[Any] = []
    for i in range(0, len(raw), chunk):
        got += dec.feed(raw[i : i + chunk])
    got += dec.flush()
    expected = _reference_frames(raw)
    assert [(e.data, e.event, e.id, e.retry, e.comment) for e in got] == [
        (e.data, e.event, e.id, e.retry, e.comment) for e in expected
    ]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(json_values, adkish), max_size=8), st.integers(min_value=0, max_value=50))
def test_turn_parser_matches_the_reference_on_json_events(payloads: list[Any], chunk: int) -> None:
    raw = b"".join(f"data: {json.dumps(p)}\n\n".encode() for p in payloads)
    _assert_same_as_reference(raw, chunk)


@settings(max_examples=300, deadline=None)
@given(st.one_of(sse_bytes, st.binary(max_size=300)), st.integers(min_value=0, max_value=40))
def test_turn_parser_matches_the_reference_on_any_bytes(raw: bytes, chunk: int) -> None:
    _assert_same_as_reference(raw, chunk)


@pytest.mark.parametrize(
    "raw",
    [
        frame(adk_text("Done.")) + frame(adk_text(" I encountered a temporary issue")),
        frame(adk_text("Done.")) + frame(adk_text("\u0130 encountered a TEMPORARY issue")),
        frame(adk_text("Done.")) + frame(adk_text("\u3000i encountered a temporary issue")),
        frame({"type": "tool_call", "name": "t", "args": {"a": 1}, "id": "c1"})
        + frame({"type": "tool_result", "name": "t", "result": [1], "id": "c1"})
        + frame({"type": "delta", "delta": "pa"})
        + frame({"type": "chunk", "text": "rt"})
        + frame({"stateDelta": {"a": 1}, "actions": {"state_delta": {"b": 2}, "stateDelta": {"c": 3}}})
        + frame({"error": {"message": "boom", "code": 7}})
        + frame({"errorCode": "E1", "errorMessage": "bad", "text": "still"})
        + b"event: error\ndata: plain words\n\n"
        + b'event: error\ndata: "quoted"\n\n'
        + frame({"content": "  "})
        + frame({"content": "top-level content"})
        + b'data:  {"text": "spaced"}  \n\n',
        b"\xef\xbb\xbf" + frame({"text": "bom"}) + b"data: [1, 2]\n\ndata: {bad\n\n",
    ],
)
def test_documented_forms_match_the_reference(raw: bytes) -> None:
    for chunk in (0, 1, 5):
        _assert_same_as_reference(raw, chunk)


def test_the_noise_precheck_covers_every_character_the_regex_can_start_with() -> None:
    import re
    import sys

    from nemo_mcp.api.sse import _NOISE_FIRST

    starts_i = re.compile("i", re.IGNORECASE)
    space = re.compile(r"\s")
    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        if starts_i.match(ch):
            assert ch in _NOISE_FIRST, hex(code)
        if space.match(ch):
            assert ch.isspace(), hex(code)
