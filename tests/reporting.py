"""Records that tests leave for the end-of-run summary (the fault matrix, the soak figures).

A test calls `record_cell` / `record_figures`; the records are attached to that test's report as
`user_properties` when it is torn down, which pytest-xdist sends from the worker to the controller; the root
conftest's `pytest_runtest_logreport` collects them and `pytest_terminal_summary` prints them once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass
class Cell:
    fault: str
    tool: str
    outcome: str  # "recovered" | "[tag]" | "FAILED: ..."
    detail: str = ""


# Recorded by the test running in this process, not yet attached to its report.
PENDING_CELLS: list[Cell] = []
PENDING_FIGURES: dict[str, dict[str, Any]] = {}
# Collected from the reports (in the controller under xdist, else in this process).
CELLS: list[Cell] = []
FIGURES: dict[str, dict[str, Any]] = {}


def record_cell(fault: str, tool: str, outcome: str, detail: str = "") -> None:
    PENDING_CELLS.append(Cell(fault, tool, outcome, detail))


def record_figures(name: str, figures: dict[str, Any]) -> None:
    PENDING_FIGURES[name] = {key: str(value) for key, value in figures.items()}


def attach(user_properties: list[tuple[str, object]]) -> None:
    """Move what the test recorded onto its report."""
    user_properties += [("nemo_cell", asdict(c)) for c in PENDING_CELLS]
    user_properties += [("nemo_figures", [name, fig]) for name, fig in PENDING_FIGURES.items()]
    PENDING_CELLS.clear()
    PENDING_FIGURES.clear()


def collect(user_properties: list[tuple[str, Any]]) -> None:
    for key, value in user_properties:
        if key == "nemo_cell":
            CELLS.append(Cell(**value))
        elif key == "nemo_figures":
            FIGURES[value[0]] = value[1]


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


def summary(terminalreporter: Any, rootpath: Path) -> None:
    table = matrix_table()
    if table:
        terminalreporter.section("nemo-mcp fault matrix (fault x tool -> outcome)")
        terminalreporter.write_line(table)
        path = rootpath / ".pytest_cache" / "nemo-fault-matrix.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(table + "\n", encoding="utf-8")
        terminalreporter.write_line(f"(also written to {path})")
    for name, figures in FIGURES.items():
        terminalreporter.section(f"nemo-mcp {name}")
        for key, value in figures.items():
            terminalreporter.write_line(f"{key:>22}: {value}")
