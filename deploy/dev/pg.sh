#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1 for the dev stack and the tests.
# Its data directory lives outside the checkout, in a private directory
# (mode 0700, owned by the server's user) under ${CAIRN_PG_ROOT:-/var/tmp}:
# when the stack runs as root the server runs as `postgres`, which often
# cannot enter the checkout (a clone under /root, mode 0700). STATE, a folder
# of the caller's (run/pg in the dev stack), remembers where the data is.
#   pg.sh start STATE PORT [fast]  start a server unless STATE's runs; "fast" turns
#                                  fsync off (tests: nothing is kept)
#   pg.sh stop STATE               stop it by PID and delete its data directory
#   pg.sh status STATE             print "PID DATADIR" and exit 0 when it runs
#   pg.sh url STATE                print its connection URL
set -euo pipefail

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

die() { printf 'pg: %s\n' "$*" >&2; exit 1; }

as=()
if ((EUID == 0)); then
        # initdb refuses root: the server runs as the postgres user
        as=(runuser -u postgres --)
fi

datadir() { [[ -s $1/datadir ]] && cat "$1/datadir"; }

running() { # STATE: true when its server runs
        local dir
        dir=$(datadir "$1") || return 1
        [[ -s $dir/data/postmaster.pid ]] || return 1
        kill -0 "$(head -n 1 "$dir/data/postmaster.pid")" 2>/dev/null
}

start() { # STATE PORT [fast]
        local state=$1 port=$2 mode=${3:-} dir
        [[ -n $PG_BIN ]] || die "PostgreSQL server binaries missing: run make deps"
        mkdir -p "$state"
        if running "$state"; then return 0; fi
        stop "$state" >/dev/null 2>&1 || true # leftovers of a crashed run
        dir=$(mktemp -d "${CAIRN_PG_ROOT:-/var/tmp}/cairn-pg.XXXXXX")
        chmod 0700 "$dir"
        ((EUID == 0)) && chown postgres: "$dir"
        printf '%s\n' "$dir" >"$state/datadir"
        printf 'postgresql://postgres@127.0.0.1:%s/postgres\n' "$port" >"$state/url"
        "${as[@]}" "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
                --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
                die "initdb failed: $(tail -n 3 "$dir/initdb.log")"
        local opts="-c listen_addresses=127.0.0.1 -p $port -k $dir"
        [[ $mode == fast ]] && opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        "${as[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -o "$opts" \
                start >/dev/null || die "PostgreSQL did not start on port $port: $(tail -n 3 "$dir/server.log")"
}

stop() { # STATE
        local state=$1 dir
        dir=$(datadir "$state") || return 0
        if running "$state"; then
                "${as[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null ||
                        die "PostgreSQL in $dir did not stop"
        fi
        # the server's log outlives its data: a failed test's evidence
        [[ -s $dir/server.log ]] && cp "$dir/server.log" "$state/server.log"
        # only ever a directory this script made
        [[ $dir == */cairn-pg.* ]] && rm -rf --one-file-system "$dir"
        rm -f "$state/datadir" "$state/url"
}

status() { # STATE
        running "$1" || return 1
        local dir
        dir=$(datadir "$1")
        printf '%s %s\n' "$(head -n 1 "$dir/data/postmaster.pid")" "$dir"
}

verb=${1:-}
state=${2:+$(realpath -m -- "$2")}
# PostgreSQL's programs look up their own directory and fail when the
# current one is closed to them (a shell inside /root): work from /.
cd /
case $verb in
start) start "${state:?state dir}" "${3:?port}" "${4:-}" ;;
stop) stop "${state:?state dir}" ;;
status) status "${state:?state dir}" ;;
url) cat "${state:?state dir}/url" ;;
*) die "usage: pg.sh start STATE PORT [fast] | stop STATE | status STATE | url STATE" ;;
esac
