"""Fixtures of the API-client tests: isolated config folders, fast timings, a client on the local backend."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from nemo_mcp.api import ApiConfig, NemoClient
from nemo_mcp.local import LocalBackend

#: timings small enough for tests; the production defaults are in ApiConfig
FAST: dict[str, Any] = {
    "connect_timeout": 2.0,
    "request_timeout": 20.0,
    "retry_base_delay": 0.01,
    "retry_max_delay": 0.05,
    "retry_after_cap": 2.0,
    "rate_limit_retry_delay": 0.1,
    "render_poll_initial": 0.05,
    "render_poll_factor": 1.5,
    "render_poll_max": 0.25,
    "render_url_grace": 0.4,
    "render_timeout": 30.0,
    "sse_read_timeout": 60.0,
    "sse_idle_timeout": 30.0,
}

ENV_KEYS = ("NEMO_TOKEN", "NEMO_CLIENT_ID", "NEMO_API_URL", "NEMO_WEB_URL", "SKILL_SOURCE", "XDG_CONFIG_HOME")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return tmp_path / "config" / "nemovideo"


@pytest.fixture
def make_config(config_dir: Path) -> Callable[..., ApiConfig]:
    def make(base_url: str = "http://nemo.test", **kw: Any) -> ApiConfig:
        values = {**FAST, "config_dir": config_dir, **kw}
        return ApiConfig.from_env(env={}, base_url=base_url, **values)

    return make


@pytest.fixture
async def api(
    local_backend: LocalBackend, make_config: Callable[..., ApiConfig]
) -> AsyncIterator[NemoClient]:
    async with NemoClient(make_config(local_backend.url)) as client:
        yield client


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tests.media import make_audio, make_image, make_video

    folder = tmp_path_factory.mktemp("api-media")
    return {
        "clip": make_video(folder / "clip.mp4", 3, 320, 180),
        "clip2": make_video(folder / "second.mp4", 2, 320, 180, audio=False),
        "audio": make_audio(folder / "music.m4a", 3),
        "image": make_image(folder / "still.png"),
    }
