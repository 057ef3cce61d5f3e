//! VHDX images ([MS-VHDX] "Virtual Hard Disk v2 (VHDX) File Format"): fixed, dynamic and
//! differencing disks, with the metadata log replayed in memory.
//!
//! Layout: a 1 MiB header section (file identifier "vhdxfile"; two 4 KiB headers at 64 and
//! 128 KiB, each with a CRC-32C and a sequence number, the higher valid one current; two copies of
//! the region table at 192 and 256 KiB), then regions anywhere after it: the BAT, the metadata
//! region (a 64 KiB table of items: file parameters, virtual disk size, sector sizes, page 83 id,
//! parent locator), the log, and 1 MiB-aligned payload and sector bitmap blocks.
//!
//! The BAT interleaves one sector bitmap entry after every `chunk ratio` payload entries, where
//! chunk ratio = 2^23 × logical sector size / block size (a bitmap block is 1 MiB: 2^23 bits, one
//! per logical sector). Each entry holds a 3-bit state and a file offset in MiB.
//!
//! **The log.** Metadata (BAT, metadata region, region table) is updated through a write-ahead log.
//! A file whose header names a log (LogGuid not zero) may hold metadata updates that never reached
//! their final place, so its BAT cannot be trusted as read. This reader finds the active log
//! sequence as [MS-VHDX] §2.3.3 describes and replays it into an in-memory overlay that every
//! later read of the file goes through; the file is never written. A header that names a log
//! with no valid sequence is corrupt and refused, as the specification requires.
//!
//! **Differencing disks** (HasParent): the parent locator's `relative_path`, `volume_path` and
//! `absolute_win32_path` are tried in that order through the [`Resolver`] (which keeps them inside
//! the image's folder); the parent's DataWriteGuid must match `parent_linkage` (or
//! `parent_linkage2`). The chain is opened in a loop and is at most
//! [`ImageLimits::max_chain_depth`] parents long.
//!
//! **Hostile input.** Every count, offset and size is validated before use: table entry counts
//! ≤ 2047, block size a power of two in 1..=256 MiB, logical sector 512 or 4096, virtual size
//! ≤ 64 TiB and a multiple of the sector, BAT entry count computed in u64 (never narrowed: qemu
//! #4033) and checked against the BAT region and [`ImageLimits::max_table_bytes`]. BAT entries are
//! checked again when used, and every read of the file is bounds-checked. The log scan has a work
//! budget so that a log crafted to make every sector look like an entry stays cheap.
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]

use crate::disk::{overflow, read_chain, ChainLayer, ContainerFormat, Piece, VirtualDisk};
use crate::error::{ImageError, Result};
use crate::limits::ImageLimits;
use crate::source::{FileSource, Resolver};
use std::collections::BTreeMap;
use std::num::NonZeroU64;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
/// Offsets of the two headers.
const HEADER_OFFSETS: [u64; 2] = [64 * KIB, 128 * KIB];
/// Size of a header (the checksum covers all of it).
const HEADER_LEN: usize = 4096;
/// Offsets of the two copies of the region table.
const REGION_TABLE_OFFSETS: [u64; 2] = [192 * KIB, 256 * KIB];
/// Size of a region table (the checksum covers all of it).
const REGION_TABLE_LEN: usize = 64 * 1024;
/// Size of the metadata table at the start of the metadata region.
const METADATA_TABLE_LEN: usize = 64 * 1024;
/// Most entries a region or metadata table may hold ([MS-VHDX] §2.2.3.1, §2.6.1.1).
const MAX_TABLE_ENTRIES: u64 = 2047;
/// Largest metadata item ([MS-VHDX] §2.6.1.2).
const MAX_ITEM_LEN: u64 = MIB;
/// Block size bounds ([MS-VHDX] §2.6.2.1).
const MIN_BLOCK_SIZE: u64 = MIB;
const MAX_BLOCK_SIZE: u64 = 256 * MIB;
/// Largest virtual disk ([MS-VHDX] §2.6.2.2). Also what keeps BAT counts far from any narrowing.
const MAX_DISK_SIZE: u64 = 64 << 40;
/// Logical sectors described by one sector bitmap block (1 MiB of bits).
const SECTORS_PER_BITMAP_BLOCK: u64 = 1 << 23;
/// Size of a sector bitmap block.
const BITMAP_BLOCK_LEN: u64 = MIB;
/// The log's unit: entries are whole 4 KiB sectors.
const LOG_SECTOR: u64 = 4096;
/// Size of a log entry header, and of a descriptor.
const LOG_HEADER_LEN: u64 = 64;
const LOG_DESCRIPTOR_LEN: u64 = 32;
/// Log entries may not target the file identifier and headers: the header locates the log, so
/// the log never updates it ([MS-VHDX] §2.2.2).
const LOG_FORBIDDEN_BELOW: u64 = 192 * KIB;
/// Work budget of the log scan: bytes checksummed, per byte of log. A real log checksums each
/// entry once (at most about the log's size); a crafted one where every sector starts an entry
/// of the log's full length would otherwise cost (log size / 4 KiB) × log size.
const LOG_SCAN_BUDGET_FACTOR: u64 = 8;

// BAT entry states ([MS-VHDX] §2.5.1).
const PAYLOAD_NOT_PRESENT: u64 = 0;
const PAYLOAD_UNDEFINED: u64 = 1;
const PAYLOAD_ZERO: u64 = 2;
const PAYLOAD_UNMAPPED: u64 = 3;
const PAYLOAD_FULLY_PRESENT: u64 = 6;
const PAYLOAD_PARTIALLY_PRESENT: u64 = 7;
const SB_PRESENT: u64 = 6;

/// A GUID in its on-disk (little-endian fields) byte order.
const fn guid(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> [u8; 16] {
    let a = d1.to_le_bytes();
    let b = d2.to_le_bytes();
    let c = d3.to_le_bytes();
    [a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4], d4[5], d4[6], d4[7]]
}

const REGION_BAT: [u8; 16] = guid(0x2DC2_7766, 0xF623, 0x4200, [0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A, 0x08]);
const REGION_METADATA: [u8; 16] = guid(0x8B7C_A206, 0x4790, 0x4B9A, [0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88, 0x6E]);
const ITEM_FILE_PARAMETERS: [u8; 16] =
    guid(0xCAA1_6737, 0xFA36, 0x4D43, [0xB3, 0xB6, 0x33, 0xF0, 0xAA, 0x44, 0xE7, 0x6B]);
const ITEM_DISK_SIZE: [u8; 16] = guid(0x2FA5_4224, 0xCD1B, 0x4876, [0xB2, 0x11, 0x5D, 0xBE, 0xD8, 0x3B, 0xF4, 0xB8]);
const ITEM_PAGE83: [u8; 16] = guid(0xBECA_12AB, 0xB2E6, 0x4523, [0x93, 0xEF, 0xC3, 0x09, 0xE0, 0x00, 0xC7, 0x46]);
const ITEM_LOGICAL_SECTOR: [u8; 16] =
    guid(0x8141_BF1D, 0xA96F, 0x4709, [0xBA, 0x47, 0xF2, 0x33, 0xA8, 0xFA, 0xAB, 0x5F]);
const ITEM_PHYSICAL_SECTOR: [u8; 16] =
    guid(0xCDA3_48C7, 0x445D, 0x4471, [0x9C, 0xC9, 0xE9, 0x88, 0x52, 0x51, 0xC5, 0x56]);
const ITEM_PARENT_LOCATOR: [u8; 16] =
    guid(0xA8D3_5F2D, 0xB30B, 0x454D, [0xAB, 0xF7, 0xD3, 0xD8, 0x48, 0x34, 0xAB, 0x0C]);
const LOCATOR_TYPE_VHDX: [u8; 16] = guid(0xB04A_EFB7, 0xD19E, 0x4A81, [0xB7, 0x89, 0x25, 0xB8, 0xE9, 0x44, 0x59, 0x13]);

// ---------------------------------------------------------------------------------------------
// CRC-32C (Castagnoli), as every VHDX checksum uses.

/// Reflected CRC-32C table (polynomial 0x1EDC6F41, reversed 0x82F63B78), built at compile time.
const CRC32C_TABLE: [u32; 256] = crc32c_table();

#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
const fn crc32c_table() -> [u32; 256] {
    // Evaluated by the compiler: an out-of-range index here would fail the build, not a run.
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 { (c >> 1) ^ 0x82F6_3B78 } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

/// Continues a CRC-32C over `data`; `crc` is the running (inverted) state: start with `!0`,
/// finish with `!crc`.
fn crc32c_update(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        let idx = usize::from(crc.to_le_bytes()[0] ^ b);
        crc = (crc >> 8) ^ CRC32C_TABLE.get(idx).copied().unwrap_or(0);
    }
    crc
}

/// The CRC-32C of `data` with the 4-byte checksum field at `field` taken as zero.
fn crc32c_skipping(data: &[u8], field: usize) -> u32 {
    let head = data.get(..field).unwrap_or_default();
    let tail = data.get(field.saturating_add(4)..).unwrap_or_default();
    let crc = crc32c_update(crc32c_update(!0, head), &[0; 4]);
    !crc32c_update(crc, tail)
}

// ---------------------------------------------------------------------------------------------
// The disk

/// A VHDX image as a virtual disk: the image and, for a differencing disk, its parents.
pub struct VhdxDisk {
    /// The image first, then each parent in turn.
    layers: Vec<Layer>,
    size: u64,
}

/// One file of the chain.
struct Layer {
    img: Image,
    size: u64,
    block_size: NonZeroU64,
    logical_sector: NonZeroU64,
    chunk_ratio: NonZeroU64,
    /// The BAT as read (8 bytes per entry), decoded at use.
    bat: Vec<u8>,
    has_parent: bool,
    /// The last block's sector bitmap (block index, bits), since reads usually walk a block in order.
    bitmap_cache: Option<(u64, Vec<u8>)>,
}

/// The image file, seen through the replayed log if there was one.
struct Image {
    src: FileSource,
    log: Option<Overlay>,
}

/// The current header's fields.
struct Header {
    seq: u64,
    data_write_guid: [u8; 16],
    log_guid: [u8; 16],
    log_length: u32,
    log_offset: u64,
    at: u64,
}

/// A region table entry's place in the file.
#[derive(Clone, Copy)]
struct Region {
    offset: u64,
    length: u64,
    /// Where its table entry is, for messages.
    entry_at: u64,
}

/// What the metadata region says.
struct Metadata {
    block_size: NonZeroU64,
    has_parent: bool,
    size: u64,
    logical_sector: NonZeroU64,
    locator: Option<Locator>,
}

/// A VHDX parent locator.
struct Locator {
    /// `parent_linkage` and `parent_linkage2`: the parent's DataWriteGuid as `{…}` text.
    linkage: Vec<String>,
    /// Candidate file names, in the order to try them.
    paths: Vec<String>,
}

impl VhdxDisk {
    /// Opens a VHDX image, and for a differencing disk its chain of parents (through `resolver`).
    pub fn open(src: FileSource, resolver: &dyn Resolver, limits: &ImageLimits) -> Result<Self> {
        let mut layers: Vec<Layer> = Vec::new();
        let mut next = Some((src, None::<(Vec<String>, NonZeroU64)>));
        while let Some((src, expected)) = next.take() {
            let (layer, header, locator) = open_layer(src, limits)?;
            if let Some((linkage, sector)) = expected {
                check_parent(&layer, &header, &linkage, sector)?;
            }
            let sector = layer.logical_sector;
            layers.push(layer);
            if let Some(locator) = locator {
                let depth = u64::try_from(layers.len()).unwrap_or(u64::MAX);
                ImageLimits::check("max_chain_depth", depth, u64::from(limits.max_chain_depth))?;
                next = Some((open_parent(resolver, &locator.paths)?, Some((locator.linkage, sector))));
            }
        }
        let size = layers.first().map_or(0, |l| l.size);
        Ok(VhdxDisk { layers, size })
    }

    /// Number of files in the chain: 1 for a fixed or dynamic disk, more for a differencing one.
    pub fn chain_len(&self) -> usize {
        self.layers.len()
    }

    /// Whether a log was replayed (in memory) for any file of the chain.
    pub fn log_replayed(&self) -> bool {
        self.layers.iter().any(|l| l.img.log.is_some())
    }
}

impl VirtualDisk for VhdxDisk {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        read_chain(("VHDX disk", "VHDX read"), &mut self.layers, self.size, offset, buf)
    }

    fn format(&self) -> ContainerFormat {
        ContainerFormat::Vhdx
    }
}

/// Checks that a parent is the one its child was made from.
fn check_parent(parent: &Layer, header: &Header, linkage: &[String], child_sector: NonZeroU64) -> Result<()> {
    let id = guid_text(&header.data_write_guid);
    if !linkage.iter().any(|l| l.trim().eq_ignore_ascii_case(&id)) {
        return Err(ImageError::Corrupt {
            what: "VHDX parent header",
            offset: header.at,
            reason: format!(
                "{}: DataWriteGuid {id} matches no parent_linkage of its child ({}): the parent changed or is the \
                 wrong file",
                parent.img.src.name(),
                linkage.join(", ")
            ),
        });
    }
    if parent.logical_sector != child_sector {
        return Err(ImageError::Corrupt {
            what: "VHDX parent",
            offset: 0,
            reason: format!(
                "{}: logical sector size {} differs from its child's {}",
                parent.img.src.name(),
                parent.logical_sector,
                child_sector
            ),
        });
    }
    Ok(())
}

/// Opens the first parent path the resolver accepts; if none, the error for the first path.
fn open_parent(resolver: &dyn Resolver, paths: &[String]) -> Result<FileSource> {
    let mut first_err = None;
    for path in paths {
        match resolver.open(path, "VHDX parent") {
            Ok(src) => return Ok(src),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or_else(|| ImageError::ExternalReference {
        what: "VHDX parent",
        name: String::new(),
        reason: "the parent locator names no path".into(),
    }))
}

// ---------------------------------------------------------------------------------------------
// Opening one file

fn open_layer(mut src: FileSource, limits: &ImageLimits) -> Result<(Layer, Header, Option<Locator>)> {
    let mut id = [0u8; 8];
    src.read_exact_at(0, &mut id, "VHDX file identifier")?;
    if &id != b"vhdxfile" {
        return Err(ImageError::BadSignature {
            what: "VHDX file identifier",
            offset: 0,
            expected: "vhdxfile",
            found: id.to_vec(),
        });
    }
    let header = current_header(&mut src)?;
    // The log comes first: nothing after the headers may be read before it is replayed.
    let log = if header.log_guid == [0; 16] { None } else { Some(replay_log(&mut src, &header, limits)?) };
    let mut img = Image { src, log };
    let (bat_region, meta_region) = region_table(&mut img)?;
    let meta = metadata(&mut img, meta_region, limits)?;

    let bs = meta.block_size;
    let lss = meta.logical_sector;
    // 2^23 × (512 or 4096) / (1 MiB ..= 256 MiB): from 16 to 32768, never zero.
    let ratio = SECTORS_PER_BITMAP_BLOCK.saturating_mul(lss.get()) / bs;
    let chunk_ratio = NonZeroU64::new(ratio).ok_or(ImageError::BadField {
        what: "VHDX chunk ratio",
        offset: meta_region.offset,
        value: ratio,
        expected: "at least 1 (2^23 × logical sector size / block size)",
    })?;
    // All in u64 (qemu #4033 narrowed this count to 32 bits): at most 2^26 blocks for 64 TiB.
    let data_blocks = meta.size.div_ceil(bs.get());
    let entries = if meta.has_parent {
        data_blocks.div_ceil(chunk_ratio.get()).checked_mul(chunk_ratio.get().saturating_add(1))
    } else {
        data_blocks.checked_add(data_blocks.saturating_sub(1) / chunk_ratio)
    };
    let bat_bytes = entries.and_then(|e| e.checked_mul(8)).ok_or(ImageError::BadField {
        what: "VHDX virtual disk size",
        offset: meta_region.offset,
        value: meta.size,
        expected: "a size whose BAT entry count fits in 64 bits",
    })?;
    if bat_bytes > bat_region.length {
        return Err(ImageError::BadField {
            what: "VHDX BAT region length",
            offset: bat_region.entry_at,
            value: bat_region.length,
            expected: "room for every BAT entry the virtual disk size needs",
        });
    }
    ImageLimits::check("max_table_bytes", bat_bytes, limits.max_table_bytes)?;
    let mut bat = alloc(bat_bytes, "max_table_bytes", limits.max_table_bytes)?;
    img.read(bat_region.offset, &mut bat, "VHDX BAT")?;

    let layer = Layer {
        img,
        size: meta.size,
        block_size: bs,
        logical_sector: lss,
        chunk_ratio,
        bat,
        has_parent: meta.has_parent,
        bitmap_cache: None,
    };
    Ok((layer, header, meta.locator))
}

/// Reads both headers and returns the current one: the valid one with the higher sequence number.
fn current_header(src: &mut FileSource) -> Result<Header> {
    let mut found: Vec<Header> = Vec::new();
    let mut first_err = None;
    for at in HEADER_OFFSETS {
        match read_header(src, at) {
            Ok(h) => found.push(h),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    let mut best: Option<Header> = None;
    for h in found {
        if best.as_ref().is_none_or(|b| h.seq > b.seq) {
            best = Some(h);
        }
    }
    match (best, first_err) {
        (Some(h), _) => Ok(h),
        (None, Some(e)) => Err(e),
        (None, None) => Err(ImageError::Corrupt { what: "VHDX header", offset: 0, reason: "no header".into() }),
    }
}

fn read_header(src: &mut FileSource, at: u64) -> Result<Header> {
    let mut h = [0u8; HEADER_LEN];
    src.read_exact_at(at, &mut h, "VHDX header")?;
    let sig = h.get(..4).unwrap_or_default();
    if sig != b"head" {
        return Err(ImageError::BadSignature {
            what: "VHDX header",
            offset: at,
            expected: "head",
            found: sig.to_vec(),
        });
    }
    let stored = le32(&h, 4);
    let computed = crc32c_skipping(&h, 4);
    if stored != computed {
        return Err(ImageError::BadChecksum {
            what: "VHDX header",
            offset: at,
            expected: u64::from(computed),
            found: u64::from(stored),
        });
    }
    let log_guid = array(&h, 48);
    let log_version = le16(&h, 64);
    let version = le16(&h, 66);
    if version != 1 {
        return Err(ImageError::BadField {
            what: "VHDX header version",
            offset: at.saturating_add(66),
            value: u64::from(version),
            expected: "1",
        });
    }
    if log_version != 0 && log_guid != [0; 16] {
        return Err(ImageError::BadField {
            what: "VHDX log version",
            offset: at.saturating_add(64),
            value: u64::from(log_version),
            expected: "0 (the only log format defined)",
        });
    }
    Ok(Header {
        seq: le64(&h, 8),
        data_write_guid: array(&h, 32),
        log_guid,
        log_length: le32(&h, 68),
        log_offset: le64(&h, 72),
        at,
    })
}

/// Reads the region table (the copy at 256 KiB if the one at 192 KiB fails its signature or
/// checksum) and returns the BAT and metadata regions.
fn region_table(img: &mut Image) -> Result<(Region, Region)> {
    let mut table = vec![0u8; REGION_TABLE_LEN];
    let mut first_err = None;
    let mut good = None;
    for at in REGION_TABLE_OFFSETS {
        match read_region_table(img, at, &mut table) {
            Ok(()) => {
                good = Some(at);
                break;
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    let Some(at) = good else {
        return Err(first_err.unwrap_or_else(|| overflow("VHDX region table", REGION_TABLE_OFFSETS[0])));
    };
    let count = u64::from(le32(&table, 8));
    if count > MAX_TABLE_ENTRIES {
        return Err(ImageError::BadField {
            what: "VHDX region table entry count",
            offset: at.saturating_add(8),
            value: count,
            expected: "at most 2047",
        });
    }
    let mut bat = None;
    let mut meta = None;
    for i in 0..count {
        // count ≤ 2047, so 16 + 32 × count < 64 KiB: every entry lies inside the table.
        let e = usize::try_from(i.saturating_mul(32).saturating_add(16)).unwrap_or(usize::MAX);
        let entry_at = at.saturating_add(u64::try_from(e).unwrap_or(u64::MAX));
        let id: [u8; 16] = array(&table, e);
        let offset = le64(&table, e.saturating_add(16));
        let length = u64::from(le32(&table, e.saturating_add(24)));
        let required = le32(&table, e.saturating_add(28)) & 1 == 1;
        let slot = match id {
            REGION_BAT => &mut bat,
            REGION_METADATA => &mut meta,
            _ if required => {
                return Err(ImageError::Unsupported(format!(
                    "VHDX region {} (table entry at byte {entry_at:#x}) is marked required but is not a known region",
                    guid_text(&id)
                )))
            }
            _ => continue,
        };
        if slot.is_some() {
            return Err(ImageError::Corrupt {
                what: "VHDX region table",
                offset: entry_at,
                reason: format!("region {} appears twice", guid_text(&id)),
            });
        }
        if offset < MIB || offset % MIB != 0 || offset.checked_add(length).is_none() {
            return Err(ImageError::BadField {
                what: "VHDX region offset",
                offset: entry_at.saturating_add(16),
                value: offset,
                expected: "a multiple of 1 MiB, at least 1 MiB",
            });
        }
        if length == 0 || length % MIB != 0 {
            return Err(ImageError::BadField {
                what: "VHDX region length",
                offset: entry_at.saturating_add(24),
                value: length,
                expected: "a non-zero multiple of 1 MiB",
            });
        }
        *slot = Some(Region { offset, length, entry_at });
    }
    match (bat, meta) {
        (Some(b), Some(m)) => Ok((b, m)),
        (b, _) => Err(ImageError::Corrupt {
            what: "VHDX region table",
            offset: at,
            reason: format!("the {} region is missing", if b.is_none() { "BAT" } else { "metadata" }),
        }),
    }
}

fn read_region_table(img: &mut Image, at: u64, table: &mut [u8]) -> Result<()> {
    img.read(at, table, "VHDX region table")?;
    let sig = table.get(..4).unwrap_or_default();
    if sig != b"regi" {
        return Err(ImageError::BadSignature {
            what: "VHDX region table",
            offset: at,
            expected: "regi",
            found: sig.to_vec(),
        });
    }
    let stored = le32(table, 4);
    let computed = crc32c_skipping(table, 4);
    if stored != computed {
        return Err(ImageError::BadChecksum {
            what: "VHDX region table",
            offset: at,
            expected: u64::from(computed),
            found: u64::from(stored),
        });
    }
    Ok(())
}

/// Reads the metadata table and the known items.
fn metadata(img: &mut Image, region: Region, limits: &ImageLimits) -> Result<Metadata> {
    let mut table = vec![0u8; METADATA_TABLE_LEN];
    img.read(region.offset, &mut table, "VHDX metadata table")?;
    let sig = table.get(..8).unwrap_or_default();
    if sig != b"metadata" {
        return Err(ImageError::BadSignature {
            what: "VHDX metadata table",
            offset: region.offset,
            expected: "metadata",
            found: sig.to_vec(),
        });
    }
    let count = u64::from(le16(&table, 10));
    if count > MAX_TABLE_ENTRIES {
        return Err(ImageError::BadField {
            what: "VHDX metadata entry count",
            offset: region.offset.saturating_add(10),
            value: count,
            expected: "at most 2047",
        });
    }
    const KNOWN: [[u8; 16]; 6] = [
        ITEM_FILE_PARAMETERS,
        ITEM_DISK_SIZE,
        ITEM_PAGE83,
        ITEM_LOGICAL_SECTOR,
        ITEM_PHYSICAL_SECTOR,
        ITEM_PARENT_LOCATOR,
    ];
    // (offset in the file, length) of each known item found.
    let mut items: [Option<(u64, u64)>; 6] = [None; 6];
    for i in 0..count {
        // count ≤ 2047, so 32 + 32 × count ≤ 64 KiB: every entry lies inside the table.
        let e = usize::try_from(i.saturating_add(1).saturating_mul(32)).unwrap_or(usize::MAX);
        let entry_at = region.offset.saturating_add(u64::try_from(e).unwrap_or(u64::MAX));
        let id: [u8; 16] = array(&table, e);
        let offset = u64::from(le32(&table, e.saturating_add(16)));
        let length = u64::from(le32(&table, e.saturating_add(20)));
        let flags = le32(&table, e.saturating_add(24));
        let (is_user, required) = (flags & 1 == 1, flags & 4 == 4);
        let known = if is_user { None } else { KNOWN.iter().position(|k| *k == id) };
        let Some(slot) = known.and_then(|k| items.get_mut(k)) else {
            if required {
                return Err(ImageError::Unsupported(format!(
                    "VHDX metadata item {} (entry at byte {entry_at:#x}) is marked required but is not known",
                    guid_text(&id)
                )));
            }
            continue;
        };
        if slot.is_some() {
            return Err(ImageError::Corrupt {
                what: "VHDX metadata table",
                offset: entry_at,
                reason: format!("item {} appears twice", guid_text(&id)),
            });
        }
        if length > MAX_ITEM_LEN {
            return Err(ImageError::BadField {
                what: "VHDX metadata item length",
                offset: entry_at.saturating_add(20),
                value: length,
                expected: "at most 1 MiB",
            });
        }
        let inside = offset.checked_add(length).is_some_and(|end| end <= region.length);
        let placed = if length == 0 { offset == 0 } else { offset >= METADATA_TABLE_LEN as u64 && inside };
        if !placed {
            return Err(ImageError::BadField {
                what: "VHDX metadata item offset",
                offset: entry_at.saturating_add(16),
                value: offset,
                expected: "an item inside the metadata region, after its 64 KiB table (or 0 for an empty item)",
            });
        }
        *slot = Some((region.offset.saturating_add(offset), length));
    }
    let [params, size, page83, logical, physical, locator] = items;

    let params = required_item::<8>(img, params, "file parameters", region)?;
    let bs = u64::from(le32(&params.1, 0));
    let flags = le32(&params.1, 4);
    let block_size = NonZeroU64::new(bs)
        .filter(|b| b.is_power_of_two() && (MIN_BLOCK_SIZE..=MAX_BLOCK_SIZE).contains(&b.get()))
        .ok_or(ImageError::BadField {
            what: "VHDX block size",
            offset: params.0,
            value: bs,
            expected: "a power of two from 1 MiB to 256 MiB",
        })?;
    let has_parent = flags & 2 == 2;

    let lss_item = required_item::<4>(img, logical, "logical sector size", region)?;
    let lss = u64::from(le32(&lss_item.1, 0));
    let logical_sector =
        NonZeroU64::new(lss).filter(|s| matches!(s.get(), 512 | 4096)).ok_or(ImageError::BadField {
            what: "VHDX logical sector size",
            offset: lss_item.0,
            value: lss,
            expected: "512 or 4096",
        })?;
    if let Some(item) = optional_item::<4>(img, physical, "physical sector size")? {
        let pss = u64::from(le32(&item.1, 0));
        if !matches!(pss, 512 | 4096) {
            return Err(ImageError::BadField {
                what: "VHDX physical sector size",
                offset: item.0,
                value: pss,
                expected: "512 or 4096",
            });
        }
    }
    // The page 83 id is not needed to read the disk; only its shape is checked.
    optional_item::<16>(img, page83, "page 83 data")?;

    let size_item = required_item::<8>(img, size, "virtual disk size", region)?;
    let size = le64(&size_item.1, 0);
    if size > MAX_DISK_SIZE || size % logical_sector != 0 {
        return Err(ImageError::BadField {
            what: "VHDX virtual disk size",
            offset: size_item.0,
            value: size,
            expected: "at most 64 TiB and a multiple of the logical sector size",
        });
    }

    let locator = match (has_parent, locator) {
        (false, _) => None,
        (true, None) => {
            return Err(ImageError::Corrupt {
                what: "VHDX metadata table",
                offset: region.offset,
                reason: "the file has a parent (HasParent) but no parent locator".into(),
            })
        }
        (true, Some((at, len))) => {
            let mut raw = alloc(len, "max_header_bytes", limits.max_header_bytes)?;
            img.read(at, &mut raw, "VHDX parent locator")?;
            Some(parse_locator(&raw, at)?)
        }
    };
    Ok(Metadata { block_size, has_parent, size, logical_sector, locator })
}

/// Reads a required fixed-size item: (its file offset, its bytes).
fn required_item<const N: usize>(
    img: &mut Image,
    item: Option<(u64, u64)>,
    what: &'static str,
    region: Region,
) -> Result<(u64, [u8; N])> {
    optional_item(img, item, what)?.ok_or_else(|| ImageError::Corrupt {
        what: "VHDX metadata table",
        offset: region.offset,
        reason: format!("the required {what} item is missing or empty"),
    })
}

/// Reads an optional fixed-size item (absent or empty: `None`; any other length: an error).
fn optional_item<const N: usize>(
    img: &mut Image,
    item: Option<(u64, u64)>,
    what: &'static str,
) -> Result<Option<(u64, [u8; N])>> {
    let Some((at, len)) = item else { return Ok(None) };
    if len == 0 {
        return Ok(None);
    }
    if len != u64::try_from(N).unwrap_or(u64::MAX) {
        return Err(ImageError::Corrupt {
            what: "VHDX metadata item",
            offset: at,
            reason: format!("the {what} item is {len} bytes long, not {N}"),
        });
    }
    let mut out = [0u8; N];
    img.read(at, &mut out, "VHDX metadata item")?;
    Ok(Some((at, out)))
}

/// Decodes a parent locator item (read at `at`).
fn parse_locator(d: &[u8], at: u64) -> Result<Locator> {
    let bad = |reason: String| ImageError::Corrupt { what: "VHDX parent locator", offset: at, reason };
    if d.len() < 20 {
        return Err(bad(format!("{} bytes, shorter than its 20-byte header", d.len())));
    }
    let kind: [u8; 16] = array(d, 0);
    if kind != LOCATOR_TYPE_VHDX {
        return Err(ImageError::Unsupported(format!(
            "VHDX parent locator of type {}: only VHDX parents are read",
            guid_text(&kind)
        )));
    }
    let count = usize::from(le16(d, 18));
    let (mut linkage, mut relative, mut volume, mut absolute) = (Vec::new(), None, None, None);
    for i in 0..count {
        // count < 2^16 and each entry is checked against the item: the loop is bounded by both.
        let e = i.saturating_mul(12).saturating_add(20);
        let entry = d.get(e..e.saturating_add(12)).ok_or_else(|| bad(format!("entry {i} runs past the item")))?;
        let text = |off: usize, len: usize| -> Result<String> {
            let bytes = usize::try_from(le32(entry, off))
                .ok()
                .and_then(|o| d.get(o..o.saturating_add(len)))
                .filter(|b| !b.is_empty() && b.len() % 2 == 0)
                .ok_or_else(|| bad(format!("entry {i}: a key or value runs past the item or has an odd length")))?;
            utf16le(bytes).ok_or_else(|| bad(format!("entry {i}: a key or value is not valid UTF-16")))
        };
        let key = text(0, usize::from(le16(entry, 8)))?;
        let value = text(4, usize::from(le16(entry, 10)))?;
        match key.as_str() {
            "parent_linkage" | "parent_linkage2" => linkage.push(value),
            "relative_path" => relative = relative.or(Some(value)),
            "volume_path" => volume = volume.or(Some(value)),
            "absolute_win32_path" => absolute = absolute.or(Some(value)),
            _ => {}
        }
    }
    if linkage.is_empty() {
        return Err(bad("no parent_linkage entry".into()));
    }
    let paths: Vec<String> = [relative, volume, absolute].into_iter().flatten().map(|p| p.replace('\\', "/")).collect();
    if paths.is_empty() {
        return Err(ImageError::ExternalReference {
            what: "VHDX parent",
            name: linkage.join(", "),
            reason: "the parent locator has no relative_path, volume_path or absolute_win32_path".into(),
        });
    }
    Ok(Locator { linkage, paths })
}

// ---------------------------------------------------------------------------------------------
// Reading

impl Layer {
    /// The BAT entry at `index`, if the table has it.
    fn entry(&self, index: u64) -> Option<u64> {
        let at = usize::try_from(index.checked_mul(8)?).ok()?;
        let bytes = self.bat.get(at..at.checked_add(8)?)?;
        Some(le64(bytes, 0))
    }

    /// The file offset an entry points to; entries in a "present" state must point past the header
    /// section.
    fn entry_offset(entry: u64, voff: u64, what: &'static str) -> Result<u64> {
        let offset = (entry >> 20).saturating_mul(MIB);
        if offset < MIB {
            return Err(ImageError::Corrupt {
                what,
                offset: voff,
                reason: format!("BAT entry {entry:#x} is present but points into the header section"),
            });
        }
        Ok(offset)
    }
}

impl ChainLayer for Layer {
    /// Serves `piece` (whose bytes are `out`) from this layer, queueing what it defers to the parent.
    fn read(&mut self, piece: &Piece, out: &mut [u8], work: &mut Vec<Piece>) -> Result<()> {
        // A parent smaller than its child reads as zeros past its end.
        let own = usize::try_from(self.size.saturating_sub(piece.voff)).unwrap_or(usize::MAX).min(out.len());
        let (out, past_end) = out.split_at_mut(own);
        past_end.fill(0);
        let bs = self.block_size;
        let mut done = 0usize;
        while done < out.len() {
            let done64 = u64::try_from(done).unwrap_or(u64::MAX);
            let voff = piece.voff.checked_add(done64).ok_or_else(|| overflow("VHDX read", piece.voff))?;
            let block = voff / bs;
            let in_block = voff % bs;
            let n = usize::try_from(bs.get().saturating_sub(in_block))
                .unwrap_or(usize::MAX)
                .min(out.len().saturating_sub(done));
            let at = piece.at.checked_add(done).ok_or_else(|| overflow("VHDX read", voff))?;
            let end = done.saturating_add(n);
            let chunk = out.get_mut(done..end).ok_or_else(|| overflow("VHDX read", voff))?;
            let index = block.checked_add(block / self.chunk_ratio).ok_or_else(|| overflow("VHDX read", voff))?;
            let entry = self.entry(index).ok_or_else(|| ImageError::Corrupt {
                what: "VHDX BAT",
                offset: voff,
                reason: format!("no entry {index} for block {block}"),
            })?;
            match entry & 7 {
                PAYLOAD_NOT_PRESENT if self.has_parent => {
                    work.push(Piece { layer: piece.layer.saturating_add(1), voff, at, len: n });
                }
                // Undefined and unmapped blocks may read as zeros ([MS-VHDX] §2.5.1.1).
                PAYLOAD_NOT_PRESENT | PAYLOAD_UNDEFINED | PAYLOAD_ZERO | PAYLOAD_UNMAPPED => chunk.fill(0),
                PAYLOAD_FULLY_PRESENT => {
                    let base = Self::entry_offset(entry, voff, "VHDX BAT")?;
                    let file_at = base.checked_add(in_block).ok_or_else(|| overflow("VHDX BAT", voff))?;
                    self.img.read(file_at, chunk, "VHDX payload block")?;
                }
                PAYLOAD_PARTIALLY_PRESENT if self.has_parent => {
                    let base = Self::entry_offset(entry, voff, "VHDX BAT")?;
                    self.read_partial(block, base, in_block, chunk, piece.layer, at, work)?;
                }
                PAYLOAD_PARTIALLY_PRESENT => {
                    return Err(ImageError::Corrupt {
                        what: "VHDX BAT",
                        offset: voff,
                        reason: format!("block {block} is partially present in a disk without a parent"),
                    })
                }
                state => {
                    return Err(ImageError::Corrupt {
                        what: "VHDX BAT",
                        offset: voff,
                        reason: format!("block {block} has the reserved state {state}"),
                    })
                }
            }
            done = end;
        }
        Ok(())
    }
}

impl Layer {
    /// Reads `chunk` (starting `in_block` bytes into block `block`, whose data is at `base`) from a
    /// partially present block: runs of sectors whose bitmap bit is set come from this file, the
    /// others are queued for the parent.
    #[allow(clippy::too_many_arguments)]
    fn read_partial(
        &mut self,
        block: u64,
        base: u64,
        in_block: u64,
        chunk: &mut [u8],
        layer: usize,
        at: usize,
        work: &mut Vec<Piece>,
    ) -> Result<()> {
        let sector = self.logical_sector;
        let block_size = self.block_size.get();
        self.load_bitmap(block)?;
        // Taken out while the file is read, put back after: the next piece is usually in the same block.
        let bits = self.bitmap_cache.take().map(|(_, bits)| bits).unwrap_or_default();
        let len = u64::try_from(chunk.len()).unwrap_or(u64::MAX);
        let end = in_block.checked_add(len).ok_or_else(|| overflow("VHDX read", base))?;
        let mut pos = in_block;
        while pos < end {
            let present = bit_lsb_first(&bits, pos / sector);
            // Extend the run while the next sectors have the same bit.
            let mut run_end = (pos / sector).saturating_add(1).saturating_mul(sector.get()).min(end);
            while run_end < end && bit_lsb_first(&bits, run_end / sector) == present {
                run_end = run_end.saturating_add(sector.get()).min(end);
            }
            let from = usize::try_from(pos.saturating_sub(in_block)).unwrap_or(usize::MAX);
            let to = usize::try_from(run_end.saturating_sub(in_block)).unwrap_or(usize::MAX);
            let part = chunk.get_mut(from..to).ok_or_else(|| overflow("VHDX read", base))?;
            if present {
                let file_at = base.checked_add(pos).ok_or_else(|| overflow("VHDX BAT", base))?;
                self.img.read(file_at, part, "VHDX payload block")?;
            } else {
                let voff = block
                    .checked_mul(block_size)
                    .and_then(|b| b.checked_add(pos))
                    .ok_or_else(|| overflow("VHDX read", base))?;
                work.push(Piece {
                    layer: layer.saturating_add(1),
                    voff,
                    at: at.checked_add(from).ok_or_else(|| overflow("VHDX read", base))?,
                    len: part.len(),
                });
            }
            pos = run_end;
        }
        self.bitmap_cache = Some((block, bits));
        Ok(())
    }

    /// Loads (into the cache) the part of the sector bitmap that covers `block`: one bit per
    /// logical sector.
    fn load_bitmap(&mut self, block: u64) -> Result<()> {
        let cached = matches!(&self.bitmap_cache, Some((b, _)) if *b == block);
        if !cached {
            let chunk = block / self.chunk_ratio;
            let index = chunk
                .checked_mul(self.chunk_ratio.get().saturating_add(1))
                .and_then(|i| i.checked_add(self.chunk_ratio.get()))
                .ok_or_else(|| overflow("VHDX BAT", block))?;
            let entry = self.entry(index).ok_or_else(|| ImageError::Corrupt {
                what: "VHDX BAT",
                offset: index.saturating_mul(8),
                reason: format!("no sector bitmap entry {index} for block {block}"),
            })?;
            if entry & 7 != SB_PRESENT {
                return Err(ImageError::Corrupt {
                    what: "VHDX BAT",
                    offset: index.saturating_mul(8),
                    reason: format!(
                        "block {block} is partially present but its sector bitmap entry {entry:#x} is not present"
                    ),
                });
            }
            let bitmap_at = Self::entry_offset(entry, index, "VHDX sector bitmap entry")?;
            // Sectors per block: 2^8 ..= 2^19, so its bits are 32 B ..= 64 KiB, a whole number of bytes.
            let sectors = self.block_size.get() / self.logical_sector;
            let bytes = sectors / 8;
            let within = (block % self.chunk_ratio).saturating_mul(bytes);
            if within.saturating_add(bytes) > BITMAP_BLOCK_LEN {
                return Err(overflow("VHDX sector bitmap", bitmap_at));
            }
            let mut bits = vec![0u8; usize::try_from(bytes).unwrap_or(0)];
            let from = bitmap_at.checked_add(within).ok_or_else(|| overflow("VHDX sector bitmap", bitmap_at))?;
            self.img.read(from, &mut bits, "VHDX sector bitmap")?;
            self.bitmap_cache = Some((block, bits));
        }
        Ok(())
    }
}

/// Bit `i` of a VHDX sector bitmap: byte `i / 8`, least significant bit first. Out of range reads as 0.
fn bit_lsb_first(bits: &[u8], i: u64) -> bool {
    let byte = usize::try_from(i / 8).ok().and_then(|b| bits.get(b)).copied().unwrap_or(0);
    (byte >> (i % 8)) & 1 == 1
}

impl Image {
    /// Fills `buf` from the file at `offset`, with the replayed log laid over it.
    fn read(&mut self, offset: u64, buf: &mut [u8], what: &'static str) -> Result<()> {
        let Some(log) = &self.log else {
            return self.src.read_exact_at(offset, buf, what);
        };
        let len = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        let end = offset.checked_add(len).filter(|&e| e <= log.len).ok_or(ImageError::Truncated {
            what,
            offset,
            needed: len,
            available: log.len.saturating_sub(offset),
        })?;
        // The part in the file is read; past it (the file as the log extended it) is zeros.
        let in_file = usize::try_from(end.min(self.src.len()).saturating_sub(offset)).unwrap_or(usize::MAX);
        let (head, tail) = buf.split_at_mut(in_file.min(buf.len()));
        if !head.is_empty() {
            self.src.read_exact_at(offset, head, what)?;
        }
        tail.fill(0);
        log.apply(offset, end, buf);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The log

/// The replayed log: non-overlapping extents of the file, keyed by their start, each holding
/// the bytes the log wrote there or zeros. Replay inserts them in order and a later write splits
/// or replaces what it overlaps, so a read costs one lookup plus the extents it touches, however
/// many descriptors the log had.
struct Overlay {
    /// start → (end, bytes of `start..end`, or `None` for zeros).
    extents: BTreeMap<u64, Extent>,
    /// The file's length after replay (extended to LastFileOffset and past every write).
    len: u64,
}

/// The end of an overlay extent and its bytes (`None`: zeros).
type Extent = (u64, Option<Box<[u8]>>);

impl Overlay {
    /// Records a write of `data` (`end - start` bytes, or zeros) over `start..end`.
    fn write(&mut self, start: u64, end: u64, data: Option<Box<[u8]>>) {
        if start >= end {
            return;
        }
        // Extents are disjoint and sorted, so those overlapping `start..end` are the last ones
        // starting before `end`, back to the first that ends after `start`.
        let overlapping: Vec<u64> =
            self.extents.range(..end).rev().take_while(|(_, (e, _))| *e > start).map(|(&s, _)| s).collect();
        for s in overlapping {
            let Some((e, bytes)) = self.extents.remove(&s) else { continue };
            let cut = |from: u64, to: u64| -> Option<Box<[u8]>> {
                let a = usize::try_from(from.saturating_sub(s)).ok()?;
                let b = usize::try_from(to.saturating_sub(s)).ok()?;
                bytes.as_ref()?.get(a..b).map(Box::from)
            };
            if s < start {
                self.extents.insert(s, (start, cut(s, start)));
            }
            if e > end {
                self.extents.insert(end, (e, cut(end, e)));
            }
        }
        self.extents.insert(start, (end, data));
    }

    /// Lays the log's writes over `buf`, which holds the file's bytes `offset..end`.
    fn apply(&self, offset: u64, end: u64, buf: &mut [u8]) {
        for (&start, (stop, data)) in self.extents.range(..end).rev() {
            if *stop <= offset {
                break;
            }
            let (from, to) = (start.max(offset), (*stop).min(end));
            let dst = usize::try_from(from.saturating_sub(offset))
                .ok()
                .zip(usize::try_from(to.saturating_sub(offset)).ok())
                .and_then(|(a, b)| buf.get_mut(a..b));
            let Some(dst) = dst else { continue };
            match data {
                None => dst.fill(0),
                Some(bytes) => {
                    let a = usize::try_from(from.saturating_sub(start)).unwrap_or(usize::MAX);
                    if let Some(s) = bytes.get(a..a.saturating_add(dst.len())) {
                        dst.copy_from_slice(s);
                    }
                }
            }
        }
    }
}

/// A log entry that passed every check.
#[derive(Clone, Copy)]
struct Entry {
    /// Offset in the log.
    pos: u64,
    len: u64,
    tail: u64,
    seq: u64,
    count: u64,
    /// Number of descriptor sectors (header included).
    desc_sectors: u64,
    flushed_file_offset: u64,
    last_file_offset: u64,
}

/// A descriptor of a valid entry.
enum Descriptor {
    /// A 4 KiB write at `file_offset`: the data sector's bytes 8..4092 between the leading and
    /// trailing bytes kept in the descriptor.
    Data { file_offset: u64, leading: [u8; 8], trailing: [u8; 4], sector: u64 },
    /// `length` bytes of zeros at `file_offset`.
    Zero { file_offset: u64, length: u64 },
}

/// The log region, read whole.
struct Log<'a> {
    bytes: &'a [u8],
    /// Its length (a non-zero multiple of 1 MiB).
    len: NonZeroU64,
    guid: [u8; 16],
    /// Where it is in the file, for messages.
    at: u64,
}

impl Log<'_> {
    /// The `k`-th 4 KiB sector of the entry at `pos`, wrapping at the end of the log.
    fn sector(&self, pos: u64, k: u64) -> Option<&[u8]> {
        let start = usize::try_from(pos.checked_add(k.checked_mul(LOG_SECTOR)?)? % self.len).ok()?;
        self.bytes.get(start..start.checked_add(4096)?)
    }

    /// The 32-byte descriptor `j` of the entry at `pos`.
    fn descriptor(&self, pos: u64, j: u64) -> Option<&[u8]> {
        let byte = LOG_HEADER_LEN.checked_add(j.checked_mul(LOG_DESCRIPTOR_LEN)?)?;
        let sector = self.sector(pos, byte / LOG_SECTOR)?;
        let within = usize::try_from(byte % LOG_SECTOR).ok()?;
        sector.get(within..within.checked_add(32)?)
    }

    /// The entry at `pos` if it is valid ([MS-VHDX] §2.3.1): every field, every descriptor and
    /// data sector, then the checksum, which is charged to `budget`.
    fn entry_at(&self, pos: u64, budget: &mut u64) -> Result<Option<Entry>> {
        let Some(h) = self.sector(pos, 0) else { return Ok(None) };
        if h.get(..4) != Some(b"loge") || array::<16>(h, 32) != self.guid {
            return Ok(None);
        }
        let log_len = self.len.get();
        let len = u64::from(le32(h, 8));
        let tail = u64::from(le32(h, 12));
        let seq = le64(h, 16);
        let count = u64::from(le32(h, 24));
        if len == 0 || len % LOG_SECTOR != 0 || len > log_len || tail % LOG_SECTOR != 0 || tail >= log_len || seq == 0 {
            return Ok(None);
        }
        let sectors = len / LOG_SECTOR;
        // count < 2^32: this cannot overflow, and the check bounds the loops below by the entry.
        let desc_sectors = count.saturating_mul(LOG_DESCRIPTOR_LEN).saturating_add(LOG_HEADER_LEN).div_ceil(LOG_SECTOR);
        if desc_sectors > sectors {
            return Ok(None);
        }
        let mut data = 0u64;
        for j in 0..count {
            let Some(d) = self.descriptor(pos, j) else { return Ok(None) };
            let file_offset = le64(d, 16);
            let ok = le64(d, 24) == seq
                && file_offset % LOG_SECTOR == 0
                && match d.get(..4) {
                    Some(b"desc") => {
                        data = data.saturating_add(1);
                        true
                    }
                    Some(b"zero") => le64(d, 8) % LOG_SECTOR == 0,
                    _ => false,
                };
            if !ok {
                return Ok(None);
            }
        }
        if desc_sectors.saturating_add(data) > sectors {
            return Ok(None);
        }
        for k in 0..data {
            let Some(s) = self.sector(pos, desc_sectors.saturating_add(k)) else { return Ok(None) };
            if s.get(..4) != Some(b"data")
                || u64::from(le32(s, 4)) != seq >> 32
                || u64::from(le32(s, 4092)) != seq & 0xFFFF_FFFF
            {
                return Ok(None);
            }
        }
        *budget = budget.checked_sub(len).ok_or_else(|| ImageError::Corrupt {
            what: "VHDX log",
            offset: self.at,
            reason: "too many candidate entries: the log scan exceeded its work budget".into(),
        })?;
        let mut crc = !0u32;
        for k in 0..sectors {
            let Some(s) = self.sector(pos, k) else { return Ok(None) };
            crc = if k == 0 {
                let rest = s.get(8..).unwrap_or_default();
                crc32c_update(crc32c_update(crc32c_update(crc, s.get(..4).unwrap_or_default()), &[0; 4]), rest)
            } else {
                crc32c_update(crc, s)
            };
        }
        if !crc != le32(h, 4) {
            return Ok(None);
        }
        Ok(Some(Entry {
            pos,
            len,
            tail,
            seq,
            count,
            desc_sectors,
            flushed_file_offset: le64(h, 48),
            last_file_offset: le64(h, 56),
        }))
    }

    /// The descriptors of a valid entry.
    fn descriptors(&self, e: &Entry) -> Vec<Descriptor> {
        let mut out = Vec::new();
        let mut data = 0u64;
        for j in 0..e.count {
            let Some(d) = self.descriptor(e.pos, j) else { continue };
            let file_offset = le64(d, 16);
            if d.get(..4) == Some(b"desc") {
                let sector = e.desc_sectors.saturating_add(data);
                data = data.saturating_add(1);
                out.push(Descriptor::Data { file_offset, leading: array(d, 8), trailing: array(d, 4), sector });
            } else {
                out.push(Descriptor::Zero { file_offset, length: le64(d, 8) });
            }
        }
        out
    }

    /// The active sequence, tail first ([MS-VHDX] §2.3.3): the newest run of valid entries with
    /// consecutive sequence numbers whose head's tail lies inside it. Empty if there is none.
    ///
    /// The specification's scan starts a run at every 4 KiB of the log, which re-walks the same
    /// entries again and again (n² steps for n sectors). A run that ended because its next entry
    /// does not follow is the same run, with the same head, from any of its later entries: when
    /// it is invalid, those starts are marked and skipped. A step budget bounds what is left.
    fn active_sequence(&self) -> Result<Vec<Entry>> {
        let log_len = self.len.get();
        let sectors = usize::try_from(log_len / LOG_SECTOR).unwrap_or(usize::MAX);
        let mut cache: Vec<Option<Option<Entry>>> = Vec::new();
        cache.try_reserve_exact(sectors).map_err(|_| overflow("VHDX log", self.at))?;
        cache.resize(sectors, None);
        let mut dead: Vec<bool> = Vec::new();
        dead.try_reserve_exact(sectors).map_err(|_| overflow("VHDX log", self.at))?;
        dead.resize(sectors, false);
        let index = |pos: u64| usize::try_from(pos / LOG_SECTOR).ok();
        let mut budget = log_len.saturating_mul(LOG_SCAN_BUDGET_FACTOR);
        let mut steps = (log_len / LOG_SECTOR).saturating_mul(LOG_SCAN_BUDGET_FACTOR).saturating_add(4096);
        let budget_error = || ImageError::Corrupt {
            what: "VHDX log",
            offset: self.at,
            reason: "too many candidate entries: the log scan exceeded its work budget".into(),
        };
        let mut candidate: Vec<Entry> = Vec::new();
        let mut candidate_seq = 0u64;
        let mut run: Vec<Entry> = Vec::new();
        let (mut tail, mut old_tail) = (0u64, 0u64);
        loop {
            // The longest run starting at `tail`, never longer than the log itself.
            run.clear();
            let (mut pos, mut covered, mut by_length) = (tail, 0u64, false);
            let skip = index(tail).and_then(|i| dead.get(i)).copied().unwrap_or(true);
            while !skip && run.len() < sectors {
                steps = steps.checked_sub(1).ok_or_else(budget_error)?;
                let Some(slot) = index(pos).and_then(|i| cache.get_mut(i)) else { break };
                let entry = match *slot {
                    Some(e) => e,
                    None => {
                        let e = self.entry_at(pos, &mut budget)?;
                        *slot = Some(e);
                        e
                    }
                };
                let Some(e) = entry else { break };
                if run.last().is_some_and(|last| last.seq.checked_add(1) != Some(e.seq)) {
                    break;
                }
                if covered.checked_add(e.len).is_none_or(|c| c > log_len) {
                    by_length = true;
                    break;
                }
                covered = covered.saturating_add(e.len);
                pos = pos.saturating_add(e.len) % self.len;
                run.push(e);
            }
            let start = run.last().and_then(|head| run.iter().position(|e| e.pos == head.tail));
            if let (Some(start), Some(head)) = (start, run.last()) {
                if head.seq > candidate_seq {
                    candidate_seq = head.seq;
                    candidate = run.get(start..).unwrap_or_default().to_vec();
                }
            } else if !by_length {
                for e in run.iter().skip(1) {
                    if let Some(d) = index(e.pos).and_then(|i| dead.get_mut(i)) {
                        *d = true;
                    }
                }
            }
            tail = if start.is_some() { pos } else { tail.saturating_add(LOG_SECTOR) % self.len };
            if tail <= old_tail {
                break;
            }
            old_tail = tail;
        }
        Ok(candidate)
    }
}

/// Replays the log named by the header into an in-memory overlay.
fn replay_log(src: &mut FileSource, header: &Header, limits: &ImageLimits) -> Result<Overlay> {
    let len = u64::from(header.log_length);
    let len_nz = NonZeroU64::new(len).filter(|l| l.get() % MIB == 0).ok_or(ImageError::BadField {
        what: "VHDX log length",
        offset: header.at.saturating_add(68),
        value: len,
        expected: "a non-zero multiple of 1 MiB (the header names a log)",
    })?;
    if header.log_offset < MIB || header.log_offset % MIB != 0 {
        return Err(ImageError::BadField {
            what: "VHDX log offset",
            offset: header.at.saturating_add(72),
            value: header.log_offset,
            expected: "a multiple of 1 MiB, at least 1 MiB",
        });
    }
    let bytes = src.read_vec_at(header.log_offset, len, "VHDX log", "max_table_bytes", limits.max_table_bytes)?;
    let log = Log { bytes: &bytes, len: len_nz, guid: header.log_guid, at: header.log_offset };
    let entries = log.active_sequence()?;
    let Some(head) = entries.last() else {
        return Err(ImageError::Corrupt {
            what: "VHDX log",
            offset: header.log_offset,
            reason: "the header names a log (LogGuid is set) but it holds no valid entry sequence: the file is \
                     corrupt and its metadata cannot be trusted"
                .into(),
        });
    };
    if src.len() < head.flushed_file_offset {
        return Err(ImageError::Corrupt {
            what: "VHDX log",
            offset: header.log_offset.saturating_add(head.pos),
            reason: format!(
                "the file ({} bytes) is shorter than the log's flushed file offset {}: it was truncated",
                src.len(),
                head.flushed_file_offset
            ),
        });
    }
    let mut overlay = Overlay { extents: BTreeMap::new(), len: src.len().max(head.last_file_offset) };
    for e in &entries {
        for d in log.descriptors(e) {
            let (file_offset, length) = match &d {
                Descriptor::Data { file_offset, .. } => (*file_offset, LOG_SECTOR),
                Descriptor::Zero { file_offset, length } => (*file_offset, *length),
            };
            let end =
                file_offset.checked_add(length).filter(|_| file_offset >= LOG_FORBIDDEN_BELOW).ok_or_else(|| {
                    ImageError::Corrupt {
                        what: "VHDX log entry",
                        offset: header.log_offset.saturating_add(e.pos),
                        reason: format!(
                            "a descriptor writes {length} bytes at {file_offset:#x}: into the headers, or past 2^64"
                        ),
                    }
                })?;
            overlay.len = overlay.len.max(end);
            match d {
                Descriptor::Data { file_offset, leading, trailing, sector } => {
                    // The 4 KiB write: leading bytes, the data sector's bytes 8..4092, trailing bytes.
                    let data = log.sector(e.pos, sector).unwrap_or_default();
                    let mut page = vec![0u8; 4096].into_boxed_slice();
                    if let (Some(p), Some(d)) = (page.get_mut(8..4092), data.get(8..4092)) {
                        p.copy_from_slice(d);
                    }
                    if let Some(p) = page.get_mut(..8) {
                        p.copy_from_slice(&leading);
                    }
                    if let Some(p) = page.get_mut(4092..) {
                        p.copy_from_slice(&trailing);
                    }
                    overlay.write(file_offset, end, Some(page));
                }
                Descriptor::Zero { file_offset, .. } => overlay.write(file_offset, end, None),
            }
        }
    }
    Ok(overlay)
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/// A zeroed buffer of `len` bytes, after checking `len` against a limit.
fn alloc(len: u64, limit: &'static str, max: u64) -> Result<Vec<u8>> {
    ImageLimits::check(limit, len, max)?;
    let n = usize::try_from(len).map_err(|_| ImageError::LimitExceeded { limit, value: len, max })?;
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| ImageError::LimitExceeded { limit, value: len, max })?;
    v.resize(n, 0);
    Ok(v)
}

/// `N` bytes at `at` (zeros where `raw` is shorter; callers pass fixed-size structures).
fn array<const N: usize>(raw: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(s) = raw.get(at..at.saturating_add(N)) {
        out.copy_from_slice(s);
    }
    out
}

fn le16(raw: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(array(raw, at))
}

fn le32(raw: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(array(raw, at))
}

fn le64(raw: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(array(raw, at))
}

/// UTF-16LE text, or `None` if it is not valid UTF-16.
fn utf16le(bytes: &[u8]) -> Option<String> {
    let units = bytes.chunks_exact(2).map(|c| u16::from_le_bytes(array(c, 0)));
    char::decode_utf16(units).collect::<std::result::Result<String, _>>().ok()
}

/// A GUID in its usual text form, lower case, with braces: `{83ed0ec3-24c8-49a6-a959-5e4bf1288bfb}`.
fn guid_text(g: &[u8; 16]) -> String {
    let d1 = u32::from_le_bytes(array(g, 0));
    let d2 = u16::from_le_bytes(array(g, 4));
    let d3 = u16::from_le_bytes(array(g, 6));
    let d4: String = g.get(8..10).unwrap_or_default().iter().map(|b| format!("{b:02x}")).collect();
    let d5: String = g.get(10..).unwrap_or_default().iter().map(|b| format!("{b:02x}")).collect();
    format!("{{{d1:08x}-{d2:04x}-{d3:04x}-{d4}-{d5}}}")
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_known_values() {
        assert_eq!(!crc32c_update(!0, b"123456789"), 0xE306_9283);
        assert_eq!(!crc32c_update(!0, b""), 0);
        assert_eq!(!crc32c_update(!0, &[0u8; 32]), 0x8A91_36AA);
        // Skipping a field is the same as zeroing it.
        let mut data = b"abcdWXYZefgh".to_vec();
        let skipped = crc32c_skipping(&data, 4);
        data[4..8].fill(0);
        assert_eq!(skipped, !crc32c_update(!0, &data));
    }

    #[test]
    fn guids_and_text() {
        assert_eq!(guid_text(&REGION_BAT), "{2dc27766-f623-4200-9d64-115e9bfd4a08}");
        assert_eq!(REGION_BAT[..4], [0x66, 0x77, 0xc2, 0x2d]);
        assert_eq!(guid_text(&LOCATOR_TYPE_VHDX), "{b04aefb7-d19e-4a81-b789-25b8e9445913}");
    }

    #[test]
    fn bitmap_bits_are_lsb_first() {
        let bits = [0b1000_0001u8, 0b0000_0010];
        let got: Vec<bool> = (0..10).map(|i| bit_lsb_first(&bits, i)).collect();
        assert_eq!(got, [true, false, false, false, false, false, false, true, false, true]);
        assert!(!bit_lsb_first(&bits, u64::MAX));
    }

    const G: [u8; 16] = *b"0123456789abcdef";

    /// Writes a one-sector log entry (no descriptors) at `pos`.
    fn put_entry(log: &mut [u8], pos: usize, seq: u64, tail: u32) {
        let e = &mut log[pos..pos + 4096];
        e.fill(0);
        e[..4].copy_from_slice(b"loge");
        e[8..12].copy_from_slice(&4096u32.to_le_bytes());
        e[12..16].copy_from_slice(&tail.to_le_bytes());
        e[16..24].copy_from_slice(&seq.to_le_bytes());
        e[32..48].copy_from_slice(&G);
        let crc = crc32c_skipping(e, 4);
        e[4..8].copy_from_slice(&crc.to_le_bytes());
    }

    fn scan(log: &[u8]) -> Result<Vec<(u64, u64)>> {
        let log = Log { bytes: log, len: NonZeroU64::new(log.len() as u64).unwrap(), guid: G, at: 0 };
        Ok(log.active_sequence()?.iter().map(|e| (e.pos / 4096, e.seq)).collect())
    }

    #[test]
    fn active_sequence_wraps_behind_an_invalid_run() {
        // 256 sectors: new entries at 0..10 (seq 1000..1010), older ones at 10..256 continuing
        // into them (seq 754..1000); the head (sector 9) has its tail at sector 15.
        let mut log = vec![0u8; 1 << 20];
        for i in 10..256u64 {
            put_entry(&mut log, i as usize * 4096, 754 + (i - 10), 10 * 4096);
        }
        for i in 0..10u64 {
            put_entry(&mut log, i as usize * 4096, 1000 + i, 15 * 4096);
        }
        let got = scan(&log).unwrap();
        let want: Vec<(u64, u64)> =
            (15..256).map(|i| (i, 754 + i - 10)).chain((0..10).map(|i| (i, 1000 + i))).collect();
        assert_eq!(got, want);
        // A torn head: the sequence ends one entry earlier.
        log[9 * 4096 + 200] ^= 1;
        let got = scan(&log).unwrap();
        assert_eq!(got.last(), Some(&(8, 1008)));
        assert_eq!(got.first(), Some(&(15, 759)));
    }

    #[test]
    fn ring_of_entries_with_tails_elsewhere_is_not_a_sequence() {
        // Every sector a valid entry with consecutive sequence numbers, each naming a tail that
        // is no entry: no valid sequence, and each entry is walked about once.
        let mut log = vec![0u8; 1 << 20];
        for i in 1..256u64 {
            put_entry(&mut log, i as usize * 4096, 10 + i, 0);
        }
        assert_eq!(scan(&log).unwrap(), []);
        // The same ring with the tail on its first entry is one valid sequence.
        for i in 1..256u64 {
            put_entry(&mut log, i as usize * 4096, 10 + i, 4096);
        }
        let got = scan(&log).unwrap();
        assert_eq!((got.len(), got[0], got[254]), (255, (1, 11), (255, 265)));
    }

    #[test]
    fn overlay_later_writes_win() {
        let mut ov = Overlay { extents: BTreeMap::new(), len: 1 << 20 };
        ov.write(4096, 12288, None);
        ov.write(8192, 12288, Some(vec![7u8; 4096].into_boxed_slice()));
        ov.write(9000, 9100, None);
        ov.write(20000, 20000, None);
        let mut buf = vec![1u8; 16384];
        ov.apply(0, 16384, &mut buf);
        assert!(buf[..4096].iter().all(|&b| b == 1));
        assert!(buf[4096..8192].iter().all(|&b| b == 0));
        assert!(buf[8192..9000].iter().all(|&b| b == 7));
        assert!(buf[9000..9100].iter().all(|&b| b == 0));
        assert!(buf[9100..12288].iter().all(|&b| b == 7));
        assert!(buf[12288..].iter().all(|&b| b == 1));
        // An unaligned window.
        let mut buf = vec![1u8; 10];
        ov.apply(8190, 8200, &mut buf);
        assert_eq!(buf, [0, 0, 7, 7, 7, 7, 7, 7, 7, 7]);
        // A write over several extents replaces them all; the ends that stick out remain.
        let page: Vec<u8> = (0..4096u32).map(|i| i as u8).collect();
        ov.write(8192, 12288, Some(page.into_boxed_slice()));
        ov.write(6000, 10000, Some(vec![9u8; 4000].into_boxed_slice()));
        let mut buf = vec![1u8; 16384];
        ov.apply(0, 16384, &mut buf);
        assert!(buf[4096..6000].iter().all(|&b| b == 0));
        assert!(buf[6000..10000].iter().all(|&b| b == 9));
        assert!((10000..12288).all(|i| buf[i] == (i - 8192) as u8));
        assert_eq!(ov.extents.len(), 3);
    }
}
