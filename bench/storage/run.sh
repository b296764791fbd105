#!/bin/sh
# bench/storage/run.sh - storage upload/download throughput against the
# static civetweb ceiling, and the server's peak RSS during a 1 GiB upload.
#
#   bench/storage/run.sh [BUILD_DIR]        (default: build)
#
# For each size (100 MiB, 1 GiB) and each server, 3 runs of: upload with
# curl (raw body, --data-binary from a file), download with curl to
# /dev/null.  Prints the median MB/s of each and the ratio Basalt/static.
# The server's VmHWM (/proc/PID/status) is read before and after the first
# 1 GiB upload: the growth is what one streamed upload costs.
# Everything runs on 127.0.0.1; the data lives in a temp dir removed at exit.
set -eu

BUILD=${1:-build}
BIN=$BUILD/basalt
STATIC=$BUILD/bench_static_civetweb
RUNS=${RUNS:-3}
[ -x "$BIN" ] || { echo "no $BIN (build first)"; exit 1; }
[ -x "$STATIC" ] || { echo "no $STATIC (build first)"; exit 1; }

WORK=$(mktemp -d /tmp/basalt-bench-storage.XXXXXX)
BPID=""; SPID=""
cleanup() {
  [ -n "$BPID" ] && kill "$BPID" 2>/dev/null && wait "$BPID" 2>/dev/null || true
  [ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mkdir -p "$WORK/data" "$WORK/static/files" "$WORK/src"
head -c $((100 * 1024 * 1024)) /dev/urandom > "$WORK/src/100m.bin"
# 1 GiB: ten copies of the 100 MiB block plus the rest, no extra RAM needed
( for i in 1 2 3 4 5 6 7 8 9 10; do cat "$WORK/src/100m.bin"; done; head -c $((1024 * 1024 * 1024 - 1000 * 1024 * 1024)) /dev/urandom ) > "$WORK/src/1g.bin"
cp "$WORK/src/100m.bin" "$WORK/src/1g.bin" "$WORK/static/files/"

BPORT=$(free_port)
"$BIN" serve --port "$BPORT" --listen 127.0.0.1 --data "$WORK/data" --max-connections-per-ip 0 --log-level warn >"$WORK/basalt.log" 2>&1 &
BPID=$!
SPORT=$(free_port)
"$STATIC" "$SPORT" "$WORK/static" >"$WORK/static.log" 2>&1 &
SPID=$!
for i in $(seq 100); do
  curl -sf "http://127.0.0.1:$BPORT/health" >/dev/null 2>&1 && break
  sleep 0.1
done
KEY=$("$BIN" keys --data "$WORK/data" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["service_role"])')
AUTH="-H apikey:$KEY -H Authorization:Bearer.$KEY"
curl -sf -X POST "http://127.0.0.1:$BPORT/storage/v1/bucket" -H "apikey: $KEY" -H "Authorization: Bearer $KEY" \
  -H 'Content-Type: application/json' -d '{"id":"bench","name":"bench"}' >/dev/null

hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

# time_curl ARGS... -> prints seconds
time_curl() { curl -s -o /dev/null -w '%{time_total}\n' "$@"; }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

mbps() { awk -v b="$1" -v t="$2" 'BEGIN {printf "%.0f", b / t / 1048576}'; }

report() { # label bytes basalt_times_file static_times_file
  b=$(median < "$3"); s=$(median < "$4")
  bm=$(mbps "$2" "$b"); sm=$(mbps "$2" "$s")
  printf '%-22s basalt %6s MiB/s   static civetweb %6s MiB/s   ratio %s\n' "$1" "$bm" "$sm" \
    "$(awk -v a="$bm" -v b="$sm" 'BEGIN {printf "%.2f", a / b}')"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); runs: $RUNS (median)"
for f in 100m 1g; do
  bytes=$(stat -c %s "$WORK/src/$f.bin")
  : > "$WORK/bu.$f"; : > "$WORK/su.$f"; : > "$WORK/bd.$f"; : > "$WORK/sd.$f"
  for r in $(seq "$RUNS"); do
    if [ "$f" = 1g ] && [ "$r" = 1 ]; then h0=$(hwm "$BPID"); fi
    time_curl -X POST -H "apikey: $KEY" -H "Authorization: Bearer $KEY" -H 'x-upsert: true' -H 'Expect:' \
      -H 'Content-Type: application/octet-stream' -T "$WORK/src/$f.bin" \
      "http://127.0.0.1:$BPORT/storage/v1/object/bench/$f.bin" >> "$WORK/bu.$f"
    if [ "$f" = 1g ] && [ "$r" = 1 ]; then h1=$(hwm "$BPID"); fi
    time_curl -X PUT -H "Expect:" -T "$WORK/src/$f.bin" "http://127.0.0.1:$SPORT/upload/$f.up" >> "$WORK/su.$f"
    time_curl -H "apikey: $KEY" -H "Authorization: Bearer $KEY" "http://127.0.0.1:$BPORT/storage/v1/object/bench/$f.bin" >> "$WORK/bd.$f"
    time_curl "http://127.0.0.1:$SPORT/files/$f.bin" >> "$WORK/sd.$f"
  done
  report "upload $f" "$bytes" "$WORK/bu.$f" "$WORK/su.$f"
  report "download $f" "$bytes" "$WORK/bd.$f" "$WORK/sd.$f"
done
# integrity of the last download
got=$(curl -s -H "apikey: $KEY" -H "Authorization: Bearer $KEY" "http://127.0.0.1:$BPORT/storage/v1/object/bench/1g.bin" | sha256sum | cut -c1-64)
want=$(sha256sum "$WORK/src/1g.bin" | cut -c1-64)
[ "$got" = "$want" ] && echo "1 GiB download sha256 matches" || echo "1 GiB download sha256 MISMATCH"
echo "server VmHWM before the first 1 GiB upload: $((h0 / 1024)) MiB, after: $((h1 / 1024)) MiB, growth: $(((h1 - h0) / 1024)) MiB (target <= 32)"
