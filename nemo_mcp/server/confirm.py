"""Asking the user before credits are spent: edit_video's hidden `approval` parameter, filled by the SDK's
`Resolve` before the tool body runs (docs/handlers/dependencies.md of the MCP SDK).

`ask_before_spending` quotes the instruction (`spending.Quotes`); when the policy wants a yes it returns an
`Elicit`, which the SDK carries over whatever the connection speaks: a pushed `elicitation/create` on
2025-11-25, an `InputRequiredResult` answered on the call's retry on 2026-07-28. Two traps:

- the resolver runs again on every 2026-07-28 round and the SDK asks again whenever the question's text
  changed, so the text is built only from the arguments and the pinned quote, never from a live balance;
- a client that did not declare elicitation would get a protocol error, so the resolver checks first and
  answers `Unasked(needed=True)`: the workflow then hands out a confirmation token instead.

The resolver never raises (a failure there would not be a tagged tool result): when quoting fails it
answers `needed`, and the workflow, quoting again, reports the real problem.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any

from mcp.server.elicitation import (
    AcceptedElicitation,
    CancelledElicitation,
    DeclinedElicitation,
    ElicitationResult,
)
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Elicit, Resolve
from pydantic import BaseModel, Field

from nemo_mcp.server.spending import Consent, Quote
from nemo_mcp.server.toolkit import service_of

log = logging.getLogger(__name__)

MODERN = "2026-07-28"  # from this revision a question rides the call's result, not a request of its own
EXCERPT = 300


class SpendApproval(BaseModel):
    """The one field of the question's form."""

    spend: bool = Field(
        default=True,
        title="Spend the credits",
        description="Send the instruction to the NemoVideo agent, which charges credits as it works.",
    )


@dataclass(frozen=True)
class Unasked:
    """The resolver put no question: none was needed, or this client cannot be asked (`needed`)."""

    needed: bool


def can_ask(ctx: Context) -> bool:
    """The client declared form elicitation, and this connection can carry the question."""
    caps = ctx.client_capabilities
    form = caps.elicitation if caps is not None else None
    if form is None or (form.form is None and form.url is not None):
        return False
    version = ctx.protocol_version
    if version is not None and version >= MODERN:  # revisions are ISO dates
        return True  # asked in the result of the call itself
    return bool(ctx.session.can_send_request)  # a pushed request needs a back-channel


def question(instruction: str, session_id: str | None, quote: Quote) -> str:
    """The question: the arguments and the pinned quote only, so every round renders it the same."""
    words = " ".join(instruction.split())
    if len(words) > EXCERPT:
        words = words[: EXCERPT - 1] + "…"
    project = f"project {session_id.strip()}" if session_id and session_id.strip() else "the current project"
    return (
        f"nemo-mcp asks before spending NemoVideo credits.\n\n"
        f"Instruction for the NemoVideo agent ({project}): «{words}»\n"
        f"Estimated cost: {quote.phrase}: {quote.uncertainty}\n\n"
        "Accept to send it. Decline, and nothing is sent or charged."
    )


async def ask_before_spending(
    instruction: str, session_id: str | None, ctx: Context
) -> Elicit[SpendApproval] | Unasked:
    try:
        service = service_of(ctx)
        quote = await service.approvals.quote(instruction, session_id)
        policy = service.approvals.spending.policy
    except Exception:
        log.info("could not quote the instruction before asking", exc_info=True)
        return Unasked(needed=True)
    if quote is None or not policy.asks(quote.credits):
        return Unasked(needed=False)
    if not can_ask(ctx):
        return Unasked(needed=True)
    return Elicit(question(instruction, session_id, quote), SpendApproval)


Approval = Annotated[ElicitationResult[SpendApproval], Resolve(ask_before_spending)]


def consent_of(approval: Any, confirmation: str | None, ctx: Context) -> Consent:
    """The resolver's outcome as the workflow reads it."""
    token = confirmation.strip() if confirmation and confirmation.strip() else None
    if isinstance(approval, DeclinedElicitation):
        return Consent("declined", can_ask=True)
    if isinstance(approval, CancelledElicitation):
        return Consent("cancelled", can_ask=True)
    data = approval.data if isinstance(approval, AcceptedElicitation) else None
    if isinstance(data, SpendApproval):
        return Consent("accepted" if data.spend else "declined", can_ask=True)
    needed = not isinstance(data, Unasked) or data.needed
    return Consent("needed" if needed else "not_needed", token=token, can_ask=can_ask(ctx))
