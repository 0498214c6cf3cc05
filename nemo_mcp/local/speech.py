"""How the local agent talks: like NemoVideo's own agent, which was built for a web editor.

A reply answers in the language of the instruction (Chinese -> Chinese, English -> English, mixed -> either),
says briefly and factually what changed (times, names, quoted titles), and then, often, tells the user what
to click in an editor they do not have ("Click the Export button in the top-right corner", "双击字幕进行
编辑"). Sometimes the reply is nothing but such steps, sometimes it has a doubled end mark ("Done.. Click
Export.", "已完成。。") or the trailing "I encountered a temporary issue." noise, and sometimes it is plain.
Every choice comes from a `random.Random` seeded with the backend's seed and the turn, so a run repeats.

The `gui_speak` knob: `off` (plain replies: no GUI steps, no noise, no doubled marks), `some` (the default:
the mix above) or `always` (every reply carries GUI steps, never noise or doubled marks).

A leaf module apart from `intents.language_of`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from nemo_mcp.local.intents import language_of

GUI_MODES = ("off", "some", "always")
LANGS = ("en", "zh")


@dataclass(frozen=True)
class Say:
    """One thing to say, in both languages."""

    en: str
    zh: str

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


# --- GUI steps, by what they are about ------------------------------------------------------------------

STEPS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "preview": (
            "Preview it in the timeline.",
            "You can preview it in the timeline.",
            "Press Play in the preview window to check it.",
            "Hit the spacebar to play it back in the preview.",
            "Take a look in the preview window.",
        ),
        "export": (
            "Click the Export button in the top-right corner to download your video.",
            "When you're happy with it, click Export in the top-right corner to download your MP4.",
            "Hit Render, then choose MP4 and 1080p.",
            "Click the Export button when you're ready to download it.",
            "Go to File > Export to save the MP4.",
        ),
        "text": (
            "Open the Text panel to adjust the style.",
            "Double-click the title on the timeline to edit it.",
            "You can change the font in the Text tab on the right.",
            "Drag the title's edges on the timeline to change how long it shows.",
        ),
        "music": (
            "Open the Music panel to try a different track.",
            "Adjust the volume slider in the audio inspector if it's too loud.",
            "Drag the music track on the timeline to move it.",
        ),
        "cut": (
            "Drag the clip on the timeline if you want it earlier.",
            "Drag the edges of the clip on the timeline to fine-tune the cut.",
            "Select a clip and press Delete to remove it.",
            "Right-click the clip and choose Split to cut it further.",
        ),
        "speed": (
            "Adjust the speed in the inspector on the right.",
            "Open the Speed menu above the timeline to fine-tune it.",
        ),
        "canvas": (
            "Tap the gear icon to change the aspect ratio again.",
            "You can switch the canvas size in Project Settings (the gear icon).",
        ),
        "volume": (
            "Adjust the volume slider in the audio inspector.",
            "Click the speaker icon on the clip to toggle the sound.",
        ),
        "concat": (
            "Drag the clips on the timeline to reorder them.",
            "Go to the Transitions tab to smooth the cuts between clips.",
        ),
        "effects": (
            "Go to the Effects tab to change the look.",
            "Open the Filters tab to try another color grade.",
        ),
        "info": (
            "You can see these details in the Media panel too.",
            "Click a clip in the media library to see its properties.",
        ),
        "upload": (
            "Drag your video into the media library to get started.",
            "Click the Upload button in the left panel to add your footage.",
        ),
    },
    "zh": {
        "preview": (
            "可以在时间轴上预览效果。",
            "在预览窗口中查看效果。",
            "按空格键播放预览。",
            "点击预览窗口的播放按钮看看效果。",
        ),
        "export": (
            "点击右上角的“导出”按钮即可下载。",
            "满意的话，点击右上角的“导出”下载 MP4。",
            "点击“渲染”，然后选择 MP4 和 1080p。",
            "准备好后点击“导出”即可下载视频。",
        ),
        "text": (
            "双击字幕进行编辑。",
            "在右侧属性栏调整字体和样式。",
            "打开文字面板调整样式。",
            "拖动时间轴上字幕的边缘可以调整显示时长。",
        ),
        "music": (
            "打开音乐面板可以换一首曲子。",
            "在右侧属性栏调整音量。",
            "把音乐轨道拖到时间轴上的其他位置即可移动。",
        ),
        "cut": (
            "把片段拖到时间轴上调整位置。",
            "拖动片段两端可以微调剪辑点。",
            "选中片段后按 Delete 键删除。",
            "右键点击片段选择“分割”可以继续剪。",
        ),
        "speed": ("在右侧属性栏调整速度。", "打开时间轴上方的“变速”菜单可以微调。"),
        "canvas": ("点击齿轮图标可以再次修改画面比例。", "在项目设置（齿轮图标）里可以切换画布尺寸。"),
        "volume": ("在右侧属性栏拖动音量滑块。", "点击片段上的喇叭图标可以切换声音。"),
        "concat": ("在时间轴上拖动片段可以调整顺序。", "切换到“转场”标签给片段之间加过渡。"),
        "effects": ("进入特效面板可以更换风格。", "切换到“滤镜”标签试试其他调色。"),
        "info": ("在素材面板里也能看到这些信息。", "点击素材库里的片段可以查看属性。"),
        "upload": (
            "从素材库把视频拖进轨道即可开始。",
            "点击左侧的“上传”按钮添加素材。",
            "把素材拖到时间轴上即可开始。",
        ),
    },
}
GENERIC = ("preview", "export")

PLAIN_EXPORT = {
    "en": ("It's ready to export.", "The project is ready for export.", "You can export it now."),
    "zh": ("可以导出了。", "项目已经可以导出。", "现在就可以导出。"),
}
NOT_EXPORTABLE = Say(
    "There's nothing to export yet: upload or generate a video first.",
    "还没有可以导出的内容：请先上传或生成视频。",
)
LEADS = {
    "en": ("Done! I've {x}.", "I've {x}.", "Done. I've {x}.", "All set: I've {x}.", "OK, I've {x}."),
    "zh": ("已{x}。", "好的，已经{x}。", "搞定！已{x}。", "已为你{x}。", "完成了：{x}。"),
}
NOISE = {
    "en": ("I encountered a temporary issue.",),
    "zh": ("I encountered a temporary issue.", "处理时遇到了临时问题，请稍后再试。"),
}


def join(items: Sequence[str], lang: str) -> str:
    if len(items) == 1:
        return items[0]
    if lang == "zh":
        return "，".join(items[:-1]) + "，并" + items[-1]
    return ", ".join(items[:-1]) + " and " + items[-1]


@dataclass
class Reply:
    """What one turn has to say, before it is worded."""

    info: list[Say] = field(default_factory=list)  # answers (metadata, summaries): always said, first
    said: list[Say] = field(default_factory=list)  # what changed, as verb phrases ("trimmed ...")
    notes: list[Say] = field(default_factory=list)  # problems and caveats: always said
    topics: list[str] = field(default_factory=list)  # GUI step topics that fit what happened
    export: str | None = None  # None (not asked), "ready" or "not_ready"


class Speaker:
    """Words one turn's replies in one language, with one seeded stream of choices."""

    def __init__(self, lang: str, mode: str, rng: random.Random, noise: bool = True) -> None:
        if mode not in GUI_MODES:
            raise ValueError(f"gui_speak must be one of {', '.join(GUI_MODES)}")
        self.lang, self.mode, self.rng, self.noise = lang, mode, rng, noise

    @classmethod
    def for_turn(cls, instruction: str, mode: str, seed: object, turn: object, noise: bool = True) -> Speaker:
        rng = random.Random(f"{seed}:speech:{turn}:{instruction}")  # noqa: S311 (wording, not secrets)
        lang = language_of(instruction)
        if lang == "mixed":
            lang = rng.choice(LANGS)
        return cls(lang, mode, rng, noise)

    # -- small pieces --

    def say(self, what: Say) -> str:
        return what.text(self.lang)

    def pick(self, options: Sequence[str]) -> str:
        return self.rng.choice(list(options))

    def gui(self, chance: float = 0.6) -> bool:
        """Whether this sentence takes its GUI form."""
        if self.mode == "off":
            return False
        return self.mode == "always" or self.rng.random() < chance

    def step(self, topic: str) -> str:
        return self.pick(STEPS[self.lang][topic])

    def either(self, plain: Say, gui: Say, chance: float = 0.5) -> str:
        return self.say(gui if self.gui(chance) else plain)

    # -- whole replies --

    def reply(self, r: Reply) -> str:
        """The text of a turn's closing reply ("" when there is nothing to say)."""
        lang = self.lang
        gui_only_ok = bool(r.said) and not r.info and not r.notes and r.export != "not_ready"
        style = "plain"
        if self.mode == "always":
            style = "gui"
        elif self.mode == "some":
            roll = self.rng.random()
            style = "plain" if roll < 0.25 else "gui_only" if roll < 0.37 and gui_only_ok else "gui"
        steps = self._steps(r, style) if style != "plain" else []
        if style == "gui_only":
            return self.finish(" ".join(steps))
        parts = [self.say(s) for s in r.info]
        if r.said:
            parts.append(self.pick(LEADS[lang]).format(x=join([self.say(s) for s in r.said], lang)))
        parts += [self.say(s) for s in r.notes]
        if r.export == "not_ready":
            parts.append(self.say(NOT_EXPORTABLE))
        elif r.export == "ready" and style == "plain":
            parts.append(self.pick(PLAIN_EXPORT[lang]))
        parts += steps
        return self.finish(("" if lang == "zh" else " ").join(p for p in parts if p))

    def _steps(self, r: Reply, style: str) -> list[str]:
        topics: list[str] = ["export"] if r.export == "ready" else []
        optional = [t for t in dict.fromkeys(r.topics) if t not in topics]
        self.rng.shuffle(optional)
        specific = [t for t in optional if t not in GENERIC]
        optional = specific[:1] + [t for t in optional if t in GENERIC] + specific[1:]
        want = max(1, self.rng.choice((1, 1, 2))) if style != "gui_only" else self.rng.choice((1, 2))
        for topic in optional:
            if len(topics) >= want:
                break
            topics.append(topic)
        if not topics and (r.said or r.info):
            topics.append("preview" if r.said else "info")
        return [self.step(t) for t in topics if t in STEPS[self.lang]]

    def finish(self, text: str) -> str:
        """In `some` mode, now and then a doubled end mark or the trailing temporary-issue noise."""
        if self.mode != "some" or not text:
            return text
        if self.rng.random() < 0.15:
            text = _double_mark(text, self.lang)
        if self.noise and self.rng.random() < 0.08:
            text += ("" if self.lang == "zh" else " ") + self.pick(NOISE[self.lang])
        return text


def _double_mark(text: str, lang: str) -> str:
    if lang == "zh" and "。" in text:
        return text.replace("。", "。。", 1)
    return re.sub(r"\.(?=\s|$)", "..", text, count=1)
