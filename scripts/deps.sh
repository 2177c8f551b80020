#!/bin/sh
# Installs the Debian packages tracestore needs to build and test.
# Usage: scripts/deps.sh [run|test]. As root it runs apt-get; otherwise it
# prints the exact apt-get line and exits 1 so `make` stops.
set -e
RUN_PKGS="build-essential cmake pkg-config libmicrohttpd-dev libcjson-dev libsqlite3-dev uuid-dev libsodium-dev zlib1g-dev libprotobuf-c-dev protobuf-c-compiler libjs-chart.js libpq-dev"
TEST_PKGS="check libcurl4-openssl-dev sqlite3 curl clang libclang-rt-14-dev nodejs npm prometheus man-db groff-base chromium postgresql"
case "${1:-run}" in
  run)  want="$RUN_PKGS" ;;
  test) want="$RUN_PKGS $TEST_PKGS" ;;
  *) echo "usage: $0 [run|test]" >&2; exit 2 ;;
esac
missing=""
for p in $want; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  case "$st" in *"install ok installed"*) ;; *) missing="$missing $p" ;; esac
done
# nodejs may come from outside Debian (a preinstalled node): accept any node+npm.
case "$missing" in *nodejs*|*npm*)
  if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    missing=$(echo "$missing" | sed 's/ nodejs//; s/ npm//')
  fi ;;
esac
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "tracestore: missing packages. Run as root:" >&2
  echo "  apt-get install -y --no-install-recommends$missing" >&2
  exit 1
fi
echo "tracestore: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 || {
  apt-get update >/dev/null
  apt-get install -y --no-install-recommends $missing
}
