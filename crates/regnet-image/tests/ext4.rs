//! Differential tests of the ext2/ext3/ext4 reader against debugfs, on images mke2fs makes from a
//! realistic staging tree: every file's bytes, every folder's entries, every link's target.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ext4_common;

use ext4_common::*;
use regnet_image::ext4::{probe, Ext4Fs};
use regnet_image::guest::{FileSystem, FsKind, GuestView, NodeKind};
use regnet_image::{ImageError, ImageLimits};
use std::collections::BTreeMap;

/// What the walk found: folders (path → name → inode), files (path → inode), links.
#[derive(Default)]
struct Tree {
    dirs: BTreeMap<String, BTreeMap<String, u64>>,
    files: BTreeMap<String, u64>,
    links: BTreeMap<String, u64>,
}

fn walk(fs: &mut Ext4Fs) -> Tree {
    let mut t = Tree::default();
    let mut stack = vec![("/".to_owned(), fs.root())];
    while let Some((path, ino)) = stack.pop() {
        let mut names = BTreeMap::new();
        for e in fs.read_dir(ino, 100_000).unwrap() {
            let name = String::from_utf8(e.name.clone()).unwrap();
            let child = if path == "/" { format!("/{name}") } else { format!("{path}/{name}") };
            let info = fs.stat(e.id).unwrap();
            assert_eq!(e.kind, Some(info.kind), "{child}: the entry's file type and the inode's mode");
            match info.kind {
                NodeKind::Dir if name != "lost+found" || path != "/" => stack.push((child.clone(), e.id)),
                NodeKind::Dir => {}
                NodeKind::File => {
                    t.files.insert(child.clone(), e.id);
                }
                NodeKind::Symlink => {
                    t.links.insert(child.clone(), e.id);
                }
                _ => {}
            }
            names.insert(name, e.id);
        }
        t.dirs.insert(path, names);
    }
    t
}

fn read_all(fs: &mut Ext4Fs, ino: u64) -> Vec<u8> {
    let size = fs.stat(ino).unwrap().size as usize;
    let mut out = vec![0u8; size];
    let mut done = 0;
    // Odd chunk sizes, so reads straddle blocks and extents.
    while done < size {
        let end = (done + 7001).min(size);
        let n = fs.read_at(ino, done as u64, &mut out[done..end]).unwrap();
        assert!(n > 0);
        done += n;
    }
    let mut past = [0u8; 8];
    assert_eq!(fs.read_at(ino, size as u64, &mut past).unwrap(), 0);
    out
}

fn quote(p: &str) -> String {
    format!("\"{p}\"")
}

/// Opens, walks and compares one image with debugfs; returns (folders, files, links) compared.
fn compare(kind: &str, extra: &[&str]) -> (usize, usize, usize) {
    let dir = temp_dir(kind);
    let stage = dir.join("stage");
    staging(&stage);
    let img = dir.join("fs.img");
    let bytes = mke2fs(&stage, &img, kind, extra, "64M");
    let mut v = MemVolume(bytes.clone());
    assert!(probe(&mut v).unwrap());
    // What finding and reading /etc/os-release costs: a few blocks.
    let mut fs = Ext4Fs::open(vol(bytes.clone()), &ImageLimits::default()).unwrap();
    let etc = fs.lookup(2, b"etc").unwrap().unwrap();
    let link = fs.lookup(etc, b"os-release").unwrap().unwrap();
    assert_eq!(fs.read_link(link, 4096).unwrap(), b"../usr/lib/os-release");
    let usr = fs.lookup(2, b"usr").unwrap().unwrap();
    let lib = fs.lookup(usr, b"lib").unwrap().unwrap();
    let file = fs.lookup(lib, b"os-release").unwrap().unwrap();
    let mut buf = [0u8; 4096];
    assert_eq!(fs.read_at(file, 0, &mut buf).unwrap(), OS_RELEASE.len());
    eprintln!("{kind} {extra:?}: /etc/os-release found and read with {} bytes read from the volume", fs.bytes_read());
    assert!(fs.bytes_read() < 256 << 10);

    let mut fs = Ext4Fs::open(vol(bytes), &ImageLimits::default()).unwrap();
    assert_eq!(fs.label().as_deref(), Some("regnet-test"));
    assert_eq!(fs.kind(), FsKind::Ext4);
    assert!(fs.warnings().is_empty(), "{:?}", fs.warnings());
    let uuid = String::from_utf8_lossy(&debugfs_one(&img, "stats")).into_owned();
    assert!(uuid.contains(&fs.uuid_string()), "UUID {} not in debugfs stats", fs.uuid_string());
    let tree = walk(&mut fs);

    let mut cmds = Vec::new();
    for d in tree.dirs.keys() {
        cmds.push(format!("ls -p {}", quote(d)));
    }
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    for (i, f) in tree.files.keys().enumerate() {
        cmds.push(format!("stat {}", quote(f)));
        cmds.push(format!("dump {} {}", quote(f), out.join(format!("f{i}")).display()));
    }
    for (i, l) in tree.links.keys().enumerate() {
        cmds.push(format!("stat {}", quote(l)));
        cmds.push(format!("dump {} {}", quote(l), out.join(format!("l{i}")).display()));
    }
    let answers = debugfs(&img, &cmds);
    let mut a = answers.iter();
    for (d, ours) in &tree.dirs {
        let theirs: BTreeMap<String, u64> = a
            .next()
            .unwrap()
            .lines()
            .filter(|l| l.starts_with('/'))
            .map(|l| {
                let f: Vec<&str> = l.split('/').collect();
                (f[5].to_owned(), f[1].parse().unwrap())
            })
            .filter(|(n, _)| n != "." && n != "..")
            .collect();
        assert_eq!(ours, &theirs, "{kind}: listing of {d}");
    }
    let mut inline = 0;
    for (i, (f, ino)) in tree.files.iter().enumerate() {
        let stat = a.next().unwrap();
        a.next();
        let mut theirs = std::fs::read(out.join(format!("f{i}"))).unwrap();
        let size: usize = stat.split("Size: ").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
        if stat.contains("Flags: 0x10000000") {
            // debugfs 1.47 dumps an inline file's whole 60-byte i_block area whatever the
            // file's size; its own stat gives the size.
            assert!(theirs.len() >= size && theirs[size.min(60)..].iter().all(|&b| b == 0) || theirs.len() > 60);
            theirs.truncate(size);
            inline += 1;
        }
        assert_eq!(theirs.len(), size, "{kind}: debugfs's size of {f}");
        let mine = read_all(&mut fs, *ino);
        assert!(mine == theirs, "{kind}: bytes of {f} ({} vs {} bytes)", mine.len(), theirs.len());
    }
    for (i, (l, ino)) in tree.links.iter().enumerate() {
        let stat = a.next().unwrap();
        a.next();
        let theirs = match stat.split("Fast link dest: \"").nth(1) {
            Some(rest) => rest.rsplit_once('"').unwrap().0.as_bytes().to_vec(),
            None => std::fs::read(out.join(format!("l{i}"))).unwrap(),
        };
        assert_eq!(fs.read_link(*ino, 4096).unwrap(), theirs, "{kind}: target of {l}");
    }

    // The same through the guest view: links resolve inside the guest.
    let mut guest = GuestView::new(Box::new(fs), Default::default());
    assert_eq!(guest.read("/etc/os-release").unwrap(), OS_RELEASE);
    assert_eq!(guest.read("/etc/../etc/./hostname").unwrap(), b"web-07\n");
    assert_eq!(guest.read("/etc/slow-link").unwrap(), b"slow target\n");
    assert_eq!(guest.read_link("/etc/slow-link").unwrap(), SLOW_TARGET.as_bytes());
    assert!(matches!(guest.read("/etc/resolv.conf"), Err(ImageError::NotFound { .. })));
    assert_eq!(guest.list("/etc/many").unwrap().len(), 1000);
    assert_eq!(guest.list("/etc/netplan").unwrap().len(), 2);
    let big = guest.read("/var/lib/sparse.bin").unwrap();
    assert_eq!((&big[..4], &big[big.len() - 4..]), (&b"head"[..], &b"tail"[..]));
    if extra.contains(&"inline_data") {
        assert!(inline > 1000, "{inline} inline files");
    }
    let _ = std::fs::remove_dir_all(&dir);
    (tree.dirs.len(), tree.files.len(), tree.links.len())
}

fn run(kind: &str, extra: &[&str]) {
    if let Err(why) = tools() {
        eprintln!("skipped: {why}");
        return;
    }
    let (d, f, l) = compare(kind, extra);
    eprintln!("{kind} {extra:?}: {d} folders, {f} files, {l} links equal to debugfs");
    assert!(d >= 10 && f >= 1000 && l >= 3);
}

#[test]
fn ext4_matches_debugfs() {
    run("ext4", &[]);
}

#[test]
fn ext4_1k_blocks_matches_debugfs() {
    run("ext4", &["-b", "1024"]);
}

#[test]
fn ext4_inline_data_matches_debugfs() {
    run("ext4", &["-O", "inline_data"]);
}

#[test]
fn ext4_32bit_no_flex_bg_matches_debugfs() {
    run("ext4", &["-O", "^64bit,^flex_bg,^metadata_csum"]);
}

#[test]
fn ext4_meta_bg_matches_debugfs() {
    // 1 KiB blocks, 1,024 per group: 64 groups, 16 descriptors per block, 4 meta groups.
    run("ext4", &["-b", "1024", "-g", "1024", "-O", "meta_bg,^resize_inode"]);
}

#[test]
fn ext4_small_inodes_many_groups_matches_debugfs() {
    run("ext4", &["-I", "128", "-b", "1024", "-g", "2048"]);
}

#[test]
fn ext3_matches_debugfs() {
    run("ext3", &[]);
}

#[test]
fn ext2_matches_debugfs() {
    run("ext2", &[]);
}

#[test]
fn ext2_1k_blocks_matches_debugfs() {
    run("ext2", &["-b", "1024"]);
}

/// Journals holding transactions not yet written in place (debugfs `jo`/`jw`/`jc`, as a
/// crash-consistent replica has): replayed in memory, the files read as e2fsck's replay leaves
/// them (compared with debugfs on a copy that `e2fsck -E journal_only` recovered); escaped
/// blocks, later transactions and revokes included.
#[test]
fn ext4_dirty_journal_replays_like_e2fsck() {
    if let Err(why) = tools() {
        eprintln!("skipped: {why}");
        return;
    }
    for (extra, case) in [
        (&[][..], "csum v3, 64-bit"),
        (&["-O", "^64bit"][..], "csum v3, 32-bit"),
        (&["-O", "^metadata_csum,^64bit"][..], "no checksums, 32-bit"),
    ] {
        let dir = temp_dir("journal");
        let stage = dir.join("stage");
        staging(&stage);
        let img = dir.join("fs.img");
        mke2fs(&stage, &img, "ext4", extra, "64M");
        let block = |p: &str| String::from_utf8(debugfs_one(&img, &format!("bmap {p} 0"))).unwrap().trim().to_owned();
        let (host, osr, dense) = (block("/etc/hostname"), block("/usr/lib/os-release"), block("/var/lib/dense.bin"));
        let mut escaped = b"\xc0\x3b\x39\x98ESCAPED".to_vec();
        escaped.resize(4096, b'e');
        std::fs::write(dir.join("esc"), &escaped).unwrap();
        let mut first = b"first-host\n".to_vec();
        first.resize(4096, 0);
        std::fs::write(dir.join("first"), &first).unwrap();
        let mut newer = b"ID=replayed\n".to_vec();
        newer.resize(4096, b'#');
        std::fs::write(dir.join("newer"), &newer).unwrap();
        let d = |f: &str| dir.join(f).display().to_string();
        let cmds = format!(
            "jo\njw -b {host} {}\njc\njo\njw -b {osr} {}\njw -b {dense} {}\njc\njo\njw -r {host} /dev/null\njc\n",
            d("first"),
            d("newer"),
            d("esc")
        );
        std::fs::write(dir.join("cmds"), cmds).unwrap();
        let out =
            std::process::Command::new("debugfs").arg("-w").arg("-f").arg(dir.join("cmds")).arg(&img).output().unwrap();
        assert!(out.status.success());
        let dirty = std::fs::read(&img).unwrap();
        let fixed = dir.join("fixed.img");
        std::fs::copy(&img, &fixed).unwrap();
        let fsck =
            std::process::Command::new("e2fsck").args(["-fy", "-E", "journal_only"]).arg(&fixed).output().unwrap();
        assert!(fsck.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&fsck.stdout));
        let fs = Ext4Fs::open(vol(dirty), &ImageLimits::default()).unwrap();
        let w = fs.warnings();
        assert!(
            w.iter().any(|w| w.contains("committed transaction(s) replayed in memory (2 block(s)")),
            "{case}: {w:?}"
        );
        let mut g = GuestView::new(Box::new(fs), Default::default());
        for path in ["/etc/hostname", "/usr/lib/os-release", "/var/lib/dense.bin", "/etc/netplan/50-cloud-init.yaml"] {
            let theirs = debugfs_one(&fixed, &format!("cat {path}"));
            assert_eq!(g.read(path).unwrap(), theirs, "{case}: {path}");
        }
        // The revoke kept the hostname; the later transaction changed os-release; the escaped
        // block has its magic back.
        assert_eq!(g.read("/etc/hostname").unwrap(), b"web-07\n");
        assert!(g.read("/etc/os-release").unwrap().starts_with(b"ID=replayed\n"));
        assert!(g.read("/var/lib/dense.bin").unwrap().starts_with(b"\xc0\x3b\x39\x98ESCAPED"));
        // A journal superblock that is not one: not replayed, said so, the volume still reads.
        let jsb: usize = String::from_utf8(debugfs_one(&img, "bmap <8> 0")).unwrap().trim().parse().unwrap();
        let mut broken = std::fs::read(&img).unwrap();
        broken[jsb * 4096] ^= 0xFF;
        let fs = Ext4Fs::open(vol(broken), &ImageLimits::default()).unwrap();
        assert!(fs.warnings().iter().any(|w| w.contains("could not be replayed")), "{:?}", fs.warnings());
        let mut g = GuestView::new(Box::new(fs), Default::default());
        assert_eq!(g.read("/usr/lib/os-release").unwrap(), OS_RELEASE);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
