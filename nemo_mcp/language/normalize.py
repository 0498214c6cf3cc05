"""Text normalisation shared by the router and the reply translator.

`fold(text)` is what the lexicons are matched against: Unicode compatibility forms folded (full-width
ｅｘｐｏｒｔ and ？ become export and ?), case folded, traditional Chinese characters mapped to simplified
ones (a small table of the characters our lexicons use, not a converter), curly quotes and dashes unified,
emoji and other symbols spaced out, whitespace collapsed. It keeps the length of nothing: use it for
classification only, never to rebuild what the user wrote.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from nemo_mcp.language.lexicon import data

_TRAD_MAP = {pair[0]: pair[1] for pair in data("normalize")["traditional"].split() if len(pair) == 2}
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
    out = "".join(_TRAD_MAP.get(ch, f" {ch} " if _symbol(ch) else ch) for ch in out)
    return _SPACE_RE.sub(" ", out).strip()


def is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def has_cjk(text: str) -> bool:
    return any(is_cjk(ch) for ch in text)
