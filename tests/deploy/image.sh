#!/usr/bin/env bash
# The image test: runs the services from the built image (cairn:<version>,
# deploy/image/build.sh) as the image's own user, on the host network, the
# way an orchestrator would: the dev broker and cairn-admin from the image
# too, PostgreSQL and Redis from Debian's packages on 127.0.0.1. Then it
# provisions (topics, migrations), waits for every /readyz, calls the
# gateway (embeddings on the model shipped in the image, a memory stored and
# found again), runs the image's HEALTHCHECK, and stops each service with
# SIGTERM, which must end it cleanly (exit 0).
#   tests/image.sh   (make image runs it after building)
# Containers run with `buildah run --isolation chroot`: no Docker engine or
# container runtime is needed, only podman's storage.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

VERSION=$(sed -n 's/^VERSION *:= *//p' Makefile)
IMAGE=${IMAGE:-cairn:$VERSION}
BUILDAH=(buildah --storage-driver vfs)
KEY=ck_dev_local_key_0123456789 # the dev stack's published key (deploy/dev)

passed=0
failed=0
ok() { passed=$((passed + 1)); printf 'ok   %s\n' "$*"; }
bad() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }
check() { # description command...
        local what=$1
        shift
        if "$@"; then ok "$what"; else bad "$what"; fi
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cairn-image.XXXXXX")
chmod 0755 "$WORK"
mkdir -m 0777 "$WORK/shared" # the containers' user writes the bootstrap file here
CTR=cairn-it-$$
pids=()     # the buildah run processes, to wait for
pg_state=
redis_pid=

cleanup() {
        for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
        [[ -n $redis_pid ]] && kill "$redis_pid" 2>/dev/null
        [[ -n $pg_state ]] && deploy/dev/pg.sh stop "$pg_state" >/dev/null 2>&1
        "${BUILDAH[@]}" rm "$CTR" >/dev/null 2>&1
        rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
        local p
        for _ in $(seq 50); do
                p=$((20000 + RANDOM % 30000))
                (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
        done
        return 1
}

# Runs a command in the image, its environment given as NAME=VALUE words.
in_image() { # [NAME=VALUE...] -- command...
        local env=()
        while [[ $1 != -- ]]; do env+=(-e "$1"); shift; done
        shift
        "${BUILDAH[@]}" run --isolation chroot "${env[@]}" \
                -v "$WORK/shared:/shared" "$CTR" -- "$@"
}

# The service process under a buildah run: SIGTERM goes to it, since
# buildah itself answers SIGTERM by killing its child outright.
service_pid() { # buildah-pid
        local pid=$1 child
        for _ in 1 2 3 4 5 6 7 8; do
                [[ $(cat "/proc/$pid/comm" 2>/dev/null) == cairn-* ]] && { echo "$pid"; return; }
                child=$(cat /proc/"$pid"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -m1 .)
                [[ -n $child ]] || return 1
                pid=$child
        done
        return 1
}

start() { # name log [NAME=VALUE...] -- command...
        local name=$1 log=$2
        shift 2
        in_image "$@" >"$WORK/$log.log" 2>&1 &
        pids+=($!)
        eval "pid_$name=$!"
}

ready() { # port seconds
        local i
        for ((i = 0; i < $2 * 5; i++)); do
                curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$1/readyz" && return 0
                sleep 0.2
        done
        return 1
}

"${BUILDAH[@]}" image exists "$IMAGE" 2>/dev/null || podman --storage-driver vfs image exists "$IMAGE" ||
        { echo "image: $IMAGE is not built (make image)"; exit 1; }
"${BUILDAH[@]}" from --name "$CTR" "$IMAGE" >/dev/null || { echo "image: buildah from $IMAGE failed"; exit 1; }

# ---- what the image says about itself ----
inspect() { podman --storage-driver vfs image inspect --format "$1" "$IMAGE"; }
check "runs as uid 10001, not root" test "$(in_image -- id -u)" = 10001
check "user from the image config" test "$(inspect '{{.Config.User}}')" = 10001:10001
check "STOPSIGNAL SIGTERM" test "$(inspect '{{.Config.StopSignal}}')" = SIGTERM
check "OCI version label = $VERSION" test "$(inspect '{{index .Config.Labels "org.opencontainers.image.version"}}')" = "$VERSION"
check "OCI revision label set" test "$(inspect '{{index .Config.Labels "org.opencontainers.image.revision"}}')" != unknown
check "root filesystem not writable by the service user" \
        bash -c "! ${BUILDAH[*]} run --isolation chroot $CTR -- touch /usr/bin/x 2>/dev/null"
check "no compiler in the runtime image" bash -c "! ${BUILDAH[*]} run --isolation chroot $CTR -- sh -c 'command -v cc' >/dev/null 2>&1"
for s in gateway embedding memory admin; do
        check "cairn-$s runs (--version)" bash -c "${BUILDAH[*]} run --isolation chroot $CTR -- cairn-$s --version | grep -q $VERSION"
done

# ---- infrastructure: PostgreSQL and Redis on the host, the broker from the image ----
pg_port=$(free_port)
if deploy/dev/pg.sh start "$WORK/pg" "$pg_port" fast >"$WORK/pg.log" 2>&1; then
        pg_state=$WORK/pg
        PG_URL=$(deploy/dev/pg.sh url "$pg_state")
else
        bad "PostgreSQL started (see $WORK/pg.log)"
        exit 1
fi
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis.log" 2>&1 &
redis_pid=$!

topics=()
while read -r name parts; do topics+=(-t "$name:$parts"); done < <(in_image -- cairn-admin topics list /usr/share/cairn/topics.yaml 4)
check "cairn-admin lists the image's topics.yaml" test "${#topics[@]}" -gt 10
start devbroker devbroker -- cairn-devbroker -b 1 -f /shared/bootstrap "${topics[@]}"
for _ in $(seq 50); do [[ -s $WORK/shared/bootstrap ]] && break; sleep 0.2; done
BOOT=$(cat "$WORK/shared/bootstrap" 2>/dev/null)
check "the image's dev broker listens ($BOOT)" test -n "$BOOT"

check "cairn-admin migrate up memory" in_image CAIRN_PG_URL="$PG_URL" -- cairn-admin migrate up memory
check "cairn-admin migrate status memory: current" in_image CAIRN_PG_URL="$PG_URL" -- cairn-admin migrate status memory

# ---- the services ----
api=$(free_port)
adm_gw=$(free_port)
adm_emb=$(free_port)
adm_mem=$(free_port)
mkdir -m 0755 "$WORK/keys"
cp deploy/dev/gateway-keys.yaml deploy/dev/gateway-hs256.secret "$WORK/keys/"
chown -R 10001:10001 "$WORK/keys"
chmod 0600 "$WORK/keys/gateway-hs256.secret"
client=()
while IFS= read -r line; do [[ $line == CAIRN_* ]] && client+=("$line"); done <deploy/dev/devbroker.env

start embedding embedding "${client[@]}" CAIRN_KAFKA_BOOTSTRAP_SERVERS="$BOOT" CAIRN_ADMIN_PORT="$adm_emb" \
        CAIRN_REDIS_PORT="$redis_port" CAIRN_EMBEDDING_DEFAULT_MODEL=all-MiniLM-L6-v2 \
        CAIRN_EMBEDDING_MODELS_1_NAME=all-MiniLM-L6-v2 CAIRN_EMBEDDING_MODELS_1_PROVIDER=bert \
        CAIRN_EMBEDDING_MODELS_1_DIR=/usr/share/cairn/models/all-MiniLM-L6-v2 -- cairn-embedding
start memory memory "${client[@]}" CAIRN_KAFKA_BOOTSTRAP_SERVERS="$BOOT" CAIRN_ADMIN_PORT="$adm_mem" \
        CAIRN_PG_URL="$PG_URL" CAIRN_MEMORY_EMBEDDING_MODEL=all-MiniLM-L6-v2 CAIRN_MEMORY_DIMENSIONS=384 \
        -- cairn-memory
"${BUILDAH[@]}" run --isolation chroot -v "$WORK/keys:/etc/cairn/keys:ro" \
        $(printf -- '-e %s ' "${client[@]}") -e CAIRN_KAFKA_BOOTSTRAP_SERVERS="$BOOT" \
        -e CAIRN_ADMIN_PORT="$adm_gw" -e CAIRN_HTTP_PORT="$api" -e CAIRN_REDIS_PORT="$redis_port" \
        -e CAIRN_AUTH_KEYS_FILE=/etc/cairn/keys/gateway-keys.yaml "$CTR" -- cairn-gateway \
        >"$WORK/gateway.log" 2>&1 &
pids+=($!)
pid_gateway=$!

check "embedding ready" ready "$adm_emb" 120
check "memory ready" ready "$adm_mem" 60
check "gateway ready" ready "$adm_gw" 60

# ---- calls through the gateway ----
out=$(curl -sS -m 30 "http://127.0.0.1:$api/v1/embeddings" -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/json' -d '{"input": ["hello from the image"], "model": "all-MiniLM-L6-v2"}')
check "POST /v1/embeddings: a 384-dimension vector from the image's model" python3 -c '
import json, sys
r = json.loads(sys.argv[1])
assert len(r["data"][0]["embedding"]) == 384, r
assert r["model"] == "all-MiniLM-L6-v2", r' "$out"
out=$(curl -sS -m 30 "http://127.0.0.1:$api/v1/memories" -H "X-API-Key: $KEY" \
        -H 'Content-Type: application/json' \
        -d '{"user_id": "alice", "content": "Alice prefers window seats on long flights"}')
check "POST /v1/memories stores (CREATED)" grep -q CREATED <<<"$out"
out=$(curl -sS -m 30 "http://127.0.0.1:$api/v1/memories/search" -H "X-API-Key: $KEY" \
        -H 'Content-Type: application/json' -d '{"user_id": "alice", "query": "where does she like to sit?"}')
check "POST /v1/memories/search finds it" grep -q "window seats" <<<"$out"
metrics=$(curl -fsS -m 5 "http://127.0.0.1:$adm_mem/metrics")
check "/metrics names the service and version" \
        grep -qF "cairn_build_info{service=\"memory\",version=\"$VERSION\"} 1" <<<"$metrics"

# The HEALTHCHECK exactly as the image declares it, inside the image.
hc=$(inspect '{{range $i, $a := .Config.Healthcheck.Test}}{{if $i}}{{printf "%s\n" $a}}{{end}}{{end}}' | sed 1d)
check "HEALTHCHECK passes on a ready service" in_image CAIRN_ADMIN_PORT="$adm_gw" -- sh -c "$(printf '%s' "$hc" | tail -n 1)"
check "HEALTHCHECK fails where nothing listens" bash -c "! ${BUILDAH[*]} run --isolation chroot -e CAIRN_ADMIN_PORT=$(free_port) $CTR -- sh -c '$(printf '%s' "$hc" | tail -n 1)' 2>/dev/null"

# ---- SIGTERM: each service drains and exits 0 ----
for name in gateway memory embedding; do
        var=pid_$name
        outer=${!var}
        inner=$(service_pid "$outer") || { bad "$name: service process found"; continue; }
        check "$name runs as uid 10001" test "$(awk '/^Uid:/ { print $2 }' "/proc/$inner/status")" = 10001
        kill -TERM "$inner"
        rc=0
        wait "$outer" || rc=$?
        check "$name exits 0 on SIGTERM" test "$rc" -eq 0
done
if ((failed)); then
        for f in "$WORK"/*.log; do printf -- '--- %s\n' "$f"; tail -n 15 "$f"; done
fi
echo "$passed passed, $failed failed"
((failed == 0))
