# shellcheck shell=bash disable=SC2034 # sourced: PODMAN and BUILDAH are for its callers
# What the scripts that use the image storage share (deploy/image/base.sh,
# build.sh, tests/deploy/image.sh; sourced first): they run from the
# checkout's root, name the image IMAGE (default cairn:<Makefile VERSION>),
# use one storage driver (PODMAN and BUILDAH, below), and run where podman
# can apply a layer. Inside a chroot whose root is not a mount point (a
# freshly bootstrapped build root, say), podman cannot apply a layer, since
# it makes "/" a private mount first ("remount /, flags: 0x44000: invalid
# argument"). There the calling script runs again in a mount namespace of
# its own whose root is a bind mount of the chroot; the namespace, and the
# mount with it, ends with the script. Elsewhere this does nothing.
if [[ -z ${CAIRN_IMAGE_MOUNTNS:-} ]] && ! mountpoint -q /; then
        mkdir -p /run/cairn-root
        export CAIRN_IMAGE_MOUNTNS=1
        exec unshare --mount --propagation unchanged sh -c \
                'mount --rbind / /run/cairn-root && exec chroot /run/cairn-root sh -c "cd \"\$0\" && exec \"\$@\"" "$@"' \
                sh "$PWD" bash "$0" "$@"
fi
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
VERSION=$(sed -n 's/^VERSION *:= *//p' Makefile)
IMAGE=${IMAGE:-cairn:$VERSION}

# vfs storage, for every podman and buildah command: it works wherever root
# does. overlay keeps a layer as a diff, but podman cannot use it on
# overlayfs, and keeps to the driver a storage was first used with; without a
# layer per step (build.sh) it saved little here (a build peaked at 1.5 GB on
# overlay, 1.8 GB on vfs).
PODMAN=(podman --storage-driver vfs)
BUILDAH=(buildah --storage-driver vfs)
