#!/usr/bin/env bash
# Render the example brief end to end: start `ragnarok serve` on free ports with its
# data under ./data, submit examples/seed_brief.json, follow it to the finished MP4,
# print where the file is, and stop the server on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

python=.venv/bin/python
data_dir=${RAGNAROK_DEMO_DATA_DIR:-./data/demo}
mkdir -p "$data_dir"
ready_file=$(mktemp -u "${TMPDIR:-/tmp}/ragnarok-demo-ready.XXXXXX")
log_file="$data_dir/server.log"

"$python" -m server serve --grpc-port 0 --http-port 0 --data-dir "$data_dir" --ready-file "$ready_file" \
  >"$log_file" 2>&1 &
server_pid=$!

stop_server() {
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"
    wait "$server_pid" || true
  fi
  rm -f "$ready_file"
}
trap stop_server EXIT

for _ in $(seq 1 600); do
  [[ -s $ready_file ]] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "The server exited during start-up; its log follows:" >&2
    cat "$log_file" >&2
    exit 1
  fi
  sleep 0.1
done
if [[ ! -s $ready_file ]]; then
  echo "The server was not ready after 60 s; see $log_file" >&2
  exit 1
fi

read -r grpc_port http_port < <("$python" -c \
  'import json, sys; ready = json.load(open(sys.argv[1])); print(ready["grpc_port"], ready["http_port"])' "$ready_file")
echo "Ragnarok is serving gRPC on 127.0.0.1:$grpc_port and HTTP on http://127.0.0.1:$http_port (log: $log_file)"

mapfile -t brief_args < <("$python" -c '
import json, sys
brief = json.load(open(sys.argv[1]))
for flag, key in (("--brief", "brief"), ("--industry", "industry"), ("--duration", "duration_seconds"),
                  ("--platform", "platform"), ("--style", "style"), ("--voice-style", "voice_style")):
    print(flag)
    print(brief[key])
' examples/seed_brief.json)

# No --gateway-url: the server stops when this script ends, so a download link would be dead.
"$python" -m server generate "${brief_args[@]}" --server "127.0.0.1:$grpc_port" \
  --data-dir "$data_dir" --wait
