//! VHDX reader tests: qemu-made fixed and dynamic images compared byte for byte with qemu's own
//! raw conversion, dirty logs (one written by qemu, others built here), hand-built differencing
//! chains, and hostile variants of real images.
//!
//! Tests that need `qemu-img` print why and pass when it is absent.

use regnet_image::container::vhdx::VhdxDisk;
use regnet_image::{Counters, DirResolver, FileSource, ImageError, ImageLimits, NoResolver, VirtualDisk};
use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const RAW_SIZE: u64 = 48 * MIB;

// ---------------------------------------------------------------------------------------------
// Helpers

fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("vhdx-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn have_qemu() -> bool {
    let ok = Command::new("qemu-img").arg("--version").output().map(|o| o.status.success()).unwrap_or(false);
    if !ok {
        eprintln!("skipped: qemu-img is not installed");
    }
    ok
}

fn run(tool: &str, args: &[&str]) {
    let out = Command::new(tool).args(args).output().unwrap();
    assert!(out.status.success(), "{tool} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn qemu(args: &[&str]) {
    run("qemu-img", args);
}

/// Deterministic bytes (xorshift) so that every pattern is distinct.
fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Where the test raw disk has data: straddling sector, 1 MiB, 2 MiB and 8 MiB (qemu's default
/// VHDX block) boundaries, one long run, and the very end. Block 4 (32..40 MiB) stays empty
/// except for its first byte.
const PATTERNS: &[(u64, usize)] = &[
    (0, 4096),
    (3 * 512 + 7, 1000),
    (MIB - 100, 300),
    (2 * MIB - 3000, 10_000),
    (8 * MIB - 5000, 70_000),
    (16 * MIB - 1, 2),
    (20 * MIB + 12_345, 300 * 1024),
    (32 * MIB - 1, 2),
    (RAW_SIZE - 8192, 8192),
];

fn make_raw(path: &Path) -> Vec<u8> {
    let mut f = fs::File::create(path).unwrap();
    f.set_len(RAW_SIZE).unwrap();
    let mut expect = vec![0u8; RAW_SIZE as usize];
    for (i, &(off, len)) in PATTERNS.iter().enumerate() {
        let p = pattern(i as u64 + 1, len);
        f.seek(SeekFrom::Start(off)).unwrap();
        f.write_all(&p).unwrap();
        expect[off as usize..off as usize + len].copy_from_slice(&p);
    }
    expect
}

fn open_with(path: &Path, limits: &ImageLimits) -> regnet_image::Result<VhdxDisk> {
    let counters = Arc::new(Counters::default());
    let src = FileSource::open_path(path, counters.clone(), limits)?;
    let resolver = DirResolver::new(path.parent().unwrap(), &[], counters, *limits);
    VhdxDisk::open(src, &resolver, limits)
}

fn open(path: &Path) -> regnet_image::Result<VhdxDisk> {
    open_with(path, &ImageLimits::default())
}

/// Reads the whole disk in 1 MiB reads and in odd-sized unaligned reads, and compares.
fn assert_reads(disk: &mut dyn VirtualDisk, expect: &[u8]) {
    assert_eq!(disk.size(), expect.len() as u64);
    let mut buf = vec![0u8; MIB as usize];
    let mut off = 0usize;
    while off < expect.len() {
        let n = buf.len().min(expect.len() - off);
        disk.read_at(off as u64, &mut buf[..n]).unwrap();
        assert!(buf[..n] == expect[off..off + n], "1 MiB read at {off:#x} differs");
        off += n;
    }
    for &(step, len) in &[(777_777usize, 12_345usize), (65_537, 4099), (1_000_003, 513), (2_097_143, 300_001)] {
        let mut buf = vec![0u8; len];
        let mut off = 7usize;
        while off < expect.len() {
            let n = len.min(expect.len() - off);
            disk.read_at(off as u64, &mut buf[..n]).unwrap();
            assert!(buf[..n] == expect[off..off + n], "read of {n} at {off:#x} differs");
            off += step;
        }
    }
    let mut one = [0u8; 1];
    disk.read_at(expect.len() as u64 - 1, &mut one).unwrap();
    assert_eq!(one[0], expect[expect.len() - 1]);
    assert!(matches!(disk.read_at(expect.len() as u64, &mut one), Err(ImageError::OutOfRange { .. })));
    assert!(matches!(disk.read_at(u64::MAX, &mut one), Err(ImageError::OutOfRange { .. })));
}

/// Reads the whole disk; any typed error is accepted (the point is: no panic, bounded time).
fn read_all_typed(disk: &mut dyn VirtualDisk) -> regnet_image::Result<()> {
    let mut buf = vec![0u8; MIB as usize];
    let mut off = 0u64;
    while off < disk.size() {
        let n = buf.len().min((disk.size() - off) as usize);
        disk.read_at(off, &mut buf[..n])?;
        off += n as u64;
    }
    Ok(())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, bytes).unwrap();
    p
}

// Little-endian fields and the CRC-32C, written independently of the reader (bitwise).

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}
fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}
fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0x82F6_3B78 } else { crc >> 1 };
        }
    }
    !crc
}

/// Recomputes the CRC-32C at `at + 4` of the `len`-byte structure at `at`.
fn fix_crc(b: &mut [u8], at: usize, len: usize) {
    put32(b, at + 4, 0);
    let c = crc32c(&b[at..at + len]);
    put32(b, at + 4, c);
}

fn fix_headers(b: &mut [u8]) {
    fix_crc(b, 64 * 1024, 4096);
    fix_crc(b, 128 * 1024, 4096);
}

fn fix_region_tables(b: &mut [u8]) {
    fix_crc(b, 192 * 1024, 64 * 1024);
    fix_crc(b, 256 * 1024, 64 * 1024);
}

/// The current header's offset (the higher sequence number of the two).
fn current_header(b: &[u8]) -> usize {
    if le64(b, 128 * 1024 + 8) > le64(b, 64 * 1024 + 8) {
        128 * 1024
    } else {
        64 * 1024
    }
}

/// The file offset of a region (by the first bytes of its GUID) in a region table at `table`.
fn region(b: &[u8], table: usize, first: [u8; 4]) -> (usize, usize) {
    let n = le32(b, table + 8) as usize;
    (0..n).map(|i| table + 16 + 32 * i).find(|&e| b[e..e + 4] == first).map(|e| (le64(b, e + 16) as usize, e)).unwrap()
}

const BAT_GUID4: [u8; 4] = [0x66, 0x77, 0xc2, 0x2d];
const META_GUID4: [u8; 4] = [0x06, 0xa2, 0x7c, 0x8b];

/// The metadata item entry (by the first bytes of its GUID): (entry offset, item file offset).
fn meta_item(b: &[u8], first: [u8; 4]) -> (usize, usize) {
    let (meta, _) = region(b, 192 * 1024, META_GUID4);
    let n = le16(b, meta + 10) as usize;
    (0..n)
        .map(|i| meta + 32 + 32 * i)
        .find(|&e| b[e..e + 4] == first)
        .map(|e| (e, meta + le32(b, e + 16) as usize))
        .unwrap()
}

const FILE_PARAMS4: [u8; 4] = [0x37, 0x67, 0xa1, 0xca];
const DISK_SIZE4: [u8; 4] = [0x24, 0x42, 0xa5, 0x2f];
const LOGICAL4: [u8; 4] = [0x1d, 0xbf, 0x41, 0x81];

fn qemu_vhdx(dir: &Path, raw: &Path, name: &str, opts: &str) -> PathBuf {
    let p = dir.join(name);
    qemu(&["convert", "-f", "raw", "-O", "vhdx", "-o", opts, raw.to_str().unwrap(), p.to_str().unwrap()]);
    p
}

/// The qemu-made dynamic fixture (8 MiB blocks) and the raw disk's contents.
fn dynamic_fixture(dir: &Path) -> Option<(PathBuf, Vec<u8>)> {
    if !have_qemu() {
        return None;
    }
    let raw = dir.join("src.raw");
    let expect = make_raw(&raw);
    Some((qemu_vhdx(dir, &raw, "dyn.vhdx", "subformat=dynamic"), expect))
}

/// A smaller qemu-made dynamic fixture (1 MiB blocks, about 15 MiB) for the tests that write
/// many patched copies.
fn small_fixture(dir: &Path) -> Option<(PathBuf, Vec<u8>)> {
    if !have_qemu() {
        return None;
    }
    let raw = dir.join("src.raw");
    let expect = make_raw(&raw);
    Some((qemu_vhdx(dir, &raw, "small.vhdx", "subformat=dynamic,block_size=1M"), expect))
}

// ---------------------------------------------------------------------------------------------
// qemu-made images

fn roundtrip(opts: &str) {
    if !have_qemu() {
        return;
    }
    let dir = scratch(&opts.replace([',', '='], "-"));
    let raw = dir.join("src.raw");
    let original = make_raw(&raw);
    let vhdx = qemu_vhdx(&dir, &raw, "disk.vhdx", opts);
    let back = dir.join("back.raw");
    qemu(&["convert", "-f", "vhdx", "-O", "raw", vhdx.to_str().unwrap(), back.to_str().unwrap()]);
    let reference = fs::read(&back).unwrap();
    assert!(reference == original, "qemu's raw conversion differs from the source");
    let mut disk = open(&vhdx).unwrap();
    assert_eq!((disk.chain_len(), disk.log_replayed()), (1, false));
    assert_reads(&mut disk, &reference);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn dynamic_matches_qemu() {
    roundtrip("subformat=dynamic");
}

#[test]
fn dynamic_1m_blocks_matches_qemu() {
    roundtrip("subformat=dynamic,block_size=1M");
}

#[test]
fn fixed_matches_qemu() {
    roundtrip("subformat=fixed");
}

#[test]
fn fixed_1m_blocks_matches_qemu() {
    roundtrip("subformat=fixed,block_size=1M");
}

#[test]
fn dynamic_without_zero_state_matches_qemu() {
    roundtrip("subformat=dynamic,block_size=2M,block_state_zero=off");
}

#[test]
fn detected_and_opened_through_open_container() {
    let dir = scratch("detect");
    let Some((vhdx, expect)) = dynamic_fixture(&dir) else { return };
    let counters = Arc::new(Counters::default());
    let limits = ImageLimits::default();
    let mut src = FileSource::open_path(&vhdx, counters, &limits).unwrap();
    let format = regnet_image::detect(&mut src).unwrap();
    assert_eq!(format, regnet_image::ContainerFormat::Vhdx);
    let mut disk = regnet_image::open_container(src, format, &NoResolver, &limits).unwrap();
    assert_reads(disk.as_mut(), &expect);
    let _ = fs::remove_dir_all(&dir);
}

/// 5 GiB with 256 MiB blocks: chunk ratio 16, so the BAT interleaves a sector bitmap entry after
/// every 16 payload entries and blocks 16.. sit one entry later than their index.
#[test]
fn interleaved_bat_of_a_large_sparse_disk() {
    if !have_qemu() {
        return;
    }
    let dir = scratch("interleaved");
    let p = dir.join("big.vhdx");
    qemu(&["create", "-q", "-f", "vhdx", "-o", "block_size=256M", p.to_str().unwrap(), "5G"]);
    let bs = 256 * MIB;
    let writes = [
        (0u64, 0x11u8),
        (15 * bs + 4096, 0x22),
        (16 * bs, 0x33),
        (17 * bs - 512, 0x44),
        (19 * bs + 7 * 512, 0x55),
        (5 * 1024 * MIB - 4096, 0x66),
    ];
    let mut cmds = Vec::new();
    for (off, byte) in writes {
        cmds.push("-c".to_string());
        cmds.push(format!("write -q -P {byte:#x} {off} 4096"));
    }
    let mut args: Vec<&str> = cmds.iter().map(String::as_str).collect();
    args.push(p.to_str().unwrap());
    run("qemu-io", &args);
    let mut disk = open(&p).unwrap();
    assert_eq!(disk.size(), 5 * 1024 * MIB);
    let mut buf = vec![0u8; 12288];
    for (off, _) in writes {
        let start = off.saturating_sub(4096);
        let n = (disk.size() - start).min(12288) as usize;
        disk.read_at(start, &mut buf[..n]).unwrap();
        for (i, &b) in buf[..n].iter().enumerate() {
            let at = start + i as u64;
            let want = writes.iter().find(|(o, _)| (*o..*o + 4096).contains(&at)).map_or(0, |w| w.1);
            assert_eq!(b, want, "byte at {at:#x} (write at {off:#x})");
        }
    }
    // qemu agrees on a window of each written block.
    let back = dir.join("back.raw");
    qemu(&["convert", "-f", "vhdx", "-O", "raw", p.to_str().unwrap(), back.to_str().unwrap()]);
    let mut f = fs::File::open(&back).unwrap();
    for (off, _) in writes {
        let mut theirs = vec![0u8; 4096];
        f.seek(SeekFrom::Start(off)).unwrap();
        std::io::Read::read_exact(&mut f, &mut theirs).unwrap();
        let mut ours = vec![0u8; 4096];
        disk.read_at(off, &mut ours).unwrap();
        assert!(ours == theirs, "at {off:#x}");
    }
    let _ = fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Dirty logs

/// A dirty image written by qemu itself: qemu logs each BAT update (with a fresh log GUID per
/// entry), applies it and clears the header's LogGuid. Pointing the header back at the last entry
/// and rolling the BAT sector back gives the state of a crash between the log write and the BAT
/// write. Replayed, it must read like qemu's own replay (`qemu-img check -r all`).
#[test]
fn qemu_written_log_is_replayed() {
    if !have_qemu() {
        return;
    }
    let dir = scratch("qemu-log");
    let p = dir.join("d.vhdx");
    qemu(&["create", "-q", "-f", "vhdx", p.to_str().unwrap(), "64M"]);
    run("qemu-io", &["-c", "write -q -P 0xab 0 1M", "-c", "write -q -P 0xcd 20M 3M", p.to_str().unwrap()]);
    let clean = fs::read(&p).unwrap();
    let mut expect = vec![0u8; 64 * MIB as usize];
    expect[..MIB as usize].fill(0xab);
    expect[20 * MIB as usize..23 * MIB as usize].fill(0xcd);
    assert_reads(&mut open(&p).unwrap(), &expect);

    // Find the last log entry.
    let h = current_header(&clean);
    let (log_at, log_len) = (le64(&clean, h + 72) as usize, le32(&clean, h + 68) as usize);
    let mut last = None;
    for pos in (0..log_len).step_by(4096) {
        let e = log_at + pos;
        if &clean[e..e + 4] == b"loge" && last.is_none_or(|(_, s)| le64(&clean, e + 16) > s) {
            last = Some((e, le64(&clean, e + 16)));
        }
    }
    let (entry, _) = last.expect("qemu wrote no log entry");
    let guid: [u8; 16] = clean[entry + 32..entry + 48].try_into().unwrap();
    let target = le64(&clean, entry + 64 + 16) as usize;
    let (bat, _) = region(&clean, 192 * 1024, BAT_GUID4);
    assert_eq!(target, bat, "qemu's entry updates the BAT sector");

    let mut dirty = clean.clone();
    for hdr in [64 * 1024, 128 * 1024] {
        dirty[hdr + 48..hdr + 64].copy_from_slice(&guid);
    }
    fix_headers(&mut dirty);
    // Before the second write, block 2 (16..24 MiB, 8 MiB blocks) was not allocated.
    let before = le64(&clean, bat + 16);
    assert_eq!(before & 7, 6);
    put64(&mut dirty, bat + 16, 0);
    let dp = write(&dir, "dirty.vhdx", &dirty);
    let mut disk = open(&dp).unwrap();
    assert!(disk.log_replayed());
    assert_reads(&mut disk, &expect);

    // qemu refuses it read-only and replays it read-write: the same data.
    let copy = write(&dir, "qemu-replayed.vhdx", &dirty);
    let out =
        Command::new("qemu-img").args(["convert", "-O", "raw", copy.to_str().unwrap(), "/dev/null"]).output().unwrap();
    assert!(!out.status.success(), "qemu read a dirty log read-only");
    qemu(&["check", "-q", "-r", "all", copy.to_str().unwrap()]);
    let back = dir.join("back.raw");
    qemu(&["convert", "-O", "raw", copy.to_str().unwrap(), back.to_str().unwrap()]);
    assert!(fs::read(&back).unwrap() == expect);

    // Without the log, the rolled-back BAT reads zeros there: the replay is what restores it.
    let mut stale = dirty.clone();
    for hdr in [64 * 1024, 128 * 1024] {
        stale[hdr + 48..hdr + 64].fill(0);
    }
    fix_headers(&mut stale);
    let sp = write(&dir, "stale.vhdx", &stale);
    let mut buf = vec![0u8; 4096];
    open(&sp).unwrap().read_at(20 * MIB, &mut buf).unwrap();
    assert!(buf.iter().all(|&b| b == 0));
    let _ = fs::remove_dir_all(&dir);
}

/// One log descriptor.
enum Desc {
    Data(u64, Vec<u8>),
    Zero(u64, u64),
}

/// A log entry as [MS-VHDX] §2.3.1 lays it out, with a valid checksum.
fn log_entry(guid: [u8; 16], seq: u64, tail: u32, flushed: u64, last: u64, descs: &[Desc]) -> Vec<u8> {
    let desc_sectors = (64 + 32 * descs.len()).div_ceil(4096);
    let data: Vec<&Vec<u8>> =
        descs.iter().filter_map(|d| if let Desc::Data(_, p) = d { Some(p) } else { None }).collect();
    let len = (desc_sectors + data.len()) * 4096;
    let mut e = vec![0u8; len];
    e[..4].copy_from_slice(b"loge");
    put32(&mut e, 8, len as u32);
    put32(&mut e, 12, tail);
    put64(&mut e, 16, seq);
    put32(&mut e, 24, descs.len() as u32);
    e[32..48].copy_from_slice(&guid);
    put64(&mut e, 48, flushed);
    put64(&mut e, 56, last);
    let mut k = 0;
    for (j, d) in descs.iter().enumerate() {
        let at = 64 + 32 * j;
        match d {
            Desc::Data(off, page) => {
                e[at..at + 4].copy_from_slice(b"desc");
                e[at + 4..at + 8].copy_from_slice(&page[4092..]);
                e[at + 8..at + 16].copy_from_slice(&page[..8]);
                put64(&mut e, at + 16, *off);
                let s = (desc_sectors + k) * 4096;
                e[s..s + 4].copy_from_slice(b"data");
                put32(&mut e, s + 4, (seq >> 32) as u32);
                e[s + 8..s + 4092].copy_from_slice(&page[8..4092]);
                put32(&mut e, s + 4092, seq as u32);
                k += 1;
            }
            Desc::Zero(off, len) => {
                e[at..at + 4].copy_from_slice(b"zero");
                put64(&mut e, at + 8, *len);
                put64(&mut e, at + 16, *off);
            }
        }
        put64(&mut e, at + 24, seq);
    }
    fix_crc(&mut e, 0, len);
    e
}

/// Writes `entry` into the circular log of `img` at `pos` (wrapping at its end).
fn put_entry(img: &mut [u8], pos: usize, entry: &[u8]) {
    let h = current_header(img);
    let (log_at, log_len) = (le64(img, h + 72) as usize, le32(img, h + 68) as usize);
    for (i, &b) in entry.iter().enumerate() {
        img[log_at + (pos + i) % log_len] = b;
    }
}

fn set_log_guid(img: &mut [u8], guid: [u8; 16]) {
    for hdr in [64 * 1024, 128 * 1024] {
        img[hdr + 48..hdr + 64].copy_from_slice(&guid);
    }
    fix_headers(img);
}

const G: [u8; 16] = *b"log-guid-for-tst";

#[test]
fn hand_built_log_sequences_are_replayed() {
    let dir = scratch("log-seq");
    let Some((vhdx, expect)) = dynamic_fixture(&dir) else { return };
    let clean = fs::read(&vhdx).unwrap();
    let (bat, _) = region(&clean, 192 * 1024, BAT_GUID4);
    let len = clean.len() as u64;
    let good_sector = clean[bat..bat + 4096].to_vec();
    // The stale state: blocks 2 and 5 not allocated.
    let mut stale = clean.clone();
    put64(&mut stale, bat + 2 * 8, 0);
    put64(&mut stale, bat + 5 * 8, 0);
    let mut half = stale[bat..bat + 4096].to_vec();
    half[16..24].copy_from_slice(&good_sector[16..24]);

    // tail entry at the end of the log, wrapping its data sector to the start; head right after.
    let log_len = 1 << 20;
    let tail_pos = log_len - 4096;
    let e1 = log_entry(G, 10, tail_pos as u32, len, len, &[Desc::Data(bat as u64, half.clone())]);
    let e2 = log_entry(G, 11, tail_pos as u32, len, len, &[Desc::Data(bat as u64, good_sector.clone())]);
    let mut img = stale.clone();
    put_entry(&mut img, tail_pos, &e1);
    put_entry(&mut img, 4096, &e2);
    // An older complete sequence elsewhere that would zero the BAT sector: not the newest.
    let old = log_entry(G, 5, 512 * 1024, len, len, &[Desc::Zero(bat as u64, 4096)]);
    put_entry(&mut img, 512 * 1024, &old);
    // A torn newer entry right after the head: bad checksum, ignored.
    let mut torn = log_entry(G, 12, tail_pos as u32, len, len, &[Desc::Zero(bat as u64, 4096)]);
    torn[100] ^= 1;
    put_entry(&mut img, 12 * 1024, &torn);
    // An entry of another log (another GUID) with a higher sequence number: ignored.
    let foreign = log_entry(*b"some-other-guid!", 99, 600 * 1024, len, len, &[Desc::Zero(bat as u64, 4096)]);
    put_entry(&mut img, 600 * 1024, &foreign);
    set_log_guid(&mut img, G);
    let p = write(&dir, "seq.vhdx", &img);
    let mut disk = open(&p).unwrap();
    assert!(disk.log_replayed());
    assert_reads(&mut disk, &expect);

    // Only the tail entry is there (the head was never written): block 5 stays unallocated.
    let mut img = stale.clone();
    put_entry(&mut img, tail_pos, &e1);
    set_log_guid(&mut img, G);
    let p = write(&dir, "tail-only.vhdx", &img);
    let mut partial = expect.clone();
    partial[40 * MIB as usize..].fill(0);
    assert_reads(&mut open(&p).unwrap(), &partial);

    // A zero descriptor over the BAT sector: every block reads as not present.
    let mut img = clean.clone();
    put_entry(&mut img, 0, &log_entry(G, 1, 0, len, len, &[Desc::Zero(bat as u64, 4096)]));
    set_log_guid(&mut img, G);
    let p = write(&dir, "zero.vhdx", &img);
    assert_reads(&mut open(&p).unwrap(), &vec![0u8; expect.len()]);

    // A write past the end of the file, inside LastFileOffset: block 4 is moved there (its data
    // is then the zeros of the extension), and the log's own page past the end reads back.
    let mut sector = good_sector.clone();
    let far = len + 64 * MIB;
    put64(&mut sector, 4 * 8, (far & !(MIB - 1)) | 6);
    let mut img = clean.clone();
    let e = log_entry(G, 1, 0, len, far + 8 * MIB, &[Desc::Data(bat as u64, sector.clone())]);
    put_entry(&mut img, 0, &e);
    set_log_guid(&mut img, G);
    let p = write(&dir, "extend.vhdx", &img);
    let mut moved = expect.clone();
    moved[32 * MIB as usize..40 * MIB as usize].fill(0);
    assert_reads(&mut open(&p).unwrap(), &moved);
    // ... but not past LastFileOffset.
    let mut img = clean.clone();
    put_entry(&mut img, 0, &log_entry(G, 1, 0, len, len, &[Desc::Data(bat as u64, sector)]));
    set_log_guid(&mut img, G);
    let p = write(&dir, "extend-short.vhdx", &img);
    let mut d = open(&p).unwrap();
    let mut buf = [0u8; 512];
    assert!(matches!(d.read_at(33 * MIB, &mut buf), Err(ImageError::Truncated { .. })));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn bad_logs_are_refused() {
    let dir = scratch("log-bad");
    let Some((vhdx, _)) = small_fixture(&dir) else { return };
    let clean = fs::read(&vhdx).unwrap();
    let (bat, _) = region(&clean, 192 * 1024, BAT_GUID4);
    let len = clean.len() as u64;
    let sector = clean[bat..bat + 4096].to_vec();
    let corrupt = |img: &[u8], name: &str| {
        let p = write(&dir, name, img);
        let err = open(&p).err().unwrap_or_else(|| panic!("{name}: opened"));
        eprintln!("{name}: {err}");
        err
    };

    // LogGuid set, log empty: no valid sequence, the file is corrupt ([MS-VHDX] §2.3.3).
    let mut img = clean.clone();
    set_log_guid(&mut img, G);
    assert!(matches!(corrupt(&img, "empty.vhdx"), ImageError::Corrupt { what: "VHDX log", .. }));

    // Truncated below the head's FlushedFileOffset.
    let mut img = clean.clone();
    put_entry(&mut img, 0, &log_entry(G, 1, 0, len + MIB, len, &[Desc::Data(bat as u64, sector.clone())]));
    set_log_guid(&mut img, G);
    assert!(matches!(corrupt(&img, "flushed.vhdx"), ImageError::Corrupt { what: "VHDX log", .. }));

    // A descriptor aimed at the headers.
    let mut img = clean.clone();
    put_entry(&mut img, 0, &log_entry(G, 1, 0, len, len, &[Desc::Data(64 * KIB, sector.clone())]));
    set_log_guid(&mut img, G);
    assert!(matches!(corrupt(&img, "header.vhdx"), ImageError::Corrupt { what: "VHDX log entry", .. }));

    // A zero descriptor whose end passes 2^64.
    let mut img = clean.clone();
    put_entry(&mut img, 0, &log_entry(G, 1, 0, len, len, &[Desc::Zero(u64::MAX - 4095, 1 << 20)]));
    set_log_guid(&mut img, G);
    assert!(matches!(corrupt(&img, "wrap.vhdx"), ImageError::Corrupt { .. }));

    // Descriptor count 0xFFFFFFFF (the qemu #3860 class): not a valid entry, found quickly.
    let mut img = clean.clone();
    let mut e = log_entry(G, 1, 0, len, len, &[Desc::Data(bat as u64, sector.clone())]);
    put32(&mut e, 24, u32::MAX);
    let n = e.len();
    fix_crc(&mut e, 0, n);
    put_entry(&mut img, 0, &e);
    set_log_guid(&mut img, G);
    assert!(matches!(corrupt(&img, "count.vhdx"), ImageError::Corrupt { what: "VHDX log", .. }));

    // Every sector an entry header claiming the whole log, all with bad checksums: the scan
    // stops at its work budget instead of checksumming 256 × 1 MiB.
    let mut img = clean.clone();
    for pos in (0..MIB as usize).step_by(4096) {
        let mut e = vec![0u8; 4096];
        e[..4].copy_from_slice(b"loge");
        put32(&mut e, 8, MIB as u32);
        put64(&mut e, 16, 1 + pos as u64);
        e[32..48].copy_from_slice(&G);
        put_entry(&mut img, pos, &e);
    }
    set_log_guid(&mut img, G);
    let err = corrupt(&img, "budget.vhdx");
    assert!(
        matches!(&err, ImageError::Corrupt { what: "VHDX log", reason, .. } if reason.contains("budget")),
        "{err:?}"
    );

    // A huge log (LogLength 0xFFF00000): over max_table_bytes. A log past the end of the file.
    let mut img = clean.clone();
    for hdr in [64 * 1024, 128 * 1024] {
        put32(&mut img, hdr + 68, 0xFFF0_0000);
    }
    set_log_guid(&mut img, G);
    assert!(matches!(corrupt(&img, "loglen.vhdx"), ImageError::LimitExceeded { limit: "max_table_bytes", .. }));
    let mut img = clean.clone();
    for hdr in [64 * 1024, 128 * 1024] {
        put64(&mut img, hdr + 72, 1 << 40);
    }
    set_log_guid(&mut img, G);
    assert!(matches!(corrupt(&img, "logoff.vhdx"), ImageError::Truncated { .. }));
    for (at, v, name) in [(68, 12345u64, "loglen-odd.vhdx"), (72, 12345, "logoff-odd.vhdx"), (72, 0, "logoff-0.vhdx")] {
        let mut img = clean.clone();
        for hdr in [64 * 1024, 128 * 1024] {
            if at == 68 {
                put32(&mut img, hdr + at, v as u32);
            } else {
                put64(&mut img, hdr + at, v);
            }
        }
        set_log_guid(&mut img, G);
        assert!(matches!(corrupt(&img, name), ImageError::BadField { .. }));
    }
    // Log version 1 with a log to replay.
    let mut img = clean.clone();
    for hdr in [64 * 1024, 128 * 1024] {
        put16(&mut img, hdr + 64, 1);
    }
    set_log_guid(&mut img, G);
    assert!(matches!(corrupt(&img, "logver.vhdx"), ImageError::BadField { what: "VHDX log version", .. }));
    let _ = fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Hand-built differencing disks (qemu cannot create VHDX children)

/// One payload block of a hand-built VHDX: its BAT state, and for present states its data and
/// (partially present) which sectors are present.
struct Block {
    index: u64,
    state: u64,
    data: Vec<u8>,
    bits: Vec<bool>,
}

struct Builder {
    size: u64,
    block_size: u64,
    sector: u64,
    data_write_guid: [u8; 16],
    /// (key, value) parent locator entries; empty: no parent.
    locator: Vec<(String, String)>,
    blocks: Vec<Block>,
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

fn guid_text(g: &[u8; 16]) -> String {
    let h = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    format!("{{{:08x}-{:04x}-{:04x}-{}-{}}}", le32(g, 0), le16(g, 4), le16(g, 6), h(&g[8..10]), h(&g[10..16]))
}

impl Builder {
    fn bytes(&self) -> Vec<u8> {
        let has_parent = !self.locator.is_empty();
        let bs = self.block_size;
        let ratio = (1u64 << 23) * self.sector / bs;
        let data_blocks = self.size.div_ceil(bs);
        let entries = if has_parent {
            data_blocks.div_ceil(ratio) * (ratio + 1)
        } else {
            data_blocks + (data_blocks - 1) / ratio
        };
        let bat_len = (entries * 8).div_ceil(MIB) * MIB;
        let (log_at, meta_at, bat_at) = (MIB, 2 * MIB, 3 * MIB);
        let mut next = bat_at + bat_len;
        let mut out = vec![0u8; next as usize];
        out[..8].copy_from_slice(b"vhdxfile");
        for (i, hdr) in [64 * 1024usize, 128 * 1024].into_iter().enumerate() {
            out[hdr..hdr + 4].copy_from_slice(b"head");
            put64(&mut out, hdr + 8, i as u64 + 1);
            out[hdr + 16..hdr + 32].copy_from_slice(b"file-write-guid!");
            out[hdr + 32..hdr + 48].copy_from_slice(&self.data_write_guid);
            put16(&mut out, hdr + 66, 1);
            put32(&mut out, hdr + 68, MIB as u32);
            put64(&mut out, hdr + 72, log_at);
        }
        fix_headers(&mut out);
        for rt in [192 * 1024usize, 256 * 1024] {
            out[rt..rt + 4].copy_from_slice(b"regi");
            put32(&mut out, rt + 8, 2);
            out[rt + 16..rt + 32].copy_from_slice(&guid(
                0x2DC2_7766,
                0xF623,
                0x4200,
                [0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A, 0x08],
            ));
            put64(&mut out, rt + 32, bat_at);
            put32(&mut out, rt + 40, bat_len as u32);
            put32(&mut out, rt + 44, 1);
            out[rt + 48..rt + 64].copy_from_slice(&guid(
                0x8B7C_A206,
                0x4790,
                0x4B9A,
                [0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88, 0x6E],
            ));
            put64(&mut out, rt + 64, meta_at);
            put32(&mut out, rt + 72, MIB as u32);
            put32(&mut out, rt + 76, 1);
        }
        fix_region_tables(&mut out);
        // Metadata.
        let m = meta_at as usize;
        out[m..m + 8].copy_from_slice(b"metadata");
        let mut items: Vec<([u8; 16], Vec<u8>, u32)> = vec![
            (
                guid(0xCAA1_6737, 0xFA36, 0x4D43, [0xB3, 0xB6, 0x33, 0xF0, 0xAA, 0x44, 0xE7, 0x6B]),
                [(bs as u32).to_le_bytes(), (if has_parent { 2u32 } else { 0 }).to_le_bytes()].concat(),
                4,
            ),
            (
                guid(0x2FA5_4224, 0xCD1B, 0x4876, [0xB2, 0x11, 0x5D, 0xBE, 0xD8, 0x3B, 0xF4, 0xB8]),
                self.size.to_le_bytes().to_vec(),
                6,
            ),
            (guid(0xBECA_12AB, 0xB2E6, 0x4523, [0x93, 0xEF, 0xC3, 0x09, 0xE0, 0x00, 0xC7, 0x46]), vec![0x5a; 16], 6),
            (
                guid(0x8141_BF1D, 0xA96F, 0x4709, [0xBA, 0x47, 0xF2, 0x33, 0xA8, 0xFA, 0xAB, 0x5F]),
                (self.sector as u32).to_le_bytes().to_vec(),
                6,
            ),
            (
                guid(0xCDA3_48C7, 0x445D, 0x4471, [0x9C, 0xC9, 0xE9, 0x88, 0x52, 0x51, 0xC5, 0x56]),
                4096u32.to_le_bytes().to_vec(),
                6,
            ),
        ];
        if has_parent {
            let mut loc = guid(0xB04A_EFB7, 0xD19E, 0x4A81, [0xB7, 0x89, 0x25, 0xB8, 0xE9, 0x44, 0x59, 0x13]).to_vec();
            loc.extend_from_slice(&0u16.to_le_bytes());
            loc.extend_from_slice(&(self.locator.len() as u16).to_le_bytes());
            let mut strings = Vec::new();
            let base = 20 + 12 * self.locator.len();
            for (k, v) in &self.locator {
                let (k, v) = (utf16le(k), utf16le(v));
                let ko = base + strings.len();
                strings.extend_from_slice(&k);
                let vo = base + strings.len();
                strings.extend_from_slice(&v);
                loc.extend_from_slice(&(ko as u32).to_le_bytes());
                loc.extend_from_slice(&(vo as u32).to_le_bytes());
                loc.extend_from_slice(&(k.len() as u16).to_le_bytes());
                loc.extend_from_slice(&(v.len() as u16).to_le_bytes());
            }
            loc.extend_from_slice(&strings);
            items.push((guid(0xA8D3_5F2D, 0xB30B, 0x454D, [0xAB, 0xF7, 0xD3, 0xD8, 0x48, 0x34, 0xAB, 0x0C]), loc, 4));
        }
        put16(&mut out, m + 10, items.len() as u16);
        let mut item_at = 64 * 1024;
        for (i, (id, data, flags)) in items.iter().enumerate() {
            let e = m + 32 + 32 * i;
            out[e..e + 16].copy_from_slice(id);
            put32(&mut out, e + 16, item_at as u32);
            put32(&mut out, e + 20, data.len() as u32);
            put32(&mut out, e + 24, *flags);
            out[m + item_at..m + item_at + data.len()].copy_from_slice(data);
            item_at += data.len();
        }
        // Payload blocks, then sector bitmap blocks for chunks with partially present blocks.
        let mut bat = vec![0u64; entries as usize];
        let mut bitmaps: Vec<(u64, Vec<u8>)> = Vec::new();
        for b in &self.blocks {
            let idx = b.index + b.index / ratio;
            let mut entry = b.state;
            if b.state == 6 || b.state == 7 {
                entry |= next;
                out.resize((next + bs) as usize, 0);
                out[next as usize..next as usize + b.data.len()].copy_from_slice(&b.data);
                next += bs;
            }
            bat[idx as usize] = entry;
            if b.state == 7 {
                let chunk = b.index / ratio;
                let pos = bitmaps.iter().position(|(c, _)| *c == chunk).unwrap_or_else(|| {
                    bitmaps.push((chunk, vec![0u8; MIB as usize]));
                    bitmaps.len() - 1
                });
                let first = (b.index % ratio) * (bs / self.sector);
                for (s, &set) in b.bits.iter().enumerate() {
                    if set {
                        let bit = first as usize + s;
                        bitmaps[pos].1[bit / 8] |= 1 << (bit % 8);
                    }
                }
            }
        }
        for (chunk, bits) in bitmaps {
            bat[(chunk * (ratio + 1) + ratio) as usize] = next | 6;
            out.extend_from_slice(&bits);
            next += MIB;
        }
        for (i, e) in bat.iter().enumerate() {
            put64(&mut out, bat_at as usize + 8 * i, *e);
        }
        out
    }

    /// Lays this file's blocks over `expect` (the parent's contents).
    fn overlay(&self, expect: &mut [u8]) {
        let bs = self.block_size as usize;
        for b in &self.blocks {
            let base = b.index as usize * bs;
            let end = (base + bs).min(expect.len());
            match b.state {
                0 if !self.locator.is_empty() => {}
                6 => expect[base..end].copy_from_slice(&b.data[..end - base]),
                7 => {
                    let ss = self.sector as usize;
                    for (s, &set) in b.bits.iter().enumerate() {
                        let at = base + s * ss;
                        if set && at < end {
                            expect[at..at + ss].copy_from_slice(&b.data[s * ss..(s + 1) * ss]);
                        }
                    }
                }
                _ => expect[base..end].fill(0),
            }
        }
    }
}

fn guid(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> [u8; 16] {
    let mut g = [0u8; 16];
    g[..4].copy_from_slice(&d1.to_le_bytes());
    g[4..6].copy_from_slice(&d2.to_le_bytes());
    g[6..8].copy_from_slice(&d3.to_le_bytes());
    g[8..].copy_from_slice(&d4);
    g
}

fn data_write_guid(path: &Path) -> [u8; 16] {
    let b = fs::read(path).unwrap();
    let h = current_header(&b);
    b[h + 32..h + 48].try_into().unwrap()
}

/// A child with 1 MiB blocks (qemu's parent has 8 MiB ones): partially present blocks with runs,
/// alternating sectors and no sectors; fully present, zero, unmapped, undefined and not present
/// blocks; and the last block partially present.
fn child_blocks(size: u64, seed: u64) -> Vec<Block> {
    let bs = MIB as usize;
    let spb = bs / 512;
    let last = size.div_ceil(MIB) - 1;
    let partial = |index: u64, f: &dyn Fn(usize) -> bool| Block {
        index,
        state: 7,
        data: pattern(seed + index, bs),
        bits: (0..spb).map(f).collect(),
    };
    vec![
        partial(0, &|s| s < 8 || (100..105).contains(&s)),
        Block { index: 2, state: 6, data: pattern(seed + 2, bs), bits: vec![] },
        Block { index: 3, state: 2, data: vec![], bits: vec![] },
        Block { index: 4, state: 3, data: vec![], bits: vec![] },
        Block { index: 5, state: 1, data: vec![], bits: vec![] },
        partial(8, &|s| s % 2 == 1),
        partial(9, &|_| false),
        partial(20, &|s| s % 7 < 3),
        partial(last, &|s| s >= 1000),
    ]
}

fn child(size: u64, dwg: u8, seed: u64, locator: Vec<(&str, String)>) -> Builder {
    Builder {
        size,
        block_size: MIB,
        sector: 512,
        data_write_guid: [dwg; 16],
        locator: locator.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        blocks: child_blocks(size, seed),
    }
}

#[test]
fn differencing_chain_reads_child_over_parent() {
    let dir = scratch("diff");
    let Some((base, base_expect)) = dynamic_fixture(&dir) else { return };
    let size = base_expect.len() as u64;
    let linkage = guid_text(&data_write_guid(&base));

    // mid: a volume path and an absolute path that cannot resolve here, and a relative one that can.
    let mid = child(
        size,
        0x11,
        100,
        vec![
            ("parent_linkage", linkage.clone()),
            ("absolute_win32_path", r"\\?\D:\VMs\dyn.vhdx".into()),
            ("volume_path", r"\\?\Volume{26a21bda-a627-11d7-9931-806e6f6e6963}\VMs\dyn.vhdx".into()),
            ("relative_path", r".\dyn.vhdx".into()),
        ],
    );
    let mid_path = write(&dir, "mid.vhdx", &mid.bytes());
    let mut expect = base_expect.clone();
    mid.overlay(&mut expect);
    let mut disk = open(&mid_path).unwrap();
    assert_eq!(disk.chain_len(), 2);
    assert_reads(&mut disk, &expect);

    // top over mid, linked through parent_linkage2 (parent_linkage is stale).
    let top = child(
        size,
        0x22,
        200,
        vec![
            ("parent_linkage", "{00000000-0000-0000-0000-000000000000}".into()),
            ("parent_linkage2", guid_text(&[0x11; 16]).to_uppercase()),
            ("relative_path", "mid.vhdx".into()),
        ],
    );
    let top_path = write(&dir, "top.vhdx", &top.bytes());
    top.overlay(&mut expect);
    let mut disk = open(&top_path).unwrap();
    assert_eq!(disk.chain_len(), 3);
    assert_reads(&mut disk, &expect);

    let mut limits = ImageLimits::default();
    limits.max_chain_depth = 1;
    let err = open_with(&top_path, &limits).err().unwrap();
    assert!(matches!(err, ImageError::LimitExceeded { limit: "max_chain_depth", .. }), "{err:?}");

    let counters = Arc::new(Counters::default());
    let src = FileSource::open_path(&mid_path, counters, &ImageLimits::default()).unwrap();
    let err = VhdxDisk::open(src, &NoResolver, &ImageLimits::default()).err().unwrap();
    assert!(matches!(err, ImageError::ExternalReference { what: "VHDX parent", .. }), "{err:?}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn differencing_parent_checks() {
    let dir = scratch("diff-checks");
    let Some((base, base_expect)) = dynamic_fixture(&dir) else { return };
    let size = base_expect.len() as u64;
    let linkage = guid_text(&data_write_guid(&base));
    let fails = |b: &Builder, name: &str| {
        let p = write(&dir, name, &b.bytes());
        let err = open(&p).err().unwrap_or_else(|| panic!("{name}: opened"));
        eprintln!("{name}: {err}");
        err
    };

    // The parent changed since the child was made.
    let c = child(
        size,
        1,
        1,
        vec![("parent_linkage", "{12345678-0000-0000-0000-000000000000}".into()), ("relative_path", "dyn.vhdx".into())],
    );
    assert!(matches!(fails(&c, "linkage.vhdx"), ImageError::Corrupt { what: "VHDX parent header", .. }));
    // No linkage at all; no path at all.
    let c = child(size, 1, 1, vec![("relative_path", "dyn.vhdx".into())]);
    assert!(matches!(fails(&c, "nolinkage.vhdx"), ImageError::Corrupt { what: "VHDX parent locator", .. }));
    let c = child(size, 1, 1, vec![("parent_linkage", linkage.clone())]);
    assert!(matches!(fails(&c, "nopath.vhdx"), ImageError::ExternalReference { .. }));
    // Outside the folder, and a host file.
    let outside = dir.parent().unwrap().join(format!("vhdx-outside-{}.vhdx", std::process::id()));
    fs::copy(&base, &outside).unwrap();
    let rel = format!(r"..\{}", outside.file_name().unwrap().to_str().unwrap());
    for path in [rel, outside.display().to_string(), "/etc/passwd".into()] {
        let c = child(size, 1, 1, vec![("parent_linkage", linkage.clone()), ("relative_path", path.clone())]);
        assert!(matches!(fails(&c, "outside.vhdx"), ImageError::ExternalReference { .. }), "{path}");
    }
    let _ = fs::remove_file(&outside);
    // Its own parent, and two files naming each other: bounded by the chain depth.
    let c =
        child(size, 0x44, 1, vec![("parent_linkage", guid_text(&[0x44; 16])), ("relative_path", "self.vhdx".into())]);
    assert!(matches!(fails(&c, "self.vhdx"), ImageError::LimitExceeded { limit: "max_chain_depth", .. }));
    let a = child(size, 0x45, 1, vec![("parent_linkage", guid_text(&[0x46; 16])), ("relative_path", "b.vhdx".into())]);
    let b = child(size, 0x46, 1, vec![("parent_linkage", guid_text(&[0x45; 16])), ("relative_path", "a.vhdx".into())]);
    write(&dir, "b.vhdx", &b.bytes());
    assert!(matches!(fails(&a, "a.vhdx"), ImageError::LimitExceeded { .. }));
    // A parent with another logical sector size.
    let p4k =
        Builder { size, block_size: MIB, sector: 4096, data_write_guid: [0x47; 16], locator: vec![], blocks: vec![] };
    write(&dir, "p4k.vhdx", &p4k.bytes());
    let c = child(size, 1, 1, vec![("parent_linkage", guid_text(&[0x47; 16])), ("relative_path", "p4k.vhdx".into())]);
    assert!(matches!(fails(&c, "sector.vhdx"), ImageError::Corrupt { what: "VHDX parent", .. }));
    // A locator of another type; entries past the item; keys that are not UTF-16.
    let c = child(size, 1, 1, vec![("parent_linkage", linkage.clone()), ("relative_path", "dyn.vhdx".into())]);
    let good = c.bytes();
    let (_, loc) = meta_item(&good, [0x2d, 0x5f, 0xd3, 0xa8]);
    let mut b = good.clone();
    b[loc] ^= 1;
    let p = write(&dir, "loctype.vhdx", &b);
    assert!(matches!(open(&p), Err(ImageError::Unsupported(_))));
    let mut b = good.clone();
    put16(&mut b, loc + 18, 0xFFFF);
    let p = write(&dir, "loccount.vhdx", &b);
    assert!(matches!(open(&p), Err(ImageError::Corrupt { what: "VHDX parent locator", .. })));
    let mut b = good.clone();
    put32(&mut b, loc + 20 + 4, 0xFFFF_FFF0);
    let p = write(&dir, "locoff.vhdx", &b);
    assert!(matches!(open(&p), Err(ImageError::Corrupt { what: "VHDX parent locator", .. })));
    let mut b = good.clone();
    let key = loc + le32(&good, loc + 20) as usize;
    b[key..key + 2].copy_from_slice(&0xDC00u16.to_le_bytes());
    let p = write(&dir, "locutf.vhdx", &b);
    assert!(matches!(open(&p), Err(ImageError::Corrupt { what: "VHDX parent locator", .. })));
    // HasParent without a locator.
    let mut b = good.clone();
    let (entry, _) = meta_item(&good, [0x2d, 0x5f, 0xd3, 0xa8]);
    b[entry] ^= 1;
    put32(&mut b, entry + 24, 0);
    let p = write(&dir, "noloc.vhdx", &b);
    assert!(matches!(open(&p), Err(ImageError::Corrupt { what: "VHDX metadata table", .. })));

    // Partially present blocks whose sector bitmap entry is missing fail when read.
    let c = child(size, 1, 1, vec![("parent_linkage", linkage.clone()), ("relative_path", "dyn.vhdx".into())]);
    let mut b = c.bytes();
    let (bat, _) = region(&b, 192 * 1024, BAT_GUID4);
    put64(&mut b, bat + 4096 * 8, 0);
    let p = write(&dir, "nobitmap.vhdx", &b);
    let mut d = open(&p).unwrap();
    let mut buf = [0u8; 4096];
    assert!(matches!(d.read_at(0, &mut buf), Err(ImageError::Corrupt { .. })));
    d.read_at(2 * MIB, &mut buf).unwrap();
    // ... and a bitmap entry pointing past the end of the file.
    put64(&mut b, bat + 4096 * 8, (1 << 40) | 6);
    let p = write(&dir, "farbitmap.vhdx", &b);
    assert!(matches!(open(&p).unwrap().read_at(0, &mut buf), Err(ImageError::Truncated { .. })));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn hand_built_disks_without_parent() {
    // No qemu needed: a dynamic disk with 4 KiB logical sectors and every block state.
    let dir = scratch("handmade");
    let size = 40 * MIB + 8192;
    let b = Builder {
        size,
        block_size: 2 * MIB,
        sector: 4096,
        data_write_guid: [3; 16],
        locator: vec![],
        blocks: vec![
            Block { index: 0, state: 6, data: pattern(1, 2 * MIB as usize), bits: vec![] },
            Block { index: 1, state: 2, data: vec![], bits: vec![] },
            Block { index: 2, state: 3, data: vec![], bits: vec![] },
            Block { index: 3, state: 1, data: vec![], bits: vec![] },
            Block { index: 7, state: 6, data: pattern(2, 2 * MIB as usize), bits: vec![] },
            Block { index: 20, state: 6, data: pattern(3, 2 * MIB as usize), bits: vec![] },
        ],
    };
    let p = write(&dir, "dyn4k.vhdx", &b.bytes());
    let mut expect = vec![0u8; size as usize];
    b.overlay(&mut expect);
    assert_reads(&mut open(&p).unwrap(), &expect);

    // A partially present block in a disk without a parent is an error when read.
    let mut bad = b.bytes();
    let (bat, _) = region(&bad, 192 * 1024, BAT_GUID4);
    let e = le64(&bad, bat + 7 * 8);
    put64(&mut bad, bat + 7 * 8, e | 7);
    // Reserved states 4 and 5.
    let e0 = le64(&bad, bat);
    put64(&mut bad, bat, (e0 & !7) | 4);
    let p = write(&dir, "states.vhdx", &bad);
    let mut d = open(&p).unwrap();
    let mut buf = [0u8; 512];
    assert!(matches!(d.read_at(0, &mut buf), Err(ImageError::Corrupt { what: "VHDX BAT", .. })));
    assert!(matches!(d.read_at(7 * 2 * MIB, &mut buf), Err(ImageError::Corrupt { what: "VHDX BAT", .. })));
    d.read_at(40 * MIB, &mut buf).unwrap();
    let _ = fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Hostile variants of a real image

#[test]
fn hostile_headers_and_tables_give_typed_errors() {
    let dir = scratch("hostile");
    let Some((vhdx, expect)) = small_fixture(&dir) else { return };
    let img = fs::read(&vhdx).unwrap();
    let mut n = 0;
    let mut check = |name: &str, b: &[u8], ok: &dyn Fn(&ImageError) -> bool| {
        let p = write(&dir, "case.vhdx", b);
        let err = open(&p).err().unwrap_or_else(|| panic!("{name}: opened"));
        assert!(ok(&err), "{name}: {err:?}");
        eprintln!("{name}: {err}");
        n += 1;
    };
    let both_tables = |f: &dyn Fn(&mut Vec<u8>, usize)| {
        let mut b = img.clone();
        for rt in [192 * 1024, 256 * 1024] {
            f(&mut b, rt);
        }
        fix_region_tables(&mut b);
        b
    };
    let field = |e: &ImageError| matches!(e, ImageError::BadField { .. });

    let mut b = img.clone();
    b[0] = b'X';
    check("file identifier", &b, &|e| matches!(e, ImageError::BadSignature { .. }));
    let mut b = img.clone();
    b[64 * 1024 + 200] ^= 1;
    b[128 * 1024 + 200] ^= 1;
    check("both header checksums", &b, &|e| matches!(e, ImageError::BadChecksum { what: "VHDX header", .. }));
    let mut b = img.clone();
    for hdr in [64 * 1024, 128 * 1024] {
        put16(&mut b, hdr + 66, 2);
    }
    fix_headers(&mut b);
    check("header version 2", &b, &field);
    check("region count 2^31", &both_tables(&|b, rt| put32(b, rt + 8, 1 << 31)), &field);
    check("region count 2048", &both_tables(&|b, rt| put32(b, rt + 8, 2048)), &field);
    check(
        "both region table checksums",
        &{
            let mut b = img.clone();
            b[192 * 1024 + 100] ^= 1;
            b[256 * 1024 + 100] ^= 1;
            b
        },
        &|e| matches!(e, ImageError::BadChecksum { what: "VHDX region table", .. }),
    );
    let (_, bat_entry) = region(&img, 192 * 1024, BAT_GUID4);
    let bat_e = bat_entry - 192 * 1024;
    check("BAT region offset 1 TiB", &both_tables(&|b, rt| put64(b, rt + bat_e + 16, 1 << 40)), &|e| {
        matches!(e, ImageError::Truncated { .. })
    });
    check("BAT region offset not aligned", &both_tables(&|b, rt| put64(b, rt + bat_e + 16, 3 * MIB + 512)), &field);
    check("BAT region offset 0", &both_tables(&|b, rt| put64(b, rt + bat_e + 16, 0)), &field);
    check(
        "BAT region offset u64::MAX - 1 MiB + 1",
        &both_tables(&|b, rt| put64(b, rt + bat_e + 16, u64::MAX - MIB + 1)),
        &field,
    );
    check("BAT region length 0", &both_tables(&|b, rt| put32(b, rt + bat_e + 24, 0)), &field);
    check(
        "unknown required region",
        &both_tables(&|b, rt| {
            b[rt + bat_e] ^= 0x55;
            put32(b, rt + bat_e + 28, 1);
        }),
        &|e| matches!(e, ImageError::Unsupported(_)),
    );
    check("BAT region missing", &both_tables(&|b, rt| b[rt + bat_e] ^= 0x55), &|e| {
        matches!(e, ImageError::Corrupt { what: "VHDX region table", .. })
    });
    check(
        "BAT region twice",
        &both_tables(&|b, rt| {
            let other = if bat_e == 16 { 48 } else { 16 };
            let id: [u8; 16] = b[rt + bat_e..rt + bat_e + 16].try_into().unwrap();
            b[rt + other..rt + other + 16].copy_from_slice(&id);
        }),
        &|e| matches!(e, ImageError::Corrupt { what: "VHDX region table", .. }),
    );

    // Metadata: no checksum, so one field is enough.
    let (meta, _) = region(&img, 192 * 1024, META_GUID4);
    let meta_patch = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = img.clone();
        f(&mut b);
        b
    };
    check("metadata count 0xFFFF", &meta_patch(&|b| put16(b, meta + 10, 0xFFFF)), &field);
    check("metadata count 2048", &meta_patch(&|b| put16(b, meta + 10, 2048)), &field);
    check("metadata signature", &meta_patch(&|b| b[meta] = b'X'), &|e| matches!(e, ImageError::BadSignature { .. }));
    let (fp_entry, fp) = meta_item(&img, FILE_PARAMS4);
    let (size_entry, size_at) = meta_item(&img, DISK_SIZE4);
    let (lss_entry, lss_at) = meta_item(&img, LOGICAL4);
    check("item offset past the region", &meta_patch(&|b| put32(b, fp_entry + 16, 0xFFFF_FFF0)), &field);
    check("item offset inside the table", &meta_patch(&|b| put32(b, fp_entry + 16, 100)), &field);
    check("item length 2 MiB", &meta_patch(&|b| put32(b, size_entry + 20, 2 << 20)), &field);
    check("item length 7", &meta_patch(&|b| put32(b, size_entry + 20, 7)), &|e| {
        matches!(e, ImageError::Corrupt { .. })
    });
    check(
        "size item missing",
        &meta_patch(&|b| {
            b[size_entry] ^= 0x55;
            put32(b, size_entry + 24, 0);
        }),
        &|e| matches!(e, ImageError::Corrupt { what: "VHDX metadata table", .. }),
    );
    check("unknown required item", &meta_patch(&|b| b[size_entry] ^= 0x55), &|e| {
        matches!(e, ImageError::Unsupported(_))
    });
    check(
        "item twice",
        &meta_patch(&|b| {
            let id: [u8; 16] = b[fp_entry..fp_entry + 16].try_into().unwrap();
            b[size_entry..size_entry + 16].copy_from_slice(&id);
        }),
        &|e| matches!(e, ImageError::Corrupt { .. }),
    );
    for (name, bs) in [
        ("block size 0", 0u32),
        ("block size 3 MiB", 3 << 20),
        ("block size 512 KiB", 512 << 10),
        ("block size 512 MiB", 512 << 20),
        ("block size 2^31", 1 << 31),
    ] {
        check(name, &meta_patch(&|b| put32(b, fp, bs)), &field);
    }
    for (name, v) in [
        ("virtual size 2^63", 1u64 << 63),
        ("virtual size (2^32 + 8) × 8 MiB", ((1u64 << 32) + 8) * 8 * MIB),
        ("virtual size 64 TiB + 512", (64 << 40) + 512),
        ("virtual size not a sector multiple", RAW_SIZE + 1),
    ] {
        check(name, &meta_patch(&|b| put64(b, size_at, v)), &field);
    }
    check("logical sector 1024", &meta_patch(&|b| put32(b, lss_at, 1024)), &field);
    check("logical sector 0", &meta_patch(&|b| put32(b, lss_at, 0)), &field);
    let (_, pss_at) = meta_item(&img, [0xc7, 0x48, 0xa3, 0xcd]);
    check("physical sector 1", &meta_patch(&|b| put32(b, pss_at, 1)), &field);
    let _ = lss_entry;
    // 64 TiB with 1 MiB blocks needs a 512 MiB BAT: more than the 1 MiB region holds...
    check("virtual size 64 TiB, BAT region too small", &meta_patch(&|b| put64(b, size_at, 64 << 40)), &field);
    // ... and with the region length raised, more than max_table_bytes.
    let mut b = both_tables(&|b, rt| put32(b, rt + bat_e + 24, 0xFFF0_0000));
    put64(&mut b, size_at, 64 << 40);
    check("virtual size 64 TiB, BAT over the limit", &b, &|e| {
        matches!(e, ImageError::LimitExceeded { limit: "max_table_bytes", .. })
    });
    eprintln!("{n} hostile cases");

    // Still valid: the first header or region table damaged (the other is used), and 4 KiB
    // logical sectors (the chunk ratio goes from 4096 to 32768; 48 blocks stay in one chunk).
    let mut b = img.clone();
    b[current_header(&img) + 300] ^= 1;
    b[192 * 1024 + 300] ^= 1;
    let p = write(&dir, "fallback.vhdx", &b);
    assert_reads(&mut open(&p).unwrap(), &expect);
    let p = write(&dir, "lss4k.vhdx", &meta_patch(&|b| put32(b, lss_at, 4096)));
    assert_reads(&mut open(&p).unwrap(), &expect);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn hostile_bat_entries_fail_at_use() {
    let dir = scratch("bat");
    let Some((vhdx, expect)) = dynamic_fixture(&dir) else { return };
    let img = fs::read(&vhdx).unwrap();
    let (bat, _) = region(&img, 192 * 1024, BAT_GUID4);
    let mut b = img.clone();
    put64(&mut b, bat, (1 << 40) | 6); // block 0 at 1 TiB
    put64(&mut b, bat + 8, 6); // block 1 "present" at offset 0
    put64(&mut b, bat + 16, (le64(&img, bat + 16) & !7) | 5); // block 2 reserved state
    put64(&mut b, bat + 24, u64::MAX); // block 3: every bit set (state 7, no parent)
    let last_mib = b.len() as u64 - MIB;
    put64(&mut b, bat + 40, last_mib | 6); // block 5 runs past the end
    let p = write(&dir, "bat.vhdx", &b);
    let mut d = open(&p).unwrap();
    let mut buf = vec![0u8; 8192];
    assert!(matches!(d.read_at(0, &mut buf), Err(ImageError::Truncated { what: "VHDX payload block", .. })));
    assert!(matches!(d.read_at(8 * MIB, &mut buf), Err(ImageError::Corrupt { .. })));
    assert!(matches!(d.read_at(16 * MIB, &mut buf), Err(ImageError::Corrupt { .. })));
    assert!(matches!(d.read_at(24 * MIB, &mut buf), Err(ImageError::Corrupt { .. })));
    assert!(matches!(d.read_at(RAW_SIZE - 8192, &mut buf), Err(ImageError::Truncated { .. })));
    // Block 4 is untouched.
    d.read_at(32 * MIB, &mut buf).unwrap();
    assert!(buf[..] == expect[32 * MIB as usize..32 * MIB as usize + 8192]);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn truncated_images_never_panic() {
    if !have_qemu() {
        return;
    }
    let dir = scratch("truncated");
    let raw = dir.join("src.raw");
    make_raw(&raw);
    for opts in ["subformat=dynamic", "subformat=fixed,block_size=1M"] {
        let img = fs::read(qemu_vhdx(&dir, &raw, "t.vhdx", opts)).unwrap();
        let n = img.len();
        for cut in [
            0,
            7,
            8,
            4096,
            64 * 1024,
            68 * 1024,
            128 * 1024 + 100,
            192 * 1024,
            200 * 1024,
            256 * 1024,
            320 * 1024,
            MIB as usize,
            2 * MIB as usize + 10,
            3 * MIB as usize + 4096,
            n / 2,
            n - 4096,
            n - 1,
        ] {
            if cut > n {
                continue;
            }
            let p = write(&dir, "cut.vhdx", &img[..cut]);
            match open(&p) {
                Ok(mut d) => {
                    let r = read_all_typed(&mut d);
                    eprintln!("{opts} cut at {cut}: opened, read {:?}", r.err().map(|e| e.to_string()));
                }
                Err(e) => eprintln!("{opts} cut at {cut}: {e}"),
            }
        }
    }
    let _ = fs::remove_dir_all(&dir);
}
