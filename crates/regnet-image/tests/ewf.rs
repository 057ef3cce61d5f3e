//! EWF (E01) and split raw readers: libewf's `ewfacquire` sets and `split` pieces of the image
//! fixtures are read back byte for byte (against the raw image, and against `ewfexport`), and
//! crafted sets (a real `ewfacquire` output, patched) end in typed errors. Tests that need
//! ewf-tools or the built fixtures skip with a printed reason when they are absent.

use regnet_image::{
    detect, detect_in, open_container, ContainerFormat, Counters, DirResolver, FileSource, ImageError, ImageLimits,
    NoResolver, VirtualDisk,
};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

const MIB: usize = 1 << 20;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/testdata")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("ewf-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("-V").output().is_ok_and(|o| o.status.success())
}

fn skip_without_ewf_tools() -> bool {
    if !have("ewfacquire") || !have("ewfexport") {
        eprintln!("skipped: ewfacquire/ewfexport are not installed (Debian package ewf-tools)");
        return true;
    }
    false
}

/// Opens `path` as `extract` does: detection (split pieces by name), the folder policy.
fn open(path: &Path, limits: &ImageLimits) -> regnet_image::Result<Box<dyn VirtualDisk>> {
    let counters = Arc::new(Counters::default());
    let mut src = FileSource::open_path(path, counters.clone(), limits)?;
    let resolver = DirResolver::new(path.parent().unwrap(), &[], counters, *limits);
    let format = detect_in(&mut src, &resolver)?;
    open_container(src, format, &resolver, limits)
}

/// Compares the whole disk with a byte stream, 1 MiB at a time.
fn compare_with(disk: &mut dyn VirtualDisk, mut other: impl Read, what: &str) {
    let size = disk.size();
    let mut a = vec![0u8; MIB];
    let mut b = vec![0u8; MIB];
    let mut off = 0u64;
    while off < size {
        let n = (size - off).min(MIB as u64) as usize;
        disk.read_at(off, &mut a[..n]).unwrap_or_else(|e| panic!("{what} at {off:#x}: {e}"));
        other.read_exact(&mut b[..n]).unwrap_or_else(|e| panic!("{what}: the other side ends at {off:#x}: {e}"));
        assert!(a[..n] == b[..n], "{what}: differs in the MiB at {off:#x}");
        off += n as u64;
    }
    let mut rest = Vec::new();
    other.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "{what}: the other side has {} more bytes", rest.len());
}

/// Compares MiB `i` of the disk with the raw file's for every `i` that is a multiple of `stride`,
/// plus the first four and the last.
fn compare_sampled(disk: &mut dyn VirtualDisk, raw: &Path, stride: u64, what: &str) {
    use std::io::{Seek, SeekFrom};
    let size = disk.size();
    assert_eq!(size, std::fs::metadata(raw).unwrap().len(), "{what}: size");
    let mut f = std::fs::File::open(raw).unwrap();
    let (mut a, mut b) = (vec![0u8; MIB], vec![0u8; MIB]);
    let mibs = size.div_ceil(MIB as u64);
    for i in (0..mibs).filter(|i| i % stride == 0 || *i < 4 || *i == mibs - 1) {
        let off = i * MIB as u64;
        let n = (size - off).min(MIB as u64) as usize;
        disk.read_at(off, &mut a[..n]).unwrap_or_else(|e| panic!("{what} at {off:#x}: {e}"));
        f.seek(SeekFrom::Start(off)).unwrap();
        f.read_exact(&mut b[..n]).unwrap();
        assert!(a[..n] == b[..n], "{what}: differs in the MiB at {off:#x}");
    }
}

const NAMES: [(&str, &str); 5] = [
    ("gpt", "images/gpt.raw"),
    ("mbr", "images/mbr.raw"),
    ("bare", "images/bare.raw"),
    ("logical", "images/logical.raw"),
    ("debian-mbr", "linux/debian-mbr.raw"),
];

/// The forms testdata/build-ewf.sh writes of `name`: (path of the first file, container, files).
fn forms(name: &str) -> Vec<(PathBuf, ContainerFormat)> {
    let d = fixtures().join("ewf");
    vec![
        (d.join(format!("{name}.E01")), ContainerFormat::Ewf),
        (d.join(format!("{name}-multi/{name}.E01")), ContainerFormat::Ewf),
        (d.join(format!("{name}-stored/{name}.E01")), ContainerFormat::Ewf),
        (d.join(format!("{name}-split/{name}.001")), ContainerFormat::SplitRaw),
        (d.join(format!("{name}-alpha/{name}.aa")), ContainerFormat::SplitRaw),
    ]
}

fn built() -> bool {
    if !fixtures().join("ewf/MANIFEST").is_file() {
        eprintln!("skipped: target/testdata/ewf is not built (run testdata/build.sh, or testdata/build-ewf.sh)");
        return false;
    }
    true
}

/// Every form of every fixture reads as its raw image, byte for byte (EWF forms only where
/// ewf-tools made them; see compare_sampled for unoptimised builds).
#[test]
fn every_form_reads_as_the_raw_image() {
    if !built() {
        return;
    }
    let limits = ImageLimits::default();
    for (name, raw) in NAMES {
        let raw = fixtures().join(raw);
        if !raw.is_file() {
            eprintln!("skipped {name}: {} missing", raw.display());
            continue;
        }
        for (first, format) in forms(name) {
            if !first.is_file() {
                eprintln!("skipped {}: not built (ewf-tools missing?)", first.display());
                continue;
            }
            let t = Instant::now();
            let mut disk = open(&first, &limits).unwrap_or_else(|e| panic!("{}: {e}", first.display()));
            assert_eq!(disk.format(), format, "{}", first.display());
            let segs = disk.segments();
            assert!(segs.first().is_some_and(|s| Path::new(s) == first), "{}: {segs:?}", first.display());
            // Whole disks in release builds and for `bare`; an unoptimised build compares every
            // 8th MiB of the others (agrees_with_ewfexport reads three whole sets either way).
            let stride = if cfg!(debug_assertions) && name != "bare" { 8 } else { 1 };
            compare_sampled(disk.as_mut(), &raw, stride, &first.display().to_string());
            eprintln!(
                "{}: {} segments, {} bytes, every {stride}. MiB equal, in {:?}",
                first.display(),
                segs.len(),
                disk.size(),
                t.elapsed()
            );
        }
    }
}

/// The acquisition metadata `ewfacquire` wrote is read back, and the stored MD5 is that of the
/// raw image as `ewfinfo` shows it.
#[test]
fn acquisition_metadata() {
    if !built() || skip_without_ewf_tools() {
        return;
    }
    let e01 = fixtures().join("ewf/gpt.E01");
    let disk = open(&e01, &ImageLimits::default()).unwrap();
    let a = disk.acquisition().expect("EWF records its acquisition");
    assert_eq!(a.format, "ewf");
    assert_eq!(a.case_number.as_deref(), Some("CASE-2026-015"));
    assert_eq!(a.evidence_number.as_deref(), Some("EV-gpt"));
    assert_eq!(a.examiner.as_deref(), Some("Regnet Examiner"));
    assert_eq!(a.notes.as_deref(), Some("built by testdata/build-ewf.sh"));
    assert_eq!(a.description.as_deref(), Some("fixture gpt.raw"));
    assert_eq!((a.chunk_size, a.bytes_per_sector, a.sectors), (32768, 512, disk.size() / 512));
    assert_eq!(a.compression.as_deref(), Some("fast"));
    assert!(a.acquired.as_deref().is_some_and(|d| d.ends_with('Z') && d.len() == 20), "{:?}", a.acquired);
    let info = Command::new("ewfinfo").arg(&e01).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    let field = |k: &str| {
        info.lines().find(|l| l.trim_start().starts_with(k)).map(|l| l.split_whitespace().last().unwrap().to_owned())
    };
    assert_eq!(a.md5, field("MD5:"), "{info}");
    assert_eq!(a.sha1, field("SHA1:"), "{info}");
    let stored = open(&fixtures().join("ewf/gpt-stored/gpt.E01"), &ImageLimits::default()).unwrap();
    let s = stored.acquisition().unwrap();
    assert_eq!((s.compression.as_deref(), s.md5.clone()), (Some("none"), a.md5.clone()));
    assert_eq!(stored.segments().len(), 10);
}

/// regnet's reader and `ewfexport -f raw` agree byte for byte (compressed, several segments,
/// stored past .E99).
#[test]
fn agrees_with_ewfexport() {
    if !built() || skip_without_ewf_tools() {
        return;
    }
    for e01 in ["ewf/bare.E01", "ewf/gpt-multi/gpt.E01", "ewf/mbr-stored/mbr.E01"] {
        let e01 = fixtures().join(e01);
        if !e01.is_file() {
            eprintln!("skipped {}: not built", e01.display());
            continue;
        }
        let mut disk = open(&e01, &ImageLimits::default()).unwrap();
        // ewfexport writes a status line after the data on stdout, so it writes a file here.
        let out = scratch("export");
        let status = Command::new("ewfexport")
            .args(["-q", "-u", "-f", "raw", "-t"])
            .arg(out.join("disk"))
            .arg(&e01)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "ewfexport {}", e01.display());
        let exported = std::fs::File::open(out.join("disk.raw")).unwrap();
        compare_with(disk.as_mut(), std::io::BufReader::new(exported), &format!("{} vs ewfexport", e01.display()));
        let _ = std::fs::remove_dir_all(&out);
        eprintln!("{}: {} bytes equal to ewfexport's, {} segments", e01.display(), disk.size(), disk.segments().len());
    }
}

// ---- crafted sets --------------------------------------------------------------------------

fn adler32(d: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in d {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// (type, descriptor offset, next, size) of every section of a segment.
fn sections(seg: &[u8]) -> Vec<(String, usize, usize, usize)> {
    let mut out = Vec::new();
    let mut off = 13;
    loop {
        let d = &seg[off..off + 76];
        let kind = String::from_utf8_lossy(&d[..16]).trim_end_matches('\0').to_owned();
        let next = u64::from_le_bytes(d[16..24].try_into().unwrap()) as usize;
        let size = u64::from_le_bytes(d[24..32].try_into().unwrap()) as usize;
        out.push((kind.clone(), off, next, size));
        if kind == "next" || kind == "done" {
            return out;
        }
        off = next;
    }
}

fn fix_descriptor(seg: &mut [u8], off: usize) {
    let s = adler32(&seg[off..off + 72]);
    seg[off + 72..off + 76].copy_from_slice(&s.to_le_bytes());
}

/// Sets table entry `i` (in `table` and `table2`) to `value`, keeping the checksums right.
fn patch_entry(seg: &mut [u8], i: usize, value: u32) {
    for (kind, off, _, _) in sections(seg) {
        if kind == "table" || kind == "table2" {
            let data = off + 76;
            let count = u32::from_le_bytes(seg[data..data + 4].try_into().unwrap()) as usize;
            let e = data + 24;
            seg[e + 4 * i..e + 4 * i + 4].copy_from_slice(&value.to_le_bytes());
            let s = adler32(&seg[e..e + 4 * count]);
            seg[e + 4 * count..e + 4 * count + 4].copy_from_slice(&s.to_le_bytes());
        }
    }
}

/// A 4 MiB raw disk (1 MiB of half-compressible data, then zeros) acquired by ewfacquire into
/// `dir`: `c.E01` compressed (best) in one segment, `s.E01..` stored in 1 MiB segments.
fn acquire(dir: &Path) {
    let mut raw = vec![0u8; 4 * MIB];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for (i, b) in raw[..MIB].iter_mut().enumerate() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = if i % 64 < 8 { b"regnet.."[i % 8] } else { (x as u8 & 0x0f) | 0x40 };
    }
    std::fs::write(dir.join("disk.raw"), &raw).unwrap();
    for (target, extra) in [("c", ["-c", "deflate:best", "-S", "64MiB"]), ("s", ["-c", "none", "-S", "1MiB"])] {
        let out = Command::new("ewfacquire")
            .args(["-u", "-q", "-t", target, "-C", "K-1", "-e", "examiner"])
            .args(extra)
            .arg("disk.raw")
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "ewfacquire: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// Opens `dir/name`, reads the whole disk; the first error, and how long it took.
fn open_and_read(path: &Path) -> regnet_image::Result<u64> {
    let t = Instant::now();
    let r = (|| -> regnet_image::Result<u64> {
        let mut d = open(path, &ImageLimits::default())?;
        let mut buf = vec![0u8; MIB];
        let mut off = 0;
        while off < d.size() {
            let n = (d.size() - off).min(MIB as u64) as usize;
            d.read_at(off, &mut buf[..n])?;
            off += n as u64;
        }
        Ok(d.size())
    })();
    eprintln!("{}: {:?} in {:?}", path.display(), r.as_ref().map_err(|e| e.to_string()), t.elapsed());
    r
}

#[test]
fn crafted_sets_end_in_typed_errors() {
    if skip_without_ewf_tools() {
        return;
    }
    let dir = scratch("crafted");
    acquire(&dir);
    let c = std::fs::read(dir.join("c.E01")).unwrap();
    let s1 = std::fs::read(dir.join("s.E01")).unwrap();
    assert_eq!(open_and_read(&dir.join("c.E01")).unwrap(), 4 * MIB as u64);
    assert_eq!(open_and_read(&dir.join("s.E01")).unwrap(), 4 * MIB as u64);
    let seg_count = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("s.E"))
        .count();
    assert!(seg_count >= 4, "{seg_count} stored segments");
    let case = |name: &str, bytes: &[u8]| -> ImageError {
        let d = scratch(&format!("case-{name}"));
        std::fs::write(d.join("x.E01"), bytes).unwrap();
        open_and_read(&d.join("x.E01")).expect_err(name)
    };

    // A chunk table entry past the end of its segment.
    let mut b = c.clone();
    patch_entry(&mut b, 3, 0x8000_0000 | (c.len() as u32 + 4096));
    assert!(matches!(case("entry-past-segment", &b), ImageError::Corrupt { .. }));

    // A compressed chunk that inflates past the chunk size: chunk 0's bytes replaced by a zlib
    // stream of 64 KiB.
    let mut b = c.clone();
    let secs = sections(&b);
    let (_, tab, _, _) = secs.iter().find(|s| s.0 == "table").unwrap().clone();
    let base = u64::from_le_bytes(b[tab + 76 + 8..tab + 76 + 16].try_into().unwrap()) as usize;
    let e0 = u32::from_le_bytes(b[tab + 100..tab + 104].try_into().unwrap());
    assert!(e0 & 0x8000_0000 != 0, "chunk 0 compressed");
    let at = base + (e0 & 0x7fff_ffff) as usize;
    let bomb = {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&[0x41u8; 65536]).unwrap();
        z.finish().unwrap()
    };
    b[at..at + bomb.len()].copy_from_slice(&bomb);
    let e = case("inflates-past", &b);
    assert!(matches!(e, ImageError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains("inflates past"), "{e}");

    // A `next` offset that points backwards (descriptor checksum kept right).
    let mut b = c.clone();
    let (_, vol, _, _) = sections(&b).into_iter().find(|s| s.0 == "volume").unwrap();
    b[vol + 16..vol + 24].copy_from_slice(&13u64.to_le_bytes());
    fix_descriptor(&mut b, vol);
    let e = case("next-backwards", &b);
    assert!(e.to_string().contains("backwards"), "{e}");

    // 2^32 - 1 chunks declared: the declared count is not trusted (the tables are), the set
    // still reads; 2^40 sectors declared: the tables cannot cover it.
    let patch_volume = |b: &mut Vec<u8>, at: usize, v: &[u8]| {
        let (_, vol, _, _) = sections(b).into_iter().find(|s| s.0 == "volume").unwrap();
        let d = vol + 76;
        b[d + at..d + at + v.len()].copy_from_slice(v);
        let s = adler32(&b[d..d + 1048]);
        b[d + 1048..d + 1052].copy_from_slice(&s.to_le_bytes());
    };
    let mut b = c.clone();
    patch_volume(&mut b, 4, &u32::MAX.to_le_bytes());
    let d = scratch("declared");
    std::fs::write(d.join("x.E01"), &b).unwrap();
    assert_eq!(open_and_read(&d.join("x.E01")).unwrap(), 4 * MIB as u64);
    let mut b = c.clone();
    patch_volume(&mut b, 16, &(1u64 << 40).to_le_bytes());
    assert!(matches!(case("sectors-2^40", &b), ImageError::Corrupt { .. }));

    // EWF2 and a cut segment.
    let mut b = c.clone();
    b[..8].copy_from_slice(b"EVF2\r\n\x81\x00");
    let e = case("ewf2", &b);
    assert!(matches!(e, ImageError::Unsupported(_)) && e.to_string().contains("EWF2"), "{e}");
    assert!(case("cut", &c[..c.len() / 2]).to_string().len() > 10);
    // Cut inside the signature: not EWF, so a (tiny) raw disk; cut after it: an error.
    for cut in [13usize, 50, 89, 2000] {
        let _ = case("cut-n", &c[..cut.min(c.len())]);
    }

    // Segment numbers with a gap or a loop, a missing segment, and a segment outside the folder.
    let set = |name: &str, edit: &dyn Fn(&Path)| -> ImageError {
        let d = scratch(&format!("set-{name}"));
        for i in 1..=seg_count {
            let f = format!("s.E{i:02}");
            std::fs::copy(dir.join(&f), d.join(&f)).unwrap();
        }
        edit(&d);
        open_and_read(&d.join("s.E01")).expect_err(name)
    };
    let gap = set("gap", &|d| {
        let p = d.join("s.E02");
        let mut b = std::fs::read(&p).unwrap();
        b[9] = 3;
        std::fs::write(&p, b).unwrap();
    });
    assert!(gap.to_string().contains("segment 3"), "{gap}");
    let looped = set("loop", &|d| {
        std::fs::copy(d.join("s.E01"), d.join("s.E03")).unwrap();
    });
    assert!(looped.to_string().contains("segment 1"), "{looped}");
    let missing = set("missing", &|d| std::fs::remove_file(d.join("s.E02")).unwrap());
    assert!(matches!(missing, ImageError::ExternalReference { .. }), "{missing}");
    let outside = set("outside", &|d| {
        let elsewhere = scratch("elsewhere");
        std::fs::rename(d.join("s.E02"), elsewhere.join("s.E02")).unwrap();
        std::os::unix::fs::symlink(elsewhere.join("s.E02"), d.join("s.E02")).unwrap();
    });
    assert!(
        matches!(outside, ImageError::ExternalReference { .. }) && outside.to_string().contains("outside"),
        "{outside}"
    );
    // A stored chunk whose Adler-32 is wrong.
    let bad_sum = set("stored-checksum", &|d| {
        let p = d.join("s.E01");
        let mut b = std::fs::read(&p).unwrap();
        let (_, sec, _, _) = sections(&b).into_iter().find(|s| s.0 == "sectors").unwrap();
        b[sec + 76 + 100] ^= 0xff;
        std::fs::write(&p, b).unwrap();
    });
    assert!(matches!(bad_sum, ImageError::BadChecksum { .. }), "{bad_sum}");
    // Too many segments for the limit.
    let d = scratch("few");
    for i in 1..=seg_count {
        std::fs::copy(dir.join(format!("s.E{i:02}")), d.join(format!("s.E{i:02}"))).unwrap();
    }
    let mut limits = ImageLimits::default();
    limits.max_segments = 2;
    let e = open(&d.join("s.E01"), &limits).err().unwrap();
    assert!(matches!(e, ImageError::LimitExceeded { limit: "max_segments", .. }), "{e}");

    // A stream: one segment reads, a set of several is refused (no folder).
    let counters = Arc::new(Counters::default());
    let limits = ImageLimits::default();
    let mut src =
        FileSource::new("c.E01", Box::new(std::io::Cursor::new(c.clone())), counters.clone(), &limits).unwrap();
    assert_eq!(detect(&mut src).unwrap(), ContainerFormat::Ewf);
    assert_eq!(open_container(src, ContainerFormat::Ewf, &NoResolver, &limits).unwrap().size(), 4 * MIB as u64);
    let src = FileSource::new("s.E01", Box::new(std::io::Cursor::new(s1)), counters, &limits).unwrap();
    assert!(matches!(
        open_container(src, ContainerFormat::Ewf, &NoResolver, &limits).err().unwrap(),
        ImageError::ExternalReference { .. }
    ));
}

/// Split pieces: only the first piece starts a set, a missing number ends it, unequal pieces are
/// refused, and a stream named like a piece is one raw file.
#[test]
fn split_detection_rules() {
    let dir = scratch("split");
    let data: Vec<u8> = (0..3000u32).map(|i| (i % 253) as u8).collect();
    for (i, c) in data.chunks(1024).enumerate() {
        std::fs::write(dir.join(format!("p.{:03}", i + 1)), c).unwrap();
        std::fs::write(dir.join(format!("pa{}", (b'a' + i as u8) as char)), c).unwrap();
    }
    let limits = ImageLimits::default();
    for first in ["p.001", "paa"] {
        let mut d = open(&dir.join(first), &limits).unwrap();
        assert_eq!((d.format(), d.size(), d.segments().len()), (ContainerFormat::SplitRaw, 3000, 3));
        compare_with(d.as_mut(), &data[..], first);
    }
    // A later piece alone is a raw image.
    assert_eq!(open(&dir.join("p.002"), &limits).unwrap().format(), ContainerFormat::Raw);
    // A first piece with no second is raw.
    std::fs::write(dir.join("q.001"), &data).unwrap();
    assert_eq!(open(&dir.join("q.001"), &limits).unwrap().format(), ContainerFormat::Raw);
    // A piece outside the folder (a link) is refused.
    let elsewhere = scratch("split-elsewhere");
    std::fs::write(elsewhere.join("r.002"), &data[..1024]).unwrap();
    std::fs::write(dir.join("r.001"), &data[..1024]).unwrap();
    std::os::unix::fs::symlink(elsewhere.join("r.002"), dir.join("r.002")).unwrap();
    assert!(matches!(open(&dir.join("r.001"), &limits).err().unwrap(), ImageError::ExternalReference { .. }));
}
