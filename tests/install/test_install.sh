#!/bin/sh
# test_install.sh: what `make install` lays out, over the real build.
#   serve BUILD    install into a temporary DESTDIR (two prefixes), check the
#                  layout and the unit's rewritten paths, run the installed
#                  binary and ask it GET /healthz
#   man BUILD      `man -l` renders both pages without warnings, and they
#                  name every key (with its default), command and option the
#                  binary itself knows (--check-config, --help)
#   unit BUILD     systemd-analyze verify on the installed unit (skipped, exit
#                  77, where systemd-analyze is missing)
set -eu
mode=$1
build=$2
tmp=$(mktemp -d /tmp/ts-install-XXXXXX)
pid=
cleanup() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "test_install: $*" >&2; exit 1; }

install_to() { # DESTDIR PREFIX
    DESTDIR=$1 cmake --install "$build" --prefix "$2" >"$tmp/install.log" 2>&1 ||
        { cat "$tmp/install.log" >&2; fail "cmake --install failed"; }
}

case "$mode" in
serve)
    install_to "$tmp/a" /usr/local
    for f in bin/tracestore etc/tracestore/tracestore.conf share/man/man8/tracestore.8 \
             share/man/man5/tracestore.conf.5 lib/systemd/system/tracestore.service; do
        [ -f "$tmp/a/usr/local/$f" ] || fail "missing $f"
    done
    [ -x "$tmp/a/usr/local/bin/tracestore" ] || fail "bin/tracestore is not executable"
    grep -q '^ExecStart=/usr/local/bin/tracestore serve --config /usr/local/etc/tracestore/tracestore.conf' \
        "$tmp/a/usr/local/lib/systemd/system/tracestore.service" || fail "unit ExecStart"
    install_to "$tmp/b" /opt/ts
    unit="$tmp/b/opt/ts/lib/systemd/system/tracestore.service"
    grep -q '^ExecStart=/opt/ts/bin/tracestore serve --config /opt/ts/etc/tracestore/tracestore.conf' "$unit" ||
        fail "the unit's paths do not follow PREFIX"
    ! grep -q /usr/local "$unit" || fail "/usr/local left in the unit for PREFIX=/opt/ts"
    [ -f "$tmp/b/opt/ts/etc/tracestore/tracestore.conf" ] || fail "PREFIX=/opt/ts: no config"
    # the installed binary, with the installed configuration, serves
    bin="$tmp/a/usr/local/bin/tracestore"
    "$bin" --version | grep -q '^tracestore ' || fail "--version"
    mkdir "$tmp/db"
    "$bin" serve --config "$tmp/a/usr/local/etc/tracestore/tracestore.conf" --db "$tmp/db/t.db" \
        --listen 127.0.0.1:0 >"$tmp/out.log" 2>"$tmp/err.log" &
    pid=$!
    port=
    for _ in $(seq 1 150); do
        port=$(sed -n 's/.*msg=listening .* port=\([0-9]*\) .*/\1/p' "$tmp/err.log" | head -1)
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || { cat "$tmp/err.log" >&2; fail "the installed binary did not start"; }
    body=$(curl -s --max-time 10 "http://127.0.0.1:$port/healthz")
    [ "$body" = '{"status":"ok"}' ] || fail "/healthz answered '$body'"
    kill -TERM "$pid"
    wait "$pid" || fail "serve did not exit 0 on SIGTERM"
    pid=
    grep -q 'msg="stopped cleanly"' "$tmp/err.log" || fail "no clean stop"
    ;;
man)
    command -v man >/dev/null || fail "man is not installed (man-db, in TEST_PKGS)"
    bin="$build/tracestore"
    for p in "$build/man/tracestore.8" "$build/man/tracestore.conf.5"; do
        MANWIDTH=200 man -l --warnings "$p" >"$tmp/page.txt" 2>"$tmp/warn.txt" || fail "man -l $p"
        [ -s "$tmp/page.txt" ] || fail "man -l $p rendered nothing"
        [ ! -s "$tmp/warn.txt" ] || { cat "$tmp/warn.txt" >&2; fail "groff warnings in $p"; }
        cp "$tmp/page.txt" "$tmp/$(basename "$p").txt"
    done
    # every key of the binary's table, with its default, is in tracestore.conf(5)
    "$bin" serve --check-config --db "$tmp/x.db" >"$tmp/keys.txt" </dev/null
    [ "$(wc -l <"$tmp/keys.txt")" -gt 20 ] || fail "--check-config printed too few keys"
    sed 's/^\([a-z_]*\) = \([^ ]*\) .*/\1 \2/' "$tmp/keys.txt" | while read -r key def; do
        [ "$key" = db_path ] && def='"data/tracestore.db"' # --db changed the effective value
        grep -Eq "^ *$key( |\$)" "$tmp/tracestore.conf.5.txt" || fail "tracestore.conf(5) lacks $key"
        grep -q "default $def[.]" "$tmp/tracestore.conf.5.txt" ||
            fail "tracestore.conf(5) lacks the default $def of $key"
    done
    # every command and option --help lists is in tracestore(8)
    "$bin" --help >"$tmp/help.txt"
    for cmd in serve "key create" "key list" "key revoke" backup; do
        grep -q "^  $cmd" "$tmp/help.txt" || fail "--help lacks $cmd"
        grep -q "tracestore $cmd" "$tmp/tracestore.8.txt" || fail "tracestore(8) lacks $cmd"
    done
    grep '^  -' "$tmp/help.txt" | sed 's/^  //' | while read -r opt; do
        grep -qF -- "$opt" "$tmp/tracestore.8.txt" || fail "tracestore(8) lacks the option $opt"
    done
    for s in SIGTERM SIGHUP SIGUSR1 TRACESTORE_CONFIG "EXIT STATUS" FILES ENVIRONMENT; do
        grep -q "$s" "$tmp/tracestore.8.txt" || fail "tracestore(8) lacks $s"
    done
    ;;
unit)
    command -v systemd-analyze >/dev/null || { echo "systemd-analyze not installed: skipped"; exit 77; }
    install_to "$tmp/a" /usr/local
    # verify checks that ExecStart exists: point it at the staged binary
    sed "s|/usr/local/bin/tracestore|$tmp/a/usr/local/bin/tracestore|" \
        "$tmp/a/usr/local/lib/systemd/system/tracestore.service" >"$tmp/tracestore.service"
    SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$tmp/tracestore.service" >"$tmp/verify.txt" 2>&1 ||
        { cat "$tmp/verify.txt" >&2; fail "systemd-analyze verify failed"; }
    [ ! -s "$tmp/verify.txt" ] || { cat "$tmp/verify.txt" >&2; fail "systemd-analyze verify warned"; }
    ;;
*) fail "unknown mode $mode" ;;
esac
echo "test_install $mode: ok"
