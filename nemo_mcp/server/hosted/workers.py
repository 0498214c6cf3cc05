"""``--workers N``: N server processes on one listening socket (our own pre-fork).

The parent binds the socket, then forks N children *before* any event loop or thread exists; each child
serves the already built app on the inherited socket with uvicorn (the kernel spreads connections over
them) and runs its own lifespan: its store connection, its lease, its jobs. Forking the built app (rather
than uvicorn's ``workers=``, which spawns fresh interpreters that import the app by name) keeps every
worker's configuration exactly the parent's, including a request-state key made once for all of them.

The parent only supervises: a child that dies is replaced (at most ``MAX_RESTARTS`` in
``RESTART_WINDOW`` seconds, then the server stops), and SIGTERM / SIGINT / SIGHUP stop every child and
wait for them. POSIX only (``os.fork``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import time
from typing import Any

__all__ = ["run_workers"]

log = logging.getLogger("nemo_mcp")

MAX_RESTARTS = 10
RESTART_WINDOW = 60.0
STOP_GRACE = 15.0


class _Stop(Exception):
    """Raised by the signal handler: a blocking waitpid is retried after a handler that returns (PEP 475)."""


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _child(app: Any, sock: socket.socket, options: dict[str, Any]) -> None:
    import uvicorn

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)  # uvicorn installs its own once serving
    config = uvicorn.Config(app, **options)
    uvicorn.Server(config).run(sockets=[sock])


def _fork(app: Any, sock: socket.socket, options: dict[str, Any]) -> int:
    pid = os.fork()
    if pid == 0:  # the worker
        code = 0
        try:
            _child(app, sock, options)
        except BaseException:
            log.exception("worker %d stopped on an error", os.getpid())
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    return pid


def run_workers(app: Any, host: str, port: int, workers: int, options: dict[str, Any]) -> int:
    """Serve ``app`` from ``workers`` forked processes until a signal; the exit code."""
    if not hasattr(os, "fork"):
        sys.stderr.write("nemo-mcp: --workers above 1 needs POSIX (os.fork); run one worker per process\n")
        return 2
    sock = _bind(host, port)

    def stop(signum: int, frame: Any) -> None:
        raise _Stop

    children = {_fork(app, sock, options) for _ in range(workers)}
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)
    restarts: list[float] = []
    code = 0
    while children:
        try:
            pid, status = os.waitpid(-1, 0)
        except _Stop:
            break
        except ChildProcessError:
            break
        if pid not in children:
            continue
        children.discard(pid)
        now = time.monotonic()
        restarts = [t for t in restarts if now - t < RESTART_WINDOW] + [now]
        if len(restarts) > MAX_RESTARTS:
            log.error(
                "workers keep stopping (%d in %.0f s); stopping the server", len(restarts), RESTART_WINDOW
            )
            code = 1
            break
        log.warning("worker %d stopped (status %d); starting another", pid, status)
        children.add(_fork(app, sock, options))
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)  # stopping now: a second signal must not cut the wait short
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    while children and time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            time.sleep(0.05)
            continue
        children.discard(pid)
    for pid in children:  # still there after the grace period
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    sock.close()
    return code
