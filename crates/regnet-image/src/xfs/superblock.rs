//! The primary superblock (sector 0 of AG 0) and the address arithmetic it defines.
//!
//! Layout (big-endian; `xfs_dsb` in the kernel's `xfs_format.h`): magic `XFSB` @0, blocksize @4,
//! dblocks @8, rblocks @16, uuid @32, logstart @48, rootino @56, agblocks @84, agcount @88,
//! logblocks @96, versionnum @100, sectsize @102, inodesize @104, inopblock @106, fname @108 (12
//! bytes), blocklog @120, sectlog @121, inodelog @122, inopblog @123, agblklog @124, inprogress
//! @126, dirblklog @192, features2 @200, bad_features2 @204, v5 feature words @208 (compat), @212 (ro_compat), @216
//! (incompat), @220 (log_incompat).

use super::be::{u16_at, u32_at, u64_at, u8_at};
use crate::error::{ImageError, Result};

/// `XFSB`.
pub(crate) const MAGIC: u32 = 0x5846_5342;
/// `sb_features2` bit: directory entries carry the file type (v4).
const FEATURES2_FTYPE: u32 = 0x200;
/// v5 incompatible features: ftype, sparse inodes, meta uuid, bigtime, needsrepair, nrext64,
/// exchange-range, parent pointers, metadata directory: none changes what this reader reads.
const INCOMPAT_FTYPE: u32 = 0x1;
const INCOMPAT_NEEDSREPAIR: u32 = 0x10;
const INCOMPAT_KNOWN: u32 = 0x1ff;

/// The checked geometry of one XFS volume.
#[derive(Debug, Clone)]
pub(crate) struct Geometry {
    pub(crate) blocksize: u32,
    pub(crate) blocklog: u32,
    pub(crate) dblocks: u64,
    pub(crate) agblocks: u32,
    pub(crate) agblklog: u32,
    pub(crate) agcount: u32,
    pub(crate) inodesize: u32,
    pub(crate) inodelog: u32,
    pub(crate) inopblog: u32,
    pub(crate) dirblklog: u32,
    pub(crate) rootino: u64,
    pub(crate) logstart: u64,
    pub(crate) logblocks: u32,
    /// v5 (CRC-enabled metadata, self-describing headers).
    pub(crate) v5: bool,
    /// Directory entries carry a file type byte.
    pub(crate) ftype: bool,
    pub(crate) label: Option<String>,
    pub(crate) needs_repair: bool,
    pub(crate) in_progress: bool,
}

fn bad(what: &'static str, offset: u64, value: u64, expected: &'static str) -> ImageError {
    ImageError::BadField { what, offset, value, expected }
}

fn field<T>(v: Option<T>, what: &'static str, offset: u64) -> Result<T> {
    v.ok_or(ImageError::Truncated { what, offset, needed: 512, available: 0 })
}

/// log2 of a power of two, or `None`.
fn log2_exact(v: u64) -> Option<u32> {
    v.is_power_of_two().then(|| v.trailing_zeros())
}

impl Geometry {
    /// Parses and checks the superblock in `sb` (its first 512 bytes) against a volume of
    /// `volume_len` bytes.
    pub(crate) fn parse(sb: &[u8], volume_len: u64) -> Result<Self> {
        let magic = field(u32_at(sb, 0), "XFS superblock", 0)?;
        if magic != MAGIC {
            return Err(ImageError::BadSignature {
                what: "XFS superblock",
                offset: 0,
                expected: "XFSB",
                found: sb.get(..4).unwrap_or_default().to_vec(),
            });
        }
        let u32f = |off: usize, what| field(u32_at(sb, off), what, off as u64);
        let u16f = |off: usize, what| field(u16_at(sb, off), what, off as u64);
        let u8f = |off: usize, what| field(u8_at(sb, off), what, off as u64);
        let u64f = |off: usize, what| field(u64_at(sb, off), what, off as u64);

        let versionnum = u16f(100, "sb_versionnum")?;
        let version = versionnum & 0xf;
        if version != 4 && version != 5 {
            return Err(bad("sb_versionnum", 100, versionnum.into(), "version 4 or 5"));
        }
        let v5 = version == 5;
        let blocksize = u32f(4, "sb_blocksize")?;
        let blocklog = u32::from(u8f(120, "sb_blocklog")?);
        if !(512..=65536).contains(&blocksize) || log2_exact(blocksize.into()) != Some(blocklog) {
            return Err(bad(
                "sb_blocksize",
                4,
                blocksize.into(),
                "a power of two from 512 to 65536 matching sb_blocklog",
            ));
        }
        let sectsize = u16f(102, "sb_sectsize")?;
        let sectlog = u32::from(u8f(121, "sb_sectlog")?);
        if !(512..=32768).contains(&sectsize) || log2_exact(sectsize.into()) != Some(sectlog) {
            return Err(bad(
                "sb_sectsize",
                102,
                sectsize.into(),
                "a power of two from 512 to 32768 matching sb_sectlog",
            ));
        }
        let inodesize = u32::from(u16f(104, "sb_inodesize")?);
        let inodelog = u32::from(u8f(122, "sb_inodelog")?);
        let min_inode = if v5 { 512 } else { 256 };
        if !(min_inode..=2048).contains(&inodesize)
            || log2_exact(inodesize.into()) != Some(inodelog)
            || inodesize > blocksize
        {
            return Err(bad(
                "sb_inodesize",
                104,
                inodesize.into(),
                "a power of two from 256 (v5: 512) to 2048, at most a block, matching sb_inodelog",
            ));
        }
        let inopblock = u32::from(u16f(106, "sb_inopblock")?);
        let inopblog = u32::from(u8f(123, "sb_inopblog")?);
        if Some(inopblock) != blocksize.checked_div(inodesize) || log2_exact(inopblock.into()) != Some(inopblog) {
            return Err(bad(
                "sb_inopblock",
                106,
                inopblock.into(),
                "sb_blocksize / sb_inodesize, matching sb_inopblog",
            ));
        }
        let agblocks = u32f(84, "sb_agblocks")?;
        let agblklog = u32::from(u8f(124, "sb_agblklog")?);
        // The AG block number takes agblklog bits: the smallest power of two holding agblocks.
        let want_agblklog = u64::from(agblocks).checked_next_power_of_two().map(u64::trailing_zeros);
        if agblocks < 2 || want_agblklog != Some(agblklog) || agblklog.checked_add(inopblog).is_none_or(|b| b > 56) {
            return Err(bad(
                "sb_agblocks",
                84,
                agblocks.into(),
                "at least 2 blocks, sb_agblklog = ceil(log2(sb_agblocks))",
            ));
        }
        let agcount = u32f(88, "sb_agcount")?;
        let dblocks = u64f(8, "sb_dblocks")?;
        // The last AG may be short: (agcount - 1) whole AGs < dblocks <= agcount whole AGs.
        let whole = u64::from(agcount).checked_mul(agblocks.into());
        let before_last = u64::from(agcount.saturating_sub(1)).checked_mul(agblocks.into());
        if agcount == 0 || whole.is_none_or(|w| dblocks > w) || before_last.is_none_or(|b| dblocks <= b) {
            return Err(bad("sb_agcount", 88, agcount.into(), "AGs covering sb_dblocks, the last one not empty"));
        }
        let fs_bytes = dblocks.checked_shl(blocklog).filter(|b| b >> blocklog == dblocks);
        if fs_bytes.is_none_or(|b| b > volume_len) {
            return Err(bad("sb_dblocks", 8, dblocks, "a file system no larger than its volume"));
        }
        let dirblklog = u32::from(u8f(192, "sb_dirblklog")?);
        if blocklog.checked_add(dirblklog).is_none_or(|l| l > 16) {
            return Err(bad("sb_dirblklog", 192, dirblklog.into(), "directory blocks of at most 64 KiB"));
        }
        let (ftype, needs_repair) = if v5 {
            let incompat = u32f(216, "sb_features_incompat")?;
            if incompat & !INCOMPAT_KNOWN != 0 {
                return Err(ImageError::Unsupported(format!(
                    "XFS incompatible features {:#x} (sb_features_incompat at byte 0xd8)",
                    incompat & !INCOMPAT_KNOWN
                )));
            }
            (incompat & INCOMPAT_FTYPE != 0, incompat & INCOMPAT_NEEDSREPAIR != 0)
        } else {
            // features2 counts only when the MOREBITS bit says so; old kernels wrote it at
            // bad_features2 (@204) instead, so both are read, as xfs_repair does.
            let more = versionnum & 0x8000 != 0;
            let features2 = u32f(200, "sb_features2")? | u32f(204, "sb_bad_features2")?;
            (more && features2 & FEATURES2_FTYPE != 0, false)
        };
        let label = sb.get(108..120).map(|n| {
            let end = n.iter().position(|&b| b == 0).unwrap_or(n.len());
            String::from_utf8_lossy(n.get(..end).unwrap_or_default()).into_owned()
        });
        let geo = Geometry {
            blocksize,
            blocklog,
            dblocks,
            agblocks,
            agblklog,
            agcount,
            inodesize,
            inodelog,
            inopblog,
            dirblklog,
            rootino: u64f(56, "sb_rootino")?,
            logstart: u64f(48, "sb_logstart")?,
            logblocks: u32f(96, "sb_logblocks")?,
            v5,
            ftype,
            label: label.filter(|l| !l.is_empty()),
            needs_repair,
            in_progress: u8f(126, "sb_inprogress")? != 0,
        };
        geo.inode_offset(geo.rootino).map_err(|_| bad("sb_rootino", 56, geo.rootino, "an inode inside the AGs"))?;
        Ok(geo)
    }

    /// The byte offset of block `agbno` of AG `agno`, checked against the file system's size.
    fn ag_block_offset(&self, agno: u64, agbno: u64) -> Option<u64> {
        if agno >= u64::from(self.agcount) || agbno >= u64::from(self.agblocks) {
            return None;
        }
        let linear = agno.checked_mul(self.agblocks.into())?.checked_add(agbno)?;
        if linear >= self.dblocks {
            return None;
        }
        linear.checked_shl(self.blocklog)
    }

    /// The byte offset of file system block `fsbno` (AG number above `agblklog` bits, AG block
    /// below), or an error naming `what`.
    pub(crate) fn fsb_offset(&self, fsbno: u64, what: &'static str, at: u64) -> Result<u64> {
        let agno = fsbno.checked_shr(self.agblklog).unwrap_or(0);
        let agbno = fsbno & low_mask(self.agblklog);
        self.ag_block_offset(agno, agbno)
            .ok_or_else(|| bad(what, at, fsbno, "a block inside the file system's allocation groups"))
    }

    /// Checks that `count` blocks from `fsbno` lie in one AG and inside the file system.
    pub(crate) fn check_run(&self, fsbno: u64, count: u64, what: &'static str, at: u64) -> Result<u64> {
        let start = self.fsb_offset(fsbno, what, at)?;
        let agbno = fsbno & low_mask(self.agblklog);
        let last = count.checked_sub(1).and_then(|c| fsbno.checked_add(c));
        let ok = last.is_some_and(|l| {
            agbno.checked_add(count).is_some_and(|e| e <= u64::from(self.agblocks))
                && self.fsb_offset(l, what, at).is_ok()
        });
        if !ok {
            return Err(bad(what, at, fsbno, "an extent of at least one block inside one allocation group"));
        }
        Ok(start)
    }

    /// The byte offset of inode `ino`: AG number, then AG block, then the slot in the block.
    pub(crate) fn inode_offset(&self, ino: u64) -> Result<u64> {
        let bits = self.agblklog.saturating_add(self.inopblog);
        let agno = ino.checked_shr(bits).unwrap_or(0);
        let agino = ino & low_mask(bits);
        let agbno = agino >> self.inopblog;
        let slot = agino & low_mask(self.inopblog);
        let block = self.ag_block_offset(agno, agbno).ok_or(ImageError::BadField {
            what: "XFS inode number",
            offset: 0,
            value: ino,
            expected: "an inode inside the file system's allocation groups",
        })?;
        block.checked_add(slot << self.inodelog).ok_or(bad("XFS inode number", 0, ino, "an addressable inode"))
    }

    /// Bytes in one directory block.
    pub(crate) fn dirblksize(&self) -> u64 {
        u64::from(self.blocksize) << self.dirblklog
    }
}

/// The low `bits` bits set.
pub(crate) fn low_mask(bits: u32) -> u64 {
    1u64.checked_shl(bits).map_or(u64::MAX, |v| v.wrapping_sub(1))
}
