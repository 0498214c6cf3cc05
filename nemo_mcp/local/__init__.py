"""Embedded NemoVideo-compatible backend (Starlette + uvicorn + FFmpeg). Imports neither nemo_mcp.api nor mcp.

async with run_local_backend(Knobs(silent_fraction=0)) as backend:
    ...  # talk to backend.url over HTTP; tweak backend.knobs; read backend.stats
"""

from nemo_mcp.local.backend import LocalBackend
from nemo_mcp.local.knobs import Knobs
from nemo_mcp.local.server import run_local_backend

__all__ = ["Knobs", "LocalBackend", "run_local_backend"]
