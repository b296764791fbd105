#!/usr/bin/env bash
# /functions/v1/hello requests/s against a bare civetweb hello (bench/hello)
# in the same run: wrk -t2 -c32 -d5s, three rounds each, medians, ratio.
#   bench/functions/http.sh BUILD_DIR
set -euo pipefail
BUILD=${1:-build-release}
cmake --build "$BUILD" --target basalt bench_hello -j2 >/dev/null
data=$(mktemp -d)
hp=18601; bp=18602
"$BUILD/bench_hello" $hp 64 >/dev/null 2>&1 & hello_pid=$!
"$BUILD/basalt" serve --port $bp --data "$data" --functions-dir "$BUILD/functions/examples" \
  --durability normal --log-level warn --max-connections-per-ip 0 >/dev/null 2>&1 & basalt_pid=$!
trap 'kill $hello_pid $basalt_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$data"' EXIT
sleep 1.5
key=$("$BUILD/basalt" keys --data "$data" --json | sed 's/.*"anon":"\([^"]*\)".*/\1/')
rps() { wrk -t2 -c32 -d5s "$@" | awk '/Requests\/sec/ {print $2}'; }
med() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
h=(); f=()
for i in 1 2 3; do
  h+=("$(rps "http://127.0.0.1:$hp/hello")")
  f+=("$(rps -H "apikey: $key" "http://127.0.0.1:$bp/functions/v1/hello")")
done
mh=$(med "${h[@]}"); mf=$(med "${f[@]}")
echo "civetweb hello:        ${h[*]}  median $mh req/s"
echo "/functions/v1/hello:   ${f[*]}  median $mf req/s"
awk -v a="$mf" -v b="$mh" 'BEGIN {printf "ratio %.2f (target >= 0.80)\n", a / b}'
