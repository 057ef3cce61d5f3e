//! An in-memory file system: for examples, tests of the path rules, and fuzzing the guest view.

use super::{DirEntry, FileSystem, FsKind, NodeId, NodeInfo, NodeKind};
use crate::error::{ImageError, Result};
use std::collections::BTreeMap;

/// A tree of files, folders and links held in memory. Folders on the way are made as needed.
#[derive(Debug, Clone)]
pub struct MemoryFs {
    nodes: Vec<MemNode>,
}

#[derive(Debug, Clone)]
enum MemNode {
    Dir(BTreeMap<Vec<u8>, NodeId>),
    File(Vec<u8>),
    Link(Vec<u8>),
}

impl Default for MemoryFs {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryFs {
    /// An empty tree (just the root folder, node 0).
    pub fn new() -> Self {
        MemoryFs { nodes: vec![MemNode::Dir(BTreeMap::new())] }
    }

    /// Adds a file with `data` at `path` (absolute, no links on the way).
    pub fn add_file(&mut self, path: &str, data: &[u8]) -> NodeId {
        self.add(path, MemNode::File(data.to_vec()))
    }

    /// Adds a symbolic link at `path` pointing at `target` (stored as given).
    pub fn add_link(&mut self, path: &str, target: &str) -> NodeId {
        self.add(path, MemNode::Link(target.as_bytes().to_vec()))
    }

    /// Adds an empty folder at `path`.
    pub fn add_dir(&mut self, path: &str) -> NodeId {
        self.add(path, MemNode::Dir(BTreeMap::new()))
    }

    /// Adds `name` in folder `dir` naming an existing node (a hard link, or a folder listing
    /// itself or its parent: what a crafted file system can do).
    pub fn link_node(&mut self, dir: NodeId, name: &[u8], node: NodeId) {
        if let Some(MemNode::Dir(entries)) = self.nodes.get_mut(usize::try_from(dir).unwrap_or(usize::MAX)) {
            entries.insert(name.to_vec(), node);
        }
    }

    fn add(&mut self, path: &str, node: MemNode) -> NodeId {
        let parts: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        let mut dir: NodeId = 0;
        let Some((last, folders)) = parts.split_last() else { return 0 };
        for name in folders {
            dir = match self.child(dir, name.as_bytes()) {
                Some(id) => id,
                None => self.insert(dir, name.as_bytes(), MemNode::Dir(BTreeMap::new())),
            };
        }
        self.insert(dir, last.as_bytes(), node)
    }

    fn child(&self, dir: NodeId, name: &[u8]) -> Option<NodeId> {
        match self.nodes.get(usize::try_from(dir).ok()?)? {
            MemNode::Dir(entries) => entries.get(name).copied(),
            _ => None,
        }
    }

    fn insert(&mut self, dir: NodeId, name: &[u8], node: MemNode) -> NodeId {
        let id = self.nodes.len() as NodeId;
        self.nodes.push(node);
        self.link_node(dir, name, id);
        id
    }

    fn node(&self, id: NodeId) -> Result<&MemNode> {
        usize::try_from(id).ok().and_then(|i| self.nodes.get(i)).ok_or_else(|| ImageError::Corrupt {
            what: "memory file system node",
            offset: id,
            reason: "no such node".into(),
        })
    }
}

impl FileSystem for MemoryFs {
    fn kind(&self) -> FsKind {
        FsKind::HostFolder
    }

    fn root(&self) -> NodeId {
        0
    }

    fn stat(&mut self, node: NodeId) -> Result<NodeInfo> {
        Ok(match self.node(node)? {
            MemNode::Dir(e) => NodeInfo::new(node, NodeKind::Dir, e.len() as u64),
            MemNode::File(d) => NodeInfo::new(node, NodeKind::File, d.len() as u64),
            MemNode::Link(t) => NodeInfo::new(node, NodeKind::Symlink, t.len() as u64),
        })
    }

    fn lookup(&mut self, dir: NodeId, name: &[u8]) -> Result<Option<NodeId>> {
        match self.node(dir)? {
            MemNode::Dir(e) => Ok(e.get(name).copied()),
            _ => Ok(None),
        }
    }

    fn read_dir(&mut self, dir: NodeId, max: usize) -> Result<Vec<DirEntry>> {
        let MemNode::Dir(e) = self.node(dir)? else { return Ok(Vec::new()) };
        if e.len() > max {
            return Err(ImageError::LimitExceeded { limit: "max_dir_entries", value: e.len() as u64, max: max as u64 });
        }
        Ok(e.iter().map(|(n, id)| DirEntry::new(n.clone(), *id, None)).collect())
    }

    fn read_at(&mut self, file: NodeId, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let MemNode::File(d) = self.node(file)? else { return Ok(0) };
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(d.len());
        let piece = d.get(start..).unwrap_or_default();
        let n = piece.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), piece.get(..n)) {
            dst.copy_from_slice(src);
        }
        Ok(n)
    }

    fn read_link(&mut self, link: NodeId, max: usize) -> Result<Vec<u8>> {
        let MemNode::Link(t) = self.node(link)? else { return Ok(Vec::new()) };
        if t.len() > max {
            return Err(ImageError::LimitExceeded { limit: "max_link_bytes", value: t.len() as u64, max: max as u64 });
        }
        Ok(t.clone())
    }
}
