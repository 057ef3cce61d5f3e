//! `regnet extract`: the network settings of the Windows guest on disk images.

use crate::hive_cmd::{table, Format};
use crate::CliError;
use regnet::{ExtractOptions, Report};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Disk images (raw, VHD, VHDX, VMDK, qcow2) or VM configuration files (VMware .vmx, OVF .ovf/.ova,
    /// libvirt domain XML), detected from the content.
    #[arg(required_unless_present = "from")]
    images: Vec<PathBuf>,
    /// Also read image paths from FILE (`-`: standard input), one per line, after those given as
    /// arguments; output is then always JSON lines, even for one image.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "machine",
        long_help = "Also read image paths from FILE (`-`: standard input), one per line, after those given as \
arguments. Leading and trailing white space is trimmed; blank lines and lines starting with `#` are skipped; \
relative paths are relative to the current directory (as with xargs), not to FILE. Output is then always \
JSON lines, one `{\"image\", \"report\"|\"error\"}` per image in the manifest's order, even for one image, \
and the exit code is 1 if any image failed: a shard of a list (a Kubernetes indexed job, a Slurm array task) \
gives output of the same form as the whole list. At most 64 MiB, 1048576 paths, 32 KiB a line."
    )]
    from: Option<PathBuf>,
    /// The partition to read when several hold Windows (GPT entry number, MBR number, 0 for a bare volume).
    #[arg(long)]
    partition: Option<u32>,
    /// The LVM logical volume to read when several volumes hold a guest (`VG/LV`, e.g. `rl/root`).
    #[arg(long, value_name = "VG/LV")]
    volume: Option<String>,
    /// The images are the disks of one machine (an LVM volume group may span them): one report.
    #[arg(long)]
    machine: bool,
    /// For a VM configuration file: the disk to read when several hold a guest (its device, e.g.
    /// `scsi0:1` or `vdb`, or its number in the file's order, 1 for the first).
    #[arg(long, value_name = "DEVICE")]
    disk: Option<String>,
    /// Do not replay the hive's transaction logs.
    #[arg(long)]
    no_logs: bool,
    /// Also let images open the files they name (extents, backing files, parents) in this folder.
    #[arg(long = "allow-dir", value_name = "DIR")]
    allow_dirs: Vec<PathBuf>,
    /// `json` is the documented contract (one object; JSON lines `{"image", "report"|"error"}` for several images).
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Print what reading cost (bytes read from the image, read calls, time) on stderr.
    #[arg(long)]
    stats: bool,
    /// Images read at once (default: one per CPU core). Output keeps the order of the arguments.
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
    /// Set a resource limit, e.g. `--limit max_bytes_read=64M` (repeatable; see `regnet help extract`).
    #[arg(long = "limit", value_name = "NAME=VALUE", long_help = format!("Set a resource limit (repeatable), e.g. --limit max_bytes_read=64M. Names: {}", crate::limits_opt::NAMES))]
    limits: Vec<String>,
}

pub fn run(args: &Args) -> Result<ExitCode, CliError> {
    let mut opts = ExtractOptions::new();
    opts.partition = args.partition;
    opts.disk = args.disk.clone();
    opts.volume = args.volume.clone();
    if args.machine {
        return run_machine(args, &opts);
    }
    opts.hive.no_logs = args.no_logs;
    opts.allow_dirs = args.allow_dirs.clone();
    crate::limits_opt::apply(&args.limits, &mut opts)?;
    let mut images = args.images.clone();
    if let Some(from) = &args.from {
        images.extend(read_manifest(from)?);
    }
    let many = images.len() > 1 || args.from.is_some();
    // Buffered, and flushed after each image (a locked stdout alone writes line by line: hundreds
    // of system calls for one pretty-printed report).
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut failed = 0usize;
    let mut write_error = None;
    extract_each(&images, &opts, args.jobs, |i, (result, elapsed)| {
        let Some(image) = images.get(i) else { return false };
        if args.stats {
            stats_line(image, &result, elapsed);
        }
        let written = match (&result, args.format, many) {
            (Ok(r), Format::Json, false) => {
                serde_json::to_writer_pretty(&mut out, r).map_err(std::io::Error::from).and_then(|()| writeln!(out))
            }
            (Ok(r), Format::Json, true) => json_line(&mut out, image, Some(r), None),
            (Err(e), Format::Json, true) => json_line(&mut out, image, None, Some(&e.to_string())),
            (Ok(r), Format::Table, _) => {
                let head = if many { format!("== {}\n", image.display()) } else { String::new() };
                write!(out, "{head}{}{}", source_line(r), table(r))
            }
            (Err(_), _, _) => Ok(()),
        }
        .and_then(|()| out.flush());
        if let Err(e) = &result {
            failed += 1;
            eprintln!("regnet: {}: {e}", image.display());
        }
        match written {
            Ok(()) => true,
            Err(e) => {
                write_error = Some(e);
                false
            }
        }
    });
    match write_error {
        None => Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) }),
        Some(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Some(e) => Err(CliError(format!("writing output: {e}"))),
    }
}

fn stats_line(image: &Path, result: &regnet::Result<Report>, elapsed: std::time::Duration) {
    match result {
        Ok(r) => {
            if let Some(s) = &r.source {
                eprintln!(
                    "regnet: {}: {} bytes read in {} reads ({:.1} MiB of a {:.1} GiB {} disk), {:.1} ms",
                    image.display(),
                    s.bytes_read,
                    s.reads,
                    s.bytes_read as f64 / f64::from(1 << 20),
                    s.virtual_size as f64 / f64::from(1 << 30),
                    s.container,
                    elapsed.as_secs_f64() * 1e3
                );
            }
        }
        Err(_) => eprintln!("regnet: {}: failed after {:.1} ms", image.display(), elapsed.as_secs_f64() * 1e3),
    }
}

/// Largest manifest `--from` reads.
const MAX_MANIFEST_BYTES: u64 = 64 << 20;
/// Most paths one manifest may list (split bigger lists into shards).
const MAX_MANIFEST_PATHS: usize = 1 << 20;
/// Longest line of a manifest (Linux's PATH_MAX is 4096 bytes).
const MAX_MANIFEST_LINE: usize = 32 << 10;

/// The image paths of a manifest (`-`: standard input): one a line, trimmed, blank lines and
/// `#` comments skipped.
fn read_manifest(from: &Path) -> Result<Vec<PathBuf>, CliError> {
    use std::io::Read;
    let name = if from == Path::new("-") { "standard input".to_owned() } else { from.display().to_string() };
    let what = |e: String| CliError(format!("manifest {name}: {e}"));
    let mut bytes = Vec::new();
    let read = if from == Path::new("-") {
        std::io::stdin().lock().take(MAX_MANIFEST_BYTES + 1).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(from).and_then(|f| f.take(MAX_MANIFEST_BYTES + 1).read_to_end(&mut bytes))
    };
    read.map_err(|e| what(e.to_string()))?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(what(format!("larger than {} MiB; split it", MAX_MANIFEST_BYTES >> 20)));
    }
    parse_manifest(&bytes).map_err(what)
}

fn parse_manifest(bytes: &[u8]) -> Result<Vec<PathBuf>, String> {
    let mut paths = Vec::new();
    for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.len() > MAX_MANIFEST_LINE {
            return Err(format!("line {} is longer than {MAX_MANIFEST_LINE} bytes", n + 1));
        }
        let line = line.trim_ascii();
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        if paths.len() == MAX_MANIFEST_PATHS {
            return Err(format!("more than {MAX_MANIFEST_PATHS} paths; split it"));
        }
        paths.push(path_from_bytes(line).ok_or_else(|| format!("line {} is not UTF-8", n + 1))?);
    }
    if paths.is_empty() {
        return Err("no image paths in it (empty, or only blank lines and comments)".into());
    }
    Ok(paths)
}

/// A path from a manifest line: any bytes on Unix, UTF-8 elsewhere.
#[cfg(unix)]
fn path_from_bytes(b: &[u8]) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(b)))
}

#[cfg(not(unix))]
fn path_from_bytes(b: &[u8]) -> Option<PathBuf> {
    std::str::from_utf8(b).ok().map(PathBuf::from)
}

/// `--machine`: the images are one machine's disks; one report (or one error line).
fn run_machine(args: &Args, opts: &ExtractOptions) -> Result<ExitCode, CliError> {
    let started = Instant::now();
    let report = regnet::extract_machine(&args.images, opts).map_err(|e| CliError(e.to_string()))?;
    if args.stats {
        if let Some(s) = &report.source {
            eprintln!(
                "regnet: {} disks: {} bytes read in {} reads, {:.1} ms",
                args.images.len(),
                s.bytes_read,
                s.reads,
                started.elapsed().as_secs_f64() * 1e3
            );
        }
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let res = match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report).map_err(std::io::Error::from).and_then(|()| writeln!(out))
        }
        Format::Table => write!(out, "{}{}", source_line(&report), table(&report)),
    }
    .and_then(|()| out.flush());
    match res {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(CliError(format!("writing output: {e}"))),
    }
}

/// One image's result and how long it took.
type Outcome = (regnet::Result<Report>, std::time::Duration);

/// Extracts every image, several at once on worker threads, and hands each result to `emit` in
/// the images' order as soon as it and those before it are done (a progress line on stderr when it
/// is a terminal and there are many images). Workers run at most a few images ahead of `emit`, so
/// a long list holds only a few reports in memory. `emit` returning false stops the work.
fn extract_each(
    images: &[PathBuf],
    opts: &ExtractOptions,
    jobs: Option<usize>,
    mut emit: impl FnMut(usize, Outcome) -> bool,
) {
    use std::io::IsTerminal;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex};
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = jobs.unwrap_or(cores).clamp(1, images.len().max(1));
    let window = workers.saturating_mul(4);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    // How many results `emit` has had; a worker waits while its image is `window` ahead of it.
    let emitted = Mutex::new(0usize);
    let moved_on = Condvar::new();
    let progress = images.len() >= 4 && std::io::stderr().is_terminal();
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Outcome)>();
    let mut want = 0usize;
    std::thread::scope(|s| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, stop, emitted, moved_on) = (&next, &stop, &emitted, &moved_on);
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(image) = images.get(i) else { break };
                let mut done = emitted.lock().unwrap_or_else(|e| e.into_inner());
                while i >= done.saturating_add(window) && !stop.load(Ordering::Relaxed) {
                    done = moved_on.wait(done).unwrap_or_else(|e| e.into_inner());
                }
                drop(done);
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let started = Instant::now();
                let r = regnet::extract(image, opts);
                if tx.send((i, (r, started.elapsed()))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut pending = std::collections::BTreeMap::new();
        'results: for (i, outcome) in rx.iter() {
            pending.insert(i, outcome);
            while let Some(outcome) = pending.remove(&want) {
                want += 1;
                *emitted.lock().unwrap_or_else(|e| e.into_inner()) = want;
                moved_on.notify_all();
                if progress {
                    eprint!("\r\x1b[Kregnet: {want}/{} images", images.len());
                }
                if !emit(want - 1, outcome) {
                    stop.store(true, Ordering::Relaxed);
                    // Wake the waiting workers under the lock, so none misses it.
                    let _held = emitted.lock().unwrap_or_else(|e| e.into_inner());
                    moved_on.notify_all();
                    break 'results;
                }
            }
        }
    });
    if progress {
        eprintln!();
    }
}

/// One line of batch output: the image and its report, or the error.
#[derive(serde::Serialize)]
struct Line<'a> {
    image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<&'a Report>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

fn json_line(
    out: &mut impl Write,
    image: &std::path::Path,
    report: Option<&Report>,
    error: Option<&str>,
) -> std::io::Result<()> {
    let line = Line { image: image.display().to_string(), report, error };
    serde_json::to_writer(&mut *out, &line).map_err(std::io::Error::from)?;
    writeln!(out)
}

fn source_line(r: &Report) -> String {
    let mut out = String::new();
    if let Some(vm) = &r.vm {
        out.push_str(&format!(
            "vm          {} ({}, {}{})\n",
            vm.name.as_deref().unwrap_or("unnamed"),
            vm.config,
            vm.hypervisor,
            vm.guest_os.as_deref().map(|g| format!(", guest {g}")).unwrap_or_default()
        ));
        if let Some(d) = &vm.system_disk {
            out.push_str(&format!("disk        {} {}\n", d.device, d.file));
        }
        let width = vm.nics.iter().take(64).map(|n| n.label.as_deref().map_or(1, str::len)).max().unwrap_or(0).min(24);
        for n in &vm.nics {
            out.push_str(&format!(
                "vm nic      {:<width$} {:<17} {}{}{}\n",
                n.label.as_deref().unwrap_or("?"),
                n.mac.as_deref().unwrap_or("(no MAC)"),
                n.network.as_deref().unwrap_or("(no network)"),
                n.vlan.map(|v| format!(" vlan {v}")).unwrap_or_default(),
                n.adapter.as_deref().map(|g| format!(" -> {g}")).unwrap_or_else(|| " -> no guest adapter".into())
            ));
        }
    }
    if let Some(s) = &r.source {
        let fs = s.filesystem.as_deref().unwrap_or("ntfs");
        let place = match (&s.logical_volume, s.container.as_str()) {
            (_, "folder") => "a mounted guest root".to_owned(),
            (Some(lv), _) => format!("{}, {} table, LVM volume {lv}, {fs}", s.container, s.partition_table),
            (None, _) if s.partition == 0 => format!("{}, bare volume, {fs}", s.container),
            (None, _) => format!(
                "{}, {} partition {} at {:#x}, {fs}",
                s.container, s.partition_table, s.partition, s.partition_start
            ),
        };
        out.push_str(&format!("image       {} ({place})\n", s.image));
    }
    if let Some(os) = r.os.as_ref().filter(|o| o.family != "windows") {
        let name = os.pretty_name.clone().or(os.name.clone()).or(os.id.clone()).unwrap_or_else(|| "unknown".into());
        out.push_str(&format!("os          {} ({name})\n", os.family));
    }
    out
}
