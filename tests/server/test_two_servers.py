"""Two `nemo-mcp` console-script servers on one HOME (as Claude Desktop and Cursor start them), against one
embedded backend in this process, with the faults injected through its knobs: they mint one token, a
refused token is replaced once and the other server picks the new one up, a 429 answered by a token
another process saved is no failure, and projects created at once are all kept."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from nemo_mcp.local import LocalBackend
from nemo_mcp.store import StoredToken, open_store
from tests.server.conftest import Session

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(
        not (Path(sys.executable).parent / "nemo-mcp").exists(),
        reason="the console script is not installed: pip install -e .",
    ),
]

SCRIPT = Path(sys.executable).parent / "nemo-mcp"
MINT = "/api/auth/anonymous-token"


def mints(backend: LocalBackend) -> int:
    return backend.stats.requests[MINT]


@asynccontextmanager
async def server(home: Path, backend: LocalBackend) -> AsyncIterator[Session]:
    """One stdio server process; its log (stderr, INFO) is appended to home/servers.log."""
    env = {
        "HOME": str(home),
        "NEMO_API_URL": backend.url,
        "NEMO_DOWNLOAD_DIR": str(home / "dl"),
        "NEMO_LOG_LEVEL": "INFO",
    }
    params = StdioServerParameters(command=str(SCRIPT), args=[], env=env)
    with (home / "servers.log").open("a") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            yield Session(client)


@asynccontextmanager
async def two_servers(home: Path, backend: LocalBackend) -> AsyncIterator[tuple[Session, Session]]:
    async with AsyncExitStack() as stack:
        a, b = [await stack.enter_async_context(server(home, backend)) for _ in range(2)]
        yield a, b


async def both(*calls: object) -> list[object]:
    out: list[object] = [None] * len(calls)

    async def run(i: int, call: object) -> None:
        out[i] = await call  # type: ignore[misc]

    async with anyio.create_task_group() as tg:
        for i, call in enumerate(calls):
            tg.start_soon(run, i, call)
    return out


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


async def test_two_servers_starting_together_mint_one_token(home: Path, local_backend: LocalBackend) -> None:
    local_backend.knobs.ip_token_cap = 1  # a second token would be refused (429)
    with anyio.fail_after(40):
        async with two_servers(home, local_backend) as (a, b):
            first, second = await both(a.ok("check_credits"), b.ok("check_credits"))
    assert mints(local_backend) == 1
    assert first.data["available"] == second.data["available"] == 100  # type: ignore[attr-defined]
    assert (home / ".config" / "nemovideo" / "state.db").exists()


async def test_a_refused_token_is_replaced_once_and_the_other_server_picks_it_up(
    home: Path, local_backend: LocalBackend
) -> None:
    # Every token this test needs, and not one more: a needless mint gets a 429 (the old lockout).
    local_backend.knobs.ip_token_cap = 3
    with anyio.fail_after(60):
        async with two_servers(home, local_backend) as (a, b):
            await a.ok("check_credits")
            await b.ok("check_credits")  # reads the token a saved
            assert mints(local_backend) == 1
            local_backend.expire_tokens()
            await a.ok("check_credits")  # refused: a forgets ITS token and mints the second
            assert mints(local_backend) == 2
            await b.ok("check_credits")  # refused: b finds a's new token instead of deleting it
            assert mints(local_backend) == 2
            local_backend.expire_tokens()
            await both(a.ok("check_credits"), b.ok("check_credits"))  # both refused at once: one mint
            assert mints(local_backend) == 3
        async with server(home, local_backend) as c:  # a restart on this HOME is not locked out
            await c.ok("check_credits")
    assert mints(local_backend) == 3
    log = (home / "servers.log").read_text()
    assert "another nemo-mcp process saved" in log
    assert "nmv_usr_" not in log


async def test_a_429_while_another_process_holds_a_fresh_token_reads_it(
    home: Path, local_backend: LocalBackend
) -> None:
    cfg = home / ".config" / "nemovideo"
    with anyio.fail_after(60):
        async with server(home, local_backend) as b:
            await b.ok("check_credits")  # mints T1
            local_backend.expire_tokens()
            # Another process (this test) gets T2 for the same client id: the backend now refuses any
            # other token for this client, and the store still holds the refused T1.
            client_id = (cfg / "client_id").read_text().strip()
            async with httpx.AsyncClient(base_url=local_backend.url) as http:
                answer = await http.post(MINT, headers={"X-Client-Id": client_id})
            t2 = answer.json()["data"]["token"]

            async def save_t2_once_b_is_refused() -> None:
                while mints(local_backend) < 3:  # T1, T2, then b's request, answered 429
                    await anyio.sleep(0.05)
                store = open_store(cfg)
                assert await store.tokens.save(local_backend.url, StoredToken(t2), replacing=None)
                await store.aclose()

            async with anyio.create_task_group() as tg:
                tg.start_soon(save_t2_once_b_is_refused)
                started = anyio.current_time()
                await b.ok("check_credits")  # 401 -> mint -> 429 -> T2 read from the store, no failure
                assert anyio.current_time() - started < 10  # well inside the 30 s it would otherwise wait
    assert mints(local_backend) == 3  # no retry after the 429
    assert local_backend.stats.last_headers.get("authorization", "").startswith("Bearer")


async def test_two_servers_creating_projects_at_once_lose_none(
    home: Path, local_backend: LocalBackend
) -> None:
    with anyio.fail_after(90):
        async with two_servers(home, local_backend) as (a, b):
            await a.ok("check_credits")  # one token first (the minting race is the tests above)
            calls = [s.ok("new_project", {"title": f"p{i}"}) for i in range(15) for s in (a, b)]
            await both(*calls)
            listed = await a.ok("list_projects")
            seen_by_b = await b.ok("list_projects")
    titles = sorted(p["title"] for p in listed.data["projects"])
    assert titles == sorted(f"p{i}" for i in range(15) for _ in range(2))
    assert len(seen_by_b.data["projects"]) == 30
