//! Attribute records inside a FILE record (resident and non-resident forms) and the entries of an
//! `$ATTRIBUTE_LIST`.
//!
//! Common header: type (u32) at 0, length (u32) at 4, non-resident flag at 8, name length (UTF-16
//! units, u8) at 9, name offset (u16) at 0x0A, flags (u16) at 0x0C (0x0001 compressed, 0x4000
//! encrypted, 0x8000 sparse), attribute id (u16) at 0x0E. Resident: value length (u32) at 0x10,
//! value offset (u16) at 0x14. Non-resident: lowest and highest VCN (u64) at 0x10 and 0x18, mapping
//! pairs offset (u16) at 0x20, compression unit (log2 clusters, u8) at 0x22, allocated, data and
//! initialized sizes (u64) at 0x28, 0x30, 0x38.
//! `$ATTRIBUTE_LIST` entry: type (u32) at 0, entry length (u16) at 4, name length (u8) at 6, name
//! offset (u8) at 7, first VCN (u64) at 8, file reference (u64) at 0x10, attribute id (u16) at 0x18.
//! Sources: Linux-NTFS documentation (flatcap), libfsntfs format notes.

use super::le::{bytes, u16_at, u32_at, u64_at, u8_at, utf16};
use super::runlist::{self, Extent};
use crate::error::{ImageError, Result};

pub(crate) const TYPE_ATTRIBUTE_LIST: u32 = 0x20;
pub(crate) const TYPE_FILE_NAME: u32 = 0x30;
pub(crate) const TYPE_DATA: u32 = 0x80;
pub(crate) const TYPE_INDEX_ROOT: u32 = 0x90;
pub(crate) const TYPE_INDEX_ALLOCATION: u32 = 0xA0;

pub(crate) const FLAG_COMPRESSED: u16 = 0x0001;
pub(crate) const FLAG_ENCRYPTED: u16 = 0x4000;
pub(crate) const FLAG_SPARSE: u16 = 0x8000;

/// The size fields of a non-resident attribute (meaningful in the extent whose lowest VCN is 0).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sizes {
    pub allocated: u64,
    pub data: u64,
    pub initialized: u64,
    /// log2 of the compression unit in clusters (0 = not compressed).
    pub compression_unit: u8,
}

/// The value of an attribute in one record.
#[derive(Debug, Clone)]
pub(crate) enum Form {
    Resident(Vec<u8>),
    NonResident { extent: Extent, sizes: Sizes },
}

/// One attribute record, decoded and bounds-checked.
#[derive(Debug, Clone)]
pub(crate) struct Attribute {
    pub type_code: u32,
    pub name: Vec<u16>,
    pub flags: u16,
    pub id: u16,
    /// Volume byte offset of the attribute header (for messages).
    pub offset: u64,
    pub form: Form,
}

impl Attribute {
    /// Decodes one attribute record `a` (exactly its `length` bytes, as the record walk gives it).
    pub(crate) fn parse(a: &[u8], offset: u64, total_clusters: u64) -> Result<Attribute> {
        let bad = |rel: u64, what: &'static str, value: u64, expected: &'static str| ImageError::BadField {
            what,
            offset: offset.saturating_add(rel),
            value,
            expected,
        };
        let len = a.len();
        let type_code = u32_at(a, 0).unwrap_or(0);
        let non_resident = u8_at(a, 8).unwrap_or(0);
        let name_len = usize::from(u8_at(a, 9).unwrap_or(0));
        let name_off = usize::from(u16_at(a, 0x0A).unwrap_or(0));
        let flags = u16_at(a, 0x0C).unwrap_or(0);
        let id = u16_at(a, 0x0E).unwrap_or(0);
        let name = match name_len {
            0 => Vec::new(),
            n => utf16(bytes(a, name_off, n.saturating_mul(2)).ok_or_else(|| {
                bad(0x0A, "NTFS attribute name offset", name_off as u64, "a name inside the attribute")
            })?),
        };
        let form = match non_resident {
            0 => {
                let value_len = u32_at(a, 0x10).and_then(|v| usize::try_from(v).ok());
                let value_off = u16_at(a, 0x14).map(usize::from);
                let (Some(value_len), Some(value_off)) = (value_len, value_off) else {
                    return Err(bad(4, "NTFS resident attribute length", len as u64, "at least 0x18 bytes"));
                };
                let value = bytes(a, value_off, value_len).ok_or_else(|| {
                    bad(0x10, "NTFS resident value length", value_len as u64, "a value inside the attribute")
                })?;
                Form::Resident(value.to_vec())
            }
            1 => {
                if len < 0x40 {
                    return Err(bad(4, "NTFS non-resident attribute length", len as u64, "at least 0x40 bytes"));
                }
                let field = |rel: usize| u64_at(a, rel).unwrap_or(0);
                let lowest_vcn = field(0x10);
                let highest_raw = field(0x18);
                let mp_off = usize::from(u16_at(a, 0x20).unwrap_or(0));
                let compression_unit = u8_at(a, 0x22).unwrap_or(0);
                let sizes =
                    Sizes { allocated: field(0x28), data: field(0x30), initialized: field(0x38), compression_unit };
                // Highest VCN -1 marks an attribute with no clusters.
                let highest_vcn = if highest_raw == u64::MAX && lowest_vcn == 0 {
                    None
                } else if highest_raw >= lowest_vcn && highest_raw < u64::MAX {
                    Some(highest_raw)
                } else {
                    return Err(bad(0x18, "NTFS attribute highest VCN", highest_raw, "at least the lowest VCN"));
                };
                if mp_off < 0x40 || mp_off >= len {
                    return Err(bad(
                        0x20,
                        "NTFS mapping pairs offset",
                        mp_off as u64,
                        "inside the attribute, after its header",
                    ));
                }
                let mp = a.get(mp_off..).unwrap_or_default();
                let runs = runlist::decode(mp, lowest_vcn, total_clusters, offset.saturating_add(mp_off as u64))?;
                let extent = Extent { lowest_vcn, highest_vcn, runs };
                runlist::check_extent(&extent, offset)?;
                Form::NonResident { extent, sizes }
            }
            other => return Err(bad(8, "NTFS attribute non-resident flag", other.into(), "0 or 1")),
        };
        Ok(Attribute { type_code, name, flags, id, offset, form })
    }

    pub(crate) fn is(&self, type_code: u32, name: &[u16]) -> bool {
        self.type_code == type_code && self.name == name
    }
}

/// One entry of an `$ATTRIBUTE_LIST`: where a piece of an attribute lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListEntry {
    pub type_code: u32,
    pub name: Vec<u16>,
    pub start_vcn: u64,
    /// MFT record number (low 48 bits of the reference).
    pub record: u64,
    pub sequence: u16,
    pub id: u16,
}

/// Size of an `$ATTRIBUTE_LIST` entry before its name.
const LIST_ENTRY_HEADER: usize = 0x1A;

/// Decodes a whole `$ATTRIBUTE_LIST` value. Each entry must be at least 0x1A bytes, hold its name
/// and end inside the list; no bytes may be left over after the last.
pub(crate) fn parse_list(value: &[u8], offset: u64) -> Result<Vec<ListEntry>> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < value.len() {
        let corrupt = |reason: String| ImageError::Corrupt {
            what: "NTFS attribute list entry",
            offset: offset.saturating_add(pos as u64),
            reason,
        };
        let entry_len = usize::from(u16_at(value, pos.saturating_add(4)).unwrap_or(0));
        let Some(e) = bytes(value, pos, entry_len).filter(|_| entry_len >= LIST_ENTRY_HEADER) else {
            return Err(corrupt(format!(
                "length {entry_len:#x} with {:#x} bytes left in the list (must be ≥ 0x1a and inside it)",
                value.len().saturating_sub(pos)
            )));
        };
        let name_len = usize::from(u8_at(e, 6).unwrap_or(0));
        let name_off = usize::from(u8_at(e, 7).unwrap_or(0));
        let name = match name_len {
            0 => Vec::new(),
            n => utf16(
                bytes(e, name_off, n.saturating_mul(2))
                    .ok_or_else(|| corrupt("the name runs past the entry".into()))?,
            ),
        };
        let reference = u64_at(e, 0x10).unwrap_or(0);
        out.push(ListEntry {
            type_code: u32_at(e, 0).unwrap_or(0),
            name,
            start_vcn: u64_at(e, 8).unwrap_or(0),
            record: reference & 0x0000_FFFF_FFFF_FFFF,
            sequence: u16::try_from(reference >> 48).unwrap_or(0),
            id: u16_at(e, 0x18).unwrap_or(0),
        });
        pos = pos.saturating_add(entry_len);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn resident(type_code: u32, name: &str, value: &[u8], id: u16) -> Vec<u8> {
        let name: Vec<u16> = name.encode_utf16().collect();
        let value_off = (0x18 + name.len() * 2).next_multiple_of(8);
        let len = (value_off + value.len()).next_multiple_of(8);
        let mut a = vec![0u8; len];
        a[0..4].copy_from_slice(&type_code.to_le_bytes());
        a[4..8].copy_from_slice(&(len as u32).to_le_bytes());
        a[9] = name.len() as u8;
        a[0x0A..0x0C].copy_from_slice(&0x18u16.to_le_bytes());
        a[0x0E..0x10].copy_from_slice(&id.to_le_bytes());
        for (i, u) in name.iter().enumerate() {
            a[0x18 + 2 * i..0x1A + 2 * i].copy_from_slice(&u.to_le_bytes());
        }
        a[0x10..0x14].copy_from_slice(&(value.len() as u32).to_le_bytes());
        a[0x14..0x16].copy_from_slice(&(value_off as u16).to_le_bytes());
        a[value_off..value_off + value.len()].copy_from_slice(value);
        a
    }

    pub(crate) fn non_resident(type_code: u32, lowest: u64, highest: u64, runs: &[u8], sizes: [u64; 3]) -> Vec<u8> {
        let len = (0x40 + runs.len() + 1).next_multiple_of(8);
        let mut a = vec![0u8; len];
        a[0..4].copy_from_slice(&type_code.to_le_bytes());
        a[4..8].copy_from_slice(&(len as u32).to_le_bytes());
        a[8] = 1;
        a[0x0A..0x0C].copy_from_slice(&0x40u16.to_le_bytes());
        a[0x10..0x18].copy_from_slice(&lowest.to_le_bytes());
        a[0x18..0x20].copy_from_slice(&highest.to_le_bytes());
        a[0x20..0x22].copy_from_slice(&0x40u16.to_le_bytes());
        for (i, s) in sizes.iter().enumerate() {
            a[0x28 + 8 * i..0x30 + 8 * i].copy_from_slice(&s.to_le_bytes());
        }
        a[0x40..0x40 + runs.len()].copy_from_slice(runs);
        a
    }

    #[test]
    fn resident_and_non_resident() {
        let a = Attribute::parse(&resident(0x80, "", b"hello", 3), 0, 100).unwrap();
        assert!(a.is(TYPE_DATA, &[]));
        assert!(matches!(&a.form, Form::Resident(v) if v == b"hello"));
        let n = Attribute::parse(&resident(0x90, "$I30", b"x", 1), 0, 100).unwrap();
        assert!(n.is(TYPE_INDEX_ROOT, &"$I30".encode_utf16().collect::<Vec<_>>()));
        let nr = Attribute::parse(&non_resident(0x80, 0, 3, &[0x11, 4, 10, 0], [16384, 10000, 10000]), 0, 100).unwrap();
        match nr.form {
            Form::NonResident { extent, sizes } => {
                assert_eq!((extent.runs.len(), sizes.data), (1, 10000));
            }
            _ => panic!(),
        }
    }

    #[test]
    fn hostile_attributes() {
        // Value past the attribute.
        let mut a = resident(0x80, "", b"hello", 3);
        a[0x10..0x14].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        assert!(Attribute::parse(&a, 0, 100).is_err());
        // Name past the attribute.
        let mut a = resident(0x80, "", b"hello", 3);
        a[9] = 200;
        assert!(Attribute::parse(&a, 0, 100).is_err());
        // Runs that do not cover lowest..=highest.
        assert!(Attribute::parse(&non_resident(0x80, 0, 9, &[0x11, 4, 10, 0], [0; 3]), 0, 100).is_err());
        // Highest below lowest; mapping pairs offset inside the header; unknown form.
        assert!(Attribute::parse(&non_resident(0x80, 5, 4, &[0], [0; 3]), 0, 100).is_err());
        let mut a = non_resident(0x80, 0, 3, &[0x11, 4, 10, 0], [0; 3]);
        a[0x20] = 0x10;
        assert!(Attribute::parse(&a, 0, 100).is_err());
        a[8] = 2;
        assert!(Attribute::parse(&a, 0, 100).is_err());
        // A short non-resident header.
        let mut a = resident(0x80, "", b"", 0);
        a[8] = 1;
        assert!(Attribute::parse(&a, 0, 100).is_err());
    }

    #[test]
    fn attribute_list_entries() {
        let mut e = vec![0u8; 0x20];
        e[0..4].copy_from_slice(&0x80u32.to_le_bytes());
        e[4..6].copy_from_slice(&0x20u16.to_le_bytes());
        e[8..16].copy_from_slice(&7u64.to_le_bytes());
        e[0x10..0x18].copy_from_slice(&((3u64 << 48) | 42).to_le_bytes());
        let mut list = e.clone();
        list.extend_from_slice(&e);
        let entries = parse_list(&list, 0).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!((entries[0].record, entries[0].sequence, entries[0].start_vcn), (42, 3, 7));
        for len in [0u16, 8, 0x40] {
            let mut bad = e.clone();
            bad[4..6].copy_from_slice(&len.to_le_bytes());
            assert!(parse_list(&bad, 0).is_err(), "{len}");
        }
        let mut bad = e.clone();
        bad[6] = 10;
        bad[7] = 0x1A;
        assert!(parse_list(&bad, 0).is_err());
        assert!(parse_list(&e[..0x10], 0).is_err());
    }
}
