"""The transport every resource of :class:`~nemo_mcp.api.NemoClient` is given in its ``__init__``.

- one shared ``httpx.AsyncClient`` (base URL, ``User-Agent`` and attribution headers, timeouts, no
  redirects), created on first use with its SSL context built in a worker thread (constructing a client
  costs nothing, so a server can list its tools first), closed by :meth:`Transport.aclose`;
- :meth:`Transport.request`: one logical JSON call. Unwraps the envelope into the payload or a typed
  error; retries idempotent calls on connection errors, timeouts, 5xx and 429 (jittered exponential
  backoff, ``Retry-After`` honoured up to ``retry_after_cap``); re-authenticates once on an auth refusal;
- :attr:`Transport.auth`: the token and user identity (:class:`~nemo_mcp.api.client._auth.Auth`), which
  decides which bearer token is sent and what happens when it is refused.
"""

from __future__ import annotations

import inspect
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote

import anyio
import httpx

from nemo_mcp.api.client._auth import Auth
from nemo_mcp.api.config import ApiConfig
from nemo_mcp.api.envelope import Endpoint, parse_envelope
from nemo_mcp.api.errors import (
    AuthError,
    BackendUnreachableError,
    BadRequestError,
    MalformedResponseError,
    NemoError,
    NemoTimeoutError,
    RateLimitedError,
    ServerError,
    TransientError,
)
from nemo_mcp.api.identity import TokenStore

__all__ = [
    "APP",
    "ProgressCallback",
    "Transport",
    "notify",
    "path_segment",
    "transport_error",
    "unanswered",
]

log = logging.getLogger("nemo_mcp.api")

ProgressCallback = Callable[[int, int], Any]  # (sent_bytes, total_bytes); may be sync or async

#: the backend's app name, in paths and in the ``/run_sse`` body
APP = "nemo_agent"
#: connections to the backend open at once, and kept open idle (keep-alive) between bursts
MAX_CONNECTIONS = 32
#: how much of an error body (or a JSON answer instead of a stream or a file) is read
MAX_ERROR_BODY = 256 * 1024


async def notify(fn: Callable[..., Any] | None, *args: Any) -> None:
    """Call a sync or async progress/status callback; what it raises is logged, never propagated."""
    if fn is None:
        return
    try:
        result = fn(*args)
        if inspect.isawaitable(result):
            await result
    except Exception:  # a progress callback must never break the transfer
        log.debug("progress callback raised", exc_info=True)


def path_segment(value: str, what: str) -> str:
    """A path segment from an id, percent-encoded; rejects empty ids."""
    if not isinstance(value, str) or not value.strip():
        raise BadRequestError(f"A {what} is required.")
    return quote(value.strip(), safe="")


def transport_error(exc: Exception, what: str) -> NemoError:
    """The typed error for an ``httpx`` failure (no response)."""
    if isinstance(exc, httpx.TimeoutException):
        return NemoTimeoutError(
            f"The NemoVideo backend did not answer in time ({what}). Try again in a moment."
        )
    return BackendUnreachableError()


#: failures after the request went out: the backend may have applied it, but its answer was lost
_ANSWER_LOST = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)
#: how the requests that change something are named in messages
_ACTION: dict[str, str] = {
    "upload": "upload",
    "session": "new-project request",
    "claim": "browser-link request",
    "render": "export request",
}


def unanswered(err: NemoError, endpoint: Endpoint, advice: str) -> NemoError:
    """``err`` reworded for a request that may have been applied although its answer was lost: say so and
    what to check (``advice``) instead of only "try again". Tag, status and code are kept."""
    what = _ACTION.get(endpoint, "request")
    if isinstance(err, NemoTimeoutError):
        lead = f"NemoVideo did not answer the {what} in time"
    elif isinstance(err, MalformedResponseError):
        lead = f"NemoVideo's answer to the {what} could not be read"
    elif isinstance(err, ServerError):
        lead = f"The NemoVideo gateway timed out waiting for the {what}"
    else:
        lead = f"The connection dropped before NemoVideo answered the {what}"
    out = err.reworded(f"{lead}, so it may have been applied anyway. {advice}")
    out.outcome_unknown = True
    return out


class Transport:
    """HTTP to the backend for one :class:`~nemo_mcp.api.NemoClient`: one long-lived ``httpx.AsyncClient``
    (created on first use), the request core and the credentials. ``http_transport`` lets tests plug in
    respx or an ASGI app; normal use leaves it None."""

    def __init__(
        self,
        config: ApiConfig | None = None,
        *,
        http_transport: httpx.AsyncBaseTransport | None = None,
        tokens: TokenStore | None = None,
    ) -> None:
        #: replaceable (``client.config = client.config.replace(...)``): read it at each use, never keep it
        self.config = config if config is not None else ApiConfig.from_env()
        self.attribution = self.config.attribution()
        #: created on first use (see :meth:`client`): building httpx's verifying SSL context (the certifi
        #: bundle, ~35-80 ms) must not delay a server's start-up before it can list its tools
        self._http_client: httpx.AsyncClient | None = None
        self._http_transport = http_transport
        self._closed = False
        #: every deliberate wait (retry backoff, rate-limit wait, poll interval); tests hook it
        self.sleep: Callable[[float], Awaitable[None]] = anyio.sleep
        #: the clock of render polling (elapsed time, progress rate); tests hook it with ``sleep``
        self.clock: Callable[[], float] = anyio.current_time
        #: the token and user identity; it sends its own token requests through this transport
        self.auth = Auth(self, tokens)

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            if self._http_client is not None:
                await self._http_client.aclose()
            await self.auth.aclose()

    # -- the shared httpx client ------

    def _new_client(self, verify: ssl.SSLContext | bool) -> httpx.AsyncClient:
        cfg = self.config
        from nemo_mcp import __version__

        return httpx.AsyncClient(
            base_url=cfg.base_url,
            headers={"User-Agent": f"nemo-mcp/{__version__}", **self.attribution.headers()},
            timeout=self.timeout(cfg.request_timeout),
            # keep as many idle connections as may be open: with fewer (httpx's default pattern, 8 of 32), a
            # burst of concurrent calls (parallel tool calls, several sessions of an HTTP server) closes
            # all but 8 of its connections afterwards and pays new TCP (and TLS) handshakes on the next one
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS),
            follow_redirects=False,
            verify=verify,
            transport=self._http_transport,
        )

    async def client(self) -> httpx.AsyncClient:
        """The one shared ``httpx.AsyncClient``, created on first use with its SSL context built in a worker
        thread (the event loop keeps serving meanwhile). Raises once the client is closed."""
        if self._http_client is None:
            if self._closed:
                raise BackendUnreachableError("The NemoVideo client is closed.")
            verify: ssl.SSLContext | bool = True
            if self._http_transport is None:
                verify = await anyio.to_thread.run_sync(httpx.create_ssl_context)
            if self._http_client is None:  # another task may have finished first: keep one client
                if self._closed:
                    raise BackendUnreachableError("The NemoVideo client is closed.")
                self._http_client = self._new_client(verify)
        return self._http_client

    @property
    def _http(self) -> httpx.AsyncClient:
        """The shared client, created here (synchronously) if no request has created it yet."""
        if self._http_client is None:
            if self._closed:
                raise BackendUnreachableError("The NemoVideo client is closed.")
            self._http_client = self._new_client(True)
        return self._http_client

    # -- helpers ------

    def timeout(self, read: float, *, write: float | None = None) -> httpx.Timeout:
        """``read`` with the configured connect/pool timeouts; ``write`` defaults to ``write_timeout``."""
        cfg = self.config
        return httpx.Timeout(
            read,
            connect=cfg.connect_timeout,
            write=cfg.write_timeout if write is None else write,
            pool=cfg.connect_timeout,
        )

    async def read_capped(self, resp: httpx.Response) -> bytes:
        """At most about ``MAX_ERROR_BODY`` bytes of a streamed response; a read error ends it early."""
        buf = bytearray()
        try:
            async for chunk in resp.aiter_bytes():
                buf += chunk
                if len(buf) > MAX_ERROR_BODY:
                    break
        except httpx.HTTPError:
            pass
        return bytes(buf)

    # -- the request core ------

    def _retry_delay(self, err: NemoError, attempt: int, retry_rate_limit: bool) -> float | None:
        cfg = self.config
        if attempt >= cfg.max_retries or not isinstance(err, TransientError):
            return None
        if isinstance(err, RateLimitedError) and not retry_rate_limit:
            return None  # the caller handles 429 itself (the anonymous-token call)
        if err.retry_after is not None:
            return err.retry_after if err.retry_after <= cfg.retry_after_cap else None
        backoff = min(cfg.retry_base_delay * (2.0**attempt), cfg.retry_max_delay)
        return backoff * (1.0 - 0.25 * random.random())  # noqa: S311 - jitter, not crypto

    async def request(
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
        if_unanswered: str | None = None,
    ) -> Any:
        """Send one logical request; return the unwrapped payload or raise a typed error.

        ``if_unanswered``: for a request that changes something, what to check when it may have been
        applied but its answer was lost; the final error then says so (see :func:`unanswered`)."""
        if self._closed:
            raise BackendUnreachableError("The NemoVideo client is closed.")
        attempt = 0
        reauthed = False
        while True:
            hdrs = dict(headers or {})
            token: str | None = None
            if auth:
                token = await self.auth.ensure_token()
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
                resp = await (await self.client()).request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                err = transport_error(exc, endpoint)
                lost = isinstance(exc, _ANSWER_LOST)
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
                    if auth and reauth and not reauthed and self.auth.can_remint():
                        reauthed = True
                        await self.auth.remint(token)
                        continue
                    raise self.auth.final_error(exc, reauthed) from None
                except NemoError as exc:
                    err = self.auth.enrich(exc)
                    lost = isinstance(err, MalformedResponseError) or (
                        isinstance(err, ServerError) and err.status == 504
                    )
            delay = self._retry_delay(err, attempt, retry_rate_limit) if idempotent else None
            if delay is None:
                raise unanswered(err, endpoint, if_unanswered) if lost and if_unanswered else err
            attempt += 1
            log.info("%s %s: %s; retry %d in %.2f s", method, path, err.tag, attempt, delay)
            await self.sleep(delay)
