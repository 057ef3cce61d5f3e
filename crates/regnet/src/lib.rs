//! # regnet
//!
//! Reads a Windows guest's network settings offline, from its SYSTEM registry hive, into a typed
//! [`Report`]: host name and domain, and for every adapter its name, MAC, DHCP or static
//! addressing, gateways, DNS servers in order, DHCP lease, IPv6, WINS, MTU and VLAN, plus
//! persistent routes. The hive's transaction logs are replayed first when it is dirty, as a
//! crash-consistent replica's usually is.
//!
//! The report serialises to the JSON contract documented in `docs/report.md` (`schema_version` 1).
//! Every byte of the hive is treated as hostile: a malformed value becomes a [`Warning`] in the
//! report and the rest is still read; only a file that is not a usable SYSTEM hive is an [`Error`].
//!
//! ## Getting started
//! ```
//! # fn main() -> Result<(), regnet::Error> {
//! # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/SYSTEM");
//! // SYSTEM.LOG1 / SYSTEM.LOG2 beside the hive are found and replayed.
//! let report = regnet::report_from_hive_file(path, &regnet::Options::default())?;
//! assert_eq!(report.hostname.as_deref(), Some("APP-SRV-07"));
//! assert!(report.hive.dirty);
//! for a in &report.adapters {
//!     println!("{} {:?} dhcp={} {:?}", a.guid, a.name, a.dhcp, a.ipv4);
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod error;
mod evidence;
mod extract;
mod folder;
mod guest;
mod history;
mod image;
mod limits;
mod linux;
mod presence;
mod read;
mod report;
mod software;
mod vm;
mod wintime;

pub use error::{Error, ErrorKind, Result};
pub use evidence::Evidence;
pub use extract::report_from_hive;
pub use history::{
    NetworkCategory, NetworkNameType, NetworkProfile, NetworkSignature, TimeZoneRule, TransitionRule,
};
pub use image::{extract, extract_from_reader, extract_machine, open_guest, ExtractOptions, Guest, SYSTEM_HIVE};
pub use limits::{LimitError, LIMIT_NAMES};
pub use regnet_hive::{self as hive, Limits};
pub use regnet_image::{self as disk_image, ContainerFormat, ImageLimits};
pub use report::*;
pub use software::{
    add_software_bytes, add_software_file, add_software_hive, add_software_source, find_software, SOFTWARE_HIVE,
};
pub use vm::vm_info;

use regnet_hive::{Hive, LogFile, OpenOptions};
use std::path::{Path, PathBuf};

/// How to read a hive.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Options {
    /// Resource limits for the hive parser.
    pub limits: Limits,
    /// Do not replay transaction logs, even when the hive is dirty.
    pub no_logs: bool,
    /// Explicit log files; when empty, logs beside the hive are found by name.
    pub logs: Vec<PathBuf>,
    /// The SOFTWARE hive to read with a SYSTEM hive file; when `None`, a file named `SOFTWARE`
    /// (any case) beside the SYSTEM hive is read if there is one. Its logs are found beside it.
    pub software: Option<PathBuf>,
    /// Do not read a SOFTWARE hive at all.
    pub no_software: bool,
}

impl Options {
    /// Default options: replay logs found beside the hive.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Finds the transaction logs of `hive` beside it: `HIVE.LOG1`, `HIVE.LOG2`, then `HIVE.LOG`,
/// whatever the case of their names (as on NTFS, where `system.log1` is the same file).
///
/// ```
/// # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example");
/// let logs = regnet::find_logs(std::path::Path::new(dir).join("system").as_path());
/// let names: Vec<_> = logs.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
/// assert_eq!(names, ["SYSTEM.LOG1", "SYSTEM.LOG2"]);
/// ```
pub fn find_logs(hive: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (hive.parent(), hive.file_name().and_then(|n| n.to_str())) else {
        return Vec::new();
    };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut found: Vec<(usize, PathBuf)> = Vec::new();
    for e in entries.flatten() {
        let fname = e.file_name();
        let Some(f) = fname.to_str() else { continue };
        for (rank, suffix) in [".LOG1", ".LOG2", ".LOG"].iter().enumerate() {
            if f.len() == name.len() + suffix.len()
                && f.get(..name.len()).is_some_and(|p| p.eq_ignore_ascii_case(name))
                && f.get(name.len()..).is_some_and(|s| s.eq_ignore_ascii_case(suffix))
                && e.path().is_file()
            {
                found.push((rank, e.path()));
            }
        }
    }
    found.sort();
    found.dedup_by(|a, b| a.0 == b.0);
    found.into_iter().map(|(_, p)| p).collect()
}

/// A report from a hive file, replaying its logs (found beside it, or given in `opts`).
///
/// ```
/// # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/SYSTEM");
/// let mut opts = regnet::Options::new();
/// opts.no_logs = true; // the primary file as it is: stale on a crash-consistent copy
/// let stale = regnet::report_from_hive_file(path, &opts)?;
/// assert!(stale.warnings.iter().any(|w| w.code == "dirty_not_recovered"));
/// assert_eq!(stale.adapters[0].ipv4.len(), 1); // the second address lives only in the logs
/// # Ok::<(), regnet::Error>(())
/// ```
pub fn report_from_hive_file(path: impl AsRef<Path>, opts: &Options) -> Result<Report> {
    let path = path.as_ref();
    // Sizes are checked before anything is read: a file over its limit costs no memory.
    let read = |p: &Path, limit: &'static str, max: u64| -> Result<Vec<u8>> {
        let io = |source| Error::Io { path: p.to_owned(), source };
        let len = std::fs::metadata(p).map_err(io)?.len();
        if len > max {
            return Err(regnet_hive::HiveError::LimitExceeded { limit, value: len, max }.into());
        }
        std::fs::read(p).map_err(io)
    };
    let primary = read(path, "max_hive_size", opts.limits.max_hive_size)?;
    let log_paths = if opts.no_logs {
        Vec::new()
    } else if opts.logs.is_empty() {
        find_logs(path)
    } else {
        opts.logs.clone()
    };
    let mut logs = Vec::new();
    for p in &log_paths {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        logs.push((name, read(p, "max_log_size", opts.limits.max_log_size)?));
    }
    let refs: Vec<LogFile<'_>> = logs.iter().map(|(n, d)| LogFile::new(n.clone(), d)).collect();
    let mut report = report_from_hive_bytes(&primary, &refs, opts)?;
    if let Some(sw) = software_for(path, opts) {
        add_software_file(&mut report, &sw, opts);
    }
    Ok(report)
}

/// The SOFTWARE hive to read with the SYSTEM hive file `system`: the one `opts` names, else the
/// one beside it, unless `opts.no_software`.
pub fn software_for(system: &Path, opts: &Options) -> Option<PathBuf> {
    if opts.no_software {
        return None;
    }
    opts.software.clone().or_else(|| find_software(system))
}

/// A report from a hive buffer the caller lets regnet change: when the hive is dirty, the logs'
/// pages are written into `primary` itself (see [`regnet_hive::Hive::open_in_place`]), so that the
/// buffer holds the recovered hive afterwards. To only read the settings,
/// [`report_from_hive_bytes`] does less: it copies and writes nothing.
pub fn report_from_hive_in_place(primary: &mut [u8], logs: &[LogFile<'_>], opts: &Options) -> Result<Report> {
    let mut o = OpenOptions::new().limits(opts.limits);
    if !opts.no_logs {
        for l in logs {
            o = o.log(l.clone());
        }
    }
    let hive = Hive::open_in_place(primary, &o)?;
    finish_report(&hive)
}

/// A report from hive bytes and optional logs (already read by the caller, e.g. from a backup
/// store, or memory-mapped). Nothing is copied: when logs are replayed, the pages they changed are
/// read from the logs where they lie.
///
/// ```
/// use regnet::hive::LogFile;
/// # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/");
/// let primary = std::fs::read(format!("{dir}SYSTEM")).unwrap();
/// let log1 = std::fs::read(format!("{dir}SYSTEM.LOG1")).unwrap();
/// let log2 = std::fs::read(format!("{dir}SYSTEM.LOG2")).unwrap();
/// let logs = [LogFile::new("SYSTEM.LOG1", &log1), LogFile::new("SYSTEM.LOG2", &log2)];
/// let report = regnet::report_from_hive_bytes(&primary, &logs, &regnet::Options::default())?;
/// assert_eq!(report.hive.logs_applied, ["SYSTEM.LOG1", "SYSTEM.LOG2"]);
/// assert_eq!(report.adapters[0].ipv4.len(), 2);
/// # Ok::<(), regnet::Error>(())
/// ```
pub fn report_from_hive_bytes(primary: &[u8], logs: &[LogFile<'_>], opts: &Options) -> Result<Report> {
    let mut o = OpenOptions::new().limits(opts.limits);
    if !opts.no_logs {
        for l in logs {
            o = o.log(l.clone());
        }
    }
    let hive = Hive::open_with(primary, &o)?;
    finish_report(&hive)
}

/// A report from a hive read on demand from `source` (a file in a store of the caller's): only the
/// parts of the hive the report needs are read (see [`regnet_hive::Hive::open_source`]). The logs
/// are given whole, or cut to [`regnet_hive::log_bytes_needed`].
///
/// ```
/// struct Store(Vec<u8>); // stands in for a backup store's random-access reads
/// impl regnet::hive::Source for Store {
///     fn len(&self) -> u64 {
///         self.0.len() as u64
///     }
///     fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
///         let at = offset as usize;
///         buf.copy_from_slice(self.0.get(at..at + buf.len()).ok_or(std::io::ErrorKind::UnexpectedEof)?);
///         Ok(())
///     }
/// }
/// # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/");
/// let primary = std::fs::read(format!("{dir}SYSTEM")).unwrap();
/// let log1 = std::fs::read(format!("{dir}SYSTEM.LOG1")).unwrap();
/// let log2 = std::fs::read(format!("{dir}SYSTEM.LOG2")).unwrap();
/// let logs = [regnet::hive::LogFile::new("SYSTEM.LOG1", &log1), regnet::hive::LogFile::new("SYSTEM.LOG2", &log2)];
/// let report = regnet::report_from_hive_source(&Store(primary), &logs, &Default::default())?;
/// assert_eq!(report.adapters[0].ipv4.len(), 2);
/// # Ok::<(), regnet::Error>(())
/// ```
pub fn report_from_hive_source<'a>(
    source: &'a dyn regnet_hive::Source,
    logs: &[LogFile<'a>],
    opts: &Options,
) -> Result<Report> {
    let mut o = OpenOptions::new().limits(opts.limits);
    if !opts.no_logs {
        for l in logs {
            o = o.log(l.clone());
        }
    }
    let hive = Hive::open_source(source, &o)?;
    finish_report(&hive)
}

/// The report of an open hive, with the hive's own warnings first.
fn finish_report(hive: &Hive<'_>) -> Result<Report> {
    let mut report = report_from_hive(hive)?;
    // The hive's own findings come first. A dirty base block that logs repaired is already told by
    // `hive.dirty` and `hive.logs_applied`.
    let recovered = hive.recovery().recovered;
    let hive_warnings = hive.warnings().iter().filter(|w| {
        !(recovered
            && matches!(w, regnet_hive::Warning::BadChecksum { .. } | regnet_hive::Warning::SequenceMismatch { .. }))
    });
    let mut warnings: Vec<Warning> = hive_warnings
        .map(|w| Warning {
            code: match w {
                regnet_hive::Warning::DirtyNotRecovered => "dirty_not_recovered".into(),
                regnet_hive::Warning::BinsTruncated { .. } => "hive_truncated".into(),
                _ => "hive".into(),
            },
            message: w.to_string(),
            key: None,
            value: None,
        })
        .collect();
    warnings.append(&mut report.warnings);
    report.warnings = warnings;
    Ok(report)
}
