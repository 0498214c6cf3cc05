"""Original file names: kept for display (upload answer, video_infos, draft, timeline page), never used on
disk or in `/cdn/` URLs; `filename=` and RFC 5987 `filename*=` both understood."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest

from nemo_mcp.local import LocalBackend
from nemo_mcp.local.names import display_name, disposition_params, part_filename
from tests.local.helpers import start, state

pytestmark = pytest.mark.anyio

NAMES = ["片段一.mp4", "片段二.mp4", "vidéo 日本 #1.mp4"]
DISK = re.compile(r"[0-9a-f]{16}\.(mp4|png|m4a)")


def _part(name: str, data: bytes, style: str) -> bytes:
    if style == "plain":  # what browsers and httpx send: raw UTF-8, `"` as %22
        disposition = f'form-data; name="files"; filename="{name.replace(chr(34), "%22")}"'.encode()
    elif style == "ext":  # RFC 5987 only
        disposition = f"form-data; name=\"files\"; filename*=UTF-8''{quote(name, safe='')}".encode()
    else:  # both, with an ASCII fallback first (RFC 6266: filename* wins)
        disposition = (
            f'form-data; name="files"; filename="fallback.mp4"; filename*=utf-8\'\'{quote(name, safe="")}'
        ).encode()
    head = b"Content-Disposition: " + disposition + b"\r\nContent-Type: application/octet-stream\r\n\r\n"
    return head + data


async def _post(
    client: httpx.AsyncClient, headers: dict[str, str], sid: str, files: list[tuple[str, bytes, str]]
) -> httpx.Response:
    boundary = uuid.uuid4().hex
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + _part(*f) + b"\r\n" for f in files)
    body += b"--" + boundary.encode() + b"--\r\n"
    return await client.post(
        f"/api/upload-video/nemo_agent/me/{sid}",
        headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        content=body,
    )


@pytest.mark.parametrize("style", ["plain", "ext", "both"])
async def test_original_names_are_kept_and_never_on_disk(
    local_backend: LocalBackend, media: dict[str, Path], style: str
) -> None:
    clip = media["clip2"].read_bytes()
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, sid = await start(client)
        r = await _post(client, headers, sid, [(name, clip, style) for name in NAMES])
        assert r.json()["code"] == 0, r.text
        files = r.json()["data"]["files"]
        assert [f["filename"] for f in files] == NAMES
        st = await state(client, headers, sid)
        assert [i["filename"] for i in st["video_infos"]] == NAMES
        main = next(t for t in st["draft"]["t"] if t["tt"] == 0)["sg"]
        assert [s["n"] for s in main] == NAMES
        # the URLs name unique internal files, never the user's name, and serve the bytes
        paths = [urlsplit(f["cdn_url"]).path for f in files]
        assert len(set(paths)) == 3
        for path in paths:
            folder, leaf = path.rsplit("/", 1)
            assert folder == f"/cdn/uploads/{sid}"
            assert DISK.fullmatch(leaf), leaf
        for f in files:
            assert (await client.get(f["cdn_url"])).content == clip
        on_disk = sorted(p.name for p in (local_backend.data_dir / "uploads" / sid).iterdir())
        assert len(on_disk) == 3
        assert all(DISK.fullmatch(name) for name in on_disk)
        # the timeline page (the claim link) shows the names, escaped
        task_id = local_backend.state.sessions[sid].task_id
        r = await client.post(
            "/api/auth/claim-token", headers=headers, json={"task_id": task_id, "session_id": sid}
        )
        page = (await client.get(f"/workspace/claim?ct={r.json()['data']['claim_token']}")).text
        for name in NAMES:
            assert name in page


async def test_httpx_names_and_a_quote_in_a_name(local_backend: LocalBackend, media: dict[str, Path]) -> None:
    """httpx (like browsers) sends raw UTF-8 and `"` as %22; a name with `"` comes back whole."""
    data = media["clip2"].read_bytes()
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        headers, sid = await start(client)
        names = [*NAMES, 'say "hi".mp4', "  spaced  name .mp4"]
        files = [("files", (name, data, "video/mp4")) for name in names]
        r = await client.post(f"/api/upload-video/nemo_agent/me/{sid}", headers=headers, files=files)
        assert r.json()["code"] == 0, r.text
        got = [f["filename"] for f in r.json()["data"]["files"]]
        assert got == [*NAMES, 'say "hi".mp4', "spaced  name .mp4"]


def test_display_names() -> None:
    assert display_name("片段一.mp4") == "片段一.mp4"
    assert display_name("C:\\Users\\me\\vidéo 日本 #1.mp4") == "vidéo 日本 #1.mp4"
    assert display_name("../../etc/passwd.mp4") == "passwd.mp4"
    assert display_name("a\x00b\u202eevil.mp4") == "abevil.mp4"  # control and bidi overrides go
    assert display_name(" .hidden.mp4") == "hidden.mp4"
    assert display_name("e\u0301.mp4") == "é.mp4"  # NFC
    long = display_name("x" * 500 + ".mp4")
    assert len(long) == 200
    assert long.endswith(".mp4")
    assert display_name("...") == "upload"


def test_content_disposition_forms() -> None:
    def name(header: str) -> str | None:
        return part_filename(disposition_params(header.encode()))

    assert name('form-data; name="files"; filename="a;b.mp4"') == "a;b.mp4"
    assert name("form-data; name=files; filename=plain.mp4") == "plain.mp4"
    assert name("form-data; name=\"files\"; filename*=UTF-8''%E7%89%87%E6%AE%B5.mp4") == "片段.mp4"
    assert name("form-data; name=\"files\"; filename*=iso-8859-1'en'caf%E9.mp4") == "café.mp4"
    # an undecodable filename* falls back to filename
    assert name('form-data; name="files"; filename="ok.mp4"; filename*=UTF-8\'\'%FF%FE.mp4') == "ok.mp4"
    assert name('form-data; name="files"; filename="a%22b.mp4"') == 'a"b.mp4'
    assert name('form-data; name="files"; filename="a\\\\b.mp4"') == "a\\b.mp4"  # quoted-pair
    assert name('form-data; name="files"') is None
    assert disposition_params(b'form-data; NAME="files"')["name"] == "files"
