"""Decoded view of a NemoVideo draft: tracks, segments, the skill's summary line, state diffs,
export readiness.

Only ``t`` / ``tt`` / ``sg`` / ``d`` / ``m`` are documented; segment keys are read from every variant
listed in docs/architecture.md. :meth:`Timeline.from_draft` never raises, whatever JSON it is given.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from nemo_mcp.api._values import finite_float, json_in_string

__all__ = [
    "Change",
    "ChangeKind",
    "Segment",
    "Timeline",
    "Track",
    "TrackKind",
    "diff",
    "export_ready",
    "format_seconds",
]

TrackKind = Literal["video", "audio", "text", "image", "other"]

_TT_KIND: dict[int, TrackKind] = {0: "video", 1: "audio", 7: "text"}
_NAME_KIND: dict[str, TrackKind] = {
    "video": "video",
    "main": "video",
    "audio": "audio",
    "bgm": "audio",
    "music": "audio",
    "voice": "audio",
    "voiceover": "audio",
    "sfx": "audio",
    "text": "text",
    "title": "text",
    "subtitle": "text",
    "caption": "text",
    "image": "image",
    "sticker": "image",
}
_LABEL: dict[TrackKind, str] = {
    "video": "Video",
    "audio": "BGM",
    "text": "Title",
    "image": "Image",
    "other": "Track",
}

_START_KEYS = ("s", "start", "st", "startTime", "start_ms")
_DUR_KEYS = ("d", "duration", "dur", "duration_ms")
_END_KEYS = ("e", "end", "endTime", "end_ms")
_NAME_KEYS = ("n", "name", "title")
_TEXT_KEYS = ("txt", "text", "content")
_VOL_KEYS = ("v", "vol", "volume")
_SRC_KEYS = ("src", "url", "cdn_url", "source", "path")
_MAX_SEGMENTS_IN_SUMMARY = 6


def _text(value: Any, limit: int = 500) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        return value[:limit] if value else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _first(obj: Mapping[str, Any], meta: Mapping[str, Any], keys: Sequence[str], conv: Any) -> Any:
    for key in keys:
        if key in obj:
            out = conv(obj[key])
            if out is not None:
                return out
    for key in keys:
        if key in meta:
            out = conv(meta[key])
            if out is not None:
                return out
    return None


def _basename(url: str) -> str:
    tail = url.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return tail or url


def format_seconds(ms: float) -> str:
    """``10000`` -> ``"10"``, ``2500`` -> ``"2.5"``, ``3333`` -> ``"3.3"``."""
    sec = round(ms / 1000.0, 1)
    if sec == int(sec):
        return str(int(sec))
    return f"{sec:.1f}"


class Segment(BaseModel):
    model_config = ConfigDict(frozen=True)

    index: int  # 0-based position in its track
    id: str | None = None
    start_ms: float | None = None
    duration_ms: float | None = None
    name: str | None = None
    text: str | None = None
    volume: float | None = None  # percent, 0 = muted
    src: str | None = None
    source_in_ms: float | None = None
    speed: float | None = None
    meta: dict[str, Any] = Field(default_factory=dict, repr=False)

    @property
    def end_ms(self) -> float | None:
        if self.start_ms is None or self.duration_ms is None:
            return None
        return self.start_ms + self.duration_ms

    def display_name(self, kind: TrackKind = "other") -> str:
        if kind == "text":
            shown = self.text or self.name
            return f'"{shown}"' if shown else "(text)"
        if self.name:
            return self.name
        if self.src:
            return _basename(self.src)
        if self.text:
            return f'"{self.text}"'
        return f"clip {self.index + 1}"

    def time_range(self) -> str | None:
        if self.start_ms is not None and self.duration_ms is not None:
            return f"{format_seconds(self.start_ms)}-{format_seconds(self.start_ms + self.duration_ms)}s"
        if self.duration_ms is not None:
            return f"{format_seconds(self.duration_ms)}s"
        if self.start_ms is not None:
            return f"from {format_seconds(self.start_ms)}s"
        return None

    def describe(self, kind: TrackKind = "other") -> str:
        bits: list[str] = []
        rng = self.time_range()
        if rng:
            bits.append(rng)
        if self.volume is not None and (kind == "audio" or self.volume != 100):
            bits.append("muted" if self.volume == 0 else f"{format_volume(self.volume)}%")
        name = self.display_name(kind)
        return f"{name} ({', '.join(bits)})" if bits else name

    @classmethod
    def from_raw(cls, raw: Any, index: int) -> Segment:
        if not isinstance(raw, Mapping):
            return cls(index=index)
        meta_raw = raw.get("m")
        meta: Mapping[str, Any] = meta_raw if isinstance(meta_raw, Mapping) else {}
        start = _first(raw, meta, _START_KEYS, finite_float)
        duration = _first(raw, meta, _DUR_KEYS, finite_float)
        if duration is None:
            end = _first(raw, meta, _END_KEYS, finite_float)
            if end is not None and start is not None and end >= start:
                duration = end - start
        volume = _first(raw, meta, _VOL_KEYS, finite_float)
        if (
            volume is not None
            and isinstance(_first(raw, meta, _VOL_KEYS, lambda v: v), float)
            and 0 < volume < 1
        ):
            volume = volume * 100.0  # a 0..1 fraction
        seg_id = raw.get("id")
        return cls(
            index=index,
            id=str(seg_id)[:200] if isinstance(seg_id, (str, int)) and not isinstance(seg_id, bool) else None,
            start_ms=start,
            duration_ms=duration if duration is None or duration >= 0 else None,
            name=_first(raw, meta, _NAME_KEYS, _text),
            text=_first(raw, meta, _TEXT_KEYS, _text),
            volume=volume,
            src=_first(raw, meta, _SRC_KEYS, _text),
            source_in_ms=finite_float(raw.get("ss")),
            speed=finite_float(raw.get("sp")),
            meta=dict(meta),
        )


def format_volume(volume: float) -> str:
    return str(round(volume)) if abs(volume - round(volume)) < 0.05 else f"{volume:.1f}"


class Track(BaseModel):
    model_config = ConfigDict(frozen=True)

    index: int  # 1-based, paint order
    id: str | None = None
    type_code: int | None = None  # the draft's `tt`
    kind: TrackKind = "other"
    segments: list[Segment] = Field(default_factory=list)

    @property
    def label(self) -> str:
        if self.kind == "other" and self.type_code is not None:
            return f"Track (type {self.type_code})"
        return _LABEL[self.kind]

    def summary(self) -> str:
        if not self.segments:
            return f"{self.index}. {self.label}: (empty)"
        shown = [seg.describe(self.kind) for seg in self.segments[:_MAX_SEGMENTS_IN_SUMMARY]]
        more = len(self.segments) - len(shown)
        if more > 0:
            shown.append(f"+{more} more")
        return f"{self.index}. {self.label}: {', '.join(shown)}"

    @classmethod
    def from_raw(cls, raw: Any, index: int) -> Track:
        if not isinstance(raw, Mapping):
            return cls(index=index)
        code: int | None = None
        kind: TrackKind = "other"
        for key in ("tt", "type", "track_type", "kind"):
            value = raw.get(key)
            if isinstance(value, bool) or value is None:
                continue
            if isinstance(value, (int, float)) and math.isfinite(value):
                code = int(value)
                kind = _TT_KIND.get(code, "other")
                break
            if isinstance(value, str):
                stripped = value.strip().lower()
                if stripped.lstrip("-").isdigit() and len(stripped) < 10:
                    code = int(stripped)
                    kind = _TT_KIND.get(code, "other")
                    break
                if stripped in _NAME_KIND:
                    kind = _NAME_KIND[stripped]
                    break
        segs_raw = raw.get("sg")
        if not isinstance(segs_raw, list):
            segs_raw = raw.get("segments")
        segments = (
            [Segment.from_raw(item, i) for i, item in enumerate(segs_raw)]
            if isinstance(segs_raw, list)
            else []
        )
        track_id = raw.get("id")
        return cls(
            index=index,
            id=str(track_id)[:200]
            if isinstance(track_id, (str, int)) and not isinstance(track_id, bool)
            else None,
            type_code=code,
            kind=kind,
            segments=segments,
        )


class Timeline(BaseModel):
    """The decoded draft. Build it with :meth:`from_draft`."""

    model_config = ConfigDict(frozen=True)

    tracks: list[Track] = Field(default_factory=list)
    duration_ms: float | None = None
    title: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None

    @classmethod
    def from_draft(cls, draft: Any) -> Timeline:
        """Decode any JSON value (a draft dict, a JSON string of one, or garbage). Never raises."""
        try:
            return cls._from_draft(draft)
        except Exception:  # a decoder for untrusted JSON must not take the caller down
            return cls()

    @classmethod
    def _from_draft(cls, draft: Any) -> Timeline:
        if isinstance(draft, (str, bytes)) and len(draft) < 50_000_000:
            draft = json_in_string(draft)
        if not isinstance(draft, Mapping):
            return cls()
        tracks_raw = draft.get("t")
        if not isinstance(tracks_raw, list):
            tracks_raw = draft.get("tracks")
        tracks = (
            [Track.from_raw(item, i + 1) for i, item in enumerate(tracks_raw)]
            if isinstance(tracks_raw, list)
            else []
        )
        meta_raw = draft.get("m")
        meta: Mapping[str, Any] = meta_raw if isinstance(meta_raw, Mapping) else {}
        width = finite_float(meta.get("width", draft.get("width")))
        height = finite_float(meta.get("height", draft.get("height")))
        duration = finite_float(draft.get("d", draft.get("duration")))
        if duration is None:
            ends = [seg.end_ms for tr in tracks for seg in tr.segments if seg.end_ms is not None]
            duration = max(ends) if ends else None
        return cls(
            tracks=tracks,
            duration_ms=duration,
            title=_text(meta.get("title")),
            width=int(width) if width is not None and abs(width) < 1e9 else None,
            height=int(height) if height is not None and abs(height) < 1e9 else None,
            fps=finite_float(meta.get("fps", draft.get("fps"))),
        )

    @property
    def is_empty(self) -> bool:
        return not any(tr.segments for tr in self.tracks)

    def tracks_of(self, kind: TrackKind) -> list[Track]:
        return [tr for tr in self.tracks if tr.kind == kind]

    @property
    def resolution(self) -> str | None:
        return f"{self.width}x{self.height}" if self.width and self.height else None

    def summary_line(self) -> str:
        """The skill's one-line summary (docs/skill.md, "Backend Response Translation"), e.g.

        ``Timeline (3 tracks): 1. Video: city timelapse (0-10s) 2. BGM: Lo-fi (0-10s, 35%)
        3. Title: "Urban Dreams" (0-3s)`` (on one line).
        """
        n = len(self.tracks)
        head = f"Timeline ({n} track{'' if n == 1 else 's'})"
        if not self.tracks:
            return f"{head}: empty"
        return f"{head}: " + " ".join(tr.summary() for tr in self.tracks)


def export_ready(draft: Any) -> bool:
    """``draft.t`` exists and at least one track has a non-empty ``sg`` (docs/nemo-api.md §3.2, §8 C21)."""
    if not isinstance(draft, Mapping):
        return False
    tracks = draft.get("t")
    if not isinstance(tracks, list):
        return False
    return any(isinstance(tr, Mapping) and isinstance(tr.get("sg"), list) and tr["sg"] for tr in tracks)


# ----------------------------------------------------------------------------------------------------
# diff

ChangeKind = Literal[
    "track_added",
    "track_removed",
    "segment_added",
    "segment_removed",
    "segment_trimmed",
    "volume_changed",
    "text_changed",
    "renamed",
    "resolution_changed",
    "duration_changed",
    "media_added",
]


class Change(BaseModel):
    """One difference between two states, with a sentence a user can read."""

    model_config = ConfigDict(frozen=True)

    kind: ChangeKind
    sentence: str
    track: str | None = None  # label, e.g. "BGM"
    track_index: int | None = None  # 1-based, in the new timeline when it exists there
    segment: str | None = None
    before: Any = None
    after: Any = None


def _as_timeline(value: Any) -> Timeline:
    if isinstance(value, Timeline):
        return value
    timeline = getattr(value, "timeline", None)
    if isinstance(timeline, Timeline):
        return timeline
    return Timeline.from_draft(value)


def _pair_by_id_or_position(old: Sequence[Any], new: Sequence[Any], group: Any) -> list[tuple[Any, Any]]:
    """Pair items by ``id`` when both sides have distinct ids, else by (group key, occurrence)."""
    pairs: list[tuple[Any, Any]] = []
    old_ids = [o.id for o in old]
    new_ids = [n.id for n in new]
    if (
        all(old_ids)
        and all(new_ids)
        and len(set(old_ids)) == len(old_ids)
        and len(set(new_ids)) == len(new_ids)
    ):
        new_by_id = {n.id: n for n in new}
        old_by_id = {o.id: o for o in old}
        pairs.extend((o, new_by_id.get(o.id)) for o in old)
        pairs.extend((None, n) for n in new if n.id not in old_by_id)
        return pairs
    buckets: dict[Any, list[Any]] = {}
    for n in new:
        buckets.setdefault(group(n), []).append(n)
    for o in old:
        bucket = buckets.get(group(o))
        pairs.append((o, bucket.pop(0) if bucket else None))
    pairs.extend((None, n) for bucket in buckets.values() for n in bucket)
    return pairs


def _media_name(info: Any) -> str:
    if isinstance(info, Mapping):
        for key in ("filename", "name", "title", "file_name"):
            val = _text(info.get(key))
            if val:
                return val
        for key in ("cdn_url", "url", "src"):
            val = _text(info.get(key))
            if val:
                return _basename(val)
    return "media"


def _media_key(info: Any) -> str:
    if isinstance(info, Mapping):
        for key in ("id", "file_id", "hash", "cdn_url", "url"):
            val = info.get(key)
            if isinstance(val, (str, int)) and not isinstance(val, bool):
                return f"{key}:{val}"
    try:
        return json.dumps(info, sort_keys=True, default=str)[:2000]
    except (TypeError, ValueError, RecursionError):
        return repr(info)[:2000]


def diff(old: Any, new: Any) -> list[Change]:
    """Structured changes from ``old`` to ``new``.

    Accepts :class:`~nemo_mcp.api.models.ProjectState`, :class:`Timeline`, a raw draft dict, or None (empty).
    With two ``ProjectState`` values, new ``video_infos`` entries are reported as ``media_added``.
    Never raises on odd input.
    """
    try:
        return _diff(old, new)
    except Exception:
        return []


def _diff(old: Any, new: Any) -> list[Change]:
    a, b = _as_timeline(old), _as_timeline(new)
    changes: list[Change] = []

    for ot, nt in _pair_by_id_or_position(a.tracks, b.tracks, lambda t: (t.kind, t.type_code)):
        if ot is None:
            body = ", ".join(s.describe(nt.kind) for s in nt.segments[:_MAX_SEGMENTS_IN_SUMMARY]) or "empty"
            if nt.kind == "text" and nt.segments:
                sentence = f"Added title {body}"
            else:
                sentence = f"Added a {nt.label} track: {body}"
            changes.append(
                Change(
                    kind="track_added", sentence=sentence, track=nt.label, track_index=nt.index, after=body
                )
            )
            continue
        if nt is None:
            names = ", ".join(s.display_name(ot.kind) for s in ot.segments[:_MAX_SEGMENTS_IN_SUMMARY])
            sentence = f"Removed the {ot.label} track" + (f" ({names})" if names else "")
            changes.append(
                Change(kind="track_removed", sentence=sentence, track=ot.label, before=names or None)
            )
            continue
        changes.extend(_diff_track(ot, nt))

    if a.resolution != b.resolution and b.resolution is not None:
        changes.append(
            Change(
                kind="resolution_changed",
                sentence=f"Resolution: {a.resolution or 'unknown'} → {b.resolution}",
                before=a.resolution,
                after=b.resolution,
            )
        )
    if (
        a.duration_ms is not None
        and b.duration_ms is not None
        and format_seconds(a.duration_ms) != format_seconds(b.duration_ms)
    ):
        before_s, after_s = format_seconds(a.duration_ms), format_seconds(b.duration_ms)
        changes.append(
            Change(
                kind="duration_changed",
                sentence=f"Total duration: {before_s}s → {after_s}s",
                before=a.duration_ms,
                after=b.duration_ms,
            )
        )

    old_infos = _video_infos(old)
    new_infos = _video_infos(new)
    if new_infos is not None:
        seen = {_media_key(i) for i in (old_infos or [])}
        for info in new_infos:
            if _media_key(info) not in seen:
                name = _media_name(info)
                ftype = (
                    _text(info.get("file_type") or info.get("type")) if isinstance(info, Mapping) else None
                )
                sentence = f"New media: {name}" + (f" ({ftype})" if ftype else "")
                changes.append(Change(kind="media_added", sentence=sentence, segment=name, after=name))
    return changes


def _video_infos(value: Any) -> list[Any] | None:
    infos = getattr(value, "video_infos", None)
    return infos if isinstance(infos, list) else None


def _diff_track(ot: Track, nt: Track) -> list[Change]:
    out: list[Change] = []
    label = nt.label

    def change(kind: ChangeKind, sentence: str, segment: str | None, before: Any, after: Any) -> None:
        out.append(
            Change(
                kind=kind,
                sentence=sentence,
                track=label,
                track_index=nt.index,
                segment=segment,
                before=before,
                after=after,
            )
        )

    for os_, ns in _pair_by_id_or_position(ot.segments, nt.segments, lambda s: 0):
        if os_ is None:
            desc = ns.describe(nt.kind)
            sentence = f"Added title {desc}" if nt.kind == "text" else f"Added to {label}: {desc}"
            change("segment_added", sentence, ns.display_name(nt.kind), None, desc)
            continue
        if ns is None:
            name = os_.display_name(ot.kind)
            change("segment_removed", f"Removed from {label}: {name}", name, name, None)
            continue
        name = ns.display_name(nt.kind)
        if (os_.start_ms, os_.duration_ms) != (ns.start_ms, ns.duration_ms) or (
            os_.source_in_ms != ns.source_in_ms and ns.source_in_ms is not None
        ):
            before, after = os_.time_range() or "?", ns.time_range() or "?"
            if before != after or os_.source_in_ms != ns.source_in_ms:
                change("segment_trimmed", f"Trimmed {label} {name}: {before} → {after}", name, before, after)
        if os_.volume != ns.volume and ns.volume is not None:
            before_v = f"{format_volume(os_.volume)}%" if os_.volume is not None else "default"
            after_v = "muted" if ns.volume == 0 else f"{format_volume(ns.volume)}%"
            sentence = f"{label} {name} volume: {before_v} → {after_v}"
            change("volume_changed", sentence, name, os_.volume, ns.volume)
        if os_.text != ns.text and nt.kind == "text":
            sentence = f'{label} text: "{os_.text or ""}" → "{ns.text or ""}"'
            change("text_changed", sentence, name, os_.text, ns.text)
        elif os_.name != ns.name and ns.name and nt.kind != "text":
            sentence = f"{label} clip renamed: {os_.name or os_.display_name(ot.kind)} → {ns.name}"
            change("renamed", sentence, ns.name, os_.name, ns.name)
    return out
