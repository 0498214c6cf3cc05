"""The API token never leaks: a full scenario through the MCP tools (upload, edits incl. a silent one,
timeline, credits, projects, export with download, error paths, resources and prompts), once with a known
`NEMO_TOKEN` and once on the anonymous-mint path. Everything the server emits is collected and scanned:
every tool result (text + structured), every resource read, every prompt, every log record of every
logger at DEBUG (httpx, httpcore and mcp included, formatted with their tracebacks), every exception
message, every URL requested on the wire (and every non-Authorization header), and every file the server
wrote outside the token file. The token file itself is 0600 (and written atomically: see
tests/api/test_config_identity.py::test_token_file_is_0600_atomic_and_keyed_by_api).
"""

from __future__ import annotations

import json
import logging
import stat
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from nemo_mcp.local import Knobs, LocalBackend, run_local_backend
from nemo_mcp.local.accounts import issue_token
from nemo_mcp.server.app import build_server
from tests.hardening.recordingproxy import RecordingProxy, run_recording_proxy
from tests.media import make_video
from tests.server.conftest import FAST_API, Session, make_settings

pytestmark = pytest.mark.anyio

LOGGERS = ("", "httpx", "httpcore", "mcp", "nemo_mcp", "uvicorn", "uvicorn.error", "anyio", "asyncio")


class Collector:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []  # (where, text)

    def add(self, where: str, value: Any) -> None:
        text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
        self.items.append((where, text))

    async def call(self, nemo: Session, tool: str, args: dict[str, Any] | None = None) -> Any:
        try:
            c = await nemo.call(tool, args)
        except Exception as exc:  # an exception escaping the client is collected too
            self.add(f"exception from {tool}", f"{type(exc).__name__}: {exc}")
            raise
        self.add(f"{tool} text", c.text)
        self.add(f"{tool} structured", c.result.structured_content or {})
        return c


async def scenario(nemo: Session, backend: LocalBackend, clip: Path, out: Collector, *, known: bool) -> None:
    up = await out.call(nemo, "upload_media", {"sources": [str(clip)]})
    assert not up.error, up.text
    sid = up.data["session_id"]
    assert not (
        await out.call(nemo, "edit_video", {"instruction": "use the clip and trim it to 1 second"})
    ).error
    backend.knobs.silent_fraction = 1.0
    assert not (await out.call(nemo, "edit_video", {"instruction": "add a title 'Quiet' at the top"})).error
    backend.knobs.silent_fraction = 0.0
    for tool in ("get_timeline", "check_credits", "list_projects"):
        assert not (await out.call(nemo, tool)).error
    assert not (await out.call(nemo, "edit_video", {"instruction": "status"})).error
    ex = await out.call(nemo, "export_video", {"download": True, "wait_seconds": 45})
    assert not ex.error, ex.text
    assert ex.data["downloaded_to"]
    # resources and prompts
    for uri in ("nemo://credits", f"nemo://projects/{sid}/timeline"):
        res = await nemo.client.read_resource(uri)
        out.add(f"resource {uri}", res.model_dump(mode="json"))
    out.add("resources", (await nemo.client.list_resources()).model_dump(mode="json"))
    out.add("templates", (await nemo.client.list_resource_templates()).model_dump(mode="json"))
    prompt = await nemo.client.get_prompt("quick_edit", {"file": str(clip)})
    out.add("prompt", prompt.model_dump(mode="json"))
    # error paths
    await out.call(nemo, "upload_media", {"sources": ["https://user:pw@example.com/a.mp4"]})
    await out.call(nemo, "get_job", {"job_id": "job_nope"})
    backend.knobs.render_fail = True
    assert (await out.call(nemo, "export_video", {"wait_seconds": 45})).error
    backend.knobs.render_fail = False
    backend.knobs.error_mid_stream = 1
    assert (await out.call(nemo, "edit_video", {"instruction": "add a title 'Boom'"})).error
    backend.knobs.error_mid_stream = -1
    backend.knobs.expire_tokens = True  # known token: [auth]; anonymous: re-minted transparently
    c = await out.call(nemo, "check_credits")
    assert c.error == known, c.text
    if not known:
        backend.knobs.exhaust_credits = True
        assert (await out.call(nemo, "edit_video", {"instruction": "add a title 'Broke'"})).error
        backend.lose_session("*")
        assert (await out.call(nemo, "get_timeline")).error
        await out.call(nemo, "new_project", {"title": "after"})


def scan(
    token: str, out: Collector, records: list[logging.LogRecord], proxy: RecordingProxy, root: Path
) -> list[str]:
    fmt = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for rec in records:
        text = fmt.format(rec)  # includes the formatted traceback (exc_info) when there is one
        out.add(f"log {rec.name}:{rec.levelname}", text + " " + repr(rec.args) + " " + repr(rec.__dict__))
    for url in proxy.seen:
        out.add("url", url)
    for k, v in proxy.seen_headers:
        out.add(f"header {k}", v)
    for path in root.rglob("*"):
        if path.is_file() and path.name != "token.json" and path.suffix in (".json", ".log", ".txt", ""):
            out.add(f"file {path.name}", path.read_text("utf-8", "replace"))
    needles = {token, token[-16:]}
    return [
        f"{where}: ...{text[max(0, text.find(n) - 60) : text.find(n) + 20]}..."
        for where, text in out.items
        for n in needles
        if n in text
    ]


async def _run(tmp_path: Path, caplog: pytest.LogCaptureFixture, *, known: bool) -> None:
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    clip = make_video(tmp_path / "media" / "clip.mp4", seconds=2)
    out = Collector()
    knobs = Knobs(silent_fraction=0.0, agent_delay=0.0, initial_credits=5000)
    async with AsyncExitStack() as stack:
        backend = await stack.enter_async_context(run_local_backend(knobs))
        proxy, url = await stack.enter_async_context(run_recording_proxy(backend.url))
        env: dict[str, str] = {}
        token = ""
        if known:
            token = issue_token(backend.state, "known-client", "127.0.0.1", 5000, 86400.0, 0).value
            env = {"NEMO_TOKEN": token}
        settings = make_settings(tmp_path, url, env=env, api_overrides=dict(FAST_API))
        client = await stack.enter_async_context(Client(build_server(settings)))
        await scenario(Session(client), backend, clip, out, known=known)
        tokens = [token] if known else list(backend.state.tokens)
    assert tokens, "no token was issued"
    assert len(out.items) > 30
    assert len(caplog.records) > 20, "logging was not captured"
    assert any(r.name.startswith("httpx") for r in caplog.records), "httpx records missing"
    for t in tokens:
        assert len(t) >= 16
        found = scan(t, out, caplog.records, proxy, tmp_path)
        assert not found, "token leaked:\n" + "\n".join(found[:10])
    config = tmp_path / "config"
    stored = b"".join(p.read_bytes() for p in config.glob("state.db*"))  # the state store keeps the token
    if known:
        assert token.encode() not in stored, "a NEMO_TOKEN must not be written to disk"
    else:
        assert any(t.encode() in stored for t in tokens)  # the latest one (a re-mint replaces it)
        for path in config.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        assert not list(config.glob("*.tmp")), "a non-atomic write left a temp file"


async def test_known_token_never_leaks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    await _run(tmp_path, caplog, known=True)


async def test_minted_anonymous_token_never_leaks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    await _run(tmp_path, caplog, known=False)


async def test_the_scan_would_see_a_leak(tmp_path: Path) -> None:
    """The collector really looks at what it collects (guards against a scan that checks nothing)."""
    out = Collector()
    out.add("tool", {"message": "token is nmv_usr_0123456789abcdef0123"})
    proxy = RecordingProxy("http://127.0.0.1:1")
    proxy.seen.append("GET /api/x?token=nmv_usr_fedcba9876543210fedc")
    rec = logging.LogRecord(
        "httpx",
        logging.DEBUG,
        __file__,
        1,
        "Authorization: Bearer %s",
        ("nmv_usr_abc0123456789abcdef",),
        None,
    )
    assert scan("nmv_usr_0123456789abcdef0123", out, [], proxy, tmp_path)
    assert scan("nmv_usr_fedcba9876543210fedc", Collector(), [], proxy, tmp_path)
    assert scan("nmv_usr_abc0123456789abcdef", Collector(), [rec], RecordingProxy("x"), tmp_path)
