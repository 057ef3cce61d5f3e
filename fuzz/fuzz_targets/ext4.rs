//! Fuzz target: the input is an ext2/ext3/ext4 volume. Open it, walk the tree from the root
//! (bounded breadth and depth, each node once), read every file's first and last 4 KiB and every
//! link, then resolve a few paths through the guest view.
#![no_main]

use regnet_image::ext4::{probe, Ext4Fs};
use regnet_image::guest::{FileSystem, GuestView, NodeKind};
use regnet_image::{ImageError, ImageLimits, Volume};
use std::collections::HashSet;

struct Mem(Vec<u8>);

impl Volume for Mem {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> regnet_image::Result<()> {
        let src = usize::try_from(offset)
            .ok()
            .and_then(|s| self.0.get(s..s.checked_add(buf.len())?))
            .ok_or(ImageError::OutOfRange { what: "input", offset, len: buf.len() as u64, size: self.0.len() as u64 })?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

fn limits() -> ImageLimits {
    let mut l = ImageLimits::default();
    l.max_ext4_read_bytes = 64 << 20;
    l.max_ext4_dir_bytes = 1 << 20;
    l
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut v = Mem(data.to_vec());
    let _ = probe(&mut v);
    let Ok(mut fs) = Ext4Fs::open(Box::new(v), &limits()) else { return };
    let _ = (fs.label(), fs.uuid_string(), fs.warnings(), fs.block_size(), format!("{fs:?}"));
    let mut seen = HashSet::new();
    let mut stack = vec![(fs.root(), 0u32)];
    let mut buf = vec![0u8; 4096];
    while let Some((node, depth)) = stack.pop() {
        if seen.len() >= 2000 || !seen.insert(node) {
            continue;
        }
        let Ok(info) = fs.stat(node) else { continue };
        match info.kind {
            NodeKind::Dir => {
                if let Ok(entries) = fs.read_dir(node, 1000) {
                    if let Some(e) = entries.first() {
                        let _ = fs.lookup(node, &e.name);
                    }
                    if depth < 16 {
                        stack.extend(entries.iter().map(|e| (e.id, depth + 1)));
                    }
                }
                let _ = fs.lookup(node, b"os-release");
            }
            NodeKind::File => {
                let _ = fs.read_at(node, 0, &mut buf);
                let _ = fs.read_at(node, info.size.saturating_sub(4096), &mut buf);
            }
            NodeKind::Symlink => {
                let _ = fs.read_link(node, 4096);
            }
            _ => {}
        }
    }
    let mut g = GuestView::new(Box::new(fs), Default::default());
    for p in ["/etc/os-release", "/usr/lib/os-release", "/etc/hostname"] {
        if let Ok(n) = g.resolve(p) {
            if n.size <= 1 << 20 {
                let _ = g.read(p);
            }
        }
    }
    let _ = g.list("/etc");
    let _ = g.read_link("/etc/os-release");
});
