"""GUI-speak translation of the backend agent's replies (docs/skill.md "Backend Response Translation").

The agent was built for NemoVideo's web editor and tells the user to click, open, drag and preview. There
is no GUI here, so `translate(reply)` takes those steps out, clause by clause, and says which kind each
was; the caller does instead what each stands for:

| The agent says                                   | Step      | The server instead                        |
|--------------------------------------------------|-----------|-------------------------------------------|
| "click Export", "Hit Render, then choose MP4"    | EXPORT    | the export workflow, or "ready to export" |
| "open the Music panel", "go to the Effects tab"  | OPEN      | the project's state                       |
| "drag the clip", "adjust the slider", 右键…分割    | EDIT      | "describe the change to edit_video"       |
| "preview it in the timeline", 按空格键播放         | PREVIEW   | the track summary                         |
| "click Apply", "tap Save"                        | CLICK     | nothing: it is applied already            |
| "Click Generate to start", "Shall I go ahead?"   | CONFIRM   | says the agent waits, with the cost       |

How a clause is told apart: a GUI step is addressed to the user — an imperative ("Hover over the clip",
"Shift-click both clips", "把播放头移到 00:38"), or "you can…"/"可以…即可" — and is about operating an editor:
a GUI verb, a GUI place (panel, slider, playhead, 属性栏), a keyboard shortcut or a gesture (长按, 二指缩放).
What the agent says it did ("I opened the video with a slow zoom", 已经导出为 MP4) is content, and so is
quoted text (a title reading "Tap to follow"). A follow-on of the same workflow ("…, then choose MP4 and
1080p") goes with the step it follows, and so does a lead-in that only introduces it ("When you're happy
with it, …", 如果想换的话，…). Plain replies come back exactly as they were (after `untrusted.clean`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

from nemo_mcp.language.lexicon import Words, data, words
from nemo_mcp.language.normalize import fold, has_cjk, mandarin
from nemo_mcp.language.untrusted import clean


class Step(StrEnum):
    EXPORT = "export"
    OPEN = "open"
    EDIT = "edit"
    PREVIEW = "preview"
    CLICK = "click"
    CONFIRM = "confirm"


@dataclass
class Waiting:
    """The agent waits for the user's go-ahead before a paid action."""

    cost: float | None  # credits it quoted, when it did
    what: str  # the reply without its GUI steps


@dataclass
class Translation:
    text: str  # the reply without its GUI steps ("" when nothing else was said)
    steps: list[Step] = field(default_factory=list)  # kinds of GUI steps found, in order, once each
    removed: list[str] = field(default_factory=list)  # the GUI text taken out
    waiting: Waiting | None = None
    gui_only: bool = False  # the reply was nothing but GUI steps (and interjections)
    cleaned: list[str] = field(default_factory=list)  # kinds of untrusted content removed
    noise_dropped: bool = False  # a trailing "I encountered a temporary issue" was dropped


def _g(section: str, *keys: str) -> Words:
    return words("gui", section, *keys)


_KINDS = (
    (Step.EXPORT, "export"),
    (Step.OPEN, "open"),
    (Step.EDIT, "edit"),
    (Step.PREVIEW, "preview"),
    (Step.CLICK, "click"),
)


@cache
def _roots() -> tuple[tuple[str, Step, bool], ...]:
    """Base forms of the English GUI verbs, longest first: the step each stands for, and whether it is a
    generic editing verb (a GUI step only with a GUI place in the clause)."""
    table = data("gui")["verbs"]
    generic = set(table["generic_en"])
    out = [
        (e.rstrip("*"), kind, e.rstrip("*") in generic) for kind, key in _KINDS for e in table[f"{key}_en"]
    ]
    return tuple(sorted(out, key=lambda x: len(x[0]), reverse=True))


# --- pieces of a reply -----------------------------------------------------------------------------------

_SENTENCE_END = re.compile(
    r"(?<=[.!?])(?<!\.\.\.)\s+(?=\S)|(?<=[。！？])(?![”」』)）])|"
    r"(?<=[\u2600-\u27bf\U0001f300-\U0001faff])\ufe0f?\s+(?=\S)"
)
_LIST_MARK = re.compile(r"^\s*(?:[-*•·]|\d+[.)、]|[①-⑩]|👉|➡️?|→|\[\s*\d+\s*\])\s*")
_DOUBLE_STOP = re.compile(r"(?<!\.)\.\.(?!\.)|。{2,}")
_COST = re.compile(
    r"(\d+(?:\.\d+)?)\s*(?:个\s*)?(?:credits?|积分|點數|点数|點|点)(?!\s*(?:钟|鐘))"
    r"|(?:credits?|积分)\s*[:：]?\s*(\d+(?:\.\d+)?)"
    r"|(?<=[扣花耗需要])\s*(\d+(?:\.\d+)?)\s*(?:个\s*)?分(?![钟鐘秒之])",  # "要扣 110 分"
    re.IGNORECASE,
)
_OPENERS = '"“‘「『(（['
_CLOSERS = '"”’」』)）]'
_CUT_WORDS = re.compile(
    r"\s+(?=(?:and\s+then|then|and|or|before|after\s+that)\s+(?:\w+\s+){0,1}?(?:click|tap|press|hit|select|"
    r"choose|"
    r"pick|open|go to|head|drag|type|enter|play|preview|check|export|download|scrub|toggle|double-click|"
    r"right-click|"
    r"hover|swipe|long-press|shift-click)\b)|(?=然后|接着|再点|再按|再选|再用|再拖|或者在|或者用|或在|或用)"
)


def _split_clauses(sentence: str) -> list[str]:
    """Clauses of a sentence, cut at commas, semicolons, dashes and "then" — never inside quotes or
    brackets, never inside a time ("0:40") — each keeping the separator that follows it."""
    pieces: list[str] = []
    depth, start, i = 0, 0, 0
    while i < len(sentence):
        ch = sentence[i]
        if ch in _OPENERS and not (ch == '"' and depth > 0):
            depth += 1
        elif ch in _CLOSERS and depth > 0:
            depth -= 1
        elif depth == 0 and (
            ch in ",;，；"
            or (ch in ":：" and not (i and sentence[i - 1].isdigit()))
            or sentence.startswith((" — ", " – ", "——", " - "), i)
        ):
            end = i + (2 if sentence.startswith("——", i) else 1 if ch in ",;，；:：" else 2)
            pieces.append(sentence[start:end])
            start = end
            i = end
            continue
        i += 1
    pieces.append(sentence[start:])
    out: list[str] = []
    for piece in pieces:
        out += [p for p in _CUT_WORDS.split(piece) if p]
    return [p for p in out if p]


_QUOTE = re.compile(
    r'"[^"\n]{1,200}"|“[^”\n]{1,200}”|(?<![\w\'])\'[^\'\n]{1,200}\'(?![\w])|‘[^’\n]{1,200}’|[「『《][^」』》\n]{1,200}[」』》]'
)
_CLICKERS = (
    r"(?:click|tap|press|hit|select|choose|pick|toggle|tick|check|type|"
    r"点击|单击|点一下|点开|点|按下|按|选择|选中|勾选|选)"
)


def _mask(text: str) -> str:
    """Quoted text masked as «q» (it is content), except a button's name right after a click ("click
    “Export”"), which is kept for telling the kind of step."""

    def sub(m: re.Match[str]) -> str:
        head = fold(text[max(0, m.start() - 14) : m.start()])
        if re.search(rf"{_CLICKERS}\s*(?:on\s+)?(?:the\s+)?(?:下方|右上角|左侧|右侧|上方)?(?:的)?$", head):
            return m.group(0)
        return "«q»"

    return _QUOTE.sub(sub, text).replace("**", "")


# --- one clause ---------------------------------------------------------------------------------------------

_LEAD_IN_EN = re.compile(
    r"^(?:(?:and|or|then|now|next|finally|also|just|simply|please|kindly|tip|pro tip|note|so|ok|okay|"
    r"alternatively|"
    r"otherwise|afterwards|after that|first|meanwhile|you can|you could|you may|you might|you'll want to|"
    r"you will "
    r"want to|you need to|you'll need to|you should|feel free to|try|remember to|don't forget to|"
    r"make sure to|go ahead "
    r"and|if needed|if you like|whenever you like|from here|from there|here|to (?:do that|do this|undo|"
    r"save it|share|"
    r"download it|export it|see (?:it|them|both)|check|compare|hear|publish it|keep it)|"
    r"from the [\w\s→>-]+?(?= choose| "
    r"select| pick| click| go)|in the [\w\s→>-]+?(?= pick| choose| select| click| tap| hit| open| find|"
    r" drag)|"
    r"(?:if|when|once|whenever|before|after) [^,]{0,60}?(?=,|$)|[\w\s]{0,20}\bby)\b[\s,:]*)+"
)
_DEPENDENT_EN = re.compile(
    r"^(?:you can do (?:that|it|this) yourself|if|when|once|whenever|to|for|in order to|before|after|"
    r"should you|"
    r"next time|later|any ?time|"
    r"for (?:more|other|another)|to publish it|to get it)\b"
)
_DEPENDENT_ZH = re.compile(
    r"^(?:如果|要是|若|想|想要|需要|如需|要|满意的话|没问题|确认无误|如有|若要|保存的话|想换|想看|还想|当你|在你|觉得|"
    r"下次|以后|之后|更多|其他|需要的话|不满意|想再|还要)"
)
_TOLD_EN = re.compile(
    r"^(?:i|i've|i'd|i'll|i'm|we|we've|it|it's|this|that|these|those|the|your|my|here's|here is|there|"
    r"done|all set|finished|great|nice|okay|ok|sure|got it|no|yes|which|what|how|would|should|do|[\w-]+ed)\b"
)
_NEGATED = re.compile(
    r"(?:no need to|don't need to|do not need to|not needed|isn't needed|is not needed|"
    r"(?:不用|不必|无需|不需要|"
    r"没必要)(?:再)?"
    r"(?:预览|点|打开|拖|导出|下载|播放|查看)|^previewing is)"
)
_TALK = re.compile(
    r"^(?:let me know|tell me|feel free to ask|ask me|reply with your|describe|enjoy|have fun|send me)\b"
)
_SHORTCUT = re.compile(
    r"\b(?:ctrl|cmd|command|alt|option|shift|⌘|⌥|⇧)\s*[+\-]\s*\w|\b(?:space ?bar|spacebar|enter key|"
    r"arrow keys?|"
    r"(?:\w+ )?keys?\b(?= to|$)|[a-z]/[a-z] keys|comma and period keys)|\b(?:press|hit)\s+(?:space|enter|"
    r"delete|"
    r"backspace|esc|tab|return|[a-z])\b",
    re.IGNORECASE,
)
_POINTER_EN = re.compile(
    r"\bthere(?:'s| is| are)\s+(?:a|an|the)?\s*[\w\s-]{0,30}\b(?:slider|button|toggle|switch|checkbox|"
    r"option|setting|"
    r"knob|menu|tab|panel|field)s?\b|\b(?:is|are|sits|lives)\s+(?:available\s+)?(?:in|under|"
    r"on)\s+the\s+[\w\s-]{0,30}"
    r"\b(?:menu|panel|tab|sidebar|library|toolbar|inspector|settings|drawer)\b|\byou(?:'ll)?\s+find\b"
)
_ZH_NOUN_PHRASE = re.compile(
    r"的(?:那个|那段|那些|那一|镜头|特写|画面|部分|片段|内容|地方|动作|动画|效果|特效|贴纸|音效|声音|手势|提示)|主角|画面中|"
    r"录屏里|游戏里|镜头里"
)
_IMPERATIVE_ZH = re.compile(
    r"^(?:请|你可以|您可以|可以|可|只需|只要|直接|再|然后|接着|最后|记得|别忘了|试试|用|在|从|到|去|进入|切换|打开|点|按|"
    r"拖|双击|右键|长按|选中|勾选|调整|通过|把|或者|或|也可以|还可以|先|轻触|轻点|二指|双指|开启|关闭|悬停|鼠标|选择|选|"
    r"单击|点击|"
    r"你(?:先|就|再|也|还)?(?=[\u4e00-\u9fff]))"
)
_INSTRUCT_ZH = re.compile(
    r"你可以|您可以|请|建议|即可|就行|就好|就可以|就能|可以\S{0,6}(?:进入|打开|切换|点|拖|双击|右键|调整|选|按|在|换)|"
    r"(?:就|再|然后)\s*(?:hit|click|tap|press|select|pick|open|go to|choose)\b|"
    r"(?:后|就|再|然后|直接|并|的话)\s*(?:点击|点|按下|选择|选中|打开|进入|去|到|切换|用|拖)|点\s*[“\"'「『]"
)
_DRAG_ZH = re.compile(r"拖(?!拉机|沓|延|后腿|欠|鞋|把|车|到了)")
_TAP_ZH = re.compile(
    r"(?:^|[就再后并]|然后|直接|的话)\s*点(?!赞|击量|数|位|评|名|头|缀|子)|点\s*(?=[“\"'「『])"
)
_KEY_ZH = re.compile(
    r"按(?:下|住)?\s*(?:回车|空格|删除|退格|enter|delete|del|esc|backspace|ctrl|cmd|shift|alt|tab|space|[←→↑↓]|"
    r"[a-z](?![a-z])|\S{0,6}键(?!音|声|效果))|"
    r"(?:ctrl|cmd|command|alt|shift)\s*[+\-]\s*\w|方向键|空格键|快捷键|(?<![a-z/])[a-z](?:/[a-z]){1,3}(?![a-z/])",
    re.IGNORECASE,
)
# verbs that only a GUI has: with one of these, an instruction is a GUI step even without a GUI place
_GUI_VERB_ZH = re.compile(
    r"双击|右键|长按|按住|勾选|框选|点击|单击|轻点|轻触|悬停|预览|播放|试听|试看|回听|打开|切换|点开|选中|"
    r"导出|下载|分享|另存|滑动|上滑|下滑"
)
_GESTURE_ZH = re.compile(
    r"鼠标(?!垫)|悬停|轻触|二指|双指|两指|长按|上滑|下滑|左滑|右滑|往上滑|往下滑|滑动|"
    r"往[上下左右里外前后回]\s*(?:拉|拖|推|滑|移|挪|拨)|按住\S{0,10}?拖"
)
_GO_ZH = re.compile(r"去(?=[^，。,]{0,20}?(?:面板|标签|菜单|设置|库|选项|tab|panel|menu|settings|library))")
_TOLD_ZH = re.compile(
    r"已经|已|过了|好了|完成|做好|(?:掉|成|到|上|完|了|过)了(?![吗没么])|^我|^这一版|^之前|我.{0,12}?了"
)
_GUI_PLACE_LINE = re.compile(
    r"在\S{0,12}?(?:库|面板|标签页?|菜单|栏|选项卡|设置)(?:里|中|内)|"
    r"\bin the [\w ]{0,30}(?:library|panel|tab|menu|sidebar)\b"
)


def _kind_of_verb(text: str) -> Step | None:
    """The step the first GUI verb of `text` stands for."""
    hits = [
        (m.start(), kind) for kind, key in _KINDS for m in _g("verbs", f"{key}_en", f"{key}_zh").find(text)
    ]
    hits += [(m.start(), Step.EDIT) for m in _DRAG_ZH.finditer(text)]
    hits += [(m.start(), Step.EDIT) for m in _KEY_ZH.finditer(text)]
    hits += [(m.end() - 1, Step.CLICK) for m in _TAP_ZH.finditer(text)]
    hits += [(m.start(), Step.OPEN) for m in _GO_ZH.finditer(text)]
    return min(hits)[1] if hits else None


_PLACE_KIND = (
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


def _imperative(core: str) -> Step | None:
    """The step a clause that opens with a GUI verb in its base form asks for ("hover", "shift-click"); a
    generic editing verb ("Cut the demo down to 45 s", also how the agent reports) needs a GUI place."""
    for root, kind, generic in _roots():
        if core == root or core.startswith((root + " ", root + ",", root + "!")):
            if generic and not (_g("places", "en").any(core[len(root) :]) or _SHORTCUT.search(core)):
                return None
            return kind
    return None


_YOU_CAN = re.compile(
    r"\byou(?:'ll| will)?\s+(?:can|could|may|might|should|need to|want to|have to|'ll want to|"
    r"will want to)\b|"
    r"\b(?:feel free to|try|remember to|make sure to|don't forget to)\b"
)


def _imperative_any(t: str) -> bool:
    """An instruction of any kind: it opens with a GUI or editing verb in its base form (English) or an
    imperative marker (Chinese)."""
    if has_cjk(t) and _IMPERATIVE_ZH.match(t) and not _TOLD_ZH.search(t):
        return True
    core = _LEAD_IN_EN.sub("", t).strip(" ,:;-*")
    return _any_imperative(core) or any(
        core == root or core.startswith(root + " ") for root, _kind, _generic in _roots()
    )


# Words that open a sentence without being a verb addressed to the user.
_NOT_IMPERATIVE = frozenset(data("gui")["imperative"]["not_verbs"])
_OBJECT_NEXT = re.compile(
    r"\s+(?:the|a|an|my|our|your|this|that|these|those|it|them|every|each|all|both|any|some|«q»)\b"
)
# A menu path: "hamburger → Project → Render", "File > Export > Media"
_MENU_PATH = re.compile(
    r"[^\W\d_][\w ]{0,20}(?:\s*(?:→|->)\s*|\s+[>›]\s+)[^\W\d_][\w ]{0,20}"
    r"(?:(?:\s*(?:→|->)\s*|\s+[>›]\s+)[^\W\d_][\w ]{0,20})?"
)


# Instructions without an object: "Wait for the green tick", "Scroll down to Audio"
_INTRANSITIVE = re.compile(
    r"(?:wait|go|look|scroll|head|come|stay|hold|swipe|zoom|navigate|switch|jump|hop|move)\s+"
    r"(?:for|to|into|down|up|back|over|until|till|on|in|out|left|right)\b"
)


def _any_imperative(core: str) -> bool:
    """The clause opens with a verb in its base form followed by its object ("Pin the layer", "Pop it
    out", "go hamburger → Project → Render"), whatever the verb."""
    m = re.match(r"([a-z][a-z-]*)\b", core)
    if m is None or m.group(1) in _NOT_IMPERATIVE or m.group(1).endswith(("ed", "ing")):
        return False
    return bool(
        _OBJECT_NEXT.match(core, m.end()) or _MENU_PATH.match(core, m.end() + 1) or _INTRANSITIVE.match(core)
    )


def _kind_en(t: str) -> Step | None:
    """The step an English clause asks the user to do by hand, or None for content."""
    if _NEGATED.search(t) or _TALK.match(t):
        return None
    core = _LEAD_IN_EN.sub("", t).strip(" ,:;-*")
    if _TALK.match(core):
        return None
    imperative = _imperative(core)
    if imperative is not None:
        return imperative
    if _SHORTCUT.search(core):
        return _kind_of_verb(core) or Step.EDIT
    if _POINTER_EN.search(core):
        return Step.OPEN
    # an imperative with a verb the lexicons do not know, about a GUI place: "Pin the tracker layer",
    # "Pop it out into the mini-player", "Shake the phone to undo"
    if (
        _MENU_PATH.search(core)
        and (_g("places", "en").any(core) or _EXPORT_OBJECT.search(core))
        and re.match(r"(?:go|open|head|navigate|choose|select|pick|click|tap|hit|use|from|in|via)\b", core)
    ):
        return _refine(core, Step.OPEN)  # "go hamburger → Project → Render"
    if not has_cjk(t) and _any_imperative(core) and (_g("places", "en").any(core) or _MENU_PATH.search(core)):
        kind = _kind_of_verb(core) or next(
            (k for pattern, k in _PLACE_KIND if pattern.search(core)), Step.EDIT
        )
        return Step.EXPORT if _EXPORT_OBJECT.search(core) else kind
    # "…, which you can fine-tune in the inspector": addressed to the user, naming a GUI verb or place
    if _YOU_CAN.search(t) and (_g("places", "en").any(core) or _kind_of_verb(core)):
        return _kind_of_verb(core) or next((k for pattern, k in _PLACE_KIND if pattern.search(core)), None)
    return None


# A clause that only names a shot ("从抽屉里翻出老照片的那个镜头，我加了…"): a topic, not an instruction.
_ZH_NAMES_A_SHOT = re.compile(
    r"的(?:那个|这个|那段|这段|那些|那一个)?(?:镜头|画面|片段|部分|地方|时候|场景|一幕)[，,、]?\s*$"
)


# "在“比例”里可以切回 16:9", "可以在“变速→曲线变速”里自己拉": a named place of the editor, for the user
_IN_NAMED_PLACE = re.compile(
    r"在\s*«q»\s*(?:里|中|内|里面|下面|面板|菜单|选项)\S{0,3}?(?:可以|即可|就能|就可以|自己|调|改|切|拉|选|设置)"
)


def _kind_zh(t: str) -> Step | None:
    if _NEGATED.search(t):
        return None
    if _ZH_NAMES_A_SHOT.search(t) and not (_GESTURE_ZH.match(t) or _GUI_VERB_ZH.match(t)):
        return None  # "从抽屉里翻出老照片的那个镜头，…" names a shot; "长按轨道上的片段" is a gesture
    if _ZH_NOUN_PHRASE.search(t) and not _IMPERATIVE_ZH.match(t):
        return None
    if _MENU_PATH.search(t) and (_g("places", "zh", "en").any(t) or _EXPORT_OBJECT.search(t)):
        return _refine(t, Step.OPEN)  # "汉堡菜单 → Project → Export"
    instruct = bool(_IMPERATIVE_ZH.match(t) or _INSTRUCT_ZH.search(t))
    if _TOLD_ZH.search(t) and not (_INSTRUCT_ZH.search(t) or re.search(r"可以", t)):
        return None
    if _IN_NAMED_PLACE.search(t):
        return _kind_of_verb(t) or Step.OPEN
    gesture = _GESTURE_ZH.search(t) or _KEY_ZH.search(t)
    place = _g("places", "zh").any(t) or _g("places", "en").any(t)
    kind = _kind_of_verb(t)
    if gesture:
        return kind or Step.EDIT
    if not instruct:
        return _kind_en(t) if re.search(r"[a-z]{3,}", t) else None
    if kind is None and not place:
        return _kind_en(t) if re.search(r"[a-z]{3,}", t) else None
    gui_verb = (
        _DRAG_ZH.search(t)
        or _TAP_ZH.search(t)
        or _GUI_VERB_ZH.search(t)
        or re.search(r"\b(?:long[- ]press|double[- ](?:click|tap)|right[- ]click|drag|swipe|pinch|hover)", t)
    )
    if (
        not place
        and not gui_verb
        and not _g("verbs", "click_en", "open_en", "preview_en", "export_en").any(t)
    ):
        return None  # "把标题改成…" names an edit, not a GUI step
    return kind or next((k for pattern, k in _PLACE_KIND if pattern.search(t)), Step.CLICK)


_EXPORT_OBJECT = re.compile(
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


def _refine(t: str, kind: Step) -> Step:
    """A click on an export button is the export; on a "Generate"/"Start" button, the go-ahead."""
    if _EXPORT_OBJECT.search(t) and kind is not Step.PREVIEW:
        return Step.EXPORT
    label = re.search(rf"{_CLICKERS}\s*(?:on\s+)?(?:the\s+)?[\"“「『]([^\"”」』]{{1,24}})", t)
    if kind in (Step.CLICK, Step.EDIT) and label and _PAID_BUTTON.search(label.group(1)):
        return Step.CONFIRM
    if kind is Step.CLICK and re.search(
        r"\b(?:generate|create|start)\b.{0,30}\b(?:when|to start|to begin)\b", t
    ):
        return Step.CONFIRM
    if kind in (Step.CLICK, Step.EDIT) and re.search(
        rf"{_CLICKERS}\s*(?:on\s+)?(?:the\s+)?(?:confirm|start|go|generate|proceed|approve|开始|确认|生成|同意)\b",
        t,
    ):
        return Step.CONFIRM  # "Click Confirm 开始", "按住 Go 按钮两秒确认"
    return kind


def _go_ahead(t: str) -> bool:
    """The agent asks for the go-ahead ("okay to charge it?", "回个“行”我就开跑", "[ Approve ]")."""
    if _g("confirm", "ask_en", "ask_zh").any(t):
        return True
    if re.search(
        r"\b(?:approve|approval|go-ahead|go ahead|thumbs-up|thumbs up|say (?:go|yes|the word)|type \S+|"
        r"okay to|ok to|"
        r"shall i|should i|want me to|do you want|are you ok with|green light|sign off)\b|"
        r"回个|回复|你说|再动手|开跑|确认吗|同意吗|要我|可以开始|同意的话|确认的话|等你确认|你确认",
        t,
    ):
        return True
    # waiting on the user's word in any form: "tell me to go and I'll start", "React with 👍 and I'll run
    # it", "我先不动，等你点头", "OK 吗？", "行不行？"
    if re.search(
        r"\b(?:tell me to|react with|reply with|give me a|let me know and|once you say|when you say)\b|"
        r"\b(?:and|then) i'?ll (?:start|run|go|begin|kick|do|get going|proceed|generate|render)\b|"
        r"等你|点头|(?:ok|好|行|可以|同意|确定)\s*(?:吗|嘛|么|不)\s*$|行不行|好不好|可不可以|要不要开始|"
        r"\b(?:can|may|shall) i (?:proceed|start|go ahead|continue|begin|run it|do it|go)\b|确认\s*$",
        t,
    ):
        return True
    return bool(re.search(r"\[\s*[^\]]{1,20}\]\s+\[\s*[^\]]{1,20}\]|【[^】]{1,12}】", t))


def _kind(raw: str, paid: bool) -> Step | None:
    t = mandarin(fold(_mask(raw))).strip(" .!?。！？~～*-—–")
    if not t:
        return None
    kind = _kind_zh(t) if has_cjk(t) else _kind_en(t)
    if kind is not None:
        kind = _refine(t, kind)
    bare = re.sub(r"[「」『』“”\"'«»]", "", t)  # "按「确认」后开始": the button's name, unquoted
    if (
        paid
        and _go_ahead(bare)
        and (kind is not Step.EXPORT or re.search(r"confirm|proceed|approve|确认|同意", t))
    ):
        return Step.CONFIRM
    return kind


# --- the whole reply --------------------------------------------------------------------------------------


# A gateway's or proxy's error line glued to the reply: "[upstream] 504 Gateway Timeout (request_id=…)".
_GATEWAY_NOISE = re.compile(
    r"^\W*(?:\[?[\w -]{0,20}\]?\s*)?(?:http\s*)?[45]\d\d\s+(?:gateway|bad|service|internal|too many|request)"
    r"[\w ]*(?:\(.*\))?\W*$|\brequest_id=\w+|\btrace_id=\w+|x-request-id|upstream connect error|"
    r"disconnect/reset before headers|no healthy upstream|服务繁忙|服務繁忙|请稍后再试|請稍後再試|"
    r"错误码\s*\d+",
    re.IGNORECASE,
)


def _sentences(line: str) -> list[tuple[str, str]]:
    """The sentences of a line, each with the whitespace that followed it."""
    out: list[tuple[str, str]] = []
    start = 0
    for m in _SENTENCE_END.finditer(line):
        if m.start() > start:
            out.append((line[start : m.start()], m.group(0) or ""))
        start = m.end()
    if start < len(line):
        out.append((line[start:], ""))
    return out


def _noise(sentence: str) -> bool:
    return _g("noise", "en", "zh").any(fold(sentence)) or bool(_GATEWAY_NOISE.search(sentence.strip()))


def _filler(text: str) -> bool:
    t = fold(text).strip(" .!?。！？:：~～-🎬👍🎉✨🙌✅")
    if not t:
        return True
    pattern = _g("noise", "filler_en", "filler_zh").pattern
    return pattern is not None and bool(re.fullmatch(rf"(?:{pattern.pattern}|[\s,，!！.:：])+", t))


def _end_mark(text: str, cjk: bool) -> str:
    text = text.rstrip(" ,;，；:：—–-")
    if not text or text[-1] in ".!?。！？)）\"'”』」》*":
        return text
    return text + ("。" if cjk else ".")


@dataclass
class _Clause:
    raw: str
    kind: Step | None = None


def _translate_sentence(sentence: str, out: Translation, paid: bool) -> tuple[str, bool]:
    """The sentence with its GUI clauses out; True when a GUI step was found in it."""
    clauses = [_Clause(p, _kind(p, paid)) for p in _split_clauses(sentence)]
    if not any(c.kind for c in clauses):
        return sentence, False
    for i, c in enumerate(clauses):
        if i == 0 or c.kind is not None:
            continue
        prev = clauses[i - 1].kind
        t = fold(_mask(c.raw)).strip(" ,，;；:：")
        joined_by_dash = bool(re.search(r"[—–-]\s*$", clauses[i - 1].raw))
        if prev is not None and (
            joined_by_dash  # "— the ramp looks smoother at full screen": why to do the step
            or re.match(
                r"(?:and\s+|then\s+|or\s+)*(?:choose|select|pick|set|type|enter|change|press|hit|click|tap|"
                r"use|find|drag|"
                r"move|switch|turn|check|untick|tick|go|open|play|save|confirm|drop|resize|zoom|scroll)\b|"
                r"^(?:然后|再|接着|并|或者|或)?\s*(?:在[^，。]{0,24}?里)?\s*(?:选|点|按|输入|改|拖|设置|勾选|确认|挑|拉|找到|找|"
                r"定位|滑到|移到|用)|^把[^，。]{0,10}?(?:改成|调成|设为|设成|拉到|调到|改为)",
                t,
            )
            or _GUI_PLACE_LINE.search(t)
            or _any_imperative(bare := re.sub(r"^(?:(?:and|then|or|just|also)\s+)+", "", t))
            or any(bare.startswith(root + " ") for root, _kind, _generic in _roots())
        ):
            # a follow-on step of the same workflow
            c.kind = Step.EXPORT if prev is Step.EXPORT else _refine(t, prev)
    # a statement of where a GUI step finds things goes with the step ("所有音效都在音效库里，轻点即可试听")
    for c in clauses:
        if c.kind is None and _GUI_PLACE_LINE.search(fold(c.raw)):
            c.kind = Step.OPEN
    # a lead-in that only introduces the step goes with it ("When you're happy with it, click Export")
    for i in range(len(clauses) - 2, -1, -1):
        c = clauses[i]
        t = fold(c.raw).strip()
        lead_in = _DEPENDENT_EN.match(t) or _DEPENDENT_ZH.match(t)
        if c.kind is None and clauses[i + 1].kind is not None and lead_in and not re.search(r"\d", t):
            c.kind = clauses[i + 1].kind
    # after an export step, the rest of the same sentence is its dialog ("…, 再点“确定”")
    exported = False
    for c in clauses:
        if exported and c.kind in (Step.CLICK, Step.CONFIRM):
            c.kind = Step.EXPORT
        exported = exported or c.kind is Step.EXPORT
    kept: list[str] = []
    for c in clauses:
        if c.kind is None:
            kept.append(c.raw)
            continue
        if c.kind not in out.steps:
            out.steps.append(c.kind)
        out.removed.append(c.raw.strip(" ,，;；"))
        cost = _COST.search(c.raw) if c.kind is Step.CONFIRM else None
        if cost and not any(_COST.search(k) for k in kept):
            kept.append(f" ({cost.group(0).strip()})")  # "Type CONFIRM to spend 230 credits": the price stays
    text = "".join(kept).strip()
    return (_end_mark(text, has_cjk(sentence)) if text else ""), True


_FREE = re.compile(
    r"不收费|免费|不扣(?:费|分|积分)|不花钱|\bfree\b|no charge|won'?t cost|doesn'?t cost|at no cost|"
    r"costs nothing"
)


def _paid(text: str) -> bool:
    """The reply is about an action that costs: a price, or AI generation (not one said to be free)."""
    t = fold(text)
    if _FREE.search(t) and not _COST.search(t):
        return False
    if _COST.search(t) or re.search(
        r"\bai\b|\bai-|ai\s*(?:生成|配音|抠像|扩图|修复|去|配乐|智能)|扣费|付费|要花钱|收费", t
    ):
        return True
    return _g("confirm", "paid_en", "paid_zh").any(t) and bool(
        re.search(r"\bcredits?\b|积分|charge|cost|spend", t)
    )


def translate(reply: str) -> Translation:
    cleaned = clean(reply)
    out = Translation(text="", cleaned=cleaned.removed)
    paid = _paid(cleaned.text) or (
        _g("confirm", "paid_en", "paid_zh").any(fold(cleaned.text))
        and _go_ahead(fold(cleaned.text))
        and bool(re.search(r"\b(?:ready to|about to|i can|i'?ll)\b|准备|可以帮你", fold(cleaned.text)))
    )
    for label in cleaned.link_labels:
        kind = _kind(label, paid) or (Step.EXPORT if _EXPORT_OBJECT.search(fold(label)) else None)
        if kind is not None and kind not in out.steps:
            out.steps.append(kind)  # an unsafe "Download it here" link was an offer of a step
    body = _DOUBLE_STOP.sub(lambda m: "。" if m.group(0).startswith("。") else ".", cleaned.text)
    lines_out: list[str] = []
    gui_lines: list[bool] = []
    content_seen = False
    for line in body.split("\n"):
        mark = _LIST_MARK.match(line)
        prefix = mark.group(0) if mark else ""
        rest = line[len(prefix) :]
        kept: list[str] = []
        any_gui = False
        gap = ""
        for s, sep in _sentences(rest):
            if _noise(s):
                out.noise_dropped = True
                continue
            text, gui = _translate_sentence(s, out, paid)
            any_gui = any_gui or gui
            if text:
                kept.append(gap + text if kept else text)
                gap = sep  # the space the writer put after it ("Dr. Ife" stays "Dr. Ife")
        joined = "".join(kept).strip()
        if joined and not _filler(joined):
            content_seen = True
        lines_out.append(prefix + joined if joined else "")
        gui_lines.append(any_gui)
    # in a list of GUI steps, an item that is an instruction of its own goes too ("3. Change the speed to what
    # you want", "2. 选择 2K、60 帧")
    for i, line in enumerate(lines_out):
        item = _LIST_MARK.match(line)
        if (
            not item
            or not line[item.end() :].strip()
            or not (any(gui_lines[max(0, i - 1) : i]) or any(gui_lines[i + 1 : i + 2]))
        ):
            continue
        body_t = fold(_mask(line[item.end() :])).strip(" .。")
        if _imperative_any(body_t):
            out.removed.append(line[item.end() :].strip())
            lines_out[i] = ""
            gui_lines[i] = True
    content_seen = any(x.strip() and not _filler(x) for x in lines_out)
    # a header whose list was all GUI steps ("Next steps:", "操作步骤如下：") goes with it
    for i, line in enumerate(lines_out):
        if (
            line.rstrip().endswith((":", "："))
            and not any(x.strip() for x in lines_out[i + 1 :])
            and any(gui_lines[i + 1 :])
        ):
            lines_out[i] = ""
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines_out)).strip()
    if out.noise_dropped and not text and not out.steps:
        out.noise_dropped = False  # the notice was all there was: keep it
        text = cleaned.text
    out.gui_only = bool(out.steps) and (not content_seen or _filler(text))
    out.text = "" if out.gui_only else text
    if Step.CONFIRM in out.steps and not paid:
        # "Click Apply to confirm": nothing paid waits on it
        out.steps = list(dict.fromkeys(Step.CLICK if s is Step.CONFIRM else s for s in out.steps))
    if Step.CONFIRM in out.steps:
        costs = [float(next(g for g in m if g)) for m in _COST.findall(fold(reply))]
        out.waiting = Waiting(cost=max(costs) if costs else None, what=out.text)
    return out
