#!/usr/bin/env bash
# Runs the benchmarks and writes their figures to docs/benchmarks.md,
# together with the command that produced them and the machine they ran on.
#   tests/bench/run.sh BUILD_DIR      (BENCH_SECONDS=N per phase, default 5)
set -euo pipefail
BUILD=${1:?usage: tests/bench/run.sh BUILD_DIR}
export TESTS_ROOT=$PWD TESTS_BUILD=$BUILD
SECS=${BENCH_SECONDS:-5}
out=docs/benchmarks.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "bench: lexical model"
"$BUILD/tests/bench/lexical" | tee "$tmp/lexical"
echo "bench: round trip over the dev broker (${SECS}s per phase)"
"$BUILD/tests/bench/roundtrip" "$SECS" | tee "$tmp/roundtrip"

val() { awk -v k="$2" '$1 == k { print $2 }' "$tmp/$1"; }
verdict() { # value op target
        if awk -v v="$1" -v t="$3" "BEGIN { exit !(v $2 t) }"; then echo "met"; else echo "**missed**"; fi
}

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
{
        echo "# Benchmarks"
        echo
        echo "Produced by \`make bench\` (tests/bench/run.sh, BENCH_SECONDS=$SECS) on $(date -u +%Y-%m-%d),"
        echo "$(nproc) cores ($cpu), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
        echo "Shared, noisy machines: compare the ratios, which are measured in the same run"
        echo "against a baseline, rather than absolute figures across runs."
        echo
        echo "## Round trip over the dev broker"
        echo
        echo "Client → \`cairn-embedding\` → client through the bus (\`cairn_bus_call_async\`),"
        echo "against a raw librdkafka ping-pong (produce, consume, produce back, consume) with"
        echo "the same client settings (deploy/dev/devbroker.env, idempotent producers,"
        echo "consumer groups) and the same message sizes ($(val roundtrip request_bytes) B request,"
        echo "$(val roundtrip reply_bytes) B reply), in the same process. One input of 10 words."
        echo
        echo "| measure | Cairn | raw librdkafka | ratio | target |"
        echo "|---|---|---|---|---|"
        echo "| p50 at $(val roundtrip rate_rps) req/s | $(val roundtrip cairn_p50_ms) ms | $(val roundtrip raw_p50_ms) ms | $(val roundtrip p50_ratio) | ≤ 1.5 ($(verdict "$(val roundtrip p50_ratio)" "<=" 1.5)) |"
        echo "| p99 at $(val roundtrip rate_rps) req/s | $(val roundtrip cairn_p99_ms) ms | $(val roundtrip raw_p99_ms) ms | $(val roundtrip p99_ratio) | ≤ 2 ($(verdict "$(val roundtrip p99_ratio)" "<=" 2)) |"
        echo "| max throughput, $(val roundtrip inflight) in flight | $(val roundtrip cairn_max_rps) req/s | $(val roundtrip raw_max_rps) req/s | $(val roundtrip throughput_ratio) | — |"
        echo
        echo "Errors during the Cairn run: $(val roundtrip cairn_errors)."
        echo
        echo "## Lexical model"
        echo
        echo "One thread, 384 dimensions, 10-word sentences: **$(val lexical lexical_embeddings_per_sec) embeddings/s**"
        echo "(target ≥ 100,000: $(verdict "$(val lexical lexical_embeddings_per_sec)" ">=" 100000))."
        echo
        echo '```'
        cat "$tmp/lexical"
        echo '```'
        echo
        echo "## Memory"
        echo
        echo "| measure | value | target |"
        echo "|---|---|---|"
        idle=$(val roundtrip embedding_idle_rss_kib)
        echo "| resident memory of an idle \`cairn-embedding\` | $((idle / 1024)) MiB ($idle KiB) | ≤ 20 MiB ($(verdict "$idle" "<=" 20480)) |"
        echo "| resident memory after the load above | $(( $(val roundtrip embedding_rss_after_load_kib) / 1024 )) MiB | — |"
} >"$out"
echo "bench: wrote $out"
