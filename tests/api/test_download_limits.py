"""Downloads against a real loopback HTTP server that misbehaves on purpose: no Content-Length and no end,
more bytes than announced, a body cut short, a redirect to another local port, a full disk. Each ends in
its own typed error, and the download folder is left exactly as it was."""

from __future__ import annotations

import errno
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
import uvicorn

from nemo_mcp.api import (
    ApiConfig,
    BadRenderUrlError,
    DiskFullError,
    DownloadIncompleteError,
    DownloadTooLargeError,
    NemoClient,
    saving,
)
from nemo_mcp.api.client._downloads import download_cap
from tests.server.conftest import free_port

pytestmark = pytest.mark.anyio

KIB = 1024
TOKEN = "nmv_usr_limits0123456789abcdef"


class Misbehaving:
    """`GET /api/render/proxy/<id>/download` answers as `mode` says; counts the bytes it sent."""

    def __init__(self) -> None:
        self.mode = "exact"
        self.size = 64 * KIB
        self.redirect_to = ""
        self.sent = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunk = b"\0" * (16 * KIB)
        if self.mode == "redirect":
            await send(
                {
                    "type": "http.response.start",
                    "status": 302,
                    "headers": [(b"location", self.redirect_to.encode())],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        headers = [(b"content-type", b"video/mp4")]
        if self.mode in ("exact", "truncate", "huge"):
            declared = self.size if self.mode != "huge" else 10 * 1024 * KIB * KIB
            headers.append((b"content-length", str(declared).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        limit = self.size // 2 if self.mode == "truncate" else self.size
        if self.mode in ("endless", "huge"):
            limit = 64 * 1024 * KIB  # bounded: the client must stop long before this
        while self.sent < limit:
            part = chunk[: min(len(chunk), limit - self.sent)]
            self.sent += len(part)
            await send({"type": "http.response.body", "body": part, "more_body": True})
        if self.mode == "truncate":
            raise RuntimeError("connection cut mid-body")  # uvicorn breaks the connection
        await send({"type": "http.response.body", "body": b""})


@asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="off")
    )
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        with anyio.fail_after(10):
            while not server.started:
                await anyio.sleep(0.02)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True


@pytest.fixture
async def site() -> AsyncIterator[tuple[Misbehaving, str]]:
    app = Misbehaving()
    async with serve(app) as url:
        yield app, url


@pytest.fixture
def client_for(make_config: Callable[..., ApiConfig]) -> Callable[..., NemoClient]:
    def make(url: str, **kw: Any) -> NemoClient:
        return NemoClient(make_config(url, token=TOKEN, **kw))

    return make


def test_the_cap_is_the_announced_size_plus_a_margin_never_above_the_maximum() -> None:
    mib = 1024 * KIB
    assert download_cap(None, 100 * mib) == 100 * mib
    assert download_cap(10 * mib, 100 * mib) == 11 * mib  # at least 1 MiB over
    assert download_cap(50 * mib, 100 * mib) == 55 * mib  # 10 % over
    assert download_cap(99 * mib, 100 * mib) == 100 * mib  # never above the maximum


async def test_no_content_length_and_no_end_is_cut_at_the_maximum(
    site: tuple[Misbehaving, str], client_for: Callable[..., NemoClient], tmp_path: Path
) -> None:
    app, url = site
    app.mode = "endless"
    async with client_for(url, max_download_bytes=256 * KIB) as api:
        with pytest.raises(DownloadTooLargeError) as info:
            await api.download_render("r1", tmp_path / "dl" / "v.mp4")
    err = info.value
    assert err.cap == 256 * KIB
    assert err.size is not None
    assert err.cap < err.size <= err.cap + 64 * KIB  # stopped right at the cap, not at the server's end
    assert "past its cap of 256 KB (the largest download allowed)" in str(err)
    assert "nothing was saved" in str(err)
    assert list((tmp_path / "dl").iterdir()) == []


async def test_more_than_announced_is_cut_at_the_announced_size_plus_the_margin(
    site: tuple[Misbehaving, str], client_for: Callable[..., NemoClient], tmp_path: Path
) -> None:
    app, url = site
    app.mode = "endless"
    async with client_for(url) as api:  # the default maximum (GBs) is far away
        with pytest.raises(DownloadTooLargeError, match=r"the render announced 64 KB") as info:
            await api.download_render("r1", tmp_path / "v.mp4", expected_size=64 * KIB)
    assert info.value.announced == 64 * KIB
    assert info.value.cap == 64 * KIB + 1024 * KIB  # the announced size plus the 1 MiB minimum margin
    assert info.value.size is not None
    assert info.value.size <= info.value.cap + 64 * KIB
    assert [p for p in tmp_path.iterdir() if p.suffix in (".mp4", ".part")] == []


async def test_a_declared_length_over_the_cap_is_refused_before_reading(
    site: tuple[Misbehaving, str], client_for: Callable[..., NemoClient], tmp_path: Path
) -> None:
    app, url = site
    app.mode = "huge"
    async with client_for(url) as api:
        with pytest.raises(DownloadTooLargeError):
            await api.download_render("r1", tmp_path / "v.mp4")
    assert not (tmp_path / "v.mp4").exists()


async def test_a_body_cut_short_is_an_incomplete_download(
    site: tuple[Misbehaving, str], client_for: Callable[..., NemoClient], tmp_path: Path
) -> None:
    app, url = site
    app.mode = "truncate"
    async with client_for(url) as api:
        with pytest.raises(DownloadIncompleteError) as info:
            await api.download_render("r1", tmp_path / "v.mp4")
    assert info.value.tag == "download_incomplete"
    assert info.value.total == app.size
    assert info.value.received is not None
    assert 0 < info.value.received < app.size
    assert "arrived" in str(info.value)
    assert not list(tmp_path.glob("*.mp4"))
    assert not list(tmp_path.glob(".*.part"))


async def test_a_redirect_to_another_local_port_is_not_followed(
    site: tuple[Misbehaving, str], client_for: Callable[..., NemoClient], tmp_path: Path
) -> None:
    app, url = site
    other = Misbehaving()
    async with serve(other) as other_url:
        app.mode = "redirect"
        app.redirect_to = f"{other_url}/secret.mp4"
        async with client_for(url) as api:
            with pytest.raises(BadRenderUrlError):
                await api.download_render("r1", tmp_path / "v.mp4", output_url=f"{other_url}/x.mp4")
    assert other.sent == 0  # neither the output URL nor the redirect reached the other port
    assert not (tmp_path / "v.mp4").exists()


async def test_a_full_disk_is_said_and_leaves_nothing(
    site: tuple[Misbehaving, str],
    client_for: Callable[..., NemoClient],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, url = site
    real = saving.write_all
    written = 0

    def filling(fd: int, data: bytes) -> None:  # the disk fills up after the first 32 KiB
        nonlocal written
        if written + len(data) > 32 * KIB:
            raise OSError(errno.ENOSPC, "No space left on device")
        written += len(data)
        real(fd, data)

    monkeypatch.setattr(saving, "write_all", filling)
    folder = tmp_path / "dl"
    async with client_for(url) as api:
        with pytest.raises(DiskFullError) as info:
            await api.download_render("r1", folder / "v.mp4")
    assert info.value.tag == "disk_full"
    assert str(folder) in str(info.value)
    assert list(folder.iterdir()) == []
