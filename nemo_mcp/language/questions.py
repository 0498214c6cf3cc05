"""Whether a clause asks something, and whether it asks what is in the video.

`asking(text, question)`: a question mark, an open question word first ("how much…", also after "wait" or
"tf"; "when" and "where" only with an auxiliary after them: "when the deponent reads out the balance" is a
time), or a Chinese question form (吗, 多少, 有没有…). `content_question(text)`: it asks about what the
video says or shows ("视频里有没有说到价格？"), which only the agent can answer.
"""

from __future__ import annotations

import re

from nemo_mcp.language.intent import intent_words as _w
from nemo_mcp.language.normalize import has_cjk

_ZH_QUESTION = re.compile(
    r"(?:吗|呢|么|嘛|没有|没|了没|未)\s*$|多少|多久|什么|啥|哪|够不够|够吗|是不是|要不要|扣不扣|收不收|咋|怎样|"
    r"怎么样|如何|几(?:次|个|点|条|秒|分钟|%|成|步|长|段)|多长|有没有|是否|可以吗|能吗|行吗|好吗"
)


_AUX = re.compile(r"\s*(?:will|is|are|was|were|does|do|did|can|could|should|would|has|have|'s|'ll|am|r|u)\b")


def asking(text: str, question: bool) -> bool:
    if question:
        return True
    first = re.match(r"(?:(?:wait|ok|okay|so|hmm|um|and|but|btw|also|oh|hey|tf|wtf)\s+)*([a-z']+)", text)
    if (
        first
        and first.group(1) != first.group(0).split()[0]
        and _w("questions", "open_en").any(first.group(1))
    ):
        return True  # "wait how much does that cost", "tf is my balance"
    first = re.match(r"[a-z']+", text)
    if first and first.group(0) in ("tf", "wtf"):
        return True
    if first and _w("questions", "open_en").any(first.group(0)):
        # "when the deponent reads out the balance, mute it": a time, not a question
        return not (first.group(0) in ("when", "where") and not _AUX.match(text, first.end()))
    return has_cjk(text) and bool(_ZH_QUESTION.search(text))


def content_question(text: str) -> bool:
    return _w("questions", "content_question_en").any(text) or (
        has_cjk(text) and _w("questions", "content_question_zh").any(text)
    )
