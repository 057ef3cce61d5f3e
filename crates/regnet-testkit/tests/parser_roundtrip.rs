//! The parser (regnet-hive) against the test writer: random trees read back exactly, dirty
//! hives replay to the intended state, and the bundled example is what the generator makes.

use proptest::prelude::*;
use regnet_hive::{Hive, Key, LogFile, LogStatus, OpenOptions};
use regnet_testkit::strategies::{canonical, key_strategy, options_strategy};
use regnet_testkit::{new_format_logs, old_format_log, write_hive, KeySpec, LogSplit, Name, ValueSpec, WriterOptions};

/// Rebuilds a writer tree from what regnet-hive reads, without recursion.
fn read_tree(hive: &Hive<'_>) -> KeySpec {
    fn spec(key: &Key<'_>) -> KeySpec {
        let name = match key.name() {
            regnet_hive::Name::Latin1(b) => Name::Latin1(b.to_vec()),
            regnet_hive::Name::Utf16(b) => {
                Name::Utf16(b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect())
            }
        };
        let values = key
            .values()
            .map(|v| {
                let v = v.expect("value");
                let name = match v.name() {
                    regnet_hive::Name::Latin1(b) => Name::Latin1(b.to_vec()),
                    regnet_hive::Name::Utf16(b) => {
                        Name::Utf16(b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect())
                    }
                };
                // An empty name is stored without the compressed flag; compare it as `canonical` does.
                let name = if v.name().is_empty() { Name::Latin1(Vec::new()) } else { name };
                ValueSpec::new(name, v.raw_type(), v.data().expect("data").into_owned())
            })
            .collect();
        KeySpec {
            name,
            class_name: key.class_name().expect("class").map(|c| c.to_vec()),
            last_written: key.last_written().0,
            values,
            subkeys: Vec::new(),
        }
    }
    // Pre-order walk; rebuild parents from depths.
    let mut stack: Vec<KeySpec> = Vec::new();
    let mut walk = hive.walk();
    while let Some(e) = walk.next_entry() {
        let e = e.expect("walk entry");
        let depth = e.depth as usize;
        while stack.len() > depth {
            let done = stack.pop().expect("non-empty");
            stack.last_mut().expect("parent").subkeys.push(done);
        }
        stack.push(spec(&e.key));
    }
    while stack.len() > 1 {
        let done = stack.pop().expect("non-empty");
        stack.last_mut().expect("parent").subkeys.push(done);
    }
    stack.pop().expect("a root")
}

/// `canonical`, and an empty class name read as none (a zero class length is no class to Windows).
fn expected(tree: &KeySpec) -> KeySpec {
    let mut t = canonical(tree);
    let mut stack = vec![&mut t];
    while let Some(k) = stack.pop() {
        if k.class_name.as_ref().is_some_and(|c| c.is_empty()) {
            k.class_name = None;
        }
        stack.extend(k.subkeys.iter_mut());
    }
    t
}

fn open_dirty<'a>(primary: &'a [u8], log1: &'a [u8], log2: &'a [u8]) -> Hive<'a> {
    let opts = OpenOptions::new().log(LogFile::new("LOG1", log1)).log(LogFile::new("LOG2", log2));
    Hive::open_with(primary, &opts).expect("opens")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Writing a random tree and parsing it back gives the same tree: names (Latin-1 and UTF-16,
    /// byte for byte), classes, timestamps, values of every type, inline, cell and big data, in
    /// every format version, list kind and `ri` split.
    #[test]
    fn random_trees_round_trip(tree in key_strategy(), o in options_strategy()) {
        let bytes = write_hive(&tree, &o);
        let hive = Hive::open(&bytes[..]).expect("opens");
        prop_assert!(hive.warnings().is_empty(), "{:?}", hive.warnings());
        prop_assert_eq!(read_tree(&hive), expected(&tree));
    }

    /// A dirty hive with new-format logs, however its entries are split over LOG1 and LOG2,
    /// replays to the tree the logs were made from; without the logs the old tree is read.
    #[test]
    fn new_format_logs_replay(before in key_strategy(), after in key_strategy(), entries in 1usize..5, split in 0usize..3) {
        let o = WriterOptions::default();
        let (b, a) = (write_hive(&before, &o), write_hive(&after, &o));
        let split = [LogSplit::AllInLog1, LogSplit::AllInLog2, LogSplit::Split][split];
        let d = new_format_logs(&b, &a, entries, split);
        let hive = open_dirty(&d.primary, &d.log1, &d.log2);
        prop_assert!(hive.recovery().recovered);
        prop_assert_eq!(hive.recovery().entries_applied() as usize, entries);
        prop_assert_eq!(read_tree(&hive), expected(&after));
        // The three ways to hold the primary give the same hive: borrowed (the logged pages are
        // read from the logs, nothing is copied), owned and in place (the pages are written).
        // (A hive that shrank keeps its old length: the pages past the new end are not read.)
        let recovered = hive.bytes();
        prop_assert_eq!(recovered.get(4096..a.len()), a.get(4096..));
        let opts = OpenOptions::new().log(LogFile::new("LOG1", &d.log1)).log(LogFile::new("LOG2", &d.log2));
        let owned = Hive::open_with(d.primary.clone(), &opts).expect("owned opens");
        prop_assert_eq!(owned.bytes(), recovered.clone());
        prop_assert_eq!(read_tree(&owned), expected(&after));
        let mut buf = d.primary.clone();
        let in_place = Hive::open_in_place(&mut buf, &opts).expect("in place opens");
        prop_assert_eq!(in_place.bytes(), recovered);
        prop_assert_eq!(owned.recovery(), in_place.recovery());
        prop_assert_eq!(owned.recovery(), hive.recovery());
        let stale = Hive::open(&d.primary[..]).expect("primary alone");
        prop_assert!(stale.recovery().dirty && !stale.recovery().recovered);
        prop_assert_eq!(read_tree(&stale), expected(&before));
    }

    /// The same with an old-format (DIRT) log.
    #[test]
    fn old_format_log_replays(before in key_strategy(), after in key_strategy()) {
        let o = WriterOptions::for_minor(3);
        let (b, a) = (write_hive(&before, &o), write_hive(&after, &o));
        let d = old_format_log(&b, &a);
        let hive = open_dirty(&d.primary, &d.log1, &d.log2);
        prop_assert!(hive.recovery().recovered);
        prop_assert_eq!(read_tree(&hive), expected(&after));
    }
}

#[test]
fn example_replay_changes_what_it_should() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/example");
    let read = |n: &str| std::fs::read(dir.join(n)).expect("example file");
    let (p, l1, l2) = (read("SYSTEM"), read("SYSTEM.LOG1"), read("SYSTEM.LOG2"));
    let hive = open_dirty(&p, &l1, &l2);
    let r = hive.recovery();
    assert!(r.dirty && r.recovered);
    assert!(r.logs.iter().all(|l| l.status == LogStatus::Applied), "{r:#?}");
    let path = format!("ControlSet001\\Services\\Tcpip\\Parameters\\Interfaces\\{}", regnet_testkit::example::NIC_PROD);
    let ips = |h: &Hive<'_>| h.key(&path).unwrap().value("IPAddress").unwrap().unwrap().multi_string().unwrap();
    assert_eq!(ips(&hive), vec!["10.41.7.20", "10.41.7.21"]);
    assert_eq!(ips(&Hive::open(&p[..]).unwrap()), vec!["10.41.7.20"]);
    assert_eq!(read_tree(&hive), expected(&regnet_testkit::example::example_system(true)));
}

/// The committed example must be exactly what `regnet-fixtures example` writes today.
#[test]
fn bundled_example_is_up_to_date() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/example");
    let tmp = std::env::temp_dir().join(format!("regnet-example-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_regnet-fixtures"))
        .arg("example")
        .arg(&tmp)
        .status()
        .expect("runs regnet-fixtures");
    assert!(status.success());
    for f in ["SYSTEM", "SYSTEM.LOG1", "SYSTEM.LOG2"] {
        assert!(
            std::fs::read(dir.join(f)).unwrap() == std::fs::read(tmp.join(f)).unwrap(),
            "testdata/example/{f} is stale: run `cargo run -p regnet-testkit --bin regnet-fixtures -- example testdata/example`"
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
