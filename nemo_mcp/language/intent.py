"""What an instruction can ask for: the steps `edit_video` knows (`Intent`), and the words of each.

The lists of data/intents.toml (export verbs, credit words, edit verbs, holds...) are what every piece of
the router matches against; `intent_words` compiles some of them into one matcher.
"""

from __future__ import annotations

from enum import StrEnum

from nemo_mcp.language.lexicon import Words, words


class Intent(StrEnum):
    EXPORT = "export"
    CREDITS = "credits"
    STATUS = "status"
    UPLOAD = "upload"
    AGENT = "agent"


def intent_words(section: str, *keys: str) -> Words:
    """The lists `keys` of `[section]` in data/intents.toml, as one matcher."""
    return words("intents", section, *keys)
