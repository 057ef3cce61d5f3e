//! Writer-made scenario tests: SYSTEM trees built with `regnet-testkit`, written to regf bytes, read
//! back through `regnet::report_from_hive_bytes`, with exact assertions on the `Report`.
//!
//! Every test builds its own small SYSTEM tree with the [`Sys`] builder below (a control set with a
//! host name, then adapters added key by key), so each scenario states exactly which registry values

use proptest::prelude::*;
use regnet::hive::LogFile;
use regnet::{Adapter, ControlSetSource, DnsSource, Error, Ipv4Entry, MacSource, Netbios, Options, Report};
use regnet_testkit::example::{example_system, NIC_BACKUP, NIC_PROD};
use regnet_testkit::{new_format_logs, write_hive, KeySpec, LogSplit, Name, ValueSpec, WriterOptions};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

/// The network adapter device class.
const NET: &str = "{4D36E972-E325-11CE-BFC1-08002BE10318}";
/// Nsi persistent unicast address tables (IPv4, IPv6), relative to a control set.
const NSI4: &str = "Control\\Nsi\\{eb004a00-9b1a-11d4-9123-0050047759bc}\\10";
const NSI6: &str = "Control\\Nsi\\{eb004a01-9b1a-11d4-9123-0050047759bc}\\10";

const G1: &str = "{6AAFC9A9-0542-4DB2-8760-CCFFA953737C}";
const G2: &str = "{698E50A9-4F58-4D86-B61D-F42E58DCACF6}";
const G3: &str = "{4B0AE068-B350-4BD4-85AB-77E00E581863}";
const G4: &str = "{08BA0CD8-E98C-475C-BADF-65130C043BD6}";
/// An empty "\x80nonic" pseudo-interface key, as Windows leaves under Tcpip\...\Interfaces.
const PSEUDO: &str = "{e29ac6c2-7037-11de-816d-806e6f6e6963}";

const REG_SZ: u32 = 1;
const REG_MULTI_SZ: u32 = 7;

fn sz(name: &str, s: &str) -> ValueSpec {
    ValueSpec::sz(name, s)
}
fn multi(name: &str, items: &[&str]) -> ValueSpec {
    ValueSpec::multi_sz(name, items)
}
fn dw(name: &str, n: u32) -> ValueSpec {
    ValueSpec::dword(name, n)
}
fn bin(name: &str, data: &[u8]) -> ValueSpec {
    ValueSpec::binary(name, data.to_vec())
}
fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// Finds or creates the key at `path` (backslash-separated) below `k`, names compared
/// case-insensitively as the registry does.
fn ensure<'k>(k: &'k mut KeySpec, path: &str) -> &'k mut KeySpec {
    let mut k = k;
    for part in path.split('\\').filter(|p| !p.is_empty()) {
        let want = Name::auto(part).upcase_units();
        let i = match k.subkeys.iter().position(|s| s.name.upcase_units() == want) {
            Some(i) => i,
            None => {
                k.subkeys.push(KeySpec::new(part));
                k.subkeys.len() - 1
            }
        };
        k = &mut k.subkeys[i];
    }
    k
}

/// Sets a value, replacing one of the same name (case-insensitively).
fn put(k: &mut KeySpec, v: ValueSpec) {
    let want = v.name.upcase_units();
    match k.values.iter_mut().find(|o| o.name.upcase_units() == want) {
        Some(old) => *old = v,
        None => k.values.push(v),
    }
}

/// A SYSTEM tree under construction. Paths given to its methods are relative to the control set it
/// is working on (`ControlSet001` unless [`Sys::in_set`] said otherwise).
#[derive(Clone)]
struct Sys {
    root: KeySpec,
    cs: String,
}

impl Sys {
    /// `Select` (Current = Default = LastKnownGood = 1) and ControlSet001 with host name `HOST-01`.
    fn new() -> Sys {
        Sys { root: KeySpec::new("ROOT"), cs: "ControlSet001".into() }
            .root_values("Select", vec![dw("Current", 1), dw("Default", 1), dw("Failed", 0), dw("LastKnownGood", 1)])
            .params(vec![sz("Hostname", "HOST-01"), sz("NV Hostname", "HOST-01")])
            .with("Control\\ComputerName\\ComputerName", vec![sz("ComputerName", "HOST-01")])
    }

    /// Values on a key relative to the hive root.
    fn root_values(mut self, path: &str, values: Vec<ValueSpec>) -> Sys {
        let k = ensure(&mut self.root, path);
        values.into_iter().for_each(|v| put(k, v));
        self
    }

    /// Removes a key (relative to the hive root) if present.
    fn remove_root_key(mut self, path: &str) -> Sys {
        let (parent, name) = path.rsplit_once('\\').unwrap_or(("", path));
        let want = Name::auto(name).upcase_units();
        if let Some(p) = self.root.find_mut(parent) {
            p.subkeys.retain(|s| s.name.upcase_units() != want);
        }
        self
    }

    /// Removes a value (relative to the control set) if present.
    fn remove_value(mut self, path: &str, name: &str) -> Sys {
        let want = Name::auto(name).upcase_units();
        if let Some(k) = self.root.find_mut(&format!("{}\\{path}", self.cs)) {
            k.values.retain(|v| v.name.upcase_units() != want);
        }
        self
    }

    /// Makes the following calls work on `ControlSet%03d`.
    fn in_set(mut self, n: u32) -> Sys {
        self.cs = format!("ControlSet{n:03}");
        self
    }

    /// Creates the key (relative to the control set) and sets the values on it.
    fn with(mut self, path: &str, values: Vec<ValueSpec>) -> Sys {
        let full = format!("{}\\{path}", self.cs);
        let k = ensure(&mut self.root, &full);
        values.into_iter().for_each(|v| put(k, v));
        self
    }

    /// `Services\Tcpip\Parameters`.
    fn params(self, values: Vec<ValueSpec>) -> Sys {
        self.with("Services\\Tcpip\\Parameters", values)
    }

    /// A device class entry `Control\Class\{NET}\index` for `guid` (NetCfgInstanceId written as given).
    fn class(self, index: &str, guid: &str, mut values: Vec<ValueSpec>) -> Sys {
        values.insert(0, sz("NetCfgInstanceId", guid));
        self.with(&format!("Control\\Class\\{NET}\\{index}"), values)
    }

    /// A typical physical Ethernet NIC: class entry (DriverDesc `NIC <index>`, Characteristics 0x84,
    /// *IfType 6, NetLuidIndex = the index number) and a connection name.
    fn nic(self, index: &str, guid: &str, name: &str) -> Sys {
        let luid: u32 = index.parse().unwrap();
        self.class(
            index,
            guid,
            vec![
                sz("DriverDesc", &format!("NIC {index}")),
                dw("Characteristics", 0x84),
                dw("*IfType", 6),
                dw("NetLuidIndex", luid),
            ],
        )
        .connection(guid, name)
    }

    /// `Control\Network\{NET}\{guid}\Connection` with `Name`.
    fn connection(self, guid: &str, name: &str) -> Sys {
        self.with(
            &format!("Control\\Network\\{NET}\\{guid}\\Connection"),
            vec![sz("Name", name), sz("PnPInstanceId", "PCI\\VEN_15AD&DEV_07B0\\FF565000B8A5F0FE00")],
        )
    }

    /// `Services\Tcpip\Parameters\Interfaces\{guid}` (the key named as given).
    fn tcpip(self, guid: &str, values: Vec<ValueSpec>) -> Sys {
        self.with(&format!("Services\\Tcpip\\Parameters\\Interfaces\\{guid}"), values)
    }

    /// `Services\Tcpip6\Parameters\Interfaces\{guid}`.
    fn tcpip6(self, guid: &str, values: Vec<ValueSpec>) -> Sys {
        self.with(&format!("Services\\Tcpip6\\Parameters\\Interfaces\\{guid}"), values)
    }

    /// `Services\NetBT\Parameters\Interfaces\Tcpip_{guid}`.
    fn netbt(self, guid: &str, values: Vec<ValueSpec>) -> Sys {
        self.with(&format!("Services\\NetBT\\Parameters\\Interfaces\\Tcpip_{guid}"), values)
    }

    /// `Control\NetworkSetup2\Interfaces\{guid}\Kernel`.
    fn ns2(self, guid: &str, values: Vec<ValueSpec>) -> Sys {
        self.with(&format!("Control\\NetworkSetup2\\Interfaces\\{guid}\\Kernel"), values)
    }

    /// `Services\Tcpip\Parameters\PersistentRoutes`, one `""` value per route name.
    fn routes(self, names: &[&str]) -> Sys {
        self.with("Services\\Tcpip\\Parameters\\PersistentRoutes", names.iter().map(|n| sz(n, "")).collect())
    }

    fn bytes(&self) -> Vec<u8> {
        write_hive(&self.root, &WriterOptions::default())
    }

    fn result(&self) -> regnet::Result<Report> {
        regnet::report_from_hive_bytes(&self.bytes(), &[], &Options::default())
    }

    fn report(&self) -> Report {
        self.result().unwrap_or_else(|e| panic!("no report: {e}"))
    }
}

/// Static IPv4 values: EnableDHCP 0, IPAddress and SubnetMask.
fn static_v4(ips: &[&str], masks: &[&str]) -> Vec<ValueSpec> {
    vec![dw("EnableDHCP", 0), multi("IPAddress", ips), multi("SubnetMask", masks)]
}

/// DHCP values: EnableDHCP 1 and a leased address.
fn dhcp_v4(ip: &str, mask: &str) -> Vec<ValueSpec> {
    vec![dw("EnableDHCP", 1), sz("DhcpIPAddress", ip), sz("DhcpSubnetMask", mask)]
}

fn cat(parts: Vec<Vec<ValueSpec>>) -> Vec<ValueSpec> {
    parts.into_iter().flatten().collect()
}

/// Nsi value-name prefix: NET_LUID `(IfType << 48) | (NetLuidIndex << 24)` as 8 little-endian
/// bytes in hex.
fn luid_hex(if_type: u64, index: u64) -> String {
    ((if_type << 48) | (index << 24)).to_le_bytes().iter().map(|b| format!("{b:02x}")).collect()
}
fn nsi4_name(if_type: u64, index: u64, ip: &str) -> String {
    let a: Ipv4Addr = ip.parse().unwrap();
    let hex: String = a.octets().iter().map(|b| format!("{b:02x}")).collect();
    format!("{}{hex}00000000", luid_hex(if_type, index))
}
fn nsi6_name(if_type: u64, index: u64, ip: &str) -> String {
    let a: Ipv6Addr = ip.parse().unwrap();
    let hex: String = a.octets().iter().map(|b| format!("{b:02x}")).collect();
    format!("{}{hex}", luid_hex(if_type, index))
}
/// The 48-byte Nsi address record: infinite lifetimes, origins 16, the prefix length at byte 16.
fn nsi_data(prefix: u8) -> Vec<u8> {
    let mut d = vec![0xFF; 8];
    d.extend_from_slice(&[0x10, 0, 0, 0, 0x10, 0, 0, 0, prefix, 0, 0, 0]);
    d.resize(48, 0xFF);
    d
}

// ---------------------------------------------------------------------------------------------
// Assertion helpers
// ---------------------------------------------------------------------------------------------

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}
fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}
fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|s| ip(s)).collect()
}
fn e4(addr: &str, prefix: u8) -> Ipv4Entry {
    Ipv4Entry::new(v4(addr), prefix)
}
fn codes(r: &Report) -> Vec<&str> {
    r.warnings.iter().map(|w| w.code.as_str()).collect()
}
fn adapter<'r>(r: &'r Report, guid: &str) -> &'r Adapter {
    r.adapters.iter().find(|a| a.guid == guid).unwrap_or_else(|| panic!("no adapter {guid} in {:#?}", r.adapters))
}
fn guids(r: &Report) -> Vec<&str> {
    r.adapters.iter().map(|a| a.guid.as_str()).collect()
}
fn gws(a: &Adapter) -> Vec<(IpAddr, Option<u32>)> {
    a.gateways.iter().map(|g| (g.address, g.metric)).collect()
}
/// The warnings of one code, as (key, value) pairs.
fn warned<'r>(r: &'r Report, code: &str) -> Vec<(Option<&'r str>, Option<&'r str>)> {
    r.warnings.iter().filter(|w| w.code == code).map(|w| (w.key.as_deref(), w.value.as_deref())).collect()
}

// ---------------------------------------------------------------------------------------------
// Control set
// ---------------------------------------------------------------------------------------------

/// Two control sets that disagree on everything this test looks at.
fn two_sets() -> Sys {
    Sys::new()
        .root_values("Select", vec![dw("Current", 2), dw("Default", 2), dw("LastKnownGood", 1)])
        .nic("0001", G1, "Ethernet0")
        .tcpip(G1, static_v4(&["10.1.1.1"], &["255.255.255.0"]))
        .with("Control\\ComputerName\\ComputerName", vec![sz("ComputerName", "OLD-001")])
        .params(vec![sz("Hostname", "old-001"), sz("NV Hostname", "old-001")])
        .in_set(2)
        .params(vec![sz("Hostname", "new-002"), sz("NV Hostname", "new-002")])
        .with("Control\\ComputerName\\ComputerName", vec![sz("ComputerName", "NEW-002")])
        .nic("0001", G1, "Ethernet0")
        .tcpip(G1, static_v4(&["10.2.2.2"], &["255.255.0.0"]))
}

#[test]
fn control_set_current_2_is_read_not_001() {
    let r = two_sets().report();
    assert_eq!(r.control_set, 2);
    assert_eq!(r.control_set_source, ControlSetSource::Current);
    assert_eq!(r.hostname.as_deref(), Some("new-002"));
    assert_eq!(r.computer_name.as_deref(), Some("NEW-002"));
    assert_eq!(guids(&r), [G1]);
    assert_eq!(r.adapters[0].ipv4, [e4("10.2.2.2", 16)]);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn control_set_falls_back_to_default_then_last_known_good() {
    // (what Select\Current is, the warnings expected besides control_set_fallback)
    let cases: Vec<(&str, Option<ValueSpec>, Vec<&str>)> = vec![
        ("missing", None, vec![]),
        ("zero", Some(dw("Current", 0)), vec![]),
        ("999", Some(dw("Current", 999)), vec![]),
        ("REG_SZ", Some(sz("Current", "2")), vec!["wrong_type"]),
        ("names ControlSet003, absent", Some(dw("Current", 3)), vec![]),
    ];
    for (what, current, mut expected) in cases {
        let mut sys = two_sets().root_values("Select", vec![dw("Default", 2), dw("LastKnownGood", 1)]);
        let select = sys.root.find_mut("Select").unwrap();
        select.values.retain(|v| v.name.to_string_lossy() != "Current");
        select.values.extend(current);
        let r = sys.report();
        expected.push("control_set_fallback");
        assert_eq!((r.control_set, r.control_set_source), (2, ControlSetSource::Default), "Current {what}");
        assert_eq!(r.hostname.as_deref(), Some("new-002"), "Current {what}");
        assert_eq!(codes(&r), expected, "Current {what}");
        assert_eq!(warned(&r, "control_set_fallback"), [(Some("Select"), Some("Default"))], "Current {what}");

        // Default unusable too: LastKnownGood (= 1) is read.
        let r = sys.clone().root_values("Select", vec![dw("Default", 7)]).report();
        assert_eq!((r.control_set, r.control_set_source), (1, ControlSetSource::LastKnownGood), "Current {what}");
        assert_eq!(r.hostname.as_deref(), Some("old-001"), "Current {what}");
        assert_eq!(r.adapters[0].ipv4, [e4("10.1.1.1", 24)], "Current {what}");
        assert_eq!(warned(&r, "control_set_fallback"), [(Some("Select"), Some("LastKnownGood"))]);
    }
}

#[test]
fn no_usable_control_set_is_an_error() {
    let sys = two_sets().root_values("Select", vec![dw("Current", 0), dw("Default", 5), dw("LastKnownGood", 1000)]);
    assert!(matches!(sys.result(), Err(Error::NoControlSet(_))), "{:?}", sys.result());
    // Select names sets that do not exist.
    let sys = Sys::new().root_values("Select", vec![dw("Current", 4), dw("Default", 4), dw("LastKnownGood", 4)]);
    assert!(matches!(sys.result(), Err(Error::NoControlSet(_))), "{:?}", sys.result());
}

#[test]
fn no_select_key_is_not_a_system_hive() {
    let sys = Sys::new().remove_root_key("Select");
    assert!(matches!(sys.result(), Err(Error::NotASystemHive(_))), "{:?}", sys.result());
}

// ---------------------------------------------------------------------------------------------
// Host
// ---------------------------------------------------------------------------------------------

#[test]
fn host_names_domain_search_list_forwarding() {
    let r = Sys::new()
        .params(vec![
            sz("Domain", "corp.example"),
            sz("NV Domain", "corp.example"),
            sz("SearchList", "corp.example,example.com, lab.example"),
            dw("IPEnableRouter", 1),
        ])
        .report();
    assert_eq!(r.schema_version, 1);
    assert_eq!(r.hostname.as_deref(), Some("HOST-01"));
    assert_eq!(r.hostname_pending, None);
    assert_eq!(r.computer_name.as_deref(), Some("HOST-01"));
    assert_eq!(r.domain.as_deref(), Some("corp.example"));
    assert_eq!(r.domain_pending, None);
    assert_eq!(r.search_list, ["corp.example", "example.com", "lab.example"]);
    assert!(r.ip_forwarding);
    assert_eq!((r.control_set, r.control_set_source), (1, ControlSetSource::Current));
    assert!(r.adapters.is_empty() && r.routes.is_empty());
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);

    let r = Sys::new().params(vec![dw("IPEnableRouter", 0)]).report();
    assert!(!r.ip_forwarding);
    assert!(r.search_list.is_empty());
}

#[test]
fn rename_pending() {
    let r = Sys::new().params(vec![sz("NV Hostname", "HOST-02")]).report();
    assert_eq!(r.hostname.as_deref(), Some("HOST-01"));
    assert_eq!(r.hostname_pending.as_deref(), Some("HOST-02"));
    assert_eq!(codes(&r), ["rename_pending"]);
    assert_eq!(
        warned(&r, "rename_pending"),
        [(Some("ControlSet001\\Services\\Tcpip\\Parameters"), Some("NV Hostname"))]
    );
}

#[test]
fn value_and_key_names_in_other_cases() {
    // Windows 10 1903 spells them `HostName` / `NV HostName`; Windows 7 has `services`.
    let mut sys = Sys::new()
        .remove_value("Services\\Tcpip\\Parameters", "Hostname")
        .remove_value("Services\\Tcpip\\Parameters", "NV Hostname")
        .params(vec![sz("HostName", "DESKTOP-PM6C56D"), sz("NV HostName", "DESKTOP-PM6C56D")]);
    ensure(&mut sys.root, "ControlSet001\\Services").name = Name::auto("services");
    let r = sys.report();
    assert_eq!(r.hostname.as_deref(), Some("DESKTOP-PM6C56D"));
    assert_eq!(r.hostname_pending, None);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn domain_forms() {
    // Not domain-joined: Domain is REG_DWORD 0.
    let r = Sys::new().params(vec![dw("Domain", 0), dw("NV Domain", 0)]).report();
    assert_eq!(r.domain, None);
    assert_eq!(r.domain_pending, None);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);

    // Joining pending: NV Domain differs.
    let r = Sys::new().params(vec![sz("Domain", "old.example"), sz("NV Domain", "new.example")]).report();
    assert_eq!(r.domain.as_deref(), Some("old.example"));
    assert_eq!(r.domain_pending.as_deref(), Some("new.example"));

    // Only NV Domain.
    let r = Sys::new().params(vec![sz("Domain", ""), sz("NV Domain", "new.example")]).report();
    assert_eq!(r.domain.as_deref(), Some("new.example"));
    assert_eq!(r.domain_pending, None);
}

// ---------------------------------------------------------------------------------------------
// Persistent routes
// ---------------------------------------------------------------------------------------------

#[test]
fn persistent_routes() {
    let r = Sys::new()
        .nic("0001", G1, "Ethernet0")
        .tcpip(
            G1,
            cat(vec![
                static_v4(&["10.41.7.20"], &["255.255.255.0"]),
                vec![multi("DefaultGateway", &["10.41.7.1"]), multi("DefaultGatewayMetric", &["0"])],
            ]),
        )
        .routes(&[
            "0.0.0.0,0.0.0.0,10.41.7.1,-1",
            "10.99.0.0,255.255.0.0,10.41.7.254,10",
            "10.98.0.0,255.255.0.0,10.41.7.254",
            "0.0.0.0,0.0.0.0,10.41.7.9,-1",
        ])
        .report();
    let routes: Vec<_> = r
        .routes
        .iter()
        .map(|x| (x.destination, x.prefix_len, x.gateway, x.metric, x.repeats_default_gateway))
        .collect();
    assert_eq!(
        routes,
        [
            (v4("0.0.0.0"), 0, v4("10.41.7.1"), None, true),
            (v4("10.99.0.0"), 16, v4("10.41.7.254"), Some(10), false),
            // A default route through a gateway no adapter has is a route someone added.
            (v4("0.0.0.0"), 0, v4("10.41.7.9"), None, false),
        ]
    );
    assert_eq!(codes(&r), ["bad_value"]);
    assert_eq!(
        warned(&r, "bad_value"),
        [(
            Some("ControlSet001\\Services\\Tcpip\\Parameters\\PersistentRoutes"),
            Some("10.98.0.0,255.255.0.0,10.41.7.254")
        )]
    );
}

// ---------------------------------------------------------------------------------------------
// Joining by GUID, order, physical
// ---------------------------------------------------------------------------------------------

#[test]
fn adapters_joined_by_guid_whatever_the_case() {
    let lower = G1.to_ascii_lowercase();
    let mixed = "{6aafC9A9-0542-4db2-8760-ccFFA953737c}";
    let mut sys = Sys::new()
        .class(
            "0007",
            G1,
            vec![sz("DriverDesc", "Intel(R) PRO/1000 MT Network Connection"), dw("Characteristics", 0x84)],
        )
        .with(
            &format!("Control\\Network\\{NET}\\{mixed}\\Connection"),
            vec![sz("Name", "Local Area Connection"), sz("PnpInstanceID", "PCI\\VEN_8086&DEV_100F\\4&B70F118&0&0888")],
        )
        .tcpip(
            &lower,
            vec![
                dw("enabledhcp", 0),
                multi("ipaddress", &["192.168.1.123"]),
                multi("SUBNETMASK", &["255.255.255.0"]),
                multi("defaultgateway", &["192.168.1.1"]),
                sz("nameserver", "192.168.1.112"),
            ],
        )
        .netbt(&lower, vec![multi("NameServerList", &["192.168.1.2"]), dw("NetbiosOptions", 2)])
        .tcpip6(mixed, vec![sz("NameServer", "fd00::53")]);
    // Odd case in key names on the way, too.
    ensure(&mut sys.root, "ControlSet001\\Services").name = Name::auto("services");
    ensure(&mut sys.root, "ControlSet001\\Control\\Class").name = Name::auto("class");
    let r = sys.report();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(guids(&r), [G1]);
    let a = &r.adapters[0];
    assert_eq!(a.guid, G1);
    assert_eq!(a.class_index.as_deref(), Some("0007"));
    assert_eq!(a.name.as_deref(), Some("Local Area Connection"));
    assert_eq!(a.description.as_deref(), Some("Intel(R) PRO/1000 MT Network Connection"));
    assert_eq!(a.physical, Some(true));
    assert!(!a.dhcp);
    assert_eq!(a.ipv4, [e4("192.168.1.123", 24)]);
    assert_eq!(gws(a), [(ip("192.168.1.1"), None)]);
    assert_eq!(a.dns_servers, ips(&["192.168.1.112"]));
    assert_eq!(a.wins_servers, [v4("192.168.1.2")]);
    assert_eq!(a.netbios, Some(Netbios::Disabled));
    assert_eq!(a.ipv6_dns_servers, ips(&["fd00::53"]));

    // A NetCfgInstanceId in lower case is reported upper-case with braces too.
    let r = Sys::new().class("0001", &lower, vec![]).tcpip(G1, static_v4(&["10.0.0.1"], &["255.0.0.0"])).report();
    assert_eq!(guids(&r), [G1]);
    assert_eq!(r.adapters[0].ipv4, [e4("10.0.0.1", 8)]);
}

#[test]
fn adapter_order_pseudo_interfaces_and_physical_flag() {
    let r = Sys::new()
        // Class entries out of index order; 0010 sorts after 0002.
        .class("0010", G3, vec![sz("DriverDesc", "WAN Miniport (IP)"), dw("Characteristics", 0x29)])
        .class("0002", G2, vec![sz("DriverDesc", "Bluetooth Device (PAN)"), dw("Characteristics", 0x1)])
        .class("0001", G1, vec![sz("DriverDesc", "Intel NIC"), dw("Characteristics", 0x84)])
        // Not adapters: no NetCfgInstanceId, or not a 4-digit entry.
        .with(&format!("Control\\Class\\{NET}\\0003"), vec![sz("DriverDesc", "no instance id")])
        .with(&format!("Control\\Class\\{NET}\\Properties"), vec![sz("NetCfgInstanceId", G4)])
        .tcpip(G1, static_v4(&["10.0.0.1"], &["255.0.0.0"]))
        // Tcpip-only interfaces, sorted by GUID after the class entries.
        .tcpip(G4, dhcp_v4("0.0.0.0", "0.0.0.0"))
        .tcpip("{00000000-AAAA-4BBB-8CCC-000000000001}", vec![dw("EnableDHCP", 1)])
        .tcpip(PSEUDO, vec![])
        .report();
    assert_eq!(
        guids(&r),
        [G1, G2, G3, "{00000000-AAAA-4BBB-8CCC-000000000001}", G4],
        "class order, then Tcpip-only by GUID; the empty pseudo-interface left out"
    );
    let phys: Vec<_> = r.adapters.iter().map(|a| (a.physical, a.class_index.as_deref())).collect();
    assert_eq!(
        phys,
        [
            (Some(true), Some("0001")),
            (Some(false), Some("0002")),
            (Some(false), Some("0010")),
            (None, None),
            (None, None)
        ]
    );
    assert_eq!(adapter(&r, G3).description.as_deref(), Some("WAN Miniport (IP)"));
    assert!(adapter(&r, G4).dhcp && adapter(&r, G4).ipv4.is_empty() && adapter(&r, G4).dhcp_lease.is_none());
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

// ---------------------------------------------------------------------------------------------
// Static IPv4
// ---------------------------------------------------------------------------------------------

fn one_static(values: Vec<ValueSpec>) -> Report {
    Sys::new().nic("0001", G1, "Ethernet0").tcpip(G1, values).report()
}

#[test]
fn static_addresses_stay_paired_with_their_masks_in_order() {
    let r = one_static(static_v4(&["10.0.0.1", "192.168.5.7"], &["255.0.0.0", "255.255.255.0"]));
    assert_eq!(r.adapters[0].ipv4, [e4("10.0.0.1", 8), e4("192.168.5.7", 24)]);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);

    let r = one_static(static_v4(
        &["192.168.5.7", "10.0.0.1", "172.16.4.4", "10.9.9.9"],
        &["255.255.255.0", "255.0.0.0", "255.255.240.0", "255.255.255.255"],
    ));
    assert_eq!(
        r.adapters[0].ipv4,
        [e4("192.168.5.7", 24), e4("10.0.0.1", 8), e4("172.16.4.4", 20), e4("10.9.9.9", 32)]
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn unequal_address_and_mask_lists() {
    let r = one_static(static_v4(&["10.0.0.1", "192.168.5.7"], &["255.0.0.0"]));
    assert_eq!(r.adapters[0].ipv4, [e4("10.0.0.1", 8)]);
    assert_eq!(codes(&r), ["unpaired_values"]);

    let r = one_static(static_v4(&["10.0.0.1"], &["255.0.0.0", "255.255.255.0"]));
    assert_eq!(r.adapters[0].ipv4, [e4("10.0.0.1", 8)]);
    assert_eq!(codes(&r), ["unpaired_values"]);
}

#[test]
fn non_contiguous_mask_leaves_the_address_out() {
    let r = one_static(static_v4(&["10.0.0.1", "192.168.5.7"], &["255.0.255.0", "255.255.255.0"]));
    assert_eq!(r.adapters[0].ipv4, [e4("192.168.5.7", 24)]);
    assert_eq!(codes(&r), ["bad_value"]);
    let w = &r.warnings[0];
    assert_eq!(w.value.as_deref(), Some("SubnetMask"));
    assert_eq!(
        w.key.as_deref(),
        Some(format!("ControlSet001\\Services\\Tcpip\\Parameters\\Interfaces\\{G1}").as_str())
    );
}

#[test]
fn garbage_address_is_skipped_and_the_rest_kept() {
    let r = one_static(static_v4(
        &["10.0.0.1", "10.0.0.300", "192.168.5.7"],
        &["255.0.0.0", "255.255.0.0", "255.255.255.0"],
    ));
    assert_eq!(r.adapters[0].ipv4, [e4("10.0.0.1", 8), e4("192.168.5.7", 24)]);
    assert_eq!(codes(&r), ["bad_value"]);
    assert_eq!(r.warnings[0].value.as_deref(), Some("IPAddress"));
}

#[test]
fn unspecified_address_is_absent() {
    let r = one_static(static_v4(&["0.0.0.0"], &["0.0.0.0"]));
    assert!(r.adapters[0].ipv4.is_empty());
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let r = one_static(cat(vec![static_v4(&[], &[]), vec![multi("DefaultGateway", &["0.0.0.0"])]]));
    assert!(r.adapters[0].ipv4.is_empty() && r.adapters[0].gateways.is_empty());
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn gateways_with_metrics_in_order() {
    let r = one_static(cat(vec![
        static_v4(&["10.0.0.1"], &["255.0.0.0"]),
        vec![
            multi("DefaultGateway", &["10.0.0.254", "10.0.0.253", "10.0.0.252"]),
            multi("DefaultGatewayMetric", &["0", "25", "1"]),
        ],
    ]));
    assert_eq!(
        gws(&r.adapters[0]),
        [(ip("10.0.0.254"), Some(0)), (ip("10.0.0.253"), Some(25)), (ip("10.0.0.252"), Some(1))]
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);

    // A garbage metric: warned, that gateway's metric None; a missing metric: None, no warning.
    let r = one_static(cat(vec![
        static_v4(&["10.0.0.1"], &["255.0.0.0"]),
        vec![
            multi("DefaultGateway", &["10.0.0.254", "10.0.0.253", "10.0.0.252"]),
            multi("DefaultGatewayMetric", &["5", "fast"]),
        ],
    ]));
    assert_eq!(gws(&r.adapters[0]), [(ip("10.0.0.254"), Some(5)), (ip("10.0.0.253"), None), (ip("10.0.0.252"), None)]);
    assert_eq!(codes(&r), ["bad_value"]);
    assert_eq!(r.warnings[0].value.as_deref(), Some("DefaultGatewayMetric"));
}

// ---------------------------------------------------------------------------------------------
// DNS
// ---------------------------------------------------------------------------------------------

#[test]
fn name_server_layouts_give_the_same_ordered_list() {
    let want = ips(&["10.0.0.53", "10.0.1.53", "192.168.5.5"]);
    for text in
        ["10.0.0.53,10.0.1.53,192.168.5.5", "10.0.0.53 10.0.1.53 192.168.5.5", "10.0.0.53, 10.0.1.53  192.168.5.5"]
    {
        let r = one_static(cat(vec![static_v4(&["10.0.0.1"], &["255.0.0.0"]), vec![sz("NameServer", text)]]));
        let a = &r.adapters[0];
        assert_eq!(a.dns_servers, want, "{text:?}");
        assert_eq!(a.dns_source, Some(DnsSource::Static), "{text:?}");
        assert!(r.warnings.is_empty(), "{text:?}: {:?}", r.warnings);
    }
    // No servers: no source.
    let r = one_static(cat(vec![static_v4(&["10.0.0.1"], &["255.0.0.0"]), vec![sz("NameServer", "")]]));
    assert!(r.adapters[0].dns_servers.is_empty());
    assert_eq!(r.adapters[0].dns_source, None);
}

#[test]
fn dhcp_adapter_dns_static_override_or_dhcp() {
    let dhcp = || {
        cat(vec![
            dhcp_v4("192.168.0.7", "255.255.255.0"),
            vec![sz("DhcpNameServer", "68.105.28.11 68.105.29.11 68.105.28.12")],
        ])
    };
    // Static override wins even with DHCP on.
    let r = one_static(cat(vec![dhcp(), vec![sz("NameServer", "1.1.1.1,8.8.8.8")]]));
    let a = &r.adapters[0];
    assert!(a.dhcp);
    assert_eq!(a.dns_servers, ips(&["1.1.1.1", "8.8.8.8"]));
    assert_eq!(a.dns_source, Some(DnsSource::Static));
    // Without a static one (absent, or "" as Windows writes it): DhcpNameServer in order.
    for extra in [vec![], vec![sz("NameServer", "")]] {
        let r = one_static(cat(vec![dhcp(), extra]));
        let a = &r.adapters[0];
        assert_eq!(a.dns_servers, ips(&["68.105.28.11", "68.105.29.11", "68.105.28.12"]));
        assert_eq!(a.dns_source, Some(DnsSource::Dhcp));
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }
    // DhcpNameServer on a static adapter is dead.
    let r = one_static(cat(vec![static_v4(&["10.0.0.1"], &["255.0.0.0"]), vec![sz("DhcpNameServer", "10.9.9.9")]]));
    assert!(r.adapters[0].dns_servers.is_empty());
    assert_eq!(r.adapters[0].dns_source, None);
}

#[test]
fn dns_suffix_domain_overrides_dhcp_domain() {
    let base = || dhcp_v4("192.168.0.7", "255.255.255.0");
    let r = one_static(cat(vec![base(), vec![sz("DhcpDomain", "dhcp.example"), sz("Domain", "static.example")]]));
    assert_eq!(r.adapters[0].dns_suffix, "static.example");
    let r = one_static(cat(vec![base(), vec![sz("DhcpDomain", "dhcp.example"), sz("Domain", "")]]));
    assert_eq!(r.adapters[0].dns_suffix, "dhcp.example");
    let r = one_static(base());
    assert_eq!(r.adapters[0].dns_suffix, "");
    // Static adapter: Domain only; a stale DhcpDomain is dead.
    let r = one_static(cat(vec![static_v4(&["10.0.0.1"], &["255.0.0.0"]), vec![sz("DhcpDomain", "dhcp.example")]]));
    assert_eq!(r.adapters[0].dns_suffix, "");
    let r = one_static(cat(vec![static_v4(&["10.0.0.1"], &["255.0.0.0"]), vec![sz("Domain", "static.example")]]));
    assert_eq!(r.adapters[0].dns_suffix, "static.example");
}

// ---------------------------------------------------------------------------------------------
// DHCP
// ---------------------------------------------------------------------------------------------

/// The Win7 corpus lease, made live (EnableDHCP 1), with a stale static address beside it.
fn dhcp_full() -> Vec<ValueSpec> {
    cat(vec![
        dhcp_v4("192.168.1.123", "255.255.255.0"),
        vec![
            multi("DhcpDefaultGateway", &["192.168.1.1", "192.168.1.2"]),
            sz("DhcpServer", "192.168.1.10"),
            dw("Lease", 540_000),
            dw("LeaseObtainedTime", 1_289_408_803),
            dw("LeaseTerminatesTime", 1_289_948_803),
            dw("T1", 1_289_678_803),
            dw("T2", 1_289_881_303),
            bin("DhcpGatewayHardware", &[0xC0, 0xA8, 0x01, 0x01, 0x06, 0, 0, 0, 0x00, 0x18, 0xF8, 0xEA, 0x2E, 0xA2]),
            dw("DhcpGatewayHardwareCount", 1),
            // Stale static configuration: dead while EnableDHCP = 1.
            multi("IPAddress", &["10.3.58.5"]),
            multi("SubnetMask", &["255.255.255.0"]),
            multi("DefaultGateway", &["10.3.58.1"]),
        ],
    ])
}

#[test]
fn dhcp_lease_is_read_and_stale_static_values_ignored() {
    let r = one_static(dhcp_full());
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let a = &r.adapters[0];
    assert!(a.dhcp);
    assert_eq!(a.ipv4, [e4("192.168.1.123", 24)]);
    assert_eq!(gws(a), [(ip("192.168.1.1"), None), (ip("192.168.1.2"), None)]);
    let l = a.dhcp_lease.as_ref().expect("a lease");
    assert_eq!(l.server, Some(v4("192.168.1.10")));
    assert_eq!(l.obtained, Some(1_289_408_803));
    assert_eq!(l.expires, Some(1_289_948_803));
    assert_eq!(l.obtained_utc.as_deref(), Some("2010-11-10T17:06:43Z"));
    assert_eq!(l.expires_utc.as_deref(), Some("2010-11-16T23:06:43Z"));
    assert_eq!(l.lease_seconds, Some(540_000));
    assert_eq!(l.gateway_mac.as_deref(), Some("00:18:F8:EA:2E:A2"));
}

#[test]
fn dhcp_lease_with_a_relative_clock_and_broadcast_server() {
    // Windows 10 1709 (corpus hive B): not epoch seconds.
    let r = one_static(cat(vec![
        dhcp_v4("192.168.0.7", "255.255.255.0"),
        vec![
            sz("DhcpServer", "255.255.255.255"),
            dw("Lease", 3600),
            dw("LeaseObtainedTime", 830_452),
            dw("LeaseTerminatesTime", 834_052),
        ],
    ]));
    let l = r.adapters[0].dhcp_lease.as_ref().expect("a lease");
    assert_eq!(l.server, None);
    assert_eq!((l.obtained, l.expires), (Some(830_452), Some(834_052)));
    assert_eq!((l.obtained_utc.as_deref(), l.expires_utc.as_deref()), (None, None));
    assert_eq!(l.lease_seconds, Some(3600));
    assert_eq!(l.gateway_mac, None);
    assert_eq!(codes(&r), ["lease_not_epoch"]);
    assert_eq!(r.warnings[0].value.as_deref(), Some("LeaseObtainedTime"));

    // 946684800 (2000-01-01) is the first epoch value.
    let r = one_static(cat(vec![dhcp_v4("192.168.0.7", "255.255.255.0"), vec![dw("LeaseObtainedTime", 946_684_800)]]));
    let l = r.adapters[0].dhcp_lease.as_ref().unwrap();
    assert_eq!(l.obtained_utc.as_deref(), Some("2000-01-01T00:00:00Z"));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let r = one_static(cat(vec![dhcp_v4("192.168.0.7", "255.255.255.0"), vec![dw("LeaseObtainedTime", 946_684_799)]]));
    assert_eq!(r.adapters[0].dhcp_lease.as_ref().unwrap().obtained_utc, None);
    assert_eq!(codes(&r), ["lease_not_epoch"]);
}

#[test]
fn stale_dhcp_values_on_a_static_adapter_are_ignored() {
    let mut values = dhcp_full();
    values[0] = dw("EnableDHCP", 0);
    let r = one_static(values);
    let a = &r.adapters[0];
    assert!(!a.dhcp);
    assert_eq!(a.ipv4, [e4("10.3.58.5", 24)]);
    assert_eq!(gws(a), [(ip("10.3.58.1"), None)]);
    assert_eq!(a.dhcp_lease, None);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn dhcp_adapter_without_a_lease() {
    let r = one_static(cat(vec![dhcp_v4("0.0.0.0", "0.0.0.0"), vec![dw("LeaseObtainedTime", 830_452)]]));
    let a = &r.adapters[0];
    assert!(a.dhcp && a.ipv4.is_empty() && a.gateways.is_empty());
    assert_eq!(a.dhcp_lease, None);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

// ---------------------------------------------------------------------------------------------
// MAC
// ---------------------------------------------------------------------------------------------

fn mac_of(class_values: Vec<ValueSpec>, ns2: Option<Vec<ValueSpec>>) -> Report {
    let mut sys = Sys::new().class("0001", G1, class_values).tcpip(G1, vec![dw("EnableDHCP", 1)]);
    if let Some(v) = ns2 {
        sys = sys.ns2(G1, v);
    }
    sys.report()
}

#[test]
fn mac_addresses_and_their_sources() {
    let cur = bin("CurrentAddress", &[0xEC, 0x0E, 0xC4, 0x20, 0x7F, 0x0E]);
    let perm = bin("PermanentAddress", &[0xEC, 0xF4, 0xBB, 0x48, 0x7F, 0xED]);
    let mac = |r: &Report| (r.adapters[0].mac.clone(), r.adapters[0].mac_source);
    let some = |m: &str, s| (Some(m.to_owned()), Some(s));

    // The override wins over NetworkSetup2.
    let r = mac_of(vec![sz("NetworkAddress", "00505691ABCD")], Some(vec![cur.clone(), perm.clone()]));
    assert_eq!(mac(&r), some("00:50:56:91:AB:CD", MacSource::Override));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let r = mac_of(vec![sz("NetworkAddress", "00505691abcd")], None);
    assert_eq!(mac(&r), some("00:50:56:91:AB:CD", MacSource::Override));

    // CurrentAddress, then PermanentAddress.
    let r = mac_of(vec![], Some(vec![perm.clone(), cur.clone()]));
    assert_eq!(mac(&r), some("EC:0E:C4:20:7F:0E", MacSource::Current));
    let r = mac_of(vec![], Some(vec![perm.clone()]));
    assert_eq!(mac(&r), some("EC:F4:BB:48:7F:ED", MacSource::Permanent));
    // An all-zero current address does not hide the permanent one.
    let r = mac_of(vec![], Some(vec![bin("CurrentAddress", &[0; 6]), perm.clone()]));
    assert_eq!(mac(&r), some("EC:F4:BB:48:7F:ED", MacSource::Permanent));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);

    // All-zero, and the 32-byte tunnel form: no MAC, no warning.
    for ns2 in [
        vec![bin("CurrentAddress", &[0; 6]), bin("PermanentAddress", &[0; 6])],
        vec![bin("CurrentAddress", &[0; 32]), bin("PermanentAddress", &[0; 32])],
    ] {
        let r = mac_of(vec![], Some(ns2));
        assert_eq!(mac(&r), (None, None));
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    // An empty override (ISATAP, Teredo) is absent; a garbage one is a warning; NetworkSetup2 next.
    let r = mac_of(vec![sz("NetworkAddress", "")], Some(vec![cur.clone()]));
    assert_eq!(mac(&r), some("EC:0E:C4:20:7F:0E", MacSource::Current));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let r = mac_of(vec![sz("NetworkAddress", "00505691ABZZ")], Some(vec![cur]));
    assert_eq!(mac(&r), some("EC:0E:C4:20:7F:0E", MacSource::Current));
    assert_eq!(codes(&r), ["bad_value"]);
    assert_eq!(r.warnings[0].value.as_deref(), Some("NetworkAddress"));
    let r = mac_of(vec![sz("NetworkAddress", "0050569")], None);
    assert_eq!(mac(&r), (None, None));
    assert_eq!(codes(&r), ["bad_value"]);

    // No MAC anywhere (Windows 7).
    let r = mac_of(vec![], None);
    assert_eq!(mac(&r), (None, None));
}

// ---------------------------------------------------------------------------------------------
// Names, descriptions, type
// ---------------------------------------------------------------------------------------------

#[test]
fn names_and_descriptions() {
    let r = Sys::new()
        // Connection name and DriverDesc win over NetworkSetup2.
        .class("0001", G1, vec![sz("DriverDesc", "vmxnet3 Ethernet Adapter"), dw("*IfType", 6)])
        .connection(G1, "Ethernet0")
        .ns2(G1, vec![sz("IfAlias", "alias-1"), sz("IfDescr", "descr-1"), dw("IfType", 71)])
        // No Connection key: IfAlias; no DriverDesc: IfDescr; no *IfType: IfType.
        .class("0002", G2, vec![])
        .ns2(G2, vec![sz("IfAlias", "Wi-Fi"), sz("IfDescr", "Broadcom 802.11n Network Adapter"), dw("IfType", 71)])
        // Nothing.
        .class("0003", G3, vec![])
        .report();
    let names: Vec<_> = r.adapters.iter().map(|a| (a.name.as_deref(), a.description.as_deref(), a.if_type)).collect();
    assert_eq!(
        names,
        [
            (Some("Ethernet0"), Some("vmxnet3 Ethernet Adapter"), Some(6)),
            (Some("Wi-Fi"), Some("Broadcom 802.11n Network Adapter"), Some(71)),
            (None, None, None),
        ]
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

// ---------------------------------------------------------------------------------------------
// Nsi persistent store
// ---------------------------------------------------------------------------------------------

#[test]
fn nsi_value_names_follow_the_luid_layout() {
    // The Win7 corpus entry, byte for byte.
    assert_eq!(luid_hex(6, 7), "0000000700000600");
    assert_eq!(nsi4_name(6, 7, "10.3.58.5"), "00000007000006000a033a0500000000");
    let data: Vec<u8> = [
        &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x10, 0, 0, 0, 0x10, 0, 0, 0, 0x18, 0, 0, 0][..],
        &[0xFF; 28][..],
    ]
    .concat();
    assert_eq!(data, nsi_data(24));
    let r = Sys::new()
        .nic("0012", G2, "Local Area Connection 2")
        .class("0012", G2, vec![dw("NetLuidIndex", 7)])
        .tcpip(G2, static_v4(&["10.3.58.5"], &["255.255.255.0"]))
        .with(NSI4, vec![bin("00000007000006000a033a0500000000", &data)])
        .report();
    assert_eq!(r.adapters[0].ipv4, [e4("10.3.58.5", 24)]);
    assert!(r.warnings.is_empty(), "agreeing Nsi entry: {:?}", r.warnings);
}

/// G1 is Class 0001 (IfType 6, NetLuidIndex 1) with a static address list; `nsi` are (address,
/// prefix) Nsi entries for it.
fn with_nsi(tcpip_ips: &[&str], tcpip_masks: &[&str], nsi: &[(&str, u8)]) -> Report {
    Sys::new()
        .nic("0001", G1, "Ethernet0")
        .tcpip(G1, static_v4(tcpip_ips, tcpip_masks))
        // Another interface's entry in the same table (IfType 6, index 2): not G1's.
        .with(NSI4, vec![bin(&nsi4_name(6, 2, "172.16.0.9"), &nsi_data(12))])
        .with(NSI4, nsi.iter().map(|(a, p)| bin(&nsi4_name(6, 1, a), &nsi_data(*p))).collect())
        .report()
}

#[test]
fn nsi_agreeing_entries() {
    // Same set in another order: no warning.
    let r = with_nsi(
        &["10.0.0.1", "192.168.5.7"],
        &["255.0.0.0", "255.255.255.0"],
        &[("192.168.5.7", 24), ("10.0.0.1", 8)],
    );
    assert_eq!(r.adapters[0].ipv4, [e4("10.0.0.1", 8), e4("192.168.5.7", 24)]);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn nsi_disagreeing_entries() {
    // Different prefix.
    let r = with_nsi(&["10.0.0.1"], &["255.0.0.0"], &[("10.0.0.1", 16)]);
    assert_eq!(r.adapters[0].ipv4, [e4("10.0.0.1", 8)], "the Tcpip values are reported");
    assert_eq!(codes(&r), ["nsi_mismatch"]);
    assert_eq!(r.warnings[0].key.as_deref(), Some(format!("ControlSet001\\{NSI4}").as_str()));
    // An extra address.
    let r = with_nsi(&["10.0.0.1"], &["255.0.0.0"], &[("10.0.0.1", 8), ("10.0.0.2", 8)]);
    assert_eq!(r.adapters[0].ipv4, [e4("10.0.0.1", 8)]);
    assert_eq!(codes(&r), ["nsi_mismatch"]);
}

#[test]
fn nsi_only_addresses() {
    let r = with_nsi(&[], &[], &[("10.3.58.5", 24), ("10.3.58.6", 25)]);
    assert_eq!(r.adapters[0].ipv4, [e4("10.3.58.5", 24), e4("10.3.58.6", 25)]);
    assert_eq!(codes(&r), ["nsi_only"]);
    // A DHCP adapter's addresses do not come from Nsi.
    let r = Sys::new()
        .nic("0001", G1, "Ethernet0")
        .tcpip(G1, vec![dw("EnableDHCP", 1)])
        .with(NSI4, vec![bin(&nsi4_name(6, 1, "10.3.58.5"), &nsi_data(24))])
        .report();
    assert!(r.adapters[0].ipv4.is_empty());
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn nsi_ipv6_static_addresses() {
    let r = Sys::new()
        .nic("0001", G1, "Ethernet0")
        .tcpip(G1, static_v4(&["10.0.0.1"], &["255.0.0.0"]))
        .nic("0002", G2, "Ethernet1")
        .with(
            NSI6,
            vec![
                bin(&nsi6_name(6, 1, "2001:db8::10"), &nsi_data(64)),
                bin(&nsi6_name(6, 1, "fd00:1:2:3::7"), &nsi_data(48)),
                bin(&nsi6_name(6, 2, "2001:db8:ffff::2"), &nsi_data(126)),
                // Same index, other IfType: nobody's.
                bin(&nsi6_name(71, 1, "2001:db8:bad::1"), &nsi_data(64)),
            ],
        )
        .report();
    let v6 = |a: &Adapter| a.ipv6.iter().map(|e| (e.address, e.prefix_len)).collect::<Vec<_>>();
    let want = |l: &[(&str, u8)]| l.iter().map(|(a, p)| (a.parse::<Ipv6Addr>().unwrap(), *p)).collect::<Vec<_>>();
    assert_eq!(v6(adapter(&r, G1)), want(&[("2001:db8::10", 64), ("fd00:1:2:3::7", 48)]));
    assert_eq!(v6(adapter(&r, G2)), want(&[("2001:db8:ffff::2", 126)]));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

// ---------------------------------------------------------------------------------------------
// IPv6 DNS
// ---------------------------------------------------------------------------------------------

fn v6_bytes(list: &[&str]) -> Vec<u8> {
    list.iter().flat_map(|s| s.parse::<Ipv6Addr>().unwrap().octets()).collect()
}

#[test]
fn ipv6_dns_servers() {
    let servers = ["2001:578:3f::30", "2001:578:3f:1::30", "2001:578:3f::30"];
    let r = Sys::new()
        .nic("0001", G1, "Wi-Fi")
        .tcpip(G1, vec![dw("EnableDHCP", 1)])
        .tcpip6(
            &G1.to_ascii_lowercase(),
            vec![sz("NameServer", "2001:db8::53,2001:db8::54"), bin("Dhcpv6DNSServers", &v6_bytes(&servers))],
        )
        .report();
    let a = &r.adapters[0];
    assert_eq!(a.ipv6_dns_servers, ips(&["2001:db8::53", "2001:db8::54"]));
    let want: Vec<Ipv6Addr> = servers.iter().map(|s| s.parse().unwrap()).collect();
    assert_eq!(a.dhcpv6_dns_servers, want, "in order, duplicate kept");
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);

    // 40 bytes: two addresses and 8 stray bytes.
    let mut b = v6_bytes(&servers[..2]);
    b.extend_from_slice(&[1; 8]);
    let r = Sys::new().nic("0001", G1, "Wi-Fi").tcpip6(G1, vec![bin("Dhcpv6DNSServers", &b)]).report();
    assert_eq!(r.adapters[0].dhcpv6_dns_servers, want[..2]);
    assert_eq!(codes(&r), ["bad_value"]);
    assert_eq!(r.warnings[0].value.as_deref(), Some("Dhcpv6DNSServers"));
}

// ---------------------------------------------------------------------------------------------
// WINS / NetBIOS
// ---------------------------------------------------------------------------------------------

#[test]
fn wins_servers_and_netbios() {
    let r = Sys::new()
        // Static WINS (primary first) on a static adapter.
        .nic("0001", G1, "Ethernet0")
        .tcpip(G1, static_v4(&["10.0.0.1"], &["255.0.0.0"]))
        .netbt(
            &G1.to_ascii_lowercase(),
            vec![multi("NameServerList", &["10.0.0.20", "10.0.0.21"]), dw("NetbiosOptions", 1)],
        )
        // DHCP adapter without static WINS: DHCP's.
        .nic("0002", G2, "Ethernet1")
        .tcpip(G2, dhcp_v4("192.168.0.7", "255.255.255.0"))
        .netbt(
            G2,
            vec![
                multi("NameServerList", &[]),
                multi("DhcpNameServerList", &["192.168.0.2", "192.168.0.3"]),
                dw("NetbiosOptions", 0),
            ],
        )
        // DHCP adapter with static WINS: the static ones.
        .nic("0003", G3, "Ethernet2")
        .tcpip(G3, dhcp_v4("192.168.1.7", "255.255.255.0"))
        .netbt(
            G3,
            vec![
                multi("NameServerList", &["10.0.0.20"]),
                multi("DhcpNameServerList", &["192.168.1.2"]),
                dw("NetbiosOptions", 2),
            ],
        )
        // Static adapter: DhcpNameServerList is dead; NetbiosOptions 7 is a warning.
        .nic("0004", G4, "Ethernet3")
        .tcpip(G4, static_v4(&["10.0.0.4"], &["255.0.0.0"]))
        .netbt(G4, vec![multi("DhcpNameServerList", &["192.168.1.2"]), dw("NetbiosOptions", 7)])
        .report();
    let got: Vec<_> = r.adapters.iter().map(|a| (a.wins_servers.clone(), a.netbios)).collect();
    assert_eq!(
        got,
        [
            (vec![v4("10.0.0.20"), v4("10.0.0.21")], Some(Netbios::Enabled)),
            (vec![v4("192.168.0.2"), v4("192.168.0.3")], Some(Netbios::FromDhcp)),
            (vec![v4("10.0.0.20")], Some(Netbios::Disabled)),
            (vec![], None),
        ]
    );
    assert_eq!(codes(&r), ["bad_value"]);
    assert_eq!(r.warnings[0].value.as_deref(), Some("NetbiosOptions"));
}

// ---------------------------------------------------------------------------------------------
// MTU, VLAN, interface metric
// ---------------------------------------------------------------------------------------------

#[test]
fn mtu_vlan_and_interface_metric() {
    let one = |class: Vec<ValueSpec>, tcpip: Vec<ValueSpec>| {
        Sys::new()
            .class("0001", G1, class)
            .tcpip(G1, cat(vec![static_v4(&["10.0.0.1"], &["255.0.0.0"]), tcpip]))
            .report()
    };
    let r = one(vec![sz("VlanID", "10")], vec![dw("MTU", 1400), dw("InterfaceMetric", 25)]);
    let a = &r.adapters[0];
    assert_eq!((a.mtu, a.vlan_id, a.interface_metric), (Some(1400), Some(10), Some(25)));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);

    let r = one(vec![dw("VlanID", 4094)], vec![dw("MTU", 0xFFFF_FFFF), dw("InterfaceMetric", 0)]);
    let a = &r.adapters[0];
    assert_eq!((a.mtu, a.vlan_id, a.interface_metric), (None, Some(4094), None));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);

    let r = one(vec![sz("VlanID", "0")], vec![]);
    assert_eq!(r.adapters[0].vlan_id, None);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);

    for bad in [sz("VlanID", "abc"), dw("VlanID", 5000), sz("VlanID", "5000")] {
        let r = one(vec![bad.clone()], vec![dw("MTU", 9000)]);
        assert_eq!(r.adapters[0].vlan_id, None, "{bad:?}");
        assert_eq!(r.adapters[0].mtu, Some(9000), "{bad:?}");
        assert_eq!(r.adapters[0].ipv4, [e4("10.0.0.1", 8)], "{bad:?}");
        assert_eq!(codes(&r), ["bad_value"], "{bad:?}");
        assert_eq!(r.warnings[0].value.as_deref(), Some("VlanID"));
    }
}

// ---------------------------------------------------------------------------------------------
// Damaged values
// ---------------------------------------------------------------------------------------------

/// A healthy two-adapter system that the damage tests break one value of.
fn healthy() -> Sys {
    Sys::new()
        .params(vec![sz("Domain", "corp.example")])
        .nic("0001", G1, "Ethernet0")
        .tcpip(
            G1,
            cat(vec![
                static_v4(&["10.0.0.1", "192.168.5.7"], &["255.0.0.0", "255.255.255.0"]),
                vec![multi("DefaultGateway", &["10.0.0.254"]), sz("NameServer", "10.0.0.53")],
            ]),
        )
        .nic("0002", G2, "Ethernet1")
        .tcpip(G2, cat(vec![dhcp_v4("172.16.3.4", "255.255.0.0"), vec![sz("DhcpNameServer", "172.16.0.1")]]))
}

/// Reads `sys`, checks that the host and G2 are as in [`healthy`], and returns the report.
fn damaged(sys: Sys, expected_codes: &[&str]) -> Report {
    let good = healthy().report();
    assert!(good.warnings.is_empty(), "{:?}", good.warnings);
    let r = sys.report();
    assert_eq!(codes(&r), expected_codes);
    assert_eq!(r.domain, good.domain);
    assert_eq!(adapter(&r, G2), adapter(&good, G2), "the undamaged adapter");
    assert_eq!(guids(&r), [G1, G2]);
    r
}

#[test]
fn wrong_value_types() {
    let path = format!("Services\\Tcpip\\Parameters\\Interfaces\\{G1}");
    // EnableDHCP as text: not DHCP, so the static values are read.
    let r = damaged(healthy().tcpip(G1, vec![sz("EnableDHCP", "1")]), &["wrong_type"]);
    assert!(!r.adapters[0].dhcp);
    assert_eq!(r.adapters[0].ipv4, [e4("10.0.0.1", 8), e4("192.168.5.7", 24)]);
    assert_eq!(r.hostname.as_deref(), Some("HOST-01"));
    assert_eq!(warned(&r, "wrong_type"), [(Some(format!("ControlSet001\\{path}").as_str()), Some("EnableDHCP"))]);

    // IPAddress as binary: no addresses (the masks are then unpaired).
    let r = damaged(healthy().tcpip(G1, vec![bin("IPAddress", &[10, 0, 0, 1])]), &["wrong_type", "unpaired_values"]);
    assert!(r.adapters[0].ipv4.is_empty());
    assert_eq!(gws(&r.adapters[0]), [(ip("10.0.0.254"), None)]);
    assert_eq!(r.adapters[0].dns_servers, ips(&["10.0.0.53"]));

    // Host name as a DWORD.
    let r = damaged(healthy().params(vec![dw("Hostname", 7), dw("NV Hostname", 7)]), &["wrong_type", "wrong_type"]);
    assert_eq!(r.hostname, None);
    assert_eq!(adapter(&r, G1), adapter(&healthy().report(), G1));
}

#[test]
fn broken_utf16_text() {
    let good_g1 = adapter(&healthy().report(), G1).clone();

    // Odd length: the stray byte dropped, the text kept.
    let mut odd = utf16("HOST-01\0");
    odd.push(0x41);
    let r = damaged(
        healthy()
            .params(vec![ValueSpec::new("Hostname", REG_SZ, odd.clone()), ValueSpec::new("NV Hostname", REG_SZ, odd)]),
        &["bad_value", "bad_value"],
    );
    assert_eq!(r.hostname.as_deref(), Some("HOST-01"));
    assert_eq!(r.hostname_pending, None);
    assert_eq!(adapter(&r, G1), &good_g1);

    // No terminating NUL: read to the end.
    let r = damaged(healthy().params(vec![ValueSpec::new("Hostname", REG_SZ, utf16("HOST-01"))]), &["bad_value"]);
    assert_eq!(r.hostname.as_deref(), Some("HOST-01"));
    assert_eq!(r.warnings[0].value.as_deref(), Some("Hostname"));
    let r = damaged(
        healthy().tcpip(G1, vec![ValueSpec::new("NameServer", REG_SZ, utf16("10.0.0.53,10.0.0.54"))]),
        &["bad_value"],
    );
    assert_eq!(r.adapters[0].dns_servers, ips(&["10.0.0.53", "10.0.0.54"]));
    assert_eq!(r.hostname.as_deref(), Some("HOST-01"));

    // An unpaired surrogate: that text is dropped.
    let mut desc = utf16("NIC ");
    desc.extend_from_slice(&0xD800u16.to_le_bytes());
    desc.extend_from_slice(&[0, 0]);
    let r = damaged(healthy().class("0001", G1, vec![ValueSpec::new("DriverDesc", REG_SZ, desc)]), &["bad_value"]);
    assert_eq!(r.adapters[0].description, None);
    assert_eq!(r.adapters[0].ipv4, good_g1.ipv4);
    assert_eq!(r.hostname.as_deref(), Some("HOST-01"));
}

#[test]
fn huge_string_value_is_refused() {
    let huge = "x".repeat(40_000); // 80,002 bytes of UTF-16: over the 64 KiB limit
    let r = damaged(healthy().class("0001", G1, vec![sz("DriverDesc", &huge)]), &["bad_value"]);
    assert_eq!(r.adapters[0].description, None);
    assert_eq!(r.adapters[0].name.as_deref(), Some("Ethernet0"));
    assert_eq!(r.adapters[0].ipv4, [e4("10.0.0.1", 8), e4("192.168.5.7", 24)]);
    assert_eq!(r.hostname.as_deref(), Some("HOST-01"));
    assert_eq!(r.warnings[0].value.as_deref(), Some("DriverDesc"));

    let r = damaged(healthy().params(vec![sz("SearchList", &huge)]), &["bad_value"]);
    assert!(r.search_list.is_empty());
    assert_eq!(r.hostname.as_deref(), Some("HOST-01"));
}

/// G1 of [`healthy`] with some Tcpip values replaced; the pairing is asserted before anything else,
/// so that a failure shows the mispaired list.
fn g1_with(values: Vec<ValueSpec>) -> Report {
    healthy().tcpip(G1, values).report()
}

/// An undecodable item in the middle of `IPAddress` (a lone surrogate) must not shift the later
/// addresses onto the wrong masks: the very mispairing dissect is criticised for.
#[test]
fn undecodable_address_item_keeps_the_pairing() {
    let mut data = utf16("10.0.0.1\0");
    data.extend_from_slice(&0xDC00u16.to_le_bytes()); // a lone low surrogate
    data.extend(utf16("\0"));
    data.extend(utf16("192.168.5.7\0\0"));
    let r = g1_with(vec![
        ValueSpec::new("IPAddress", REG_MULTI_SZ, data),
        multi("SubnetMask", &["255.0.0.0", "255.255.0.0", "255.255.255.0"]),
    ]);
    // Today: [10.0.0.1/8, 192.168.5.7/16] and an `unpaired_values` warning (2 addresses, 3 masks).
    assert_eq!(r.adapters[0].ipv4, [e4("10.0.0.1", 8), e4("192.168.5.7", 24)]);
    assert_eq!(codes(&r), ["bad_value"]);
    assert_eq!(adapter(&r, G2), adapter(&healthy().report(), G2));
}

/// Same root cause through a blank item: `" "` is trimmed to nothing and dropped, and the list
/// shifts.
#[test]
fn blank_address_item_keeps_the_pairing() {
    let r = g1_with(vec![
        multi("IPAddress", &["10.0.0.1", " ", "192.168.5.7"]),
        multi("SubnetMask", &["255.0.0.0", "255.255.0.0", "255.255.255.0"]),
    ]);
    // Today: [10.0.0.1/8, 192.168.5.7/16] and `unpaired_values`.
    assert_eq!(r.adapters[0].ipv4, [e4("10.0.0.1", 8), e4("192.168.5.7", 24)]);
    // The lists are equally long; whether the blank item is itself warned about is the fix's choice.
    assert!(!codes(&r).contains(&"unpaired_values"), "{:?}", r.warnings);
}

/// Same root cause for gateway metrics: an undecodable metric moves the next metric onto the wrong
/// gateway.
#[test]
fn undecodable_metric_item_keeps_the_pairing() {
    let mut metrics = utf16("5\0");
    metrics.extend_from_slice(&0xD800u16.to_le_bytes());
    metrics.extend(utf16("\0"));
    metrics.extend(utf16("7\0\0"));
    let r = g1_with(vec![
        multi("DefaultGateway", &["10.0.0.254", "10.0.0.253", "10.0.0.252"]),
        ValueSpec::new("DefaultGatewayMetric", REG_MULTI_SZ, metrics),
    ]);
    // Today: 10.0.0.253 gets metric 7 and 10.0.0.252 none.
    assert_eq!(
        gws(&r.adapters[0]),
        [(ip("10.0.0.254"), Some(5)), (ip("10.0.0.253"), None), (ip("10.0.0.252"), Some(7))]
    );
    assert_eq!(codes(&r), ["bad_value"]);
}

/// docs/report.md: `obtained_utc`/`expires_utc` are null when the raw value is before 2000,
/// "flagged `lease_not_epoch`". Only `LeaseObtainedTime` is checked, so a non-epoch expiry beside an
/// epoch start is nulled silently.
#[test]
fn non_epoch_lease_expiry_is_flagged() {
    let r = one_static(cat(vec![
        dhcp_v4("192.168.0.7", "255.255.255.0"),
        vec![dw("LeaseObtainedTime", 1_289_408_803), dw("LeaseTerminatesTime", 834_052)],
    ]));
    let l = r.adapters[0].dhcp_lease.as_ref().unwrap();
    assert_eq!((l.expires, l.expires_utc.as_deref()), (Some(834_052), None));
    // Today: no warning at all.
    assert_eq!(warned(&r, "lease_not_epoch").iter().map(|w| w.1).collect::<Vec<_>>(), [Some("LeaseTerminatesTime")]);
}

/// A route metric that is neither -1 (automatic) nor a u32 is not "automatic": it is malformed.
#[test]
fn impossible_route_metric_is_a_bad_value() {
    let r = Sys::new()
        .routes(&[
            "10.1.0.0,255.255.0.0,10.0.0.1,-5",
            "10.2.0.0,255.255.0.0,10.0.0.1,99999999999",
            "10.3.0.0,255.255.0.0,10.0.0.1,-1",
        ])
        .report();
    // Today: all three routes, each with metric None, and no warning.
    let routes: Vec<_> = r.routes.iter().map(|x| (x.destination, x.metric)).collect();
    assert_eq!(routes, [(v4("10.3.0.0"), None)]);
    assert_eq!(codes(&r), ["bad_value", "bad_value"]);
}

#[test]
fn damaged_binary_values() {
    // A DhcpGatewayHardware record that is too short or has another length: no gateway MAC.
    for hw in [
        &[0xC0, 0xA8, 0x01, 0x01, 0x06, 0, 0, 0, 0x00, 0x18][..],
        &[0xC0, 0xA8, 0x01, 0x01, 0x08, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8],
    ] {
        let r = damaged(
            healthy().tcpip(G1, cat(vec![dhcp_v4("10.0.0.9", "255.0.0.0"), vec![bin("DhcpGatewayHardware", hw)]])),
            &[],
        );
        let l = r.adapters[0].dhcp_lease.as_ref().unwrap();
        assert_eq!(l.gateway_mac, None);
    }
    // An Nsi entry whose data is too short: warned, ignored.
    let r = damaged(healthy().with(NSI4, vec![bin(&nsi4_name(6, 1, "10.0.0.1"), &[0xFF; 8])]), &["bad_value"]);
    assert_eq!(r.adapters[0].ipv4, [e4("10.0.0.1", 8), e4("192.168.5.7", 24)]);
    // An Nsi value whose name is not hex of the right length.
    let r = damaged(healthy().with(NSI4, vec![bin("0000000100000600", &nsi_data(8))]), &["bad_value"]);
    assert_eq!(r.adapters[0].ipv4, [e4("10.0.0.1", 8), e4("192.168.5.7", 24)]);
}

// ---------------------------------------------------------------------------------------------
// Dirty hive
// ---------------------------------------------------------------------------------------------

#[test]
fn dirty_hive_replayed_from_logs_or_not() {
    let opts = WriterOptions::default();
    let before = write_hive(&example_system(false), &opts);
    let after = write_hive(&example_system(true), &opts);
    let set = new_format_logs(&before, &after, 3, LogSplit::Split);
    let logs = [LogFile::new("SYSTEM.LOG1", &set.log1), LogFile::new("SYSTEM.LOG2", &set.log2)];

    let r = regnet::report_from_hive_bytes(&set.primary, &logs, &Options::default()).unwrap();
    assert!(r.hive.dirty);
    assert_eq!(r.hive.logs_applied, ["SYSTEM.LOG1", "SYSTEM.LOG2"]);
    assert!(r.hive.logs_ignored.is_empty(), "{:?}", r.hive.logs_ignored);
    assert_eq!(r.hive.entries_applied, 3);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let prod = adapter(&r, NIC_PROD);
    assert_eq!(prod.ipv4, [e4("10.41.7.20", 24), e4("10.41.7.21", 24)]);
    assert_eq!(prod.dns_servers, ips(&["10.41.7.11", "10.41.7.10"]));
    assert_eq!(adapter(&r, NIC_BACKUP).dhcp_lease.as_ref().unwrap().obtained, Some(1_772_447_400));

    let mut no_logs = Options::default();
    no_logs.no_logs = true;
    let r = regnet::report_from_hive_bytes(&set.primary, &logs, &no_logs).unwrap();
    assert!(r.hive.dirty);
    assert!(r.hive.logs_applied.is_empty());
    // The hive layer says why it is dirty (code `hive`: the sequence numbers differ), then that
    // nothing recovered it.
    assert_eq!(codes(&r), ["hive", "dirty_not_recovered"]);
    assert!(r.warnings[0].message.contains("sequence numbers differ"), "{:?}", r.warnings[0]);
    let prod = adapter(&r, NIC_PROD);
    assert_eq!(prod.ipv4, [e4("10.41.7.20", 24)]);
    assert_eq!(prod.dns_servers, ips(&["10.41.7.10", "10.41.7.11"]));
    assert_eq!(adapter(&r, NIC_BACKUP).dhcp_lease.as_ref().unwrap().obtained, Some(1_772_361_000));

    // The same primary with no logs at hand: the before values, and the same warning.
    let r = regnet::report_from_hive_bytes(&set.primary, &[], &Options::default()).unwrap();
    assert_eq!(adapter(&r, NIC_PROD).ipv4, [e4("10.41.7.20", 24)]);
    assert_eq!(codes(&r), ["hive", "dirty_not_recovered"]);

    // A clean hive: not dirty, nothing applied.
    let r = regnet::report_from_hive_bytes(&after, &[], &Options::default()).unwrap();
    assert!(!r.hive.dirty && r.hive.logs_applied.is_empty());
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

/// A dirty hive built with this file's own builder: host name and addresses change in the logs.
#[test]
fn dirty_hive_with_changed_host_and_adapter() {
    let before = healthy();
    let after = healthy()
        .params(vec![sz("Hostname", "HOST-99"), sz("NV Hostname", "HOST-99")])
        .tcpip(G1, static_v4(&["10.0.0.2"], &["255.255.0.0"]));
    let opts = WriterOptions::default();
    let set = new_format_logs(&write_hive(&before.root, &opts), &write_hive(&after.root, &opts), 2, LogSplit::Split);
    let logs = [LogFile::new("SYSTEM.LOG1", &set.log1), LogFile::new("SYSTEM.LOG2", &set.log2)];
    let r = regnet::report_from_hive_bytes(&set.primary, &logs, &Options::default()).unwrap();
    assert_eq!(r.hostname.as_deref(), Some("HOST-99"));
    assert_eq!(r.adapters[0].ipv4, [e4("10.0.0.2", 16)]);
    assert_eq!(r.hive.logs_applied, ["SYSTEM.LOG1", "SYSTEM.LOG2"]);
    let mut o = Options::default();
    o.no_logs = true;
    let r = regnet::report_from_hive_bytes(&set.primary, &logs, &o).unwrap();
    assert_eq!(r.hostname.as_deref(), Some("HOST-01"));
    assert_eq!(r.adapters[0].ipv4, [e4("10.0.0.1", 8), e4("192.168.5.7", 24)]);
    assert_eq!(codes(&r), ["hive", "dirty_not_recovered"]);
}

// ---------------------------------------------------------------------------------------------
// The example SYSTEM hive, end to end
// ---------------------------------------------------------------------------------------------

#[test]
fn example_system_end_to_end() {
    let mut tree = example_system(true);
    tree.find_mut("ControlSet001\\Services\\Tcpip\\Parameters\\PersistentRoutes")
        .unwrap()
        .values
        .push(sz("0.0.0.0,0.0.0.0,10.41.7.1,-1", ""));
    let r = regnet::report_from_hive_bytes(&write_hive(&tree, &WriterOptions::default()), &[], &Options::default())
        .unwrap();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!((r.hostname.as_deref(), r.computer_name.as_deref()), (Some("APP-SRV-07"), Some("APP-SRV-07")));
    assert_eq!(r.domain.as_deref(), Some("corp.example"));
    assert_eq!(r.search_list, ["corp.example", "example"]);
    assert!(!r.ip_forwarding);
    assert_eq!(guids(&r), [NIC_PROD, NIC_BACKUP]);

    let p = adapter(&r, NIC_PROD);
    assert_eq!((p.name.as_deref(), p.description.as_deref()), (Some("Ethernet0"), Some("vmxnet3 Ethernet Adapter")));
    assert_eq!((p.physical, p.if_type, p.class_index.as_deref()), (Some(true), Some(6), Some("0001")));
    assert!(!p.dhcp);
    assert_eq!(p.ipv4, [e4("10.41.7.20", 24), e4("10.41.7.21", 24)]);
    assert_eq!(gws(p), [(ip("10.41.7.1"), Some(0))]);
    assert_eq!((p.dns_servers.clone(), p.dns_source), (ips(&["10.41.7.11", "10.41.7.10"]), Some(DnsSource::Static)));
    assert_eq!(p.dns_suffix, "corp.example");
    assert_eq!(p.dhcp_lease, None, "stale DhcpIPAddress on a static adapter");

    let b = adapter(&r, NIC_BACKUP);
    assert_eq!(b.name.as_deref(), Some("Backup"));
    assert!(b.dhcp);
    assert_eq!(b.ipv4, [e4("192.168.50.23", 24)]);
    assert_eq!(gws(b), [(ip("192.168.50.1"), None)]);
    assert_eq!((b.dns_servers.clone(), b.dns_source), (ips(&["192.168.50.1", "192.168.50.2"]), Some(DnsSource::Dhcp)));
    assert_eq!(b.dns_suffix, "backup.example");
    let l = b.dhcp_lease.as_ref().unwrap();
    assert_eq!((l.server, l.obtained, l.expires), (Some(v4("192.168.50.1")), Some(1_772_447_400), Some(1_773_052_200)));
    assert_eq!(l.obtained_utc.as_deref(), Some("2026-03-02T10:30:00Z"));
    assert_eq!(l.gateway_mac.as_deref(), Some("00:50:56:AA:BB:CC"));

    let routes: Vec<_> = r
        .routes
        .iter()
        .map(|x| (x.destination, x.prefix_len, x.gateway, x.metric, x.repeats_default_gateway))
        .collect();
    assert_eq!(
        routes,
        [(v4("10.99.0.0"), 16, v4("10.41.7.254"), Some(10), false), (v4("0.0.0.0"), 0, v4("10.41.7.1"), None, true),]
    );
}

// ---------------------------------------------------------------------------------------------
// JSON contract
// ---------------------------------------------------------------------------------------------

#[test]
fn json_contract_names_and_round_trip() {
    let opts = WriterOptions::default();
    let set = new_format_logs(
        &write_hive(&example_system(false), &opts),
        &write_hive(&example_system(true), &opts),
        2,
        LogSplit::Split,
    );
    let logs = [LogFile::new("SYSTEM.LOG1", &set.log1), LogFile::new("SYSTEM.LOG2", &set.log2)];
    let mut r = regnet::report_from_hive_bytes(&set.primary, &logs, &Options::default()).unwrap();
    // Give it a warning, so the warning fields are in the JSON as well.
    let damaged = healthy().tcpip(G1, vec![sz("EnableDHCP", "1")]).report();
    r.warnings = damaged.warnings.clone();

    let text = serde_json::to_string(&r).unwrap();
    let j: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(j["schema_version"], 1);
    assert_eq!(j["hostname"], "APP-SRV-07");
    assert_eq!(j["domain"], "corp.example");
    assert_eq!(j["control_set"], 1);
    assert_eq!(j["control_set_source"], "current");
    assert_eq!(j["hive"]["dirty"], true);
    assert_eq!(j["hive"]["logs_applied"], serde_json::json!(["SYSTEM.LOG1", "SYSTEM.LOG2"]));

    // Every contract field is present (null rather than absent, lists possibly empty).
    let keys =
        |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<std::collections::BTreeSet<_>>();
    let set = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<std::collections::BTreeSet<_>>();
    assert_eq!(
        keys(&j),
        set(&[
            "schema_version",
            "hostname",
            "hostname_pending",
            "computer_name",
            "domain",
            "domain_pending",
            "search_list",
            "ip_forwarding",
            "control_set",
            "control_set_source",
            "hive",
            "adapters",
            "routes",
            "warnings",
            "source",
            "vm",
            "os",
            "tcpip_last_written",
            "network_history",
            "software_hive",
        ])
    );
    assert_eq!(keys(&j["hive"]), set(&["dirty", "logs_applied", "logs_ignored", "entries_applied", "pages_applied"]));
    for a in j["adapters"].as_array().unwrap() {
        assert_eq!(
            keys(a),
            set(&[
                "guid",
                "name",
                "description",
                "mac",
                "mac_source",
                "physical",
                "if_type",
                "class_index",
                "dhcp",
                "ipv4",
                "gateways",
                "dns_servers",
                "dns_source",
                "dns_suffix",
                "dhcp_lease",
                "ipv6",
                "ipv6_dns_servers",
                "dhcpv6_dns_servers",
                "wins_servers",
                "netbios",
                "mtu",
                "vlan_id",
                "interface_metric",
                "network",
                "present",
                "presence",
                "dhcp6",
                "config",
                "last_written",
                "network_profile",
            ])
        );
    }
    assert_eq!(
        keys(&j["adapters"][1]["dhcp_lease"]),
        set(&["server", "obtained", "expires", "obtained_utc", "expires_utc", "lease_seconds", "gateway_mac"])
    );
    assert_eq!(keys(&j["warnings"][0]), set(&["code", "message", "key", "value"]));

    let p = &j["adapters"][0];
    assert_eq!(p["guid"], NIC_PROD);
    assert_eq!(p["name"], "Ethernet0");
    assert_eq!(p["description"], "vmxnet3 Ethernet Adapter");
    assert_eq!(p["mac"], "00:50:56:9A:3C:1F");
    assert_eq!(p["mac_source"], "current");
    assert_eq!(p["dhcp"], false);
    assert_eq!(
        p["ipv4"],
        serde_json::json!([{"address": "10.41.7.20", "prefix_len": 24}, {"address": "10.41.7.21", "prefix_len": 24}])
    );
    assert_eq!(p["gateways"], serde_json::json!([{"address": "10.41.7.1", "metric": 0}]));
    assert_eq!(p["dns_servers"], serde_json::json!(["10.41.7.11", "10.41.7.10"]));
    assert_eq!(p["dns_suffix"], "corp.example");
    assert_eq!(p["dhcp_lease"], serde_json::Value::Null);

    let b = &j["adapters"][1];
    assert_eq!(b["guid"], NIC_BACKUP);
    assert_eq!(b["dhcp"], true);
    assert_eq!(b["gateways"], serde_json::json!([{"address": "192.168.50.1", "metric": null}]));
    let l = &b["dhcp_lease"];
    assert_eq!(l["server"], "192.168.50.1");
    assert_eq!(l["obtained"], 1_772_447_400u32);
    assert_eq!(l["expires"], 1_773_052_200u32);
    assert_eq!(l["obtained_utc"], "2026-03-02T10:30:00Z");
    assert_eq!(l["gateway_mac"], "00:50:56:AA:BB:CC");

    let w = &j["warnings"][0];
    assert_eq!(w["code"], "wrong_type");
    assert_eq!(w["value"], "EnableDHCP");
    assert!(w["message"].is_string() && w["key"].is_string());

    let back: Report = serde_json::from_str(&text).unwrap();
    assert_eq!(back, r);

    // A report with every optional part filled in round-trips too.
    let full = Sys::new()
        .params(vec![sz("NV Hostname", "HOST-02"), sz("SearchList", "a.example,b.example")])
        .class(
            "0001",
            G1,
            vec![
                sz("NetworkAddress", "00505691ABCD"),
                dw("*IfType", 6),
                dw("NetLuidIndex", 1),
                dw("Characteristics", 0x84),
                sz("VlanID", "10"),
            ],
        )
        .tcpip(
            G1,
            cat(vec![
                dhcp_full(),
                vec![sz("DhcpNameServer", "192.168.1.1"), dw("MTU", 1400), dw("InterfaceMetric", 5)],
            ]),
        )
        .tcpip6(G1, vec![sz("NameServer", "fd00::53"), bin("Dhcpv6DNSServers", &v6_bytes(&["2001:db8::1"]))])
        .netbt(G1, vec![multi("DhcpNameServerList", &["192.168.1.2"]), dw("NetbiosOptions", 1)])
        .with(NSI6, vec![bin(&nsi6_name(6, 1, "2001:db8::10"), &nsi_data(64))])
        .routes(&["10.99.0.0,255.255.0.0,10.41.7.254,10"])
        .report();
    let text = serde_json::to_string_pretty(&full).unwrap();
    assert_eq!(serde_json::from_str::<Report>(&text).unwrap(), full);
    let j: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(j["adapters"][0]["mac_source"], "override");
    assert_eq!(j["adapters"][0]["dns_source"], "dhcp");
    assert_eq!(j["adapters"][0]["netbios"], "enabled");
    assert_eq!(j["adapters"][0]["ipv6"], serde_json::json!([{"address": "2001:db8::10", "prefix_len": 64}]));
    assert_eq!(
        j["routes"][0],
        serde_json::json!({"destination": "10.99.0.0", "prefix_len": 16, "gateway": "10.41.7.254", "metric": 10, "repeats_default_gateway": false})
    );
}

// ---------------------------------------------------------------------------------------------
// Property: random valid adapter configurations are reported exactly
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Cfg {
    Static {
        addrs: Vec<(Ipv4Addr, u8)>,
        gateways: Vec<(Ipv4Addr, u32)>,
        dns: Vec<Ipv4Addr>,
        comma: bool,
    },
    Dhcp {
        addr: (Ipv4Addr, u8),
        gateways: Vec<Ipv4Addr>,
        dns: Vec<Ipv4Addr>,
        static_dns: Vec<Ipv4Addr>,
        obtained: u32,
        lease: u32,
    },
}

#[derive(Debug, Clone)]
struct NicCfg {
    /// Random tail of the GUID (the head is the adapter's position, which keeps GUIDs unique).
    tail: u64,
    /// Whether the adapter has a device class entry, else it is Tcpip-only.
    has_class: bool,
    /// Spell the Tcpip key in lower case.
    lower: bool,
    cfg: Cfg,
}

fn addr() -> impl Strategy<Value = Ipv4Addr> {
    // No 0.0.0.0 ("none") and no 255.255.255.255.
    (1u32..0xFFFF_FFFF).prop_map(Ipv4Addr::from)
}

fn cfg_strategy() -> impl Strategy<Value = Cfg> {
    let stat = (
        proptest::collection::vec((addr(), 1u8..=32), 0..4),
        proptest::collection::vec((addr(), 0u32..10_000), 0..3),
        proptest::collection::vec(addr(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(addrs, gateways, dns, comma)| Cfg::Static { addrs, gateways, dns, comma });
    let dhcp = (
        (addr(), 1u8..=32),
        proptest::collection::vec(addr(), 0..3),
        proptest::collection::vec(addr(), 0..4),
        proptest::collection::vec(addr(), 0..3),
        946_684_800u32..2_000_000_000,
        1u32..1_000_000,
    )
        .prop_map(|(addr, gateways, dns, static_dns, obtained, lease)| Cfg::Dhcp {
            addr,
            gateways,
            dns,
            static_dns,
            obtained,
            lease,
        });
    prop_oneof![stat, dhcp]
}

fn nics_strategy() -> impl Strategy<Value = (Vec<NicCfg>, Vec<usize>)> {
    proptest::collection::vec(
        (any::<u64>(), any::<bool>(), any::<bool>(), cfg_strategy()).prop_map(|(tail, has_class, lower, cfg)| NicCfg {
            tail,
            has_class,
            lower,
            cfg,
        }),
        1..5,
    )
    .prop_flat_map(|nics| {
        let n = nics.len();
        (Just(nics), Just((0..n).collect::<Vec<usize>>()).prop_shuffle())
    })
}

fn mask(prefix: u8) -> Ipv4Addr {
    Ipv4Addr::from(if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) })
}

fn join(list: &[Ipv4Addr], sep: &str) -> String {
    list.iter().map(Ipv4Addr::to_string).collect::<Vec<_>>().join(sep)
}

fn strs(list: impl IntoIterator<Item = Ipv4Addr>) -> Vec<String> {
    list.into_iter().map(|a| a.to_string()).collect()
}

fn multi_owned(name: &str, items: &[String]) -> ValueSpec {
    multi(name, &items.iter().map(String::as_str).collect::<Vec<_>>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_adapter_configurations_are_reported_exactly((nics, slots) in nics_strategy()) {
        let guid = |i: usize, t: u64| {
            format!("{{{:08X}-{:04X}-4{:03X}-8{:03X}-{:012X}}}", i, (t >> 48) & 0xFFFF, (t >> 36) & 0xFFF, (t >> 24) & 0xFFF, t & 0xFFFF_FFFF_FFFF)
        };
        let mut sys = Sys::new();
        for (i, n) in nics.iter().enumerate() {
            let g = guid(i, n.tail);
            if n.has_class {
                sys = sys.class(&format!("{:04}", slots[i]), &g, vec![dw("Characteristics", 0x84)]);
            }
            let values = match &n.cfg {
                Cfg::Static { addrs, gateways, dns, comma } => vec![
                    dw("EnableDHCP", 0),
                    multi_owned("IPAddress", &strs(addrs.iter().map(|a| a.0))),
                    multi_owned("SubnetMask", &strs(addrs.iter().map(|a| mask(a.1)))),
                    multi_owned("DefaultGateway", &strs(gateways.iter().map(|g| g.0))),
                    multi_owned("DefaultGatewayMetric", &gateways.iter().map(|g| g.1.to_string()).collect::<Vec<_>>()),
                    sz("NameServer", &join(dns, if *comma { "," } else { " " })),
                ],
                Cfg::Dhcp { addr, gateways, dns, static_dns, obtained, lease } => vec![
                    dw("EnableDHCP", 1),
                    sz("DhcpIPAddress", &addr.0.to_string()),
                    sz("DhcpSubnetMask", &mask(addr.1).to_string()),
                    multi_owned("DhcpDefaultGateway", &strs(gateways.iter().copied())),
                    sz("DhcpNameServer", &join(dns, " ")),
                    sz("NameServer", &join(static_dns, ",")),
                    dw("Lease", *lease),
                    dw("LeaseObtainedTime", *obtained),
                    dw("LeaseTerminatesTime", obtained.saturating_add(*lease)),
                ],
            };
            let key = if n.lower { g.to_ascii_lowercase() } else { g };
            sys = sys.tcpip(&key, values);
        }
        let r = sys.report();
        prop_assert!(r.warnings.is_empty(), "{:?}", r.warnings);

        // Expected order: class entries by index, then Tcpip-only by GUID.
        let mut with_class: Vec<(usize, String, &NicCfg)> = Vec::new();
        let mut tcpip_only: Vec<(String, &NicCfg)> = Vec::new();
        for (i, n) in nics.iter().enumerate() {
            if n.has_class { with_class.push((slots[i], guid(i, n.tail), n)) } else { tcpip_only.push((guid(i, n.tail), n)) }
        }
        with_class.sort_by_key(|x| x.0);
        tcpip_only.sort_by(|a, b| a.0.cmp(&b.0));
        let expected: Vec<(String, Option<String>, &NicCfg)> = with_class
            .into_iter()
            .map(|(s, g, n)| (g, Some(format!("{s:04}")), n))
            .chain(tcpip_only.into_iter().map(|(g, n)| (g, None, n)))
            .collect();
        prop_assert_eq!(guids(&r), expected.iter().map(|e| e.0.as_str()).collect::<Vec<_>>());

        for (a, (g, class_index, n)) in r.adapters.iter().zip(&expected) {
            prop_assert_eq!(&a.guid, g);
            prop_assert_eq!(&a.class_index, class_index);
            prop_assert_eq!(a.physical, n.has_class.then_some(true));
            match &n.cfg {
                Cfg::Static { addrs, gateways, dns, .. } => {
                    prop_assert!(!a.dhcp);
                    prop_assert_eq!(&a.ipv4, &addrs.iter().map(|(ad, p)| Ipv4Entry::new(*ad, *p)).collect::<Vec<_>>());
                    prop_assert_eq!(gws(a), gateways.iter().map(|(ad, m)| (IpAddr::V4(*ad), Some(*m))).collect::<Vec<_>>());
                    prop_assert_eq!(&a.dns_servers, &dns.iter().map(|d| IpAddr::V4(*d)).collect::<Vec<_>>());
                    prop_assert_eq!(a.dns_source, (!dns.is_empty()).then_some(DnsSource::Static));
                    prop_assert_eq!(&a.dhcp_lease, &None);
                }
                Cfg::Dhcp { addr, gateways, dns, static_dns, obtained, lease } => {
                    prop_assert!(a.dhcp);
                    prop_assert_eq!(&a.ipv4, &vec![Ipv4Entry::new(addr.0, addr.1)]);
                    prop_assert_eq!(gws(a), gateways.iter().map(|ad| (IpAddr::V4(*ad), None)).collect::<Vec<_>>());
                    let (want_dns, want_src) = if !static_dns.is_empty() {
                        (static_dns, Some(DnsSource::Static))
                    } else {
                        (dns, (!dns.is_empty()).then_some(DnsSource::Dhcp))
                    };
                    prop_assert_eq!(&a.dns_servers, &want_dns.iter().map(|d| IpAddr::V4(*d)).collect::<Vec<_>>());
                    prop_assert_eq!(a.dns_source, want_src);
                    let l = a.dhcp_lease.as_ref().expect("a lease");
                    prop_assert_eq!(l.obtained, Some(*obtained));
                    prop_assert_eq!(l.expires, Some(obtained.saturating_add(*lease)));
                    prop_assert_eq!(l.lease_seconds, Some(*lease));
                    prop_assert!(l.obtained_utc.is_some());
                }
            }
        }
    }
}
