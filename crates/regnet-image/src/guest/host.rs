//! An already-mounted guest root (a backup server mounts the replica's system disk and hands in the
//! folder) as a [`FileSystem`]: the guest view resolves every path and link inside it.
//!
//! Nothing here follows a link of the host: every node is examined with `symlink_metadata`
//! (lstat), links are read and resolved by the [`super::GuestView`] inside the folder, and a file
//! is opened only after checking that what was opened is the node examined (same device and
//! inode), so a link swapped in between cannot lead outside.

use super::{DirEntry, FileSystem, FsKind, NodeId, NodeInfo, NodeKind};
use crate::error::{ImageError, Result};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A host folder holding a guest's root.
#[derive(Debug)]
pub struct HostFolder {
    /// Host paths of the nodes handed out; node 0 is the root.
    nodes: Vec<PathBuf>,
    ids: HashMap<PathBuf, NodeId>,
    case_insensitive: bool,
    max_nodes: usize,
}

impl HostFolder {
    /// The folder `root`, which must be a directory (not a link to one).
    pub fn open(root: &Path) -> Result<Self> {
        let meta = std::fs::symlink_metadata(root).map_err(|e| ImageError::io(root.display().to_string(), e))?;
        if !meta.is_dir() {
            return Err(ImageError::BadPath {
                path: root.display().to_string(),
                reason: "not a directory (a guest root must be a folder, not a link to one)".into(),
            });
        }
        let root = root.to_owned();
        let mut ids = HashMap::new();
        ids.insert(root.clone(), 0);
        Ok(HostFolder { nodes: vec![root], ids, case_insensitive: false, max_nodes: 1_000_000 })
    }

    /// Let a name that is not found match one differing only in ASCII case (a Windows guest's
    /// `Windows\System32\config` on a case-sensitive mount).
    pub fn case_insensitive(mut self, yes: bool) -> Self {
        self.case_insensitive = yes;
        self
    }

    fn path(&self, node: NodeId) -> Result<&Path> {
        usize::try_from(node).ok().and_then(|i| self.nodes.get(i)).map(PathBuf::as_path).ok_or_else(|| {
            ImageError::Corrupt { what: "guest folder node", offset: node, reason: "no such node".into() }
        })
    }

    fn id_of(&mut self, path: PathBuf) -> Result<NodeId> {
        if let Some(id) = self.ids.get(&path) {
            return Ok(*id);
        }
        if self.nodes.len() >= self.max_nodes {
            return Err(ImageError::LimitExceeded {
                limit: "guest folder nodes",
                value: self.nodes.len() as u64,
                max: self.max_nodes as u64,
            });
        }
        let id = self.nodes.len() as NodeId;
        self.nodes.push(path.clone());
        self.ids.insert(path, id);
        Ok(id)
    }

    fn io(path: &Path, e: std::io::Error) -> ImageError {
        ImageError::io(path.display().to_string(), e)
    }
}

fn kind_of(meta: &std::fs::Metadata) -> NodeKind {
    let t = meta.file_type();
    if t.is_symlink() {
        NodeKind::Symlink
    } else if t.is_dir() {
        NodeKind::Dir
    } else if t.is_file() {
        NodeKind::File
    } else {
        NodeKind::Other
    }
}

impl FileSystem for HostFolder {
    fn kind(&self) -> FsKind {
        FsKind::HostFolder
    }

    fn root(&self) -> NodeId {
        0
    }

    fn stat(&mut self, node: NodeId) -> Result<NodeInfo> {
        let path = self.path(node)?;
        let meta = std::fs::symlink_metadata(path).map_err(|e| Self::io(path, e))?;
        Ok(NodeInfo::new(node, kind_of(&meta), meta.len()).with_owner(meta.uid(), meta.mode()))
    }

    fn lookup(&mut self, dir: NodeId, name: &[u8]) -> Result<Option<NodeId>> {
        if name.is_empty() || name.contains(&b'/') || name.contains(&0) || name == b"." || name == b".." {
            return Ok(None);
        }
        let base = self.path(dir)?.to_owned();
        let candidate = base.join(OsStr::from_bytes(name));
        match std::fs::symlink_metadata(&candidate) {
            Ok(_) => return self.id_of(candidate).map(Some),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) => {}
            Err(e) => return Err(Self::io(&candidate, e)),
        }
        if !self.case_insensitive {
            return Ok(None);
        }
        let entries = std::fs::read_dir(&base).map_err(|e| Self::io(&base, e))?;
        for (i, entry) in entries.enumerate() {
            if i >= 100_000 {
                break;
            }
            let entry = entry.map_err(|e| Self::io(&base, e))?;
            if entry.file_name().as_bytes().eq_ignore_ascii_case(name) {
                return self.id_of(base.join(entry.file_name())).map(Some);
            }
        }
        Ok(None)
    }

    fn read_dir(&mut self, dir: NodeId, max: usize) -> Result<Vec<DirEntry>> {
        let base = self.path(dir)?.to_owned();
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&base).map_err(|e| Self::io(&base, e))? {
            let entry = entry.map_err(|e| Self::io(&base, e))?;
            if out.len() >= max {
                return Err(ImageError::LimitExceeded {
                    limit: "max_dir_entries",
                    value: out.len() as u64 + 1,
                    max: max as u64,
                });
            }
            let kind = entry.file_type().ok().map(|t| {
                if t.is_symlink() {
                    NodeKind::Symlink
                } else if t.is_dir() {
                    NodeKind::Dir
                } else if t.is_file() {
                    NodeKind::File
                } else {
                    NodeKind::Other
                }
            });
            let id = self.id_of(base.join(entry.file_name()))?;
            out.push(DirEntry::new(entry.file_name().as_bytes().to_vec(), id, kind));
        }
        Ok(out)
    }

    fn read_at(&mut self, file: NodeId, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let path = self.path(file)?.to_owned();
        let before = std::fs::symlink_metadata(&path).map_err(|e| Self::io(&path, e))?;
        if !before.is_file() {
            return Err(ImageError::BadPath { path: path.display().to_string(), reason: "not a regular file".into() });
        }
        let mut f = std::fs::File::open(&path).map_err(|e| Self::io(&path, e))?;
        let opened = f.metadata().map_err(|e| Self::io(&path, e))?;
        if (opened.dev(), opened.ino()) != (before.dev(), before.ino()) {
            return Err(ImageError::BadPath {
                path: path.display().to_string(),
                reason: "the file changed while it was opened (replaced by a link?)".into(),
            });
        }
        f.seek(SeekFrom::Start(offset)).map_err(|e| Self::io(&path, e))?;
        let mut done = 0usize;
        while let Some(rest) = buf.get_mut(done..).filter(|r| !r.is_empty()) {
            let n = f.read(rest).map_err(|e| Self::io(&path, e))?;
            if n == 0 {
                break;
            }
            done = done.saturating_add(n);
        }
        Ok(done)
    }

    fn read_link(&mut self, link: NodeId, max: usize) -> Result<Vec<u8>> {
        let path = self.path(link)?;
        let target = std::fs::read_link(path).map_err(|e| Self::io(path, e))?;
        let bytes = target.as_os_str().as_bytes().to_vec();
        if bytes.len() > max {
            return Err(ImageError::LimitExceeded {
                limit: "max_link_bytes",
                value: bytes.len() as u64,
                max: max as u64,
            });
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest::{GuestLimits, GuestView};
    use std::os::unix::fs::symlink;

    fn tree(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("regnet-host-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("root/etc")).unwrap();
        std::fs::create_dir_all(d.join("root/usr/lib")).unwrap();
        std::fs::write(d.join("root/usr/lib/os-release"), "ID=ubuntu\n").unwrap();
        symlink("../usr/lib/os-release", d.join("root/etc/os-release")).unwrap();
        symlink("/usr/lib/os-release", d.join("root/etc/abs")).unwrap();
        // Outside the guest root: what an escaping link would reach on the host.
        std::fs::write(d.join("secret"), "host secret\n").unwrap();
        symlink("../../secret", d.join("root/etc/escape")).unwrap();
        symlink(d.join("secret"), d.join("root/etc/host-abs")).unwrap();
        symlink("/proc/self/environ", d.join("root/etc/proc")).unwrap();
        std::fs::create_dir_all(d.join("root/Windows/System32/config")).unwrap();
        std::fs::write(d.join("root/Windows/System32/config/SYSTEM"), "regf").unwrap();
        d
    }

    #[test]
    fn a_mounted_root_is_read_inside_itself() {
        let d = tree("inside");
        let fs = HostFolder::open(&d.join("root")).unwrap();
        let mut g = GuestView::new(Box::new(fs), GuestLimits::default());
        assert_eq!(g.read("/etc/os-release").unwrap(), b"ID=ubuntu\n");
        assert_eq!(g.read("/etc/abs").unwrap(), b"ID=ubuntu\n");
        // `../../secret` stops at the guest's root; the host's absolute path is a guest path.
        for p in ["/etc/escape", "/etc/host-abs", "/etc/proc"] {
            assert!(matches!(g.read(p), Err(ImageError::NotFound { .. })), "{p}");
        }
        assert!(g.read("/windows/system32/config/system").is_err(), "case-sensitive unless asked");
        let names: Vec<Vec<u8>> = g.list("/etc").unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(names.len(), 5);
        let fs = HostFolder::open(&d.join("root")).unwrap().case_insensitive(true);
        let mut g = GuestView::new(Box::new(fs), GuestLimits::default());
        assert_eq!(g.read("/windows/system32/config/system").unwrap(), b"regf");
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn listings_reads_and_links_are_bounded() {
        let d = tree("bounds");
        let mut fs = HostFolder::open(&d.join("root")).unwrap();
        let etc = fs.lookup(0, b"etc").unwrap().unwrap();
        let entries = fs.read_dir(etc, 100).unwrap();
        assert!(entries.iter().any(|e| e.name == b"os-release" && e.kind == Some(NodeKind::Symlink)));
        assert!(matches!(fs.read_dir(etc, 2), Err(ImageError::LimitExceeded { limit: "max_dir_entries", .. })));
        let usr = fs.lookup(0, b"usr").unwrap().unwrap();
        let kinds: Vec<_> = fs.read_dir(usr, 10).unwrap().into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [Some(NodeKind::Dir)]);
        let link = fs.lookup(etc, b"os-release").unwrap().unwrap();
        assert_eq!(fs.read_link(link, 100).unwrap(), b"../usr/lib/os-release");
        assert!(matches!(fs.read_link(link, 4), Err(ImageError::LimitExceeded { .. })));
        assert!(fs.read_at(etc, 0, &mut [0u8; 4]).is_err(), "a folder is not read as a file");
        let lib = fs.lookup(usr, b"lib").unwrap().unwrap();
        let release = fs.lookup(lib, b"os-release").unwrap().unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(fs.read_at(release, 3, &mut buf).unwrap(), 7);
        assert_eq!(&buf[..7], b"ubuntu\n");
        let info = fs.stat(release).unwrap();
        assert_eq!((info.kind, info.size, info.mode), (NodeKind::File, 10, Some(0o644)));
        assert_eq!(fs.lookup(release, b"x").unwrap(), None, "a file has no entries");
        assert_eq!(fs.lookup(0, b"ETC").unwrap(), None);
        assert_eq!(fs.kind(), FsKind::HostFolder);
        let mut fs = HostFolder::open(&d.join("root")).unwrap().case_insensitive(true);
        assert!(fs.lookup(0, b"ETC").unwrap().is_some());
        assert_eq!(fs.lookup(0, b"NOPE").unwrap(), None);
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn the_root_must_be_a_folder() {
        let d = tree("root");
        symlink(d.join("root"), d.join("link")).unwrap();
        assert!(HostFolder::open(&d.join("link")).is_err());
        assert!(HostFolder::open(&d.join("secret")).is_err());
        assert!(HostFolder::open(&d.join("nope")).is_err());
        let mut fs = HostFolder::open(&d.join("root")).unwrap();
        assert!(fs.stat(99).is_err());
        assert_eq!(fs.lookup(0, b"..").unwrap(), None);
        assert_eq!(fs.lookup(0, b"a/b").unwrap(), None);
        let _ = std::fs::remove_dir_all(d);
    }
}
