//! Unit tests on tiny hand-built volumes: 2 AGs of 64 blocks of 4 KiB, 512-byte inodes, root
//! inode 64 (AG 0, block 8), a 4-block internal log at block 100.
#![allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::type_complexity,
    clippy::field_reassign_with_default
)]

use super::*;
use crate::guest::GuestView;

const BS: usize = 4096;

struct Mem(Vec<u8>);

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

struct Img {
    b: Vec<u8>,
    v5: bool,
}

fn put(b: &mut [u8], at: usize, v: &[u8]) {
    b[at..at + v.len()].copy_from_slice(v);
}

impl Img {
    fn new(v5: bool, ftype: bool) -> Img {
        let mut b = vec![0u8; 128 * BS];
        put(&mut b, 0, b"XFSB");
        put(&mut b, 4, &(BS as u32).to_be_bytes());
        put(&mut b, 8, &128u64.to_be_bytes());
        put(&mut b, 48, &100u64.to_be_bytes());
        put(&mut b, 56, &64u64.to_be_bytes());
        put(&mut b, 84, &64u32.to_be_bytes());
        put(&mut b, 88, &2u32.to_be_bytes());
        put(&mut b, 96, &4u32.to_be_bytes());
        let version: u16 = if v5 {
            0xb4a5
        } else if ftype {
            0xb4a4
        } else {
            0x34a4
        };
        put(&mut b, 100, &version.to_be_bytes());
        put(&mut b, 102, &512u16.to_be_bytes());
        put(&mut b, 104, &512u16.to_be_bytes());
        put(&mut b, 106, &8u16.to_be_bytes());
        put(&mut b, 108, b"tiny");
        b[120] = 12;
        b[121] = 9;
        b[122] = 9;
        b[123] = 3;
        b[124] = 6;
        if v5 {
            put(&mut b, 216, &u32::from(ftype).to_be_bytes());
        } else if ftype {
            put(&mut b, 200, &0x200u32.to_be_bytes());
        }
        Img { b, v5 }
    }

    fn core(&self) -> usize {
        if self.v5 {
            176
        } else {
            100
        }
    }

    fn inode_at(ino: u64) -> usize {
        let agno = ino >> 9;
        let agbno = (ino & 511) >> 3;
        ((agno * 64 + agbno) as usize) * BS + (ino as usize & 7) * 512
    }

    fn inode(&mut self, ino: u64, mode: u16, format: u8, size: u64, nextents: u32, fork: &[u8]) {
        let at = Self::inode_at(ino);
        let v5 = self.v5;
        let core = self.core();
        let b = &mut self.b;
        put(b, at, b"IN");
        put(b, at + 2, &mode.to_be_bytes());
        b[at + 4] = if v5 { 3 } else { 2 };
        b[at + 5] = format;
        put(b, at + 56, &size.to_be_bytes());
        put(b, at + 76, &nextents.to_be_bytes());
        if v5 {
            put(b, at + 152, &ino.to_be_bytes());
        }
        put(b, at + core, fork);
    }

    fn fs(self) -> Result<XfsFs> {
        XfsFs::open(Box::new(Mem(self.b)), &ImageLimits::default())
    }
}

fn rec(off: u64, start: u64, count: u64, unwritten: bool) -> [u8; 16] {
    let l0 = (u64::from(unwritten) << 63) | (off << 9) | (start >> 43);
    let l1 = (start << 21) | count;
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&l0.to_be_bytes());
    b[8..].copy_from_slice(&l1.to_be_bytes());
    b
}

/// A short-form directory fork: (name, ino, ftype).
fn short_dir(parent: u64, entries: &[(&str, u64, u8)], ftype: bool, wide: bool) -> Vec<u8> {
    let mut f = vec![entries.len() as u8, u8::from(wide)];
    if wide {
        f.extend_from_slice(&parent.to_be_bytes());
    } else {
        f.extend_from_slice(&(parent as u32).to_be_bytes());
    }
    for (name, ino, ft) in entries {
        f.push(name.len() as u8);
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(name.as_bytes());
        if ftype {
            f.push(*ft);
        }
        if wide {
            f.extend_from_slice(&ino.to_be_bytes());
        } else {
            f.extend_from_slice(&(*ino as u32).to_be_bytes());
        }
    }
    f
}

/// A directory data block holding `entries`, block form (with a leaf tail) or data form.
fn dir_block(v5: bool, ftype: bool, block_form: bool, entries: &[(&str, u64, u8)]) -> Vec<u8> {
    let mut b = vec![0u8; BS];
    let magic: &[u8; 4] = match (v5, block_form) {
        (true, true) => b"XDB3",
        (true, false) => b"XDD3",
        (false, true) => b"XD2B",
        (false, false) => b"XD2D",
    };
    put(&mut b, 0, magic);
    let mut pos = if v5 { 64 } else { 16 };
    let all: Vec<(&str, u64, u8)> = [(".", 64, 2), ("..", 64, 2)].into_iter().chain(entries.iter().copied()).collect();
    for (name, ino, ft) in &all {
        put(&mut b, pos, &ino.to_be_bytes());
        b[pos + 8] = name.len() as u8;
        put(&mut b, pos + 9, name.as_bytes());
        if ftype {
            b[pos + 9 + name.len()] = *ft;
        }
        pos += (9 + name.len() + usize::from(ftype) + 2).next_multiple_of(8);
    }
    let end = if block_form { BS - 8 - 8 * all.len() } else { BS };
    // The rest is one unused span.
    put(&mut b, pos, &0xffffu16.to_be_bytes());
    put(&mut b, pos + 2, &((end - pos) as u16).to_be_bytes());
    if block_form {
        put(&mut b, BS - 8, &(all.len() as u32).to_be_bytes());
    }
    b
}

const DIR: u16 = 0o040755;
const REG: u16 = 0o100644;
const LNK: u16 = 0o120777;

/// A volume of every shape: root short-form; /d block-form (block 20); /n data-form (block 21,
/// mapped at logical 1, a hole at 0, and a leaf block above 32 GiB that is skipped); /f a file
/// with a hole and an unwritten extent; /l an inline link; /r a remote link (block 22).
fn sample(v5: bool, ftype: bool) -> Img {
    let mut img = Img::new(v5, ftype);
    let root = short_dir(
        64,
        &[("d", 65, 2), ("n", 66, 2), ("f", 67, 1), ("l", 68, 7), ("r", 69, 7), ("dev", 70, 3), ("big", 71, 1)],
        ftype,
        false,
    );
    img.inode(64, DIR, 1, root.len() as u64, 0, &root);
    img.inode(65, DIR, 2, BS as u64, 1, &rec(0, 20, 1, false));
    put(&mut img.b, 20 * BS, &dir_block(v5, ftype, true, &[("inner", 67, 1), ("self", 65, 2)]));
    let leaf = (32u64 << 30) / BS as u64;
    let mut fork = rec(1, 21, 1, false).to_vec();
    fork.extend_from_slice(&rec(leaf, 23, 1, false));
    img.inode(66, DIR, 2, 2 * BS as u64, 2, &fork);
    put(&mut img.b, 21 * BS, &dir_block(v5, ftype, false, &[("x", 67, 1)]));
    let mut fork = rec(1, 30, 2, false).to_vec();
    fork.extend_from_slice(&rec(3, 32, 1, true));
    img.inode(67, REG, 2, 5 * BS as u64 - 100, 2, &fork);
    for (i, blk) in (30..33).enumerate() {
        img.b[blk * BS..(blk + 1) * BS].fill(b'a' + i as u8);
    }
    img.inode(68, LNK, 1, 8, 0, b"../f/etc");
    img.inode(69, LNK, 2, 1000, 1, &rec(0, 22, 1, false));
    let hdr = if v5 { 56 } else { 0 };
    if v5 {
        put(&mut img.b, 22 * BS, b"XSLM");
    }
    img.b[22 * BS + hdr..22 * BS + hdr + 1000].fill(b'z');
    img.inode(70, 0o020644, 0, 0, 0, &[]);
    img.inode(71, REG, 2, 1 << 60, 0, &[]);
    img
}

#[test]
fn every_shape_reads_on_v5_and_v4() {
    for (v5, ftype) in [(true, true), (false, true), (false, false)] {
        let img = sample(v5, ftype);
        let mut fs = img.fs().unwrap();
        assert_eq!(fs.kind(), FsKind::Xfs);
        assert_eq!(fs.label().as_deref(), Some("tiny"));
        assert!(fs.warnings().is_empty(), "{:?}", fs.warnings());
        assert!(format!("{fs:?}").contains("tiny"));
        let root = fs.root();
        let names: Vec<_> = fs.read_dir(root, 100).unwrap();
        assert_eq!(names.len(), 7);
        let kinds: Vec<_> = names.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                Some(NodeKind::Dir),
                Some(NodeKind::Dir),
                Some(NodeKind::File),
                Some(NodeKind::Symlink),
                Some(NodeKind::Symlink),
                Some(NodeKind::Other),
                Some(NodeKind::File)
            ],
            "v5 {v5} ftype {ftype}"
        );
        let d = fs.lookup(root, b"d").unwrap().unwrap();
        assert_eq!(fs.lookup(root, b"nothing").unwrap(), None);
        let inner: Vec<_> = fs.read_dir(d, 10).unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(inner, [b"inner".to_vec(), b"self".to_vec()]);
        assert_eq!(fs.lookup(d, b"self").unwrap(), Some(d));
        let n = fs.lookup(root, b"n").unwrap().unwrap();
        assert_eq!(fs.lookup(n, b"x").unwrap(), Some(67));
        assert!(matches!(fs.read_dir(d, 1), Err(ImageError::LimitExceeded { .. })));
        assert!(matches!(fs.read_dir(root, 3), Err(ImageError::LimitExceeded { .. })));

        let f = fs.lookup(root, b"f").unwrap().unwrap();
        let info = fs.stat(f).unwrap();
        assert_eq!((info.kind, info.size), (NodeKind::File, 5 * BS as u64 - 100));
        let mut all = vec![9u8; 6 * BS];
        assert_eq!(fs.read_at(f, 0, &mut all).unwrap(), 5 * BS - 100);
        assert!(all[..BS].iter().all(|&x| x == 0), "hole");
        assert!(all[BS..2 * BS].iter().all(|&x| x == b'a'));
        assert!(all[2 * BS..3 * BS].iter().all(|&x| x == b'b'));
        assert!(all[3 * BS..4 * BS].iter().all(|&x| x == 0), "unwritten");
        assert!(all[4 * BS..5 * BS - 100].iter().all(|&x| x == 0), "past the last extent");
        let mut small = [0u8; 10];
        assert_eq!(fs.read_at(f, 2 * BS as u64 - 5, &mut small).unwrap(), 10);
        assert_eq!(small, *b"aaaaabbbbb");
        assert_eq!(fs.read_at(f, 1 << 40, &mut small).unwrap(), 0);
        assert_eq!(fs.read_at(f, 0, &mut []).unwrap(), 0);

        let l = fs.lookup(root, b"l").unwrap().unwrap();
        assert_eq!(fs.stat(l).unwrap().kind, NodeKind::Symlink);
        assert_eq!(fs.read_link(l, 100).unwrap(), b"../f/etc");
        assert!(matches!(fs.read_link(l, 4), Err(ImageError::LimitExceeded { .. })));
        let r = fs.lookup(root, b"r").unwrap().unwrap();
        assert_eq!(fs.read_link(r, 4096).unwrap(), vec![b'z'; 1000]);
        // Wrong kinds are errors for that call.
        assert!(fs.read_link(f, 100).is_err());
        assert!(fs.read_at(d, 0, &mut small).is_err());
        assert!(fs.read_dir(f, 10).is_err());
        assert!(fs.lookup(l, b"x").is_err());
        let dev = fs.lookup(root, b"dev").unwrap().unwrap();
        assert_eq!(fs.stat(dev).unwrap().kind, NodeKind::Other);
        // 2^60 bytes with no extents: zeros, chunk by chunk, and refused whole by the view.
        let big = fs.lookup(root, b"big").unwrap().unwrap();
        let mut chunk = vec![1u8; 1 << 16];
        assert_eq!(fs.read_at(big, (1 << 60) - 10, &mut chunk).unwrap(), 10);
        assert!(chunk[..10].iter().all(|&x| x == 0));
        assert!(fs.bytes_read() > 0);
        let mut g = GuestView::new(Box::new(fs), Default::default());
        assert!(matches!(g.read("/big"), Err(ImageError::LimitExceeded { .. })));
        assert_eq!(g.read("/d/self/self/inner").unwrap().len(), 5 * BS - 100);
    }
}

#[test]
fn wide_short_form_and_local_files() {
    let mut img = Img::new(true, true);
    let root = short_dir(64, &[("a", 65, 1), ("b", 66, 1)], true, true);
    img.inode(64, DIR, 1, root.len() as u64, 0, &root);
    img.inode(65, REG, 1, 6, 0, b"hello!");
    img.inode(66, REG, 1, 600, 0, b"short");
    let mut fs = img.fs().unwrap();
    assert_eq!(fs.lookup(64, b"b").unwrap(), Some(66));
    let mut b = [0u8; 8];
    assert_eq!(fs.read_at(65, 0, &mut b).unwrap(), 6);
    assert_eq!(&b[..6], b"hello!");
    assert_eq!(fs.read_at(65, 2, &mut b).unwrap(), 4);
    assert_eq!(&b[..4], b"llo!");
    // A size past the fork reads the fork, then zeros.
    let mut b = vec![7u8; 600];
    assert_eq!(fs.read_at(66, 0, &mut b).unwrap(), 600);
    assert_eq!(&b[..5], b"short");
    assert!(b[336..].iter().all(|&x| x == 0));
    let mut b = [7u8; 4];
    assert_eq!(fs.read_at(66, 590, &mut b).unwrap(), 4);
    assert_eq!(b, [0; 4]);
}

fn broken(f: impl FnOnce(&mut Img)) -> XfsFs {
    let mut img = sample(true, true);
    f(&mut img);
    img.fs().unwrap()
}

#[test]
fn broken_inodes_and_forks_fail_alone() {
    let at = Img::inode_at;
    let cases: Vec<(&str, Box<dyn FnOnce(&mut Img)>, u64)> = vec![
        ("bad magic", Box::new(|i: &mut Img| put(&mut i.b, at(67), b"XX")), 67),
        ("version 9", Box::new(|i: &mut Img| i.b[at(67) + 4] = 9), 67),
        ("v3 di_ino of another", Box::new(|i: &mut Img| put(&mut i.b, at(67) + 152, &5u64.to_be_bytes())), 67),
        ("forkoff past the inode", Box::new(|i: &mut Img| i.b[at(67) + 82] = 255), 67),
        ("format dev for a file", Box::new(|i: &mut Img| i.b[at(67) + 5] = 0), 67),
        ("realtime", Box::new(|i: &mut Img| put(&mut i.b, at(67) + 90, &1u16.to_be_bytes())), 67),
        ("too many extents", Box::new(|i: &mut Img| put(&mut i.b, at(67) + 76, &1000u32.to_be_bytes())), 67),
        (
            "nrext64 count",
            Box::new(|i: &mut Img| {
                put(&mut i.b, at(67) + 120, &16u64.to_be_bytes());
                put(&mut i.b, at(67) + 24, &u64::MAX.to_be_bytes());
            }),
            67,
        ),
        ("link size 0", Box::new(|i: &mut Img| put(&mut i.b, at(68) + 56, &0u64.to_be_bytes())), 68),
        ("link size 2000", Box::new(|i: &mut Img| put(&mut i.b, at(69) + 56, &2000u64.to_be_bytes())), 69),
        ("inline link past the fork", Box::new(|i: &mut Img| put(&mut i.b, at(68) + 56, &400u64.to_be_bytes())), 68),
        ("remote link without XSLM", Box::new(|i: &mut Img| put(&mut i.b, 22 * BS, b"XXXX")), 69),
        (
            "remote link mapped past the volume",
            Box::new(|i: &mut Img| put(&mut i.b, at(69) + 176, &rec(0, 63, 2, false))),
            69,
        ),
    ];
    for (what, f, node) in cases {
        let mut fs = broken(f);
        let mut b = [0u8; 16];
        let r = match fs.stat(node) {
            Ok(info) if info.kind == NodeKind::Symlink => fs.read_link(node, 4096).map(|v| v.len()),
            Ok(_) => fs.read_at(node, 0, &mut b),
            Err(e) => Err(e),
        };
        match (what, r) {
            // v5 remote links without a header are read raw (what mkfs.xfs -p writes).
            ("remote link without XSLM", Ok(n)) => assert_eq!(n, 1000),
            (_, Ok(v)) => panic!("{what}: read {v:?}"),
            (_, Err(_)) => {}
        }
        // The rest still reads.
        assert_eq!(fs.lookup(64, b"l").unwrap(), Some(68), "{what}");
        assert_eq!(fs.read_link(68, 100).map(|v| v.len()).unwrap_or(8), 8, "{what}");
    }
    // A fork format the directory code does not know.
    let mut fs = broken(|i| i.b[at(65) + 5] = 0);
    assert!(fs.read_dir(65, 10).is_err());
}

#[test]
fn broken_directories_fail_alone() {
    let at = Img::inode_at;
    let d = 20 * BS;
    let cases: Vec<(&str, Box<dyn FnOnce(&mut Img)>, u64)> = vec![
        ("short form truncated", Box::new(|i: &mut Img| i.b[at(64) + 176] = 200), 64),
        ("short form empty name", Box::new(|i: &mut Img| i.b[at(64) + 176 + 6] = 0), 64),
        ("data block magic", Box::new(move |i: &mut Img| put(&mut i.b, d, b"XD2B")), 65),
        ("leaf count too large", Box::new(move |i: &mut Img| put(&mut i.b, d + BS - 8, &600u32.to_be_bytes())), 65),
        ("unused span of 3", Box::new(move |i: &mut Img| put(&mut i.b, d + 136, &[0xff, 0xff, 0, 3])), 65),
        (
            "unused span past the end",
            Box::new(move |i: &mut Img| put(&mut i.b, d + 136, &[0xff, 0xff, 0xff, 0xf8])),
            65,
        ),
        ("entry with an empty name", Box::new(move |i: &mut Img| i.b[d + 64 + 8] = 0), 65),
        ("entry name past the end", Box::new(move |i: &mut Img| i.b[d + 64 + 16 + 16 + 8] = 255), 65),
    ];
    for (what, f, dir) in cases {
        let mut fs = broken(f);
        assert!(fs.read_dir(dir, 100).is_err(), "{what}");
        assert!(fs.lookup(dir, b"zzz").is_err(), "{what}");
        assert_eq!(fs.read_link(68, 100).unwrap().len(), 8, "{what}");
    }
}

#[test]
fn btree_roots_are_checked() {
    let at = Img::inode_at;
    for (what, fork) in [
        ("level 0", { [0u8, 0, 0, 1].to_vec() }),
        ("no records", { [0u8, 1, 0, 0].to_vec() }),
        ("more records than fit", { [0u8, 1, 0, 200].to_vec() }),
        ("level 10", { [0u8, 10, 0, 1].to_vec() }),
    ] {
        let mut fs = broken(|i| {
            i.b[at(67) + 5] = 3;
            put(&mut i.b, at(67) + 176, &fork);
        });
        let mut b = [0u8; 4];
        assert!(fs.read_at(67, 0, &mut b).is_err(), "{what}");
    }
    // A leaf with a zero record count, and one whose records run past the block.
    for n in [0u16, 1000] {
        let mut fs = broken(|i| {
            i.b[at(67) + 5] = 3;
            let mut root = vec![0u8, 1, 0, 1];
            root.resize(336, 0);
            let ptrs = 4 + 8 * ((336 - 4) / 16);
            root[ptrs..ptrs + 8].copy_from_slice(&40u64.to_be_bytes());
            put(&mut i.b, at(67) + 176, &root);
            put(&mut i.b, 40 * BS, b"BMA3");
            put(&mut i.b, 40 * BS + 6, &n.to_be_bytes());
        });
        let mut b = [0u8; 4];
        assert!(fs.read_at(67, 0, &mut b).is_err(), "{n} records");
    }
    // The extent budget (max_table_bytes / 32) bounds maps.
    let mut img = sample(true, true);
    let mut limits = ImageLimits::default();
    limits.max_table_bytes = 32;
    let mut fs = XfsFs::open(Box::new(Mem(std::mem::take(&mut img.b))), &limits).unwrap();
    let mut b = [0u8; 4];
    assert!(matches!(fs.read_at(67, 0, &mut b), Err(ImageError::LimitExceeded { .. })));
}

#[test]
fn superblocks_are_checked() {
    let ok = Img::new(true, true);
    assert!(ok.fs().is_ok());
    let cases: Vec<(&str, usize, Vec<u8>)> = vec![
        ("sectlog", 121, vec![10]),
        ("inodelog", 122, vec![8]),
        ("inopblog", 123, vec![2]),
        ("v5 inodes of 256", 104, 256u16.to_be_bytes().to_vec()),
        ("dblocks in the first AG only", 8, 64u64.to_be_bytes().to_vec()),
        ("no log", 96, 0u32.to_be_bytes().to_vec()),
    ];
    for (what, at, bytes) in cases {
        let mut img = Img::new(true, true);
        put(&mut img.b, at, &bytes);
        assert!(img.fs().is_err(), "{what}");
    }
    // The root inode in a block of the last AG past dblocks.
    let mut img = Img::new(true, true);
    put(&mut img.b, 8, &100u64.to_be_bytes());
    put(&mut img.b, 56, &1016u64.to_be_bytes());
    assert!(img.fs().is_err());
    // A volume shorter than the superblock, and probing.
    assert!(XfsFs::open(Box::new(Mem(vec![0; 100])), &ImageLimits::default()).is_err());
    assert!(!probe(&mut Mem(vec![0; 100])).unwrap());
    assert!(!probe(&mut Mem(vec![0; 4096])).unwrap());
    assert!(probe(&mut Mem(Img::new(false, false).b)).unwrap());
    // An external log is a warning.
    let mut img = Img::new(false, false);
    put(&mut img.b, 48, &0u64.to_be_bytes());
    assert_eq!(img.fs().unwrap().warnings().len(), 1);
}

/// Writes a log record header at basic block `bb` of the log (block 100) with `ops` operations
/// and cycle `cycle`, and the first operation's flags after it.
fn log_record(img: &mut Img, bb: usize, cycle: u32, ops: u32, flags: u8, size: u32) {
    let at = 100 * BS + bb * 512;
    put(&mut img.b, at, &0xFEED_BABEu32.to_be_bytes());
    put(&mut img.b, at + 4, &cycle.to_be_bytes());
    put(&mut img.b, at + 8, &2u32.to_be_bytes());
    put(&mut img.b, at + 40, &ops.to_be_bytes());
    put(&mut img.b, at + 320, &size.to_be_bytes());
    let hdrs = if size > 32768 { size.div_ceil(32768) as usize } else { 1 };
    let op = 100 * BS + ((bb + hdrs) % 32) * 512;
    put(&mut img.b, op, &cycle.to_be_bytes());
    img.b[op + 9] = flags;
}

#[test]
fn log_states() {
    let warn = |img: Img| img.fs().unwrap().warnings();
    // Clean: one unmount record at the start, cycle 1 there and 0 after.
    let mut img = Img::new(true, true);
    log_record(&mut img, 0, 1, 1, 0x20, 32768);
    assert!(warn(img).is_empty());
    // The head in the middle of a second pass: blocks 0..10 cycle 2, the rest cycle 1.
    let mut img = Img::new(true, true);
    for bb in 0..32 {
        put(&mut img.b, 100 * BS + bb * 512, &(if bb < 10 { 2u32 } else { 1 }).to_be_bytes());
    }
    log_record(&mut img, 8, 2, 1, 0x20, 32768);
    assert!(warn(img).is_empty());
    let mut img = Img::new(true, true);
    for bb in 0..32 {
        put(&mut img.b, 100 * BS + bb * 512, &(if bb < 10 { 2u32 } else { 1 }).to_be_bytes());
    }
    log_record(&mut img, 8, 2, 3, 0, 32768);
    assert_eq!(warn(img).len(), 1);
    // The ring full of one cycle; the last record wraps its header blocks past the end.
    let mut img = Img::new(true, true);
    for bb in 0..32 {
        put(&mut img.b, 100 * BS + bb * 512, &1u32.to_be_bytes());
    }
    log_record(&mut img, 30, 1, 1, 0x20, 65536);
    assert!(warn(img).is_empty());
    // A head at block 0 of a new pass: the header is found by wrapping back to the end.
    let mut img = Img::new(true, true);
    for bb in 0..32 {
        put(&mut img.b, 100 * BS + bb * 512, &(if bb == 0 { 3u32 } else { 2 }).to_be_bytes());
    }
    log_record(&mut img, 0, 3, 1, 0, 32768);
    log_record(&mut img, 20, 2, 1, 0x20, 32768);
    put(&mut img.b, 100 * BS + 512, &3u32.to_be_bytes());
    assert_eq!(warn(img).len(), 1);
    // A log running past the volume is refused.
    let mut img = Img::new(true, true);
    put(&mut img.b, 48, &127u64.to_be_bytes());
    assert!(img.fs().is_err());
}

#[test]
fn the_volume_budget_is_shared() {
    let img = sample(true, true);
    let mut limits = ImageLimits::default();
    limits.max_bytes_read = 1000;
    assert!(XfsFs::open(Box::new(Mem(img.b)), &limits).is_err());
    let img = sample(true, true);
    limits.max_bytes_read = 5000;
    let mut fs = XfsFs::open(Box::new(Mem(img.b)), &limits).unwrap();
    let mut b = vec![0u8; 8192];
    assert!(matches!(fs.read_at(67, 0, &mut b), Err(ImageError::LimitExceeded { limit: "max_bytes_read", .. })));
}

/// Turns file 67 into a BTREE inode whose root (level 1) points at `leaves`, each a leaf block
/// holding `recs` extents of one block.
fn btree_file(leaves: &[u64], recs: u64) -> Img {
    let at = Img::inode_at(67);
    let mut img = sample(true, true);
    img.b[at + 5] = 3;
    let mut root = vec![0u8, 1, 0, leaves.len() as u8];
    root.resize(336, 0);
    let ptrs = 4 + 8 * ((336 - 4) / 16);
    for (i, leaf) in leaves.iter().enumerate() {
        root[ptrs + 8 * i..ptrs + 8 * i + 8].copy_from_slice(&leaf.to_be_bytes());
        let b = *leaf as usize * BS;
        put(&mut img.b, b, b"BMA3");
        put(&mut img.b, b + 6, &(recs as u16).to_be_bytes());
        for r in 0..recs {
            let off = i as u64 * recs + r;
            put(&mut img.b, b + 72 + 16 * r as usize, &rec(off, 30, 1, false));
        }
    }
    put(&mut img.b, at + 176, &root);
    img
}

#[test]
fn btree_budgets_and_far_extents() {
    let limited = |img: Img, table: u64| {
        let mut limits = ImageLimits::default();
        limits.max_table_bytes = table;
        let mut fs = XfsFs::open(Box::new(Mem(img.b)), &limits).unwrap();
        let mut b = [0u8; 4];
        fs.read_at(67, 0, &mut b)
    };
    assert_eq!(limited(btree_file(&[40, 41], 2), 1 << 20).unwrap(), 4);
    // Three extents in one leaf, room for two.
    assert!(matches!(limited(btree_file(&[40], 3), 64), Err(ImageError::LimitExceeded { .. })));
    // Three leaves of one extent, room for two blocks.
    assert!(matches!(limited(btree_file(&[40, 41, 42], 1), 64), Err(ImageError::LimitExceeded { .. })));
    // An extent ending past the 2^54-block file space.
    let mut img = sample(true, true);
    put(&mut img.b, Img::inode_at(67) + 176, &rec((1 << 54) - 1, 30, 2, false));
    let mut fs = img.fs().unwrap();
    let mut b = [0u8; 4];
    assert!(matches!(fs.read_at(67, 0, &mut b), Err(ImageError::BadField { .. })));
    // Without ftype, an entry whose inode cannot be read has no kind; ftype 0 is unknown.
    let mut img = sample(false, false);
    let root = short_dir(64, &[("gone", 0x7fff_fff0, 0), ("f", 67, 0)], false, false);
    img.inode(64, DIR, 1, root.len() as u64, 0, &root);
    let mut fs = img.fs().unwrap();
    let kinds: Vec<_> = fs.read_dir(64, 10).unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [None, Some(NodeKind::File)]);
    let mut img = sample(true, true);
    let root = short_dir(64, &[("odd", 67, 0), ("odd2", 67, 9)], true, false);
    img.inode(64, DIR, 1, root.len() as u64, 0, &root);
    let mut fs = img.fs().unwrap();
    let kinds: Vec<_> = fs.read_dir(64, 10).unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [None, None]);
}

#[test]
fn cached_maps_stay_within_one_budget() {
    // Files 67 and 72 share one B+tree leaf of 200 extents; the budget holds 256.
    let mut img = btree_file(&[40], 200);
    let (a, b) = (Img::inode_at(67), Img::inode_at(72));
    let raw = img.b[a..a + 512].to_vec();
    put(&mut img.b, b, &raw);
    put(&mut img.b, b + 152, &72u64.to_be_bytes());
    let mut limits = ImageLimits::default();
    limits.max_table_bytes = 256 * 32;
    let mut fs = XfsFs::open(Box::new(Mem(img.b)), &limits).unwrap();
    let mut buf = vec![0u8; 3 * BS];
    for _ in 0..3 {
        for f in [67, 72] {
            assert_eq!(fs.read_at(f, BS as u64 - 1, &mut buf).unwrap(), 3 * BS);
            assert_eq!(buf[0], b'a');
        }
        assert_eq!(fs.read_dir(66, 10).unwrap().len(), 1);
    }
}

#[test]
fn v4_ftype_in_bad_features2() {
    let mut img = Img::new(false, false);
    put(&mut img.b, 100, &0xb4a4u16.to_be_bytes());
    put(&mut img.b, 204, &0x200u32.to_be_bytes());
    let root = short_dir(64, &[("f", 67, 1)], true, false);
    img.inode(64, DIR, 1, root.len() as u64, 0, &root);
    let mut fs = img.fs().unwrap();
    let e = fs.read_dir(64, 10).unwrap();
    assert_eq!((e[0].name.as_slice(), e[0].id, e[0].kind), (&b"f"[..], 67, Some(NodeKind::File)));
}
