"""Linking a user's own NemoVideo token: through the link page (the browser's part done with httpx), or
URL-mode elicitation on a host that supports it; the token is stored encrypted, bound to its user, and
used for that user only; codes are single use; keys rotate."""

from __future__ import annotations

import time
import uuid
from typing import Any

import anyio
import httpx
import pytest
from cryptography.fernet import Fernet
from mcp.types import ElicitRequestParams, ElicitResult

from nemo_mcp.local import LocalBackend
from nemo_mcp.server.hosted.vault import LINKED, Vault
from nemo_mcp.store.memory import MemoryStore
from tests.hosted.conftest import HostedServer

pytestmark = pytest.mark.anyio


async def own_token(backend: LocalBackend) -> tuple[str, str]:
    """A NemoVideo token of the user's own (and its user id), as they would copy it from the website."""
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.post(
            f"{backend.url}/api/auth/anonymous-token", headers={"X-Client-Id": str(uuid.uuid4())}
        )
    data = r.json()["data"]
    return data["token"], data["user_id"]


async def submit(url: str, token: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(url, data={"token": token})


async def test_link_page_flow(hosted: HostedServer, local_backend: LocalBackend) -> None:
    token, nemo_user = await own_token(local_backend)
    with anyio.fail_after(60):
        async with hosted.client("alice") as a, hosted.client("bob") as b:
            before = (await a.call_tool("check_credits", {})).structured_content
            r = await a.call_tool("link_account", {})
            url = r.structured_content["url"]  # type: ignore[index]
            assert url.startswith(f"{hosted.url}/link/")
            async with httpx.AsyncClient(timeout=10) as http:
                page = await http.get(url)
            assert page.status_code == 200
            assert "type=password name=token" in page.text
            assert page.headers["cache-control"] == "no-store"
            assert "default-src 'none'" in page.headers["content-security-policy"]
            wrong = await submit(url, "nmv_not_a_real_token")
            assert wrong.status_code == 400  # refused by NemoVideo; the code stays usable
            linked = await submit(url, token)
            assert linked.status_code == 200, linked.text
            assert "linked" in linked.text
            assert (await submit(url, token)).status_code == 404  # single use
            status = (await a.call_tool("link_account", {"action": "status"})).structured_content
            assert status["status"] == "linked"  # type: ignore[index]
            deadline = time.monotonic() + 10  # the user's client is rebuilt on the next call
            while True:
                await a.call_tool("new_project", {"title": "mine"})
                sessions = [s for s in local_backend.state.sessions.values() if s.user.user_id == nemo_user]
                if sessions or time.monotonic() > deadline:
                    break
                await anyio.sleep(0.5)
            assert sessions, "alice's calls do not use her linked token"
            assert before != (await a.call_tool("check_credits", {})).structured_content
            # bob is untouched
            assert (await b.call_tool("link_account", {"action": "status"})).structured_content[
                "status"
            ] == "not_linked"  # type: ignore[index]
            # unlink: back to her own anonymous account
            gone = await a.call_tool("link_account", {"action": "unlink"})
            assert gone.structured_content["status"] == "unlinked"  # type: ignore[index]


async def test_url_mode_elicitation_opens_the_page(hosted: HostedServer, local_backend: LocalBackend) -> None:
    token, nemo_user = await own_token(local_backend)
    asked: list[ElicitRequestParams] = []

    async def browser(context: Any, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params)
        r = await submit(params.url, token)  # type: ignore[union-attr]  # the user, in their browser
        assert r.status_code == 200
        return ElicitResult(action="accept")

    with anyio.fail_after(60):
        async with hosted.client("carol", mode="legacy", elicitation_callback=browser) as c:
            r = await c.call_tool("link_account", {})
            assert not r.is_error
            assert r.structured_content["status"] == "link_opened"  # type: ignore[index]
            assert r.structured_content["url"] is None  # type: ignore[index]  # never shown to the model
            status = (await c.call_tool("link_account", {"action": "status"})).structured_content
    assert [p.mode for p in asked] == ["url"]
    assert status["status"] == "linked"  # type: ignore[index]
    assert nemo_user


async def test_the_vault_encrypts_binds_and_rotates() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    store = MemoryStore()
    alice, bob = store.for_tenant("user:alice"), store.for_tenant("user:bob")
    await Vault([old], "srv").link("user:alice", alice.tokens, "nmv_usr_SECRET", "u1")
    sealed = (await alice.tokens.read(LINKED + "srv")).token  # type: ignore[union-attr]
    assert "nmv_usr_SECRET" not in sealed
    # a ciphertext copied under another user's key decrypts to nothing
    await bob.tokens.save(LINKED + "srv", (await alice.tokens.read(LINKED + "srv")), replacing=None)  # type: ignore[arg-type]
    assert await Vault([old], "srv").linked("user:bob", bob.tokens) is None
    # rotation: the new key first; the token is re-sealed under it when read
    ring = Vault([new, old], "srv")
    assert await ring.linked("user:alice", alice.tokens) == "nmv_usr_SECRET"
    resealed = (await alice.tokens.read(LINKED + "srv")).token  # type: ignore[union-attr]
    assert resealed != sealed
    assert await Vault([new], "srv").linked("user:alice", alice.tokens) == "nmv_usr_SECRET"  # old key dropped
    assert await Vault([Fernet.generate_key().decode()], "srv").linked("user:alice", alice.tokens) is None
    # each user's anonymous client id is made once and kept
    cid = await ring.client_id("user:bob", bob.tokens)
    assert cid == await ring.client_id("user:bob", bob.tokens)
    assert cid != await ring.client_id("user:alice", alice.tokens)
    with pytest.raises(ValueError, match="Fernet"):
        Vault(["not a key"], "srv")
