//! Linux guests end to end, on disks laid out as the distributions' installers and cloud images lay
//! them out (testdata/build-linux.sh: mke2fs -d, mkfs.xfs -p, real LVM metadata by vgcfgrestore,
//! sfdisk, qemu-img): the guest is found, its OS named, and its files read as debugfs and xfs_db
//! read them.

use regnet::{Error, ExtractOptions};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn linux() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/testdata/linux");
    if d.join("MANIFEST").is_file() {
        Some(d)
    } else {
        eprintln!("skipped: {} is absent; run testdata/build.sh (needs lvm2, e2fsprogs, xfsprogs, qemu-img, root for loop devices)", d.display());
        None
    }
}

/// One MANIFEST line: fixture, images, container, table, root, fs, os id, version id, expect.
struct Fixture {
    name: String,
    images: Vec<PathBuf>,
    root: String,
    fs: String,
    os_id: String,
    version_id: String,
    expect: String,
}

fn manifest(d: &Path) -> Vec<Fixture> {
    std::fs::read_to_string(d.join("MANIFEST"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let get = |i: usize| f.get(i).copied().unwrap_or("").to_owned();
            Fixture {
                name: get(0),
                images: get(1).split(',').map(|i| d.join(i)).collect(),
                root: get(4),
                fs: get(5),
                os_id: get(6),
                version_id: get(7),
                expect: get(8),
            }
        })
        .collect()
}

/// The names a reference listing (debugfs `ls -p`, xfs_db `ls`, or `ls -la`) shows, without `.`/`..`.
fn reference_names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let name = if line.starts_with('/') {
            line.split('/').nth(5).unwrap_or("").to_owned()
        } else if line.trim_end().ends_with(')') && line.contains(" (") {
            let t: Vec<&str> = line.split_whitespace().collect();
            t.get(5..t.len().saturating_sub(1)).map(|n| n.join(" ")).unwrap_or_default()
        } else {
            let t: Vec<&str> = line.split_whitespace().collect();
            let rest = t.get(4..).map(|n| n.join(" ")).unwrap_or_default();
            rest.split(" -> ").next().unwrap_or("").to_owned()
        };
        if name != "." && name != ".." && !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

#[test]
fn every_layout_names_its_guest_and_volume() {
    let Some(d) = linux() else { return };
    let fixtures = manifest(&d);
    assert!(fixtures.len() >= 6, "{} fixtures", fixtures.len());
    for f in fixtures.iter().filter(|f| f.expect == "ok") {
        let r = regnet::extract_machine(&f.images, &ExtractOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", f.name));
        let os = r.os.as_ref().unwrap();
        assert_eq!(os.family, "linux", "{}", f.name);
        assert_eq!(os.id.as_deref(), Some(f.os_id.as_str()), "{}", f.name);
        assert_eq!(os.version_id.as_deref(), Some(f.version_id.as_str()), "{}", f.name);
        let s = r.source.as_ref().unwrap();
        if f.images.len() == 1 && f.images[0].is_dir() {
            assert_eq!((s.container.as_str(), s.filesystem.as_deref()), ("folder", Some("folder")), "{}", f.name);
            continue;
        }
        assert_eq!(s.filesystem.as_deref(), Some(f.fs.as_str()), "{}", f.name);
        match f.root.split_once('=') {
            Some(("lv", lv)) => {
                assert_eq!(s.logical_volume.as_deref(), Some(lv), "{}", f.name);
                assert_eq!(s.volume_manager.as_deref(), Some("lvm"), "{}", f.name);
            }
            Some(("partition", n)) => assert_eq!(s.partition.to_string(), n, "{}", f.name),
            _ => panic!("{}: root {:?}", f.name, f.root),
        }
        assert!(r.hostname.is_some(), "{}: no host name", f.name);
        // The guest's network configuration, read by the active stack's rules.
        assert!(!r.adapters.is_empty(), "{}: no adapters", f.name);
        assert!(r.adapters.iter().all(|a| a.guid.is_empty() && a.config.is_some()), "{}", f.name);
        assert!(r.adapters.iter().any(|a| !a.ipv4.is_empty() || a.dhcp), "{}", f.name);
        // Finding /etc/os-release reads little of the disk.
        assert!(s.bytes_read < 4 << 20, "{}: {} bytes read", f.name, s.bytes_read);
        eprintln!("{}: {} bytes read", f.name, s.bytes_read);
    }
}

#[test]
fn the_guest_view_reads_etc_as_debugfs_and_xfs_db_do() {
    let Some(d) = linux() else { return };
    let mut checked = 0;
    for f in manifest(&d).iter().filter(|f| f.expect == "ok") {
        let mut g =
            regnet::open_guest(&f.images, &ExtractOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        let listing = d.join(format!("{}.etc-listing.txt", f.name));
        let release = d.join(format!("{}.os-release.txt", f.name));
        if let Ok(text) = std::fs::read_to_string(&listing) {
            let names: BTreeSet<String> = g
                .view
                .list("/etc")
                .unwrap()
                .into_iter()
                .map(|e| String::from_utf8_lossy(&e.name).into_owned())
                .collect();
            assert_eq!(names, reference_names(&text), "{}: /etc", f.name);
            checked += 1;
        }
        if let Ok(want) = std::fs::read(&release) {
            assert_eq!(g.view.read("/etc/os-release").unwrap(), want, "{}: /etc/os-release", f.name);
        }
    }
    assert!(checked >= 6, "{checked} listings compared");
}

#[test]
fn btrfs_and_luks_say_what_they_are() {
    let Some(d) = linux() else { return };
    for (file, want) in [("fedora-btrfs.raw", "Btrfs"), ("luks.raw", "LUKS")] {
        let p = d.join(file);
        if !p.is_file() {
            eprintln!("skipped: {file} is absent");
            continue;
        }
        let e = regnet::extract(&p, &ExtractOptions::default()).unwrap_err();
        assert!(matches!(e, Error::Unsupported(_) | Error::Encrypted(_)), "{file}: {e}");
        assert!(e.to_string().contains(want), "{file}: {e}");
    }
}

#[test]
fn a_mounted_root_is_read_inside_its_folder() {
    let Some(d) = linux() else { return };
    let root = d.join("rootfs-ubuntu");
    if !root.is_dir() {
        return;
    }
    let r = regnet::extract(&root, &ExtractOptions::default()).unwrap();
    assert_eq!(r.os.as_ref().unwrap().id.as_deref(), Some("ubuntu"));
    assert_eq!(r.source.as_ref().unwrap().container, "folder");
    let mut g = regnet::open_guest(&[&root], &ExtractOptions::default()).unwrap();
    // `../../../../../../etc/shadow` from /etc is the guest's own /etc/shadow, never the host's.
    let guest_shadow = std::fs::read(root.join("etc/shadow")).ok();
    match g.view.read("/etc/escape") {
        Ok(bytes) => assert_eq!(Some(bytes), guest_shadow),
        Err(e) => assert!(guest_shadow.is_none(), "{e}"),
    }
    assert!(!g.view.exists("/etc/resolv.conf").unwrap(), "a link into /run, which does not exist offline");
}

#[test]
fn two_disks_are_one_machine_only_together() {
    let Some(d) = linux() else { return };
    let Some(f) = manifest(&d).into_iter().find(|f| f.images.len() > 1) else { return };
    let first = f.images.first().unwrap();
    let e = regnet::extract(first, &ExtractOptions::default()).unwrap_err().to_string();
    assert!(e.contains("not found") && e.contains("on none of the disks given"), "{e}");
    assert!(regnet::extract_machine(&f.images, &ExtractOptions::default()).is_ok());
}

/// Owners and permission bits come through the guest view (NetworkManager skips keyfiles that are
/// not root's with mode 0600): XFS and ext4 both give them.
#[test]
fn owners_and_modes_come_through() {
    let Some(d) = linux() else { return };
    let rocky = d.join("rocky-lvm.vhdx");
    if rocky.is_file() {
        let mut g = regnet::open_guest(&[&rocky], &ExtractOptions::default()).unwrap();
        let keyfile = g.view.resolve("/etc/NetworkManager/system-connections/ens192.nmconnection").unwrap();
        assert_eq!((keyfile.uid, keyfile.mode), (Some(0), Some(0o600)));
        let backup = g.view.resolve("/etc/NetworkManager/system-connections/ens192.nmconnection.bak").unwrap();
        assert_eq!(backup.mode, Some(0o644));
        let r = regnet::extract(&rocky, &ExtractOptions::default()).unwrap();
        assert!(r.warnings.iter().any(|w| w.code == "skipped_file" && w.message.contains("0644")), "{:?}", r.warnings);
    }
    let ubuntu = d.join("ubuntu-lvm.vmdk");
    if ubuntu.is_file() {
        let mut g = regnet::open_guest(&[&ubuntu], &ExtractOptions::default()).unwrap();
        let hostname = g.view.resolve("/etc/hostname").unwrap();
        assert_eq!((hostname.uid, hostname.mode), (Some(0), Some(0o644)));
        let shadow = g.view.resolve("/etc/shadow").unwrap();
        assert_eq!(shadow.mode, Some(0o640));
    }
}

/// The guest view over NTFS: a Windows guest's files by path, case-insensitively.
#[test]
fn a_windows_guest_through_the_guest_view() {
    let image = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/example/disk.qcow2");
    let mut g = regnet::open_guest(&[&image], &ExtractOptions::default()).unwrap();
    assert!(g.volume.contains("partition 1"), "{}", g.volume);
    let names: Vec<String> = g
        .view
        .list("/windows/SYSTEM32/config")
        .unwrap()
        .into_iter()
        .map(|e| String::from_utf8_lossy(&e.name).into_owned())
        .collect();
    assert_eq!(names, ["SYSTEM", "SYSTEM.LOG1", "SYSTEM.LOG2"]);
    let hive = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/example/SYSTEM")).unwrap();
    assert_eq!(g.view.read("/Windows/System32/config/system").unwrap(), hive);
    let mut tail = [0u8; 16];
    let n = g.view.read_at("/Windows/System32/config/SYSTEM", hive.len() as u64 - 8, &mut tail).unwrap();
    assert_eq!(&tail[..n], &hive[hive.len() - 8..]);
    assert_eq!(g.view.read_at("/Windows/System32/config/SYSTEM", hive.len() as u64 + 5, &mut tail).unwrap(), 0);
    let node = g.view.resolve("/Windows/System32/config/SYSTEM").unwrap();
    assert_eq!(node.size, hive.len() as u64);
    assert!(g.view.read_link("/Windows/System32/config/SYSTEM").is_err());
    assert!(matches!(g.view.read("/Windows/nope"), Err(regnet_image::ImageError::NotFound { .. })));
    assert!(g.view.read(&format!("/Windows/{}", "x".repeat(300))).is_err());
    assert!(!g.view.exists("/Windows/System32/config/SYSTEM/inside").unwrap());
}

/// A mounted Windows root: the hive and its logs read through the guest view, case-insensitively.
#[test]
fn a_mounted_windows_root() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/example");
    let root = std::env::temp_dir().join(format!("regnet-winroot-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let config = root.join("WINDOWS/system32/Config");
    std::fs::create_dir_all(&config).unwrap();
    for f in ["SYSTEM", "SYSTEM.LOG1", "SYSTEM.LOG2"] {
        std::fs::copy(example.join(f), config.join(f.to_lowercase())).unwrap();
    }
    let r = regnet::extract(&root, &ExtractOptions::default()).unwrap();
    assert_eq!(r.hostname.as_deref(), Some("APP-SRV-07"));
    assert_eq!(r.hive.logs_applied.len(), 2);
    let s = r.source.as_ref().unwrap();
    assert_eq!((s.container.as_str(), s.filesystem.as_deref()), ("folder", Some("folder")));
    assert_eq!(s.files.len(), 3);
    assert!(s.bytes_read > 0);
    let mut o = ExtractOptions::default();
    o.hive.no_logs = true;
    let r = regnet::extract(&root, &o).unwrap();
    assert!(r.hive.logs_applied.is_empty());
    o.hive.limits.max_hive_size = 1024;
    assert!(regnet::extract(&root, &o).unwrap_err().to_string().contains("max_hive_size"));
    let mut o = ExtractOptions::default();
    o.hive.limits.max_log_size = 1024;
    assert!(regnet::extract(&root, &o).unwrap_err().to_string().contains("max_log_size"));
    // A folder with neither Windows nor Linux.
    let empty = root.join("WINDOWS/system32");
    let e = regnet::extract(&empty, &ExtractOptions::default()).unwrap_err().to_string();
    assert!(e.contains("holds neither"), "{e}");
    assert!(regnet::extract(root.join("nope"), &ExtractOptions::default()).is_err());
    let _ = std::fs::remove_dir_all(&root);
}
