#!/usr/bin/env bash
# bench/ab.sh OLD_BUILD NEW_BUILD [ROUNDS]: alternating A/B runs of two
# release builds, AB_SECONDS (default 10) s of each workload of
# AB_WORKLOADS (default "w1 w2"; w3 too) per round: old then new in odd
# rounds, new then old in even ones, so a steady drift of the machine falls
# on both alike. AB_MODE=fresh (the default): each run on a fresh database
# and daemon; AB_MODE=kept: one daemon of each build per workload, started
# on fresh databases and kept up while the load generator alternates
# between them, so runs can be short and many (bench/run.sh's metrics rows:
# pairs a few seconds apart see the same machine). OLD_BUILD and NEW_BUILD
# hold a `tracestore` binary; the load generator is NEW_BUILD's, or
# AB_LOADGEN. One line per run:
#   WORKLOAD LABEL elapsed_s=... req_per_s=... spans_per_s=... p99_ms=... daemon_cpu_s=... other_cpu=...
# (daemon_cpu_s: the daemon's CPU seconds during the run; other_cpu: CPUs
# used meanwhile by processes other than the daemon and the generator).
# The way docs/PERFORMANCE.md judges a lever on this noisy machine: a
# difference counts only when it is larger than either build's spread.
# AB_LABELS="off on" renames old and new.
set -euo pipefail
OLD=$1 NEW=$2 ROUNDS=${3:-2}
SECS=${AB_SECONDS:-10}
MODE=${AB_MODE:-fresh}
LG=${AB_LOADGEN:-$NEW/bench/loadgen}
read -r LOLD LNEW <<<"${AB_LABELS:-old new}"
case $MODE in fresh | kept) ;; *) echo "ab: AB_MODE is fresh or kept" >&2; exit 2 ;; esac
DIRS=()
PIDS=()
cleanup() {
    local p d
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
    for d in "${DIRS[@]+"${DIRS[@]}"}"; do rm -rf "$d"; done
}
trap cleanup EXIT
free_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 12000)) # below the ephemeral ports (32768-)
        ss -ltn 2>/dev/null | grep -c ":$p " >/dev/null || { echo "$p"; return; }
    done
    echo 28080
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
sys_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
# up BUILD: starts BUILD's daemon on a fresh database; sets D_PID D_PORT D_KEY D_DIR.
up() {
    local b=$1 ok=0
    D_DIR=$(mktemp -d)
    DIRS+=("$D_DIR")
    D_KEY=$("$b/tracestore" key create --workspace ab --db "$D_DIR/t.db" 2>/dev/null | tail -n 1)
    for _try in 1 2 3 4 5; do # a random port may be taken by another process meanwhile
        D_PORT=$(free_port)
        TRACESTORE_LOG_LEVEL=warn "$b/tracestore" serve --db "$D_DIR/t.db" --listen "127.0.0.1:$D_PORT" \
            >>"$D_DIR/serve.log" 2>&1 &
        D_PID=$!
        for _ in $(seq 100); do
            curl -sf "http://127.0.0.1:$D_PORT/healthz" >/dev/null 2>&1 && { ok=1; break; }
            kill -0 "$D_PID" 2>/dev/null || break
            sleep 0.05
        done
        [ "$ok" = 1 ] && break
        kill -TERM "$D_PID" 2>/dev/null || true
        wait "$D_PID" 2>/dev/null || true
    done
    [ "$ok" = 1 ] || { echo "ab: $b/tracestore did not start: $(tail -n 3 "$D_DIR/serve.log")" >&2; exit 1; }
    PIDS+=("$D_PID")
}
down() { # PID DIR
    local p keep=()
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    rm -rf "$2"
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    PIDS=("${keep[@]+"${keep[@]}"}")
}
# measure LABEL WORKLOAD PID PORT KEY FIRST loadgen-args...: one run, one line.
measure() {
    local label=$1 w=$2 pid=$3 port=$4 key=$5 first=$6; shift 6
    local c0 c1 s0 s1 hz line
    hz=$(getconf CLK_TCK)
    c0=$(cpu_ticks "$pid"); s0=$(sys_busy)
    line=$("$LG" --port "$port" --key "$key" "$@" --seconds "$SECS" --tag "$TAG" --first "$first")
    c1=$(cpu_ticks "$pid"); s1=$(sys_busy)
    echo "$w $label $(tr ' ' '\n' <<<"$line" | grep -E '^(spans_per_s|req_per_s|p99_ms|elapsed_s)=' | tr '\n' ' ')$(
        awk -v a="$c0" -v b="$c1" -v s0="$s0" -v s1="$s1" -v hz="$hz" -v g="$(tr ' ' '\n' <<<"$line" |
            sed -n 's/^cpu_s=//p')" -v t="$(tr ' ' '\n' <<<"$line" | sed -n 's/^elapsed_s=//p')" 'BEGIN {
            d = (b - a) / hz; o = (t > 0) ? ((s1 - s0) / hz - d - g) / t : 0; if (o < 0) o = 0
            printf "daemon_cpu_s=%.2f other_cpu=%.2f", d, o }')"
}
for w in ${AB_WORKLOADS:-w1 w2}; do
    case $w in
    w1) args=(--mode bulk --spans 100 --spt 100 --conns 32 --requests 20000) ;;
    w2) args=(--mode otlp --spans 512 --spt 128 --conns 16 --requests 5000) ;;
    w3) args=(--mode single --spt 8 --conns 64 --requests 2000000) ;;
    *) echo "ab: unknown workload $w (w1, w2, w3)" >&2; exit 2 ;;
    esac
    TAG=$((RANDOM + 10000))
    if [ "$MODE" = kept ]; then
        up "$OLD"; O=("$D_PID" "$D_PORT" "$D_KEY" "$D_DIR")
        up "$NEW"; N=("$D_PID" "$D_PORT" "$D_KEY" "$D_DIR")
        sleep 1
    fi
    for i in $(seq "$ROUNDS"); do
        order=(old new)
        [ $((i % 2)) = 0 ] && order=(new old)
        for side in "${order[@]}"; do
            b=$OLD label=$LOLD
            [ "$side" = new ] && b=$NEW label=$LNEW
            if [ "$MODE" = fresh ]; then
                up "$b"
                measure "$label" "$w" "$D_PID" "$D_PORT" "$D_KEY" 0 "${args[@]}"
                down "$D_PID" "$D_DIR"
            elif [ "$side" = old ]; then
                measure "$label" "$w" "${O[0]}" "${O[1]}" "${O[2]}" $((i * 10000000)) "${args[@]}"
            else
                measure "$label" "$w" "${N[0]}" "${N[1]}" "${N[2]}" $((i * 10000000)) "${args[@]}"
            fi
        done
    done
    if [ "$MODE" = kept ]; then
        down "${O[0]}" "${O[3]}"
        down "${N[0]}" "${N[3]}"
    fi
done
