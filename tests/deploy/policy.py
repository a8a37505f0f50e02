"""Checks what `helm template` rendered from the Cairn chart, offline.

    policy.py --root ROOT --build BUILD --kube-version 1.31 NAME=RENDERED.yaml...

For each rendering: every object against the Kubernetes API schemas of one
version (kubernetes-validate, strict: an unknown field fails); the objects
those schemas lack (ServiceMonitor, PrometheusRule) by shape here and with
promtool; the chart's policies (non-root, read-only root, no privilege
escalation, no capabilities, resources, probes, pinned images, a drain
that fits the grace period, a PodDisruptionBudget and a NetworkPolicy per
Deployment, no Secret); and every service's rendered configuration file
against the service's own binary (--check-config). Once: the chart's
appVersion against the Makefile's VERSION, and its services against the
binaries the build makes. Prints one line per failure and per passing
group, then "N passed, N failed"; exits 1 on any failure.
"""

import argparse
import copy
import functools
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml
import kubernetes_validate.utils as kv

# The schemas are files of a few MB: read each once.
kv.schema_contents = functools.lru_cache(maxsize=None)(kv.schema_contents)

NOT_IN_SCHEMAS = {"ServiceMonitor", "PrometheusRule"}
RUNTIME_DEFAULT = {"type": "RuntimeDefault"}


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, problems):
        """One check: @p problems is a list of strings, empty when it passed."""
        if problems:
            self.failed += 1
            print(f"FAIL {name}")
            for p in problems:
                print(f"     {p}")
        else:
            self.passed += 1
            print(f"ok   {name}")


def deep_merge(dst, src):
    """Helm's merge of a values file over the defaults: maps merge, the rest is replaced."""
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            deep_merge(dst[k], v)
        elif v is None:
            dst.pop(k, None)
        else:
            dst[k] = v
    return dst


def kname(obj):
    return f"{obj['kind']}/{obj['metadata']['name']}"


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def pod_selector(obj):
    """The labels a PodDisruptionBudget or NetworkPolicy selects pods by."""
    spec = obj["spec"]
    return (spec.get("selector") or spec.get("podSelector") or {}).get("matchLabels", {})


def pod_spec(obj):
    if obj["kind"] in ("Deployment", "Job"):
        return obj["spec"]["template"]["spec"]
    return None


def container_problems(pod, c, main):
    """The policies of one container of @p pod; @p main: a service's own container."""
    out = []
    psc = pod.get("securityContext", {})
    sc = c.get("securityContext", {})
    if not (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
        out.append(f"{c['name']}: runAsNonRoot is not true")
    if sc.get("runAsUser", psc.get("runAsUser")) == 0:
        out.append(f"{c['name']}: runs as uid 0")
    if sc.get("readOnlyRootFilesystem") is not True:
        out.append(f"{c['name']}: readOnlyRootFilesystem is not true")
    if sc.get("allowPrivilegeEscalation") is not False:
        out.append(f"{c['name']}: allowPrivilegeEscalation is not false")
    if "ALL" not in sc.get("capabilities", {}).get("drop", []):
        out.append(f"{c['name']}: capabilities do not drop ALL")
    if sc.get("capabilities", {}).get("add"):
        out.append(f"{c['name']}: adds capabilities {sc['capabilities']['add']}")
    if sc.get("privileged"):
        out.append(f"{c['name']}: privileged")
    if sc.get("seccompProfile", psc.get("seccompProfile")) != RUNTIME_DEFAULT:
        out.append(f"{c['name']}: seccompProfile is not RuntimeDefault")
    res = c.get("resources", {})
    for part in ("requests", "limits"):
        for r in ("cpu", "memory"):
            if r not in res.get(part, {}):
                out.append(f"{c['name']}: no resources.{part}.{r}")
    image = c.get("image", "")
    name, _, tag = image.rpartition(":")
    if "@sha256:" not in image and (not name or "/" in tag or tag in ("", "latest")):
        out.append(f"{c['name']}: image {image!r} is not pinned to a release")
    if main:
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = c.get(probe, {}).get("httpGet", {})
            if get.get("path") != path or get.get("port") != "admin":
                out.append(f"{c['name']}: {probe} is not GET {path} on the admin port")
    return out


def prestop_seconds(c):
    cmd = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    if len(cmd) == 2 and cmd[0] == "sleep" and cmd[1].isdigit():
        return int(cmd[1])
    return None


def check_config(build, binary, text, container, workdir):
    """Runs @p binary --check-config over @p text with the container's env
    (Secrets and fields as dummies). Returns a list of problems."""
    path = os.path.join(workdir, f"{container['name']}.yaml")
    with open(path, "w") as f:
        f.write(text)
    env = {"PATH": "/usr/bin:/bin"}
    for e in container.get("env", []):
        env[e["name"]] = e.get("value", "x")
    exe = os.path.join(build, "bin", binary)
    if not os.access(exe, os.X_OK):
        return [f"{exe} is missing: build it first (make)"]
    args = [exe, "--check-config", "-c", path]
    r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=30)
    out = (r.stdout + r.stderr).strip()
    if r.returncode != 0:
        return [f"{binary} --check-config: {out}"]
    return []


def check_rendering(rep, tag, objs, args, values):
    by_kind = {}
    for o in objs:
        by_kind.setdefault(o["kind"], []).append(o)

    # -- the API schemas, strict --
    bad = []
    n = 0
    for o in objs:
        if o["kind"] in NOT_IN_SCHEMAS:
            continue
        n += 1
        try:
            kv.validate(o, args.kube_version, strict=True)
        except kv.ValidationError as e:
            path = "/".join(str(p) for p in e.absolute_path)
            bad.append(f"{kname(o)}: {path}: {e.message}")
        except (kv.SchemaNotFoundError, kv.VersionNotSupportedError) as e:
            bad.append(f"{kname(o)}: {e.message}")
    rep.check(f"[{tag}] {n} objects match the Kubernetes {args.kube_version} API schemas (strict)", bad)

    # -- no Secret --
    rep.check(f"[{tag}] no Secret is rendered",
              [kname(o) for o in by_kind.get("Secret", [])])

    deployments = by_kind.get("Deployment", [])
    rep.check(f"[{tag}] a Deployment per enabled service",
              [] if deployments else ["no Deployment rendered"])
    configmaps = {o["metadata"]["name"]: o for o in by_kind.get("ConfigMap", [])}
    services = by_kind.get("Service", [])

    # -- pods --
    for o in deployments + by_kind.get("Job", []):
        pod = pod_spec(o)
        probs = []
        if pod.get("automountServiceAccountToken") is not False:
            probs.append("automountServiceAccountToken is not false")
        if pod.get("hostNetwork") or pod.get("hostPID") or pod.get("hostIPC"):
            probs.append("shares a host namespace")
        for c in pod.get("initContainers", []):
            probs += container_problems(pod, c, main=False)
        for c in pod["containers"]:
            probs += container_problems(pod, c, main=o["kind"] == "Deployment")
        rep.check(f"[{tag}] {kname(o)}: non-root, read-only, no privileges, resources, probes, pinned image", probs)

    workdir = tempfile.mkdtemp(prefix="chart-policy.")
    for d in deployments:
        name = d["metadata"]["name"]
        component = d["metadata"]["labels"].get("app.kubernetes.io/component", "")
        pod = pod_spec(d)
        labels = d["spec"]["template"]["metadata"]["labels"]
        main = pod["containers"][0]
        binary = main["command"][0] if main.get("command") else ""

        # drain: preStop, then bus.grace_ms, within the grace period
        cfg_vol = next((v for v in pod.get("volumes", []) if v["name"] == "config"), None)
        text = None
        probs = []
        if cfg_vol:
            cm = configmaps.get(cfg_vol["configMap"]["name"])
            key = cfg_vol["configMap"]["items"][0]["key"]
            text = cm["data"].get(key) if cm else None
        if text is None:
            probs.append("no configuration file from a ConfigMap")
        pre = prestop_seconds(main)
        if pre is None:
            probs.append("no preStop sleep")
        elif text is not None:
            grace_ms = (yaml.safe_load(text).get("bus") or {}).get("grace_ms", 10000)
            total = pod.get("terminationGracePeriodSeconds", 30)
            if total <= pre + grace_ms / 1000:
                probs.append(f"terminationGracePeriodSeconds {total} <= preStop {pre} s + bus.grace_ms {grace_ms} ms")
        rep.check(f"[{tag}] {name}: preStop and drain fit the grace period", probs)

        # the configuration file, checked by the binary itself
        if text is not None:
            rep.check(f"[{tag}] {name}: {binary} --check-config accepts its file and env",
                      check_config(args.build, binary, text, main, workdir))

        # the job label is the service's name, which is the binary's
        rep.check(f"[{tag}] {name}: component label names its binary",
                  [] if binary == f"cairn-{component}" else [f"component {component!r}, command {binary!r}"])

        for kind in ("PodDisruptionBudget", "NetworkPolicy"):
            found = [o for o in by_kind.get(kind, []) if matches(pod_selector(o), labels)]
            rep.check(f"[{tag}] {name}: has a {kind}", [] if found else [f"no {kind} selects its pods"])

        admin = [s for s in services if matches(s["spec"]["selector"], labels)
                 and any(p["name"] == "admin" and p["targetPort"] == "admin" for p in s["spec"]["ports"])]
        rep.check(f"[{tag}] {name}: has an admin Service (port admin)",
                  [] if admin else ["no Service with a port named admin selects its pods"])
        if any(p["name"] == "http" for p in main.get("ports", [])):
            api = [s for s in services if matches(s["spec"]["selector"], labels)
                   and any(p["targetPort"] == "http" for p in s["spec"]["ports"])]
            rep.check(f"[{tag}] {name}: has an API Service", [] if api else ["no Service targets its http port"])

    # -- the setup Job: a pre-install/pre-upgrade hook with a file cairn-admin accepts --
    for j in by_kind.get("Job", []):
        ann = j["metadata"].get("annotations", {})
        probs = []
        if ann.get("helm.sh/hook") != "pre-install,pre-upgrade":
            probs.append(f"helm.sh/hook is {ann.get('helm.sh/hook')!r}")
        pod = pod_spec(j)
        cm = configmaps.get(pod["volumes"][0]["configMap"]["name"])
        if not cm:
            probs.append("its ConfigMap is not rendered")
        elif int(cm["metadata"]["annotations"].get("helm.sh/hook-weight", 0)) >= int(ann.get("helm.sh/hook-weight", 0)):
            probs.append("its ConfigMap is not made before it (hook weight)")
        steps = [c["args"][2:] for c in pod.get("initContainers", []) + pod["containers"]]
        if not any(s[:2] == ["topics", "apply"] for s in steps):
            probs.append("no topics apply step")
        rep.check(f"[{tag}] {kname(j)}: a hook before install and upgrade: {steps}", probs)
        if cm:
            for c in pod.get("initContainers", []) + pod["containers"]:
                rep.check(f"[{tag}] {kname(j)}: cairn-admin accepts the file and env of {c['name']}",
                          check_config(args.build, "cairn-admin", cm["data"]["admin.yaml"], c, workdir))

    # -- HorizontalPodAutoscalers: on a Deployment, within the partitions --
    partitions = values["kafka"]["partitions"]
    for h in by_kind.get("HorizontalPodAutoscaler", []):
        ref = h["spec"]["scaleTargetRef"]
        probs = []
        if not any(d["metadata"]["name"] == ref["name"] for d in deployments):
            probs.append(f"scales {ref['name']}, which is not rendered")
        if h["spec"]["maxReplicas"] > partitions:
            probs.append(f"maxReplicas {h['spec']['maxReplicas']} > {partitions} partitions")
        rep.check(f"[{tag}] {kname(h)}: scales a Deployment within the topics' partitions", probs)

    # -- ServiceMonitor: job = the service's name --
    for sm in by_kind.get("ServiceMonitor", []):
        spec = sm["spec"]
        probs = []
        if sm["apiVersion"] != "monitoring.coreos.com/v1":
            probs.append(f"apiVersion {sm['apiVersion']}")
        unknown = set(spec) - {"jobLabel", "namespaceSelector", "selector", "endpoints"}
        if unknown:
            probs.append(f"unexpected spec fields {sorted(unknown)}")
        job = spec.get("jobLabel")
        sel = spec.get("selector", {}).get("matchLabels", {})
        eps = spec.get("endpoints", [])
        if not eps or any(e.get("port") != "admin" or e.get("path") != "/metrics" for e in eps):
            probs.append("endpoints are not port admin, path /metrics")
        for e in eps:
            for k in ("interval", "scrapeTimeout"):
                if k in e and not re.fullmatch(r"[0-9]+(ms|s|m|h)", e[k]):
                    probs.append(f"endpoint {k} {e[k]!r} is not a duration")
        for d in deployments:
            comp = d["metadata"]["labels"]["app.kubernetes.io/component"]
            scraped = [s for s in services if matches(sel, s["metadata"]["labels"])
                       and any(p["name"] == "admin" for p in s["spec"]["ports"])
                       and matches(s["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])]
            if not scraped:
                probs.append(f"{d['metadata']['name']}: no admin Service selected")
            for s in scraped:
                if s["metadata"]["labels"].get(job) != comp:
                    probs.append(f"{kname(s)}: job label would be {s['metadata']['labels'].get(job)!r}, not {comp!r}")
        rep.check(f"[{tag}] {kname(sm)}: scrapes every admin port, job = service name", probs)

    # -- PrometheusRule: a rules file promtool accepts; runbooks moved --
    for pr in by_kind.get("PrometheusRule", []):
        path = os.path.join(workdir, "rules.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(pr["spec"], f)
        r = subprocess.run([args.promtool, "check", "rules", path], capture_output=True, text=True)
        rep.check(f"[{tag}] {kname(pr)}: promtool check rules",
                  [] if r.returncode == 0 else [(r.stdout + r.stderr).strip()])
        base = values.get("monitoring", {}).get("runbookBaseUrl", "")
        urls = [r.get("annotations", {}).get("runbook_url") for g in pr["spec"]["groups"]
                for r in g.get("rules", []) if "alert" in r]
        probs = ["an alert without runbook_url" for u in urls if not u]
        if base:
            probs += [f"runbook_url {u} does not start with {base}" for u in urls if u and not u.startswith(base + "#")]
        rep.check(f"[{tag}] {kname(pr)}: every alert has a runbook_url{' under ' + base if base else ''}", probs)

    # -- dashboards: JSON, labelled for Grafana's sidecar --
    for cm in configmaps.values():
        if cm["metadata"]["labels"].get("app.kubernetes.io/component") != "dashboards":
            continue
        probs = []
        if cm["metadata"]["labels"].get("grafana_dashboard") != "1":
            probs.append("no label grafana_dashboard: \"1\"")
        for k, v in cm["data"].items():
            try:
                json.loads(v)
            except ValueError as e:
                probs.append(f"{k}: {e}")
        rep.check(f"[{tag}] {kname(cm)}: a Grafana dashboard", probs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--kube-version", required=True)
    ap.add_argument("--promtool", default="promtool")
    ap.add_argument("renderings", nargs="+", help="NAME=FILE:VALUES[,VALUES]")
    args = ap.parse_args()
    rep = Report()
    chart = os.path.join(args.root, "helm", "cairn")

    with open(os.path.join(chart, "Chart.yaml")) as f:
        app_version = str(yaml.safe_load(f)["appVersion"])
    with open(os.path.join(args.root, "Makefile")) as f:
        m = re.search(r"^VERSION\s*:?=\s*(\S+)", f.read(), re.M)
    make_version = m.group(1) if m else None
    rep.check(f"Chart appVersion {app_version} is the Makefile's VERSION {make_version}",
              [] if app_version == make_version else ["they differ"])

    with open(os.path.join(chart, "values.yaml")) as f:
        defaults = yaml.safe_load(f)
    chart_svcs = set(defaults["services"])
    bindir = os.path.join(args.build, "bin")
    built = os.listdir(bindir) if os.path.isdir(bindir) else []
    bins = {b[len("cairn-"):] for b in built if b.startswith("cairn-")} - {"admin", "devbroker"}
    probs = [f"cairn-{s} is built but not in the chart's services" for s in sorted(bins - chart_svcs)]
    probs += [f"services.{s} has no binary {args.build}/bin/cairn-{s}" for s in sorted(chart_svcs - bins)]
    rep.check(f"the chart's services are the build's service binaries: {sorted(bins)}", probs)

    for spec in args.renderings:
        tag, _, rest = spec.partition("=")
        path, _, vfiles = rest.partition(":")
        values = copy.deepcopy(defaults)
        for vf in filter(None, vfiles.split(",")):
            with open(vf) as f:
                deep_merge(values, yaml.safe_load(f) or {})
        with open(path) as f:
            objs = [o for o in yaml.safe_load_all(f) if o]
        check_rendering(rep, tag, objs, args, values)

    print(f"policy: {rep.passed} passed, {rep.failed} failed")
    return 1 if rep.failed else 0


if __name__ == "__main__":
    sys.exit(main())
