"""Paths and loaders shared by the packaging tests."""

from __future__ import annotations

import importlib.util
import json
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TOOLS = [
    "upload_media",
    "edit_video",
    "get_timeline",
    "check_credits",
    "export_video",
    "get_job",
    "cancel_job",
    "new_project",
    "list_projects",
]


def pyproject_version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"])


def load_json(rel: str) -> Any:
    return json.loads((ROOT / rel).read_text(encoding="utf-8"))


def load_module(rel: str, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / rel)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def frontmatter(text: str) -> tuple[dict[str, str], str]:
    """Top-level `key: value` lines of SKILL.md's frontmatter, and the body after it."""
    lines = text.splitlines()
    assert lines[0] == "---", "SKILL.md must start with a YAML frontmatter block"
    end = lines.index("---", 1)
    meta: dict[str, str] = {}
    for line in lines[1:end]:
        if line and not line[0].isspace() and ":" in line:
            key, _, value = line.partition(":")
            meta[key.strip()] = value.strip().strip("\"'")
    return meta, "\n".join(lines[end + 1 :])
