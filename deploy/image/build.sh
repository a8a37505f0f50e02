#!/usr/bin/env bash
# Builds the container image cairn:<version> from deploy/Dockerfile with
# podman, which needs no Docker engine (chroot isolation, vfs storage: what
# works as root in a plain VM or container), then prints its size and how
# long the build took. The base image comes from deploy/image/base.sh, the
# embedding model from deploy/models.sh (both cached outside the checkout).
#   deploy/image/build.sh            build (layers cached by podman between runs)
# Environment: IMAGE (default cairn:<Makefile VERSION>); CAIRN_IMAGE_NO_CACHE=1
# builds every layer again (make bench measures a cold build so).
set -euo pipefail
# shellcheck source=deploy/image/env.sh
. "$(dirname "$0")/env.sh"
PODMAN=(podman --storage-driver vfs)

deploy/image/base.sh
models=$(deploy/models.sh path | tail -n 1)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || revision="$revision-dirty"
source=$(git config --get remote.origin.url 2>/dev/null || echo unknown)

start=$(date +%s)
# --format docker: the OCI format has no HEALTHCHECK
cache=(--layers)
[[ ${CAIRN_IMAGE_NO_CACHE:-} == 1 ]] && cache=(--no-cache)
"${PODMAN[@]}" build --isolation chroot --format docker "${cache[@]}" \
        -f deploy/Dockerfile -t "$IMAGE" \
        --build-context "models=$models" \
        --build-arg "VERSION=$VERSION" --build-arg "REVISION=$revision" \
        --build-arg "SOURCE=$source" \
        --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
        .
seconds=$(($(date +%s) - start))
bytes=$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$IMAGE")
printf 'image: %s built in %d s, %d MB (%d bytes uncompressed)\n' \
        "$IMAGE" "$seconds" $((bytes / 1000000)) "$bytes"
