"""A second reader for instructions the rules cannot place.

The router's rules (`routing`) know the shapes of requests; they cannot know every word people use for
them ("whats the runtime rn", "AirDrop 到我的 iPhone 就行"). When the rules find no edit in an instruction and
fall back to the agent, `guess` asks a naive Bayes model over words and character n-grams what the
instruction most resembles: an export, a credits or status question, a bare upload, or an agent request.
The model is trained on the hand-written corpora (tests/language/corpora; `python -m tests.language.train`
rebuilds it) and shipped as counts in data/intent_model.json.gz. It never overrules an edit the rules found:
a lost edit is the worst outcome, an extra agent turn the cheapest.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import pairwise
from typing import Any

from nemo_mcp.language.normalize import fold, mandarin
from nemo_mcp.language.sources import find

MODEL_FILE = "data/intent_model.json.gz"
MIN_COUNT = 2  # features seen once in the corpora say more about the writer than about the request
_SMOOTHING = 0.5
_TOKENS = re.compile(r"[a-z0-9']+|«\w+»|[\u4e00-\u9fff]")


def features(instruction: str) -> set[str]:
    """Words, word pairs and 2-4 character n-grams of the normalised instruction (paths and links as
    «file», «dest», «link»)."""
    text = re.sub(r"\s+", " ", mandarin(fold(find(instruction).masked)))
    words = _TOKENS.findall(text)
    out = {f"w:{w}" for w in words} | {f"b:{a}_{b}" for a, b in pairwise(words)}
    for n in (2, 3, 4):
        out |= {f"c{n}:{text[i : i + n]}" for i in range(len(text) - n + 1)}
    return out


def train(examples: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Counts per class of every feature seen at least MIN_COUNT times: the model, as JSON-able data."""
    prior: Counter[str] = Counter()
    counts: dict[str, Counter[str]] = {}
    for text, label in examples:
        prior[label] += 1
        counts.setdefault(label, Counter()).update(features(text))
    classes = sorted(prior)
    total: Counter[str] = Counter()
    for c in classes:
        total.update(counts[c])
    kept = {f: [counts[c][f] for c in classes] for f in sorted(total) if total[f] >= MIN_COUNT}
    return {"classes": classes, "prior": [prior[c] for c in classes], "features": kept}


def save(model: dict[str, Any]) -> bytes:
    """The model file's bytes: sorted JSON, gzip without a timestamp (a rebuild gives the same bytes)."""
    raw = json.dumps(model, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    return gzip.compress(raw, mtime=0)


@dataclass(frozen=True)
class Model:
    classes: tuple[str, ...]
    log_prior: tuple[float, ...]
    log_ratio: dict[str, tuple[float, ...]]  # feature -> log P(f|class) - log P(f), per class

    @classmethod
    def of(cls, data: dict[str, Any]) -> Model:
        classes = tuple(data["classes"])
        prior = data["prior"]
        n = sum(prior)
        k = len(classes)
        ratios: dict[str, tuple[float, ...]] = {}
        for feature, per_class in data["features"].items():
            overall = math.log((sum(per_class) + _SMOOTHING * k) / (n + k))
            ratios[feature] = tuple(
                math.log((c + _SMOOTHING) / (p + 1.0)) - overall
                for c, p in zip(per_class, prior, strict=True)
            )
        return cls(classes, tuple(math.log(p / n) for p in prior), ratios)

    def scores(self, instruction: str) -> dict[str, float]:
        totals = list(self.log_prior)
        for feature in features(instruction):
            ratio = self.log_ratio.get(feature)
            if ratio is not None:
                totals = [t + r for t, r in zip(totals, ratio, strict=True)]
        return dict(zip(self.classes, totals, strict=True))


@cache
def model() -> Model:
    raw = resources.files("nemo_mcp.language").joinpath(MODEL_FILE).read_bytes()
    return Model.of(json.loads(gzip.decompress(raw)))


def guess(instruction: str, trained: Model | None = None) -> tuple[str, float]:
    """The likeliest route of `instruction` ("export", "credits", "status", "upload", "agent") and its
    margin over the next one (log odds; 0 = a tie)."""
    scores = (trained or model()).scores(instruction)
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    return ranked[0][0], ranked[0][1] - ranked[1][1]
