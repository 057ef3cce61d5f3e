//! Shared test helpers: a strict, spec-following reader of hives made by the writer (it checks the
//! layout rules the writer promises, not just readability), a transaction-log replayer, and
//! tool/corpus discovery.
//!
//! The reader and replayer are written directly from the spec, separately from the writer, so they
//! cross-check it; the replayer is also validated on real Windows logs in `corpus.rs`. hivex
//! (`hivex.rs`) is the fully independent check.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regnet_testkit::{
    lf_hint, lh_hash, marvin32, upcase_utf16, xor32_checksum, KeySpec, ListKind, Name, ValueSpec, HVLE_MARVIN32_SEED,
};

pub const B: usize = 4096;

pub fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
pub fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
pub fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

/// The corpus directory, if present (`../shared/corpus` relative to the workspace root).
pub fn corpus() -> Option<PathBuf> {
    // The crate is at <workspace>/crates/regnet-testkit; the corpus is at <workspace>/../shared/corpus.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    dir.is_dir().then_some(dir)
}

/// True if `tool` is on PATH.
pub fn have_tool(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(tool).is_file()))
}

/// A fresh scratch directory under the target directory, private to this process (other test runs
/// may share the target directory). Removed on drop unless the test is panicking, so a failure
/// leaves its files for inspection.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.0.join(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

pub fn scratch_dir(name: &str) -> Scratch {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("regnet-testkit").join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// What the strict reader checks lists against.
#[derive(Clone, Debug)]
pub struct Expect {
    pub list_kind: ListKind,
    pub ri_chunk: Option<usize>,
    /// Whether values over 16344 bytes must be `db` records.
    pub big_data: bool,
}

struct Reader<'a> {
    hive: &'a [u8],
    cells: BTreeMap<u32, u32>,
    referenced: BTreeSet<u32>,
    security: Option<u32>,
    keys: u32,
    expect: Expect,
}

impl<'a> Reader<'a> {
    /// The record of an allocated cell at `off`, marking it referenced (each cell may be referenced
    /// only once, except the shared `sk`).
    fn cell(&mut self, off: u32) -> &'a [u8] {
        let size = *self.cells.get(&off).unwrap_or_else(|| panic!("offset {off:#x} is not an allocated cell"));
        assert!(self.referenced.insert(off), "cell {off:#x} referenced twice");
        let start = B + off as usize;
        &self.hive[start + 4..start + size as usize]
    }

    fn read_key(&mut self, off: u32, parent: Option<u32>) -> KeySpec {
        self.keys += 1;
        let r = self.cell(off);
        assert_eq!(&r[0..2], b"nk", "nk signature at {off:#x}");
        let flags = u16_at(r, 2);
        let parent_field = u32_at(r, 16);
        match parent {
            Some(p) => {
                assert_eq!(parent_field, p, "parent of {off:#x}");
                assert_eq!(flags & 0x0C, 0, "non-root key with root flags");
            }
            None => assert_eq!(flags & 0x0C, 0x0C, "root key flags"),
        }
        let n_sub = u32_at(r, 20);
        assert_eq!(u32_at(r, 24), 0, "volatile subkeys");
        let list = u32_at(r, 28);
        assert_eq!(u32_at(r, 32), 0xFFFF_FFFF);
        let n_val = u32_at(r, 36);
        let vlist = u32_at(r, 40);
        let sk = u32_at(r, 44);
        match self.security {
            None => {
                self.security = Some(sk);
                let s = self.cell(sk);
                assert_eq!(&s[0..2], b"sk");
                assert_eq!(u32_at(s, 4), sk, "sk flink");
                assert_eq!(u32_at(s, 8), sk, "sk blink");
                let sd_len = u32_at(s, 16) as usize;
                assert!(20 + sd_len <= s.len());
                let sd = &s[20..20 + sd_len];
                assert_eq!(sd[0], 1, "SD revision");
                assert_eq!(u16_at(sd, 2) & 0x8000, 0x8000, "self-relative SD");
            }
            Some(s) => assert_eq!(sk, s, "one shared sk cell"),
        }
        let class_off = u32_at(r, 48);
        let name_len = u16_at(r, 72) as usize;
        let class_len = u16_at(r, 74) as usize;
        let raw = &r[76..76 + name_len];
        let name = if flags & 0x20 != 0 {
            Name::Latin1(raw.to_vec())
        } else {
            assert_eq!(name_len % 2, 0);
            Name::Utf16(raw.chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect())
        };
        let class_name = if class_off == 0xFFFF_FFFF {
            assert_eq!(class_len, 0);
            None
        } else {
            let c = self.cell(class_off);
            Some(c[..class_len].to_vec())
        };

        let mut values = Vec::new();
        if n_val == 0 {
            assert_eq!(vlist, 0xFFFF_FFFF, "empty value list offset");
        } else {
            let vl = self.cell(vlist);
            for i in 0..n_val as usize {
                values.push(self.read_value(u32_at(vl, 4 * i)));
            }
        }
        let mut subkeys = Vec::new();
        if n_sub == 0 {
            assert_eq!(list, 0xFFFF_FFFF, "empty subkey list offset");
        } else {
            let elements = self.read_list(list, n_sub as usize);
            let mut prev: Option<Vec<u16>> = None;
            for nk in elements {
                let child = self.read_key(nk, Some(off));
                let up = child.name.upcase_units();
                if let Some(p) = &prev {
                    assert!(*p < up, "subkey list not strictly sorted at {:?}", child.name.to_string_lossy());
                }
                prev = Some(up);
                subkeys.push(child);
            }
        }
        // The "largest" fields, in UTF-16 bytes for names.
        let max = |it: &mut dyn Iterator<Item = usize>| it.max().unwrap_or(0) as u32;
        assert_eq!(u32_at(r, 52) & 0xFFFF, max(&mut subkeys.iter().map(|k| k.name.utf16_byte_len())).min(0xFFFF));
        assert_eq!(u32_at(r, 56), max(&mut subkeys.iter().map(|k| k.class_name.as_ref().map_or(0, Vec::len))));
        assert_eq!(u32_at(r, 60), max(&mut values.iter().map(|v| v.name.utf16_byte_len())));
        assert_eq!(u32_at(r, 64), max(&mut values.iter().map(|v| v.data.len())));
        KeySpec { name, class_name, last_written: u64_at(r, 4), values, subkeys }
    }

    /// Returns the nk offsets of a subkey list (through an ri if any), checking hints and hashes.
    fn read_list(&mut self, off: u32, count: usize) -> Vec<u32> {
        let r = self.cell(off);
        let n = u16_at(r, 2) as usize;
        if &r[0..2] == b"ri" {
            let chunk = self.expect.ri_chunk.expect("ri without ri_chunk");
            assert!(count > chunk, "ri used for {count} <= {chunk} subkeys");
            assert_eq!(n, count.div_ceil(chunk));
            let mut all = Vec::new();
            for i in 0..n {
                let leaf = self.read_leaf(u32_at(r, 4 + 4 * i));
                assert!(leaf.len() <= chunk && !leaf.is_empty());
                all.extend(leaf);
            }
            assert_eq!(all.len(), count);
            all
        } else {
            if let Some(c) = self.expect.ri_chunk {
                assert!(count <= c, "{count} subkeys without ri (chunk {c})");
            }
            let v = self.read_leaf_at(off, r);
            assert_eq!(v.len(), count);
            v
        }
    }

    fn read_leaf(&mut self, off: u32) -> Vec<u32> {
        let r = self.cell(off);
        self.read_leaf_at(off, r)
    }

    fn read_leaf_at(&mut self, off: u32, r: &'a [u8]) -> Vec<u32> {
        let sig: &[u8] = match self.expect.list_kind {
            ListKind::Li => b"li",
            ListKind::Lf => b"lf",
            ListKind::Lh => b"lh",
        };
        assert_eq!(&r[0..2], sig, "leaf kind at {off:#x}");
        let n = u16_at(r, 2) as usize;
        let step = if sig == b"li" { 4 } else { 8 };
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let nk = u32_at(r, 4 + step * i);
            if step == 8 {
                let extra = &r[8 + step * i..12 + step * i];
                // Decode the child's name from its nk without marking it referenced.
                let rec = &self.hive[B + nk as usize + 4..];
                let flags = u16_at(rec, 2);
                let len = u16_at(rec, 72) as usize;
                let raw = &rec[76..76 + len];
                let name = if flags & 0x20 != 0 {
                    Name::Latin1(raw.to_vec())
                } else {
                    Name::Utf16(raw.chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect())
                };
                if sig == b"lh" {
                    // Independent re-computation of the hash from the spec's formula.
                    let h = upcase_utf16(&name.units())
                        .iter()
                        .fold(0u32, |h, &c| h.wrapping_mul(37).wrapping_add(c as u32));
                    assert_eq!(u32_at(extra, 0), h, "lh hash");
                    assert_eq!(h, lh_hash(&name));
                } else {
                    assert_eq!(extra, lf_hint(&name), "lf hint");
                }
            }
            out.push(nk);
        }
        out
    }

    fn read_value(&mut self, off: u32) -> ValueSpec {
        let r = self.cell(off);
        assert_eq!(&r[0..2], b"vk");
        let name_len = u16_at(r, 2) as usize;
        let size = u32_at(r, 4);
        let doff = u32_at(r, 8);
        let data_type = u32_at(r, 12);
        let flags = u16_at(r, 16);
        let raw = &r[20..20 + name_len];
        let name = if flags & 1 != 0 {
            Name::Latin1(raw.to_vec())
        } else if name_len == 0 {
            Name::Latin1(Vec::new())
        } else {
            Name::Utf16(raw.chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect())
        };
        let len = (size & 0x7FFF_FFFF) as usize;
        let data = if size & 0x8000_0000 != 0 {
            assert!(len <= 4, "inline data longer than 4");
            if len == 0 {
                assert_eq!(doff, 0, "empty data offset");
            }
            let b = doff.to_le_bytes();
            assert!(b[len..].iter().all(|&x| x == 0), "inline padding");
            b[..len].to_vec()
        } else {
            assert!(len > 4, "non-inline data of {len} bytes");
            let d = self.cell(doff);
            if &d[0..2] == b"db" && len > 16344 && self.expect.big_data {
                let n = u16_at(d, 2) as usize;
                assert_eq!(n, len.div_ceil(16344), "db segment count");
                let list = self.cell(u32_at(d, 4));
                let mut out = Vec::with_capacity(len);
                for i in 0..n {
                    let seg = self.cell(u32_at(list, 4 * i));
                    let take = (len - out.len()).min(16344);
                    assert!(seg.len() >= take);
                    out.extend_from_slice(&seg[..take]);
                }
                out
            } else {
                assert!(!(len > 16344 && self.expect.big_data), "big value without db");
                assert!(d.len() >= len, "data cell too small");
                d[..len].to_vec()
            }
        };
        ValueSpec { name, data_type, data }
    }
}

/// Reads a hive made by the writer, checking every layout rule it promises; returns the tree with
/// subkeys in list order (sorted) and values in value-list order.
pub fn read_strict(hive: &[u8], expect: &Expect) -> KeySpec {
    assert_eq!(&hive[0..4], b"regf");
    assert_eq!(u32_at(hive, 508), xor32_checksum(hive), "checksum");
    assert_eq!(u32_at(hive, 4), u32_at(hive, 8), "clean hive sequence numbers");
    assert_eq!(u32_at(hive, 20), 1);
    assert_eq!(u32_at(hive, 28), 0);
    assert_eq!(u32_at(hive, 32), 1);
    let hbins = u32_at(hive, 40) as usize;
    assert_eq!(hive.len(), B + hbins, "file length = base block + hive bins");
    // Bins and cells tile the hive-bins data; each bin ends with at most one free cell.
    let mut cells = BTreeMap::new();
    let mut o = 0usize;
    let mut first = true;
    while o < hbins {
        let h = &hive[B + o..];
        assert_eq!(&h[0..4], b"hbin", "bin at {o:#x}");
        assert_eq!(u32_at(h, 4) as usize, o, "bin offset field");
        let size = u32_at(h, 8) as usize;
        assert!(size >= 4096 && size.is_multiple_of(4096), "bin size {size:#x}");
        if first {
            assert_eq!(u64_at(h, 20), u64_at(hive, 12), "first bin timestamp");
            first = false;
        }
        let mut c = o + 32;
        while c < o + size {
            let s = i32::from_le_bytes(hive[B + c..B + c + 4].try_into().unwrap());
            assert_ne!(s, 0, "zero cell size at {c:#x}");
            let abs = s.unsigned_abs() as usize;
            assert_eq!(abs % 8, 0, "cell size alignment at {c:#x}");
            assert!(c + abs <= o + size, "cell crosses bin end at {c:#x}");
            if s < 0 {
                cells.insert(c as u32, abs as u32);
            } else {
                assert_eq!(c + abs, o + size, "free cell not at bin end at {c:#x}");
            }
            c += abs;
        }
        o += size;
    }
    assert_eq!(o, hbins);
    let mut rd = Reader { hive, cells, referenced: BTreeSet::new(), security: None, keys: 0, expect: expect.clone() };
    let root = rd.read_key(u32_at(hive, 36), None);
    let sk = rd.security.unwrap();
    assert_eq!(u32_at(hive, B + sk as usize + 4 + 12), rd.keys, "sk reference count");
    let leaked: Vec<_> = rd.cells.keys().filter(|c| !rd.referenced.contains(c)).collect();
    assert!(leaked.is_empty(), "unreferenced allocated cells: {leaked:x?}");
    root
}

#[allow(unused_imports)]
pub use regnet_testkit::strategies::canonical;

/// Result of a replay.
pub struct Replayed {
    pub hive: Vec<u8>,
    pub applied: Vec<u32>,
}

/// Replays new-format logs per the spec: only if the primary is dirty; entries with valid hashes
/// and consecutive sequence numbers from the first log's base-block sequence number (>= the
/// primary's secondary), the log with the earlier entries first.
pub fn replay_new(primary: &[u8], logs: &[&[u8]]) -> Replayed {
    let mut hive = primary.to_vec();
    assert_ne!(u32_at(&hive, 4), u32_at(&hive, 8), "primary is not dirty");
    let secondary = u32_at(&hive, 8);
    // (base-block sequence number, [(entry sequence number, entry)]) per log
    type Entries<'a> = Vec<(u32, &'a [u8])>;
    let mut parsed: Vec<(u32, Entries)> = Vec::new();
    for log in logs {
        if log.is_empty() {
            continue;
        }
        assert_eq!(&log[0..4], b"regf");
        assert_eq!(u32_at(log, 28), 6, "log file type");
        assert_eq!(u32_at(log, 508), xor32_checksum(log), "log base block checksum");
        assert_eq!(u32_at(log, 4), u32_at(log, 8));
        let mut entries = Vec::new();
        let mut o = 512;
        while o + 40 <= log.len() && &log[o..o + 4] == b"HvLE" {
            let size = u32_at(log, o + 4) as usize;
            if size < 40 || o + size > log.len() {
                break;
            }
            let e = &log[o..o + size];
            if marvin32(HVLE_MARVIN32_SEED, &e[40..]) != u64_at(e, 24)
                || marvin32(HVLE_MARVIN32_SEED, &e[..32]) != u64_at(e, 32)
            {
                break;
            }
            entries.push((u32_at(e, 12), e));
            o += size;
        }
        parsed.push((u32_at(log, 4), entries));
    }
    parsed.sort_by_key(|(seq, _)| *seq);
    let mut applied = Vec::new();
    let mut expected: Option<u32> = None;
    for (base_seq, entries) in parsed {
        for (seq, e) in entries {
            match expected {
                None if seq == base_seq && seq >= secondary => {}
                Some(x) if seq == x => {}
                Some(x) if seq < x => continue,
                None if seq < secondary => continue,
                _ => break,
            }
            let hbins = u32_at(e, 16) as usize;
            assert!(hbins.is_multiple_of(4096));
            hive.resize(B + hbins, 0);
            let n = u32_at(e, 20) as usize;
            let mut data = 40 + 8 * n;
            for i in 0..n {
                let off = u32_at(e, 40 + 8 * i) as usize;
                let size = u32_at(e, 44 + 8 * i) as usize;
                hive[B + off..B + off + size].copy_from_slice(&e[data..data + size]);
                data += size;
            }
            hive[40..44].copy_from_slice(&(hbins as u32).to_le_bytes());
            hive[4..8].copy_from_slice(&seq.to_le_bytes());
            hive[8..12].copy_from_slice(&seq.to_le_bytes());
            let flags = (u32_at(&hive, 144) & !1) | (u32_at(e, 8) & 1);
            hive[144..148].copy_from_slice(&flags.to_le_bytes());
            applied.push(seq);
            expected = Some(seq + 1);
        }
    }
    regnet_testkit::fix_checksum(&mut hive);
    Replayed { hive, applied }
}

/// Replays an old-format log per the spec.
pub fn replay_old(primary: &[u8], log: &[u8]) -> Vec<u8> {
    let mut hive = primary.to_vec();
    assert_ne!(u32_at(&hive, 4), u32_at(&hive, 8), "primary is not dirty");
    assert_eq!(&log[0..4], b"regf");
    assert_eq!(u32_at(log, 28), 1, "old log file type");
    assert_eq!(u32_at(log, 508), xor32_checksum(log), "log checksum");
    assert_eq!(u32_at(log, 4), u32_at(log, 8), "log sequence numbers");
    assert_eq!(u64_at(log, 12), u64_at(primary, 12), "log timestamp matches primary");
    assert_eq!(&log[512..516], b"DIRT");
    let hbins = u32_at(log, 40) as usize;
    let bits = hbins / 512;
    let bitmap = &log[516..516 + bits / 8];
    let mut page = (516 + bits / 8).div_ceil(512) * 512;
    hive.resize(B + hbins, 0);
    for bit in 0..bits {
        if bitmap[bit / 8] >> (bit % 8) & 1 == 1 {
            hive[B + 512 * bit..B + 512 * (bit + 1)].copy_from_slice(&log[page..page + 512]);
            page += 512;
        }
    }
    hive[40..44].copy_from_slice(&(hbins as u32).to_le_bytes());
    let seq = u32_at(log, 4);
    hive[4..8].copy_from_slice(&seq.to_le_bytes());
    hive[8..12].copy_from_slice(&seq.to_le_bytes());
    regnet_testkit::fix_checksum(&mut hive);
    hive
}

/// A tree exercising everything the writer can produce: Latin-1 names with bytes 0x80..0xFF, UTF-16
/// names with non-Latin characters (and a UTF-16 name that would fit Latin-1), every predefined
/// value type and an unknown one, empty/inline/cell/big data, a default value, class names, and a
/// key with enough subkeys for an `ri`.
pub fn mixed_tree() -> KeySpec {
    let big: Vec<u8> = (0..40_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let exact: Vec<u8> = (0..16_344u32).map(|i| (i % 13) as u8).collect();
    let mut many = KeySpec::new("Many");
    for i in 0..300u32 {
        // Mixed case and digits so that sorted order differs from insertion order.
        let name = if i % 2 == 0 { format!("k{i:03}") } else { format!("K{i:03}x") };
        many = many.with_subkey(KeySpec::new(name.as_str()).with_value(ValueSpec::dword("i", i)));
    }
    KeySpec::new("CMI-CreateHive{2A7FB991-7BBE-4F9D-B91E-7CB51D4737F5}")
        .with_class_str("RootClass")
        .with_value(ValueSpec::sz("", "default value"))
        .with_subkey(
            KeySpec::new("Types")
                .with_last_written(0x01D0_0000_1234_5678)
                .with_value(ValueSpec::none("none", vec![1, 2, 3, 4, 5, 6]))
                .with_value(ValueSpec::sz("sz", "hello, world"))
                .with_value(ValueSpec::expand_sz("expand_sz", "%SystemRoot%\\system32"))
                .with_value(ValueSpec::binary("binary", vec![0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]))
                .with_value(ValueSpec::dword("dword", 0x1234_5678))
                .with_value(ValueSpec::dword_be("dword_be", 0x1234_5678))
                .with_value(ValueSpec::link("link", "\\Registry\\Machine\\System\\ControlSet001"))
                .with_value(ValueSpec::multi_sz("multi_sz", &["10.0.0.1", "", "192.168.1.1"]))
                .with_value(ValueSpec::new("resource_list", 8, vec![8; 20]))
                .with_value(ValueSpec::new("full_resource_descriptor", 9, vec![9; 36]))
                .with_value(ValueSpec::new("resource_requirements_list", 10, vec![10; 48]))
                .with_value(ValueSpec::qword("qword", 0x0102_0304_0506_0708))
                .with_value(ValueSpec::new("unknown_type", 0x12345, vec![0x45, 0x23, 0x01, 0x00, 0x99]))
                .with_value(ValueSpec::binary("empty", Vec::new()))
                .with_value(ValueSpec::binary("one", vec![0x7f]))
                .with_value(ValueSpec::binary("three", vec![1, 2, 3]))
                .with_value(ValueSpec::binary("five", vec![1, 2, 3, 4, 5]))
                .with_value(ValueSpec::binary("exactly_16344", exact))
                .with_value(ValueSpec::binary("big_40000", big)),
        )
        .with_subkey(
            KeySpec::new(Name::Latin1(b"Latin1-\xe9t\xe9-\x80\x9f\xa0\xff".to_vec()))
                .with_class(vec![0x43, 0x00, 0x6c, 0x00])
                .with_value(ValueSpec::sz(Name::Latin1(b"caf\xe9-\xb5-\xdf".to_vec()), "Latin-1 value name"))
                .with_subkey(KeySpec::new(Name::Latin1(vec![0x9f])))
                .with_subkey(KeySpec::new(Name::utf16("\u{178}")))
                .with_subkey(KeySpec::new("\u{e0}-lower"))
                .with_subkey(KeySpec::new(Name::Latin1(b"stra\xdfe".to_vec()))),
        )
        .with_subkey(
            KeySpec::new(Name::utf16("Юникод-ключ"))
                .with_class_str("класс")
                .with_value(ValueSpec::sz(Name::utf16("значение"), "данные"))
                .with_value(ValueSpec::dword(Name::utf16("数字"), 42))
                .with_subkey(KeySpec::new(Name::utf16("ελληνικά")))
                .with_subkey(KeySpec::new(Name::utf16("中文")))
                .with_subkey(KeySpec::new(Name::utf16("plain-but-utf16")))
                .with_subkey(KeySpec::new(Name::utf16("emoji-\u{1F600}"))),
        )
        .with_subkey(many)
        .with_subkey(KeySpec::new("Empty"))
}
