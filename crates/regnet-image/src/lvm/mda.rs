//! The LVM2 metadata area: its 512-byte header and the circular buffer of metadata text after it.
//!
//! Layout (LVM2 `lib/format_text/layout.h`, `format-text.c`; little-endian):
//!
//! | at | metadata area header (the first 512 bytes of the area) |
//! |---|---|
//! | 0 | u32: CRC of bytes 4..512 |
//! | 4 | magic `" LVM2 x[5A%r0N*>"` (16 bytes) |
//! | 20 | u32: version, 1 |
//! | 24 | u64: start of the area, bytes from the start of the PV (the header's own position) |
//! | 32 | u64: size of the area, bytes |
//! | 40 | `raw_locn` entries of 24 bytes, ending with one whose offset is 0: u64 offset of the text from the start of the area, u64 size, u32 CRC of the text, u32 flags (1: ignored) |
//!
//! The first `raw_locn` is the committed metadata (the second, when present, is a precommitted
//! copy LVM uses only in the middle of a change; it is not read here). The text lies in the
//! area after the header, which LVM uses as a circular buffer: when `offset + size` passes the
//! end of the area, the text runs to the end and continues at `start + 512`. Its CRC covers the
//! text in that order. LVM ends the text with a NUL byte, counted in `size`.
//!
//! What is checked, before any allocation: the area lies in the PV; the header's CRC, magic,
//! version, and that its start and size are those the PV header gives; the text lies after the
//! header, is no longer than the area's buffer (so it cannot overlap itself when it wraps) and
//! than [`ImageLimits::max_lvm_metadata_bytes`]; then, once read, its CRC.

use super::label::{crc, u32_le, u64_le, DiskArea, INITIAL_CRC, SECTOR, SECTOR_LEN};
use crate::error::{ImageError, Result};
use crate::limits::ImageLimits;
use crate::volume::{Region, Volume};

/// The magic of a metadata area header.
pub(crate) const MDA_MAGIC: &[u8; 16] = b" LVM2 x[5A%r0N*>";
/// Bytes of the metadata area header.
pub(crate) const MDA_HEADER_SIZE: u64 = SECTOR;
/// The `raw_locn` flag of a metadata area LVM was told not to use.
pub(crate) const RAW_LOCN_IGNORED: u32 = 1;
/// Where the `raw_locn` entries start in the header.
const LOCNS_AT: usize = 40;

/// One `raw_locn`: where a copy of the text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawLocn {
    /// Start of the text, bytes from the start of the area.
    pub(crate) offset: u64,
    /// Bytes of text.
    pub(crate) size: u64,
    /// CRC of the text.
    pub(crate) checksum: u32,
    /// Flags ([`RAW_LOCN_IGNORED`]).
    pub(crate) flags: u32,
}

/// A checked metadata area header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MdaHeader {
    /// Start of the area, bytes from the start of the PV.
    pub(crate) start: u64,
    /// Size of the area, bytes (header included).
    pub(crate) size: u64,
    /// The committed text's location, when the area holds one.
    pub(crate) committed: Option<RawLocn>,
}

/// The metadata text read from one area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MdaText {
    /// The text, both pieces joined (its trailing NUL included when LVM wrote one).
    pub(crate) text: Vec<u8>,
    /// Its CRC (the `raw_locn`'s, checked).
    pub(crate) checksum: u32,
    /// True when it wrapped past the end of the area.
    pub(crate) wrapped: bool,
}

/// Checks the header of the metadata area `area`.
pub(crate) fn parse_header(buf: &[u8; SECTOR_LEN], area: DiskArea) -> Result<MdaHeader> {
    let at = |off: u64| area.offset.saturating_add(off);
    let stored = u32_le(buf, 0).unwrap_or(0);
    let computed = crc(INITIAL_CRC, buf.get(4..).unwrap_or_default());
    if stored != computed {
        return Err(ImageError::BadChecksum {
            what: "LVM metadata area header (CRC of bytes 4..512)",
            offset: area.offset,
            expected: computed.into(),
            found: stored.into(),
        });
    }
    let magic = buf.get(4..20).unwrap_or_default();
    if magic != MDA_MAGIC {
        return Err(ImageError::BadSignature {
            what: "LVM metadata area header",
            offset: at(4),
            expected: " LVM2 x[5A%r0N*>",
            found: magic.to_vec(),
        });
    }
    let version = u32_le(buf, 20).unwrap_or(0);
    if version != 1 {
        return Err(ImageError::BadField {
            what: "LVM metadata area version",
            offset: at(20),
            value: version.into(),
            expected: "1",
        });
    }
    let start = u64_le(buf, 24).unwrap_or(0);
    if start != area.offset {
        return Err(ImageError::BadField {
            what: "LVM metadata area start",
            offset: at(24),
            value: start,
            expected: "the area's offset in the PV header",
        });
    }
    let size = u64_le(buf, 32).unwrap_or(0);
    if size != area.size {
        return Err(ImageError::BadField {
            what: "LVM metadata area size",
            offset: at(32),
            value: size,
            expected: "the area's size in the PV header",
        });
    }
    let offset = u64_le(buf, LOCNS_AT).unwrap_or(0);
    let committed = (offset != 0).then(|| RawLocn {
        offset,
        size: u64_le(buf, LOCNS_AT + 8).unwrap_or(0),
        checksum: u32_le(buf, LOCNS_AT + 16).unwrap_or(0),
        flags: u32_le(buf, LOCNS_AT + 20).unwrap_or(0),
    });
    // The later entries (a precommitted copy, 24 bytes each) are not used: no list to walk.
    Ok(MdaHeader { start, size, committed })
}

/// Reads the committed metadata text of the area `area` of the PV `region`: `Ok(None)` when the
/// area holds none (a PV in no VG) or is marked ignored.
pub(crate) fn read_text(region: &Region, area: DiskArea, limits: &ImageLimits) -> Result<Option<MdaText>> {
    let mut region = region.clone();
    if area.size < MDA_HEADER_SIZE || area.offset.checked_add(area.size).is_none_or(|end| end > region.len()) {
        return Err(ImageError::OutOfRange {
            what: "LVM physical volume (metadata area)",
            offset: area.offset,
            len: area.size,
            size: region.len(),
        });
    }
    let mut buf = [0u8; SECTOR_LEN];
    region.read_exact_at(area.offset, &mut buf)?;
    let header = parse_header(&buf, area)?;
    let Some(locn) = header.committed else { return Ok(None) };
    if locn.flags & RAW_LOCN_IGNORED != 0 {
        return Ok(None);
    }
    let locn_at = area.offset.saturating_add(LOCNS_AT as u64);
    let buffer = header.size.saturating_sub(MDA_HEADER_SIZE);
    if locn.offset < MDA_HEADER_SIZE || locn.offset >= header.size {
        return Err(ImageError::BadField {
            what: "LVM metadata text offset (raw_locn)",
            offset: locn_at,
            value: locn.offset,
            expected: "inside the metadata area, after its 512-byte header",
        });
    }
    if locn.size == 0 || locn.size > buffer {
        return Err(ImageError::BadField {
            what: "LVM metadata text size (raw_locn)",
            offset: locn_at.saturating_add(8),
            value: locn.size,
            expected: "1 to the size of the metadata area less its 512-byte header",
        });
    }
    let too_big = || ImageError::LimitExceeded {
        limit: "max_lvm_metadata_bytes",
        value: locn.size,
        max: limits.max_lvm_metadata_bytes,
    };
    ImageLimits::check("max_lvm_metadata_bytes", locn.size, limits.max_lvm_metadata_bytes)?;
    let len = usize::try_from(locn.size).map_err(|_| too_big())?;
    // offset < size and size <= buffer, so neither sum overflows a u64 that held the area.
    let end = locn.offset.saturating_add(locn.size);
    let wrap = end.saturating_sub(header.size);
    let first = locn.size.saturating_sub(wrap);
    let mut text = Vec::new();
    text.try_reserve_exact(len).map_err(|_| too_big())?;
    text.resize(len, 0);
    let split = usize::try_from(first).unwrap_or(len).min(len);
    let (head, tail) = text.split_at_mut(split);
    region.read_exact_at(area.offset.saturating_add(locn.offset), head)?;
    if !tail.is_empty() {
        region.read_exact_at(area.offset.saturating_add(MDA_HEADER_SIZE), tail)?;
    }
    let computed = crc(INITIAL_CRC, &text);
    if computed != locn.checksum {
        return Err(ImageError::BadChecksum {
            what: "LVM metadata text",
            offset: area.offset.saturating_add(locn.offset),
            expected: computed.into(),
            found: locn.checksum.into(),
        });
    }
    Ok(Some(MdaText { text, checksum: computed, wrapped: wrap > 0 }))
}
