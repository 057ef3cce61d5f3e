//! SESPARSE extents: the "space-efficient sparse" format of ESXi snapshot deltas
//! (`<disk>-00000N-sesparse.vmdk`, createType `seSparse`, the default on VMFS6).
//!
//! Source (read for facts): qemu's `vmdk_open_se_sparse`, `check_se_sparse_const_header`,
//! `check_se_sparse_volatile_header` and `get_cluster_offset`; VMware does not document the
//! format. All fields are little-endian u64s; offsets and sizes are in 512-byte sectors.
//!
//! The constant header (sector 0): magic `0xcafebabe` at 0, version `0x0000000200000001` at 8,
//! capacity at 16, grain size (8 sectors: 4 KiB grains) at 24, grain table size (64 sectors:
//! 4096 entries) at 32, flags (0) at 40, four reserved zeros at 48, then (offset, size) pairs of
//! the regions: volatile header at 80, journal header at 96, journal at 112, grain directory at
//! 128, grain tables at 144, free bitmap at 160, back map at 176, grains at 192; zero padding from
//! 208 to 512. The volatile header (one sector): magic `0xcafecafe` at 0, free GT number at 8,
//! next transaction sequence number at 16, replay-journal flag at 24 (a set flag means the file
//! is dirty: its journal would have to be replayed), zero padding from 32.
//!
//! A grain directory entry is 0 (no table: the whole 16 MiB span is the parent's) or
//! `0x1000_0000_xxxx_xxxx` naming grain table number `x` in the tables region. A grain table
//! entry's top nibble is its kind: 0 unallocated (the parent's data; the entry must be exactly
//! 0), 1 unmapped and 2 zeroed (both read as zeros, hiding the parent), 3 allocated: grain number
//! `(e & 0x0fff_0000_0000_0000) >> 48 | (e & 0x0000_ffff_ffff_ffff) << 12` of the grains region;
//! any other kind is corrupt.
//!
//! Hostile-input rules: every field qemu checks (both magics, version, grain and table sizes,
//! flags, reserved fields and both paddings, and the replay flag) is checked at open; beyond
//! qemu, the regions this reader uses (both headers, directory, tables, grains) lie below 2^61
//! bytes and do not overlap, the directory covers the capacity and its part that maps the
//! capacity (count × 8, in u64) fits `max_table_bytes` and the file before it is allocated, every
//! directory entry names a table inside the tables region (and, as in qemu, below sector 2^32) and
//! inside the file, and every allocated grain lies inside the grains region and, for the part that
//! holds disk data, inside the file.

use super::{bad, charge_tables, corrupt, decode_le64, le_u64, overlaps, run_length, sectors_to_bytes, Map, SECTOR};
use crate::container::cache::LruCache;
use crate::error::{ImageError, Result};
use crate::limits::ImageLimits;
use crate::source::FileSource;

/// The magic of the constant header.
pub(super) const CONST_MAGIC: u64 = 0xcafe_babe;
/// The magic of the volatile header.
const VOLATILE_MAGIC: u64 = 0xcafe_cafe;
/// The only version there is.
const VERSION: u64 = 0x0000_0002_0000_0001;
/// Grain size, in sectors (4 KiB), and grain table size, in sectors (4096 u64 entries).
const GRAIN_SECTORS: u64 = 8;
const GT_SECTORS: u64 = 64;
const GRAIN_BYTES: u64 = GRAIN_SECTORS * SECTOR;
const GT_BYTES: u64 = GT_SECTORS * SECTOR;
const GTES: u64 = GT_BYTES / 8;
/// A present directory entry: these high 32 bits, then the table number.
const GDE_PRESENT: u64 = 0x1000_0000;
/// Grain table entry kinds (the top nibble).
const KIND_UNALLOCATED: u64 = 0;
const KIND_UNMAPPED: u64 = 1;
const KIND_ZERO: u64 = 2;
const KIND_ALLOCATED: u64 = 3;

/// An open SESparse extent.
#[derive(Debug)]
pub(super) struct SeSparse {
    pub(super) src: FileSource,
    /// Capacity in sectors.
    pub(super) capacity: u64,
    /// Directory entries that map the capacity.
    gd: Vec<u64>,
    gd_offset: u64,
    /// The tables region and the grains region, in sectors (start, length).
    tables: (u64, u64),
    grains: (u64, u64),
    max_table_bytes: u64,
}

/// The first non-zero byte of `b[from..]`, as (offset, value).
fn first_nonzero(b: &[u8], from: usize) -> Option<(u64, u8)> {
    let rest = b.get(from..)?;
    rest.iter().position(|&x| x != 0).and_then(|i| rest.get(i).map(|&v| ((from + i) as u64, v)))
}

impl SeSparse {
    /// Reads and checks both headers, the regions and the grain directory.
    pub(super) fn open(mut src: FileSource, limits: &ImageLimits, table_bytes: &mut u64) -> Result<SeSparse> {
        let file_len = src.len();
        let mut h = [0u8; 512];
        src.read_exact_at(0, &mut h, "VMDK SESparse constant header")?;
        if le_u64(&h, 0) != CONST_MAGIC {
            return Err(ImageError::BadSignature {
                what: "VMDK SESparse constant header",
                offset: 0,
                expected: "0x00000000cafebabe",
                found: h.get(..8).unwrap_or_default().to_vec(),
            });
        }
        let field = |at: usize| le_u64(&h, at);
        let exact = [
            ("VMDK SESparse version", 8, VERSION, "0x0000000200000001"),
            ("VMDK SESparse grain size", 24, GRAIN_SECTORS, "8 sectors"),
            ("VMDK SESparse grain table size", 32, GT_SECTORS, "64 sectors"),
            ("VMDK SESparse flags", 40, 0, "0"),
            ("VMDK SESparse reserved field", 48, 0, "0"),
            ("VMDK SESparse reserved field", 56, 0, "0"),
            ("VMDK SESparse reserved field", 64, 0, "0"),
            ("VMDK SESparse reserved field", 72, 0, "0"),
        ];
        for (what, at, want, expected) in exact {
            if field(at) != want {
                return Err(bad(what, at as u64, field(at), expected));
            }
        }
        if let Some((at, v)) = first_nonzero(&h, 208) {
            return Err(bad("VMDK SESparse constant header padding", at, v.into(), "zero"));
        }
        let capacity = field(16);
        sectors_to_bytes("VMDK SESparse capacity", 16, capacity)?;
        // (offset, size) of a region, checked to end below 2^61 bytes.
        let region = |what: &'static str, at: usize| -> Result<(u64, u64)> {
            let (start, len) = (field(at), field(at + 8));
            let end = start.checked_add(len).ok_or_else(|| bad(what, at as u64, start, "a region below 2^61 bytes"))?;
            sectors_to_bytes(what, at as u64, end)?;
            Ok((start, len))
        };
        let volatile = region("VMDK SESparse volatile header", 80)?;
        let gd_region = region("VMDK SESparse grain directory", 128)?;
        let tables = region("VMDK SESparse grain tables", 144)?;
        let grains = region("VMDK SESparse grains", 192)?;
        // The volatile header is one sector, whatever its size field says.
        let named = [
            ("the constant header", (0, 1)),
            ("the volatile header", (volatile.0, volatile.0.saturating_add(1))),
            ("the grain directory", (gd_region.0, gd_region.0 + gd_region.1)),
            ("the grain tables", (tables.0, tables.0 + tables.1)),
            ("the grains", (grains.0, grains.0 + grains.1)),
        ];
        for (i, (a, ra)) in named.iter().enumerate() {
            for (b, rb) in named.iter().skip(i + 1) {
                if overlaps(*ra, *rb) {
                    return Err(corrupt(
                        "VMDK SESparse constant header",
                        80,
                        format!("regions overlap: {a} (sectors {}..{}) and {b} ({}..{})", ra.0, ra.1, rb.0, rb.1),
                    ));
                }
            }
        }

        let vh_at = volatile.0 * SECTOR;
        let mut v = [0u8; 512];
        src.read_exact_at(vh_at, &mut v, "VMDK SESparse volatile header")?;
        if le_u64(&v, 0) != VOLATILE_MAGIC {
            return Err(ImageError::BadSignature {
                what: "VMDK SESparse volatile header",
                offset: vh_at,
                expected: "0x00000000cafecafe",
                found: v.get(..8).unwrap_or_default().to_vec(),
            });
        }
        if le_u64(&v, 24) != 0 {
            return Err(ImageError::Unsupported(format!(
                "VMDK SESparse extent is dirty (replay-journal flag at byte {:#x}): its journal would have to be replayed",
                vh_at + 24
            )));
        }
        if let Some((at, b)) = first_nonzero(&v, 32) {
            return Err(bad("VMDK SESparse volatile header padding", vh_at + at, b.into(), "zero"));
        }

        // Each directory entry maps 4096 grains of 8 sectors.
        let needed = capacity.div_ceil(GTES * GRAIN_SECTORS);
        let declared = gd_region.1.saturating_mul(SECTOR / 8);
        if declared < needed {
            return Err(bad(
                "VMDK SESparse grain directory size",
                136,
                gd_region.1,
                "enough entries for the capacity (one per 16 MiB)",
            ));
        }
        let gd_offset = gd_region.0 * SECTOR;
        let gd_bytes = needed * 8;
        charge_tables(table_bytes, gd_bytes, limits)?;
        let gd = if needed > 0 {
            if gd_offset + gd_bytes > file_len {
                return Err(ImageError::Truncated {
                    what: "VMDK SESparse grain directory",
                    offset: gd_offset,
                    needed: gd_bytes,
                    available: file_len.saturating_sub(gd_offset),
                });
            }
            let raw = src.read_vec_at(
                gd_offset,
                gd_bytes,
                "VMDK SESparse grain directory",
                "max_table_bytes",
                limits.max_table_bytes,
            )?;
            decode_le64(&raw, limits.max_table_bytes)?
        } else {
            Vec::new()
        };
        let s = SeSparse { src, capacity, gd, gd_offset, tables, grains, max_table_bytes: limits.max_table_bytes };
        for (i, &gde) in s.gd.iter().enumerate() {
            if let Some(sector) = s.table_sector(gde, gd_offset + i as u64 * 8)? {
                let at = sector * SECTOR;
                if at + GT_BYTES > file_len {
                    return Err(ImageError::Truncated {
                        what: "VMDK SESparse grain table",
                        offset: at,
                        needed: GT_BYTES,
                        available: file_len.saturating_sub(at),
                    });
                }
            }
        }
        Ok(s)
    }

    /// The sector of the grain table a directory entry (at byte `at`) names, or None for 0.
    fn table_sector(&self, gde: u64, at: u64) -> Result<Option<u64>> {
        if gde == 0 {
            return Ok(None);
        }
        if gde >> 32 != GDE_PRESENT {
            return Err(bad(
                "VMDK SESparse grain directory entry",
                at,
                gde,
                "0, or 0x10000000 in the high 32 bits and a table number",
            ));
        }
        let n = gde & 0xffff_ffff;
        // n < 2^32 and GT_SECTORS = 64: no overflow.
        if (n + 1) * GT_SECTORS > self.tables.1 {
            return Err(bad("VMDK SESparse grain directory entry", at, gde, "a table inside the grain tables region"));
        }
        let sector = self.tables.0 + n * GT_SECTORS;
        if sector > u64::from(u32::MAX) {
            return Err(bad("VMDK SESparse grain directory entry", at, gde, "a table below sector 2^32 (as qemu)"));
        }
        Ok(Some(sector))
    }

    /// What grain table entry `e` (at byte `at`) of the grain whose data starts at disk byte
    /// `disk_at` maps, `intra` bytes into the grain.
    fn classify(&self, idx: usize, e: u64, at: u64, disk_at: u64, intra: u64) -> Result<Map> {
        match e >> 60 {
            KIND_UNALLOCATED if e == 0 => Ok(Map::Unallocated),
            KIND_UNALLOCATED => Err(bad("VMDK SESparse grain table entry", at, e, "0 for an unallocated grain")),
            KIND_UNMAPPED | KIND_ZERO => Ok(Map::Zero),
            KIND_ALLOCATED => {
                let n = (e & 0x0fff_0000_0000_0000) >> 48 | (e & 0x0000_ffff_ffff_ffff) << 12;
                // n < 2^60: n × 8 + 8 fits in u64.
                if n * GRAIN_SECTORS + GRAIN_SECTORS > self.grains.1 {
                    return Err(bad("VMDK SESparse grain table entry", at, e, "a grain inside the grains region"));
                }
                // Inside a region that ends below 2^61 bytes: no overflow.
                let start = (self.grains.0 + n * GRAIN_SECTORS) * SECTOR;
                let data = GRAIN_BYTES.min((self.capacity * SECTOR).saturating_sub(disk_at));
                let file_len = self.src.len();
                if start + data > file_len {
                    return Err(ImageError::Truncated {
                        what: "VMDK SESparse grain",
                        offset: start,
                        needed: data,
                        available: file_len.saturating_sub(start),
                    });
                }
                Ok(Map::Data { extent: idx, at: start + intra })
            }
            _ => Err(bad("VMDK SESparse grain table entry", at, e, "kind 0 to 3 in the top 4 bits")),
        }
    }

    /// Maps byte `rel` (< extent length) of extent number `idx` and says for how many bytes, up to
    /// `want`, the same kind of mapping continues within one grain table.
    pub(super) fn lookup(
        &mut self,
        idx: usize,
        rel: u64,
        want: u64,
        gts: &mut LruCache<Vec<u64>>,
    ) -> Result<(Map, u64)> {
        let grain = rel / GRAIN_BYTES;
        let intra = rel % GRAIN_BYTES;
        let gd_index = grain / GTES;
        let first = grain % GTES;
        let table_left = (GTES - first) * GRAIN_BYTES - intra;
        let limit = want.min(table_left).max(1);
        let gd_at = self.gd_offset.saturating_add(gd_index.saturating_mul(8));
        let gde = usize::try_from(gd_index)
            .ok()
            .and_then(|i| self.gd.get(i).copied())
            .ok_or_else(|| corrupt("VMDK SESparse grain directory", gd_at, "grain beyond the grain directory"))?;
        let Some(sector) = self.table_sector(gde, gd_at)? else {
            return Ok((Map::Unallocated, limit));
        };
        let gt_at = sector * SECTOR;
        let (src, max_table) = (&mut self.src, self.max_table_bytes);
        let key = (idx as u64) << 32 | gd_index;
        let table = gts.get_or_try_insert_with(key, || {
            let raw = src.read_vec_at(gt_at, GT_BYTES, "VMDK SESparse grain table", "max_table_bytes", max_table)?;
            decode_le64(&raw, max_table)
        })?;
        let this = &*self;
        let entry = |i: u64, intra: u64| -> Result<Map> {
            let e = usize::try_from(i).ok().and_then(|i| table.get(i).copied()).unwrap_or(0);
            let disk_at = (grain - first + i) * GRAIN_BYTES;
            this.classify(idx, e, gt_at + i * 8, disk_at, intra)
        };
        let map = entry(first, intra)?;
        let len = run_length(map, GRAIN_BYTES - intra, limit, GRAIN_BYTES, GTES - 1 - first, |k| entry(first + k, 0))?;
        Ok((map, len))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::source::Counters;
    use std::sync::Arc;

    fn put64(b: &mut [u8], at: usize, v: u64) {
        b[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }

    /// Layout (sectors): const 0, volatile 1, GD 2.. (gd_sectors), tables at 16 (room for
    /// `max_gts`), grains after them. `grains`: (grain number, entry kind, fill byte).
    pub(crate) fn build(capacity: u64, grains: &[(u64, u64, u8)]) -> Vec<u8> {
        let gd_entries = capacity.div_ceil(GTES * 8).max(1);
        let gd_sectors = (gd_entries * 8).div_ceil(512);
        let tables_at = 2 + gd_sectors;
        let max_gts = gd_entries;
        let grains_at = tables_at + max_gts * 64;
        let grains_len = capacity.div_ceil(8) * 8;
        let mut b = vec![0u8; (grains_at * 512) as usize];
        put64(&mut b, 0, CONST_MAGIC);
        put64(&mut b, 8, VERSION);
        put64(&mut b, 16, capacity);
        put64(&mut b, 24, 8);
        put64(&mut b, 32, 64);
        put64(&mut b, 80, 1);
        put64(&mut b, 88, 1);
        put64(&mut b, 128, 2);
        put64(&mut b, 136, gd_sectors);
        put64(&mut b, 144, tables_at);
        put64(&mut b, 152, max_gts * 64);
        put64(&mut b, 192, grains_at);
        put64(&mut b, 200, grains_len);
        put64(&mut b, 512, VOLATILE_MAGIC);
        let mut next_gt = 0u64;
        let mut next_grain = 0u64;
        for &(g, kind, fill) in grains {
            let gdi = g / GTES;
            let gde_at = (1024 + gdi * 8) as usize;
            let mut gde = u64::from_le_bytes(b[gde_at..gde_at + 8].try_into().unwrap());
            if gde == 0 {
                gde = GDE_PRESENT << 32 | next_gt;
                next_gt += 1;
                put64(&mut b, gde_at, gde);
            }
            let gt_at = ((tables_at + (gde & 0xffff_ffff) * 64) * 512) as usize;
            let e = if kind == KIND_ALLOCATED {
                let n = next_grain;
                next_grain += 1;
                let at = ((grains_at + n * 8) * 512) as usize;
                if b.len() < at + 4096 {
                    b.resize(at + 4096, 0);
                }
                b[at..at + 4096].fill(fill);
                KIND_ALLOCATED << 60 | (n & 0xfff) << 48 | n >> 12
            } else {
                kind << 60
            };
            put64(&mut b, gt_at + (g % GTES) as usize * 8, e);
        }
        b
    }

    fn src(bytes: Vec<u8>) -> FileSource {
        FileSource::new(
            "se",
            Box::new(std::io::Cursor::new(bytes)),
            Arc::new(Counters::default()),
            &ImageLimits::default(),
        )
        .unwrap()
    }

    fn open(bytes: Vec<u8>) -> Result<SeSparse> {
        SeSparse::open(src(bytes), &ImageLimits::default(), &mut 0)
    }

    fn read_all(s: &mut SeSparse) -> Result<Vec<u8>> {
        let size = s.capacity * 512;
        let mut out = vec![0u8; size as usize];
        let mut gts = LruCache::new(2);
        let mut off = 0u64;
        while off < size {
            let (map, n) = s.lookup(0, off, size - off, &mut gts)?;
            assert!(n >= 1 && n <= size - off);
            let piece = &mut out[off as usize..(off + n) as usize];
            match map {
                Map::Unallocated => piece.fill(0xee),
                Map::Zero => piece.fill(0),
                Map::Data { at, .. } => s.src.read_exact_at(at, piece, "grain")?,
                Map::Compressed { .. } => unreachable!(),
            }
            off += n;
        }
        Ok(out)
    }

    #[test]
    fn reads_every_entry_kind() {
        // Two tables' worth (32 MiB) plus 3 sectors.
        let cap = 2 * 4096 * 8 + 3;
        let b = build(cap, &[(0, 3, 1), (1, 3, 2), (2, 2, 0), (3, 1, 0), (4095, 3, 3), (4096 + 7, 3, 4), (8192, 3, 5)]);
        let mut s = open(b).unwrap();
        let all = read_all(&mut s).unwrap();
        let g = |n: usize| &all[n * 4096..(n * 4096 + 4096).min(all.len())];
        assert!(g(0).iter().all(|&x| x == 1));
        assert!(g(1).iter().all(|&x| x == 2));
        assert!(g(2).iter().all(|&x| x == 0));
        assert!(g(3).iter().all(|&x| x == 0));
        assert!(g(4).iter().all(|&x| x == 0xee));
        assert!(g(4095).iter().all(|&x| x == 3));
        assert!(g(4096 + 7).iter().all(|&x| x == 4));
        assert!(g(8192).iter().all(|&x| x == 5) && g(8192).len() == 1536);
        // Grain numbers past 4095 use the high bits of the entry.
        let many: Vec<(u64, u64, u8)> = (0..4100).map(|i| (i, 3, (i % 251) as u8)).collect();
        let mut s = open(build(4100 * 8, &many)).unwrap();
        let all = read_all(&mut s).unwrap();
        assert!(all[4099 * 4096..].iter().all(|&x| x == (4099 % 251) as u8));
        let mut s = open(build(0, &[])).unwrap();
        assert!(read_all(&mut s).unwrap().is_empty());
    }

    #[test]
    fn hostile_headers_and_tables_give_typed_errors() {
        let cap = 2 * 4096 * 8;
        let good = build(cap, &[(0, 3, 1), (4096, 3, 2)]);
        read_all(&mut open(good.clone()).unwrap()).unwrap();
        let gd = 1024usize;
        let tables_at = le_u64(&good, 144) as usize * 512;
        type Case = (&'static str, usize, u64, fn(&ImageError) -> bool);
        let cases: Vec<Case> = vec![
            ("magic", 0, 0xcafe_babf, |e| matches!(e, ImageError::BadSignature { .. })),
            ("version", 8, 0x0000_0001_0000_0001, |e| matches!(e, ImageError::BadField { offset: 8, .. })),
            ("grain size", 24, 16, |e| matches!(e, ImageError::BadField { offset: 24, .. })),
            ("table size", 32, 128, |e| matches!(e, ImageError::BadField { offset: 32, .. })),
            ("flags", 40, 1, |e| matches!(e, ImageError::BadField { offset: 40, .. })),
            ("reserved", 64, 1, |e| matches!(e, ImageError::BadField { offset: 64, .. })),
            ("padding", 400, 1, |e| matches!(e, ImageError::BadField { offset: 400, .. })),
            ("capacity 2^60", 16, 1 << 60, |e| matches!(e, ImageError::BadField { offset: 16, .. })),
            ("capacity past GD", 16, 65 * 4096 * 8, |e| matches!(e, ImageError::BadField { offset: 136, .. })),
            ("huge GD", 136, 1 << 40, |e| matches!(e, ImageError::Corrupt { .. })),
            ("region overflow", 152, u64::MAX, |e| matches!(e, ImageError::BadField { .. })),
            ("volatile past EOF", 80, 1 << 40, |e| matches!(e, ImageError::Truncated { .. })),
            ("volatile on const", 80, 0, |e| matches!(e, ImageError::Corrupt { .. })),
            ("GD on tables", 128, le_u64(&good, 144), |e| matches!(e, ImageError::Corrupt { .. })),
            ("grains on GD", 192, 2, |e| matches!(e, ImageError::Corrupt { .. })),
            ("volatile magic", 512, 1, |e| matches!(e, ImageError::BadSignature { .. })),
            ("dirty", 512 + 24, 1, |e| matches!(e, ImageError::Unsupported(_))),
            ("volatile padding", 512 + 100, 1, |e| matches!(e, ImageError::BadField { .. })),
            ("GD entry high bits", gd, 0x2000_0000_0000_0000, |e| matches!(e, ImageError::BadField { .. })),
            ("GD entry past tables", gd, GDE_PRESENT << 32 | 1000, |e| matches!(e, ImageError::BadField { .. })),
            ("GT entry kind 4", tables_at, 4 << 60, |e| matches!(e, ImageError::BadField { .. })),
            ("GT entry unallocated bits", tables_at, 5, |e| matches!(e, ImageError::BadField { .. })),
            ("grain past region", tables_at, 3 << 60 | 100_000, |e| matches!(e, ImageError::BadField { .. })),
            ("grain index 2^60", tables_at, 0x3fff_ffff_ffff_ffff, |e| matches!(e, ImageError::BadField { .. })),
        ];
        for (what, at, value, ok) in cases {
            let mut b = good.clone();
            put64(&mut b, at, value);
            match open(b).and_then(|mut s| read_all(&mut s).map(|_| ())) {
                Err(e) => assert!(ok(&e), "{what}: unexpected error {e:?}"),
                Ok(()) => panic!("{what}: accepted"),
            }
        }
        // A GD sized for 64 TiB on a small file: refused before allocation.
        let mut b = good.clone();
        put64(&mut b, 16, (64u64 << 40) / 512);
        put64(&mut b, 136, 65536);
        put64(&mut b, 152, 1 << 30);
        put64(&mut b, 144, 1 << 20);
        put64(&mut b, 192, 1 << 31);
        put64(&mut b, 200, 1 << 40);
        let r = open(b.clone());
        assert!(matches!(r, Err(ImageError::Truncated { what: "VMDK SESparse grain directory", .. })), "{r:?}");
        let tight = ImageLimits { max_table_bytes: 1 << 20, ..ImageLimits::default() };
        let r = SeSparse::open(src(b), &tight, &mut 0);
        assert!(matches!(r, Err(ImageError::LimitExceeded { limit: "max_table_bytes", .. })), "{r:?}");
        // A table and a grain past the end of the file.
        let mut b = good.clone();
        put64(&mut b, 152, 1 << 30);
        put64(&mut b, 192, 1 << 31);
        put64(&mut b, gd, GDE_PRESENT << 32 | 1_000_000);
        let r = open(b);
        assert!(matches!(r, Err(ImageError::Truncated { what: "VMDK SESparse grain table", .. })), "{r:?}");
        let mut b = good.clone();
        put64(&mut b, 200, 1 << 40);
        put64(&mut b, tables_at, 3 << 60 | 1_000_000);
        let r = open(b).and_then(|mut s| read_all(&mut s).map(|_| ()));
        assert!(matches!(r, Err(ImageError::Truncated { what: "VMDK SESparse grain", .. })), "{r:?}");
        // A table above sector 2^32 (qemu's bound).
        let mut b = good.clone();
        put64(&mut b, 144, 1 << 32);
        put64(&mut b, 192, 1 << 40);
        let r = open(b);
        assert!(matches!(r, Err(ImageError::BadField { .. })), "{r:?}");
        for cut in [0, 7, 8, 511, 512, 1023, 1024, 1030, tables_at, tables_at + 100, good.len() - 1] {
            let r = open(good[..cut].to_vec()).and_then(|mut s| read_all(&mut s).map(|_| ()));
            assert!(r.is_err(), "cut at {cut}: accepted");
        }
    }

    #[test]
    fn single_byte_flips_never_panic() {
        let good = build(4096 * 8 + 5, &[(0, 3, 1), (1, 2, 0), (2, 1, 0), (4096, 3, 4)]);
        let tables_at = le_u64(&good, 144) as usize * 512;
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let (mut ok, mut errs) = (0, 0);
        for _ in 0..3000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut b = good.clone();
            let at = match x % 4 {
                0 => (x >> 8) as usize % 208,
                1 => 1024 + (x >> 8) as usize % 16,
                2 => tables_at + (x >> 8) as usize % 32,
                _ => (x >> 8) as usize % b.len(),
            };
            b[at] = (x >> 40) as u8;
            match open(b).and_then(|mut s| read_all(&mut s).map(|_| ())) {
                Ok(()) => ok += 1,
                Err(_) => errs += 1,
            }
        }
        assert!(ok > 0 && errs > 0, "{ok} {errs}");
    }
}
