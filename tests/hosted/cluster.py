"""Real `nemo-mcp --transport http` server processes (the console script) for the multi-worker tests: started
with an environment, waited for on /health, stopped with SIGTERM (SIGKILL after a grace period)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

SCRIPT = Path(sys.executable).parent / "nemo-mcp"


@dataclass
class ServerProcess:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not start: {log.read_text(errors='replace')[-2000:]}")


@contextmanager
def nemo_http(port: int, env: dict[str, str], folder: Path, *args: str) -> Iterator[ServerProcess]:
    with nemo_servers([port], env, folder, *args) as (server,):
        yield server


@contextmanager
def nemo_servers(
    ports: list[int], env: dict[str, str], folder: Path, *args: str
) -> Iterator[list[ServerProcess]]:
    """One server per port, started together (each takes seconds to import), stopped together."""
    folder.mkdir(parents=True, exist_ok=True)
    base = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(folder),
        "NEMO_DOWNLOAD_DIR": str(folder / "downloads"),
        **env,
    }
    started: list[ServerProcess] = []
    try:
        for port in ports:
            log = folder / f"server-{port}.log"
            full = {"NEMO_CONFIG_DIR": str(folder / f"cfg-{port}"), **base}
            cmd = [str(SCRIPT), "--transport", "http", "--port", str(port), "--log-level", "INFO", *args]
            with log.open("ab") as err:
                proc = subprocess.Popen(
                    cmd, env=full, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True
                )
            started.append(ServerProcess(f"http://127.0.0.1:{port}", proc, log))
        for server in started:
            wait_healthy(server.url, server.proc, server.log)
        yield started
    finally:
        for server in started:
            if server.proc.poll() is None:
                server.proc.send_signal(signal.SIGTERM)
        for server in started:
            try:
                server.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(server.proc.pid, signal.SIGKILL)
                server.proc.wait(10)
