//! A read-only XFS reader (v4 and v5), by inode, for the guest view ([`crate::guest`]).
//!
//! What it reads: the primary superblock, checked against the volume (block, sector and inode
//! sizes, AG count and size, the file system no larger than its volume); inodes located from their
//! number (AG number, AG block, slot: each checked against the AGs); inode cores v1–v3 (a v3
//! inode must carry its own number); data forks in LOCAL (short-form directories, inline symbolic
//! links), EXTENTS and BTREE format; directories in short, block, leaf and node form (the data
//! blocks in the first 32 GiB of the directory's logical space, v4 `XD2B`/`XD2D` and v5
//! `XDB3`/`XDD3` headers, the file type from the entry when the ftype feature is on, else from the
//! inode); symbolic links inline or in blocks (v5 blocks start with an `XSLM` header).
//!
//! What it does not do: replay the log. A log that was not cleanly unmounted is reported by
//! [`XfsFs::warnings`] and the on-disk state is read as it is. Realtime files are refused.
//! Checksums are not verified (a tenant can recompute them anyway); every structure is checked
//! for shape instead.
//!
//! How it stays bounded: every read goes through one per-volume budget
//! ([`ImageLimits::max_bytes_read`]); a block map holds at most [`ImageLimits::max_table_bytes`]
//! worth of extents, and its B+tree is walked with an explicit stack, levels strictly decreasing
//! and a visited set; a directory scan reads at most `max_table_bytes` of directory blocks, and all
//! scans of the volume together eight times that; reads
//! fill only the caller's buffer (holes and unwritten extents are zeros, no allocation by file
//! size); nothing recurses. Byte offsets in errors count from the start of the volume.
//!
//! Sources for the on-disk format: the kernel's `xfs_format.h`, `xfs_da_format.h`,
//! `xfs_log_format.h` and the "XFS Algorithms & Data Structures" book; each module says what it
//! follows. No code was copied.

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]

mod be;
mod bmap;
mod dir;
mod log;
mod superblock;

#[cfg(test)]
mod tests;

use crate::error::{ImageError, Result};
use crate::guest::{DirEntry, FileSystem, FsKind, NodeId, NodeInfo, NodeKind};
use crate::limits::ImageLimits;
use crate::volume::Volume;
use be::{u16_at, u32_at, u64_at, u8_at};
use bmap::Extent;
use std::sync::Arc;
use superblock::Geometry;

/// The volume with its read budget.
pub(crate) struct Disk {
    vol: Box<dyn Volume>,
    read: u64,
    budget: u64,
}

impl Disk {
    /// Fills `buf` from `offset`, counted against the budget.
    pub(crate) fn read(&mut self, what: &'static str, offset: u64, buf: &mut [u8]) -> Result<()> {
        let n = buf.len() as u64;
        let total = self.read.saturating_add(n);
        ImageLimits::check("max_bytes_read", total, self.budget)?;
        self.read = total;
        let size = self.vol.len();
        if offset.checked_add(n).is_none_or(|end| end > size) {
            return Err(ImageError::Truncated { what, offset, needed: n, available: size.saturating_sub(offset) });
        }
        self.vol.read_exact_at(offset, buf)
    }
}

/// An inode's core, with its data fork.
#[derive(Debug)]
struct Inode {
    ino: u64,
    /// Where it is on the volume.
    at: u64,
    mode: u16,
    /// `di_uid` (v2 and v3 inodes; v1 inodes keep a 16-bit owner at the same place's high half,
    /// which mkfs.xfs no longer writes).
    uid: u32,
    format: u8,
    size: u64,
    nextents: u64,
    realtime: bool,
    fork: Vec<u8>,
    /// Its block map, for EXTENTS and BTREE forks (loaded on first use).
    map: Option<Arc<Vec<Extent>>>,
}

const FMT_LOCAL: u8 = 1;
const FMT_EXTENTS: u8 = 2;
const FMT_BTREE: u8 = 3;
const S_IFMT: u16 = 0o170000;
const S_IFDIR: u16 = 0o040000;
const S_IFREG: u16 = 0o100000;
const S_IFLNK: u16 = 0o120000;
/// `XFS_SYMLINK_MAXLEN`.
const SYMLINK_MAX: u64 = 1024;
/// `XSLM`, the v5 remote symbolic link block header (56 bytes).
const XSLM: u32 = 0x5853_4c4d;
const XSLM_HDR: usize = 56;
/// Directory blocks scanned over a volume's life: at most this many times
/// [`ImageLimits::max_table_bytes`] (256 MiB by default, where finding a guest's network files
/// takes a few KiB), so lookups through a directory of 32 MiB that names itself end quickly.
const DIR_SCAN_FACTOR: u64 = 8;
/// Inodes and block maps kept for the next call.
const CACHE: usize = 8;

impl Inode {
    fn kind(&self) -> NodeKind {
        match self.mode & S_IFMT {
            S_IFDIR => NodeKind::Dir,
            S_IFREG => NodeKind::File,
            S_IFLNK => NodeKind::Symlink,
            _ => NodeKind::Other,
        }
    }
}

/// A read-only XFS file system on a volume.
///
/// ```no_run
/// # fn volume() -> Box<dyn regnet_image::Volume> { unimplemented!() }
/// use regnet_image::guest::{GuestView, FileSystem};
/// use regnet_image::xfs::XfsFs;
/// let fs = XfsFs::open(volume(), &Default::default())?;
/// for w in fs.warnings() {
///     eprintln!("warning: {w}");
/// }
/// let mut guest = GuestView::new(Box::new(fs), Default::default());
/// let os_release = guest.read("/etc/os-release")?;
/// # Ok::<(), regnet_image::ImageError>(())
/// ```
#[non_exhaustive]
pub struct XfsFs {
    disk: Disk,
    geo: Geometry,
    limits: ImageLimits,
    warnings: Vec<String>,
    cache: Vec<Arc<std::sync::Mutex<Inode>>>,
    /// Directory block bytes scanned over the volume's life (see [`DIR_SCAN_FACTOR`]).
    dir_scanned: u64,
}

impl std::fmt::Debug for XfsFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XfsFs")
            .field("version", &if self.geo.v5 { 5 } else { 4 })
            .field("blocksize", &self.geo.blocksize)
            .field("agcount", &self.geo.agcount)
            .field("label", &self.geo.label)
            .finish()
    }
}

/// True when the volume starts with the XFS superblock magic `XFSB`.
pub fn probe(volume: &mut dyn Volume) -> Result<bool> {
    if volume.len() < 512 {
        return Ok(false);
    }
    let mut magic = [0u8; 4];
    volume.read_exact_at(0, &mut magic)?;
    Ok(u32::from_be_bytes(magic) == superblock::MAGIC)
}

impl XfsFs {
    /// Opens the XFS file system on `volume`: reads and checks the superblock, and looks at the
    /// log's state (a dirty log becomes a warning, see [`XfsFs::warnings`]). Reads a few KiB.
    pub fn open(volume: Box<dyn Volume>, limits: &ImageLimits) -> Result<Self> {
        let mut disk = Disk { vol: volume, read: 0, budget: limits.max_bytes_read };
        let mut sb = [0u8; 512];
        disk.read("XFS superblock", 0, &mut sb)?;
        let geo = Geometry::parse(&sb, disk.vol.len())?;
        let mut warnings = Vec::new();
        if geo.needs_repair {
            warnings.push("the XFS superblock asks for xfs_repair (needsrepair): files may read inconsistently".into());
        }
        if geo.in_progress {
            warnings.push("the XFS superblock says mkfs did not finish (sb_inprogress)".into());
        }
        if geo.logstart == 0 {
            warnings.push("the XFS log is on an external device: its state is unknown and it is not replayed".into());
        } else {
            let start = geo.fsb_offset(geo.logstart, "sb_logstart", 48)?;
            let len = u64::from(geo.logblocks) << geo.blocklog;
            if start.checked_add(len).is_none_or(|e| e > disk.vol.len()) || geo.logblocks == 0 {
                return Err(ImageError::BadField {
                    what: "sb_logblocks",
                    offset: 96,
                    value: geo.logblocks.into(),
                    expected: "a non-empty internal log inside the volume",
                });
            }
            if let log::LogState::Dirty(why) = log::state(&mut disk, start, len)? {
                warnings.push(format!(
                    "the XFS log is dirty ({why}); regnet does not replay it and reads the on-disk state, which may lack the latest changes"
                ));
            }
        }
        Ok(XfsFs { disk, geo, limits: *limits, warnings, cache: Vec::new(), dir_scanned: 0 })
    }

    /// The volume label (`sb_fname`), if set.
    pub fn label(&self) -> Option<String> {
        self.geo.label.clone()
    }

    /// What the reader noticed about the volume: a dirty log not replayed, a superblock asking
    /// for repair, an external log.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }

    /// Bytes read from the volume so far.
    pub fn bytes_read(&self) -> u64 {
        self.disk.read
    }

    /// Reads and checks inode `ino` (kept in a small cache).
    fn inode(&mut self, ino: u64) -> Result<Arc<std::sync::Mutex<Inode>>> {
        if let Some(pos) = self.cache.iter().position(|c| lock(c).ino == ino) {
            let hit = self.cache.remove(pos);
            self.cache.push(hit.clone());
            return Ok(hit);
        }
        let at = self.geo.inode_offset(ino)?;
        let size = usize::try_from(self.geo.inodesize).unwrap_or(usize::MAX);
        let mut raw = vec![0u8; size];
        self.disk.read("XFS inode", at, &mut raw)?;
        let inode = parse_inode(&self.geo, ino, at, &raw)?;
        let entry = Arc::new(std::sync::Mutex::new(inode));
        if self.cache.len() >= CACHE {
            self.cache.remove(0);
        }
        self.cache.push(entry.clone());
        Ok(entry)
    }

    /// The block map of an EXTENTS or BTREE inode.
    fn map(&mut self, inode: &Arc<std::sync::Mutex<Inode>>) -> Result<Arc<Vec<Extent>>> {
        let mut node = lock(inode);
        if let Some(m) = &node.map {
            return Ok(m.clone());
        }
        let max = self.limits.max_table_bytes / bmap::EXTENT_COST;
        let map = match node.format {
            FMT_EXTENTS => bmap::from_records(&self.geo, &node.fork, node.nextents, max, node.at)?,
            FMT_BTREE => bmap::from_btree(&mut self.disk, &self.geo, &node.fork, max, node.at)?,
            f => {
                return Err(ImageError::BadField {
                    what: "XFS inode data fork format",
                    offset: node.at.saturating_add(5),
                    value: f.into(),
                    expected: "extents or btree",
                })
            }
        };
        // The cached maps together stay within one map's budget: older ones are dropped.
        let mut held = map.len();
        for other in self.cache.iter().rev().filter(|c| !Arc::ptr_eq(c, inode)) {
            let mut o = lock(other);
            let n = o.map.as_ref().map_or(0, |m| m.len());
            if held.saturating_add(n) as u64 > max {
                o.map = None;
            } else {
                held = held.saturating_add(n);
            }
        }
        let map = Arc::new(map);
        node.map = Some(map.clone());
        Ok(map)
    }

    /// Reads logical bytes `offset..offset + buf.len()` of a mapped fork: holes and unwritten
    /// extents are zeros.
    fn read_mapped(&mut self, map: &[Extent], offset: u64, buf: &mut [u8]) -> Result<()> {
        let bs = u64::from(self.geo.blocksize);
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset.saturating_add(done as u64);
            let lb = pos >> self.geo.blocklog;
            let in_block = pos & (bs.saturating_sub(1));
            let idx = map.partition_point(|e| e.end() <= lb);
            let want = buf.len().saturating_sub(done) as u64;
            let (n, phys) = match map.get(idx) {
                Some(e) if e.off <= lb => {
                    let left = e.end().saturating_sub(lb).saturating_mul(bs).saturating_sub(in_block);
                    let phys = if e.unwritten {
                        None
                    } else {
                        let start = self.geo.fsb_offset(e.start, "XFS extent start block", 0)?;
                        let skip = (lb.saturating_sub(e.off) << self.geo.blocklog).saturating_add(in_block);
                        Some(start.saturating_add(skip))
                    };
                    (want.min(left), phys)
                }
                Some(e) => (want.min(e.off.saturating_sub(lb).saturating_mul(bs).saturating_sub(in_block)), None),
                None => (want, None),
            };
            let n = usize::try_from(n).unwrap_or(usize::MAX).max(1);
            let end = done.saturating_add(n).min(buf.len());
            let dst = buf.get_mut(done..end).unwrap_or_default();
            match phys {
                Some(p) => self.disk.read("XFS file data", p, dst)?,
                None => dst.fill(0),
            }
            done = end;
        }
        Ok(())
    }

    /// Walks the entries of directory `dir` until `visit` says stop; returns whether it did.
    fn walk_dir(&mut self, dir: NodeId, visit: &mut dir::Visit<'_>) -> Result<bool> {
        let inode = self.inode(dir)?;
        let (kind, format, fork, at) = {
            let n = lock(&inode);
            (n.kind(), n.format, n.fork.clone(), n.at)
        };
        if kind != NodeKind::Dir {
            return Err(ImageError::BadField {
                what: "XFS inode mode",
                offset: at.saturating_add(2),
                value: 0,
                expected: "a directory",
            });
        }
        if format == FMT_LOCAL {
            return dir::short_form(&self.geo, &fork, at, visit);
        }
        let map = self.map(&inode)?;
        let dbs = self.geo.dirblksize();
        let dirblklog = self.geo.dirblklog;
        let leaf_block = dir::LEAF_OFFSET >> self.geo.blocklog;
        let budget = self.limits.max_table_bytes;
        let mut scanned = 0u64;
        let mut block = vec![0u8; usize::try_from(dbs).unwrap_or(usize::MAX)];
        let mut last: Option<u64> = None;
        for e in map.iter() {
            if e.off >= leaf_block {
                break;
            }
            let first = e.off >> dirblklog;
            let end = e.end().min(leaf_block).saturating_sub(1) >> dirblklog;
            let mut db = first;
            while db <= end {
                if last.is_none_or(|l| db > l) {
                    last = Some(db);
                    scanned = scanned.saturating_add(dbs);
                    ImageLimits::check("max_table_bytes", scanned, budget)?;
                    self.dir_scanned = self.dir_scanned.saturating_add(dbs);
                    let life = budget.saturating_mul(DIR_SCAN_FACTOR);
                    ImageLimits::check("max_table_bytes", self.dir_scanned, life)?;
                    let logical = db << (self.geo.blocklog.saturating_add(dirblklog));
                    self.read_mapped(&map, logical, &mut block)?;
                    let block_at = self.physical(&map, logical);
                    if dir::data_block(&self.geo, &block, block_at, visit)? {
                        return Ok(true);
                    }
                }
                db = db.saturating_add(1);
            }
        }
        Ok(false)
    }

    /// Where logical byte `logical` of a mapped fork is on the volume (0 when unmapped), for
    /// error messages.
    fn physical(&self, map: &[Extent], logical: u64) -> u64 {
        let lb = logical >> self.geo.blocklog;
        map.get(map.partition_point(|e| e.end() <= lb))
            .filter(|e| e.off <= lb)
            .and_then(|e| self.geo.fsb_offset(e.start.saturating_add(lb.saturating_sub(e.off)), "", 0).ok())
            .unwrap_or(0)
    }

    fn kind_of(&mut self, ino: u64, ftype: u8) -> Option<NodeKind> {
        if self.geo.ftype {
            return match ftype {
                1 => Some(NodeKind::File),
                2 => Some(NodeKind::Dir),
                7 => Some(NodeKind::Symlink),
                3..=6 => Some(NodeKind::Other),
                _ => None,
            };
        }
        self.inode(ino).ok().map(|i| lock(&i).kind())
    }
}

fn lock(m: &std::sync::Mutex<Inode>) -> std::sync::MutexGuard<'_, Inode> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Parses the inode core (`xfs_dinode`): magic `IN` @0, mode @2, version @4, format @5, size
/// @56, nextents @76 (u32; with the v3 NREXT64 flag the u64 @24), forkoff @82, flags @90; v3:
/// flags2 @120, ino @152, core 176 bytes (v1/v2: 100 bytes).
fn parse_inode(geo: &Geometry, ino: u64, at: u64, raw: &[u8]) -> Result<Inode> {
    let trunc = || ImageError::Truncated { what: "XFS inode", offset: at, needed: 176, available: raw.len() as u64 };
    let magic = u16_at(raw, 0).ok_or_else(trunc)?;
    if magic != 0x494e {
        return Err(ImageError::BadSignature {
            what: "XFS inode",
            offset: at,
            expected: "IN",
            found: raw.get(..2).unwrap_or_default().to_vec(),
        });
    }
    let version = u8_at(raw, 4).ok_or_else(trunc)?;
    let core: usize = match version {
        1 | 2 => 100,
        3 if geo.v5 => 176,
        v => {
            return Err(ImageError::BadField {
                what: "XFS inode version",
                offset: at.saturating_add(4),
                value: v.into(),
                expected: "1 or 2 (v4), 3 (v5)",
            })
        }
    };
    if version == 3 {
        let own = u64_at(raw, 152).ok_or_else(trunc)?;
        if own != ino {
            return Err(ImageError::BadField {
                what: "XFS inode di_ino",
                offset: at.saturating_add(152),
                value: own,
                expected: "the inode's own number",
            });
        }
    }
    let nrext64 = version == 3 && u64_at(raw, 120).ok_or_else(trunc)? & (1 << 4) != 0;
    let nextents = if nrext64 { u64_at(raw, 24) } else { u32_at(raw, 76).map(u64::from) }.ok_or_else(trunc)?;
    let forkoff = usize::from(u8_at(raw, 82).ok_or_else(trunc)?).saturating_mul(8);
    let fork_end = if forkoff == 0 { raw.len() } else { core.saturating_add(forkoff) };
    let fork = raw.get(core..fork_end).ok_or(ImageError::BadField {
        what: "XFS inode di_forkoff",
        offset: at.saturating_add(82),
        value: forkoff as u64 / 8,
        expected: "an attribute fork offset inside the inode",
    })?;
    Ok(Inode {
        ino,
        at,
        mode: u16_at(raw, 2).ok_or_else(trunc)?,
        uid: u32_at(raw, 8).ok_or_else(trunc)?,
        format: u8_at(raw, 5).ok_or_else(trunc)?,
        size: u64_at(raw, 56).ok_or_else(trunc)?,
        nextents,
        realtime: u16_at(raw, 90).ok_or_else(trunc)? & 1 != 0,
        fork: fork.to_vec(),
        map: None,
    })
}

impl FileSystem for XfsFs {
    fn kind(&self) -> FsKind {
        FsKind::Xfs
    }

    fn root(&self) -> NodeId {
        self.geo.rootino
    }

    fn stat(&mut self, node: NodeId) -> Result<NodeInfo> {
        let inode = self.inode(node)?;
        let n = lock(&inode);
        Ok(NodeInfo::new(node, n.kind(), n.size).with_owner(n.uid, u32::from(n.mode)))
    }

    fn lookup(&mut self, dir: NodeId, name: &[u8]) -> Result<Option<NodeId>> {
        let mut found = None;
        self.walk_dir(dir, &mut |n, ino, _| {
            if n == name {
                found = Some(ino);
                return Ok(true);
            }
            Ok(false)
        })?;
        Ok(found)
    }

    fn read_dir(&mut self, dir: NodeId, max: usize) -> Result<Vec<DirEntry>> {
        let mut raw: Vec<(Vec<u8>, u64, u8)> = Vec::new();
        let mut over = false;
        self.walk_dir(dir, &mut |n, ino, ft| {
            if raw.len() >= max {
                over = true;
                return Ok(true);
            }
            raw.try_reserve(1).map_err(|_| ImageError::LimitExceeded {
                limit: "max_dir_entries",
                value: raw.len() as u64,
                max: max as u64,
            })?;
            raw.push((n.to_vec(), ino, ft));
            Ok(false)
        })?;
        if over {
            return Err(ImageError::LimitExceeded {
                limit: "max_dir_entries",
                value: (max as u64).saturating_add(1),
                max: max as u64,
            });
        }
        let mut out = Vec::new();
        out.try_reserve_exact(raw.len()).map_err(|_| ImageError::LimitExceeded {
            limit: "max_dir_entries",
            value: raw.len() as u64,
            max: max as u64,
        })?;
        for (name, ino, ft) in raw {
            let kind = self.kind_of(ino, ft);
            out.push(DirEntry::new(name, ino, kind));
        }
        Ok(out)
    }

    fn read_at(&mut self, file: NodeId, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let inode = self.inode(file)?;
        let (kind, size, realtime, format, at) = {
            let n = lock(&inode);
            (n.kind(), n.size, n.realtime, n.format, n.at)
        };
        if kind != NodeKind::File {
            return Err(ImageError::BadField {
                what: "XFS inode mode",
                offset: at.saturating_add(2),
                value: 0,
                expected: "a regular file",
            });
        }
        if realtime {
            return Err(ImageError::Unsupported(format!(
                "XFS realtime file (inode {file}): its data is on the realtime device"
            )));
        }
        if offset >= size || buf.is_empty() {
            return Ok(0);
        }
        let n = usize::try_from(size.saturating_sub(offset)).unwrap_or(usize::MAX).min(buf.len());
        let dst = buf.get_mut(..n).unwrap_or_default();
        if format == FMT_LOCAL {
            // Not made by Linux for regular files, but readable: the bytes are in the fork.
            let src = lock(&inode).fork.get(usize::try_from(offset).unwrap_or(usize::MAX)..).map(<[u8]>::to_vec);
            let src = src.unwrap_or_default();
            let k = src.len().min(n);
            dst.fill(0);
            if let (Some(d), Some(s)) = (dst.get_mut(..k), src.get(..k)) {
                d.copy_from_slice(s);
            }
            return Ok(n);
        }
        let map = self.map(&inode)?;
        self.read_mapped(&map, offset, dst)?;
        Ok(n)
    }

    fn read_link(&mut self, link: NodeId, max: usize) -> Result<Vec<u8>> {
        let inode = self.inode(link)?;
        let (kind, size, format, at) = {
            let n = lock(&inode);
            (n.kind(), n.size, n.format, n.at)
        };
        if kind != NodeKind::Symlink {
            return Err(ImageError::BadField {
                what: "XFS inode mode",
                offset: at.saturating_add(2),
                value: 0,
                expected: "a symbolic link",
            });
        }
        if size == 0 || size > SYMLINK_MAX {
            return Err(ImageError::BadField {
                what: "XFS symbolic link size",
                offset: at.saturating_add(56),
                value: size,
                expected: "from 1 to 1024 bytes",
            });
        }
        ImageLimits::check("max_link_bytes", size, max as u64)?;
        let len = usize::try_from(size).unwrap_or(usize::MAX);
        if format == FMT_LOCAL {
            let n = lock(&inode);
            return n.fork.get(..len).map(<[u8]>::to_vec).ok_or(ImageError::BadField {
                what: "XFS symbolic link size",
                offset: at.saturating_add(56),
                value: size,
                expected: "an inline target that fits in the data fork",
            });
        }
        let map = self.map(&inode)?;
        let bs = usize::try_from(self.geo.blocksize).unwrap_or(usize::MAX);
        let mut out = Vec::with_capacity(len);
        let mut block = vec![0u8; bs];
        let mut lb = 0u64;
        while out.len() < len {
            let logical = lb << self.geo.blocklog;
            self.read_mapped(&map, logical, &mut block)?;
            // v5 blocks start with an `XSLM` header; mkfs.xfs -p (xfsprogs 6.1) writes v5 remote
            // links without it, which is read as it is (checksums are not verified anyway).
            let hdr = if self.geo.v5 && u32_at(&block, 0) == Some(XSLM) { XSLM_HDR } else { 0 };
            let take = len.saturating_sub(out.len()).min(bs.saturating_sub(hdr));
            out.extend_from_slice(block.get(hdr..hdr.saturating_add(take)).unwrap_or_default());
            lb = lb.saturating_add(1);
        }
        Ok(out)
    }
}
