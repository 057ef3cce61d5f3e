//! Round trips through the strict spec-following reader in `common`: everything written must read
//! back exactly, and the layout rules (bins, cells, sorting, hashes, counts, one reference per
//! cell) must hold.

mod common;

use common::{canonical, mixed_tree, read_strict, u16_at, u32_at, Expect};
use proptest::prelude::*;
use regnet_testkit::strategies::{key_strategy, options_strategy};
use regnet_testkit::writer::{cell_data_file_offset, nk_field, vk_field};
use regnet_testkit::*;

fn expect(o: &WriterOptions) -> Expect {
    Expect { list_kind: o.list_kind, ri_chunk: o.ri_chunk, big_data: o.big_data && o.minor_version >= 4 }
}

fn all_options() -> Vec<WriterOptions> {
    let mut v = Vec::new();
    for minor in 3..=6 {
        for kind in [ListKind::Li, ListKind::Lf, ListKind::Lh] {
            for ri in [None, Some(1), Some(64)] {
                for (big, pad) in [(true, true), (true, false), (false, true)] {
                    v.push(WriterOptions {
                        list_kind: kind,
                        ri_chunk: ri,
                        big_data: big,
                        pad_last_segment: pad,
                        sequence: (7, 7),
                        ..WriterOptions::for_minor(minor)
                    });
                }
            }
        }
    }
    v
}

#[test]
fn mixed_tree_round_trips_with_every_option() {
    let tree = mixed_tree();
    for o in all_options() {
        let (hive, layout) = write_hive_with_map(&tree, &o);
        let back = read_strict(&hive, &expect(&o));
        assert_eq!(back, canonical(&tree), "options {o:?}");
        assert_eq!(u32_at(&hive, 24), o.minor_version);
        assert_eq!(layout.hive_bins_size as usize + 4096, hive.len());
        assert_eq!(layout.root, 0x20, "root nk is the first cell");
        assert_eq!(layout.keys.len(), tree.key_count());
    }
}

#[test]
fn layout_points_at_the_records() {
    let tree = mixed_tree();
    let o = WriterOptions { ri_chunk: Some(100), ..WriterOptions::default() };
    let (hive, layout) = write_hive_with_map(&tree, &o);
    for (path, k) in &layout.keys {
        let nk = cell_data_file_offset(k.nk);
        assert_eq!(&hive[nk..nk + 2], b"nk", "{path}");
        let name_len = u16_at(&hive, nk + nk_field::NAME_LENGTH) as usize;
        let spec = tree.find(path).unwrap();
        assert_eq!(&hive[nk + nk_field::NAME..nk + nk_field::NAME + name_len], spec.name.stored_bytes());
        assert_eq!(k.parent_nk.unwrap_or(0xFFFF_FFFF), u32_at(&hive, nk + nk_field::PARENT));
        assert_eq!(k.subkey_list.unwrap_or(0xFFFF_FFFF), u32_at(&hive, nk + nk_field::SUBKEY_LIST));
        assert_eq!(k.value_list.unwrap_or(0xFFFF_FFFF), u32_at(&hive, nk + nk_field::VALUE_LIST));
        assert_eq!(k.class.unwrap_or(0xFFFF_FFFF), u32_at(&hive, nk + nk_field::CLASS_NAME));
        assert_eq!(layout.security, u32_at(&hive, nk + nk_field::SECURITY));
        if let Some(l) = k.subkey_list {
            let sig = &hive[cell_data_file_offset(l)..cell_data_file_offset(l) + 2];
            assert_eq!(sig, if k.uses_ri { b"ri" } else { b"lh" });
            for leaf in &k.subkey_leaves {
                assert_eq!(&hive[cell_data_file_offset(*leaf)..cell_data_file_offset(*leaf) + 2], b"lh");
            }
        }
        for (i, v) in k.values.iter().enumerate() {
            let vk = cell_data_file_offset(v.vk);
            assert_eq!(&hive[vk..vk + 2], b"vk");
            assert_eq!(u32_at(&hive, cell_data_file_offset(k.value_list.unwrap()) + 4 * i), v.vk);
            let spec = &spec.values[i];
            assert_eq!(v.name, spec.name.to_string_lossy());
            let data_off = u32_at(&hive, vk + vk_field::DATA_OFFSET);
            match &v.data {
                DataLayout::Inline => assert!(spec.data.len() <= 4),
                DataLayout::Cell(c) => {
                    assert_eq!(*c, data_off);
                    let d = cell_data_file_offset(*c);
                    assert_eq!(&hive[d..d + spec.data.len()], &spec.data[..]);
                }
                DataLayout::Big { db, segment_list, segments } => {
                    assert_eq!(*db, data_off);
                    assert_eq!(&hive[cell_data_file_offset(*db)..cell_data_file_offset(*db) + 2], b"db");
                    assert_eq!(u32_at(&hive, cell_data_file_offset(*db) + 4), *segment_list);
                    assert_eq!(segments.len(), spec.data.len().div_ceil(16344));
                }
            }
        }
    }
    assert!(layout.key("\\Many").uses_ri);
    assert_eq!(layout.key("\\Many").subkey_leaves.len(), 3);
    assert!(matches!(layout.key("\\Types").value("big_40000").data, DataLayout::Big { .. }));
    assert!(matches!(layout.key("\\Types").value("exactly_16344").data, DataLayout::Cell(_)));
}

#[test]
fn big_data_layout() {
    let data: Vec<u8> = (0..16_345u32).map(|i| i as u8).collect();
    let tree = KeySpec::new("r").with_value(ValueSpec::binary("v", data.clone()));
    // Windows-like: both segment cells are full size (16344 + 4 -> 16352), like yarp BigDataHive /
    // offreg output.
    let (hive, layout) = write_hive_with_map(&tree, &WriterOptions::default());
    let DataLayout::Big { db, segment_list, segments } = &layout.key("\\").value("v").data else { panic!() };
    let size = |o: u32| i32::from_le_bytes(hive[4096 + o as usize..4100 + o as usize].try_into().unwrap());
    assert_eq!(size(*db), -16);
    assert_eq!(size(*segment_list), -16);
    assert_eq!(segments.iter().map(|&s| size(s)).collect::<Vec<_>>(), vec![-16352, -16352]);
    assert_eq!(u16_at(&hive, cell_data_file_offset(*db) + 2), 2);
    // Exact last segment.
    let o = WriterOptions { pad_last_segment: false, ..WriterOptions::default() };
    let (hive, layout) = write_hive_with_map(&tree, &o);
    let DataLayout::Big { segments, .. } = &layout.key("\\").value("v").data else { panic!() };
    let size = |o: u32| i32::from_le_bytes(hive[4096 + o as usize..4100 + o as usize].try_into().unwrap());
    assert_eq!(segments.iter().map(|&s| size(s)).collect::<Vec<_>>(), vec![-16352, -8]);
    // Minor 3, or big_data off: one cell in a bin larger than 4 KiB.
    for o in [WriterOptions::for_minor(3), WriterOptions { big_data: false, ..WriterOptions::default() }] {
        let (hive, layout) = write_hive_with_map(&tree, &o);
        let DataLayout::Cell(c) = layout.key("\\").value("v").data else { panic!() };
        assert_eq!(i32::from_le_bytes(hive[4096 + c as usize..4100 + c as usize].try_into().unwrap()), -(16_352));
        assert!(layout.bins.iter().any(|b| b.size == 16384), "{:?}", layout.bins);
        read_strict(&hive, &expect(&o));
    }
}

#[test]
fn inline_and_empty_data() {
    let tree = KeySpec::new("r")
        .with_value(ValueSpec::binary("e", vec![]))
        .with_value(ValueSpec::binary("two", vec![0xAB, 0xCD]))
        .with_value(ValueSpec::dword("d", 0x11223344));
    let (hive, layout) = write_hive_with_map(&tree, &WriterOptions::default());
    let vk = |n: &str| cell_data_file_offset(layout.key("\\").value(n).vk);
    assert_eq!(u32_at(&hive, vk("e") + 4), 0x8000_0000);
    assert_eq!(u32_at(&hive, vk("e") + 8), 0);
    assert_eq!(u32_at(&hive, vk("two") + 4), 0x8000_0002);
    assert_eq!(u32_at(&hive, vk("two") + 8), 0xCDAB);
    assert_eq!(u32_at(&hive, vk("d") + 4), 0x8000_0004);
    assert_eq!(u32_at(&hive, vk("d") + 8), 0x11223344);
}

#[test]
fn duplicate_sibling_names_are_rejected() {
    let tree = KeySpec::new("r").with_subkey(KeySpec::new("Tcpip")).with_subkey(KeySpec::new(Name::utf16("TCPIP")));
    let err = try_write_hive_with_map(&tree, &WriterOptions::default()).unwrap_err();
    assert!(matches!(err, WriteError::DuplicateSubkey { .. }), "{err}");
    // Windows uppercasing: é and É collide, ß and SS do not, ÿ and Ÿ (U+0178) collide.
    let collide = |a: Name, b: Name| {
        try_write_hive_with_map(
            &KeySpec::new("r").with_subkey(KeySpec::new(a)).with_subkey(KeySpec::new(b)),
            &WriterOptions::default(),
        )
        .is_err()
    };
    assert!(collide(Name::ascii("é"), Name::utf16("É")));
    assert!(!collide(Name::ascii("ß"), Name::ascii("SS")));
    assert!(collide(Name::ascii("\u{ff}"), Name::utf16("\u{178}")));
    assert!(!collide(Name::ascii("\u{b5}"), Name::utf16("\u{39c}")));
}

#[test]
#[should_panic(expected = "differ only in case")]
fn write_hive_panics_on_duplicates() {
    let tree = KeySpec::new("r").with_subkey(KeySpec::new("a")).with_subkey(KeySpec::new("A"));
    write_hive(&tree, &WriterOptions::default());
}

#[test]
fn invalid_options_are_rejected() {
    let t = KeySpec::new("r");
    for o in [
        WriterOptions { minor_version: 2, ..WriterOptions::default() },
        WriterOptions { minor_version: 7, ..WriterOptions::default() },
        WriterOptions { ri_chunk: Some(0), ..WriterOptions::default() },
    ] {
        assert!(matches!(try_write_hive_with_map(&t, &o), Err(WriteError::InvalidOptions(_))));
    }
}

#[test]
fn base_block_fields() {
    let o = WriterOptions {
        timestamp: 0x01D9_AAAA_BBBB_CCCC,
        sequence: (9, 9),
        file_name: "\\??\\C:\\Windows\\System32\\config\\SYSTEM".into(),
        ..WriterOptions::default()
    };
    let hive = write_hive(&KeySpec::new("r"), &o);
    assert_eq!(hive.len(), 8192);
    assert_eq!(u32_at(&hive, 4), 9);
    assert_eq!(u32_at(&hive, 8), 9);
    assert_eq!(common::u64_at(&hive, 12), 0x01D9_AAAA_BBBB_CCCC);
    assert_eq!(u32_at(&hive, 36), 0x20);
    assert_eq!(u32_at(&hive, 40), 4096);
    assert_eq!(u32_at(&hive, 44), 1);
    assert_eq!(u32_at(&hive, 508), xor32_checksum(&hive));
    // The last 31 UTF-16 units of the name, then a NUL.
    let name: Vec<u16> = (0..32).map(|i| u16_at(&hive, 48 + 2 * i)).collect();
    let want: Vec<u16> = "\\??\\C:\\Windows\\System32\\config\\SYSTEM".encode_utf16().collect();
    assert_eq!(&name[..31], &want[want.len() - 31..]);
    assert_eq!(name[31], 0);
    assert_eq!(&hive[164..168], b"rmtm");
    // One bin whose tail is a single free cell (read_strict checks the tiling in detail).
    read_strict(&hive, &expect(&o));
}

// ---- property tests: random trees and options read back exactly ----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn random_trees_round_trip(tree in key_strategy(), o in options_strategy()) {
        let hive = write_hive(&tree, &o);
        let back = read_strict(&hive, &expect(&o));
        prop_assert_eq!(back, canonical(&tree));
    }
}
