"""Plain-language instruction -> ordered list of operations, for the local rule-based agent.

Deterministic and small on purpose: clauses are split on commas, "and", "then"; each clause is matched
against a few patterns; operations keep the order in which they appear in the instruction. Chinese
instructions ("把视频剪到前3秒，然后加标题「你好」") are first rewritten into the same English patterns
(`_from_chinese`); quoted text (titles, prompts) is set aside first so it is never rewritten.
`language_of` says which language an instruction is in, so the agent can answer in it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

EDIT_KINDS = frozenset(
    {"trim", "remove", "trim_default", "canvas", "speed", "volume", "title", "bgm", "concat"}
)
INFO_KINDS = frozenset({"metadata", "summary"})


@dataclass
class Op:
    kind: str
    args: dict[str, Any] = field(default_factory=dict)


_NUM = r"(\d+(?:\.\d+)?)"
_UNIT = r"(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?)"
_TIME = (
    r"(\d+:\d{1,2}(?::\d{1,2})?(?:\.\d+)?"
    r"|\d+(?:\.\d+)?\s*(?:ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?)?\b)"
)
_RANGE = re.compile(rf"(?:from\s+|at\s+)?{_TIME}\s*(?:to|until|till|through|-|–)\s*{_TIME}")
_QUOTED = re.compile(r"(?<!\w)[\"'“‘]([^\"“”]+?)[\"'”’](?!\w)")
_CJK_QUOTED = re.compile(r"[「『《“‘]([^」』》”’]+?)[」』》”’]")  # CJK quotes: no word-boundary guard
_ASCII_QUOTED = re.compile(r"[\"']([^\"'\n]+?)[\"']")  # beside Chinese text, where \b never holds
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SPLIT = re.compile(r"\s*(?:[,;!?]|\.(?:\s|$)|\bthen\b|\band\b|\balso\b|\bplus\b)\s*")


def parse_time(token: str) -> int:
    """'1:45' / '0:05.5' / '30s' / '2 min' / '12' (seconds) -> milliseconds."""
    token = token.strip()
    if ":" in token:
        seconds = 0.0
        for part in token.split(":"):
            seconds = seconds * 60 + float(part)
        return round(seconds * 1000)
    m = re.fullmatch(rf"{_NUM}\s*{_UNIT}?", token)
    if not m:
        raise ValueError(f"not a time: {token}")
    return round(float(m.group(1)) * _unit_ms(m.group(2)))


def _unit_ms(unit: str | None) -> float:
    if not unit or unit.startswith("s"):
        return 1000.0
    if unit.startswith("ms") or unit.startswith("milli"):
        return 1.0
    if unit.startswith("h"):
        return 3_600_000.0
    return 60_000.0


def _has(pattern: str, text: str) -> re.Match[str] | None:
    return re.search(pattern, text)


def language_of(instruction: str) -> str:
    """ "zh", "en" or "mixed", from the instruction's own words (quoted text and file names left out)."""
    text = _CJK_QUOTED.sub(" ", instruction)
    text = _QUOTED.sub(" ", text)
    text = _FILE_NAME.sub(" ", text)
    han = len(_HAN.findall(text))
    words = [w for w in re.findall(r"[A-Za-z]+", text) if w.lower() not in _TECH_WORDS]
    if han and not words:
        return "zh"
    if not han:
        return "en"
    return "mixed"


_FILE_NAME = re.compile(r"\S+\.(?:mp4|mov|avi|webm|mkv|jpe?g|png|gif|webp|mp3|wav|m4a|aac)\b", re.I)
_TECH_WORDS = frozenset({"p", "k", "x", "s", "ms", "bgm", "hd", "fhd", "uhd", "fps", "mp", "ok", "vs"})


def parse(instruction: str) -> list[Op]:
    quotes: list[str] = []

    def stash(m: re.Match[str]) -> str:
        quotes.append(m.group(1).strip())
        return f" qq{len(quotes) - 1}qq "

    chinese = bool(_HAN.search(instruction))
    text = _CJK_QUOTED.sub(stash, instruction) if chinese else instruction
    text = _QUOTED.sub(stash, text)
    if chinese:
        text = _ASCII_QUOTED.sub(stash, text)
        text = _from_chinese(text, quotes)
    text = text.lower()
    text = re.sub(rf"\bbetween\s+{_TIME}\s+and\s+{_TIME}", r"from \1 to \2", text)
    ops: list[Op] = []
    for clause in _SPLIT.split(text):
        if clause.strip():
            ops.extend(_clause_ops(clause.strip(), quotes))
    return ops


def _clause_ops(c: str, quotes: list[str]) -> list[Op]:
    found: list[tuple[int, Op]] = []

    def add(m: re.Match[str] | None, op: Op) -> None:
        found.append((m.start() if m else 0, op))

    if m := _has(r"\bmeta ?-?data\b|\bmedia info\b|\bfile info\b|\bprobe\b|\bspecs?\b", c):
        add(m, Op("metadata"))
    if m := _has(r"\bsummar(?:y|ies|ise|ize|izing)\b|\bdescribe\b|\bwhat'?s in\b", c):
        add(m, Op("summary"))
    if m := _has(r"\b(?:export|download|render)\b", c):
        add(m, Op("export"))
    title = _title(c, quotes)
    if title:
        add(_has(r"\b(?:title|text|caption|heading|headline|subtitle)\b", c), title)
    bgm = _has(r"\b(?:background music|bgm|music|soundtrack|backing track)\b", c)
    if bgm:
        vol = _has(r"(\d{1,3})\s*%|\bvolume\s+(?:of\s+|at\s+|to\s+)?(\d{1,3})\b", c)
        volume = int(next(g for g in vol.groups() if g)) if vol else 30
        add(bgm, Op("bgm", {"volume": max(0, min(100, volume)), "text": c}))
    elif m := _has(
        r"\bunmute\b|\brestore (?:the )?(?:audio|sound)\b|\bturn (?:the )?(?:audio|sound) (?:back )?on\b", c
    ):
        add(m, Op("volume", {"volume": 100}))
    elif m := _has(
        r"\bmute\b|\b(?:remove|strip|drop) (?:the )?(?:audio|sound)\b"
        r"|\bwithout (?:audio|sound)\b|\bno (?:audio|sound)\b",
        c,
    ):
        add(m, Op("volume", {"volume": 0}))
    if m := _has(r"\b(?:combine|concatenate|concat|join|merge|stitch|put together)\b", c):
        add(m, Op("concat"))
    if speed := _speed(c):
        add(speed[0], speed[1])
    if canvas := _canvas(c):
        add(canvas[0], canvas[1])
    if not title and not bgm and (trim := _trim(c)):
        add(trim[0], trim[1])
    if not found and (
        gen := _has(
            r"\b(?:generate|create|produce|make)\b(?:\s+\w+){0,4}?\s+(?:video|clip|animation|movie|film|footage)\b",
            c,
        )
    ):
        prompt = re.split(r"\b(?:of|about|showing|featuring|where|with)\b", c, maxsplit=1)
        add(gen, Op("generate", {"prompt": _unstash((prompt[1] if len(prompt) > 1 else c).strip(), quotes)}))
    return [op for _, op in sorted(found, key=lambda pair: pair[0])]


def _unstash(text: str, quotes: list[str]) -> str:
    return re.sub(r"qq(\d+)qq", lambda m: quotes[int(m.group(1))], text).strip()


def _title(c: str, quotes: list[str]) -> Op | None:
    if not _has(r"\b(?:title|text|caption|heading|headline|subtitle)\b", c):
        return None
    q = re.search(r"qq(\d+)qq", c)
    if q:
        words = quotes[int(q.group(1))]
    elif said := re.search(
        r"(?:saying|says|reads|reading|title:?|text:?)\s+(?!for\b|from\b|at\b)([^,]+?)(?:\s+(?:for|from|at|on)\b|$)",
        c,
    ):
        words = said.group(1).strip()
        if words in {"a", "the", "some"}:
            return None
    else:
        return None
    args: dict[str, Any] = {"text": words, "start": 0, "dur": 3000, "pos": "center"}
    if r := _RANGE.search(c.replace(q.group(0), " ") if q else c):
        args["start"], end = parse_time(r.group(1)), parse_time(r.group(2))
        args["dur"] = max(100, end - args["start"])
    elif f := re.search(rf"\bfor\s+(?:the\s+first\s+)?{_NUM}\s*{_UNIT}?", c):
        args["dur"] = round(float(f.group(1)) * _unit_ms(f.group(2)))
    if at := re.search(rf"\b(?:at|starting at|starts at)\s+{_TIME}", c):
        args["start"] = parse_time(at.group(1))
    if _has(r"\bat the end\b", c):
        args["start"] = -1  # resolved against the timeline: the last `dur` ms
    if _has(r"\b(?:top|upper|above)\b", c):
        args["pos"] = "top-center"
    elif _has(r"\b(?:bottom|lower|below|lower third)\b", c):
        args["pos"] = "bottom-center"
    return Op("title", args)


def _speed(c: str) -> tuple[re.Match[str], Op] | None:
    if m := re.search(r"(?<![\d.])(\d+(?:\.\d+)?)\s*x\b(?!\s*\d)", c):
        factor = float(m.group(1))
        if 0.1 <= factor <= 16 and not re.search(r"\d\s*x\s*\d", c[m.start() : m.end() + 3]):
            return m, Op("speed", {"factor": factor})
    if m := re.search(rf"\bspeed\s+(?:of\s+|to\s+|at\s+)?{_NUM}\b", c):
        return m, Op("speed", {"factor": float(m.group(1))})
    if m := _has(r"\b(?:speed (?:it )?up|faster|fast forward|double (?:the )?speed|twice as fast)\b", c):
        return m, Op("speed", {"factor": 2.0})
    if m := _has(r"\b(?:slow[ -]?mo(?:tion)?|slow (?:it )?down|slower|half (?:the )?speed)\b", c):
        return m, Op("speed", {"factor": 0.5})
    return None


def _canvas(c: str) -> tuple[re.Match[str], Op] | None:
    args: dict[str, Any] = {}
    first: re.Match[str] | None = None
    if m := re.search(r"\b(\d{3,4})\s*[x×]\s*(\d{3,4})\b", c):
        return m, Op("canvas", {"width": int(m.group(1)), "height": int(m.group(2))})
    for pattern, short, label in (
        (r"\b(?:4k|2160p|uhd)\b", 2160, "4K"),
        (r"\b(?:1440p|2k)\b", 1440, "1440p"),
        (r"\b(?:1080p?|full ?hd|fhd)\b", 1080, "1080p"),
        (r"\b(?:720p|hd)\b", 720, "720p"),
        (r"\b480p\b", 480, "480p"),
    ):
        if m := re.search(pattern, c):
            args.update(short=short, label=label)
            first = m
            break
    for pattern, ratio in (
        (r"\b(?:vertical|portrait|9:16|9x16|tiktok|reels?|shorts|stories)\b", (9, 16)),
        (r"\b(?:square|1:1)\b", (1, 1)),
        (r"\b(?:16:9|landscape|horizontal|widescreen)\b", (16, 9)),
        (r"\b4:5\b", (4, 5)),
        (r"\b4:3\b", (4, 3)),
    ):
        if m := re.search(pattern, c):
            args["ratio"] = ratio
            first = first if first and first.start() < m.start() else m
            break
    return (first, Op("canvas", args)) if first else None


def _trim(c: str) -> tuple[re.Match[str] | None, Op] | None:
    remove_verb = _has(r"\b(?:remove|delete|cut out|drop|get rid of|take out|skip)\b", c)
    keep_verb = _has(r"\b(?:cut|trim|keep|clip|extract|crop|only|shorten)\b", c)
    off_first = re.search(
        rf"\b(?:trim|cut|remove|delete|drop|skip)\s+(?:off\s+)?the\s+(first|last)\s+{_NUM}\s*{_UNIT}?", c
    )
    if off_first and "to the" not in c[max(0, off_first.start() - 4) : off_first.start() + 12]:
        n = round(float(off_first.group(2)) * _unit_ms(off_first.group(3)))
        return off_first, Op(
            "remove", {"start": 0, "end": n} if off_first.group(1) == "first" else {"last": n}
        )
    if m := re.search(rf"\b(?:first|opening)\s+{_NUM}\s*{_UNIT}?", c):
        return m, Op("trim", {"start": 0, "end": round(float(m.group(1)) * _unit_ms(m.group(2)))})
    if m := re.search(rf"\b(?:last|final)\s+{_NUM}\s*{_UNIT}?", c):
        return m, Op("trim", {"last": round(float(m.group(1)) * _unit_ms(m.group(2)))})
    if (remove_verb or keep_verb) and (r := _RANGE.search(c)):
        start, end = parse_time(r.group(1)), parse_time(r.group(2))
        return (remove_verb or keep_verb), Op(
            "remove" if remove_verb else "trim", {"start": start, "end": end}
        )
    if keep_verb and (m := re.search(rf"\bto\s+{_NUM}\s*{_UNIT}\b", c)):
        return keep_verb, Op("trim", {"start": 0, "end": round(float(m.group(1)) * _unit_ms(m.group(2)))})
    if m := re.search(rf"\b{_NUM}\s*{_UNIT}\s+long\b", c):
        return m, Op("trim", {"start": 0, "end": round(float(m.group(1)) * _unit_ms(m.group(2)))})
    if m := _has(r"\btrim(?:med|ming)?\b|\bshorten(?:ed)?\b|\bshorter\b", c):
        return m, Op("trim_default")
    return None


# --- Chinese -> the English patterns above ---------------------------------------------------------------

_CN_DIGITS = {ch: n for n, ch in enumerate("零一二三四五六七八九")} | {"两": 2}


def _cn_number(word: str) -> str:
    """一 .. 九十九 (and 百) as digits; anything else unchanged."""
    total, current = 0, 0
    for ch in word:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return word
    return str(total + current)


_T = r"\d+(?::\d{1,2}){0,2}(?:\.\d+)?(?:\s*(?:seconds|minutes|ms))?"
_TU = r"(?:\d+(?::\d{1,2}){1,2}(?:\.\d+)?|\d+(?:\.\d+)?\s*(?:seconds|minutes|ms))"  # a time with its unit
_GEN_NOUN = r"(?:视频|短片|动画|影片|片子|短视频)"
_GEN_VERB = r"(?:生成|制作|做|创建|创作|拍)"
_CN_RULES: list[tuple[str, str]] = [
    (r"。|；|;", ". "),
    (r"、|，", ", "),
    (r"(?:然后|接着|之后|随后)", " then "),  # before 后 can be read as "last"
    (r"百分之\s*(\d+)", r" \1% "),
    (r"(\d+)\s*分\s*(\d+)\s*秒", r" \1:\2 "),
    (r"(\d+(?:\.\d+)?)\s*毫秒", r" \1ms "),
    (r"(\d+(?:\.\d+)?)\s*(?:秒钟|秒)", r" \1 seconds "),
    (r"(\d+(?:\.\d+)?)\s*分钟", r" \1 minutes "),
    # cut-offs before the verbs: 剪掉前2秒 / 删掉最后3秒
    (
        rf"(?:剪掉|删掉|删除|去掉|切掉|移除|去除|砍掉)\s*(?:视频)?\s*的?\s*(?:最前面|前面|开头|开始|前)\s*的?\s*({_TU})",
        r" remove the first \1 ",
    ),
    (
        rf"(?:剪掉|删掉|删除|去掉|切掉|移除|去除|砍掉)\s*(?:视频)?\s*的?\s*(?:最后面|最后|结尾|末尾|后面|后)\s*的?\s*({_TU})",
        r" remove the last \1 ",
    ),
    (rf"(?:最前面|前面|开头|开始|前)\s*的?\s*({_TU})", r" first \1 "),
    (rf"(?:最后面|最后|结尾|末尾|后)\s*的?\s*({_TU})", r" last \1 "),
    (rf"从\s*({_T})\s*(?:剪|截|裁剪|裁|保留)(?:到|至)\s*({_T})", r" trim from \1 to \2 "),
    (rf"从?\s*({_T})\s*(?:到|至|~|～|—|-)\s*({_T})", r" from \1 to \2 "),
    # sound before the cutting verbs (去掉声音 is a mute, not a cut)
    (r"(?:取消静音|恢复声音|恢复原声|恢复音频|打开声音|开启声音)", " unmute "),
    (
        r"(?:静音|去掉声音|去除声音|去掉原声|去掉原音|去除原声|关掉声音|关闭声音|消音|去掉音频|不要声音|删除声音|移除声音)",
        " mute ",
    ),
    (r"(?:剪掉|删掉|删除|去掉|切掉|移除|去除|砍掉)", " remove "),
    (r"(?:剪成|剪到|裁剪成|裁剪到|缩短到|缩短为|截成|截取|裁剪|剪切|只保留|保留|只要)", " trim to "),
    (r"(?:剪短|缩短|变短|短一点)", " shorten "),
    (r"(\d+(?:\.\d+)?)\s*倍速?", r" \1x "),
    (r"(?:加速|快进|加快|变快|快一点|快点)", " speed up "),
    (r"(?:慢动作|慢放|放慢|减速|变慢|慢一点|慢速)", " slow motion "),
    (r"(?:竖屏|竖版|竖向|竖着)", " vertical "),
    (r"(?:横屏|横版|横向)", " landscape "),
    (r"(?:正方形|方形|方屏)", " square "),
    (r"(?:超高清)", " 4k "),
    (r"(?:全高清)", " 1080p "),
    (r"(?:高清)", " 720p "),
    (r"(?:背景音乐|配乐|背景乐|音乐)", " background music "),
    (r"音量\s*(?:调到|设为|为)?\s*(\d+)\s*%", r" \1% "),
    (r"(?:标题|字幕|文字|文案|标语)", " title "),
    (r"在?(?:顶部|上方|上面|顶端|最上面)", " at the top "),
    (r"在?(?:底部|下方|下面|底端|最下面)", " at the bottom "),
    (r"在?(?:结尾处|结尾|片尾)", " at the end "),
    (r"(?:持续|显示|停留|时长)", " for "),
    (r"(?:合并|拼接|连接|串起来|连起来|组合|拼起来|接起来)", " combine "),
    (r"(?:导出|下载|渲染|输出)", " export "),
    (r"(?:元数据|视频信息|文件信息|媒体信息|详细信息|参数|规格)", " metadata "),
    (r"(?:总结|概括|摘要|讲了什么|有什么内容|内容是什么|描述一下)", " summary "),
    # connectors last, so that words containing them (合并) are read first
    (r"(?:最后再|再)", " then "),
    (r"(?:并且|同时|另外|还要|以及|并|和|跟)", " and "),
]


def _from_chinese(text: str, quotes: list[str]) -> str:
    """Rewrite a Chinese instruction (quotes already set aside) into the English the clause patterns read;
    a generation request keeps its prompt as a quote."""
    text = unicodedata.normalize("NFKC", text)  # full-width digits and punctuation

    def generation(m: re.Match[str]) -> str:
        prompt = re.sub(r"^(?:一个|一段|一条|一部|个|段|条|关于|有关)+", "", m.group("prompt").strip(" ,:的"))
        if not prompt or ("qq" in prompt and not re.fullmatch(r"\s*qq\d+qq\s*", prompt)):
            return m.group(0)
        if re.fullmatch(r"\s*qq\d+qq\s*", prompt):  # the prompt was quoted: it is already set aside
            return f" generate a video of {prompt.strip()} "
        quotes.append(prompt)
        return f" generate a video of qq{len(quotes) - 1}qq "

    text = re.sub(rf"{_GEN_VERB}(?P<prompt>[^,.;!?。，；]*?)的{_GEN_NOUN}", generation, text, count=1)
    head = rf"{_GEN_VERB}(?:一个|一段|一条|一部)?{_GEN_NOUN}"
    text = re.sub(rf"{head}\s*[:,]?\s*(?P<prompt>[^,.;!?]+)", generation, text, count=1)
    numeral = r"[零一二两三四五六七八九十百]+(?=\s*(?:秒|分钟|倍|%))"
    text = re.sub(numeral, lambda m: _cn_number(m.group(0)), text)
    for pattern, replacement in _CN_RULES:
        text = re.sub(pattern, replacement, text)
    return re.sub(r"\s+", " ", _HAN.sub(" ", text)).strip()
