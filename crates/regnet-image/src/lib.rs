//! # regnet-image
//!
//! The image layer of regnet: from an untrusted virtual disk image to the bytes of a file in it.
//!
//! - [`VirtualDisk`]: one trait for every container (raw, VHD, VHDX, VMDK, qcow2, EWF `.E01`
//!   evidence files), detected by content; unallocated regions read as zeros. A raw image split
//!   into pieces (`.001`, `aa`) is the one container found by name ([`detect_in`]).
//! - [`partition`]: GPT and MBR tables, or a bare volume.
//! - [`lvm`]: LVM2 physical volumes, volume groups assembled across disks, and their linear and
//!   striped logical volumes as [`Volume`]s.
//! - [`ntfs`]: a read-only NTFS path lookup and file reader.
//! - [`ext4`] and [`xfs`]: read-only ext2/3/4 (journal replayed in memory) and XFS v4/v5 readers.
//! - [`volume`]: the byte ranges file systems live in (a partition of a shared disk, an LV).
//! - [`guest`]: one read-only view of a guest's files by path, resolved inside the guest, over any
//!   file system that implements [`guest::FileSystem`].
//! - [`source`]: counted reads of the image file(s), and the policy that an image may name other
//!   files (extents, backing files, parents) only inside its own folder.
//!
//! Every byte of an image is hostile: offsets, sizes and counts are checked before use, tables are
//! bounded by [`ImageLimits`], nothing recurses on input, and nothing panics.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod container;
pub mod disk;
mod error;
pub mod ext4;
pub mod guest;
mod limits;
pub mod lvm;
pub mod ntfs;
pub mod partition;
pub mod source;
pub mod volume;
pub mod xfs;

pub use container::ewf::Acquisition;
pub use disk::{detect, detect_in, open_container, ContainerFormat, RawDisk, RegionReader, VirtualDisk};
pub use error::{ImageError, Result};
pub use limits::ImageLimits;
pub use source::{Counters, DirResolver, FileSource, NoResolver, ReadSeek, Resolver};
pub use volume::{share, Region, SharedDisk, Volume};
