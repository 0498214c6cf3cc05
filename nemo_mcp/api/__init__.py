"""Typed async client of the NemoVideo mega-api. Imports no ``mcp`` and nothing from ``nemo_mcp.local``.

```python
from nemo_mcp.api import ApiConfig, NemoClient

async with NemoClient(ApiConfig.from_env()) as api:
    session = await api.create_session(text_hint="make a city timelapse")
    async for event in api.stream_turn(session.session_id, "make a 10 s city timelapse"):
        ...
```
"""

from nemo_mcp.api.client import NemoClient, ProgressCallback
from nemo_mcp.api.config import ApiConfig, Attribution
from nemo_mcp.api.errors import (
    AuthError,
    BackendError,
    BackendUnreachableError,
    BadRenderUrlError,
    BadRequestError,
    ConfigError,
    DiskFullError,
    DownloadError,
    DownloadIncompleteError,
    DownloadTooLargeError,
    FileStalledError,
    FileTooLargeError,
    MalformedResponseError,
    MediaNotFoundError,
    MissingClientIdError,
    NemoError,
    NemoTimeoutError,
    NoCreditsError,
    NotExportableError,
    NotFoundError,
    PlanRequiredError,
    RateLimitedError,
    RenderFailedError,
    ServerError,
    SessionLostError,
    StreamInterruptedError,
    TransientError,
    UnsupportedFileError,
)
from nemo_mcp.api.media import MediaFile
from nemo_mcp.api.models import (
    Credits,
    HeartbeatEvent,
    ProjectState,
    RenderJob,
    RenderStatus,
    Session,
    StreamErrorEvent,
    StreamEvent,
    TextEvent,
    ToolCallEvent,
    ToolResultEvent,
    TurnEnded,
    TurnEvent,
    UploadedFile,
)
from nemo_mcp.api.timeline import Change, Segment, Timeline, Track, diff, export_ready

__all__ = [
    "ApiConfig",
    "Attribution",
    "AuthError",
    "BackendError",
    "BackendUnreachableError",
    "BadRenderUrlError",
    "BadRequestError",
    "Change",
    "ConfigError",
    "Credits",
    "DiskFullError",
    "DownloadError",
    "DownloadIncompleteError",
    "DownloadTooLargeError",
    "FileStalledError",
    "FileTooLargeError",
    "HeartbeatEvent",
    "MalformedResponseError",
    "MediaFile",
    "MediaNotFoundError",
    "MissingClientIdError",
    "NemoClient",
    "NemoError",
    "NemoTimeoutError",
    "NoCreditsError",
    "NotExportableError",
    "NotFoundError",
    "PlanRequiredError",
    "ProgressCallback",
    "ProjectState",
    "RateLimitedError",
    "RenderFailedError",
    "RenderJob",
    "RenderStatus",
    "Segment",
    "ServerError",
    "Session",
    "SessionLostError",
    "StreamErrorEvent",
    "StreamEvent",
    "StreamInterruptedError",
    "TextEvent",
    "Timeline",
    "ToolCallEvent",
    "ToolResultEvent",
    "Track",
    "TransientError",
    "TurnEnded",
    "TurnEvent",
    "UnsupportedFileError",
    "UploadedFile",
    "diff",
    "export_ready",
]
