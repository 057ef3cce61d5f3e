//! `regnet dump`: every key and value of a hive.

use crate::CliError;
use regnet_hive::{Hive, Key, Limits, LogFile, OpenOptions};
use serde::Serialize;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The hive file (e.g. a copy of \Windows\System32\config\SYSTEM).
    hive: PathBuf,
    /// Output format: one JSON object per key, or a .reg-style text export.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    format: Format,
    /// Do not replay HIVE.LOG1 / HIVE.LOG2 even when the hive is dirty.
    #[arg(long)]
    no_logs: bool,
    /// Read the files instead of memory-mapping them (for files another process may be changing).
    #[arg(long)]
    no_mmap: bool,
    /// Largest hive file accepted, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    max_hive_mib: u64,
    /// Set a resource limit, e.g. `--limit max_cells_visited=1000000` (repeatable).
    #[arg(long = "limit", value_name = "NAME=VALUE", long_help = format!("Set a resource limit (repeatable). Names: {}", crate::limits_opt::NAMES))]
    limits: Vec<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Jsonl,
    Reg,
}

#[derive(Serialize)]
struct JsonValue<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    data_type: u32,
    data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct JsonKey<'a> {
    path: &'a str,
    last_written: String,
    values: Vec<JsonValue<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<String>,
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

pub fn run(args: &Args) -> Result<ExitCode, CliError> {
    let mut all = regnet::ExtractOptions::default();
    all.hive.limits.max_hive_size = args.max_hive_mib.saturating_mul(1 << 20);
    crate::limits_opt::apply(&args.limits, &mut all)?;
    let limits: Limits = all.hive.limits;
    // Mapped (nothing is read until the walk touches it), or read after a size check.
    let open = |p: &std::path::Path, max: u64| -> io::Result<crate::mapped::Bytes> {
        if args.no_mmap {
            crate::mapped::read_within(p, max)
        } else {
            crate::mapped::open(p)
        }
    };
    let primary = open(&args.hive, limits.max_hive_size).map_err(|e| CliError::file(&args.hive, e))?;
    let log_paths = if args.no_logs { Vec::new() } else { regnet::find_logs(&args.hive) };
    let mut log_data = Vec::new();
    for p in &log_paths {
        match open(p, limits.max_log_size) {
            Ok(d) => log_data.push((p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), d)),
            Err(e) => eprintln!("regnet: {}: {e} (log not used)", p.display()),
        }
    }
    let mut opts = OpenOptions::new().limits(limits);
    for (name, d) in &log_data {
        opts = opts.log(LogFile::new(name.clone(), d.as_ref()));
    }
    let hive = Hive::open_with(primary.as_ref(), &opts).map_err(|e| CliError::file(&args.hive, e))?;
    for w in hive.warnings() {
        eprintln!("regnet: {}: warning: {w}", args.hive.display());
    }
    let rec = hive.recovery();
    for l in &rec.logs {
        match &l.status {
            regnet_hive::LogStatus::Applied => match l.sequence_applied {
                Some((a, b)) => eprintln!(
                    "regnet: {}: replayed {} log {} (sequence {a:#x}..={b:#x}), {} pages",
                    l.name,
                    l.entries_applied,
                    if l.entries_applied == 1 { "entry" } else { "entries" },
                    l.pages_applied
                ),
                None => eprintln!("regnet: {}: replayed {} dirty pages", l.name, l.pages_applied),
            },
            regnet_hive::LogStatus::Ignored { reason } => eprintln!("regnet: {}: not used: {reason}", l.name),
            _ => {}
        }
    }
    if rec.dirty && args.no_logs {
        eprintln!("regnet: {}: the hive is dirty; --no-logs shows the primary file as it is", args.hive.display());
    }

    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut errors = 0u64;
    let res = match args.format {
        Format::Jsonl => write_jsonl(&hive, &mut out, &mut errors),
        Format::Reg => write_reg(&hive, &mut out, &mut errors),
    };
    match res.and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        Err(e) => return Err(CliError(format!("writing output: {e}"))),
    }
    if errors > 0 {
        eprintln!(
            "regnet: {}: {errors} keys or values could not be read (see the \"errors\" fields)",
            args.hive.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Says on stderr what a walk had to skip: the first few in full, then only the count at the end.
fn report_skip(n: u64, e: &regnet_hive::HiveError) {
    const SHOWN: u64 = 20;
    if n <= SHOWN {
        eprintln!("regnet: skipped: {e}");
    } else if n == SHOWN + 1 {
        eprintln!("regnet: (further skipped keys are only counted)");
    }
}

/// Collects a key's values as (name, type, data or error).
fn values_of(key: &Key<'_>, errors: &mut Vec<String>) -> Vec<(String, u32, Result<Vec<u8>, String>)> {
    let mut out = Vec::new();
    for v in key.values() {
        match v {
            Ok(v) => {
                let data = v.data().map(|d| d.into_owned()).map_err(|e| e.to_string());
                out.push((v.name().to_string_lossy().into_owned(), v.raw_type(), data));
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    out
}

fn write_jsonl(hive: &Hive<'_>, out: &mut impl Write, nerr: &mut u64) -> io::Result<()> {
    let mut walk = hive.walk();
    while let Some(entry) = walk.next_entry() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                *nerr += 1;
                report_skip(*nerr, &e);
                continue;
            }
        };
        let mut errors = Vec::new();
        // Names decoded first (they borrow from this list), data hex-encoded straight from the
        // hive's bytes (no copy of the data in between).
        let mut vals = Vec::new();
        for v in entry.key.values() {
            match v {
                Ok(v) => vals.push((v.name().to_string_lossy(), v)),
                Err(e) => errors.push(e.to_string()),
            }
        }
        let mut bad = 0u64;
        let values = vals
            .iter()
            .map(|(name, v)| match v.data() {
                Ok(d) => JsonValue { name, data_type: v.raw_type(), data: Some(hex(&d)), error: None },
                Err(e) => {
                    bad += 1;
                    JsonValue { name, data_type: v.raw_type(), data: None, error: Some(e.to_string()) }
                }
            })
            .collect::<Vec<_>>();
        *nerr += errors.len() as u64 + bad;
        let rec = JsonKey { path: entry.path, last_written: entry.key.last_written().to_string(), values, errors };
        serde_json::to_writer(&mut *out, &rec)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Quotes a name for .reg text.
fn reg_quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\r' => q.push_str("\\r"),
            '\n' => q.push_str("\\n"),
            '\0' => q.push_str("\\0"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// REG_SZ data that .reg text can show as a quoted string without loss: UTF-16LE ending in one
/// NUL, with no other NUL, no unpaired surrogate and no control character.
fn plain_sz(d: &[u8]) -> Option<String> {
    if d.len() % 2 != 0 {
        return None;
    }
    let units: Vec<u16> = d.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    let (last, body) = units.split_last()?;
    if *last != 0 {
        return None;
    }
    let s = String::from_utf16(body).ok()?;
    (!s.chars().any(char::is_control)).then_some(s)
}

fn write_reg(hive: &Hive<'_>, out: &mut impl Write, nerr: &mut u64) -> io::Result<()> {
    writeln!(out, "Windows Registry Editor Version 5.00")?;
    let mut walk = hive.walk();
    while let Some(entry) = walk.next_entry() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                *nerr += 1;
                report_skip(*nerr, &e);
                continue;
            }
        };
        writeln!(out, "\n[{}]", entry.path)?;
        let mut errors = Vec::new();
        for (name, t, d) in values_of(&entry.key, &mut errors) {
            let lhs = if name.is_empty() { "@".to_owned() } else { reg_quote(&name) };
            match d {
                Err(e) => {
                    *nerr += 1;
                    writeln!(out, "; {lhs}: {e}")?;
                }
                Ok(d) if t == 1 && plain_sz(&d).is_some() => {
                    writeln!(out, "{lhs}={}", reg_quote(&plain_sz(&d).unwrap_or_default()))?
                }
                Ok(d) if t == 4 && d.len() == 4 => {
                    writeln!(out, "{lhs}=dword:{:08x}", u32::from_le_bytes([d[0], d[1], d[2], d[3]]))?
                }
                Ok(d) => {
                    let ty = if t == 3 { "hex:".to_owned() } else { format!("hex({t:x}):") };
                    let body: Vec<String> = d.iter().map(|b| format!("{b:02x}")).collect();
                    writeln!(out, "{lhs}={ty}{}", body.join(","))?
                }
            }
        }
        for e in errors {
            *nerr += 1;
            writeln!(out, "; {e}")?;
        }
    }
    Ok(())
}
