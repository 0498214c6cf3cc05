"""`nemo-mcp local-backend`: serve the embedded backend until Ctrl-C; prints the base URL on stdout.

SIGINT, SIGTERM and SIGHUP all stop it the same way, promptly and quietly: running turns and renders are
cancelled (their FFmpeg processes killed), the server closes, the temporary data folder is removed when the
backend made it (never a `--data-dir`), and the process exits 0 with nothing but its one status line on
stderr (no traceback, no KeyboardInterrupt).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from nemo_mcp.local.knobs import Knobs, field_types
from nemo_mcp.local.server import run_local_backend

CLI_DEFAULTS = {"agent_delay": 0.5, "heartbeat_interval": 5.0}  # a little realism when a person is watching
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="nemo-mcp local-backend",
        description="Run the embedded NemoVideo-compatible backend. "
        "Every knob can also be set with NEMO_LOCAL_<NAME>.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument(
        "--data-dir", type=Path, default=None, help="keep uploads and renders here (default: a temp dir)"
    )
    p.add_argument("--log-level", default="warning")
    defaults = Knobs().as_dict() | CLI_DEFAULTS
    for name, kind in field_types().items():
        flag, meta = "--" + name.replace("_", "-"), kind.__name__.upper()
        p.add_argument(
            flag, dest=f"knob_{name}", default=None, metavar=meta, help=f"default: {defaults[name]!r}"
        )
    return p


def build_knobs(args: argparse.Namespace) -> Knobs:
    knobs = Knobs.from_env()
    env_set = {n for n in field_types() if f"NEMO_LOCAL_{n.upper()}" in __import__("os").environ}
    knobs.update({n: v for n, v in CLI_DEFAULTS.items() if n not in env_set})
    knobs.update(
        {n: getattr(args, f"knob_{n}") for n in field_types() if getattr(args, f"knob_{n}") is not None}
    )
    return knobs


async def serve(args: argparse.Namespace, knobs: Knobs, early: list[int] | None = None) -> None:
    """Serve until a stop signal. `early` holds signals that arrived before the loop took them over."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if early:
        return
    async with run_local_backend(knobs, args.data_dir, host=args.host, port=args.port) as backend:
        print(backend.url, flush=True)
        sys.stderr.write(f"nemo-mcp local backend serving at {backend.url} (Ctrl-C to stop)\n")
        await stop.wait()
    # leaving the block cancelled the turns and renders, stopped the server and removed a temporary folder


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(list(argv))
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    try:
        knobs = build_knobs(args)
    except ValueError as exc:
        sys.stderr.write(f"nemo-mcp local-backend: {exc}\n")
        return 2
    early: list[int] = []
    for sig in STOP_SIGNALS:  # until the loop takes them over: remember, never raise
        signal.signal(sig, lambda signum, _frame: early.append(signum))
    try:
        asyncio.run(serve(args, knobs, early))
    except KeyboardInterrupt:
        pass  # only reachable if a signal handler was replaced behind our back; still a clean stop
    finally:
        for sig in STOP_SIGNALS:  # exiting now: a late signal must not turn the exit into a traceback
            signal.signal(sig, signal.SIG_IGN)
    return 0
