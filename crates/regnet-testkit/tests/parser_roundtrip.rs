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

/// A hive file in memory behind the on-demand interface, counting the bytes asked for; reads past
/// `fail_from` fail.
struct Counted {
    bytes: Vec<u8>,
    read: std::sync::Arc<std::sync::atomic::AtomicU64>,
    fail_from: u64,
}

impl Counted {
    fn new(bytes: &[u8]) -> Box<Counted> {
        Box::new(Counted { bytes: bytes.to_vec(), read: Default::default(), fail_from: u64::MAX })
    }
}

impl regnet_hive::Source for Counted {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        if offset + buf.len() as u64 > self.fail_from {
            return Err(std::io::Error::other("the disk image is unreadable here"));
        }
        self.read.fetch_add(buf.len() as u64, std::sync::atomic::Ordering::Relaxed);
        let o = offset as usize;
        buf.copy_from_slice(&self.bytes[o..o + buf.len()]);
        Ok(())
    }
}

/// `log` cut to what `log_bytes_needed` says replay can look at.
fn needed(log: &[u8]) -> &[u8] {
    let n = regnet_hive::log_bytes_needed(log.len() as u64, |off, buf: &mut [u8]| {
        buf.copy_from_slice(&log[off as usize..off as usize + buf.len()]);
        Ok::<(), ()>(())
    })
    .unwrap();
    &log[..n as usize]
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

    /// A hive read on demand (`open_source`) reads the same as the bytes in memory, dirty (its
    /// logs replayed over it) or clean.
    #[test]
    fn hives_read_on_demand_read_the_same(before in key_strategy(), after in key_strategy(), entries in 1usize..4) {
        let o = WriterOptions::default();
        let (b, a) = (write_hive(&before, &o), write_hive(&after, &o));
        let src_a = Counted::new(&a);
        let clean = Hive::open_source(&*src_a, &OpenOptions::new()).expect("clean opens");
        prop_assert_eq!(read_tree(&clean), expected(&after));
        let mem = Hive::open(&a[..]).unwrap();
        prop_assert_eq!(clean.bytes(), mem.bytes());
        let d = new_format_logs(&b, &a, entries, LogSplit::Split);
        let opts = OpenOptions::new().log(LogFile::new("LOG1", &d.log1)).log(LogFile::new("LOG2", &d.log2));
        let src_p = Counted::new(&d.primary);
        let lazy = Hive::open_source(&*src_p, &opts).expect("dirty opens");
        let mem = Hive::open_with(&d.primary[..], &opts).expect("opens");
        prop_assert_eq!(read_tree(&lazy), expected(&after));
        prop_assert_eq!(lazy.recovery(), mem.recovery());
        prop_assert_eq!(lazy.bytes(), mem.bytes());
    }

    /// Replaying only the part of each log that `log_bytes_needed` names gives the same hive as
    /// replaying the whole logs, whatever follows the entries (stale entries, junk) and whichever
    /// byte of the logs is damaged.
    #[test]
    fn the_needed_part_of_the_logs_replays_the_same(
        before in key_strategy(), after in key_strategy(), entries in 1usize..5,
        junk in proptest::collection::vec(any::<u8>(), 0..3000), hit in any::<(bool, u16, u8)>(),
    ) {
        let o = WriterOptions::default();
        let (b, a) = (write_hive(&before, &o), write_hive(&after, &o));
        let d = new_format_logs(&b, &a, entries, LogSplit::Split);
        let (mut l1, mut l2) = (d.log1.clone(), d.log2.clone());
        // Stale data after the entries, as Windows leaves it when it reuses a log.
        l1.extend_from_slice(&junk);
        l2.extend_from_slice(&d.log1);
        let damaged = if hit.0 { &mut l1 } else { &mut l2 };
        if !damaged.is_empty() {
            let i = usize::from(hit.1) % damaged.len();
            damaged[i] ^= hit.2;
        }
        let whole = OpenOptions::new().log(LogFile::new("LOG1", &l1)).log(LogFile::new("LOG2", &l2));
        let part = OpenOptions::new().log(LogFile::new("LOG1", needed(&l1))).log(LogFile::new("LOG2", needed(&l2)));
        match (Hive::open_with(&d.primary[..], &whole), Hive::open_with(&d.primary[..], &part)) {
            (Ok(x), Ok(y)) => {
                prop_assert_eq!(x.recovery(), y.recovery());
                prop_assert_eq!(x.bytes(), y.bytes());
            }
            (x, y) => prop_assert_eq!(x.err(), y.err()),
        }
        prop_assert!(needed(&d.log2).len() <= d.log2.len());
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
fn a_hive_read_on_demand_reads_little_and_reports_failed_reads() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/example");
    let read = |n: &str| std::fs::read(dir.join(n)).expect("example file");
    // A big hive: a large tree whose network keys sit in a few of its pages.
    let mut tree = KeySpec::new("ROOT").with_subkey(KeySpec::new("Select").with_value(ValueSpec::dword("Current", 1)));
    for i in 0..3000 {
        tree = tree.with_subkey(
            KeySpec::new(format!("k{i:04}").as_str()).with_value(ValueSpec::binary("pad", vec![7u8; 500])),
        );
    }
    let big = write_hive(&tree, &WriterOptions::default());
    let src = Counted::new(&big);
    let asked = src.read.clone();
    let hive = Hive::open_source(&*src, &OpenOptions::new()).unwrap();
    let current = hive.key("Select").unwrap().value("Current").unwrap().unwrap().u32().unwrap();
    assert_eq!(current, 1);
    let n = asked.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("a lookup in a {} byte hive read {n} bytes of it", big.len());
    assert!(big.len() > 1_000_000 && n < big.len() as u64 / 4, "{n} of {}", big.len());

    // A source that fails past its first 64 KiB: opening works, reading far keys gives Read errors.
    let mut failing = Counted::new(&big);
    failing.fail_from = 64 * 1024;
    let hive = Hive::open_source(&*failing, &OpenOptions::new()).unwrap();
    let mut errors = Vec::new();
    let mut walk = hive.walk();
    while let Some(e) = walk.next_entry() {
        if let Err(e) = e {
            errors.push(e);
        }
    }
    assert!(errors.iter().any(|e| matches!(e, regnet_hive::HiveError::Read { .. })), "{errors:?}");
    assert!(errors.iter().all(|e| !e.to_string().is_empty()));

    // Files too short for a base block fail the same way read on demand as in memory (the fuzzer's
    // differential found the empty file giving a different message).
    for bytes in [&[][..], &[0x72u8; 100][..], &big[..600]] {
        let src = Counted::new(bytes);
        assert_eq!(Hive::open_source(&*src, &OpenOptions::new()).err(), Hive::open(bytes).err());
    }

    // The example hive with its logs, read on demand, is the example hive.
    let (p, l1, l2) = (read("SYSTEM"), read("SYSTEM.LOG1"), read("SYSTEM.LOG2"));
    let opts = OpenOptions::new().log(LogFile::new("SYSTEM.LOG1", &l1)).log(LogFile::new("SYSTEM.LOG2", &l2));
    let src = Counted::new(&p);
    let lazy = Hive::open_source(&*src, &opts).unwrap();
    let mem = Hive::open_with(&p[..], &opts).unwrap();
    assert_eq!(read_tree(&lazy), read_tree(&mem));
}

/// `Hive` (in memory, read on demand, with an overlay of logged pages) is `Send + Sync`, and many
/// threads walking one hive read on demand at once all read what one thread reads from memory.
#[test]
fn threads_share_a_hive_read_on_demand() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Hive<'static>>();
    send_sync::<Key<'static>>();
    send_sync::<regnet_hive::Value<'static>>();

    let mut tree = KeySpec::new("ROOT");
    for i in 0..400 {
        tree = tree.with_subkey(
            KeySpec::new(format!("k{i:03}").as_str())
                .with_value(ValueSpec::binary("pad", vec![i as u8; 700 + i]))
                .with_subkey(KeySpec::new("child").with_value(ValueSpec::dword("n", i as u32))),
        );
    }
    let after = tree.clone();
    let mut before = tree;
    before.subkeys.truncate(300);
    let o = WriterOptions::default();
    let (b, a) = (write_hive(&before, &o), write_hive(&after, &o));
    let d = new_format_logs(&b, &a, 3, LogSplit::Split);
    let opts = OpenOptions::new().log(LogFile::new("LOG1", &d.log1)).log(LogFile::new("LOG2", &d.log2));
    let src = Counted::new(&d.primary);
    let lazy = Hive::open_source(&*src, &opts).unwrap();
    let want = expected(&after);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..6).map(|_| s.spawn(|| read_tree(&lazy))).collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), want);
        }
    });
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
