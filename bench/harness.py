"""The shared harness: one run's temp folder, the processes it starts (and stops), the shared local
backend, MCP clients on stdio servers, test clips, and the probes (CPU seconds, peak RSS).

Everything binds and connects to 127.0.0.1. Every process is started through `Bench.popen` (or by the MCP
SDK's stdio client inside `stdio_mcp`, which ends it when the block exits) and stopped through its own
handle in `Bench.close`; nothing is killed by name.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import psutil

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PY = sys.executable
NEMO = str(Path(PY).parent / "nemo-mcp")
BARE_SERVER = str(BENCH / "bare_server.py")
MB = 1_000_000


def log(msg: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_s(proc: psutil.Process | None) -> float:
    """User + system CPU seconds of a process so far (0 when it is gone or unknown)."""
    if proc is None:
        return 0.0
    with contextlib.suppress(psutil.Error):
        t = proc.cpu_times()
        return float(t.user + t.system)
    return 0.0


class Bench:
    """Shared state of one run: temp dir, the shared local backend, the processes started."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="nemo-bench-"))
        self.procs: list[subprocess.Popen[Any]] = []
        self.cleanups: list[tuple[str, Any]] = []  # (what, callable) run by close(), last first
        self.backend_url = ""
        self.backend_data = self.tmp / "backend-data"
        self.backend_proc: subprocess.Popen[Any] | None = None
        self.logs = self.tmp / "logs"
        self.logs.mkdir()
        self.media = self.tmp / "media"
        self.media.mkdir()

    # -- processes ----------------------------------------------------------------------------------

    def popen(
        self, cmd: list[str], *, name: str, env: dict[str, str] | None = None, **kw: Any
    ) -> subprocess.Popen[Any]:
        """Start a process whose stderr goes to logs/<name>.stderr; `close()` stops it."""
        errf = open(self.logs / f"{name}.stderr", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(cmd, stderr=errf, env=env, **kw)
        errf.close()
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[Any]) -> None:
        """SIGTERM, then SIGKILL after 5 s; always waits for the exit."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if proc.stdout:
            proc.stdout.close()

    def on_close(self, what: str, fn: Any) -> None:
        """Run `fn()` at the end of the run (after the processes are stopped), even after an error."""
        self.cleanups.append((what, fn))

    def close(self) -> None:
        for proc in reversed(self.procs):
            with contextlib.suppress(Exception):
                self.stop(proc)
        for what, fn in reversed(self.cleanups):
            try:
                fn()
            except Exception as exc:
                log(f"cleanup ({what}) failed: {exc}")
        if not self.args.keep_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            log(f"kept {self.tmp}")

    def stderr_tail(self, name: str, n: int = 15) -> str:
        p = self.logs / f"{name}.stderr"
        if not p.exists():
            return ""
        return "\n".join(p.read_text(errors="replace").splitlines()[-n:])

    def recent_stderr(self, since: float, n: int = 12) -> dict[str, str]:
        """Tails of the stderr logs written since `since` (to explain a figure's error)."""
        out = {}
        for p in sorted(self.logs.glob("*.stderr")):
            if p.stat().st_mtime >= since and p.stat().st_size:
                out[p.stem] = "\n".join(p.read_text(errors="replace").splitlines()[-n:])
        return out

    def env(self, name: str, *, cloud: bool = True, **extra: str) -> dict[str, str]:
        """Environment of an MCP server subprocess: its own config and download folders; in cloud mode
        (the default) NEMO_API_URL points at the bench's local backend."""
        home = self.tmp / "cfg" / name
        home.mkdir(parents=True, exist_ok=True)
        env = {
            "XDG_CONFIG_HOME": str(home),
            "NEMO_DOWNLOAD_DIR": str(self.tmp / "downloads" / name),
            "NEMO_WEB_URL": "http://127.0.0.1:9/web",  # never contacted; keeps links off the real site
            "NEMO_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        if cloud and self.backend_url:
            env["NEMO_API_URL"] = self.backend_url
        env.update(extra)
        return env

    # -- the shared local backend -------------------------------------------------------------------

    def start_backend(self) -> None:
        """`nemo-mcp local-backend` on an ephemeral 127.0.0.1 port (no token cap, no agent delay)."""
        cmd = [
            NEMO,
            "local-backend",
            "--port",
            "0",
            "--data-dir",
            str(self.backend_data),
            "--ip-token-cap",
            "0",
            "--agent-delay",
            "0",
            "--heartbeat-interval",
            "5",
            "--log-level",
            "warning",
        ]
        proc = self.popen(cmd, name="backend", env=dict(os.environ), stdout=subprocess.PIPE, text=True)
        self.backend_proc = proc
        line = ""
        deadline = time.monotonic() + 30
        assert proc.stdout is not None
        while time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline().strip()
            if line.startswith("http"):
                break
        if not line.startswith("http"):
            raise RuntimeError(f"local backend did not start: {self.stderr_tail('backend')}")
        self.backend_url = line
        log(f"local backend at {line} (pid {proc.pid})")

    def backend_process(self) -> psutil.Process | None:
        return psutil.Process(self.backend_proc.pid) if self.backend_proc else None

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        r = httpx.request(method, self.backend_url + path, json=body, timeout=10)
        r.raise_for_status()
        return r.json()["data"]

    def mint_token(self) -> str:
        r = httpx.post(
            self.backend_url + "/api/auth/anonymous-token",
            headers={"X-Client-Id": f"bench-{uuid.uuid4().hex[:16]}"},
            timeout=10,
        )
        r.raise_for_status()
        return str(r.json()["data"]["token"])

    def attribution_headers(self) -> dict[str, str]:
        from nemo_mcp.api.config import read_attribution

        return read_attribution().headers()

    def clear_uploads(self) -> None:
        shutil.rmtree(self.backend_data / "uploads", ignore_errors=True)

    # -- media (nemo_mcp.local.clips, the clip maker the demo uses) -----------------------------------

    async def small_clip(self) -> Path:
        """A 2 s 320x240 25 fps clip with a tone (made once per run)."""
        from nemo_mcp.local.clips import make_clip

        out = self.media / "clip.mp4"
        if not out.exists():
            await make_clip(out, 2, "320x240", fps=25, preset="ultrafast", limit=60)
        return out

    async def big_clip(self, size: int) -> Path:
        """A valid ~`size`-byte H.264 MP4: 2 s of lossless 720p noise, stream-copied in a loop to the size."""
        from nemo_mcp.local.clips import make_clip

        out = self.media / "big.mp4"
        await make_clip(
            out, 2, "1280x720", audio=False, noise=True, lossless=True, preset="ultrafast", target_bytes=size
        )
        return out


# ------------------------------------------------------------------------------------------------------
# MCP over stdio


@contextlib.asynccontextmanager
async def stdio_mcp(
    bench: Bench,
    name: str,
    command: str,
    args: list[str],
    env: dict[str, str],
    *,
    cwd: Path = ROOT,
    timeout: float = 120,
) -> AsyncIterator[tuple[Any, psutil.Process | None]]:
    """An SDK `Client` on a freshly spawned stdio server (stopped when the block exits); yields
    (client, the server's psutil.Process or None)."""
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    before = {p.pid for p in psutil.Process().children()}
    params = StdioServerParameters(command=command, args=args, env=env, cwd=str(cwd))
    with open(bench.logs / f"{name}.stderr", "a") as errlog:
        async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=timeout) as client:
            new = [p for p in psutil.Process().children() if p.pid not in before]
            yield client, (new[0] if new else None)


def text_of(result: Any) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content if getattr(c, "type", "") == "text")


def tool_ok(result: Any, what: str) -> dict[str, Any]:
    """The structured content of a successful tool result; raises with the text of an error result."""
    if getattr(result, "is_error", False):
        raise RuntimeError(f"{what} returned an error: {text_of(result)[:400]}")
    return dict(result.structured_content or {})


class RssSampler:
    """Samples one process's peak RSS from a thread every `interval` seconds.

    Only that process (one /proc read per sample): scanning for children on every sample took the GIL for
    milliseconds on a busy box and slowed the MCP client living in this same process.
    """

    def __init__(self, proc: psutil.Process, interval: float = 0.01) -> None:
        self.proc, self.interval = proc, interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, self.proc.memory_info().rss)
                self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        with contextlib.suppress(psutil.Error):
            self.peak = max(self.peak, self.proc.memory_info().rss)
