#!/usr/bin/env python3
"""Map VMs onto a plan's cloud networks and print what each network extension appliance takes.

    python examples/python/map_vms.py testdata/example/plan.json testdata/example/disk.qcow2
"""

from __future__ import annotations

import sys
import warnings

import regnet


def main(plan: str, inputs: list[str]) -> int:
    """Maps ``inputs`` (images, VM configurations, reports) onto ``plan``; 1 when it cannot."""
    with warnings.catch_warnings(record=True) as notes:
        warnings.simplefilter("always", regnet.RegnetWarning)
        try:
            mapping = regnet.map(inputs, plan)
        except regnet.RegnetError as e:
            print(f"no mapping: {e}", file=sys.stderr)
            return 1
    for note in notes:
        print(f"note: {note.message}", file=sys.stderr)
    print("automatic" if mapping.automatic else "from the table")
    for cloud in mapping.cloud_networks:
        for prod in cloud.production_networks:
            nea = f"NEA takes {prod.gateway}/{prod.prefix_len}" if prod.gateway else "no gateway"
            print(f"{cloud.name}: {prod.network} ({nea}) for {', '.join(prod.vms)}")
    for vm in mapping.vms:
        for nic in vm.nics:
            print(f"{vm.vm} {nic.name or nic.guid}: {nic.network} -> {nic.cloud_network}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
