#!/usr/bin/env bash
# bench/ab.sh OLD_BUILD NEW_BUILD [ROUNDS]: alternating A/B runs of two
# release builds (each built with -DTS_BENCH=ON) on fresh databases, 10 s of
# w1 (/spans-bulk, 100 spans) then of w2 (OTLP, 512 spans) per round, old
# first. The way docs/PERFORMANCE.md judges a lever on this noisy machine:
# a difference counts only when it is larger than either build's spread.
set -euo pipefail
OLD=$1 NEW=$2 ROUNDS=${3:-2}
run() { # build label workload loadgen-args...
    local b=$1 label=$2 w=$3; shift 3
    local d; d=$(mktemp -d)
    local key; key=$("$b/tracestore" key create --workspace ab --db "$d/t.db" 2>/dev/null | tail -n 1)
    local port=$((30000 + RANDOM % 20000))
    TRACESTORE_LOG_LEVEL=warn "$b/tracestore" serve --db "$d/t.db" --listen "127.0.0.1:$port" 2>/dev/null &
    local pid=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
    local line; line=$("$b/bench/loadgen" --port "$port" --key "$key" "$@" --seconds 10 --tag $((RANDOM + 10000)))
    kill -TERM "$pid"; wait "$pid" || true
    rm -rf "$d"
    echo "$w $label $(tr ' ' '\n' <<<"$line" | grep -E '^(spans_per_s|req_per_s)=' | tr '\n' ' ')"
}
for w in w1 w2; do
    case $w in
    w1) args=(--mode bulk --spans 100 --spt 100 --conns 32 --requests 20000) ;;
    w2) args=(--mode otlp --spans 512 --spt 128 --conns 16 --requests 5000) ;;
    esac
    for _ in $(seq "$ROUNDS"); do
        run "$OLD" old "$w" "${args[@]}"
        run "$NEW" new "$w" "${args[@]}"
    done
done
