#!/usr/bin/env bash
# Makes sure podman's local storage has debian:bookworm-slim, the image
# deploy/Dockerfile starts from, without a registry: it is bootstrapped once
# from Debian's own packages (debootstrap --variant=minbase), trimmed the way
# the official slim image is (no manuals, docs or locales), and the result is
# kept as a tarball in the cache outside the checkout, so every clone and CI
# run imports it in seconds. Where a registry is reachable, pulling
# debian:bookworm-slim instead gives the same Dockerfile the official image.
#   deploy/image/base.sh      import (bootstrapping first when not cached)
# Needs root (debootstrap, podman's storage).
set -euo pipefail
# shellcheck source=deploy/image/env.sh
. "$(dirname "$0")/env.sh"

CACHE=${CAIRN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cairn}
TARBALL=$CACHE/image/bookworm-slim.tar
MIRROR=${CAIRN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
NAME=docker.io/library/debian:bookworm-slim

log() { printf 'image: %s\n' "$*" >&2; }

if "${PODMAN[@]}" image exists "$NAME"; then
        exit 0
fi

mkdir -p "$CACHE/image"
exec 9>"$CACHE/image/.lock"
flock 9
if [[ ! -s $TARBALL ]]; then
        root=$(mktemp -d "$CACHE/image/root.XXXXXX")
        trap 'rm -rf --one-file-system "$root"' EXIT
        log "bootstrapping Debian 12 (bookworm, minbase) from $MIRROR once; cached in $TARBALL"
        debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$CACHE/image/debootstrap.log" 2>&1 ||
                { log "debootstrap failed: see $CACHE/image/debootstrap.log"; exit 1; }
        # What the official slim variant leaves out, now and in every later
        # install: documentation (but the copyright files), manuals,
        # translations; and the caches apt rebuilds anyway, and the packages
        # debootstrap downloaded (32 MB).
        cat >"$root/etc/dpkg/dpkg.cfg.d/slim" <<'EOF2'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EOF2
        find "$root/usr/share/doc" -type f ! -name copyright -delete
        find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
        rm -rf "$root"/usr/share/{man,info,lintian}/* "$root"/var/cache/apt/*.bin \
                "$root"/var/cache/apt/archives/*.deb \
                "$root"/var/lib/apt/lists/* "$root"/var/log/*.log \
                "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old
        find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
        chmod 0755 "$root" # mktemp's 0700 would become the image's /
        tar -C "$root" --numeric-owner -cf "$TARBALL.tmp" .
        mv "$TARBALL.tmp" "$TARBALL"
fi
"${PODMAN[@]}" import --quiet "$TARBALL" "$NAME" >/dev/null
log "imported $NAME from $TARBALL"
