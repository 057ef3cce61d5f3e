//! A test-only writer of VMware ESXi virtual disks: a flat base (`createType="vmfs"`) and snapshot
//! deltas in both ESXi formats, COWD (`vmfsSparse`, ESXi up to 6.5) and SEsparse (`seSparse`, ESXi
//! 6.5 and later), with their text descriptors. ESXi is not available to the project, so this writer
//! makes the fixtures; `tests/esxi_qemu.rs` proves every layer it writes by converting it with
//! `qemu-img` and comparing the result byte for byte.
//!
//! Written from the layouts described in libvmdk's format documentation (COWD header, grain
//! directory and grain tables) and in QEMU's `block/vmdk.c` (how the COWD header is read, the
//! SEsparse constant and volatile headers, the SEsparse entry encodings and the region layout ESXi
//! logs for a new SEsparse file); no code was taken from either.
//!
//! # What is written
//!
//! A delta holds only the grains in which the changed image differs from its parent (compared grain
//! by grain); the grain directory (GD) and grain tables (GT) map the rest to "unallocated", which a
//! reader resolves through the parent. All integers are little-endian; sectors are 512 bytes.
//!
//! **COWD** (`NAME-delta.vmdk`, extent type `VMFSSPARSE`): a 2048-byte header (`"COWD"`, version 1,
//! flags 3, capacity, grain size, GD sector 4, GD entry count, next free sector, then the
//! parent-file-name / generation / name / description fields, left empty as recent ESXi does), the
//! GD (32-bit sector numbers of GTs, padded to a sector), GTs of 4096 32-bit grain sector numbers
//! each (16 KiB), then the grains. A grain that became all zero is stored as a grain of zeros (COWD
//! has no zero-grain entry). The default grain is 1 sector, as ESXi uses for vmfsSparse.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | `"COWD"` |
//! | 4 | 4 | version (1) |
//! | 8 | 4 | flags (3) |
//! | 12 | 4 | capacity in sectors |
//! | 16 | 4 | grain size in sectors |
//! | 20 | 4 | GD sector (4) |
//! | 24 | 4 | GD entries |
//! | 28 | 4 | next free sector (the file's length in sectors) |
//! | 32 | 1024 | parent file name (empty unless [`CowdOptions::parent_file_name`]) |
//! | 1056 | 4 | parent generation |
//! | 1060 | 4 | generation |
//! | 1064 | 60 | name |
//! | 1124 | 512 | description |
//! | 1636 | 4 | saved generation |
//! | 1640 | 8 | reserved |
//! | 1648 | 4 | unclean shutdown (0) |
//!
//! **SEsparse** (`NAME-sesparse.vmdk`, extent type `SESPARSE`): the 512-byte constant header at
//! sector 0 (magic `0xcafebabe`, version `0x0000000200000001`, capacity, grain size 8 sectors, GT
//! size 64 sectors, flags 0, four reserved words, then offset/size pairs in sectors of the volatile
//! header, journal header, journal, GD, GT region, free bitmap, backmap and grains region), the
//! volatile header at sector 1 (magic `0xcafecafe`, number of GTs in use, next transaction
//! sequence number 0, replay-journal 0). Regions are placed as ESXi places them for a new file
//! (journal header at sector 2, then 1 MiB-aligned regions of at least 1 MiB: journal, GD, GTs, free
//! bitmap, backmap, grains). GD entries are `0x1000_0000_0000_0000 | gt_index` (0 = no table); GT
//! entries are 0 (unallocated), `0x2000_0000_0000_0000` (zero grain), `0x1…` (unmapped: reads as
//! zero, the rest of the bits still name the old grain), or `0x3…` allocated, where grain index `g`
//! is stored as `(g & 0xfff) << 48 | g >> 12`. Grain `g` lives at sector `grains_offset + 8·g`.
//! The journal, free bitmap and backmap are left zero (QEMU ignores them; a reader must not need
//! them). Constant-header field offsets: capacity 16, grain size 24, GT size 32, flags 40, volatile
//! header 80, GD offset 128, GD size 136, GT region 144/152, grains region 192/200.
//!
//! **Flat base** (`NAME-flat.vmdk`, extent type `VMFS`): the raw image.
//!
//! **Descriptors** ([`Descriptor`]): `# Disk DescriptorFile`, `version=1`, `encoding="UTF-8"`,
//! `CID`, `parentCID` (`ffffffff` for a base), `isNativeSnapshot="no"`, `createType`,
//! `parentFileNameHint` for a snapshot, the extent line, and the disk database (`ddb.*`). A
//! snapshot's `parentCID` must equal its parent's `CID` (QEMU refuses the chain otherwise).
//!
//! # Hostile files
//!
//! [`Corruption`]s are applied after layout: a wrong GD size, a grain entry past the end of the file
//! or at its own grain table, raw GD/GT entry values, or arbitrary bytes at an offset. The returned
//! [`ExtentLayout`] gives the byte offset of every table and entry for further patching. A wrong
//! `parentCID` is just a [`Descriptor`] field.
//!
//! # Example
//! ```
//! use regnet_testkit::esxi::{cowd_delta_bytes, sesparse_delta_bytes, CowdOptions, SeSparseOptions};
//!
//! let parent = vec![0u8; 1 << 20];
//! let mut child = parent.clone();
//! child[4096..4100].copy_from_slice(b"edit");
//! let cowd = cowd_delta_bytes(&parent, &child, &CowdOptions::default()).unwrap();
//! assert_eq!(&cowd.bytes[..4], b"COWD");
//! assert_eq!(cowd.layout.grains.len(), 1); // one 512-byte grain changed
//! let se = sesparse_delta_bytes(&parent, &child, &SeSparseOptions::default()).unwrap();
//! assert_eq!(u64::from_le_bytes(se.bytes[..8].try_into().unwrap()), 0xcafe_babe);
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Bytes per sector in every VMDK structure.
pub const SECTOR: u64 = 512;
/// Entries per COWD grain table (fixed by the format).
pub const COWD_GTES_PER_GT: u64 = 4096;
/// The COWD header's length in sectors; the GD follows it.
pub const COWD_HEADER_SECTORS: u64 = 4;
/// The COWD grain size ESXi uses for vmfsSparse deltas, in sectors.
pub const COWD_DEFAULT_GRAIN_SECTORS: u64 = 1;
/// SEsparse grain size in sectors (the only one QEMU accepts; ESXi's default).
pub const SESPARSE_GRAIN_SECTORS: u64 = 8;
/// SEsparse grain-table size in sectors (4096 entries of 8 bytes).
pub const SESPARSE_GT_SECTORS: u64 = 64;
/// Entries per SEsparse grain table.
pub const SESPARSE_GTES_PER_GT: u64 = 4096;
/// SEsparse constant-header magic.
pub const SESPARSE_CONST_MAGIC: u64 = 0xcafe_babe;
/// SEsparse volatile-header magic.
pub const SESPARSE_VOLATILE_MAGIC: u64 = 0xcafe_cafe;
/// SEsparse version 2.1, as ESXi writes it.
pub const SESPARSE_VERSION: u64 = 0x0000_0002_0000_0001;
/// A `parentCID` meaning "no parent".
pub const NO_PARENT_CID: u32 = 0xffff_ffff;

/// SEsparse GD entry: a grain table is allocated (low 32 bits: its index in the GT region).
const SE_GD_ALLOCATED: u64 = 0x1000_0000_0000_0000;
/// SEsparse GT entry kinds (top nibble).
const SE_GTE_UNMAPPED: u64 = 0x1000_0000_0000_0000;
const SE_GTE_ZERO: u64 = 0x2000_0000_0000_0000;
const SE_GTE_ALLOCATED: u64 = 0x3000_0000_0000_0000;
/// SEsparse regions are aligned to, and at least, this many sectors (1 MiB), as ESXi lays them out.
const SE_REGION_ALIGN: u64 = 2048;

/// Why a delta or chain could not be written.
#[derive(Debug)]
pub enum EsxiError {
    /// Reading an image or writing a file failed.
    Io(io::Error),
    /// The parent and child images differ in size.
    SizeMismatch { parent: u64, child: u64 },
    /// VMDK capacities are whole sectors; the image size is not.
    NotSectorMultiple(u64),
    /// The image is empty.
    Empty,
    /// A grain size of zero or over 1 GiB.
    BadGrainSize(u64),
    /// A value does not fit its on-disk field (e.g. a COWD capacity over 2^32 sectors).
    TooBig { what: &'static str, value: u64 },
    /// A corruption or option that does not apply to this file.
    Unsupported(String),
}

impl fmt::Display for EsxiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EsxiError::Io(e) => write!(f, "I/O error: {e}"),
            EsxiError::SizeMismatch { parent, child } => {
                write!(f, "parent image is {parent} bytes but the changed image is {child} bytes")
            }
            EsxiError::NotSectorMultiple(n) => write!(f, "image size {n} is not a multiple of 512 bytes"),
            EsxiError::Empty => write!(f, "image is empty"),
            EsxiError::BadGrainSize(n) => write!(f, "grain size of {n} sectors is out of range"),
            EsxiError::TooBig { what, value } => write!(f, "{what} {value} does not fit its field"),
            EsxiError::Unsupported(s) => write!(f, "unsupported: {s}"),
        }
    }
}

impl std::error::Error for EsxiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EsxiError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for EsxiError {
    fn from(e: io::Error) -> Self {
        EsxiError::Io(e)
    }
}

// ---------------------------------------------------------------------------------------------
// Diff

/// How one grain of the changed image differs from the parent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The grain's new contents, a whole grain (bytes past the end of the disk are zero).
    Data(Vec<u8>),
    /// The grain became all zero; `old` is the parent's grain (a whole grain).
    Zeroed { old: Vec<u8> },
}

/// The grains in which a changed image differs from its parent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diff {
    /// Image size in bytes (a multiple of 512).
    pub size: u64,
    /// Grain size in bytes.
    pub grain_bytes: u64,
    /// Changed grains by index (grain `n` covers bytes `n·grain_bytes..`).
    pub changes: BTreeMap<u64, Change>,
}

impl Diff {
    /// Compares `size` bytes of `parent` and `child` grain by grain (`grain_sectors` sectors each).
    /// The readers are read sequentially, in chunks of about 1 MiB.
    pub fn from_readers(
        mut parent: impl Read,
        mut child: impl Read,
        size: u64,
        grain_sectors: u64,
    ) -> Result<Diff, EsxiError> {
        check_size(size)?;
        if grain_sectors == 0 || grain_sectors > 0x20_0000 {
            return Err(EsxiError::BadGrainSize(grain_sectors));
        }
        let grain_bytes = grain_sectors * SECTOR;
        let grains_per_chunk = (1 << 20) / grain_bytes;
        let chunk = grain_bytes * grains_per_chunk.max(1);
        let mut changes = BTreeMap::new();
        let mut p = vec![0u8; chunk as usize];
        let mut c = vec![0u8; chunk as usize];
        let mut pos = 0u64;
        while pos < size {
            let n = chunk.min(size - pos) as usize;
            parent.read_exact(&mut p[..n])?;
            child.read_exact(&mut c[..n])?;
            for (i, start) in (0..n).step_by(grain_bytes as usize).enumerate() {
                let end = (start + grain_bytes as usize).min(n);
                let (pg, cg) = (&p[start..end], &c[start..end]);
                if pg == cg {
                    continue;
                }
                let index = pos / grain_bytes + i as u64;
                let whole = |g: &[u8]| {
                    let mut v = g.to_vec();
                    v.resize(grain_bytes as usize, 0);
                    v
                };
                let change = if is_zero(cg) { Change::Zeroed { old: whole(pg) } } else { Change::Data(whole(cg)) };
                changes.insert(index, change);
            }
            pos += n as u64;
        }
        Ok(Diff { size, grain_bytes, changes })
    }

    /// Compares two images in memory (they must be the same size).
    pub fn from_bytes(parent: &[u8], child: &[u8], grain_sectors: u64) -> Result<Diff, EsxiError> {
        if parent.len() != child.len() {
            return Err(EsxiError::SizeMismatch { parent: parent.len() as u64, child: child.len() as u64 });
        }
        Diff::from_readers(parent, child, parent.len() as u64, grain_sectors)
    }

    /// The capacity in sectors.
    pub fn capacity_sectors(&self) -> u64 {
        self.size / SECTOR
    }
}

fn check_size(size: u64) -> Result<(), EsxiError> {
    if size == 0 {
        return Err(EsxiError::Empty);
    }
    if !size.is_multiple_of(SECTOR) {
        return Err(EsxiError::NotSectorMultiple(size));
    }
    Ok(())
}

fn is_zero(b: &[u8]) -> bool {
    b.iter().all(|&x| x == 0)
}

// ---------------------------------------------------------------------------------------------
// Options, corruptions, layout

/// In which order grain tables and grains are placed in the file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AllocationOrder {
    /// By ascending virtual offset.
    #[default]
    Ascending,
    /// By descending virtual offset, so that file order and disk order disagree (as after a guest
    /// writes its disk back to front); catches readers that assume identity mappings.
    Descending,
}

/// Where COWD grain tables go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TablePlacement {
    /// All grain tables right after the GD, then all grains.
    #[default]
    Upfront,
    /// Each grain table just before its first grain, as a file grows by allocation.
    Interleaved,
}

/// How SEsparse records a grain that became all zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ZeroedGrains {
    /// A zero-grain entry (`0x2…`), no data: what ESXi writes for a zeroed or unmapped-zero grain.
    #[default]
    ZeroEntry,
    /// An unmapped entry (`0x1…`) that still names a grain holding the parent's old, nonzero data:
    /// a reader that ignores the entry kind returns stale data instead of zeros.
    Unmapped,
    /// An allocated grain of zeros.
    Allocated,
}

/// A deliberate defect, applied after the file is laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Corruption {
    /// The GD size field: COWD entry count; SEsparse `grain_dir_size` (in sectors).
    GdSize(u64),
    /// The capacity field of the header, in sectors.
    Capacity(u64),
    /// The GT entry of virtual grain `n` points past the end of the file (its table must exist, i.e.
    /// some grain it covers changed).
    GrainPastEof(u64),
    /// The GT entry of virtual grain `n` points at the grain table holding it (COWD only: SEsparse
    /// entries index the grains region and cannot reach a table).
    GrainAtTable(u64),
    /// A raw GT entry value for virtual grain `grain` (its table must exist).
    GrainEntry { grain: u64, value: u64 },
    /// A raw GD entry value.
    GdEntry { index: u64, value: u64 },
    /// Bytes written at a file offset (the file grows if needed).
    Bytes { offset: u64, bytes: Vec<u8> },
}

/// Options of the COWD (vmfsSparse) writer.
#[derive(Clone, Debug)]
pub struct CowdOptions {
    /// Grain size in sectors (ESXi: 1).
    pub grain_sectors: u64,
    /// Order of tables and grains in the file.
    pub order: AllocationOrder,
    /// Where grain tables go.
    pub tables: TablePlacement,
    /// The header's parent file name (recent ESXi leaves it empty).
    pub parent_file_name: Option<String>,
    /// Defects to apply.
    pub corruptions: Vec<Corruption>,
}

impl Default for CowdOptions {
    fn default() -> Self {
        CowdOptions {
            grain_sectors: COWD_DEFAULT_GRAIN_SECTORS,
            order: AllocationOrder::Ascending,
            tables: TablePlacement::Upfront,
            parent_file_name: None,
            corruptions: Vec::new(),
        }
    }
}

/// Options of the SEsparse writer (the grain is always 8 sectors).
#[derive(Clone, Debug, Default)]
pub struct SeSparseOptions {
    /// Order of grain tables and grains in their regions.
    pub order: AllocationOrder,
    /// How grains that became zero are recorded.
    pub zeroed: ZeroedGrains,
    /// Defects to apply.
    pub corruptions: Vec<Corruption>,
}

/// Where one changed grain went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrainPlace {
    /// Byte offset of its GT entry in the file.
    pub entry_offset: u64,
    /// The entry's value as written (before corruptions).
    pub entry: u64,
    /// Byte offset of its data in the file, if it has any.
    pub data_offset: Option<u64>,
}

/// The layout of a written sparse extent, for checks and for patching hostile variants.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtentLayout {
    /// Capacity in sectors.
    pub capacity_sectors: u64,
    /// Grain size in sectors.
    pub grain_sectors: u64,
    /// Byte offset of the GD.
    pub gd_offset: u64,
    /// Number of GD entries the disk needs (SEsparse: the GD region holds more, all zero).
    pub gd_entries: u64,
    /// Byte offset of each allocated grain table, by GD index.
    pub gt_offsets: BTreeMap<u64, u64>,
    /// Each changed grain, by virtual grain index.
    pub grains: BTreeMap<u64, GrainPlace>,
    /// SEsparse: byte offset of the grains region (0 for COWD).
    pub grains_offset: u64,
}

/// A written sparse extent: the file's bytes and where everything is.
#[derive(Clone, Debug)]
pub struct SparseExtent {
    /// The whole file.
    pub bytes: Vec<u8>,
    /// Its layout.
    pub layout: ExtentLayout,
}

impl SparseExtent {
    /// Writes the file, leaving runs of zeros as holes.
    pub fn write_to(&self, path: &Path) -> io::Result<()> {
        write_sparse(path, &self.bytes)
    }
}

fn order<T>(mut v: Vec<T>, o: AllocationOrder) -> Vec<T> {
    if o == AllocationOrder::Descending {
        v.reverse();
    }
    v
}

fn put32(b: &mut [u8], off: u64, v: u32) {
    b[off as usize..off as usize + 4].copy_from_slice(&v.to_le_bytes());
}

fn put64(b: &mut [u8], off: u64, v: u64) {
    b[off as usize..off as usize + 8].copy_from_slice(&v.to_le_bytes());
}

fn fit32(what: &'static str, v: u64) -> Result<u32, EsxiError> {
    u32::try_from(v).map_err(|_| EsxiError::TooBig { what, value: v })
}

fn put_bytes(b: &mut Vec<u8>, off: u64, data: &[u8]) {
    let end = off as usize + data.len();
    if b.len() < end {
        b.resize(end, 0);
    }
    b[off as usize..end].copy_from_slice(data);
}

/// The grains of `diff` grouped by grain table, in file order.
fn by_table(diff: &Diff, per_gt: u64, o: AllocationOrder) -> Vec<(u64, Vec<u64>)> {
    let mut groups: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for &g in diff.changes.keys() {
        groups.entry(g / per_gt).or_default().push(g);
    }
    order(groups.into_iter().map(|(t, gs)| (t, order(gs, o))).collect(), o)
}

// ---------------------------------------------------------------------------------------------
// COWD

/// Writes a COWD (vmfsSparse) delta holding the grains in which `child` differs from `parent`
/// (both `size` bytes, read sequentially).
pub fn cowd_delta(
    parent: impl Read,
    child: impl Read,
    size: u64,
    opts: &CowdOptions,
) -> Result<SparseExtent, EsxiError> {
    write_cowd(&Diff::from_readers(parent, child, size, opts.grain_sectors)?, opts)
}

/// [`cowd_delta`] for images in memory.
pub fn cowd_delta_bytes(parent: &[u8], child: &[u8], opts: &CowdOptions) -> Result<SparseExtent, EsxiError> {
    write_cowd(&Diff::from_bytes(parent, child, opts.grain_sectors)?, opts)
}

/// Lays out a COWD delta for `diff` (whose grain must be `opts.grain_sectors`).
pub fn write_cowd(diff: &Diff, opts: &CowdOptions) -> Result<SparseExtent, EsxiError> {
    let gs = opts.grain_sectors;
    if gs == 0 || diff.grain_bytes != gs * SECTOR {
        return Err(EsxiError::BadGrainSize(gs));
    }
    let capacity = diff.capacity_sectors();
    fit32("capacity in sectors", capacity)?;
    let gt_cover = COWD_GTES_PER_GT * gs;
    let gd_entries = capacity.div_ceil(gt_cover);
    let gd_sectors = (gd_entries * 4).div_ceil(SECTOR);
    let gt_sectors = COWD_GTES_PER_GT * 4 / SECTOR;

    // Place tables and grains (in sectors).
    let mut next = COWD_HEADER_SECTORS + gd_sectors;
    let mut gt_at: BTreeMap<u64, u64> = BTreeMap::new();
    let mut grain_at: BTreeMap<u64, u64> = BTreeMap::new();
    let groups = by_table(diff, COWD_GTES_PER_GT, opts.order);
    match opts.tables {
        TablePlacement::Upfront => {
            for (t, _) in &groups {
                gt_at.insert(*t, next);
                next += gt_sectors;
            }
            for (_, gs_) in &groups {
                for &g in gs_ {
                    grain_at.insert(g, next);
                    next += gs;
                }
            }
        }
        TablePlacement::Interleaved => {
            for (t, gs_) in &groups {
                gt_at.insert(*t, next);
                next += gt_sectors;
                for &g in gs_ {
                    grain_at.insert(g, next);
                    next += gs;
                }
            }
        }
    }
    let file_sectors = fit32("file length in sectors", next)?;

    let mut b = vec![0u8; (next * SECTOR) as usize];
    b[..4].copy_from_slice(b"COWD");
    put32(&mut b, 4, 1);
    put32(&mut b, 8, 3);
    put32(&mut b, 12, capacity as u32);
    put32(&mut b, 16, fit32("grain size", gs)?);
    put32(&mut b, 20, COWD_HEADER_SECTORS as u32);
    put32(&mut b, 24, fit32("GD entries", gd_entries)?);
    put32(&mut b, 28, file_sectors);
    if let Some(name) = &opts.parent_file_name {
        let n = name.len().min(1023);
        b[32..32 + n].copy_from_slice(&name.as_bytes()[..n]);
    }

    let gd_offset = COWD_HEADER_SECTORS * SECTOR;
    let mut layout = ExtentLayout {
        capacity_sectors: capacity,
        grain_sectors: gs,
        gd_offset,
        gd_entries,
        ..ExtentLayout::default()
    };
    for (&t, &sector) in &gt_at {
        put32(&mut b, gd_offset + 4 * t, sector as u32);
        layout.gt_offsets.insert(t, sector * SECTOR);
    }
    for (&g, &sector) in &grain_at {
        let table = gt_at[&(g / COWD_GTES_PER_GT)] * SECTOR;
        let entry_offset = table + 4 * (g % COWD_GTES_PER_GT);
        put32(&mut b, entry_offset, sector as u32);
        let data = match &diff.changes[&g] {
            Change::Data(d) => d.clone(),
            Change::Zeroed { .. } => vec![0u8; diff.grain_bytes as usize],
        };
        put_bytes(&mut b, sector * SECTOR, &data);
        layout.grains.insert(g, GrainPlace { entry_offset, entry: sector, data_offset: Some(sector * SECTOR) });
    }

    for c in &opts.corruptions {
        match c {
            Corruption::GdSize(n) => put32(&mut b, 24, fit32("GD size", *n)?),
            Corruption::Capacity(n) => put32(&mut b, 12, fit32("capacity", *n)?),
            Corruption::GrainPastEof(g) => {
                let place = grain_place(&layout, *g)?;
                let past = (b.len() as u64).div_ceil(SECTOR) + 1024;
                put32(&mut b, place.entry_offset, fit32("grain sector", past)?);
            }
            Corruption::GrainAtTable(g) => {
                let place = grain_place(&layout, *g)?;
                let table = layout.gt_offsets[&(g / COWD_GTES_PER_GT)] / SECTOR;
                put32(&mut b, place.entry_offset, table as u32);
            }
            Corruption::GrainEntry { grain, value } => {
                let place = grain_place(&layout, *grain)?;
                put32(&mut b, place.entry_offset, fit32("grain entry", *value)?);
            }
            Corruption::GdEntry { index, value } => {
                put_bytes(&mut b, gd_offset + 4 * index, &fit32("GD entry", *value)?.to_le_bytes());
            }
            Corruption::Bytes { offset, bytes } => put_bytes(&mut b, *offset, bytes),
        }
    }
    Ok(SparseExtent { bytes: b, layout })
}

fn grain_place(layout: &ExtentLayout, g: u64) -> Result<GrainPlace, EsxiError> {
    layout
        .grains
        .get(&g)
        .copied()
        .ok_or_else(|| EsxiError::Unsupported(format!("grain {g} did not change, so it has no entry to corrupt")))
}

// ---------------------------------------------------------------------------------------------
// SEsparse

/// Writes an SEsparse delta holding the grains in which `child` differs from `parent` (both
/// `size` bytes, read sequentially).
pub fn sesparse_delta(
    parent: impl Read,
    child: impl Read,
    size: u64,
    opts: &SeSparseOptions,
) -> Result<SparseExtent, EsxiError> {
    write_sesparse(&Diff::from_readers(parent, child, size, SESPARSE_GRAIN_SECTORS)?, opts)
}

/// [`sesparse_delta`] for images in memory.
pub fn sesparse_delta_bytes(parent: &[u8], child: &[u8], opts: &SeSparseOptions) -> Result<SparseExtent, EsxiError> {
    write_sesparse(&Diff::from_bytes(parent, child, SESPARSE_GRAIN_SECTORS)?, opts)
}

/// Encodes an allocated SEsparse GT entry for grain index `g` in the grains region.
pub fn sesparse_allocated_entry(g: u64) -> u64 {
    SE_GTE_ALLOCATED | ((g & 0xfff) << 48) | (g >> 12)
}

/// The SEsparse region layout for a capacity, in sectors: `(offset, size)` of the volatile header,
/// journal header, journal, GD, GT region, free bitmap, backmap and grains.
fn se_regions(capacity: u64) -> [(u64, u64); 8] {
    let grains = capacity.div_ceil(SESPARSE_GRAIN_SECTORS);
    let gd_entries = grains.div_ceil(SESPARSE_GTES_PER_GT);
    let region = |sectors: u64| sectors.max(1).next_multiple_of(SE_REGION_ALIGN);
    let journal = (SE_REGION_ALIGN, SE_REGION_ALIGN);
    let gd = (journal.0 + journal.1, region((gd_entries * 8).div_ceil(SECTOR)));
    let gts = (gd.0 + gd.1, region(gd_entries * SESPARSE_GT_SECTORS));
    let bitmap = (gts.0 + gts.1, region(grains.div_ceil(8).div_ceil(SECTOR)));
    let backmap = (bitmap.0 + bitmap.1, region((grains * 8).div_ceil(SECTOR)));
    let grain_region = (backmap.0 + backmap.1, grains * SESPARSE_GRAIN_SECTORS);
    [(1, 1), (2, 2), journal, gd, gts, bitmap, backmap, grain_region]
}

/// Lays out an SEsparse delta for `diff` (whose grain must be 8 sectors).
pub fn write_sesparse(diff: &Diff, opts: &SeSparseOptions) -> Result<SparseExtent, EsxiError> {
    if diff.grain_bytes != SESPARSE_GRAIN_SECTORS * SECTOR {
        return Err(EsxiError::BadGrainSize(diff.grain_bytes / SECTOR));
    }
    let capacity = diff.capacity_sectors();
    let regions = se_regions(capacity);
    let [volatile, journal_header, journal, gd, gts, bitmap, backmap, grains_region] = regions;
    let gd_entries = capacity.div_ceil(SESPARSE_GRAIN_SECTORS).div_ceil(SESPARSE_GTES_PER_GT);

    // Allocate grain tables and grains by index.
    let groups = by_table(diff, SESPARSE_GTES_PER_GT, opts.order);
    let mut gt_index: BTreeMap<u64, u64> = BTreeMap::new();
    let mut grain_index: BTreeMap<u64, u64> = BTreeMap::new();
    for (t, _) in &groups {
        let n = gt_index.len() as u64;
        gt_index.insert(*t, n);
    }
    for (_, gs) in &groups {
        for &g in gs {
            let needs_data = match diff.changes[&g] {
                Change::Data(_) => true,
                Change::Zeroed { .. } => opts.zeroed != ZeroedGrains::ZeroEntry,
            };
            if needs_data {
                let n = grain_index.len() as u64;
                grain_index.insert(g, n);
            }
        }
    }
    let end = (grains_region.0 + grain_index.len() as u64 * SESPARSE_GRAIN_SECTORS) * SECTOR;
    let mut b = vec![0u8; end as usize];

    // Constant header.
    let fields = [
        SESPARSE_CONST_MAGIC,
        SESPARSE_VERSION,
        capacity,
        SESPARSE_GRAIN_SECTORS,
        SESPARSE_GT_SECTORS,
        0, // flags
        0,
        0,
        0,
        0, // reserved
    ];
    for (i, v) in fields.iter().enumerate() {
        put64(&mut b, 8 * i as u64, *v);
    }
    for (i, (off, size)) in regions.iter().enumerate() {
        put64(&mut b, 80 + 16 * i as u64, *off);
        put64(&mut b, 88 + 16 * i as u64, *size);
    }
    // Volatile header.
    let vh = volatile.0 * SECTOR;
    put64(&mut b, vh, SESPARSE_VOLATILE_MAGIC);
    put64(&mut b, vh + 8, gt_index.len() as u64); // free GT number: the next unused table
    let _ = (journal_header, journal, bitmap, backmap); // left zero, see the module docs

    let mut layout = ExtentLayout {
        capacity_sectors: capacity,
        grain_sectors: SESPARSE_GRAIN_SECTORS,
        gd_offset: gd.0 * SECTOR,
        gd_entries,
        grains_offset: grains_region.0 * SECTOR,
        ..ExtentLayout::default()
    };
    let gt_bytes = SESPARSE_GT_SECTORS * SECTOR;
    for (&t, &i) in &gt_index {
        put64(&mut b, gd.0 * SECTOR + 8 * t, SE_GD_ALLOCATED | i);
        layout.gt_offsets.insert(t, gts.0 * SECTOR + i * gt_bytes);
    }
    for (&g, change) in &diff.changes {
        let table = layout.gt_offsets[&(g / SESPARSE_GTES_PER_GT)];
        let entry_offset = table + 8 * (g % SESPARSE_GTES_PER_GT);
        let data_offset = grain_index.get(&g).map(|i| layout.grains_offset + i * diff.grain_bytes);
        let entry = match (change, grain_index.get(&g)) {
            (Change::Data(d), Some(&i)) => {
                put_bytes(&mut b, data_offset.unwrap_or_default(), d);
                sesparse_allocated_entry(i)
            }
            (Change::Zeroed { old }, Some(&i)) if opts.zeroed == ZeroedGrains::Unmapped => {
                put_bytes(&mut b, data_offset.unwrap_or_default(), old);
                SE_GTE_UNMAPPED | (sesparse_allocated_entry(i) & !0xf000_0000_0000_0000)
            }
            (Change::Zeroed { .. }, Some(&i)) => sesparse_allocated_entry(i), // allocated zeros
            (_, None) => SE_GTE_ZERO,
        };
        put64(&mut b, entry_offset, entry);
        layout.grains.insert(g, GrainPlace { entry_offset, entry, data_offset });
    }

    for c in &opts.corruptions {
        match c {
            Corruption::GdSize(n) => put64(&mut b, 136, *n),
            Corruption::Capacity(n) => put64(&mut b, 16, *n),
            Corruption::GrainPastEof(g) => {
                let place = grain_place(&layout, *g)?;
                // Past the reserved grains region, and so past the end of the file.
                let past = grains_region.1 / SESPARSE_GRAIN_SECTORS + 16;
                put64(&mut b, place.entry_offset, sesparse_allocated_entry(past));
            }
            Corruption::GrainAtTable(_) => {
                return Err(EsxiError::Unsupported(
                    "SEsparse grain entries index the grains region; use Bytes to move grains_offset".into(),
                ))
            }
            Corruption::GrainEntry { grain, value } => {
                let place = grain_place(&layout, *grain)?;
                put64(&mut b, place.entry_offset, *value);
            }
            Corruption::GdEntry { index, value } => put_bytes(&mut b, gd.0 * SECTOR + 8 * index, &value.to_le_bytes()),
            Corruption::Bytes { offset, bytes } => put_bytes(&mut b, *offset, bytes),
        }
    }
    Ok(SparseExtent { bytes: b, layout })
}

// ---------------------------------------------------------------------------------------------
// Descriptors

/// The three kinds of ESXi extent this module writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtentKind {
    /// A flat base: `createType="vmfs"`, extent `VMFS`, file `NAME-flat.vmdk`.
    Vmfs,
    /// A COWD delta: `createType="vmfsSparse"`, extent `VMFSSPARSE`, file `NAME-delta.vmdk`.
    VmfsSparse,
    /// An SEsparse delta: `createType="seSparse"`, extent `SESPARSE`, file `NAME-sesparse.vmdk`.
    SeSparse,
}

impl ExtentKind {
    /// The descriptor's `createType`.
    pub fn create_type(self) -> &'static str {
        match self {
            ExtentKind::Vmfs => "vmfs",
            ExtentKind::VmfsSparse => "vmfsSparse",
            ExtentKind::SeSparse => "seSparse",
        }
    }
    /// The extent type on the extent line.
    pub fn extent_type(self) -> &'static str {
        match self {
            ExtentKind::Vmfs => "VMFS",
            ExtentKind::VmfsSparse => "VMFSSPARSE",
            ExtentKind::SeSparse => "SESPARSE",
        }
    }
    /// The suffix ESXi gives the extent file (`NAME-SUFFIX.vmdk`).
    pub fn file_suffix(self) -> &'static str {
        match self {
            ExtentKind::Vmfs => "flat",
            ExtentKind::VmfsSparse => "delta",
            ExtentKind::SeSparse => "sesparse",
        }
    }
}

/// One extent line: `ACCESS SECTORS TYPE "FILE"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtentLine {
    /// `RW`, `RDONLY` or `NOACCESS`.
    pub access: String,
    /// Size in sectors.
    pub sectors: u64,
    /// `VMFS`, `VMFSSPARSE`, `SESPARSE`, ...
    pub kind: String,
    /// The extent file, relative to the descriptor.
    pub file: String,
}

/// A VMDK text descriptor as ESXi writes it. Build one with [`Descriptor::base`] or
/// [`Descriptor::snapshot`], adjust fields (e.g. a wrong `parent_cid`), then [`Descriptor::render`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Descriptor {
    /// `CID` (content ID).
    pub cid: u32,
    /// `parentCID`: the parent's `CID`, or [`NO_PARENT_CID`].
    pub parent_cid: u32,
    /// `createType`.
    pub create_type: String,
    /// `parentFileNameHint`, for a snapshot.
    pub parent_file_name_hint: Option<String>,
    /// The extent lines.
    pub extents: Vec<ExtentLine>,
    /// The disk database, in order (`ddb.` prefix included).
    pub ddb: Vec<(String, String)>,
}

/// A 64-bit mixer (splitmix64) for deterministic IDs.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A deterministic content ID for layer `layer` of a chain seeded with `seed` (never `ffffffff` or
/// `fffffffe`, which have special meanings).
pub fn content_id(seed: u64, layer: u32) -> u32 {
    let c = mix(seed ^ (u64::from(layer) << 40)) as u32;
    if c >= 0xffff_fffe {
        c - 2
    } else {
        c
    }
}

fn long_content_id(cid: u32) -> String {
    // 128 bits; ESXi's CID is the low 32 bits of the long content ID.
    format!("{:016x}{:08x}{cid:08x}", mix(u64::from(cid)), mix(u64::from(cid) + 1) as u32)
}

fn uuid_text(cid: u32) -> String {
    let a = mix(u64::from(cid) ^ 0x5555).to_be_bytes();
    let b = mix(u64::from(cid) ^ 0xaaaa).to_be_bytes();
    let h = |x: &[u8]| x.iter().map(|v| format!("{v:02x}")).collect::<Vec<_>>().join(" ");
    format!("{}-{}", h(&a), h(&b))
}

impl Descriptor {
    /// The descriptor of a flat base disk (`createType="vmfs"`) with the full disk database ESXi
    /// writes for a new disk (LSI Logic adapter, 255/63 geometry, hardware version 14).
    pub fn base(flat_file: &str, capacity_sectors: u64, cid: u32) -> Descriptor {
        let cylinders = (capacity_sectors / (255 * 63)).clamp(1, 65535);
        let ddb = [
            ("ddb.adapterType", "lsilogic".to_string()),
            ("ddb.deletable", "true".to_string()),
            ("ddb.geometry.cylinders", cylinders.to_string()),
            ("ddb.geometry.heads", "255".to_string()),
            ("ddb.geometry.sectors", "63".to_string()),
            ("ddb.longContentID", long_content_id(cid)),
            ("ddb.thinProvisioned", "1".to_string()),
            ("ddb.uuid", uuid_text(cid)),
            ("ddb.virtualHWVersion", "14".to_string()),
        ];
        Descriptor {
            cid,
            parent_cid: NO_PARENT_CID,
            create_type: ExtentKind::Vmfs.create_type().to_string(),
            parent_file_name_hint: None,
            extents: vec![ExtentLine {
                access: "RW".into(),
                sectors: capacity_sectors,
                kind: ExtentKind::Vmfs.extent_type().into(),
                file: flat_file.into(),
            }],
            ddb: ddb.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        }
    }

    /// The descriptor of a snapshot delta of `kind` over the disk described by `parent_hint`
    /// (whose `CID` is `parent_cid`), with the short disk database ESXi writes for snapshots.
    pub fn snapshot(
        kind: ExtentKind,
        extent_file: &str,
        capacity_sectors: u64,
        cid: u32,
        parent_cid: u32,
        parent_hint: &str,
    ) -> Descriptor {
        let mut ddb = vec![("ddb.deletable".to_string(), "true".to_string())];
        if kind == ExtentKind::SeSparse {
            ddb.push(("ddb.grain".into(), SESPARSE_GRAIN_SECTORS.to_string()));
        }
        ddb.push(("ddb.longContentID".into(), long_content_id(cid)));
        Descriptor {
            cid,
            parent_cid,
            create_type: kind.create_type().to_string(),
            parent_file_name_hint: Some(parent_hint.to_string()),
            extents: vec![ExtentLine {
                access: "RW".into(),
                sectors: capacity_sectors,
                kind: kind.extent_type().into(),
                file: extent_file.into(),
            }],
            ddb,
        }
    }

    /// Sets (or adds) a disk-database entry.
    pub fn set_ddb(&mut self, key: &str, value: &str) {
        match self.ddb.iter_mut().find(|(k, _)| k == key) {
            Some(e) => e.1 = value.to_string(),
            None => self.ddb.push((key.to_string(), value.to_string())),
        }
    }

    /// The descriptor text (LF line endings, as ESXi writes it).
    pub fn render(&self) -> String {
        let mut s = String::new();
        s.push_str("# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\n");
        s.push_str(&format!("CID={:08x}\nparentCID={:08x}\n", self.cid, self.parent_cid));
        s.push_str("isNativeSnapshot=\"no\"\n");
        s.push_str(&format!("createType=\"{}\"\n", self.create_type));
        match &self.parent_file_name_hint {
            Some(p) => s.push_str(&format!("parentFileNameHint=\"{p}\"\n")),
            None => s.push('\n'),
        }
        s.push_str("# Extent description\n");
        for e in &self.extents {
            s.push_str(&format!("{} {} {} \"{}\"\n", e.access, e.sectors, e.kind, e.file));
        }
        s.push_str("\n# The Disk Data Base \n#DDB\n\n");
        for (k, v) in &self.ddb {
            s.push_str(&format!("{k} = \"{v}\"\n"));
        }
        s
    }
}

// ---------------------------------------------------------------------------------------------
// Files and chains

/// Writes `bytes` to `path`, leaving 4 KiB blocks of zeros as holes.
pub fn write_sparse(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = File::create(path)?;
    for (i, block) in bytes.chunks(4096).enumerate() {
        if !is_zero(block) {
            f.seek(SeekFrom::Start(i as u64 * 4096))?;
            f.write_all(block)?;
        }
    }
    f.set_len(bytes.len() as u64)?;
    Ok(())
}

/// Copies `len` bytes from `from` to `path`, leaving 4 KiB blocks of zeros as holes.
pub fn copy_sparse(mut from: impl Read, len: u64, path: &Path) -> io::Result<()> {
    let mut f = File::create(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0u64;
    while pos < len {
        let n = (len - pos).min(buf.len() as u64) as usize;
        from.read_exact(&mut buf[..n])?;
        for (i, block) in buf[..n].chunks(4096).enumerate() {
            if !is_zero(block) {
                f.seek(SeekFrom::Start(pos + i as u64 * 4096))?;
                f.write_all(block)?;
            }
        }
        pos += n as u64;
    }
    f.set_len(len)?;
    Ok(())
}

/// A raw disk image, in memory or in a file.
#[derive(Clone, Copy, Debug)]
pub enum Image<'a> {
    /// The image's bytes.
    Bytes(&'a [u8]),
    /// A raw image file.
    File(&'a Path),
}

impl Image<'_> {
    fn open(&self) -> io::Result<(Box<dyn Read + '_>, u64)> {
        match self {
            Image::Bytes(b) => Ok((Box::new(*b), b.len() as u64)),
            Image::File(p) => {
                let f = File::open(p)?;
                let len = f.metadata()?.len();
                Ok((Box::new(io::BufReader::with_capacity(1 << 20, f)), len))
            }
        }
    }
}

/// Options of [`write_chain`].
#[derive(Clone, Debug)]
pub struct ChainOptions {
    /// Seed of the layers' content IDs (see [`content_id`]).
    pub cid_seed: u64,
    /// Options of every COWD layer.
    pub cowd: CowdOptions,
    /// Options of every SEsparse layer.
    pub sesparse: SeSparseOptions,
}

impl Default for ChainOptions {
    fn default() -> Self {
        ChainOptions { cid_seed: 0x5245_474e_4554, cowd: CowdOptions::default(), sesparse: SeSparseOptions::default() }
    }
}

/// The files [`write_chain`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainFiles {
    /// Descriptor of each layer, base first: `NAME.vmdk`, `NAME-000001.vmdk`, ...
    pub descriptors: Vec<PathBuf>,
    /// Extent of each layer: `NAME-flat.vmdk`, `NAME-000001-delta.vmdk` or
    /// `NAME-000001-sesparse.vmdk`, ...
    pub extents: Vec<PathBuf>,
    /// The `CID` of each layer.
    pub cids: Vec<u32>,
}

/// Writes a snapshot chain into `dir` as ESXi names it: the flat base `NAME.vmdk` +
/// `NAME-flat.vmdk`, then for each layer `k` (1-based) `NAME-00000k.vmdk` and its extent
/// `NAME-00000k-delta.vmdk` (COWD, [`ExtentKind::VmfsSparse`]) or `NAME-00000k-sesparse.vmdk`
/// ([`ExtentKind::SeSparse`]), each the difference from the layer below, with `CID`s chained.
/// All images must be the same size.
pub fn write_chain(
    dir: &Path,
    name: &str,
    base: Image<'_>,
    layers: &[(ExtentKind, Image<'_>)],
    opts: &ChainOptions,
) -> Result<ChainFiles, EsxiError> {
    std::fs::create_dir_all(dir)?;
    let (reader, size) = base.open()?;
    check_size(size)?;
    let capacity = size / SECTOR;
    let mut files = ChainFiles { descriptors: Vec::new(), extents: Vec::new(), cids: Vec::new() };
    let flat = format!("{name}-flat.vmdk");
    copy_sparse(reader, size, &dir.join(&flat))?;
    let cid = content_id(opts.cid_seed, 0);
    let desc = format!("{name}.vmdk");
    std::fs::write(dir.join(&desc), Descriptor::base(&flat, capacity, cid).render())?;
    files.descriptors.push(dir.join(&desc));
    files.extents.push(dir.join(&flat));
    files.cids.push(cid);

    let mut parent = base;
    let mut parent_desc = desc;
    for (i, (kind, image)) in layers.iter().enumerate() {
        let k = i as u32 + 1;
        let (p, psize) = parent.open()?;
        let (c, csize) = image.open()?;
        if psize != csize {
            return Err(EsxiError::SizeMismatch { parent: psize, child: csize });
        }
        let extent = match kind {
            ExtentKind::VmfsSparse => cowd_delta(p, c, size, &opts.cowd)?,
            ExtentKind::SeSparse => sesparse_delta(p, c, size, &opts.sesparse)?,
            ExtentKind::Vmfs => return Err(EsxiError::Unsupported("a flat layer above the base".into())),
        };
        let stem = format!("{name}-{k:06}");
        let extent_file = format!("{stem}-{}.vmdk", kind.file_suffix());
        extent.write_to(&dir.join(&extent_file))?;
        let cid = content_id(opts.cid_seed, k);
        let parent_cid = *files.cids.last().unwrap_or(&NO_PARENT_CID);
        let d = Descriptor::snapshot(*kind, &extent_file, capacity, cid, parent_cid, &parent_desc);
        let desc = format!("{stem}.vmdk");
        std::fs::write(dir.join(&desc), d.render())?;
        files.descriptors.push(dir.join(&desc));
        files.extents.push(dir.join(&extent_file));
        files.cids.push(cid);
        parent = *image;
        parent_desc = desc;
    }
    Ok(files)
}
