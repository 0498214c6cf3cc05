"""Failures at the protocol edge, in plain words: bad tool arguments, unknown tools, prompts with missing
arguments, unknown resources, a cancelled job. Both protocol eras, through the in-memory client."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from mcp import Client, MCPError
from mcp.types import INVALID_PARAMS

from nemo_mcp.local import LocalBackend
from nemo_mcp.server.app import build_server
from nemo_mcp.server.settings import ServerSettings
from tests.server.conftest import Session

pytestmark = pytest.mark.anyio

ERAS = ["auto", "legacy"]  # 2026-07-28 (auto) and the 2025-11-25 handshake


@pytest.fixture(params=ERAS)
async def client(request: pytest.FixtureRequest, settings: ServerSettings) -> AsyncIterator[Client]:
    async with Client(build_server(settings), mode=request.param) as c:
        yield c


def _text(res: Any) -> str:
    return "\n".join(b.text for b in res.content if getattr(b, "type", "") == "text")


BAD_ARGUMENTS = [
    ("export_video", {"wait_seconds": 99}, "wait_seconds must be at most 50"),
    ("export_video", {"wait_seconds": -1}, "wait_seconds must be at least 0"),
    ("export_video", {"wait_seconds": "soon"}, "wait_seconds must be a number"),
    ("export_video", {"download": "maybe"}, "download must be true or false"),
    ("edit_video", {}, "instruction is required"),
    ("edit_video", {"instruction": ""}, "instruction must not be empty"),
    ("edit_video", {"instruction": "x" * 4001}, "instruction must be at most 4000 characters"),
    ("upload_media", {"sources": []}, "sources needs at least 1 item"),
    ("upload_media", {"sources": ["a"] * 21}, "sources takes at most 20 items"),
    ("upload_media", {"sources": [""]}, "sources[0] must not be empty"),
    ("upload_media", {"sources": "/tmp/a.mp4"}, "sources must be a list"),
    ("get_job", {"job_id": "x" * 101}, "job_id must be at most 100 characters"),
    ("new_project", {"title": 7}, "title must be text"),
]


@pytest.mark.parametrize(("tool", "args", "words"), BAD_ARGUMENTS)
async def test_bad_arguments_are_tagged_in_plain_words(
    client: Client, tool: str, args: dict[str, Any], words: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        res = await client.call_tool(tool, args)
    text = _text(res)
    assert res.is_error
    assert text.startswith("[invalid_argument] "), text
    assert words in text
    assert text.endswith("Nothing was done.")
    for wording in ("validation error", "pydantic", "https://", "Input should", "type=", "Error executing"):
        assert wording not in text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_an_unknown_tool_is_tagged(client: Client) -> None:
    res = await client.call_tool("render_everything", {})
    assert res.is_error
    assert _text(res).startswith("[unknown_tool] There is no tool named 'render_everything'")


async def test_prompt_with_a_missing_argument_is_invalid_params(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO), pytest.raises(MCPError) as info:
        await client.get_prompt("quick_edit", {})
    assert info.value.error.code == INVALID_PARAMS
    assert "file" in info.value.error.message
    assert "quick_edit" in info.value.error.message
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # with the argument it renders
    ok = await client.get_prompt("quick_edit", {"file": "/videos/a.mp4"})
    assert "upload_media" in ok.messages[0].content.text  # type: ignore[union-attr]


async def test_an_unknown_prompt_is_invalid_params(client: Client) -> None:
    with pytest.raises(MCPError) as info:
        await client.get_prompt("make_me_a_movie", {})
    assert info.value.error.code == INVALID_PARAMS
    assert "make_me_a_movie" in info.value.error.message


async def test_the_timeline_of_an_unknown_project_is_invalid_params(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO), pytest.raises(MCPError) as info:
        await client.read_resource("nemo://projects/1234567890123456789/timeline")
    assert info.value.error.code == INVALID_PARAMS
    assert info.value.error.message.startswith("[no_project] ")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_get_job_of_a_cancelled_job_is_a_result(
    settings: ServerSettings, local_backend: LocalBackend, clip: Any
) -> None:
    local_backend.knobs.render_min_seconds = 30  # a render slow enough to cancel
    async with Client(build_server(settings)) as c:
        nemo = Session(c)
        await nemo.ok("upload_media", {"sources": [str(clip)]})
        await nemo.ok("edit_video", {"instruction": "trim it to 2 seconds"})
        started = await nemo.ok("export_video", {"wait_seconds": 0})
        job_id = started.data["job"]["job_id"]
        cancelled = await nemo.ok("cancel_job", {"job_id": job_id})
        assert cancelled.data["status"] == "cancelled"
        with anyio.fail_after(10):
            got = await nemo.ok("get_job", {"job_id": job_id, "wait_seconds": 1})
        assert got.data["job"]["status"] == "cancelled"
        assert "was cancelled" in got.text
