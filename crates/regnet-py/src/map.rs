//! `regnet.map`: what `regnet map` does, with inputs, plan and table given as files or as text.
//!
//! A file input is read as `regnet map` reads it: JSON (a report, a batch line of `regnet extract`,
//! a VM file) when it starts with `{`, else an image or VM configuration file to extract; a VM
//! configuration whose guest cannot be read still takes part with its NICs' networks, and a note
//! says why (the command prints it on stderr; the Python module turns it into a warning). Messages
//! are the command's.

use regnet_map::{Mapping, OtherNic, OtherVm, Plan, Table, VmInput};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest JSON input read, as `regnet map` (a report or VM file is a few KiB).
const MAX_JSON: u64 = 64 << 20;

/// Why no mapping was made: the exception kind (`map`, or the extraction error's kind) and the text.
pub struct MapFailure {
    pub kind: &'static str,
    pub message: String,
}

impl MapFailure {
    fn map(message: String) -> Self {
        MapFailure { kind: "map", message }
    }
    fn io(message: String) -> Self {
        MapFailure { kind: "io", message }
    }
}

fn read_text(path: &Path, what: &str) -> Result<String, MapFailure> {
    let fail = |e: std::io::Error| MapFailure::io(format!("{what} {}: {e}", path.display()));
    let f = std::fs::File::open(path).map_err(fail)?;
    let mut s = String::new();
    f.take(MAX_JSON).read_to_string(&mut s).map_err(fail)?;
    Ok(s)
}

/// True when the file starts (after white space and a byte order mark) with `{`.
fn looks_like_json(path: &Path) -> Result<bool, MapFailure> {
    let fail = |e: std::io::Error| MapFailure::io(format!("{}: {e}", path.display()));
    let mut head = [0u8; 4096];
    let mut f = std::fs::File::open(path).map_err(fail)?;
    let n = f.read(&mut head).map_err(fail)?;
    let text = head.get(..n).unwrap_or_default();
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    Ok(text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'))
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

fn load_file(path: &Path, opts: &regnet::ExtractOptions, notes: &mut Vec<String>) -> Result<VmInput, MapFailure> {
    if !looks_like_json(path)? {
        return match regnet::extract(path, opts) {
            Ok(report) => Ok(VmInput::windows(report)),
            Err(e) => match regnet::vm_info(path, opts) {
                Ok(Some(vm)) if vm.nics.iter().any(|n| n.network.is_some()) => {
                    notes.push(format!(
                        "{}: the guest was not read ({e}); its NICs are known from the VM configuration only",
                        path.display()
                    ));
                    Ok(VmInput::Other(other_vm(path, &vm)))
                }
                _ => Err(MapFailure { kind: e.kind().as_str(), message: format!("{}: {e}", path.display()) }),
            },
        };
    }
    let text = read_text(path, "input")?;
    VmInput::from_json(&text).map_err(|e| MapFailure::map(format!("{}: {e}", path.display())))
}

/// The text of a plan or table: read from its file, or given.
fn spec_text(what: &str, spec: &(String, String)) -> Result<(String, String), MapFailure> {
    match spec.0.as_str() {
        "path" => Ok((read_text(Path::new(&spec.1), what)?, format!("{what} {}", spec.1))),
        _ => Ok((spec.1.clone(), what.to_owned())),
    }
}

/// Loads every input, the plan and the table, and maps.
pub fn run(
    inputs: &[(String, String)],
    plan: &(String, String),
    table: Option<&(String, String)>,
    include_absent: bool,
    allow_dirs: Vec<PathBuf>,
) -> Result<(Mapping, Vec<String>), MapFailure> {
    let (text, label) = spec_text("plan", plan)?;
    let plan = Plan::parse(&text).map_err(|e| MapFailure::map(format!("{label}: {e}")))?;
    let table = match table {
        Some(t) => {
            let (text, label) = spec_text("table", t)?;
            Some(Table::parse(&text).map_err(|e| MapFailure::map(format!("{label}: {e}")))?)
        }
        None => None,
    };
    let mut opts = regnet::ExtractOptions::default();
    opts.allow_dirs = allow_dirs;
    let mut notes = Vec::new();
    let mut vms = Vec::with_capacity(inputs.len());
    for (i, (kind, value)) in inputs.iter().enumerate() {
        let vm = match kind.as_str() {
            "path" => load_file(Path::new(value), &opts, &mut notes)?,
            _ => VmInput::from_json(value).map_err(|e| MapFailure::map(format!("input {}: {e}", i + 1)))?,
        };
        vms.push(vm);
    }
    let mut map_opts = regnet_map::MapOptions::default();
    map_opts.include_absent = include_absent;
    let mapping =
        regnet_map::map_with(&vms, &plan, table.as_ref(), &map_opts).map_err(|e| MapFailure::map(e.to_string()))?;
    Ok((mapping, notes))
}
