"""Download faults in the fault matrix: what goes wrong after a render succeeded, through `mcp.Client` against
the real local backend behind a proxy that alters what its knobs cannot (tests/hardening/alteringproxy.py).

Each fault must end in its own tag (never `[internal]`, never "Export finished" for a link the server does
not open), leave nothing in the download folder, and say how to fetch the video again; that retry, made
as the message says once the fault is gone, must save the whole file. Outcomes join the matrix table.
"""

from __future__ import annotations

import errno
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from nemo_mcp.api import saving
from nemo_mcp.local import Knobs, LocalBackend, run_local_backend
from nemo_mcp.server.app import build_server
from tests.hardening.alteringproxy import AlteringProxy, run_altering_proxy
from tests.hardening.conftest import record_cell
from tests.hardening.test_fault_matrix import KNOWN_TAGS
from tests.media import make_video
from tests.server.conftest import FAST_API, Call, Session, make_settings

pytestmark = pytest.mark.anyio

MIB = 1024 * 1024


@dataclass
class Rig:
    nemo: Session
    backend: LocalBackend
    proxy: AlteringProxy
    downloads: Path
    monkeypatch: pytest.MonkeyPatch

    def files(self) -> list[Path]:
        return sorted(p for p in self.downloads.rglob("*") if p.is_file()) if self.downloads.exists() else []


@dataclass
class Fault:
    name: str
    arm: Callable[[Rig], None]
    tag: str
    says: tuple[str, ...] = ()  # what the message must mention (besides the retry)
    knobs: dict[str, Any] = field(default_factory=dict)
    api: dict[str, Any] = field(default_factory=dict)


def _disk_full(rig: Rig) -> None:
    real = saving.write_all

    def full(fd: int, data: bytes) -> None:
        if len(data) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd, data)

    rig.monkeypatch.setattr(saving, "write_all", full)


def _output_url(url: Callable[[Rig], str]) -> Callable[[Rig], None]:
    def arm(rig: Rig) -> None:
        rig.proxy.alter.output_url = url(rig)

    return arm


def _extra(n: int) -> Callable[[Rig], None]:
    def arm(rig: Rig) -> None:
        rig.proxy.alter.extra_bytes = n

    return arm


def _knob(**values: Any) -> Callable[[Rig], None]:
    def arm(rig: Rig) -> None:
        rig.backend.knobs.update(values)

    return arm


FAULTS = [
    Fault(
        "download cut short (both routes)", _knob(truncate_download=2), "download_incomplete", ("arrived",)
    ),
    Fault("disk full while saving", _disk_full, "disk_full", ("full", "still at http")),
    Fault("render URL file:", _output_url(lambda r: "file:///etc/passwd"), "bad_render_url", ("file:",)),
    Fault("render URL javascript:", _output_url(lambda r: "javascript:alert(1)"), "bad_render_url"),
    Fault(
        "render URL on another local port",
        _output_url(lambda r: f"{r.backend.url}/cdn/renders/x.mp4"),  # the backend itself, past the proxy
        "bad_render_url",
        ("127.0.0.1",),
    ),
    Fault(
        "render URL link-local",
        _output_url(lambda r: "http://169.254.169.254/latest/meta-data/x.mp4"),
        "bad_render_url",
        ("169.254.169.254",),
    ),
    Fault(
        "download without Content-Length, past the maximum",
        _extra(3 * MIB),
        "download_too_large",
        ("largest download allowed",),
        api={"max_download_bytes": 1 * MIB},
    ),
    Fault(
        "download longer than the render announced",
        _extra(3 * MIB),
        "download_too_large",
        ("announced",),
        knobs={"render_shape": "flat"},  # the flat status shape carries the size
    ),
]


@asynccontextmanager
async def rig_for(fault: Fault, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    knobs = Knobs(silent_fraction=0.0, agent_delay=0.0, heartbeat_interval=5.0, initial_credits=5000)
    knobs.update(fault.knobs)
    clip = make_video(tmp / "media" / "clip.mp4", seconds=1)
    async with AsyncExitStack() as stack:
        backend = await stack.enter_async_context(run_local_backend(knobs))
        proxy, url = await stack.enter_async_context(run_altering_proxy(backend.url))
        settings = make_settings(tmp, url, api_overrides={**FAST_API, **fault.api})
        client = await stack.enter_async_context(Client(build_server(settings)))
        rig = Rig(Session(client), backend, proxy, tmp / "downloads", monkeypatch)
        await rig.nemo.ok("upload_media", {"sources": [str(clip)]})
        await rig.nemo.ok("edit_video", {"instruction": "use the uploaded clip, trim it to 1 s"})
        yield rig


def outcome(c: Call) -> str:
    if not c.error:
        return "recovered"
    m = re.match(r"\[([a-z_]+)\] ", c.text)
    assert m, f"untagged: {c.text[:300]}"
    assert m.group(1) in KNOWN_TAGS, m.group(1)
    for leak in ("Traceback", '{"code"', "nmv_usr_", "Exception", "/etc/passwd", "alert(1)"):
        assert leak not in c.text, c.text
    return f"[{m.group(1)}]"


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
async def test_download_fault(fault: Fault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with anyio.fail_after(90):
        async with rig_for(fault, tmp_path, monkeypatch) as rig:
            fault.arm(rig)
            c = await rig.nemo.call("export_video", {"download": True, "wait_seconds": 45})
            got = outcome(c)
            record_cell(fault.name, "export_video", got)
            assert got == f"[{fault.tag}]", c.text
            assert "Export finished" not in c.text
            for word in fault.says:
                assert word in c.text, c.text
            assert rig.files() == [], "a failed export left files in the download folder"
            render_id = next(rid for rid in rig.backend.renders)
            if fault.tag != "bad_render_url":  # the render is done: say so, and how to fetch it again
                assert f"The render {render_id} is done" in c.text, c.text
                assert f"export_video(render_id='{render_id}', download=true)" in c.text, c.text

            # the fault gone, the retry the message names saves the whole file
            monkeypatch.undo()
            rig.backend.knobs.update({"truncate_download": 0})
            rig.proxy.alter.output_url = None
            rig.proxy.alter.extra_bytes = 0
            again = await rig.nemo.ok(
                "export_video", {"render_id": render_id, "download": True, "wait_seconds": 45}
            )
            saved = Path(again.data["downloaded_to"])
            assert saved.parent == rig.downloads
            assert saved.stat().st_size == rig.backend.renders[render_id].out.stat().st_size
            assert rig.files() == [saved]  # no placeholder, no .part
