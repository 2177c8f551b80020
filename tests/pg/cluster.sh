#!/bin/sh
# A throw-away PostgreSQL cluster for the tests and benchmarks: Debian's
# postgresql package (scripts/deps.sh test), initdb into DIR, listening on
# a Unix socket in DIR only (no TCP) with trust authentication for its
# owner, run as an unprivileged user (the postgres account the package
# creates, or nobody) because CI runs as root and PostgreSQL refuses root.
#
#   tests/pg/cluster.sh start DIR   # prints the conninfo base: host=DIR port=5432 user=U
#   tests/pg/cluster.sh stop DIR    # stops it and removes DIR
#   tests/pg/cluster.sh url DIR     # prints the conninfo base of a running cluster
#
# A database for one daemon: psql "$(cluster.sh url DIR) dbname=postgres" -c 'CREATE DATABASE x'.
set -e
cmd=$1
dir=$2
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|url DIR" >&2; exit 2; }
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "$0: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 77; }
if [ "$(id -u)" = 0 ]; then
  if id postgres >/dev/null 2>&1; then user=postgres; else user=nobody; fi
  as() { runuser -u "$user" -- "$@"; }
else
  user=$(id -un)
  as() { "$@"; }
fi
port=5432 # a socket in DIR: the port only names the socket file
case "$cmd" in
start)
  mkdir -p "$dir"
  chmod 0755 "$dir"
  [ "$(id -u)" = 0 ] && chown "$user" "$dir"
  as "$bin/initdb" -D "$dir/data" -U "$user" -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
port = $port
max_connections = 200
fsync = on
synchronous_commit = on
shared_buffers = 128MB
log_min_messages = warning
CONF
  as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
    { cat "$dir/server.log" >&2; exit 1; }
  echo "host=$dir port=$port user=$user"
  ;;
url)
  echo "host=$dir port=$port user=$(stat -c %U "$dir/data")"
  ;;
stop)
  if [ -d "$dir/data" ]; then
    as "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
*) echo "usage: $0 start|stop|url DIR" >&2; exit 2 ;;
esac
