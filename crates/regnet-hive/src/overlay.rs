//! A recovered hive read without copying it: the primary's pages, except the pages the logs
//! changed, which are read straight from the logs.
//!
//! Replaying a dirty hive used to mean copying the primary and writing every logged page into the
//! copy. A network report reads a few dozen keys, so most of that work was wasted: here replay
//! only decides, for each page of the hive bins, which bytes are its latest version, and the
//! reader picks them up as it goes. A cell that spans several pages of mixed origin (a bin larger
//! than one page, partly changed by the logs) is read from a copy of its bin, made on first use.

use crate::base_block::BASE_BLOCK_SIZE;
use crate::bytes::{slice, us};
use crate::error::HiveError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Size of the pages the logs replace.
pub(crate) const PAGE: usize = 4096;

/// What stands in for hive bins pages that neither the primary nor a log holds (a hive that grew).
static ZERO_PAGE: [u8; PAGE] = [0; PAGE];

/// The recovered hive as a view over the primary and the logs.
#[derive(Debug)]
pub(crate) struct Overlay<'a> {
    /// The recovered base block (a copy, [`BASE_BLOCK_SIZE`] bytes).
    base: Vec<u8>,
    /// Length of the recovered file: base block and hive bins.
    len: usize,
    /// For each 4 KiB page of the hive bins, the log's copy of it when a log changed it.
    pages: Vec<Option<&'a [u8]>>,
    /// Bins put together from mixed pages, by first page; made when the first cell needs one.
    joined: OnceLock<Vec<OnceLock<Box<[u8]>>>>,
    /// Bytes copied into `joined` so far: at most the recovered file's length, so that crafted
    /// overlapping bins cannot make the copies outgrow the hive.
    joined_bytes: AtomicU64,
}

impl<'a> Overlay<'a> {
    /// An overlay over `primary` (which must hold at least the base block and whole pages of hive
    /// bins, or be grown by none) with the recovered base block, the recovered file length, and
    /// the latest logged copy of each changed page.
    pub(crate) fn new(base: Vec<u8>, len: usize, pages: Vec<Option<&'a [u8]>>) -> Self {
        Overlay { base, len, pages, joined: OnceLock::new(), joined_bytes: AtomicU64::new(0) }
    }

    /// The recovered base block.
    pub(crate) fn base(&self) -> &[u8] {
        &self.base
    }

    /// Length of the recovered file.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Page `p` of the hive bins, whole, or `None` past the end of the recovered file.
    #[inline]
    pub(crate) fn page<'s>(&'s self, primary: &'s [u8], p: u32) -> Option<&'s [u8]> {
        let at = BASE_BLOCK_SIZE + us(p) * PAGE;
        if at + PAGE > self.len {
            return None;
        }
        match self.pages.get(us(p)) {
            Some(Some(logged)) => Some(logged),
            _ => Some(slice(primary, at, PAGE).unwrap_or(&ZERO_PAGE)),
        }
    }

    /// `len` bytes at hive-bins offset `off`, which lie inside the bin `[bin_start, bin_end)`.
    pub(crate) fn span<'s>(
        &'s self,
        primary: &'s [u8],
        off: u32,
        len: u32,
        bin: (u32, u32),
    ) -> Result<Option<&'s [u8]>, HiveError> {
        if len == 0 {
            return Ok(Some(&[]));
        }
        let first = off / PAGE as u32;
        let last = (u64::from(off) + u64::from(len) - 1) / PAGE as u64;
        let within = us(off) % PAGE;
        if u64::from(first) == last {
            return Ok(self.page(primary, first).and_then(|pg| slice(pg, within, us(len))));
        }
        let clean = (u64::from(first)..=last).all(|p| !matches!(self.pages.get(p as usize), Some(Some(_))));
        let at = BASE_BLOCK_SIZE + us(off);
        if clean && at + us(len) <= primary.len() {
            return Ok(slice(primary, at, us(len)));
        }
        let (start, end) = bin;
        if off < start || u64::from(off) + u64::from(len) > u64::from(end) {
            return Ok(None);
        }
        let joined = self.joined(primary, start, end)?;
        Ok(joined.and_then(|j| slice(j, us(off - start), us(len))))
    }

    /// The bin `[start, end)` as one buffer, copied from its pages on first use.
    fn joined<'s>(&'s self, primary: &'s [u8], start: u32, end: u32) -> Result<Option<&'s [u8]>, HiveError> {
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
            match self.page(primary, p) {
                Some(pg) => buf.extend_from_slice(pg),
                None => return Ok(None),
            }
        }
        let _ = slot.set(buf.into_boxed_slice());
        Ok(slot.get().map(|b| &b[..]))
    }

    /// The whole recovered file, copied.
    pub(crate) fn to_vec(&self, primary: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        out.extend_from_slice(&self.base);
        let pages = self.len.saturating_sub(BASE_BLOCK_SIZE) / PAGE;
        for p in 0..pages {
            if let Some(pg) = u32::try_from(p).ok().and_then(|p| self.page(primary, p)) {
                out.extend_from_slice(pg);
            }
        }
        // A primary that ends inside a page (never grown, or the overlay would not be used): its
        // tail as it is.
        if let Some(tail) = primary.get(out.len()..self.len) {
            out.extend_from_slice(tail);
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
        let ov = Overlay::new(vec![0xcc; BASE_BLOCK_SIZE], p.len(), vec![None, Some(&log[..]), None, None]);
        assert!(within(&p, ov.page(&p, 0).unwrap()));
        assert!(within(&log, ov.page(&p, 1).unwrap()));
        assert_eq!(ov.page(&p, 3).unwrap(), &[4u8; PAGE][..]);
        assert!(ov.page(&p, 4).is_none(), "past the end");
        assert_eq!(ov.base(), &[0xcc; BASE_BLOCK_SIZE][..]);
        // Inside one page: borrowed from wherever the page is.
        let s = ov.span(&p, PAGE as u32 + 8, 16, (0, 4 * PAGE as u32)).unwrap().unwrap();
        assert!(within(&log, s));
        // Across clean pages: borrowed from the primary.
        let s = ov.span(&p, 2 * PAGE as u32 + 4000, 200, (2 * PAGE as u32, 4 * PAGE as u32)).unwrap().unwrap();
        assert!(within(&p, s));
        assert_eq!(&s[..96], &[3u8; 96][..]);
        assert_eq!(&s[96..], &[4u8; 104][..]);
        // Across a logged page: read from a copy of the bin.
        let s = ov.span(&p, 4000, 200, (0, 2 * PAGE as u32)).unwrap().unwrap();
        assert!(!within(&p, s) && !within(&log, s));
        assert_eq!(&s[..96], &[1u8; 96][..]);
        assert_eq!(&s[96..], &[0xaa; 104][..]);
        // A span outside the bin it is said to lie in is refused.
        assert!(ov.span(&p, 4000, 200, (0, PAGE as u32)).unwrap().is_none());
        assert_eq!(ov.span(&p, 123, 0, (0, PAGE as u32)).unwrap(), Some(&[][..]));
    }

    #[test]
    fn a_grown_hive_reads_logged_pages_and_zeros_past_the_primary() {
        let p = primary(2);
        let log = vec![0xaa; PAGE];
        let len = BASE_BLOCK_SIZE + 4 * PAGE;
        let ov = Overlay::new(vec![0xcc; BASE_BLOCK_SIZE], len, vec![None, None, Some(&log[..]), None]);
        assert!(within(&log, ov.page(&p, 2).unwrap()));
        assert_eq!(ov.page(&p, 3).unwrap(), &[0u8; PAGE][..]);
        let whole = ov.to_vec(&p);
        assert_eq!(whole.len(), len);
        assert_eq!(&whole[..BASE_BLOCK_SIZE], &[0xcc; BASE_BLOCK_SIZE][..]);
        assert_eq!(&whole[BASE_BLOCK_SIZE..BASE_BLOCK_SIZE + 2 * PAGE], &p[BASE_BLOCK_SIZE..]);
        assert_eq!(&whole[BASE_BLOCK_SIZE + 2 * PAGE..BASE_BLOCK_SIZE + 3 * PAGE], &log[..]);
        assert!(whole[BASE_BLOCK_SIZE + 3 * PAGE..].iter().all(|&b| b == 0));
        // A cell from the primary's last page into the logged one.
        let s = ov.span(&p, 2 * PAGE as u32 - 8, 16, (0, 4 * PAGE as u32)).unwrap().unwrap();
        assert_eq!(s, &[2, 2, 2, 2, 2, 2, 2, 2, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa][..]);
    }

    #[test]
    fn copies_of_overlapping_bins_cannot_outgrow_the_hive() {
        // Crafted bins that all claim to run to the end: each would be copied whole. The copies
        // stop at the hive's length, with an error naming the limit.
        let p = primary(3);
        let log = vec![0xaa; PAGE];
        let ov = Overlay::new(vec![0; BASE_BLOCK_SIZE], p.len(), vec![None, None, Some(&log[..])]);
        let end = 3 * PAGE as u32;
        assert!(ov.span(&p, 8, 3 * PAGE as u32 - 16, (0, end)).unwrap().is_some());
        // Asking again reuses the copy.
        assert!(ov.span(&p, 16, 3 * PAGE as u32 - 24, (0, end)).unwrap().is_some());
        let err = ov.span(&p, PAGE as u32 + 8, 2 * PAGE as u32 - 16, (PAGE as u32, end)).unwrap_err();
        assert!(matches!(err, HiveError::LimitExceeded { limit: "max_hive_size", .. }), "{err}");
    }
}
