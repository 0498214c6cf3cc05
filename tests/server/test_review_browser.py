"""The review player in a real browser: Debian's `chromium`, driven by Playwright (the Python package only;
no browser download), hosts `ui://nemo/review` in a sandboxed iframe under the CSP the spec builds from
the resource's `_meta.ui.csp`, with a small host page (review_host.html) speaking the postMessage bridge
and forwarding the View's calls to the server through the in-memory MCP client. The tool result it shows
is a real `export_video` answer from the embedded backend.

Asserted: the handshake (ui/initialize, then initialized, then size reports), that the video loads the
export and plays, that the drawn tracks match the timeline, the keyframe strip seeks, "flag this moment"
reaches the server and the model (ui/message), the download goes through the host, and an expired URL is
refreshed through a tool call. A screenshot is saved (NEMO_REVIEW_SCREENSHOT=path also copies it there).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from nemo_mcp.local import Knobs, LocalBackend
from nemo_mcp.server.app import build_server
from nemo_mcp.server.apps.review import REVIEW_URI
from nemo_mcp.server.settings import ServerSettings
from tests.frames.colours import colour_clip
from tests.server.conftest import Session, make_settings

pytestmark = pytest.mark.anyio

CHROMIUM = os.environ.get("NEMO_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip(
        "needs a Chromium: on Debian/Ubuntu `apt-get install -y chromium` (or set NEMO_CHROMIUM)",
        allow_module_level=True,
    )
playwright = pytest.importorskip(
    "playwright.async_api", reason="needs the Playwright package: pip install -e '.[dev]'"
)

HOST = (Path(__file__).with_name("review_host.html")).read_text(encoding="utf-8")
APPS = [advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})]
CAPABILITIES = {"serverTools": {}, "serverResources": {}, "message": {}, "openLinks": {}, "downloadFile": {}}


def with_csp(html: str, csp: dict[str, list[str]]) -> str:
    """The page under the Content-Security-Policy a host builds from `_meta.ui.csp` (spec: Security
    Implications, 4)."""
    res = " ".join(csp.get("resourceDomains", []))
    policy = (
        f"default-src 'none'; script-src 'self' 'unsafe-inline' {res}; "
        f"style-src 'self' 'unsafe-inline' {res}; img-src 'self' data: {res}; "
        f"media-src 'self' data: {res}; font-src 'self' {res}; "
        f"connect-src 'none'; frame-src 'none'; object-src 'none'; base-uri 'self'"
    )
    meta = f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
    return html.replace("<head>", "<head>\n" + meta, 1)


def dump(model: Any) -> dict[str, Any]:
    return dict(model.model_dump(mode="json", by_alias=True, exclude_none=True))


@asynccontextmanager
async def hosted(
    client: Client,
    tool_result: Any,
    tool_input: dict[str, Any],
    on_call: Callable[[str, dict[str, Any]], Awaitable[None]],
) -> AsyncIterator[tuple[Any, Any]]:
    """A browser page hosting the review app for `tool_result`; yields (page, the View's frame)."""
    read = await client.read_resource(REVIEW_URI)
    content = read.contents[0]
    html = with_csp(content.text, content.meta["ui"]["csp"])  # type: ignore[union-attr,index]

    async def forward(method: str, params: dict[str, Any]) -> dict[str, Any]:
        await on_call(method, params)
        if method == "tools/call":
            return dump(await client.call_tool(params["name"], params.get("arguments") or {}))
        return dump(await client.read_resource(params["uri"]))

    async with playwright.async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"]
        )
        try:
            page = await browser.new_page(viewport={"width": 940, "height": 1000})
            await page.expose_function("mcpForward", forward)
            await page.set_content(HOST)
            await page.evaluate(
                "([caps, input, result]) => { window.hostCapabilities = caps; window.toolInput = input; "
                "window.toolResult = result; }",
                [CAPABILITIES, tool_input, dump(tool_result)],
            )
            await page.evaluate("(html) => window.loadView(html)", html)
            frame = page.main_frame.child_frames[0]
            await until("the view runs", lambda: frame.evaluate("Boolean(window.__nemoReview)"))
            yield page, frame
        finally:
            await browser.close()


async def until(what: str, check: Callable[[], Awaitable[Any]], seconds: float = 30.0) -> Any:
    """Poll `check` until it is truthy (a frame still loading its document is polled again)."""
    try:
        with anyio.fail_after(seconds):
            while True:
                try:
                    value = await check()
                except playwright.Error as exc:
                    if "context was destroyed" not in str(exc) and "not attached" not in str(exc):
                        raise
                    value = None
                if value:
                    return value
                await anyio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for: {what}") from None


async def host_log(page: Any) -> list[dict[str, Any]]:
    return list(await page.evaluate("window.hostLog"))


async def test_the_player_in_chromium(tmp_path: Path) -> None:
    clip = colour_clip(tmp_path / "media" / "colours.mp4", seconds=4, size="480x270", audio=True)
    quick = Knobs(silent_fraction=0.0, agent_delay=0.0, heartbeat_interval=5.0)
    settings = make_settings(tmp_path, "http://127.0.0.1:9", backend="local", local_knobs=quick)
    calls: list[tuple[str, dict[str, Any]]] = []

    async def on_call(method: str, params: dict[str, Any]) -> None:
        calls.append((method, params))

    async with Client(build_server(settings), extensions=APPS) as client:  # type: ignore[arg-type]
        s = Session(client)
        await s.ok("new_project", {"title": "Colour check"})
        await s.ok("upload_media", {"sources": [str(clip)]})
        await s.ok("edit_video", {"instruction": "add the title 'Review' at the top"})
        timeline = (await s.ok("get_timeline", {})).data
        args = {"wait_seconds": 40}
        export = await client.call_tool("export_video", args)
        assert not export.is_error
        url = export.structured_content["url"]  # type: ignore[index]

        async with hosted(client, export, args, on_call) as (page, frame):
            # handshake: ui/initialize first, initialized after the answer, then size reports
            log = await until("handshake", lambda: _has(page, "ui/notifications/initialized"))
            methods = [m.get("method") for m in log]
            assert methods[0] == "ui/initialize"
            init = log[0]["params"]
            assert init["protocolVersion"]
            assert "appCapabilities" in init
            await until("size report", lambda: _has(page, "ui/notifications/size-changed"))

            # the export plays: its preview, read through the host (loopback is not reachable from a host's
            # sandbox), as a data: URL under the spec's default media policy
            await until(
                "video loaded", lambda: frame.evaluate("document.getElementById('player').readyState >= 2")
            )
            src = await frame.evaluate("document.getElementById('player').src")
            assert src.startswith("data:video/mp4;base64,")
            assert (
                "resources/read",
                {"uri": f"nemo://exports/{export.structured_content['render_id']}/preview"},
            ) in calls  # type: ignore[index]
            await frame.evaluate(
                "(() => { const v = document.getElementById('player'); v.muted = true; return v.play(); })()"
            )
            await until(
                "playing", lambda: frame.evaluate("document.getElementById('player').currentTime > 0.3")
            )

            # the tracks, drawn to scale
            drawn = await frame.evaluate(
                """[...document.querySelectorAll('.track')].map(row => {
                     const lane = row.querySelector('.lane').getBoundingClientRect();
                     const segs = [...row.querySelectorAll('.seg')];
                     return {track: Number(row.dataset.track), segments: segs.map(s => {
                       const r = s.getBoundingClientRect();
                       return {start: Number(s.dataset.start), end: Number(s.dataset.end),
                               left: (r.left - lane.left) / lane.width, width: r.width / lane.width};
                     })};
                   })"""
            )
            duration = timeline["duration_seconds"]
            assert [row["track"] for row in drawn] == [t["index"] for t in timeline["tracks"]]
            for row, track in zip(drawn, timeline["tracks"], strict=True):
                assert len(row["segments"]) == len(track["segments"])
                for seg, want in zip(row["segments"], track["segments"], strict=True):
                    assert (seg["start"], seg["end"]) == (want["start_seconds"], want["end_seconds"])
                    assert seg["left"] == pytest.approx(want["start_seconds"] / duration, abs=0.01)
                    span = (want["end_seconds"] - want["start_seconds"]) / duration
                    assert seg["width"] == pytest.approx(span, abs=0.01)

            # the keyframe strip seeks the player
            buttons = await until("strip", lambda: frame.locator("#strip button.kf").count())
            assert buttons == 8
            await frame.evaluate("document.getElementById('player').pause()")
            await frame.locator("#strip button.kf").nth(4).click()
            state = await frame.evaluate("window.__nemoReview.state")
            wanted = state["strip_frames"][4]["time_seconds"]
            assert await frame.evaluate("document.getElementById('player').currentTime") == pytest.approx(
                wanted, abs=0.05
            )

            # flag this moment: recorded on the server, told to the model through the host
            await frame.evaluate("document.getElementById('player').currentTime = 1.2")
            await frame.locator("#note").fill("the title covers the face")
            await frame.locator("#flag").click()
            log = await until("ui/message", lambda: _has(page, "ui/message"))
            message = next(m for m in log if m.get("method") == "ui/message")["params"]
            assert message["role"] == "user"
            said = message["content"][0]["text"]
            assert "1.2 s" in said
            assert "the title covers the face" in said
            flags = (await s.ok("review_state", {})).data["flags"]
            assert flags[-1]["note"] == "the title covers the face"
            assert flags[-1]["at_seconds"] == pytest.approx(1.2, abs=0.05)

            # the download goes through the host (a sandboxed page cannot download)
            await frame.locator("#download").click()
            log = await until("download", lambda: _has(page, "ui/download-file"))
            link = next(m for m in log if m.get("method") == "ui/download-file")["params"]["contents"][0]
            assert link["type"] == "resource_link"
            assert link["uri"] == url

            shot = tmp_path / "review-player.png"
            await frame.evaluate("document.getElementById('player').currentTime = 2.5")
            await anyio.sleep(0.3)
            await page.locator("#view").screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000
            if target := os.environ.get("NEMO_REVIEW_SCREENSHOT"):
                shutil.copyfile(shot, target)


async def test_an_expired_video_url_is_refreshed_through_a_tool_call(
    tmp_path: Path, local_backend: LocalBackend
) -> None:
    clip = colour_clip(tmp_path / "media" / "colours.mp4", seconds=3, size="320x180")
    settings: ServerSettings = make_settings(
        tmp_path, local_backend.url
    )  # cloud mode: the page loads the URL
    refreshes: list[dict[str, Any]] = []

    async def on_call(method: str, params: dict[str, Any]) -> None:
        arguments = params.get("arguments") or {}
        if method == "tools/call" and arguments.get("refresh"):
            refreshes.append(arguments)
            local_backend.knobs.output_url_gone = False  # the backend hands out a working URL again

    async with Client(build_server(settings), extensions=APPS) as client:  # type: ignore[arg-type]
        s = Session(client)
        await s.ok("upload_media", {"sources": [str(clip)]})
        export = await client.call_tool("export_video", {"wait_seconds": 40})
        local_backend.knobs.output_url_gone = True  # the URL in the result has "expired"
        async with hosted(client, export, {}, on_call) as (_page, frame):
            await until(
                "video loaded after a refresh",
                lambda: frame.evaluate("document.getElementById('player').readyState >= 2"),
            )
            assert refreshes, "the page never asked for a fresh URL"
            assert refreshes[0]["session_id"] == export.structured_content["session_id"]  # type: ignore[index]
            src = await frame.evaluate("document.getElementById('player').src")
            assert src == export.structured_content["url"]  # type: ignore[index]


async def _has(page: Any, method: str) -> list[dict[str, Any]] | None:
    log = await host_log(page)
    return log if any(m.get("method") == method for m in log) else None
