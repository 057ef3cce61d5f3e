//! A hive read without copying it: its pages come from the primary (a slice, or a [`Source`]
//! read on demand), except the pages the logs changed, which are read straight from the logs.
//!
//! Replaying a dirty hive used to mean copying the primary and writing every logged page into the
//! copy. A network report reads a few dozen keys, so most of that work was wasted: here replay
//! only decides, for each page of the hive bins, which bytes are its latest version, and the
//! reader picks them up as it goes. A cell that spans several pages of mixed origin (a bin larger
//! than one page, partly changed by the logs, or spanning two chunks of a source read on demand) is
//! read from a copy of its bin, made on first use.

use crate::base_block::BASE_BLOCK_SIZE;
use crate::bytes::{slice, us};
use crate::error::HiveError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Size of the pages the logs replace.
pub(crate) const PAGE: usize = 4096;

/// How much of a [`Source`] is read at a time (and kept): 16 pages.
pub(crate) const CHUNK: usize = 64 * 1024;

/// What stands in for hive bins pages that neither the primary nor a log holds (a hive that grew).
static ZERO_PAGE: [u8; PAGE] = [0; PAGE];

/// A hive file read on demand, for [`crate::Hive::open_source`]: regnet-hive asks only for the
/// parts it needs (the base block, then the pages a lookup reaches, 64 KiB at a time, each once).
///
/// Implement it over whatever holds the file: a file in a disk image, a backup store, a network
/// stream. It must be `Send + Sync` (a hive is read from many threads), so a reader that needs
/// `&mut self` goes behind a `Mutex`.
///
/// ```
/// struct InMemory(Vec<u8>);
/// impl regnet_hive::Source for InMemory {
///     fn len(&self) -> u64 {
///         self.0.len() as u64
///     }
///     fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
///         let start = usize::try_from(offset).map_err(std::io::Error::other)?;
///         let src = self.0.get(start..start + buf.len()).ok_or(std::io::ErrorKind::UnexpectedEof)?;
///         buf.copy_from_slice(src);
///         Ok(())
///     }
/// }
/// # let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/SYSTEM")).unwrap();
/// let source = InMemory(bytes);
/// let hive = regnet_hive::Hive::open_source(&source, &regnet_hive::OpenOptions::new())?;
/// assert!(hive.key("Select").is_ok());
/// # Ok::<(), regnet_hive::HiveError>(())
/// ```
pub trait Source: Send + Sync {
    /// The file's length in bytes.
    fn len(&self) -> u64;
    /// Fills `buf` from `offset` (`offset + buf.len()` never exceeds [`Source::len`]).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()>;
    /// True for an empty file.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A [`Source`] with the chunks read so far.
pub(crate) struct Lazy<'a> {
    source: &'a dyn Source,
    len: usize,
    chunks: Vec<OnceLock<Box<[u8]>>>,
    /// The first read that failed, for the error of what needed it.
    error: OnceLock<String>,
}

impl std::fmt::Debug for Lazy<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lazy").field("len", &self.len).field("error", &self.error.get()).finish()
    }
}

impl<'a> Lazy<'a> {
    /// Wraps `source`, whose length the caller has checked against the limits.
    pub(crate) fn new(source: &'a dyn Source, len: usize) -> Result<Self, HiveError> {
        let n = len.div_ceil(CHUNK);
        let mut chunks = Vec::new();
        chunks.try_reserve_exact(n).map_err(|_| HiveError::LimitExceeded {
            limit: "max_hive_size",
            value: len as u64,
            max: len as u64,
        })?;
        chunks.resize_with(n, OnceLock::new);
        Ok(Lazy { source, len, chunks, error: OnceLock::new() })
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The first read error, if any.
    pub(crate) fn error(&self) -> Option<&str> {
        self.error.get().map(String::as_str)
    }

    /// Chunk `c`, read on first use; `None` past the end or when the read fails.
    fn chunk(&self, c: usize) -> Option<&[u8]> {
        let slot = self.chunks.get(c)?;
        if let Some(b) = slot.get() {
            return Some(b);
        }
        let start = c * CHUNK;
        let n = CHUNK.min(self.len.saturating_sub(start));
        let mut buf = vec![0u8; n];
        match self.source.read_at(start as u64, &mut buf) {
            Ok(()) => {
                let _ = slot.set(buf.into_boxed_slice());
                slot.get().map(|b| &b[..])
            }
            Err(e) => {
                let _ = self.error.set(format!("reading bytes {start:#x}..{:#x} of the hive failed: {e}", start + n));
                None
            }
        }
    }

    /// `len` bytes at file offset `off` when they lie inside one chunk.
    pub(crate) fn get(&self, off: usize, len: usize) -> Option<&[u8]> {
        if len == 0 {
            return (off <= self.len).then_some(&[][..]);
        }
        let within = off % CHUNK;
        if within + len > CHUNK {
            return None;
        }
        slice(self.chunk(off / CHUNK)?, within, len)
    }

    /// The whole file; `None` when a read fails.
    pub(crate) fn read_all(&self) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        out.try_reserve_exact(self.len).ok()?;
        for c in 0..self.chunks.len() {
            out.extend_from_slice(self.chunk(c)?);
        }
        Some(out)
    }
}

/// Where the pages no log changed come from.
#[derive(Debug)]
pub(crate) enum Primary<'a> {
    /// The primary file in memory.
    Slice(&'a [u8]),
    /// The primary file, read on demand.
    Lazy(Lazy<'a>),
}

impl Primary<'_> {
    fn len(&self) -> usize {
        match self {
            Primary::Slice(s) => s.len(),
            Primary::Lazy(l) => l.len(),
        }
    }

    /// `len` bytes at file offset `off`, when the primary holds them (and, read on demand, they lie
    /// in one chunk that could be read).
    fn get(&self, off: usize, len: usize) -> Option<&[u8]> {
        match self {
            Primary::Slice(s) => slice(s, off, len),
            Primary::Lazy(l) => l.get(off, len),
        }
    }
}

/// The hive as a view over the primary and the logs.
#[derive(Debug)]
pub(crate) struct Overlay<'a> {
    primary: Primary<'a>,
    /// The base block as read (after replay: recovered), a copy of [`BASE_BLOCK_SIZE`] bytes.
    base: Vec<u8>,
    /// Length of the file as read: base block and hive bins.
    len: usize,
    /// For each 4 KiB page of the hive bins, the log's copy of it when a log changed it.
    pages: Vec<Option<&'a [u8]>>,
    /// Bins put together from mixed pages, by first page; made when the first cell needs one.
    joined: OnceLock<Vec<OnceLock<Box<[u8]>>>>,
    /// Bytes copied into `joined` so far: at most the file's length, so that crafted overlapping
    /// bins cannot make the copies outgrow the hive.
    joined_bytes: AtomicU64,
}

impl<'a> Overlay<'a> {
    /// An overlay over `primary` (which must hold at least the base block and whole pages of hive
    /// bins, or be grown by none) with the base block to use, the file length, and the latest
    /// logged copy of each changed page (none for a clean hive read on demand).
    pub(crate) fn new(primary: Primary<'a>, base: Vec<u8>, len: usize, pages: Vec<Option<&'a [u8]>>) -> Self {
        Overlay { primary, base, len, pages, joined: OnceLock::new(), joined_bytes: AtomicU64::new(0) }
    }

    /// The base block.
    pub(crate) fn base(&self) -> &[u8] {
        &self.base
    }

    /// Length of the file.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Why a read of the primary failed, when one did.
    pub(crate) fn read_error(&self) -> Option<&str> {
        match &self.primary {
            Primary::Lazy(l) => l.error(),
            Primary::Slice(_) => None,
        }
    }

    /// Page `p` of the hive bins, whole; `None` past the end of the file (or when reading it
    /// failed: see [`Overlay::read_error`]).
    #[inline]
    pub(crate) fn page(&self, p: u32) -> Option<&[u8]> {
        let at = BASE_BLOCK_SIZE + us(p) * PAGE;
        if at + PAGE > self.len {
            return None;
        }
        match self.pages.get(us(p)) {
            Some(Some(logged)) => Some(logged),
            _ if at + PAGE <= self.primary.len() => self.primary.get(at, PAGE),
            _ => Some(&ZERO_PAGE),
        }
    }

    /// `len` bytes at hive-bins offset `off`, which lie inside the bin `[bin_start, bin_end)`.
    pub(crate) fn span(&self, off: u32, len: u32, bin: (u32, u32)) -> Result<Option<&[u8]>, HiveError> {
        if len == 0 {
            return Ok(Some(&[]));
        }
        let first = off / PAGE as u32;
        let last = (u64::from(off) + u64::from(len) - 1) / PAGE as u64;
        let within = us(off) % PAGE;
        if u64::from(first) == last {
            return Ok(self.page(first).and_then(|pg| slice(pg, within, us(len))));
        }
        let clean = (u64::from(first)..=last).all(|p| !matches!(self.pages.get(p as usize), Some(Some(_))));
        let at = BASE_BLOCK_SIZE + us(off);
        if clean && at + us(len) <= self.primary.len() {
            if let Some(s) = self.primary.get(at, us(len)) {
                return Ok(Some(s));
            }
        }
        let (start, end) = bin;
        if off < start || u64::from(off) + u64::from(len) > u64::from(end) {
            return Ok(None);
        }
        let joined = self.joined(start, end)?;
        Ok(joined.and_then(|j| slice(j, us(off - start), us(len))))
    }

    /// The bin `[start, end)` as one buffer, copied from its pages on first use.
    fn joined(&self, start: u32, end: u32) -> Result<Option<&[u8]>, HiveError> {
        let slots = self.joined.get_or_init(|| {
            let n = self.pages.len().max(self.len.saturating_sub(BASE_BLOCK_SIZE) / PAGE);
            let mut v = Vec::new();
            v.resize_with(n, OnceLock::new);
            v
        });
        let Some(slot) = slots.get(us(start) / PAGE) else { return Ok(None) };
        if let Some(b) = slot.get() {
            return Ok(Some(b));
        }
        let size = u64::from(end - start);
        let total = self.joined_bytes.fetch_add(size, Ordering::Relaxed).saturating_add(size);
        if total > self.len as u64 {
            return Err(HiveError::LimitExceeded { limit: "max_hive_size", value: total, max: self.len as u64 });
        }
        let mut buf = Vec::new();
        buf.try_reserve_exact(us(end - start)).map_err(|_| HiveError::LimitExceeded {
            limit: "max_hive_size",
            value: size,
            max: self.len as u64,
        })?;
        for p in start / PAGE as u32..end / PAGE as u32 {
            match self.page(p) {
                Some(pg) => buf.extend_from_slice(pg),
                None => return Ok(None),
            }
        }
        let _ = slot.set(buf.into_boxed_slice());
        Ok(slot.get().map(|b| &b[..]))
    }

    /// The whole file, copied (pages that cannot be read come out as zeros).
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        out.extend_from_slice(&self.base);
        let pages = self.len.saturating_sub(BASE_BLOCK_SIZE) / PAGE;
        for p in 0..pages {
            match u32::try_from(p).ok().and_then(|p| self.page(p)) {
                Some(pg) => out.extend_from_slice(pg),
                None => out.extend_from_slice(&ZERO_PAGE),
            }
        }
        // A primary that ends inside a page (never grown, or the overlay would not be used): its
        // tail as it is.
        let tail = self.len.saturating_sub(out.len());
        if tail > 0 {
            match self.primary.get(out.len(), tail) {
                Some(t) => out.extend_from_slice(t),
                None => out.resize(self.len, 0),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A base block and `n` pages of hive bins, page `i` filled with `i + 1`.
    fn primary(n: usize) -> Vec<u8> {
        let mut v = vec![0xbb; BASE_BLOCK_SIZE];
        for i in 0..n {
            v.extend(std::iter::repeat_n(i as u8 + 1, PAGE));
        }
        v
    }

    fn within(outer: &[u8], inner: &[u8]) -> bool {
        let r = outer.as_ptr_range();
        r.contains(&inner.as_ptr()) && inner.as_ptr_range().end <= r.end
    }

    #[test]
    fn pages_come_from_the_logs_where_logged_and_from_the_primary_elsewhere() {
        let p = primary(4);
        let log = vec![0xaa; PAGE];
        let ov = Overlay::new(Primary::Slice(&p), vec![0xcc; BASE_BLOCK_SIZE], p.len(), vec![None, Some(&log[..]), None, None]);
        assert!(within(&p, ov.page(0).unwrap()));
        assert!(within(&log, ov.page(1).unwrap()));
        assert_eq!(ov.page(3).unwrap(), &[4u8; PAGE][..]);
        assert!(ov.page(4).is_none(), "past the end");
        assert_eq!(ov.base(), &[0xcc; BASE_BLOCK_SIZE][..]);
        // Inside one page: borrowed from wherever the page is.
        let s = ov.span(PAGE as u32 + 8, 16, (0, 4 * PAGE as u32)).unwrap().unwrap();
        assert!(within(&log, s));
        // Across clean pages: borrowed from the primary.
        let s = ov.span(2 * PAGE as u32 + 4000, 200, (2 * PAGE as u32, 4 * PAGE as u32)).unwrap().unwrap();
        assert!(within(&p, s));
        assert_eq!(&s[..96], &[3u8; 96][..]);
        assert_eq!(&s[96..], &[4u8; 104][..]);
        // Across a logged page: read from a copy of the bin.
        let s = ov.span(4000, 200, (0, 2 * PAGE as u32)).unwrap().unwrap();
        assert!(!within(&p, s) && !within(&log, s));
        assert_eq!(&s[..96], &[1u8; 96][..]);
        assert_eq!(&s[96..], &[0xaa; 104][..]);
        // A span outside the bin it is said to lie in is refused.
        assert!(ov.span(4000, 200, (0, PAGE as u32)).unwrap().is_none());
        assert_eq!(ov.span(123, 0, (0, PAGE as u32)).unwrap(), Some(&[][..]));
    }

    #[test]
    fn a_grown_hive_reads_logged_pages_and_zeros_past_the_primary() {
        let p = primary(2);
        let log = vec![0xaa; PAGE];
        let len = BASE_BLOCK_SIZE + 4 * PAGE;
        let ov = Overlay::new(Primary::Slice(&p), vec![0xcc; BASE_BLOCK_SIZE], len, vec![None, None, Some(&log[..]), None]);
        assert!(within(&log, ov.page(2).unwrap()));
        assert_eq!(ov.page(3).unwrap(), &[0u8; PAGE][..]);
        let whole = ov.to_vec();
        assert_eq!(whole.len(), len);
        assert_eq!(&whole[..BASE_BLOCK_SIZE], &[0xcc; BASE_BLOCK_SIZE][..]);
        assert_eq!(&whole[BASE_BLOCK_SIZE..BASE_BLOCK_SIZE + 2 * PAGE], &p[BASE_BLOCK_SIZE..]);
        assert_eq!(&whole[BASE_BLOCK_SIZE + 2 * PAGE..BASE_BLOCK_SIZE + 3 * PAGE], &log[..]);
        assert!(whole[BASE_BLOCK_SIZE + 3 * PAGE..].iter().all(|&b| b == 0));
        // A cell from the primary's last page into the logged one.
        let s = ov.span(2 * PAGE as u32 - 8, 16, (0, 4 * PAGE as u32)).unwrap().unwrap();
        assert_eq!(s, &[2, 2, 2, 2, 2, 2, 2, 2, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa][..]);
    }

    #[test]
    fn copies_of_overlapping_bins_cannot_outgrow_the_hive() {
        // Crafted bins that all claim to run to the end: each would be copied whole. The copies
        // stop at the hive's length, with an error naming the limit.
        let p = primary(3);
        let log = vec![0xaa; PAGE];
        let ov = Overlay::new(Primary::Slice(&p), vec![0; BASE_BLOCK_SIZE], p.len(), vec![None, None, Some(&log[..])]);
        let end = 3 * PAGE as u32;
        assert!(ov.span(8, 3 * PAGE as u32 - 16, (0, end)).unwrap().is_some());
        // Asking again reuses the copy.
        assert!(ov.span(16, 3 * PAGE as u32 - 24, (0, end)).unwrap().is_some());
        let err = ov.span(PAGE as u32 + 8, 2 * PAGE as u32 - 16, (PAGE as u32, end)).unwrap_err();
        assert!(matches!(err, HiveError::LimitExceeded { limit: "max_hive_size", .. }), "{err}");
    }
}
