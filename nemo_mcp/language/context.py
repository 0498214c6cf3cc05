"""Clauses read together: what one clause says about its neighbours.

`follow_on`: a clause that only continues the one before takes no step of its own (a list of nouns after
a question, how the file or the edit should look), or the step of the edit it belongs to ("make a
tutorial, showing how to check the balance"). `within_sentences`: in a sentence that asks a price, the file
it names is priced, not asked for; a question nothing else answers goes to the agent; after a "what if",
a status question asks how the product behaves. `FILLER`: greetings, thanks and fillers, which say
nothing.
"""

from __future__ import annotations

import re

from nemo_mcp.language.intent import Intent
from nemo_mcp.language.questions import asking
from nemo_mcp.language.reading import Reading

FILLER = re.compile(
    r"(?:(?:ok|okay|right|yes|yeah|hmm|hi|hello|hey|thanks|thank you|cheers|please|pls|sorry|good morning|"
    r"good afternoon|good evening|dear team|lol|haha|谢谢|麻烦了|辛苦了|打扰了|好的|你好|请问|哈哈)"
    r"[\s,.!?~]*)+"
)


def within_sentences(readings: list[Reading]) -> None:
    """What one clause says about the others of its sentence.

    - A question about money is about what else the sentence names: "What's the cheapest way to get a
      1080p file?" asks a price, not for the file.
    - A question left unread ("What are the limits?") goes to the agent, like anything unclear, unless
      the sentence asked something the server answers ("…, am I under 100?").
    """
    by_sentence: dict[int, list[Reading]] = {}
    for r in readings:
        by_sentence.setdefault(r.sentence, []).append(r)
    for group in by_sentence.values():
        money = any(r.step is Intent.CREDITS and r.question for r in group)
        local = any(r.step in (Intent.CREDITS, Intent.STATUS, Intent.EXPORT) or r.hold for r in group)
        hypothetical = False
        for r in group:
            if money and r.step is Intent.EXPORT and r.question:
                r.step = None
            if hypothetical and r.question and r.step is Intent.STATUS:
                r.step = Intent.AGENT  # "if I close Cursor, does it keep going?": how the product behaves
            hypothetical = hypothetical or (r.aside and bool(re.match(r"(?:if|要是|如果|假如)", r.text)))
            if (
                not local
                and r.step is None
                and not r.aside
                and not r.hold
                and r.question
                and not FILLER.fullmatch(r.text)
                and len(re.findall(r"[a-z']+|[\u4e00-\u9fff]", r.text)) >= 3
            ):
                r.step = Intent.AGENT


def follow_on(readings: list[Reading]) -> None:
    """Clauses that only continue the one before: a list of nouns after a question ("what's the layout -
    video tracks, audio tracks"), or the subject of an edit ("make a tutorial, showing how to check the
    balance")."""
    lead: Reading | None = None
    for cur in readings:
        if lead is not None and cur.sentence == lead.sentence and not cur.hold:
            if (
                lead.step in (Intent.STATUS, Intent.CREDITS)
                and cur.step is Intent.AGENT
                and not cur.edit.strong
            ):
                cur.step = None
            elif (
                lead.step is Intent.AGENT
                and cur.step in (Intent.CREDITS, Intent.STATUS)
                and re.search(r"\bhow to\b|\bshowing\b|\b(?:that|which) shows\b|怎么|如何|显示", cur.text)
            ):
                cur.step = Intent.AGENT
            elif lead.step is Intent.EXPORT and cur.step is Intent.AGENT and not cur.edit.strong:
                cur.step = None  # "要成片，高清的": how the file should be, not an edit
            elif (
                lead.step is Intent.AGENT
                and cur.step is Intent.STATUS
                and not asking(cur.text, cur.question)
                and not re.match(r"(?:show|tell|list|check|告诉|看看|查)", cur.text)
            ):
                cur.step = None  # "做个假的进度条，卡在最后不动": how the edit should look
        if cur.step is not None:
            lead = cur
