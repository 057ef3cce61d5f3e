//! The error type of the configuration layer.

use thiserror::Error;

/// What can go wrong reading a VM configuration. Positions are 1-based line numbers for `.vmx`
/// text and byte offsets for XML and for the OVA archive, as each variant says.
///
/// ```
/// use regnet_vmconfig::{parse, ConfigKind, VmConfigError, VmConfigLimits};
/// let err = parse(ConfigKind::Vmx, b"displayName = \"x\"\nno equals sign\n", &VmConfigLimits::default()).unwrap_err();
/// assert!(matches!(err, VmConfigError::VmxSyntax { line: 2, .. }));
/// assert_eq!(err.to_string(), r#"vmx line 2: "no equals sign": expected key = "value""#);
/// ```
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum VmConfigError {
    /// An I/O error from the underlying reader (OVA only: `parse` reads no files).
    #[error("{context}: {source}")]
    Io {
        /// What was being read.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A `.vmx` line that is not `key = value`.
    #[error("vmx line {line}: {found:?}: expected {expected}")]
    VmxSyntax {
        /// 1-based line number.
        line: u64,
        /// The start of the offending line (at most 80 characters).
        found: String,
        /// What was expected.
        expected: &'static str,
    },
    /// XML that is not well-formed (or not UTF-8).
    #[error("XML at byte {offset}: {message}")]
    Xml {
        /// Byte offset in the document where the reader stopped.
        offset: u64,
        /// What the XML reader said.
        message: String,
    },
    /// The XML declares entities in a DOCTYPE, or uses an entity other than the five predefined
    /// ones and character references. Entities are never expanded and external ones never fetched.
    #[error("XML at byte {offset}: entity {name:?} refused: {reason}")]
    Entity {
        /// Byte offset in the document.
        offset: u64,
        /// The entity name, or the start of the DOCTYPE.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The document is well-formed but is not the expected kind of configuration.
    #[error("{what}: expected {expected}, found {found:?}")]
    WrongDocument {
        /// What was looked at (for example "root element").
        what: &'static str,
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: String,
    },
    /// A required part is missing.
    #[error("{what} is missing: {expected}")]
    Missing {
        /// What is missing.
        what: &'static str,
        /// What was expected.
        expected: String,
    },
    /// A tar structure of the OVA is cut short by the end of the file.
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
    /// A field holds a value outside what the format allows.
    #[error("{what} at byte {offset:#x} is {value:?}: expected {expected}")]
    BadField {
        /// The field.
        what: &'static str,
        /// Where it is.
        offset: u64,
        /// Its value, as text.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// An OVF References href (or a disk's file reference) names no member of the OVA, or names
    /// several.
    #[error("disk file {href:?} {reason}")]
    MemberNotFound {
        /// The href as the OVF gives it.
        href: String,
        /// "is not a member of the archive", or "names several members of the archive".
        reason: &'static str,
    },
    /// A caller-settable limit was hit.
    #[error("limit `{limit}` exceeded: {value} > {max}")]
    LimitExceeded {
        /// The field of [`crate::VmConfigLimits`].
        limit: &'static str,
        /// What was asked for.
        value: u64,
        /// The limit.
        max: u64,
    },
    /// A feature of the format that this crate does not read.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl VmConfigError {
    /// An I/O error with context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        VmConfigError::Io { context: context.into(), source }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = VmConfigError> = std::result::Result<T, E>;
