"""One Chinese clause of a reply: the GUI step it asks the user to do by hand, or None (`kind_zh`).

An imperative (请, 你可以, 直接, 把…) or an instruction (…即可, 就行) with a GUI verb (双击, 拖, 点, 预览), a
GUI place (面板, 时间轴), a gesture (长按, 二指缩放) or a key (按空格键). Not a step: what the agent did
(已经导出), a shot it names ("…的那个镜头"), an edit named without a GUI verb or place ("把标题改成…").
English words in the clause are read by `gui_english`.
"""

from __future__ import annotations

import re

from nemo_mcp.language.gui_english import NEGATED, kind_en
from nemo_mcp.language.gui_steps import (
    DRAG_ZH,
    EXPORT_OBJECT,
    KEY_ZH,
    MENU_PATH,
    PLACE_KIND,
    TAP_ZH,
    Step,
    gui_words,
    kind_of_verb,
    refine,
)

DEPENDENT_ZH = re.compile(
    r"^(?:如果|要是|若|想|想要|需要|如需|要|满意的话|没问题|确认无误|如有|若要|保存的话|想换|想看|还想|当你|在你|觉得|"
    r"下次|以后|之后|更多|其他|需要的话|不满意|想再|还要)"
)


_ZH_NOUN_PHRASE = re.compile(
    r"的(?:那个|那段|那些|那一|镜头|特写|画面|部分|片段|内容|地方|动作|动画|效果|特效|贴纸|音效|声音|手势|提示)|主角|画面中|"
    r"录屏里|游戏里|镜头里"
)
IMPERATIVE_ZH = re.compile(
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


# verbs that only a GUI has: with one of these, an instruction is a GUI step even without a GUI place
_GUI_VERB_ZH = re.compile(
    r"双击|右键|长按|按住|勾选|框选|点击|单击|轻点|轻触|悬停|预览|播放|试听|试看|回听|打开|切换|点开|选中|"
    r"导出|下载|分享|另存|滑动|上滑|下滑"
)
_GESTURE_ZH = re.compile(
    r"鼠标(?!垫)|悬停|轻触|二指|双指|两指|长按|上滑|下滑|左滑|右滑|往上滑|往下滑|滑动|"
    r"往[上下左右里外前后回]\s*(?:拉|拖|推|滑|移|挪|拨)|按住\S{0,10}?拖"
)


TOLD_ZH = re.compile(
    r"已经|已|过了|好了|完成|做好|(?:掉|成|到|上|完|了|过)了(?![吗没么])|^我|^这一版|^之前|我.{0,12}?了"
)


# A clause that only names a shot ("从抽屉里翻出老照片的那个镜头，我加了…"): a topic, not an instruction.
_ZH_NAMES_A_SHOT = re.compile(
    r"的(?:那个|这个|那段|这段|那些|那一个)?(?:镜头|画面|片段|部分|地方|时候|场景|一幕)[，,、]?\s*$"
)


# "在“比例”里可以切回 16:9", "可以在“变速→曲线变速”里自己拉": a named place of the editor, for the user
_IN_NAMED_PLACE = re.compile(
    r"在\s*«q»\s*(?:里|中|内|里面|下面|面板|菜单|选项)\S{0,3}?(?:可以|即可|就能|就可以|自己|调|改|切|拉|选|设置)"
)


def kind_zh(t: str) -> Step | None:
    if NEGATED.search(t):
        return None
    if _ZH_NAMES_A_SHOT.search(t) and not (_GESTURE_ZH.match(t) or _GUI_VERB_ZH.match(t)):
        return None  # "从抽屉里翻出老照片的那个镜头，…" names a shot; "长按轨道上的片段" is a gesture
    if _ZH_NOUN_PHRASE.search(t) and not IMPERATIVE_ZH.match(t):
        return None
    if MENU_PATH.search(t) and (gui_words("places", "zh", "en").any(t) or EXPORT_OBJECT.search(t)):
        return refine(t, Step.OPEN)  # "汉堡菜单 → Project → Export"
    instruct = bool(IMPERATIVE_ZH.match(t) or _INSTRUCT_ZH.search(t))
    if TOLD_ZH.search(t) and not (_INSTRUCT_ZH.search(t) or re.search(r"可以", t)):
        return None
    if _IN_NAMED_PLACE.search(t):
        return kind_of_verb(t) or Step.OPEN
    gesture = _GESTURE_ZH.search(t) or KEY_ZH.search(t)
    place = gui_words("places", "zh").any(t) or gui_words("places", "en").any(t)
    kind = kind_of_verb(t)
    if gesture:
        return kind or Step.EDIT
    if not instruct:
        return kind_en(t) if re.search(r"[a-z]{3,}", t) else None
    if kind is None and not place:
        return kind_en(t) if re.search(r"[a-z]{3,}", t) else None
    gui_verb = (
        DRAG_ZH.search(t)
        or TAP_ZH.search(t)
        or _GUI_VERB_ZH.search(t)
        or re.search(r"\b(?:long[- ]press|double[- ](?:click|tap)|right[- ]click|drag|swipe|pinch|hover)", t)
    )
    if (
        not place
        and not gui_verb
        and not gui_words("verbs", "click_en", "open_en", "preview_en", "export_en").any(t)
    ):
        return None  # "把标题改成…" names an edit, not a GUI step
    return kind or next((k for pattern, k in PLACE_KIND if pattern.search(t)), Step.CLICK)
