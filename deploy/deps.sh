#!/usr/bin/env bash
# Installs the Debian packages Cairn needs to build, test and run its dev
# stack. Idempotent and quick when everything is present: apt runs only for
# what is missing. Needs root (or sudo) only when something is missing.
set -euo pipefail

# What compiles the services and tools: all a container image's build stage
# needs (deps.sh --build-only).
build_packages=(
        # libprotobuf-dev: the well-known types' .proto files (google/protobuf/*.proto)
        build-essential pkg-config protobuf-c-compiler libprotobuf-c-dev libprotobuf-dev
        librdkafka-dev libyaml-dev libmicrohttpd-dev libjansson-dev uuid-dev
        libxxhash-dev libutf8proc-dev libcurl4-openssl-dev libjwt-dev libhiredis-dev libssl-dev libpq-dev
        # libopenblas-dev: sgemm for the embedding service's BERT models
        libopenblas-dev
        # libhnswlib-dev: the memory service's approximate index (header-only C++; g++ from build-essential)
        libhnswlib-dev
        # libsodium-dev: the secrets service's envelope encryption and sealed boxes
        libsodium-dev
        # the translation service's language detection: CLD2 (C++, behind a
        # small C shim) and libexttextcat with its language models
        libcld2-dev libexttextcat-dev libexttextcat-data
        # the speech service: audio decoding (libsndfile; FFmpeg's libraries
        # for MP4/WebM/MPEG and AAC output), resampling, denoising, and the
        # text-to-speech engines (flite for English, espeak-ng for the rest)
        libsndfile1-dev libavformat-dev libavcodec-dev libavutil-dev libswresample-dev
        libsamplerate0-dev libspeexdsp-dev flite1-dev libespeak-ng-dev espeak-ng-data
        # libsonic-dev: text-to-speech speeds past what flite and espeak-ng do themselves
        libsonic-dev
)
# The translation service's engine and language pairs (run, not linked):
# Apertium and the pairs docs/translation.md lists.
apertium_packages=(apertium apertium-eng-spa apertium-eng-cat apertium-fr-es apertium-spa-ita
        apertium-es-pt apertium-es-ro apertium-spa-cat apertium-es-gl)
# What the translation service reads at run time without linking it: what an
# image's runtime stage installs besides the libraries (deps.sh --print-runtime-data)
runtime_data_packages=("${apertium_packages[@]}" libexttextcat-data espeak-ng-data)
packages=(
        "${build_packages[@]}" "${apertium_packages[@]}"
        # tests; python3-venv: the client-library tests' venvs (tests/clients);
        # python3-protobuf: Google's JSON mapping to check ours against (0030-pbjson_python);
        # lcov: make coverage's report (lcov, genhtml)
        check libsubunit-dev kcat curl python3 python3-venv prometheus python3-protobuf lcov
        # the speech tests' clips: flite and espeak-ng voices, ffmpeg for the
        # containers the service reads through FFmpeg's libraries
        flite espeak-ng ffmpeg
        # Apache Kafka for the second integration pass, the benchmarks and
        # make up KAFKA=apache (deploy/kafka/apache.sh fetches its jars once)
        openjdk-17-jre-headless maven
        # dev stack
        postgresql redis-server procps
)

# Optional groups, asked for by name: deps.sh fuzz, deps.sh bench, deps.sh lint
for group in "$@"; do
        case $group in
        --build-only) packages=("${build_packages[@]}") ;;
        --print-runtime-data) printf '%s\n' "${runtime_data_packages[@]}"; exit 0 ;;
        fuzz) packages+=(clang libclang-rt-14-dev) ;;
        # make bench: HTTP load generator and the nginx the gateway is measured against
        bench) packages+=(wrk nginx-light) ;;
        # make lint: formatting and static analysis
        lint) packages+=(clang-format cppcheck) ;;
        # make image: podman and buildah build and run images without a
        # Docker engine; debootstrap makes the base image (deploy/image/);
        # python3-yaml: the image test reads the rendered chart (tests/deploy/pods.py)
        image) packages+=(podman buildah debootstrap python3-yaml) ;;
        # make deploy-check: compose.yaml's validator (the Helm chart's and
        # the rules' tools come from registries: deploy/tools.sh, tests/clients)
        deploy) packages+=(docker-compose python3-yaml) ;;
        *) echo "deps: unknown group $group" >&2; exit 2 ;;
        esac
done

missing=()
for p in "${packages[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
        exit 0
fi

echo "deps: installing ${#missing[@]} Debian packages with apt-get: ${missing[*]}"
sudo=()
if ((EUID != 0)); then
        command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
        sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The postgresql package starts a cluster of its own on Debian; the dev stack
# and the tests run their own servers and never touch it.
echo "deps: done"
