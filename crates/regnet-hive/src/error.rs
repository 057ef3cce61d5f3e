//! The one error type of this crate.
//!
//! Every variant that comes from the bytes of a file carries the absolute byte
//! offset in that file (the hive, or the named log) and what was expected, so
//! a report can point an analyst at the exact spot with a hex editor.

use thiserror::Error;

/// Where an offset in an error points.
pub type FileOffset = u64;

/// Everything that can go wrong while reading a hive or replaying its logs.
///
/// Offsets are absolute byte offsets in the file being read (a hive cell at
/// hive-bins offset `x` is at file offset `4096 + x`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HiveError {
    /// The file is too short to hold the structure.
    #[error("{what} at byte {offset:#x} needs {needed} bytes, but only {available} are there")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Where it starts.
        offset: FileOffset,
        /// Bytes it needs.
        needed: u64,
        /// Bytes available.
        available: u64,
    },
    /// A signature did not match.
    #[error("{what} at byte {offset:#x}: expected signature {expected:?}, found {found:02x?}")]
    BadSignature {
        /// What was being read.
        what: &'static str,
        /// Where the signature is.
        offset: FileOffset,
        /// The expected signature.
        expected: &'static str,
        /// The bytes found.
        found: Vec<u8>,
    },
    /// The base block names a format version this reader does not know.
    #[error("unsupported hive format version {major}.{minor} at byte 0x14 (expected 1.3 to 1.6)")]
    UnsupportedVersion {
        /// Major version field.
        major: u32,
        /// Minor version field.
        minor: u32,
    },
    /// The file is not a primary hive file (for example a transaction log passed as the hive).
    #[error("file type {found} at byte 0x1c: not a primary hive file (expected 0; 1, 2 and 6 are transaction logs)")]
    NotAPrimary {
        /// The file type field.
        found: u32,
    },
    /// A field holds a value outside what the format allows.
    #[error("{what} at byte {offset:#x} is {value:#x}: {expected}")]
    BadField {
        /// The field.
        what: &'static str,
        /// Where it is.
        offset: FileOffset,
        /// Its value.
        value: u64,
        /// What was expected instead.
        expected: &'static str,
    },
    /// An offset points outside the hive bins, to no cell start, or to a free cell.
    #[error("{what} at byte {offset:#x} points to hive offset {target:#x}: {reason}")]
    BadOffset {
        /// Which pointer.
        what: &'static str,
        /// Where the pointer is stored (0 when it is not stored in the file).
        offset: FileOffset,
        /// The hive-bins-relative offset it holds.
        target: u32,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A cell's size field is impossible.
    #[error("cell at byte {offset:#x} has size {size}: {reason}")]
    BadCellSize {
        /// Where the cell starts.
        offset: FileOffset,
        /// The raw signed size field.
        size: i32,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A count or length does not fit the cell that holds it.
    #[error("{what} in the cell at byte {offset:#x} needs {needed} bytes, the cell holds {available}")]
    CellTooSmall {
        /// What did not fit.
        what: &'static str,
        /// Where the cell starts.
        offset: FileOffset,
        /// Bytes needed.
        needed: u64,
        /// Bytes in the cell.
        available: u64,
    },
    /// A structure was reached a second time: a cycle, or a subtree shared by two parents.
    #[error("{what} at byte {offset:#x} was reached twice (cycle or shared subtree); skipped")]
    AlreadyVisited {
        /// What was revisited.
        what: &'static str,
        /// Its offset.
        offset: FileOffset,
    },
    /// A caller-settable limit was hit.
    #[error("limit `{limit}` exceeded: {value} > {max}")]
    LimitExceeded {
        /// The name of the field in [`crate::Limits`].
        limit: &'static str,
        /// The value that was asked for.
        value: u64,
        /// The limit in force.
        max: u64,
    },
    /// Value data that cannot be decoded as its type says.
    #[error("value data at byte {offset:#x}: {reason}")]
    BadData {
        /// Where the value (vk) cell starts.
        offset: FileOffset,
        /// Why it was refused.
        reason: &'static str,
    },
    /// Reading the hive from its [`Source`](crate::Source) failed (an I/O error of the disk image or
    /// store it comes from).
    #[error("{reason}")]
    Read {
        /// What was being read and why it failed.
        reason: String,
    },
    /// A key path did not resolve.
    #[error("key not found: {path}")]
    KeyNotFound {
        /// The path that was looked up.
        path: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = HiveError> = std::result::Result<T, E>;
