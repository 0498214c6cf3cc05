"""nemo-mcp benchmarks: each figure against a baseline measured in the same run (see bench/README.md).

Run through `bench/run` (`python -m bench`). Layout:

  __main__.py     the command line: choose figures, run them within the budget, print, save, README
  harness.py      temp folder, processes (started and stopped by handle), the shared local backend,
                  MCP clients over stdio, test clips (nemo_mcp.local.clips), CPU and RSS probes
  stats.py        medians, percentiles, rotated rounds, pair ratios and their spread
  report.py       Figure/Spec, the machine description, the table, the results JSON, the README block
  figures/        one module per figure: cold_start, tool_call, upload, sse, export, http, result_text
  bare_server.py  the baseline MCP server (one echo tool); sse_server.py the SSE stream server
"""
