//! The error type of the image layer.

use thiserror::Error;

/// What can go wrong reading an image. Offsets are byte offsets in the file named by `what`
/// (the image file, a container's virtual disk, or a partition), as each variant says.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ImageError {
    /// An I/O error from the underlying file or stream.
    #[error("{context}: {source}")]
    Io {
        /// What was being read.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A structure is cut short by the end of its file or region.
    #[error("{what} at byte {offset:#x} needs {needed} bytes, only {available} are there")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Where it starts.
        offset: u64,
        /// Bytes needed.
        needed: u64,
        /// Bytes available.
        available: u64,
    },
    /// A signature did not match.
    #[error("{what} at byte {offset:#x}: expected {expected:?}, found {found:02x?}")]
    BadSignature {
        /// What was being read.
        what: &'static str,
        /// Where.
        offset: u64,
        /// The expected signature.
        expected: &'static str,
        /// The bytes found.
        found: Vec<u8>,
    },
    /// A field holds a value outside what the format allows.
    #[error("{what} at byte {offset:#x} is {value:#x}: {expected}")]
    BadField {
        /// The field.
        what: &'static str,
        /// Where it is.
        offset: u64,
        /// Its value.
        value: u64,
        /// What was expected.
        expected: &'static str,
    },
    /// A checksum does not match.
    #[error("{what} at byte {offset:#x}: checksum {found:#x}, expected {expected:#x}")]
    BadChecksum {
        /// What was checked.
        what: &'static str,
        /// Where.
        offset: u64,
        /// Computed value.
        expected: u64,
        /// Stored value.
        found: u64,
    },
    /// A caller-settable limit was hit.
    #[error("limit `{limit}` exceeded: {value} > {max}")]
    LimitExceeded {
        /// The field of [`crate::ImageLimits`].
        limit: &'static str,
        /// What was asked for.
        value: u64,
        /// The limit.
        max: u64,
    },
    /// A read outside the virtual disk or region.
    #[error("read of {len} bytes at {offset:#x} is outside the {size}-byte {what}")]
    OutOfRange {
        /// The disk or region.
        what: &'static str,
        /// Requested offset.
        offset: u64,
        /// Requested length.
        len: u64,
        /// Its size.
        size: u64,
    },
    /// The image names another file (backing file, parent disk, extent) that regnet refuses to open.
    #[error("{what} {name:?} refused: {reason}")]
    ExternalReference {
        /// What kind of reference.
        what: &'static str,
        /// The name as stored in the image.
        name: String,
        /// Why it was refused.
        reason: String,
    },
    /// A feature of the format that regnet does not read.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A partition is encrypted (BitLocker).
    #[error("partition {partition} is encrypted with BitLocker (-FVE-FS-): its files cannot be read without the key")]
    Encrypted {
        /// The partition number.
        partition: u32,
    },
    /// The file was not found.
    #[error("{path} not found{}", .detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default())]
    NotFound {
        /// The path looked up.
        path: String,
        /// Where the lookup stopped.
        detail: Option<String>,
    },
    /// A path inside a guest cannot be resolved (a symbolic link loop, too many links, a file
    /// used as a folder); the lookup of this path fails, the rest of the guest still reads.
    #[error("{path}: {reason}")]
    BadPath {
        /// The path looked up.
        path: String,
        /// Why it cannot be resolved.
        reason: String,
    },
    /// Corrupt or inconsistent structure not covered above.
    #[error("{what} at byte {offset:#x}: {reason}")]
    Corrupt {
        /// What.
        what: &'static str,
        /// Where.
        offset: u64,
        /// Why.
        reason: String,
    },
}

impl ImageError {
    /// An I/O error with context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        ImageError::Io { context: context.into(), source }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = ImageError> = std::result::Result<T, E>;
