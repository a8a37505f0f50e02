#!/usr/bin/env bash
# The image test: runs the built image (cairn:<version>, deploy/image/build.sh)
# the way the Helm chart deploys it. The chart is rendered (helm template,
# tests/deploy/image-values.yaml) and tests/deploy/pods.py turns its setup
# Job and Deployments into `buildah run` command lines: each container's
# command, environment and volumes as a cluster would give them, as the
# image's own user, on the host network. Against one Apache Kafka broker
# (topic auto-creation off), PostgreSQL and Redis on 127.0.0.1, it runs the
# setup Job's steps (cairn-admin topics apply, migrate up), the gateway's
# init container and every service; waits for each /readyz; calls the
# gateway (an embedding from the model in the image, a memory stored and
# found again, a secret, a translation by the image's Apertium, speech both
# ways, a built-in workflow read and run to completion through the
# translation service); runs the image's HEALTHCHECK; and stops each service
# with SIGTERM, which must end it cleanly (exit 0).
#   tests/deploy/image.sh   (make image runs it after building)
# No Docker engine or container runtime is needed, only podman's storage
# (PODMAN and BUILDAH: deploy/image/env.sh); helm comes from deploy/tools.sh,
# Kafka from deploy/kafka/apache.sh.
set -uo pipefail
# shellcheck source=deploy/image/env.sh
. "$(dirname "$0")/../../deploy/image/env.sh"
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
CTR=cairn-it-$$
pids=()     # the buildah run processes, to wait for
pg_state=
redis_pid=
kafka_dir=

cleanup() {
        local p inner
        for p in "${pids[@]}"; do
                # the service first: buildah killed outright would leave it running
                inner=$(service_pid "$p") && kill -KILL "$inner" 2>/dev/null
                kill -KILL "$p" 2>/dev/null
        done
        [[ -n $redis_pid ]] && kill "$redis_pid" 2>/dev/null
        [[ -n $pg_state ]] && deploy/dev/pg.sh stop "$pg_state" >/dev/null 2>&1
        [[ -n $kafka_dir ]] && deploy/kafka/apache.sh stop "$kafka_dir" >/dev/null 2>&1
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
        "${BUILDAH[@]}" run --isolation chroot "${env[@]}" "$CTR" -- "$@"
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

ready() { # port seconds
        local i
        for ((i = 0; i < $2 * 5; i++)); do
                curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$1/readyz" && return 0
                sleep 0.2
        done
        return 1
}

"${PODMAN[@]}" image exists "$IMAGE" ||
        { echo "image: $IMAGE is not built (make image)"; exit 1; }
"${BUILDAH[@]}" from --name "$CTR" "$IMAGE" >/dev/null || { echo "image: buildah from $IMAGE failed"; exit 1; }

# ---- what the image says about itself ----
inspect() { "${PODMAN[@]}" image inspect --format "$1" "$IMAGE"; }
check "runs as uid 10001, not root" test "$(in_image -- id -u)" = 10001
check "user from the image config" test "$(inspect '{{.Config.User}}')" = 10001:10001
check "STOPSIGNAL SIGTERM" test "$(inspect '{{.Config.StopSignal}}')" = SIGTERM
check "OCI version label = $VERSION" test "$(inspect '{{index .Config.Labels "org.opencontainers.image.version"}}')" = "$VERSION"
check "OCI revision label set" test "$(inspect '{{index .Config.Labels "org.opencontainers.image.revision"}}')" != unknown
check "root filesystem not writable by the service user" \
        bash -c "! ${BUILDAH[*]} run --isolation chroot $CTR -- touch /usr/bin/x 2>/dev/null"
check "no compiler in the runtime image" bash -c "! ${BUILDAH[*]} run --isolation chroot $CTR -- sh -c 'command -v cc' >/dev/null 2>&1"
for s in gateway embedding memory secrets translation speech workflow admin; do
        check "cairn-$s runs (--version)" bash -c "${BUILDAH[*]} run --isolation chroot $CTR -- cairn-$s --version | grep -q $VERSION"
done
# What the translation service reads at run time: deploy/deps.sh's list, installed.
mapfile -t runtime_data < <(deploy/deps.sh --print-runtime-data)
installed=$(in_image -- dpkg-query -W -f '${Status}\n' "${runtime_data[@]}" 2>/dev/null | grep -cx 'install ok installed')
check "the ${#runtime_data[@]} packages of deps.sh --print-runtime-data installed" \
        test "$installed" = "${#runtime_data[@]}"
check "Apertium translates in the image (eng-spa)" bash -c \
        "${BUILDAH[*]} run --isolation chroot $CTR -- sh -c 'echo the house | apertium eng-spa' | grep -q 'La casa'"
check "libexttextcat's language models in the image" in_image -- test -s /usr/share/libexttextcat/fpdb.conf
check "the Whisper model in the image" in_image -- test -s /usr/share/cairn/models/whisper-tiny.en/model.bin
check "espeak-ng's voices in the image (French)" in_image -- test -s /usr/lib/x86_64-linux-gnu/espeak-ng-data/fr_dict

# ---- infrastructure: Apache Kafka, PostgreSQL and Redis on the host ----
if ! why=$(deploy/kafka/apache.sh check); then
        bad "Apache Kafka can run here: $why"
        exit 1
fi
if CAIRN_KAFKA_AUTO_CREATE=false deploy/kafka/apache.sh start "$WORK/kafka" >"$WORK/kafka.log" 2>&1; then
        kafka_dir=$WORK/kafka
        BOOT=$(cat "$WORK/kafka/bootstrap")
else
        bad "Apache Kafka started (see $WORK/kafka.log)"
        exit 1
fi
pg_port=$(free_port)
if deploy/dev/pg.sh start "$WORK/pg" "$pg_port" fast >"$WORK/pg.log" 2>&1; then
        pg_state=$WORK/pg
        PG_URL=$(deploy/dev/pg.sh url "$pg_state")
else
        bad "PostgreSQL started (see $WORK/pg.log)"
        exit 1
fi
redis_port=$(free_port)
REDIS_PASSWORD=image-test-redis-password
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
        --requirepass "$REDIS_PASSWORD" >"$WORK/redis.log" 2>&1 &
redis_pid=$!

# ---- the chart, rendered for this machine ----
helm=$(deploy/tools.sh helm | tail -n 1) || { bad "helm (deploy/tools.sh helm)"; exit 1; }
check "helm template with tests/deploy/image-values.yaml" bash -c \
        "'$helm' template cairn helm/cairn --kube-version 1.31.0 -f tests/deploy/image-values.yaml \
         --set kafka.bootstrapServers=$BOOT --set redis.port=$redis_port >'$WORK/rendered.yaml'"
# The Secrets an SRE creates (docs/operations.md), from the dev stack's keys.
KEYS=$(cat deploy/dev/gateway-keys.yaml) HS256=$(cat deploy/dev/gateway-hs256.secret) \
        ROOT_KEY=$(head -c 32 /dev/urandom | base64) \
        PG_URL=$PG_URL REDIS_PASSWORD=$REDIS_PASSWORD python3 -c '
import json, os
print(json.dumps({
    "cairn-postgres": {"url": os.environ["PG_URL"]},
    "cairn-redis": {"password": os.environ["REDIS_PASSWORD"]},
    "cairn-gateway-auth": {"keys.yaml": os.environ["KEYS"],
                           "gateway-hs256.secret": os.environ["HS256"]},
    "cairn-secrets-root-key": {"root.key": "img " + os.environ["ROOT_KEY"] + "\n"},
}))' >"$WORK/secrets.json"
plan=$(python3 tests/deploy/pods.py "$WORK/rendered.yaml" "$WORK/pods" "$WORK/secrets.json" \
        "$CTR" "${BUILDAH[@]}") || { bad "the chart's pods planned (tests/deploy/pods.py)"; exit 1; }

words() { mapfile -d '' -t cmd <"$1"; }
logged() { # log command...: stdin closed (buildah reads it)
        local log=$1
        shift
        "$@" </dev/null >>"$log" 2>&1
}
declare -A admin_port outer
api=
while IFS=$'\t' read -r phase workload container file adm http; do
        words "$file"
        case $phase in
        job | init)
                check "$workload: $container runs to completion" logged "$WORK/$workload.log" "${cmd[@]}"
                ;;
        main)
                "${cmd[@]}" </dev/null >"$WORK/$container.log" 2>&1 &
                pids+=($!)
                outer[$container]=$!
                admin_port[$container]=$adm
                [[ $http != - ]] && api=$http
                ;;
        esac
done <<<"$plan"
check "the chart's gateway has an API port" test -n "$api"
check "the setup Job created the topics (a second apply changes nothing)" bash -c \
        "${BUILDAH[*]} run --isolation chroot -e CAIRN_KAFKA_BOOTSTRAP_SERVERS=$BOOT \
         -e CAIRN_TOPICS_REPLICATION_FACTOR=1 $CTR -- cairn-admin topics diff /usr/share/cairn/topics.yaml \
         >>'$WORK/cairn-setup.log' 2>&1"
for s in memory secrets workflow; do
        check "the setup Job applied the migrations of $s" logged "$WORK/cairn-setup.log" \
                in_image CAIRN_PG_URL="$PG_URL" -- cairn-admin migrate status $s
done
adm_gw=${admin_port[gateway]}
adm_emb=${admin_port[embedding]}
adm_mem=${admin_port[memory]}

check "embedding ready" ready "$adm_emb" 120
check "memory ready" ready "$adm_mem" 60
check "secrets ready (its root key from the chart's Secret)" ready "${admin_port[secrets]}" 60
check "translation ready (its English-Spanish pipelines started)" ready "${admin_port[translation]}" 60
check "speech ready (Whisper loaded, the claims table made)" ready "${admin_port[speech]}" 60
check "workflow ready (the built-in workflows registered)" ready "${admin_port[workflow]}" 60
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
out=$(curl -sS -m 30 -X POST "http://127.0.0.1:$api/v1/secret/data/image/check" -H "X-Vault-Token: $KEY" \
        -H 'Content-Type: application/json' -d '{"data": {"password": "from-the-image"}}')
check "POST /v1/secret/data stores a secret (version 1)" grep -q '"version":1' <<<"$out"
out=$(curl -sS -m 30 "http://127.0.0.1:$api/v1/secret/data/image/check" -H "X-Vault-Token: $KEY")
check "GET /v1/secret/data reads it back" grep -q '"password":"from-the-image"' <<<"$out"
out=$(curl -sS -m 30 "http://127.0.0.1:$api/translate" -H 'Content-Type: application/json' \
        -d "{\"q\": \"The house is red.\", \"source\": \"en\", \"target\": \"es\", \"api_key\": \"$KEY\"}")
check "POST /translate (LibreTranslate's API): Apertium in the image" grep -q '"translatedText":"La casa es roja."' <<<"$out"
out=$(curl -sS -m 30 "http://127.0.0.1:$api/translate" -H "X-API-Key: $KEY" \
        -H 'Content-Type: application/json' -d '{"q": "Bon dia, com estàs?", "source": "auto", "target": "es"}')
check "POST /translate detects Catalan (CLD2 and libexttextcat's models in the image)" \
        grep -q '"language":"ca"' <<<"$out"
code=$(curl -sS -m 60 -o "$WORK/speech.wav" -w '%{http_code}' "http://127.0.0.1:$api/v1/audio/speech" \
        -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
        -d '{"model": "tts-1", "voice": "alloy", "input": "The weather will be sunny tomorrow afternoon.", "response_format": "wav"}')
check "POST /v1/audio/speech: WAV from the image's flite" bash -c \
        "[[ $code == 200 ]] && head -c 4 '$WORK/speech.wav' | grep -q RIFF"
out=$(curl -sS -m 120 "http://127.0.0.1:$api/v1/audio/transcriptions" -H "Authorization: Bearer $KEY" \
        -F model=whisper-1 -F "file=@$WORK/speech.wav;type=audio/wav" -F response_format=json)
check "POST /v1/audio/transcriptions: the image's Whisper hears it" grep -qi '"text":"the weather will be sunny' <<<"$out"
out=$(curl -sS -m 30 "http://127.0.0.1:$api/v1/workflows/translate-batch" -H "X-API-Key: $KEY")
check "GET /v1/workflows/translate-batch: the built-in definition" python3 -c '
import json, sys
d = json.loads(sys.argv[1])["definition"]
assert d["type"] == "translate-batch" and d["builtin"] and d["definition"]["steps"], d' "$out"
# A run of it: the workflow service's request goes out through its outbox to
# the translation service, the reply comes back on cairn.workflow.replies.
wf_id=image-check-$$
out=$(curl -sS -m 30 "http://127.0.0.1:$api/v1/workflows/translate-batch/runs" -H "X-API-Key: $KEY" \
        -H 'Content-Type: application/json' -d "{\"workflowId\": \"$wf_id\", \"input\": {\"documents\": \
        [\"The house is red.\", \"The dog is big.\"], \"source\": \"en\", \"target\": \"es\"}}")
check "POST /v1/workflows/translate-batch/runs starts a run" grep -q "\"$wf_id\"" <<<"$out"
# until it ends, a minute at most
for ((until = SECONDS + 60; SECONDS < until; )); do
        out=$(curl -sS -m 10 "http://127.0.0.1:$api/v1/workflows/translate-batch/runs/$wf_id" -H "X-API-Key: $KEY")
        grep -qE '"RUN_STATUS_(COMPLETED|FAILED|CANCELLED|TERMINATED|TIMED_OUT)"' <<<"$out" && break
        sleep 1
done
check "the run completes: both documents translated, in order" python3 -c '
import json, sys
run = json.loads(sys.argv[1])["run"]
assert run["status"] == "RUN_STATUS_COMPLETED", run
texts = [t["translations"][0]["text"] for t in run["output"]["translations"]]
assert texts[0] == "La casa es roja." and len(texts) == 2, texts' "$out"
metrics=$(curl -fsS -m 5 "http://127.0.0.1:$adm_mem/metrics")
check "/metrics names the service and version" \
        grep -qF "cairn_build_info{service=\"memory\",version=\"$VERSION\"} 1" <<<"$metrics"

# The HEALTHCHECK exactly as the image declares it, inside the image.
hc=$(inspect '{{range $i, $a := .Config.Healthcheck.Test}}{{if $i}}{{printf "%s\n" $a}}{{end}}{{end}}' | sed 1d)
check "HEALTHCHECK passes on a ready service" in_image CAIRN_ADMIN_PORT="$adm_gw" -- sh -c "$(printf '%s' "$hc" | tail -n 1)"
check "HEALTHCHECK fails where nothing listens" bash -c "! ${BUILDAH[*]} run --isolation chroot -e CAIRN_ADMIN_PORT=$(free_port) $CTR -- sh -c '$(printf '%s' "$hc" | tail -n 1)' 2>/dev/null"

# ---- SIGTERM: each service drains and exits 0 ----
for name in gateway workflow memory embedding secrets translation speech; do
        inner=$(service_pid "${outer[$name]}") || { bad "$name: service process found"; continue; }
        check "$name runs as uid 10001" test "$(awk '/^Uid:/ { print $2 }' "/proc/$inner/status")" = 10001
        kill -TERM "$inner"
        rc=0
        wait "${outer[$name]}" || rc=$?
        check "$name exits 0 on SIGTERM" test "$rc" -eq 0
done
if ((failed)); then
        for f in "$WORK"/*.log; do printf -- '--- %s\n' "$f"; tail -n 15 "$f"; done
fi
echo "$passed passed, $failed failed"
((failed == 0))
