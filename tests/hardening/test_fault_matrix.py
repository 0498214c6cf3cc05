"""The fault matrix: every fault x every relevant tool, through `mcp.Client` against the real local backend.

One test per fault. Per fault a fresh backend and server; a clip is uploaded and put on the timeline
(faults off), then each tool is called with the fault armed. Each cell must end in a transparent recovery
or a tagged, actionable error (`[tag] ...`), and then, with the fault cleared:

- no agent message was sent twice (the backend's accepted-turn log),
- the next call of the same tool works,
- no job is left running and no temp file (`*.part`, `*.tmp`) is left behind,
- export_video with download=True: an error leaves no file at all in the download folder; a success
  leaves a file exactly as long as the backend's render output.

Every fault is one of the backend's knobs (`nemo_mcp.local.knobs`), armed on the live `Knobs` object,
including broken JSON (`malformed_json`, `malformed_json_style`), HTML gateway pages with HTTP 200
(`wrong_content_type`), an SSE frame cut mid-JSON (`truncate_sse`) and downloads cut short
(`truncate_download`). Between cells the user is topped up through the invented admin route
`PATCH /_local/credits`. The outcome of every cell is collected and printed as a table at the end of the
run (see conftest.py).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client

from nemo_mcp.api.errors import NemoError
from nemo_mcp.local import Knobs, LocalBackend, run_local_backend
from nemo_mcp.server.app import build_server
from nemo_mcp.server.failures import SERVER_TAGS
from tests.hardening.conftest import record_cell
from tests.media import make_video
from tests.server.conftest import FAST_API, Call, Session, make_settings

pytestmark = pytest.mark.anyio

CLIENT_TAGS = (
    {cls.tag for cls in NemoError.__subclasses__()}
    | {sub.tag for cls in NemoError.__subclasses__() for sub in cls.__subclasses__()}
    | {
        "auth",
        "session_lost",
        "no_credits",
        "rate_limited",
        "server_error",
        "backend_unreachable",
        "timeout",
        "bad_response",
        "render_failed",
        "download_failed",
        "stream_interrupted",
        "agent_error",
    }
)
KNOWN_TAGS = CLIENT_TAGS | set(SERVER_TAGS)
TOOLS = ("check_credits", "get_timeline", "upload_media", "edit_video", "export_video", "new_project")
RECOVERED = "recovered"


@dataclass
class Fault:
    name: str
    arm: Callable[[Knobs, str], None]  # (knobs, tool) -> None
    expect: dict[str, set[str]]  # tool -> allowed outcomes; tools not listed are not run
    api: dict[str, Any] = field(default_factory=dict)
    knobs: dict[str, Any] = field(default_factory=dict)  # base knobs for this fault's backend
    during: Callable[[LocalBackend], Awaitable[None]] | None = None  # runs alongside the call


async def _exhaust_after(backend: LocalBackend, delay: float) -> None:
    await anyio.sleep(delay)
    backend.exhaust_credits()


def knob(**values: Any) -> Callable[[Knobs, str], None]:
    def arm(k: Knobs, tool: str) -> None:
        k.update(values)

    return arm


def per_tool(**arms: Callable[[Knobs, str], None]) -> Callable[[Knobs, str], None]:
    def arm(k: Knobs, tool: str) -> None:
        arms[tool](k, tool)

    return arm


def on_path(paths: dict[str, str], counter: str, **extra: Any) -> Callable[[Knobs, str], None]:
    """Fire the counter knob once on the tool's key path (`paths[tool]`, the knob's `<counter>_path`)."""
    return per_tool(**{t: knob(**{counter: 1, f"{counter}_path": p}, **extra) for t, p in paths.items()})


# The request each tool depends on most (for path-scoped faults).
KEY_PATH = {
    "check_credits": "/api/credits",
    "get_timeline": "/api/state",
    "upload_media": "/api/upload-video",
    "edit_video": "/run_sse",
    "export_video": "/api/render/proxy/lambda",
    "new_project": "/api/tasks",
}
# JSON faults: edit_video's JSON dependency is the state read before the turn (the turn itself is SSE).
JSON_PATH = {**KEY_PATH, "edit_video": "/api/state"}
R = {RECOVERED}
# counters every cell that arms them must use up (each counts down only when it fires)
MUST_FIRE = ("malformed_json", "wrong_content_type", "truncate_download", "plan_required")
JSON_EXPECT = {
    "check_credits": {"[bad_response]"},
    "get_timeline": {"[bad_response]"},
    "upload_media": {"[bad_response]"},
    "edit_video": {"[bad_response]"},  # refused before anything is sent
    "export_video": {RECOVERED, "[bad_response]"},  # the submit is retried once, new render id
    "new_project": {"[bad_response]"},
}


FAULTS: list[Fault] = [
    Fault(
        "5xx burst (2x 503)",
        per_tool(**{t: knob(fail_5xx=2, fail_5xx_path=p) for t, p in KEY_PATH.items()}),
        {
            "check_credits": R,  # GETs are retried
            "get_timeline": R,
            "upload_media": {"[server_error]"},  # a POST is never retried blindly
            "edit_video": {"[server_error]"},  # /run_sse is sent once
            "export_video": {"[server_error]"},  # one submit retry (new render id), also refused
            "new_project": {"[server_error]"},
        },
    ),
    Fault(
        "5xx outage (10x 503)",
        per_tool(**{t: knob(fail_5xx=10, fail_5xx_path=p) for t, p in KEY_PATH.items()}),
        {t: {"[server_error]"} for t in ("check_credits", "get_timeline", "edit_video", "export_video")},
    ),
    Fault(
        "latency beyond the request timeout",
        knob(latency=0.6),
        {t: {"[timeout]"} for t in TOOLS},
        api={"request_timeout": 0.25, "upload_timeout": 0.25, "max_retries": 1},
    ),
    Fault(
        "agent silent beyond the stream idle timeout",
        knob(agent_delay=1.2, heartbeat_style="none"),
        {"edit_video": R},
        api={"sse_idle_timeout": 0.4},
    ),
    Fault("stream dropped before any event", knob(drop_stream_after=0), {"edit_video": R}),
    Fault("stream dropped during a tool call", knob(drop_stream_after=1), {"edit_video": R}),
    Fault("stream dropped after the tool result", knob(drop_stream_after=2), {"edit_video": R}),
    Fault("stream dropped after the text", knob(drop_stream_after=3), {"edit_video": R}),
    Fault(
        '{"error": ...} mid-stream',
        knob(error_mid_stream=1),
        {"edit_video": {"[agent_error]"}},
    ),
    Fault(
        "token expired",
        knob(expire_tokens=True),
        {t: R for t in TOOLS},
    ),
    Fault(
        "session lost",
        knob(lose_session="*"),
        {
            "check_credits": R,
            "get_timeline": {"[session_lost]"},
            "upload_media": R,  # moved to a new project, said in the result
            "edit_video": {"[session_lost]"},
            "export_video": {"[session_lost]"},
            "new_project": R,
        },
    ),
    Fault(
        "credits exhausted mid-turn",
        knob(agent_delay=0.6),
        {"edit_video": R},  # the accepted turn completes once; the next one is refused until top-up
        during=lambda backend: _exhaust_after(backend, 0.3),
    ),
    Fault(
        "credits exhausted",
        knob(exhaust_credits=True),
        {
            "check_credits": R,
            "edit_video": {"[no_credits]"},
            "export_video": R,  # export is free
            "upload_media": R,
        },
    ),
    Fault(
        "429 storm",
        per_tool(**{t: knob(rate_limit=12, rate_limit_path=p, retry_after=1) for t, p in KEY_PATH.items()}),
        {t: {"[rate_limited]"} for t in TOOLS},
        api={"retry_after_cap": 0.2},
    ),
    Fault(
        "truncated JSON",
        on_path(JSON_PATH, "malformed_json", malformed_json_style="truncate"),
        JSON_EXPECT,
    ),
    Fault(
        "malformed JSON",
        on_path(JSON_PATH, "malformed_json", malformed_json_style="garble"),
        JSON_EXPECT,
    ),
    Fault(
        "HTML instead of JSON (wrong content type)",
        # a gateway page in place of the answer; the request itself was handled (forwarded)
        on_path(JSON_PATH, "wrong_content_type", wrong_content_type_forward=True),
        JSON_EXPECT,
    ),
    Fault("SSE truncated mid-JSON", knob(truncate_sse=1), {"edit_video": R}),
    Fault(
        "SSE answered with HTML",
        knob(wrong_content_type=1, wrong_content_type_path="/run_sse", wrong_content_type_forward=True),
        {"edit_video": {"[bad_response]", RECOVERED}},  # the turn ran: seen in the state
    ),
    Fault(
        "SSE answered with HTML, never forwarded",
        knob(wrong_content_type=1, wrong_content_type_path="/run_sse"),
        # the turn never ran: the client names the gateway page, the server checks the state, finds no
        # change and says so (not re-sent)
        {"edit_video": {"[bad_response]"}},
    ),
    Fault("render failing", knob(render_fail=True), {"export_video": {"[render_failed]"}}),
    Fault("output URL gone (download fallback)", knob(output_url_gone=True), {"export_video": R}),
    Fault(
        "download cut short (first route)",
        knob(truncate_download=1),
        {"export_video": R},  # the client falls back from the output URL to /api/render/proxy/<id>/download
    ),
    Fault(
        "download cut short (both routes)",
        knob(truncate_download=2),
        {"export_video": {"[download_incomplete]"}},  # the render is done; the retry is named
    ),
]


# --- harness ---------------------------------------------------------------------------------------------


class Rig:
    def __init__(
        self, nemo: Session, backend: LocalBackend, admin: httpx.AsyncClient, tmp: Path, clip: Path
    ) -> None:
        self.nemo = nemo
        self.backend = backend
        self.admin = admin  # the backend's loopback admin routes
        self.tmp = tmp
        self.downloads = tmp / "downloads"
        self.clip = clip
        self.n = 0
        self.edit_calls = 0
        self.baseline = backend.knobs.as_dict()

    async def clear(self) -> None:
        self.backend.knobs.update(self.baseline)
        # the user tops up after "no credits" (invented admin route; "*" = every user of the backend)
        r = await self.admin.patch("/_local/credits", json={"user_id": "*", "available": 5000})
        assert r.status_code == 200, r.text
        assert r.json()["code"] == 0, r.text

    def downloaded(self) -> set[Path]:
        return {p for p in self.downloads.rglob("*") if p.is_file()} if self.downloads.exists() else set()

    def args(self, tool: str) -> dict[str, Any]:
        self.n += 1
        if tool == "upload_media":
            return {"sources": [str(self.clip)]}
        if tool == "edit_video":
            self.edit_calls += 1
            return {"instruction": f"add a title 'Cell{self.n}' at the top"}
        if tool == "export_video":
            return {"download": True, "wait_seconds": 45}
        if tool == "new_project":
            return {"title": f"cell {self.n}"}
        return {}

    async def prepare(self) -> None:
        """A current project with a clip on the timeline (faults off)."""
        await self.clear()
        await self.nemo.ok("upload_media", {"sources": [str(self.clip)]})
        self.n += 1
        await self.nemo.ok(
            "edit_video", {"instruction": f"use the uploaded clip, trim it to 1 s (prep {self.n})"}
        )
        self.edit_calls += 1

    async def finish_job(self, c: Call) -> Call:
        """A 'running' result is followed with get_job until it ends (as a client would)."""
        data = c.result.structured_content if isinstance(c.result.structured_content, dict) else {}
        job = data.get("job") or {}
        deadline = time.monotonic() + 60
        while not c.error and job.get("status") == "running" and time.monotonic() < deadline:
            c = await self.nemo.call("get_job", {"job_id": job["job_id"], "wait_seconds": 20})
            data = c.result.structured_content if isinstance(c.result.structured_content, dict) else {}
            inner = data.get("edit") or data.get("export") or data.get("upload") or {}
            job = data.get("job") or {}
            if job.get("status") != "running" and inner:
                break
        return c


def outcome_of(c: Call) -> str:
    if not c.error:
        return RECOVERED
    m = re.match(r"\[([a-z_]+)\] (.+)", c.text, re.S)
    assert m, f"untagged error: {c.text[:300]}"
    tag, message = m.group(1), m.group(2)
    assert tag in KNOWN_TAGS, f"unknown tag [{tag}]"
    assert len(message) > 30, f"not actionable: {c.text}"
    for leak in ("Traceback", '{"code"', "nmv_usr_", "<html", "Exception"):
        assert leak not in c.text, c.text
    return f"[{tag}]"


def check_download(rig: Rig, c: Call, before: set[Path]) -> str | None:
    """export_video(download=True): what is wrong with the download folder after the call, if anything."""
    new = rig.downloaded() - before
    if c.error:
        return f"a failed export left files in the download folder: {sorted(new)}" if new else None
    data = c.result.structured_content if isinstance(c.result.structured_content, dict) else {}
    result = data.get("export") or data
    job = rig.backend.renders.get(str(result.get("render_id")))
    saved = Path(str(result.get("downloaded_to")))
    if job is None or saved not in new:
        return f"no new download for render {result.get('render_id')}: {sorted(new)}"
    if saved.stat().st_size != job.out.stat().st_size:
        return f"{saved.name}: {saved.stat().st_size} bytes, the render has {job.out.stat().st_size}"
    return None


async def assert_clean(rig: Rig, fault: str, tool: str) -> None:
    # no agent message sent twice
    texts = [t for ts in rig.backend.stats.turns.values() for t in ts]
    dup = [t for t, n in Counter(texts).items() if n > 1]
    assert not dup, f"{fault}/{tool}: agent message sent twice: {dup}"
    assert len(texts) <= rig.edit_calls, (texts, rig.edit_calls)
    # no job left running (jobs of the current project show in get_timeline)
    with anyio.fail_after(30):
        while True:
            tl = await rig.nemo.call("get_timeline")
            running = (tl.result.structured_content or {}).get("running", []) if not tl.error else []
            if not running:
                break
            await anyio.sleep(0.2)
    # no temp file left behind
    leftovers = [p for p in rig.tmp.rglob("*") if p.name.endswith((".part", ".tmp"))]
    assert not leftovers, f"{fault}/{tool}: temp files left: {leftovers}"


@asynccontextmanager
async def rig_for(fault: Fault, tmp: Path) -> AsyncIterator[Rig]:
    knobs = Knobs(silent_fraction=0.0, agent_delay=0.0, heartbeat_interval=5.0, initial_credits=5000)
    knobs.update(fault.knobs)
    clip = make_video(tmp / "media" / "clip.mp4", seconds=2)
    async with AsyncExitStack() as stack:
        backend = await stack.enter_async_context(run_local_backend(knobs))
        admin = await stack.enter_async_context(httpx.AsyncClient(base_url=backend.url))
        settings = make_settings(
            tmp, backend.url, api_overrides={**FAST_API, **fault.api}, recovery_intervals=(0.1, 0.2, 0.4, 0.6)
        )
        client = await stack.enter_async_context(Client(build_server(settings)))
        yield Rig(Session(client), backend, admin, tmp, clip)


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
async def test_fault_matrix(fault: Fault, tmp_path: Path) -> None:
    (tmp_path / "media").mkdir(exist_ok=True)
    failures: list[str] = []
    with anyio.fail_after(240):
        async with rig_for(fault, tmp_path) as rig:
            await rig.prepare()
            for tool in TOOLS:
                if tool not in fault.expect:
                    continue
                await rig.clear()
                before = rig.downloaded()
                fault.arm(rig.backend.knobs, tool)
                try:
                    async with anyio.create_task_group() as tg:
                        if fault.during is not None:
                            tg.start_soon(fault.during, rig.backend)
                        c = await rig.finish_job(await rig.nemo.call(tool, rig.args(tool)))
                    unfired = [n for n in MUST_FIRE if getattr(rig.backend.knobs, n) > 0]
                    got = outcome_of(c)
                except AssertionError as exc:
                    record_cell(fault.name, tool, "FAILED")
                    failures.append(f"{tool}: {exc}")
                    continue
                finally:
                    await rig.clear()
                record_cell(fault.name, tool, got)
                if unfired:  # the cell must exercise its fault, not pass around it
                    failures.append(f"{tool}: the fault never fired: {unfired}")
                if tool == "export_video":
                    wrong = check_download(rig, c, before)
                    if wrong:
                        failures.append(f"{tool}: {wrong}")
                # an unreadable upload answer: the bytes may have arrived, the error says how to check
                landed_hint = "may have been applied" in c.text and "before uploading" in c.text
                if tool == "upload_media" and got in ("[bad_response]", "[timeout]") and not landed_hint:
                    failures.append(f"{tool}: no hint that the upload may have landed: {c.text[:200]}")
                if got not in fault.expect[tool]:
                    failures.append(
                        f"{tool}: expected {sorted(fault.expect[tool])}, got {got}: {c.text[:300]}"
                    )
                # the next call works (faults cleared); a lost session or a failed edit needs media again
                if got in ("[session_lost]",) and tool in ("edit_video", "export_video", "get_timeline"):
                    await rig.prepare()
                nxt = await rig.finish_job(await rig.nemo.call(tool, rig.args(tool)))
                if nxt.error:
                    failures.append(f"{tool}: the next call failed: {nxt.text[:300]}")
                await assert_clean(rig, fault.name, tool)
    assert not failures, "\n".join(failures)
