#!/usr/bin/env bash
# bench/run.sh BUILD_DIR [SIZE]: the benchmark suite behind `make bench`.
# Runs the physical limits (SQLite alone, bare libmicrohttpd) and the five
# workloads against the release daemon over loopback, in one run on one
# machine, and prints one table. SIZE empty: 1M-span read database (under
# 10 minutes); SIZE=large: 10M spans; SIZE=soak: 10 minutes of single-span
# ingest with the daemon's RSS sampled every 30 s.
# Environment: BENCH_PERF=1 also records `perf record -g` of the daemon
# during workloads 1, 3 and 4 (reports in BUILD_DIR/bench-data/perf-*.txt);
# BENCH_SECONDS overrides the per-workload time bound (default 20);
# BENCH_PREFILL the read database's span count (a quick check of the script);
# SOAK_SECONDS the soak's length (default 600).
# Two more measurements follow the five workloads, each a short table:
#   metrics    the cost of keeping the /metrics counters: workloads 1-3 on
#              this build and on BENCH_NOMETRICS (default build-release-
#              nometrics, -DTS_NO_METRICS=ON: the counter bumps compiled
#              out), BENCH_METRICS_ROUNDS (4) runs of each of
#              BENCH_METRICS_SECONDS (3) s, alternating (bench/ab.sh
#              AB_MODE=kept), and
#              bench/metrics_cost's ns per request of every bump over the
#              daemon's CPU time per request in those runs;
#   retention  one-span ingest into one workspace with and without a
#              retention sweep of another, filled with
#              BENCH_RETENTION_TRACES (10000) expired 100-span traces:
#              BENCH_RETENTION_ROUNDS (2) windows of each, alternating,
#              BENCH_RETENTION_SECONDS (BENCH_SECONDS / 4) s each.
# BENCH_ONLY=core,metrics,retention runs a subset (core: the limits and
# workloads 1-5; default: all three).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build-release}
SIZE=${2:-}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
TS="$BUILD/tracestore"
LG="$BUILD/bench/loadgen"
SL="$BUILD/bench/sqlite_limit"
BM="$BUILD/bench/bare_mhd"
DATA="$BUILD/bench-data"
SECS=${BENCH_SECONDS:-20}
MC="$BUILD/bench/metrics_cost"
NOMET=${BENCH_NOMETRICS:-$ROOT/build-release-nometrics}
case "$NOMET" in /*) ;; *) NOMET="$ROOT/$NOMET" ;; esac
ONLY=",${BENCH_ONLY:-core,metrics,retention},"
want() { [[ "$ONLY" == *",$1,"* ]]; }
for part in ${ONLY//,/ }; do
    case $part in core | metrics | retention) ;;
    *) echo "bench: BENCH_ONLY: unknown part $part (core, metrics, retention)" >&2; exit 2 ;;
    esac
done
for f in "$TS" "$LG" "$SL" "$BM"; do
    [ -x "$f" ] || { echo "bench: $f missing; build with -DTS_BENCH=ON (make bench)" >&2; exit 2; }
done
case "$SIZE" in
"") PREFILL=1000000; LABEL=1M ;;
large) PREFILL=10000000; LABEL=10M ;;
soak) PREFILL=0; LABEL=soak ;;
*) echo "usage: bench/run.sh BUILD_DIR [large|soak]" >&2; exit 2 ;;
esac
if [ -n "${BENCH_PREFILL:-}" ]; then PREFILL=$BENCH_PREFILL; LABEL=$((PREFILL / 1000))k; fi
mkdir -p "$DATA"
T_START=$(date +%s)
RUN_TAG=$(printf '%08x' $(( ($(date +%s) & 0x7fffffff) | 0x20000000 )))
LOG="$DATA/run-$(date +%Y%m%d-%H%M%S).log"
PORT=0
PID=0
BPID=0

note() { printf '%s\n' "$*" | tee -a "$LOG" >&2; }
kv() { # kv "LINE" KEY -> value of KEY=... in LINE
    local k
    for k in $1; do [ "${k%%=*}" = "$2" ] && { printf '%s' "${k#*=}"; return; }; done
    printf ''
}
free_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 12000)) # below the ephemeral ports (32768-)
        ss -ltn 2>/dev/null | grep -c ":$p " >/dev/null || { echo $p; return; }
    done
    echo 18080
}
proc_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
mib() { awk -v kb="${1:-0}" 'BEGIN { printf "%.1f", kb / 1024 }'; }
sys_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
reset_peak() { echo 5 > "/proc/$PID/clear_refs" 2>/dev/null || true; }

cleanup() {
    [ "$PID" -gt 0 ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
    [ "$BPID" -gt 0 ] && kill -TERM "$BPID" 2>/dev/null && wait "$BPID" 2>/dev/null || true
}
trap cleanup EXIT

# start_daemon DB: creates a key when DB has none yet (kept in DB.key).
start_daemon() {
    local db=$1
    if [ ! -s "$db.key" ]; then
        "$TS" key create --workspace bench --db "$db" 2>>"$LOG" | tail -n 1 > "$db.key"
    fi
    KEY=$(cat "$db.key")
    for _try in 1 2 3 4 5; do # a random port may be taken by another process meanwhile
        PORT=$(free_port)
        TRACESTORE_LOG_LEVEL=warn "$TS" serve --db "$db" --listen "127.0.0.1:$PORT" >>"$LOG" 2>&1 &
        PID=$!
        for _ in $(seq 200); do
            curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && { sleep 1; return; }
            kill -0 "$PID" 2>/dev/null || break
            sleep 0.05
        done
        kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true
    done
    echo "bench: daemon did not start, see $LOG" >&2
    exit 1
}
stop_daemon() {
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=0
}

# probe ROUTE METHOD CTYPE: HTTP status of a tiny request (404 = not merged).
probe() {
    curl -s -o /dev/null -w '%{http_code}' -X "$2" -H "X-API-KEY: $KEY" \
        -H "Content-Type: $3" --data-binary '' "http://127.0.0.1:$PORT$1" 2>/dev/null || echo 000
}
probe_get() {
    curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" \
        "http://127.0.0.1:$PORT$1" 2>/dev/null || echo 000
}

ROWS=()
LROWS=()
# row NAME CONNS REQS RPS SPANS MBS P50 P99 RSS LIMIT RATIO TARGET (lrow: a limit)
row() { ROWS+=("$(printf '%s|' "$@")"); }
lrow() { LROWS+=("$(printf '%s|' "$@")"); }
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# writer_sched: the writer thread's "run_ns runq_ns" (/proc schedstat:
# time on a CPU, time runnable but waiting for one).
writer_sched() {
    local t
    for t in /proc/"$PID"/task/*; do
        [ "$(cat "$t/comm" 2>/dev/null)" = ts-writer ] && { cut -d' ' -f1-2 "$t/schedstat"; return; }
    done
    echo "0 0"
}
# stage_report: asks the daemon (SIGUSR1) for its write-stage report and
# prints the new line's key=value fields (empty after 5 s without one).
stage_report() {
    local n0 i
    n0=$(grep -c 'msg="write stages"' "$LOG" || true)
    kill -USR1 "$PID" 2>/dev/null || return 0
    for i in $(seq 50); do
        if [ "$(grep -c 'msg="write stages"' "$LOG" || true)" -gt "$n0" ]; then
            grep 'msg="write stages"' "$LOG" | tail -n 1 | sed 's/.*msg="write stages" //'
            return 0
        fi
        sleep 0.1
    done
}

STAGES=()
# load NAME ARGS...: runs the load generator against the daemon, records RSS,
# and (for the write workloads) where the writes' time went.
load() {
    local name=$1; shift
    reset_peak
    stage_report >/dev/null
    local line c0 c1 s0 s1 hz w0 w1 st
    hz=$(getconf CLK_TCK)
    c0=$(cpu_ticks "$PID"); s0=$(sys_busy); w0=$(writer_sched)
    line=$("$LG" --port "$PORT" --key "$KEY" "$@")
    c1=$(cpu_ticks "$PID"); s1=$(sys_busy); w1=$(writer_sched)
    st=$(stage_report)
    line="$line $(awk -v a="$c0" -v b="$c1" -v s0="$s0" -v s1="$s1" -v hz="$hz" \
        -v t="$(kv "$line" elapsed_s)" -v g="$(kv "$line" cpu_s)" 'BEGIN {
        d = (b - a) / hz / t; o = (s1 - s0) / hz / t - d - g / t; if (o < 0) o = 0
        printf "daemon_cpu=%.2f other_cpu=%.2f", d, o }')"
    line="$line $(awk -v w0="$w0" -v w1="$w1" -v t="$(kv "$line" elapsed_s)" 'BEGIN {
        split(w0, a, " "); split(w1, b, " ")
        printf "writer_run=%.2f writer_runq=%.2f", (b[1] - a[1]) / 1e9 / t, (b[2] - a[2]) / 1e9 / t }')"
    echo "$name $line rss_peak_kb=$(proc_kb "$PID" VmHWM) $st" >> "$LOG"
    case $name in w1 | w2 | w3) [ -n "$st" ] && STAGES+=("$name $line $st") ;; esac
    LAST="$line"
    LAST_RSS=$(proc_kb "$PID" VmHWM)
    note "  $name: $(kv "$line" req_per_s) req/s, $(kv "$line" spans_per_s) spans/s," \
         "p50 $(kv "$line" p50_ms) ms, p99 $(kv "$line" p99_ms) ms, statuses $(kv "$line" statuses)," \
         "CPUs: daemon $(kv "$line" daemon_cpu), generator $(kv "$line" cpu_s) s in $(kv "$line" elapsed_s) s," \
         "other processes $(kv "$line" other_cpu)"
}
load_row() { # load_row NAME LIMIT_NAME LIMIT_VALUE RATIO_OF(spans|req) TARGET
    local l=$LAST v
    [ "$4" = spans ] && v=$(kv "$l" spans_per_s) || v=$(kv "$l" req_per_s)
    row "$1" "$(kv "$l" conns)" "$(kv "$l" ok)" "$(kv "$l" req_per_s)" "$(kv "$l" spans_per_s)" \
        "$(kv "$l" mb_per_s)" "$(kv "$l" p50_ms)" "$(kv "$l" p99_ms)" "$(mib "$LAST_RSS")" \
        "$2" "$(ratio "$v" "$3")" "$5" "$(kv "$l" daemon_cpu)/$(kv "$l" other_cpu)"
}
perf_start() { # perf_start NAME [SECONDS]: profiles the daemon for the next workload
    PERF_PID=0
    [ "${BENCH_PERF:-0}" = 1 ] || return 0
    perf record -F 499 -g -p "$PID" -o "$DATA/perf-$1.data" -- sleep "${2:-$SECS}" >>"$LOG" 2>&1 &
    PERF_PID=$!
}
perf_stop() {
    [ "${PERF_PID:-0}" -gt 0 ] || return 0
    wait "$PERF_PID" 2>/dev/null || true
    local d="$DATA/perf-$1.data"
    {
        echo "## by thread (MHD-worker: HTTP threads; ts-writer, ts-syncer; tracestore: main and acceptor)"
        perf report -i "$d" --no-children --sort comm --stdio -g none 2>/dev/null | grep -E '^ +[0-9]'
        echo "## by library"
        perf report -i "$d" --no-children --sort comm,dso --stdio -g none 2>/dev/null |
            grep -E '^ +[0-9]' | head -n 20
        echo "## top symbols"
        perf report -i "$d" --no-children --sort comm,dso,sym --stdio -g none 2>/dev/null |
            grep -E '^ +[0-9]' | head -n 40
    } > "$DATA/perf-$1.txt" || true # head closes pipes early: SIGPIPE is expected
    note "  perf profile: $DATA/perf-$1.txt"
}

busy_others() { # the three busiest processes outside this benchmark
    ps -eo pcpu=,comm= --sort=-pcpu | grep -vE ' (tracestore|loadgen|sqlite_limit|bare_mhd|ps|perf)$' |
        head -n 3 | awk '{ printf "%s%s %s%%", (NR > 1 ? ", " : ""), $2, $1 }'
}
note "tracestore benchmark, size $LABEL, $(date -u +%FT%TZ)"
note "load average $(cut -d' ' -f1-3 /proc/loadavg); busiest other processes: $(busy_others)"
note "machine: $(nproc) CPUs, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//')," \
     "$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
note "log: $LOG"

# SIZE=soak: 10 minutes of workload 3, RSS, fds and WAL size every 30 s;
# then the database must pass integrity_check and hold every acknowledged span.
if [ "$SIZE" = soak ]; then
    DB="$DATA/soak.db"; rm -f "$DB" "$DB-wal" "$DB-shm" "$DB-keys" "$DB.key"
    start_daemon "$DB"
    SOAK=${SOAK_SECONDS:-600}
    note "soak: workload 3 for $SOAK s; VmRSS, open fds and WAL size every 30 s (idle $(mib "$(proc_kb "$PID" VmRSS)") MiB, $(ls /proc/"$PID"/fd | wc -l) fds)"
    "$LG" --port "$PORT" --key "$KEY" --mode single --spt 8 --conns 64 --requests 100000000 \
        --seconds "$SOAK" --tag "$RUN_TAG" > "$DATA/soak.out" &
    LGP=$!
    for i in $(seq $((SOAK / 30))); do
        sleep 30
        note "  t=$((i * 30))s VmRSS=$(mib "$(proc_kb "$PID" VmRSS)") MiB VmHWM=$(mib "$(proc_kb "$PID" VmHWM)") MiB fds=$(ls /proc/"$PID"/fd | wc -l) wal=$(mib $(( $(stat -c %s "$DB-wal" 2>/dev/null || echo 0) / 1024 ))) MiB"
    done
    wait "$LGP"
    note "  $(cat "$DATA/soak.out")"
    st=$(stage_report)
    note "  checkpoints: background $(kv "$st" checkpoints) ($(kv "$st" checkpoint_ms) ms), by the writer $(kv "$st" writer_checkpoints) ($(kv "$st" writer_checkpoint_ms) ms)"
    stop_daemon
    ok=$(kv "$(cat "$DATA/soak.out")" ok)
    check=$(sqlite3 "$DB" "PRAGMA integrity_check; SELECT count(*) FROM spans" | tr '\n' ' ')
    note "  after stop: integrity_check and spans: $check(acknowledged: $ok)"
    case "$check" in "ok $ok "*) ;; *) note "soak: FAILED: database check does not match"; exit 1 ;; esac
    rm -f "$DB" "$DB-wal" "$DB-shm" "$DB-keys" "$DB.key"
    exit 0
fi

# The metrics and retention measurements (BENCH_ONLY parts; see the top).
# Each appends its lines to XTAB, printed after the main table.
XTAB=()
mean() { echo "$@" | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.1f", s / NF }'; }
xrow() { XTAB+=("$(printf "$@")"); }

# counted_requests BINARY: the requests /metrics counted after three
# health checks, served by BINARY on a fresh database.
counted_requests() {
    local ts0=$TS db="$DATA/metrics-check.db" n
    rm -f "$db" "$db-wal" "$db-shm" "$db-keys" "$db.key"
    TS=$1
    export TRACESTORE_METRICS_TOKEN=bench-metrics-check
    start_daemon "$db"
    unset TRACESTORE_METRICS_TOKEN
    for _ in 1 2 3; do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" || true; done
    n=$(curl -sf -H "Authorization: Bearer bench-metrics-check" "http://127.0.0.1:$PORT/metrics" |
        awk '/^tracestore_http_requests_total\{/ { s += $NF } END { printf "%d", s }')
    stop_daemon
    TS=$ts0
    rm -f "$db" "$db-wal" "$db-shm" "$db-keys" "$db.key"
    echo "${n:-0}"
}

# metrics: what keeping the /metrics counters costs workloads 1-3.
run_metrics() {
    local rounds=${BENCH_METRICS_ROUNDS:-4} msecs=${BENCH_METRICS_SECONDS:-3} mb ab ns
    note "metrics: the cost of keeping the /metrics counters ($BUILD against $NOMET)"
    xrow '%s' ""
    if [ ! -x "$NOMET/tracestore" ] || [ ! -x "$MC" ]; then
        note "  not available: $NOMET/tracestore or $MC missing (make bench builds both)"
        xrow '%s' "cost of the /metrics counters: not available ($NOMET/tracestore or $MC missing; make bench builds both)"
        return 0
    fi
    # The off build must count nothing and this one must count: a build
    # mix-up would otherwise compare a build with itself.
    local on_n off_n
    on_n=$(counted_requests "$TS"); off_n=$(counted_requests "$NOMET/tracestore")
    note "  requests counted by /metrics after 3 health checks: on $on_n, off $off_n"
    if [ "$on_n" -lt 3 ] || [ "$off_n" != 0 ]; then
        note "  not available: $NOMET/tracestore is not a -DTS_NO_METRICS=ON build of this tree"
        xrow '%s' "cost of the /metrics counters: not available ($NOMET/tracestore counts requests: rebuild it with -DTS_NO_METRICS=ON)"
        return 0
    fi
    mb=$("$MC" 5000000 2) || { note "  metrics_cost failed: $mb"; return 0; }
    echo "metrics_cost $mb" >> "$LOG"
    ns=$(kv "$mb" ns_per_req)
    note "  counter bumps of one request: $ns ns (2 threads at once; 1 thread: $(kv "$("$MC" 5000000 1)" ns_per_req) ns)"
    ab=$(AB_MODE=kept AB_SECONDS=$msecs AB_WORKLOADS="w1 w2 w3" AB_LABELS="off on" AB_LOADGEN="$LG" \
        "$ROOT/bench/ab.sh" "$NOMET" "$BUILD" "$rounds")
    sed 's/^/metrics_ab /' <<<"$ab" >> "$LOG"
    while read -r l; do note "  $l"; done <<<"$ab"
    xrow '%s' "cost of keeping the /metrics counters: this build (on) against $(basename "$NOMET") (off, -DTS_NO_METRICS=ON),"
    xrow '%s' "one daemon of each per workload, up together, the load alternating between them: $rounds runs of $msecs s each"
    xrow '%s' "(off-on, on-off, ...; bench/ab.sh AB_MODE=kept); and the counter bumps of one request timed alone:"
    xrow '%s' "$ns ns (bench/metrics_cost, 2 threads at once)"
    xrow '%-30s %9s %9s %15s %9s %9s %15s %9s %9s %4s' workload on off "rate on/off" "us/req on" off \
        "CPU/req on/off" "other CPU" bumps/CPU met
    local w name
    for w in w1 w2 w3; do
        case $w in
        w1) name="1 /spans-bulk 100 spans/req" ;;
        w2) name="2 OTLP protobuf 512 spans/req" ;;
        w3) name="3 /spans-bulk 1 span/req" ;;
        esac
        XTAB+=("$(awk -v w="$w" -v name="$name" -v ns="$ns" '
            function v(k,   i, a) { for (i = 3; i <= NF; i++) { split($i, a, "="); if (a[1] == k) return a[2] + 0 } return 0 }
            # mean of x[1..n] and its 95 % confidence half-width (Student t), as "m+-e"
            function mse(x, n,   i, m, s, t) { m = 0; for (i = 1; i <= n; i++) m += x[i]; m /= n; s = 0
                for (i = 1; i <= n; i++) s += (x[i] - m) ^ 2
                split("12.71 4.30 3.18 2.78 2.57 2.45 2.36 2.31 2.26", t, " ")
                E = (n > 1) ? ((n - 1 <= 9) ? t[n - 1] : 2.2) * sqrt(s / (n - 1) / n) : 0
                M = m; return sprintf("%.3f+-%.3f", m, E) }
            $1 == w {
                rate = (w == "w3") ? v("req_per_s") : v("spans_per_s")
                reqs = v("req_per_s") * v("elapsed_s")
                cpu = (reqs > 0) ? v("daemon_cpu_s") / reqs * 1e6 : 0
                if ($2 == "on") { on[++non] = rate; con[non] = cpu; oon += v("other_cpu") }
                else { off[++noff] = rate; coff[noff] = cpu; ooff += v("other_cpu") }
            }
            END {
                n = (non < noff) ? non : noff
                if (n == 0) { printf "%-30s not available: no A/B runs", name; exit }
                for (i = 1; i <= n; i++) {
                    rr[i] = (off[i] > 0) ? on[i] / off[i] : 0; cr[i] = (coff[i] > 0) ? con[i] / coff[i] : 0
                    son += on[i]; soff += off[i]; scon += con[i]; scoff += coff[i]
                }
                r = mse(rr, n); c = mse(cr, n); cm = M; ce = E
                share = (scon > 0) ? ns / 1000 / (scon / n) : 1
                met = (share <= 0.02) ? "yes" : "no"
                if (cm - ce > 1.02) met = met "?"  # the A/B shows > 2 % more CPU per request beyond its noise
                printf "%-30s %9.0f %9.0f %15s %9.1f %9.1f %15s %4.2f/%4.2f %8.3f%% %4s",
                    name, son / n, soff / n, r, scon / n, scoff / n, c, oon / n, ooff / n, share * 100, met
            }' <<<"$ab")")
    done
    xrow '%s' "(on, off: mean rate, spans/s (w3: req/s); rate on/off and CPU/req on/off: the mean of each pair's ratio"
    xrow '%s' " +- its 95 % confidence half-width; us/req: the daemon's CPU time per request, which other processes'"
    xrow '%s' " load moves less than the rate; other CPU: CPUs they took during the on / off runs; bumps/CPU: the"
    xrow '%s' " bumps' ns over the daemon's CPU per request (on), the share of its work the counters are; met:"
    xrow '%s' " bumps/CPU <= 2 % (the target: no workload loses more than 2 %), '?' when the A/B's CPU per request"
    xrow '%s' " is more than 2 % higher beyond its noise all the same)"
}

# retention: one-span ingest into a live workspace with and without a
# sweep of an expired one running (bench/README.md), in alternating windows
# (none, sweep, sweep, none, ...) so the machine's drift falls on both: the
# sweep starts with `set-retention old 1` and stops with `set-retention old
# 0`, each taking effect within the sweep period (1 s here).
traces_of() { "$TS" workspace list --db "$1" 2>>"$LOG" | awk -v w="$2" '$1 == w { print $3 }'; }
run_retention() {
    local n=${BENCH_RETENTION_TRACES:-10000} rs=${BENCH_RETENTION_SECONDS:-$((SECS / 4))}
    local rounds=${BENCH_RETENTION_ROUNDS:-2}
    local db="$DATA/retention.db" kold line left0 left1 i k phase
    local none="" sweep="" np50="" sp50="" np99="" sp99="" ncpu="" scpu=""
    note "retention: $n expired 100-span traces in workspace old, one-span ingest into workspace live"
    rm -f "$db" "$db-wal" "$db-shm" "$db-keys" "$db.key"
    kold=$("$TS" key create --workspace old --db "$db" 2>>"$LOG" | tail -n 1)
    "$TS" key create --workspace live --db "$db" 2>>"$LOG" | tail -n 1 > "$db.key"
    "$TS" workspace set-retention live 0 --db "$db" >>"$LOG" 2>&1
    export TRACESTORE_RETENTION_SWEEP_S=1
    start_daemon "$db"
    unset TRACESTORE_RETENTION_SWEEP_S
    # bulk spans carry 2025 times: expired under a one-day retention
    line=$("$LG" --port "$PORT" --key "$kold" --mode bulk --spans 100 --spt 100 --conns 32 \
        --requests "$n" --seconds 3600 --tag 10000002)
    echo "retention-fill $line" >> "$LOG"
    note "  fill: $(kv "$line" ok) requests, $(kv "$line" spans_per_s) spans/s"
    # a discarded first window: the checkpointer copies the fill's WAL back
    # meanwhile, which would otherwise fall on the first measured window
    load rwarm --mode single --spt 8 --conns 64 --requests 2000000 --seconds "$rs" --tag "$RUN_TAG"
    left0=$(traces_of "$db" old)
    k=0
    for i in $(seq "$rounds"); do
        for phase in none sweep; do
            # odd rounds: none then sweep; even rounds: sweep then none
            [ $((i % 2)) = 0 ] && { [ $phase = none ] && phase=sweep || phase=none; }
            if [ $phase = sweep ]; then
                "$TS" workspace set-retention old 1 --db "$db" >>"$LOG" 2>&1
            else
                "$TS" workspace set-retention old 0 --db "$db" >>"$LOG" 2>&1
            fi
            sleep 1.2 # the sweeper looks once a second
            k=$((k + 1))
            load "r$phase$i" --mode single --spt 8 --conns 64 --requests 2000000 --seconds "$rs" \
                --tag "$RUN_TAG" --first $((k * 10000000))
            echo "r$phase$i: traces of old left: $(traces_of "$db" old)" >> "$LOG"
            if [ $phase = sweep ]; then
                sweep="$sweep $(kv "$LAST" req_per_s)"; sp99="$sp99 $(kv "$LAST" p99_ms)"
                sp50="$sp50 $(kv "$LAST" p50_ms)"; scpu="$scpu $(kv "$LAST" daemon_cpu)/$(kv "$LAST" other_cpu)"
            else
                none="$none $(kv "$LAST" req_per_s)"; np99="$np99 $(kv "$LAST" p99_ms)"
                np50="$np50 $(kv "$LAST" p50_ms)"; ncpu="$ncpu $(kv "$LAST" daemon_cpu)/$(kv "$LAST" other_cpu)"
            fi
        done
    done
    "$TS" workspace set-retention old 0 --db "$db" >>"$LOG" 2>&1
    left1=$(traces_of "$db" old)
    stop_daemon
    rm -f "$db" "$db-wal" "$db-shm" "$db-keys" "$db.key"
    local mn ms pr
    mn=$(mean $none); ms=$(mean $sweep)
    pr=$(awk -v a="$none" -v b="$sweep" 'BEGIN { n = split(a, x, " "); split(b, y, " "); min = 1e9; max = 0
        for (i = 1; i <= n; i++) { r = y[i] / x[i]; if (r < min) min = r; if (r > max) max = r }
        printf "%.2f-%.2f", min, max }')
    note "  no sweep:$none req/s (mean $mn); sweep running:$sweep (mean $ms); ratio $(ratio "$ms" "$mn") (rounds $pr)"
    xrow '%s' ""
    xrow '%s' "one-span ingest into one workspace while a retention sweep deletes another's $n expired 100-span traces"
    xrow '%s' "($((n * 100)) spans): 64 conns, $rounds x $rs s without and $rounds x $rs s with the sweep, alternating"
    xrow '%s' "(set-retention old 1 / 0, retention_sweep_s=1), one daemon"
    xrow '%-26s %24s %9s %20s %20s %16s' phase "req/s per window" mean p50_ms p99_ms CPU:ts/oth
    xrow '%-26s %24s %9s %20s %20s %16s' "no sweep" "$none" "$mn" "$np50" "$np99" "$ncpu"
    xrow '%-26s %24s %9s %20s %20s %16s' "sweep running" "$sweep" "$ms" "$sp50" "$sp99" "$scpu"
    xrow '%s' "ratio (sweep running / no sweep): $(ratio "$ms" "$mn") (per round $pr); traces of old: $left0 before, $left1 after ($(( (${left0:-0} - ${left1:-0}) * 100 )) spans deleted)"
    if [ "${left1:-0}" = 0 ]; then
        xrow '%s' "(the backlog ran out: part of the sweep windows ran without a sweep; raise BENCH_RETENTION_TRACES)"
    fi
    xrow '%s' "(the sweep is paced to take at most a fifth of the writer: design ratio >= 0.8)"
}
print_xtab() {
    local l
    for l in "${XTAB[@]}"; do printf '%s\n' "$l"; done
}
if ! want core; then
    want metrics && run_metrics
    want retention && run_retention
    T_END=$(date +%s)
    {
        echo
        echo "tracestore benchmark (${BENCH_ONLY:-}), $(nproc) CPUs, $(date -u +%FT%TZ), $((T_END - T_START)) s"
        echo "machine: load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; busiest other processes: $(busy_others)"
        print_xtab
    } | tee -a "$LOG" | tee "$DATA/last-table.txt"
    exit 0
fi

# 1. The SQLite-alone limits ----------------------------------------------
note "limits: SQLite alone (same rows, schema, indexes, pragmas, VFS and page cache; one transaction per batch)"
LDB="$DATA/sqlite-limit.db"
L100=$("$SL" --db "$LDB" --batch 100 --spt 100 --seconds 15); echo "$L100" >> "$LOG"
L512=$("$SL" --db "$LDB" --batch 512 --spt 128 --seconds 15); echo "$L512" >> "$LOG"
L1=$("$SL" --db "$LDB" --batch 1 --spt 8 --seconds 5); echo "$L1" >> "$LOG"
# The daemon's group commit puts up to writer_batch_max requests in one
# transaction: 32 x 100 and 16 x 512 spans are the like-for-like batches.
L3200=$("$SL" --db "$LDB" --batch 3200 --spt 100 --seconds 15); echo "$L3200" >> "$LOG"
L8192=$("$SL" --db "$LDB" --batch 8192 --spt 128 --seconds 15); echo "$L8192" >> "$LOG"
rm -f "$LDB" "$LDB-wal" "$LDB-shm" "$LDB-keys"
for l in "$L100" "$L512" "$L1" "$L3200" "$L8192"; do
    note "  batch $(kv "$l" batch): $(kv "$l" spans_per_s) spans/s, commit p50 $(kv "$l" p50_ms) ms p99 $(kv "$l" p99_ms) ms"
    lrow "limit: SQLite alone, $(kv "$l" batch) span(s)/txn" - "$(kv "$l" batches)" \
        "$(kv "$l" txn_per_s)" "$(kv "$l" spans_per_s)" - "$(kv "$l" p50_ms)" "$(kv "$l" p99_ms)" - - - -
done
SQL100=$(kv "$L100" spans_per_s)
SQL512=$(kv "$L512" spans_per_s)
SQL3200=$(kv "$L3200" spans_per_s)
SQL8192=$(kv "$L8192" spans_per_s)

# 2. Workloads 1-3 on an empty database -----------------------------------
note "workloads 1-3: empty database"
DB="$DATA/empty.db"; rm -f "$DB" "$DB-wal" "$DB-shm" "$DB-keys" "$DB.key"
start_daemon "$DB"
RSS_IDLE=$(proc_kb "$PID" VmRSS)
note "  daemon idle VmRSS $(mib "$RSS_IDLE") MiB"
perf_start w1
load w1 --mode bulk --spans 100 --spt 100 --conns 32 --requests 20000 --seconds "$SECS" --tag "$RUN_TAG"
perf_stop w1
W1=$(kv "$LAST" spans_per_s)
load_row "1 /spans-bulk 100 spans/req" "SQLite 3200/txn" "$SQL3200" spans ">=100k spans/s, >=0.6"
ST=$(probe /v1/traces POST application/x-protobuf)
if [ "$ST" = 404 ]; then
    note "  w2: not available: POST /v1/traces answered 404"
    row "2 OTLP protobuf 512 spans/req" 16 "not available: POST /v1/traces answered 404" - - - - - - - - ">=100k spans/s, >=0.6"
else
    load w2 --mode otlp --spans 512 --spt 128 --conns 16 --requests 5000 --seconds "$SECS" --tag "$RUN_TAG"
    load_row "2 OTLP protobuf 512 spans/req" "SQLite 8192/txn" "$SQL8192" spans ">=100k spans/s, >=0.6"
fi
perf_start w3
load w3 --mode single --spt 8 --conns 64 --requests 2000000 --seconds "$SECS" --tag "$RUN_TAG"
perf_stop w3
W3_LINE=$LAST; W3_RSS=$LAST_RSS
sleep 2
RSS_AFTER=$(proc_kb "$PID" VmRSS)
stop_daemon
rm -f "$DB" "$DB-wal" "$DB-shm" "$DB-keys" "$DB.key"

# 3. The read database: prefilled once through the daemon, then reused ----
# The file name carries the id scheme of bench/spangen.c and the schema
# (ids4: random trace and span ids, rows keyed by their trace's row id), so
# a cache built by an older harness or schema is never reused.
PDB="$DATA/prefill-$LABEL-ids4.db"
if [ ! -s "$PDB.done" ] && [ "$SIZE" = large ]; then
    # 10M spans through the daemon take 7-35 min depending on the machine;
    # the fast path writes the daemon's own rows (bench/sqlite_limit.c
    # --append) with synchronous=OFF, 100 traces per transaction.
    note "prefill: $PREFILL spans (100-span traces) into $PDB, fast path (sqlite_limit --append, reused next time)"
    rm -f "$PDB" "$PDB-wal" "$PDB-shm" "$PDB-keys" "$PDB.key"
    "$TS" key create --workspace bench --db "$PDB" 2>>"$LOG" | tail -n 1 > "$PDB.key"
    line=$("$SL" --append --sync-off --tag 10000001 --db "$PDB" --batch 10000 --spt 100 \
        --batches $((PREFILL / 10000)) --seconds 36000)
    echo "prefill $line" >> "$LOG"
    note "  prefill: $(kv "$line" spans_per_s) spans/s"
    [ "$(kv "$line" batches)" = $((PREFILL / 10000)) ] || { echo "bench: prefill incomplete" >&2; exit 1; }
    echo "$PREFILL" > "$PDB.done"
    sync
elif [ ! -s "$PDB.done" ]; then
    note "prefill: $PREFILL spans (100-span traces) into $PDB through the daemon (workload 1, reused next time)"
    rm -f "$PDB" "$PDB-wal" "$PDB-shm" "$PDB-keys" "$PDB.key"
    start_daemon "$PDB"
    line=$("$LG" --port "$PORT" --key "$KEY" --mode bulk --spans 100 --spt 100 --conns 32 \
        --requests $((PREFILL / 100)) --seconds 7200 --tag 10000001)
    echo "prefill $line" >> "$LOG"
    note "  prefill: $(kv "$line" ok) requests, $(kv "$line" spans_per_s) spans/s from 0 to $PREFILL spans"
    stop_daemon
    [ "$(kv "$line" ok)" = $((PREFILL / 100)) ] || { echo "bench: prefill incomplete" >&2; exit 1; }
    echo "$PREFILL" > "$PDB.done"
    sync
fi
# The default size works on a copy so the cached database stays at 1M spans;
# the large one (too big to copy cheaply) grows by workload 5's spans.
RDB="$PDB"
if [ -z "$SIZE" ]; then
    RDB="$DATA/read-copy.db"
    cp "$PDB" "$RDB"; cp "$PDB.key" "$RDB.key"; rm -f "$RDB-wal" "$RDB-shm"
    sync # the copy's writeback would otherwise compete with the daemon's fsyncs
fi
note "workloads 4-5: database of $(cat "$PDB.done") spans ($(du -h "$PDB" | cut -f1))"
start_daemon "$RDB"
NTRACES=$(( $(cat "$PDB.done") / 100 ))
GETBYTES=$(curl -s -o /dev/null -w '%{size_download}' -H "Authorization: Bearer $KEY" \
    "http://127.0.0.1:$PORT/v1/traces/$("$LG" --mode id --get-tag 10000001 --first 0)")
note "  GET /v1/traces/{id} of a 100-span trace: $GETBYTES bytes"
perf_start w4get $((SECS / 2))
load w4get1 --mode get --conns 1 --requests 200000 --seconds $((SECS / 2)) --get-tag 10000001 --get-traces "$NTRACES"
perf_stop w4get
G1=$LAST; G1_RSS=$LAST_RSS
load w4get8 --mode get --conns 8 --requests 500000 --seconds $((SECS / 2)) --get-tag 10000001 --get-traces "$NTRACES"
G8=$LAST; G8_RSS=$LAST_RSS
ST=$(probe_get "/v1/traces?limit=1")
if [ "$ST" = 404 ]; then
    note "  w4 list: not available: GET /v1/traces answered 404"
    LIST=""
else
    load w4list --mode list --conns 1 --requests 200000 --seconds $((SECS / 2))
    LIST=$LAST; LIST_RSS=$LAST_RSS
fi
# Workload 5 against workload 1, interleaved: 4 rounds of each, alternating
# between this daemon and one on an empty database, so that load from
# other processes on the machine hits both sides alike.
FULL=("$PID" "$PORT" "$KEY")
EDB="$DATA/w5-empty.db"; rm -f "$EDB" "$EDB-wal" "$EDB-shm" "$EDB-keys" "$EDB.key"
start_daemon "$EDB"
EMPTY=("$PID" "$PORT" "$KEY")
use() { PID=$1; PORT=$2; KEY=$3; }
W5_F=""; W5_E=""; W5_RSS=0
for i in 1 2 3 4; do
    for side in full empty; do
        if [ $side = full ]; then use "${FULL[@]}"; else use "${EMPTY[@]}"; fi
        load "w5$side$i" --mode bulk --spans 100 --spt 100 --conns 32 --requests 20000 \
            --seconds $((SECS / 4)) --tag "$RUN_TAG" --first $((i * 1000000))
        if [ $side = full ]; then
            W5_F="$W5_F $(kv "$LAST" spans_per_s)"; W5=$LAST; W5_N[$i]=$(kv "$LAST" requests)
            [ "$LAST_RSS" -gt "$W5_RSS" ] && W5_RSS=$LAST_RSS
        else
            W5_E="$W5_E $(kv "$LAST" spans_per_s)"
        fi
    done
done
W5_FULL=$(mean $W5_F); W5_EMPTY=$(mean $W5_E)
note "  w5: full database$W5_F spans/s (mean $W5_FULL); empty$W5_E (mean $W5_EMPTY);" \
     "ratio $(ratio "$W5_FULL" "$W5_EMPTY")"
use "${EMPTY[@]}"; stop_daemon
use "${FULL[@]}"
# The large database is reused: workload 5's traces (one per request) are
# deleted through the API again, so the next run reads and writes at the
# size it names instead of one that grows with every run.
if [ "$RDB" = "$PDB" ]; then
    for i in 1 2 3 4; do
        [ "${W5_N[$i]:-0}" -gt 0 ] || continue
        # +32: requests still in flight when the round's time ran out may
        # have been committed; deleting a trace that is not there is a 404.
        line=$("$LG" --port "$PORT" --key "$KEY" --mode del --conns 8 \
            --requests $((W5_N[i] + 32)) --seconds 600 --get-tag "$RUN_TAG" --first $((i * 1000000)))
        echo "w5del$i $line" >> "$LOG"
        [ "$(kv "$line" ok)" -ge "${W5_N[$i]}" ] ||
            note "  w5 cleanup round $i: $(kv "$line" ok) of ${W5_N[$i]} traces deleted ($(kv "$line" statuses))"
    done
fi
stop_daemon
rm -f "$EDB" "$EDB-wal" "$EDB-shm" "$EDB-keys" "$EDB.key"
[ "$RDB" != "$PDB" ] && rm -f "$RDB" "$RDB-wal" "$RDB-shm" "$RDB-keys" "$RDB.key"

# 4. The bare libmicrohttpd limit, same requests ---------------------------
note "limits: bare libmicrohttpd, same requests"
for _try in 1 2 3 4 5; do
    BPORT=$(free_port)
    "$BM" "$BPORT" "${GETBYTES:-100000}" >>"$LOG" 2>&1 &
    BPID=$!
    sleep 0.5
    curl -s -o /dev/null "http://127.0.0.1:$BPORT/" 2>/dev/null && break
    kill -TERM "$BPID" 2>/dev/null || true; wait "$BPID" 2>/dev/null || true
    BPID=0
done
[ "$BPID" -gt 0 ] || { echo "bench: bare_mhd did not start, see $LOG" >&2; exit 1; }
bare() { local l; l=$("$LG" --port "$BPORT" --key x "$@"); echo "bare $l" >> "$LOG"; echo "$l"; }
B1=$(bare --mode bulk --spans 100 --spt 100 --conns 32 --requests 50000 --seconds 10 --tag 1)
B3=$(bare --mode single --spt 8 --conns 64 --requests 5000000 --seconds 10 --tag 1)
BG=$(bare --mode get --conns 1 --requests 2000000 --seconds 10)
BG8=$(bare --mode get --conns 8 --requests 5000000 --seconds 10)
kill -TERM "$BPID"; wait "$BPID" 2>/dev/null || true; BPID=0
for b in "$B1" "$B3" "$BG" "$BG8"; do
    lrow "limit: bare MHD, $(kv "$b" mode) $(kv "$b" conns) conns" "$(kv "$b" conns)" "$(kv "$b" ok)" \
        "$(kv "$b" req_per_s)" "$(kv "$b" spans_per_s)" "$(kv "$b" mb_per_s)" "$(kv "$b" p50_ms)" \
        "$(kv "$b" p99_ms)" - - - -
done

# 5. The metrics and retention measurements, then the table ---------------
want metrics && run_metrics
want retention && run_retention
LAST=$W3_LINE; LAST_RSS=$W3_RSS
load_row "3 /spans-bulk 1 span/req" "bare MHD 1-span req/s" "$(kv "$B3" req_per_s)" req ">=25k req/s"
LAST=$G1; LAST_RSS=$G1_RSS
load_row "4 GET trace (100 spans), $LABEL db" "bare MHD GET 1 conn" "$(kv "$BG" req_per_s)" req "p99<=2 ms (10M)"
LAST=$G8; LAST_RSS=$G8_RSS
load_row "4 GET trace (100 spans), $LABEL db" "bare MHD GET 8 conns" "$(kv "$BG8" req_per_s)" req "-"
if [ -n "$LIST" ]; then
    LAST=$LIST; LAST_RSS=$LIST_RSS
    load_row "4 GET /v1/traces filtered list, $LABEL db" - 0 req "p99<=20 ms"
else
    row "4 GET /v1/traces filtered list" 1 "not available: GET /v1/traces answered 404" - - - - - - - - "p99<=20 ms"
fi
LAST="$W5"; LAST_RSS=$W5_RSS
LAST="${LAST/spans_per_s=$(kv "$W5" spans_per_s)/spans_per_s=$W5_FULL}"
load_row "5 /spans-bulk into $LABEL db (x4 alt.)" "same, empty db (x4 alt.)" "$W5_EMPTY" spans ">=0.8"

T_END=$(date +%s)
{
echo
echo "tracestore benchmark, $(nproc) CPUs, size $LABEL, $(date -u +%FT%TZ), $((T_END - T_START)) s"
echo "machine: load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; busiest other processes: $(busy_others)"
echo "daemon RSS: idle $(mib "$RSS_IDLE") MiB at start, $(mib "$RSS_AFTER") MiB idle after workloads 1-3 (targets: <=64 MiB idle, <=256 MiB peak)"
printf '%-44s %5s %9s %9s %10s %7s %8s %8s %8s %9s  %-22s %6s  %s\n' \
    workload conns ok req/s spans/s MB/s p50_ms p99_ms RSS_MiB CPU:ts/oth limit ratio target
for r in "${ROWS[@]}" "${LROWS[@]}"; do
    IFS='|' read -r a b c d e f g h i j k l m <<< "$r"
    if [[ "$c" == "not available"* ]]; then
        printf '%-44s %5s %s  (target %s)\n' "$a" "$b" "$c" "$l"
    else
        printf '%-44s %5s %9s %9s %10s %7s %8s %8s %8s %9s  %-22s %6s  %s\n' "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h" "$i" "${m:--}" "$j" "$k" "$l"
    fi
done
echo "(ratio: throughput / limit; workload 5: rate into the full database / rate into the empty one;"
echo " CPU ts/oth: CPUs used by the daemon / by processes outside this benchmark, of $(nproc);"
echo " RSS: daemon VmHWM during the workload)"
echo
echo "where the writes' time went (mean microseconds per request, from the daemon's SIGUSR1 report)"
printf '%-5s %7s %7s %7s %7s %7s %7s %7s %8s %6s %9s %9s %9s %9s %13s %13s\n' \
    load body handler queue tx sync resume send total job/tx writer_run wr_runq us/span cpu_bound \
    ckpt_bg ckpt_wr
for s in "${STAGES[@]}"; do
    set -- $s
    n=$1
    awk -v n="$n" -v ncpu="$(nproc)" -v l="$s" 'BEGIN {
        m = split(l, f, " "); for (i = 2; i <= m; i++) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
        rate = v["spans_per_s"] + 0; if (rate <= 0) rate = v["req_per_s"] + 0
        us = (rate > 0) ? v["daemon_cpu"] / rate * 1e6 : 0
        gen = (rate > 0 && v["elapsed_s"] > 0) ? v["cpu_s"] / v["elapsed_s"] / rate * 1e6 : 0
        bound = (us + gen > 0) ? ncpu / (us + gen) * 1e6 : 0
        printf "%-5s %7s %7s %7s %7s %7s %7s %7s %8s %6s %9s %9s %9.1f %9.0f %13s %13s\n", n,
            v["body_us"], v["handler_us"], v["queue_us"], v["tx_us"], v["sync_us"], v["resume_us"],
            v["send_us"], v["total_us"], v["jobs_per_tx"], v["writer_run"], v["writer_runq"], us,
            bound, v["checkpoints"] "/" int(v["checkpoint_ms"]),
            v["writer_checkpoints"] "/" int(v["writer_checkpoint_ms"]) }'
done
echo "(writer_run / wr_runq: fraction of the run the writer thread was on a CPU / runnable but waiting"
echo " for one; us/span: daemon CPU time per span (per request for w3); cpu_bound: the rate at which"
echo " daemon and load generator together would use all $(nproc) CPUs at this CPU cost per span;"
echo " ckpt_bg / ckpt_wr: checkpoints/milliseconds in the background / by the writer itself)"
print_xtab
} | tee -a "$LOG" | tee "$DATA/last-table.txt"
