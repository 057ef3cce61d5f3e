//! Status codes, the error object handed to C, and the panic boundary.

use std::borrow::Cow;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The status every fallible function returns: `REGNET_OK` (0) or one of the `REGNET_*` error codes.
/// The values are append-only: a later version may add codes, never renumber them, so a caller
/// should treat an unknown non-zero value as an error of an unknown kind.
#[allow(non_camel_case_types)]
pub type regnet_status = i32;

/// Success.
pub const REGNET_OK: regnet_status = 0;
/// A null pointer where one is not allowed, a string that is not UTF-8, options JSON that does not
/// parse, or an unknown option or limit name (the message names it).
pub const REGNET_INVALID_ARGUMENT: regnet_status = 1;
/// A file could not be read.
pub const REGNET_IO: regnet_status = 2;
/// A resource limit was reached (an input larger or deeper than allowed, or a JSON input over 64 MiB).
pub const REGNET_LIMIT_EXCEEDED: regnet_status = 3;
/// The hive is damaged or not a hive.
pub const REGNET_HIVE: regnet_status = 4;
/// The hive is a hive, but not a usable SYSTEM hive.
pub const REGNET_NOT_A_SYSTEM_HIVE: regnet_status = 5;
/// The disk image (container, partition table, volume manager, file system) is damaged or not an image.
pub const REGNET_IMAGE: regnet_status = 6;
/// No volume holds a guest system (Windows or Linux).
pub const REGNET_NO_GUEST: regnet_status = 7;
/// Several volumes or disks hold a guest: the options `partition`, `volume` or `disk` must pick one.
pub const REGNET_AMBIGUOUS: regnet_status = 8;
/// Something this version cannot read (a format, feature or layout).
pub const REGNET_UNSUPPORTED: regnet_status = 9;
/// The only candidate volumes are encrypted (BitLocker, LUKS).
pub const REGNET_ENCRYPTED: regnet_status = 10;
/// A VM configuration file (.vmx, .ovf/.ova, libvirt XML) is damaged or names what it may not.
pub const REGNET_VM_CONFIG: regnet_status = 11;
/// The mapping was refused (conflicting VMs, a table is needed, a cloud network the plan lacks), or
/// the plan, table or VM JSON given to `regnet_map` is not usable.
pub const REGNET_MAP: regnet_status = 12;
/// The caller's read-at callback reported an error (or returned more bytes than asked for); the
/// message gives its code and the offset.
pub const REGNET_CALLBACK: regnet_status = 13;
/// A Rust panic was caught at the boundary: a bug in regnet, please report it with the message.
pub const REGNET_PANIC: regnet_status = 14;
/// An error of a kind this version of the ABI has no code for; `regnet_error_kind` names it.
pub const REGNET_OTHER: regnet_status = 15;

/// Why a call failed, on the Rust side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) status: regnet_status,
    pub(crate) kind: Cow<'static, str>,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: regnet_status, message: impl Into<String>) -> Self {
        Failure { status, kind: Cow::Borrowed(kind_name(status)), message: message.into() }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Failure::new(REGNET_INVALID_ARGUMENT, message)
    }

    /// The failure of a caught panic: the payload's text when it is one.
    fn panic(payload: Box<dyn std::any::Any + Send>) -> Self {
        let what = if let Some(s) = payload.downcast_ref::<&'static str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "(no message)".to_string()
        };
        Failure::new(REGNET_PANIC, format!("internal error: regnet panicked (a bug, please report it): {what}"))
    }
}

impl From<regnet::Error> for Failure {
    fn from(e: regnet::Error) -> Self {
        use regnet::ErrorKind as K;
        let kind = e.kind();
        let status = match kind {
            K::Io => REGNET_IO,
            K::LimitExceeded => REGNET_LIMIT_EXCEEDED,
            K::Hive => REGNET_HIVE,
            K::NotASystemHive => REGNET_NOT_A_SYSTEM_HIVE,
            K::Image => REGNET_IMAGE,
            K::NoGuest => REGNET_NO_GUEST,
            K::Ambiguous => REGNET_AMBIGUOUS,
            K::Unsupported => REGNET_UNSUPPORTED,
            K::Encrypted => REGNET_ENCRYPTED,
            K::VmConfig => REGNET_VM_CONFIG,
            // A kind added to the facade after this ABI version: still told by its name.
            _ => REGNET_OTHER,
        };
        Failure { status, kind: Cow::Borrowed(kind.as_str()), message: e.to_string() }
    }
}

/// The stable lower-case name of a status (`"limit_exceeded"`); the facade's `ErrorKind::as_str`
/// names agree for the codes that come from it.
pub(crate) fn kind_name(status: regnet_status) -> &'static str {
    match status {
        REGNET_OK => "ok",
        REGNET_INVALID_ARGUMENT => "invalid_argument",
        REGNET_IO => "io",
        REGNET_LIMIT_EXCEEDED => "limit_exceeded",
        REGNET_HIVE => "hive",
        REGNET_NOT_A_SYSTEM_HIVE => "not_a_system_hive",
        REGNET_IMAGE => "image",
        REGNET_NO_GUEST => "no_guest",
        REGNET_AMBIGUOUS => "ambiguous",
        REGNET_UNSUPPORTED => "unsupported",
        REGNET_ENCRYPTED => "encrypted",
        REGNET_VM_CONFIG => "vm_config",
        REGNET_MAP => "map",
        REGNET_CALLBACK => "callback",
        REGNET_PANIC => "panic",
        _ => "other",
    }
}

/// An error returned by a failed call: its status code, its kind's name and a message for people.
/// Opaque: read it with `regnet_error_code`, `regnet_error_kind` and `regnet_error_message`, free it
/// with `regnet_error_free`. It belongs to the caller and is not tied to any thread.
#[allow(non_camel_case_types)]
pub struct regnet_error {
    code: regnet_status,
    kind: CString,
    message: CString,
}

/// A C string of `s`; a NUL inside (a name read from a damaged hive may hold one) is shown as `\0`.
pub(crate) fn c_string(s: &str) -> CString {
    let clean: Cow<'_, str> = if s.contains('\0') { Cow::Owned(s.replace('\0', "\\0")) } else { Cow::Borrowed(s) };
    // No NUL is left, so this cannot fail; an empty string stands in all the same.
    CString::new(clean.into_owned()).unwrap_or_default()
}

impl regnet_error {
    pub(crate) fn from_failure(f: &Failure) -> Self {
        regnet_error { code: f.status, kind: c_string(&f.kind), message: c_string(&f.message) }
    }

    pub(crate) fn code(&self) -> regnet_status {
        self.code
    }

    pub(crate) fn kind_ptr(&self) -> *const c_char {
        self.kind.as_ptr()
    }

    pub(crate) fn message_ptr(&self) -> *const c_char {
        self.message.as_ptr()
    }
}

/// Runs `f`, turning a panic inside it into a [`REGNET_PANIC`] failure: no unwinding crosses into C.
pub(crate) fn boundary<T>(f: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(Failure::panic(payload)),
    }
}
