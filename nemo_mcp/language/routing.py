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

from nemo_mcp.language.guess import guess
from nemo_mcp.language.lexicon import Words, data, words
from nemo_mcp.language.normalize import fold, has_cjk, mandarin
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


# --- clauses -------------------------------------------------------------------------------------------

# A full stop inside a word ("final.mp4", "v2.1") does not end the sentence.
_SENTENCE_RE = re.compile(r"(?:[^.!?。！？；;\n]|\.(?=[^\s.]))+(?:(?:[!?。！？；;\n]|\.(?![^\s.]))+|$)")
_COMMA_RE = re.compile(
    r"\s+(?=(?:because|cause|cuz|coz|since|as)\s+(?:my|our|i|we|he|she|they)\b)|\s*[,，、]\s*|\s+-+\s+|"
    r"\s*[—–]+\s*|\s*(?:->|→)\s*|\s+but\s+|但是|不过|\s+also\s+"
)
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
_LEADING = re.compile(
    r"^(?:(?:and then|then|and|also|so|plus|but|after that|afterwards|&|\+)\s+)+"
    r"|^(?:然后|再|并且|还有|另外)\s*"
)


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


_CJK_SPACE = re.compile(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")


def split_clauses(text: str) -> list[Clause]:
    text = _CJK_SPACE.sub("，", text)  # Chinese chat uses a space where a comma would go
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
    r"(?:弄|做|剪|加|处理|改|搞|调|修|拼)(?:好|完)(?:了)?(?:的话|就|之后|以后)?(?=$|[,，。]|的话|就|之后|以后|直接|给|发|出)|搞定|"
    r"(?:做|剪|弄|处理|调|修|改)(?:好|完)的"  # "做好的视频": the finished video
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
    r"|(?:可以了|行了|没问题了?|挺好的?|不错|满意了?|ok了|好了)\s*[!！~。]*$"
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
    """What follows a deliverable leaves the request one for the file: "now please", "for opposing
    counsel", "leh", "can or not" — but not an edit ("the file with the logo removed")."""
    rest = rest.strip(" !.?,")
    if not rest:
        return True
    hit = _w("export", "after_deliverable_en").first(rest)
    if hit is not None and hit.start() == 0:
        return True
    return (
        len(rest.split()) <= 6
        and not _edit(rest).any
        and not _w("export", "other_outputs").any(rest)
        and not re.match(r"(?:of|from|with|without|where|that|which|showing|about)\b", rest)
    )


_LEAD_WORDS = re.compile(
    r"\s*(?:(?:me|us|you|myself)\s+)?(?:(?:over|back)\s+)?((?:(?:a|an|the|my|our|that|this|your|final|"
    r"finished|full|whole|completed|edited|new|shareable|download|\d+p|hd|4k|official|real|all|both|"
    r"two|three|four|five|\d+|proper)\s+){0,3})"
)


def _deliverable_at(text: str, pos: int) -> int | None:
    """End of one or two deliverable words at `pos`, after optional determiners and adjectives (one of
    which may be the deliverable itself: "produce the final for counsel")."""
    lead = _LEAD_WORDS.match(text, pos)
    assert lead is not None  # every part is optional
    starts = [lead.end()]
    for word in reversed(list(re.finditer(r"\S+\s+", lead.group(1)))):
        starts.append(lead.start(1) + word.start())
    for at in starts:
        end = None
        for _ in range(2):
            m = _w("export", "deliverables_en").at(text, at)
            if m is None:
                break
            end = at = m.end()
            at += len(text[at:]) - len(text[at:].lstrip())
        if end is not None:
            return end
    return None


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


_ZH_FILE = r"(?:成片|成品|视频文件|视频|文件|档案|档|mp4|链接|片子|条片|影片|最终版|最终稿|终版|final|file)"
_ZH_GIVE = re.compile(
    rf"(?<![上导])(?:给\s*我|(?:发|传|甩|丢|send|拿)\s*我?)\s*(?:个|条|份|支|一个|一份|一支|一下)?\s*{_ZH_FILE}"
    rf"|{_ZH_FILE}\s*(?:给|发|传|甩|丢|send)\s*(?:给)?\s*我"
    rf"|给\s*(?:条|个|份|支)?\s*{_ZH_FILE}\s*我"  # Cantonese order: 俾條片我
    rf"|{_ZH_FILE}\s*拿来(?!用|做|当)"  # "最终稿拿来"
    r"|^(?:先|直接|马上|现在|就)?\s*(?:渲染|导出|出片|汇出)\s*(?:吧|一下|了|啦)?$"  # "先渲染"
    r"|^导\s*(?:个|一个|一版|一支)?\s*(?:4k|1080p?|720p?|高清|mp4)"  # "导 4k"
    r"|(?:那|这)\s*(?:支|条|个|份)[^，。,]{0,8}?(?:可以)?给我"  # "喜宴那支可以给我了吗"
    # "给我一个可以直接传 YouTube 的档案"
    rf"|给我\s*(?:一|两)?\s*(?:个|份|支|条)[^，。,]{{0,16}}?的?\s*{_ZH_FILE}"
    # "把成片弄出来", "文件吐出来", "视频文件发过来", "把视频给我"
    rf"|{_ZH_FILE}\s*(?:弄|搞|导|拿|吐|交|发|传|拷|存|send)\s*(?:出来|过来|给我|上来|下来)"
    rf"|把\s*(?:这个|这条|整个|那个|最终的?|做好的|剪好的)?\s*{_ZH_FILE}\s*(?:给|发|传|交)(?:给)?我"
    # "把三条切片都给我": what was made, handed over (给我 ends the clause: not "把 logo 给我去掉")
    r"|把[^，。,]{1,10}?(?:都|全)?(?:给|发|传|交)(?:给)?我\s*(?:吧|啦|哈|呀|哦)?$"
    # "全部给我", "都发我": all of it, handed over
    r"|^(?:那就|就|那)?\s*(?:全部|都|统统|全都|所有的?)\s*(?:发|给|传)(?:给)?我"
    # "出 file", "出个 mp4"
    r"|(?<![a-z])出\s*(?:个|条|份|支)?\s*(?:file|mp4|成片|成品)"
    # "出一支 4K 给我", "导一个竖屏的给我", "传一份到我手机", "整理一支完整档给他们"
    r"|(?:出|导|传|发|整理|弄)\s*(?:一|两|三|几)?\s*(?:支|份|个|条|版)[^，。,]{0,12}?(?:给(?:我|他们|她|他)|到我|发我)"
    r"|(?:给我|发我)\s*(?:导|出|传)\s*(?:一|两|三)?\s*(?:支|份|个|条|版)"
    # "发到我手机上", "发我微信", "AirDrop 到我的 iPhone", "发我邮箱"
    r"|(?:发|传|送|存|airdrop|拷)\s*(?:到|去|进|给)?\s*我?[^，。,]{0,5}?的?\s*(?:手机|iphone|ipad|电脑|微信|邮箱|line|whatsapp|"
    r"相册|u盘|硬盘|网盘|云盘|随身碟)"
)


_SYMBOLS = re.compile(r"[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F]")  # emoji: "mp4 please 🙏"


# "put the finished tour in my listings share", "drop the final cut into the client folder"
_PLACE_FINISHED = re.compile(
    r"\b(?:put|place|drop|save|copy|move|stick|store)\s+(?:the|my|our|this|that)\s+(?:finished|final|"
    r"completed|"
    r"exported|rendered|edited)\s+\w+(?:\s+\w+)?\s+(?:in|into|on|onto|to)\b"
)
# "dont expert it yet", "can u expert the Hoi An one": the keyboard slip for export, with its object
_EXPERT_SLIP = re.compile(
    r"(?:\b(?:can|could|pls|please|dont|don't|do not|u|you)\s+)expert\s+(?:it|the|this|that|my|them)\b"
)
# "ok send", "Final. Send.", "gimme", "then files", "ship it"
_BARE_SEND = re.compile(
    r"(?:(?:ok|okay|yes|yep|yeah|final|then|now|just|so|its perfect|it's perfect|perfect|great|good|done|"
    r"alright)"
    r"[\s,.!]+)*(?:send|send it|send it over|send over|send both|send them|send all|ship|ship it|gimme|"
    r"give me|"
    r"files|the files|hand it over|exp|exp after|exp \d+p|export after)"
    r"(?:\s+(?:now|please|pls|plz|it|over|thx|thanks))*"
)
# "just need something ready to post by noon", "give me one I can upload to YouTube"
_READY_TO_POST = re.compile(
    r"\b(?:need|want|give me|send me|get me|have)\s+(?:\w+\s+){0,3}?(?:ready|good) to (?:post|upload|share|"
    r"publish|"
    r"go|send|air|put up)\b|\b(?:one|a file|a version|something) (?:i|we) can (?:post|upload|put up|share)\b"
)
# "然后可以出了", "可以导了", "出吧"
_CAN_OUTPUT_ZH = re.compile(r"(?:可以|能|就)(?:出|导|发)了\s*[吧啊呀哈]?\s*$|^出吧")
# "send me the lecture when it's ready": the video, named by what it is
_SEND_ME_THE = re.compile(
    r"\b(?:send|give|hand|pass|shoot|get|email|mail|airdrop|text)\s+(?:me|us)\s+(?:the|my|our|that|this|"
    r"both|all)\s+"
    r"(?:\w+\s+){0,2}?(?P<what>lecture|lectures|tour|tours|recap|promo|ad|reel|reels|highlights?|trailer|"
    r"teaser|"
    r"vlog|montage|slideshow|episode|ep|walkthrough|interview|video|videos|film|clip|clips|cut|cuts|edit|"
    r"version|versions|files?|mp4s?|thing|one|ones)\b"
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
            if m.group(0) == "要" and text[m.end() : m.end() + 1] in "用加剪放做改换拿":
                continue  # "影片都要用": to be used in the edit
            window = text[max(0, m.start() - 10) : m.end() + 10]
            if (
                _w("export", "deliverables_zh").any(window)
                and not any(e.start() > m.end() for e in zh_edit_after)
                and not _w("export", "other_outputs").any(window)
            ):
                hits.append(m)
        hits += _w("export", "generate_final_zh").find(text)
    for m in _w("export", "give_en").find(text):
        before = text[: m.start()]
        if m.group(0) in ("need", "want", "needs", "wants") and re.search(
            r"\b(?!i\b|we\b)(?:they|he|she|[a-z]+s)\s+$", before
        ):
            continue  # "the students need it by Thursday": a deadline, not a request
        if (
            m.group(0) in ("have", "get", "keep")
            and re.search(r"\b(?:i|we|i'?ve|we'?ve)\s+(?:already\s+|just\s+|also\s+)?$", before)
            and not re.search(r"\b(?:can|could|may|might|would|will|shall|let|'d)\s+(?:i|we)\s+$", before)
        ):
            continue  # "I have the link to the film": what the user has, told
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
        r"(?:(?:ok|okay|yes|yep|so|just|now|the|a|my|your|final|finished|then|and)\s+)*(?:mp4|mp4s|file|"
        r"final file|"
        r"final version|final cut|video file|final video|the file|master|master file|deliverables?|the goods)"
        r"(?:\s+(?:please|pls|plz|now|asap|thanks|then))*[!. ]*",
        _SYMBOLS.sub("", text).strip(),
    ):
        hits.append(re.match(r"\S+", text))  # type: ignore[arg-type]
    plain = _SYMBOLS.sub("", text).strip(" .!~")
    slip = _EXPERT_SLIP.search(text)
    if slip:
        hits.append(slip)
    if _BARE_SEND.fullmatch(plain) or _READY_TO_POST.search(text) or _CAN_OUTPUT_ZH.search(text):
        hits.append(re.match(r"\S*", text))  # type: ignore[arg-type]
    for m in _SEND_ME_THE.finditer(text):
        if not _w("export", "other_outputs").any(m.group("what")) and not _w("edit", "verbs_en").any(
            text[m.end() :]
        ):
            hits.append(m)
    placed = _PLACE_FINISHED.search(text)
    if placed:
        hits.append(placed)
    device = _w("export", "devices_en", "devices_zh").first(text)
    telling = re.match(r"(?:i have|i've|ive|i just|i already|i put|i saved|我把|我已经|已经|刚)", text)
    placing = re.search(
        r"\b(?:save|put|get|keep|copy|download|store|onto|to my|on my|watch|play|stick|place|drop|dump|"
        r"move)\b|存|保存|放|下载|看|拿到|弄到|传到|拷到",
        text,
    )
    if device and not telling and placing:
        # the placing verb is part of the request: "stick the final on my thumb drive"
        return device if not edit.before(placing.start()) else None
    live = [m for m in hits if not edit.before(m.start(), inside=m)]
    return min(live, key=lambda m: m.start()) if live else None


_ZH_QUESTION = re.compile(
    r"(?:吗|呢|么|嘛|没有|没|了没|未)\s*$|多少|多久|什么|啥|哪|够不够|够吗|是不是|要不要|扣不扣|收不收|咋|怎样|"
    r"怎么样|如何|几(?:次|个|点|条|秒|分钟|%|成|步|长|段)|多长|有没有|是否|可以吗|能吗|行吗|好吗"
)


_AUX = re.compile(r"\s*(?:will|is|are|was|were|does|do|did|can|could|should|would|has|have|'s|'ll|am|r|u)\b")


def _asks(text: str, question: bool) -> bool:
    if question:
        return True
    first = re.match(r"(?:(?:wait|ok|okay|so|hmm|um|and|but|btw|also|oh|hey|tf|wtf)\s+)*([a-z']+)", text)
    if (
        first
        and first.group(1) != first.group(0).split()[0]
        and _w("questions", "open_en").any(first.group(1))
    ):
        return True  # "wait how much does that cost", "tf is my balance"
    first = re.match(r"[a-z']+", text)
    if first and first.group(0) in ("tf", "wtf"):
        return True
    if first and _w("questions", "open_en").any(first.group(0)):
        # "when the deponent reads out the balance, mute it": a time, not a question
        return not (first.group(0) in ("when", "where") and not _AUX.match(text, first.end()))
    return has_cjk(text) and bool(_ZH_QUESTION.search(text))


_CHECK_MONEY = re.compile(
    r"\b(?:credits?|balance)\s+(?:check|status|info|update|left|remaining|count)\b|"
    r"\b(?:check|see|show|tell me|know|find out|look up|confirm|verify)\b(?:\s+\S+){0,3}?\s+(?:credits?|"
    r"balance)\b|\b(?:share|send|give me|tell me|show me)\b(?:\s+\S+){0,2}?\s+(?:cost|price|pricing)\b"
)


def _short(text: str) -> bool:
    """A few words at most: a request by name ("balance?", "my credits please", "余额")."""
    return len(re.findall(r"[a-z0-9'«»]+", text)) + len(re.findall(r"[\u4e00-\u9fff]", text)) / 2 <= 4


def _money(text: str, asks: bool, edit: Edit) -> bool:
    hits = _keywords(_w("credits", "words_en", "words_zh"), text, verbs=False)
    if hits:
        first = hits[0]
        # "credit the photographer", "balance the audio": the word used as a verb
        if first.start() == 0 and (
            # "credit Coach Alvarez on the last slide", "balance the audio": the word used as a verb
            (
                first.group(0) in ("credit", "balance", "ballance")
                and re.match(
                    r"\s+(?!left|remaining|check|please|pls|now|info|amount|status|pls)[a-z]",
                    text[first.end() :],
                )
            )
            or (
                first.group(0) == "credits"
                and re.match(
                    r"\s+(?:the|a|an|my|his|her|their|our|every|all|it|them|this|that|out|\w+'s)\b",
                    text[first.end() :],
                )
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
        if _CHECK_MONEY.search(text):
            return True  # "credit check before I go on", "I need to know my balance first"
        # "balance", "credits left", "积分", "my balance please"; a longer statement naming a balance or
        # credits ("the offering mentions the building fund balance") is about the video
        return not edit.strong and (_short(text) or _w("credits", "left_en", "left_zh").any(text))
    if not asks:
        return False
    if _w("credits", "left_en", "left_zh").any(text):
        return not re.search(
            r"how many (?:clips|tracks|files|scenes|shots|videos|cuts|seconds|frames)|how long|"
            r"how much longer|多久",
            text,
        )
    # "how much would a 4K export be", "how much ah one minute of AI voice": a price asked
    return bool(
        re.search(r"\bhow much\b(?! (?:longer|time|more time|of (?:the|it|this|that)\b))", text)
    ) and not (
        re.search(r"\bhow much (?:is|was|does|did) (?:it|this|that) take\b", text) or _content_question(text)
    )


_COMPLETION_OPENERS = re.compile(
    r"(?:is|are|was|were|did|has|have|r|am|any|you|u|do|does|still)\b|(?:done|finished|ready|complete)\b|"
    r"(?:still working|still processing|still rendering|still running|how'?s it going|hows it going|"
    r"how is it going|how'?s the|hows the|how is the|how is my|how'?s my|how far|anything happening|"
    r"what'?s happening|eta|where are we|how (?:much )?long(?:er)?|how soon|when will|"
    r"where(?:'s| is) (?:it|the \w+|my \w+) at)\b"
)


def _content_question(text: str) -> bool:
    return _w("questions", "content_question_en").any(text) or (
        has_cjk(text) and _w("questions", "content_question_zh").any(text)
    )


_STUCK = re.compile(
    r"\d+\s*%.{0,30}\b(?:frozen|stuck|hung|hanging|not moving|hasn'?t moved)\b|"
    r"\b(?:frozen|stuck|hung|hanging)\b.{0,30}\d+\s*%|\d+\s*%.{0,12}(?:卡|不动)|^(?:is|'s)?\s*(?:something|"
    r"anything) "
    r"(?:wrong|broken|off)\s*$|^what'?s wrong\s*$|^(?:is )?(?:it|this) (?:stuck|frozen|hung|broken)\s*$"
)


# What the project holds now: "which clips are in this edit right now?", "whats in the reel rn", "shot list of
# what's currently cut into reel 4", "里头现在有哪几个菜", "现在的视频有哪些片段"
_STATE_NOW = re.compile(
    r"\b(?:what'?s|whats|what is|what are|which (?:\w+ ){0,2}(?:are|is)|list of what'?s|shot list|what parts|"
    r"which parts)\b.{0,40}?\b(?:in|on|into)\b.{0,30}?\b(?:now|right now|rn|currently|at the moment|so far|"
    r"atm)\b|\bshot list\b|(?:现在|目前|而今)\S{0,6}?有(?:哪|什么|啥|几)"
    r"|(?:里头|里面)\S{0,4}?(?:现在|目前)\S{0,4}有"
)


_DONE_YET = re.compile(
    r"^(?:render|export|upload|edit|cut|video|file)\w*\s+(?:done|finished|ready|complete|through|up)\b|"
    r"^(?:actually\s+|so\s+|and\s+)?how(?:'s| is) (?:it|the \w+|my \w+)\s*$"
    r"|^(?:it|this)(?:'s| is) (?:done|finished|ready)\s*$|"
    r"还\s*(?:render|export|upload|渲染|导出|上传|处理)\S{0,2}(?:着|中)"
)


def _status(text: str, asks: bool, edit: Edit) -> bool:
    if asks and _DONE_YET.search(text):
        return True  # "Render done?", "how is the video? It is finished?", "仲render紧？"
    if _STATE_NOW.search(text) and not re.search(r"\b(?:add|put|insert)\b|加|放", text):
        return True
    if _STUCK.search(text) and not _content_question(text):
        return True  # "render bar frozen at 73%", "is something wrong?"
    if re.match(
        r"(?:what did you change|what changed|what have we got|where are we at|what have you done)\b", text
    ):
        return True
    words = _keywords(_w("status", "words_en", "words_zh"), text, verbs=False)  # "what's the status?"
    if words and not edit.before(words[0].start()):
        return True
    if has_cjk(text):
        found = _w("status", "completion_zh").find(text)
        done = found[-1] if found else None
        # the verb right before the completion belongs to it: "弄好了吗", "剪到哪了"
        at_end = (
            done is not None and len(text) - done.end() <= 3
        )  # "edit 完成了吗": the question it ends with
        stuck_only = (
            done is not None
            and done.group(0) in ("卡在", "卡住")
            and not (asks or re.search(r"进度|渲染|导出|上传|%|render|upload|export|转圈", text))
        )
        if (
            done is not None
            and not stuck_only
            and not _content_question(text)
            and (at_end or not edit.before(done.start()))
        ):
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
        asks
        or re.search(
            r"\b(?:show|list|tell|let me see)\b|^what|\bwhat'?s on\b|\b(?:rundown|overview|breakdown)\b", text
        )
    ):
        return not _content_question(text) and not edit.strong
    return False


_HOLD_ALONE = re.compile(
    r"(?:(?:ok|okay|but|please|oh|no|hmm|and)\s+)*(?:not yet|not now|wait|hold on|hang on|hold up|one sec|"
    r"stop|nope|(?:keep|leave)\s+it(?:\s+(?:for now|as is|like that|there|here))?|hold off|"
    r"等等|等一下|先等等|等会|先等一下|先不|先别|先放着)[!.~ ]*"
)
_EXPORT_WORDS = re.compile(
    r"(?<![a-z])(?:export\w*|download\w*|render\w*|dl|exp|print\w*|output\w*|deliver\w*|bounce\w*|ship\w*|"
    r"(?:send|give|hand|share)\s+(?:it|me|us|that|the\s+\w+|over|anything|something)"
    r"(?:\s+(?:the\s+)?(?:file|video|mp4|over))?|the file|file|files)\b|"
    r"导出|汇出|下载|出片|渲染|导|给我|发我|文件|成片|出(?=\s*(?:$|[了吧啊呀哈,，。]|来))"
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
        if re.search(
            r"\b(?:yet|later|for now|until|till|til|not now|before)\b|先|暂时|再说|以后|等我", after
        ) and re.search(r"\b(?:not|don'?t|dont|no|hold|wait|never)\b|不|别|莫|甭", text):
            return m
        # "等我确认了再出", "hold off on any output until legal clears it"
        if re.search(r"等我\S{0,8}?再$|\bhold off\b.*$", text[: m.start()]):
            return m
    return None


# An edit whose result is named as a file format: "convert the demo into a 1080p MP4", "转成 1080p 的 MP4".
_INTO_FILE = re.compile(
    r"\b(?:into|to|as)\s+(?:an?\s+|the\s+|one\s+)?(?:[\w:-]+\s+){0,3}(?:mp4|mov|webm)(?:\s+(?:file|"
    r"video))?\s*$"
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
    request: bool = False  # a request with a verb the lexicons do not know ("redact every mention")
    aside: bool = False  # a condition or a time ("before you touch it"), not a request
    hold: bool = False
    edit: Edit = field(default_factory=lambda: Edit([], False))


# Words that open a clause without being its verb, and words that are not verbs at all.
_OPENERS = (
    r"(?:(?:ok|okay|so|and|just|please|pls|plz|now|then|also|hey|hi|yo|um|uh|oh|ah|wah|alright|right|well|"
    r"kindly|quickly|first|next|finally|maybe|actually|eh|lah|leh|aiyo|alamak|ya|yah|oi|bro|sis|dude|"
    r"btw)\s+)*"
)
_NOT_A_VERB = frozenset(data("intents")["requests"]["not_verbs"])
_OBJECT = re.compile(
    r"\s+(?:the|a|an|my|our|your|this|that|these|those|it|them|every|each|all|both|his|her|their|some|any|"
    r"\d+|«q»|«file»)\b"
)


_SHOULD = re.compile(
    r"\b(?:should|needs? to|has to|have to|must|ought to)\s+(?:be\s+)?(?!ask|know|check|see|wait)[a-z]+|"
    r"(?:应该|要|得)(?:是|在|从|放|有|用|加|换|改)"
)
_HANDOVER_WORDS = re.compile(r"上传|传上去|传一下|upload|import|ingest|放进去|加进去")
_HANDOVER_VERBS = frozenset(data("intents")["requests"]["handover_verbs"])


def _imperative(text: str, *, handing_over: bool = False) -> bool:
    """A request with a verb the lexicons do not know: "redact every mention of the SSN", "lay them over
    «file»", "帮我挑哪条跳得好些". A verb followed by its object, or 帮我/把/请 + more: an edit for the agent.
    `handing_over`: the clause names files, and the verbs that only hand them over do not count."""
    m = re.match(_OPENERS + r"([a-z][a-z'-]+)", text)
    if m is not None:
        word = m.group(1)
        if handing_over and word in _HANDOVER_VERBS:
            return False  # "use these two: «file» and «file»" only hands the files over
        if (
            word not in _NOT_A_VERB
            and "'" not in word
            and not word.endswith(("ed", "ing"))  # "found it", "uploading the last bits": told, not asked
            and _OBJECT.match(text, m.end())
        ):
            return True
    if re.match(
        _OPENERS + r"(?:i'?d like|i would like|i want|i need|we need|we want|we'?d like)\s+(?:a|an|some)\b",
        text,
    ):
        return True  # "I'd like a five-minute recap version": something to make
    return not handing_over and bool(re.match(r"(?:帮我|帮忙|麻烦|请(?!问)|把|将|给我把)\S{3,}", text))


# An embedded question: "check whether the cover finished", "let me know if the upload went through".
_EMBEDDED_Q = re.compile(
    r"(?:(?:please|pls|can you|could you)\s+)?(?:check|see|find out|let me know|tell me|confirm|ask)\s+"
    r"(?:for me\s+)?(?:whether|if)\s+"
)
# A reason or a thought, not a request: "as my wife would like to add photos", "我再想想要不要加滤镜",
# "colour we settle later"
_REASON = re.compile(
    r"(?:as|because|cause|cuz|coz|bc|since)\s+(?:my|our|the|i|we|he|she|they|it|you|there)\b|"
    r"(?:我|我们)?(?:再|还要|还得)?(?:想想|想一想|考虑|琢磨)|.*\b(?:later|another time|next time)\s*$|"
    # someone else's say: "the brand still has to approve the shake shot", "legal might want changes"
    r".*\b(?:still\s+)?(?:has|have|needs?)\s+to\s+(?:approve|check|see|review|sign off|okay|ok|clear)\b|"
    r".*\b(?:might|may) want (?:changes|to change|edits)\b|"
    r"(?:i(?:'m| am) not sure|not sure|perhaps|maybe)\b|i (?:do not|don'?t|dont) want to (?:lose|break|mess|"
    r"ruin|waste|spend|pay)\b|"
    r"(?:要是|如果|假如|万一|若是)(?!.*(?:就|那就|的话就))|我(?:在)?等(?:着|紧)|我(?:不太|不)(?:会|懂|熟)|"
    r"\S{0,6}(?:还要|还得|要先|得先)(?:看|确认|检查|审)|.*每(?:周|天|次|个月|星期)\S{0,4}要|"
    r"我要(?:放到|发到|传到|上传到|分享到|发给)|"
    r".*(?:以后再说|回头再说|之后再说|晚点再说|再说吧)$"
)
# A condition or a time, not a request: "before you touch it", "if you can", "once it's in"
_SUBORDINATE = re.compile(
    r"(?:before|after|when|once|while|until|if|unless|since|as soon as)\s+(?:you|u|i|we|it|they|that|this)\b"
    r"(?:'s|'re|'m)?(?:\s+\S+){0,3}$"
)


# Questions about the project the server answers, whatever else the clause says: what it holds now, how long
# it runs, how far the work is.
_STATE_ASKED = re.compile(
    _STATE_NOW.pattern
    + r"|\b(?:runtime|running time|run time|trt|total length|total duration)\b"
    + r"|\bwhere(?:'s| is| are)\s+(?:it|we|things|the \w+|my \w+)\s+at\b"
    + r"|\b(?:is|was)\s+it\s+(?:done|finished|ready|up|uploaded|in|through)\b"
    + r"|\bhow long is (?:it|the (?:video|cut|edit|reel|film|clip)|this)(?: now)?\b"
    + r"|(?:现在|目前|而家)\S{0,8}?(?:多长|几长|总长|时长)|总长|几分几秒"
)
_ABILITY_ONLY = re.compile(
    r"(?:能不能|可不可以|能否|可以|can you|could you|would you)\s*(?:先|先帮我|first|please)?"
)


def read(clause: Clause) -> Reading:
    text = clause.text
    embedded = _EMBEDDED_Q.match(text)
    if embedded:
        text = text[embedded.end() :]
    r = Reading(text, clause.question or bool(embedded), clause.sentence, edit=_edit(text))
    if _REASON.match(text) or (_SUBORDINATE.fullmatch(text) and not _export_request(text, r.edit)):
        r.aside = True
        return r
    asks = _asks(text, r.question)
    held = _hold(text)
    if held is not None:
        r.hold = True
        r.edit = _edit(text[: held.start()] + " " + text[held.end() :])
        if r.edit.strong:
            r.step = Intent.AGENT
        return r
    ability = _w("edit", "ability_en").any(text) or (has_cjk(text) and _w("edit", "ability_zh").any(text))
    export = _export_request(text, r.edit)
    if (
        not r.edit.strong
        and _STATE_ASKED.search(text)
        and not re.search(r"\b(?:add|put|insert)\b|加|放", text)
    ):
        r.step = (
            Intent.STATUS
        )  # "which clips are in this edit right now?", "where's the render at?", "runtime?"
        return r
    if (
        asks
        and ability
        and not r.edit.strong
        and _status(text, asks, r.edit)
        and re.search(r"\b(?:see|show|view|look at|check|list)\b|看|查|列", text)
    ):
        r.step = Intent.STATUS  # "is there a way to see what's on the timeline?"
        return r
    if ability and _ABILITY_ONLY.fullmatch(text):
        return r  # "能不能先…": the lead-in of the request that follows
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
    elif embedded and _w("status", "completion_en").any(text) and not r.edit.strong:
        r.step = Intent.STATUS  # "check whether the cover finished processing"
    elif r.edit.any or ability:
        r.step = Intent.AGENT
    elif not r.question and _SHOULD.search(text):
        r.step, r.request = Intent.AGENT, True  # "the walkthrough should open on the front door"
    elif _imperative(text, handing_over="«file»" in text or bool(_HANDOVER_WORDS.search(text))):
        r.step, r.request = Intent.AGENT, True
    if r.step in (Intent.EXPORT, Intent.AGENT) and re.search(
        r"^(?:\w+\s+){0,2}?(?:render|export|bounce|output)\w*\b.{0,20}\b(?:after|once|when)\s+(?:you'?ve|"
        r"you have|you)\s+"
        r"(?:\w+ed|done|made|put|cut|set)\b",
        text,
    ):
        r.step, r.also_export = Intent.AGENT, True  # "render after you've added the captions"
    # an export in another shape: "给我导一个竖屏的", "出三个尺寸": the shape is an edit, then the file
    if r.step is Intent.EXPORT and re.search(
        r"竖屏|横屏|竖版|横版|方形|竖的|横的|尺寸|比例|\bvertical\b|\bsquare\b|\bportrait\b|\b\d+:\d+\b", text
    ):
        r.step, r.also_export = Intent.AGENT, True
    if r.step in (Intent.AGENT, None) and _INTO_FILE.search(text):
        r.step, r.also_export = Intent.AGENT, True
    return r


_FIRST = re.compile(r"先|\bfirst\b|\bas (?:it is|is)\b|\bcurrent (?:version|cut)\b|现在这版|这一版")
_FILLER = re.compile(
    r"(?:(?:ok|okay|right|yes|yeah|hmm|hi|hello|hey|thanks|thank you|cheers|please|pls|sorry|good morning|"
    r"good afternoon|good evening|dear team|lol|haha|谢谢|麻烦了|辛苦了|打扰了|好的|你好|请问|哈哈)"
    r"[\s,.!?~]*)+"
)


def _within_sentences(readings: list[Reading]) -> None:
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
                and not _FILLER.fullmatch(r.text)
                and len(re.findall(r"[a-z']+|[\u4e00-\u9fff]", r.text)) >= 3
            ):
                r.step = Intent.AGENT


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
            elif (
                lead.step is Intent.AGENT
                and cur.step is Intent.STATUS
                and not _asks(cur.text, cur.question)
                and not re.match(r"(?:show|tell|list|check|告诉|看看|查)", cur.text)
            ):
                cur.step = None  # "做个假的进度条，卡在最后不动": how the edit should look
        if cur.step is not None:
            lead = cur


# --- with files handed over -------------------------------------------------------------------------------

_HANDOVER_EN = re.compile(
    r"\b(?:add|adding|put|grab|use|using|load|attach|attaching|throw in|import|upload|include|drop)\b"
    r"(?:(?:\s+[\w'-]+){0,8}?\s*[:：]?\s*(?=«file»)|\s+(?:this|these|it|them|that)\s+(?:to|in|into)\s+(?:the|"
    r"my)\s+"
    r"(?:project|media\s+bin|bin|timeline|library)\b)"
)
_HANDOVER_ZH = re.compile(
    r"(?:加上|加进去|加进来|加一下|加个|加一个|加|用这个|放进去|补一个|补上|补|传一下|传个|上传|放在|上穿|传上去)"
    r"(?:(?!当|作为|做成|放在|放到|换成|替换)[^，。,;；]){0,12}?\s*[:：]?\s*(?=«file»)"
)
_AFTER_FILE = re.compile(
    r"(?<=«file»)\s*(?:(?:也要|加进去|加上|也传上去|传上去|这支补上去|补上去|补进去|都加埋|加埋入去|加埋|也放进去)"
    r"(?=\s*$|[,，。!！?？])|(?:to|in|into)\s+(?:the|my)\s+(?:project|media\s+bin|bin|timeline|library)"
    r"|[\s,]*(?:kindly |please |pls )?(?:add|include|use|upload) (?:it|them|this|these)"
    r"(?: in| too| as well)?\s*$)"
)
# What describes a handed-over file ("刚导出的素材 ~/a.mov", "余额宝广告的素材", "the podcast intro sting:"):
# the words before the path, in its clause, are its name.
_FILE_LABEL = re.compile(r"(?:^|(?<=[,，。;；]))[^,，。;；]*?(?=\s*[:：]?\s*«file»)")


def _without_handover(text: str) -> str:
    """The instruction without the words that only hand the files over; words that say where a file goes
    stay ("use this one for the intro «file»" is an edit)."""

    def drop(m: re.Match[str]) -> str:
        after_verb = re.sub(r"^\S+", "", m.group(0).strip())  # "放在 «file»" places nothing by itself
        return m.group(0) if _placed(after_verb) else " "

    return _AFTER_FILE.sub(" ", _HANDOVER_ZH.sub(drop, _HANDOVER_EN.sub(drop, text)))


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
        # "lay them over «file»": a verb with its object is a request, not a name
        and not re.search(r"\b(?!is\b|are\b|here\b)[a-z]+\s+(?:them|it|these|those)\b", before)
    )
    if (
        _edit(before).strong
        and not short_label
        and not re.search(r"的(?:素材|视频|文件|图|图片|音频)?\s*[:：]?\s*$", before)
    ):
        return False  # "summarize this meeting for me: «file»", "swap the music for «file»"
    if _role(before):
        return False  # "BGM 用这首 «file»": how to use it
    if not short_label and _imperative(before.strip() + " «file»", handing_over=True):
        return False  # "lay them over «file»": a request with a verb the lexicons do not know
    return not re.search(
        r"\b(?:then|and then|export\w*|download\w*|render\w*)\b|然后|导出|下载|出片|渲染", before
    ) or bool(re.search(r"的(?:素材|视频|文件|图|图片|音频)?\s*$|[:：]\s*$", before))


_WHERE_IN_VIDEO = re.compile(
    r"\b(?:at|to|in|on|into|onto)\s+the\s+(?:very\s+)?(?:end|start|beginning|top|bottom|middle|front|back|"
    r"corner|intro|outro)\b|\b(?:bottom|top)[ -](?:left|right)\b"
    r"|\bwith (?:some |a )?(?:soft |gentle )?music\b"
    r"|\b(?:for|as) the (?:intro|outro|opening|ending|end|start|background|thumbnail|cover|b-roll)\b"
)


def _placed(text: str) -> bool:
    """Where or how to use a handed-over file: "as background music", "at the end", 当水印."""
    if _WHERE_IN_VIDEO.search(text):
        return True
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
    return mend(_mask_colon(mandarin(fold(_mask(found_masked)))))


def _worth_guessing(text: str) -> bool:
    """Enough words to read ("ok", "啊这", "？？" are not: the agent asks what is meant)."""
    if _FILLER.fullmatch(text.strip(" ?？!！.。~")) or re.fullmatch(r"[\W\d_]*", text):
        return False
    return len(re.findall(r"[a-z0-9']+", text)) + len(re.findall(r"[\u4e00-\u9fff]", text)) / 2 >= 2


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
        Reading(c.text, c.question, c.sentence, aside=True)
        if found.sources and _describes_file(c.text)
        else read(c)
        for c in clauses
    ]
    _follow_on(readings)
    _within_sentences(readings)
    deferred = any(r.hold for r in readings)
    steps: list[Intent] = []
    for r in readings:
        if r.step is not None and r.step not in steps and not (r.step is Intent.EXPORT and deferred):
            steps.append(r.step)
        if r.also_export and Intent.EXPORT not in steps and not deferred:
            steps.append(Intent.EXPORT)
    if found.sources:
        rest = " ".join(r.text for r in readings if not (r.hold or r.aside) or "«file»" in r.text)
        if Intent.AGENT not in steps and (
            _placed(rest) or any(r.question and r.step is None and not r.aside for r in readings)
        ):
            steps.append(Intent.AGENT)
        if (
            Intent.AGENT in steps
            and not any(r.edit.strong or r.request for r in readings if r.step is Intent.AGENT)
            and not _placed(rest)
            and not any(r.question for r in readings)
            and not _role(rest)
        ):
            steps.remove(Intent.AGENT)  # "BGM 在这 ~/a.mp3": naming what the file is, not an edit
    export_first = any(r.step is Intent.EXPORT and _FIRST.search(r.text) for r in readings)
    if (
        Intent.AGENT in steps
        and Intent.EXPORT in steps
        and steps.index(Intent.EXPORT) < steps.index(Intent.AGENT)
        and not export_first  # "把现在这版先发我，然后再换片头": the current version first, as asked
    ):
        steps.remove(Intent.EXPORT)  # never a render of the timeline before the edit asked for with it
        steps.append(Intent.EXPORT)
    if found.destination and Intent.EXPORT not in steps and not deferred:
        steps.append(Intent.EXPORT)
    if not steps and not found.sources and not deferred:
        # Nothing the rules know: the second reader may know the words, else the agent (anything unclear).
        label, margin = guess(raw) if _worth_guessing(text) else ("agent", 0.0)
        sure = margin > 0 and label in (Intent.EXPORT, Intent.CREDITS, Intent.STATUS)
        steps = [Intent(label)] if sure else [Intent.AGENT]
    if not steps and not found.sources:
        steps = [Intent.STATUS] if deferred else [Intent.AGENT]
    if found.sources:
        steps.insert(0, Intent.UPLOAD)
    if not steps:
        steps = [Intent.AGENT]
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
