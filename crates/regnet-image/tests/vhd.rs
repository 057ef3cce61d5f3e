//! VHD reader tests: qemu-made fixed and dynamic images compared byte for byte with qemu's own
//! raw conversion, hand-built differencing chains, and hostile variants of real images.
//!
//! Tests that need `qemu-img` print why and pass when it is absent.

use regnet_image::container::vhd::VhdDisk;
use regnet_image::{Counters, DirResolver, FileSource, ImageError, ImageLimits, NoResolver, VirtualDisk};
use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const MIB: u64 = 1 << 20;
const RAW_SIZE: u64 = 48 * MIB;

// ---------------------------------------------------------------------------------------------
// Helpers

fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("vhd-{name}-{}", std::process::id()));
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

fn qemu(args: &[&str]) {
    let out = Command::new("qemu-img").args(args).output().unwrap();
    assert!(out.status.success(), "qemu-img {args:?}: {}", String::from_utf8_lossy(&out.stderr));
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

/// Where the test raw disk has data: straddling sector, 1 MiB, 2 MiB (VHD block) and 8 MiB
/// boundaries, one long run, and the very end.
const PATTERNS: &[(u64, usize)] = &[
    (0, 4096),
    (3 * 512 + 7, 1000),
    (MIB - 100, 300),
    (2 * MIB - 3000, 10_000),
    (6 * MIB - 1, 2),
    (8 * MIB - 5000, 70_000),
    (20 * MIB + 12_345, 300 * 1024),
    (32 * MIB - 1, 2),
    (RAW_SIZE - 8192, 8192),
];

/// A sparse raw disk with the patterns; returns its bytes too.
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

fn open_with(path: &Path, limits: &ImageLimits) -> regnet_image::Result<VhdDisk> {
    let counters = Arc::new(Counters::default());
    let src = FileSource::open_path(path, counters.clone(), limits)?;
    let resolver = DirResolver::new(path.parent().unwrap(), &[], counters, *limits);
    VhdDisk::open(src, &resolver, limits)
}

fn open(path: &Path) -> regnet_image::Result<VhdDisk> {
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
    // Odd sizes at odd offsets, covering the whole disk several times over in total.
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
    let mut two = [0u8; 2];
    assert!(matches!(disk.read_at(expect.len() as u64 - 1, &mut two), Err(ImageError::OutOfRange { .. })));
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

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}
fn be64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}
fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_be_bytes());
}

/// Recomputes the VHD checksum of the structure at `at` (footer: field 64; dynamic header: 36).
fn fix_sum(b: &mut [u8], at: usize, len: usize, field: usize) {
    put32(b, at + field, 0);
    let sum = b[at..at + len].iter().fold(0u32, |s, &x| s.wrapping_add(u32::from(x)));
    put32(b, at + field, !sum);
}

/// Applies `patch` to both footers and the dynamic header of a dynamic VHD image's bytes, fixing
/// the checksums so that only the patched fields are wrong.
fn patched(img: &[u8], patch: impl Fn(&mut [u8], usize, usize)) -> Vec<u8> {
    let mut b = img.to_vec();
    let tail = b.len() - 512;
    let hdr = be64(&b, tail + 16) as usize;
    patch(&mut b, tail, hdr);
    fix_sum(&mut b, 0, 512, 64);
    fix_sum(&mut b, tail, 512, 64);
    fix_sum(&mut b, hdr, 1024, 36);
    b
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, bytes).unwrap();
    p
}

/// The qemu-made dynamic fixture and its expected contents.
fn dynamic_fixture(dir: &Path) -> Option<(PathBuf, Vec<u8>)> {
    if !have_qemu() {
        return None;
    }
    let raw = dir.join("src.raw");
    let mut expect = make_raw(&raw);
    let vhd = dir.join("dyn.vhd");
    qemu(&["convert", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic", raw.to_str()?, vhd.to_str()?]);
    let size = open(&vhd).unwrap().size();
    expect.resize(size as usize, 0);
    Some((vhd, expect))
}

// ---------------------------------------------------------------------------------------------
// qemu-made images

fn roundtrip(subformat: &str) {
    if !have_qemu() {
        return;
    }
    let dir = scratch(subformat);
    let raw = dir.join("src.raw");
    let original = make_raw(&raw);
    let vhd = dir.join("disk.vhd");
    qemu(&[
        "convert",
        "-f",
        "raw",
        "-O",
        "vpc",
        "-o",
        &format!("subformat={subformat}"),
        raw.to_str().unwrap(),
        vhd.to_str().unwrap(),
    ]);
    let back = dir.join("back.raw");
    qemu(&["convert", "-f", "vpc", "-O", "raw", vhd.to_str().unwrap(), back.to_str().unwrap()]);
    let mut disk = open(&vhd).unwrap();
    assert_eq!(disk.chain_len(), 1);
    // The virtual size is the footer's current size: qemu rounds 48 MiB up to a CHS geometry.
    let size = disk.size() as usize;
    assert!(size >= original.len() && size < original.len() + 4 * MIB as usize, "size {size}");
    let reference = fs::read(&back).unwrap();
    // qemu reports a fixed disk's size as the whole file (footer included): compare what the
    // footer says is the disk.
    assert!(reference.len() >= size);
    let reference = &reference[..size];
    let mut padded = original.clone();
    padded.resize(size, 0);
    assert!(reference == padded.as_slice(), "qemu's raw conversion differs from the source");
    assert_reads(&mut disk, reference);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn fixed_matches_qemu() {
    roundtrip("fixed");
}

#[test]
fn dynamic_matches_qemu() {
    roundtrip("dynamic");
}

#[test]
fn detected_and_opened_through_open_container() {
    let dir = scratch("detect");
    let Some((vhd, expect)) = dynamic_fixture(&dir) else { return };
    let counters = Arc::new(Counters::default());
    let limits = ImageLimits::default();
    let mut src = FileSource::open_path(&vhd, counters.clone(), &limits).unwrap();
    let format = regnet_image::detect(&mut src).unwrap();
    assert_eq!(format, regnet_image::ContainerFormat::Vhd);
    let mut disk = regnet_image::open_container(src, format, &NoResolver, &limits).unwrap();
    assert_eq!(disk.format(), regnet_image::ContainerFormat::Vhd);
    let mut buf = vec![0u8; 300 * 1024];
    let at = PATTERNS[6].0;
    disk.read_at(at, &mut buf).unwrap();
    assert!(buf == expect[at as usize..at as usize + buf.len()]);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn damaged_trailing_footer_falls_back_to_the_copy() {
    let dir = scratch("footer-copy");
    let Some((vhd, expect)) = dynamic_fixture(&dir) else { return };
    let img = fs::read(&vhd).unwrap();
    // A flipped byte in the trailing footer: its checksum fails, the copy at 0 is used.
    let mut b = img.clone();
    let tail = b.len() - 512;
    b[tail + 100] ^= 0xff;
    let p = write(&dir, "flip.vhd", &b);
    assert_reads(&mut open(&p).unwrap(), &expect);
    // The trailing footer cut off entirely.
    let p = write(&dir, "cut.vhd", &img[..tail]);
    assert_reads(&mut open(&p).unwrap(), &expect);
    // Both footers damaged: a checksum error.
    b[100] ^= 0xff;
    let p = write(&dir, "both.vhd", &b);
    assert!(matches!(open(&p), Err(ImageError::BadChecksum { what: "VHD footer", .. })), "{:?}", open(&p).err());
    let _ = fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Hostile variants of a real image

#[test]
fn hostile_dynamic_headers_give_typed_errors() {
    let dir = scratch("hostile");
    let Some((vhd, _)) = dynamic_fixture(&dir) else { return };
    let img = fs::read(&vhd).unwrap();

    type Patch = fn(&mut [u8], usize, usize);
    let cases: &[(&str, Patch, &str)] = &[
        ("max table entries 0xFFFFFFFF", |b, _, h| put32(b, h + 28, u32::MAX), "limit"),
        ("max table entries 0", |b, _, h| put32(b, h + 28, 0), "field"),
        ("table offset past EOF", |b, _, h| put64(b, h + 16, 1 << 40), "truncated"),
        ("table offset u64::MAX", |b, _, h| put64(b, h + 16, u64::MAX), "truncated"),
        ("block size 0", |b, _, h| put32(b, h + 32, 0), "field"),
        ("block size 3 MiB", |b, _, h| put32(b, h + 32, 3 << 20), "field"),
        ("block size 2^31", |b, _, h| put32(b, h + 32, 1 << 31), "field"),
        ("block size 256", |b, _, h| put32(b, h + 32, 256), "field"),
        (
            "current size 2^63",
            |b, t, _| {
                put64(b, 48, 1 << 63);
                put64(b, t + 48, 1 << 63);
            },
            "field",
        ),
        (
            "disk type 5",
            |b, t, _| {
                put32(b, 60, 5);
                put32(b, t + 60, 5);
            },
            "field",
        ),
        (
            "footer version 2",
            |b, t, _| {
                put32(b, 12, 0x0002_0000);
                put32(b, t + 12, 0x0002_0000);
            },
            "field",
        ),
        (
            "dynamic header past EOF",
            |b, t, _| {
                put64(b, 16, 1 << 50);
                put64(b, t + 16, 1 << 50);
            },
            "truncated",
        ),
        (
            "dynamic header offset u64::MAX - 10",
            |b, t, _| {
                put64(b, 16, u64::MAX - 10);
                put64(b, t + 16, u64::MAX - 10);
            },
            "truncated",
        ),
        ("dynamic header cookie", |b, _, h| b[h] = b'X', "signature"),
    ];
    for (name, patch, want) in cases {
        let p = write(&dir, "case.vhd", &patched(&img, patch));
        let err = open(&p).err().unwrap_or_else(|| panic!("{name}: opened"));
        let ok = match *want {
            "limit" => matches!(err, ImageError::LimitExceeded { limit: "max_table_bytes", .. }),
            "field" => matches!(err, ImageError::BadField { .. }),
            "truncated" => matches!(err, ImageError::Truncated { .. }),
            "signature" => matches!(err, ImageError::BadSignature { .. }),
            _ => false,
        };
        assert!(ok, "{name}: {err:?}");
        eprintln!("{name}: {err}");
    }

    // Header checksum wrong (nothing else changed).
    let mut b = img.clone();
    let hdr = be64(&b, b.len() - 512 + 16) as usize;
    b[hdr + 100] ^= 1;
    let p = write(&dir, "hsum.vhd", &b);
    assert!(matches!(open(&p), Err(ImageError::BadChecksum { what: "VHD dynamic header", .. })));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn bat_entries_past_eof_are_refused() {
    let dir = scratch("bat-eof");
    let Some((vhd, _)) = dynamic_fixture(&dir) else { return };
    let img = fs::read(&vhd).unwrap();
    let hdr = be64(&img, img.len() - 512 + 16) as usize;
    let table = be64(&img, hdr + 16) as usize;
    let entries = be32(&img, hdr + 28) as usize;
    // Block 0 (allocated: the first pattern is there) pointing far past the end; block 3
    // (unallocated) pointing at the last sector, so that its data runs past the end; the largest
    // sector number that is not "unallocated".
    assert_ne!(be32(&img, table), u32::MAX);
    let last_sector = (img.len() as u64 / 512 - 1) as u32;
    for (entry, value) in [(0, 0xFFFF_FF00), (3, last_sector), (1, u32::MAX - 1)] {
        let mut b = img.clone();
        put32(&mut b, table + 4 * entry, value);
        let p = write(&dir, "bat.vhd", &b);
        let err = open(&p).err().unwrap();
        assert!(matches!(err, ImageError::BadField { what: "VHD BAT entry", .. }), "{err:?}");
    }
    // Entries past the disk's last block are never used, whatever they hold.
    let used = 25;
    assert!(entries >= used);
    let mut b = img.clone();
    for i in used..entries {
        put32(&mut b, table + 4 * i, 0xFFFF_FF00);
    }
    let p = write(&dir, "unused.vhd", &b);
    assert!(open(&p).is_ok());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn fixed_disk_larger_than_its_file_is_refused() {
    if !have_qemu() {
        return;
    }
    let dir = scratch("fixed-size");
    let raw = dir.join("src.raw");
    make_raw(&raw);
    let vhd = dir.join("fixed.vhd");
    qemu(&["convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed", raw.to_str().unwrap(), vhd.to_str().unwrap()]);
    let mut b = fs::read(&vhd).unwrap();
    let tail = b.len() - 512;
    put64(&mut b, tail + 48, 1 << 62);
    fix_sum(&mut b, tail, 512, 64);
    let p = write(&dir, "big.vhd", &b);
    assert!(matches!(open(&p), Err(ImageError::Truncated { what: "VHD fixed disk data", .. })));
    // A fixed disk has no footer copy: a bad checksum is final.
    let mut b = fs::read(&vhd).unwrap();
    b[tail + 200] ^= 1;
    let p = write(&dir, "sum.vhd", &b);
    assert!(matches!(open(&p), Err(ImageError::BadChecksum { .. })));
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
    for sub in ["dynamic", "fixed"] {
        let vhd = dir.join(format!("{sub}.vhd"));
        qemu(&[
            "convert",
            "-f",
            "raw",
            "-O",
            "vpc",
            "-o",
            &format!("subformat={sub}"),
            raw.to_str().unwrap(),
            vhd.to_str().unwrap(),
        ]);
        let img = fs::read(&vhd).unwrap();
        let n = img.len();
        let mut opened = 0;
        for cut in [0, 1, 100, 511, 512, 513, 1024, 1535, 1536, 2048, 4096, 8192, n / 3, n / 2, n - 513, n - 512, n - 1]
        {
            let p = write(&dir, "cut.vhd", &img[..cut]);
            match open(&p) {
                Ok(mut d) => {
                    opened += 1;
                    let _ = read_all_typed(&mut d);
                }
                Err(e) => eprintln!("{sub} cut at {cut}: {e}"),
            }
        }
        // A dynamic disk cut just before its trailing footer still opens from the copy at 0.
        assert!(sub == "fixed" || opened >= 1, "{sub}");
    }
    let _ = fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Differencing chains, hand-built (qemu cannot create VHD children)

/// A hand-built dynamic or differencing VHD.
struct Child {
    size: u64,
    block_size: u32,
    unique_id: [u8; 16],
    parent_id: [u8; 16],
    /// (platform code, UTF-16LE path) parent locators.
    locators: Vec<(&'static [u8; 4], String)>,
    /// (block index, bitmap bits per sector, block data).
    blocks: Vec<(u32, Vec<bool>, Vec<u8>)>,
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

impl Child {
    fn bytes(&self) -> Vec<u8> {
        let entries = self.size.div_ceil(u64::from(self.block_size)) as usize;
        let table_at = 512 + 1024;
        let table_len = (entries * 4).div_ceil(512) * 512;
        let mut loc_at = table_at + table_len;
        let mut out = vec![0u8; loc_at];
        // Locator data.
        let mut locs = Vec::new();
        for (code, path) in &self.locators {
            let data = utf16le(path);
            let space = data.len().div_ceil(512) * 512;
            locs.push((*code, data.len(), space, loc_at));
            out.extend_from_slice(&data);
            out.resize(loc_at + space, 0);
            loc_at += space;
        }
        // Blocks.
        let spb = self.block_size as usize / 512;
        let bitmap_len = spb.div_ceil(8).div_ceil(512) * 512;
        let mut bat = vec![u32::MAX; entries];
        for (idx, bits, data) in &self.blocks {
            let at = out.len();
            bat[*idx as usize] = (at / 512) as u32;
            let mut bm = vec![0u8; bitmap_len];
            for (s, &set) in bits.iter().enumerate() {
                if set {
                    bm[s / 8] |= 0x80 >> (s % 8);
                }
            }
            out.extend_from_slice(&bm);
            out.extend_from_slice(data);
            out.resize(at + bitmap_len + self.block_size as usize, 0);
        }
        for (i, e) in bat.iter().enumerate() {
            put32(&mut out, table_at + 4 * i, *e);
        }
        for i in entries..table_len / 4 {
            put32(&mut out, table_at + 4 * i, u32::MAX);
        }
        // Dynamic header.
        let h = 512;
        out[h..h + 8].copy_from_slice(b"cxsparse");
        put64(&mut out, h + 8, u64::MAX);
        put64(&mut out, h + 16, table_at as u64);
        put32(&mut out, h + 24, 0x0001_0000);
        put32(&mut out, h + 28, entries as u32);
        put32(&mut out, h + 32, self.block_size);
        out[h + 40..h + 56].copy_from_slice(&self.parent_id);
        let name: Vec<u8> = "parent.vhd".encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
        out[h + 64..h + 64 + name.len()].copy_from_slice(&name);
        for (i, (code, len, space, at)) in locs.iter().enumerate() {
            let e = h + 576 + 24 * i;
            out[e..e + 4].copy_from_slice(*code);
            put32(&mut out, e + 4, *space as u32);
            put32(&mut out, e + 8, *len as u32);
            put64(&mut out, e + 16, *at as u64);
        }
        fix_sum(&mut out, h, 1024, 36);
        // Footers.
        let mut f = [0u8; 512];
        f[..8].copy_from_slice(b"conectix");
        put32(&mut f, 8, 2);
        put32(&mut f, 12, 0x0001_0000);
        put64(&mut f, 16, 512);
        f[28..32].copy_from_slice(b"test");
        put64(&mut f, 40, self.size);
        put64(&mut f, 48, self.size);
        put32(&mut f, 60, if self.locators.is_empty() && self.parent_id == [0; 16] { 3 } else { 4 });
        f[68..84].copy_from_slice(&self.unique_id);
        fix_sum(&mut f, 0, 512, 64);
        out[..512].copy_from_slice(&f);
        out.extend_from_slice(&f);
        out
    }

    /// Lays this child's present sectors over `expect`.
    fn overlay(&self, expect: &mut [u8]) {
        for (idx, bits, data) in &self.blocks {
            let base = *idx as usize * self.block_size as usize;
            for (s, &set) in bits.iter().enumerate() {
                let at = base + s * 512;
                if set && at < expect.len() {
                    let end = (at + 512).min(expect.len());
                    expect[at..end].copy_from_slice(&data[s * 512..s * 512 + (end - at)]);
                }
            }
        }
    }
}

fn bits(n: usize, f: impl Fn(usize) -> bool) -> Vec<bool> {
    (0..n).map(f).collect()
}

/// A child of `parent_id` over a 48 MiB + x disk, with 512 KiB blocks (the parent has 2 MiB
/// ones), covering: runs at the start, a fully present block, alternating sectors, an allocated
/// block with no sector present, and the last (partial) block.
fn child_of(size: u64, parent_id: [u8; 16], id: u8, locators: Vec<(&'static [u8; 4], String)>) -> Child {
    let bs = 512 * 1024u32;
    let spb = bs as usize / 512;
    let last = (size.div_ceil(u64::from(bs)) - 1) as u32;
    let blocks = vec![
        (0, bits(spb, |s| s < 8 || (100..105).contains(&s)), pattern(100 + u64::from(id), bs as usize)),
        (3, bits(spb, |_| true), pattern(101 + u64::from(id), bs as usize)),
        (5, bits(spb, |s| s % 2 == 0 && s < 64), pattern(102 + u64::from(id), bs as usize)),
        (7, bits(spb, |_| false), pattern(103 + u64::from(id), bs as usize)),
        (40, bits(spb, |s| s % 3 == 1), pattern(104 + u64::from(id), bs as usize)),
        (last, bits(spb, |s| s >= 10), pattern(105 + u64::from(id), bs as usize)),
    ];
    Child { size, block_size: bs, unique_id: [id; 16], parent_id, locators, blocks }
}

fn footer_id(path: &Path) -> [u8; 16] {
    let b = fs::read(path).unwrap();
    b[b.len() - 512 + 68..b.len() - 512 + 84].try_into().unwrap()
}

#[test]
fn differencing_chain_reads_child_over_parent() {
    let dir = scratch("diff");
    let Some((base, base_expect)) = dynamic_fixture(&dir) else { return };
    let size = base_expect.len() as u64;
    let base_id = footer_id(&base);

    // mid: relative locator first (as Windows writes it), then an absolute one that cannot resolve.
    let mid = child_of(size, base_id, 0x11, vec![(b"W2ku", r"C:\VMs\dyn.vhd".into()), (b"W2ru", r".\dyn.vhd".into())]);
    let mid_path = write(&dir, "mid.vhd", &mid.bytes());
    let mut expect = base_expect.clone();
    mid.overlay(&mut expect);
    let mut disk = open(&mid_path).unwrap();
    assert_eq!(disk.chain_len(), 2);
    assert_reads(&mut disk, &expect);

    // top over mid: three files.
    let top = child_of(size, [0x11; 16], 0x22, vec![(b"W2ru", "mid.vhd".into())]);
    let top_path = write(&dir, "top.vhd", &top.bytes());
    top.overlay(&mut expect);
    let mut disk = open(&top_path).unwrap();
    assert_eq!(disk.chain_len(), 3);
    assert_reads(&mut disk, &expect);

    // The chain depth limit counts parents followed.
    let mut limits = ImageLimits::default();
    limits.max_chain_depth = 2;
    assert!(open_with(&top_path, &limits).is_ok());
    limits.max_chain_depth = 1;
    let err = open_with(&top_path, &limits).err().unwrap();
    assert!(matches!(err, ImageError::LimitExceeded { limit: "max_chain_depth", .. }), "{err:?}");

    // Through open_container with no resolver: the parent is refused.
    let counters = Arc::new(Counters::default());
    let src = FileSource::open_path(&mid_path, counters, &ImageLimits::default()).unwrap();
    let err = VhdDisk::open(src, &NoResolver, &ImageLimits::default()).err().unwrap();
    assert!(matches!(err, ImageError::ExternalReference { what: "VHD parent", .. }), "{err:?}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn differencing_parent_checks() {
    let dir = scratch("diff-checks");
    let Some((base, base_expect)) = dynamic_fixture(&dir) else { return };
    let size = base_expect.len() as u64;
    let base_id = footer_id(&base);

    // Wrong parent id.
    let c = child_of(size, [9; 16], 0x33, vec![(b"W2ru", "dyn.vhd".into())]);
    let p = write(&dir, "wrong-id.vhd", &c.bytes());
    let err = open(&p).err().unwrap();
    assert!(matches!(err, ImageError::Corrupt { what: "VHD parent footer", .. }), "{err:?}");

    // A parent outside the image's folder, by relative and by absolute path.
    let outside = dir.parent().unwrap().join(format!("vhd-outside-{}.vhd", std::process::id()));
    fs::copy(&base, &outside).unwrap();
    for loc in [format!(r"..\{}", outside.file_name().unwrap().to_str().unwrap()), outside.display().to_string()] {
        let c = child_of(size, base_id, 0x34, vec![(b"W2ru", loc.clone())]);
        let p = write(&dir, "outside.vhd", &c.bytes());
        let err = open(&p).err().unwrap();
        assert!(matches!(err, ImageError::ExternalReference { .. }), "{loc}: {err:?}");
    }
    let _ = fs::remove_file(&outside);
    // Host files are never opened.
    let c = child_of(size, base_id, 0x35, vec![(b"W2ku", "/etc/passwd".into())]);
    let p = write(&dir, "passwd.vhd", &c.bytes());
    assert!(matches!(open(&p), Err(ImageError::ExternalReference { .. })));

    // No usable locator (only a Mac one).
    let c = child_of(size, base_id, 0x36, vec![(b"MacX", "file:///dyn.vhd".into())]);
    let p = write(&dir, "nolocator.vhd", &c.bytes());
    let err = open(&p).err().unwrap();
    assert!(matches!(err, ImageError::ExternalReference { .. }), "{err:?}");

    // A disk that is its own parent: bounded by the chain depth.
    let c = child_of(size, [0x37; 16], 0x37, vec![(b"W2ru", "self.vhd".into())]);
    let p = write(&dir, "self.vhd", &c.bytes());
    let err = open(&p).err().unwrap();
    assert!(matches!(err, ImageError::LimitExceeded { limit: "max_chain_depth", .. }), "{err:?}");

    // Two disks naming each other.
    let a = child_of(size, [0x39; 16], 0x38, vec![(b"W2ru", "b.vhd".into())]);
    let b = child_of(size, [0x38; 16], 0x39, vec![(b"W2ru", "a.vhd".into())]);
    write(&dir, "b.vhd", &b.bytes());
    let p = write(&dir, "a.vhd", &a.bytes());
    assert!(matches!(open(&p), Err(ImageError::LimitExceeded { .. })));

    // A locator length that is odd or huge.
    let mut bytes = child_of(size, base_id, 0x3a, vec![(b"W2ru", "dyn.vhd".into())]).bytes();
    put32(&mut bytes, 512 + 576 + 8, 0xFFFF_FFF0);
    fix_sum(&mut bytes, 512, 1024, 36);
    let p = write(&dir, "loclen.vhd", &bytes);
    assert!(matches!(open(&p), Err(ImageError::BadField { .. })));
    // A locator past the end of the file.
    let mut bytes = child_of(size, base_id, 0x3b, vec![(b"W2ru", "dyn.vhd".into())]).bytes();
    put64(&mut bytes, 512 + 576 + 16, u64::MAX - 4);
    fix_sum(&mut bytes, 512, 1024, 36);
    let p = write(&dir, "locoff.vhd", &bytes);
    assert!(matches!(open(&p), Err(ImageError::Truncated { .. })));

    // A parent smaller than the child: its end reads as zeros.
    let small = Child {
        size: 4 * MIB,
        block_size: 2 << 20,
        unique_id: [0x50; 16],
        parent_id: [0; 16],
        locators: vec![],
        blocks: vec![(1, bits(4096, |_| true), pattern(7, 2 << 20))],
    };
    write(&dir, "small.vhd", &small.bytes());
    let c = child_of(size, [0x50; 16], 0x51, vec![(b"W2ru", "small.vhd".into())]);
    let p = write(&dir, "over-small.vhd", &c.bytes());
    let mut expect = vec![0u8; size as usize];
    small.overlay(&mut expect);
    c.overlay(&mut expect);
    assert_reads(&mut open(&p).unwrap(), &expect);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn hand_built_dynamic_disk_reads() {
    // No qemu needed: a dynamic disk built here, including a block whose bitmap is empty (a
    // dynamic disk's bitmap is not consulted, as in qemu).
    let dir = scratch("handmade");
    let size = 5 * MIB + 3 * 512;
    let d = Child {
        size,
        block_size: 1 << 20,
        unique_id: [1; 16],
        parent_id: [0; 16],
        locators: vec![],
        blocks: vec![
            (0, bits(2048, |_| true), pattern(1, 1 << 20)),
            (2, bits(2048, |_| false), pattern(2, 1 << 20)),
            (5, bits(2048, |_| true), pattern(3, 1 << 20)),
        ],
    };
    let p = write(&dir, "dyn.vhd", &d.bytes());
    let mut expect = vec![0u8; size as usize];
    expect[..MIB as usize].copy_from_slice(&pattern(1, MIB as usize));
    expect[2 * MIB as usize..3 * MIB as usize].copy_from_slice(&pattern(2, MIB as usize));
    expect[5 * MIB as usize..].copy_from_slice(&pattern(3, MIB as usize)[..3 * 512]);
    let mut disk = open(&p).unwrap();
    assert_eq!(disk.chain_len(), 1);
    assert_reads(&mut disk, &expect);
    let _ = fs::remove_dir_all(&dir);
}
