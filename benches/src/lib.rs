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
