#!/usr/bin/env bash
# make coverage: runs the unit suites and the dev-broker integration pass on
# the gcov build (make COV=1 builds it into build/cov), then reports line,
# function and branch coverage of our own sources with lcov: per file, per
# module (common/, each services/NAME/, each deploy/NAME/) and for the whole,
# as HTML (OUT_DIR/index.html) and as text (OUT_DIR/files.txt, and the
# summary lines printed at the end). Generated code, tests/ and system
# headers are left out of the figures. Exits 1 when a suite failed, after
# the report. docs/quality.md has the figures and the targets.
#   tests/coverage.sh BUILD_DIR OUT_DIR [unit|integration]...
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

BUILD=${1:?usage: tests/coverage.sh BUILD_DIR OUT_DIR [unit|integration]...}
OUT=${2:?usage: tests/coverage.sh BUILD_DIR OUT_DIR [unit|integration]...}
shift 2
parts=("$@")
# (and no test secret in their logs, as make test checks)
((${#parts[@]})) || parts=(unit integration secrets)
ROOT=$PWD
LCOV_RC=(--rc lcov_branch_coverage=1)
start=$(date +%s)

# Counters start at zero: a .gcda left by an earlier run would add to them.
find "$BUILD/obj" -name '*.gcda' -delete
rm -rf "$OUT"
mkdir -p "$OUT"

# Service processes write their counters when they exit (SIGTERM goes
# through exit; one killed with SIGKILL, or ending in _exit, writes
# nothing); gcov merges the counts of processes that share a file under a
# lock, so services running side by side add up.
# TESTS_COVERAGE: tests that add no line of their own here leave themselves out
# (its log is kept: a failure is named again after the report)
TESTS_COVERAGE=1 tests/run.sh "$BUILD" "${parts[@]}" 2>&1 | tee "$OUT/tests.log"
tests_status=${PIPESTATUS[0]}
tests_end=$(date +%s)

# Every instrumented file counts, run or not (--initial gives the files no
# process loaded their lines at zero), then ours only: common/, services/,
# deploy/; not build/*/gen (*.pb-c.c), not tests/, not /usr/include.
echo "coverage: reading the counters"
lcov_run() { lcov --quiet "${LCOV_RC[@]}" "$@" 2>>"$OUT/lcov.log"; }
if ! { lcov_run --capture --initial --directory "$BUILD/obj" --output-file "$OUT/base.info" &&
        lcov_run --capture --directory "$BUILD/obj" --output-file "$OUT/run.info" &&
        lcov_run --add-tracefile "$OUT/base.info" --add-tracefile "$OUT/run.info" \
                --output-file "$OUT/all.info" &&
        lcov_run --extract "$OUT/all.info" "$ROOT/common/*" "$ROOT/services/*" "$ROOT/deploy/*" \
                --output-file "$OUT/ours.info" &&
        lcov_run --remove "$OUT/ours.info" '*.pb-c.c' '*.pb-c.h' --output-file "$OUT/coverage.info"; }; then
        cat "$OUT/lcov.log" >&2
        echo "coverage: lcov failed (log above, in $OUT/lcov.log)" >&2
        exit 1
fi
rm -f "$OUT/base.info" "$OUT/run.info" "$OUT/all.info" "$OUT/ours.info"

genhtml --quiet "${LCOV_RC[@]}" --branch-coverage --prefix "$ROOT" --title "Cairn" \
        --legend --output-directory "$OUT" "$OUT/coverage.info" >>"$OUT/lcov.log" 2>&1 || {
        cat "$OUT/lcov.log" >&2
        echo "coverage: genhtml failed" >&2
        exit 1
}

# Per file, then per module and for the whole, from the tracefile's own
# counts (LF/LH lines, FNF/FNH functions, BRF/BRH branches). Percentages
# are rounded down, so 100.0% means everything.
awk -v root="$ROOT/" -v files="$OUT/files.txt" '
function pct(hit, found) {
        return found ? sprintf("%.1f%%", int(hit * 1000 / found) / 10) : "n/a"
}
function figures(k) {
        return sprintf("lines %s, functions %s, branches %s",
                       pct(lh[k], lf[k]), pct(fnh[k], fnf[k]), pct(brh[k], brf[k]))
}
function add(k, i) {
        lf[k] += n["LF"]; lh[k] += n["LH"]; fnf[k] += n["FNF"]; fnh[k] += n["FNH"]
        brf[k] += n["BRF"]; brh[k] += n["BRH"]
}
/^SF:/ { file = substr($0, 4); sub("^" root, "", file); split("", n) }
/^(LF|LH|FNF|FNH|BRF|BRH):/ { split($0, kv, ":"); n[kv[1]] = kv[2] }
/^end_of_record/ {
        split(file, part, "/")
        module = part[1] "/"
        if (part[1] == "services" || part[1] == "deploy")
                module = module part[2] "/"
        add(file); add(module); add("")
        order[++nfiles] = file; seen[module]++
}
END {
        printf("%-44s %-26s %-26s %s\n", "file", "lines", "functions", "branches") >files
        for (i = 1; i <= nfiles; i++) {
                f = order[i]
                printf("%-44s %6s %9s  %6s %9s  %6s %9s\n", f,
                       pct(lh[f], lf[f]), lh[f] "/" lf[f], pct(fnh[f], fnf[f]), fnh[f] "/" fnf[f],
                       pct(brh[f], brf[f]), brh[f] "/" brf[f]) >files
        }
        m = "common/"
        if (m in seen)
                print "coverage " m ": " figures(m)
        for (m in seen)
                if (m != "common/")
                        mods[++nmods] = m
        # the services, then the tools, each in name order
        for (i = 2; i <= nmods; i++)
                for (j = i; j > 1 && mods[j - 1] > mods[j]; j--) {
                        t = mods[j]; mods[j] = mods[j - 1]; mods[j - 1] = t
                }
        for (i = 1; i <= nmods; i++)
                if (mods[i] ~ /^services\//)
                        print "coverage " mods[i] ": " figures(mods[i])
        for (i = 1; i <= nmods; i++)
                if (mods[i] !~ /^services\//)
                        print "coverage " mods[i] ": " figures(mods[i])
        print "coverage: " figures("")
}' "$OUT/coverage.info" >"$OUT/summary.txt"

end=$(date +%s)

echo
cat "$OUT/files.txt"
echo
echo "per file: $OUT/files.txt; HTML: $OUT/index.html; tracefile: $OUT/coverage.info"
echo "tests $((tests_end - start)) s, report $((end - tests_end)) s"
cat "$OUT/summary.txt"
if ((tests_status != 0)); then
        # the failed checks and tests again, where a truncated log still shows them
        grep -E '^[^ ]+:[0-9]+:[EF]:|^failed: ' "$OUT/tests.log" | tail -n 40 >&2
        echo "coverage: a suite failed (above; whole log in $OUT/tests.log); the figures count what ran" >&2
        exit 1
fi
