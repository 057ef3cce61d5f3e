//! VHD images (Microsoft "Virtual Hard Disk Image Format Specification" 1.0): fixed, dynamic and
//! differencing disks.
//!
//! - A **fixed** disk is its data followed by a 512-byte footer.
//! - A **dynamic** disk starts with a copy of the footer, then a 1 KiB dynamic header
//!   ("cxsparse") that locates the block allocation table (BAT: one big-endian sector number per
//!   block, `0xFFFFFFFF` = not allocated). An allocated block is a sector bitmap (one bit per
//!   512-byte sector, most significant bit first, padded to a whole sector) followed by the data.
//! - A **differencing** disk is a dynamic disk whose bitmap says which sectors it holds; every
//!   other sector comes from its parent, named by parent locators and opened only through the
//!   [`Resolver`] (which keeps it inside the image's folder). A parent may itself be a
//!   differencing disk: the chain is opened in a loop, never by recursion, and is at most
//!   [`ImageLimits::max_chain_depth`] parents long.
//!
//! Every field is validated before it sizes anything: the footer and header checksums, the block
//! size (a power of two, 512 B ..= 256 MiB), the table size against
//! [`ImageLimits::max_table_bytes`] and the file, the virtual size against the table, and every
//! allocated BAT entry against the file. Entries are checked again where they are used, and every
//! read of the file is bounds-checked.
//!
//! Like qemu, the sector bitmap of a plain dynamic disk is not consulted (its allocated blocks
//! are read whole); only a differencing disk uses it to choose between itself and its parent.
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]

use crate::disk::{overflow, read_chain, ChainLayer, ContainerFormat, Piece, VirtualDisk};
use crate::error::{ImageError, Result};
use crate::limits::ImageLimits;
use crate::source::{FileSource, Resolver};
use std::num::NonZeroU64;

/// The unit of the format: BAT entries count sectors, and the bitmap has one bit per sector.
const SECTOR: u64 = 512;
/// Size of the footer (at the end of every VHD, and copied at 0 in dynamic ones).
const FOOTER_LEN: usize = 512;
/// Size of the dynamic disk header.
const HEADER_LEN: usize = 1024;
/// A BAT entry for a block that is not allocated.
const UNALLOCATED: u32 = u32::MAX;
/// Smallest block size accepted: one sector, the bitmap's unit (a block size of 0 divides by zero
/// in careless readers: CVE-2014-0142).
const MIN_BLOCK_SIZE: u64 = 512;
/// Largest block size accepted: 256 MiB. Microsoft's tools write 2 MiB (Virtual PC also 512 KiB);
/// nothing legitimate comes near this bound, and 2^31 is a known hostile value (qemu iotest 088).
const MAX_BLOCK_SIZE: u64 = 256 << 20;
/// Longest parent locator read, bytes: a Windows path is at most 32,767 UTF-16 units.
const MAX_LOCATOR_BYTES: u32 = 64 << 10;
/// Number of parent locator entries in the dynamic header.
const LOCATOR_COUNT: usize = 8;
/// Parent locator platform code: Windows path relative to the child, UTF-16LE.
const PLATFORM_W2RU: u32 = u32::from_be_bytes(*b"W2ru");
/// Parent locator platform code: absolute Windows path, UTF-16LE.
const PLATFORM_W2KU: u32 = u32::from_be_bytes(*b"W2ku");

/// Disk type of a fixed disk.
const TYPE_FIXED: u32 = 2;
/// Disk type of a dynamic disk.
const TYPE_DYNAMIC: u32 = 3;
/// Disk type of a differencing disk.
const TYPE_DIFFERENCING: u32 = 4;

// Footer fields (big-endian).
const F_VERSION: usize = 12;
const F_DATA_OFFSET: usize = 16;
const F_CURRENT_SIZE: usize = 48;
const F_DISK_TYPE: usize = 60;
const F_CHECKSUM: usize = 64;
const F_UNIQUE_ID: usize = 68;

// Dynamic header fields (big-endian).
const H_TABLE_OFFSET: usize = 16;
const H_VERSION: usize = 24;
const H_MAX_ENTRIES: usize = 28;
const H_BLOCK_SIZE: usize = 32;
const H_CHECKSUM: usize = 36;
const H_PARENT_ID: usize = 40;
const H_PARENT_NAME: usize = 64;
const H_PARENT_NAME_LEN: usize = 512;
const H_LOCATORS: usize = 576;
const LOCATOR_LEN: usize = 24;

/// A VHD image as a virtual disk: the image and, for a differencing disk, its parents.
pub struct VhdDisk {
    /// The image first, then each parent in turn.
    layers: Vec<Layer>,
    size: u64,
}

/// One file of the chain.
struct Layer {
    src: FileSource,
    /// Virtual size of this file's disk (its footer's current size).
    size: u64,
    map: Map,
}

/// Where a layer's data lives.
enum Map {
    /// The data starts at byte 0 of the file.
    Fixed,
    /// Blocks located by the BAT.
    Sparse(Sparse),
}

struct Sparse {
    block_size: NonZeroU64,
    /// On-disk size of the sector bitmap in front of each block (a whole number of sectors).
    bitmap_len: u64,
    /// The BAT as read (big-endian u32 per block), decoded at use.
    bat: Vec<u8>,
    /// Whether missing blocks and clear bitmap bits defer to the parent.
    differencing: bool,
    /// The last bitmap read (block index, bits), since reads usually walk a block in order.
    bitmap_cache: Option<(u64, Vec<u8>)>,
}

/// A decoded footer.
struct Footer {
    disk_type: u32,
    data_offset: u64,
    current_size: u64,
    unique_id: [u8; 16],
    /// Where the footer was read, for messages.
    at: u64,
}

/// What a differencing disk says about its parent.
struct ParentRef {
    unique_id: [u8; 16],
    /// Candidate file names, in the order to try them.
    names: Vec<String>,
}

impl VhdDisk {
    /// Opens a VHD image, and for a differencing disk its chain of parents (through `resolver`).
    pub fn open(src: FileSource, resolver: &dyn Resolver, limits: &ImageLimits) -> Result<Self> {
        let mut layers: Vec<Layer> = Vec::new();
        let mut next = Some((src, None::<[u8; 16]>));
        while let Some((src, expected_id)) = next.take() {
            let (layer, footer, parent) = open_layer(src, limits)?;
            if let Some(id) = expected_id {
                if footer.unique_id != id {
                    return Err(ImageError::Corrupt {
                        what: "VHD parent footer",
                        offset: footer.at.saturating_add(F_UNIQUE_ID as u64),
                        reason: format!(
                            "{}: unique id {} is not the parent id {} its child names (the parent changed or is \
                             the wrong file)",
                            layer.src.name(),
                            hex(&footer.unique_id),
                            hex(&id)
                        ),
                    });
                }
            }
            layers.push(layer);
            if let Some(parent) = parent {
                let depth = u64::try_from(layers.len()).unwrap_or(u64::MAX);
                ImageLimits::check("max_chain_depth", depth, u64::from(limits.max_chain_depth))?;
                next = Some((open_parent(resolver, &parent.names)?, Some(parent.unique_id)));
            }
        }
        let size = layers.first().map_or(0, |l| l.size);
        Ok(VhdDisk { layers, size })
    }

    /// Number of files in the chain: 1 for a fixed or dynamic disk, more for a differencing one.
    pub fn chain_len(&self) -> usize {
        self.layers.len()
    }
}

impl VirtualDisk for VhdDisk {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        read_chain(("VHD disk", "VHD read"), &mut self.layers, self.size, offset, buf)
    }

    fn format(&self) -> ContainerFormat {
        ContainerFormat::Vhd
    }
}

impl ChainLayer for Layer {
    /// Serves `piece` (whose bytes are `out`) from this layer, queueing what it defers to the parent.
    fn read(&mut self, piece: &Piece, out: &mut [u8], work: &mut Vec<Piece>) -> Result<()> {
        // A parent smaller than its child reads as zeros past its end.
        let own = usize::try_from(self.size.saturating_sub(piece.voff)).unwrap_or(usize::MAX).min(out.len());
        let (mine, past_end) = out.split_at_mut(own);
        past_end.fill(0);
        match &mut self.map {
            Map::Fixed => self.src.read_exact_at(piece.voff, mine, "VHD fixed disk data"),
            Map::Sparse(sparse) => sparse.read(&mut self.src, piece, mine, work),
        }
    }
}

impl Sparse {
    /// The BAT entry of `block`, if the table has it.
    fn entry(&self, block: u64) -> Option<u32> {
        let at = usize::try_from(block.checked_mul(4)?).ok()?;
        Some(be32(self.bat.get(at..at.checked_add(4)?)?, 0))
    }

    fn read(&mut self, src: &mut FileSource, piece: &Piece, out: &mut [u8], work: &mut Vec<Piece>) -> Result<()> {
        let bs = self.block_size;
        let mut done = 0usize;
        while done < out.len() {
            let done64 = u64::try_from(done).unwrap_or(u64::MAX);
            let voff = piece.voff.checked_add(done64).ok_or_else(|| overflow("VHD read", piece.voff))?;
            let block = voff / bs;
            let in_block = voff % bs;
            let left = out.len().saturating_sub(done);
            let n = usize::try_from(bs.get().saturating_sub(in_block)).unwrap_or(usize::MAX).min(left);
            let at = piece.at.checked_add(done).ok_or_else(|| overflow("VHD read", voff))?;
            let end = done.saturating_add(n);
            let chunk = out.get_mut(done..end).ok_or_else(|| overflow("VHD read", voff))?;
            let entry = self.entry(block).ok_or_else(|| ImageError::Corrupt {
                what: "VHD block allocation table",
                offset: voff,
                reason: format!("no entry for block {block} (the table has {})", self.bat.len() / 4),
            })?;
            if entry == UNALLOCATED {
                if self.differencing {
                    work.push(Piece { layer: piece.layer.saturating_add(1), voff, at, len: n });
                } else {
                    chunk.fill(0);
                }
            } else {
                let block_at = u64::from(entry).checked_mul(SECTOR).ok_or_else(|| overflow("VHD BAT entry", voff))?;
                let data_at = block_at.checked_add(self.bitmap_len).ok_or_else(|| overflow("VHD BAT entry", voff))?;
                if self.differencing {
                    self.read_partial(src, block, block_at, data_at, in_block, chunk, piece.layer, at, work)?;
                } else {
                    let file_at = data_at.checked_add(in_block).ok_or_else(|| overflow("VHD BAT entry", voff))?;
                    src.read_exact_at(file_at, chunk, "VHD data block")?;
                }
            }
            done = end;
        }
        Ok(())
    }

    /// Reads `chunk` (starting `in_block` bytes into block `block`) from a differencing layer: runs
    /// of sectors whose bitmap bit is set come from this file, the others are queued for the parent.
    #[allow(clippy::too_many_arguments)]
    fn read_partial(
        &mut self,
        src: &mut FileSource,
        block: u64,
        block_at: u64,
        data_at: u64,
        in_block: u64,
        chunk: &mut [u8],
        layer: usize,
        at: usize,
        work: &mut Vec<Piece>,
    ) -> Result<()> {
        let block_size = self.block_size.get();
        let bits = self.bitmap(src, block, block_at)?;
        let len = u64::try_from(chunk.len()).unwrap_or(u64::MAX);
        let end = in_block.checked_add(len).ok_or_else(|| overflow("VHD read", block_at))?;
        let mut pos = in_block;
        while pos < end {
            let present = bit_msb_first(bits, pos / SECTOR);
            // Extend the run while the next sectors have the same bit.
            let mut run_end = (pos / SECTOR).saturating_add(1).saturating_mul(SECTOR).min(end);
            while run_end < end && bit_msb_first(bits, run_end / SECTOR) == present {
                run_end = run_end.saturating_add(SECTOR).min(end);
            }
            let from = usize::try_from(pos.saturating_sub(in_block)).unwrap_or(usize::MAX);
            let to = usize::try_from(run_end.saturating_sub(in_block)).unwrap_or(usize::MAX);
            let part = chunk.get_mut(from..to).ok_or_else(|| overflow("VHD read", block_at))?;
            if present {
                let file_at = data_at.checked_add(pos).ok_or_else(|| overflow("VHD BAT entry", block_at))?;
                src.read_exact_at(file_at, part, "VHD data block")?;
            } else {
                let voff = block
                    .checked_mul(block_size)
                    .and_then(|b| b.checked_add(pos))
                    .ok_or_else(|| overflow("VHD read", block_at))?;
                work.push(Piece {
                    layer: layer.saturating_add(1),
                    voff,
                    at: at.checked_add(from).ok_or_else(|| overflow("VHD read", block_at))?,
                    len: part.len(),
                });
            }
            pos = run_end;
        }
        Ok(())
    }

    /// The sector bitmap of `block` (one bit per sector of the block), cached.
    fn bitmap(&mut self, src: &mut FileSource, block: u64, block_at: u64) -> Result<&[u8]> {
        let cached = matches!(&self.bitmap_cache, Some((b, _)) if *b == block);
        if !cached {
            let sectors = self.block_size.get() / SECTOR;
            let mut bits = vec![0u8; usize::try_from(sectors.div_ceil(8)).unwrap_or(usize::MAX)];
            src.read_exact_at(block_at, &mut bits, "VHD sector bitmap")?;
            self.bitmap_cache = Some((block, bits));
        }
        Ok(self.bitmap_cache.as_ref().map_or(&[][..], |(_, bits)| bits.as_slice()))
    }
}

/// Bit `i` of a VHD bitmap: byte `i / 8`, most significant bit first. Out of range reads as 0.
fn bit_msb_first(bits: &[u8], i: u64) -> bool {
    let byte = usize::try_from(i / 8).ok().and_then(|b| bits.get(b)).copied().unwrap_or(0);
    let shift = 7u64.saturating_sub(i % 8);
    (byte >> shift) & 1 == 1
}

/// Opens one file of the chain: its footer, and for a dynamic or differencing disk its header,
/// BAT and parent reference.
fn open_layer(mut src: FileSource, limits: &ImageLimits) -> Result<(Layer, Footer, Option<ParentRef>)> {
    let len = src.len();
    let tail_at = len.checked_sub(FOOTER_LEN as u64).ok_or(ImageError::Truncated {
        what: "VHD footer",
        offset: 0,
        needed: FOOTER_LEN as u64,
        available: len,
    })?;
    let mut raw = [0u8; FOOTER_LEN];
    src.read_exact_at(tail_at, &mut raw, "VHD footer")?;
    let footer = match parse_footer(&raw, tail_at) {
        Ok(f) => f,
        Err(tail_err) => {
            // A dynamic disk keeps a copy of the footer at 0: use it when the trailing one is
            // damaged or cut off. A fixed disk has no copy.
            src.read_exact_at(0, &mut raw, "VHD footer copy")?;
            match parse_footer(&raw, 0) {
                Ok(f) if f.disk_type == TYPE_DYNAMIC || f.disk_type == TYPE_DIFFERENCING => f,
                _ => return Err(tail_err),
            }
        }
    };
    match footer.disk_type {
        TYPE_FIXED => {
            if footer.current_size > tail_at {
                return Err(ImageError::Truncated {
                    what: "VHD fixed disk data",
                    offset: 0,
                    needed: footer.current_size,
                    available: tail_at,
                });
            }
            let layer = Layer { src, size: footer.current_size, map: Map::Fixed };
            Ok((layer, footer, None))
        }
        TYPE_DYNAMIC | TYPE_DIFFERENCING => {
            let (sparse, parent) = open_sparse(&mut src, &footer, limits)?;
            let layer = Layer { src, size: footer.current_size, map: Map::Sparse(sparse) };
            Ok((layer, footer, parent))
        }
        other => Err(ImageError::BadField {
            what: "VHD disk type",
            offset: footer.at.saturating_add(F_DISK_TYPE as u64),
            value: u64::from(other),
            expected: "2 (fixed), 3 (dynamic) or 4 (differencing)",
        }),
    }
}

/// Decodes and checks a footer read at `at`.
fn parse_footer(raw: &[u8; FOOTER_LEN], at: u64) -> Result<Footer> {
    let cookie = raw.get(..8).unwrap_or_default();
    if cookie != b"conectix" {
        return Err(ImageError::BadSignature {
            what: "VHD footer",
            offset: at,
            expected: "conectix",
            found: cookie.to_vec(),
        });
    }
    let stored = be32(raw, F_CHECKSUM);
    let computed = checksum(raw, F_CHECKSUM);
    if stored != computed {
        return Err(ImageError::BadChecksum {
            what: "VHD footer",
            offset: at,
            expected: u64::from(computed),
            found: u64::from(stored),
        });
    }
    let version = be32(raw, F_VERSION);
    if version >> 16 != 1 {
        return Err(ImageError::BadField {
            what: "VHD footer format version",
            offset: at.saturating_add(F_VERSION as u64),
            value: u64::from(version),
            expected: "major version 1 (0x00010000)",
        });
    }
    Ok(Footer {
        disk_type: be32(raw, F_DISK_TYPE),
        data_offset: be64(raw, F_DATA_OFFSET),
        current_size: be64(raw, F_CURRENT_SIZE),
        unique_id: array(raw, F_UNIQUE_ID),
        at,
    })
}

/// Reads and checks the dynamic header and the BAT, and the parent reference of a differencing disk.
fn open_sparse(src: &mut FileSource, footer: &Footer, limits: &ImageLimits) -> Result<(Sparse, Option<ParentRef>)> {
    let at = footer.data_offset;
    let mut h = [0u8; HEADER_LEN];
    src.read_exact_at(at, &mut h, "VHD dynamic header")?;
    let cookie = h.get(..8).unwrap_or_default();
    if cookie != b"cxsparse" {
        return Err(ImageError::BadSignature {
            what: "VHD dynamic header",
            offset: at,
            expected: "cxsparse",
            found: cookie.to_vec(),
        });
    }
    let stored = be32(&h, H_CHECKSUM);
    let computed = checksum(&h, H_CHECKSUM);
    if stored != computed {
        return Err(ImageError::BadChecksum {
            what: "VHD dynamic header",
            offset: at,
            expected: u64::from(computed),
            found: u64::from(stored),
        });
    }
    let field_at = |f: usize| at.saturating_add(f as u64);
    let version = be32(&h, H_VERSION);
    if version >> 16 != 1 {
        return Err(ImageError::BadField {
            what: "VHD dynamic header version",
            offset: field_at(H_VERSION),
            value: u64::from(version),
            expected: "major version 1 (0x00010000)",
        });
    }
    let block_size = u64::from(be32(&h, H_BLOCK_SIZE));
    let block_size = NonZeroU64::new(block_size)
        .filter(|b| b.is_power_of_two() && (MIN_BLOCK_SIZE..=MAX_BLOCK_SIZE).contains(&b.get()))
        .ok_or(ImageError::BadField {
            what: "VHD block size",
            offset: field_at(H_BLOCK_SIZE),
            value: block_size,
            expected: "a power of two from 512 bytes to 256 MiB",
        })?;
    let entries = u64::from(be32(&h, H_MAX_ENTRIES));
    // Cross-check before anything is read: the table must cover the whole virtual disk.
    let covered = entries.saturating_mul(block_size.get());
    if footer.current_size > covered {
        return Err(ImageError::BadField {
            what: "VHD current size",
            offset: footer.at.saturating_add(F_CURRENT_SIZE as u64),
            value: footer.current_size,
            expected: "at most max table entries × block size",
        });
    }
    let table_at = be64(&h, H_TABLE_OFFSET);
    // entries < 2^32, so the byte count cannot overflow; the limit and the file bound it further.
    let table_bytes = entries.saturating_mul(4);
    let bat = src.read_vec_at(
        table_at,
        table_bytes,
        "VHD block allocation table",
        "max_table_bytes",
        limits.max_table_bytes,
    )?;
    let sectors = block_size.get() / SECTOR;
    let bitmap_len = sectors.div_ceil(8).div_ceil(SECTOR).saturating_mul(SECTOR);
    // Every block of the virtual disk that is allocated must lie inside the file (reads check
    // again). Entries past the disk's last block are unused and not looked at.
    let used = footer.current_size.div_ceil(block_size.get());
    let span = bitmap_len.saturating_add(block_size.get());
    for (i, raw) in (0..used).zip(bat.chunks_exact(4)) {
        let entry = be32(raw, 0);
        let end = u64::from(entry).saturating_mul(SECTOR).saturating_add(span);
        if entry != UNALLOCATED && end > src.len() {
            return Err(ImageError::BadField {
                what: "VHD BAT entry",
                offset: table_at.saturating_add(i.saturating_mul(4)),
                value: u64::from(entry),
                expected: "the first sector of a block (bitmap and data) that lies inside the file",
            });
        }
    }
    let differencing = footer.disk_type == TYPE_DIFFERENCING;
    let sparse = Sparse { block_size, bitmap_len, bat, differencing, bitmap_cache: None };
    let parent = if differencing { Some(parent_ref(src, &h, at)?) } else { None };
    Ok((sparse, parent))
}

/// The parent of a differencing disk: its unique id and the names its locators give, relative
/// Windows paths (W2ru) first, then absolute ones (W2ku), with `\` turned into `/`.
fn parent_ref(src: &mut FileSource, h: &[u8; HEADER_LEN], at: u64) -> Result<ParentRef> {
    let mut names = Vec::new();
    for wanted in [PLATFORM_W2RU, PLATFORM_W2KU] {
        for i in 0..LOCATOR_COUNT {
            let entry = H_LOCATORS.saturating_add(i.saturating_mul(LOCATOR_LEN));
            if be32(h, entry) != wanted {
                continue;
            }
            let len = be32(h, entry.saturating_add(8));
            let data_at = be64(h, entry.saturating_add(16));
            if len == 0 {
                continue;
            }
            if len > MAX_LOCATOR_BYTES || len % 2 != 0 {
                return Err(ImageError::BadField {
                    what: "VHD parent locator length",
                    offset: at.saturating_add(entry.saturating_add(8) as u64),
                    value: u64::from(len),
                    expected: "an even byte count of at most 64 KiB",
                });
            }
            let mut raw = vec![0u8; usize::try_from(len).unwrap_or(0)];
            src.read_exact_at(data_at, &mut raw, "VHD parent locator")?;
            let units = raw
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c.first().copied().unwrap_or(0), c.get(1).copied().unwrap_or(0)]));
            let name: String =
                char::decode_utf16(units).collect::<std::result::Result<_, _>>().map_err(|_| ImageError::Corrupt {
                    what: "VHD parent locator",
                    offset: data_at,
                    reason: "the path is not valid UTF-16".into(),
                })?;
            let name = name.trim_end_matches('\0').replace('\\', "/");
            if !name.is_empty() {
                names.push(name);
            }
        }
    }
    if names.is_empty() {
        let units = h
            .get(H_PARENT_NAME..H_PARENT_NAME.saturating_add(H_PARENT_NAME_LEN))
            .unwrap_or_default()
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c.first().copied().unwrap_or(0), c.get(1).copied().unwrap_or(0)]));
        let shown: String = char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect();
        return Err(ImageError::ExternalReference {
            what: "VHD parent",
            name: shown.trim_end_matches('\0').to_owned(),
            reason: "the differencing disk has no W2ru or W2ku parent locator".into(),
        });
    }
    Ok(ParentRef { unique_id: array(h, H_PARENT_ID), names })
}

/// Opens the first parent name the resolver accepts; if none, the error for the first name.
fn open_parent(resolver: &dyn Resolver, names: &[String]) -> Result<FileSource> {
    let mut first_err = None;
    for name in names {
        match resolver.open(name, "VHD parent") {
            Ok(src) => return Ok(src),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or_else(|| ImageError::ExternalReference {
        what: "VHD parent",
        name: String::new(),
        reason: "no parent locator".into(),
    }))
}

/// The VHD checksum: one's complement of the byte sum, the 4-byte checksum field at `field`
/// counted as zero.
fn checksum(raw: &[u8], field: usize) -> u32 {
    let skip = field..field.saturating_add(4);
    let sum =
        raw.iter().enumerate().filter(|(i, _)| !skip.contains(i)).fold(0u32, |s, (_, &b)| s.wrapping_add(u32::from(b)));
    !sum
}

/// `N` bytes at `at` (zeros where `raw` is shorter; callers pass fixed-size structures).
fn array<const N: usize>(raw: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(s) = raw.get(at..at.saturating_add(N)) {
        out.copy_from_slice(s);
    }
    out
}

fn be32(raw: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(array(raw, at))
}

fn be64(raw: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(array(raw, at))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    #[test]
    fn checksum_skips_its_field() {
        let mut raw = [0u8; 512];
        raw[0] = 1;
        raw[64..68].copy_from_slice(&[0xff; 4]);
        assert_eq!(checksum(&raw, 64), !1u32);
    }

    #[test]
    fn bitmap_bits_are_msb_first() {
        let bits = [0b1000_0001u8, 0b0100_0000];
        let got: Vec<bool> = (0..10).map(|i| bit_msb_first(&bits, i)).collect();
        assert_eq!(got, [true, false, false, false, false, false, false, true, false, true]);
        assert!(!bit_msb_first(&bits, u64::MAX));
    }
}
