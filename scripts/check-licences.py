#!/usr/bin/env python3
"""Fails when a crate in the normal (shipped) dependency graph of regnet's
published crates has a licence outside the permissive allow-list.

Dev-dependencies (nt-hive, the GPL test oracle), build tools and the
test-only crates (regnet-testkit, regnet-benches) are not shipped and are not
checked. Uses only `cargo metadata`."""
import json, re, subprocess, sys

ALLOWED = {"MIT", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "ISC", "Zlib", "Unicode-3.0",
           "Unicode-DFS-2016", "0BSD", "CC0-1.0", "BSL-1.0", "Apache-2.0 WITH LLVM-exception", "MIT-0", "NCSA"}
SHIPPED = {"regnet-hive", "regnet-image", "regnet-vmconfig", "regnet-linux", "regnet", "regnet-map", "regnet-cli", "regnet-py", "regnet-capi"}

meta = json.loads(subprocess.check_output(["cargo", "metadata", "--format-version", "1", "--locked"]))
pkgs = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}

def acceptable(expr):
    # An SPDX expression is fine when some OR-branch has only allowed licences.
    for branch in re.split(r"\s+OR\s+|/", expr.replace("(", "").replace(")", "")):
        parts = [p.strip() for p in re.split(r"\s+AND\s+", branch)]
        if all(p in ALLOWED for p in parts):
            return True
    return False

roots = [pid for pid, p in pkgs.items() if p["name"] in SHIPPED and p["source"] is None]
seen, stack, bad = set(), list(roots), []
while stack:
    pid = stack.pop()
    if pid in seen:
        continue
    seen.add(pid)
    p = pkgs[pid]
    lic = p.get("license") or ""
    if p["source"] is not None and not acceptable(lic):
        bad.append(f'{p["name"]} {p["version"]}: {lic or "no licence field"}')
    for dep in nodes[pid]["deps"]:
        if any(k["kind"] is None for k in dep["dep_kinds"]):  # normal dependencies only
            stack.append(dep["pkg"])
names = sorted(pkgs[p]["name"] for p in seen)
if bad:
    print("check-licences: not permissive:\n  " + "\n  ".join(bad), file=sys.stderr)
    sys.exit(1)
print(f"check-licences: {len(seen)} crates shipped by {', '.join(sorted(SHIPPED))}, all permissive"
      f" ({'nt-hive absent' if 'nt-hive' not in names else 'nt-hive PRESENT'})", file=sys.stderr)
sys.exit(1 if "nt-hive" in names else 0)
