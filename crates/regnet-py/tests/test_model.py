"""The data model: frozen dataclasses with ipaddress and datetime values, the documented contract
in and out, unknown keys ignored, bad values refused."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from datetime import datetime, timezone
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address
from typing import Any

import pytest

import regnet
from conftest import REPO, check_schema

SYSTEM = "testdata/example/SYSTEM"


def doc_block(name: str, marker: str) -> Any:
    text = (REPO / "docs" / name).read_text(encoding="utf-8")
    m = re.search(rf"<!-- {marker}:begin -->\s*```json\n(.*?)```\s*<!-- {marker}:end -->", text, re.S)
    assert m, f"no {marker} block in docs/{name}"
    return json.loads(m.group(1))


def test_documented_example() -> None:
    """docs/report.md's full example is the example hive's report, field for field."""
    report = regnet.report_from_hive(SYSTEM)
    assert report.to_dict() == doc_block("report.md", "example")


def test_documented_minimal_report() -> None:
    minimal = doc_block("report.md", "minimal")
    r = regnet.Report.from_dict(minimal)
    assert r.hostname == "web01"
    assert r.os is not None and r.os.family == "linux" and r.os.id_like == ()
    a = r.adapters[0]
    assert a.guid is None and a.ipv4[0].interface == IPv4Interface("10.0.0.5/24")
    assert a.gateways[0].address == IPv4Address("10.0.0.1") and a.gateways[0].metric is None
    full = r.to_dict()
    assert set(full) == set(regnet.report_from_hive(SYSTEM).to_dict())
    assert regnet.Report.from_dict(full) == r
    check_schema("report", full)


def test_values_are_typed() -> None:
    r = regnet.report_from_hive(SYSTEM)
    prod, backup = r.adapters
    assert prod.ipv4[0].address == IPv4Address("10.41.7.20")
    assert prod.ipv4[0].network == IPv4Network("10.41.7.0/24")
    assert prod.ipv6[0].address == IPv6Address("fd00:0:0:41::14")
    assert str(prod.ipv6[0].interface) == "fd00:0:0:41::14/64"
    assert prod.dns_servers == (IPv4Address("10.41.7.11"), IPv4Address("10.41.7.10"))
    assert prod.ipv6_dns_servers == (IPv6Address("fd00:0:0:41::35"),)
    assert prod.wins_servers == (IPv4Address("10.41.7.12"),)
    lease = backup.dhcp_lease
    assert lease is not None
    assert lease.server == IPv4Address("192.168.50.1")
    assert lease.obtained_utc == datetime(2026, 3, 2, 10, 30, tzinfo=timezone.utc)
    assert lease.obtained_utc.tzinfo is not None and lease.obtained_utc.utcoffset() is not None
    assert lease.expires_utc is not None and lease.obtained is not None
    assert lease.expires_utc.timestamp() == lease.expires
    route = r.routes[0]
    assert route.network == IPv4Network("10.99.0.0/16") and route.gateway == IPv4Address("10.41.7.254")


def test_frozen_hashable_equal_by_value() -> None:
    a = regnet.report_from_hive(SYSTEM)
    b = regnet.report_from_hive(SYSTEM)
    assert a == b and a is not b and hash(a) == hash(b)
    assert len({a, b}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.hostname = "x"  # type: ignore[misc]
    renamed = dataclasses.replace(a, hostname="OTHER")
    assert renamed != a and renamed.to_dict()["hostname"] == "OTHER"


def test_unknown_keys_are_ignored() -> None:
    d = regnet.report_from_hive(SYSTEM).to_dict()
    newer = copy.deepcopy(d)
    newer["schema_version_minor"] = 3
    newer["adapters"][0]["future"] = {"x": [1, 2]}
    newer["hive"]["future"] = None
    assert regnet.Report.from_dict(newer).to_dict() == d


def test_bad_values_are_refused() -> None:
    d = regnet.report_from_hive(SYSTEM).to_dict()
    for path, value, field in [
        (("hostname",), 5, "Report.hostname"),
        (("control_set",), "1", "Report.control_set"),
        (("ip_forwarding",), 1, "Report.ip_forwarding"),
        (("adapters", 0, "ipv4", 0, "address"), "10.41.7.300", "Ipv4Entry.address"),
        (("adapters", 0, "dns_servers"), "10.0.0.1", "Adapter.dns_servers"),
        (("adapters", 1, "dhcp_lease", "obtained_utc"), "yesterday", "DhcpLease.obtained_utc"),
        (("routes", 0), [], "Route"),
    ]:
        bad = copy.deepcopy(d)
        target: Any = bad
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        with pytest.raises(ValueError, match=re.escape(field)):
            regnet.Report.from_dict(bad)
    with pytest.raises(ValueError, match="missing field 'schema_version'"):
        regnet.Report.from_dict({"hostname": "x"})
    with pytest.raises(ValueError, match="missing field 'address'"):
        regnet.Report.from_dict({"schema_version": 1, "adapters": [{"ipv4": [{"prefix_len": 24}]}]})


def test_addresses_written_as_rust_writes_them() -> None:
    """IPv6 text is RFC 5952, IPv4-mapped addresses as ::ffff:a.b.c.d (Rust's form, and
    Python's only from 3.13), times to the second with Z."""
    d = {
        "schema_version": 1,
        "adapters": [
            {
                "guid": None,
                "ipv6_dns_servers": ["::ffff:192.0.2.1", "2001:db8::1", "::"],
                "dhcpv6_dns_servers": ["2001:db8:0:0:1:0:0:1"],
                "presence": {"source": "device_times", "last_arrival": "2024-02-29T23:59:59Z"},
            }
        ],
    }
    out = regnet.Report.from_dict(d).to_dict()
    a = out["adapters"][0]
    assert a["ipv6_dns_servers"] == ["::ffff:192.0.2.1", "2001:db8::1", "::"]
    assert a["dhcpv6_dns_servers"] == ["2001:db8::1:0:0:1"]
    assert a["presence"]["last_arrival"] == "2024-02-29T23:59:59Z"


def test_mapping_from_dict_round_trip() -> None:
    m = {
        "schema_version": 1,
        "automatic": False,
        "cloud_networks": [
            {
                "name": "cn-a",
                "vlan": None,
                "internet": False,
                "production_networks": [
                    {"network": "VM Network", "subnet": None, "gateway": None, "prefix_len": None, "vms": ["web01"]}
                ],
            }
        ],
        "vms": [
            {
                "vm": "web01",
                "os": "linux",
                "nics": [
                    {
                        "guid": None,
                        "name": None,
                        "network": "VM Network",
                        "networks": ["VM Network"],
                        "cloud_network": "cn-a",
                        "addresses": [],
                    }
                ],
            }
        ],
        "warnings": [{"code": "unused_table_entry", "message": "x"}],
    }
    assert regnet.Mapping.from_dict(m).to_dict() == m
    assert json.loads(regnet.Mapping.from_dict(m).to_json()) == m
    check_schema("mapping", m)


def test_to_json_forms() -> None:
    r = regnet.report_from_hive(SYSTEM)
    compact = r.to_json()
    assert "\n" not in compact and compact.startswith('{"schema_version":1,"hostname":"APP-SRV-07"')
    assert json.loads(compact) == r.to_dict()
    assert regnet.Report.from_json(r.to_json(indent=2)) == r
    text = dataclasses.replace(r, hostname="SRV-É").to_json()
    assert '"SRV-É"' in text  # UTF-8 as serde_json writes it, not \\u escapes
