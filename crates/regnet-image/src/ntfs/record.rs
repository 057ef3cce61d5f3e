//! Multi-sector structures (FILE records and INDX blocks): the update sequence fixups, and the
//! FILE record header with its attribute walk.
//!
//! Fixups: the update sequence array (offset at +4, count at +6) holds the update sequence number
//! followed by the original last two bytes of each 512-byte stride; on disk, each stride ends with
//! the number instead, so a torn write is detectable. FILE record header: sequence number at 0x10,
//! first attribute offset at 0x14, flags at 0x16 (1 = in use, 2 = directory), bytes in use at 0x18,
//! bytes allocated at 0x1C, base record reference at 0x20. Sources: Linux-NTFS documentation
//! (flatcap), libfsntfs format notes, Linux ntfs3 record checks.

use super::le::{bytes, u16_at, u32_at, u64_at};
use crate::error::{ImageError, Result};

/// Fixups protect 512-byte strides whatever the sector size (records smaller than that are one stride).
pub(crate) const FIXUP_STRIDE: usize = 512;

/// FILE record flag: the record is in use.
pub(crate) const RECORD_IN_USE: u16 = 0x0001;
/// Attribute type that ends a record's attribute sequence.
pub(crate) const ATTR_END: u32 = 0xFFFF_FFFF;

/// Applies the update sequence fixups of `buf` in place. `what` and `offset` (the structure's volume
/// byte offset) go into errors.
pub(crate) fn apply_fixups(buf: &mut [u8], what: &'static str, offset: u64) -> Result<()> {
    let field = |rel: u64, value: u64, expected: &'static str| ImageError::BadField {
        what,
        offset: offset.saturating_add(rel),
        value,
        expected,
    };
    let usa_ofs = usize::from(u16_at(buf, 4).ok_or_else(|| field(4, 0, "a structure of at least 8 bytes"))?);
    let usa_count = usize::from(u16_at(buf, 6).ok_or_else(|| field(6, 0, "a structure of at least 8 bytes"))?);
    let stride = FIXUP_STRIDE.min(buf.len());
    let strides = buf.len().checked_div(stride).unwrap_or(0);
    if stride == 0 || buf.len().checked_rem(stride) != Some(0) || usa_count != strides.saturating_add(1) {
        return Err(field(6, usa_count as u64, "update sequence count = size / 512 + 1"));
    }
    // The array sits after the 8 header bytes and ends before the first stride's protected bytes.
    let usa_end = usa_count.checked_mul(2).and_then(|n| n.checked_add(usa_ofs));
    if usa_ofs < 8 || usa_ofs % 2 != 0 || usa_end.is_none_or(|e| e > stride.saturating_sub(2)) {
        return Err(field(4, usa_ofs as u64, "an even update sequence offset whose array fits in the first 510 bytes"));
    }
    let usn = u16_at(buf, usa_ofs).ok_or_else(|| field(4, usa_ofs as u64, "an offset inside the structure"))?;
    for i in 1..usa_count {
        let tail = i.checked_mul(stride).and_then(|e| e.checked_sub(2));
        let saved = i.checked_mul(2).and_then(|d| d.checked_add(usa_ofs)).and_then(|p| u16_at(buf, p));
        let (Some(tail), Some(saved)) = (tail, saved) else {
            return Err(field(6, usa_count as u64, "an update sequence array inside the structure"));
        };
        let found = u16_at(buf, tail).ok_or_else(|| field(6, usa_count as u64, "strides inside the structure"))?;
        if found != usn {
            return Err(ImageError::Corrupt {
                what,
                offset: offset.saturating_add(tail as u64),
                reason: format!(
                    "stride {i} ends with {found:#06x} instead of the update sequence number {usn:#06x} (torn write)"
                ),
            });
        }
        if let Some(dst) = buf.get_mut(tail..tail.saturating_add(2)) {
            dst.copy_from_slice(&saved.to_le_bytes());
        }
    }
    Ok(())
}

/// A FILE record after fixups, with its header checked.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// The record number.
    pub number: u64,
    /// Volume byte offset of the record's first byte (for messages).
    pub offset: u64,
    pub sequence: u16,
    pub flags: u16,
    /// Base record reference (0 for a base record).
    pub base: u64,
    pub first_attr: usize,
    /// Bytes in use (the attribute walk stays below this).
    pub used: usize,
    pub data: Vec<u8>,
}

impl Record {
    /// Checks the signature, applies the fixups and validates the header of a raw record.
    pub(crate) fn parse(number: u64, offset: u64, mut data: Vec<u8>) -> Result<Record> {
        let sig = data.get(..4).unwrap_or_default();
        if sig != b"FILE" {
            let expected = if sig == b"BAAD" { "FILE (the record is marked BAAD by chkdsk)" } else { "FILE" };
            return Err(ImageError::BadSignature { what: "NTFS MFT record", offset, found: sig.to_vec(), expected });
        }
        apply_fixups(&mut data, "NTFS MFT record", offset)?;
        let at = |rel: u64| offset.saturating_add(rel);
        let trunc = || ImageError::Truncated {
            what: "NTFS MFT record header",
            offset,
            needed: 0x30,
            available: data.len() as u64,
        };
        let sequence = u16_at(&data, 0x10).ok_or_else(trunc)?;
        let first_attr = u16_at(&data, 0x14).ok_or_else(trunc)?;
        let flags = u16_at(&data, 0x16).ok_or_else(trunc)?;
        let used = u32_at(&data, 0x18).ok_or_else(trunc)?;
        let base = u64_at(&data, 0x20).ok_or_else(trunc)?;
        let size = data.len() as u64;
        if u64::from(used) > size || used < 0x18 {
            return Err(ImageError::BadField {
                what: "NTFS MFT record bytes in use",
                offset: at(0x18),
                value: used.into(),
                expected: "at most the record size",
            });
        }
        if first_attr % 8 != 0 || first_attr < 0x18 || u32::from(first_attr).saturating_add(4) > used {
            return Err(ImageError::BadField {
                what: "NTFS MFT record first attribute offset",
                offset: at(0x14),
                value: first_attr.into(),
                expected: "8-aligned, after the header and inside the bytes in use",
            });
        }
        Ok(Record {
            number,
            offset,
            sequence,
            flags,
            base,
            first_attr: usize::from(first_attr),
            used: usize::try_from(used).unwrap_or(usize::MAX),
            data,
        })
    }

    pub(crate) fn in_use(&self) -> bool {
        self.flags & RECORD_IN_USE != 0
    }

    /// The record's attributes as (offset in the record, bytes) pairs, in order. Each is at least 16
    /// bytes, 8-aligned and inside the bytes in use; the walk ends at the end marker.
    pub(crate) fn raw_attributes(&self) -> Result<Vec<(usize, &[u8])>> {
        let corrupt = |pos: usize, reason: String| ImageError::Corrupt {
            what: "NTFS attribute",
            offset: self.offset.saturating_add(pos as u64),
            reason: format!("record {}: {reason}", self.number),
        };
        let used = self.data.get(..self.used).unwrap_or_default();
        let mut out = Vec::new();
        let mut pos = self.first_attr;
        loop {
            let Some(kind) = u32_at(used, pos) else {
                return Err(corrupt(pos, "the attributes run past the bytes in use without an end marker".into()));
            };
            if kind == ATTR_END {
                return Ok(out);
            }
            let len = u32_at(used, pos.saturating_add(4)).and_then(|l| usize::try_from(l).ok()).unwrap_or(0);
            let body = bytes(used, pos, len);
            match body {
                Some(body) if len >= 16 && len % 8 == 0 => out.push((pos, body)),
                _ => {
                    return Err(corrupt(
                        pos,
                        format!(
                        "attribute of type {kind:#x} has length {len:#x} (must be ≥ 16, 8-aligned, inside the record)"
                    ),
                    ))
                }
            }
            pos = pos.saturating_add(len);
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
pub(crate) mod tests {
    use super::*;

    /// A 1 KiB FILE record with fixups applied for disk (USN 0x0005), holding `attrs` (already
    /// encoded, 8-aligned) followed by the end marker.
    pub(crate) fn file_record(attrs: &[u8], flags: u16) -> Vec<u8> {
        let mut r = vec![0u8; 1024];
        r[..4].copy_from_slice(b"FILE");
        r[4..6].copy_from_slice(&0x30u16.to_le_bytes());
        r[6..8].copy_from_slice(&3u16.to_le_bytes());
        r[0x10..0x12].copy_from_slice(&1u16.to_le_bytes());
        r[0x14..0x16].copy_from_slice(&0x38u16.to_le_bytes());
        r[0x16..0x18].copy_from_slice(&flags.to_le_bytes());
        let end = 0x38 + attrs.len();
        r[0x38..end].copy_from_slice(attrs);
        r[end..end + 4].copy_from_slice(&ATTR_END.to_le_bytes());
        r[0x18..0x1C].copy_from_slice(&((end + 8) as u32).to_le_bytes());
        r[0x1C..0x20].copy_from_slice(&1024u32.to_le_bytes());
        protect(&mut r, 0x30, 5);
        r
    }

    /// Moves the last two bytes of every 512-byte stride into the array and stores `usn` there.
    pub(crate) fn protect(r: &mut [u8], usa: usize, usn: u16) {
        r[usa..usa + 2].copy_from_slice(&usn.to_le_bytes());
        for i in 1..=r.len() / 512 {
            let tail = i * 512 - 2;
            let (a, b) = (r[tail], r[tail + 1]);
            r[usa + 2 * i] = a;
            r[usa + 2 * i + 1] = b;
            r[tail..tail + 2].copy_from_slice(&usn.to_le_bytes());
        }
    }

    #[test]
    fn fixups_restore_and_detect_torn_writes() {
        let mut attrs = vec![0u8; 16];
        attrs[0] = 0x10;
        attrs[4] = 16;
        let raw = file_record(&attrs, RECORD_IN_USE);
        assert_eq!(&raw[510..512], &[5, 0]);
        let r = Record::parse(7, 0x1000, raw.clone()).unwrap();
        assert_eq!(&r.data[510..512], &[0, 0]);
        assert_eq!(r.raw_attributes().unwrap().len(), 1);
        let mut torn = raw.clone();
        torn[1022] = 9;
        assert!(matches!(Record::parse(7, 0, torn), Err(ImageError::Corrupt { offset: 1022, .. })));
        for (at, v) in [(6usize, 0xFFFFu16), (6, 0), (6, 2), (4, 0x1FE), (4, 0xFFFF), (4, 3), (4, 0)] {
            let mut bad = raw.clone();
            bad[at..at + 2].copy_from_slice(&v.to_le_bytes());
            assert!(matches!(Record::parse(7, 0, bad), Err(ImageError::BadField { .. })), "{at} {v:#x}");
        }
        let mut baad = raw;
        baad[..4].copy_from_slice(b"BAAD");
        assert!(matches!(Record::parse(7, 0, baad), Err(ImageError::BadSignature { .. })));
        assert!(Record::parse(7, 0, vec![]).is_err());
        assert!(Record::parse(7, 0, b"FILE".to_vec()).is_err());
    }

    #[test]
    fn attribute_walk_is_bounded() {
        // Length 0, length past the record, unaligned length: all errors, never a loop.
        for len in [0u32, 8, 12, 0x7FFF_FFF8, 1000, 17] {
            let mut attrs = vec![0u8; 16];
            attrs[0] = 0x10;
            attrs[4..8].copy_from_slice(&len.to_le_bytes());
            let r = Record::parse(1, 0, file_record(&attrs, RECORD_IN_USE)).unwrap();
            assert!(matches!(r.raw_attributes(), Err(ImageError::Corrupt { .. })), "{len}");
        }
        // No end marker inside the bytes in use.
        let mut attrs = vec![0u8; 16];
        attrs[0] = 0x10;
        attrs[4] = 16;
        let mut raw = file_record(&attrs, RECORD_IN_USE);
        raw[0x18] = 0x48;
        let r = Record::parse(1, 0, raw).unwrap();
        assert!(matches!(r.raw_attributes(), Err(ImageError::Corrupt { .. })));
    }
}
