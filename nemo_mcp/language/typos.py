"""Typing mistakes on the router's keywords, mended before classification.

- English: a word within one or two edits of a keyword ("exprot", "donwload", "statsu", "credts",
  "uplaod") becomes the keyword, unless it is a real word of its own ("report", "import", "states"); a
  real word that opens the sentence with the video as its object ("expert the video") is taken as the
  keyword it was typed for. Distances come from rapidfuzz (Damerau-Levenshtein: a swap is one mistake).
- Chinese: a pair of characters that sounds like a keyword (an IME slip: 到处 or 倒出 for 导出, 鱼额 for
  余额, 积粉 for 积分) becomes the keyword, unless the characters around it make it a real word of its
  own (几分钟). The readings come from pypinyin's character table, loaded on first need.
"""

from __future__ import annotations

import re
from functools import cache

from rapidfuzz.distance import DamerauLevenshtein
from rapidfuzz.process import extractOne

from nemo_mcp.language.lexicon import data
from nemo_mcp.language.normalize import is_cjk

_WORD_RE = re.compile(r"[a-z][a-z']*")
_OBJECT_RE = re.compile(r"\s+(?:the|it|this|that|my|our|a|an|video|vid|clip|file|mp4)\b")


def _lexicon_words() -> set[str]:
    """Every English word the lexicons name is a real word ("reorder" is not a slip for "render")."""
    out: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for entry in node:
                if isinstance(entry, str) and entry.isascii():
                    out.update(re.findall(r"[a-z][a-z']*", entry.lower()))

    walk(data("intents"))
    walk(data("gui"))
    return out


@cache
def _english() -> tuple[tuple[str, ...], frozenset[str], dict[str, str]]:
    table = data("intents")["typos"]
    keywords = tuple(table["keywords"])
    real = frozenset(table["real_words"]) | (_lexicon_words() - set(keywords))
    return keywords, real, dict(table["imperative_slips"])


def _max_edits(word: str) -> int:
    return 1 if len(word) <= 6 else 2


def mend_english(text: str) -> str:
    keywords, real, slips = _english()

    def fix(m: re.Match[str]) -> str:
        word = m.group(0)
        if len(word) < 4 or word in keywords:
            return word
        if word in real:
            opening = m.start() == 0 or not text[: m.start()].strip(" ,.!?:;-")
            if word in slips and opening and _OBJECT_RE.match(text, m.end()):
                return slips[word]
            return word
        best = extractOne(word, keywords, scorer=DamerauLevenshtein.distance, score_cutoff=_max_edits(word))
        if best is None:
            return word
        keyword = str(best[0])
        # the first letter is rarely the mistake, and a short word must stay short
        if keyword[0] != word[0] or abs(len(keyword) - len(word)) > 1:
            return word
        return keyword

    return _WORD_RE.sub(fix, text)


@cache
def _readings() -> dict[int, frozenset[str]]:
    from pypinyin.pinyin_dict import pinyin_dict  # ~0.3 s to load: only when a Chinese slip is possible

    def toneless(reading: str) -> str:
        import unicodedata

        plain = "".join(c for c in unicodedata.normalize("NFD", reading) if c.isascii()).replace("v", "u")
        # the sounds IMEs and dialects blur: zh/z, ch/c, sh/s ("导粗来" for 导出来), -ng/-n
        return re.sub(r"^([zcs])h", r"\1", plain).replace("ng", "n")

    return {code: frozenset(toneless(r) for r in value.split(",")) for code, value in pinyin_dict.items()}


def _sounds(ch: str) -> frozenset[str]:
    return _readings().get(ord(ch), frozenset())


@cache
def _chinese() -> tuple[tuple[str, str, str, tuple[str, ...]], ...]:
    return tuple(
        (word, rule.get("not_before", ""), rule.get("not_after", ""), tuple(rule.get("real", ())))
        for word, rule in data("intents")["pinyin"]["words"].items()
    )


def mend_chinese(text: str) -> str:
    """Replace sound-alike pairs of characters by the keyword they were typed for."""
    if not any(is_cjk(c) for c in text):
        return text
    out = text
    for word, not_before, not_after, real in _chinese():
        if word in out:
            continue
        targets = [_sounds(c) for c in word]
        chars = list(out)
        i = 0
        while i < len(chars) - 1:
            a, b = chars[i], chars[i + 1]
            if (
                is_cjk(a)
                and is_cjk(b)
                and a + b != word
                and a + b not in real  # 几分 is a word of its own
                and targets[0] & _sounds(a)
                and targets[1] & _sounds(b)
            ):
                before = chars[i - 1] if i > 0 else ""
                after = chars[i + 2] if i + 2 < len(chars) else ""
                if (not before or before not in not_before) and (not after or after not in not_after):
                    chars[i], chars[i + 1] = word[0], word[1]
                    i += 2
                    continue
            i += 1
        out = "".join(chars)
    return out


def mend(text: str) -> str:
    return mend_chinese(mend_english(text))
