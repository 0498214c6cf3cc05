"""The account-link page: where a user gives nemo-mcp their NemoVideo token, in their browser, never through
the model.

``link_account`` makes a one-time code bound to the user who asked (random, 10 minutes, single use, kept
in the shared store so any worker can answer the page) and sends the user to ``<public URL>/link/<code>``
(URL-mode elicitation where the host supports it, else the link in the result). ``GET`` shows a form with
one password field; ``POST`` checks the token with NemoVideo (a credit-balance read), then keeps it
encrypted for that user (:class:`~nemo_mcp.server.hosted.vault.Vault`) and spends the code. A wrong token
leaves the code usable until it expires; an unknown, used or expired code gets the same "expired" page.
The pages send no referrer, are never cached, and allow no script.
"""

from __future__ import annotations

import html
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from nemo_mcp.api import ApiConfig, NemoClient, NemoError
from nemo_mcp.server.hosted.vault import Vault
from nemo_mcp.store import StateStore, StoredToken

__all__ = ["CODE_SECONDS", "LinkCodes", "LinkPage"]

log = logging.getLogger(__name__)

CODE_SECONDS = 600.0
CODES_TENANT = "nemo-mcp:link-codes"  # the store tenant that holds pending codes (no user's)
_CODE = "nemo-mcp:link-code:"
_MAX_TOKEN = 4096

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}


class LinkCodes:
    """One-time codes naming the tenant that asked, in the shared store's token part."""

    def __init__(self, state: StateStore) -> None:
        self.tokens = state.for_tenant(CODES_TENANT).tokens

    async def make(self, tenant: str) -> str:
        code = secrets.token_urlsafe(24)
        await self.tokens.save(
            _CODE + code, StoredToken(tenant, expires_at=time.time() + CODE_SECONDS), replacing=None
        )
        return code

    async def tenant(self, code: str) -> str | None:
        if not code or len(code) > 64:
            return None
        rec = await self.tokens.read(_CODE + code)
        if rec is None or rec.expires_at is None or time.time() > rec.expires_at:
            return None
        return rec.token

    async def spend(self, code: str, tenant: str) -> bool:
        """True for the one caller that spends it."""
        return await self.tokens.forget(_CODE + code, tenant)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    doc = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>body{{font:16px system-ui,sans-serif;max-width:34em;"
        "margin:3em auto;padding:0 1em}input{font:inherit;width:100%;padding:.4em}button{font:inherit;"
        "margin-top:1em;padding:.4em 1.2em}.err{color:#a00}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(doc, status_code=status, headers=HEADERS)


EXPIRED = (
    "<p>This link has expired or was already used. Ask your assistant to link your NemoVideo account again "
    "(<code>link_account</code>) for a new one.</p>"
)


def _form(error: str = "") -> str:
    err = f"<p class=err role=alert>{html.escape(error)}</p>" if error else ""
    return (
        "<p>Paste your NemoVideo API token (nemovideo.com &rarr; Settings &rarr; API Tokens). It is kept "
        "encrypted for your account on this server and used only for your own requests; the assistant never "
        f"sees it.</p>{err}<form method=post><label>NemoVideo token<br>"
        "<input type=password name=token autocomplete=off required maxlength=4096></label><br>"
        "<button type=submit>Link my account</button></form>"
    )


class LinkPage:
    """``GET``/``POST /link/{code}``. ``linked(tenant)`` runs after a link (the registry rebuilds the user's
    client); ``config`` is the deployment's NemoVideo client configuration (base URL, timings)."""

    def __init__(
        self,
        codes: LinkCodes,
        vault: Vault,
        state: StateStore,
        config: Callable[[], ApiConfig | None],
        linked: Callable[[str], Awaitable[None]],
    ) -> None:
        self.codes = codes
        self.vault = vault
        self.state = state
        self.config = config
        self.linked = linked

    async def __call__(self, request: Request) -> Response:
        code = str(request.path_params.get("code", ""))
        tenant = await self.codes.tenant(code)
        if tenant is None:
            return _page("Link expired", EXPIRED, 404)
        if request.method != "POST":
            return _page("Link your NemoVideo account", _form())
        form = await request.form(max_files=0, max_fields=4, max_part_size=_MAX_TOKEN * 2)
        token = str(form.get("token") or "").strip()
        if not token or len(token) > _MAX_TOKEN or any(c.isspace() or not c.isprintable() for c in token):
            return _page("Link your NemoVideo account", _form("That does not look like a token."), 400)
        config = self.config()
        if config is None:
            return _page("Not ready", "<p>The server is starting; try again in a moment.</p>", 503)
        user = await self._check(config, token)
        if isinstance(user, NemoError):
            return _page("Link your NemoVideo account", _form(user.message), 400)
        if not await self.codes.spend(code, tenant):
            return _page("Link expired", EXPIRED, 404)
        await self.vault.link(tenant, self.state.for_tenant(tenant).tokens, token, user)
        await self.linked(tenant)
        log.info("a user linked their NemoVideo account")
        return _page(
            "Linked",
            "<p>Your NemoVideo account is linked. You can close this page and go back to your assistant.</p>",
        )

    @staticmethod
    async def _check(config: ApiConfig, token: str) -> str | NemoError | None:
        """The NemoVideo user the token belongs to, once it answered a credit read; or the error."""
        try:
            async with NemoClient(config.replace(token=token, client_id=None, persist_token=False)) as api:
                await api.get_credits()
                return api.user_id
        except NemoError as exc:
            return exc
