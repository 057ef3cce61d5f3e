//! qcow2 images. (Being written: until then, opening one is a clear "unsupported" error.)

use crate::disk::{ContainerFormat, VirtualDisk};
use crate::error::{ImageError, Result};
use crate::limits::ImageLimits;
use crate::source::{FileSource, Resolver};

/// A qcow2 image as a virtual disk.
pub struct Qcow2Disk {
    size: u64,
}

impl Qcow2Disk {
    /// Opens a qcow2 image.
    pub fn open(_src: FileSource, _resolver: &dyn Resolver, _limits: &ImageLimits) -> Result<Self> {
        Err(ImageError::Unsupported("qcow2 images are not read yet".into()))
    }
}

impl VirtualDisk for Qcow2Disk {
    fn size(&self) -> u64 {
        self.size
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        crate::disk::check_range("qcow2 disk", offset, buf.len(), self.size)?;
        Err(ImageError::Unsupported("qcow2 images are not read yet".into()))
    }
    fn format(&self) -> ContainerFormat {
        ContainerFormat::Qcow2
    }
}
