//! `table` and `table2` sections: the offsets of a run of chunks in their segment file.

use super::sections::{check_adler, le32, le64};
use crate::error::{ImageError, Result};

/// Size of the table header.
pub(crate) const TABLE_HEADER: usize = 24;

/// One chunk's place: its offset in its segment file and whether it is zlib-compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) offset: u64,
    pub(crate) compressed: bool,
}

/// Parses a table section's data (header, entries, and the entries' checksum when present).
/// Entries are 31-bit offsets (the top bit flags compression) from the table's base offset. A
/// sectors section past 2 GiB makes some writers (EnCase 6.7.1) let the offsets run into the
/// 32nd bit: once an entry's 31-bit offset falls below the previous one while its full 32 bits
/// do not, the rest of the table is read as full 32-bit offsets of stored chunks.
/// `max_entries` bounds what one table may hold (the caller's memory limit).
pub(crate) fn parse(data: &[u8], offset: u64, max_entries: u64) -> Result<Vec<Entry>> {
    let header = data.get(..TABLE_HEADER).ok_or(ImageError::Truncated {
        what: "EWF table header",
        offset,
        needed: TABLE_HEADER as u64,
        available: data.len() as u64,
    })?;
    check_adler(header, 20, "EWF table header", offset)?;
    let count = u64::from(le32(header, 0));
    let base = le64(header, 8);
    crate::ImageLimits::check("max_table_bytes", count.saturating_mul(8), max_entries.saturating_mul(8))?;
    let bytes = count * 4;
    let avail = data.len() as u64 - TABLE_HEADER as u64;
    if bytes > avail {
        return Err(ImageError::Truncated {
            what: "EWF table entries",
            offset: offset + TABLE_HEADER as u64,
            needed: bytes,
            available: avail,
        });
    }
    let raw = data.get(TABLE_HEADER..TABLE_HEADER + bytes as usize).unwrap_or_default();
    // The entries' Adler-32 follows them when the section has room for it (EnCase 1 to 7).
    if avail >= bytes + 4 {
        let with_sum = data.get(TABLE_HEADER..TABLE_HEADER + bytes as usize + 4).unwrap_or_default();
        check_adler(with_sum, bytes as usize, "EWF table entries", offset + TABLE_HEADER as u64)?;
    }
    let mut out = Vec::new();
    out.try_reserve_exact(count as usize).map_err(|_| ImageError::LimitExceeded {
        limit: "max_table_bytes",
        value: count.saturating_mul(8),
        max: max_entries.saturating_mul(8),
    })?;
    let mut overflow = false;
    let mut prev: Option<u64> = None;
    for e in raw.chunks_exact(4) {
        let v = u32::from_le_bytes([e[0], e[1], e[2], e[3]]);
        let low = u64::from(v & 0x7fff_ffff);
        let full = u64::from(v);
        let at = |o: u64| {
            base.checked_add(o).ok_or_else(|| ImageError::Corrupt {
                what: "EWF table entry",
                offset,
                reason: format!("base {base:#x} + offset {o:#x} overflows"),
            })
        };
        if !overflow
            && v & 0x8000_0000 != 0
            && prev.is_some_and(|p| at(low).is_ok_and(|l| l < p) && at(full).is_ok_and(|f| f >= p))
        {
            overflow = true;
        }
        let entry = if overflow {
            Entry { offset: at(full)?, compressed: false }
        } else {
            Entry { offset: at(low)?, compressed: v & 0x8000_0000 != 0 }
        };
        prev = Some(entry.offset);
        out.push(entry);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::sections::adler32;
    use super::*;

    fn table(base: u64, entries: &[u32], with_sum: bool) -> Vec<u8> {
        let mut h = vec![0u8; 24];
        h[..4].copy_from_slice(&(entries.len() as u32).to_le_bytes());
        h[8..16].copy_from_slice(&base.to_le_bytes());
        let s = adler32(&h[..20]);
        h[20..24].copy_from_slice(&s.to_le_bytes());
        let mut body = Vec::new();
        for e in entries {
            body.extend_from_slice(&e.to_le_bytes());
        }
        let s = adler32(&body);
        h.extend_from_slice(&body);
        if with_sum {
            h.extend_from_slice(&s.to_le_bytes());
        }
        h
    }

    #[test]
    fn entries_base_and_flags() {
        let t = table(1000, &[0x8000_004c, 0x0000_0100], true);
        let e = parse(&t, 0, 1 << 20).unwrap();
        assert_eq!(e, vec![Entry { offset: 1076, compressed: true }, Entry { offset: 1256, compressed: false }]);
        assert!(parse(&t, 0, 1).is_err(), "limit");
        let mut bad = t.clone();
        bad[24] ^= 1;
        assert!(matches!(parse(&bad, 0, 1 << 20), Err(ImageError::BadChecksum { .. })));
        // Without the trailing checksum the entries are still read.
        assert_eq!(parse(&table(0, &[0x10], false), 0, 16).unwrap().len(), 1);
        // Declared count larger than the section.
        let mut big = table(0, &[0x10], true);
        big[..4].copy_from_slice(&0xffff_ffffu32.to_le_bytes());
        let s = adler32(&big[..20]);
        big[20..24].copy_from_slice(&s.to_le_bytes());
        assert!(parse(&big, 0, u64::MAX / 16).is_err());
        assert!(parse(&[0u8; 10], 0, 16).is_err());
    }

    #[test]
    fn offsets_past_two_gib_overflow_into_bit_31() {
        // Stored chunks at 0x7fff_0000 then 0x8000_8000 (bit 31 set by overflow, not compression).
        let e = parse(&table(0, &[0x7fff_0000, 0x8000_8000, 0x8001_0000], true), 0, 16).unwrap();
        assert_eq!(e[1], Entry { offset: 0x8000_8000, compressed: false });
        assert_eq!(e[2], Entry { offset: 0x8001_0000, compressed: false });
        // Ordinary compressed entries going forward stay compressed.
        let e = parse(&table(0, &[0x8000_0010, 0x8000_0020], true), 0, 16).unwrap();
        assert!(e.iter().all(|x| x.compressed));
    }
}
