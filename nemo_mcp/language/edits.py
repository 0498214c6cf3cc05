"""The editing evidence of a clause: `find_edit(text) -> Edit`.

Strong evidence is a verb with a job to do ("trim", "加", "make it ..."); weak evidence is nouns only
("audio tracks", "9:16"); a weak verb ("put", "show") is strong with a thing of the video as its object.
Not an edit: a verb used as a noun ("the render"), a remark that the work is done ("clip's done", 可以了),
an edit not asked for ("nothing else to change", 不改了), what was done, asked about ("did the trim go
through?"), a Chinese verb that is a condition ("做好了就…": `ZH_CONDITION`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nemo_mcp.language.content import is_verb
from nemo_mcp.language.intent import intent_words as _w
from nemo_mcp.language.normalize import has_cjk

_DONE_EDITING = re.compile(r"\b(?:done|finished|through|happy)\s+(?:with\s+)?(?:the\s+)?edit(?:ing|s)?\b")
_SHOW_ME = re.compile(r"\bshow\s+(?:me|us)\b")
ZH_CONDITION = re.compile(
    r"(?:弄|做|剪|加|处理|改|搞|调|修|拼)(?:好|完)(?:了)?(?:的话|就|之后|以后)?(?=$|[,，。]|的话|就|之后|以后|直接|给|发|出)|搞定|"
    r"(?:做|剪|弄|处理|调|修|改)(?:好|完)的"  # "做好的视频": the finished video
)


@dataclass
class Edit:
    """The editing evidence of a clause."""

    strong: list[re.Match[str]]  # verbs with a job to do ("trim", "加", "make it ...")
    weak: bool  # only nouns ("audio tracks", "9:16")

    @property
    def any(self) -> bool:
        return bool(self.strong) or self.weak

    def before(self, pos: int, *, inside: re.Match[str] | None = None) -> bool:
        """An editing verb before `pos` (not part of the match `inside`)."""
        return any(
            e.start() < pos and (inside is None or e.group(0) not in inside.group(0)) for e in self.strong
        )


_STATEMENT_DONE = re.compile(
    r"\b(?:is|'s|are|looks?)\s+(?:all\s+)?(?:done|finished|ready|good|fine|perfect|great|final|locked)\b"
    r"|(?:可以了|行了|没问题了?|挺好的?|不错|满意了?|ok了|好了)\s*[!！~。]*$"
)


def find_edit(text: str) -> Edit:
    text = _DONE_EDITING.sub(" ", text)
    if _STATEMENT_DONE.search(text) and not re.search(r"\b(?:then|and|but)\b", text):
        return Edit([], False)  # "clip's done", "we're locked": a remark, not an edit
    # "nothing else to change", "不改了", "唔剪": an edit not asked for
    text = re.sub(
        r"(?:\b(?:nothing (?:else )?to|no more|no need to)\s+\w+|"
        r"(?:不|别|没|无需|不用|不再)[改剪加调动换删弄]\w?)",
        " ",
        text,
    )
    verbs = [
        m
        for m in _w("edit", "verbs_en").find(text)
        if is_verb(text, m) and not _SHOW_ME.match(text, m.start())
    ]
    if re.match(r"(?:have|has|did|is|are|was|were|had|do|does)\b", text) or re.search(
        r"\b(?:have|has|did) (?:i|you|we|it)\b", text
    ):
        # "which files have I added?", "did the trim go through?": what was done, asked about
        verbs = [m for m in verbs if not m.group(0).endswith("ed")]
    weak_verbs = [m for m in verbs if _w("edit", "weak_verbs_en").any(m.group(0))]
    strong = [m for m in verbs if m not in weak_verbs]
    nouns = _w("edit", "nouns_en").any(text)
    if has_cjk(text):
        zh = [m for m in _w("edit", "verbs_zh").find(text) if not ZH_CONDITION.match(text, m.start())]
        strong += zh
        nouns = nouns or _w("edit", "nouns_zh").any(text)
    if weak_verbs and (nouns or "«q»" in text):
        strong += weak_verbs  # "put «q» at the end", "show the title": an object of the video
    return Edit(strong=sorted(strong, key=lambda m: m.start()), weak=nouns)
