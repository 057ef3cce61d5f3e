//! Differential test: regnet-hive against nt-hive 0.3.0 (Colin Finck's
//! zero-copy regf reader) on the real hives of the shared corpus.
//!
//! nt-hive is GPL-2.0-or-later. It is a **dev-dependency only** (a test
//! oracle); it must never become a normal dependency of regnet-hive
//! (`cargo tree -e normal -p regnet-hive` must not show it).
//!
//! Every key of each hive is walked with both libraries (both iteratively:
//! regnet-hive's `Walk`, and an explicit stack over nt-hive's `subkeys()`),
//! giving a multiset of keys `path -> [(value name, raw type, data bytes)]`.
//! The two must agree on every key path, every key and value name (both as
//! the decoded string and as the stored bytes with their Latin-1/UTF-16
//! flag), every raw type number and every data byte.
//!
//! The hives are read from `../shared/corpus` beside the workspace (never
//! copied into the project); when that folder is absent the tests print why
//! and pass.
//!
//! Notes on nt-hive 0.3.0 that shape this test:
//! - `KeyValue::data_type()` only knows REG_NONE..REG_QWORD; for any other
//!   number (real SYSTEM hives hold e.g. 0xFFFF0010 and 0x20001 in DEVPROPKEY
//!   values) it returns `UnsupportedKeyValueDataType { actual }`, whose
//!   `actual` is the raw number. The test takes the number from there.
//! - `KeyValue::data()` asserts that the data offset is not 0xFFFFFFFF
//!   (`assert!(data_offset != u32::MAX)`, hive.rs:117), so it panics on the
//!   tombstone values of layered-key hives (`yarp/System_Delta`), see
//!   docs/HOSTILE-INPUTS.md §2.1. It also panics on several crafted inputs
//!   (cell size 0; a file that does not start with `regf`). Every nt-hive
//!   walk runs under `catch_unwind`, so such a panic fails the test with a
//!   clear message rather than aborting it; none happens on the hives below.
//! - nt-hive reads `db` big data for every value over 16344 bytes and never
//!   checks the hive's minor version (regnet-hive only does so for 1.4+).
//!   All the hives below with such values are version 1.5; a disagreement
//!   on a 1.3 hive would point at nt-hive (see docs/DEPENDENCIES.md §1).
//! - `Hive::new` refuses a primary whose sequence numbers differ. Dirty
//!   primaries are opened with `Hive::without_validation`, and regnet-hive
//!   opens them with no logs: both read the primary file as it is.
//! - nt-hive has no cycle detection; the walk here stops with a failure after
//!   `MAX_KEYS` keys, so a cyclic hive cannot hang the test.
//!
//! Excluded hives, and why (each was tried):
//! - `yarp/System_Delta`: tombstone values (data offset 0xFFFFFFFF) make
//!   nt-hive panic in `KeyValue::data()`: "assertion failed: data_offset != u32::MAX".
//! - `regipy/corrupted_system_hive`: damaged by design; nt-hive panics with
//!   "attempt to subtract with overflow" (hive.rs:158, cell size 0).
//! - `yarp/GarbageHive`, `yarp/EffectiveSizeHive`: bad base block checksum by
//!   design; `Hive::new` refuses them.
//! - `yarp/BadBaseBlockHive/BadBaseBlockHive`: bad checksum and version 1.1;
//!   readable only with its log (regnet-hive refuses the primary alone).
//! - `yarp/TruncatedHive`: truncated; `Hive::new` refuses it (hbins size past EOF).
//!   `yarp/TruncatedDirtyHive`, `yarp/DeletedDataHiveTruncated`,
//!   `yarp/TruncatedNameHive`: truncated by design; both readers report the
//!   same unreadable lists and names, so there is nothing complete to compare.
//! - `yarp/BadListHive`, `yarp/BadSubkeyHive`: a subtree shared by two keys;
//!   regnet-hive reports it once (AlreadyVisited), nt-hive (no visited set)
//!   lists it twice. Deliberate difference.
//! - `yarp/InvalidParentHive`, `yarp/DuplicateSubkeysHive`, `yarp/WrongOrderHive`,
//!   `yarp/TruncatedPairHive`, `yarp/TruncatedPairHive2`: damaged by design
//!   (parent mismatch, duplicate name, unsorted list, unpaired surrogates).
//!   Both readers agree on them today, but they are not hives Windows would
//!   load, so they are left to the hostile-input tests.
//! - Transaction logs, `yarp/Discovery/*` (empty files), fragments: not
//!   primary hive files.

use regnet_hive::{Hive, Name};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A stored name: (compressed Latin-1?, raw bytes).
type RawName = (bool, Vec<u8>);
/// A value: (decoded name, stored name, raw type, data bytes).
type Val = (String, RawName, u32, Vec<u8>);
/// A key: (path, stored name of the key, values sorted).
type KeyRec = (String, RawName, Vec<Val>);

/// Walks stop after this many keys (nt-hive has no cycle detection).
const MAX_KEYS: usize = 2_000_000;

/// Clean hives (same list as crates/regnet-cli/tests/hivex_diff.rs).
/// `true` marks a dirty primary (sequence numbers differ), read without its logs.
const SMALL_HIVES: &[(&str, bool)] = &[
    ("nt-hive/testhive", false),
    ("yarp/EmptyHive", false),
    ("yarp/BigDataHive", false),
    ("yarp/ManySubkeysHive", false),
    ("yarp/UnicodeHive", false),
    ("yarp/ExtendedASCIIHive", false),
    ("yarp/UpcaseHive", false),
    ("yarp/CompHive", false),
    ("yarp/PairHive", false),
    ("yarp/StringValuesHive", false),
    ("yarp/MultiSzHive", false),
    ("yarp/OffHive", false),
    ("yarp/NewFlagsHive", false),
    ("yarp/ValuesOrderHive", false),
    ("yarp/BogusKeyNamesHive", false),
    ("yarp/DeletedDataHive", false),
    ("yarp/DeletedTreeHive", false),
    ("yarp/DeletedTreeNoRootFlagHive", false),
    ("yarp/DeletedTreePartialPathHive", false),
    ("yarp/DupNameHive", false),
    ("yarp/HealedHive", false),
    ("yarp/ReallocValueHive", false),
    ("yarp/ReallocValueDataHive", false),
    ("yarp/RemnantData", false),
    ("yarp/RemnantsHive", false),
    ("yarp/SlackHive", false),
    ("yarp/SqliteHive", false),
    ("yarp/TwoOwnersHive", false),
    ("yarp/NewDirtyHive1/RecoveredHive_Windows10", false),
    ("yarp/OldDirtyHive/RecoveredHive_Windows7", false),
    ("yarp/NewDirtyHive1/NewDirtyHive", true),
    ("yarp/NewDirtyHive2/NewDirtyHive", true),
    ("yarp/OldDirtyHive/OldDirtyHive", true),
    ("yarp/BadLogHive1/BadLogHive", true),
    ("yarp/BadLogHive2/BadLogHive", true),
    ("yarp/BadLogHive3/BadLogHive", true),
];

/// The corpus folder: `../shared/corpus` relative to the workspace root.
fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
}

fn regnet_raw(n: Name<'_>) -> RawName {
    (matches!(n, Name::Latin1(_)), n.raw().to_vec())
}

fn nt_raw(n: &nt_hive::NtHiveNameString<'_>) -> RawName {
    match n {
        nt_hive::NtHiveNameString::Latin1(b) => (true, b.to_vec()),
        nt_hive::NtHiveNameString::Utf16LE(b) => (false, b.to_vec()),
    }
}

/// Every key of the hive, read with regnet-hive. Errors are returned as problems.
fn walk_regnet(bytes: &[u8]) -> (Vec<KeyRec>, Vec<String>) {
    let mut keys = Vec::new();
    let mut problems = Vec::new();
    let hive = match Hive::open(bytes) {
        Ok(h) => h,
        Err(e) => return (keys, vec![format!("regnet-hive: open: {e}")]),
    };
    let mut walk = hive.walk();
    while let Some(e) = walk.next_entry() {
        let e = match e {
            Ok(e) => e,
            Err(err) => {
                problems.push(format!("regnet-hive: walk: {err}"));
                continue;
            }
        };
        let mut vals = Vec::new();
        for v in e.key.values() {
            match v {
                Ok(v) => match v.data() {
                    Ok(d) => vals.push((
                        v.name().to_string_lossy().into_owned(),
                        regnet_raw(v.name()),
                        v.raw_type(),
                        d.into_owned(),
                    )),
                    Err(err) => problems.push(format!(
                        "regnet-hive: {}: value {:?}: data: {err}",
                        e.path,
                        v.name().to_string_lossy()
                    )),
                },
                Err(err) => problems.push(format!("regnet-hive: {}: values: {err}", e.path)),
            }
        }
        keys.push((e.path.to_owned(), regnet_raw(e.key.name()), vals));
    }
    (keys, problems)
}

/// Every key of the hive, read with nt-hive (explicit stack, no recursion).
fn walk_nt_hive(bytes: &[u8], dirty: bool) -> Result<(Vec<KeyRec>, Vec<String>), String> {
    let hive = match nt_hive::Hive::new(bytes) {
        Ok(h) => h,
        Err(nt_hive::NtHiveError::SequenceNumberMismatch { .. }) if dirty => {
            nt_hive::Hive::without_validation(bytes).map_err(|e| format!("nt-hive: open: {e}"))?
        }
        Err(e) => return Err(format!("nt-hive: open: {e}")),
    };
    let root = hive.root_key_node().map_err(|e| format!("nt-hive: root: {e}"))?;
    let mut keys = Vec::new();
    let mut problems = Vec::new();
    // (path, key, is root)
    let mut stack = vec![(String::from("\\"), root, true)];
    while let Some((path, key, is_root)) = stack.pop() {
        if keys.len() >= MAX_KEYS {
            return Err(format!("nt-hive: more than {MAX_KEYS} keys (a cycle?)"));
        }
        // The root's stored name (e.g. "CMI-CreateHive{...}") is compared too.
        let key_name = match key.name() {
            Ok(n) => nt_raw(&n),
            Err(e) => {
                problems.push(format!("nt-hive: {path}: name: {e}"));
                continue;
            }
        };
        let mut vals = Vec::new();
        match key.values() {
            None => {}
            Some(Err(e)) => problems.push(format!("nt-hive: {path}: values: {e}")),
            Some(Ok(values)) => {
                for v in values {
                    let v = match v {
                        Ok(v) => v,
                        Err(e) => {
                            problems.push(format!("nt-hive: {path}: value: {e}"));
                            continue;
                        }
                    };
                    let name = match v.name() {
                        Ok(n) => n,
                        Err(e) => {
                            problems.push(format!("nt-hive: {path}: value name: {e}"));
                            continue;
                        }
                    };
                    let raw_type = match v.data_type() {
                        Ok(t) => t as u32,
                        // nt-hive names only REG_NONE..REG_QWORD; the error carries the raw number.
                        Err(nt_hive::NtHiveError::UnsupportedKeyValueDataType { actual, .. }) => actual,
                        Err(e) => {
                            problems.push(format!("nt-hive: {path}: value {name}: type: {e}"));
                            continue;
                        }
                    };
                    match v.data().and_then(|d| d.into_vec()) {
                        Ok(d) => vals.push((name.to_string_lossy(), nt_raw(&name), raw_type, d)),
                        Err(e) => problems.push(format!("nt-hive: {path}: value {name}: data: {e}")),
                    }
                }
            }
        }
        match key.subkeys() {
            None => {}
            Some(Err(e)) => problems.push(format!("nt-hive: {path}: subkeys: {e}")),
            Some(Ok(subkeys)) => {
                for sk in subkeys {
                    match sk.and_then(|sk| sk.name().map(|n| n.to_string_lossy()).map(|n| (sk, n))) {
                        Ok((sk, name)) => {
                            let child = if is_root { format!("\\{name}") } else { format!("{path}\\{name}") };
                            stack.push((child, sk, false));
                        }
                        Err(e) => problems.push(format!("nt-hive: {path}: subkey: {e}")),
                    }
                }
            }
        }
        keys.push((path, key_name, vals));
    }
    Ok((keys, problems))
}

fn normalise(keys: &mut [KeyRec]) {
    for k in keys.iter_mut() {
        k.2.sort();
    }
    keys.sort();
}

fn excerpt(d: &[u8], at: usize) -> String {
    let from = at.saturating_sub(8);
    let to = (at + 24).min(d.len());
    let hex: Vec<String> = d[from..to].iter().map(|b| format!("{b:02x}")).collect();
    format!("[{from}..{to}] {}", hex.join(" "))
}

fn describe_value_diff(path: &str, r: &[Val], n: &[Val], out: &mut Vec<String>) {
    use std::cmp::Ordering::*;
    let (mut i, mut j) = (0, 0);
    while i < r.len() || j < n.len() {
        let ord = match (r.get(i), n.get(j)) {
            (Some(a), Some(b)) => (&a.0, &a.1, a.2).cmp(&(&b.0, &b.1, b.2)),
            (Some(_), None) => Less,
            _ => Greater,
        };
        match ord {
            Less => {
                let v = &r[i];
                out.push(format!(
                    "{path}: value {:?} {:?} type {:#x} ({} bytes) only in regnet-hive",
                    v.0,
                    v.1,
                    v.2,
                    v.3.len()
                ));
                i += 1;
            }
            Greater => {
                let v = &n[j];
                out.push(format!(
                    "{path}: value {:?} {:?} type {:#x} ({} bytes) only in nt-hive",
                    v.0,
                    v.1,
                    v.2,
                    v.3.len()
                ));
                j += 1;
            }
            Equal => {
                let (a, b) = (&r[i], &n[j]);
                if a.3 != b.3 {
                    let at = a.3.iter().zip(&b.3).position(|(x, y)| x != y).unwrap_or(a.3.len().min(b.3.len()));
                    out.push(format!(
                        "{path}: value {:?} type {:#x}: data differ at byte {at}: regnet-hive {} bytes {}, nt-hive {} bytes {}",
                        a.0,
                        a.2,
                        a.3.len(),
                        excerpt(&a.3, at),
                        b.3.len(),
                        excerpt(&b.3, at)
                    ));
                }
                i += 1;
                j += 1;
            }
        }
    }
}

/// Compares two sorted key multisets; returns a description of every difference.
fn diff(regnet: &[KeyRec], nt: &[KeyRec]) -> Vec<String> {
    use std::cmp::Ordering::*;
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < regnet.len() || j < nt.len() {
        let ord = match (regnet.get(i), nt.get(j)) {
            (Some(a), Some(b)) => (&a.0, &a.1).cmp(&(&b.0, &b.1)),
            (Some(_), None) => Less,
            _ => Greater,
        };
        match ord {
            Less => {
                out.push(format!(
                    "key {:?} {:?} ({} values) only in regnet-hive",
                    regnet[i].0,
                    regnet[i].1,
                    regnet[i].2.len()
                ));
                i += 1;
            }
            Greater => {
                out.push(format!("key {:?} {:?} ({} values) only in nt-hive", nt[j].0, nt[j].1, nt[j].2.len()));
                j += 1;
            }
            Equal => {
                if regnet[i].2 != nt[j].2 {
                    describe_value_diff(&format!("{:?}", regnet[i].0), &regnet[i].2, &nt[j].2, &mut out);
                }
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Compares one hive; returns (keys, values) compared, or None when the file is absent.
fn compare_hive(rel: &str, dirty: bool) -> Option<(usize, usize)> {
    let file = corpus_dir().join(rel);
    let bytes = match std::fs::read(&file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("nt_hive_diff: {rel}: SKIPPED ({}: {e})", file.display());
            return None;
        }
    };
    let started = Instant::now();
    let (mut regnet, regnet_problems) = walk_regnet(&bytes);
    let regnet_time = started.elapsed().as_secs_f64();
    let nt = std::panic::catch_unwind(|| walk_nt_hive(&bytes, dirty));
    let (mut nt, nt_problems) = match nt {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => panic!("{rel}: nt-hive cannot read this hive: {e}"),
        Err(p) => {
            let msg = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned());
            panic!("{rel}: nt-hive panicked: {}", msg.unwrap_or_default())
        }
    };
    let nkeys = regnet.len();
    let nvalues: usize = regnet.iter().map(|k| k.2.len()).sum();
    let nbytes: usize = regnet.iter().flat_map(|k| k.2.iter()).map(|v| v.3.len()).sum();
    normalise(&mut regnet);
    normalise(&mut nt);
    let diffs = diff(&regnet, &nt);
    eprintln!(
        "nt_hive_diff: {rel}{}: {nkeys} keys, {nvalues} values, {nbytes} data bytes compared (nt-hive: {} keys); \
         regnet-hive {regnet_time:.1} s, total {:.1} s",
        if dirty { " (dirty primary, no logs)" } else { "" },
        nt.len(),
        started.elapsed().as_secs_f64()
    );
    let mut failures = Vec::new();
    for (who, p) in [("regnet-hive", &regnet_problems), ("nt-hive", &nt_problems)] {
        if !p.is_empty() {
            failures.push(format!(
                "{who} could not read {} items:\n  {}",
                p.len(),
                p.iter().take(10).cloned().collect::<Vec<_>>().join("\n  ")
            ));
        }
    }
    if !diffs.is_empty() {
        failures.push(format!(
            "{} differences between regnet-hive and nt-hive (first 12):\n  {}",
            diffs.len(),
            diffs.iter().take(12).cloned().collect::<Vec<_>>().join("\n  ")
        ));
    }
    assert!(failures.is_empty(), "{rel}: {}", failures.join("\n"));
    assert!(nkeys >= 1, "{rel}: no keys");
    Some((nkeys, nvalues))
}

macro_rules! skip_without_corpus {
    () => {
        let dir = corpus_dir();
        if !dir.is_dir() {
            eprintln!("nt_hive_diff: SKIPPED: corpus folder {} is absent", dir.display());
            return;
        }
    };
}

#[test]
fn nt_hive_agrees_on_regipy_system() {
    skip_without_corpus!();
    compare_hive("regipy/SYSTEM", false);
}

/// Dirty (sequence numbers 0x656/0x655): compared as the primary file alone.
#[test]
fn nt_hive_agrees_on_regipy_system_b_without_logs() {
    skip_without_corpus!();
    compare_hive("regipy/SYSTEM_B", true);
}

#[test]
fn nt_hive_agrees_on_small_hives() {
    skip_without_corpus!();
    let (mut hives, mut keys, mut values) = (0, 0, 0);
    for &(rel, dirty) in SMALL_HIVES {
        if let Some((k, v)) = compare_hive(rel, dirty) {
            hives += 1;
            keys += k;
            values += v;
        }
    }
    eprintln!("nt_hive_diff: {hives} small hives agree: {keys} keys, {values} values");
}
