"""HTTP routes of the local backend, one module per area; each exposes `routes()`.

`nemo_mcp.local.app.create_app` assembles them. Handlers reach the backend's data only through
`context.state_of(request)`. This package file imports nothing, so importing one area never loads the others.
"""
