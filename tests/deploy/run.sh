#!/usr/bin/env bash
# make deploy-check: compose.yaml, the Helm chart, and the alert rules and
# dashboards, each checked offline (tools from Debian and the registries,
# cached outside the checkout); prints each part's summary and a total.
#   tests/deploy/run.sh BUILD_DIR
set -uo pipefail
BUILD=${1:?usage: tests/deploy/run.sh BUILD_DIR}
cd "$(dirname "$0")/../.."

passed=0
failed=0
bad=()
part() { # name command...
        local name=$1 out rc
        shift
        printf '== %s\n' "$name"
        out=$("$@" 2>&1)
        rc=$?
        printf '%s\n' "$out" | grep -v '^ok ' # the failures and the summary
        read -r p f < <(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' | tail -n 1)
        if ((rc == 77)); then # its tools cannot be fetched here (never under CI=true)
                echo "!!!! SKIPPED: $name !!!!"
                return
        fi
        passed=$((passed + ${p:-0}))
        failed=$((failed + ${f:-0}))
        if ((rc != 0)) || [[ -z ${p:-} ]]; then
                bad+=("$name")
                [[ -z ${f:-} || $f == 0 ]] && failed=$((failed + 1)) # failed without a count
        fi
}

part compose python3 tests/deploy/compose.py "$BUILD"
part rules tests/deploy/rules.sh
part chart tests/deploy/chart.sh "$BUILD"

echo "deploy-check: $passed passed, $failed failed${bad[*]:+ (${bad[*]})}"
((${#bad[@]} == 0))
