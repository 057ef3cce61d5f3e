//! End to end: disk images made by real tools (testdata/build-images.sh: sfdisk/sgdisk, mkntfs,
//! wimlib-imagex, qemu-img) give the example hive's report, or the right error.

use regnet::{Error, ExtractOptions, Report};
use std::path::{Path, PathBuf};

fn images() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/testdata/images");
    if d.join("MANIFEST").is_file() {
        Some(d)
    } else {
        eprintln!("skipped: {} is absent; run testdata/build.sh", d.display());
        None
    }
}

/// The report the example hive gives when read as a file (its logs replayed).
fn expected() -> Report {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/example/SYSTEM");
    regnet::report_from_hive_file(p, &regnet::Options::default()).unwrap()
}

/// The report without its `source` (which differs per image by design), and without the warning
/// that the random bytes build-images.sh places as `SOFTWARE` are no hive (SOFTWARE hives in images:
/// tests/software.rs).
fn without_source(mut r: Report) -> Report {
    r.source = None;
    r.warnings.retain(|w| w.code != "software_unreadable");
    r
}

/// The files read that belong to the SYSTEM hive (the fixtures' `SOFTWARE` is random bytes, read
/// as far as its base block).
fn system_files(files: &[String]) -> Vec<&str> {
    files.iter().map(String::as_str).filter(|f| f.starts_with("\\Windows\\System32\\config\\SYSTEM")).collect()
}

fn manifest(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(dir.join("MANIFEST"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('\t').map(|(a, b)| (a.to_owned(), b.to_owned())))
        .collect()
}

#[test]
fn every_fixture_gives_the_right_report_or_error() {
    let Some(dir) = images() else { return };
    let want = expected();
    let mut checked = 0;
    for (name, expect) in manifest(&dir) {
        let path = dir.join(&name);
        let result = regnet::extract(&path, &ExtractOptions::default());
        if expect.starts_with("clean ") {
            continue; // a_clean_hive_is_read_without_its_logs
        }
        if let Some(n) = expect.strip_prefix("windows partition=") {
            let r = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            let s = r.source.clone().unwrap();
            assert_eq!(s.partition.to_string(), n, "{name}: partition");
            assert_eq!(s.files[0], "\\Windows\\System32\\config\\SYSTEM", "{name}");
            assert_eq!(system_files(&s.files).len(), 3, "{name}: SYSTEM and both logs: {:?}", s.files);
            assert!(r.hive.dirty && r.hive.logs_applied == ["SYSTEM.LOG1", "SYSTEM.LOG2"], "{name}");
            let got = without_source(r.clone());
            // Same report, field by field, as the hive read straight from its file (the fragmented
            // fixture pads SYSTEM, which the hive ignores).
            assert_eq!(got, want, "{name}");
            eprintln!(
                "{name}: ok: {} {} partition {}, {} bytes read in {} reads",
                s.container, s.partition_table, s.partition, s.bytes_read, s.reads
            );
        } else {
            let e = match result {
                Ok(r) => panic!("{name}: expected {expect}, got a report for {:?}", r.hostname),
                Err(e) => e,
            };
            match expect.as_str() {
                "error no-windows" => assert!(matches!(e, Error::NoWindows(_)), "{name}: {e}"),
                "error ambiguous" => assert!(matches!(e, Error::Ambiguous(_)), "{name}: {e}"),
                "error encrypted" => assert!(matches!(e, Error::Encrypted(_)), "{name}: {e}"),
                "error truncated" => assert!(matches!(e, Error::Image(_) | Error::NoWindows(_)), "{name}: {e}"),
                other => panic!("{name}: unknown expectation {other}"),
            }
            eprintln!("{name}: ok: {e}");
        }
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} fixtures");
}

#[test]
fn a_clean_hive_is_read_without_its_logs() {
    let Some(dir) = images() else { return };
    let system = "\\Windows\\System32\\config\\SYSTEM";
    // The clean hive's logs are on the volume but cannot change what is read: they are not read.
    let r = regnet::extract(dir.join("clean.qcow2"), &ExtractOptions::default()).unwrap();
    let s = r.source.clone().unwrap();
    assert_eq!(system_files(&s.files), [system]);
    assert!(!r.hive.dirty && r.hive.logs_applied.is_empty() && r.hive.logs_ignored.is_empty());
    // What the clean primary says: the example hive before its logs, one address on Ethernet0.
    assert_eq!(r.adapters.iter().map(|a| a.ipv4.len()).sum::<usize>(), expected_stale_addresses());
    eprintln!("clean.qcow2: {} bytes read in {} reads", s.bytes_read, s.reads);

    // A dirty hive with the logs turned off: they are not read either, and the report says so.
    let with = regnet::extract(dir.join("gpt.qcow2"), &ExtractOptions::default()).unwrap();
    let mut o = ExtractOptions::default();
    o.hive.no_logs = true;
    let without = regnet::extract(dir.join("gpt.qcow2"), &o).unwrap();
    let (sw, so) = (with.source.unwrap(), without.source.unwrap());
    assert_eq!(system_files(&so.files), [system]);
    assert_eq!(system_files(&sw.files).len(), 3);
    assert!(so.bytes_read < sw.bytes_read, "{} vs {}", so.bytes_read, sw.bytes_read);
    assert!(without.warnings.iter().any(|w| w.code == "dirty_not_recovered"));
    eprintln!("gpt.qcow2: {} bytes read with the logs, {} without", sw.bytes_read, so.bytes_read);
}

/// Addresses the example hive's primary holds without its logs.
fn expected_stale_addresses() -> usize {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/example/SYSTEM");
    let mut o = regnet::Options::default();
    o.no_logs = true;
    let r = regnet::report_from_hive_file(p, &o).unwrap();
    r.adapters.iter().map(|a| a.ipv4.len()).sum()
}

#[test]
fn partition_option_resolves_ambiguity() {
    let Some(dir) = images() else { return };
    let mut o = ExtractOptions::default();
    o.partition = Some(2);
    let r = regnet::extract(dir.join("two.raw"), &o).unwrap();
    assert_eq!(r.source.unwrap().partition, 2);
    o.partition = Some(9);
    assert!(matches!(regnet::extract(dir.join("two.raw"), &o), Err(Error::NoWindows(_))));
}

#[test]
fn a_40_gib_sparse_disk_is_read_lazily() {
    let Some(dir) = images() else { return };
    let p = dir.join("big40g.raw");
    if !p.is_file() {
        eprintln!("skipped: no big40g.raw");
        return;
    }
    let r = regnet::extract(&p, &ExtractOptions::default()).unwrap();
    let s = r.source.unwrap();
    eprintln!("big40g.raw: {} bytes read in {} reads of a {} byte disk", s.bytes_read, s.reads, s.virtual_size);
    assert!(s.virtual_size >= 40 << 30);
    assert!(s.bytes_read < 64 << 20, "{} bytes read", s.bytes_read);
}

#[test]
fn the_committed_example_image_matches_the_example_hive() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/example/disk.qcow2");
    let r = regnet::extract(&p, &ExtractOptions::default()).unwrap();
    assert_eq!(without_source(r), expected());
}

#[test]
fn streams_work_and_refuse_external_files() {
    let Some(dir) = images() else { return };
    let bytes = std::fs::read(dir.join("gpt.qcow2")).unwrap();
    let r = regnet::extract_from_reader(std::io::Cursor::new(bytes), "gpt.qcow2", &ExtractOptions::default()).unwrap();
    assert_eq!(without_source(r), expected());
    // A flat VMDK's descriptor names its extent: a stream has no folder to find it in.
    let desc = std::fs::read(dir.join("flat/gpt-flat.vmdk")).unwrap();
    let e = regnet::extract_from_reader(std::io::Cursor::new(desc), "gpt-flat.vmdk", &ExtractOptions::default())
        .unwrap_err();
    assert!(matches!(e, Error::Image(regnet::disk_image::ImageError::ExternalReference { .. })), "{e}");
}

#[test]
fn a_stream_gives_the_same_report_as_the_path() {
    let Some(dir) = images() else { return };
    for name in ["gpt.qcow2", "gpt-dynamic.vhdx", "gpt-sparse.vmdk", "mbr.raw", "gpt-fixed.vhd"] {
        let path = dir.join(name);
        let label = path.display().to_string();
        let by_path = regnet::extract(&path, &ExtractOptions::default()).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let by_stream = regnet::extract_from_reader(file, &label, &ExtractOptions::default()).unwrap();
        // Everything, the bytes read and read calls included: a stream is read as the file is.
        assert_eq!(by_stream, by_path, "{name}");
    }
    // A VM configuration file names its disks by path: as a stream it is refused, saying why.
    let vmx = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/app-srv-07.vmx");
    let e = regnet::extract_from_reader(std::fs::File::open(vmx).unwrap(), "app-srv-07.vmx", &ExtractOptions::default())
        .unwrap_err();
    assert_eq!(e.kind(), regnet::ErrorKind::Unsupported);
    assert!(e.to_string().contains("VM configuration file (vmx)"), "{e}");
}

#[test]
fn several_threads_read_different_images_at_once() {
    let Some(dir) = images() else { return };
    let names = [
        "gpt.raw",
        "mbr.raw",
        "gpt.qcow2",
        "gpt-dynamic.vhdx",
        "gpt-sparse.vmdk",
        "gpt-dynamic.vhd",
        "bare.raw",
        "logical.raw",
    ];
    let want = expected();
    std::thread::scope(|s| {
        let handles: Vec<_> = names
            .iter()
            .map(|n| {
                let p = dir.join(n);
                s.spawn(move || (n, regnet::extract(p, &ExtractOptions::default())))
            })
            .collect();
        for h in handles {
            let (n, r) = h.join().unwrap();
            assert_eq!(without_source(r.unwrap_or_else(|e| panic!("{n}: {e}"))), want, "{n}");
        }
    });
}
