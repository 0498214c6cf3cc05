"""edit_video as the routing table says (docs/skill.md): an edit that also asks for the file runs both as one
job, a destination is honoured inside the download folder and refused outside it, a held export is not
started, and files or money never reach the agent. Real MCP client, real local backend, real FFmpeg."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from nemo_mcp.local import LocalBackend
from tests.server.conftest import Session
from tests.server.test_tools import turns, upload

pytestmark = pytest.mark.anyio

SKILL_PROMPTS = [
    "extract metadata, generate a summary, and export a trimmed clip via API",
    "convert a 2-minute MP4 product demo video into a 1080p MP4",
]


async def _is_mp4(url: str) -> bool:
    async with httpx.AsyncClient() as http:
        r = await http.get(url)
    return r.status_code == 200 and r.content[4:8] == b"ftyp"


@pytest.mark.parametrize("prompt", SKILL_PROMPTS)
async def test_the_skills_example_prompts_return_an_mp4(
    nemo: Session, clip: Path, local_backend: LocalBackend, prompt: str
) -> None:
    await upload(nemo, clip)
    local_backend.knobs.agent_delay = 0.6  # each stage lasts long enough to be reported
    c = await nemo.ok("edit_video", {"instruction": prompt, "wait_seconds": 50})
    assert c.data["plan"] == ["agent", "export"]
    assert c.data["status"] == "done", c.text
    export = c.data["export"]
    assert export is not None, c.text
    assert export["status"] == "completed"
    assert await _is_mp4(export["url"])
    assert export["url"] in c.text
    messages = [m or "" for _p, _t, m in c.progress]
    assert any("1/2" in m for m in messages), messages
    assert any("2/2" in m for m in messages), messages
    # the edit's result comes first, then the render
    assert c.text.index(export["url"]) > c.text.index("Timeline")


async def test_an_edit_with_export_reports_the_edit_then_the_file_once(nemo: Session, clip: Path) -> None:
    await upload(nemo, clip)
    c = await nemo.ok(
        "edit_video", {"instruction": "trim it to the first 2 seconds and export it", "wait_seconds": 50}
    )
    assert c.data["routed_to"] == "agent"
    assert c.data["changes"], c.text
    assert c.data["export"]["status"] == "completed"
    assert c.text.count(c.data["export"]["url"]) == 1
    assert "Export button" not in c.text
    assert "click" not in c.text.lower()
    timeline = await nemo.ok("get_timeline", {})
    assert timeline.data["duration_seconds"] == pytest.approx(2, abs=0.3)


async def test_a_named_destination_inside_the_download_folder_gets_the_file(
    nemo: Session, clip: Path, tmp_path: Path
) -> None:
    await upload(nemo, clip)
    dest = tmp_path / "downloads" / "cuts" / "first two.mp4"
    c = await nemo.ok(
        "edit_video",
        {"instruction": f"trim it to the first 2 seconds and save it as {dest}", "wait_seconds": 50},
    )
    saved = Path(c.data["export"]["downloaded_to"])
    assert saved.parent == dest.parent.resolve()
    assert saved.name.startswith("first")
    assert saved.suffix == ".mp4"
    assert saved.read_bytes()[4:8] == b"ftyp"


@pytest.mark.parametrize("where", ["/etc/nemo-final.mp4", "~/../../tmp/escape.mp4", "导出到 /root/成片"])
async def test_a_destination_outside_the_download_folder_is_refused_before_anything_runs(
    nemo: Session, clip: Path, local_backend: LocalBackend, where: str
) -> None:
    await upload(nemo, clip)
    before = turns(local_backend)
    instruction = where if where.startswith("导出到") else f"trim it to 2 seconds and save it to {where}"
    text = await nemo.fail("edit_video", {"instruction": instruction}, "path_not_allowed")
    assert "download folder" in text
    assert turns(local_backend) == before, "the edit was sent although its export could not be saved"
    assert not Path("/etc/nemo-final.mp4").exists()


@pytest.mark.parametrize(
    "instruction",
    ["trim it to the first 2 seconds, but don't export yet", "剪到前两秒，先别导出"],
)
async def test_a_held_export_is_not_started(nemo: Session, clip: Path, instruction: str) -> None:
    await upload(nemo, clip)
    c = await nemo.ok("edit_video", {"instruction": instruction, "wait_seconds": 50})
    assert c.data["plan"] == ["agent"]
    assert c.data["deferred"] is True
    assert c.data["export"] is None
    assert "Not exporting, as you asked" in c.text


@pytest.mark.parametrize(
    ("instruction", "routed"),
    [
        ("could I have the mp4?", "export"),
        ("出片吧", "export"),
        ("will my credits cover an export?", "credits"),
        ("is the edit finished?", "state"),
        ("弄完了吗", "state"),
    ],
)
async def test_local_requests_never_reach_the_agent(
    nemo: Session, clip: Path, local_backend: LocalBackend, instruction: str, routed: str
) -> None:
    await upload(nemo, clip)
    before = turns(local_backend)
    c = await nemo.ok("edit_video", {"instruction": instruction, "wait_seconds": 50})
    assert c.data["routed_to"] == routed
    assert turns(local_backend) == before


@pytest.mark.parametrize(
    "instruction",
    [
        "credit the photographer in the corner",
        "balance the audio levels",
        "put a status bar overlay at the top",
    ],
)
async def test_an_edit_naming_a_keyword_reaches_the_agent(
    nemo: Session, clip: Path, local_backend: LocalBackend, instruction: str
) -> None:
    await upload(nemo, clip)
    before = turns(local_backend)
    c = await nemo.ok("edit_video", {"instruction": instruction, "wait_seconds": 50})
    assert c.data["routed_to"] == "agent"
    assert turns(local_backend) == before + 1


@pytest.mark.parametrize("instruction", ["upload", "上传", "I want to upload a video"])
async def test_an_upload_without_a_file_says_how_to_send_one(
    nemo: Session, local_backend: LocalBackend, instruction: str
) -> None:
    text = await nemo.fail("edit_video", {"instruction": instruction}, "no_media")
    assert "upload_media" in text
    assert turns(local_backend) == 0


async def test_filler_around_a_path_is_not_sent_to_the_agent(
    nemo: Session, clip: Path, local_backend: LocalBackend
) -> None:
    c = await nemo.ok("edit_video", {"instruction": f"here you go: {clip}", "wait_seconds": 50})
    assert c.data["routed_to"] == "upload"
    assert c.data["upload"]["files"][0]["name"] == "clip.mp4"
    assert turns(local_backend) == 0
