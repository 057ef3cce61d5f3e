//! Fuzz target: an XFS volume. Open it, walk the tree (bounded breadth and depth), read each
//! file's first and last 4 KiB, read each link, and read /etc/os-release through the guest view.
//!
//! XFS needs at least 300 MiB to make, and its metadata is spread over the allocation groups, so
//! the input is one of two shapes:
//! - starting with `XFSB`: the volume's first bytes, the rest zeros up to the size its superblock
//!   claims (capped at 1 TiB; zeros cost nothing, reads fill only the reader's buffers);
//! - otherwise a sparse volume: records of a big-endian u32 sector number and that 512-byte
//!   sector, every other sector zeros (fuzz/seed.py packs real mkfs.xfs images so).
#![no_main]

use regnet_image::guest::{FileSystem, GuestView, NodeKind};
use regnet_image::xfs::XfsFs;
use regnet_image::{ImageLimits, Result, Volume};
use std::collections::BTreeMap;

const SECTOR: usize = 512;
const RECORD: usize = 4 + SECTOR;
const MAX_LEN: u64 = 1 << 40;

struct Sparse {
    data: Vec<u8>,
    /// sector → offset of its bytes in `data` (packed form); empty for the raw form.
    sectors: BTreeMap<u64, usize>,
    raw: bool,
    len: u64,
}

impl Sparse {
    fn new(input: &[u8]) -> Sparse {
        let raw = input.starts_with(b"XFSB");
        let mut sectors = BTreeMap::new();
        if !raw {
            for (i, rec) in input.chunks_exact(RECORD).enumerate() {
                let n = u32::from_be_bytes([rec[0], rec[1], rec[2], rec[3]]);
                sectors.insert(u64::from(n), i * RECORD + 4);
            }
        }
        let mut v = Sparse { data: input.to_vec(), sectors, raw, len: 0 };
        let mut sb = [0u8; 128];
        v.fill(0, &mut sb);
        let dblocks = u64::from_be_bytes(sb[8..16].try_into().unwrap_or_default());
        let claimed = dblocks.checked_shl(u32::from(sb[120].min(16))).unwrap_or(MAX_LEN).min(MAX_LEN);
        let present =
            if raw { input.len() as u64 } else { v.sectors.keys().next_back().map_or(0, |s| (s + 1) * SECTOR as u64) };
        v.len = claimed.max(present);
        v
    }

    fn fill(&self, offset: u64, buf: &mut [u8]) {
        if self.raw {
            buf.fill(0);
            let start = usize::try_from(offset).unwrap_or(usize::MAX).min(self.data.len());
            let src = &self.data[start..];
            let n = src.len().min(buf.len());
            buf[..n].copy_from_slice(&src[..n]);
            return;
        }
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset + done as u64;
            let sector = pos / SECTOR as u64;
            let within = (pos % SECTOR as u64) as usize;
            let n = (SECTOR - within).min(buf.len() - done);
            let dst = &mut buf[done..done + n];
            match self.sectors.get(&sector) {
                Some(&at) => dst.copy_from_slice(&self.data[at + within..at + within + n]),
                None => dst.fill(0),
            }
            done += n;
        }
    }
}

impl Volume for Sparse {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        if offset.checked_add(buf.len() as u64).is_none_or(|e| e > self.len) {
            return Err(regnet_image::ImageError::OutOfRange {
                what: "fuzz volume",
                offset,
                len: buf.len() as u64,
                size: self.len,
            });
        }
        self.fill(offset, buf);
        Ok(())
    }
}

fn limits() -> ImageLimits {
    let mut l = ImageLimits::default();
    l.max_bytes_read = 256 << 20;
    l.max_table_bytes = 8 << 20;
    l
}

fn walk(fs: &mut XfsFs) {
    let mut stack = vec![(fs.root(), 0u32)];
    let mut nodes = 0u32;
    let mut buf = vec![0u8; 4096];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = fs.read_dir(dir, 512) else { continue };
        for e in entries {
            nodes += 1;
            if nodes > 256 {
                return;
            }
            let Ok(info) = fs.stat(e.id) else { continue };
            match info.kind {
                NodeKind::Dir if depth < 6 => stack.push((e.id, depth + 1)),
                NodeKind::File => {
                    let _ = fs.read_at(e.id, 0, &mut buf);
                    let _ = fs.read_at(e.id, info.size.saturating_sub(4096), &mut buf);
                }
                NodeKind::Symlink => {
                    let _ = fs.read_link(e.id, 4096);
                }
                _ => {}
            }
            let _ = fs.lookup(dir, &e.name);
        }
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let vol = Sparse::new(data);
    let Ok(mut fs) = XfsFs::open(Box::new(vol), &limits()) else { return };
    let _ = fs.label();
    let _ = fs.warnings();
    walk(&mut fs);
    let mut g = GuestView::new(Box::new(fs), Default::default());
    let _ = g.read("/etc/os-release");
    let _ = g.list("/etc");
});
