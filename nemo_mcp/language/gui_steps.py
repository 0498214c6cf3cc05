"""The kinds of GUI step (`Step`) and the words that name them, for English and Chinese alike.

The GUI verbs of data/gui.toml by kind (`gui_verb_roots`; `kind_of_verb`: the first GUI verb of a clause,
with the Chinese drags, taps, keys and "去…面板"), GUI places by kind (`PLACE_KIND`: a slider is edited, a
panel opened, the timeline previewed, a button clicked), menu paths ("File > Export > Media"), and
`refine`: a click on an export button is the export, on a "Generate" or "Start" button the go-ahead.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache

from nemo_mcp.language.lexicon import Words, data, words


class Step(StrEnum):
    EXPORT = "export"
    OPEN = "open"
    EDIT = "edit"
    PREVIEW = "preview"
    CLICK = "click"
    CONFIRM = "confirm"


def gui_words(section: str, *keys: str) -> Words:
    return words("gui", section, *keys)


_KINDS = (
    (Step.EXPORT, "export"),
    (Step.OPEN, "open"),
    (Step.EDIT, "edit"),
    (Step.PREVIEW, "preview"),
    (Step.CLICK, "click"),
)


@cache
def gui_verb_roots() -> tuple[tuple[str, Step, bool], ...]:
    """Base forms of the English GUI verbs, longest first: the step each stands for, and whether it is a
    generic editing verb (a GUI step only with a GUI place in the clause)."""
    table = data("gui")["verbs"]
    generic = set(table["generic_en"])
    out = [
        (e.rstrip("*"), kind, e.rstrip("*") in generic) for kind, key in _KINDS for e in table[f"{key}_en"]
    ]
    return tuple(sorted(out, key=lambda x: len(x[0]), reverse=True))


DRAG_ZH = re.compile(r"拖(?!拉机|沓|延|后腿|欠|鞋|把|车|到了)")
TAP_ZH = re.compile(
    r"(?:^|[就再后并]|然后|直接|的话)\s*点(?!赞|击量|数|位|评|名|头|缀|子)|点\s*(?=[“\"'「『])"
)
KEY_ZH = re.compile(
    r"按(?:下|住)?\s*(?:回车|空格|删除|退格|enter|delete|del|esc|backspace|ctrl|cmd|shift|alt|tab|space|[←→↑↓]|"
    r"[a-z](?![a-z])|\S{0,6}键(?!音|声|效果))|"
    r"(?:ctrl|cmd|command|alt|shift)\s*[+\-]\s*\w|方向键|空格键|快捷键|(?<![a-z/])[a-z](?:/[a-z]){1,3}(?![a-z/])",
    re.IGNORECASE,
)


_GO_ZH = re.compile(r"去(?=[^，。,]{0,20}?(?:面板|标签|菜单|设置|库|选项|tab|panel|menu|settings|library))")


GUI_PLACE_LINE = re.compile(
    r"在\S{0,12}?(?:库|面板|标签页?|菜单|栏|选项卡|设置)(?:里|中|内)|"
    r"\bin the [\w ]{0,30}(?:library|panel|tab|menu|sidebar)\b"
)


def kind_of_verb(text: str) -> Step | None:
    """The step the first GUI verb of `text` stands for."""
    hits = [
        (m.start(), kind)
        for kind, key in _KINDS
        for m in gui_words("verbs", f"{key}_en", f"{key}_zh").find(text)
    ]
    hits += [(m.start(), Step.EDIT) for m in DRAG_ZH.finditer(text)]
    hits += [(m.start(), Step.EDIT) for m in KEY_ZH.finditer(text)]
    hits += [(m.end() - 1, Step.CLICK) for m in TAP_ZH.finditer(text)]
    hits += [(m.start(), Step.OPEN) for m in _GO_ZH.finditer(text)]
    return min(hits)[1] if hits else None


PLACE_KIND = (
    (
        re.compile(
            r"\b(?:slider|handle|edge|keyboard|key|keys|mouse|shortcut|knob|fader|wheel)s?\b|滑块|推子|鼠标|键"
        ),
        Step.EDIT,
    ),
    (
        re.compile(
            r"\b(?:panel|tab|menu|inspector|sidebar|library|settings|dropdown|rail|drawer|page)s?\b|面板|标签|"
            r"菜单|设置|库|栏"
        ),
        Step.OPEN,
    ),
    (
        re.compile(
            r"\b(?:timeline|player|viewer|preview|monitor|playhead|scrubber)\b|时间轴|时间线|播放器|预览|播放头"
        ),
        Step.PREVIEW,
    ),
    (re.compile(r"\b(?:button|icon|toggle|checkbox|box|switch)e?s?\b|按钮|图标|开关|复选框"), Step.CLICK),
)


# A menu path: "hamburger → Project → Render", "File > Export > Media"
MENU_PATH = re.compile(
    r"[^\W\d_][\w ]{0,20}(?:\s*(?:→|->)\s*|\s+[>›]\s+)[^\W\d_][\w ]{0,20}"
    r"(?:(?:\s*(?:→|->)\s*|\s+[>›]\s+)[^\W\d_][\w ]{0,20})?"
)


CLICKERS = (
    r"(?:click|tap|press|hit|select|choose|pick|toggle|tick|check|type|"
    r"点击|单击|点一下|点开|点|按下|按|选择|选中|勾选|选)"
)


EXPORT_OBJECT = re.compile(
    r"\b(?:export|download|render|share|publish|bounce|deliver)\w*|file\s*>\s*export|(?:cmd|ctrl|"
    r"command)\s*\+\s*[es]\b|"
    r"\bsave (?:it|this|the (?:video|file|mp4|final)|a copy|as)\b|\bto save it\b|\bupload (?:it|to)\b|"
    r"\bsend to\b|"
    r"导出|汇出|下载|分享|发布|发到|渲染|另存(?!为新?(?:项目|草稿|工程))|保存到相册|保存到本地|保存到电脑|保存视频|存到|(?:cmd|ctrl)\s*\+\s*s\b|"
    r"→\s*output\b|\boutput settings\b|\bdeliver page\b|\b(?:cloud|download|share)\s+(?:arrow|icon|button|"
    r"sheet)\b|"
    r"\bsave (?:video|to (?:phone|camera roll|gallery|photos|device))\b|一起保存|批量保存|点(?:击)?保存|"
    r"(?:生成|合成|导出)(?:视频|成片)"
)
_PAID_BUTTON = re.compile(
    r"\b(?:generate|create|start|begin|confirm|continue|proceed|go|compose|clone|upscale|dub|yes|approve|"
    r"agree)\b|"
    r"(?<!重新)生成|开始|继续|确认|立即|修复|制作|合成|同意",
    re.IGNORECASE,
)


def refine(t: str, kind: Step) -> Step:
    """A click on an export button is the export; on a "Generate"/"Start" button, the go-ahead."""
    if EXPORT_OBJECT.search(t) and kind is not Step.PREVIEW:
        return Step.EXPORT
    # the button's name, also after where it is: "点击右下角的“生成”"
    label = re.search(
        rf"{CLICKERS}\s*(?:on\s+)?(?:the\s+)?(?:[^\"“「『，。,]{{0,8}}?的\s*)?[\"“「『]([^\"”」』]{{1,24}})",
        t,
    )
    if kind in (Step.CLICK, Step.EDIT) and label and _PAID_BUTTON.search(label.group(1)):
        return Step.CONFIRM
    if kind is Step.CLICK and re.search(
        r"\b(?:generate|create|start)\b.{0,30}\b(?:when|to start|to begin)\b", t
    ):
        return Step.CONFIRM
    if kind in (Step.CLICK, Step.EDIT) and re.search(
        rf"{CLICKERS}\s*(?:on\s+)?(?:the\s+)?(?:confirm|start|go|generate|proceed|approve|开始|确认|生成|同意)\b",
        t,
    ):
        return Step.CONFIRM  # "Click Confirm 开始", "按住 Go 按钮两秒确认"
    return kind
