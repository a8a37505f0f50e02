#!/usr/bin/env bash
# Runs the test suites: unit (check, no I/O), then integration (a dev broker
# and service processes of their own, on 127.0.0.1, and one PostgreSQL the
# run's tests share, each in databases of its own), then the same
# integration tests on one Apache Kafka broker shared by the pass (plus the
# tests named NNNN-apache_*, which need a real broker), then the
# generated-docs check. Prints each suite's check summary and a total at the
# end. Without Java or Maven the Apache pass is skipped, loudly (under
# CI=true it fails instead).
#   tests/run.sh BUILD_DIR [unit|integration|apache|docs]...
set -uo pipefail

BUILD=${1:?usage: tests/run.sh BUILD_DIR [unit|integration|apache|docs]...}
shift
parts=("$@")
((${#parts[@]})) || parts=(unit integration apache sanitizers secrets docs)

export TESTS_ROOT=$PWD TESTS_BUILD=$BUILD
export CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-60}
# Logs and data of the processes the tests start stay here until the next run.
case $BUILD in
/*) TMPDIR=$BUILD/test-tmp ;;
*) TMPDIR=$PWD/$BUILD/test-tmp ;;
esac
export TMPDIR
rm -rf "$TMPDIR"
mkdir -p "$TMPDIR"
passed=0
failed=0
failures=()

# Servers to stop however the run ends: the Apache broker of its pass, the
# shared PostgreSQL.
kafka_dir=
pg_state=
finish() {
        [[ -n $kafka_dir ]] && deploy/kafka/apache.sh stop "$kafka_dir"
        [[ -n $pg_state ]] && deploy/dev/pg.sh stop "$pg_state"
        return 0
}
trap finish EXIT

# Starts the PostgreSQL the integration tests share (both passes), once,
# and exports TESTS_PG_URL; harness_pg_database() gives each test databases
# of its own on it. Without it a test starts a server of its own.
pg_shared() {
        local state=$BUILD/pg port
        [[ -n $pg_state ]] && return 0
        for _ in 1 2 3; do
                port=$((20000 + RANDOM % 12000)) # below the ephemeral range
                # something answers there: try another
                (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
                if deploy/dev/pg.sh start "$state" "$port" fast; then
                        pg_state=$state
                        TESTS_PG_URL=$(deploy/dev/pg.sh url "$state")
                        export TESTS_PG_URL
                        return 0
                fi
        done
        failed=$((failed + 1))
        failures+=("the shared PostgreSQL did not start (deploy/dev/pg.sh start $state)")
        return 1
}

# Counts one result and prints its line.
record() { # name exit-status milliseconds
        local name=$1 rc=$2 ms=$3
        if ((rc == 0)); then
                passed=$((passed + 1))
                status=ok
        else
                failed=$((failed + 1))
                failures+=("$name")
                status=FAILED
        fi
        printf '== %s: %s (%d.%01ds)\n' "$name" "$status" $((ms / 1000)) $((ms % 1000 / 100))
}

run() { # name command...
        local name=$1 start rc=0
        shift
        start=$(date +%s%N)
        "$@" || rc=$?
        record "$name" "$rc" $((($(date +%s%N) - start) / 1000000))
}

# Tests that take the shared broker down (harness_broker_down) or restart
# it: they run alone, after the others, since their neighbours would fail.
SOLO='0003-shutdown_readiness 0010-gateway_http 0101-apache_broker_restart'
# Integration tests at once: each has its own processes, topics, groups and
# databases, and spends most of its time waiting on them (three at a time
# on 2 cores: a pass in 70% of the time two at a time take).
JOBS=${TESTS_JOBS:-3}

# One test in the background: its output to OUT, "ok"/"FAILED" and the time
# to OUT.status.
run_job() { # out test
        local out=$1 start end rc
        shift
        start=$(date +%s%N)
        "$@" >"$out" 2>&1
        rc=$?
        end=$(date +%s%N)
        echo "$rc $(((end - start) / 1000000))" >"$out.status"
}

# Reports the jobs that have finished, in the order they finished.
collect() { # dir
        local f name rc ms
        for f in "$1"/*.status; do
                [[ -e $f ]] || continue
                name=$(basename "$f" .status)
                read -r rc ms <"$f"
                cat "$1/$name"
                record "$prefix/$name" "$rc" "$ms"
                rm -f "$f" "$1/$name"
        done
}

# Runs integration tests, JOBS at a time, then those of SOLO one by one.
# TESTS_KAFKA_DIR set: the Apache broker is restarted before a solo test if
# the one before left it down.
run_parallel() { # prefix test...
        prefix=$1
        shift
        local dir=$TMPDIR/jobs-$prefix t name running=0 solo=()
        mkdir -p "$dir"
        for t in "$@"; do
                name=$(basename "$t")
                if [[ " $SOLO " == *" $name "* ]]; then
                        solo+=("$t")
                        continue
                fi
                while ((running >= JOBS)); do
                        wait -n
                        running=$((running - 1))
                        collect "$dir"
                done
                run_job "$dir/$name" "$t" &
                running=$((running + 1))
        done
        wait
        collect "$dir"
        for t in "${solo[@]}"; do
                if [[ -n ${TESTS_KAFKA_DIR:-} ]]; then
                        [[ -s $TESTS_KAFKA_DIR/pid ]] && kill -0 "$(cat "$TESTS_KAFKA_DIR/pid")" 2>/dev/null ||
                                deploy/kafka/apache.sh restart "$TESTS_KAFKA_DIR"
                fi
                run "$prefix/$(basename "$t")" "$t"
        done
}

for part in "${parts[@]}"; do
        case $part in
        unit)
                # CPU-bound, no shared state: one per core
                tests=()
                for t in "$BUILD"/tests/unit/*; do
                        [[ -x $t ]] && tests+=("$t")
                done
                JOBS=${TESTS_UNIT_JOBS:-$(nproc)} run_parallel unit "${tests[@]}"
                ;;
        integration)
                pg_shared
                tests=()
                for t in "$BUILD"/tests/integration/[0-9]*; do
                        [[ $t == *-apache_* ]] && continue # real broker only
                        [[ -x $t ]] && tests+=("$t")
                done
                run_parallel integration "${tests[@]}"
                ;;
        apache)
                pass_start=$(date +%s%N)
                if ! why=$(deploy/kafka/apache.sh check); then
                        if [[ ${CI:-} == true ]]; then # CI installs Java and Maven: never skip there
                                failed=$((failed + 1))
                                failures+=("apache pass: $why")
                                continue
                        fi
                        echo "######################################################################"
                        echo "## SKIPPED: the Apache Kafka pass of the integration tests: $why"
                        echo "######################################################################"
                        continue
                fi
                # Outside $TMPDIR: the broker's segment files (*.log) hold the
                # tests' messages, secrets included, which the log checks would flag.
                kdir=$BUILD/apache-kafka
                rm -rf "$kdir"
                mkdir -p "$kdir"
                if ! deploy/kafka/apache.sh start "$kdir"; then
                        failed=$((failed + 1))
                        failures+=("apache/broker start (logs in $kdir)")
                        continue
                fi
                kafka_dir=$kdir
                pg_shared
                tests=()
                for t in "$BUILD"/tests/integration/[0-9]*; do
                        [[ -x $t ]] && tests+=("$t")
                done
                export TESTS_KAFKA=apache TESTS_KAFKA_DIR=$kdir
                run_parallel apache "${tests[@]}"
                unset TESTS_KAFKA TESTS_KAFKA_DIR
                deploy/kafka/apache.sh stop "$kdir"
                kafka_dir=
                ms=$((($(date +%s%N) - pass_start) / 1000000))
                printf '== apache pass, broker start and stop included: %d.%01ds\n' \
                        $((ms / 1000)) $((ms % 1000 / 100))
                ;;
        sanitizers)
                # Services started by the tests write sanitizer reports to their logs.
                run "sanitizer reports in service logs" \
                        bash -c '! grep -rlE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$TMPDIR"'
                ;;
        secrets)
                # Secrets the tests hand to services (tests/integration/secrets.list,
                # one per line) must appear in no log of the run.
                run "no test secret in any log of the run" \
                        bash -c '! grep -rlF --include="*.log" -f tests/integration/secrets.list "$TMPDIR"'
                ;;
        docs)
                run "docs/config.md" tests/docs.sh "$BUILD" check
                ;;
        *)
                echo "unknown part $part" >&2
                exit 2
                ;;
        esac
done

echo
echo "$passed passed, $failed failed"
((failed == 0)) || { printf 'failed: %s\n' "${failures[@]}"; exit 1; }
