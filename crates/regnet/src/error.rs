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
