#!/usr/bin/env bash
# Checks the Prometheus alerting rules and the Grafana dashboards of
# helm/cairn/files: promtool's own check of the rules, their unit tests
# (tests/deploy/alerts.test.yaml), then tests/deploy/rules.py: metric names
# against the code, runbook anchors against docs/operations.md, dashboards'
# JSON and PromQL. Takes a few seconds; needs promtool (Debian's
# `prometheus` package, or PROMTOOL=path) and python3.
#   tests/deploy/rules.sh
set -uo pipefail
cd "$(dirname "$0")/../.."

PROMTOOL=${PROMTOOL:-promtool}
RULES=helm/cairn/files/alerts.yaml
TESTS=tests/deploy/alerts.test.yaml
passed=0
failed=0

if ! command -v "$PROMTOOL" >/dev/null; then
        echo "tests/deploy/rules.sh: $PROMTOOL not found (apt-get install prometheus, or set PROMTOOL)" >&2
        exit 2
fi
command -v python3 >/dev/null || { echo "tests/deploy/rules.sh: python3 not found" >&2; exit 2; }

# One check: its name, then the command. Output is shown only on failure.
run() {
        local what=$1 out
        shift
        if out=$("$@" 2>&1); then
                echo "ok - $what"
                passed=$((passed + 1))
        else
                echo "not ok - $what"
                printf '%s\n' "$out" | sed 's/^/    /'
                failed=$((failed + 1))
        fi
}

run "promtool check rules $RULES" "$PROMTOOL" check rules "$RULES"
run "promtool test rules $TESTS" "$PROMTOOL" test rules "$TESTS"

count=$("$PROMTOOL" check rules "$RULES" 2>/dev/null | sed -n 's/.*SUCCESS: \([0-9]*\) rules found.*/\1/p')
if [[ -z $count ]]; then
        echo "not ok - rules.py: promtool did not count the rules of $RULES"
        failed=$((failed + 1))
else
        while IFS= read -r line; do
                printf '%s\n' "$line"
                case $line in
                ok\ -*) passed=$((passed + 1)) ;;
                not\ ok\ -*) failed=$((failed + 1)) ;;
                esac
        done < <(python3 tests/deploy/rules.py "$PROMTOOL" "$count" 2>&1)
fi

echo "$passed passed, $failed failed"
((failed == 0 && passed > 0))
