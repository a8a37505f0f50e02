#!/usr/bin/env bash
# Runs a Python test client in a venv built once from tests/clients/NAME.txt
# (pinned versions and hashes, installed from PyPI by name) and cached outside
# the checkout, keyed by that file's hash, so every clone reuses it.
#   venv.sh NAME SCRIPT [ARGS...]
# Without a reachable registry it exits 77 (skip) with a loud line; under
# CI=true, where the registries are always reachable, it fails instead.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
name=${1:?usage: venv.sh NAME SCRIPT [ARGS...]}
shift
reqs=$ROOT/tests/clients/$name.txt
[[ -s $reqs ]] || { echo "venv: no $reqs" >&2; exit 2; }
CACHE=${CAIRN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cairn}
VENV=$CACHE/venv/$name-$(sha256sum "$reqs" | cut -c1-16)

fail() {
        if [[ ${CI:-} == true ]]; then
                echo "venv: FAILED: $* (CI=true: the registries must be reachable here)" >&2
                exit 1
        fi
        echo "!!!! SKIPPED: the $name client test: $* !!!!"
        exit 77
}

if [[ ! -f $VENV/.installed ]]; then
        mkdir -p "$CACHE/venv"
        exec 9>"$CACHE/venv/.lock"
        flock 9 # test runs in parallel share the cache
        if [[ ! -f $VENV/.installed ]]; then
                rm -rf "$VENV"
                # Debian's python3 (python3-venv, installed by deploy/deps.sh)
                /usr/bin/python3 -m venv "$VENV" >"$VENV.log" 2>&1 ||
                        fail "python3 -m venv failed (is python3-venv installed? see $VENV.log)"
                timeout 300 "$VENV/bin/pip" install -q --disable-pip-version-check \
                        --require-hashes --only-binary=:all: -r "$reqs" >>"$VENV.log" 2>&1 ||
                        { rm -rf "$VENV"; fail "cannot install $reqs from PyPI (see $VENV.log)"; }
                touch "$VENV/.installed"
        fi
        exec 9>&-
fi
exec "$VENV/bin/python" "$@"
