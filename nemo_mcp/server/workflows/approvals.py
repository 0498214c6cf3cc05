"""Whether an instruction may be sent to the (paid) agent: the user's answer, or a confirmation token.

`settle` runs before anything is created or sent. It returns a `Ticket`: either the answer to give instead
of sending (the user declined or cancelled; the user must confirm first, with a fresh `confirmation_token`
for hosts that cannot show a question), or the go-ahead with the quote it was given for. A token passed
back is checked here (signature, expiry, replay, project, instruction, amount) and used up by `redeem`,
just before the instruction is sent. `after_reply` does the same for the agent's own "shall I go ahead?"
replies: the next instruction to that project is quoted at the agent's price, and a host that cannot show
a question gets the token for the go-ahead with the reply.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from nemo_mcp.language.paid import is_go_ahead
from nemo_mcp.server.confirm_tokens import Claims, digest
from nemo_mcp.server.failures import ToolFailure
from nemo_mcp.server.models import ConfirmationView, EditResult
from nemo_mcp.server.spending import Consent, Quote, Spending
from nemo_mcp.server.workflows.projects import Projects

GO_AHEAD_WORDS = "yes, go ahead"


@dataclass
class Ticket:
    quote: Quote | None
    view: ConfirmationView | None
    answer: EditResult | None = None  # what to answer instead of sending
    claims: Claims | None = None  # the token to use up when sending


class Approvals:
    def __init__(self, spending: Spending, projects: Projects) -> None:
        self.spending = spending
        self.projects = projects

    async def project_key(self, session_id: str | None) -> str:
        """The project an instruction goes to, as quotes and tokens name it ("new": none exists yet)."""
        if session_id and session_id.strip():
            return session_id.strip()
        # The project registry is becoming async (the state store); either form is read here.
        found: Any = self.projects.store.current_id()
        current = await found if inspect.isawaitable(found) else found
        return str(current) if current else "new"

    async def is_go_ahead_for(self, instruction: str, session_id: str | None) -> bool:
        return self.spending.quotes.is_go_ahead_for(instruction, await self.project_key(session_id))

    async def quote(self, instruction: str, session_id: str | None) -> Quote | None:
        return self.spending.quotes.quote(instruction, await self.project_key(session_id))

    async def settle(self, consent: Consent, instruction: str, session_id: str | None) -> Ticket:
        policy = self.spending.policy
        project = await self.project_key(session_id)
        quote = self.spending.quotes.quote(instruction, project)
        if quote is None:
            return Ticket(None, None)
        if consent.answer in ("declined", "cancelled"):
            view = ConfirmationView(policy=str(policy), outcome=consent.answer)
            what = "declined" if consent.answer == "declined" else "cancelled the question about"
            return Ticket(quote, view, answer=self._not_sent(project, quote, view, what))
        if consent.answer == "accepted":
            return Ticket(quote, ConfirmationView(policy=str(policy), outcome="accepted"))
        if not policy.asks(quote.credits):
            return Ticket(quote, ConfirmationView(policy=str(policy), outcome="not_needed"))
        # the policy wants a yes the host could not be asked for: a token must carry it
        if consent.token:
            claims = self._check(consent.token, project, instruction, quote)
            return Ticket(quote, ConfirmationView(policy=str(policy), outcome="token"), claims=claims)
        return Ticket(quote, None, answer=self._needs_confirmation(project, instruction, quote))

    def redeem(self, ticket: Ticket) -> None:
        """Use the ticket's token up: the instruction is about to be sent."""
        if ticket.claims is not None:
            self.spending.tokens.spend(ticket.claims)

    def _check(self, token: str, project: str, instruction: str, quote: Quote) -> Claims:
        tokens = self.spending.tokens
        claims = tokens.read(token)
        if tokens.used(claims):
            tokens.spend(claims)  # raises confirmation_used
        if claims.project != project:
            given = (
                "when there was no project yet"
                if claims.project == "new"
                else f"for project {claims.project}"
            )
            now = "a new project" if project == "new" else f"project {project}"
            raise ToolFailure(
                "confirmation_wrong_project",
                f"This confirmation was given {given}, and this instruction would go to {now}. Nothing was "
                "sent. Pass the session_id it was given for, or call edit_video again without "
                "`confirmation` to get a quote for this project and ask the user.",
            )
        if claims.go_ahead:
            if not is_go_ahead(instruction):
                raise ToolFailure(
                    "confirmation_wrong_instruction",
                    "This confirmation is for the agent's go-ahead: send it with a plain yes "
                    f"(instruction {GO_AHEAD_WORDS!r}) and nothing else. Nothing was sent.",
                )
        elif claims.instruction != digest(instruction):
            raise ToolFailure(
                "confirmation_wrong_instruction",
                "This confirmation was given for a different instruction: pass exactly the instruction "
                "the user confirmed, or call edit_video again without `confirmation` to get a quote for "
                "this one and ask the user. Nothing was sent.",
            )
        if quote.credits > claims.credits:
            raise ToolFailure(
                "confirmation_price_changed",
                f"The user confirmed about {claims.credits:g} credits, but this is now quoted at "
                f"{quote.phrase}. Nothing was sent. Call edit_video again without `confirmation` for the "
                "new quote and ask the user again.",
            )
        return claims

    def _needs_confirmation(self, project: str, instruction: str, quote: Quote) -> EditResult:
        tokens = self.spending.tokens
        token = tokens.mint(project, instruction, quote.credits)
        policy = self.spending.policy
        return EditResult(
            session_id="" if project == "new" else project,
            routed_to="agent",
            status="needs_confirmation",
            estimate=quote.view(),
            confirmation=ConfirmationView(
                policy=str(policy), outcome="needed", expires_in_seconds=tokens.ttl
            ),
            confirmation_token=token,
            notes=[
                f"Not sent: the spending policy (NEMO_CONFIRM_SPEND={policy}) needs the user's yes first, "
                "and this host cannot show the question itself. Nothing was charged."
            ],
            next_step=(
                f"Ask the user whether to spend about {quote.credits:g} credits on this instruction. Only "
                "if they agree, call edit_video again with the same instruction and session_id and "
                f"confirmation='{token}' (valid {tokens.ttl / 60:g} minutes, once)."
            ),
        )

    def _not_sent(self, project: str, quote: Quote, view: ConfirmationView, what: str) -> EditResult:
        return EditResult(
            session_id="" if project == "new" else project,
            routed_to="agent",
            status="not_sent",
            estimate=quote.view(),
            confirmation=view,
            notes=[f"The user {what} spending {quote.phrase}: nothing was sent and nothing was charged."],
            next_step="Ask the user what they want instead; send a new instruction when they decide.",
        )

    def after_reply(self, res: EditResult, project: str, consent: Consent) -> None:
        """The agent answered: remember whether it waits for a go-ahead, and how the user gives it."""
        quotes = self.spending.quotes
        quotes.agent_went_on(project)
        waiting = res.awaiting_go_ahead
        if waiting is None:
            return
        quotes.agent_waits(project, waiting.cost)
        quote = quotes.quote(GO_AHEAD_WORDS, project)
        if quote is None:
            return
        res.estimate = quote.view()
        policy = self.spending.policy
        if not policy.asks(quote.credits):
            return
        if consent.can_ask:
            res.next_step = (
                f"Ask the user whether the agent should go ahead ({quote.phrase}). If they agree, call "
                f"edit_video with {GO_AHEAD_WORDS!r}: the user is then asked to confirm the cost."
            )
        else:
            tokens = self.spending.tokens
            token = tokens.mint(project, GO_AHEAD_WORDS, quote.credits, go_ahead=True)
            res.confirmation = ConfirmationView(
                policy=str(policy), outcome="needed", expires_in_seconds=tokens.ttl
            )
            res.confirmation_token = token
            res.next_step = (
                f"Ask the user whether the agent should go ahead ({quote.phrase}). Only if they agree, "
                f"call edit_video with instruction {GO_AHEAD_WORDS!r} and confirmation='{token}' (valid "
                f"{tokens.ttl / 60:g} minutes, once). Nothing is charged until then."
            )
        waiting.hint = res.next_step
