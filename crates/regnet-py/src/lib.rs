//! `regnet._native`: the Rust half of the Python module `regnet`.
//!
//! Every function returns the documented JSON contract as text, made by serde_json exactly as the
//! `regnet` command line makes it; the pure-Python half (`regnet/_model.py`) turns it into frozen
//! dataclasses. Errors are raised as the exception classes of `regnet/_errors.py`, chosen by
//! `regnet::ErrorKind`, with the message the command line prints for the same failure.
//!
//! The interpreter is released while an image, hive or mapping is read; a Python stream is called
//! back with the interpreter attached for each read or seek only (see `stream.rs`).
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod map;
mod stream;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use regnet::{ExtractOptions, LimitError, Report};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A regnet error as the exception class for its kind (`regnet._errors._from_kind`), with the
/// error's own text as the message.
pub(crate) fn raise(py: Python<'_>, kind: &str, message: String) -> PyErr {
    let made = py
        .import("regnet._errors")
        .and_then(|m| m.getattr("_from_kind"))
        .and_then(|f| f.call1((kind, message.as_str())));
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}

/// The exception for an error of the regnet facade.
pub(crate) fn regnet_error(py: Python<'_>, e: &regnet::Error) -> PyErr {
    raise(py, e.kind().as_str(), e.to_string())
}

/// Options for an extraction, from the keyword arguments (already checked for types by the
/// Python half).
fn extract_options(
    partition: Option<u32>,
    volume: Option<String>,
    disk: Option<String>,
    logs: bool,
    allow_dirs: Vec<PathBuf>,
    limits: Vec<(String, u64)>,
) -> PyResult<ExtractOptions> {
    let mut opts = ExtractOptions::default();
    opts.partition = partition;
    opts.volume = volume;
    opts.disk = disk;
    opts.hive.no_logs = !logs;
    opts.allow_dirs = allow_dirs;
    set_limits(&mut opts, &limits)?;
    Ok(opts)
}

/// Applies `limits=` by name; an unknown name or a value too large for its limit is a ValueError.
fn set_limits(opts: &mut ExtractOptions, limits: &[(String, u64)]) -> PyResult<()> {
    for (name, value) in limits {
        opts.set_limit(name, *value).map_err(|e| match e {
            LimitError::Unknown(n) => PyValueError::new_err(format!(
                "unknown limit {n:?}; the limits are: {}",
                regnet::LIMIT_NAMES.join(", ")
            )),
            other => PyValueError::new_err(other.to_string()),
        })?;
    }
    Ok(())
}

fn to_json(report: &Report) -> PyResult<String> {
    serde_json::to_string(report).map_err(|e| PyValueError::new_err(format!("report not serialisable: {e}")))
}

/// The report of the guest on a disk image, VM configuration file or mounted guest root at `path`,
/// as JSON text. The interpreter is released while it is read.
#[pyfunction]
#[pyo3(signature = (path, partition, volume, disk, logs, allow_dirs, limits))]
#[allow(clippy::too_many_arguments)]
fn extract_path(
    py: Python<'_>,
    path: PathBuf,
    partition: Option<u32>,
    volume: Option<String>,
    disk: Option<String>,
    logs: bool,
    allow_dirs: Vec<PathBuf>,
    limits: Vec<(String, u64)>,
) -> PyResult<String> {
    let opts = extract_options(partition, volume, disk, logs, allow_dirs, limits)?;
    let result = py.detach(|| regnet::extract(&path, &opts));
    match result {
        Ok(report) => to_json(&report),
        Err(e) => Err(regnet_error(py, &e)),
    }
}

/// The report of the guest on a disk image read from the Python binary file-like `stream`
/// (`read`/`readinto` and `seek`), named `name` in the report and in messages, as JSON text.
#[pyfunction]
#[pyo3(signature = (stream, name, partition, volume, disk, logs, limits))]
#[allow(clippy::too_many_arguments)]
fn extract_stream(
    py: Python<'_>,
    stream: &Bound<'_, PyAny>,
    name: String,
    partition: Option<u32>,
    volume: Option<String>,
    disk: Option<String>,
    logs: bool,
    limits: Vec<(String, u64)>,
) -> PyResult<String> {
    let opts = extract_options(partition, volume, disk, logs, Vec::new(), limits)?;
    let failure: stream::Failure = Arc::new(Mutex::new(None));
    let reader = stream::PyStream::new(stream, failure.clone())?;
    let result = py.detach(|| regnet::extract_from_reader(reader, &name, &opts));
    let cause = failure.lock().ok().and_then(|mut slot| slot.take());
    match (result, cause) {
        // An interrupt (KeyboardInterrupt, SystemExit) raised by the stream is raised as it is.
        (_, Some(c)) if stream::must_propagate(py, &c) => Err(c),
        (Ok(report), _) => to_json(&report),
        (Err(e), cause) => {
            let err = regnet_error(py, &e);
            if cause.is_some() {
                err.set_cause(py, cause);
            }
            Err(err)
        }
    }
}

/// The report of a SYSTEM hive file, its transaction logs found beside it, as JSON text.
#[pyfunction]
#[pyo3(signature = (path, logs, limits))]
fn hive_path(py: Python<'_>, path: PathBuf, logs: bool, limits: Vec<(String, u64)>) -> PyResult<String> {
    let opts = extract_options(None, None, None, logs, Vec::new(), limits)?;
    let result = py.detach(|| regnet::report_from_hive_file(&path, &opts.hive));
    match result {
        Ok(report) => to_json(&report),
        Err(e) => Err(regnet_error(py, &e)),
    }
}

/// The report of a SYSTEM hive held in `primary`, with its transaction logs as `(name, bytes)`
/// pairs, as JSON text. Nothing is copied: the bytes are read where they lie.
#[pyfunction]
#[pyo3(signature = (primary, log_files, logs, limits))]
fn hive_bytes(
    py: Python<'_>,
    primary: &Bound<'_, PyBytes>,
    log_files: Vec<(String, Bound<'_, PyBytes>)>,
    logs: bool,
    limits: Vec<(String, u64)>,
) -> PyResult<String> {
    let opts = extract_options(None, None, None, logs, Vec::new(), limits)?;
    let data = primary.as_bytes();
    let log_data: Vec<(String, &[u8])> = log_files.iter().map(|(n, b)| (n.clone(), b.as_bytes())).collect();
    let result = py.detach(|| {
        let refs: Vec<regnet::hive::LogFile<'_>> =
            log_data.iter().map(|(n, d)| regnet::hive::LogFile::new(n.clone(), d)).collect();
        regnet::report_from_hive_bytes(data, &refs, &opts.hive)
    });
    match result {
        Ok(report) => to_json(&report),
        Err(e) => Err(regnet_error(py, &e)),
    }
}

/// The mapping of VMs onto a plan's cloud networks, as JSON text, with the notes `regnet map`
/// prints on stderr. Inputs, plan and table are `("path", PATH)` or `("text", TEXT)` pairs.
#[pyfunction]
#[pyo3(signature = (inputs, plan, table, include_absent, allow_dirs))]
fn map_inputs(
    py: Python<'_>,
    inputs: Vec<(String, String)>,
    plan: (String, String),
    table: Option<(String, String)>,
    include_absent: bool,
    allow_dirs: Vec<PathBuf>,
) -> PyResult<(String, Vec<String>)> {
    let result = py.detach(|| map::run(&inputs, &plan, table.as_ref(), include_absent, allow_dirs));
    match result {
        Ok((mapping, notes)) => {
            let text = serde_json::to_string(&mapping)
                .map_err(|e| PyValueError::new_err(format!("mapping not serialisable: {e}")))?;
            Ok((text, notes))
        }
        Err(e) => Err(raise(py, e.kind, e.message)),
    }
}

/// The module `regnet._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("LIMIT_NAMES", PyTuple::new(m.py(), regnet::LIMIT_NAMES)?)?;
    m.add("SCHEMA_VERSION", regnet::SCHEMA_VERSION)?;
    m.add("MAPPING_SCHEMA_VERSION", regnet_map::MAPPING_SCHEMA_VERSION)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(extract_path, m)?)?;
    m.add_function(wrap_pyfunction!(extract_stream, m)?)?;
    m.add_function(wrap_pyfunction!(hive_path, m)?)?;
    m.add_function(wrap_pyfunction!(hive_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(map_inputs, m)?)?;
    Ok(())
}
