//! Differential tests of the XFS reader against the files mkfs.xfs was given and against xfs_db:
//! v5 and v4 images made by `mkfs.xfs -p PROTOFILE` on a 320 MiB sparse file, with a realistic
//! `/etc`, a folder of 2,000 entries (node form), a 90 MiB file over several allocation groups
//! (several extents), and short, long, looping and escaping symbolic links. Skipped, with the
//! reason printed, when xfsprogs is not installed.

mod xfs_common;

use regnet_image::guest::{FileSystem, GuestView, NodeKind};
use regnet_image::xfs::{probe, XfsFs};
use regnet_image::{ImageError, ImageLimits};
use xfs_common::{tree, xfs_db, PatchedFile};

fn open(img: &std::path::Path) -> XfsFs {
    XfsFs::open(Box::new(PatchedFile::open(img)), &ImageLimits::default()).unwrap()
}

fn images() -> Vec<(&'static str, std::path::PathBuf)> {
    match tree() {
        Some(t) => vec![("v5", t.v5.clone()), ("v4", t.v4.clone())],
        None => Vec::new(),
    }
}

#[test]
fn every_file_reads_as_mkfs_was_given_it() {
    let Some(t) = tree() else { return };
    for (v, img) in images() {
        let mut vol = PatchedFile::open(&img);
        assert!(probe(&mut vol).unwrap());
        let fs = open(&img);
        assert_eq!(fs.label().as_deref(), Some("guestroot"), "{v}");
        assert!(fs.warnings().is_empty(), "{v}: {:?}", fs.warnings());
        let mut g = GuestView::new(Box::new(fs), Default::default());
        for (path, data) in &t.files {
            assert_eq!(&g.read(path).unwrap(), data, "{v} {path}");
        }
        assert_eq!(g.read("/etc/os-release").unwrap(), t.files["/usr/lib/os-release"], "{v}");
        assert_eq!(g.read("/etc/short").unwrap(), t.files["/etc/hostname"], "{v}");
        for (path, target) in &t.links {
            assert_eq!(g.read_link(path).unwrap(), target.as_bytes(), "{v} {path}");
        }
        // The escaping link stays inside the guest: the guest has no /etc/shadow.
        assert!(matches!(g.read("/etc/escape"), Err(ImageError::NotFound { .. })), "{v}");
        assert!(matches!(g.read("/etc/self"), Err(ImageError::BadPath { .. })), "{v}");
        assert!(matches!(g.read("/etc/long"), Err(ImageError::NotFound { .. })), "{v}");
        // Reads at every edge of the big file.
        let big = &t.files["/data/big"];
        for off in [0u64, 4095, 4096, 5 << 20, (8 << 20) + 1, big.len() as u64 - 3] {
            let mut b = [0u8; 10000];
            let n = g.read_at("/data/big", off, &mut b).unwrap();
            let want = &big[off as usize..(off as usize + 10000).min(big.len())];
            assert_eq!(&b[..n], want, "{v} at {off}");
        }
        let mut b = [0u8; 4];
        assert_eq!(g.read_at("/data/big", big.len() as u64, &mut b).unwrap(), 0);
    }
}

/// `xfs_db -c 'path DIR' -c ls`: (name, inode) of every entry but `.` and `..`.
fn db_ls(img: &std::path::Path, dir: &str) -> Option<Vec<(Vec<u8>, u64)>> {
    let out = xfs_db(img, &[&format!("path {dir}"), "ls"])?;
    let mut v: Vec<(Vec<u8>, u64)> = out
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let name = *f.get(5)?;
            let ino = f.get(1)?.parse().ok()?;
            (name != "." && name != "..").then(|| (name.as_bytes().to_vec(), ino))
        })
        .collect();
    v.sort();
    Some(v)
}

#[test]
fn listings_equal_xfs_db() {
    if tree().is_none() {
        return;
    }
    for (v, img) in images() {
        let mut g = GuestView::new(Box::new(open(&img)), Default::default());
        for dir in
            ["/", "/etc", "/etc/sysconfig/network-scripts", "/etc/NetworkManager/system-connections", "/many", "/data"]
        {
            let Some(want) = db_ls(&img, dir) else {
                eprintln!("skipped: xfs_db is not installed (Debian package xfsprogs)");
                return;
            };
            let got: Vec<(Vec<u8>, u64)> = g.list(dir).unwrap().into_iter().map(|e| (e.name, e.id)).collect();
            assert_eq!(got, want, "{v} {dir}");
        }
        let many = g.list("/many").unwrap();
        assert_eq!(many.len(), 2000);
        assert!(many.iter().all(|e| e.kind == Some(NodeKind::File)));
        let etc = g.list("/etc").unwrap();
        let kind = |n: &str| etc.iter().find(|e| e.name == n.as_bytes()).unwrap().kind;
        assert_eq!(kind("os-release"), Some(NodeKind::Symlink));
        assert_eq!(kind("sysconfig"), Some(NodeKind::Dir));
        assert_eq!(kind("hostname"), Some(NodeKind::File));
    }
}

/// The big file's blocks, as xfs_db's `bmap` maps them, hold what the reader returns.
#[test]
fn big_file_equals_xfs_db_bmap() {
    if tree().is_none() {
        return;
    }
    for (v, img) in images() {
        let mut fs = open(&img);
        let data = fs.lookup(fs.root(), b"data").unwrap().unwrap();
        let big = fs.lookup(data, b"big").unwrap().unwrap();
        let Some(out) = xfs_db(&img, &[&format!("inode {big}"), "bmap"]) else { return };
        let vol = PatchedFile::open(&img);
        let sb = xfs_common::sb(&vol);
        let mut extents = 0;
        for l in out.lines() {
            // "data offset 0 startblock 33659 (1/891) count 3200 flag 0"
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.first() != Some(&"data") {
                continue;
            }
            let off: u64 = f[2].parse().unwrap();
            let start: u64 = f[4].parse().unwrap();
            let count: u64 = f[7].parse().unwrap();
            let phys = sb.fsb(start);
            for blk in [0, count / 2, count - 1] {
                let want = vol.read(phys + blk * sb.blocksize, sb.blocksize as usize);
                let mut got = vec![0u8; sb.blocksize as usize];
                fs.read_at(big, (off + blk) * sb.blocksize, &mut got).unwrap();
                assert_eq!(got, want, "{v} block {}", off + blk);
            }
            extents += 1;
        }
        assert!(extents >= 1, "{v}: xfs_db says:\n{out}");
    }
}

#[test]
fn a_bounded_listing_and_reads_stay_small() {
    if tree().is_none() {
        return;
    }
    for (v, img) in images() {
        let mut fs = open(&img);
        let many = fs.lookup(fs.root(), b"many").unwrap().unwrap();
        assert!(matches!(fs.read_dir(many, 100), Err(ImageError::LimitExceeded { .. })), "{v}");
        // Finding and reading /etc/os-release (a link to ../usr/lib/os-release) reads little.
        let mut fs = open(&img);
        let opened = fs.bytes_read();
        let etc = fs.lookup(fs.root(), b"etc").unwrap().unwrap();
        let link = fs.lookup(etc, b"os-release").unwrap().unwrap();
        assert_eq!(fs.read_link(link, 4096).unwrap(), b"../usr/lib/os-release");
        let usr = fs.lookup(fs.root(), b"usr").unwrap().unwrap();
        let lib = fs.lookup(usr, b"lib").unwrap().unwrap();
        let os = fs.lookup(lib, b"os-release").unwrap().unwrap();
        let mut b = vec![0u8; 4096];
        let n = fs.read_at(os, 0, &mut b).unwrap();
        assert_eq!(&b[..n], &tree().unwrap().files["/usr/lib/os-release"][..]);
        eprintln!("{v}: open read {opened} bytes, /etc/os-release {} bytes in all", fs.bytes_read());
        assert!(fs.bytes_read() < 4 << 20, "{v}: {} bytes", fs.bytes_read());
    }
}
