"""Whether a clause holds the export back: `find_hold(text)`.

"don't export yet", "hold off on any output until legal clears it", 先别出片, 等我确认了再出, or a hold by
itself ("not yet", "wait", 等等). The route then defers the export; the clause may still carry an edit.
"""

from __future__ import annotations

import re

from nemo_mcp.language.content import is_content
from nemo_mcp.language.intent import intent_words as _w

_HOLD_ALONE = re.compile(
    r"(?:(?:ok|okay|but|please|oh|no|hmm|and)\s+)*(?:not yet|not now|wait|hold on|hang on|hold up|one sec|"
    r"stop|nope|(?:keep|leave)\s+it(?:\s+(?:for now|as is|like that|there|here))?|hold off|"
    r"等等|等一下|先等等|等会|先等一下|先不|先别|先放着)[!.~ ]*"
)
_EXPORT_WORDS = re.compile(
    r"(?<![a-z])(?:export\w*|download\w*|render\w*|dl|exp|print\w*|output\w*|deliver\w*|bounce\w*|ship\w*|"
    r"(?:send|give|hand|share)\s+(?:it|me|us|that|the\s+\w+|over|anything|something)"
    r"(?:\s+(?:the\s+)?(?:file|video|mp4|over))?|the file|file|files)\b|"
    r"导出|汇出|下载|出片|渲染|导|给我|发我|文件|成片|出(?=\s*(?:$|[了吧啊呀哈,，。]|来))"
)


def find_hold(text: str) -> re.Match[str] | None:
    """The export word the clause holds back ("don't export yet", 先别出片), or a bare hold ("not yet")."""
    if _HOLD_ALONE.fullmatch(text):
        return re.match(r"", text)
    for m in _EXPORT_WORDS.finditer(text):
        if is_content(text, m):
            continue
        if _w("hold", "en", "zh").any(text[max(0, m.start() - 40) : m.start()]):
            return m
        after = text[m.end() :]
        if re.search(
            r"\b(?:yet|later|for now|until|till|til|not now|before)\b|先|暂时|再说|以后|等我", after
        ) and re.search(r"\b(?:not|don'?t|dont|no|hold|wait|never)\b|不|别|莫|甭", text):
            return m
        # "等我确认了再出", "hold off on any output until legal clears it"
        if re.search(r"等我\S{0,8}?再$|\bhold off\b.*$", text[: m.start()]):
            return m
    return None
