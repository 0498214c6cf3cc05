"""Plain-language instruction -> ordered list of operations, for the local rule-based agent.

Deterministic and small on purpose: clauses are split on commas, "and", "then"; each clause is matched
against a few patterns; operations keep the order in which they appear in the instruction.
"""

from __future__ import annotations

import re
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


def parse(instruction: str) -> list[Op]:
    quotes: list[str] = []

    def stash(m: re.Match[str]) -> str:
        quotes.append(m.group(1).strip())
        return f" qq{len(quotes) - 1}qq "

    text = _QUOTED.sub(stash, instruction).lower()
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
