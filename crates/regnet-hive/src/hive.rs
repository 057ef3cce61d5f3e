//! Opening a hive: the base block, the hive bins, and checked cell access.

use crate::base_block::{BaseBlock, BASE_BLOCK_SIZE};
use crate::bytes::{i32_at, sig4, slice, u32_at, us};
use crate::error::{HiveError, Result};
use crate::key::Key;
use crate::limits::Limits;
use crate::overlay::{Overlay, PAGE};
use crate::replay::{self, LogFile, Recovered, Recovery};
use crate::walk::Walk;
use serde::Serialize;
use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};

/// Size of a hive bin header.
const HBIN_HEADER: u32 = 32;
/// Hive bins are multiples of this.
const HBIN_ALIGN: u32 = 4096;
/// The offset value that points nowhere.
pub(crate) const NIL: u32 = u32::MAX;

/// Something odd that did not stop the hive from being read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[non_exhaustive]
pub enum Warning {
    /// The base block checksum is wrong (the hive is dirty or damaged).
    #[error("base block checksum is {stored:#010x}, computed {computed:#010x}: the hive is dirty or damaged")]
    BadChecksum {
        /// Stored value.
        stored: u32,
        /// Computed value.
        computed: u32,
    },
    /// The sequence numbers differ: a write was in progress.
    #[error("sequence numbers differ ({primary:#x} != {secondary:#x}): a write to the primary file did not finish")]
    SequenceMismatch {
        /// Primary sequence number.
        primary: u32,
        /// Secondary sequence number.
        secondary: u32,
    },
    /// The hive is dirty and no transaction log brought it up to date: recent changes may be missing.
    #[error("the hive is dirty and no transaction log was applied: recent changes may be missing")]
    DirtyNotRecovered,
    /// The file ends before the hive bins the base block declares (a truncated hive).
    #[error("base block declares {declared:#x} bytes of hive bins, only {usable:#x} are readable{}", .reason.as_ref().map(|r| format!(" (first problem: {r})")).unwrap_or_default())]
    BinsTruncated {
        /// Declared size.
        declared: u32,
        /// Size actually readable.
        usable: u32,
        /// Why reading stopped, if a bin was bad.
        reason: Option<String>,
    },
    /// The base block's file format field is not 1.
    #[error("file format field is {0}, expected 1")]
    UnknownFileFormat(u32),
}

/// How to open a hive: limits and transaction logs.
///
/// ```
/// use regnet_hive::{OpenOptions, LogFile};
/// let log1: Vec<u8> = Vec::new();
/// let opts = OpenOptions::new().log(LogFile::new("SYSTEM.LOG1", &log1));
/// assert_eq!(opts.logs.len(), 1);
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct OpenOptions<'l> {
    /// Resource limits.
    pub limits: Limits,
    /// Transaction logs to replay if the hive is dirty (LOG1 first, then LOG2, then LOG).
    pub logs: Vec<LogFile<'l>>,
}

impl<'l> OpenOptions<'l> {
    /// Default limits, no logs.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
    /// Adds a transaction log.
    pub fn log(mut self, log: LogFile<'l>) -> Self {
        self.logs.push(log);
        self
    }
}

/// An open registry hive.
///
/// Holds the file's bytes (borrowed when no replay was needed, so a memory
/// map is never copied) and an index of its hive bins. Everything else is
/// decoded on demand through cheap views ([`Key`], [`crate::Value`]).
///
/// `Hive` is `Send + Sync`: one hive can be read from many threads.
///
/// # Getting started
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/SYSTEM"))?;
/// let hive = regnet_hive::Hive::open(&bytes[..])?;
/// let key = hive.key("ControlSet001\\Services\\Tcpip\\Parameters")?;
/// let host = key.value("hostname")?.map(|v| v.string()).transpose()?;
/// assert_eq!(host.as_deref(), Some("APP-SRV-07"));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Hive<'a> {
    /// The file as given (or as written by replay into a buffer regnet may change).
    data: Cow<'a, [u8]>,
    /// When logs were replayed over a borrowed primary: the pages they changed, read from the logs.
    overlay: Option<Overlay<'a>>,
    base: BaseBlock,
    /// Extent of the hive bins data read, bytes (all bins lie below this).
    bins_len: u32,
    /// For each 4 KiB page of the hive bins data, the (start, end) of the bin holding it, or a gap
    /// left by a damaged bin (see [`PageBin`]): found on first use (see [`find_bin`]), so opening
    /// a hive touches none of its bins and a lookup reads only the pages it needs.
    pages: Vec<AtomicU64>,
    limits: Limits,
    warnings: Vec<Warning>,
    recovery: Recovery,
    cells_visited: AtomicU64,
    data_bytes: AtomicU64,
}

impl<'a> Hive<'a> {
    /// Opens a hive with default limits and no logs.
    pub fn open(data: impl Into<Cow<'a, [u8]>>) -> Result<Hive<'a>> {
        Self::open_with(data, &OpenOptions::default())
    }

    /// Opens a hive, replaying the given logs when it is dirty.
    ///
    /// A borrowed hive is never copied: the pages the logs change are read from the logs where
    /// they lie (which is why the logs must live as long as the hive), and a cell spanning pages
    /// of both is read from a copy of its bin made on first use. An owned hive is written in place.
    pub fn open_with(data: impl Into<Cow<'a, [u8]>>, opts: &OpenOptions<'a>) -> Result<Hive<'a>> {
        let target = match data.into() {
            Cow::Borrowed(s) => replay::Target::Borrowed(s),
            Cow::Owned(v) => replay::Target::Owned(v),
        };
        Self::open_target(target, opts)
    }

    /// Opens a hive whose buffer the caller lets regnet change: when the hive is dirty, the logs'
    /// pages are written into `data` itself (a copy is made only if the hive must grow beyond the
    /// buffer), so that `data` holds the recovered hive afterwards. To only read the hive,
    /// [`Hive::open_with`] on a borrowed buffer does less: it writes nothing.
    ///
    /// ```
    /// # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/");
    /// let mut primary = std::fs::read(format!("{dir}SYSTEM")).unwrap();
    /// let (l1, l2) = (std::fs::read(format!("{dir}SYSTEM.LOG1")).unwrap(), std::fs::read(format!("{dir}SYSTEM.LOG2")).unwrap());
    /// let opts = regnet_hive::OpenOptions::new()
    ///     .log(regnet_hive::LogFile::new("SYSTEM.LOG1", &l1))
    ///     .log(regnet_hive::LogFile::new("SYSTEM.LOG2", &l2));
    /// let hive = regnet_hive::Hive::open_in_place(&mut primary[..], &opts)?;
    /// assert!(hive.recovery().recovered);
    /// # Ok::<(), regnet_hive::HiveError>(())
    /// ```
    pub fn open_in_place(data: &'a mut [u8], opts: &OpenOptions<'a>) -> Result<Hive<'a>> {
        Self::open_target(replay::Target::InPlace(data), opts)
    }

    /// Opens a hive read on demand from `source` (a file inside a disk image, a backup store):
    /// only the parts a lookup needs are read, 64 KiB at a time and each once, so a network report
    /// from a large hive reads a small part of it. Logs are replayed as by [`Hive::open_with`]
    /// (the pages they change are read from the logs); old-format logs, which write 512-byte
    /// pieces, make it read the hive whole first. A failed read is a [`HiveError::Read`] for
    /// whatever needed those bytes.
    ///
    /// See [`Source`](crate::Source) for an example.
    pub fn open_source(source: &'a dyn crate::Source, opts: &OpenOptions<'a>) -> Result<Hive<'a>> {
        let len = source.len();
        Limits::check("max_hive_size", len, opts.limits.max_hive_size)?;
        let len = usize::try_from(len).map_err(|_| HiveError::LimitExceeded {
            limit: "max_hive_size",
            value: len,
            max: usize::MAX as u64,
        })?;
        Self::open_target(replay::Target::Lazy(crate::overlay::Lazy::new(source, len)?), opts)
    }

    fn open_target(target: replay::Target<'a>, opts: &OpenOptions<'a>) -> Result<Hive<'a>> {
        let limits = opts.limits;
        Limits::check("max_hive_size", target.len() as u64, limits.max_hive_size)?;
        let head = match target.head() {
            Some(h) => h,
            None => {
                let reason = match &target {
                    replay::Target::Lazy(l) => l.error().unwrap_or("the base block could not be read").to_owned(),
                    _ => "the base block could not be read".to_owned(),
                };
                return Err(HiveError::Read { reason });
            }
        };
        let mut base = BaseBlock::parse(head)?;
        let head_checksum = crate::base_block::xor32(head);
        let mut warnings = Vec::new();
        let was_dirty = base.is_dirty();
        let mut recovery = Recovery { dirty: was_dirty, ..Recovery::default() };
        let data: Cow<'a, [u8]>;
        let overlay;
        if was_dirty {
            if !base.checksum_valid {
                warnings.push(Warning::BadChecksum { stored: base.checksum, computed: head_checksum });
            }
            if base.sequences_differ() {
                warnings.push(Warning::SequenceMismatch {
                    primary: base.primary_sequence,
                    secondary: base.secondary_sequence,
                });
            }
            let (out, applied, rec) = replay::recover(target, &base, &opts.logs, &limits)?;
            recovery = rec;
            match out {
                Recovered::Target(target) => (data, overlay) = target.into_storage()?,
                Recovered::Overlay(ov) => {
                    data = Cow::Borrowed(&[]);
                    overlay = Some(ov);
                }
            }
            if applied {
                base = BaseBlock::parse(overlay.as_ref().map_or(&data[..], |o| o.base()))?;
            } else {
                warnings.push(Warning::DirtyNotRecovered);
            }
        } else {
            recovery.logs = replay::not_needed(&opts.logs);
            (data, overlay) = target.into_storage()?;
        }

        if base.file_type != 0 {
            return Err(HiveError::NotAPrimary { found: base.file_type });
        }
        if base.major_version != 1 || !(3..=6).contains(&base.minor_version) {
            return Err(HiveError::UnsupportedVersion { major: base.major_version, minor: base.minor_version });
        }
        if base.file_format != 1 {
            warnings.push(Warning::UnknownFileFormat(base.file_format));
        }
        let file_len = overlay.as_ref().map_or(data.len(), |o| o.len());
        let available = file_len.saturating_sub(BASE_BLOCK_SIZE);
        if available < us(HBIN_ALIGN) {
            return Err(HiveError::Truncated {
                what: "hive bins",
                offset: BASE_BLOCK_SIZE as u64,
                needed: u64::from(HBIN_ALIGN),
                available: available as u64,
            });
        }
        let available = u32::try_from(available).unwrap_or(u32::MAX) / HBIN_ALIGN * HBIN_ALIGN;
        let declared = base.hive_bins_data_size;
        // A base block that fails its checksum cannot be trusted for the size:
        // scan what the file holds instead (yarp's EffectiveSizeHive).
        let scan_limit = if base.checksum_valid { declared.min(available) } else { available };
        let bins_len = scan_limit;
        if bins_len < HBIN_ALIGN {
            return Err(HiveError::Truncated {
                what: "hive bins",
                offset: BASE_BLOCK_SIZE as u64,
                needed: u64::from(HBIN_ALIGN),
                available: u64::from(bins_len),
            });
        }
        if base.checksum_valid && declared > available {
            warnings.push(Warning::BinsTruncated {
                declared,
                usable: available,
                reason: Some("the file ends before the hive bins the base block declares".into()),
            });
        }
        let npages = us(bins_len / HBIN_ALIGN);
        let mut pages = Vec::new();
        pages.try_reserve_exact(npages).map_err(|_| HiveError::LimitExceeded {
            limit: "max_hive_size",
            value: u64::from(bins_len),
            max: limits.max_hive_size,
        })?;
        pages.resize_with(npages, || AtomicU64::new(PageBin::UNKNOWN));
        let hive = Hive {
            data,
            overlay,
            base,
            bins_len,
            pages,
            limits,
            warnings,
            recovery,
            cells_visited: AtomicU64::new(0),
            data_bytes: AtomicU64::new(0),
        };
        // Fail early when there is no usable root: nothing else can be read.
        hive.root_key()?;
        Ok(hive)
    }

    /// The parsed base block (after any replay).
    pub fn base_block(&self) -> &BaseBlock {
        &self.base
    }

    /// Non-fatal findings from opening the hive.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// Whether the hive was dirty and what the transaction logs did about it.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The limits this hive was opened with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The hive's bytes: the recovered image when logs were replayed. Borrowed, except after logs
    /// were replayed over a borrowed primary, which is never changed: then the recovered image is
    /// put together here, a copy of the whole hive.
    pub fn bytes(&self) -> Cow<'_, [u8]> {
        match &self.overlay {
            None => Cow::Borrowed(&self.data),
            Some(ov) => Cow::Owned(ov.to_vec()),
        }
    }

    /// Page `p` of the hive bins (4096 bytes) as recovered, or `None` past the end of the file.
    #[inline]
    fn page(&self, p: u32) -> Option<&[u8]> {
        match &self.overlay {
            None => slice(&self.data, BASE_BLOCK_SIZE + us(p) * PAGE, PAGE),
            Some(ov) => ov.page(p),
        }
    }

    /// Extent of the hive bins data read: the declared size, or what the file holds when it is
    /// shorter or the base block cannot be trusted. Every cell lies below it.
    pub fn bins_len(&self) -> u32 {
        self.bins_len
    }

    /// The root key.
    pub fn root_key(&self) -> Result<Key<'_>> {
        Key::at(self, self.base.root_cell_offset, "root cell offset", 0x24)
    }

    /// Looks a key up by path from the root, case-insensitively.
    ///
    /// Components are separated by `\`; leading, trailing and doubled
    /// separators are ignored, so `""` and `"\\"` name the root.
    pub fn key(&self, path: &str) -> Result<Key<'_>> {
        self.root_key()?.subpath(path)
    }

    /// A depth-first walk over every key, with cycle detection.
    pub fn walk(&self) -> Walk<'_> {
        Walk::new(self)
    }

    /// Counts cells about to be visited against `max_cells_visited`. Charged where the work is
    /// decided, when a list is opened (one per element) or big data is joined (one per segment),
    /// so that a crafted hive sharing one list among many keys cannot multiply work unnoticed.
    pub(crate) fn charge_cells(&self, n: u64) -> Result<()> {
        let total = self.cells_visited.fetch_add(n, Ordering::Relaxed).saturating_add(n);
        Limits::check("max_cells_visited", total, self.limits.max_cells_visited)
    }

    /// Counts value bytes handed out against the data budget.
    pub(crate) fn charge_data(&self, len: u64) -> Result<()> {
        let n = self.data_bytes.fetch_add(len, Ordering::Relaxed).saturating_add(len);
        Limits::check("max_data_read", n, self.limits.max_data_read)
    }

    /// The bin holding hive-bins offset `off`, resolving (and caching) the pages on the way.
    fn bin_of(&self, off: u32) -> Option<(u32, u32)> {
        let page = off / HBIN_ALIGN;
        let slot = self.pages.get(us(page))?;
        if let Some(b) = PageBin::decode(slot.load(Ordering::Relaxed)) {
            return b;
        }
        let (from, found) = find_bin(|q| self.page(q), page, self.bins_len);
        // Every page walked over belongs to the same answer: cache them all, so that each page
        // is resolved once over the hive's life.
        for p in from..=page {
            let ans = match found {
                Some((start, end)) if p < end / HBIN_ALIGN => Some((start, end)),
                _ => None,
            };
            if let Some(s) = self.pages.get(us(p)) {
                // The first answer stays (any thread finds the same one for the same bytes).
                let _ = s.compare_exchange(PageBin::UNKNOWN, PageBin::encode(ans), Ordering::Relaxed, Ordering::Relaxed);
            }
        }
        PageBin::decode(slot.load(Ordering::Relaxed)).flatten()
    }

    /// The data of the allocated cell at hive-bins offset `off` (without its size field).
    ///
    /// `what` and `at` (the file offset where the pointer is stored) go into errors.
    #[inline]
    pub(crate) fn cell(&self, off: u32, what: &'static str, at: u64) -> Result<&[u8]> {
        if self.overlay.is_none() {
            if let Some(c) = self.cell_fast(off) {
                return Ok(c);
            }
        }
        self.cell_checked(off, what, at)
    }

    /// The common case of [`Hive::cell`], kept small so that it inlines into its callers: a
    /// cell in a bin already found, in a hive read as it is. The same checks as
    /// [`Hive::cell_checked`]; `None` whenever one fails (or the bin is not found yet), and that
    /// one then says why.
    #[inline]
    fn cell_fast(&self, off: u32) -> Option<&[u8]> {
        // (A nil offset is not 8-byte aligned either.)
        if off % 8 != 0 {
            return None;
        }
        let (start, end) = PageBin::decode(self.pages.get(us(off / HBIN_ALIGN))?.load(Ordering::Relaxed))??;
        if off < start.saturating_add(HBIN_HEADER) {
            return None;
        }
        let size = i32_at(&self.data, BASE_BLOCK_SIZE + us(off))?;
        let len = size.checked_neg()?.unsigned_abs();
        if size >= 0 || len < 8 || len % 8 != 0 || u64::from(off) + u64::from(len) > u64::from(end) {
            return None;
        }
        slice(&self.data, BASE_BLOCK_SIZE + us(off) + 4, us(len) - 4)
    }

    /// [`Hive::cell`] with every check spelled out and a typed error for each.
    #[inline(never)]
    fn cell_checked(&self, off: u32, what: &'static str, at: u64) -> Result<&[u8]> {
        let bad = |reason| HiveError::BadOffset { what, offset: at, target: off, reason };
        if off == NIL {
            return Err(bad("the offset is nil (0xffffffff)"));
        }
        if off % 8 != 0 {
            return Err(bad("not 8-byte aligned, so not a cell start"));
        }
        let (start, end) = self.bin_of(off).ok_or_else(|| self.read_failure().unwrap_or(bad("outside the hive bins")))?;
        if off < start.saturating_add(HBIN_HEADER) {
            return Err(bad("inside a hive bin header"));
        }
        let cell_at = file_offset(off);
        let size = match &self.overlay {
            None => i32_at(&self.data, BASE_BLOCK_SIZE + us(off)),
            // Cells are 8-byte aligned, so the size field never straddles a page.
            Some(ov) => ov.page(off / HBIN_ALIGN).and_then(|pg| i32_at(pg, us(off % HBIN_ALIGN))),
        };
        let size = size.ok_or_else(|| self.read_failure().unwrap_or(bad("past the end of the file")))?;
        if size >= 0 {
            return Err(bad("the cell there is not allocated"));
        }
        let len = size.unsigned_abs();
        if len < 8 || len % 8 != 0 {
            return Err(HiveError::BadCellSize { offset: cell_at, size, reason: "not a positive multiple of 8" });
        }
        if u64::from(off) + u64::from(len) > u64::from(end) {
            return Err(HiveError::BadCellSize { offset: cell_at, size, reason: "the cell runs past its hive bin" });
        }
        let body = match &self.overlay {
            None => slice(&self.data, BASE_BLOCK_SIZE + us(off) + 4, us(len) - 4),
            Some(ov) => ov.span(off + 4, len - 4, (start, end))?,
        };
        body.ok_or_else(|| self.read_failure().unwrap_or(bad("past the end of the file")))
    }

    /// The error for bytes that are missing because reading the hive's source failed.
    #[cold]
    fn read_failure(&self) -> Option<HiveError> {
        let reason = self.overlay.as_ref()?.read_error()?;
        Some(HiveError::Read { reason: reason.to_owned() })
    }
}

/// What a page's slot in [`Hive`]'s table holds, packed into one atomic word: not looked up yet,
/// in a gap, or the bin `(start, end)` as `start << 32 | end` (never 0 or all ones: a bin's end is
/// a non-zero multiple of 4096).
struct PageBin;

impl PageBin {
    const UNKNOWN: u64 = 0;
    const GAP: u64 = u64::MAX;

    #[inline]
    fn encode(bin: Option<(u32, u32)>) -> u64 {
        bin.map_or(Self::GAP, |(start, end)| (u64::from(start) << 32) | u64::from(end))
    }

    /// `None` when not looked up yet; `Some(None)` in a gap.
    #[inline]
    fn decode(v: u64) -> Option<Option<(u32, u32)>> {
        match v {
            Self::UNKNOWN => None,
            Self::GAP => Some(None),
            v => Some(Some(((v >> 32) as u32, v as u32))),
        }
    }
}

/// File offset of a hive-bins offset, for error messages.
#[inline]
pub(crate) fn file_offset(off: u32) -> u64 {
    BASE_BLOCK_SIZE as u64 + u64::from(off)
}

/// Largest bin looked for behind a page, in pages (16 MiB): Windows makes bins as large as their
/// largest cell, and no cell of a real hive comes near this.
const MAX_BIN_PAGES: u32 = 4096;

/// Finds the bin holding `page`: walks back from it to the nearest `hbin` header (bins start on
/// 4 KiB boundaries and lie end to end). Returns the first page walked over and the bin whose header
/// it found there, or `None` when that header is damaged or no header lies within
/// [`MAX_BIN_PAGES`]. A bin that ends before `page` leaves `page` in a gap (a damaged bin's place).
/// Bounded work; the caller caches the answer for every page walked over.
fn find_bin<'p>(page_at: impl Fn(u32) -> Option<&'p [u8]>, page: u32, limit: u32) -> (u32, Option<(u32, u32)>) {
    let lowest = page.saturating_sub(MAX_BIN_PAGES - 1);
    let mut q = page;
    loop {
        let pos = q * HBIN_ALIGN;
        let pg = page_at(q);
        if pg.and_then(|pg| pg.get(..4)) == Some(b"hbin") {
            return (q, pg.and_then(|pg| read_bin(pg, pos, limit).ok()).map(|end| (pos, end)));
        }
        if q == lowest {
            return (q, None);
        }
        q -= 1;
    }
}

/// Checks the hive bin header at the start of `page` (the page at hive-bins offset `pos`) and
/// returns the bin's end.
fn read_bin(page: &[u8], pos: u32, limit: u32) -> Result<u32> {
    let at = file_offset(pos);
    let hdr = slice(page, 0, us(HBIN_HEADER)).ok_or(HiveError::Truncated {
        what: "hive bin header",
        offset: at,
        needed: u64::from(HBIN_HEADER),
        available: page.len() as u64,
    })?;
    if hdr.get(..4) != Some(b"hbin") {
        return Err(HiveError::BadSignature {
            what: "hive bin",
            offset: at,
            expected: "hbin",
            found: sig4(hdr).to_vec(),
        });
    }
    let field_off = u32_at(hdr, 4).unwrap_or(NIL);
    if field_off != pos {
        return Err(HiveError::BadField {
            what: "hive bin offset field",
            offset: at + 4,
            value: u64::from(field_off),
            expected: "the bin's own offset in the hive bins data",
        });
    }
    let size = u32_at(hdr, 8).unwrap_or(0);
    if size < HBIN_ALIGN || size % HBIN_ALIGN != 0 {
        return Err(HiveError::BadField {
            what: "hive bin size",
            offset: at + 8,
            value: u64::from(size),
            expected: "a non-zero multiple of 4096",
        });
    }
    match pos.checked_add(size) {
        Some(end) if end <= limit => Ok(end),
        _ => Err(HiveError::Truncated {
            what: "hive bin",
            offset: at,
            needed: u64::from(size),
            available: u64::from(limit - pos),
        }),
    }
}
