"""regnet.map against `regnet map`: the same mapping from paths, reports, dicts and plan texts; the
same errors and notes."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest

import regnet
from conftest import REPO, check_schema, run_cli

PLAN = "testdata/example/plan.json"
DISK = "testdata/example/disk.qcow2"
VMX = "testdata/example/app-srv-07.vmx"


def cli_map(cli: Path, *args: str) -> tuple[dict[str, Any] | None, str, str]:
    """`regnet map` run: (parsed JSON or None, stdout, stderr)."""
    r = run_cli(cli, "map", *args, check=False)
    return (json.loads(r.stdout) if r.returncode == 0 else None), r.stdout, r.stderr


def test_example_equals_cli(cli: Path) -> None:
    want, stdout, _ = cli_map(cli, "--plan", PLAN, DISK)
    assert want is not None
    m = regnet.map([DISK], Path(PLAN))
    assert m.to_dict() == want
    # Byte for byte as the command's pretty output.
    assert m.to_json(indent=2) + "\n" == stdout
    assert m.automatic
    check_schema("mapping", m.to_dict())


def test_inputs_in_every_form(cli: Path) -> None:
    want, _, _ = cli_map(cli, "--plan", PLAN, DISK)
    report = regnet.extract(DISK)
    plan_dict = json.loads((REPO / PLAN).read_text())
    toml_plan = '[[networks]]\nname = "cn-prod"\nvlan = 10\ninternet = true\n\n[[networks]]\nname = "cn-backup"\nvlan = 20\n'
    forms: list[tuple[list[Any], Any]] = [
        ([report], PLAN),
        ([report.to_dict()], plan_dict),
        ([{"image": DISK, "report": report.to_dict()}], json.dumps(plan_dict)),
        ([Path(DISK)], toml_plan),
    ]
    for inputs, plan in forms:
        assert regnet.map(inputs, plan).to_dict() == want


def test_report_file_input(cli: Path, tmp_path: Path) -> None:
    report_file = tmp_path / "report.json"
    report_file.write_text(regnet.extract(DISK).to_json(indent=2))
    want, _, _ = cli_map(cli, "--plan", PLAN, str(report_file))
    assert want is not None
    assert regnet.map([report_file], PLAN).to_dict() == want


def test_vm_configuration_equals_cli(cli: Path) -> None:
    want, _, _ = cli_map(cli, "--plan", PLAN, VMX)
    assert want is not None
    assert regnet.map([VMX], PLAN).to_dict() == want


def test_table(cli: Path, tmp_path: Path) -> None:
    table = {"map": [{"production": "10.41.7.0/24", "cloud": "cn-prod"}, {"production": "192.168.50.0/24", "cloud": "cn-prod"}]}
    table_file = tmp_path / "table.json"
    table_file.write_text(json.dumps(table))
    want, _, _ = cli_map(cli, "--plan", PLAN, "--table", str(table_file), DISK)
    assert want is not None
    m = regnet.map([DISK], PLAN, table)
    assert m.to_dict() == want
    assert not m.automatic
    assert regnet.map([DISK], PLAN, table_file) == m
    check_schema("mapping", m.to_dict())


def test_map_error_equals_cli(cli: Path, tmp_path: Path) -> None:
    plan = {"networks": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}
    plan_file = tmp_path / "plan3.json"
    plan_file.write_text(json.dumps(plan))
    _, _, stderr = cli_map(cli, "--plan", str(plan_file), DISK)
    with pytest.raises(regnet.MapError) as info:
        regnet.map([DISK], plan)
    assert f"regnet: {info.value}\n" == stderr
    assert info.value.kind == "map"
    back = pickle.loads(pickle.dumps(info.value))
    assert (type(back), str(back)) == (regnet.MapError, str(info.value))


def test_bad_plan_equals_cli(cli: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"networks": 5}')
    _, _, stderr = cli_map(cli, "--plan", str(bad), DISK)
    with pytest.raises(regnet.MapError) as info:
        regnet.map([DISK], bad)
    assert f"regnet: {info.value}\n" == stderr


def test_bad_input(cli: Path) -> None:
    with pytest.raises(regnet.MapError, match="neither a regnet report"):
        regnet.map([{"hello": 1}], PLAN)
    with pytest.raises(TypeError):
        regnet.map(DISK, PLAN)
    _, _, stderr = cli_map(cli, "--plan", PLAN, "testdata/example/no-such.vmdk")
    with pytest.raises(regnet.IoError) as info:
        regnet.map(["testdata/example/no-such.vmdk"], PLAN)
    assert f"regnet: {info.value}\n" == stderr


def test_absent_adapters(cli: Path) -> None:
    one_nic = "target/testdata/vms/esxi/app-srv-07-one-nic.vmx"
    if not (REPO / one_nic).exists():
        pytest.skip(f"{one_nic} is absent: run testdata/build.sh")
    _, _, stderr = cli_map(cli, "--plan", PLAN, one_nic)
    with pytest.raises(regnet.MapError) as info:
        regnet.map([one_nic], PLAN)
    assert f"regnet: {info.value}\n" == stderr
    want, _, _ = cli_map(cli, "--plan", PLAN, "--include-absent", one_nic)
    assert regnet.map([one_nic], PLAN, include_absent=True).to_dict() == want


def test_vm_known_from_its_configuration_only(cli: Path, tmp_path: Path) -> None:
    """A VM configuration whose guest cannot be read takes part with its NICs' networks; the
    command's note on stderr is a RegnetWarning."""
    shadow = "target/testdata/vms/hostile/shadow.vmx"
    if not (REPO / shadow).exists():
        pytest.skip(f"{shadow} is absent: run testdata/build.sh")
    table = {"map": [{"production": "Prod", "cloud": "cn-prod"}]}
    table_file = tmp_path / "table.json"
    table_file.write_text(json.dumps(table))
    want, _, stderr = cli_map(cli, "--plan", PLAN, "--table", str(table_file), shadow)
    assert want is not None
    with pytest.warns(regnet.RegnetWarning) as caught:
        m = regnet.map([shadow], PLAN, table)
    assert m.to_dict() == want
    assert [f"regnet: {w.message}\n" for w in caught] == [stderr]


def test_mapping_model() -> None:
    m = regnet.map([DISK], PLAN)
    prod = m.cloud_networks[0].production_networks[0]
    assert str(prod.subnet) == "10.41.7.0/24" and prod.subnet is not None and prod.subnet.prefixlen == 24
    assert str(prod.gateway) == "10.41.7.1"
    nic = m.vms[0].nics[0]
    assert [str(a) for a in nic.addresses] == ["10.41.7.20/24", "10.41.7.21/24"]
    assert all(a.network == prod.subnet for a in nic.addresses)
    assert regnet.Mapping.from_dict(m.to_dict()) == m
    assert pickle.loads(pickle.dumps(m)) == m
