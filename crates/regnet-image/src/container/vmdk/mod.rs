//! VMDK images, read-only: hosted sparse extents (monolithicSparse, twoGbMaxExtentSparse),
//! stream-optimized compressed extents (streamOptimized, with the grain directory in the header or
//! in the footer), flat extents (monolithicFlat, twoGbMaxExtentFlat, vmfs) and zero extents, the
//! ESXi snapshot deltas (vmfsSparse: `COWD` extents, `-delta.vmdk`, VMFS5; seSparse: `-sesparse.vmdk`,
//! the default on VMFS6), named by a descriptor (a text file, or embedded in a sparse file), and
//! snapshot chains through `parentFileNameHint`.
//!
//! The module is split by structure:
//! - `descriptor`: the text descriptor (createType, CID, parentCID, parentFileNameHint, extents);
//! - `hosted`: `KDMV` sparse extents, plain or stream-optimized;
//! - `cowd`: `COWD` (VMFSSPARSE) delta extents;
//! - `sesparse`: SESPARSE delta extents;
//! - here: the disk, its layers (the disk and its parents), each a list of extents laid end to
//!   end, and the read path, which serves each byte from the first layer that holds it.
//!
//! All numbers are little-endian and most are in 512-byte sectors. In every sparse kind a grain
//! the delta does not hold (an unallocated grain, or a grain table the directory does not list)
//! is the parent's data (zeros with no parent); a grain it holds, or marks as zeroed, hides the
//! parent's. Parents are only read for what the layers above them do not hold.
//!
//! Hostile-input rules (HOSTILE-INPUTS.md §1.4, §3.1 C9–C12; each format's own in its module):
//! - every grain directory is checked against `max_table_bytes` (one budget for all extents of all
//!   layers) and against the file before it is allocated;
//! - extents and parents are opened only through the [`Resolver`] (`/etc/passwd`, `../x` and
//!   `json:{...}` are refused there), parents in a loop bounded by `max_chain_depth`; a parent that
//!   is already in the chain is a loop and refused; device extents (raw device maps, full devices)
//!   are refused;
//! - a parent whose CID differs from its child's `parentCID` is read, with a warning
//!   ([`VirtualDisk::warnings`]): VMware itself refuses such a chain, but the data is usually the
//!   best there is;
//! - a bare delta file (a `-delta.vmdk` or `-sesparse.vmdk` opened without its descriptor) opens as
//!   a disk without parent, with a warning.

mod cowd;
mod descriptor;
mod hosted;
mod sesparse;

use crate::container::cache::{InflateBudget, LruCache};
use crate::disk::{read_in_pieces, ContainerFormat, VirtualDisk};
use crate::error::{ImageError, Result};
use crate::limits::ImageLimits;
use crate::source::{FileSource, Resolver};
use cowd::Cowd;
use descriptor::{check_create_type, parse_descriptor, text_until_nul, Descriptor, ExtentLine, DESCRIPTOR_MAGIC};
use hosted::{Sparse, SPARSE_MAGIC};
use sesparse::SeSparse;

/// Bytes per sector, the unit of most fields.
const SECTOR: u64 = 512;
/// Largest grain: 2^21 sectors (1 GiB), qemu's bound. VMware writes 128 sectors.
const MAX_GRAIN_SECTORS: u64 = 1 << 21;
/// Largest virtual disk: 2^61 bytes, far beyond VMware's 62 TiB, and keeps `offset + length` far
/// from overflow.
const MAX_DISK_BYTES: u64 = 1 << 61;
/// Grain tables of u32 entries cached per disk layer (hosted: ≤ 2 KiB each, COWD: 16 KiB).
const GT_CACHE: usize = 64;
/// SESparse grain tables (32 KiB each) cached per disk layer.
const GT64_CACHE: usize = 32;
/// Inflated grains cached per disk chain, in bytes (64 grains of 64 KiB).
const GRAIN_CACHE_BYTES: u64 = 4 << 20;
/// Most inflated grains cached per layer.
const GRAIN_CACHE_MAX: usize = 1024;

/// A VMDK image as a virtual disk, with its chain of parents.
pub struct VmdkDisk {
    size: u64,
    /// The disk itself, then its parent, then the parent's parent...
    layers: Vec<Layer>,
    inflated: InflateBudget,
    warnings: Vec<String>,
}

impl std::fmt::Debug for VmdkDisk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VmdkDisk").field("size", &self.size).field("layers", &self.layers.len()).finish()
    }
}

/// One disk of the chain: its extents laid end to end.
struct Layer {
    size: u64,
    cid: Option<u32>,
    extents: Vec<Extent>,
    /// Grain tables of hosted and COWD extents, keyed by extent index << 32 | GT sector.
    gts: LruCache<Vec<u32>>,
    /// Grain tables of SESparse extents, keyed by extent index << 32 | GD index.
    gts64: LruCache<Vec<u64>>,
    /// Inflated grains, keyed by extent index << 32 | grain sector.
    grains: LruCache<Vec<u8>>,
}

/// An extent: `len` bytes of the layer from `start`.
struct Extent {
    start: u64,
    len: u64,
    kind: ExtentKind,
}

enum ExtentKind {
    Zero,
    /// Bytes of `src` from `base`.
    Flat {
        src: FileSource,
        base: u64,
    },
    Sparse(Box<Sparse>),
    Cowd(Box<Cowd>),
    SeSparse(Box<SeSparse>),
}

impl ExtentKind {
    /// The file data of this extent is read from.
    fn file(&mut self) -> Option<&mut FileSource> {
        match self {
            ExtentKind::Zero => None,
            ExtentKind::Flat { src, .. } => Some(src),
            ExtentKind::Sparse(s) => Some(&mut s.src),
            ExtentKind::Cowd(c) => Some(&mut c.src),
            ExtentKind::SeSparse(s) => Some(&mut s.src),
        }
    }
}

/// What one stretch of a layer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Map {
    /// Not in this layer: the parent's data, or zeros.
    Unallocated,
    /// Zeros, hiding the parent's data.
    Zero,
    /// At byte `at` of extent `extent`'s file.
    Data { extent: usize, at: u64 },
    /// `intra` bytes into grain number `grain` of extent `extent`, stored compressed at `sector`.
    Compressed { extent: usize, sector: u32, grain: u64, intra: u64 },
}

/// The parent a descriptor names.
struct ParentRef {
    name: String,
    cid: Option<u32>,
}

impl VmdkDisk {
    /// Opens a VMDK (a sparse file, a bare delta extent, or a text descriptor), its extents and,
    /// through `resolver`, its parents, at most `max_chain_depth` of them.
    pub fn open(src: FileSource, resolver: &dyn Resolver, limits: &ImageLimits) -> Result<Self> {
        // Grain directories of every extent of every layer share one `max_table_bytes` budget.
        let mut table_bytes = 0u64;
        let mut warnings = Vec::new();
        // The files of the chain so far, by the name their source carries (a resolver's canonical
        // path), to refuse a loop before it costs `max_chain_depth` opens.
        let mut seen = vec![src.name().to_owned()];
        let (top, mut parent) = open_layer(src, resolver, limits, &mut table_bytes, &mut warnings)?;
        let size = top.size;
        let mut layers = vec![top];
        while let Some(p) = parent.take() {
            ImageLimits::check("max_chain_depth", layers.len() as u64, u64::from(limits.max_chain_depth))?;
            let file = resolver.open(&p.name, "VMDK parent disk")?;
            if seen.iter().any(|s| s == file.name()) {
                return Err(corrupt(
                    "VMDK parent chain",
                    0,
                    format!(
                        "parentFileNameHint {:?} names {}, a disk already in the chain: the chain loops",
                        p.name,
                        file.name()
                    ),
                ));
            }
            seen.push(file.name().to_owned());
            let child = seen.len().saturating_sub(2);
            let (layer, next) = open_layer(file, resolver, limits, &mut table_bytes, &mut warnings)?;
            if let (Some(want), Some(got)) = (p.cid, layer.cid) {
                if want != got {
                    warnings.push(format!(
                        "VMDK parentCID: disk {child} of the chain expects parent CID {want:08x} but {:?} has CID {got:08x}: \
                         the parent changed after the snapshot was taken, so the disk read may mix two points in time",
                        p.name
                    ));
                }
            }
            layers.push(layer);
            parent = next;
        }
        // The grain cache budget is shared by the chain, so a deep chain cannot multiply it.
        let n = layers.len() as u64;
        for layer in &mut layers {
            let grain = layer
                .extents
                .iter()
                .filter_map(|e| match &e.kind {
                    ExtentKind::Sparse(s) if s.compressed => Some(s.grain_bytes),
                    _ => None,
                })
                .max()
                .unwrap_or(1 << 16);
            let count = usize::try_from(GRAIN_CACHE_BYTES / n / grain).unwrap_or(GRAIN_CACHE_MAX);
            layer.grains = LruCache::new(count.clamp(1, GRAIN_CACHE_MAX));
        }
        Ok(VmdkDisk { size, layers, inflated: InflateBudget::new(limits.max_inflated_bytes), warnings })
    }

    /// Number of disks in the chain (the disk and its parents).
    pub fn chain_len(&self) -> usize {
        self.layers.len()
    }
}

impl VirtualDisk for VmdkDisk {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let (layers, inflated) = (&mut self.layers, &mut self.inflated);
        read_in_pieces("VMDK disk", self.size, offset, buf, |off, rest| read_piece(layers, inflated, off, rest))
    }

    fn format(&self) -> ContainerFormat {
        ContainerFormat::Vmdk
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }
}

/// Fills the start of `out` (disk offset `off`) from the first layer that holds it; returns how
/// many bytes were filled (≥ 1). Each layer can only shorten the piece.
fn read_piece(layers: &mut [Layer], budget: &mut InflateBudget, off: u64, out: &mut [u8]) -> Result<usize> {
    let mut want = out.len() as u64;
    for layer in layers.iter_mut() {
        if off >= layer.size {
            // A parent smaller than its child: zeros past its end.
            break;
        }
        want = want.min(layer.size - off);
        let (map, n) = layer.lookup(off, want)?;
        want = n.min(want).max(1);
        let piece = out.get_mut(..usize::try_from(want).unwrap_or(usize::MAX)).unwrap_or_default();
        match map {
            Map::Unallocated => continue,
            Map::Zero => piece.fill(0),
            Map::Data { extent, at } => {
                let kind = layer.extents.get_mut(extent).map(|e| &mut e.kind);
                let what = match kind {
                    Some(ExtentKind::Flat { .. }) => "VMDK flat extent data",
                    _ => "VMDK grain",
                };
                let src = kind
                    .and_then(ExtentKind::file)
                    .ok_or_else(|| corrupt("VMDK extent", off, "data mapped to an extent without a file"))?;
                src.read_exact_at(at, piece, what)?
            }
            Map::Compressed { extent, sector, grain, intra } => {
                layer.read_compressed(extent, sector, grain, intra, piece, budget)?
            }
        }
        return Ok(piece.len());
    }
    let piece = out.get_mut(..usize::try_from(want).unwrap_or(usize::MAX)).unwrap_or_default();
    piece.fill(0);
    Ok(piece.len())
}

impl Layer {
    /// What `off` (< size) maps to, and for how many bytes (1..=want) the mapping continues.
    fn lookup(&mut self, off: u64, want: u64) -> Result<(Map, u64)> {
        let idx = self.extents.partition_point(|e| e.start.saturating_add(e.len) <= off);
        let ext = self.extents.get_mut(idx).ok_or_else(|| corrupt("VMDK extents", off, "offset beyond the extents"))?;
        let rel = off.saturating_sub(ext.start);
        let want = want.min(ext.len.saturating_sub(rel)).max(1);
        match &mut ext.kind {
            ExtentKind::Zero => Ok((Map::Zero, want)),
            ExtentKind::Flat { base, .. } => Ok((Map::Data { extent: idx, at: base.saturating_add(rel) }, want)),
            ExtentKind::Sparse(s) => s.lookup(idx, rel, want, &mut self.gts),
            ExtentKind::Cowd(c) => c.lookup(idx, rel, want, &mut self.gts),
            ExtentKind::SeSparse(s) => s.lookup(idx, rel, want, &mut self.gts64),
        }
    }

    /// Copies from the inflated grain (cached, or read and inflated now).
    fn read_compressed(
        &mut self,
        extent: usize,
        sector: u32,
        grain: u64,
        intra: u64,
        out: &mut [u8],
        budget: &mut InflateBudget,
    ) -> Result<()> {
        let Some(ExtentKind::Sparse(s)) = self.extents.get_mut(extent).map(|e| &mut e.kind) else {
            return Err(corrupt("VMDK extent", u64::from(sector) * SECTOR, "compressed grain outside a sparse extent"));
        };
        let key = (extent as u64) << 32 | u64::from(sector);
        let data = self.grains.get_or_try_insert_with(key, || s.inflate_grain(sector, grain, budget))?;
        let start = usize::try_from(intra).unwrap_or(usize::MAX);
        let piece = data
            .get(start..start.saturating_add(out.len()))
            .ok_or_else(|| corrupt("VMDK compressed grain", u64::from(sector) * SECTOR, "read outside the grain"))?;
        out.copy_from_slice(piece);
        Ok(())
    }
}

fn le_u16(b: &[u8], at: usize) -> u16 {
    b.get(at..at.saturating_add(2)).and_then(|s| s.try_into().ok()).map_or(0, u16::from_le_bytes)
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    b.get(at..at.saturating_add(4)).and_then(|s| s.try_into().ok()).map_or(0, u32::from_le_bytes)
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    b.get(at..at.saturating_add(8)).and_then(|s| s.try_into().ok()).map_or(0, u64::from_le_bytes)
}

fn bad(what: &'static str, offset: u64, value: u64, expected: &'static str) -> ImageError {
    ImageError::BadField { what, offset, value, expected }
}

fn corrupt(what: &'static str, offset: u64, reason: impl Into<String>) -> ImageError {
    ImageError::Corrupt { what, offset, reason: reason.into() }
}

/// Sectors to bytes, refusing what does not fit in `MAX_DISK_BYTES`.
fn sectors_to_bytes(what: &'static str, at: u64, sectors: u64) -> Result<u64> {
    sectors
        .checked_mul(SECTOR)
        .filter(|b| *b <= MAX_DISK_BYTES)
        .ok_or_else(|| bad(what, at, sectors, "a sector count whose bytes fit in 2^61"))
}

/// The magic of a SESparse constant header, as its first 8 bytes.
const SESPARSE_MAGIC_BYTES: [u8; 8] = sesparse::CONST_MAGIC.to_le_bytes();

/// Opens one disk of a chain from its main file: a sparse file (whose embedded descriptor, if any,
/// names only itself), a bare delta extent, or a text descriptor whose extents are opened through
/// `resolver`.
fn open_layer(
    mut src: FileSource,
    resolver: &dyn Resolver,
    limits: &ImageLimits,
    table_bytes: &mut u64,
    warnings: &mut Vec<String>,
) -> Result<(Layer, Option<ParentRef>)> {
    let file_len = src.len();
    let mut magic = [0u8; 8];
    let n = usize::try_from(file_len.min(8)).unwrap_or(8);
    src.read_exact_at(0, magic.get_mut(..n).unwrap_or_default(), "VMDK header")?;
    let head = magic.get(..n).unwrap_or_default();
    let (desc, extents) = if head.starts_with(SPARSE_MAGIC) {
        let (sparse, text) = Sparse::open(src, limits, table_bytes, true)?;
        let desc = match text {
            Some((text, at)) => parse_descriptor(&text, at)?,
            None => Descriptor::default(),
        };
        check_create_type(&desc)?;
        // The embedded descriptor names the file itself: check it agrees with the header.
        if let Some(line) = desc.extents.first() {
            if desc.extents.len() != 1 || !line.kind.eq_ignore_ascii_case("SPARSE") || line.sectors != sparse.capacity {
                return Err(corrupt(
                    "VMDK embedded descriptor",
                    line.at,
                    format!(
                        "a sparse file's descriptor must list one SPARSE extent of its capacity ({} sectors); it lists {} extent(s), the first {} {} sectors",
                        sparse.capacity,
                        desc.extents.len(),
                        line.kind,
                        line.sectors
                    ),
                ));
            }
        }
        let len = sectors_to_bytes("VMDK capacity", 12, sparse.capacity)?;
        (desc, vec![Extent { start: 0, len, kind: ExtentKind::Sparse(Box::new(sparse)) }])
    } else if head.starts_with(cowd::MAGIC) || head == SESPARSE_MAGIC_BYTES {
        // A delta extent without its descriptor: no CID, no parent.
        let name = src.name().to_owned();
        let (len, kind) = if head.starts_with(cowd::MAGIC) {
            let c = Cowd::open(src, limits, table_bytes)?;
            (sectors_to_bytes("VMDK COWD numSectors", 12, c.capacity)?, ExtentKind::Cowd(Box::new(c)))
        } else {
            let s = SeSparse::open(src, limits, table_bytes)?;
            (sectors_to_bytes("VMDK SESparse capacity", 16, s.capacity)?, ExtentKind::SeSparse(Box::new(s)))
        };
        warnings.push(format!(
            "VMDK: {name} is a snapshot delta extent opened without its descriptor, so its parent is unknown: \
             what the delta does not hold reads as zeros; open the descriptor (the .vmdk that names it) instead"
        ));
        (Descriptor::default(), vec![Extent { start: 0, len, kind }])
    } else if n >= 4 && DESCRIPTOR_MAGIC.starts_with(magic.get(..4).unwrap_or_default()) {
        ImageLimits::check("max_header_bytes", file_len, limits.max_header_bytes)?;
        let raw = src.read_vec_at(0, file_len, "VMDK descriptor", "max_header_bytes", limits.max_header_bytes)?;
        if !raw.starts_with(DESCRIPTOR_MAGIC) {
            return Err(ImageError::BadSignature {
                what: "VMDK descriptor",
                offset: 0,
                expected: "# Disk DescriptorFile",
                found: raw.get(..DESCRIPTOR_MAGIC.len()).unwrap_or_default().to_vec(),
            });
        }
        let text = text_until_nul(&raw, 0)?;
        let desc = parse_descriptor(text, 0)?;
        check_create_type(&desc)?;
        if desc.extents.is_empty() {
            return Err(corrupt("VMDK descriptor", 0, "no extent lines"));
        }
        let mut extents = Vec::new();
        extents.try_reserve_exact(desc.extents.len()).map_err(|_| ImageError::LimitExceeded {
            limit: "max_header_bytes",
            value: file_len,
            max: limits.max_header_bytes,
        })?;
        let mut start = 0u64;
        for line in &desc.extents {
            let (len, kind) = open_extent(line, resolver, limits, table_bytes)?;
            extents.push(Extent { start, len, kind });
            start = start.checked_add(len).filter(|s| *s <= MAX_DISK_BYTES).ok_or_else(|| {
                bad("VMDK extent sectors", line.at, line.sectors, "extents summing to at most 2^61 bytes")
            })?;
        }
        (desc, extents)
    } else {
        return Err(ImageError::BadSignature {
            what: "VMDK header",
            offset: 0,
            expected: "KDMV, COWD, a SESparse header or # Disk DescriptorFile",
            found: magic.get(..n.min(4)).unwrap_or_default().to_vec(),
        });
    };
    let size = extents.last().map_or(0, |e| e.start.saturating_add(e.len));
    // `parentCID=ffffffff` means no parent, whatever a stale hint says.
    let parent = match (&desc.parent_hint, desc.parent_cid) {
        (Some(name), cid) if cid != Some(u32::MAX) => Some(ParentRef { name: name.clone(), cid }),
        _ => None,
    };
    let layer = Layer {
        size,
        cid: desc.cid,
        extents,
        gts: LruCache::new(GT_CACHE),
        gts64: LruCache::new(GT64_CACHE),
        grains: LruCache::new(1),
    };
    Ok((layer, parent))
}

/// Opens the file of one extent line through the resolver; returns the extent's length in bytes.
fn open_extent(
    line: &ExtentLine,
    resolver: &dyn Resolver,
    limits: &ImageLimits,
    table_bytes: &mut u64,
) -> Result<(u64, ExtentKind)> {
    let len = sectors_to_bytes("VMDK extent sectors", line.at, line.sectors)?;
    if line.access.eq_ignore_ascii_case("NOACCESS") {
        return Err(ImageError::Unsupported(format!("VMDK extent at descriptor byte {} is NOACCESS", line.at)));
    }
    let kind = line.kind.to_ascii_uppercase();
    let name = || {
        line.file
            .as_deref()
            .ok_or_else(|| corrupt("VMDK extent line", line.at, format!("a {kind} extent without a file name")))
    };
    // The capacity a sparse extent's header gives must be the length its line gives.
    let same_capacity = |capacity: u64| {
        if capacity == line.sectors {
            Ok(())
        } else {
            Err(corrupt(
                "VMDK extent line",
                line.at,
                format!("the extent is listed as {} sectors but its header says {capacity}", line.sectors),
            ))
        }
    };
    match kind.as_str() {
        "ZERO" => Ok((len, ExtentKind::Zero)),
        "FLAT" | "VMFS" => {
            let src = resolver.open(name()?, "VMDK extent")?;
            let base = sectors_to_bytes("VMDK extent offset", line.at, line.offset)?;
            if base.checked_add(len).is_none_or(|end| end > src.len()) {
                return Err(ImageError::Truncated {
                    what: "VMDK flat extent",
                    offset: base,
                    needed: len,
                    available: src.len().saturating_sub(base),
                });
            }
            Ok((len, ExtentKind::Flat { src, base }))
        }
        // Both name a sparse file of either kind (as in qemu): the magic decides.
        "SPARSE" | "VMFSSPARSE" => {
            let mut src = resolver.open(name()?, "VMDK extent")?;
            let mut magic = [0u8; 4];
            let n = usize::try_from(src.len().min(4)).unwrap_or(4);
            src.read_exact_at(0, magic.get_mut(..n).unwrap_or_default(), "VMDK sparse extent header")?;
            if &magic == cowd::MAGIC {
                let c = Cowd::open(src, limits, table_bytes)?;
                same_capacity(c.capacity)?;
                Ok((len, ExtentKind::Cowd(Box::new(c))))
            } else {
                let (sparse, _) = Sparse::open(src, limits, table_bytes, false)?;
                same_capacity(sparse.capacity)?;
                Ok((len, ExtentKind::Sparse(Box::new(sparse))))
            }
        }
        "SESPARSE" => {
            let src = resolver.open(name()?, "VMDK extent")?;
            let s = SeSparse::open(src, limits, table_bytes)?;
            same_capacity(s.capacity)?;
            Ok((len, ExtentKind::SeSparse(Box::new(s))))
        }
        other => Err(ImageError::Unsupported(format!(
            "VMDK extent type {other} (descriptor byte {}); only FLAT, VMFS, SPARSE, VMFSSPARSE, SESPARSE and ZERO extents are read",
            line.at
        ))),
    }
}

/// Charges `bytes` of tables to the image's `max_table_bytes` budget.
fn charge_tables(table_bytes: &mut u64, bytes: u64, limits: &ImageLimits) -> Result<()> {
    let total = table_bytes.saturating_add(bytes);
    ImageLimits::check("max_table_bytes", total, limits.max_table_bytes)?;
    *table_bytes = total;
    Ok(())
}

/// How far a mapping that starts with `len` bytes of grain continues, up to `limit`: over the
/// following grains of the same table (`more` of them) while `next(k)` (k = 1, 2, ... grains on)
/// continues it. Only unallocated, zero and contiguous data runs continue.
fn run_length(
    map: Map,
    mut len: u64,
    limit: u64,
    grain_bytes: u64,
    more: u64,
    mut next: impl FnMut(u64) -> Result<Map>,
) -> Result<u64> {
    let mut k = 1u64;
    while len < limit && k <= more {
        let continues = match (map, next(k)?) {
            (Map::Unallocated, Map::Unallocated) | (Map::Zero, Map::Zero) => true,
            (Map::Data { at: a, .. }, Map::Data { at: b, .. }) => a.checked_add(len) == Some(b),
            _ => false,
        };
        if !continues {
            break;
        }
        len = len.saturating_add(grain_bytes);
        k = k.saturating_add(1);
    }
    Ok(len.min(limit))
}

/// Whether `a` and `b`, half-open ranges, share a byte (empty ranges share none).
fn overlaps(a: (u64, u64), b: (u64, u64)) -> bool {
    a.0 < a.1 && b.0 < b.1 && a.0 < b.1 && b.0 < a.1
}

/// Little-endian u32 entries of a table read from the image.
fn decode_le32(raw: &[u8], max: u64) -> Result<Vec<u32>> {
    let mut v = Vec::new();
    v.try_reserve_exact(raw.len() / 4).map_err(|_| ImageError::LimitExceeded {
        limit: "max_table_bytes",
        value: raw.len() as u64,
        max,
    })?;
    v.extend(raw.chunks_exact(4).map(|c| le_u32(c, 0)));
    Ok(v)
}

/// Little-endian u64 entries of a table read from the image.
fn decode_le64(raw: &[u8], max: u64) -> Result<Vec<u64>> {
    let mut v = Vec::new();
    v.try_reserve_exact(raw.len() / 8).map_err(|_| ImageError::LimitExceeded {
        limit: "max_table_bytes",
        value: raw.len() as u64,
        max,
    })?;
    v.extend(raw.chunks_exact(8).map(|c| le_u64(c, 0)));
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Counters, NoResolver};
    use std::sync::Arc;

    fn mem(name: &str, bytes: Vec<u8>) -> FileSource {
        FileSource::new(
            name,
            Box::new(std::io::Cursor::new(bytes)),
            Arc::new(Counters::default()),
            &ImageLimits::default(),
        )
        .unwrap()
    }

    /// Files served from memory by name.
    struct Mem(Vec<(&'static str, Vec<u8>)>);

    impl Resolver for Mem {
        fn open(&self, name: &str, what: &'static str) -> Result<FileSource> {
            match self.0.iter().find(|(n, _)| *n == name) {
                Some((n, b)) => Ok(mem(n, b.clone())),
                None => Err(ImageError::ExternalReference { what, name: name.into(), reason: "absent".into() }),
            }
        }
    }

    fn open(text: &str, files: Vec<(&'static str, Vec<u8>)>) -> Result<VmdkDisk> {
        VmdkDisk::open(mem("top.vmdk", text.as_bytes().to_vec()), &Mem(files), &ImageLimits::default())
    }

    #[test]
    fn a_parent_smaller_than_its_child_reads_as_zeros_past_its_end() {
        // The child: a 16-sector COWD delta holding sector 1; the parent: 8 sectors of 0x77.
        let delta = cowd::tests::build(16, 1, &[(1, 0x11)]).bytes;
        let top = "# Disk DescriptorFile\nCID=2\nparentCID=1\ncreateType=\"vmfsSparse\"\n\
                   parentFileNameHint=\"p.vmdk\"\nRW 16 VMFSSPARSE \"d.vmdk\"\n";
        let parent =
            "# Disk DescriptorFile\nCID=1\nparentCID=ffffffff\ncreateType=\"vmfs\"\nRW 8 VMFS \"p-flat.vmdk\"\n";
        let mut disk = open(
            top,
            vec![("d.vmdk", delta), ("p.vmdk", parent.as_bytes().to_vec()), ("p-flat.vmdk", vec![0x77; 4096])],
        )
        .unwrap();
        assert_eq!((disk.size(), disk.chain_len()), (8192, 2));
        assert!(format!("{disk:?}").contains("layers: 2"));
        assert!(disk.warnings().is_empty());
        let mut b = vec![0u8; 8192];
        disk.read_at(0, &mut b).unwrap();
        assert!(b[..512].iter().all(|&x| x == 0x77));
        assert!(b[512..1024].iter().all(|&x| x == 0x11));
        assert!(b[1024..4096].iter().all(|&x| x == 0x77));
        assert!(b[4096..].iter().all(|&x| x == 0));
    }

    #[test]
    fn descriptor_refusals() {
        // An extent type this reader does not read, before any file is opened.
        let r = open("# Disk DescriptorFile\nRW 8 VMFSRAW \"x\"\n", vec![]);
        assert!(matches!(r, Err(ImageError::Unsupported(_))), "{r:?}");
        // Starts like a descriptor, but is not one.
        let r = open("# Di\n", vec![]);
        assert!(matches!(r, Err(ImageError::BadSignature { what: "VMDK descriptor", .. })), "{r:?}");
        let r = VmdkDisk::open(mem("x", b"# D".to_vec()), &NoResolver, &ImageLimits::default());
        assert!(matches!(r, Err(ImageError::BadSignature { what: "VMDK header", .. })), "{r:?}");
        // A SESPARSE extent whose capacity disagrees with its line.
        let se = sesparse::tests::build(64, &[]);
        let r = open("# Disk DescriptorFile\nRW 8 SESPARSE \"s\"\n", vec![("s", se)]);
        assert!(matches!(r, Err(ImageError::Corrupt { what: "VMDK extent line", .. })), "{r:?}");
    }

    #[test]
    fn run_length_and_overlaps() {
        let d = |at| Map::Data { extent: 0, at };
        // Contiguous data continues; a gap, or another kind, ends the run; the limit caps it.
        let next = |k: u64| Ok(if k < 3 { d(100 + k * 10) } else { Map::Zero });
        assert_eq!(run_length(d(100), 10, 1000, 10, 10, next).unwrap(), 30);
        assert_eq!(run_length(d(100), 10, 25, 10, 10, next).unwrap(), 25);
        assert_eq!(run_length(Map::Zero, 10, 1000, 10, 2, |_| Ok(Map::Zero)).unwrap(), 30);
        assert!(run_length(Map::Zero, 10, 1000, 10, 2, |_| Err(ImageError::Unsupported("x".into()))).is_err());
        assert!(overlaps((0, 10), (9, 12)) && !overlaps((0, 10), (10, 12)) && !overlaps((5, 5), (0, 10)));
    }
}
