#!/bin/sh
# Runs every libFuzzer target of a TS_FUZZ build for SECONDS each (default
# 60), starting from the seed corpus in tests/fuzz/corpus/<target>/. New
# inputs go to <builddir>/fuzz-corpus/<target>/ (copy the interesting ones
# into the seed corpus by hand); crashes to <builddir>/fuzz-artifacts/.
# Usage: tests/fuzz/run.sh <builddir> [seconds]
set -e
build=${1:?usage: $0 <builddir> [seconds]}
secs=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$build/fuzz-artifacts"
status=0
for t in otlp_pb otlp_json gzip prices spans_bulk json_guard trulayer_ingest respan_ingest \
         filters track_request time ids config; do
  bin="$build/tests/fuzz/fuzz_$t"
  [ -x "$bin" ] || { echo "run.sh: $bin missing (build with -DTS_FUZZ=ON and clang)" >&2; exit 1; }
  mkdir -p "$build/fuzz-corpus/$t"
  echo "== fuzz_$t for ${secs}s"
  "$bin" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$build/fuzz-artifacts/$t-" \
    "$build/fuzz-corpus/$t" "$here/corpus/$t" || status=1
done
exit $status
