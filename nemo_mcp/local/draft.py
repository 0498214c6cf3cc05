"""The draft (timeline) the local backend keeps per session, and the edits the local agent applies to it.

Documented keys (docs/nemo-api.md §3.2): `t` tracks, `tt` track type (0 video, 1 audio/BGM, 7 text),
`sg` segments, `d` duration in ms, `m` metadata (`title`, `width`, `height`, `fps`). Everything inside a
segment is OURS (invented, matching docs/architecture.md); this docstring is the one place that defines it:

    {"id": "seg_<hex>",   unique segment id
     "s": 0,              start on the timeline, ms
     "d": 3000,           duration on the timeline, ms (a video's source span is d * sp)
     "n": "clip.mp4",     display name
     "src": "http://127.0.0.1:PORT/cdn/...",  media URL (video, image and audio segments)
     "ss": 0,             source in-point, ms (video/audio)
     "sp": 1.0,           speed factor (video)
     "v": 100,            volume percent (video/audio); 0 = muted
     "txt": "Hello",      text segments only
     "m": {...}}          per-segment metadata: video/image `{"kind": "video"|"image"}`,
                          text `{"pos": "top-center"|"center"|"bottom-center", "color": "white", "size": 64}`
                          (size in px at a 1080-px-high canvas; scaled with the canvas)

Layout rules (ours): the main video track (the first `tt` 0 track) is a gap-free sequence; every edit
re-lays it out and clips the text and audio tracks to its end. The draft `d` is the main track's end.
"""

from __future__ import annotations

import secrets
from typing import Any

Draft = dict[str, Any]
Segment = dict[str, Any]

VIDEO, AUDIO, TEXT = 0, 1, 7
MAX_LONG, MAX_SHORT = 1920, 1080  # render cap: at most 1080x1920 either way


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


def empty_draft(title: str = "project", width: int = 1920, height: int = 1080, fps: int = 30) -> Draft:
    return {"t": [], "d": 0, "m": {"title": title, "width": width, "height": height, "fps": fps}}


def track(draft: Draft, tt: int, create: bool = True) -> dict[str, Any] | None:
    for trk in draft.setdefault("t", []):
        if trk.get("tt") == tt:
            return trk  # type: ignore[no-any-return]
    if not create:
        return None
    trk = {"id": new_id("trk"), "tt": tt, "sg": []}
    draft["t"].append(trk)
    return trk


def segments(draft: Draft, tt: int) -> list[Segment]:
    trk = track(draft, tt, create=False)
    return trk["sg"] if trk else []


def duration_ms(draft: Draft) -> int:
    return int(draft.get("d") or 0)


def relayout(draft: Draft) -> None:
    """Make the main track gap-free, clip other tracks to its end, drop empty tracks, and set `d`."""
    main = segments(draft, VIDEO)
    cursor = 0
    for seg in main:
        seg["s"] = cursor
        cursor += int(seg["d"])
    total = cursor if main else max((_end(sg) for t in draft["t"] for sg in t["sg"]), default=0)
    for trk in draft["t"]:
        if trk.get("tt") == VIDEO:
            continue
        kept = []
        for seg in trk["sg"]:
            if seg["s"] >= total:
                continue
            seg["d"] = min(int(seg["d"]), total - int(seg["s"]))
            if seg["d"] > 0:
                kept.append(seg)
        trk["sg"] = kept
    draft["t"] = [t for t in draft["t"] if t["sg"]]
    draft["d"] = total


def _end(seg: Segment) -> int:
    return int(seg.get("s", 0)) + int(seg.get("d", 0))


def append_clip(draft: Draft, *, src: str, name: str, kind: str, duration_ms: int) -> Segment:
    """Put an uploaded video or image at the end of the main track (ours: that is where uploads go)."""
    seg: Segment = {
        "id": new_id("seg"),
        "s": 0,
        "d": duration_ms,
        "n": name,
        "src": src,
        "ss": 0,
        "sp": 1.0,
        "v": 100,
        "m": {"kind": kind},
    }
    main = track(draft, VIDEO)
    assert main is not None
    main["sg"].append(seg)
    relayout(draft)
    return seg


def keep_range(draft: Draft, start: int, end: int) -> None:
    """Keep only [start, end) of the timeline (ms); text segments move with it."""
    start, end = max(0, start), min(end, duration_ms(draft))
    if end <= start:
        raise ValueError("that range is outside the video")
    for trk in draft["t"]:
        trk["sg"] = [
            _slice(seg, start, end, trk.get("tt")) for seg in trk["sg"] if _overlaps(seg, start, end)
        ]
        for seg in trk["sg"]:
            seg["s"] -= start
    relayout(draft)


def remove_range(draft: Draft, start: int, end: int) -> None:
    """Cut [start, end) out of the main track and close the gap; other tracks shift left."""
    total = duration_ms(draft)
    start, end = max(0, start), min(end, total)
    if end <= start:
        raise ValueError("that range is outside the video")
    if start == 0 and end >= total:
        raise ValueError("that would remove the whole video")
    gap = end - start
    for trk in draft["t"]:
        kept: list[Segment] = []
        for seg in trk["sg"]:
            if _overlaps(seg, 0, start):
                kept.append(_slice(dict(seg, m=dict(seg.get("m", {}))), 0, start, trk.get("tt")))
            if _overlaps(seg, end, total):
                tail = _slice(dict(seg, m=dict(seg.get("m", {}))), end, total, trk.get("tt"))
                tail["s"] -= gap
                if kept and kept[-1]["id"] == tail["id"]:
                    tail["id"] = new_id("seg")
                kept.append(tail)
        trk["sg"] = kept
    relayout(draft)


def _overlaps(seg: Segment, start: int, end: int) -> bool:
    return int(seg["s"]) < end and _end(seg) > start


def _slice(seg: Segment, start: int, end: int, tt: Any) -> Segment:
    """The part of `seg` inside [start, end), with the source in-point moved for media segments."""
    s0, s1 = max(int(seg["s"]), start), min(_end(seg), end)
    if tt in (VIDEO, AUDIO) and seg.get("m", {}).get("kind") != "image":
        seg["ss"] = int(seg.get("ss", 0)) + round((s0 - int(seg["s"])) * float(seg.get("sp", 1.0)))
    seg["s"], seg["d"] = s0, s1 - s0
    return seg


def set_speed(draft: Draft, factor: float) -> None:
    """Multiply the playback speed of every video clip (stills keep their length)."""
    for seg in segments(draft, VIDEO):
        if seg.get("m", {}).get("kind") == "image":
            continue
        source_span = int(seg["d"]) * float(seg.get("sp", 1.0))
        seg["sp"] = round(float(seg.get("sp", 1.0)) * factor, 4)
        seg["d"] = max(1, round(source_span / seg["sp"]))
    relayout(draft)


def set_volume(draft: Draft, volume: int) -> None:
    for seg in segments(draft, VIDEO):
        seg["v"] = volume


def add_title(draft: Draft, text: str, start: int, dur: int, pos: str) -> Segment:
    total = duration_ms(draft)
    start = min(max(0, start), max(0, total - 1))
    dur = max(1, min(dur, total - start))
    seg: Segment = {
        "id": new_id("seg"),
        "s": start,
        "d": dur,
        "n": f"Title: {text}",
        "txt": text,
        "m": {"pos": pos, "color": "white", "size": 64},
    }
    trk = track(draft, TEXT)
    assert trk is not None
    trk["sg"].append(seg)
    trk["sg"].sort(key=lambda sg: sg["s"])
    relayout(draft)
    return seg


def set_bgm(draft: Draft, *, src: str, name: str, volume: int) -> Segment:
    """Replace the BGM track with one looped audio segment spanning the whole timeline."""
    draft["t"] = [t for t in draft["t"] if t.get("tt") != AUDIO]
    seg: Segment = {
        "id": new_id("seg"),
        "s": 0,
        "d": duration_ms(draft),
        "n": name,
        "src": src,
        "ss": 0,
        "v": volume,
        "m": {"kind": "audio", "loop": True},
    }
    trk = track(draft, AUDIO)
    assert trk is not None
    trk["sg"].append(seg)
    relayout(draft)
    return seg


def fit_canvas(width: int, height: int) -> tuple[int, int]:
    """Clamp to the render cap (long side <= 1920, short side <= 1080), keeping the ratio; even sizes."""
    width, height = max(2, width), max(2, height)
    long_cap, short_cap = (MAX_LONG, MAX_SHORT) if width >= height else (MAX_SHORT, MAX_LONG)
    scale = min(1.0, long_cap / width, short_cap / height)
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def set_canvas(draft: Draft, width: int, height: int) -> tuple[int, int]:
    width, height = fit_canvas(width, height)
    draft.setdefault("m", {}).update(width=width, height=height)
    return width, height


def export_ready(draft: Any) -> bool:
    """Skill §3.5a: `t` exists and one track has a non-empty `sg`."""
    tracks = draft.get("t") if isinstance(draft, dict) else None
    return isinstance(tracks, list) and any(isinstance(t, dict) and t.get("sg") for t in tracks)


def aspect_label(width: int, height: int) -> str:
    from math import gcd

    g = gcd(width, height) or 1
    ratio = f"{width // g}:{height // g}"
    known = {"16:9", "9:16", "1:1", "4:5", "4:3", "3:4", "21:9"}
    return ratio if ratio in known else f"{width / height:.2f}:1"
