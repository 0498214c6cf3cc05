"""SKILL.md: the frontmatter the API client reads at run time, and a body that teaches the tools."""

from __future__ import annotations

import re
from importlib.metadata import version

from nemo_mcp.api.config import parse_frontmatter
from tests.packaging.helpers import ROOT, TOOLS, frontmatter, load_json, pyproject_version

TEXT = (ROOT / "SKILL.md").read_text(encoding="utf-8")


def test_frontmatter_name_and_version_match_the_package() -> None:
    meta, _ = frontmatter(TEXT)
    assert meta["name"] == "from-video-openapi"
    assert meta["version"] == pyproject_version() == version("nemo-mcp")
    assert meta["description"]


def test_the_client_parser_reads_the_same_attribution() -> None:
    meta = parse_frontmatter(TEXT)
    assert meta["name"] == "from-video-openapi"
    assert meta["version"] == pyproject_version()


def test_openclaw_metadata() -> None:
    head = TEXT.split("\n---", 2)[0]
    assert re.search(r"^  openclaw:\n    requires:\n      env: \[\]$", head, re.MULTILINE)
    assert re.search(r"^    primaryEnv: NEMO_TOKEN$", head, re.MULTILINE)
    assert re.search(r'^    configPaths:\n      - "~/.config/nemovideo/"$', head, re.MULTILINE)


def test_body_teaches_every_tool_and_no_raw_http() -> None:
    _, body = frontmatter(TEXT)
    manifest_tools = [t["name"] for t in load_json("manifest/manifest.json")["tools"]]
    for tool in {*TOOLS, *manifest_tools}:
        assert f"`{tool}" in body, tool
    assert "curl " not in body.replace("no curl", "")
    assert "mega-api" not in body
    assert "/run_sse" not in body
    for tag in ("no_credits", "plan_required", "turn_running", "unsupported_file", "file_too_large"):
        assert f"[{tag}]" in body, tag
    assert "job_id" in body
    assert "get_job" in body
    assert "402" in body
    assert "2001" in body
