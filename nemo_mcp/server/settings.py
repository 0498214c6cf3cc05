"""Settings of one MCP server instance (from the CLI, the environment, or a test)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from nemo_mcp.api.config import DEFAULT_API_URL
from nemo_mcp.server.jobs import DEFAULT_WAIT_SECONDS, HEARTBEAT_SECONDS, RETENTION_SECONDS, clamp_wait
from nemo_mcp.server.media_policy import MAX_UPLOAD_BYTES, download_root_from_env, media_dirs_from_env
from nemo_mcp.server.projects import default_config_dir
from nemo_mcp.server.spending import CONFIRM_TTL_SECONDS, DEFAULT_POLICY, SpendPolicy

# Disconnect recovery (docs/nemo-api.md §2.6: 30 s, then 60 s, ... 5 unchanged checks). We check faster
# at first, and stop after the same ~5 minutes.
DEFAULT_RECOVERY_INTERVALS: tuple[float, ...] = (5.0, 10.0, 15.0, 30.0, 60.0, 60.0, 60.0, 60.0)


@dataclass
class ServerSettings:
    backend: Literal["cloud", "local"] = "cloud"
    # Base URL of the NemoVideo API. None: NEMO_API_URL or the production default.
    api_url: str | None = None
    config_dir: Path = field(default_factory=default_config_dir)
    download_root: Path = field(default_factory=download_root_from_env)
    media_dirs: list[Path] = field(default_factory=media_dirs_from_env)
    # Embedded backend (backend="local"): knobs object and an optional data folder.
    local_knobs: Any = None
    local_data_dir: Path | None = None
    # Extra ApiConfig fields (tests shorten timings).
    api_overrides: dict[str, Any] = field(default_factory=dict)
    default_wait: float = DEFAULT_WAIT_SECONDS
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    recovery_intervals: tuple[float, ...] = DEFAULT_RECOVERY_INTERVALS
    # Job handles are kept in the state store this long after their last change (NEMO_JOB_RETENTION_HOURS).
    job_retention_seconds: float = RETENTION_SECONDS
    # Credits at or below this are "low" (an edit costs about 50, a generation about 100).
    low_credits: float = 50.0
    # NEMO_CONFIRM_SPEND: never | always | above:<credits> (spending.py). The default asks before every
    # generation (about 100) but not before a single edit (about 50).
    confirm_spend: str = DEFAULT_POLICY
    confirm_ttl_seconds: float = CONFIRM_TTL_SECONDS  # how long a confirmation_token lasts
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    # Local paths are read from the machine the server runs on. An HTTP server reachable from other
    # machines refuses them unless NEMO_MEDIA_DIRS names the folders it may read.
    allow_local_paths: bool = True
    env: Mapping[str, str] | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> ServerSettings:
        e = dict(os.environ if env is None else env)
        api_url = e.get("NEMO_API_URL", "").strip() or None
        backend: Literal["cloud", "local"] = "cloud"
        if api_url and api_url.lower() == "local":
            backend, api_url = "local", None
        values: dict[str, Any] = {
            "backend": backend,
            "api_url": api_url,
            "config_dir": default_config_dir(e),
            "download_root": download_root_from_env(e),
            "media_dirs": media_dirs_from_env(e),
            "job_retention_seconds": retention_from_env(e),
            "confirm_spend": str(SpendPolicy.parse(e.get("NEMO_CONFIRM_SPEND"))),
            "env": e,
        }
        values.update(overrides)
        return cls(**values)

    def wait_for(self, wait_seconds: float | None) -> float:
        """How long a call waits before answering "running" (the default, within the bounds)."""
        return clamp_wait(self.default_wait if wait_seconds is None else wait_seconds)

    @property
    def link_label(self) -> str:
        """How a browser link is introduced: the embedded backend serves a project page, not the editor."""
        if self.backend == "local":
            return "Open the project page (embedded backend)"
        return "Open in the NemoVideo editor"

    @property
    def server_key(self) -> str:
        """Which backend the current-project pointer belongs to."""
        if self.backend == "local":
            return "local"
        return (self.api_url or DEFAULT_API_URL).rstrip("/")


def retention_from_env(env: Mapping[str, str]) -> float:
    """NEMO_JOB_RETENTION_HOURS (a positive number of hours), else a day."""
    raw = env.get("NEMO_JOB_RETENTION_HOURS", "").strip()
    try:
        hours = float(raw) if raw else 0.0
    except ValueError:
        hours = 0.0
    return hours * 3600.0 if 0 < hours < 24 * 366 else RETENTION_SECONDS
