"""MCP Apps (the `io.modelcontextprotocol/ui` extension): the review player `ui://nemo/review`, a
self-contained HTML page shipped as package data, and the app-only tools it calls."""
