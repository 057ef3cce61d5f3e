//! The ext3/ext4 journal (JBD2), replayed in memory: which file-system blocks the committed
//! transactions of a journal that needs recovery hold newer copies of. Nothing is written; reads
//! of those blocks are served from the journal. Layout: the kernel's
//! `Documentation/filesystems/ext4/journal.rst`. All journal fields are big-endian.

use crate::error::{ImageError, Result};
use std::collections::BTreeMap;

const MAGIC: u32 = 0xC03B_3998;
const DESCRIPTOR: u32 = 1;
const COMMIT: u32 = 2;
const SUPERBLOCK_V1: u32 = 3;
const SUPERBLOCK_V2: u32 = 4;
const REVOKE: u32 = 5;

const INCOMPAT_REVOKE: u32 = 0x1;
const INCOMPAT_64BIT: u32 = 0x2;
const INCOMPAT_ASYNC_COMMIT: u32 = 0x4;
const INCOMPAT_CSUM_V2: u32 = 0x8;
const INCOMPAT_CSUM_V3: u32 = 0x10;
const INCOMPAT_KNOWN: u32 =
    INCOMPAT_REVOKE | INCOMPAT_64BIT | INCOMPAT_ASYNC_COMMIT | INCOMPAT_CSUM_V2 | INCOMPAT_CSUM_V3;

const TAG_ESCAPE: u32 = 1;
const TAG_SAME_UUID: u32 = 2;
const TAG_LAST: u32 = 8;

fn be16(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(off..off.checked_add(2)?)?.try_into().ok()?))
}

fn be32(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(off..off.checked_add(4)?)?.try_into().ok()?))
}

/// Where the newest committed copy of a file-system block is in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Copy {
    /// Logical block of the journal (inode 8) holding it.
    pub journal_block: u64,
    /// Its first 4 bytes were escaped (they read as the journal magic in the original).
    pub escaped: bool,
    /// The transaction it was committed in.
    pub sequence: u32,
}

/// The result of a replay: newest copies by file-system block, and how many transactions.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    pub copies: BTreeMap<u64, Copy>,
    pub transactions: u32,
}

/// The journal's geometry, from its superblock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    /// First block of the log area (`s_first`).
    first: u64,
    /// Where the log starts (`s_start`).
    start: u64,
    /// The first transaction's sequence number (`s_sequence`).
    sequence: u32,
    /// Blocks of the journal (`s_maxlen`).
    maxlen: u64,
    /// Incompatible features.
    incompat: u32,
}

/// The journal's geometry from its superblock, or `None` for a clean journal (`s_start` 0).
pub(crate) fn parse_superblock(sb: &[u8], fs_block_size: u64, journal_blocks: u64) -> Result<Option<Geometry>> {
    let bad = |what: &'static str, value: u64, expected: &'static str| ImageError::BadField {
        what,
        offset: 0,
        value,
        expected,
    };
    let magic = be32(sb, 0).unwrap_or(0);
    let kind = be32(sb, 4).unwrap_or(0);
    if magic != MAGIC || !(kind == SUPERBLOCK_V1 || kind == SUPERBLOCK_V2) {
        return Err(bad("ext4 journal superblock magic", u64::from(magic), "0xc03b3998 with block type 3 or 4"));
    }
    let block_size = u64::from(be32(sb, 0x0C).unwrap_or(0));
    if block_size != fs_block_size {
        return Err(bad("ext4 journal block size", block_size, "the file system's block size"));
    }
    let maxlen = u64::from(be32(sb, 0x10).unwrap_or(0));
    let first = u64::from(be32(sb, 0x14).unwrap_or(0));
    let sequence = be32(sb, 0x18).unwrap_or(0);
    let start = u64::from(be32(sb, 0x1C).unwrap_or(0));
    if maxlen > journal_blocks || first == 0 || first >= maxlen {
        return Err(bad("ext4 journal s_maxlen", maxlen, "at most the journal inode's blocks, above s_first"));
    }
    let incompat = if kind == SUPERBLOCK_V2 { be32(sb, 0x28).unwrap_or(0) } else { 0 };
    if incompat & !INCOMPAT_KNOWN != 0 {
        return Err(ImageError::Unsupported(format!(
            "ext4 journal features {incompat:#x} (fast commits or newer): not replayed"
        )));
    }
    if start == 0 {
        return Ok(None);
    }
    if start < first || start >= maxlen {
        return Err(bad("ext4 journal s_start", start, "inside the log area"));
    }
    Ok(Some(Geometry { first, start, sequence, maxlen, incompat }))
}

/// Walks the log from `start`: `read(journal block)` returns a block of the journal. Committed
/// transactions' tags become copies (newest wins); revoked blocks (revoke sequence at or after
/// the copy's) are dropped; an uncommitted last transaction is ignored. Reads at most `maxlen`
/// blocks' worth of log and keeps at most `max_copies` copies.
pub(crate) fn replay(
    geometry: Geometry,
    block_size: usize,
    max_copies: usize,
    read: &mut dyn FnMut(u64) -> Result<Vec<u8>>,
) -> Result<Replay> {
    let Geometry { first, start, mut sequence, maxlen, incompat } = geometry;
    let wide = incompat & INCOMPAT_64BIT != 0;
    let csum3 = incompat & INCOMPAT_CSUM_V3 != 0;
    let tail = if incompat & (INCOMPAT_CSUM_V2 | INCOMPAT_CSUM_V3) != 0 { 4 } else { 0 };
    let tag_size: usize = match (csum3, wide) {
        (true, true) => 16,
        (true, false) => 12,
        (false, true) => 12,
        (false, false) => 8,
    };
    let log_len = maxlen.saturating_sub(first);
    let next = |j: u64| -> u64 {
        let n = j.saturating_add(1);
        if n >= maxlen {
            first
        } else {
            n
        }
    };
    let mut out = Replay::default();
    let mut revoked: BTreeMap<u64, u32> = BTreeMap::new();
    let mut pending: Vec<(u64, Copy)> = Vec::new();
    let mut pending_revokes: Vec<u64> = Vec::new();
    let mut j = start;
    let mut walked = 0u64;
    // Each pass consumes at least one log block; the log is walked at most once round.
    while walked < log_len {
        let block = read(j)?;
        walked = walked.saturating_add(1);
        if be32(&block, 0) != Some(MAGIC) || be32(&block, 8) != Some(sequence) {
            break;
        }
        match be32(&block, 4).unwrap_or(0) {
            DESCRIPTOR => {
                let end = block_size.saturating_sub(tail);
                let mut at = 12usize;
                let mut data = next(j);
                loop {
                    if at.saturating_add(tag_size) > end {
                        break;
                    }
                    let lo = u64::from(be32(&block, at).unwrap_or(0));
                    let (flags, hi) = if csum3 {
                        (
                            be32(&block, at.saturating_add(4)).unwrap_or(0),
                            if wide { be32(&block, at.saturating_add(8)).unwrap_or(0) } else { 0 },
                        )
                    } else {
                        let f = u32::from(be16(&block, at.saturating_add(6)).unwrap_or(0));
                        (f, if wide { be32(&block, at.saturating_add(8)).unwrap_or(0) } else { 0 })
                    };
                    let fs_block = (u64::from(hi) << 32) | lo;
                    if pending.len() >= max_copies {
                        return Err(ImageError::LimitExceeded {
                            limit: "max_table_bytes",
                            value: pending.len() as u64,
                            max: max_copies as u64,
                        });
                    }
                    pending.push((fs_block, Copy { journal_block: data, escaped: flags & TAG_ESCAPE != 0, sequence }));
                    data = next(data);
                    walked = walked.saturating_add(1);
                    at = at.saturating_add(tag_size);
                    if flags & TAG_SAME_UUID == 0 {
                        at = at.saturating_add(16);
                    }
                    if flags & TAG_LAST != 0 || walked >= log_len {
                        break;
                    }
                }
                j = data;
            }
            COMMIT => {
                for (b, c) in pending.drain(..) {
                    if out.copies.len() >= max_copies && !out.copies.contains_key(&b) {
                        return Err(ImageError::LimitExceeded {
                            limit: "max_table_bytes",
                            value: out.copies.len() as u64,
                            max: max_copies as u64,
                        });
                    }
                    out.copies.insert(b, c);
                }
                for b in pending_revokes.drain(..) {
                    if revoked.len() < max_copies || revoked.contains_key(&b) {
                        let e = revoked.entry(b).or_insert(sequence);
                        *e = (*e).max(sequence);
                    }
                }
                out.transactions = out.transactions.saturating_add(1);
                sequence = sequence.wrapping_add(1);
                j = next(j);
            }
            REVOKE => {
                let used =
                    usize::try_from(be32(&block, 12).unwrap_or(0)).unwrap_or(0).min(block_size.saturating_sub(tail));
                let width = if wide { 8 } else { 4 };
                let mut at = 16usize;
                while at.saturating_add(width) <= used {
                    let b = if wide {
                        (u64::from(be32(&block, at).unwrap_or(0)) << 32)
                            | u64::from(be32(&block, at.saturating_add(4)).unwrap_or(0))
                    } else {
                        u64::from(be32(&block, at).unwrap_or(0))
                    };
                    if pending_revokes.len() < max_copies {
                        pending_revokes.push(b);
                    }
                    at = at.saturating_add(width);
                }
                j = next(j);
            }
            _ => break,
        }
    }
    // A revoke at or after a copy's transaction cancels it.
    out.copies.retain(|b, c| revoked.get(b).is_none_or(|&r| r < c.sequence));
    Ok(out)
}
