"""Text normalisation shared by the router and the reply translator.

`fold(text)` is what the lexicons are matched against: Unicode compatibility forms folded (full-width
ｅｘｐｏｒｔ and ？ become export and ?), case folded, traditional Chinese converted to simplified (OpenCC's
t2s tables, phrase-aware: 頭髮 -> 头发; loaded on the first Chinese text), curly quotes and dashes unified,
emoji and other symbols spaced out, whitespace collapsed. It keeps the length of nothing: use it for
classification only, never to rebuild what the user wrote.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

from nemo_mcp.language.lexicon import data


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")  # ~45 ms to load, then a few µs per instruction


_QUOTES = str.maketrans(
    {
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "–": "-",
        "—": "-",
        "―": "-",
        "‐": "-",
        "‑": "-",
        "〜": "~",
        "～": "~",
    }
)
_SPACE_RE = re.compile(r"\s+")


def _symbol(ch: str) -> bool:
    """Emoji and pictographs: spaced out so "ok👍" still reads as "ok" (and 💰 as a word of its own)."""
    return unicodedata.category(ch) in ("So", "Sk", "Cs") or 0x1F000 <= ord(ch) <= 0x1FAFF


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    out = unicodedata.normalize("NFKC", text).casefold().translate(_QUOTES)
    if has_cjk(out):
        out = _t2s().convert(out)
    out = "".join(f" {ch} " if _symbol(ch) else ch for ch in out)
    return _SPACE_RE.sub(" ", out).strip()


def is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def has_cjk(text: str) -> bool:
    return any(is_cjk(ch) for ch in text)


@lru_cache(maxsize=1)
def _cantonese() -> tuple[tuple[str, str], ...]:
    mapping: dict[str, str] = data("cantonese")["map"]
    return tuple(sorted(mapping.items(), key=lambda kv: len(kv[0]), reverse=True))


# Cantonese asks "done yet?" with a final 未: "整好未", "upload 咗上去未" (好了没, 上去了没).
_FINAL_WEI = re.compile(r"(?<=[了去来好完成定掂])\s*未(?=\s*[呀啊吖呢?？]?\s*(?:$|[,，。!！]))")


# Southwestern Mandarin asks with a final 没得 ("传上去没得？": 没有), Shanghainese with 伐 ("好了伐": 吗).
_FINAL_MEIDE = re.compile(r"没得(?=\s*[?？呀哦嘛哈]?\s*(?:$|[,，。!！?？]))")
_FINAL_FA = re.compile(r"(?<=[了好吗])?伐(?=\s*[?？呀啦]?\s*(?:$|[,，。!！?？]))")


def mandarin(text: str) -> str:
    """Cantonese and southwestern words folded to Mandarin (folded text): 俾 -> 给, 咗 -> 了, 未 -> 了没."""
    if not has_cjk(text):
        return text
    for cantonese, mandarin_word in _cantonese():
        text = text.replace(cantonese, mandarin_word)
    text = _FINAL_WEI.sub(lambda m: "没" if text[m.start() - 1] == "了" else "了没", text)
    return _FINAL_FA.sub("吗", _FINAL_MEIDE.sub("没有", text))
