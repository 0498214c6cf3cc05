"""Shared fixtures: the anyio backend and an embedded local NemoVideo backend on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from nemo_mcp.local import Knobs, LocalBackend, run_local_backend
from tests import reporting
from tests.valkey import shared_store_url, valkey

__all__ = ["shared_store_url", "valkey"]  # fixtures: a real Valkey server (tests/valkey.py)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def local_backend(anyio_backend: str) -> AsyncIterator[LocalBackend]:
    """A fresh backend per test; deterministic knobs (no silent turns, no delays). Tweak `backend.knobs`."""
    knobs = Knobs(silent_fraction=0.0, agent_delay=0.0, heartbeat_interval=5.0)
    async with run_local_backend(knobs) as backend:
        yield backend


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    report = outcome.get_result()
    if report.when == "teardown":
        reporting.attach(report.user_properties)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    reporting.collect(report.user_properties)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    reporting.summary(terminalreporter, Path(str(config.rootpath)))
