"""Two users (two JWTs of one issuer) on one hosted server: each has their own NemoVideo identity,
projects, current project, jobs, frames and downloads. Every tool and resource is tried by the other user
on the first one's ids, and answers exactly as for ids that never existed (the ids aside)."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.types import CallToolResult

from nemo_mcp.server.hosted.tenants import folder_of
from tests.hosted.conftest import HostedServer
from tests.media import make_video

pytestmark = pytest.mark.anyio
APPS = [
    advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
]  # so the review player's own tools are listed


def text(r: CallToolResult) -> str:
    return "\n".join(getattr(b, "text", "") for b in r.content)


async def call(c: Client, name: str, args: dict[str, Any] | None = None) -> CallToolResult:
    return await c.call_tool(name, args or {})


def like(real: str, fake: str) -> str:
    """An id of the same shape as `real` that nobody has."""
    if real.startswith("job_"):
        return "job_" + secrets.token_urlsafe(16)
    return "".join(str((int(ch) + 3) % 10) if ch.isdigit() else ch for ch in real) if fake == "" else fake


async def same_as_unknown(c: Client, name: str, args: dict[str, Any], real: str) -> str:
    """`name` called with another user's id answers as with an id nobody has; that answer."""
    fake = like(real, "")
    mine = await call(c, name, {k: (v if v != real else fake) for k, v in args.items()})
    theirs = await call(c, name, args)
    assert theirs.is_error == mine.is_error, name
    assert text(theirs).replace(real, "<id>") == text(mine).replace(fake, "<id>"), name
    return text(theirs)


async def read_error(c: Client, uri: str) -> str:
    try:
        await c.read_resource(uri)
    except Exception as exc:  # the SDK raises the JSON-RPC error
        return re.sub(r"[A-Za-z0-9_-]{12,}", "<id>", str(exc))
    raise AssertionError(f"{uri} was readable")


async def test_two_users_share_nothing(hosted: HostedServer, tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    clip = make_video(tmp_path / "media" / "clip.mp4", seconds=2)
    with anyio.fail_after(90):
        async with hosted.client("alice", extensions=APPS) as a, hosted.client("bob", extensions=APPS) as b:
            tools = {t.name for t in (await a.list_tools()).tools}
            assert tools == {t.name for t in (await b.list_tools()).tools}
            # alice works
            up = await call(a, "upload_media", {"sources": [str(clip)]})
            assert not up.is_error, text(up)
            sid = up.structured_content["session_id"]  # type: ignore[index]
            edit = await call(a, "edit_video", {"instruction": "add the title 'Hello' at the top"})
            assert not edit.is_error, text(edit)
            export = await call(a, "export_video", {"wait_seconds": 0, "download": True})
            assert not export.is_error, text(export)
            job_id = export.structured_content["job"]["job_id"]  # type: ignore[index]
            done = await call(a, "get_job", {"job_id": job_id, "wait_seconds": 40})
            assert not done.is_error, text(done)
            render_id = done.structured_content["export"]["render_id"]  # type: ignore[index]
            frames = await call(a, "get_frames", {"count": 2})
            assert not frames.is_error, text(frames)
            frame_uri = next(b.uri for b in frames.content if getattr(b, "type", "") == "resource_link")
            assert (await a.read_resource(frame_uri)).contents
            a_credits = (await call(a, "check_credits")).structured_content
            review = await call(a, "review_state", {})
            assert not review.is_error, text(review)
            assert not (await call(a, "flag_moment", {"at_seconds": 1, "note": "too dark"})).is_error
            preview = f"nemo://exports/{render_id}/preview"
            assert (await a.read_resource(preview)).contents
            assert sid in text(await call(a, "list_projects"))

            # bob sees none of it, and cannot tell that any of it exists
            b_list = await call(b, "list_projects")
            assert sid not in text(b_list)
            assert "0 project(s)" in text(b_list)
            assert "No project yet" in text(await call(b, "get_timeline"))
            b_credits = (await call(b, "check_credits")).structured_content
            assert b_credits != a_credits  # another NemoVideo identity: alice's edit cost bob nothing
            said = {
                "get_timeline": await same_as_unknown(b, "get_timeline", {"session_id": sid}, sid),
                "edit_video": await same_as_unknown(
                    b, "edit_video", {"instruction": "trim", "session_id": sid}, sid
                ),
                "upload_media": await same_as_unknown(
                    b, "upload_media", {"sources": [str(clip)], "session_id": sid}, sid
                ),
                "export_video": await same_as_unknown(b, "export_video", {"session_id": sid}, sid),
                "get_frames": await same_as_unknown(b, "get_frames", {"session_id": sid}, sid),
                "get_job": await same_as_unknown(b, "get_job", {"job_id": job_id}, job_id),
                "cancel_job": await same_as_unknown(b, "cancel_job", {"job_id": job_id}, job_id),
                "review_state": await same_as_unknown(b, "review_state", {"session_id": sid}, sid),
                "flag_moment": await same_as_unknown(
                    b, "flag_moment", {"at_seconds": 1, "note": "x", "session_id": sid}, sid
                ),
            }
            assert "[unknown_job]" in said["get_job"]
            assert "[no_project]" in said["get_timeline"]
            render = await call(b, "export_video", {"render_id": render_id, "wait_seconds": 5})
            assert render.is_error, text(render)  # NemoVideo itself refuses bob alice's render
            # resources
            assert await read_error(b, f"nemo://projects/{sid}/timeline") == await read_error(
                b, f"nemo://projects/{like(sid, '')}/timeline"
            )
            assert await read_error(b, frame_uri) == await read_error(
                b, f"nemo://frames/{secrets.token_hex(8)}"
            )
            unknown_render = f"nemo://exports/{like(render_id, '')}/preview"
            assert await read_error(b, preview) == await read_error(b, unknown_render)
            b_res = await b.read_resource("nemo://credits")
            assert '"available"' in b_res.contents[0].text  # type: ignore[union-attr]
            # the tools not tried above, each on bob's own account
            new = await call(b, "new_project", {"title": "bob's"})
            assert not new.is_error
            assert sid not in text(await call(b, "list_projects"))
            assert "not_linked" in str(
                (await call(b, "link_account", {"action": "status"})).structured_content
            )
            covered = {*said, "list_projects", "check_credits", "new_project", "link_account"}
            assert tools <= covered, tools - covered
            # alice's current project is still hers
            assert (await call(a, "get_timeline")).structured_content["session_id"] == sid  # type: ignore[index]
    # the download went to alice's own folder
    root = tmp_path / "downloads" / "users"
    assert [p.name for p in root.iterdir()] == [folder_of("user:alice")]
    assert list((root / folder_of("user:alice")).rglob("*.mp4"))
