//! `regnet extract --from FILE`: image paths from a manifest (or standard input), JSON lines out.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn regnet(args: &[&str]) -> Output {
    regnet_with_stdin(args, None)
}

fn regnet_with_stdin(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_regnet"))
        .args(args)
        .current_dir(root())
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs regnet");
    if let Some(bytes) = stdin {
        // A writer thread: regnet may answer (and close) before reading it all.
        let mut pipe = child.stdin.take().unwrap();
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }
    child.wait_with_output().expect("regnet ends")
}

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

const GOOD: [&str; 3] =
    ["testdata/example/disk.qcow2", "testdata/example/app-srv-07.vmx", "testdata/example/disk.qcow2"];

/// A manifest listing GOOD with the things a hand-written one has: a comment, blank lines,
/// indentation, trailing blanks, a CRLF line end, no final newline.
fn messy_manifest() -> String {
    format!("# images of shard 0\n\n  {}  \n{}\r\n\n\t# an indented comment\n{}", GOOD[0], GOOD[1], GOOD[2])
}

#[test]
fn a_manifest_gives_what_the_same_paths_as_arguments_give() {
    let whole = regnet(&["extract", GOOD[0], GOOD[1], GOOD[2]]);
    assert!(whole.status.success(), "{}", text(&whole).1);
    let lines: Vec<serde_json::Value> = text(&whole).0.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["image"], GOOD[1]);
    assert_eq!(lines[1]["report"]["vm"]["name"], "app-srv-07");

    let d = scratch("from-file");
    let manifest = d.join("list.txt");
    std::fs::write(&manifest, messy_manifest()).unwrap();
    let from_file = regnet(&["extract", "--from", manifest.to_str().unwrap()]);
    assert!(from_file.status.success(), "{}", text(&from_file).1);
    assert_eq!(text(&from_file).0, text(&whole).0, "--from FILE");

    let from_stdin = regnet_with_stdin(&["extract", "--from", "-"], Some(messy_manifest().as_bytes()));
    assert!(from_stdin.status.success(), "{}", text(&from_stdin).1);
    assert_eq!(text(&from_stdin).0, text(&whole).0, "--from -");

    // Arguments come first, then the manifest's paths.
    let both =
        regnet_with_stdin(&["extract", GOOD[0], "--from", "-"], Some(format!("{}\n{}\n", GOOD[1], GOOD[2]).as_bytes()));
    assert!(both.status.success(), "{}", text(&both).1);
    assert_eq!(text(&both).0, text(&whole).0, "IMAGE --from -");
}

#[test]
fn a_manifest_of_one_image_still_gives_a_json_line() {
    let out = regnet_with_stdin(&["extract", "--from", "-"], Some(b"testdata/example/disk.qcow2\n"));
    assert!(out.status.success(), "{}", text(&out).1);
    let (stdout, _) = text(&out);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim_end()).unwrap();
    assert_eq!(v["image"], "testdata/example/disk.qcow2");
    assert_eq!(v["report"]["hostname"], "APP-SRV-07");
    // The table format works too, one heading per image.
    let out =
        regnet_with_stdin(&["extract", "--from", "-", "--format", "table"], Some(b"testdata/example/disk.qcow2\n"));
    assert!(out.status.success());
    assert!(text(&out).0.starts_with("== testdata/example/disk.qcow2\n"), "{}", text(&out).0);
}

#[test]
fn a_failing_image_among_good_ones_is_an_error_line_and_exit_1() {
    let list = "testdata/example/disk.qcow2\nCargo.toml\nno/such/image.vmdk\ntestdata/example/app-srv-07.vmx\n";
    let out = regnet_with_stdin(&["extract", "--from", "-"], Some(list.as_bytes()));
    assert_eq!(out.status.code(), Some(1));
    let (stdout, stderr) = text(&out);
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let images: Vec<&str> = lines.iter().map(|l| l["image"].as_str().unwrap()).collect();
    assert_eq!(images, list.lines().collect::<Vec<_>>(), "order kept");
    assert_eq!(lines[0]["report"]["hostname"], "APP-SRV-07");
    assert!(lines[1]["error"].as_str().is_some() && lines[1].get("report").is_none());
    assert!(lines[2]["error"].as_str().is_some());
    assert_eq!(lines[3]["report"]["vm"]["name"], "app-srv-07");
    assert!(stderr.contains("regnet: Cargo.toml:") && stderr.contains("regnet: no/such/image.vmdk:"), "{stderr}");
}

#[test]
fn empty_missing_oversized_and_bad_manifests_are_one_line_errors() {
    let d = scratch("from-bad");
    let one_line_error = |out: &Output, needle: &str| {
        assert_eq!(out.status.code(), Some(1), "{needle}");
        let (stdout, stderr) = text(out);
        assert!(stdout.is_empty(), "{stdout}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("regnet: manifest ") && stderr.contains(needle), "{stderr}");
    };
    let empty = d.join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    one_line_error(&regnet(&["extract", "--from", empty.to_str().unwrap()]), "no image paths");
    let comments = d.join("comments.txt");
    std::fs::write(&comments, "# nothing yet\n\n   \n").unwrap();
    one_line_error(&regnet(&["extract", "--from", comments.to_str().unwrap()]), "no image paths");
    one_line_error(
        &regnet_with_stdin(&["extract", "--from", "-"], Some(b"")),
        "manifest standard input: no image paths",
    );
    // With images as arguments, an empty manifest is still an error (a shard past the list's end).
    one_line_error(&regnet(&["extract", "testdata/example/disk.qcow2", "--from", empty.to_str().unwrap()]), "no image");
    one_line_error(&regnet(&["extract", "--from", d.join("absent.txt").to_str().unwrap()]), "absent.txt");
    // Bigger than 64 MiB (sparse: zero bytes), and a line longer than 32 KiB.
    let big = d.join("big.txt");
    std::fs::File::create(&big).unwrap().set_len((64 << 20) + 1).unwrap();
    one_line_error(&regnet(&["extract", "--from", big.to_str().unwrap()]), "larger than 64 MiB");
    let long = format!("testdata/example/disk.qcow2\n{}\n", "a/".repeat(20_000));
    one_line_error(
        &regnet_with_stdin(&["extract", "--from", "-"], Some(long.as_bytes())),
        "line 2 is longer than 32768 bytes",
    );
    // A 64 MiB stream on standard input is cut at the cap, not read to its end.
    let flood = vec![b'#'; (64 << 20) + 4096];
    one_line_error(&regnet_with_stdin(&["extract", "--from", "-"], Some(&flood)), "larger than 64 MiB");
    // --from makes JSON lines; --machine makes one report: they do not go together.
    let out = regnet(&["extract", "--machine", "--from", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out).1);
    assert!(text(&out).1.contains("cannot be used with"), "{}", text(&out).1);
}

#[cfg(unix)]
#[test]
fn a_path_that_is_not_utf8_is_read_as_bytes() {
    use std::os::unix::ffi::OsStrExt;
    let d = scratch("from-bytes");
    let name = std::ffi::OsStr::from_bytes(b"disk-\xff\xfe.qcow2");
    let image = d.join(name);
    std::fs::copy(root().join("testdata/example/disk.qcow2"), &image).unwrap();
    let mut list = image.as_os_str().as_bytes().to_vec();
    list.push(b'\n');
    let out = regnet_with_stdin(&["extract", "--from", "-"], Some(&list));
    assert!(out.status.success(), "{}", text(&out).1);
    let v: serde_json::Value = serde_json::from_str(text(&out).0.trim_end()).unwrap();
    assert_eq!(v["report"]["hostname"], "APP-SRV-07");
    assert!(v["image"].as_str().unwrap().ends_with("disk-\u{fffd}\u{fffd}.qcow2"), "{}", v["image"]);
}

/// Shards of a list, each a `--from` manifest, give together what the whole list gives; and a long
/// list streams in order through a few workers.
#[test]
fn shards_add_up_to_the_whole_list_in_order() {
    let d = scratch("from-shards");
    let mut list = String::new();
    for i in 0..40 {
        // Good and bad entries interleaved, so the workers finish out of order.
        list.push_str(match i % 4 {
            0 => "testdata/example/disk.qcow2\n",
            1 => "testdata/example/app-srv-07.vmx\n",
            2 => "Cargo.toml\n",
            _ => "testdata/example/SYSTEM\n",
        });
    }
    std::fs::write(d.join("list"), &list).unwrap();
    let whole = regnet(&["extract", "--jobs", "2", "--from", d.join("list").to_str().unwrap()]);
    assert_eq!(whole.status.code(), Some(1));
    let whole_lines: Vec<&str> = whole
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| std::str::from_utf8(l).unwrap())
        .collect();
    assert_eq!(whole_lines.len(), 40);
    for (line, path) in whole_lines.iter().zip(list.lines()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["image"], path);
    }
    // Shard i of 4 takes lines 10i+1..10i+10, as `sed -n "$((i*10+1)),$((i*10+10))p" list` would.
    let mut joined = Vec::new();
    for i in 0..4 {
        let shard: String = list.lines().skip(i * 10).take(10).map(|l| format!("{l}\n")).collect();
        let out = regnet_with_stdin(&["extract", "--jobs", "1", "--from", "-"], Some(shard.as_bytes()));
        assert_eq!(out.status.code(), Some(1));
        joined.extend_from_slice(&out.stdout);
    }
    assert_eq!(String::from_utf8(joined).unwrap(), String::from_utf8(whole.stdout).unwrap());
}
