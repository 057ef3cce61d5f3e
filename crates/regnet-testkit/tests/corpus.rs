//! Checks against real hives and logs in the shared corpus (`../shared/corpus`; skipped with a
//! printed reason when absent). Nothing from the corpus is copied into the project: files are read
//! in place.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{corpus, replay_new, replay_old, u16_at, u32_at, u64_at};
use regnet_testkit::*;

fn corpus_or_skip() -> Option<PathBuf> {
    let c = corpus();
    if c.is_none() {
        eprintln!("SKIPPED: ../shared/corpus not found");
    }
    c
}

fn read(dir: &Path, rel: &str) -> Vec<u8> {
    std::fs::read(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every HvLE entry Windows wrote in these logs carries Hash-1/Hash-2 that `marvin32` reproduces.
#[test]
fn marvin32_matches_windows_logs() {
    let Some(c) = corpus_or_skip() else { return };
    let mut checked = 0;
    for rel in [
        "yarp/NewDirtyHive1/NewDirtyHive.LOG1",
        "yarp/NewDirtyHive1/NewDirtyHive.LOG2",
        "yarp/NewDirtyHive2/NewDirtyHive.LOG2",
        "regipy/SYSTEM_B.LOG1",
        "regipy/SYSTEM_B.LOG2",
    ] {
        let log = read(&c, rel);
        let mut off = 512;
        let mut n = 0;
        while off + 40 <= log.len() && &log[off..off + 4] == b"HvLE" {
            let size = u32_at(&log, off + 4) as usize;
            let e = &log[off..off + size];
            assert_eq!(marvin32(HVLE_MARVIN32_SEED, &e[40..]), u64_at(e, 24), "{rel} entry at {off:#x}: Hash-1");
            assert_eq!(marvin32(HVLE_MARVIN32_SEED, &e[..32]), u64_at(e, 32), "{rel} entry at {off:#x}: Hash-2");
            n += 1;
            off += size;
        }
        assert!(n > 0, "{rel}: no entries");
        // fix_hvle_hashes is a no-op on a valid log.
        let mut copy = log.clone();
        assert_eq!(fix_hvle_hashes(&mut copy), n);
        assert!(copy == log, "{rel}: fix_hvle_hashes changed a valid log");
        checked += n;
    }
    eprintln!("Marvin32 verified on {checked} Windows-written HvLE entries");
}

/// The test replayer follows the spec closely enough to reproduce Windows' own recovery, which
/// makes its verdicts on the writer's logs meaningful.
#[test]
fn test_replayer_matches_windows_recovery() {
    let Some(c) = corpus_or_skip() else { return };
    let primary = read(&c, "yarp/NewDirtyHive1/NewDirtyHive");
    let log1 = read(&c, "yarp/NewDirtyHive1/NewDirtyHive.LOG1");
    let log2 = read(&c, "yarp/NewDirtyHive1/NewDirtyHive.LOG2");
    let windows = read(&c, "yarp/NewDirtyHive1/RecoveredHive_Windows10");
    let r = replay_new(&primary, &[&log1, &log2]);
    assert_eq!(r.applied, vec![2, 3, 4, 5]);
    let hbins = u32_at(&r.hive, 40) as usize;
    assert_eq!(&r.hive[4096..4096 + hbins], &windows[4096..4096 + hbins]);
    let r = replay_new(&primary, &[&log2, &log1]);
    assert_eq!(&r.hive[4096..4096 + hbins], &windows[4096..4096 + hbins]);

    // NewDirtyHive2: LOG1's entry (2) is older than the primary (secondary 3); only LOG2 applies.
    let p2 = read(&c, "yarp/NewDirtyHive2/NewDirtyHive");
    let r = replay_new(
        &p2,
        &[&read(&c, "yarp/NewDirtyHive2/NewDirtyHive.LOG1"), &read(&c, "yarp/NewDirtyHive2/NewDirtyHive.LOG2")],
    );
    assert_eq!(r.applied, vec![3, 4, 5]);

    // Old format: the key that exists only in the log appears.
    let p = read(&c, "yarp/OldDirtyHive/OldDirtyHive");
    let rec = replay_old(&p, &read(&c, "yarp/OldDirtyHive/OldDirtyHive.LOG1"));
    let has = |h: &[u8]| h.windows(14).any(|w| w == b"find_me_in_log");
    assert!(!has(&p) && has(&rec));
}

/// Observations about sequence numbers in real dirty hives, which the log writer imitates.
#[test]
fn dirty_hive_sequence_numbers() {
    let Some(c) = corpus_or_skip() else { return };
    let seq = |b: &[u8]| (u32_at(b, 4), u32_at(b, 8));
    let first_entry = |b: &[u8]| u32_at(b, 512 + 12);
    let p = read(&c, "yarp/NewDirtyHive1/NewDirtyHive");
    let l1 = read(&c, "yarp/NewDirtyHive1/NewDirtyHive.LOG1");
    let l2 = read(&c, "yarp/NewDirtyHive1/NewDirtyHive.LOG2");
    assert_eq!(seq(&p), (3, 2));
    assert_eq!((seq(&l1), first_entry(&l1)), ((2, 2), 2));
    assert_eq!((seq(&l2), first_entry(&l2)), ((3, 3), 3));
    let p = read(&c, "regipy/SYSTEM_B");
    let l1 = read(&c, "regipy/SYSTEM_B.LOG1");
    let l2 = read(&c, "regipy/SYSTEM_B.LOG2");
    assert_eq!(seq(&p), (0x656, 0x655));
    assert_eq!((seq(&l1), first_entry(&l1)), ((2107, 2107), 2107));
    assert_eq!((seq(&l2), first_entry(&l2)), ((2111, 2111), 2111));
    let p = read(&c, "yarp/OldDirtyHive/OldDirtyHive");
    let l = read(&c, "yarp/OldDirtyHive/OldDirtyHive.LOG1");
    assert_eq!(seq(&p), (5, 4));
    assert_eq!(seq(&l), (5, 5));
    assert_eq!(u32_at(&l, 28), 1);
    assert_eq!(u64_at(&l, 12), u64_at(&p, 12));
}

#[test]
fn checksum_matches_real_base_blocks() {
    let Some(c) = corpus_or_skip() else { return };
    for rel in [
        "nt-hive/testhive",
        "regipy/SYSTEM",
        "regipy/SYSTEM_B",
        "regipy/SYSTEM_B.LOG1",
        "yarp/BigDataHive",
        "yarp/NewDirtyHive1/NewDirtyHive",
        "yarp/NewDirtyHive1/NewDirtyHive.LOG2",
        "yarp/OldDirtyHive/OldDirtyHive.LOG1",
    ] {
        let b = read(&c, rel);
        assert_eq!(xor32_checksum(&b), u32_at(&b, 508), "{rel}");
        let mut copy = b[..4096].to_vec();
        copy[508..512].fill(0);
        fix_checksum(&mut copy);
        assert_eq!(&copy[..], &b[..4096], "{rel}");
    }
    // GarbageHive's base block is deliberately wrong.
    let g = read(&c, "yarp/GarbageHive");
    assert_ne!(xor32_checksum(&g), u32_at(&g, 508));
}

/// Every `lh` hash in real hives equals `lh_hash` of the key's name, and every leaf is sorted by
/// the writer's uppercase ordering: a real-data check of the hash and of `upcase_utf16_unit`.
#[test]
fn list_hashes_and_order_match_real_hives() {
    let Some(c) = corpus_or_skip() else { return };
    let mut totals = (0usize, 0usize, 0usize, 0usize);
    for rel in [
        "regipy/SYSTEM",
        "regipy/SYSTEM_B",
        "nt-hive/testhive",
        "yarp/BigDataHive",
        "yarp/CompHive",
        "yarp/ExtendedASCIIHive",
        "yarp/ManySubkeysHive",
        "yarp/PairHive",
        "yarp/NewDirtyHive1/RecoveredHive_Windows10",
    ] {
        let h = read(&c, rel);
        let hbins = u32_at(&h, 40) as usize;
        let name_of = |nk: u32| -> Option<Name> {
            let r = h.get(4096 + nk as usize + 4..)?;
            if r.len() < 76 || &r[0..2] != b"nk" {
                return None;
            }
            let len = u16_at(r, 72) as usize;
            let raw = r.get(76..76 + len)?;
            Some(if u16_at(r, 2) & 0x20 != 0 {
                Name::Latin1(raw.to_vec())
            } else {
                Name::Utf16(raw.chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect())
            })
        };
        let mut o = 0;
        while o < hbins {
            let size = u32_at(&h, 4096 + o + 8) as usize;
            let mut p = o + 32;
            while p < o + size {
                let s = i32::from_le_bytes(h[4096 + p..4100 + p].try_into().unwrap());
                let abs = s.unsigned_abs() as usize;
                let rec = &h[4100 + p..4096 + p + abs];
                if s < 0 && matches!(&rec[0..2], b"lh" | b"lf" | b"li") {
                    let n = u16_at(rec, 2) as usize;
                    let step = if &rec[0..2] == b"li" { 4 } else { 8 };
                    let mut prev: Option<Vec<u16>> = None;
                    for i in 0..n {
                        let Some(name) = name_of(u32_at(rec, 4 + step * i)) else {
                            continue;
                        };
                        if &rec[0..2] == b"lh" {
                            assert_eq!(
                                u32_at(rec, 8 + step * i),
                                lh_hash(&name),
                                "{rel}: lh hash of {:?}",
                                name.to_string_lossy()
                            );
                            totals.0 += 1;
                        }
                        if &rec[0..2] == b"lf" {
                            let hint = &rec[8 + step * i..12 + step * i];
                            if hint == lf_hint(&name) {
                                totals.2 += 1;
                            } else {
                                totals.3 += 1;
                                eprintln!(
                                    "{rel}: lf hint {hint:02x?} for {:?}, spec rule gives {:02x?}",
                                    name.to_string_lossy(),
                                    lf_hint(&name)
                                );
                            }
                        }
                        let up = name.upcase_units();
                        if let Some(p) = &prev {
                            assert!(*p < up, "{rel}: list not sorted at {:?}", name.to_string_lossy());
                        }
                        prev = Some(up);
                        totals.1 += 1;
                    }
                }
                p += abs.max(8);
            }
            o += size.max(4096);
        }
    }
    eprintln!(
        "lh hashes verified: {}; list elements in order: {}; lf hints per spec: {}, differing: {}",
        totals.0, totals.1, totals.2, totals.3
    );
    assert!(totals.0 > 10_000);
}

/// `upcase_utf16_unit` equals, for every BMP code unit, the `$UpCase` table of an NTFS volume
/// formatted by Windows. Needs qemu-img and ntfscat (ntfs-3g); skipped otherwise.
#[test]
fn upcase_matches_windows_ntfs_table() {
    let Some(c) = corpus_or_skip() else { return };
    let image = c.join("images/windows_volume.qcow2");
    if !image.is_file() || !common::have_tool("qemu-img") || !common::have_tool("ntfscat") {
        eprintln!("SKIPPED: needs corpus images/windows_volume.qcow2, qemu-img and ntfscat");
        return;
    }
    let dir = common::scratch_dir("upcase");
    let raw = dir.join("volume.raw");
    let ok = Command::new("qemu-img").args(["convert", "-O", "raw"]).arg(&image).arg(&raw).status().unwrap();
    assert!(ok.success());
    let out = Command::new("ntfscat").arg(&raw).arg("$UpCase").output().unwrap();
    assert!(out.status.success() && out.stdout.len() == 131_072, "ntfscat $UpCase");
    let _ = std::fs::remove_file(&raw);
    let table = out.stdout;
    let diffs: Vec<String> = (0..=0xFFFFu16)
        .filter_map(|u| {
            let w = u16_at(&table, 2 * u as usize);
            let mine = upcase_utf16_unit(u);
            (w != mine).then(|| format!("U+{u:04X}: windows U+{w:04X}, writer U+{mine:04X}"))
        })
        .collect();
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
}
