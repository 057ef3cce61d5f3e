//! proptest strategies for random hives, shared by the writer's own tests and the parser's
//! round-trip tests.

use crate::writer::{KeySpec, ListKind, Name, ValueSpec, WriterOptions};
use proptest::prelude::*;

/// Names: raw Latin-1 bytes, raw UTF-16 units (unpaired surrogates included), ASCII words, and
/// letters where Windows' uppercasing differs from Unicode's.
pub fn name_strategy() -> impl Strategy<Value = Name> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(Name::Latin1),
        proptest::collection::vec(any::<u16>(), 0..12).prop_map(Name::Utf16),
        "[a-zA-Z0-9 _.-]{1,10}".prop_map(|s| Name::auto(&s)),
        proptest::sample::select(vec![
            "a", "A", "é", "É", "ÿ", "Ÿ", "ß", "SS", "µ", "Μ", "ǅ", "ᾀ", "ω", "Ω", "ж", "Ж", "中"
        ])
        .prop_map(Name::utf16),
    ]
}

/// Values of any type, with lengths around the inline, cell and big-data (`db`) boundaries.
pub fn value_strategy() -> impl Strategy<Value = ValueSpec> {
    let len = prop_oneof![0usize..8, 8usize..200, 16_340usize..16_350, 32_680usize..32_700];
    (name_strategy(), prop_oneof![0u32..12, any::<u32>()], len, any::<u8>()).prop_map(|(name, t, len, seed)| {
        ValueSpec::new(name, t, (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect::<Vec<u8>>())
    })
}

/// Trees up to 3 levels below the root, siblings unique case-insensitively.
pub fn key_strategy() -> impl Strategy<Value = KeySpec> {
    let leaf = (
        name_strategy(),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
        any::<u64>(),
        proptest::collection::vec(value_strategy(), 0..4),
    )
        .prop_map(|(name, class_name, last_written, values)| KeySpec {
            name,
            class_name,
            last_written,
            values,
            subkeys: vec![],
        });
    leaf.prop_recursive(3, 40, 8, |inner| {
        (inner.clone(), proptest::collection::vec(inner, 0..8)).prop_map(|(mut k, subs)| {
            // Drop case-insensitive duplicates: the writer rejects them.
            let mut seen = std::collections::BTreeSet::new();
            k.subkeys = subs.into_iter().filter(|s| seen.insert(s.name.upcase_units())).collect();
            k
        })
    })
}

/// Every format version, list kind, `ri` splitting, big-data choice.
pub fn options_strategy() -> impl Strategy<Value = WriterOptions> {
    (3u32..=6, 0usize..3, proptest::option::of(1usize..5), any::<bool>(), any::<bool>()).prop_map(
        |(minor, kind, ri, big, pad)| WriterOptions {
            list_kind: [ListKind::Li, ListKind::Lf, ListKind::Lh][kind],
            ri_chunk: ri,
            big_data: big,
            pad_last_segment: pad,
            ..WriterOptions::for_minor(minor)
        },
    )
}

/// Sorts subkeys recursively the way the hive orders them, to compare a written tree with a read
/// one.
pub fn canonical(k: &KeySpec) -> KeySpec {
    let mut k = k.clone();
    fn fix(k: &mut KeySpec) {
        // An empty value name is stored without the compressed flag whatever its form; key names
        // keep theirs.
        for v in &mut k.values {
            if v.name.is_empty() {
                v.name = Name::Latin1(Vec::new());
            }
        }
        k.subkeys.sort_by_key(|s| s.name.upcase_units());
        k.subkeys.iter_mut().for_each(fix);
    }
    fix(&mut k);
    k
}
