//! Writes regnet's writer-made fixtures (test-only tool).
//!
//! ```text
//! regnet-fixtures example DIR   # DIR/SYSTEM + SYSTEM.LOG1 + SYSTEM.LOG2: the bundled example (dirty, new-format logs)
//! regnet-fixtures all DIR       # every writer-made fixture (see testdata/README.md)
//! ```

use regnet_testkit::example::example_system;
use regnet_testkit::{
    new_format_logs, old_format_log, write_hive, KeySpec, ListKind, LogSplit, ValueSpec, WriterOptions,
};
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(cmd), Some(dir)) = (args.first(), args.get(1)) else {
        eprintln!("usage: regnet-fixtures example|all DIR");
        return ExitCode::from(2);
    };
    let dir = Path::new(dir);
    let res = match cmd.as_str() {
        "example" => example(dir),
        "all" => all(dir),
        _ => {
            eprintln!("usage: regnet-fixtures example|all DIR");
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
