//! hivex (libhivex, via its Perl binding and `hivexregedit`) as an independent reader of the
//! writer's output. Skipped, with a printed reason, when the tools are not installed (`apt-get
//! install libhivex-bin libwin-hivex-perl`).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::{mixed_tree, scratch_dir};
use regnet_testkit::*;

/// Walks a hive with Win::Hivex and prints one line per key and value, names and data hex-encoded
/// (names as UTF-8 as hivex decodes them), so nothing depends on terminal encodings.
const WALK: &str = r#"
use strict; use warnings; use Win::Hivex; use Encode;
my $h = Win::Hivex->open($ARGV[0]);
sub hx { unpack("H*", encode("UTF-8", $_[0])) }
sub walk {
    my ($node, $path) = @_;
    my @children = $h->node_children($node);
    my @values = $h->node_values($node);
    my @fields = ("K", $path, scalar(@children), scalar(@values), $h->node_timestamp($node));
    print join("\t", @fields), "\n";
    for my $v (@values) {
        my ($type, $data) = $h->value_value($v);
        print join("\t", "V", $path, hx($h->value_key($v)), $type, unpack("H*", $data)), "\n";
    }
    for my $c (@children) {
        my $p = $h->node_parent($c);
        die "bad parent" unless $p == $node;
        walk($c, $path . "/" . hx($h->node_name($c)));
    }
}
walk($h->root(), "");
"#;

fn hivex_available() -> bool {
    if !common::have_tool("hivexregedit") || !common::have_tool("perl") {
        eprintln!("SKIPPED: hivexregedit or perl not installed (apt-get install libhivex-bin)");
        return false;
    }
    let ok = Command::new("perl").args(["-MWin::Hivex", "-e", "1"]).status().is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED: Perl module Win::Hivex not installed (apt-get install libwin-hivex-perl)");
    }
    ok
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// The lines WALK should print for a tree (as a set: hivex lists children in on-disk order).
fn expected_lines(root: &KeySpec) -> BTreeSet<String> {
    fn go(k: &KeySpec, path: &str, out: &mut BTreeSet<String>) {
        out.insert(format!("K\t{path}\t{}\t{}\t{}", k.subkeys.len(), k.values.len(), k.last_written as i64));
        for v in &k.values {
            let name = hex(v.name.to_string_lossy().as_bytes());
            out.insert(format!("V\t{path}\t{name}\t{}\t{}", v.data_type, hex(&v.data)));
        }
        for s in &k.subkeys {
            go(s, &format!("{path}/{}", hex(s.name.to_string_lossy().as_bytes())), out);
        }
    }
    let mut out = BTreeSet::new();
    go(root, "", &mut out);
    out
}

fn hivex_walk(file: &Path) -> BTreeSet<String> {
    let out = Command::new("perl").arg("-e").arg(WALK).arg(file).output().expect("run perl");
    assert!(out.status.success(), "hivex walk of {} failed: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect()
}

fn check_with_hivex(tree: &KeySpec, hive: &[u8], file: &Path) {
    std::fs::write(file, hive).unwrap();
    let got = hivex_walk(file);
    let want = expected_lines(tree);
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(missing.is_empty() && extra.is_empty(), "{}: missing {missing:#?}\nextra {extra:#?}", file.display());

    // hivexregedit --export must succeed and list every key and value.
    let out = Command::new("hivexregedit").arg("--export").arg(file).arg("\\").output().unwrap();
    assert!(out.status.success(), "hivexregedit --export: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let keys = text.lines().filter(|l| l.starts_with('[')).count();
    let values = text.lines().filter(|l| l.starts_with('"') || l.starts_with("@=")).count();
    let want_values: usize = {
        fn count(k: &KeySpec) -> usize {
            k.values.len() + k.subkeys.iter().map(count).sum::<usize>()
        }
        count(tree)
    };
    assert_eq!(keys, tree.key_count(), "keys in hivexregedit --export of {}", file.display());
    assert_eq!(values, want_values, "values in hivexregedit --export of {}", file.display());
    for line in ["[\\Types]", "\"dword\"=dword:12345678", "[\\Many\\k000]", "@=hex(1):64,00,65,00"] {
        if tree.find("Types").is_some() {
            assert!(text.lines().any(|l| l.starts_with(line)), "export lacks {line:?}");
        }
    }
}

#[test]
fn hivex_reads_every_key_and_value() {
    if !hivex_available() {
        return;
    }
    let dir = scratch_dir("hivex");
    let tree = mixed_tree();
    let mut n = 0;
    for minor in 3..=6 {
        for kind in [ListKind::Li, ListKind::Lf, ListKind::Lh] {
            for ri in [None, Some(64)] {
                for big in [true, false] {
                    let o = WriterOptions {
                        list_kind: kind,
                        ri_chunk: ri,
                        big_data: big,
                        ..WriterOptions::for_minor(minor)
                    };
                    let hive = write_hive(&tree, &o);
                    check_with_hivex(&tree, &hive, &dir.join(format!("mixed-{minor}-{kind:?}-{ri:?}-{big}.hive")));
                    n += 1;
                }
            }
        }
    }
    eprintln!("hivex read {n} variants of the mixed hive");
}

#[test]
fn hivex_reads_dirty_primaries_and_after_states() {
    if !hivex_available() {
        return;
    }
    let dir = scratch_dir("hivex-dirty");
    let before = mixed_tree();
    let mut after = before.clone();
    after.find_mut("Types").unwrap().values.retain(|v| v.name.to_string_lossy() != "big_40000");
    after
        .find_mut("Many")
        .unwrap()
        .subkeys
        .push(KeySpec::new("added").with_value(ValueSpec::binary("blob", vec![7u8; 70_000])));
    let o = WriterOptions::default();
    let b = write_hive(&before, &o);
    let a = write_hive(&after, &o);
    check_with_hivex(&after, &a, &dir.join("after.hive"));
    let set = new_format_logs(&b, &a, 3, LogSplit::Split);
    // hivex ignores sequence numbers and logs: the dirty primary must read as the `before` state.
    check_with_hivex(&before, &set.primary, &dir.join("dirty-new.hive"));
    let p = set.write_files(dir.path(), "SYSTEM").unwrap();
    assert_eq!(std::fs::read(p).unwrap(), set.primary);
    assert_eq!(std::fs::read(dir.join("SYSTEM.LOG2")).unwrap(), set.log2);
    let set = old_format_log(&b, &a);
    check_with_hivex(&before, &set.primary, &dir.join("dirty-old.hive"));
    // And the replayed result as the `after` state.
    let r = common::replay_old(&set.primary, &set.log1);
    check_with_hivex(&after, &r, &dir.join("replayed-old.hive"));
}
