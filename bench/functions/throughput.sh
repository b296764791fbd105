#!/usr/bin/env bash
# Async document-trigger throughput: COUNT inserts posted in batches of
# BATCH as fast as the server takes them, with the lat_probe plugin
# (bench/functions/probe/lat_probe.c) as the trigger's handler; reports
# jobs/s from the first insert sent to the last handler start, and the time
# the inserts alone took.  The handler does almost nothing, so this measures
# the queue: enqueue in the change's transaction, the attempt record written
# before each run, the result written after it.
#   bench/functions/throughput.sh BUILD_DIR
# Env: COUNT (5000), BATCH (100), ROUNDS (3), WORKERS (--function-workers, 4),
# DURABILITY (server default when unset).
set -euo pipefail
BUILD=${1:-build-release}
COUNT=${COUNT:-5000}
BATCH=${BATCH:-100}
ROUNDS=${ROUNDS:-3}
WORKERS=${WORKERS:-4}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cmake --build "$BUILD" --target basalt -j2 >/dev/null
data=$(mktemp -d)
fdir=$data/fn
mkdir -p "$fdir"
cc -std=c11 -O2 -shared -fPIC -fvisibility=hidden -I"$root/functions/include" \
  -o "$fdir/lat_probe.so" "$here/probe/lat_probe.c"
lat=$data/lat.bin
truncate -s $(( COUNT * ROUNDS * 8 + 8 )) "$lat"
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
dur=()
[ -n "${DURABILITY:-}" ] && dur=(--durability "$DURABILITY")
BASALT_LAT_FILE=$lat "$BUILD/basalt" serve --port "$port" --listen 127.0.0.1 --data "$data/db" \
  --functions-dir "$fdir" --function-workers "$WORKERS" --log-level warn "${dur[@]}" >"$data/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
key=$("$BUILD/basalt" keys --data "$data/db" --json | python3 -c 'import json,sys;print(json.load(sys.stdin)["service_role"])')
curl -sf -H "apikey: $key" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -X POST "http://127.0.0.1:$port/admin/v1/collections" -d '{"name":"lat"}' >/dev/null
echo "machine: $(nproc) cores, $(uname -r); durability: ${DURABILITY:-default}; workers: $WORKERS;" \
  "$COUNT inserts in batches of $BATCH x $ROUNDS rounds"
python3 - "$port" "$key" "$lat" "$COUNT" "$BATCH" "$ROUNDS" <<'PY'
import http.client, json, struct, sys, time
port, key, lat, count, batch, rounds = sys.argv[1], sys.argv[2], sys.argv[3], *map(int, sys.argv[4:7])
hdr = {"apikey": key, "Authorization": "Bearer " + key, "Content-Type": "application/json",
       "Prefer": "return=minimal"}
rates = []
for r in range(rounds):
    first = r * count
    conn = http.client.HTTPConnection("127.0.0.1", int(port))
    t0 = time.time_ns()
    for b in range(first, first + count, batch):
        docs = [{"id": str(i), "n": i} for i in range(b, min(first + count, b + batch))]
        conn.request("POST", "/rest/v1/lat", json.dumps(docs), hdr)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 201, resp.status
    t_ins = time.time_ns()
    deadline = time.time() + 120
    while True:
        with open(lat, "rb") as f:
            f.seek(first * 8)
            v = struct.unpack("<%dq" % count, f.read(count * 8))
        if all(v) or time.time() > deadline:
            break
        time.sleep(0.02)
    done = sum(1 for x in v if x)
    last = max(v)
    secs = (last - t0) / 1e9
    rates.append(done / secs)
    print("round %d: %d/%d jobs, inserts took %.0f ms, last handler start after %.0f ms: %.0f jobs/s"
          % (r + 1, done, count, (t_ins - t0) / 1e6, secs * 1e3, done / secs))
rates.sort()
print("median of %d rounds: %.0f jobs/s" % (rounds, rates[len(rates) // 2]))
PY
