//! A read-only ext2/ext3/ext4 reader, by inode, for volumes whose every byte may be hostile.
//!
//! What it reads: the superblock (its geometry checked against the volume before anything else is
//! read), group descriptors (32- and 64-bit, classic or `meta_bg` layout), inodes, extent trees
//! (ext4), block maps with indirect blocks (ext2/ext3), inline data (`inline_data`: `i_block` and
//! the in-inode `system.data` attribute), linear directory blocks (hashed directories' leaves are
//! ordinary entry blocks, their index blocks are skipped as the empty entries they look like),
//! fast and slow symbolic links. Unwritten extents and holes read as zeros.
//!
//! A journal that needs recovery (a crash-consistent replica of a running machine) is replayed in
//! memory: the committed transactions' blocks are read from the journal instead of their place,
//! nothing is written, and [`Ext4Fs::warnings`] says how much was replayed (or why it could not
//! be, in which case the volume reads as it is on disk). Encrypted files are refused
//! ([`ImageError::Unsupported`]); checksums are not verified (a hostile volume can forge them; a
//! damaged one still reads with bounds).
//!
//! How it stays bounded: every number from the volume is checked before use; the extent tree
//! is descended in a loop whose depth must fall by one at each level (at most 5, so a cycle
//! cannot be followed); block-map holes are skipped whole; directories larger than
//! [`ImageLimits::max_ext4_dir_bytes`] are refused; all reads from the volume count against
//! [`ImageLimits::max_ext4_read_bytes`]; nothing is allocated from a size in the volume other
//! than one block, an inode, and a link's target after its limit is checked. A 1 TiB sparse file
//! reads as zeros through [`FileSystem::read_at`] in whatever chunks the caller asks for.
//!
//! ```no_run
//! # fn demo(volume: Box<dyn regnet_image::Volume>) -> regnet_image::Result<()> {
//! use regnet_image::ext4::Ext4Fs;
//! use regnet_image::guest::GuestView;
//! let fs = Ext4Fs::open(volume, &Default::default())?;
//! println!("{:?} {}", fs.label(), fs.uuid_string());
//! let mut guest = GuestView::new(Box::new(fs), Default::default());
//! let os_release = guest.read("/etc/os-release")?;
//! # Ok(()) }
//! ```

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]

mod dir;
mod inode;
mod journal;
mod le;
mod superblock;

use crate::error::{ImageError, Result};
use crate::guest::{DirEntry, FileSystem, FsKind, NodeId, NodeInfo, NodeKind};
use crate::limits::ImageLimits;
use crate::volume::Volume;
use inode::{Inode, Mode, Run, Step};
use std::sync::Arc;
use superblock::Superblock;

/// Metadata blocks kept in memory (descriptor, inode table, extent, indirect, directory blocks).
const CACHE_BLOCKS: usize = 64;
/// Recent lookups remembered (a path that walks one folder again and again costs one scan).
const LOOKUPS_REMEMBERED: usize = 256;
/// `bg_flags`: the group's inode table is not initialised (its inodes are all unused).
const BG_INODE_UNINIT: u16 = 0x1;

/// True when the volume holds an ext2, ext3 or ext4 superblock (magic `0xEF53` at byte 1080).
/// Reads 2 bytes; a volume too small for a superblock is `Ok(false)`.
pub fn probe(volume: &mut dyn Volume) -> Result<bool> {
    let at = superblock::SUPERBLOCK_OFFSET.saturating_add(superblock::MAGIC_AT as u64);
    if volume.len() < superblock::SUPERBLOCK_OFFSET.saturating_add(superblock::SUPERBLOCK_LEN as u64) {
        return Ok(false);
    }
    let mut magic = [0u8; 2];
    volume.read_exact_at(at, &mut magic)?;
    Ok(u16::from_le_bytes(magic) == superblock::MAGIC)
}

/// An opened ext2/ext3/ext4 volume. Implements [`FileSystem`]: nodes are inode numbers, the
/// root is inode 2.
pub struct Ext4Fs {
    volume: Box<dyn Volume>,
    sb: Superblock,
    limits: ImageLimits,
    bytes_read: u64,
    cache: Vec<(u64, Arc<[u8]>)>,
    cache_next: usize,
    lookups: Vec<(NodeId, Vec<u8>, Option<NodeId>)>,
    lookups_next: usize,
    /// Blocks the replayed journal holds newer copies of: volume byte offset of the copy, and
    /// whether its first 4 bytes were escaped.
    journal: std::collections::BTreeMap<u64, (u64, bool)>,
    warnings: Vec<String>,
}

impl std::fmt::Debug for Ext4Fs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ext4Fs")
            .field("label", &self.label())
            .field("block_size", &self.sb.block_size)
            .field("blocks", &self.sb.blocks_count)
            .field("groups", &self.sb.groups)
            .field("bytes_read", &self.bytes_read)
            .finish()
    }
}

impl Ext4Fs {
    /// Opens the file system on `volume`: reads and checks the superblock (its blocks must fit
    /// the volume, its features must be known), the descriptor of group 0 and the root inode.
    pub fn open(mut volume: Box<dyn Volume>, limits: &ImageLimits) -> Result<Self> {
        let len = volume.len();
        let need = superblock::SUPERBLOCK_OFFSET.saturating_add(superblock::SUPERBLOCK_LEN as u64);
        if len < need {
            return Err(ImageError::Truncated {
                what: "ext4 superblock",
                offset: superblock::SUPERBLOCK_OFFSET,
                needed: superblock::SUPERBLOCK_LEN as u64,
                available: len.saturating_sub(superblock::SUPERBLOCK_OFFSET),
            });
        }
        let mut raw = [0u8; superblock::SUPERBLOCK_LEN];
        volume.read_exact_at(superblock::SUPERBLOCK_OFFSET, &mut raw)?;
        let sb = Superblock::parse(&raw, len)?;
        let mut warnings = Vec::new();
        if sb.incompat & superblock::INCOMPAT_RECOVER != 0 {
            warnings.push(
                "ext4: the journal needs recovery (the volume was not cleanly unmounted): it is not replayed, so \
                 the last changes before the snapshot may be missing or half-written"
                    .to_owned(),
            );
        } else if sb.state & 1 == 0 {
            warnings.push("ext4: the file system was not cleanly unmounted".to_owned());
        }
        if sb.state & 2 != 0 {
            warnings.push("ext4: the file system has recorded errors (s_state)".to_owned());
        }
        if sb.compat & superblock::COMPAT_HAS_JOURNAL == 0 && sb.incompat & superblock::INCOMPAT_RECOVER != 0 {
            warnings.push("ext4: the recovery flag is set on a volume without a journal".to_owned());
        }
        let mut fs = Ext4Fs {
            volume,
            sb,
            limits: *limits,
            // The superblock, read above.
            bytes_read: superblock::SUPERBLOCK_LEN as u64,
            cache: Vec::new(),
            cache_next: 0,
            lookups: Vec::new(),
            lookups_next: 0,
            journal: std::collections::BTreeMap::new(),
            warnings,
        };
        if fs.sb.incompat & superblock::INCOMPAT_RECOVER != 0 && fs.sb.compat & superblock::COMPAT_HAS_JOURNAL != 0 {
            match fs.replay_journal() {
                Ok((transactions, blocks)) => {
                    fs.warnings.retain(|w| !w.contains("journal needs recovery"));
                    fs.warnings.push(format!(
                        "ext4: the journal needed recovery: {transactions} committed transaction(s) replayed in memory \
                         ({blocks} block(s) read from the journal instead of their place)"
                    ));
                }
                Err(e) => {
                    fs.warnings.push(format!("ext4: the journal could not be replayed ({e}): read as it is on disk"))
                }
            }
            fs.cache.clear();
        }
        let root = fs.inode(2)?;
        if root.mode != Mode::Dir {
            return Err(root.corrupt("(the root) is not a directory"));
        }
        Ok(fs)
    }

    /// The volume label (`s_volume_name`), if one is set.
    pub fn label(&self) -> Option<String> {
        self.sb.label()
    }

    /// The file system UUID (`s_uuid`), as stored.
    pub fn uuid(&self) -> [u8; 16] {
        self.sb.uuid
    }

    /// The UUID in its usual text form (`dumpe2fs` shows it so), e.g. `0c4b…-…`.
    pub fn uuid_string(&self) -> String {
        let mut s = String::with_capacity(36);
        for (i, b) in self.sb.uuid.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                s.push('-');
            }
            s.push_str(&format!("{b:02x}"));
        }
        s
    }

    /// Block size in bytes.
    pub fn block_size(&self) -> u64 {
        self.sb.block_size
    }

    /// What the reader noticed about the volume that the caller should know: a journal that
    /// needs recovery (not replayed), a volume not cleanly unmounted, recorded errors.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }

    /// Bytes read from the volume so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Reads from the volume, counted against `max_ext4_read_bytes`; blocks the replayed
    /// journal holds newer copies of are read from the journal.
    fn read_volume(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let total = self.bytes_read.saturating_add(buf.len() as u64);
        ImageLimits::check("max_ext4_read_bytes", total, self.limits.max_ext4_read_bytes)?;
        self.bytes_read = total;
        self.volume.read_exact_at(offset, buf)?;
        if self.journal.is_empty() || buf.is_empty() {
            return Ok(());
        }
        let bs = self.sb.block_size;
        let end = offset.saturating_add(buf.len() as u64);
        let (first, last) = (le::div(offset, bs), le::div(end.saturating_sub(1), bs));
        let copies: Vec<(u64, (u64, bool))> = self.journal.range(first..=last).map(|(b, c)| (*b, *c)).collect();
        for (block, (copy_at, escaped)) in copies {
            let block_start = block.saturating_mul(bs);
            let from = block_start.max(offset);
            let to = block_start.saturating_add(bs).min(end);
            let dst = usize::try_from(from.saturating_sub(offset)).unwrap_or(0);
            let len = usize::try_from(to.saturating_sub(from)).unwrap_or(0);
            let Some(part) = buf.get_mut(dst..dst.saturating_add(len)) else { continue };
            self.volume.read_exact_at(copy_at.saturating_add(from.saturating_sub(block_start)), part)?;
            if escaped {
                // The journal stored the block with its first 4 bytes (the journal magic) zeroed.
                for (i, m) in 0xC03B_3998u32.to_be_bytes().iter().enumerate() {
                    let at = block_start.saturating_add(i as u64);
                    if at >= from && at < to {
                        if let Some(b) = part.get_mut(usize::try_from(at.saturating_sub(from)).unwrap_or(usize::MAX)) {
                            *b = *m;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Replays the journal (inode `s_journal_inum`) in memory: returns (transactions, blocks).
    fn replay_journal(&mut self) -> Result<(u32, usize)> {
        let jinode = self.inode(self.sb.journal_inum)?;
        let bs = self.sb.block_size;
        let jblocks = self.size_blocks(&jinode);
        let block_len = usize::try_from(bs).unwrap_or(65536);
        let read_block = |fs: &mut Ext4Fs, jb: u64| -> Result<(Vec<u8>, u64)> {
            let Run::Mapped { pblk, .. } = fs.map(&jinode, jb, jblocks)? else {
                return Err(jinode.corrupt("(the journal) has a hole"));
            };
            let at = fs.block_offset(pblk, 1, "ext4 journal block")?;
            let mut b = vec![0u8; block_len];
            fs.read_volume(at, &mut b)?;
            Ok((b, at))
        };
        let (sb, _) = read_block(self, 0)?;
        let Some(geometry) = journal::parse_superblock(&sb, bs, jblocks)? else {
            return Ok((0, 0));
        };
        let max_copies = usize::try_from(self.limits.max_table_bytes / 32).unwrap_or(usize::MAX);
        let replay = journal::replay(geometry, block_len, max_copies, &mut |jb| read_block(self, jb).map(|(b, _)| b))?;
        let mut map = std::collections::BTreeMap::new();
        for (block, copy) in &replay.copies {
            if *block >= self.sb.blocks_count {
                continue;
            }
            let Run::Mapped { pblk, .. } = self.map(&jinode, copy.journal_block, jblocks)? else { continue };
            map.insert(*block, (self.block_offset(pblk, 1, "ext4 journal block")?, copy.escaped));
        }
        let n = map.len();
        self.journal = map;
        Ok((replay.transactions, n))
    }

    /// Byte offset of block `pblk`, which must lie inside the file system.
    fn block_offset(&self, pblk: u64, count: u64, what: &'static str) -> Result<u64> {
        let inside = pblk.checked_add(count).is_some_and(|end| end <= self.sb.blocks_count);
        match pblk.checked_mul(self.sb.block_size) {
            Some(off) if inside => Ok(off),
            _ => Err(ImageError::BadField {
                what,
                offset: pblk,
                value: pblk,
                expected: "a block number inside the file system",
            }),
        }
    }

    /// Metadata block `pblk`, through the cache.
    fn block(&mut self, pblk: u64, what: &'static str) -> Result<Arc<[u8]>> {
        if let Some((_, b)) = self.cache.iter().find(|(n, _)| *n == pblk) {
            return Ok(Arc::clone(b));
        }
        let off = self.block_offset(pblk, 1, what)?;
        let size = usize::try_from(self.sb.block_size).unwrap_or(65536);
        let mut buf = vec![0u8; size];
        self.read_volume(off, &mut buf)?;
        let b: Arc<[u8]> = Arc::from(buf);
        if self.cache.len() < CACHE_BLOCKS {
            self.cache.push((pblk, Arc::clone(&b)));
        } else if let Some(slot) = self.cache.get_mut(self.cache_next) {
            *slot = (pblk, Arc::clone(&b));
        }
        self.cache_next = self.cache_next.wrapping_add(1) % CACHE_BLOCKS;
        Ok(b)
    }

    /// Inode `ino` (1-based).
    fn inode(&mut self, ino: u64) -> Result<Inode> {
        if ino == 0 || ino > self.sb.inodes_count {
            return Err(ImageError::BadField {
                what: "ext4 inode number",
                offset: superblock::SUPERBLOCK_OFFSET,
                value: ino,
                expected: "1 ..= s_inodes_count",
            });
        }
        let index = ino.saturating_sub(1);
        let ipg = self.sb.inodes_per_group;
        let (group, within_group) = (le::div(index, ipg), le::rem(index, ipg));
        let (dblock, doff) = self.sb.descriptor_location(group).ok_or(ImageError::BadField {
            what: "ext4 group of an inode",
            offset: superblock::SUPERBLOCK_OFFSET,
            value: group,
            expected: "a group whose descriptor is inside the file system",
        })?;
        let desc = self.block(dblock, "ext4 group descriptor block")?;
        let d = usize::try_from(doff).unwrap_or(usize::MAX);
        let field = |off: usize| d.checked_add(off).and_then(|o| le::u32_at(&desc, o)).map(u64::from);
        let lo = field(8).unwrap_or(0);
        let hi = if self.sb.desc_size >= 64 { field(0x28).unwrap_or(0) } else { 0 };
        let table = (hi << 32) | lo;
        let bg_flags = d.checked_add(0x12).and_then(|o| le::u16_at(&desc, o)).unwrap_or(0);
        let csum = self.sb.ro_compat & (superblock::RO_COMPAT_GDT_CSUM | superblock::RO_COMPAT_METADATA_CSUM) != 0;
        let bs = self.sb.block_size;
        let isz = self.sb.inode_size;
        let byte = within_group.saturating_mul(isz);
        let pblk = table.checked_add(le::div(byte, bs)).ok_or(ImageError::BadField {
            what: "ext4 bg_inode_table",
            offset: dblock.saturating_mul(bs).saturating_add(doff).saturating_add(8),
            value: table,
            expected: "a block inside the file system",
        })?;
        let within = usize::try_from(le::rem(byte, bs)).unwrap_or(0);
        let at = pblk.saturating_mul(bs).saturating_add(le::rem(byte, bs));
        if csum && bg_flags & BG_INODE_UNINIT != 0 {
            // Never-initialised inode table: every inode in it is unused.
            return Inode::parse(ino, at, &[], false);
        }
        let data = self.block(pblk, "ext4 inode table block")?;
        let raw = data.get(within..within.saturating_add(usize::try_from(isz).unwrap_or(0))).unwrap_or_default();
        Inode::parse(ino, at, raw, self.sb.incompat & superblock::INCOMPAT_INLINE_DATA != 0)
    }

    /// Blocks the inode's size covers.
    fn size_blocks(&self, inode: &Inode) -> u64 {
        inode.size.div_ceil(self.sb.block_size)
    }

    /// Where logical block `lblk` of `inode` is, as a run reaching at most to block `end`.
    fn map(&mut self, inode: &Inode, lblk: u64, end: u64) -> Result<Run> {
        if inode.flags & inode::FLAG_EXTENTS != 0 {
            self.map_extents(inode, lblk, end)
        } else {
            self.map_blocks(inode, lblk)
        }
    }

    fn map_extents(&mut self, inode: &Inode, lblk: u64, mut end: u64) -> Result<Run> {
        let root_at = inode.at.saturating_add(0x28);
        let (mut entries, _, mut depth) = inode::extent_header(&inode.block, root_at)?;
        let mut node: Arc<[u8]> = Arc::from(&inode.block[..]);
        // The depth falls by one at each level and starts at most at 5: at most 6 nodes.
        for _ in 0..=inode::MAX_EXTENT_DEPTH {
            match inode::extent_step(&node, entries, depth, lblk, end) {
                Some(Step::Leaf(run)) => return Ok(run),
                Some(Step::Child { pblk, next_start }) => {
                    if let Some(n) = next_start {
                        end = end.min(n);
                    }
                    let child = self.block(pblk, "ext4 extent tree node")?;
                    let at = pblk.saturating_mul(self.sb.block_size);
                    let (e, _, d) = inode::extent_header(&child, at)?;
                    if d.checked_add(1) != Some(depth) {
                        return Err(ImageError::BadField {
                            what: "ext4 extent tree node depth",
                            offset: at.saturating_add(6),
                            value: u64::from(d),
                            expected: "one less than its parent's (a cycle or a damaged tree otherwise)",
                        });
                    }
                    (node, entries, depth) = (child, e, d);
                }
                None => break,
            }
        }
        Err(inode.corrupt("has a damaged extent tree"))
    }

    /// ext2/ext3 block maps: 12 direct pointers, then single, double and triple indirect blocks.
    fn map_blocks(&mut self, inode: &Inode, lblk: u64) -> Result<Run> {
        let per = le::div(self.sb.block_size, 4);
        let ptr_in =
            |b: &[u8], i: u64| usize::try_from(i).ok().and_then(|i| i.checked_mul(4)).and_then(|o| le::u32_at(b, o));
        if lblk < 12 {
            return Ok(match ptr_in(&inode.block, lblk).unwrap_or(0) {
                0 => Run::Zeros { count: 1 },
                p => Run::Mapped { pblk: u64::from(p), count: 1 },
            });
        }
        let mut rest = lblk.saturating_sub(12);
        let mut span = 1u64;
        let mut level = 0u64;
        for l in 1..=3u64 {
            span = span.saturating_mul(per);
            if rest < span {
                level = l;
                break;
            }
            rest = rest.saturating_sub(span);
        }
        if level == 0 {
            // Past what a block map can address.
            return Ok(Run::Zeros { count: u64::MAX });
        }
        let mut ptr = u64::from(ptr_in(&inode.block, 11u64.saturating_add(level)).unwrap_or(0));
        let mut unit = span;
        for _ in 0..level {
            if ptr == 0 {
                return Ok(Run::Zeros { count: unit.saturating_sub(le::rem(rest, unit)).max(1) });
            }
            unit = le::div(unit, per);
            let unit1 = unit.max(1);
            let (index, next_rest) = (le::div(rest, unit1), le::rem(rest, unit1));
            let block = self.block(ptr, "ext2 indirect block")?;
            let next = u64::from(ptr_in(&block, index).unwrap_or(0));
            if unit1 == 1 && next != 0 {
                // Contiguous pointers in this block make one run.
                let mut count = 1u64;
                while count < per.saturating_sub(index)
                    && ptr_in(&block, index.saturating_add(count)).map(u64::from) == next.checked_add(count)
                {
                    count = count.saturating_add(1);
                }
                return Ok(Run::Mapped { pblk: next, count });
            }
            ptr = next;
            rest = next_rest;
        }
        Ok(if ptr == 0 { Run::Zeros { count: 1 } } else { Run::Mapped { pblk: ptr, count: 1 } })
    }

    /// Reads up to `buf.len()` bytes of `inode`'s data from `offset`.
    fn read_inode(&mut self, inode: &Inode, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if inode.flags & inode::FLAG_ENCRYPT != 0 {
            return Err(ImageError::Unsupported(format!("ext4 inode {} is encrypted", inode.ino)));
        }
        if offset >= inode.size {
            return Ok(0);
        }
        let n = usize::try_from(inode.size.saturating_sub(offset)).unwrap_or(usize::MAX).min(buf.len());
        let out = buf.get_mut(..n).unwrap_or_default();
        if inode.is_inline() {
            let skip = usize::try_from(offset).unwrap_or(usize::MAX);
            let mut got = 0usize;
            for (dst, src) in out.iter_mut().zip(inode.inline_bytes().skip(skip)) {
                *dst = *src;
                got = got.saturating_add(1);
            }
            return Ok(got);
        }
        let bs = self.sb.block_size;
        let end = self.size_blocks(inode);
        let mut done = 0usize;
        // Each pass fills at least the rest of one block, so this ends after n / bs + 2 passes.
        while done < n {
            let pos = offset.saturating_add(done as u64);
            let (lblk, within) = (le::div(pos, bs), le::rem(pos, bs));
            let run = self.map(inode, lblk, end)?;
            let (count, pblk) = match run {
                Run::Mapped { pblk, count } => (count, Some(pblk)),
                Run::Zeros { count } => (count, None),
            };
            let avail = count.saturating_mul(bs).saturating_sub(within).max(1);
            let take = usize::try_from(avail).unwrap_or(usize::MAX).min(n.saturating_sub(done));
            let dst = out.get_mut(done..done.saturating_add(take)).unwrap_or_default();
            match pblk {
                None => dst.fill(0),
                Some(p) => {
                    let blocks = within.saturating_add(take as u64).div_ceil(bs);
                    let off = self.block_offset(p, blocks, "ext4 data block")?.saturating_add(within);
                    self.read_volume(off, dst)?;
                }
            }
            done = done.saturating_add(take.max(1));
        }
        Ok(n)
    }

    /// Calls `f` on every entry of directory `dir` (`.` and `..` included) until it returns true.
    fn scan_dir(&mut self, dir: &Inode, f: &mut dyn FnMut(dir::RawEntry<'_>) -> bool) -> Result<()> {
        if dir.flags & inode::FLAG_ENCRYPT != 0 {
            return Err(ImageError::Unsupported(format!("ext4 directory inode {} is encrypted", dir.ino)));
        }
        ImageLimits::check("max_ext4_dir_bytes", dir.size, self.limits.max_ext4_dir_bytes)?;
        let filetype = self.sb.incompat & superblock::INCOMPAT_FILETYPE != 0;
        if dir.is_inline() {
            // i_block: the parent's inode number, then entries; then the attribute's entries.
            let head = dir.block.get(4..).unwrap_or_default();
            if dir::for_each(head, dir.at.saturating_add(0x2C), filetype, f)? {
                return Ok(());
            }
            dir::for_each(&dir.inline_tail, dir.at, filetype, f)?;
            return Ok(());
        }
        let end = self.size_blocks(dir);
        let mut lblk = 0u64;
        // A real directory never uses a block twice; a crafted one that maps every logical block
        // to one cached block would cost parsing without reading, so a repeat is an error.
        let mut seen = std::collections::HashSet::new();
        // Each pass moves at least one block; `end` is bounded by max_ext4_dir_bytes.
        while lblk < end {
            match self.map(dir, lblk, end)? {
                Run::Zeros { count } => lblk = lblk.saturating_add(count.max(1)),
                Run::Mapped { pblk, count } => {
                    let mut i = 0u64;
                    while i < count && lblk < end {
                        let p = pblk.saturating_add(i);
                        if !seen.insert(p) {
                            return Err(dir.corrupt("uses a directory block twice"));
                        }
                        let block = self.block(p, "ext4 directory block")?;
                        let at = p.saturating_mul(self.sb.block_size);
                        if dir::for_each(&block, at, filetype, f)? {
                            return Ok(());
                        }
                        i = i.saturating_add(1);
                        lblk = lblk.saturating_add(1);
                    }
                }
            }
        }
        Ok(())
    }

    fn dir_inode(&mut self, dir: NodeId) -> Result<Inode> {
        let inode = self.inode(dir)?;
        if inode.mode != Mode::Dir {
            return Err(ImageError::BadField {
                what: "ext4 inode mode",
                offset: inode.at,
                value: dir,
                expected: "a directory",
            });
        }
        Ok(inode)
    }
}

fn kind_of(mode: Mode) -> NodeKind {
    match mode {
        Mode::File => NodeKind::File,
        Mode::Dir => NodeKind::Dir,
        Mode::Symlink => NodeKind::Symlink,
        Mode::Other => NodeKind::Other,
    }
}

impl FileSystem for Ext4Fs {
    fn kind(&self) -> FsKind {
        FsKind::Ext4
    }

    fn root(&self) -> NodeId {
        2
    }

    fn stat(&mut self, node: NodeId) -> Result<NodeInfo> {
        let inode = self.inode(node)?;
        Ok(NodeInfo::new(node, kind_of(inode.mode), inode.size).with_owner(inode.uid, inode.perm))
    }

    fn lookup(&mut self, dir: NodeId, name: &[u8]) -> Result<Option<NodeId>> {
        if let Some((_, _, hit)) = self.lookups.iter().find(|(d, n, _)| *d == dir && n.as_slice() == name) {
            return Ok(*hit);
        }
        let inode = self.dir_inode(dir)?;
        let mut found = None;
        self.scan_dir(&inode, &mut |e| {
            if e.name == name {
                found = Some(u64::from(e.ino));
                true
            } else {
                false
            }
        })?;
        let entry = (dir, name.to_vec(), found);
        if self.lookups.len() < LOOKUPS_REMEMBERED {
            self.lookups.push(entry);
        } else if let Some(slot) = self.lookups.get_mut(self.lookups_next) {
            *slot = entry;
        }
        self.lookups_next = self.lookups_next.wrapping_add(1) % LOOKUPS_REMEMBERED;
        Ok(found)
    }

    fn read_dir(&mut self, dir: NodeId, max: usize) -> Result<Vec<DirEntry>> {
        let inode = self.dir_inode(dir)?;
        let mut out: Vec<DirEntry> = Vec::new();
        let mut over = false;
        self.scan_dir(&inode, &mut |e| {
            if e.name == b"." || e.name == b".." {
                return false;
            }
            if out.len() >= max || out.try_reserve(1).is_err() {
                over = true;
                return true;
            }
            let kind = match e.file_type {
                1 => Some(NodeKind::File),
                2 => Some(NodeKind::Dir),
                7 => Some(NodeKind::Symlink),
                3..=6 => Some(NodeKind::Other),
                _ => None,
            };
            out.push(DirEntry::new(e.name.to_vec(), u64::from(e.ino), kind));
            false
        })?;
        if over {
            return Err(ImageError::LimitExceeded {
                limit: "max_dir_entries",
                value: (out.len() as u64).saturating_add(1),
                max: max as u64,
            });
        }
        Ok(out)
    }

    fn read_at(&mut self, file: NodeId, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let inode = self.inode(file)?;
        self.read_inode(&inode, offset, buf)
    }

    fn read_link(&mut self, link: NodeId, max: usize) -> Result<Vec<u8>> {
        let inode = self.inode(link)?;
        if inode.mode != Mode::Symlink {
            return Err(ImageError::BadField {
                what: "ext4 inode mode",
                offset: inode.at,
                value: link,
                expected: "a symbolic link",
            });
        }
        ImageLimits::check("max_link_bytes", inode.size, max as u64)?;
        let n = usize::try_from(inode.size).unwrap_or(usize::MAX);
        if inode.is_fast_link(self.sb.block_size) {
            // A fast link: the target is in i_block.
            return Ok(inode.block.get(..n).unwrap_or_default().to_vec());
        }
        let mut out = Vec::new();
        let too_big = || ImageError::LimitExceeded { limit: "max_link_bytes", value: inode.size, max: max as u64 };
        out.try_reserve_exact(n).map_err(|_| too_big())?;
        out.resize(n, 0);
        let got = self.read_inode(&inode, 0, &mut out)?;
        out.truncate(got);
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
