"""The review player as an MCP App, through the in-memory client in both protocol eras, with and without the
client advertising the extension: the server's capability (the legacy-handshake override), the tools'
`_meta` (nested and flat), app-only tools, the `ui://` resource (MIME, CSP, a self-contained page), the
static rules of ext-apps' validator (APP-001..011, ported), and the app-only tools' answers."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client, MCPError
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.types import INVALID_PARAMS

from nemo_mcp.media.frames import Source, probe
from nemo_mcp.media.preview import PREVIEW_MAX_BYTES
from nemo_mcp.server.app import build_server
from nemo_mcp.server.apps.review import REVIEW_URI, media_domains
from nemo_mcp.server.mcp_server import LegacyExtensions
from nemo_mcp.server.settings import ServerSettings
from tests.frames.colours import colour_clip
from tests.server.conftest import Session

pytestmark = pytest.mark.anyio

ERAS = ["auto", "legacy"]  # 2026-07-28 (auto) and the 2025-11-25 handshake
SHOWS_PLAYER = {"export_video", "get_timeline", "get_frames"}
APP_ONLY = {"review_state", "flag_moment"}
APPS = [advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})]
ORIGIN = re.compile(r"^(https?)://(\*\.)?[a-z0-9.-]+(:(\d+|\*))?$")


def client_of(settings: ServerSettings, mode: str, apps: bool) -> Client:
    return Client(build_server(settings), mode=mode, extensions=APPS if apps else None)  # type: ignore[arg-type]


@pytest.fixture(params=ERAS)
async def apps_client(request: pytest.FixtureRequest, settings: ServerSettings) -> AsyncIterator[Client]:
    async with client_of(settings, request.param, True) as c:
        yield c


@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize("apps", [False, True])
async def test_both_eras_see_the_ui_extension_and_the_right_tools(
    settings: ServerSettings, era: str, apps: bool
) -> None:
    async with client_of(settings, era, apps) as c:
        extensions = c.server_capabilities.extensions or {}
        assert EXTENSION_ID in extensions, (era, c.server_capabilities)
        tools = {t.name: t for t in (await c.list_tools()).tools}
    for name in SHOWS_PLAYER:
        meta = tools[name].meta or {}
        assert meta["ui"]["resourceUri"] == REVIEW_URI
        assert meta["ui/resourceUri"] == REVIEW_URI  # the flat key pre-GA hosts read
        assert "visibility" not in meta["ui"]  # the model sees them
    for name in set(tools) - SHOWS_PLAYER - APP_ONLY:
        assert "ui" not in (tools[name].meta or {}), name
    if apps:
        for name in APP_ONLY:
            assert tools[name].meta["ui"] == {"resourceUri": REVIEW_URI, "visibility": ["app"]}  # type: ignore[index]
    else:
        assert not APP_ONLY & set(tools), "app-only tools are not offered to a host that cannot run the app"


async def test_without_the_override_a_legacy_handshake_loses_the_extension(settings: ServerSettings) -> None:
    """The gap mcp 2.3.0 pins in its own tests: if this starts failing, the SDK carries extensions on
    2025-11-25 by itself and LegacyExtensions can go."""
    server = build_server(settings)
    server.middleware[:] = [m for m in server.middleware if not isinstance(m, LegacyExtensions)]
    async with Client(server, mode="legacy") as c:
        assert not (c.server_capabilities.extensions or {}).get(EXTENSION_ID)
    async with Client(server, mode="auto") as c:
        assert EXTENSION_ID in (c.server_capabilities.extensions or {})


async def test_the_review_resource(apps_client: Client, settings: ServerSettings) -> None:
    listed = {str(r.uri): r for r in (await apps_client.list_resources()).resources}
    assert listed[REVIEW_URI].mime_type == APP_MIME_TYPE
    read = await apps_client.read_resource(REVIEW_URI)
    (content,) = read.contents
    assert content.mime_type == APP_MIME_TYPE
    ui = (content.meta or {})["ui"]
    assert ui["csp"] == {"resourceDomains": media_domains(settings)}
    assert ui["prefersBorder"] is True
    html = content.text  # type: ignore[union-attr]
    assert html.lstrip().lower().startswith("<!doctype html>")
    # self-contained: no script, style or font from anywhere, no URL of any kind in the page
    assert not re.search(r"<script[^>]+src=|<link\b|@import|@font-face", html, re.IGNORECASE)
    assert "http://" not in html and "https://" not in html  # noqa: PT018


def test_csp_names_the_backends_cdn(tmp_path: Path) -> None:
    cloud = ServerSettings(backend="cloud", config_dir=tmp_path, env={})
    assert media_domains(cloud) == ["https://*.nemovideo.ai", "https://*.nemovideo.com"]
    custom = ServerSettings(
        backend="cloud", api_url="https://api.example.org:8443/v1", config_dir=tmp_path, env={}
    )
    assert media_domains(custom)[-1] == "https://api.example.org:8443"
    local = ServerSettings(backend="local", config_dir=tmp_path, env={})
    assert media_domains(local) == ["http://127.0.0.1:*", "http://localhost:*"]
    for domain in media_domains(cloud) + media_domains(custom) + media_domains(local):
        assert ORIGIN.match(domain), domain


async def test_static_rules_of_the_app_validator(apps_client: Client) -> None:
    """ext-apps src/validator/rules.ts APP-001..011, as they apply to a server."""
    tools = (await apps_client.list_tools()).tools
    resources = {str(r.uri): r for r in (await apps_client.list_resources()).resources}
    for tool in tools:
        ui = (tool.meta or {}).get("ui")
        if not ui:
            continue
        uri = ui["resourceUri"]
        assert uri.startswith("ui://"), "APP-001 ui:// scheme"
        assert uri in resources, "APP-005 the resource a tool names exists"
        assert resources[uri].mime_type == APP_MIME_TYPE, "APP-002 MIME type"
        assert (tool.meta or {}).get("ui/resourceUri") in (None, uri), "APP-006 flat key agrees"
        assert set(ui.get("visibility", ["model"])) <= {"model", "app"}, "APP-011 visibility values"
    content = (await apps_client.read_resource(REVIEW_URI)).contents[0]
    assert getattr(content, "text", None) or getattr(content, "blob", None), "APP-003 text or blob"
    csp = content.meta["ui"]["csp"]  # type: ignore[index]
    assert set(csp) <= {"connectDomains", "resourceDomains", "frameDomains", "baseUriDomains"}, "APP-007"
    assert all(ORIGIN.match(d) for ds in csp.values() for d in ds), "APP-009 well-formed origins"
    result = await apps_client.call_tool("get_timeline", {})
    texts = [b.text for b in result.content if getattr(b, "type", "") == "text"]  # type: ignore[union-attr]
    assert texts, "APP-010 meaningful content for hosts without the UI"
    assert texts[0].strip(), "APP-010 meaningful content for hosts without the UI"


async def test_review_state_flag_and_preview(settings: ServerSettings, tmp_path: Path) -> None:
    clip = colour_clip(tmp_path / "media" / "c.mp4", seconds=4, size="320x180", audio=True)
    async with client_of(settings, "auto", True) as client:
        s = Session(client)
        await s.ok("upload_media", {"sources": [str(clip)]})
        timeline = await s.ok("get_timeline", {})
        before = await s.ok("review_state", {})
        d = before.data
        assert d["export"] is None
        assert any("No export yet" in n for n in d["notes"])
        assert d["tracks"] == timeline.data["tracks"]
        assert d["strip_source"] == "timeline"
        assert len(d["strip_frames"]) == 8
        assert base64.b64decode(d["strip_jpeg_base64"])[:2] == b"\xff\xd8"
        xs = [f["x"] for f in d["strip_frames"]]
        assert xs == sorted(xs)

        e = await s.ok("export_video", {"wait_seconds": 40})
        after = await s.ok("review_state", {"refresh": True})
        exp = after.data["export"]
        assert exp["render_id"] == e.data["render_id"]
        assert exp["url"] == e.data["url"]
        assert exp["current"] is True
        assert after.data["strip_source"] == "export"

        flag = await s.ok("flag_moment", {"at_seconds": 2.25, "note": "the logo\x07 is\n too small"})
        assert "2.2 s" in flag.text or "2.3 s" in flag.text
        assert '"the logo is too small"' in flag.text
        await s.fail("flag_moment", {"at_seconds": 1, "note": " \n "}, "invalid_argument")
        frames = await s.ok("get_frames", {"count": 2})
        assert frames.data["flags"][0]["note"] == "the logo is too small"
        assert "flagged 2.2" in frames.text or "flagged 2.3" in frames.text

        preview = await client.read_resource(f"nemo://exports/{exp['render_id']}/preview")
        (blob,) = preview.contents
        assert blob.mime_type == "video/mp4"
        data = base64.b64decode(blob.blob)  # type: ignore[union-attr]
        assert 0 < len(data) <= PREVIEW_MAX_BYTES
        (tmp_path / "p.mp4").write_bytes(data)
        info = await probe(Source(str(tmp_path / "p.mp4")))
        assert abs(info.duration - 4.0) < 0.6
        with pytest.raises(MCPError) as unknown:
            await client.read_resource("nemo://exports/render_nope/preview")
        assert unknown.value.error.code == INVALID_PARAMS
