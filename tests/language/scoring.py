"""Scoring the language layer against the hand-written corpora (shared by the tests and `bench/`).

Instructions: the label's steps in order — upload first when files are handed over, then `route`, then
`then` (or the explicit `steps`), then the export when a destination was named — must equal the
router's steps; `also_ok` lists other first steps a person would accept; `deferred` must match.
Replies: a GUI reply is translated when no `drop` string is left, every `keep` string is, an export
step is found exactly when the label has one, and a go-ahead wait exactly when the label has one (with
its cost); a gui_only reply leaves nothing; a plain reply comes back exactly as it came (after cleaning).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nemo_mcp.language.replies import translate
from nemo_mcp.language.routing import route
from nemo_mcp.language.untrusted import clean

CORPORA = Path(__file__).parent / "corpora"


def load(name: str) -> list[dict[str, Any]]:
    path = CORPORA / name
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def instruction_files() -> list[str]:
    return sorted(p.name for p in CORPORA.glob("instructions*.jsonl"))


def reply_files() -> list[str]:
    return sorted(p.name for p in CORPORA.glob("replies*.jsonl"))


def label_steps(item: dict[str, Any]) -> list[str]:
    if item.get("steps"):
        return list(item["steps"])
    steps = ["upload"] if item.get("sources") else []
    if item["route"] != "upload":
        steps.append(item["route"])
    if item.get("then") and item["then"] not in steps:
        steps.append(item["then"])
    if item.get("destination") and "export" not in steps:
        steps.append("export")
    return steps


def first_step(steps: list[str]) -> str:
    """What a message asks for first once any files are handed over ("upload" for a bare upload): the
    rows and columns of the confusion table."""
    rest = [step for step in steps if step != "upload"]
    return rest[0] if rest else (steps[0] if steps else "none")


@dataclass
class RoutingScore:
    total: int = 0
    right: int = 0
    edits: int = 0  # items that ask for an edit
    edits_kept: int = 0  # ... that reach the agent
    by_route: Counter[str] = field(default_factory=Counter)
    right_by_route: Counter[str] = field(default_factory=Counter)
    by_lang: Counter[str] = field(default_factory=Counter)
    right_by_lang: Counter[str] = field(default_factory=Counter)
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)  # (wanted, got) first steps
    misses: list[tuple[str, list[str], list[str]]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 1.0

    @property
    def edits_safe(self) -> float:
        return self.edits_kept / self.edits if self.edits else 1.0


def score_routing(items: list[dict[str, Any]]) -> RoutingScore:
    s = RoutingScore()
    for item in items:
        r = route(item["text"])
        got = [step.value for step in r.steps]
        want = label_steps(item)
        ok = got == want
        if not ok and item.get("also_ok"):
            for alt in item["also_ok"]:
                if got == label_steps({**item, "route": alt, "steps": None}):
                    ok = True
        ok = ok and bool(item.get("deferred")) == r.deferred
        s.total += 1
        s.by_route[item["route"]] += 1
        s.by_lang[item.get("lang", "?")] += 1
        s.confusion[(first_step(want), first_step(got))] += 1
        if ok:
            s.right += 1
            s.right_by_route[item["route"]] += 1
            s.right_by_lang[item.get("lang", "?")] += 1
        else:
            s.misses.append((item["text"], got, want))
        alternatives = set(item.get("also_ok") or [])
        if "agent" in want and not (alternatives - {"agent"}):
            s.edits += 1
            s.edits_kept += "agent" in got
    return s


@dataclass
class ReplyScore:
    gui: int = 0
    gui_right: int = 0
    plain: int = 0
    plain_intact: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    right_by_kind: Counter[str] = field(default_factory=Counter)
    misses: list[tuple[str, str, list[str]]] = field(default_factory=list)

    @property
    def translated(self) -> float:
        return self.gui_right / self.gui if self.gui else 1.0

    @property
    def intact(self) -> float:
        return self.plain_intact / self.plain if self.plain else 1.0


def reply_problems(item: dict[str, Any]) -> list[str]:
    tr = translate(item["text"])
    steps = {s.value for s in tr.steps}
    acts = set(item["actions"])
    problems: list[str] = []
    if item["kind"] == "plain":
        if tr.text != clean(item["text"]).text or tr.steps or tr.waiting:
            problems.append("not intact")
        return problems
    problems += [f"kept {d!r}" for d in item["drop"] if d in tr.text]
    problems += [f"lost {k!r}" for k in item["keep"] if k not in tr.text]
    if ("export" in steps) != ("export" in acts):
        problems.append("export step")
    if ("confirm" in acts) != (tr.waiting is not None):
        problems.append("go-ahead")
    elif tr.waiting is not None and item.get("cost") is not None and tr.waiting.cost != item["cost"]:
        problems.append(f"cost {tr.waiting.cost}")
    if item["kind"] == "gui_only" and not tr.gui_only:
        problems.append("not gui-only")
    if acts and not tr.steps:
        problems.append("no step")
    return problems


def score_replies(items: list[dict[str, Any]]) -> ReplyScore:
    s = ReplyScore()
    for item in items:
        problems = reply_problems(item)
        s.by_kind[item["kind"]] += 1
        if item["kind"] == "plain":
            s.plain += 1
            s.plain_intact += not problems
        else:
            s.gui += 1
            s.gui_right += not problems
        if problems:
            s.misses.append((item["kind"], item["text"], problems))
        else:
            s.right_by_kind[item["kind"]] += 1
    return s
