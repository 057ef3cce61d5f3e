//! The NTFS reader against volumes made by tools no one here wrote (mkntfs, ntfs-3g, wimlib), every
//! file compared byte for byte with `ntfscat`; then hostile patches of those volumes, which must
//! give typed errors quickly and never panic.
//!
//! Needs mkntfs, ntfscat and wimlib-imagex (Debian packages ntfs-3g and wimtools); the fragmented,
//! sparse and compressed cases also need root and /dev/fuse (an ntfs-3g FUSE mount). Each test says
//! SKIPPED when a tool is missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use regnet_image::ntfs::{FileId, NtfsVolume};
use regnet_image::{Counters, FileSource, ImageError, ImageLimits, RawDisk, VirtualDisk};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

// ---- tools and fixtures -------------------------------------------------------------------------

fn have_tool(name: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {name} >/dev/null 2>&1")).status().is_ok_and(|s| s.success())
}

fn have_tools(names: &[&str]) -> bool {
    let missing: Vec<&str> = names.iter().copied().filter(|n| !have_tool(n)).collect();
    if !missing.is_empty() {
        eprintln!("SKIPPED: needs {} (Debian packages ntfs-3g, wimtools, qemu-utils)", missing.join(", "));
    }
    missing.is_empty()
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn sh(script: &str) -> Vec<u8> {
    run(Command::new("bash").arg("-ec").arg(script))
}

/// A scratch folder for this test process (folders of finished processes are removed).
fn scratch() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ntfs-fixtures");
        if let Ok(rd) = std::fs::read_dir(&root) {
            for e in rd.flatten() {
                let pid = e.file_name().to_string_lossy().parse::<u32>().ok();
                if pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists()) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let dir = root.join(std::process::id().to_string());
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
    .clone()
}

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

/// The tree every "basic" volume gets through wimlib: a 3 MB SYSTEM with logs, a resident tiny
/// file, a non-ASCII folder and name, and a folder of 500 files (a multi-node index).
fn make_tree(dir: &Path) {
    let config = dir.join("Windows/System32/config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("SYSTEM"), pseudo_random(3_000_000, 1)).unwrap();
    std::fs::write(config.join("SYSTEM.LOG1"), pseudo_random(65_536, 2)).unwrap();
    std::fs::write(config.join("SYSTEM.LOG2"), b"").unwrap();
    std::fs::write(dir.join("tiny.txt"), b"hello, resident data\n").unwrap();
    std::fs::create_dir_all(dir.join("\u{c4}rger")).unwrap();
    std::fs::write(dir.join("\u{c4}rger/\u{dc}n\u{ef}code.txt"), "umlauts \u{e4}\u{f6}\u{fc}\n").unwrap();
    std::fs::create_dir_all(dir.join("many")).unwrap();
    for i in 0..500 {
        std::fs::write(dir.join(format!("many/file_{i:04}.txt")), format!("file number {i}\n")).unwrap();
    }
}

/// A 64 MiB volume made by `mkntfs` with `mkntfs_args`, holding [`make_tree`]. `None` (after a
/// SKIPPED line) without the tools.
fn basic_volume(name: &str, mkntfs_args: &str) -> Option<PathBuf> {
    if !have_tools(&["mkntfs", "ntfscat", "wimlib-imagex"]) {
        return None;
    }
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch().join(name);
    let vol = dir.join("vol");
    if !built.iter().any(|b| b == name) {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        make_tree(&dir.join("tree"));
        let d = dir.display();
        sh(&format!(
            "cd '{d}' && truncate -s 24M vol && mkntfs -q -F -Q {mkntfs_args} vol >/dev/null 2>&1 \
             && wimlib-imagex capture tree x.wim --compress=none >/dev/null \
             && wimlib-imagex apply x.wim 1 vol >/dev/null && rm -f x.wim"
        ));
        built.push(name.to_owned());
    }
    Some(vol)
}

fn ntfscat(vol: &Path, path: &str) -> Vec<u8> {
    run(Command::new("ntfscat").arg(vol).arg(path))
}

fn file_disk(path: &Path) -> RawDisk {
    RawDisk::new(FileSource::open_path(path, Arc::new(Counters::default()), &ImageLimits::default()).unwrap())
}

fn mem_disk(bytes: Vec<u8>) -> (RawDisk, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let src = FileSource::new("mem", Box::new(std::io::Cursor::new(bytes)), counters.clone(), &ImageLimits::default())
        .unwrap();
    (RawDisk::new(src), counters)
}

/// Opens the whole disk as a volume, finds `path` and reads it.
fn read_path(disk: &mut dyn VirtualDisk, path: &str) -> regnet_image::Result<Vec<u8>> {
    let len = disk.size();
    let mut vol = NtfsVolume::open(disk, 0, len, &ImageLimits::default())?;
    let id = vol.find(path)?;
    vol.read_file(id)
}

/// Reads every `(path as looked up, path for ntfscat)` and compares with ntfscat.
fn check_against_ntfscat(vol_path: &Path, paths: &[(&str, &str)]) {
    let mut disk = file_disk(vol_path);
    let len = disk.size();
    let mut vol = NtfsVolume::open(&mut disk, 0, len, &ImageLimits::default()).unwrap();
    for (lookup, canonical) in paths {
        let id = vol.find(lookup).unwrap_or_else(|e| panic!("{lookup}: {e}"));
        let data = vol.read_file(id).unwrap_or_else(|e| panic!("{lookup}: {e}"));
        let expected = ntfscat(vol_path, canonical);
        assert_eq!(data.len(), expected.len(), "{lookup}: length");
        assert!(data == expected, "{lookup}: bytes differ from ntfscat");
        assert_eq!(vol.file_size(id).unwrap(), expected.len() as u64);
        // The same bytes read piecewise at any position (open_data + read_at).
        let fd = vol.open_data(id).unwrap_or_else(|e| panic!("{lookup}: {e}"));
        assert_eq!(fd.len(), expected.len() as u64, "{lookup}: open_data length");
        let mut seed = expected.len() as u64 ^ 0x9e37_79b9;
        for piece in [1usize, 511, 4096, 65543] {
            let mut got = Vec::new();
            let mut buf = vec![0xa5u8; piece];
            loop {
                let n = vol.read_at(&fd, got.len() as u64, &mut buf).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                if piece == 1 && got.len() >= 3000 {
                    got.extend_from_slice(&expected[got.len()..]); // byte by byte is slow: a prefix will do
                }
            }
            assert!(got == expected, "{lookup}: read_at in pieces of {piece} differs");
        }
        for _ in 0..32 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let pos = (seed >> 33) % (expected.len() as u64 + 100);
            let len = ((seed >> 13) % 20000) as usize;
            let mut buf = vec![0u8; len];
            let n = vol.read_at(&fd, pos, &mut buf).unwrap();
            let want = expected.get(pos as usize..).map_or(&[][..], |r| &r[..r.len().min(len)]);
            assert_eq!(&buf[..n], want, "{lookup}: read_at({pos}, {len})");
        }
    }
}

const HIVE_PATHS: &[(&str, &str)] = &[
    ("\\Windows\\System32\\config\\SYSTEM", "/Windows/System32/config/SYSTEM"),
    ("Windows/System32/config/SYSTEM.LOG1", "/Windows/System32/config/SYSTEM.LOG1"),
    ("\\Windows\\System32\\config\\SYSTEM.LOG2", "/Windows/System32/config/SYSTEM.LOG2"),
    ("WINDOWS\\system32\\CONFIG\\system", "/Windows/System32/config/SYSTEM"),
    ("\\tiny.txt", "/tiny.txt"),
    ("\\\u{e4}RGER\\\u{fc}N\u{cf}CODE.TXT", "/\u{c4}rger/\u{dc}n\u{ef}code.txt"),
    ("\\many\\file_0000.txt", "/many/file_0000.txt"),
    ("\\many\\FILE_0250.TXT", "/many/file_0250.txt"),
    ("\\many\\file_0499.txt", "/many/file_0499.txt"),
];

// ---- volumes made by the tools ------------------------------------------------------------------

#[test]
fn reads_files_like_ntfscat_512_byte_sectors() {
    let Some(vol) = basic_volume("basic", "") else { return };
    check_against_ntfscat(&vol, HIVE_PATHS);
}

#[test]
fn reads_files_like_ntfscat_4096_byte_sectors() {
    let Some(vol) = basic_volume("sector4k", "-s 4096") else { return };
    check_against_ntfscat(&vol, HIVE_PATHS);
    let mut disk = file_disk(&vol);
    let len = disk.size();
    let v = NtfsVolume::open(&mut disk, 0, len, &ImageLimits::default()).unwrap();
    assert_eq!((v.info().bytes_per_sector, v.info().record_size), (4096, 4096));
}

#[test]
fn reads_files_like_ntfscat_512_byte_clusters() {
    let Some(vol) = basic_volume("cluster512", "-c 512") else { return };
    check_against_ntfscat(&vol, HIVE_PATHS);
}

#[test]
fn reads_files_like_ntfscat_64k_clusters() {
    let Some(vol) = basic_volume("cluster64k", "-c 65536") else { return };
    check_against_ntfscat(&vol, HIVE_PATHS);
    let mut disk = file_disk(&vol);
    let len = disk.size();
    let v = NtfsVolume::open(&mut disk, 0, len, &ImageLimits::default()).unwrap();
    assert_eq!(v.info().cluster_size, 65536);
}

#[test]
fn lists_directories_and_reports_misses() {
    let Some(vol) = basic_volume("basic", "") else { return };
    let mut disk = file_disk(&vol);
    let len = disk.size();
    let mut v = NtfsVolume::open(&mut disk, 0, len, &ImageLimits::default()).unwrap();
    let names: Vec<String> = v.list_dir("\\Windows\\System32\\config").unwrap().into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["SYSTEM", "SYSTEM.LOG1", "SYSTEM.LOG2"]);
    let many = v.list_dir("/many").unwrap();
    assert_eq!(many.len(), 500);
    assert!(many.windows(2).all(|w| w[0].name < w[1].name));
    assert!(many.iter().all(|e| !e.is_dir));
    let root = v.list_dir("").unwrap();
    assert!(root.iter().any(|e| e.name == "Windows" && e.is_dir));
    assert!(root.iter().any(|e| e.name == "$MFT"));
    for missing in ["\\Windows\\System32\\config\\SYSTEM.LOG", "\\nothing", "\\many\\file_0500.txt", "\\many\\a"] {
        assert!(matches!(v.find(missing), Err(ImageError::NotFound { .. })), "{missing}");
    }
    // A file used as a directory.
    assert!(matches!(v.find("\\tiny.txt\\x"), Err(ImageError::NotFound { .. })));
    // A directory read as a file.
    let dir = v.find("\\Windows").unwrap();
    assert!(matches!(v.read_file(dir), Err(ImageError::NotFound { .. })));
    // A stale sequence number.
    let sys = v.find("\\Windows\\System32\\config\\SYSTEM").unwrap();
    assert_ne!(sys.sequence, 0);
    let stale = FileId { record: sys.record, sequence: sys.sequence.wrapping_add(1) };
    assert!(matches!(v.read_file(stale), Err(ImageError::Corrupt { .. })));
    assert!(v.warnings().is_empty(), "{:?}", v.warnings());
}

#[test]
fn reads_only_what_the_path_needs() {
    let Some(vol) = basic_volume("basic", "") else { return };
    let bytes = std::fs::read(&vol).unwrap();
    let (mut disk, counters) = mem_disk(bytes);
    let len = disk.size();
    let mut v = NtfsVolume::open(&mut disk, 0, len, &ImageLimits::default()).unwrap();
    let mut total = 0;
    for p in ["SYSTEM", "SYSTEM.LOG1", "SYSTEM.LOG2"] {
        let id = v.find(&format!("\\Windows\\System32\\config\\{p}")).unwrap();
        total += v.read_file(id).unwrap().len() as u64;
    }
    let (read, calls) = (counters.bytes_read(), counters.reads());
    eprintln!("read {read} bytes in {calls} calls for {total} bytes of files");
    // The files, $UpCase (128 KiB), a few records and index blocks: nowhere near the 64 MiB volume.
    assert!(read < total + 400_000, "{read} bytes read");
    assert!(calls < 120, "{calls} read calls");
}

/// True when FUSE mounts work here (root, /dev/fuse, ntfs-3g and fusermount).
fn can_mount() -> bool {
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !root || !Path::new("/dev/fuse").exists() {
        eprintln!("SKIPPED: needs root and /dev/fuse for an ntfs-3g mount");
        return false;
    }
    have_tools(&["mkntfs", "ntfs-3g", "fusermount", "ntfscat", "ntfsinfo", "python3"])
}

/// Writes a sparse file and files in a folder marked compressed (through the
/// `system.ntfs_attrib_be` extended attribute; ntfs-3g compresses only into free runs of 16
/// clusters, so these come first), then fills the volume with 4 KiB files, deletes every other one
/// and writes `SYSTEM`, whose runs then need an attribute list (and the grown MFT's too).
const FUSE_SCRIPT: &str = r#"
import os, sys
mnt, system = sys.argv[1], sys.argv[2]
with open(f'{mnt}/sparse.bin', 'wb') as f:
    f.truncate(8 << 20)
    f.seek(3 << 20)
    f.write(b'data in the middle of a hole' * 100)
os.makedirs(f'{mnt}/comp')
os.setxattr(f'{mnt}/comp', 'system.ntfs_attrib_be', (0x800).to_bytes(4, 'big'))
text = ''.join(f'line {i}: the quick brown fox jumps over the lazy dog {i * i % 977}\n' for i in range(6000)).encode()
with open(f'{mnt}/comp/text.txt', 'wb') as f:
    f.write(text)
with open(f'{mnt}/comp/mixed.bin', 'wb') as f:
    f.write(text[:70000] + bytes(200000) + open(system, 'rb').read()[:150000] + text[:5000])
with open(f'{mnt}/comp/random.bin', 'wb') as f:
    f.write(open(system, 'rb').read()[:300000])
os.makedirs(f'{mnt}/fill')
blk = bytes(range(256)) * 16
n = 0
try:
    while n < 20000:
        with open(f'{mnt}/fill/f{n:05d}', 'wb') as f:
            f.write(blk)
        n += 1
except OSError:
    pass
for i in range(0, n, 2):
    os.remove(f'{mnt}/fill/f{i:05d}')
os.makedirs(f'{mnt}/Windows/System32/config')
with open(system, 'rb') as src, open(f'{mnt}/Windows/System32/config/SYSTEM', 'wb') as dst:
    dst.write(src.read())
"#;

fn fuse_volume() -> Option<PathBuf> {
    if !can_mount() {
        return None;
    }
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    Some(
        BUILT
            .get_or_init(|| {
                let dir = scratch().join("fuse");
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(dir.join("mnt")).unwrap();
                std::fs::write(dir.join("SYSTEM"), pseudo_random(3_000_000, 7)).unwrap();
                std::fs::write(dir.join("fill.py"), FUSE_SCRIPT).unwrap();
                let d = dir.display();
                sh(&format!(
                    "cd '{d}' && truncate -s 64M vol && mkntfs -q -F -Q vol >/dev/null 2>&1 \
                     && ntfs-3g vol mnt && trap 'fusermount -u mnt' EXIT && python3 fill.py mnt SYSTEM"
                ));
                dir.join("vol")
            })
            .clone(),
    )
}

#[test]
fn fragmented_hive_with_attribute_lists() {
    let Some(vol) = fuse_volume() else { return };
    // The fixture is only worth something if both the file and the MFT need attribute lists.
    let mft = String::from_utf8_lossy(&run(Command::new("ntfsinfo").arg("-i").arg("0").arg(&vol))).into_owned();
    let sys = String::from_utf8_lossy(&run(Command::new("ntfsinfo")
        .arg("-F")
        .arg("/Windows/System32/config/SYSTEM")
        .arg(&vol)))
    .into_owned();
    assert!(mft.contains("$ATTRIBUTE_LIST"), "the MFT of the fixture has no attribute list");
    assert!(sys.contains("$ATTRIBUTE_LIST"), "SYSTEM in the fixture has no attribute list");
    check_against_ntfscat(&vol, &[("\\windows\\system32\\config\\system", "/Windows/System32/config/SYSTEM")]);
    // Files in the part of the MFT that lives in the MFT's later extents.
    let mut disk = file_disk(&vol);
    let len = disk.size();
    let mut v = NtfsVolume::open(&mut disk, 0, len, &ImageLimits::default()).unwrap();
    let last = v.find("\\fill\\f12001").or_else(|_| v.find("\\fill\\f08001")).unwrap();
    assert!(last.record > 1000);
    assert_eq!(v.read_file(last).unwrap(), (0..=255u8).cycle().take(4096).collect::<Vec<_>>());
}

#[test]
fn sparse_file_reads_zeros_in_holes() {
    let Some(vol) = fuse_volume() else { return };
    check_against_ntfscat(&vol, &[("\\SPARSE.BIN", "/sparse.bin")]);
    let info =
        String::from_utf8_lossy(&run(Command::new("ntfsinfo").arg("-F").arg("/sparse.bin").arg(&vol))).into_owned();
    assert!(info.contains("SPARSE"), "the fixture's sparse.bin is not sparse");
}

#[test]
fn compressed_files_are_decompressed() {
    let Some(vol) = fuse_volume() else { return };
    let info =
        String::from_utf8_lossy(&run(Command::new("ntfsinfo").arg("-F").arg("/comp/text.txt").arg(&vol))).into_owned();
    assert!(info.contains("COMPRESSED"), "the fixture's text.txt is not compressed:\n{info}");
    check_against_ntfscat(
        &vol,
        &[
            ("\\comp\\text.txt", "/comp/text.txt"),
            ("\\comp\\mixed.bin", "/comp/mixed.bin"),
            ("\\comp\\random.bin", "/comp/random.bin"),
        ],
    );
}

#[test]
fn windows_formatted_volume() {
    let image = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/images/windows_volume.qcow2");
    if !image.is_file() {
        eprintln!("SKIPPED: ../shared/corpus/images/windows_volume.qcow2 is absent");
        return;
    }
    if !have_tools(&["qemu-img", "ntfscat", "ntfscp"]) {
        return;
    }
    let dir = scratch().join("windows");
    std::fs::create_dir_all(&dir).unwrap();
    let raw = dir.join("volume.raw");
    run(Command::new("qemu-img").args(["convert", "-O", "raw"]).arg(&image).arg(&raw));
    check_against_ntfscat(&raw, &[("\\Windows\\System32\\config\\syslog", "/Windows/System32/config/syslog")]);
    // A hive put next to it by ntfs-3g, found through the index Windows wrote.
    std::fs::write(dir.join("SYSTEM"), pseudo_random(1_500_000, 3)).unwrap();
    run(Command::new("ntfscp").arg("-f").arg(&raw).arg(dir.join("SYSTEM")).arg("/Windows/System32/config/SYSTEM"));
    check_against_ntfscat(
        &raw,
        &[
            ("\\windows\\system32\\config\\SYSTEM", "/Windows/System32/config/SYSTEM"),
            ("\\Windows\\System32\\config\\SYSLOG", "/Windows/System32/config/syslog"),
        ],
    );
    let mut disk = file_disk(&raw);
    let len = disk.size();
    let v = NtfsVolume::open(&mut disk, 0, len, &ImageLimits::default()).unwrap();
    assert!(v.warnings().is_empty(), "{:?}", v.warnings());
    let _ = std::fs::remove_file(&raw);
}

// ---- hostile volumes ----------------------------------------------------------------------------

/// A volume image in memory, with helpers to patch its structures as they are on disk.
struct Img {
    b: Vec<u8>,
    mft: usize,
}

fn u16_at(b: &[u8], at: usize) -> usize {
    u16::from_le_bytes([b[at], b[at + 1]]) as usize
}

fn u32_at(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize
}

/// Undoes the update sequence of a record or INDX block, so that any byte can be edited.
fn unfix(buf: &mut [u8]) {
    let (usa, count) = (u16_at(buf, 4), u16_at(buf, 6));
    for i in 1..count {
        let tail = i * 512 - 2;
        let saved = [buf[usa + 2 * i], buf[usa + 2 * i + 1]];
        buf[tail..tail + 2].copy_from_slice(&saved);
    }
}

/// Re-applies the update sequence after an edit.
fn refix(buf: &mut [u8]) {
    let (usa, count) = (u16_at(buf, 4), u16_at(buf, 6));
    let usn = [buf[usa], buf[usa + 1]];
    for i in 1..count {
        let tail = i * 512 - 2;
        let (a, b) = (buf[tail], buf[tail + 1]);
        buf[usa + 2 * i] = a;
        buf[usa + 2 * i + 1] = b;
        buf[tail..tail + 2].copy_from_slice(&usn);
    }
}

/// Offset and length of the first attribute of `kind` in a (fixed-up) record.
fn find_attr(rec: &[u8], kind: u32) -> (usize, usize) {
    let mut p = u16_at(rec, 0x14);
    loop {
        let (t, l) = (u32_at(rec, p) as u32, u32_at(rec, p + 4));
        assert_ne!(t, 0xFFFF_FFFF, "no attribute {kind:#x}");
        if t == kind {
            return (p, l);
        }
        p += l;
    }
}

impl Img {
    fn load(path: &Path) -> Img {
        let b = std::fs::read(path).unwrap();
        let cluster = 512 * b[0x0D] as usize;
        let mft = u64::from_le_bytes(b[0x30..0x38].try_into().unwrap()) as usize * cluster;
        Img { b, mft }
    }

    /// The MFT record with number `n` (found by the number mkntfs and ntfs-3g store at 0x2C, so
    /// that records in later MFT extents are found too).
    fn record_at(&self, n: u64) -> usize {
        self.find_record(n).unwrap_or_else(|| panic!("record {n} not found"))
    }

    fn find_record(&self, n: u64) -> Option<usize> {
        let first = self.mft + n as usize * 1024;
        if first + 1024 <= self.b.len()
            && u32_at(&self.b, first + 0x2C) as u64 == n
            && &self.b[first..first + 4] == b"FILE"
        {
            return Some(first);
        }
        (0..self.b.len() / 1024)
            .map(|i| i * 1024)
            .find(|&o| &self.b[o..o + 4] == b"FILE" && u32_at(&self.b, o + 0x2C) as u64 == n)
    }

    /// Edits record `n` with its fixups undone, then restores them.
    fn edit_record(&mut self, n: u64, f: impl FnOnce(&mut [u8])) {
        let at = self.record_at(n);
        let rec = &mut self.b[at..at + 1024];
        unfix(rec);
        f(rec);
        refix(rec);
    }

    fn open_and_read(&self, path: &str) -> regnet_image::Result<Vec<u8>> {
        hostile(self.b.clone(), path)
    }
}

/// A result for messages: the length of the data, or the error.
fn show(r: &regnet_image::Result<Vec<u8>>) -> String {
    match r {
        Ok(d) => format!("Ok({} bytes)", d.len()),
        Err(e) => format!("Err({e:?})"),
    }
}

/// Reads `path` from a hostile image: whatever the answer, it must come quickly and without a panic.
fn hostile(bytes: Vec<u8>, path: &str) -> regnet_image::Result<Vec<u8>> {
    let t = Instant::now();
    let (mut disk, _) = mem_disk(bytes);
    let r = read_path(&mut disk, path);
    // Tests never assert timings; slow cases show up in the output.
    if t.elapsed() > Duration::from_secs(1) {
        eprintln!("{path}: slow hostile case: {:?}", t.elapsed());
    }
    r
}

const SYSTEM: &str = "\\Windows\\System32\\config\\SYSTEM";

fn basic_img() -> Option<Img> {
    basic_volume("basic", "").map(|p| Img::load(&p))
}

fn file_record_number(img: &Img, path: &str) -> u64 {
    let (mut disk, _) = mem_disk(img.b.clone());
    let len = disk.size();
    let mut v = NtfsVolume::open(&mut disk, 0, len, &ImageLimits::default()).unwrap();
    v.find(path).unwrap().record
}

#[test]
fn hostile_boot_sectors() {
    let Some(img) = basic_img() else { return };
    assert!(img.open_and_read(SYSTEM).is_ok());
    let cases: &[(&str, usize, &[u8])] = &[
        ("zero sectors per cluster", 0x0D, &[0]),
        ("sectors per cluster -127", 0x0D, &[0x81]),
        ("4 MiB clusters", 0x0D, &[0xF3]),
        ("three sectors per cluster", 0x0D, &[3]),
        ("zero bytes per sector", 0x0B, &[0, 0]),
        ("768-byte sectors", 0x0B, &[0, 3]),
        ("8 KiB sectors", 0x0B, &[0, 0x20]),
        ("2 GiB records", 0x40, &[0xE1]),
        ("record size -128", 0x40, &[0x80]),
        ("zero clusters per record", 0x40, &[0]),
        ("index block -128", 0x44, &[0x80]),
        ("MFT beyond the volume", 0x30, &[0xF0, 0xFF, 0xFF, 0x7F, 0, 0, 0, 0]),
        ("MFT at 2^63", 0x30, &[0, 0, 0, 0, 0, 0, 0, 0x80]),
        ("zero total sectors", 0x28, &[0; 8]),
        ("2^63 total sectors", 0x28, &[0, 0, 0, 0, 0, 0, 0, 0x80]),
    ];
    for (what, at, bytes) in cases {
        let mut b = img.b.clone();
        b[*at..*at + bytes.len()].copy_from_slice(bytes);
        match hostile(b, SYSTEM) {
            Err(ImageError::BadField { offset, .. }) => assert_eq!(offset, *at as u64, "{what}"),
            other => panic!("{what}: {}", show(&other)),
        }
    }
    // Valid encodings that put the MFT somewhere else: typed errors, whatever they are.
    for (what, at, byte) in
        [("64 KiB clusters", 0x0D, 0x80u8), ("2 MiB clusters", 0x0D, 0xF4), ("2-cluster records", 0x40, 2)]
    {
        let mut b = img.b.clone();
        b[at] = byte;
        let r = hostile(b, SYSTEM);
        assert!(r.is_err(), "{what}: {}", show(&r));
    }
    let mut b = img.b.clone();
    b[3] = b'X';
    assert!(matches!(hostile(b, SYSTEM), Err(ImageError::BadSignature { .. })));
}

#[test]
fn tiny_and_truncated_images() {
    for len in [0usize, 1, 100, 511] {
        assert!(matches!(hostile(vec![0; len], SYSTEM), Err(ImageError::Truncated { .. })), "{len}");
    }
    assert!(matches!(hostile(vec![0; 512], SYSTEM), Err(ImageError::BadSignature { .. })));
    let Some(img) = basic_img() else { return };
    let system_at = {
        // Where SYSTEM's data starts: a cut before it fails, a cut after it still reads it.
        let (mut disk, _) = mem_disk(img.b.clone());
        read_path(&mut disk, SYSTEM).unwrap().len()
    };
    assert_eq!(system_at, 3_000_000);
    let mut outcomes = Vec::new();
    for cut in [
        512usize,
        4096,
        img.mft,
        img.mft + 1024,
        img.mft + 5 * 1024 + 512,
        img.mft + 64 * 1024,
        1 << 20,
        4 << 20,
        16 << 20,
        20 << 20,
        img.b.len() - 1,
    ] {
        let r = hostile(img.b[..cut].to_vec(), SYSTEM);
        match &r {
            Ok(d) => assert_eq!(d.len(), 3_000_000),
            Err(ImageError::Truncated { .. }) => {}
            Err(e) => panic!("cut at {cut}: {e}"),
        }
        outcomes.push((cut, r.is_ok()));
    }
    assert!(!outcomes[0].1 && outcomes.last().unwrap().1, "{outcomes:?}");
}

#[test]
fn hostile_mft_records() {
    let Some(img) = basic_img() else { return };
    // Update sequence count 0xFFFF in record 0 (CVE-2021-46790 class).
    let mut b = img.b.clone();
    b[img.mft + 6..img.mft + 8].copy_from_slice(&[0xFF, 0xFF]);
    assert!(matches!(hostile(b, SYSTEM), Err(ImageError::BadField { .. })));
    // A torn write in record 0: the volume cannot be opened.
    let mut b = img.b.clone();
    b[img.mft + 1022] ^= 0xFF;
    assert!(matches!(hostile(b, SYSTEM), Err(ImageError::Corrupt { .. })));
    // A torn write in SYSTEM's record: that file fails, the rest of the volume still reads.
    let sys = file_record_number(&img, SYSTEM);
    let mut torn = Img { b: img.b.clone(), mft: img.mft };
    let at = torn.record_at(sys);
    torn.b[at + 510] ^= 0xFF;
    assert!(matches!(torn.open_and_read(SYSTEM), Err(ImageError::Corrupt { .. })));
    assert_eq!(torn.open_and_read("\\tiny.txt").unwrap(), b"hello, resident data\n");
    // "BAAD" records.
    let mut baad = Img { b: img.b.clone(), mft: img.mft };
    baad.b[at..at + 4].copy_from_slice(b"BAAD");
    assert!(matches!(baad.open_and_read(SYSTEM), Err(ImageError::BadSignature { .. })));
    // Attribute length 0, past the record, and unaligned, in record 0 and in SYSTEM's record.
    for n in [0, sys] {
        for len in [0u32, 0x7FFF_FFF8, 0x500, 0x11] {
            let mut m = Img { b: img.b.clone(), mft: img.mft };
            m.edit_record(n, |r| {
                let first = u16_at(r, 0x14);
                r[first + 4..first + 8].copy_from_slice(&len.to_le_bytes());
            });
            assert!(matches!(m.open_and_read(SYSTEM), Err(ImageError::Corrupt { .. })), "record {n}, length {len:#x}");
        }
        // First attribute offset past the bytes in use; bytes in use past the record.
        for (field, value) in [(0x14usize, 0x3F8u32), (0x18, 0x2000)] {
            let mut m = Img { b: img.b.clone(), mft: img.mft };
            m.edit_record(n, |r| r[field..field + 2].copy_from_slice(&(value as u16).to_le_bytes()));
            assert!(matches!(m.open_and_read(SYSTEM), Err(ImageError::BadField { .. })), "record {n}, {field:#x}");
        }
    }
    // A resident $DATA in $MFT, and a non-resident flag of 7.
    for flag in [0u8, 7] {
        let mut m = Img { b: img.b.clone(), mft: img.mft };
        m.edit_record(0, |r| {
            let (p, _) = find_attr(r, 0x80);
            r[p + 8] = flag;
        });
        let r = m.open_and_read(SYSTEM);
        assert!(
            matches!(r, Err(ImageError::Corrupt { .. }) | Err(ImageError::BadField { .. })),
            "{flag}: {}",
            show(&r)
        );
    }
}

#[test]
fn hostile_data_runs() {
    let Some(img) = basic_img() else { return };
    let sys = file_record_number(&img, SYSTEM);
    let with_runs = |n: u64, runs: &[u8]| {
        let mut m = Img { b: img.b.clone(), mft: img.mft };
        m.edit_record(n, |r| {
            let (p, l) = find_attr(r, 0x80);
            let mp = u16_at(r, p + 0x20);
            assert!(mp + runs.len() <= l, "no room for the runs");
            r[p + mp..p + mp + runs.len()].copy_from_slice(runs);
        });
        m
    };
    let cases: &[(&str, &[u8])] = &[
        ("zero-length run", &[0x11, 0x00, 0x04, 0x00]),
        ("LCN outside the volume", &[0x42, 0x93, 0x00, 0xF0, 0xFF, 0xFF, 0x7F, 0x00]),
        ("negative LCN", &[0x12, 0x93, 0x00, 0x80, 0x00]),
        ("9-byte length field", &[0x19, 0x93]),
        ("runs shorter than the VCN range", &[0x11, 0x10, 0x04, 0x00]),
        ("run list without its end", &[0x11, 0x10, 0x04, 0x11, 0x10, 0x04, 0x11, 0x10]),
    ];
    for (what, runs) in cases {
        let r = with_runs(0, runs).open_and_read(SYSTEM);
        assert!(matches!(r, Err(ImageError::Corrupt { .. })), "$MFT, {what}: {}", show(&r));
        let r = with_runs(sys, runs).open_and_read(SYSTEM);
        assert!(matches!(r, Err(ImageError::Corrupt { .. })), "SYSTEM, {what}: {}", show(&r));
    }
    // SYSTEM's clusters replaced by runs that go back and forth over the MFT: a cross-linked file
    // is not detectable, but the read is bounded and gives the MFT's bytes.
    let m = with_runs(sys, &[0x11, 0x40, 0x04, 0x11, 0x40, 0x00, 0x00]);
    let r = m.open_and_read(SYSTEM);
    assert!(r.is_err() || r.as_ref().is_ok_and(|d| d.len() == 3_000_000), "{}", show(&r));
}

#[test]
fn hostile_sizes() {
    let Some(img) = basic_img() else { return };
    let sys = file_record_number(&img, SYSTEM);
    // $DATA sizes of 2^62: rejected before any allocation.
    for n in [0, sys] {
        let mut m = Img { b: img.b.clone(), mft: img.mft };
        m.edit_record(n, |r| {
            let (p, _) = find_attr(r, 0x80);
            for f in [0x28, 0x30, 0x38] {
                r[p + f..p + f + 8].copy_from_slice(&(1u64 << 62).to_le_bytes());
            }
        });
        let r = m.open_and_read(SYSTEM);
        assert!(
            matches!(r, Err(ImageError::Corrupt { .. }) | Err(ImageError::LimitExceeded { .. })),
            "{n}: {}",
            show(&r)
        );
    }
    // Initialized size below the data size: the rest reads as zeros.
    let mut m = Img { b: img.b.clone(), mft: img.mft };
    m.edit_record(sys, |r| {
        let (p, _) = find_attr(r, 0x80);
        r[p + 0x38..p + 0x40].copy_from_slice(&1000u64.to_le_bytes());
    });
    let d = m.open_and_read(SYSTEM).unwrap();
    let full = img.open_and_read(SYSTEM).unwrap();
    assert_eq!(&d[..1000], &full[..1000]);
    assert!(d[1000..].iter().all(|&x| x == 0));
    // The caller's limits.
    let (mut disk, _) = mem_disk(img.b.clone());
    let len = disk.size();
    let mut limits = ImageLimits::default();
    limits.max_file_bytes = 1 << 20;
    let mut v = NtfsVolume::open(&mut disk, 0, len, &limits).unwrap();
    let id = v.find(SYSTEM).unwrap();
    assert!(matches!(v.read_file(id), Err(ImageError::LimitExceeded { limit: "max_file_bytes", .. })));
    let mut limits = ImageLimits::default();
    limits.max_ntfs_records = 3;
    let mut v = NtfsVolume::open(&mut disk, 0, len, &limits).unwrap();
    assert!(matches!(v.find(SYSTEM), Err(ImageError::LimitExceeded { limit: "max_ntfs_records", .. })));
}

#[test]
fn hostile_directory_indexes() {
    let Some(img) = basic_img() else { return };
    let config = file_record_number(&img, "\\Windows\\System32\\config");
    let edit_root = |n: u64, f: &dyn Fn(&mut [u8], usize)| {
        let mut m = Img { b: img.b.clone(), mft: img.mft };
        m.edit_record(n, |r| {
            let (p, _) = find_attr(r, 0x90);
            let value = p + u16_at(r, p + 0x14);
            f(r, value);
        });
        m
    };
    // Entry length 0 in the first entry of an index root (the ntfs crate's slice panic), in the root
    // directory (whose root node holds only a child pointer) and in config (three entries).
    for n in [5, config] {
        let m = edit_root(n, &|r, v| {
            let first = v + 0x10 + u32_at(r, v + 0x10);
            r[first + 8..first + 10].copy_from_slice(&[0, 0]);
        });
        assert!(matches!(m.open_and_read(SYSTEM), Err(ImageError::Corrupt { .. })), "{n}");
    }
    // Entries offset past the index data; size in use past the allocated size; key length past
    // the entry; a name longer than its key.
    let header_cases: &[(usize, u32)] = &[(0x10, 0x1000), (0x14, 0x1000), (0x10, 0)];
    for &(field, value) in header_cases {
        let m = edit_root(config, &|r, v| r[v + field..v + field + 4].copy_from_slice(&value.to_le_bytes()));
        assert!(matches!(m.open_and_read(SYSTEM), Err(ImageError::BadField { .. })), "{field:#x}");
    }
    let m = edit_root(config, &|r, v| {
        let first = v + 0x10 + u32_at(r, v + 0x10);
        r[first + 10..first + 12].copy_from_slice(&0x7FF0u16.to_le_bytes());
    });
    assert!(matches!(m.open_and_read(SYSTEM), Err(ImageError::Corrupt { .. })));
    let m = edit_root(config, &|r, v| {
        let first = v + 0x10 + u32_at(r, v + 0x10);
        r[first + 0x10 + 0x40] = 0xFF;
    });
    assert!(matches!(m.open_and_read(SYSTEM), Err(ImageError::Corrupt { .. })));
    // An entry naming a record past the end of the MFT, or with a wrong sequence number.
    for (what, reference) in [("past the MFT", 0x0001_00FF_FFFF_FFFFu64), ("stale", 0xFFFF_0000_0000_0000)] {
        let m = edit_root(config, &|r, v| {
            let first = v + 0x10 + u32_at(r, v + 0x10);
            let keep = u64::from_le_bytes(r[first..first + 8].try_into().unwrap()) & 0x0000_FFFF_FFFF_FFFF;
            let new = if what == "stale" { reference | keep } else { reference };
            r[first..first + 8].copy_from_slice(&new.to_le_bytes());
        });
        let r = m.open_and_read(SYSTEM);
        assert!(
            matches!(r, Err(ImageError::BadField { .. }) | Err(ImageError::Corrupt { .. })),
            "{what}: {}",
            show(&r)
        );
    }
    // Not a file-name index.
    let m = edit_root(config, &|r, v| r[v] = 0x80);
    assert!(matches!(m.open_and_read(SYSTEM), Err(ImageError::BadField { .. })));
}

/// The INDX block of `\many` that holds `file_0499.txt` (the last leaf): its offset in the image.
fn last_leaf_of_many(img: &Img) -> usize {
    let needle: Vec<u8> = "file_0499.txt".encode_utf16().flat_map(u16::to_le_bytes).collect();
    (0..img.b.len() / 4096)
        .map(|i| i * 4096)
        .find(|&o| &img.b[o..o + 4] == b"INDX" && img.b[o..o + 4096].windows(needle.len()).any(|w| w == needle))
        .expect("no INDX block holds file_0499.txt")
}

#[test]
fn hostile_index_blocks() {
    let Some(img) = basic_img() else { return };
    let leaf = last_leaf_of_many(&img);
    let edit = |f: &dyn Fn(&mut [u8])| {
        let mut b = img.b.clone();
        let block = &mut b[leaf..leaf + 4096];
        unfix(block);
        f(block);
        refix(block);
        b
    };
    const PAST_LAST: &str = "\\many\\zzz";
    assert!(matches!(hostile(img.b.clone(), PAST_LAST), Err(ImageError::NotFound { .. })));
    // A cycle: the leaf's last entry gets a child pointer to the leaf itself.
    let cyclic = edit(&|blk| {
        let vcn = blk[0x10..0x18].to_vec();
        let start = 0x18 + u32_at(blk, 0x18);
        let end = 0x18 + u32_at(blk, 0x1C);
        let mut p = start;
        while blk[p + 12] & 2 == 0 {
            p += u16_at(blk, p + 8);
        }
        assert_eq!(p + 16, end);
        blk[p + 8] = 24;
        blk[p + 12] |= 1;
        blk[p + 16..p + 24].copy_from_slice(&vcn);
        blk[0x1C..0x20].copy_from_slice(&((end + 8 - 0x18) as u32).to_le_bytes());
    });
    let r = hostile(cyclic.clone(), PAST_LAST);
    assert!(matches!(&r, Err(ImageError::Corrupt { reason, .. }) if reason.contains("cycle")), "{}", show(&r));
    let (mut disk, _) = mem_disk(cyclic);
    let len = disk.size();
    let mut v = NtfsVolume::open(&mut disk, 0, len, &ImageLimits::default()).unwrap();
    assert!(matches!(v.list_dir("\\many"), Err(ImageError::Corrupt { .. })));
    // Entry length 0, entries past the block, a wrong VCN, a torn block, a bad signature.
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "entry length 0",
            edit(&|blk| {
                let start = 0x18 + u32_at(blk, 0x18);
                blk[start + 8..start + 10].copy_from_slice(&[0, 0]);
            }),
        ),
        ("entries past the block", edit(&|blk| blk[0x1C..0x20].copy_from_slice(&0x2000u32.to_le_bytes()))),
        ("entries offset past the data", edit(&|blk| blk[0x18..0x1C].copy_from_slice(&0xFF8u32.to_le_bytes()))),
        ("wrong VCN", edit(&|blk| blk[0x10] ^= 0x40)),
    ];
    for (what, b) in cases {
        let r = hostile(b, "\\many\\file_0499.txt");
        assert!(
            matches!(r, Err(ImageError::Corrupt { .. }) | Err(ImageError::BadField { .. })),
            "{what}: {}",
            show(&r)
        );
    }
    let mut usa = img.b.clone();
    usa[leaf + 6..leaf + 8].copy_from_slice(&[0xFF, 0xFF]);
    assert!(matches!(hostile(usa, "\\many\\file_0499.txt"), Err(ImageError::BadField { .. })));
    let mut torn = img.b.clone();
    torn[leaf + 2046] ^= 1;
    assert!(matches!(hostile(torn, "\\many\\file_0499.txt"), Err(ImageError::Corrupt { .. })));
    let mut sig = img.b.clone();
    sig[leaf] = b'X';
    assert!(matches!(hostile(sig, "\\many\\file_0499.txt"), Err(ImageError::BadSignature { .. })));
}

#[test]
fn hostile_attribute_lists() {
    let Some(vol) = fuse_volume() else { return };
    let img = Img::load(&vol);
    let sys = file_record_number(&img, SYSTEM);
    assert!(img.open_and_read(SYSTEM).is_ok());
    // SYSTEM's attribute list is non-resident here: find its one run.
    let base = img.record_at(sys);
    let mut rec = img.b[base..base + 1024].to_vec();
    unfix(&mut rec);
    let (p, _) = find_attr(&rec, 0x20);
    assert_eq!(rec[p + 8], 1, "a non-resident attribute list expected");
    let list_len = u64::from_le_bytes(rec[p + 0x30..p + 0x38].try_into().unwrap()) as usize;
    let mp = p + u16_at(&rec, p + 0x20);
    let (len_size, off_size) = ((rec[mp] & 0xF) as usize, (rec[mp] >> 4) as usize);
    let mut lcn = [0u8; 8];
    lcn[..off_size].copy_from_slice(&rec[mp + 1 + len_size..mp + 1 + len_size + off_size]);
    let list_at = u64::from_le_bytes(lcn) as usize * 4096;
    let entries = |b: &[u8]| -> Vec<usize> {
        let mut out = Vec::new();
        let mut e = list_at;
        while e < list_at + list_len {
            out.push(e);
            e += u16_at(b, e + 4);
        }
        out
    };
    let data_entries: Vec<usize> = entries(&img.b).into_iter().filter(|&e| u32_at(&img.b, e) == 0x80).collect();
    assert!(data_entries.len() >= 2, "SYSTEM's $DATA is not split");
    // Entries that point at $MFT (not SYSTEM's extension), at SYSTEM itself (which lacks the
    // extents), past the MFT, or with a wrong first VCN.
    for (what, field, value) in
        [("$MFT", 0x10, 0u64), ("itself", 0x10, sys), ("past the MFT", 0x10, 0xFF_FFFF_FFFF), ("VCN", 0x08, 5)]
    {
        let mut b = img.b.clone();
        let e = *data_entries.last().unwrap();
        let bytes = value.to_le_bytes();
        let n = if field == 0x10 { 6 } else { 8 };
        b[e + field..e + field + n].copy_from_slice(&bytes[..n]);
        let r = hostile(b, SYSTEM);
        assert!(
            matches!(r, Err(ImageError::Corrupt { .. }) | Err(ImageError::BadField { .. })),
            "{what}: {}",
            show(&r)
        );
    }
    // Entry length 0; an entry running past the list.
    for len in [0u16, 0x7FF8] {
        let mut b = img.b.clone();
        let e = entries(&img.b)[1];
        b[e + 4..e + 6].copy_from_slice(&len.to_le_bytes());
        assert!(matches!(hostile(b, SYSTEM), Err(ImageError::Corrupt { .. })), "{len}");
    }
    // The extension record disowns SYSTEM, or is not in use.
    let ext = u64::from_le_bytes(img.b[data_entries[1] + 0x10..data_entries[1] + 0x18].try_into().unwrap())
        & 0xFFFF_FFFF_FFFF;
    for (field, value) in [(0x20usize, 5u64), (0x16, 0)] {
        let mut m = Img { b: img.b.clone(), mft: img.mft };
        m.edit_record(ext, |r| {
            let n = if field == 0x20 { 8 } else { 2 };
            r[field..field + n].copy_from_slice(&value.to_le_bytes()[..n]);
        });
        assert!(matches!(m.open_and_read(SYSTEM), Err(ImageError::Corrupt { .. })), "{field:#x}");
    }
}

/// The first LCN of the first run of the attribute at `p` of a fixed-up record.
fn first_lcn(rec: &[u8], p: usize) -> usize {
    let mp = p + u16_at(rec, p + 0x20);
    let (len_size, off_size) = ((rec[mp] & 0xF) as usize, (rec[mp] >> 4) as usize);
    let mut lcn = [0u8; 8];
    lcn[..off_size].copy_from_slice(&rec[mp + 1 + len_size..mp + 1 + len_size + off_size]);
    u64::from_le_bytes(lcn) as usize
}

#[test]
fn compression_and_encryption_flags() {
    let Some(vol) = fuse_volume() else { return };
    let img = Img::load(&vol);
    const TEXT: &str = "\\comp\\text.txt";
    let n = file_record_number(&img, TEXT);
    let with = |f: &dyn Fn(&mut [u8], usize)| {
        let mut m = Img { b: img.b.clone(), mft: img.mft };
        m.edit_record(n, |r| {
            let (p, _) = find_attr(r, 0x80);
            f(r, p);
        });
        m
    };
    // EFS-encrypted data, and compression units other than 16 clusters: refused, never raw bytes.
    let r = with(&|r, p| r[p + 0x0D] |= 0x40).open_and_read(TEXT);
    assert!(matches!(&r, Err(ImageError::Unsupported(m)) if m.contains("encrypted")), "{}", show(&r));
    for cu in [1u8, 5, 16] {
        let r = with(&|r, p| r[p + 0x22] = cu).open_and_read(TEXT);
        assert!(matches!(&r, Err(ImageError::Unsupported(m)) if m.contains("compressed")), "{cu}: {}", show(&r));
    }
    // A compression unit without the compressed or sparse flag.
    let r = with(&|r, p| r[p + 0x0C] = 0).open_and_read(TEXT);
    assert!(matches!(r, Err(ImageError::Unsupported(_))), "{}", show(&r));
    // Damaged LZNT1 data: a chunk header without the signature.
    let at = img.record_at(n);
    let mut rec = img.b[at..at + 1024].to_vec();
    unfix(&mut rec);
    let (p, _) = find_attr(&rec, 0x80);
    let data = first_lcn(&rec, p) * 4096;
    let mut b = img.b.clone();
    b[data..data + 2].copy_from_slice(&[0xFF, 0x0F]);
    let r = hostile(b, TEXT);
    assert!(matches!(&r, Err(ImageError::Corrupt { what, .. }) if what.contains("LZNT1")), "{}", show(&r));
}

/// A disk that is a shared base image with a few bytes changed, so that thousands of mutants cost
/// no copies.
struct Mutant {
    base: Arc<Vec<u8>>,
    patches: Vec<(usize, u8)>,
}

impl VirtualDisk for Mutant {
    fn size(&self) -> u64 {
        self.base.len() as u64
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> regnet_image::Result<()> {
        regnet_image::disk::check_range("mutant", offset, buf.len(), self.size())?;
        let start = offset as usize;
        buf.copy_from_slice(&self.base[start..start + buf.len()]);
        for &(at, v) in &self.patches {
            if (start..start + buf.len()).contains(&at) {
                buf[at - start] = v;
            }
        }
        Ok(())
    }
    fn format(&self) -> regnet_image::ContainerFormat {
        regnet_image::ContainerFormat::Raw
    }
}

/// What a mutant is asked: paths to read (`true`) or only to size (`false`), and a folder to list.
struct Campaign<'a> {
    reads: &'a [(&'a str, bool)],
    list: &'a str,
}

/// Applies random byte changes inside `regions` of `image` and runs the campaign's reads on each
/// mutant: every one must give a result or a typed error, quickly. (A poor man's fuzzer that runs
/// with the test suite; deterministic, so a failure names its iteration.
/// REGNET_NTFS_MUTANTS=100000 for a longer run.)
fn mutation_campaign(image: Vec<u8>, regions: &[(usize, usize)], campaign: &Campaign, seed: u64) {
    let total: usize = regions.iter().map(|r| r.1).sum();
    let base = Arc::new(image);
    let mut rng = seed | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let iterations: u32 = std::env::var("REGNET_NTFS_MUTANTS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let mut outcomes = std::collections::BTreeMap::<String, u32>::new();
    let started = Instant::now();
    for i in 0..iterations {
        let count = 1 + next() % 8;
        let patches: Vec<(usize, u8)> = (0..count)
            .map(|_| {
                let mut k = (next() % total as u64) as usize;
                let mut at = 0;
                for &(start, len) in regions {
                    if k < len {
                        at = start + k;
                        break;
                    }
                    k -= len;
                }
                let v = match next() % 4 {
                    0 => 0,
                    1 => 0xFF,
                    _ => next() as u8,
                };
                (at, v)
            })
            .collect();
        let t = Instant::now();
        let mut disk = Mutant { base: base.clone(), patches };
        let len = disk.size();
        let outcome = match NtfsVolume::open(&mut disk, 0, len, &ImageLimits::default()) {
            Err(e) => format!("open: {}", kind(&e)),
            Ok(mut v) => {
                let mut parts = Vec::new();
                for &(p, read) in campaign.reads {
                    let r = v.find(p).and_then(|id| {
                        if read {
                            v.read_file(id).map(|_| ())
                        } else {
                            v.file_size(id).map(|_| ())
                        }
                    });
                    parts.push(r.map_or_else(|e| kind(&e), |_| "ok".into()));
                }
                parts.push(v.list_dir(campaign.list).map_or_else(|e| kind(&e), |_| "ok".into()));
                parts.join(",")
            }
        };
        if t.elapsed() > Duration::from_secs(1) {
            eprintln!("iteration {i}: slow: {:?}", t.elapsed());
        }
        *outcomes.entry(outcome).or_default() += 1;
    }
    eprintln!("{iterations} mutants in {:?}:", started.elapsed());
    for (o, n) in &outcomes {
        eprintln!("  {n:5} {o}");
    }
}

/// Every INDX block of an image, as regions.
fn indx_blocks(b: &[u8]) -> Vec<(usize, usize)> {
    (0..b.len() / 4096).map(|i| i * 4096).filter(|&o| &b[o..o + 4] == b"INDX").map(|o| (o, 4096)).collect()
}

/// Mutants of the boot sector, the system records up to $UpCase, the records on the paths read,
/// and every index block.
#[test]
fn mutated_metadata_never_panics() {
    let Some(vol) = basic_volume("basic", "") else { return };
    let img = Img::load(&vol);
    let mut regions = vec![(0usize, 512usize), (img.mft, 11 * 1024)];
    for p in ["\\Windows", "\\Windows\\System32", "\\Windows\\System32\\config", SYSTEM, "\\tiny.txt", "\\many"] {
        regions.push((img.record_at(file_record_number(&img, p)), 1024));
    }
    regions.extend(indx_blocks(&img.b));
    let reads = [
        (SYSTEM, false),
        ("\\Windows\\System32\\config\\SYSTEM.LOG1", true),
        ("\\tiny.txt", true),
        ("\\many\\file_0321.txt", true),
    ];
    mutation_campaign(img.b, &regions, &Campaign { reads: &reads, list: "\\many" }, 0x9E37_79B9_7F4A_7C15);
}

/// Mutants of the fragmented volume: the MFT's and SYSTEM's attribute lists and extension
/// records, and the LZNT1 data of a compressed file.
#[test]
fn mutated_attribute_lists_and_compressed_data_never_panic() {
    let Some(vol) = fuse_volume() else { return };
    let img = Img::load(&vol);
    let mut regions = vec![(0usize, 512usize), (img.mft, 16 * 1024)];
    let sys = file_record_number(&img, SYSTEM);
    // SYSTEM's base record and the records after it (its extensions, as ntfs-3g allocates them).
    regions.extend((sys..sys + 3).filter_map(|n| img.find_record(n)).map(|at| (at, 1024)));
    let text = file_record_number(&img, "\\comp\\text.txt");
    let at = img.record_at(text);
    regions.push((at, 1024));
    let mut rec = img.b[at..at + 1024].to_vec();
    unfix(&mut rec);
    let (p, _) = find_attr(&rec, 0x80);
    regions.push((first_lcn(&rec, p) * 4096, 8 * 4096));
    // The MFT's extension records: record 0's attribute list names them.
    regions.extend((12..=20).filter_map(|n| img.find_record(n)).map(|at| (at, 1024)));
    regions.extend(indx_blocks(&img.b).into_iter().take(64));
    let reads = [(SYSTEM, false), ("\\comp\\text.txt", true), ("\\sparse.bin", false), ("\\fill\\f12001", true)];
    mutation_campaign(
        img.b,
        &regions,
        &Campaign { reads: &reads, list: "\\Windows\\System32\\config" },
        0x2545_F491_4F6C_DD1D,
    );
}

fn kind(e: &ImageError) -> String {
    format!("{e:?}").split([' ', '{', '(']).next().unwrap_or("?").to_owned()
}
