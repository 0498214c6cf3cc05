"""The CI tool pins and the conformance baseline stay honest."""

from __future__ import annotations

import re

from tests.packaging.helpers import ROOT, load_json

REQUIRED = (
    "server-initialize",
    "ping",
    "tools-list",
    "resources-list",
    "prompts-list",
    "dns-rebinding-protection",
    "server-sse-multiple-streams",
)


def test_node_tools_are_pinned_exactly_and_locked() -> None:
    deps = load_json(".ci/npm/package.json")["dependencies"]
    assert deps == {
        "@anthropic-ai/mcpb": "2.1.2",
        "@modelcontextprotocol/conformance": "0.1.16",
        "@modelcontextprotocol/inspector": "2.12.0",
    }
    lock = load_json(".ci/npm/package-lock.json")["packages"]
    for name, version in deps.items():
        assert lock[f"node_modules/{name}"]["version"] == version
        assert lock[f"node_modules/{name}"].get("integrity", "").startswith("sha512-")


def test_baseline_names_each_scenario_with_a_reason_and_no_required_one() -> None:
    lines = (ROOT / ".ci/conformance-baseline.yml").read_text(encoding="utf-8").splitlines()
    assert "server:" in lines
    entries = [
        (i, m.group(1)) for i, line in enumerate(lines) if (m := re.match(r"^\s+-\s+([\w-]+)\s*$", line))
    ]
    assert len(entries) >= 10
    names = [name for _, name in entries]
    assert len(names) == len(set(names))
    assert not set(names) & set(REQUIRED)
    for i, name in entries:
        # every entry sits under a comment that says why it does not apply (comments may cover a group)
        above = next(line for line in reversed(lines[:i]) if not re.match(r"^\s+-\s+[\w-]+\s*$", line))
        assert above.strip().startswith("#"), f"{name}: no reason given"


def test_ci_run_calls_the_packaging_steps_after_the_tests() -> None:
    run = (ROOT / ".ci/run").read_text(encoding="utf-8")
    order = [
        run.index(s) for s in ("./dev test", ".ci/manifests.sh", ".ci/inspector.sh", ".ci/conformance.sh")
    ]
    assert order == sorted(order)
    assert "set -euo pipefail" in run
    assert "--cov-fail-under" in run
