"""Projects and what can be read about them: sessions, credits, state, browser links."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from nemo_mcp.api import links
from nemo_mcp.api.client._transport import APP, Transport, path_segment, unanswered
from nemo_mcp.api.errors import MalformedResponseError
from nemo_mcp.api.models import Credits, ProjectState, Session
from nemo_mcp.api.parsing import detect_language, parse_credits, parse_session, parse_state

__all__ = ["Sessions"]

log = logging.getLogger("nemo_mcp.api")


class Sessions:
    """Projects (task + session), credits, project state and browser links, over one transport."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._auth = transport.auth

    async def create(
        self, language: str | None = None, text_hint: str | None = None, *, task_name: str = "project"
    ) -> Session:
        """Create a project (task) and its editing session. ``language`` defaults to one detected from
        ``text_hint`` (CJK -> zh-CN, kana -> ja, hangul -> ko, else en)."""
        lang = (language or "").strip() or detect_language(text_hint)
        advice = (
            "A new project may exist on nemovideo.com without its id here: look there before "
            "creating another one."
        )
        data = await self._transport.request(
            "POST",
            f"/api/tasks/me/with-session/{APP}",
            endpoint="session",
            json_body={"task_name": task_name, "language": lang},
            if_unanswered=advice,
        )
        try:
            session = parse_session(data, lang)
        except MalformedResponseError as exc:  # answered, but without the ids: the project may exist
            raise unanswered(exc, "session", advice) from None
        if session.user_id:
            self._auth.note_user(session.user_id)
        elif self._auth.user_id:
            session = session.model_copy(update={"user_id": self._auth.user_id})
        log.info("created NemoVideo session %s", session.session_id)
        return session

    async def credits(self) -> Credits:
        data = await self._transport.request(
            "GET", "/api/credits/balance/simple", endpoint="credits", idempotent=True
        )
        return parse_credits(data)

    async def state(self, session_id: str) -> ProjectState:
        data = await self._transport.request(
            "GET",
            f"/api/state/{APP}/me/{path_segment(session_id, 'session id')}/latest",
            endpoint="state",
            idempotent=True,
            session_id=session_id,
        )
        state = parse_state(data, session_id)
        if state.user_id:
            self._auth.note_user(state.user_id)
        return state

    async def browser_link(self, task_id: str, session_id: str) -> str:
        """``$NEMO_WEB_URL/workspace/claim?ct=<claim token>``. The API token never goes into a URL."""
        data = await self._transport.request(
            "POST",
            "/api/auth/claim-token",
            endpoint="claim",
            idempotent=True,
            json_body={"task_id": task_id, "session_id": session_id},
            session_id=session_id,
            if_unanswered="A link is all it creates: asking for it again is safe.",
        )
        claim = None
        if isinstance(data, Mapping):
            claim = data.get("claim_token") or data.get("ct") or data.get("claimToken")
        if not isinstance(claim, str) or not claim.strip() or claim.strip().startswith("nmv_"):
            raise MalformedResponseError("NemoVideo did not return a browser link token. Try again later.")
        return links.claim_url(self._transport.config.web_url, claim)
