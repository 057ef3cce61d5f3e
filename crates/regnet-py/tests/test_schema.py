"""The JSON Schemas of the contracts (docs/schema/*.schema.json): every report and mapping the
other tests receive is validated against them (conftest.check_schema) when they are there; these
tests say whether they are, and check them on reports of every kind."""

from __future__ import annotations

import pytest

import regnet
from conftest import GOOD, REPO, SCHEMA_DIR, check_schema, present, validator


@pytest.mark.parametrize("name", ["report", "mapping"])
def test_schema_is_there(name: str) -> None:
    path = SCHEMA_DIR / f"{name}.schema.json"
    if not path.is_file():
        pytest.skip(f"{path.relative_to(REPO)} is absent: reports and mappings are not validated against a schema")
    assert validator(name) is not None


def test_reports_of_every_kind_validate() -> None:
    if validator("report") is None:
        pytest.skip("docs/schema/report.schema.json is absent")
    checked = 0
    for path, _ in GOOD:
        if present(path):
            check_schema("report", regnet.extract(path).to_dict())
            checked += 1
    check_schema("report", regnet.report_from_hive("testdata/example/SYSTEM").to_dict())
    assert checked > 0


def test_mapping_validates() -> None:
    if validator("mapping") is None:
        pytest.skip("docs/schema/mapping.schema.json is absent")
    m = regnet.map(["testdata/example/disk.qcow2"], "testdata/example/plan.json")
    check_schema("mapping", m.to_dict())
