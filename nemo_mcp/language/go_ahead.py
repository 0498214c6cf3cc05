"""Whether a reply is about paid work, and whether the agent waits for the user's go-ahead.

`is_paid`: a price ("230 credits", "要扣 110 分": `COST`) or AI generation, not one said to be free.
`asks_go_ahead`: the agent asks for the word ("okay to charge it?", "回个“行”我就开跑", "[ Approve ]").
With both, the reply's CONFIRM step means the agent waits (`replies.Waiting`), with the cost it quoted.
"""

from __future__ import annotations

import re

from nemo_mcp.language.gui_steps import gui_words
from nemo_mcp.language.normalize import fold

COST = re.compile(
    r"(\d+(?:\.\d+)?)\s*(?:个\s*)?(?:credits?|积分|點數|点数|點|点)(?!\s*(?:钟|鐘))"
    r"|(?:credits?|积分)\s*[:：]?\s*(\d+(?:\.\d+)?)"
    r"|(?<=[扣花耗需要])\s*(\d+(?:\.\d+)?)\s*(?:个\s*)?分(?![钟鐘秒之])",  # "要扣 110 分"
    re.IGNORECASE,
)


_FREE = re.compile(
    r"不收费|免费|不扣(?:费|分|积分)|不花钱|\bfree\b|no charge|won'?t cost|doesn'?t cost|at no cost|"
    r"costs nothing"
)


def is_paid(text: str) -> bool:
    """The reply is about an action that costs: a price, or AI generation (not one said to be free)."""
    t = fold(text)
    if _FREE.search(t) and not COST.search(t):
        return False
    if COST.search(t) or re.search(
        r"\bai\b|\bai-|ai\s*(?:生成|配音|抠像|扩图|修复|去|配乐|智能)|扣费|付费|要花钱|收费", t
    ):
        return True
    return gui_words("confirm", "paid_en", "paid_zh").any(t) and bool(
        re.search(r"\bcredits?\b|积分|charge|cost|spend", t)
    )


def asks_go_ahead(t: str) -> bool:
    """The agent asks for the go-ahead ("okay to charge it?", "回个“行”我就开跑", "[ Approve ]")."""
    if gui_words("confirm", "ask_en", "ask_zh").any(t):
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
