//! A read-only NTFS reader for one job: find a file by path, case-insensitively as Windows does,
//! and read its data. (Being written.)

use crate::disk::VirtualDisk;
use crate::error::{ImageError, Result};
use crate::limits::ImageLimits;

/// An MFT record number with its sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    /// MFT record number.
    pub record: u64,
    /// Sequence number from the directory entry (0 = unchecked).
    pub sequence: u16,
}

/// An NTFS volume inside a disk region.
pub struct NtfsVolume<'d> {
    _disk: &'d mut dyn VirtualDisk,
}

impl<'d> NtfsVolume<'d> {
    /// Opens the volume at `disk[start .. start + len]`.
    pub fn open(disk: &'d mut dyn VirtualDisk, start: u64, len: u64, limits: &ImageLimits) -> Result<Self> {
        let _ = (start, len, limits);
        let _ = disk;
        Err(ImageError::Unsupported("NTFS is not read yet".into()))
    }

    /// Finds a file by path (`\` or `/` separated, from the root), case-insensitively.
    pub fn find(&mut self, path: &str) -> Result<FileId> {
        Err(ImageError::NotFound { path: path.to_owned(), detail: None })
    }

    /// Reads the file's unnamed data stream, bounded by `max_file_bytes`.
    pub fn read_file(&mut self, id: FileId) -> Result<Vec<u8>> {
        let _ = id;
        Err(ImageError::Unsupported("NTFS is not read yet".into()))
    }
}
