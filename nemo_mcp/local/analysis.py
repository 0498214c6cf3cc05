"""The agent's `understand_video` step: real probed facts about the session's media, as metadata or a summary,
in the turn's language."""

from __future__ import annotations

from typing import Any

from nemo_mcp.local import draft as drafts
from nemo_mcp.local.media import scene_changes
from nemo_mcp.local.speech import Say
from nemo_mcp.local.state import Session
from nemo_mcp.local.turn import TurnContext, result, sec, tool

NO_MEDIA = Say(
    "I don't have any media to analyse yet: upload a video first.",
    "还没有可以分析的素材：请先上传视频。",
)


async def understand(ctx: TurnContext, kind: str) -> None:
    """`kind` is "metadata" or "summary"."""
    session = ctx.session
    media = [m for m in session.media.values() if m.info["file_type"] in ("video", "image", "audio")]
    held = 0 if ctx.analysis_paid or not media else ctx.bill.hold("analysis", ctx.knobs.analysis_cost)
    names = [m.info["filename"] for m in media]
    call_id = await tool(ctx, "understand_video", {"task": kind, "files": names})
    if not media:
        ctx.notes.append(NO_MEDIA)
        await result(ctx, call_id, "understand_video", {"status": "error", "message": "no media"}, ())
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
        if kind == "summary" and info["file_type"] == "video":
            entry["scene_changes"] = await scene_changes(item.path)
        facts.append(entry)
        session.state["video_analyses"].setdefault(info["filename"], {}).update(entry)
    ctx.bill.settle("analysis", held)
    ctx.analysis_paid = True
    await result(ctx, call_id, "understand_video", {"status": "success", kind: facts}, ("video_analyses",))
    ctx.info.append(metadata_text(facts) if kind == "metadata" else summary_text(session, facts))
    ctx.topics.append("info")


def metadata_text(facts: list[dict[str, Any]]) -> Say:
    en, zh = [], []
    for f in facts:
        name, size = f["filename"], f["size"]
        if f["file_type"] == "audio":
            en.append(f"{name}: audio, {f['duration']:.2f}s, {f['audio_codec']}, {size} bytes")
            zh.append(f"{name}：音频，{f['duration']:.2f}秒，{f['audio_codec']}，{size} 字节")
            continue
        video = f["file_type"] == "video"
        dur_en = f"{f['duration']:.2f}s, " if video else "still image, "
        dur_zh = f"{f['duration']:.2f}秒，" if video else "静态图片，"
        fps = f"{f['fps']:g} fps" if video else ""
        audio_en = f"audio: yes ({f['audio_codec']})" if f["has_audio"] else "audio: none"
        audio_zh = f"音频：有（{f['audio_codec']}）" if f["has_audio"] else "音频：无"
        size_px = f"{f['width']}x{f['height']}"
        codec = f["video_codec"]
        fps_en, fps_zh = (fps + ", ", fps + "，") if fps else ("", "")
        en.append(f"{name}: {dur_en}{size_px}, {fps_en}{codec}, {audio_en}, {size} bytes")
        zh.append(f"{name}：{dur_zh}{size_px}，{fps_zh}{codec}，{audio_zh}，{size} 字节")
    return Say("Metadata — " + "; ".join(en) + ".", "元数据 — " + "；".join(zh) + "。")


def summary_text(session: Session, facts: list[dict[str, Any]]) -> Say:
    videos = [f for f in facts if f["file_type"] == "video"]
    images = [f for f in facts if f["file_type"] == "image"]
    audios = [f for f in facts if f["file_type"] == "audio"]
    en = [f"Summary: {len(videos)} video clip(s), {len(images)} image(s) and {len(audios)} audio file(s)."]
    zh = [f"概要：{len(videos)} 个视频片段、{len(images)} 张图片、{len(audios)} 个音频文件。"]
    for f in videos:
        scenes = f.get("scene_changes") or []
        at = ", ".join(f"{t:g}s" for t in scenes[:6])
        cuts_en = f"{len(scenes)} scene change(s)" + (f" at {at}" if scenes else "")
        cuts_zh = f"{len(scenes)} 处场景切换" + (f"（{at}）" if scenes else "")
        sound = f["has_audio"]
        en.append(
            f"{f['filename']} runs {f['duration']:.1f}s at {f['width']}x{f['height']}, {f['fps']:g} fps, "
            f"{'with' if sound else 'without'} sound, {cuts_en}."
        )
        zh.append(
            f"{f['filename']} 时长 {f['duration']:.1f}秒，{f['width']}x{f['height']}，{f['fps']:g} fps，"
            f"{'有声音' if sound else '没有声音'}，{cuts_zh}。"
        )
    d = session.draft
    size = f"{d['m'].get('width')}x{d['m'].get('height')}"
    length = drafts.duration_ms(d)
    en.append(f"The timeline is {sec(length)} long at {size}.")
    zh.append(f"时间轴总长 {sec(length, 'zh')}，画布 {size}。")
    return Say(" ".join(en), "".join(zh))
