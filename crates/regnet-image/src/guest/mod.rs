//! One read-only view of a guest's files, whatever holds them (ext4, XFS, NTFS, an already-mounted
//! folder): open a path, read a range, list a directory, read a link.
//!
//! Each file system implements [`FileSystem`], a small interface by node (an inode or MFT record
//! number); [`GuestView`] resolves paths over it with the guest's own rules, never the host's:
//! - an absolute symbolic link restarts at the guest's root, a relative one at its directory;
//! - `..` at the root stays at the root;
//! - at most [`GuestLimits::max_links`] links (40, as Linux) per lookup, and a bounded number of
//!   path components in all, so a link loop or a link that grows the path is an error for that
//!   file only ([`ImageError::BadPath`]);
//! - a file larger than [`GuestLimits::max_file_bytes`] is refused before any allocation.
//!
//! Nothing of the host is read: a link to `/etc/shadow` or `/proc/self/...` names the guest's
//! `/etc/shadow` or `/proc`, which a disk image does not hold.

use crate::error::{ImageError, Result};

/// A node of a file system: an inode number, an MFT record number, an index the reader chose.
pub type NodeId = u64;

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// Anything else (device, FIFO, socket).
    Other,
}

/// A node's kind and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeInfo {
    /// The node.
    pub id: NodeId,
    /// What it is.
    pub kind: NodeKind,
    /// Its size in bytes (for a link, the length of its target).
    pub size: u64,
    /// The owner's user ID, when the file system records one (ext4, XFS, a host folder).
    pub uid: Option<u32>,
    /// The permission bits (`0o600`), when the file system records them.
    pub mode: Option<u32>,
}

impl NodeInfo {
    /// A node's facts (owner and mode unknown).
    pub fn new(id: NodeId, kind: NodeKind, size: u64) -> Self {
        NodeInfo { id, kind, size, uid: None, mode: None }
    }

    /// The same facts with the owner and permission bits (`mode & 0o7777` is kept).
    pub fn with_owner(mut self, uid: u32, mode: u32) -> Self {
        self.uid = Some(uid);
        self.mode = Some(mode & 0o7777);
        self
    }
}

/// One directory entry (never `.` or `..`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DirEntry {
    /// The name, as stored (Linux names are bytes, not necessarily UTF-8).
    pub name: Vec<u8>,
    /// The node it names.
    pub id: NodeId,
    /// Its kind when the directory records it (ext4 and XFS usually do).
    pub kind: Option<NodeKind>,
}

impl DirEntry {
    /// An entry.
    pub fn new(name: Vec<u8>, id: NodeId, kind: Option<NodeKind>) -> Self {
        DirEntry { name, id, kind }
    }
}

/// The file system kinds a guest view can sit on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FsKind {
    /// ext2, ext3 or ext4.
    Ext4,
    /// XFS (v4 or v5).
    Xfs,
    /// NTFS.
    Ntfs,
    /// A folder of the host holding an already-mounted guest root.
    HostFolder,
}

impl FsKind {
    /// The name used in reports: `ext4`, `xfs`, `ntfs`, `folder`.
    pub fn name(self) -> &'static str {
        match self {
            FsKind::Ext4 => "ext4",
            FsKind::Xfs => "xfs",
            FsKind::Ntfs => "ntfs",
            FsKind::HostFolder => "folder",
        }
    }
}

/// What a file system reader offers the guest view: lookups by node, never by path.
///
/// Every method treats the volume as hostile: a node number past the inode table, a directory
/// that lists itself, an extent past the volume, are errors for that call. (Not `Send`: a reader
/// may use `Rc` inside; make one per worker.)
pub trait FileSystem {
    /// Which kind of file system this is.
    fn kind(&self) -> FsKind;
    /// The root directory.
    fn root(&self) -> NodeId;
    /// A node's kind and size.
    fn stat(&mut self, node: NodeId) -> Result<NodeInfo>;
    /// The entry `name` of directory `dir` (exact bytes; NTFS compares case-insensitively), or
    /// `None` when there is none. `name` is never empty, `.` or `..`.
    fn lookup(&mut self, dir: NodeId, name: &[u8]) -> Result<Option<NodeId>>;
    /// The entries of directory `dir`, at most `max` of them (more is [`ImageError::LimitExceeded`]).
    fn read_dir(&mut self, dir: NodeId, max: usize) -> Result<Vec<DirEntry>>;
    /// Reads file bytes at `offset` into `buf`; returns how many were read (fewer only at the end
    /// of the file). Holes read as zeros.
    fn read_at(&mut self, file: NodeId, offset: u64, buf: &mut [u8]) -> Result<usize>;
    /// The target of a symbolic link, at most `max` bytes (more is an error).
    fn read_link(&mut self, link: NodeId, max: usize) -> Result<Vec<u8>>;
}

/// Bounds on what one lookup or read may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct GuestLimits {
    /// Symbolic links followed in one lookup (Linux: 40).
    pub max_links: u32,
    /// Path components walked in one lookup, links' targets included.
    pub max_components: u32,
    /// Length of one link's target (Linux: 4096).
    pub max_link_bytes: usize,
    /// Entries listed from one directory.
    pub max_dir_entries: usize,
    /// Size of a file read whole.
    pub max_file_bytes: u64,
}

impl Default for GuestLimits {
    fn default() -> Self {
        GuestLimits {
            max_links: 40,
            max_components: 4096,
            max_link_bytes: 4096,
            max_dir_entries: 100_000,
            max_file_bytes: 64 << 20,
        }
    }
}

/// A read-only view of a guest's files by path, resolved inside the guest.
///
/// ```
/// use regnet_image::guest::{GuestView, MemoryFs};
/// let mut fs = MemoryFs::new();
/// fs.add_file("/usr/lib/os-release", b"ID=debian\n");
/// fs.add_link("/etc/os-release", "../usr/lib/os-release");
/// let mut guest = GuestView::new(Box::new(fs), Default::default());
/// assert_eq!(guest.read("/etc/os-release")?, b"ID=debian\n");
/// # Ok::<(), regnet_image::ImageError>(())
/// ```
pub struct GuestView<'f> {
    fs: Box<dyn FileSystem + 'f>,
    limits: GuestLimits,
}

impl std::fmt::Debug for GuestView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestView").field("fs", &self.fs.kind()).field("limits", &self.limits).finish()
    }
}

impl<'f> GuestView<'f> {
    /// A view over a file system.
    pub fn new(fs: Box<dyn FileSystem + 'f>, limits: GuestLimits) -> Self {
        GuestView { fs, limits }
    }

    /// The file system underneath.
    pub fn fs_kind(&self) -> FsKind {
        self.fs.kind()
    }

    /// The node `path` names, following every symbolic link (the last one too).
    pub fn resolve(&mut self, path: &str) -> Result<NodeInfo> {
        self.walk(path.as_bytes(), true)
    }

    /// The node `path` names, not following a link in its last component.
    pub fn resolve_nofollow(&mut self, path: &str) -> Result<NodeInfo> {
        self.walk(path.as_bytes(), false)
    }

    /// True when `path` names something (a broken or looping link counts as nothing).
    pub fn exists(&mut self, path: &str) -> Result<bool> {
        match self.resolve(path) {
            Ok(_) => Ok(true),
            Err(ImageError::NotFound { .. } | ImageError::BadPath { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The whole file at `path`, refused before any allocation when larger than
    /// [`GuestLimits::max_file_bytes`].
    pub fn read(&mut self, path: &str) -> Result<Vec<u8>> {
        let node = self.resolve(path)?;
        if node.kind != NodeKind::File {
            return Err(bad(path, "not a regular file"));
        }
        ImageLimits::check("max_file_bytes", node.size, self.limits.max_file_bytes)?;
        let n = usize::try_from(node.size).map_err(|_| ImageError::LimitExceeded {
            limit: "max_file_bytes",
            value: node.size,
            max: self.limits.max_file_bytes,
        })?;
        let mut out = Vec::new();
        out.try_reserve_exact(n).map_err(|_| ImageError::LimitExceeded {
            limit: "max_file_bytes",
            value: node.size,
            max: self.limits.max_file_bytes,
        })?;
        out.resize(n, 0);
        let mut done = 0usize;
        // Chunked, so a file system that reports short reads is read to its end.
        while let Some(rest) = out.get_mut(done..).filter(|r| !r.is_empty()) {
            let got = self.fs.read_at(node.id, done as u64, rest)?;
            if got == 0 {
                break;
            }
            done = done.saturating_add(got);
        }
        out.truncate(done);
        Ok(out)
    }

    /// Reads up to `buf.len()` bytes of the file at `path` from `offset`; returns how many.
    pub fn read_at(&mut self, path: &str, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let node = self.resolve(path)?;
        if node.kind != NodeKind::File {
            return Err(bad(path, "not a regular file"));
        }
        self.fs.read_at(node.id, offset, buf)
    }

    /// The entries of the directory at `path` (sorted by name).
    pub fn list(&mut self, path: &str) -> Result<Vec<DirEntry>> {
        let node = self.resolve(path)?;
        if node.kind != NodeKind::Dir {
            return Err(bad(path, "not a directory"));
        }
        let mut v = self.fs.read_dir(node.id, self.limits.max_dir_entries)?;
        v.retain(|e| e.name != b"." && e.name != b"..");
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    }

    /// The target of the symbolic link at `path`, as stored.
    pub fn read_link(&mut self, path: &str) -> Result<Vec<u8>> {
        let node = self.resolve_nofollow(path)?;
        if node.kind != NodeKind::Symlink {
            return Err(bad(path, "not a symbolic link"));
        }
        self.fs.read_link(node.id, self.limits.max_link_bytes)
    }

    /// Resolves `path` from the root. The pending components are kept reversed on a stack, so a
    /// link's target is pushed in front of what remains; the directories walked are kept so `..`
    /// can go back (and stays at the root).
    fn walk(&mut self, path: &[u8], follow_last: bool) -> Result<NodeInfo> {
        let shown = || String::from_utf8_lossy(path).into_owned();
        let root = self.fs.root();
        let mut dirs: Vec<NodeId> = vec![root];
        let mut pending: Vec<Vec<u8>> = Vec::new();
        push_components(&mut pending, path);
        let mut links = 0u32;
        let mut steps = 0u32;
        let mut current = self.fs.stat(root)?;
        while let Some(name) = pending.pop() {
            steps = steps.saturating_add(1);
            if steps > self.limits.max_components {
                return Err(bad(&shown(), "the path, with its links' targets, has too many components"));
            }
            if current.kind != NodeKind::Dir {
                return Err(bad(&shown(), "a component before the last is not a directory"));
            }
            if name == b"." {
                continue;
            }
            if name == b".." {
                if dirs.len() > 1 {
                    dirs.pop();
                }
                let top = dirs.last().copied().unwrap_or(root);
                current = self.fs.stat(top)?;
                continue;
            }
            let parent = current.id;
            let Some(id) = self.fs.lookup(parent, &name)? else {
                return Err(ImageError::NotFound {
                    path: shown(),
                    detail: Some(format!("no {:?} in its folder", String::from_utf8_lossy(&name))),
                });
            };
            let node = self.fs.stat(id)?;
            let last = pending.is_empty();
            if node.kind == NodeKind::Symlink && (!last || follow_last) {
                links += 1;
                if links > self.limits.max_links {
                    return Err(bad(
                        &shown(),
                        &format!("more than {} symbolic links (a loop?)", self.limits.max_links),
                    ));
                }
                let target = self.fs.read_link(id, self.limits.max_link_bytes)?;
                if target.is_empty() {
                    return Err(bad(&shown(), "a symbolic link with an empty target"));
                }
                if target.first() == Some(&b'/') {
                    dirs.truncate(1);
                    current = self.fs.stat(root)?;
                } else {
                    current = self.fs.stat(parent)?;
                }
                push_components(&mut pending, &target);
                continue;
            }
            if node.kind == NodeKind::Dir {
                dirs.push(node.id);
            }
            current = node;
        }
        Ok(current)
    }
}

use crate::limits::ImageLimits;

fn bad(path: &str, reason: &str) -> ImageError {
    ImageError::BadPath { path: path.to_owned(), reason: reason.to_owned() }
}

/// Pushes `path`'s components onto `stack` so that the first component is popped first.
fn push_components(stack: &mut Vec<Vec<u8>>, path: &[u8]) {
    let parts: Vec<&[u8]> = path.split(|&b| b == b'/').filter(|c| !c.is_empty()).collect();
    for c in parts.into_iter().rev() {
        stack.push(c.to_vec());
    }
}

mod host;
mod memory;
pub use host::HostFolder;
pub use memory::MemoryFs;

#[cfg(test)]
mod tests;
