#!/usr/bin/env bash
# Builds every libFuzzer target with clang (ASan+UBSan) and runs each for
# FUZZ_SECONDS (default 60) from its seed corpus in tests/fuzz/corpus/<target>.
# New corpus entries land in build/fuzz/corpus/<target>, not in the tree.
# BUILD=dir picks another build directory than build/ (make's BUILD).
#   tests/fuzz/run.sh [target...]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_EACH=${FUZZ_SECONDS:-60}
export BUILD=${BUILD:-build}
OUT=$BUILD/fuzz
deploy/deps.sh fuzz
# generated sources first (protobuf-c, the gateway's openapi_base.c)
make --no-print-directory "$BUILD/lib/libcairn.a" "$BUILD/gen/gateway/openapi_base.c" >/dev/null

# libcairn is rebuilt with clang and coverage so the fuzzer sees inside it.
# Sources are compiled once (coverage, no fuzzer main) and shared by every target.
srcs() { make -s --no-print-directory "print-$1"; } # the Makefile's lists
PKGS=($(srcs PKGS)) # the libraries, as the Makefile links them
CFLAGS=(-std=gnu11 -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
        -Icommon/include -Icommon/src -I"$BUILD/gen" -Iservices -Ideploy/admin
        $(pkg-config --cflags "${PKGS[@]}"))
LIBS=($(pkg-config --libs "${PKGS[@]}") -lcld2 -lm -lpthread -lstdc++)
COMMON=($(srcs COMMON_SRCS) $(srcs GEN_C) $(srcs PB_REGISTRY_C))
# libcairn's own migration sets (the claim store's), generated as C
for m in $(srcs COMMON_MIGRATION_SETS); do
        make --no-print-directory "$BUILD/gen/migrations/cairn_$m.c" >/dev/null
        COMMON+=("$BUILD/gen/migrations/cairn_$m.c")
done
TESTPROTO=($(srcs TEST_GEN_C)) # the test protos (tests/proto), for pbjson_*
make --no-print-directory "${TESTPROTO[@]}" >/dev/null
EMBED=($(srcs embedding_LIB_SRCS))
ADMIN=($(srcs ADMIN_LIB_SRCS))
GATEWAY=($(srcs gateway_LIB_SRCS) $(srcs gateway_GEN_SRCS))
MEMORY=($(srcs memory_LIB_SRCS))
SECRETS=($(srcs secrets_LIB_SRCS))
# the translation service's language detection alone (its C++ shim over CLD2 too)
DETECT=(services/translation/detect.c services/translation/cld2_shim.cc)
# its stream format and mode files
TRSTREAM=(services/translation/stream.c services/translation/modes.c services/translation/langs.c)
# the remote provider's wire format
TRREMOTE=(services/translation/remote_wire.c)
# the speech service's CTranslate2 model.bin reader
SPCT2=(services/speech/ct2_model.c)
# the remote speech provider's wire format
SPREMOTE=(services/speech/remote_wire.c)
# the speech service's audio decoding (libsndfile and FFmpeg over memory) and voice activity
SPAUDIO=(services/speech/audio_*.c)
# the workflow service's definitions and templates
WORKFLOW=(services/workflow/definition.c services/workflow/template.c services/workflow/engine.c
          services/workflow/run.c services/workflow/reply.c)

targets=("$@")
((${#targets[@]})) || targets=(headers status utf8 embedding_request embedding_provider_response kafka_stats traceparent
                                    gateway_request gateway_auth gateway_http admin_topics pbjson_parse embedding_safetensors embedding_bert_tokenize
                                    memory_tokens gateway_vault gateway_libretranslate gateway_multipart gateway_openai_audio secrets_request secrets_sealed translation_detect translation_stream
                                    translation_remote_response)
(($#)) || targets+=(speech_remote_response)
(($#)) || targets+=(speech_ct2_model)
(($#)) || targets+=(speech_audio_decode)
(($#)) || targets+=(workflow_template workflow_definition workflow_reply)
mkdir -p "$OUT/obj"
objs() { for f in "$@"; do printf '%s\n' "$OUT/obj/${f//\//_}.o"; done; }
compile() { # source (C, or C++ for memory's graph and the CLD2 shim)
        local o=$OUT/obj/${1//\//_}.o
        [[ $o -nt $1 ]] && return 0
        if [[ $1 == *.cc ]]; then
                clang++ "${CFLAGS[@]/-std=gnu11/-std=gnu++17}" -c "$1" -o "$o"
        else
                clang "${CFLAGS[@]}" -c "$1" -o "$o"
        fi
}
export OUT
CFLAGS_Q=$(printf '%q ' "${CFLAGS[@]}")
printf '%s\n' "${COMMON[@]}" "${EMBED[@]}" "${ADMIN[@]}" "${GATEWAY[@]}" "${MEMORY[@]}" "${SECRETS[@]}" "${DETECT[@]}" "${TRSTREAM[@]}" "${TRREMOTE[@]}" "${SPREMOTE[@]}" "${WORKFLOW[@]}" "${TESTPROTO[@]}" |
        xargs -P "$(nproc)" -I{} bash -c "CFLAGS=($CFLAGS_Q); $(declare -f compile); compile {}"

for t in "${targets[@]}"; do
        extra=() link=()
        [[ $t == embedding_* ]] && extra=("${EMBED[@]}")
        [[ $t == gateway_* ]] && extra=("${GATEWAY[@]}")
        [[ $t == admin_* ]] && extra=("${ADMIN[@]}")
        # memory's graph is C++: its sanitizer checks need the C++ runtimes
        [[ $t == memory_* ]] && extra=("${MEMORY[@]}") && link=(-fsanitize-link-c++-runtime)
        [[ $t == pbjson_* ]] && extra=("${TESTPROTO[@]}")
        [[ $t == secrets_* ]] && extra=("${SECRETS[@]}")
        [[ $t == translation_detect ]] && extra=("${DETECT[@]}") && link=(-fsanitize-link-c++-runtime)
        [[ $t == translation_stream ]] && extra=("${TRSTREAM[@]}")
        [[ $t == translation_remote_response ]] && extra=("${TRREMOTE[@]}")
        [[ $t == speech_ct2_model ]] && extra=("${SPCT2[@]}") && compile "${SPCT2[@]}"
        [[ $t == speech_remote_response ]] && extra=("${SPREMOTE[@]}")
        [[ $t == workflow_* ]] && extra=("${WORKFLOW[@]}")
        if [[ $t == speech_audio_decode ]]; then
                extra=("${SPAUDIO[@]}")
                for f in "${SPAUDIO[@]}"; do compile "$f"; done
        fi
        mapfile -t linked < <(objs "${COMMON[@]}" "${extra[@]}")
        clang "${CFLAGS[@]/fuzzer-no-link/fuzzer}" "${link[@]}" -o "$OUT/$t" "tests/fuzz/$t.c" "${linked[@]}" "${LIBS[@]}"
        mkdir -p "$OUT/corpus/$t"
        seeds=()
        [[ -d tests/fuzz/corpus/$t ]] && seeds=("tests/fuzz/corpus/$t")
        echo "fuzz: $t for ${SECONDS_EACH}s"
        # -timeout: an input that hangs fails the run (libFuzzer waits 20 minutes)
        "$OUT/$t" -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=30 -print_final_stats=1 \
                "$OUT/corpus/$t" "${seeds[@]}" 2>&1 | grep -E '^(stat::number_of_executed_units|SUMMARY|==[0-9]+== ?ERROR|artifact_prefix)' | tail -n 3
done
echo "fuzz: all targets ran clean"
