//! Shared by the XFS tests: real images made by `mkfs.xfs -p PROTOFILE` (v5 and v4) from a tree
//! written here, and a volume over an image file with in-memory patches (byte flips, crafted
//! structures) so hostile variants cost no copy of the 320 MiB sparse file.
#![allow(dead_code)]

use regnet_image::{Result, Volume};
use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

/// A file of the tree and what it holds.
pub struct Tree {
    pub dir: PathBuf,
    pub v5: PathBuf,
    pub v4: PathBuf,
    /// guest path → contents of every regular file.
    pub files: BTreeMap<String, Vec<u8>>,
    /// guest path → link target.
    pub links: BTreeMap<String, String>,
}

pub const LONG_LINK_PARTS: usize = 24;

pub fn long_target() -> String {
    let parts: Vec<String> = (0..LONG_LINK_PARTS).map(|i| format!("a-rather-long-folder-name-{i:02}")).collect();
    format!("/{}", parts.join("/"))
}

fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The tree, built once per test binary; `None` (with the reason printed) without mkfs.xfs.
pub fn tree() -> Option<&'static Tree> {
    static TREE: OnceLock<Option<Tree>> = OnceLock::new();
    TREE.get_or_init(build).as_ref()
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("-V").output().is_ok_and(|o| o.status.success())
}

fn build() -> Option<Tree> {
    if !have("mkfs.xfs") {
        eprintln!("skipped: mkfs.xfs is not installed (Debian package xfsprogs)");
        return None;
    }
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    // Images of earlier runs (their processes gone) are removed: each is 2 x 320 MiB sparse.
    for old in std::fs::read_dir(tmp).into_iter().flatten().flatten() {
        let name = old.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("xfs-") {
            if !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(old.path());
            }
        }
    }
    let dir = tmp.join(format!("xfs-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let mut files = BTreeMap::new();
    let mut links = BTreeMap::new();
    let mut proto = vec!["/dev/null".to_string(), "0 0".into(), "d--755 0 0".into()];
    let mut put = |proto: &mut Vec<String>, depth: usize, guest: &str, data: Vec<u8>, mode: &str| {
        let host = src.join(format!("f{}", files.len()));
        std::fs::write(&host, &data).unwrap();
        let name = guest.rsplit('/').next().unwrap();
        proto.push(format!("{}{name} --{mode} 0 0 {}", " ".repeat(depth), host.display()));
        files.insert(guest.to_string(), data);
    };
    let mut link = |proto: &mut Vec<String>, depth: usize, guest: &str, target: &str| {
        let name = guest.rsplit('/').next().unwrap();
        proto.push(format!("{}{name} l--777 0 0 {target}", " ".repeat(depth)));
        links.insert(guest.to_string(), target.to_string());
    };
    let open = |proto: &mut Vec<String>, depth: usize, name: &str| {
        proto.push(format!("{}{name} d--755 0 0", " ".repeat(depth)))
    };
    let close = |proto: &mut Vec<String>| proto.push("$".into());

    open(&mut proto, 1, "etc");
    link(&mut proto, 2, "/etc/os-release", "../usr/lib/os-release");
    put(&mut proto, 2, "/etc/hostname", b"db-07.example.com\n".to_vec(), "-644");
    link(&mut proto, 2, "/etc/short", "hostname");
    link(&mut proto, 2, "/etc/long", &long_target());
    link(&mut proto, 2, "/etc/self", "self");
    link(&mut proto, 2, "/etc/escape", "../../../../etc/shadow");
    open(&mut proto, 2, "sysconfig");
    open(&mut proto, 3, "network-scripts");
    put(
        &mut proto,
        4,
        "/etc/sysconfig/network-scripts/ifcfg-eth0",
        b"DEVICE=eth0\nBOOTPROTO=none\nIPADDR=10.0.0.5\nPREFIX=24\nGATEWAY=10.0.0.1\n".to_vec(),
        "-644",
    );
    close(&mut proto);
    close(&mut proto);
    open(&mut proto, 2, "NetworkManager");
    open(&mut proto, 3, "system-connections");
    put(
        &mut proto,
        4,
        "/etc/NetworkManager/system-connections/x.nmconnection",
        b"[connection]\nid=x\ntype=ethernet\n[ipv4]\nmethod=manual\naddress1=10.2.2.20/24,10.2.2.1\n".to_vec(),
        "-600",
    );
    close(&mut proto);
    close(&mut proto);
    close(&mut proto);
    open(&mut proto, 1, "usr");
    open(&mut proto, 2, "lib");
    put(
        &mut proto,
        3,
        "/usr/lib/os-release",
        b"NAME=\"Rocky Linux\"\nID=\"rocky\"\nVERSION_ID=\"9.3\"\n".to_vec(),
        "-644",
    );
    close(&mut proto);
    close(&mut proto);
    open(&mut proto, 1, "many");
    for i in 0..2000 {
        put(&mut proto, 2, &format!("/many/file-{i:04}-with-a-longish-name"), format!("{i}\n").into_bytes(), "-644");
    }
    close(&mut proto);
    open(&mut proto, 1, "data");
    for i in 0..40 {
        put(&mut proto, 2, &format!("/data/small{i:02}"), noise(i, 5000 + i as usize), "-644");
    }
    // mkfs.xfs 6.1 -p writes a file larger than the free space of its AG over the next AG's
    // headers (xfs_repair then finds a bad AGF), so the big file stays inside one AG; the tests
    // split its extent by hand for fragmented and B+tree maps.
    put(&mut proto, 2, "/data/big", noise(99, 12 << 20), "-644");
    put(&mut proto, 2, "/data/empty", Vec::new(), "-644");
    close(&mut proto);
    close(&mut proto);
    let proto_path = dir.join("proto");
    std::fs::write(&proto_path, proto.join("\n") + "\n").unwrap();
    let mut images = Vec::new();
    for (name, extra) in [("v5.img", &[][..]), ("v4.img", &["-m", "crc=0"][..])] {
        let img = dir.join(name);
        let f = File::create(&img).unwrap();
        f.set_len(320 << 20).unwrap();
        drop(f);
        let out = Command::new("mkfs.xfs")
            .args(["-q", "-L", "guestroot"])
            .args(extra)
            .arg("-p")
            .arg(&proto_path)
            .arg(&img)
            .output()
            .unwrap();
        assert!(out.status.success(), "mkfs.xfs {name}: {}", String::from_utf8_lossy(&out.stderr));
        images.push(img);
    }
    let v4 = images.pop().unwrap();
    let v5 = images.pop().unwrap();
    Some(Tree { dir, v5, v4, files, links })
}

/// A volume over an image file, with bytes patched in memory, counting what it reads.
#[derive(Clone)]
pub struct PatchedFile {
    pub file: Arc<File>,
    pub len: u64,
    /// (offset, bytes), applied in order (a later patch wins).
    pub patches: Arc<Vec<(u64, Vec<u8>)>>,
}

impl PatchedFile {
    pub fn open(path: &Path) -> Self {
        let file = File::open(path).unwrap();
        let len = file.metadata().unwrap().len();
        PatchedFile { file: Arc::new(file), len, patches: Arc::new(Vec::new()) }
    }

    pub fn patch(&mut self, offset: u64, bytes: &[u8]) {
        Arc::make_mut(&mut self.patches).push((offset, bytes.to_vec()));
    }

    pub fn read(&self, offset: u64, n: usize) -> Vec<u8> {
        let mut b = vec![0u8; n];
        self.clone().read_exact_at(offset, &mut b).unwrap();
        b
    }

    pub fn truncate(mut self, len: u64) -> Self {
        self.len = len;
        self
    }
}

impl Volume for PatchedFile {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let end = offset.checked_add(buf.len() as u64).filter(|&e| e <= self.len);
        if end.is_none() {
            return Err(regnet_image::ImageError::OutOfRange {
                what: "test volume",
                offset,
                len: buf.len() as u64,
                size: self.len,
            });
        }
        self.file.read_exact_at(buf, offset).map_err(|e| regnet_image::ImageError::io("test volume", e))?;
        let end = offset + buf.len() as u64;
        for (at, bytes) in self.patches.iter() {
            let (lo, hi) = ((*at).max(offset), (at + bytes.len() as u64).min(end));
            if lo < hi {
                buf[(lo - offset) as usize..(hi - offset) as usize]
                    .copy_from_slice(&bytes[(lo - at) as usize..(hi - at) as usize]);
            }
        }
        Ok(())
    }
}

/// The few superblock fields the tests need to find structures.
pub struct Sb {
    pub blocksize: u64,
    pub agblocks: u64,
    pub agblklog: u32,
    pub inodesize: u64,
    pub inopblog: u32,
    pub v5: bool,
}

pub fn sb(vol: &PatchedFile) -> Sb {
    let b = vol.read(0, 512);
    let be32 = |o: usize| u32::from_be_bytes(b[o..o + 4].try_into().unwrap()) as u64;
    let be16 = |o: usize| u16::from_be_bytes(b[o..o + 2].try_into().unwrap()) as u64;
    Sb {
        blocksize: be32(4),
        agblocks: be32(84),
        agblklog: b[124] as u32,
        inodesize: be16(104),
        inopblog: b[123] as u32,
        v5: be16(100) & 0xf == 5,
    }
}

impl Sb {
    pub fn fsb(&self, fsbno: u64) -> u64 {
        let agno = fsbno >> self.agblklog;
        let agbno = fsbno & ((1 << self.agblklog) - 1);
        (agno * self.agblocks + agbno) * self.blocksize
    }

    pub fn inode(&self, ino: u64) -> u64 {
        let bits = self.agblklog + self.inopblog;
        let agno = ino >> bits;
        let agino = ino & ((1 << bits) - 1);
        let agbno = agino >> self.inopblog;
        let slot = agino & ((1 << self.inopblog) - 1);
        (agno * self.agblocks + agbno) * self.blocksize + slot * self.inodesize
    }

    pub fn core(&self) -> u64 {
        if self.v5 {
            176
        } else {
            100
        }
    }
}

/// `xfs_db -r -c ARG... IMG`'s output, or `None` when xfs_db is missing.
pub fn xfs_db(img: &Path, cmds: &[&str]) -> Option<String> {
    let mut c = Command::new("xfs_db");
    c.arg("-r");
    for x in cmds {
        c.args(["-c", x]);
    }
    let out = c.arg(img).output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}
