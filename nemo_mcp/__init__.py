"""nemo-mcp: edit video in plain language through the NemoVideo cloud from any MCP client."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nemo-mcp")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = ["__version__"]
