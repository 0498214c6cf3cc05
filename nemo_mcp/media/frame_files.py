"""Full-size frames behind a contact sheet's resource links.

A sheet is made of small pictures; the full-size frame of each tile is taken only when someone reads it.
`record` keeps where the picture is (its source and its exact time, as a small JSON file); `full_size`
takes it at that time (seeking there finds the same frame) and keeps the JPEG. Both live in a bounded
cache, so a link works until its files are evicted, across restarts too.
"""

from __future__ import annotations

import json
import re
import secrets

import anyio

from nemo_mcp.media.cache import FileCache
from nemo_mcp.media.frames import MAX_FRAME_EDGE, Source, grab

_ID = re.compile(r"^fr_[0-9a-f]{16}$")


class FrameGone(LookupError):
    """An unknown frame id, or one whose files were evicted from the cache."""


class FrameFiles:
    def __init__(self, cache: FileCache) -> None:
        self.cache = cache

    @staticmethod
    def new_id() -> str:
        return "fr_" + secrets.token_hex(8)

    @staticmethod
    def valid(frame_id: str) -> bool:
        return bool(_ID.match(frame_id))

    def record(self, frame_id: str, source: Source, time: float) -> None:
        data = {"location": source.location, "still": source.still, "time": time}
        self.cache.put_bytes(f"{frame_id}.json", json.dumps(data).encode())

    async def full_size(self, frame_id: str, *, limit: float = 60.0) -> bytes:
        """The JPEG of the frame (long edge at most MAX_FRAME_EDGE). Raises FrameGone, or FrameError when
        its source can no longer be read."""
        if not self.valid(frame_id):
            raise FrameGone(frame_id)
        done = self.cache.get(f"{frame_id}.jpg")
        if done is not None:
            return done.read_bytes()
        meta = self.cache.get(f"{frame_id}.json")
        if meta is None:
            raise FrameGone(frame_id)
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
            source = Source(str(data["location"]), still=bool(data.get("still")))
            time = float(data["time"])
        except (OSError, ValueError, KeyError, TypeError):
            raise FrameGone(frame_id) from None
        temp = self.cache.temp(f"{frame_id}.jpg")
        try:
            await grab(source, time, temp, box=(MAX_FRAME_EDGE, MAX_FRAME_EDGE), limit=limit)
            return self.cache.commit(temp, f"{frame_id}.jpg").read_bytes()
        finally:
            await anyio.Path(temp).unlink(missing_ok=True)
