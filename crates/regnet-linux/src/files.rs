//! Access to the guest's files.

use std::collections::BTreeMap;

/// Why a guest file could not be read (its absence is not an error: readers get `None`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FilesError {
    /// Larger than the reader allows.
    #[error("{path}: {size} bytes, more than the {max} allowed")]
    TooBig {
        /// The file.
        path: String,
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// Anything else (a link loop, a damaged file system).
    #[error("{path}: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Link,
    /// Anything else.
    Other,
}

/// A directory's entries: names and kinds.
pub type Listing = Vec<(Vec<u8>, FileKind)>;

/// The guest's files, by absolute path inside the guest. Links resolve inside the guest; a link
/// that leads nowhere (into `/run`, which does not exist on a disk at rest) reads as absent.
pub trait GuestFiles {
    /// The file's bytes, or `None` when there is no such file; more than `max` bytes is
    /// [`FilesError::TooBig`], checked before reading.
    fn read(&mut self, path: &str, max: u64) -> Result<Option<Vec<u8>>, FilesError>;
    /// The names in a directory (sorted by name, without `.` and `..`), or `None` when there is
    /// no such directory.
    fn list(&mut self, dir: &str) -> Result<Option<Listing>, FilesError>;
    /// The target of a link (not followed), or `None` when `path` is not a link.
    fn read_link(&mut self, path: &str) -> Result<Option<Vec<u8>>, FilesError>;
    /// The owner's user ID and the permission bits (`0o600`), when the file exists and the file
    /// system records them.
    fn owner_mode(&mut self, path: &str) -> Result<Option<(u32, u32)>, FilesError>;
}

#[derive(Debug, Clone)]
enum Node {
    File { data: Vec<u8>, uid: u32, mode: u32 },
    Link(String),
    Dir,
}

/// A guest tree in memory, for tests and examples. Links are resolved inside the tree (absolute
/// targets from its root, at most 40 per lookup).
///
/// ```
/// use regnet_linux::{GuestFiles, MemFiles};
/// let mut files = MemFiles::new();
/// files.file("/usr/lib/os-release", "ID=debian\n");
/// files.link("/etc/os-release", "../usr/lib/os-release");
/// assert_eq!(files.read("/etc/os-release", 1024).unwrap().as_deref(), Some(&b"ID=debian\n"[..]));
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemFiles {
    nodes: BTreeMap<String, Node>,
}

impl MemFiles {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file owned by root with mode 0644.
    pub fn file(&mut self, path: &str, data: impl AsRef<[u8]>) -> &mut Self {
        self.file_with(path, data, 0, 0o644)
    }

    /// Adds a file with an owner and mode.
    pub fn file_with(&mut self, path: &str, data: impl AsRef<[u8]>, uid: u32, mode: u32) -> &mut Self {
        self.parents(path);
        self.nodes.insert(norm(path), Node::File { data: data.as_ref().to_vec(), uid, mode });
        self
    }

    /// Adds a link.
    pub fn link(&mut self, path: &str, target: &str) -> &mut Self {
        self.parents(path);
        self.nodes.insert(norm(path), Node::Link(target.to_owned()));
        self
    }

    /// Adds a directory.
    pub fn dir(&mut self, path: &str) -> &mut Self {
        self.parents(path);
        self.nodes.insert(norm(path), Node::Dir);
        self
    }

    fn parents(&mut self, path: &str) {
        let p = norm(path);
        let mut at = String::new();
        for c in p.split('/').filter(|c| !c.is_empty()).collect::<Vec<_>>().split_last().map_or(&[][..], |(_, r)| r) {
            at.push('/');
            at.push_str(c);
            self.nodes.entry(at.clone()).or_insert(Node::Dir);
        }
    }

    /// The path with every link resolved, or `None` when something on the way is missing.
    fn resolve(&self, path: &str, follow_last: bool) -> Result<Option<String>, FilesError> {
        let mut pending: Vec<String> =
            norm(path).split('/').filter(|c| !c.is_empty()).rev().map(str::to_owned).collect();
        let mut done: Vec<String> = Vec::new();
        let mut links = 0;
        while let Some(c) = pending.pop() {
            match c.as_str() {
                "." => continue,
                ".." => {
                    done.pop();
                    continue;
                }
                _ => {}
            }
            let here = format!("/{}", done.iter().chain(std::iter::once(&c)).cloned().collect::<Vec<_>>().join("/"));
            match self.nodes.get(&here) {
                None => return Ok(None),
                Some(Node::Link(t)) if follow_last || !pending.is_empty() => {
                    links += 1;
                    if links > 40 {
                        return Err(FilesError::Unreadable { path: path.to_owned(), reason: "too many links".into() });
                    }
                    if t.starts_with('/') {
                        done.clear();
                    }
                    pending.extend(t.split('/').filter(|c| !c.is_empty()).rev().map(str::to_owned));
                }
                Some(_) => done.push(c),
            }
        }
        Ok(Some(format!("/{}", done.join("/"))))
    }
}

fn norm(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    format!("/{}", parts.join("/"))
}

impl GuestFiles for MemFiles {
    fn read(&mut self, path: &str, max: u64) -> Result<Option<Vec<u8>>, FilesError> {
        let Some(real) = self.resolve(path, true)? else { return Ok(None) };
        match self.nodes.get(&real) {
            Some(Node::File { data, .. }) => {
                if data.len() as u64 > max {
                    return Err(FilesError::TooBig { path: path.to_owned(), size: data.len() as u64, max });
                }
                Ok(Some(data.clone()))
            }
            _ => Ok(None),
        }
    }

    fn list(&mut self, dir: &str) -> Result<Option<Listing>, FilesError> {
        let Some(real) = self.resolve(dir, true)? else { return Ok(None) };
        if !matches!(self.nodes.get(&real), Some(Node::Dir)) && real != "/" {
            return Ok(None);
        }
        let prefix = if real == "/" { "/".to_owned() } else { format!("{real}/") };
        let mut out = Vec::new();
        for (p, n) in self.nodes.range(prefix.clone()..) {
            let Some(rest) = p.strip_prefix(&prefix) else { break };
            if rest.is_empty() || rest.contains('/') {
                continue;
            }
            let kind = match n {
                Node::File { .. } => FileKind::File,
                Node::Link(_) => FileKind::Link,
                Node::Dir => FileKind::Dir,
            };
            out.push((rest.as_bytes().to_vec(), kind));
        }
        Ok(Some(out))
    }

    fn read_link(&mut self, path: &str) -> Result<Option<Vec<u8>>, FilesError> {
        let Some(real) = self.resolve(path, false)? else { return Ok(None) };
        match self.nodes.get(&real) {
            Some(Node::Link(t)) => Ok(Some(t.as_bytes().to_vec())),
            _ => Ok(None),
        }
    }

    fn owner_mode(&mut self, path: &str) -> Result<Option<(u32, u32)>, FilesError> {
        let Some(real) = self.resolve(path, true)? else { return Ok(None) };
        match self.nodes.get(&real) {
            Some(Node::File { uid, mode, .. }) => Ok(Some((*uid, *mode))),
            Some(Node::Dir) => Ok(Some((0, 0o755))),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_tree_resolves_links_inside_itself() {
        let mut f = MemFiles::new();
        f.file("/usr/lib/os-release", "ID=x\n").link("/etc/os-release", "../usr/lib/os-release");
        f.link("/etc/resolv.conf", "../run/systemd/resolve/stub-resolv.conf");
        f.link("/etc/loop", "loop");
        f.link("/etc/up", "../../../../usr/lib/os-release");
        f.file_with("/etc/NetworkManager/system-connections/a.nmconnection", "x", 0, 0o600);
        assert_eq!(f.read("/etc/os-release", 100).unwrap().unwrap(), b"ID=x\n");
        assert_eq!(f.read("/etc/up", 100).unwrap().unwrap(), b"ID=x\n");
        assert_eq!(f.read("/etc/resolv.conf", 100).unwrap(), None);
        assert_eq!(f.read_link("/etc/resolv.conf").unwrap().unwrap(), b"../run/systemd/resolve/stub-resolv.conf");
        assert!(f.read("/etc/loop", 100).is_err());
        assert!(matches!(f.read("/etc/os-release", 2), Err(FilesError::TooBig { .. })));
        let names: Vec<Vec<u8>> = f.list("/etc").unwrap().unwrap().into_iter().map(|e| e.0).collect();
        assert_eq!(
            names,
            [
                b"NetworkManager".to_vec(),
                b"loop".to_vec(),
                b"os-release".to_vec(),
                b"resolv.conf".to_vec(),
                b"up".to_vec()
            ]
        );
        assert_eq!(f.owner_mode("/etc/NetworkManager/system-connections/a.nmconnection").unwrap(), Some((0, 0o600)));
        assert_eq!(f.list("/nope").unwrap(), None);
    }
}
