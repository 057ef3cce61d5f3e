//! The LVM2 label and the physical-volume header that follows it.
//!
//! Layout (LVM2 `lib/label/label.h`, `lib/format_text/layout.h`; all integers little-endian):
//!
//! | at | label header (one 512-byte sector, one of sectors 0–3 of the PV) |
//! |---|---|
//! | 0 | `LABELONE` |
//! | 8 | u64: the number of the sector the label is in |
//! | 16 | u32: CRC of bytes 20..512 of this sector |
//! | 20 | u32: offset of the PV header from the start of the sector (32) |
//! | 24 | `LVM2 001` |
//!
//! | at (from the PV header) | PV header |
//! |---|---|
//! | 0 | 32 bytes: the PV UUID, without its dashes |
//! | 32 | u64: the device size in bytes |
//! | 40 | data areas, `{u64 offset, u64 size}` each, ending with an entry whose offset is 0 |
//! | … | metadata areas, the same, ending the same way |
//! | … | an extension (version, flags, bootloader areas), not read here |
//!
//! Both lists must end inside the label sector, so neither can hold more than 27 entries. LVM
//! itself ignores a `LABELONE` sector whose sector number or CRC is wrong and goes on scanning;
//! so does this reader, and when no sector of the four holds a valid label but one says
//! `LABELONE`, the first such sector's fault is the error.

use crate::error::{ImageError, Result};
use crate::volume::{Region, Volume};

/// Bytes in an LVM sector (LVM counts `pe_start`, `extent_size` and `stripe_size` in these).
pub(crate) const SECTOR: u64 = 512;
/// [`SECTOR`] as a buffer length.
pub(crate) const SECTOR_LEN: usize = 512;
/// The label is looked for in sectors `0..LABEL_SCAN_SECTORS`.
pub(crate) const LABEL_SCAN_SECTORS: u64 = 4;
/// The label's identifier.
pub(crate) const LABEL_ID: &[u8; 8] = b"LABELONE";
/// The label type of the text format.
pub(crate) const LABEL_TYPE: &[u8; 8] = b"LVM2 001";
/// The initial value of LVM's CRC.
pub(crate) const INITIAL_CRC: u32 = 0xF597_A6CF;
/// Characters LVM uses in UUIDs (`lib/id/id.c`).
const UUID_CHARS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!#";
/// Bytes of a UUID without its dashes.
pub(crate) const UUID_LEN: usize = 32;
/// Where the PV header's area lists start, from the PV header.
const AREAS_AT: usize = 40;
/// Bytes of one `{offset, size}` area entry.
const AREA_LEN: usize = 16;

/// LVM's CRC: reflected CRC-32 (polynomial 0xEDB88320) from `state`, with no final XOR; chain
/// calls to checksum data in pieces, starting from [`INITIAL_CRC`].
pub(crate) fn crc(state: u32, data: &[u8]) -> u32 {
    // crc32fast keeps the finalised (inverted) value as its state and inverts on the way in and
    // out; LVM's CRC is the raw register, so invert around it.
    let mut h = crc32fast::Hasher::new_with_initial(!state);
    h.update(data);
    !h.finalize()
}

/// A little-endian u32 at `at`, or `None` past the end.
pub(crate) fn u32_le(b: &[u8], at: usize) -> Option<u32> {
    let bytes = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

/// A little-endian u64 at `at`, or `None` past the end.
pub(crate) fn u64_le(b: &[u8], at: usize) -> Option<u64> {
    let bytes = b.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// One `{offset, size}` entry of the PV header: bytes from the start of the PV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DiskArea {
    /// Start, bytes from the start of the PV.
    pub(crate) offset: u64,
    /// Length in bytes (0 for a data area: to the end of the device).
    pub(crate) size: u64,
}

/// A valid label and its PV header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Label {
    /// The sector (0–3) it was found in.
    pub(crate) sector: u64,
    /// The PV UUID in LVM's dashed form (6-4-4-4-4-4-6).
    pub(crate) uuid: String,
    /// The device size the header records, bytes.
    pub(crate) device_size: u64,
    /// Data areas (in practice one, from `pe_start`).
    pub(crate) data_areas: Vec<DiskArea>,
    /// Metadata areas (none, one, or two: at the start and at the end of the PV).
    pub(crate) metadata_areas: Vec<DiskArea>,
}

/// Looks for the label in sectors 0–3 of `region`. `Ok(None)` when no sector starts with
/// `LABELONE`; an error when one does but none of them is a valid label.
pub(crate) fn read_label(region: &Region) -> Result<Option<Label>> {
    let mut region = region.clone();
    let mut first_error = None;
    for sector in 0..LABEL_SCAN_SECTORS {
        let at = sector.saturating_mul(SECTOR);
        let Some(end) = at.checked_add(SECTOR) else { break };
        if end > region.len() {
            break;
        }
        let mut buf = [0u8; SECTOR_LEN];
        region.read_exact_at(at, &mut buf)?;
        if buf.get(..8) != Some(&LABEL_ID[..]) {
            continue;
        }
        match parse_label(&buf, sector) {
            Ok(label) => return Ok(Some(label)),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(None),
    }
}

/// Parses the label sector `buf`, found in sector `sector` of the PV.
pub(crate) fn parse_label(buf: &[u8], sector: u64) -> Result<Label> {
    let base = sector.saturating_mul(SECTOR);
    let at = |off: usize| base.saturating_add(off as u64);
    let field = |what: &'static str, off: usize, value: u64, expected: &'static str| ImageError::BadField {
        what,
        offset: at(off),
        value,
        expected,
    };
    if buf.len() != SECTOR_LEN {
        return Err(ImageError::Truncated {
            what: "LVM label",
            offset: base,
            needed: SECTOR,
            available: buf.len() as u64,
        });
    }
    if buf.get(..8) != Some(&LABEL_ID[..]) {
        return Err(ImageError::BadSignature {
            what: "LVM label",
            offset: base,
            expected: "LABELONE",
            found: buf.get(..8).unwrap_or_default().to_vec(),
        });
    }
    let recorded = u64_le(buf, 8).unwrap_or(u64::MAX);
    if recorded != sector {
        return Err(field("LVM label sector number", 8, recorded, "the number of the sector the label is in (0-3)"));
    }
    let stored = u32_le(buf, 16).unwrap_or(0);
    let computed = crc(INITIAL_CRC, buf.get(20..).unwrap_or_default());
    if stored != computed {
        return Err(ImageError::BadChecksum {
            what: "LVM label (CRC of bytes 20..512)",
            offset: at(16),
            expected: computed.into(),
            found: stored.into(),
        });
    }
    let kind = buf.get(24..32).unwrap_or_default();
    if kind != LABEL_TYPE {
        return Err(ImageError::BadSignature {
            what: "LVM label type",
            offset: at(24),
            expected: "LVM2 001",
            found: kind.to_vec(),
        });
    }
    let pv_offset = u32_le(buf, 20).unwrap_or(u32::MAX);
    let pv_at = usize::try_from(pv_offset).unwrap_or(usize::MAX);
    // The UUID and device size, and at least the two list terminators, must fit in the sector.
    let min_header = AREAS_AT + 2 * AREA_LEN;
    if pv_at < 32 || pv_at.checked_add(min_header).is_none_or(|end| end > buf.len()) {
        return Err(field(
            "LVM PV header offset",
            20,
            pv_offset.into(),
            "at least 32 and leaving room for the PV header in the label sector",
        ));
    }
    let raw_uuid = buf.get(pv_at..pv_at.saturating_add(UUID_LEN)).unwrap_or_default();
    let uuid = format_uuid(raw_uuid).ok_or_else(|| ImageError::Corrupt {
        what: "LVM PV UUID",
        offset: at(pv_at),
        reason: format!(
            "expected 32 characters of [0-9a-zA-Z!#], found {:?}",
            String::from_utf8_lossy(raw_uuid).escape_debug().to_string()
        ),
    })?;
    let device_size = u64_le(buf, pv_at.saturating_add(UUID_LEN)).unwrap_or(0);
    let mut pos = pv_at.saturating_add(AREAS_AT);
    let data_areas = read_area_list(buf, &mut pos, base, "LVM PV header data area list")?;
    let metadata_areas = read_area_list(buf, &mut pos, base, "LVM PV header metadata area list")?;
    Ok(Label { sector, uuid, device_size, data_areas, metadata_areas })
}

/// Reads `{offset, size}` entries from `pos` up to and including the one whose offset is 0,
/// which must lie inside the sector; leaves `pos` after it.
fn read_area_list(buf: &[u8], pos: &mut usize, base: u64, what: &'static str) -> Result<Vec<DiskArea>> {
    let mut areas = Vec::new();
    // At most (512 - 72) / 16 entries fit, so the loop is bounded by the sector.
    loop {
        let (Some(offset), Some(size)) = (u64_le(buf, *pos), u64_le(buf, pos.saturating_add(8))) else {
            return Err(ImageError::Corrupt {
                what,
                offset: base.saturating_add(*pos as u64),
                reason: "expected an entry with offset 0 ending the list before the end of the label sector".into(),
            });
        };
        *pos = pos.saturating_add(AREA_LEN);
        if offset == 0 {
            return Ok(areas);
        }
        areas.push(DiskArea { offset, size });
    }
}

/// LVM's dashed form (6-4-4-4-4-4-6) of a 32-character UUID, or `None` when it is not 32
/// characters of LVM's UUID alphabet.
pub(crate) fn format_uuid(raw: &[u8]) -> Option<String> {
    if raw.len() != UUID_LEN || !raw.iter().all(|c| UUID_CHARS.contains(c)) {
        return None;
    }
    let mut out = String::with_capacity(UUID_LEN + 6);
    for (i, &c) in raw.iter().enumerate() {
        if matches!(i, 6 | 10 | 14 | 18 | 22 | 26) {
            out.push('-');
        }
        out.push(char::from(c));
    }
    Some(out)
}

/// The dashed form of a UUID as metadata text writes it (dashes anywhere, as LVM accepts), or
/// `None` when it is not 32 characters of LVM's alphabet once the dashes are gone.
pub(crate) fn normalize_uuid(text: &str) -> Option<String> {
    if text.len() > 64 {
        return None;
    }
    let raw: Vec<u8> = text.bytes().filter(|&c| c != b'-').collect();
    format_uuid(&raw)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    /// A valid label sector for `sector`, with the UUID `uuid` and the given lists.
    pub(crate) fn label_sector(sector: u64, uuid: &[u8; 32], data: &[(u64, u64)], mdas: &[(u64, u64)]) -> Vec<u8> {
        let mut b = vec![0u8; 512];
        b[..8].copy_from_slice(LABEL_ID);
        b[8..16].copy_from_slice(&sector.to_le_bytes());
        b[20..24].copy_from_slice(&32u32.to_le_bytes());
        b[24..32].copy_from_slice(LABEL_TYPE);
        b[32..64].copy_from_slice(uuid);
        b[64..72].copy_from_slice(&(1u64 << 30).to_le_bytes());
        let mut pos = 72;
        for list in [data, mdas] {
            for &(o, s) in list.iter().chain(&[(0, 0)]) {
                b[pos..pos + 8].copy_from_slice(&o.to_le_bytes());
                b[pos + 8..pos + 16].copy_from_slice(&s.to_le_bytes());
                pos += 16;
            }
        }
        reseal(&mut b);
        b
    }

    pub(crate) fn reseal(b: &mut [u8]) {
        let c = crc(INITIAL_CRC, &b[20..512]);
        b[16..20].copy_from_slice(&c.to_le_bytes());
    }

    const UUID: &[u8; 32] = b"QGRo9XzfAgUDYkZEYYmkLh3Ix0y5aykl";

    #[test]
    fn crc_matches_a_label_written_by_pvcreate() {
        // The label sector pvcreate (LVM 2.03.16) wrote on a 16 MiB loop device: CRC 0x150df53b.
        let mut b = label_sector(1, UUID, &[(1 << 20, 0)], &[(4096, 0xff000)]);
        b[64..72].copy_from_slice(&(16u64 << 20).to_le_bytes());
        // pvcreate also writes the extension: version 2, flags 1, and an empty bootloader list.
        b[136..140].copy_from_slice(&2u32.to_le_bytes());
        b[140..144].copy_from_slice(&1u32.to_le_bytes());
        reseal(&mut b);
        assert_eq!(u32_le(&b, 16), Some(0x150d_f53b));
        // Chained pieces give the same value as one call.
        assert_eq!(crc(crc(INITIAL_CRC, &b[20..100]), &b[100..512]), crc(INITIAL_CRC, &b[20..512]));
        assert_eq!(crc(INITIAL_CRC, b""), INITIAL_CRC);
    }

    #[test]
    fn label_fields() {
        let b = label_sector(1, UUID, &[(1 << 20, 0)], &[(4096, 0xff000), (9 << 20, 4096)]);
        let l = parse_label(&b, 1).unwrap();
        assert_eq!(l.uuid, "QGRo9X-zfAg-UDYk-ZEYY-mkLh-3Ix0-y5aykl");
        assert_eq!(l.device_size, 1 << 30);
        assert_eq!(l.data_areas, vec![DiskArea { offset: 1 << 20, size: 0 }]);
        assert_eq!(l.metadata_areas.len(), 2);
    }

    #[test]
    fn label_faults_are_typed() {
        let good = label_sector(1, UUID, &[(1 << 20, 0)], &[(4096, 0xff000)]);
        // Found in another sector than it says.
        assert!(matches!(parse_label(&good, 2), Err(ImageError::BadField { offset: 0x408, .. })));
        let mut b = good.clone();
        b[300] ^= 1;
        assert!(matches!(parse_label(&b, 1), Err(ImageError::BadChecksum { offset: 0x210, .. })));
        let mut b = good.clone();
        b[24..32].copy_from_slice(b"LVM1 001");
        reseal(&mut b);
        assert!(matches!(parse_label(&b, 1), Err(ImageError::BadSignature { what: "LVM label type", .. })));
        for off in [0u32, 31, 441, 480, u32::MAX] {
            let mut b = good.clone();
            b[20..24].copy_from_slice(&off.to_le_bytes());
            reseal(&mut b);
            assert!(matches!(parse_label(&b, 1), Err(ImageError::BadField { .. })), "{off}");
        }
        let mut b = good.clone();
        b[40] = b'-';
        reseal(&mut b);
        assert!(matches!(parse_label(&b, 1), Err(ImageError::Corrupt { what: "LVM PV UUID", .. })));
        // Lists that never end inside the sector.
        let mut b = good.clone();
        for e in (72..512).step_by(16) {
            b[e] = 1;
        }
        reseal(&mut b);
        assert!(matches!(parse_label(&b, 1), Err(ImageError::Corrupt { what: "LVM PV header data area list", .. })));
        let mut b = good.clone();
        for e in (104..512).step_by(16) {
            b[e] = 1;
        }
        reseal(&mut b);
        assert!(matches!(
            parse_label(&b, 1),
            Err(ImageError::Corrupt { what: "LVM PV header metadata area list", .. })
        ));
        assert!(matches!(parse_label(&good[..100], 1), Err(ImageError::Truncated { .. })));
        assert!(matches!(parse_label(&[0u8; 512], 1), Err(ImageError::BadSignature { .. })));
    }

    #[test]
    fn uuids() {
        assert_eq!(
            normalize_uuid("QGRo9X-zfAg-UDYk-ZEYY-mkLh-3Ix0-y5aykl").as_deref(),
            Some("QGRo9X-zfAg-UDYk-ZEYY-mkLh-3Ix0-y5aykl")
        );
        assert_eq!(
            normalize_uuid("QGRo9XzfAgUDYkZEYYmkLh3Ix0y5aykl").as_deref(),
            Some("QGRo9X-zfAg-UDYk-ZEYY-mkLh-3Ix0-y5aykl")
        );
        assert_eq!(normalize_uuid("short"), None);
        assert_eq!(normalize_uuid(&"-".repeat(100)), None);
        assert_eq!(normalize_uuid("QGRo9X-zfAg-UDYk-ZEYY-mkLh-3Ix0-y5ayk\u{e9}"), None);
    }
}
