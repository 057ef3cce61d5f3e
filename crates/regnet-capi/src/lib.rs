//! # regnet-capi
//!
//! The C ABI of regnet, installed as `libregnet` with the header `include/regnet.h` (generated
//! from this crate by cbindgen) and `regnet.pc`; `docs/capi.md` tells how to build and use it.
//!
//! Conventions, the same for every function:
//! - every fallible function returns a [`regnet_status`] (`REGNET_OK` is 0) and takes
//!   `regnet_error **err_out` last: on failure, when `err_out` is not NULL, `*err_out` is a new
//!   error object the caller frees with [`regnet_error_free`]; on success `*err_out` is set to NULL.
//!   There is no thread-local "last error".
//! - results are JSON strings (the documented contracts `docs/report.md` and `docs/mapping.md`,
//!   compact) written to `char **..._out`, freed with [`regnet_string_free`] only.
//! - input strings are UTF-8 and NUL-terminated; JSON inputs may be 64 MiB at most.
//! - every function is reentrant and thread-safe (there is no global mutable state), and a Rust
//!   panic never unwinds into C: it becomes `REGNET_PANIC`.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod error;
mod options;
mod reader;

pub use error::*;
pub use reader::regnet_read_at_fn;

use error::{boundary, Failure};
use reader::CallbackReader;
use std::ffi::{c_char, c_void, CString};
use std::ptr;

/// The largest JSON text (options, VMs, plan, table) accepted, in bytes.
pub const REGNET_MAX_JSON_BYTES: usize = 64 << 20;

/// The largest path or name accepted, in bytes.
pub const REGNET_MAX_PATH_BYTES: usize = 64 << 10;

/// The most transaction logs `regnet_report_from_hive` takes (Windows keeps two, older ones one).
pub const REGNET_MAX_LOGS: usize = 8;

/// The version of this ABI: 1. It grows when a function or status code is added; what exists keeps
/// its meaning.
pub const REGNET_ABI_VERSION: u32 = 1;

static VERSION: &std::ffi::CStr =
    match std::ffi::CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => c"unknown",
    };

/// The version of the library, e.g. `"0.1.0"`: a static string, never freed.
#[no_mangle]
pub extern "C" fn regnet_version() -> *const c_char {
    VERSION.as_ptr()
}

/// The version of the ABI, `REGNET_ABI_VERSION` (1) for this header. A program built against
/// ABI N runs with a library whose ABI version is N or more.
#[no_mangle]
pub extern "C" fn regnet_abi_version() -> u32 {
    REGNET_ABI_VERSION
}

/// The status code of `err` (`REGNET_INVALID_ARGUMENT` when `err` is NULL).
///
/// # Safety
/// `err` is NULL or an error object from this library that was not freed.
#[no_mangle]
pub unsafe extern "C" fn regnet_error_code(err: *const regnet_error) -> regnet_status {
    // SAFETY: the caller passes NULL or a live error object of ours.
    match unsafe { err.as_ref() } {
        Some(e) => e.code(),
        None => REGNET_INVALID_ARGUMENT,
    }
}

/// The message of `err`, for people: UTF-8, NUL-terminated, valid until `err` is freed (NULL when
/// `err` is NULL).
///
/// # Safety
/// `err` is NULL or an error object from this library that was not freed.
#[no_mangle]
pub unsafe extern "C" fn regnet_error_message(err: *const regnet_error) -> *const c_char {
    // SAFETY: the caller passes NULL or a live error object of ours.
    match unsafe { err.as_ref() } {
        Some(e) => e.message_ptr(),
        None => ptr::null(),
    }
}

/// The kind of `err` as a stable lower-case name (`"limit_exceeded"`, `"io"`, `"callback"`, ...):
/// the name of its status code, or for `REGNET_OTHER` the name of the newer kind. Valid until `err`
/// is freed (NULL when `err` is NULL).
///
/// # Safety
/// `err` is NULL or an error object from this library that was not freed.
#[no_mangle]
pub unsafe extern "C" fn regnet_error_kind(err: *const regnet_error) -> *const c_char {
    // SAFETY: the caller passes NULL or a live error object of ours.
    match unsafe { err.as_ref() } {
        Some(e) => e.kind_ptr(),
        None => ptr::null(),
    }
}

/// Frees an error object. NULL is allowed and does nothing.
///
/// # Safety
/// `err` is NULL or an error object from this library, not freed before.
#[no_mangle]
pub unsafe extern "C" fn regnet_error_free(err: *mut regnet_error) {
    if !err.is_null() {
        // SAFETY: a non-NULL `err` came from `Box::into_raw` in `deliver` and is freed once.
        drop(unsafe { Box::from_raw(err) });
    }
}

/// Frees a string this library returned (a report or mapping). NULL is allowed and does nothing.
///
/// # Safety
/// `s` is NULL or a string returned by this library through a `char **` argument, not freed before.
/// Strings from `regnet_version` or `regnet_error_message` are not freed with it.
#[no_mangle]
pub unsafe extern "C" fn regnet_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: a non-NULL `s` came from `CString::into_raw` in `deliver` and is freed once.
        drop(unsafe { CString::from_raw(s) });
    }
}

/// Reads the network settings of the guest on the disk image, VM configuration file (.vmx,
/// .ovf/.ova, libvirt XML) or mounted guest folder at `path`, as `regnet extract PATH` does.
///
/// `options_json` (NULL for the defaults) is an object with any of: `"partition"` (number),
/// `"volume"` (`"VG/LV"`), `"disk"` (`"scsi0:0"`, `"vda"`, or `"2"`), `"logs"` (false: do not replay
/// the hive's transaction logs), `"allow_dirs"` (folders the image may open files in besides its
/// own), `"container"` (`"raw"`, `"vhd"`, `"vhdx"`, `"vmdk"`, `"qcow2"`: skip detection),
/// `"limits"` (`{"max_bytes_read": 67108864, ...}`, names as in `regnet help extract`). An unknown
/// key or limit is `REGNET_INVALID_ARGUMENT`.
///
/// On success `*report_json_out` is the report (docs/report.md), freed with `regnet_string_free`.
///
/// # Safety
/// `path` and `options_json` are NULL or NUL-terminated strings; `report_json_out` and `err_out`
/// are NULL or valid pointers to write to.
#[no_mangle]
pub unsafe extern "C" fn regnet_extract_path(
    path: *const c_char,
    options_json: *const c_char,
    report_json_out: *mut *mut c_char,
    err_out: *mut *mut regnet_error,
) -> regnet_status {
    // SAFETY: the out pointers are NULL or writable, as the caller promises.
    unsafe { reset(report_json_out, err_out) };
    let result = boundary(|| {
        need_out(report_json_out, "report_json_out")?;
        // SAFETY: the caller passes NULL or NUL-terminated strings.
        let path = unsafe { required_str(path, "path", REGNET_MAX_PATH_BYTES) }?;
        // SAFETY: as above.
        let opts =
            options::extract_options(unsafe { optional_str(options_json, "options_json", REGNET_MAX_JSON_BYTES) }?)?;
        let report = regnet::extract(path, &opts)?;
        to_json(&report)
    });
    // SAFETY: the out pointers are NULL or writable, as the caller promises.
    unsafe { deliver(result, report_json_out, err_out) }
}

/// Reads the network settings of the guest on a disk image the caller reads: `read_at(user, offset,
/// buf, len, &n)` fills `buf` with up to `len` bytes of the image at `offset` (see
/// `regnet_read_at_fn`); the image is `size` bytes long. `name` (NULL: `"stream"`) names the image in
/// messages and in the report's `source.image`. Options as for `regnet_extract_path` (an image that
/// names other files, a VMDK descriptor or a qcow2 with a backing file, is refused: a stream has no
/// folder; VM configuration files are read by `regnet_extract_path` only).
///
/// When the callback fails (returns non-zero, or claims more bytes than asked for) and so the call
/// fails, the status is `REGNET_CALLBACK` and the message quotes the callback's code and offset.
/// The callback is called only on the calling thread, and never after this function returns.
///
/// # Safety
/// `read_at` is NULL or a function of the declared type that writes at most `len` bytes to `buf`
/// and one `size_t` to `out_read`; `user` is whatever it needs; strings and out pointers as for
/// `regnet_extract_path`.
#[no_mangle]
pub unsafe extern "C" fn regnet_extract_read_at(
    read_at: regnet_read_at_fn,
    user: *mut c_void,
    size: u64,
    name: *const c_char,
    options_json: *const c_char,
    report_json_out: *mut *mut c_char,
    err_out: *mut *mut regnet_error,
) -> regnet_status {
    // SAFETY: the out pointers are NULL or writable, as the caller promises.
    unsafe { reset(report_json_out, err_out) };
    let result = boundary(|| {
        need_out(report_json_out, "report_json_out")?;
        let read_at = read_at.ok_or_else(|| Failure::invalid("read_at is NULL"))?;
        // SAFETY: the caller passes NULL or NUL-terminated strings.
        let name = unsafe { optional_str(name, "name", REGNET_MAX_PATH_BYTES) }?.unwrap_or("stream");
        // SAFETY: as above.
        let opts =
            options::extract_options(unsafe { optional_str(options_json, "options_json", REGNET_MAX_JSON_BYTES) }?)?;
        let (reader, failure) = CallbackReader::new(read_at, user, size);
        match regnet::extract_from_reader(reader, name, &opts) {
            Ok(report) => to_json(&report),
            Err(e) => {
                let mut f = Failure::from(e);
                let cause = failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
                if let Some(cause) = cause {
                    if !f.message.contains(&cause) {
                        f.message = format!("{} ({cause})", f.message);
                    }
                    f = Failure::new(REGNET_CALLBACK, f.message);
                }
                Err(f)
            }
        }
    });
    // SAFETY: the out pointers are NULL or writable, as the caller promises.
    unsafe { deliver(result, report_json_out, err_out) }
}

/// Reads the network settings from a SYSTEM hive in memory, `hive_len` bytes at `hive`, replaying
/// the transaction logs given (`n_logs` buffers `logs[i]` of `log_lens[i]` bytes: the LOG1 and LOG2
/// files' bytes; `logs` and `log_lens` may be NULL when `n_logs` is 0) when the hive is dirty. In
/// the report the logs are named `SYSTEM.LOG1`, `SYSTEM.LOG2`, ... by their position.
///
/// `options_json` (NULL for the defaults): `{"logs": false}` to not replay them, `"limits"` as for
/// `regnet_extract_path` (the hive's apply: `max_hive_size`, `max_log_size`, ...).
///
/// # Safety
/// `hive` points to `hive_len` readable bytes; when `n_logs` > 0, `logs` and `log_lens` point to
/// `n_logs` entries each and every `logs[i]` to `log_lens[i]` readable bytes (NULL allowed when the
/// length is 0); none of them change during the call. Strings and out pointers as for
/// `regnet_extract_path`.
#[no_mangle]
pub unsafe extern "C" fn regnet_report_from_hive(
    hive: *const u8,
    hive_len: usize,
    logs: *const *const u8,
    log_lens: *const usize,
    n_logs: usize,
    options_json: *const c_char,
    report_json_out: *mut *mut c_char,
    err_out: *mut *mut regnet_error,
) -> regnet_status {
    // SAFETY: the out pointers are NULL or writable, as the caller promises.
    unsafe { reset(report_json_out, err_out) };
    let result = boundary(|| {
        need_out(report_json_out, "report_json_out")?;
        // SAFETY: the caller promises `hive_len` readable bytes at a non-NULL `hive`.
        let primary = unsafe { bytes(hive, hive_len, "hive") }?;
        if n_logs > REGNET_MAX_LOGS {
            return Err(Failure::invalid(format!("n_logs is {n_logs}: at most {REGNET_MAX_LOGS} logs are taken")));
        }
        if n_logs > 0 && (logs.is_null() || log_lens.is_null()) {
            return Err(Failure::invalid("logs or log_lens is NULL while n_logs is not 0"));
        }
        let mut log_files = Vec::with_capacity(n_logs);
        for i in 0..n_logs {
            // SAFETY: `logs` and `log_lens` are non-NULL with `n_logs` entries each (checked and promised).
            let (p, len) = unsafe { (*logs.add(i), *log_lens.add(i)) };
            // SAFETY: the caller promises `len` readable bytes at `p` (NULL only with length 0).
            let data = unsafe { bytes_or_empty(p, len, "logs[i]") }?;
            log_files.push(regnet::hive::LogFile::new(format!("SYSTEM.LOG{}", i + 1), data));
        }
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        let opts =
            options::hive_options(unsafe { optional_str(options_json, "options_json", REGNET_MAX_JSON_BYTES) }?)?;
        let report = regnet::report_from_hive_bytes(primary, &log_files, &opts)?;
        to_json(&report)
    });
    // SAFETY: the out pointers are NULL or writable, as the caller promises.
    unsafe { deliver(result, report_json_out, err_out) }
}

/// Maps replicated VMs onto the cloud networks of a plan, as `regnet map` does.
///
/// `vms_json` is a JSON array with one element per VM: a regnet report, a line of `regnet extract`'s
/// batch output (`{"image", "report"}`), or a VM file (`{"name", "os", "nics": [{"network"}]}`).
/// `plan_json` is the plan (JSON or TOML text), `table_json` the mapping table (JSON or TOML; NULL
/// for none: automatic mapping), `options_json` NULL or `{"include_absent": true}`.
///
/// On success `*mapping_json_out` is the mapping (docs/mapping.md). A refused mapping (conflicts, a
/// table needed) or an unusable plan, table or VM is `REGNET_MAP`, its message says why.
///
/// # Safety
/// The strings are NULL or NUL-terminated; the out pointers NULL or valid pointers to write to.
#[no_mangle]
pub unsafe extern "C" fn regnet_map(
    vms_json: *const c_char,
    plan_json: *const c_char,
    table_json: *const c_char,
    options_json: *const c_char,
    mapping_json_out: *mut *mut c_char,
    err_out: *mut *mut regnet_error,
) -> regnet_status {
    // SAFETY: the out pointers are NULL or writable, as the caller promises.
    unsafe { reset(mapping_json_out, err_out) };
    let result = boundary(|| {
        need_out(mapping_json_out, "mapping_json_out")?;
        // SAFETY: the caller passes NULL or NUL-terminated strings (for all four).
        let (vms, plan, table, opts) = unsafe {
            (
                required_str(vms_json, "vms_json", REGNET_MAX_JSON_BYTES)?,
                required_str(plan_json, "plan_json", REGNET_MAX_JSON_BYTES)?,
                optional_str(table_json, "table_json", REGNET_MAX_JSON_BYTES)?,
                optional_str(options_json, "options_json", REGNET_MAX_JSON_BYTES)?,
            )
        };
        let opts = options::map_options(opts)?;
        let map_err = |m: String| Failure::new(REGNET_MAP, m);
        let values: Vec<serde_json::Value> =
            serde_json::from_str(vms).map_err(|e| map_err(format!("vms_json is not a JSON array: {e}")))?;
        let vms = values
            .into_iter()
            .enumerate()
            .map(|(i, v)| regnet_map::VmInput::from_value(v).map_err(|e| map_err(format!("vms_json[{i}]: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let plan = regnet_map::Plan::parse(plan).map_err(|e| map_err(format!("plan: {e}")))?;
        let table = table.map(regnet_map::Table::parse).transpose().map_err(|e| map_err(format!("table: {e}")))?;
        let mapping = regnet_map::map_with(&vms, &plan, table.as_ref(), &opts).map_err(|e| map_err(e.to_string()))?;
        to_json(&mapping)
    });
    // SAFETY: the out pointers are NULL or writable, as the caller promises.
    unsafe { deliver(result, mapping_json_out, err_out) }
}

/// Sets both out pointers to NULL, so that neither is left stale whatever happens next.
///
/// # Safety
/// Each pointer is NULL or valid to write to.
unsafe fn reset(out: *mut *mut c_char, err_out: *mut *mut regnet_error) {
    if !out.is_null() {
        // SAFETY: non-NULL and writable, as promised.
        unsafe { out.write(ptr::null_mut()) };
    }
    if !err_out.is_null() {
        // SAFETY: non-NULL and writable, as promised.
        unsafe { err_out.write(ptr::null_mut()) };
    }
}

fn need_out<T>(out: *mut T, name: &str) -> Result<(), Failure> {
    if out.is_null() {
        return Err(Failure::invalid(format!("{name} is NULL: there would be nowhere to put the result")));
    }
    Ok(())
}

/// Hands the result to C: the string into `*out`, or a new error object into `*err_out`.
///
/// # Safety
/// Each pointer is NULL or valid to write to.
unsafe fn deliver(
    result: Result<String, Failure>,
    out: *mut *mut c_char,
    err_out: *mut *mut regnet_error,
) -> regnet_status {
    let failure = match result {
        Ok(text) if !out.is_null() => match CString::new(text) {
            Ok(c) => {
                // SAFETY: non-NULL and writable, as promised; the string is freed by `regnet_string_free`.
                unsafe { out.write(c.into_raw()) };
                return REGNET_OK;
            }
            Err(_) => Failure::new(REGNET_PANIC, "internal error: the JSON output holds a NUL byte"),
        },
        Ok(_) => Failure::invalid("the output pointer is NULL"),
        Err(f) => f,
    };
    if !err_out.is_null() {
        let e = Box::new(regnet_error::from_failure(&failure));
        // SAFETY: non-NULL and writable, as promised; the object is freed by `regnet_error_free`.
        unsafe { err_out.write(Box::into_raw(e)) };
    }
    failure.status
}

/// The JSON text of a report or mapping (compact).
fn to_json<T: serde::Serialize>(v: &T) -> Result<String, Failure> {
    serde_json::to_string(v).map_err(|e| Failure::new(REGNET_PANIC, format!("internal error: serialising: {e}")))
}

/// The UTF-8 text of the NUL-terminated string at `p`, at most `max` bytes; NULL gives `None`.
/// Only bytes up to the first NUL (or `max + 1` bytes, when there is none) are read.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string, or to at least `max + 1` readable bytes.
unsafe fn optional_str<'a>(p: *const c_char, what: &str, max: usize) -> Result<Option<&'a str>, Failure> {
    if p.is_null() {
        return Ok(None);
    }
    let mut len = 0usize;
    loop {
        // SAFETY: every byte up to and including the NUL is readable; we stop at the NUL or after `max`.
        if unsafe { *p.add(len) } == 0 {
            break;
        }
        if len == max {
            return Err(Failure::new(
                REGNET_LIMIT_EXCEEDED,
                format!("{what} is longer than {max} bytes (or not NUL-terminated)"),
            ));
        }
        len += 1;
    }
    // SAFETY: the `len` bytes before the NUL were just read: they are readable and stay unchanged
    // during the call, as the caller promises.
    let b = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) };
    std::str::from_utf8(b).map(Some).map_err(|e| Failure::invalid(format!("{what} is not UTF-8: {e}")))
}

/// As [`optional_str`], NULL being an error.
///
/// # Safety
/// As [`optional_str`].
unsafe fn required_str<'a>(p: *const c_char, what: &str, max: usize) -> Result<&'a str, Failure> {
    // SAFETY: as promised by our caller.
    unsafe { optional_str(p, what, max) }?.ok_or_else(|| Failure::invalid(format!("{what} is NULL")))
}

/// The `len` bytes at `p`, which may not be NULL.
///
/// # Safety
/// A non-NULL `p` points to `len` readable bytes that stay unchanged during the call.
unsafe fn bytes<'a>(p: *const u8, len: usize, what: &str) -> Result<&'a [u8], Failure> {
    if p.is_null() {
        return Err(Failure::invalid(format!("{what} is NULL")));
    }
    // SAFETY: as promised by our caller.
    unsafe { bytes_or_empty(p, len, what) }
}

/// The `len` bytes at `p`; NULL is allowed with a length of 0.
///
/// # Safety
/// A non-NULL `p` points to `len` readable bytes that stay unchanged during the call.
unsafe fn bytes_or_empty<'a>(p: *const u8, len: usize, what: &str) -> Result<&'a [u8], Failure> {
    if p.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Failure::invalid(format!("{what} is NULL with a length of {len}")))
        };
    }
    if isize::try_from(len).is_err() {
        return Err(Failure::invalid(format!("{what}: a length of {len} bytes is impossible")));
    }
    // SAFETY: `p` is non-NULL, `len` fits an isize, and the caller promises `len` readable bytes
    // that stay unchanged during the call.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

#[cfg(test)]
mod tests;
