//! Memory-mapped input files for `regnet hive`: only the pages the report reads are loaded. The
//! mappings are read-only: log replay never writes into the hive, it reads the pages the logs
//! changed from the logs themselves. The library stays free of `unsafe`; this module is the one
//! place the command uses it.

use std::fs::File;
use std::path::Path;

/// A file's bytes: a read-only mapping, or (for empty or unmappable files) a buffer.
pub enum Bytes {
    /// Mapped read-only.
    Mapped(memmap2::Mmap),
    /// Read into memory.
    Read(Vec<u8>),
}

impl Bytes {
    /// The bytes.
    pub fn as_ref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => &m[..],
            Bytes::Read(v) => v,
        }
    }
}

/// Opens `path` read-only and maps it; falls back to reading it when it cannot be mapped.
pub fn open(path: &Path) -> std::io::Result<Bytes> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(Bytes::Read(Vec::new()));
    }
    // SAFETY: the file is opened and mapped read-only, so nothing this process does reaches the
    // file. Another process truncating or rewriting the file while it is mapped could change or
    // remove pages under us; the parser treats every byte as hostile and checks every offset, so
    // changed bytes give at worst a wrong report or a typed error, and the command is meant for
    // image files and copies that nothing else is writing (use `--no-mmap` otherwise).
    match unsafe { memmap2::MmapOptions::new().map(&file) } {
        Ok(m) => Ok(Bytes::Mapped(m)),
        Err(_) => std::fs::read(path).map(Bytes::Read),
    }
}

/// Reads `path` whole, after checking that it is no larger than `max` bytes (so that a huge file
/// is refused before anything is allocated for it).
pub fn read_within(path: &Path, max: u64) -> std::io::Result<Bytes> {
    let len = std::fs::metadata(path)?.len();
    if len > max {
        return Err(std::io::Error::other(format!("{len} bytes is over the limit of {max} bytes")));
    }
    std::fs::read(path).map(Bytes::Read)
}
