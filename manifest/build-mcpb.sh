#!/usr/bin/env bash
# Pack nemo-mcp into an MCP Bundle (.mcpb) for one-click install in Claude Desktop.
#
#   manifest/build-mcpb.sh [OUT.mcpb]        default: dist/nemo-mcp-<version>.mcpb
#
# The bundle is server type "uv": it ships manifest.json, pyproject.toml, README.md, SKILL.md, the nemo_mcp
# sources and the launcher server/main.py, and no dependencies; the host installs those with uv from the
# bundled pyproject.toml. The mcpb CLI (@anthropic-ai/mcpb, pinned in .ci/npm) comes from .ci/node-tools.sh
# unless $NODE and $MCPB already point at it. The manifest is validated before packing, and its version
# must equal the package version in pyproject.toml.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ -z "${MCPB:-}" ] || [ -z "${NODE:-}" ]; then
  # shellcheck source=../.ci/node-tools.sh
  source .ci/node-tools.sh
fi

py=${PYTHON:-python3}
version=$("$py" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
manifest_version=$("$py" -c 'import json; print(json.load(open("manifest/manifest.json"))["version"])')
if [ "$version" != "$manifest_version" ]; then
  echo "build-mcpb: manifest/manifest.json has version $manifest_version, pyproject.toml has $version" >&2
  exit 1
fi

out=${1:-dist/nemo-mcp-$version.mcpb}
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp manifest/manifest.json pyproject.toml README.md SKILL.md "$stage/"
mkdir -p "$stage/server"
cp manifest/bundle/server/main.py "$stage/server/main.py"
tar --exclude='__pycache__' --exclude='*.pyc' -cf - nemo_mcp | tar -xf - -C "$stage"
# `uv run` builds the project from pyproject.toml; keep local build and venv folders out of the bundle.
printf '%s\n' '.venv/' 'dist/' 'build/' '*.egg-info/' > "$stage/.mcpbignore"

"$NODE" "$MCPB" validate "$stage/manifest.json" >&2
"$NODE" "$MCPB" pack "$stage" "$out" >&2
# The registry's `mcpb` package entry (server.json) needs the file's SHA-256 once it is published.
echo "sha256: $("$py" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$out")" >&2
echo "$out"
