"""``NemoClient``: the typed async client of the NemoVideo mega-api (backend A).

One public class assembled from focused parts over one transport (like the resources of an SDK over its
base client); each part is a mixin on :class:`~nemo_mcp.api.client._auth.Authenticated`:

================  =====================================================================================
``_transport``    the shared ``httpx.AsyncClient``, headers, timeouts, retries, envelope -> typed errors
``_auth``         NEMO_TOKEN / stored / minted anonymous token, re-mint once, user id, register link
``_sessions``     ``create_session``, ``get_credits``, ``get_state``, ``browser_link``
``_uploads``      ``upload_files``, ``import_urls``
``_turns``        ``stream_turn`` (``/run_sse``)
``_renders``      ``submit_render``, ``get_render``, ``poll_render``, ``wait_render``, ``cancel_render``
``_downloads``    ``download_render``
================  =====================================================================================

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

from nemo_mcp.api.client._downloads import DownloadsMixin
from nemo_mcp.api.client._renders import RendersMixin
from nemo_mcp.api.client._sessions import SessionsMixin
from nemo_mcp.api.client._transport import ProgressCallback
from nemo_mcp.api.client._turns import TurnsMixin
from nemo_mcp.api.client._uploads import UploadsMixin

__all__ = ["NemoClient", "ProgressCallback"]


class NemoClient(SessionsMixin, UploadsMixin, TurnsMixin, RendersMixin, DownloadsMixin):
    """One long-lived ``httpx.AsyncClient`` per instance; use ``async with NemoClient(cfg) as api:``.

    ``NemoClient(config=None, *, transport=None)``: ``config`` defaults to ``ApiConfig.from_env()``;
    ``transport`` lets tests plug in an ``httpx`` transport (respx, ASGI); normal use leaves it None.
    """
