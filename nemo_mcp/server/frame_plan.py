"""Which picture stands for each moment asked of `get_frames`: the moments, then where each one's picture
comes from (the export at that time, or the clip on the timeline's top visual track with its trim and
speed applied). Pure: no I/O, no MCP.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from nemo_mcp.api.timeline import Timeline
from nemo_mcp.media.frames import Source

DEFAULT_COUNT = 8
MAX_FRAMES = 24
STILL_EXTS = frozenset({"jpg", "jpeg", "png", "gif", "webp", "bmp"})
_VISUAL = ("video", "image", "other")


@dataclass(frozen=True)
class Moment:
    at: float  # seconds on the timeline this tile stands for
    window: tuple[float, float] | None = None  # overview slot on the timeline (keyframes preferred)


def moments(duration: float, at: list[float] | None, count: int | None) -> list[Moment]:
    """The requested times (sorted, de-duplicated, within the video), or `count` evenly spread slots whose
    centres stand for them. A time past the end is moved to the last frame."""
    end = max(0.0, duration)
    if at:
        last = max(0.0, end - 0.05)
        times = sorted({round(min(max(0.0, t), last), 3) for t in at})
        return [Moment(t) for t in times[:MAX_FRAMES]]
    n = max(1, min(MAX_FRAMES, count or DEFAULT_COUNT))
    if end <= 0:
        return [Moment(0.0)]
    width = end / n
    return [Moment(round((i + 0.5) * width, 3), (i * width, (i + 1) * width)) for i in range(n)]


@dataclass(frozen=True)
class Shot:
    """One tile: where its picture comes from, and how the picture's own time maps to the timeline."""

    moment: Moment
    source: Source | None  # None: nothing to show (a gap, or media that cannot be read)
    source_at: float = 0.0
    window: tuple[float, float] | None = None  # in source seconds
    clip: str | None = None
    offset: float = 0.0  # timeline time = offset + (source time - trim) / speed
    trim: float = 0.0
    speed: float = 1.0
    end: float | None = None  # timeline frames: where the clip's use of its media ends (source seconds)
    note: str = ""

    def targets(self) -> list[float]:
        """Where to seek, in order: the time itself, then a little earlier (the picture found is at or
        after the seek time, and must not be past the clip's out-point or the video's end)."""
        out: list[float] = []
        for back in (0.0, 0.3, 1.0):
            t = round(max(self.trim, self.source_at - back), 3)
            if t not in out:
                out.append(t)
        return out

    def accepts(self, source_time: float) -> bool:
        return self.end is None or source_time < self.end

    def timeline_time(self, source_time: float) -> float:
        if self.source is not None and self.source.still:
            return self.moment.at
        return round(self.offset + (source_time - self.trim) / self.speed, 3)


def export_shots(source: Source, wanted: list[Moment]) -> list[Shot]:
    """The export shows the timeline as rendered: its time is the timeline's time."""
    return [Shot(m, source, m.at, m.window) for m in wanted]


def readable_url(url: str | None) -> bool:
    """Only http(s) media are read; anything else (file:, data:, relative paths) is not ours to open."""
    if not url:
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _is_still(url: str) -> bool:
    path = urlsplit(url).path.lower()
    return path.rsplit(".", 1)[-1] in STILL_EXTS if "." in path.rsplit("/", 1)[-1] else False


def timeline_shots(timeline: Timeline, wanted: list[Moment]) -> list[Shot]:
    """For each moment, the clip on the top visual track at that time (tracks are in paint order, so the
    last one covering it is what shows)."""
    return [_shot_at(timeline, m) for m in wanted]


def _shot_at(timeline: Timeline, moment: Moment) -> Shot:
    t_ms = moment.at * 1000
    for track in reversed(timeline.tracks):
        if track.kind not in _VISUAL:
            continue
        for seg in track.segments:
            start, end = seg.start_ms, seg.end_ms
            if start is None or end is None or not (start <= t_ms < end):
                continue
            name = seg.display_name(track.kind)
            if not readable_url(seg.src):
                if track.kind == "other" and not seg.src:
                    continue  # not a picture layer (e.g. effects): look further down
                return Shot(moment, None, clip=name, note="generated or unreadable layer, not shown")
            assert seg.src is not None
            speed = seg.speed if seg.speed and seg.speed > 0 else 1.0
            trim = (seg.source_in_ms or 0.0) / 1000
            offset = start / 1000
            source = Source(seg.src, still=_is_still(seg.src))
            at = trim + (moment.at - offset) * speed
            window = None
            if moment.window is not None:
                lo = max(moment.window[0], offset)
                hi = min(moment.window[1], end / 1000)
                if hi > lo:
                    window = (trim + (lo - offset) * speed, trim + (hi - offset) * speed)
            end_source = trim + (end / 1000 - offset) * speed
            return Shot(moment, source, round(at, 3), window, name, offset, trim, speed, end_source)
    return Shot(moment, None, note="nothing on the timeline here")
