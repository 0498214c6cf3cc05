"""The stdio server as a host runs it (a separate process, JSON-RPC lines on its pipes): it exits promptly
when stdin closes, even with a job running or a file read hanging, and a download killed with SIGKILL
leaves leftovers that the next start removes once they are a day old."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from nemo_mcp.local import LocalBackend
from tests.hardening.alteringproxy import run_altering_proxy
from tests.media import make_video

pytestmark = pytest.mark.anyio

SCRIPT = Path(sys.executable).parent / "nemo-mcp"
needs_script = pytest.mark.skipif(
    not SCRIPT.exists(), reason="console script not installed (pip install -e .)"
)
DAY_AGO = time.time() - 2 * 86400

# The server with one hook: every read of an uploaded file hangs (a network drive that stopped
# answering), and says so by creating the file named by its first argument first.
STALLING_SERVER = """
import sys, time
from pathlib import Path
import nemo_mcp.api.upload as upload

MARK = Path(sys.argv[1])

def hang(fd, size):
    MARK.touch()
    time.sleep(3600)
    return b""

upload.read_chunk = hang
from nemo_mcp.cli import main
sys.argv = ["nemo-mcp"]
main()
"""


class StdioServer:
    """A server process spoken to with JSON-RPC lines; replies are read by a thread (never blocks a test)."""

    def __init__(self, cmd: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        self.replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stdout_lines: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.next_id = 0

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.stdout_lines.append(line)
            msg = json.loads(line)  # stdout carries JSON-RPC only
            if "id" in msg and ("result" in msg or "error" in msg):
                self.replies.put(msg)

    def send(self, msg: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        self.proc.stdin.flush()

    def request(self, method: str, params: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while True:
            reply = self.replies.get(timeout=max(0.01, deadline - time.monotonic()))
            if reply["id"] == self.next_id:
                return reply

    def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = self.request("tools/call", {"name": name, "arguments": arguments})["result"]
        assert isinstance(result, dict)
        return result

    def initialize(self) -> None:
        params = {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "lifecycle-test", "version": "0"},
        }
        self.request("initialize", params)
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def close_stdin_and_wait(self, timeout: float) -> float:
        """Seconds from closing stdin to the process's exit."""
        assert self.proc.stdin is not None
        started = time.monotonic()
        self.proc.stdin.close()
        self.proc.wait(timeout=timeout)
        return time.monotonic() - started

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode(errors="replace")


@contextmanager
def stdio_server(cmd: list[str], env: dict[str, str]) -> Iterator[StdioServer]:
    server = StdioServer(cmd, env)
    try:
        yield server
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait(timeout=10)


def server_env(tmp_path: Path, api_url: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "NEMO_DOWNLOAD_DIR": str(tmp_path / "dl"),
        "NEMO_API_URL": api_url,
        "NEMO_LOG_LEVEL": "INFO",
    }


def _run_sync(fn: Any, *args: Any) -> Any:
    return anyio.to_thread.run_sync(fn, *args, abandon_on_cancel=True)


@needs_script
async def test_stdin_closing_ends_the_server_while_a_file_read_hangs(
    tmp_path: Path, local_backend: LocalBackend
) -> None:
    clip = make_video(tmp_path / "media" / "clip.mp4", seconds=1)
    mark = tmp_path / "stalled"

    def run() -> tuple[float, str]:
        cmd = [sys.executable, "-c", STALLING_SERVER, str(mark)]
        with stdio_server(cmd, server_env(tmp_path, local_backend.url)) as server:
            server.initialize()
            running = server.call("upload_media", {"sources": [str(clip)], "wait_seconds": 0})
            assert running["structuredContent"]["status"] == "running", running
            deadline = time.monotonic() + 20
            while not mark.exists():  # the read hangs now: close stdin at this moment
                assert time.monotonic() < deadline, "the upload never read the file"
                time.sleep(0.02)
            took = server.close_stdin_and_wait(timeout=15)
            return took, server.stderr()

    with anyio.fail_after(60):
        took, stderr = await _run_sync(run)
    assert took < 5, f"the server took {took:.1f} s to exit after stdin closed"
    assert "Traceback" not in stderr, stderr[-3000:]


@needs_script
async def test_stdin_closing_ends_the_server_while_a_render_runs(
    tmp_path: Path, local_backend: LocalBackend
) -> None:
    clip = make_video(tmp_path / "media" / "clip.mp4", seconds=1)
    local_backend.knobs.render_min_seconds = 60

    def run() -> tuple[float, int, str]:
        with stdio_server([str(SCRIPT)], server_env(tmp_path, local_backend.url)) as server:
            server.initialize()
            server.call("upload_media", {"sources": [str(clip)]})
            server.call("edit_video", {"instruction": "use the uploaded clip, trim it to 1 s"})
            running = server.call("export_video", {"wait_seconds": 0})
            assert running["structuredContent"]["status"] == "running", running
            took = server.close_stdin_and_wait(timeout=15)
            return took, server.proc.returncode, server.stderr()

    with anyio.fail_after(60):
        took, code, stderr = await _run_sync(run)
    assert took < 5, f"the server took {took:.1f} s to exit after stdin closed"
    assert code == 0, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]


@needs_script
async def test_a_download_killed_midway_is_cleaned_up_at_the_next_start(
    tmp_path: Path, local_backend: LocalBackend
) -> None:
    clip = make_video(tmp_path / "media" / "clip.mp4", seconds=1)
    downloads = tmp_path / "dl"
    async with run_altering_proxy(local_backend.url) as (proxy, url):
        proxy.alter.stall = True  # the file stops half-way and hangs: the server is killed right then
        env = server_env(tmp_path, url)

        def kill_mid_download() -> list[Path]:
            with stdio_server([str(SCRIPT)], env) as server:
                server.initialize()
                server.call("upload_media", {"sources": [str(clip)]})
                server.call("edit_video", {"instruction": "use the uploaded clip, trim it to 1 s"})
                server.call("export_video", {"download": True, "wait_seconds": 0})
                deadline = time.monotonic() + 30
                while not list(downloads.glob(".*.part")) or not proxy.stalled.is_set():
                    assert time.monotonic() < deadline, "the download never started"
                    time.sleep(0.02)
                server.proc.send_signal(signal.SIGKILL)
                server.proc.wait(timeout=10)
            return sorted(downloads.iterdir())

        with anyio.fail_after(90):
            left = await _run_sync(kill_mid_download)
    parts = [p for p in left if p.name.endswith(".part")]
    reserved = [p for p in left if not p.name.startswith(".")]
    assert len(parts) == 1, left  # what a kill leaves: the .part file and the reserved name
    assert len(reserved) == 1, left
    assert reserved[0].stat().st_size == 0
    fresh = downloads / ".other.mp4.0123456789ab.part"  # less than a day old: may still be running
    fresh.write_bytes(b"x")

    def restart() -> str:
        with stdio_server([str(SCRIPT)], server_env(tmp_path, local_backend.url)) as server:
            server.initialize()
            server.request("tools/list", {})
            server.close_stdin_and_wait(timeout=15)
            return server.stderr()

    for p in (parts[0], reserved[0]):  # a day later
        os.utime(p, (DAY_AGO, DAY_AGO))
    with anyio.fail_after(60):
        stderr = await _run_sync(restart)
    assert not parts[0].exists()
    assert not reserved[0].exists()
    assert fresh.exists()
    assert "leftover" in stderr
