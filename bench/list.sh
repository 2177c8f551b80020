#!/bin/sh
# bench/list.sh BUILD_DIR [TRACES]: fills a fresh database with TRACES
# traces (default 1000000) and times the trace-list queries.
set -e
build=${1:-build-release}
n=${2:-1000000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$build/bench/bench_list" "$dir/bench.db" "$n"
