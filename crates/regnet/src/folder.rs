//! An already-mounted guest root as input (`regnet extract /mnt/replica`): a backup server that
//! mounts the replica's system disk hands in the folder. Windows or Linux, it is read through the
//! guest view, so the guest's links resolve inside the folder and nothing else of the host is read.

use crate::error::{Error, Result};
use crate::image::{ExtractOptions, SYSTEM_HIVE};
use crate::report::{ImageSource, Report};
use regnet_hive::LogFile;
use regnet_image::guest::{GuestLimits, GuestView, HostFolder, NodeKind};
use std::path::Path;

/// The report of the guest whose root is the folder `path`.
pub(crate) fn extract_folder(path: &Path, opts: &ExtractOptions) -> Result<Report> {
    // The caller names the folder; a link to it is the caller's choice, so it is followed once here.
    let root = path.canonicalize().map_err(|e| Error::Io { path: path.to_owned(), source: e })?;
    let system = SYSTEM_HIVE.replace('\\', "/");
    let mut windows = GuestView::new(Box::new(HostFolder::open(&root)?.case_insensitive(true)), limits(opts));
    let is_file = |v: &mut GuestView<'_>, p: &str| v.resolve(p).is_ok_and(|n| n.kind == NodeKind::File);
    let (mut report, files, bytes) = if is_file(&mut windows, &system) {
        let max = opts.hive.limits.max_hive_size;
        let size = windows.resolve(&system)?.size;
        regnet_image::ImageLimits::check("max_hive_size", size, max)?;
        let primary = windows.read(&system)?;
        let mut bytes = primary.len() as u64;
        let mut files = vec![SYSTEM_HIVE.to_owned()];
        let mut logs: Vec<(String, Vec<u8>)> = Vec::new();
        if !opts.hive.no_logs {
            for suffix in [".LOG1", ".LOG2", ".LOG"] {
                let p = format!("{system}{suffix}");
                if !is_file(&mut windows, &p) {
                    continue;
                }
                let size = windows.resolve(&p)?.size;
                regnet_image::ImageLimits::check("max_log_size", size, opts.hive.limits.max_log_size)?;
                let data = windows.read(&p)?;
                bytes = bytes.saturating_add(data.len() as u64);
                files.push(format!("{SYSTEM_HIVE}{suffix}"));
                logs.push((format!("SYSTEM{suffix}"), data));
            }
        }
        let refs: Vec<LogFile<'_>> = logs.iter().map(|(n, d)| LogFile::new(n.clone(), d)).collect();
        let mut report = crate::report_from_hive_bytes(&primary, &refs, &opts.hive)?;
        let software = crate::SOFTWARE_HIVE.replace('\\', "/");
        if !opts.hive.no_software && is_file(&mut windows, &software) {
            if let Err(e) = software_from_folder(&mut windows, &software, &mut report, &mut files, &mut bytes, opts) {
                report.warnings.push(crate::Warning {
                    code: "software_unreadable".into(),
                    message: format!("{}: {e}", crate::SOFTWARE_HIVE),
                    key: None,
                    value: None,
                });
            }
        }
        (report, files, bytes)
    } else {
        let mut linux = GuestView::new(Box::new(HostFolder::open(&root)?), limits(opts));
        let etc = linux.resolve("/etc").is_ok_and(|n| n.kind == NodeKind::Dir);
        let os_release = is_file(&mut linux, "/etc/os-release") || is_file(&mut linux, "/usr/lib/os-release");
        if !(etc && os_release) {
            return Err(Error::NoWindows(format!(
                "the folder {} holds neither {SYSTEM_HIVE} nor a Linux root (/etc and an os-release file)",
                root.display()
            )));
        }
        let (report, files) = crate::linux::report(&mut linux);
        (report, files, 0)
    };
    report.source = Some(ImageSource {
        image: path.display().to_string(),
        container: "folder".into(),
        virtual_size: 0,
        partition_table: "none".into(),
        partition: 0,
        partition_start: 0,
        files,
        bytes_read: bytes,
        reads: 0,
        segments: Vec::new(),
        evidence: None,
        volume_manager: None,
        logical_volume: None,
        filesystem: Some("folder".into()),
    });
    Ok(report)
}

/// Adds the SOFTWARE hive at `path` in the guest (and its logs, unless `opts` says not to replay)
/// to `report`.
fn software_from_folder(
    view: &mut GuestView<'_>,
    path: &str,
    report: &mut Report,
    files: &mut Vec<String>,
    bytes: &mut u64,
    opts: &ExtractOptions,
) -> Result<()> {
    regnet_image::ImageLimits::check("max_hive_size", view.resolve(path)?.size, opts.hive.limits.max_hive_size)?;
    let primary = view.read(path)?;
    *bytes = bytes.saturating_add(primary.len() as u64);
    files.push(crate::SOFTWARE_HIVE.to_owned());
    let mut logs: Vec<(String, Vec<u8>)> = Vec::new();
    if !opts.hive.no_logs {
        for suffix in [".LOG1", ".LOG2", ".LOG"] {
            let p = format!("{path}{suffix}");
            if !view.resolve(&p).is_ok_and(|n| n.kind == NodeKind::File) {
                continue;
            }
            regnet_image::ImageLimits::check("max_log_size", view.resolve(&p)?.size, opts.hive.limits.max_log_size)?;
            let data = view.read(&p)?;
            *bytes = bytes.saturating_add(data.len() as u64);
            files.push(format!("{}{suffix}", crate::SOFTWARE_HIVE));
            logs.push((format!("SOFTWARE{suffix}"), data));
        }
    }
    let refs: Vec<LogFile<'_>> = logs.iter().map(|(n, d)| LogFile::new(n.clone(), d)).collect();
    crate::add_software_bytes(report, &primary, &refs, &opts.hive);
    Ok(())
}

fn limits(opts: &ExtractOptions) -> GuestLimits {
    let mut l = GuestLimits::default();
    l.max_file_bytes = opts.image_limits.max_file_bytes;
    l
}
