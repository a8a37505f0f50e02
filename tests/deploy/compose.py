#!/usr/bin/env python3
"""Checks compose.yaml beyond what docker-compose validates: it runs every
service binary of the build and nothing else, on the image and broker
versions the project builds and tests, each Cairn service hardened, health
checked and started after the provisioning job, its environment accepted by
the real binary (--check-config), and every credential marked dev-only.

    tests/deploy/compose.py BUILD_DIR        (tests/deploy/compose.sh runs it)
"""
import os
import re
import subprocess
import sys

import yaml  # python3-yaml, which Debian's docker-compose depends on

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
TOOLS = {"cairn-admin", "cairn-devbroker"}  # in the image, not services
passed = failed = 0


def check(what, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what}" + (f": {detail}" if detail else ""))


def read(path):
    with open(os.path.join(ROOT, path)) as f:
        return f.read()


def one(pattern, text, what):
    m = re.search(pattern, text, re.M)
    if not m:
        sys.exit(f"compose: cannot find {what}")
    return m.group(1)


version = one(r"^VERSION\s*:=\s*(\S+)", read("Makefile"), "VERSION in the Makefile")
kafka_version = one(r"^KAFKA_VERSION=(\S+)", read("deploy/kafka/apache.sh"), "KAFKA_VERSION")
conf = yaml.safe_load(subprocess.run(
    ["docker-compose", "-f", os.path.join(ROOT, "compose.yaml"), "config"],
    check=True, capture_output=True, text=True).stdout)
services = conf["services"]

bin_dir = os.path.join(BUILD, "bin")
binaries = {b for b in os.listdir(bin_dir) if b.startswith("cairn-")} - TOOLS
cairn = {name: s for name, s in services.items() if s.get("image", "").startswith("cairn:")}
runs = {s["command"][0]: name for name, s in cairn.items() if s["command"][0] in binaries
        or s["command"][0].startswith("cairn-")}
check("every service binary of the build has a compose service", binaries <= set(runs),
      f"missing: {sorted(binaries - set(runs))}")
check("every compose service runs a binary of the build", set(runs) <= binaries,
      f"unknown: {sorted(set(runs) - binaries)}")

check(f"Cairn services on the image cairn:{version}",
      all(s["image"] == f"cairn:{version}" for s in cairn.values()),
      str({n: s["image"] for n, s in cairn.items()}))
check(f"Apache Kafka {kafka_version}, the version the tests run",
      services["kafka"]["image"] == f"apache/kafka:{kafka_version}", services["kafka"]["image"])
check("PostgreSQL 15 and Redis 7", services["postgres"]["image"] == "postgres:15"
      and services["redis"]["image"] == "redis:7")
check("Kafka runs in KRaft mode", "controller" in
      services["kafka"]["environment"].get("KAFKA_PROCESS_ROLES", ""))

for binary, name in sorted(runs.items()):
    s = services[name]
    hc = " ".join(s.get("healthcheck", {}).get("test", []))
    check(f"{name}: health check on /readyz", "/readyz" in hc, hc)
    deps = s.get("depends_on", {})
    check(f"{name}: starts after the provisioning job",
          deps.get("init", {}).get("condition") == "service_completed_successfully", str(deps))
    check(f"{name}: waits for what it needs to be healthy",
          all(d.get("condition") in ("service_healthy", "service_completed_successfully")
              for d in deps.values()), str(deps))
    check(f"{name}: restart policy", s.get("restart") in ("unless-stopped", "always",
                                                          "on-failure"), s.get("restart"))
    check(f"{name}: read-only root, no capabilities, no new privileges",
          s.get("read_only") and s.get("cap_drop") == ["ALL"]
          and "no-new-privileges:true" in s.get("security_opt", []))
    grace = s.get("stop_grace_period", "10s")
    check(f"{name}: stop grace period longer than the drain (bus.grace_ms 10 s)",
          re.fullmatch(r"(\d+)s", grace) and int(grace[:-1]) > 10, grace)

# Each service's environment, as compose hands it over, passes the binary's
# own configuration check: unknown CAIRN_* keys and bad values stop a service.
init_env = services["init"]["environment"]
for binary, env in [(b, services[n]["environment"]) for b, n in sorted(runs.items())] + \
        [("cairn-admin", init_env)]:
    r = subprocess.run([os.path.join(bin_dir, binary), "--check-config"],
                       env={"PATH": "/usr/bin:/bin", **{k: str(v) for k, v in env.items()}},
                       capture_output=True, text=True)
    check(f"{binary} accepts its compose environment", r.returncode == 0,
          (r.stdout + r.stderr).strip())
check("init applies the topics file and the migrations",
      "topics apply" in " ".join(services["init"]["command"])
      and "migrate up" in " ".join(services["init"]["command"]))

# Every line that carries a credential says it is for development only.
lines = read("compose.yaml").splitlines()
unmarked = [i + 1 for i, line in enumerate(lines)
            if re.search(r"PASSWORD|_SECRET|requirepass|://\w+:[^@]+@", line)
            and "DEV ONLY" not in line and "DEV ONLY" not in lines[i - 1]]
check("every credential is marked DEV ONLY", not unmarked, f"lines {unmarked}")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
