//! `regnet ls` and `regnet cat`: a guest's files from its disk images, nothing mounted.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn regnet(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_regnet")).args(args).current_dir(root()).output().expect("runs regnet")
}

#[test]
fn a_windows_guest_through_ntfs() {
    let out = regnet(&["ls", "/windows/system32/config", "testdata/example/disk.qcow2"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "- SYSTEM 36864\n- SYSTEM.LOG1 36864\n- SYSTEM.LOG2 16384\n");
    let out = regnet(&["cat", "/Windows/System32/config/SYSTEM", "testdata/example/disk.qcow2"]);
    assert!(out.status.success());
    assert_eq!(out.stdout, std::fs::read(root().join("testdata/example/SYSTEM")).unwrap());
    let out = regnet(&["cat", "/Windows/nope", "testdata/example/disk.qcow2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
}

#[test]
fn a_linux_guest_on_lvm_across_two_disks() {
    let d = root().join("target/testdata/linux");
    let (a, b) = (d.join("debian-2pv-disk1.raw"), d.join("debian-2pv-disk2.raw"));
    if !a.is_file() || !b.is_file() {
        eprintln!("skipped: {} is absent; run testdata/build.sh", a.display());
        return;
    }
    let out = regnet(&["cat", "/etc/os-release", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, std::fs::read(d.join("debian-2pv.os-release.txt")).unwrap());
    let out = regnet(&["ls", "/etc", a.to_str().unwrap(), b.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().any(|l| l.starts_with("l os-release -> ")), "{text}");
    // One disk alone lacks a PV: the error names it.
    let out = regnet(&["ls", "/etc", a.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("on none of the disks given"));
}
