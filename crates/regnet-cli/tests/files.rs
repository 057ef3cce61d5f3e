//! `regnet dump` and `regnet hive` on hive files: memory-mapped and read give the same output, and
//! a file over its size limit is refused before it is read.

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
fn mapped_and_read_files_give_the_same_output() {
    for cmd in ["dump", "hive"] {
        let mapped = regnet(&[cmd, "testdata/example/SYSTEM"]);
        let read = regnet(&[cmd, "--no-mmap", "testdata/example/SYSTEM"]);
        assert!(mapped.status.success() && read.status.success(), "{}", String::from_utf8_lossy(&read.stderr));
        assert!(!mapped.stdout.is_empty());
        assert_eq!(mapped.stdout, read.stdout, "{cmd}");
        // The logs were replayed both ways.
        let err = String::from_utf8_lossy(&read.stderr);
        assert!(cmd == "hive" || err.contains("SYSTEM.LOG1: replayed"), "{err}");
    }
}

#[test]
fn files_over_the_size_limit_are_refused() {
    let out = regnet(&["dump", "--no-mmap", "--limit", "max_hive_size=4K", "testdata/example/SYSTEM"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("over the limit"), "{err}");
    for mmap in [&[][..], &["--no-mmap"][..]] {
        let mut args = vec!["hive", "--limit", "max_hive_size=4K"];
        args.extend_from_slice(mmap);
        args.push("testdata/example/SYSTEM");
        let out = regnet(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("max_hive_size"), "{args:?}: {err}");
    }
}
