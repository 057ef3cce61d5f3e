//! NTFS under the guest view: MFT record numbers are the nodes, names compare case-insensitively
//! with the volume's `$UpCase`, the DOS 8.3 aliases are left out of listings. Reparse points
//! (symbolic links, junctions) are not followed: they read as what their record is.

use super::{index, FileId, NtfsVolume};
use crate::error::{ImageError, Result};
use crate::guest::{DirEntry, FileSystem, FsKind, NodeId, NodeInfo, NodeKind};

/// A node's [`FileId`] (the sequence number is not checked for nodes handed out by lookups).
fn id(node: NodeId) -> FileId {
    FileId { record: node, sequence: 0 }
}

impl FileSystem for NtfsVolume<'_> {
    fn kind(&self) -> FsKind {
        FsKind::Ntfs
    }

    fn root(&self) -> NodeId {
        FileId::ROOT.record
    }

    fn stat(&mut self, node: NodeId) -> Result<NodeInfo> {
        self.visited = 0;
        if self.open_index(id(node))?.is_some() {
            return Ok(NodeInfo::new(node, NodeKind::Dir, 0));
        }
        let size = self.file_size_inner(id(node))?;
        Ok(NodeInfo::new(node, NodeKind::File, size))
    }

    fn lookup(&mut self, dir: NodeId, name: &[u8]) -> Result<Option<NodeId>> {
        self.visited = 0;
        let Ok(name) = std::str::from_utf8(name) else { return Ok(None) };
        let units: Vec<u16> = name.encode_utf16().collect();
        if units.len() > super::MAX_NAME_UNITS {
            return Ok(None);
        }
        let Some(index) = self.open_index(id(dir))? else { return Ok(None) };
        Ok(self.lookup(index, &units)?.map(|f| f.record))
    }

    fn read_dir(&mut self, dir: NodeId, max: usize) -> Result<Vec<DirEntry>> {
        self.visited = 0;
        let Some(index) = self.open_index(id(dir))? else { return Ok(Vec::new()) };
        let mut all = self.scan(index)?;
        all.retain(|(f, _)| f.namespace != index::NAMESPACE_DOS);
        if all.len() > max {
            return Err(ImageError::LimitExceeded {
                limit: "max_dir_entries",
                value: all.len() as u64,
                max: max as u64,
            });
        }
        Ok(all
            .into_iter()
            .map(|(f, fid)| {
                let kind =
                    if f.file_attributes & index::FILE_ATTR_DIRECTORY != 0 { NodeKind::Dir } else { NodeKind::File };
                DirEntry::new(super::le::name_string(&f.name).into_bytes(), fid.record, Some(kind))
            })
            .collect())
    }

    fn read_at(&mut self, file: NodeId, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let data = self.open_data(id(file))?;
        if offset >= data.len() {
            return Ok(0);
        }
        NtfsVolume::read_at(self, &data, offset, buf)
    }

    fn read_link(&mut self, link: NodeId, _max: usize) -> Result<Vec<u8>> {
        Err(ImageError::Unsupported(format!("NTFS record {link}: reparse points are not read as links")))
    }
}
