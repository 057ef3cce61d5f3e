//! `regnet extract` as a user runs it: the bundled example image, and exit codes.

use std::path::Path;
use std::process::Command;

fn regnet(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_regnet"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .expect("runs regnet")
}

#[test]
fn the_readme_command_works_on_the_bundled_image() {
    let out = regnet(&["extract", "testdata/example/disk.qcow2", "--format", "table", "--stats"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("image       testdata/example/disk.qcow2 (qcow2, gpt partition 1"), "{table}");
    assert!(table.contains("ipv4         static 10.41.7.20/24, 10.41.7.21/24"), "{table}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("bytes read in"), "{err}");
    // JSON: the contract plus the source section.
    let out = regnet(&["extract", "testdata/example/disk.qcow2"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["source"]["container"], "qcow2");
    assert_eq!(v["source"]["files"][0], "\\Windows\\System32\\config\\SYSTEM");
}

#[test]
fn failures_exit_1_with_a_message_and_batches_say_which_image() {
    let out = regnet(&["extract", "Cargo.toml"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("Cargo.toml"), "{err}");
    let out = regnet(&["extract", "testdata/example/disk.qcow2", "Cargo.toml"]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["report"]["hostname"], "APP-SRV-07");
    assert_eq!(lines[1]["image"], "Cargo.toml");
    assert!(lines[1]["error"].as_str().unwrap().len() > 10);
}
