//! `regnet extract`: the network settings of the Windows guest on disk images.

use crate::hive_cmd::{table, Format};
use crate::CliError;
use regnet::{ExtractOptions, Report};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Disk images (raw, VHD, VHDX, VMDK, qcow2) or VM configuration files (VMware .vmx, OVF .ovf/.ova,
    /// libvirt domain XML), detected from the content.
    #[arg(required = true)]
    images: Vec<PathBuf>,
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
    let many = args.images.len() > 1;
    let results = extract_all(&args.images, &opts, args.jobs);
    // Buffered, and flushed after each image (a locked stdout alone writes line by line: hundreds
    // of system calls for one pretty-printed report).
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut failed = 0usize;
    for (image, (result, elapsed)) in args.images.iter().zip(results) {
        if args.stats {
            match &result {
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
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
            Err(e) => return Err(CliError(format!("writing output: {e}"))),
        }
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
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

/// Extracts every image, several at once on worker threads, with a progress line on stderr when
/// it is a terminal and there are many images. Results come back in argument order.
fn extract_all(images: &[PathBuf], opts: &ExtractOptions, jobs: Option<usize>) -> Vec<Outcome> {
    use std::io::IsTerminal;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = jobs.unwrap_or(cores).clamp(1, images.len().max(1));
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Outcome>>> = images.iter().map(|_| Mutex::new(None)).collect();
    let progress = images.len() >= 4 && std::io::stderr().is_terminal();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(image) = images.get(i) else { break };
                let started = Instant::now();
                let r = regnet::extract(image, opts);
                if let Some(slot) = slots.get(i) {
                    if let Ok(mut g) = slot.lock() {
                        *g = Some((r, started.elapsed()));
                    }
                }
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if progress {
                    eprint!("\r\x1b[Kregnet: {n}/{} images", images.len());
                }
            });
        }
    });
    if progress {
        eprintln!();
    }
    slots
        .into_iter()
        .map(|m| {
            m.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| (Err(regnet::Error::NoWindows("not processed".into())), std::time::Duration::ZERO))
        })
        .collect()
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
