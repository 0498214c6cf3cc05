"""The intent routing table (docs/skill.md "Matching Input to Actions") for real phrasing.

`route(instruction)` decides what `edit_video` does with a plain-language instruction, as steps in order:

| The user asks for...                                   | Step     | Reaches the backend agent? |
|--------------------------------------------------------|----------|----------------------------|
| the finished file ("hand over the mp4", 出片吧)          | EXPORT   | no (render workflow)       |
| the balance or a price ("will my credits cover it?")   | CREDITS  | no                         |
| progress or the project ("is it done?", 时间线上有什么) | STATUS   | no                         |
| media handed over (a path or a media URL)              | UPLOAD   | no                         |
| an edit, a generation, an analysis, anything else      | AGENT    | yes (`/run_sse`)           |

How: paths and links are taken out (`sources.find`); the rest is normalised (case, full-width forms,
traditional characters, Cantonese function words); what is content is masked («q»): quoted text, what
follows "title card:" or "旁白：", and keywords written as names mid-sentence ("Pacific Rim Export Ltd.");
typing slips are mended (`typos`); the text is cut into clauses at sentence ends, commas and
conjunctions ("then", "but", 然后). Each clause is read for its mood and its topic:

- a HOLD ("don't export yet", 先别导出, "not yet") defers the export, and may still carry an edit;
- a QUESTION is CREDITS when it is about money or the balance, AGENT when it asks what the editor can do or
  what is in the video, STATUS when it asks about progress or the project, EXPORT when it asks for the
  file ("could I have the mp4?"), else AGENT when it names an edit;
- a REQUEST is CREDITS or STATUS when it asks to see them ("check my balance", "show me the tracks"),
  EXPORT when it asks for the file (an export verb with the video, or nothing, as its object; a giving
  verb with a deliverable; a destination), and AGENT when it carries an edit.

A keyword is content, not a request, when an editing verb comes before it in the clause ("add a download
button"), when a word around it makes it part of a thing on screen ("status bar", "end credits", 积分榜),
or when an export verb takes another object ("render the title in gold", "export the subtitles as SRT").
An edit anywhere makes AGENT the first step (a lost edit is the worst outcome: an extra turn costs less),
and an export asked for after it runs when the edit is done, unless the user held it back. Files handed
over are uploaded first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

from nemo_mcp.language.lexicon import Words, data, words
from nemo_mcp.language.normalize import fold, has_cjk
from nemo_mcp.language.sources import find
from nemo_mcp.language.typos import mend


class Intent(StrEnum):
    EXPORT = "export"
    CREDITS = "credits"
    STATUS = "status"
    UPLOAD = "upload"
    AGENT = "agent"


@dataclass(frozen=True)
class Route:
    """What to do with one instruction: the steps in order, and what they need."""

    steps: tuple[Intent, ...]
    sources: tuple[str, ...] = ()  # media to upload first
    destination: str | None = None  # where the export goes, when the user named a path
    deferred: bool = False  # the user said not to export yet
    agent_text: str = ""  # what the agent gets (the instruction without the uploaded paths)
    wants_file: bool = False  # an upload asked for with no path or link ("I want to upload a video")
    clauses: tuple[str, ...] = field(default=(), compare=False)  # how it was read (logs, tests)

    @property
    def intent(self) -> Intent:
        return self.steps[0]

    @property
    def then(self) -> Intent | None:
        return self.steps[1] if len(self.steps) > 1 else None

    @property
    def then_export(self) -> bool:
        return Intent.EXPORT in self.steps[1:]


def _w(section: str, *keys: str) -> Words:
    return words("intents", section, *keys)


# --- what is content ------------------------------------------------------------------------------------

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


@cache
def _cantonese() -> tuple[tuple[str, str], ...]:
    mapping: dict[str, str] = data("intents")["cantonese"]["map"]
    return tuple(sorted(mapping.items(), key=lambda kv: len(kv[0]), reverse=True))


def _mandarin(text: str) -> str:
    if not has_cjk(text):
        return text
    for cantonese, mandarin in _cantonese():
        text = text.replace(cantonese, mandarin)
    return text


# --- clauses -------------------------------------------------------------------------------------------

# A full stop inside a word ("final.mp4", "v2.1") does not end the sentence.
_SENTENCE_RE = re.compile(r"(?:[^.!?。！？；;\n]|\.(?=[^\s.]))+(?:(?:[!?。！？；;\n]|\.(?![^\s.]))+|$)")
_COMMA_RE = re.compile(r"\s*[,，、]\s*|\s+-+\s+|\s*[—–]+\s*|\s*(?:->|→)\s*|\s+but\s+|但是|不过|\s+also\s+")
_THEN_EN = re.compile(
    r"\s+(?=(?:and\s+then|then|after\s+that|afterwards|once\s+(?:that'?s\s+|it'?s\s+)?done|"
    r"when\s+(?:you'?re\s+|it'?s\s+)?done|and\s+if|if\s+(?:it'?s|so|fine|ok|good|we'?re)|if\s+so)\b)"
)
_AND_EN = re.compile(r"\s+(?:and|&|\+|plus)\s+(?:(?:then|just|also|please|pls)\s+)?(?P<next>[a-z']+)")
_REQUEST_VERBS = {
    "give",
    "send",
    "hand",
    "get",
    "grab",
    "tell",
    "show",
    "let",
    "check",
    "save",
    "export",
    "i'll",
    "i",
    "produce",
    "bundle",
    "package",
    "render",
    "download",
    "ship",
    "deliver",
}
# Chinese conjunctions end a clause ("加个片头然后导出"), but not inside a question ("弄完了吗").
_THEN_ZH = re.compile(
    r"(然后再|然后|之后|以后|接着|最后|完了|好之后|好了就|的话|并且|完成后|弄好了|做好了|剪好了|加好了|"
    r"(?:做|弄|剪|加|改|搞)(?:完|好)(?=[,，\s]|就|直接|然后|再|后|告诉|给|发|send|出))"
    r"(?!了?[吗没么嘛呢?]|有没|没有|不)"
)
_AGAIN_ZH = re.compile(
    r"(?=(?:再|直接|就)\s*(?:下载|导出|汇出|出片|发|给|渲染|render|export|download|存|保存|ship|send))"
    r"|(?=告诉我|跟我说)"
)
# "去水印后下载": after an edit, then the export
_AFTER_ZH = re.compile(r"(后)(?=\s*(?:下载|导出|汇出|出片|发|给|渲染|render|export|download|send|存|保存))")
_LEADING = re.compile(r"^(?:(?:and then|then|and|also|so|plus|but|&|\+)\s+)+|^(?:然后|再|并且|还有|另外)\s*")


def _split_and(part: str) -> list[str]:
    """Cut at "and <verb>" where the verb starts a request of its own; "credits for X and an export" stays."""
    out, last = [], 0
    for m in _AND_EN.finditer(part):
        nxt = m.group("next")
        if nxt in _REQUEST_VERBS or _w("export", "verbs_en").any(nxt) or _w("edit", "verbs_en").any(nxt):
            out.append(part[last : m.start()])
            last = m.start("next")
    out.append(part[last:])
    return out


@dataclass
class Clause:
    text: str
    question: bool
    sentence: int


def split_clauses(text: str) -> list[Clause]:
    out: list[Clause] = []
    for n, m in enumerate(_SENTENCE_RE.finditer(text)):
        sentence = m.group(0)
        question = "?" in sentence
        for comma_part in _COMMA_RE.split(sentence.strip(" .!?。！？;；\n")):
            for then_part in _THEN_EN.split(comma_part):
                for and_part in _split_and(then_part):
                    for zh_part in _THEN_ZH.sub("\\1\x00", and_part).split("\x00"):
                        for piece in _AGAIN_ZH.split(_AFTER_ZH.sub("\\1\x00", zh_part).replace("\x00", "\n")):
                            for bit in piece.split("\n"):
                                bit = _LEADING.sub("", bit.strip())
                                if bit:
                                    out.append(Clause(bit, question, n))
    return out


# --- signals in one clause --------------------------------------------------------------------------------

_DETERMINER = re.compile(
    r"(?:\b(?:a|an|the|this|that|my|your|our|each|every|final|rough|first|last|new|one more|one|two|per|no|"
    r"any)\s+)$"
)
_DONE_EDITING = re.compile(r"\b(?:done|finished|through|happy)\s+(?:with\s+)?(?:the\s+)?edit(?:ing|s)?\b")
_SHOW_ME = re.compile(r"\bshow\s+(?:me|us)\b")
_ZH_CONDITION = re.compile(
    r"(?:弄|做|剪|加|处理|改|搞)(?:好|完)(?:了)?(?:的话|就|之后|以后)?(?=$|[,，。]|的话|就|之后|以后|直接|给|发|出)|搞定"
)


def _is_verb(text: str, m: re.Match[str]) -> bool:
    """Not a noun after a determiner ("the render", "that edit", "final cut")."""
    return not _DETERMINER.search(text[: m.start()])


def _content(text: str, m: re.Match[str]) -> bool:
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


def _keywords(lexicon: Words, text: str, *, verbs: bool = True) -> list[re.Match[str]]:
    """Matches of `lexicon` that are not content (nor, for `verbs`, nouns after a determiner)."""
    return [m for m in lexicon.find(text) if not _content(text, m) and (not verbs or _is_verb(text, m))]


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


_NO_EDIT = re.compile(
    r"\b(?:nothing (?:else )?to|no more|don'?t|do not|no need to|without)\s+(?:\w+\s+)?(?=\w)|"
    r"(?:不|别|没|无需|不用|不再)(?=[改剪加调动换删弄])"
)


_STATEMENT_DONE = re.compile(
    r"\b(?:is|'s|are|looks?)\s+(?:all\s+)?(?:done|finished|ready|good|fine|perfect|great|final|locked)\b"
)


def _edit(text: str) -> Edit:
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
        if _is_verb(text, m) and not _SHOW_ME.match(text, m.start())
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
        zh = [m for m in _w("edit", "verbs_zh").find(text) if not _ZH_CONDITION.match(text, m.start())]
        strong += zh
        nouns = nouns or _w("edit", "nouns_zh").any(text)
    if weak_verbs and (nouns or "«q»" in text):
        strong += weak_verbs  # "put «q» at the end", "show the title": an object of the video
    return Edit(strong=sorted(strong, key=lambda m: m.start()), weak=nouns)


def _after_deliverable(rest: str) -> bool:
    rest = rest.strip(" !.?,")
    if not rest:
        return True
    hit = _w("export", "after_deliverable_en").first(rest)
    return hit is not None and hit.start() == 0


def _deliverable_at(text: str, pos: int) -> int | None:
    """End of one or two deliverable words at `pos` (after optional determiners and adjectives)."""
    obj = re.match(
        r"\s*(?:(?:me|us|you|myself)\s+)?(?:(?:over|back)\s+)?(?:(?:a|an|the|my|our|that|this|your|final|"
        r"finished|full|whole|completed|edited|new|shareable|download|\d+p|hd|4k|official|real|"
        r"proper)\s+){0,3}",
        text[pos:],
    )
    at = pos + (obj.end() if obj else 0)
    end = None
    for _ in range(2):
        m = _w("export", "deliverables_en").at(text, at)
        if m is None:
            break
        end = at = m.end()
        at += len(text[at:]) - len(text[at:].lstrip())
    return end


def _object_is_video(text: str, verb: re.Match[str]) -> bool:
    """The object of an export verb is the video (or there is none): "export it", "render to PATH",
    "export a trimmed clip", not "render the title in gold" or "export the subtitles as SRT"."""
    rest = text[verb.end() :].strip(" ,.!")
    if not rest:
        return True
    if _w("export", "other_outputs").any(rest[:40]):
        return False
    head = re.findall(r"[\w«»'-]+", rest)[:4]
    for word in head:
        if word in ("the", "my", "a", "an", "this", "that", "our", "your"):
            continue
        if _w("export", "objects_en").any(word) or _w("export", "deliverables_en").any(word):
            return True
        if _w("edit", "nouns_en").any(word) and not word.endswith("ed"):
            return False  # "render the title in gold": an on-screen element, edited
    return not head or not _w("edit", "nouns_en").any(head[0])


_ZH_GIVE = re.compile(
    r"(?<![上导])(?:给|发|传|甩|丢|send|拿)\s*我?\s*(?:个|条|份|一个|一份|一下)?\s*(?:成片|成品|视频|文件|mp4|链接|片子|条片|影片|最终版|final|"
    r"file)"
    r"|(?:成片|成品|视频|文件|mp4|片子|条片|最终版|最终稿|链接)\s*(?:给|发|传|甩|丢|send)\s*(?:给)?\s*我"
)


def _export_request(text: str, edit: Edit) -> re.Match[str] | None:
    """Where `text` asks for the finished file, or None."""
    dest = re.search("«dest»", text)
    if dest:
        return dest
    hits: list[re.Match[str]] = []
    for m in _keywords(_w("export", "verbs_en"), text):
        if _object_is_video(text, m):
            hits.append(m)
    if has_cjk(text):
        for m in _keywords(_w("export", "zh"), text):
            if text[m.end() : m.end() + 2].startswith(("前", "之前")):
                continue  # "下载前先确认一下": before the download, a condition
            if not _w("export", "other_outputs").any(text[m.end() : m.end() + 8]):
                hits.append(m)
        zh_edit_after = [
            e for e in _w("edit", "verbs_zh").find(text) if not _ZH_CONDITION.match(text, e.start())
        ]
        bare = re.search(r"(?:发我|发给我|传我|传给我|甩我|丢我|丢给我|给我)\s*(?:吧|啦|哈|呀|哦)?\s*$", text)
        other = _w("export", "other_outputs").any(text)
        if bare and not other and not (bare.group(0).startswith("给我") and zh_edit_after):
            hits.append(bare)  # "做完直接发我": the result, sent
        for m in _ZH_GIVE.finditer(text):
            if not other and not any(e.start() >= m.end() for e in zh_edit_after):
                hits.append(m)  # "给条片我", "成片丢我邮箱", "send 我个 mp4"
        for m in _w("export", "give_zh").find(text):
            window = text[max(0, m.start() - 10) : m.end() + 10]
            if (
                _w("export", "deliverables_zh").any(window)
                and not any(e.start() > m.end() for e in zh_edit_after)
                and not _w("export", "other_outputs").any(window)
            ):
                hits.append(m)
        hits += _w("export", "generate_final_zh").find(text)
    for m in _w("export", "give_en").find(text):
        end = _deliverable_at(text, m.end())
        if (
            end is not None
            and _after_deliverable(text[end:])
            and not _w("export", "other_outputs").any(text[m.end() : end + 20])
        ):
            hits.append(m)
    for m in _w("export", "give_it_en").find(text):
        if _after_deliverable(text[m.end() :]):
            hits.append(m)
    if re.fullmatch(
        r"(?:(?:ok|okay|yes|yep|so|just|now|the|a|my|your|final|finished|then|and)\s+)*(?:mp4|file|"
        r"final file|"
        r"final version|final cut|video file|final video|the file|master|master file|deliverables?|the goods)"
        r"(?:\s+(?:please|pls|plz|now|asap|thanks|then))*[!. ]*",
        text,
    ):
        hits.append(re.match(r"\S+", text))  # type: ignore[arg-type]
    device = _w("export", "devices_en", "devices_zh").first(text)
    telling = re.match(r"(?:i have|i've|ive|i just|i already|i put|i saved|我把|我已经|已经|刚)", text)
    placing = re.search(
        r"\b(?:save|put|get|keep|copy|download|store|onto|to my|on my|watch|play|stick|place|drop|dump|"
        r"move)\b|存|保存|放|下载|看",
        text,
    )
    if device and not telling and placing:
        # the placing verb is part of the request: "stick the final on my thumb drive"
        return device if not edit.before(placing.start()) else None
    live = [m for m in hits if not edit.before(m.start(), inside=m)]
    return min(live, key=lambda m: m.start()) if live else None


_ZH_QUESTION = re.compile(
    r"(?:吗|呢|么|嘛|没有|没|了没|未)\s*$|多少|多久|什么|啥|哪|够不够|够吗|是不是|要不要|扣不扣|收不收|咋|怎样|"
    r"怎么样|如何|几(?:次|个|点|条|秒|分钟|%|成|步)|有没有|是否|可以吗|能吗|行吗|好吗"
)


def _asks(text: str, question: bool) -> bool:
    if question:
        return True
    first = re.match(r"[a-z']+", text)
    if first and _w("questions", "open_en").any(first.group(0)):
        return True
    return has_cjk(text) and bool(_ZH_QUESTION.search(text))


def _money(text: str, asks: bool, edit: Edit) -> bool:
    hits = _keywords(_w("credits", "words_en", "words_zh"), text, verbs=False)
    if hits:
        first = hits[0]
        # "credit the photographer", "balance the audio": the word used as a verb
        if (
            first.start() == 0
            and first.group(0) in ("credit", "credits", "balance", "ballance")
            and re.match(
                r"\s+(?:the|a|an|my|his|her|their|our|every|all|it|them|this|that|out|\w+'s)\b",
                text[first.end() :],
            )
        ):
            return False
        if edit.before(first.start()) and not asks:
            return False
        if asks:
            return True
        if re.match(
            r"(?:please\s+)?(?:check|show|tell|see|look up|what'?s|quote|estimate|查|看|告诉|问|算)", text
        ):
            return True
        return not edit.strong  # "balance", "credits left", "积分"
    if not asks:
        return False
    if _w("credits", "left_en", "left_zh").any(text):
        return not re.search(
            r"how many (?:clips|tracks|files|scenes|shots|videos|cuts|seconds|frames)|how long|"
            r"how much longer|多久",
            text,
        )
    return bool(
        re.search(r"\bhow much (?:is|are|was|would|will|does|did|do)\b(?! it take)", text)
    ) and not re.search(r"\bhow much (?:longer|time|more time)\b", text)


_COMPLETION_OPENERS = re.compile(
    r"(?:is|are|was|were|did|has|have|r|am|any|you|u|do|does)\b|(?:done|finished|ready|complete)\b|"
    r"(?:still working|still processing|still rendering|still running|how'?s it going|hows it going|"
    r"how is it going|how'?s the|hows the|how is the|how is my|how'?s my|how far|anything happening|"
    r"what'?s happening|eta|where are we|how (?:much )?long(?:er)?|how soon|when will)\b"
)


def _content_question(text: str) -> bool:
    return _w("questions", "content_question_en").any(text) or (
        has_cjk(text) and _w("questions", "content_question_zh").any(text)
    )


def _status(text: str, asks: bool, edit: Edit) -> bool:
    if re.match(
        r"(?:what did you change|what changed|what have we got|where are we at|what have you done)\b", text
    ):
        return True
    words = _keywords(_w("status", "words_en", "words_zh"), text)
    if words and not edit.before(words[0].start()):
        return True
    if has_cjk(text):
        found = _w("status", "completion_zh").find(text)
        done = found[-1] if found else None
        # the verb right before the completion belongs to it: "弄好了吗", "剪到哪了"
        at_end = (
            done is not None and len(text) - done.end() <= 3
        )  # "edit 完成了吗": the question it ends with
        if done is not None and not _content_question(text) and (at_end or not edit.before(done.start() - 2)):
            return True
        if (
            _w("status", "view_objects_zh").any(text)
            and _w("status", "view_zh").any(text)
            and (asks or re.search(r"看|列|说|给我", text))
        ):
            return True
    if (
        _COMPLETION_OPENERS.match(text)
        and (
            _w("status", "completion_en").any(text)
            or re.match(r"(?:still|how|eta|any|where are we|when will)", text)
        )
        and (
            asks
            and not _content_question(text)
            and not re.match(r"(?:can|could|would|will)\s+(?:you|u|i|we|it)\b", text)
        )
    ):
        return True
    if _w("status", "view_objects_en").any(text) and (
        asks or re.search(r"\b(?:show|list|tell|let me see|give me)\b|^what|\bwhat'?s on\b", text)
    ):
        return not _content_question(text) and not edit.strong
    return False


_HOLD_ALONE = re.compile(
    r"(?:(?:ok|okay|but|please|oh|no|hmm|and)\s+)*(?:not yet|not now|wait|hold on|hang on|hold up|one sec|"
    r"stop|nope|"
    r"等等|等一下|先等等|等会|先等一下|先不|先别|先放着)[!.~ ]*"
)
_EXPORT_WORDS = re.compile(
    r"\b(?:export\w*|download\w*|render\w*|dl|(?:send|give|hand|share)\s+(?:it|me|us|that|the\s+\w+|over)"
    r"(?:\s+(?:the\s+)?(?:file|video|mp4|over))?|the file|file|files)\b|"
    r"导出|汇出|下载|出片|渲染|导|给我|发我|文件|成片"
)


def _hold(text: str) -> re.Match[str] | None:
    """The export word the clause holds back ("don't export yet", 先别出片), or a bare hold ("not yet")."""
    if _HOLD_ALONE.fullmatch(text):
        return re.match(r"", text)
    for m in _EXPORT_WORDS.finditer(text):
        if _content(text, m):
            continue
        if _w("hold", "en", "zh").any(text[max(0, m.start() - 40) : m.start()]):
            return m
        after = text[m.end() :]
        if re.search(r"\b(?:yet|later|for now|until|not now)\b|先|暂时|再说|以后", after) and re.search(
            r"\b(?:not|don'?t|no|hold|wait)\b|不|别", text
        ):
            return m
    return None


# An edit whose result is named as a file format: "convert the demo into a 1080p MP4", "转成 1080p 的 MP4".
_INTO_FILE = re.compile(
    r"\b(?:into|to|as)\s+(?:an?\s+|the\s+|one\s+)?(?:[\w:-]+\s+){0,3}(?:mp4|mov|webm)(?:\s+(?:file|video))?\s*$"
    r"|(?:转成|转为|转换成|转换为|做成|弄成|输出成|输出为|存成|保存为|保存成)[^，。,;；]{0,12}?(?:mp4|mov|webm)(?:文件|视频)?\s*$"
)


@dataclass
class Reading:
    """What one clause says."""

    text: str
    question: bool
    sentence: int
    step: Intent | None = None
    also_export: bool = False  # an edit whose result is the file: "convert it into a 1080p MP4"
    hold: bool = False
    edit: Edit = field(default_factory=lambda: Edit([], False))


def read(clause: Clause) -> Reading:
    text = clause.text
    r = Reading(text, clause.question, clause.sentence, edit=_edit(text))
    asks = _asks(text, clause.question)
    held = _hold(text)
    if held is not None:
        r.hold = True
        r.edit = _edit(text[: held.start()] + " " + text[held.end() :])
        if r.edit.strong:
            r.step = Intent.AGENT
        return r
    ability = _w("edit", "ability_en").any(text) or (has_cjk(text) and _w("edit", "ability_zh").any(text))
    export = _export_request(text, r.edit)
    if asks and _content_question(text):
        r.step = Intent.AGENT  # what is in the video: "视频里有没有说到价格？"
    elif _money(text, asks, r.edit):
        r.step = Intent.CREDITS
    elif asks and ability and (r.edit.strong or not export):
        r.step = Intent.AGENT
    elif _status(text, asks, r.edit):
        r.step = Intent.STATUS
    elif export is not None:
        r.step = Intent.EXPORT
    elif r.edit.any or ability:
        r.step = Intent.AGENT
    if r.step in (Intent.AGENT, None) and _INTO_FILE.search(text):
        r.step, r.also_export = Intent.AGENT, True
    return r


def _follow_on(readings: list[Reading]) -> None:
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
        if cur.step is not None:
            lead = cur


# --- with files handed over -------------------------------------------------------------------------------

_HANDOVER_EN = re.compile(
    r"\b(?:add|adding|put|grab|use|using|load|attach|attaching|throw in|import|upload|include|drop)\b"
    r"(?:(?:\s+[\w'-]+){0,5}?\s*[:：]?\s*(?=«file»)|\s+(?:this|these|it|them|that)\s+(?:to|in|into)\s+(?:the|"
    r"my)\s+"
    r"(?:project|media\s+bin|bin|timeline|library)\b)"
)
_HANDOVER_ZH = re.compile(
    r"(?:加上|加进去|加进来|加一下|加个|加一个|加|用这个|放进去|补一个|补上|补|传一下|传个|上传|放在|上穿|传上去)"
    r"(?:(?!当|作为|做成|放在|放到|换成|替换)[^，。,;；]){0,12}?\s*[:：]?\s*(?=«file»)"
)
_AFTER_FILE = re.compile(
    r"(?<=«file»)\s*(?:(?:也要|加进去|加上|也传上去|传上去)(?=\s*$|[,，。!！?？])|(?:to|in|into)\s+(?:the|my)\s+"
    r"(?:project|media\s+bin|bin|timeline|library))"
)
# What describes a handed-over file ("刚导出的素材 ~/a.mov", "余额宝广告的素材", "the podcast intro sting:"):
# the words before the path, in its clause, are its name.
_FILE_LABEL = re.compile(r"(?:^|(?<=[,，。;；]))[^,，。;；]*?(?=\s*[:：]?\s*«file»)")


def _without_handover(text: str) -> str:
    return _AFTER_FILE.sub(" ", _HANDOVER_ZH.sub(" ", _HANDOVER_EN.sub(" ", text)))


_ROLE = re.compile(
    r"(?:bgm|背景音乐|配乐|片头|片尾|封面|水印|logo)\s*用这|用这\S?(?:首|段|个)?\s*(?:当|做|作为)"
)


def _role(text: str) -> bool:
    """The file's role in the edit is named: "BGM 用这首 «file»", "用这个当片头"."""
    return bool(_ROLE.search(text))


def _describes_file(clause: str) -> bool:
    """A clause that only names a handed-over file: its words end at the path and hold no request."""
    if "«file»" not in clause:
        return False
    before, _, after = clause.partition("«file»")
    tail = after.replace("«file»", " ").strip(" ,，。.:：;；-—")
    if tail and not re.fullmatch(r"(?:(?:and|跟|和|vs|&)?\s*)*(?:that'?s all(?: for now)?|here)?", tail):
        return False
    short_label = (
        len(re.findall(r"[a-z']+|[\u4e00-\u9fff]", before)) <= 4
        and not re.search(r"把|帮|请|给|用", before)
        and not _w("edit", "verbs_en").any(before)
    )
    if (
        _edit(before).strong
        and not short_label
        and not re.search(r"的(?:素材|视频|文件|图|图片|音频)?\s*[:：]?\s*$", before)
    ):
        return False  # "summarize this meeting for me: «file»", "swap the music for «file»"
    if _role(before):
        return False  # "BGM 用这首 «file»": how to use it
    return not re.search(
        r"\b(?:then|and then|export\w*|download\w*|render\w*)\b|然后|导出|下载|出片|渲染", before
    ) or bool(re.search(r"的(?:素材|视频|文件|图|图片|音频)?\s*$|[:：]\s*$", before))


def _placed(text: str) -> bool:
    """Where or how to use a handed-over file: "as background music", "at the end", 当水印."""
    for m in _w("with_files", "placement_en", "placement_zh").find(text):
        if not text[m.end() :].lstrip().startswith("«file»"):
            return True
    return False


# --- the whole instruction ----------------------------------------------------------------------------------


_LEAD_HANDOVER = re.compile(
    r"^(?:(?:please|pls|ok|okay|so)\s+)*"
    r"(?:upload(?:ing)?|import|attach|here(?:'s| is| you go)|heres|上传|导入|传一下|这是|这个是)"
    r"(?:\s+(?:this|these|it|them|the file|the files))?\s*(?:[:：,，]|\band\b|\bthen\b|然后|并且)?\s*",
    re.IGNORECASE,
)


# An upload asked for in words only: the file has to come through `media` / upload_media, not the chat.
_UPLOAD_WISH = re.compile(r"(?<![\w«-])(?:upload|import|attach)(?:ing)?\b(?![-«])|上传|导入")


def _agent_text(text: str, had_files: bool) -> str:
    """What the agent gets: the instruction without the uploaded paths and the words that only handed them
    over ("upload ~/a.mp4 and add a title" -> "add a title")."""
    return _LEAD_HANDOVER.sub("", text).strip() if had_files else text


def normalise(found_masked: str) -> str:
    return mend(_mask_colon(_mandarin(fold(_mask(found_masked)))))


def route(instruction: str) -> Route:
    """Route one instruction. Never raises; an empty instruction is a status request."""
    raw = instruction.strip()
    if not raw:
        return Route(steps=(Intent.STATUS,))
    found = find(raw)
    text = normalise(found.masked)
    if found.sources:
        text = _without_handover(text)
    clauses = split_clauses(text)
    readings = [
        Reading(c.text, c.question, c.sentence) if found.sources and _describes_file(c.text) else read(c)
        for c in clauses
    ]
    _follow_on(readings)
    deferred = any(r.hold for r in readings)
    steps: list[Intent] = []
    for r in readings:
        if r.step is not None and r.step not in steps and not (r.step is Intent.EXPORT and deferred):
            steps.append(r.step)
        if r.also_export and Intent.EXPORT not in steps and not deferred:
            steps.append(Intent.EXPORT)
    if found.sources:
        rest = " ".join(r.text for r in readings if "«file»" in r.text)
        if Intent.AGENT not in steps and (
            _placed(rest) or any(r.question and r.step is None for r in readings)
        ):
            steps.append(Intent.AGENT)
        if (
            Intent.AGENT in steps
            and not any(r.edit.strong for r in readings if r.step is Intent.AGENT)
            and not _placed(rest)
            and not any(r.question for r in readings)
            and not _role(rest)
        ):
            steps.remove(Intent.AGENT)  # "BGM 在这 ~/a.mp3": naming what the file is, not an edit
    if (
        Intent.AGENT in steps
        and Intent.EXPORT in steps
        and steps.index(Intent.EXPORT) < steps.index(Intent.AGENT)
    ):
        steps.remove(Intent.EXPORT)  # never a render of the timeline before the edit asked for with it
        steps.append(Intent.EXPORT)
    if found.destination and Intent.EXPORT not in steps and not deferred:
        steps.append(Intent.EXPORT)
    if found.sources:
        steps.insert(0, Intent.UPLOAD)
    if not steps:
        steps = [Intent.STATUS] if deferred else [Intent.AGENT]
    wants_file = (
        not found.sources
        and steps == [Intent.AGENT]
        and not any(r.edit.strong for r in readings)
        and any(_UPLOAD_WISH.search(r.text) for r in readings)
    )
    return Route(
        steps=tuple(steps),
        sources=tuple(found.sources),
        destination=found.destination,
        deferred=deferred,
        wants_file=wants_file,
        agent_text=_agent_text(found.text, bool(found.sources)) or raw,
        clauses=tuple(f"{r.step or '-'}{'/hold' if r.hold else ''}: {r.text}" for r in readings),
    )
