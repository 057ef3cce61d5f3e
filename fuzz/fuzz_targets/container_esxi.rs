//! Shared by container_cowd and container_sesparse (not a target itself): opens an ESXi snapshot
//! delta bare and through descriptors and an in-memory resolver, then reads near every edge.

use regnet_image::container::vmdk::VmdkDisk;
use regnet_image::{Counters, FileSource, ImageError, ImageLimits, NoResolver, Resolver, VirtualDisk};
use std::sync::Arc;

/// Which delta format the input is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// COWD, extent type VMFSSPARSE.
    Cowd,
    /// SEsparse, extent type SESPARSE.
    SeSparse,
}

/// Limits small enough that one input cannot stall the fuzzer.
fn limits() -> ImageLimits {
    let mut l = ImageLimits::default();
    l.max_table_bytes = 4 << 20;
    l.max_header_bytes = 256 << 10;
    l.max_bytes_read = 256 << 20;
    l
}

/// Files served from memory, by name; anything else is refused like an outside file.
struct Mem(Vec<(&'static str, Vec<u8>)>);

impl Resolver for Mem {
    fn open(&self, name: &str, what: &'static str) -> regnet_image::Result<FileSource> {
        match self.0.iter().find(|(n, _)| *n == name) {
            Some((n, bytes)) => source(n, bytes.clone()),
            None => Err(ImageError::ExternalReference { what, name: name.to_owned(), reason: "not in memory".into() }),
        }
    }
}

fn source(name: &str, bytes: Vec<u8>) -> regnet_image::Result<FileSource> {
    FileSource::new(name, Box::new(std::io::Cursor::new(bytes)), Arc::new(Counters::default()), &limits())
}

/// Reads 4 KiB (or what is left) at the start, the end, the middle, the grain-table spans' edges
/// and a spot chosen by the input.
fn exercise(disk: &mut dyn VirtualDisk, data: &[u8], span: u64) {
    let size = disk.size();
    let mut buf = vec![0u8; 4096];
    let seed = data.iter().take(64).fold(0u64, |a, &b| a.wrapping_mul(31).wrapping_add(u64::from(b)));
    let mut offs = vec![0, size / 2, size.saturating_sub(4096), size.saturating_sub(1), seed % size.max(1)];
    for k in 1..4u64 {
        offs.push((span * k).saturating_sub(7));
    }
    for off in offs {
        if off >= size {
            continue;
        }
        let len = (size - off).min(4096) as usize;
        let _ = disk.read_at(off, &mut buf[..len]);
    }
    let _ = disk.warnings();
}

fn le32(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 4).map_or(0, |s| u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]])))
}

fn le64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).map_or(0, |s| {
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        u64::from_le_bytes(a)
    })
}

/// Opens the delta bare, then as the top of base (flat or zero) ← delta.
pub fn delta(data: &[u8], kind: Kind) {
    let (capacity, span, create, extent) = match kind {
        Kind::Cowd => (le32(data, 12), le32(data, 16).max(1).saturating_mul(4096 * 512), "vmfsSparse", "VMFSSPARSE"),
        Kind::SeSparse => (le64(data, 16), 16 << 20, "seSparse", "SESPARSE"),
    };
    if let Ok(src) = source("delta.vmdk", data.to_vec()) {
        if let Ok(mut disk) = VmdkDisk::open(src, &NoResolver, &limits()) {
            exercise(&mut disk, data, span);
        }
    }
    // A small base is a flat file with a pattern; a large one a ZERO extent.
    let bytes = capacity.saturating_mul(512);
    let (base_extent, flat) = if bytes <= 1 << 20 {
        (format!("RW {capacity} VMFS \"base-flat.vmdk\""), (0..bytes).map(|i| (i / 512) as u8 ^ 0x5a).collect())
    } else {
        (format!("RW {capacity} ZERO"), Vec::new())
    };
    let base = format!(
        "# Disk DescriptorFile\nversion=1\nCID=11111111\nparentCID=ffffffff\ncreateType=\"vmfs\"\n{base_extent}\n"
    );
    // The parent's CID differs from parentCID every other input: a warning, not an error.
    let parent_cid = if data.len() % 2 == 0 { "11111111" } else { "22222222" };
    let top = format!(
        "# Disk DescriptorFile\nversion=1\nCID=33333333\nparentCID={parent_cid}\ncreateType=\"{create}\"\n\
         parentFileNameHint=\"base.vmdk\"\nRW {capacity} {extent} \"delta.vmdk\"\n"
    );
    let mem = Mem(vec![
        ("base.vmdk", base.into_bytes()),
        ("base-flat.vmdk", flat),
        ("delta.vmdk", data.to_vec()),
    ]);
    if let Ok(src) = source("top.vmdk", top.into_bytes()) {
        if let Ok(mut disk) = VmdkDisk::open(src, &mem, &limits()) {
            exercise(&mut disk, data, span);
        }
    }
}
