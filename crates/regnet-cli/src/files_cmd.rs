//! `regnet ls` and `regnet cat`: a guest's files (Linux or Windows), read from its disk images (or
//! a mounted guest root) through the guest view, without mounting anything.

use crate::CliError;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The path inside the guest (`/etc/netplan`); links resolve inside the guest.
    path: String,
    /// The machine's disk images (all of them when an LVM volume group spans several), or one
    /// folder holding a mounted guest root.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// The partition holding the guest when several do.
    #[arg(long)]
    partition: Option<u32>,
    /// The LVM logical volume holding the guest when several do (`VG/LV`).
    #[arg(long, value_name = "VG/LV")]
    volume: Option<String>,
    /// Also let images open the files they name (extents, parents) in this folder.
    #[arg(long = "allow-dir", value_name = "DIR")]
    allow_dirs: Vec<PathBuf>,
}

fn open(args: &Args) -> Result<regnet::Guest, CliError> {
    let mut opts = regnet::ExtractOptions::new();
    opts.partition = args.partition;
    opts.volume = args.volume.clone();
    opts.allow_dirs = args.allow_dirs.clone();
    regnet::open_guest(&args.images, &opts).map_err(|e| CliError(e.to_string()))
}

/// `regnet ls`: one entry a line, `kind name` (`d` folder, `l` link with its target, `-` file).
pub fn ls(args: &Args) -> Result<ExitCode, CliError> {
    let mut guest = open(args)?;
    let path = args.path.as_str();
    let entries = guest.view.list(path).map_err(|e| CliError(e.to_string()))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for e in entries {
        let name = String::from_utf8_lossy(&e.name).into_owned();
        let child = format!("{}/{name}", path.trim_end_matches('/'));
        let line = match guest.view.resolve_nofollow(&child).map(|n| n.kind) {
            Ok(regnet::disk_image::guest::NodeKind::Dir) => format!("d {name}"),
            Ok(regnet::disk_image::guest::NodeKind::Symlink) => {
                let target = guest.view.read_link(&child).map(|t| String::from_utf8_lossy(&t).into_owned());
                format!("l {name} -> {}", target.unwrap_or_else(|e| format!("(unreadable: {e})")))
            }
            Ok(regnet::disk_image::guest::NodeKind::File) => {
                let size = guest.view.resolve_nofollow(&child).map(|n| n.size).unwrap_or(0);
                format!("- {name} {size}")
            }
            Ok(_) => format!("? {name}"),
            Err(e) => format!("! {name} ({e})"),
        };
        if writeln!(out, "{line}").is_err() {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let _ = out.flush();
    Ok(ExitCode::SUCCESS)
}

/// `regnet cat`: the file's bytes on stdout.
pub fn cat(args: &Args) -> Result<ExitCode, CliError> {
    let mut guest = open(args)?;
    let bytes = guest.view.read(&args.path).map_err(|e| CliError(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    match out.write_all(&bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(CliError(format!("writing output: {e}"))),
    }
}
