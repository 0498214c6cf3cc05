"""One module per figure; each declares `SPEC` (name, title, goal, the coroutine, its analysis notes)."""

from __future__ import annotations

from bench.figures import cold_start, export, frames, http, language, result_text, sse, tool_call, upload
from bench.report import Spec

SPECS: dict[str, Spec] = {
    m.SPEC.name: m.SPEC
    for m in (cold_start, tool_call, upload, sse, export, http, result_text, frames, language)
}
FIGURES = tuple(SPECS)
