#!/usr/bin/env bash
# Packaging checks with the ecosystem's own validators:
#   mcpb validate manifest/manifest.json                 (@anthropic-ai/mcpb, MCPB manifest 0.4 schema)
#   manifest/server.json against the 2025-12-11 constraints (our schema in manifest/schema; .ci/check_server_json.py)
#   manifest/build-mcpb.sh packs a .mcpb                 (then its contents are checked)
#   the unpacked bundle builds from its own pyproject.toml and its entry point serves tools/list over
#   stdio (pip stands in for the host's uv; the MCP Inspector CLI is the client)
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/node-tools.sh
source .ci/lib.sh
ROOT_PY=$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")

echo "-- mcpb validate manifest/manifest.json"
"$NODE" "$MCPB" validate manifest/manifest.json

echo "-- server.json against the MCP Registry schema 2025-12-11"
"$PY" .ci/check_server_json.py

echo "-- pack the bundle"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bundle=$(manifest/build-mcpb.sh "$work/nemo-mcp.mcpb" 2>"$work/pack.log") || { cat "$work/pack.log" >&2; exit 1; }
"$PY" - "$bundle" <<'PYEOF'
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = set(z.namelist())
need = {"manifest.json", "pyproject.toml", "README.md", "SKILL.md", "server/main.py",
        "nemo_mcp/__init__.py", "nemo_mcp/cli.py", "nemo_mcp/server/app.py", "nemo_mcp/api/__init__.py"}
missing = sorted(need - names)
assert not missing, f"bundle lacks {missing}"
junk = sorted(n for n in names if "__pycache__" in n or n.endswith(".pyc") or n.startswith((".venv/", "tests/")))
assert not junk, f"bundle carries {junk[:5]}"
m = json.loads(z.read("manifest.json"))
assert m["server"]["type"] == "uv" and m["server"]["entry_point"] in names
size = sum(i.file_size for i in z.infolist())
print(f"   {len(names)} files, {size // 1024} KiB unpacked; server type uv, entry point {m['server']['entry_point']}")
PYEOF
echo "-- the unpacked bundle builds and serves (server/main.py --media-dirs ...)"
"$PY" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$bundle" "$work/bundle"
"$PY" -m pip install --quiet --no-deps --target "$work/site" "$work/bundle" >"$work/pip.log" 2>&1 \
  || { cat "$work/pip.log" >&2; exit 1; }
mkdir -p "$work/home/media"
(
  isolate_env "$work/home"
  cd "$work/home"  # not the source tree: only the bundle's own copy of nemo_mcp can be imported
  "$NODE" "$INSPECTOR" --cli --stored-auth-only --format json --method tools/list \
    -e PYTHONPATH="$work/site" -e NEMO_API_URL=local -e 'NEMO_TOKEN=${user_config.nemo_token}' \
    "$ROOT_PY" "$work/bundle/server/main.py" --media-dirs "$work/home/media" >"$work/tools.json" 2>"$work/tools.err"
) || { cat "$work/tools.err" >&2; exit 1; }
"$PY" -c 'import json, sys; t = json.load(open(sys.argv[1]))["result"]["tools"]; m = [x["name"] for x in json.load(open(sys.argv[2]))["tools"]]; assert [x["name"] for x in t] == m, t; print(f"   {len(t)} tools listed by the bundle entry point")' "$work/tools.json" manifest/manifest.json
echo "manifests: ok"
