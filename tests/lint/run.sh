#!/usr/bin/env bash
# make lint: every .c, .cc and .h of ours, tracked or new (never build/), must be
# formatted as .clang-format says and pass cppcheck with the project's
# include paths. Prints what is wrong and exits 1; silent and 0 when clean.
#   tests/lint/run.sh
# Fix formatting with: clang-format -i FILE. A cppcheck false positive is
# suppressed where it is reported, with the reason:
#   /* cppcheck-suppress memleak ; the list owns it */
set -uo pipefail
cd "$(dirname "$0")/../.."

# Every .c and .h of the tree but build output and the run directory (no
# git needed: a checkout may come without it).
files=()
while IFS= read -r f; do
        files+=("${f#./}")
done < <(find . \( -path ./build -o -path ./run -o -path ./.git \) -prune -o \
        -type f \( -name '*.c' -o -name '*.cc' -o -name '*.h' \) -print | sort)
((${#files[@]})) || { echo "lint: no C sources found" >&2; exit 1; }
sources=()
cxx_sources=()
for f in "${files[@]}"; do
        [[ $f == *.c ]] && sources+=("$f")
        [[ $f == *.cc ]] && cxx_sources+=("$f")
done

status=0
# One line per file that differs, with where the first difference is.
bad=$(clang-format --dry-run "${files[@]}" 2>&1 | grep -o '^[^ ]*:[0-9]*:[0-9]*: ' | sort -t: -k1,1 -u)
if [[ -n $bad ]]; then
        sed 's/: $/: not formatted as .clang-format says/' <<<"$bad" >&2
        echo "lint: clang-format -i FILE fixes the formatting" >&2
        status=1
fi

# Left out: variableScope, since declarations open their block in this code;
# unreadVariable in tests/, since cppcheck 2.10 does not see a protobuf-c
# message read through &msg.base, which is how every test builds a request.
# No system include paths: cppcheck reads what it needs of them from
# tests/lint/cppcheck.cfg, and stays fast.
if ! cppcheck --quiet --error-exitcode=1 --std=c11 --platform=unix64 --inline-suppr \
        --enable=warning,style,performance,portability \
        --suppress=variableScope --suppress='unreadVariable:tests/*' \
        --library=tests/lint/cppcheck.cfg -j "$(nproc)" \
        -Icommon/include -Icommon/src -Iservices -Ideploy/admin -Itests/integration -Itests/unit \
        -DCAIRN_VERSION='"0.0.0"' "${sources[@]}"; then
        echo "lint: cppcheck found problems (see above)" >&2
        status=1
fi
# The few C++ files (a C interface over a C++ library) on their own.
if ((${#cxx_sources[@]})) && ! cppcheck --quiet --error-exitcode=1 --std=c++17 --language=c++ \
        --platform=unix64 --inline-suppr --enable=warning,style,performance,portability \
        --suppress=missingIncludeSystem -Iservices "${cxx_sources[@]}"; then
        echo "lint: cppcheck found problems in C++ (see above)" >&2
        status=1
fi
exit $status
