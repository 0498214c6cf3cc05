"""Requests with a verb the lexicons do not know: `imperative(text)`.

A verb in its base form followed by its object ("redact every mention of the SSN", "lay them over
«file»"), something wanted ("I'd like a five-minute recap version"), or 帮我/把/请 and more
("帮我挑哪条跳得好些") is an edit for the agent. With files handed over, the verbs that only hand them
over ("use these two: «file» and «file»") do not count.
"""

from __future__ import annotations

import re

from nemo_mcp.language.lexicon import data

# Words that open a clause without being its verb, and words that are not verbs at all.
_OPENERS = (
    r"(?:(?:ok|okay|so|and|just|please|pls|plz|now|then|also|hey|hi|yo|um|uh|oh|ah|wah|alright|right|well|"
    r"kindly|quickly|first|next|finally|maybe|actually|eh|lah|leh|aiyo|alamak|ya|yah|oi|bro|sis|dude|"
    r"btw)\s+)*"
)
_NOT_A_VERB = frozenset(data("intents")["requests"]["not_verbs"])
_OBJECT = re.compile(
    r"\s+(?:the|a|an|my|our|your|this|that|these|those|it|them|every|each|all|both|his|her|their|some|any|"
    r"\d+|«q»|«file»)\b"
)


_HANDOVER_VERBS = frozenset(data("intents")["requests"]["handover_verbs"])


def imperative(text: str, *, handing_over: bool = False) -> bool:
    """A request with a verb the lexicons do not know: "redact every mention of the SSN", "lay them over
    «file»", "帮我挑哪条跳得好些". A verb followed by its object, or 帮我/把/请 + more: an edit for the agent.
    `handing_over`: the clause names files, and the verbs that only hand them over do not count."""
    m = re.match(_OPENERS + r"([a-z][a-z'-]+)", text)
    if m is not None:
        word = m.group(1)
        if handing_over and word in _HANDOVER_VERBS:
            return False  # "use these two: «file» and «file»" only hands the files over
        if (
            word not in _NOT_A_VERB
            and "'" not in word
            and not word.endswith(("ed", "ing"))  # "found it", "uploading the last bits": told, not asked
            and _OBJECT.match(text, m.end())
        ):
            return True
    if re.match(
        _OPENERS + r"(?:i'?d like|i would like|i want|i need|we need|we want|we'?d like)\s+(?:a|an|some)\b",
        text,
    ):
        return True  # "I'd like a five-minute recap version": something to make
    return not handing_over and bool(re.match(r"(?:帮我|帮忙|麻烦|请(?!问)|把|将|给我把)\S{3,}", text))
