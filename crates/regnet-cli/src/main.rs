//! `regnet`: a thin command line over the regnet libraries.

mod dump;
mod extract_cmd;
mod files_cmd;
mod hive_cmd;
mod limits_opt;
mod map_cmd;
mod mapped;
mod schema_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "regnet",
    version,
    about = "Read a VM's network settings offline, from its disk images, its configuration file or its registry hive"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The network settings of the guest on disk images (raw, VHD, VHDX, VMDK, qcow2), a VM
    /// configuration file (.vmx, .ovf/.ova, libvirt XML) or a mounted guest root.
    Extract(extract_cmd::Args),
    /// List a folder of a guest, from its disk images (nothing mounted): `regnet ls /etc disk.vmdk`.
    Ls(files_cmd::Args),
    /// Print a file of a guest, from its disk images (nothing mounted): `regnet cat /etc/os-release disk.vmdk`.
    Cat(files_cmd::Args),
    /// The network settings in a SYSTEM hive, as the JSON contract or a table (replays its logs when dirty).
    Hive(hive_cmd::Args),
    /// Map replicated VMs' production networks onto the cloud networks of a plan.
    Map(map_cmd::Args),
    /// Print every key and value of a hive, depth-first (replaying HIVE.LOG1/HIVE.LOG2 beside it when dirty).
    Dump(dump::Args),
    /// Print the JSON Schema (draft 2020-12) of the report (`regnet schema report`) or the mapping as
    /// this binary writes them, or of what `regnet map` reads (report-input, plan, table, vm).
    Schema(schema_cmd::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Dump(args) => dump::run(&args),
        Command::Hive(args) => hive_cmd::run(&args),
        Command::Extract(args) => extract_cmd::run(&args),
        Command::Map(args) => map_cmd::run(&args),
        Command::Ls(args) => files_cmd::ls(&args),
        Command::Cat(args) => files_cmd::cat(&args),
        Command::Schema(args) => schema_cmd::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("regnet: {e}");
            ExitCode::from(1)
        }
    }
}

/// An error for the user: what failed, on which file.
#[derive(Debug)]
pub struct CliError(String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl CliError {
    fn file(path: &std::path::Path, e: impl std::fmt::Display) -> CliError {
        CliError(format!("{}: {e}", path.display()))
    }
}
