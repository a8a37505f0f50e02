#!/usr/bin/env bash
# The embedded dev stack: the in-memory dev broker, a local PostgreSQL and
# Redis from Debian's packages, and every Cairn service, all under run/.
#   stack.sh up      start what is not running, wait for /readyz, print where things are
#   stack.sh down    stop exactly the processes this script started (by PID)
#   stack.sh status  show what runs
# Ports and the run directory can be moved with CAIRN_RUN_DIR,
# CAIRN_DEV_PG_PORT, CAIRN_DEV_REDIS_PORT, CAIRN_DEV_API_PORT (the gateway's
# API, 8080) and CAIRN_DEV_ADMIN_PORT (the first admin port, 9100; each
# service takes the next). PostgreSQL keeps its data outside the checkout
# (deploy/dev/pg.sh); `down` removes it.
# KAFKA=apache (make up KAFKA=apache) runs the stack on a single-node Apache
# Kafka broker (deploy/kafka/apache.sh, data in run/kafka) instead of the
# dev broker; `down` stops whichever runs.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUN=${CAIRN_RUN_DIR:-$ROOT/run}
BIN=${CAIRN_BIN_DIR:-$ROOT/build/bin}
PG_PORT=${CAIRN_DEV_PG_PORT:-55432}
REDIS_PORT=${CAIRN_DEV_REDIS_PORT:-56379}
API_PORT=${CAIRN_DEV_API_PORT:-8080}
ADMIN_PORT=${CAIRN_DEV_ADMIN_PORT:-9100}
KAFKA=${KAFKA:-dev}
case $KAFKA in
dev) CLIENT_ENV=$ROOT/deploy/dev/devbroker.env ;;
apache) CLIENT_ENV=$ROOT/deploy/kafka/apache.env ;;
*) printf 'stack: KAFKA=%s: expected dev or apache\n' "$KAFKA" >&2; exit 1 ;;
esac

# service name and admin port: the Makefile's list of services, in its order
SERVICES=()
for name in $(make -s --no-print-directory -C "$ROOT" print-SERVICES); do
        SERVICES+=("$name:$((ADMIN_PORT + ${#SERVICES[@]}))")
done

log() { printf 'stack: %s\n' "$*"; }
die() { printf 'stack: %s\n' "$*" >&2; exit 1; }

alive() { # pidfile: true when the process it names runs
        [[ -s $1 ]] && kill -0 "$(head -n 1 "$1")" 2>/dev/null
}

port_free() {
        ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_for() { # seconds description command...
        local secs=$1 what=$2
        shift 2
        for ((i = 0; i < secs * 10; i++)); do
                if "$@" >/dev/null 2>&1; then return 0; fi
                sleep 0.1
        done
        die "$what did not come up within ${secs}s (logs in $RUN/logs)"
}

ready() { curl -fsS -m 2 "http://127.0.0.1:$1/readyz"; }

# Every topic of deploy/kafka/topics.yaml, at most 4 partitions each: the
# dev stack's topics are production's, from the one file that lists them.
dev_topics() { "$BIN/cairn-admin" topics list "$ROOT/deploy/kafka/topics.yaml" 4; }

# Apache Kafka with the dev topics (replication factor 1), created by
# cairn-admin as in production.
start_apache() {
        if alive "$RUN/kafka/pid"; then return; fi
        local verb=start
        [[ -s $RUN/kafka/server.properties ]] && verb=restart # keep the data of the last run
        "$ROOT/deploy/kafka/apache.sh" "$verb" "$RUN/kafka" 2>>"$RUN/logs/kafka.log" ||
                die "Apache Kafka did not start: see $RUN/logs/kafka.log and $RUN/kafka"
        cp "$RUN/kafka/bootstrap" "$RUN/bootstrap"
        {
                printf 'defaults: {replication_factor: 1, configs: {min.insync.replicas: 1}}\ntopics:\n'
                dev_topics | while read -r name parts; do
                        printf '  %s: {partitions: %s}\n' "$name" "$parts"
                done
        } >"$RUN/kafka/topics.yaml"
        env -i CAIRN_KAFKA_BOOTSTRAP_SERVERS="$(cat "$RUN/bootstrap")" "$BIN/cairn-admin" \
                topics apply "$RUN/kafka/topics.yaml" >>"$RUN/logs/kafka.log" 2>&1 ||
                die "creating topics failed: see $RUN/logs/kafka.log"
}

broker_alive() { alive "$RUN/devbroker.pid" || alive "$RUN/kafka/pid"; }

start_broker() {
        if [[ $KAFKA == apache ]]; then
                alive "$RUN/devbroker.pid" && die "the dev broker runs: make down first"
                start_apache
                return
        fi
        alive "$RUN/kafka/pid" && die "Apache Kafka runs: make down first"
        if alive "$RUN/devbroker.pid"; then return; fi
        local topics=() list
        list=$(dev_topics) || die "cannot list the topics of deploy/kafka/topics.yaml"
        while read -r name parts; do
                topics+=(-t "$name:$parts")
        done <<<"$list"
        rm -f "$RUN/bootstrap"
        "$BIN/cairn-devbroker" -b 3 -f "$RUN/bootstrap" "${topics[@]}" \
                >"$RUN/logs/devbroker.log" 2>&1 &
        echo $! >"$RUN/devbroker.pid"
        wait_for 10 "dev broker" test -s "$RUN/bootstrap"
}

start_postgres() {
        "$ROOT/deploy/dev/pg.sh" status "$RUN/pg" >/dev/null && return
        port_free "$PG_PORT" || die "port $PG_PORT is taken; set CAIRN_DEV_PG_PORT"
        "$ROOT/deploy/dev/pg.sh" start "$RUN/pg" "$PG_PORT" 2>>"$RUN/logs/postgres.log" ||
                die "PostgreSQL did not start: see $RUN/logs/postgres.log"
}

start_redis() {
        local dir=$RUN/redis
        if alive "$dir/redis.pid"; then return; fi
        port_free "$REDIS_PORT" || die "port $REDIS_PORT is taken; set CAIRN_DEV_REDIS_PORT"
        mkdir -p "$dir"
        redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$dir" --save "" \
                --appendonly no --daemonize yes --pidfile "$dir/redis.pid" \
                --logfile "$RUN/logs/redis.log" || die "Redis did not start"
        wait_for 10 "Redis" redis-cli -p "$REDIS_PORT" ping
}

# The gateway reads a secret file only when its group and others may not
# (mode 0600 or 0400, docs/api.md), a mode git does not keep: it gets copies
# of the dev keys file and of the secret it names, side by side under the
# run directory, the secret with mode 0600.
gateway_keys() {
        local dir=$RUN/gateway
        mkdir -p "$dir"
        chmod 700 "$dir"
        cp "$ROOT/deploy/dev/gateway-keys.yaml" "$dir/gateway-keys.yaml"
        install -m 600 "$ROOT/deploy/dev/gateway-hs256.secret" "$dir/gateway-hs256.secret"
}

# The embedding model's directory (deploy/models.sh fetches it into the
# user's cache once); the stack does not start without it.
embedding_model() {
        local out
        if ! out=$("$ROOT/deploy/models.sh" path 2>&1); then
                printf '%s\n' "$out" >&2
                die "the embedding service's model all-MiniLM-L6-v2 is not available (see above): the dev stack serves it"
        fi
        MODEL_DIR=$(printf '%s\n' "$out" | tail -n 1)
}

# The speech service's Whisper model, the same way.
whisper_model() {
        local out
        if ! out=$("$ROOT/deploy/models.sh" path whisper-tiny.en 2>&1); then
                printf '%s\n' "$out" >&2
                die "the speech service's model whisper-tiny.en is not available (see above): the dev stack serves it"
        fi
        WHISPER_DIR=$(printf '%s\n' "$out" | tail -n 1)
}

start_service() { # name port
        local name=$1 port=$2
        if alive "$RUN/$name.pid"; then return; fi
        port_free "$port" || die "admin port $port for $name is taken; set CAIRN_DEV_ADMIN_PORT"
        if [[ $name == gateway ]]; then
                port_free "$API_PORT" || die "API port $API_PORT is taken; set CAIRN_DEV_API_PORT"
                gateway_keys
        fi
        (
                set -a
                # shellcheck disable=SC1091
                . "$CLIENT_ENV"
                set +a
                export CAIRN_CONFIG=$ROOT/deploy/dev/$name.yaml
                # the stack's own knobs are not service settings (services refuse unknown CAIRN_*)
                unset CAIRN_RUN_DIR CAIRN_BIN_DIR CAIRN_DEV_PG_PORT CAIRN_DEV_REDIS_PORT \
                        CAIRN_DEV_API_PORT CAIRN_DEV_ADMIN_PORT CAIRN_PG_ROOT CAIRN_CACHE_DIR
                export CAIRN_KAFKA_BOOTSTRAP_SERVERS
                CAIRN_KAFKA_BOOTSTRAP_SERVERS=$(cat "$RUN/bootstrap")
                export CAIRN_ADMIN_PORT=$port
                if [[ $name == gateway ]]; then
                        # the API itself listens on http.port
                        export CAIRN_HTTP_PORT=$API_PORT
                        export CAIRN_REDIS_PORT=$REDIS_PORT
                        export CAIRN_AUTH_KEYS_FILE=$RUN/gateway/gateway-keys.yaml
                        # large audio uploads go to the speech service by claim check
                        export CAIRN_PG_URL=postgresql://postgres@127.0.0.1:$PG_PORT/postgres
                fi
                if [[ $name == embedding ]]; then
                        # model slot 1: all-MiniLM-L6-v2 from the user's cache
                        # (embedding_model), its vectors cached in the stack's
                        # Redis; requests that name no model get it
                        export CAIRN_REDIS_PORT=$REDIS_PORT
                        export CAIRN_EMBEDDING_DEFAULT_MODEL=all-MiniLM-L6-v2
                        export CAIRN_EMBEDDING_MODELS_1_NAME=all-MiniLM-L6-v2
                        export CAIRN_EMBEDDING_MODELS_1_ALIASES=sentence-transformers/all-MiniLM-L6-v2
                        export CAIRN_EMBEDDING_MODELS_1_PROVIDER=bert
                        export CAIRN_EMBEDDING_MODELS_1_DIR=$MODEL_DIR
                fi
                if [[ $name == translation ]]; then
                        # translations cached in the stack's Redis
                        export CAIRN_REDIS_PORT=$REDIS_PORT
                fi
                if [[ $name == speech ]]; then
                        # audio too large for a message goes by claim check into the stack's PostgreSQL
                        export CAIRN_PG_URL=postgresql://postgres@127.0.0.1:$PG_PORT/postgres
                        export CAIRN_SPEECH_WHISPER_DIR=$WHISPER_DIR
                fi
                if [[ $name == memory ]]; then
                        export CAIRN_PG_URL=postgresql://postgres@127.0.0.1:$PG_PORT/postgres
                        # graphs of large users kept across restarts (docs/memory.md)
                        export CAIRN_MEMORY_SNAPSHOT_DIR=$RUN/memory-snapshots
                fi
                if [[ $name == workflow ]]; then
                        # runs, their history and the outbox in the stack's PostgreSQL
                        export CAIRN_PG_URL=postgresql://postgres@127.0.0.1:$PG_PORT/postgres
                fi
                if [[ $name == secrets ]]; then
                        export CAIRN_PG_URL=postgresql://postgres@127.0.0.1:$PG_PORT/postgres
                        # the stack's root key, made once (docs/secrets.md)
                        export CAIRN_SECRETS_ROOT_KEY_FILE=$RUN/secrets-root.key
                        if [[ ! -s $CAIRN_SECRETS_ROOT_KEY_FILE ]]; then
                                (umask 077 && printf 'dev %s\n' "$(head -c 32 /dev/urandom | base64)" \
                                        >"$CAIRN_SECRETS_ROOT_KEY_FILE")
                        fi
                fi
                exec "$BIN/cairn-$name" >>"$RUN/logs/$name.log" 2>&1
        ) &
        echo $! >"$RUN/$name.pid"
}

running_summary() {
        local any=0
        if alive "$RUN/devbroker.pid"; then
                printf '  %-12s pid %-7s bootstrap %s\n' devbroker "$(cat "$RUN/devbroker.pid")" "$(cat "$RUN/bootstrap" 2>/dev/null)"
                any=1
        elif alive "$RUN/kafka/pid"; then
                printf '  %-12s pid %-7s bootstrap %s (Apache Kafka %s)\n' kafka "$(cat "$RUN/kafka/pid")" \
                        "$(cat "$RUN/bootstrap" 2>/dev/null)" "$("$ROOT/deploy/kafka/apache.sh" version)"
                any=1
        else
                printf '  %-12s stopped\n' devbroker
        fi
        local pg
        if pg=$("$ROOT/deploy/dev/pg.sh" status "$RUN/pg"); then
                printf '  %-12s pid %-7s postgresql://postgres@127.0.0.1:%s/postgres (data in %s, removed by make down)\n' \
                        postgres "${pg%% *}" "$PG_PORT" "${pg#* }"
                any=1
        else
                printf '  %-12s stopped\n' postgres
        fi
        if alive "$RUN/redis/redis.pid"; then
                printf '  %-12s pid %-7s redis://127.0.0.1:%s\n' redis "$(cat "$RUN/redis/redis.pid")" "$REDIS_PORT"
                any=1
        else
                printf '  %-12s stopped\n' redis
        fi
        for s in "${SERVICES[@]}"; do
                local name=${s%%:*} port=${s##*:} state=stopped
                if alive "$RUN/$name.pid"; then
                        state="pid $(cat "$RUN/$name.pid")"
                        if ready "$port" >/dev/null 2>&1; then state="$state ready"; else state="$state not ready"; fi
                        any=1
                        printf '  %-12s %-18s admin http://127.0.0.1:%s (/healthz /readyz /metrics)\n' "$name" "$state" "$port"
                        if [[ $name == gateway ]]; then
                                printf '  %-12s %-18s API   http://127.0.0.1:%s (docs/api.md; dev key in deploy/dev/gateway-keys.yaml)\n' "" "" "$API_PORT"
                        fi
                else
                        printf '  %-12s stopped\n' "$name"
                fi
        done
        printf '  logs in %s/logs\n' "$RUN"
        return $((any == 0))
}

all_running() {
        broker_alive || return 1
        alive "$RUN/redis/redis.pid" || return 1
        "$ROOT/deploy/dev/pg.sh" status "$RUN/pg" >/dev/null || return 1
        for s in "${SERVICES[@]}"; do alive "$RUN/${s%%:*}.pid" || return 1; done
}

up() {
        mkdir -p "$RUN/logs"
        if all_running; then
                log "already running:"
                running_summary || true
                return 0
        fi
        [[ -x $BIN/cairn-devbroker ]] || die "no binaries in $BIN: run make first"
        command -v redis-server >/dev/null || die "redis-server missing: run make deps"
        embedding_model
        whisper_model
        start_broker
        start_postgres
        start_redis
        for s in "${SERVICES[@]}"; do start_service "${s%%:*}" "${s##*:}"; done
        for s in "${SERVICES[@]}"; do wait_for 30 "${s%%:*}" ready "${s##*:}"; done
        if [[ $KAFKA == apache ]]; then
                log "up on Apache Kafka $("$ROOT/deploy/kafka/apache.sh" version) (single node, data in $RUN/kafka):"
        else
                log "up (the dev broker is in-memory, for development and tests; production uses Apache Kafka):"
        fi
        running_summary || true
}

stop_pid() { # name pidfile
        local name=$1 file=$2
        alive "$file" || { rm -f "$file"; return 0; }
        local pid i # i local: down() counts its services with an i of its own
        pid=$(head -n 1 "$file")
        kill -TERM "$pid"
        for ((i = 0; i < 150; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
                log "$name did not stop in 15 s: killing"
                kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$file"
        log "stopped $name"
}

down() {
        for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
                local name=${SERVICES[$i]%%:*}
                stop_pid "$name" "$RUN/$name.pid"
        done
        if "$ROOT/deploy/dev/pg.sh" status "$RUN/pg" >/dev/null; then
                "$ROOT/deploy/dev/pg.sh" stop "$RUN/pg" && log "stopped postgres (its data directory is removed)"
        else
                "$ROOT/deploy/dev/pg.sh" stop "$RUN/pg" # a crashed run's data directory
        fi
        stop_pid redis "$RUN/redis/redis.pid"
        stop_pid devbroker "$RUN/devbroker.pid"
        if alive "$RUN/kafka/pid"; then
                "$ROOT/deploy/kafka/apache.sh" stop "$RUN/kafka" && log "stopped kafka"
        fi
}

case ${1:-} in
up) up ;;
down) down ;;
status) running_summary || true ;;
*) die "usage: stack.sh up|down|status" ;;
esac
