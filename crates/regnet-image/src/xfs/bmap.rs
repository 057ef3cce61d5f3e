//! Block maps: from an inode's data fork to the list of its extents.
//!
//! An extent record is 128 bits, big-endian (`xfs_bmbt_rec` in `xfs_format.h`): bit 127 flags an
//! unwritten (preallocated, reads as zeros) extent, bits 126–73 the logical block (54 bits), bits
//! 72–21 the file system block (52 bits), bits 20–0 the length in blocks (21 bits).
//!
//! In the EXTENTS format the records sit in the fork. In the BTREE format the fork holds the root
//! (`xfs_bmdr_block`: level @0, numrecs @2, then `maxrecs` keys of 8 bytes and `maxrecs` pointers
//! of 8 bytes, maxrecs = (fork size − 4) / 16), and the tree's blocks are long-form B+tree blocks:
//! magic `BMAP` (v4, 24-byte header) or `BMA3` (v5, 72-byte header), level @4, numrecs @6; a leaf
//! holds records after the header, a node `maxrecs` keys then pointers, maxrecs = (block size −
//! header) / 16.
//!
//! Bounded: each child's level must be its parent's minus one (so the depth is at most the root's
//! level, itself capped at [`MAX_LEVEL`]), a visited set refuses a block reached twice (a cycle or
//! a shared subtree), and blocks and extents together are capped.

use super::be::{u16_at, u32_at, u64_at};
use super::superblock::Geometry;
use super::Disk;
use crate::error::{ImageError, Result};
use std::collections::HashSet;

/// Deepest B+tree accepted (XFS's own bound for block maps is 9 levels).
pub(crate) const MAX_LEVEL: u16 = 9;
const BMAP_MAGIC: u32 = 0x424d_4150;
const BMA3_MAGIC: u32 = 0x424d_4133;

/// One mapping of file blocks to volume blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Extent {
    /// First logical block in the file.
    pub(crate) off: u64,
    /// First file system block (AG-encoded).
    pub(crate) start: u64,
    /// Length in blocks (at least 1).
    pub(crate) count: u64,
    /// Preallocated, reads as zeros.
    pub(crate) unwritten: bool,
}

impl Extent {
    /// Decodes one 16-byte record.
    pub(crate) fn decode(rec: &[u8]) -> Option<Extent> {
        let l0 = u64_at(rec, 0)?;
        let l1 = u64_at(rec, 8)?;
        Some(Extent {
            unwritten: l0 >> 63 != 0,
            off: (l0 & ((1u64 << 63) - 1)) >> 9,
            start: ((l0 & 0x1ff) << 43) | (l1 >> 21),
            count: l1 & 0x1f_ffff,
        })
    }

    /// One past its last logical block.
    pub(crate) fn end(&self) -> u64 {
        self.off.saturating_add(self.count)
    }
}

fn corrupt(what: &'static str, offset: u64, reason: impl Into<String>) -> ImageError {
    ImageError::Corrupt { what, offset, reason: reason.into() }
}

/// The extents of a fork in EXTENTS format (`n` records), checked, sorted and not overlapping.
pub(crate) fn from_records(geo: &Geometry, fork: &[u8], n: u64, max: u64, at: u64) -> Result<Vec<Extent>> {
    ImageLimits::check("max_table_bytes", n.saturating_mul(EXTENT_COST), max.saturating_mul(EXTENT_COST))?;
    let fits = (fork.len() / 16) as u64;
    if n > fits {
        return Err(ImageError::BadField {
            what: "XFS inode extent count",
            offset: at,
            value: n,
            expected: "no more extent records than the data fork holds",
        });
    }
    let mut out = Vec::new();
    for rec in fork.chunks_exact(16).take(usize::try_from(n).unwrap_or(usize::MAX)) {
        push(geo, &mut out, rec, at, max)?;
    }
    finish(out, at)
}

/// Bytes of memory one extent costs, for [`ImageLimits::max_table_bytes`].
pub(crate) const EXTENT_COST: u64 = 32;
use crate::limits::ImageLimits;

fn push(geo: &Geometry, out: &mut Vec<Extent>, rec: &[u8], at: u64, max: u64) -> Result<()> {
    let e = Extent::decode(rec).ok_or(ImageError::Truncated {
        what: "XFS extent record",
        offset: at,
        needed: 16,
        available: 0,
    })?;
    geo.check_run(e.start, e.count, "XFS extent start block", at)?;
    if e.off.checked_add(e.count).is_none_or(|end| end > 1u64 << 54) {
        return Err(ImageError::BadField {
            what: "XFS extent logical block",
            offset: at,
            value: e.off,
            expected: "an extent inside the 2^54-block file space",
        });
    }
    if out.len() as u64 >= max {
        return Err(ImageError::LimitExceeded {
            limit: "max_table_bytes",
            value: (out.len() as u64).saturating_add(1).saturating_mul(EXTENT_COST),
            max: max.saturating_mul(EXTENT_COST),
        });
    }
    out.try_reserve(1).map_err(|_| corrupt("XFS extent list", at, "out of memory"))?;
    out.push(e);
    Ok(())
}

fn finish(mut out: Vec<Extent>, at: u64) -> Result<Vec<Extent>> {
    out.sort_by_key(|e| e.off);
    for pair in out.windows(2) {
        if let [a, b] = pair {
            if a.end() > b.off {
                return Err(corrupt(
                    "XFS block map",
                    at,
                    format!("extents at logical blocks {} and {} overlap", a.off, b.off),
                ));
            }
        }
    }
    Ok(out)
}

/// The extents of a fork in BTREE format: the root in the fork, the rest read from the volume.
pub(crate) fn from_btree(disk: &mut Disk, geo: &Geometry, fork: &[u8], max: u64, at: u64) -> Result<Vec<Extent>> {
    let level =
        u16_at(fork, 0).ok_or(ImageError::Truncated { what: "XFS bmbt root", offset: at, needed: 4, available: 0 })?;
    let numrecs = u64::from(u16_at(fork, 2).unwrap_or(0));
    if level == 0 || level > MAX_LEVEL {
        return Err(ImageError::BadField {
            what: "XFS bmbt root level",
            offset: at,
            value: level.into(),
            expected: "a level from 1 to 9",
        });
    }
    let maxrecs = (fork.len().saturating_sub(4) / 16) as u64;
    if numrecs == 0 || numrecs > maxrecs {
        return Err(ImageError::BadField {
            what: "XFS bmbt root record count",
            offset: at,
            value: numrecs,
            expected: "from 1 to what the fork holds",
        });
    }
    let ptrs = maxrecs.saturating_mul(8).saturating_add(4);
    // (block, its expected level), walked depth-first with an explicit stack.
    let mut stack: Vec<(u64, u16)> = Vec::new();
    for i in (0..numrecs).rev() {
        let p = u64_at(fork, usize::try_from(ptrs.saturating_add(i.saturating_mul(8))).unwrap_or(usize::MAX))
            .ok_or(ImageError::Truncated { what: "XFS bmbt root pointer", offset: at, needed: 8, available: 0 })?;
        stack.push((p, level.saturating_sub(1)));
    }
    let hdr: usize = if geo.v5 { 72 } else { 24 };
    let want_magic = if geo.v5 { BMA3_MAGIC } else { BMAP_MAGIC };
    let bs = usize::try_from(geo.blocksize).unwrap_or(usize::MAX);
    let mut block = vec![0u8; bs];
    let mut seen: HashSet<u64> = HashSet::new();
    let mut out = Vec::new();
    while let Some((fsbno, want_level)) = stack.pop() {
        let off = geo.fsb_offset(fsbno, "XFS bmbt block pointer", at)?;
        if !seen.insert(fsbno) {
            return Err(corrupt("XFS bmbt block", off, "reached twice (a cycle or a shared subtree)"));
        }
        if seen.len() as u64 > max {
            return Err(ImageError::LimitExceeded {
                limit: "max_table_bytes",
                value: (seen.len() as u64).saturating_mul(EXTENT_COST),
                max: max.saturating_mul(EXTENT_COST),
            });
        }
        disk.read("XFS bmbt block", off, &mut block)?;
        let magic = u32_at(&block, 0).unwrap_or(0);
        if magic != want_magic {
            return Err(ImageError::BadSignature {
                what: "XFS bmbt block",
                offset: off,
                expected: if geo.v5 { "BMA3" } else { "BMAP" },
                found: block.get(..4).unwrap_or_default().to_vec(),
            });
        }
        let lvl = u16_at(&block, 4).unwrap_or(u16::MAX);
        if lvl != want_level {
            return Err(ImageError::BadField {
                what: "XFS bmbt block level",
                offset: off.saturating_add(4),
                value: lvl.into(),
                expected: "one less than its parent's",
            });
        }
        let n = usize::from(u16_at(&block, 6).unwrap_or(0));
        let body = block.get(hdr..).unwrap_or_default();
        let cap = body.len() / 16;
        if n == 0 || n > cap {
            return Err(ImageError::BadField {
                what: "XFS bmbt block record count",
                offset: off.saturating_add(6),
                value: n as u64,
                expected: "from 1 to what the block holds",
            });
        }
        if lvl == 0 {
            for rec in body.chunks_exact(16).take(n) {
                push(geo, &mut out, rec, off, max)?;
            }
        } else {
            let ptr_base = cap.saturating_mul(8);
            for i in (0..n).rev() {
                let p = u64_at(body, ptr_base.saturating_add(i.saturating_mul(8))).unwrap_or(0);
                stack.push((p, lvl.saturating_sub(1)));
            }
        }
    }
    finish(out, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(unwritten: bool, off: u64, start: u64, count: u64) -> [u8; 16] {
        let l0 = (u64::from(unwritten) << 63) | (off << 9) | (start >> 43);
        let l1 = (start << 21) | count;
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&l0.to_be_bytes());
        b[8..].copy_from_slice(&l1.to_be_bytes());
        b
    }

    #[test]
    fn records_decode_bit_fields() {
        let e = Extent::decode(&rec(true, (1 << 54) - 1, (1 << 52) - 1, 0x1f_ffff)).unwrap();
        assert_eq!(e, Extent { unwritten: true, off: (1 << 54) - 1, start: (1 << 52) - 1, count: 0x1f_ffff });
        let e = Extent::decode(&rec(false, 7, 0x0012_3456_789a, 3)).unwrap();
        assert_eq!(e, Extent { unwritten: false, off: 7, start: 0x0012_3456_789a, count: 3 });
        assert_eq!(Extent::decode(&[0u8; 15]), None);
    }
}
