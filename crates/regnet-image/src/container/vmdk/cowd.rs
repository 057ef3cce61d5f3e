//! VMFSSPARSE extents: the `COWD` sparse format of ESX snapshot deltas (`<disk>-00000N-delta.vmdk`,
//! createType `vmfsSparse`, the default on VMFS5 and earlier).
//!
//! Sources (read for facts): libvmdk's "VMWare Virtual Disk Format (VMDK)", section "The COWD
//! sparse extent data file", and qemu's `vmdk_open_vmfs_sparse`. The file starts with a 2048-byte
//! header; its first fields, little-endian u32s, are:
//!
//! | offset | field |
//! |---|---|
//! | 0 | magic `COWD` |
//! | 4 | version (1) |
//! | 8 | flags (3 in the files seen) |
//! | 12 | numSectors: the capacity, in sectors |
//! | 16 | grainSize, in sectors (1 on ESX: 512-byte grains) |
//! | 20 | gdOffset: the grain directory's sector |
//! | 24 | numGDEntries |
//! | 28 | freeSector: the next free sector |
//!
//! (the rest, parent file name, generations, disk name and description, dirty flag, is not
//! needed to read). The grain directory holds `numGDEntries` u32 sector numbers of grain tables (0:
//! none, the whole 4096-grain span is the parent's); each grain table holds 4096 u32 sector numbers
//! of grains (0: unallocated, the parent's data). There is no zeroed-grain entry.
//!
//! Hostile-input rules, checked at open: the version is 1; the grain size is 1..=2^21 sectors;
//! the directory covers the capacity, sits after the header, and its part that maps the
//! capacity (count × 4, in u64) fits `max_table_bytes` and the file before it is allocated; every
//! grain table it names lies inside the file, after the header, off the directory and off every
//! other grain table. Checked at each lookup: a grain lies after the header, off the directory and
//! off every grain table, and the part of it that holds disk data lies inside the file.

use super::{bad, charge_tables, corrupt, decode_le32, le_u32, overlaps, run_length, Map, MAX_GRAIN_SECTORS, SECTOR};
use crate::container::cache::LruCache;
use crate::error::{ImageError, Result};
use crate::limits::ImageLimits;
use crate::source::FileSource;

/// The magic of a COWD file.
pub(super) const MAGIC: &[u8; 4] = b"COWD";
/// The header's size: grains, tables and the directory all lie past it.
const HEADER_BYTES: u64 = 2048;
/// Header fields read (magic to freeSector).
const FIELDS: usize = 32;
/// Entries per grain table, fixed by the format.
const GTES: u64 = 4096;
/// Bytes of one grain table.
const GT_BYTES: u64 = GTES * 4;

/// An open COWD extent.
#[derive(Debug)]
pub(super) struct Cowd {
    pub(super) src: FileSource,
    /// Capacity in sectors.
    pub(super) capacity: u64,
    grain_bytes: u64,
    /// Grain table sectors, for the grains that map the capacity.
    gd: Vec<u32>,
    /// Byte range of the directory as the header declares it.
    gd_range: (u64, u64),
    /// Byte offsets of the grain tables, sorted: a grain must miss all of them.
    gt_starts: Vec<u64>,
    max_table_bytes: u64,
}

impl Cowd {
    /// Reads and checks the header, the grain directory and where its grain tables lie.
    pub(super) fn open(mut src: FileSource, limits: &ImageLimits, table_bytes: &mut u64) -> Result<Cowd> {
        let file_len = src.len();
        let mut h = [0u8; FIELDS];
        src.read_exact_at(0, &mut h, "VMDK COWD header")?;
        if h.get(..4) != Some(MAGIC.as_slice()) {
            return Err(ImageError::BadSignature {
                what: "VMDK COWD header",
                offset: 0,
                expected: "COWD",
                found: h.get(..4).unwrap_or_default().to_vec(),
            });
        }
        let version = le_u32(&h, 4);
        if version != 1 {
            return Err(bad("VMDK COWD version", 4, version.into(), "1"));
        }
        let capacity = u64::from(le_u32(&h, 12));
        let grain = u64::from(le_u32(&h, 16));
        if grain == 0 || grain > MAX_GRAIN_SECTORS {
            return Err(bad("VMDK COWD grainSize", 16, grain, "1..=2^21 sectors"));
        }
        let gd_sector = u64::from(le_u32(&h, 20));
        let gd_entries = u64::from(le_u32(&h, 24));
        // grain × GTES ≤ 2^33 sectors; capacity < 2^32: all in u64 without overflow.
        let needed = capacity.div_ceil(grain * GTES);
        if gd_entries < needed {
            return Err(bad(
                "VMDK COWD numGDEntries",
                24,
                gd_entries,
                "enough grain tables for the capacity (numSectors / (grainSize × 4096), rounded up)",
            ));
        }
        let gd_offset = gd_sector * SECTOR;
        let gd_range = (gd_offset, gd_offset + gd_entries * 4);
        let gd_bytes = needed * 4;
        // The directory and the sorted copy of its table offsets.
        charge_tables(table_bytes, gd_bytes.saturating_mul(3), limits)?;
        let gd = if needed > 0 {
            if gd_offset < HEADER_BYTES {
                return Err(bad("VMDK COWD gdOffset", 20, gd_sector, "a sector past the 2048-byte header"));
            }
            if gd_offset + gd_bytes > file_len {
                return Err(ImageError::Truncated {
                    what: "VMDK COWD grain directory",
                    offset: gd_offset,
                    needed: gd_bytes,
                    available: file_len.saturating_sub(gd_offset),
                });
            }
            let raw = src.read_vec_at(
                gd_offset,
                gd_bytes,
                "VMDK COWD grain directory",
                "max_table_bytes",
                limits.max_table_bytes,
            )?;
            decode_le32(&raw, limits.max_table_bytes)?
        } else {
            Vec::new()
        };
        let mut gt_starts = Vec::new();
        gt_starts.try_reserve_exact(gd.len()).map_err(|_| ImageError::LimitExceeded {
            limit: "max_table_bytes",
            value: gd_bytes.saturating_mul(2),
            max: limits.max_table_bytes,
        })?;
        for (i, &gde) in gd.iter().enumerate() {
            if gde == 0 {
                continue;
            }
            let at = gd_offset + i as u64 * 4;
            let start = u64::from(gde) * SECTOR;
            let end = start + GT_BYTES;
            if start < HEADER_BYTES || overlaps((start, end), gd_range) {
                return Err(corrupt(
                    "VMDK COWD grain directory entry",
                    at,
                    format!("grain table at sector {gde} overlaps the header or the grain directory"),
                ));
            }
            if end > file_len {
                return Err(ImageError::Truncated {
                    what: "VMDK COWD grain table",
                    offset: start,
                    needed: GT_BYTES,
                    available: file_len.saturating_sub(start),
                });
            }
            gt_starts.push(start);
        }
        gt_starts.sort_unstable();
        if let Some(w) = gt_starts.windows(2).find(|w| matches!(w, [a, b] if b - a < GT_BYTES)) {
            return Err(corrupt(
                "VMDK COWD grain table",
                w.get(1).copied().unwrap_or_default(),
                "two grain tables overlap (or one is listed twice)",
            ));
        }
        Ok(Cowd {
            src,
            capacity,
            grain_bytes: grain * SECTOR,
            gd,
            gd_range,
            gt_starts,
            max_table_bytes: limits.max_table_bytes,
        })
    }

    /// What metadata `range` (bytes of the file) overlaps, if any.
    fn hits_metadata(&self, range: (u64, u64)) -> Option<&'static str> {
        if overlaps(range, (0, HEADER_BYTES)) {
            return Some("the header");
        }
        if overlaps(range, self.gd_range) {
            return Some("the grain directory");
        }
        // The last table starting before the range's end is the only one that can reach into it.
        let i = self.gt_starts.partition_point(|&s| s < range.1);
        let gt = i.checked_sub(1).and_then(|i| self.gt_starts.get(i)).copied()?;
        overlaps(range, (gt, gt + GT_BYTES)).then_some("a grain table")
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
        let grain = rel / self.grain_bytes;
        let intra = rel % self.grain_bytes;
        let gd_index = grain / GTES;
        let first = grain % GTES;
        // Bytes to the end of what this GT maps (≤ 4096 grains of ≤ 1 GiB: < 2^43).
        let table_left = (GTES - first) * self.grain_bytes - intra;
        let limit = want.min(table_left).max(1);
        let gd_at = self.gd_range.0.saturating_add(gd_index.saturating_mul(4));
        let gde = usize::try_from(gd_index)
            .ok()
            .and_then(|i| self.gd.get(i).copied())
            .ok_or_else(|| corrupt("VMDK COWD grain directory", gd_at, "grain beyond the grain directory"))?;
        if gde == 0 {
            return Ok((Map::Unallocated, limit));
        }
        let gt_at = u64::from(gde) * SECTOR;
        let (src, max_table) = (&mut self.src, self.max_table_bytes);
        let key = (idx as u64) << 32 | u64::from(gde);
        let table = gts.get_or_try_insert_with(key, || {
            let raw = src.read_vec_at(gt_at, GT_BYTES, "VMDK COWD grain table", "max_table_bytes", max_table)?;
            decode_le32(&raw, max_table)
        })?;
        let disk_bytes = self.capacity * SECTOR;
        let file_len = self.src.len();
        let this = &*self;
        let classify = |i: u64, intra: u64| -> Result<Map> {
            let gte = usize::try_from(i).ok().and_then(|i| table.get(i).copied()).unwrap_or(0);
            if gte == 0 {
                return Ok(Map::Unallocated);
            }
            let entry_at = gt_at + i * 4;
            let start = u64::from(gte) * SECTOR;
            let g = grain - first + i;
            // Only the part of the grain that maps disk bytes must exist (the last may be partial).
            let data = this.grain_bytes.min(disk_bytes.saturating_sub(g * this.grain_bytes));
            if let Some(what) = this.hits_metadata((start, start + this.grain_bytes)) {
                return Err(corrupt(
                    "VMDK COWD grain table entry",
                    entry_at,
                    format!("grain at sector {gte} overlaps {what}"),
                ));
            }
            if start + data > file_len {
                return Err(ImageError::Truncated {
                    what: "VMDK COWD grain",
                    offset: start,
                    needed: data,
                    available: file_len.saturating_sub(start),
                });
            }
            Ok(Map::Data { extent: idx, at: start + intra })
        };
        let map = classify(first, intra)?;
        let len = run_length(map, self.grain_bytes - intra, limit, self.grain_bytes, GTES - 1 - first, |k| {
            classify(first + k, 0)
        })?;
        Ok((map, len))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::source::Counters;
    use std::sync::Arc;

    /// A COWD file: header, directory at sector 4, then tables and grains as `build` lays them.
    pub(crate) struct Image {
        pub(crate) bytes: Vec<u8>,
    }

    fn put32(b: &mut Vec<u8>, at: usize, v: u32) {
        if b.len() < at + 4 {
            b.resize(at + 4, 0);
        }
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    /// `grains`: (grain number, fill byte). Grain size `grain` sectors, capacity `cap` sectors.
    pub(crate) fn build(cap: u32, grain: u32, grains: &[(u64, u8)]) -> Image {
        let per_gt = u64::from(grain) * 4096;
        let gd_entries = (u64::from(cap)).div_ceil(per_gt) as u32;
        let mut b = vec![0u8; 2048];
        b[0..4].copy_from_slice(b"COWD");
        put32(&mut b, 4, 1);
        put32(&mut b, 8, 3);
        put32(&mut b, 12, cap);
        put32(&mut b, 16, grain);
        put32(&mut b, 20, 4);
        put32(&mut b, 24, gd_entries);
        let gd_sectors = (gd_entries as usize * 4).div_ceil(512).max(1);
        b.resize(2048 + gd_sectors * 512, 0);
        let mut gts = std::collections::BTreeMap::new();
        for &(g, fill) in grains {
            let gdi = (g / 4096) as usize;
            let gt_at = *gts.entry(gdi).or_insert_with(|| {
                let at = b.len();
                b.resize(at + GT_BYTES as usize, 0);
                put32(&mut b, 2048 + gdi * 4, (at / 512) as u32);
                at
            });
            let at = b.len();
            b.resize(at + grain as usize * 512, fill);
            put32(&mut b, gt_at + (g % 4096) as usize * 4, (at / 512) as u32);
        }
        let free = (b.len() / 512) as u32;
        put32(&mut b, 28, free);
        Image { bytes: b }
    }

    fn src(bytes: Vec<u8>) -> FileSource {
        FileSource::new(
            "cowd",
            Box::new(std::io::Cursor::new(bytes)),
            Arc::new(Counters::default()),
            &ImageLimits::default(),
        )
        .unwrap()
    }

    fn open(bytes: Vec<u8>) -> Result<Cowd> {
        Cowd::open(src(bytes), &ImageLimits::default(), &mut 0)
    }

    /// Reads the whole extent through `lookup`, as the disk does (unallocated reads as 0xee).
    fn read_all(c: &mut Cowd) -> Result<Vec<u8>> {
        let size = c.capacity * 512;
        let mut out = vec![0u8; size as usize];
        let mut gts = LruCache::new(4);
        let mut off = 0u64;
        while off < size {
            let (map, n) = c.lookup(0, off, size - off, &mut gts)?;
            assert!(n >= 1 && n <= size - off);
            let piece = &mut out[off as usize..(off + n) as usize];
            match map {
                Map::Unallocated => piece.fill(0xee),
                Map::Zero => piece.fill(0),
                Map::Data { at, .. } => c.src.read_exact_at(at, piece, "grain")?,
                Map::Compressed { .. } => unreachable!(),
            }
            off += n;
        }
        Ok(out)
    }

    #[test]
    fn reads_grains_and_leaves_the_rest_to_the_parent() {
        // 1-sector grains (ESX's), 3 tables' worth plus a partial span.
        let cap = 4096 * 2 + 100;
        let img = build(cap, 1, &[(0, 1), (1, 2), (3, 3), (4096, 4), (8191, 5), (8192 + 99, 6)]);
        let mut c = open(img.bytes).unwrap();
        assert_eq!(c.capacity, u64::from(cap));
        let all = read_all(&mut c).unwrap();
        let sector = |s: usize| &all[s * 512..s * 512 + 512];
        assert!(sector(0).iter().all(|&b| b == 1));
        assert!(sector(1).iter().all(|&b| b == 2));
        assert!(sector(2).iter().all(|&b| b == 0xee));
        assert!(sector(3).iter().all(|&b| b == 3));
        assert!(sector(4096).iter().all(|&b| b == 4));
        assert!(sector(8191).iter().all(|&b| b == 5));
        assert!(sector(8192 + 99).iter().all(|&b| b == 6));
        assert!(sector(8192).iter().all(|&b| b == 0xee));
        // Contiguous grains are served in one piece; a GD hole spans its whole table.
        let mut gts = LruCache::new(4);
        let (m, n) = c.lookup(0, 0, 1 << 20, &mut gts).unwrap();
        assert!(matches!(m, Map::Data { .. }));
        assert_eq!(n, 1024);
        // Larger, non-power-of-two grains and a capacity that ends mid-grain.
        let img = build(3 * 4096 * 3 + 7, 3, &[(0, 9), (4096 * 2 + 1, 8), (4096 * 3 - 1, 7)]);
        let mut c = open(img.bytes).unwrap();
        let all = read_all(&mut c).unwrap();
        assert!(all[..1536].iter().all(|&b| b == 9));
        assert!(all[1536..3072].iter().all(|&b| b == 0xee));
        let g = (4096 * 2 + 1) * 1536;
        assert!(all[g..g + 1536].iter().all(|&b| b == 8));
        let g = (4096 * 3 - 1) * 1536;
        assert!(all[g..g + 1536].iter().all(|&b| b == 7));
        // Empty disk.
        let mut c = open(build(0, 1, &[]).bytes).unwrap();
        assert!(read_all(&mut c).unwrap().is_empty());
    }

    #[test]
    fn hostile_headers_and_tables_give_typed_errors() {
        let good = build(8192, 1, &[(0, 1), (5000, 2)]).bytes;
        open(good.clone()).unwrap();
        let gt0 = le_u32(&good, 2048) as usize * 512;
        let gt1 = le_u32(&good, 2052) as usize * 512;
        type Case = (&'static str, usize, u32, fn(&ImageError) -> bool);
        let cases: Vec<Case> = vec![
            ("magic", 0, 0x4457_4f44, |e| matches!(e, ImageError::BadSignature { .. })),
            ("version", 4, 2, |e| matches!(e, ImageError::BadField { what: "VMDK COWD version", offset: 4, .. })),
            ("grain 0", 16, 0, |e| matches!(e, ImageError::BadField { what: "VMDK COWD grainSize", .. })),
            ("grain 2^22", 16, 1 << 22, |e| matches!(e, ImageError::BadField { what: "VMDK COWD grainSize", .. })),
            ("too few GD entries", 24, 1, |e| matches!(e, ImageError::BadField { what: "VMDK COWD numGDEntries", .. })),
            ("GD in header", 20, 1, |e| matches!(e, ImageError::BadField { what: "VMDK COWD gdOffset", .. })),
            ("GD past EOF", 20, 1 << 30, |e| matches!(e, ImageError::Truncated { .. })),
            ("capacity 2^32-1", 12, u32::MAX, |e| matches!(e, ImageError::BadField { .. })),
            ("GT past EOF", 2048, 1 << 30, |e| {
                matches!(e, ImageError::Truncated { what: "VMDK COWD grain table", .. })
            }),
            ("GT on header", 2048, 2, |e| matches!(e, ImageError::Corrupt { .. })),
            ("GT on GD", 2048, 4, |e| matches!(e, ImageError::Corrupt { .. })),
            ("GTs overlap", 2052, (gt0 / 512 + 1) as u32, |e| matches!(e, ImageError::Corrupt { .. })),
            ("GT listed twice", 2052, (gt0 / 512) as u32, |e| matches!(e, ImageError::Corrupt { .. })),
            ("grain past EOF", gt0, 1 << 30, |e| matches!(e, ImageError::Truncated { what: "VMDK COWD grain", .. })),
            ("grain on header", gt0, 1, |e| matches!(e, ImageError::Corrupt { .. })),
            ("grain on GD", gt0, 4, |e| matches!(e, ImageError::Corrupt { .. })),
            ("grain on own GT", gt0, (gt0 / 512 + 3) as u32, |e| matches!(e, ImageError::Corrupt { .. })),
            ("grain on other GT", gt1 + 4 * (5000 - 4096), (gt0 / 512) as u32, |e| {
                matches!(e, ImageError::Corrupt { .. })
            }),
        ];
        for (what, at, value, ok) in cases {
            let mut b = good.clone();
            b[at..at + 4].copy_from_slice(&value.to_le_bytes());
            let r = open(b).and_then(|mut c| read_all(&mut c).map(|_| ()));
            match r {
                Err(e) => assert!(ok(&e), "{what}: unexpected error {e:?}"),
                Ok(()) => panic!("{what}: accepted"),
            }
        }
        // The directory against max_table_bytes, before any allocation.
        let tight = ImageLimits { max_table_bytes: 8, ..ImageLimits::default() };
        let r = Cowd::open(src(good.clone()), &tight, &mut 0);
        assert!(matches!(r, Err(ImageError::LimitExceeded { limit: "max_table_bytes", .. })), "{r:?}");
        // A huge directory on a small file: 2^32 - 1 sectors of 1-sector grains need 2^20 entries.
        let mut b = good.clone();
        b[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        b[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
        let r = open(b);
        assert!(matches!(r, Err(ImageError::Truncated { what: "VMDK COWD grain directory", .. })), "{r:?}");
        // Truncations anywhere.
        for cut in [0, 3, 4, 31, 32, 2047, 2048, 2050, gt0, gt0 + 100, good.len() - 1] {
            let r = open(good[..cut].to_vec()).and_then(|mut c| read_all(&mut c).map(|_| ()));
            assert!(r.is_err(), "cut at {cut}: accepted");
        }
    }

    #[test]
    fn single_byte_flips_never_panic() {
        let good = build(8192 + 5, 1, &[(0, 1), (1, 2), (4096, 3), (8192 + 4, 4)]).bytes;
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let (mut ok, mut errs) = (0, 0);
        for _ in 0..3000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut b = good.clone();
            let at = match x % 3 {
                0 => (x >> 8) as usize % 32,
                1 => 2048 + (x >> 8) as usize % 16,
                _ => (x >> 8) as usize % b.len(),
            };
            b[at] = (x >> 40) as u8;
            match open(b).and_then(|mut c| read_all(&mut c).map(|_| ())) {
                Ok(()) => ok += 1,
                Err(_) => errs += 1,
            }
        }
        assert!(ok > 0 && errs > 0, "{ok} {errs}");
    }
}
