"""HTTP helpers for the local-backend tests: real loopback requests, SSE read as a real stream."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx

from nemo_mcp.local.media import Probe, probe
from nemo_mcp.local.speech import STEPS

SKILL_HEADERS = {"X-Skill-Source": "nemo-mcp-tests", "X-Skill-Version": "0.1", "X-Skill-Platform": "pytest"}


async def sign_in(client: httpx.AsyncClient, client_id: str | None = None) -> tuple[dict[str, str], str]:
    r = await client.post(
        "/api/auth/anonymous-token", headers={"X-Client-Id": client_id or str(uuid.uuid4())}
    )
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    return {"Authorization": f"Bearer {data['token']}", **SKILL_HEADERS}, data["user_id"]


async def new_session(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    r = await client.post(
        "/api/tasks/me/with-session/nemo_agent", headers=headers, json={"task_name": "project"}
    )
    assert r.json()["code"] == 0, r.text
    return str(r.json()["data"]["session_id"])


async def start(client: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    headers, _ = await sign_in(client)
    return headers, await new_session(client, headers)


async def upload(
    client: httpx.AsyncClient, headers: dict[str, str], sid: str, *paths: Path
) -> dict[str, Any]:
    handles = [p.open("rb") for p in paths]
    try:
        files = [
            ("files", (p.name, h, "application/octet-stream")) for p, h in zip(paths, handles, strict=True)
        ]
        r = await client.post(f"/api/upload-video/nemo_agent/me/{sid}", headers=headers, files=files)
    finally:
        for h in handles:
            h.close()
    return r.json()  # type: ignore[no-any-return]


@dataclass
class Turn:
    status: int
    body: Any = None  # JSON body when the answer is not a stream
    frames: list[str] = field(default_factory=list)  # raw SSE frames (blank-line separated)
    events: list[dict[str, Any]] = field(default_factory=list)  # decoded `data:` JSON payloads
    heartbeats: list[str] = field(default_factory=list)  # "comment" | "typed" | "empty"
    dropped: bool = False  # the connection broke mid-stream (incomplete chunked body)

    @property
    def texts(self) -> list[str]:
        out = []
        for e in self.events:
            if e.get("type") == "text":
                out.append(e["content"])
            for part in (
                (e.get("content") or {}).get("parts", []) if isinstance(e.get("content"), dict) else []
            ):
                if "text" in part:
                    out.append(part["text"])
        return out

    @property
    def text(self) -> str:
        return " ".join(self.texts)

    def parts(self, key: str) -> list[dict[str, Any]]:
        return [
            part[key]
            for e in self.events
            if isinstance(e.get("content"), dict)
            for part in e["content"]["parts"]
            if key in part
        ]

    @property
    def tools(self) -> list[str]:
        typed = [e["name"] for e in self.events if e.get("type") == "tool_call"]
        return typed + [c["name"] for c in self.parts("functionCall")]

    @property
    def errors(self) -> list[str]:
        return [e["error"] for e in self.events if "error" in e]


async def turn(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    sid: str,
    text: str,
    limit: float = 60,
    body: dict[str, Any] | None = None,
) -> Turn:
    payload = body or {
        "app_name": "nemo_agent",
        "user_id": "me",
        "session_id": sid,
        "new_message": {"parts": [{"text": text}]},
    }
    hdrs = {**headers, "Accept": "text/event-stream"}
    with anyio.fail_after(limit):
        async with client.stream("POST", "/run_sse", headers=hdrs, json=payload) as resp:
            if not resp.headers.get("content-type", "").startswith("text/event-stream"):
                await resp.aread()
                return Turn(resp.status_code, body=resp.json())
            result = Turn(resp.status_code)
            buffer: list[str] = []
            try:
                async for line in resp.aiter_lines():
                    if line == "":
                        if buffer:
                            _frame(result, buffer)
                        buffer = []
                    else:
                        buffer.append(line)
            except httpx.RemoteProtocolError:
                result.dropped = True
            if buffer:
                _frame(result, buffer)
            return result


def _frame(result: Turn, lines: list[str]) -> None:
    result.frames.append("\n".join(lines))
    data = [ln[5:].lstrip() for ln in lines if ln.startswith("data:")]
    if not data:
        if all(ln.startswith(":") for ln in lines):
            result.heartbeats.append("comment")
        return
    payload = "\n".join(data)
    if not payload:
        result.heartbeats.append("empty")
        return
    event = json.loads(payload)
    if event.get("type") == "heartbeat":
        result.heartbeats.append("typed")
    else:
        result.events.append(event)


async def state(client: httpx.AsyncClient, headers: dict[str, str], sid: str) -> dict[str, Any]:
    r = await client.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=headers)
    assert r.json()["code"] == 0, r.text
    return r.json()["data"]["state"]  # type: ignore[no-any-return]


async def credits(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, int]:
    return (await client.get("/api/credits/balance/simple", headers=headers)).json()["data"]  # type: ignore[no-any-return]


async def render(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    sid: str,
    draft: dict[str, Any],
    rid: str | None = None,
) -> dict[str, Any]:
    """Submit and poll to a terminal status (bounded); returns the last `data`."""
    rid = rid or f"render_{uuid.uuid4().hex}"
    body = {"id": rid, "sessionId": sid, "draft": draft, "output": {"format": "mp4", "quality": "high"}}
    r = await client.post("/api/render/proxy/lambda", headers=headers, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["success"], r.text
    return await wait_render(client, headers, rid)


async def wait_render(
    client: httpx.AsyncClient, headers: dict[str, str], rid: str, limit: float = 60
) -> dict[str, Any]:
    with anyio.fail_after(limit):
        while True:
            r = await client.get(f"/api/render/proxy/lambda/{rid}", headers=headers)
            body = r.json()
            data = body.get("data", body)
            if data["status"] in ("completed", "failed", "cancelled"):
                return data  # type: ignore[no-any-return]
            await asyncio.sleep(0.1)


async def download(
    client: httpx.AsyncClient, url: str, dest: Path, headers: dict[str, str] | None = None
) -> Probe:
    r = await client.get(url, headers=headers or {})
    assert r.status_code == 200, r.text[:200]
    dest.write_bytes(r.content)
    found = await probe(dest)
    assert found is not None
    return found


def gui_steps(text: str, lang: str = "en", topic: str | None = None) -> list[str]:
    """The GUI steps (speech.STEPS) a reply contains, of one topic or any."""
    banks = STEPS[lang]
    topics = [topic] if topic else list(banks)
    return [step for t in topics for step in banks[t] if step in text]
