#!/usr/bin/env bash
# bench/ab.sh OLD_BUILD NEW_BUILD [ROUNDS]: alternating A/B runs of two
# release builds on fresh databases, AB_SECONDS (default 10) s of each
# workload of AB_WORKLOADS (default "w1 w2"; w3 too) per round: old then new
# in odd rounds, new then old in even ones, so a steady drift of the machine
# falls on both alike. OLD_BUILD and NEW_BUILD hold a `tracestore` binary;
# the load generator is NEW_BUILD's, or AB_LOADGEN. One line per run:
#   WORKLOAD LABEL spans_per_s=... req_per_s=... p99_ms=... daemon_cpu_s=... elapsed_s=...
# (daemon_cpu_s: the daemon's CPU time during the run). The way
# docs/PERFORMANCE.md judges a lever on this noisy machine: a difference
# counts only when it is larger than either build's spread. bench/run.sh's
# metrics rows use it with AB_LABELS="off on".
set -euo pipefail
OLD=$1 NEW=$2 ROUNDS=${3:-2}
SECS=${AB_SECONDS:-10}
LG=${AB_LOADGEN:-$NEW/bench/loadgen}
read -r LOLD LNEW <<<"${AB_LABELS:-old new}"
free_port() {
    local p
    for _ in $(seq 50); do
        p=$((30000 + RANDOM % 20000))
        ss -ltn 2>/dev/null | grep -q ":$p " || { echo "$p"; return; }
    done
    echo 38080
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
run() { # build label workload loadgen-args...
    local b=$1 label=$2 w=$3; shift 3
    local d; d=$(mktemp -d)
    local key; key=$("$b/tracestore" key create --workspace ab --db "$d/t.db" 2>/dev/null | tail -n 1)
    local port pid up=0
    for _try in 1 2 3 4 5; do # a random port may be taken by another process meanwhile
        port=$(free_port)
        TRACESTORE_LOG_LEVEL=warn "$b/tracestore" serve --db "$d/t.db" --listen "127.0.0.1:$port" 2>/dev/null &
        pid=$!
        for _ in $(seq 100); do
            curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && { up=1; break; }
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        [ "$up" = 1 ] && break
        kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
    done
    [ "$up" = 1 ] || { echo "ab: $b/tracestore did not start" >&2; rm -rf "$d"; exit 1; }
    local c0 c1 hz line
    hz=$(getconf CLK_TCK)
    c0=$(cpu_ticks "$pid")
    line=$("$LG" --port "$port" --key "$key" "$@" --seconds "$SECS" --tag $((RANDOM + 10000)))
    c1=$(cpu_ticks "$pid")
    kill -TERM "$pid"; wait "$pid" || true
    rm -rf "$d"
    echo "$w $label $(tr ' ' '\n' <<<"$line" | grep -E '^(spans_per_s|req_per_s|p99_ms|elapsed_s)=' | tr '\n' ' ')daemon_cpu_s=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }')"
}
for w in ${AB_WORKLOADS:-w1 w2}; do
    case $w in
    w1) args=(--mode bulk --spans 100 --spt 100 --conns 32 --requests 20000) ;;
    w2) args=(--mode otlp --spans 512 --spt 128 --conns 16 --requests 5000) ;;
    w3) args=(--mode single --spt 8 --conns 64 --requests 2000000) ;;
    *) echo "ab: unknown workload $w (w1, w2, w3)" >&2; exit 2 ;;
    esac
    for i in $(seq "$ROUNDS"); do
        if [ $((i % 2)) = 1 ]; then
            run "$OLD" "$LOLD" "$w" "${args[@]}"
            run "$NEW" "$LNEW" "$w" "${args[@]}"
        else
            run "$NEW" "$LNEW" "$w" "${args[@]}"
            run "$OLD" "$LOLD" "$w" "${args[@]}"
        fi
    done
done
