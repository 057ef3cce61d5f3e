//! Shared code of the fuzz targets: each target is a thin `fuzz_target!` over a function here.

use regnet_hive::{Hive, Limits, LogFile, OpenOptions};

/// Limits small enough that one input cannot stall the fuzzer.
pub fn limits() -> Limits {
    let mut l = Limits::default();
    l.max_hive_size = 16 << 20;
    l.max_log_size = 16 << 20;
    l.max_value_size = 4 << 20;
    l.max_cells_visited = 2_000_000;
    l
}

/// Reads everything a consumer could read from an open hive.
pub fn exercise(hive: &Hive<'_>) {
    let _ = hive.key("ControlSet001\\Services\\Tcpip\\Parameters\\Interfaces");
    let _ = hive.key("Select").and_then(|k| k.value("Current"));
    let mut walk = hive.walk();
    while let Some(e) = walk.next_entry() {
        let Ok(e) = e else { continue };
        let key = e.key;
        let _ = key.name().to_string_lossy();
        let _ = key.class_name_string();
        let _ = key.subkey("a");
        for v in key.values() {
            let Ok(v) = v else { continue };
            let _ = v.name().to_string_lossy();
            let _ = v.data();
            let _ = v.string();
            let _ = v.multi_string();
            let _ = v.u32();
            let _ = v.u64();
        }
    }
}

/// Opens `data` as a hive with no logs and walks it.
pub fn hive_walk(data: &[u8]) {
    let opts = OpenOptions::new().limits(limits());
    if let Ok(h) = Hive::open_with(data, &opts) {
        exercise(&h);
    }
}

/// Splits the input into a primary and two logs (u32 length prefixes), and
/// optionally re-seals the HvLE hashes so that fuzzing reaches the replay
/// logic behind them.
pub fn log_replay(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else { return };
    let (primary, rest) = take_prefixed(rest);
    let (log1, log2) = take_prefixed(rest);
    let mut log1 = log1.to_vec();
    let mut log2 = log2.to_vec();
    if flags & 1 != 0 {
        reseal(&mut log1);
        reseal(&mut log2);
    }
    let opts = OpenOptions::new().limits(limits()).log(LogFile::new("LOG1", &log1)).log(LogFile::new("LOG2", &log2));
    if let Ok(h) = Hive::open_with(primary, &opts) {
        exercise(&h);
    }
}

fn take_prefixed(data: &[u8]) -> (&[u8], &[u8]) {
    let Some(len) = data.get(..4) else { return (data, &[]) };
    let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
    let rest = &data[4..];
    let len = len.min(rest.len());
    rest.split_at(len)
}

/// Recomputes Hash-1 and Hash-2 of every HvLE entry that fits, walking by the entries' own sizes.
pub fn reseal(log: &mut [u8]) {
    let mut off = 512usize;
    while off + 40 <= log.len() && &log[off..off + 4] == b"HvLE" {
        let size = u32::from_le_bytes([log[off + 4], log[off + 5], log[off + 6], log[off + 7]]) as usize;
        if size < 40 || off + size > log.len() {
            return;
        }
        let h1 = regnet_hive::marvin32(regnet_hive::REGISTRY_SEED, &log[off + 40..off + size]);
        log[off + 24..off + 32].copy_from_slice(&h1.to_le_bytes());
        let h2 = regnet_hive::marvin32(regnet_hive::REGISTRY_SEED, &log[off..off + 32]);
        log[off + 32..off + 40].copy_from_slice(&h2.to_le_bytes());
        if size == 0 {
            return;
        }
        off += size;
    }
}

/// Builds a log_replay input from files (for seeding the corpus).
pub fn pack(primary: &[u8], log1: &[u8], log2: &[u8], reseal: bool) -> Vec<u8> {
    let mut v = vec![u8::from(reseal)];
    v.extend_from_slice(&(primary.len() as u32).to_le_bytes());
    v.extend_from_slice(primary);
    v.extend_from_slice(&(log1.len() as u32).to_le_bytes());
    v.extend_from_slice(log1);
    v.extend_from_slice(log2);
    v
}
