"""One English clause of a reply: the GUI step it asks the user to do by hand, or None (`kind_en`).

An instruction addressed to the user, after any lead-in ("When you're done, …", "you can…"): a GUI verb in
its base form ("hover", "shift-click"; a generic editing verb only with a GUI place, since "Cut the demo
down to 45 s" is also how the agent reports), a keyboard shortcut, a pointer to a place ("there's a slider
in the inspector"), or any verb with its object about a GUI place ("Pin the tracker layer":
`any_imperative`). Not a step: a negation ("no need to preview"), talk ("let me know…").
"""

from __future__ import annotations

import re

from nemo_mcp.language.gui_steps import (
    EXPORT_OBJECT,
    MENU_PATH,
    PLACE_KIND,
    Step,
    gui_verb_roots,
    gui_words,
    kind_of_verb,
    refine,
)
from nemo_mcp.language.lexicon import data
from nemo_mcp.language.normalize import has_cjk

LEAD_IN_EN = re.compile(
    r"^(?:(?:and|or|then|now|next|finally|also|just|simply|please|kindly|tip|pro tip|note|so|ok|okay|"
    r"alternatively|"
    r"otherwise|afterwards|after that|first|meanwhile|you can|you could|you may|you might|you'll want to|"
    r"you will "
    r"want to|you need to|you'll need to|you should|feel free to|try|remember to|don't forget to|"
    r"make sure to|go ahead "
    r"and|if needed|if you like|whenever you like|from here|from there|here|to (?:do that|do this|undo|"
    r"save it|share|"
    r"download it|export it|see (?:it|them|both)|check|compare|hear|publish it|keep it)|"
    r"from the [\w\s→>-]+?(?= choose| "
    r"select| pick| click| go)|in the [\w\s→>-]+?(?= pick| choose| select| click| tap| hit| open| find|"
    r" drag)|"
    r"(?:if|when|once|whenever|before|after) [^,]{0,60}?(?=,|$)|[\w\s]{0,20}\bby)\b[\s,:]*)+"
)
DEPENDENT_EN = re.compile(
    r"^(?:you can do (?:that|it|this) yourself|if|when|once|whenever|to|for|in order to|before|after|"
    r"should you|"
    r"next time|later|any ?time|"
    r"for (?:more|other|another)|to publish it|to get it)\b"
)


NEGATED = re.compile(
    r"(?:no need to|don't need to|do not need to|not needed|isn't needed|is not needed|"
    r"(?:不用|不必|无需|不需要|"
    r"没必要)(?:再)?"
    r"(?:预览|点|打开|拖|导出|下载|播放|查看)|^previewing is)"
)
_TALK = re.compile(
    r"^(?:let me know|tell me|feel free to ask|ask me|reply with your|describe|enjoy|have fun|send me)\b"
)
_SHORTCUT = re.compile(
    r"\b(?:ctrl|cmd|command|alt|option|shift|⌘|⌥|⇧)\s*[+\-]\s*\w|\b(?:space ?bar|spacebar|enter key|"
    r"arrow keys?|"
    r"(?:\w+ )?keys?\b(?= to|$)|[a-z]/[a-z] keys|comma and period keys)|\b(?:press|hit)\s+(?:space|enter|"
    r"delete|"
    r"backspace|esc|tab|return|[a-z])\b",
    re.IGNORECASE,
)
_POINTER_EN = re.compile(
    r"\bthere(?:'s| is| are)\s+(?:a|an|the)?\s*[\w\s-]{0,30}\b(?:slider|button|toggle|switch|checkbox|"
    r"option|setting|"
    r"knob|menu|tab|panel|field)s?\b|\b(?:is|are|sits|lives)\s+(?:available\s+)?(?:in|under|"
    r"on)\s+the\s+[\w\s-]{0,30}"
    r"\b(?:menu|panel|tab|sidebar|library|toolbar|inspector|settings|drawer)\b|\byou(?:'ll)?\s+find\b"
)


def _imperative(core: str) -> Step | None:
    """The step a clause that opens with a GUI verb in its base form asks for ("hover", "shift-click"); a
    generic editing verb ("Cut the demo down to 45 s", also how the agent reports) needs a GUI place."""
    for root, kind, generic in gui_verb_roots():
        if core == root or core.startswith((root + " ", root + ",", root + "!")):
            if generic and not (gui_words("places", "en").any(core[len(root) :]) or _SHORTCUT.search(core)):
                return None
            return kind
    return None


_YOU_CAN = re.compile(
    r"\byou(?:'ll| will)?\s+(?:can|could|may|might|should|need to|want to|have to|'ll want to|"
    r"will want to)\b|"
    r"\b(?:feel free to|try|remember to|make sure to|don't forget to)\b"
)


# Words that open a sentence without being a verb addressed to the user.
_NOT_IMPERATIVE = frozenset(data("gui")["imperative"]["not_verbs"])
_OBJECT_NEXT = re.compile(
    r"\s+(?:the|a|an|my|our|your|this|that|these|those|it|them|every|each|all|both|any|some|«q»)\b"
)


# Instructions without an object: "Wait for the green tick", "Scroll down to Audio"
_INTRANSITIVE = re.compile(
    r"(?:wait|go|look|scroll|head|come|stay|hold|swipe|zoom|navigate|switch|jump|hop|move)\s+"
    r"(?:for|to|into|down|up|back|over|until|till|on|in|out|left|right)\b"
)


def any_imperative(core: str) -> bool:
    """The clause opens with a verb in its base form followed by its object ("Pin the layer", "Pop it
    out", "go hamburger → Project → Render"), whatever the verb."""
    m = re.match(r"([a-z][a-z-]*)\b", core)
    if m is None or m.group(1) in _NOT_IMPERATIVE or m.group(1).endswith(("ed", "ing")):
        return False
    return bool(
        _OBJECT_NEXT.match(core, m.end()) or MENU_PATH.match(core, m.end() + 1) or _INTRANSITIVE.match(core)
    )


def kind_en(t: str) -> Step | None:
    """The step an English clause asks the user to do by hand, or None for content."""
    if NEGATED.search(t) or _TALK.match(t):
        return None
    core = LEAD_IN_EN.sub("", t).strip(" ,:;-*")
    if _TALK.match(core):
        return None
    imperative = _imperative(core)
    if imperative is not None:
        return imperative
    if _SHORTCUT.search(core):
        return kind_of_verb(core) or Step.EDIT
    if _POINTER_EN.search(core):
        return Step.OPEN
    # an imperative with a verb the lexicons do not know, about a GUI place: "Pin the tracker layer",
    # "Pop it out into the mini-player", "Shake the phone to undo"
    if (
        MENU_PATH.search(core)
        and (gui_words("places", "en").any(core) or EXPORT_OBJECT.search(core))
        and re.match(r"(?:go|open|head|navigate|choose|select|pick|click|tap|hit|use|from|in|via)\b", core)
    ):
        return refine(core, Step.OPEN)  # "go hamburger → Project → Render"
    if (
        not has_cjk(t)
        and any_imperative(core)
        and (gui_words("places", "en").any(core) or MENU_PATH.search(core))
    ):
        kind = kind_of_verb(core) or next((k for pattern, k in PLACE_KIND if pattern.search(core)), Step.EDIT)
        return Step.EXPORT if EXPORT_OBJECT.search(core) else kind
    # "…, which you can fine-tune in the inspector": addressed to the user, naming a GUI verb or place
    if _YOU_CAN.search(t) and (gui_words("places", "en").any(core) or kind_of_verb(core)):
        return kind_of_verb(core) or next((k for pattern, k in PLACE_KIND if pattern.search(core)), None)
    return None
