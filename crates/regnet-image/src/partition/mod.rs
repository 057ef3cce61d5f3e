//! Partition tables: GPT (512- and 4096-byte sectors, backup header), MBR (primary, extended and
//! logical partitions, protective and hybrid), or a bare volume with no table.

use crate::disk::VirtualDisk;
use crate::error::Result;
use crate::limits::ImageLimits;
use serde::{Deserialize, Serialize};

pub mod gpt;
pub mod mbr;

/// Which kind of table the disk has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TableKind {
    /// GUID partition table.
    Gpt {
        /// Logical sector size found (512 or 4096).
        sector_size: u32,
        /// True when the primary header was damaged and the backup header was used.
        used_backup_header: bool,
    },
    /// MBR (DOS) partition table.
    Mbr,
    /// No table: the disk is one bare volume.
    None,
}

/// What the first sector of a partition says it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Filesystem {
    /// NTFS (`NTFS    ` at byte 3).
    Ntfs,
    /// BitLocker-encrypted volume (`-FVE-FS-` at byte 3).
    BitLocker,
    /// FAT12/16/32 (an EFI system partition, usually).
    Fat,
    /// Anything else, or unreadable.
    Unknown,
}

/// One partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Partition {
    /// GPT entry number (1-based); MBR: 1-4 primary, 5 and up logical, in chain order; 0 for a bare volume.
    pub number: u32,
    /// Start, bytes from the start of the disk.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
    /// GPT partition type GUID (upper-case, no braces) or MBR type byte as `0x07`.
    pub type_id: String,
    /// GPT partition name, when any.
    pub name: Option<String>,
    /// What its first sector says.
    pub filesystem: Filesystem,
}

/// A disk's partitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PartitionTable {
    /// The table kind.
    pub kind: TableKind,
    /// Partitions in table order.
    pub partitions: Vec<Partition>,
    /// Odd things that did not stop the reading (e.g. a damaged primary GPT header).
    pub warnings: Vec<String>,
}

/// Reads the partition table of a disk (or recognises a bare volume).
pub fn read_partitions(disk: &mut dyn VirtualDisk, limits: &ImageLimits) -> Result<PartitionTable> {
    let _ = (disk, limits);
    Err(crate::ImageError::Unsupported("partition tables are not read yet".into()))
}
