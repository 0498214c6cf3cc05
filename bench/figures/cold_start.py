# ruff: noqa: E501  (prose strings that end up in the results JSON)
"""cold_start: spawn -> `tools/list` answered over stdio, nemo-mcp vs a bare MCPServer with one tool.

Interleaved: each round spawns the bare server, `nemo-mcp` (cloud mode, NEMO_API_URL -> the bench's local
backend) and `nemo-mcp --backend local` back to back (order rotated every round); each round gives one
pair ratio nemo/bare (and local/bare for the extra row). Headline: the median pair ratio.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any

from bench.harness import BARE_SERVER, NEMO, PY, ROOT, Bench
from bench.report import Figure, Spec
from bench.stats import median, pair_ratios, r3, rotated, rounded

GOAL = 1.25

PHASES_SCRIPT = r"""
import json, sys, time
t0 = time.perf_counter()
if sys.argv[1] == "bare":
    from mcp.server import MCPServer
    t1 = time.perf_counter()
    m = MCPServer("bare", version="0")
    @m.tool()
    async def echo(text: str = "") -> str:
        return text
    t2 = time.perf_counter()
    print(json.dumps({"import": (t1 - t0) * 1000, "build_server": (t2 - t1) * 1000}))
else:
    import nemo_mcp.server.app as app
    from nemo_mcp.server.settings import ServerSettings
    t1 = time.perf_counter()
    settings = ServerSettings.from_env()
    app.build_server(settings)
    t2 = time.perf_counter()
    from nemo_mcp.api import NemoClient
    from nemo_mcp.server.service import build_api_config
    NemoClient(build_api_config(settings, settings.api_url))
    t3 = time.perf_counter()
    import httpx
    httpx.AsyncClient()
    t4 = time.perf_counter()
    print(json.dumps({"import": (t1 - t0) * 1000, "build_server": (t2 - t1) * 1000,
                      "NemoClient()": (t3 - t2) * 1000, "another httpx.AsyncClient()": (t4 - t3) * 1000}))
"""


def phases(bench: Bench, runs: int = 3) -> dict[str, Any]:
    """Where start-up time goes, in-process (no MCP traffic): median of `runs` fresh interpreters each,
    bare and nemo alternating."""
    samples: dict[str, list[dict[str, float]]] = {"bare": [], "nemo": []}
    for _ in range(runs):
        for kind in samples:
            p = subprocess.run(
                [PY, "-c", PHASES_SCRIPT, kind],
                capture_output=True,
                text=True,
                timeout=60,
                env={**os.environ, **bench.env("phases")},
                cwd=str(ROOT),
            )
            if p.returncode != 0:
                raise RuntimeError(f"phase timing failed: {p.stderr[-500:]}")
            samples[kind].append(json.loads(p.stdout.strip().splitlines()[-1]))
    return {kind: {k: round(median([s[k] for s in ss]), 1) for k in ss[0]} for kind, ss in samples.items()}


async def run(bench: Bench, fig: Figure) -> None:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    rounds = 3 if bench.args.quick else 7
    variants = {
        "bare": (PY, [BARE_SERVER], bench.env("cold-bare")),
        "nemo": (NEMO, [], bench.env("cold-nemo")),
        "nemo_local": (NEMO, ["--backend", "local"], bench.env("cold-local", cloud=False)),
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    tools: dict[str, int] = {}

    async def once(key: str) -> None:
        cmd, args, env = variants[key]
        params = StdioServerParameters(command=cmd, args=args, env=env, cwd=str(ROOT))
        with open(bench.logs / f"cold-{key}.stderr", "a") as errlog:
            t0 = time.perf_counter()
            async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=60) as client:
                listed = await client.list_tools()
                t1 = time.perf_counter()
        times[key].append(t1 - t0)
        tools[key] = len(listed.tools)

    for key in variants:  # warm the page cache and .pyc files; not counted
        await once(key)
        times[key].clear()
    for i in range(rounds):
        for key in rotated(list(variants), i):
            await once(key)
    nemo = pair_ratios(times["nemo"], times["bare"])
    local = pair_ratios(times["nemo_local"], times["bare"])
    ratio = fig.set_ratio(nemo)
    fig.met = ratio <= GOAL
    med = {k: median(v) for k, v in times.items()}
    fig.subject = f"{med['nemo'] * 1000:.0f} ms (nemo-mcp, {tools['nemo']} tools)"
    fig.baseline = f"{med['bare'] * 1000:.0f} ms (bare MCPServer, 1 tool)"
    fig.row(
        "cold_start (--backend local)",
        f"{med['nemo_local'] * 1000:.0f} ms (nemo-mcp --backend local)",
        fig.baseline,
        f"info (<= {GOAL}x)",
        pairs=local,
        met=median(local) <= GOAL,
    )
    fig.details = {
        "rounds": rounds,
        "phases_ms": phases(bench),
        "median_s": {k: r3(v) for k, v in med.items()},
        "samples_s": {k: rounded(v) for k, v in times.items()},
        "pair_ratios": {"nemo/bare": rounded(nemo), "nemo_local/bare": rounded(local)},
        "ratio_of_medians": {"nemo/bare": r3(med["nemo"] / med["bare"])},
        "tools": tools,
        "method": "SDK Client(stdio_client(...)): spawn -> server/discover negotiation -> tools/list returned. "
        f"One warm-up spawn each, then {rounds} rounds; each round spawns bare, nemo and nemo --backend local "
        "back to back, the order rotated every round, and gives one pair ratio each (nemo/bare, local/bare); "
        "headline = median pair ratio. nemo-mcp runs in its default cloud mode with NEMO_API_URL pointing at "
        "the bench's local backend (backend start-up not counted); `--backend local` (embedded backend "
        "started inside the server) is the extra row. phases_ms: import / build_server / NemoClient() in "
        "fresh interpreters, no MCP traffic.",
    }


ANALYSIS = {
    "evidence": "details.phases_ms splits start-up in fresh interpreters: imports (nemo_mcp's modules, pydantic "
    "models, httpx next to the SDK's httpx2), build_server (pydantic schema generation for 9 tools with "
    "output schemas; the bare server registers 1 tool), and constructing NemoClient (its httpx client and "
    "SSL context, unless created lazily). The `--backend local` row adds the embedded backend (Starlette, "
    "uvicorn, its state) started inside the lifespan, before the server answers tools/list.",
    "suggested_fix": "Whichever phase grew: python -X importtime -c 'import nemo_mcp.server.app' for imports "
    "(defer the heavy ones to first use); for build_server, the tools' output schemas; for the local row, "
    "start the embedded backend without blocking the lifespan's first answer.",
}

SPEC = Spec(
    name="cold_start",
    title="Cold start: spawn -> tools listed over stdio",
    goal=f"<= {GOAL}x",
    run=run,
    min_seconds=15,
    analysis=ANALYSIS,
)
