#!/usr/bin/env python3
"""Regenerates the full examples in docs/report.md and docs/mapping.md from the program's output.
(crates/regnet-cli/tests/docs.rs fails when the two differ.)"""
import os, subprocess
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for doc, args in [
    ("docs/report.md", ["hive", "testdata/example/SYSTEM"]),
    ("docs/mapping.md", ["map", "--plan", "testdata/example/plan.json", "testdata/example/disk.qcow2"]),
]:
    out = subprocess.check_output(["cargo", "run", "-q", "-p", "regnet-cli", "--"] + args, cwd=root).decode()
    p = os.path.join(root, doc)
    s = open(p).read()
    a = s.index("<!-- example:begin -->") + len("<!-- example:begin -->")
    b = s.index("<!-- example:end -->")
    open(p, "w").write(s[:a] + "\n```json\n" + out.rstrip() + "\n```\n" + s[b:])
