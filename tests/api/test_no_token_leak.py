"""The API token never appears in a log record (any level, any logger, httpx/httpcore included), an exception
message, a repr, or a URL; the token file is 0600."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from nemo_mcp.api import ApiConfig, NemoClient, NemoError, TurnEnded
from nemo_mcp.local import LocalBackend

pytestmark = pytest.mark.anyio


def leaks(token: str, records: list[logging.LogRecord]) -> list[str]:
    found = []
    for rec in records:
        text = " ".join(
            [rec.getMessage(), repr(rec.args), rec.exc_text or "", str(rec.__dict__.get("request", ""))]
        )
        if token in text or token[8:] in text:
            found.append(f"{rec.name}:{rec.levelname}:{rec.getMessage()[:120]}")
    return found


async def test_no_log_record_contains_the_token(
    local_backend: LocalBackend,
    make_config: Callable[..., ApiConfig],
    config_dir: Path,
    media: dict[str, Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "nemo_mcp", "nemo_mcp.api", "anyio", "asyncio"):
        caplog.set_level(logging.DEBUG, logger=name)
    errors: list[NemoError] = []
    async with NemoClient(make_config(local_backend.url)) as api:
        session = await api.create_session()
        await api.upload_files(session.session_id, [media["clip"]])
        ended = [e async for e in api.stream_turn(session.session_id, "add a title 'Leak check'")][-1]
        assert isinstance(ended, TurnEnded)
        state = await api.get_state(session.session_id)
        job = await api.submit_render(session.session_id, state.draft)
        final = await api.wait_render(job.id)
        await api.download_render(job.id, tmp_path / "o.mp4", output_url=final.output_url)
        await api.browser_link(session.task_id, session.session_id)
        # faults: token expiry (re-mint), session loss, a rejected env-style token
        local_backend.knobs.expire_tokens = True
        await api.get_credits()
        local_backend.lose_session(session.session_id)
        try:
            await api.get_state(session.session_id)
        except NemoError as exc:
            errors.append(exc)
        ended = [e async for e in api.stream_turn(session.session_id, "hello")][-1]
        assert isinstance(ended, TurnEnded)
        assert ended.error is not None
        errors.append(ended.error)
        token = api._transport.auth.token
        assert token is not None
        assert token.startswith("nmv_usr_")
        seen_reprs = [
            repr(api),
            repr(api.config),
            repr(session),
            repr(state),
            repr(ended),
            ended.model_dump_json(),
        ]
    async with NemoClient(make_config(local_backend.url, token="nmv_usr_ENVTOKENabcdef123456")) as bad:
        try:
            await bad.get_credits()
        except NemoError as exc:
            errors.append(exc)

    assert caplog.records, "logging was captured"
    assert any(r.name.startswith("httpx") or r.name.startswith("httpcore") for r in caplog.records)
    assert leaks(token, caplog.records) == []
    assert leaks("nmv_usr_ENVTOKENabcdef123456", caplog.records) == []
    for err in errors:
        for text in (str(err), repr(err), err.detail or "", err.tagged()):
            assert token not in text
            assert "ENVTOKEN" not in text
    for text in seen_reprs:
        assert token not in text
    # the token travelled in headers only, never in a URL the backend saw
    assert all(token not in path for path in local_backend.stats.requests)
    store_file = config_dir / "state.db"
    assert stat.S_IMODE(os.stat(store_file).st_mode) == 0o600
    # it is persisted (0600) in the state store, so restarts reuse it
    assert token.encode() in b"".join(p.read_bytes() for p in config_dir.glob("state.db*"))
