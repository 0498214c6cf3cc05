"""FFmpeg work the MCP server does itself, in cloud mode as in local mode: frames grabbed from (remote)
media with seeking, contact sheets with time labels, small preview MP4s, and a size-bounded file cache.

Imports no `mcp`, nothing of `nemo_mcp.api`, `nemo_mcp.server` or `nemo_mcp.local`: it takes URLs or
paths and times, and gives files and bytes back.
"""
