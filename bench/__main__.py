"""nemo-mcp benchmarks: each figure against a baseline measured in the same run (bench/README.md).

Run through `bench/run` (or `python -m bench` from the repository root). Everything targets 127.0.0.1,
every loop is bounded in count and time, and every process the bench starts is stopped by its own handle.

Figures (ratios matter; absolute times on a shared 2-core box drift; each ratio is the median of
interleaved subject/baseline pairs):
  cold_start   spawn -> tools listed over stdio: `nemo-mcp` (cloud mode, NEMO_API_URL -> a local backend)
               vs a bare MCPServer with one tool (bench/bare_server.py); extra row: `nemo-mcp --backend local`
  tool_call    `check_credits` over stdio vs (bare echo tool call over stdio + the same GET with plain httpx)
  upload       ~500 MB MP4 through `upload_media` over stdio vs `curl -F files=@...` to the same endpoint;
               peak RSS of the MCP server process (psutil sampling), with its spread
  sse          100,000-event stream through NemoClient.stream_turn vs httpx-sse aiter_sse + json.loads per
               event over the same loopback stream; in memory: parse_stream vs httpx-sse's decoders
  export       render completed -> export_video result, and status requests, for a 30 s render
  http         Streamable HTTP: 50 concurrent clients x 20 get_timeline vs one client (p95, errors)
  result_text  characters of text each tool's typical result hands the model, now vs commit db97672
  language     routing and GUI-speak translation on the hand-written corpora (floors, no baseline) and the
               time per message of route() and translate(); no backend, a few seconds

A run of some figures (--only/--skip) is merged into results/latest.json: its figures replace those of the
same name, the others stay as their last run measured them (the README line names both runs).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import traceback
from pathlib import Path

import anyio

from bench.figures import FIGURES, SPECS
from bench.harness import BENCH, ROOT, Bench, log
from bench.report import Figure, fmt_met, machine, save, table, update_figure_blocks, update_readme

RESULTS = BENCH / "results"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--only", default="", help=f"comma-separated figures ({', '.join(FIGURES)})")
    p.add_argument("--skip", default="", help="comma-separated figures to leave out")
    p.add_argument("--quick", action="store_true", help="fewer repetitions (smoke test; noisier figures)")
    p.add_argument("--no-save", action="store_true", help="print only; do not write result files")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder for <timestamp>.json and latest.json")
    p.add_argument("--keep-tmp", action="store_true", help="keep the temp folder (logs, configs)")
    p.add_argument(
        "--update-readme",
        action="store_true",
        help="also write the table into bench/README.md (Latest results), and each figure's own block "
        "(<!-- figure:NAME:start -->) into bench/README.md and README.md",
    )
    p.add_argument(
        "--budget", type=float, default=285.0, help="total seconds; later figures are skipped (errors)"
    )
    p.add_argument(
        "--export-what-if",
        action="store_true",
        help="also run the export with render_poll_max=3 s in-process, concurrently (the pre-fix what-if)",
    )
    p.add_argument("--sse-events", type=int, default=100_000)
    p.add_argument("--render-seconds", type=float, default=30.0)
    p.add_argument("--http-clients", type=int, default=50)
    return p.parse_args(argv)


async def run_figure(bench: Bench, name: str, started: float) -> Figure:
    spec = SPECS[name]
    fig = Figure(name=name, title=spec.title, goal=spec.goal, command=f"bench/run --only {name}")
    log(f"{name}: running")
    load0 = os.getloadavg()[0]
    started_fig = time.time()
    t0 = time.perf_counter()
    left = bench.args.budget - (time.time() - started)
    try:
        if left < spec.min_seconds:
            raise TimeoutError(f"not run: {left:.0f} s left of the {bench.args.budget:.0f} s budget")
        with anyio.fail_after(min(240, left)):
            await spec.run(bench, fig)
    except Exception as exc:
        fig.error = f"{type(exc).__name__}: {exc}"
        fig.details["traceback"] = traceback.format_exc()[-3000:]
        tails = bench.recent_stderr(since=started_fig)
        if tails:
            fig.details["stderr_tails"] = tails
            last = next((t.strip().splitlines()[-1] for t in tails.values() if t.strip()), "")
            fig.error += f" | server stderr: {last[:200]}"
        log(f"{name}: ERROR {fig.error}")
    fig.seconds = time.perf_counter() - t0
    fig.details["load_avg_1min"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
    if fig.met is False and spec.analysis:
        fig.details["analysis"] = spec.analysis
    if not fig.error:
        ratio = f"{fig.ratio:.2f}x" if fig.ratio is not None else "-"
        log(f"{name}: {fig.subject} vs {fig.baseline} -> {ratio} ({fmt_met(fig.met)}) in {fig.seconds:.0f} s")
    return fig


async def amain(args: argparse.Namespace) -> int:
    chosen = [f.strip() for f in args.only.split(",") if f.strip()] or list(FIGURES)
    skip = {f.strip() for f in args.skip.split(",") if f.strip()}
    unknown = [f for f in [*chosen, *skip] if f not in FIGURES]
    if unknown:
        log(f"unknown figure(s): {', '.join(unknown)}; choose from {', '.join(FIGURES)}")
        return 2
    chosen = [f for f in chosen if f not in skip]
    bench = Bench(args)
    started = time.time()
    figs: list[Figure] = []
    mach = machine()
    try:
        if any(SPECS[name].needs_backend for name in chosen):
            bench.start_backend()
        for name in chosen:
            figs.append(await run_figure(bench, name, started))
    finally:
        bench.close()
    mach["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    done = [f.as_dict() for f in figs]
    text = table(done)
    print(text)
    print()
    for f in figs:
        print(f"{f.name}: {f.command}")
    for f in figs:
        if not f.error and f.details.get("readme_block"):
            print(f"\n{f.name}:\n\n{f.details['readme_block']}")
    doc = {
        "schema": 2,
        "started_utc": dt.datetime.fromtimestamp(started, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "wall_seconds": round(time.time() - started, 1),
        "args": dict(vars(args)),
        "machine": mach,
        "partial": set(chosen) != set(FIGURES),
        "figures": done,
        "table": text.splitlines(),
    }
    if not args.no_save:
        stamp = dt.datetime.fromtimestamp(started, dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        written, latest = save(doc, Path(args.out), stamp)
        shown = written.resolve().relative_to(ROOT) if written.resolve().is_relative_to(ROOT) else written
        merged = " (this run merged into it)" if latest is not doc else ""
        print(f"\nresults: {shown} (and {shown.parent}/latest.json{merged})")
        if args.update_readme:
            base = latest.get("started_utc", doc["started_utc"]).replace("-", "").replace(":", "")
            base_file = str(shown) if latest is doc else f"{shown.parent}/{base}.json"
            if not update_readme(BENCH / "README.md", latest, base_file):
                log("bench/README.md has no latest-table markers; not updated")
            for readme in (BENCH / "README.md", ROOT / "README.md"):
                for name in update_figure_blocks(readme, done):
                    log(f"{readme.relative_to(ROOT)}: the {name} block rewritten")
    return 1 if any(f.error for f in figs) else 0


def main() -> None:
    args = parse_args(sys.argv[1:])
    raise SystemExit(anyio.run(amain, args))


if __name__ == "__main__":
    main()
