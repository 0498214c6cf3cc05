"""A contact sheet: frames side by side in one JPEG, each tile labelled with its time.

One image instead of N keeps a model's context small and shows the frames in order at a glance. The
sheet is sized for vision models: its long edge at most 1568 px and its area at most about 1.2 MP (a
model reads about w*h/750 tokens), tiles as large as that allows and never larger than the frames. The
JPEG quality steps down until the sheet fits its byte budget (tool results over 1 MiB are refused by
some hosts, and the image travels as base64).

Labels sit in the bottom-left corner of each tile, white on a dark box (`label_box` says where).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from nemo_mcp.media.ffmpeg import filter_quote, label_font, run_ffmpeg

MAX_EDGE = 1568
MAX_PIXELS = 1_200_000
GAP = 6
TARGET_BYTES = 400_000
HARD_MAX_BYTES = 700_000  # as base64 about 930 KB: the whole tool result stays under 1 MiB
_QUALITIES = (4, 6, 9, 13, 18, 24)  # FFmpeg mjpeg -q:v steps, best first
BACKGROUND = "0x202020"
EMPTY_TILE = "0x101010"


class SheetError(RuntimeError):
    """FFmpeg could not compose the sheet."""


@dataclass(frozen=True)
class Tile:
    image: Path | None  # None: an empty tile (nothing to show at that time)
    label: str


@dataclass(frozen=True)
class Layout:
    columns: int
    rows: int
    tile_width: int
    tile_height: int
    gap: int = GAP

    @property
    def width(self) -> int:
        return self.columns * self.tile_width + (self.columns - 1) * self.gap

    @property
    def height(self) -> int:
        return self.rows * self.tile_height + (self.rows - 1) * self.gap

    def origin(self, index: int) -> tuple[int, int]:
        """Top-left corner of tile `index` (row by row)."""
        row, col = divmod(index, self.columns)
        return col * (self.tile_width + self.gap), row * (self.tile_height + self.gap)

    @property
    def font_size(self) -> int:
        return max(12, min(32, self.tile_height // 9))

    @property
    def margin(self) -> int:
        return max(3, self.font_size // 3)

    def label_box(self, index: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of the area a label may cover in tile `index`: its bottom-left corner."""
        x, y = self.origin(index)
        height = self.font_size + 4 * self.margin
        return x, y + self.tile_height - height, x + self.tile_width // 2, y + self.tile_height


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def plan_layout(
    count: int,
    aspect: float,
    *,
    max_tile_width: int | None = None,
    max_edge: int = MAX_EDGE,
    max_pixels: int = MAX_PIXELS,
    gap: int = GAP,
) -> Layout:
    """The grid with the largest tiles of `aspect` (width/height) within the edge and pixel bounds;
    `max_tile_width` (the frames' own width) keeps tiles from being upscaled."""
    count = max(1, count)
    aspect = aspect if aspect > 0 else 16 / 9
    best: Layout | None = None
    for columns in range(1, count + 1):
        rows = math.ceil(count / columns)
        if best is not None and rows == best.rows:
            continue  # same rows, more columns: only more empty cells
        width = (max_edge - (columns - 1) * gap) / columns
        width = min(width, (max_edge - (rows - 1) * gap) / rows * aspect)
        if max_tile_width:
            width = min(width, max_tile_width)
        # area = columns*rows*w*w/aspect (gaps aside) must stay within max_pixels
        width = min(width, math.sqrt(max_pixels * aspect / (columns * rows)))
        layout = Layout(columns, rows, _even(width), _even(width / aspect), gap)
        if best is None or _rank(layout) > _rank(best):
            best = layout
    assert best is not None
    return best


def _rank(layout: Layout) -> tuple[int, float]:
    """Larger tiles first; among equal tiles, a sheet shaped like a screen (about 3:2) reads best."""
    shape = abs(math.log(layout.width / layout.height / 1.5))
    return layout.tile_width * layout.tile_height, -shape


@dataclass(frozen=True)
class Sheet:
    jpeg: bytes
    layout: Layout
    labelled: bool  # False when no font was found (the times are still in the text answer)
    quality: int  # the mjpeg -q:v it was written with


async def build_sheet(
    tiles: list[Tile],
    layout: Layout,
    work_dir: Path,
    *,
    target_bytes: int = TARGET_BYTES,
    hard_max_bytes: int = HARD_MAX_BYTES,
    limit: float = 30.0,
) -> Sheet:
    """Compose `tiles` (row by row) into one JPEG of `layout`; the best quality within `target_bytes`,
    else the best within `hard_max_bytes`. Raises SheetError when FFmpeg fails or nothing fits."""
    if not tiles:
        raise SheetError("no frames to put on a sheet")
    font = label_font()
    inputs: list[str] = []
    chains: list[str] = []
    tw, th = layout.tile_width, layout.tile_height
    for i, tile in enumerate(tiles):
        if tile.image is None:
            inputs += ["-f", "lavfi", "-i", f"color=c={EMPTY_TILE}:s={tw}x{th}:d=1"]
        else:
            inputs += ["-protocol_whitelist", "file", "-i", str(tile.image)]
        chain = (
            f"[{i}:v]scale={tw}:{th}:force_original_aspect_ratio=decrease,"
            f"pad={tw}:{th}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,format=yuv420p"
        )
        if font is not None and tile.label:
            chain += (
                f",drawtext=fontfile={filter_quote(font)}:text={filter_quote(tile.label)}"
                f":fontsize={layout.font_size}:fontcolor=white:box=1:boxcolor=black@0.7"
                f":boxborderw={layout.margin}:x={2 * layout.margin}:y=h-th-{2 * layout.margin}"
            )
        chains.append(f"{chain}[t{i}]")
    if len(tiles) == 1 and layout.columns == 1 and layout.rows == 1:
        graph = ";".join(chains)
        out = "[t0]"
    else:
        positions = "|".join(f"{x}_{y}" for x, y in (layout.origin(i) for i in range(len(tiles))))
        stacked = "".join(f"[t{i}]" for i in range(len(tiles)))
        # xstack sizes its canvas to the tiles it has: a partly filled last row is padded to the grid
        graph = ";".join(chains) + (
            f";{stacked}xstack=inputs={len(tiles)}:layout={positions}:fill={BACKGROUND},"
            f"pad={layout.width}:{layout.height}:0:0:color={BACKGROUND}[sheet]"
        )
        out = "[sheet]"
        if len(tiles) == 1:  # xstack needs two inputs: pad the single tile onto the grid instead
            graph = chains[0] + f";[t0]pad={layout.width}:{layout.height}:0:0:color={BACKGROUND}[sheet]"
    dest = work_dir / "sheet.jpg"
    fallback: tuple[bytes, int] | None = None
    for quality in _QUALITIES:
        args = ["-loglevel", "error", *inputs, "-filter_complex", graph, "-map", out]
        args += ["-frames:v", "1", "-q:v", str(quality), "-f", "image2", "-update", "1", str(dest)]
        code, err = await run_ffmpeg(args, limit=limit)
        if code != 0 or not dest.is_file():
            raise SheetError(f"FFmpeg could not compose the sheet: {err.strip()[-300:]}")
        data = dest.read_bytes()
        if len(data) <= target_bytes:
            return Sheet(data, layout, font is not None, quality)
        if len(data) <= hard_max_bytes and fallback is None:
            fallback = (data, quality)
    if fallback is not None:
        return Sheet(fallback[0], layout, font is not None, fallback[1])
    raise SheetError("the sheet stays over its size limit even at the lowest quality")
