//! Shared by the compressed and table-driven containers (qcow2, VMDK): a small LRU cache of
//! decoded units (grain and L2 tables, inflated clusters and grains), the image-wide inflation
//! budget, and output-bounded inflation.

use crate::error::{ImageError, Result};
use crate::limits::ImageLimits;
use flate2::{Decompress, FlushDecompress, Status};
use std::collections::hash_map::Entry;
use std::collections::HashMap;

/// A least-recently-used cache of decoded units (tables, inflated clusters) keyed by their
/// file offset. Capacities are small (≤ 1024), so eviction by a scan is cheap next to the
/// read and inflation it saves.
pub(crate) struct LruCache<V> {
    map: HashMap<u64, (u64, V)>,
    capacity: usize,
    clock: u64,
}

impl<V> LruCache<V> {
    /// A cache of at most `capacity` (≥ 1) units.
    pub(crate) fn new(capacity: usize) -> Self {
        LruCache { map: HashMap::new(), capacity: capacity.max(1), clock: 0 }
    }

    /// The unit at `key`, made by `make` on a miss (evicting the least recently used one).
    pub(crate) fn get_or_try_insert_with(&mut self, key: u64, make: impl FnOnce() -> Result<V>) -> Result<&V> {
        self.clock = self.clock.wrapping_add(1);
        let now = self.clock;
        if !self.map.contains_key(&key) && self.map.len() >= self.capacity {
            let oldest = self.map.iter().min_by_key(|(_, (used, _))| *used).map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.map.remove(&k);
            }
        }
        match self.map.entry(key) {
            Entry::Occupied(e) => {
                let slot = e.into_mut();
                slot.0 = now;
                Ok(&slot.1)
            }
            Entry::Vacant(e) => Ok(&e.insert((now, make()?)).1),
        }
    }
}

/// The image's running total of inflated bytes, against `max_inflated_bytes`.
pub(crate) struct InflateBudget {
    used: u64,
    max: u64,
}

impl InflateBudget {
    pub(crate) fn new(max: u64) -> Self {
        InflateBudget { used: 0, max }
    }

    /// Charges one unit before it is inflated.
    pub(crate) fn charge(&mut self, bytes: u64) -> Result<()> {
        let total = self.used.saturating_add(bytes);
        ImageLimits::check("max_inflated_bytes", total, self.max)?;
        self.used = total;
        Ok(())
    }
}

/// A zeroed buffer of `len` bytes, refused (as `limit`) if it cannot be allocated.
pub(crate) fn zeroed(len: u64, limit: &'static str, max: u64) -> Result<Vec<u8>> {
    let err = || ImageError::LimitExceeded { limit, value: len, max };
    let n = usize::try_from(len).map_err(|_| err())?;
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| err())?;
    v.resize(n, 0);
    Ok(v)
}

/// Inflates `input` (a zlib stream if `zlib`, raw deflate otherwise) into `out` and returns the
/// bytes produced. Output never grows past `out`: a stream that would produce more than
/// `out.len()` bytes is an error. Trailing input after the end of the stream is ignored (the
/// next unit may share the last sector).
pub(crate) fn inflate_into(input: &[u8], out: &mut [u8], zlib: bool, what: &'static str, offset: u64) -> Result<usize> {
    let bad = |reason: String| ImageError::Corrupt { what, offset, reason };
    let pos = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let mut d = Decompress::new(zlib);
    let mut ended = false;
    loop {
        let (i, o) = (d.total_in(), d.total_out());
        let (Some(inp), Some(outp)) = (input.get(pos(i)..), out.get_mut(pos(o)..)) else { break };
        if outp.is_empty() {
            break;
        }
        let status =
            d.decompress(inp, outp, FlushDecompress::None).map_err(|e| bad(format!("bad compressed data: {e}")))?;
        if status == Status::StreamEnd {
            ended = true;
            break;
        }
        if d.total_in() == i && d.total_out() == o {
            // No progress: the input ran out before the stream ended.
            break;
        }
    }
    let produced = pos(d.total_out());
    if !ended && produced == out.len() {
        // Full: one more byte out of the stream means it inflates past the unit.
        let mut extra = [0u8; 1];
        if let Some(inp) = input.get(pos(d.total_in())..) {
            let before = d.total_out();
            let more = d.decompress(inp, &mut extra, FlushDecompress::None).is_ok() && d.total_out() > before;
            if more {
                return Err(bad(format!("inflates past its {}-byte unit", out.len())));
            }
        }
    }
    Ok(produced)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{DeflateEncoder, ZlibEncoder};
    use flate2::Compression;
    use std::io::Write;

    fn deflate(data: &[u8], zlib: bool) -> Vec<u8> {
        if zlib {
            let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        } else {
            let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
    }

    #[test]
    fn inflate_exact_short_and_over() {
        let data: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 251) as u8).collect();
        for zlib in [false, true] {
            let c = deflate(&data, zlib);
            let mut out = vec![0u8; 8192];
            assert_eq!(inflate_into(&c, &mut out, zlib, "t", 0).unwrap(), 8192);
            assert_eq!(out, data);
            // Trailing garbage after the stream end is ignored.
            let mut padded = c.clone();
            padded.extend_from_slice(&[0xff; 100]);
            assert_eq!(inflate_into(&padded, &mut out, zlib, "t", 0).unwrap(), 8192);
            // Short output is reported as a count.
            let mut big = vec![0u8; 9000];
            assert_eq!(inflate_into(&c, &mut big, zlib, "t", 0).unwrap(), 8192);
            // More output than the unit is an error.
            let mut small = vec![0u8; 4096];
            assert!(matches!(inflate_into(&c, &mut small, zlib, "t", 0), Err(ImageError::Corrupt { .. })));
            // Garbage is an error, not a panic.
            assert!(inflate_into(&[0xff; 64], &mut out, zlib, "t", 0).is_err());
            // A truncated stream yields what it holds.
            let cut = &c[..c.len() / 2];
            let _ = inflate_into(cut, &mut out, zlib, "t", 0);
        }
    }

    #[test]
    fn lru_evicts_least_recent() {
        let mut c = LruCache::new(2);
        let mut made = 0;
        for k in [1u64, 2, 1, 3, 1, 2] {
            c.get_or_try_insert_with(k, || {
                made += 1;
                Ok(k)
            })
            .unwrap();
        }
        // 1, 2 made; 1 hit; 3 evicts 2; 1 hit; 2 evicts 3.
        assert_eq!(made, 4);
        assert!(c.get_or_try_insert_with(9, || Err(ImageError::Unsupported("x".into()))).is_err());
    }

    #[test]
    fn budget() {
        let mut b = InflateBudget::new(10);
        b.charge(6).unwrap();
        assert!(matches!(b.charge(6), Err(ImageError::LimitExceeded { limit: "max_inflated_bytes", .. })));
    }
}
