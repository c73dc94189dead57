#!/usr/bin/env bash
# Benchmark: `hazleads demo` from nothing (a fresh home: simulate the city, train, serve) to the service
# answering /readyz with 200 (a lead list stored, the evidence served); wall time, the CPU time of the
# process and its finished worker processes then, and the phases' times from its log. Run from the project folder:
#     benchmarks/bench_demo.sh [HOME (default /tmp/hazleads-demo-bench)] [PORT (default 8765)]
# The home is emptied first. The demo is stopped once it answers.
set -u
home=${1:-/tmp/hazleads-demo-bench}
port=${2:-8765}
log="$home.log"
rm -rf "$home"; mkdir -p "$home"
t0=$(date +%s.%N)
HAZLEADS_HOME="$home" .venv/bin/hazleads demo --port "$port" > "$log" 2>&1 &
pid=$!
token=""
while sleep 2; do
  kill -0 "$pid" 2>/dev/null || { echo "the demo stopped before it was ready; its log: $log"; tail -20 "$log"; exit 1; }
  [ -z "$token" ] && token=$(awk '/管理员令牌/{getline; print; exit}' "$log")
  [ -z "$token" ] && continue
  code=$(curl -s -o "$home.ready.json" -w '%{http_code}' -m 3 -H "Authorization: Bearer $token" "http://127.0.0.1:$port/readyz" || true)
  [ "$code" = "200" ] && break
done
t1=$(date +%s.%N)
ticks=$(getconf CLK_TCK)
read -r ut st <<< "$(awk '{print $14 + $16, $15 + $17}' "/proc/$pid/stat")"  # with its reaped children (the forked workers)
served=$(grep -o '"ts": "[^"]*", "level": "info", "logger": "uvicorn.error", "msg": "Started server process' "$log" | head -1 | cut -d'"' -f4)
loaded=$(grep -o '"ts": "[^"]*", "level": "info", "logger": "hazleads.serving", "msg": "snapshot loaded' "$log" | head -1 | cut -d'"' -f4)
stored=$(grep -o '"ts": "[^"]*", "level": "info", "logger": "hazleads.serving", "msg": "lead lists stored' "$log" | head -1 | cut -d'"' -f4)
secs() { date -d "$1" +%s.%N; }
printf 'ready after %.0f s wall, %.0f s CPU (load %s)\n' "$(echo "$t1 - $t0" | bc)" "$(echo "($ut + $st) / $ticks" | bc -l)" "$(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "$served" ] && [ -n "$loaded" ] && [ -n "$stored" ]; then
  printf 'simulate + train %.0f s; the service: snapshot loaded again %.0f s, features + scoring + storing %.0f s, to ready %.0f s\n' \
    "$(echo "$(secs "$served") - $t0" | bc)" "$(echo "$(secs "$loaded") - $(secs "$served")" | bc)" \
    "$(echo "$(secs "$stored") - $(secs "$loaded")" | bc)" "$(echo "$t1 - $(secs "$stored")" | bc)"
fi
kill "$pid"; wait "$pid" 2>/dev/null
exit 0
