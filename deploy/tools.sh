#!/usr/bin/env bash
# Tools the deploy checks run (tests/deploy/chart.sh), fetched once by name
# from the Go module proxy, checked, built and kept in the cache outside the
# checkout (${XDG_CACHE_HOME:-~/.cache}/cairn/tools/, or $CAIRN_CACHE_DIR/tools/),
# so every clone and CI run reuses them.
#   tools.sh helm   print the path of the helm binary, building it first when missing
#   tools.sh go     print the path of the Go toolchain's go binary, fetching it when missing
#   tools.sh check  exit 0 when helm is cached, else say so and exit 1
# Helm is built from source with `go install` by a Go toolchain that comes
# from the same proxy, as the module golang.org/toolchain (the zip the go
# command itself downloads for GOTOOLCHAIN), its sha256 pinned here: a fresh
# Debian has no Go, and the machine's Go, when there is one, is never used.
# The helm module and its dependencies are checked by the go command against
# helm's go.sum and the checksum database (reached through the proxy).
# Exit status: 0; 1 for a wrong checksum or a failed build; 75 when the proxy
# cannot be reached and nothing is cached (callers that may skip, such as the
# tests outside CI, tell that case apart).
set -euo pipefail

CACHE=${CAIRN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cairn}
TOOLS=$CACHE/tools
# The first proxy of GOPROXY (a list); "direct" and "off" are no proxy.
PROXY=${GOPROXY:-https://proxy.golang.org}
PROXY=${PROXY%%,*}
PROXY=${PROXY%%|*}
PROXY=${PROXY%/}

GO_VERSION=1.26.8
GO_SHA256=30c2b1bf7dcc88d3eb0a1364e47ddd9128edb3110a30e8a0ef61cd5856b31de7
GO_MODULE=v0.0.1-go$GO_VERSION.linux-amd64
GOROOT_DIR=$TOOLS/go$GO_VERSION
HELM_VERSION=v4.3.2
HELM_DIR=$TOOLS/helm-$HELM_VERSION

log() { printf 'tools: %s\n' "$*" >&2; }
die() { printf 'tools: %s\n' "$1" >&2; exit "${2:-1}"; }

go_cached() { [[ -f $GOROOT_DIR/.complete ]]; }
helm_cached() { [[ -x $HELM_DIR/helm && -f $HELM_DIR/.complete ]]; }

# One fetch or build at a time: test runs in parallel share the cache. The
# lock is held until the script exits.
lock() {
        mkdir -p "$TOOLS"
        exec 9>"$TOOLS/.lock"
        flock 9
}

fetch_go() {
        go_cached && return 0
        [[ $(uname -m) == x86_64 ]] || die "only linux-amd64 is pinned here (this machine: $(uname -m))"
        case $PROXY in
        http://* | https://*) ;;
        *) die "GOPROXY=${GOPROXY:-} names no proxy to fetch the Go toolchain from" ;;
        esac
        local got
        work=$(mktemp -d "$TOOLS/.fetch.XXXXXX")
        trap 'rm -rf "$work"' EXIT # global: the trap runs after fetch_go returns
        log "fetching the Go $GO_VERSION toolchain from $PROXY into $GOROOT_DIR (once)"
        if ! curl -fsSL --retry 2 --connect-timeout 30 --max-time 600 \
                -o "$work/go.zip" "$PROXY/golang.org/toolchain/@v/$GO_MODULE.zip" 2>"$work/curl.log"; then
                cat "$work/curl.log" >&2
                die "cannot download golang.org/toolchain@$GO_MODULE from $PROXY (no network?) and $GOROOT_DIR is not cached" 75
        fi
        got=$(sha256sum "$work/go.zip" | cut -d' ' -f1)
        [[ $got == "$GO_SHA256" ]] || die "golang.org/toolchain@$GO_MODULE: sha256 $got, expected $GO_SHA256"
        # Python's zipfile rather than unzip, which a fresh machine lacks.
        /usr/bin/python3 -m zipfile -e "$work/go.zip" "$work/x" ||
                die "cannot unpack golang.org/toolchain@$GO_MODULE"
        local root=$work/x/golang.org/toolchain@$GO_MODULE
        [[ -f $root/bin/go ]] || die "golang.org/toolchain@$GO_MODULE holds no bin/go"
        # A zip keeps no modes: the go command marks these executable itself
        # when it unpacks a toolchain, and so does this.
        chmod 0755 "$root"/bin/* "$root"/pkg/tool/*/*
        touch "$root/.complete"
        rm -rf "$GOROOT_DIR"
        mv "$root" "$GOROOT_DIR"
        rm -rf "$work"
        log "$GOROOT_DIR ready"
}

build_helm() {
        helm_cached && return 0
        fetch_go
        local start=$SECONDS
        log "building helm $HELM_VERSION with go $GO_VERSION into $HELM_DIR (once, a few minutes)"
        rm -rf "$HELM_DIR"
        mkdir -p "$HELM_DIR"
        # Everything the go command writes stays in the cache; nothing of
        # the machine's Go (GOROOT, GOPATH, go env file) takes part.
        if ! env -u GOFLAGS -u GOROOT -u GOPATH \
                PATH="$GOROOT_DIR/bin:/usr/bin:/bin" \
                GOROOT="$GOROOT_DIR" GOTOOLCHAIN=local GOENV=off \
                GOPROXY="$PROXY" GOPATH="$TOOLS/go" GOMODCACHE="$TOOLS/go/mod" \
                GOCACHE="$TOOLS/go/build" GOBIN="$HELM_DIR" CGO_ENABLED=0 \
                timeout 1800 "$GOROOT_DIR/bin/go" install -trimpath \
                "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" >"$TOOLS/helm-build.log" 2>&1; then
                tail -n 20 "$TOOLS/helm-build.log" >&2
                rm -rf "$HELM_DIR"
                if grep -qE 'dial tcp|no such host|i/o timeout|connection refused' "$TOOLS/helm-build.log"; then
                        die "cannot reach $PROXY to build helm $HELM_VERSION (no network?) and it is not cached" 75
                fi
                die "go install helm.sh/helm/v4/cmd/helm@$HELM_VERSION failed (log: $TOOLS/helm-build.log)"
        fi
        "$HELM_DIR/helm" version >/dev/null || die "the helm built in $HELM_DIR does not run"
        touch "$HELM_DIR/.complete"
        # The module and build caches (1.7 GB) served this one build.
        chmod -R u+w "$TOOLS/go" && rm -rf "$TOOLS/go"
        log "$HELM_DIR/helm ready ($((SECONDS - start)) s)"
}

case ${1:-} in
go)
        go_cached || { lock; fetch_go; }
        echo "$GOROOT_DIR/bin/go"
        ;;
helm)
        helm_cached || { lock; build_helm; }
        echo "$HELM_DIR/helm"
        ;;
check)
        helm_cached || { echo "helm $HELM_VERSION is not built yet (deploy/tools.sh helm)"; exit 1; }
        ;;
*)
        echo "usage: deploy/tools.sh helm|go|check" >&2
        exit 2
        ;;
esac
