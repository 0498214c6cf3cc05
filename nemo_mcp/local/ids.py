"""Fresh identifiers in the shapes NemoVideo hands out (docs/nemo-api.md §9.1)."""

from __future__ import annotations

import secrets
import string

_ALNUM = string.ascii_letters + string.digits


def rand(n: int, alphabet: str = _ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def user_id() -> str:
    return f"anon_{rand(12).lower()}"


def api_token() -> str:
    return "nmv_usr_" + secrets.token_urlsafe(30)[:40]


def claim_token() -> str:
    return "clm_" + rand(32)


def session_id() -> str:
    return str(secrets.randbelow(9 * 10**18) + 10**18)  # 19-digit numeric, snowflake-like


def task_id() -> str:
    return f"task_{rand(16).lower()}"
