//! Hive benchmarks: open, network-key lookup, and a full walk beside nt-hive's.
//!
//! Run: `cargo bench -p regnet-benches`. Uses ../shared/corpus/regipy/SYSTEM
//! (11.7 MB) when present, else testdata/example/SYSTEM.

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
