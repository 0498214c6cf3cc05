"""`nemo-mcp demo`: the skill's example prompt end to end, offline, through a real MCP client.

Generates a ~10 s 640x360 clip with FFmpeg, starts the server with the embedded backend, and talks to it
with `mcp.Client`: upload_media, then ONE edit_video("extract metadata, generate a summary, and export a
trimmed clip via API") that runs the edit and then the render as one job (two-stage progress) and returns
the MP4's URL; the demo then fetches that URL, as the user would, and probes the file it got.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import anyio

from nemo_mcp.local.clips import make_clip

DEMO_INSTRUCTION = "extract metadata, generate a summary, and export a trimmed clip via API"  # the skill's


class Conversation:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.t0 = time.monotonic()

    def say(self, who: str, text: str) -> None:
        stamp = f"{time.monotonic() - self.t0:5.1f}s"
        lines = text.strip().splitlines() or [""]
        self.out.write(f"[{stamp}] {who}: {lines[0]}\n")
        for line in lines[1:]:
            self.out.write(f"{'':9}{' ' * len(who)}  {line}\n")
        self.out.flush()


def _text_of(result: Any) -> str:
    blocks = [b.text for b in result.content if getattr(b, "type", "") == "text"]
    return blocks[0] if blocks else ""


async def run_demo(out_dir: Path, *, out: TextIO = sys.stdout, seconds: float = 10.0) -> Path:
    from mcp import Client

    from nemo_mcp.local import Knobs
    from nemo_mcp.server.app import build_server
    from nemo_mcp.server.settings import ServerSettings

    convo = Conversation(out)
    with tempfile.TemporaryDirectory(prefix="nemo-demo-") as tmp_name:
        tmp = Path(tmp_name)
        convo.say("demo", f"generating a {seconds:g} s 640x360 test clip with FFmpeg")
        clip = await make_clip(tmp / "city_demo.mp4", seconds)
        settings = ServerSettings(
            backend="local",
            config_dir=tmp / "config",
            download_root=out_dir,
            media_dirs=[],
            # each agent step takes 0.4 s, so both stages (the edit, then the render) show in the progress
            local_knobs=Knobs(silent_fraction=0.0, heartbeat_interval=2.0, agent_delay=0.4),
            local_data_dir=tmp / "backend",
            api_overrides={"render_poll_initial": 0.5, "render_poll_max": 2.0},
        )
        server = build_server(settings)

        async def progress(progress: float, total: float | None, message: str | None) -> None:
            if message:
                convo.say("  progress", message)

        async def call(name: str, args: dict[str, Any]) -> Any:
            convo.say("assistant", f"→ {name}({json.dumps(args, ensure_ascii=False)})")
            res = await client.call_tool(name, args, progress_callback=progress)
            convo.say("nemo-mcp", _text_of(res))
            if res.is_error:
                raise RuntimeError(f"{name} failed")
            return res.structured_content or {}

        async def finish(data: dict[str, Any], key: str) -> dict[str, Any]:
            # A 'running' answer carries a job handle: keep waiting with get_job (never re-send), up to
            # 20 waits of at most 40 s each.
            job = data.get("job")
            if data.get("status") != "running" or not job:
                return data
            for _ in range(20):
                res = await call("get_job", {"job_id": job["job_id"]})
                if res["job"]["status"] != "running":
                    return res.get(key) or {}
                job = res["job"]
            raise RuntimeError(f"job {job['job_id']} was still running after 20 waits")

        async with Client(server) as client:
            tools = await client.list_tools()
            convo.say("demo", "connected; tools: " + ", ".join(t.name for t in tools.tools))
            convo.say("user", f"Here's my clip {clip.name}: {DEMO_INSTRUCTION}.")
            await call("upload_media", {"sources": [str(clip)]})
            # One call: the edit, then the render of what it left on the timeline (stages 1/2 and 2/2).
            edit = await call("edit_video", {"instruction": DEMO_INSTRUCTION})
            edit = await finish(edit, "edit")
            url = (edit.get("export") or {}).get("url")
            if not url:
                raise RuntimeError("edit_video finished without the exported MP4's URL")
            path = await _fetch(url, out_dir, clip.stem)  # while the embedded backend still serves it
        convo.say("demo", f"done: fetched the MP4 edit_video returned; it is at {path}")
        convo.say("demo", await _describe_mp4(path))
        return path


async def _fetch(url: str, out_dir: Path, stem: str) -> Path:
    """Download `url` into `out_dir` as <stem>.mp4 (<stem>_1.mp4, ... when taken), through a .part file."""
    import httpx

    await anyio.Path(out_dir).mkdir(parents=True, exist_ok=True)
    target = next(
        p
        for p in (out_dir / (f"{stem}.mp4" if n == 0 else f"{stem}_{n}.mp4") for n in range(1000))
        if not p.exists()
    )
    part = target.with_name(f".{target.name}.part")
    async with httpx.AsyncClient(timeout=60) as http, http.stream("GET", url) as r:
        r.raise_for_status()
        async with await anyio.open_file(part, "wb") as f:
            async for chunk in r.aiter_bytes():
                await f.write(chunk)
    await anyio.Path(part).rename(target)
    return target


async def _describe_mp4(path: Path) -> str:
    """What FFmpeg reads back from the downloaded file: proof it is a real, playable MP4."""
    from nemo_mcp.local.media import probe

    facts = await probe(path)
    size = (await anyio.Path(path).stat()).st_size
    if facts is None:
        raise RuntimeError(f"{path.name} is not a playable video")
    sound = f" + {facts.audio_codec}" if facts.has_audio else ", no sound"
    return (
        f"probed: {facts.duration:.2f} s, {facts.width}x{facts.height}, {facts.video_codec}{sound}, "
        f"{size / 1e6:.1f} MB"
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="nemo-mcp demo", description=__doc__.splitlines()[0] if __doc__ else None
    )
    p.add_argument(
        "--out", type=Path, default=Path("nemo-output"), help="where the MP4 lands (default ./nemo-output)"
    )
    p.add_argument("--seconds", type=float, default=10.0, help="length of the generated clip (default 10)")
    args = p.parse_args(list(argv) if argv is not None else None)
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        asyncio.run(run_demo(args.out.expanduser().resolve(), seconds=args.seconds))
    except Exception as exc:
        sys.stderr.write(f"demo failed: {exc}\n")
        return 1
    return 0
