//! A Python binary file-like object (`read`/`readinto` and `seek`) as a Rust `Read + Seek + Send`
//! stream, so that `regnet::extract_from_reader` can read an image from an open file, an
//! `io.BytesIO`, or a stream from pyewf or dissect's containers.
//!
//! Every call attaches to the interpreter for just that call (the extraction itself runs detached,
//! so other Python threads go on). Nothing the object returns is trusted: a length beyond what was
//! asked, a negative or non-integer length, or an object of the wrong type is an I/O error. The
//! first Python exception is kept (see [`Failure`]) to become the `__cause__` of the error raised
//! to the caller; every later call fails at once without calling into Python again.

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes};
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};

/// The first Python exception the stream raised, shared with the caller of the extraction.
pub type Failure = Arc<Mutex<Option<PyErr>>>;

/// The Python object as a stream.
pub struct PyStream {
    obj: Py<PyAny>,
    /// Use `readinto(bytearray)` rather than `read(n)`.
    readinto: bool,
    failure: Failure,
    /// A short description of the first failure, repeated by later calls.
    failed: Option<String>,
}

impl PyStream {
    /// Wraps `obj`; `readinto` is used when the object has it.
    pub fn new(obj: &Bound<'_, PyAny>, failure: Failure) -> PyResult<Self> {
        let readinto = obj.hasattr("readinto")?;
        if !obj.hasattr("seek")? || !(readinto || obj.hasattr("read")?) {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "expected a path or a binary file-like object with seek() and read() or readinto()",
            ));
        }
        Ok(PyStream { obj: obj.clone().unbind(), readinto, failure, failed: None })
    }

    /// An I/O error for a Python exception raised by the object's `method`: its type and message
    /// are in the text; the exception itself is kept as the cause.
    fn python_error(&mut self, py: Python<'_>, method: &str, err: PyErr) -> io::Error {
        let type_name = err.get_type(py).name().map(|n| n.to_string()).unwrap_or_else(|_| "exception".to_owned());
        let text = err.value(py).str().map(|s| s.to_string()).unwrap_or_default();
        let what = if text.is_empty() {
            format!("{method}() raised {type_name}")
        } else {
            format!("{method}() raised {type_name}: {text}")
        };
        if let Ok(mut slot) = self.failure.lock() {
            if slot.is_none() {
                *slot = Some(err);
            }
        }
        self.fail(what)
    }

    /// An I/O error for a misbehaving object (wrong type or length returned); later calls fail too.
    fn fail(&mut self, what: String) -> io::Error {
        self.failed = Some(what.clone());
        io::Error::other(what)
    }

    fn earlier(&self) -> Option<io::Error> {
        self.failed.as_ref().map(|w| io::Error::other(format!("the stream failed earlier: {w}")))
    }

    fn read_with_readinto(&mut self, py: Python<'_>, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len();
        let scratch = match PyByteArray::new_with(py, n, |_| Ok(())) {
            Ok(b) => b,
            Err(e) => return Err(self.python_error(py, "readinto", e)),
        };
        let got = match self.obj.bind(py).call_method1("readinto", (&scratch,)) {
            Ok(v) => v,
            Err(e) => return Err(self.python_error(py, "readinto", e)),
        };
        if got.is_none() {
            return Err(self.fail("readinto() returned None (a non-blocking stream with no data ready?)".into()));
        }
        let k: i64 = match got.extract() {
            Ok(k) => k,
            Err(_) => {
                let t = type_name(&got);
                return Err(self.fail(format!("readinto() returned {t}, not a byte count")));
            }
        };
        let data = scratch.to_vec();
        let k = match usize::try_from(k) {
            Ok(k) if k <= n && k <= data.len() => k,
            _ => return Err(self.fail(format!("readinto() returned {k}, but {n} bytes were asked"))),
        };
        buf.get_mut(..k)
            .zip(data.get(..k))
            .map(|(dst, src)| dst.copy_from_slice(src))
            .ok_or_else(|| io::Error::other("readinto(): length out of range"))?;
        Ok(k)
    }

    fn read_with_read(&mut self, py: Python<'_>, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len();
        let got = match self.obj.bind(py).call_method1("read", (n,)) {
            Ok(v) => v,
            Err(e) => return Err(self.python_error(py, "read", e)),
        };
        if got.is_none() {
            return Err(self.fail("read() returned None (a non-blocking stream with no data ready?)".into()));
        }
        let copied = if let Ok(b) = got.cast::<PyBytes>() {
            copy_in(b.as_bytes(), buf)
        } else if let Ok(b) = got.cast::<PyByteArray>() {
            copy_in(&b.to_vec(), buf)
        } else {
            let t = type_name(&got);
            return Err(self.fail(format!("read() returned {t}, not bytes (is the file open in binary mode?)")));
        };
        copied.ok_or_else(|| {
            let k = got.len().unwrap_or(0);
            self.fail(format!("read() returned {k} bytes, but {n} were asked"))
        })
    }
}

/// Copies `src` to the start of `dst`; `None` when it does not fit.
fn copy_in(src: &[u8], dst: &mut [u8]) -> Option<usize> {
    dst.get_mut(..src.len())?.copy_from_slice(src);
    Some(src.len())
}

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "an object".to_owned())
}

impl Read for PyStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.earlier() {
            return Err(e);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        Python::attach(|py| if self.readinto { self.read_with_readinto(py, buf) } else { self.read_with_read(py, buf) })
    }
}

impl Seek for PyStream {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        if let Some(e) = self.earlier() {
            return Err(e);
        }
        let (offset, whence): (i128, u8) = match pos {
            SeekFrom::Start(o) => (i128::from(o), 0),
            SeekFrom::Current(o) => (i128::from(o), 1),
            SeekFrom::End(o) => (i128::from(o), 2),
        };
        Python::attach(|py| {
            let obj = self.obj.bind(py);
            let got = match obj.call_method1("seek", (offset, whence)) {
                Ok(v) => v,
                Err(e) => return Err(self.python_error(py, "seek", e)),
            };
            // `seek` returns the new position; some file-likes return None, then `tell` says it.
            let got = if got.is_none() {
                match obj.call_method0("tell") {
                    Ok(v) => v,
                    Err(e) => return Err(self.python_error(py, "tell", e)),
                }
            } else {
                got
            };
            match got.extract::<u64>() {
                Ok(p) => Ok(p),
                Err(_) => {
                    let shown = got.repr().map(|r| r.to_string()).unwrap_or_else(|_| type_name(&got));
                    Err(self.fail(format!("seek() returned {shown}, not a position")))
                }
            }
        })
    }
}

/// Whether the stream's first Python exception should be raised as it is rather than wrapped in a
/// regnet error: `KeyboardInterrupt`, `SystemExit` and other exceptions that are not `Exception`s.
pub fn must_propagate(py: Python<'_>, err: &PyErr) -> bool {
    !err.is_instance_of::<PyException>(py)
}
