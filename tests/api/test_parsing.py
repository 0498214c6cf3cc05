"""Tolerant payload decoders: render status shapes (docs/nemo-api.md §8 C1), credits, uploads."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nemo_mcp.api import MalformedResponseError
from nemo_mcp.api.parsing import (
    normalize_render_status,
    parse_credits,
    parse_render_status,
    parse_session,
    parse_uploaded_files,
)

WRAPPED = {
    "success": True,
    "data": {
        "id": "render_xxx",
        "status": "completed",
        "progress": 100,
        "outputUrl": "https://static1.nemovideo.ai/render-result/render_xxx.mp4",
        "createdAt": 1773423613616,
        "completedAt": 1773423641222,
    },
}
FLAT = {
    "taskId": "render_xxx",
    "status": "completed",
    "progress": 100,
    "output": {"url": "https://cdn.example.com/renders/xxx/output.mp4", "duration": 30.5, "size": 15728640},
}


def test_wrapped_shape() -> None:
    st_ = parse_render_status(WRAPPED, "render_xxx")
    assert st_.status == "completed"
    assert st_.output_url == WRAPPED["data"]["outputUrl"]  # type: ignore[index]
    assert st_.progress == 100
    assert st_.terminal
    assert st_.succeeded


def test_flat_shape() -> None:
    st_ = parse_render_status(FLAT, "render_xxx")
    assert st_.status == "completed"
    assert st_.output_url == "https://cdn.example.com/renders/xxx/output.mp4"
    assert st_.size == 15728640
    assert st_.id == "render_xxx"


@pytest.mark.parametrize(
    ("doc", "status", "error"),
    [
        ({"data": {"status": "failed", "error": "codec exploded"}}, "failed", "codec exploded"),
        ({"status": "FAILED", "message": "out of memory"}, "failed", "out of memory"),
        ({"status": "processing", "progress": 0.4}, "processing", None),
        ({"data": {"status": "canceled"}}, "cancelled", None),
        ({"status": "weird"}, "unknown", None),
        ({}, "unknown", None),
    ],
)
def test_status_variants(doc: dict[str, Any], status: str, error: str | None) -> None:
    st_ = parse_render_status(doc, "r")
    assert st_.status == status
    assert st_.error == error


def test_fractional_progress_is_a_percentage() -> None:
    assert parse_render_status({"status": "processing", "progress": 0.4}, "r").progress == pytest.approx(40)
    assert parse_render_status({"status": "processing", "progress": 250}, "r").progress == 100


def test_normalize_status() -> None:
    assert normalize_render_status("In Progress") == "processing"
    assert normalize_render_status("succeeded") == "completed"
    assert normalize_render_status(5) == "unknown"


def test_credits_variants() -> None:
    c = parse_credits({"available": 25000, "frozen": 40, "total": 25040})
    assert (c.available, c.frozen, c.total) == (25000, 40, 25040)
    assert parse_credits({"available": "10"}).total == 10
    assert parse_credits({"data": {"available": 3, "frozen": 2}}).total == 5
    with pytest.raises(MalformedResponseError):
        parse_credits({"nothing": 1})


def test_upload_variants() -> None:
    files = parse_uploaded_files(
        {
            "files": [
                {
                    "filename": "video.mp4",
                    "file_type": "video",
                    "cdn_url": "https://c/v.mp4",
                    "duration": 30.5,
                }
            ]
        }
    )
    assert files[0].duration == 30.5
    assert parse_uploaded_files({"url": "https://c/a/b.png"})[0].filename == "b.png"
    assert parse_uploaded_files([{"name": "x.mp3"}, 5])[0].filename == "x.mp3"
    with pytest.raises(MalformedResponseError):
        parse_uploaded_files({"session_state_applied": True})


def test_session_requires_an_id() -> None:
    with pytest.raises(MalformedResponseError):
        parse_session({"task_id": "t"}, "en")
    with pytest.raises(MalformedResponseError):
        parse_session(["x"], "en")


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    lambda c: (
        st.lists(c, max_size=3)
        | st.dictionaries(
            st.one_of(
                st.sampled_from(
                    [
                        "data",
                        "status",
                        "progress",
                        "output",
                        "url",
                        "outputUrl",
                        "error",
                        "message",
                        "id",
                        "taskId",
                        "size",
                        "files",
                        "filename",
                        "cdn_url",
                        "available",
                        "frozen",
                        "total",
                        "session_id",
                        "task_id",
                    ]
                ),
                st.text(max_size=4),
            ),
            c,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_decoders_raise_only_typed_errors(doc: Any) -> None:
    for fn in (
        lambda: parse_render_status(doc, "r"),
        lambda: parse_credits(doc),
        lambda: parse_uploaded_files(doc),
        lambda: parse_session(doc, "en"),
    ):
        with contextlib.suppress(MalformedResponseError):
            fn()
