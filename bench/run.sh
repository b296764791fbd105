#!/usr/bin/env bash
# Foundation benchmarks (issue: /rest/v1 throughput), all in one run so the
# numbers compare as ratios on a shared, noisy machine.
#   bench/run.sh BUILD_DIR            (make bench calls it with build-release)
# Env: RUNS (3), DURATION (10s), CONNS (64), DOCS (100000).
# Prints a markdown table; raw wrk output goes to bench/results/.
set -euo pipefail
BUILD=${1:-build-release}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
DOCS=${DOCS:-100000}
here=$(cd "$(dirname "$0")" && pwd)
out=$here/results
mkdir -p "$out"
ulimit -n 65536 2>/dev/null || true

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# RSS split: anonymous (heap, stacks) vs file-backed (the database mapped by
# every reader connection: shared page cache, counted once per mapping)
rss_split() { awk '/RssAnon/ {a=$2} /RssFile/ {f=$2} END {printf "anon %.1f MB, file-backed %.1f MB", a/1024, f/1024}' "/proc/$1/status"; }

data=$(mktemp -d)
hp=$(free_port)
bp=$(free_port)
cleanup() { kill "$hello_pid" "$basalt_pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT

"$BUILD/bench_hello" "$hp" 64 >/dev/null 2>&1 &
hello_pid=$!
"$BUILD/basalt" serve --port "$bp" --data "$data" --listen 127.0.0.1 --max-connections-per-ip 0 --log-level warn >"$out/server.log" 2>&1 &
basalt_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$bp/health" >/dev/null && break; sleep 0.1; done
idle_rss=$(rss_kb "$basalt_pid")
idle_split=$(rss_split "$basalt_pid")
KEY=$("$BUILD/basalt" keys --data "$data" --json | python3 -c 'import json,sys;print(json.load(sys.stdin)["service_role"])')
export BENCH_KEY=$KEY
api() { curl -sf -H "apikey: $KEY" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "$@"; }

# Collections: todos (indexed on owner_id), todos_noix (same rows, no index), inserts (empty).
api -X POST "http://127.0.0.1:$bp/admin/v1/collections" -d '{"name":"todos","indexes":[{"fields":["owner_id"]}]}' >/dev/null
api -X POST "http://127.0.0.1:$bp/admin/v1/collections" -d '{"name":"todos_noix"}' >/dev/null
api -X POST "http://127.0.0.1:$bp/admin/v1/collections" -d '{"name":"inserts"}' >/dev/null
echo "loading $DOCS documents..." >&2
python3 - "$bp" "$KEY" "$DOCS" "$data/ids.txt" <<'PY'
import json, sys, urllib.request
port, key, n, idfile = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
ids = []
for coll in ("todos", "todos_noix"):
    for start in range(0, n, 2000):
        docs = [{"id": "t%06d" % i, "title": "todo %d" % i, "owner_id": "u%d" % (i % 1000 + 1),
                 "done": i % 3 == 0, "rank": i} for i in range(start, min(n, start + 2000))]
        req = urllib.request.Request("http://127.0.0.1:%s/rest/v1/%s" % (port, coll), data=json.dumps(docs).encode(),
            headers={"apikey": key, "Authorization": "Bearer " + key, "Content-Type": "application/json"}, method="POST")
        urllib.request.urlopen(req).read()
        if coll == "todos":
            ids.extend(d["id"] for d in docs)
open(idfile, "w").write("\n".join(ids) + "\n")
PY
export BENCH_IDS=$data/ids.txt

run_wrk() { # name url [script] [coll]
  local name=$1 url=$2 script=${3:-} coll=${4:-}
  for r in $(seq "$RUNS"); do
    if [ -n "$script" ]; then
      BENCH_COLL=$coll wrk -t2 -c"$CONNS" -d"$DURATION" --latency -s "$here/lua/$script" "$url" >"$out/$name.$r.txt" 2>&1
    else
      wrk -t2 -c"$CONNS" -d"$DURATION" --latency "$url" >"$out/$name.$r.txt" 2>&1
    fi
  done
}

run_wrk hello "http://127.0.0.1:$hp/hello"
run_wrk point_read "http://127.0.0.1:$bp" point_read.lua todos
run_wrk filtered_indexed "http://127.0.0.1:$bp" filtered.lua todos
run_wrk filtered_noindex "http://127.0.0.1:$bp" filtered.lua todos_noix
run_wrk insert "http://127.0.0.1:$bp" insert.lua inserts
inserted=$(api "http://127.0.0.1:$bp/rest/v1/inserts?select=id&limit=1" -H 'Prefer: count=exact' -o /dev/null -D - | awk -F/ 'tolower($0) ~ /^content-range/ {print $2}' | tr -d '\r')
busy_rss=$(rss_kb "$basalt_pid")
busy_split=$(rss_split "$basalt_pid")

python3 - "$out" "$RUNS" "$idle_rss" "$busy_rss" "$inserted" "$CONNS" "$DURATION" "$DOCS" "$idle_split" "$busy_split" <<'PY'
import re, statistics, sys, os
out, runs, idle, busy, inserted, conns, dur, docs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7], sys.argv[8]
idle_split, busy_split = sys.argv[9], sys.argv[10]
def unit(v, u):
    return float(v) * {"us": 1e-3, "ms": 1, "s": 1000}[u]
def parse(path):
    t = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    lat = dict(re.findall(r"\s+(50|99)%\s+([\d.]+\w+)", t))
    def ms(s):
        m = re.match(r"([\d.]+)(us|ms|s)", s); return unit(m.group(1), m.group(2))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    errs = re.search(r"Socket errors: (.*)", t)
    return rps, ms(lat["50"]), ms(lat["99"]), int(non2xx.group(1)) if non2xx else 0, errs.group(1) if errs else ""
rows = {}
for name in ["hello", "point_read", "filtered_indexed", "filtered_noindex", "insert"]:
    vals = [parse(os.path.join(out, "%s.%d.txt" % (name, r))) for r in range(1, runs + 1)]
    rows[name] = (statistics.median(v[0] for v in vals), statistics.median(v[1] for v in vals),
                  statistics.median(v[2] for v in vals), sum(v[3] for v in vals), "; ".join(v[4] for v in vals if v[4]))
ceil = rows["hello"][0]
print("| benchmark | req/s (median of %d) | p50 ms | p99 ms | ratio to ceiling | non-2xx |" % runs)
print("|---|---|---|---|---|---|")
for name, (rps, p50, p99, bad, errs) in rows.items():
    print("| %s | %.0f | %.2f | %.2f | %.2f | %d%s |" % (name, rps, p50, p99, rps / ceil, bad, (" (" + errs + ")") if errs else ""))
print()
print("wrk -t2 -c%s -d%s; %s documents per collection; documents committed by the insert runs: %s" % (conns, dur, docs, inserted))
print("basalt RSS: idle after start %.1f MB (%s); after the runs %.1f MB (%s)" % (idle / 1024, idle_split, busy / 1024, busy_split))
PY
