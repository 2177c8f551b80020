#!/bin/sh
# A throw-away PostgreSQL cluster for the tests and benchmarks: Debian's
# postgresql package (scripts/deps.sh test), initdb into DIR, listening on
# a Unix socket only (no TCP) with trust authentication for its owner, run
# as an unprivileged user (the postgres account the package creates, or
# nobody) because CI runs as root and PostgreSQL refuses root.
#
#   tests/pg/cluster.sh start DIR        # prints the conninfo base: host=S port=5432 user=U
#   tests/pg/cluster.sh stop DIR         # stops it and removes DIR
#   tests/pg/cluster.sh url DIR          # prints the conninfo base of a running cluster
#   tests/pg/cluster.sh stop-server DIR  # pg_ctl stop -m immediate (a crash), data kept
#   tests/pg/cluster.sh start-server DIR # starts the server of DIR again
#   tests/pg/cluster.sh freeze DIR       # SIGSTOP to the server's processes: it
#                                        # answers nothing (as if unreachable)
#   tests/pg/cluster.sh thaw DIR         # SIGCONT to them
#
# start also writes the conninfo base into DIR/url (the integration suites
# read it: TS_PG_URL_FILE). When the unprivileged user cannot reach DIR
# (a build folder under /root, a 0700 mkdtemp folder) or DIR is too long
# for a socket path, the cluster itself lives in a fresh /tmp/ts-pg-XXXXXX
# named by DIR/realdir; DIR stays the handle for every command. A start on
# a DIR that holds a cluster already stops and removes that one first.
#
# A database for one daemon: psql "$(cluster.sh url DIR) dbname=postgres" -c 'CREATE DATABASE x'.
# Exit 77 when the PostgreSQL server binaries are not installed.
set -e
cmd=$1
dir=$2
usage="usage: $0 start|stop|url|stop-server|start-server|freeze|thaw DIR"
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "$usage" >&2; exit 2; }
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "$0: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 77; }
if [ "$(id -u)" = 0 ]; then
  if id postgres >/dev/null 2>&1; then user=postgres; else user=nobody; fi
  as() { runuser -u "$user" -- "$@"; }
else
  user=$(id -un)
  as() { "$@"; }
fi
port=5432 # a socket in the cluster's folder: the port only names the socket file

# The folder the cluster lives in: DIR, or the /tmp folder DIR/realdir names.
real() {
  if [ -f "$dir/realdir" ]; then cat "$dir/realdir"; else echo "$dir"; fi
}

stop_all() {
  r=$(real)
  if [ -d "$r/data" ]; then
    as "$bin/pg_ctl" -D "$r/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  fi
  [ "$r" != "$dir" ] && rm -rf "$r"
  rm -rf "$dir"
}

case "$cmd" in
start)
  [ -d "$dir" ] && stop_all
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  r=$dir
  # the socket path must fit in sun_path (108 bytes) and be reachable by $user
  if [ ${#dir} -gt 80 ] || ! as sh -c "cd '$dir'" 2>/dev/null; then
    r=$(mktemp -d /tmp/ts-pg-XXXXXX)
    echo "$r" >"$dir/realdir"
  fi
  chmod 0755 "$r"
  [ "$(id -u)" = 0 ] && chown "$user" "$r"
  as "$bin/initdb" -D "$r/data" -U "$user" -A trust -E UTF8 --no-locale >"$r/initdb.log" 2>&1 ||
    { cat "$r/initdb.log" >&2; exit 1; }
  cat >>"$r/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$r'
port = $port
max_connections = 300
fsync = on
synchronous_commit = on
shared_buffers = 128MB
log_min_messages = warning
CONF
  as "$bin/pg_ctl" -D "$r/data" -l "$r/server.log" -w -t 60 start >/dev/null ||
    { cat "$r/server.log" >&2; exit 1; }
  echo "host=$r port=$port user=$user" >"$dir/url"
  cat "$dir/url"
  ;;
url)
  r=$(real)
  echo "host=$r port=$port user=$(stat -c %U "$r/data")"
  ;;
stop)
  stop_all
  ;;
stop-server)
  r=$(real)
  as "$bin/pg_ctl" -D "$r/data" -m immediate -w -t 60 stop >/dev/null
  ;;
start-server)
  r=$(real)
  as "$bin/pg_ctl" -D "$r/data" -l "$r/server.log" -w -t 60 start >/dev/null ||
    { tail -20 "$r/server.log" >&2; exit 1; }
  ;;
freeze|thaw)
  r=$(real)
  pm=$(head -1 "$r/data/postmaster.pid")
  [ "$cmd" = freeze ] && sig=STOP || sig=CONT
  # the postmaster first on freeze (no new backends), last on thaw
  if [ "$cmd" = freeze ]; then kill -s "$sig" "$pm"; fi
  for p in $(ps -o pid= --ppid "$pm"); do kill -s "$sig" "$p"; done
  if [ "$cmd" = thaw ]; then kill -s "$sig" "$pm"; fi
  ;;
*) echo "$usage" >&2; exit 2 ;;
esac
