#!/usr/bin/env bash
# Prints the Debian packages that hold the shared libraries the given
# binaries load, one per line: what an image's runtime stage installs, and
# nothing it does not need.
#   runtime-packages.sh BINARY...
set -euo pipefail
(($#)) || { echo "usage: runtime-packages.sh BINARY..." >&2; exit 2; }
ldd "$@" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u |
        while read -r lib; do
                # alternatives (libopenblas.so.0) resolve to the real file first
                real=$(readlink -f "$lib")
                dpkg -S "$real" 2>/dev/null || dpkg -S "$lib" 2>/dev/null ||
                        { echo "runtime-packages: no package owns $lib" >&2; exit 1; }
        done | cut -d: -f1 | sort -u
