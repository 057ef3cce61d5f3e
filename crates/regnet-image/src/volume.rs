//! Volumes: the byte ranges file systems live in. A partition of a disk is one; so is an LVM
//! logical volume, whose extents may lie on several partitions of several disks.
//!
//! File systems that need to own what they read (ext4, XFS) open a `Box<dyn Volume>`; disks are
//! shared between the volumes on them as a [`SharedDisk`].

use crate::disk::VirtualDisk;
use crate::error::{ImageError, Result};
use std::sync::{Arc, Mutex};

/// A disk several volumes read from (the partitions of one disk, the PVs of one volume group).
pub type SharedDisk = Arc<Mutex<Box<dyn VirtualDisk>>>;

/// Wraps an opened disk so that volumes can share it.
pub fn share(disk: Box<dyn VirtualDisk>) -> SharedDisk {
    Arc::new(Mutex::new(disk))
}

/// A byte range a file system lives in, read at any offset.
pub trait Volume: Send {
    /// Its length in bytes.
    fn len(&self) -> u64;
    /// True for an empty volume.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Fills `buf` from `offset`; a range past the end is an error, never zeros.
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()>;
}

/// `len` bytes of a shared disk from `start`: a partition, a bare volume, a PV's data.
#[derive(Clone)]
pub struct Region {
    disk: SharedDisk,
    start: u64,
    len: u64,
}

impl std::fmt::Debug for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Region").field("start", &self.start).field("len", &self.len).finish()
    }
}

impl Region {
    /// The range `start..start + len` of `disk`, which must lie inside it.
    pub fn new(disk: SharedDisk, start: u64, len: u64) -> Result<Self> {
        let size = lock(&disk)?.size();
        if start.checked_add(len).is_none_or(|end| end > size) {
            return Err(ImageError::OutOfRange { what: "volume", offset: start, len, size });
        }
        Ok(Region { disk, start, len })
    }

    /// Where it starts on its disk.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// The disk it is on.
    pub fn disk(&self) -> &SharedDisk {
        &self.disk
    }
}

impl Volume for Region {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let n = buf.len() as u64;
        if offset.checked_add(n).is_none_or(|end| end > self.len) {
            return Err(ImageError::OutOfRange { what: "volume", offset, len: n, size: self.len });
        }
        lock(&self.disk)?.read_at(self.start.saturating_add(offset), buf)
    }
}

/// The disk behind the lock; a poisoned lock (a panic elsewhere) still reads: reads only fill
/// caches, they leave nothing half-changed that matters.
fn lock(disk: &SharedDisk) -> Result<std::sync::MutexGuard<'_, Box<dyn VirtualDisk>>> {
    Ok(disk.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::RawDisk;
    use crate::source::{Counters, FileSource};
    use crate::ImageLimits;

    fn disk(bytes: Vec<u8>) -> SharedDisk {
        let src = FileSource::new(
            "mem",
            Box::new(std::io::Cursor::new(bytes)),
            Arc::new(Counters::default()),
            &ImageLimits::default(),
        )
        .unwrap();
        share(Box::new(RawDisk::new(src)))
    }

    #[test]
    fn regions_read_their_range_only() {
        let d = disk((0u8..=255).collect());
        let mut r = Region::new(d.clone(), 16, 32).unwrap();
        assert_eq!((r.len(), r.start(), r.is_empty()), (32, 16, false));
        let mut b = [0u8; 4];
        r.read_exact_at(28, &mut b).unwrap();
        assert_eq!(b, [44, 45, 46, 47]);
        assert!(r.read_exact_at(29, &mut b).is_err());
        assert!(r.read_exact_at(u64::MAX, &mut b).is_err());
        assert!(Region::new(d.clone(), 250, 7).is_err());
        assert!(Region::new(d, u64::MAX, 2).is_err());
    }
}
