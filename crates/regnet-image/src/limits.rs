//! Caller-settable limits of the image layer.

use serde::{Deserialize, Serialize};

/// Bounds on what one image may cost. Every limit is checked before the allocation or loop it
/// guards; hitting one is [`ImageError::LimitExceeded`](crate::ImageError::LimitExceeded) naming the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ImageLimits {
    /// Largest metadata table held in memory (qcow2 L1 / refcount, VHD and VHDX BAT, VMDK grain
    /// directory, GPT entry array), bytes.
    pub max_table_bytes: u64,
    /// Largest text or header region read whole (VMDK descriptor, VHDX metadata region), bytes.
    pub max_header_bytes: u64,
    /// Largest single compressed unit inflated (qcow2 cluster, VMDK grain), bytes.
    pub max_unit_bytes: u64,
    /// Most bytes the whole image may inflate from compressed units (before the cache), bytes.
    pub max_inflated_bytes: u64,
    /// Most partitions read from a table (GPT entries, MBR logical partitions).
    pub max_partitions: u32,
    /// Deepest chain of backing files or parent disks followed.
    pub max_chain_depth: u32,
    /// Most MFT records the NTFS reader visits for one lookup or read.
    pub max_ntfs_records: u32,
    /// Most bytes one ext2/3/4 reader reads from its volume, in all, bytes.
    pub max_ext4_read_bytes: u64,
    /// Largest ext2/3/4 directory scanned, bytes (one with 100,000 entries takes a few MiB).
    pub max_ext4_dir_bytes: u64,
    /// Largest file read out of NTFS (the hive and its logs), bytes.
    pub max_file_bytes: u64,
    /// Most bytes read from the image file(s) in all, bytes.
    pub max_bytes_read: u64,
    /// Largest LVM2 metadata text read from one metadata area (the text is read whole, checksummed
    /// and parsed; LVM itself keeps it under half its metadata area, about 0.5 MiB by default),
    /// bytes.
    pub max_lvm_metadata_bytes: u64,
    /// Most LVM2 logical-volume segments held for one volume group (all its LVs together).
    pub max_lvm_segments: u32,
    /// Most files one image may be made of: EWF segment files (`.E01`, `.E02`, …) or pieces of a
    /// split raw image. Each stays open while the image is read (one file handle each).
    pub max_segments: u32,
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits {
            max_table_bytes: 32 << 20,
            max_header_bytes: 1 << 20,
            max_unit_bytes: 2 << 20,
            max_inflated_bytes: 4 << 30,
            max_partitions: 1024,
            max_chain_depth: 16,
            max_ntfs_records: 1_000_000,
            max_ext4_read_bytes: 4 << 30,
            max_ext4_dir_bytes: 16 << 20,
            max_file_bytes: 512 << 20,
            max_bytes_read: 8 << 30,
            max_lvm_metadata_bytes: 1 << 20,
            max_lvm_segments: 65_536,
            max_segments: 4096,
        }
    }
}

impl ImageLimits {
    /// `Err(LimitExceeded)` when `value > max`.
    pub fn check(limit: &'static str, value: u64, max: u64) -> crate::Result<()> {
        if value > max {
            Err(crate::ImageError::LimitExceeded { limit, value, max })
        } else {
            Ok(())
        }
    }
}
