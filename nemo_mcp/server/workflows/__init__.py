"""What the tools do, as plain classes that take their dependencies in `__init__` (composed in
`nemo_mcp.server.service`): projects, reads (timeline, credits), uploads, agent turns, exports, edit
routing and job handles. They return result models and raise `ToolFailure` or the api's `NemoError`."""
