"""The local agent: runs the operations of one `/run_sse` turn against a session and reports what it did.

It emits neutral events (`text`, `call`, `result`, see turn.py); `sse.py` encodes them as ADK or typed SSE.
Replies are worded by `speech.py` the way NemoVideo's web-editor agent words them (GUI steps, the user's
language); the MCP layer translates that. Tool names follow docs/nemo-api.md §2.2: `edit_multitrack`,
`understand_video`, `generate_video_with_seedance`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nemo_mcp.local import draft as drafts
from nemo_mcp.local.analysis import understand
from nemo_mcp.local.generation import CAPABILITIES, generate
from nemo_mcp.local.intents import EDIT_KINDS, INFO_KINDS, Op, parse
from nemo_mcp.local.knobs import Knobs
from nemo_mcp.local.media import font_file
from nemo_mcp.local.speech import Reply, Say
from nemo_mcp.local.state import Session
from nemo_mcp.local.turn import Aborted, TurnContext, both, result, sec, sync_canvas, text, tool

__all__ = ["Aborted", "Plan", "TurnContext", "plan", "run_turn"]

UNSURE = Say("I'm not sure how to do that here.", "这个我在这里做不了。")
GET_STARTED = Say("Upload a video to get started.", "先上传一个视频吧。")
EMPTY = Say(
    "There's nothing on the timeline yet: upload a video first, then tell me what to change.",
    "时间轴上还没有内容：请先上传视频，再告诉我要改什么。",
)
EMPTY_GUI = Say(
    "The timeline is empty: drag a clip from the media library onto the timeline first, then tell me what "
    "to change.",
    "时间轴还是空的：先把素材从素材库拖到时间轴上，再告诉我要改什么。",
)
NO_FONT = Say(
    "(No font is installed here, so the title won't be drawn in local renders.)",
    "（这里没有安装字体，本地渲染时不会画出标题。）",
)
CLAMPED_4K = Say(
    "4K isn't available here, so I used the maximum of 1080p.", "这里不支持 4K，已使用最高的 1080p。"
)
WHAT = {  # what an edit was trying to do, for "I couldn't ..."
    "trim": Say("trim it", "剪辑"),
    "trim_default": Say("trim it", "剪辑"),
    "remove": Say("cut that part out", "删除这一段"),
    "canvas": Say("change the canvas", "调整画布"),
    "speed": Say("change the speed", "调整速度"),
    "volume": Say("change the sound", "调整声音"),
    "title": Say("add the title", "添加标题"),
    "bgm": Say("add background music", "添加背景音乐"),
    "concat": Say("combine the clips", "合并片段"),
}
TOPIC = {
    "trim": "cut",
    "trim_default": "cut",
    "remove": "cut",
    "canvas": "canvas",
    "speed": "speed",
    "volume": "volume",
    "title": "text",
    "bgm": "music",
    "concat": "concat",
}
POSITIONS = {"top-center": "顶部居中", "center": "居中", "bottom-center": "底部居中"}


class Refused(ValueError):
    """An edit that cannot be made, with the reason in both languages."""

    def __init__(self, why: Say) -> None:
        super().__init__(why.en)
        self.why = why


@dataclass
class Plan:
    ops: list[Op]
    cost: int


def plan(text: str, knobs: Knobs) -> Plan:
    """The operations and the turn's price: a generation covers the edits beside it, editing costs once
    per turn, analysis (free by default) once per turn. The turn is admitted at this price and never
    charged more (ledger.Bill)."""
    ops = parse(text)
    generating = any(op.kind == "generate" for op in ops) and knobs.simulate_generation
    cost = knobs.generation_cost if generating else 0
    if any(op.kind in EDIT_KINDS for op in ops):
        cost = max(cost, knobs.edit_cost)
    if any(op.kind in INFO_KINDS for op in ops):
        cost += knobs.analysis_cost
    return Plan(ops, cost)


async def run_turn(ctx: TurnContext, turn_plan: Plan) -> None:
    session, speaker = ctx.session, ctx.speaker
    ops = turn_plan.ops
    gap = "" if speaker.lang == "zh" else " "
    if not ops:
        has_media = bool(session.state["video_infos"])
        words = [speaker.say(note) for note in ctx.notes]
        words += [speaker.say(UNSURE)] if has_media else []
        words.append(speaker.say(CAPABILITIES))
        if not has_media:
            words.append(speaker.step("upload") if speaker.gui(0.5) else speaker.say(GET_STARTED))
        await text(ctx, speaker.finish(gap.join(words)))
        return
    export_asked = any(op.kind == "export" for op in ops)
    for op in ops:
        if op.kind == "export":
            continue
        if op.kind == "generate":
            await generate(ctx, str(op.args.get("prompt") or ""))
            continue
        if op.kind in INFO_KINDS:
            await understand(ctx, op.kind)
            continue
        if not drafts.segments(session.draft, drafts.VIDEO) and op.kind != "concat":
            ctx.notes.append(EMPTY_GUI if speaker.gui(0.4) else EMPTY)
            break
        await _edit(ctx, op)
    reply = Reply(info=ctx.info, said=ctx.said, notes=ctx.notes, topics=list(ctx.topics))
    if ctx.applied:
        reply.topics += ["preview", "export"]
    if export_asked:
        reply.export = "ready" if drafts.export_ready(session.draft) else "not_ready"
    closing = speaker.reply(reply)
    # Silent turns (docs/nemo-api.md §2.4) skip the closing text of pure edit turns only.
    if closing and not (ctx.silent and ctx.applied and not any(op.kind in INFO_KINDS for op in ops)):
        await text(ctx, closing)


async def _edit(ctx: TurnContext, op: Op) -> bool:
    session = ctx.session
    draft = session.draft
    args = dict(op.args)
    args.pop("text", None)
    held = 0 if ctx.edit_paid else ctx.bill.hold("edit", ctx.knobs.edit_cost)  # before the call: frozen
    call_id = await tool(ctx, "edit_multitrack", {"action": op.kind, **args})
    try:
        said = _apply(ctx, op)
    except ValueError as exc:
        ctx.bill.cancel("edit", held)
        why = exc.why if isinstance(exc, Refused) else _draft_reason(str(exc))
        what = WHAT.get(op.kind, Say(op.kind.replace("_", " "), op.kind))
        ctx.notes.append(Say(f"I couldn't {what.en}: {why.en}.", f"无法{what.zh}：{why.zh}。"))
        await result(ctx, call_id, "edit_multitrack", {"status": "error", "message": str(exc)}, ())
        return False
    sync_canvas(session)
    if said:
        ctx.bill.settle("edit", held)
        ctx.edit_paid = True
        ctx.said.append(said)
        ctx.topics.append(TOPIC.get(op.kind, "preview"))
        ctx.applied += 1
    else:
        ctx.bill.cancel("edit", held)
    summary = said.en if said else ""
    response = {"status": "success", "summary": summary, "duration_ms": drafts.duration_ms(draft)}
    await result(ctx, call_id, "edit_multitrack", response, ("draft", "canvas_config"))
    return bool(said)


def _draft_reason(message: str) -> Say:
    """draft.py's refusals, in both languages."""
    zh = {
        "that range is outside the video": "这个范围超出了视频长度",
        "that would remove the whole video": "这样会删掉整个视频",
    }
    return Say(message, zh.get(message, message))


def _apply(ctx: TurnContext, op: Op) -> Say | None:
    """Apply one edit to the session draft; returns the past-tense description for the reply."""
    session, draft, a = ctx.session, ctx.session.draft, op.args
    total = drafts.duration_ms(draft)
    if op.kind == "trim":
        start, end = (total - a["last"], total) if "last" in a else (a["start"], a["end"])
        if start >= total:
            raise Refused(both(lambda lang: _only(total, lang)))
        if start <= 0 and end >= total:
            raise Refused(
                Say(
                    f"the video is already {sec(total)} long, so there is nothing to cut",
                    f"视频本来就只有 {sec(total, 'zh')}，没有可剪的部分",
                )
            )
        drafts.keep_range(draft, start, min(end, total))
        lo, hi, now = max(0, start), min(end, total), drafts.duration_ms(draft)
        return Say(
            f"trimmed the video to {sec(lo)}–{sec(hi)} ({sec(now)})",
            f"把视频裁剪到 {sec(lo, 'zh')}–{sec(hi, 'zh')}（共 {sec(now, 'zh')}）",
        )
    if op.kind == "trim_default":
        # "a trimmed clip" without numbers: first 30 s of longer videos, else drop ~10% at each end.
        start, end = (0, 30_000) if total > 30_000 else (round(total * 0.1), round(total * 0.9))
        drafts.keep_range(draft, start, end)
        now = drafts.duration_ms(draft)
        return Say(
            f"trimmed the clip to {sec(start)}–{sec(end)} ({sec(now)})",
            f"把片段裁剪到 {sec(start, 'zh')}–{sec(end, 'zh')}（共 {sec(now, 'zh')}）",
        )
    if op.kind == "remove":
        start, end = (total - a["last"], total) if "last" in a else (a["start"], a["end"])
        drafts.remove_range(draft, start, end)
        hi, now = min(end, total), drafts.duration_ms(draft)
        return Say(
            f"removed {sec(start)}–{sec(hi)} (now {sec(now)})",
            f"删除 {sec(start, 'zh')}–{sec(hi, 'zh')}（现在共 {sec(now, 'zh')}）",
        )
    if op.kind == "canvas":
        return _canvas(ctx, a)
    if op.kind == "speed":
        factor = max(0.25, min(4.0, float(a["factor"])))
        drafts.set_speed(draft, factor)
        now = drafts.duration_ms(draft)
        return Say(
            f"set the speed to {factor:g}x (now {sec(now)})",
            f"把速度调为 {factor:g} 倍（现在共 {sec(now, 'zh')}）",
        )
    if op.kind == "volume":
        drafts.set_volume(draft, int(a["volume"]))
        if a["volume"] == 0:
            return Say("muted the original audio", "把原声静音")
        return Say("restored the original audio", "恢复原声")
    if op.kind == "title":
        dur = int(a["dur"])
        start = max(0, total - dur) if a["start"] == -1 else int(a["start"])
        if start >= total:
            raise Refused(both(lambda lang: _only(total, lang)))
        seg = drafts.add_title(draft, a["text"], start, dur, a["pos"])
        if font_file() is None:
            ctx.notes.append(NO_FONT)
        s, e, words, pos = seg["s"], seg["s"] + seg["d"], a["text"], a["pos"]
        return Say(
            f'added the title "{words}" ({sec(s)}–{sec(e)}, {pos})',
            f"添加标题「{words}」（{sec(s, 'zh')}–{sec(e, 'zh')}，{POSITIONS.get(pos, pos)}）",
        )
    if op.kind == "bgm":
        audio = _pick_audio(session, a.get("text", ""), ctx.instruction)
        if audio is None:
            raise Refused(
                Say(
                    "there's no uploaded audio file; upload an mp3, wav, m4a or aac first",
                    "还没有上传音频文件，请先上传 mp3、wav、m4a 或 aac",
                )
            )
        drafts.set_bgm(draft, src=audio["cdn_url"], name=audio["filename"], volume=int(a["volume"]))
        name, volume = audio["filename"], a["volume"]
        return Say(f'added background music "{name}" at {volume}%', f"添加背景音乐「{name}」，音量 {volume}%")
    if op.kind == "concat":
        return _concat(session)
    raise Refused(Say(f"unsupported edit {op.kind}", f"不支持的编辑 {op.kind}"))


def _only(total: int, lang: str) -> str:
    return f"视频只有 {sec(total, 'zh')}" if lang == "zh" else f"the video is only {sec(total)} long"


def _canvas(ctx: TurnContext, a: dict[str, Any]) -> Say:
    m = ctx.session.draft.setdefault("m", {})
    cur_w, cur_h = int(m.get("width", 1920)), int(m.get("height", 1080))
    if "width" in a:
        width, height = drafts.set_canvas(ctx.session.draft, a["width"], a["height"])
        return Say(f"set the canvas to {width}x{height}", f"把画布设为 {width}x{height}")
    short = int(a.get("short", 1080))
    rw, rh = a.get("ratio") or (cur_w, cur_h)
    if rw >= rh:
        width, height = round(short * rw / rh), short
    else:
        width, height = short, round(short * rh / rw)
    width, height = drafts.set_canvas(ctx.session.draft, width, height)
    label = a.get("label")
    if label == "4K":
        ctx.notes.append(CLAMPED_4K)
        label = "1080p"
    aspect = drafts.aspect_label(width, height)
    return Say(
        f"set the resolution to {width}x{height} ({label + ', ' if label else ''}{aspect})",
        f"把分辨率设为 {width}x{height}（{label + '，' if label else ''}{aspect}）",
    )


def _pick_audio(session: Session, clause: str, instruction: str) -> dict[str, Any] | None:
    """The uploaded audio the instruction names (its clause first, then anywhere), else the latest."""
    audios: list[dict[str, Any]] = [i for i in session.state["video_infos"] if i.get("file_type") == "audio"]
    for text_ in (clause, instruction.lower()):
        for info in audios:
            name = str(info["filename"]).lower()
            if name in text_ or name.rsplit(".", 1)[0] in text_:
                return info
    return audios[-1] if audios else None


def _concat(session: Session) -> Say:
    """Make sure every uploaded clip is on the main track, in upload order."""
    visuals = [i for i in session.state["video_infos"] if i.get("file_type") in ("video", "image")]
    if len(visuals) < 2:
        raise Refused(Say("upload at least two clips to combine", "至少要上传两个片段才能合并"))
    placed = {seg.get("src") for seg in drafts.segments(session.draft, drafts.VIDEO)}
    for info in visuals:
        if info["cdn_url"] not in placed:
            kind = info["file_type"]
            dur = round(float(info["duration"]) * 1000) if kind == "video" else 5000
            drafts.append_clip(
                session.draft, src=info["cdn_url"], name=info["filename"], kind=kind, duration_ms=dur
            )
    n = len(drafts.segments(session.draft, drafts.VIDEO))
    total = drafts.duration_ms(session.draft)
    return Say(
        f"joined {n} clips on the main track ({sec(total)} in total)",
        f"把 {n} 个片段拼接到主轨道（共 {sec(total, 'zh')}）",
    )
