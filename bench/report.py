"""What a run reports: the figures, the machine it ran on, the table, the results JSON, the README block."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from bench.stats import r3, spread

if TYPE_CHECKING:
    from bench.harness import Bench

ROOT = Path(__file__).resolve().parent.parent
README_START, README_END = "<!-- latest-table:start -->", "<!-- latest-table:end -->"


@dataclass
class Figure:
    """One figure's outcome. `ratio` is the headline (for interleaved figures, the median of the pair
    ratios, whose spread is `pairs`); `details` carries the method, the raw samples and the analysis."""

    name: str
    title: str
    goal: str
    command: str
    subject: str = ""
    baseline: str = ""
    ratio: float | None = None
    pairs: list[float] = field(default_factory=list)
    met: bool | None = None
    error: str | None = None
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    extra_rows: list[dict[str, Any]] = field(default_factory=list)

    def set_ratio(self, pairs: list[float]) -> float:
        """The headline from interleaved pairs: their median (kept with its spread)."""
        self.pairs = pairs
        self.ratio = spread(pairs)["median"]
        return float(self.ratio) if self.ratio is not None else float("nan")

    def row(
        self,
        figure: str,
        subject: str,
        baseline: str,
        goal: str,
        *,
        pairs: list[float] | None = None,
        ratio: float | None = None,
        met: bool | None = None,
    ) -> None:
        """An extra row under the figure (a variant or a breakdown), with its own pairs or ratio."""
        if pairs is not None:
            ratio = spread(pairs)["median"]
        self.extra_rows.append(
            {
                "figure": figure,
                "subject": subject,
                "baseline": baseline,
                "ratio": r3(ratio),
                "pair_ratios": spread(pairs) if pairs else None,
                "goal": goal,
                "met": met,
            }
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "subject": self.subject,
            "baseline": self.baseline,
            "ratio": r3(self.ratio),
            "pair_ratios": {**spread(self.pairs), "all": [r3(x) for x in self.pairs]} if self.pairs else None,
            "goal": self.goal,
            "met": self.met,
            "error": self.error,
            "command": self.command,
            "seconds": round(self.seconds, 1),
            "details": self.details,
            "extra_rows": self.extra_rows,
        }


@dataclass(frozen=True)
class Spec:
    """A figure module's declaration: what it measures, its goal, and the coroutine that measures it."""

    name: str
    title: str
    goal: str
    run: Callable[[Bench, Figure], Awaitable[None]]
    min_seconds: float  # a rough lower bound of its duration: skip rather than overrun the budget
    analysis: dict[str, str] = field(default_factory=dict)  # written into the results on a missed goal
    needs_backend: bool = True  # False: the run does not start the shared local backend for it


def machine() -> dict[str, Any]:
    """CPU model, cores, RAM, OS, Python, package versions, curl, git commit, load average."""
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    pkgs: dict[str, str | None] = {}
    for name in (
        "nemo-mcp",
        "mcp",
        "mcp-types",
        "httpx",
        "httpx2",
        "httpx-sse",
        "anyio",
        "sniffio",
        "pydantic",
        "starlette",
        "uvicorn",
        "python-multipart",
        "imageio-ffmpeg",
        "psutil",
    ):
        try:
            pkgs[name] = version(name)
        except PackageNotFoundError:
            pkgs[name] = None
    curl = ""
    with contextlib.suppress(Exception):
        out = subprocess.run(["curl", "--version"], capture_output=True, text=True, timeout=5).stdout
        curl = out.split("\n")[0]
    git: dict[str, Any] = {}
    with contextlib.suppress(Exception):
        git["commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, timeout=5
        ).stdout.splitlines()
        git["dirty_files_outside_bench"] = len([ln for ln in status if not ln[3:].startswith("bench/")])
    return {
        "cpu_model": cpu,
        "logical_cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "ram_GiB": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": pkgs,
        "curl": curl,
        "git": git,
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
    }


def fmt_met(m: bool | None) -> str:
    return "yes" if m is True else "NO" if m is False else "-"


def _iqr(pairs: dict[str, Any] | None) -> str:
    if not pairs or not pairs.get("n"):
        return "-"
    return f"{pairs['p25']:.2f}-{pairs['p75']:.2f} (n={pairs['n']})"


def table(figs: list[dict[str, Any]]) -> str:
    """The summary table of figures (as `Figure.as_dict` gives them): one row per figure and its extra
    rows; `pairs IQR` is the interquartile range of the pair ratios behind the headline ratio (their
    median)."""
    rows = [("figure", "subject", "baseline", "ratio", "pairs IQR", "goal", "met?")]
    for f in figs:
        if f["error"]:
            rows.append(
                (f["name"], "ERROR: " + f["error"].splitlines()[-1][:80], "", "", "", f["goal"], "ERROR")
            )
            continue
        ratio = f"{f['ratio']:.2f}x" if f["ratio"] is not None else "-"
        rows.append(
            (
                f["name"],
                f["subject"],
                f["baseline"],
                ratio,
                _iqr(f["pair_ratios"]),
                f["goal"],
                fmt_met(f["met"]),
            )
        )
        for e in f["extra_rows"]:
            er = f"{e['ratio']:.2f}x" if e.get("ratio") is not None else "-"
            rows.append(
                (
                    "  " + e["figure"],
                    e["subject"],
                    e["baseline"],
                    er,
                    _iqr(e.get("pair_ratios")),
                    e["goal"],
                    fmt_met(e["met"]),
                )
            )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def save(doc: dict[str, Any], out: Path, stamp: str) -> tuple[Path, dict[str, Any]]:
    """Write `<stamp>.json` and `latest.json` into `out`; returns the timestamped file and what
    latest.json now holds. A run of some figures only (`doc["partial"]`) is merged into the previous
    latest.json: its figures replace those of the same name (each marked with the run it came from),
    the others are kept as they were measured, and `merged_runs` lists the runs merged in."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stamp}.json").write_text(_json(doc))
    latest = doc
    if doc.get("partial"):
        latest = _merged(out / "latest.json", doc, f"{stamp}.json") or doc
    (out / "latest.json").write_text(_json(latest))
    return out / f"{stamp}.json", latest


def _json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1, ensure_ascii=False, default=str) + "\n"


def _merged(path: Path, doc: dict[str, Any], file: str) -> dict[str, Any] | None:
    try:
        base: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(base.get("figures"), list):
        return None
    fresh = {f["name"]: {**f, "run_utc": doc["started_utc"], "results_file": file} for f in doc["figures"]}
    base["figures"] = [fresh.pop(f["name"], f) for f in base["figures"]] + list(fresh.values())
    base["table"] = table(base["figures"]).splitlines()
    runs = [r for r in base.get("merged_runs", []) if not set(r["figures"]) <= set(fresh_names(doc))]
    runs.append(
        {
            "started_utc": doc["started_utc"],
            "results_file": file,
            "figures": fresh_names(doc),
            "wall_seconds": doc["wall_seconds"],
            "load_avg_start": doc["machine"]["load_avg_start"],
            "git": doc["machine"].get("git"),
        }
    )
    base["merged_runs"] = runs
    return base


def fresh_names(doc: dict[str, Any]) -> list[str]:
    return [f["name"] for f in doc["figures"]]


def _replace_block(text: str, start: str, end: str, body: str) -> str | None:
    if start not in text or end not in text:
        return None
    head, rest = text.split(start, 1)
    return head + start + "\n" + body + "\n" + end + rest.split(end, 1)[1]


def update_readme(readme: Path, doc: dict[str, Any], path: str) -> bool:
    """Rewrite the block between the latest-table markers of `readme` from `doc` (latest.json's content);
    False when it has no markers. Runs merged in from partial runs are named after the full run's line."""
    m = doc["machine"]
    line = (
        f"Run {doc['started_utc']} ({path}), {doc['wall_seconds']:.0f} s, "
        f"on {m['cpu_model']}, {m['logical_cores']} cores, {m['ram_GiB']} GiB, Python {m['python']}, "
        f"mcp {m['packages'].get('mcp')}, load average {m['load_avg_start'][0]} at the start "
        "(a shared machine)."
    )
    came_from = {f["name"]: f.get("run_utc") for f in doc["figures"]}
    for run in doc.get("merged_runs", []):
        names = ", ".join(f"`{n}`" for n in run["figures"] if came_from.get(n) == run["started_utc"])
        if not names:
            continue
        line += (
            f" {names} from a later partial run: {run['started_utc']} "
            f"(bench/results/{run['results_file']}), load average {run['load_avg_start'][0]}."
        )
    body = line + "\n\n```\n" + "\n".join(doc["table"]) + "\n```"
    text = _replace_block(readme.read_text(), README_START, README_END, body)
    if text is None:
        return False
    readme.write_text(text)
    return True


def update_figure_blocks(readme: Path, figs: list[dict[str, Any]]) -> list[str]:
    """Rewrite each `<!-- figure:<name>:start -->` ... `<!-- figure:<name>:end -->` block of `readme` with
    the figure's `details.readme_block` (figures with tables of their own); returns the names written."""
    text = readme.read_text()
    written: list[str] = []
    for f in figs:
        body = (f.get("details") or {}).get("readme_block")
        if f.get("error") or not body:
            continue
        name = f["name"]
        replaced = _replace_block(text, f"<!-- figure:{name}:start -->", f"<!-- figure:{name}:end -->", body)
        if replaced is not None:
            text, written = replaced, [*written, name]
    if written:
        readme.write_text(text)
    return written
