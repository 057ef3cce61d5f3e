//! Hostile XFS volumes: real v5 and v4 images (made by mkfs.xfs -p) with crafted structures
//! patched in memory: B+tree cycles and absurd depth, bogus AG counts and sizes, inode numbers
//! past the AGs, a directory entry naming its own directory, extents past the volume, an inode
//! claiming 2^60 bytes, a dirty log, truncations and byte flips. Each ends in a result or a typed
//! error, quickly, and the rest of the volume still reads. Skipped, with the reason printed, when
//! xfsprogs is not installed.

mod xfs_common;

use regnet_image::guest::{FileSystem, GuestView, NodeKind};
use regnet_image::xfs::XfsFs;
use regnet_image::{ImageError, ImageLimits};
use std::time::{Duration, Instant};
use xfs_common::{sb, tree, PatchedFile, Sb};

fn images() -> Vec<(&'static str, PatchedFile)> {
    match tree() {
        Some(t) => vec![("v5", PatchedFile::open(&t.v5)), ("v4", PatchedFile::open(&t.v4))],
        None => Vec::new(),
    }
}

fn open(vol: &PatchedFile) -> regnet_image::Result<XfsFs> {
    XfsFs::open(Box::new(vol.clone()), &ImageLimits::default())
}

fn ino(vol: &PatchedFile, path: &str) -> u64 {
    let mut fs = open(vol).unwrap();
    let mut node = fs.root();
    for c in path.split('/').filter(|c| !c.is_empty()) {
        node = fs.lookup(node, c.as_bytes()).unwrap().unwrap();
    }
    node
}

/// Walks the whole tree (bounded breadth and depth), reading every file's first and last 4 KiB
/// and every link; returns how many nodes answered and how many errors were met.
fn walk(fs: &mut XfsFs, mut budget: usize) -> (usize, usize) {
    let mut ok = 0;
    let mut errors = 0;
    let mut stack = vec![(fs.root(), 0u32)];
    while let Some((dir, depth)) = stack.pop() {
        let entries = match fs.read_dir(dir, 3000) {
            Ok(e) => e,
            Err(_) => {
                errors += 1;
                continue;
            }
        };
        for e in entries {
            budget -= 1;
            if budget == 0 {
                return (ok, errors);
            }
            match fs.stat(e.id) {
                Ok(info) => {
                    ok += 1;
                    let mut b = vec![0u8; 4096];
                    let r = match info.kind {
                        NodeKind::Dir if depth < 8 => {
                            stack.push((e.id, depth + 1));
                            Ok(())
                        }
                        NodeKind::File => fs
                            .read_at(e.id, 0, &mut b)
                            .and_then(|_| fs.read_at(e.id, info.size.saturating_sub(4096), &mut b))
                            .map(|_| ()),
                        NodeKind::Symlink => fs.read_link(e.id, 4096).map(|_| ()),
                        _ => Ok(()),
                    };
                    errors += usize::from(r.is_err());
                }
                Err(_) => errors += 1,
            }
        }
    }
    (ok, errors)
}

/// The rest of the volume still reads: the network files and os-release through the guest view.
fn still_reads(vol: &PatchedFile, what: &str) {
    let t = tree().unwrap();
    let mut g = GuestView::new(Box::new(open(vol).unwrap()), Default::default());
    for p in ["/etc/sysconfig/network-scripts/ifcfg-eth0", "/usr/lib/os-release"] {
        assert_eq!(g.read(p).unwrap(), t.files[p], "{what}: {p}");
    }
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let r = f();
    // Tests never assert timings (scripts/hostile-check.sh measures them); a slow case shows here.
    if t.elapsed() > Duration::from_secs(1) {
        eprintln!("{what}: slow hostile case: {:?}", t.elapsed());
    }
    r
}

/// The data fork of inode `ino`.
fn fork_at(s: &Sb, ino: u64) -> u64 {
    s.inode(ino) + s.core()
}

fn extent_rec(off: u64, start: u64, count: u64) -> [u8; 16] {
    let l0 = (off << 9) | (start >> 43);
    let l1 = (start << 21) | count;
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&l0.to_be_bytes());
    b[8..].copy_from_slice(&l1.to_be_bytes());
    b
}

fn big_extent(vol: &PatchedFile, s: &Sb, big: u64) -> (u64, u64) {
    let rec = vol.read(fork_at(s, big), 16);
    let l0 = u64::from_be_bytes(rec[..8].try_into().unwrap());
    let l1 = u64::from_be_bytes(rec[8..].try_into().unwrap());
    (((l0 & 0x1ff) << 43) | (l1 >> 21), l1 & 0x1f_ffff)
}

/// A block near the end of the last AG (free on these images) for crafted B+tree blocks.
fn spare_block(s: &Sb, vol: &PatchedFile, n: u64) -> u64 {
    let total = vol.len / s.blocksize;
    let agcount = total.div_ceil(s.agblocks);
    let agno = agcount - 1;
    let agbno = total - agno * s.agblocks - 1 - n;
    (agno << s.agblklog) | agbno
}

fn bmbt_block(s: &Sb, level: u16, recs: &[[u8; 16]]) -> Vec<u8> {
    let mut b = vec![0u8; s.blocksize as usize];
    b[..4].copy_from_slice(if s.v5 { b"BMA3" } else { b"BMAP" });
    b[4..6].copy_from_slice(&level.to_be_bytes());
    b[6..8].copy_from_slice(&(recs.len() as u16).to_be_bytes());
    let hdr = if s.v5 { 72 } else { 24 };
    for (i, r) in recs.iter().enumerate() {
        b[hdr + 16 * i..hdr + 16 * i + 16].copy_from_slice(r);
    }
    b
}

/// A node block: keys then pointers, each array `(blocksize - hdr) / 16` long.
fn bmbt_node(s: &Sb, level: u16, ptrs: &[(u64, u64)]) -> Vec<u8> {
    let mut b = bmbt_block(s, level, &[]);
    b[6..8].copy_from_slice(&(ptrs.len() as u16).to_be_bytes());
    let hdr = if s.v5 { 72 } else { 24 };
    let maxrecs = (s.blocksize as usize - hdr) / 16;
    for (i, (key, ptr)) in ptrs.iter().enumerate() {
        b[hdr + 8 * i..hdr + 8 * i + 8].copy_from_slice(&key.to_be_bytes());
        let p = hdr + 8 * maxrecs + 8 * i;
        b[p..p + 8].copy_from_slice(&ptr.to_be_bytes());
    }
    b
}

/// Turns `big` into a BTREE inode whose root (level `level`) points at `ptrs`.
fn make_btree_root(vol: &mut PatchedFile, s: &Sb, big: u64, level: u16, ptrs: &[u64]) {
    let fork = fork_at(s, big);
    let fork_len = s.inodesize - s.core();
    let maxrecs = (fork_len - 4) / 16;
    vol.patch(s.inode(big) + 5, &[3]);
    let mut root = vec![0u8; fork_len as usize];
    root[..2].copy_from_slice(&level.to_be_bytes());
    root[2..4].copy_from_slice(&(ptrs.len() as u16).to_be_bytes());
    for (i, p) in ptrs.iter().enumerate() {
        let at = 4 + 8 * maxrecs as usize + 8 * i;
        root[at..at + 8].copy_from_slice(&p.to_be_bytes());
    }
    vol.patch(fork, &root);
}

#[test]
fn fragmented_and_btree_maps_read_the_same_bytes() {
    let Some(t) = tree() else { return };
    let want = &t.files["/data/big"];
    for (v, base) in images() {
        let s = sb(&base);
        let big = ino(&base, "/data/big");
        let (start, count) = big_extent(&base, &s, big);
        // The one extent split into as many as the fork holds, with a hole-free gap order.
        let fits = (s.inodesize - s.core()) / 16;
        let piece = count / fits;
        let recs: Vec<[u8; 16]> = (0..fits)
            .map(|i| {
                let n = if i == fits - 1 { count - piece * i } else { piece };
                extent_rec(piece * i, start + piece * i, n)
            })
            .collect();
        let mut vol = base.clone();
        vol.patch(s.inode(big) + 76, &(fits as u32).to_be_bytes());
        for (i, r) in recs.iter().enumerate() {
            vol.patch(fork_at(&s, big) + 16 * i as u64, r);
        }
        let mut g = GuestView::new(Box::new(open(&vol).unwrap()), Default::default());
        assert_eq!(&g.read("/data/big").unwrap(), want, "{v} extents");

        // A two-level B+tree: the root points at two leaves, each with half of 64 extents.
        let mut vol = base.clone();
        let piece = count / 64;
        let recs: Vec<[u8; 16]> = (0..64)
            .map(|i| {
                let n = if i == 63 { count - piece * i } else { piece };
                extent_rec(piece * i, start + piece * i, n)
            })
            .collect();
        let (l1, l2) = (spare_block(&s, &vol, 0), spare_block(&s, &vol, 1));
        vol.patch(s.fsb(l1), &bmbt_block(&s, 0, &recs[..32]));
        vol.patch(s.fsb(l2), &bmbt_block(&s, 0, &recs[32..]));
        make_btree_root(&mut vol, &s, big, 1, &[l1, l2]);
        let mut g = GuestView::new(Box::new(open(&vol).unwrap()), Default::default());
        assert_eq!(&g.read("/data/big").unwrap(), want, "{v} btree");

        // Three levels: root -> node -> the two leaves.
        let n1 = spare_block(&s, &vol, 2);
        vol.patch(s.fsb(n1), &bmbt_node(&s, 1, &[(0, l1), (piece * 32, l2)]));
        make_btree_root(&mut vol, &s, big, 2, &[n1]);
        let mut g = GuestView::new(Box::new(open(&vol).unwrap()), Default::default());
        assert_eq!(&g.read("/data/big").unwrap(), want, "{v} btree of 3 levels");
    }
}

#[test]
fn btree_cycles_and_absurd_depth_are_errors() {
    if tree().is_none() {
        return;
    }
    for (v, base) in images() {
        let s = sb(&base);
        let big = ino(&base, "/data/big");
        let (a, b) = (spare_block(&s, &base, 0), spare_block(&s, &base, 1));
        let cases: Vec<(&str, PatchedFile)> = vec![
            ("a node pointing at itself", {
                let mut vol = base.clone();
                vol.patch(s.fsb(a), &bmbt_node(&s, 1, &[(0, a)]));
                make_btree_root(&mut vol, &s, big, 2, &[a]);
                vol
            }),
            ("two nodes pointing at each other", {
                let mut vol = base.clone();
                vol.patch(s.fsb(a), &bmbt_node(&s, 1, &[(0, b)]));
                vol.patch(s.fsb(b), &bmbt_node(&s, 1, &[(0, a)]));
                make_btree_root(&mut vol, &s, big, 2, &[a]);
                vol
            }),
            ("a leaf shared twice", {
                let mut vol = base.clone();
                vol.patch(s.fsb(a), &bmbt_block(&s, 0, &[extent_rec(0, 5000, 1)]));
                make_btree_root(&mut vol, &s, big, 1, &[a, a]);
                vol
            }),
            ("a node claiming level 65535", {
                let mut vol = base.clone();
                make_btree_root(&mut vol, &s, big, u16::MAX, &[a]);
                vol
            }),
            ("a root of level 9 over a leaf", {
                let mut vol = base.clone();
                vol.patch(s.fsb(a), &bmbt_block(&s, 0, &[extent_rec(0, 5000, 1)]));
                make_btree_root(&mut vol, &s, big, 9, &[a]);
                vol
            }),
            ("a pointer past the AGs", {
                let mut vol = base.clone();
                make_btree_root(&mut vol, &s, big, 1, &[u64::MAX]);
                vol
            }),
            ("a block without the bmbt magic", {
                let mut vol = base.clone();
                make_btree_root(&mut vol, &s, big, 1, &[1]);
                vol
            }),
        ];
        for (what, vol) in cases {
            let mut g = GuestView::new(Box::new(open(&vol).unwrap()), Default::default());
            let r = timed(what, || g.read("/data/big"));
            assert!(
                matches!(
                    r,
                    Err(ImageError::Corrupt { .. } | ImageError::BadField { .. } | ImageError::BadSignature { .. })
                ),
                "{v} {what}: {r:?}"
            );
            still_reads(&vol, what);
        }
    }
}

#[test]
fn bogus_geometry_is_refused() {
    if tree().is_none() {
        return;
    }
    for (v, base) in images() {
        let cases: Vec<(&str, usize, Vec<u8>)> = vec![
            ("agcount 0", 88, 0u32.to_be_bytes().to_vec()),
            ("agcount 2^32-1", 88, u32::MAX.to_be_bytes().to_vec()),
            ("agcount one short", 88, 3u32.to_be_bytes().to_vec()),
            ("agblocks 1", 84, 1u32.to_be_bytes().to_vec()),
            ("agblocks 2^32-1", 84, u32::MAX.to_be_bytes().to_vec()),
            ("dblocks 2^60", 8, (1u64 << 60).to_be_bytes().to_vec()),
            ("dblocks past the volume", 8, 100_000u64.to_be_bytes().to_vec()),
            ("blocksize 3000", 4, 3000u32.to_be_bytes().to_vec()),
            ("blocksize 2^31", 4, (1u32 << 31).to_be_bytes().to_vec()),
            ("blocklog 40", 120, vec![40]),
            ("sectsize 0", 102, vec![0, 0]),
            ("inodesize 64", 104, 64u16.to_be_bytes().to_vec()),
            ("inopblock 3", 106, 3u16.to_be_bytes().to_vec()),
            ("agblklog 63", 124, vec![63]),
            ("version 7", 100, vec![0xb4, 0xa7]),
            ("dirblklog 20", 192, vec![20]),
            ("rootino past the AGs", 56, u64::MAX.to_be_bytes().to_vec()),
            ("logstart past the AGs", 48, (1u64 << 50).to_be_bytes().to_vec()),
            ("logblocks past the volume", 96, u32::MAX.to_be_bytes().to_vec()),
            ("magic", 0, b"XFSC".to_vec()),
        ];
        for (what, at, bytes) in cases {
            let mut vol = base.clone();
            vol.patch(at as u64, &bytes);
            let r = timed(what, || open(&vol));
            assert!(r.is_err(), "{v} {what} opened");
        }
        // Unknown v5 incompatible features are refused by name.
        if v == "v5" {
            let mut vol = base.clone();
            vol.patch(216, &0x8000_0000u32.to_be_bytes());
            assert!(matches!(open(&vol), Err(ImageError::Unsupported(_))));
        }
        // Too small a volume, or one too short for its superblock's geometry.
        for len in [0u64, 100, 511, 4096, 1 << 20, 64 << 20] {
            let vol = base.clone().truncate(len);
            assert!(open(&vol).is_err(), "{v} truncated to {len}");
        }
    }
}

/// Patches the short-form /etc directory entry `name`'s inode number.
fn patch_etc_entry(vol: &mut PatchedFile, s: &Sb, name: &[u8], new: u64) {
    let etc = ino(vol, "/etc");
    let fork = fork_at(s, etc);
    let raw = vol.read(fork, (s.inodesize - s.core()) as usize);
    let count = raw[0];
    let i8 = raw[1] != 0;
    let ino_len = if i8 { 8 } else { 4 };
    let mut pos = 2 + ino_len;
    for _ in 0..count {
        let namelen = raw[pos] as usize;
        let n = &raw[pos + 3..pos + 3 + namelen];
        let ino_at = pos + 3 + namelen + 1; // ftype is on in both images
        if n == name {
            let bytes = if i8 { new.to_be_bytes().to_vec() } else { (new as u32).to_be_bytes().to_vec() };
            vol.patch(fork + ino_at as u64, &bytes);
            return;
        }
        pos = ino_at + ino_len;
    }
    panic!("no {name:?} in /etc");
}

#[test]
fn bad_inode_numbers_and_self_entries_fail_alone() {
    if tree().is_none() {
        return;
    }
    for (v, base) in images() {
        let s = sb(&base);
        assert!(open(&base).unwrap().stat(u64::MAX).is_err());
        for (what, new) in [
            ("past the AGs", 0xffff_fff0u64),
            ("slot in a block past dblocks", (3u64 << (s.agblklog + s.inopblog)) | 0xffff),
            ("zero", 0),
            ("a block that is not an inode", 1 << s.inopblog),
        ] {
            let mut vol = base.clone();
            patch_etc_entry(&mut vol, &s, b"hostname", new);
            let mut g = GuestView::new(Box::new(open(&vol).unwrap()), Default::default());
            let r = timed(what, || g.read("/etc/hostname"));
            assert!(r.is_err(), "{v} {what}: {r:?}");
            still_reads(&vol, what);
        }
        // An entry naming its own directory: paths through it are bounded, the rest reads.
        let mut vol = base.clone();
        let etc = ino(&base, "/etc");
        patch_etc_entry(&mut vol, &s, b"sysconfig", etc);
        let mut g = GuestView::new(Box::new(open(&vol).unwrap()), Default::default());
        let deep = format!("/etc{}/hostname", "/sysconfig".repeat(3000));
        assert_eq!(timed("self entry", || g.read(&deep)).unwrap(), b"db-07.example.com\n");
        let deeper = format!("/etc{}/hostname", "/sysconfig".repeat(5000));
        assert!(matches!(g.read(&deeper), Err(ImageError::BadPath { .. })));
        let mut fs = open(&vol).unwrap();
        let (ok, _) = timed("walk with a self entry", || walk(&mut fs, 6000));
        assert!(ok > 2000, "{v}");
        assert_eq!(g.read("/usr/lib/os-release").unwrap(), tree().unwrap().files["/usr/lib/os-release"]);
    }
}

#[test]
fn extents_past_the_volume_and_huge_sizes() {
    let Some(t) = tree() else { return };
    for (v, base) in images() {
        let s = sb(&base);
        let big = ino(&base, "/data/big");
        let (_, count) = big_extent(&base, &s, big);
        for (what, start, n) in [
            ("start past the AGs", 1u64 << 51, count),
            ("AG block past agblocks", (1u64 << s.agblklog) - 1, 2),
            ("running past its AG", s.agblocks - 1, 3),
            ("zero blocks", 100, 0),
        ] {
            let mut vol = base.clone();
            vol.patch(fork_at(&s, big), &extent_rec(0, start, n));
            let mut g = GuestView::new(Box::new(open(&vol).unwrap()), Default::default());
            let r = timed(what, || g.read("/data/big"));
            assert!(matches!(r, Err(ImageError::BadField { .. })), "{v} {what}: {r:?}");
            still_reads(&vol, what);
        }
        // More extents than the fork holds, overlapping extents.
        let mut vol = base.clone();
        vol.patch(s.inode(big) + 76, &u32::MAX.to_be_bytes());
        let mut g = GuestView::new(Box::new(open(&vol).unwrap()), Default::default());
        assert!(g.read("/data/big").is_err());
        let mut vol = base.clone();
        vol.patch(s.inode(big) + 76, &2u32.to_be_bytes());
        vol.patch(fork_at(&s, big) + 16, &extent_rec(1, 6000, 2));
        let mut g = GuestView::new(Box::new(open(&vol).unwrap()), Default::default());
        assert!(matches!(g.read("/data/big"), Err(ImageError::Corrupt { .. })), "{v} overlap");

        // An inode claiming 2^60 bytes: refused whole, read sparse past its extents as zeros.
        let mut vol = base.clone();
        vol.patch(s.inode(big) + 56, &(1u64 << 60).to_be_bytes());
        let mut g = GuestView::new(Box::new(open(&vol).unwrap()), Default::default());
        assert!(matches!(g.read("/data/big"), Err(ImageError::LimitExceeded { .. })));
        let mut b = vec![7u8; 1 << 20];
        let n = timed("2^60 read", || g.read_at("/data/big", 1 << 59, &mut b)).unwrap();
        assert_eq!(n, b.len());
        assert!(b.iter().all(|&x| x == 0));
        let mut b = vec![0u8; 4096];
        g.read_at("/data/big", 0, &mut b).unwrap();
        assert_eq!(&b[..], &t.files["/data/big"][..4096]);
        // Unwritten (preallocated) extents read as zeros.
        let mut vol = base.clone();
        let (start, count) = big_extent(&base, &s, big);
        let mut rec = extent_rec(0, start, count);
        rec[0] |= 0x80;
        vol.patch(fork_at(&s, big), &rec);
        let mut g = GuestView::new(Box::new(open(&vol).unwrap()), Default::default());
        assert!(g.read("/data/big").unwrap().iter().all(|&x| x == 0), "{v} unwritten");
    }
}

#[test]
fn a_dirty_log_is_a_warning_and_the_disk_still_reads() {
    if tree().is_none() {
        return;
    }
    for (v, base) in images() {
        let s = sb(&base);
        let sbb = base.read(0, 512);
        let logstart = u64::from_be_bytes(sbb[48..56].try_into().unwrap());
        let log = s.fsb(logstart);
        // The unmount record's flags (the operation header after the record header).
        assert_eq!(base.read(log + 512 + 9, 1), [0x20], "{v}: mkfs leaves an unmount record");
        let mut vol = base.clone();
        vol.patch(log + 512 + 9, &[0]);
        let fs = open(&vol).unwrap();
        assert_eq!(fs.warnings().len(), 1, "{v}");
        assert!(fs.warnings()[0].contains("dirty"), "{:?}", fs.warnings());
        still_reads(&vol, "dirty log");
        // A record with two operations, a wiped header, a zeroed log, a wrapped ring.
        for (what, at, bytes, dirty) in [
            ("two operations", log + 40, 2u32.to_be_bytes().to_vec(), true),
            ("no header", log, vec![0, 0, 0, 1], true),
            ("never written", log, vec![0; 8], false),
        ] {
            let mut vol = base.clone();
            vol.patch(at, &bytes);
            let fs = open(&vol).unwrap();
            assert_eq!(!fs.warnings().is_empty(), dirty, "{v} {what}: {:?}", fs.warnings());
        }
        let mut vol = base.clone();
        let blocks = u64::from(u32::from_be_bytes(sbb[96..100].try_into().unwrap())) * s.blocksize / 512;
        vol.patch(log + (blocks - 1) * 512, &1u32.to_be_bytes());
        let fs = open(&vol).unwrap();
        assert!(!fs.warnings().is_empty(), "{v} full ring with no header before its end");
        // needsrepair and an unfinished mkfs are warnings too.
        let mut vol = base.clone();
        vol.patch(126, &[1]);
        if v == "v5" {
            vol.patch(216, &(0xbu32 | 0x10).to_be_bytes());
        }
        let fs = open(&vol).unwrap();
        assert_eq!(fs.warnings().len(), if v == "v5" { 2 } else { 1 }, "{:?}", fs.warnings());
    }
}

/// Deterministic noise for the flips.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn byte_flips_and_truncations_end_in_results() {
    if tree().is_none() {
        return;
    }
    for (v, base) in images() {
        let s = sb(&base);
        // Where the metadata is: the superblock sector and AG headers, the inodes and directory
        // blocks of the tree (the root, /etc, /many, /data and their first entries).
        let mut spots = vec![0u64, 512, 1024, 1536, s.agblocks * s.blocksize];
        for p in ["/", "/etc", "/many", "/data", "/etc/long", "/data/big", "/usr/lib/os-release"] {
            spots.push(s.inode(ino(&base, p)));
        }
        let many = ino(&base, "/many");
        let fork = fork_at(&s, many);
        for i in 0..4u64 {
            let ptr = u64::from_be_bytes(
                base.read(fork + 4 + 8 * ((s.inodesize - s.core() - 4) / 16) + 8 * i, 8).try_into().unwrap(),
            );
            if ptr != 0 && ptr >> s.agblklog < 64 {
                spots.push(s.fsb(ptr));
            }
        }
        let mut rng = Rng(0x5eed_1234_u64 ^ s.inodesize);
        let started = Instant::now();
        for round in 0..300 {
            let mut vol = base.clone();
            let spot = spots[round % spots.len()];
            for _ in 0..1 + rng.next() % 8 {
                let at = spot + rng.next() % if spot < 2048 { 512 } else { s.blocksize };
                vol.patch(at, &[rng.next() as u8]);
            }
            let t = Instant::now();
            if let Ok(mut fs) = open(&vol) {
                let _ = walk(&mut fs, 200);
                let mut g = GuestView::new(Box::new(fs), Default::default());
                let _ = g.read("/etc/os-release");
                let _ = g.list("/many");
            }
            if t.elapsed() > Duration::from_secs(1) {
                eprintln!("{v} round {round}: slow: {:?}", t.elapsed());
            }
        }
        eprintln!("{v}: 300 flipped volumes in {:?}", started.elapsed());
        for len in [2u64 << 20, 100 << 20, 200 << 20, 300 << 20] {
            let vol = base.clone().truncate(len);
            let t = Instant::now();
            if let Ok(mut fs) = open(&vol) {
                let _ = walk(&mut fs, 6000);
            }
            if t.elapsed() > Duration::from_secs(1) {
                eprintln!("{v} truncated at {len}: slow: {:?}", t.elapsed());
            }
        }
    }
}

#[test]
fn the_read_budget_holds() {
    if tree().is_none() {
        return;
    }
    for (v, base) in images() {
        let mut limits = ImageLimits::default();
        limits.max_bytes_read = 64 << 10;
        let fs = XfsFs::open(Box::new(base.clone()), &limits).unwrap();
        let mut g = GuestView::new(Box::new(fs), Default::default());
        assert!(matches!(g.read("/data/big"), Err(ImageError::LimitExceeded { limit: "max_bytes_read", .. })), "{v}");
        let mut limits = ImageLimits::default();
        limits.max_table_bytes = 4096;
        let mut fs = XfsFs::open(Box::new(base.clone()), &limits).unwrap();
        let many = fs.lookup(fs.root(), b"many").unwrap().unwrap();
        assert!(matches!(fs.read_dir(many, 5000), Err(ImageError::LimitExceeded { .. })), "{v}");
    }
}

/// A directory block holding one entry `name` → `ino` (file type `ft`), the rest unused.
fn data_block(s: &Sb, name: &[u8], ino: u64, ft: u8) -> Vec<u8> {
    let mut b = vec![0u8; s.blocksize as usize];
    b[..4].copy_from_slice(if s.v5 { b"XDD3" } else { b"XD2D" });
    let mut pos = if s.v5 { 64 } else { 16 };
    b[pos..pos + 8].copy_from_slice(&ino.to_be_bytes());
    b[pos + 8] = name.len() as u8;
    b[pos + 9..pos + 9 + name.len()].copy_from_slice(name);
    b[pos + 9 + name.len()] = ft;
    pos += (9 + name.len() + 1 + 2).next_multiple_of(8);
    b[pos..pos + 2].copy_from_slice(&0xffffu16.to_be_bytes());
    let rest = s.blocksize as usize - pos;
    b[pos + 2..pos + 4].copy_from_slice(&(rest as u16).to_be_bytes());
    b
}

#[test]
fn a_huge_directory_that_names_itself_ends_quickly() {
    if tree().is_none() {
        return;
    }
    for (v, base) in images() {
        let s = sb(&base);
        let many = ino(&base, "/many");
        let mut vol = base.clone();
        // 8,192 directory blocks (32 MiB, the most one scan reads): 8,191 map to a block with an
        // entry "pad", the last to a block with "self" naming the directory itself. Each lookup
        // of "self" scans them all.
        let (pad, me) = (spare_block(&s, &vol, 0), spare_block(&s, &vol, 1));
        vol.patch(s.fsb(pad), &data_block(&s, b"pad", many, 2));
        vol.patch(s.fsb(me), &data_block(&s, b"self", many, 2));
        let per_leaf = (s.blocksize as usize - if s.v5 { 72 } else { 24 }) / 16;
        let recs: Vec<[u8; 16]> = (0..8192u64).map(|i| extent_rec(i, if i == 8191 { me } else { pad }, 1)).collect();
        let mut ptrs = Vec::new();
        for (i, chunk) in recs.chunks(per_leaf).enumerate() {
            let leaf = spare_block(&s, &vol, 3 + i as u64);
            vol.patch(s.fsb(leaf), &bmbt_block(&s, 0, chunk));
            ptrs.push(((i * per_leaf) as u64, leaf));
        }
        let node = spare_block(&s, &vol, 2);
        vol.patch(s.fsb(node), &bmbt_node(&s, 1, &ptrs));
        make_btree_root(&mut vol, &s, many, 2, &[node]);
        let mut fs = open(&vol).unwrap();
        let t = Instant::now();
        assert_eq!(fs.lookup(many, b"self").unwrap(), Some(many), "{v}");
        eprintln!("{v}: one lookup {:?}", t.elapsed());
        let t = Instant::now();
        assert_eq!(fs.lookup(many, b"self").unwrap(), Some(many), "{v}");
        eprintln!("{v}: again {:?}", t.elapsed());
        let mut g = GuestView::new(Box::new(open(&vol).unwrap()), Default::default());
        let path = format!("/many{}/x", "/self".repeat(4000));
        let r = timed("a path through a huge self-naming directory", || g.read(&path));
        assert!(matches!(r, Err(ImageError::LimitExceeded { limit: "max_table_bytes", .. })), "{v}: {r:?}");
        still_reads(&vol, "huge self-naming directory");
    }
}
