"""Draft decoding, the skill's summary line, state diffs and the export-readiness rule."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nemo_mcp.api import ProjectState, Timeline, diff, export_ready
from nemo_mcp.api.parsing import parse_state

SKILL_DRAFT: dict[str, Any] = {
    "t": [
        {"id": "trk_v", "tt": 0, "sg": [{"id": "s1", "s": 0, "d": 10000, "n": "city timelapse", "v": 100}]},
        {"id": "trk_a", "tt": 1, "sg": [{"id": "s2", "s": 0, "d": 10000, "n": "Lo-fi", "v": 35}]},
        {
            "id": "trk_t",
            "tt": 7,
            "sg": [{"id": "s3", "s": 0, "d": 3000, "txt": "Urban Dreams", "m": {"pos": "top"}}],
        },
    ],
    "d": 10000,
    "m": {"title": "project", "width": 1920, "height": 1080, "fps": 30},
}


def test_summary_line_matches_the_skill_exactly() -> None:
    assert Timeline.from_draft(SKILL_DRAFT).summary_line() == (
        "Timeline (3 tracks): 1. Video: city timelapse (0-10s) 2. BGM: Lo-fi (0-10s, 35%) "
        '3. Title: "Urban Dreams" (0-3s)'
    )


def test_decoded_fields() -> None:
    tl = Timeline.from_draft(SKILL_DRAFT)
    assert [t.kind for t in tl.tracks] == ["video", "audio", "text"]
    assert [t.label for t in tl.tracks] == ["Video", "BGM", "Title"]
    assert tl.duration_ms == 10000
    assert tl.resolution == "1920x1080"
    assert tl.fps == 30
    title = tl.tracks[2].segments[0]
    assert title.text == "Urban Dreams"
    assert title.meta == {"pos": "top"}
    assert title.end_ms == 3000


def test_segment_key_variants_including_m() -> None:
    draft = {
        "t": [
            {"tt": 0, "sg": [{"start": 1000, "duration": 2000, "name": "a.mp4"}]},
            {"tt": "1", "sg": [{"st": 0, "dur": 5000, "title": "Song", "vol": 0.5}]},
            {"tt": 7, "sg": [{"startTime": 500, "end": 2500, "content": "Hi"}]},
            {
                "tt": 0,
                "sg": [{"m": {"name": "from meta", "text": "meta text", "volume": 0}, "s": 0, "d": 1000}],
            },
            {"type": "audio", "segments": [{"s": "0", "d": "1500", "n": "voice", "volume": 80}]},
        ]
    }
    tl = Timeline.from_draft(draft)
    segs = [t.segments[0] for t in tl.tracks]
    assert (segs[0].start_ms, segs[0].duration_ms, segs[0].name) == (1000, 2000, "a.mp4")
    assert (segs[1].start_ms, segs[1].duration_ms, segs[1].name, segs[1].volume) == (0, 5000, "Song", 50)
    assert (segs[2].start_ms, segs[2].duration_ms, segs[2].text) == (500, 2000, "Hi")
    assert (segs[3].name, segs[3].text, segs[3].volume) == ("from meta", "meta text", 0)
    assert tl.tracks[4].kind == "audio"
    assert segs[4].duration_ms == 1500
    line = tl.summary_line()
    assert line.startswith("Timeline (5 tracks): 1. Video: a.mp4 (1-3s)")
    assert "2. BGM: Song (0-5s, 50%)" in line
    assert '3. Title: "Hi" (0.5-2.5s)' in line
    assert "4. Video: from meta (0-1s, muted)" in line


def test_multiple_segments_empty_tracks_and_unknown_types() -> None:
    draft = {
        "t": [
            {"tt": 0, "sg": [{"s": 0, "d": 4000, "src": "http://x/cdn/clip.mp4"}, {"s": 4000, "d": 2500}]},
            {"tt": 1, "sg": []},
            {"tt": 3, "sg": [{"s": 0, "d": 1000, "n": "sticker"}]},
        ]
    }
    line = Timeline.from_draft(draft).summary_line()
    assert line == (
        "Timeline (3 tracks): 1. Video: clip.mp4 (0-4s), clip 2 (4-6.5s) 2. BGM: (empty) "
        "3. Track (type 3): sticker (0-1s)"
    )


def test_empty_and_garbage_drafts() -> None:
    assert Timeline.from_draft({}).summary_line() == "Timeline (0 tracks): empty"
    assert Timeline.from_draft(None).tracks == []
    assert Timeline.from_draft("not json").tracks == []
    assert Timeline.from_draft(json.dumps(SKILL_DRAFT)).summary_line().startswith("Timeline (3 tracks)")
    assert Timeline.from_draft({"t": "x"}).tracks == []
    assert Timeline.from_draft({"t": [1, None, {"sg": [None, 3, {"s": True}]}]}).summary_line()


def test_export_ready_rule() -> None:
    assert export_ready(SKILL_DRAFT)
    assert not export_ready({})
    assert not export_ready({"t": []})
    assert not export_ready({"t": [{"tt": 0, "sg": []}, {"tt": 1}]})
    assert export_ready({"t": [{"tt": 0, "sg": []}, {"tt": 7, "sg": [{}]}]})
    assert not export_ready({"tracks": [{"sg": [{}]}]})  # the rule is about `t`
    assert not export_ready(None)
    assert not export_ready([{"sg": [1]}])


def state(draft: dict[str, Any], infos: list[Any] | None = None) -> ProjectState:
    return parse_state({"session_id": "1", "state": {"draft": draft, "video_infos": infos or []}}, "1")


def test_diff_silent_title_edit() -> None:
    before = {"t": [SKILL_DRAFT["t"][0]], "d": 10000, "m": {"width": 1920, "height": 1080}}
    after = {
        "t": [
            SKILL_DRAFT["t"][0],
            {"id": "trk_t", "tt": 7, "sg": [{"id": "x", "s": 0, "d": 3000, "txt": "Paradise"}]},
        ],
        "d": 10000,
        "m": {"width": 1920, "height": 1080},
    }
    changes = diff(state(before), state(after))
    assert [c.kind for c in changes] == ["track_added"]
    assert changes[0].sentence == 'Added title "Paradise" (0-3s)'


def test_diff_trim_volume_text_resolution_duration_media() -> None:
    old = json.loads(json.dumps(SKILL_DRAFT))
    new = json.loads(json.dumps(SKILL_DRAFT))
    new["t"][0]["sg"][0].update({"s": 2000, "d": 6000})
    new["t"][1]["sg"][0]["v"] = 60
    new["t"][2]["sg"][0]["txt"] = "Night City"
    new["m"].update({"width": 1080, "height": 1920})
    new["d"] = 8000
    changes = diff(
        state(old, [{"filename": "a.mp4"}]), state(new, [{"filename": "a.mp4"}, {"filename": "b.mp3"}])
    )
    by_kind = {c.kind: c.sentence for c in changes}
    assert by_kind["segment_trimmed"] == "Trimmed Video city timelapse: 0-10s → 2-8s"
    assert by_kind["volume_changed"] == "BGM Lo-fi volume: 35% → 60%"
    assert by_kind["text_changed"] == 'Title text: "Urban Dreams" → "Night City"'
    assert by_kind["resolution_changed"] == "Resolution: 1920x1080 → 1080x1920"
    assert by_kind["duration_changed"] == "Total duration: 10s → 8s"
    assert by_kind["media_added"] == "New media: b.mp3"


def test_diff_removed_track_and_segments_without_ids() -> None:
    old = {
        "t": [
            {"tt": 0, "sg": [{"s": 0, "d": 1000, "n": "a"}, {"s": 1000, "d": 1000, "n": "b"}]},
            {"tt": 1, "sg": [{"n": "song"}]},
        ]
    }
    new = {"t": [{"tt": 0, "sg": [{"s": 0, "d": 1000, "n": "a"}]}]}
    sentences = [c.sentence for c in diff(old, new)]
    assert "Removed from Video: b" in sentences
    assert "Removed the BGM track (song)" in sentences


def test_diff_of_identical_states_is_empty() -> None:
    assert diff(state(SKILL_DRAFT), state(SKILL_DRAFT)) == []
    assert diff(None, None) == []


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    lambda c: (
        st.lists(c, max_size=4)
        | st.dictionaries(
            st.one_of(
                st.sampled_from(
                    ["t", "tt", "sg", "s", "d", "n", "m", "txt", "v", "id", "start", "end", "volume", "text"]
                ),
                st.text(max_size=4),
            ),
            c,
            max_size=5,
        )
    ),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(json_values, json_values)
def test_decoder_and_diff_never_raise(a: Any, b: Any) -> None:
    ta, tb = Timeline.from_draft(a), Timeline.from_draft(b)
    assert ta.summary_line().startswith("Timeline (")
    assert isinstance(export_ready(a), bool)
    for change in diff(a, b):
        assert change.sentence
    for change in diff(ta, tb):
        assert change.sentence


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_parse_state_never_raises_on_a_dict(state_doc: Any) -> None:
    st_ = parse_state({"state": {"draft": state_doc, "video_infos": state_doc}}, "s")
    assert st_.session_id == "s"
    assert isinstance(st_.export_ready, bool)
