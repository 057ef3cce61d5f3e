//! Key nodes (`nk`) and subkey lists (`li`, `lf`, `lh`, `ri`).

use crate::bytes::{sig2, slice, u16_at, u32_at, u64_at, us};
use crate::error::{HiveError, Result};
use crate::hive::{file_offset, Hive, NIL};
use crate::name::Name;
use crate::time::FileTime;
use crate::value::{Value, Values};
use std::borrow::Cow;

/// Fixed part of a key node, before its name.
const NK_FIXED: usize = 76;
/// Key name is Latin-1.
const KEY_COMP_NAME: u16 = 0x0020;

/// A key node: a cheap view into the hive.
#[derive(Clone, Copy)]
pub struct Key<'h> {
    hive: &'h Hive<'h>,
    offset: u32,
    cell: &'h [u8],
}

impl std::fmt::Debug for Key<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("offset", &self.offset).field("name", &self.name()).finish()
    }
}

impl<'h> Key<'h> {
    /// Reads the key node at hive-bins offset `off`; `what`/`at` describe the pointer for errors.
    pub(crate) fn at(hive: &'h Hive<'h>, off: u32, what: &'static str, at: u64) -> Result<Key<'h>> {
        let cell = hive.cell(off, what, at)?;
        let fo = file_offset(off);
        if cell.get(..2) != Some(b"nk") {
            return Err(HiveError::BadSignature {
                what: "key node",
                offset: fo + 4,
                expected: "nk",
                found: sig2(cell).to_vec(),
            });
        }
        if cell.len() < NK_FIXED {
            return Err(HiveError::CellTooSmall {
                what: "key node",
                offset: fo,
                needed: NK_FIXED as u64,
                available: cell.len() as u64,
            });
        }
        let name_len = u16_at(cell, 72).map_or(0, us16);
        if NK_FIXED + name_len > cell.len() {
            return Err(HiveError::CellTooSmall {
                what: "key name",
                offset: fo,
                needed: (NK_FIXED + name_len) as u64,
                available: cell.len() as u64,
            });
        }
        Ok(Key { hive, offset: off, cell })
    }

    fn field(&self, o: usize) -> u32 {
        // In range: the constructor checked the fixed part.
        u32_at(self.cell, o).unwrap_or(0)
    }

    /// File offset of a field of this key node.
    fn field_at(&self, field: usize) -> u64 {
        file_offset(self.offset) + 4 + field as u64
    }

    /// The hive this key belongs to.
    pub fn hive(&self) -> &'h Hive<'h> {
        self.hive
    }

    /// Offset of this key's cell, relative to the hive bins data.
    pub fn offset(&self) -> u32 {
        self.offset
    }

    /// The raw flags field (KEY_COMP_NAME = 0x20, KEY_HIVE_ENTRY = 0x4, KEY_SYM_LINK = 0x10, ...).
    pub fn flags(&self) -> u16 {
        u16_at(self.cell, 2).unwrap_or(0)
    }

    /// The key's name.
    pub fn name(&self) -> Name<'h> {
        let len = u16_at(self.cell, 72).map_or(0, us16);
        let bytes = slice(self.cell, NK_FIXED, len).unwrap_or(&[]);
        if self.flags() & KEY_COMP_NAME != 0 {
            Name::Latin1(bytes)
        } else {
            Name::Utf16(bytes)
        }
    }

    /// Last written timestamp.
    pub fn last_written(&self) -> FileTime {
        FileTime(u64_at(self.cell, 4).unwrap_or(0))
    }

    /// Offset of the parent key node as stored (meaningless for the root).
    pub fn parent_offset(&self) -> u32 {
        self.field(16)
    }

    /// Number of subkeys as the key node states it. The list is what counts;
    /// a walk reports a mismatch.
    pub fn subkey_count(&self) -> u32 {
        self.field(20)
    }

    /// Number of values as the key node states it.
    pub fn value_count(&self) -> u32 {
        self.field(36)
    }

    /// The class name bytes (usually UTF-16LE), if the key has one.
    pub fn class_name(&self) -> Result<Option<&'h [u8]>> {
        let off = self.field(48);
        let len = u16_at(self.cell, 74).map_or(0, us16);
        if off == NIL || len == 0 {
            return Ok(None);
        }
        let cell = self.hive.cell(off, "class name offset", self.field_at(48))?;
        slice(cell, 0, len).map(Some).ok_or(HiveError::CellTooSmall {
            what: "class name",
            offset: file_offset(off),
            needed: len as u64,
            available: cell.len() as u64,
        })
    }

    /// The class name decoded from UTF-16LE, if any.
    pub fn class_name_string(&self) -> Result<Option<String>> {
        Ok(self.class_name()?.map(|b| Name::Utf16(b).to_string_lossy().into_owned()))
    }

    /// Iterates over the subkeys in list order. A damaged list element is an
    /// `Err` item; iteration goes on with the next one.
    pub fn subkeys(&self) -> Subkeys<'h> {
        Subkeys::new(self)
    }

    /// Finds a direct subkey by name, case-insensitively. When a damaged list
    /// holds the same name twice, the first wins.
    pub fn subkey(&self, name: &str) -> Result<Option<Key<'h>>> {
        let mut first_err = None;
        for k in self.subkeys() {
            match k {
                Ok(k) if k.name().eq_ignore_case(name) => return Ok(Some(k)),
                Ok(_) => {}
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        // A damaged element might have been the one asked for: say so.
        match first_err {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }

    /// Follows a `\`-separated path of subkeys, case-insensitively.
    pub fn subpath(&self, path: &str) -> Result<Key<'h>> {
        let mut key = *self;
        for (depth, part) in path.split('\\').filter(|p| !p.is_empty()).enumerate() {
            crate::Limits::check("max_key_depth", depth as u64 + 1, u64::from(self.hive.limits().max_key_depth))?;
            key = key.subkey(part)?.ok_or_else(|| HiveError::KeyNotFound { path: path.to_owned() })?;
        }
        Ok(key)
    }

    /// Iterates over the values in stored order.
    pub fn values(&self) -> Values<'h> {
        Values::new(self.hive, self.field(36), self.field(40), self.field_at(40))
    }

    /// Finds a value by name, case-insensitively (`""` is the default value).
    pub fn value(&self, name: &str) -> Result<Option<Value<'h>>> {
        let mut first_err = None;
        for v in self.values() {
            match v {
                Ok(v) if v.name().eq_ignore_case(name) => return Ok(Some(v)),
                Ok(_) => {}
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }

    /// The name as an owned or borrowed string (shorthand for `name().to_string_lossy()`).
    pub fn name_string(&self) -> Cow<'h, str> {
        self.name().to_string_lossy()
    }
}

#[inline]
fn us16(v: u16) -> usize {
    usize::from(v)
}

/// Kind of subkey list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ListKind {
    /// li, lf or lh: elements point to key nodes.
    Leaf,
    /// ri: elements point to leaves.
    Root,
}

/// A stack of open lists that does not allocate for the usual depths (1 or 2).
#[derive(Default)]
struct FrameStack<'h> {
    inline: [Option<Frame<'h>>; 2],
    more: Vec<Frame<'h>>,
}

impl<'h> FrameStack<'h> {
    fn len(&self) -> usize {
        self.inline.iter().filter(|f| f.is_some()).count() + self.more.len()
    }
    fn push(&mut self, f: Frame<'h>) {
        match self.inline.iter_mut().find(|s| s.is_none()) {
            Some(slot) if self.more.is_empty() => *slot = Some(f),
            _ => self.more.push(f),
        }
    }
    fn pop(&mut self) {
        if self.more.pop().is_none() {
            if let Some(slot) = self.inline.iter_mut().rev().find(|s| s.is_some()) {
                *slot = None;
            }
        }
    }
    fn last_mut(&mut self) -> Option<&mut Frame<'h>> {
        if let Some(f) = self.more.last_mut() {
            return Some(f);
        }
        self.inline.iter_mut().rev().find_map(|s| s.as_mut())
    }
    fn first(&self) -> Option<&Frame<'h>> {
        self.inline.first().and_then(|s| s.as_ref())
    }
}

#[derive(Clone, Copy)]
struct Frame<'h> {
    cell: &'h [u8],
    off: u32,
    kind: ListKind,
    stride: usize,
    next: u32,
    count: u32,
}

/// Iterator over a key's subkeys; see [`Key::subkeys`].
pub struct Subkeys<'h> {
    hive: &'h Hive<'h>,
    /// Open lists, outermost first. Two fit inline (a leaf, or an `ri` and one of its leaves);
    /// only deeper `ri` nesting, if the limits allow it, spills to the heap.
    stack: FrameStack<'h>,
    /// List cells entered so far (only filled when an `ri` is involved; a `BTreeSet` so that the
    /// many iterators without one cost nothing to make).
    visited: std::collections::BTreeSet<u32>,
    /// An error to give first (boxed: the iterator is made for every key a walk passes).
    pending: Option<Box<HiveError>>,
}

impl<'h> Subkeys<'h> {
    fn new(key: &Key<'h>) -> Subkeys<'h> {
        let mut it = Subkeys {
            hive: key.hive,
            stack: FrameStack::default(),
            visited: std::collections::BTreeSet::new(),
            pending: None,
        };
        if key.subkey_count() == 0 {
            return it;
        }
        match open_list(key.hive, key.field(28), "subkey list offset", key.field_at(28)) {
            Ok(f) => it.stack.push(f),
            Err(e) => it.pending = Some(Box::new(e)),
        }
        it
    }
}

/// Opens the list cell at `off` and checks that its elements fit the cell.
fn open_list<'h>(hive: &'h Hive<'h>, off: u32, what: &'static str, at: u64) -> Result<Frame<'h>> {
    let cell = hive.cell(off, what, at)?;
    let fo = file_offset(off);
    let (kind, stride) = match cell.get(..2) {
        Some(b"li") => (ListKind::Leaf, 4),
        Some(b"lf") | Some(b"lh") => (ListKind::Leaf, 8),
        Some(b"ri") => (ListKind::Root, 4),
        _ => {
            return Err(HiveError::BadSignature {
                what: "subkey list",
                offset: fo + 4,
                expected: "li, lf, lh or ri",
                found: sig2(cell).to_vec(),
            })
        }
    };
    let count = u16_at(cell, 2).unwrap_or(0);
    let needed = 4 + usize::from(count) * stride;
    if needed > cell.len() {
        return Err(HiveError::CellTooSmall {
            what: "subkey list elements",
            offset: fo,
            needed: needed as u64,
            available: cell.len() as u64,
        });
    }
    hive.charge_cells(1 + u64::from(count))?;
    Ok(Frame { cell, off, kind, stride, next: 0, count: u32::from(count) })
}

impl<'h> Iterator for Subkeys<'h> {
    type Item = Result<Key<'h>>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.pending.take() {
            return Some(Err(*e));
        }
        loop {
            let depth = self.stack.len();
            let frame = self.stack.last_mut()?;
            if frame.next >= frame.count {
                self.stack.pop();
                continue;
            }
            let i = us(frame.next);
            frame.next += 1;
            let elem = 4 + i * frame.stride;
            let at = file_offset(frame.off) + 4 + elem as u64;
            // In range: open_list checked count * stride against the cell.
            let target = u32_at(frame.cell, elem).unwrap_or(NIL);
            match frame.kind {
                ListKind::Leaf => return Some(Key::at(self.hive, target, "subkey list element", at)),
                ListKind::Root => {
                    // `depth` ri lists are open; entering another level must stay within the limit.
                    let max = self.hive.limits().max_ri_depth;
                    let sub = match open_list(self.hive, target, "index root element", at) {
                        Ok(f) => f,
                        Err(e) => return Some(Err(e)),
                    };
                    if sub.kind == ListKind::Root && depth as u64 >= u64::from(max) {
                        return Some(Err(HiveError::LimitExceeded {
                            limit: "max_ri_depth",
                            value: depth as u64 + 1,
                            max: u64::from(max),
                        }));
                    }
                    if self.visited.is_empty() {
                        if let Some(root) = self.stack.first() {
                            self.visited.insert(root.off);
                        }
                    }
                    if !self.visited.insert(target) {
                        return Some(Err(HiveError::AlreadyVisited {
                            what: "subkey list",
                            offset: file_offset(target),
                        }));
                    }
                    self.stack.push(sub);
                }
            }
        }
    }
}
