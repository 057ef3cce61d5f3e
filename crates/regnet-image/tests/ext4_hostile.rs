//! Hostile ext4 (and ext2) volumes: a real image from mke2fs, patched where debugfs says the
//! structures are. Each case ends in a result or a typed error (in under 2 s, as scripts/hostile-check.sh measures; a slow case is printed), allocates no more
//! than 256 MiB at once, and the rest of the volume still reads.
//!
//! Set `REGNET_EXT4_HOSTILE_DIR` to keep each case's image there (to run other readers on them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ext4_common;

use ext4_common::*;
use regnet_image::ext4::Ext4Fs;
use regnet_image::guest::{FileSystem, GuestView, NodeKind};
use regnet_image::{ImageError, ImageLimits, Volume};
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Records the largest single allocation, so a size taken from the volume cannot hide.
struct Largest;
static LARGEST: AtomicUsize = AtomicUsize::new(0);
unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LARGEST.fetch_max(l.size(), Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LARGEST.fetch_max(n, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}
#[global_allocator]
static ALLOC: Largest = Largest;

const MAX_ALLOC: usize = 256 << 20;
const SLOW: Duration = Duration::from_secs(1);

/// A shared base image with some bytes changed and, maybe, cut short.
#[derive(Clone)]
struct Patched {
    base: Arc<Vec<u8>>,
    patches: BTreeMap<u64, u8>,
    len: u64,
}

impl Patched {
    fn new(base: &Arc<Vec<u8>>) -> Self {
        Patched { base: Arc::clone(base), patches: BTreeMap::new(), len: base.len() as u64 }
    }
    fn put(&mut self, at: u64, bytes: &[u8]) -> &mut Self {
        for (i, b) in bytes.iter().enumerate() {
            self.patches.insert(at + i as u64, *b);
        }
        self
    }
    fn u32(&mut self, at: u64, v: u32) -> &mut Self {
        self.put(at, &v.to_le_bytes())
    }
    fn u16(&mut self, at: u64, v: u16) -> &mut Self {
        self.put(at, &v.to_le_bytes())
    }
    fn get(&self, at: u64) -> u8 {
        self.patches.get(&at).copied().unwrap_or(self.base[at as usize])
    }
    fn bytes(&self) -> Vec<u8> {
        let mut b = self.base[..self.len as usize].to_vec();
        for (at, v) in self.patches.range(..self.len) {
            b[*at as usize] = *v;
        }
        b
    }
}

impl Volume for Patched {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> regnet_image::Result<()> {
        let n = buf.len() as u64;
        if offset.checked_add(n).is_none_or(|e| e > self.len) {
            return Err(ImageError::OutOfRange { what: "test volume", offset, len: n, size: self.len });
        }
        buf.copy_from_slice(&self.base[offset as usize..(offset + n) as usize]);
        for (at, b) in self.patches.range(offset..offset + n) {
            buf[(at - offset) as usize] = *b;
        }
        Ok(())
    }
}

/// The base image and where debugfs says things are.
struct Base {
    bytes: Arc<Vec<u8>>,
    block: u64,
    dir: std::path::PathBuf,
}

impl Base {
    fn make(kind: &str, extra: &[&str]) -> Option<Base> {
        if let Err(why) = tools() {
            eprintln!("skipped: {why}");
            return None;
        }
        let dir = temp_dir(&format!("hostile-{kind}"));
        let stage = dir.join("stage");
        staging(&stage);
        std::fs::write(stage.join("etc/bad"), pattern(4096 * 3, 9)).unwrap();
        std::fs::create_dir_all(stage.join("etc/loop")).unwrap();
        std::fs::write(stage.join("etc/loop/selfloopentry"), b"x").unwrap();
        std::fs::write(stage.join("etc/ghostentryxyz"), b"x").unwrap();
        let huge = std::fs::File::create(stage.join("var/huge")).unwrap();
        // ext2/ext3 with 1 KiB blocks address at most 16 GiB.
        let huge_len: u64 = if extra.contains(&"1024") { 8 << 30 } else { 1 << 40 };
        huge.set_len(huge_len).unwrap();
        use std::os::unix::fs::FileExt;
        huge.write_all_at(b"first", 0).unwrap();
        huge.write_all_at(b"last", huge_len - 4).unwrap();
        let img = dir.join("fs.img");
        // REGNET_EXT4_HOSTILE_MKE2FS adds mke2fs options (e.g. `-O ^metadata_csum`, to run a
        // reader that checks checksums on these images).
        let more = std::env::var("REGNET_EXT4_HOSTILE_MKE2FS").unwrap_or_default();
        let mut extra: Vec<&str> = extra.to_vec();
        extra.extend(more.split_whitespace());
        let bytes = mke2fs(&stage, &img, kind, &extra, "64M");
        let block = if extra.contains(&"1024") { 1024 } else { 4096 };
        let dump = std::process::Command::new("dumpe2fs").arg("-h").arg(dir.join("fs.img")).output().unwrap().stdout;
        let shown: u64 = String::from_utf8_lossy(&dump)
            .lines()
            .find_map(|l| l.strip_prefix("Block size:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(shown, block);
        Some(Base { bytes: Arc::new(bytes), block, dir })
    }

    fn img(&self) -> std::path::PathBuf {
        self.dir.join("fs.img")
    }

    /// Byte offset of inode `path`'s on-disk inode, and its number (from `stat` and `dumpe2fs`:
    /// debugfs 1.47's `imap` misplaces inodes on these images).
    fn inode_at(&self, path: &str) -> (u64, u64) {
        let stat = String::from_utf8(debugfs_one(&self.img(), &format!("stat {path}"))).unwrap();
        let ino: u64 = stat.split("Inode: ").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
        let dump = std::process::Command::new("dumpe2fs").arg(self.img()).output().unwrap().stdout;
        let dump = String::from_utf8_lossy(&dump);
        let field =
            |name: &str| -> u64 { dump.lines().find_map(|l| l.strip_prefix(name)).unwrap().trim().parse().unwrap() };
        let (ipg, isz) = (field("Inodes per group:"), field("Inode size:"));
        let tables: Vec<u64> = dump
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Inode table at "))
            .map(|r| r.split('-').next().unwrap().parse().unwrap())
            .collect();
        let (group, index) = ((ino - 1) / ipg, (ino - 1) % ipg);
        (tables[group as usize] * self.block + index * isz, ino)
    }

    /// Physical block of logical block 0 of `path`.
    fn first_block(&self, path: &str) -> u64 {
        let out = String::from_utf8(debugfs_one(&self.img(), &format!("bmap {path} 0"))).unwrap();
        out.trim().parse().unwrap()
    }

    /// Byte offset of the unique directory entry named `name` (its inode field).
    fn entry_at(&self, name: &[u8]) -> u64 {
        let hits: Vec<usize> =
            self.bytes.windows(name.len()).enumerate().filter(|(_, w)| *w == name).map(|(i, _)| i).collect();
        let hit = hits.iter().find(|&&i| self.bytes[i - 2] as usize == name.len()).unwrap();
        (*hit - 8) as u64
    }
}

/// Opens the volume and reads what a caller would; panics (failing the test) on a panic, an
/// untyped outcome, a slow case or a huge allocation. Returns the open error, or the guest.
fn attempt(v: &Patched, case: &str) -> Result<Ext4Fs, ImageError> {
    if let Ok(d) = std::env::var("REGNET_EXT4_HOSTILE_DIR") {
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(Path::new(&d).join(format!("{case}.img")), v.bytes()).unwrap();
    }
    let t = Instant::now();
    let r = Ext4Fs::open(Box::new(v.clone()), &ImageLimits::default());
    if let Ok(fs) = &r {
        let _ = fs.warnings();
    }
    let r = r.map(|mut fs| {
        walk(&mut fs);
        fs
    });
    let took = t.elapsed();
    // Tests never assert timings (scripts/hostile-check.sh measures them); a slow case shows here.
    if took > SLOW {
        eprintln!("{case}: slow hostile case: {took:?}");
    }
    assert!(
        LARGEST.load(Ordering::Relaxed) < MAX_ALLOC,
        "{case}: an allocation of {} bytes",
        LARGEST.load(Ordering::Relaxed)
    );
    eprintln!(
        "{case}: {} in {took:?}",
        r.as_ref().map(|_| "opened and walked".to_owned()).unwrap_or_else(|e| e.to_string())
    );
    r
}

/// Walks the tree from the root (at most 64 levels, 20,000 nodes, each once), reads the first
/// and last 4 KiB of every file and every link; errors end only that node.
fn walk(fs: &mut Ext4Fs) -> usize {
    let mut seen = HashSet::new();
    let mut stack = vec![(fs.root(), 0u32)];
    let mut buf = vec![0u8; 4096];
    while let Some((node, depth)) = stack.pop() {
        if !seen.insert(node) || seen.len() > 20_000 {
            continue;
        }
        let Ok(info) = fs.stat(node) else { continue };
        match info.kind {
            NodeKind::Dir if depth < 64 => {
                if let Ok(entries) = fs.read_dir(node, 10_000) {
                    stack.extend(entries.iter().map(|e| (e.id, depth + 1)));
                }
            }
            NodeKind::File => {
                let _ = fs.read_at(node, 0, &mut buf);
                let _ = fs.read_at(node, info.size.saturating_sub(4096), &mut buf);
            }
            NodeKind::Symlink => {
                let _ = fs.read_link(node, 4096);
            }
            _ => {}
        }
    }
    seen.len()
}

/// The guest's important files still read.
fn rest_reads(fs: Ext4Fs) {
    let mut g = GuestView::new(Box::new(fs), Default::default());
    assert_eq!(g.read("/etc/os-release").unwrap(), OS_RELEASE);
    assert_eq!(g.read("/etc/hostname").unwrap(), b"web-07\n");
    assert_eq!(g.list("/etc/netplan").unwrap().len(), 2);
}

fn bad_file(fs: Ext4Fs) -> ImageError {
    let mut g = GuestView::new(Box::new(fs), Default::default());
    let e = g.read("/etc/bad").map(|v| v.len()).unwrap_err();
    assert_eq!(g.read("/etc/os-release").unwrap(), OS_RELEASE);
    e
}

#[test]
fn ext4_hostile_cases() {
    let Some(base) = Base::make("ext4", &[]) else { return };
    let sb = 1024u64;
    let clean = attempt(&Patched::new(&base.bytes), "clean").unwrap();
    rest_reads(clean);

    // blocks_count past the partition: refused at open, before anything else is read.
    let e = attempt(Patched::new(&base.bytes).u32(sb + 4, 0x0100_0000), "blocks_count_past_volume").err().unwrap();
    assert!(matches!(e, ImageError::BadField { .. }), "{e}");
    // 64-bit high half.
    let e = attempt(Patched::new(&base.bytes).u32(sb + 0x150, 1), "blocks_count_hi").err().unwrap();
    assert!(matches!(e, ImageError::BadField { .. }), "{e}");
    // Zero and absurd geometry.
    for (at, v, case) in [
        (0x20u64, 0u32, "blocks_per_group_0"),
        (0x28, 0, "inodes_per_group_0"),
        (0x18, 40, "log_block_size_40"),
        (0x0, 0xFFFF_FFFF, "inodes_count_huge"),
    ] {
        let e = attempt(Patched::new(&base.bytes).u32(sb + at, v), case).err().unwrap();
        assert!(matches!(e, ImageError::BadField { .. }), "{case}: {e}");
    }
    let e = attempt(Patched::new(&base.bytes).u16(sb + 0x58, 100), "inode_size_100").err().unwrap();
    assert!(matches!(e, ImageError::BadField { .. }), "{e}");
    let e = attempt(Patched::new(&base.bytes).u32(sb + 0x60, 0x8000_02C2), "unknown_incompat").err().unwrap();
    assert!(matches!(e, ImageError::Unsupported(_)), "{e}");

    // Truncated images: a typed error at open.
    for cut in [0u64, 1000, 2047, 4096, 1 << 20, 32 << 20, (64 << 20) - 1] {
        let mut v = Patched::new(&base.bytes);
        v.len = cut;
        let e = attempt(&v, &format!("truncated_{cut}")).err().unwrap();
        assert!(matches!(e, ImageError::Truncated { .. } | ImageError::BadField { .. }), "{cut}: {e}");
    }

    let (bad_at, bad_ino) = base.inode_at("/etc/bad");
    let iblock = bad_at + 0x28;
    // Extent tree depth 65,535 in the root.
    let fs = attempt(Patched::new(&base.bytes).u16(iblock + 6, 0xFFFF), "extent_depth_65535").unwrap();
    assert!(matches!(bad_file(fs), ImageError::BadField { .. }));
    // An extent-tree cycle: the root indexes a node that indexes itself.
    let node = base.first_block("/etc/bad");
    let node_at = node * base.block;
    let mut v = Patched::new(&base.bytes);
    v.put(iblock, &[0x0A, 0xF3, 1, 0, 4, 0, 1, 0, 0, 0, 0, 0])
        .u32(iblock + 12, 0)
        .u32(iblock + 16, node as u32)
        .u16(iblock + 20, 0);
    v.put(node_at, &[0x0A, 0xF3, 1, 0, 0x54, 1, 1, 0, 0, 0, 0, 0])
        .u32(node_at + 12, 0)
        .u32(node_at + 16, node as u32)
        .u16(node_at + 20, 0);
    let fs = attempt(&v, "extent_cycle").unwrap();
    assert!(matches!(bad_file(fs), ImageError::BadField { what: "ext4 extent tree node depth", .. }));
    // The same node claiming depth 0 after a root of depth 5: a leaf whose extent points at
    // itself reads its own bytes, bounded.
    let mut v2 = v.clone();
    v2.u16(iblock + 6, 5);
    let fs = attempt(&v2, "extent_depth_skip").unwrap();
    assert!(matches!(bad_file(fs), ImageError::BadField { .. }));
    // Extent entries past the node, and a leaf pointing past the volume.
    let fs = attempt(Patched::new(&base.bytes).u16(iblock + 2, 200), "extent_entries_200").unwrap();
    bad_file(fs);
    let fs = attempt(Patched::new(&base.bytes).u32(iblock + 12 + 8, 0xFFFF_FF00), "extent_past_volume").unwrap();
    assert!(matches!(bad_file(fs), ImageError::BadField { .. }));

    // An inode claiming 2^60 bytes: refused whole, read at its end as zeros, quickly.
    let mut v = Patched::new(&base.bytes);
    v.u32(bad_at + 0x6C, 1 << 28).u32(bad_at + 4, 0);
    let mut fs = attempt(&v, "size_2_60").unwrap();
    assert_eq!(fs.stat(bad_ino).unwrap().size, 1 << 60);
    let mut buf = [1u8; 4096];
    assert_eq!(fs.read_at(bad_ino, (1 << 60) - 4096, &mut buf).unwrap(), 4096);
    assert!(buf.iter().all(|&b| b == 0));
    assert!(matches!(bad_file(fs), ImageError::LimitExceeded { .. }));

    // A directory whose entry points at itself.
    let (_, loop_ino) = base.inode_at("/etc/loop");
    let at = base.entry_at(b"selfloopentry");
    let mut v = Patched::new(&base.bytes);
    v.u32(at, loop_ino as u32);
    let fs = attempt(&v, "dir_entry_self").unwrap();
    let mut g = GuestView::new(Box::new(fs), Default::default());
    let deep = format!("/etc/loop{}", "/selfloopentry".repeat(100));
    assert_eq!(g.resolve(&deep).unwrap().kind, NodeKind::Dir);
    assert_eq!(g.read("/etc/os-release").unwrap(), OS_RELEASE);
    // An entry naming an inode past the table, and inode 0xFFFFFFFF.
    for (ino, case) in [(0xFFFF_FFF0u32, "entry_inode_past_table"), (0, "entry_inode_0")] {
        let mut v = Patched::new(&base.bytes);
        v.u32(base.entry_at(b"ghostentryxyz"), ino);
        let fs = attempt(&v, case).unwrap();
        let mut g = GuestView::new(Box::new(fs), Default::default());
        assert!(g.read("/etc/ghostentryxyz").is_err());
        assert_eq!(g.read("/etc/os-release").unwrap(), OS_RELEASE);
    }
    // A directory entry whose record length runs past its block.
    let mut v = Patched::new(&base.bytes);
    v.u16(base.entry_at(b"selfloopentry") + 4, 0xFFF0);
    let fs = attempt(&v, "dir_rec_len_past_block").unwrap();
    let mut g = GuestView::new(Box::new(fs), Default::default());
    assert!(matches!(g.list("/etc/loop"), Err(ImageError::Corrupt { .. })));
    rest_reads_view(&mut g);

    // A directory whose extents map two logical blocks to one block.
    let (many_at, _) = base.inode_at("/etc/many");
    let first = base.first_block("/etc/many") as u32;
    let root = many_at + 0x28;
    let mut v = Patched::new(&base.bytes);
    v.put(root, &[0x0A, 0xF3, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0]);
    v.u32(root + 12, 0).u16(root + 16, 1).u16(root + 18, 0).u32(root + 20, first);
    v.u32(root + 24, 1).u16(root + 28, 1).u16(root + 30, 0).u32(root + 32, first);
    let fs = attempt(&v, "dir_block_twice").unwrap();
    let mut g = GuestView::new(Box::new(fs), Default::default());
    assert!(matches!(g.list("/etc/many"), Err(ImageError::Corrupt { .. })));
    rest_reads_view(&mut g);

    // Bad group descriptors: group 0's inode table past the volume (nothing reads: the root is
    // there), the last group's (the rest still reads).
    let gdt = base.block; // 4 KiB blocks: the descriptors follow the superblock's block.
    let e = attempt(Patched::new(&base.bytes).u32(gdt + 8, 0xFFFF_FFF0), "gd0_inode_table_past_volume").err().unwrap();
    assert!(matches!(e, ImageError::BadField { .. }), "{e}");
    let e = attempt(Patched::new(&base.bytes).u32(gdt + 8, 0), "gd0_inode_table_at_0").err();
    eprintln!("gd0 at block 0: {e:?}");
    let fs = attempt(
        Patched::new(&base.bytes).u32(gdt + 64 + 8, 0xFFFF_FFF0).u32(gdt + 64 + 0x28, 0xFFFF),
        "gd1_inode_table_past_volume",
    )
    .unwrap();
    rest_reads(fs);

    // The 1 TiB sparse file reads chunk by chunk, never whole.
    let clean = attempt(&Patched::new(&base.bytes), "sparse_1tib").unwrap();
    sparse_1tib(clean);
    let _ = std::fs::remove_dir_all(&base.dir);
}

fn rest_reads_view(g: &mut GuestView<'_>) {
    assert_eq!(g.read("/etc/os-release").unwrap(), OS_RELEASE);
    assert_eq!(g.read("/etc/hostname").unwrap(), b"web-07\n");
}

fn sparse_1tib(fs: Ext4Fs) {
    let t = Instant::now();
    let mut g = GuestView::new(Box::new(fs), Default::default());
    assert_eq!(g.resolve("/var/huge").unwrap().size, 1 << 40);
    assert!(matches!(g.read("/var/huge"), Err(ImageError::LimitExceeded { .. })));
    let mut buf = vec![7u8; 1 << 20];
    for off in [0u64, 1 << 30, 1 << 39, (1 << 40) - (1 << 20)] {
        assert_eq!(g.read_at("/var/huge", off, &mut buf).unwrap(), 1 << 20);
    }
    assert_eq!(&buf[buf.len() - 4..], b"last");
    assert!(buf[..buf.len() - 4].iter().all(|&b| b == 0));
    if t.elapsed() > SLOW {
        eprintln!("slow hostile case: {:?}", t.elapsed());
    }
}

#[test]
fn ext2_hostile_cases() {
    let Some(base) = Base::make("ext2", &["-O", "large_file"]) else { return };
    let clean = attempt(&Patched::new(&base.bytes), "ext2_clean").unwrap();
    rest_reads(clean);
    let clean = attempt(&Patched::new(&base.bytes), "ext2_sparse_1tib").unwrap();
    sparse_1tib(clean);
    // Indirect pointers past the volume and looping back to the indirect block itself.
    let (bad_at, _) = base.inode_at("/etc/bad");
    let fs = attempt(Patched::new(&base.bytes).u32(bad_at + 0x28, 0xFFFF_FFF0), "ext2_block_past_volume").unwrap();
    assert!(matches!(bad_file(fs), ImageError::BadField { .. }));
    let (huge_at, _) = base.inode_at("/var/huge");
    let triple = u32::from_le_bytes(base.bytes[(huge_at + 0x28 + 14 * 4) as usize..][..4].try_into().unwrap());
    let mut v = Patched::new(&base.bytes);
    for i in 0..1024u64 {
        v.u32(u64::from(triple) * base.block + i * 4, triple);
    }
    let fs = attempt(&v, "ext2_indirect_self").unwrap();
    let mut g = GuestView::new(Box::new(fs), Default::default());
    let mut buf = vec![0u8; 1 << 16];
    let _ = g.read_at("/var/huge", (1 << 40) - (1 << 16), &mut buf);
    rest_reads_view(&mut g);
    let _ = std::fs::remove_dir_all(&base.dir);
}

/// Byte flips in the metadata of a real image (superblock, descriptors, the inode table's first
/// blocks, the root's, /etc's and /etc/many's directory blocks, an extent index block), and
/// truncations: never a panic, a slow case or a huge allocation.
#[test]
fn ext4_byte_flips() {
    for (kind, extra) in
        [("ext4", &[][..]), ("ext4", &["-O", "inline_data"][..]), ("ext2", &["-b", "1024", "-O", "large_file"][..])]
    {
        let Some(base) = Base::make(kind, extra) else { return };
        let bs = base.block;
        let (inode2, _) = base.inode_at("/");
        let mut regions = vec![(1024u64, 1024u64), (bs.max(2048), bs), (inode2 - inode2 % bs, 8 * bs)];
        for p in ["/", "/etc", "/etc/many"] {
            let b = base.first_block(p);
            if b != 0 {
                regions.push((b * bs, bs));
            }
        }
        if kind == "ext4" {
            regions.push((base.first_block("/var/lib/fragmented.bin") * bs, bs));
        }
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (mut opened, mut refused) = (0, 0);
        let t = Instant::now();
        for i in 0..300 {
            let mut v = Patched::new(&base.bytes);
            for _ in 0..1 + next() % 8 {
                let (start, len) = regions[(next() % regions.len() as u64) as usize];
                let at = start + next() % len;
                let b = v.get(at) ^ (1 << (next() % 8)) as u8;
                v.put(at, &[if next() % 4 == 0 { 0xFF } else { b }]);
            }
            if i % 30 == 29 {
                v.len = next() % v.len;
            }
            match attempt(&v, &format!("{kind}_flip_{i}")) {
                Ok(_) => opened += 1,
                Err(_) => refused += 1,
            }
        }
        eprintln!(
            "{kind} {extra:?}: 300 flipped images, {opened} opened and walked, {refused} refused, in {:?}",
            t.elapsed()
        );
        let _ = std::fs::remove_dir_all(&base.dir);
    }
}
