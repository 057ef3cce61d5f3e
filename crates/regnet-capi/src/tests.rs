//! The extern functions called from Rust, on the bundled example.

use super::*;
use std::ffi::CStr;
use std::path::PathBuf;

fn example(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example")).join(name)
}

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// What a call returned: the JSON on success, else (status, kind, message).
type Outcome = Result<serde_json::Value, (regnet_status, String, String)>;

/// Takes the string or error a call left, checks the out-pointer rules and frees what it got.
unsafe fn outcome(status: regnet_status, out: *mut c_char, err: *mut regnet_error) -> Outcome {
    if status == REGNET_OK {
        assert!(err.is_null(), "an error object on success");
        assert!(!out.is_null());
        let text = unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_owned();
        unsafe { regnet_string_free(out) };
        Ok(serde_json::from_str(&text).unwrap())
    } else {
        assert!(out.is_null(), "a result on failure");
        assert!(!err.is_null());
        assert_eq!(unsafe { regnet_error_code(err) }, status);
        let kind = unsafe { CStr::from_ptr(regnet_error_kind(err)) }.to_str().unwrap().to_owned();
        let msg = unsafe { CStr::from_ptr(regnet_error_message(err)) }.to_str().unwrap().to_owned();
        unsafe { regnet_error_free(err) };
        Err((status, kind, msg))
    }
}

fn extract_path(path: &str, opts: Option<&str>) -> Outcome {
    let (p, o) = (cstr(path), opts.map(cstr));
    let (mut out, mut err) = (ptr::null_mut(), ptr::null_mut());
    unsafe {
        let st = regnet_extract_path(p.as_ptr(), o.as_ref().map_or(ptr::null(), |o| o.as_ptr()), &mut out, &mut err);
        outcome(st, out, err)
    }
}

/// The stream the callback reads, `step` bytes a call at most; the calls after the first `fail_after` fail.
struct Stream {
    data: Vec<u8>,
    step: usize,
    fail_after: usize,
    calls: std::cell::Cell<usize>,
}

impl Stream {
    fn new(data: Vec<u8>, step: usize, fail_after: usize) -> Self {
        Stream { data, step, fail_after, calls: std::cell::Cell::new(0) }
    }
}

unsafe extern "C" fn stream_read(user: *mut c_void, offset: u64, buf: *mut u8, len: usize, out: *mut usize) -> i32 {
    let s = unsafe { &*(user as *const Stream) };
    s.calls.set(s.calls.get() + 1);
    if s.calls.get() > s.fail_after {
        return 42;
    }
    let start = (offset as usize).min(s.data.len());
    let n = len.min(s.step).min(s.data.len() - start);
    unsafe {
        std::ptr::copy_nonoverlapping(s.data.as_ptr().add(start), buf, n);
        *out = n;
    }
    0
}

fn extract_stream(s: &Stream, name: Option<&str>, opts: Option<&str>) -> Outcome {
    let (n, o) = (name.map(cstr), opts.map(cstr));
    let (mut out, mut err) = (ptr::null_mut(), ptr::null_mut());
    unsafe {
        let st = regnet_extract_read_at(
            Some(stream_read),
            s as *const Stream as *mut c_void,
            s.data.len() as u64,
            n.as_ref().map_or(ptr::null(), |n| n.as_ptr()),
            o.as_ref().map_or(ptr::null(), |o| o.as_ptr()),
            &mut out,
            &mut err,
        );
        outcome(st, out, err)
    }
}

#[test]
fn versions() {
    let v = unsafe { CStr::from_ptr(regnet_version()) }.to_str().unwrap();
    assert_eq!(v, env!("CARGO_PKG_VERSION"));
    assert_eq!(regnet_abi_version(), 1);
}

#[test]
fn extract_path_gives_the_facade_report() {
    let path = example("disk.qcow2");
    let got = extract_path(path.to_str().unwrap(), None).unwrap();
    let want = serde_json::to_value(regnet::extract(&path, &Default::default()).unwrap()).unwrap();
    assert_eq!(got, want);
    assert_eq!(got["hostname"], "APP-SRV-07");
    assert_eq!(got["schema_version"], 1);

    let no_logs = extract_path(path.to_str().unwrap(), Some(r#"{"logs": false, "container": "qcow2"}"#)).unwrap();
    assert!(no_logs["warnings"].as_array().unwrap().iter().any(|w| w["code"] == "dirty_not_recovered"));
}

#[test]
fn extract_path_errors() {
    let (st, kind, msg) = extract_path("/nonexistent/disk.qcow2", None).unwrap_err();
    assert_eq!((st, kind.as_str()), (REGNET_IO, "io"));
    assert!(msg.contains("/nonexistent/disk.qcow2"), "{msg}");

    let disk = example("disk.qcow2");
    let disk = disk.to_str().unwrap();
    let (st, _, msg) = extract_path(disk, Some(r#"{"partiton": 1}"#)).unwrap_err();
    assert_eq!(st, REGNET_INVALID_ARGUMENT);
    assert!(msg.contains("partiton"), "{msg}");
    let (st, _, msg) = extract_path(disk, Some(r#"{"limits": {"max_bogus": 1}}"#)).unwrap_err();
    assert_eq!(st, REGNET_INVALID_ARGUMENT);
    assert!(msg.contains("max_bogus"), "{msg}");
    let (st, kind, msg) = extract_path(disk, Some(r#"{"limits": {"max_bytes_read": 4096}}"#)).unwrap_err();
    assert_eq!((st, kind.as_str()), (REGNET_LIMIT_EXCEEDED, "limit_exceeded"), "{msg}");
    let (st, kind, _) = extract_path(example("plan.json").to_str().unwrap(), None).unwrap_err();
    assert_eq!((st, kind.as_str()), (REGNET_IMAGE, "image"));

    // NULL arguments: no crash, a status, and no error object when err_out is NULL.
    let mut out = ptr::null_mut();
    let mut err = ptr::null_mut();
    unsafe {
        let st = regnet_extract_path(ptr::null(), ptr::null(), &mut out, &mut err);
        assert_eq!(outcome(st, out, err).unwrap_err().0, REGNET_INVALID_ARGUMENT);
        let p = cstr(disk);
        assert_eq!(
            regnet_extract_path(p.as_ptr(), ptr::null(), ptr::null_mut(), ptr::null_mut()),
            REGNET_INVALID_ARGUMENT
        );
        assert_eq!(regnet_extract_path(ptr::null(), ptr::null(), &mut out, ptr::null_mut()), REGNET_INVALID_ARGUMENT);
        assert!(out.is_null());
        // Not UTF-8.
        let bad = CString::new(vec![b'/', 0xff, b'x']).unwrap();
        let st = regnet_extract_path(bad.as_ptr(), ptr::null(), &mut out, &mut err);
        let (_, _, msg) = outcome(st, out, err).unwrap_err();
        assert!(msg.contains("UTF-8"), "{msg}");
        assert_eq!(regnet_error_code(ptr::null()), REGNET_INVALID_ARGUMENT);
        assert!(regnet_error_message(ptr::null()).is_null() && regnet_error_kind(ptr::null()).is_null());
        regnet_error_free(ptr::null_mut());
        regnet_string_free(ptr::null_mut());
    }
}

#[test]
fn read_at_with_short_reads_equals_the_path_report() {
    let path = example("disk.qcow2");
    let by_path = extract_path(path.to_str().unwrap(), None).unwrap();
    for step in [1usize, 7, 4096, usize::MAX] {
        let s = Stream::new(std::fs::read(&path).unwrap(), step, usize::MAX);
        let mut got = extract_stream(&s, Some("stream-name"), None).unwrap();
        assert_eq!(got["source"]["image"], "stream-name");
        // A stream is read as the file is: the same report, byte counts included, but its name.
        got["source"]["image"] = by_path["source"]["image"].clone();
        assert_eq!(got, by_path, "step {step}");
    }
    let s = Stream::new(std::fs::read(&path).unwrap(), 4096, usize::MAX);
    assert_eq!(extract_stream(&s, None, None).unwrap()["source"]["image"], "stream");
}

#[test]
fn read_at_failures() {
    let data = std::fs::read(example("disk.qcow2")).unwrap();
    let s = Stream::new(data, 4096, 5);
    let (st, kind, msg) = extract_stream(&s, None, None).unwrap_err();
    assert_eq!((st, kind.as_str()), (REGNET_CALLBACK, "callback"), "{msg}");
    assert!(msg.contains("error code 42"), "{msg}");

    let s = Stream::new(b"short and not an image".to_vec(), 3, usize::MAX);
    let (st, _, _) = extract_stream(&s, None, None).unwrap_err();
    assert_ne!(st, REGNET_CALLBACK);

    let (mut out, mut err) = (ptr::null_mut(), ptr::null_mut());
    unsafe {
        let st = regnet_extract_read_at(None, ptr::null_mut(), 0, ptr::null(), ptr::null(), &mut out, &mut err);
        assert_eq!(outcome(st, out, err).unwrap_err().0, REGNET_INVALID_ARGUMENT);
    }
}

#[test]
fn hive_bytes_with_logs() {
    let primary = std::fs::read(example("SYSTEM")).unwrap();
    let log1 = std::fs::read(example("SYSTEM.LOG1")).unwrap();
    let log2 = std::fs::read(example("SYSTEM.LOG2")).unwrap();
    let logs = [log1.as_ptr(), log2.as_ptr()];
    let lens = [log1.len(), log2.len()];
    let call = |n: usize, opts: Option<&str>| {
        let o = opts.map(cstr);
        let (mut out, mut err) = (ptr::null_mut(), ptr::null_mut());
        unsafe {
            let st = regnet_report_from_hive(
                primary.as_ptr(),
                primary.len(),
                if n == 0 { ptr::null() } else { logs.as_ptr() },
                if n == 0 { ptr::null() } else { lens.as_ptr() },
                n,
                o.as_ref().map_or(ptr::null(), |o| o.as_ptr()),
                &mut out,
                &mut err,
            );
            outcome(st, out, err)
        }
    };
    let got = call(2, None).unwrap();
    let want = serde_json::to_value(regnet::report_from_hive_file(example("SYSTEM"), &Default::default()).unwrap());
    assert_eq!(got, want.unwrap());
    assert_eq!(got["hive"]["logs_applied"], serde_json::json!(["SYSTEM.LOG1", "SYSTEM.LOG2"]));
    let stale = call(0, None).unwrap();
    assert_eq!(stale["adapters"][0]["ipv4"].as_array().unwrap().len(), 1);
    assert_eq!(call(2, Some(r#"{"logs": false}"#)).unwrap(), stale);
    let (st, _, msg) = call(2, Some(r#"{"limits": {"max_hive_size": 4096}}"#)).unwrap_err();
    assert_eq!(st, REGNET_LIMIT_EXCEEDED, "{msg}");

    let (mut out, mut err) = (ptr::null_mut(), ptr::null_mut());
    unsafe {
        let st =
            regnet_report_from_hive(b"regf".as_ptr(), 4, ptr::null(), ptr::null(), 0, ptr::null(), &mut out, &mut err);
        assert_eq!(outcome(st, out, err).unwrap_err().0, REGNET_HIVE);
        let st = regnet_report_from_hive(
            primary.as_ptr(),
            primary.len(),
            ptr::null(),
            ptr::null(),
            1,
            ptr::null(),
            &mut out,
            &mut err,
        );
        assert_eq!(outcome(st, out, err).unwrap_err().0, REGNET_INVALID_ARGUMENT);
        let st = regnet_report_from_hive(ptr::null(), 0, ptr::null(), ptr::null(), 0, ptr::null(), &mut out, &mut err);
        assert_eq!(outcome(st, out, err).unwrap_err().0, REGNET_INVALID_ARGUMENT);
    }
}

fn map(vms: &str, plan: &str, table: Option<&str>, opts: Option<&str>) -> Outcome {
    let (v, p, t, o) = (cstr(vms), cstr(plan), table.map(cstr), opts.map(cstr));
    let (mut out, mut err) = (ptr::null_mut(), ptr::null_mut());
    unsafe {
        let st = regnet_map(
            v.as_ptr(),
            p.as_ptr(),
            t.as_ref().map_or(ptr::null(), |t| t.as_ptr()),
            o.as_ref().map_or(ptr::null(), |o| o.as_ptr()),
            &mut out,
            &mut err,
        );
        outcome(st, out, err)
    }
}

#[test]
fn mapping() {
    let report = extract_path(example("disk.qcow2").to_str().unwrap(), None).unwrap();
    let plan = std::fs::read_to_string(example("plan.json")).unwrap();
    let vms = serde_json::json!([{"image": "disk.qcow2", "report": report}]).to_string();
    let got = map(&vms, &plan, None, Some(r#"{"include_absent": false}"#)).unwrap();
    let inputs = [regnet_map::VmInput::from_value(report).unwrap()];
    let want = regnet_map::map_with(&inputs, &regnet_map::Plan::parse(&plan).unwrap(), None, &Default::default());
    assert_eq!(got, serde_json::to_value(want.unwrap()).unwrap());

    let (st, kind, msg) = map(&vms, r#"{"networks": [{"name": "only-one"}]}"#, None, None).unwrap_err();
    assert_eq!((st, kind.as_str()), (REGNET_MAP, "map"), "{msg}");
    assert_eq!(map("{}", &plan, None, None).unwrap_err().0, REGNET_MAP);
    let (st, _, msg) = map(r#"[{"hello": 1}]"#, &plan, None, None).unwrap_err();
    assert!(st == REGNET_MAP && msg.starts_with("vms_json[0]"), "{msg}");
    assert_eq!(map(&vms, "networks = 3", None, None).unwrap_err().0, REGNET_MAP);
    assert_eq!(map(&vms, &plan, Some("{"), None).unwrap_err().0, REGNET_MAP);
    assert_eq!(map(&vms, &plan, None, Some(r#"{"absent": true}"#)).unwrap_err().0, REGNET_INVALID_ARGUMENT);
}

#[test]
fn the_boundary_catches_panics() {
    let f = boundary::<()>(|| panic!("deliberate test panic")).unwrap_err();
    assert_eq!((f.status, f.kind.as_ref()), (REGNET_PANIC, "panic"));
    assert!(f.message.contains("deliberate test panic"), "{}", f.message);
    let f = boundary::<()>(|| std::panic::panic_any(7u8)).unwrap_err();
    assert_eq!(f.status, REGNET_PANIC);
    // And through `deliver`, as an entry point does.
    let (mut out, mut err) = (ptr::null_mut(), ptr::null_mut());
    let r = boundary::<String>(|| {
        let v: Vec<u8> = Vec::new();
        #[allow(clippy::indexing_slicing)]
        let _ = v[usize::from(v.is_empty())];
        Ok(String::new())
    });
    let (st, kind, msg) = unsafe { outcome(deliver(r, &mut out, &mut err), out, err) }.unwrap_err();
    assert_eq!((st, kind.as_str()), (REGNET_PANIC, "panic"));
    assert!(msg.contains("index out of bounds"), "{msg}");
}

#[test]
fn strings_are_bounded_and_checked() {
    let s = cstr("abcdef");
    unsafe {
        assert_eq!(optional_str(s.as_ptr(), "x", 6).unwrap(), Some("abcdef"));
        let e = optional_str(s.as_ptr(), "x", 5).unwrap_err();
        assert_eq!(e.status, REGNET_LIMIT_EXCEEDED);
        assert!(e.message.contains("longer than 5 bytes"));
        assert_eq!(optional_str(ptr::null(), "x", 5).unwrap(), None);
        assert_eq!(required_str(ptr::null(), "x", 5).unwrap_err().status, REGNET_INVALID_ARGUMENT);
    }
    // A JSON input over the cap, through an entry point.
    let big = cstr(&" ".repeat(REGNET_MAX_JSON_BYTES + 1));
    let plan = cstr("{}");
    let (mut out, mut err) = (ptr::null_mut(), ptr::null_mut());
    let st = unsafe { regnet_map(big.as_ptr(), plan.as_ptr(), ptr::null(), ptr::null(), &mut out, &mut err) };
    assert_eq!(unsafe { outcome(st, out, err) }.unwrap_err().0, REGNET_LIMIT_EXCEEDED);
}

#[test]
fn error_messages_keep_their_text_when_it_holds_a_nul() {
    let f = Failure::new(REGNET_HIVE, "name\0with nul");
    let e = regnet_error::from_failure(&f);
    let msg = unsafe { CStr::from_ptr(e.message_ptr()) };
    assert_eq!(msg.to_str().unwrap(), "name\\0with nul");
    assert_eq!(unsafe { CStr::from_ptr(e.kind_ptr()) }.to_str().unwrap(), "hive");
}

#[test]
fn threads_at_once() {
    let path = example("disk.qcow2");
    let want = extract_path(path.to_str().unwrap(), None).unwrap();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| extract_path(path.to_str().unwrap(), None).unwrap())).collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), want);
        }
    });
}
