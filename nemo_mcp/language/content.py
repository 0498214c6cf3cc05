"""What in an instruction is content, not a request, and the normalised text the router reads.

`normalise(text)` masks content as «q» (quoted text; keywords written as names in the original casing,
"Pacific Rim Export Ltd."), folds the text and turns Cantonese function words into Mandarin (`normalize`),
masks what follows "title card:" or "旁白：", and mends typing slips (`typos`). `keywords(lexicon, text)`
finds the words of a lexicon that still read as a request: not part of a thing on screen ("download
button", "status bar", "end credits", 积分榜: `is_content`) and, for verbs, not a noun after a determiner
("the render", "that edit": `is_verb`).
"""

from __future__ import annotations

import re
from functools import cache

from nemo_mcp.language.intent import intent_words as _w
from nemo_mcp.language.lexicon import Words, data
from nemo_mcp.language.normalize import fold, has_cjk, mandarin
from nemo_mcp.language.typos import mend

_QUOTED = (
    re.compile(r'"[^"\n]{1,300}"|“[^”\n]{1,300}”'),
    re.compile(r"‘[^’\n]{1,300}’"),
    re.compile(r"(?<![\w'])'[^'\n]{1,300}'(?![\w])"),
    re.compile(r"[「『《【][^」』》】\n]{1,300}[」』》】]"),
    re.compile(r"`[^`\n]{1,300}`"),
)
_KEYWORD_NAME = re.compile(
    r"(?<=[a-z0-9,;:'\"] )(?:Export|Exports|Exporting|Download|Downloads|Downloading|Render|Rendering|"
    r"Status|Progress|Credits?|Balance|Upload|Uploading|Uploads)\b(?:[\s-]+[A-Z0-9][\w&.%-]*)*"
)


@cache
def _colon_content() -> re.Pattern[str]:
    table = data("intents")["edit"]
    en = "|".join(re.escape(x) for x in sorted(table["content_colon_en"], key=len, reverse=True))
    zh = "|".join(re.escape(x) for x in sorted(table["content_colon_zh"], key=len, reverse=True))
    return re.compile(rf"(?:\b(?:{en})|{zh})\s*[:：]\s*(?P<content>[^\n。！？!?]+)")


def _mask(raw: str) -> str:
    """Content replaced by «q»: quotes, keywords used as names in the original casing."""
    if not raw.isupper():
        raw = _KEYWORD_NAME.sub(" «q» ", raw)
    for pattern in _QUOTED:
        raw = pattern.sub(" «q» ", raw)
    return raw


def _mask_colon(text: str) -> str:
    """What follows "title card:", "旁白：" (on folded text) is content."""
    return _colon_content().sub(lambda m: m.group(0)[: m.start("content") - m.start()] + " «q» ", text)


def normalise(found_masked: str) -> str:
    return mend(_mask_colon(mandarin(fold(_mask(found_masked)))))


_DETERMINER = re.compile(
    r"(?:\b(?:a|an|the|this|that|my|your|our|each|every|final|rough|first|last|new|one more|one|two|per|no|"
    r"any)\s+)$"
)


def is_verb(text: str, m: re.Match[str]) -> bool:
    """Not a noun after a determiner ("the render", "that edit", "final cut")."""
    return not _DETERMINER.search(text[: m.start()])


def is_content(text: str, m: re.Match[str]) -> bool:
    """The keyword at `m` names a thing in the video ("download button", "status bar", "end credits")."""
    if text[m.end() : m.end() + 1] == "-":  # "upload-style", "export-ready"
        return True
    after = text[m.end() :].lstrip()
    hit = _w("edit", "content_after_en", "content_after_zh").first(after)
    if hit is not None and hit.start() == 0:
        return True
    before = text[: m.start()].split()
    if before and _w("edit", "content_before_en").any(before[-1]):
        return True
    return bool(
        has_cjk(text) and _w("edit", "content_before_zh").any(text[max(0, m.start() - 4) : m.start()])
    )


def keywords(lexicon: Words, text: str, *, verbs: bool = True) -> list[re.Match[str]]:
    """Matches of `lexicon` that are not content (nor, for `verbs`, nouns after a determiner)."""
    return [m for m in lexicon.find(text) if not is_content(text, m) and (not verbs or is_verb(text, m))]
