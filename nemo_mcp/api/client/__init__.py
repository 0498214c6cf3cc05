"""``NemoClient``: the typed async client of the NemoVideo mega-api (backend A).

Composed like the resources of an SDK over its base client: one :class:`~._transport.Transport` (the shared
``httpx.AsyncClient``, the request core with its retries, and :class:`~._auth.Auth`, the token) is given to
a small resource class per area, and :class:`NemoClient` delegates each public method to one of them:

===============  ===============  ============================================================================
module           class            what it does
===============  ===============  ============================================================================
``_transport``   ``Transport``    the ``httpx.AsyncClient``, headers, timeouts, retries, envelope -> errors
``_auth``        ``Auth``         NEMO_TOKEN / stored / minted anonymous token, re-mint once, user id
``_sessions``    ``Sessions``     ``create_session``, ``get_credits``, ``get_state``, ``browser_link``
``_uploads``     ``Uploads``      ``upload_files``, ``import_urls``
``_turns``       ``Turns``        ``stream_turn`` (``/run_sse``)
``_renders``     ``Renders``      ``submit_render``, ``get_render``, ``poll_render``, ``wait_render``,
                                  ``cancel_render``
``_downloads``   ``Downloads``    ``download_render``
===============  ===============  ============================================================================

Resilience rules (docs/nemo-api.md §1, §4, §5, §7.3, §8):

- One ``httpx.AsyncClient`` per ``NemoClient``, created on its first request (``NemoClient()`` itself builds
  no SSL context), closed by ``async with`` / :meth:`NemoClient.aclose`.
- Idempotent calls (GET, anonymous-token, claim-token, cancel) are retried on connection errors,
  timeouts, 5xx and 429 with jittered exponential backoff, honouring ``Retry-After`` up to
  ``retry_after_cap``. Nothing else is retried at the transport level.
- ``/run_sse`` is never re-sent. Single documented exception: the backend refused the request on
  auth (1001 / 401, answered before any stream byte); the client then re-mints the anonymous token
  and sends once more. A refused request did no work, so this cannot double-charge.
- A render is never re-submitted with the same id: a failed submit is retried once with a new
  ``render_<uuid>``.
- A request that changes something (upload, URL import, new project, browser link, render submit) whose
  answer was lost (read timeout, dropped connection, unreadable answer, 504) raises an error saying it
  may have been applied and what to check first (``NemoError.outcome_unknown`` is True).
- The API token only travels in the ``Authorization`` header to ``base_url``; never in a URL, a log record, an
  exception message or a repr.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from nemo_mcp.api.client._auth import TokenSource
from nemo_mcp.api.client._downloads import Downloads
from nemo_mcp.api.client._renders import Renders
from nemo_mcp.api.client._sessions import Sessions
from nemo_mcp.api.client._transport import ProgressCallback, Transport
from nemo_mcp.api.client._turns import Turns
from nemo_mcp.api.client._uploads import Uploads
from nemo_mcp.api.config import ApiConfig, Attribution
from nemo_mcp.api.identity import TokenStore
from nemo_mcp.api.media import MediaFile
from nemo_mcp.api.models import (
    Credits,
    ProjectState,
    RenderJob,
    RenderStatus,
    Session,
    TurnEvent,
    UploadedFile,
)
from nemo_mcp.api.saving import Reserved

__all__ = ["NemoClient", "ProgressCallback"]


class NemoClient:
    """One long-lived ``httpx.AsyncClient`` per instance; use ``async with NemoClient(cfg) as api:``.

    ``NemoClient(config=None, *, transport=None, tokens=None)``: ``config`` defaults to
    ``ApiConfig.from_env()``; ``transport`` lets tests plug in an ``httpx`` transport (respx, ASGI);
    ``tokens`` is where anonymous tokens are kept (a :class:`~nemo_mcp.api.identity.TokenStore`, e.g. the
    server's state store's); without it the state store of ``config.config_dir`` is opened when a token is
    first needed.
    """

    def __init__(
        self,
        config: ApiConfig | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        tokens: TokenStore | None = None,
    ) -> None:
        self._transport = Transport(config, http_transport=transport, tokens=tokens)
        self._auth = self._transport.auth
        self._sessions = Sessions(self._transport)
        self._uploads = Uploads(self._transport)
        self._turns = Turns(self._transport)
        self._renders = Renders(self._transport)
        self._downloads = Downloads(self._transport)

    def __repr__(self) -> str:
        return f"NemoClient(base_url={self.config.base_url!r}, auth={self.token_source!r})"

    # -- lifetime ------

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the ``httpx.AsyncClient`` (if one was created); later calls fail as unreachable."""
        await self._transport.aclose()

    # -- configuration and identity ------

    @property
    def config(self) -> ApiConfig:
        """The configuration, read at each use. It may be replaced (timings, poll intervals); the token,
        client id, config folder, attribution headers and the base URL of an ``httpx.AsyncClient`` already
        created stay those of the first one."""
        return self._transport.config

    @config.setter
    def config(self, config: ApiConfig) -> None:
        self._transport.config = config

    @property
    def attribution(self) -> Attribution:
        return self._transport.attribution

    @property
    def user_id(self) -> str | None:
        return self._auth.user_id

    @property
    def anonymous(self) -> bool:
        """True when using an anonymous token (minted or stored), or the user id says ``anon_``."""
        return self._auth.anonymous

    @property
    def token_source(self) -> TokenSource:
        return self._auth.token_source

    def register_url(self) -> str:
        """``$NEMO_WEB_URL/register?bind=<anonymous user id>`` (without ``bind`` when the id is unknown)."""
        return self._auth.register_url()

    # -- projects: Sessions ------

    async def create_session(
        self, language: str | None = None, text_hint: str | None = None, *, task_name: str = "project"
    ) -> Session:
        """Create a project (task) and its editing session. ``language`` defaults to one detected from
        ``text_hint`` (CJK -> zh-CN, kana -> ja, hangul -> ko, else en)."""
        return await self._sessions.create(language, text_hint, task_name=task_name)

    async def get_credits(self) -> Credits:
        return await self._sessions.credits()

    async def get_state(self, session_id: str) -> ProjectState:
        return await self._sessions.state(session_id)

    async def browser_link(self, task_id: str, session_id: str) -> str:
        """``$NEMO_WEB_URL/workspace/claim?ct=<claim token>``. The API token never goes into a URL."""
        return await self._sessions.browser_link(task_id, session_id)

    # -- media: Uploads ------

    async def upload_files(
        self,
        session_id: str,
        paths: Sequence[str | Path | MediaFile],
        *,
        progress: ProgressCallback | None = None,
    ) -> list[UploadedFile]:
        """Preflight every file, then stream them in one multipart request (``progress(sent, total)``);
        see :meth:`._uploads.Uploads.files`."""
        return await self._uploads.files(session_id, paths, progress=progress)

    async def import_urls(self, session_id: str, urls: Sequence[str]) -> list[UploadedFile]:
        """Import media the backend downloads itself: ``{"urls": [...], "source_type": "url"}``."""
        return await self._uploads.urls(session_id, urls)

    # -- the agent: Turns ------

    def stream_turn(self, session_id: str, text: str) -> AsyncGenerator[TurnEvent, None]:
        """Send one message to the agent and yield its events, then exactly one ``TurnEnded``; never raises
        for backend or transport failures. See :meth:`._turns.Turns.stream`."""
        return self._turns.stream(session_id, text)

    # -- exports: Renders, Downloads ------

    async def submit_render(
        self, session_id: str, draft: dict[str, Any], *, output: dict[str, Any] | None = None
    ) -> RenderJob:
        """Submit ``draft`` with a fresh ``render_<uuid>``; a failure is retried once with a NEW id."""
        return await self._renders.submit(session_id, draft, output=output)

    async def get_render(self, render_id: str) -> RenderStatus:
        return await self._renders.get(render_id)

    def poll_render(
        self, render_id: str, *, max_wait: float | None = None
    ) -> AsyncGenerator[RenderStatus, None]:
        """Yield each status until a terminal one, with adaptive backoff; raises ``NemoTimeoutError`` after
        ``max_wait`` (default ``render_timeout``). See :meth:`._renders.Renders.poll`."""
        return self._renders.poll(render_id, max_wait=max_wait)

    async def wait_render(
        self,
        render_id: str,
        *,
        max_wait: float | None = None,
        on_status: Callable[[RenderStatus], Any] | None = None,
    ) -> RenderStatus:
        """Poll until terminal; return the completed status or raise ``RenderFailedError``."""
        return await self._renders.wait(render_id, max_wait=max_wait, on_status=on_status)

    async def cancel_render(self, render_id: str) -> RenderStatus | None:
        """``POST /api/render/proxy/lambda/<id>/cancel`` (pending renders); the status if reported."""
        return await self._renders.cancel(render_id)

    async def download_render(
        self,
        render_id: str,
        dest: str | Path | Reserved,
        *,
        output_url: str | None = None,
        expected_size: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> Path:
        """Stream the rendered file to ``dest`` (a name reserved in a
        :class:`~nemo_mcp.api.saving.SaveFolder`, a file, or a folder -> ``<render_id>.mp4``) through a
        ``.part`` file renamed at the end; from allowed hosts only, capped; see
        :meth:`._downloads.Downloads.download`."""
        return await self._downloads.download(
            render_id, dest, output_url=output_url, expected_size=expected_size, progress=progress
        )
