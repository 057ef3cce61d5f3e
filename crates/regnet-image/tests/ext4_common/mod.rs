//! Shared by the ext4 tests: an in-memory volume, tool detection, a realistic staging tree,
//! images made by mke2fs, and debugfs run in batches.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use regnet_image::{ImageError, Volume};
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// A volume held in memory.
pub struct MemVolume(pub Vec<u8>);

impl Volume for MemVolume {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> regnet_image::Result<()> {
        let n = buf.len() as u64;
        let src = usize::try_from(offset)
            .ok()
            .and_then(|s| self.0.get(s..s.checked_add(buf.len())?))
            .ok_or(ImageError::OutOfRange { what: "test volume", offset, len: n, size: self.0.len() as u64 })?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// A volume as a box, for `Ext4Fs::open`.
pub fn vol(bytes: Vec<u8>) -> Box<dyn Volume> {
    Box::new(MemVolume(bytes))
}

/// The e2fsprogs tools are there, or the reason they are not.
pub fn tools() -> Result<(), String> {
    for t in ["mke2fs", "debugfs"] {
        match Command::new(t).arg("-V").output() {
            Ok(_) => {}
            Err(e) => return Err(format!("{t} is not available ({e}): install e2fsprogs")),
        }
    }
    Ok(())
}

/// A fresh empty folder under the system temp folder.
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "regnet-ext4-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(root: &Path, rel: &str, data: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
}

fn link(root: &Path, rel: &str, target: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, p).unwrap();
}

/// Deterministic bytes.
pub fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

pub const OS_RELEASE: &[u8] =
    b"PRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"24.04\"\nID=ubuntu\nID_LIKE=debian\n";
pub const SLOW_TARGET: &str =
    "../../usr/share/regnet/a-rather-long-folder-name-for-a-slow-link/and-another-one/target.conf";

/// A realistic guest tree: /etc with os-release as a relative link into /usr/lib, hostname,
/// netplan, NetworkManager keyfiles (0600), a fast and a slow link, a folder of 1,000 entries,
/// a 300 KB dense file, a 200 KB file of 13 extents (holes between), an 8 MiB sparse file.
pub fn staging(root: &Path) {
    write(root, "usr/lib/os-release", OS_RELEASE);
    link(root, "etc/os-release", "../usr/lib/os-release");
    write(root, "etc/hostname", b"web-07\n");
    write(
        root,
        "etc/netplan/50-cloud-init.yaml",
        b"network:\n  version: 2\n  ethernets:\n    ens3:\n      addresses: [10.1.2.3/24]\n      routes:\n        - to: default\n          via: 10.1.2.1\n",
    );
    write(
        root,
        "etc/netplan/00-installer-config.yaml",
        b"network:\n  ethernets:\n    ens4:\n      dhcp4: true\n  version: 2\n",
    );
    let nm = "etc/NetworkManager/system-connections/Wired connection 1.nmconnection";
    write(root, nm, b"[connection]\nid=Wired connection 1\ntype=ethernet\ninterface-name=ens5\n\n[ipv4]\naddress1=192.168.7.20/24,192.168.7.1\ndns=1.1.1.1;\nmethod=manual\n");
    std::fs::set_permissions(root.join(nm), std::fs::Permissions::from_mode(0o600)).unwrap();
    link(root, "etc/resolv.conf", "../run/systemd/resolve/stub-resolv.conf");
    link(root, "etc/slow-link", SLOW_TARGET);
    write(
        root,
        "usr/share/regnet/a-rather-long-folder-name-for-a-slow-link/and-another-one/target.conf",
        b"slow target\n",
    );
    for i in 0..1000 {
        write(root, &format!("etc/many/host-{i:04}.conf"), format!("entry {i}\n").as_bytes());
    }
    write(root, "var/lib/dense.bin", &pattern(300 * 1024, 7));
    let frag = std::fs::File::create(root.join("var/lib/fragmented.bin")).unwrap();
    frag.set_len(200 * 1024).unwrap();
    for i in 0..13u64 {
        frag.write_all_at(&pattern(4096, 100 + i as u32), i * 16 * 1024).unwrap();
    }
    let sparse = std::fs::File::create(root.join("var/lib/sparse.bin")).unwrap();
    sparse.set_len(8 << 20).unwrap();
    sparse.write_all_at(b"head", 0).unwrap();
    sparse.write_all_at(&pattern(5000, 3), 3 << 20).unwrap();
    sparse.write_all_at(b"tail", (8 << 20) - 4).unwrap();
    write(root, "empty", b"");
    write(root, "etc/tiny", b"x");
}

/// Runs mke2fs: `-q -t KIND -d STAGING -L LABEL extra… IMG SIZE`; returns the image's bytes.
/// Blocks are 4 KiB unless `extra` says `-b` (mke2fs would pick 1 KiB for a "small" volume).
pub fn mke2fs(staging: &Path, img: &Path, kind: &str, extra: &[&str], size: &str) -> Vec<u8> {
    let bs: &[&str] = if extra.contains(&"-b") { &[] } else { &["-b", "4096"] };
    let out = Command::new("mke2fs")
        .args(["-q", "-F", "-t", kind, "-d"])
        .arg(staging)
        .args(["-L", "regnet-test"])
        .args(bs)
        .args(extra)
        .arg(img)
        .arg(size)
        .env("E2FSPROGS_FAKE_TIME", "1700000000")
        .output()
        .unwrap();
    assert!(out.status.success(), "mke2fs failed: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::read(img).unwrap()
}

/// Runs debugfs with `commands` on `img`; returns each command's output, in order.
pub fn debugfs(img: &Path, commands: &[String]) -> Vec<String> {
    let dir = img.with_extension("cmds");
    std::fs::write(&dir, commands.join("\n") + "\n").unwrap();
    let out = Command::new("debugfs").arg("-f").arg(&dir).arg(img).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut parts: Vec<String> = Vec::new();
    for line in text.split_inclusive('\n') {
        if line.starts_with("debugfs: ") {
            parts.push(String::new());
        } else if let Some(p) = parts.last_mut() {
            p.push_str(line);
        }
    }
    assert_eq!(parts.len(), commands.len(), "debugfs output: {text}");
    parts
}

/// Runs one debugfs request (`-R`); returns its standard output.
pub fn debugfs_one(img: &Path, request: &str) -> Vec<u8> {
    Command::new("debugfs").arg("-R").arg(request).arg(img).output().unwrap().stdout
}
