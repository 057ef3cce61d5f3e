//! Acceptance tests on real hives from ../shared/corpus (skipped with a
//! printed reason when the corpus is absent, e.g. in a fresh clone alone).

use regnet_hive::{Hive, HiveError, LogFile, LogStatus, OpenOptions};
use std::path::{Path, PathBuf};

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipped: {} is absent", p.display());
        None
    }
}

/// (path, last written, values as (name, type, data or error)) for every key.
type Tree = Vec<(String, u64, Vec<(String, u32, Result<Vec<u8>, String>)>)>;

fn snapshot(hive: &Hive<'_>) -> (Tree, Vec<String>) {
    let mut tree = Vec::new();
    let mut errors = Vec::new();
    let mut walk = hive.walk();
    while let Some(e) = walk.next_entry() {
        match e {
            Ok(e) => {
                let mut vals = Vec::new();
                for v in e.key.values() {
                    match v {
                        Ok(v) => vals.push((
                            v.name().to_string_lossy().into_owned(),
                            v.raw_type(),
                            v.data().map(|d| d.into_owned()).map_err(|e| e.to_string()),
                        )),
                        Err(err) => errors.push(format!("{}: {err}", e.path)),
                    }
                }
                tree.push((e.path.to_owned(), e.key.last_written().0, vals));
            }
            Err(err) => errors.push(err.to_string()),
        }
    }
    tree.sort_by(|a, b| a.0.cmp(&b.0));
    (tree, errors)
}

fn open_with_logs<'a>(dir: &Path, name: &str, primary: &'a [u8], logs: &'a [(String, Vec<u8>)]) -> Hive<'a> {
    let mut opts = OpenOptions::new();
    for (n, d) in logs {
        opts = opts.log(LogFile::new(n.clone(), d));
    }
    Hive::open_with(primary, &opts).unwrap_or_else(|e| panic!("{}/{name}: {e}", dir.display()))
}

fn read_logs(dir: &Path, name: &str) -> Vec<(String, Vec<u8>)> {
    ["LOG1", "LOG2"]
        .iter()
        .filter_map(|s| {
            let n = format!("{name}.{s}");
            std::fs::read(dir.join(&n)).ok().map(|d| (n, d))
        })
        .collect()
}

fn assert_same_tree(a: &Tree, b: &Tree, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: key counts differ");
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x, y, "{what}: first difference at {}", x.0);
    }
}

#[test]
fn new_format_logs_replay_to_what_windows_recovered() {
    let Some(c) = corpus() else { return };
    let dir = c.join("yarp/NewDirtyHive1");
    let primary = std::fs::read(dir.join("NewDirtyHive")).unwrap();
    let logs = read_logs(&dir, "NewDirtyHive");
    let hive = open_with_logs(&dir, "NewDirtyHive", &primary, &logs);
    let rec = hive.recovery();
    assert!(rec.dirty && rec.recovered);
    assert_eq!(rec.entries_applied(), 4, "{rec:#?}");
    assert!(rec.logs.iter().all(|l| l.status == LogStatus::Applied), "{rec:#?}");
    assert_eq!(hive.base_block().primary_sequence, 5);
    let windows_bytes = std::fs::read(dir.join("RecoveredHive_Windows10")).unwrap();
    let windows = Hive::open(&windows_bytes[..]).unwrap();
    let (ours, e1) = snapshot(&hive);
    let (theirs, e2) = snapshot(&windows);
    assert!(e1.is_empty() && e2.is_empty(), "{e1:?} {e2:?}");
    assert_same_tree(&ours, &theirs, "NewDirtyHive1");
    // Key3's default value: 2882 bytes, as yarp's tests expect.
    let key3 = hive.key("Key3").unwrap();
    assert_eq!(key3.value("").unwrap().unwrap().data().unwrap().len(), 2882);
    assert!(hive.key("Key1").is_err());
    // The hive bins are byte-identical to what Windows wrote.
    let n = hive.bins_len() as usize;
    assert_eq!(&hive.bytes()[4096..4096 + n], &windows_bytes[4096..4096 + n]);

    // Log order does not matter.
    let reversed: Vec<_> = logs.iter().rev().cloned().collect();
    let hive2 = open_with_logs(&dir, "NewDirtyHive", &primary, &reversed);
    assert_same_tree(&snapshot(&hive2).0, &theirs, "NewDirtyHive1, logs reversed");

    // NewDirtyHive2: only LOG2 applies, same result.
    let dir2 = c.join("yarp/NewDirtyHive2");
    let primary2 = std::fs::read(dir2.join("NewDirtyHive")).unwrap();
    let logs2 = read_logs(&dir2, "NewDirtyHive");
    let hive3 = open_with_logs(&dir2, "NewDirtyHive", &primary2, &logs2);
    let r = hive3.recovery();
    assert!(r.recovered);
    assert!(matches!(r.logs[0].status, LogStatus::Ignored { .. }), "{r:#?}");
    assert_eq!(r.logs[1].status, LogStatus::Applied);
    assert_same_tree(&snapshot(&hive3).0, &theirs, "NewDirtyHive2");
}

#[test]
fn old_format_log_replays_to_what_windows_recovered() {
    let Some(c) = corpus() else { return };
    let dir = c.join("yarp/OldDirtyHive");
    let primary = std::fs::read(dir.join("OldDirtyHive")).unwrap();
    let logs = read_logs(&dir, "OldDirtyHive");
    let hive = open_with_logs(&dir, "OldDirtyHive", &primary, &logs);
    assert!(hive.recovery().recovered);
    assert_eq!(hive.recovery().logs[0].status, LogStatus::Applied);
    let windows_bytes = std::fs::read(dir.join("RecoveredHive_Windows7")).unwrap();
    let windows = Hive::open(&windows_bytes[..]).unwrap();
    let (ours, _) = snapshot(&hive);
    let (theirs, _) = snapshot(&windows);
    assert_same_tree(&ours, &theirs, "OldDirtyHive");
    let k = hive.key("key_with_many_subkeys\\5000\\find_me_in_log").unwrap();
    assert_eq!(k.name_string(), "find_me_in_log");
    let v = hive.key("key_with_many_subkeys\\4500").unwrap().value("v").unwrap().unwrap();
    assert_eq!(v.multi_string().unwrap(), vec!["a", "bb", "ccc"]);
    // Without the log, the primary shows the old state.
    let stale = Hive::open(&primary[..]).unwrap();
    assert!(stale.key("key_with_many_subkeys\\5000\\find_me_in_log").is_err());
}

#[test]
fn bad_base_block_is_taken_from_the_log() {
    let Some(c) = corpus() else { return };
    let dir = c.join("yarp/BadBaseBlockHive");
    let primary = std::fs::read(dir.join("BadBaseBlockHive")).unwrap();
    assert!(matches!(Hive::open(&primary[..]), Err(HiveError::UnsupportedVersion { major: 1, minor: 1 })));
    let logs = read_logs(&dir, "BadBaseBlockHive");
    let hive = open_with_logs(&dir, "BadBaseBlockHive", &primary, &logs);
    assert!(hive.recovery().base_block_from_log);
    assert_eq!(hive.base_block().minor_version, 3);
    assert_eq!(snapshot(&hive).0.len(), 5003);
}

#[test]
fn invalid_logs_are_ignored_and_the_primary_stays_readable() {
    let Some(c) = corpus() else { return };
    for (case, keys) in [("BadLogHive1", 5003), ("BadLogHive2", 5003), ("BadLogHive3", 5)] {
        let dir = c.join("yarp").join(case);
        let primary = std::fs::read(dir.join("BadLogHive")).unwrap();
        let logs = read_logs(&dir, "BadLogHive");
        let hive = open_with_logs(&dir, case, &primary, &logs);
        let r = hive.recovery();
        assert!(r.dirty && !r.recovered, "{case}: {r:#?}");
        assert!(r.logs.iter().all(|l| matches!(l.status, LogStatus::Ignored { .. })), "{case}");
        assert!(hive.warnings().iter().any(|w| matches!(w, regnet_hive::Warning::DirtyNotRecovered)));
        assert_eq!(snapshot(&hive).0.len(), keys, "{case}");
    }
}

#[test]
fn system_b_lease_time_depends_on_replay() {
    let Some(c) = corpus() else { return };
    let dir = c.join("regipy");
    let primary = std::fs::read(dir.join("SYSTEM_B")).unwrap();
    let logs = read_logs(&dir, "SYSTEM_B");
    let path = "ControlSet001\\Services\\Tcpip\\Parameters\\Interfaces\\{4b0ae068-b350-4bd4-85ab-77e00e581863}";
    let hive = open_with_logs(&dir, "SYSTEM_B", &primary, &logs);
    let lease = |h: &Hive<'_>| h.key(path).unwrap().value("LeaseObtainedTime").unwrap().unwrap().u32().unwrap();
    assert_eq!(lease(&hive), 0x000c_abf4);
    assert_eq!(hive.key(path).unwrap().value("LeaseTerminatesTime").unwrap().unwrap().u32().unwrap(), 0x000c_ba04);
    let host = hive.key("ControlSet001\\Services\\Tcpip\\Parameters").unwrap().value("Hostname").unwrap().unwrap();
    assert_eq!(host.string().unwrap(), "DESKTOP-PM6C56D");
    let stale = Hive::open(&primary[..]).unwrap();
    assert!(stale.recovery().dirty && !stale.recovery().recovered);
    assert_eq!(lease(&stale), 0x000c_65a8);
}

#[test]
fn known_facts_of_regipy_system() {
    let Some(c) = corpus() else { return };
    let bytes = std::fs::read(c.join("regipy/SYSTEM")).unwrap();
    let hive = Hive::open(&bytes[..]).unwrap();
    assert!(!hive.recovery().dirty);
    assert_eq!(hive.key("Select").unwrap().value("Current").unwrap().unwrap().u32().unwrap(), 1);
    // Case-insensitive lookups, as Windows does them.
    let p = hive.key("controlset001\\SERVICES\\tcpip\\parameters").unwrap();
    assert_eq!(p.value("HOSTNAME").unwrap().unwrap().string().unwrap(), "WKS-WIN732BITA");
    let i = p.subpath("Interfaces\\{698e50a9-4f58-4d86-b61d-f42e58dcacf6}").unwrap();
    assert_eq!(i.value("IPAddress").unwrap().unwrap().multi_string().unwrap(), vec!["10.3.58.5"]);
    assert_eq!(i.value("NameServer").unwrap().unwrap().string().unwrap(), "10.3.58.4");
}

/// Every yarp and regipy file, as a primary with and without its logs: a
/// result or a typed error, never a panic. Each file is also walked fully.
#[test]
fn every_corpus_file_gives_a_result_or_an_error() {
    let Some(c) = corpus() else { return };
    let mut files = Vec::new();
    let mut stack = vec![c.join("yarp"), c.join("regipy"), c.join("nt-hive")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    let (mut ok, mut err) = (0, 0);
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let logs = f.parent().map(|d| read_logs(d, &f.file_name().unwrap().to_string_lossy())).unwrap_or_default();
        for with_logs in [false, true] {
            let mut opts = OpenOptions::new();
            if with_logs {
                for (n, d) in &logs {
                    opts = opts.log(LogFile::new(n.clone(), d));
                }
            }
            match Hive::open_with(&bytes[..], &opts) {
                Ok(h) => {
                    ok += 1;
                    let (tree, errors) = snapshot(&h);
                    if !with_logs {
                        eprintln!("{}: {} keys, {} errors", f.display(), tree.len(), errors.len());
                    }
                }
                Err(e) => {
                    err += 1;
                    if !with_logs {
                        eprintln!("{}: error: {e}", f.display());
                    }
                }
            }
        }
    }
    eprintln!("{} files: {ok} opened, {err} typed errors", files.len());
    assert!(ok > 0);
}

/// Replay into the caller's buffer gives the same hive as replay into a copy, and leaves the
/// buffer untouched when no log applies.
#[test]
fn in_place_replay_matches_and_touches_nothing_when_logs_fail() {
    let Some(c) = corpus() else { return };
    let dir = c.join("yarp/NewDirtyHive1");
    let primary = std::fs::read(dir.join("NewDirtyHive")).unwrap();
    let logs = read_logs(&dir, "NewDirtyHive");
    let copied = open_with_logs(&dir, "NewDirtyHive", &primary, &logs);
    let mut buf = primary.clone();
    let mut opts = OpenOptions::new();
    for (n, d) in &logs {
        opts = opts.log(LogFile::new(n.clone(), d));
    }
    let in_place = Hive::open_in_place(&mut buf[..], &opts).unwrap();
    assert!(in_place.recovery().recovered);
    assert_eq!(in_place.bytes(), copied.bytes());
    assert_eq!(snapshot(&in_place).0, snapshot(&copied).0);
    drop(in_place);
    assert_ne!(buf, primary, "the pages were written into the caller's buffer");

    let dir = c.join("yarp/BadLogHive1");
    let primary = std::fs::read(dir.join("BadLogHive")).unwrap();
    let logs = read_logs(&dir, "BadLogHive");
    let mut buf = primary.clone();
    let mut opts = OpenOptions::new();
    for (n, d) in &logs {
        opts = opts.log(LogFile::new(n.clone(), d));
    }
    let hive = Hive::open_in_place(&mut buf[..], &opts).unwrap();
    assert!(!hive.recovery().recovered);
    drop(hive);
    assert_eq!(buf, primary);
}
