//! qcow2 reader against qemu-img: every variant qemu writes (v2, v3, zlib-compressed, 4 KiB and
//! 2 MiB clusters, extended L2, backing chains, zero clusters) is read back byte for byte and
//! compared with `qemu-img convert -O raw`; the inflated-cluster cache is measured; external
//! references and crafted headers give typed errors quickly. Tests that need qemu-img skip with a
//! printed reason when it is absent.

use regnet_image::container::qcow2::Qcow2Disk;
use regnet_image::{
    detect, open_container, ContainerFormat, Counters, DirResolver, FileSource, ImageError, ImageLimits, NoResolver,
    VirtualDisk,
};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

const MIB: u64 = 1 << 20;

/// A fresh scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Runs a tool; panics with its output on failure.
fn run(tool: &str, args: &[&str], dir: &Path) {
    let out = Command::new(tool).args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "{tool} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Skips the test (returns true) when qemu-img is missing.
fn skip_without_qemu() -> bool {
    if !have("qemu-img") {
        eprintln!("skipped: qemu-img is not installed (Debian package qemu-utils)");
        return true;
    }
    false
}

/// Deterministic, half-compressible bytes (low nibble pseudo-random) for a region.
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

/// Data regions of the test disk: cluster and grain boundaries (64 KiB, 1 MiB, 2 MiB), a 2 MiB
/// region for the cache test at 8 MiB, and the end of the disk. 20..21 MiB is written as zeros.
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

/// Writes a sparse raw disk of `size` bytes with the patterns; returns its content.
fn make_raw(path: &Path, size: u64) -> Vec<u8> {
    let mut f = std::fs::File::create(path).unwrap();
    f.set_len(size).unwrap();
    let mut content = vec![0u8; size as usize];
    for (i, (off, len)) in regions(size).into_iter().enumerate() {
        let data = pattern(i as u64 + off, len);
        f.seek(SeekFrom::Start(off)).unwrap();
        f.write_all(&data).unwrap();
        content[off as usize..off as usize + len].copy_from_slice(&data);
    }
    if size >= 21 * MIB {
        f.seek(SeekFrom::Start(20 * MIB)).unwrap();
        f.write_all(&vec![0u8; MIB as usize]).unwrap();
    }
    content
}

fn source(path: &Path, counters: &Arc<Counters>, limits: &ImageLimits) -> FileSource {
    FileSource::open_path(path, counters.clone(), limits).unwrap()
}

/// Opens `name` in `dir` with a resolver bound to `dir`.
fn open_in(dir: &Path, name: &str, limits: &ImageLimits) -> regnet_image::Result<Qcow2Disk> {
    let counters = Arc::new(Counters::default());
    let resolver = DirResolver::new(dir, &[], counters.clone(), *limits);
    Qcow2Disk::open(source(&dir.join(name), &counters, limits), &resolver, limits)
}

/// What `qemu-img convert -O raw` makes of an image.
fn qemu_raw(dir: &Path, name: &str) -> Vec<u8> {
    let out = format!("{name}.ref.raw");
    run("qemu-img", &["convert", "-O", "raw", name, &out], dir);
    let v = std::fs::read(dir.join(&out)).unwrap();
    std::fs::remove_file(dir.join(&out)).unwrap();
    v
}

/// Reads the whole disk in 1 MiB reads, then odd-sized unaligned reads and pseudo-random reads,
/// comparing each with `expected`.
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
        (2 * MIB - 4097, 8195),
        (12345, 1_000_001),
        (size - 1, 1),
        (size - 7777, 7777),
        (16 * MIB - 4095, 12_000),
    ];
    let mut x = 0x1234_5678u64;
    for _ in 0..200 {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let len = 1 + (x >> 40) as usize % 200_000;
        let off = (x >> 8) % (size - len as u64);
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
    assert!(matches!(disk.read_at(u64::MAX, &mut b), Err(ImageError::OutOfRange { .. })));
}

#[test]
fn qemu_variants_read_like_qemu() {
    if skip_without_qemu() {
        return;
    }
    let dir = scratch("qcow2-variants");
    let content = make_raw(&dir.join("base.raw"), 48 * MIB);
    let variants: &[(&str, &[&str])] = &[
        ("v3.qcow2", &[]),
        ("v2.qcow2", &["-o", "compat=0.10"]),
        ("zlib.qcow2", &["-c"]),
        ("zlib-v2.qcow2", &["-c", "-o", "compat=0.10"]),
        ("c4k.qcow2", &["-o", "cluster_size=4096"]),
        ("c4k-zlib.qcow2", &["-c", "-o", "cluster_size=4096"]),
        ("c2m.qcow2", &["-o", "cluster_size=2M"]),
        ("c2m-zlib.qcow2", &["-c", "-o", "cluster_size=2M"]),
        ("c512.qcow2", &["-o", "cluster_size=512"]),
        ("extl2.qcow2", &["-o", "extended_l2=on"]),
    ];
    let limits = ImageLimits::default();
    for (name, opts) in variants {
        let mut args = vec!["convert", "-f", "raw", "-O", "qcow2"];
        args.extend_from_slice(opts);
        args.extend_from_slice(&["base.raw", name]);
        run("qemu-img", &args, &dir);
        let reference = qemu_raw(&dir, name);
        assert!(reference == content, "{name}: qemu's own conversion differs from the pattern");
        let t = Instant::now();
        let mut disk = open_in(&dir, name, &limits).unwrap_or_else(|e| panic!("{name}: {e}"));
        check_same(&mut disk, &reference, name);
        eprintln!("{name}: {} bytes read back in {:?}", disk.size(), t.elapsed());
        // Detection by content and the generic entry point agree.
        let counters = Arc::new(Counters::default());
        let mut src = source(&dir.join(name), &counters, &limits);
        assert_eq!(detect(&mut src).unwrap(), ContainerFormat::Qcow2);
        let mut d = open_container(src, ContainerFormat::Qcow2, &NoResolver, &limits).unwrap();
        let mut b = vec![0u8; 8292];
        d.read_at(MIB - 100, &mut b).unwrap();
        assert!(b == content[(MIB - 100) as usize..(MIB - 100) as usize + 8292]);
        assert_eq!(d.format(), ContainerFormat::Qcow2);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn compressed_clusters_are_cached() {
    if skip_without_qemu() {
        return;
    }
    let dir = scratch("qcow2-cache");
    let content = make_raw(&dir.join("base.raw"), 48 * MIB);
    run("qemu-img", &["convert", "-f", "raw", "-O", "qcow2", "-c", "base.raw", "z.qcow2"], &dir);
    let limits = ImageLimits::default();
    let counters = Arc::new(Counters::default());
    let mut disk = Qcow2Disk::open(source(&dir.join("z.qcow2"), &counters, &limits), &NoResolver, &limits).unwrap();
    let region = 8 * MIB..10 * MIB;
    let read_region = |disk: &mut Qcow2Disk| {
        // 4 KiB reads, as a file system walking MFT records would make.
        let mut b = vec![0u8; 4096];
        for off in region.clone().step_by(4096) {
            disk.read_at(off, &mut b).unwrap();
            assert!(b == content[off as usize..off as usize + 4096], "at {off:#x}");
        }
    };
    let (b0, r0) = (counters.bytes_read(), counters.reads());
    read_region(&mut disk);
    let (b1, r1) = (counters.bytes_read(), counters.reads());
    read_region(&mut disk);
    let (b2, r2) = (counters.bytes_read(), counters.reads());
    let file_len = std::fs::metadata(dir.join("z.qcow2")).unwrap().len();
    eprintln!(
        "compressed qcow2 ({file_len} bytes): 2 MiB in 4 KiB reads: first pass {} bytes in {} reads, second pass {} bytes in {} reads",
        b1 - b0,
        r1 - r0,
        b2 - b1,
        r2 - r1
    );
    assert_eq!((b2 - b1, r2 - r1), (0, 0), "the second pass must come from the caches");
    // No read amplification: the first pass reads about the compressed size of the region
    // (qcow2-core read 105× more).
    assert!(b1 - b0 < 2 * MIB + 256 * 1024, "first pass read {} bytes", b1 - b0);
    assert!(r1 - r0 <= 40, "first pass made {} reads", r1 - r0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn backing_chains_and_zero_clusters() {
    if skip_without_qemu() {
        return;
    }
    if !have("qemu-io") {
        eprintln!("skipped: qemu-io is not installed (Debian package qemu-utils)");
        return;
    }
    let dir = scratch("qcow2-backing");
    make_raw(&dir.join("base.raw"), 48 * MIB);
    let limits = ImageLimits::default();
    let io = |img: &str, cmds: &[&str]| {
        let mut args = Vec::new();
        for c in cmds {
            args.extend_from_slice(&["-c", c]);
        }
        args.push(img);
        run("qemu-io", &args, &dir);
    };

    // Raw base ← qcow2 overlay with new data and a zero cluster over the base's data.
    run("qemu-img", &["create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "overlay.qcow2"], &dir);
    io(
        "overlay.qcow2",
        &["write -P 0xab 1M 64k", "write -z 8M 64k", "write -P 0x5c 50327552 4k", "write -P 0x11 3000 1000"],
    );
    let expected = qemu_raw(&dir, "overlay.qcow2");
    let mut disk = open_in(&dir, "overlay.qcow2", &limits).unwrap();
    assert_eq!(disk.chain_len(), 2);
    check_same(&mut disk, &expected, "raw-backed overlay");
    assert!(expected[(8 * MIB) as usize..(8 * MIB + 65536) as usize].iter().all(|&b| b == 0));

    // A three-level chain of qcow2 files (compressed base, v2 middle, v3 top).
    run("qemu-img", &["convert", "-q", "-c", "-f", "raw", "-O", "qcow2", "base.raw", "base.qcow2"], &dir);
    run(
        "qemu-img",
        &["create", "-q", "-f", "qcow2", "-o", "compat=0.10", "-b", "base.qcow2", "-F", "qcow2", "mid.qcow2"],
        &dir,
    );
    io("mid.qcow2", &["write -P 0x22 2M 1M", "write -P 0x23 9436672 1k"]);
    run("qemu-img", &["create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", "top.qcow2"], &dir);
    io("top.qcow2", &["write -P 0x33 2097664 512", "write -z 16773120 8k", "write -P 0x34 47M 1M"]);
    let expected = qemu_raw(&dir, "top.qcow2");
    let mut disk = open_in(&dir, "top.qcow2", &limits).unwrap();
    assert_eq!(disk.chain_len(), 3);
    check_same(&mut disk, &expected, "three-level chain");

    // A backing file smaller than the overlay: zeros past its end.
    std::fs::write(dir.join("small.raw"), pattern(7, 3 * MIB as usize + 1000)).unwrap();
    run("qemu-img", &["create", "-q", "-f", "qcow2", "-b", "small.raw", "-F", "raw", "big.qcow2", "8M"], &dir);
    io("big.qcow2", &["write -P 0x44 3141632 4k"]);
    let expected = qemu_raw(&dir, "big.qcow2");
    let mut disk = open_in(&dir, "big.qcow2", &limits).unwrap();
    let mut got = vec![0u8; 8 * MIB as usize];
    disk.read_at(0, &mut got).unwrap();
    assert!(got == expected, "small backing file");

    // Extended L2 entries over a backing file: 2 KiB subclusters, partly allocated.
    run(
        "qemu-img",
        &["create", "-q", "-f", "qcow2", "-o", "extended_l2=on", "-b", "base.raw", "-F", "raw", "sub.qcow2"],
        &dir,
    );
    io("sub.qcow2", &["write -P 0x55 1050624 2k", "write -z 1054720 4k", "write -P 0x56 8419328 6k"]);
    let expected = qemu_raw(&dir, "sub.qcow2");
    let mut disk = open_in(&dir, "sub.qcow2", &limits).unwrap();
    check_same(&mut disk, &expected, "extended L2 over a backing file");

    // No backing format extension: the format is found by content.
    let mut bytes = std::fs::read(dir.join("top.qcow2")).unwrap();
    let at = bytes.windows(4).position(|w| w == [0xe2, 0x79, 0x2a, 0xca]).unwrap();
    bytes[at..at + 4].copy_from_slice(&[0x12, 0x34, 0x56, 0x78]);
    std::fs::write(dir.join("top-nofmt.qcow2"), &bytes).unwrap();
    let expected = qemu_raw(&dir, "top.qcow2");
    let mut disk = open_in(&dir, "top-nofmt.qcow2", &limits).unwrap();
    check_same(&mut disk, &expected, "backing format by content");

    // The chain depth is bounded.
    let mut shallow = limits;
    shallow.max_chain_depth = 1;
    assert!(matches!(
        open_in(&dir, "top.qcow2", &shallow),
        Err(ImageError::LimitExceeded { limit: "max_chain_depth", .. })
    ));
    // A stream has no folder: its backing file is refused.
    let counters = Arc::new(Counters::default());
    assert!(matches!(
        Qcow2Disk::open(source(&dir.join("overlay.qcow2"), &counters, &limits), &NoResolver, &limits),
        Err(ImageError::ExternalReference { .. })
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The header fields patched by the hostile tests.
fn patch(bytes: &mut [u8], at: usize, value: &[u8]) {
    bytes[at..at + value.len()].copy_from_slice(value);
}

fn be64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}

/// Writes `bytes` as `name` in `dir`, opens and reads the whole disk; returns the first error.
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
fn external_references_are_refused() {
    if skip_without_qemu() {
        return;
    }
    let root = scratch("qcow2-external");
    let dir = root.join("img");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(root.join("outside.raw"), vec![0x77u8; 1 << 20]).unwrap();
    make_raw(&dir.join("base.raw"), 8 * MIB);
    run("qemu-img", &["create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "ov.qcow2"], &dir);
    let good = std::fs::read(dir.join("ov.qcow2")).unwrap();
    let limits = ImageLimits::default();
    open_and_read(&dir, "ov-ok.qcow2", &good, &limits).unwrap();
    let name_at = be64(&good, 8) as usize;
    for name in [
        "/etc/passwd",
        "../outside.raw",
        "json:{\"file.driver\":\"file\",\"file.filename\":\"/etc/passwd\"}",
        "nbd://10.0.0.1/x",
    ] {
        let mut b = good.clone();
        patch(&mut b, name_at, name.as_bytes());
        patch(&mut b, 16, &(name.len() as u32).to_be_bytes());
        let r = open_and_read(&dir, "ov-bad.qcow2", &b, &limits);
        assert!(matches!(r, Err(ImageError::ExternalReference { .. })), "{name}: {r:?}");
    }
    // External data file (incompatible feature bit 2).
    run("qemu-img", &["create", "-q", "-f", "qcow2", "-o", "data_file=data.raw", "df.qcow2", "8M"], &dir);
    let b = std::fs::read(dir.join("df.qcow2")).unwrap();
    let r = open_and_read(&dir, "df2.qcow2", &b, &limits);
    assert!(matches!(r, Err(ImageError::ExternalReference { what: "qcow2 external data file", .. })), "{r:?}");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn hostile_headers_give_typed_errors() {
    if skip_without_qemu() {
        return;
    }
    let dir = scratch("qcow2-hostile");
    make_raw(&dir.join("base.raw"), 8 * MIB);
    run("qemu-img", &["convert", "-f", "raw", "-O", "qcow2", "base.raw", "good.qcow2"], &dir);
    let good = std::fs::read(dir.join("good.qcow2")).unwrap();
    let limits = ImageLimits::default();
    open_and_read(&dir, "ok.qcow2", &good, &limits).unwrap();
    let l1_at = be64(&good, 40) as usize;
    let l2_at = (be64(&good, l1_at) & 0x00ff_ffff_ffff_fe00) as usize;

    type Case = (&'static str, usize, Vec<u8>, fn(&ImageError) -> bool);
    let cases: Vec<Case> = vec![
        ("magic", 0, b"QFI\xfc".to_vec(), |e| matches!(e, ImageError::BadSignature { .. })),
        ("version 1", 4, 1u32.to_be_bytes().to_vec(), |e| matches!(e, ImageError::BadField { .. })),
        ("version 4", 4, 4u32.to_be_bytes().to_vec(), |e| matches!(e, ImageError::BadField { .. })),
        ("l1_size 2^31", 36, 0x8000_0000u32.to_be_bytes().to_vec(), |e| {
            matches!(e, ImageError::LimitExceeded { limit: "max_table_bytes", .. })
        }),
        ("l1_size 0", 36, 0u32.to_be_bytes().to_vec(), |e| matches!(e, ImageError::BadField { .. })),
        ("cluster_bits 63", 20, 63u32.to_be_bytes().to_vec(), |e| matches!(e, ImageError::BadField { .. })),
        ("cluster_bits 8", 20, 8u32.to_be_bytes().to_vec(), |e| matches!(e, ImageError::BadField { .. })),
        ("cluster_bits 30", 20, 30u32.to_be_bytes().to_vec(), |e| matches!(e, ImageError::BadField { .. })),
        ("size 2^63", 24, (1u64 << 63).to_be_bytes().to_vec(), |e| matches!(e, ImageError::BadField { .. })),
        ("size 2^60", 24, (1u64 << 60).to_be_bytes().to_vec(), |e| matches!(e, ImageError::BadField { .. })),
        ("crypt AES", 32, 1u32.to_be_bytes().to_vec(), |e| matches!(e, ImageError::Unsupported(_))),
        ("L1 past EOF", 40, (1u64 << 40).to_be_bytes().to_vec(), |e| matches!(e, ImageError::Truncated { .. })),
        ("L1 unaligned", 40, (0x30000u64 + 8).to_be_bytes().to_vec(), |e| matches!(e, ImageError::BadField { .. })),
        ("refcount past EOF", 48, (1u64 << 40).to_be_bytes().to_vec(), |e| matches!(e, ImageError::Truncated { .. })),
        ("refcount unaligned", 48, 0x10008u64.to_be_bytes().to_vec(), |e| matches!(e, ImageError::BadField { .. })),
        ("nb_snapshots 2^32-1", 60, u32::MAX.to_be_bytes().to_vec(), |e| matches!(e, ImageError::BadField { .. })),
        ("unknown incompatible bit", 72, (1u64 << 5).to_be_bytes().to_vec(), |e| {
            matches!(e, ImageError::Unsupported(_))
        }),
        ("corrupt bit", 72, 2u64.to_be_bytes().to_vec(), |e| matches!(e, ImageError::Corrupt { .. })),
        ("zstd bit without type", 72, 8u64.to_be_bytes().to_vec(), |e| matches!(e, ImageError::BadField { .. })),
        ("extended L2 bit, small clusters", 20, 12u32.to_be_bytes().to_vec(), |_| true),
        ("refcount_order 7", 96, 7u32.to_be_bytes().to_vec(), |e| matches!(e, ImageError::BadField { .. })),
        ("header_length 2^32-16", 100, 0xFFFF_FFF0u32.to_be_bytes().to_vec(), |e| {
            matches!(e, ImageError::BadField { .. })
        }),
        ("header_length 100", 100, 100u32.to_be_bytes().to_vec(), |e| matches!(e, ImageError::BadField { .. })),
        ("extension length 2^32-1", 112 + 4, u32::MAX.to_be_bytes().to_vec(), |e| {
            matches!(e, ImageError::Corrupt { .. })
        }),
        ("backing name 4 GiB", 8, 0x1000u64.to_be_bytes().to_vec(), |_| true),
        ("L1 entry past EOF", l1_at, ((1u64 << 40) | (1 << 63)).to_be_bytes().to_vec(), |e| {
            matches!(e, ImageError::Truncated { .. })
        }),
        ("L1 entry unaligned", l1_at, (0x50200u64 | (1 << 63)).to_be_bytes().to_vec(), |e| {
            matches!(e, ImageError::Corrupt { .. })
        }),
        ("L2 entry past EOF", l2_at, ((1u64 << 40) | (1 << 63)).to_be_bytes().to_vec(), |e| {
            matches!(e, ImageError::Truncated { .. })
        }),
        ("L2 entry unaligned", l2_at, (0x50200u64 | (1 << 63)).to_be_bytes().to_vec(), |e| {
            matches!(e, ImageError::Corrupt { .. })
        }),
        ("L2 compressed past EOF", l2_at, ((1u64 << 62) | (1 << 40)).to_be_bytes().to_vec(), |e| {
            matches!(e, ImageError::Truncated { .. })
        }),
        ("L2 compressed garbage", l2_at, ((1u64 << 62) | 0x300).to_be_bytes().to_vec(), |e| {
            matches!(e, ImageError::Corrupt { .. })
        }),
    ];
    for (what, at, value, ok) in cases {
        let mut b = good.clone();
        patch(&mut b, at, &value);
        if what == "extended L2 bit, small clusters" {
            patch(&mut b, 72, &16u64.to_be_bytes());
        }
        if what == "backing name 4 GiB" {
            patch(&mut b, 16, &u32::MAX.to_be_bytes());
        }
        match open_and_read(&dir, "bad.qcow2", &b, &limits) {
            Err(e) => assert!(ok(&e), "{what}: unexpected error {e:?}"),
            Ok(()) => panic!("{what}: accepted"),
        }
    }

    // An unknown 100 kB header extension in a 2 MiB cluster: skipped, unless it passes
    // max_header_bytes.
    run("qemu-img", &["convert", "-f", "raw", "-O", "qcow2", "-o", "cluster_size=2M", "base.raw", "c2m.qcow2"], &dir);
    let mut big = std::fs::read(dir.join("c2m.qcow2")).unwrap();
    assert_eq!(u32::from_be_bytes(big[100..104].try_into().unwrap()), 112);
    patch(&mut big, 112, &0x1111_1111u32.to_be_bytes());
    patch(&mut big, 116, &100_000u32.to_be_bytes());
    big[120..120 + 100_000].fill(0x5a);
    patch(&mut big, 100_120, &[0u8; 8]);
    open_and_read(&dir, "bigext.qcow2", &big, &limits).unwrap();
    let mut small = limits;
    small.max_header_bytes = 65536;
    let r = open_and_read(&dir, "bigext.qcow2", &big, &small);
    assert!(matches!(r, Err(ImageError::LimitExceeded { limit: "max_header_bytes", .. })), "{r:?}");

    // zstd-compressed clusters, if this qemu-img can write them.
    let zstd = Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2", "-o", "compression_type=zstd", "zstd.qcow2", "8M"])
        .current_dir(&dir)
        .status()
        .is_ok_and(|s| s.success());
    if zstd {
        let b = std::fs::read(dir.join("zstd.qcow2")).unwrap();
        let r = open_and_read(&dir, "zstd2.qcow2", &b, &limits);
        assert!(matches!(&r, Err(ImageError::Unsupported(m)) if m.contains("zstd")), "{r:?}");
    } else {
        eprintln!("zstd case skipped: this qemu-img cannot write compression_type=zstd");
    }

    // Truncated at several lengths: a typed error (or a clean read), never a panic.
    let len = good.len();
    for cut in [0, 3, 4, 71, 72, 100, 104, 111, 512, 0x10000, 0x20000, 0x30000, 0x30001, len / 2, len - 4096, len - 1] {
        let r = open_and_read(&dir, "cut.qcow2", &good[..cut.min(len)], &limits);
        assert!(r.is_err(), "cut at {cut}: accepted");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Compressed clusters crafted with flate2: one that inflates past its cluster (a small "zip
/// bomb"), one that comes up short, and the inflation budget.
#[test]
fn crafted_compressed_clusters() {
    use flate2::write::DeflateEncoder;
    use flate2::Compression;
    if skip_without_qemu() {
        return;
    }
    let dir = scratch("qcow2-deflate");
    make_raw(&dir.join("base.raw"), 8 * MIB);
    run("qemu-img", &["convert", "-f", "raw", "-O", "qcow2", "base.raw", "good.qcow2"], &dir);
    let good = std::fs::read(dir.join("good.qcow2")).unwrap();
    let cluster_bits = u32::from_be_bytes(good[20..24].try_into().unwrap());
    assert_eq!(cluster_bits, 16);
    let l1_at = be64(&good, 40) as usize;
    let l2_at = (be64(&good, l1_at) & 0x00ff_ffff_ffff_fe00) as usize;
    let limits = ImageLimits::default();

    let with_stream = |data: &[u8]| -> Vec<u8> {
        let mut e = DeflateEncoder::new(Vec::new(), Compression::best());
        e.write_all(data).unwrap();
        let stream = e.finish().unwrap();
        let mut b = good.clone();
        let at = b.len().next_multiple_of(512);
        b.resize(at, 0);
        b.extend_from_slice(&stream);
        // x = 62 - (16 - 8) = 54; additional sectors after the first.
        let extra = (stream.len() as u64).div_ceil(512) - 1;
        let entry = (1u64 << 62) | (extra << 54) | at as u64;
        patch(&mut b, l2_at, &entry.to_be_bytes());
        b
    };
    // Two clusters of data in one cluster's slot.
    let bomb = with_stream(&pattern(1, 2 << 16));
    let r = open_and_read(&dir, "bomb.qcow2", &bomb, &limits);
    assert!(matches!(&r, Err(ImageError::Corrupt { reason, .. }) if reason.contains("past")), "{r:?}");
    // 4 MiB of zeros (compresses to ~4 KiB): still refused after one cluster.
    let big = with_stream(&vec![0u8; 4 << 20]);
    assert!(matches!(open_and_read(&dir, "big.qcow2", &big, &limits), Err(ImageError::Corrupt { .. })));
    let short = with_stream(&pattern(2, 1000));
    let r = open_and_read(&dir, "short.qcow2", &short, &limits);
    assert!(matches!(&r, Err(ImageError::Corrupt { reason, .. }) if reason.contains("short")), "{r:?}");
    // Exactly one cluster: read back.
    let exact_data = pattern(3, 1 << 16);
    let exact = with_stream(&exact_data);
    std::fs::write(dir.join("exact.qcow2"), &exact).unwrap();
    let mut disk = open_in(&dir, "exact.qcow2", &limits).unwrap();
    let mut b = vec![0u8; 1 << 16];
    disk.read_at(0, &mut b).unwrap();
    assert!(b == exact_data);
    // The inflation budget.
    let mut tight = limits;
    tight.max_inflated_bytes = 1000;
    let mut disk = open_in(&dir, "exact.qcow2", &tight).unwrap();
    assert!(matches!(disk.read_at(0, &mut b), Err(ImageError::LimitExceeded { limit: "max_inflated_bytes", .. })));
    // Clusters larger than max_unit_bytes are not inflated.
    let mut small_unit = limits;
    small_unit.max_unit_bytes = 4096;
    let mut disk = open_in(&dir, "exact.qcow2", &small_unit).unwrap();
    assert!(matches!(disk.read_at(0, &mut b), Err(ImageError::LimitExceeded { limit: "max_unit_bytes", .. })));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Opens an in-memory image (no folder: backing files are refused) and reads the whole disk in
/// 256 KiB reads; returns the first error. Must finish quickly whatever the bytes.
fn read_mem(bytes: Vec<u8>, limits: &ImageLimits) -> regnet_image::Result<()> {
    let t = Instant::now();
    let counters = Arc::new(Counters::default());
    let src = FileSource::new("mem", Box::new(std::io::Cursor::new(bytes)), counters, limits).unwrap();
    let r = (|| {
        let mut disk = Qcow2Disk::open(src, &NoResolver, limits)?;
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

/// Random byte changes in the header, L1 and L2 tables and compressed data of plain and
/// compressed images: every outcome is a read or a typed error, never a panic or a hang.
#[test]
fn random_metadata_mutations_never_panic() {
    if skip_without_qemu() {
        return;
    }
    let dir = scratch("qcow2-mutate");
    make_raw(&dir.join("base.raw"), 8 * MIB);
    run("qemu-img", &["convert", "-f", "raw", "-O", "qcow2", "base.raw", "p.qcow2"], &dir);
    run("qemu-img", &["convert", "-c", "-f", "raw", "-O", "qcow2", "-o", "compat=0.10", "base.raw", "z.qcow2"], &dir);
    let limits = ImageLimits::default();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let (mut ok, mut errors) = (0, 0);
    for name in ["p.qcow2", "z.qcow2"] {
        let good = std::fs::read(dir.join(name)).unwrap();
        let l1 = be64(&good, 40) as usize;
        let l2 = (be64(&good, l1) & 0x00ff_ffff_ffff_fe00) as usize;
        for _ in 0..300 {
            let mut b = good.clone();
            for _ in 0..1 + next() % 4 {
                let r = next();
                let at = match r % 4 {
                    0 | 1 => (r >> 8) as usize % 112,
                    2 => l1 + (r >> 8) as usize % 8,
                    _ => l2 + (r >> 8) as usize % 1024,
                };
                b[at] = (next() >> 24) as u8;
            }
            match read_mem(b, &limits) {
                Ok(()) => ok += 1,
                Err(_) => errors += 1,
            }
        }
        // Compressed data bytes too.
        if name == "z.qcow2" {
            for _ in 0..100 {
                let mut b = good.clone();
                let at = 0x50000 + next() as usize % (good.len() - 0x50000);
                b[at] ^= 1 << (next() % 8);
                match read_mem(b, &limits) {
                    Ok(()) => ok += 1,
                    Err(_) => errors += 1,
                }
            }
        }
    }
    eprintln!("qcow2 mutations: {ok} read, {errors} typed errors");
    let _ = std::fs::remove_dir_all(&dir);
}
