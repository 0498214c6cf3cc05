# ruff: noqa: E501  (prose strings that end up in the results JSON)
"""sse: a 100,000-event `/run_sse` stream through `NemoClient.stream_turn` vs httpx-sse + `json.loads`
per event (the work any client of these events does), over the same loopback stream.

Interleaved: each round reads the stream with stream_turn, with httpx-sse + json.loads, and with raw
httpx-sse (framing only) back to back, order rotated every round; each round gives one pair ratio
stream_turn / (httpx-sse + json.loads) (the headline's pairs) and one stream_turn / raw httpx-sse (the extra
row). In memory, `nemo_mcp.api.sse.parse_stream` is timed on the same bytes next to httpx-sse's decoders,
in the same interleaved way.
"""

from __future__ import annotations

import gc
import json
import subprocess
import time
from collections.abc import Callable
from typing import Any

import httpx

from bench.harness import BENCH, PY, Bench
from bench.report import Figure, Spec
from bench.stats import median, pair_ratios, r3, rotated, rounded, spread

GOAL = 2.0
CHUNK = 64 * 1024


async def run(bench: Bench, fig: Figure) -> None:
    from httpx_sse import aconnect_sse

    from nemo_mcp.api import ApiConfig, NemoClient
    from nemo_mcp.api.models import TurnEnded

    events = bench.args.sse_events
    rounds = 2 if bench.args.quick else 5
    proc = bench.popen(
        [PY, str(BENCH / "sse_server.py"), "--events", str(events)],
        name="sse-server",
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if not line or line[0] != "PORT":
        raise RuntimeError(f"sse server did not start: {bench.stderr_tail('sse-server')}")
    port, nbytes = int(line[1]), int(line[3])
    url = f"http://127.0.0.1:{port}"
    body = {
        "app_name": "nemo_agent",
        "user_id": "me",
        "session_id": "1",
        "new_message": {"parts": [{"text": "x"}]},
    }
    seconds: dict[str, list[float]] = {"stream_turn": [], "httpx_sse+json": [], "httpx_sse": []}
    counts: dict[str, int] = {}

    async def stream_turn() -> None:
        cfg = ApiConfig.from_env(
            {}, base_url=url, token="bench-token", config_dir=bench.tmp / "sse-cfg", persist_token=False
        )
        async with NemoClient(cfg) as api:
            n = 0
            ended: TurnEnded | None = None
            t0 = time.perf_counter()
            async for ev in api.stream_turn("1234567890123456789", "bench"):
                if isinstance(ev, TurnEnded):
                    ended = ev
                else:
                    n += 1
            seconds["stream_turn"].append(time.perf_counter() - t0)
        assert ended is not None
        if ended.reason != "closed" or ended.event_count != events:
            raise RuntimeError(
                f"stream_turn ended {ended.reason} with {ended.event_count} events (want {events})"
            )
        counts["stream_turn_items"] = n
        counts["stream_turn_events"] = ended.event_count
        counts["stream_turn_heartbeats"] = ended.heartbeat_count

    async def httpx_sse(decode_json: bool) -> None:
        async with httpx.AsyncClient(timeout=httpx.Timeout(60, read=None)) as http:
            n = 0
            t0 = time.perf_counter()
            async with aconnect_sse(http, "POST", url + "/run_sse", json=body) as es:
                es.response.raise_for_status()
                async for sse in es.aiter_sse():
                    if decode_json:
                        json.loads(sse.data)
                    n += 1
            seconds["httpx_sse+json" if decode_json else "httpx_sse"].append(time.perf_counter() - t0)
        if n != events:
            raise RuntimeError(f"httpx-sse saw {n} events (want {events})")
        counts["httpx_sse_events"] = n

    async def with_json() -> None:
        await httpx_sse(True)

    async def raw() -> None:
        await httpx_sse(False)

    try:
        for step in (raw, with_json, stream_turn):  # warm-up (imports, server page cache)
            await step()
        for v in seconds.values():
            v.clear()
        for i in range(rounds):
            for step in rotated([stream_turn, with_json, raw], i):
                await step()
    finally:
        bench.stop(proc)

    mem = in_memory(events, 2 if bench.args.quick else 3)
    s, j, r = seconds["stream_turn"], seconds["httpx_sse+json"], seconds["httpx_sse"]
    pairs = pair_ratios(s, j)
    pairs_raw = pair_ratios(s, r)
    ratio = fig.set_ratio(pairs)
    fig.met = ratio <= GOAL
    fig.subject = f"{median(s):.2f} s = {events / median(s) / 1000:.0f}k ev/s (stream_turn)"
    fig.baseline = f"{median(j):.2f} s (httpx-sse aiter_sse + json.loads per event)"
    fig.row(
        "sse (vs raw httpx-sse, no JSON)",
        fig.subject,
        f"{median(r):.2f} s = {events / median(r) / 1000:.0f}k ev/s (aiter_sse only)",
        "info",
        pairs=pairs_raw,
    )
    fig.row(
        "sse (in memory: parse_stream)",
        f"{mem['median_s']['parse_stream']:.2f} s (parse_stream, 64 KiB chunks)",
        f"{mem['median_s']['httpx_sse_decoders+json.loads']:.2f} s (httpx-sse decoders + json.loads)",
        f"info (<= {GOAL:g}x)",
        pairs=mem["pairs"]["parse_stream / (httpx_sse_decoders+json.loads)"],
        met=median(mem["pairs"]["parse_stream / (httpx_sse_decoders+json.loads)"]) <= GOAL,
    )
    mem["pairs"] = {k: {**spread(v), "all": rounded(v)} for k, v in mem["pairs"].items()}
    fig.details = {
        "events": events,
        "stream_bytes": nbytes,
        "rounds": rounds,
        "seconds": {k: rounded(v) for k, v in seconds.items()},
        "pair_ratios": {
            "stream_turn / (httpx_sse+json)": rounded(pairs),
            "stream_turn / httpx_sse": rounded(pairs_raw),
        },
        "counts": counts,
        "in_memory": mem,
        "method": "all three clients read the same bytes over HTTP from bench/sse_server.py (a separate "
        "loopback process; ADK events, a keep-alive comment per 100 events, 64 KiB chunks). Subject: "
        "NemoClient.stream_turn (httpx stream, idle watchdog, parse_stream's TurnParser: SSE framing by "
        "httpx-sse's decoders, JSON decode, typed events, the turn summary). Baseline: httpx_sse.aconnect_sse "
        "+ aiter_sse + json.loads of every event's data (what any consumer of these events does); raw "
        f"aiter_sse without JSON is the extra row. One warm-up each, then {rounds} rounds of the three back to "
        "back (order rotated every round); each round gives one pair ratio; headline = median pair ratio. "
        "in_memory: the same bytes in 64 KiB chunks, no HTTP: nemo_mcp.api.sse.parse_stream vs httpx-sse's "
        "line and event decoders with and without json.loads of each event (documents discarded), "
        "interleaved rounds, pair ratios. parse_stream returns all its events in a list, so its time includes "
        "keeping 100,000 objects alive (the garbage collector's passes over them), which a streaming consumer "
        "(stream_turn, the headline) does not pay: the case `TurnParser.feed, events discarded` is the same "
        "parser without the list. split_of_parse_stream_s shows the shares.",
    }


def in_memory(events: int, rounds: int) -> dict[str, Any]:
    """parse_stream vs httpx-sse's decoders on the same bytes (64 KiB chunks), interleaved rounds."""
    from httpx_sse._decoders import SSEDecoder, SSELineDecoder

    from bench.sse_server import build_stream
    from nemo_mcp.api.sse import TurnParser, parse_stream

    blob = build_stream(events)
    chunks = [blob[i : i + CHUNK] for i in range(0, len(blob), CHUNK)]

    def hx(decode_json: bool) -> int:
        dec, lines, n = SSEDecoder(), SSELineDecoder(), 0
        for c in chunks:
            for ln in lines.decode(c.decode("utf-8")):
                ev = dec.decode(ln.rstrip("\n"))
                if ev is not None:
                    if decode_json:
                        json.loads(ev.data)
                    n += 1
        return n

    def ours() -> int:
        _, parser = parse_stream(blob, CHUNK)
        return int(parser.event_count)

    def streaming() -> int:  # the same parser, events dropped as they come (as stream_turn's caller can)
        parser = TurnParser()
        for c in chunks:
            parser.feed(c)
        parser.close()
        return int(parser.event_count)

    cases: dict[str, Callable[[], int]] = {
        "parse_stream": ours,
        "TurnParser.feed, events discarded": streaming,
        "httpx_sse_decoders+json.loads": lambda: hx(True),
        "httpx_sse_decoders": lambda: hx(False),
    }
    times: dict[str, list[float]] = {k: [] for k in cases}
    for i in range(rounds):
        for name in rotated(list(cases), i):
            gc.collect()
            t0 = time.perf_counter()
            n = cases[name]()
            times[name].append(time.perf_counter() - t0)
            if n != events:
                raise RuntimeError(f"{name} counted {n} events (want {events})")
    p, j, r = times["parse_stream"], times["httpx_sse_decoders+json.loads"], times["httpx_sse_decoders"]
    # where parse_stream's time goes, from the medians: framing (httpx-sse's decoders), json.loads, the rest
    framing, with_json, total = median(r), median(j), median(p)
    return {
        "bytes": len(blob),
        "seconds": {k: rounded(v) for k, v in times.items()},
        "median_s": {k: median(v) for k, v in times.items()},
        "pairs": {
            "parse_stream / (httpx_sse_decoders+json.loads)": pair_ratios(p, j),
            "parse_stream / httpx_sse_decoders": pair_ratios(p, r),
        },
        "split_of_parse_stream_s": {
            "framing (httpx-sse decoders)": r3(framing),
            "json.loads": r3(with_json - framing),
            "typed events, turn summary, the kept list": r3(total - with_json),
            "of which the kept list (parse_stream - TurnParser.feed discarding)": r3(
                total - median(times["TurnParser.feed, events discarded"])
            ),
        },
    }


ANALYSIS = {
    "evidence": "details.in_memory splits parse_stream's cost on the same bytes: framing (httpx-sse's own "
    "decoders, which the parser uses since 67ce4c3), json.loads, and the rest (typed events, the turn "
    "summary, and parse_stream's list of events). The framing and json.loads shares are what the baseline "
    "pays too; the rest is the parser's own. An ad-hoc comparison on 2026-12-01 (same 100,000-event bytes, "
    "64 KiB chunks, 3 interleaved rounds, this machine under load): TurnParser.feed at 855997a (its own "
    "SSEDecoder, 80f024a's fast paths) 0.68-1.14 s, at 67ce4c3 1.34-2.00 s, httpx-sse decoders + json.loads "
    "0.48-0.72 s. Over HTTP, stream_turn also runs the idle watchdog per chunk.",
    "suggested_fix": "nemo_mcp/api/sse.py: 67ce4c3 chose line-by-line framing through httpx-sse's decoders "
    "with per-line size bookkeeping (SSEFramer) and pydantic's normal constructors for events (TurnParser); "
    "profile `bench/run --only sse` to see which of the two costs more before trading either back (a design "
    "decision of the API layer).",
}

SPEC = Spec(
    name="sse",
    title="SSE: 100,000-event stream through stream_turn vs httpx-sse + json.loads",
    goal=f"<= {GOAL:g}x",
    run=run,
    min_seconds=10,
    analysis=ANALYSIS,
)
