//! Hosted sparse extents (`KDMV`): monolithicSparse, twoGbMaxExtentSparse and streamOptimized.
//!
//! Source: VMware's "Virtual Disk Format 5.0" technical note. A hosted sparse extent starts with
//! a 512-byte `KDMV` header; its grain directory (GD) holds one u32 sector offset per grain table
//! (GT), and each GT holds `numGTEsPerGT` u32 sector offsets of grains: 0 is unallocated (the
//! parent's data, or zeros), 1 a zeroed grain (version 2+ / flag bit 2). In a stream-optimized
//! extent each grain starts with a marker (LBA u64, compressed size u32) followed by zlib data,
//! and a header `gdOffset` of `GD_AT_END` means the real header is the footer in the file's
//! second-to-last sector.
//!
//! Hostile-input rules (HOSTILE-INPUTS.md §1.4, §3.1 C9–C12):
//! - the grain size is a non-zero power of two of at most 2^21 sectors, `numGTEsPerGT` is 1..=512,
//!   the capacity times 512 fits in 2^61 bytes, and the GD (count × 4, computed in u64) is
//!   checked against `max_table_bytes` and the file before it is allocated (bz#1226809);
//! - every GT and grain is read through [`FileSource::read_exact_at`], so one past the end of the
//!   file is an error, never silent zeros;
//! - a compressed grain is inflated into one grain at most, its marker must name its own LBA and
//!   its compressed size is bounded; inflated grains are cached and charged to
//!   `max_inflated_bytes`.

use super::descriptor::text_until_nul;
use super::{bad, corrupt, decode_le32, le_u16, le_u32, le_u64, sectors_to_bytes, Map, MAX_GRAIN_SECTORS, SECTOR};
use crate::container::cache::{inflate_into, zeroed, InflateBudget, LruCache};
use crate::error::{ImageError, Result};
use crate::limits::ImageLimits;
use crate::source::FileSource;

/// Hosted sparse extent magic.
pub(super) const SPARSE_MAGIC: &[u8; 4] = b"KDMV";
/// `gdOffset` meaning "the grain directory is given by the footer".
const GD_AT_END: u64 = u64::MAX;
/// The spec's (and qemu's largest accepted) number of entries per grain table.
const MAX_GTES_PER_GT: u32 = 512;
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

/// A hosted sparse (or stream-optimized) extent.
pub(super) struct Sparse {
    pub(super) src: FileSource,
    /// Capacity in sectors.
    pub(super) capacity: u64,
    grain_bits: u32,
    pub(super) grain_bytes: u64,
    gtes: u64,
    gd: Vec<u32>,
    gd_offset: u64,
    pub(super) compressed: bool,
    zero_grain: bool,
    max_table_bytes: u64,
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
    pub(super) fn open(
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
    pub(super) fn lookup(
        &mut self,
        idx: usize,
        rel: u64,
        want: u64,
        gts: &mut LruCache<Vec<u32>>,
    ) -> Result<(Map, u64)> {
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
    pub(super) fn inflate_grain(&mut self, sector: u32, grain: u64, budget: &mut InflateBudget) -> Result<Vec<u8>> {
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
