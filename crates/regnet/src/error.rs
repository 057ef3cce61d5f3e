//! Errors of the facade.

use std::path::PathBuf;

/// Why no report could be made. (Anything less serious is a [`crate::Warning`] in the report.)
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The hive could not be opened or its root read.
    #[error(transparent)]
    Hive(#[from] regnet_hive::HiveError),
    /// The hive is not a SYSTEM hive (no `Select` key, or the control set it names is missing).
    #[error("not a SYSTEM hive: {0}")]
    NotASystemHive(String),
    /// `Select` names no usable control set (Current, Default and LastKnownGood all fail).
    #[error("no usable control set: {0}")]
    NoControlSet(String),
    /// The disk image could not be read.
    #[error(transparent)]
    Image(#[from] regnet_image::ImageError),
    /// No volume holds a guest's system (`\Windows\System32\config\SYSTEM`, or a Linux root with
    /// `/etc` and an os-release file); the message says what each volume holds.
    #[error("no Windows or Linux system volume found: {0}")]
    NoWindows(String),
    /// Several volumes hold a guest's system; `--partition N` or `--volume VG/LV`
    /// (`ExtractOptions::partition`, `ExtractOptions::volume`) picks one.
    #[error("several volumes hold a guest system: {0}; choose one as shown")]
    Ambiguous(String),
    /// The guest's system is on something this version cannot read (a Btrfs root).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The only candidate volumes are encrypted (BitLocker, LUKS).
    #[error("no readable system volume: {0}")]
    Encrypted(String),
    /// A VM configuration file could not be read (`path` names it; the message does not repeat it).
    #[error("VM configuration file: {source}")]
    VmConfig {
        /// The file.
        path: String,
        /// What is wrong with it.
        source: regnet_vmconfig::VmConfigError,
    },
    /// No disk of a VM holds a readable guest; the message says what each disk holds.
    #[error("no disk of VM {vm} holds a readable Windows system volume: {detail}")]
    NoSystemDisk {
        /// The VM (its name, or its configuration file).
        vm: String,
        /// Each disk and why it was not used.
        detail: String,
    },
    /// Several disks of a VM hold a guest; `--disk` (`ExtractOptions::disk`) picks one.
    #[error("several disks of VM {vm} hold a Windows system volume: {detail}; choose one with --disk DEVICE")]
    AmbiguousDisks {
        /// The VM.
        vm: String,
        /// The disks.
        detail: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an [`Error`] is: a stable, coarse classification for callers that branch
/// on it (the C ABI's status codes, the Python module's exception classes). New kinds may be
/// added; existing ones keep their meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file or the caller's stream could not be read.
    Io,
    /// A resource limit was reached (the input is larger or deeper than allowed).
    LimitExceeded,
    /// The hive is damaged or not a hive.
    Hive,
    /// The hive is a hive, but not a usable SYSTEM hive.
    NotASystemHive,
    /// The disk image (container, partition table, volume manager, file system) is damaged or
    /// not an image.
    Image,
    /// No volume holds a guest system.
    NoGuest,
    /// Several volumes or disks hold a guest; the options must pick one.
    Ambiguous,
    /// Something this version cannot read (a format, feature or layout).
    Unsupported,
    /// The only candidate volumes are encrypted.
    Encrypted,
    /// A VM configuration file is damaged or names something it may not (a disk outside its folder).
    VmConfig,
}

impl ErrorKind {
    /// A stable lower-case name (`"limit_exceeded"`), as the C ABI and Python module show it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Io => "io",
            ErrorKind::LimitExceeded => "limit_exceeded",
            ErrorKind::Hive => "hive",
            ErrorKind::NotASystemHive => "not_a_system_hive",
            ErrorKind::Image => "image",
            ErrorKind::NoGuest => "no_guest",
            ErrorKind::Ambiguous => "ambiguous",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Encrypted => "encrypted",
            ErrorKind::VmConfig => "vm_config",
        }
    }
}

impl Error {
    /// The kind of failure.
    ///
    /// ```
    /// let err = regnet::report_from_hive_bytes(b"not a hive", &[], &regnet::Options::default()).unwrap_err();
    /// assert_eq!(err.kind(), regnet::ErrorKind::Hive);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        use regnet_image::ImageError as I;
        match self {
            Error::Io { .. } => ErrorKind::Io,
            Error::Hive(regnet_hive::HiveError::LimitExceeded { .. }) => ErrorKind::LimitExceeded,
            Error::Hive(regnet_hive::HiveError::Read { .. }) => ErrorKind::Io,
            Error::Hive(_) => ErrorKind::Hive,
            Error::NotASystemHive(_) | Error::NoControlSet(_) => ErrorKind::NotASystemHive,
            Error::Image(I::Io { .. }) => ErrorKind::Io,
            Error::Image(I::LimitExceeded { .. }) => ErrorKind::LimitExceeded,
            Error::Image(I::Unsupported(_)) => ErrorKind::Unsupported,
            Error::Image(I::Encrypted { .. }) => ErrorKind::Encrypted,
            Error::Image(_) => ErrorKind::Image,
            Error::NoWindows(_) | Error::NoSystemDisk { .. } => ErrorKind::NoGuest,
            Error::Ambiguous(_) | Error::AmbiguousDisks { .. } => ErrorKind::Ambiguous,
            Error::Unsupported(_) => ErrorKind::Unsupported,
            Error::Encrypted(_) => ErrorKind::Encrypted,
            Error::VmConfig { source: regnet_vmconfig::VmConfigError::LimitExceeded { .. }, .. } => {
                ErrorKind::LimitExceeded
            }
            Error::VmConfig { source: regnet_vmconfig::VmConfigError::Io { .. }, .. } => ErrorKind::Io,
            Error::VmConfig { .. } => ErrorKind::VmConfig,
        }
    }
}
