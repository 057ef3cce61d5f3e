//! `regnet schema`: the JSON Schema of a contract, as this binary writes (or reads) it.

use crate::CliError;
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Which document: `report` (what `regnet extract` and `regnet hive` print), `mapping` (what
    /// `regnet map` prints), or what `regnet map` reads: `report-input` (a report, fields with
    /// defaults optional), `plan`, `table`, `vm` (a VM file).
    #[arg(value_enum)]
    which: Which,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Which {
    Report,
    Mapping,
    ReportInput,
    Plan,
    Table,
    Vm,
}

/// The schema text (pretty JSON Schema draft 2020-12, trailing newline), as committed under docs/schema/.
fn text(which: Which) -> String {
    match which {
        Which::Report => regnet::report_json_schema(),
        Which::Mapping => regnet_map::mapping_json_schema(),
        Which::ReportInput => regnet::report_input_json_schema(),
        Which::Plan => regnet_map::plan_json_schema(),
        Which::Table => regnet_map::table_json_schema(),
        Which::Vm => regnet_map::vm_file_json_schema(),
    }
}

pub fn run(args: &Args) -> Result<ExitCode, CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text(args.which).as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(CliError(format!("writing output: {e}"))),
    }
}
