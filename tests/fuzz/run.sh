#!/usr/bin/env bash
# Builds every libFuzzer target with clang (ASan+UBSan) and runs each for
# FUZZ_SECONDS (default 60) from its seed corpus in tests/fuzz/corpus/<target>.
# New corpus entries land in build/fuzz/corpus/<target>, not in the tree.
#   tests/fuzz/run.sh [target...]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_EACH=${FUZZ_SECONDS:-60}
OUT=build/fuzz
deploy/deps.sh fuzz
# generated sources first (protobuf-c, openapi.c)
make --no-print-directory build/lib/libcairn.a build/gen/gateway/openapi.c >/dev/null

# libcairn is rebuilt with clang and coverage so the fuzzer sees inside it.
# Sources are compiled once (coverage, no fuzzer main) and shared by every target.
CFLAGS=(-std=gnu11 -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
        -Icommon/include -Icommon/src -Ibuild/gen -Iservices -Ideploy/admin
        $(pkg-config --cflags libxxhash uuid))
LIBS=($(pkg-config --libs rdkafka libprotobuf-c yaml-0.1 libmicrohttpd jansson uuid libxxhash libutf8proc libcurl hiredis libcrypto libjwt) -lm -lpthread)
srcs() { make -s --no-print-directory "print-$1"; } # the Makefile's source lists
COMMON=($(srcs COMMON_SRCS) $(srcs GEN_C))
EMBED=($(srcs embedding_LIB_SRCS))
ADMIN=($(srcs ADMIN_LIB_SRCS))
GATEWAY=($(srcs gateway_LIB_SRCS) $(srcs gateway_GEN_SRCS))

targets=("$@")
((${#targets[@]})) || targets=(headers status utf8 embedding_request embedding_provider_response kafka_stats traceparent
                                    gateway_request gateway_auth admin_topics)
mkdir -p "$OUT/obj"
objs() { for f in "$@"; do printf '%s\n' "$OUT/obj/${f//\//_}.o"; done; }
compile() { # source
        local o=$OUT/obj/${1//\//_}.o
        [[ $o -nt $1 ]] || clang "${CFLAGS[@]}" -c "$1" -o "$o"
}
export OUT
CFLAGS_Q=$(printf '%q ' "${CFLAGS[@]}")
printf '%s\n' "${COMMON[@]}" "${EMBED[@]}" "${ADMIN[@]}" "${GATEWAY[@]}" |
        xargs -P "$(nproc)" -I{} bash -c "CFLAGS=($CFLAGS_Q); $(declare -f compile); compile {}"

for t in "${targets[@]}"; do
        extra=()
        [[ $t == embedding_* ]] && extra=("${EMBED[@]}")
        [[ $t == gateway_* ]] && extra=("${GATEWAY[@]}")
        [[ $t == admin_* ]] && extra=("${ADMIN[@]}")
        mapfile -t linked < <(objs "${COMMON[@]}" "${extra[@]}")
        clang "${CFLAGS[@]/fuzzer-no-link/fuzzer}" -o "$OUT/$t" "tests/fuzz/$t.c" "${linked[@]}" "${LIBS[@]}"
        mkdir -p "$OUT/corpus/$t"
        seeds=()
        [[ -d tests/fuzz/corpus/$t ]] && seeds=("tests/fuzz/corpus/$t")
        echo "fuzz: $t for ${SECONDS_EACH}s"
        "$OUT/$t" -max_total_time="$SECONDS_EACH" -max_len=65536 -print_final_stats=1 \
                "$OUT/corpus/$t" "${seeds[@]}" 2>&1 | grep -E '^(stat::number_of_executed_units|SUMMARY|==[0-9]+==ERROR)' | tail -n 3
done
echo "fuzz: all targets ran clean"
