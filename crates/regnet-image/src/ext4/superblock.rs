//! The ext2/3/4 superblock: the volume's geometry and features, checked against the volume before
//! anything else is read. Layout: the kernel's `Documentation/filesystems/ext4/super.rst`.

use super::le::{bytes, div, rem, u16_at, u32_at};
use crate::error::{ImageError, Result};

/// Byte offset of the primary superblock in the volume.
pub(crate) const SUPERBLOCK_OFFSET: u64 = 1024;
/// Bytes of the superblock.
pub(crate) const SUPERBLOCK_LEN: usize = 1024;
/// `s_magic`.
pub(crate) const MAGIC: u16 = 0xEF53;
/// Offset of `s_magic` inside the superblock.
pub(crate) const MAGIC_AT: usize = 0x38;

// s_feature_compat
pub(crate) const COMPAT_HAS_JOURNAL: u32 = 0x4;
pub(crate) const COMPAT_SPARSE_SUPER2: u32 = 0x200;
// s_feature_incompat
pub(crate) const INCOMPAT_COMPRESSION: u32 = 0x1;
pub(crate) const INCOMPAT_FILETYPE: u32 = 0x2;
pub(crate) const INCOMPAT_RECOVER: u32 = 0x4;
pub(crate) const INCOMPAT_JOURNAL_DEV: u32 = 0x8;
pub(crate) const INCOMPAT_META_BG: u32 = 0x10;
pub(crate) const INCOMPAT_EXTENTS: u32 = 0x40;
pub(crate) const INCOMPAT_64BIT: u32 = 0x80;
pub(crate) const INCOMPAT_MMP: u32 = 0x100;
pub(crate) const INCOMPAT_FLEX_BG: u32 = 0x200;
pub(crate) const INCOMPAT_EA_INODE: u32 = 0x400;
pub(crate) const INCOMPAT_DIRDATA: u32 = 0x1000;
pub(crate) const INCOMPAT_CSUM_SEED: u32 = 0x2000;
pub(crate) const INCOMPAT_LARGEDIR: u32 = 0x4000;
pub(crate) const INCOMPAT_INLINE_DATA: u32 = 0x8000;
pub(crate) const INCOMPAT_ENCRYPT: u32 = 0x10000;
pub(crate) const INCOMPAT_CASEFOLD: u32 = 0x20000;
/// Every incompatible feature this reader knows (three of them are refused by name below); any
/// other bit makes the volume unreadable.
pub(crate) const INCOMPAT_KNOWN: u32 = INCOMPAT_COMPRESSION
    | INCOMPAT_JOURNAL_DEV
    | INCOMPAT_DIRDATA
    | INCOMPAT_FILETYPE
    | INCOMPAT_RECOVER
    | INCOMPAT_META_BG
    | INCOMPAT_EXTENTS
    | INCOMPAT_64BIT
    | INCOMPAT_MMP
    | INCOMPAT_FLEX_BG
    | INCOMPAT_EA_INODE
    | INCOMPAT_CSUM_SEED
    | INCOMPAT_LARGEDIR
    | INCOMPAT_INLINE_DATA
    | INCOMPAT_ENCRYPT
    | INCOMPAT_CASEFOLD;
// s_feature_ro_compat
pub(crate) const RO_COMPAT_SPARSE_SUPER: u32 = 0x1;
pub(crate) const RO_COMPAT_GDT_CSUM: u32 = 0x10;
pub(crate) const RO_COMPAT_METADATA_CSUM: u32 = 0x400;

/// The superblock fields the reader uses, checked.
#[derive(Debug, Clone)]
pub(crate) struct Superblock {
    pub block_size: u64,
    pub blocks_count: u64,
    pub first_data_block: u64,
    pub blocks_per_group: u64,
    pub inodes_per_group: u64,
    pub inodes_count: u64,
    pub inode_size: u64,
    pub desc_size: u64,
    pub groups: u64,
    pub first_meta_bg: u64,
    pub backup_bgs: [u64; 2],
    pub compat: u32,
    pub incompat: u32,
    pub ro_compat: u32,
    pub state: u16,
    pub journal_inum: u64,
    pub uuid: [u8; 16],
    pub label: [u8; 16],
}

fn field(sb: &[u8], off: usize, what: &'static str) -> Result<u64> {
    u32_at(sb, off).map(u64::from).ok_or(ImageError::Truncated {
        what,
        offset: SUPERBLOCK_OFFSET.saturating_add(off as u64),
        needed: 4,
        available: 0,
    })
}

fn bad(what: &'static str, off: usize, value: u64, expected: &'static str) -> ImageError {
    ImageError::BadField { what, offset: SUPERBLOCK_OFFSET.saturating_add(off as u64), value, expected }
}

impl Superblock {
    /// Parses the 1024 bytes of the superblock and checks its geometry against `volume_len`.
    pub(crate) fn parse(sb: &[u8], volume_len: u64) -> Result<Self> {
        let magic = u16_at(sb, MAGIC_AT).unwrap_or(0);
        if magic != MAGIC {
            return Err(ImageError::BadSignature {
                what: "ext4 superblock magic",
                offset: SUPERBLOCK_OFFSET.saturating_add(MAGIC_AT as u64),
                expected: "53 ef",
                found: bytes(sb, MAGIC_AT, 2).unwrap_or_default().to_vec(),
            });
        }
        let rev = field(sb, 0x4C, "s_rev_level")?;
        let compat = u32_at(sb, 0x5C).unwrap_or(0);
        let (incompat, ro_compat) =
            if rev >= 1 { (u32_at(sb, 0x60).unwrap_or(0), u32_at(sb, 0x64).unwrap_or(0)) } else { (0, 0) };
        let unknown = incompat & !INCOMPAT_KNOWN;
        if unknown != 0 {
            return Err(ImageError::Unsupported(format!(
                "ext4 incompatible features {unknown:#x} (s_feature_incompat {incompat:#x}): this reader does not know them"
            )));
        }
        if incompat & INCOMPAT_COMPRESSION != 0 {
            return Err(ImageError::Unsupported("ext2 compression".into()));
        }
        if incompat & INCOMPAT_JOURNAL_DEV != 0 {
            return Err(ImageError::Unsupported("an ext3/ext4 external journal device holds no files".into()));
        }
        if incompat & INCOMPAT_DIRDATA != 0 {
            return Err(ImageError::Unsupported("ext4 dirdata (Lustre)".into()));
        }
        let log_bs = field(sb, 0x18, "s_log_block_size")?;
        if log_bs > 6 {
            return Err(bad("s_log_block_size", 0x18, log_bs, "0..=6 (1 KiB to 64 KiB blocks)"));
        }
        let block_size = 1024u64 << log_bs;
        let lo = field(sb, 0x04, "s_blocks_count_lo")?;
        let hi = if incompat & INCOMPAT_64BIT != 0 { field(sb, 0x150, "s_blocks_count_hi")? } else { 0 };
        let blocks_count = (hi << 32) | lo;
        let volume_blocks = div(volume_len, block_size);
        if blocks_count > volume_blocks {
            return Err(ImageError::BadField {
                what: "ext4 s_blocks_count (blocks of the file system)",
                offset: SUPERBLOCK_OFFSET.saturating_add(0x04),
                value: blocks_count,
                expected: "at most the blocks the volume holds: the file system runs past its partition",
            });
        }
        let first_data_block = field(sb, 0x14, "s_first_data_block")?;
        if first_data_block >= blocks_count || first_data_block > 1 {
            return Err(bad("s_first_data_block", 0x14, first_data_block, "0 or 1, below s_blocks_count"));
        }
        let bits = block_size.saturating_mul(8);
        let blocks_per_group = field(sb, 0x20, "s_blocks_per_group")?;
        if blocks_per_group < 8 || blocks_per_group > bits {
            return Err(bad("s_blocks_per_group", 0x20, blocks_per_group, "8 ..= 8 × block size"));
        }
        let inodes_per_group = field(sb, 0x28, "s_inodes_per_group")?;
        if inodes_per_group == 0 || inodes_per_group > bits {
            return Err(bad("s_inodes_per_group", 0x28, inodes_per_group, "1 ..= 8 × block size"));
        }
        let inode_size = if rev >= 1 { u16_at(sb, 0x58).map(u64::from).unwrap_or(0) } else { 128 };
        if inode_size < 128 || !inode_size.is_power_of_two() || inode_size > block_size {
            return Err(bad("s_inode_size", 0x58, inode_size, "a power of two from 128 to the block size"));
        }
        let desc_size = if incompat & INCOMPAT_64BIT != 0 { u16_at(sb, 0xFE).map(u64::from).unwrap_or(0) } else { 32 };
        if desc_size < 32 || !desc_size.is_power_of_two() || desc_size > block_size.min(1024) {
            return Err(bad("s_desc_size", 0xFE, desc_size, "a power of two from 32 to 1024"));
        }
        // Checked above: blocks_count > first_data_block, blocks_per_group >= 8.
        let groups = blocks_count.saturating_sub(first_data_block).div_ceil(blocks_per_group);
        let inodes_count = field(sb, 0x00, "s_inodes_count")?;
        if inodes_count == 0 || inodes_count > groups.saturating_mul(inodes_per_group) {
            return Err(bad("s_inodes_count", 0x00, inodes_count, "1 ..= groups × s_inodes_per_group"));
        }
        let first_meta_bg = field(sb, 0x104, "s_first_meta_bg")?;
        let backup_bgs = [field(sb, 0x24C, "s_backup_bgs")?, field(sb, 0x250, "s_backup_bgs")?];
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(bytes(sb, 0x68, 16).unwrap_or(&[0u8; 16]));
        let mut label = [0u8; 16];
        label.copy_from_slice(bytes(sb, 0x78, 16).unwrap_or(&[0u8; 16]));
        Ok(Superblock {
            block_size,
            blocks_count,
            first_data_block,
            blocks_per_group,
            inodes_per_group,
            inodes_count,
            inode_size,
            desc_size,
            groups,
            first_meta_bg,
            backup_bgs,
            compat,
            incompat,
            ro_compat,
            state: u16_at(sb, 0x3A).unwrap_or(0),
            journal_inum: u32_at(sb, 0xE0).map(u64::from).unwrap_or(0),
            uuid,
            label,
        })
    }

    /// True when group `g` holds a superblock backup (and so, outside meta_bg, a copy of the
    /// group descriptors).
    pub(crate) fn group_has_super(&self, g: u64) -> bool {
        if g == 0 {
            return true;
        }
        if self.compat & COMPAT_SPARSE_SUPER2 != 0 {
            return g == self.backup_bgs[0] || g == self.backup_bgs[1];
        }
        if self.ro_compat & RO_COMPAT_SPARSE_SUPER == 0 || g == 1 {
            return true;
        }
        [3u64, 5, 7].iter().any(|&base| {
            let mut p = base;
            while p < g {
                match p.checked_mul(base) {
                    Some(n) => p = n,
                    None => return false,
                }
            }
            p == g
        })
    }

    /// The block holding group descriptor `g`, and the descriptor's byte offset in that block.
    pub(crate) fn descriptor_location(&self, g: u64) -> Option<(u64, u64)> {
        let per_block = div(self.block_size, self.desc_size);
        let index_block = div(g, per_block);
        let within = rem(g, per_block).checked_mul(self.desc_size)?;
        let block = if self.incompat & INCOMPAT_META_BG != 0 && index_block >= self.first_meta_bg {
            let first_group = index_block.checked_mul(per_block)?;
            let group_start = first_group.checked_mul(self.blocks_per_group)?.checked_add(self.first_data_block)?;
            group_start.checked_add(u64::from(self.group_has_super(first_group)))?
        } else {
            self.first_data_block.checked_add(1)?.checked_add(index_block)?
        };
        (block < self.blocks_count).then_some((block, within))
    }

    /// The volume label (`s_volume_name`), if set.
    pub(crate) fn label(&self) -> Option<String> {
        let end = self.label.iter().position(|&b| b == 0).unwrap_or(self.label.len());
        let l = self.label.get(..end).unwrap_or_default();
        (!l.is_empty()).then(|| String::from_utf8_lossy(l).into_owned())
    }
}
