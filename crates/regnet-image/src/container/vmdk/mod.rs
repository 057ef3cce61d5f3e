//! VMDK images, read-only: hosted sparse extents (monolithicSparse, twoGbMaxExtentSparse),
//! stream-optimized compressed extents (streamOptimized, with the grain directory in the header or
//! in the footer), flat extents (monolithicFlat, twoGbMaxExtentFlat, vmfs) and zero extents, named
//! by a descriptor (a text file, or embedded in a sparse file), and snapshot chains through
//! `parentFileNameHint`.
//!
//! Source: VMware's "Virtual Disk Format 5.0" technical note. All numbers are little-endian and
//! most are in 512-byte sectors. A sparse extent starts with a 512-byte `KDMV` header; its grain
//! directory (GD) holds one u32 sector offset per grain table (GT), and each GT holds
//! `numGTEsPerGT` u32 sector offsets of grains: 0 is unallocated (the parent's data, or zeros), 1 a
//! zeroed grain (version 2+ / flag bit 2). In a stream-optimized extent each grain starts with a
//! marker (LBA u64, compressed size u32) followed by zlib data, and a header `gdOffset` of
//! `GD_AT_END` means the real header is the footer in the file's second-to-last sector.
//!
//! Hostile-input rules (HOSTILE-INPUTS.md §1.4, §3.1 C9–C12):
//! - the grain size is a non-zero power of two of at most 2^21 sectors, `numGTEsPerGT` is 1..=512,
//!   the capacity times 512 fits in 2^61 bytes, and the GD (count × 4, computed in u64) is
//!   checked against `max_table_bytes` and the file before it is allocated (bz#1226809);
//! - a descriptor is read whole only up to `max_header_bytes`;
//! - every GT and grain is read through [`FileSource::read_exact_at`], so one past the end of the
//!   file is an error, never silent zeros;
//! - a compressed grain is inflated into one grain at most, its marker must name its own LBA and
//!   its compressed size is bounded; inflated grains are cached and charged to
//!   `max_inflated_bytes`;
//! - extents and parents are opened only through the [`Resolver`] (`/etc/passwd`, `../x` and
//!   `json:{...}` are refused there), parents in a loop bounded by `max_chain_depth`, and device
//!   extents (raw device maps, full devices) are refused.

use super::qcow2::unit::{inflate_into, zeroed, InflateBudget, LruCache};
use crate::disk::{read_in_pieces, ContainerFormat, VirtualDisk};
use crate::error::{ImageError, Result};
use crate::limits::ImageLimits;
use crate::source::{FileSource, Resolver};

/// Bytes per sector, the unit of most fields.
const SECTOR: u64 = 512;
/// Hosted sparse extent magic.
const SPARSE_MAGIC: &[u8; 4] = b"KDMV";
/// ESX / legacy sparse extent magic (VMFSSPARSE, VMware 3): not read.
const COWD_MAGIC: &[u8; 4] = b"COWD";
/// First line of a text descriptor.
const DESCRIPTOR_MAGIC: &[u8] = b"# Disk DescriptorFile";
/// `gdOffset` meaning "the grain directory is given by the footer".
const GD_AT_END: u64 = u64::MAX;
/// Largest grain: 2^21 sectors (1 GiB), qemu's bound. VMware writes 128 sectors.
const MAX_GRAIN_SECTORS: u64 = 1 << 21;
/// The spec's (and qemu's largest accepted) number of entries per grain table.
const MAX_GTES_PER_GT: u32 = 512;
/// Largest virtual disk: 2^61 bytes, far beyond VMware's 62 TiB, and keeps `offset + length` far
/// from overflow.
const MAX_DISK_BYTES: u64 = 1 << 61;
/// Header flag bit 2: GTE 1 means a zeroed grain.
const FLAG_ZERO_GRAIN: u32 = 1 << 2;
/// Header flag bit 17: grains and metadata carry markers.
const FLAG_MARKERS: u32 = 1 << 17;
/// `compressAlgorithm` values.
const COMPRESS_NONE: u16 = 0;
const COMPRESS_DEFLATE: u16 = 1;
/// Marker type of the footer, and the size of a grain marker (LBA u64 + size u32).
const MARKER_FOOTER: u32 = 3;
const GRAIN_MARKER_LEN: u64 = 12;
/// Most extents one descriptor may list: a 2 TiB disk split at 2 GB has 1024. Each is an open file.
const MAX_EXTENTS: usize = 1024;
/// Grain tables cached per disk layer (a GT is at most 2 KiB).
const GT_CACHE: usize = 64;
/// Inflated grains cached per disk chain, in bytes (64 grains of 64 KiB).
const GRAIN_CACHE_BYTES: u64 = 4 << 20;
/// Most inflated grains cached per layer.
const GRAIN_CACHE_MAX: usize = 1024;
/// `createType`s that name host devices rather than files.
const DEVICE_TYPES: [&str; 5] =
    ["fullDevice", "partitionedDevice", "vmfsRaw", "vmfsRawDeviceMap", "vmfsPassthroughRawDeviceMap"];

/// A VMDK image as a virtual disk, with its chain of parents.
pub struct VmdkDisk {
    size: u64,
    /// The disk itself, then its parent, then the parent's parent...
    layers: Vec<Layer>,
    inflated: InflateBudget,
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
    /// Grain tables, keyed by extent index << 32 | GT sector.
    gts: LruCache<Vec<u32>>,
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
}

/// A hosted sparse (or stream-optimized) extent.
struct Sparse {
    src: FileSource,
    /// Capacity in sectors.
    capacity: u64,
    grain_bits: u32,
    grain_bytes: u64,
    gtes: u64,
    gd: Vec<u32>,
    gd_offset: u64,
    compressed: bool,
    zero_grain: bool,
    max_table_bytes: u64,
}

/// What one stretch of a layer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Map {
    Unallocated,
    Zero,
    /// At byte `at` of extent `extent`'s file.
    Data {
        extent: usize,
        at: u64,
    },
    /// `intra` bytes into grain number `grain` of extent `extent`, stored compressed at `sector`.
    Compressed {
        extent: usize,
        sector: u32,
        grain: u64,
        intra: u64,
    },
}

/// The parent a descriptor names.
struct ParentRef {
    name: String,
    cid: Option<u32>,
}

/// The fields of a descriptor this reader uses.
#[derive(Debug, Default)]
struct Descriptor {
    create_type: Option<String>,
    cid: Option<u32>,
    parent_cid: Option<u32>,
    parent_hint: Option<String>,
    extents: Vec<ExtentLine>,
}

/// `ACCESS SECTORS TYPE ["FILE" [OFFSET]]`.
#[derive(Debug)]
struct ExtentLine {
    access: String,
    sectors: u64,
    kind: String,
    file: Option<String>,
    offset: u64,
    /// Byte offset of the line, for messages.
    at: u64,
}

/// The fields of a sparse extent header.
#[derive(Debug, Clone, Copy)]
struct Header {
    version: u32,
    flags: u32,
    capacity: u64,
    grain: u64,
    descriptor_offset: u64,
    descriptor_size: u64,
    gtes: u32,
    rgd_offset: u64,
    gd_offset: u64,
    compress: u16,
}

impl VmdkDisk {
    /// Opens a VMDK (a sparse file or a text descriptor), its extents and, through `resolver`,
    /// its parents, at most `max_chain_depth` of them.
    pub fn open(src: FileSource, resolver: &dyn Resolver, limits: &ImageLimits) -> Result<Self> {
        // Grain directories of every extent of every layer share one `max_table_bytes` budget.
        let mut table_bytes = 0u64;
        let (top, mut parent) = open_layer(src, resolver, limits, &mut table_bytes)?;
        let size = top.size;
        let mut layers = vec![top];
        while let Some(p) = parent.take() {
            ImageLimits::check("max_chain_depth", layers.len() as u64, u64::from(limits.max_chain_depth))?;
            let file = resolver.open(&p.name, "VMDK parent disk")?;
            let (layer, next) = open_layer(file, resolver, limits, &mut table_bytes)?;
            if let (Some(want), Some(got)) = (p.cid, layer.cid) {
                if want != got {
                    return Err(ImageError::Corrupt {
                        what: "VMDK parentCID",
                        offset: 0,
                        reason: format!(
                            "the child expects parent CID {want:08x} but {:?} has CID {got:08x}: the parent changed after the snapshot",
                            p.name
                        ),
                    });
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
        Ok(VmdkDisk { size, layers, inflated: InflateBudget::new(limits.max_inflated_bytes) })
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
            Map::Data { extent, at } => match layer.extents.get_mut(extent).map(|e| &mut e.kind) {
                Some(ExtentKind::Flat { src, .. }) => src.read_exact_at(at, piece, "VMDK flat extent data")?,
                Some(ExtentKind::Sparse(s)) => s.src.read_exact_at(at, piece, "VMDK grain")?,
                _ => return Err(corrupt("VMDK extent", off, "data mapped to an extent without a file")),
            },
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

/// Opens one disk of a chain from its main file: a sparse file (whose embedded descriptor, if any,
/// names only itself) or a text descriptor whose extents are opened through `resolver`.
fn open_layer(
    mut src: FileSource,
    resolver: &dyn Resolver,
    limits: &ImageLimits,
    table_bytes: &mut u64,
) -> Result<(Layer, Option<ParentRef>)> {
    let file_len = src.len();
    let mut magic = [0u8; 4];
    let n = usize::try_from(file_len.min(4)).unwrap_or(4);
    src.read_exact_at(0, magic.get_mut(..n).unwrap_or_default(), "VMDK header")?;
    let (desc, extents) = if &magic == SPARSE_MAGIC {
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
    } else if n == 4 && DESCRIPTOR_MAGIC.starts_with(&magic) {
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
    } else if &magic == COWD_MAGIC {
        return Err(ImageError::Unsupported(
            "VMDK sparse extent in the ESX/legacy COWD format (vmfsSparse); only hosted sparse (KDMV) extents are read"
                .into(),
        ));
    } else {
        return Err(ImageError::BadSignature {
            what: "VMDK header",
            offset: 0,
            expected: "KDMV or # Disk DescriptorFile",
            found: magic.get(..n).unwrap_or_default().to_vec(),
        });
    };
    let size = extents.last().map_or(0, |e| e.start.saturating_add(e.len));
    // `parentCID=ffffffff` means no parent, whatever a stale hint says.
    let parent = match (&desc.parent_hint, desc.parent_cid) {
        (Some(name), cid) if cid != Some(u32::MAX) => Some(ParentRef { name: name.clone(), cid }),
        _ => None,
    };
    let layer = Layer { size, cid: desc.cid, extents, gts: LruCache::new(GT_CACHE), grains: LruCache::new(1) };
    Ok((layer, parent))
}

/// The text of a descriptor region up to its first NUL (embedded descriptors are NUL-padded).
fn text_until_nul(raw: &[u8], at: u64) -> Result<&str> {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let bytes = raw.get(..end).unwrap_or_default();
    std::str::from_utf8(bytes).map_err(|e| {
        corrupt("VMDK descriptor", at.saturating_add(e.valid_up_to() as u64), "the descriptor is not UTF-8 text")
    })
}

/// Refuses descriptors that describe host devices.
fn check_create_type(d: &Descriptor) -> Result<()> {
    if let Some(t) = &d.create_type {
        if DEVICE_TYPES.iter().any(|k| k.eq_ignore_ascii_case(t)) {
            return Err(ImageError::Unsupported(format!(
                "VMDK createType {t:?} maps a host device, which is not read"
            )));
        }
    }
    Ok(())
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
        "SPARSE" => {
            let src = resolver.open(name()?, "VMDK extent")?;
            let (sparse, _) = Sparse::open(src, limits, table_bytes, false)?;
            if sparse.capacity != line.sectors {
                return Err(corrupt(
                    "VMDK extent line",
                    line.at,
                    format!("the extent is listed as {} sectors but its header says {}", line.sectors, sparse.capacity),
                ));
            }
            Ok((len, ExtentKind::Sparse(Box::new(sparse))))
        }
        other => Err(ImageError::Unsupported(format!(
            "VMDK extent type {other} (descriptor byte {}); only FLAT, VMFS, SPARSE and ZERO extents are read",
            line.at
        ))),
    }
}

/// Parses a descriptor's text; `base` is its byte offset in its file, for messages.
fn parse_descriptor(text: &str, base: u64) -> Result<Descriptor> {
    let mut d = Descriptor::default();
    let mut at = base;
    for raw in text.split('\n') {
        let line_at = at;
        at = at.saturating_add(raw.len() as u64).saturating_add(1);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let first = line.split_ascii_whitespace().next().unwrap_or_default();
        if ["RW", "RDONLY", "NOACCESS"].iter().any(|a| a.eq_ignore_ascii_case(first)) {
            if d.extents.len() >= MAX_EXTENTS {
                return Err(ImageError::Unsupported(format!("VMDK descriptor with more than {MAX_EXTENTS} extents")));
            }
            d.extents.push(parse_extent_line(line, first, line_at)?);
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            let value = unquote(value.trim());
            match key.trim() {
                "createType" => d.create_type = Some(value.to_owned()),
                "CID" => d.cid = u32::from_str_radix(value, 16).ok(),
                "parentCID" => d.parent_cid = u32::from_str_radix(value, 16).ok(),
                "parentFileNameHint" => d.parent_hint = Some(value.to_owned()),
                _ => {}
            }
        }
        // Other lines (DDB entries, unknown keys) carry nothing this reader needs.
    }
    Ok(d)
}

fn unquote(v: &str) -> &str {
    v.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(v)
}

/// `ACCESS SECTORS TYPE ["FILE" [OFFSET]]`; the file name is quoted and may hold spaces.
fn parse_extent_line(line: &str, access: &str, at: u64) -> Result<ExtentLine> {
    let bad_line =
        |why: &str| corrupt("VMDK extent line", at, format!("{why}: {:?}", line.chars().take(200).collect::<String>()));
    let rest = line.get(access.len()..).unwrap_or_default().trim_start();
    let (sectors, rest) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let sectors: u64 = sectors.parse().map_err(|_| bad_line("the sector count is not a number"))?;
    let rest = rest.trim_start();
    let (kind, rest) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if kind.is_empty() {
        return Err(bad_line("no extent type"));
    }
    let rest = rest.trim_start();
    let (file, rest) = match rest.strip_prefix('"') {
        Some(q) => {
            let (name, after) = q.split_once('"').ok_or_else(|| bad_line("unterminated file name"))?;
            (Some(name.to_owned()), after.trim_start())
        }
        None => (None, rest),
    };
    let offset = match rest.split_ascii_whitespace().next() {
        Some(o) => o.parse().map_err(|_| bad_line("the offset is not a number"))?,
        None => 0,
    };
    Ok(ExtentLine { access: access.to_owned(), sectors, kind: kind.to_owned(), file, offset, at })
}

impl Header {
    /// Parses a 512-byte header (or footer) read at `at`.
    fn parse(b: &[u8], at: u64) -> Result<Header> {
        if b.get(..4) != Some(SPARSE_MAGIC.as_slice()) {
            return Err(ImageError::BadSignature {
                what: "VMDK sparse header",
                offset: at,
                expected: "KDMV",
                found: b.get(..4).unwrap_or_default().to_vec(),
            });
        }
        let h = Header {
            version: le_u32(b, 4),
            flags: le_u32(b, 8),
            capacity: le_u64(b, 12),
            grain: le_u64(b, 20),
            descriptor_offset: le_u64(b, 28),
            descriptor_size: le_u64(b, 36),
            gtes: le_u32(b, 44),
            rgd_offset: le_u64(b, 48),
            gd_offset: le_u64(b, 56),
            compress: le_u16(b, 77),
        };
        if !(1..=3).contains(&h.version) {
            return Err(bad("VMDK sparse version", at + 4, h.version.into(), "1, 2 or 3"));
        }
        Ok(h)
    }
}

impl Sparse {
    /// Reads and checks a sparse extent's header (or its footer), and its grain directory; with
    /// `want_descriptor`, also the embedded descriptor's text and its offset.
    fn open(
        mut src: FileSource,
        limits: &ImageLimits,
        table_bytes: &mut u64,
        want_descriptor: bool,
    ) -> Result<(Sparse, Option<(String, u64)>)> {
        let file_len = src.len();
        let mut b = [0u8; 512];
        src.read_exact_at(0, &mut b, "VMDK sparse header")?;
        let mut h = Header::parse(&b, 0)?;
        // Where the header fields came from (the footer takes precedence when there is one).
        let mut hat = 0u64;
        if h.gd_offset == GD_AT_END {
            // Footer marker, footer, end-of-stream marker: the file's last three sectors.
            let tail = 3 * SECTOR;
            let start = file_len.checked_sub(tail).ok_or(ImageError::Truncated {
                what: "VMDK footer",
                offset: 0,
                needed: tail,
                available: file_len,
            })?;
            let mut t = [0u8; 1536];
            src.read_exact_at(start, &mut t, "VMDK footer")?;
            let (marker, rest) = t.split_at(512);
            let (footer, eos) = rest.split_at(512);
            if le_u32(marker, 8) != 0 || le_u32(marker, 12) != MARKER_FOOTER {
                return Err(corrupt("VMDK footer marker", start, "expected a footer marker before the footer"));
            }
            if eos.get(..16).is_none_or(|m| m.iter().any(|&x| x != 0)) {
                return Err(corrupt("VMDK end-of-stream marker", start + 1024, "expected an end-of-stream marker"));
            }
            hat = start + 512;
            h = Header::parse(footer, hat)?;
            if h.gd_offset == GD_AT_END {
                return Err(bad("VMDK footer gdOffset", hat + 56, h.gd_offset, "the grain directory's sector"));
            }
        }
        if h.grain == 0 || !h.grain.is_power_of_two() || h.grain > MAX_GRAIN_SECTORS {
            return Err(bad("VMDK grainSize", hat + 20, h.grain, "a power of two of 1..=2^21 sectors"));
        }
        if h.gtes == 0 || h.gtes > MAX_GTES_PER_GT {
            return Err(bad("VMDK numGTEsPerGT", hat + 44, h.gtes.into(), "1..=512"));
        }
        sectors_to_bytes("VMDK capacity", hat + 12, h.capacity)?;
        let compressed = match h.compress {
            COMPRESS_NONE => false,
            COMPRESS_DEFLATE => true,
            c => return Err(ImageError::Unsupported(format!("VMDK compressAlgorithm {c}; only deflate is read"))),
        };
        if compressed && h.flags & FLAG_MARKERS == 0 {
            return Err(ImageError::Unsupported("VMDK compressed grains without grain markers".into()));
        }
        let grain_bytes = h.grain * SECTOR;
        if compressed {
            ImageLimits::check("max_unit_bytes", grain_bytes, limits.max_unit_bytes)?;
        }
        let gtes = u64::from(h.gtes);
        // grain × GTEs ≤ 2^21 × 512 sectors: no overflow; the GD count and size are in u64.
        let gd_entries = h.capacity.div_ceil(h.grain * gtes);
        let gd_bytes = gd_entries.saturating_mul(4);
        let total = table_bytes.saturating_add(gd_bytes);
        ImageLimits::check("max_table_bytes", total, limits.max_table_bytes)?;
        *table_bytes = total;
        let gd_sector = match (h.gd_offset, h.rgd_offset) {
            (0, 0) if gd_entries > 0 => {
                return Err(bad("VMDK gdOffset", hat + 56, 0, "the sector of the grain directory"));
            }
            (0, r) => r,
            (g, _) => g,
        };
        let gd_offset = gd_sector
            .checked_mul(SECTOR)
            .ok_or_else(|| bad("VMDK gdOffset", hat + 56, gd_sector, "a sector inside the file"))?;
        if gd_entries > 0 && gd_offset.checked_add(gd_bytes).is_none_or(|end| end > file_len) {
            return Err(ImageError::Truncated {
                what: "VMDK grain directory",
                offset: gd_offset,
                needed: gd_bytes,
                available: file_len.saturating_sub(gd_offset),
            });
        }
        let gd = if gd_entries > 0 {
            let raw = src.read_vec_at(
                gd_offset,
                gd_bytes,
                "VMDK grain directory",
                "max_table_bytes",
                limits.max_table_bytes,
            )?;
            decode_le32(&raw, limits.max_table_bytes)?
        } else {
            Vec::new()
        };

        let descriptor = if want_descriptor && h.descriptor_size > 0 {
            let bytes = h.descriptor_size.saturating_mul(SECTOR);
            ImageLimits::check("max_header_bytes", bytes, limits.max_header_bytes)?;
            let at = h.descriptor_offset.checked_mul(SECTOR).ok_or_else(|| {
                bad("VMDK descriptorOffset", hat + 28, h.descriptor_offset, "a sector inside the file")
            })?;
            let raw =
                src.read_vec_at(at, bytes, "VMDK embedded descriptor", "max_header_bytes", limits.max_header_bytes)?;
            Some((text_until_nul(&raw, at)?.to_owned(), at))
        } else {
            None
        };

        let sparse = Sparse {
            src,
            capacity: h.capacity,
            grain_bits: grain_bytes.trailing_zeros(),
            grain_bytes,
            gtes,
            gd,
            gd_offset,
            compressed,
            // Version 2+ sparse extents may hold zeroed-grain GTEs; flag bit 2 says so explicitly.
            zero_grain: h.flags & FLAG_ZERO_GRAIN != 0 || h.version >= 2,
            max_table_bytes: limits.max_table_bytes,
        };
        Ok((sparse, descriptor))
    }

    /// Maps byte `rel` (< extent length) of extent number `idx` and says for how many bytes, up to
    /// `want`, the same kind of mapping continues within one grain table.
    fn lookup(&mut self, idx: usize, rel: u64, want: u64, gts: &mut LruCache<Vec<u32>>) -> Result<(Map, u64)> {
        let grain = rel >> self.grain_bits;
        let intra = rel & (self.grain_bytes - 1);
        let gd_index = grain / self.gtes;
        let first = grain % self.gtes;
        // Bytes to the end of what this GT maps (≤ 512 grains of ≤ 1 GiB: < 2^40).
        let table_left = ((self.gtes - first) << self.grain_bits) - intra;
        let limit = want.min(table_left).max(1);
        let gd_at = self.gd_offset.saturating_add(gd_index.saturating_mul(4));
        let gde = usize::try_from(gd_index)
            .ok()
            .and_then(|i| self.gd.get(i).copied())
            .ok_or_else(|| corrupt("VMDK grain directory", gd_at, "grain beyond the grain directory"))?;
        if gde == 0 {
            return Ok((Map::Unallocated, limit));
        }
        let (src, gtes, max_table) = (&mut self.src, self.gtes, self.max_table_bytes);
        let key = (idx as u64) << 32 | u64::from(gde);
        let table = gts.get_or_try_insert_with(key, || {
            let raw =
                src.read_vec_at(u64::from(gde) * SECTOR, gtes * 4, "VMDK grain table", "max_table_bytes", max_table)?;
            decode_le32(&raw, max_table)
        })?;
        let gt_at = u64::from(gde) * SECTOR;
        let (zero_grain, compressed, grain_bytes) = (self.zero_grain, self.compressed, self.grain_bytes);
        let classify = |i: u64, intra: u64| -> Result<Map> {
            let gte = usize::try_from(i).ok().and_then(|i| table.get(i).copied()).unwrap_or(0);
            let g = grain - first + i;
            Ok(match gte {
                0 => Map::Unallocated,
                1 if zero_grain => Map::Zero,
                1 => {
                    return Err(corrupt(
                        "VMDK grain table entry",
                        gt_at + i * 4,
                        "grain at sector 1 (the header) in an extent without zeroed-grain entries",
                    ))
                }
                s if compressed => Map::Compressed { extent: idx, sector: s, grain: g, intra },
                s => Map::Data { extent: idx, at: u64::from(s) * SECTOR + intra },
            })
        };
        let map = classify(first, intra)?;
        let mut len = grain_bytes - intra;
        let mut i = first + 1;
        // Extend over following grains of the same table while they continue the mapping.
        while len < limit && i < gtes && !matches!(map, Map::Compressed { .. }) {
            let continues = match (map, classify(i, 0)?) {
                (Map::Unallocated, Map::Unallocated) | (Map::Zero, Map::Zero) => true,
                (Map::Data { at: a, .. }, Map::Data { at: b, .. }) => a.checked_add(len) == Some(b),
                _ => false,
            };
            if !continues {
                break;
            }
            len += grain_bytes;
            i += 1;
        }
        Ok((map, len.min(limit)))
    }

    /// Reads grain number `grain`'s marker and compressed data at `sector` and inflates it into
    /// one grain.
    fn inflate_grain(&mut self, sector: u32, grain: u64, budget: &mut InflateBudget) -> Result<Vec<u8>> {
        let at = u64::from(sector) * SECTOR;
        let mut m = [0u8; GRAIN_MARKER_LEN as usize];
        self.src.read_exact_at(at, &mut m, "VMDK grain marker")?;
        let lba = le_u64(&m, 0);
        let size = u64::from(le_u32(&m, 8));
        let expected = grain << (self.grain_bits - 9);
        if lba != expected {
            return Err(corrupt(
                "VMDK grain marker",
                at,
                format!("the marker says LBA {lba}, but the grain table maps LBA {expected} here"),
            ));
        }
        // zlib adds a few bytes per 64 KiB stored block; twice the grain is a generous ceiling.
        let max_compressed = self.grain_bytes.saturating_mul(2).saturating_add(SECTOR);
        if size == 0 || size > max_compressed {
            return Err(bad("VMDK grain marker size", at + 8, size, "1 byte to twice the grain size"));
        }
        let input = self.src.read_vec_at(
            at + GRAIN_MARKER_LEN,
            size,
            "VMDK compressed grain",
            "max_unit_bytes",
            max_compressed,
        )?;
        budget.charge(self.grain_bytes)?;
        let mut out = zeroed(self.grain_bytes, "max_unit_bytes", self.grain_bytes)?;
        let n = inflate_into(&input, &mut out, true, "VMDK compressed grain", at)? as u64;
        // Only the extent's last grain may be partial.
        let grain_start = grain << self.grain_bits;
        let need = self.grain_bytes.min((self.capacity * SECTOR).saturating_sub(grain_start));
        if n < need {
            return Err(corrupt(
                "VMDK compressed grain",
                at,
                format!("inflates to {n} bytes, short of the {need} bytes the grain holds"),
            ));
        }
        Ok(out)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_lines() {
        let text =
            "# Disk DescriptorFile\nversion=1\nCID=7ce09369\nparentCID=91bc5ec0\ncreateType=\"monolithicSparse\"\n\
                    parentFileNameHint=\"base disk.vmdk\"\n# Extent description\nRW 98304 SPARSE \"my disk.vmdk\"\n\
                    RDONLY 100 FLAT \"f.vmdk\" 2048\r\nRW 8 ZERO\n\nddb.adapterType = \"ide\"\n";
        let d = parse_descriptor(text, 512).unwrap();
        assert_eq!(d.create_type.as_deref(), Some("monolithicSparse"));
        assert_eq!((d.cid, d.parent_cid), (Some(0x7ce0_9369), Some(0x91bc_5ec0)));
        assert_eq!(d.parent_hint.as_deref(), Some("base disk.vmdk"));
        assert_eq!(d.extents.len(), 3);
        assert_eq!(d.extents[0].file.as_deref(), Some("my disk.vmdk"));
        assert_eq!((d.extents[1].sectors, d.extents[1].offset, d.extents[1].access.as_str()), (100, 2048, "RDONLY"));
        assert_eq!((d.extents[2].kind.as_str(), d.extents[2].file.as_deref()), ("ZERO", None));
        assert!(d.extents[0].at > 512);
        for bad in
            ["RW x SPARSE \"a\"", "RW 5", "RW 5 FLAT \"a", "RW 5 FLAT \"a\" z", "RW 99999999999999999999 FLAT \"a\""]
        {
            assert!(parse_descriptor(bad, 0).is_err(), "{bad}");
        }
        let many = "RW 1 ZERO\n".repeat(MAX_EXTENTS + 1);
        assert!(matches!(parse_descriptor(&many, 0), Err(ImageError::Unsupported(_))));
    }
}
