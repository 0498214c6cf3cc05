"""``NemoClient``: the typed async client of the NemoVideo mega-api (backend A)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from nemo_mcp.api.config import ApiConfig
from nemo_mcp.api.models import (
    Credits,
    ProjectState,
    RenderJob,
    RenderStatus,
    Session,
    TurnEvent,
    UploadedFile,
)

ProgressCallback = Callable[[int, int], Any]  # (sent_bytes, total_bytes); may be sync or async

__all__ = ["NemoClient", "ProgressCallback"]


class NemoClient:
    """One long-lived ``httpx.AsyncClient`` per instance; use ``async with NemoClient(cfg) as api:``."""

    def __init__(self, config: ApiConfig | None = None, *, transport: Any = None) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> NemoClient:
        raise NotImplementedError

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError

    # identity
    @property
    def user_id(self) -> str | None:
        raise NotImplementedError

    @property
    def anonymous(self) -> bool:
        raise NotImplementedError

    async def ensure_token(self) -> None:
        raise NotImplementedError

    def register_url(self) -> str:
        raise NotImplementedError

    # sessions, credits, state
    async def create_session(
        self, language: str | None = None, text_hint: str | None = None, *, task_name: str = "project"
    ) -> Session:
        raise NotImplementedError

    async def get_credits(self) -> Credits:
        raise NotImplementedError

    async def get_state(self, session_id: str) -> ProjectState:
        raise NotImplementedError

    async def browser_link(self, task_id: str, session_id: str) -> str:
        raise NotImplementedError

    # uploads
    async def upload_files(
        self, session_id: str, paths: Sequence[str | Path], *, progress: ProgressCallback | None = None
    ) -> list[UploadedFile]:
        raise NotImplementedError

    async def import_urls(self, session_id: str, urls: Sequence[str]) -> list[UploadedFile]:
        raise NotImplementedError

    # agent turns
    def stream_turn(self, session_id: str, text: str) -> AsyncIterator[TurnEvent]:
        raise NotImplementedError

    # render
    async def submit_render(
        self, session_id: str, draft: dict[str, Any], *, output: dict[str, Any] | None = None
    ) -> RenderJob:
        raise NotImplementedError

    async def get_render(self, render_id: str) -> RenderStatus:
        raise NotImplementedError

    def poll_render(self, render_id: str, *, max_wait: float | None = None) -> AsyncIterator[RenderStatus]:
        raise NotImplementedError

    async def wait_render(
        self,
        render_id: str,
        *,
        max_wait: float | None = None,
        on_status: Callable[[RenderStatus], Any] | None = None,
    ) -> RenderStatus:
        raise NotImplementedError

    async def cancel_render(self, render_id: str) -> RenderStatus | None:
        raise NotImplementedError

    async def download_render(
        self,
        render_id: str,
        dest: str | Path,
        *,
        output_url: str | None = None,
        expected_size: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> Path:
        raise NotImplementedError
