//! Memory-mapped input files for `regnet hive`: only the pages the report reads are loaded, and
//! log replay writes into a private copy-on-write mapping, so only the pages the logs change are
//! copied. The library stays free of `unsafe`; this module is the one place the command uses it.

use std::fs::File;
use std::path::Path;

/// A file's bytes: a private copy-on-write mapping, or (for empty or unmappable files) a buffer.
pub enum Bytes {
    /// Mapped privately: writes stay in this process and never reach the file.
    Mapped(memmap2::MmapMut),
    /// Read into memory.
    Read(Vec<u8>),
}

impl Bytes {
    /// The bytes, writable (a write to a mapping copies that page for this process only).
    pub fn as_mut(&mut self) -> &mut [u8] {
        match self {
            Bytes::Mapped(m) => &mut m[..],
            Bytes::Read(v) => v,
        }
    }
    /// The bytes.
    pub fn as_ref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => &m[..],
            Bytes::Read(v) => v,
        }
    }
}

/// Opens `path` read-only and maps it privately; falls back to reading it when it cannot be mapped.
pub fn open(path: &Path) -> std::io::Result<Bytes> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(Bytes::Read(Vec::new()));
    }
    // SAFETY: the mapping is private (MAP_PRIVATE), so nothing this process writes reaches the file,
    // and the file is opened read-only. Another process truncating or rewriting the file while it is
    // mapped could change or remove pages under us; the parser treats every byte as hostile and
    // checks every offset, so changed bytes give at worst a wrong report or a typed error, and the
    // command is meant for image files and copies that nothing else is writing (use `--no-mmap`
    // otherwise).
    match unsafe { memmap2::MmapOptions::new().map_copy(&file) } {
        Ok(m) => Ok(Bytes::Mapped(m)),
        Err(_) => std::fs::read(path).map(Bytes::Read),
    }
}
