#!/usr/bin/env python3
"""Regenerates the full example in docs/report.md from `regnet hive testdata/example/SYSTEM`.
(crates/regnet-cli/tests/docs.rs fails when the two differ.)"""
import os, subprocess
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = subprocess.check_output(["cargo", "run", "-q", "-p", "regnet-cli", "--", "hive", "testdata/example/SYSTEM"], cwd=root).decode()
p = os.path.join(root, "docs/report.md")
s = open(p).read()
a = s.index("<!-- example:begin -->") + len("<!-- example:begin -->")
b = s.index("<!-- example:end -->")
open(p, "w").write(s[:a] + "\n```json\n" + out.rstrip() + "\n```\n" + s[b:])
