#!/usr/bin/env bash
# bench/auth/bench.sh - auth benchmarks on loopback.
#
#   1. password sign-in latency: N sequential POST /token?grant_type=password
#      (curl, keep-alive off), p50/p90 of time_total.  Dominated by scrypt.
#   2. token refresh throughput: wrk with bench/auth/refresh.lua.  S sessions
#      are made first (anonymous sign-ups, no scrypt); each wrk connection
#      refreshes with the newest token of a session and feeds the rotated
#      token back, so every refresh is a real rotation (read token, revoke
#      it, insert the child, sign a JWT) and no token is used twice.
#
# Usage: bench/auth/bench.sh [BASALT_BIN]   (env: DURATION=10s THREADS=2
#        CONNS=64 SIGNINS=30)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-${BASALT_BIN:-$ROOT/build/basalt}}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
SIGNINS=${SIGNINS:-30}
# DURABILITY=full|normal (normal: fsync at checkpoints, like most BaaS defaults)
PORT=${PORT:-$((20000 + RANDOM % 20000))}
DATA=$(mktemp -d /tmp/basalt-bench-auth.XXXXXX)
URL=http://127.0.0.1:$PORT
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$DATA"; }
trap cleanup EXIT

"$BIN" serve --port "$PORT" --data "$DATA" --durability "${DURABILITY:-normal}" --log-level info \
  --rate-signin 1000000 --rate-refresh 1000000 --max-connections-per-ip 0 >"$DATA/server.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -fs "$URL/health" >/dev/null 2>&1 && break; sleep 0.1; done
ANON=$("$BIN" keys --data "$DATA" --json | jq -r .anon)
H=(-H "apikey: $ANON" -H "Authorization: Bearer $ANON" -H "Content-Type: application/json")

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== scrypt parameters: $(grep -o 'scrypt ln=[0-9]* r=[0-9]* p=[0-9]*' "$DATA/server.log" || echo unknown)"

curl -fs "${H[@]}" -X POST "$URL/auth/v1/signup" -d '{"email":"bench@example.com","password":"bench-password-1"}' >/dev/null
: >"$DATA/signin.txt"
for _ in $(seq "$SIGNINS"); do
  curl -fs -o /dev/null -w '%{time_total}\n' "${H[@]}" -X POST "$URL/auth/v1/token?grant_type=password" \
    -d '{"email":"bench@example.com","password":"bench-password-1"}' >>"$DATA/signin.txt"
done
sort -n "$DATA/signin.txt" | awk '{a[NR]=$1} END {printf "password sign-in latency (n=%d): p50 %.1f ms, p90 %.1f ms, min %.1f ms\n", NR, a[int(NR*0.5)+1]*1000, a[int(NR*0.9)]*1000, a[1]*1000}'

# sessions for the refresh run
: >"$DATA/tokens.txt"
for _ in $(seq $((CONNS * 2))); do
  curl -fs "${H[@]}" -X POST "$URL/auth/v1/signup" -d '{"data":{}}' | jq -r .refresh_token >>"$DATA/tokens.txt"
done
echo "sessions: $(wc -l <"$DATA/tokens.txt")"
TOKENS_FILE="$DATA/tokens.txt" APIKEY="$ANON" WRK_THREADS="$THREADS" \
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -s "$ROOT/bench/auth/refresh.lua" "$URL" | grep -E "refreshes/s|Non-2xx|Socket"
