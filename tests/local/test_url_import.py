"""URL import: loopback, private, link-local, unspecified and multicast targets are refused after DNS
resolution and on every redirect hop (unless `allow_private_url_import`); every refusal and every failure
is the same error, so the answer says nothing about ports or addresses."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from nemo_mcp.local import Knobs, LocalBackend, run_local_backend, urlfetch
from tests.local.helpers import start, state

pytestmark = pytest.mark.anyio

Reply = tuple[int, dict[str, str], bytes] | str  # (status, headers, body) or "hang"


@dataclass
class Site:
    """A tiny loopback HTTP server that records every request it gets."""

    routes: dict[str, Reply]
    host: str = "127.0.0.1"
    port: int = 0
    seen: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)
    connections: int = 0

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            path = head[0].split(" ")[1]
            host = next((h.split(":", 1)[1].strip() for h in head[1:] if h.lower().startswith("host:")), "")
            self.seen.append((path, host))
            reply = self.routes.get(path, (404, {}, b"not here"))
            if reply == "hang":
                await asyncio.sleep(30)
                return
            assert not isinstance(reply, str)
            status, headers, body = reply
            lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Connection: close"]
            lines += [f"{k}: {v}" for k, v in headers.items()]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def serving(site: Site) -> AsyncIterator[Site]:
    server = await asyncio.start_server(site.handle, site.host, 0)
    site.port = server.sockets[0].getsockname()[1]
    try:
        yield site
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)


async def _import(client: httpx.AsyncClient, headers: dict[str, str], sid: str, url: str) -> Any:
    r = await client.post(
        f"/api/upload-video/nemo_agent/me/{sid}", headers=headers, json={"urls": [url], "source_type": "url"}
    )
    return r.status_code, r.json()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_private_targets_are_refused_alike_and_never_contacted(
    local_backend: LocalBackend, media: dict[str, Path]
) -> None:
    clip = media["clip2"].read_bytes()
    async with (
        serving(Site({"/a.mp4": (200, {}, clip)})) as site,
        httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client,
    ):
        headers, sid = await start(client)
        port = site.port
        backend_port = httpx.URL(local_backend.url).port
        targets = [
            site.url("/a.mp4"),
            f"http://localhost:{port}/a.mp4",
            f"http://127.1:{port}/a.mp4",  # odd IPv4 forms resolve to loopback too
            f"http://2130706433:{port}/a.mp4",
            f"http://0x7f000001:{port}/a.mp4",
            f"http://[::1]:{port}/a.mp4",
            f"http://[::ffff:127.0.0.1]:{port}/a.mp4",
            f"http://0.0.0.0:{port}/a.mp4",
            f"http://127.0.0.1:{backend_port}/api/credits/balance/simple.mp4",  # ours, but not /cdn/
            "http://10.0.0.1/a.mp4",
            "http://172.16.5.4/a.mp4",
            "http://192.168.1.1/a.mp4",
            "http://100.64.0.1/a.mp4",
            "http://169.254.169.254/latest/meta-data.mp4",
            "http://224.0.0.1/a.mp4",
            "http://[fc00::1]/a.mp4",
            "http://[fe80::1]/a.mp4",
            "http://[ff02::1]/a.mp4",
            "http://[64:ff9b::a00:1]/a.mp4",  # NAT64 of 10.0.0.1
            "http://[2002:c0a8:101::1]/a.mp4",  # 6to4 of 192.168.1.1
            "file:///etc/passwd",
            "ftp://127.0.0.1/a.mp4",
            f"http://user:pw@127.0.0.1:{port}/a.mp4",
        ]
        answers = {url: await _import(client, headers, sid, url) for url in targets}
        assert site.connections == 0  # nothing was contacted
        assert len({repr(a) for a in answers.values()}) == 1, answers
        status, body = next(iter(answers.values()))
        assert status == 400
        assert body["code"] == 400
        assert body["message"] == urlfetch.IMPORT_FAILED
        assert str(port) not in body["message"]
        assert (await state(client, headers, sid))["video_infos"] == []
        assert not [p for p in (local_backend.data_dir / "uploads").rglob("*") if p.is_file()]


async def test_every_failure_gives_the_same_error(media: dict[str, Path]) -> None:
    """With private targets allowed (so the fetch really happens): closed port, timeout, HTTP error,
    not media, wrong extension, too large, too many redirects: one answer for all, equal to a refusal."""
    clip = media["clip2"].read_bytes()
    routes: dict[str, Reply] = {
        "/good.mp4": (200, {}, clip),
        "/hang.mp4": "hang",
        "/zeros.mp4": (200, {}, b"\x00" * 5000),
        "/notes.txt": (200, {}, b"hello"),
        "/loop.mp4": (302, {"Location": "/loop.mp4"}, b""),
        "/big.mp4": (200, {}, b"\x00" * 200_000),
    }
    knobs = Knobs(allow_private_url_import=True, url_import_timeout=1.0, max_upload_bytes=100_000)
    async with (
        serving(Site(routes)) as site,
        run_local_backend(knobs) as backend,
        httpx.AsyncClient(base_url=backend.url, timeout=30) as client,
    ):
        headers, sid = await start(client)
        ok = await _import(client, headers, sid, site.url("/good.mp4"))
        assert ok[1]["code"] == 0, ok
        assert ok[1]["data"]["files"][0]["filename"] == "good.mp4"
        failures = [
            f"http://127.0.0.1:{_closed_port()}/a.mp4",
            site.url("/hang.mp4"),
            site.url("/missing.mp4"),
            site.url("/zeros.mp4"),
            site.url("/notes.txt"),
            site.url("/loop.mp4"),
            site.url("/big.mp4"),
        ]
        answers = [await _import(client, headers, sid, url) for url in failures]
        backend.knobs.allow_private_url_import = False
        answers.append(await _import(client, headers, sid, site.url("/good.mp4")))
        assert all(a == answers[0] for a in answers), answers
        assert answers[0][1]["message"] == urlfetch.IMPORT_FAILED
        assert len((await state(client, headers, sid))["video_infos"]) == 1


async def test_dns_answers_and_redirect_hops_are_checked(
    media: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only 127.0.0.1 counts as "public" here (so the rules can be watched offline): a name resolving to
    another address, a name with one bad address among good ones, and a redirect to a refused address
    are all refused before any connection to them; the Host header stays the URL's."""
    clip = media["clip2"].read_bytes()
    names = {"good.test": ["127.0.0.1"], "rebind.test": ["127.0.0.1", "127.0.0.2"], "bad.test": ["127.0.0.2"]}

    async def fake_resolve(host: str, port: int) -> list[str]:
        return names.get(host, [host])

    monkeypatch.setattr(urlfetch, "resolve", fake_resolve)
    monkeypatch.setattr(urlfetch, "is_public", lambda address: address == "127.0.0.1")
    async with serving(Site({"/clip.mp4": (200, {}, clip)}, host="127.0.0.2")) as inner:
        routes: dict[str, Reply] = {
            "/clip.mp4": (200, {}, clip),
            "/to-inner.mp4": (302, {"Location": inner.url("/clip.mp4")}, b""),
            "/to-bad-name.mp4": (301, {"Location": f"http://bad.test:{inner.port}/clip.mp4"}, b""),
            "/to-self.mp4": (307, {"Location": "/clip.mp4"}, b""),
        }
        async with (
            serving(Site(routes)) as outer,
            run_local_backend(Knobs()) as backend,
            httpx.AsyncClient(base_url=backend.url, timeout=30) as client,
        ):
            headers, sid = await start(client)
            port = outer.port
            good = await _import(client, headers, sid, f"http://good.test:{port}/to-self.mp4")
            assert good[1]["code"] == 0, good
            assert outer.seen == [("/to-self.mp4", f"good.test:{port}"), ("/clip.mp4", f"good.test:{port}")]
            refused = [
                await _import(client, headers, sid, f"http://bad.test:{inner.port}/clip.mp4"),
                await _import(client, headers, sid, f"http://rebind.test:{port}/clip.mp4"),
                await _import(client, headers, sid, f"http://good.test:{port}/to-inner.mp4"),
                await _import(client, headers, sid, f"http://good.test:{port}/to-bad-name.mp4"),
            ]
            assert all(r == (400, refused[0][1]) for r in refused), refused
            assert inner.connections == 0
            assert [p for p, _ in outer.seen[2:]] == ["/to-inner.mp4", "/to-bad-name.mp4"]


def test_address_rules() -> None:
    public = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001::1"]
    private = [
        "127.0.0.1",
        "127.255.0.9",
        "10.1.2.3",
        "172.31.0.1",
        "192.168.0.1",
        "169.254.1.1",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.251",
        "239.1.1.1",
        "255.255.255.255",
        "240.0.0.1",
        "::1",
        "::",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1%eth0",
        "ff02::1",
        "::ffff:10.0.0.1",
        "::ffff:127.0.0.1",
        "::127.0.0.1",
        "64:ff9b::7f00:1",
        "2002:7f00:1::1",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo (client 192.0.2.45: documentation range)
        "not an address",
    ]
    assert all(urlfetch.is_public(a) for a in public)
    assert not [a for a in private if urlfetch.is_public(a)]
