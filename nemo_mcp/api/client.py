"""``NemoClient``: the typed async client of the NemoVideo mega-api (backend A).

Resilience rules (nemo-api.md §1, §4, §5, §7.3, §8):

- One ``httpx.AsyncClient`` per ``NemoClient``, closed by ``async with`` / :meth:`NemoClient.aclose`.
- Idempotent calls (GET, anonymous-token, claim-token, cancel) are retried on connection errors,
  timeouts, 5xx and 429 with jittered exponential backoff, honouring ``Retry-After`` up to
  ``retry_after_cap``. Nothing else is retried at the transport level.
- ``/run_sse`` is never re-sent. Single documented exception: the backend refused the request on
  auth (1001 / 401, answered before any stream byte); the client then re-mints the anonymous token
  and sends once more. A refused request did no work, so this cannot double-charge.
- A render is never re-submitted with the same id: a failed submit is retried once with a new
  ``render_<uuid>``.
- The API token only travels in the ``Authorization`` header to ``base_url``; never in a URL, a log record, an
  exception message or a repr.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import random
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote, urljoin, urlsplit

import anyio
import httpx

from nemo_mcp.api.config import ApiConfig
from nemo_mcp.api.envelope import Endpoint, parse_envelope
from nemo_mcp.api.errors import (
    AgentError,
    AuthError,
    BackendUnreachableError,
    BadRequestError,
    DownloadError,
    FileTooLargeError,
    MalformedResponseError,
    MissingClientIdError,
    NemoError,
    NemoTimeoutError,
    NoCreditsError,
    NotExportableError,
    NotFoundError,
    PlanRequiredError,
    RateLimitedError,
    RenderFailedError,
    ServerError,
    SessionLostError,
    StreamInterruptedError,
    UnsupportedFileError,
)
from nemo_mcp.api.identity import IdentityStore, StoredToken, parse_expiry
from nemo_mcp.api.models import (
    Credits,
    HeartbeatEvent,
    ProjectState,
    RenderJob,
    RenderStatus,
    Session,
    TurnEnded,
    TurnEndReason,
    TurnEvent,
    UploadedFile,
)
from nemo_mcp.api.parsing import (
    detect_language,
    parse_credits,
    parse_render_status,
    parse_session,
    parse_state,
    parse_uploaded_files,
)
from nemo_mcp.api.sse import TurnParser
from nemo_mcp.api.timeline import export_ready
from nemo_mcp.api.upload import build_multipart, preflight

ProgressCallback = Callable[[int, int], Any]  # (sent_bytes, total_bytes); may be sync or async

__all__ = ["NemoClient", "ProgressCallback"]

log = logging.getLogger("nemo_mcp.api")

APP = "nemo_agent"
TokenSource = Literal["env", "stored", "minted", "none"]
_TRANSIENT_POLL_ERRORS = (
    BackendUnreachableError,
    NemoTimeoutError,
    ServerError,
    RateLimitedError,
    MalformedResponseError,
    NotFoundError,
)
_MAX_ERROR_BODY = 256 * 1024


async def _call(fn: Callable[..., Any] | None, *args: Any) -> None:
    if fn is None:
        return
    try:
        result = fn(*args)
        if inspect.isawaitable(result):
            await result
    except Exception:  # a progress callback must never break the transfer
        log.debug("progress callback raised", exc_info=True)


def _seg(value: str, what: str) -> str:
    """A path segment from an id, percent-encoded; rejects empty ids."""
    if not isinstance(value, str) or not value.strip():
        raise BadRequestError(f"A {what} is required.")
    return quote(value.strip(), safe="")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port
    if port is None:
        port = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _transport_error(exc: Exception, what: str) -> NemoError:
    if isinstance(exc, httpx.TimeoutException):
        return NemoTimeoutError(
            f"The NemoVideo backend did not answer in time ({what}). Try again in a moment."
        )
    return BackendUnreachableError()


class NemoClient:
    """One long-lived ``httpx.AsyncClient`` per instance; use ``async with NemoClient(cfg) as api:``.

    ``transport`` lets tests plug in an ``httpx`` transport (respx, ASGI); normal use leaves it None.
    """

    def __init__(
        self, config: ApiConfig | None = None, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config if config is not None else ApiConfig.from_env()
        cfg = self.config
        self.attribution = cfg.attribution()
        from nemo_mcp import __version__

        self._http = httpx.AsyncClient(
            base_url=cfg.base_url,
            headers={"User-Agent": f"nemo-mcp/{__version__}", **self.attribution.headers()},
            timeout=httpx.Timeout(
                cfg.request_timeout,
                connect=cfg.connect_timeout,
                write=cfg.write_timeout,
                pool=cfg.connect_timeout,
            ),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
            follow_redirects=False,
            transport=transport,
        )
        self._store = IdentityStore(cfg.config_dir)
        self._token: str | None = cfg.token
        self._token_source: TokenSource = "env" if cfg.token else "none"
        self._expires_at: float | None = None
        self._user_id: str | None = None
        self._client_id: str | None = cfg.client_id
        self._auth_lock = anyio.Lock()
        self._closed = False
        #: every deliberate wait (retry backoff, rate-limit wait, poll interval); tests hook it
        self._sleep: Callable[[float], Awaitable[None]] = anyio.sleep

    # -- lifetime ------

    async def __aenter__(self) -> NemoClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._http.aclose()

    def __repr__(self) -> str:
        return f"NemoClient(base_url={self.config.base_url!r}, auth={self._token_source!r})"

    # -- identity ------

    @property
    def user_id(self) -> str | None:
        return self._user_id

    @property
    def anonymous(self) -> bool:
        """True when using an anonymous token (minted or stored), or the user id says ``anon_``."""
        if self._token_source in ("minted", "stored"):
            return True
        return bool(self._user_id and self._user_id.startswith("anon"))

    @property
    def token_source(self) -> TokenSource:
        return self._token_source

    def register_url(self) -> str:
        """``$NEMO_WEB_URL/register?bind=<anonymous user id>`` (without ``bind`` when the id is unknown)."""
        url = f"{self.config.web_url}/register"
        if self._user_id and self.anonymous:
            url += f"?bind={quote(self._user_id, safe='')}"
        return url

    def _note_user(self, user_id: Any) -> None:
        if isinstance(user_id, str) and user_id.strip() and len(user_id) <= 200:
            self._user_id = user_id.strip()

    def _token_usable(self) -> bool:
        if not self._token:
            return False
        if self._token_source == "env" or self._expires_at is None:  # noqa: S105
            return True
        return StoredToken(token=self._token, expires_at=self._expires_at).valid()

    def _can_remint(self) -> bool:
        return self._token_source != "env"  # noqa: S105

    async def ensure_token(self) -> str:
        """The bearer token: ``NEMO_TOKEN``, else a stored unexpired anonymous token, else a new one."""
        if self._token_usable():
            assert self._token is not None
            return self._token
        async with self._auth_lock:
            if self._token_usable():
                assert self._token is not None
                return self._token
            if self.config.persist_token and self._token_source in ("none",):
                stored = self._store.load_token(self.config.base_url)
                if stored is not None and stored.valid():
                    self._set_token(stored.token, "stored", stored.expires_at, stored.user_id)
                    log.debug("using the stored anonymous NemoVideo token")
                    assert self._token is not None
                    return self._token
            await self._mint()
            assert self._token is not None
            return self._token

    def _set_token(
        self, token: str, source: TokenSource, expires_at: float | None, user_id: str | None
    ) -> None:
        self._token = token
        self._token_source = source
        self._expires_at = expires_at
        if user_id:
            self._note_user(user_id)

    def _client_id_value(self) -> str:
        if self._client_id is None:
            self._client_id = self._store.client_id()
        return self._client_id

    async def _mint(self) -> None:
        """``POST /api/auth/anonymous-token`` with ``X-Client-Id``. Caller holds ``_auth_lock``."""
        client_id = self._client_id_value()
        regenerated = False
        waited = False
        while True:
            try:
                data = await self._request(
                    "POST",
                    "/api/auth/anonymous-token",
                    endpoint="token",
                    auth=False,
                    idempotent=True,
                    retry_rate_limit=False,
                    headers={"X-Client-Id": client_id},
                )
                break
            except MissingClientIdError:
                if regenerated:
                    raise
                regenerated = True
                log.info("NemoVideo refused the client id; generating a new one and retrying once")
                client_id = self._store.new_client_id()
                self._client_id = client_id
            except RateLimitedError as exc:
                if waited:
                    raise RateLimitedError(
                        "NemoVideo allows one free anonymous token per client every 7 days, and it "
                        "refused a new one. Set NEMO_TOKEN to a token from nemovideo.com (Settings -> "
                        "API Tokens), or wait and try again later.",
                        status=exc.status,
                        code=exc.code,
                        retry_after=exc.retry_after,
                    ) from None
                waited = True
                log.info(
                    "anonymous-token request rate-limited; retrying once in %.1f s",
                    self.config.rate_limit_retry_delay,
                )
                await self._sleep(self.config.rate_limit_retry_delay)
        if not isinstance(data, Mapping):
            raise MalformedResponseError("NemoVideo did not return a token. Try again, or set NEMO_TOKEN.")
        token = data.get("token") or data.get("access_token")
        if not isinstance(token, str) or not token.strip() or len(token) > 4096:
            raise MalformedResponseError("NemoVideo did not return a token. Try again, or set NEMO_TOKEN.")
        token = token.strip()
        expires_at = parse_expiry(data.get("expires_at", data.get("expiresAt")))
        if expires_at is None:
            ttl = data.get("expires_in")
            if isinstance(ttl, (int, float)) and not isinstance(ttl, bool) and ttl > 0:
                expires_at = time.time() + float(ttl)
        user_id = data.get("user_id") if isinstance(data.get("user_id"), str) else None
        self._set_token(token, "minted", expires_at, user_id)
        log.info("obtained an anonymous NemoVideo token (100 free credits)")
        if self.config.persist_token:
            self._store.save_token(
                self.config.base_url,
                StoredToken(token=token, expires_at=expires_at, user_id=user_id, client_id=client_id),
            )

    async def _remint(self, rejected: str | None) -> None:
        async with self._auth_lock:
            if self._token is not None and self._token != rejected and self._token_usable():
                return  # another task already replaced the rejected token
            log.info("NemoVideo rejected the token; requesting a new anonymous token once")
            if self.config.persist_token:
                self._store.forget_token(self.config.base_url)
            self._token = None
            self._expires_at = None
            self._token_source = "none"  # noqa: S105
            await self._mint()

    def _final_auth_error(self, exc: AuthError, reauthed: bool) -> AuthError:
        if self._token_source == "env":  # noqa: S105
            msg = (
                "NemoVideo rejected NEMO_TOKEN (invalid, expired or revoked). Create a new token at "
                "nemovideo.com (Settings -> API Tokens), or unset NEMO_TOKEN to use a free anonymous token."
            )
        elif reauthed:
            msg = (
                "NemoVideo rejected a freshly issued anonymous token. Try again later, or set NEMO_TOKEN "
                "to a token from nemovideo.com (Settings -> API Tokens)."
            )
        else:
            return exc
        err = AuthError(msg, status=exc.status, code=exc.code)
        err.detail = exc.detail
        return err

    def _enrich(self, err: NemoError) -> NemoError:
        if isinstance(err, NoCreditsError) and err.register_url is None:
            return err.with_user(self._user_id, self.config.web_url, self.anonymous)
        return err

    # -- the request core ------

    def _retry_delay(self, err: NemoError, attempt: int, retry_rate_limit: bool) -> float | None:
        cfg = self.config
        if attempt >= cfg.max_retries:
            return None
        if isinstance(err, RateLimitedError):
            if not retry_rate_limit:
                return None
        elif not isinstance(err, (BackendUnreachableError, NemoTimeoutError, ServerError)):
            return None
        if isinstance(err, ServerError) and err.status is not None and err.status < 500:
            return None  # an unknown business code delivered with HTTP 200: not transient
        if err.retry_after is not None:
            return err.retry_after if err.retry_after <= cfg.retry_after_cap else None
        backoff = min(cfg.retry_base_delay * (2.0**attempt), cfg.retry_max_delay)
        return backoff * (1.0 - 0.25 * random.random())  # noqa: S311 - jitter, not crypto

    async def _request(
        self,
        method: str,
        path: str,
        *,
        endpoint: Endpoint,
        json_body: Any = None,
        content: Callable[[], Any] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
        idempotent: bool = False,
        reauth: bool = True,
        retry_rate_limit: bool = True,
        timeout: httpx.Timeout | None = None,  # noqa: ASYNC109 - an httpx per-request timeout
        session_id: str | None = None,
    ) -> Any:
        """Send one logical request; return the unwrapped payload or raise a typed error."""
        if self._closed:
            raise BackendUnreachableError("The NemoVideo client is closed.")
        attempt = 0
        reauthed = False
        while True:
            hdrs = dict(headers or {})
            token: str | None = None
            if auth:
                token = await self.ensure_token()
                hdrs["Authorization"] = f"Bearer {token}"
            kwargs: dict[str, Any] = {"headers": hdrs}
            if json_body is not None:
                kwargs["json"] = json_body
            if content is not None:
                kwargs["content"] = content()
            if timeout is not None:
                kwargs["timeout"] = timeout
            err: NemoError
            started = time.monotonic()
            try:
                resp = await self._http.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                err = _transport_error(exc, endpoint)
                log.debug("%s %s failed: %s", method, path, type(exc).__name__)
            else:
                log.debug(
                    "%s %s -> %s (%.0f ms)",
                    method,
                    path,
                    resp.status_code,
                    (time.monotonic() - started) * 1000,
                )
                try:
                    return parse_envelope(
                        resp.status_code,
                        resp.content,
                        headers=resp.headers,
                        endpoint=endpoint,
                        session_id=session_id,
                    )
                except AuthError as exc:
                    if auth and reauth and not reauthed and self._can_remint():
                        reauthed = True
                        await self._remint(token)
                        continue
                    raise self._final_auth_error(exc, reauthed) from None
                except NemoError as exc:
                    err = self._enrich(exc)
            delay = self._retry_delay(err, attempt, retry_rate_limit) if idempotent else None
            if delay is None:
                raise err
            attempt += 1
            log.info("%s %s: %s; retry %d in %.2f s", method, path, err.tag, attempt, delay)
            await self._sleep(delay)

    # -- sessions, credits, state, links ------

    async def create_session(
        self, language: str | None = None, text_hint: str | None = None, *, task_name: str = "project"
    ) -> Session:
        """Create a project (task) and its editing session. ``language`` defaults to one detected from
        ``text_hint`` (CJK -> zh-CN, kana -> ja, hangul -> ko, else en)."""
        lang = (language or "").strip() or detect_language(text_hint)
        data = await self._request(
            "POST",
            f"/api/tasks/me/with-session/{APP}",
            endpoint="session",
            json_body={"task_name": task_name, "language": lang},
        )
        session = parse_session(data, lang)
        if session.user_id:
            self._note_user(session.user_id)
        elif self._user_id:
            session = session.model_copy(update={"user_id": self._user_id})
        log.info("created NemoVideo session %s", session.session_id)
        return session

    async def get_credits(self) -> Credits:
        data = await self._request("GET", "/api/credits/balance/simple", endpoint="credits", idempotent=True)
        return parse_credits(data)

    async def get_state(self, session_id: str) -> ProjectState:
        data = await self._request(
            "GET",
            f"/api/state/{APP}/me/{_seg(session_id, 'session id')}/latest",
            endpoint="state",
            idempotent=True,
            session_id=session_id,
        )
        state = parse_state(data, session_id)
        if state.user_id:
            self._note_user(state.user_id)
        return state

    async def browser_link(self, task_id: str, session_id: str) -> str:
        """``$NEMO_WEB_URL/workspace/claim?ct=<claim token>``. The API token never goes into a URL."""
        data = await self._request(
            "POST",
            "/api/auth/claim-token",
            endpoint="claim",
            idempotent=True,
            json_body={"task_id": task_id, "session_id": session_id},
            session_id=session_id,
        )
        claim = None
        if isinstance(data, Mapping):
            claim = data.get("claim_token") or data.get("ct") or data.get("claimToken")
        if not isinstance(claim, str) or not claim.strip() or claim.strip().startswith("nmv_"):
            raise MalformedResponseError("NemoVideo did not return a browser link token. Try again later.")
        return f"{self.config.web_url}/workspace/claim?ct={quote(claim.strip(), safe='')}"

    # -- uploads ------

    async def upload_files(
        self, session_id: str, paths: Sequence[str | Path], *, progress: ProgressCallback | None = None
    ) -> list[UploadedFile]:
        """Preflight every file, then stream them in one multipart request (field ``files``) with a known
        Content-Length and constant memory. ``progress(sent_bytes, total_bytes)`` counts file bytes."""
        if not paths:
            raise BadRequestError("No files to upload.")
        items = [preflight(p, max_bytes=self.config.max_upload_bytes) for p in paths]
        body = build_multipart(items, chunk_size=self.config.upload_chunk_size)
        cfg = self.config
        names = ", ".join(i.name for i in items)
        try:
            data = await self._request(
                "POST",
                f"/api/upload-video/{APP}/me/{_seg(session_id, 'session id')}",
                endpoint="upload",
                content=lambda: body.stream(progress),
                headers={"Content-Type": body.content_type, "Content-Length": str(body.content_length)},
                timeout=httpx.Timeout(
                    cfg.upload_timeout,
                    connect=cfg.connect_timeout,
                    write=cfg.write_timeout,
                    pool=cfg.connect_timeout,
                ),
                session_id=session_id,
            )
        except UnsupportedFileError as exc:
            if exc.path is not None:
                raise
            raise UnsupportedFileError(
                f"NemoVideo did not accept {names}: unsupported file type. Supported: "
                "mp4, mov, avi, webm, mkv, jpg, jpeg, png, gif, webp, mp3, wav, m4a, aac.",
                status=exc.status,
                code=exc.code,
            ) from None
        except FileTooLargeError as exc:
            if exc.path is not None:
                raise
            raise FileTooLargeError(
                f"NemoVideo says {names} is too large. Compress it or trim it to a shorter clip, "
                "then upload again.",
                status=exc.status,
                code=exc.code,
            ) from None
        files = parse_uploaded_files(data)
        log.info("uploaded %d file(s) to session %s", len(files), session_id)
        return files

    async def import_urls(self, session_id: str, urls: Sequence[str]) -> list[UploadedFile]:
        """Import media the backend downloads itself: ``{"urls": [...], "source_type": "url"}``."""
        clean: list[str] = []
        for url in urls:
            parts = urlsplit(url.strip()) if isinstance(url, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
                raise BadRequestError(
                    f"{str(url)[:200]!r} is not an http(s) URL. Give a direct link to the media file."
                )
            clean.append(url.strip())
        if not clean:
            raise BadRequestError("No URLs to import.")
        data = await self._request(
            "POST",
            f"/api/upload-video/{APP}/me/{_seg(session_id, 'session id')}",
            endpoint="upload",
            json_body={"urls": clean, "source_type": "url"},
            timeout=httpx.Timeout(
                self.config.upload_timeout,
                connect=self.config.connect_timeout,
                pool=self.config.connect_timeout,
            ),
            session_id=session_id,
        )
        return parse_uploaded_files(data)

    # -- agent turns ------

    async def stream_turn(self, session_id: str, text: str) -> AsyncGenerator[TurnEvent, None]:
        """Send one message to the agent and yield its events, then exactly one :class:`TurnEnded`.

        Never raises for backend or transport failures (they end the turn with ``reason="error"`` or
        ``"interrupted"``). The message is sent once; see the module docstring for the auth exception.
        """
        started = time.time()
        parser = TurnParser()
        state: dict[str, Any] = {"accepted": False, "reauthed": False}
        finished = False
        try:
            async with contextlib.aclosing(self._turn(session_id, text, started, parser, state)) as events:
                async for ev in events:
                    finished = isinstance(ev, TurnEnded)
                    yield ev
        except Exception:
            if finished:
                raise
            # a defect, not a backend condition: still end the turn exactly once, and say what to do
            log.exception("unexpected error while streaming an agent turn")
            err = MalformedResponseError(
                "The agent reply could not be processed. The message was not re-sent; check the timeline "
                "to see whether the edit was applied."
            )
            yield TurnEnded(
                reason="interrupted" if state["accepted"] else "error",
                accepted=state["accepted"],
                error=err,
                error_tag=err.tag,
                message=err.message,
                texts=list(parser.texts),
                tools_used=list(parser.tools_used),
                started_at=started,
            )

    async def _turn(
        self, session_id: str, text: str, started: float, parser: TurnParser, state: dict[str, Any]
    ) -> AsyncGenerator[TurnEvent, None]:

        def end(reason: TurnEndReason, error: NemoError | None = None) -> TurnEnded:
            if error is not None:
                error = self._enrich(error)
            ended = TurnEnded(
                reason=reason,
                accepted=state["accepted"],
                error=error,
                error_tag=error.tag if error else None,
                message=error.message if error else None,
                texts=list(parser.texts),
                tools_used=list(parser.tools_used),
                stream_errors=list(parser.stream_errors),
                state_delta_keys=list(parser.state_delta_keys),
                event_count=parser.event_count,
                heartbeat_count=parser.heartbeat_count,
                started_at=started,
                reauthenticated=state["reauthed"],
            )
            log.info(
                "turn on session %s ended: %s (%d events, %d heartbeats, %d texts, %.1f s)",
                session_id,
                reason + (f"/{error.tag}" if error else ""),
                parser.event_count,
                parser.heartbeat_count,
                len(parser.texts),
                ended.elapsed,
            )
            return ended

        if not isinstance(text, str) or not text.strip():
            yield end("error", BadRequestError("The message to the agent is empty."))
            return
        if not isinstance(session_id, str) or not session_id.strip():
            yield end("error", BadRequestError("A session id is required."))
            return
        body = {
            "app_name": APP,
            "user_id": "me",
            "session_id": session_id,
            "new_message": {"parts": [{"text": text}]},
        }
        cfg = self.config
        timeout = httpx.Timeout(
            cfg.sse_read_timeout,
            connect=cfg.connect_timeout,
            write=cfg.write_timeout,
            pool=cfg.connect_timeout,
        )
        while True:
            try:
                token = await self.ensure_token()
            except NemoError as exc:
                yield end("error", exc)
                return
            request = self._http.build_request(
                "POST",
                "/run_sse",
                json=body,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Accept": "text/event-stream",
                    "Cache-Control": "no-store",
                },
                timeout=timeout,
            )
            try:
                resp = await self._http.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                yield end("error", BackendUnreachableError())
                return
            except httpx.HTTPError as exc:
                # the request may have reached the backend: do not re-send, let the caller check the state
                log.info("run_sse failed before the response: %s", type(exc).__name__)
                yield end("interrupted", StreamInterruptedError())
                return
            retry = False
            try:
                ctype = resp.headers.get("content-type", "").lower()
                if resp.status_code >= 300 or "json" in ctype:
                    raw = await self._read_capped(resp)
                    await resp.aclose()  # release the connection before anything is yielded
                    try:
                        payload = parse_envelope(
                            resp.status_code, raw, headers=resp.headers, endpoint="run", session_id=session_id
                        )
                    except AuthError as exc:
                        if not state["reauthed"] and self._can_remint():
                            state["reauthed"] = True
                            retry = True
                        else:
                            yield end("error", self._final_auth_error(exc, state["reauthed"]))
                            return
                    except NemoError as exc:
                        yield end("error", exc)
                        return
                    else:
                        # a 2xx JSON document instead of a stream: interpret it as one event
                        state["accepted"] = True
                        if isinstance(payload, (dict, list)):
                            for ev in parser.feed(b"data: " + raw.replace(b"\n", b" ") + b"\n\n"):
                                yield ev
                        for ev in parser.close():
                            yield ev
                        yield end("closed" if parser.event_count else "interrupted")
                        return
                else:
                    state["accepted"] = True
                    async with contextlib.aclosing(self._consume_stream(resp, parser, end)) as events:
                        async for item in events:
                            yield item
                    return
            finally:
                await resp.aclose()
            if retry:
                try:
                    await self._remint(token)
                except NemoError as exc:
                    yield end("error", exc)
                    return
                continue

    async def _read_capped(self, resp: httpx.Response) -> bytes:
        buf = bytearray()
        try:
            async for chunk in resp.aiter_bytes():
                buf += chunk
                if len(buf) > _MAX_ERROR_BODY:
                    break
        except httpx.HTTPError:
            pass
        return bytes(buf)

    def _deadline_end(self, idle: bool) -> tuple[TurnEndReason, NemoError]:
        cfg = self.config
        if idle:
            return "idle_timeout", NemoTimeoutError(
                f"The agent sent only keep-alives for {_duration(cfg.sse_idle_timeout)}, so the turn was "
                "ended. The message was not re-sent; check the timeline to see whether the work finished."
            )
        return "interrupted", NemoTimeoutError(
            f"The agent turn exceeded {_duration(cfg.sse_read_timeout)} and was ended. The message was "
            "not re-sent; check the timeline to see whether the work finished."
        )

    async def _consume_stream(
        self,
        resp: httpx.Response,
        parser: TurnParser,
        end: Callable[..., TurnEnded],
    ) -> AsyncGenerator[TurnEvent, None]:
        cfg = self.config
        now = anyio.current_time()
        hard_deadline = now + cfg.sse_read_timeout
        idle_deadline = now + cfg.sse_idle_timeout
        chunks = resp.aiter_bytes().__aiter__()
        reason: TurnEndReason | None = None
        error: NemoError | None = None
        while True:
            now = anyio.current_time()
            if now >= min(idle_deadline, hard_deadline):
                reason, error = self._deadline_end(idle_deadline <= hard_deadline)
                break
            try:
                with anyio.move_on_after(min(idle_deadline, hard_deadline) - now) as scope:
                    chunk = await chunks.__anext__()
            except StopAsyncIteration:
                break
            except httpx.HTTPError as exc:
                log.info("run_sse stream dropped: %s", type(exc).__name__)
                reason, error = "interrupted", StreamInterruptedError()
                break
            if scope.cancelled_caught:
                # the read was abandoned at a deadline: the chunk iterator is unusable now, end here
                reason, error = self._deadline_end(idle_deadline <= hard_deadline)
                break
            try:
                events = parser.feed(chunk)
            except MalformedResponseError as exc:
                reason, error = "error", exc
                break
            for ev in events:
                if not isinstance(ev, HeartbeatEvent):
                    idle_deadline = anyio.current_time() + cfg.sse_idle_timeout
                yield ev
        # release the connection now: a caller that stops at TurnEnded never resumes this generator
        await resp.aclose()
        try:
            tail = parser.close()
        except MalformedResponseError as exc:
            tail = []
            reason, error = reason or "error", error or exc
        for ev in tail:
            yield ev
        if reason is None:
            if parser.stream_errors:
                reason = "error"
                error = AgentError(
                    f"The NemoVideo agent reported an error: {_short(parser.stream_errors[-1])}. "
                    "Check the timeline to see what was applied, then try again."
                )
            elif parser.event_count == 0:
                reason, error = "interrupted", StreamInterruptedError()
            elif parser.pending_tools:
                reason = "interrupted"
                error = StreamInterruptedError(
                    f"The connection to the NemoVideo agent closed while {parser.pending_tools[-1]} was "
                    "still running. The request was not re-sent (that could charge twice); check the "
                    "timeline to see whether the edit was applied."
                )
            else:
                reason = "closed"
        yield end(reason, error)

    # -- render ------

    async def submit_render(
        self, session_id: str, draft: dict[str, Any], *, output: dict[str, Any] | None = None
    ) -> RenderJob:
        """Submit ``draft`` for rendering with a fresh ``render_<uuid>``. On failure, retry once with a NEW id
        (never the same id). Plan (402), credits, session and invalid-draft errors are not retried."""
        if not export_ready(draft):
            raise NotExportableError()
        attempted: list[str] = []
        for attempt in range(2):
            render_id = f"render_{uuid.uuid4().hex}"
            attempted.append(render_id)
            try:
                data = await self._request(
                    "POST",
                    "/api/render/proxy/lambda",
                    endpoint="render",
                    reauth=False,
                    json_body={
                        "id": render_id,
                        "sessionId": session_id,
                        "draft": draft,
                        "output": output or {"format": "mp4", "quality": "high"},
                    },
                    session_id=session_id,
                )
            except AuthError as exc:
                if attempt == 0 and self._can_remint():
                    await self._remint(self._token)
                    continue
                raise self._final_auth_error(exc, attempt > 0) from None
            except (PlanRequiredError, NoCreditsError, SessionLostError, NotExportableError):
                raise
            except NemoError as exc:
                if attempt == 0:
                    log.info("render submit %s failed (%s); retrying once with a new id", render_id, exc.tag)
                    continue
                raise
            status = parse_render_status(data, render_id) if isinstance(data, Mapping) and data else None
            accepted_id = render_id
            if status is not None and status.id and status.id != render_id and isinstance(data, Mapping):
                accepted_id = status.id  # C2: prefer the backend's id when it names one
            log.info("render %s submitted for session %s", accepted_id, session_id)
            return RenderJob(
                id=accepted_id,
                session_id=session_id,
                status=status.status if status is not None and status.status != "unknown" else "pending",
                progress=status.progress if status is not None else None,
                attempted_ids=attempted,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    async def get_render(self, render_id: str) -> RenderStatus:
        data = await self._request(
            "GET",
            f"/api/render/proxy/lambda/{_seg(render_id, 'render id')}",
            endpoint="poll",
            idempotent=True,
        )
        return parse_render_status(data, render_id)

    async def poll_render(
        self, render_id: str, *, max_wait: float | None = None
    ) -> AsyncGenerator[RenderStatus, None]:
        """Yield each status until a terminal one (completed / failed / cancelled), with adaptive backoff
        (``render_poll_initial`` x ``render_poll_factor`` up to ``render_poll_max``). Transient poll
        errors are tolerated on the same id (up to ``render_poll_error_budget`` in a row).
        ``completed`` without an output URL keeps polling for ``render_url_grace`` s, then is yielded
        as is (download falls back to the proxy).
        Raises :class:`NemoTimeoutError` after ``max_wait`` (default ``render_timeout``)."""
        cfg = self.config
        budget = cfg.render_timeout if max_wait is None else max_wait
        start = anyio.current_time()
        delay = cfg.render_poll_initial
        errors = 0
        no_url_since: float | None = None
        while True:
            try:
                status = await self.get_render(render_id)
                errors = 0
            except _TRANSIENT_POLL_ERRORS as exc:
                errors += 1
                if errors > cfg.render_poll_error_budget:
                    raise
                log.info("render %s poll failed (%s); polling the same id again", render_id, exc.tag)
                status = None
            now = anyio.current_time()
            if status is not None:
                if status.status == "completed" and not status.output_url:
                    no_url_since = now if no_url_since is None else no_url_since
                    if now - no_url_since >= cfg.render_url_grace:
                        yield status
                        return
                else:
                    yield status
                    if status.terminal:
                        return
            elapsed = anyio.current_time() - start
            if elapsed >= budget:
                raise NemoTimeoutError(
                    f"The export {render_id} is still rendering after {_duration(budget)}. "
                    "It may still finish: check it again later."
                )
            await self._sleep(min(delay, max(0.0, budget - elapsed)))
            delay = min(delay * cfg.render_poll_factor, cfg.render_poll_max)

    async def wait_render(
        self,
        render_id: str,
        *,
        max_wait: float | None = None,
        on_status: Callable[[RenderStatus], Any] | None = None,
    ) -> RenderStatus:
        """Poll until terminal; return the completed status or raise :class:`RenderFailedError`."""
        last: RenderStatus | None = None
        async for status in self.poll_render(render_id, max_wait=max_wait):
            last = status
            await _call(on_status, status)
        assert last is not None
        if last.status == "failed":
            reason = f": {_short(last.error)}" if last.error else ""
            raise RenderFailedError(
                f"The export failed on the NemoVideo render service{reason}. Try exporting again.",
                render_id=render_id,
            )
        if last.status == "cancelled":
            raise RenderFailedError("The export was cancelled.", render_id=render_id)
        return last

    async def cancel_render(self, render_id: str) -> RenderStatus | None:
        """``POST /api/render/proxy/lambda/<id>/cancel`` (pending renders); the status if reported."""
        data = await self._request(
            "POST",
            f"/api/render/proxy/lambda/{_seg(render_id, 'render id')}/cancel",
            endpoint="other",
            idempotent=True,
        )
        if isinstance(data, Mapping) and (data.get("status") or isinstance(data.get("data"), Mapping)):
            return parse_render_status(data, render_id)
        return None

    async def download_render(
        self,
        render_id: str,
        dest: str | Path,
        *,
        output_url: str | None = None,
        expected_size: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> Path:
        """Stream the rendered file to ``dest`` (a file path, or a folder -> ``<render_id>.mp4``)
        through a temp file and an atomic rename. Tries ``output_url`` first (no API token unless it is
        on the API host), then ``/api/render/proxy/<id>/download``. Partial files are removed on failure."""
        target = await anyio.to_thread.run_sync(_prepare_target, Path(dest), str(dest), render_id)
        sources: list[str] = []
        if output_url and output_url.strip():
            url = output_url.strip()
            if url.startswith("/"):
                url = urljoin(self.config.base_url + "/", url.lstrip("/"))
            if urlsplit(url).scheme in ("http", "https"):
                sources.append(url)
        sources.append(f"{self.config.base_url}/api/render/proxy/{_seg(render_id, 'render id')}/download")
        last: NemoError | None = None
        for url in sources:
            try:
                return await self._download_one(url, target, expected_size, progress)
            except NemoError as exc:
                last = exc
                log.info("download of render %s from %s failed (%s)", render_id, _redact_url(url), exc.tag)
        assert last is not None
        if isinstance(last, (DownloadError, AuthError, PlanRequiredError)):
            raise last
        raise DownloadError(
            f"The rendered video {render_id} could not be downloaded ({last.tag}). Try the download again."
        ) from None

    def _same_origin(self, url: str) -> bool:
        return _origin(url) == _origin(self.config.base_url)

    async def _download_one(
        self,
        url: str,
        target: Path,
        expected_size: int | None,
        progress: ProgressCallback | None,
        *,
        depth: int = 0,
        reauthed: bool = False,
    ) -> Path:
        cfg = self.config
        headers: dict[str, str] = {}
        token: str | None = None
        if self._same_origin(url):
            token = await self.ensure_token()
            headers["Authorization"] = f"Bearer {token}"
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.part")
        timeout = httpx.Timeout(
            cfg.download_timeout,
            connect=cfg.connect_timeout,
            write=cfg.write_timeout,
            pool=cfg.connect_timeout,
        )
        try:
            async with self._http.stream(
                "GET", url, headers=headers, timeout=timeout, follow_redirects=True
            ) as resp:
                ctype = resp.headers.get("content-type", "").lower()
                if resp.status_code >= 300 or "json" in ctype:
                    raw = await self._read_capped(resp)
                    try:
                        payload = parse_envelope(
                            resp.status_code, raw, headers=resp.headers, endpoint="other"
                        )
                    except AuthError as exc:
                        if token is not None and not reauthed and self._can_remint():
                            await self._remint(token)
                            return await self._download_one(
                                url, target, expected_size, progress, depth=depth, reauthed=True
                            )
                        raise self._final_auth_error(exc, reauthed) from None
                    # a JSON answer that points at the file (gateway-B style {"output": {"url", "size"}})
                    nested = parse_render_status(payload, "") if isinstance(payload, Mapping) else None
                    if nested is not None and nested.output_url and depth == 0:
                        return await self._download_one(
                            nested.output_url, target, expected_size or nested.size, progress, depth=1
                        )
                    raise DownloadError("The download link returned no video file. Try the download again.")
                length_header = resp.headers.get("content-length")
                total = int(length_header) if length_header and length_header.isdigit() else None
                received = 0
                async with await anyio.open_file(tmp, "wb") as fh:
                    async for chunk in resp.aiter_bytes(1024 * 1024):
                        await fh.write(chunk)
                        received += len(chunk)
                        await _call(progress, received, total or expected_size or 0)
                if total is not None and received != total:
                    raise DownloadError(
                        f"The download stopped early ({received} of {total} bytes). Try the download again."
                    )
                if expected_size is not None and received != expected_size:
                    raise DownloadError(
                        f"The downloaded file has {received} bytes, expected {expected_size}. "
                        "Try the download again."
                    )
                if received == 0:
                    raise DownloadError("The download returned an empty file. Try the download again.")
            os.replace(tmp, target)
            log.info("downloaded %d bytes to %s", received, target)
            return target
        except httpx.HTTPError as exc:
            raise _transport_error(exc, "download") from None
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()


def _prepare_target(dest: Path, raw: str, render_id: str) -> Path:
    target = dest.expanduser()
    if target.is_dir() or raw.endswith(("/", os.sep)):
        target = target / f"{_seg(render_id, 'render id')}.mp4"
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:g} s"
    return f"{seconds / 60:.0f} min"


def _short(text: str | None, limit: int = 200) -> str:
    if not text:
        return "unknown error"
    flat = " ".join(text.split())
    from nemo_mcp.api.errors import redact

    flat = redact(flat)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _redact_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
