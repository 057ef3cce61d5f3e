//! Fuzz target: the guest view's path rules over a file tree the input describes, one entry a
//! line: `f PATH DATA` (a file), `l PATH TARGET` (a link), `d PATH` (a folder), `s PATH NAME` (the
//! folder PATH gains an entry NAME naming the root: a folder that contains itself), then lookups:
//! `r PATH` (read), `n PATH` (resolve without the last link), `L PATH` (list), `k PATH` (read a link).
//! Every lookup must end in a result or an error, within the limits, whatever the links do.
#![no_main]
use regnet_image::guest::{GuestLimits, GuestView, MemoryFs, NodeKind};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut fs = MemoryFs::new();
    let mut lookups = Vec::new();
    for line in text.lines().take(512) {
        let mut parts = line.splitn(3, ' ');
        let (Some(op), Some(path)) = (parts.next(), parts.next()) else { continue };
        let rest = parts.next().unwrap_or("");
        match op {
            "f" => {
                fs.add_file(path, rest.as_bytes());
            }
            "l" => {
                fs.add_link(path, rest);
            }
            "d" => {
                fs.add_dir(path);
            }
            "s" => {
                let dir = fs.add_dir(path);
                fs.link_node(dir, rest.as_bytes(), 0);
            }
            "r" | "n" | "L" | "k" => lookups.push((op.to_owned(), path.to_owned())),
            _ => {}
        }
    }
    let limits = GuestLimits::default();
    let mut view = GuestView::new(Box::new(fs), limits);
    for (op, path) in lookups.iter().take(64) {
        match op.as_str() {
            "r" => {
                if let Ok(bytes) = view.read(path) {
                    assert!(bytes.len() as u64 <= limits.max_file_bytes);
                }
            }
            "n" => {
                let _ = view.resolve_nofollow(path);
            }
            "L" => {
                if let Ok(entries) = view.list(path) {
                    assert!(entries.len() <= limits.max_dir_entries);
                    assert!(entries.iter().all(|e| e.name != b"." && e.name != b".."));
                }
            }
            _ => {
                if let Ok(t) = view.read_link(path) {
                    assert!(t.len() <= limits.max_link_bytes);
                }
            }
        }
        if let Ok(node) = view.resolve(path) {
            assert_ne!(node.kind, NodeKind::Symlink, "resolve follows every link");
        }
    }
});
