//! Writes regnet's writer-made fixtures (test-only tool).
//!
//! ```text
//! regnet-fixtures example DIR   # DIR/SYSTEM + SYSTEM.LOG1 + SYSTEM.LOG2: the bundled example (dirty, new-format logs)
//! regnet-fixtures all DIR       # every writer-made fixture (see testdata/README.md)
//! regnet-fixtures dirty BEFORE AFTER DIR   # DIR/SYSTEM (BEFORE, made dirty) + SYSTEM.LOG1/LOG2 whose
//!                                         # replay gives AFTER (same root cell; e.g. edited by hivex)
//! regnet-fixtures esxi-chain [--grain SECTORS] [--seed N] DIR NAME BASE.raw [cowd|sesparse:LAYER.raw]...
//!     # an ESXi snapshot chain: DIR/NAME.vmdk + NAME-flat.vmdk (the base), then per layer k
//!     # NAME-00000k.vmdk + NAME-00000k-delta.vmdk (COWD) or NAME-00000k-sesparse.vmdk, each the
//!     # difference from the layer below; --grain sets the COWD grain (default 1 sector, as ESXi)
//! regnet-fixtures lvm [--kib N] DIR   # DIR/*.img: small LVM2 sample disks (regnet_testkit::lvm::samples,
//!                                     # PVs of N KiB, default 256), the seeds of the `lvm` fuzz target
//! ```

use regnet_testkit::esxi::{write_chain, ChainOptions, ExtentKind, Image};
use regnet_testkit::example::example_system;
use regnet_testkit::{
    new_format_logs, old_format_log, write_hive, KeySpec, ListKind, LogSplit, ValueSpec, WriterOptions,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: regnet-fixtures example|all DIR\n       regnet-fixtures lvm [--kib N] DIR\n       regnet-fixtures dirty BEFORE AFTER DIR\n       regnet-fixtures esxi-chain [--grain SECTORS] [--seed N] DIR NAME BASE.raw [cowd|sesparse:LAYER.raw]...";

/// A subcommand taking its own arguments.
type Tool = fn(&[String]) -> Result<(), String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let tool: Option<Tool> = match args.first().map(String::as_str) {
        Some("esxi-chain") => Some(esxi_chain),
        Some("dirty") => Some(dirty),
        Some("lvm") => Some(lvm),
        _ => None,
    };
    if let Some(tool) = tool {
        return match tool(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("regnet-fixtures {}: {e}", args[0]);
                ExitCode::FAILURE
            }
        };
    }
    let (Some(cmd), Some(dir)) = (args.first(), args.get(1)) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let dir = Path::new(dir);
    let res = match cmd.as_str() {
        "example" => example(dir),
        "all" => all(dir),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("regnet-fixtures: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The options of the example: a Windows 10-era hive (format 1.5, `lh` lists), written at a fixed time.
fn example_options(sequence: u32) -> WriterOptions {
    WriterOptions {
        timestamp: regnet_testkit::example::EXAMPLE_TIME,
        sequence: (sequence, sequence),
        ..WriterOptions::default()
    }
}

/// The example: a dirty primary plus new-format logs split over LOG1 and LOG2.
pub fn example(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let before = write_hive(&example_system(false), &example_options(40));
    let after = write_hive(&example_system(true), &example_options(40));
    new_format_logs(&before, &after, 3, LogSplit::Split).write_files(dir, "SYSTEM")?;
    Ok(())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(p, bytes)
}

/// Every writer-made fixture: clean hives of each format version and list kind, big data, `ri`
/// lists, Unicode names, and dirty hives with each log format.
pub fn all(dir: &Path) -> std::io::Result<()> {
    example(&dir.join("example"))?;
    let tree = example_system(true);
    for minor in 3..=6 {
        for kind in [ListKind::Li, ListKind::Lf, ListKind::Lh] {
            let opts = WriterOptions { minor_version: minor, list_kind: kind, ..WriterOptions::default() };
            let kind = format!("{kind:?}").to_lowercase();
            write(dir, &format!("clean/v1.{minor}-{kind}/SYSTEM"), &write_hive(&tree, &opts))?;
        }
    }
    // 300 subkeys split into `ri` leaves of 64; big values in `db` cells; names in several scripts.
    let mut wide = KeySpec::new("ROOT");
    let mut many = KeySpec::new("Many");
    for i in 0..300 {
        many = many.with_subkey(KeySpec::new(format!("key{i:04}").as_str()));
    }
    wide = wide
        .with_subkey(many)
        .with_subkey(
            KeySpec::new("Big")
                .with_value(ValueSpec::binary("db", (0..100_000u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>()))
                .with_value(ValueSpec::binary("edge", vec![7u8; 16_345])),
        )
        .with_subkey(
            KeySpec::new("Names")
                .with_subkey(KeySpec::new("\u{e9}t\u{e9}"))
                .with_subkey(KeySpec::new("\u{416}\u{443}\u{43a}"))
                .with_subkey(KeySpec::new("\u{65e5}\u{672c}"))
                .with_value(ValueSpec::sz("\u{3a3}\u{3c3}", "sigma")),
        );
    let opts = WriterOptions { ri_chunk: Some(64), ..WriterOptions::default() };
    write(dir, "structures/SYSTEM", &write_hive(&wide, &opts))?;

    // Dirty hives: the example's before/after with each log layout.
    let before = write_hive(&example_system(false), &example_options(7));
    let after = write_hive(&example_system(true), &example_options(7));
    for (name, split) in
        [("log1-only", LogSplit::AllInLog1), ("log2-only", LogSplit::AllInLog2), ("split", LogSplit::Split)]
    {
        let d = dir.join("dirty-new").join(name);
        std::fs::create_dir_all(&d)?;
        new_format_logs(&before, &after, 4, split).write_files(&d, "SYSTEM")?;
    }
    let old_opts = WriterOptions { minor_version: 3, list_kind: ListKind::Lf, ..example_options(7) };
    let before = write_hive(&example_system(false), &old_opts);
    let after = write_hive(&example_system(true), &old_opts);
    std::fs::create_dir_all(dir.join("dirty-old"))?;
    old_format_log(&before, &after).write_files(&dir.join("dirty-old"), "SYSTEM")?;
    write(dir, "after/SYSTEM", &write_hive(&example_system(true), &example_options(7)))?;
    Ok(())
}

/// `esxi-chain`: writes an ESXi snapshot chain from raw images (see the module docs).
fn esxi_chain(args: &[String]) -> Result<(), String> {
    let mut opts = ChainOptions::default();
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |what: &str| -> Result<u64, String> {
            it.next().and_then(|v| v.parse().ok()).ok_or_else(|| format!("{what} needs a number\n{USAGE}"))
        };
        match a.as_str() {
            "--grain" => opts.cowd.grain_sectors = num("--grain")?,
            "--seed" => opts.cid_seed = num("--seed")?,
            _ => rest.push(a.clone()),
        }
    }
    let [dir, name, base, layers @ ..] = rest.as_slice() else {
        return Err(USAGE.to_string());
    };
    let mut parsed: Vec<(ExtentKind, PathBuf)> = Vec::new();
    for l in layers {
        let (kind, path) = match l.split_once(':') {
            Some(("cowd" | "vmfsSparse", p)) => (ExtentKind::VmfsSparse, p),
            Some(("sesparse" | "seSparse", p)) => (ExtentKind::SeSparse, p),
            _ => return Err(format!("layer {l:?} is not cowd:FILE or sesparse:FILE\n{USAGE}")),
        };
        parsed.push((kind, PathBuf::from(path)));
    }
    let images: Vec<(ExtentKind, Image<'_>)> = parsed.iter().map(|(k, p)| (*k, Image::File(p))).collect();
    let files =
        write_chain(Path::new(dir), name, Image::File(Path::new(base)), &images, &opts).map_err(|e| e.to_string())?;
    for (d, cid) in files.descriptors.iter().zip(&files.cids) {
        println!("{}\tCID={cid:08x}", d.display());
    }
    Ok(())
}

/// `dirty`: a dirty primary (BEFORE with its primary sequence number one ahead) and new-format logs,
/// split over LOG1 and LOG2, whose replay yields AFTER's hive bins.
fn dirty(args: &[String]) -> Result<(), String> {
    let [before, after, dir] = args else {
        return Err(USAGE.to_string());
    };
    let read = |p: &String| std::fs::read(p).map_err(|e| format!("{p}: {e}"));
    let (before, after) = (read(before)?, read(after)?);
    let dir = Path::new(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    new_format_logs(&before, &after, 2, LogSplit::Split).write_files(dir, "SYSTEM").map_err(|e| e.to_string())?;
    Ok(())
}

/// `lvm DIR`: the LVM2 sample disks.
fn lvm(args: &[String]) -> Result<(), String> {
    let (size, dir) = match args {
        [dir] => (256 << 10, dir),
        [flag, kib, dir] if flag == "--kib" => {
            (kib.parse::<u64>().map_err(|e| format!("--kib: {e}"))?.max(256) << 10, dir)
        }
        _ => return Err(format!("expected [--kib N] DIR\n{USAGE}")),
    };
    let dir = Path::new(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (name, bytes) in regnet_testkit::lvm::samples_sized(size) {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}
