#!/usr/bin/env bash
# Runs the benchmarks and writes their figures to docs/benchmarks.md,
# together with the command that produced them and the machine they ran on.
#   tests/bench/run.sh BUILD_DIR [PART...]
#       BENCH_SECONDS=N per phase, default 5; BENCH_MEMORY_SECONDS=N for the
#       gateway's memory run, default 300.
#       BENCH_BASELINE=REV, default HEAD~1: the gateway of this tree is
#       measured against the one built from REV (in a git worktree, with the
#       same compiler flags). To measure a change, set it to the commit
#       before the change (HEAD for changes not committed yet).
#       BENCH_AB_ROUNDS=N (default 10) rounds of BENCH_AB_ROUND_SECONDS=N
#       (default 3) for that comparison.
#       BENCH_BERT_SECONDS=N (default 1) per measure of all-MiniLM-L6-v2 in
#       process and of its numpy reference (a measure runs at least one batch).
#   PART: with none, every benchmark runs and the whole file is written.
#   Otherwise only the parts named run, each rewriting only its subsection of
#   the file:
#   "gateway_ab" the gateway against BENCH_BASELINE (it needs $BUILD/bin/*
#   and $BUILD/tests/bench/gateway_ab built);
#   "bert" all-MiniLM-L6-v2: in process, against the numpy reference and
#   through the gateway (it needs $BUILD/bin/*, $BUILD/tests/bench/bert and
#   $BUILD/tests/bench/bert_gateway built, and the model: deploy/models.sh);
#   "memory" the memory service (it needs $BUILD/bin/* and
#   $BUILD/tests/bench/memory built; the model for its MiniLM phase);
#   "image" the container image: two builds and its size (root, podman;
#   deploy/image/).
#   "secrets" the secrets service on Apache Kafka: reads and writes through
#   the bus against their baselines, where a read's CPU goes, a rewrap of
#   100,000 versions under reads (it needs $BUILD/bin/* and
#   $BUILD/tests/bench/secrets built).
#   "translation" the translation service (Apertium's English-Spanish
#   pipelines) on Apache Kafka: single sentences and one large batch
#   through the bus against the apertium command on the same sentences, and
#   latency through the gateway (it needs $BUILD/bin/* and
#   $BUILD/tests/bench/translation built).
#   "translation_detect" the translation service's language detection on
#   tests/data/translation/detect.tsv, in process: accuracy by text length
#   and speed of each method (it needs $BUILD/tests/bench/translation_detect
#   built); BENCH_DETECT_SECONDS=N (default 1) per speed measure.
#   "speech" the speech service: Whisper's real-time factor on a 60 s
#   recording and 5 s clips against faster-whisper, the word error rate on
#   synthesised voices (clean, 10 dB and 0 dB SNR; with and without
#   denoising; faster-whisper's beside it) and text to speech through the
#   gateway (it needs $BUILD/bin/*, $BUILD/tests/bench/speech_whisper,
#   speech_wer and speech_gateway built, and the model: deploy/models.sh
#   fetch whisper-tiny.en); BENCH_SPEECH_RUNS=N (default 3) runs of each
#   clip for the speed, the best counting; BENCH_TTS_RUNS=N (default 5)
#   requests per text-to-speech case, the median counting.
#   "workflow" the workflow service: three-step runs one at a time on the
#   dev broker and on Apache Kafka against the same calls made directly,
#   throughput with many runs in flight (PostgreSQL commits, CPU per step
#   by process, pg_stat_statements, a perf profile where perf records),
#   and a restart with many runs asleep (it needs $BUILD/bin/* and
#   $BUILD/tests/bench/workflow_* built); BENCH_WORKFLOW_RUNS=N (default
#   300) runs one at a time, BENCH_WORKFLOW_SECONDS=N (default 10) per
#   throughput window, BENCH_WORKFLOW_INFLIGHT=N (default 1000),
#   BENCH_WORKFLOW_RECOVERY_RUNS=N (default 10000).
set -euo pipefail
BUILD=${1:?usage: tests/bench/run.sh BUILD_DIR [gateway_ab] [bert]}
shift
export TESTS_ROOT=$PWD TESTS_BUILD=$BUILD
SECS=${BENCH_SECONDS:-5}
MEMSECS=${BENCH_MEMORY_SECONDS:-300}
out=docs/benchmarks.md
tmp=$(mktemp -d)
baseline_dir="" # the baseline's worktree and build, while they exist
cleanup() {
        deploy/kafka/apache.sh stop "$tmp/kafka" 2>/dev/null || true
        deploy/kafka/apache.sh stop "$tmp/kafka-memory" 2>/dev/null || true
        deploy/kafka/apache.sh stop "$tmp/kafka-secrets" 2>/dev/null || true
        deploy/kafka/apache.sh stop "$tmp/kafka-workflow" 2>/dev/null || true
        baseline_remove
        rm -rf "$tmp"
}
trap cleanup EXIT

val() { awk -v k="$2" '$1 == k { print $2 }' "$tmp/$1"; }
# A setting of a dev stack config: dev_setting SECTION KEY (deploy/dev/secrets.yaml).
dev_setting() { awk -v s="$1:" -v k="$2:" '$1 == s { in_s = 1; next } /^[a-z]/ { in_s = 0 } in_s && $1 == k { print $2; exit }' deploy/dev/secrets.yaml; }
# The whole value of a key whose value has spaces (a command line).
line() { awk -v k="$2" '$1 == k { sub(/^[^ ]+ /, ""); print }' "$tmp/$1"; }
calc() { awk "BEGIN { printf \"$1\", ($2) }"; }
verdict() { # value op target
        if awk -v v="$1" -v t="$3" "BEGIN { exit !(v $2 t) }"; then echo "met"; else echo "**missed**"; fi
}

# ---- the gateway against a baseline build of it (BENCH_BASELINE) ----

ab_heading="### The gateway against the previous commit"
ab_skipped=""

baseline_remove() {
        [[ -n $baseline_dir ]] || return 0
        git worktree remove --force "$baseline_dir/src" 2>/dev/null || true
        rm -rf "$baseline_dir"
        git worktree prune 2>/dev/null || true
        baseline_dir=""
}

# Builds the gateway of BENCH_BASELINE in a worktree under the build dir with
# this tree's compiler settings and measures this tree's against it
# (tests/bench/gateway_ab.c) into $tmp/gateway_ab; on any failure, says why
# in ab_skipped instead: a missing baseline never fails the benchmarks.
gateway_ab_run() {
        local rev=${BENCH_BASELINE:-HEAD~1} commit short log src flags="" v value
        local -a mkvars=()
        ab_skipped=""
        if ! commit=$(git rev-parse --verify --quiet "$rev^{commit}" 2>/dev/null); then
                ab_skipped="BENCH_BASELINE=$rev names no commit of this repository"
                echo "bench: SKIPPED the gateway against its baseline: $ab_skipped" >&2
                return 0
        fi
        short=$(git rev-parse --short "$commit")
        # What this tree is compiled with (the settings make bench was given
        # included), for the baseline's build.
        for v in CC OPT EXTRA_CFLAGS LDSAN; do
                value=$(make -s --no-print-directory BUILD="$BUILD" "print-$v")
                mkvars+=("$v=$value")
                if [[ $value == *" "* ]]; then value="'$value'"; fi
                flags+="${flags:+ }$v=$value"
        done
        mkdir -p "$BUILD"
        baseline_dir=$(mktemp -d "$(cd "$BUILD" && pwd)/bench-baseline.XXXXXX")
        src=$baseline_dir/src
        log=$BUILD/bench-baseline.log
        echo "bench: building the gateway of BENCH_BASELINE=$rev ($short) in $src ($flags; log: $log)"
        # The baseline's own Makefile, without what the make running us passes down.
        if ! { git worktree add --detach "$src" "$commit" &&
                env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
                        make -C "$src" -j2 BUILD=build "${mkvars[@]}" build/bin/cairn-gateway; } >"$log" 2>&1; then
                tail -n 15 "$log" >&2
                ab_skipped="the gateway of BENCH_BASELINE=$rev ($short) did not build (see $log)"
                echo "bench: SKIPPED the gateway against its baseline: $ab_skipped" >&2
                baseline_remove
                return 0
        fi
        echo "bench: the gateway of this tree against that of $short (${BENCH_AB_ROUNDS:-10} rounds of ${BENCH_AB_ROUND_SECONDS:-3}s per endpoint and side)"
        if ! BENCH_BASELINE_GATEWAY=$src/build/bin/cairn-gateway \
                BENCH_BASELINE_CONFIG=$src/deploy/dev/gateway.yaml \
                "$BUILD/tests/bench/gateway_ab" "${BENCH_AB_ROUND_SECONDS:-3}" "${BENCH_AB_ROUNDS:-10}" |
                tee "$tmp/gateway_ab"; then
                ab_skipped="tests/bench/gateway_ab failed against BENCH_BASELINE=$rev ($short)"
                echo "bench: SKIPPED the gateway against its baseline: $ab_skipped" >&2
                baseline_remove
                return 0
        fi
        # The same comparison in instructions, which noise does not move.
        echo "bench: instructions per request of each gateway (callgrind)"
        for side in current baseline; do
                local bin=$BUILD/bin/cairn-gateway
                [[ $side == baseline ]] && bin=$src/build/bin/cairn-gateway
                BUILD=$BUILD tests/bench/gateway_instructions.sh "$bin" "${BENCH_INSTR_REQUESTS:-3000}" |
                        sed "s/^/instr_${side}_/" >>"$tmp/gateway_ab" || true
        done
        {
                echo "baseline_rev $rev"
                echo "baseline_commit $short"
                echo "baseline_subject $(git log -1 --format=%s "$commit")"
                if cmp -s "$src/deploy/dev/gateway.yaml" deploy/dev/gateway.yaml; then
                        echo "baseline_config_same yes"
                else
                        echo "baseline_config_same no"
                fi
                echo "build_flags $flags"
                echo "current_commit $(git rev-parse --short HEAD)"
                if [[ -n $(git status --porcelain 2>/dev/null) ]]; then
                        echo "current_dirty yes"
                fi
        } >>"$tmp/gateway_ab"
        baseline_remove
}

# The subsection of docs/benchmarks.md for gateway_ab_run's figures; $1 is
# the command that produced them.
gateway_ab_render() {
        local f=gateway_ab errs_cur errs_base
        echo "$ab_heading"
        echo
        if [[ -n $ab_skipped ]]; then
                echo "Not measured in this run: $ab_skipped."
                echo
                return 0
        fi
        echo "\`cairn-gateway\` of this tree (commit $(val $f current_commit)$([[ -n $(val $f current_dirty) ]] && echo " with uncommitted changes")) against the one of"
        echo "\`BENCH_BASELINE=$(val $f baseline_rev)\` (commit $(val $f baseline_commit): \"$(line $f baseline_subject)\"),"
        echo "built in a git worktree of that revision by its own Makefile with this tree's compiler"
        echo "settings (\`$(line $f build_flags)\`); measured on $(date -u +%Y-%m-%d) by"
        echo "\`$1\` (tests/bench/gateway_ab.c)."
        echo "Both run side by side with one dev broker, one Redis and one \`cairn-embedding\`, with the"
        echo "same settings as above (HS256 JWT, rate limiting on with limits no run reaches$([[ $(val $f baseline_config_same) == no ]] && echo "; each reads its own revision's deploy/dev/gateway.yaml, which differ")). wrk"
        echo "($(val $f wrk_threads) threads, $(val $f wrk_connections) connections) loads one and then the other, in $(val $f rounds) rounds of $(val $f round_secs) s per endpoint"
        echo "after an unrecorded warm-up round, the order swapped every round, so load from neighbours"
        echo "falls on both alike. CPU per request is the loaded gateway's user and system time during"
        echo "its run (/proc/PID/stat) over the requests wrk completed. Figures are medians over the"
        echo "rounds; the ratio is this tree's median over the baseline's, beside the median and range of"
        echo "the rounds' own ratios; where that range spans 1, the difference is within the noise of"
        echo "this run. To measure a change, set \`BENCH_BASELINE\` to the commit before it."
        echo
        echo "| endpoint | measure | this tree | baseline | this tree / baseline | rounds' ratios: median (min–max) | target |"
        echo "|---|---|---|---|---|---|---|"
        for ep in version embeddings; do
                local label
                if [[ $ep == version ]]; then label="\`GET /v1/version\`"; else label="\`POST /v1/embeddings\`"; fi
                echo "| $label | requests/s | $(val $f ${ep}_current_rps) | $(val $f ${ep}_baseline_rps) | $(val $f ${ep}_rps_ratio) | $(val $f ${ep}_rps_round_ratio) ($(val $f ${ep}_rps_round_ratio_min)–$(val $f ${ep}_rps_round_ratio_max)) | ≥ 1 ($(verdict "$(val $f ${ep}_rps_ratio)" ">=" 1)) |"
                echo "| $label | CPU per request | $(val $f ${ep}_current_cpu_us_per_req) µs | $(val $f ${ep}_baseline_cpu_us_per_req) µs | $(val $f ${ep}_cpu_ratio) | $(val $f ${ep}_cpu_round_ratio) ($(val $f ${ep}_cpu_round_ratio_min)–$(val $f ${ep}_cpu_round_ratio_max)) | ≤ 1 ($(verdict "$(val $f ${ep}_cpu_ratio)" "<=" 1)) |"
        done
        local ic ib
        ic=$(val $f instr_current_instructions_per_request)
        ib=$(val $f instr_baseline_instructions_per_request)
        if [[ -n $ic && -n $ib ]]; then
                echo "| \`GET /v1/version\` | instructions per request in the handlers (callgrind) | $ic | $ib | $(awk -v a="$ic" -v b="$ib" 'BEGIN { printf "%.3f", a / b }') | repeatable to about 1 % | ≤ 1 ($(verdict "$(awk -v a="$ic" -v b="$ib" 'BEGIN { printf "%.3f", a / b }')" "<=" 1)) |"
        fi
        errs_cur=$(( $(val $f version_current_non2xx) + $(val $f version_current_socket_errors) + $(val $f embeddings_current_non2xx) + $(val $f embeddings_current_socket_errors) ))
        errs_base=$(( $(val $f version_baseline_non2xx) + $(val $f version_baseline_socket_errors) + $(val $f embeddings_baseline_non2xx) + $(val $f embeddings_baseline_socket_errors) ))
        echo
        echo "Responses outside 2xx and socket errors over the recorded rounds: this tree $errs_cur, baseline"
        echo "$errs_base (target 0: $(verdict "$((errs_cur + errs_base))" "==" 0))."
        echo
        echo "The commands, as run (the ports are the run's free ports on 127.0.0.1, the first of each"
        echo "pair this tree's gateway; \`\$JWT\` is the HS256 token the benchmark mints):"
        echo
        echo '```'
        echo "$1"
        echo "# the baseline, in a temporary worktree under $BUILD (removed afterwards)"
        echo "git worktree add --detach $BUILD/bench-baseline.XXXXXX/src $(val $f baseline_commit)"
        echo "make -C $BUILD/bench-baseline.XXXXXX/src BUILD=build $(line $f build_flags) build/bin/cairn-gateway"
        echo "# in each round, against each gateway in turn"
        line $f version_current_cmd
        line $f version_baseline_cmd
        line $f embeddings_current_cmd
        line $f embeddings_baseline_cmd
        echo "# instructions: each gateway alone under callgrind, $(val $f instr_current_requests) GET /v1/version on one connection"
        echo "tests/bench/gateway_instructions.sh GATEWAY_BIN ${BENCH_INSTR_REQUESTS:-3000}"
        echo '```'
        echo
        echo "Instructions are counted only inside the gateway's request callbacks (its pipeline,"
        echo "the response, and the libc and libmicrohttpd code they call), not in socket I/O,"
        echo "epoll or the kernel, so their share of a request's whole CPU time is smaller than"
        echo "the ratio suggests; unlike the timings, they repeat to about 1 % from run to run."
        echo
}

# ---- all-MiniLM-L6-v2: in process, against numpy, through the gateway ----

bert_heading="### all-MiniLM-L6-v2 in C"
BERT_SECS=${BENCH_BERT_SECONDS:-1}
BERT_NUMPY_TARGET=3 # "several times faster" than the numpy reference
bert_skipped="" numpy_skipped="" bert_gw_skipped=""

# Measures the model in process (tests/bench/bert.c), the numpy reference on
# the same texts (tests/bench/bert_numpy.py, in the venv of
# tests/clients/bert.txt) and the model through the gateway
# (tests/bench/bert_gateway.c) into $tmp/bert, $tmp/bert_numpy and
# $tmp/bert_gateway; what could not run is said in bert_skipped (nothing
# measured), numpy_skipped or bert_gw_skipped.
bert_run() {
        local out dir
        bert_skipped="" numpy_skipped="" bert_gw_skipped=""
        if ! out=$(deploy/models.sh path 2>&1); then
                bert_skipped="the model is not available (deploy/models.sh path: $(tail -n 1 <<<"$out"))"
                echo "bench: SKIPPED all-MiniLM-L6-v2: $bert_skipped" >&2
                return 0
        fi
        dir=$(tail -n 1 <<<"$out")
        echo "bench: all-MiniLM-L6-v2 in process (${BERT_SECS}s per measure)"
        if ! BENCH_BERT_TEXTS=$tmp/bert_texts.jsonl "$BUILD/tests/bench/bert" "$dir" "$BERT_SECS" |
                tee "$tmp/bert"; then
                bert_skipped="tests/bench/bert failed"
                echo "bench: SKIPPED all-MiniLM-L6-v2: $bert_skipped" >&2
                return 0
        fi
        # One thread, as the model's column it is compared with: numpy's
        # OpenBLAS and the tokenizers library's thread pool would take both
        # cores otherwise.
        echo "bench: the numpy reference on the same batches, one thread (${BERT_SECS}s per measure)"
        if ! OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 RAYON_NUM_THREADS=1 \
                tests/clients/venv.sh bert tests/bench/bert_numpy.py "$dir" "$tmp/bert_texts.jsonl" \
                "$BERT_SECS" >"$tmp/bert_numpy"; then
                numpy_skipped=$(grep -m 1 -o 'SKIPPED.*[^ !]' "$tmp/bert_numpy" || echo "tests/bench/bert_numpy.py failed")
                echo "bench: SKIPPED the numpy reference: $numpy_skipped" >&2
        fi
        cat "$tmp/bert_numpy"
        echo "bench: all-MiniLM-L6-v2 through the gateway (${SECS}s per load)"
        if ! "$BUILD/tests/bench/bert_gateway" "$dir" "$SECS" | grep -v '^{' | tee "$tmp/bert_gateway"; then
                bert_gw_skipped="tests/bench/bert_gateway failed"
                echo "bench: SKIPPED all-MiniLM-L6-v2 through the gateway: $bert_gw_skipped" >&2
        fi
}

# The value of key $2 in $tmp/$1, or "—" when the run has none.
bval() {
        local v
        v=$(val "$1" "$2" 2>/dev/null || true)
        if [[ -n $v ]]; then echo "$v"; else echo "—"; fi
}

# The subsection of docs/benchmarks.md for bert_run's figures; $1 is the
# command that produced them.
bert_render() {
        local f=bert n peak eff lat r rmin="" rmax="" words batch t1 tn np npg npmax="" npmax_at=""
        local ceil below="" reachable_below=0
        echo "$bert_heading"
        echo
        if [[ -n $bert_skipped ]]; then
                echo "Not measured in this run: $bert_skipped."
                echo
                return 0
        fi
        n=$(val $f threads)
        peak=$(val $f sgemm_peak_gflops)
        echo "sentence-transformers' all-MiniLM-L6-v2 ($(val $f bert_layers) layers, hidden size $(val $f bert_hidden), $(val $f bert_heads) heads, feed-forward"
        echo "$(val $f bert_intermediate); $(calc "%.1f" "$(val $f bert_weights_bytes) / 1048576") MiB of fp32 weights) run by services/embedding/bert_encode.c in the"
        echo "benchmark's own process (tests/bench/bert.c), its projections by bert_gemm.c's \`$(val $f bert_gemm_kernel)\` kernel and attention by $(line $f openblas), at one"
        echo "thread per call as the service's bert provider runs it; measured on $(date -u +%Y-%m-%d) by"
        echo "\`$1\`, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$([[ -n $(git status --porcelain 2>/dev/null) ]] && echo " with uncommitted changes")."
        echo "The texts are English sentences of 10 and 100 words drawn from a fixed word list"
        echo "($(val $f c10w_b1_t1_tokens_per_text) and $(val $f c100w_b1_t1_tokens_per_text) tokens, [CLS] and [SEP] included). Each measure calls \`bert_embed()\`"
        echo "(tokenization, the encoder, mean pooling, normalisation) on batches of consecutive texts"
        echo "for $(val $f secs) s, and at least once; \"$n threads\" runs $n such loops at once, each with its own"
        echo "working memory, as the provider does with \`threads: $n\`."
        echo
        echo "Efficiency is the forward pass's floating-point operations per second against the"
        echo "machine's own single-thread \`cblas_sgemm\` peak, measured in the same process just before:"
        echo "the best of $(val $f sgemm_runs) products of $(val $f sgemm_n)×$(val $f sgemm_n) matrices, **$peak GFLOP/s** ($(val $f sgemm_peak_end_gflops) GFLOP/s"
        echo "when measured again after the runs). A text of L tokens costs, per layer, 2·(4·L·H² + 2·L·H·I +"
        echo "2·L²·H) operations (H = $(val $f bert_hidden), I = $(val $f bert_intermediate)): the query, key, value and output projections,"
        echo "the two feed-forward matrices, QK^T and softmax·V; each text's own token count is used"
        echo "(padding is not useful work), and the embeddings, LayerNorm, GELU, softmax and pooling,"
        echo "all O(L·H), are left out. With $n threads the peak is taken $n times."
        echo
        echo "The numpy reference is the forward pass of tests/integration/bert_reference.py (the"
        echo "tokenizers library, then numpy $(bval bert_numpy numpy_version) with the OpenBLAS of its wheel), timed by"
        echo "tests/bench/bert_numpy.py on the same batches of the same texts, also on one thread"
        echo "(\`OPENBLAS_NUM_THREADS=1 RAYON_NUM_THREADS=1\`), a batch padded to its longest text; its"
        echo "GELU computes erf over whole arrays instead of calling \`math.erf\` per element, so that"
        echo "numpy, not the interpreter, is measured.$([[ -n $numpy_skipped ]] && echo " **Not measured in this run: $numpy_skipped.**")"
        echo
        echo "| words (tokens) | batch | 1 thread: sentences/s | tokens/s | GFLOP/s (of peak) | $n threads: sentences/s | tokens/s | GFLOP/s (of $n × peak) | numpy, 1 thread: sentences/s | numpy GFLOP/s (of peak) | Cairn / numpy, 1 thread each | ceiling: peak / numpy GFLOP/s |"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
        for words in 10 100; do
                for batch in 1 8 32 128; do
                        t1=c${words}w_b${batch}_t1
                        tn=c${words}w_b${batch}_t$n
                        np=$(bval bert_numpy "numpy_${words}w_b${batch}_sps")
                        r="—" npg="—" ceil="—"
                        if [[ $np != "—" ]]; then
                                r=$(calc "%.2f" "$(val $f "${t1}_sps") / $np")
                                # the same texts, so the same operations a sentence
                                npg=$(calc "%.2f" "$np * $(val $f "${t1}_gflops") / $(val $f "${t1}_sps")")
                                ceil=$(calc "%.2f" "$peak / $npg")
                                if awk -v a="$r" -v b="$BERT_NUMPY_TARGET" 'BEGIN { exit !(a < b) }'; then
                                        below+="${below:+; }$words words at batch $batch: $r× (ceiling $ceil×)"
                                        if awk -v a="$ceil" -v b="$BERT_NUMPY_TARGET" 'BEGIN { exit !(a >= b) }'; then reachable_below=$((reachable_below + 1)); fi
                                fi
                                if [[ -z $npmax ]] || awk -v a="$npg" -v b="$npmax" 'BEGIN { exit !(a > b) }'; then npmax=$npg; npmax_at="$words words, batch $batch"; fi
                                npg="$npg ($(calc "%.0f%%" "$npg / $peak * 100"))"
                                if [[ -z $rmin ]] || awk -v a="$r" -v b="$rmin" 'BEGIN { exit !(a < b) }'; then rmin=$r; fi
                                if [[ -z $rmax ]] || awk -v a="$r" -v b="$rmax" 'BEGIN { exit !(a > b) }'; then rmax=$r; fi
                        fi
                        echo "| $words ($(val $f "${t1}_tokens_per_text")) | $batch | $(val $f "${t1}_sps") | $(val $f "${t1}_tps") | $(val $f "${t1}_gflops") ($(calc "%.0f%%" "$(val $f "${t1}_efficiency") * 100")) | $(bval $f "${tn}_sps") | $(bval $f "${tn}_tps") | $(bval $f "${tn}_gflops") ($(calc "%.0f%%" "$(bval $f "${tn}_efficiency") * 100")) | $np | $npg | $r | $ceil |"
                done
        done
        echo
        echo "The projections alone, as the encoder's weights decide them: every layer's query, key,"
        echo "value, output and feed-forward products over the tokens of one text, the best of repeated"
        echo "passes on one thread, with \`cblas_sgemm\` over weights transposed once to [in, out] (how the"
        echo "encoder ran them before; OpenBLAS packs both operands again on every call) and with"
        echo "services/embedding/bert_gemm.c over the panels the model packs at load (how it runs them),"
        echo "with each of its kernels this CPU runs (\`$(val $f bert_gemm_kernel)\` is the one it picks):"
        echo
        echo "| text (tokens) | \`cblas_sgemm\` | \`bert_gemm\`, avx512 | avx2 | generic | \`cblas_sgemm\` / \`bert_gemm\` ($(val $f bert_gemm_kernel)) |"
        echo "|---|---|---|---|---|---|"
        for words in 10 100; do
                local kms=""
                for kern in avx512 avx2 generic; do
                        if [[ $(bval $f "proj_${words}w_${kern}_ms") == "—" ]]; then
                                kms+=" not on this CPU |"
                        else
                                kms+=" $(val $f "proj_${words}w_${kern}_ms") ms |"
                        fi
                done
                echo "| $words words ($(val $f "proj_${words}w_rows")) | $(val $f "proj_${words}w_sgemm_ms") ms |$kms $(calc "%.2f" "$(val $f "proj_${words}w_sgemm_ms") / $(val $f "proj_${words}w_packed_ms")") |"
        done
        echo
        eff=$(calc "%.3f" "$(val $f c100w_b32_t1_efficiency)")
        lat=$(val $f lat_p50_ms)
        echo "| target | measured | verdict |"
        echo "|---|---|---|"
        echo "| ≥ 50% of the sgemm peak at batch 32 on 100-word texts, one thread | $(calc "%.0f%%" "$eff * 100") ($(val $f c100w_b32_t1_gflops) of $peak GFLOP/s) | $(verdict "$eff" ">=" 0.5) |"
        echo "| one 10-word sentence on one thread: p50 ≤ 5 ms ($(val $f lat_runs) runs, one after another) | p50 $lat ms, p99 $(val $f lat_p99_ms) ms | $(verdict "$lat" "<=" 5) |"
        if [[ -n $rmin ]]; then
                echo "| several (≥ $BERT_NUMPY_TARGET) times faster than the numpy reference, at every batch, one thread each | $rmin× to $rmax× | $(verdict "$rmin" ">=" "$BERT_NUMPY_TARGET") |"
                echo
                echo "The numpy reference multiplies with OpenBLAS too, and on long enough texts OpenBLAS runs"
                echo "near its peak: at its fastest ($npmax_at) numpy reached $npmax GFLOP/s,"
                echo "$(calc "%.0f%%" "$npmax / $peak * 100") of the sgemm peak, so $BERT_NUMPY_TARGET× that would be $(calc "%.0f%%" "$BERT_NUMPY_TARGET * $npmax / $peak * 100") of the peak on one core."
                echo "No implementation on one core beats numpy by more than the peak over numpy's own GFLOP/s,"
                echo "the last column: where that ceiling is below $BERT_NUMPY_TARGET, so is every ratio; the ratio that"
                echo "matters there is the efficiency column."
                if [[ -n $below ]]; then
                        echo "Below $BERT_NUMPY_TARGET× in this run: $below; $reachable_below of them with a ceiling of $BERT_NUMPY_TARGET× or more."
                else
                        echo "Every batch is at $BERT_NUMPY_TARGET× or more in this run."
                fi
        else
                echo "| several (≥ $BERT_NUMPY_TARGET) times faster than the numpy reference, one thread each | not measured | — |"
        fi
        bert_gateway_render "$1"
        echo "The commands, as run:"
        echo
        echo '```'
        echo "$1"
        echo "# in process; BENCH_BERT_TEXTS keeps the texts for the numpy reference"
        echo "BENCH_BERT_TEXTS=TEXTS $BUILD/tests/bench/bert \$(deploy/models.sh path) $BERT_SECS"
        echo "OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 RAYON_NUM_THREADS=1 tests/clients/venv.sh bert tests/bench/bert_numpy.py \$(deploy/models.sh path) TEXTS $BERT_SECS"
        echo "# through the gateway (the ports are the run's free ports on 127.0.0.1; \$JWT_1 ... \$JWT_N are"
        echo "# HS256 tokens the benchmark mints, one a tenant); each load after an unrecorded run of 2 s"
        echo "$BUILD/tests/bench/bert_gateway \$(deploy/models.sh path) $SECS"
        if [[ -z $bert_gw_skipped ]]; then
                line bert_gateway bert1_cmd
                line bert_gateway bertn_cmd
                line bert_gateway lexical1_cmd
        fi
        echo '```'
        echo
        echo "Figures from one run on a shared 2-core machine: the absolute numbers move from run to"
        echo "run with the neighbours' load (compare the sgemm peak at the start and at the end), and"
        echo "the $n-thread column gains over one thread only as far as the other cores are free; the"
        echo "efficiencies and ratios, measured in the same run, move less."
        echo
}

# The end-to-end part of bert_render.
bert_gateway_render() {
        local g=bert_gateway w rss ratio errs
        echo
        echo "End to end: wrk ($(bval $g wrk_threads) threads, $(bval $g wrk_connections) keep-alive connections, closed loop) against the"
        echo "gateway's \`POST /v1/embeddings\` (tests/bench/embeddings.lua: one 10-word input, HS256 JWT, rate"
        echo "limiting on with limits no run reaches), through a dev broker to one \`cairn-embedding\`"
        echo "serving the model from slot 1 as deploy/dev/stack.sh configures it, with the cache off (the"
        echo "same text each time would be a cache hit), \`threads: $(bval $g threads)\` and \`bus.workers: $(bval $g bus_workers)\`"
        echo "(tests/bench/bert_gateway.c); everything shares the machine's cores. The gateway keys a"
        echo "request by its tenant; the service, which keeps no state per key, spreads one key's"
        echo "requests over its workers, and its micro-batcher groups the concurrent ones. The second"
        echo "load spreads the same requests over $(bval $g tenants) tenants. The baselines, in the same"
        echo "run: the built-in lexical model through the same gateway and service (what the path costs"
        echo "without the model), and the model in process above (the best 10-word figure on"
        echo "$(bval $g threads) threads). Before each load the"
        echo "benchmark waits for the service to go idle, then runs the same load for 2 s unrecorded."
        echo
        if [[ -n $bert_gw_skipped ]]; then
                echo "**Not measured in this run: $bert_gw_skipped.**"
                echo
                return 0
        fi
        local best=0 b v
        for b in 1 8 32 128; do
                v=$(val bert "c10w_b${b}_t$(val $g threads)_sps")
                [[ -z $v ]] && v=$(val bert "c10w_b${b}_t1_sps")
                if awk -v a="$v" -v b="$best" 'BEGIN { exit !(a > b) }'; then best=$v; fi
        done
        echo "| load | requests/s | p50 | p99 | outside 2xx, socket errors | \`cairn-embedding\` CPU per request | requests/s against the model in process |"
        echo "|---|---|---|---|---|---|---|"
        echo "| all-MiniLM-L6-v2, 1 tenant | $(val $g bert1_rps) | $(val $g bert1_p50_ms) ms | $(val $g bert1_p99_ms) ms | $(val $g bert1_non2xx), $(val $g bert1_socket_errors) | $(val $g bert1_embedding_cpu_us_per_req) µs | $(calc "%.2f" "$(val $g bert1_rps) / $best") of $best |"
        echo "| all-MiniLM-L6-v2, $(val $g tenants) tenants | $(val $g bertn_rps) | $(val $g bertn_p50_ms) ms | $(val $g bertn_p99_ms) ms | $(val $g bertn_non2xx), $(val $g bertn_socket_errors) | $(val $g bertn_embedding_cpu_us_per_req) µs | $(calc "%.2f" "$(val $g bertn_rps) / $best") of $best |"
        echo "| lexical model, 1 tenant (baseline) | $(val $g lexical1_rps) | $(val $g lexical1_p50_ms) ms | $(val $g lexical1_p99_ms) ms | $(val $g lexical1_non2xx), $(val $g lexical1_socket_errors) | $(val $g lexical1_embedding_cpu_us_per_req) µs | — |"
        echo
        errs=$(( $(val $g bert1_non2xx) + $(val $g bert1_socket_errors) + $(val $g bertn_non2xx) + $(val $g bertn_socket_errors) + $(val $g lexical1_non2xx) + $(val $g lexical1_socket_errors) ))
        echo "Responses outside 2xx and socket errors over the three loads: $errs (target 0: $(verdict "$errs" "==" 0); wrk counts a"
        echo "request unanswered after 15 s, longer than the gateway's 10 s deadline, as a socket error)."
        echo
        if ((errs > 0)); then
                echo "**This run had errors through the gateway: the rows with errors do not describe successful requests.**"
                echo
        fi
        w=$(val bert bert_weights_bytes)
        rss=$(val $g loaded_vmrss_kib)
        ratio=$(calc "%.2f" "$rss * 1024 / $w")
        echo "Resident memory of \`cairn-embedding\` (/proc/PID/status) against the weights' size, $(calc "%.0f" "$w / 1024") KiB"
        echo "(model.safetensors; file-backed pages are those of the memory-mapped file read so far,"
        echo "anonymous ones the service's own memory, the model's working memories included):"
        echo
        echo "| when | VmRSS | of which file-backed (RssFile) | anonymous (RssAnon) | VmRSS / weights | peak so far (VmHWM) / weights | target |"
        echo "|---|---|---|---|---|---|---|"
        echo "| ready, before any request | $(val $g ready_vmrss_kib) KiB | $(val $g ready_rssfile_kib) KiB | $(val $g ready_rssanon_kib) KiB | $(calc "%.2f" "$(val $g ready_vmrss_kib) * 1024 / $w") | $(calc "%.2f" "$(val $g ready_vmhwm_kib) * 1024 / $w") ($(val $g ready_vmhwm_kib) KiB) | — |"
        echo "| after the two loads of the model | $rss KiB | $(val $g loaded_rssfile_kib) KiB | $(val $g loaded_rssanon_kib) KiB | $ratio | $(calc "%.2f" "$(val $g loaded_vmhwm_kib) * 1024 / $w") ($(val $g loaded_vmhwm_kib) KiB) | VmRSS ≤ 1.5 × ($(verdict "$ratio" "<=" 1.5)) |"
        echo
        echo "The service's settings beyond deploy/dev/embedding.yaml:"
        awk '$1 == "embedding_env" { sub(/^[^ ]+ /, ""); printf "%s`%s`", (n++ ? ", " : ""), $0 } END { print "." }' "$tmp/$g"
        echo
}

# ---- the memory service ----

memory_heading="## Memory service"
image_heading="## Container image"
memory_skipped=""

# Runs tests/bench/memory.c into $tmp/memory, on Apache Kafka (a broker of
# its own, in $tmp/kafka-memory) where it can run, else on the dev broker,
# whose round trip alone takes about 3 ms; says why in memory_skipped when
# it fails.
memory_run() {
        local why kdir=$tmp/kafka-memory
        local -a env=()
        memory_skipped=""
        if why=$(deploy/kafka/apache.sh check) && CAIRN_KAFKA_JIT=full deploy/kafka/apache.sh start "$kdir"; then
                env=(TESTS_KAFKA=apache "TESTS_KAFKA_DIR=$kdir")
                echo "broker Apache Kafka $(deploy/kafka/apache.sh version)" >"$tmp/memory"
        else
                echo "bench: the memory service runs on the dev broker: Apache Kafka ${why:-did not start}" >&2
                echo "broker the dev broker (Apache Kafka: ${why:-did not start})" >"$tmp/memory"
        fi
        echo "bench: the memory service, 200,000 memories (${SECS}s per store phase; about a quarter of an hour)"
        if ! env "${env[@]}" "$BUILD/tests/bench/memory" "$SECS" | grep -v '^{' | tee -a "$tmp/memory"; then
                memory_skipped="tests/bench/memory failed"
                echo "bench: SKIPPED the memory service: $memory_skipped" >&2
        fi
        ((${#env[@]})) && deploy/kafka/apache.sh stop "$kdir"
        return 0
}

# The section of docs/benchmarks.md for memory_run's figures; $1 is the
# command that produced them.
memory_render() {
        local f=memory raw rss ratio w
        echo "$memory_heading"
        echo
        if [[ -n $memory_skipped ]]; then
                echo "Not measured in this run: $memory_skipped."
                echo
                return 0
        fi
        raw=$(val $f vectors_raw_kib)
        rss=$(val $f rss_kib)
        ratio=$(calc "%.2f" "$rss / $raw")
        echo "\`cairn-memory\` on $(line $f broker), with a PostgreSQL (\`fsync=off\`, as in the tests) and a"
        echo "\`cairn-embedding\` of its own, measured on $(date -u +%Y-%m-%d) by \`$1\` (tests/bench/memory.c)."
        echo "Everything (broker, PostgreSQL, both services, the benchmark's client) shares the machine's"
        echo "$(nproc) cores. The data set: $(val $f large_memories) memories of one user and $(val $f per_small) of each of"
        echo "$(val $f small_users) others, $(val $f dim)-d caller vectors near one of 2,000 subjects, themselves near one of"
        echo "100 topics (so that a query's neighbours come from several subjects, as with embeddings of"
        echo "real text), each content eight words of its subject's share of a 3,000-word vocabulary; stored"
        echo "through the bus in batches of 100, then \`ANALYZE\` (the statistics any bulk import needs)."
        echo "Searches are one at a time through the bus (a closed loop of one caller), each with a"
        echo "two-word query and its vector, so no embedding is involved; the baseline of the graph is"
        echo "exact search computed by the benchmark itself over the same vectors."
        echo
        echo "| measure | value | target |"
        echo "|---|---|---|"
        echo "| large user: recall@10 of vector search against exact search, $(val $f recall_queries) queries | $(val $f recall_at_10) | ≥ 0.95 ($(verdict "$(val $f recall_at_10)" ">=" 0.95)) |"
        echo "| large user: hybrid search p99 | $(val $f hybrid_large_p99_ms) ms | ≤ 20 ms ($(verdict "$(val $f hybrid_large_p99_ms)" "<=" 20)) |"
        echo "| small users: hybrid search p99 | $(val $f hybrid_small_p99_ms) ms | ≤ 5 ms ($(verdict "$(val $f hybrid_small_p99_ms)" "<=" 5)) |"
        echo "| store, caller vectors, one memory a request, 16 in flight | $(val $f store_w16_per_sec)/s, p50 $(val $f store_w16_p50_ms) ms, p99 $(val $f store_w16_p99_ms) ms | ≥ 2,000/s ($(verdict "$(val $f store_w16_per_sec)" ">=" 2000)), p99 ≤ 15 ms ($(verdict "$(val $f store_w16_p99_ms)" "<=" 15)) |"
        echo "| store, caller vectors, one in flight | $(val $f store_w1_per_sec)/s, p50 $(val $f store_w1_p50_ms) ms, p99 $(val $f store_w1_p99_ms) ms | — |"
        if [[ -n $(val $f minilm_skipped) ]]; then
                echo "| store, all-MiniLM-L6-v2 embedding | not measured: $(line $f minilm_skipped) | — |"
        else
                echo "| store, all-MiniLM-L6-v2 embedding, 16 in flight | $(val $f store_minilm_w16_per_sec)/s, p50 $(val $f store_minilm_w16_p50_ms) ms, p99 $(val $f store_minilm_w16_p99_ms) ms; $(calc "%.0f%%" "$(val $f minilm_embed_share) * 100") of the store time waiting for the embedding | report |"
        fi
        echo "| load, batches of 100 | $(val $f load_per_sec) memories/s ($(val $f load_seconds) s), a batch p50 $(val $f load_batch_p50_ms) ms | — |"
        echo "| restart: stop, start, then the large user's first search answered | $(val $f restart_large_answer_s) s (ready $(val $f restart_ready_s) s; the snapshot read and checked in $(val $f restart_snapshot_load_s) s) | ≤ 10 s ($(verdict "$(val $f restart_large_answer_s)" "<=" 10)) |"
        echo "| resident memory with every user loaded / the vectors' raw bytes | $((rss / 1024)) MiB / $((raw / 1024)) MiB = $ratio | ≤ 2 ($(verdict "$ratio" "<=" 2)) |"
        echo
        echo "Searches one at a time, p50 / p99, beside their floor: a Get of one memory (the same bus,"
        echo "one row from PostgreSQL):"
        echo
        echo "| user | vector | keyword | hybrid |"
        echo "|---|---|---|---|"
        echo "| large ($(val $f large_memories) memories, graph) | $(val $f vector_large_p50_ms) / $(val $f vector_large_p99_ms) ms | $(val $f keyword_large_p50_ms) / $(val $f keyword_large_p99_ms) ms | $(val $f hybrid_large_p50_ms) / $(val $f hybrid_large_p99_ms) ms |"
        echo "| small ($(val $f per_small) memories, exact) | $(val $f vector_small_p50_ms) / $(val $f vector_small_p99_ms) ms | $(val $f keyword_small_p50_ms) / $(val $f keyword_small_p99_ms) ms | $(val $f hybrid_small_p50_ms) / $(val $f hybrid_small_p99_ms) ms |"
        echo "| small, first use (read from PostgreSQL) | — | — | $(val $f hybrid_small_cold_p50_ms) / $(val $f hybrid_small_cold_p99_ms) ms |"
        echo "| floor: Get of one memory | $(val $f get_p50_ms) / $(val $f get_p99_ms) ms | | |"
        echo
        echo "CPU time per memory stored, by process (user and system time over the phase):"
        echo
        echo "| phase | \`cairn-memory\` | PostgreSQL | broker | \`cairn-embedding\` |"
        echo "|---|---|---|---|---|"
        for w in load_memory store_w1 store_w16 store_minilm_w16; do
                [[ -z $(val $f "${w}_cpu_us_memory") ]] && continue
                echo "| ${w//_/ } | $(val $f "${w}_cpu_us_memory") µs | $(val $f "${w}_cpu_us_pg") µs | $(val $f "${w}_cpu_us_broker") µs | $(bval $f "${w}_cpu_us_embedding") µs |"
        done
        echo
        echo "At 16 in flight a store costs $(( $(val $f store_w16_cpu_us_memory) + $(val $f store_w16_cpu_us_pg) + $(val $f store_w16_cpu_us_broker) )) µs of CPU in the service, PostgreSQL and the broker together:"
        echo "2,000 stores a second would take $(calc "%.1f" "($(val $f store_w16_cpu_us_memory) + $(val $f store_w16_cpu_us_pg) + $(val $f store_w16_cpu_us_broker)) * 2000 / 1e6") cores, more than the machine's $(nproc) before the benchmark's own"
        echo "client. The graph of the large user was built while it was loaded (the last build took"
        echo "$(val $f graph_build_s) s); exact search over its $(val $f large_memories) vectors took $(val $f exact_scan_ms) ms a query in the benchmark"
        echo "(one thread, plain C). After the restart the first search waits for the consumer's partitions"
        echo "(on the dev broker a consumer joining an empty group waits about 3 s, docs/operations.md) and"
        echo "for the large user's snapshot to be read and checked against PostgreSQL. Resident memory after"
        echo "the restart, with only the large user loaded: $(( $(val $f restart_rss_kib) / 1024 )) MiB."
        echo
}

# ---- the translation service ----

translation_heading="## Translation service"
translation_skipped=""

# A setting of deploy/dev/translation.yaml: translation_setting SECTION KEY.
translation_setting() { awk -v s="$1:" -v k="$2:" '$1 == s { in_s = 1; next } /^[a-z]/ { in_s = 0 } in_s && $1 == k { print $2; exit }' deploy/dev/translation.yaml; }

# Runs tests/bench/translation.c into $tmp/translation, on Apache Kafka (a
# broker of its own, in $tmp/kafka-translation) where it can run, else on
# the dev broker; says why in translation_skipped when it fails.
translation_run() {
        local why kdir=$tmp/kafka-translation
        local -a env=()
        translation_skipped=""
        if why=$(deploy/kafka/apache.sh check) && CAIRN_KAFKA_JIT=full deploy/kafka/apache.sh start "$kdir"; then
                env=(TESTS_KAFKA=apache "TESTS_KAFKA_DIR=$kdir")
                echo "broker Apache Kafka $(deploy/kafka/apache.sh version)" >"$tmp/translation"
        else
                echo "bench: the translation service runs on the dev broker: Apache Kafka ${why:-did not start}" >&2
                echo "broker the dev broker (Apache Kafka: ${why:-did not start})" >"$tmp/translation"
        fi
        echo "bench: the translation service: single sentences, a batch, the gateway (${SECS}s per run; about 2 minutes)"
        if ! env "${env[@]}" "$BUILD/tests/bench/translation" "$SECS" | grep -v '^{' | tee -a "$tmp/translation"; then
                translation_skipped="tests/bench/translation failed"
                echo "bench: SKIPPED the translation service: $translation_skipped" >&2
        fi
        ((${#env[@]})) && deploy/kafka/apache.sh stop "$kdir"
        return 0
}

# The section of docs/benchmarks.md for translation_run's figures; $1 is
# the command that produced them.
translation_render() {
        local f=translation r1 r2 cpu_s gw_cpu need n label target
        echo "$translation_heading"
        echo
        if [[ -n $translation_skipped ]]; then
                echo "Not measured in this run: $translation_skipped."
                echo
                return 0
        fi
        echo "\`cairn-translation\` on $(line $f broker), translating English into Spanish with Apertium"
        echo "$(dpkg-query -W -f '${Version}' apertium 2>/dev/null) and apertium-eng-spa $(dpkg-query -W -f '${Version}' apertium-eng-spa 2>/dev/null) (the mode $(val $f mode), $(grep -o ' | ' "/usr/share/apertium/modes/$(val $f mode).mode" | wc -l | awk '{ print $1 + 1 }') programs"
        echo "in a pipeline), measured on $(date -u +%Y-%m-%d) by \`$1\` (tests/bench/translation.c), commit"
        echo "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$([[ -n $(git status --porcelain 2>/dev/null) ]] && echo " with uncommitted changes"), on $(val $f cores) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)) that the broker, the"
        echo "service and its pipelines, the gateway, the benchmark's client and the baseline share with"
        echo "other work. The service runs with deploy/dev/translation.yaml (\`bus.workers: $(translation_setting bus workers)\`,"
        echo "\`translation.pipelines: $(translation_setting translation pipelines)\`, \`translation.preload: $(translation_setting translation preload)\`, \`translation.depth\` its default 8) and"
        echo "$(awk '$1 == "service_env" { printf "%s`%s`", (n++ ? ", " : ""), $2 }' "$tmp/$f"): no text repeats, and every one is"
        echo "translated by Apertium, not answered by Redis. The texts are English sentences of 9 to 18 words built"
        echo "from fixed lists (\"The old man bought a small house in the city yesterday because it was"
        echo "raining.\"), each one different. The baseline is what a thin wrapper around Apertium"
        echo "does, on the same sentences, in the same run: \`apertium -u $(val $f mode)\` (\`-u\`: no marks on"
        echo "unknown words, as the service answers unless asked), a new process for each input: the"
        echo "shell script, its deformatter, the mode's programs loading their dictionaries, its"
        echo "reformatter. It takes $(val $f apertium_start_secs) s to translate one word. CPU time is each process's user and system"
        echo "time over the run (/proc/PID/stat): the service, its pipelines (its children), the"
        echo "broker, the gateway; the baseline's Apertium processes from getrusage(RUSAGE_CHILDREN)."
        echo
        r1=$(val $f single_ratio)
        cpu_s=$(calc "%.0f" "$(val $f single_service_cpu_us_service) + $(val $f single_service_cpu_us_pipelines) + $(val $f single_service_cpu_us_broker)")
        echo "Single sentences: $(val $f single_callers) callers through the bus, each sending one sentence a request and the next"
        echo "when the answer comes (closed loop), against \`apertium -u $(val $f mode)\` run once per sentence,"
        echo "$(val $f single_apertium_parallel) at a time (the machine's cores); the two take turns in $(val $f single_rounds) rounds of $(val $f single_round_secs) s,"
        echo "in alternating order, each round both from the same sentence on (the baseline's sentences"
        echo "are the first the service translated), after $(val $f single_callers) callers warmed the service and the"
        echo "broker up for 10 s:"
        echo
        echo "| measure | service | apertium per sentence | service / apertium | target |"
        echo "|---|---|---|---|---|"
        echo "| sentences/s | $(val $f single_service_sentences_per_s) ($(val $f single_service_sentences) sentences) | $(val $f single_apertium_sentences_per_s) ($(val $f single_apertium_sentences) sentences) | **$r1** (rounds: $(val $f single_round_ratio_min) to $(val $f single_round_ratio_max)) | ≥ 20 ($(verdict "$r1" ">=" 20)) |"
        echo "| CPU per sentence | $cpu_s µs: service $(val $f single_service_cpu_us_service), pipelines $(val $f single_service_cpu_us_pipelines), broker $(val $f single_service_cpu_us_broker) | $(val $f single_apertium_cpu_us_children) µs | $(calc "%.1f" "$(val $f single_apertium_cpu_us_children) / $cpu_s") | — |"
        echo "| cores busy: ours, other work | $(val $f single_service_cores_ours), $(val $f single_service_cores_others) | $(val $f single_apertium_cores_ours), $(val $f single_apertium_cores_others) | — | — |"
        echo "| failed | $(val $f single_service_errors) | $(val $f single_apertium_errors) | — | 0 ($(verdict "$(( $(val $f single_service_errors) + $(val $f single_apertium_errors) ))" "==" 0)) |"
        echo
        echo "A sentence's round trip through the bus: p50 $(val $f single_service_p50_ms) ms, p99 $(val $f single_service_p99_ms) ms with $(val $f single_callers) callers;"
        echo "p50 $(val $f single_c1_p50_ms) ms, p99 $(val $f single_c1_p99_ms) ms with one ($(val $f single_c1_sentences_per_s) sentences/s)."
        echo
        r1=$(val $f batch_p1_ratio)
        r2=$(val $f batch_p2_ratio)
        echo "One batch: $(val $f batch_sentences) sentences, $(val $f batch_words) words ($(val $f batch_bytes) bytes), in one \`TranslateRequest\`, against one"
        echo "\`apertium -u $(val $f mode)\` over the same sentences, one a line, as its input; the service with"
        echo "\`translation.pipelines\` 2, then started again with 1 (a request takes every idle pipeline of"
        echo "its pair and spreads its texts over them, up to \`depth\` in flight in each). After one"
        echo "unrecorded batch, $(val $f batch_runs) batches, each followed by a run of the baseline; times from the"
        echo "request's sending to its answer, and from the baseline's start to its exit; medians, each"
        echo "setting against the baseline's runs taken in turn with it (the same neighbours' load):"
        echo
        echo "| measure | service, 2 pipelines | \`apertium -u $(val $f mode)\`, in turn | service, 1 pipeline | \`apertium -u $(val $f mode)\`, in turn | target |"
        echo "|---|---|---|---|---|---|"
        echo "| time | $(val $f batch_p2_secs) s | $(val $f batch_p2_apertium_secs) s | $(val $f batch_p1_secs) s | $(val $f batch_p1_apertium_secs) s | — |"
        echo "| words/s | $(val $f batch_p2_words_per_s) | $(val $f batch_p2_apertium_words_per_s) | $(val $f batch_p1_words_per_s) | $(val $f batch_p1_apertium_words_per_s) | — |"
        echo "| service / apertium | **$r2** | | **$r1** | | ≥ 0.8 ($(verdict "$r2" ">=" 0.8), $(verdict "$r1" ">=" 0.8)) |"
        echo "| CPU per batch | service $(calc "%.2f" "$(val $f batch_p2_cpu_us_service) / 1e6") s, pipelines $(calc "%.2f" "$(val $f batch_p2_cpu_us_pipelines) / 1e6") s | $(calc "%.2f" "$(val $f batch_apertium_cpu_us_children) / 1e6") s (all $(val $f batch_apertium_runs) runs) | service $(calc "%.2f" "$(val $f batch_p1_cpu_us_service) / 1e6") s, pipelines $(calc "%.2f" "$(val $f batch_p1_cpu_us_pipelines) / 1e6") s | | — |"
        echo "| cores busy during the batches: ours, other work | $(val $f batch_p2_cores_ours), $(val $f batch_p2_cores_others) | $(val $f batch_apertium_cores_ours), $(val $f batch_apertium_cores_others) (all runs) | $(val $f batch_p1_cores_ours), $(val $f batch_p1_cores_others) | | — |"
        echo "| translations the same as the baseline's (blanks aside) | $(val $f batch_p2_same_as_apertium) of $(val $f batch_sentences) | | $(val $f batch_p1_same_as_apertium) of $(val $f batch_sentences) | | — |"
        echo "| failed texts | $(val $f batch_p2_errors) | | $(val $f batch_p1_errors) | | 0 ($(verdict "$(( $(val $f batch_p1_errors) + $(val $f batch_p2_errors) ))" "==" 0)) |"
        echo
        echo "What decides the ratio is CPU: the $(val $f cores) cores are busy (the cores row), and each side's time"
        echo "follows the CPU its Apertium programs take, $(calc "%.2f" "$(val $f batch_p2_cpu_us_pipelines) / 1e6") s (2 pipelines) and $(calc "%.2f" "$(val $f batch_p1_cpu_us_pipelines) / 1e6") s (1) for the service's"
        echo "pipelines, $(calc "%.2f" "$(val $f batch_apertium_cpu_us_children) / 1e6") s for one apertium run with its start ($(val $f apertium_start_secs) s to translate one word, which the"
        echo "service paid once), while other work moves it from run to run. Per sentence of the batch,"
        echo "the pipelines spent $(calc "%.0f" "$(val $f batch_p2_cpu_us_pipelines) / $(val $f batch_sentences)") µs (2 pipelines) and $(calc "%.0f" "$(val $f batch_p1_cpu_us_pipelines) / $(val $f batch_sentences)") µs (1), against $(calc "%.0f" "($(val $f batch_apertium_cpu_us_children) - $(val $f single_apertium_cpu_us_children)) / ($(val $f batch_sentences) - 1)") µs in one apertium"
        echo "run (its CPU less that of a run on one sentence, over the other sentences): in a pipeline"
        echo "every program flushes its output at the end of each text, where apertium streams. A"
        echo "sentence of a single-sentence request took $(val $f single_service_cpu_us_pipelines) µs of the pipelines (above); such a request"
        echo "holds a pipeline of its own until it is answered (the pool lends pipelines to one request"
        echo "at a time), so with one sentence a request at most \`translation.pipelines\` sentences are in"
        echo "flight, whatever \`depth\` allows."
        echo
        gw_cpu=$(calc "%.0f" "$(val $f gw16_cpu_us_gateway) + $(val $f gw16_cpu_us_service) + $(val $f gw16_cpu_us_pipelines) + $(val $f gw16_cpu_us_broker)")
        echo "Through the gateway: wrk ($(val $f gw16_connections) connections, closed loop, HS256 JWT, rate limiting on with limits no"
        echo "run reaches) sending one sentence a request, a different one each time"
        echo "(tests/bench/translations.lua), after an unrecorded load of 2 s, ${SECS} s each; then one"
        echo "connection, the latency of a sentence without a queue:"
        echo
        echo "| load | requests/s | p50 | p99 | outside 2xx, socket errors | CPU per request: gateway, service, pipelines, broker | target |"
        echo "|---|---|---|---|---|---|---|"
        for n in gw16 lt16 gw1; do
                case $n in
                gw16) label="\`POST /v1/translations\`, $(val $f gw16_connections) connections" ;;
                lt16) label="\`POST /translate\` (LibreTranslate), $(val $f lt16_connections) connections" ;;
                gw1) label="\`POST /v1/translations\`, 1 connection" ;;
                esac
                target="—"
                if [[ $n != gw1 ]]; then
                        target="p50 ≤ 5 ms ($(verdict "$(val $f ${n}_p50_ms)" "<=" 5)), p99 ≤ 20 ms ($(verdict "$(val $f ${n}_p99_ms)" "<=" 20))"
                fi
                echo "| $label | $(val $f ${n}_rps) | $(val $f ${n}_p50_ms) ms | $(val $f ${n}_p99_ms) ms | $(val $f ${n}_non2xx), $(val $f ${n}_socket_errors) | $(val $f ${n}_cpu_us_gateway), $(val $f ${n}_cpu_us_service), $(val $f ${n}_cpu_us_pipelines), $(val $f ${n}_cpu_us_broker) µs | $target |"
        done
        echo
        need=$(calc "%.0f" "$(val $f gw16_connections) / 0.005")
        echo "What bounds the latency at $(val $f gw16_connections) connections is the machine's CPU, not the gateway: with $(val $f gw16_connections) requests"
        echo "always waiting for their answers, a request's mean latency is $(val $f gw16_connections) over the throughput (Little's"
        echo "law; here $(calc "%.1f" "$(val $f gw16_connections) / $(val $f gw16_rps) * 1000") ms against the p50 of $(val $f gw16_p50_ms) ms), so a p50 near 5 ms needs about $need"
        echo "sentences/s. A sentence costs $gw_cpu µs of CPU in the gateway, the service, its pipelines and"
        echo "the broker together, $(calc "%.0f%%" "$(val $f gw16_cpu_us_pipelines) / $gw_cpu * 100") of it in Apertium's programs: $need sentences/s would take"
        echo "$(calc "%.1f" "$need * $gw_cpu / 1e6") cores, and the machine has $(val $f cores), shared with wrk and other work (cores busy during the"
        echo "load: ours $(val $f gw16_cores_ours), other work $(val $f gw16_cores_others)). A sentence that does not queue (one connection) takes"
        echo "p50 $(val $f gw1_p50_ms) ms and p99 $(val $f gw1_p99_ms) ms through the gateway, against $(val $f single_c1_p50_ms) ms and $(val $f single_c1_p99_ms) ms through the bus"
        echo "alone (one caller, above)."
        echo
        echo "The commands, as run (the ports are the run's free ports on 127.0.0.1; \`\$JWT\` is the"
        echo "HS256 token the benchmark mints, tenant \`bench\`, role \`member\`; the bodies files are the"
        echo "benchmark's, one JSON body a line):"
        echo
        echo '```'
        echo "$1"
        echo "$BUILD/tests/bench/translation $SECS"
        echo "# the baseline, per sentence and over the batch (the sentences on its standard input)"
        echo "apertium -u $(val $f mode) < SENTENCES"
        echo "# through the gateway"
        line $f gw16_cmd
        line $f lt16_cmd
        line $f gw1_cmd
        echo '```'
        echo
}

# ---- the translation service's language detection ----

translation_detect_heading="## Translation: language detection"
translation_detect_skipped=""
DETECT_SECS=${BENCH_DETECT_SECONDS:-1}

# Runs tests/bench/translation_detect.c over the labelled set into
# $tmp/translation_detect (markdown); says why in translation_detect_skipped
# when it fails.
translation_detect_run() {
        translation_detect_skipped=""
        echo "bench: language detection for translation (${DETECT_SECS}s per speed measure)"
        # OpenBLAS, linked in with the embedding objects, stays out of the timings
        if ! OPENBLAS_NUM_THREADS=1 "$BUILD/tests/bench/translation_detect" \
                tests/data/translation/detect.tsv "$DETECT_SECS" >"$tmp/translation_detect"; then
                translation_detect_skipped="tests/bench/translation_detect failed"
                echo "bench: SKIPPED language detection: $translation_detect_skipped" >&2
                return 0
        fi
        cat "$tmp/translation_detect"
}

# The section of docs/benchmarks.md for translation_detect_run's figures; $1
# is the command that produced them.
translation_detect_render() {
        echo "$translation_detect_heading"
        echo
        if [[ -n $translation_detect_skipped ]]; then
                echo "Not measured in this run: $translation_detect_skipped."
                echo
                return 0
        fi
        echo "How well the translation service detects the language of a text (services/translation/detect.c),"
        echo "by method, measured on $(date -u +%Y-%m-%d) by \`$1\` (tests/bench/translation_detect.c), commit"
        echo "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$([[ -n $(git status --porcelain 2>/dev/null) ]] && echo " with uncommitted changes"), on $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)) shared with other work."
        echo "The texts are tests/data/translation/detect.tsv: everyday phrases and sentences written for it, the"
        echo "same situations in each of the eight languages the service translates from, short ones worded so"
        echo "that only one of the eight reads them. Each method's detector is made with those eight"
        echo "languages, as the service makes its own, and asked for three candidates. \`cld2\` is CLD2"
        echo "(Debian's libcld2, its default tables, through services/translation/cld2_shim.cc), asked for an"
        echo "answer it is sure of, else for its best guess; \`textcat\` is libexttextcat's n-gram"
        echo "fingerprints (Debian's libexttextcat-data) of the eight languages; \`combined\` mixes the two"
        echo "(detect.c says how, and how each confidence is computed). Speed is one detection after another"
        echo "over the whole set for ${DETECT_SECS} s, on one thread and on $(nproc) threads sharing one detector: the"
        echo "threads' own CPU time per text, which the machine's other work moves little (with no lock it"
        echo "should not grow with the threads), and detections per second of wall time, which that work"
        echo "moves a lot (load average $(cut -d' ' -f1-3 /proc/loadavg) when the run ended). The accuracies repeat exactly."
        echo
        cat "$tmp/translation_detect"
        echo
        echo "The command, as run:"
        echo
        echo '```'
        echo "$1"
        echo "OPENBLAS_NUM_THREADS=1 $BUILD/tests/bench/translation_detect tests/data/translation/detect.tsv $DETECT_SECS"
        echo '```'
        echo
}

# ---- the secrets service ----

secrets_heading="## Secrets service"
secrets_skipped=""

# Runs tests/bench/secrets.c into $tmp/secrets, on Apache Kafka (a broker of
# its own, in $tmp/kafka-secrets) where it can run, else on the dev broker;
# says why in secrets_skipped when it fails.
secrets_run() {
        local why kdir=$tmp/kafka-secrets
        local -a env=()
        secrets_skipped=""
        if why=$(deploy/kafka/apache.sh check) && CAIRN_KAFKA_JIT=full deploy/kafka/apache.sh start "$kdir"; then
                env=(TESTS_KAFKA=apache "TESTS_KAFKA_DIR=$kdir")
                echo "broker Apache Kafka $(deploy/kafka/apache.sh version)" >"$tmp/secrets"
        else
                echo "bench: the secrets service runs on the dev broker: Apache Kafka ${why:-did not start}" >&2
                echo "broker the dev broker (Apache Kafka: ${why:-did not start})" >"$tmp/secrets"
        fi
        echo "bench: the secrets service: 100,000 versions, reads, writes, a rewrap (${SECS}s per phase; about 10 minutes)"
        if ! env "${env[@]}" "$BUILD/tests/bench/secrets" "$SECS" | grep -v '^{' | tee -a "$tmp/secrets"; then
                secrets_skipped="tests/bench/secrets failed"
                echo "bench: SKIPPED the secrets service: $secrets_skipped" >&2
        fi
        ((${#env[@]})) && deploy/kafka/apache.sh stop "$kdir"
        return 0
}

# The section of docs/benchmarks.md for secrets_run's figures; $1 is the
# command that produced them.
secrets_render() {
        local f=secrets kr rr p99 errs k r
        echo "$secrets_heading"
        echo
        if [[ -n $secrets_skipped ]]; then
                echo "Not measured in this run: $secrets_skipped."
                echo
                return 0
        fi
        kr=$(calc "%.2f" "$(val $f closed_read_per_sec) / $(val $f closed_key_per_sec)")
        rr=$(calc "%.2f" "$(val $f closed_read_per_sec) / $(val $f closed_raw_per_sec)")
        p99=$(val $f open_read_p99_ms)
        errs=$(($(val $f rewrap_read_before_errors) + $(val $f rewrap_read_during_errors) + $(val $f rewrap_read_after_errors)))
        echo "\`cairn-secrets\` on $(line $f broker), with a PostgreSQL of its own (\`fsync=off\`, as in the"
        echo "tests) and the settings of deploy/dev/secrets.yaml (\`bus.workers: $(dev_setting bus workers)\`, \`pg.pool_size: $(dev_setting pg pool_size)\`, every"
        echo "request audited, \`secrets.audit_failure: closed\`), measured on $(date -u +%Y-%m-%d) by \`$1\`"
        echo "(tests/bench/secrets.c), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), on $(nproc) cores"
        echo "($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)) that the broker, PostgreSQL, the service and the benchmark's"
        echo "client share. The data set: $(val $f secrets) secrets of one tenant, $(val $f versions_per_secret) versions each"
        echo "($(val $f stored_versions) versions, the default \`max_versions\`), every value a 100-byte JSON object,"
        echo "written through the bus $(val $f load_inflight) at a time, then \`ANALYZE\`. Every request is the tenant's owner's,"
        echo "keyed by the tenant; reads name a secret at random and come back sealed to the caller's key"
        echo "(one reply in 64 is opened and checked; all have the value's size). There is no cache:"
        echo "every read selects its version, unwraps its data key, decrypts it, seals it to the caller and"
        echo "appends its audit row (through the group-commit appender) before the reply goes out."
        echo
        echo "| measure | value | target |"
        echo "|---|---|---|"
        echo "| reads, closed loop, $(val $f inflight) in flight / GetServiceKey in the same rounds | $(val $f closed_read_per_sec) / $(val $f closed_key_per_sec) requests/s = **$kr** | ≥ 0.5 ($(verdict "$kr" ">=" 0.5)) |"
        echo "| the same reads / a raw librdkafka ping-pong of a read's sizes, same rounds (the stricter reading: no service at all) | $(val $f closed_read_per_sec) / $(val $f closed_raw_per_sec) messages/s = $rr | (≥ 0.5: $(verdict "$rr" ">=" 0.5)) |"
        echo "| reads at $(val $f open_read_rate)/s, open loop, from the scheduled send time: p50 / p99 / max | $(val $f open_read_p50_ms) / **$p99** / $(val $f open_read_max_ms) ms | p99 ≤ 10 ms ($(verdict "$p99" "<=" 10)) |"
        echo "| writes, closed loop, $(val $f inflight) in flight | $(val $f closed_write_per_sec)/s, p50 $(val $f closed_write_p50_ms) ms, p99 $(val $f closed_write_p99_ms) ms | — |"
        echo "| writes at $(val $f open_write_rate)/s, open loop: p50 / p99 / max | $(val $f open_write_p50_ms) / $(val $f open_write_p99_ms) / $(val $f open_write_max_ms) ms | — |"
        echo "| load: $(val $f load_versions) writes, $(val $f load_inflight) in flight | $(val $f load_seconds) s, $(val $f load_per_sec) writes/s, p99 $(val $f load_p99_ms) ms | — |"
        echo "| rewrap of $(val $f rewrap_total) versions after RotateKeyRequest, until KeyStatus says finished | $(val $f rewrap_s) s, $(calc "%.0f" "$(val $f rewrap_total) / $(val $f rewrap_s)") versions/s | — |"
        echo "| reads at $(val $f rewrap_read_rate)/s during the rewrap: p99, failures | $(val $f rewrap_read_during_p99_ms) ms (before: $(val $f rewrap_read_before_p99_ms) ms, after: $(val $f rewrap_read_after_p99_ms) ms), $errs failed | 0 failures ($(verdict "$errs" "==" 0)) |"
        echo
        echo "Closed loop: each load keeps $(val $f inflight) requests outstanding for $(val $f round_secs) s, then waits for"
        echo "its last answers; the four take turns in $(val $f rounds) rounds, in rotating order, after an unrecorded"
        echo "second each, so load from neighbours falls on all alike. GetServiceKey is the floor of this"
        echo "service's path: the same bus, the same checks and the same audit row, but no query and no"
        echo "crypto. The raw ping-pong (tests/bench/lib/pingpong.c, as in the round trip above) sends a"
        echo "read's bytes ($(val $f read_request_bytes) B request, $(val $f read_reply_bytes) B reply) with the same client settings"
        echo "and key, with no service at all. \"In the service\" is the mean time from the message's"
        echo "consumption to its reply, waiting for one of the $(dev_setting bus workers) workers included"
        echo "(\`cairn_bus_request_duration_seconds\`). CPU is each process's user and system time over the"
        echo "load's requests (PostgreSQL: the postmaster and its backends)."
        echo
        echo "| load | requests/s | p50 | p99 | in the service | CPU per request: service | PostgreSQL | broker | client (the benchmark) |"
        echo "|---|---|---|---|---|---|---|---|---|"
        for k in read key meta raw write; do
                case $k in
                read) r="ReadRequest" ;;
                key) r="GetServiceKeyRequest" ;;
                meta) r="ReadMetadataRequest (a row, no crypto)" ;;
                raw) r="raw ping-pong" ;;
                write) r="WriteRequest (alone, not in the rounds)" ;;
                esac
                echo "| $r | $(val $f closed_${k}_per_sec) | $(val $f closed_${k}_p50_ms) ms | $(val $f closed_${k}_p99_ms) ms | $(bval $f closed_${k}_in_service_ms)$([[ $k != raw ]] && echo " ms") | $([[ $k == raw ]] && echo "—" || echo "$(val $f closed_${k}_cpu_us_service) µs") | $([[ $k == raw ]] && echo "—" || echo "$(val $f closed_${k}_cpu_us_pg) µs") | $(val $f closed_${k}_cpu_us_broker) µs | $(val $f closed_${k}_cpu_us_client) µs |"
        done
        echo
        echo "Errors over the closed loops: $(( $(val $f closed_read_errors) + $(val $f closed_key_errors) + $(val $f closed_meta_errors) + $(val $f closed_write_errors) ))."
        echo
        secrets_cpu_render
        secrets_open_render
        echo "The rewrap: RotateKeyRequest (role owner) makes KEK version $(val $f rewrap_target) current and wakes the"
        echo "rewrap, which rewraps every data key in transactions of \`secrets.rewrap_batch\` (500); the"
        echo "benchmark polls KeyStatusRequest every 250 ms until \`rewrap.finished\` ($(val $f rewrap_s) s, $(val $f rewrap_polls)"
        echo "polls; by the status's own start and finish times, $(val $f rewrap_server_s) s), then"
        echo "\`min_decryption_version\` is $(val $f rewrap_min_decryption). Meanwhile a reader reads $(val $f rewrap_read_rate) a second on a fixed"
        echo "schedule, from $SECS s before the rotation to $SECS s after the rewrap. CPU per version rewrapped"
        echo "(the reader's reads included): service $(val $f rewrap_cpu_us_service) µs, PostgreSQL $(val $f rewrap_cpu_us_pg) µs."
        echo
        echo "| reads at $(val $f rewrap_read_rate)/s | requests | failed | p50 | p99 | max |"
        echo "|---|---|---|---|---|---|"
        for k in before during after; do
                echo "| $k the rewrap | $(val $f rewrap_read_${k}_requests) | $(val $f rewrap_read_${k}_errors) | $(val $f rewrap_read_${k}_p50_ms) ms | $(val $f rewrap_read_${k}_p99_ms) ms | $(val $f rewrap_read_${k}_max_ms) ms |"
        done
        echo
        echo "The commands, as run (TESTS_KAFKA_DIR: the broker \`deploy/kafka/apache.sh start\` started"
        echo "with \`CAIRN_KAFKA_JIT=full\`):"
        echo
        echo '```'
        echo "$1"
        echo "TESTS_KAFKA=apache TESTS_KAFKA_DIR=\$KAFKA_DIR $BUILD/tests/bench/secrets $SECS"
        echo '```'
        echo
}

# Where a read's CPU goes: the part of secrets_render that splits it.
secrets_cpu_render() {
        local f=secrets sr sk pr pk br crypto other
        sr=$(val $f closed_read_cpu_us_service)
        sk=$(val $f closed_key_cpu_us_service)
        pr=$(val $f closed_read_cpu_us_pg)
        pk=$(val $f closed_key_cpu_us_pg)
        br=$(val $f closed_read_cpu_us_broker)
        crypto=$(calc "%.0f" "$(val $f crypto_read_us)")
        other=$(calc "%.0f" "$sr - $sk - $(val $f crypto_read_us) - $(val $f json_us) - $(val $f bytea_us)")
        echo "Where a read's CPU goes, per read, from the closed loops above (the differences between"
        echo "loads are of two measurements, so they carry both one's noise) and from the crypto measured"
        echo "in process:"
        echo
        echo "| part | CPU per read | how it is measured |"
        echo "|---|---|---|"
        echo "| crypto | $crypto µs | in process: unwrap the data key, decrypt the value, seal it to the caller (below) |"
        echo "| JSON and bytea text | $(calc "%.0f" "$(val $f json_us) + $(val $f bytea_us)") µs | in process: the value parsed and printed, the two bytea columns decoded |"
        echo "| the rest of the service's work for a read: its query and policy check, the reply | $other µs | service: read − GetServiceKey − the two rows above |"
        echo "| the service's work any request has: the bus, the audit row's append, metrics | $sk µs | service: GetServiceKey |"
        echo "| PostgreSQL: the read's query | $(calc "%.0f" "$pr - $pk") µs | PostgreSQL: read − GetServiceKey |"
        echo "| PostgreSQL: the audit row, its share of the appender's group commits | $pk µs | PostgreSQL: GetServiceKey, which has no other query |"
        echo "| broker | $br µs | broker: read (GetServiceKey: $(val $f closed_key_cpu_us_broker) µs; raw ping-pong: $(val $f closed_raw_cpu_us_broker) µs) |"
        echo "| **a read, in all** | **$(calc "%.0f" "$sr + $pr + $br") µs** | service + PostgreSQL + broker |"
        echo
        echo "So, of a read's $(calc "%.0f" "$sr + $pr + $br") µs: crypto $crypto µs ($(calc "%.0f%%" "100 * $crypto / ($sr + $pr + $br)")), its query in PostgreSQL"
        echo "$(calc "%.0f" "$pr - $pk") µs, the audit row $pk µs in PostgreSQL, and the bus $br µs in the broker; the $sk µs"
        echo "the service spends on any request (the bus runtime, its consumer and producer, and the audit"
        echo "row's handing to the appender) are bus and audit together, which no request of this service"
        echo "separates (every one is audited)."
        echo
        echo "The crypto steps, in process (libsodium $(pkg-config --modversion libsodium 2>/dev/null || echo "1.0.18"), one thread, the best of 5 runs):"
        echo
        echo "| step | µs | as the service calls it |"
        echo "|---|---|---|"
        echo "| unwrap a data key | $(val $f crypto_unwrap_us) | \`crypto_aead_xchacha20poly1305_ietf_decrypt\` of 32 + 16 bytes with the version's associated data (envelope.c) |"
        echo "| decrypt a 100-byte value | $(val $f crypto_decrypt_us) | the same over 100 + 16 bytes |"
        echo "| seal it to the caller | $(val $f crypto_seal_us) | \`crypto_box_seal\` of 100 bytes (cairn/seal.h): an ephemeral X25519 key pair and a key exchange |"
        echo "| **a read's crypto** | **$(val $f crypto_read_us)** | the three above |"
        echo "| open a sealed write | $(val $f crypto_unseal_us) | \`crypto_box_seal_open\` of 148 bytes |"
        echo "| encrypt a version | $(val $f crypto_envelope_seal_us) | a new data key, wrapped, the value encrypted under it |"
        echo "| **a write's crypto** | **$(val $f crypto_write_us)** | the two above |"
        echo "| the audit row's hash | $(val $f audit_hash_us) | \`crypto_hash_sha256\` of 200 bytes |"
        echo
}

# The open-loop part of secrets_render: the fixed-rate loads, and what says
# why reads meet their latency target or not.
secrets_open_render() {
        local f=secrets r k met="" p99 w
        echo "At a fixed rate: requests on a fixed schedule for $SECS s each, every request's latency counted"
        echo "from the time it was due, so a queue shows as latency instead of slowing the sender (which"
        echo "was at most $(val $f open_read_sender_late_max_ms) ms late at $(val $f open_read_rate) reads/s). Cores: CPU time over the load's"
        echo "time, of the four processes (service, PostgreSQL, broker, the benchmark) and of everything"
        echo "else on the machine (its neighbours, /proc/stat)."
        echo
        echo "| load | p50 | p99 | max | in the service | failed | CPU per request: service, PostgreSQL, broker, client | cores: ours, others' |"
        echo "|---|---|---|---|---|---|---|---|"
        for k in open_read_250 open_read_500 open_read_750 open_read open_key open_write workers_open_read workers_open_key; do
                case $k in
                open_read_*) r="reads at ${k#open_read_}/s" ;;
                open_read) r="**reads at $(val $f open_read_rate)/s**" ;;
                open_key) r="GetServiceKey at $(val $f open_key_rate)/s" ;;
                open_write) r="writes at $(val $f open_write_rate)/s" ;;
                workers_open_read) r="reads at $(val $f open_read_rate)/s, \`bus.workers: $(val $f workers_more)\`" ;;
                workers_open_key) r="GetServiceKey at $(val $f open_key_rate)/s, \`bus.workers: $(val $f workers_more)\`" ;;
                esac
                echo "| $r | $(val $f ${k}_p50_ms) ms | $(val $f ${k}_p99_ms) ms | $(val $f ${k}_max_ms) ms | $(val $f ${k}_in_service_ms) ms | $(val $f ${k}_errors) | $(val $f ${k}_cpu_us_service), $(val $f ${k}_cpu_us_pg), $(val $f ${k}_cpu_us_broker), $(val $f ${k}_cpu_us_client) µs | $(val $f ${k}_cores_ours), $(val $f ${k}_cores_others) |"
        done
        echo
        for r in 250 500 750; do
                if awk -v v="$(val $f open_read_${r}_p99_ms)" 'BEGIN { exit !(v <= 10) }'; then met=$r; fi
        done
        p99=$(val $f open_read_p99_ms)
        w=$(val $f workers_more)
        if awk -v v="$p99" 'BEGIN { exit !(v > 10) }'; then
                echo "**The p99 target at $(val $f open_read_rate) reads/s is missed** ($p99 ms). What the run says of why:"
        else
                echo "The p99 target at $(val $f open_read_rate) reads/s is met ($p99 ms). What the run says of the margin:"
        fi
        echo
        echo "- **CPU.** At $(val $f open_read_rate) reads/s the four processes kept $(val $f open_read_cores_ours) of the $(nproc) cores busy"
        echo "  (and the machine's neighbours $(val $f open_read_cores_others) more): a read costs $(calc "%.0f" "$(val $f open_read_cpu_us_service) + $(val $f open_read_cpu_us_pg) + $(val $f open_read_cpu_us_broker)") µs of service,"
        echo "  PostgreSQL and broker CPU, plus $(val $f open_read_cpu_us_client) µs in the client, so $(val $f open_read_rate) reads/s need about"
        echo "  $(calc "%.1f" "($(val $f open_read_cpu_us_service) + $(val $f open_read_cpu_us_pg) + $(val $f open_read_cpu_us_broker) + $(val $f open_read_cpu_us_client)) * $(val $f open_read_rate) / 1e6") cores of this machine's $(nproc). The closed loop peaked at $(val $f closed_read_per_sec) reads/s."
        echo "  $([[ -n $met ]] && echo "The sweep meets 10 ms up to $met reads/s" || echo "No rate of the sweep meets 10 ms"): p99 $(val $f open_read_250_p99_ms), $(val $f open_read_500_p99_ms), $(val $f open_read_750_p99_ms) and $p99 ms at 250, 500, 750"
        echo "  and $(val $f open_read_rate) reads/s, as the machine's busy cores (ours and the neighbours', the table's last"
        echo "  column) reach its $(nproc): a queue for CPU, not a fixed cost of a read."
        if awk -v v="$(val $f open_key_p99_ms)" 'BEGIN { exit !(v > 10) }'; then
                echo "- **Not the read's own work.** GetServiceKey at the same rate (the same bus, checks and audit"
                echo "  row, no query, no crypto) had p99 $(val $f open_key_p99_ms) ms, over 10 ms too."
        else
                echo "- **The read's own work tips it.** GetServiceKey at the same rate (the same bus, checks and"
                echo "  audit row, no query, no crypto) had p99 $(val $f open_key_p99_ms) ms."
        fi
        echo "- **The workers.** Each of the service's \`bus.workers\` ($(dev_setting bus workers)) holds its request until the audit"
        echo "  row is committed by the appender, so at most that many requests are served at once and a group"
        echo "  commit gathers at most that many rows; a read's time in the service includes its wait for a worker"
        echo "  ($(val $f open_read_in_service_ms) ms on average at $(val $f open_read_rate)/s). With \`bus.workers: $w\` (the last runs, the service"
        echo "  restarted) the time in the service was $(val $f workers_open_read_in_service_ms) ms and p99 $(val $f workers_open_read_p99_ms) ms at $(val $f open_read_rate) reads/s"
        echo "  (GetServiceKey: $(val $f workers_open_key_in_service_ms) ms, p99 $(val $f workers_open_key_p99_ms) ms); closed loop, $(val $f workers_closed_read_per_sec) reads/s and"
        echo "  $(val $f workers_closed_key_per_sec) GetServiceKey/s (against $(val $f closed_read_per_sec) and $(val $f closed_key_per_sec) in the first runs)."
        echo
}

# Builds the container image into $tmp/image, twice (every build starts
# from the base image: deploy/image/build.sh keeps no layer cache), then
# its size, whole and compressed as a registry stores it, against its base.
image_run() {
        local f=$tmp/image podman=(podman --storage-driver vfs) t0 image
        image=cairn:$(sed -n 's/^VERSION *:= *//p' Makefile)
        image_skipped=""
        if ! deploy/deps.sh image >/dev/null || ! deploy/image/base.sh; then
                image_skipped="podman or the base image is not available"
                return 0
        fi
        echo "bench: the container image: two builds (about 3 minutes in all)"
        : >"$f"
        for run in 1 2; do
                t0=$(date +%s%N)
                deploy/image/build.sh >>"$tmp/image.log" 2>&1 ||
                        { image_skipped="the build failed (deploy/image/build.sh)"; return 0; }
                echo "build${run}_s $(calc "%.0f" "($(date +%s%N) - $t0) / 1e9")" >>"$f"
        done
        {
                echo "size $("${podman[@]}" image inspect --format '{{.Size}}' "$image")"
                echo "base $("${podman[@]}" image inspect --format '{{.Size}}' debian:bookworm-slim)"
                echo "gzip $("${podman[@]}" save --format docker-archive "$image" | gzip -c | wc -c)"
        } >>"$f"
        cat "$f"
}

# The section of docs/benchmarks.md for image_run's figures; $1 is the
# command that produced them.
image_render() {
        local f=image
        mb() { calc "%.1f MB" "$1 / 1e6"; }
        echo "$image_heading"
        echo
        if [[ -n $image_skipped ]]; then
                echo "Not measured in this run: $image_skipped."
                echo
                return 0
        fi
        echo "\`deploy/Dockerfile\` built by \`deploy/image/build.sh\` (podman, chroot isolation, vfs storage,"
        echo "one container and one commit per stage: \`--layers=false\`), measured on $(date -u +%Y-%m-%d) by"
        echo "\`$1\` on $(nproc) cores. Each build fetches the build and runtime packages from"
        echo "Debian's mirror and compiles everything; the base image comes from the cache"
        echo "(deploy/image/base.sh; bootstrapping it once takes about a minute more). No layer is cached"
        echo "between builds: on vfs storage a cached layer is a full copy of the tree, which took the"
        echo "build to 16 GB of disk (docs/operations.md)."
        echo
        echo "| measure | value |"
        echo "|---|---|"
        echo "| build | $(val $f build1_s) s, again $(val $f build2_s) s |"
        echo "| image, uncompressed | $(mb "$(val $f size)") ($(calc "%.2f" "$(val $f size) / $(val $f base)")× its base, debian:bookworm-slim from Debian's packages: $(mb "$(val $f base)")) |"
        echo "| image, gzip-compressed as a registry holds it | $(mb "$(val $f gzip)") |"
        echo
}

# ---- the speech service ----

speech_heading="## Speech"
speech_skipped="" whisper_skipped="" wer_skipped="" tts_skipped="" speech_load=""
SPEECH_RUNS=${BENCH_SPEECH_RUNS:-3}
TTS_RUNS=${BENCH_TTS_RUNS:-5}

# Runs tests/bench/speech_whisper.c (speed against faster-whisper),
# speech_wer.c (word error rate, in process) and speech_gateway.c (text to
# speech through the gateway) into $tmp/speech_whisper, $tmp/speech_wer and
# $tmp/speech_gateway; what could not run is said in whisper_skipped,
# wer_skipped and tts_skipped, and in speech_skipped when nothing could.
speech_run() {
        local out dir
        speech_skipped="" whisper_skipped="" wer_skipped="" tts_skipped=""
        if ! out=$(deploy/models.sh path whisper-tiny.en 2>&1); then
                speech_skipped="Whisper tiny.en is not available (deploy/models.sh path whisper-tiny.en: $(tail -n 1 <<<"$out"))"
                echo "bench: SKIPPED the speech service: $speech_skipped" >&2
                return 0
        fi
        dir=$(tail -n 1 <<<"$out")
        mkdir -p "$tmp/speech"
        speech_load=$(cut -d' ' -f1-3 /proc/loadavg)
        echo "bench: Whisper's real-time factor against faster-whisper (best of $SPEECH_RUNS runs; about a minute)"
        if ! TMPDIR=$tmp/speech "$BUILD/tests/bench/speech_whisper" "$dir" "$SPEECH_RUNS" >"$tmp/speech_whisper"; then
                whisper_skipped="tests/bench/speech_whisper failed"
                echo "bench: SKIPPED Whisper's speed: $whisper_skipped" >&2
        fi
        grep -v '_text ' "$tmp/speech_whisper" || true
        echo "bench: word error rate on synthesised speech, ours and faster-whisper's (2 to 4 minutes)"
        if ! TMPDIR=$tmp/speech "$BUILD/tests/bench/speech_wer" "$dir" | tee "$tmp/speech_wer"; then
                wer_skipped="tests/bench/speech_wer failed"
                echo "bench: SKIPPED the word error rate: $wer_skipped" >&2
        fi
        echo "bench: text to speech through the gateway ($TTS_RUNS runs a case)"
        if ! "$BUILD/tests/bench/speech_gateway" "$TTS_RUNS" | grep -v '^{' | tee "$tmp/speech_gateway"; then
                tts_skipped="tests/bench/speech_gateway failed"
                echo "bench: SKIPPED text to speech: $tts_skipped" >&2
        fi
        if [[ -n $whisper_skipped && -n $wer_skipped && -n $tts_skipped ]]; then
                speech_skipped="every speech benchmark failed"
        fi
        return 0
}

# The section of docs/benchmarks.md for speech_run's figures; $1 is the
# command that produced them.
speech_render() {
        local f g k c label words t v fmt n
        echo "$speech_heading"
        echo
        if [[ -n $speech_skipped ]]; then
                echo "Not measured in this run: $speech_skipped."
                echo
                return 0
        fi
        echo "\`cairn-speech\`'s recogniser (Whisper tiny.en run in C: services/speech/whisper_*.c) and"
        echo "synthesisers, measured on $(date -u +%Y-%m-%d) by \`$1\` (tests/bench/speech_whisper.c,"
        echo "speech_wer.c, speech_gateway.c), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$([[ -n $(git status --porcelain 2>/dev/null) ]] && echo " with uncommitted changes"), on $(nproc) cores"
        echo "($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)) shared with other work (load average"
        echo "$(cut -d' ' -f1-3 /proc/loadavg) when the run ended). OpenBLAS runs its $(bval speech_whisper openblas_core) kernels, which"
        echo "cairn/blas.h picks as the service does. The reference is faster-whisper"
        echo "$(sed -n 's/^faster-whisper==\([^ ]*\).*/\1/p' tests/clients/fasterwhisper.txt) (CTranslate2 $(sed -n 's/^ctranslate2==\([^ ]*\).*/\1/p' tests/clients/fasterwhisper.txt), float32, 2 threads) running the same \`model.bin\`"
        echo "(tests/integration/speech_reference.py, in the venv of tests/clients/fasterwhisper.txt)."
        echo
        echo "**Speech to text: speed.**"
        echo
        if [[ -n $whisper_skipped ]]; then
                echo "Not measured in this run: $whisper_skipped."
                echo
        else
                f=speech_whisper
                echo "Both greedy, on 2 threads, no VAD, the best of $SPEECH_RUNS runs each (faster-whisper's first run of"
                echo "the 60 s recording is a warm-up; its times leave out its model load and Python's start). The 60 s"
                echo "recording is flite sentences in four voices, 0.7 s apart; the 5 s clips are three of them, padded."
                echo "The real-time factor (RTF) is processing time over audio time. The load average was $speech_load"
                echo "when it started: both engines run two threads on the two cores, so other work slows them."
                echo
                echo "| measure | ours | faster-whisper | target |"
                echo "|---|---|---|---|"
                echo "| encoder, one 30 s window | $(val $f whisper_encoder_30s_ms) ms | — | — |"
                echo "| 60 s recording | $(val $f whisper_60s_seconds) s, RTF $(val $f whisper_60s_rtf) | $(val $f fasterwhisper_60s_seconds) s, RTF $(val $f fasterwhisper_60s_rtf) | RTF ≤ 0.1 ($(verdict "$(val $f whisper_60s_rtf)" "<=" 0.1)) |"
                echo "| 60 s recording: speed against faster-whisper | $(val $f speedup_60s)× | 1× | ≥ 1.0× ($(verdict "$(val $f speedup_60s)" ">=" 1.0)) |"
                echo "| 5 s clip (mean of 3) | $(val $f whisper_5s_ms) ms, RTF $(val $f whisper_5s_rtf) | $(val $f fasterwhisper_5s_ms) ms, RTF $(val $f fasterwhisper_5s_rtf) | — |"
                echo "| 5 s clips: speed against faster-whisper | $(val $f speedup_5s)× | 1× | ≥ 1.0× ($(verdict "$(val $f speedup_5s)" ">=" 1.0)) |"
                echo
                echo "Whisper's encoder always sees a 30 s window, so a 5 s clip costs about what a 30 s one does."
                echo
        fi
        echo "**Speech to text: word error rate.**"
        echo
        if [[ -n $wer_skipped ]]; then
                echo "Not measured in this run: $wer_skipped."
                echo
        else
                f=speech_wer
                echo "A synthesised set: six voices (flite's slt, kal, awb and rms; espeak-ng's en-us and en-us+f2), each reading $(val $f wer_sentences_per_voice) of"
                echo "$(val $f wer_sentences) ordinary sentences (each sentence in three voices) as one recording of about 20 s, the"
                echo "sentences 0.8 s apart; clean, and with Gaussian white noise at 10 dB and 0 dB SNR (against the"
                echo "sentences' mean power), from a fixed seed: the same samples on every run. *ours* is the service's"
                echo "own path (services/speech/recognise.c: voice activity found on the audio as it came, text"
                echo "outside the speech found dropped; Whisper with temperature fallback) without the noise"
                echo "suppressor; *+ denoise* with speexdsp's suppressor before Whisper (\`speech.denoise\`, on by"
                echo "default); faster-whisper runs with its defaults (temperature fallback, no VAD) on the same"
                echo "samples, raw and denoised. WER = word-level edit distance /"
                echo "reference words, both sides lowercased with punctuation dropped; numbers are not normalised"
                echo "(\"7\" for \"seven\" counts as an error; the sentences hold none). Ours repeat from run to run"
                echo "(the fallback's sampling has a fixed seed); faster-whisper's fallback samples differently on each"
                echo "run, so its figures where the fallback runs (mostly at 0 dB) move by a few points between runs."
                echo
                echo "| voices | condition | words | ours | ours + denoise | faster-whisper | faster-whisper + denoise |"
                echo "|---|---|---|---|---|---|---|"
                for g in flite espeak all; do
                        case $g in
                        flite) label="flite (slt, kal, awb, rms)" ;;
                        espeak) label="espeak-ng (en-us, en-us+f2)" ;;
                        all) label="all six" ;;
                        esac
                        for c in clean snr10 snr0; do
                                case $c in
                                clean) k="clean" ;;
                                snr10) k="10 dB SNR" ;;
                                snr0) k="0 dB SNR" ;;
                                esac
                                words=$(val $f "wer_${g}_${c}_words")
                                echo "| $label | $k | $words | $(val $f "wer_${g}_${c}_ours") % | $(val $f "wer_${g}_${c}_ours_denoise") % | $(val $f "wer_${g}_${c}_fasterwhisper") % | $(val $f "wer_${g}_${c}_fasterwhisper_denoise") % |"
                        done
                done
                echo
                echo "Over all six voices, denoising took our WER from $(val $f wer_all_clean_ours) % to $(val $f wer_all_clean_ours_denoise) % on clean speech, from"
                echo "$(val $f wer_all_snr10_ours) % to $(val $f wer_all_snr10_ours_denoise) % at 10 dB SNR and from $(val $f wer_all_snr0_ours) % to $(val $f wer_all_snr0_ours_denoise) % at 0 dB SNR. The run took"
                echo "$(val $f wer_ours_seconds) s for ours (both columns) and $(val $f wer_fasterwhisper_seconds) s for faster-whisper's (both columns)."
                echo
        fi
        echo "**Text to speech through the gateway.**"
        echo
        if [[ -n $tts_skipped ]]; then
                echo "Not measured in this run: $tts_skipped."
                echo
        else
                f=speech_gateway
                echo "\`POST /v1/audio/speech\` on a gateway in front of \`cairn-speech\` on a dev broker, both with"
                echo "their default settings; one request at a time on one connection, $(val $f tts_runs) runs a case after an"
                echo "unrecorded one, medians. alloy is flite's slt, nova espeak-ng's en-us+f2; audio at 24 kHz mono."
                echo "The gateway answers with the whole file once it is synthesised and encoded (no streaming), so"
                echo "the time to the first byte is nearly the total. *service* is the median of the service's own time"
                echo "per request (its \`cairn_speech_request_seconds\` for Synthesize: synthesis, encoding, the"
                echo "reply or its claim check); the rest of the total is the bus and the gateway."
                echo
                echo "| text | voice | format | audio | first byte | total | service | characters/s |"
                echo "|---|---|---|---|---|---|---|---|"
                for t in short long; do
                        for v in alloy nova; do
                                for fmt in mp3 wav; do
                                        n=tts_${t}_${v}_${fmt}
                                        echo "| $(val $f "${n}_chars") characters | $v | $fmt | $(bval $f "tts_${t}_${v}_wav_audio_seconds") s, $(calc "%.0f" "$(val $f "${n}_bytes") / 1024") KiB | $(val $f "${n}_ttfb_ms") ms | $(val $f "${n}_total_ms") ms | $(bval $f "${n}_service_ms") ms | $(val $f "${n}_chars_per_sec") |"
                                done
                        done
                done
                echo
        fi
        echo "The commands, as run:"
        echo
        echo '```'
        echo "$1"
        echo "$BUILD/tests/bench/speech_whisper $(deploy/models.sh path whisper-tiny.en 2>/dev/null | tail -n 1) $SPEECH_RUNS"
        echo "$BUILD/tests/bench/speech_wer $(deploy/models.sh path whisper-tiny.en 2>/dev/null | tail -n 1)"
        echo "$BUILD/tests/bench/speech_gateway $TTS_RUNS"
        echo '```'
        echo
}

# ---- the workflow service ----

workflow_heading="## Workflow service"
workflow_skipped="" wf_dev_skipped="" wf_apache_skipped="" wf_load=""
WF_RUNS=${BENCH_WORKFLOW_RUNS:-300}
WF_SECS=${BENCH_WORKFLOW_SECONDS:-10}
WF_INFLIGHT=${BENCH_WORKFLOW_INFLIGHT:-1000}
WF_RECOVERY=${BENCH_WORKFLOW_RECOVERY_RUNS:-10000}

# Runs tests/bench/workflow_latency.c on the dev broker into
# $tmp/workflow_latency_dev, then on Apache Kafka (a broker of its own, in
# $tmp/kafka-workflow) workflow_throughput.c (first: its warm-up warms the
# broker's JIT too), workflow_latency.c and workflow_recovery.c into
# $tmp/workflow_{throughput,latency_apache,recovery}. What could not run is
# said in wf_dev_skipped and wf_apache_skipped, and in workflow_skipped
# when nothing could.
workflow_run() {
        local why kdir=$tmp/kafka-workflow
        local -a apache=()
        workflow_skipped="" wf_dev_skipped="" wf_apache_skipped=""
        if [[ ! -x $BUILD/bin/cairn-workflow ]]; then
                workflow_skipped="$BUILD/bin/cairn-workflow is not built"
                echo "bench: SKIPPED the workflow service: $workflow_skipped" >&2
                return 0
        fi
        wf_load=$(cut -d' ' -f1-3 /proc/loadavg)
        echo "bench: the workflow service on the dev broker: $WF_RUNS runs one at a time (about a minute)"
        if ! "$BUILD/tests/bench/workflow_latency" "$WF_RUNS" | grep -v '^{' | tee "$tmp/workflow_latency_dev"; then
                wf_dev_skipped="tests/bench/workflow_latency failed on the dev broker"
                echo "bench: SKIPPED the workflow service on the dev broker: $wf_dev_skipped" >&2
        fi
        if why=$(deploy/kafka/apache.sh check) && CAIRN_KAFKA_JIT=full deploy/kafka/apache.sh start "$kdir"; then
                apache=(TESTS_KAFKA=apache "TESTS_KAFKA_DIR=$kdir")
                echo "bench: the workflow service on Apache Kafka: $WF_INFLIGHT runs in flight, ${WF_SECS}s windows (about 3 minutes)"
                if ! env "${apache[@]}" BENCH_WORKFLOW_INFLIGHT="$WF_INFLIGHT" \
                        "$BUILD/tests/bench/workflow_throughput" "$WF_SECS" | grep -v '^{' | tee "$tmp/workflow_throughput"; then
                        wf_apache_skipped="tests/bench/workflow_throughput failed"
                fi
                echo "bench: the workflow service on Apache Kafka: $WF_RUNS runs one at a time"
                if [[ -z $wf_apache_skipped ]] && ! env "${apache[@]}" "$BUILD/tests/bench/workflow_latency" "$WF_RUNS" |
                        grep -v '^{' | tee "$tmp/workflow_latency_apache"; then
                        wf_apache_skipped="tests/bench/workflow_latency failed on Apache Kafka"
                fi
                echo "bench: the workflow service on Apache Kafka: a restart with $WF_RECOVERY runs in flight (a few minutes)"
                if [[ -z $wf_apache_skipped ]] && ! env "${apache[@]}" "$BUILD/tests/bench/workflow_recovery" "$WF_RECOVERY" |
                        grep -v '^{' | tee "$tmp/workflow_recovery"; then
                        wf_apache_skipped="tests/bench/workflow_recovery failed"
                fi
                deploy/kafka/apache.sh stop "$kdir"
        else
                wf_apache_skipped="Apache Kafka ${why:-did not start}"
        fi
        [[ -n $wf_apache_skipped ]] && echo "bench: SKIPPED the workflow service on Apache Kafka: $wf_apache_skipped" >&2
        if [[ -n $wf_dev_skipped && -n $wf_apache_skipped ]]; then
                workflow_skipped="$wf_dev_skipped; $wf_apache_skipped"
        fi
        return 0
}

# verdict, or "not measured" for a value this run does not have ("—").
wf_verdict() {
        if [[ $1 == "—" ]]; then echo "not measured"; else verdict "$@"; fi
}

# The rows of a perf profile in $tmp/workflow_throughput: wf_prof_rows NAME KEY.
wf_prof_rows() {
        local i=0 name
        while name=$(line workflow_throughput "${1}_${2}_${i}_name") && [[ -n $name ]]; do
                echo "| \`${name//|/\\|}\` | $(val workflow_throughput "${1}_${2}_${i}_pct") % |"
                i=$((i + 1))
        done
}

# The section of docs/benchmarks.md for workflow_run's figures; $1 is the
# command that produced them.
workflow_render() {
        local d=workflow_latency_dev a=workflow_latency_apache t=workflow_throughput r=workflow_recovery
        local i q wps
        echo "$workflow_heading"
        echo
        if [[ -n $workflow_skipped ]]; then
                echo "Not measured in this run: $workflow_skipped."
                echo
                return 0
        fi
        echo "\`cairn-workflow\` with a PostgreSQL of its own (\`fsync=off\`, \`synchronous_commit=off\`, as in"
        echo "the tests; pg_stat_statements loaded) and the settings of deploy/dev/workflow.yaml (\`bus.workers: 4\`,"
        echo "\`workflow.scheduler_threads: 2\`, \`workflow.poll_ms: 100\`, \`pg.pool_size\` its default 4), calling a"
        echo "\`cairn-embedding\` of its own, measured on $(date -u +%Y-%m-%d) by \`$1\` (tests/bench/workflow_latency.c,"
        echo "workflow_throughput.c, workflow_recovery.c), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$([[ -n $(git status --porcelain 2>/dev/null) ]] && echo " with uncommitted changes"), on $(nproc) cores"
        echo "($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)) that the broker, PostgreSQL, both services and the"
        echo "benchmark share with other work: the load average was $wf_load when the part started and"
        echo "$(cut -d' ' -f1-3 /proc/loadavg) when it ended. The workflow, \`bench-three\`, is three call steps to the embedding service's"
        echo "lexical model \`cairn-lexical-384\` one after another, each embedding the model name the step before"
        echo "answered with (the first: \"hello world\"); the run's output is two small fields of the last reply. It"
        echo "is the cheapest real work a step can call: the lexical model embeds about 100,000 short texts a second"
        echo "on one thread (the translation service runs Apertium's pipelines, the memory service PostgreSQL,"
        echo "speech a model), so the figures are the engine's and the bus's, not the target's. The baseline,"
        echo "in the same runs, is the same three \`EmbedRequest\`s sent straight to the embedding service with a"
        echo "bus client, one after another, each embedding the model name of the reply before: what the"
        echo "steps cost without the engine. A run is over when its \`RUN_COMPLETED\` event arrives on"
        echo "\`cairn.workflow.v1.events\` (a consumer of every partition, in the benchmark). Every step's"
        echo "reply is a vector of 384 floats, which the service keeps in the run's state and in the step's"
        echo "\`STEP_COMPLETED\` event."
        echo
        echo "**Latency, one run at a time.** $(bval $d runs) runs of \`bench-three\` one after another, from the"
        echo "\`StartRunRequest\` sent to \`RUN_COMPLETED\` received, and as many chains of the three direct calls,"
        echo "taking turns in $(bval $d rounds) rounds in alternating order after 20 unrecorded of each; percentiles over all"
        echo "rounds. On Apache Kafka after the throughput runs below (the broker's JIT warm). The times to each"
        echo "part are medians from the start: its \`StartRunReply\`, the \`RUN_STARTED\` event, the"
        echo "\`STEP_COMPLETED\` events of the first two steps; for the direct calls, each call's answer."
        echo
        if [[ -n $wf_dev_skipped ]]; then
                echo "Not measured on the dev broker in this run: $wf_dev_skipped."
                echo
        fi
        if [[ -n $wf_apache_skipped ]]; then
                echo "Not measured on Apache Kafka in this run: $wf_apache_skipped."
                echo
        fi
        echo "| measure | dev broker: workflow | dev broker: direct calls | Apache Kafka: workflow | Apache Kafka: direct calls | target |"
        echo "|---|---|---|---|---|---|"
        echo "| p50 | $(bval $d wf_p50_ms) ms | $(bval $d base_p50_ms) ms | $(bval $a wf_p50_ms) ms | $(bval $a base_p50_ms) ms | workflow ≤ 30 ms ($(wf_verdict "$(bval $d wf_p50_ms)" "<=" 30), $(wf_verdict "$(bval $a wf_p50_ms)" "<=" 30)) |"
        echo "| p99 | $(bval $d wf_p99_ms) ms | $(bval $d base_p99_ms) ms | $(bval $a wf_p99_ms) ms | $(bval $a base_p99_ms) ms | — |"
        echo "| workflow / direct calls, p50 (p99) | **$(bval $d p50_ratio)** ($(bval $d p99_ratio)) | | **$(bval $a p50_ratio)** ($(bval $a p99_ratio)) | | — |"
        echo "| what the engine adds per step, p50 | $(bval $d added_per_step_p50_ms) ms | | $(bval $a added_per_step_p50_ms) ms | | — |"
        echo "| \`StartRunReply\` received | $(bval $d wf_to_start_reply_p50_ms) ms | | $(bval $a wf_to_start_reply_p50_ms) ms | | — |"
        echo "| \`RUN_STARTED\` received | $(bval $d wf_to_run_started_p50_ms) ms | | $(bval $a wf_to_run_started_p50_ms) ms | | — |"
        echo "| step 1 completed / call 1 answered | $(bval $d wf_to_step_a_p50_ms) ms | $(bval $d base_to_call1_p50_ms) ms | $(bval $a wf_to_step_a_p50_ms) ms | $(bval $a base_to_call1_p50_ms) ms | — |"
        echo "| step 2 / call 2 | $(bval $d wf_to_step_b_p50_ms) ms | $(bval $d base_to_call2_p50_ms) ms | $(bval $a wf_to_step_b_p50_ms) ms | $(bval $a base_to_call2_p50_ms) ms | — |"
        echo "| run completed / call 3 | $(bval $d wf_to_run_completed_p50_ms) ms | $(bval $d base_to_call3_p50_ms) ms | $(bval $a wf_to_run_completed_p50_ms) ms | $(bval $a base_to_call3_p50_ms) ms | — |"
        echo "| CPU per run: workflow service | $(bval $d wf_cpu_us_workflow) µs | $(bval $d base_cpu_us_workflow) µs | $(bval $a wf_cpu_us_workflow) µs | $(bval $a base_cpu_us_workflow) µs | — |"
        echo "| CPU per run: PostgreSQL | $(bval $d wf_cpu_us_pg) µs | $(bval $d base_cpu_us_pg) µs | $(bval $a wf_cpu_us_pg) µs | $(bval $a base_cpu_us_pg) µs | — |"
        echo "| CPU per run: broker | $(bval $d wf_cpu_us_broker) µs | $(bval $d base_cpu_us_broker) µs | $(bval $a wf_cpu_us_broker) µs | $(bval $a base_cpu_us_broker) µs | — |"
        echo "| CPU per run: embedding service | $(bval $d wf_cpu_us_embedding) µs | $(bval $d base_cpu_us_embedding) µs | $(bval $a wf_cpu_us_embedding) µs | $(bval $a base_cpu_us_embedding) µs | — |"
        echo "| cores busy: ours, other work | $(bval $d wf_cores_ours), $(bval $d wf_cores_others) | $(bval $d base_cores_ours), $(bval $d base_cores_others) | $(bval $a wf_cores_ours), $(bval $a wf_cores_others) | $(bval $a base_cores_ours), $(bval $a base_cores_others) | — |"
        echo "| failed | $(bval $d wf_errors) | $(bval $d base_errors) | $(bval $a wf_errors) | $(bval $a base_errors) | 0 |"
        echo
        echo "A step through the engine is a reply consumed from \`cairn.workflow.replies\`, one transaction"
        echo "(lock the run, load its state and signals, the engine, save the state, the history, the outbox"
        echo "rows), then the outbox thread's transaction (take the rows, publish them, wait for the broker's"
        echo "acknowledgement, delete them) before the next request leaves; a direct call is one produce and"
        echo "one consume each way. CPU per run is each process's user and system time over its side's rounds,"
        echo "idle time included (the service's scheduler and outbox poll every 100 ms either way)."
        echo
        if [[ -z $wf_apache_skipped ]]; then
                wps=$(val $t wf_per_s)
                echo "**Throughput, $(val $t inflight) runs in flight** (Apache Kafka). A new run starts as each one's"
                echo "\`RUN_COMPLETED\` arrives, $(val $t inflight) always in flight; the baseline keeps as many chains of the three direct"
                echo "calls in flight. After a warm-up of 10 s and an \`ANALYZE\`, the sides take turns in rounds"
                echo "(direct, 16 dimensions, workflow, workflow, 16 dimensions, direct): each round starts its load, lets it"
                echo "settle for 3 s, counts the completions of a ${WF_SECS} s window, then stops starting and waits until all in"
                echo "flight are done. Runs/s and steps/s are the windows'; commits and CPU per step are over whole"
                echo "rounds, quiet to quiet (every step counted started and ended in them; pg_stat_database's"
                echo "\`xact_commit\` over every database, read 1.5 s after the round, since a backend reports"
                echo "within a second of going idle). *16 dimensions* is \`bench-three-16\`: the same workflow asking"
                echo "the model for 16 dimensions instead of 384 (\`\"dimensions\": 16\` in each request), so every"
                echo "reply, state and event is about 20 times smaller: what the size of the steps' outputs costs."
                echo
                echo "| measure | workflow | workflow, 16 dimensions | direct calls | target |"
                echo "|---|---|---|---|---|"
                echo "| runs/s | **$wps** | $(val $t wf16_per_s) | $(val $t base_per_s) | ≥ 300 ($(verdict "$wps" ">=" 300)) |"
                echo "| steps/s | $(val $t wf_steps_per_s) | $(val $t wf16_steps_per_s) | $(val $t base_steps_per_s) | — |"
                echo "| against the direct calls | $(calc "%.3f" "$wps / $(val $t base_per_s)") | $(calc "%.3f" "$(val $t wf16_per_s) / $(val $t base_per_s)") | 1 | — |"
                echo "| latency p50, p99 | $(val $t wf_p50_ms), $(val $t wf_p99_ms) ms | $(val $t wf16_p50_ms), $(val $t wf16_p99_ms) ms | $(val $t base_p50_ms), $(val $t base_p99_ms) ms | — |"
                echo "| PostgreSQL commits per step | **$(val $t wf_commits_per_step)** | $(val $t wf16_commits_per_step) | $(val $t base_commits_per_step) | — |"
                echo "| CPU per step: workflow service | $(val $t wf_step_cpu_us_workflow) µs | $(val $t wf16_step_cpu_us_workflow) µs | $(val $t base_step_cpu_us_workflow) µs | — |"
                echo "| CPU per step: PostgreSQL | $(val $t wf_step_cpu_us_pg) µs | $(val $t wf16_step_cpu_us_pg) µs | $(val $t base_step_cpu_us_pg) µs | — |"
                echo "| CPU per step: broker | $(val $t wf_step_cpu_us_broker) µs | $(val $t wf16_step_cpu_us_broker) µs | $(val $t base_step_cpu_us_broker) µs | — |"
                echo "| CPU per step: embedding service | $(val $t wf_step_cpu_us_embedding) µs | $(val $t wf16_step_cpu_us_embedding) µs | $(val $t base_step_cpu_us_embedding) µs | — |"
                echo "| CPU per step: the benchmark's client | $(val $t wf_step_cpu_us_client) µs | $(val $t wf16_step_cpu_us_client) µs | $(val $t base_step_cpu_us_client) µs | — |"
                echo "| cores busy: ours, other work | $(val $t wf_step_cores_ours), $(val $t wf_step_cores_others) | $(val $t wf16_step_cores_ours), $(val $t wf16_step_cores_others) | $(val $t base_step_cores_ours), $(val $t base_step_cores_others) | — |"
                echo "| failed runs | $(val $t wf_errors) | $(val $t wf16_errors) | $(val $t base_errors) | 0 |"
                echo
                local cpu cpu16
                cpu=$(calc "%.0f" "$(val $t wf_step_cpu_us_workflow) + $(val $t wf_step_cpu_us_pg) + $(val $t wf_step_cpu_us_broker) + $(val $t wf_step_cpu_us_embedding)")
                cpu16=$(calc "%.0f" "$(val $t wf16_step_cpu_us_workflow) + $(val $t wf16_step_cpu_us_pg) + $(val $t wf16_step_cpu_us_broker) + $(val $t wf16_step_cpu_us_embedding)")
                echo "Where the time goes: the load is CPU-bound (the cores row). A step costs $cpu µs of CPU in the"
                echo "service, PostgreSQL, the broker and the embedding service together ($cpu16 µs with 16 dimensions),"
                echo "so the machine's $(nproc) cores, if nothing else ran, would carry at most $(calc "%.0f" "$(nproc) * 1e6 / $cpu / 3") runs of three steps a second ($(calc "%.0f" "$(nproc) * 1e6 / $cpu16 / 3")"
                echo "with 16 dimensions); 300 runs/s needs at most $(calc "%.0f" "$(nproc) * 1e6 / 900") µs a step, all processes included. The workflow"
                echo "service and PostgreSQL take most of it; the direct calls cost $(calc "%.0f" "$(val $t base_step_cpu_us_broker) + $(val $t base_step_cpu_us_embedding)") µs a call in the broker and the"
                echo "embedding service. With 16 dimensions the service's CPU per step falls by"
                echo "$(calc "%.0f%%" "(1 - $(val $t wf16_step_cpu_us_workflow) / $(val $t wf_step_cpu_us_workflow)) * 100") and PostgreSQL's by $(calc "%.0f%%" "(1 - $(val $t wf16_step_cpu_us_pg) / $(val $t wf_step_cpu_us_pg)) * 100"): about that share of their work is the 384 floats of each"
                echo "reply written and read as JSON text (the state, the run's \`jsonb\` row, the events), not the engine."
                echo
                echo "The $(val $t wf_commits_per_step) PostgreSQL commits per step are a reply's change (one a step), a start (one a run, a third"
                echo "of a step), the outbox's rounds ($(bval $t wf_outbox_rounds_per_step) a step: a round takes up to 500 rows), the"
                echo "definition read before each start ($(bval $t wf_definition_reads_per_step) a step, a statement of its own) and libcairn's settings of"
                echo "\`statement_timeout\` ($(bval $t wf_timeout_settings_per_step) a step): common/src/pg.c sets the session's timeout from a"
                echo "call's deadline before it begins a transaction whenever the two differ, a transaction and a round"
                echo "trip of its own; the service's statements have no deadline of their own (they run under"
                echo "\`pg.statement_timeout_ms\`, which a connection keeps), so none should appear. With deadlines"
                echo "counting down, as the service first had them, they were 0.93 a step of 3.04."
                echo
                if [[ -n $(val $t wf_stmt_count) ]]; then
                        echo "PostgreSQL's statements over the two workflow rounds (pg_stat_statements, execution time, so a"
                        echo "busy CPU's waiting is in it), the top $(val $t wf_stmt_count) by time: $(val $t wf_stmt_calls_per_unit) statements and $(val $t wf_stmt_total_ms_per_unit) ms per step in all."
                        echo
                        echo "| statement | calls per step | ms per call | ms per step | share of the time |"
                        echo "|---|---|---|---|---|"
                        for ((i = 0; i < $(val $t wf_stmt_count); i++)); do
                                q=$(line $t "wf_stmt_${i}_query")
                                echo "| \`${q//|/\\|}\` | $(val $t "wf_stmt_${i}_calls_per_unit") | $(val $t "wf_stmt_${i}_ms_per_call") | $(val $t "wf_stmt_${i}_ms_per_unit") | $(calc "%.0f%%" "$(val $t "wf_stmt_${i}_share") * 100") |"
                        done
                        echo
                else
                        echo "pg_stat_statements was not loaded: $(line $t wf_stmt_skipped)."
                        echo
                fi
                if [[ -n $(val $t prof_wf_samples) ]]; then
                        echo "A profile of the same load in a round of its own: perf $(perf --version 2>/dev/null | awk '{ print $3 }') sampling at 499 Hz"
                        echo "for $(val $t prof_seconds) s, every thread of \`cairn-workflow\` ($(val $t prof_wf_samples) samples) and every process of the PostgreSQL"
                        echo "server ($(val $t prof_pg_samples) samples); shares of each one's samples, the kernel's symbols marked [k]:"
                        echo
                        echo "| \`cairn-workflow\`, by thread | share |"
                        echo "|---|---|"
                        wf_prof_rows prof_wf comm
                        echo
                        echo "| \`cairn-workflow\`, by library | share |"
                        echo "|---|---|"
                        wf_prof_rows prof_wf dso
                        echo
                        echo "| \`cairn-workflow\`, by function | share |"
                        echo "|---|---|"
                        wf_prof_rows prof_wf sym
                        echo
                        echo "| PostgreSQL, by function | share |"
                        echo "|---|---|"
                        wf_prof_rows prof_pg sym
                        echo
                        echo "In the service, \`__printf_fp_l\`, \`hack_digit\`, \`__mpn_mul_1\` and \`__vfprintf_internal\` are"
                        echo "glibc printing floating-point numbers (jansson writes every float of a state or an output with"
                        echo "\`%.17g\`) and \`strtod\` reading them back; \`cairn_buf_add\` and \`cairn_hex_digit\` build the hex"
                        echo "text of the \`bytea\` parameters (events and dispatches go to PostgreSQL as text); kernel time is"
                        echo "the round trips, one per statement. In PostgreSQL, \`pglz_compress\` is TOAST compressing each"
                        echo "new version of a run's state, \`array_in\` and \`hex_decode\` read those parameters, and the"
                        echo "scheduling symbols (\`finish_task_switch\`) are backends waking for each statement."
                        echo
                else
                        echo "No profile in this run: $(line $t prof_skipped)."
                        echo
                fi
                echo "StartRun's lookups of a run by workflow id and by start request (\`wf_run_latest\`,"
                echo "\`wf_run_by_start\`) took $(calc "%.3f" "$(val $t lookup_before_analyze_ms)") ms a call during the warm-up, before the \`ANALYZE\`, with up to"
                echo "$(val $t lookup_before_analyze_table_runs) runs in the table, and $(calc "%.3f" "$(val $t lookup_after_analyze_ms)") ms in the workflow rounds after it. The service's"
                echo "connections prepare their statements once; until autovacuum first analyzes \`workflow_runs\`,"
                echo "they can keep the generic plans PostgreSQL made while it was empty, which scan the tenant's"
                echo "list index (\`workflow_runs_list\`) and filter on the id: every start then reads every run of"
                echo "the tenant (auto_explain showed that plan in runs of this benchmark where the lookups took"
                echo "2.2 to 2.6 ms, with 4,000 to 6,000 runs)."
                echo
                echo "**Recovery** (Apache Kafka). $(val $r runs) runs of \`bench-nap\` (a durable timer until \`input.until\`, then"
                echo "one call to the embedding service) started $(val $r up_starts_per_s)/s with 64 requests in flight, all asleep"
                echo "(every \`STEP_SCHEDULED\` of the timer received), the timers due a few seconds after the last start."
                echo "The service is killed with SIGKILL while they sleep; once all are due it is started again. A run"
                echo "counts as *resumed* when its timer's \`STEP_COMPLETED\` event arrives: the restarted service found"
                echo "it due, moved it past where the kill caught it in a committed transaction (which also sends its"
                echo "call) and published that. *Completed*: its call answered and \`RUN_COMPLETED\` received. The"
                echo "baselines, in the same run: as many timers falling due at once on a service that stays up (times"
                echo "from the moment they fall due), and a restart with nothing due."
                echo
                echo "| measure | after the kill and restart | timers due on a running service | target |"
                echo "|---|---|---|---|"
                echo "| runs in flight | $(val $r runs) | $(val $r runs) | — |"
                echo "| to ready (\`/readyz\` 200) | $(val $r crash_ready_ms) ms | — | — |"
                echo "| to the first run resumed | $(val $r crash_first_resumed_s) s | $(val $r up_first_resumed_s) s | — |"
                echo "| to every run moved in PostgreSQL (none due any more) | $(val $r crash_all_moved_in_pg_s) s | $(val $r up_all_moved_in_pg_s) s | — |"
                echo "| to every run resumed | **$(val $r crash_all_resumed_s) s** | $(val $r up_all_resumed_s) s | — |"
                echo "| to every run completed | $(val $r crash_all_completed_s) s | $(val $r up_all_completed_s) s | — |"
                echo "| runs resumed a second | $(val $r crash_resumed_per_s) | $(val $r up_resumed_per_s) | — |"
                echo "| runs resumed before the kill (must be 0) | $(val $r crash_resumed_before_kill) | — | 0 |"
                echo "| runs failed | $(val $r crash_failed) | $(val $r up_failed) | 0 |"
                echo
                echo "And a kill and restart with nothing due, then one run started the moment \`/readyz\` answered and"
                echo "one after it (each asleep for an hour, no call behind its timer): ready after $(val $r idle_ready_ms) ms; the first"
                echo "run answered after $(val $r idle_first_run_reply_ms) ms, its first event after $(val $r idle_first_run_event_ms) ms; the next one answered after"
                echo "$(val $r idle_second_run_reply_ms) ms, its event after $(val $r idle_second_run_event_ms) ms."
                echo
                echo "Ready is not serving. \`/readyz\` needs PostgreSQL, the broker's metadata and the service"
                echo "started; a request waits until the new process's consumer gets the request topic's partitions,"
                echo "which the group hands over only once the killed process's session has expired"
                echo "(\`session.timeout.ms\`: 3 s in deploy/kafka/apache.env; librdkafka's default is 45 s, which"
                echo "docs/operations.md suggests lowering to no less than 10 s in production); after that, requests"
                echo "are answered in milliseconds. Resuming does not wait for the group: the scheduler reads"
                echo "PostgreSQL, taking due runs 64 at a time (\`FOR UPDATE SKIP LOCKED\`), one transaction each"
                echo "(which writes the call's outbox row), on"
                echo "\`workflow.scheduler_threads\` threads that share \`pg.pool_size\` connections with the reply"
                echo "consumer; on the running service the replies to the calls the first moves sent compete with it."
                echo "*Moved in PostgreSQL* is when no run was due any more (polled every 20 ms); *resumed* adds the"
                echo "outbox publishing the events. After the restart the first of them arrived $(val $r crash_first_resumed_s) s after the start:"
                echo "the outbox publishes a batch of rows and deletes them once the broker has every one, and the"
                echo "first batch held the new process's first message to the embedding service's topic, which took"
                echo "about a second to leave (in runs of this benchmark, a run started after a restart showed its"
                echo "events within milliseconds when no call followed its timer, and about 1 s late when its"
                echo "events shared a batch with the process's first call). The load average was $(line $r crash_load_at_restart)"
                echo "at the restart."
                echo
        fi
        echo "The commands, as run (Apache Kafka: \`CAIRN_KAFKA_JIT=full deploy/kafka/apache.sh start DIR\`):"
        echo
        echo '```'
        echo "$1"
        echo "$BUILD/tests/bench/workflow_latency $WF_RUNS"
        echo "TESTS_KAFKA=apache TESTS_KAFKA_DIR=DIR BENCH_WORKFLOW_INFLIGHT=$WF_INFLIGHT $BUILD/tests/bench/workflow_throughput $WF_SECS"
        echo "TESTS_KAFKA=apache TESTS_KAFKA_DIR=DIR $BUILD/tests/bench/workflow_latency $WF_RUNS"
        echo "TESTS_KAFKA=apache TESTS_KAFKA_DIR=DIR $BUILD/tests/bench/workflow_recovery $WF_RECOVERY"
        echo '```'
        echo
}

# Replaces the subsection $1 of the file (up to the next heading outside
# code) with the file $2, or else adds it at the end of the section $3.
subsection_write() {
        awk -v h="$1" -v new="$2" -v parent="$3" '
                function emit(  l) { while ((getline l < new) > 0) print l; close(new); done = 1 }
                /^```/ { fence = !fence }
                !fence && $0 == h { emit(); skip = 1; next }
                !fence && skip && /^##/ { skip = 0 }
                skip { next }
                !fence && !done && in_parent && /^## / { emit() }
                !fence && /^## / { in_parent = ($0 == parent) }
                { print }
                END { if (!done) { print ""; emit() } }
        ' "$out" >"$tmp/benchmarks.md"
        cp "$tmp/benchmarks.md" "$out"
}

# Only some parts: measure them and replace their subsections of the file.
if (($# > 0)); then
        for part in "$@"; do
                if [[ $part != gateway_ab && $part != bert && $part != memory && $part != image &&
                        $part != secrets && $part != translation && $part != translation_detect &&
                        $part != speech && $part != workflow ]]; then
                        echo "usage: tests/bench/run.sh BUILD_DIR [gateway_ab] [bert] [memory] [image] [secrets] [translation] [translation_detect] [speech] [workflow] (unknown part: $part)" >&2
                        exit 2
                fi
        done
        status=0
        for part in "$@"; do
                # each part: its subsection, the section it goes under when
                # new, the command that reproduces it, and the variable its
                # run sets to say why it measured nothing
                skipped=${part}_skipped
                case $part in
                gateway_ab) heading=$ab_heading parent="## HTTP gateway" skipped=ab_skipped
                        cmd="BENCH_BASELINE=${BENCH_BASELINE:-HEAD~1} tests/bench/run.sh $BUILD gateway_ab" ;;
                bert) heading=$bert_heading parent="## Embedding models"
                        cmd="BENCH_SECONDS=$SECS BENCH_BERT_SECONDS=$BERT_SECS tests/bench/run.sh $BUILD bert" ;;
                memory) heading=$memory_heading parent=""
                        cmd="BENCH_SECONDS=$SECS tests/bench/run.sh $BUILD memory" ;;
                image) heading=$image_heading parent="" cmd="tests/bench/run.sh $BUILD image" ;;
                secrets) heading=$secrets_heading parent=""
                        cmd="BENCH_SECONDS=$SECS tests/bench/run.sh $BUILD secrets" ;;
                translation) heading=$translation_heading parent=""
                        cmd="BENCH_SECONDS=$SECS tests/bench/run.sh $BUILD translation" ;;
                translation_detect) heading=$translation_detect_heading parent=""
                        cmd="BENCH_DETECT_SECONDS=$DETECT_SECS tests/bench/run.sh $BUILD translation_detect" ;;
                speech) heading=$speech_heading parent=""
                        cmd="BENCH_SPEECH_RUNS=$SPEECH_RUNS BENCH_TTS_RUNS=$TTS_RUNS tests/bench/run.sh $BUILD speech" ;;
                workflow) heading=$workflow_heading parent=""
                        cmd="BENCH_WORKFLOW_RUNS=$WF_RUNS BENCH_WORKFLOW_SECONDS=$WF_SECS BENCH_WORKFLOW_INFLIGHT=$WF_INFLIGHT BENCH_WORKFLOW_RECOVERY_RUNS=$WF_RECOVERY tests/bench/run.sh $BUILD workflow" ;;
                esac
                "${part}_run"
                if [[ -n ${!skipped} ]]; then
                        echo "bench: \"$heading\" in $out left as it was" >&2
                        status=1
                        continue
                fi
                "${part}_render" "$cmd" >"$tmp/part.md"
                subsection_write "$heading" "$tmp/part.md" "$parent"
                echo "bench: wrote \"$heading\" in $out"
        done
        exit $status
fi

echo "bench: lexical model"
"$BUILD/tests/bench/lexical" | tee "$tmp/lexical"
bert_run
echo "bench: round trip over the dev broker (${SECS}s per phase)"
"$BUILD/tests/bench/roundtrip" "$SECS" | tee "$tmp/roundtrip"
# The same benchmark on a single-node Apache Kafka, raw baseline on the same broker.
apache_skipped=""
# The broker compiles with C2 as a production JVM does (CAIRN_KAFKA_JIT=full):
# C1 alone, which the tests use to start sooner, about doubles its CPU per
# request.
if apache_skipped=$(deploy/kafka/apache.sh check) &&
        CAIRN_KAFKA_JIT=full deploy/kafka/apache.sh start "$tmp/kafka"; then
        # C2 compiles the broker's hot paths during its first minute of load,
        # taking CPU from everything else: one unrecorded run warms it up.
        echo "bench: warming up the broker's JIT (an unrecorded round trip)"
        TESTS_KAFKA=apache TESTS_KAFKA_DIR=$tmp/kafka "$BUILD/tests/bench/roundtrip" "$SECS" >/dev/null
        echo "bench: round trip over Apache Kafka $(deploy/kafka/apache.sh version) (${SECS}s per phase)"
        TESTS_KAFKA=apache TESTS_KAFKA_DIR=$tmp/kafka "$BUILD/tests/bench/roundtrip" "$SECS" |
                grep -v '^{' | tee "$tmp/roundtrip_apache"
        echo "bench: HTTP gateway over Apache Kafka (${SECS}s per phase, no memory run)"
        BENCH_MEMORY_SECONDS=0 TESTS_KAFKA=apache TESTS_KAFKA_DIR=$tmp/kafka \
                "$BUILD/tests/bench/gateway" "$SECS" | grep -v '^{' | tee "$tmp/gateway_apache"
        echo "bench: the same with producers batching for 1 ms (linger.ms=1)"
        BENCH_MEMORY_SECONDS=0 TESTS_KAFKA=apache TESTS_KAFKA_DIR=$tmp/kafka \
                TESTS_KAFKA_SETTINGS="CAIRN_KAFKA_LINGER_MS=1" \
                "$BUILD/tests/bench/gateway" "$SECS" | grep -v '^{' | tee "$tmp/gateway_apache_l1"
        deploy/kafka/apache.sh stop "$tmp/kafka"
        apache_skipped=""
else
        apache_skipped=${apache_skipped:-the broker did not start}
        echo "bench: SKIPPED the round trip over Apache Kafka: $apache_skipped"
fi
echo "bench: tracing overhead on the round trip (${SECS}s per phase)"
"$BUILD/tests/bench/tracing" "$SECS" | tee "$tmp/tracing"
echo "bench: embedding with remote models: cache and micro-batching (${SECS}s per phase)"
"$BUILD/tests/bench/embedding_remote" "$SECS" | grep -v '^{' | tee "$tmp/remote"
memory_run
secrets_run
translation_run
translation_detect_run
speech_run
workflow_run
image_run
echo "bench: HTTP gateway vs the bus directly and nginx (${SECS}s per phase, ${MEMSECS}s memory run)"
BENCH_MEMORY_SECONDS=$MEMSECS "$BUILD/tests/bench/gateway" "$SECS" | grep -v '^{' | tee "$tmp/gateway"
gateway_ab_run

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
{
        echo "# Benchmarks"
        echo
        echo "Produced by \`make bench\` (tests/bench/run.sh, BENCH_SECONDS=$SECS, BENCH_MEMORY_SECONDS=$MEMSECS) on $(date -u +%Y-%m-%d),"
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
        echo "After a warm-up of both, the two take turns in $(val roundtrip rounds) rounds per measure, in alternating"
        echo "order, so load from neighbours (and a real broker's JIT and garbage collector) falls on"
        echo "both alike; percentiles are over all rounds' samples."
        echo
        echo "| measure | Cairn | raw librdkafka | ratio | target |"
        echo "|---|---|---|---|---|"
        echo "| p50 at $(val roundtrip rate_rps) req/s | $(val roundtrip cairn_p50_ms) ms | $(val roundtrip raw_p50_ms) ms | $(val roundtrip p50_ratio) | ≤ 1.5 ($(verdict "$(val roundtrip p50_ratio)" "<=" 1.5)) |"
        echo "| p99 at $(val roundtrip rate_rps) req/s | $(val roundtrip cairn_p99_ms) ms | $(val roundtrip raw_p99_ms) ms | $(val roundtrip p99_ratio) | ≤ 2 ($(verdict "$(val roundtrip p99_ratio)" "<=" 2)) |"
        echo "| max throughput, $(val roundtrip inflight) in flight | $(val roundtrip cairn_max_rps) req/s | $(val roundtrip raw_max_rps) req/s | $(val roundtrip throughput_ratio) | — |"
        echo
        echo "Errors during the Cairn run: $(val roundtrip cairn_errors)."
        echo
        echo "## Round trip over Apache Kafka"
        echo
        if [[ -n $apache_skipped ]]; then
                echo "Not measured in this run: $apache_skipped."
        else
                echo "The same benchmark on a single-node Apache Kafka $(deploy/kafka/apache.sh version) (KRaft,"
                echo "deploy/kafka/apache.sh) on the same machine, the raw ping-pong on the same broker in the"
                echo "same run, both with deploy/kafka/apache.env (\`fetch.wait.max.ms=100\`: a real broker"
                echo "answers a waiting fetch when data arrives, so the wait costs no latency). The broker's JVM"
                echo "compiles with C2 as in production (\`CAIRN_KAFKA_JIT=full\`; the tests' C1-only broker starts"
                echo "sooner but spends about twice the CPU per request), warmed up by one unrecorded run of this"
                echo "benchmark: while C2 compiles, it takes a core from everything else."
                echo
                echo "| measure | Cairn | raw librdkafka | ratio | target |"
                echo "|---|---|---|---|---|"
                echo "| p50 at $(val roundtrip_apache rate_rps) req/s | $(val roundtrip_apache cairn_p50_ms) ms | $(val roundtrip_apache raw_p50_ms) ms | $(val roundtrip_apache p50_ratio) | ≤ 1.5 ($(verdict "$(val roundtrip_apache p50_ratio)" "<=" 1.5)) |"
                echo "| p99 at $(val roundtrip_apache rate_rps) req/s | $(val roundtrip_apache cairn_p99_ms) ms | $(val roundtrip_apache raw_p99_ms) ms | $(val roundtrip_apache p99_ratio) | ≤ 2 ($(verdict "$(val roundtrip_apache p99_ratio)" "<=" 2)) |"
                echo "| max throughput, $(val roundtrip_apache inflight) in flight | $(val roundtrip_apache cairn_max_rps) req/s | $(val roundtrip_apache raw_max_rps) req/s | $(val roundtrip_apache throughput_ratio) | — |"
                echo
                echo "Errors during the Cairn run: $(val roundtrip_apache cairn_errors). The broker's JVM shares the"
                echo "machine's cores with the benchmark and the service."
        fi
        echo
        echo "## Tracing overhead"
        echo
        echo "The same round trip, closed loop with $(val tracing inflight) calls in flight, against three"
        echo "\`cairn-embedding\` processes side by side (each on a request topic of its own): tracing off;"
        echo "100% sampling (\`OTEL_TRACES_SAMPLER=always_on\`, in the client and the service) exported to a"
        echo "live OTLP/HTTP receiver in the benchmark process; 100% sampling with the collector down"
        echo "(connections refused). The client traces like the service it calls. The three take turns in"
        echo "$(val tracing rounds) rounds of 0.5 s each, in rotating order, so load from neighbours falls on"
        echo "all of them alike; \"vs off\" is the median over rounds of each round's ratio (the ratio of the"
        echo "totals: $(val tracing trace_live_total_ratio) live, $(val tracing trace_down_total_ratio) down)."
        echo
        echo "| mode | throughput | vs off | service CPU per request | target |"
        echo "|---|---|---|---|---|"
        echo "| tracing off | $(val tracing trace_off_rps) req/s | 1 | $(val tracing trace_off_service_cpu_us_per_req) µs | — |"
        echo "| 100% sampled, live receiver | $(val tracing trace_live_rps) req/s | $(val tracing trace_live_ratio) | $(val tracing trace_live_service_cpu_us_per_req) µs | ≥ 0.95 ($(verdict "$(val tracing trace_live_ratio)" ">=" 0.95)) |"
        echo "| 100% sampled, collector down | $(val tracing trace_down_rps) req/s | $(val tracing trace_down_ratio) | $(val tracing trace_down_service_cpu_us_per_req) µs | ≥ 0.95 ($(verdict "$(val tracing trace_down_ratio)" ">=" 0.95)) |"
        echo
        echo "What one span costs, measured in process: $(val tracing trace_span_make_us) µs to start it, set the"
        echo "ten messaging attributes and end it; $(val tracing trace_span_encode_us) µs to encode it as OTLP/JSON"
        echo "($(val tracing trace_span_json_bytes) bytes) in a batch of 512, on the export thread. A traced call makes"
        echo "one span in the caller and one in the service: about 2 × ($(val tracing trace_span_make_us) + $(val tracing trace_span_encode_us)) µs of"
        echo "CPU per call, against the service CPU per request above. On the shared 2-core machines this"
        echo "runs on, repeated runs of the throughput table moved by up to ±20% either way (the"
        echo "collector-down mode, which does almost no extra work, shows the spread): read the per-span"
        echo "costs as the steadier figure."
        echo
        echo "Live receiver: $(val tracing trace_live_spans_received) spans received; the service exported"
        echo "$(val tracing trace_live_service_exported) and dropped $(val tracing trace_live_service_dropped)."
        echo "Collector down: the service counted $(val tracing trace_down_service_failures) failed export requests"
        echo "and dropped $(val tracing trace_down_service_dropped) spans (after a failure, batches are dropped unencoded"
        echo "while the exporter backs off). Call errors in all modes: $(val tracing trace_errors)."
        echo
        echo "## Embedding with remote models"
        echo
        echo "\`cairn-embedding\` with an OpenAI-compatible model served by the fake provider of the"
        echo "tests (real HTTP on 127.0.0.1, tests/integration/fake_openai.c) and a Redis of its own,"
        echo "through the dev broker; single-input requests (tests/bench/embedding_remote.c)."
        echo
        echo "Cache-hit path (every text cached beforehand; 10-word inputs, 64 in flight, 384 dimensions):"
        echo
        echo "| measure | value | target |"
        echo "|---|---|---|"
        echo "| cache hits through the bus | $(val remote cache_hit_eps) embeddings/s (p50 $(val remote cache_hit_p50_ms) ms, p99 $(val remote cache_hit_p99_ms) ms) | ≥ 20,000 ($(verdict "$(val remote cache_hit_eps)" ">=" 20000)) |"
        echo "| lexical model through the same bus (baseline) | $(val remote lexical_bus_eps) embeddings/s | — |"
        echo "| cache hits / lexical | $(val remote cache_vs_lexical) | — |"
        echo "| cache hits in-process (handler called directly, one thread, no bus) | $(val remote cache_hit_inprocess_eps) embeddings/s | — |"
        echo
        echo "Upstream requests during the cache-hit phase: $(val remote cache_hit_upstream_requests); errors: $(val remote cache_hit_errors)."
        echo "Through the bus, single-input requests are bound by the dev broker's round trip: the lexical"
        echo "baseline, which does no I/O at all, is no faster, and in-process the cache-hit path alone"
        echo "(one MGET round trip per request) runs an order of magnitude faster. The cache is not the limit."
        echo
        echo "Micro-batching (provider latency 5 ms, 256 concurrent single-input requests, \`bus.workers: 256\`,"
        echo "\`batch_wait_us: 2000\`, \`max_batch: 128\`, no cache):"
        echo
        echo "| measure | coalescing off | coalescing on | lexical, same load (bus only) | target |"
        echo "|---|---|---|---|---|"
        echo "| embeddings/s | $(val remote unbatched_eps) | $(val remote batched_eps) | $(val remote lexical256_eps) | — |"
        echo "| upstream requests per embedding | $(val remote unbatched_upstream_per_embedding) | $(val remote batched_upstream_per_embedding) | — | cut ≥ 10× ($(val remote upstream_reduction)×: $(verdict "$(val remote upstream_reduction)" ">=" 10)) |"
        echo "| p50 | $(val remote unbatched_p50_ms) ms | $(val remote batched_p50_ms) ms | $(val remote lexical256_p50_ms) ms | — |"
        echo "| p99 | $(val remote unbatched_p99_ms) ms | $(val remote batched_p99_ms) ms | $(val remote lexical256_p99_ms) ms | ≤ 15 ms ($(verdict "$(val remote batched_p99_ms)" "<=" 15)) |"
        echo
        echo "At 256 in flight the dev broker's round trip dominates latency: compare the batched p99 with"
        echo "the lexical model's under the same load, where no provider is involved. Errors: $(val remote batching_errors)."
        echo
        echo "The same batcher without the bus: the service's handler called in-process by 256 threads,"
        echo "each with one single-input request outstanding (unique texts, no cache), same provider:"
        echo
        echo "| measure | coalescing off | coalescing on | target |"
        echo "|---|---|---|---|"
        echo "| embeddings/s | $(val remote inproc_unbatched_eps) | $(val remote inproc_batched_eps) | — |"
        inproc_cut=$(awk -v a="$(val remote inproc_unbatched_upstream_per_embedding)" -v b="$(val remote inproc_batched_upstream_per_embedding)" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')
        echo "| upstream requests per embedding | $(val remote inproc_unbatched_upstream_per_embedding) | $(val remote inproc_batched_upstream_per_embedding) | cut ≥ 10× (${inproc_cut}×: $(verdict "$inproc_cut" ">=" 10)) |"
        echo "| p50 | $(val remote inproc_unbatched_p50_ms) ms | $(val remote inproc_batched_p50_ms) ms | — |"
        echo "| p99 | $(val remote inproc_unbatched_p99_ms) ms | $(val remote inproc_batched_p99_ms) ms | ≤ 15 ms ($(verdict "$(val remote inproc_batched_p99_ms)" "<=" 15)) |"
        echo
        echo "Errors: $(( $(val remote inproc_unbatched_errors) + $(val remote inproc_batched_errors) )). The fake provider runs on the same two cores and"
        echo "encodes every vector as JSON; with 256 callers, latency here is the CPU the batches of"
        echo "both sides take, not the provider's 5 ms."
        echo
        echo "## HTTP gateway"
        echo
        echo "\`cairn-gateway\` with a dev broker, a Redis and a \`cairn-embedding\` of its own, driven by"
        echo "wrk $(wrk -v 2>&1 | grep -o '[0-9][0-9.]*' | head -1) ($(val gateway wrk_threads) threads, $(val gateway wrk_connections) keep-alive connections, closed loop) and compared, in the"
        echo "same run, with what it is measured against (tests/bench/gateway.c). Everything (broker,"
        echo "Redis, service, gateway, nginx, wrk) shares the machine's cores."
        echo
        echo "\`GET /healthz\` on the gateway's admin port (libmicrohttpd on one internal epoll thread,"
        echo "common/src/admin.c) against"
        echo "nginx $(PATH=$PATH:/usr/sbin nginx -v 2>&1 | sed 's|.*nginx/||') (Debian nginx-light, \`worker_processes auto\`, \`access_log off\`,"
        echo "\`sendfile on\`, \`keepalive_requests 1000000\`) serving a static file with the same body"
        echo "(\`ok\`) at the same path. The two take turns in $(val gateway healthz_rounds) rounds of 1 s each, in alternating"
        echo "order, so load from neighbours falls on both alike: requests/s over all rounds, p50 and p99"
        echo "the median of the rounds', the ratio the median of the rounds' ratios (the ratio of the"
        echo "totals: $(val gateway healthz_total_ratio))."
        echo
        echo "| server | requests/s | p50 | p99 | errors |"
        echo "|---|---|---|---|---|"
        echo "| gateway admin, \`/healthz\` | $(val gateway healthz_gw_rps) | $(val gateway healthz_gw_p50_ms) ms | $(val gateway healthz_gw_p99_ms) ms | $(( $(val gateway healthz_gw_non2xx) + $(val gateway healthz_gw_socket_errors) )) |"
        echo "| nginx, static file | $(val gateway healthz_nginx_rps) | $(val gateway healthz_nginx_p50_ms) ms | $(val gateway healthz_nginx_p99_ms) ms | $(( $(val gateway healthz_nginx_non2xx) + $(val gateway healthz_nginx_socket_errors) )) |"
        hz_ratio=$(val gateway healthz_ratio)
        echo "| **gateway / nginx** | **$hz_ratio** | — | — | target ≥ 1.0 ($(verdict "$hz_ratio" ">=" 1.0)) |"
        echo
        gw_p99=$(val gateway gw64_p99_ms)
        bus_p99=$(val gateway bus64_p99_ms)
        p99_limit=$(calc "%.3f" "$bus_p99 + 5")
        gw_errs=$(( $(val gateway gw64_non2xx) + $(val gateway gw64_socket_errors) ))
        echo "\`POST /v1/embeddings\`, one 10-word input, HS256 JWT, rate limiting on (a Redis script per"
        echo "request, limits no run reaches), through the dev broker and \`cairn-embedding\`"
        echo "(tests/bench/embeddings.lua), against the same \`EmbedRequest\` sent straight over the bus with"
        echo "\`cairn_bus_call_async()\`, $(val gateway bus_inflight) calls in flight, keyed by the tenant as the gateway keys"
        echo "them; ${SECS} s each:"
        echo
        echo "| measure | gateway, $(val gateway wrk_connections) connections | bus directly, $(val gateway bus_inflight) in flight | target |"
        echo "|---|---|---|---|"
        echo "| requests/s | $(val gateway gw64_rps) | $(val gateway bus64_rps) | ≥ 5,000 through the gateway ($(verdict "$(val gateway gw64_rps)" ">=" 5000)) |"
        echo "| p50 | $(val gateway gw64_p50_ms) ms | $(val gateway bus64_p50_ms) ms | — |"
        echo "| p99 | $gw_p99 ms | $bus_p99 ms | ≤ bus p99 + 5 ms = $p99_limit ms ($(verdict "$gw_p99" "<=" "$p99_limit")) |"
        echo "| responses outside 2xx, socket errors / failed calls | $(val gateway gw64_non2xx), $(val gateway gw64_socket_errors) | $(val gateway bus64_errors) | 0 ($(verdict "$gw_errs" "==" 0)) |"
        echo
        gw_cpu=$(val gateway gw64_gateway_cpu_us_per_req)
        echo "CPU per request through the gateway: the gateway $gw_cpu µs, \`cairn-embedding\` $(val gateway gw64_embedding_cpu_us_per_req) µs,"
        echo "the dev broker $(val gateway gw64_broker_cpu_us_per_req) µs, Redis $(val gateway gw64_redis_cpu_us_per_req) µs; on the bus alone \`cairn-embedding\` $(val gateway bus64_embedding_cpu_us_per_req) µs"
        echo "and the dev broker $(val gateway bus64_broker_cpu_us_per_req) µs. At $gw_cpu µs a request, 5,000"
        echo "requests/s take $(calc "%.2f" "$gw_cpu * 5000 / 1e6") of the machine's $(nproc) cores in the gateway alone, beside wrk, Redis, the"
        echo "broker and the service."
        echo
        if [[ -z $apache_skipped ]]; then
                echo "The same runs on Apache Kafka (the broker of the round-trip section above, in the same"
                echo "\`make bench\`; the dev broker's fetch cost, docs/operations.md, caps the figures above), with"
                echo "the client settings of deploy/kafka/apache.env (\`linger.ms=0\`: every request and reply is"
                echo "sent at once), then again with \`linger.ms=1\` for every producer (the gateway's, the"
                echo "service's and the bus baseline's): each batch waits up to 1 ms for more, so that under"
                echo "load a broker request carries several messages. CPU per request is each process's user"
                echo "and system time over the requests of the run."
                echo
                echo "| measure | gateway, linger 0 | bus, linger 0 | gateway, linger 1 | bus, linger 1 | target |"
                echo "|---|---|---|---|---|---|"
                l0_limit=$(calc "%.3f" "$(val gateway_apache bus64_p99_ms) + 5")
                l1_limit=$(calc "%.3f" "$(val gateway_apache_l1 bus64_p99_ms) + 5")
                l0_errs=$(( $(val gateway_apache gw64_non2xx) + $(val gateway_apache gw64_socket_errors) + $(val gateway_apache bus64_errors) ))
                l1_errs=$(( $(val gateway_apache_l1 gw64_non2xx) + $(val gateway_apache_l1 gw64_socket_errors) + $(val gateway_apache_l1 bus64_errors) ))
                cell() { # file key unit: the value with its unit, "—" where the run has none
                        local v
                        v=$(val "$1" "$2")
                        if [[ -n $v ]]; then echo "$v$3"; else echo "—"; fi
                }
                row() { # label key unit target
                        echo "| $1 | $(cell gateway_apache "gw64_$2" "$3") | $(cell gateway_apache "bus64_$2" "$3") | $(cell gateway_apache_l1 "gw64_$2" "$3") | $(cell gateway_apache_l1 "bus64_$2" "$3") | $4 |"
                }
                row "requests/s" rps "" "≥ 5,000 through the gateway ($(verdict "$(val gateway_apache gw64_rps)" ">=" 5000), $(verdict "$(val gateway_apache_l1 gw64_rps)" ">=" 5000))"
                row "p50" p50_ms " ms" "—"
                row "p99" p99_ms " ms" "≤ bus p99 + 5 ms = $l0_limit, $l1_limit ms ($(verdict "$(val gateway_apache gw64_p99_ms)" "<=" "$l0_limit"), $(verdict "$(val gateway_apache_l1 gw64_p99_ms)" "<=" "$l1_limit"))"
                row "CPU per request: gateway" gateway_cpu_us_per_req " µs" "—"
                row "CPU per request: \`cairn-embedding\`" embedding_cpu_us_per_req " µs" "—"
                row "CPU per request: broker" broker_cpu_us_per_req " µs" "—"
                row "CPU per request: Redis" redis_cpu_us_per_req " µs" "—"
                echo "| errors (outside 2xx, socket, failed calls) | $l0_errs | | $l1_errs | | 0 ($(verdict "$l0_errs" "==" 0), $(verdict "$l1_errs" "==" 0)) |"
                echo
                echo "One request at a time on Apache Kafka, what the batching costs when there is nothing to"
                echo "batch: p50 gateway $(val gateway_apache gw1_p50_ms) ms, bus $(val gateway_apache bus1_p50_ms) ms with linger 0; gateway"
                echo "$(val gateway_apache_l1 gw1_p50_ms) ms, bus $(val gateway_apache_l1 bus1_p50_ms) ms with linger 1 (each hop waits out its linger)."
                echo "The broker's CPU per request falls with the messages each of its requests carries: the bus"
                echo "baseline, whose calls are issued in bursts as replies arrive, batches more than wrk's"
                echo "connections do through the gateway."
                echo
        fi
        if ((gw_errs > 0)); then
                echo "**This run had errors through the gateway ($(val gateway gw64_non2xx) responses outside 2xx, $(val gateway gw64_socket_errors) socket errors): its throughput and latency do not describe successful requests.**"
                echo
        fi
        echo "What the gateway adds to a request, one request at a time (a closed loop of one keep-alive"
        echo "connection against one thread calling \`cairn_bus_call()\`), ${SECS} s each, the two taking turns"
        echo "in $(val gateway one_at_a_time_rounds) rounds in alternating order; percentiles over all of each one's rounds:"
        echo
        echo "| measure | gateway | bus directly | gateway − bus | target |"
        echo "|---|---|---|---|---|"
        echo "| p50 | $(val gateway gw1_p50_ms) ms | $(val gateway bus1_p50_ms) ms | $(calc "%.3f" "$(val gateway gw1_p50_ms) - $(val gateway bus1_p50_ms)") ms | — |"
        overhead=$(calc "%.3f" "$(val gateway gw1_p99_ms) - $(val gateway bus1_p99_ms)")
        echo "| p99 | $(val gateway gw1_p99_ms) ms | $(val gateway bus1_p99_ms) ms | $overhead ms | ≤ 1 ms ($(verdict "$overhead" "<=" 1)) |"
        echo
        echo "Errors: gateway $(val gateway gw1_errors), bus $(val gateway bus1_errors). \`GET /v1/version\` (the API's HTTP layer"
        echo "alone, no Kafka, no Redis) at $(val gateway wrk_connections) connections: $(val gateway version_rps) requests/s, p50"
        echo "$(val gateway version_p50_ms) ms, p99 $(val gateway version_p99_ms) ms, $(( $(val gateway version_non2xx) + $(val gateway version_socket_errors) )) errors."
        echo
        mem_errs=$(( $(val gateway mem_non2xx) + $(val gateway mem_socket_errors) ))
        drift=$(val gateway mem_rss_drift)
        echo "Resident memory of the gateway (VmRSS) under the same \`POST /v1/embeddings\` load for"
        echo "$(val gateway mem_secs) s, sampled every $(val gateway mem_sample_secs) s; the first sample, $(val gateway mem_sample_secs) s in, is the one after warm-up"
        echo "(the gateway had already served the runs above):"
        echo
        echo "| measure | value | target |"
        echo "|---|---|---|"
        echo "| first sample after warm-up | $(val gateway mem_rss_first_kib) KiB | — |"
        echo "| max | $(val gateway mem_rss_max_kib) KiB ($(val gateway mem_rss_max_ratio) × first) | — |"
        echo "| last sample | $(val gateway mem_rss_last_kib) KiB | — |"
        echo "| drift, last / first | $drift | within ±10% ($(verdict "$(calc "%.3f" "$drift > 1 ? $drift - 1 : 1 - $drift")" "<=" 0.10)) |"
        echo "| load | $(val gateway mem_rps) requests/s, p99 $(val gateway mem_p99_ms) ms, $(val gateway mem_requests) requests | — |"
        echo "| responses outside 2xx, socket errors | $(val gateway mem_non2xx), $(val gateway mem_socket_errors) | 0 ($(verdict "$mem_errs" "==" 0)) |"
        echo
        echo "All samples, KiB: $(val gateway mem_rss_series | sed 's/,/, /g'). Before any load the gateway held"
        echo "$(val gateway gw_rss_after_warmup_kib) KiB after its first few requests."
        echo
        echo "The commands, as run (the ports are the run's free ports on 127.0.0.1; \`\$JWT\` is the HS256"
        echo "token the benchmark mints, tenant \`bench\`, role \`member\`):"
        echo
        echo '```'
        echo "# GET /healthz: the gateway's admin port, then nginx, in each of the $(val gateway healthz_rounds) rounds (order alternating)"
        line gateway healthz_gw_cmd
        line gateway healthz_nginx_cmd
        echo "# GET /v1/version on the API port"
        line gateway version_cmd
        echo "# POST /v1/embeddings at $(val gateway wrk_connections) connections, then the memory run"
        line gateway gw64_cmd
        line gateway mem_cmd
        echo '```'
        echo
        gateway_ab_render "BENCH_BASELINE=${BENCH_BASELINE:-HEAD~1} make bench"
        echo "## Embedding models"
        echo
        echo "### Lexical model"
        echo
        echo "One thread, 384 dimensions, 10-word sentences: **$(val lexical lexical_embeddings_per_sec) embeddings/s**"
        echo "(target ≥ 100,000: $(verdict "$(val lexical lexical_embeddings_per_sec)" ">=" 100000))."
        echo
        echo '```'
        cat "$tmp/lexical"
        echo '```'
        echo
        bert_render "make bench"
        echo "## Memory"
        echo
        echo "| measure | value | target |"
        echo "|---|---|---|"
        idle=$(val roundtrip embedding_idle_rss_kib)
        echo "| resident memory of an idle \`cairn-embedding\` | $((idle / 1024)) MiB ($idle KiB) | ≤ 20 MiB ($(verdict "$idle" "<=" 20480)) |"
        echo "| resident memory after the load above | $(( $(val roundtrip embedding_rss_after_load_kib) / 1024 )) MiB | — |"
        echo
        memory_render "make bench"
        secrets_render "make bench"
        translation_render "make bench"
        translation_detect_render "make bench"
        speech_render "make bench"
        workflow_render "make bench"
        image_render "make bench"
} >"$out"
echo "bench: wrote $out"
