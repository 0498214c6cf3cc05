#!/usr/bin/env bash
# MCP conformance suite (@modelcontextprotocol/conformance, server mode, the "active" scenario suite) against
# `nemo-mcp --transport http --backend local` on a free loopback port, with the expected-failures baseline
# .ci/conformance-baseline.yml (each entry says why the scenario does not apply). The runner exits non-zero on
# an unexpected failure and on a stale baseline entry (a listed scenario that passes).
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/node-tools.sh
source .ci/lib.sh

baseline=${NEMO_CONFORMANCE_BASELINE:-.ci/conformance-baseline.yml}
required=(server-initialize ping tools-list resources-list prompts-list dns-rebinding-protection server-sse-multiple-streams)
for s in "${required[@]}"; do
  if grep -Eq "^[[:space:]]*-[[:space:]]*$s[[:space:]]*(#.*)?$" "$baseline"; then
    echo "conformance: $s must pass; remove it from $baseline" >&2
    exit 1
  fi
done

work=$(mktemp -d)
trap 'stop_http_server; rm -rf "$work"' EXIT
isolate_env "$work"
start_http_server "$work/http.log"

rc=0
"$NODE" "$CONFORMANCE" server --url "$MCP_URL" --expected-failures "$baseline" -o "$work/results" \
  >"$work/conformance.log" 2>&1 || rc=$?
sed -n '/=== SUMMARY ===/,$p' "$work/conformance.log"

# Each required scenario must have run and passed every check.
"$PY" - "$work/results" "${required[@]}" <<'PYEOF' || rc=1
import json, pathlib, sys
results, required = pathlib.Path(sys.argv[1]), sys.argv[2:]
bad = []
for name in required:
    runs = sorted(results.glob(f"server-{name}-*/checks.json"))
    if not runs:
        bad.append(f"{name}: did not run")
        continue
    failed = [c["id"] for c in json.loads(runs[-1].read_text()) if c["status"] == "FAILURE"]
    if failed:
        bad.append(f"{name}: failed checks {failed}")
for line in bad:
    print(f"conformance: {line}", file=sys.stderr)
print(f"required scenarios passed: {', '.join(required)}" if not bad else "required scenarios: FAILED")
sys.exit(1 if bad else 0)
PYEOF

if [ "$rc" -ne 0 ]; then
  echo "conformance: failed (exit $rc). Full runner output:" >&2
  cat "$work/conformance.log" >&2
  for f in "$work"/results/*/checks.json; do
    "$PY" -c 'import json, sys
for c in json.load(open(sys.argv[1])):
    if c["status"] == "FAILURE":
        print(sys.argv[1].split("/")[-2], c["id"], c.get("errorMessage"), file=sys.stderr)' "$f"
  done
  echo "server log:" >&2
  tail -n 40 "$work/http.log" >&2
  exit 1
fi
echo "conformance: ok"
