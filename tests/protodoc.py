#!/usr/bin/env python3
"""Renders the messages of .proto files as markdown for docs/topics.md, from
the files themselves: each message's leading comment, its fields (name, type,
number) and each field's trailing comment. The contract upstream apps code
against is the .proto; this keeps its copy in the docs true.

    protodoc.py FILE.md PROTO_ROOT write|check

In FILE.md, the text between <!-- proto: path/to/file.proto --> and
<!-- /proto --> is replaced by the rendering of that file (write) or compared
with it (check: exit 1 when stale)."""
import re
import sys

MARK = re.compile(r"(<!-- proto: (\S+) -->\n)(.*?)(<!-- /proto -->)", re.S)
MESSAGE = re.compile(r"^message (\w+) \{")
FIELD = re.compile(r"^\s*(repeated |optional )?(map<[^>]+>|[\w.]+) (\w+) = (\d+)[^;]*;\s*(?://\s*(.*))?$")
ENUM = re.compile(r"^enum (\w+) \{")


def render(path):
    """Markdown for one .proto file: a section per message."""
    out, comment, package = [], [], ""
    lines = open(path, encoding="utf-8").read().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("package "):
            package = stripped[len("package "):].rstrip(";")
        if stripped.startswith("//") and not line.startswith(" "):
            comment.append(stripped[2:].strip())
            i += 1
            continue
        m = MESSAGE.match(line) or ENUM.match(line)
        if m:
            kind = "message" if line.startswith("message") else "enum"
            name = m.group(1)
            out.append(f"#### `{package}.{name}`\n")
            text = [c for c in comment if not c.startswith("ce_type:")]
            if text:
                out.append(" ".join(text) + "\n")
            rows = []
            i += 1
            while i < len(lines) and not lines[i].startswith("}"):
                f = FIELD.match(lines[i])
                if kind == "message" and f:
                    label = (f.group(1) or "").strip()
                    ftype = f.group(2)
                    shown = f"{label} {ftype}".strip() if label else ftype
                    rows.append(f"| `{f.group(3)}` | `{shown}` | {f.group(4)} | {f.group(5) or ''} |")
                elif kind == "enum":
                    e = re.match(r"^\s*(\w+) = (\d+);\s*(?://\s*(.*))?$", lines[i])
                    if e:
                        rows.append(f"| `{e.group(1)}` | {e.group(2)} | {e.group(3) or ''} |")
                i += 1
            if kind == "message":
                if rows:
                    out.append("| field | type | # | meaning |\n|---|---|---|---|")
                    out.extend(rows)
                else:
                    out.append("No fields.")
            else:
                out.append("| value | # | meaning |\n|---|---|---|")
                out.extend(rows)
            out.append("")
            comment = []
        elif stripped:
            comment = []
        i += 1
    return "\n".join(out)


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("write", "check"):
        sys.exit(__doc__)
    doc_path, root, mode = sys.argv[1:]
    doc = open(doc_path, encoding="utf-8").read()
    new = MARK.sub(lambda m: m.group(1) + render(f"{root}/{m.group(2)}") + "\n" + m.group(4), doc)
    if mode == "write":
        if new != doc:
            open(doc_path, "w", encoding="utf-8").write(new)
        return
    if new != doc:
        print(f"{doc_path} is stale: its copy of the .proto files differs; run make docs",
              file=sys.stderr)
        sys.exit(1)


main()
