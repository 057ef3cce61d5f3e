//! The SOFTWARE hive: `os` from `CurrentVersion`, `network_history` from `NetworkList`, the join to
//! adapters by DHCP gateway MAC, last-written times, log replay, and damaged or hostile hives.

mod software_tree;

use regnet::hive::LogFile;
use regnet::{NetworkCategory, NetworkNameType, Options, Report};
use regnet_testkit::example::{example_system, NIC_BACKUP, NIC_PROD};
use regnet_testkit::{new_format_logs, write_hive, KeySpec, LogSplit, ValueSpec};
use software_tree::*;
use std::path::{Path, PathBuf};

fn system_report(tree: &KeySpec) -> Report {
    regnet::report_from_hive_bytes(&write_hive(tree, &options("SYSTEM", 3)), &[], &Options::default()).unwrap()
}

fn with_software(tree: &KeySpec) -> Report {
    let mut r = system_report(&system_with_zone(true));
    regnet::add_software_bytes(&mut r, &write_hive(tree, &options("SOFTWARE", 5)), &[], &Options::default());
    r
}

fn codes(r: &Report) -> Vec<&str> {
    r.warnings.iter().map(|w| w.code.as_str()).collect()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("regnet-software-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn every_field_is_read() {
    let r = with_software(&software(true));
    let os = r.os.as_ref().unwrap();
    assert_eq!(os.family, "windows");
    assert_eq!(os.name.as_deref(), Some("Windows 10 Pro"));
    assert_eq!(os.pretty_name.as_deref(), Some("Windows 11 Pro 23H2"));
    assert_eq!(os.version.as_deref(), Some("10.0.22631.2861"));
    assert_eq!(os.build.as_deref(), Some("22631"));
    assert_eq!(os.ubr, Some(2861));
    assert_eq!(os.edition.as_deref(), Some("Professional"));
    assert_eq!(os.display_version.as_deref(), Some("23H2"));
    assert_eq!(os.install_date.as_deref(), Some("2023-11-14T22:13:20Z"));
    assert_eq!(os.time_zone.as_deref(), Some("W. Europe Standard Time"));
    assert_eq!(os.utc_offset_minutes, Some(60));
    let rule = os.time_zone_rule.unwrap();
    assert_eq!((rule.bias, rule.standard_bias, rule.daylight_bias), (-60, 0, -60));
    let (ds, ss) = (rule.daylight_start.unwrap(), rule.standard_start.unwrap());
    assert_eq!((ds.month, ds.week, ds.weekday, ds.hour), (3, 5, 0, 2));
    assert_eq!((ss.month, ss.week, ss.weekday, ss.hour), (10, 5, 0, 3));

    let h = &r.network_history;
    let names: Vec<_> = h.iter().map(|p| p.name.as_deref().unwrap_or("-")).collect();
    // Most recently connected first; the profile with impossible dates last.
    assert_eq!(names, ["HomeWiFi", "corp.example", "Airport Free WiFi", "Contoso Mobile", "Network 3"]);
    let corp = &h[1];
    assert_eq!(corp.guid, P_CORP);
    assert_eq!(corp.description.as_deref(), Some("corp.example"));
    assert_eq!((corp.category, corp.category_raw), (Some(NetworkCategory::Domain), Some(2)));
    assert_eq!((corp.name_type, corp.name_type_raw), (Some(NetworkNameType::Wired), Some(6)));
    assert_eq!(corp.managed, Some(true));
    // Written 2023-01-10 08:15:00 local, UTC+1.
    assert_eq!(corp.created_local.as_deref(), Some("2023-01-10T08:15:00"));
    assert_eq!(corp.created.as_deref(), Some("2023-01-10T07:15:00Z"));
    assert_eq!(corp.last_connected.as_deref(), Some("2024-11-28T08:02:11Z"));
    assert_eq!((corp.created_raw.as_ref(), corp.last_connected_raw.as_ref()), (None, None));
    assert_eq!(corp.signatures.len(), 1);
    let s = &corp.signatures[0];
    assert!(s.managed);
    assert_eq!(s.key, "010103000F0000F0080000000F0000F0E3F9A2B1C4D5E6F708192A3B4C5D6E7F");
    assert_eq!(s.gateway_mac.as_deref(), Some("00:50:56:AA:BB:CC"));
    assert_eq!(s.dns_suffix.as_deref(), Some("corp.example"));
    assert_eq!(s.first_network.as_deref(), Some("corp.example"));
    assert_eq!(s.description.as_deref(), Some("corp.example"));

    // Written 2024-07-14 07:40:00 local, in summer time: UTC+2.
    assert_eq!(h[2].last_connected_local.as_deref(), Some("2024-07-14T07:40:00"));
    assert_eq!(h[2].last_connected.as_deref(), Some("2024-07-14T05:40:00Z"));
    let home = &h[0];
    assert_eq!(
        (home.category, home.name_type, home.managed),
        (Some(NetworkCategory::Private), Some(NetworkNameType::Wireless), Some(false))
    );
    assert!(!home.signatures[0].managed);
    assert_eq!(home.signatures[0].dns_suffix, None, "<none> is no suffix");
    assert_eq!(h[3].name_type, Some(NetworkNameType::MobileBroadband));
    assert_eq!(h[3].category, Some(NetworkCategory::Public));

    let bad = &h[4];
    assert_eq!((bad.category, bad.category_raw), (None, Some(7)));
    assert_eq!(bad.created, None);
    assert_eq!(bad.created_local, None);
    assert_eq!(bad.created_raw.as_deref(), Some("e8070d00030001000000000000000000"));
    assert_eq!(bad.last_connected_raw.as_deref(), Some("e80701000100010000000000000000"));
    assert!(bad.signatures.is_empty());

    // The DHCP adapter whose gateway MAC a signature names gets the profile's name.
    let backup = r.adapters.iter().find(|a| a.guid == NIC_BACKUP).unwrap();
    assert_eq!(backup.network_profile.as_deref(), Some("corp.example"));
    let prod = r.adapters.iter().find(|a| a.guid == NIC_PROD).unwrap();
    assert_eq!(prod.network_profile, None);

    let c = codes(&r);
    assert_eq!(c.iter().filter(|c| **c == "bad_date").count(), 2, "{c:?}");
    assert!(c.contains(&"orphan_signature") && c.contains(&"bad_value"), "{c:?}");
    assert_eq!(r.software_hive.as_ref().map(|h| h.dirty), Some(false));

    // Round trip through the JSON contract.
    let back: Report = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(back, r);
}

#[test]
fn last_written_times_of_the_tcpip_keys() {
    let mut tree = example_system(true);
    let t = (1_700_000_000u64 + 11_644_473_600) * 10_000_000;
    let ifs = "ControlSet001\\Services\\Tcpip\\Parameters";
    tree.find_mut(ifs).unwrap().last_written = t + 3_600 * 10_000_000;
    tree.find_mut(&format!("{ifs}\\Interfaces\\{NIC_PROD}")).unwrap().last_written = t;
    let r = system_report(&tree);
    assert_eq!(r.tcpip_last_written.as_deref(), Some("2023-11-14T23:13:20Z"));
    let prod = r.adapters.iter().find(|a| a.guid == NIC_PROD).unwrap();
    assert_eq!(prod.last_written.as_deref(), Some("2023-11-14T22:13:20Z"));
    // A zero time is "never set": null.
    tree.find_mut(&format!("{ifs}\\Interfaces\\{NIC_PROD}")).unwrap().last_written = 0;
    let r = system_report(&tree);
    assert_eq!(r.adapters.iter().find(|a| a.guid == NIC_PROD).unwrap().last_written, None);
}

#[test]
fn dirty_software_is_replayed_from_its_logs() {
    let opts = options("SOFTWARE", 60);
    let set =
        new_format_logs(&write_hive(&software(false), &opts), &write_hive(&software(true), &opts), 2, LogSplit::Split);
    let logs = [LogFile::new("SOFTWARE.LOG1", &set.log1), LogFile::new("SOFTWARE.LOG2", &set.log2)];
    let mut r = system_report(&system_with_zone(true));
    regnet::add_software_bytes(&mut r, &set.primary, &logs, &Options::default());
    let h = r.software_hive.clone().unwrap();
    assert!(h.dirty);
    assert_eq!(h.logs_applied, ["SOFTWARE.LOG1", "SOFTWARE.LOG2"]);
    assert!(r.network_history.iter().any(|p| p.guid == P_AIRPORT));
    let corp = r.network_history.iter().find(|p| p.guid == P_CORP).unwrap();
    assert_eq!(corp.last_connected_local.as_deref(), Some("2024-11-28T09:02:11"));

    // Without the logs: the stale primary, and a warning saying so.
    let mut stale = system_report(&system_with_zone(true));
    let mut o = Options::default();
    o.no_logs = true;
    regnet::add_software_bytes(&mut stale, &set.primary, &logs, &o);
    assert!(!stale.network_history.iter().any(|p| p.guid == P_AIRPORT));
    let corp = stale.network_history.iter().find(|p| p.guid == P_CORP).unwrap();
    assert_eq!(corp.last_connected_local.as_deref(), Some("2024-06-03T07:58:40"));
    assert!(codes(&stale).contains(&"software_dirty_not_recovered"), "{:?}", codes(&stale));
}

#[test]
fn without_a_time_zone_dates_stay_local() {
    let mut r = system_report(&example_system(true));
    assert_eq!(r.os.as_ref().unwrap().utc_offset_minutes, None);
    regnet::add_software_bytes(&mut r, &write_hive(&software(true), &options("SOFTWARE", 5)), &[], &Options::default());
    let corp = r.network_history.iter().find(|p| p.guid == P_CORP).unwrap();
    assert_eq!(corp.created_local.as_deref(), Some("2023-01-10T08:15:00"));
    assert_eq!(corp.created, None);
    assert_eq!(codes(&r).iter().filter(|c| **c == "time_zone_unknown").count(), 1);
}

#[test]
fn a_missing_or_damaged_software_hive_is_a_warning() {
    let base = system_report(&system_with_zone(true));
    let good = write_hive(&software(true), &options("SOFTWARE", 5));
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("random", (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()),
        ("empty", Vec::new()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("base block only", good[..4096].to_vec()),
        ("a SYSTEM hive", write_hive(&example_system(true), &options("SYSTEM", 1))),
    ];
    let mut flipped = good.clone();
    for i in (4096..flipped.len()).step_by(97) {
        flipped[i] ^= 0x5A;
    }
    cases.push(("bytes flipped", flipped));
    for (what, bytes) in cases {
        let mut r = base.clone();
        regnet::add_software_bytes(&mut r, &bytes, &[], &Options::default());
        // The SYSTEM part is untouched.
        assert_eq!(r.adapters, base.adapters, "{what}");
        assert_eq!(r.hostname, base.hostname, "{what}");
        let c = codes(&r);
        assert!(c.len() > base.warnings.len(), "{what}: a warning is expected: {c:?}");
        eprintln!("{what}: {:?}", &c[base.warnings.len()..]);
    }
    // A file that is not there.
    let mut r = base.clone();
    regnet::add_software_file(&mut r, Path::new("/nonexistent/SOFTWARE"), &Options::default());
    assert_eq!(codes(&r).last(), Some(&"software_unreadable"));
}

#[test]
fn software_beside_system_is_found_by_name_and_can_be_overridden() {
    let d = tmp("beside");
    std::fs::write(d.join("SYSTEM"), write_hive(&system_with_zone(true), &options("SYSTEM", 3))).unwrap();
    let sw = write_hive(&software(true), &options("SOFTWARE", 5));
    std::fs::write(d.join("software"), &sw).unwrap();
    let r = regnet::report_from_hive_file(d.join("SYSTEM"), &Options::default()).unwrap();
    assert_eq!(r.network_history.len(), 5);
    assert_eq!(regnet::find_software(&d.join("SYSTEM")), Some(d.join("software")));

    let mut o = Options::default();
    o.no_software = true;
    let r = regnet::report_from_hive_file(d.join("SYSTEM"), &o).unwrap();
    assert!(r.network_history.is_empty() && r.software_hive.is_none());
    assert_eq!(r.os.as_ref().unwrap().name, None);

    let other = tmp("elsewhere");
    let mut tree = software(true);
    tree.find_mut("Microsoft\\Windows NT\\CurrentVersion")
        .unwrap()
        .values
        .retain(|v| v.name.to_string_lossy() != "EditionID");
    tree.find_mut("Microsoft\\Windows NT\\CurrentVersion")
        .unwrap()
        .values
        .push(ValueSpec::sz("EditionID", "ServerStandard"));
    std::fs::write(other.join("SOFT"), write_hive(&tree, &options("SOFTWARE", 5))).unwrap();
    let mut o = Options::default();
    o.software = Some(other.join("SOFT"));
    let r = regnet::report_from_hive_file(d.join("SYSTEM"), &o).unwrap();
    assert_eq!(r.os.unwrap().edition.as_deref(), Some("ServerStandard"));
    let _ = std::fs::remove_dir_all(d);
    let _ = std::fs::remove_dir_all(other);
}

#[test]
fn a_guest_folder_gives_the_software_hive_too() {
    let d = tmp("folder");
    let config = d.join("Windows/System32/config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("SYSTEM"), write_hive(&system_with_zone(true), &options("SYSTEM", 3))).unwrap();
    std::fs::write(config.join("SOFTWARE"), write_hive(&software(true), &options("SOFTWARE", 5))).unwrap();
    let r = regnet::extract(&d, &regnet::ExtractOptions::default()).unwrap();
    assert_eq!(r.network_history.len(), 5);
    assert!(r.source.unwrap().files.contains(&regnet::SOFTWARE_HIVE.to_owned()));
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn the_image_fixture_shows_it_end_to_end() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/testdata/software/software.qcow2");
    if !p.is_file() {
        eprintln!("skipped: {} is absent; run testdata/build.sh", p.display());
        return;
    }
    let r = regnet::extract(&p, &regnet::ExtractOptions::default()).unwrap();
    let s = r.source.clone().unwrap();
    let config = "\\Windows\\System32\\config\\";
    let want: Vec<String> = ["SYSTEM", "SYSTEM.LOG1", "SYSTEM.LOG2", "SOFTWARE", "SOFTWARE.LOG1", "SOFTWARE.LOG2"]
        .iter()
        .map(|f| format!("{config}{f}"))
        .collect();
    assert_eq!(s.files, want);
    let h = r.software_hive.clone().unwrap();
    assert!(h.dirty && h.logs_applied == ["SOFTWARE.LOG1", "SOFTWARE.LOG2"], "{h:?}");
    assert!(r.hive.dirty);
    // The same report as the hives read from their files (logs replayed), but for `source`.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/testdata/software/dirty");
    let mut from_files = regnet::report_from_hive_file(dir.join("SYSTEM"), &Options::default()).unwrap();
    from_files.source = r.source.clone();
    assert_eq!(r, from_files);
    assert_eq!(r.os.as_ref().unwrap().pretty_name.as_deref(), Some("Windows 11 Pro 23H2"));
    assert!(r.network_history.iter().any(|p| p.guid == P_AIRPORT), "only in the logs");
    eprintln!("software.qcow2: {} bytes read in {} reads", s.bytes_read, s.reads);
}

#[test]
fn a_hundred_thousand_profiles_with_impossible_dates_give_a_bounded_report() {
    let bytes = many_profiles(100_000);
    let mut r = system_report(&system_with_zone(true));
    let before = r.warnings.len();
    let t = std::time::Instant::now();
    regnet::add_software_bytes(&mut r, &bytes, &[], &Options::default());
    eprintln!("{} bytes of hive, 100000 profiles: read in {:?}", bytes.len(), t.elapsed());
    assert_eq!(r.network_history.len(), 10_000);
    assert!(r.network_history.iter().all(|p| p.created.is_none() && p.created_raw.is_some()));
    let c = codes(&r);
    assert!(c.contains(&"history_truncated"), "{:?}", &c[before..before + 3]);
    // Of each kind (impossible dates, unknown categories) 100 warnings and one that counts the rest.
    assert_eq!(c.iter().filter(|c| **c == "bad_date").count(), 101);
    assert_eq!(c.iter().filter(|c| **c == "bad_value").count(), 101);
    assert!(r.warnings.len() - before < 210, "{} warnings", r.warnings.len() - before);
}

#[test]
fn a_hostile_time_zone_gives_warnings_and_no_conversion() {
    let mut tree = example_system(true);
    tree.find_mut("ControlSet001\\Control").unwrap().subkeys.push(
        key("TimeZoneInformation")
            .with_value(ValueSpec::dword("Bias", 0x7FFF_FFFF))
            .with_value(ValueSpec::dword("ActiveTimeBias", 0x8000_0000))
            .with_value(ValueSpec::binary("StandardStart", vec![0xFF; 16]))
            .with_value(ValueSpec::binary("DaylightStart", vec![1, 2, 3])),
    );
    let mut r = system_report(&tree);
    let os = r.os.clone().unwrap();
    assert_eq!((os.utc_offset_minutes, os.time_zone_rule), (None, None));
    assert_eq!(codes(&r).iter().filter(|c| **c == "bad_value").count(), 2, "{:?}", r.warnings);
    regnet::add_software_bytes(&mut r, &write_hive(&software(true), &options("SOFTWARE", 5)), &[], &Options::default());
    assert!(r.network_history.iter().all(|p| p.created.is_none()));
    assert!(codes(&r).contains(&"time_zone_unknown"));

    // A rule whose transitions are not yearly rules: no rule, the active bias is used.
    let mut tree = example_system(true);
    tree.find_mut("ControlSet001\\Control").unwrap().subkeys.push(
        key("TimeZoneInformation")
            .with_value(ValueSpec::dword("Bias", (-60i32) as u32))
            .with_value(ValueSpec::dword("ActiveTimeBias", (-120i32) as u32))
            .with_value(ValueSpec::binary("StandardStart", st(2024, 10, 27, 3, 0, 0)))
            .with_value(ValueSpec::binary("DaylightStart", st(2024, 3, 31, 2, 0, 0))),
    );
    let mut r = system_report(&tree);
    assert_eq!(r.os.as_ref().unwrap().time_zone_rule, None);
    regnet::add_software_bytes(&mut r, &write_hive(&software(true), &options("SOFTWARE", 5)), &[], &Options::default());
    let corp = r.network_history.iter().find(|p| p.guid == P_CORP).unwrap();
    assert_eq!(corp.created.as_deref(), Some("2023-01-10T06:15:00Z"), "the active bias, UTC+2");
}
