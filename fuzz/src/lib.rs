//! Shared code of the fuzz targets: each target is a thin `fuzz_target!` over a function here.

use regnet_hive::{Hive, Limits, LogFile, OpenOptions};

/// Limits small enough that one input cannot stall the fuzzer.
pub fn limits() -> Limits {
    let mut l = Limits::default();
    l.max_hive_size = 16 << 20;
    l.max_log_size = 16 << 20;
    l.max_value_size = 4 << 20;
    l.max_cells_visited = 2_000_000;
    l
}

/// Reads everything a consumer could read from an open hive.
pub fn exercise(hive: &Hive<'_>) {
    let _ = hive.key("ControlSet001\\Services\\Tcpip\\Parameters\\Interfaces");
    let _ = hive.key("Select").and_then(|k| k.value("Current"));
    let mut walk = hive.walk();
    while let Some(e) = walk.next_entry() {
        let Ok(e) = e else { continue };
        let key = e.key;
        let _ = key.name().to_string_lossy();
        let _ = key.class_name_string();
        let _ = key.subkey("a");
        for v in key.values() {
            let Ok(v) = v else { continue };
            let _ = v.name().to_string_lossy();
            let _ = v.data();
            let _ = v.string();
            let _ = v.multi_string();
            let _ = v.u32();
            let _ = v.u64();
        }
    }
}

/// Opens `data` as a hive with no logs and walks it.
pub fn hive_walk(data: &[u8]) {
    let opts = OpenOptions::new().limits(limits());
    if let Ok(h) = Hive::open_with(data, &opts) {
        exercise(&h);
    }
}

/// Splits the input into a primary and two logs (u32 length prefixes), and
/// optionally re-seals the HvLE hashes so that fuzzing reaches the replay
/// logic behind them.
pub fn log_replay(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else { return };
    let (primary, rest) = take_prefixed(rest);
    let (log1, log2) = take_prefixed(rest);
    let mut log1 = log1.to_vec();
    let mut log2 = log2.to_vec();
    if flags & 1 != 0 {
        reseal(&mut log1);
        reseal(&mut log2);
    }
    let opts = OpenOptions::new().limits(limits()).log(LogFile::new("LOG1", &log1)).log(LogFile::new("LOG2", &log2));
    let borrowed = Hive::open_with(primary, &opts);
    if let Ok(h) = &borrowed {
        exercise(h);
    }
    if flags & 2 != 0 {
        // Differential: a borrowed primary is read through an overlay of the logged pages, an
        // owned one gets them written. Both must read the same hive, down to every error, except
        // where the overlay refuses to copy overlapping bins past the hive's size.
        // (Fresh hives for all: each counts its own work against the limits.)
        let borrowed = Hive::open_with(primary, &opts);
        let owned = Hive::open_with(primary.to_vec(), &opts);
        let mem = Mem(primary);
        let lazy = Hive::open_source(&mem, &opts);
        let (a, b, c) = (digest(borrowed.as_ref()), digest(owned.as_ref()), digest(lazy.as_ref()));
        if !a.contains("max_hive_size") {
            assert_eq!(a, b, "overlay and written replay differ");
        }
        if !c.contains("max_hive_size") {
            assert_eq!(c, b, "a hive read on demand differs from one in memory");
        }
        // Only the part of each log that log_bytes_needed names: the same hive.
        let (n1, n2) = (needed(&log1), needed(&log2));
        let cut = OpenOptions::new().limits(limits()).log(LogFile::new("LOG1", n1)).log(LogFile::new("LOG2", n2));
        let d = digest(Hive::open_with(primary.to_vec(), &cut).as_ref());
        assert_eq!(d, b, "replaying the needed part of the logs differs from the whole logs");
        if let (Ok(x), Ok(y)) = (&borrowed, &owned) {
            assert_eq!(x.recovery(), y.recovery());
            assert_eq!(x.bytes().len(), y.bytes().len());
        }
    }
}

/// A hive in memory behind the on-demand interface.
struct Mem<'a>(&'a [u8]);

impl regnet_hive::Source for Mem<'_> {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let at = usize::try_from(offset).map_err(std::io::Error::other)?;
        let src = at.checked_add(buf.len()).and_then(|end| self.0.get(at..end)).ok_or(std::io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// `log` cut to what replay can look at.
fn needed(log: &[u8]) -> &[u8] {
    let n = regnet_hive::log_bytes_needed(log.len() as u64, |off, buf: &mut [u8]| {
        let at = off as usize;
        match at.checked_add(buf.len()).and_then(|end| log.get(at..end)) {
            Some(src) => {
                buf.copy_from_slice(src);
                Ok(())
            }
            None => Err(()),
        }
    });
    match n {
        Ok(n) => log.get(..n as usize).unwrap_or(log),
        Err(()) => panic!("log_bytes_needed read outside the log"),
    }
}

/// Everything a walk reads, as text: paths, value names and data, and every error.
fn digest(hive: Result<&Hive<'_>, &regnet_hive::HiveError>) -> String {
    use std::fmt::Write as _;
    let hive = match hive {
        Ok(h) => h,
        Err(e) => return format!("open: {e}"),
    };
    let mut out = String::new();
    let mut walk = hive.walk();
    while let Some(e) = walk.next_entry() {
        match e {
            Err(e) => {
                let _ = writeln!(out, "! {e}");
            }
            Ok(e) => {
                let _ = writeln!(out, "{}", e.path);
                for v in e.key.values() {
                    match v.and_then(|v| v.data().map(|d| (v.name().to_string_lossy().into_owned(), d.into_owned()))) {
                        Ok((name, data)) => {
                            let _ = writeln!(out, "  {name} = {data:02x?}");
                        }
                        Err(e) => {
                            let _ = writeln!(out, "  ! {e}");
                        }
                    }
                }
            }
        }
        if out.len() > 8 << 20 {
            break;
        }
    }
    out
}

fn take_prefixed(data: &[u8]) -> (&[u8], &[u8]) {
    let Some(len) = data.get(..4) else { return (data, &[]) };
    let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
    let rest = &data[4..];
    let len = len.min(rest.len());
    rest.split_at(len)
}

/// Recomputes Hash-1 and Hash-2 of every HvLE entry that fits, walking by the entries' own sizes.
pub fn reseal(log: &mut [u8]) {
    let mut off = 512usize;
    while off + 40 <= log.len() && &log[off..off + 4] == b"HvLE" {
        let size = u32::from_le_bytes([log[off + 4], log[off + 5], log[off + 6], log[off + 7]]) as usize;
        if size < 40 || off + size > log.len() {
            return;
        }
        let h1 = regnet_hive::marvin32(regnet_hive::REGISTRY_SEED, &log[off + 40..off + size]);
        log[off + 24..off + 32].copy_from_slice(&h1.to_le_bytes());
        let h2 = regnet_hive::marvin32(regnet_hive::REGISTRY_SEED, &log[off..off + 32]);
        log[off + 32..off + 40].copy_from_slice(&h2.to_le_bytes());
        if size == 0 {
            return;
        }
        off += size;
    }
}

/// Builds a log_replay input from files (for seeding the corpus).
pub fn pack(primary: &[u8], log1: &[u8], log2: &[u8], reseal: bool) -> Vec<u8> {
    let mut v = vec![u8::from(reseal)];
    v.extend_from_slice(&(primary.len() as u32).to_le_bytes());
    v.extend_from_slice(primary);
    v.extend_from_slice(&(log1.len() as u32).to_le_bytes());
    v.extend_from_slice(log1);
    v.extend_from_slice(log2);
    v
}

/// Limits of the image layer small enough for fuzzing.
pub fn image_limits() -> regnet_image::ImageLimits {
    let mut l = regnet_image::ImageLimits::default();
    l.max_table_bytes = 4 << 20;
    l.max_header_bytes = 256 << 10;
    l.max_unit_bytes = 1 << 20;
    l.max_inflated_bytes = 64 << 20;
    l.max_file_bytes = 8 << 20;
    l.max_bytes_read = 256 << 20;
    l.max_ntfs_records = 10_000;
    l
}

fn mem_source(data: &[u8]) -> Option<regnet_image::FileSource> {
    let counters = std::sync::Arc::new(regnet_image::Counters::default());
    regnet_image::FileSource::new("input", Box::new(std::io::Cursor::new(data.to_vec())), counters, &image_limits())
        .ok()
}

/// A disk over the input bytes as they are (raw).
fn mem_disk(data: &[u8]) -> Option<Box<dyn regnet_image::VirtualDisk>> {
    Some(Box::new(regnet_image::RawDisk::new(mem_source(data)?)))
}

/// The input is a container file, detected by content: open it and read a few ranges chosen
/// from the table boundaries and the end (the C20 property: reads near every edge).
pub fn container(data: &[u8]) {
    let Some(mut src) = mem_source(data) else { return };
    let Ok(format) = regnet_image::detect(&mut src) else { return };
    read_container(src, format, data);
}

/// The input opened as one container format, whatever its first bytes (so mutations that break
/// the magic still reach that format's parser).
pub fn container_as(data: &[u8], format: regnet_image::ContainerFormat) {
    let Some(src) = mem_source(data) else { return };
    read_container(src, format, data);
}

fn read_container(src: regnet_image::FileSource, format: regnet_image::ContainerFormat, data: &[u8]) {
    let Ok(mut disk) = regnet_image::open_container(src, format, &regnet_image::NoResolver, &image_limits()) else {
        return;
    };
    let size = disk.size();
    let mut buf = vec![0u8; 4096];
    let seed = data.iter().take(64).fold(0u64, |a, &b| a.wrapping_mul(31).wrapping_add(u64::from(b)));
    for off in [0, size / 2, size.saturating_sub(4096), size.saturating_sub(1), seed % size.max(1), 1 << 20, 64 << 20] {
        let len = (size.saturating_sub(off)).min(4096) as usize;
        let _ = disk.read_at(off, &mut buf[..len]);
    }
}

/// The input is a disk: read its partition table.
pub fn partitions(data: &[u8]) {
    let Some(mut disk) = mem_disk(data) else { return };
    let _ = regnet_image::partition::read_partitions(disk.as_mut(), &image_limits());
}

/// The input is an NTFS volume: look up the hive path and a few others, read what is found.
pub fn ntfs(data: &[u8]) {
    let Some(mut disk) = mem_disk(data) else { return };
    let size = disk.size();
    let Ok(mut vol) = regnet_image::ntfs::NtfsVolume::open(disk.as_mut(), 0, size, &image_limits()) else { return };
    for path in ["\\Windows\\System32\\config\\SYSTEM", "\\Windows\\System32\\config\\SYSTEM.LOG1", "\\$MFT", "\\a"] {
        if let Ok(id) = vol.find(path) {
            let _ = vol.read_file(id);
        }
    }
}

/// The input is a SYSTEM hive: build the network report.
pub fn network(data: &[u8]) {
    let mut o = regnet::Options::default();
    o.limits = limits();
    let _ = regnet::report_from_hive_bytes(data, &[], &o);
}

/// The input is a whole disk image: the full pipeline.
pub fn extract(data: &[u8]) {
    let mut o = regnet::ExtractOptions::default();
    o.image_limits = image_limits();
    o.hive.limits = limits();
    let _ = regnet::extract_from_reader(std::io::Cursor::new(data.to_vec()), "input", &o);
}
