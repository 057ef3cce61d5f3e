//! The extractor on real Windows hives (../shared/corpus; skipped with a printed reason when
//! absent). Facts from ../shared/corpus/README.md and REGISTRY-FIELDS.md §3.

use regnet::{Adapter, MacSource, Options, Report};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

fn corpus(rel: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus").join(rel);
    if p.is_file() {
        Some(p)
    } else {
        eprintln!("skipped: {} is absent", p.display());
        None
    }
}

fn adapter<'a>(r: &'a Report, guid: &str) -> &'a Adapter {
    r.adapters.iter().find(|a| a.guid.eq_ignore_ascii_case(guid)).unwrap_or_else(|| panic!("no adapter {guid}"))
}

fn v4(s: &str) -> IpAddr {
    IpAddr::V4(s.parse::<Ipv4Addr>().unwrap())
}

#[test]
fn windows7_system() {
    let Some(p) = corpus("regipy/SYSTEM") else { return };
    let r = regnet::report_from_hive_file(&p, &Options::default()).unwrap();
    // The current set (001), never ControlSet002's WIN-V5T3CSP8U4H.
    assert_eq!(r.control_set, 1);
    assert_eq!(r.hostname.as_deref(), Some("WKS-WIN732BITA"));
    assert_eq!(r.computer_name.as_deref(), Some("WKS-WIN732BITA"));
    assert_eq!(r.domain.as_deref(), Some("shieldbase.local"));
    assert!(!r.hive.dirty);

    let lan = adapter(&r, "{6AAFC9A9-0542-4DB2-8760-CCFFA953737C}");
    assert_eq!(lan.name.as_deref(), Some("Local Area Connection"));
    assert_eq!(lan.description.as_deref(), Some("Intel(R) PRO/1000 MT Network Connection"));
    assert!(!lan.dhcp, "static, despite stale DHCP lease values");
    assert_eq!(
        lan.ipv4.iter().map(|e| (e.address.to_string(), e.prefix_len)).collect::<Vec<_>>(),
        vec![("192.168.1.123".into(), 24)]
    );
    assert_eq!(lan.gateways.len(), 1);
    assert_eq!((lan.gateways[0].address, lan.gateways[0].metric), (v4("192.168.1.1"), Some(0)));
    assert_eq!(lan.dns_servers, vec![v4("192.168.1.112")]);
    assert!(lan.dhcp_lease.is_none(), "stale lease values of a static adapter are not live");
    assert_eq!(lan.physical, Some(true));
    assert_eq!(lan.mac, None, "Windows 7 stores no MAC for this NIC");

    let lan2 = adapter(&r, "{698E50A9-4F58-4D86-B61D-F42E58DCACF6}");
    assert_eq!(lan2.name.as_deref(), Some("Local Area Connection 2"));
    assert_eq!(
        lan2.ipv4.iter().map(|e| (e.address.to_string(), e.prefix_len)).collect::<Vec<_>>(),
        vec![("10.3.58.5".into(), 24)]
    );
    assert_eq!(lan2.gateways[0].address, v4("10.3.58.1"));
    assert_eq!(lan2.dns_servers, vec![v4("10.3.58.4")]);

    // The Nsi store agrees with the TCP/IP keys for both NICs.
    assert!(!r.warnings.iter().any(|w| w.code.starts_with("nsi")), "{:#?}", r.warnings);
    // The empty pseudo-interface key is skipped.
    assert!(!r.adapters.iter().any(|a| a.guid.ends_with("806E6F6E6963}")));
    // Virtual adapters are kept and marked.
    assert!(r
        .adapters
        .iter()
        .any(|a| a.physical == Some(false) && a.description.as_deref() == Some("Microsoft Teredo Tunneling Adapter")));
    // Both persistent routes only repeat the GUI default gateways.
    let routes: Vec<(String, bool)> =
        r.routes.iter().map(|x| (x.gateway.to_string(), x.repeats_default_gateway)).collect();
    assert_eq!(routes.len(), 2);
    assert!(routes.contains(&("10.3.58.1".into(), true)) && routes.contains(&("192.168.1.1".into(), true)));
    assert!(r.routes.iter().all(|x| x.metric.is_none() && x.prefix_len == 0));
}

#[test]
fn windows10_system_b_with_logs() {
    let Some(p) = corpus("regipy/SYSTEM_B") else { return };
    let r = regnet::report_from_hive_file(&p, &Options::default()).unwrap();
    assert!(r.hive.dirty);
    assert_eq!(r.hive.logs_applied, vec!["SYSTEM_B.LOG1", "SYSTEM_B.LOG2"]);
    assert_eq!(r.hostname.as_deref(), Some("DESKTOP-PM6C56D"));
    assert_eq!(r.domain, None);

    let wifi = adapter(&r, "{4b0ae068-b350-4bd4-85ab-77e00e581863}");
    assert_eq!(wifi.guid, "{4B0AE068-B350-4BD4-85AB-77E00E581863}");
    assert_eq!(wifi.name.as_deref(), Some("Wi-Fi"));
    assert_eq!(wifi.description.as_deref(), Some("Broadcom 802.11n Network Adapter"));
    assert_eq!(wifi.if_type, Some(71));
    assert_eq!((wifi.mac.as_deref(), wifi.mac_source), (Some("EC:0E:C4:20:7F:0E"), Some(MacSource::Current)));
    assert!(wifi.dhcp);
    assert_eq!(
        wifi.ipv4.iter().map(|e| (e.address.to_string(), e.prefix_len)).collect::<Vec<_>>(),
        vec![("192.168.0.7".into(), 24)]
    );
    assert_eq!(wifi.gateways.iter().map(|g| g.address).collect::<Vec<_>>(), vec![v4("192.168.0.1")]);
    // Three DNS servers, in the order DHCP gave them.
    assert_eq!(wifi.dns_servers, vec![v4("68.105.28.11"), v4("68.105.29.11"), v4("68.105.28.12")]);
    let lease = wifi.dhcp_lease.as_ref().unwrap();
    assert_eq!(lease.server, Some("192.168.0.1".parse().unwrap()));
    assert_eq!(lease.obtained, Some(0x000c_abf4), "the replayed value (830452)");
    assert_eq!(lease.expires, Some(0x000c_ba04));
    assert_eq!(lease.obtained_utc, None, "not seconds since 1970 on this build");
    assert_eq!(lease.lease_seconds, Some(3600));
    assert_eq!(lease.gateway_mac.as_deref(), Some("5C:8F:E0:2A:1C:68"));
    assert!(r.warnings.iter().any(|w| w.code == "lease_not_epoch"));
    assert_eq!(
        wifi.dhcpv6_dns_servers.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        vec!["2001:578:3f::30", "2001:578:3f:1::30", "2001:578:3f::30"]
    );

    let eth = adapter(&r, "{08BA0CD8-E98C-475C-BADF-65130C043BD6}");
    assert_eq!(eth.name.as_deref(), Some("Ethernet"));
    assert_eq!(eth.mac.as_deref(), Some("EC:F4:BB:48:7F:ED"));
    assert!(eth.dhcp && eth.ipv4.is_empty() && eth.dhcp_lease.is_none(), "DHCP, no lease");
    let bt = r
        .adapters
        .iter()
        .find(|a| a.description.as_deref() == Some("Bluetooth Device (Personal Area Network)"))
        .unwrap();
    assert_eq!((bt.mac.as_deref(), bt.physical), (Some("28:E3:47:01:77:77"), Some(false)));
}

#[test]
fn windows10_system_b_without_logs_is_stale() {
    let Some(p) = corpus("regipy/SYSTEM_B") else { return };
    let mut o = Options::default();
    o.no_logs = true;
    let r = regnet::report_from_hive_file(&p, &o).unwrap();
    assert!(r.hive.dirty && r.hive.logs_applied.is_empty());
    assert!(r.warnings.iter().any(|w| w.code == "dirty_not_recovered"));
    let wifi = adapter(&r, "{4B0AE068-B350-4BD4-85AB-77E00E581863}");
    assert_eq!(wifi.dhcp_lease.as_ref().unwrap().obtained, Some(0x000c_65a8), "812456 before replay");
}

#[test]
fn corrupted_hive_still_gives_a_report_or_a_clear_error() {
    let Some(p) = corpus("regipy/corrupted_system_hive") else { return };
    match regnet::report_from_hive_file(&p, &Options::default()) {
        Ok(r) => eprintln!("corrupted_system_hive: {} adapters, {} warnings", r.adapters.len(), r.warnings.len()),
        Err(e) => eprintln!("corrupted_system_hive: {e}"),
    }
}

/// Every yarp hive: a report or a typed error, never a panic.
#[test]
fn non_system_hives_are_refused_cleanly() {
    let Some(p) = corpus("yarp/ManySubkeysHive") else { return };
    let e = regnet::report_from_hive_file(&p, &Options::default()).unwrap_err();
    assert!(matches!(e, regnet::Error::NotASystemHive(_)), "{e}");
}
