#!/usr/bin/env bash
# Instructions a gateway binary spends per request, counted by callgrind:
# repeatable to about 1 % for the same binary and inputs whatever else the
# machine does, so two builds compare where wrk's req/s and CPU time are
# too noisy to.
# Only the gateway's request handlers count (libmicrohttpd's on_target, on_request and
# on_completed callbacks, with everything they call: the pipeline, the
# response, libc, libmicrohttpd's queueing); socket I/O, epoll and the
# kernel do not.
#   gateway_instructions.sh GATEWAY_BIN [N]   prints "instructions_per_request X"
# N GET /v1/version requests (default 3000) over one keep-alive connection,
# after 200 unrecorded ones... which callgrind counts too: both runs get the
# same warm-up, so the comparison holds; the figure is total / (N + 200).
set -euo pipefail
BIN=${1:?usage: gateway_instructions.sh GATEWAY_BIN [N]}
N=${2:-3000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
D=$(mktemp -d "${TMPDIR:-/tmp}/cairn-instr.XXXXXX")
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        [[ -n ${KEEP:-} ]] || rm -rf "$D"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The dev stack's credentials, the secret private as the gateway wants it.
mkdir -m 700 "$D/keys"
cp "$ROOT/deploy/dev/gateway-keys.yaml" "$ROOT/deploy/dev/gateway-hs256.secret" "$D/keys/"
chmod 600 "$D/keys/gateway-hs256.secret"

"$BUILD/bin/cairn-devbroker" -b 1 -f "$D/bootstrap" >"$D/broker.log" 2>&1 &
pids+=($!)
redis_port=$(free_port)
redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no >"$D/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -s $D/bootstrap ]] && break; sleep 0.1; done

http_port=$(free_port)
admin_port=$(free_port)
(
        set -a
        # shellcheck disable=SC1091
        . "$ROOT/deploy/dev/devbroker.env"
        set +a
        export CAIRN_CONFIG=$ROOT/deploy/dev/gateway.yaml CAIRN_HTTP_THREADS=1 \
                CAIRN_KAFKA_BOOTSTRAP_SERVERS=$(cat "$D/bootstrap") CAIRN_HTTP_PORT=$http_port \
                CAIRN_ADMIN_PORT=$admin_port CAIRN_REDIS_PORT=$redis_port \
                CAIRN_AUTH_KEYS_FILE=$D/keys/gateway-keys.yaml
        exec valgrind --tool=callgrind --toggle-collect=on_request --toggle-collect=on_completed --toggle-collect=on_target \
                --callgrind-out-file="$D/callgrind.out" "$BIN"
) >"$D/gateway.log" 2>&1 &
gw=$!
pids+=("$gw")
# Ready once is enough: /v1/version needs no broker, and under callgrind on
# a busy machine the broker check may come and go.
ready=0
for _ in $(seq 1500); do
        if curl -fsS -m 2 "http://127.0.0.1:$admin_port/readyz" >/dev/null 2>&1; then
                ready=1
                break
        fi
        sleep 0.2
done
((ready)) || { echo "gateway_instructions: $BIN did not get ready" >&2; tail -n 5 "$D/gateway.log" >&2; exit 1; }

urls() { for _ in $(seq "$1"); do printf 'url = "http://127.0.0.1:%s/v1/version"\n' "$http_port"; done; }
urls 200 | curl -fsS -K - >/dev/null
urls "$N" | curl -fsS -K - >/dev/null
kill -TERM "$gw"
wait "$gw" || true
total=$(callgrind_annotate "$D/callgrind.out" | awk '/PROGRAM TOTALS/ && !t { gsub(",", "", $1); t = $1 } END { print t }')
echo "requests $((N + 200))"
echo "instructions $total"
echo "instructions_per_request $((total / (N + 200)))"
