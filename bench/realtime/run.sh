#!/usr/bin/env bash
# run.sh - start basalt with a raised fd limit, create the "bench"
# collection, run rt_load against the main port or the lws port.
#   bench/realtime/run.sh BUILD_DIR main|lws CONNS [INSERTS] [RATE] [THREADS]
# RT_THREADS=N sets --realtime-threads for the lws listener (default: per CPU).
# Bounded: rt_load stops after 120 s; the server is stopped at the end.
set -euo pipefail
BUILD=${1:?build dir}; MODE=${2:?main|lws}; CONNS=${3:?connections}; INSERTS=${4:-0}; RATE=${5:-5}
THREADS=${6:-64}
DATA=$(mktemp -d /tmp/basalt-rtbench-XXXX)
PORT=$((20000 + RANDOM % 10000)); RTPORT=$((PORT + 1))
ulimit -Hn 1048576 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
# every connection comes from this host: no per-address cap; on the main
# port every WebSocket holds a worker, so all but 16 workers may hold one
MAIN_WS=$((THREADS > 32 ? THREADS - 16 : THREADS / 2))
ARGS=(serve --port "$PORT" --data "$DATA" --threads "$THREADS" --realtime-max-connections 1000000
      --max-connections-per-ip 0 --main-websockets "$MAIN_WS" --durability normal --log-level warn)
[ "$MODE" = lws ] && ARGS+=(--realtime-port "$RTPORT" --realtime-threads "${RT_THREADS:-0}")
"$BUILD/basalt" "${ARGS[@]}" > "$DATA/server.log" 2>&1 &
SPID=$!
trap 'kill $SPID 2>/dev/null; wait $SPID 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
KEY=$("$BUILD/basalt" keys --data "$DATA" --json | sed 's/.*"service_role":"\([^"]*\)".*/\1/')
curl -sf -X POST "http://127.0.0.1:$PORT/admin/v1/collections" -H "apikey: $KEY" -H "Authorization: Bearer $KEY" \
     -H 'Content-Type: application/json' -d '{"name":"bench"}' >/dev/null
WSPORT=$PORT; [ "$MODE" = lws ] && WSPORT=$RTPORT
echo "mode=$MODE conns=$CONNS inserts=$INSERTS rate=$RATE threads=$THREADS rt_threads=${RT_THREADS:-0 (per CPU)}"
"$BUILD/rt_load" --port "$WSPORT" --http-port "$PORT" --key "$KEY" --conns "$CONNS" --pid "$SPID" \
    --inserts "$INSERTS" --rate "$RATE" --sources ${SOURCES:-32} --timeout ${RT_TIMEOUT:-60}
grep -E "ERROR|WARN" "$DATA/server.log" | sort | uniq -c | head -5 || true
