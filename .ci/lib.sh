# shellcheck shell=bash
# Source me (from the repository root). Helpers shared by the CI steps that run the MCP server.
#   isolate_env DIR        point every per-user folder the server and the Node tools use into DIR
#   start_http_server LOG  start `nemo-mcp --transport http --backend local` on a free loopback port;
#                          sets SERVER_PID and MCP_URL (http://127.0.0.1:PORT/mcp), waits for /health
#   stop_http_server       stop it (by its PID) and wait for it
VENV=${NEMO_VENV:-.venv}
PY=$VENV/bin/python
NEMO_MCP=$VENV/bin/nemo-mcp

isolate_env() {
  local dir=$1
  mkdir -p "$dir/config" "$dir/downloads" "$dir/inspector"
  export XDG_CONFIG_HOME=$dir/config NEMO_DOWNLOAD_DIR=$dir/downloads
  export MCP_CATALOG_PATH=$dir/inspector/mcp.json MCP_CLIENT_CONFIG_PATH=$dir/inspector/client.json
  export MCP_INSPECTOR_SECRET_STORE=memory  # CI has no OS keychain; nothing secret is stored anyway
  unset NEMO_TOKEN NEMO_API_URL NEMO_WEB_URL NEMO_MEDIA_DIRS NEMO_CLIENT_ID SKILL_SOURCE NEMO_MCP_AUTH_TOKEN
}

start_http_server() {
  local log=$1 port attempt
  for attempt in 1 2 3; do
    port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    "$NEMO_MCP" --transport http --backend local --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
    SERVER_PID=$!
    MCP_URL=http://127.0.0.1:$port/mcp
    if "$PY" - "$port" "$SERVER_PID" <<'PYEOF'
import os, sys, time, urllib.request
port, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(3)  # the server exited (e.g. the port was taken meanwhile)
    time.sleep(0.2)
sys.exit(2)
PYEOF
    then
      echo "nemo-mcp (pid $SERVER_PID) serving $MCP_URL" >&2
      return 0
    fi
    stop_http_server
    echo "nemo-mcp did not come up on port $port (attempt $attempt); its log:" >&2
    tail -n 30 "$log" >&2 || true
  done
  return 1
}

stop_http_server() {
  if [ -n "${SERVER_PID:-}" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
