//! A regf (Windows registry hive) writer, for making test fixtures.
//!
//! Written from the regf format specification by Maxim Suhanov (CC BY 4.0,
//! `docs/regf-format-spec.md`), with layout details chosen to look like hives that Windows itself
//! writes (checked against real hives with `xxd`):
//!
//! * the root key node is the first cell of the first hive bin (offset 0x20), followed by the one
//!   shared `sk` cell, as in hives written by the Windows kernel;
//! * key names whose characters all fit in Latin-1 are usually stored "compressed"
//!   ([`Name::Latin1`], flag `KEY_COMP_NAME`), others as UTF-16LE ([`Name::Utf16`]); this writer
//!   stores whichever form the caller asks for;
//! * data of 4 bytes or less lives in the value's data-offset field; empty data is written as
//!   Windows does it (size `0x80000000`, offset 0);
//! * data larger than 16344 bytes uses a `db` record when the minor version is at least 4; each
//!   segment cell is allocated at the full 16344-byte segment size by default (Windows does so even
//!   for a short last segment);
//! * every hive bin is a multiple of 4096 bytes, and its unused tail is one unallocated cell.
//!
//! The writer is deliberately simple: every cell is written exactly once, there is no slack and no
//! free cell other than the tail of each bin. Hostile tests corrupt the output afterwards, using
//! the offsets in [`Layout`].
//!
//! All offsets in [`Layout`] are, like offsets inside the format, relative to the start of the
//! hive-bins data (file offset 4096), and point at the cell's 4-byte size field; the record itself
//! starts 4 bytes later. Use [`file_offset`] and [`cell_data_file_offset`] to turn them into
//! positions in the returned file.

use std::collections::BTreeMap;
use std::fmt;

use crate::upcase::upcase_utf16;

/// Size of the base block (file header).
pub const BASE_BLOCK_SIZE: usize = 4096;
/// Hive bins are multiples of this size.
pub const HBIN_ALIGN: usize = 4096;
/// Size of a hive bin header.
pub const HBIN_HEADER_SIZE: usize = 32;
/// Largest data segment of a `db` record (spec, "Big data"); values larger than this use `db` when
/// minor >= 4.
pub const BIG_DATA_SEGMENT: usize = 16344;
/// An offset that points nowhere.
pub const NO_OFFSET: u32 = 0xFFFF_FFFF;
/// A fixed FILETIME (2024-01-01 00:00:00 UTC) used as the default key and hive timestamp, so output
/// is reproducible.
pub const DEFAULT_FILETIME: u64 = 133_485_408_000_000_000;

/// Key node flag: the name is stored as Latin-1 ("compressed") bytes.
pub const KEY_COMP_NAME: u16 = 0x0020;
/// Key node flag: the root key of the hive.
pub const KEY_HIVE_ENTRY: u16 = 0x0004;
/// Key node flag: the key cannot be deleted (set on root keys by Windows).
pub const KEY_NO_DELETE: u16 = 0x0008;
/// Value flag: the name is stored as Latin-1 ("compressed") bytes.
pub const VALUE_COMP_NAME: u16 = 0x0001;

/// Registry data types (spec, "Data types").
pub mod reg_type {
    pub const NONE: u32 = 0;
    pub const SZ: u32 = 1;
    pub const EXPAND_SZ: u32 = 2;
    pub const BINARY: u32 = 3;
    pub const DWORD: u32 = 4;
    pub const DWORD_BIG_ENDIAN: u32 = 5;
    pub const LINK: u32 = 6;
    pub const MULTI_SZ: u32 = 7;
    pub const RESOURCE_LIST: u32 = 8;
    pub const FULL_RESOURCE_DESCRIPTOR: u32 = 9;
    pub const RESOURCE_REQUIREMENTS_LIST: u32 = 10;
    pub const QWORD: u32 = 11;
}

/// Field offsets inside the base block, for tests that patch it.
pub mod base_block_field {
    pub const SIGNATURE: usize = 0;
    pub const PRIMARY_SEQUENCE: usize = 4;
    pub const SECONDARY_SEQUENCE: usize = 8;
    pub const LAST_WRITTEN: usize = 12;
    pub const MAJOR_VERSION: usize = 20;
    pub const MINOR_VERSION: usize = 24;
    pub const FILE_TYPE: usize = 28;
    pub const FILE_FORMAT: usize = 32;
    pub const ROOT_CELL_OFFSET: usize = 36;
    pub const HIVE_BINS_DATA_SIZE: usize = 40;
    pub const CLUSTERING_FACTOR: usize = 44;
    pub const FILE_NAME: usize = 48;
    pub const FLAGS: usize = 144;
    pub const CHECKSUM: usize = 508;
}

/// Field offsets inside a key node record (relative to the record, i.e. 4 bytes after the cell
/// offset).
pub mod nk_field {
    pub const SIGNATURE: usize = 0;
    pub const FLAGS: usize = 2;
    pub const LAST_WRITTEN: usize = 4;
    pub const ACCESS_BITS: usize = 12;
    pub const PARENT: usize = 16;
    pub const SUBKEY_COUNT: usize = 20;
    pub const VOLATILE_SUBKEY_COUNT: usize = 24;
    pub const SUBKEY_LIST: usize = 28;
    pub const VOLATILE_SUBKEY_LIST: usize = 32;
    pub const VALUE_COUNT: usize = 36;
    pub const VALUE_LIST: usize = 40;
    pub const SECURITY: usize = 44;
    pub const CLASS_NAME: usize = 48;
    pub const LARGEST_SUBKEY_NAME: usize = 52;
    pub const LARGEST_SUBKEY_CLASS: usize = 56;
    pub const LARGEST_VALUE_NAME: usize = 60;
    pub const LARGEST_VALUE_DATA: usize = 64;
    pub const WORK_VAR: usize = 68;
    pub const NAME_LENGTH: usize = 72;
    pub const CLASS_NAME_LENGTH: usize = 74;
    pub const NAME: usize = 76;
}

/// Field offsets inside a key value record (relative to the record, i.e. 4 bytes after the cell
/// offset).
pub mod vk_field {
    pub const SIGNATURE: usize = 0;
    pub const NAME_LENGTH: usize = 2;
    pub const DATA_SIZE: usize = 4;
    pub const DATA_OFFSET: usize = 8;
    pub const DATA_TYPE: usize = 12;
    pub const FLAGS: usize = 16;
    pub const SPARE: usize = 18;
    pub const NAME: usize = 20;
}

/// Field offsets inside `li`/`lf`/`lh`/`ri` and `db` records (relative to the record).
pub mod list_field {
    pub const SIGNATURE: usize = 0;
    pub const COUNT: usize = 2;
    pub const ELEMENTS: usize = 4;
    /// `db` only: offset of the segment list.
    pub const DB_SEGMENT_LIST: usize = 4;
}

/// Field offsets inside a key security record (relative to the record).
pub mod sk_field {
    pub const SIGNATURE: usize = 0;
    pub const FLINK: usize = 4;
    pub const BLINK: usize = 8;
    pub const REFERENCE_COUNT: usize = 12;
    pub const DESCRIPTOR_SIZE: usize = 16;
    pub const DESCRIPTOR: usize = 20;
}

/// File offset of a hive-bins-relative offset.
pub fn file_offset(rel: u32) -> usize {
    BASE_BLOCK_SIZE + rel as usize
}

/// File offset of the record inside the cell at a hive-bins-relative offset (skipping the 4-byte
/// cell size).
pub fn cell_data_file_offset(rel: u32) -> usize {
    file_offset(rel) + 4
}

/// A key or value name, in the form it is stored on disk.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Name {
    /// Stored as one byte per character (Latin-1), with the `KEY_COMP_NAME` / `VALUE_COMP_NAME`
    /// flag.
    Latin1(Vec<u8>),
    /// Stored as UTF-16LE code units (may be any units, including unpaired surrogates).
    Utf16(Vec<u16>),
}

impl Name {
    /// A compressed (Latin-1) name. Panics if `s` has a character above U+00FF, which cannot be
    /// stored compressed.
    pub fn ascii(s: &str) -> Name {
        let bytes = s
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or_else(|_| panic!("{s:?}: {c:?} is not Latin-1")))
            .collect();
        Name::Latin1(bytes)
    }

    /// A UTF-16LE name, even if every character would fit in Latin-1.
    pub fn utf16(s: &str) -> Name {
        Name::Utf16(s.encode_utf16().collect())
    }

    /// The form Windows would choose: compressed if every character is Latin-1, else UTF-16LE.
    pub fn auto(s: &str) -> Name {
        if s.chars().all(|c| u32::from(c) <= 0xFF) {
            Name::ascii(s)
        } else {
            Name::utf16(s)
        }
    }

    /// The name as text: Latin-1 bytes map to U+0000..U+00FF; unpaired surrogates become U+FFFD.
    pub fn to_string_lossy(&self) -> String {
        match self {
            Name::Latin1(b) => b.iter().map(|&b| char::from(b)).collect(),
            Name::Utf16(u) => String::from_utf16_lossy(u),
        }
    }

    /// The name as UTF-16 code units (Latin-1 bytes widened), which is what Windows compares and
    /// hashes.
    pub fn units(&self) -> Vec<u16> {
        match self {
            Name::Latin1(b) => b.iter().map(|&b| u16::from(b)).collect(),
            Name::Utf16(u) => u.clone(),
        }
    }

    /// The bytes stored in the record.
    pub fn stored_bytes(&self) -> Vec<u8> {
        match self {
            Name::Latin1(b) => b.clone(),
            Name::Utf16(u) => u.iter().flat_map(|u| u.to_le_bytes()).collect(),
        }
    }

    /// Length in bytes of the name *as UTF-16LE*, the unit of the "largest name length" fields of a
    /// key node.
    pub fn utf16_byte_len(&self) -> usize {
        match self {
            Name::Latin1(b) => b.len() * 2,
            Name::Utf16(u) => u.len() * 2,
        }
    }

    /// True for the empty name (the default value of a key).
    pub fn is_empty(&self) -> bool {
        match self {
            Name::Latin1(b) => b.is_empty(),
            Name::Utf16(u) => u.is_empty(),
        }
    }

    /// True when stored compressed.
    pub fn is_latin1(&self) -> bool {
        matches!(self, Name::Latin1(_))
    }

    /// The uppercase UTF-16 code units that order subkey lists and feed the `lh` hash.
    pub fn upcase_units(&self) -> Vec<u16> {
        upcase_utf16(&self.units())
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name::auto(s)
    }
}

impl From<String> for Name {
    fn from(s: String) -> Name {
        Name::auto(&s)
    }
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

fn utf16le_nul(s: &str) -> Vec<u8> {
    let mut v = utf16le(s);
    v.extend_from_slice(&[0, 0]);
    v
}

/// A value to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueSpec {
    /// An empty name makes the key's default value.
    pub name: Name,
    pub data_type: u32,
    pub data: Vec<u8>,
}

impl ValueSpec {
    /// A value with any type and raw data.
    pub fn new(name: impl Into<Name>, data_type: u32, data: impl Into<Vec<u8>>) -> ValueSpec {
        ValueSpec { name: name.into(), data_type, data: data.into() }
    }

    /// REG_SZ: UTF-16LE text with a terminating NUL, as Windows stores it.
    pub fn sz(name: impl Into<Name>, text: &str) -> ValueSpec {
        ValueSpec::new(name, reg_type::SZ, utf16le_nul(text))
    }

    /// REG_EXPAND_SZ: like [`ValueSpec::sz`].
    pub fn expand_sz(name: impl Into<Name>, text: &str) -> ValueSpec {
        ValueSpec::new(name, reg_type::EXPAND_SZ, utf16le_nul(text))
    }

    /// REG_MULTI_SZ: each string NUL-terminated, then one more NUL.
    pub fn multi_sz(name: impl Into<Name>, items: &[&str]) -> ValueSpec {
        let mut data = Vec::new();
        for s in items {
            data.extend(utf16le_nul(s));
        }
        data.extend_from_slice(&[0, 0]);
        ValueSpec::new(name, reg_type::MULTI_SZ, data)
    }

    /// REG_LINK: UTF-16LE target path without a terminating NUL (as in `SymbolicLinkValue`).
    pub fn link(name: impl Into<Name>, target: &str) -> ValueSpec {
        ValueSpec::new(name, reg_type::LINK, utf16le(target))
    }

    /// REG_DWORD (little-endian).
    pub fn dword(name: impl Into<Name>, v: u32) -> ValueSpec {
        ValueSpec::new(name, reg_type::DWORD, v.to_le_bytes().to_vec())
    }

    /// REG_DWORD_BIG_ENDIAN.
    pub fn dword_be(name: impl Into<Name>, v: u32) -> ValueSpec {
        ValueSpec::new(name, reg_type::DWORD_BIG_ENDIAN, v.to_be_bytes().to_vec())
    }

    /// REG_QWORD (little-endian).
    pub fn qword(name: impl Into<Name>, v: u64) -> ValueSpec {
        ValueSpec::new(name, reg_type::QWORD, v.to_le_bytes().to_vec())
    }

    /// REG_BINARY.
    pub fn binary(name: impl Into<Name>, data: impl Into<Vec<u8>>) -> ValueSpec {
        ValueSpec::new(name, reg_type::BINARY, data)
    }

    /// REG_NONE with arbitrary data.
    pub fn none(name: impl Into<Name>, data: impl Into<Vec<u8>>) -> ValueSpec {
        ValueSpec::new(name, reg_type::NONE, data)
    }
}

/// A key to write, with its values and subkeys (in any order: the writer sorts subkey lists
/// itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySpec {
    pub name: Name,
    /// Raw class-name bytes (usually UTF-16LE without a NUL); `None` writes no class cell.
    pub class_name: Option<Vec<u8>>,
    /// FILETIME of the key node.
    pub last_written: u64,
    /// Values, written in this order (value lists are not sorted on disk).
    pub values: Vec<ValueSpec>,
    /// Subkeys; their names must differ case-insensitively.
    pub subkeys: Vec<KeySpec>,
}

impl KeySpec {
    /// A key with no class, values or subkeys, timestamp [`DEFAULT_FILETIME`].
    pub fn new(name: impl Into<Name>) -> KeySpec {
        KeySpec {
            name: name.into(),
            class_name: None,
            last_written: DEFAULT_FILETIME,
            values: Vec::new(),
            subkeys: Vec::new(),
        }
    }

    pub fn with_value(mut self, v: ValueSpec) -> KeySpec {
        self.values.push(v);
        self
    }

    pub fn with_subkey(mut self, k: KeySpec) -> KeySpec {
        self.subkeys.push(k);
        self
    }

    /// Sets raw class-name bytes.
    pub fn with_class(mut self, class: impl Into<Vec<u8>>) -> KeySpec {
        self.class_name = Some(class.into());
        self
    }

    /// Sets the class name to `s` in UTF-16LE (no NUL), the usual form.
    pub fn with_class_str(self, s: &str) -> KeySpec {
        self.with_class(utf16le(s))
    }

    pub fn with_last_written(mut self, t: u64) -> KeySpec {
        self.last_written = t;
        self
    }

    /// Finds a descendant by a backslash-separated path relative to this key ("" or "\\" is this
    /// key); names match case-insensitively with Windows' uppercasing.
    pub fn find(&self, path: &str) -> Option<&KeySpec> {
        let mut k = self;
        for part in path.split('\\').filter(|p| !p.is_empty()) {
            let want = Name::auto(part).upcase_units();
            k = k.subkeys.iter().find(|s| s.name.upcase_units() == want)?;
        }
        Some(k)
    }

    /// Mutable variant of [`KeySpec::find`], handy for deriving an "after" tree from a "before"
    /// tree.
    pub fn find_mut(&mut self, path: &str) -> Option<&mut KeySpec> {
        let mut k = self;
        for part in path.split('\\').filter(|p| !p.is_empty()) {
            let want = Name::auto(part).upcase_units();
            k = k.subkeys.iter_mut().find(|s| s.name.upcase_units() == want)?;
        }
        Some(k)
    }

    /// Number of keys in this tree, this key included.
    pub fn key_count(&self) -> usize {
        1 + self.subkeys.iter().map(KeySpec::key_count).sum::<usize>()
    }
}

/// Which subkey-list record to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListKind {
    /// Index leaf: offsets only.
    Li,
    /// Fast leaf: offsets and 4-character name hints (Windows XP era, minor version 3 and 4).
    Lf,
    /// Hash leaf: offsets and name hashes (minor version 5 and later).
    Lh,
}

/// Options of [`write_hive`].
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// Base block minor version, 3..=6.
    pub minor_version: u32,
    /// Kind of every subkey list (the leaves, when an `ri` is used). Not checked against the
    /// version, so that tests can write e.g. `lh` in a 1.3 hive.
    pub list_kind: ListKind,
    /// When `Some(n)` and a key has more than `n` subkeys, write an `ri` pointing to leaves of at
    /// most `n` elements. A key with more than 65535 subkeys always gets an `ri`, as a leaf count
    /// is 16 bits.
    pub ri_chunk: Option<usize>,
    /// Values larger than 16344 bytes use `db` records when the minor version is at least 4. When
    /// false (or minor 3) such data is stored in one cell, as hives of version 1.3 do.
    pub big_data: bool,
    /// Allocate the last `db` segment cell at the full segment size, as Windows does (true), or
    /// just large enough for the remaining data (false). Both are valid; a reader must take the
    /// data length from the value.
    pub pad_last_segment: bool,
    /// Base block "Last written" FILETIME, also copied to the first hive bin header.
    pub timestamp: u64,
    /// Primary and secondary sequence numbers; equal numbers make a clean hive.
    pub sequence: (u32, u32),
    /// Base block file name field; only the last 31 UTF-16 units are kept, NUL-terminated, as
    /// Windows does.
    pub file_name: String,
}

impl Default for WriterOptions {
    fn default() -> WriterOptions {
        WriterOptions {
            minor_version: 5,
            list_kind: ListKind::Lh,
            ri_chunk: None,
            big_data: true,
            pad_last_segment: true,
            timestamp: DEFAULT_FILETIME,
            sequence: (1, 1),
            file_name: "\\SystemRoot\\System32\\Config\\SYSTEM".to_string(),
        }
    }
}

impl WriterOptions {
    /// Defaults for a minor version, with the list kind Windows uses for it (`lf` for 1.3 and 1.4,
    /// `lh` after).
    pub fn for_minor(minor_version: u32) -> WriterOptions {
        WriterOptions {
            minor_version,
            list_kind: if minor_version <= 4 { ListKind::Lf } else { ListKind::Lh },
            ..WriterOptions::default()
        }
    }
}

/// Why a hive could not be written. The panicking entry points ([`write_hive`],
/// [`write_hive_with_map`]) panic with this error's message; [`try_write_hive_with_map`] returns
/// it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteError {
    /// Two subkeys of the key at `parent` have names that are equal after Windows uppercasing.
    DuplicateSubkey { parent: String, first: String, second: String },
    /// A key or value name longer than 65535 bytes (the name-length fields are 16 bits).
    NameTooLong { path: String },
    /// A class name longer than 65535 bytes.
    ClassTooLong { path: String },
    /// Data too large for a single cell or a `db` record.
    DataTooLarge { path: String, value: String, len: usize },
    /// An option out of range.
    InvalidOptions(String),
    /// The hive would exceed 4 GiB.
    HiveTooLarge,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::DuplicateSubkey { parent, first, second } => {
                write!(f, "key {parent:?}: subkeys {first:?} and {second:?} differ only in case")
            }
            WriteError::NameTooLong { path } => write!(f, "{path:?}: name longer than 65535 bytes"),
            WriteError::ClassTooLong { path } => {
                write!(f, "{path:?}: class name longer than 65535 bytes")
            }
            WriteError::DataTooLarge { path, value, len } => {
                write!(f, "{path:?} value {value:?}: {len} bytes of data is too large")
            }
            WriteError::InvalidOptions(s) => write!(f, "invalid writer options: {s}"),
            WriteError::HiveTooLarge => write!(f, "hive larger than 4 GiB"),
        }
    }
}

impl std::error::Error for WriteError {}

/// Where a value's data was put.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataLayout {
    /// In the data-offset field of the `vk` (4 bytes or less, including empty data).
    Inline,
    /// In one cell.
    Cell(u32),
    /// A `db` record, its segment list, and the segment cells.
    Big { db: u32, segment_list: u32, segments: Vec<u32> },
}

impl DataLayout {
    /// The cell the `vk` data offset points to, if any.
    pub fn data_cell(&self) -> Option<u32> {
        match self {
            DataLayout::Inline => None,
            DataLayout::Cell(o) => Some(*o),
            DataLayout::Big { db, .. } => Some(*db),
        }
    }
}

/// Where one value was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueLayout {
    /// `Name::to_string_lossy` of the value name ("" for the default value).
    pub name: String,
    pub vk: u32,
    pub data: DataLayout,
}

/// Where one key was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyLayout {
    pub nk: u32,
    pub parent_nk: Option<u32>,
    pub class: Option<u32>,
    /// The cell the key node's subkey-list offset points to: the leaf, or the `ri` when `uses_ri`
    /// is set.
    pub subkey_list: Option<u32>,
    /// True when `subkey_list` is an `ri`.
    pub uses_ri: bool,
    /// The leaf lists, in order (just `[subkey_list]` without an `ri`).
    pub subkey_leaves: Vec<u32>,
    pub value_list: Option<u32>,
    /// Values in the order of the value list.
    pub values: Vec<ValueLayout>,
}

impl KeyLayout {
    /// The layout of a value by name (exact match on the lossy name).
    pub fn value(&self, name: &str) -> &ValueLayout {
        self.values.iter().find(|v| v.name == name).unwrap_or_else(|| panic!("no value {name:?}"))
    }
}

/// A hive bin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BinLayout {
    pub offset: u32,
    pub size: u32,
}

/// Where everything was written. Offsets are relative to the hive-bins data and point at cells (see
/// module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub root: u32,
    /// The shared `sk` cell.
    pub security: u32,
    pub hive_bins_size: u32,
    pub bins: Vec<BinLayout>,
    /// Keyed by path: "\\" for the root, "\\A\\B" below it, built from `Name::to_string_lossy` of
    /// the names as given (not case-folded). Names that only differ in invalid UTF-16 collapse to
    /// the same path; the key written last wins, so give such keys distinguishable names if a test
    /// needs their offsets.
    pub keys: BTreeMap<String, KeyLayout>,
}

impl Layout {
    /// The layout of a key by path ("\\" for the root); panics if absent.
    pub fn key(&self, path: &str) -> &KeyLayout {
        self.keys.get(path).unwrap_or_else(|| panic!("no key {path:?} in layout"))
    }
}

/// XOR-32 checksum of the first 508 bytes of a base block (spec, base block note 2).
///
/// Panics if `base_block` is shorter than 508 bytes.
pub fn xor32_checksum(base_block: &[u8]) -> u32 {
    let c = base_block[..508].chunks_exact(4).fold(0u32, |c, g| c ^ u32::from_le_bytes([g[0], g[1], g[2], g[3]]));
    match c {
        0xFFFF_FFFF => 0xFFFF_FFFE,
        0 => 1,
        c => c,
    }
}

/// Recomputes and stores the base block checksum of a hive (or of a transaction log's base block
/// copy), e.g. after a test has patched a base block field.
pub fn fix_checksum(hive: &mut [u8]) {
    let c = xor32_checksum(hive);
    hive[base_block_field::CHECKSUM..base_block_field::CHECKSUM + 4].copy_from_slice(&c.to_le_bytes());
}

/// The `lh` hash of a name (spec, "Hash leaf"): H = 37 * H + C over the uppercase UTF-16 code
/// units.
pub fn lh_hash(name: &Name) -> u32 {
    name.upcase_units().iter().fold(0u32, |h, &c| h.wrapping_mul(37).wrapping_add(u32::from(c)))
}

/// The `lf` name hint (spec, "Fast leaf"): the first 4 characters as extended ASCII, NUL-padded;
/// all zero when a UTF-16 name's first characters are not all below U+0100.
///
/// Windows does something odder for compressed names with bytes 0x80..0x9F (yarp's CompHive has
/// hint 0x81 for the name 0x9F, apparently via an ANSI code page); the spec's rule is used here,
/// and readers must not rely on hints.
pub fn lf_hint(name: &Name) -> [u8; 4] {
    let mut hint = [0u8; 4];
    match name {
        Name::Latin1(b) => {
            for (h, &c) in hint.iter_mut().zip(b) {
                *h = c;
            }
        }
        Name::Utf16(u) => {
            if u.iter().take(4).all(|&c| c < 0x100) {
                for (h, &c) in hint.iter_mut().zip(u) {
                    *h = c as u8; // checked above: < 0x100
                }
            }
        }
    }
    hint
}

/// A minimal self-relative security descriptor: owner BUILTIN\Administrators, group SYSTEM, and a
/// DACL granting KEY_ALL_ACCESS to Administrators and SYSTEM and KEY_READ to Everyone, inherited by
/// subkeys. The structure follows the one found in real hives (control word 0x8004: self-relative,
/// DACL present).
pub fn minimal_security_descriptor() -> Vec<u8> {
    fn sid(authority: u8, subs: &[u32]) -> Vec<u8> {
        let mut v = vec![1, subs.len() as u8, 0, 0, 0, 0, 0, authority];
        for s in subs {
            v.extend_from_slice(&s.to_le_bytes());
        }
        v
    }
    const CONTAINER_INHERIT_ACE: u8 = 0x02;
    const KEY_ALL_ACCESS: u32 = 0x000F_003F;
    const KEY_READ: u32 = 0x0002_0019;
    let admins = sid(5, &[32, 544]);
    let system = sid(5, &[18]);
    let everyone = sid(1, &[0]);
    let mut aces = Vec::new();
    for (mask, s) in [(KEY_ALL_ACCESS, &admins), (KEY_ALL_ACCESS, &system), (KEY_READ, &everyone)] {
        let size = (8 + s.len()) as u16;
        aces.push(0u8); // ACCESS_ALLOWED_ACE_TYPE
        aces.push(CONTAINER_INHERIT_ACE);
        aces.extend_from_slice(&size.to_le_bytes());
        aces.extend_from_slice(&mask.to_le_bytes());
        aces.extend_from_slice(s);
    }
    let mut acl = vec![2u8, 0]; // ACL_REVISION, Sbz1
    acl.extend_from_slice(&((8 + aces.len()) as u16).to_le_bytes());
    acl.extend_from_slice(&3u16.to_le_bytes()); // ACE count
    acl.extend_from_slice(&0u16.to_le_bytes()); // Sbz2
    acl.extend(aces);

    let dacl_off = 20u32;
    let owner_off = dacl_off + acl.len() as u32;
    let group_off = owner_off + admins.len() as u32;
    let mut sd = vec![1u8, 0]; // revision, Sbz1
    sd.extend_from_slice(&0x8004u16.to_le_bytes()); // SE_SELF_RELATIVE | SE_DACL_PRESENT
    sd.extend_from_slice(&owner_off.to_le_bytes());
    sd.extend_from_slice(&group_off.to_le_bytes());
    sd.extend_from_slice(&0u32.to_le_bytes()); // no SACL
    sd.extend_from_slice(&dacl_off.to_le_bytes());
    sd.extend(acl);
    sd.extend(admins);
    sd.extend(system);
    sd
}

/// Writes a hive. Panics with the [`WriteError`] message on invalid input (duplicate sibling names,
/// overlong names, bad options); use [`try_write_hive_with_map`] to get the error instead.
pub fn write_hive(root: &KeySpec, opts: &WriterOptions) -> Vec<u8> {
    write_hive_with_map(root, opts).0
}

/// Like [`write_hive`], and also returns where every key, list, value and data cell was written.
pub fn write_hive_with_map(root: &KeySpec, opts: &WriterOptions) -> (Vec<u8>, Layout) {
    try_write_hive_with_map(root, opts).unwrap_or_else(|e| panic!("write_hive: {e}"))
}

/// Non-panicking form of [`write_hive_with_map`].
pub fn try_write_hive_with_map(root: &KeySpec, opts: &WriterOptions) -> Result<(Vec<u8>, Layout), WriteError> {
    if !(3..=6).contains(&opts.minor_version) {
        return Err(WriteError::InvalidOptions(format!(
            "minor version {} (3..=6 are supported; patch the base block for others)",
            opts.minor_version
        )));
    }
    if opts.ri_chunk == Some(0) {
        return Err(WriteError::InvalidOptions("ri_chunk must be at least 1".into()));
    }
    let mut w = Writer { opts, arena: Arena::new(), keys: BTreeMap::new(), security: 0 };
    let root_cell = w.arena.alloc(nk_len(&root.name, "\\")?)?;
    w.security = w.arena.alloc(20 + minimal_security_descriptor().len())?;
    w.place_key(root, root_cell, None, "\\".to_string())?;

    let sd = minimal_security_descriptor();
    let mut sk = Vec::with_capacity(20 + sd.len());
    sk.extend_from_slice(b"sk");
    sk.extend_from_slice(&0u16.to_le_bytes());
    sk.extend_from_slice(&w.security.to_le_bytes()); // flink: the list has one entry, itself
    sk.extend_from_slice(&w.security.to_le_bytes()); // blink
    sk.extend_from_slice(&(root.key_count() as u32).to_le_bytes());
    sk.extend_from_slice(&(sd.len() as u32).to_le_bytes());
    sk.extend(sd);
    w.arena.set(w.security, sk);

    let (hbins, bins) = w.arena.finish(opts.timestamp);
    let hive_bins_size = u32::try_from(hbins.len()).map_err(|_| WriteError::HiveTooLarge)?;
    let mut out = base_block(opts, root_cell, hive_bins_size);
    out.extend(hbins);
    let layout = Layout { root: root_cell, security: w.security, hive_bins_size, bins, keys: w.keys };
    Ok((out, layout))
}

fn base_block(opts: &WriterOptions, root: u32, hive_bins_size: u32) -> Vec<u8> {
    use base_block_field as f;
    let mut b = vec![0u8; BASE_BLOCK_SIZE];
    let mut put = |off: usize, bytes: &[u8]| b[off..off + bytes.len()].copy_from_slice(bytes);
    put(f::SIGNATURE, b"regf");
    put(f::PRIMARY_SEQUENCE, &opts.sequence.0.to_le_bytes());
    put(f::SECONDARY_SEQUENCE, &opts.sequence.1.to_le_bytes());
    put(f::LAST_WRITTEN, &opts.timestamp.to_le_bytes());
    put(f::MAJOR_VERSION, &1u32.to_le_bytes());
    put(f::MINOR_VERSION, &opts.minor_version.to_le_bytes());
    put(f::FILE_TYPE, &0u32.to_le_bytes());
    put(f::FILE_FORMAT, &1u32.to_le_bytes());
    put(f::ROOT_CELL_OFFSET, &root.to_le_bytes());
    put(f::HIVE_BINS_DATA_SIZE, &hive_bins_size.to_le_bytes());
    put(f::CLUSTERING_FACTOR, &1u32.to_le_bytes());
    // Windows keeps the tail of the path: 31 units and a NUL in the 64-byte field.
    let units: Vec<u16> = opts.file_name.encode_utf16().collect();
    let tail = &units[units.len().saturating_sub(31)..];
    let name: Vec<u8> = tail.iter().flat_map(|u| u.to_le_bytes()).collect();
    put(f::FILE_NAME, &name);
    // Vista+ CLFS fields: null RmId/LogId/TmId and the "rmtm" signature, as written by current
    // Windows.
    put(164, b"rmtm");
    fix_checksum(&mut b);
    b
}

fn align8(n: usize) -> usize {
    (n + 7) & !7
}

fn align_page(n: usize) -> usize {
    n.div_ceil(HBIN_ALIGN) * HBIN_ALIGN
}

/// Cell allocator: hands out offsets bin by bin, and holds each cell's record until the bins are
/// emitted. Cells are allocated before their contents are known, since records point at each other
/// in both directions.
struct Arena {
    bins: Vec<BinLayout>,
    cells: BTreeMap<u32, (u32, Vec<u8>)>,
    next: usize,
    bin_end: usize,
}

impl Arena {
    fn new() -> Arena {
        Arena {
            bins: vec![BinLayout { offset: 0, size: HBIN_ALIGN as u32 }],
            cells: BTreeMap::new(),
            next: HBIN_HEADER_SIZE,
            bin_end: HBIN_ALIGN,
        }
    }

    /// Allocates a cell for a record of `len` bytes; returns its offset.
    fn alloc(&mut self, len: usize) -> Result<u32, WriteError> {
        let size = align8(4 + len);
        if self.next + size > self.bin_end {
            // The rest of this bin becomes its free tail; a cell too large for a 4 KiB bin gets a
            // bigger bin.
            let bin_size = align_page(HBIN_HEADER_SIZE + size).max(HBIN_ALIGN);
            let offset = self.bin_end;
            self.bins.push(BinLayout {
                offset: u32::try_from(offset).map_err(|_| WriteError::HiveTooLarge)?,
                size: u32::try_from(bin_size).map_err(|_| WriteError::HiveTooLarge)?,
            });
            self.next = offset + HBIN_HEADER_SIZE;
            self.bin_end = offset + bin_size;
        }
        let off = u32::try_from(self.next).map_err(|_| WriteError::HiveTooLarge)?;
        let size = u32::try_from(size).map_err(|_| WriteError::HiveTooLarge)?;
        self.next += size as usize;
        self.cells.insert(off, (size, Vec::new()));
        Ok(off)
    }

    fn set(&mut self, off: u32, record: Vec<u8>) {
        let cell = self.cells.get_mut(&off).expect("set on an allocated cell");
        assert!(record.len() + 4 <= cell.0 as usize, "record larger than its cell");
        cell.1 = record;
    }

    /// Emits the hive-bins data: bin headers, allocated cells, and one free cell at the end of each
    /// bin.
    fn finish(self, timestamp: u64) -> (Vec<u8>, Vec<BinLayout>) {
        let total = self.bin_end;
        let mut out = vec![0u8; total];
        for (i, bin) in self.bins.iter().enumerate() {
            let o = bin.offset as usize;
            out[o..o + 4].copy_from_slice(b"hbin");
            out[o + 4..o + 8].copy_from_slice(&bin.offset.to_le_bytes());
            out[o + 8..o + 12].copy_from_slice(&bin.size.to_le_bytes());
            if i == 0 {
                // The first bin's timestamp backs up the base block's "Last written".
                out[o + 20..o + 28].copy_from_slice(&timestamp.to_le_bytes());
            }
        }
        for (&off, (size, record)) in &self.cells {
            let o = off as usize;
            out[o..o + 4].copy_from_slice(&(-(*size as i32)).to_le_bytes());
            out[o + 4..o + 4 + record.len()].copy_from_slice(record);
        }
        // Free tails: from the end of the last cell in each bin to the end of the bin.
        let mut ends: BTreeMap<u32, u32> =
            self.bins.iter().map(|b| (b.offset, b.offset + HBIN_HEADER_SIZE as u32)).collect();
        for (&off, (size, _)) in &self.cells {
            let (&bin_off, _) = ends.range(..=off).next_back().expect("cell inside a bin");
            ends.insert(bin_off, off + size);
        }
        for bin in &self.bins {
            let used_end = ends[&bin.offset];
            let free = bin.offset + bin.size - used_end;
            if free > 0 {
                let o = used_end as usize;
                out[o..o + 4].copy_from_slice(&(free as i32).to_le_bytes());
            }
        }
        (out, self.bins)
    }
}

fn nk_len(name: &Name, path: &str) -> Result<usize, WriteError> {
    let n = name.stored_bytes().len();
    if n > usize::from(u16::MAX) {
        return Err(WriteError::NameTooLong { path: path.to_string() });
    }
    Ok(nk_field::NAME + n)
}

fn join_path(parent: &str, name: &Name) -> String {
    if parent == "\\" {
        format!("\\{}", name.to_string_lossy())
    } else {
        format!("{parent}\\{}", name.to_string_lossy())
    }
}

fn u32_len(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

struct Writer<'a> {
    opts: &'a WriterOptions,
    arena: Arena,
    keys: BTreeMap<String, KeyLayout>,
    security: u32,
}

impl Writer<'_> {
    /// Allocates everything belonging to `key` (whose nk cell is already allocated), fills its nk,
    /// then recurses.
    fn place_key(&mut self, key: &KeySpec, nk: u32, parent: Option<u32>, path: String) -> Result<(), WriteError> {
        // Class name.
        let class = match &key.class_name {
            Some(c) => {
                if c.len() > usize::from(u16::MAX) {
                    return Err(WriteError::ClassTooLong { path });
                }
                let off = self.arena.alloc(c.len())?;
                self.arena.set(off, c.clone());
                Some(off)
            }
            None => None,
        };

        // Values: the list first, then each vk followed by its data, like a freshly written key.
        let value_list = if key.values.is_empty() { None } else { Some(self.arena.alloc(4 * key.values.len())?) };
        let mut values = Vec::with_capacity(key.values.len());
        for v in &key.values {
            values.push(self.place_value(v, &path)?);
        }
        if let Some(vl) = value_list {
            let list: Vec<u8> = values.iter().flat_map(|v: &ValueLayout| v.vk.to_le_bytes()).collect();
            self.arena.set(vl, list);
        }

        // Subkeys: node cells in the caller's order, lists sorted by uppercase name.
        let mut children = Vec::with_capacity(key.subkeys.len());
        for k in &key.subkeys {
            let child_path = join_path(&path, &k.name);
            let off = self.arena.alloc(nk_len(&k.name, &child_path)?)?;
            children.push((k.name.upcase_units(), k, off, child_path));
        }
        let mut sorted: Vec<usize> = (0..children.len()).collect();
        sorted.sort_by(|&a, &b| children[a].0.cmp(&children[b].0));
        for pair in sorted.windows(2) {
            if children[pair[0]].0 == children[pair[1]].0 {
                return Err(WriteError::DuplicateSubkey {
                    parent: path,
                    first: children[pair[0]].1.name.to_string_lossy(),
                    second: children[pair[1]].1.name.to_string_lossy(),
                });
            }
        }
        let elements: Vec<(u32, &Name)> = sorted.iter().map(|&i| (children[i].2, &children[i].1.name)).collect();
        let (subkey_list, uses_ri, subkey_leaves) = self.place_subkey_lists(&elements)?;

        // The key node itself.
        let flags = if key.name.is_latin1() { KEY_COMP_NAME } else { 0 }
            | if parent.is_none() { KEY_HIVE_ENTRY | KEY_NO_DELETE } else { 0 };
        let largest = |it: &mut dyn Iterator<Item = usize>| u32_len(it.max().unwrap_or(0));
        // Only the low 16 bits hold the largest subkey name length (the rest are flag fields since
        // Vista).
        let largest_subkey_name = largest(&mut key.subkeys.iter().map(|k| k.name.utf16_byte_len())).min(0xFFFF);
        let largest_subkey_class = largest(&mut key.subkeys.iter().map(|k| k.class_name.as_ref().map_or(0, Vec::len)));
        let largest_value_name = largest(&mut key.values.iter().map(|v| v.name.utf16_byte_len()));
        let largest_value_data = largest(&mut key.values.iter().map(|v| v.data.len()));
        let name = key.name.stored_bytes();
        let mut r = Vec::with_capacity(nk_field::NAME + name.len());
        r.extend_from_slice(b"nk");
        r.extend_from_slice(&flags.to_le_bytes());
        r.extend_from_slice(&key.last_written.to_le_bytes());
        r.extend_from_slice(&0u32.to_le_bytes()); // access bits
        r.extend_from_slice(&parent.unwrap_or(NO_OFFSET).to_le_bytes()); // no meaning for the root
        r.extend_from_slice(&u32_len(key.subkeys.len()).to_le_bytes());
        r.extend_from_slice(&0u32.to_le_bytes()); // volatile subkeys are never on disk
        r.extend_from_slice(&subkey_list.unwrap_or(NO_OFFSET).to_le_bytes());
        r.extend_from_slice(&NO_OFFSET.to_le_bytes());
        r.extend_from_slice(&u32_len(key.values.len()).to_le_bytes());
        r.extend_from_slice(&value_list.unwrap_or(NO_OFFSET).to_le_bytes());
        r.extend_from_slice(&self.security.to_le_bytes());
        r.extend_from_slice(&class.unwrap_or(NO_OFFSET).to_le_bytes());
        r.extend_from_slice(&largest_subkey_name.to_le_bytes());
        r.extend_from_slice(&largest_subkey_class.to_le_bytes());
        r.extend_from_slice(&largest_value_name.to_le_bytes());
        r.extend_from_slice(&largest_value_data.to_le_bytes());
        r.extend_from_slice(&0u32.to_le_bytes()); // WorkVar
        r.extend_from_slice(&(name.len() as u16).to_le_bytes()); // checked by nk_len
        r.extend_from_slice(&(key.class_name.as_ref().map_or(0, Vec::len) as u16).to_le_bytes());
        r.extend(name);
        self.arena.set(nk, r);

        self.keys.insert(
            path,
            KeyLayout { nk, parent_nk: parent, class, subkey_list, uses_ri, subkey_leaves, value_list, values },
        );
        for (_, child, off, child_path) in children {
            self.place_key(child, off, Some(nk), child_path)?;
        }
        Ok(())
    }

    /// Writes the subkey list(s) for sorted `(nk offset, name)` elements. Returns (list offset, is
    /// ri, leaves).
    fn place_subkey_lists(&mut self, elements: &[(u32, &Name)]) -> Result<(Option<u32>, bool, Vec<u32>), WriteError> {
        if elements.is_empty() {
            return Ok((None, false, Vec::new()));
        }
        let max_leaf = usize::from(u16::MAX);
        let chunk = self.opts.ri_chunk.unwrap_or(max_leaf).min(max_leaf);
        if elements.len() <= chunk {
            let leaf = self.place_leaf(elements)?;
            return Ok((Some(leaf), false, vec![leaf]));
        }
        let n_leaves = elements.len().div_ceil(chunk);
        if n_leaves > max_leaf {
            return Err(WriteError::InvalidOptions(format!("{} leaves exceed an ri's 65535", n_leaves)));
        }
        let ri = self.arena.alloc(4 + 4 * n_leaves)?;
        let mut leaves = Vec::with_capacity(n_leaves);
        for part in elements.chunks(chunk) {
            leaves.push(self.place_leaf(part)?);
        }
        let mut r = Vec::with_capacity(4 + 4 * n_leaves);
        r.extend_from_slice(b"ri");
        r.extend_from_slice(&(n_leaves as u16).to_le_bytes());
        for l in &leaves {
            r.extend_from_slice(&l.to_le_bytes());
        }
        self.arena.set(ri, r);
        Ok((Some(ri), true, leaves))
    }

    fn place_leaf(&mut self, elements: &[(u32, &Name)]) -> Result<u32, WriteError> {
        let kind = self.opts.list_kind;
        let elem = if kind == ListKind::Li { 4 } else { 8 };
        let off = self.arena.alloc(4 + elem * elements.len())?;
        let mut r = Vec::with_capacity(4 + elem * elements.len());
        r.extend_from_slice(match kind {
            ListKind::Li => b"li",
            ListKind::Lf => b"lf",
            ListKind::Lh => b"lh",
        });
        // At most 65535 elements: place_subkey_lists splits longer lists.
        r.extend_from_slice(&(elements.len() as u16).to_le_bytes());
        for (nk, name) in elements {
            r.extend_from_slice(&nk.to_le_bytes());
            match kind {
                ListKind::Li => {}
                ListKind::Lf => r.extend_from_slice(&lf_hint(name)),
                ListKind::Lh => r.extend_from_slice(&lh_hash(name).to_le_bytes()),
            }
        }
        self.arena.set(off, r);
        Ok(off)
    }

    fn place_value(&mut self, v: &ValueSpec, path: &str) -> Result<ValueLayout, WriteError> {
        let name = v.name.stored_bytes();
        if name.len() > usize::from(u16::MAX) {
            return Err(WriteError::NameTooLong { path: format!("{path} value {}", v.name.to_string_lossy()) });
        }
        let too_large =
            || WriteError::DataTooLarge { path: path.to_string(), value: v.name.to_string_lossy(), len: v.data.len() };
        // The top bit of the size field flags inline data, so sizes must stay below 2^31.
        if v.data.len() >= 0x8000_0000 {
            return Err(too_large());
        }
        let vk = self.arena.alloc(vk_field::NAME + name.len())?;
        let len = v.data.len() as u32;
        let (size_field, offset_field, data) = if v.data.len() <= 4 {
            // Inline: the bytes themselves, zero-padded, in the offset field (empty data gives
            // offset 0, as Windows).
            let mut inline = [0u8; 4];
            inline[..v.data.len()].copy_from_slice(&v.data);
            (len | 0x8000_0000, u32::from_le_bytes(inline), DataLayout::Inline)
        } else if v.data.len() > BIG_DATA_SEGMENT && self.opts.big_data && self.opts.minor_version >= 4 {
            let n = v.data.len().div_ceil(BIG_DATA_SEGMENT);
            if n > usize::from(u16::MAX) {
                return Err(too_large());
            }
            let db = self.arena.alloc(8)?;
            let list = self.arena.alloc(4 * n)?;
            let mut segments = Vec::with_capacity(n);
            for chunk in v.data.chunks(BIG_DATA_SEGMENT) {
                let cell_len = if self.opts.pad_last_segment { BIG_DATA_SEGMENT } else { chunk.len() };
                let s = self.arena.alloc(cell_len)?;
                self.arena.set(s, chunk.to_vec());
                segments.push(s);
            }
            let mut r = Vec::with_capacity(8);
            r.extend_from_slice(b"db");
            r.extend_from_slice(&(n as u16).to_le_bytes());
            r.extend_from_slice(&list.to_le_bytes());
            self.arena.set(db, r);
            self.arena.set(list, segments.iter().flat_map(|s| s.to_le_bytes()).collect());
            (len, db, DataLayout::Big { db, segment_list: list, segments })
        } else {
            let cell = self.arena.alloc(v.data.len())?;
            self.arena.set(cell, v.data.clone());
            (len, cell, DataLayout::Cell(cell))
        };

        let flags = if v.name.is_latin1() && !v.name.is_empty() { VALUE_COMP_NAME } else { 0 };
        let mut r = Vec::with_capacity(vk_field::NAME + name.len());
        r.extend_from_slice(b"vk");
        r.extend_from_slice(&(name.len() as u16).to_le_bytes());
        r.extend_from_slice(&size_field.to_le_bytes());
        r.extend_from_slice(&offset_field.to_le_bytes());
        r.extend_from_slice(&v.data_type.to_le_bytes());
        r.extend_from_slice(&flags.to_le_bytes());
        r.extend_from_slice(&0u16.to_le_bytes());
        r.extend(name);
        self.arena.set(vk, r);
        Ok(ValueLayout { name: v.name.to_string_lossy(), vk, data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_rules() {
        let mut b = vec![0u8; 512];
        assert_eq!(xor32_checksum(&b), 1, "0 becomes 1");
        b[0..4].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
        assert_eq!(xor32_checksum(&b), 0xFFFF_FFFE, "-1 becomes -2");
        b[4..8].copy_from_slice(&0x0000_00FFu32.to_le_bytes());
        assert_eq!(xor32_checksum(&b), 0xFFFF_FF00);
        b[504..508].copy_from_slice(&0x1234_5678u32.to_le_bytes());
        // The checksum field itself is not covered.
        b[508..512].copy_from_slice(&0xAAAA_AAAAu32.to_le_bytes());
        assert_eq!(xor32_checksum(&b), 0xFFFF_FF00 ^ 0x1234_5678);
        fix_checksum(&mut b);
        assert_eq!(&b[508..512], &(0xFFFF_FF00u32 ^ 0x1234_5678).to_le_bytes());
    }

    #[test]
    fn lh_hash_uses_uppercase_units() {
        assert_eq!(lh_hash(&Name::ascii("")), 0);
        assert_eq!(lh_hash(&Name::ascii("A")), 65);
        assert_eq!(lh_hash(&Name::ascii("ab")), 37 * 65 + 66);
        assert_eq!(lh_hash(&Name::ascii("ab")), lh_hash(&Name::utf16("AB")));
        // ÿ uppercases to U+0178 even though the name is stored compressed.
        assert_eq!(lh_hash(&Name::ascii("\u{ff}")), 0x178);
        // The example real hive nt-hive testhive has `lh` hash 0xE8E3454A for
        // "character-encoding-test"; checked in tests/corpus.rs against tens of thousands of real
        // hashes.
        assert_eq!(lh_hash(&Name::ascii("character-encoding-test")), 0xE8E3_454A);
    }

    #[test]
    fn lf_hints() {
        assert_eq!(lf_hint(&Name::ascii("Services")), *b"Serv");
        assert_eq!(lf_hint(&Name::ascii("ab")), *b"ab\0\0");
        assert_eq!(lf_hint(&Name::ascii("\u{eb}igenaardig")), [0xEB, b'i', b'g', b'e']);
        assert_eq!(lf_hint(&Name::utf16("Tcpip")), *b"Tcpi");
        assert_eq!(lf_hint(&Name::utf16("\u{178}")), [0; 4]);
        assert_eq!(lf_hint(&Name::utf16("abc\u{416}")), [0; 4]);
        assert_eq!(lf_hint(&Name::utf16("abcd\u{416}")), *b"abcd");
    }

    #[test]
    fn names() {
        assert_eq!(Name::auto("abc"), Name::Latin1(b"abc".to_vec()));
        assert_eq!(Name::auto("caf\u{e9}"), Name::Latin1(b"caf\xe9".to_vec()));
        assert_eq!(Name::auto("\u{416}"), Name::Utf16(vec![0x416]));
        assert_eq!(Name::Latin1(vec![0x9f, 0xff]).to_string_lossy(), "\u{9f}\u{ff}");
        assert_eq!(Name::Utf16(vec![0xD800]).to_string_lossy(), "\u{fffd}");
        assert_eq!(Name::ascii("ab").utf16_byte_len(), 4);
        assert_eq!(Name::utf16("ab").stored_bytes(), b"a\0b\0");
    }

    #[test]
    #[should_panic(expected = "not Latin-1")]
    fn ascii_rejects_wide_characters() {
        Name::ascii("\u{416}");
    }

    #[test]
    fn subkey_lists_are_sorted_by_uppercase_name() {
        let root = KeySpec::new("r")
            .with_subkey(KeySpec::new("b"))
            .with_subkey(KeySpec::new("C"))
            .with_subkey(KeySpec::new("a"))
            // 0x5F sorts after the uppercase letters, before lowercase ones.
            .with_subkey(KeySpec::new("_"))
            .with_subkey(KeySpec::new("\u{e9}")) // é -> É (0xC9)
            .with_subkey(KeySpec::new("\u{ff}")); // ÿ -> Ÿ (0x178) sorts last
        let (hive, layout) = write_hive_with_map(&root, &WriterOptions::default());
        let list = cell_data_file_offset(layout.key("\\").subkey_list.unwrap());
        assert_eq!(&hive[list..list + 2], b"lh");
        let n = u16::from_le_bytes([hive[list + 2], hive[list + 3]]) as usize;
        let order: Vec<String> = (0..n)
            .map(|i| {
                let nk = u32::from_le_bytes(hive[list + 4 + 8 * i..list + 8 + 8 * i].try_into().unwrap());
                layout.keys.iter().find(|(_, k)| k.nk == nk).map(|(p, _)| p.clone()).unwrap()
            })
            .collect();
        assert_eq!(order, ["\\a", "\\b", "\\C", "\\_", "\\\u{e9}", "\\\u{ff}"]);
    }

    #[test]
    fn ri_splits_into_leaves() {
        let mut root = KeySpec::new("r");
        for i in (0..10).rev() {
            root = root.with_subkey(KeySpec::new(format!("k{i}").as_str()));
        }
        let o = WriterOptions { ri_chunk: Some(4), list_kind: ListKind::Lf, ..WriterOptions::default() };
        let (hive, layout) = write_hive_with_map(&root, &o);
        let k = layout.key("\\");
        assert!(k.uses_ri);
        let ri = cell_data_file_offset(k.subkey_list.unwrap());
        assert_eq!(&hive[ri..ri + 4], b"ri\x03\x00");
        let counts: Vec<u16> = k
            .subkey_leaves
            .iter()
            .map(|&l| {
                let o = cell_data_file_offset(l);
                assert_eq!(&hive[o..o + 2], b"lf");
                u16::from_le_bytes([hive[o + 2], hive[o + 3]])
            })
            .collect();
        assert_eq!(counts, [4, 4, 2]);
        // Exactly n subkeys: no ri.
        let o = WriterOptions { ri_chunk: Some(10), ..WriterOptions::default() };
        assert!(!write_hive_with_map(&root, &o).1.key("\\").uses_ri);
    }

    #[test]
    fn security_descriptor_is_well_formed() {
        let sd = minimal_security_descriptor();
        let u32_at = |o: usize| u32::from_le_bytes(sd[o..o + 4].try_into().unwrap()) as usize;
        assert_eq!(&sd[0..4], &[1, 0, 0x04, 0x80]);
        let (owner, group, sacl, dacl) = (u32_at(4), u32_at(8), u32_at(12), u32_at(16));
        assert_eq!(sacl, 0);
        let acl_size = u16::from_le_bytes([sd[dacl + 2], sd[dacl + 3]]) as usize;
        assert_eq!(dacl + acl_size, owner);
        assert_eq!(&sd[owner..owner + 16], &[1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0]);
        assert_eq!(&sd[group..], &[1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]);
    }
}
