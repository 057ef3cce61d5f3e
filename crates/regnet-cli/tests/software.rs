//! `regnet hive --software` and `regnet extract` with a SOFTWARE hive: the OS line, the network
//! history newest first and the change times in the table (fixtures: testdata/build-software.sh).

use std::path::{Path, PathBuf};
use std::process::Command;

fn regnet(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_regnet"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .expect("runs regnet")
}

fn fixtures() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/testdata/software");
    if d.join("software.qcow2").is_file() && d.join("hivex/SOFTWARE").is_file() {
        Some(d)
    } else {
        eprintln!("skipped: {} is absent; run testdata/build.sh", d.display());
        None
    }
}

fn text(out: std::process::Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_table_shows_the_os_the_history_newest_first_and_change_times() {
    let Some(d) = fixtures() else { return };
    let image = d.join("software.qcow2");
    let t = text(regnet(&["extract", image.to_str().unwrap(), "--format", "table"]));
    assert!(
        t.contains(
            "os          Windows 11 Pro 23H2 (version 10.0.22631.2861, Professional), installed 2023-11-14T22:13:20Z\n"
        ),
        "{t}"
    );
    assert!(t.contains("time zone   W. Europe Standard Time (UTC+01:00)\n"), "{t}");
    assert!(t.contains("software    dirty, replayed SOFTWARE.LOG1 + SOFTWARE.LOG2\n"), "{t}");
    assert!(t.contains("tcpip       changed 2026-03-02T09:30:00Z\n"), "{t}");
    assert!(t.contains("  profile      corp.example (gateway MAC in the network history)\n"), "{t}");
    assert!(t.contains("  changed      2026-03-02T09:30:00Z\n"), "{t}");
    let history: Vec<&str> = t
        .split("network history (newest first)\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| !l.is_empty())
        .filter(|l| !l.starts_with("      "))
        .map(|l| l.split("  ").nth(1).unwrap())
        .collect();
    assert_eq!(history, ["HomeWiFi", "corp.example", "Airport Free WiFi", "Contoso Mobile", "Network 3"]);
    assert!(
        t.contains(
            "  Contoso Mobile  last 2024-02-03T17:20:30Z  first 2024-02-02T09:00:00Z  [public, mobile broadband]\n"
        ),
        "{t}"
    );
    assert!(t.contains("impossible date e8070d00030001000000000000000000"), "{t}");
}

#[test]
fn hive_takes_software_beside_or_named_or_none() {
    let Some(d) = fixtures() else { return };
    let system = d.join("hivex/SYSTEM");
    let json = |args: &[&str]| -> serde_json::Value { serde_json::from_str(&text(regnet(args))).unwrap() };
    let beside = json(&["hive", system.to_str().unwrap()]);
    assert_eq!(beside["os"]["pretty_name"], "Windows 11 Enterprise 23H2");
    assert_eq!(beside["network_history"].as_array().unwrap().len(), 6);
    // The same through --no-mmap (files read whole).
    assert_eq!(json(&["hive", system.to_str().unwrap(), "--no-mmap"]), beside);
    let named = json(&["hive", system.to_str().unwrap(), "--software", d.join("writer/SOFTWARE").to_str().unwrap()]);
    assert_eq!(named["os"]["edition"], "Professional");
    assert_eq!(named["network_history"].as_array().unwrap().len(), 5);
    let none = json(&["hive", system.to_str().unwrap(), "--no-software"]);
    assert_eq!(none["network_history"], serde_json::json!([]));
    assert_eq!(none["software_hive"], serde_json::Value::Null);
    // A file that is no hive: a warning, and the SYSTEM report.
    let bad = json(&["hive", system.to_str().unwrap(), "--software", "Cargo.toml"]);
    assert_eq!(bad["hostname"], "APP-SRV-07");
    assert!(bad["warnings"].as_array().unwrap().iter().any(|w| w["code"] == "software_unreadable"));
}
