#!/usr/bin/env python3
"""Print each guest's adapters, from disk images or VM configuration files.

    python examples/python/extract_report.py testdata/example/disk.qcow2 testdata/example/app-srv-07.vmx
"""

from __future__ import annotations

import sys

import regnet


def describe(report: regnet.Report) -> str:
    """A few lines about a report: host, OS, then one line per adapter."""
    os_family = report.os.family if report.os else "unknown"
    lines = [f"{report.hostname or '(no host name)'} ({os_family})"]
    for a in report.adapters:
        if a.present is False:
            continue  # a ghost: a NIC the VM no longer has
        mode = "dhcp" if a.dhcp else "static"
        addresses = ", ".join(str(e.interface) for e in a.ipv4) or "no IPv4"
        gateways = ", ".join(str(g.address) for g in a.gateways) or "none"
        dns = ", ".join(str(d) for d in a.dns_servers) or "none"
        network = f" on {a.network}" if a.network else ""
        lines.append(f"  {a.name or a.guid}: {a.mac or '?'} {mode} {addresses}; gateway {gateways}; dns {dns}{network}")
    return "\n".join(lines)


def main(paths: list[str]) -> int:
    """Extracts each path; returns 1 when one failed."""
    failed = 0
    for path in paths:
        try:
            print(describe(regnet.extract(path)))
        except regnet.RegnetError as e:
            print(f"{path}: {e} [{e.kind}]", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
