//! Transaction logs made by `logs` replay (with the spec-following replayer in `common`, itself
//! checked against Windows-made logs in `corpus.rs`) to exactly the `after` hive, and have the
//! structure real logs have.

mod common;

use common::{canonical, mixed_tree, read_strict, replay_new, replay_old, u32_at, u64_at, Expect};
use regnet_testkit::*;

fn expect() -> Expect {
    Expect { list_kind: ListKind::Lh, ri_chunk: Some(64), big_data: true }
}

fn opts() -> WriterOptions {
    WriterOptions { ri_chunk: Some(64), sequence: (0x655, 0x655), ..WriterOptions::default() }
}

/// A before/after pair with a modified value, a removed big value, an added key and a grown hive.
fn pair() -> (KeySpec, KeySpec) {
    let before = mixed_tree();
    let mut after = before.clone();
    let types = after.find_mut("Types").unwrap();
    types.values.retain(|v| v.name.to_string_lossy() != "big_40000");
    types.values[1] = ValueSpec::sz("sz", "changed");
    let many = after.find_mut("Many").unwrap();
    many.subkeys.remove(5);
    for i in 0..50 {
        many.subkeys
            .push(KeySpec::new(format!("new{i}").as_str()).with_value(ValueSpec::binary("b", vec![i as u8; 3000])));
    }
    (before, after)
}

/// The replayed hive equals `after` in its hive-bins data and reads back as the `after` tree.
fn check_replayed(replayed: &[u8], after: &[u8], after_tree: &KeySpec) {
    assert_eq!(replayed.len(), after.len());
    assert_eq!(&replayed[4096..], &after[4096..], "hive-bins data after replay");
    assert_eq!(u32_at(replayed, 40), u32_at(after, 40));
    assert_eq!(read_strict(replayed, &expect()), canonical(after_tree));
}

#[test]
fn new_format_replays_to_after() {
    let (bt, at) = pair();
    let (b, a) = (write_hive(&bt, &opts()), write_hive(&at, &opts()));
    assert!(a.len() > b.len(), "the after hive grows");
    for entries in 1..=6 {
        for split in [LogSplit::AllInLog1, LogSplit::AllInLog2, LogSplit::Split] {
            let set = new_format_logs(&b, &a, entries, split);
            // The primary is `before` with a started-but-unfinished write.
            assert_eq!(&set.primary[4096..], &b[4096..]);
            assert_eq!((u32_at(&set.primary, 4), u32_at(&set.primary, 8)), (0x656, 0x655));
            assert_eq!(u32_at(&set.primary, 508), xor32_checksum(&set.primary));
            let r = replay_new(&set.primary, &[&set.log1, &set.log2]);
            let seqs: Vec<u32> = (0..entries as u32).map(|i| 0x655 + i).collect();
            assert_eq!(r.applied, seqs, "{entries} {split:?}");
            check_replayed(&r.hive, &a, &at);
            // Order of the log files does not matter.
            let r2 = replay_new(&set.primary, &[&set.log2, &set.log1]);
            assert_eq!(r2.hive, r.hive);
            check_structure(&set, entries, split);
        }
    }
}

/// Layout details shared with real Windows logs.
fn check_structure(set: &DirtySet, entries: usize, split: LogSplit) {
    let n1 = match split {
        LogSplit::AllInLog1 => entries,
        LogSplit::AllInLog2 => 0,
        LogSplit::Split => entries.div_ceil(2),
    };
    assert_eq!(set.entries.len(), entries);
    for (log, n, file) in [(&set.log1, n1, LogFile::Log1), (&set.log2, entries - n1, LogFile::Log2)] {
        if n == 0 {
            assert!(log.is_empty(), "a log without entries is empty");
            continue;
        }
        let mine: Vec<&LogEntryInfo> = set.entries.iter().filter(|e| e.file == file).collect();
        assert_eq!(mine.len(), n);
        assert_eq!(&log[0..4], b"regf");
        assert_eq!(u32_at(log, 28), 6, "file type 6");
        assert_eq!(u32_at(log, 4), mine[0].sequence);
        assert_eq!(u32_at(log, 8), mine[0].sequence);
        assert_eq!(u32_at(log, 40), mine[0].hive_bins_size);
        assert_eq!(u32_at(log, 508), xor32_checksum(log));
        assert_eq!(u64_at(log, 12), u64_at(&set.primary, 12), "timestamp copied from the primary");
        assert_eq!(mine[0].offset, 512);
        let mut off = 512;
        for e in mine {
            assert_eq!(e.offset, off);
            assert_eq!(&log[off..off + 4], b"HvLE");
            assert_eq!(u32_at(log, off + 4) as usize, e.size);
            assert_eq!((off + e.size) % 4096, 0, "entries end on a 4 KiB boundary of the file");
            assert_eq!(u32_at(log, off + 12), e.sequence);
            assert_eq!(u32_at(log, off + 16), e.hive_bins_size);
            assert_eq!(u32_at(log, off + 20) as usize, e.pages.len());
            assert_eq!(e.pages[0].0, 0, "page 0 in every entry");
            let h1 = marvin32(HVLE_MARVIN32_SEED, &log[off + 40..off + e.size]);
            assert_eq!(u64_at(log, off + 24), h1);
            assert_eq!(u64_at(log, off + 32), marvin32(HVLE_MARVIN32_SEED, &log[off..off + 32]));
            off += e.size;
        }
        assert_eq!(off, log.len());
        let mut copy = log.clone();
        assert_eq!(fix_hvle_hashes(&mut copy), n);
        assert_eq!(&copy, log, "hashes were already right");
    }
    let last = set.entries.last().unwrap();
    for w in set.entries.windows(2) {
        assert_eq!(w[1].sequence, w[0].sequence + 1);
        assert!(w[1].hive_bins_size >= w[0].hive_bins_size || std::ptr::eq(&w[1], last));
    }
}

#[test]
fn unchanged_and_shrunk_hives() {
    let (bt, at) = pair();
    let (b, a) = (write_hive(&bt, &opts()), write_hive(&at, &opts()));
    // No change: entries still carry page 0, replay is the identity on the hive-bins data.
    let set = new_format_logs(&b, &b, 3, LogSplit::Split);
    assert!(set.entries.iter().all(|e| e.pages == vec![(0, 4096)]));
    check_replayed(&replay_new(&set.primary, &[&set.log1, &set.log2]).hive, &b, &bt);
    // after -> before shrinks the hive: the last entry carries the smaller size.
    let set = new_format_logs(&a, &b, 2, LogSplit::AllInLog2);
    assert_eq!(set.entries.last().unwrap().hive_bins_size, u32_at(&b, 40));
    check_replayed(&replay_new(&set.primary, &[&set.log1, &set.log2]).hive, &b, &bt);
}

#[test]
fn bad_hash_stops_replay_and_fix_hvle_hashes_repairs_it() {
    let (bt, at) = pair();
    let (b, a) = (write_hive(&bt, &opts()), write_hive(&at, &opts()));
    let set = new_format_logs(&b, &a, 4, LogSplit::AllInLog1);
    let third = &set.entries[2];
    let mut log = set.log1.clone();
    log[third.offset + 40 + 8 * third.pages.len()] ^= 0xFF; // first byte of the page data
    let r = replay_new(&set.primary, &[&log, &set.log2]);
    assert_eq!(r.applied, vec![0x655, 0x656], "replay stops before the bad entry");
    // Fixing the hashes makes the entry valid again (with the changed byte).
    assert_eq!(fix_hvle_hashes(&mut log), 4);
    let r = replay_new(&set.primary, &[&log, &set.log2]);
    assert_eq!(r.applied.len(), 4);
    // A sequence gap stops replay too, even with valid hashes.
    let mut log = set.log1.clone();
    log[third.offset + 12..third.offset + 16].copy_from_slice(&(0x655u32 + 100).to_le_bytes());
    fix_hvle_hashes(&mut log);
    assert_eq!(replay_new(&set.primary, &[&log]).applied, vec![0x655, 0x656]);
    // fix_hvle_hashes stops at a bogus size.
    let mut log = set.log1.clone();
    log[third.offset + 4..third.offset + 8].copy_from_slice(&0u32.to_le_bytes());
    assert_eq!(fix_hvle_hashes(&mut log), 2);
}

#[test]
fn old_format_replays_to_after() {
    let (bt, at) = pair();
    let (b, a) = (write_hive(&bt, &opts()), write_hive(&at, &opts()));
    let set = old_format_log(&b, &a);
    assert!(set.log2.is_empty());
    assert!(set.entries.is_empty());
    assert_eq!((u32_at(&set.primary, 4), u32_at(&set.primary, 8)), (0x656, 0x655));
    let log = &set.log1;
    assert_eq!(u32_at(log, 28), 1, "file type 1");
    assert_eq!((u32_at(log, 4), u32_at(log, 8)), (0x656, 0x656));
    assert_eq!(u64_at(log, 12), u64_at(&set.primary, 12));
    assert_eq!(u32_at(log, 40), u32_at(&a, 40));
    assert_eq!(&log[512..516], b"DIRT");
    let bitmap = &log[516..516 + u32_at(&a, 40) as usize / 4096];
    assert!(bitmap.iter().all(|&b| b == 0 || b == 0xFF));
    let dirty = bitmap.iter().filter(|&&b| b == 0xFF).count();
    assert_eq!(log.len(), (516 + bitmap.len()).div_ceil(512) * 512 + dirty * 4096);
    check_replayed(&replay_old(&set.primary, log), &a, &at);
}
