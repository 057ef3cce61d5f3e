//! qcow2 images, versions 2 and 3, read-only.
//!
//! Source: qemu's `docs/interop/qcow2.txt`. All numbers are big-endian. The header (72 bytes in v2,
//! `header_length` ≥ 104 in v3) is followed by header extensions inside the first cluster. A guest
//! offset maps through the L1 table (one 8-byte entry per L2 table, bits 9..=55 the L2 table's host
//! offset) and an L2 table (one cluster of 8-byte entries, or 16-byte entries with extended L2) to
//! a host cluster: bit 62 marks a compressed cluster, bit 0 (v3) a cluster that reads as zeros,
//! and a zero host offset an unallocated cluster, read from the backing file or as zeros.
//!
//! Hostile-input rules (HOSTILE-INPUTS.md §1.4, §3.1 C1–C8, C19):
//! - the L1 table is checked against the virtual size, `max_table_bytes` and the file before it is
//!   allocated (CVE-2014-0143/0144); `cluster_bits` is 9..=21, so every shift is small;
//! - the header-extension walk has one budget (the first cluster) and always moves forward;
//! - every table offset read from the image is checked for alignment and read through
//!   [`FileSource::read_exact_at`], so an L2 table or data cluster past the end of the file is a
//!   [`ImageError::Truncated`], never silent zeros;
//! - a compressed cluster is inflated into exactly one cluster: more output or less is an error.
//!   The descriptor split is at `62 - (cluster_bits - 8)` (the spec's, not `63 - cluster_bits`,
//!   which qcow2-core uses and which makes it read ~128× too much), and inflated clusters are cached
//!   so that small reads never inflate the same cluster twice (qcow2-core's 105× amplification);
//! - backing files are opened only through the [`Resolver`], one at a time in a loop bounded by
//!   `max_chain_depth`: there is no recursion, and `/etc/passwd`, `../x` or `json:{...}` are refused
//!   by the resolver as external references; the external data file bit is refused outright.

use super::cache::{inflate_into, zeroed, InflateBudget, LruCache};
use crate::disk::{detect, read_in_pieces, ContainerFormat, VirtualDisk};
use crate::error::{ImageError, Result};
use crate::limits::ImageLimits;
use crate::source::{FileSource, Resolver};

/// `QFI\xfb`.
const MAGIC: &[u8; 4] = b"QFI\xfb";
/// Length of the version 2 header, and of the fields every version has.
const V2_HEADER_LEN: u64 = 72;
/// Smallest version 3 header (through `header_length`).
const V3_MIN_HEADER_LEN: u64 = 104;
/// Bytes of the header read at once: the v3 fields up to `compression_type` and its padding.
const HEADER_READ: usize = 112;
/// Smallest cluster: 512 bytes (the spec's minimum).
const MIN_CLUSTER_BITS: u32 = 9;
/// Largest cluster: 2 MiB, qemu's implementation limit. Larger clusters would make every cached
/// L2 table and inflated cluster bigger for no image qemu can write.
const MAX_CLUSTER_BITS: u32 = 21;
/// Extended L2 entries need clusters of at least 16 KiB (32 subclusters of ≥ 512 bytes).
const EXTENDED_L2_MIN_CLUSTER_BITS: u32 = 14;
/// Largest virtual size accepted: 2 EiB. No qcow2 qemu can open maps a cluster beyond 2^61 (a 32 MiB
/// L1 table of 2 MiB clusters), and the bound keeps every `offset + length` far from overflow.
const MAX_VIRTUAL_SIZE: u64 = 1 << 61;
/// The spec's limit on the backing file name.
const MAX_BACKING_NAME: u64 = 1023;
/// qemu's limit on internal snapshots; a larger count is a crafted header (C7).
const MAX_SNAPSHOTS: u32 = 65_536;
/// Refcount entries are at most 64 bits wide.
const MAX_REFCOUNT_ORDER: u32 = 6;

/// Bits 9..=55 of an L1 entry or a standard L2 entry: the host offset.
const OFFSET_MASK: u64 = 0x00ff_ffff_ffff_fe00;
/// L2 entry bit 62: a compressed cluster.
const COMPRESSED: u64 = 1 << 62;
/// Standard cluster descriptor bit 0 (v3 without extended L2): the cluster reads as zeros.
const ZERO_FLAG: u64 = 1;

/// Incompatible feature bit 0: refcounts may be stale. Harmless for reading.
const INCOMPAT_DIRTY: u64 = 1 << 0;
/// Incompatible feature bit 1: any structure may be corrupt.
const INCOMPAT_CORRUPT: u64 = 1 << 1;
/// Incompatible feature bit 2: guest clusters live in another file.
const INCOMPAT_DATA_FILE: u64 = 1 << 2;
/// Incompatible feature bit 3: `compression_type` is not zlib.
const INCOMPAT_COMPRESSION: u64 = 1 << 3;
/// Incompatible feature bit 4: 128-bit L2 entries with 32 subclusters.
const INCOMPAT_EXTENDED_L2: u64 = 1 << 4;
/// Every incompatible bit this reader knows.
const INCOMPAT_KNOWN: u64 =
    INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE | INCOMPAT_COMPRESSION | INCOMPAT_EXTENDED_L2;

/// Header extension types read.
const EXT_END: u32 = 0;
const EXT_BACKING_FORMAT: u32 = 0xe279_2aca;
const EXT_FEATURE_NAMES: u32 = 0x6803_f857;
const EXT_DATA_FILE: u32 = 0x4441_5441;
/// Bytes of header extensions read first (qemu writes a few hundred).
const EXT_FIRST_READ: u64 = 64 << 10;
/// Size of one feature name table entry.
const FEATURE_NAME_ENTRY: usize = 48;

/// L2 tables cached per image, in bytes of tables: with 64 KiB clusters one table maps 512 MiB,
/// so a few tables cover every structure a hive lookup touches.
const L2_CACHE_BYTES: u64 = 4 << 20;
/// Most L2 tables cached per image.
const L2_CACHE_MAX: usize = 16;
/// Inflated clusters cached per image chain, in bytes: 4 MiB holds every cluster of a 2 MiB region
/// (so re-reading it costs nothing) and a hive's working set of MFT and index blocks.
const UNIT_CACHE_BYTES: u64 = 4 << 20;
/// Most inflated clusters cached per image (512-byte clusters would otherwise give 8192 entries).
const UNIT_CACHE_MAX: usize = 1024;

/// A qcow2 image as a virtual disk, with its chain of backing files.
pub struct Qcow2Disk {
    size: u64,
    /// The image itself, then its backing file, then that file's backing file...
    layers: Vec<Layer>,
    inflated: InflateBudget,
}

impl std::fmt::Debug for Qcow2Disk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Qcow2Disk").field("size", &self.size).field("layers", &self.layers.len()).finish()
    }
}

/// One file of the chain.
enum Layer {
    Qcow2(Box<Image>),
    /// A raw backing file: its bytes are the disk; past its end reads are zeros.
    Raw(FileSource),
}

/// What one stretch of a layer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Map {
    /// Not in this layer: ask the backing file (or read zeros at the bottom).
    Unallocated,
    /// Reads as zeros, whatever the backing file says.
    Zero,
    /// At this host offset of the layer's file.
    Data(u64),
    /// Inside a compressed cluster, `intra` bytes from its start.
    Compressed { offset: u64, len: u64, intra: u64 },
}

/// The geometry every lookup needs, copied out of the image so that a cached L2 table can stay
/// borrowed during the lookup.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    cluster_bits: u32,
    cluster_size: u64,
    version: u32,
    extended_l2: bool,
    /// Entries per L2 table.
    l2_entries: u64,
}

/// A backing file named by an image.
struct Backing {
    name: String,
    /// From the backing-format header extension, when present.
    format: Option<String>,
}

/// One qcow2 file.
struct Image {
    src: FileSource,
    size: u64,
    geo: Geometry,
    l1_offset: u64,
    /// The L1 entries that map the virtual size (entries past it are never used).
    l1: Vec<u64>,
    l2_cache: LruCache<Vec<u64>>,
    units: LruCache<Vec<u8>>,
    max_table_bytes: u64,
    max_unit_bytes: u64,
}

impl Qcow2Disk {
    /// Opens a qcow2 image and, through `resolver`, its backing files (raw or qcow2), at most
    /// `max_chain_depth` of them.
    pub fn open(src: FileSource, resolver: &dyn Resolver, limits: &ImageLimits) -> Result<Self> {
        // L1 tables of the whole chain share one `max_table_bytes` budget.
        let mut table_bytes = 0u64;
        let (top, mut backing) = Image::open(src, limits, &mut table_bytes)?;
        let size = top.size;
        let mut layers = vec![Layer::Qcow2(Box::new(top))];
        while let Some(b) = backing.take() {
            let depth = layers.len() as u64;
            ImageLimits::check("max_chain_depth", depth, u64::from(limits.max_chain_depth))?;
            let mut file = resolver.open(&b.name, "qcow2 backing file")?;
            let is_qcow2 = match b.format.as_deref() {
                Some("raw") => false,
                Some("qcow2") => true,
                Some(other) => {
                    return Err(ImageError::Unsupported(format!(
                        "qcow2 backing file {:?} has format {other:?}; only raw and qcow2 backing files are read",
                        b.name
                    )))
                }
                None => match detect(&mut file)? {
                    ContainerFormat::Raw => false,
                    ContainerFormat::Qcow2 => true,
                    other => {
                        return Err(ImageError::Unsupported(format!(
                            "qcow2 backing file {:?} is a {other:?} image; only raw and qcow2 backing files are read",
                            b.name
                        )))
                    }
                },
            };
            if is_qcow2 {
                let (img, next) = Image::open(file, limits, &mut table_bytes)?;
                layers.push(Layer::Qcow2(Box::new(img)));
                backing = next;
            } else {
                layers.push(Layer::Raw(file));
            }
        }
        // The cache budgets are shared by the chain, so a deep chain cannot multiply them.
        let n = layers.len() as u64;
        for layer in &mut layers {
            if let Layer::Qcow2(img) = layer {
                img.size_caches(L2_CACHE_BYTES / n, UNIT_CACHE_BYTES / n);
            }
        }
        Ok(Qcow2Disk { size, layers, inflated: InflateBudget::new(limits.max_inflated_bytes) })
    }

    /// Number of files in the chain (the image and its backing files).
    pub fn chain_len(&self) -> usize {
        self.layers.len()
    }
}

impl VirtualDisk for Qcow2Disk {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let (layers, inflated) = (&mut self.layers, &mut self.inflated);
        read_in_pieces("qcow2 disk", self.size, offset, buf, |off, rest| read_piece(layers, inflated, off, rest))
    }

    fn format(&self) -> ContainerFormat {
        ContainerFormat::Qcow2
    }
}

/// Fills the start of `out` (guest offset `off`) from the first layer that holds it; returns how
/// many bytes were filled (≥ 1). Each layer can only shorten the piece, so one piece is one kind of
/// data in every layer it passed through.
fn read_piece(layers: &mut [Layer], budget: &mut InflateBudget, off: u64, out: &mut [u8]) -> Result<usize> {
    let mut want = out.len() as u64;
    for layer in layers.iter_mut() {
        let layer_size = layer.size();
        if off >= layer_size {
            // The backing file is smaller than the image: zeros past its end (spec).
            break;
        }
        want = want.min(layer_size - off);
        let (map, n) = layer.lookup(off, want)?;
        want = n.min(want).max(1);
        let piece = out.get_mut(..usize::try_from(want).unwrap_or(usize::MAX)).unwrap_or_default();
        match map {
            Map::Unallocated => continue,
            Map::Zero => piece.fill(0),
            Map::Data(host) => layer.src_mut().read_exact_at(host, piece, "qcow2 data cluster")?,
            Map::Compressed { offset, len, intra } => match layer {
                Layer::Qcow2(img) => img.read_compressed(offset, len, intra, piece, budget)?,
                Layer::Raw(_) => {
                    return Err(ImageError::Corrupt {
                        what: "qcow2 chain",
                        offset: off,
                        reason: "a raw layer has no compressed clusters".into(),
                    })
                }
            },
        }
        return Ok(piece.len());
    }
    let piece = out.get_mut(..usize::try_from(want).unwrap_or(usize::MAX)).unwrap_or_default();
    piece.fill(0);
    Ok(piece.len())
}

impl Layer {
    fn size(&self) -> u64 {
        match self {
            Layer::Qcow2(img) => img.size,
            Layer::Raw(f) => f.len(),
        }
    }

    fn src_mut(&mut self) -> &mut FileSource {
        match self {
            Layer::Qcow2(img) => &mut img.src,
            Layer::Raw(f) => f,
        }
    }

    /// What `off` maps to, and for how many bytes (1..=want) the mapping continues.
    fn lookup(&mut self, off: u64, want: u64) -> Result<(Map, u64)> {
        match self {
            Layer::Qcow2(img) => img.lookup(off, want),
            Layer::Raw(_) => Ok((Map::Data(off), want)),
        }
    }
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    b.get(at..at.saturating_add(4)).and_then(|s| s.try_into().ok()).map_or(0, u32::from_be_bytes)
}

fn be_u64(b: &[u8], at: usize) -> u64 {
    b.get(at..at.saturating_add(8)).and_then(|s| s.try_into().ok()).map_or(0, u64::from_be_bytes)
}

fn bad(what: &'static str, offset: u64, value: u64, expected: &'static str) -> ImageError {
    ImageError::BadField { what, offset, value, expected }
}

fn corrupt(what: &'static str, offset: u64, reason: impl Into<String>) -> ImageError {
    ImageError::Corrupt { what, offset, reason: reason.into() }
}

/// What the header extensions say.
#[derive(Default)]
struct Extensions {
    backing_format: Option<String>,
    data_file: Option<String>,
    /// Names of incompatible feature bits, from the feature name table.
    incompat_names: Vec<(u8, String)>,
}

impl Image {
    /// Reads and checks the header, the header extensions and the L1 table. `table_bytes` is the
    /// chain's running total of table bytes, checked against `max_table_bytes`.
    fn open(mut src: FileSource, limits: &ImageLimits, table_bytes: &mut u64) -> Result<(Image, Option<Backing>)> {
        let file_len = src.len();
        if file_len < V2_HEADER_LEN {
            return Err(ImageError::Truncated {
                what: "qcow2 header",
                offset: 0,
                needed: V2_HEADER_LEN,
                available: file_len,
            });
        }
        let mut h = [0u8; HEADER_READ];
        let head_len = usize::try_from(file_len.min(HEADER_READ as u64)).unwrap_or(HEADER_READ);
        src.read_exact_at(0, h.get_mut(..head_len).unwrap_or_default(), "qcow2 header")?;
        if h.get(..4) != Some(MAGIC.as_slice()) {
            return Err(ImageError::BadSignature {
                what: "qcow2 header",
                offset: 0,
                expected: "QFI\\xfb",
                found: h.get(..4).unwrap_or_default().to_vec(),
            });
        }
        let version = be_u32(&h, 4);
        if version != 2 && version != 3 {
            return Err(bad("qcow2 version", 4, version.into(), "2 or 3"));
        }
        let backing_offset = be_u64(&h, 8);
        let backing_len = u64::from(be_u32(&h, 16));
        let cluster_bits = be_u32(&h, 20);
        if !(MIN_CLUSTER_BITS..=MAX_CLUSTER_BITS).contains(&cluster_bits) {
            return Err(bad("qcow2 cluster_bits", 20, cluster_bits.into(), "9..=21 (512-byte to 2 MiB clusters)"));
        }
        let cluster_size = 1u64 << cluster_bits;
        let size = be_u64(&h, 24);
        if size > MAX_VIRTUAL_SIZE {
            return Err(bad("qcow2 size", 24, size, "at most 2^61 bytes"));
        }
        let crypt_method = be_u32(&h, 32);
        if crypt_method != 0 {
            return Err(ImageError::Unsupported(format!(
                "qcow2 image encrypted with {} (crypt_method {crypt_method}): its clusters cannot be read without the key",
                if crypt_method == 1 { "AES" } else if crypt_method == 2 { "LUKS" } else { "an unknown method" }
            )));
        }
        let l1_size = u64::from(be_u32(&h, 36));
        let l1_offset = be_u64(&h, 40);
        let refcount_offset = be_u64(&h, 48);
        let refcount_clusters = u64::from(be_u32(&h, 56));
        let nb_snapshots = be_u32(&h, 60);
        let snapshots_offset = be_u64(&h, 64);

        let (incompat, header_len, compression_type) = if version >= 3 {
            let header_len = u64::from(be_u32(&h, 100));
            if header_len < V3_MIN_HEADER_LEN || header_len % 8 != 0 || header_len > cluster_size {
                return Err(bad(
                    "qcow2 header_length",
                    100,
                    header_len,
                    "a multiple of 8, at least 104 and at most one cluster",
                ));
            }
            if header_len > file_len {
                return Err(ImageError::Truncated {
                    what: "qcow2 header",
                    offset: 0,
                    needed: header_len,
                    available: file_len,
                });
            }
            let refcount_order = be_u32(&h, 96);
            if refcount_order > MAX_REFCOUNT_ORDER {
                return Err(bad("qcow2 refcount_order", 96, refcount_order.into(), "at most 6"));
            }
            // `compression_type` exists only when the header is long enough to hold it.
            let ctype = if header_len > 104 { h.get(104).copied().unwrap_or(0) } else { 0 };
            (be_u64(&h, 72), header_len, ctype)
        } else {
            (0, V2_HEADER_LEN, 0)
        };

        let ext = read_extensions(&mut src, limits, header_len, cluster_size, backing_offset)?;

        // Incompatible features: the spec says to refuse unknown bits.
        let unknown = incompat & !INCOMPAT_KNOWN;
        if unknown != 0 {
            let names: Vec<&str> = ext
                .incompat_names
                .iter()
                .filter(|(bit, _)| u32::from(*bit) < 64 && unknown & (1u64 << bit) != 0)
                .map(|(_, n)| n.as_str())
                .collect();
            return Err(ImageError::Unsupported(format!(
                "qcow2 incompatible feature bits {unknown:#x}{} are not understood",
                if names.is_empty() { String::new() } else { format!(" ({})", names.join(", ")) }
            )));
        }
        if incompat & INCOMPAT_CORRUPT != 0 {
            return Err(corrupt(
                "qcow2 incompatible features",
                72,
                "the image is marked corrupt (bit 1): qemu found its metadata inconsistent; run `qemu-img check -r all` on a copy",
            ));
        }
        if incompat & INCOMPAT_DATA_FILE != 0 {
            return Err(ImageError::ExternalReference {
                what: "qcow2 external data file",
                name: ext.data_file.clone().unwrap_or_else(|| "(name not in the image)".into()),
                reason: "the image keeps its clusters in another file (incompatible feature bit 2), which is not read"
                    .into(),
            });
        }
        if incompat & INCOMPAT_COMPRESSION != 0 {
            return Err(match compression_type {
                0 => bad("qcow2 compression_type", 104, 0, "non-zero when incompatible feature bit 3 is set"),
                1 => ImageError::Unsupported(
                    "qcow2 image with zstd-compressed clusters (compression_type 1); only zlib is read".into(),
                ),
                t => ImageError::Unsupported(format!("qcow2 compression_type {t}; only zlib is read")),
            });
        }
        if compression_type != 0 {
            return Err(bad("qcow2 compression_type", 104, compression_type.into(), "0 unless feature bit 3 is set"));
        }
        let extended_l2 = incompat & INCOMPAT_EXTENDED_L2 != 0;
        if extended_l2 && cluster_bits < EXTENDED_L2_MIN_CLUSTER_BITS {
            return Err(bad("qcow2 cluster_bits", 20, cluster_bits.into(), "at least 14 with extended L2 entries"));
        }

        // The L1 table: large enough for the virtual size, within the limits, inside the file.
        let entry_bytes: u64 = if extended_l2 { 16 } else { 8 };
        let l2_entries = cluster_size / entry_bytes;
        let clusters = size.div_ceil(cluster_size);
        let needed = clusters.div_ceil(l2_entries);
        let l1_bytes = l1_size.saturating_mul(8);
        ImageLimits::check("max_table_bytes", l1_bytes, limits.max_table_bytes)?;
        if l1_size < needed {
            return Err(bad("qcow2 l1_size", 36, l1_size, "enough L1 entries to map the virtual size"));
        }
        let needed_bytes = needed.saturating_mul(8);
        let total = table_bytes.saturating_add(needed_bytes);
        ImageLimits::check("max_table_bytes", total, limits.max_table_bytes)?;
        *table_bytes = total;
        let mut l1 = Vec::new();
        if l1_size > 0 {
            check_cluster_offset("qcow2 l1_table_offset", 40, l1_offset, cluster_size)?;
            if l1_offset.checked_add(l1_bytes).is_none_or(|end| end > file_len) {
                return Err(ImageError::Truncated {
                    what: "qcow2 L1 table",
                    offset: l1_offset,
                    needed: l1_bytes,
                    available: file_len.saturating_sub(l1_offset),
                });
            }
            let raw =
                src.read_vec_at(l1_offset, needed_bytes, "qcow2 L1 table", "max_table_bytes", limits.max_table_bytes)?;
            l1 = decode_be64(&raw, limits.max_table_bytes)?;
        }

        // Tables this reader does not use are still checked, so a crafted header is refused early.
        check_cluster_offset("qcow2 refcount_table_offset", 48, refcount_offset, cluster_size)?;
        if refcount_offset == 0 {
            return Err(bad("qcow2 refcount_table_offset", 48, 0, "a cluster after the header"));
        }
        let refcount_bytes = refcount_clusters.saturating_mul(cluster_size);
        if refcount_offset.checked_add(refcount_bytes).is_none_or(|end| end > file_len) {
            return Err(ImageError::Truncated {
                what: "qcow2 refcount table",
                offset: refcount_offset,
                needed: refcount_bytes.max(1),
                available: file_len.saturating_sub(refcount_offset),
            });
        }
        if nb_snapshots > MAX_SNAPSHOTS {
            return Err(bad("qcow2 nb_snapshots", 60, nb_snapshots.into(), "at most 65536"));
        }
        if nb_snapshots > 0 {
            check_cluster_offset("qcow2 snapshots_offset", 64, snapshots_offset, cluster_size)?;
            if snapshots_offset == 0 {
                return Err(bad("qcow2 snapshots_offset", 64, 0, "a cluster after the header"));
            }
            if snapshots_offset >= file_len {
                return Err(ImageError::Truncated {
                    what: "qcow2 snapshot table",
                    offset: snapshots_offset,
                    needed: 1,
                    available: file_len.saturating_sub(snapshots_offset),
                });
            }
        }

        let backing = if backing_offset != 0 {
            Some(read_backing_name(&mut src, backing_offset, backing_len, cluster_size, ext.backing_format)?)
        } else {
            None
        };

        let geo = Geometry { cluster_bits, cluster_size, version, extended_l2, l2_entries };
        let img = Image {
            src,
            size,
            geo,
            l1_offset,
            l1,
            l2_cache: LruCache::new(1),
            units: LruCache::new(1),
            max_table_bytes: limits.max_table_bytes,
            max_unit_bytes: limits.max_unit_bytes,
        };
        Ok((img, backing))
    }

    /// Sizes the caches from byte budgets (at least one entry each).
    fn size_caches(&mut self, l2_bytes: u64, unit_bytes: u64) {
        let per = |bytes: u64, max: usize| usize::try_from(bytes / self.geo.cluster_size).unwrap_or(max).clamp(1, max);
        self.l2_cache = LruCache::new(per(l2_bytes, L2_CACHE_MAX));
        self.units = LruCache::new(per(unit_bytes, UNIT_CACHE_MAX));
    }

    /// Maps guest offset `off` (< size) and says for how many bytes, up to `want`, the same kind of
    /// mapping continues (contiguous data, zeros or unallocated) within one L2 table.
    fn lookup(&mut self, off: u64, want: u64) -> Result<(Map, u64)> {
        let g = self.geo;
        let cluster = off >> g.cluster_bits;
        let intra = off & (g.cluster_size - 1);
        let l1_index = cluster / g.l2_entries;
        let first = cluster % g.l2_entries;
        // Bytes from `off` to the end of what this L2 table maps (< 2^40: ≤ 2^18 entries × 2 MiB).
        let table_left = ((g.l2_entries - first) << g.cluster_bits) - intra;
        let limit = want.min(table_left).max(1);
        let l1_at = self.l1_offset.saturating_add(l1_index.saturating_mul(8));
        let l1_entry = usize::try_from(l1_index)
            .ok()
            .and_then(|i| self.l1.get(i).copied())
            .ok_or_else(|| corrupt("qcow2 L1 table", l1_at, "guest offset beyond the L1 table"))?;
        let l2_offset = l1_entry & OFFSET_MASK;
        if l2_offset == 0 {
            return Ok((Map::Unallocated, limit));
        }
        if l2_offset & (g.cluster_size - 1) != 0 {
            return Err(corrupt(
                "qcow2 L1 entry",
                l1_at,
                format!("L2 table offset {l2_offset:#x} is not cluster-aligned"),
            ));
        }
        let (src, max_table) = (&mut self.src, self.max_table_bytes);
        let table = self.l2_cache.get_or_try_insert_with(l2_offset, || {
            let raw = src.read_vec_at(l2_offset, g.cluster_size, "qcow2 L2 table", "max_table_bytes", max_table)?;
            decode_be64(&raw, max_table)
        })?;
        let words: u64 = if g.extended_l2 { 2 } else { 1 };
        let entry = |index: u64| -> (u64, u64, u64) {
            let w = index.saturating_mul(words);
            let get = |i: u64| usize::try_from(i).ok().and_then(|i| table.get(i).copied()).unwrap_or(0);
            (get(w), if g.extended_l2 { get(w.saturating_add(1)) } else { 0 }, l2_offset.saturating_add(w * 8))
        };
        let (e, bitmap, at) = entry(first);
        let (map, mut len) = classify(g, e, bitmap, intra, at)?;
        // Extend over following clusters (or subclusters) of the same table while they continue
        // the same mapping, so a contiguous run is one file read.
        while len < limit && !matches!(map, Map::Compressed { .. }) {
            let next = off.saturating_add(len);
            let index = (next >> g.cluster_bits) % g.l2_entries;
            if next >> g.cluster_bits >= cluster.saturating_add(g.l2_entries - first) {
                break;
            }
            let (e, bitmap, at) = entry(index);
            let (m, n) = classify(g, e, bitmap, next & (g.cluster_size - 1), at)?;
            let continues = match (map, m) {
                (Map::Unallocated, Map::Unallocated) | (Map::Zero, Map::Zero) => true,
                (Map::Data(a), Map::Data(b)) => a.checked_add(len) == Some(b),
                _ => false,
            };
            if !continues {
                break;
            }
            len = len.saturating_add(n);
        }
        Ok((map, len.min(limit)))
    }

    /// Copies `out.len()` bytes from `intra` bytes into the compressed cluster at host `offset`
    /// (stored in at most `len` bytes), inflating it unless it is cached.
    fn read_compressed(
        &mut self,
        offset: u64,
        len: u64,
        intra: u64,
        out: &mut [u8],
        budget: &mut InflateBudget,
    ) -> Result<()> {
        let cluster_size = self.geo.cluster_size;
        let max_unit = self.max_unit_bytes;
        let src = &mut self.src;
        let data = self.units.get_or_try_insert_with(offset, || {
            ImageLimits::check("max_unit_bytes", cluster_size, max_unit)?;
            let file_len = src.len();
            if offset >= file_len {
                return Err(ImageError::Truncated {
                    what: "qcow2 compressed cluster",
                    offset,
                    needed: len,
                    available: 0,
                });
            }
            // The last compressed cluster may end inside a sector the file does not fully hold.
            let avail = len.min(file_len - offset);
            // `len` ≤ 2 clusters by the descriptor's width, so this read is bounded by the format.
            let input = src.read_vec_at(
                offset,
                avail,
                "qcow2 compressed cluster",
                "max_unit_bytes",
                max_unit.saturating_mul(2),
            )?;
            budget.charge(cluster_size)?;
            let mut cluster = zeroed(cluster_size, "max_unit_bytes", max_unit)?;
            let n = inflate_into(&input, &mut cluster, false, "qcow2 compressed cluster", offset)?;
            if n as u64 != cluster_size {
                return Err(corrupt(
                    "qcow2 compressed cluster",
                    offset,
                    format!("inflates to {n} bytes, short of a {cluster_size}-byte cluster"),
                ));
            }
            Ok(cluster)
        })?;
        let start = usize::try_from(intra).unwrap_or(usize::MAX);
        let piece = data
            .get(start..start.saturating_add(out.len()))
            .ok_or_else(|| corrupt("qcow2 compressed cluster", offset, "read outside the cluster"))?;
        out.copy_from_slice(piece);
        Ok(())
    }
}

/// Classifies one L2 entry at `intra` bytes into its cluster: the mapping there, and for how many
/// bytes it holds within the cluster. `at` is the entry's file offset, for messages.
fn classify(g: Geometry, entry: u64, bitmap: u64, intra: u64, at: u64) -> Result<(Map, u64)> {
    let to_end = g.cluster_size - intra;
    if entry & COMPRESSED != 0 {
        if g.extended_l2 && bitmap != 0 {
            return Err(corrupt("qcow2 L2 entry", at, "a compressed cluster with a subcluster bitmap"));
        }
        // x = 62 - (cluster_bits - 8): bits 0..x are the host byte offset, x..62 the number of
        // 512-byte sectors after the first one.
        let x = 62 - (g.cluster_bits - 8);
        let offset = entry & ((1u64 << x) - 1);
        let sectors = ((entry >> x) & ((1u64 << (g.cluster_bits - 8)) - 1)) + 1;
        let len = (sectors << 9) - (offset & 511);
        return Ok((Map::Compressed { offset, len, intra }, to_end));
    }
    let host = entry & OFFSET_MASK;
    let data = || -> Result<Map> {
        if host & (g.cluster_size - 1) != 0 {
            return Err(corrupt("qcow2 L2 entry", at, format!("data cluster offset {host:#x} is not cluster-aligned")));
        }
        Ok(Map::Data(host + intra))
    };
    if !g.extended_l2 {
        let map = if g.version >= 3 && entry & ZERO_FLAG != 0 {
            Map::Zero
        } else if host == 0 {
            Map::Unallocated
        } else {
            data()?
        };
        return Ok((map, to_end));
    }
    // Extended L2: 32 subclusters, bit i allocated, bit 32 + i reads as zeros.
    let sub_bits = g.cluster_bits - 5;
    let status = |i: u64| -> Result<u8> {
        let alloc = bitmap >> i & 1 != 0;
        let zero = bitmap >> (32 + i) & 1 != 0;
        match (alloc, zero) {
            (true, true) => Err(corrupt("qcow2 L2 entry", at, format!("subcluster {i} is both allocated and zero"))),
            (true, false) => Ok(1),
            (false, true) => Ok(2),
            (false, false) => Ok(0),
        }
    };
    let first = intra >> sub_bits;
    let s = status(first)?;
    let mut end = first + 1;
    while end < 32 && status(end)? == s {
        end += 1;
    }
    let run = (end << sub_bits) - intra;
    let map = match s {
        1 if host == 0 => return Err(corrupt("qcow2 L2 entry", at, "allocated subcluster without a host offset")),
        1 => data()?,
        2 => Map::Zero,
        _ => Map::Unallocated,
    };
    Ok((map, run))
}

/// An offset field that must be a multiple of the cluster size.
fn check_cluster_offset(what: &'static str, at: u64, value: u64, cluster_size: u64) -> Result<()> {
    if value & (cluster_size - 1) != 0 {
        return Err(bad(what, at, value, "a multiple of the cluster size"));
    }
    Ok(())
}

/// Big-endian u64 entries of a table read from the image.
fn decode_be64(raw: &[u8], max: u64) -> Result<Vec<u64>> {
    let n = raw.len() / 8;
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| ImageError::LimitExceeded {
        limit: "max_table_bytes",
        value: raw.len() as u64,
        max,
    })?;
    v.extend(raw.chunks_exact(8).map(|c| be_u64(c, 0)));
    Ok(v)
}

/// Walks the header extensions: from the end of the header to the end of the first cluster (or,
/// in v2, to the backing file name), each `type, length, data` padded to 8 bytes, up to a type 0.
/// The walk reads at most `max_header_bytes` and always moves forward.
fn read_extensions(
    src: &mut FileSource,
    limits: &ImageLimits,
    header_len: u64,
    cluster_size: u64,
    backing_offset: u64,
) -> Result<Extensions> {
    let mut ext = Extensions::default();
    // The backing file name, when there is one, follows the extension area (in v2 and v3).
    let mut end = cluster_size.min(src.len());
    if backing_offset != 0 {
        end = end.min(backing_offset);
    }
    if end <= header_len {
        return Ok(ext);
    }
    let area = end - header_len;
    // Real images keep their extensions in the first few hundred bytes: read 64 KiB, and more (up
    // to `max_header_bytes`) only if an extension reaches past it.
    let cap = area.min(limits.max_header_bytes);
    let mut read = cap.min(EXT_FIRST_READ);
    let mut buf = src.read_vec_at(header_len, read, "qcow2 header extensions", "max_header_bytes", cap)?;
    let mut pos = 0u64;
    while pos + 8 <= area {
        let at = header_len + pos;
        let p = usize::try_from(pos).unwrap_or(usize::MAX);
        // The extension header, then its data, must be in the buffer: grow it once, up to `cap`.
        let (kind, len) = (be_u32(&buf, p), u64::from(be_u32(&buf, p.saturating_add(4))));
        let need = if pos + 8 > read { pos + 8 } else { pos + 8 + len };
        if need > area {
            return Err(corrupt(
                "qcow2 header extension",
                at,
                format!("type {kind:#x} of {len} bytes runs past the first cluster"),
            ));
        }
        if need > read {
            if read < cap {
                read = cap;
                buf = src.read_vec_at(header_len, read, "qcow2 header extensions", "max_header_bytes", cap)?;
                continue;
            }
            return Err(ImageError::LimitExceeded { limit: "max_header_bytes", value: need, max: read });
        }
        if kind == EXT_END {
            break;
        }
        let data_end = need;
        let data = buf.get(p + 8..usize::try_from(data_end).unwrap_or(usize::MAX)).unwrap_or_default();
        match kind {
            EXT_BACKING_FORMAT => ext.backing_format = Some(String::from_utf8_lossy(data).into_owned()),
            EXT_DATA_FILE => ext.data_file = Some(String::from_utf8_lossy(data).into_owned()),
            EXT_FEATURE_NAMES => {
                for e in data.chunks_exact(FEATURE_NAME_ENTRY) {
                    if let [0, bit, name @ ..] = e {
                        let name = name.split(|&b| b == 0).next().unwrap_or_default();
                        ext.incompat_names.push((*bit, String::from_utf8_lossy(name).into_owned()));
                    }
                }
            }
            _ => {}
        }
        // Data padded to a multiple of 8: the cursor moves by at least 8 bytes each time.
        pos = (data_end + 7) & !7;
    }
    Ok(ext)
}

/// Reads the backing file name: at most 1023 bytes, inside the first cluster, UTF-8.
fn read_backing_name(
    src: &mut FileSource,
    offset: u64,
    len: u64,
    cluster_size: u64,
    format: Option<String>,
) -> Result<Backing> {
    if len == 0 || len > MAX_BACKING_NAME {
        return Err(bad("qcow2 backing_file_size", 16, len, "1..=1023 bytes"));
    }
    if offset.checked_add(len).is_none_or(|end| end > cluster_size) {
        return Err(bad("qcow2 backing_file_offset", 8, offset, "a name inside the first cluster"));
    }
    let raw = src.read_vec_at(offset, len, "qcow2 backing file name", "max_header_bytes", MAX_BACKING_NAME)?;
    let name = String::from_utf8(raw).map_err(|e| ImageError::ExternalReference {
        what: "qcow2 backing file",
        name: String::from_utf8_lossy(e.as_bytes()).into_owned(),
        reason: "the name is not UTF-8".into(),
    })?;
    Ok(Backing { name, format })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_descriptor_split() {
        // cluster_bits 16: x = 54; offset 0x12345 with 3 additional sectors.
        let g = Geometry { cluster_bits: 16, cluster_size: 1 << 16, version: 3, extended_l2: false, l2_entries: 8192 };
        let entry = COMPRESSED | (3u64 << 54) | 0x12345;
        let (m, n) = classify(g, entry, 0, 100, 0).unwrap();
        assert_eq!(m, Map::Compressed { offset: 0x12345, len: 4 * 512 - 0x145, intra: 100 });
        assert_eq!(n, (1 << 16) - 100);
        // cluster_bits 21: x = 49, 13 bits of sectors.
        let g =
            Geometry { cluster_bits: 21, cluster_size: 1 << 21, version: 2, extended_l2: false, l2_entries: 1 << 18 };
        let entry = COMPRESSED | (0x1fffu64 << 49) | ((1u64 << 49) - 1);
        let (m, _) = classify(g, entry, 0, 0, 0).unwrap();
        assert_eq!(m, Map::Compressed { offset: (1 << 49) - 1, len: (0x2000 << 9) - 511, intra: 0 });
    }

    #[test]
    fn standard_entries() {
        let g = Geometry { cluster_bits: 16, cluster_size: 1 << 16, version: 3, extended_l2: false, l2_entries: 8192 };
        assert_eq!(classify(g, 0, 0, 5, 0).unwrap(), (Map::Unallocated, (1 << 16) - 5));
        assert_eq!(classify(g, 0x3_0000 | 1, 0, 0, 0).unwrap().0, Map::Zero);
        assert_eq!(classify(g, (1 << 63) | 0x3_0000, 0, 7, 0).unwrap().0, Map::Data(0x3_0007));
        assert!(classify(g, 0x3_0200, 0, 0, 0).is_err());
        // v2: bit 0 is not a zero flag.
        let g2 = Geometry { version: 2, ..g };
        assert_eq!(classify(g2, 0x3_0000 | 1, 0, 0, 0).unwrap().0, Map::Data(0x3_0000));
    }

    #[test]
    fn extended_entries() {
        let g = Geometry { cluster_bits: 16, cluster_size: 1 << 16, version: 3, extended_l2: true, l2_entries: 4096 };
        let sub = 1u64 << 11;
        // Subclusters 0-1 allocated, 2 zero, 3.. unallocated.
        let bitmap = 0b11 | (0b100 << 32);
        assert_eq!(classify(g, 0x5_0000, bitmap, 10, 0).unwrap(), (Map::Data(0x5_000a), 2 * sub - 10));
        assert_eq!(classify(g, 0x5_0000, bitmap, 2 * sub, 0).unwrap(), (Map::Zero, sub));
        assert_eq!(classify(g, 0x5_0000, bitmap, 3 * sub, 0).unwrap(), (Map::Unallocated, 29 * sub));
        assert!(classify(g, 0x5_0000, 1 | (1 << 32), 0, 0).is_err());
        assert!(classify(g, 0, 1, 0, 0).is_err());
        assert!(classify(g, COMPRESSED | 0x1000, 1, 0, 0).is_err());
    }
}
