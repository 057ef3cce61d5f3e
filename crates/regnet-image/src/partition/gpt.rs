//! GPT: the header at LBA 1 (or its backup at the last LBA), the partition entry array it points
//! at, and both CRC32s, for 512- and 4096-byte logical sectors.
//!
//! Source: UEFI 2.10 §5.3.2 (header: `EFI PART`, `HeaderSize` 92..=block size, `HeaderCRC32` over
//! `HeaderSize` bytes with the field itself zeroed, `MyLBA`, `AlternateLBA`, `PartitionEntryLBA`,
//! `NumberOfPartitionEntries`, `SizeOfPartitionEntry` = 128 × 2^n, `PartitionEntryArrayCRC32`) and
//! §5.3.3 (entry: type GUID, unique GUID, first and last LBA inclusive, attributes, 36 UTF-16LE
//! name units).
//!
//! Every header field is checked before it sizes a read or an allocation: the entry array is at
//! most `max_table_bytes` and must lie inside the disk, and an entry size of 0, 8 or 2^31 is refused
//! before the multiplication (`dissect.volume` listed 128 copies of one partition for size 0;
//! `sgdisk` died of `std::bad_alloc` on 2^32 entries; EDK2 CVE-2022-36763 overflowed the product).

use super::{extent, lba_range, truncated_warning, u32_at, u64_at, Filesystem, Partition};
use crate::disk::VirtualDisk;
use crate::error::{ImageError, Result};
use crate::limits::ImageLimits;

/// The header signature.
const SIGNATURE: &[u8; 8] = b"EFI PART";
/// The logical sector sizes probed, in order: a 4Kn disk has its header at byte 4096.
const SECTOR_SIZES: [usize; 2] = [512, 4096];
/// Smallest header (the fields up to the entry array CRC).
const MIN_HEADER: u32 = 92;
/// Smallest entry: the fields UEFI defines.
const MIN_ENTRY: u32 = 128;
/// Largest entry accepted: 128 × 2^5. UEFI allows any power-of-two multiple of 128, but no tool
/// writes more than 128 and a larger entry only carries reserved bytes; 4096 keeps one entry within
/// a 4Kn sector.
const MAX_ENTRY: u32 = 4096;
/// UTF-16 units of an entry's name (bytes 56..128).
const NAME_UNITS: usize = 36;
/// Attribute bit 2: legacy BIOS bootable.
const LEGACY_BOOTABLE: u64 = 1 << 2;

/// What [`read_gpt`] found.
pub(crate) struct GptFound {
    /// 512 or 4096.
    pub sector_size: u32,
    /// The primary header was damaged and the backup was used.
    pub used_backup: bool,
    /// Entries in array order (numbers are array index + 1).
    pub partitions: Vec<Partition>,
}

/// A header whose every field has been checked against the disk and the limits.
#[derive(Debug, Clone, Copy)]
struct Header {
    alternate_lba: u64,
    first_usable: u64,
    last_usable: u64,
    array_offset: u64,
    array_len: u64,
    count: u32,
    entry_size: u32,
    array_crc: u32,
}

/// True when an `EFI PART` signature is at LBA 1 or the last LBA, for either sector size: the
/// evidence of a GPT on a disk whose MBR does not announce one.
pub(crate) fn signature_anywhere(disk: &mut dyn VirtualDisk) -> Result<bool> {
    let size = disk.size();
    for ss in SECTOR_SIZES {
        let ss = ss as u64;
        let last = (size / ss).checked_sub(1).filter(|&l| l > 1);
        for lba in [Some(1), last].into_iter().flatten() {
            if let Some((offset, _)) = lba_range(lba, 1, ss, size) {
                let mut sig = [0u8; 8];
                disk.read_at(offset, &mut sig)?;
                if &sig == SIGNATURE {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

/// Reads the GPT: the primary header for 512- then 4096-byte sectors, else a backup header (at the
/// last LBA, or where a primary with a signature says its alternate is). The first that passes
/// every check wins; a valid primary for either size is preferred over any backup.
pub(crate) fn read_gpt(
    disk: &mut dyn VirtualDisk,
    limits: &ImageLimits,
    warnings: &mut Vec<String>,
) -> Result<GptFound> {
    let size = disk.size();
    let mut errors: Vec<ImageError> = Vec::new();
    // Per sector size: the primary's error, and the alternate LBA its header names (if it has a signature).
    let mut primary_failures: Vec<(usize, String, Option<u64>)> = Vec::new();

    for ss in SECTOR_SIZES {
        let sector = match read_sector(disk, ss, 1) {
            Ok(s) => s,
            Err(e) => {
                primary_failures.push((ss, e.to_string(), None));
                errors.push(e);
                continue;
            }
        };
        match load(disk, &sector, ss, 1, limits) {
            Ok((header, array)) => {
                check_backup(disk, &header, ss, limits, warnings);
                let partitions = entries(&header, &array, ss, size, limits, warnings)?;
                return Ok(GptFound { sector_size: sector_size_u32(ss), used_backup: false, partitions });
            }
            Err(e) => {
                let hint = (sector.get(..8) == Some(SIGNATURE)).then(|| u64_at(&sector, 32));
                primary_failures.push((ss, e.to_string(), hint));
                errors.push(e);
            }
        }
    }

    for (ss, primary_error, hint) in primary_failures {
        let ss64 = ss as u64;
        let last = (size / ss64).checked_sub(1).filter(|&l| l > 1);
        let hint = hint.filter(|&h| h > 1 && Some(h) != last && h < size / ss64);
        for lba in [last, hint].into_iter().flatten() {
            let found = read_sector(disk, ss, lba).and_then(|sector| load(disk, &sector, ss, lba, limits));
            match found {
                Ok((header, array)) => {
                    warnings.push(format!(
                        "primary GPT header damaged ({primary_error}); the backup header at LBA {lba} \
                         ({ss}-byte sectors) was used"
                    ));
                    let partitions = entries(&header, &array, ss, size, limits, warnings)?;
                    return Ok(GptFound { sector_size: sector_size_u32(ss), used_backup: true, partitions });
                }
                Err(e) => errors.push(e),
            }
        }
    }

    // Neither header: report the first error about a header that is there but wrong, rather than
    // one that only says "no header here" (a missing signature, or a disk too short for it).
    let absent = |e: &ImageError| {
        matches!(
            e,
            ImageError::BadSignature { what: "GPT header", .. } | ImageError::Truncated { what: "GPT header", .. }
        )
    };
    let pick = errors.iter().position(|e| !absent(e)).unwrap_or(0);
    Err(if pick < errors.len() {
        errors.swap_remove(pick)
    } else {
        ImageError::Corrupt { what: "GPT", offset: 512, reason: "no GPT header could be read".into() }
    })
}

/// 512 and 4096 both fit.
fn sector_size_u32(ss: usize) -> u32 {
    u32::try_from(ss).unwrap_or(u32::MAX)
}

/// One logical sector at `lba`.
fn read_sector(disk: &mut dyn VirtualDisk, ss: usize, lba: u64) -> Result<Vec<u8>> {
    let size = disk.size();
    let ss64 = ss as u64;
    let Some((offset, _)) = lba_range(lba, 1, ss64, size) else {
        let offset = lba.saturating_mul(ss64);
        return Err(ImageError::Truncated {
            what: "GPT header",
            offset,
            needed: ss64,
            available: size.saturating_sub(offset),
        });
    };
    let mut sector = vec![0u8; ss];
    disk.read_at(offset, &mut sector)?;
    Ok(sector)
}

/// Checks the header in `sector` (read from `lba`), then reads its entry array and checks its CRC.
fn load(
    disk: &mut dyn VirtualDisk,
    sector: &[u8],
    ss: usize,
    lba: u64,
    limits: &ImageLimits,
) -> Result<(Header, Vec<u8>)> {
    let header = parse_header(sector, ss, lba, disk.size(), limits)?;
    let array = read_array(disk, &header, limits)?;
    Ok((header, array))
}

/// Validates a header, field by field, in the order that lets each check rely on the earlier ones.
fn parse_header(sector: &[u8], ss: usize, lba: u64, disk_size: u64, limits: &ImageLimits) -> Result<Header> {
    let ss64 = ss as u64;
    let at = lba.saturating_mul(ss64);
    let field = |off: u64| at.saturating_add(off);
    let signature = sector.get(..8).unwrap_or_default();
    if signature != SIGNATURE {
        return Err(ImageError::BadSignature {
            what: "GPT header",
            offset: at,
            expected: "EFI PART",
            found: signature.to_vec(),
        });
    }
    // The size bounds the CRC's range, so it is checked first (HOSTILE-INPUTS P8: 0xFFFFFFFF).
    let header_size = u32_at(sector, 12);
    if header_size < MIN_HEADER || u64::from(header_size) > ss64 {
        return Err(ImageError::BadField {
            what: "GPT header size",
            offset: field(12),
            value: u64::from(header_size),
            expected: "92 ..= the sector size",
        });
    }
    let stored = u32_at(sector, 16);
    let computed = header_crc(sector, header_size);
    if stored != computed {
        return Err(ImageError::BadChecksum {
            what: "GPT header",
            offset: at,
            expected: u64::from(computed),
            found: u64::from(stored),
        });
    }
    let my_lba = u64_at(sector, 24);
    if my_lba != lba {
        return Err(ImageError::BadField {
            what: "GPT header MyLBA",
            offset: field(24),
            value: my_lba,
            expected: "the LBA the header was read from",
        });
    }
    let entry_size = u32_at(sector, 84);
    if !(entry_size.is_power_of_two() && (MIN_ENTRY..=MAX_ENTRY).contains(&entry_size)) {
        return Err(ImageError::BadField {
            what: "GPT partition entry size",
            offset: field(84),
            value: u64::from(entry_size),
            expected: "128 × 2^n, at most 4096",
        });
    }
    let count = u32_at(sector, 80);
    let array_len = u64::from(count).saturating_mul(u64::from(entry_size));
    ImageLimits::check("max_table_bytes", array_len, limits.max_table_bytes)?;
    let entry_lba = u64_at(sector, 72);
    let array_offset = entry_lba.checked_mul(ss64);
    let inside = array_offset.and_then(|o| o.checked_add(array_len)).is_some_and(|end| end <= disk_size);
    let (Some(array_offset), true) = (array_offset, inside && entry_lba != 0) else {
        return Err(ImageError::BadField {
            what: "GPT PartitionEntryLBA",
            offset: field(72),
            value: entry_lba,
            expected: "an entry array after LBA 0 and inside the disk",
        });
    };
    Ok(Header {
        alternate_lba: u64_at(sector, 32),
        first_usable: u64_at(sector, 40),
        last_usable: u64_at(sector, 48),
        array_offset,
        array_len,
        count,
        entry_size,
        array_crc: u32_at(sector, 88),
    })
}

/// CRC32 of the first `header_size` bytes with the CRC field (bytes 16..20) taken as zeros.
fn header_crc(sector: &[u8], header_size: u32) -> u32 {
    let end = usize::try_from(header_size).unwrap_or(usize::MAX).min(sector.len());
    let mut h = crc32fast::Hasher::new();
    h.update(sector.get(..16).unwrap_or_default());
    h.update(&[0u8; 4]);
    h.update(sector.get(20..end).unwrap_or_default());
    h.finalize()
}

/// Reads the entry array (its size already checked against `max_table_bytes` and the disk) and
/// checks its CRC.
fn read_array(disk: &mut dyn VirtualDisk, h: &Header, limits: &ImageLimits) -> Result<Vec<u8>> {
    let too_big =
        || ImageError::LimitExceeded { limit: "max_table_bytes", value: h.array_len, max: limits.max_table_bytes };
    let n = usize::try_from(h.array_len).map_err(|_| too_big())?;
    let mut array = Vec::new();
    array.try_reserve_exact(n).map_err(|_| too_big())?;
    array.resize(n, 0);
    disk.read_at(h.array_offset, &mut array)?;
    let computed = crc32fast::hash(&array);
    if computed != h.array_crc {
        return Err(ImageError::BadChecksum {
            what: "GPT partition entry array",
            offset: h.array_offset,
            expected: u64::from(computed),
            found: u64::from(h.array_crc),
        });
    }
    Ok(array)
}

/// With a valid primary, looks at the backup header only (one sector) so that a damaged or missing
/// backup is reported; it changes nothing else. A disk grown after partitioning (qemu-img rounds VHD
/// sizes) keeps its backup where `AlternateLBA` says, not at the new last LBA, so that is where to look.
fn check_backup(disk: &mut dyn VirtualDisk, h: &Header, ss: usize, limits: &ImageLimits, warnings: &mut Vec<String>) {
    let alt = h.alternate_lba;
    if alt <= 1 {
        warnings.push(format!("the GPT header names no backup header (AlternateLBA {alt})"));
        return;
    }
    let checked = read_sector(disk, ss, alt).and_then(|s| parse_header(&s, ss, alt, disk.size(), limits));
    if let Err(e) = checked {
        warnings.push(format!("backup GPT header at LBA {alt} is missing or damaged: {e}"));
    }
}

/// The partitions of a checked entry array. Entries with an all-zero type GUID are unused. Used
/// entries count against `max_partitions` before anything else about them is looked at, which also
/// bounds the warnings. An entry with first > last, or one that starts past the disk, is skipped
/// with a warning; one that ends past the disk is kept as truncated, and one outside the header's
/// usable LBAs is kept; both with a warning.
fn entries(
    h: &Header,
    array: &[u8],
    ss: usize,
    disk_size: u64,
    limits: &ImageLimits,
    warnings: &mut Vec<String>,
) -> Result<Vec<Partition>> {
    let ss64 = ss as u64;
    let entry_size = usize::try_from(h.entry_size).unwrap_or(usize::MAX);
    let mut parts = Vec::new();
    let mut used: u64 = 0;
    for (number, e) in (1..=h.count).zip(array.chunks_exact(entry_size)) {
        let Some(type_guid) = e.get(..16) else { break };
        if type_guid.iter().all(|&b| b == 0) {
            continue;
        }
        used = used.saturating_add(1);
        ImageLimits::check("max_partitions", used, u64::from(limits.max_partitions))?;
        let first = u64_at(e, 32);
        let last = u64_at(e, 40);
        let attributes = u64_at(e, 48);
        let Some(sectors) = last.checked_sub(first).and_then(|n| n.checked_add(1)) else {
            let why = if first > last { "its first LBA is after its last" } else { "its size overflows 64 bits" };
            warnings.push(format!("GPT entry {number} (LBAs {first}..={last}) skipped: {why}"));
            continue;
        };
        let (start, len, truncated) = match extent(first, sectors, ss64, disk_size) {
            Ok(found) => found,
            Err(why) => {
                warnings.push(format!("GPT entry {number} (LBAs {first}..={last}) skipped: {why}"));
                continue;
            }
        };
        if truncated {
            warnings.push(truncated_warning(&format!("GPT entry {number}"), start, len, disk_size));
        }
        if first < h.first_usable || last > h.last_usable {
            warnings.push(format!(
                "GPT entry {number} (LBAs {first}..={last}) lies outside the usable LBAs {}..={}",
                h.first_usable, h.last_usable
            ));
        }
        parts.push(Partition {
            number,
            start,
            len,
            type_id: guid_text(type_guid),
            name: name(e),
            filesystem: Filesystem::Unknown,
            bootable: attributes & LEGACY_BOOTABLE != 0,
            truncated,
        });
    }
    Ok(parts)
}

/// The entry's name: UTF-16LE up to the first NUL or 36 units; unpaired surrogates become U+FFFD.
fn name(entry: &[u8]) -> Option<String> {
    let units: Vec<u16> = entry
        .get(56..56 + 2 * NAME_UNITS)
        .unwrap_or_default()
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    (!units.is_empty()).then(|| String::from_utf16_lossy(&units))
}

/// A GUID in its registry form: the first three fields are little-endian on disk, the last two
/// big-endian, so `28 73 2A C1 1F F8 D2 11 BA 4B 00 A0 C9 3E C9 3B` is `C12A7328-F81F-11D2-BA4B-00A0C93EC93B`.
pub fn guid_text(b: &[u8]) -> String {
    let byte = |i: usize| b.get(i).copied().unwrap_or(0);
    let order = [3, 2, 1, 0, 4 + 1, 4, 6 + 1, 6, 8, 9, 10, 11, 12, 13, 14, 15];
    let mut s = String::with_capacity(36);
    for (k, &i) in order.iter().enumerate() {
        if matches!(k, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{:02X}", byte(i)));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_text_is_mixed_endian_upper_case() {
        let esp = [0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11, 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B];
        assert_eq!(guid_text(&esp), "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
        assert_eq!(guid_text(&[]), "00000000-0000-0000-0000-000000000000");
    }

    #[test]
    fn names_stop_at_nul_and_at_36_units() {
        let mut e = [0u8; 128];
        for (i, c) in "Basic data partition".encode_utf16().enumerate() {
            e[56 + 2 * i..58 + 2 * i].copy_from_slice(&c.to_le_bytes());
        }
        assert_eq!(name(&e).as_deref(), Some("Basic data partition"));
        let mut full = [0u8; 256];
        for i in 0..100 {
            full[56 + 2 * i..58 + 2 * i].copy_from_slice(&u16::from(b'x').to_le_bytes());
        }
        assert_eq!(name(&full).map(|n| n.len()), Some(36));
        // An unpaired surrogate.
        let mut s = [0u8; 128];
        s[56..58].copy_from_slice(&0xD800u16.to_le_bytes());
        assert_eq!(name(&s).as_deref(), Some("\u{FFFD}"));
        assert_eq!(name(&[0u8; 128]), None);
        assert_eq!(name(&[1u8; 60]), None);
    }

    fn header(entry_size: u32, count: u32, header_size: u32) -> Vec<u8> {
        let mut s = vec![0u8; 512];
        s[..8].copy_from_slice(SIGNATURE);
        s[12..16].copy_from_slice(&header_size.to_le_bytes());
        s[24..32].copy_from_slice(&1u64.to_le_bytes());
        s[72..80].copy_from_slice(&2u64.to_le_bytes());
        s[80..84].copy_from_slice(&count.to_le_bytes());
        s[84..88].copy_from_slice(&entry_size.to_le_bytes());
        let crc = header_crc(&s, header_size.clamp(92, 512));
        s[16..20].copy_from_slice(&crc.to_le_bytes());
        s
    }

    #[test]
    fn header_fields_are_checked_before_use() {
        let l = ImageLimits::default();
        let disk = 1 << 20;
        assert!(parse_header(&header(128, 128, 92), 512, 1, disk, &l).is_ok());
        assert!(parse_header(&header(256, 64, 92), 512, 1, disk, &l).is_ok());
        for bad in [0, 8, 96, 384, 8192, 1 << 31, u32::MAX] {
            let e = parse_header(&header(bad, 128, 92), 512, 1, disk, &l).unwrap_err();
            assert!(matches!(e, ImageError::BadField { what: "GPT partition entry size", .. }), "{bad}: {e}");
        }
        let e = parse_header(&header(128, u32::MAX, 92), 512, 1, disk, &l).unwrap_err();
        assert!(matches!(e, ImageError::LimitExceeded { limit: "max_table_bytes", .. }), "{e}");
        // Within the limit but past the end of the disk.
        let e = parse_header(&header(128, 1 << 16, 92), 512, 1, disk, &l).unwrap_err();
        assert!(matches!(e, ImageError::BadField { what: "GPT PartitionEntryLBA", .. }), "{e}");
        for hs in [0, 91, 513, u32::MAX] {
            let e = parse_header(&header(128, 128, hs), 512, 1, disk, &l).unwrap_err();
            assert!(matches!(e, ImageError::BadField { what: "GPT header size", .. }), "{hs}: {e}");
        }
        let e = parse_header(&header(128, 128, 92), 512, 7, disk, &l).unwrap_err();
        assert!(matches!(e, ImageError::BadField { what: "GPT header MyLBA", .. }), "{e}");
        let mut s = header(128, 128, 92);
        s[40] ^= 1;
        let e = parse_header(&s, 512, 1, disk, &l).unwrap_err();
        assert!(matches!(e, ImageError::BadChecksum { what: "GPT header", .. }), "{e}");
        let e = parse_header(&[0u8; 4], 512, 1, disk, &l).unwrap_err();
        assert!(matches!(e, ImageError::BadSignature { .. }), "{e}");
    }
}
