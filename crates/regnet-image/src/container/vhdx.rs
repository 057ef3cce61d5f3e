//! VHDX images. (Being written: until then, opening one is a clear "unsupported" error.)

use crate::disk::{ContainerFormat, VirtualDisk};
use crate::error::{ImageError, Result};
use crate::limits::ImageLimits;
use crate::source::{FileSource, Resolver};

/// A VHDX image as a virtual disk.
pub struct VhdxDisk {
    size: u64,
}

impl VhdxDisk {
    /// Opens a VHDX image.
    pub fn open(_src: FileSource, _resolver: &dyn Resolver, _limits: &ImageLimits) -> Result<Self> {
        Err(ImageError::Unsupported("VHDX images are not read yet".into()))
    }
}

impl VirtualDisk for VhdxDisk {
    fn size(&self) -> u64 {
        self.size
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        crate::disk::check_range("VHDX disk", offset, buf.len(), self.size)?;
        Err(ImageError::Unsupported("VHDX images are not read yet".into()))
    }
    fn format(&self) -> ContainerFormat {
        ContainerFormat::Vhdx
    }
}
