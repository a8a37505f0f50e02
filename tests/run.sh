#!/usr/bin/env bash
# Runs the test suites: unit (check, no I/O), then integration (a dev broker
# and service processes of their own, on 127.0.0.1), then the generated-docs
# check. Prints each suite's check summary and a total at the end.
#   tests/run.sh BUILD_DIR [unit|integration|docs]...
set -uo pipefail

BUILD=${1:?usage: tests/run.sh BUILD_DIR [unit|integration|docs]...}
shift
parts=("$@")
((${#parts[@]})) || parts=(unit integration docs)

export TESTS_ROOT=$PWD TESTS_BUILD=$BUILD
export CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-60}
passed=0
failed=0
failures=()

run() { # name command...
        local name=$1 start end
        shift
        start=$(date +%s%N)
        if "$@"; then
                passed=$((passed + 1))
                status=ok
        else
                failed=$((failed + 1))
                failures+=("$name")
                status=FAILED
        fi
        end=$(date +%s%N)
        local ms=$(((end - start) / 1000000))
        printf '== %s: %s (%d.%01ds)\n' "$name" "$status" $((ms / 1000)) $((ms % 1000 / 100))
}

for part in "${parts[@]}"; do
        case $part in
        unit)
                for t in "$BUILD"/tests/unit/*; do
                        [[ -x $t ]] && run "unit/$(basename "$t")" "$t"
                done
                ;;
        integration)
                for t in "$BUILD"/tests/integration/[0-9]*; do
                        [[ -x $t ]] && run "integration/$(basename "$t")" "$t"
                done
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
