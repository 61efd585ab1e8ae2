#!/usr/bin/env bash
# bench/compare.sh: durationd side by side with Redis (issue 8), in one run.
#
#   bash bench/compare.sh [--json] [BUILD_DIR]      (BUILD_DIR defaults to ./build)
#
# Builds nothing: uses BUILD/daemon/durationd, BUILD/daemon/durationctl,
# BUILD/bench/durationd-bench and BUILD/bench/unix-pingpong. Installs Debian's
# redis-server and redis-tools with apt-get when they are missing. Everything it starts
# lives in a temporary directory, removed on exit with every server it started.
#
# What it runs (docs/benchmarks.md explains each row):
#   - Redis (no persistence) and durationd alternately, A B A B, three rounds, both driven
#     by durationd-bench: GET c=1, GET c=50, GET c=50 P=16, SET vs put c=50; durationd
#     alone: timer and timerb (durable timer.interrupt); Redis also by redis-benchmark.
#   - Redis again with appendfsync always: SET vs durationd putd c=50, three rounds.
#   - unix-pingpong (the raw Unix-socket round-trip floor) at c=1 and c=50, every round.
#   - start to READY=1 (NOTIFY_SOCKET) with the 256k KDF, new and existing state dir.
#   - memory per entry after 1,000,000 entries of 100 bytes: durationd VmRSS delta
#     against Redis used_memory delta.
#   - timer.stats over 100,000 sessions of one uid.
# Medians of the three rounds are printed as a table; the same goes as JSON lines to
# $RESULTS (default: compare-results.jsonl beside the temporary directory), or to stdout
# with --json (the human-readable output then goes to stderr).
set -euo pipefail

JSON=0
BUILD=./build
for arg in "$@"; do
  case "$arg" in
    --json) JSON=1 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    -*) echo "compare.sh: unknown option $arg" >&2; exit 64 ;;
    *) BUILD=$arg ;;
  esac
done

# Human-readable output: stdout, or stderr when stdout carries the JSON lines.
if [[ $JSON == 1 ]]; then exec 3>&2; else exec 3>&1; fi
say() { printf '%s\n' "$*" >&3; }

DURATIOND=$BUILD/daemon/durationd
DURATIONCTL=$BUILD/daemon/durationctl
BENCH=$BUILD/bench/durationd-bench
PINGPONG=$BUILD/bench/unix-pingpong
for bin in "$DURATIOND" "$DURATIONCTL" "$BENCH" "$PINGPONG"; do
  [[ -x $bin ]] || { echo "compare.sh: $bin is missing; build it first (cmake --build $BUILD --target durationd durationctl durationd-bench unix-pingpong)" >&2; exit 66; }
done
PY=/usr/bin/python3
if ! [[ -x $PY ]] || ! $PY -c 'import msgpack' 2>/dev/null; then
  echo "compare.sh: $PY with the msgpack module is needed (apt-get install python3-msgpack)" >&2
  exit 69
fi

if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null || ! command -v redis-cli >/dev/null; then
  say "installing redis-server and redis-tools (Debian packages)"
  SUDO=; [[ $(id -u) == 0 ]] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server redis-tools >/dev/null
  # Debian's package enables a system-wide instance on 6379; we never use it.
fi

T=$(mktemp -d)
RESULTS=${RESULTS:-$(dirname "$T")/compare-results.jsonl}
RAW=$T/raw.jsonl      # one line per benchmark run (label, server, round added)
EXTRA=$T/extra.jsonl  # one line per other measurement
: >"$RAW"; : >"$EXTRA"
PIDS=()
SHM=

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$T"
  [[ -z $SHM ]] || rm -rf "$SHM"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

STARTED=$(date +%s)
say "== bench/compare.sh  $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
say "uptime: $(uptime)"
say "nproc: $(nproc)   cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
say "kernel: $(uname -r)   $(redis-server --version | cut -d' ' -f1-3)   durationd $("$DURATIOND" --version 2>&1 | head -1)"
say "temp dir: $T ($(df -PT "$T" | awk 'NR==2 {print $2}'))"
printf '{"measure":"host","date":"%s","uptime":"%s","nproc":%s}\n' \
  "$(date -u +%FT%TZ)" "$(uptime | sed 's/"/\\"/g; s/^ *//')" "$(nproc)" >>"$EXTRA"

# ---------------------------------------------------------------- helpers

KEY=$(head -c 24 /dev/urandom | base64)  # 32 characters
export DURATIOND_KEY=$KEY

# start_durationd NAME STATE_DIR: a durationd on $T/NAME.sock; sets DPID.
start_durationd() {
  local name=$1 state=$2
  "$DURATIOND" --socket "$T/$name.sock" --state-dir "$state" --foreground >>"$T/$name.log" 2>&1 &
  DPID=$!
  PIDS+=("$DPID")
  for _ in $(seq 600); do
    if "$DURATIONCTL" --socket "$T/$name.sock" ping >/dev/null 2>&1; then return 0; fi
    kill -0 "$DPID" 2>/dev/null || { echo "durationd exited at start:" >&2; tail -5 "$T/$name.log" >&2; exit 1; }
    sleep 0.05
  done
  echo "durationd did not answer ping within 30 s" >&2
  exit 1
}

# start_redis NAME ARGS...: a redis-server on $T/NAME.sock (no TCP); sets RPID.
start_redis() {
  local name=$1
  shift
  redis-server --port 0 --unixsocket "$T/$name.sock" --daemonize no --logfile "$T/$name.log" "$@" &
  RPID=$!
  PIDS+=("$RPID")
  for _ in $(seq 600); do
    if [[ $(redis-cli -s "$T/$name.sock" ping 2>/dev/null) == PONG ]]; then return 0; fi
    kill -0 "$RPID" 2>/dev/null || { echo "redis-server exited at start:" >&2; tail -5 "$T/$name.log" >&2; exit 1; }
    sleep 0.05
  done
  echo "redis-server did not answer within 30 s" >&2
  exit 1
}

# stop PID: SIGTERM and wait for it (durationd flushes and exits 0).
stop() {
  local pid=$1 keep=() p
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # Forget it, so that cleanup never signals a reused pid.
  for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# calc EXPR: floating-point arithmetic (awk; bc is not always installed).
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }

vmrss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# tag LABEL SERVER ROUND: adds the three fields to each JSON line read.
tag() { sed "s/^{/{\"label\":\"$1\",\"server\":\"$2\",\"round\":$3,/"; }

# bench LABEL SERVER ROUND SOCKET ARGS...: one durationd-bench run, recorded in $RAW.
bench() {
  local label=$1 server=$2 round=$3 socket=$4
  shift 4
  local redis=()
  [[ $server == redis* ]] && redis=(--redis)
  local line
  line=$("$BENCH" "${redis[@]}" -s "$socket" --json -q "$@" | tag "$label" "$server" "$round")
  printf '%s\n' "$line" >>"$RAW"
  say "$(printf '  r%s %-10s %-9s %s' "$round" "$label" "$server" \
    "$(sed -E 's/.*"rps":([0-9.]+).*"p50_us":([0-9.]+),"p99_us":([0-9.]+).*"errors":([0-9]+).*/\1 req\/s  p50 \2 µs  p99 \3 µs  errors \4/' <<<"$line")")"
}

# ---------------------------------------------------------------- servers and preload

say ""
say "== starting redis-server (no persistence) and durationd; preloading 100,000 keys of 100 bytes"
start_redis redis --save '' --appendonly no
REDIS_PID=$RPID
start_durationd d "$T/state"
D_PID=$DPID
"$BENCH" --redis -s "$T/redis.sock" --preload -r 100000 -d 100 -n 1 -t ping -q >/dev/null
"$BENCH" -s "$T/d.sock" --preload -r 100000 -d 100 -n 1 -t ping -q >/dev/null

# ---------------------------------------------------------------- phase 1: A B A B

N_GET1=60000 N_GET50=300000 N_P16=1200000 N_SET=300000 N_TIMER=15000 N_TIMERB=25000
N_RB=100000 N_PP1=200000 N_PP50=400000
say ""
say "== phase 1: Redis (no persistence) and durationd alternately, three rounds"
for round in 1 2 3; do
  bench get_c1 redis "$round" "$T/redis.sock" -c 1 -n $N_GET1 -r 100000 -t get
  bench get_c1 durationd "$round" "$T/d.sock" -c 1 -n $N_GET1 -r 100000 -t get
  bench get_c50 redis "$round" "$T/redis.sock" -c 50 -n $N_GET50 -r 100000 -t get
  bench get_c50 durationd "$round" "$T/d.sock" -c 50 -n $N_GET50 -r 100000 -t get
  bench get_c50_p16 redis "$round" "$T/redis.sock" -c 50 -P 16 -n $N_P16 -r 100000 -t get
  bench get_c50_p16 durationd "$round" "$T/d.sock" -c 50 -P 16 -n $N_P16 -r 100000 -t get
  bench set_c50 redis "$round" "$T/redis.sock" -c 50 -n $N_SET -r 100000 -d 100 -t put
  bench set_c50 durationd "$round" "$T/d.sock" -c 50 -n $N_SET -r 100000 -d 100 -t put
  # Write-behind: the puts just answered are committed on durationd's writer thread
  # afterwards. cache.stats commits what is queued; its time is reported, not hidden,
  # and the next test does not pay for it.
  t0=$(date +%s.%N)
  "$DURATIONCTL" --socket "$T/d.sock" cache stats >/dev/null
  t1=$(date +%s.%N)
  printf '{"label":"put_flush","server":"durationd","round":%s,"seconds":%.3f}\n' "$round" "$(calc "$t1 - $t0")" >>"$RAW"
  say "$(printf '  r%s %-10s %-9s commit of the queued puts: %.2f s' "$round" put_flush durationd "$(calc "$t1 - $t0")")"
  bench timer durationd "$round" "$T/d.sock" -c 50 -n $N_TIMER -t timer
  bench timerb durationd "$round" "$T/d.sock" -c 50 -n $N_TIMERB -t timerb
  # redis-benchmark, for reference: its keys are key:__rand_int__ (key:000000012345),
  # not ours; SET runs first, so most of its GETs hit.
  redis-benchmark -s "$T/redis.sock" -c 50 -n $N_RB -d 100 -r 100000 -t set,get --csv 2>/dev/null |
    tr -d '\r' | awk -F'"' -v r="$round" 'NR > 1 && ($2 == "SET" || $2 == "GET") {
      printf "{\"label\":\"rb_%s\",\"server\":\"redis-benchmark\",\"round\":%s,\"test\":\"%s\",\"rps\":%s,\"p50_us\":%.1f,\"p99_us\":%.1f,\"connections\":50}\n",
        tolower($2), r, $2, $4, $10 * 1000, $14 * 1000 }' | tee -a "$RAW" |
    sed -E 's/.*"label":"([a-z_]+)".*"rps":([0-9.]+),"p50_us":([0-9.]+),"p99_us":([0-9.]+).*/  r'"$round"' \1     redis-benchmark \2 req\/s  p50 \3 µs  p99 \4 µs/' >&3
  for c in 1 50; do
    n=$N_PP1; [[ $c == 50 ]] && n=$N_PP50
    line=$("$PINGPONG" -c $c -n $n -d 100 --json | tag "pingpong_c$c" floor "$round")
    printf '%s\n' "$line" >>"$RAW"
    say "$(printf '  r%s %-10s %-9s %s' "$round" "pingpong_c$c" floor \
      "$(sed -E 's/.*"rps":([0-9.]+),"p50_us":([0-9.]+),"p99_us":([0-9.]+).*/\1 round trips\/s  p50 \2 µs  p99 \3 µs/' <<<"$line")")"
  done
done

# ---------------------------------------------------------------- Redis memory per key

say ""
say "== Redis memory: used_memory before and after 1,000,000 keys of 100 bytes (FLUSHALL first)"
redis_mem() { redis-cli -s "$T/redis.sock" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" {print $2}'; }
redis-cli -s "$T/redis.sock" flushall sync >/dev/null
sleep 1
R_USED0=$(redis_mem) R_RSS0=$(vmrss_kb "$REDIS_PID")
"$BENCH" --redis -s "$T/redis.sock" --preload -r 1000000 -d 100 -n 1 -t ping -q >/dev/null
sleep 1
R_USED1=$(redis_mem) R_RSS1=$(vmrss_kb "$REDIS_PID")
R_KEYS=$(redis-cli -s "$T/redis.sock" dbsize | tr -d '\r')
printf '{"measure":"memory","server":"redis","entries":%s,"value_bytes":100,"used_memory_before":%s,"used_memory_after":%s,"vmrss_kb_before":%s,"vmrss_kb_after":%s,"bytes_per_entry":%.1f,"rss_bytes_per_entry":%.1f}\n' \
  "$R_KEYS" "$R_USED0" "$R_USED1" "$R_RSS0" "$R_RSS1" \
  "$(calc "($R_USED1 - $R_USED0) / 1000000")" "$(calc "($R_RSS1 - $R_RSS0) * 1024 / 1000000")" | tee -a "$EXTRA" >&3
stop "$REDIS_PID"

# ---------------------------------------------------------------- phase 2: durable writes

say ""
say "== phase 2: Redis with appendfsync always (SET) and durationd putd, c=50, three rounds"
mkdir -p "$T/redis-aof"
start_redis redis-aof --save '' --appendonly yes --appendfsync always --dir "$T/redis-aof"
REDIS_AOF_PID=$RPID
# fsync-bound, so the two run at very different rates: n is chosen per server for >= 2 s.
N_SET_ALWAYS=40000 N_PUTD=8000
for round in 1 2 3; do
  bench set_always redis-aof "$round" "$T/redis-aof.sock" -c 50 -n $N_SET_ALWAYS -r 100000 -d 100 -t put
  bench set_always durationd "$round" "$T/d.sock" -c 50 -n $N_PUTD -r 100000 -d 100 -t putd
done
stop "$REDIS_AOF_PID"

# ---------------------------------------------------------------- start to READY

cat >"$T/ready.py" <<'EOF'
# Starts durationd with NOTIFY_SOCKET pointing at a datagram socket of ours and times,
# from just before the exec, the READY=1 datagram and the first answered ping; then
# SIGTERM. argv: durationd socket state_dir kind runs fresh(0|1)
import json, os, re, select, signal, socket, subprocess, sys, time, statistics
durationd, sock_path, state, kind, runs, fresh = sys.argv[1:7]
runs, fresh = int(runs), fresh == "1"
notify_path = os.path.join(os.path.dirname(sock_path), "notify.sock")
ready_s, ping_s, open_ms = [], [], []
for i in range(runs):
    d = f"{state}-{i}" if fresh else state
    if os.path.exists(notify_path):
        os.unlink(notify_path)
    n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    n.bind(notify_path)
    log = open(sock_path + ".log", "a+")
    env = dict(os.environ, NOTIFY_SOCKET=notify_path)
    t0 = time.monotonic()
    p = subprocess.Popen([durationd, "--socket", sock_path, "--state-dir", d, "--foreground"],
                         env=env, stdout=log, stderr=subprocess.STDOUT)
    t_ready = t_ping = None
    while t_ready is None or t_ping is None:
        if time.monotonic() - t0 > 60 or p.poll() is not None:
            sys.exit(f"durationd did not get ready (exit {p.poll()})")
        r, _, _ = select.select([n], [], [], 0.001)
        if r and b"READY=1" in n.recv(4096).split(b"\n"):
            t_ready = time.monotonic() - t0
        if t_ping is None:
            try:
                c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                c.connect(sock_path)
                c.sendall(b'{"op":"ping"}\n')
                if b"pong" in c.recv(4096):
                    t_ping = time.monotonic() - t0
                c.close()
            except OSError:
                pass
    p.send_signal(signal.SIGTERM)
    p.wait(60)
    n.close()
    log.seek(0)
    opens = re.findall(r"databases open \((\d+) ms", log.read())
    log.close()
    if opens:
        open_ms.append(int(opens[-1]))
    ready_s.append(t_ready)
    ping_s.append(t_ping)
print(json.dumps({"measure": "ready", "state": kind, "method": "NOTIFY_SOCKET READY=1 (and first ping)",
                  "kdf": "PBKDF2-HMAC-SHA512 x 256000", "runs_s": [round(x, 4) for x in ready_s],
                  "median_s": round(statistics.median(ready_s), 4),
                  "ping_median_s": round(statistics.median(ping_s), 4),
                  "db_open_ms_median": statistics.median(open_ms) if open_ms else None}))
EOF

say ""
say "== start to READY=1 (NOTIFY_SOCKET datagram, timed from the exec; first ping also timed), 3 runs each"
stop "$D_PID"   # the benchmark's state dir (100,000+ entries) is the "existing" one
$PY "$T/ready.py" "$DURATIOND" "$T/ready.sock" "$T/ready-new" new 3 1 | tee -a "$EXTRA" >&3
$PY "$T/ready.py" "$DURATIOND" "$T/ready.sock" "$T/state" existing 3 0 | tee -a "$EXTRA" >&3

# ---------------------------------------------------------------- durationd memory per entry

say ""
say "== durationd memory: VmRSS before and after 1,000,000 entries of 100 bytes (fresh daemon)"
start_durationd rss "$T/rss-state"
RSS_PID=$DPID
sleep 1
D_RSS0=$(vmrss_kb "$RSS_PID")
"$BENCH" -s "$T/rss.sock" --preload -r 1000000 -d 100 -n 1 -t ping -q >/dev/null  # ends with cache.stats: all committed
sleep 1
D_RSS1=$(vmrss_kb "$RSS_PID")
D_STATS=$("$DURATIONCTL" --socket "$T/rss.sock" --json cache stats)
printf '{"measure":"memory","server":"durationd","vmrss_kb_before":%s,"vmrss_kb_after":%s,"value_bytes":100,"bytes_per_entry":%.1f,"cache_stats":%s}\n' \
  "$D_RSS0" "$D_RSS1" "$(calc "($D_RSS1 - $D_RSS0) * 1024 / 1000000")" "$D_STATS" | tee -a "$EXTRA" >&3
stop "$RSS_PID"

# ---------------------------------------------------------------- timer.stats over 100,000 sessions

cat >"$T/timerstats.py" <<'EOF'
# Writes 100,000 ended sessions for this uid through the protocol (binary frames,
# pipelined: start, every tenth an interrupt, stop; ids are predicted, since a fresh
# daemon hands them out in order), then times timer.stats by day, task and tag.
# argv: socket count state_dir_filesystem (for the record)
import json, socket, statistics, struct, sys, time
import msgpack
sock_path, count = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sock_path)
unpacker = msgpack.Unpacker(raw=False, timestamp=3)
buf = bytearray()
def send(reqs):
    out = bytearray()
    for r in reqs:
        body = msgpack.packb(r, use_bin_type=True)
        out += struct.pack(">I", len(body)) + body
    s.sendall(out)
def recv(n):
    global buf
    got = []
    while len(got) < n:
        while len(buf) >= 4 and len(buf) >= 4 + struct.unpack(">I", buf[:4])[0]:
            ln = struct.unpack(">I", buf[:4])[0]
            got.append(msgpack.unpackb(bytes(buf[4:4 + ln]), raw=False, timestamp=3))
            del buf[:4 + ln]
        if len(got) < n:
            chunk = s.recv(1 << 20)
            if not chunk:
                sys.exit("the daemon closed the connection")
            buf += chunk
    return got
def call(op, args):
    send([{"op": op, "id": 1, "args": args}])
    r = recv(1)[0]
    if not r.get("ok"):
        sys.exit(f"{op}: {r.get('error')}")
    return r["result"]
tasks = ["email", "code review", "writing", "planning", "reading", "deep work", "meetings"]
tags = ["work", "home", "study", "admin"]
def session_reqs(i, sid):
    t = [tags[i % 4]] + ([tags[(i + 1) % 4]] if i % 3 == 0 else [])
    reqs = [{"op": "timer.start", "args": {"task": tasks[i % 7], "tags": t, "planned_ms": 25 * 60000,
                                          "note": "a short note", "brief": True}}]
    if i % 10 == 0:
        reqs.append({"op": "timer.interrupt", "args": {"id": sid, "reason": "slack", "brief": True}})
    stop = {"id": sid, "outcome": "abandoned" if i % 6 == 0 else "completed", "brief": True}
    if i % 2:
        stop["focus"] = 1 + i % 5
    reqs.append({"op": "timer.stop", "args": stop})
    return reqs
t0 = time.monotonic()
first = call("timer.start", {"task": tasks[0], "tags": [tags[0], tags[1]], "planned_ms": 25 * 60000, "note": "a short note", "brief": True})
sid = first["id"]
call("timer.stop", {"id": sid, "brief": True})
i, batch = 1, 250
while i < count:
    reqs = []
    for j in range(i, min(i + batch, count)):
        reqs += session_reqs(j, sid + 1 + (j - i))
    send(reqs)
    for r in recv(len(reqs)):
        if not r.get("ok"):
            sys.exit(f"session {i}: {r.get('error')}")
    sid += min(batch, count - i)
    i += batch
load_s = time.monotonic() - t0
out = {"measure": "timer_stats", "sessions_written": count, "load_s": round(load_s, 2), "by": {}}
for by in ["day", "task", "tag"]:
    times, res = [], None
    for _ in range(3):
        t = time.monotonic()
        res = call("timer.stats", {"group_by": by, "tz_offset_min": 60})
        times.append((time.monotonic() - t) * 1000)
    out["by"][by] = {"median_ms": round(statistics.median(times), 1), "runs_ms": [round(x, 1) for x in times],
                     "groups": len(res["groups"]), "sessions": res["totals"]["sessions"]}
out["state_dir_fs"] = sys.argv[3]
print(json.dumps(out))
EOF

# One connection serves its requests one after another, and a uid has one active session
# at most, so the 210,000 writes cannot share commits: at ~2 ms per fsync that is 7
# minutes. This daemon's state dir is on tmpfs when there is one, where fsync is free;
# timer.stats itself reads from memory either way (the pages were just written).
TIMER_STATE=$T/timer-state
if [[ $(df -PT /dev/shm 2>/dev/null | awk 'NR==2 {print $2}') == tmpfs ]]; then
  SHM=$(mktemp -d -p /dev/shm durationd-compare.XXXXXX)
  TIMER_STATE=$SHM/timer-state
fi
say ""
say "== timer.stats over 100,000 sessions of one uid (written through the protocol into $TIMER_STATE, then 3 runs per group_by)"
start_durationd timers "$TIMER_STATE"
TIMERS_PID=$DPID
$PY "$T/timerstats.py" "$T/timers.sock" 100000 "$(df -PT "$TIMER_STATE" | awk 'NR==2 {print $2}')" | tee -a "$EXTRA" >&3
stop "$TIMERS_PID"

# ---------------------------------------------------------------- the table

ELAPSED=$(($(date +%s) - STARTED))
printf '{"measure":"runtime","seconds":%s}\n' "$ELAPSED" >>"$EXTRA"
cat >"$T/table.py" <<'EOF'
# Medians per (label, server) over the rounds; a table for people on fd 3, JSON lines on
# stdout. argv: raw.jsonl extra.jsonl
import json, statistics, sys
raw = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
extra = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
human = open(3, "w")
def p(*a): print(*a, file=human)
def med(label, server, field):
    xs = [r[field] for r in raw if r["label"] == label and r["server"] == server and field in r]
    return statistics.median(xs) if xs else None
def errors(label, server):
    return sum(r.get("errors", 0) for r in raw if r["label"] == label and r["server"] == server)
rows = [  # label, title, redis-side server
    ("get_c1", "GET c=1", "redis"),
    ("get_c50", "GET c=50", "redis"),
    ("get_c50_p16", "GET c=50 P=16", "redis"),
    ("set_c50", "SET vs put c=50", "redis"),
    ("set_always", "SET (appendfsync always) vs putd c=50", "redis-aof"),
    ("timer", "timer.interrupt durable (timer) c=50", None),
    ("timerb", "timer.interrupt durable brief (timerb) c=50", None),
]
reference = [  # label, title, server
    ("rb_get", "redis-benchmark GET c=50 (Redis)", "redis-benchmark"),
    ("rb_set", "redis-benchmark SET c=50 (Redis)", "redis-benchmark"),
    ("pingpong_c1", "unix-pingpong c=1 (the round-trip floor)", "floor"),
    ("pingpong_c50", "unix-pingpong c=50 (the round-trip floor)", "floor"),
]
fmt = lambda x, d=0: "-" if x is None else f"{x:,.{d}f}"
lat = lambda a, b: "-" if a is None else f"{a:,.0f} / {b:,.0f}"
out = []
p("")
p("== medians of 3 rounds (req/s; latency p50 / p99 in µs, medians of the rounds' percentiles)")
p("")
p(f"| {'test':<44} | {'redis req/s':>12} | {'durationd req/s':>15} | {'durationd/redis':>15} | {'redis p50/p99':>15} | {'durationd p50/p99':>17} |")
p(f"|{'-'*46}|{'-'*13}:|{'-'*16}:|{'-'*16}:|{'-'*16}:|{'-'*18}:|")
for label, title, rserver in rows:
    r = med(label, rserver, "rps") if rserver else None
    d = med(label, "durationd", "rps")
    ratio = d / r if r and d else None
    rl = lat(med(label, rserver, "p50_us"), med(label, rserver, "p99_us")) if rserver else "-"
    dl = lat(med(label, "durationd", "p50_us"), med(label, "durationd", "p99_us"))
    p(f"| {title:<44} | {fmt(r):>12} | {fmt(d):>15} | {fmt(ratio, 2):>15} | {rl:>15} | {dl:>17} |")
    out.append({"measure": "compare", "test": label, "title": title, "redis_side": rserver,
                "redis_rps": r, "durationd_rps": d, "ratio": ratio,
                "redis_p50_us": med(label, rserver, "p50_us") if rserver else None,
                "redis_p99_us": med(label, rserver, "p99_us") if rserver else None,
                "durationd_p50_us": med(label, "durationd", "p50_us"),
                "durationd_p99_us": med(label, "durationd", "p99_us"),
                "errors": {"redis": errors(label, rserver) if rserver else 0, "durationd": errors(label, "durationd")},
                "rounds": [x for x in raw if x["label"] == label]})
p("")
p(f"| {'reference':<44} | {'req/s':>12} | {'p50/p99 µs':>15} |")
p(f"|{'-'*46}|{'-'*13}:|{'-'*16}:|")
for label, title, server in reference:
    v = med(label, server, "rps")
    p(f"| {title:<44} | {fmt(v):>12} | {lat(med(label, server, 'p50_us'), med(label, server, 'p99_us')):>15} |")
    out.append({"measure": "reference", "test": label, "title": title, "rps": v,
                "p50_us": med(label, server, "p50_us"), "p99_us": med(label, server, "p99_us"),
                "rounds": [x for x in raw if x["label"] == label]})
flush = [r["seconds"] for r in raw if r["label"] == "put_flush"]
p("")
p(f"write-behind: committing the queued puts after each 'put c=50' run took {', '.join(f'{x:.2f}' for x in flush)} s")
out.append({"measure": "put_flush", "seconds": flush})

floor1 = med("pingpong_c1", "floor", "rps")
floor50 = med("pingpong_c50", "floor", "rps")
g1r, g1d = med("get_c1", "redis", "rps"), med("get_c1", "durationd", "rps")
p(f"GET c=1 against the ping-pong floor c=1: redis {g1r / floor1:.2f}, durationd {g1d / floor1:.2f}")
g50r, g50d = med("get_c50", "redis", "rps"), med("get_c50", "durationd", "rps")
p(f"GET c=50 against the ping-pong floor c=50: redis {g50r / floor50:.2f}, durationd {g50d / floor50:.2f}")
out.append({"measure": "floor_ratio", "get_c1_redis": g1r / floor1, "get_c1_durationd": g1d / floor1,
            "get_c50_redis": g50r / floor50, "get_c50_durationd": g50d / floor50})

p("")
ready = {e["state"]: e for e in extra if e["measure"] == "ready"}
for k in ["new", "existing"]:
    if k in ready:
        e = ready[k]
        p(f"start to READY=1 ({k} state dir, {e['kdf']}): median {e['median_s']:.3f} s "
          f"(runs {', '.join(f'{x:.3f}' for x in e['runs_s'])}; first ping {e['ping_median_s']:.3f} s; "
          f"databases open {e['db_open_ms_median']} ms by the daemon's log)")
mem = {e["server"]: e for e in extra if e["measure"] == "memory"}
if "durationd" in mem and "redis" in mem:
    d, r = mem["durationd"], mem["redis"]
    cs = d["cache_stats"]
    p(f"memory per 100-byte entry (1,000,000 entries): durationd {d['bytes_per_entry']:.0f} B (VmRSS "
      f"{d['vmrss_kb_before'] / 1024:.0f} -> {d['vmrss_kb_after'] / 1024:.0f} MiB; {cs.get('memory_entries')} entries "
      f"in memory, memory_bytes {cs.get('memory_bytes', 0) / 1e6:.0f} MB); redis {r['bytes_per_entry']:.0f} B "
      f"(used_memory; VmRSS delta {r['rss_bytes_per_entry']:.0f} B); durationd/redis {d['bytes_per_entry'] / r['bytes_per_entry']:.2f}")
ts = [e for e in extra if e["measure"] == "timer_stats"]
if ts:
    e = ts[0]
    p(f"timer.stats over {e['by']['day']['sessions']:,} sessions of one uid (written in {e['load_s']:.1f} s): " +
      ", ".join(f"group_by {k} {v['median_ms']:.0f} ms ({v['groups']} groups)" for k, v in e["by"].items()) +
      f" (medians of 3; state dir on {e['state_dir_fs']}; every session started during the load, so 'day' has one group)")

targets = [
    ("GET c=50 >= 1.0 x redis", med("get_c50", "durationd", "rps") / med("get_c50", "redis", "rps"), 1.0),
    ("GET c=50 P=16 >= 1.0 x redis", med("get_c50_p16", "durationd", "rps") / med("get_c50_p16", "redis", "rps"), 1.0),
    ("GET c=1 >= 0.65 x ping-pong floor", g1d / floor1, 0.65),
    ("put c=50 >= 0.9 x redis SET", med("set_c50", "durationd", "rps") / med("set_c50", "redis", "rps"), 0.9),
    ("putd c=50 >= 1.0 x redis SET appendfsync always",
     med("set_always", "durationd", "rps") / med("set_always", "redis-aof", "rps"), 1.0),
]
p("")
p("issue 8 targets (this run):")
for name, got, want in targets:
    p(f"  {'met   ' if got >= want else 'MISSED'} {name}: {got:.2f}")
    out.append({"measure": "target", "target": name, "value": got, "met": got >= want})
if "new" in ready:
    got = max(ready["new"]["median_s"], ready.get("existing", ready["new"])["median_s"])
    p(f"  {'met   ' if got <= 0.4 else 'MISSED'} ready <= 0.4 s: {got:.3f} s (the slower of new/existing)")
    out.append({"measure": "target", "target": "ready <= 0.4 s", "value": got, "met": got <= 0.4})
if "durationd" in mem:
    got = mem["durationd"]["bytes_per_entry"]
    p(f"  {'met   ' if got <= 185 else 'MISSED'} <= 185 bytes per 100-byte entry: {got:.0f}")
    out.append({"measure": "target", "target": "<= 185 bytes per 100-byte entry", "value": got, "met": got <= 185})
human.flush()
for o in extra + out:
    print(json.dumps(o))
EOF

if [[ $JSON == 1 ]]; then
  $PY "$T/table.py" "$RAW" "$EXTRA"
else
  $PY "$T/table.py" "$RAW" "$EXTRA" >"$RESULTS"
  say ""
  say "JSON lines: $RESULTS"
fi
say "runtime: $((($(date +%s) - STARTED) / 60)) min $((($(date +%s) - STARTED) % 60)) s"
