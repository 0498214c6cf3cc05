"""The nemovideo.com web links the client hands out; each is built here and nowhere else."""

from __future__ import annotations

from urllib.parse import quote

__all__ = ["claim_url", "register_url"]


def register_url(web_url: str, user_id: str | None, *, anonymous: bool) -> str:
    """``<web_url>/register?bind=<user id>``: the registration page that keeps an anonymous user's work.

    ``bind`` carries the anonymous user id, percent-encoded; it is left out when the id is unknown (None or
    blank) or the user is not anonymous (a registered account has nothing to bind)."""
    url = f"{web_url.rstrip('/')}/register"
    if anonymous and user_id and user_id.strip():
        url += f"?bind={quote(user_id.strip(), safe='')}"
    return url


def claim_url(web_url: str, claim_token: str) -> str:
    """``<web_url>/workspace/claim?ct=<claim token>``: opens a project in the browser. The API token never
    goes into a URL; the claim token is a separate short-lived one."""
    return f"{web_url.rstrip('/')}/workspace/claim?ct={quote(claim_token.strip(), safe='')}"
