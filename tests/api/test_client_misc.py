"""Layering, concurrency of identity, session shapes, URL import and constant-memory uploads."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import anyio
import httpx
import pytest
import respx

from nemo_mcp.api import ApiConfig, BadRequestError, NemoClient
from nemo_mcp.api.media import preflight
from nemo_mcp.api.upload import build_multipart
from nemo_mcp.local import LocalBackend

pytestmark = pytest.mark.anyio

BASE = "http://nemo.test"


def test_api_imports_neither_mcp_nor_local() -> None:
    code = (
        "import sys, nemo_mcp.api, nemo_mcp.api.client, nemo_mcp.api.sse, nemo_mcp.api.media;"
        "bad = [m for m in sys.modules"
        " if m == 'mcp' or m.startswith(('mcp.', 'nemo_mcp.local', 'nemo_mcp.server'))];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


async def test_concurrent_requests_mint_one_token(make_config: Callable[..., ApiConfig]) -> None:
    with respx.mock(base_url=BASE) as mock:

        async def slow_mint(request: httpx.Request) -> httpx.Response:
            await anyio.sleep(0.05)
            return httpx.Response(
                200, json={"code": 0, "data": {"token": "nmv_usr_one", "user_id": "anon_1"}}
            )

        mint = mock.post("/api/auth/anonymous-token").mock(side_effect=slow_mint)
        mock.get("/api/credits/balance/simple").mock(
            return_value=httpx.Response(
                200, json={"code": 0, "data": {"available": 1, "frozen": 0, "total": 1}}
            )
        )
        async with NemoClient(make_config(BASE)) as api, anyio.create_task_group() as tg:
            for _ in range(8):
                tg.start_soon(api.get_credits)
        assert mint.call_count == 1


@pytest.mark.parametrize(
    "payload",
    [
        {"code": 0, "data": {"task_id": "task_1", "session_id": "5529798706024415232", "user_id": "anon_z"}},
        {
            "task_id": "task_1",
            "session_id": 5529798706024415232,
            "user_id": "anon_z",
        },  # top-level, numeric id
        {"success": True, "data": {"task_id": "task_1", "session_id": "5529798706024415232"}},
    ],
)
async def test_session_shapes_and_language(
    make_config: Callable[..., ApiConfig], payload: dict[str, object]
) -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.post("/api/auth/anonymous-token").mock(
            return_value=httpx.Response(
                200, json={"code": 0, "data": {"token": "nmv_usr_a", "user_id": "anon_z"}}
            )
        )
        route = mock.post("/api/tasks/me/with-session/nemo_agent").mock(
            return_value=httpx.Response(200, json=payload)
        )
        async with NemoClient(make_config(BASE)) as api:
            session = await api.create_session(text_hint="영상을 만들어 주세요")
            explicit = await api.create_session(language="es")
        assert session.session_id == "5529798706024415232"
        assert session.task_id == "task_1"
        assert session.user_id == "anon_z"
        assert session.language == "ko"
        assert explicit.language == "es"
        import json

        assert json.loads(route.calls[0].request.content) == {"task_name": "project", "language": "ko"}


async def test_import_urls_against_the_local_backend(
    api: NemoClient, local_backend: LocalBackend, media: dict[str, Path]
) -> None:
    first = await api.create_session()
    uploaded = await api.upload_files(first.session_id, [media["clip"], media["audio"]])
    assert [f.file_type for f in uploaded] == ["video", "audio"]
    second = await api.create_session()
    url = uploaded[0].cdn_url
    assert url is not None
    imported = await api.import_urls(second.session_id, [url])
    assert len(imported) == 1
    assert imported[0].file_type == "video"
    state = await api.get_state(second.session_id)
    assert state.has_media
    assert state.export_ready
    with pytest.raises(BadRequestError):
        await api.import_urls(second.session_id, ["file:///etc/passwd"])


async def test_upload_body_streams_in_constant_memory(tmp_path: Path) -> None:
    big = tmp_path / "big.mp4"
    with big.open("wb") as fh:
        fh.write(b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00")
        fh.truncate(64 * 1024 * 1024)  # sparse: fast to create, 64 MiB to stream
    body = build_multipart([preflight(big)])
    tracemalloc.start()
    try:
        sent = 0
        async for chunk in body.stream():
            sent += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sent == body.content_length
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB while streaming 64 MiB"


async def test_upload_sends_content_length_not_chunked(
    make_config: Callable[..., ApiConfig], media: dict[str, Path]
) -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.post("/api/auth/anonymous-token").mock(
            return_value=httpx.Response(200, json={"code": 0, "data": {"token": "nmv_usr_a"}})
        )
        route = mock.post("/api/upload-video/nemo_agent/me/42").mock(
            return_value=httpx.Response(200, json={"code": 0, "data": {"files": [{"filename": "clip.mp4"}]}})
        )
        async with NemoClient(make_config(BASE)) as api:
            files = await api.upload_files("42", [media["clip"]])
        request = route.calls[0].request
        assert request.headers["content-length"] == str(len(request.content))
        assert "transfer-encoding" not in request.headers
        assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
        assert files[0].filename == "clip.mp4"
