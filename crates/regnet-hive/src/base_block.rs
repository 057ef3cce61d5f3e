//! The 4096-byte base block at the start of a hive (spec: "Base block").

use crate::bytes::{sig4, slice, u32_at, u64_at};
use crate::error::{HiveError, Result};
use crate::time::FileTime;
use serde::Serialize;

/// Size of the base block of a primary file.
pub const BASE_BLOCK_SIZE: usize = 4096;
/// Bytes covered by the XOR-32 checksum.
const CHECKSUM_SPAN: usize = 508;

/// The fields of a base block that matter to a reader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BaseBlock {
    /// Primary sequence number (incremented when a write starts).
    pub primary_sequence: u32,
    /// Secondary sequence number (incremented when a write ends).
    pub secondary_sequence: u32,
    /// Last written timestamp.
    pub last_written: FileTime,
    /// Format major version (1).
    pub major_version: u32,
    /// Format minor version (3 to 6).
    pub minor_version: u32,
    /// File type: 0 primary, 1 or 2 old-format log, 6 new-format log.
    pub file_type: u32,
    /// File format: 1 (direct memory load).
    pub file_format: u32,
    /// Root cell offset, relative to the start of the hive bins.
    pub root_cell_offset: u32,
    /// Declared size of the hive bins data.
    pub hive_bins_data_size: u32,
    /// Logical sector size divided by 512.
    pub clustering_factor: u32,
    /// The file name field (a debugging aid), decoded.
    pub file_name: String,
    /// Flags (bit 0: KTM locked the hive).
    pub flags: u32,
    /// Stored checksum.
    pub checksum: u32,
    /// Whether the stored checksum matches the computed one.
    pub checksum_valid: bool,
}

impl BaseBlock {
    /// Parses the first 512 bytes of a primary file or a log (the part logs copy).
    ///
    /// Checks the signature only; the caller decides what a bad checksum or
    /// an odd version means in its context.
    pub fn parse(data: &[u8]) -> Result<BaseBlock> {
        let head = slice(data, 0, 512).ok_or(HiveError::Truncated {
            what: "base block",
            offset: 0,
            needed: 512,
            available: data.len() as u64,
        })?;
        if head.get(..4) != Some(b"regf") {
            return Err(HiveError::BadSignature {
                what: "base block",
                offset: 0,
                expected: "regf",
                found: sig4(head).to_vec(),
            });
        }
        let f = |o| u32_at(head, o).unwrap_or(0);
        let name_bytes = slice(head, 48, 64).unwrap_or(&[]);
        let units = name_bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c.first().copied().unwrap_or(0), c.get(1).copied().unwrap_or(0)]))
            .take_while(|&u| u != 0);
        let file_name = char::decode_utf16(units).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)).collect();
        let checksum = f(508);
        Ok(BaseBlock {
            primary_sequence: f(4),
            secondary_sequence: f(8),
            last_written: FileTime(u64_at(head, 12).unwrap_or(0)),
            major_version: f(20),
            minor_version: f(24),
            file_type: f(28),
            file_format: f(32),
            root_cell_offset: f(36),
            hive_bins_data_size: f(40),
            clustering_factor: f(44),
            file_name,
            flags: f(144),
            checksum,
            checksum_valid: checksum == xor32(head),
        })
    }

    /// True when the sequence numbers differ: a write was under way.
    pub fn sequences_differ(&self) -> bool {
        self.primary_sequence != self.secondary_sequence
    }

    /// True when the hive needs its transaction logs: the checksum is wrong or a write was under
    /// way. A clean hive is read as it is and its logs are never looked at.
    ///
    /// ```
    /// # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/");
    /// let primary = std::fs::read(format!("{dir}SYSTEM")).unwrap();
    /// assert!(regnet_hive::BaseBlock::parse(&primary)?.is_dirty()); // a crash-consistent copy
    /// # Ok::<(), regnet_hive::HiveError>(())
    /// ```
    pub fn is_dirty(&self) -> bool {
        !self.checksum_valid || self.sequences_differ()
    }
}

/// The XOR-32 checksum of the first 508 bytes (spec, base block note 2).
pub fn xor32(head: &[u8]) -> u32 {
    let span = head.get(..CHECKSUM_SPAN).unwrap_or(head);
    let mut c = span.chunks_exact(4).fold(0u32, |acc, w| acc ^ u32::from_le_bytes(w.try_into().unwrap_or([0; 4])));
    if c == u32::MAX {
        c = u32::MAX - 1;
    }
    if c == 0 {
        c = 1;
    }
    c
}

/// Recomputes and stores the checksum of a base block in place.
pub(crate) fn store_checksum(block: &mut [u8]) {
    let c = xor32(block);
    crate::bytes::put_u32(block, CHECKSUM_SPAN, c);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_edge_values() {
        let mut b = vec![0u8; 512];
        assert_eq!(xor32(&b), 1);
        b[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(xor32(&b), u32::MAX - 1);
        b[4..8].copy_from_slice(&0x0F0F_0F0Fu32.to_le_bytes());
        assert_eq!(xor32(&b), !0x0F0F_0F0F);
    }

    #[test]
    fn rejects_short_and_foreign() {
        assert!(matches!(BaseBlock::parse(&[0; 100]), Err(HiveError::Truncated { .. })));
        assert!(matches!(BaseBlock::parse(&[0; 4096]), Err(HiveError::BadSignature { .. })));
    }
}
