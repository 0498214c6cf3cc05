# ruff: noqa: E501  (prose strings that end up in the results JSON)
"""result_text: the characters of text a typical result of each tool hands the model (the `text` blocks of
the `tools/call` result's `content`), now and before the server-layer rewrite.

The same scenario runs through a real MCP client (stdio, `--backend local`, a fixed seed) against two
servers: this working tree's, and the tree of commit `db97672` (the last one before the rewrite),
checked out into a temporary git worktree for the run and removed after it (`PYTHONPATH=<worktree>
python -m nemo_mcp --backend local`). If the worktree cannot be made (no git, a shallow clone), the
"before" side falls back to the numbers recorded below, and the results say so.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from bench.harness import PY, ROOT, Bench, log, stdio_mcp, text_of, tool_ok
from bench.report import Figure, Spec

BEFORE_COMMIT = "db97672"
TOOLS = (
    "upload_media",
    "edit_video",
    "get_timeline",
    "check_credits",
    "export_video",
    "get_job",
    "list_projects",
    "new_project",
)
EDIT = 'trim to the first 1.5 seconds and add the title "Bench" at the top'
EDIT_LATER = "mute the video"
# The embedded backend's knobs for both servers: a fixed seed, and every edit turn answers in text.
LOCAL_ENV = {"NEMO_LOCAL_SEED": "7", "NEMO_LOCAL_SILENT_FRACTION": "0"}

# Fallback only (used when the worktree of BEFORE_COMMIT cannot be made): the "before" characters this
# figure measured on a git worktree of db97672 in the full run of 2026-12-01T23:46:40Z (this scenario).
RECORDED_BEFORE: dict[str, int] = {
    "upload_media": 609,
    "edit_video": 1138,
    "get_timeline": 838,
    "check_credits": 694,
    "export_video": 1051,
    "get_job": 1067,
    "list_projects": 858,
    "new_project": 428,
}


async def scenario(client: Any, clip: Path) -> dict[str, dict[str, Any]]:
    """The quick-edit workflow, each tool once in its typical (successful, finished) form; per tool: the
    text characters, the number of text blocks, the structuredContent's JSON size, and the text itself."""
    seen: dict[str, dict[str, Any]] = {}

    async def call(name: str, args: dict[str, Any], *, record: bool = True) -> dict[str, Any]:
        res = await client.call_tool(name, args)
        data = tool_ok(res, name)
        if record:
            blocks = [c.text for c in res.content if getattr(c, "type", "") == "text"]
            seen[name] = {
                "chars": sum(len(b) for b in blocks),
                "text_blocks": len(blocks),
                "structured_chars": len(json.dumps(res.structured_content or {}, ensure_ascii=False)),
                "text": text_of(res)[:4000],
            }
        return data

    await call("new_project", {"title": "bench-earlier"}, record=False)
    await call("new_project", {"title": "bench-result-text"})
    await call("upload_media", {"sources": [str(clip)], "wait_seconds": 50})
    await call("edit_video", {"instruction": EDIT, "wait_seconds": 50})
    await call("get_timeline", {})
    await call("check_credits", {})
    await call("export_video", {"wait_seconds": 50})
    # get_job's typical use: an edit answered "running" (wait_seconds=0), then waited for
    running = await call("edit_video", {"instruction": EDIT_LATER, "wait_seconds": 0}, record=False)
    job = running.get("job") or {}
    if running.get("status") != "running" or not job.get("job_id"):
        raise RuntimeError(f"edit_video(wait_seconds=0) did not return a running job: {running}")
    done = await call("get_job", {"job_id": job["job_id"], "wait_seconds": 50})
    if (done.get("job") or {}).get("status") == "running":
        raise RuntimeError("get_job: the edit did not finish within 50 s")
    await call("list_projects", {})
    missing = [t for t in TOOLS if t not in seen]
    if missing:
        raise RuntimeError(f"no result recorded for {missing}")
    return seen


def git(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


async def measure(bench: Bench, name: str, cwd: Path, pythonpath: str | None) -> dict[str, dict[str, Any]]:
    env = bench.env(name, cloud=False, **LOCAL_ENV)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    # which nemo_mcp this interpreter imports from `cwd` with this environment (python -m puts cwd first)
    where = subprocess.run(
        [PY, "-c", "import nemo_mcp; print(nemo_mcp.__file__)"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    if not where.startswith(str(cwd)):
        raise RuntimeError(f"{name}: python -m nemo_mcp would import {where!r}, not the tree at {cwd}")
    clip = await bench.small_clip()
    args = ["-m", "nemo_mcp", "--backend", "local"]
    async with stdio_mcp(bench, name, PY, args, env, cwd=cwd) as (client, _):
        return await scenario(client, clip)


async def run(bench: Bench, fig: Figure) -> None:
    after = await measure(bench, "result-after", ROOT, None)
    before: dict[str, int]
    source: str
    before_detail: dict[str, dict[str, Any]] = {}
    tree = bench.tmp / f"nemo-before-{BEFORE_COMMIT}"
    made = git("worktree", "add", "--detach", str(tree), BEFORE_COMMIT)
    if made.returncode == 0:
        try:
            commit = git("-C", str(tree), "rev-parse", "--short", "HEAD").stdout.strip()
            before_detail = await measure(bench, "result-before", tree, str(tree))
            before = {k: v["chars"] for k, v in before_detail.items()}
            source = f"measured in this run on a git worktree of {commit}"
        finally:
            removed = git("worktree", "remove", "--force", str(tree))
            if removed.returncode != 0:
                log(f"result_text: git worktree remove failed: {removed.stderr.strip()}")
    elif RECORDED_BEFORE:
        log(
            f"result_text: no worktree of {BEFORE_COMMIT} ({made.stderr.strip()}); using the recorded numbers"
        )
        before = dict(RECORDED_BEFORE)
        source = f"recorded numbers of {BEFORE_COMMIT} (RECORDED_BEFORE in bench/figures/result_text.py); the worktree failed: {made.stderr.strip()[:200]}"
    else:
        raise RuntimeError(f"git worktree add {BEFORE_COMMIT} failed: {made.stderr.strip()}")
    total_a = sum(after[t]["chars"] for t in TOOLS)
    total_b = sum(before[t] for t in TOOLS)
    fig.ratio = total_a / total_b
    fig.subject = f"{total_a} chars (8 tools, now)"
    fig.baseline = f"{total_b} chars (8 tools, {BEFORE_COMMIT})"
    for t in TOOLS:
        a, b = after[t]["chars"], before[t]
        fig.row(f"result_text {t}", f"{a} chars", f"{b} chars", "info", ratio=a / b if b else None)
    fig.details = {
        "before_commit": BEFORE_COMMIT,
        "before_source": source,
        "chars": {
            t: {
                "before": before[t],
                "after": after[t]["chars"],
                "ratio": round(after[t]["chars"] / before[t], 3) if before[t] else None,
            }
            for t in TOOLS
        },
        "grew": [t for t in TOOLS if after[t]["chars"] > before[t]],
        "after": after,
        "before": before_detail or None,
        "scenario": [
            "new_project(title) twice (list_projects then lists two)",
            "upload_media([2 s clip], wait_seconds=50)",
            f"edit_video({EDIT!r}, wait_seconds=50)",
            "get_timeline()",
            "check_credits()",
            "export_video(wait_seconds=50)",
            f"edit_video({EDIT_LATER!r}, wait_seconds=0) -> running; get_job(job_id, wait_seconds=50)",
            "list_projects()",
        ],
        "method": "A real MCP client (SDK Client over stdio) runs the scenario against `python -m nemo_mcp "
        "--backend local` (embedded backend, NEMO_LOCAL_SEED=7, NEMO_LOCAL_SILENT_FRACTION=0): once on this "
        f"working tree and once on a git worktree of {BEFORE_COMMIT} (PYTHONPATH and cwd = the worktree; "
        "checked: the interpreter imports nemo_mcp from it). chars = the total length of the result's text "
        "content blocks (what the model reads; structuredContent is counted apart in structured_chars). "
        "Ids, ports and temp paths in the texts make a few characters vary between runs.",
    }


SPEC = Spec(
    name="result_text",
    title="Result text: characters of text each tool's typical result hands the model, now vs db97672",
    goal="info (before: db97672)",
    run=run,
    min_seconds=20,
)
