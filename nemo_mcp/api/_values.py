"""Tolerant readers shared by the decoders of untrusted JSON (``parsing``, ``timeline``)."""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["finite_float", "json_in_string"]


def finite_float(value: Any) -> float | None:
    """A finite float from an int, a float or a numeric string; None otherwise (bools are not numbers)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        try:
            out = float(value)
        except OverflowError:
            return None
    elif isinstance(value, str):
        try:
            out = float(value.strip()[:64])
        except ValueError:
            return None
    else:
        return None
    return out if math.isfinite(out) else None


def json_in_string(value: Any) -> Any:
    """A value some backends send JSON-encoded inside a string, decoded; None when that string is not
    JSON. Any other value is returned as it is."""
    if not isinstance(value, (str, bytes)):
        return value
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return None
