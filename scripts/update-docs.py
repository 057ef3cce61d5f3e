#!/usr/bin/env python3
"""Regenerates the full examples in docs/report.md and docs/mapping.md from the program's output, and
the JSON Schemas under docs/schema/ from the Rust types (`regnet schema NAME`).
(crates/regnet-cli/tests/docs.rs and tests/schema.rs fail when they differ.)"""
import os, subprocess
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def regnet(args):
    return subprocess.check_output(["cargo", "run", "-q", "-p", "regnet-cli", "--"] + args, cwd=root).decode()

for doc, args in [
    ("docs/report.md", ["hive", "testdata/example/SYSTEM"]),
    ("docs/mapping.md", ["map", "--plan", "testdata/example/plan.json", "testdata/example/disk.qcow2"]),
]:
    out = regnet(args)
    p = os.path.join(root, doc)
    s = open(p).read()
    a = s.index("<!-- example:begin -->") + len("<!-- example:begin -->")
    b = s.index("<!-- example:end -->")
    open(p, "w").write(s[:a] + "\n```json\n" + out.rstrip() + "\n```\n" + s[b:])

os.makedirs(os.path.join(root, "docs/schema"), exist_ok=True)
for name in ["report", "report-input", "mapping", "plan", "table", "vm"]:
    with open(os.path.join(root, "docs/schema", name + ".schema.json"), "w") as f:
        f.write(regnet(["schema", name]))
