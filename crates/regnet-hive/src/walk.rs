//! Depth-first walk over every key, iterative and cycle-safe.

use crate::error::{HiveError, Result};
use crate::hive::{file_offset, Hive};
use crate::key::{Key, Subkeys};

/// One key reached by a [`Walk`].
#[derive(Debug)]
pub struct WalkEntry<'w, 'h> {
    /// Full path from the root, `\`-separated; the root is `\`.
    pub path: &'w str,
    /// The key.
    pub key: Key<'h>,
    /// 0 for the root.
    pub depth: u32,
}

/// Bytes of hive bins per bit of a walk's visited bitmap (key node cells are at least 80 bytes).
const VISIT_UNIT: usize = 64;

/// A depth-first, pre-order walk over all keys of a hive.
///
/// There is no recursion: an explicit stack holds one subkey iterator per
/// level, at most [`Limits::max_key_depth`](crate::Limits::max_key_depth)
/// deep. A bitmap of visited key cells makes every key appear at most once,
/// so cycles and shared subtrees end in an
/// [`AlreadyVisited`](HiveError::AlreadyVisited) error item instead of a hang.
/// Error items do not end the walk; the walk just skips what it could not read.
///
/// It is a lending iterator (the path is reused between entries), so use
/// `while let`:
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/SYSTEM"))?;
/// let hive = regnet_hive::Hive::open(&bytes[..])?;
/// let mut walk = hive.walk();
/// let mut keys = 0;
/// while let Some(entry) = walk.next_entry() {
///     let entry = entry?;
///     keys += 1;
///     if entry.depth == 0 { assert_eq!(entry.path, "\\"); }
/// }
/// assert!(keys > 10);
/// # Ok(()) }
/// ```
pub struct Walk<'h> {
    hive: &'h Hive<'h>,
    root: Option<Result<Key<'h>>>,
    /// (iterator over a key's subkeys, length of that key's path prefix for children)
    stack: Vec<(Subkeys<'h>, usize)>,
    path: String,
    visited: Vec<u64>,
    keys: u64,
}

impl<'h> Walk<'h> {
    pub(crate) fn new(hive: &'h Hive<'h>) -> Walk<'h> {
        // One bit per 64 bytes of hive bins: a key node cell is at least 80 bytes, so two key
        // nodes that do not overlap never share a bit. (Overlapping ones, which only a crafted
        // hive has, may: the second is then reported as already visited and skipped.) An eighth
        // of a bit per 8-byte slot keeps the bitmap in cache and its allocation small.
        let slots = (hive.bins_len() as usize) / VISIT_UNIT;
        Walk {
            hive,
            root: Some(hive.root_key()),
            stack: Vec::new(),
            path: String::new(),
            visited: vec![0u64; slots.div_ceil(64)],
            keys: 0,
        }
    }

    /// Keys returned so far.
    pub fn keys_seen(&self) -> u64 {
        self.keys
    }

    /// Marks a key cell visited; false when it already was.
    fn visit(&mut self, off: u32) -> bool {
        let slot = off as usize / VISIT_UNIT;
        let (w, b) = (slot / 64, slot % 64);
        match self.visited.get_mut(w) {
            Some(word) => {
                let seen = *word & (1 << b) != 0;
                *word |= 1 << b;
                !seen
            }
            // Cell reads already refuse offsets outside the bins.
            None => false,
        }
    }

    /// The next key, or an error item for something that could not be read.
    #[allow(clippy::should_implement_trait)]
    pub fn next_entry(&mut self) -> Option<Result<WalkEntry<'_, 'h>>> {
        if let Some(root) = self.root.take() {
            return Some(root.map(|key| {
                self.visit(key.offset());
                self.keys += 1;
                self.path.clear();
                self.path.push('\\');
                self.stack.push((key.subkeys(), 0));
                WalkEntry { path: &self.path, key, depth: 0 }
            }));
        }
        loop {
            let depth = self.stack.len();
            let (iter, prefix) = self.stack.last_mut()?;
            let prefix = *prefix;
            match iter.next() {
                None => {
                    self.stack.pop();
                }
                Some(Err(e)) => return Some(Err(e)),
                Some(Ok(key)) => {
                    if !self.visit(key.offset()) {
                        return Some(Err(HiveError::AlreadyVisited {
                            what: "key node",
                            offset: file_offset(key.offset()),
                        }));
                    }
                    let max = self.hive.limits().max_key_depth;
                    if depth > max as usize {
                        return Some(Err(HiveError::LimitExceeded {
                            limit: "max_key_depth",
                            value: depth as u64,
                            max: u64::from(max),
                        }));
                    }
                    self.keys += 1;
                    self.path.truncate(prefix);
                    self.path.push('\\');
                    key.name().push_to(&mut self.path);
                    // A key without subkeys needs no level of its own: the next call goes on
                    // with its parent's list (and cuts the path back to the parent's).
                    if key.subkey_count() > 0 {
                        self.stack.push((key.subkeys(), self.path.len()));
                    }
                    return Some(Ok(WalkEntry { path: &self.path, key, depth: depth as u32 }));
                }
            }
        }
    }
}
