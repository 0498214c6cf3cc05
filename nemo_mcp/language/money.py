"""Whether a clause asks about money: the balance or a price (`asks_money`).

A credits word that is neither content ("end credits") nor a verb ("credit the photographer", "balance the
audio"), asked about or named in a short request ("balance?", "my credits please", "credit check before I
go on"); or, in a question, "how much" about a price ("how much would a 4K export be"), not about time or
about what is in the video.
"""

from __future__ import annotations

import re

from nemo_mcp.language.content import keywords
from nemo_mcp.language.edits import Edit
from nemo_mcp.language.intent import intent_words as _w
from nemo_mcp.language.questions import content_question

_CHECK_MONEY = re.compile(
    r"\b(?:credits?|balance)\s+(?:check|status|info|update|left|remaining|count)\b|"
    r"\b(?:check|see|show|tell me|know|find out|look up|confirm|verify)\b(?:\s+\S+){0,3}?\s+(?:credits?|"
    r"balance)\b|\b(?:share|send|give me|tell me|show me)\b(?:\s+\S+){0,2}?\s+(?:cost|price|pricing)\b"
)


def _short(text: str) -> bool:
    """A few words at most: a request by name ("balance?", "my credits please", "余额")."""
    return len(re.findall(r"[a-z0-9'«»]+", text)) + len(re.findall(r"[\u4e00-\u9fff]", text)) / 2 <= 4


def asks_money(text: str, asks: bool, edit: Edit) -> bool:
    hits = keywords(_w("credits", "words_en", "words_zh"), text, verbs=False)
    if hits:
        first = hits[0]
        # "credit the photographer", "balance the audio": the word used as a verb
        if first.start() == 0 and (
            # "credit Coach Alvarez on the last slide", "balance the audio": the word used as a verb
            (
                first.group(0) in ("credit", "balance", "ballance")
                and re.match(
                    r"\s+(?!left|remaining|check|please|pls|now|info|amount|status|pls)[a-z]",
                    text[first.end() :],
                )
            )
            or (
                first.group(0) == "credits"
                and re.match(
                    r"\s+(?:the|a|an|my|his|her|their|our|every|all|it|them|this|that|out|\w+'s)\b",
                    text[first.end() :],
                )
            )
        ):
            return False
        if edit.before(first.start()) and not asks:
            return False
        if asks:
            return True
        if re.match(
            r"(?:please\s+)?(?:check|show|tell|see|look up|what'?s|quote|estimate|查|看|告诉|问|算)", text
        ):
            return True
        if _CHECK_MONEY.search(text):
            return True  # "credit check before I go on", "I need to know my balance first"
        # "balance", "credits left", "积分", "my balance please"; a longer statement naming a balance or
        # credits ("the offering mentions the building fund balance") is about the video
        return not edit.strong and (_short(text) or _w("credits", "left_en", "left_zh").any(text))
    if not asks:
        return False
    if _w("credits", "left_en", "left_zh").any(text):
        return not re.search(
            r"how many (?:clips|tracks|files|scenes|shots|videos|cuts|seconds|frames)|how long|"
            r"how much longer|多久",
            text,
        )
    # "how much would a 4K export be", "how much ah one minute of AI voice": a price asked
    return bool(
        re.search(r"\bhow much\b(?! (?:longer|time|more time|of (?:the|it|this|that)\b))", text)
    ) and not (
        re.search(r"\bhow much (?:is|was|does|did) (?:it|this|that) take\b", text) or content_question(text)
    )
