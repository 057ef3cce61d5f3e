//! The NTFS boot sector (the first sector of the volume): geometry and where the MFT is.
//!
//! Layout (all little-endian): OEM id "NTFS    " at 3; bytes per sector (u16) at 0x0B; sectors per
//! cluster (u8) at 0x0D; total sectors (u64) at 0x28; MFT and MFT mirror LCNs (u64) at 0x30 and
//! 0x38; clusters per file record (i8) at 0x40; clusters per index block (i8) at 0x44.
//! Sources: the Linux-NTFS project documentation (flatcap) and the libfsntfs format notes.

use super::le::{u16_at, u64_at, u8_at};
use crate::error::{ImageError, Result};

/// Bytes read for the boot sector (its fields all lie in the first 512 bytes).
pub(crate) const BOOT_SECTOR_BYTES: usize = 512;
/// The largest cluster Windows formats (2 MiB, since Windows 10 1709).
pub(crate) const MAX_CLUSTER_SIZE: u64 = 2 << 20;
/// MFT record sizes that exist in practice: 1 KiB (512-byte sectors) and 4 KiB (4Kn disks); 256 and
/// 512 are accepted as the smallest layouts the format can express.
pub(crate) const MIN_RECORD_SIZE: u64 = 256;
pub(crate) const MAX_RECORD_SIZE: u64 = 4096;
/// Index blocks are 4 KiB in practice; the format allows other powers of two.
pub(crate) const MIN_INDEX_BLOCK: u64 = 256;
pub(crate) const MAX_INDEX_BLOCK: u64 = 64 << 10;

/// The fields of the boot sector this reader uses, validated.
#[derive(Debug, Clone)]
pub(crate) struct BootSector {
    pub bytes_per_sector: u64,
    pub cluster_size: u64,
    /// Volume size the boot sector claims, bytes (total sectors × bytes per sector).
    pub volume_bytes: u64,
    /// Number of whole clusters in the volume; every LCN must be below it.
    pub total_clusters: u64,
    pub mft_lcn: u64,
    pub record_size: u64,
    pub index_block_size: u64,
}

fn bad(what: &'static str, offset: u64, value: u64, expected: &'static str) -> ImageError {
    ImageError::BadField { what, offset, value, expected }
}

/// Decodes a "clusters per record / index block" byte: positive = that many clusters, negative
/// (as i8) = 2^-n bytes.
fn size_field(raw: u8, cluster_size: u64, what: &'static str, offset: u64, min: u64, max: u64) -> Result<u64> {
    let expected = "a power of two number of clusters, or -n for 2^n bytes, within the allowed record size";
    let v = i8::from_le_bytes([raw]);
    let size = if v > 0 {
        let clusters = u64::from(v.unsigned_abs());
        if !clusters.is_power_of_two() {
            return Err(bad(what, offset, u64::from(raw), expected));
        }
        clusters.checked_mul(cluster_size)
    } else if v < 0 {
        1u64.checked_shl(u32::from(v.unsigned_abs())).filter(|_| v.unsigned_abs() < 64)
    } else {
        None
    };
    match size {
        Some(s) if (min..=max).contains(&s) && s.is_power_of_two() => Ok(s),
        _ => Err(bad(what, offset, u64::from(raw), expected)),
    }
}

/// Parses and validates the boot sector (the first 512 bytes of the volume).
pub(crate) fn parse(b: &[u8]) -> Result<BootSector> {
    let oem = b.get(3..11).unwrap_or_default();
    if oem != b"NTFS    " {
        return Err(ImageError::BadSignature {
            what: "NTFS boot sector OEM id",
            offset: 3,
            expected: "NTFS    ",
            found: oem.to_vec(),
        });
    }
    let truncated = || ImageError::Truncated {
        what: "NTFS boot sector",
        offset: 0,
        needed: BOOT_SECTOR_BYTES as u64,
        available: b.len() as u64,
    };
    let bps = u64::from(u16_at(b, 0x0B).ok_or_else(truncated)?);
    if !(256..=4096).contains(&bps) || !bps.is_power_of_two() {
        return Err(bad("NTFS bytes per sector", 0x0B, bps, "a power of two from 256 to 4096"));
    }
    let spc_raw = u8_at(b, 0x0D).ok_or_else(truncated)?;
    // 1..=0x80 is the count itself; above 0x80 the byte is -n (as i8) for 2^n sectors, which is how
    // Windows encodes clusters of 128 KiB and more.
    let sectors_per_cluster = match spc_raw {
        0 => None,
        1..=0x80 => Some(u64::from(spc_raw)).filter(|s| s.is_power_of_two()),
        _ => 1u64.checked_shl(u32::from(i8::from_le_bytes([spc_raw]).unsigned_abs())),
    };
    let cluster_size =
        sectors_per_cluster.and_then(|s| s.checked_mul(bps)).filter(|&c| c <= MAX_CLUSTER_SIZE).ok_or_else(|| {
            bad(
                "NTFS sectors per cluster",
                0x0D,
                u64::from(spc_raw),
                "a power of two (or -n for 2^n) giving a cluster of at most 2 MiB",
            )
        })?;
    let total_sectors = u64_at(b, 0x28).ok_or_else(truncated)?;
    let volume_bytes = total_sectors.checked_mul(bps).filter(|&v| v >= BOOT_SECTOR_BYTES as u64).ok_or_else(|| {
        bad("NTFS total sectors", 0x28, total_sectors, "a volume of at least one sector and below 2^64 bytes")
    })?;
    let total_clusters = volume_bytes.checked_div(cluster_size).unwrap_or(0);
    let record_size = size_field(
        u8_at(b, 0x40).ok_or_else(truncated)?,
        cluster_size,
        "NTFS clusters per MFT record",
        0x40,
        MIN_RECORD_SIZE,
        MAX_RECORD_SIZE,
    )?;
    let index_block_size = size_field(
        u8_at(b, 0x44).ok_or_else(truncated)?,
        cluster_size,
        "NTFS clusters per index block",
        0x44,
        MIN_INDEX_BLOCK,
        MAX_INDEX_BLOCK,
    )?;
    let mft_lcn = u64_at(b, 0x30).ok_or_else(truncated)?;
    let mft_end = mft_lcn.checked_mul(cluster_size).and_then(|o| o.checked_add(record_size));
    if mft_lcn >= total_clusters || mft_end.is_none_or(|e| e > volume_bytes) {
        return Err(bad("NTFS MFT cluster number", 0x30, mft_lcn, "a cluster inside the volume"));
    }
    Ok(BootSector {
        bytes_per_sector: bps,
        cluster_size,
        volume_bytes,
        total_clusters,
        mft_lcn,
        record_size,
        index_block_size,
    })
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    /// The boot sector mkntfs writes for a 64 MiB volume with 4 KiB clusters.
    fn sample() -> Vec<u8> {
        let mut b = vec![0u8; 512];
        b[3..11].copy_from_slice(b"NTFS    ");
        b[0x0B..0x0D].copy_from_slice(&512u16.to_le_bytes());
        b[0x0D] = 8;
        b[0x28..0x30].copy_from_slice(&131071u64.to_le_bytes());
        b[0x30..0x38].copy_from_slice(&4u64.to_le_bytes());
        b[0x40] = 0xF6; // -10: 1 KiB records
        b[0x44] = 1;
        b
    }

    #[test]
    fn parses_mkntfs_geometry() {
        let s = parse(&sample()).unwrap();
        assert_eq!((s.cluster_size, s.record_size, s.index_block_size, s.mft_lcn), (4096, 1024, 4096, 4));
        assert_eq!(s.total_clusters, 131071 * 512 / 4096);
    }

    #[test]
    fn cluster_encodings() {
        let mut b = sample();
        b[0x0D] = 0x80; // 128 sectors: 64 KiB clusters (mkntfs -c 65536)
        b[0x40] = 0xF6;
        b[0x44] = 0xF4;
        assert_eq!(parse(&b).unwrap().cluster_size, 64 << 10);
        b[0x0D] = 0xF4; // -12: 4096 sectors = 2 MiB
        b[0x28..0x30].copy_from_slice(&(1u64 << 30).to_le_bytes());
        assert_eq!(parse(&b).unwrap().cluster_size, 2 << 20);
        for bad_spc in [0u8, 3, 0x81, 0xF3, 0x7F] {
            b[0x0D] = bad_spc;
            assert!(matches!(parse(&b), Err(ImageError::BadField { offset: 0x0D, .. })), "{bad_spc:#x}");
        }
    }

    #[test]
    fn rejects_bad_fields() {
        let cases: &[(usize, &[u8], u64)] = &[
            (0x0B, &[0, 0], 0x0B),
            (0x0B, &[0x00, 0x03], 0x0B),
            (0x40, &[0x80], 0x40),
            (0x40, &[0], 0x40),
            (0x40, &[0xE1], 0x40), // 2 GiB
            (0x40, &[3], 0x40),
            (0x44, &[0x80], 0x44),
            (0x30, &[0, 0, 0, 0, 0, 0, 0, 0x40], 0x30),
            (0x28, &[0, 0, 0, 0, 0, 0, 0, 0x80], 0x28),
        ];
        for &(at, bytes, off) in cases {
            let mut b = sample();
            b[at..at + bytes.len()].copy_from_slice(bytes);
            match parse(&b) {
                Err(ImageError::BadField { offset, .. }) => assert_eq!(offset, off),
                other => panic!("{at:#x}: {other:?}"),
            }
        }
        assert!(matches!(parse(&[]), Err(ImageError::BadSignature { .. })));
        assert!(matches!(parse(&sample()[..20]), Err(ImageError::Truncated { .. })));
    }
}
