//! VMDK reader against qemu-img: every subformat qemu writes (monolithicSparse, streamOptimized,
//! monolithicFlat, twoGbMaxExtentSparse/Flat, zeroed grains, snapshot chains), a hand-made
//! descriptor mixing FLAT, ZERO and SPARSE extents, and a VMware-style stream whose grain
//! directory is in the footer (qemu never writes one; its reading of ours is checked too). All are
//! read back byte for byte and compared with `qemu-img convert -O raw`. External references and
//! crafted headers give typed errors quickly. Tests that need qemu-img skip with a printed reason.

use flate2::write::ZlibEncoder;
use flate2::Compression;
use regnet_image::container::vmdk::VmdkDisk;
use regnet_image::{
    detect, open_container, ContainerFormat, Counters, DirResolver, FileSource, ImageError, ImageLimits, NoResolver,
    VirtualDisk,
};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

fn run(tool: &str, args: &[&str], dir: &Path) {
    let out = Command::new(tool).args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "{tool} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn skip_without_qemu() -> bool {
    if !have("qemu-img") {
        eprintln!("skipped: qemu-img is not installed (Debian package qemu-utils)");
        return true;
    }
    false
}

/// Deterministic, half-compressible bytes.
fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if i % 64 < 8 {
                b"regnet.."[i % 8]
            } else {
                (x as u8 & 0x0f) | 0x40
            }
        })
        .collect()
}

/// Data regions: grain (64 KiB) and 1 MiB boundaries, a 2 MiB block, the end of the disk.
fn regions(size: u64) -> Vec<(u64, usize)> {
    let all = [
        (0, 4096),
        (65536 - 7, 20),
        (MIB - 100, 8292),
        (2 * MIB + 3, 300_000),
        (8 * MIB, 2 * MIB as usize),
        (16 * MIB - 4095, 12_000),
        (size.saturating_sub(5000), 5000),
    ];
    all.into_iter().filter(|(o, l)| o + *l as u64 <= size).collect()
}

/// Writes a sparse raw disk with the patterns (plus `extra` regions); returns its content when it
/// is small enough to hold in memory.
fn make_raw(path: &Path, size: u64, extra: &[(u64, usize)]) -> Option<Vec<u8>> {
    let mut f = std::fs::File::create(path).unwrap();
    f.set_len(size).unwrap();
    let mut content = (size <= 256 * MIB).then(|| vec![0u8; size as usize]);
    for (i, (off, len)) in regions(size).into_iter().chain(extra.iter().copied()).enumerate() {
        let data = pattern(i as u64 + off, len);
        f.seek(SeekFrom::Start(off)).unwrap();
        f.write_all(&data).unwrap();
        if let Some(c) = content.as_mut() {
            c[off as usize..off as usize + len].copy_from_slice(&data);
        }
    }
    content
}

fn source(path: &Path, counters: &Arc<Counters>, limits: &ImageLimits) -> FileSource {
    FileSource::open_path(path, counters.clone(), limits).unwrap()
}

fn open_in(dir: &Path, name: &str, limits: &ImageLimits) -> regnet_image::Result<VmdkDisk> {
    let counters = Arc::new(Counters::default());
    let resolver = DirResolver::new(dir, &[], counters.clone(), *limits);
    VmdkDisk::open(source(&dir.join(name), &counters, limits), &resolver, limits)
}

fn qemu_raw_file(dir: &Path, name: &str) -> PathBuf {
    let out = format!("{name}.ref.raw");
    run("qemu-img", &["convert", "-O", "raw", name, &out], dir);
    dir.join(out)
}

fn qemu_raw(dir: &Path, name: &str) -> Vec<u8> {
    let p = qemu_raw_file(dir, name);
    let v = std::fs::read(&p).unwrap();
    std::fs::remove_file(p).unwrap();
    v
}

/// Whole-disk 1 MiB reads, odd unaligned reads and pseudo-random reads against `expected`.
fn check_same(disk: &mut dyn VirtualDisk, expected: &[u8], what: &str) {
    let size = disk.size();
    assert_eq!(size, expected.len() as u64, "{what}: size");
    let mut buf = vec![0u8; MIB as usize];
    let mut off = 0u64;
    while off < size {
        let n = (size - off).min(MIB) as usize;
        disk.read_at(off, &mut buf[..n]).unwrap_or_else(|e| panic!("{what}: read at {off:#x}: {e}"));
        if buf[..n] != expected[off as usize..off as usize + n] {
            let first = (0..n).find(|&i| buf[i] != expected[off as usize + i]).unwrap();
            panic!("{what}: differs at byte {:#x}", off + first as u64);
        }
        off += n as u64;
    }
    let mut odd: Vec<(u64, usize)> = vec![
        (0, 1),
        (65535, 2),
        (MIB - 100, 8292),
        (MIB - 1, 3),
        (12345, 1_000_001),
        (size - 1, 1),
        (size - 7777, 7777),
    ];
    let mut x = 0x8765_4321u64;
    for _ in 0..200 {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let len = 1 + (x >> 40) as usize % 200_000;
        let off = (x >> 8) % (size.saturating_sub(len as u64).max(1));
        odd.push((off, len));
    }
    for (off, len) in odd {
        if off + len as u64 > size {
            continue;
        }
        let mut b = vec![0u8; len];
        disk.read_at(off, &mut b).unwrap_or_else(|e| panic!("{what}: read {len} at {off:#x}: {e}"));
        assert!(b == expected[off as usize..off as usize + len], "{what}: {len} bytes at {off:#x} differ");
    }
    let mut b = [0u8; 2];
    assert!(matches!(disk.read_at(size - 1, &mut b), Err(ImageError::OutOfRange { .. })));
}

#[test]
fn qemu_subformats_read_like_qemu() {
    if skip_without_qemu() {
        return;
    }
    let dir = scratch("vmdk-subformats");
    let limits = ImageLimits::default();
    // 48 MiB, and 48 MiB + 3 sectors (a partial last grain).
    for (raw, size) in [("base.raw", 48 * MIB), ("odd.raw", 48 * MIB + 1536)] {
        let content = make_raw(&dir.join(raw), size, &[]).unwrap();
        for sub in
            ["monolithicSparse", "streamOptimized", "monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat"]
        {
            let name = format!("{sub}-{raw}.vmdk");
            run(
                "qemu-img",
                &["convert", "-f", "raw", "-O", "vmdk", "-o", &format!("subformat={sub}"), raw, &name],
                &dir,
            );
            let reference = qemu_raw(&dir, &name);
            assert!(reference == content, "{name}: qemu's own conversion differs from the pattern");
            let t = Instant::now();
            let mut disk = open_in(&dir, &name, &limits).unwrap_or_else(|e| panic!("{name}: {e}"));
            check_same(&mut disk, &reference, &name);
            eprintln!("{name}: {} bytes read back in {:?}", disk.size(), t.elapsed());
            let counters = Arc::new(Counters::default());
            let mut src = source(&dir.join(&name), &counters, &limits);
            assert_eq!(detect(&mut src).unwrap(), ContainerFormat::Vmdk);
            // Sparse files need no other file: they open as streams too.
            let resolver = DirResolver::new(&dir, &[], counters.clone(), limits);
            let d = if sub == "monolithicSparse" || sub == "streamOptimized" {
                open_container(src, ContainerFormat::Vmdk, &NoResolver, &limits).unwrap()
            } else {
                assert!(matches!(
                    VmdkDisk::open(source(&dir.join(&name), &counters, &limits), &NoResolver, &limits),
                    Err(ImageError::ExternalReference { .. })
                ));
                open_container(src, ContainerFormat::Vmdk, &resolver, &limits).unwrap()
            };
            assert_eq!((d.format(), d.size()), (ContainerFormat::Vmdk, size));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn zeroed_grains_and_snapshot_chains() {
    if skip_without_qemu() {
        return;
    }
    if !have("qemu-io") {
        eprintln!("skipped: qemu-io is not installed (Debian package qemu-utils)");
        return;
    }
    let dir = scratch("vmdk-chain");
    make_raw(&dir.join("base.raw"), 48 * MIB, &[]).unwrap();
    let limits = ImageLimits::default();
    let io = |img: &str, cmds: &[&str]| {
        let mut args = vec!["-f", "vmdk"];
        for c in cmds {
            args.extend_from_slice(&["-c", c]);
        }
        args.push(img);
        run("qemu-io", &args, &dir);
    };
    // Zeroed-grain entries (GTE 1) over data.
    run("qemu-img", &["convert", "-f", "raw", "-O", "vmdk", "-o", "zeroed_grain=on", "base.raw", "zg.vmdk"], &dir);
    io("zg.vmdk", &["write -z 8M 128k", "write -z 0 64k"]);
    let expected = qemu_raw(&dir, "zg.vmdk");
    assert!(expected[8 * MIB as usize..(8 * MIB + 131072) as usize].iter().all(|&b| b == 0));
    let mut disk = open_in(&dir, "zg.vmdk", &limits).unwrap();
    check_same(&mut disk, &expected, "zeroed grains");

    // parent ← child ← grandchild, each with its own writes.
    run("qemu-img", &["convert", "-f", "raw", "-O", "vmdk", "base.raw", "parent.vmdk"], &dir);
    run("qemu-img", &["create", "-q", "-f", "vmdk", "-b", "parent.vmdk", "-F", "vmdk", "child.vmdk"], &dir);
    io("child.vmdk", &["write -P 0xab 1M 64k", "write -P 0xac 9437000 3000", "write -P 0xad 50327552 4k"]);
    let expected = qemu_raw(&dir, "child.vmdk");
    let mut disk = open_in(&dir, "child.vmdk", &limits).unwrap();
    assert_eq!(disk.chain_len(), 2);
    check_same(&mut disk, &expected, "child");
    run("qemu-img", &["create", "-q", "-f", "vmdk", "-b", "child.vmdk", "-F", "vmdk", "grandchild.vmdk"], &dir);
    io("grandchild.vmdk", &["write -P 0xba 1M 4k", "write -P 0xbb 2M 1M"]);
    let expected = qemu_raw(&dir, "grandchild.vmdk");
    let mut disk = open_in(&dir, "grandchild.vmdk", &limits).unwrap();
    assert_eq!(disk.chain_len(), 3);
    check_same(&mut disk, &expected, "grandchild");
    let mut shallow = limits;
    shallow.max_chain_depth = 1;
    assert!(matches!(
        open_in(&dir, "grandchild.vmdk", &shallow),
        Err(ImageError::LimitExceeded { limit: "max_chain_depth", .. })
    ));

    // A parent whose CID no longer matches the child's parentCID.
    let mut parent = std::fs::read(dir.join("parent.vmdk")).unwrap();
    let at = find(&parent, b"\nCID=").unwrap() + 5;
    let flipped = if parent[at] == b'0' { b'1' } else { b'0' };
    parent[at] = flipped;
    std::fs::write(dir.join("parent.vmdk"), &parent).unwrap();
    // It is read (as the data is the best there is), with a warning.
    let mut disk = open_in(&dir, "child.vmdk", &limits).unwrap();
    let warnings = disk.warnings();
    assert!(warnings.len() == 1 && warnings[0].contains("parentCID"), "{warnings:?}");
    let mut b = [0u8; 4096];
    disk.read_at(MIB, &mut b).unwrap();
    assert!(b.iter().all(|&x| x == 0xab));
    let _ = std::fs::remove_dir_all(&dir);
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn split_extents_past_2_gib() {
    if skip_without_qemu() {
        return;
    }
    let dir = scratch("vmdk-split");
    let size = 4 * GIB + 100 * MIB;
    // Data around every plausible split point (2 GiB and qemu's 2 GiB - 64 KiB... boundaries).
    let mut extra = Vec::new();
    for b in [2 * GIB, 4 * GIB] {
        for d in [0, 64 * 1024, MIB] {
            extra.push((b - d - 3000, 6000));
        }
    }
    make_raw(&dir.join("big.raw"), size, &extra);
    let limits = ImageLimits::default();
    for sub in ["twoGbMaxExtentSparse", "twoGbMaxExtentFlat"] {
        let name = format!("{sub}.vmdk");
        run(
            "qemu-img",
            &["convert", "-f", "raw", "-O", "vmdk", "-o", &format!("subformat={sub}"), "big.raw", &name],
            &dir,
        );
        let text = std::fs::read_to_string(dir.join(&name)).unwrap();
        let mut bounds = vec![];
        let mut at = 0u64;
        for l in text.lines().filter(|l| l.starts_with("RW ")) {
            at += l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 512;
            bounds.push(at);
        }
        assert!(bounds.len() >= 3, "{name}: {} extents", bounds.len());
        let reference = qemu_raw_file(&dir, &name);
        let mut refr = std::fs::File::open(&reference).unwrap();
        let mut disk = open_in(&dir, &name, &limits).unwrap();
        assert_eq!(disk.size(), size);
        let mut windows: Vec<(u64, usize)> =
            bounds[..bounds.len() - 1].iter().map(|&b| (b - MIB, 2 * MIB as usize)).collect();
        windows.extend(extra.iter().map(|&(o, l)| (o - 100, l + 200)));
        windows.extend([(0, 4 * MIB as usize), (size - 3 * MIB, 3 * MIB as usize), (size - 1, 1)]);
        for (off, len) in windows {
            let mut got = vec![0u8; len];
            let mut want = vec![0u8; len];
            disk.read_at(off, &mut got).unwrap_or_else(|e| panic!("{name}: read at {off:#x}: {e}"));
            refr.seek(SeekFrom::Start(off)).unwrap();
            refr.read_exact(&mut want).unwrap();
            assert!(got == want, "{name}: {len} bytes at {off:#x} differ");
        }
        eprintln!("{name}: {} extents, boundaries {bounds:x?}", bounds.len());
        std::fs::remove_file(reference).unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hand_made_descriptor_with_mixed_extents() {
    if skip_without_qemu() {
        return;
    }
    let dir = scratch("vmdk-mixed");
    let base = make_raw(&dir.join("base.raw"), 8 * MIB, &[]).unwrap();
    // Extent A: 3 MiB of the base at sector 2048 of a file that starts with 1 MiB of junk.
    let mut a = pattern(99, MIB as usize);
    a.extend_from_slice(&base[..3 * MIB as usize]);
    std::fs::write(dir.join("part a.bin"), &a).unwrap();
    // Extent C: a sparse file holding base[4 MiB..8 MiB].
    std::fs::write(dir.join("c.raw"), &base[4 * MIB as usize..]).unwrap();
    run("qemu-img", &["convert", "-f", "raw", "-O", "vmdk", "c.raw", "c.vmdk"], &dir);
    let desc =
        "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"twoGbMaxExtentSparse\"\n\n\
                # Extent description\nRW 6144 FLAT \"part a.bin\" 2048\nRW 2048 ZERO\nRDONLY 8192 SPARSE \"c.vmdk\"\n";
    std::fs::write(dir.join("mixed.vmdk"), desc).unwrap();
    let mut expected = base.clone();
    expected[3 * MIB as usize..4 * MIB as usize].fill(0);
    let limits = ImageLimits::default();
    let mut disk = open_in(&dir, "mixed.vmdk", &limits).unwrap();
    assert_eq!(disk.size(), 8 * MIB);
    check_same(&mut disk, &expected, "mixed extents");
    // qemu skips ZERO and RDONLY extent lines, so it is cross-checked on RW FLAT + SPARSE only.
    let desc2 = desc.replace("RW 2048 ZERO\n", "").replace("RDONLY", "RW");
    std::fs::write(dir.join("mixed2.vmdk"), desc2).unwrap();
    let mut expected2 = base[..3 * MIB as usize].to_vec();
    expected2.extend_from_slice(&base[4 * MIB as usize..]);
    let mut disk = open_in(&dir, "mixed2.vmdk", &limits).unwrap();
    check_same(&mut disk, &expected2, "flat + sparse extents");
    assert!(qemu_raw(&dir, "mixed2.vmdk") == expected2, "qemu reads the hand-made descriptor differently");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A VMware-style stream-optimized file: header with `gdOffset = GD_AT_END`, grains behind markers,
/// GT and GD behind metadata markers, then footer marker, footer and end-of-stream marker.
struct Stream {
    capacity: u64,
    grain_sectors: u64,
    bytes: Vec<u8>,
    /// Where each grain's marker was written (for the hostile tests).
    grain_at: Vec<(u64, usize)>,
}

fn header(capacity: u64, grain: u64, gd: u64, desc_sectors: u64) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[0..4].copy_from_slice(b"KDMV");
    h[4..8].copy_from_slice(&3u32.to_le_bytes());
    h[8..12].copy_from_slice(&(1u32 | 1 << 2 | 1 << 16 | 1 << 17).to_le_bytes());
    h[12..20].copy_from_slice(&capacity.to_le_bytes());
    h[20..28].copy_from_slice(&grain.to_le_bytes());
    h[28..36].copy_from_slice(&1u64.to_le_bytes());
    h[36..44].copy_from_slice(&desc_sectors.to_le_bytes());
    h[44..48].copy_from_slice(&512u32.to_le_bytes());
    h[56..64].copy_from_slice(&gd.to_le_bytes());
    h[64..72].copy_from_slice(&(1 + desc_sectors).to_le_bytes());
    h[73..77].copy_from_slice(b"\n \r\n");
    h[77..79].copy_from_slice(&1u16.to_le_bytes());
    h
}

fn pad(v: &mut Vec<u8>) {
    v.resize(v.len().next_multiple_of(512), 0);
}

fn meta_marker(v: &mut Vec<u8>, sectors: u64, kind: u32) {
    let mut m = [0u8; 512];
    m[0..8].copy_from_slice(&sectors.to_le_bytes());
    m[12..16].copy_from_slice(&kind.to_le_bytes());
    v.extend_from_slice(&m);
}

/// `grains`: (grain number, Some(data) or None for a zeroed-grain entry).
fn build_stream(capacity: u64, grain_sectors: u64, grains: &[(u64, Option<Vec<u8>>)]) -> Stream {
    let desc = format!(
        "# Disk DescriptorFile\nversion=1\nCID=abcdef01\nparentCID=ffffffff\ncreateType=\"streamOptimized\"\n\n\
         RW {capacity} SPARSE \"s.vmdk\"\n"
    );
    let desc_sectors = 2;
    let mut v = header(capacity, grain_sectors, u64::MAX, desc_sectors).to_vec();
    v.extend_from_slice(desc.as_bytes());
    pad(&mut v);
    v.resize((1 + desc_sectors as usize) * 512, 0);
    let n_grains = capacity.div_ceil(grain_sectors);
    let mut gtes = vec![0u32; n_grains.next_multiple_of(512) as usize];
    let mut grain_at = vec![];
    for (g, data) in grains {
        match data {
            None => gtes[*g as usize] = 1,
            Some(d) => {
                let sector = v.len() as u64 / 512;
                gtes[*g as usize] = sector as u32;
                let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
                e.write_all(d).unwrap();
                let c = e.finish().unwrap();
                v.extend_from_slice(&(g * grain_sectors).to_le_bytes());
                v.extend_from_slice(&(c.len() as u32).to_le_bytes());
                v.extend_from_slice(&c);
                pad(&mut v);
                grain_at.push((sector * 512, c.len()));
            }
        }
    }
    // Grain tables (all-empty ones are left out, their GD entry 0).
    let mut gd = vec![];
    for gt in gtes.chunks(512) {
        if gt.iter().all(|&e| e == 0) {
            gd.push(0u32);
            continue;
        }
        meta_marker(&mut v, 4, 1);
        gd.push((v.len() / 512) as u32);
        for e in gt {
            v.extend_from_slice(&e.to_le_bytes());
        }
        pad(&mut v);
    }
    meta_marker(&mut v, (gd.len() as u64 * 4).div_ceil(512), 2);
    let gd_sector = v.len() as u64 / 512;
    for e in &gd {
        v.extend_from_slice(&e.to_le_bytes());
    }
    pad(&mut v);
    meta_marker(&mut v, 1, 3);
    v.extend_from_slice(&header(capacity, grain_sectors, gd_sector, desc_sectors));
    v.extend_from_slice(&[0u8; 512]);
    Stream { capacity, grain_sectors, bytes: v, grain_at }
}

fn open_and_read(dir: &Path, name: &str, bytes: &[u8], limits: &ImageLimits) -> regnet_image::Result<()> {
    std::fs::write(dir.join(name), bytes).unwrap();
    let t = Instant::now();
    let r = (|| {
        let mut disk = open_in(dir, name, limits)?;
        let mut buf = vec![0u8; MIB as usize];
        let mut off = 0;
        while off < disk.size() {
            let n = (disk.size() - off).min(MIB);
            disk.read_at(off, &mut buf[..n as usize])?;
            off += n;
        }
        Ok(())
    })();
    // Tests never assert timings: the time is printed for people.
    eprintln!("{name}: took {:?}", t.elapsed());
    r
}

#[test]
fn stream_with_footer_grain_directory() {
    let dir = scratch("vmdk-footer");
    // 4 KiB grains so the 8 MiB + 3 sector disk needs five grain tables; the last grain is partial.
    let grain_sectors = 8u64;
    let capacity = 16 * 1024 + 3;
    let gb = (grain_sectors * 512) as usize;
    let mut expected = vec![0u8; capacity as usize * 512];
    let mut grains = vec![];
    for (i, g) in [0u64, 1, 2, 255, 256, 511, 512, 600, 601, 2047].into_iter().enumerate() {
        let d = pattern(g, gb);
        expected[g as usize * gb..][..gb].copy_from_slice(&d);
        grains.push((g, Some(d)));
        if i == 3 {
            grains.push((300, Some(vec![0u8; gb])));
            grains.push((301, None));
        }
    }
    let last = capacity / grain_sectors;
    let tail = pattern(7, 3 * 512);
    expected[last as usize * gb..].copy_from_slice(&tail);
    grains.push((last, Some(tail)));
    let s = build_stream(capacity, grain_sectors, &grains);
    assert_eq!((s.capacity, s.grain_sectors), (capacity, grain_sectors));
    std::fs::write(dir.join("s.vmdk"), &s.bytes).unwrap();
    let limits = ImageLimits::default();
    let mut disk = open_in(&dir, "s.vmdk", &limits).unwrap();
    check_same(&mut disk, &expected, "footer stream");
    if have("qemu-img") {
        assert!(qemu_raw(&dir, "s.vmdk") == expected, "qemu reads the hand-made stream differently");
    } else {
        eprintln!("qemu-img absent: the hand-made stream is not cross-checked with qemu");
    }

    // Re-reading the same grains costs nothing.
    let counters = Arc::new(Counters::default());
    let mut disk = VmdkDisk::open(source(&dir.join("s.vmdk"), &counters, &limits), &NoResolver, &limits).unwrap();
    let mut b = vec![0u8; 3 * gb];
    disk.read_at(0, &mut b).unwrap();
    let before = (counters.bytes_read(), counters.reads());
    for off in (0..3 * gb as u64).step_by(512) {
        disk.read_at(off, &mut b[..512]).unwrap();
    }
    assert_eq!((counters.bytes_read(), counters.reads()), before);

    // Hostile variants of the stream.
    let (g0, g0_len) = s.grain_at[0];
    let g0 = g0 as usize;
    let len = s.bytes.len();
    type Case = (&'static str, Box<dyn Fn(&mut Vec<u8>)>, fn(&ImageError) -> bool);
    let cases: Vec<Case> = vec![
        ("marker size 2^32-1", Box::new(move |b| b[g0 + 8..g0 + 12].copy_from_slice(&u32::MAX.to_le_bytes())), |e| {
            matches!(e, ImageError::BadField { .. })
        }),
        ("marker size 0", Box::new(move |b| b[g0 + 8..g0 + 12].copy_from_slice(&0u32.to_le_bytes())), |e| {
            matches!(e, ImageError::BadField { .. })
        }),
        ("marker LBA", Box::new(move |b| b[g0..g0 + 8].copy_from_slice(&8u64.to_le_bytes())), |e| {
            matches!(e, ImageError::Corrupt { .. })
        }),
        ("grain garbage", Box::new(move |b| b[g0 + 12..g0 + 12 + g0_len].fill(0x5a)), |e| {
            matches!(e, ImageError::Corrupt { .. })
        }),
        ("footer marker", Box::new(move |b| b[len - 1536 + 12] = 2), |e| matches!(e, ImageError::Corrupt { .. })),
        ("end-of-stream marker", Box::new(move |b| b[len - 512] = 1), |e| matches!(e, ImageError::Corrupt { .. })),
        ("footer gdOffset at end", Box::new(move |b| b[len - 1024 + 56..len - 1024 + 64].fill(0xff)), |e| {
            matches!(e, ImageError::BadField { .. })
        }),
        (
            "footer gdOffset past EOF",
            Box::new(move |b| b[len - 1024 + 56..len - 1024 + 64].copy_from_slice(&(1u64 << 40).to_le_bytes())),
            |e| matches!(e, ImageError::Truncated { .. }),
        ),
        ("footer magic", Box::new(move |b| b[len - 1024] = b'X'), |e| matches!(e, ImageError::BadSignature { .. })),
    ];
    for (what, f, ok) in cases {
        let mut b = s.bytes.clone();
        f(&mut b);
        match open_and_read(&dir, "bad.vmdk", &b, &limits) {
            Err(e) => assert!(ok(&e), "{what}: unexpected error {e:?}"),
            Ok(()) => panic!("{what}: accepted"),
        }
    }
    // A grain whose stream inflates past the grain (two grains of data).
    let mut bomb_grains = grains.clone();
    bomb_grains[0] = (0, Some(pattern(1, 2 * gb)));
    let bomb = build_stream(capacity, grain_sectors, &bomb_grains);
    let r = open_and_read(&dir, "bomb.vmdk", &bomb.bytes, &limits);
    assert!(matches!(&r, Err(ImageError::Corrupt { reason, .. }) if reason.contains("past")), "{r:?}");
    // A grain that inflates short.
    bomb_grains[0] = (0, Some(pattern(1, 100)));
    let short = build_stream(capacity, grain_sectors, &bomb_grains);
    let r = open_and_read(&dir, "short.vmdk", &short.bytes, &limits);
    assert!(matches!(&r, Err(ImageError::Corrupt { reason, .. }) if reason.contains("short")), "{r:?}");
    // The inflation budget.
    let mut tight = limits;
    tight.max_inflated_bytes = 3 * gb as u64;
    assert!(matches!(
        open_and_read(&dir, "ok.vmdk", &s.bytes, &tight),
        Err(ImageError::LimitExceeded { limit: "max_inflated_bytes", .. })
    ));
    // Truncations: the footer is gone, so every cut is refused at open.
    for cut in [0, 3, 4, 511, 512, 1024, 1536, len / 2, len - 1536, len - 1024, len - 512, len - 1] {
        let r = open_and_read(&dir, "cut.vmdk", &s.bytes[..cut], &limits);
        assert!(r.is_err(), "cut at {cut}: accepted");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

#[test]
fn hostile_sparse_headers_give_typed_errors() {
    if skip_without_qemu() {
        return;
    }
    let dir = scratch("vmdk-hostile");
    make_raw(&dir.join("base.raw"), 8 * MIB, &[]).unwrap();
    run("qemu-img", &["convert", "-f", "raw", "-O", "vmdk", "base.raw", "good.vmdk"], &dir);
    let good = std::fs::read(dir.join("good.vmdk")).unwrap();
    let limits = ImageLimits::default();
    open_and_read(&dir, "ok.vmdk", &good, &limits).unwrap();
    assert_eq!(le32(&good, 4), 1, "qemu writes version 1 monolithicSparse");
    let gd_at = le64(&good, 56) as usize * 512;
    let gt_at = le32(&good, gd_at) as usize * 512;
    let desc_at = le64(&good, 28) as usize * 512;

    type Case = (&'static str, usize, Vec<u8>, fn(&ImageError) -> bool);
    let cases: Vec<Case> = vec![
        // Read as a COWD header now: the KDMV capacity's high half is its grain size, 0.
        ("magic COWD", 0, b"COWD".to_vec(), |e| matches!(e, ImageError::BadField { what: "VMDK COWD grainSize", .. })),
        ("magic", 0, b"KDMW".to_vec(), |e| matches!(e, ImageError::BadSignature { .. })),
        ("version 4", 4, 4u32.to_le_bytes().to_vec(), |e| matches!(e, ImageError::BadField { .. })),
        ("grain 0", 20, 0u64.to_le_bytes().to_vec(), |e| matches!(e, ImageError::BadField { .. })),
        ("grain 2^40", 20, (1u64 << 40).to_le_bytes().to_vec(), |e| matches!(e, ImageError::BadField { .. })),
        ("grain 96", 20, 96u64.to_le_bytes().to_vec(), |e| matches!(e, ImageError::BadField { .. })),
        ("numGTEsPerGT 2^30", 44, (1u32 << 30).to_le_bytes().to_vec(), |e| matches!(e, ImageError::BadField { .. })),
        ("numGTEsPerGT 0", 44, 0u32.to_le_bytes().to_vec(), |e| matches!(e, ImageError::BadField { .. })),
        ("capacity 2^63", 12, (1u64 << 63).to_le_bytes().to_vec(), |e| matches!(e, ImageError::BadField { .. })),
        ("capacity 2^52", 12, (1u64 << 52).to_le_bytes().to_vec(), |e| {
            matches!(e, ImageError::LimitExceeded { limit: "max_table_bytes", .. })
        }),
        ("gdOffset past EOF", 56, (1u64 << 30).to_le_bytes().to_vec(), |e| matches!(e, ImageError::Truncated { .. })),
        ("gdOffset 2^60", 56, (1u64 << 60).to_le_bytes().to_vec(), |e| matches!(e, ImageError::BadField { .. })),
        ("descriptor 1 GiB", 36, (1u64 << 21).to_le_bytes().to_vec(), |e| {
            matches!(e, ImageError::LimitExceeded { limit: "max_header_bytes", .. })
        }),
        ("descriptor past EOF", 28, (1u64 << 30).to_le_bytes().to_vec(), |e| matches!(e, ImageError::Truncated { .. })),
        ("compressAlgorithm 2", 77, 2u16.to_le_bytes().to_vec(), |e| matches!(e, ImageError::Unsupported(_))),
        ("GD entry past EOF", gd_at, (1u32 << 30).to_le_bytes().to_vec(), |e| matches!(e, ImageError::Truncated { .. })),
        ("GT entry past EOF", gt_at, (1u32 << 30).to_le_bytes().to_vec(), |e| matches!(e, ImageError::Truncated { .. })),
        ("GT entry 1 in v1", gt_at, 1u32.to_le_bytes().to_vec(), |e| matches!(e, ImageError::Corrupt { .. })),
        ("descriptor extent sectors", desc_at, b"# Disk DescriptorFile\nRW 99 SPARSE \"good.vmdk\"\n\0".to_vec(), |e| {
            matches!(e, ImageError::Corrupt { .. })
        }),
        ("descriptor two extents", desc_at, b"# Disk DescriptorFile\nRW 8192 SPARSE \"a\"\nRW 8192 SPARSE \"b\"\n\0".to_vec(), |e| {
            matches!(e, ImageError::Corrupt { .. })
        }),
        ("descriptor device", desc_at, b"# Disk DescriptorFile\ncreateType=\"fullDevice\"\n\0".to_vec(), |e| {
            matches!(e, ImageError::Unsupported(_))
        }),
        ("descriptor not UTF-8", desc_at, b"# Disk DescriptorFile\n\xff\xfe\n\0".to_vec(), |e| {
            matches!(e, ImageError::Corrupt { .. })
        }),
        ("parent /etc/passwd", desc_at, b"# Disk DescriptorFile\nparentCID=12345678\nparentFileNameHint=\"/etc/passwd\"\n\0".to_vec(), |e| {
            matches!(e, ImageError::ExternalReference { .. })
        }),
        ("parent json:", desc_at, b"# Disk DescriptorFile\nparentCID=12345678\nparentFileNameHint=\"json:{\\\"file.filename\\\":\\\"/etc/passwd\\\"}\"\n\0".to_vec(), |e| {
            matches!(e, ImageError::ExternalReference { .. })
        }),
    ];
    for (what, at, value, ok) in cases {
        let mut b = good.clone();
        b[at..at + value.len()].copy_from_slice(&value);
        match open_and_read(&dir, "bad.vmdk", &b, &limits) {
            Err(e) => assert!(ok(&e), "{what}: unexpected error {e:?}"),
            Ok(()) => panic!("{what}: accepted"),
        }
    }
    // Truncations.
    let len = good.len();
    for cut in [0, 3, 4, 100, 511, 512, 1024, gd_at, gd_at + 2, gt_at, gt_at + 100, len / 2, len - 512, len - 1] {
        let r = open_and_read(&dir, "cut.vmdk", &good[..cut], &limits);
        assert!(r.is_err(), "cut at {cut}: accepted");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hostile_descriptors_give_typed_errors() {
    let root = scratch("vmdk-descriptors");
    let dir = root.join("img");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(root.join("outside-flat.vmdk"), vec![0x77u8; MIB as usize]).unwrap();
    std::fs::write(dir.join("flat.bin"), vec![0x66u8; MIB as usize]).unwrap();
    let limits = ImageLimits::default();
    let desc = |body: &str| format!("# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n{body}\n");
    open_and_read(&dir, "ok.vmdk", desc("RW 2048 FLAT \"flat.bin\" 0").as_bytes(), &limits).unwrap();
    type Case = (&'static str, String, fn(&ImageError) -> bool);
    let cases: Vec<Case> = vec![
        ("/etc/passwd", desc("createType=\"monolithicFlat\"\nRW 2 FLAT \"/etc/passwd\" 0"), |e| {
            matches!(e, ImageError::ExternalReference { .. })
        }),
        ("../outside", desc("RW 2048 FLAT \"../outside-flat.vmdk\" 0"), |e| {
            matches!(e, ImageError::ExternalReference { .. })
        }),
        ("json:", desc("RW 2048 FLAT \"json:{file.filename:/etc/passwd}\" 0"), |e| {
            matches!(e, ImageError::ExternalReference { .. })
        }),
        // A name cannot hold a quote (as in qemu): the line is malformed before any file is named.
        ("json: with quotes", desc("RW 2048 FLAT \"json:{\\\"file.filename\\\":\\\"/etc/passwd\\\"}\" 0"), |e| {
            matches!(e, ImageError::Corrupt { .. } | ImageError::ExternalReference { .. })
        }),
        ("sparse /etc/passwd", desc("RW 2048 SPARSE \"/etc/passwd\""), |e| {
            matches!(e, ImageError::ExternalReference { .. })
        }),
        ("missing file", desc("RW 2048 FLAT \"nope.bin\" 0"), |e| matches!(e, ImageError::ExternalReference { .. })),
        ("flat too short", desc("RW 4096 FLAT \"flat.bin\" 0"), |e| matches!(e, ImageError::Truncated { .. })),
        ("flat offset past end", desc("RW 2 FLAT \"flat.bin\" 2047"), |e| matches!(e, ImageError::Truncated { .. })),
        ("flat huge offset", desc("RW 2 FLAT \"flat.bin\" 18446744073709551615"), |e| {
            matches!(e, ImageError::BadField { .. })
        }),
        ("sectors 2^63", desc("RW 9223372036854775808 ZERO"), |e| matches!(e, ImageError::BadField { .. })),
        ("sum past 2^61", desc(&"RW 2251799813685248 ZERO\n".repeat(3)), |e| matches!(e, ImageError::BadField { .. })),
        ("flat sparse mismatch", desc("RW 2048 SPARSE \"flat.bin\""), |e| matches!(e, ImageError::BadSignature { .. })),
        ("no extents", desc("createType=\"monolithicFlat\""), |e| matches!(e, ImageError::Corrupt { .. })),
        ("VMFSSPARSE", desc("RW 2048 VMFSSPARSE \"flat.bin\""), |e| matches!(e, ImageError::BadSignature { .. })),
        ("SESPARSE", desc("RW 2048 SESPARSE \"flat.bin\""), |e| matches!(e, ImageError::BadSignature { .. })),
        ("NOACCESS", desc("NOACCESS 2048 FLAT \"flat.bin\" 0"), |e| matches!(e, ImageError::Unsupported(_))),
        ("raw device", desc("createType=\"vmfsRawDeviceMap\"\nRW 2048 VMFSRDM \"flat.bin\""), |e| {
            matches!(e, ImageError::Unsupported(_))
        }),
        ("bad number", desc("RW 20x8 FLAT \"flat.bin\" 0"), |e| matches!(e, ImageError::Corrupt { .. })),
        (
            "parent outside",
            desc("RW 2048 FLAT \"flat.bin\" 0\nparentCID=00000001\nparentFileNameHint=\"../outside-flat.vmdk\""),
            |e| matches!(e, ImageError::ExternalReference { .. }),
        ),
        (
            "parent is itself",
            desc("RW 2048 FLAT \"flat.bin\" 0\nparentCID=12345678\nparentFileNameHint=\"self.vmdk\""),
            |e| {
                matches!(
                    e,
                    ImageError::Corrupt { what: "VMDK parent chain", .. }
                        | ImageError::LimitExceeded { limit: "max_chain_depth", .. }
                )
            },
        ),
    ];
    for (what, text, ok) in cases {
        let name = if what == "parent is itself" { "self.vmdk" } else { "bad.vmdk" };
        match open_and_read(&dir, name, text.as_bytes(), &limits) {
            Err(e) => assert!(ok(&e), "{what}: unexpected error {e:?}"),
            Ok(()) => panic!("{what}: accepted"),
        }
    }
    // A descriptor larger than max_header_bytes is not read.
    let mut big = desc("RW 2048 FLAT \"flat.bin\" 0").into_bytes();
    big.resize(2 * MIB as usize, b' ');
    assert!(matches!(
        open_and_read(&dir, "big.vmdk", &big, &limits),
        Err(ImageError::LimitExceeded { limit: "max_header_bytes", .. })
    ));
    // A 1 GiB sparse file claiming to be a descriptor: refused before any read of its body.
    let f = std::fs::File::create(dir.join("huge.vmdk")).unwrap();
    f.set_len(GIB).unwrap();
    drop(f);
    let mut f = std::fs::OpenOptions::new().write(true).open(dir.join("huge.vmdk")).unwrap();
    f.write_all(b"# Disk DescriptorFile\n").unwrap();
    drop(f);
    let r = open_in(&dir, "huge.vmdk", &limits);
    assert!(matches!(r, Err(ImageError::LimitExceeded { limit: "max_header_bytes", .. })), "{r:?}");
    let _ = std::fs::remove_dir_all(&root);
}

/// Opens an in-memory image (no folder: other files are refused) and reads the whole disk;
/// returns the first error. Must finish quickly whatever the bytes.
fn read_mem(bytes: Vec<u8>, limits: &ImageLimits) -> regnet_image::Result<()> {
    let t = Instant::now();
    let counters = Arc::new(Counters::default());
    let src = FileSource::new("mem", Box::new(std::io::Cursor::new(bytes)), counters, limits).unwrap();
    let r = (|| {
        let mut disk = VmdkDisk::open(src, &NoResolver, limits)?;
        let mut buf = vec![0u8; 256 << 10];
        let mut off = 0;
        while off < disk.size() {
            let n = (disk.size() - off).min(256 << 10);
            disk.read_at(off, &mut buf[..n as usize])?;
            off += n;
        }
        Ok(())
    })();
    // Tests never assert timings: the time is printed for people.
    eprintln!("took {:?}", t.elapsed());
    r
}

/// Random byte changes in the header, embedded descriptor, grain directory and tables of a
/// monolithicSparse file, and in every part of a footer stream: a read or a typed error, never a
/// panic or a hang.
#[test]
fn random_metadata_mutations_never_panic() {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let limits = ImageLimits::default();
    let (mut ok, mut errors) = (0, 0);
    let mut count = |r: regnet_image::Result<()>| match r {
        Ok(()) => ok += 1,
        Err(_) => errors += 1,
    };
    // The footer stream (no tool needed).
    let grains: Vec<(u64, Option<Vec<u8>>)> =
        [0u64, 1, 7, 512, 1000].iter().map(|&g| (g, Some(pattern(g, 4096)))).chain([(9, None)]).collect();
    let s = build_stream(2048 * 8 + 3, 8, &grains).bytes;
    for _ in 0..400 {
        let mut b = s.clone();
        for _ in 0..1 + next() % 3 {
            let r = next();
            let at = if r % 3 == 0 { (r >> 8) as usize % 80 } else { (r >> 8) as usize % b.len() };
            b[at] = (next() >> 24) as u8;
        }
        count(read_mem(b, &limits));
    }
    if have("qemu-img") {
        let dir = scratch("vmdk-mutate");
        make_raw(&dir.join("base.raw"), 8 * MIB, &[]).unwrap();
        run("qemu-img", &["convert", "-f", "raw", "-O", "vmdk", "base.raw", "s.vmdk"], &dir);
        let good = std::fs::read(dir.join("s.vmdk")).unwrap();
        let gd = le64(&good, 56) as usize * 512;
        let gt = le32(&good, gd) as usize * 512;
        for _ in 0..400 {
            let mut b = good.clone();
            for _ in 0..1 + next() % 3 {
                let r = next();
                let at = match r % 4 {
                    0 => (r >> 8) as usize % 80,
                    1 => 512 + (r >> 8) as usize % 400,
                    2 => gd + (r >> 8) as usize % 16,
                    _ => gt + (r >> 8) as usize % 2048,
                };
                b[at] = (next() >> 24) as u8;
            }
            count(read_mem(b, &limits));
        }
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        eprintln!("qemu-img absent: only the hand-made stream is mutated");
    }
    eprintln!("VMDK mutations: {ok} read, {errors} typed errors");
}
