"""Hardening suite fixtures (shared with tests/server) and the fault-matrix report.

Fault-matrix tests record one row per (fault, tool) cell with `record_cell(...)`. At the end of the
session the table is written to `<rootdir>/.pytest_cache/nemo-fault-matrix.md` and printed in the
terminal summary, so CI output shows it without `-s`. The soak test records its figures the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import _media_dir, clip, nemo, settings  # noqa: F401  (fixtures)


@dataclass
class Cell:
    fault: str
    tool: str
    outcome: str  # "recovered" | "[tag]" | "FAILED: ..."
    detail: str = ""


CELLS: list[Cell] = []
FIGURES: dict[str, dict[str, Any]] = {}


def record_cell(fault: str, tool: str, outcome: str, detail: str = "") -> None:
    CELLS.append(Cell(fault, tool, outcome, detail))


def record_figures(name: str, figures: dict[str, Any]) -> None:
    FIGURES[name] = figures


def matrix_table() -> str:
    if not CELLS:
        return ""
    faults = list(dict.fromkeys(c.fault for c in CELLS))
    tools = list(dict.fromkeys(c.tool for c in CELLS))
    grid: dict[tuple[str, str], str] = {}
    for c in CELLS:
        grid[(c.fault, c.tool)] = c.outcome
    head = ["fault \\ tool", *tools]
    rows = [[f, *(grid.get((f, t), "-") for t in tools)] for f in faults]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    out = [line(head), sep, *(line(r) for r in rows)]
    out.append("")
    out.append("recovered = transparent recovery; [tag] = tagged actionable error; every cell also checked:")
    out.append("no agent message sent twice, the next call works, no job running, no temp file left.")
    return "\n".join(out)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    table = matrix_table()
    if table:
        terminalreporter.section("nemo-mcp fault matrix (fault x tool -> outcome)")
        terminalreporter.write_line(table)
        path = Path(str(config.rootpath)) / ".pytest_cache" / "nemo-fault-matrix.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(table + "\n", encoding="utf-8")
        terminalreporter.write_line(f"(also written to {path})")
    for name, figures in FIGURES.items():
        terminalreporter.section(f"nemo-mcp {name}")
        for key, value in figures.items():
            terminalreporter.write_line(f"{key:>22}: {value}")
