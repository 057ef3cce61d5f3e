//! Transaction-log replay (spec: "Format of transaction log files",
//! "Dirty state of a hive", "Multiple transaction log files").
//!
//! The input files are never written. For new-format logs, replay decides which
//! logged copy of each page is the latest; a borrowed primary is then read
//! through an [`Overlay`] of those pages (nothing copied), and a buffer regnet
//! may change gets the pages written into it. Old-format logs (512-byte pages)
//! are written into a copy. Every size, offset, count and sequence number read
//! from a log is checked before use, and a log that fails a check is ignored
//! (or replay stops at the bad entry) with the reason recorded in [`Recovery`].

use crate::base_block::{store_checksum, BaseBlock, BASE_BLOCK_SIZE};
use crate::bytes::{put_u32, slice, u32_at, u64_at, us};
use crate::error::HiveError;
use crate::limits::Limits;
use crate::marvin::{marvin32, marvin32_many, REGISTRY_SEED};
use crate::overlay::{Lazy, Overlay, Primary};
use serde::Serialize;

/// Sector size of log files: the base-block copy and entries are 512-byte aligned.
const SECTOR: usize = 512;
/// Fixed header of an HvLE entry.
const HVLE_HEADER: usize = 40;
/// Dirty pages of new-format logs are whole 4 KiB pages of the hive bins.
const PAGE: u32 = 4096;

/// A transaction log given to [`crate::Hive::open_with`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LogFile<'l> {
    /// A name for reports (usually the file name, e.g. `SYSTEM.LOG1`).
    pub name: String,
    /// The log's bytes.
    pub data: &'l [u8],
}

impl<'l> LogFile<'l> {
    /// A named log.
    pub fn new(name: impl Into<String>, data: &'l [u8]) -> Self {
        LogFile { name: name.into(), data }
    }
}

/// The two formats of transaction logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LogFormat {
    /// Windows 8.1 and later: `HvLE` entries, Marvin32-checked.
    New,
    /// Before Windows 8.1: a `DIRT` dirty vector and 512-byte pages.
    Old,
}

/// What happened to one log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum LogStatus {
    /// Entries or pages of this log went into the recovered hive.
    Applied,
    /// The hive was clean, so the log was not read.
    NotNeeded,
    /// The log was not used; `reason` says why (invalid, stale, another log won).
    Ignored {
        /// Why.
        reason: String,
    },
}

/// The outcome for one log file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LogReport {
    /// The name the caller gave.
    pub name: String,
    /// Its format, when its base block could be read.
    pub format: Option<LogFormat>,
    /// Applied, not needed, or ignored (with the reason).
    pub status: LogStatus,
    /// New format: log entries applied.
    pub entries_applied: u32,
    /// Dirty page runs applied (runs of 4 KiB pages for the new format, 512-byte pages for the old).
    pub pages_applied: u32,
    /// Sequence numbers of the first and last entry applied (new format).
    pub sequence_applied: Option<(u32, u32)>,
    /// Why replay stopped inside this log, when it did (a bad entry, a gap in the sequence).
    pub stopped: Option<String>,
}

/// Whether the hive was dirty and what replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Recovery {
    /// The primary file needed recovery (bad checksum or unequal sequence numbers).
    pub dirty: bool,
    /// Log data was applied: the hive read is the recovered one.
    pub recovered: bool,
    /// The base block was taken from a log because the primary's was damaged.
    pub base_block_from_log: bool,
    /// One report per log given, in the order given.
    pub logs: Vec<LogReport>,
}

impl Recovery {
    /// Total entries applied over all logs.
    pub fn entries_applied(&self) -> u32 {
        self.logs.iter().map(|l| l.entries_applied).sum()
    }
    /// Total pages applied over all logs.
    pub fn pages_applied(&self) -> u32 {
        self.logs.iter().map(|l| l.pages_applied).sum()
    }
}

fn report(name: &str, format: Option<LogFormat>, status: LogStatus) -> LogReport {
    LogReport {
        name: name.to_owned(),
        format,
        status,
        entries_applied: 0,
        pages_applied: 0,
        sequence_applied: None,
        stopped: None,
    }
}

fn ignored(reason: impl Into<String>) -> LogStatus {
    LogStatus::Ignored { reason: reason.into() }
}

/// Reports for logs of a clean hive.
pub(crate) fn not_needed(logs: &[LogFile<'_>]) -> Vec<LogReport> {
    logs.iter().map(|l| report(&l.name, None, LogStatus::NotNeeded)).collect()
}

/// One validated HvLE entry.
struct Entry<'l> {
    seq: u32,
    hbins_size: u32,
    flags: u32,
    /// (offset in hive bins, bytes) for each dirty page, validated against `hbins_size`.
    refs: Vec<(u32, &'l [u8])>,
}

/// A log whose base block is valid.
struct Parsed<'l> {
    idx: usize,
    /// The whole log file.
    data: &'l [u8],
    base: BaseBlock,
    /// New format: the valid run of entries; old format: empty.
    entries: Vec<Entry<'l>>,
    /// Why entry parsing stopped before the end of the log, if it did.
    stop: Option<String>,
}

/// Where replay writes: the primary as given (copied on the first write; new-format logs leave it
/// as it is and give an overlay instead), a buffer the caller lets us change in place, or our own
/// copy. A hive that must grow beyond a borrowed or in-place buffer
/// moves to a copy.
pub(crate) enum Target<'b> {
    /// The primary, read-only: the first write copies it.
    Borrowed(&'b [u8]),
    /// The primary, read on demand: the first write reads it whole into a copy.
    Lazy(Lazy<'b>),
    /// The caller's buffer, written in place.
    InPlace(&'b mut [u8]),
    /// Our own buffer.
    Owned(Vec<u8>),
}

impl<'b> Target<'b> {
    /// The length of the file.
    pub(crate) fn len(&self) -> usize {
        match self {
            Target::Borrowed(s) => s.len(),
            Target::Lazy(l) => l.len(),
            Target::InPlace(b) => b.len(),
            Target::Owned(v) => v.len(),
        }
    }

    /// The base block's bytes (fewer when the file is shorter); `None` when reading them failed.
    pub(crate) fn head(&self) -> Option<&[u8]> {
        let n = self.len().min(BASE_BLOCK_SIZE);
        match self {
            Target::Lazy(l) => l.get(0, n),
            other => other.bytes().get(..n),
        }
    }

    /// The bytes as they are now (none for a file read on demand: see [`Target::materialize`]).
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Target::Borrowed(s) => s,
            Target::Lazy(_) => &[],
            Target::InPlace(b) => b,
            Target::Owned(v) => v,
        }
    }

    /// Reads a file read on demand whole into a copy, for the replay that writes.
    pub(crate) fn materialize(&mut self) -> Result<(), HiveError> {
        if let Target::Lazy(l) = self {
            let v = l.read_all().ok_or_else(|| HiveError::Read {
                reason: l.error().unwrap_or("the hive could not be read").to_owned(),
            })?;
            *self = Target::Owned(v);
        }
        Ok(())
    }

    /// The bytes, writable (copying a borrowed primary first).
    fn bytes_mut(&mut self) -> Result<&mut [u8], HiveError> {
        self.materialize()?;
        if let Target::Borrowed(s) = self {
            *self = Target::Owned(copy_primary(s)?);
        }
        Ok(match self {
            Target::InPlace(b) => b,
            Target::Owned(v) => v.as_mut_slice(),
            Target::Borrowed(_) | Target::Lazy(_) => &mut [],
        })
    }

    /// Makes room for `hbins_size` bytes of hive bins, moving to a copy if the buffer is too small.
    fn ensure(&mut self, hbins_size: u32, limits: &Limits) -> Result<(), HiveError> {
        let want = BASE_BLOCK_SIZE + us(hbins_size);
        Limits::check("max_hive_size", want as u64, limits.max_hive_size)?;
        self.materialize()?;
        let moved = match self {
            Target::Borrowed(s) => Some(copy_primary(s)?),
            Target::InPlace(b) if want > b.len() => Some(copy_primary(b)?),
            _ => None,
        };
        if let Some(v) = moved {
            *self = Target::Owned(v);
        }
        if let Target::Owned(v) = self {
            grow(v, hbins_size, limits)?;
        }
        Ok(())
    }

    /// The result as the hive's storage: its bytes, or (read on demand) an overlay of no pages.
    pub(crate) fn into_storage(self) -> Result<(std::borrow::Cow<'b, [u8]>, Option<Overlay<'b>>), HiveError> {
        Ok(match self {
            Target::Borrowed(s) => (std::borrow::Cow::Borrowed(s), None),
            Target::InPlace(b) => (std::borrow::Cow::Borrowed(b), None),
            Target::Owned(v) => (std::borrow::Cow::Owned(v), None),
            Target::Lazy(l) => {
                let len = l.len();
                let base = l.get(0, BASE_BLOCK_SIZE.min(len)).map(<[u8]>::to_vec).ok_or_else(|| HiveError::Read {
                    reason: l.error().unwrap_or("the base block could not be read").to_owned(),
                })?;
                (std::borrow::Cow::Borrowed(&[][..]), Some(Overlay::new(Primary::Lazy(l), base, len, Vec::new())))
            }
        })
    }
}

/// The recovered hive: the target (written when something was applied), or the primary as given
/// with an overlay of the logged pages.
pub(crate) enum Recovered<'b> {
    /// The target, with the logs' pages written into it (or unchanged when nothing applied).
    Target(Target<'b>),
    /// The primary, unchanged (borrowed or read on demand), with what the logs change on top of it.
    Overlay(Overlay<'b>),
}

/// Replays `logs` over a dirty primary held in `target`. Returns the recovered hive, whether
/// anything was applied, and the report.
pub(crate) fn recover<'b>(
    mut target: Target<'b>,
    base: &BaseBlock,
    logs: &[LogFile<'b>],
    limits: &Limits,
) -> Result<(Recovered<'b>, bool, Recovery), HiveError> {
    let mut rec = Recovery { dirty: true, ..Recovery::default() };
    rec.logs = logs.iter().map(|l| report(&l.name, None, ignored("not read"))).collect();
    let mut new_logs = Vec::new();
    let mut old_logs = Vec::new();
    for (idx, log) in logs.iter().enumerate() {
        let r = match rec.logs.get_mut(idx) {
            Some(r) => r,
            None => continue,
        };
        match parse_log(idx, log, limits) {
            Ok((fmt, parsed)) => {
                r.format = Some(fmt);
                r.stopped = parsed.stop.clone();
                match fmt {
                    LogFormat::New => new_logs.push(parsed),
                    LogFormat::Old => old_logs.push(parsed),
                }
            }
            Err(e) => r.status = ignored(format!("invalid: {e}")),
        }
    }
    if new_logs.iter().any(|p| !p.entries.is_empty()) {
        for p in &old_logs {
            set_status(&mut rec, p.idx, ignored("old-format log beside applicable new-format logs"));
        }
        let changes = replay_new(base, new_logs, limits, &mut rec);
        let applied = changes.is_some();
        let out = match changes {
            Some(changes) => apply_new(target, changes, limits)?,
            None => Recovered::Target(target),
        };
        rec.recovered = applied;
        return Ok((out, applied, rec));
    }
    let applied = if !old_logs.is_empty() {
        for p in &new_logs {
            set_status(&mut rec, p.idx, ignored(p.stop.clone().unwrap_or_else(|| "no log entries".into())));
        }
        replay_old(&mut target, base, old_logs, limits, &mut rec)?
    } else {
        for p in &new_logs {
            set_status(&mut rec, p.idx, ignored(p.stop.clone().unwrap_or_else(|| "no log entries".into())));
        }
        false
    };
    rec.recovered = applied;
    Ok((Recovered::Target(target), applied, rec))
}

fn set_status(rec: &mut Recovery, idx: usize, status: LogStatus) {
    if let Some(r) = rec.logs.get_mut(idx) {
        r.status = status;
    }
}

/// How many leading bytes of a transaction log replay can look at, found by reading only its
/// headers: for a new-format log, up to the end of its last `HvLE` entry (what follows, often
/// megabytes of entries from before the log was last reused, is never read by replay); for
/// anything else (an old-format or damaged log), all of it. Replaying the first `n` bytes gives
/// exactly what replaying the whole file gives.
///
/// `read(offset, buf)` fills `buf` from the log; it is called for the base block and one 40-byte
/// header per entry. Meant for logs inside disk images, where reading costs.
///
/// ```
/// # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/");
/// let log = std::fs::read(format!("{dir}SYSTEM.LOG1")).unwrap();
/// let n = regnet_hive::log_bytes_needed(log.len() as u64, |off, buf: &mut [u8]| {
///     let off = off as usize;
///     buf.copy_from_slice(&log[off..off + buf.len()]);
///     Ok::<(), std::io::Error>(())
/// })?;
/// assert!(n <= log.len() as u64);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn log_bytes_needed<E>(len: u64, mut read: impl FnMut(u64, &mut [u8]) -> Result<(), E>) -> Result<u64, E> {
    let sector = SECTOR as u64;
    if len < sector {
        return Ok(len);
    }
    let mut head = [0u8; SECTOR];
    read(0, &mut head)?;
    match BaseBlock::parse(&head) {
        Ok(b) if b.checksum_valid && b.file_type == 6 => {}
        _ => return Ok(len),
    }
    let mut off = sector;
    // Each step moves on by at least one sector, so this ends within len / 512 steps.
    loop {
        let Some(end) = off.checked_add(HVLE_HEADER as u64).filter(|&e| e <= len) else { return Ok(len) };
        let mut hdr = [0u8; HVLE_HEADER];
        read(off, &mut hdr)?;
        if hdr.get(..4) != Some(b"HvLE") {
            // Replay stops here whatever follows.
            return Ok(off);
        }
        let size = u64::from(u32_at(&hdr, 4).unwrap_or(0));
        match off.checked_add(size) {
            Some(next) if size >= sector && size % sector == 0 && next <= len && end <= next => off = next,
            // A bad size: replay reports it, and may need to know where the file ends.
            _ => return Ok(len),
        }
    }
}

/// Reads a log's base block and, for the new format, its run of valid entries.
fn parse_log<'l>(idx: usize, log: &LogFile<'l>, limits: &Limits) -> Result<(LogFormat, Parsed<'l>), HiveError> {
    let data = log.data;
    Limits::check("max_log_size", data.len() as u64, limits.max_log_size)?;
    if data.is_empty() {
        return Err(HiveError::Truncated {
            what: "log base block (the log file is empty)",
            offset: 0,
            needed: SECTOR as u64,
            available: 0,
        });
    }
    let base = BaseBlock::parse(data)?;
    if !base.checksum_valid {
        return Err(HiveError::BadField {
            what: "log base block checksum",
            offset: 508,
            value: u64::from(base.checksum),
            expected: "the XOR-32 checksum of the first 508 bytes",
        });
    }
    let fmt = match base.file_type {
        6 => LogFormat::New,
        1 | 2 => LogFormat::Old,
        t => {
            return Err(HiveError::BadField {
                what: "log file type",
                offset: 28,
                value: u64::from(t),
                expected: "1 or 2 (old-format log) or 6 (new-format log)",
            })
        }
    };
    let mut parsed = Parsed { idx, data, base, entries: Vec::new(), stop: None };
    if fmt == LogFormat::New {
        parse_entries(data, &mut parsed);
    } else if parsed.base.sequences_differ() {
        return Err(HiveError::BadField {
            what: "log sequence numbers",
            offset: 4,
            value: u64::from(parsed.base.primary_sequence),
            expected: "equal primary and secondary sequence numbers (the log was not fully written)",
        });
    }
    Ok((fmt, parsed))
}

/// Collects the valid, contiguous run of HvLE entries, starting with the
/// sequence number the log's base block names (spec, new format note 7).
///
/// Each entry's structure is checked first, then the Hash-1 of all entries in one pass
/// ([`marvin32_many`], several bodies side by side); the run ends at the first entry that fails
/// either, with the same reason a one-by-one check would give.
fn parse_entries<'l>(data: &'l [u8], p: &mut Parsed<'l>) {
    let mut off = SECTOR;
    let mut expect = p.base.primary_sequence;
    // Every entry whose structure is sound, and why (and at which offset) the walk stopped.
    let mut found: Vec<Checked<'l>> = Vec::new();
    let mut stop: Option<(usize, EntryError<'l>)> = None;
    while off < data.len() {
        match parse_entry(data, off, expect) {
            Ok(Some(c)) => {
                expect = c.entry.seq.wrapping_add(1);
                off += c.size;
                found.push(c);
            }
            Ok(None) => break,
            Err(e) => {
                stop = Some((off, e));
                break;
            }
        }
    }
    // Hash-1 of those entries, and of the failing one when its reason comes after Hash-1 (a bad
    // Hash-1 is the reason given then).
    let mut bodies: Vec<&[u8]> = found.iter().map(|c| c.body).collect();
    let mut stored: Vec<u64> = found.iter().map(|c| c.hash1).collect();
    if let Some((_, EntryError { body: Some((body, hash1)), .. })) = &stop {
        bodies.push(body);
        stored.push(*hash1);
    }
    let bad = marvin32_many(REGISTRY_SEED, &bodies).iter().zip(&stored).position(|(h, s)| h != s);
    p.stop = match (bad, stop) {
        (Some(i), stop) => {
            let at = found.get(i).map(|c| c.offset).or(stop.map(|s| s.0)).unwrap_or(off);
            Some(format!("entry at byte {at:#x}: Hash-1 (Marvin32 of the entry body) does not match"))
        }
        (None, Some((at, e))) => Some(format!("entry at byte {at:#x}: {}", e.why)),
        (None, None) => None,
    };
    found.truncate(bad.unwrap_or(found.len()));
    p.entries = found.into_iter().map(|c| c.entry).collect();
}

/// An entry whose structure is sound; its Hash-1 is still to be checked.
struct Checked<'l> {
    entry: Entry<'l>,
    /// Where it starts in the log, and its size.
    offset: usize,
    size: usize,
    /// Its body (what Hash-1 covers) and the Hash-1 it stores.
    body: &'l [u8],
    hash1: u64,
}

/// Why an entry is not valid; `body` carries the entry's body and stored Hash-1 when the reason
/// was found after the point where Hash-1 is checked.
struct EntryError<'l> {
    why: String,
    body: Option<(&'l [u8], u64)>,
}

impl From<String> for EntryError<'_> {
    fn from(why: String) -> Self {
        EntryError { why, body: None }
    }
}

/// Parses the entry at `off` and checks everything but its Hash-1. `Ok(None)` marks the end of the
/// entries (no `HvLE` signature).
fn parse_entry(data: &[u8], off: usize, expect: u32) -> Result<Option<Checked<'_>>, EntryError<'_>> {
    let Some(head) = slice(data, off, HVLE_HEADER) else {
        return Ok(None);
    };
    if head.get(..4) != Some(b"HvLE") {
        return Ok(None);
    }
    let f = |o| u32_at(head, o).unwrap_or(0);
    let size = us(f(4));
    if size < HVLE_HEADER || size % SECTOR != 0 {
        return Err(format!("size {size:#x} is not a multiple of 512 of at least 512").into());
    }
    let entry = slice(data, off, size).ok_or_else(|| format!("size {size:#x} runs past the end of the log"))?;
    let (flags, seq, hbins_size, count) = (f(8), f(12), f(16), f(20));
    let hash1 = u64_at(head, 24).unwrap_or(0);
    let hash2 = u64_at(head, 32).unwrap_or(0);
    let body = entry.get(HVLE_HEADER..).unwrap_or(&[]);
    if marvin32(REGISTRY_SEED, head.get(..32).unwrap_or(&[])) != hash2 {
        return Err("Hash-2 (Marvin32 of the entry header) does not match".to_string().into());
    }
    // Hash-1 is checked next, by the caller, for all entries at once.
    let after = |why: String| EntryError { why, body: Some((body, hash1)) };
    if seq != expect {
        return Err(after(format!("sequence number {seq:#x}, expected {expect:#x}")));
    }
    if hbins_size == 0 || hbins_size % PAGE != 0 {
        return Err(after(format!("hive bins data size {hbins_size:#x} is not a non-zero multiple of 4096")));
    }
    let refs_len = us(count)
        .checked_mul(8)
        .filter(|&n| n <= body.len())
        .ok_or_else(|| after(format!("{count} dirty page references do not fit the entry")))?;
    let (refs_raw, mut pages) = body.split_at(refs_len);
    let mut refs = Vec::new();
    for r in refs_raw.chunks_exact(8) {
        let (poff, psize) = (u32_at(r, 0).unwrap_or(0), u32_at(r, 4).unwrap_or(0));
        if psize == 0 || psize % PAGE != 0 || poff % PAGE != 0 {
            return Err(after(format!("dirty page {poff:#x}+{psize:#x} is not made of whole 4096-byte pages")));
        }
        if poff.checked_add(psize).is_none_or(|end| end > hbins_size) {
            return Err(after(format!("dirty page {poff:#x}+{psize:#x} lies outside the hive bins ({hbins_size:#x})")));
        }
        if us(psize) > pages.len() {
            return Err(after(format!("dirty page {poff:#x}+{psize:#x} runs past the entry")));
        }
        let (page, rest) = pages.split_at(us(psize));
        pages = rest;
        refs.push((poff, page));
    }
    Ok(Some(Checked { entry: Entry { seq, hbins_size, flags, refs }, offset: off, size, body, hash1 }))
}

/// Makes the output buffer: the primary, with room for `hbins_size` bytes of bins.
fn grow(buf: &mut Vec<u8>, hbins_size: u32, limits: &Limits) -> Result<(), HiveError> {
    let want = BASE_BLOCK_SIZE + us(hbins_size);
    Limits::check("max_hive_size", want as u64, limits.max_hive_size)?;
    if want > buf.len() {
        buf.try_reserve_exact(want - buf.len()).map_err(|_| HiveError::LimitExceeded {
            limit: "max_hive_size",
            value: want as u64,
            max: limits.max_hive_size,
        })?;
        buf.resize(want, 0);
    }
    Ok(())
}

fn copy_primary(primary: &[u8]) -> Result<Vec<u8>, HiveError> {
    let mut v = Vec::new();
    v.try_reserve_exact(primary.len()).map_err(|_| HiveError::LimitExceeded {
        limit: "max_hive_size",
        value: primary.len() as u64,
        max: primary.len() as u64,
    })?;
    v.extend_from_slice(primary);
    Ok(v)
}

/// Writes the final base block: sequence numbers equal, sizes and flags
/// from the log, file type 0, fresh checksum.
fn finish_base(buf: &mut [u8], seq: u32, hbins_size: u32, flags: Option<u32>) {
    put_u32(buf, 4, seq);
    put_u32(buf, 8, seq);
    put_u32(buf, 28, 0);
    put_u32(buf, 40, hbins_size);
    if let Some(f) = flags {
        let old = u32_at(buf, 144).unwrap_or(0);
        put_u32(buf, 144, (old & !1) | (f & 1));
    }
    if let Some(head) = buf.get_mut(..BASE_BLOCK_SIZE) {
        store_checksum(head);
    }
}

/// What the new-format logs change: the latest logged copy of every page they touch, the size the
/// hive bins grow to, and the base block to write.
struct Changes<'l> {
    /// For each 4 KiB page of the hive bins, its latest logged copy.
    pages: Vec<Option<&'l [u8]>>,
    /// Largest hive bins size of an applied entry: the recovered file holds at least this much.
    hbins_max: u32,
    /// The log's base block, when it replaces a damaged primary one.
    new_base: Option<&'l [u8]>,
    /// Sequence number, hive bins size and flags of the last entry applied.
    last: (u32, u32, u32),
}

/// New format: choose the entries to apply from both logs, in sequence order.
fn replay_new<'l>(
    base: &BaseBlock,
    mut logs: Vec<Parsed<'l>>,
    limits: &Limits,
    rec: &mut Recovery,
) -> Option<Changes<'l>> {
    logs.retain(|p| {
        if p.entries.is_empty() {
            set_status(rec, p.idx, ignored(p.stop.clone().unwrap_or_else(|| "no log entries".into())));
        }
        !p.entries.is_empty()
    });
    // The log's base block, when it replaces a damaged one: written only once an entry applies.
    let mut log_base: Option<&'l [u8]> = None;
    let min_seq;
    if base.checksum_valid {
        // Entries below the primary's secondary sequence number are already in it.
        min_seq = base.secondary_sequence;
        logs.sort_by_key(|p| p.entries.first().map_or(u32::MAX, |e| e.seq));
    } else {
        // A damaged base block: only the log with the latest entries counts,
        // and its base block replaces the primary's.
        let best = logs
            .iter()
            .enumerate()
            .max_by_key(|(i, p)| (p.entries.last().map_or(0, |e| e.seq), std::cmp::Reverse(*i)))
            .map(|(i, _)| i)?;
        let chosen = logs.swap_remove(best);
        for p in &logs {
            set_status(
                rec,
                p.idx,
                ignored("the primary's base block is damaged; only the log with the latest entries is used"),
            );
        }
        logs = vec![chosen];
        min_seq = 0;
        log_base = logs.first().and_then(|p| p.base_bytes());
    }
    let mut changes = Changes { pages: Vec::new(), hbins_max: 0, new_base: None, last: (0, 0, 0) };
    let mut next: Option<u32> = None;
    let mut any = false;
    for p in &logs {
        let mut applied = 0u32;
        let mut pages = 0u32;
        let mut first_last: Option<(u32, u32)> = None;
        let mut stop = p.stop.clone();
        for e in &p.entries {
            if e.seq < min_seq {
                continue;
            }
            match next {
                Some(n) if e.seq < n => continue,
                Some(n) if e.seq > n => {
                    stop = Some(format!("sequence gap: entry {:#x} does not follow {:#x}", e.seq, n.wrapping_sub(1)));
                    break;
                }
                _ => {}
            }
            let want = BASE_BLOCK_SIZE as u64 + u64::from(e.hbins_size);
            if let Err(err) = Limits::check("max_hive_size", want, limits.max_hive_size) {
                stop = Some(err.to_string());
                break;
            }
            if e.hbins_size > changes.hbins_max {
                changes.hbins_max = e.hbins_size;
                changes.pages.resize(us(e.hbins_size / PAGE), None);
            }
            if let Some(b) = log_base.take() {
                changes.new_base = Some(b);
                rec.base_block_from_log = true;
            }
            for (poff, run) in &e.refs {
                // Checked at parse time: the run is whole pages within hbins_size.
                for (k, page) in run.chunks_exact(us(PAGE)).enumerate() {
                    if let Some(slot) = changes.pages.get_mut(us(*poff / PAGE) + k) {
                        *slot = Some(page);
                    }
                }
                pages += 1;
            }
            applied += 1;
            first_last = Some((first_last.map_or(e.seq, |f| f.0), e.seq));
            next = Some(e.seq.wrapping_add(1));
            changes.last = (e.seq, e.hbins_size, e.flags);
            any = true;
        }
        if let Some(r) = rec.logs.get_mut(p.idx) {
            r.entries_applied = applied;
            r.pages_applied = pages;
            r.sequence_applied = first_last;
            r.stopped = stop;
            r.status = if applied > 0 {
                LogStatus::Applied
            } else {
                ignored(format!("stale: no entry at or after the primary's sequence number {min_seq:#x}"))
            };
        }
    }
    any.then_some(changes)
}

/// Brings the new-format changes into the hive: a borrowed primary gets an [`Overlay`] (nothing is
/// copied but the base block); a buffer we may write is written.
fn apply_new<'b>(target: Target<'b>, c: Changes<'b>, limits: &Limits) -> Result<Recovered<'b>, HiveError> {
    let (seq, hbins_size, flags) = c.last;
    let want = BASE_BLOCK_SIZE + us(c.hbins_max);
    // The overlay serves whole pages; a primary that ends inside a page and must grow is copied.
    let plen = target.len();
    let whole_pages = plen.checked_sub(BASE_BLOCK_SIZE).is_some_and(|n| n % us(PAGE) == 0);
    let head = target.head().filter(|h| h.len() == BASE_BLOCK_SIZE && (whole_pages || want <= plen)).map(<[u8]>::to_vec);
    let (primary, mut target) = match target {
        Target::Borrowed(s) if head.is_some() => (Some(Primary::Slice(s)), None),
        Target::Lazy(l) if head.is_some() => (Some(Primary::Lazy(l)), None),
        other => (None, Some(other)),
    };
    if let (Some(primary), Some(mut base)) = (primary, head) {
        if let (Some(dst), Some(src)) = (base.get_mut(..SECTOR), c.new_base) {
            dst.copy_from_slice(src);
        }
        finish_base(&mut base, seq, hbins_size, Some(flags));
        return Ok(Recovered::Overlay(Overlay::new(primary, base, want.max(plen), c.pages)));
    }
    let Some(mut target) = target.take() else {
        return Err(HiveError::Read { reason: "the primary could not be read".into() });
    };
    target.ensure(c.hbins_max, limits)?;
    let buf = target.bytes_mut()?;
    if let (Some(dst), Some(src)) = (buf.get_mut(..SECTOR), c.new_base) {
        dst.copy_from_slice(src);
    }
    for (i, page) in c.pages.iter().enumerate() {
        if let Some(page) = page {
            let at = BASE_BLOCK_SIZE + i * us(PAGE);
            if let Some(dst) = buf.get_mut(at..at + page.len()) {
                dst.copy_from_slice(page);
            }
        }
    }
    finish_base(buf, seq, hbins_size, Some(flags));
    Ok(Recovered::Target(target))
}

impl<'l> Parsed<'l> {
    /// The log's copy of the base block (its first sector).
    fn base_bytes(&self) -> Option<&'l [u8]> {
        self.data.get(..SECTOR)
    }
}

/// Old format: the first valid log whose timestamp matches the primary.
fn replay_old(
    target: &mut Target<'_>,
    base: &BaseBlock,
    logs: Vec<Parsed<'_>>,
    limits: &Limits,
    rec: &mut Recovery,
) -> Result<bool, HiveError> {
    target.materialize()?;
    // With a damaged base block, the first hive bin's timestamp stands in for it.
    let stamp = if base.checksum_valid {
        base.last_written.0
    } else {
        u64_at(target.bytes(), BASE_BLOCK_SIZE + 20).unwrap_or(0)
    };
    // A log whose timestamp matches belongs to the interrupted write. When the
    // primary's base block is damaged, its stand-in timestamp may be stale, so
    // any valid log is accepted then, a matching one first.
    let mut order: Vec<Parsed<'_>> = logs;
    order.sort_by_key(|p| p.base.last_written.0 != stamp);
    let mut chosen = None;
    for p in order {
        let data = p.data;
        if chosen.is_some() {
            set_status(rec, p.idx, ignored("another log was applied"));
            continue;
        }
        if p.base.last_written.0 != stamp && base.checksum_valid {
            set_status(
                rec,
                p.idx,
                ignored("its timestamp does not match the primary file: it belongs to another write"),
            );
            continue;
        }
        match dirty_pages(&p.base, data) {
            Ok(pages) => chosen = Some((p, data, pages)),
            Err(e) => set_status(rec, p.idx, ignored(format!("invalid: {e}"))),
        }
    }
    let Some((p, data, pages)) = chosen else { return Ok(false) };
    let hbins_size = p.base.hive_bins_data_size;
    target.ensure(hbins_size, limits)?;
    let buf = target.bytes_mut()?;
    if !base.checksum_valid {
        if let (Some(dst), Some(src)) = (buf.get_mut(..SECTOR), data.get(..SECTOR)) {
            dst.copy_from_slice(src);
        }
        rec.base_block_from_log = true;
    }
    let mut n = 0u32;
    for (bit, src) in &pages {
        let at = BASE_BLOCK_SIZE + bit * SECTOR;
        if let (Some(dst), Some(src)) = (buf.get_mut(at..at + SECTOR), data.get(*src..*src + SECTOR)) {
            dst.copy_from_slice(src);
            n += 1;
        }
    }
    let seq = if base.checksum_valid { base.primary_sequence } else { p.base.primary_sequence };
    finish_base(buf, seq, hbins_size, None);
    if let Some(r) = rec.logs.get_mut(p.idx) {
        r.status = LogStatus::Applied;
        r.pages_applied = n;
    }
    Ok(true)
}

/// The dirty vector of an old-format log: (page index, offset of its copy in the log) for each set bit.
fn dirty_pages(base: &BaseBlock, data: &[u8]) -> Result<Vec<(usize, usize)>, HiveError> {
    let hbins = base.hive_bins_data_size;
    if hbins == 0 || hbins % PAGE != 0 {
        return Err(HiveError::BadField {
            what: "log hive bins data size",
            offset: 40,
            value: u64::from(hbins),
            expected: "a non-zero multiple of 4096",
        });
    }
    let sector = SECTOR * us(base.clustering_factor.clamp(1, 8));
    let bits = us(hbins) / SECTOR;
    let bitmap_len = bits.div_ceil(8);
    let sig = slice(data, sector, 4);
    if sig != Some(b"DIRT") {
        return Err(HiveError::BadSignature {
            what: "dirty vector",
            offset: sector as u64,
            expected: "DIRT",
            found: sig.unwrap_or(&[]).to_vec(),
        });
    }
    let bitmap = slice(data, sector + 4, bitmap_len).ok_or(HiveError::Truncated {
        what: "dirty vector",
        offset: sector as u64,
        needed: 4 + bitmap_len as u64,
        available: data.len().saturating_sub(sector) as u64,
    })?;
    let first_page = (sector + 4 + bitmap_len).div_ceil(SECTOR) * SECTOR;
    let set = bitmap.iter().map(|b| b.count_ones() as usize).sum::<usize>();
    let needed = set * SECTOR;
    if first_page + needed > data.len() {
        return Err(HiveError::Truncated {
            what: "dirty pages",
            offset: first_page as u64,
            needed: needed as u64,
            available: data.len().saturating_sub(first_page) as u64,
        });
    }
    let mut out = Vec::with_capacity(set);
    let mut src = first_page;
    for (i, byte) in bitmap.iter().enumerate() {
        for b in 0..8 {
            let bit = i * 8 + b;
            if bit < bits && byte & (1 << b) != 0 {
                out.push((bit, src));
                src += SECTOR;
            }
        }
    }
    Ok(out)
}
