//! regnet-hive on hostile hives and logs, made by patching well-formed writer output at the
//! offsets its `Layout` records. Every case must end in a result or a typed error: no panic, no
//! hang, no huge allocation. (IDs refer to ../shared/docs/HOSTILE-INPUTS.md §3.)

use regnet_hive::{Hive, HiveError, Limits, LogFile, OpenOptions};
use regnet_testkit::writer::{base_block_field, cell_data_file_offset, file_offset, list_field, nk_field, vk_field};
use regnet_testkit::{
    fix_checksum, fix_hvle_hashes, new_format_logs, write_hive, write_hive_with_map, KeySpec, Layout, LogSplit,
    ValueSpec, WriterOptions,
};

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

/// root -> key (values a, big) -> sub; root -> other.
fn base() -> (Vec<u8>, Layout) {
    let tree = KeySpec::new("ROOT")
        .with_subkey(
            KeySpec::new("key")
                .with_value(ValueSpec::sz("a", "hello"))
                .with_value(ValueSpec::binary("big", vec![5u8; 40_000]))
                .with_subkey(KeySpec::new("sub")),
        )
        .with_subkey(KeySpec::new("other").with_value(ValueSpec::dword("x", 7)));
    write_hive_with_map(&tree, &WriterOptions::default())
}

/// Walks everything; returns (keys, errors).
fn walk_all(hive: &Hive<'_>) -> (usize, Vec<HiveError>) {
    let (mut keys, mut errors) = (0, Vec::new());
    let mut w = hive.walk();
    while let Some(e) = w.next_entry() {
        match e {
            Ok(e) => {
                keys += 1;
                for v in e.key.values() {
                    match v.and_then(|v| v.data().map(|_| ())) {
                        Ok(()) => {}
                        Err(err) => errors.push(err),
                    }
                }
            }
            Err(err) => errors.push(err),
        }
    }
    (keys, errors)
}

#[test]
fn h8_h9_cycles_are_reported_once_and_the_rest_is_read() {
    // H8: "key"'s subkey list is the root's list, which contains "key" itself.
    let (mut b, l) = base();
    let root_list = l.key("\\").subkey_list.unwrap();
    put32(&mut b, cell_data_file_offset(l.key("\\key").nk) + nk_field::SUBKEY_LIST, root_list);
    put32(&mut b, cell_data_file_offset(l.key("\\key").nk) + nk_field::SUBKEY_COUNT, 2);
    let hive = Hive::open(&b[..]).unwrap();
    let (keys, errors) = walk_all(&hive);
    assert_eq!(keys, 3, "root, key, other");
    assert!(errors.iter().any(|e| matches!(e, HiveError::AlreadyVisited { .. })), "{errors:?}");

    // H9: "sub"'s list points back at the root's list (root -> key -> sub -> [key, other] ...).
    let (mut b, l) = base();
    put32(&mut b, cell_data_file_offset(l.key("\\key\\sub").nk) + nk_field::SUBKEY_LIST, root_list);
    put32(&mut b, cell_data_file_offset(l.key("\\key\\sub").nk) + nk_field::SUBKEY_COUNT, 2);
    let hive = Hive::open(&b[..]).unwrap();
    let (keys, errors) = walk_all(&hive);
    assert_eq!(keys, 4);
    assert_eq!(errors.iter().filter(|e| matches!(e, HiveError::AlreadyVisited { .. })).count(), 2);
}

#[test]
fn h10_h11_index_root_pointing_to_an_index_root_is_refused() {
    // Many subkeys split into `ri` leaves; then make the ri's first element point to the ri itself.
    let mut many = KeySpec::new("many");
    for i in 0..40 {
        many = many.with_subkey(KeySpec::new(format!("k{i:02}").as_str()));
    }
    let tree = KeySpec::new("ROOT").with_subkey(many);
    let (mut b, l) = write_hive_with_map(&tree, &WriterOptions { ri_chunk: Some(8), ..WriterOptions::default() });
    let k = l.key("\\many");
    assert!(k.uses_ri);
    let ri = k.subkey_list.unwrap();
    put32(&mut b, cell_data_file_offset(ri) + list_field::ELEMENTS, ri);
    let hive = Hive::open(&b[..]).unwrap();
    let (keys, errors) = walk_all(&hive);
    assert_eq!(keys, 2 + 32, "the other four leaves are still read");
    assert!(matches!(errors[..], [HiveError::LimitExceeded { limit: "max_ri_depth", .. }]), "{errors:?}");
    // With nesting allowed, the self-reference is caught as a revisit instead of looping.
    let mut limits = Limits::default();
    limits.max_ri_depth = 100_000;
    let hive = Hive::open_with(&b[..], &OpenOptions::new().limits(limits)).unwrap();
    let (_, errors) = walk_all(&hive);
    assert!(matches!(errors[..], [HiveError::AlreadyVisited { .. }]), "{errors:?}");
}

#[test]
fn h12_a_key_chain_deeper_than_512_ends_in_a_limit_not_a_stack_overflow() {
    // 2,000 levels (the writer recurses, so keep it in a thread with a big stack).
    let bytes = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(|| {
            let mut k = KeySpec::new("k");
            for _ in 0..2000 {
                k = KeySpec::new("k").with_subkey(k);
            }
            write_hive(&KeySpec::new("ROOT").with_subkey(k), &WriterOptions::default())
        })
        .unwrap()
        .join()
        .unwrap();
    let hive = Hive::open(&bytes[..]).unwrap();
    let (keys, errors) = walk_all(&hive);
    assert_eq!(keys, 513, "root plus 512 levels");
    assert!(matches!(errors[..], [HiveError::LimitExceeded { limit: "max_key_depth", .. }]), "{errors:?}");
    let deep = vec!["k"; 600].join("\\");
    assert!(matches!(hive.key(&deep), Err(HiveError::LimitExceeded { limit: "max_key_depth", .. })));
}

#[test]
fn h1_h2_h3_impossible_cell_sizes() {
    for (size, what) in
        [(0i32, "zero"), (i32::MIN, "i32::MIN"), (-0x7FFF_FFF8, "past the bin"), (-87, "unaligned"), (-4, "too small")]
    {
        let (mut b, l) = base();
        put32(&mut b, file_offset(l.key("\\key").nk), size as u32);
        let hive = Hive::open(&b[..]).unwrap();
        let (keys, errors) = walk_all(&hive);
        assert_eq!(keys, 2, "{what}: root and other");
        assert_eq!(errors.len(), 1, "{what}: {errors:?}");
        // The root itself: open fails with a typed error.
        let (mut b, l) = base();
        put32(&mut b, file_offset(l.root), size as u32);
        assert!(Hive::open(&b[..]).is_err(), "{what}");
    }
}

#[test]
fn h4_h21_offsets_past_the_end_or_mid_cell() {
    for target in [0xFFFF_FFF0u32, 0xFFFF_FFF8, 0x7FFF_FFF8, 0x24, 0x1001, 0] {
        let (mut b, l) = base();
        let leaf = l.key("\\").subkey_list.unwrap();
        put32(&mut b, cell_data_file_offset(leaf) + list_field::ELEMENTS, target);
        let hive = Hive::open(&b[..]).unwrap();
        let (_, errors) = walk_all(&hive);
        assert!(!errors.is_empty(), "{target:#x}");
        let (mut b, _) = base();
        put32(&mut b, base_block_field::ROOT_CELL_OFFSET, target);
        fix_checksum(&mut b);
        assert!(Hive::open(&b[..]).is_err(), "root at {target:#x}");
    }
}

#[test]
fn h13_h14_counts_that_do_not_fit() {
    // H13: subkey count 0xFFFFFFFF, list of two: the list is what counts.
    let (mut b, l) = base();
    put32(&mut b, cell_data_file_offset(l.root) + nk_field::SUBKEY_COUNT, u32::MAX);
    let (keys, errors) = walk_all(&Hive::open(&b[..]).unwrap());
    assert_eq!((keys, errors.len()), (4, 0));
    // H14: list count 0xFFFF in a small cell; value count 0x3FFFFFFF.
    let (mut b, l) = base();
    put16(&mut b, cell_data_file_offset(l.key("\\").subkey_list.unwrap()) + list_field::COUNT, 0xFFFF);
    let (keys, errors) = walk_all(&Hive::open(&b[..]).unwrap());
    assert_eq!(keys, 1);
    assert!(matches!(errors[..], [HiveError::CellTooSmall { .. }]), "{errors:?}");
    let (mut b, l) = base();
    put32(&mut b, cell_data_file_offset(l.key("\\key").nk) + nk_field::VALUE_COUNT, 0x3FFF_FFFF);
    let (keys, errors) = walk_all(&Hive::open(&b[..]).unwrap());
    assert_eq!(keys, 4);
    assert!(matches!(errors[..], [HiveError::CellTooSmall { .. }]), "{errors:?}");
}

#[test]
fn h16_v1_v3_names_and_data_that_do_not_fit() {
    // H16: name length 0xFFFF.
    let (mut b, l) = base();
    put16(&mut b, cell_data_file_offset(l.key("\\key").nk) + nk_field::NAME_LENGTH, 0xFFFF);
    let (keys, errors) = walk_all(&Hive::open(&b[..]).unwrap());
    assert_eq!((keys, errors.len()), (2, 1));
    // V1: data length 0x7FFFFFF0 in a small cell: a limit, no allocation of that size.
    let (mut b, l) = base();
    let vk = l.key("\\key").value("a").vk;
    put32(&mut b, cell_data_file_offset(vk) + vk_field::DATA_SIZE, 0x7FFF_FFF0);
    let (_, errors) = walk_all(&Hive::open(&b[..]).unwrap());
    assert!(matches!(errors[..], [HiveError::LimitExceeded { limit: "max_value_size", .. }]), "{errors:?}");
    let mut limits = Limits::default();
    limits.max_value_size = u64::MAX;
    let (_, errors) = walk_all(&Hive::open_with(&b[..], &OpenOptions::new().limits(limits)).unwrap());
    assert!(matches!(errors[..], [HiveError::CellTooSmall { .. }]), "{errors:?}");
    // V2: inline flag with length 16.
    let (mut b, l) = base();
    let vk = l.key("\\other").value("x").vk;
    put32(&mut b, cell_data_file_offset(vk) + vk_field::DATA_SIZE, 0x8000_0010);
    let (_, errors) = walk_all(&Hive::open(&b[..]).unwrap());
    assert!(matches!(errors[..], [HiveError::BadData { .. }]), "{errors:?}");
    // V3: db segment count 0xFFFF, and the segment list pointing at the db cell itself.
    let (b0, l) = base();
    let regnet_testkit::DataLayout::Big { db, .. } = l.key("\\key").value("big").data.clone() else {
        panic!("db expected")
    };
    let mut b = b0.clone();
    put16(&mut b, cell_data_file_offset(db) + list_field::COUNT, 0xFFFF);
    let (_, errors) = walk_all(&Hive::open(&b[..]).unwrap());
    assert!(matches!(errors[..], [HiveError::CellTooSmall { .. }]), "{errors:?}");
    let mut b = b0;
    put32(&mut b, cell_data_file_offset(db) + list_field::DB_SEGMENT_LIST, db);
    let (_, errors) = walk_all(&Hive::open(&b[..]).unwrap());
    assert_eq!(errors.len(), 1, "{errors:?}");
}

#[test]
fn h5_h6_h7_base_block_and_bins() {
    // H6: 4 GiB of bins declared (checksum fixed): clamped to the file with a warning.
    let (mut b, _) = base();
    put32(&mut b, base_block_field::HIVE_BINS_DATA_SIZE, 0xFFFF_F000);
    fix_checksum(&mut b);
    let hive = Hive::open(&b[..]).unwrap();
    assert!(matches!(hive.warnings(), [regnet_hive::Warning::BinsTruncated { .. }]));
    assert_eq!(walk_all(&hive).0, 4);
    // H5: first bin size 0.
    let (mut b, _) = base();
    put32(&mut b, 4096 + 8, 0);
    assert!(Hive::open(&b[..]).is_err());
    // H7: short, foreign, zeros, a log passed as the primary.
    assert!(matches!(Hive::open(&b"regf"[..]), Err(HiveError::Truncated { .. })));
    assert!(matches!(Hive::open(&[0u8; 8192][..]), Err(HiveError::BadSignature { .. })));
    let (before, _) = base();
    let d = new_format_logs(&before, &before, 1, LogSplit::AllInLog1);
    assert!(matches!(Hive::open(&d.log1[..]), Err(HiveError::NotAPrimary { found: 6 })));
}

/// Every truncation of a valid hive, and every single-byte corruption of its first 8 KiB (to 0x00
/// and 0xFF), opens and walks without a panic.
#[test]
fn truncations_and_byte_flips_never_panic() {
    let (b, _) = base();
    for len in (0..b.len()).step_by(64) {
        if let Ok(h) = Hive::open(&b[..len]) {
            walk_all(&h);
        }
    }
    for i in 0..b.len().min(4096 + 8192) {
        for v in [0x00, 0xFF, b[i] ^ 0x80] {
            let mut c = b.clone();
            c[i] = v;
            if let Ok(h) = Hive::open(&c[..]) {
                walk_all(&h);
            }
        }
    }
}

#[test]
fn shared_lists_cannot_multiply_work_past_the_limit() {
    // 300 keys all pointing at one value list of 1,000 entries.
    let mut big = KeySpec::new("big");
    for i in 0..1000 {
        big = big.with_value(ValueSpec::dword(format!("v{i}").as_str(), i));
    }
    let mut tree = KeySpec::new("ROOT").with_subkey(big);
    for i in 0..300 {
        tree = tree.with_subkey(KeySpec::new(format!("k{i:03}").as_str()).with_value(ValueSpec::dword("x", 1)));
    }
    let (mut b, l) = write_hive_with_map(&tree, &WriterOptions::default());
    let shared = l.key("\\big").value_list.unwrap();
    for i in 0..300 {
        let nk = l.key(&format!("\\k{i:03}")).nk;
        put32(&mut b, cell_data_file_offset(nk) + nk_field::VALUE_LIST, shared);
        put32(&mut b, cell_data_file_offset(nk) + nk_field::VALUE_COUNT, 1000);
    }
    let mut limits = Limits::default();
    limits.max_cells_visited = 100_000;
    let hive = Hive::open_with(&b[..], &OpenOptions::new().limits(limits)).unwrap();
    let (_, errors) = walk_all(&hive);
    assert!(errors.iter().any(|e| matches!(e, HiveError::LimitExceeded { limit: "max_cells_visited", .. })));
}

#[test]
fn t4_to_t8_hostile_log_entries_stop_replay_cleanly() {
    let before = write_hive(&KeySpec::new("ROOT").with_subkey(KeySpec::new("old")), &WriterOptions::default());
    let after = write_hive(&KeySpec::new("ROOT").with_subkey(KeySpec::new("new")), &WriterOptions::default());
    let d = new_format_logs(&before, &after, 3, LogSplit::AllInLog1);
    let e = &d.entries;
    type Patch<'a> = Box<dyn Fn(&mut Vec<u8>) + 'a>;
    let patches: Vec<(&str, Patch<'_>)> = vec![
        ("T4 entry size 0", Box::new(|l: &mut Vec<u8>| put32(l, e[0].offset + 4, 0))),
        ("T5 page offset 0xFFFFF000", Box::new(|l: &mut Vec<u8>| put32(l, e[0].offset + 40, 0xFFFF_F000))),
        ("T6 hbins size 0x7FFFF000", Box::new(|l: &mut Vec<u8>| put32(l, e[0].offset + 16, 0x7FFF_F000))),
        ("T7 page count 0x0FFFFFFF", Box::new(|l: &mut Vec<u8>| put32(l, e[0].offset + 20, 0x0FFF_FFFF))),
        ("T7 page size 0x7FFFF000", Box::new(|l: &mut Vec<u8>| put32(l, e[0].offset + 44, 0x7FFF_F000))),
        ("T8 sequence +100", Box::new(|l: &mut Vec<u8>| put32(l, e[1].offset + 12, e[1].sequence + 100))),
        ("T9 page size 0x1001", Box::new(|l: &mut Vec<u8>| put32(l, e[0].offset + 44, 0x1001))),
    ];
    for (what, patch) in patches {
        let mut log1 = d.log1.clone();
        patch(&mut log1);
        fix_hvle_hashes(&mut log1);
        let opts = OpenOptions::new().log(LogFile::new("LOG1", &log1)).log(LogFile::new("LOG2", &d.log2));
        let hive = Hive::open_with(&d.primary[..], &opts).unwrap_or_else(|err| panic!("{what}: {err}"));
        let r = hive.recovery();
        let stopped = r.logs[0].stopped.clone();
        if what.starts_with("T8") {
            assert_eq!(r.entries_applied(), 1, "{what}: only the entry before the gap");
        } else {
            assert_eq!(r.entries_applied(), 0, "{what}: {r:#?}");
        }
        assert!(stopped.is_some(), "{what}: the report says why replay stopped");
        walk_all(&hive);
    }
    // T10: a wrong hash stops at that entry. Hash-1 is checked for all entries in one pass after
    // their structure; the reason given is still that of a one-by-one check (Hash-2, Hash-1, then
    // the rest), at the first entry that fails.
    let stop_with = |patch: &dyn Fn(&mut Vec<u8>)| {
        let mut log1 = d.log1.clone();
        patch(&mut log1);
        let opts = OpenOptions::new().log(LogFile::new("LOG1", &log1));
        let hive = Hive::open_with(&d.primary[..], &opts).unwrap();
        let r = hive.recovery();
        (r.entries_applied(), r.logs[0].stopped.clone().unwrap_or_default())
    };
    let at = |i: usize| format!("entry at byte {:#x}: ", e[i].offset);
    let (n, why) = stop_with(&|l| l[e[2].offset + 100] ^= 1);
    assert_eq!((n, why), (2, format!("{}Hash-1 (Marvin32 of the entry body) does not match", at(2))));
    // A changed stored Hash-1 is a changed header: Hash-2 catches it.
    let (n, why) = stop_with(&|l| l[e[1].offset + 24] ^= 1);
    assert_eq!((n, why), (1, format!("{}Hash-2 (Marvin32 of the entry header) does not match", at(1))));
    let (n, why) = stop_with(&|l| l[e[1].offset + 100] ^= 1);
    assert_eq!((n, why), (1, format!("{}Hash-1 (Marvin32 of the entry body) does not match", at(1))));
    // A sequence gap with the hashes right: the gap is the reason.
    let (n, why) = stop_with(&|l| {
        put32(l, e[1].offset + 12, e[1].sequence + 100);
        fix_hvle_hashes(l);
    });
    assert_eq!(n, 1);
    assert!(why.starts_with(&format!("{}sequence number", at(1))), "{why}");
    // A sequence gap in an entry whose body is also bad: Hash-1 comes first.
    let (n, why) = stop_with(&|l| {
        put32(l, e[1].offset + 12, e[1].sequence + 100);
        fix_hvle_hashes(l);
        l[e[1].offset + 100] ^= 1;
    });
    assert_eq!((n, why), (1, format!("{}Hash-1 (Marvin32 of the entry body) does not match", at(1))));
    // A bad body before a structurally bad entry: the first failure wins.
    let (n, why) = stop_with(&|l| {
        put32(l, e[2].offset + 12, e[2].sequence + 100);
        fix_hvle_hashes(l);
        l[e[0].offset + 100] ^= 1;
    });
    assert_eq!((n, why), (0, format!("{}Hash-1 (Marvin32 of the entry body) does not match", at(0))));
    // A bad header hash (Hash-2) is found before any Hash-1.
    let (n, why) = stop_with(&|l| l[e[1].offset + 32] ^= 1);
    assert_eq!((n, why), (1, format!("{}Hash-2 (Marvin32 of the entry header) does not match", at(1))));
}

/// Appends a hive bin holding `cells` (cell data without the size field) and returns their
/// offsets; updates the base block's hive bins size and checksum.
fn append_bin(hive: &mut Vec<u8>, cells: &[Vec<u8>]) -> Vec<u32> {
    let start = u32::from_le_bytes(hive[40..44].try_into().unwrap());
    let mut bin = vec![0u8; 32];
    bin[..4].copy_from_slice(b"hbin");
    bin[4..8].copy_from_slice(&start.to_le_bytes());
    let mut offsets = Vec::new();
    for c in cells {
        let size = (4 + c.len()).div_ceil(8) * 8;
        offsets.push(start + bin.len() as u32);
        bin.extend_from_slice(&(-(size as i32)).to_le_bytes());
        bin.extend_from_slice(c);
        bin.resize(bin.len() + size - 4 - c.len(), 0);
    }
    let total = bin.len().div_ceil(4096) * 4096;
    let free = total - bin.len();
    if free >= 8 {
        bin.extend_from_slice(&(free as i32).to_le_bytes());
    }
    bin.resize(total, 0);
    bin[8..12].copy_from_slice(&(total as u32).to_le_bytes());
    hive.truncate(4096 + start as usize);
    hive.extend_from_slice(&bin);
    put32(hive, base_block_field::HIVE_BINS_DATA_SIZE, start + total as u32);
    fix_checksum(hive);
    offsets
}

/// H11: 100,000 `ri` cells, each pointing to the next: refused at the first nesting by default,
/// and walked with an explicit stack (no recursion, no stack overflow) when nesting is allowed.
#[test]
fn h11_index_roots_nested_100000_deep() {
    let (mut b, l) = base();
    let n = 100_000u32;
    let start = u32::from_le_bytes(b[40..44].try_into().unwrap());
    // Cell i sits at start + 32 + 16 i (12 bytes of data round up to 16).
    let cells: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let next = if i + 1 < n { start + 32 + 16 * (i + 1) } else { l.key("\\").subkey_list.unwrap() };
            let mut c = b"ri".to_vec();
            c.extend_from_slice(&1u16.to_le_bytes());
            c.extend_from_slice(&next.to_le_bytes());
            c
        })
        .collect();
    let offs = append_bin(&mut b, &cells);
    assert_eq!(offs[1], start + 32 + 16);
    put32(&mut b, cell_data_file_offset(l.root) + nk_field::SUBKEY_LIST, offs[0]);
    put32(&mut b, cell_data_file_offset(l.root) + nk_field::SUBKEY_COUNT, 1);
    let hive = Hive::open(&b[..]).unwrap();
    let (keys, errors) = walk_all(&hive);
    assert_eq!(keys, 1);
    assert!(matches!(errors[..], [HiveError::LimitExceeded { limit: "max_ri_depth", .. }]), "{errors:?}");
    let mut limits = Limits::default();
    limits.max_ri_depth = 1_000_000;
    let hive = Hive::open_with(&b[..], &OpenOptions::new().limits(limits)).unwrap();
    let (keys, _) = walk_all(&hive);
    // At the bottom the chain reaches the root's real list: its keys are read once each.
    assert_eq!(keys, 4);
}

/// Logs cut short at every 512 bytes, and logs of garbage: ignored with a reason, the primary read.
#[test]
fn truncated_and_garbage_logs_are_ignored() {
    let before = write_hive(&KeySpec::new("ROOT").with_subkey(KeySpec::new("old")), &WriterOptions::default());
    let after = write_hive(&KeySpec::new("ROOT").with_subkey(KeySpec::new("new")), &WriterOptions::default());
    let d = new_format_logs(&before, &after, 3, LogSplit::AllInLog1);
    for len in (0..d.log1.len()).step_by(512).chain([1, 511, 513]) {
        let log = &d.log1[..len];
        let hive = Hive::open_with(&d.primary[..], &OpenOptions::new().log(LogFile::new("LOG1", log))).unwrap();
        assert!(hive.recovery().entries_applied() <= 3);
        walk_all(&hive);
    }
    let mut state = 0x1234_5678u64;
    for len in [0usize, 100, 512, 4096, 65536] {
        let garbage: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let hive = Hive::open_with(&d.primary[..], &OpenOptions::new().log(LogFile::new("LOG1", &garbage))).unwrap();
        assert!(!hive.recovery().recovered);
        assert!(matches!(hive.recovery().logs[0].status, regnet_hive::LogStatus::Ignored { .. }));
    }
}
