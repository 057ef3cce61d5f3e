//! `regnet map`: which cloud network each replica NIC attaches to, and what the NEA takes over.

use crate::hive_cmd::Format;
use crate::CliError;
use regnet_map::{Mapping, OtherNic, OtherVm, Plan, Table, VmInput};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The cloud networks available, in order (JSON or TOML: `{"networks": [{"name": "cn-a", "vlan": 10}]}`).
    #[arg(long, value_name = "FILE")]
    plan: PathBuf,
    /// Production network (subnet or label) to cloud network (`{"map": [{"production": "10.41.7.0/24", "cloud": "cn-a"}]}`).
    #[arg(long, value_name = "FILE")]
    table: Option<PathBuf>,
    /// One per VM: a regnet JSON report, a disk image, a VM configuration file (.vmx, .ovf/.ova,
    /// libvirt XML), or a VM file (`{"name", "os", "nics": [{"network"}]}`).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// `json` is the documented contract (docs/mapping.md); `table` is a summary for people.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Also map adapters the reports mark absent (NICs the VM no longer has).
    #[arg(long)]
    include_absent: bool,
    /// Also let images and VM configuration files open the files they name in this folder.
    #[arg(long = "allow-dir", value_name = "DIR")]
    allow_dirs: Vec<PathBuf>,
}

/// Largest JSON input read (a report or VM file is a few KiB; anything bigger is treated with suspicion).
const MAX_JSON: u64 = 64 << 20;

fn read_text(path: &Path, what: &str) -> Result<String, CliError> {
    let mut f = std::fs::File::open(path).map_err(|e| CliError(format!("{what} {}: {e}", path.display())))?;
    let mut s = String::new();
    Read::by_ref(&mut f)
        .take(MAX_JSON)
        .read_to_string(&mut s)
        .map_err(|e| CliError(format!("{what} {}: {e}", path.display())))?;
    Ok(s)
}

/// True when the file starts (after white space) with `{`: JSON, not a disk image.
fn looks_like_json(path: &Path) -> Result<bool, CliError> {
    let mut head = [0u8; 4096];
    let mut f = std::fs::File::open(path).map_err(|e| CliError::file(path, e))?;
    let n = f.read(&mut head).map_err(|e| CliError::file(path, e))?;
    let text = head.get(..n).unwrap_or_default();
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    Ok(text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'))
}

/// One input: a report, a VM file, a batch line of `regnet extract`, a disk image, or a VM
/// configuration file. A VM configuration whose guest cannot be read still gives its NICs'
/// production networks (as a VM file would, so it needs a table), with a note on stderr.
fn load_vm(path: &Path, opts: &regnet::ExtractOptions) -> Result<VmInput, CliError> {
    if !looks_like_json(path)? {
        return match regnet::extract(path, opts) {
            Ok(report) => Ok(VmInput::windows(report)),
            Err(e) => match regnet::vm_info(path, opts) {
                Ok(Some(vm)) if vm.nics.iter().any(|n| n.network.is_some()) => {
                    eprintln!(
                        "regnet: {}: the guest was not read ({e}); its NICs are known from the VM configuration only",
                        path.display()
                    );
                    Ok(VmInput::Other(other_vm(path, &vm)))
                }
                _ => Err(CliError::file(path, e)),
            },
        };
    }
    let text = read_text(path, "input")?;
    VmInput::from_json(&text).map_err(|e| CliError(format!("{}: {e}", path.display())))
}

/// A VM known only from its configuration file: its name, declared OS and each NIC's network.
fn other_vm(path: &Path, vm: &regnet::VmInfo) -> OtherVm {
    let name = vm.name.clone().unwrap_or_else(|| path.display().to_string());
    let nics = vm
        .nics
        .iter()
        .filter_map(|n| n.network.clone().map(|net| OtherNic::new(net, n.mac.clone().or(n.label.clone()))))
        .collect();
    OtherVm::new(name, vm.guest_os.clone().unwrap_or_else(|| "unknown".into()), nics)
}

pub fn run(args: &Args) -> Result<ExitCode, CliError> {
    let plan = Plan::parse(&read_text(&args.plan, "plan")?)
        .map_err(|e| CliError(format!("plan {}: {e}", args.plan.display())))?;
    let table = match &args.table {
        Some(t) => {
            Some(Table::parse(&read_text(t, "table")?).map_err(|e| CliError(format!("table {}: {e}", t.display())))?)
        }
        None => None,
    };
    let mut opts = regnet::ExtractOptions::default();
    opts.allow_dirs = args.allow_dirs.clone();
    let vms = args.inputs.iter().map(|p| load_vm(p, &opts)).collect::<Result<Vec<_>, _>>()?;
    let mut map_opts = regnet_map::MapOptions::default();
    map_opts.include_absent = args.include_absent;
    let mapping = regnet_map::map_with(&vms, &plan, table.as_ref(), &map_opts).map_err(|e| CliError(e.to_string()))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let res = match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &mapping).map_err(std::io::Error::from).and_then(|()| writeln!(out))
        }
        Format::Table => write!(out, "{}", table_text(&mapping)),
    }
    .and_then(|()| out.flush());
    match res {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(CliError(format!("writing output: {e}"))),
    }
}

fn table_text(m: &Mapping) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "mapping     {}", if m.automatic { "automatic" } else { "from the table" });
    for c in &m.cloud_networks {
        let mut tags = Vec::new();
        if let Some(v) = c.vlan {
            tags.push(format!("vlan {v}"));
        }
        if c.internet {
            tags.push("internet".into());
        }
        let tags = if tags.is_empty() { String::new() } else { format!(" ({})", tags.join(", ")) };
        let _ = writeln!(s, "\ncloud network {}{tags}", c.name);
        for p in &c.production_networks {
            let nea = match (p.gateway, p.prefix_len) {
                (Some(g), Some(l)) => format!("NEA takes {g}/{l}"),
                (None, _) => "no gateway".into(),
                (Some(g), None) => format!("NEA takes {g}"),
            };
            let net = match &p.subnet {
                Some(sub) if *sub != p.network => format!("{} ({sub})", p.network),
                _ => p.network.clone(),
            };
            let _ = writeln!(s, "  {:<34} {:<28} VMs: {}", net, nea, p.vms.join(", "));
        }
    }
    for vm in &m.vms {
        let _ = writeln!(s, "\n{} ({})", vm.vm, vm.os);
        for n in &vm.nics {
            let id = n.name.clone().or(n.guid.clone()).unwrap_or_default();
            let _ = writeln!(s, "  {:<20} {:<20} -> {}", id, n.network, n.cloud_network);
        }
    }
    if !m.warnings.is_empty() {
        let _ = writeln!(s, "\nwarnings");
        for w in &m.warnings {
            let _ = writeln!(s, "  [{}] {}", w.code, w.message);
        }
    }
    s
}
