#!/usr/bin/env bash
# Builds the container image cairn:<version> from deploy/Dockerfile with
# podman, which needs no Docker engine (chroot isolation, vfs storage: what
# works as root in a plain VM or container), then prints its size and how
# long the build took. The base image comes from deploy/image/base.sh, the
# models (all-MiniLM-L6-v2, whisper-tiny.en) from deploy/models.sh (all cached
# outside the checkout).
#   deploy/image/build.sh            build (from the base image every time)
# Environment: IMAGE (default cairn:<Makefile VERSION>).
set -euo pipefail
# shellcheck source=deploy/image/env.sh
. "$(dirname "$0")/env.sh"

deploy/image/base.sh
models=$(deploy/models.sh path | tail -n 1)
whisper=$(deploy/models.sh path whisper-tiny.en | tail -n 1)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || revision="$revision-dirty"
source=$(git config --get remote.origin.url 2>/dev/null || echo unknown)
previous=$("${PODMAN[@]}" image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null) || previous=

start=$(date +%s)
# --layers=false: each stage is built in one container and committed once.
# With a layer per step, on vfs each was a full copy of the stage's tree and
# each step's container stayed until the end: the build peaked at 16 GB and
# left 6 GB of cache. So it peaks at about 1.8 GB (the build stage's
# container and its commit, whose blob passes through /var/tmp), leaves the
# image and its base (about 470 MB), and takes about a minute instead of
# three; nothing is cached, so a build again takes as long.
# --format docker: the OCI format has no HEALTHCHECK. --force-rm: a failed
# build leaves no container behind either.
"${PODMAN[@]}" build --isolation chroot --format docker --layers=false --force-rm \
        -f deploy/Dockerfile -t "$IMAGE" \
        --build-context "models=$models" --build-context "whisper=$whisper" \
        --build-arg "VERSION=$VERSION" --build-arg "REVISION=$revision" \
        --build-arg "SOURCE=$source" \
        --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
        .
seconds=$(($(date +%s) - start))
# The image the name had before is left nameless, and nothing reuses it
# (kept when it has another name, or a container).
current=$("${PODMAN[@]}" image inspect --format '{{.Id}}' "$IMAGE")
if [[ -n $previous && $previous != "$current" ]]; then
        "${PODMAN[@]}" rmi "$previous" >/dev/null 2>&1 || true
fi
bytes=$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$IMAGE")
printf 'image: %s built in %d s, %d MB (%d bytes uncompressed)\n' \
        "$IMAGE" "$seconds" $((bytes / 1000000)) "$bytes"
