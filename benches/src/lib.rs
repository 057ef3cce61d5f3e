//! Inputs for regnet's benchmarks: the corpus hives when `../shared/corpus`
//! is present, else the example hive in testdata.

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The big hive to walk: regipy's 11.7 MB Windows 7 SYSTEM when present, else the bundled example.
pub fn big_hive() -> (String, Vec<u8>) {
    let corpus = root().join("../shared/corpus/regipy/SYSTEM");
    let path = if corpus.is_file() {
        corpus
    } else {
        eprintln!("note: {} is absent; benchmarking the bundled example hive", corpus.display());
        root().join("testdata/example/SYSTEM")
    };
    let bytes = std::fs::read(&path).unwrap_or_default();
    (path.display().to_string(), bytes)
}

/// A dirty hive and its logs: the 12.8 MB Windows 10 SYSTEM_B with its 6.4 MB of logs when
/// present, else the bundled example. Returns (name, primary, [LOG1, LOG2]).
pub fn dirty_hive() -> (String, Vec<u8>, [Vec<u8>; 2]) {
    let corpus = root().join("../shared/corpus/regipy/SYSTEM_B");
    let path = if corpus.is_file() {
        corpus
    } else {
        eprintln!("note: {} is absent; benchmarking the bundled example hive and logs", corpus.display());
        root().join("testdata/example/SYSTEM")
    };
    let read = |ext: &str| std::fs::read(format!("{}{ext}", path.display())).unwrap_or_default();
    (path.display().to_string(), read(""), [read(".LOG1"), read(".LOG2")])
}

/// The bodies of the valid-looking HvLE entries of a new-format log (what Hash-1 covers).
pub fn hvle_bodies(log: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut off = 512usize;
    while let Some(head) = log.get(off..off + 8).filter(|h| h.starts_with(b"HvLE")) {
        let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        match log.get(off + 40..off + size) {
            Some(body) if size >= 512 => out.push(body),
            _ => break,
        }
        off += size;
    }
    out
}

/// Walks every key and value with regnet-hive; returns (keys, values, data bytes).
pub fn regnet_walk(bytes: &[u8]) -> (u64, u64, u64) {
    let Ok(hive) = regnet_hive::Hive::open(bytes) else { return (0, 0, 0) };
    let (mut keys, mut values, mut data) = (0u64, 0u64, 0u64);
    let mut walk = hive.walk();
    while let Some(e) = walk.next_entry() {
        let Ok(e) = e else { continue };
        keys += 1;
        for v in e.key.values().flatten() {
            values += 1;
            data += v.data().map_or(0, |d| d.len() as u64);
        }
    }
    (keys, values, data)
}
