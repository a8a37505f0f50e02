#!/usr/bin/env python3
"""Turns the Helm chart's rendered Jobs and Deployments into `buildah run`
command lines, so that the image test runs exactly what a cluster would:
each container's command and args, its environment (Secrets filled from a
test map), and its volumes (ConfigMaps and Secrets written out as the
kubelet would, emptyDirs and claims as fresh directories), one replica each.
What differs from a pod, and only that: every container shares the host's
network, so each gets its own admin and API ports (CAIRN_ADMIN_PORT,
CAIRN_HTTP_PORT, which win over the file).

    pods.py RENDERED.yaml WORKDIR SECRETS.json CONTAINER [BUILDAH-WORDS...]

SECRETS.json maps "secret-name" to {"key": "value"}; CONTAINER is the
buildah container (of the image) to run in. Writes WORKDIR/plan/*,
one file per container holding its command line as NUL-separated words, and
prints one line per container, in the order to run them:
    job|init|main  WORKLOAD  CONTAINER  FILE  ADMIN_PORT  HTTP_PORT
(ports "-" for job and init containers).
"""
import json
import os
import socket
import sys

import yaml

rendered, work, secrets_path, container = sys.argv[1:5]
buildah = sys.argv[5:] or ["buildah"]
with open(secrets_path) as f:
    secrets = json.load(f)
with open(rendered) as f:
    objs = [o for o in yaml.safe_load_all(f) if o]
configmaps = {o["metadata"]["name"]: o for o in objs if o["kind"] == "ConfigMap"}


def fail(msg):
    sys.exit(f"pods: {msg}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_files(d, data, items, mode, gid):
    """A ConfigMap's or Secret's keys as files, as the kubelet writes them."""
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    pick = {i["key"]: i["path"] for i in items} if items else {k: k for k in data}
    for key, path in pick.items():
        if key not in data:
            fail(f"{d}: key {key} is not in the object")
        p = os.path.join(d, path)
        with open(p, "w") as f:
            f.write(data[key])
        os.chmod(p, mode)
        if gid is not None:  # fsGroup: the kubelet gives the files to the pod's group
            os.chown(p, 0, gid)


def volumes(workload, spec):
    """Host directories for the pod's volumes, by volume name."""
    gid = spec.get("securityContext", {}).get("fsGroup")
    out = {}
    for v in spec.get("volumes", []):
        d = os.path.join(work, "vol", workload, v["name"])
        if "configMap" in v:
            cm = configmaps.get(v["configMap"]["name"])
            if cm is None:
                fail(f"{workload}: ConfigMap {v['configMap']['name']} is not rendered")
            write_files(d, cm.get("data", {}), v["configMap"].get("items"),
                        v["configMap"].get("defaultMode", 0o644), None)
        elif "secret" in v:
            name = v["secret"]["secretName"]
            if name not in secrets:
                fail(f"{workload}: Secret {name} is not in the test's secrets")
            write_files(d, secrets[name], v["secret"].get("items"),
                        v["secret"].get("defaultMode", 0o644), gid)
        elif "emptyDir" in v or "persistentVolumeClaim" in v:
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o1777 if "emptyDir" in v else 0o777)
        else:
            fail(f"{workload}: volume {v['name']}: a kind this test cannot provide")
        out[v["name"]] = d
    return out


def env_words(workload, c):
    words = []
    for e in c.get("env", []):
        if "value" in e:
            value = str(e["value"])
        elif "secretKeyRef" in e.get("valueFrom", {}):
            ref = e["valueFrom"]["secretKeyRef"]
            try:
                value = secrets[ref["name"]][ref["key"]]
            except KeyError:
                fail(f"{workload}/{c['name']}: {e['name']}: no test secret {ref['name']}/{ref['key']}")
        elif "fieldRef" in e.get("valueFrom", {}):
            value = f"{workload}-0"
        else:
            fail(f"{workload}/{c['name']}: {e['name']}: a source this test cannot provide")
        words += ["-e", f"{e['name']}={value}"]
    return words


def plan(phase, workload, c, vols, extra_env):
    words = buildah + ["run", "--isolation", "chroot"]
    user = c.get("securityContext", {}).get("runAsUser")
    if user is not None:
        words += ["--user", f"{user}:{c['securityContext'].get('runAsGroup', user)}"]
    for m in c.get("volumeMounts", []):
        if m.get("subPath"):
            fail(f"{workload}/{c['name']}: subPath mounts are not supported here")
        ro = ":ro" if m.get("readOnly") else ""
        words += ["-v", f"{vols[m['name']]}:{m['mountPath']}{ro}"]
    words += env_words(workload, c) + extra_env
    words += [container, "--"] + c.get("command", []) + c.get("args", [])
    path = os.path.join(work, "plan", f"{workload}.{c['name']}")
    with open(path, "w") as f:
        f.write("\0".join(words) + "\0")
    return path


os.makedirs(os.path.join(work, "plan"), exist_ok=True)
lines = []
for kind in ("Job", "Deployment"):
    for o in (o for o in objs if o["kind"] == kind):
        workload = o["metadata"]["name"]
        spec = o["spec"]["template"]["spec"]
        vols = volumes(workload, spec)
        for c in spec.get("initContainers", []):
            lines.append(("job" if kind == "Job" else "init", workload, c["name"],
                          plan("init", workload, c, vols, []), "-", "-"))
        for c in spec["containers"]:
            if kind == "Job":
                lines.append(("job", workload, c["name"], plan("job", workload, c, vols, []),
                              "-", "-"))
                continue
            admin, http = free_port(), "-"
            extra = ["-e", f"CAIRN_ADMIN_PORT={admin}"]
            if any(p.get("name") == "http" for p in c.get("ports", [])):
                http = free_port()
                extra += ["-e", f"CAIRN_HTTP_PORT={http}"]
            lines.append(("main", workload, c["name"], plan("main", workload, c, vols, extra),
                          str(admin), str(http)))
for line in lines:
    print("\t".join(map(str, line)))
