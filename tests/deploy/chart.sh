#!/usr/bin/env bash
# Checks the Helm chart (helm/cairn) offline, in seconds once its tools are
# cached: helm lint --strict and helm template with the default values and
# with ci/production-values.yaml; values.schema.json refusing bad values;
# then tests/deploy/policy.py over both renderings (the Kubernetes API
# schemas of one version, strict; the chart's policies; every service's
# rendered file against its own binary's --check-config; promtool over the
# alerts; appVersion and the services against the build).
#   tests/deploy/chart.sh [BUILD]     BUILD: the build directory (default build)
# Tools, fetched by name, checksummed and cached outside the checkout: helm
# (deploy/tools.sh, built once from the Go module proxy), kubernetes-validate
# and PyYAML (the venv of tests/clients/kubernetes.txt), promtool (Debian's
# prometheus). Without a registry to fetch them from it skips, loudly
# (exit 77); under CI=true it fails instead. Prints "N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
BUILD=${1:-build}
# The Kubernetes version the chart is checked against: Chart.yaml's
# kubeVersion starts here.
KUBE_VERSION=1.31.0
CHART=helm/cairn
PROD=$CHART/ci/production-values.yaml
start=$SECONDS
passed=0
failed=0
work=$(mktemp -d "${TMPDIR:-/tmp}/chart-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

skip() {
        if [[ ${CI:-} == true ]]; then
                echo "chart: FAILED: $* (CI=true: the registries must be reachable here)" >&2
                exit 1
        fi
        echo "!!!! SKIPPED: the Helm chart checks: $* !!!!"
        exit 77
}

ok() {
        passed=$((passed + 1))
        echo "ok   $1"
}

bad() { # name output-file
        failed=$((failed + 1))
        echo "FAIL $1"
        sed 's/^/     /' "$2" | tail -n 20
}

# A command that must succeed.
check() { # name command...
        local name=$1
        shift
        if "$@" >"$work/out" 2>&1; then ok "$name"; else bad "$name" "$work/out"; fi
}

# helm template with bad values must fail, saying why.
refuses() { # name expected-text helm-template-args...
        local name=$1 want=$2
        shift 2
        if "$HELM" template cairn "$CHART" --kube-version "$KUBE_VERSION" "$@" >"$work/out" 2>&1; then
                echo "(rendered: the values were accepted)" >>"$work/out"
                bad "refused: $name" "$work/out"
        elif ! grep -qF -- "$want" "$work/out"; then
                echo "(failed without saying: $want)" >>"$work/out"
                bad "refused: $name" "$work/out"
        else
                ok "refused: $name"
        fi
}

render() { # out-file helm-template-args...
        local out=$1
        shift
        "$HELM" template cairn "$CHART" -n cairn --kube-version "$KUBE_VERSION" "$@" >"$out"
}

HELM=$(deploy/tools.sh helm)
case $? in
0) ;;
75) skip "helm is not cached and the Go module proxy cannot be reached (deploy/tools.sh helm)" ;;
*) echo "chart: deploy/tools.sh helm failed"; exit 1 ;;
esac
command -v promtool >/dev/null || { echo "chart: promtool is missing (make deps installs prometheus)"; exit 1; }

check "helm lint --strict (default values)" \
        "$HELM" lint --strict --kube-version "$KUBE_VERSION" "$CHART"
check "helm lint --strict (ci/production-values.yaml)" \
        "$HELM" lint --strict --kube-version "$KUBE_VERSION" "$CHART" -f "$PROD"
check "helm template (default values)" render "$work/default.yaml"
check "helm template (ci/production-values.yaml)" render "$work/production.yaml" -f "$PROD"

# values.schema.json and the templates' own checks turn bad values away at install.
refuses "a replica count that is not a number" "want integer" --set services.gateway.replicas=two
refuses "an unknown key of a service" "additional properties 'replica' not allowed" --set services.gateway.replica=3
refuses "an unknown top-level key" "additional properties 'replicas' not allowed" --set replicas=3
refuses "an unknown dependency" "value must be one of" --set 'services.gateway.uses={mysql}'
refuses "the image tag latest" "/image/tag" --set image.tag=latest
refuses "a password among the Kafka settings" "sasl.password" --set 'kafka.settings.sasl\.password=x'
refuses "a PostgreSQL URL in a ConfigMap" "/services/memory/config/pg/url" \
        --set 'services.memory.config.pg.url=postgresql://u:p@db/cairn'
refuses "a service without resource limits" "missing property 'limits'" \
        --set-json 'services.gateway.resources={"requests":{"cpu":"1","memory":"1Gi"}}'
refuses "replicas beyond the topics' partitions" "exceeds kafka.partitions" --set services.memory.replicas=13
refuses "maxReplicas beyond the topics' partitions" "exceeds kafka.partitions" \
        --set services.embedding.autoscaling.enabled=true --set services.embedding.autoscaling.maxReplicas=24

# A new service is one entry of services: it gets the same objects.
if "$HELM" template cairn "$CHART" --kube-version "$KUBE_VERSION" \
        --set-json 'services.speech={"enabled":true}' >"$work/extra.yaml" 2>"$work/out"; then
        n=$(grep -cE '^  name: cairn-speech(-admin)?$' "$work/extra.yaml")
        if ((n == 4)); then
                ok "a service added in values gets a Deployment, admin Service, PDB and NetworkPolicy"
        else
                echo "$n objects named cairn-speech, 4 expected" >"$work/out"
                bad "a service added in values gets a Deployment, admin Service, PDB and NetworkPolicy" "$work/out"
        fi
else
        bad "a service added in values renders" "$work/out"
fi

# Services turned off: the gateway answers their routes 501 and the
# workflow service's steps may not call them (upstream.<service>_topic and,
# for the callees in services.workflow.calls, workflow.<service>_topic set
# empty); policy.py runs both files through their binaries' --check-config.
printf 'services:\n  speech: {enabled: false}\n  translation: {enabled: false}\n' >"$work/off-values.yaml"
check "helm template (speech and translation turned off)" render "$work/off.yaml" -f "$work/off-values.yaml"
if [[ -s $work/off.yaml ]] && python3 - "$work/off.yaml" >"$work/out" 2>&1 <<'EOF'
import sys
import yaml
cm = [d for d in yaml.safe_load_all(open(sys.argv[1]))
      if d and d["kind"] == "ConfigMap" and d["metadata"]["name"] == "cairn-config"][0]
files = {k: yaml.safe_load(v) for k, v in cm["data"].items()}
off = {"speech_topic": "", "translation_topic": ""}
assert "speech.yaml" not in files and "translation.yaml" not in files, sorted(files)
assert files["gateway.yaml"].get("upstream") == off, files["gateway.yaml"].get("upstream")
wf = files["workflow.yaml"]["workflow"]
assert {k: wf.get(k) for k in off} == off and "memory_topic" not in wf, wf
EOF
then
        ok "services turned off: their topics empty in the gateway's and the workflow service's files"
else
        bad "services turned off: their topics empty in the gateway's and the workflow service's files" "$work/out"
fi
off=()
[[ -s $work/off.yaml ]] && off=("off=$work/off.yaml:$work/off-values.yaml")

if [[ -s $work/default.yaml && -s $work/production.yaml ]]; then
        tests/clients/venv.sh kubernetes tests/deploy/policy.py --root "$ROOT" --build "$BUILD" \
                --kube-version "${KUBE_VERSION%.*}" \
                "default=$work/default.yaml:" \
                "production=$work/production.yaml:$PROD" "${off[@]}" >"$work/policy" 2>&1
        rc=$?
        cat "$work/policy"
        ((rc == 77)) && skip "the kubernetes venv cannot be built (tests/clients/kubernetes.txt)"
        if summary=$(grep -E '^policy: [0-9]+ passed, [0-9]+ failed$' "$work/policy"); then
                read -r _ p _ f _ <<<"$summary"
                passed=$((passed + p))
                failed=$((failed + f))
        else
                failed=$((failed + 1))
                echo "FAIL tests/deploy/policy.py did not finish (exit $rc)"
        fi
fi

# The policies catch what they are for: a rendering broken on purpose fails
# each of them.
if [[ -s $work/default.yaml ]]; then
        sed -e '0,/readOnlyRootFilesystem: true/s//readOnlyRootFilesystem: false/' \
                -e 's/image: cairn:0.1.0/image: cairn:latest/' \
                -e '0,/^  revisionHistoryLimit: 5$/s//  revisionHistoryLimit: 5\n  revisionHistoryLimt: 5/' \
                -e 's/terminationGracePeriodSeconds: [0-9]*/terminationGracePeriodSeconds: 3/' \
                -e '0,/^      level: info$/s//      level: info\n    no_such_section:\n      key: 1/' \
                "$work/default.yaml" >"$work/broken.yaml"
        printf -- '---\napiVersion: v1\nkind: Secret\nmetadata: {name: leaked}\nstringData: {k: v}\n' >>"$work/broken.yaml"
        tests/clients/venv.sh kubernetes tests/deploy/policy.py --root "$ROOT" --build "$BUILD" \
                --kube-version "${KUBE_VERSION%.*}" "broken=$work/broken.yaml:" >"$work/out" 2>&1
        for want in "('revisionHistoryLimt' was unexpected)" \
                "readOnlyRootFilesystem is not true" "is not pinned to a release" \
                "FAIL [broken] no Secret is rendered" "<= preStop" "unknown key \"no_such_section\""; do
                if grep -qF -- "$want" "$work/out"; then
                        ok "policy catches: $want"
                else
                        bad "policy catches: $want" "$work/out"
                fi
        done
fi

echo "chart: $((SECONDS - start)) s"
echo "$passed passed, $failed failed"
((failed == 0))
