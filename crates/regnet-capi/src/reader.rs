//! A `Read + Seek` stream over the caller's read-at callback.

use std::ffi::c_void;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex, PoisonError};

/// Reads `len` bytes of the caller's stream at `offset` into `buf`, storing how many it read in
/// `*out_read`. Returns 0 on success (a short read, `*out_read < len`, is allowed; 0 bytes means the
/// end of the stream) and any other value on error: that value is quoted in the error message.
/// Called only on the thread that called `regnet_extract_read_at`, and only before it returns.
#[allow(non_camel_case_types)]
pub type regnet_read_at_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, offset: u64, buf: *mut u8, len: usize, out_read: *mut usize) -> i32>;

type ReadAt = unsafe extern "C" fn(*mut c_void, u64, *mut u8, usize, *mut usize) -> i32;

/// What the callback did wrong, shared with the entry point that reads it after the call.
pub(crate) type CallbackFailure = Arc<Mutex<Option<String>>>;

/// Which thread this is, while it runs: the address of a thread-local byte. (`std::thread::current`
/// would allocate a handle for a thread Rust did not start, kept until the thread ends.)
fn thread_mark() -> usize {
    thread_local! { static MARK: u8 = const { 0 }; }
    MARK.with(|m| m as *const u8 as usize)
}

/// The caller's stream of `size` bytes.
pub(crate) struct CallbackReader {
    read_at: ReadAt,
    user: *mut c_void,
    size: u64,
    pos: u64,
    thread: usize,
    failure: CallbackFailure,
}

// SAFETY: the reader is moved into `regnet::extract_from_reader`, which reads on the thread that
// called it and drops the reader before returning (regnet starts no threads). `read` also checks
// that it runs on the thread that made the reader and refuses otherwise, so the caller's `user`
// pointer and callback are only ever used on the calling thread, as the ABI promises.
unsafe impl Send for CallbackReader {}

impl CallbackReader {
    pub(crate) fn new(read_at: ReadAt, user: *mut c_void, size: u64) -> (Self, CallbackFailure) {
        let failure: CallbackFailure = Arc::default();
        let reader = CallbackReader { read_at, user, size, pos: 0, thread: thread_mark(), failure: failure.clone() };
        (reader, failure)
    }

    /// Records the first thing the callback did wrong and returns it as an I/O error.
    fn fail(&self, message: String) -> io::Error {
        let mut slot = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(message.clone());
        }
        io::Error::other(message)
    }
}

impl Read for CallbackReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if thread_mark() != self.thread {
            return Err(io::Error::other("the read-at callback may only be called on the calling thread"));
        }
        if self.pos >= self.size || buf.is_empty() {
            return Ok(0);
        }
        // Never past the declared size: a callback's stream ends there.
        let want = usize::try_from(self.size - self.pos).map_or(buf.len(), |left| left.min(buf.len()));
        let mut done = 0usize;
        while done < want {
            let Some(chunk) = buf.get_mut(done..want) else { break };
            let offset = self.pos + done as u64;
            let len = chunk.len();
            let mut got: usize = 0;
            // SAFETY: `chunk` is an initialised, writable buffer of exactly `len` bytes that lives
            // across the call; `got` is a valid `usize` to write to; `user` is the caller's own
            // pointer, handed back as the ABI says. The callback is the caller's function of the
            // declared type, called on the calling thread (checked above).
            let rc = unsafe { (self.read_at)(self.user, offset, chunk.as_mut_ptr(), len, &mut got) };
            if rc != 0 {
                return Err(self.fail(format!(
                    "the read-at callback returned error code {rc} (reading {len} bytes at offset {offset})"
                )));
            }
            if got > len {
                return Err(self.fail(format!(
                    "the read-at callback claimed {got} bytes read into a buffer of {len} (at offset {offset})"
                )));
            }
            if got == 0 {
                if done > 0 {
                    break; // a short read: the next call reports the early end
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "the read-at callback read nothing at offset {offset}, before the end of the stream ({} bytes)",
                        self.size
                    ),
                ));
            }
            done += got;
        }
        self.pos += done as u64;
        Ok(done)
    }
}

impl Seek for CallbackReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let new = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let new =
            new.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start of the stream"))?;
        self.pos = new;
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream over a byte vector, `step` bytes per call at most; fails at offsets >= `fail_at`.
    struct Fake {
        data: Vec<u8>,
        step: usize,
        fail_at: u64,
        overclaim: bool,
    }

    unsafe extern "C" fn fake_read(user: *mut c_void, offset: u64, buf: *mut u8, len: usize, out: *mut usize) -> i32 {
        // SAFETY: the tests pass a `Fake` as `user` and the reader passes a valid buffer and out pointer.
        let (f, buf, out) = unsafe { (&*(user as *const Fake), std::slice::from_raw_parts_mut(buf, len), &mut *out) };
        if offset >= f.fail_at {
            return 5;
        }
        if f.overclaim {
            *out = len + 1;
            return 0;
        }
        let start = usize::try_from(offset).unwrap().min(f.data.len());
        let n = len.min(f.step).min(f.data.len() - start);
        buf[..n].copy_from_slice(&f.data[start..start + n]);
        *out = n;
        0
    }

    fn reader(f: &Fake, size: u64) -> (CallbackReader, CallbackFailure) {
        CallbackReader::new(fake_read, f as *const Fake as *mut c_void, size)
    }

    #[test]
    fn short_reads_are_looped_and_size_bounds_the_stream() {
        let f = Fake { data: (0..=255u8).collect(), step: 3, fail_at: u64::MAX, overclaim: false };
        let (mut r, failure) = reader(&f, 200);
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap();
        assert_eq!(all, (0..200u8).collect::<Vec<_>>());
        assert_eq!(r.seek(SeekFrom::End(-10)).unwrap(), 190);
        let mut b = [0u8; 4];
        r.read_exact(&mut b).unwrap();
        assert_eq!(b, [190, 191, 192, 193]);
        assert_eq!(r.seek(SeekFrom::Current(-4)).unwrap(), 190);
        assert!(r.seek(SeekFrom::Current(-191)).is_err());
        assert_eq!(r.seek(SeekFrom::Start(500)).unwrap(), 500);
        assert_eq!(r.read(&mut b).unwrap(), 0);
        assert!(failure.lock().unwrap().is_none());
    }

    #[test]
    fn a_stream_shorter_than_declared_is_an_early_end() {
        let f = Fake { data: vec![1; 10], step: 64, fail_at: u64::MAX, overclaim: false };
        let (mut r, failure) = reader(&f, 20);
        let mut b = [0u8; 20];
        let e = r.read_exact(&mut b).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert!(failure.lock().unwrap().is_none());
    }

    #[test]
    fn callback_errors_and_lies_are_recorded() {
        let f = Fake { data: vec![7; 100], step: 64, fail_at: 50, overclaim: false };
        let (mut r, failure) = reader(&f, 100);
        let mut b = [0u8; 100];
        let e = r.read_exact(&mut b).unwrap_err();
        assert!(e.to_string().contains("error code 5"), "{e}");
        assert!(failure.lock().unwrap().as_deref().unwrap().contains("offset 64"));

        let f = Fake { data: vec![7; 100], step: 64, fail_at: u64::MAX, overclaim: true };
        let (mut r, failure) = reader(&f, 100);
        let e = r.read(&mut b).unwrap_err();
        assert!(e.to_string().contains("claimed 101 bytes"), "{e}");
        assert!(failure.lock().unwrap().is_some());
    }

    #[test]
    fn another_thread_is_refused() {
        let f = Fake { data: vec![7; 100], step: 64, fail_at: u64::MAX, overclaim: false };
        let (mut r, _failure) = reader(&f, 100);
        let e = std::thread::scope(|s| s.spawn(move || r.read(&mut [0u8; 4]).unwrap_err()).join().unwrap());
        assert!(e.to_string().contains("calling thread"), "{e}");
    }
}
