//! Writes the writer-made SOFTWARE fixtures (test-only; run by testdata/build-software.sh):
//!
//! ```text
//! cargo run -p regnet --example software_fixtures -- DIR
//!   DIR/writer/SYSTEM, SOFTWARE   clean; SYSTEM has a time zone, SOFTWARE every field regnet reads
//!   DIR/dirty/SYSTEM(.LOG1/.LOG2), SOFTWARE(.LOG1/.LOG2)   both dirty, new-format logs
//!   DIR/base/SOFTWARE             the root and Microsoft\Windows NT only, for hivex to merge into
//!   DIR/hostile/SYSTEM, SOFTWARE  100,000 profiles, every date out of range (43 MB)
//! ```

#[path = "../tests/software_tree/mod.rs"]
mod software_tree;

use regnet_testkit::{new_format_logs, write_hive, LogSplit};
use software_tree::*;
use std::path::Path;

fn main() -> std::io::Result<()> {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: software_fixtures DIR");
        std::process::exit(2);
    };
    let dir = Path::new(&dir);
    for d in ["writer", "dirty", "base", "hostile"] {
        std::fs::create_dir_all(dir.join(d))?;
    }
    std::fs::write(dir.join("writer/SYSTEM"), write_hive(&system_with_zone(true), &options("SYSTEM", 7)))?;
    std::fs::write(dir.join("writer/SOFTWARE"), write_hive(&software(true), &options("SOFTWARE", 9)))?;
    std::fs::write(dir.join("base/SOFTWARE"), write_hive(&base(), &options("SOFTWARE", 1)))?;
    std::fs::write(dir.join("hostile/SYSTEM"), write_hive(&system_with_zone(true), &options("SYSTEM", 7)))?;
    std::fs::write(dir.join("hostile/SOFTWARE"), many_profiles(100_000))?;
    let (before, after) = (
        write_hive(&system_with_zone(false), &options("SYSTEM", 40)),
        write_hive(&system_with_zone(true), &options("SYSTEM", 40)),
    );
    new_format_logs(&before, &after, 3, LogSplit::Split).write_files(&dir.join("dirty"), "SYSTEM")?;
    let (before, after) =
        (write_hive(&software(false), &options("SOFTWARE", 60)), write_hive(&software(true), &options("SOFTWARE", 60)));
    new_format_logs(&before, &after, 2, LogSplit::Split).write_files(&dir.join("dirty"), "SOFTWARE")?;
    Ok(())
}
