//! `regnet extract` and `regnet map` on VM configuration files (testdata/build-vms.sh, and the
//! bundled testdata/example/app-srv-07.vmx).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn regnet(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_regnet")).args(args).current_dir(root()).output().expect("runs regnet")
}

fn vms() -> Option<PathBuf> {
    let d = root().join("target/testdata/vms");
    if d.join("libvirt/web-srv-08.xml").is_file() {
        Some(d)
    } else {
        eprintln!("skipped: {} is absent; run testdata/build.sh", d.display());
        None
    }
}

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_bundled_vm_file_reads_and_maps_by_name() {
    let r = json(&regnet(&["extract", "testdata/example/app-srv-07.vmx"]));
    assert_eq!(r["vm"]["name"], "app-srv-07");
    assert_eq!(r["vm"]["nics"][0]["network"], "Prod-VLAN10");
    assert_eq!(r["adapters"][0]["network"], "Prod-VLAN10");
    assert_eq!(r["adapters"][1]["network"], "Backup-VLAN20");
    assert_eq!(r["source"]["image"], "disk.qcow2");
    let m = json(&regnet(&["map", "--plan", "testdata/example/plan.json", "testdata/example/app-srv-07.vmx"]));
    assert_eq!(m["automatic"], true);
    let p = &m["cloud_networks"][0]["production_networks"][0];
    assert_eq!(
        (p["network"].as_str(), p["subnet"].as_str(), p["gateway"].as_str()),
        (Some("Prod-VLAN10"), Some("10.41.7.0/24"), Some("10.41.7.1"))
    );
    assert_eq!(m["vms"][0]["vm"], "app-srv-07");
}

#[test]
fn two_vms_from_two_hypervisors_map_by_network_name() {
    let Some(d) = vms() else { return };
    let s = scratch("vm-map");
    let plan = s.join("plan.json");
    std::fs::write(
        &plan,
        r#"{"networks": [{"name": "cn-prod", "vlan": 10, "internet": true}, {"name": "cn-backup", "vlan": 20}]}"#,
    )
    .unwrap();
    let vmx = d.join("esxi/app-srv-07.vmx");
    let xml = d.join("libvirt/web-srv-08.xml");
    let args = |extra: &[&str]| {
        let mut a = vec!["map", "--plan", plan.to_str().unwrap(), vmx.to_str().unwrap(), xml.to_str().unwrap()];
        a.extend_from_slice(extra);
        regnet(&a)
    };
    // Counts match: automatic, by name, one gateway per named network for the NEA.
    let m = json(&args(&[]));
    assert_eq!(m["automatic"], true);
    let nets: Vec<(String, String, String, Vec<String>)> = m["cloud_networks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let p = &c["production_networks"][0];
            (
                c["name"].as_str().unwrap().to_owned(),
                p["network"].as_str().unwrap().to_owned(),
                p["gateway"].as_str().unwrap().to_owned(),
                p["vms"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect(),
            )
        })
        .collect();
    let vm2 = vec!["app-srv-07".to_owned(), "web-srv-08".to_owned()];
    assert_eq!(
        nets,
        [
            ("cn-prod".into(), "Prod-VLAN10".into(), "10.41.7.1".into(), vm2.clone()),
            ("cn-backup".into(), "Backup-VLAN20".into(), "192.168.50.1".into(), vm2)
        ]
    );
    // One cloud network: a table is needed, and may name networks by name or by subnet.
    let one = s.join("one.json");
    std::fs::write(&one, r#"{"networks": [{"name": "cn-all"}]}"#).unwrap();
    let out = regnet(&["map", "--plan", one.to_str().unwrap(), vmx.to_str().unwrap(), xml.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Prod-VLAN10") && err.contains("Backup-VLAN20") && err.contains("give a mapping table"),
        "{err}"
    );
    let table = s.join("table.json");
    std::fs::write(&table, r#"{"map": [{"production": "Prod-VLAN10", "cloud": "cn-all"}, {"production": "192.168.50.0/24", "cloud": "cn-all"}]}"#).unwrap();
    let m = json(&regnet(&[
        "map",
        "--plan",
        one.to_str().unwrap(),
        "--table",
        table.to_str().unwrap(),
        vmx.to_str().unwrap(),
        xml.to_str().unwrap(),
    ]));
    assert_eq!(m["automatic"], false);
    assert_eq!(m["cloud_networks"][0]["production_networks"].as_array().unwrap().len(), 2);
    assert_eq!(m["warnings"], serde_json::json!([]));
}

#[test]
fn a_ghost_nic_is_left_out_unless_asked_for() {
    let Some(d) = vms() else { return };
    let s = scratch("vm-ghost");
    let plan = s.join("plan.json");
    std::fs::write(&plan, r#"{"networks": [{"name": "cn-prod"}]}"#).unwrap();
    let vmx = d.join("esxi/app-srv-07-one-nic.vmx");
    let m = json(&regnet(&["map", "--plan", plan.to_str().unwrap(), vmx.to_str().unwrap()]));
    assert_eq!(m["automatic"], true);
    assert_eq!(m["warnings"][0]["code"], "absent_adapter");
    assert_eq!(m["vms"][0]["nics"].as_array().unwrap().len(), 1);
    let out = regnet(&["map", "--plan", plan.to_str().unwrap(), "--include-absent", vmx.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "two production networks for one cloud network");
}

#[test]
fn a_vm_whose_guest_cannot_be_read_still_gives_its_networks() {
    let Some(d) = vms() else { return };
    let s = scratch("vm-unread");
    // The configuration names a disk that is not there.
    let vmx = s.join("lost.vmx");
    std::fs::write(
        &vmx,
        "displayName = \"lost\"\nguestOS = \"rhel9-64\"\nscsi0:0.present = \"TRUE\"\nscsi0:0.fileName = \"lost.vmdk\"\n\
         ethernet0.present = \"TRUE\"\nethernet0.networkName = \"Prod-VLAN10\"\nethernet0.addressType = \"generated\"\n\
         ethernet0.generatedAddress = \"00:50:56:9a:77:01\"\n",
    )
    .unwrap();
    let out = regnet(&["extract", vmx.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lost.vmdk"));
    let plan = s.join("plan.json");
    std::fs::write(&plan, r#"{"networks": [{"name": "cn-prod"}, {"name": "cn-backup"}]}"#).unwrap();
    let good = d.join("esxi/app-srv-07.vmx");
    let out = regnet(&["map", "--plan", plan.to_str().unwrap(), good.to_str().unwrap(), vmx.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the guest was not read")
            && err.contains("lost (rhel9-64)")
            && err.contains("give a mapping table"),
        "{err}"
    );
    let table = s.join("table.json");
    std::fs::write(&table, r#"{"map": [{"production": "Prod-VLAN10", "cloud": "cn-prod"}, {"production": "Backup-VLAN20", "cloud": "cn-backup"}]}"#).unwrap();
    let m = json(&regnet(&[
        "map",
        "--plan",
        plan.to_str().unwrap(),
        "--table",
        table.to_str().unwrap(),
        good.to_str().unwrap(),
        vmx.to_str().unwrap(),
    ]));
    assert_eq!(m["cloud_networks"][0]["production_networks"][0]["vms"], serde_json::json!(["app-srv-07", "lost"]));
    assert_eq!(m["vms"][1]["nics"][0]["guid"], "00:50:56:9A:77:01");
}

#[test]
fn hostile_vm_files_fail_with_one_line() {
    let Some(d) = vms() else { return };
    for f in ["hostile/shadow.vmx", "hostile/bomb.xml", "hostile/many-nics.vmx"] {
        let p = d.join(f);
        let out = regnet(&["extract", p.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{f}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{f}: {err}");
    }
}
