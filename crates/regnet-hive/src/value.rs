//! Key values (`vk`), their data (inline, one cell, or `db` big data) and decoders.

use crate::bytes::{sig2, slice, u16_at, u32_at, us};
use crate::error::{HiveError, Result};
use crate::hive::{file_offset, Hive, NIL};
use crate::name::Name;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

/// Fixed part of a value cell, before its name.
const VK_FIXED: usize = 20;
/// Value name is Latin-1.
const VALUE_COMP_NAME: u16 = 0x0001;
/// Tombstone value of a layered-key hive.
const VALUE_TOMBSTONE: u16 = 0x0002;
/// Data size bit meaning "the data is stored in the offset field".
const DATA_INLINE: u32 = 0x8000_0000;
/// Largest data segment of a big-data value; larger values use `db` (format 1.4+).
pub const BIG_DATA_SEGMENT: u32 = 16344;

/// The type of a registry value (`REG_*`).
///
/// Unknown numbers are kept as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ValueType {
    /// REG_NONE (0)
    None,
    /// REG_SZ (1)
    Sz,
    /// REG_EXPAND_SZ (2)
    ExpandSz,
    /// REG_BINARY (3)
    Binary,
    /// REG_DWORD (4), little-endian
    Dword,
    /// REG_DWORD_BIG_ENDIAN (5)
    DwordBigEndian,
    /// REG_LINK (6)
    Link,
    /// REG_MULTI_SZ (7)
    MultiSz,
    /// REG_RESOURCE_LIST (8)
    ResourceList,
    /// REG_FULL_RESOURCE_DESCRIPTOR (9)
    FullResourceDescriptor,
    /// REG_RESOURCE_REQUIREMENTS_LIST (10)
    ResourceRequirementsList,
    /// REG_QWORD (11), little-endian
    Qword,
    /// Any other number.
    Unknown(u32),
}

impl ValueType {
    /// The type from its raw number.
    pub fn from_raw(t: u32) -> ValueType {
        match t {
            0 => ValueType::None,
            1 => ValueType::Sz,
            2 => ValueType::ExpandSz,
            3 => ValueType::Binary,
            4 => ValueType::Dword,
            5 => ValueType::DwordBigEndian,
            6 => ValueType::Link,
            7 => ValueType::MultiSz,
            8 => ValueType::ResourceList,
            9 => ValueType::FullResourceDescriptor,
            10 => ValueType::ResourceRequirementsList,
            11 => ValueType::Qword,
            n => ValueType::Unknown(n),
        }
    }

    /// The raw number.
    pub fn raw(self) -> u32 {
        match self {
            ValueType::None => 0,
            ValueType::Sz => 1,
            ValueType::ExpandSz => 2,
            ValueType::Binary => 3,
            ValueType::Dword => 4,
            ValueType::DwordBigEndian => 5,
            ValueType::Link => 6,
            ValueType::MultiSz => 7,
            ValueType::ResourceList => 8,
            ValueType::FullResourceDescriptor => 9,
            ValueType::ResourceRequirementsList => 10,
            ValueType::Qword => 11,
            ValueType::Unknown(n) => n,
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ValueType::None => "REG_NONE",
            ValueType::Sz => "REG_SZ",
            ValueType::ExpandSz => "REG_EXPAND_SZ",
            ValueType::Binary => "REG_BINARY",
            ValueType::Dword => "REG_DWORD",
            ValueType::DwordBigEndian => "REG_DWORD_BIG_ENDIAN",
            ValueType::Link => "REG_LINK",
            ValueType::MultiSz => "REG_MULTI_SZ",
            ValueType::ResourceList => "REG_RESOURCE_LIST",
            ValueType::FullResourceDescriptor => "REG_FULL_RESOURCE_DESCRIPTOR",
            ValueType::ResourceRequirementsList => "REG_RESOURCE_REQUIREMENTS_LIST",
            ValueType::Qword => "REG_QWORD",
            ValueType::Unknown(n) => return write!(f, "REG_{n:#x}"),
        };
        f.write_str(s)
    }
}

/// A key value: a cheap view into the hive.
#[derive(Clone, Copy)]
pub struct Value<'h> {
    hive: &'h Hive<'h>,
    offset: u32,
    cell: &'h [u8],
}

impl fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Value")
            .field("offset", &self.offset)
            .field("name", &self.name())
            .field("type", &self.data_type())
            .finish()
    }
}

impl<'h> Value<'h> {
    fn at(hive: &'h Hive<'h>, off: u32, at: u64) -> Result<Value<'h>> {
        let cell = hive.cell(off, "value list element", at)?;
        let fo = file_offset(off);
        if cell.get(..2) != Some(b"vk") {
            return Err(HiveError::BadSignature {
                what: "key value",
                offset: fo + 4,
                expected: "vk",
                found: sig2(cell).to_vec(),
            });
        }
        let name_len = u16_at(cell, 2).map_or(0, usize::from);
        let needed = VK_FIXED + name_len;
        if needed > cell.len() {
            return Err(HiveError::CellTooSmall {
                what: "value name",
                offset: fo,
                needed: needed as u64,
                available: cell.len() as u64,
            });
        }
        Ok(Value { hive, offset: off, cell })
    }

    fn field(&self, o: usize) -> u32 {
        u32_at(self.cell, o).unwrap_or(0)
    }

    /// Offset of this value's cell, relative to the hive bins data.
    pub fn offset(&self) -> u32 {
        self.offset
    }

    /// The raw flags (VALUE_COMP_NAME = 1, tombstone = 2).
    pub fn flags(&self) -> u16 {
        u16_at(self.cell, 16).unwrap_or(0)
    }

    /// The value's name; empty for the default value.
    pub fn name(&self) -> Name<'h> {
        let len = u16_at(self.cell, 2).map_or(0, usize::from);
        let bytes = slice(self.cell, VK_FIXED, len).unwrap_or(&[]);
        if self.flags() & VALUE_COMP_NAME != 0 {
            Name::Latin1(bytes)
        } else {
            Name::Utf16(bytes)
        }
    }

    /// The value type.
    pub fn data_type(&self) -> ValueType {
        ValueType::from_raw(self.raw_type())
    }

    /// The raw type number.
    pub fn raw_type(&self) -> u32 {
        self.field(12)
    }

    /// True for a tombstone (a deleted value in a layered-key hive): treat as absent.
    pub fn is_tombstone(&self) -> bool {
        self.flags() & VALUE_TOMBSTONE != 0
    }

    /// The data length the value declares.
    pub fn data_len(&self) -> u32 {
        self.field(4) & !DATA_INLINE
    }

    /// The data bytes, exactly as many as the value declares.
    ///
    /// Borrowed from the hive unless the value is big data (`db`), whose
    /// segments are joined into an owned buffer bounded by
    /// [`Limits::max_value_size`](crate::Limits::max_value_size).
    pub fn data(&self) -> Result<Cow<'h, [u8]>> {
        let raw = self.field(4);
        let len = raw & !DATA_INLINE;
        let fo = file_offset(self.offset);
        let bad = |reason| HiveError::BadData { offset: fo, reason };
        if raw & DATA_INLINE != 0 {
            // Stored in the offset field itself.
            let bytes =
                slice(self.cell, 8, us(len)).filter(|_| len <= 4).ok_or(bad("inline data longer than 4 bytes"))?;
            return Ok(Cow::Borrowed(bytes));
        }
        if len == 0 {
            return Ok(Cow::Borrowed(&[]));
        }
        crate::Limits::check("max_value_size", u64::from(len), self.hive.limits().max_value_size)?;
        self.hive.charge_data(u64::from(len))?;
        let data_off = self.field(8);
        let at = fo + 4 + 8;
        let cell = self.hive.cell(data_off, "value data offset", at)?;
        let big = len > BIG_DATA_SEGMENT && self.hive.base_block().minor_version >= 4 && cell.get(..2) == Some(b"db");
        if !big {
            return slice(cell, 0, us(len)).map(Cow::Borrowed).ok_or(HiveError::CellTooSmall {
                what: "value data",
                offset: file_offset(data_off),
                needed: u64::from(len),
                available: cell.len() as u64,
            });
        }
        self.big_data(cell, data_off, len).map(Cow::Owned)
    }

    /// Joins the segments of a `db` record.
    fn big_data(&self, db: &'h [u8], db_off: u32, len: u32) -> Result<Vec<u8>> {
        let fo = file_offset(db_off);
        let nseg = u16_at(db, 2).ok_or(HiveError::CellTooSmall {
            what: "big data record",
            offset: fo,
            needed: 8,
            available: db.len() as u64,
        })?;
        let list_off = u32_at(db, 4).ok_or(HiveError::CellTooSmall {
            what: "big data record",
            offset: fo,
            needed: 8,
            available: db.len() as u64,
        })?;
        let needed = len.div_ceil(BIG_DATA_SEGMENT);
        if u32::from(nseg) < needed {
            return Err(HiveError::BadField {
                what: "big data segment count",
                offset: fo + 4 + 2,
                value: u64::from(nseg),
                expected: "at least data size / 16344 segments",
            });
        }
        let list = self.hive.cell(list_off, "big data segment list offset", fo + 4 + 4)?;
        // The whole declared list must fit its cell, though only the segments the size needs are read.
        if list.len() < usize::from(nseg) * 4 {
            return Err(HiveError::CellTooSmall {
                what: "big data segment list",
                offset: file_offset(list_off),
                needed: u64::from(nseg) * 4,
                available: list.len() as u64,
            });
        }
        self.hive.charge_cells(1 + u64::from(needed))?;
        let mut out = Vec::new();
        out.try_reserve_exact(us(len)).map_err(|_| HiveError::LimitExceeded {
            limit: "max_value_size",
            value: u64::from(len),
            max: self.hive.limits().max_value_size,
        })?;
        let mut left = len;
        for i in 0..us(needed) {
            let seg_off = u32_at(list, i * 4).unwrap_or(NIL);
            let seg = self.hive.cell(seg_off, "big data segment", file_offset(list_off) + 4 + (i * 4) as u64)?;
            let take = left.min(BIG_DATA_SEGMENT);
            let part = slice(seg, 0, us(take)).ok_or(HiveError::CellTooSmall {
                what: "big data segment",
                offset: file_offset(seg_off),
                needed: u64::from(take),
                available: seg.len() as u64,
            })?;
            out.extend_from_slice(part);
            left -= take;
        }
        Ok(out)
    }

    /// Decodes REG_SZ, REG_EXPAND_SZ or REG_LINK data (UTF-16LE), stopping at
    /// the first NUL; an odd trailing byte is dropped.
    pub fn string(&self) -> Result<String> {
        match self.data_type() {
            ValueType::Sz | ValueType::ExpandSz | ValueType::Link => Ok(decode_utf16z(&self.data()?)),
            _ => Err(self.type_error("a string type (REG_SZ, REG_EXPAND_SZ, REG_LINK)")),
        }
    }

    /// Decodes REG_MULTI_SZ data into its strings; an empty string ends the list.
    pub fn multi_string(&self) -> Result<Vec<String>> {
        match self.data_type() {
            ValueType::MultiSz => Ok(decode_multi_sz(&self.data()?)),
            _ => Err(self.type_error("REG_MULTI_SZ")),
        }
    }

    /// Decodes REG_DWORD (little-endian) or REG_DWORD_BIG_ENDIAN data of exactly 4 bytes.
    pub fn u32(&self) -> Result<u32> {
        let d = self.data()?;
        let b: [u8; 4] = d.as_ref().try_into().map_err(|_| HiveError::BadData {
            offset: file_offset(self.offset),
            reason: "a DWORD needs exactly 4 bytes",
        })?;
        match self.data_type() {
            ValueType::Dword => Ok(u32::from_le_bytes(b)),
            ValueType::DwordBigEndian => Ok(u32::from_be_bytes(b)),
            _ => Err(self.type_error("REG_DWORD or REG_DWORD_BIG_ENDIAN")),
        }
    }

    /// Decodes REG_QWORD data of exactly 8 bytes.
    pub fn u64(&self) -> Result<u64> {
        if self.data_type() != ValueType::Qword {
            return Err(self.type_error("REG_QWORD"));
        }
        let d = self.data()?;
        let b: [u8; 8] = d.as_ref().try_into().map_err(|_| HiveError::BadData {
            offset: file_offset(self.offset),
            reason: "a QWORD needs exactly 8 bytes",
        })?;
        Ok(u64::from_le_bytes(b))
    }

    fn type_error(&self, expected: &'static str) -> HiveError {
        HiveError::BadField {
            what: "value type",
            offset: file_offset(self.offset) + 4 + 12,
            value: u64::from(self.raw_type()),
            expected,
        }
    }
}

/// UTF-16LE up to the first NUL, lossy.
pub fn decode_utf16z(data: &[u8]) -> String {
    let units = data
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c.first().copied().unwrap_or(0), c.get(1).copied().unwrap_or(0)]))
        .take_while(|&u| u != 0);
    char::decode_utf16(units).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)).collect()
}

/// REG_MULTI_SZ: NUL-separated UTF-16LE strings, ended by an empty string or the data's end.
pub fn decode_multi_sz(data: &[u8]) -> Vec<String> {
    let units: Vec<u16> = data
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c.first().copied().unwrap_or(0), c.get(1).copied().unwrap_or(0)]))
        .collect();
    let mut out = Vec::new();
    for s in units.split(|&u| u == 0) {
        if s.is_empty() {
            break;
        }
        out.push(char::decode_utf16(s.iter().copied()).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)).collect());
    }
    out
}

/// Iterator over a key's values; see [`crate::Key::values`].
pub struct Values<'h> {
    hive: &'h Hive<'h>,
    list: &'h [u8],
    list_at: u64,
    next: u32,
    count: u32,
    /// An error to give first (boxed: the iterator is made for every key a walk passes).
    pending: Option<Box<HiveError>>,
}

impl<'h> Values<'h> {
    pub(crate) fn new(hive: &'h Hive<'h>, count: u32, list_off: u32, at: u64) -> Values<'h> {
        let mut it = Values { hive, list: &[], list_at: 0, next: 0, count: 0, pending: None };
        if count == 0 {
            return it;
        }
        let opened = hive.cell(list_off, "value list offset", at).and_then(|list| {
            let needed = u64::from(count) * 4;
            if needed > list.len() as u64 {
                return Err(HiveError::CellTooSmall {
                    what: "value list elements",
                    offset: file_offset(list_off),
                    needed,
                    available: list.len() as u64,
                });
            }
            // Charged only once the count is known to fit its cell.
            hive.charge_cells(1 + u64::from(count))?;
            Ok(list)
        });
        match opened {
            Ok(list) => {
                it.list = list;
                it.list_at = file_offset(list_off) + 4;
                it.count = count;
            }
            Err(e) => it.pending = Some(Box::new(e)),
        }
        it
    }
}

impl<'h> Iterator for Values<'h> {
    type Item = Result<Value<'h>>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.pending.take() {
            return Some(Err(*e));
        }
        if self.next >= self.count {
            return None;
        }
        let i = us(self.next);
        self.next += 1;
        let off = u32_at(self.list, i * 4).unwrap_or(NIL);
        Some(Value::at(self.hive, off, self.list_at + (i * 4) as u64))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = us(self.count.saturating_sub(self.next)) + usize::from(self.pending.is_some());
        (n, Some(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings() {
        let d: Vec<u8> = "ab\0c".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        assert_eq!(decode_utf16z(&d), "ab");
        assert_eq!(decode_utf16z(&[0x41, 0, 0x42]), "A");
        let m: Vec<u8> = "one\0two\0\0junk".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        assert_eq!(decode_multi_sz(&m), vec!["one", "two"]);
        assert_eq!(decode_multi_sz(&[]), Vec::<String>::new());
    }

    #[test]
    fn types_round_trip() {
        for t in 0..20 {
            assert_eq!(ValueType::from_raw(t).raw(), t);
        }
        assert_eq!(ValueType::Unknown(0x12345).to_string(), "REG_0x12345");
    }
}
