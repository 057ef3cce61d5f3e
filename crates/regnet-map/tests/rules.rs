//! Every mapping rule, on reports built from the documented JSON contract.

use regnet_map::{map, MapError, Mapping, OtherVm, Plan, Table, VmInput};
use serde_json::json;

/// A NIC: (guid, name, addresses "a.b.c.d/len", gateways, dhcp, label).
struct N<'a>(&'a str, &'a str, &'a [&'a str], &'a [&'a str], bool, Option<&'a str>);

fn nic(n: &N<'_>) -> serde_json::Value {
    json!({
        "guid": n.0, "name": n.1, "description": null, "mac": null, "mac_source": null,
        "physical": true, "if_type": 6, "class_index": null, "dhcp": n.4,
        "ipv4": n.2.iter().map(|a| { let (ip, p) = a.split_once('/').unwrap(); json!({"address": ip, "prefix_len": p.parse::<u8>().unwrap()}) }).collect::<Vec<_>>(),
        "gateways": n.3.iter().map(|g| json!({"address": g, "metric": null})).collect::<Vec<_>>(),
        "dns_servers": [], "dns_source": null, "dns_suffix": "", "dhcp_lease": null, "ipv6": [],
        "ipv6_dns_servers": [], "dhcpv6_dns_servers": [], "wins_servers": [], "netbios": null,
        "mtu": null, "vlan_id": null, "interface_metric": null, "network": n.5,
    })
}

fn windows(host: &str, nics: &[N<'_>]) -> VmInput {
    let r = json!({
        "schema_version": 1, "hostname": host, "hostname_pending": null, "computer_name": host,
        "domain": null, "domain_pending": null, "search_list": [], "ip_forwarding": false,
        "control_set": 1, "control_set_source": "current",
        "hive": {"dirty": false, "logs_applied": [], "logs_ignored": [], "entries_applied": 0, "pages_applied": 0},
        "adapters": nics.iter().map(nic).collect::<Vec<_>>(), "routes": [], "warnings": [],
    });
    VmInput::windows(serde_json::from_value(r).expect("a valid report"))
}

fn other(name: &str, os: &str, labels: &[&str]) -> VmInput {
    let v = json!({"name": name, "os": os, "nics": labels.iter().map(|l| json!({"network": l})).collect::<Vec<_>>()});
    VmInput::Other(serde_json::from_value::<OtherVm>(v).unwrap())
}

fn plan(names: &[&str]) -> Plan {
    Plan::parse(&json!({"networks": names.iter().map(|n| json!({"name": n})).collect::<Vec<_>>()}).to_string()).unwrap()
}

fn table(entries: &[(&str, &str)]) -> Table {
    Table::parse(
        &json!({"map": entries.iter().map(|(p, c)| json!({"production": p, "cloud": c})).collect::<Vec<_>>()})
            .to_string(),
    )
    .unwrap()
}

/// (cloud network, [(production network, gateway, prefix)]) in plan order.
type Prod = (String, Option<String>, Option<u8>);

fn clouds(m: &Mapping) -> Vec<(String, Vec<Prod>)> {
    m.cloud_networks
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                c.production_networks
                    .iter()
                    .map(|p| (p.network.clone(), p.gateway.map(|g| g.to_string()), p.prefix_len))
                    .collect(),
            )
        })
        .collect()
}

fn nic_clouds(m: &Mapping) -> Vec<(String, String, String)> {
    m.vms
        .iter()
        .flat_map(|v| v.nics.iter().map(move |n| (v.vm.clone(), n.network.clone(), n.cloud_network.clone())))
        .collect()
}

fn s(x: &str) -> String {
    x.to_owned()
}

#[test]
fn equal_counts_map_automatically_in_a_stable_order() {
    // Two VMs, three production networks, listed in no particular order.
    let vms = [
        windows(
            "APP",
            &[
                N("{A1}", "Prod", &["10.41.7.20/24"], &["10.41.7.1"], false, None),
                N("{A2}", "Backup", &["192.168.50.23/24"], &["192.168.50.1"], true, None),
            ],
        ),
        windows(
            "DB",
            &[
                N("{B1}", "Prod", &["10.41.7.30/24"], &["10.41.7.1"], false, None),
                N("{B2}", "Repl", &["10.9.0.5/16"], &[], false, None),
            ],
        ),
    ];
    let m = map(&vms, &plan(&["cn-a", "cn-b", "cn-c"]), None).unwrap();
    assert!(m.automatic);
    // Subnets ascending: 10.9.0.0/16 < 10.41.7.0/24 < 192.168.50.0/24, onto the plan in order.
    assert_eq!(
        clouds(&m),
        vec![
            (s("cn-a"), vec![(s("10.9.0.0/16"), None, Some(16))]),
            (s("cn-b"), vec![(s("10.41.7.0/24"), Some(s("10.41.7.1")), Some(24))]),
            (s("cn-c"), vec![(s("192.168.50.0/24"), Some(s("192.168.50.1")), Some(24))]),
        ]
    );
    // Two VMs on one subnet share it.
    assert_eq!(m.cloud_networks[1].production_networks[0].vms, ["APP", "DB"]);
    assert_eq!(
        nic_clouds(&m),
        vec![
            (s("APP"), s("10.41.7.0/24"), s("cn-b")),
            (s("APP"), s("192.168.50.0/24"), s("cn-c")),
            (s("DB"), s("10.41.7.0/24"), s("cn-b")),
            (s("DB"), s("10.9.0.0/16"), s("cn-a")),
        ]
    );
    // The same input in another order gives the same mapping of networks.
    let rev = [vms[1].clone(), vms[0].clone()];
    assert_eq!(clouds(&map(&rev, &plan(&["cn-a", "cn-b", "cn-c"]), None).unwrap()), clouds(&m));
    // JSON: exactly the contract's names.
    let j = serde_json::to_value(&m).unwrap();
    assert_eq!(j["schema_version"], 1);
    assert_eq!(j["automatic"], true);
    assert_eq!(j["cloud_networks"][1]["production_networks"][0]["network"], "10.41.7.0/24");
    assert_eq!(j["cloud_networks"][1]["production_networks"][0]["gateway"], "10.41.7.1");
    assert_eq!(j["cloud_networks"][0]["production_networks"][0]["gateway"], serde_json::Value::Null);
    assert_eq!(j["vms"][0]["vm"], "APP");
    assert_eq!(j["vms"][0]["nics"][0]["guid"], "{A1}");
    assert_eq!(j["vms"][0]["nics"][0]["cloud_network"], "cn-b");
    assert!(j["warnings"].as_array().unwrap().is_empty());
}

#[test]
fn fewer_cloud_networks_need_a_table() {
    let vms = [windows(
        "APP",
        &[
            N("{A1}", "Prod", &["10.41.7.20/24"], &["10.41.7.1"], false, None),
            N("{A2}", "Backup", &["192.168.50.23/24"], &["192.168.50.1"], true, None),
        ],
    )];
    let e = map(&vms, &plan(&["cn-a"]), None).unwrap_err();
    assert!(matches!(e, MapError::CountMismatch { production: 2, cloud: 1, .. }), "{e}");
    assert!(e.to_string().contains("10.41.7.0/24, 192.168.50.0/24"), "{e}");
    // With a table, both go to the one cloud network.
    let t = table(&[("10.41.7.0/24", "cn-a"), ("192.168.50.0/24", "cn-a")]);
    let m = map(&vms, &plan(&["cn-a"]), Some(&t)).unwrap();
    assert!(!m.automatic);
    assert_eq!(m.cloud_networks[0].production_networks.len(), 2);
    assert_eq!(m.cloud_networks[0].production_networks[1].gateway.unwrap().to_string(), "192.168.50.1");
}

#[test]
fn more_cloud_networks_without_a_table_is_an_error_too() {
    let vms = [windows("APP", &[N("{A1}", "Prod", &["10.41.7.20/24"], &[], false, None)])];
    assert!(matches!(
        map(&vms, &plan(&["cn-a", "cn-b"]), None),
        Err(MapError::CountMismatch { production: 1, cloud: 2, .. })
    ));
}

#[test]
fn a_vm_regnet_could_not_read_needs_a_table() {
    let vms = [
        windows("APP", &[N("{A1}", "Prod", &["10.41.7.20/24"], &["10.41.7.1"], false, None)]),
        other("web01", "linux", &["VM Network"]),
    ];
    let e = map(&vms, &plan(&["cn-a", "cn-b"]), None).unwrap_err();
    assert!(matches!(&e, MapError::NotWindows { vms } if vms == &["web01 (linux)"]), "{e}");
    let t = table(&[("10.41.7.0/24", "cn-a"), ("VM Network", "cn-b")]);
    let m = map(&vms, &plan(&["cn-a", "cn-b"]), Some(&t)).unwrap();
    assert_eq!(
        nic_clouds(&m),
        vec![(s("APP"), s("10.41.7.0/24"), s("cn-a")), (s("web01"), s("VM Network"), s("cn-b"))]
    );
    assert_eq!(m.vms[1].os, "linux");
    assert_eq!(clouds(&m)[1].1, vec![(s("VM Network"), None, None)]);
}

#[test]
fn labels_on_report_adapters_name_their_network() {
    // The caller knows the port group of APP's NIC: it joins web01 there, and its gateway serves the NEA.
    let vms = [
        windows("APP", &[N("{A1}", "Prod", &["10.41.7.20/24"], &["10.41.7.1"], false, Some("VM Network"))]),
        other("web01", "linux", &["VM Network"]),
    ];
    let t = table(&[("VM Network", "cn-a")]);
    let m = map(&vms, &plan(&["cn-a"]), Some(&t)).unwrap();
    assert_eq!(clouds(&m), vec![(s("cn-a"), vec![(s("VM Network"), Some(s("10.41.7.1")), Some(24))])]);
    assert_eq!(m.cloud_networks[0].production_networks[0].vms, ["APP", "web01"]);
}

#[test]
fn every_production_network_must_be_in_the_table() {
    let vms = [windows(
        "APP",
        &[N("{A1}", "Prod", &["10.41.7.20/24"], &[], false, None), N("{A2}", "B", &["10.42.0.9/16"], &[], false, None)],
    )];
    let e = map(&vms, &plan(&["cn-a"]), Some(&table(&[("10.41.7.0/24", "cn-a")]))).unwrap_err();
    assert!(matches!(&e, MapError::Unmapped { networks } if networks == &[(s("10.42.0.0/16"), vec![s("APP")])]), "{e}");
    // A table entry may be written with a host address: it names its subnet.
    let m = map(&vms, &plan(&["cn-a"]), Some(&table(&[("10.41.7.99/24", "cn-a"), ("10.42.0.0/16", "cn-a")]))).unwrap();
    assert_eq!(m.cloud_networks[0].production_networks.len(), 2);
}

#[test]
fn a_table_naming_an_unknown_cloud_network_is_an_error() {
    let vms = [windows("APP", &[N("{A1}", "Prod", &["10.41.7.20/24"], &[], false, None)])];
    let e = map(&vms, &plan(&["cn-a"]), Some(&table(&[("10.41.7.0/24", "cn-z")]))).unwrap_err();
    assert!(matches!(&e, MapError::UnknownCloudNetwork { cloud, .. } if cloud == "cn-z"), "{e}");
    // An unused entry is only a warning.
    let m = map(&vms, &plan(&["cn-a"]), Some(&table(&[("10.41.7.0/24", "cn-a"), ("10.99.0.0/16", "cn-a")]))).unwrap();
    assert_eq!(m.warnings.iter().map(|w| w.code.as_str()).collect::<Vec<_>>(), ["unused_table_entry"]);
}

#[test]
fn conflicting_gateways_on_one_subnet_name_the_vms() {
    let vms = [
        windows("APP", &[N("{A1}", "Prod", &["10.41.7.20/24"], &["10.41.7.1"], false, None)]),
        windows("DB", &[N("{B1}", "Prod", &["10.41.7.30/24"], &["10.41.7.254"], false, None)]),
    ];
    let e = map(&vms, &plan(&["cn-a"]), None).unwrap_err();
    assert!(matches!(&e, MapError::GatewayConflict { network, .. } if network == "10.41.7.0/24"), "{e}");
    assert!(e.to_string().contains("APP uses 10.41.7.1") && e.to_string().contains("DB uses 10.41.7.254"), "{e}");
}

#[test]
fn different_masks_on_one_network_and_nested_subnets_conflict() {
    let vms = [
        windows("APP", &[N("{A1}", "Prod", &["10.41.7.20/24"], &[], false, None)]),
        windows("DB", &[N("{B1}", "Prod", &["10.41.7.30/25"], &[], false, None)]),
    ];
    let e = map(&vms, &plan(&["cn-a", "cn-b"]), None).unwrap_err();
    assert!(
        matches!(&e, MapError::Overlap { a_vms, b_vms, .. } if a_vms == &["DB"] && b_vms == &["APP"] || a_vms == &["APP"] && b_vms == &["DB"]),
        "{e}"
    );
    let vms = [
        windows("APP", &[N("{A1}", "Prod", &["10.41.7.20/24"], &[], false, None)]),
        windows("DB", &[N("{B1}", "Wide", &["10.41.200.1/16"], &[], false, None)]),
    ];
    assert!(matches!(map(&vms, &plan(&["cn-a", "cn-b"]), None), Err(MapError::Overlap { .. })));
}

#[test]
fn a_dhcp_nic_counts_with_its_leased_subnet() {
    let vms = [windows("APP", &[N("{A1}", "Wi-Fi", &["192.168.0.7/24"], &["192.168.0.1"], true, None)])];
    let m = map(&vms, &plan(&["cn-a"]), None).unwrap();
    assert_eq!(clouds(&m), vec![(s("cn-a"), vec![(s("192.168.0.0/24"), Some(s("192.168.0.1")), Some(24))])]);
}

#[test]
fn a_nic_with_two_subnets() {
    let vms = [windows("APP", &[N("{A1}", "Prod", &["10.41.7.20/24", "10.41.8.20/24"], &["10.41.7.1"], false, None)])];
    // Automatic: two production networks, two cloud networks: the NIC would need both.
    let e = map(&vms, &plan(&["cn-a", "cn-b"]), None).unwrap_err();
    assert!(matches!(&e, MapError::NicSpansClouds { vm, .. } if vm == "APP"), "{e}");
    // With a table sending both to one cloud network it is fine, and both networks are listed.
    let t = table(&[("10.41.7.0/24", "cn-a"), ("10.41.8.0/24", "cn-a")]);
    let m = map(&vms, &plan(&["cn-a", "cn-b"]), Some(&t)).unwrap();
    assert_eq!(m.vms[0].nics[0].networks, ["10.41.7.0/24", "10.41.8.0/24"]);
    assert_eq!(m.vms[0].nics[0].cloud_network, "cn-a");
    // The gateway belongs to the subnet it is in; the other has none.
    assert_eq!(
        clouds(&m)[0].1,
        vec![(s("10.41.7.0/24"), Some(s("10.41.7.1")), Some(24)), (s("10.41.8.0/24"), None, Some(24))]
    );
    assert_eq!(m.warnings.iter().map(|w| w.code.as_str()).collect::<Vec<_>>(), ["idle_cloud_network"]);
}

#[test]
fn an_adapter_without_ipv4_is_ignored_with_a_warning() {
    let vms = [windows(
        "APP",
        &[N("{A1}", "Prod", &["10.41.7.20/24"], &[], false, None), N("{A2}", "Spare", &[], &[], true, None)],
    )];
    let m = map(&vms, &plan(&["cn-a"]), None).unwrap();
    assert_eq!(m.vms[0].nics.len(), 1);
    assert_eq!(m.warnings.len(), 1);
    assert_eq!(m.warnings[0].code, "nic_without_ipv4");
    assert!(m.warnings[0].message.contains("{A2}"), "{}", m.warnings[0].message);
}

#[test]
fn plans_and_tables_read_from_json_or_toml() {
    let p = Plan::parse("[[networks]]\nname = \"cn-a\"\nvlan = 10\ninternet = true\n\n[[networks]]\nname = \"cn-b\"\n")
        .unwrap();
    assert_eq!(
        p,
        Plan::parse(r#"{"networks": [{"name": "cn-a", "vlan": 10, "internet": true}, {"name": "cn-b"}]}"#).unwrap()
    );
    let t = Table::parse("[[map]]\nproduction = \"10.41.7.0/24\"\ncloud = \"cn-a\"\n").unwrap();
    assert_eq!(t.map.len(), 1);
    assert!(Plan::parse("{\"networks\": 3}").is_err());
    assert!(matches!(map(&[], &plan(&[]), None), Err(MapError::BadPlan(_))));
    assert!(matches!(map(&[], &plan(&["a", "a"]), None), Err(MapError::BadPlan(_))));
}

/// Thousands of addresses and gateways on one NIC (a crafted hive can hold them): every step is
/// near-linear, so this completes at once and gives the ordinary error.
#[test]
fn many_addresses_stay_cheap() {
    let net = |i: u32| format!("{}.{}.{}", 10 + i / 16_384, (i / 64) % 256, (i % 64) * 4);
    let addrs: Vec<String> = (0..20_000u32).map(|i| format!("{}.1/30", net(i))).collect();
    let gws: Vec<String> = (0..20_000u32).map(|i| format!("{}.2", net(i))).collect();
    let a: Vec<&str> = addrs.iter().map(String::as_str).collect();
    let g: Vec<&str> = gws.iter().map(String::as_str).collect();
    let vms = [windows("BIG", &[N("{A1}", "Prod", &a, &g, false, None)])];
    let e = map(&vms, &plan(&["cn-a"]), None).unwrap_err();
    assert!(matches!(e, MapError::CountMismatch { production: 20_000, cloud: 1, .. }), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Production networks by name (from VM configuration files)
// ---------------------------------------------------------------------------------------------

/// A report whose adapters are marked present or absent.
fn with_presence(vm: VmInput, present: &[Option<bool>]) -> VmInput {
    let VmInput::Windows { report, name } = vm else { panic!("a report") };
    let mut v = serde_json::to_value(&*report).unwrap();
    for (a, p) in v["adapters"].as_array_mut().unwrap().iter_mut().zip(present) {
        a["present"] = json!(p);
    }
    VmInput::Windows { report: Box::new(serde_json::from_value(v).unwrap()), name }
}

/// (network, subnet, gateway, prefix) of each production network, in plan order.
/// (network, subnet, gateway, prefix).
type Named = (String, Option<String>, Option<String>, Option<u8>);

fn named(m: &Mapping) -> Vec<Named> {
    m.cloud_networks
        .iter()
        .flat_map(|c| {
            c.production_networks
                .iter()
                .map(|p| (p.network.clone(), p.subnet.clone(), p.gateway.map(|g| g.to_string()), p.prefix_len))
        })
        .collect()
}

#[test]
fn named_networks_take_their_guests_subnet_and_gateway() {
    let vms = [
        windows(
            "APP",
            &[
                N("{A1}", "Ethernet0", &["10.41.7.20/24", "10.41.7.21/24"], &["10.41.7.1"], false, Some("Prod-VLAN10")),
                N("{A2}", "Backup", &["192.168.50.23/24"], &["192.168.50.1"], true, Some("Backup-VLAN20")),
            ],
        ),
        windows("WEB", &[N("{B1}", "Ethernet0", &["10.41.7.30/24"], &["10.41.7.1"], false, Some("Prod-VLAN10"))]),
    ];
    let m = map(&vms, &plan(&["cn-a", "cn-b"]), None).unwrap();
    assert!(m.automatic);
    // Named networks take their subnet's place in the order: Prod-VLAN10 (10.41.7.0/24) first,
    // as the same VMs read without names would be.
    assert_eq!(
        named(&m),
        [
            (s("Prod-VLAN10"), Some(s("10.41.7.0/24")), Some(s("10.41.7.1")), Some(24)),
            (s("Backup-VLAN20"), Some(s("192.168.50.0/24")), Some(s("192.168.50.1")), Some(24)),
        ]
    );
    assert_eq!(m.cloud_networks[0].production_networks[0].vms, ["APP", "WEB"]);
    // The same VMs without names: the same cloud network for every NIC.
    let unnamed = [
        windows(
            "APP",
            &[
                N("{A1}", "Ethernet0", &["10.41.7.20/24", "10.41.7.21/24"], &["10.41.7.1"], false, None),
                N("{A2}", "Backup", &["192.168.50.23/24"], &["192.168.50.1"], true, None),
            ],
        ),
        windows("WEB", &[N("{B1}", "Ethernet0", &["10.41.7.30/24"], &["10.41.7.1"], false, None)]),
    ];
    let plain = map(&unnamed, &plan(&["cn-a", "cn-b"]), None).unwrap();
    let clouds_of =
        |m: &Mapping| m.vms.iter().flat_map(|v| v.nics.iter().map(|n| n.cloud_network.clone())).collect::<Vec<_>>();
    assert_eq!(clouds_of(&plain), clouds_of(&m));
    // A named network none of whose NICs has an address comes after every subnet, by name.
    let vms = [
        windows("APP", &[N("{A1}", "Ethernet0", &["10.41.7.20/24"], &[], false, None)]),
        windows("NEW", &[N("{C1}", "Ethernet0", &[], &[], true, Some("Another"))]),
    ];
    let m = map(&vms, &plan(&["cn-a", "cn-b"]), None).unwrap();
    assert_eq!(
        named(&m),
        [(s("10.41.7.0/24"), Some(s("10.41.7.0/24")), None, Some(24)), (s("Another"), None, None, None)]
    );
}

#[test]
fn a_nic_without_a_name_joins_the_named_network_of_its_subnet() {
    let vms = [
        windows("APP", &[N("{A1}", "Ethernet0", &["10.41.7.20/24"], &["10.41.7.1"], false, Some("Prod-VLAN10"))]),
        // Known only from its disk: no names.
        windows("OLD", &[N("{C1}", "Ethernet0", &["10.41.7.40/24"], &["10.41.7.1"], false, None)]),
    ];
    let m = map(&vms, &plan(&["cn-a"]), None).unwrap();
    assert_eq!(named(&m), [(s("Prod-VLAN10"), Some(s("10.41.7.0/24")), Some(s("10.41.7.1")), Some(24))]);
    assert_eq!(nic_clouds(&m), [(s("APP"), s("Prod-VLAN10"), s("cn-a")), (s("OLD"), s("Prod-VLAN10"), s("cn-a"))]);
    // Its gateway counts: a different one on the named network is a conflict naming both VMs.
    let vms = [
        windows("APP", &[N("{A1}", "Ethernet0", &["10.41.7.20/24"], &["10.41.7.1"], false, Some("Prod-VLAN10"))]),
        windows("OLD", &[N("{C1}", "Ethernet0", &["10.41.7.40/24"], &["10.41.7.254"], false, None)]),
    ];
    let e = map(&vms, &plan(&["cn-a"]), None).unwrap_err();
    assert!(matches!(&e, MapError::GatewayConflict { network, .. } if network == "Prod-VLAN10"), "{e}");
    assert!(e.to_string().contains("APP uses 10.41.7.1") && e.to_string().contains("OLD uses 10.41.7.254"), "{e}");
}

#[test]
fn two_guests_on_one_named_network_in_different_subnets_is_an_error() {
    let vms = [
        windows("APP", &[N("{A1}", "Ethernet0", &["10.41.7.20/24"], &[], false, Some("Prod-VLAN10"))]),
        windows("WEB", &[N("{B1}", "Ethernet0", &["10.41.8.30/24"], &[], false, Some("Prod-VLAN10"))]),
    ];
    let e = map(&vms, &plan(&["cn-a"]), None).unwrap_err();
    assert!(matches!(e, MapError::NamedNetworkConflict { .. }), "{e}");
    let t = e.to_string();
    assert!(t.contains("APP in 10.41.7.0/24") && t.contains("WEB in 10.41.8.0/24"), "{t}");
    // A secondary address in another subnet is not a disagreement: the first address decides.
    let vms = [
        windows("APP", &[N("{A1}", "Ethernet0", &["10.41.7.20/24", "10.99.0.5/16"], &[], false, Some("P"))]),
        windows("WEB", &[N("{B1}", "Ethernet0", &["10.41.7.30/24"], &[], false, Some("P"))]),
    ];
    assert!(map(&vms, &plan(&["cn-a"]), None).is_ok());
}

#[test]
fn one_subnet_under_two_names_is_an_error() {
    let vms = [
        windows("APP", &[N("{A1}", "Ethernet0", &["10.41.7.20/24"], &[], false, Some("Prod"))]),
        windows("WEB", &[N("{B1}", "Ethernet0", &["10.41.7.30/24"], &[], false, Some("VM Network"))]),
    ];
    let e = map(&vms, &plan(&["cn-a", "cn-b"]), None).unwrap_err();
    assert!(matches!(e, MapError::SubnetNamedTwice { .. }), "{e}");
    let t = e.to_string();
    assert!(
        t.contains("\"Prod\" (used by APP)")
            && t.contains("\"VM Network\" (used by WEB)")
            && t.contains("10.41.7.0/24"),
        "{t}"
    );
}

#[test]
fn named_subnets_overlap_like_any_other() {
    let vms = [
        windows("APP", &[N("{A1}", "Ethernet0", &["10.41.7.20/24"], &[], false, Some("Prod"))]),
        windows("WEB", &[N("{B1}", "Ethernet0", &["10.41.0.30/16"], &[], false, None)]),
    ];
    let e = map(&vms, &plan(&["cn-a", "cn-b"]), None).unwrap_err();
    assert!(matches!(e, MapError::Overlap { .. }), "{e}");
}

#[test]
fn a_table_may_name_a_named_network_by_name_or_by_subnet() {
    let vms = [
        windows(
            "APP",
            &[
                N("{A1}", "Ethernet0", &["10.41.7.20/24"], &["10.41.7.1"], false, Some("Prod-VLAN10")),
                N("{A2}", "Backup", &["192.168.50.23/24"], &[], true, Some("Backup-VLAN20")),
            ],
        ),
        other("web01", "linux", &["Prod-VLAN10"]),
    ];
    let t = table(&[("10.41.7.0/24", "cn-a"), ("Backup-VLAN20", "cn-a")]);
    let m = map(&vms, &plan(&["cn-a"]), Some(&t)).unwrap();
    assert!(!m.automatic);
    assert_eq!(
        named(&m),
        [
            (s("Backup-VLAN20"), Some(s("192.168.50.0/24")), None, Some(24)),
            (s("Prod-VLAN10"), Some(s("10.41.7.0/24")), Some(s("10.41.7.1")), Some(24)),
        ]
    );
    assert_eq!(m.cloud_networks[0].production_networks[1].vms, ["APP", "web01"]);
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    // Without the table the VM file needs one.
    let e = map(&vms, &plan(&["cn-a", "cn-b"]), None).unwrap_err();
    assert!(matches!(e, MapError::NotWindows { .. }), "{e}");
}

#[test]
fn absent_adapters_are_left_out_unless_asked_for() {
    let vm = windows(
        "APP",
        &[
            N("{A1}", "Ethernet0", &["10.41.7.20/24"], &["10.41.7.1"], false, None),
            N("{A9}", "Ethernet 2", &["172.16.9.5/24"], &["172.16.9.1"], false, None),
        ],
    );
    let vms = [with_presence(vm, &[Some(true), Some(false)])];
    let m = map(&vms, &plan(&["cn-a"]), None).unwrap();
    assert_eq!(clouds(&m), [(s("cn-a"), vec![(s("10.41.7.0/24"), Some(s("10.41.7.1")), Some(24))])]);
    assert_eq!(m.warnings.len(), 1);
    assert_eq!(m.warnings[0].code, "absent_adapter");
    assert!(m.warnings[0].message.contains("{A9}") && m.warnings[0].message.contains("--include-absent"));
    let mut o = regnet_map::MapOptions::default();
    o.include_absent = true;
    let e = regnet_map::map_with(&vms, &plan(&["cn-a"]), None, &o).unwrap_err();
    assert!(matches!(e, MapError::CountMismatch { production: 2, .. }), "{e}");
    // Unknown presence counts as present.
    let vm = windows("APP", &[N("{A1}", "Ethernet0", &["10.41.7.20/24"], &[], false, None)]);
    assert!(map(&[with_presence(vm, &[None])], &plan(&["cn-a"]), None).is_ok());
}

/// A report written by hand (or by another tool, or an older regnet) with only the required
/// fields loads and maps: every optional field defaults (docs/report.md, "Minimal report").
#[test]
fn a_minimal_report_loads_and_maps() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/report.md")).unwrap();
    let start = doc.find("<!-- minimal:begin -->").expect("docs/report.md has the minimal report");
    let body = &doc[start..];
    let json = &body[body.find("```json").unwrap() + 7..];
    let json = &json[..json.find("```").unwrap()];
    let r: regnet::Report = serde_json::from_str(json).unwrap();
    assert_eq!(r.adapters[0].name.as_deref(), Some("eth0"));
    assert!(r.adapters[0].guid.is_empty());
    let m = map(&[VmInput::windows(r)], &plan(&["cn-a"]), None).unwrap();
    assert!(m.automatic);
    assert_eq!(m.vms[0].os, "linux");
    assert_eq!(m.vms[0].nics[0].guid, None);
    assert_eq!(clouds(&m), [(s("cn-a"), vec![(s("10.0.0.0/24"), Some(s("10.0.0.1")), Some(24))])]);
}
