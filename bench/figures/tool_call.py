# ruff: noqa: E501  (prose strings that end up in the results JSON)
"""tool_call: `check_credits` over stdio vs (a bare echo tool call over stdio + the same GET with httpx).

Interleaved: the nemo-mcp and bare stdio sessions and the httpx client stay open and warm; each round makes
one call of each kind back to back (order rotated every round) and gives one pair ratio
check_credits / (echo + GET). Headline: the median pair ratio.
"""

from __future__ import annotations

import contextlib
import time

import httpx
import psutil

from bench.harness import BARE_SERVER, NEMO, PY, Bench, cpu_s, stdio_mcp, tool_ok
from bench.report import Figure, Spec
from bench.stats import median, pair_ratios, pct, r3, rotated, rounded

GOAL = 1.2


async def run(bench: Bench, fig: Figure) -> None:
    rounds = 30 if bench.args.quick else 120
    token = bench.mint_token()
    headers = {"Authorization": f"Bearer {token}", **bench.attribution_headers()}
    backend = bench.backend_process()
    me = psutil.Process()
    samples: dict[str, list[float]] = {"check_credits": [], "echo": [], "httpx_get": []}
    cpu = dict.fromkeys(samples, 0.0)  # CPU seconds per kind: every process the call involves
    async with contextlib.AsyncExitStack() as stack:
        nemo, nemo_proc = await stack.enter_async_context(
            stdio_mcp(bench, "tool-nemo", NEMO, [], bench.env("tool-nemo"))
        )
        bare, bare_proc = await stack.enter_async_context(
            stdio_mcp(bench, "tool-bare", PY, [BARE_SERVER], bench.env("tool-bare"))
        )
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=bench.backend_url, timeout=30))

        async def check_credits() -> None:
            tool_ok(await nemo.call_tool("check_credits", {}), "check_credits")

        async def echo() -> None:
            tool_ok(await bare.call_tool("echo", {"text": "hi"}), "echo")

        async def httpx_get() -> None:
            r = await http.get("/api/credits/balance/simple", headers=headers)
            r.raise_for_status()
            if r.json().get("code") != 0:
                raise RuntimeError(f"credits GET failed: {r.text[:200]}")

        kinds = {
            "check_credits": (check_credits, [nemo_proc, backend, me]),
            "echo": (echo, [bare_proc, me]),
            "httpx_get": (httpx_get, [backend, me]),
        }
        for _ in range(3):  # warm-up: token mint, connection pools, first-call imports
            for fn, _procs in kinds.values():
                await fn()
        for i in range(rounds):
            for name in rotated(list(kinds), i):
                fn, procs = kinds[name]
                c0 = sum(cpu_s(p) for p in procs)
                t0 = time.perf_counter()
                await fn()
                samples[name].append(time.perf_counter() - t0)
                cpu[name] += sum(cpu_s(p) for p in procs) - c0
    s, e, g = samples["check_credits"], samples["echo"], samples["httpx_get"]
    pairs = pair_ratios(s, [a + b for a, b in zip(e, g, strict=True)])
    ratio = fig.set_ratio(pairs)
    fig.met = ratio <= GOAL
    m_s, m_e, m_g = median(s), median(e), median(g)
    fig.subject = f"{m_s * 1000:.2f} ms (check_credits)"
    fig.baseline = f"{(m_e + m_g) * 1000:.2f} ms (echo {m_e * 1000:.2f} + httpx GET {m_g * 1000:.2f})"
    n = len(s)
    fig.details = {
        "rounds": rounds,
        "median_ms": {k: r3(median(v) * 1000) for k, v in samples.items()},
        "p90_ms": {k: r3(pct(v, 90) * 1000) for k, v in samples.items()},
        "ratio_of_medians": r3(m_s / (m_e + m_g)),
        "samples_ms": {k: rounded([x * 1000 for x in v], 3) for k, v in samples.items()},
        "cpu_ms_per_call": {
            "check_credits (nemo server + backend + client)": r3(cpu["check_credits"] / n * 1000),
            "bare echo (bare server + client)": r3(cpu["echo"] / n * 1000),
            "httpx GET (backend + client)": r3(cpu["httpx_get"] / n * 1000),
            "ratio_to_sum": r3(cpu["check_credits"] / max(1e-9, cpu["echo"] + cpu["httpx_get"])),
        },
        "method": "one long-lived stdio session per server and one keep-alive httpx.AsyncClient, warm (3 calls "
        f"each first); then {rounds} rounds, each one call of each kind back to back in an order rotated every "
        "round; each round gives one pair ratio check_credits / (echo + GET); headline = median pair ratio "
        "(ratio_of_medians for comparison). The httpx baseline sends GET /api/credits/balance/simple to the "
        "same backend with the same auth + X-Skill-* headers. cpu_ms_per_call sums the CPU time of every "
        "process a call involves (psutil, read around each call; a load-independent cross-check).",
    }


ANALYSIS = {
    "evidence": "check_credits sends the same one GET as the baseline (nemo_mcp/server/workflows/reads.py); the "
    "rest of its time is MCP dispatch, validating and dumping the result model (output schema) and the SDK's "
    "stdio writer, against the bare server's dispatch of a str result. details.cpu_ms_per_call is the "
    "load-independent view of the same split. Since e613f26 a result carries its text once (one text block + "
    "structuredContent; see the result_text figure); before, it also carried the JSON as a second text block.",
    "suggested_fix": "Profile the server (py-spy record --pid <nemo-mcp>) while `bench/run --only tool_call` "
    "runs, and compare with the bare server's profile; the result model's validation in "
    "nemo_mcp/server/toolkit.py (nemo_tool, structured_output=True) is the first candidate.",
}

SPEC = Spec(
    name="tool_call",
    title="Tool call: check_credits over stdio",
    goal=f"<= {GOAL}x of sum",
    run=run,
    min_seconds=5,
    analysis=ANALYSIS,
)
