//! Directory entries: short form (in the inode) and data blocks (block, leaf and node forms).
//!
//! Short form (`xfs_dir2_sf_hdr` in `xfs_da_format.h`): count @0, i8count @1, parent inode (4
//! bytes, or 8 when i8count ≠ 0) @2; then per entry namelen (1), offset (2), name, the file type
//! (1, when the ftype feature is on), inode number (4 or 8).
//!
//! Data blocks live in the first 32 GiB of the directory's logical space (leaf and free index
//! blocks sit above it and are skipped). A block starts with a header: v4 `XD2B` (block form) or
//! `XD2D` (data block of leaf/node form), 16 bytes with the best-free table; v5 `XDB3` / `XDD3`,
//! 64 bytes (crc, blkno, lsn, uuid, owner, best-free, pad). Then entries: inode number (8), namelen
//! (1), name, file type (1, with ftype), a 2-byte tag, padded to 8 bytes; or unused spans (tag
//! 0xFFFF @0, length @2, a multiple of 8). A block-form block ends with its leaf: `count` 8-byte
//! hash entries then `count` and `stale` (4 bytes each), so entries stop before them.

use super::be::{u16_at, u32_at, u64_at, u8_at};
use super::superblock::Geometry;
use crate::error::{ImageError, Result};

/// Logical byte offset where a directory's leaf blocks start: data blocks lie below it.
pub(crate) const LEAF_OFFSET: u64 = 32 << 30;

const XD2B: u32 = 0x5844_3242;
const XD2D: u32 = 0x5844_3244;
const XDB3: u32 = 0x5844_4233;
const XDD3: u32 = 0x5844_4433;

/// Called per entry with (name, inode number, file type byte); returns true to stop.
pub(crate) type Visit<'a> = dyn FnMut(&[u8], u64, u8) -> Result<bool> + 'a;

fn trunc(what: &'static str, offset: u64) -> ImageError {
    ImageError::Corrupt { what, offset, reason: "runs past its container".into() }
}

/// Walks a short-form directory held in `fork` (at byte `at` of the volume).
pub(crate) fn short_form(geo: &Geometry, fork: &[u8], at: u64, visit: &mut Visit<'_>) -> Result<bool> {
    let count = u8_at(fork, 0).ok_or_else(|| trunc("XFS short-form directory", at))?;
    let i8 = u8_at(fork, 1).ok_or_else(|| trunc("XFS short-form directory", at))? != 0;
    let ino_len: usize = if i8 { 8 } else { 4 };
    let ft_len = usize::from(geo.ftype);
    let mut pos = ino_len.saturating_add(2);
    for _ in 0..count {
        let here = at.saturating_add(pos as u64);
        let namelen = usize::from(u8_at(fork, pos).ok_or_else(|| trunc("XFS short-form entry", here))?);
        if namelen == 0 {
            return Err(ImageError::BadField {
                what: "XFS short-form entry name length",
                offset: here,
                value: 0,
                expected: "a name of at least one byte",
            });
        }
        let name_at = pos.saturating_add(3);
        let name_end = name_at.saturating_add(namelen);
        let name = fork.get(name_at..name_end).ok_or_else(|| trunc("XFS short-form entry", here))?;
        let ftype =
            if geo.ftype { u8_at(fork, name_end).ok_or_else(|| trunc("XFS short-form entry", here))? } else { 0 };
        let ino_at = name_end.saturating_add(ft_len);
        let ino = if i8 { u64_at(fork, ino_at) } else { u32_at(fork, ino_at).map(u64::from) }
            .ok_or_else(|| trunc("XFS short-form entry", here))?;
        if visit(name, ino, ftype)? {
            return Ok(true);
        }
        pos = ino_at.saturating_add(ino_len);
    }
    Ok(false)
}

/// Walks the entries of one directory data block (`block`, read from byte `at`).
pub(crate) fn data_block(geo: &Geometry, block: &[u8], at: u64, visit: &mut Visit<'_>) -> Result<bool> {
    let magic = u32_at(block, 0).ok_or_else(|| trunc("XFS directory block", at))?;
    let (hdr, block_form) = match (geo.v5, magic) {
        (false, XD2B) => (16usize, true),
        (false, XD2D) => (16, false),
        (true, XDB3) => (64, true),
        (true, XDD3) => (64, false),
        _ => {
            return Err(ImageError::BadSignature {
                what: "XFS directory data block",
                offset: at,
                expected: if geo.v5 { "XDB3 or XDD3" } else { "XD2B or XD2D" },
                found: block.get(..4).unwrap_or_default().to_vec(),
            })
        }
    };
    let len = block.len();
    let end = if block_form {
        let tail = len.checked_sub(8).ok_or_else(|| trunc("XFS directory block tail", at))?;
        let count = u32_at(block, tail).ok_or_else(|| trunc("XFS directory block tail", at))?;
        usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(8))
            .and_then(|b| tail.checked_sub(b))
            .filter(|&e| e >= hdr)
            .ok_or(ImageError::BadField {
                what: "XFS directory block leaf count",
                offset: at.saturating_add(tail as u64),
                value: count.into(),
                expected: "a leaf that fits in the block after its header",
            })?
    } else {
        len
    };
    let ft_len = usize::from(geo.ftype);
    let mut pos = hdr;
    while pos < end {
        let here = at.saturating_add(pos as u64);
        let tag = u16_at(block, pos).ok_or_else(|| trunc("XFS directory entry", here))?;
        let size = if tag == 0xffff {
            let n =
                usize::from(u16_at(block, pos.saturating_add(2)).ok_or_else(|| trunc("XFS directory entry", here))?);
            if n < 8 || n % 8 != 0 {
                return Err(ImageError::BadField {
                    what: "XFS directory unused span length",
                    offset: here,
                    value: n as u64,
                    expected: "a non-zero multiple of 8",
                });
            }
            n
        } else {
            let ino = u64_at(block, pos).ok_or_else(|| trunc("XFS directory entry", here))?;
            let namelen =
                usize::from(u8_at(block, pos.saturating_add(8)).ok_or_else(|| trunc("XFS directory entry", here))?);
            if namelen == 0 {
                return Err(ImageError::BadField {
                    what: "XFS directory entry name length",
                    offset: here,
                    value: 0,
                    expected: "a name of at least one byte",
                });
            }
            let name_at = pos.saturating_add(9);
            let name_end = name_at.saturating_add(namelen);
            let name = block.get(name_at..name_end.min(end)).filter(|n| n.len() == namelen);
            let name = name.ok_or_else(|| trunc("XFS directory entry", here))?;
            let ftype = if geo.ftype { u8_at(block, name_end).unwrap_or(0) } else { 0 };
            let size = (9usize.saturating_add(namelen).saturating_add(ft_len).saturating_add(2)).next_multiple_of(8);
            if name != b"." && name != b".." && visit(name, ino, ftype)? {
                return Ok(true);
            }
            size
        };
        pos = pos.saturating_add(size);
        if pos > end {
            return Err(trunc("XFS directory entry", here));
        }
    }
    Ok(false)
}
