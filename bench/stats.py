"""Statistics of the benchmarks: medians, percentiles, rounding for the JSON, and the interleaved pairs.

A ratio is measured as pairs: subject and baseline run back to back (in an order that alternates from one
round to the next), and each pair gives one ratio. The headline is the median of those pair ratios, so a
shared machine's drift (another job starting halfway) hits both members of a pair and cancels.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs) if xs else math.nan


def pct(xs: Sequence[float], q: float) -> float:
    """Percentile with linear interpolation (q in 0..100)."""
    if not xs:
        return math.nan
    s = sorted(xs)
    k = (len(s) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def r3(x: float | None, digits: int = 4) -> float | None:
    """Round for the results JSON; NaN and None become null."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return round(x, digits)


def rounded(xs: Sequence[float], digits: int = 4) -> list[float | None]:
    return [r3(x, digits) for x in xs]


def rotated(steps: Sequence[T], round_no: int) -> list[T]:
    """The order of one round: the steps rotated by the round number, so each step runs first, second, ...
    equally often (with two steps: A B, B A, A B, ...)."""
    k = round_no % len(steps)
    return [*steps[k:], *steps[:k]]


def pair_ratios(subject: Sequence[float], baseline: Sequence[float]) -> list[float]:
    """One ratio per pair (subject[i] / baseline[i]); both lists come from the same interleaved rounds."""
    if len(subject) != len(baseline):
        raise ValueError(f"unpaired samples: {len(subject)} subject vs {len(baseline)} baseline")
    return [s / b for s, b in zip(subject, baseline, strict=True) if b > 0]


def spread(xs: Sequence[float], digits: int = 4) -> dict[str, Any]:
    """Median, quartiles and range of a sample (for ratios and for repeated measurements like peak RSS)."""
    return {
        "n": len(xs),
        "median": r3(median(xs), digits),
        "p25": r3(pct(xs, 25), digits),
        "p75": r3(pct(xs, 75), digits),
        "min": r3(min(xs), digits) if xs else None,
        "max": r3(max(xs), digits) if xs else None,
    }
