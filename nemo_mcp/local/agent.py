"""The local agent: runs the operations of one `/run_sse` turn against a session and reports what it did.

It emits neutral events (`text`, `call`, `result`); `sse.py` encodes them as ADK or typed SSE. Replies use
GUI-speak like the real backend ("Preview it in the timeline", "click the Export button"); the MCP layer
translates that. Tool names follow docs/nemo-api.md §2.2: `edit_multitrack`, `understand_video`,
`generate_video_with_seedance`.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nemo_mcp.local import draft as drafts
from nemo_mcp.local.intents import EDIT_KINDS, INFO_KINDS, Op, parse
from nemo_mcp.local.knobs import Knobs
from nemo_mcp.local.ledger import Bill
from nemo_mcp.local.media import filter_quote, font_file, probe, run_ffmpeg, scene_changes
from nemo_mcp.local.state import Media, Session

Emit = Callable[[dict[str, Any]], Awaitable[None]]

EXPORT_HINT = (
    "When you're happy with it, click the Export button in the top-right corner to download your MP4."
)
CAPABILITIES = (
    'Here\'s what I can do with your uploaded media: trim ("trim to the first 10 seconds", '
    '"cut from 0:30 to 1:45", "remove 0:05 to 0:08"), change resolution or aspect ("1080p", "720p", '
    '"vertical 9:16", "square"), change speed ("2x", "slow motion"), mute or unmute, add a title '
    "(\"add a title 'Hello' for 3 seconds at the top\"), add background music from an uploaded audio file "
    '("add background music at 30%"), combine uploaded clips, extract metadata and summarize your video.'
)


@dataclass
class Plan:
    ops: list[Op]
    cost: int


def plan(text: str, knobs: Knobs) -> Plan:
    """The operations and the turn's price: a generation covers the edits beside it, editing costs once
    per turn, analysis (free by default) once per turn. The turn is admitted at this price and never
    charged more (ledger.Bill)."""
    ops = parse(text)
    generate = any(op.kind == "generate" for op in ops) and knobs.simulate_generation
    cost = knobs.generation_cost if generate else 0
    if any(op.kind in EDIT_KINDS for op in ops):
        cost = max(cost, knobs.edit_cost)
    if any(op.kind in INFO_KINDS for op in ops):
        cost += knobs.analysis_cost
    return Plan(ops, cost)


class Aborted(Exception):
    """The turn was cut off (injected mid-stream error)."""


@dataclass
class TurnContext:
    session: Session
    knobs: Knobs
    data_dir: Path
    base_url: str
    emit: Emit
    silent: bool
    bill: Bill  # each paid step holds its price, then settles or cancels it
    applied: int = 0  # edits actually made
    generated: bool = False  # a simulated generation ran
    edit_paid: bool = False  # the turn's editing charge is settled (later edits are covered)
    analysis_paid: bool = False
    info: list[str] = field(default_factory=list)  # metadata/summary answers, first in the reply
    said: list[str] = field(default_factory=list)  # past-tense descriptions of the edits
    notes: list[str] = field(default_factory=list)  # problems and caveats


async def run_turn(ctx: TurnContext, turn_plan: Plan) -> None:
    session = ctx.session
    ops = turn_plan.ops
    if not ops:
        has_media = bool(session.state["video_infos"])
        lead = "I'm not sure how to do that here. " if has_media else ""
        tail = "" if has_media else " Upload a video to get started."
        await _text(ctx, lead + CAPABILITIES + tail)
        return
    export_asked = any(op.kind == "export" for op in ops)
    titled = False
    for op in ops:
        if op.kind == "export":
            continue
        if op.kind == "generate":
            await _generate(ctx, op)
            continue
        if op.kind in INFO_KINDS:
            await _understand(ctx, op)
            continue
        if not drafts.segments(session.draft, drafts.VIDEO) and op.kind != "concat":
            ctx.notes.append(
                "There's nothing on the timeline yet: upload a video first, then tell me what to change."
            )
            break
        done = await _edit(ctx, op)
        titled = titled or (done and op.kind == "title")
    parts: list[str] = list(ctx.info)
    if ctx.said:
        parts.append("Done! I've " + _join(ctx.said) + ".")
    parts.extend(ctx.notes)
    if ctx.applied:
        parts.append("Preview it in the timeline.")
        if titled:
            parts.append("Open the Text panel to adjust the style.")
    if export_asked:
        if drafts.export_ready(session.draft):
            parts.append(EXPORT_HINT)
        else:
            parts.append("There's nothing to export yet: upload or generate a video first.")
    elif ctx.applied:
        parts.append("Click the Export button when you're ready to download it.")
    # Silent turns (docs/nemo-api.md §2.4) skip the closing text of pure edit turns only.
    if parts and not (ctx.silent and ctx.applied and not any(op.kind in INFO_KINDS for op in ops)):
        await _text(ctx, " ".join(parts))


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _sec(ms: float) -> str:
    seconds = ms / 1000
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}" if seconds >= 60 else f"{seconds:.1f}s"


async def _text(ctx: TurnContext, text: str) -> None:
    await ctx.emit({"type": "text", "text": text})


async def _tool(ctx: TurnContext, name: str, args: dict[str, Any], long: bool = False) -> str:
    call_id = f"adk-{secrets.token_hex(8)}"
    await ctx.emit({"type": "call", "id": call_id, "name": name, "args": args, "long": long})
    if ctx.knobs.agent_delay > 0:
        await asyncio.sleep(ctx.knobs.agent_delay)
    return call_id


async def _result(
    ctx: TurnContext, call_id: str, name: str, response: dict[str, Any], keys: tuple[str, ...]
) -> None:
    delta = {key: copy.deepcopy(ctx.session.state[key]) for key in keys}
    await ctx.emit({"type": "result", "id": call_id, "name": name, "response": response, "delta": delta})


def _sync_canvas(session: Session) -> None:
    m = session.draft.setdefault("m", {})
    width, height = int(m.get("width", 1920)), int(m.get("height", 1080))
    session.state["canvas_config"] = {
        "width": width,
        "height": height,
        "aspect_ratio": drafts.aspect_label(width, height),
    }


async def _edit(ctx: TurnContext, op: Op) -> bool:
    session = ctx.session
    draft = session.draft
    args = dict(op.args)
    args.pop("text", None)
    held = 0 if ctx.edit_paid else ctx.bill.hold("edit", ctx.knobs.edit_cost)  # before the call: frozen
    call_id = await _tool(ctx, "edit_multitrack", {"action": op.kind, **args})
    try:
        said = _apply(ctx, op)
    except ValueError as exc:
        ctx.bill.cancel("edit", held)
        ctx.notes.append(f"I couldn't {op.kind.replace('_', ' ')}: {exc}.")
        await _result(ctx, call_id, "edit_multitrack", {"status": "error", "message": str(exc)}, ())
        return False
    _sync_canvas(session)
    if said:
        ctx.bill.settle("edit", held)
        ctx.edit_paid = True
        ctx.said.append(said)
        ctx.applied += 1
    else:
        ctx.bill.cancel("edit", held)
    response = {"status": "success", "summary": said, "duration_ms": drafts.duration_ms(draft)}
    await _result(ctx, call_id, "edit_multitrack", response, ("draft", "canvas_config"))
    return bool(said)


def _apply(ctx: TurnContext, op: Op) -> str:
    """Apply one edit to the session draft; returns the past-tense description for the reply."""
    session, draft, a = ctx.session, ctx.session.draft, op.args
    total = drafts.duration_ms(draft)
    if op.kind == "trim":
        start, end = (total - a["last"], total) if "last" in a else (a["start"], a["end"])
        if start >= total:
            raise ValueError(f"the video is only {_sec(total)} long")
        if start <= 0 and end >= total:
            raise ValueError(f"the video is already {_sec(total)} long, so there is nothing to cut")
        drafts.keep_range(draft, start, min(end, total))
        span = f"{_sec(max(0, start))}–{_sec(min(end, total))}"
        return f"trimmed the video to {span} ({_sec(drafts.duration_ms(draft))})"
    if op.kind == "trim_default":
        # "a trimmed clip" without numbers: first 30 s of longer videos, else drop ~10% at each end.
        start, end = (0, 30_000) if total > 30_000 else (round(total * 0.1), round(total * 0.9))
        drafts.keep_range(draft, start, end)
        return f"trimmed the clip to {_sec(start)}–{_sec(end)} ({_sec(drafts.duration_ms(draft))})"
    if op.kind == "remove":
        start, end = (total - a["last"], total) if "last" in a else (a["start"], a["end"])
        drafts.remove_range(draft, start, end)
        return f"removed {_sec(start)}–{_sec(min(end, total))} (now {_sec(drafts.duration_ms(draft))})"
    if op.kind == "canvas":
        return _canvas(ctx, a)
    if op.kind == "speed":
        factor = max(0.25, min(4.0, float(a["factor"])))
        drafts.set_speed(draft, factor)
        return f"set the speed to {factor:g}x (now {_sec(drafts.duration_ms(draft))})"
    if op.kind == "volume":
        drafts.set_volume(draft, int(a["volume"]))
        return "muted the original audio" if a["volume"] == 0 else "restored the original audio"
    if op.kind == "title":
        dur = int(a["dur"])
        start = max(0, total - dur) if a["start"] == -1 else int(a["start"])
        if start >= total:
            raise ValueError(f"the video is only {_sec(total)} long")
        seg = drafts.add_title(draft, a["text"], start, dur, a["pos"])
        if font_file() is None:
            ctx.notes.append("(No font is installed here, so the title won't be drawn in local renders.)")
        end = seg["s"] + seg["d"]
        return f'added the title "{a["text"]}" ({_sec(seg["s"])}–{_sec(end)}, {a["pos"]})'
    if op.kind == "bgm":
        audio = _pick_audio(session, a.get("text", ""))
        if audio is None:
            raise ValueError("there's no uploaded audio file; upload an mp3, wav, m4a or aac first")
        drafts.set_bgm(draft, src=audio["cdn_url"], name=audio["filename"], volume=int(a["volume"]))
        return f'added background music "{audio["filename"]}" at {a["volume"]}%'
    if op.kind == "concat":
        return _concat(session)
    raise ValueError(f"unsupported edit {op.kind}")


def _canvas(ctx: TurnContext, a: dict[str, Any]) -> str:
    m = ctx.session.draft.setdefault("m", {})
    cur_w, cur_h = int(m.get("width", 1920)), int(m.get("height", 1080))
    if "width" in a:
        width, height = drafts.set_canvas(ctx.session.draft, a["width"], a["height"])
        return f"set the canvas to {width}x{height}"
    short = int(a.get("short", 1080))
    rw, rh = a.get("ratio") or (cur_w, cur_h)
    if rw >= rh:
        width, height = round(short * rw / rh), short
    else:
        width, height = short, round(short * rh / rw)
    width, height = drafts.set_canvas(ctx.session.draft, width, height)
    label = a.get("label")
    if label == "4K":
        ctx.notes.append("4K isn't available here, so I used the maximum of 1080p.")
        label = "1080p"
    what = f"{label}, " if label else ""
    return f"set the resolution to {width}x{height} ({what}{drafts.aspect_label(width, height)})"


def _pick_audio(session: Session, text: str) -> dict[str, Any] | None:
    audios: list[dict[str, Any]] = [i for i in session.state["video_infos"] if i.get("file_type") == "audio"]
    for info in audios:
        name = str(info["filename"]).lower()
        if name in text or name.rsplit(".", 1)[0] in text:
            return info
    return audios[-1] if audios else None


def _concat(session: Session) -> str:
    """Make sure every uploaded clip is on the main track, in upload order."""
    visuals = [i for i in session.state["video_infos"] if i.get("file_type") in ("video", "image")]
    if len(visuals) < 2:
        raise ValueError("upload at least two clips to combine")
    placed = {seg.get("src") for seg in drafts.segments(session.draft, drafts.VIDEO)}
    for info in visuals:
        if info["cdn_url"] not in placed:
            kind = info["file_type"]
            dur = round(float(info["duration"]) * 1000) if kind == "video" else 5000
            drafts.append_clip(
                session.draft, src=info["cdn_url"], name=info["filename"], kind=kind, duration_ms=dur
            )
    n = len(drafts.segments(session.draft, drafts.VIDEO))
    return f"joined {n} clips on the main track ({_sec(drafts.duration_ms(session.draft))} in total)"


async def _understand(ctx: TurnContext, op: Op) -> None:
    session = ctx.session
    media = [m for m in session.media.values() if m.info["file_type"] in ("video", "image", "audio")]
    held = 0 if ctx.analysis_paid or not media else ctx.bill.hold("analysis", ctx.knobs.analysis_cost)
    call_id = await _tool(
        ctx, "understand_video", {"task": op.kind, "files": [m.info["filename"] for m in media]}
    )
    if not media:
        ctx.notes.append("I don't have any media to analyse yet: upload a video first.")
        await _result(ctx, call_id, "understand_video", {"status": "error", "message": "no media"}, ())
        return
    facts = []
    for item in media:
        p, info = item.probe, item.info
        entry: dict[str, Any] = {
            "filename": info["filename"],
            "file_type": info["file_type"],
            "duration": info["duration"],
            "width": p.width,
            "height": p.height,
            "fps": p.fps,
            "video_codec": p.video_codec or None,
            "has_audio": p.has_audio,
            "audio_codec": p.audio_codec or None,
            "size": info["size"],
        }
        if op.kind == "summary" and info["file_type"] == "video":
            entry["scene_changes"] = await scene_changes(item.path)
        facts.append(entry)
        session.state["video_analyses"].setdefault(info["filename"], {}).update(entry)
    ctx.bill.settle("analysis", held)
    ctx.analysis_paid = True
    await _result(
        ctx, call_id, "understand_video", {"status": "success", op.kind: facts}, ("video_analyses",)
    )
    ctx.info.append(_metadata_text(facts) if op.kind == "metadata" else _summary_text(session, facts))


def _metadata_text(facts: list[dict[str, Any]]) -> str:
    lines = []
    for f in facts:
        if f["file_type"] == "audio":
            lines.append(
                f"{f['filename']}: audio, {f['duration']:.2f}s, {f['audio_codec']}, {f['size']} bytes"
            )
            continue
        dur = f"{f['duration']:.2f}s, " if f["file_type"] == "video" else "still image, "
        fps = f"{f['fps']:g} fps, " if f["file_type"] == "video" else ""
        audio = f"audio: yes ({f['audio_codec']})" if f["has_audio"] else "audio: none"
        lines.append(
            f"{f['filename']}: {dur}{f['width']}x{f['height']}, {fps}{f['video_codec']}, {audio}, "
            f"{f['size']} bytes"
        )
    return "Metadata — " + "; ".join(lines) + "."


def _summary_text(session: Session, facts: list[dict[str, Any]]) -> str:
    videos = [f for f in facts if f["file_type"] == "video"]
    images = [f for f in facts if f["file_type"] == "image"]
    audios = [f for f in facts if f["file_type"] == "audio"]
    out = [f"Summary: {len(videos)} video clip(s), {len(images)} image(s) and {len(audios)} audio file(s)."]
    for f in videos:
        scenes = f.get("scene_changes") or []
        cuts = f"{len(scenes)} scene change(s)" + (
            f" at {', '.join(f'{t:g}s' for t in scenes[:6])}" if scenes else ""
        )
        out.append(
            f"{f['filename']} runs {f['duration']:.1f}s at {f['width']}x{f['height']}, {f['fps']:g} fps, "
            f"{'with' if f['has_audio'] else 'without'} sound, {cuts}."
        )
    d = session.draft
    out.append(
        f"The timeline is {_sec(drafts.duration_ms(d))} long at {d['m'].get('width')}x{d['m'].get('height')}."
    )
    return " ".join(out)


async def _generate(ctx: TurnContext, op: Op) -> None:
    if not ctx.knobs.simulate_generation:
        ctx.notes.append(
            "Generating new footage needs the NemoVideo cloud, which this local backend doesn't have. "
            "Upload your own clips and I can edit them. " + CAPABILITIES
        )
        return
    await _generate_two_stage(ctx, str(op.args.get("prompt") or "a video"))


async def _generate_two_stage(ctx: TurnContext, prompt: str) -> None:
    """Simulated generation with real media: stage 1 a test-pattern clip, stage 2 BGM + title (§2.4)."""
    session, draft = ctx.session, ctx.session.draft
    held = ctx.bill.hold("generation", ctx.knobs.generation_cost)  # frozen while it generates
    await _text(ctx, f"I'll generate your video of {prompt} now. This may take a few minutes.")
    call_id = await _tool(ctx, "generate_video_with_seedance", {"prompt": prompt, "duration": 5}, long=True)
    await asyncio.sleep(ctx.knobs.agent_delay * 2)  # "generating": the stream sends heartbeats meanwhile
    folder = ctx.data_dir / "generated" / session.session_id
    folder.mkdir(parents=True, exist_ok=True)
    portrait = int(draft["m"].get("height", 1080)) > int(draft["m"].get("width", 1920))
    size = "360x640" if portrait else "640x360"
    name = f"gen_{secrets.token_hex(4)}.mp4"
    vf = "format=yuv420p"
    if font := font_file():
        textfile = folder / f"{name}.txt"
        textfile.write_text(prompt[:80], encoding="utf-8")
        vf = (
            f"drawtext=fontfile={filter_quote(font)}:textfile={filter_quote(textfile)}:expansion=none:fontsize=28:fontcolor=white:"
            f"x=(w-text_w)/2:y=h-60,{vf}"
        )
    args = ["-f", "lavfi", "-i", f"testsrc=size={size}:rate=30:duration=5", "-vf", vf]
    code, err = await run_ffmpeg([*args, "-c:v", "libx264", "-preset", "ultrafast", str(folder / name)])
    if code != 0:
        raise RuntimeError(f"generation failed: {err[-200:]}")
    url = f"{ctx.base_url}/cdn/generated/{session.session_id}/{name}"
    facts = await probe(folder / name)
    if facts is None:
        raise RuntimeError("generated clip is unreadable")
    entry = {
        "filename": name,
        "file_type": "video",
        "cdn_url": url,
        "duration": facts.duration,
        "width": facts.width,
        "height": facts.height,
        "fps": facts.fps,
        "has_audio": facts.has_audio,
        "size": (folder / name).stat().st_size,
        "hash": hashlib.sha256((folder / name).read_bytes()).hexdigest(),
    }
    session.state["generated_media"].append({**entry, "prompt": prompt})
    session.state["video_infos"].append(entry)  # generated assets count as project media too (§3.1)
    session.media[url] = Media(entry, folder / name, facts)
    drafts.append_clip(draft, src=url, name=f"Generated: {prompt[:40]}", kind="video", duration_ms=5000)
    _sync_canvas(session)
    ctx.generated = True
    ctx.bill.settle("generation", held)
    response = {"status": "success", "video_url": url, "duration": 5.0}
    await _result(
        ctx, call_id, "generate_video_with_seedance", response, ("draft", "generated_media", "video_infos")
    )
    await _text(ctx, "Your video is ready! Preview it in the timeline. I'm adding music and a title next.")
    # Stage 2: the backend's own post-production.
    call_id = await _tool(
        ctx, "edit_multitrack", {"action": "post_production", "bgm": "sine", "title": prompt[:30]}
    )
    bgm = f"bgm_{secrets.token_hex(4)}.m4a"
    code, err = await run_ffmpeg(
        ["-f", "lavfi", "-i", "sine=frequency=440:duration=5", "-c:a", "aac", str(folder / bgm)]
    )
    if code != 0:
        raise RuntimeError(f"music generation failed: {err[-200:]}")
    title = prompt[:30].strip().title() or "My Video"
    drafts.set_bgm(
        draft,
        src=f"{ctx.base_url}/cdn/generated/{session.session_id}/{bgm}",
        name="Lo-fi (generated)",
        volume=35,
    )
    drafts.add_title(draft, title, 0, 3000, "top-center")
    await _result(ctx, call_id, "edit_multitrack", {"status": "success"}, ("draft",))
    await _text(
        ctx,
        f'I added background music (35%) and the title "{title}" (0–3s). Open the Text panel to adjust '
        "the style, and click the Export button when you're ready.",
    )
