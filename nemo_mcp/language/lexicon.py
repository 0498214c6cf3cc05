"""The lexicons (data/*.toml) loaded once and compiled into matchers.

A `Words` matcher finds the entries of one list in normalised text: English entries on word boundaries
(`*` at the end of a word allows any ending), Chinese entries (or any entry that starts or ends with a
non-word character) as plain substrings.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

_WORDISH = re.compile(r"^[\w'].*[\w'*]$|^[\w]$", re.ASCII)
# What `*` allows after a stem: inflections and derivations, not any word that starts the same way
# ("mix*" is mixing, not mixtape; "separate*" is separated, not separately).
_ENDINGS = (
    r"(?:s|es|ed|d|ing|e|y|ies|ied|ion|ions|ation|ations|tion|tions|ze|se|zed|sed|zes|ses|zing|sing|"
    r"zation|sation|sis|ize|ise|ized|ised|izes|ises|izing|ising|ization|isation|ment|ments)?"
)


@dataclass(frozen=True)
class Words:
    """One word list, compiled."""

    pattern: re.Pattern[str] | None

    @classmethod
    def of(cls, entries: list[str]) -> Words:
        parts = []
        for raw in sorted({e.strip() for e in entries if e.strip()}, key=len, reverse=True):
            if raw.isascii() and _WORDISH.match(raw):
                body = re.escape(raw.rstrip("*")).replace(r"\ ", r"\s+")
                tail = _ENDINGS if raw.endswith("*") else ""
                # ASCII word boundaries: "发我个mp4" and "用这个clip" name the English word too
                parts.append(rf"(?<![A-Za-z0-9_'-]){body}{tail}(?![A-Za-z0-9_-])")
            else:  # CJK, symbols, «placeholders», patterns like "for \d"
                parts.append(raw if raw.startswith("for \\") else re.escape(raw))
        return cls(re.compile("|".join(parts)) if parts else None)

    def find(self, text: str) -> list[re.Match[str]]:
        return list(self.pattern.finditer(text)) if self.pattern else []

    def first(self, text: str) -> re.Match[str] | None:
        return self.pattern.search(text) if self.pattern else None

    def at(self, text: str, pos: int) -> re.Match[str] | None:
        """A match that starts exactly at `pos`."""
        return self.pattern.match(text, pos) if self.pattern else None

    def any(self, text: str) -> bool:
        return bool(self.pattern and self.pattern.search(text))


@cache
def data(name: str) -> dict[str, Any]:
    """A lexicon file of `nemo_mcp/language/data/`, parsed."""
    text = resources.files("nemo_mcp.language").joinpath(f"data/{name}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@cache
def words(name: str, section: str, *keys: str) -> Words:
    """The union of the lists `keys` of `[section]` in `data/<name>.toml`."""
    table = data(name)
    for part in section.split("."):
        table = table[part]
    entries: list[str] = []
    for key in keys:
        entries += list(table[key])
    return Words.of(entries)
