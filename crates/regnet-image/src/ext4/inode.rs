//! Inodes and where their bytes are: extent trees (ext4), block maps (ext2/ext3), inline data.
//! Layout: the kernel's `Documentation/filesystems/ext4/{inodes,ifork,inlinedata}.rst`.

use super::le::{bytes, u16_at, u32_at, u8_at};
use crate::error::{ImageError, Result};

/// `i_flags`: data in an extent tree.
pub(crate) const FLAG_EXTENTS: u32 = 0x8_0000;
/// `i_flags`: data in the inode (`i_block` and the `system.data` attribute).
pub(crate) const FLAG_INLINE_DATA: u32 = 0x1000_0000;
/// `i_flags`: encrypted contents and names.
pub(crate) const FLAG_ENCRYPT: u32 = 0x800;

/// `eh_magic` of an extent tree node.
const EXTENT_MAGIC: u16 = 0xF30A;
/// Deepest extent tree the kernel builds (`EXT4_MAX_EXTENT_DEPTH`).
pub(crate) const MAX_EXTENT_DEPTH: u16 = 5;
/// An extent longer than this is unwritten (preallocated): it reads as zeros.
const EXTENT_INIT_MAX: u16 = 32768;

/// What an inode is, from `i_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    File,
    Dir,
    Symlink,
    Other,
}

/// The fields of an inode the reader uses.
#[derive(Debug, Clone)]
pub(crate) struct Inode {
    /// Its number.
    pub ino: u64,
    /// Its byte offset in the volume (for errors).
    pub at: u64,
    pub mode: Mode,
    /// The permission bits of `i_mode` (`0o7777`).
    pub perm: u32,
    /// The owner: `i_uid` with the Linux high 16 bits (`osd2.l_i_uid_high`).
    pub uid: u32,
    pub size: u64,
    pub flags: u32,
    /// `i_blocks` (512-byte units, or blocks with `huge_file`: only compared with 0 here).
    pub blocks: u64,
    /// `i_file_acl`: the extended-attribute block, 0 when none.
    pub file_acl: u64,
    /// `i_block`: 60 bytes (extent root, block map, fast link target or inline data).
    pub block: [u8; 60],
    /// The inline `system.data` attribute's value, when the inode has inline data.
    pub inline_tail: Vec<u8>,
}

impl Inode {
    /// Parses the `inode_size` bytes of inode `ino`, read at volume offset `at`.
    pub(crate) fn parse(ino: u64, at: u64, raw: &[u8], inline_data: bool) -> Result<Self> {
        let mode_bits = u16_at(raw, 0).unwrap_or(0);
        let mode = match mode_bits & 0xF000 {
            0x8000 => Mode::File,
            0x4000 => Mode::Dir,
            0xA000 => Mode::Symlink,
            _ => Mode::Other,
        };
        let lo = u64::from(u32_at(raw, 0x04).unwrap_or(0));
        let hi = u64::from(u32_at(raw, 0x6C).unwrap_or(0));
        let size = (hi << 32) | lo;
        let flags = u32_at(raw, 0x20).unwrap_or(0);
        let mut block = [0u8; 60];
        if let Some(b) = bytes(raw, 0x28, 60) {
            block.copy_from_slice(b);
        }
        let blocks = (u64::from(u16_at(raw, 0x74).unwrap_or(0)) << 32) | u64::from(u32_at(raw, 0x1C).unwrap_or(0));
        let file_acl = (u64::from(u16_at(raw, 0x76).unwrap_or(0)) << 32) | u64::from(u32_at(raw, 0x68).unwrap_or(0));
        let perm = u32::from(mode_bits & 0o7777);
        let uid = (u32::from(u16_at(raw, 0x78).unwrap_or(0)) << 16) | u32::from(u16_at(raw, 0x02).unwrap_or(0));
        let mut inode =
            Inode { ino, at, mode, perm, uid, size, flags, blocks, file_acl, block, inline_tail: Vec::new() };
        if flags & FLAG_INLINE_DATA != 0 {
            if !inline_data {
                return Err(inode.corrupt("has the inline-data flag on a volume without the inline_data feature"));
            }
            inode.inline_tail =
                inline_attribute(raw).ok_or_else(|| inode.corrupt("its system.data attribute is damaged"))?;
            let whole = 60u64.saturating_add(inode.inline_tail.len() as u64);
            if inode.size > whole {
                return Err(inode.corrupt("claims more inline data than the inode holds"));
            }
        }
        Ok(inode)
    }

    /// A `Corrupt` error about this inode.
    pub(crate) fn corrupt(&self, reason: &str) -> ImageError {
        ImageError::Corrupt { what: "ext4 inode", offset: self.at, reason: format!("inode {} {reason}", self.ino) }
    }

    /// True when the inode's bytes are in the inode itself.
    pub(crate) fn is_inline(&self) -> bool {
        self.flags & FLAG_INLINE_DATA != 0
    }

    /// True for a link whose target is in `i_block` (the kernel's rule: no blocks but an
    /// extended-attribute block, and a target that fits).
    pub(crate) fn is_fast_link(&self, block_size: u64) -> bool {
        let ea = if self.file_acl != 0 { block_size / 512 } else { 0 };
        !self.is_inline() && self.size < 60 && (self.blocks == 0 || self.blocks == ea)
    }

    /// The inline bytes, `i_block` then the attribute's value, cut to the file's size.
    pub(crate) fn inline_bytes(&self) -> impl Iterator<Item = &u8> {
        let n = usize::try_from(self.size).unwrap_or(usize::MAX);
        self.block.iter().chain(self.inline_tail.iter()).take(n)
    }
}

/// The value of the in-inode extended attribute `system.data` (name index 7, name `data`), or
/// an empty value when there is none; `None` when the attribute area is malformed.
fn inline_attribute(raw: &[u8]) -> Option<Vec<u8>> {
    let extra = usize::from(u16_at(raw, 0x80).unwrap_or(0));
    let start = 128usize.checked_add(extra)?;
    if raw.len() < start.checked_add(4)? || u32_at(raw, start)? != 0xEA02_0000 {
        return Some(Vec::new());
    }
    let first = start.checked_add(4)?;
    let mut at = first;
    // Each entry takes at least 16 bytes, so this ends within the inode.
    while at.checked_add(4)? <= raw.len() {
        if u32_at(raw, at)? == 0 {
            return Some(Vec::new());
        }
        let name_len = usize::from(u8_at(raw, at)?);
        let index = u8_at(raw, at.checked_add(1)?)?;
        let value_offs = usize::from(u16_at(raw, at.checked_add(2)?)?);
        let value_inum = u32_at(raw, at.checked_add(4)?)?;
        let value_size = usize::try_from(u32_at(raw, at.checked_add(8)?)?).ok()?;
        let name = bytes(raw, at.checked_add(16)?, name_len)?;
        if index == 7 && name == b"data" {
            if value_inum != 0 {
                return None;
            }
            return bytes(raw, first.checked_add(value_offs)?, value_size).map(<[u8]>::to_vec);
        }
        at = at.checked_add(16usize.checked_add(name_len)?.checked_add(3)? & !3)?;
    }
    None
}

/// Where a run of logical blocks is: `count` blocks from logical block `lblk`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Run {
    /// Stored from physical block `pblk`.
    Mapped { pblk: u64, count: u64 },
    /// Reads as zeros (a hole, or an unwritten extent).
    Zeros { count: u64 },
}

/// An extent tree node's header: (entries, max, depth), checked against the node's length.
pub(crate) fn extent_header(node: &[u8], at: u64) -> Result<(usize, usize, u16)> {
    let magic = u16_at(node, 0).unwrap_or(0);
    if magic != EXTENT_MAGIC {
        return Err(ImageError::BadSignature {
            what: "ext4 extent header",
            offset: at,
            expected: "0a f3",
            found: bytes(node, 0, 2).unwrap_or_default().to_vec(),
        });
    }
    let entries = usize::from(u16_at(node, 2).unwrap_or(0));
    let max = usize::from(u16_at(node, 4).unwrap_or(0));
    let depth = u16_at(node, 6).unwrap_or(0);
    let room = node.len().saturating_sub(12) / 12;
    if entries > max || max > room {
        return Err(ImageError::BadField {
            what: "ext4 extent header entries",
            offset: at.saturating_add(2),
            value: entries as u64,
            expected: "at most eh_max, which fits the node",
        });
    }
    if depth > MAX_EXTENT_DEPTH {
        return Err(ImageError::BadField {
            what: "ext4 extent tree depth",
            offset: at.saturating_add(6),
            value: u64::from(depth),
            expected: "at most 5",
        });
    }
    Ok((entries, max, depth))
}

/// In one extent node, where logical block `lblk` goes. For an index node: the child block
/// and the first logical block of the next index (the end of the child's range). For a leaf:
/// the run holding `lblk`, up to `end`.
pub(crate) enum Step {
    Child { pblk: u64, next_start: Option<u64> },
    Leaf(Run),
}

/// One step of the descent through an extent node (header already checked by [`extent_header`]).
pub(crate) fn extent_step(node: &[u8], entries: usize, depth: u16, lblk: u64, end: u64) -> Option<Step> {
    let entry = |i: usize| bytes(node, i.checked_mul(12)?.checked_add(12)?, 12);
    if depth > 0 {
        // The last index whose first block is at or before lblk.
        let mut found: Option<(u64, usize)> = None;
        for i in 0..entries {
            let e = entry(i)?;
            let first = u64::from(u32_at(e, 0)?);
            if first > lblk {
                break;
            }
            let pblk = (u64::from(u16_at(e, 8)?) << 32) | u64::from(u32_at(e, 4)?);
            found = Some((pblk, i));
        }
        let Some((pblk, i)) = found else {
            // Before the first index: a hole up to it.
            let first = if entries == 0 { end } else { u64::from(u32_at(entry(0)?, 0)?).min(end) };
            return Some(Step::Leaf(Run::Zeros { count: first.saturating_sub(lblk).max(1) }));
        };
        let next_start = match i.checked_add(1).filter(|&n| n < entries) {
            Some(n) => Some(u64::from(u32_at(entry(n)?, 0)?)),
            None => None,
        };
        return Some(Step::Child { pblk, next_start });
    }
    let mut hole_end = end;
    for i in 0..entries {
        let e = entry(i)?;
        let first = u64::from(u32_at(e, 0)?);
        let raw_len = u16_at(e, 4)?;
        let (len, unwritten) =
            if raw_len > EXTENT_INIT_MAX { (raw_len.saturating_sub(EXTENT_INIT_MAX), true) } else { (raw_len, false) };
        let len = u64::from(len);
        if first > lblk {
            hole_end = hole_end.min(first);
            break;
        }
        let last = first.checked_add(len)?;
        if lblk < last {
            let count = last.min(end).saturating_sub(lblk).max(1);
            if unwritten {
                return Some(Step::Leaf(Run::Zeros { count }));
            }
            let start = (u64::from(u16_at(e, 6)?) << 32) | u64::from(u32_at(e, 8)?);
            let pblk = start.checked_add(lblk.checked_sub(first)?)?;
            return Some(Step::Leaf(Run::Mapped { pblk, count }));
        }
    }
    Some(Step::Leaf(Run::Zeros { count: hole_end.saturating_sub(lblk).max(1) }))
}
