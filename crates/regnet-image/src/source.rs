//! The files under a virtual disk: positional reads with byte accounting, and the policy for the
//! other files an image may name (extents, backing files, parents).

use crate::error::{ImageError, Result};
use crate::limits::ImageLimits;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Anything a backup server can hand in: a file, a stream over its backup store, a cursor.
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

/// Bytes and reads done on the image file(s), shared by every source of one image.
#[derive(Debug, Default)]
pub struct Counters {
    bytes: AtomicU64,
    reads: AtomicU64,
}

impl Counters {
    /// Bytes read from the image file(s) so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
    /// Read calls made so far.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }
}

/// One underlying file (or caller stream): positional, bounds-checked reads, counted.
pub struct FileSource {
    name: String,
    inner: Box<dyn ReadSeek>,
    len: u64,
    counters: Arc<Counters>,
    max_bytes_read: u64,
}

impl std::fmt::Debug for FileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSource").field("name", &self.name).field("len", &self.len).finish()
    }
}

impl FileSource {
    /// Wraps a stream; its length is found by seeking to the end.
    pub fn new(
        name: impl Into<String>,
        mut inner: Box<dyn ReadSeek>,
        counters: Arc<Counters>,
        limits: &ImageLimits,
    ) -> Result<Self> {
        let name = name.into();
        let len = inner.seek(SeekFrom::End(0)).map_err(|e| ImageError::io(format!("{name}: finding its size"), e))?;
        Ok(FileSource { name, inner, len, counters, max_bytes_read: limits.max_bytes_read })
    }

    /// Opens a file on disk.
    pub fn open_path(path: &Path, counters: Arc<Counters>, limits: &ImageLimits) -> Result<Self> {
        let f = std::fs::File::open(path).map_err(|e| ImageError::io(path.display().to_string(), e))?;
        Self::new(path.display().to_string(), Box::new(f), counters, limits)
    }

    /// The name used in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Length of the file in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for an empty file.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The shared counters.
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// Reads exactly `buf.len()` bytes at `offset`; a range past the end of the file is
    /// [`ImageError::Truncated`] naming `what`.
    pub fn read_exact_at(&mut self, offset: u64, buf: &mut [u8], what: &'static str) -> Result<()> {
        let n = buf.len() as u64;
        let end = offset.checked_add(n);
        if end.is_none_or(|e| e > self.len) {
            return Err(ImageError::Truncated { what, offset, needed: n, available: self.len.saturating_sub(offset) });
        }
        let total = self.counters.bytes.fetch_add(n, Ordering::Relaxed).saturating_add(n);
        self.counters.reads.fetch_add(1, Ordering::Relaxed);
        ImageLimits::check("max_bytes_read", total, self.max_bytes_read)?;
        self.inner
            .seek(SeekFrom::Start(offset))
            .map_err(|e| ImageError::io(format!("{}: seeking to {offset:#x}", self.name), e))?;
        self.inner
            .read_exact(buf)
            .map_err(|e| ImageError::io(format!("{}: reading {n} bytes at {offset:#x}", self.name), e))
    }

    /// Reads `len` bytes at `offset` into a new buffer, after checking `len` against `max`
    /// (the limit named `limit`).
    pub fn read_vec_at(
        &mut self,
        offset: u64,
        len: u64,
        what: &'static str,
        limit: &'static str,
        max: u64,
    ) -> Result<Vec<u8>> {
        ImageLimits::check(limit, len, max)?;
        let n = usize::try_from(len).map_err(|_| ImageError::LimitExceeded { limit, value: len, max })?;
        let mut v = Vec::new();
        v.try_reserve_exact(n).map_err(|_| ImageError::LimitExceeded { limit, value: len, max })?;
        v.resize(n, 0);
        self.read_exact_at(offset, &mut v, what)?;
        Ok(v)
    }
}

/// Opens the other files an image names (VMDK extents, qcow2 backing files, VHD/VHDX parents).
pub trait Resolver: Send + Sync {
    /// Opens `name` as stored in the image (`what` says which kind of reference it is), or refuses.
    fn open(&self, name: &str, what: &'static str) -> Result<FileSource>;
    /// False for a resolver that refuses every file (an image handed in as a stream): name-based
    /// detection (split raw pieces) is then skipped.
    fn opens_files(&self) -> bool {
        true
    }
}

/// For images handed in as a stream: every external reference is refused.
#[derive(Debug, Default)]
pub struct NoResolver;

impl Resolver for NoResolver {
    fn open(&self, name: &str, what: &'static str) -> Result<FileSource> {
        Err(ImageError::ExternalReference {
            what,
            name: name.to_owned(),
            reason: "the image was given as a stream, so no other file may be opened".into(),
        })
    }
    fn opens_files(&self) -> bool {
        false
    }
}

/// Opens references only inside the image's own folder (and folders the caller allows), so that a
/// tenant's image can never make regnet read another file of the host.
pub struct DirResolver {
    base: PathBuf,
    allowed: Vec<PathBuf>,
    counters: Arc<Counters>,
    limits: ImageLimits,
    opened: Mutex<u32>,
}

impl DirResolver {
    /// References resolve relative to `base` (the image's folder) and must stay inside it or one
    /// of `allowed`.
    pub fn new(base: &Path, allowed: &[PathBuf], counters: Arc<Counters>, limits: ImageLimits) -> Self {
        DirResolver { base: base.to_owned(), allowed: allowed.to_vec(), counters, limits, opened: Mutex::new(0) }
    }

    fn refuse(name: &str, what: &'static str, reason: impl Into<String>) -> ImageError {
        ImageError::ExternalReference { what, name: name.to_owned(), reason: reason.into() }
    }

    /// Where `name` would resolve, if the policy allows it.
    pub fn resolve(&self, name: &str, what: &'static str) -> Result<PathBuf> {
        if name.is_empty() || name.contains('\0') {
            return Err(Self::refuse(name, what, "empty or contains NUL"));
        }
        // qemu-style protocol names (`json:{...}`, `nbd://`, `http:`...) name no file.
        let scheme = name.split_once(':').map(|(s, _)| s);
        if scheme.is_some_and(|s| s.len() > 1 && s.chars().all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))) {
            return Err(Self::refuse(name, what, "protocol or pseudo-file names are not files"));
        }
        let p = Path::new(name);
        // Absolute names and `..` are allowed only if they still land inside an allowed folder,
        // which the canonical path decides (symbolic links included).
        let candidate = if p.is_absolute() { p.to_owned() } else { self.base.join(p) };
        let real = candidate.canonicalize().map_err(|e| Self::refuse(name, what, format!("cannot be opened: {e}")))?;
        let mut roots = vec![self.base.clone()];
        roots.extend(self.allowed.iter().cloned());
        let inside = roots.iter().filter_map(|r| r.canonicalize().ok()).any(|r| real.starts_with(&r));
        if !inside {
            return Err(Self::refuse(
                name,
                what,
                format!(
                    "{} is outside {}, the folder of the file that names it; allow its folder explicitly (--allow-dir) to follow it",
                    real.display(),
                    self.base.canonicalize().unwrap_or_else(|_| self.base.clone()).display()
                ),
            ));
        }
        if !real.is_file() {
            return Err(Self::refuse(name, what, "not a regular file"));
        }
        Ok(real)
    }
}

impl Resolver for DirResolver {
    fn open(&self, name: &str, what: &'static str) -> Result<FileSource> {
        let path = self.resolve(name, what)?;
        {
            let mut n = self.opened.lock().map_err(|_| ImageError::Unsupported("resolver lock poisoned".into()))?;
            *n += 1;
            // Evidence sets (EWF segments, split pieces) open up to `max_segments` files.
            let most = (u64::from(self.limits.max_chain_depth) * 64).max(u64::from(self.limits.max_segments) + 64);
            ImageLimits::check("max_chain_depth", u64::from(*n), most)?;
        }
        FileSource::open_path(&path, self.counters.clone(), &self.limits)
    }
}
