"""`nemo-mcp local-backend` as a process: prints its URL, serves, honours flags and env, stops on Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import anyio
import httpx
import pytest

from nemo_mcp.local.cli import build_knobs, parser
from nemo_mcp.local.knobs import Knobs

pytestmark = pytest.mark.anyio


async def test_cli_serves_until_interrupted() -> None:
    env = {**os.environ, "NEMO_LOCAL_RENDER_SHAPE": "flat"}
    code = (
        "from nemo_mcp.cli import main; main(['local-backend', '--port', '0', '--silent-fraction', '0.25'])"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    try:
        assert proc.stdout is not None
        with anyio.fail_after(20):
            url = (await proc.stdout.readline()).decode().strip()
        assert url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            assert (await client.get("/api/credits/balance/simple")).json()["code"] == 1001
            knobs = (await client.get("/_local/knobs")).json()["data"]
            assert knobs["silent_fraction"] == 0.25
            assert knobs["render_shape"] == "flat"
            assert knobs["agent_delay"] == 0.5
        proc.send_signal(signal.SIGINT)
        with anyio.fail_after(15):
            assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def test_flags_env_and_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEMO_LOCAL_AGENT_DELAY", "0")
    monkeypatch.setenv("NEMO_LOCAL_STRICT_ATTRIBUTION", "yes")
    knobs = build_knobs(parser().parse_args(["--heartbeat-style", "typed", "--fail-5xx", "3"]))
    assert knobs.agent_delay == 0
    assert knobs.strict_attribution is True
    assert knobs.heartbeat_style == "typed"
    assert knobs.fail_5xx == 3
    with pytest.raises(ValueError, match="heartbeat_style"):
        Knobs(heartbeat_style="loud")
    with pytest.raises(ValueError, match="must be a int"):
        Knobs().update({"fail_5xx": "many"})
    assert Knobs.from_env({"NEMO_LOCAL_SEED": "9"}).seed == 9


def test_new_fault_knobs_from_flags_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEMO_LOCAL_WRONG_CONTENT_TYPE", "2")
    monkeypatch.setenv("NEMO_LOCAL_CLAIM_TTL_SECONDS", "60")
    args = ["--plan-required", "1", "--malformed-json", "3", "--malformed-json-path", "/api/state/"]
    knobs = build_knobs(parser().parse_args([*args, "--wrong-content-type-path", "/run_sse"]))
    assert (knobs.plan_required, knobs.malformed_json, knobs.malformed_json_path) == (1, 3, "/api/state/")
    assert (knobs.wrong_content_type, knobs.wrong_content_type_path) == (2, "/run_sse")
    assert knobs.claim_ttl_seconds == 60
