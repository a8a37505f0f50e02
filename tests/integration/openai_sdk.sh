#!/usr/bin/env bash
# Runs tests/integration/openai_sdk.py with the official openai package,
# installed once from PyPI into a cached venv (.cache/openai-venv).
# Exits 77 (skip) with a loud line when PyPI cannot be reached.
#   openai_sdk.sh BASE_URL API_KEY
set -uo pipefail
ROOT=${TESTS_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VENV=$ROOT/.cache/openai-venv
if [[ ! -x $VENV/bin/python || ! -f $VENV/.installed ]]; then
        rm -rf "$VENV"
        mkdir -p "$ROOT/.cache"
        if ! python3 -m venv "$VENV" >/dev/null 2>&1 ||
                ! timeout 180 "$VENV/bin/pip" install -q --disable-pip-version-check openai >"$ROOT/.cache/openai-venv.log" 2>&1; then
                echo "!!!! SKIPPED: the OpenAI SDK test: cannot install openai from PyPI (see .cache/openai-venv.log) !!!!"
                rm -rf "$VENV"
                exit 77
        fi
        touch "$VENV/.installed"
fi
exec "$VENV/bin/python" "$ROOT/tests/integration/openai_sdk.py" "$@"
