"""The agent's generation step (`simulate_generation`): real media in two stages like NemoVideo's (a test-
pattern clip, then the backend's own music and title, docs/nemo-api.md §2.4), worded in the turn's language.
Without the knob it refuses, since generating needs NemoVideo's cloud."""

from __future__ import annotations

import asyncio
import hashlib
import secrets

from nemo_mcp.local import draft as drafts
from nemo_mcp.local.media import filter_quote, font_file, probe, run_ffmpeg
from nemo_mcp.local.speech import Reply, Say
from nemo_mcp.local.state import Media
from nemo_mcp.local.turn import TurnContext, result, sync_canvas, text, tool

CAPABILITIES = Say(
    'Here\'s what I can do with your uploaded media: trim ("trim to the first 10 seconds", '
    '"cut from 0:30 to 1:45", "remove 0:05 to 0:08"), change resolution or aspect ("1080p", "720p", '
    '"vertical 9:16", "square"), change speed ("2x", "slow motion"), mute or unmute, add a title '
    "(\"add a title 'Hello' for 3 seconds at the top\"), add background music from an uploaded audio file "
    '("add background music at 30%"), combine uploaded clips, extract metadata and summarize your video.',
    "我可以处理你上传的素材：剪辑（“只保留前10秒”“从0:30剪到1:45”“删除0:05到0:08”）、调整分辨率或画幅"
    "（“1080p”“720p”“竖屏 9:16”“方形”）、变速（“2倍速”“慢动作”）、静音或恢复声音、添加标题"
    "（“在顶部加标题「你好」显示3秒”）、用上传的音频添加背景音乐（“加背景音乐，音量30%”）、合并多个片段、"
    "提取元数据和总结视频内容。",
)
UNAVAILABLE = Say(
    "Generating new footage needs the NemoVideo cloud, which this local backend doesn't have. "
    "Upload your own clips and I can edit them.",
    "生成新画面需要 NemoVideo 云端，这个本地后端没有这个能力。上传你自己的片段，我可以帮你剪辑。",
)
START = {
    "en": (
        "I'll generate your video of {p} now. This may take a few minutes.",
        "Generating a video of {p} now. This may take a few minutes.",
        "Starting on your video of {p}; it may take a few minutes.",
    ),
    "zh": ("我现在开始生成「{p}」的视频，可能需要几分钟。", "正在为你生成「{p}」的视频，请稍等几分钟。"),
}
READY = {
    "en": ("Your video is ready!", "The video is ready.", "Your clip is ready!"),
    "zh": ("视频已生成！", "视频生成好了。", "视频已经准备好了！"),
}
NEXT = Say("I'm adding music and a title next.", "接下来我会添加背景音乐和标题。")


async def generate(ctx: TurnContext, prompt: str) -> None:
    if not ctx.knobs.simulate_generation:
        gap = "" if ctx.speaker.lang == "zh" else " "
        ctx.notes.append(Say(UNAVAILABLE.en + gap + CAPABILITIES.en, UNAVAILABLE.zh + CAPABILITIES.zh))
        return
    await _two_stage(ctx, prompt or "a video")


async def _two_stage(ctx: TurnContext, prompt: str) -> None:
    """Stage 1 a test-pattern clip, stage 2 BGM + title (§2.4)."""
    session, draft, speaker = ctx.session, ctx.session.draft, ctx.speaker
    held = ctx.bill.hold("generation", ctx.knobs.generation_cost)  # frozen while it generates
    await text(ctx, speaker.pick(START[speaker.lang]).format(p=prompt))
    call_id = await tool(ctx, "generate_video_with_seedance", {"prompt": prompt, "duration": 5}, long=True)
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
            f"drawtext=fontfile={filter_quote(font)}:textfile={filter_quote(textfile)}:expansion=none:"
            f"fontsize=28:fontcolor=white:x=(w-text_w)/2:y=h-60,{vf}"
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
    sync_canvas(session)
    ctx.generated = True
    ctx.bill.settle("generation", held)
    response = {"status": "success", "video_url": url, "duration": 5.0}
    await result(
        ctx, call_id, "generate_video_with_seedance", response, ("draft", "generated_media", "video_infos")
    )
    ready = [speaker.pick(READY[speaker.lang])]
    if speaker.gui(0.7):
        ready.append(speaker.step("preview"))
    ready.append(speaker.say(NEXT))
    await text(ctx, ("" if speaker.lang == "zh" else " ").join(ready))
    # Stage 2: the backend's own post-production.
    post = {"action": "post_production", "bgm": "sine", "title": prompt[:30]}
    call_id = await tool(ctx, "edit_multitrack", post)
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
    await result(ctx, call_id, "edit_multitrack", {"status": "success"}, ("draft",))
    added = Say(
        f'added background music (35%) and the title "{title}" (0–3s)',
        f"添加背景音乐（35%）和标题「{title}」（0–3秒）",
    )
    await text(ctx, speaker.reply(Reply(said=[added], topics=["text", "music", "effects", "export"])))


# --- the go-ahead before a paid generation (pending.py) ----------------------------------------------------

QUOTE_GUI = {
    "en": (
        "This will use about {n} credits. Click Generate to start.",
        "Generating a video of {p} takes about {n} credits — click the Generate button to confirm.",
        "About {n} credits will be used for this video. "
        "Press Generate in the bottom-right corner when you're ready.",
    ),
    "zh": (
        "预计消耗 {n} 积分，点击“生成”开始。",
        "生成「{p}」的视频大约需要 {n} 积分，点击“生成”按钮确认。",
        "这次生成预计消耗约 {n} 积分，准备好后点击右下角的“生成”。",
    ),
}
QUOTE_PLAIN = {
    "en": (
        "Generating a video of {p} will use about {n} credits. Reply 'yes' to proceed.",
        "This will use about {n} credits. Shall I go ahead?",
        "A video of {p} costs about {n} credits. Do you want me to continue?",
    ),
    "zh": (
        "生成「{p}」的视频大约需要 {n} 积分，确认后我就开始生成。",
        "这次生成预计消耗 {n} 积分，是否继续？",
        "大约需要 {n} 积分。回复“确认”即可开始生成。",
    ),
}
REFUSED = Say("OK, I won't generate it. No credits were used.", "好的，已取消生成，没有扣除积分。")
DROPPED = Say("I've dropped the generation that was waiting for your go-ahead.", "已取消之前待确认的生成。")


async def ask(ctx: TurnContext, prompt: str, cost: int) -> None:
    """Quote the price of a generation and wait (nothing runs, nothing is charged)."""
    speaker = ctx.speaker
    bank = QUOTE_GUI if speaker.gui(0.5) else QUOTE_PLAIN
    await text(ctx, speaker.finish(speaker.pick(bank[speaker.lang]).format(n=cost, p=prompt or "it")))
