//! Transaction-log writer: turns two hives made by [`crate::write_hive`] into a dirty primary file
//! plus logs whose replay yields the second hive.
//!
//! Written from the "Format of transaction log files" and "Dirty state of a hive" sections of the
//! regf specification (Maxim Suhanov, CC BY 4.0), with details taken from real dirty hives:
//!
//! * yarp `NewDirtyHive1`: primary sequence numbers 3/2; LOG1's base block has 2/2 and holds the
//!   entry with sequence number 2; LOG2's base block has 3/3 and holds entries 3, 4, 5. So the
//!   first entry carries the primary's *secondary* sequence number, and each log's base block
//!   carries the sequence number of that log's first entry.
//! * regipy `SYSTEM_B`: primary 0x656/0x655 (1622/1621), LOG1 2107/2107 with entries 2107..=2110,
//!   LOG2 2111/2111 with 2111..=2130: the logs can run far ahead of the primary, and the split
//!   continues the numbering.
//! * In both, a log entry ends at a 4096-byte boundary *of the log file* (the base block copy takes
//!   512 bytes, so the first entry is 0x1E00 bytes plus whole pages), the pages follow the page
//!   references without alignment, and the padding is zeros covered by Hash-1. Contiguous dirty
//!   pages share one reference (`0x10000, 0x2000`), and every entry Windows wrote includes the page
//!   at offset 0.
//! * yarp `OldDirtyHive`: primary 5/4, old-format LOG1 5/5 with the primary's timestamp; DIRT
//!   bitmap bytes are 0x00 or 0xFF (4 KiB granularity); dirty pages start at the next 512-byte
//!   boundary after the bitmap.
//!
//! The recovered hive has the `after` hive-bins data exactly; its base block is the primary's with
//! the hive-bins size, sequence numbers and flag bit 0 taken from the last log entry (new format)
//! or the log's base block (old format).

use crate::writer::{base_block_field as bb, fix_checksum, BASE_BLOCK_SIZE};

/// The Marvin32 seed of HvLE hashes. The spec lists its bytes as `82 EF 4D 88 7A 4E 55 C5`; read as
/// a number in that order (most significant byte first) it reproduces the hashes of real Windows
/// logs (see [`marvin32`]).
pub const HVLE_MARVIN32_SEED: u64 = 0x82EF_4D88_7A4E_55C5;

/// Size of a dirty page in new-format logs and of the change-tracking unit in general.
const PAGE: usize = 4096;
/// Sector size of logs (spec, "Sector size and clustering factor").
const SECTOR: usize = 512;
/// HvLE header size; page references follow.
const HVLE_HEADER: usize = 40;

/// Marvin32 (Niels Ferguson's hash, as used by Windows for HvLE entries).
///
/// The seed's low 32 bits initialise the first state word and its high 32 bits the second; the data
/// is consumed as little-endian 32-bit words, then a final word made of the 0..3 remaining bytes
/// and a 0x80 marker byte, followed by two extra mixing rounds. The result is `(second word << 32)
/// | first word`, stored little-endian in the log entry. Checked against every HvLE entry of yarp
/// NewDirtyHive1 and regipy SYSTEM_B (tests/corpus.rs), with [`HVLE_MARVIN32_SEED`].
pub fn marvin32(seed: u64, data: &[u8]) -> u64 {
    fn mix(lo: &mut u32, hi: &mut u32) {
        *hi ^= *lo;
        *lo = lo.rotate_left(20);
        *lo = lo.wrapping_add(*hi);
        *hi = hi.rotate_left(9);
        *hi ^= *lo;
        *lo = lo.rotate_left(27);
        *lo = lo.wrapping_add(*hi);
        *hi = hi.rotate_left(19);
    }
    let mut lo = seed as u32; // low half of the seed, by design
    let mut hi = (seed >> 32) as u32;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        lo = lo.wrapping_add(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
        mix(&mut lo, &mut hi);
    }
    let rest = words.remainder();
    let mut last = 0x80u32 << (8 * rest.len());
    for (i, &b) in rest.iter().enumerate() {
        last |= u32::from(b) << (8 * i);
    }
    lo = lo.wrapping_add(last);
    mix(&mut lo, &mut hi);
    mix(&mut lo, &mut hi);
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Which log file an entry went to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFile {
    Log1,
    Log2,
}

/// How to distribute new-format log entries over LOG1 and LOG2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogSplit {
    AllInLog1,
    AllInLog2,
    /// The first half of the entries (rounded up) in LOG1, the rest in LOG2 with continuing
    /// sequence numbers. With one entry this is the same as `AllInLog1`.
    Split,
}

/// One HvLE entry, for tests that patch it (call [`fix_hvle_hashes`] afterwards to keep the hashes
/// valid).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntryInfo {
    pub file: LogFile,
    /// Offset of the entry in its log file.
    pub offset: usize,
    pub size: usize,
    pub sequence: u32,
    pub hive_bins_size: u32,
    /// Dirty page references: (offset relative to the hive-bins data, size).
    pub pages: Vec<(u32, u32)>,
}

/// A dirty primary file and its transaction logs. An empty vector means the log file exists but is
/// empty (0 bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirtySet {
    pub primary: Vec<u8>,
    pub log1: Vec<u8>,
    pub log2: Vec<u8>,
    /// The HvLE entries in application order (empty for old-format logs).
    pub entries: Vec<LogEntryInfo>,
}

impl DirtySet {
    /// Writes `dir/name`, `dir/name.LOG1` and `dir/name.LOG2` (empty logs as 0-byte files, as
    /// Windows leaves them), the layout a reader's log discovery expects. Returns the primary's
    /// path.
    pub fn write_files(&self, dir: &std::path::Path, name: &str) -> std::io::Result<std::path::PathBuf> {
        let primary = dir.join(name);
        std::fs::write(&primary, &self.primary)?;
        std::fs::write(dir.join(format!("{name}.LOG1")), &self.log1)?;
        std::fs::write(dir.join(format!("{name}.LOG2")), &self.log2)?;
        Ok(primary)
    }
}

fn rd32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().expect("4 bytes"))
}

fn wr32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

/// The facts about a hive written by `write_hive` that log making needs.
struct HiveInfo<'a> {
    bytes: &'a [u8],
    hbins_size: usize,
    secondary: u32,
    flags: u32,
}

impl HiveInfo<'_> {
    fn new<'a>(bytes: &'a [u8], what: &str) -> HiveInfo<'a> {
        assert!(bytes.len() >= BASE_BLOCK_SIZE && &bytes[..4] == b"regf", "{what}: not a hive written by write_hive");
        let hbins_size = rd32(bytes, bb::HIVE_BINS_DATA_SIZE) as usize;
        assert!(
            hbins_size.is_multiple_of(PAGE) && hbins_size > 0 && bytes.len() >= BASE_BLOCK_SIZE + hbins_size,
            "{what}: hive-bins size {hbins_size:#x} does not fit the file"
        );
        HiveInfo { bytes, hbins_size, secondary: rd32(bytes, bb::SECONDARY_SEQUENCE), flags: rd32(bytes, bb::FLAGS) }
    }

    fn page(&self, index: usize) -> Option<&[u8]> {
        let start = BASE_BLOCK_SIZE + index * PAGE;
        (index * PAGE < self.hbins_size).then(|| &self.bytes[start..start + PAGE])
    }
}

/// Indices of the 4 KiB pages of `after`'s hive-bins data that differ from `before` (or lie beyond
/// its end).
fn dirty_pages(before: &HiveInfo, after: &HiveInfo) -> Vec<usize> {
    (0..after.hbins_size / PAGE).filter(|&i| before.page(i) != after.page(i)).collect()
}

fn check_pair(before: &HiveInfo, after: &HiveInfo) {
    assert_eq!(
        rd32(before.bytes, bb::ROOT_CELL_OFFSET),
        rd32(after.bytes, bb::ROOT_CELL_OFFSET),
        "before and after must have the same root cell offset (logs do not carry the base block)"
    );
}

/// The primary file as a crash left it: `before`, with the primary sequence number one ahead of the
/// secondary (a write was started and not finished), which makes it dirty.
fn dirty_primary(before: &HiveInfo) -> Vec<u8> {
    let mut primary = before.bytes[..BASE_BLOCK_SIZE + before.hbins_size].to_vec();
    wr32(&mut primary, bb::PRIMARY_SEQUENCE, before.secondary.wrapping_add(1));
    fix_checksum(&mut primary);
    primary
}

/// The first sector of a log: a copy of the primary's base block with the given sequence numbers,
/// file type and hive-bins size, and a recomputed checksum.
fn log_base_block(primary: &[u8], sequence: u32, file_type: u32, hbins_size: usize) -> Vec<u8> {
    let mut b = primary[..SECTOR].to_vec();
    wr32(&mut b, bb::PRIMARY_SEQUENCE, sequence);
    wr32(&mut b, bb::SECONDARY_SEQUENCE, sequence);
    wr32(&mut b, bb::FILE_TYPE, file_type);
    wr32(&mut b, bb::HIVE_BINS_DATA_SIZE, hbins_size as u32);
    fix_checksum(&mut b);
    b
}

/// Merges sorted page indices into (offset, size) references of contiguous runs.
fn page_runs(pages: &[usize]) -> Vec<(u32, u32)> {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &p in pages {
        let off = (p * PAGE) as u32;
        match runs.last_mut() {
            Some((o, s)) if *o + *s == off => *s += PAGE as u32,
            _ => runs.push((off, PAGE as u32)),
        }
    }
    runs
}

/// Builds a new-format (HvLE, Windows 8.1+) dirty set whose replay turns `before` into `after`.
///
/// * The dirty pages are the 4 KiB pages of `after`'s hive-bins data that differ from `before`,
///   plus any growth. They are spread over `entries` entries in order (as evenly as possible); like
///   Windows, every entry also carries the page at offset 0, so no entry is empty even when fewer
///   pages than entries changed.
/// * With `s` = the secondary sequence number of `before`, the primary gets sequence numbers
///   `s+1`/`s` and the entries `s, s+1, ..., s+entries-1` (as in yarp NewDirtyHive1, where the
///   first entry equals the primary's secondary number).
/// * Every entry's hive-bins size is the size the hive has reached so far (at least `before`'s),
///   and the last entry's is `after`'s.
/// * The log base blocks are 512-byte copies of the primary's with file type 6 and the sequence
///   number and hive-bins size of the log's first entry. A log without entries is empty (0 bytes).
///
/// Panics if `entries` is 0, or if the hives were not made by `write_hive` with the same root cell
/// offset.
pub fn new_format_logs(before: &[u8], after: &[u8], entries: usize, split: LogSplit) -> DirtySet {
    assert!(entries > 0, "new_format_logs needs at least one entry");
    let before = HiveInfo::new(before, "before");
    let after = HiveInfo::new(after, "after");
    check_pair(&before, &after);
    let primary = dirty_primary(&before);

    // Page 0 goes into every entry; the other dirty pages are divided into `entries` consecutive
    // chunks.
    let rest: Vec<usize> = dirty_pages(&before, &after).into_iter().filter(|&p| p != 0).collect();
    let (per, extra) = (rest.len() / entries, rest.len() % entries);
    let mut chunks = Vec::with_capacity(entries);
    let mut start = 0;
    for i in 0..entries {
        let n = per + usize::from(i < extra);
        let mut pages = vec![0];
        pages.extend_from_slice(&rest[start..start + n]);
        start += n;
        chunks.push(pages);
    }

    let n_log1 = match split {
        LogSplit::AllInLog1 => entries,
        LogSplit::AllInLog2 => 0,
        LogSplit::Split => entries.div_ceil(2),
    };
    let flags = after.flags & 1;
    let mut logs: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    let mut infos = Vec::with_capacity(entries);
    let mut reached = before.hbins_size;
    for (i, pages) in chunks.iter().enumerate() {
        let sequence = before.secondary.wrapping_add(i as u32);
        let runs = page_runs(pages);
        let end_of_pages = runs.last().map_or(0, |&(o, s)| (o + s) as usize);
        reached = reached.max(end_of_pages);
        let hbins_size = if i + 1 == entries { after.hbins_size } else { reached };
        let (which, file) = if i < n_log1 { (0, LogFile::Log1) } else { (1, LogFile::Log2) };
        let log = &mut logs[which];
        if log.is_empty() {
            log.extend(log_base_block(&primary, sequence, 6, hbins_size));
        }
        let offset = log.len();
        let payload = HVLE_HEADER + 8 * runs.len() + runs.iter().map(|&(_, s)| s as usize).sum::<usize>();
        // Windows pads each entry so that it ends on a 4 KiB boundary of the log file.
        let size = (offset + payload).div_ceil(PAGE) * PAGE - offset;
        let mut e = vec![0u8; size];
        e[0..4].copy_from_slice(b"HvLE");
        wr32(&mut e, 4, size as u32);
        wr32(&mut e, 8, flags);
        wr32(&mut e, 12, sequence);
        wr32(&mut e, 16, hbins_size as u32);
        wr32(&mut e, 20, runs.len() as u32);
        let mut p = HVLE_HEADER;
        for &(o, s) in &runs {
            wr32(&mut e, p, o);
            wr32(&mut e, p + 4, s);
            p += 8;
        }
        for &(o, s) in &runs {
            let src = BASE_BLOCK_SIZE + o as usize;
            e[p..p + s as usize].copy_from_slice(&after.bytes[src..src + s as usize]);
            p += s as usize;
        }
        set_hvle_hashes(&mut e);
        log.extend(e);
        infos.push(LogEntryInfo { file, offset, size, sequence, hive_bins_size: hbins_size as u32, pages: runs });
    }
    let [log1, log2] = logs;
    DirtySet { primary, log1, log2, entries: infos }
}

/// Computes Hash-1 (over the entry from offset 40) and then Hash-2 (over the first 32 bytes) of one
/// entry.
fn set_hvle_hashes(entry: &mut [u8]) {
    let h1 = marvin32(HVLE_MARVIN32_SEED, &entry[HVLE_HEADER..]);
    entry[24..32].copy_from_slice(&h1.to_le_bytes());
    let h2 = marvin32(HVLE_MARVIN32_SEED, &entry[..32]);
    entry[32..40].copy_from_slice(&h2.to_le_bytes());
}

/// Recomputes Hash-1 and Hash-2 of every HvLE entry of a new-format log, so a test can change entry
/// fields (sequence numbers, sizes, page references, page data) and still pass the hash check.
///
/// Entries are walked from offset 512 using their (possibly patched) size fields; the walk stops at
/// the first entry without the `HvLE` signature or with a size below 40 or past the end of the log,
/// and leaves it and everything after it untouched. Returns the number of entries fixed.
pub fn fix_hvle_hashes(log: &mut [u8]) -> usize {
    let mut off = SECTOR;
    let mut fixed = 0;
    while off + HVLE_HEADER <= log.len() && &log[off..off + 4] == b"HvLE" {
        let size = rd32(log, off + 4) as usize;
        if size < HVLE_HEADER || size > log.len() - off {
            break;
        }
        set_hvle_hashes(&mut log[off..off + size]);
        fixed += 1;
        off += size;
    }
    fixed
}

/// Builds an old-format (Windows XP to 8) dirty set whose replay turns `before` into `after`.
///
/// * The primary is `before` with sequence numbers `s+1`/`s` (`s` = its secondary number), as yarp
///   OldDirtyHive.
/// * LOG1 starts with a 512-byte copy of the primary's base block with file type 1, both sequence
///   numbers `s+1`, the primary's timestamp (which is what makes the log applicable) and `after`'s
///   hive-bins size; then `DIRT` and a bitmap of `after`'s 512-byte pages (whole 4 KiB pages are
///   marked, so its bytes are 0x00 or 0xFF), padded to the next sector; then the dirty 512-byte
///   pages in bitmap order.
/// * LOG2 is empty.
///
/// Panics if the hives were not made by `write_hive` with the same root cell offset.
pub fn old_format_log(before: &[u8], after: &[u8]) -> DirtySet {
    let before = HiveInfo::new(before, "before");
    let after = HiveInfo::new(after, "after");
    check_pair(&before, &after);
    let primary = dirty_primary(&before);
    let dirty = dirty_pages(&before, &after);

    let mut log = log_base_block(&primary, before.secondary.wrapping_add(1), 1, after.hbins_size);
    log.extend_from_slice(b"DIRT");
    let mut bitmap = vec![0u8; after.hbins_size / SECTOR / 8];
    for &p in &dirty {
        bitmap[p] = 0xFF; // one bitmap byte = 8 sectors = one 4 KiB page
    }
    log.extend(bitmap);
    log.resize(log.len().div_ceil(SECTOR) * SECTOR, 0);
    for &p in &dirty {
        let src = BASE_BLOCK_SIZE + p * PAGE;
        log.extend_from_slice(&after.bytes[src..src + PAGE]);
    }
    DirtySet { primary, log1: log, log2: Vec::new(), entries: Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values pinned after the implementation reproduced every Windows-written HvLE hash in the
    /// corpus (see tests/corpus.rs), so that a regression shows even where the corpus is absent.
    /// They cover every tail length.
    #[test]
    fn marvin32_pinned_values() {
        let s = HVLE_MARVIN32_SEED;
        assert_eq!(marvin32(s, b""), 0xb39e_fca4_0396_6e08);
        assert_eq!(marvin32(s, b"a"), 0x21a0_13c7_26f2_92f4);
        assert_eq!(marvin32(s, b"ab"), 0x7911_da00_3172_85f8);
        assert_eq!(marvin32(s, b"abc"), 0xb9cf_3dfc_a419_14f7);
        assert_eq!(marvin32(s, b"abcd"), 0x2009_4fb1_1a6c_d086);
        assert_eq!(marvin32(s, b"abcde"), 0x187f_15f6_2504_6b86);
        let bytes: Vec<u8> = (0..64).collect();
        assert_eq!(marvin32(s, &bytes), 0x676c_06ad_cf48_022e);
    }

    #[test]
    fn page_runs_merge_contiguous_pages() {
        assert_eq!(page_runs(&[0, 1, 2, 5, 7, 8]), vec![(0, 0x3000), (0x5000, 0x1000), (0x7000, 0x2000)]);
        assert!(page_runs(&[]).is_empty());
    }
}
