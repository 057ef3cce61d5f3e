//! `regnet map` end to end: disk images made by the testdata script (and a report and a VM file)
//! to the final mapping.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn regnet(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_regnet")).args(args).current_dir(root()).output().expect("runs regnet")
}

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn from_disk_images_to_the_mapping() {
    let img = root().join("target/testdata/images/gpt-dynamic.vhdx");
    if !img.is_file() {
        eprintln!("skipped: {} is absent; run testdata/build.sh", img.display());
        return;
    }
    let d = scratch("map-e2e");
    std::fs::write(
        d.join("plan.json"),
        r#"{"networks": [{"name": "cn-prod", "vlan": 10, "internet": true}, {"name": "cn-backup", "vlan": 20}]}"#,
    )
    .unwrap();
    // 1. Automatic: one Windows image, two production networks, two cloud networks.
    let out = regnet(&["map", "--plan", d.join("plan.json").to_str().unwrap(), img.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(m["automatic"], true);
    assert_eq!(m["cloud_networks"][0]["name"], "cn-prod");
    assert_eq!(m["cloud_networks"][0]["production_networks"][0]["network"], "10.41.7.0/24");
    assert_eq!(m["cloud_networks"][0]["production_networks"][0]["gateway"], "10.41.7.1");
    assert_eq!(m["cloud_networks"][0]["production_networks"][0]["prefix_len"], 24);
    assert_eq!(m["cloud_networks"][1]["production_networks"][0]["network"], "192.168.50.0/24");
    assert_eq!(m["vms"][0]["vm"], "APP-SRV-07");
    assert_eq!(m["vms"][0]["nics"][0]["guid"], "{5C7A3E21-8F4B-4D2A-9E61-0B3F2A7C9D14}");
    assert_eq!(m["vms"][0]["nics"][0]["cloud_network"], "cn-prod");
    assert_eq!(m["vms"][0]["nics"][1]["cloud_network"], "cn-backup");

    // 2. A saved report (from `regnet extract`) plus a Linux VM: needs a table.
    let rep = regnet(&["extract", root().join("target/testdata/images/mbr-compressed.qcow2").to_str().unwrap()]);
    assert!(rep.status.success());
    std::fs::write(d.join("app.json"), &rep.stdout).unwrap();
    std::fs::write(d.join("web01.json"), r#"{"name": "web01", "os": "linux", "nics": [{"network": "VM Network"}]}"#)
        .unwrap();
    let inputs = [d.join("app.json"), d.join("web01.json")];
    let run = |extra: &[&str]| {
        let mut a: Vec<String> = vec!["map".into(), "--plan".into(), d.join("plan.json").display().to_string()];
        a.extend(extra.iter().map(|s| s.to_string()));
        a.extend(inputs.iter().map(|p| p.display().to_string()));
        regnet(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("web01 (linux)"), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(
        d.join("table.toml"),
        "[[map]]\nproduction = \"10.41.7.0/24\"\ncloud = \"cn-prod\"\n[[map]]\nproduction = \"VM Network\"\ncloud = \"cn-prod\"\n[[map]]\nproduction = \"192.168.50.0/24\"\ncloud = \"cn-backup\"\n",
    )
    .unwrap();
    let table = d.join("table.toml");
    let out = run(&["--table", table.to_str().unwrap(), "--format", "table"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("mapping     from the table"), "{text}");
    assert!(text.contains("10.41.7.0/24                       NEA takes 10.41.7.1/24       VMs: APP-SRV-07"), "{text}");
    assert!(text.contains("VM Network"), "{text}");
    assert!(text.contains("web01 (linux)"), "{text}");

    // 3. A table naming a cloud network that is not in the plan: exit 1 with the reason.
    std::fs::write(d.join("bad.json"), r#"{"map": [{"production": "10.41.7.0/24", "cloud": "cn-x"}]}"#).unwrap();
    let bad = d.join("bad.json");
    let out = run(&["--table", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cn-x"));
}

/// A Windows image and a Linux image map automatically when their networks match the plan's count:
/// both guests' settings were read, so neither needs a table.
#[test]
fn a_mixed_fleet_maps_automatically() {
    let linux = root().join("target/testdata/linux/ubuntu-lvm.vmdk");
    if !linux.is_file() {
        eprintln!("skipped: {} is absent; run testdata/build.sh", linux.display());
        return;
    }
    let d = scratch("map-mixed");
    std::fs::write(d.join("plan.json"), r#"{"networks": [{"name": "cn-a"}, {"name": "cn-b"}, {"name": "cn-c"}]}"#)
        .unwrap();
    let out = regnet(&[
        "map",
        "--plan",
        d.join("plan.json").to_str().unwrap(),
        "testdata/example/disk.qcow2",
        linux.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(m["automatic"], true);
    assert_eq!(m["vms"][1]["os"], "linux");
    let shared = &m["cloud_networks"][2]["production_networks"][0];
    assert_eq!(shared["network"], "192.168.50.0/24");
    assert_eq!(shared["gateway"], "192.168.50.1");
    assert_eq!(shared["vms"], serde_json::json!(["APP-SRV-07", "web-lnx-01"]));
    // A hand-written VM file still needs a table.
    std::fs::write(d.join("web01.json"), r#"{"name": "web01", "os": "linux", "nics": [{"network": "VM Network"}]}"#)
        .unwrap();
    let out = regnet(&[
        "map",
        "--plan",
        d.join("plan.json").to_str().unwrap(),
        linux.to_str().unwrap(),
        d.join("web01.json").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("give a mapping table"));
}
