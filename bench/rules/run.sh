#!/usr/bin/env bash
# Access-rule overhead on the point read (issue 3): GET /rest/v1/todos?id=eq.X
# on a 100k-document collection with the owner rule
#     select: auth.uid == doc.owner_id
# as service_role (rules bypassed) and as the authenticated owner of each
# document (rule compiled into the SQL), side by side in one run and
# alternating, so that the ratio survives a shared, noisy machine.
#   bench/rules/run.sh BUILD_DIR        (a Release build: build-release)
# Env: RUNS (3), DURATION (10s), CONNS (64), DOCS (100000), USERS (100).
# Prints a markdown table and the ratio user/service (target >= 0.8);
# raw wrk output goes to bench/results/rules_*.txt.
set -euo pipefail
BUILD=${1:-build-release}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
DOCS=${DOCS:-100000}
USERS=${USERS:-100}
here=$(cd "$(dirname "$0")" && pwd)
out=$here/../results
mkdir -p "$out"
ulimit -n 65536 2>/dev/null || true

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

data=$(mktemp -d)
bp=$(free_port)
cleanup() { kill "$basalt_pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT

"$BUILD/basalt" serve --port "$bp" --data "$data" --listen 127.0.0.1 --max-connections-per-ip 0 --log-level warn >"$out/rules_server.log" 2>&1 &
basalt_pid=$!
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$bp/health" >/dev/null && break; sleep 0.1; done
keys=$("$BUILD/basalt" keys --data "$data" --json)
KEY=$(echo "$keys" | python3 -c 'import json,sys;print(json.load(sys.stdin)["service_role"])')
ANON=$(echo "$keys" | python3 -c 'import json,sys;print(json.load(sys.stdin)["anon"])')
export BENCH_KEY=$KEY BENCH_ANON=$ANON
api() { curl -sf -H "apikey: $KEY" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "$@"; }

api -X POST "http://127.0.0.1:$bp/admin/v1/collections" -d '{"name":"todos","indexes":[{"fields":["owner_id"]}],
  "rules":{"select":"auth.uid == doc.owner_id","insert":"auth.uid == new.owner_id",
           "update":"auth.uid == doc.owner_id","delete":"auth.uid == doc.owner_id"}}' >/dev/null
echo "loading $DOCS documents..." >&2
# Documents t000000.. owned by u1..u1000; the benchmark reads the documents of
# u1..u$USERS, each with a JWT of its owner (HS256, the project's secret).
python3 - "$bp" "$KEY" "$DOCS" "$USERS" "$data/jwt_secret" "$data/pairs.txt" <<'PY'
import base64, hashlib, hmac, json, sys, time, urllib.request
port, key, n, users, secret_file, pairs_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
for start in range(0, n, 5000):
    docs = [{"id": "t%06d" % i, "title": "todo %d" % i, "owner_id": "u%d" % (i % 1000 + 1),
             "done": i % 3 == 0, "rank": i} for i in range(start, min(n, start + 5000))]
    req = urllib.request.Request("http://127.0.0.1:%s/rest/v1/todos" % port, data=json.dumps(docs).encode(),
        headers={"apikey": key, "Authorization": "Bearer " + key, "Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(req).read()
secret = open(secret_file).read().strip().encode()
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
now = int(time.time())
def jwt(sub):
    h = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    p = b64(json.dumps({"sub": sub, "role": "authenticated", "aud": "authenticated", "iat": now, "exp": now + 86400,
                        "email": sub + "@example.com", "session_id": "s-" + sub}).encode())
    s = b64(hmac.new(secret, (h + "." + p).encode(), hashlib.sha256).digest())
    return h + "." + p + "." + s
toks = {"u%d" % u: jwt("u%d" % u) for u in range(1, users + 1)}
with open(pairs_file, "w") as f:
    for i in range(n):
        owner = "u%d" % (i % 1000 + 1)
        if owner in toks:
            f.write("t%06d %s\n" % (i, toks[owner]))
PY
export BENCH_PAIRS=$data/pairs.txt
echo "$(wc -l <"$BENCH_PAIRS") (id, owner token) pairs" >&2

for r in $(seq "$RUNS"); do
  for as in service user; do
    BENCH_AS=$as wrk -t2 -c"$CONNS" -d"$DURATION" --latency -s "$here/point_read.lua" "http://127.0.0.1:$bp" \
      >"$out/rules_point_read_$as.$r.txt" 2>&1
  done
done

python3 - "$out" "$RUNS" "$CONNS" "$DURATION" "$DOCS" <<'PY'
import os, re, statistics, sys
out, runs, conns, dur, docs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def ms(s):
    m = re.match(r"([\d.]+)(us|ms|s)", s)
    return float(m.group(1)) * {"us": 1e-3, "ms": 1, "s": 1000}[m.group(2)]
def parse(p):
    t = open(p).read()
    lat = dict(re.findall(r"\s+(50|99)%\s+([\d.]+\w+)", t))
    bad = int(re.search(r"not-one-row responses: (\d+)", t).group(1))
    return float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)), ms(lat["50"]), ms(lat["99"]), bad
res = {}
for as_ in ("service", "user"):
    v = [parse(os.path.join(out, "rules_point_read_%s.%d.txt" % (as_, r))) for r in range(1, runs + 1)]
    res[as_] = ([x[0] for x in v], statistics.median(x[0] for x in v), statistics.median(x[1] for x in v),
                statistics.median(x[2] for x in v), sum(x[3] for x in v))
print("| point read GET /rest/v1/todos?id=eq.X | req/s runs | req/s (median of %d) | p50 ms | p99 ms | not one row |" % runs)
print("|---|---|---|---|---|---|")
names = {"service": "service_role (rules bypassed)", "user": "authenticated owner, rule auth.uid == doc.owner_id"}
for k, (runs_, med, p50, p99, bad) in res.items():
    print("| %s | %s | %.0f | %.2f | %.2f | %d |" % (names[k], " / ".join("%.0f" % x for x in runs_), med, p50, p99, bad))
print()
print("ratio user/service (median req/s): %.2f  (target >= 0.80)" % (res["user"][1] / res["service"][1]))
print("wrk -t2 -c%s -d%s; %s documents; runs alternate service, user" % (conns, dur, docs))
PY
