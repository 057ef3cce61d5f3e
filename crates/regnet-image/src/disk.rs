//! Virtual disks: the one trait every container implements, the raw container, a `Read + Seek`
//! view of a region, and detection of the container format by content.

use crate::error::{ImageError, Result};
use crate::limits::ImageLimits;
use crate::source::{FileSource, Resolver};
use serde::{Deserialize, Serialize};
use std::io::{Read, Seek, SeekFrom};

/// The container formats regnet reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ContainerFormat {
    /// A raw disk image (dd), or a block device.
    Raw,
    /// Microsoft VHD (fixed or dynamic).
    Vhd,
    /// Microsoft VHDX.
    Vhdx,
    /// VMware VMDK (monolithicSparse, streamOptimized, or a descriptor with extents).
    Vmdk,
    /// QEMU qcow2 (versions 2 and 3).
    Qcow2,
    /// EWF evidence files (`.E01`, `.E02`, …: EnCase, FTK Imager, Guymager, `ewfacquire`).
    Ewf,
    /// A raw image split into pieces (`NAME.001`, `NAME.002`, … or `NAMEaa`, `NAMEab`, …).
    #[serde(rename = "split")]
    SplitRaw,
}

/// A virtual disk: a fixed-size array of bytes, read at any offset. Unallocated regions read as
/// zeros. Implementations never read outside their files and check every table entry they use.
pub trait VirtualDisk: Send {
    /// Virtual size in bytes.
    fn size(&self) -> u64;
    /// Fills `buf` from `offset`. A range outside `0..size()` is [`ImageError::OutOfRange`].
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()>;
    /// The container format.
    fn format(&self) -> ContainerFormat;
    /// What a caller should know about a disk that opened and reads, but not as its maker meant
    /// (a snapshot whose parent changed after it was taken, a delta opened without its parent).
    /// None by default.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
    /// What an evidence file records about its acquisition (EWF). None by default.
    fn acquisition(&self) -> Option<crate::container::ewf::Acquisition> {
        None
    }
    /// The files that make up the disk, in order, when it is a set of several (EWF segments,
    /// split raw pieces); empty for a one-file image.
    fn segments(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Checks that `offset .. offset + len` lies inside a disk or region of `size` bytes.
pub fn check_range(what: &'static str, offset: u64, len: usize, size: u64) -> Result<()> {
    let len = len as u64;
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(ImageError::OutOfRange { what, offset, len, size }),
    }
}

/// A piece of a read through a chain of differencing layers (VHD, VHDX) still to be served: `len`
/// bytes of layer `layer` at virtual offset `voff`, going to `buf[at..at + len]`.
pub(crate) struct Piece {
    pub(crate) layer: usize,
    pub(crate) voff: u64,
    pub(crate) at: usize,
    pub(crate) len: usize,
}

/// One file of a differencing chain, for [`read_chain`].
pub(crate) trait ChainLayer {
    /// Serves `piece` (whose bytes are `out`) from this layer, queueing in `work` what it defers
    /// to the layer below (`piece.layer + 1`).
    fn read(&mut self, piece: &Piece, out: &mut [u8], work: &mut Vec<Piece>) -> Result<()>;
}

/// Fills `buf` from virtual offset `offset` of a chain whose top layer is `layers[0]` (`what`: the
/// disk, then the read, for errors). An explicit
/// work list instead of recursion: a piece a differencing layer does not hold is queued for the
/// layer below it; below the last layer there is nothing (zeros, never reached for a valid chain).
pub(crate) fn read_chain<L: ChainLayer>(
    (disk, what): (&'static str, &'static str),
    layers: &mut [L],
    size: u64,
    offset: u64,
    buf: &mut [u8],
) -> Result<()> {
    check_range(disk, offset, buf.len(), size)?;
    let mut work = vec![Piece { layer: 0, voff: offset, at: 0, len: buf.len() }];
    while let Some(piece) = work.pop() {
        let end = piece.at.checked_add(piece.len).ok_or_else(|| overflow(what, piece.voff))?;
        let out = buf.get_mut(piece.at..end).ok_or_else(|| overflow(what, piece.voff))?;
        match layers.get_mut(piece.layer) {
            Some(layer) => layer.read(&piece, out, &mut work)?,
            None => out.fill(0),
        }
    }
    Ok(())
}

/// The error for offset arithmetic that does not fit.
pub(crate) fn overflow(what: &'static str, offset: u64) -> ImageError {
    ImageError::Corrupt { what, offset, reason: "offset arithmetic overflows".into() }
}

/// Fills `buf` from disk offset `offset` piece by piece: `piece(off, out)` fills the start of `out`
/// (from disk offset `off`) and returns how many bytes it filled, at least one. For containers
/// whose reads split at cluster, grain or layer boundaries.
pub(crate) fn read_in_pieces(
    what: &'static str,
    size: u64,
    offset: u64,
    buf: &mut [u8],
    mut piece: impl FnMut(u64, &mut [u8]) -> Result<usize>,
) -> Result<()> {
    check_range(what, offset, buf.len(), size)?;
    let mut pos = 0usize;
    while pos < buf.len() {
        let off = offset.checked_add(pos as u64).ok_or(ImageError::OutOfRange {
            what,
            offset,
            len: buf.len() as u64,
            size,
        })?;
        let rest = buf.get_mut(pos..).unwrap_or_default();
        let n = piece(off, rest)?;
        // Every piece fills at least one byte, so the loop ends.
        pos = pos.saturating_add(n.max(1));
    }
    Ok(())
}

/// A raw image: the file is the disk.
pub struct RawDisk {
    src: FileSource,
}

impl RawDisk {
    /// The whole file as a disk.
    pub fn new(src: FileSource) -> Self {
        RawDisk { src }
    }
}

impl VirtualDisk for RawDisk {
    fn size(&self) -> u64 {
        self.src.len()
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range("raw disk", offset, buf.len(), self.size())?;
        self.src.read_exact_at(offset, buf, "raw disk data")
    }
    fn format(&self) -> ContainerFormat {
        ContainerFormat::Raw
    }
}

/// Detects the container format from the first bytes (and, for VHD, the last 512).
pub fn detect(src: &mut FileSource) -> Result<ContainerFormat> {
    let mut head = [0u8; 64];
    let n = head.len().min(usize::try_from(src.len()).unwrap_or(usize::MAX));
    src.read_exact_at(0, &mut head[..n], "image header")?;
    let head = &head[..n];
    if head.starts_with(b"vhdxfile") {
        return Ok(ContainerFormat::Vhdx);
    }
    if head.starts_with(b"QFI\xfb") {
        return Ok(ContainerFormat::Qcow2);
    }
    if head.starts_with(b"KDMV") || head.starts_with(b"# Disk DescriptorFile") {
        return Ok(ContainerFormat::Vmdk);
    }
    if head.starts_with(b"conectix") {
        return Ok(ContainerFormat::Vhd);
    }
    // EWF, and EWF2 / logical evidence files, which the EWF reader refuses by name.
    if crate::container::ewf::signature(head).is_some() {
        return Ok(ContainerFormat::Ewf);
    }
    // An ESXi delta extent alone holds only the grains a snapshot changed: reading it as a disk
    // would give a guest full of holes. Its descriptor names it and its parents.
    let sesparse = head.get(..8) == Some(&0x0000_0000_cafe_babe_u64.to_le_bytes()[..]);
    if head.starts_with(b"COWD") || sesparse {
        return Err(ImageError::Unsupported(format!(
            "{} is an ESXi snapshot delta extent ({}): give its descriptor (the small .vmdk text file that names it and its parent) instead",
            src.name(),
            if sesparse { "SEsparse" } else { "COWD" }
        )));
    }
    if src.len() >= 512 {
        let mut tail = [0u8; 8];
        src.read_exact_at(src.len() - 512, &mut tail, "VHD footer")?;
        if &tail == b"conectix" {
            return Ok(ContainerFormat::Vhd);
        }
    }
    Ok(ContainerFormat::Raw)
}

/// [`detect`], then, for a raw image whose file name ends in `.001` or `aa` and whose next piece
/// exists beside it, [`ContainerFormat::SplitRaw`] (only when `resolver` opens files: a stream
/// has no folder).
pub fn detect_in(src: &mut FileSource, resolver: &dyn Resolver) -> Result<ContainerFormat> {
    let format = detect(src)?;
    if format == ContainerFormat::Raw
        && resolver.opens_files()
        && crate::container::split::second_piece(src.name()).is_some()
    {
        return Ok(ContainerFormat::SplitRaw);
    }
    Ok(format)
}

/// Opens `src` as the given container. External files it names go through `resolver`.
pub fn open_container(
    src: FileSource,
    format: ContainerFormat,
    resolver: &dyn Resolver,
    limits: &ImageLimits,
) -> Result<Box<dyn VirtualDisk>> {
    Ok(match format {
        ContainerFormat::Raw => Box::new(RawDisk::new(src)),
        ContainerFormat::Vhd => Box::new(crate::container::vhd::VhdDisk::open(src, resolver, limits)?),
        ContainerFormat::Vhdx => Box::new(crate::container::vhdx::VhdxDisk::open(src, resolver, limits)?),
        ContainerFormat::Vmdk => Box::new(crate::container::vmdk::VmdkDisk::open(src, resolver, limits)?),
        ContainerFormat::Qcow2 => Box::new(crate::container::qcow2::Qcow2Disk::open(src, resolver, limits)?),
        ContainerFormat::Ewf => Box::new(crate::container::ewf::EwfDisk::open(src, resolver, limits)?),
        ContainerFormat::SplitRaw => Box::new(crate::container::split::SplitDisk::open(src, resolver, limits)?),
    })
}

/// A `Read + Seek` view of `len` bytes of a disk from `start` (a partition, or the whole disk),
/// with a small read-ahead buffer so that parsers making many small reads stay cheap.
pub struct RegionReader<'d> {
    disk: &'d mut dyn VirtualDisk,
    start: u64,
    len: u64,
    pos: u64,
    buf: Vec<u8>,
    buf_at: u64,
}

/// Read-ahead size of [`RegionReader`].
const READ_AHEAD: usize = 64 * 1024;

impl<'d> RegionReader<'d> {
    /// A view of `disk[start .. start + len]`.
    pub fn new(disk: &'d mut dyn VirtualDisk, start: u64, len: u64) -> Result<Self> {
        let size = disk.size();
        if start.checked_add(len).is_none_or(|end| end > size) {
            return Err(ImageError::OutOfRange { what: "disk", offset: start, len, size });
        }
        Ok(RegionReader { disk, start, len, pos: 0, buf: Vec::new(), buf_at: 0 })
    }

    /// The region's length.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for an empty region.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads exactly `buf.len()` bytes at `offset` of the region (no read-ahead).
    pub fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range("region", offset, buf.len(), self.len)?;
        self.disk.read_at(self.start + offset, buf)
    }
}

impl Read for RegionReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.len || out.is_empty() {
            return Ok(0);
        }
        let in_buf = self.pos >= self.buf_at && self.pos < self.buf_at + self.buf.len() as u64;
        if !in_buf {
            let n = (self.len - self.pos).min(READ_AHEAD as u64) as usize;
            self.buf.resize(n, 0);
            self.disk.read_at(self.start + self.pos, &mut self.buf).map_err(std::io::Error::other)?;
            self.buf_at = self.pos;
        }
        let off = (self.pos - self.buf_at) as usize;
        let avail = &self.buf[off..];
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for RegionReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let new = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match new {
            Some(p) => {
                self.pos = p;
                Ok(p)
            }
            None => Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start of the region")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Counters;
    use std::sync::Arc;

    fn mem(bytes: Vec<u8>) -> FileSource {
        FileSource::new(
            "mem",
            Box::new(std::io::Cursor::new(bytes)),
            Arc::new(Counters::default()),
            &ImageLimits::default(),
        )
        .unwrap()
    }

    #[test]
    fn raw_reads_and_bounds() {
        let mut d = RawDisk::new(mem((0..=255u8).collect()));
        let mut b = [0u8; 4];
        d.read_at(252, &mut b).unwrap();
        assert_eq!(b, [252, 253, 254, 255]);
        assert!(matches!(d.read_at(253, &mut b), Err(ImageError::OutOfRange { .. })));
        assert!(matches!(d.read_at(u64::MAX, &mut b), Err(ImageError::OutOfRange { .. })));
    }

    #[test]
    fn region_reader_reads_and_seeks() {
        let mut d = RawDisk::new(mem((0..=255u8).collect()));
        let mut r = RegionReader::new(&mut d, 16, 32).unwrap();
        let mut b = [0u8; 40];
        let n = r.read(&mut b).unwrap();
        assert_eq!((n, b[0], b[31]), (32, 16, 47));
        assert_eq!(r.read(&mut b).unwrap(), 0);
        r.seek(SeekFrom::End(-2)).unwrap();
        assert_eq!(r.read(&mut b).unwrap(), 2);
        assert!(r.seek(SeekFrom::Current(-100)).is_err());
        assert!(RegionReader::new(&mut d, 250, 10).is_err());
    }

    #[test]
    fn detection() {
        assert_eq!(detect(&mut mem(b"QFI\xfb\0\0\0\x03".to_vec())).unwrap(), ContainerFormat::Qcow2);
        assert_eq!(detect(&mut mem(b"vhdxfile".to_vec())).unwrap(), ContainerFormat::Vhdx);
        assert_eq!(detect(&mut mem(b"KDMV".to_vec())).unwrap(), ContainerFormat::Vmdk);
        assert_eq!(detect(&mut mem(b"# Disk DescriptorFile\n".to_vec())).unwrap(), ContainerFormat::Vmdk);
        let mut fixed = vec![0u8; 4096];
        fixed[4096 - 512..4096 - 504].copy_from_slice(b"conectix");
        assert_eq!(detect(&mut mem(fixed)).unwrap(), ContainerFormat::Vhd);
        assert_eq!(detect(&mut mem(vec![0u8; 1024])).unwrap(), ContainerFormat::Raw);
        assert_eq!(detect(&mut mem(Vec::new())).unwrap(), ContainerFormat::Raw);
    }
}
