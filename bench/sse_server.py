"""Loopback server for the SSE benchmark: answers every request with the same pre-built event stream.

    python bench/sse_server.py --events 100000     # prints "PORT <port> BYTES <n> EVENTS <n>" on stdout

The stream imitates the local backend's `/run_sse` output (Google-ADK `Event` JSON: model text, function
calls, function responses with a stateDelta) plus one `: keep-alive` comment per 100 events. It is sent
with chunked transfer encoding in 64 KiB chunks, so both benchmark clients read identical bytes and the
server is never the bottleneck. Binds 127.0.0.1 only; runs until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys

CHUNK = 64 * 1024


def build_stream(events: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    words = [
        "trim",
        "the",
        "clip",
        "add",
        "a",
        "title",
        "at",
        "the",
        "top",
        "lower",
        "music",
        "volume",
        "fade",
        "out",
        "cut",
        "silence",
        "export",
    ]
    out: list[bytes] = []
    for i in range(events):
        kind = i % 4
        if kind in (0, 3):
            text = " ".join(rng.choice(words) for _ in range(rng.randint(4, 24)))
            content = {"parts": [{"text": text}], "role": "model"}
            delta: dict[str, object] = {}
        elif kind == 1:
            call = {"id": f"call_{i}", "name": "edit_multitrack_draft", "args": {"op": "trim", "end_ms": i}}
            content = {"parts": [{"functionCall": call}], "role": "model"}
            delta = {}
        else:
            resp = {"id": f"call_{i - 1}", "name": "edit_multitrack_draft", "response": {"ok": True, "n": i}}
            content = {"parts": [{"functionResponse": resp}], "role": "user"}
            delta = {"draft_version": i}
        doc = {
            "content": content,
            "invocationId": "e-bench",
            "author": "nemo_agent",
            "actions": {"stateDelta": delta, "artifactDelta": {}, "requestedAuthConfigs": {}},
            "id": f"{i:08x}",
            "timestamp": 1767000000.0 + i / 1000,
        }
        out.append(b"data: " + json.dumps(doc, separators=(",", ":")).encode() + b"\n\n")
        if i % 100 == 99:
            out.append(b": keep-alive\n\n")
    return b"".join(out)


async def serve(blob: bytes, events: int) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip() or 0)
            if length:
                await reader.readexactly(length)
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
                b"cache-control: no-store\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n"
            )
            for i in range(0, len(blob), CHUNK):
                piece = blob[i : i + CHUNK]
                writer.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
                await writer.drain()
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"PORT {port} BYTES {len(blob)} EVENTS {events}\n")
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--events", type=int, default=100_000)
    args = p.parse_args()
    blob = build_stream(args.events)
    asyncio.run(serve(blob, args.events))


if __name__ == "__main__":
    main()
