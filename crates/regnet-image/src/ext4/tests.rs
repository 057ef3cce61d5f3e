#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
use super::*;

/// A volume held in memory.
pub(super) struct Mem(pub Vec<u8>);

impl Volume for Mem {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let s = offset as usize;
        let src = self.0.get(s..s + buf.len()).ok_or(ImageError::OutOfRange {
            what: "mem",
            offset,
            len: buf.len() as u64,
            size: self.0.len() as u64,
        })?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

#[test]
fn probe_needs_the_magic() {
    assert!(!probe(&mut Mem(vec![0; 100])).unwrap());
    let mut v = vec![0u8; 4096];
    assert!(!probe(&mut Mem(v.clone())).unwrap());
    v[1080] = 0x53;
    v[1081] = 0xEF;
    assert!(probe(&mut Mem(v)).unwrap());
}

/// A superblock of a 64 MiB ext4 volume with 4 KiB blocks, as mke2fs writes the fields read here.
fn sb_bytes() -> Vec<u8> {
    let mut s = vec![0u8; 1024];
    let put = |s: &mut Vec<u8>, at: usize, v: u32| s[at..at + 4].copy_from_slice(&v.to_le_bytes());
    put(&mut s, 0x00, 16384); // inodes
    put(&mut s, 0x04, 16384); // blocks
    put(&mut s, 0x18, 2); // 4 KiB
    put(&mut s, 0x20, 32768);
    put(&mut s, 0x28, 16384);
    s[0x38..0x3A].copy_from_slice(&0xEF53u16.to_le_bytes());
    s[0x3A] = 1;
    put(&mut s, 0x4C, 1);
    s[0x58..0x5A].copy_from_slice(&256u16.to_le_bytes());
    put(&mut s, 0x60, superblock::INCOMPAT_FILETYPE | superblock::INCOMPAT_EXTENTS);
    s
}

fn sb_with(f: impl FnOnce(&mut Vec<u8>)) -> Result<Superblock> {
    let mut s = sb_bytes();
    f(&mut s);
    Superblock::parse(&s, 64 << 20)
}

#[test]
fn superblock_checks() {
    let sb = sb_with(|_| {}).unwrap();
    assert_eq!((sb.block_size, sb.groups, sb.desc_size), (4096, 1, 32));
    assert_eq!(sb.label(), None);
    assert!(matches!(sb_with(|s| s[0x38] = 0), Err(ImageError::BadSignature { .. })));
    for bit in
        [superblock::INCOMPAT_COMPRESSION, superblock::INCOMPAT_JOURNAL_DEV, superblock::INCOMPAT_DIRDATA, 1 << 30]
    {
        let r = sb_with(|s| s[0x60..0x64].copy_from_slice(&bit.to_le_bytes()));
        assert!(matches!(r, Err(ImageError::Unsupported(_))), "{bit:#x}");
    }
    assert!(matches!(sb_with(|s| s[0x14] = 5), Err(ImageError::BadField { what: "s_first_data_block", .. })));
    // 64bit with a bad descriptor size.
    let r = sb_with(|s| {
        s[0x60] |= superblock::INCOMPAT_64BIT as u8;
        s[0xFE] = 48;
    });
    assert!(matches!(r, Err(ImageError::BadField { what: "s_desc_size", .. })));
    // Revision 0: 128-byte inodes, no feature fields.
    let sb = sb_with(|s| {
        s[0x4C] = 0;
        s[0x60] = 0xFF;
    })
    .unwrap();
    assert_eq!((sb.inode_size, sb.incompat), (128, 0));
    // Superblock backups.
    let mut sb = sb_with(|_| {}).unwrap();
    assert!(sb.group_has_super(0) && sb.group_has_super(1) && sb.group_has_super(2));
    sb.ro_compat = superblock::RO_COMPAT_SPARSE_SUPER;
    let with: Vec<u64> = (0..100).filter(|&g| sb.group_has_super(g)).collect();
    assert_eq!(with, [0, 1, 3, 5, 7, 9, 25, 27, 49, 81]);
    assert!(!sb.group_has_super(u64::MAX));
    sb.compat = superblock::COMPAT_SPARSE_SUPER2;
    sb.backup_bgs = [1, 40];
    let with: Vec<u64> = (0..100).filter(|&g| sb.group_has_super(g)).collect();
    assert_eq!(with, [0, 1, 40]);
    // A descriptor past the file system.
    assert!(sb.descriptor_location(1 << 40).is_none());
}

#[test]
fn directory_entries() {
    let mut block = vec![0u8; 64];
    let entry = |b: &mut Vec<u8>, at: usize, ino: u32, rec: u16, name: &[u8]| {
        b[at..at + 4].copy_from_slice(&ino.to_le_bytes());
        b[at + 4..at + 6].copy_from_slice(&rec.to_le_bytes());
        b[at + 6] = name.len() as u8;
        b[at + 7] = 1;
        b[at + 8..at + 8 + name.len()].copy_from_slice(name);
    };
    entry(&mut block, 0, 5, 16, b"abc");
    entry(&mut block, 16, 0, 16, b"gone");
    entry(&mut block, 32, 6, 32, b"def");
    let mut names = Vec::new();
    assert!(!dir::for_each(&block, 0, true, &mut |e| {
        names.push((e.ino, e.name.to_vec(), e.file_type));
        false
    })
    .unwrap());
    assert_eq!(names, [(5, b"abc".to_vec(), 1), (6, b"def".to_vec(), 1)]);
    // Without file types the name length is 16 bits (here 0x0103: past the record).
    assert!(dir::for_each(&block, 0, false, &mut |_| false).is_err());
    for (rec, what) in [(6u16, "short"), (18, "odd"), (200, "past the block")] {
        let mut b = block.clone();
        b[4..6].copy_from_slice(&rec.to_le_bytes());
        assert!(matches!(dir::for_each(&b, 0, true, &mut |_| false), Err(ImageError::Corrupt { .. })), "{what}");
    }
    let mut b = block.clone();
    b[6] = 20;
    assert!(dir::for_each(&b, 0, true, &mut |_| false).is_err());
    // A 64 KiB block's single entry stores its length as 0.
    let mut big = vec![0u8; 65536];
    entry(&mut big, 0, 7, 0, b"x");
    let mut n = 0;
    dir::for_each(&big, 0, true, &mut |_| {
        n += 1;
        true
    })
    .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn extent_nodes() {
    let mut node = vec![0u8; 60];
    let hdr = |n: &mut Vec<u8>, entries: u16, max: u16, depth: u16| {
        n[0..2].copy_from_slice(&0xF30Au16.to_le_bytes());
        n[2..4].copy_from_slice(&entries.to_le_bytes());
        n[4..6].copy_from_slice(&max.to_le_bytes());
        n[6..8].copy_from_slice(&depth.to_le_bytes());
    };
    hdr(&mut node, 2, 4, 1);
    // Index entries starting at logical blocks 10 and 20.
    node[12..16].copy_from_slice(&10u32.to_le_bytes());
    node[16..20].copy_from_slice(&100u32.to_le_bytes());
    node[24..28].copy_from_slice(&20u32.to_le_bytes());
    node[28..32].copy_from_slice(&200u32.to_le_bytes());
    let (e, _, d) = inode::extent_header(&node, 0).unwrap();
    assert!(matches!(inode::extent_step(&node, e, d, 3, 50), Some(Step::Leaf(Run::Zeros { count: 7 }))));
    assert!(matches!(inode::extent_step(&node, e, d, 12, 50), Some(Step::Child { pblk: 100, next_start: Some(20) })));
    assert!(matches!(inode::extent_step(&node, e, d, 25, 50), Some(Step::Child { pblk: 200, next_start: None })));
    assert!(matches!(inode::extent_step(&node, 0, d, 25, 50), Some(Step::Leaf(Run::Zeros { count: 25 }))));
    // Leaves: an unwritten extent reads as zeros.
    hdr(&mut node, 1, 4, 0);
    node[12..16].copy_from_slice(&0u32.to_le_bytes());
    node[16..18].copy_from_slice(&(32768u16 + 5).to_le_bytes());
    assert!(matches!(inode::extent_step(&node, 1, 0, 2, 50), Some(Step::Leaf(Run::Zeros { count: 3 }))));
    assert!(matches!(inode::extent_step(&node, 1, 0, 9, 50), Some(Step::Leaf(Run::Zeros { count: 41 }))));
    // Bad headers.
    assert!(matches!(inode::extent_header(&[0u8; 12], 0), Err(ImageError::BadSignature { .. })));
    hdr(&mut node, 5, 4, 0);
    assert!(matches!(inode::extent_header(&node, 0), Err(ImageError::BadField { .. })));
    hdr(&mut node, 1, 4, 6);
    assert!(matches!(inode::extent_header(&node, 0), Err(ImageError::BadField { .. })));
}

#[test]
fn inline_attributes() {
    let mut raw = vec![0u8; 256];
    raw[0..2].copy_from_slice(&0x81A4u16.to_le_bytes());
    raw[4..8].copy_from_slice(&64u32.to_le_bytes());
    raw[0x20..0x24].copy_from_slice(&inode::FLAG_INLINE_DATA.to_le_bytes());
    raw[0x80..0x82].copy_from_slice(&32u16.to_le_bytes());
    // No attribute area: an inline file larger than i_block is corrupt.
    assert!(Inode::parse(12, 0, &raw, true).is_err());
    assert!(Inode::parse(12, 0, &raw, false).is_err());
    // system.data with 4 bytes, after an unrelated attribute.
    let at = 160;
    raw[at..at + 4].copy_from_slice(&0xEA02_0000u32.to_le_bytes());
    let e1 = at + 4;
    raw[e1] = 3;
    raw[e1 + 1] = 1;
    raw[e1 + 16..e1 + 19].copy_from_slice(b"foo");
    let e2 = e1 + 20;
    raw[e2] = 4;
    raw[e2 + 1] = 7;
    raw[e2 + 2..e2 + 4].copy_from_slice(&60u16.to_le_bytes());
    raw[e2 + 8..e2 + 12].copy_from_slice(&4u32.to_le_bytes());
    raw[e2 + 16..e2 + 20].copy_from_slice(b"data");
    raw[e1 + 60..e1 + 64].copy_from_slice(b"WXYZ");
    let i = Inode::parse(12, 0, &raw, true).unwrap();
    assert_eq!(i.inline_tail, b"WXYZ");
    assert_eq!(i.inline_bytes().count(), 64);
    // A value in another inode is refused.
    raw[e2 + 4] = 9;
    assert!(Inode::parse(12, 0, &raw, true).is_err());
}

/// A volume made by mke2fs (skipped when it is missing).
fn mkfs(extra: &[&str], files: &[(&str, &[u8])]) -> Option<Vec<u8>> {
    let dir = std::env::temp_dir().join(format!("regnet-ext4-unit-{}-{}", std::process::id(), extra.join("_")));
    let _ = std::fs::remove_dir_all(&dir);
    let stage = dir.join("s");
    std::fs::create_dir_all(&stage).unwrap();
    for (p, d) in files {
        let p = stage.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, d).unwrap();
    }
    let img = dir.join("i");
    let ok = std::process::Command::new("mke2fs")
        .args(["-q", "-F", "-b", "1024", "-d"])
        .arg(&stage)
        .args(extra)
        .arg(&img)
        .arg("2M")
        .output()
        .is_ok_and(|o| o.status.success());
    let out = ok.then(|| std::fs::read(&img).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
    if out.is_none() {
        eprintln!("skipped: mke2fs is not available");
    }
    out
}

#[test]
fn volume_level_bounds_and_errors() {
    let Some(img) = mkfs(&["-t", "ext4", "-L", "unit"], &[("etc/a", b"hello"), ("d/x", b"1"), ("d/y", b"2")]) else {
        return;
    };
    let mut fs = Ext4Fs::open(Box::new(Mem(img.clone())), &ImageLimits::default()).unwrap();
    assert_eq!(fs.label().as_deref(), Some("unit"));
    assert_eq!(fs.uuid_string().len(), 36);
    assert_eq!(fs.uuid().len(), 16);
    assert_eq!(fs.block_size(), 1024);
    assert!(format!("{fs:?}").contains("unit"));
    assert!(fs.bytes_read() > 0);
    let etc = fs.lookup(2, b"etc").unwrap().unwrap();
    let d = fs.lookup(2, b"d").unwrap().unwrap();
    let a = fs.lookup(etc, b"a").unwrap().unwrap();
    assert_eq!(fs.lookup(etc, b"nope").unwrap(), None);
    assert!(matches!(fs.read_dir(d, 1), Err(ImageError::LimitExceeded { .. })));
    assert_eq!(fs.read_dir(d, 2).unwrap().len(), 2);
    assert!(matches!(fs.read_dir(a, 10), Err(ImageError::BadField { .. })));
    assert!(matches!(fs.read_link(a, 10), Err(ImageError::BadField { .. })));
    assert!(fs.stat(0).is_err() && fs.stat(u64::MAX).is_err());
    let mut buf = [0u8; 16];
    assert_eq!(fs.read_at(a, 1, &mut buf).unwrap(), 4);
    assert_eq!(&buf[..4], b"ello");

    // The read budget and the directory bound.
    let l = ImageLimits { max_ext4_read_bytes: 2500, ..Default::default() };
    assert!(matches!(
        Ext4Fs::open(Box::new(Mem(img.clone())), &l).and_then(|mut f| f.read_dir(2, 100)),
        Err(ImageError::LimitExceeded { limit: "max_ext4_read_bytes", .. })
    ));
    let l = ImageLimits { max_ext4_dir_bytes: 100, ..Default::default() };
    let mut f = Ext4Fs::open(Box::new(Mem(img.clone())), &l).unwrap();
    assert!(matches!(f.read_dir(2, 100), Err(ImageError::LimitExceeded { limit: "max_ext4_dir_bytes", .. })));

    // Warnings from the superblock's state and features.
    let mut v = img.clone();
    v[1024 + 0x60] |= superblock::INCOMPAT_RECOVER as u8;
    v[1024 + 0x3A] = 3;
    let f = Ext4Fs::open(Box::new(Mem(v.clone())), &ImageLimits::default()).unwrap();
    assert_eq!(f.warnings().len(), 2, "{:?}", f.warnings());
    v[1024 + 0x60] &= !(superblock::INCOMPAT_RECOVER as u8);
    v[1024 + 0x3A] = 0;
    let f = Ext4Fs::open(Box::new(Mem(v)), &ImageLimits::default()).unwrap();
    assert_eq!(f.warnings().len(), 1);

    // Too small for a superblock.
    assert!(matches!(Ext4Fs::open(Box::new(Mem(vec![0; 100])), &l), Err(ImageError::Truncated { .. })));
}

#[test]
fn encrypted_uninit_and_block_maps() {
    let Some(img) = mkfs(&["-t", "ext2"], &[("f", &[7u8; 3000])]) else { return };
    let mut fs = Ext4Fs::open(Box::new(Mem(img.clone())), &ImageLimits::default()).unwrap();
    let f = fs.lookup(2, b"f").unwrap().unwrap();
    let inode = fs.inode(f).unwrap();
    // Past what 1 KiB block maps address, and inside a missing indirect block.
    assert_eq!(fs.map_blocks(&inode, u64::MAX / 2).unwrap(), Run::Zeros { count: u64::MAX });
    assert!(matches!(fs.map_blocks(&inode, 12).unwrap(), Run::Zeros { count: 256 }));
    assert!(matches!(fs.map_blocks(&inode, 12 + 256 + 5).unwrap(), Run::Zeros { count: 65531 }));
    assert!(matches!(fs.map_blocks(&inode, 1).unwrap(), Run::Mapped { count: 1, .. }));
    // Encrypted: refused.
    let mut enc = inode.clone();
    enc.flags |= inode::FLAG_ENCRYPT;
    assert!(matches!(fs.read_inode(&enc, 0, &mut [0u8; 4]), Err(ImageError::Unsupported(_))));
    enc.mode = Mode::Dir;
    assert!(matches!(fs.scan_dir(&enc, &mut |_| false), Err(ImageError::Unsupported(_))));
    // A damaged extent root on a file flagged for extents.
    let mut ext = inode.clone();
    ext.flags |= inode::FLAG_EXTENTS;
    assert!(fs.read_inode(&ext, 0, &mut [0u8; 4]).is_err());
    // An uninitialised inode table reads as unused inodes (with group checksums on).
    let Some(img) = mkfs(&["-t", "ext4", "-g", "256", "-O", "^has_journal"], &[("g", b"x")]) else { return };
    let mut v = img.clone();
    v[1024 + 0x64] |= superblock::RO_COMPAT_GDT_CSUM as u8;
    let desc = 2048usize; // 1 KiB blocks: descriptors in block 2.
    let last_group = 1usize;
    v[desc + 64 * last_group + 0x12] |= BG_INODE_UNINIT as u8;
    v[desc + 32 * last_group + 0x12] |= BG_INODE_UNINIT as u8;
    let mut fs = Ext4Fs::open(Box::new(Mem(v)), &ImageLimits::default()).unwrap();
    let ipg = fs.sb.inodes_per_group;
    assert!(fs.sb.groups > 1);
    assert_eq!(fs.stat(ipg + 1).unwrap().kind, NodeKind::Other);
}

#[test]
fn index_nodes_lookups_and_journal_flags() {
    let Some(mut img) = mkfs(&["-t", "ext4", "-O", "^has_journal"], &[("f", b"12345")]) else { return };
    // A leaf in the volume's last block (free in a 2 MiB volume with one small file) mapping
    // logical block 0 to block 2046, and a root of two index entries both pointing at it.
    let leaf = 2047usize * 1024;
    img[leaf..leaf + 12].copy_from_slice(&[0x0A, 0xF3, 1, 0, 84, 0, 0, 0, 0, 0, 0, 0]);
    img[leaf + 12..leaf + 16].copy_from_slice(&0u32.to_le_bytes());
    img[leaf + 16..leaf + 18].copy_from_slice(&1u16.to_le_bytes());
    img[leaf + 20..leaf + 24].copy_from_slice(&2046u32.to_le_bytes());
    img[2046 * 1024..2046 * 1024 + 4].copy_from_slice(b"DATA");
    // The recovery flag on a volume without a journal.
    img[1024 + 0x60] |= superblock::INCOMPAT_RECOVER as u8;
    let mut fs = Ext4Fs::open(Box::new(Mem(img)), &ImageLimits::default()).unwrap();
    assert_eq!(fs.warnings().len(), 2, "{:?}", fs.warnings());
    let f = fs.lookup(2, b"f").unwrap().unwrap();
    let mut inode = fs.inode(f).unwrap();
    let mut root = [0u8; 60];
    root[..12].copy_from_slice(&[0x0A, 0xF3, 2, 0, 4, 0, 1, 0, 0, 0, 0, 0]);
    root[16..20].copy_from_slice(&2047u32.to_le_bytes());
    root[24..28].copy_from_slice(&5u32.to_le_bytes());
    root[28..32].copy_from_slice(&2047u32.to_le_bytes());
    inode.block = root;
    inode.size = 10 * 1024;
    assert_eq!(fs.map(&inode, 0, 10).unwrap(), Run::Mapped { pblk: 2046, count: 1 });
    assert_eq!(fs.map(&inode, 2, 10).unwrap(), Run::Zeros { count: 3 });
    assert_eq!(fs.map(&inode, 6, 10).unwrap(), Run::Zeros { count: 4 });
    let mut buf = [0u8; 6];
    assert_eq!(fs.read_inode(&inode, 0, &mut buf).unwrap(), 6);
    assert_eq!(&buf, b"DATA\0\0");
    // More lookups than are remembered.
    for i in 0..300u32 {
        assert_eq!(fs.lookup(2, format!("n{i}").as_bytes()).unwrap(), None);
    }
    assert_eq!(fs.lookup(2, b"f").unwrap(), Some(f));
    assert_eq!(fs.lookups.len(), LOOKUPS_REMEMBERED);
}

/// A journal of `n` 1 KiB blocks held in memory, big-endian fields.
struct Jnl(Vec<Vec<u8>>);

impl Jnl {
    fn new(n: usize) -> Self {
        Jnl(vec![vec![0u8; 1024]; n])
    }
    fn put(&mut self, block: usize, at: usize, v: u32) -> &mut Self {
        self.0[block][at..at + 4].copy_from_slice(&v.to_be_bytes());
        self
    }
    fn header(&mut self, block: usize, kind: u32, seq: u32) -> &mut Self {
        self.put(block, 0, 0xC03B_3998).put(block, 4, kind).put(block, 8, seq)
    }
    fn superblock(&mut self, maxlen: u32, start: u32, seq: u32, incompat: u32) -> &mut Self {
        self.header(0, 4, 0)
            .put(0, 0x0C, 1024)
            .put(0, 0x10, maxlen)
            .put(0, 0x14, 1)
            .put(0, 0x18, seq)
            .put(0, 0x1C, start);
        self.put(0, 0x28, incompat)
    }
    fn replay(&self, max: usize) -> Result<journal::Replay> {
        let g = journal::parse_superblock(&self.0[0], 1024, self.0.len() as u64)?.unwrap();
        journal::replay(g, 1024, max, &mut |j| Ok(self.0[j as usize].clone()))
    }
}

#[test]
fn journal_walks() {
    // Clean journals and bad superblocks.
    let mut j = Jnl::new(8);
    j.superblock(8, 0, 1, 0);
    assert!(journal::parse_superblock(&j.0[0], 1024, 8).unwrap().is_none());
    assert!(journal::parse_superblock(&j.0[0], 4096, 8).is_err());
    assert!(journal::parse_superblock(&j.0[1], 1024, 8).is_err());
    j.superblock(9, 1, 1, 0);
    assert!(journal::parse_superblock(&j.0[0], 1024, 8).is_err());
    j.superblock(8, 9, 1, 0);
    assert!(journal::parse_superblock(&j.0[0], 1024, 8).is_err());
    j.superblock(8, 1, 1, 0x20);
    assert!(matches!(journal::parse_superblock(&j.0[0], 1024, 8), Err(ImageError::Unsupported(_))));

    // Two transactions (32-bit tags, no checksums): block 100 twice, block 200 once, then a
    // revoke of 200 in transaction 2; a third, uncommitted transaction is ignored.
    let mut j = Jnl::new(12);
    j.superblock(12, 1, 5, 0x1);
    j.header(1, 1, 5).put(1, 12, 100).put(1, 16, 0x2).put(1, 20, 200).put(1, 24, 0x0000_000A); // same uuid + last
    j.header(4, 2, 5);
    j.header(5, 1, 6).put(5, 12, 100).put(5, 16, 0x0000_000B); // escaped, same uuid, last
    j.header(7, 5, 6).put(7, 12, 20).put(7, 16, 200);
    j.header(8, 2, 6);
    j.header(9, 1, 7).put(9, 12, 300).put(9, 16, 0x8);
    let r = j.replay(100).unwrap();
    assert_eq!(r.transactions, 2);
    assert_eq!(r.copies.len(), 1);
    assert_eq!(r.copies[&100], journal::Copy { journal_block: 6, escaped: true, sequence: 6 });
    // Copies are bounded.
    assert!(matches!(j.replay(0), Err(ImageError::LimitExceeded { .. })));

    // A descriptor whose tags run round the log: the walk stops after one round.
    let mut j = Jnl::new(6);
    j.superblock(6, 1, 1, 0x2 | 0x10);
    j.header(1, 1, 1);
    for i in 0..60 {
        j.put(1, 12 + 16 * i, i as u32).put(1, 16 + 16 * i, 0x2);
    }
    let r = j.replay(1000).unwrap();
    assert_eq!((r.transactions, r.copies.len()), (0, 0));
    // Commits all the way round, with a sequence that matches each time: one round only.
    let mut j = Jnl::new(6);
    j.superblock(6, 1, 1, 0);
    for b in 1..6 {
        j.header(b, 2, b as u32);
    }
    assert_eq!(j.replay(10).unwrap().transactions, 5);
    // Two one-block transactions where one copy is allowed; an unknown block type ends the log.
    let mut j = Jnl::new(8);
    j.superblock(8, 1, 1, 0);
    j.header(1, 1, 1).put(1, 12, 10).put(1, 16, 0xA);
    j.header(3, 2, 1);
    j.header(4, 1, 2).put(4, 12, 11).put(4, 16, 0xA);
    j.header(6, 2, 2);
    assert!(matches!(j.replay(1), Err(ImageError::LimitExceeded { .. })));
    j.header(4, 9, 2);
    assert_eq!(j.replay(1).unwrap().transactions, 1);
}
