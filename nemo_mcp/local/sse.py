"""Encode the agent's neutral events as `/run_sse` frames (docs/nemo-api.md §2).

ADK (default): Google-ADK `Event` JSON as `model_dump_json(exclude_none=True, by_alias=True)` would write it:
camelCase keys, None omitted, `timestamp` in float seconds, text / functionCall / functionResponse parts,
`actions.stateDelta` on tool results. Typed (REF44): `{"type": "text", "content": ...}`, `tool_call`,
`tool_result`, `heartbeat`. Each frame is `data: <json>\\n\\n`; there is no done event: closing ends the turn.
Errors use ADK's `{"error": "..."}` form (plus `"type": "error"` in the typed form), with the business
`code` beside it when there is one (2001 when credits run out mid-turn).
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

AGENT = "nemo_agent"


class StreamDropped(Exception):
    """Raised inside the response body to break the connection mid-stream.

    uvicorn then closes the socket without the final empty chunk, so the client sees a truncated
    response (an abortive close), exactly what a network drop looks like; a plain `return` would end
    the chunked body cleanly and be indistinguishable from a normal end of turn.
    """


def frame(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


def heartbeat(style: str) -> bytes | None:
    if style == "comment":
        return b": keep-alive\n\n"
    if style == "typed":
        return frame({"type": "heartbeat"})
    if style == "empty":
        return b"data:\n\n"
    return None


class Encoder:
    def __init__(self, fmt: str, invocation_id: str | None = None) -> None:
        self.fmt = fmt
        self.invocation_id = invocation_id or f"e-{secrets.token_hex(16)}"

    def encode(self, event: dict[str, Any]) -> bytes:
        kind = event["type"]
        if kind == "error":
            payload: dict[str, Any] = {"error": event["message"]}
            if event.get("code") is not None:
                payload["code"] = event["code"]
            return frame({"type": "error", **payload} if self.fmt == "typed" else payload)
        return frame(self._typed(event) if self.fmt == "typed" else self._adk(event))

    @staticmethod
    def _typed(event: dict[str, Any]) -> dict[str, Any]:
        kind = event["type"]
        if kind == "text":
            return {"type": "text", "content": event["text"]}
        if kind == "call":
            return {"type": "tool_call", "id": event["id"], "name": event["name"], "args": event["args"]}
        return {"type": "tool_result", "id": event["id"], "name": event["name"], "result": event["response"]}

    def _adk(self, event: dict[str, Any]) -> dict[str, Any]:
        kind = event["type"]
        delta: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        if kind == "text":
            content = {"parts": [{"text": event["text"]}], "role": "model"}
        elif kind == "call":
            call = {"id": event["id"], "name": event["name"], "args": event["args"]}
            content = {"parts": [{"functionCall": call}], "role": "model"}
            if event.get("long"):
                extra["longRunningToolIds"] = [event["id"]]
        else:
            response = {"id": event["id"], "name": event["name"], "response": event["response"]}
            content = {"parts": [{"functionResponse": response}], "role": "user"}
            delta = event.get("delta") or {}
        return {
            "content": content,
            "invocationId": self.invocation_id,
            "author": AGENT,
            "actions": {"stateDelta": delta, "artifactDelta": {}, "requestedAuthConfigs": {}},
            **extra,
            "id": secrets.token_hex(4),
            "timestamp": round(time.time(), 6),
        }
