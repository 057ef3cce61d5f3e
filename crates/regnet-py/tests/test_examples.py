"""The examples in examples/python run against the bundled example and say what it holds."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO

EXAMPLES = REPO / "examples" / "python"


def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args], cwd=REPO, capture_output=True, text=True, timeout=300
    )


def test_extract_report() -> None:
    r = run("extract_report.py", "testdata/example/disk.qcow2", "testdata/example/app-srv-07.vmx")
    assert r.returncode == 0, r.stderr
    assert "Ethernet0: 00:50:56:9A:3C:1F static 10.41.7.20/24, 10.41.7.21/24" in r.stdout
    assert "on Prod-VLAN10" in r.stdout
    r = run("extract_report.py", "testdata/example/no-such.raw")
    assert r.returncode == 1 and "[io]" in r.stderr


def test_stream_extract() -> None:
    r = run("stream_extract.py", "testdata/example/disk.qcow2")
    assert r.returncode == 0, r.stderr
    assert "APP-SRV-07: 2 adapters" in r.stdout and "qcow2, gpt partition 1" in r.stdout


def test_map_vms() -> None:
    r = run("map_vms.py", "testdata/example/plan.json", "testdata/example/disk.qcow2")
    assert r.returncode == 0, r.stderr
    assert "cn-prod: 10.41.7.0/24 (NEA takes 10.41.7.1/24) for APP-SRV-07" in r.stdout


def test_hive_bytes() -> None:
    r = run("hive_bytes.py", "testdata/example/SYSTEM")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["hive"]["logs_applied"] == ["SYSTEM.LOG1", "SYSTEM.LOG2"]
