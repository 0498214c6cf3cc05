"""Hardening suite fixtures (shared with tests/server) and the fault-matrix report.

Fault-matrix tests record one row per (fault, tool) cell with `record_cell(...)`; the soak test records its
figures with `record_figures(...)`. The records travel with each test's report (`user_properties`), so the
table is built where the reports arrive, also when pytest-xdist runs the tests in worker processes (the root
conftest does it, `tests/reporting.py`): written to `<rootdir>/.pytest_cache/nemo-fault-matrix.md` and printed
in the terminal summary, so CI output shows it without `-s`.
"""

from __future__ import annotations

from tests.reporting import record_cell, record_figures
from tests.server.conftest import _media_dir, clip, nemo, settings  # noqa: F401  (fixtures)

__all__ = ["record_cell", "record_figures"]
