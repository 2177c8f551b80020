#!/usr/bin/env bash
# bench/pg.sh BUILD_DIR: `make bench STORE=postgres` (issue 19 point 7).
# In one run on one machine, against a throw-away PostgreSQL cluster
# (tests/pg/cluster.sh, Unix socket):
#   - the limit: PostgreSQL alone inserting the benchmark's rows into the
#     backend's schema at the daemon's transaction sizes (bench/pg_limit.c);
#   - workloads 1 (bulk, 100 spans/request) and 3 (one span/request) through
#     one daemon, then through two daemons on the same database at once;
#   - GET trace (100 spans) p50/p99 on PostgreSQL and on SQLite, each
#     prefilled with the same PG_PREFILL spans through the daemon.
# Environment: BENCH_SECONDS (per workload, default 15), PG_PREFILL (spans
# in the read database, default 200000).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build-release}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
TS="$BUILD/tracestore"
LG="$BUILD/bench/loadgen"
PL="$BUILD/bench/pg_limit"
SECS=${BENCH_SECONDS:-15}
PREFILL=${PG_PREFILL:-200000}
for f in "$TS" "$LG" "$PL"; do
    [ -x "$f" ] || { echo "bench: $f missing; build with -DTS_BENCH=ON (make bench)" >&2; exit 2; }
done
DATA="$BUILD/bench-data"
mkdir -p "$DATA"
LOG="$DATA/pg-run-$(date +%Y%m%d-%H%M%S).log"
CL=$(mktemp -d /tmp/ts-bench-pg-XXXXXX)
RUN_TAG=$(printf '%08x' $(( ($(date +%s) & 0x7fffffff) | 0x20000000 )))
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
    "$ROOT/tests/pg/cluster.sh" stop "$CL" >/dev/null 2>&1 || true
}
trap cleanup EXIT

note() { printf '%s\n' "$*" | tee -a "$LOG" >&2; }
kv() { printf '%s\n' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2; exit }'; }
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

BASE=$("$ROOT/tests/pg/cluster.sh" start "$CL")
psql_do() { psql "$BASE dbname=postgres" -qAtc "$1" >>"$LOG" 2>&1; }
note "tracestore PostgreSQL benchmark, $(nproc) CPUs, $(date -u +%FT%TZ); cluster $CL"
note "load average $(cut -d' ' -f1-3 /proc/loadavg)"
note "log: $LOG"

# start_pg DB [VAR]: a daemon on database DB (created when missing); sets
# PORT, PID and KEY (one key per database, kept in $CL/DB.key).
start_pg() {
    local db=$1
    psql "$BASE dbname=postgres" -qAtc "SELECT 1 FROM pg_database WHERE datname = '$db'" |
        grep -q 1 || psql_do "CREATE DATABASE $db"
    export TRACESTORE_STORE=postgres TRACESTORE_POSTGRES_URL="$BASE dbname=$db"
    if [ ! -s "$CL/$db.key" ]; then
        "$TS" key create --workspace bench 2>>"$LOG" | tail -n 1 > "$CL/$db.key"
    fi
    KEY=$(cat "$CL/$db.key")
    PORT=$(free_port)
    TRACESTORE_LOG_LEVEL=warn "$TS" serve --listen "127.0.0.1:$PORT" >>"$LOG" 2>&1 &
    PID=$!
    PIDS+=("$PID")
    unset TRACESTORE_STORE TRACESTORE_POSTGRES_URL
    for _ in $(seq 300); do
        curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "bench: daemon on $db did not start, see $LOG" >&2
    exit 1
}
start_sqlite() {
    local db=$1
    "$TS" key create --workspace bench --db "$db" 2>>"$LOG" | tail -n 1 > "$db.key"
    KEY=$(cat "$db.key")
    PORT=$(free_port)
    TRACESTORE_LOG_LEVEL=warn "$TS" serve --db "$db" --listen "127.0.0.1:$PORT" >>"$LOG" 2>&1 &
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 300); do
        curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return
        sleep 0.05
    done
    echo "bench: SQLite daemon did not start, see $LOG" >&2
    exit 1
}
stop_all() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
    PIDS=()
}
lg() { # lg NAME PORT KEY ARGS...: one loadgen run, logged
    local name=$1 port=$2 key=$3 line
    shift 3
    line=$("$LG" --port "$port" --key "$key" "$@")
    echo "$name $line" >> "$LOG"
    echo "$line"
}

ROWS=()
row() { ROWS+=("$(printf '%s|' "$@")"); }

# 1. The limit: PostgreSQL alone ---------------------------------------------
note "limit: PostgreSQL alone, same rows and schema (pg_limit)"
for b in 100 3200; do
    psql_do "DROP DATABASE IF EXISTS lim"; psql_do "CREATE DATABASE lim"
    L=$("$PL" --url "$BASE dbname=lim" --batch "$b" --spt 100 --seconds "$SECS")
    echo "limit $L" >> "$LOG"
    note "  batch $b: $(kv "$L" spans_per_s) spans/s, commit p50 $(kv "$L" p50_ms) ms, p99 $(kv "$L" p99_ms) ms"
    eval "LIM$b=$(kv "$L" spans_per_s)"
    row "limit: PostgreSQL alone, $b spans/txn" - "$(kv "$L" spans_per_s)" "$(kv "$L" p50_ms)" "$(kv "$L" p99_ms)" - -
done
psql_do "DROP DATABASE IF EXISTS lim"

# 2. One daemon -----------------------------------------------------------
note "one daemon on PostgreSQL"
start_pg w1
W1=$(lg w1 "$PORT" "$KEY" --mode bulk --spans 100 --spt 100 --conns 32 --requests 20000 --seconds "$SECS" --tag "$RUN_TAG")
note "  w1: $(kv "$W1" spans_per_s) spans/s, p99 $(kv "$W1" p99_ms) ms, statuses $(kv "$W1" statuses)"
W3=$(lg w3 "$PORT" "$KEY" --mode single --spt 8 --conns 64 --requests 2000000 --seconds "$SECS" --tag "$RUN_TAG")
note "  w3: $(kv "$W3" req_per_s) req/s, p99 $(kv "$W3" p99_ms) ms, statuses $(kv "$W3" statuses)"
stop_all
row "1 /spans-bulk 100 spans/req, 1 daemon" 32 "$(kv "$W1" spans_per_s)" "$(kv "$W1" p50_ms)" "$(kv "$W1" p99_ms)" \
    "$(ratio "$(kv "$W1" spans_per_s)" "$LIM3200") of 3200/txn, $(ratio "$(kv "$W1" spans_per_s)" "$LIM100") of 100/txn" ">=0.6"
row "3 /spans-bulk 1 span/req, 1 daemon" 64 "$(kv "$W3" req_per_s) req/s" "$(kv "$W3" p50_ms)" "$(kv "$W3" p99_ms)" - -

# 3. Two daemons, one database ----------------------------------------------
note "two daemons on one PostgreSQL database"
start_pg w2d; P1=$PORT; K=$KEY
start_pg w2d; P2=$PORT
lg w1a "$P1" "$K" --mode bulk --spans 100 --spt 100 --conns 16 --requests 20000 --seconds "$SECS" --tag "$RUN_TAG" --first 0 > "$CL/a.out" &
A=$!
lg w1b "$P2" "$K" --mode bulk --spans 100 --spt 100 --conns 16 --requests 20000 --seconds "$SECS" --tag "$RUN_TAG" --first 5000000 > "$CL/b.out" &
B=$!
wait "$A" "$B"
WA=$(cat "$CL/a.out"); WB=$(cat "$CL/b.out")
W1X2=$(awk -v a="$(kv "$WA" spans_per_s)" -v b="$(kv "$WB" spans_per_s)" 'BEGIN { printf "%.1f", a + b }')
note "  w1 x2: $(kv "$WA" spans_per_s) + $(kv "$WB" spans_per_s) = $W1X2 spans/s (statuses $(kv "$WA" statuses) / $(kv "$WB" statuses))"
lg w3a "$P1" "$K" --mode single --spt 8 --conns 32 --requests 2000000 --seconds "$SECS" --tag "$RUN_TAG" --first 0 > "$CL/a.out" &
A=$!
lg w3b "$P2" "$K" --mode single --spt 8 --conns 32 --requests 2000000 --seconds "$SECS" --tag "$RUN_TAG" --first 50000000 > "$CL/b.out" &
B=$!
wait "$A" "$B"
WA=$(cat "$CL/a.out"); WB=$(cat "$CL/b.out")
W3X2=$(awk -v a="$(kv "$WA" req_per_s)" -v b="$(kv "$WB" req_per_s)" 'BEGIN { printf "%.1f", a + b }')
note "  w3 x2: $(kv "$WA" req_per_s) + $(kv "$WB" req_per_s) = $W3X2 req/s"
stop_all
row "1 /spans-bulk 100 spans/req, 2 daemons" 32 "$W1X2" - - "$(ratio "$W1X2" "$LIM3200") of 3200/txn" ">=0.6"
row "3 /spans-bulk 1 span/req, 2 daemons" 64 "$W3X2 req/s" - - "$(ratio "$W3X2" "$(kv "$W3" req_per_s)") of 1 daemon" -

# 4. GET trace at the same database size, PostgreSQL and SQLite ------------
note "GET trace (100 spans): $PREFILL spans prefilled through the daemon on each backend"
NTR=$((PREFILL / 100))
start_pg rd
F=$(lg prefill-pg "$PORT" "$KEY" --mode bulk --spans 100 --spt 100 --conns 32 --requests "$NTR" --seconds 3600 --tag 10000001)
[ "$(kv "$F" ok)" = "$NTR" ] || { echo "bench: PostgreSQL prefill incomplete: $F" >&2; exit 1; }
# the steady state a running server reaches (autovacuum has visited the new rows), rather than
# an autovacuum of the fresh 200k rows competing with the reads for the 2 CPUs
psql "$BASE dbname=rd" -qc "VACUUM ANALYZE" >>"$LOG" 2>&1
GP=$(lg get-pg "$PORT" "$KEY" --mode get --conns 1 --requests 200000 --seconds "$SECS" --get-tag 10000001 --get-traces "$NTR")
note "  PostgreSQL: $(kv "$GP" req_per_s) req/s, p50 $(kv "$GP" p50_ms) ms, p99 $(kv "$GP" p99_ms) ms"
stop_all
SDB="$CL/rd-sqlite.db"
start_sqlite "$SDB"
F=$(lg prefill-sqlite "$PORT" "$KEY" --mode bulk --spans 100 --spt 100 --conns 32 --requests "$NTR" --seconds 3600 --tag 10000001)
[ "$(kv "$F" ok)" = "$NTR" ] || { echo "bench: SQLite prefill incomplete: $F" >&2; exit 1; }
GS=$(lg get-sqlite "$PORT" "$KEY" --mode get --conns 1 --requests 200000 --seconds "$SECS" --get-tag 10000001 --get-traces "$NTR")
note "  SQLite: $(kv "$GS" req_per_s) req/s, p50 $(kv "$GS" p50_ms) ms, p99 $(kv "$GS" p99_ms) ms"
stop_all
row "4 GET trace, PostgreSQL, $NTR traces" 1 "$(kv "$GP" req_per_s) req/s" "$(kv "$GP" p50_ms)" "$(kv "$GP" p99_ms)" \
    "p99 $(ratio "$(kv "$GP" p99_ms)" "$(kv "$GS" p99_ms)")x SQLite's" "<=2x"
row "4 GET trace, SQLite, $NTR traces" 1 "$(kv "$GS" req_per_s) req/s" "$(kv "$GS" p50_ms)" "$(kv "$GS" p99_ms)" - -

{
echo
echo "tracestore on PostgreSQL, $(nproc) CPUs, $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %5s %16s %8s %8s  %-36s %s\n' workload conns spans/s p50_ms p99_ms "ratio" target
for r in "${ROWS[@]}"; do
    IFS='|' read -r a b c d e f g <<< "$r"
    printf '%-44s %5s %16s %8s %8s  %-36s %s\n' "$a" "$b" "$c" "$d" "$e" "$f" "$g"
done
echo "(limit: bench/pg_limit.c, PostgreSQL alone inserting the same rows into the same schema: ids from"
echo " the identity sequences, one COPY per table, one connection, synchronous_commit on; the group"
echo " commit puts up to writer_batch_max requests (32 x 100 spans here) in one transaction)"
} | tee -a "$LOG" | tee "$DATA/last-pg-table.txt"
