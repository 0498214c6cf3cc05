"""Hostile input through the MCP tools: what may be uploaded, where downloads land, argument abuse.

Every refusal is checked to (a) carry its tag, (b) send nothing to the backend, and (c) leave the server
working for the next call.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from nemo_mcp.api.media import sniff
from nemo_mcp.local import LocalBackend
from nemo_mcp.server.app import build_server
from tests.media import make_audio, make_image
from tests.server.conftest import Session, make_settings

pytestmark = pytest.mark.anyio

UPLOAD_PATH = "/api/upload-video/nemo_agent/me"


def uploads(backend: LocalBackend) -> int:
    return sum(n for p, n in backend.stats.requests.items() if "upload" in p)


def turns(backend: LocalBackend) -> int:
    return sum(len(v) for v in backend.stats.turns.values())


async def still_works(nemo: Session) -> None:
    c = await nemo.ok("check_credits")
    assert c.data["available"] > 0


# --- uploads: what is a file we may read ---------------------------------------------------------------


async def test_directory_is_refused(nemo: Session, tmp_path: Path, local_backend: LocalBackend) -> None:
    folder = tmp_path / "media" / "folder.mp4"
    folder.mkdir()
    text = await nemo.fail("upload_media", {"sources": [str(folder)]}, "unsupported_file")
    assert "folder" in text
    assert uploads(local_backend) == 0
    await still_works(nemo)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
async def test_device_is_refused(nemo: Session, tmp_path: Path, local_backend: LocalBackend) -> None:
    link = tmp_path / "media" / "zero.mp4"
    link.symlink_to("/dev/zero")
    with anyio.fail_after(10):
        for src in ("/dev/zero", str(link)):
            text = await nemo.fail("upload_media", {"sources": [src]}, "unsupported_file")
            assert "not a regular file" in text or "supported types" in text
    assert uploads(local_backend) == 0


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
async def test_fifo_is_refused_without_blocking(
    nemo: Session, tmp_path: Path, local_backend: LocalBackend
) -> None:
    fifo = tmp_path / "media" / "pipe.mp4"
    os.mkfifo(fifo)
    with anyio.fail_after(10):  # opening a FIFO for reading would block forever
        text = await nemo.fail("upload_media", {"sources": [str(fifo)]}, "unsupported_file")
    assert "not a regular file" in text
    assert uploads(local_backend) == 0
    await still_works(nemo)


async def test_empty_file_is_refused(nemo: Session, tmp_path: Path) -> None:
    empty = tmp_path / "media" / "empty.mp4"
    empty.touch()
    text = await nemo.fail("upload_media", {"sources": [str(empty)]}, "unsupported_file")
    assert "empty" in text


async def test_file_over_500_mb_is_refused(
    nemo: Session, tmp_path: Path, local_backend: LocalBackend
) -> None:
    big = tmp_path / "media" / "huge.mp4"
    with big.open("wb") as fh:  # sparse: no disk space used
        fh.write(b"\x00\x00\x00\x18ftypisom")
        fh.truncate(500 * 1024 * 1024 + 1)
    text = await nemo.fail("upload_media", {"sources": [str(big)]}, "file_too_large")
    assert "huge.mp4" in text
    assert "500 MB" in text
    assert uploads(local_backend) == 0


@pytest.mark.parametrize(
    ("name", "content", "expect"),
    [
        ("notes.mp4", b"just some text, not a video at all", "is not recognisable media"),
        ("script.mp3", b"#!/bin/sh\nrm -rf /\n", "is not recognisable media"),
        ("key.png", b"-----BEGIN OPENSSH PRIVATE KEY-----\n", "is not recognisable media"),
    ],
)
async def test_content_must_sniff_as_the_extension_family(
    nemo: Session, tmp_path: Path, local_backend: LocalBackend, name: str, content: bytes, expect: str
) -> None:
    f = tmp_path / "media" / name
    f.write_bytes(content)
    text = await nemo.fail("upload_media", {"sources": [str(f)]}, "unsupported_file")
    assert expect in text
    assert name in text
    assert uploads(local_backend) == 0


async def test_image_renamed_to_video_is_refused(nemo: Session, tmp_path: Path) -> None:
    png = make_image(tmp_path / "media" / "frame.png")
    fake = tmp_path / "media" / "frame.mp4"
    fake.write_bytes(png.read_bytes())
    text = await nemo.fail("upload_media", {"sources": [str(fake)]}, "unsupported_file")
    assert "frame.mp4 is named .mp4 (video) but its content looks like png data" in text


def test_real_media_sniffs_as_its_family(tmp_path: Path) -> None:
    from tests.media import make_video

    cases = {
        make_video(tmp_path / "a.mp4", seconds=1): "video",
        make_video(tmp_path / "a.mov", seconds=1): "video",
        make_video(tmp_path / "a.mkv", seconds=1): "video",
        make_video(tmp_path / "a.avi", seconds=1, audio=False): "video",
        make_image(tmp_path / "a.png"): "image",
        make_image(tmp_path / "a.jpg"): "image",
        make_audio(tmp_path / "a.mp3", seconds=1): "audio",
        make_audio(tmp_path / "a.wav", seconds=1): "audio",
        make_audio(tmp_path / "a.m4a", seconds=1): "audio",
        make_audio(tmp_path / "a.aac", seconds=1): "audio",
    }
    for path, family in cases.items():
        found = sniff(path.read_bytes()[:64])
        assert found is not None, path.name
        assert family in found[1], path.name


async def test_media_dirs_allowlist_and_escaping_symlinks(
    tmp_path: Path, local_backend: LocalBackend, clip: Path
) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    inside = allowed / "ok.mp4"
    inside.write_bytes(clip.read_bytes())
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "id_rsa.mp4").write_bytes(clip.read_bytes())
    (allowed / "escape.mp4").symlink_to(secret / "id_rsa.mp4")
    (allowed / "dirlink").symlink_to(secret, target_is_directory=True)
    s = make_settings(tmp_path, local_backend.url, media_dirs=[allowed.resolve()])
    async with Client(build_server(s)) as client:
        nemo = Session(client)
        for src in (
            str(secret / "id_rsa.mp4"),
            str(allowed / "escape.mp4"),
            str(allowed / "dirlink" / "id_rsa.mp4"),
            str(allowed / ".." / "secret" / "id_rsa.mp4"),
            str(clip),
        ):
            text = await nemo.fail("upload_media", {"sources": [src]}, "path_not_allowed")
            assert str(allowed.resolve()) in text
        # one bad source refuses the whole call: nothing is uploaded
        await nemo.fail(
            "upload_media", {"sources": [str(inside), str(allowed / "escape.mp4")]}, "path_not_allowed"
        )
        assert uploads(local_backend) == 0
        # a path in the instruction is held to the same rule, before anything is sent to the agent
        await nemo.fail(
            "edit_video",
            {"instruction": f"upload {secret / 'id_rsa.mp4'} and add a title 'x'"},
            "path_not_allowed",
        )
        assert turns(local_backend) == 0
        ok = await nemo.ok("upload_media", {"sources": [str(inside)]})
        assert ok.data["files"][0]["name"] == "ok.mp4"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/shadow",
        "data:video/mp4;base64,AAAAGGZ0eXBpc29t",
        "ftp://example.com/a.mp4",
        "ftp://bob:hunter2@example.com/a.mp4",
        "file://bob:hunter2@localhost/etc/passwd",
        "javascript:alert(1)",
        "https://user:hunter2@example.com/a.mp4",
        "https://:hunter2@example.com/a.mp4",
        "http:///a.mp4",
    ],
)
async def test_url_sources_http_only_without_credentials(
    nemo: Session, local_backend: LocalBackend, url: str
) -> None:
    text = await nemo.fail("upload_media", {"sources": [url]}, "bad_url")
    assert "hunter2" not in text
    assert uploads(local_backend) == 0


async def test_url_in_instruction_is_checked_before_anything_is_sent(
    nemo: Session, local_backend: LocalBackend
) -> None:
    await nemo.fail("edit_video", {"instruction": "upload file:///etc/passwd and trim it"}, "bad_url")
    await nemo.fail(
        "edit_video", {"instruction": "import https://me:hunter2@example.com/v.mp4 please"}, "bad_url"
    )
    assert turns(local_backend) == 0
    assert uploads(local_backend) == 0


# --- tool arguments ------------------------------------------------------------------------------------


BAD_ARGS: list[tuple[str, dict[str, Any], str]] = [
    ("edit_video", {"instruction": "x" * 4001}, "4000"),
    ("edit_video", {"instruction": ""}, "instruction"),
    ("edit_video", {"instruction": 42}, "instruction"),
    ("edit_video", {"instruction": ["trim"]}, "instruction"),
    ("edit_video", {}, "instruction"),
    ("edit_video", {"instruction": "trim", "wait_seconds": "soon"}, "wait_seconds"),
    ("edit_video", {"instruction": "trim", "wait_seconds": -1}, "wait_seconds"),
    ("edit_video", {"instruction": "trim", "wait_seconds": 1e9}, "wait_seconds"),
    ("edit_video", {"instruction": "trim", "session_id": "s" * 201}, "session_id"),
    ("edit_video", {"instruction": "trim \x00\x1b[2J the clip"}, "[invalid_argument]"),
    ("get_timeline", {"session_id": "../../etc"}, "[invalid_argument]"),
    ("get_timeline", {"session_id": "abc\r\nX-Injected: 1"}, "[invalid_argument]"),
    ("get_timeline", {"session_id": 123}, "session_id"),
    ("upload_media", {"sources": "/tmp/a.mp4"}, "sources"),
    ("upload_media", {"sources": []}, "sources"),
    ("upload_media", {"sources": ["/tmp/a.mp4"] * 21}, "sources"),
    ("upload_media", {"sources": ["/" + "a" * 5000 + ".mp4"]}, "sources"),
    ("upload_media", {"sources": ["/tmp/a\x00b.mp4"]}, "[invalid_argument]"),
    ("upload_media", {"sources": [None]}, "sources"),
    ("get_job", {"job_id": "j" * 101}, "job_id"),
    ("get_job", {"job_id": {"$ne": 1}}, "job_id"),
    ("cancel_job", {"job_id": ""}, "job_id"),
    ("new_project", {"title": "t" * 101}, "title"),
    ("export_video", {"download": "yes please"}, "download"),
    ("export_video", {"wait_seconds": [1]}, "wait_seconds"),
    ("export_video", {"download_dir": "d" * 1001}, "download_dir"),
    ("export_video", {"download_dir": "out\x00/../../etc"}, "[invalid_argument]"),
    ("export_video", {"render_id": "r" * 201}, "render_id"),
    ("export_video", {"render_id": "../../etc/passwd"}, "["),
]


@pytest.mark.parametrize(
    ("tool", "args", "expect"), BAD_ARGS, ids=[f"{t}-{i}" for i, (t, _, _) in enumerate(BAD_ARGS)]
)
async def test_bad_arguments_are_validation_errors_not_crashes(
    nemo: Session, local_backend: LocalBackend, tool: str, args: dict[str, Any], expect: str
) -> None:
    c = await nemo.call(tool, args)
    assert c.error, f"{tool}({args!r:.80}) succeeded: {c.text[:200]}"
    assert expect in c.text, c.text[:500]
    assert "Traceback" not in c.text
    assert "[internal]" not in c.text
    assert len(c.text) < 3000  # an oversized argument is not echoed back in full
    assert turns(local_backend) == 0
    await still_works(nemo)


async def test_over_long_instruction_states_the_limit(nemo: Session) -> None:
    c = await nemo.call("edit_video", {"instruction": "add a title " * 400})
    assert c.error
    assert "4000 characters" in c.text
    tools = {t.name: t for t in (await nemo.client.list_tools()).tools}
    assert tools["edit_video"].input_schema["properties"]["instruction"]["maxLength"] == 4000
    assert "4000 characters" in tools["edit_video"].input_schema["properties"]["instruction"]["description"]


async def test_newlines_and_unicode_in_instructions_are_fine(nemo: Session, clip: Path) -> None:
    await nemo.ok("upload_media", {"sources": [str(clip)]})
    c = await nemo.ok("edit_video", {"instruction": "add a title 'Zürich 🌆'\n\tat the top"})
    assert c.data["routed_to"] == "agent"


# --- downloads -----------------------------------------------------------------------------------------


async def _exportable(nemo: Session, clip: Path) -> None:
    await nemo.ok("upload_media", {"sources": [str(clip)]})
    await nemo.ok("edit_video", {"instruction": "use the uploaded clip and trim it to 1 second"})


async def test_downloads_are_confined_to_the_download_folder(
    nemo: Session, clip: Path, tmp_path: Path, local_backend: LocalBackend
) -> None:
    root = tmp_path / "downloads"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "sneaky").symlink_to(outside, target_is_directory=True)
    await _exportable(nemo, clip)
    for bad in ("../outside", str(outside), "/etc", "sneaky", "sub/../../outside"):
        text = await nemo.fail("export_video", {"download_dir": bad}, "path_not_allowed")
        assert "download folder" in text
    assert local_backend.stats.render_submits == 0  # refused before rendering
    assert list(outside.iterdir()) == []


async def test_download_names_are_sanitized_and_never_overwrite(
    nemo: Session, clip: Path, tmp_path: Path
) -> None:
    await nemo.ok("new_project", {"title": "../../.ssh/authorized_keys"})
    await _exportable(nemo, clip)
    first = await nemo.ok("export_video", {"download_dir": "out", "wait_seconds": 45})
    second = await nemo.ok("export_video", {"download_dir": "out", "wait_seconds": 45})
    root = (tmp_path / "downloads" / "out").resolve()
    p1, p2 = Path(first.data["downloaded_to"]), Path(second.data["downloaded_to"])
    assert p1.parent == root
    assert p2.parent == root
    assert p1 != p2  # the second export did not overwrite the first
    assert p1.name == "ssh_authorized_keys.mp4"
    assert p2.name == "ssh_authorized_keys_1.mp4"
    assert p1.stat().st_size == first.data["size_bytes"] > 0
    assert not list(tmp_path.rglob(".*.part")), "temp files left behind"
    assert not (tmp_path / ".ssh").exists()
    # asked explicitly: the same name is replaced (atomically), no third file
    third = await nemo.ok("export_video", {"download_dir": "out", "overwrite": True, "wait_seconds": 45})
    assert Path(third.data["downloaded_to"]) == p1
    assert sorted(p.name for p in root.iterdir()) == [p1.name, p2.name]


async def test_failed_download_leaves_no_partial_file(
    nemo: Session, clip: Path, tmp_path: Path, local_backend: LocalBackend
) -> None:
    await _exportable(nemo, clip)
    done = await nemo.ok("export_video", {"wait_seconds": 45})
    rid = done.data["render_id"]
    local_backend.knobs.output_url_gone = True
    local_backend.knobs.fail_5xx = 50
    local_backend.knobs.fail_5xx_path = f"/api/render/proxy/{rid}/download"
    args = {"render_id": rid, "download": True, "wait_seconds": 45}
    text = await nemo.fail("export_video", args, "download_failed")
    assert "download" in text.lower()
    local_backend.knobs.fail_5xx = 0
    root = tmp_path / "downloads"
    assert not [p for p in root.rglob("*") if p.is_file()], list(root.rglob("*"))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
async def test_path_swapped_for_a_fifo_after_the_checks_does_not_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TOCTOU: even if the type checks are fooled (the path became a FIFO in between), the file is opened
    without blocking and the opened object is re-checked with fstat."""
    from nemo_mcp.server.failures import ToolFailure
    from nemo_mcp.server.media_policy import check_local_file

    fifo = tmp_path / "media" / "swapped.mp4"
    os.mkfifo(fifo)
    monkeypatch.setattr(Path, "is_file", lambda self: True)
    monkeypatch.setattr(Path, "is_dir", lambda self: False)
    try:
        with anyio.fail_after(5):
            with pytest.raises(ToolFailure) as info:
                await anyio.to_thread.run_sync(check_local_file, str(fifo), abandon_on_cancel=True)
        assert "not a regular file" in info.value.message
    finally:  # unblock a reader that did block (protection removed), so the thread can end
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        except OSError:
            pass
