"""Property-based tests (hypothesis): arbitrary input never raises anything but the typed errors.

tests/api already covers the SSE parser (arbitrary bytes and JSON events), the envelope parser (arbitrary
status + bytes/JSON -> only `NemoError`s) and the draft decoder/diff. This adds the MCP layer's own
parsers (routing, GUI translation, path and URL rules, file-name sanitizing, download confinement, the
timeline view) and the remaining response parsers of the client (session, credits, render status,
uploads, state for any JSON document).
"""

# ruff: noqa: PT017  (assertions on the typed error inside hypothesis properties)
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nemo_mcp.api import NemoError
from nemo_mcp.api.media import sniff
from nemo_mcp.api.parsing import (
    parse_credits,
    parse_render_status,
    parse_session,
    parse_state,
    parse_uploaded_files,
)
from nemo_mcp.api.sse import parse_stream
from nemo_mcp.language.replies import Step, translate
from nemo_mcp.language.routing import Intent, route
from nemo_mcp.language.sources import find
from nemo_mcp.server.failures import ToolFailure
from nemo_mcp.server.media_policy import check_source, check_url, resolve_download_dir, safe_filename
from nemo_mcp.server.workflows.reads import Reads

PROPS = settings(
    max_examples=int(os.environ.get("NEMO_HYPOTHESIS_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Instruction-like text: words the router and translator react to, paths, URLs, CJK, punctuation.
WORDS = st.sampled_from(
    [
        "export",
        "导出",
        "credits",
        "积分",
        "status",
        "状态",
        "upload",
        "上传",
        "add",
        "trim",
        "title",
        "click",
        "the",
        "Export",
        "button",
        "preview",
        "in",
        "timeline",
        "open",
        "panel",
        "drag",
        "drop",
        "/tmp/a.mp4",
        "~/v/clip.MOV",
        "'my clip.mp4'",
        "https://x.test/a.mp4",
        "file:///etc/passwd",
        "data:,x",
        "C:\\v\\a.mp4",
        "rolling credits",
        "and",
        "then",
        ",",
        ".",
        "。",
        "，",
        "\n",
        "!",
        "I encountered a temporary issue.",
        "点击",
        "导出按钮",
        "10 s",
        "3.5",
        '"',
        "'",
        "`",
        "「",
        "」",
    ]
)
INSTRUCTIONS = st.one_of(
    st.text(max_size=300),
    st.lists(WORDS, max_size=40).map(" ".join),
    st.lists(st.one_of(WORDS, st.text(max_size=5)), max_size=30).map("".join),
)


@PROPS
@given(INSTRUCTIONS)
def test_routing_never_raises_and_returns_a_known_route(text: str) -> None:
    r = route(text)
    assert r.steps
    assert all(step in set(Intent) for step in r.steps)
    assert len(r.steps) == len(set(r.steps))
    assert isinstance(r.agent_text, str)
    for source in r.sources:
        assert source in text  # never invents a path
    assert (Intent.UPLOAD in r.steps) == bool(r.sources)
    if r.sources:
        assert r.steps[0] is Intent.UPLOAD
    if r.deferred:
        assert Intent.EXPORT not in r.steps


@PROPS
@given(INSTRUCTIONS)
def test_find_only_returns_substrings(text: str) -> None:
    found = find(text)
    assert len(found.sources) == len(set(found.sources))
    assert all(s and s in text for s in found.sources)
    assert found.destination is None or found.destination in text
    assert isinstance(found.text, str)


@PROPS
@given(INSTRUCTIONS)
def test_translation_never_raises(text: str) -> None:
    tr = translate(text)
    assert isinstance(tr.text, str)
    assert all(s in set(Step) for s in tr.steps)
    assert len(tr.steps) == len(set(tr.steps))
    # no control character, escape or bidi override survives
    assert not any(ord(c) < 32 and c not in "\n\t" for c in tr.text)
    assert not any(c in tr.text for c in "\x1b\u202e\u202d\u2066\u2067\u2068\u200b")
    # a GUI instruction that was removed is not in the output
    for clause in tr.removed:
        if len(clause) > 12:
            assert clause not in tr.text


@PROPS
@given(st.binary(max_size=80))
def test_sniffing_arbitrary_bytes(head: bytes) -> None:
    found = sniff(head)
    assert found is None or found[1] <= {"video", "image", "audio"}


@PROPS
@given(st.text(max_size=200))
def test_safe_filename_is_always_safe(stem: str) -> None:
    name = safe_filename(stem)
    assert re.fullmatch(r"[^\W_][\w.-]*\.mp4", name), name  # letters of any script, digits, ._-
    assert "/" not in name
    assert ".." not in name.removesuffix(".mp4").strip(".") or name.count("/") == 0
    assert len(name) <= 84


URLS = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda scheme, cred, host, path: f"{scheme}://{cred}{host}/{path}",
        st.sampled_from(["http", "https", "HTTP", "file", "ftp", "data", "javascript", "gopher", "hTTps"]),
        st.sampled_from(["", "user:s3cr3t@", ":s3cr3t@", "user@", "a%40b:s3cr3t@"]),
        st.sampled_from(["example.com", "127.0.0.1", "[::1]", "", "x.test:8080"]),
        st.text(max_size=20),
    ),
)


@PROPS
@given(URLS)
def test_url_rules_accept_only_plain_http_urls(url: str) -> None:
    try:
        src = check_url(url)
    except ToolFailure as exc:
        assert exc.tag in {"bad_url", "unsupported_file"}
        assert "s3cr3t" not in exc.message
        return
    scheme, _, rest = src.value.partition("://")
    assert scheme.lower() in ("http", "https")
    assert "@" not in rest.split("/", 1)[0]


@PROPS
@given(st.text(max_size=120))
def test_any_source_string_gives_a_source_or_a_rule_error(raw: str) -> None:
    try:
        src = check_source(raw, media_dirs=[Path("/nonexistent-allowed-dir")])
    except ToolFailure as exc:
        assert exc.tag
        return
    assert src.kind == "url"  # nothing local is readable outside the allowlist


_ROOT = Path(tempfile.mkdtemp(prefix="nemo-dl-prop-"))


@PROPS
@given(
    st.one_of(
        st.text(max_size=60),
        st.lists(
            st.sampled_from(["..", ".", "a", "b", "/", "~", "/etc", "x/../..", "%2e%2e"]), max_size=8
        ).map("/".join),
    )
)
def test_download_dir_is_always_inside_the_root(requested: str) -> None:
    root = _ROOT / "dl"
    try:
        target = resolve_download_dir(requested, root)
    except (ToolFailure, OSError, ValueError):
        return
    target.relative_to(root.resolve())  # raises when it escaped


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=12)),
    lambda c: (
        st.lists(c, max_size=4)
        | st.dictionaries(
            st.one_of(
                st.sampled_from(
                    [
                        "session_id",
                        "task_id",
                        "state",
                        "draft",
                        "t",
                        "sg",
                        "d",
                        "available",
                        "frozen",
                        "total",
                        "status",
                        "output",
                        "url",
                        "outputUrl",
                        "data",
                        "files",
                        "progress",
                        "error",
                        "video_infos",
                        "code",
                    ]
                ),
                st.text(max_size=6),
            ),
            c,
            max_size=5,
        )
    ),
    max_leaves=25,
)

PARSERS = {
    "session": lambda d: parse_session(d, "en"),
    "credits": parse_credits,
    "render_status": lambda d: parse_render_status(d, "render_x"),
    "uploaded_files": parse_uploaded_files,
    "state": lambda d: parse_state(d, "s"),
}


@pytest.mark.parametrize("name", list(PARSERS))
@PROPS
@given(doc=json_values)
def test_response_parsers_raise_only_typed_errors(name: str, doc: Any) -> None:
    try:
        PARSERS[name](doc)
    except NemoError as exc:
        assert exc.tag
        assert "Traceback" not in str(exc)


@PROPS
@given(json_values)
def test_timeline_view_of_any_state_never_raises(doc: Any) -> None:
    try:
        st_ = parse_state({"state": {"draft": doc, "video_infos": doc}}, "s")
    except NemoError:
        return
    fake = SimpleNamespace(jobs=SimpleNamespace(all=list))
    view = Reads.timeline_view(fake, st_, session_id="s")  # type: ignore[arg-type]
    assert view.summary.startswith("Timeline (")
    json.dumps(view.model_dump(mode="json"))


@PROPS
@given(st.lists(st.one_of(json_values, st.binary(max_size=40).map(repr)), max_size=6), st.integers(1, 40))
def test_sse_frames_with_arbitrary_payloads_and_garbage_never_raise(payloads: list[Any], chunk: int) -> None:
    raw = b"".join(
        (f"data: {json.dumps(p)}\n\n" if i % 2 else f"data: {p!s}\r\n\r\n").encode("utf-8", "replace")
        for i, p in enumerate(payloads)
    )
    events, parser = parse_stream(raw + b'data: {"trunc', chunk_size=chunk)
    assert parser.heartbeat_count + parser.event_count == len(events)
