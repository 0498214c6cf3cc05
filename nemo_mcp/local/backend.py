"""`LocalBackend`: one backend instance as tests and the MCP server see it, a thin facade over its
`BackendState` (`state`), its app (`app`), and the fault helpers tests call directly."""

from __future__ import annotations

import shutil
from pathlib import Path

from nemo_mcp.local import background, controls, render
from nemo_mcp.local.app import create_app
from nemo_mcp.local.knobs import Knobs
from nemo_mcp.local.state import BackendState, RenderJob, Stats


class LocalBackend:
    """`url`, `knobs` and `stats` are the test-facing surface; `state` holds everything else."""

    def __init__(self, knobs: Knobs | None = None, data_dir: Path | None = None) -> None:
        self.state = BackendState(knobs or Knobs(), Path(data_dir or ".").resolve())
        self.url = ""  # set by run_local_backend once the port is bound
        self.app = create_app(self.state)

    @property
    def knobs(self) -> Knobs:
        return self.state.knobs

    @property
    def data_dir(self) -> Path:
        return self.state.data_dir

    @property
    def stats(self) -> Stats:
        return self.state.stats  # a property: a reset replaces the Stats object

    @property
    def renders(self) -> dict[str, RenderJob]:
        return self.state.renders

    # faults usable directly from tests
    def expire_tokens(self) -> None:
        controls.expire_tokens(self.state)

    def lose_session(self, session_id: str = "*") -> None:
        controls.lose_session(self.state, session_id)

    def exhaust_credits(self) -> None:
        controls.exhaust_credits(self.state)

    async def close(self) -> None:
        """Cancel running turns and renders; killed render FFmpeg processes are waited for (bounded)."""
        await background.cancel_all(self.state)
        for job in list(self.state.renders.values()):
            await render.reap(job)

    def remove_data(self) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)
