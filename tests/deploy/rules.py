#!/usr/bin/env python3
"""Checks of the alerting rules and the Grafana dashboards that promtool
alone cannot make: every metric they use is one the code exports, every
runbook_url names a heading of docs/operations.md, every alert has unit
tests that fire and that stay quiet, every dashboard is sound JSON whose
PromQL parses. Called by tests/deploy/rules.sh, which also runs promtool on
the rules and their tests.

  tests/deploy/rules.py PROMTOOL RULES_COUNT

PROMTOOL is the promtool to run, RULES_COUNT the number of rules promtool
found in the rules file (to prove this script read all of them). Prints one
line per check, "ok - ..." or "not ok - ...", for rules.sh to count.
Standard library only: the rules file is read line by line, which works for
the plain layout it keeps (one "- alert:" or "- record:" per rule, "expr:" a
block scalar or one line, labels and annotations one level below).
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RULES = "helm/cairn/files/alerts.yaml"
TESTS = "tests/deploy/alerts.test.yaml"
DASHBOARDS = "helm/cairn/files/dashboards"
RUNBOOK = "docs/operations.md"
SOURCES = ("common/src", "services")
SEVERITIES = ("critical", "warning")
# Metrics of Prometheus itself, not of the services.
PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}

results = []


def check(ok, what, why=""):
    results.append(ok)
    print(("ok - " if ok else "not ok - ") + what + ("" if ok or not why else ": " + why))


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


# ---- what the code exports ----

CALL = re.compile(r'\b(cairn_metrics_(counter|gauge|histogram)|gauge)\s*\(\s*[\w>.-]+\s*,\s*"(cairn_\w+)"')
# libcairn's Redis cache registers <prefix>_{hits,misses,errors}_total for
# the prefix its struct cairn_rcache_names starts with
RCACHE = re.compile(r'struct\s+cairn_rcache_names\s+\w+\s*=\s*\{\s*"(cairn_\w+)"')


def exported_metrics():
    """Names registered with cairn_metrics_counter/gauge/histogram (or the
    memory service's gauge() wrapper), histograms with their series
    suffixes."""
    names = set()
    for top in SOURCES:
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for fn in files:
                if not fn.endswith((".c", ".cc", ".h")) or ".pb-c." in fn:
                    continue
                with open(os.path.join(dirpath, fn), encoding="utf-8", errors="replace") as f:
                    text = f.read()
                for m in CALL.finditer(text):
                    name = m.group(3)
                    names.add(name)
                    if m.group(2) == "histogram":
                        names.update(name + s for s in ("_bucket", "_sum", "_count"))
                for m in RCACHE.finditer(text):
                    names.update(m.group(1) + s for s in ("_hits_total", "_misses_total", "_errors_total"))
    return names


# ---- the rules file, read line by line ----

def indent(line):
    return len(line) - len(line.lstrip(" "))


def block(lines, i, key_indent):
    """The lines of a block scalar starting after line i, and the next index."""
    out = []
    j = i + 1
    while j < len(lines) and (not lines[j].strip() or indent(lines[j]) > key_indent):
        out.append(lines[j].strip())
        j += 1
    return out, j


def read_rules(text):
    """[{kind, name, expr, for, labels, annotations}] in file order."""
    rules = []
    lines = text.split("\n")
    cur = None
    section = None
    section_indent = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        s = line.strip()
        if not s or s.startswith("#"):
            i += 1
            continue
        m = re.match(r"\s*- (alert|record): *(\S+)\s*$", line)
        if m:
            cur = {"kind": m.group(1), "name": m.group(2), "expr": None, "for": None,
                   "labels": {}, "annotations": {}, "indent": indent(line) + 2}
            rules.append(cur)
            section = None
            i += 1
            continue
        if cur is None:
            i += 1
            continue
        ind = indent(line)
        if ind < cur["indent"]:
            cur = None
            continue
        if section and ind > section_indent:
            km = re.match(r"\s*([\w.]+): *(.*)$", line)
            if km:
                key, val = km.group(1), km.group(2)
                if val in ("|", "|-", ">", ">-"):
                    body, i = block(lines, i, ind)
                    val = " ".join(b for b in body if b)
                    cur[section][key] = val
                    continue
                cur[section][key] = val.strip().strip('"')
            i += 1
            continue
        section = None
        km = re.match(r"\s*(expr|for|labels|annotations|keep_firing_for): *(.*)$", line)
        if km and ind == cur["indent"]:
            key, val = km.group(1), km.group(2).strip()
            if key in ("labels", "annotations"):
                section, section_indent = key, ind
                i += 1
                continue
            if key == "expr" and val in ("|", "|-", ">", ">-"):
                body, i = block(lines, i, ind)
                cur["expr"] = "\n".join(body).strip()
                continue
            cur[key] = val
        i += 1
    return rules


# ---- PromQL: the metric names an expression uses ----

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or",
            "unless", "inf", "nan", "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
            "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio", "atan2"}


def metric_names(expr):
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    e = re.sub(r"\{[^{}]*\}", " ", e)
    e = re.sub(r"\[[^\[\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", e)
    names = set()
    for m in re.finditer(r"(?<![\w.:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()", e):
        if m.group(1) not in KEYWORDS:
            names.add(m.group(1))
    return names


# ---- docs/operations.md headings, as GitHub anchors them ----

def anchors(markdown):
    seen = {}
    out = set()
    fence = False
    for line in markdown.split("\n"):
        if line.startswith("```"):
            fence = not fence
            continue
        m = None if fence else re.match(r"#{1,6} +(.*?)\s*#*\s*$", line)
        if not m:
            continue
        a = m.group(1).strip().lower()
        a = re.sub(r"[^\w\- ]", "", a).replace(" ", "-")
        n = seen.get(a, 0)
        seen[a] = n + 1
        out.add(a if n == 0 else "%s-%d" % (a, n))
    return out


# ---- the unit tests: which alerts have a firing and a quiet case ----

def tested(text):
    fires, quiet = set(), set()
    lines = text.split("\n")
    for i, line in enumerate(lines):
        m = re.match(r"\s*alertname: *(\S+)\s*$", line)
        if not m or i + 1 >= len(lines):
            continue
        nxt = lines[i + 1].strip()
        if nxt == "exp_alerts: []":
            quiet.add(m.group(1))
        elif nxt == "exp_alerts:" and i + 2 < len(lines) and lines[i + 2].strip().startswith("- exp_labels:"):
            fires.add(m.group(1))
    return fires, quiet


# ---- dashboards ----

def panels(items):
    for p in items:
        yield p
        yield from panels(p.get("panels", []))


def grafana_vars(expr):
    """Grafana's variables replaced by values PromQL accepts."""
    e = expr.replace("$__rate_interval", "5m").replace("${__rate_interval}", "5m")
    e = e.replace("$__interval", "1m").replace("${__interval}", "1m")
    e = e.replace("$__range", "1h").replace("${__range}", "1h")
    return re.sub(r"\$\{\w+(:\w+)?\}|\$\w+", ".*", e)


def variable_expr(query):
    """The PromQL inside a Prometheus template variable's query, or None
    (label_names(), metrics())."""
    q = query.get("query", "") if isinstance(query, dict) else (query or "")
    q = q.strip()
    m = re.match(r"label_values\((.*),\s*\w+\s*\)$", q, re.S)
    if m:
        return m.group(1)
    m = re.match(r"query_result\((.*)\)$", q, re.S)
    if m:
        return m.group(1)
    if re.match(r"(label_values|label_names|metrics)\(", q):
        return None
    return q or None


def promtool_parses(promtool, exprs):
    """exprs: [(where, expr)]. Each becomes a recording rule of a temporary
    rules file for promtool check rules; a failure names where it came from."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write("groups:\n  - name: dashboard\n    rules:\n")
        for n, (_, e) in enumerate(exprs):
            f.write("      - record: dashboard:expr_%d\n        expr: %s\n" % (n, json.dumps(e)))
        path = f.name
    try:
        r = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
        out = (r.stdout + r.stderr).strip().replace(path, "<dashboard rules>")
    finally:
        os.unlink(path)
    for n in sorted({int(m) for m in re.findall(r"dashboard:expr_(\d+)", out)}):
        out += "\n    dashboard:expr_%d is %s: %s" % (n, exprs[n][0], exprs[n][1])
    return r.returncode == 0, out


def main():
    promtool, promtool_count = sys.argv[1], int(sys.argv[2])
    exported = exported_metrics()
    check(len(exported) >= 40, "metric names found in %s (%d)" % (" and ".join(SOURCES), len(exported)),
          "too few: has the registration call changed?")

    rules = read_rules(read(RULES))
    check(len(rules) == promtool_count and all(r["expr"] for r in rules),
          "%s read: %d rules, as promtool counts" % (RULES, len(rules)),
          "promtool found %d, with expressions here: %d" % (promtool_count, sum(1 for r in rules if r["expr"])))
    recorded = {r["name"] for r in rules if r["kind"] == "record"}
    known = exported | PROMETHEUS_OWN | recorded
    heads = anchors(read(RUNBOOK))
    fires, quiet = tested(read(TESTS))
    alerts = [r for r in rules if r["kind"] == "alert"]

    names = [r["name"] for r in alerts]
    dup = sorted({n for n in names if names.count(n) > 1})
    check(not dup, "alert names unique", ", ".join(dup))
    for r in rules:
        unknown = sorted(metric_names(r["expr"] or "") - known)
        check(not unknown, "%s %s: metrics exported" % (r["kind"], r["name"]), "not exported: " + ", ".join(unknown))
    for r in alerts:
        a, lab = r["annotations"], r["labels"]
        missing = [k for k in ("summary", "description", "runbook_url") if not a.get(k)]
        sev = lab.get("severity")
        check(not missing and sev in SEVERITIES, "alert %s: severity and annotations" % r["name"],
              "severity %r, missing %s" % (sev, missing))
        url = a.get("runbook_url", "")
        anchor = url.split("#", 1)[1] if url.startswith(RUNBOOK + "#") else None
        check(anchor in heads, "alert %s: runbook %s" % (r["name"], url),
              "no heading with this anchor in " + RUNBOOK if anchor else "not " + RUNBOOK + "#<anchor>")
        check(r["name"] in fires and r["name"] in quiet, "alert %s: tested firing and quiet" % r["name"],
              "firing case: %s, quiet case: %s" % (r["name"] in fires, r["name"] in quiet))

    # Alert names the runbook mentions are alerts of the rules file.
    stale = sorted(set(re.findall(r"\bCairn[A-Z]\w+", read(RUNBOOK))) - set(names))
    check(not stale, "%s names only alerts that exist" % RUNBOOK, ", ".join(stale))

    uids = {}
    files = sorted(glob.glob(os.path.join(ROOT, DASHBOARDS, "*.json")))
    check(len(files) > 0, "dashboards in " + DASHBOARDS)
    for path in files:
        rel = os.path.relpath(path, ROOT)
        try:
            with open(path, encoding="utf-8") as f:
                dash = json.load(f)
        except ValueError as e:
            check(False, rel + ": valid JSON", str(e))
            continue
        check(True, rel + ": valid JSON")
        uid = dash.get("uid")
        check(bool(uid) and uid not in uids and len(uid) <= 40, rel + ": uid %r, unique" % uid,
              "missing, too long or also in " + str(uids.get(uid)))
        uids[uid] = rel
        ps = list(panels(dash.get("panels", [])))
        ids = [p.get("id") for p in ps]
        check(all(isinstance(i, int) for i in ids) and len(ids) == len(set(ids)),
              rel + ": %d panels, ids unique" % len(ps))
        tvars = dash.get("templating", {}).get("list", [])
        dsvar = [v for v in tvars if v.get("type") == "datasource" and v.get("query") == "prometheus"]
        check(len(dsvar) == 1 and dsvar[0].get("name") == "datasource",
              rel + ": a prometheus datasource variable named datasource")
        exprs, wrong_ds = [], []
        for p in ps:
            for t in p.get("targets", []):
                if "expr" in t:
                    exprs.append(("panel %r target %s" % (p.get("title"), t.get("refId")), t["expr"]))
                    if (t.get("datasource") or p.get("datasource") or {}).get("uid") != "${datasource}":
                        wrong_ds.append(p.get("title"))
        for v in tvars:
            if v.get("type") == "query":
                e = variable_expr(v.get("query"))
                if e:
                    exprs.append(("variable " + v.get("name", "?"), e))
                if (v.get("datasource") or {}).get("uid") != "${datasource}":
                    wrong_ds.append("variable " + v.get("name", "?"))
        check(not wrong_ds, rel + ": every query on ${datasource}", ", ".join(sorted(set(wrong_ds))))
        ok, out = promtool_parses(promtool, [(w, grafana_vars(e)) for w, e in exprs])
        check(ok, rel + ": %d PromQL expressions parse" % len(exprs), out)
        unknown = sorted(set().union(*[metric_names(grafana_vars(e)) for _, e in exprs]) - known)
        check(not unknown, rel + ": metrics exported", "not exported: " + ", ".join(unknown))


if __name__ == "__main__":
    main()
    sys.exit(0 if all(results) else 1)
