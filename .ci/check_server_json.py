"""Validate manifest/server.json for the MCP Registry, offline.

1. JSON Schema (draft-07) validation against manifest/schema/server.schema.json, our own statement of the
   documented 2025-12-11 constraints (see its README: the registry's schema file cannot be fetched offline),
   with format checks.
2. What that schema cannot say but the registry and this project require: the `$schema` URL of that
   version, camelCase keys (snake_case was dropped in 2025-09-16), versions equal to pyproject.toml, a
   pypi package run with uvx over stdio, secret env vars flagged, and the `mcp-name:` marker in README.md
   (PyPI ownership check).

usage: python .ci/check_server_json.py [ROOT]          exit 0 when valid, 1 with one line per problem
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_URL = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
SECRETS = {"NEMO_TOKEN"}


def snake_keys(node: Any, path: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}/{key}"
            if key == "_meta":
                continue  # vendor metadata: reverse-DNS keys, free-form values
            if "_" in key.strip("_$"):
                found.append(here)
            found += snake_keys(value, here)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found += snake_keys(item, f"{path}/{i}")
    return found


def check(root: Path) -> list[str]:
    problems: list[str] = []
    schema = json.loads((root / "manifest/schema/server.schema.json").read_text(encoding="utf-8"))
    doc = json.loads((root / "manifest/server.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in err.absolute_path) or "(top)"
        problems.append(f"schema: {where}: {err.message}")

    if doc.get("$schema") != SCHEMA_URL:
        problems.append(f"$schema must be {SCHEMA_URL}")
    problems += [f"snake_case key (use camelCase): {p}" for p in snake_keys(doc)]

    version = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    if doc.get("version") != version:
        problems.append(f"version {doc.get('version')!r} != pyproject version {version!r}")
    pypi = [p for p in doc.get("packages", []) if p.get("registryType") == "pypi"]
    if len(pypi) != 1:
        problems.append("expected exactly one pypi package")
    for pkg in pypi:
        if pkg.get("identifier") != "nemo-mcp":
            problems.append("pypi package identifier must be nemo-mcp")
        if pkg.get("version") != version:
            problems.append(f"pypi package version {pkg.get('version')!r} != {version!r}")
        if pkg.get("runtimeHint") != "uvx":
            problems.append("pypi package runtimeHint must be uvx")
        if pkg.get("transport") != {"type": "stdio"}:
            problems.append("pypi package transport must be stdio")
        env = {e.get("name"): e for e in pkg.get("environmentVariables", [])}
        for name in SECRETS:
            if not env.get(name, {}).get("isSecret"):
                problems.append(f"environment variable {name} must be declared with isSecret: true")

    readme = (root / "README.md").read_text(encoding="utf-8")
    marker = re.search(r"mcp-name:\s*(\S+?)\s*(?:-->|$)", readme, re.MULTILINE)
    if not marker or marker.group(1) != doc.get("name"):
        problems.append(f"README.md must contain 'mcp-name: {doc.get('name')}' (PyPI ownership check)")
    return problems


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
    problems = check(root)
    for p in problems:
        print(f"server.json: {p}", file=sys.stderr)
    if not problems:
        print("server.json: valid (schema 2025-12-11, camelCase, versions, pypi/uvx/stdio, mcp-name)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
