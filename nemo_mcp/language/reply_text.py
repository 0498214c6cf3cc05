"""A reply cut into sentences and clauses, and what in it says nothing.

`sentences(line)`, each with the space that followed it ("Dr. Ife" stays "Dr. Ife"); `reply_clauses`
(cut at commas, semicolons, colons, dashes and "then", never inside quotes or brackets, never inside a
time); `mask_quotes` (quoted text is content, except a button's name right after a click); `is_noise` (a
notice like "I encountered a temporary issue", a gateway's error line); `is_filler` (interjections);
`end_mark`.
"""

from __future__ import annotations

import re

from nemo_mcp.language.gui_steps import CLICKERS, gui_words
from nemo_mcp.language.normalize import fold

_SENTENCE_END = re.compile(
    r"(?<=[.!?])(?<!\.\.\.)\s+(?=\S)|(?<=[。！？])(?![”」』)）])|"
    r"(?<=[\u2600-\u27bf\U0001f300-\U0001faff])\ufe0f?\s+(?=\S)"
)
LIST_MARK = re.compile(r"^\s*(?:[-*•·]|\d+[.)、]|[①-⑩]|👉|➡️?|→|\[\s*\d+\s*\])\s*")
DOUBLE_STOP = re.compile(r"(?<!\.)\.\.(?!\.)|。{2,}")


_OPENERS = '"“‘「『(（['
_CLOSERS = '"”’」』)）]'
_CUT_WORDS = re.compile(
    r"\s+(?=(?:and\s+then|then|and|or|before|after\s+that)\s+(?:\w+\s+){0,1}?(?:click|tap|press|hit|select|"
    r"choose|"
    r"pick|open|go to|head|drag|type|enter|play|preview|check|export|download|scrub|toggle|double-click|"
    r"right-click|"
    r"hover|swipe|long-press|shift-click)\b)|(?=然后|接着|再点|再按|再选|再用|再拖|或者在|或者用|或在|或用)"
)


def reply_clauses(sentence: str) -> list[str]:
    """Clauses of a sentence, cut at commas, semicolons, dashes and "then" — never inside quotes or
    brackets, never inside a time ("0:40") — each keeping the separator that follows it."""
    pieces: list[str] = []
    depth, start, i = 0, 0, 0
    while i < len(sentence):
        ch = sentence[i]
        if ch in _OPENERS and not (ch == '"' and depth > 0):
            depth += 1
        elif ch in _CLOSERS and depth > 0:
            depth -= 1
        elif depth == 0 and (
            ch in ",;，；"
            or (ch in ":：" and not (i and sentence[i - 1].isdigit()))
            or sentence.startswith((" — ", " – ", "——", " - "), i)
        ):
            end = i + (2 if sentence.startswith("——", i) else 1 if ch in ",;，；:：" else 2)
            pieces.append(sentence[start:end])
            start = end
            i = end
            continue
        i += 1
    pieces.append(sentence[start:])
    out: list[str] = []
    for piece in pieces:
        out += [p for p in _CUT_WORDS.split(piece) if p]
    return [p for p in out if p]


_QUOTE = re.compile(
    r'"[^"\n]{1,200}"|“[^”\n]{1,200}”|(?<![\w\'])\'[^\'\n]{1,200}\'(?![\w])|‘[^’\n]{1,200}’|[「『《][^」』》\n]{1,200}[」』》]'
)


def mask_quotes(text: str) -> str:
    """Quoted text masked as «q» (it is content), except a button's name right after a click ("click
    “Export”"), which is kept for telling the kind of step."""

    def sub(m: re.Match[str]) -> str:
        head = fold(text[max(0, m.start() - 14) : m.start()])
        # a button's name, also after where it is ("点击右下角的“生成”", "click the “Export”")
        if re.search(
            rf"{CLICKERS}\s*(?:on\s+)?(?:the\s+)?(?:[\u4e00-\u9fff]{{0,6}}(?:角|方|侧|边|部|栏|面|里))?(?:的)?\s*$",
            head,
        ):
            return m.group(0)
        return "«q»"

    return _QUOTE.sub(sub, text).replace("**", "")


# A gateway's or proxy's error line glued to the reply: "[upstream] 504 Gateway Timeout (request_id=…)".
_GATEWAY_NOISE = re.compile(
    r"^\W*(?:\[?[\w -]{0,20}\]?\s*)?(?:http\s*)?[45]\d\d\s+(?:gateway|bad|service|internal|too many|request)"
    r"[\w ]*(?:\(.*\))?\W*$|\brequest_id=\w+|\btrace_id=\w+|x-request-id|upstream connect error|"
    r"disconnect/reset before headers|no healthy upstream|服务繁忙|服務繁忙|请稍后再试|請稍後再試|"
    r"错误码\s*\d+",
    re.IGNORECASE,
)


def sentences(line: str) -> list[tuple[str, str]]:
    """The sentences of a line, each with the whitespace that followed it."""
    out: list[tuple[str, str]] = []
    start = 0
    for m in _SENTENCE_END.finditer(line):
        if m.start() > start:
            out.append((line[start : m.start()], m.group(0) or ""))
        start = m.end()
    if start < len(line):
        out.append((line[start:], ""))
    return out


def is_noise(sentence: str) -> bool:
    return gui_words("noise", "en", "zh").any(fold(sentence)) or bool(_GATEWAY_NOISE.search(sentence.strip()))


def is_filler(text: str) -> bool:
    t = fold(text).strip(" .!?。！？:：~～-🎬👍🎉✨🙌✅")
    if not t:
        return True
    pattern = gui_words("noise", "filler_en", "filler_zh").pattern
    return pattern is not None and bool(re.fullmatch(rf"(?:{pattern.pattern}|[\s,，!！.:：])+", t))


def end_mark(text: str, cjk: bool) -> str:
    text = text.rstrip(" ,;，；:：—–-")
    if not text or text[-1] in ".!?。！？)）\"'”』」》*":
        return text
    return text + ("。" if cjk else ".")
