//! Hive benchmarks: open, network-key lookup, a full walk beside nt-hive's, log replay, and
//! `extract` on each container format.
//!
//! Run: `cargo bench -p regnet-benches`. Uses ../shared/corpus/regipy/SYSTEM
//! (11.7 MB) and SYSTEM_B with its logs (12.8 MB + 6.4 MB) when present, else
//! testdata/example.

use divan::{black_box, Bencher};
use regnet_benches::{big_hive, regnet_walk};
use std::sync::OnceLock;

fn input() -> &'static (String, Vec<u8>) {
    static INPUT: OnceLock<(String, Vec<u8>)> = OnceLock::new();
    INPUT.get_or_init(|| {
        let i = big_hive();
        eprintln!(
            "input: {} ({} bytes); regnet walk: {:?} (keys, values, data bytes)",
            i.0,
            i.1.len(),
            regnet_walk(&i.1)
        );
        i
    })
}

fn main() {
    input(); // load (and describe) the input before divan prints its table
    divan::main();
}

#[divan::bench]
fn open(b: Bencher) {
    let bytes = &input().1;
    b.bench(|| regnet_hive::Hive::open(black_box(&bytes[..])).map(|h| h.bins_len()).ok());
}

#[divan::bench]
fn lookup_tcpip_interfaces(b: Bencher) {
    let bytes = &input().1;
    b.bench(|| {
        let hive = regnet_hive::Hive::open(black_box(&bytes[..])).ok()?;
        let ifs = hive.key("ControlSet001\\Services\\Tcpip\\Parameters\\Interfaces").ok()?;
        Some(ifs.subkeys().count())
    });
}

#[divan::bench(name = "full_walk/regnet-hive")]
fn full_walk_regnet(b: Bencher) {
    let bytes = &input().1;
    b.bench(|| regnet_walk(black_box(bytes)));
}

/// The same walk with nt-hive (explicit stack, no recursion).
#[divan::bench(name = "full_walk/nt-hive")]
fn full_walk_nt_hive(b: Bencher) {
    let bytes = &input().1;
    b.bench(|| nt_hive_walk(black_box(bytes)));
}

fn nt_hive_walk(bytes: &[u8]) -> (u64, u64, u64) {
    let Ok(hive) = nt_hive::Hive::new(bytes) else { return (0, 0, 0) };
    let Ok(root) = hive.root_key_node() else { return (0, 0, 0) };
    let (mut keys, mut values, mut data) = (0u64, 0u64, 0u64);
    let mut stack = vec![root];
    while let Some(key) = stack.pop() {
        keys += 1;
        if let Some(Ok(vals)) = key.values() {
            for v in vals.flatten() {
                values += 1;
                data += v.data().and_then(|d| d.into_vec()).map_or(0, |d| d.len() as u64);
            }
        }
        if let Some(Ok(subs)) = key.subkeys() {
            stack.extend(subs.flatten());
        }
    }
    (keys, values, data)
}

/// The whole network report from the hive (open, control set, every adapter joined).
#[divan::bench]
fn network_report(b: Bencher) {
    let bytes = &input().1;
    let opts = regnet::Options::default();
    b.bench(|| regnet::report_from_hive_bytes(black_box(&bytes[..]), &[], &opts).map(|r| r.adapters.len()).ok());
}

fn dirty() -> &'static (String, Vec<u8>, [Vec<u8>; 2]) {
    static INPUT: OnceLock<(String, Vec<u8>, [Vec<u8>; 2])> = OnceLock::new();
    INPUT.get_or_init(regnet_benches::dirty_hive)
}

/// Opening a dirty hive with its two logs: parse and check every entry, decide the latest copy of
/// each page (nothing is copied: the logged pages are read from the logs).
#[divan::bench]
fn open_replaying_logs(b: Bencher) {
    let (_, primary, [l1, l2]) = dirty();
    let opts = regnet_hive::OpenOptions::new()
        .log(regnet_hive::LogFile::new("LOG1", l1))
        .log(regnet_hive::LogFile::new("LOG2", l2));
    b.bench(|| regnet_hive::Hive::open_with(black_box(&primary[..]), &opts).map(|h| h.bins_len()).ok());
}

/// The network report from the dirty hive and its logs.
#[divan::bench]
fn network_report_replaying_logs(b: Bencher) {
    let (_, primary, [l1, l2]) = dirty();
    let logs = [regnet::hive::LogFile::new("LOG1", l1), regnet::hive::LogFile::new("LOG2", l2)];
    let opts = regnet::Options::default();
    b.bench(|| regnet::report_from_hive_bytes(black_box(&primary[..]), &logs, &opts).map(|r| r.adapters.len()).ok());
}

/// Hash-1 of every entry of both logs: one by one, and dealt onto two lanes side by side.
#[divan::bench(name = "log_hashes/one_by_one")]
fn log_hashes_one_by_one(b: Bencher) {
    let (_, _, [l1, l2]) = dirty();
    let bodies: Vec<&[u8]> = regnet_benches::hvle_bodies(l1).into_iter().chain(regnet_benches::hvle_bodies(l2)).collect();
    b.bench(|| bodies.iter().map(|x| regnet_hive::marvin32(regnet_hive::REGISTRY_SEED, black_box(x))).fold(0, |a, h| a ^ h));
}

#[divan::bench(name = "log_hashes/two_lanes")]
fn log_hashes_two_lanes(b: Bencher) {
    let (_, _, [l1, l2]) = dirty();
    let bodies: Vec<&[u8]> = regnet_benches::hvle_bodies(l1).into_iter().chain(regnet_benches::hvle_bodies(l2)).collect();
    b.bench(|| regnet_hive::marvin32_many(regnet_hive::REGISTRY_SEED, black_box(&bodies)).into_iter().fold(0, |a, h| a ^ h));
}

/// `regnet::extract` on a disk image of each container format (testdata/build.sh makes them;
/// without them, the committed example image).
#[divan::bench(args = ["gpt.raw", "gpt-dynamic.vhd", "gpt-dynamic.vhdx", "gpt-sparse.vmdk", "gpt-stream.vmdk", "gpt.qcow2", "mbr-compressed.qcow2"])]
fn extract(b: Bencher, image: &str) {
    let dir = regnet_benches::root().join("target/testdata/images");
    let path = if dir.join(image).is_file() {
        dir.join(image)
    } else {
        regnet_benches::root().join("testdata/example/disk.qcow2")
    };
    let opts = regnet::ExtractOptions::default();
    b.bench(|| regnet::extract(black_box(&path), &opts).map(|r| r.adapters.len()).ok());
}
