"""`NemoService`: the workflows of one server, composed once per lifespan.

Tools reach behaviour through it the way anthropic-sdk-python hangs `client.messages` off one client:
`service.exports.export_video(...)`, `service.edits.edit_video(...)`. Each workflow is a plain class that
takes its dependencies in `__init__`; nothing here knows about MCP.
"""

from __future__ import annotations

from typing import Any

from nemo_mcp.api import ApiConfig, NemoClient
from nemo_mcp.server.confirm_tokens import ConfirmationTokens
from nemo_mcp.server.jobs import JobManager
from nemo_mcp.server.projects import ProjectStore
from nemo_mcp.server.settings import ServerSettings
from nemo_mcp.server.spending import PriceSource, Quotes, Spending, SpendPolicy, cloud_prices
from nemo_mcp.server.workflows.approvals import Approvals
from nemo_mcp.server.workflows.edits import Edits
from nemo_mcp.server.workflows.exports import Exports
from nemo_mcp.server.workflows.frames import Frames
from nemo_mcp.server.workflows.handles import Handles
from nemo_mcp.server.workflows.projects import Projects
from nemo_mcp.server.workflows.reads import Reads
from nemo_mcp.server.workflows.restored import Restored
from nemo_mcp.server.workflows.review import Review
from nemo_mcp.server.workflows.turns import Turns
from nemo_mcp.server.workflows.uploads import Uploads


class NemoService:
    def __init__(
        self,
        api: NemoClient,
        jobs: JobManager,
        store: ProjectStore,
        settings: ServerSettings,
        prices: PriceSource = cloud_prices,
    ) -> None:
        self.api = api
        self.settings = settings
        self.projects = Projects(api, store, jobs, settings)
        self.approvals = Approvals(spending_of(settings, prices), self.projects)
        self.reads = Reads(api, self.projects, jobs, settings)
        self.uploads = Uploads(api, self.projects, jobs, settings)
        self.turns = Turns(api, self.projects, settings)
        self.exports = Exports(api, self.projects, jobs, settings)
        self.edits = Edits(
            self.projects, self.reads, self.uploads, self.turns, self.exports, self.approvals, jobs, settings
        )
        self.jobs = Handles(api, jobs, settings, Restored(api, jobs, self.projects, self.exports, settings))
        self.frames = Frames(api, self.projects, jobs, settings)
        self.review = Review(api, self.projects, self.reads, self.frames, jobs, settings)


def spending_of(settings: ServerSettings, prices: PriceSource) -> Spending:
    """The spending policy (NEMO_CONFIRM_SPEND), quotes at `prices`, tokens signed in the config folder."""
    return Spending(
        policy=SpendPolicy.parse(settings.confirm_spend),
        quotes=Quotes(prices),
        tokens=ConfirmationTokens(settings.config_dir, settings.confirm_ttl_seconds),
    )


def build_api_config(settings: ServerSettings, base_url: str | None) -> ApiConfig:
    overrides: dict[str, Any] = dict(settings.api_overrides)
    if base_url:
        overrides["base_url"] = base_url
    overrides.setdefault("config_dir", settings.config_dir)
    if settings.backend == "local":
        overrides.setdefault("persist_token", False)
        if base_url:
            # The embedded backend serves its own claim and register pages; nemovideo.com knows
            # nothing of local tokens, so links to it would be dead ends.
            overrides.setdefault("web_url", base_url)
    env = dict(settings.env) if settings.env is not None else None
    if env is not None and env.get("NEMO_API_URL", "").strip().lower() == "local":
        env.pop("NEMO_API_URL")
    return ApiConfig.from_env(env, **overrides)
