//! Shared by the partition tests: in-memory disks, builders of GPT and MBR tables (with their CRCs)
//! for the hostile cases, and the glue to run sfdisk/sgdisk/mkntfs/mkfs.fat and read what sfdisk says.
#![allow(dead_code)]

use regnet_image::partition::{read_partitions, PartitionTable};
use regnet_image::{ContainerFormat, Counters, FileSource, ImageError, ImageLimits, RawDisk, VirtualDisk};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

pub const ESP: &str = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
pub const MSR: &str = "E3C9E316-0B5C-4DB8-817D-F92DF00215AE";
pub const BASIC: &str = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7";
pub const RECOVERY: &str = "DE94BBA4-06D1-4D40-A16A-BFD50179D6AC";

/// A disk held in memory, counting its reads.
pub struct MemDisk {
    pub bytes: Vec<u8>,
    pub reads: u64,
    pub bytes_read: u64,
}

impl MemDisk {
    pub fn new(bytes: Vec<u8>) -> Self {
        MemDisk { bytes, reads: 0, bytes_read: 0 }
    }
}

impl VirtualDisk for MemDisk {
    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> regnet_image::Result<()> {
        regnet_image::disk::check_range("memory disk", offset, buf.len(), self.size())?;
        let at = offset as usize;
        buf.copy_from_slice(&self.bytes[at..at + buf.len()]);
        self.reads += 1;
        self.bytes_read += buf.len() as u64;
        Ok(())
    }
    fn format(&self) -> ContainerFormat {
        ContainerFormat::Raw
    }
}

pub fn read_mem(bytes: Vec<u8>) -> regnet_image::Result<PartitionTable> {
    read_partitions(&mut MemDisk::new(bytes), &ImageLimits::default())
}

pub fn open_file(path: &Path) -> RawDisk {
    let limits = ImageLimits::default();
    RawDisk::new(FileSource::open_path(path, Arc::new(Counters::default()), &limits).unwrap())
}

pub fn read_file(path: &Path) -> regnet_image::Result<PartitionTable> {
    read_partitions(&mut open_file(path), &ImageLimits::default())
}

/// A GUID's on-disk bytes from its text form (first three fields little-endian).
pub fn guid(text: &str) -> [u8; 16] {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    let mut b = [0u8; 16];
    for (i, byte) in b.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    b[..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    b
}

pub fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
pub fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
pub fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}
pub fn get_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
pub fn get_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// One GPT entry to build: type, first and last LBA, name.
#[derive(Clone, Copy)]
pub struct Entry<'a> {
    pub kind: &'a str,
    pub first: u64,
    pub last: u64,
    pub name: &'a str,
}

/// Entries per array and their size in a built GPT (what every tool writes).
pub const ENTRIES: u32 = 128;

/// A GPT disk of `sectors` sectors of `ss` bytes: protective MBR, primary header and array at LBA 1
/// and 2, backup array and header at the end, CRCs right.
pub fn build_gpt(sectors: u64, ss: usize, entries: &[Entry]) -> Vec<u8> {
    let mut d = vec![0u8; sectors as usize * ss];
    // Protective MBR.
    let mbr_sectors = u32::try_from(sectors - 1).unwrap_or(u32::MAX);
    mbr_entry(&mut d, 0, 0, 0xEE, 1, mbr_sectors);
    d[510] = 0x55;
    d[511] = 0xAA;
    let array_len = ENTRIES as usize * 128;
    let array_sectors = (array_len / ss) as u64;
    let last = sectors - 1;
    let mut array = vec![0u8; array_len];
    for (i, e) in entries.iter().enumerate() {
        let a = &mut array[i * 128..(i + 1) * 128];
        a[..16].copy_from_slice(&guid(e.kind));
        a[16] = i as u8 + 1; // a unique GUID, unique enough
        put_u64(a, 32, e.first);
        put_u64(a, 40, e.last);
        for (k, u) in e.name.encode_utf16().take(36).enumerate() {
            put_u16(a, 56 + 2 * k, u);
        }
    }
    let first_usable = 2 + array_sectors;
    let last_usable = last - 1 - array_sectors;
    for (lba, alt, array_lba) in [(1, last, 2), (last, 1, last - array_sectors)] {
        let at = array_lba as usize * ss;
        d[at..at + array_len].copy_from_slice(&array);
        let h = lba as usize * ss;
        let hdr = &mut d[h..h + ss];
        hdr[..8].copy_from_slice(b"EFI PART");
        put_u32(hdr, 8, 0x0001_0000);
        put_u32(hdr, 12, 92);
        put_u64(hdr, 24, lba);
        put_u64(hdr, 32, alt);
        put_u64(hdr, 40, first_usable);
        put_u64(hdr, 48, last_usable);
        hdr[56..72].copy_from_slice(&[0x42; 16]);
        put_u64(hdr, 72, array_lba);
        put_u32(hdr, 80, ENTRIES);
        put_u32(hdr, 84, 128);
    }
    fix_array_crc(&mut d, ss, 1);
    fix_array_crc(&mut d, ss, last);
    d
}

/// Recomputes the CRC of the header at `lba` (over its HeaderSize, clamped to the sector).
pub fn fix_header_crc(d: &mut [u8], ss: usize, lba: u64) {
    let h = lba as usize * ss;
    let size = (get_u32(d, h + 12) as usize).clamp(92, ss);
    put_u32(d, h + 16, 0);
    let crc = crc32fast::hash(&d[h..h + size]);
    put_u32(d, h + 16, crc);
}

/// Recomputes the entry array CRC named by the header at `lba`, then the header's CRC.
pub fn fix_array_crc(d: &mut [u8], ss: usize, lba: u64) {
    let h = lba as usize * ss;
    let at = get_u64(d, h + 72) as usize * ss;
    let len = get_u32(d, h + 80) as usize * get_u32(d, h + 84) as usize;
    let crc = crc32fast::hash(&d[at..at + len]);
    put_u32(d, h + 88, crc);
    fix_header_crc(d, ss, lba);
}

/// Writes one 16-byte entry of the MBR or EBR sector starting at `sector[0]`.
pub fn mbr_entry(sector: &mut [u8], slot: usize, boot: u8, kind: u8, start: u32, sectors: u32) {
    let at = 446 + 16 * slot;
    sector[at] = boot;
    sector[at + 4] = kind;
    put_u32(sector, at + 8, start);
    put_u32(sector, at + 12, sectors);
}

/// A `55 AA`-signed sector at `lba` (512-byte sectors) with the given entries.
pub fn mbr_sector(d: &mut [u8], lba: u64, entries: &[(usize, u8, u8, u32, u32)]) {
    let at = lba as usize * 512;
    let s = &mut d[at..at + 512];
    for &(slot, boot, kind, start, sectors) in entries {
        mbr_entry(s, slot, boot, kind, start, sectors);
    }
    s[510] = 0x55;
    s[511] = 0xAA;
}

/// A fresh path under the cargo target's temporary directory, removed when dropped.
pub struct TempPath(pub PathBuf);

impl TempPath {
    pub fn new(name: &str) -> Self {
        let p = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        TempPath(p)
    }
    /// A sparse file of `bytes` bytes.
    pub fn sparse(name: &str, bytes: u64) -> Self {
        let t = Self::new(name);
        std::fs::File::create(&t.0).unwrap().set_len(bytes).unwrap();
        t
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl std::ops::Deref for TempPath {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

/// The full path of a tool, looked up in PATH and the sbin folders (where Debian puts these).
pub fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// True when every tool is installed; otherwise prints which test skips and why.
pub fn have(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| tool(t).is_none()).collect();
    if missing.is_empty() {
        true
    } else {
        eprintln!("{test}: skipped, not installed: {}", missing.join(", "));
        false
    }
}

/// Runs a tool, feeding `stdin`; its stdout, or an error with its stderr.
pub fn run(name: &str, args: &[&str], stdin: &str) -> Result<String, String> {
    let exe = tool(name).ok_or_else(|| format!("{name} not installed"))?;
    let mut child = Command::new(exe)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{name}: {e}"))?;
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!("{name} {args:?}: {}\n{}{}", out.status, stdout, String::from_utf8_lossy(&out.stderr)))
    }
}

/// `sfdisk` with a script, on a file or device.
pub fn sfdisk(target: &Path, script: &str) {
    run("sfdisk", &["-q", "--no-reread", "--no-tell-kernel", target.to_str().unwrap()], script).unwrap();
}

/// Copies a volume file into a disk file at `offset`, skipping zero blocks so both stay sparse.
pub fn place(volume: &Path, disk: &Path, offset: u64) {
    let v = std::fs::File::open(volume).unwrap();
    let d = std::fs::OpenOptions::new().write(true).open(disk).unwrap();
    let len = v.metadata().unwrap().len();
    let mut buf = vec![0u8; 64 << 10];
    let mut at = 0;
    while at < len {
        let n = buf.len().min((len - at) as usize);
        v.read_exact_at(&mut buf[..n], at).unwrap();
        if buf[..n].iter().any(|&b| b != 0) {
            d.write_all_at(&buf[..n], offset + at).unwrap();
        }
        at += n as u64;
    }
}

/// mkntfs on a new sparse volume file of `mib` MiB, for a partition starting at sector `start`.
pub fn ntfs_volume(name: &str, mib: u64, start: u64, sector_size: u32) -> TempPath {
    let v = TempPath::sparse(name, mib << 20);
    let (p, s) = (start.to_string(), sector_size.to_string());
    run("mkntfs", &["-q", "-F", "-Q", "-s", &s, "-p", &p, v.to_str().unwrap()], "").unwrap();
    v
}

/// One partition as sfdisk lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub number: u32,
    pub start: u64,
    pub sectors: u64,
    pub kind: String,
    pub name: Option<String>,
    pub bootable: bool,
}

/// `sfdisk -J`: (sector size, partitions). A small reader for sfdisk's own one-field-per-line
/// output (no JSON crate among this crate's dependencies).
pub fn sfdisk_json(target: &Path) -> (u64, Vec<Listed>) {
    let out = run("sfdisk", &["-J", target.to_str().unwrap()], "").unwrap();
    let field = |line: &str, key: &str| -> Option<String> {
        let rest = line.trim().strip_prefix(&format!("\"{key}\":"))?.trim().trim_end_matches(',');
        Some(rest.trim_matches('"').to_owned())
    };
    let mut sector_size = 512;
    let mut parts: Vec<Listed> = Vec::new();
    for line in out.lines() {
        if let Some(v) = field(line, "sectorsize") {
            sector_size = v.parse().unwrap();
        }
        if let Some(node) = field(line, "node") {
            let digits: String = node.chars().rev().take_while(char::is_ascii_digit).collect();
            let number = digits.chars().rev().collect::<String>().parse().unwrap();
            parts.push(Listed { number, start: 0, sectors: 0, kind: String::new(), name: None, bootable: false });
        }
        let Some(p) = parts.last_mut() else { continue };
        if let Some(v) = field(line, "start") {
            p.start = v.parse().unwrap();
        } else if let Some(v) = field(line, "size") {
            p.sectors = v.parse().unwrap();
        } else if let Some(v) = field(line, "type") {
            p.kind = v;
        } else if let Some(v) = field(line, "name") {
            p.name = Some(v);
        } else if let Some(v) = field(line, "bootable") {
            p.bootable = v == "true";
        }
    }
    (sector_size, parts)
}

/// `sgdisk -p`: (number, first LBA, last LBA) of each partition.
pub fn sgdisk_p(target: &Path) -> Vec<(u32, u64, u64)> {
    let out = run("sgdisk", &["-p", target.to_str().unwrap()], "").unwrap();
    out.lines()
        .skip_while(|l| !l.starts_with("Number"))
        .skip(1)
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.parse().ok()?, w.next()?.parse().ok()?, w.next()?.parse().ok()?))
        })
        .collect()
}

/// Asserts that what regnet read is what sfdisk lists: numbers, extents, types, names, boot flags.
pub fn assert_same_as(table: &PartitionTable, sector_size: u64, listed: &[Listed]) {
    let ours: Vec<Listed> = table
        .partitions
        .iter()
        .map(|p| Listed {
            number: p.number,
            start: p.start / sector_size,
            sectors: p.len / sector_size,
            kind: p.type_id.clone(),
            name: p.name.clone(),
            bootable: p.bootable,
        })
        .collect();
    let theirs: Vec<Listed> = listed
        .iter()
        .map(|l| {
            let mut l = l.clone();
            if l.kind.len() <= 2 {
                l.kind = format!("0x{:02X}", u8::from_str_radix(&l.kind, 16).unwrap());
            } else {
                l.bootable = false; // sfdisk shows GPT attributes as text; the tests set none
            }
            l
        })
        .collect();
    assert_eq!(ours, theirs);
}

/// The kind of error, for asserts that print the whole error when they fail.
pub fn is_limit(e: &ImageError, name: &str) -> bool {
    matches!(e, ImageError::LimitExceeded { limit, .. } if *limit == name)
}
