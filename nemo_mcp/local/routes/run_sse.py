"""`POST /run_sse`: validate, reserve credits, run the local agent in the background, stream its events.

The turn runs as its own task and feeds a queue, so a dropped connection (client-side or the
`drop_stream_after` fault) does not stop the edit: like the real backend, the state still changes and the
client recovers by polling state (docs/nemo-api.md §2.6); `truncate_sse` breaks it the same way after half a
frame. The turn is admitted when the user has its price (else 2001 before the stream); each paid step then
freezes its price while it runs and is charged when it succeeds (ledger.py). Credits that run out mid-turn
end the stream with a 2001 error event (`{"error": "...", "code": 2001}`): what was done and charged before
stays, nothing after runs. Any other failure rolls the turn back and refunds it.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import random
import secrets
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from nemo_mcp.local import pending
from nemo_mcp.local.agent import Aborted, TurnContext, run_turn
from nemo_mcp.local.background import spawn
from nemo_mcp.local.envelope import CREDITS, ApiError, bad_request
from nemo_mcp.local.generation import DROPPED, REFUSED, ask
from nemo_mcp.local.ledger import Bill, OutOfCredits, TurnRef, insufficient
from nemo_mcp.local.routes.context import base_url, caller, read_json, state_of
from nemo_mcp.local.sessions import find_session
from nemo_mcp.local.speech import Speaker
from nemo_mcp.local.sse import Encoder, StreamDropped, heartbeat

log = logging.getLogger("nemo_mcp.local")

TEMPORARY_ISSUE = (
    "I encountered a temporary issue while processing your request. Please try again in a moment."
)
MID_STREAM_ERROR = "Internal agent error: the model call failed (injected fault)"
_DROP = {"type": "drop"}


async def run_sse(request: Request) -> Response:
    state = state_of(request)
    state.stats.run_sse_posts += 1
    user = caller(request)
    body = await read_json(request)
    if body.get("app_name") != "nemo_agent":
        raise bad_request(f"Unknown app_name {body.get('app_name')!r}: use 'nemo_agent'")
    if not body.get("session_id"):
        raise bad_request("session_id is required")
    session = find_session(state, user, body.get("user_id"), body["session_id"])
    message = body.get("new_message")
    parts = message.get("parts") if isinstance(message, dict) else None
    texts: list[str] = [
        p["text"]
        for p in (parts if isinstance(parts, list) else [])
        if isinstance(p, dict) and isinstance(p.get("text"), str)
    ]
    text = "\n".join(t for t in texts if t.strip()).strip()
    if not text:
        raise bad_request(
            'new_message.parts[].text is required: {"new_message": {"parts": [{"text": "..."}]}}'
        )
    k = state.knobs
    decision = pending.decide(session, text, k)  # a go-ahead runs the generation that waited for it
    turn_plan = decision.plan
    if pending.price(decision) > user.available:
        raise ApiError(CREDITS, insufficient(user, pending.price(decision)))
    invocation_id = f"e-{secrets.token_hex(16)}"  # the turn's id: ADK's invocationId, the ledger's message_id
    pending.settle(session, decision, invocation_id)
    ref = TurnRef(session.session_id, invocation_id, decision.instruction)
    bill = Bill(state, user, ref, cap=turn_plan.cost)
    state.stats.turns[session.session_id].append(text)
    session.turns += 1
    silent = random.Random(f"{k.seed}:{session.session_id}:{session.turns}").random() < k.silent_fraction  # noqa: S311
    # wording: seeded by the turn number and its text (not the random session id), so a run repeats
    # (a go-ahead is answered in the language of the request it confirms)
    said_in = decision.instruction if decision.confirmed else text
    speaker = Speaker.for_turn(
        said_in, k.gui_speak, k.seed, session.turns, noise=not k.trailing_temporary_issue
    )
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    drop_after, error_after, trailing = k.drop_stream_after, k.error_mid_stream, k.trailing_temporary_issue

    async def produce() -> None:
        sent = {"events": 0, "texts": 0}

        async def emit(event: dict[str, Any]) -> None:
            if error_after >= 0 and sent["events"] >= error_after:
                await queue.put({"type": "error", "message": MID_STREAM_ERROR})
                raise Aborted
            await queue.put(event)
            sent["events"] += 1
            sent["texts"] += event["type"] == "text"
            if sent["events"] == drop_after:
                await queue.put(_DROP)

        ctx = TurnContext(session, k, state.data_dir, base, emit, silent, bill, speaker, decision.instruction)
        snapshot: dict[str, Any] = {}
        if drop_after == 0:
            await queue.put(_DROP)  # the connection closes before any event (§2.3: a disconnect)
        try:
            async with session.lock:
                snapshot = copy.deepcopy(session.state)
                if decision.ask is not None:
                    await ask(ctx, decision.prompt, decision.ask.cost)  # nothing runs, nothing is charged
                elif decision.refused:
                    await emit({"type": "text", "text": speaker.say(REFUSED)})
                else:
                    if decision.dropped is not None and not decision.confirmed:
                        ctx.notes.append(DROPPED)
                    await run_turn(ctx, turn_plan)
                if trailing and sent["texts"]:
                    await emit({"type": "text", "text": TEMPORARY_ISSUE})
        except asyncio.CancelledError:
            raise
        except OutOfCredits as exc:
            # Credits ran out mid-turn: the steps before stay done and charged; this one never started.
            await queue.put({"type": "error", "message": str(exc), "code": CREDITS})
        except Exception as exc:
            # A failed turn changes nothing and costs nothing.
            if snapshot:
                session.state.clear()
                session.state.update(snapshot)
            ctx.applied, ctx.generated = 0, False
            bill.refund_all()
            if not isinstance(exc, Aborted):
                log.exception("local agent failed")
                await queue.put({"type": "error", "message": f"Agent error: {exc}"})
        finally:
            bill.release_all()  # a step still holding credits did not finish
            await queue.put(None)

    base = base_url(request)
    spawn(state, produce())
    encoder = Encoder(k.sse_format, invocation_id)
    style, interval = k.heartbeat_style, max(0.05, k.heartbeat_interval)

    truncate_after = k.truncate_sse

    async def stream() -> AsyncIterator[bytes]:
        events = 0
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), None if style == "none" else interval)
            except TimeoutError:
                beat = heartbeat(style)
                if beat:
                    yield beat
                continue
            if event is _DROP:
                raise StreamDropped
            if event is None:
                return
            data = encoder.encode(event)
            if events == truncate_after:  # injected: half a frame (cut inside its JSON), then a break
                yield data[: len(b"data: ") + (len(data) - len(b"data: \n\n")) // 2]
                raise StreamDropped("injected fault: SSE frame cut mid-JSON")
            events += 1
            yield data
            if event["type"] == "error":
                return

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


def routes() -> list[Route]:
    return [Route("/run_sse", run_sse, methods=["POST"])]
