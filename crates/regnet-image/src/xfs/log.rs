//! Is the internal log clean? The answer decides only a warning: this reader never replays a log.
//!
//! The log is a ring of 512-byte basic blocks. Each block starts with the cycle number of the pass
//! that wrote it (a record header block starts with the magic `0xFEEDBABE` and holds the cycle at
//! byte 4). Blocks `[0, head)` carry the current cycle and `[head, end)` the one before, so the
//! head is the first block whose cycle differs from block 0's (found by bisection: a few reads).
//! The record just before the head is clean when it holds exactly one operation flagged as the
//! unmount record (`XLOG_UNMOUNT_TRANS`, 0x20), which is what an orderly unmount writes last. A
//! log that was never written (cycle 0 at block 0) is clean too.
//!
//! Record header (`xlog_rec_header` in `xfs_log_format.h`): magic @0, cycle @4, version @8,
//! len @12, lsn @16, tail_lsn @24, crc @32, prev_block @36, num_logops @40, …, size @320 (v2 logs:
//! the header takes `ceil(size / 32 KiB)` blocks). The first operation header follows the header
//! blocks: tid @0, len @4, clientid @8, flags @9.

use super::be::{u32_at, u8_at};
use super::Disk;
use crate::error::Result;

const BB: u64 = 512;
const HEADER_MAGIC: u32 = 0xFEED_BABE;
const UNMOUNT_TRANS: u8 = 0x20;
/// How far before the head a record header is looked for (a record is at most 256 KiB).
const MAX_BACK: u64 = 1024;

/// What the log says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LogState {
    /// Cleanly unmounted, or never written.
    Clean,
    /// Holds changes not yet written in place (why, in words).
    Dirty(String),
}

/// Reads the state of the log of `blocks` basic blocks at byte `start` of the volume.
pub(crate) fn state(disk: &mut Disk, start: u64, len_bytes: u64) -> Result<LogState> {
    let blocks = len_bytes / BB;
    if blocks < 2 {
        return Ok(LogState::Dirty("the log is shorter than two sectors".into()));
    }
    let mut bb = [0u8; 512];
    let mut cycle = |disk: &mut Disk, n: u64| -> Result<(u32, bool)> {
        let at = n.checked_mul(BB).and_then(|o| o.checked_add(start)).unwrap_or(u64::MAX);
        disk.read("XFS log block", at, &mut bb)?;
        let w0 = u32_at(&bb, 0).unwrap_or(0);
        if w0 == HEADER_MAGIC {
            Ok((u32_at(&bb, 4).unwrap_or(0), true))
        } else {
            Ok((w0, false))
        }
    };
    let (first, _) = cycle(disk, 0)?;
    if first == 0 {
        return Ok(LogState::Clean);
    }
    let last_block = blocks.saturating_sub(1);
    let (last, _) = cycle(disk, last_block)?;
    // head = first block whose cycle differs from block 0's (the whole ring when none does).
    let head = if last == first {
        blocks
    } else {
        let (mut lo, mut hi) = (0u64, last_block);
        while hi.saturating_sub(lo) > 1 {
            let mid = lo.saturating_add(hi.saturating_sub(lo) / 2);
            if cycle(disk, mid)?.0 == first {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        hi
    };
    // The last record header before the head.
    let mut found = None;
    for back in 1..=MAX_BACK.min(blocks) {
        let n = head.checked_sub(back).unwrap_or_else(|| blocks.saturating_add(head).saturating_sub(back));
        let (_, is_header) = cycle(disk, n)?;
        if is_header {
            found = Some(n);
            break;
        }
    }
    let Some(rec) = found else {
        return Ok(LogState::Dirty(format!("no log record header within {MAX_BACK} sectors before the head")));
    };
    let mut header = [0u8; 512];
    let at = rec.saturating_mul(BB).saturating_add(start);
    disk.read("XFS log record header", at, &mut header)?;
    let logops = u32_at(&header, 40).unwrap_or(0);
    let version = u32_at(&header, 8).unwrap_or(0);
    let size = u32_at(&header, 320).unwrap_or(0);
    let header_blocks = if version & 2 != 0 && size > 32768 { u64::from(size.div_ceil(32768)) } else { 1 };
    let op_block = rec.saturating_add(header_blocks).checked_rem(blocks).unwrap_or(0);
    let op_at = op_block.saturating_mul(BB).saturating_add(start);
    let mut op = [0u8; 512];
    disk.read("XFS log operation header", op_at, &mut op)?;
    let flags = u8_at(&op, 9).unwrap_or(0);
    if logops == 1 && flags & UNMOUNT_TRANS != 0 {
        Ok(LogState::Clean)
    } else {
        Ok(LogState::Dirty(format!(
            "the last log record (sector {rec} of the log) is not an unmount record: the file system was not cleanly unmounted"
        )))
    }
}
