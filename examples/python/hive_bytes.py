#!/usr/bin/env python3
"""A report from a SYSTEM hive held in memory (e.g. fetched from a backup store), with its logs.

    python examples/python/hive_bytes.py testdata/example/SYSTEM
"""

from __future__ import annotations

import sys
from pathlib import Path

import regnet


def main(path: str) -> int:
    """Reads the hive and the logs beside it into memory and prints the report as JSON."""
    hive = Path(path)
    logs = [(p.name, p.read_bytes()) for p in sorted(hive.parent.glob(hive.name + ".LOG*"))]
    try:
        report = regnet.report_from_hive(hive.read_bytes(), log_bytes=logs)
    except regnet.RegnetError as e:
        print(f"{path}: {e}", file=sys.stderr)
        return 1
    print(report.to_json(indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
