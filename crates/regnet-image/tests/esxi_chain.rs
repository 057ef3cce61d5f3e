//! ESXi snapshot chains (flat `vmfs` base → COWD `vmfsSparse` delta → SEsparse `seSparse` delta
//! ...) written by regnet-testkit's independent writer, read back through the VMDK reader and
//! compared byte for byte with the images they were made from and with `qemu-img convert -O raw`
//! at every layer; and a property test: a random base and random changed grains, as either delta
//! kind, read back as the changed image. Tests that need qemu-img skip with a printed reason.

use proptest::prelude::*;
use regnet_image::container::vmdk::VmdkDisk;
use regnet_image::{Counters, DirResolver, FileSource, ImageLimits, VirtualDisk};
use regnet_testkit::esxi::{
    write_chain, AllocationOrder, ChainOptions, CowdOptions, ExtentKind, Image, SeSparseOptions, TablePlacement,
    ZeroedGrains,
};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const MIB: usize = 1 << 20;

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn have_qemu() -> bool {
    let ok = Command::new("qemu-img").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: qemu-img is not installed (Debian package qemu-utils)");
    }
    ok
}

fn open(path: &Path) -> (VmdkDisk, Arc<Counters>) {
    let limits = ImageLimits::default();
    let counters = Arc::new(Counters::default());
    let resolver = DirResolver::new(path.parent().unwrap(), &[], counters.clone(), limits);
    let src = FileSource::open_path(path, counters.clone(), &limits).unwrap();
    let disk = VmdkDisk::open(src, &resolver, &limits).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (disk, counters)
}

/// The whole disk, read in 1 MiB pieces at an odd offset so that reads straddle grains.
fn read_all(disk: &mut dyn VirtualDisk) -> Vec<u8> {
    let size = disk.size() as usize;
    let mut out = vec![0u8; size];
    disk.read_at(0, &mut out[..size.min(777)]).unwrap();
    let mut off = size.min(777);
    while off < size {
        let n = (size - off).min(MIB);
        disk.read_at(off as u64, &mut out[off..off + n]).unwrap();
        off += n;
    }
    out
}

fn qemu_raw(path: &Path) -> Vec<u8> {
    let out = path.with_extension("ref.raw");
    let o = Command::new("qemu-img").args(["convert", "-f", "vmdk", "-O", "raw"]).arg(path).arg(&out).output().unwrap();
    assert!(o.status.success(), "qemu-img convert {}: {}", path.display(), String::from_utf8_lossy(&o.stderr));
    let v = std::fs::read(&out).unwrap();
    std::fs::remove_file(out).unwrap();
    v
}

fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    if a.len() != b.len() {
        return Some(a.len().min(b.len()));
    }
    a.iter().zip(b).position(|(x, y)| x != y)
}

/// Deterministic, non-repeating bytes.
fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn write(img: &mut [u8], off: usize, data: &[u8]) {
    img[off..off + data.len()].copy_from_slice(data);
}

#[test]
fn base_cowd_sesparse_chain_reads_like_qemu_at_every_layer() {
    let dir = scratch("esxi-chain");
    // 40 MiB + 3 sectors: three SEsparse tables (16 MiB each), 21 COWD tables (2 MiB each), a
    // partial last SEsparse grain.
    let size = 40 * MIB + 1536;
    let mut base = vec![0u8; size];
    for (i, off) in [0, 65536 - 7, MIB - 100, 2 * MIB + 3, 17 * MIB, 33 * MIB - 1000, size - 5000].iter().enumerate() {
        let len = 5000.min(size - off);
        write(&mut base, *off, &pattern(i as u64, len));
    }
    // Layer 1 (COWD): new data across a COWD table boundary, a sector of zeros over base data, a
    // write at the very end.
    let mut l1 = base.clone();
    write(&mut l1, 2 * MIB - 700, &pattern(100, 1400));
    l1[MIB - 100..MIB - 100 + 512].fill(0);
    write(&mut l1, 20 * MIB, &pattern(101, 3 * MIB));
    write(&mut l1, size - 100, &pattern(102, 100));
    // Layer 2 (SEsparse): zeroes a grain layer 1 wrote (a zero entry must hide it), rewrites part of
    // layer 1's block, writes across an SEsparse table boundary and the partial last grain.
    let mut l2 = l1.clone();
    l2[20 * MIB..20 * MIB + 8192].fill(0);
    write(&mut l2, 21 * MIB + 5, &pattern(200, 10_000));
    write(&mut l2, 16 * MIB - 6000, &pattern(201, 12_000));
    write(&mut l2, size - 700, &pattern(202, 700));
    // Layer 3 (COWD again, 8-sector grains, written back to front with interleaved tables).
    let mut l3 = l2.clone();
    write(&mut l3, 3 * MIB + 17, &pattern(300, 70_000));
    l3[17 * MIB..17 * MIB + 4096].fill(0);
    // Layer 4 (SEsparse, zeroed grains as "unmapped" entries that still name stale data).
    let mut l4 = l3.clone();
    l4[21 * MIB..21 * MIB + 16384].fill(0);
    write(&mut l4, 39 * MIB, &pattern(400, 4096));
    let images = [&base, &l1, &l2, &l3, &l4];

    let opts =
        ChainOptions { cowd: CowdOptions { grain_sectors: 1, ..CowdOptions::default() }, ..ChainOptions::default() };
    let files = write_chain(
        &dir,
        "vm",
        Image::Bytes(&base),
        &[
            (ExtentKind::VmfsSparse, Image::Bytes(&l1)),
            (ExtentKind::SeSparse, Image::Bytes(&l2)),
            (ExtentKind::VmfsSparse, Image::Bytes(&l3)),
            (ExtentKind::SeSparse, Image::Bytes(&l4)),
        ],
        &opts,
    )
    .unwrap();
    // Layers 3 and 4 with other writer options: rewrite those two deltas over the same parents.
    let mut opts34 = opts.clone();
    opts34.cowd = CowdOptions {
        grain_sectors: 8,
        order: AllocationOrder::Descending,
        tables: TablePlacement::Interleaved,
        ..opts.cowd
    };
    opts34.sesparse =
        SeSparseOptions { zeroed: ZeroedGrains::Unmapped, order: AllocationOrder::Descending, ..Default::default() };
    let files34 = write_chain(
        &dir.join("other"),
        "vm",
        Image::Bytes(&base),
        &[
            (ExtentKind::VmfsSparse, Image::Bytes(&l1)),
            (ExtentKind::SeSparse, Image::Bytes(&l2)),
            (ExtentKind::VmfsSparse, Image::Bytes(&l3)),
            (ExtentKind::SeSparse, Image::Bytes(&l4)),
        ],
        &opts34,
    )
    .unwrap();
    let qemu = have_qemu();
    for files in [&files, &files34] {
        for (k, desc) in files.descriptors.iter().enumerate() {
            let (mut disk, _) = open(desc);
            assert_eq!(disk.chain_len(), k + 1);
            assert!(disk.warnings().is_empty(), "{:?}", disk.warnings());
            let got = read_all(&mut disk);
            if let Some(at) = first_difference(&got, images[k]) {
                panic!("layer {k} ({}): differs from its image at byte {at:#x}", desc.display());
            }
            if qemu {
                let reference = qemu_raw(desc);
                if let Some(at) = first_difference(&got, &reference) {
                    panic!("layer {k} ({}): differs from qemu-img at byte {at:#x}", desc.display());
                }
            }
            eprintln!(
                "layer {k} ({}): {} bytes, same as the image{}",
                desc.display(),
                got.len(),
                if qemu { " and qemu-img" } else { "" }
            );
        }
    }

    // Only what the top layer does not hold is read from below: a grain the SEsparse top holds
    // costs its grain table and the bytes asked for, nothing of the 40 MiB flat base.
    let (mut disk, counters) = open(&files.descriptors[2]);
    let before = counters.bytes_read();
    let mut b = vec![0u8; 4096];
    disk.read_at(21 * MIB as u64 + 4096, &mut b).unwrap();
    assert_eq!(b, l2[21 * MIB + 4096..21 * MIB + 8192]);
    let cost = counters.bytes_read() - before;
    assert!(cost <= 4096 + 32768, "a grain held by the top layer cost {cost} bytes");
    let _ = std::fs::remove_dir_all(&dir);
}

/// One layer: SEsparse (or COWD), writer knobs, edits (offset, length, fill byte or zeros).
type Layer = (bool, u8, Vec<(usize, usize, Option<u8>)>);

/// A random base and random edits (data and zeros), as layers of random kinds and writer options.
#[derive(Debug, Clone)]
struct Case {
    sectors: usize,
    base_blocks: Vec<(usize, usize, u8)>,
    layers: Vec<Layer>,
}

fn case() -> impl Strategy<Value = Case> {
    // Up to 17 MiB + a bit: crosses COWD tables (2 MiB with 1-sector grains) and one SEsparse table.
    (1usize..34_900).prop_flat_map(|sectors| {
        let bytes = sectors * 512;
        let block = (0..bytes, 1usize..70_000, any::<u8>());
        let edit = (0..bytes, 1usize..40_000, proptest::option::of(any::<u8>()));
        let layer = (any::<bool>(), any::<u8>(), proptest::collection::vec(edit, 0..12));
        (Just(sectors), proptest::collection::vec(block, 0..8), proptest::collection::vec(layer, 1..4))
            .prop_map(|(sectors, base_blocks, layers)| Case { sectors, base_blocks, layers })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_deltas_read_back_as_the_changed_image(c in case()) {
        let dir = scratch("esxi-prop");
        let size = c.sectors * 512;
        let mut base = vec![0u8; size];
        for &(off, len, v) in &c.base_blocks {
            let end = (off + len).min(size);
            base[off..end].fill(v);
        }
        let mut images = vec![];
        let mut kinds = vec![];
        let mut prev = base.clone();
        for (sesparse, _, edits) in &c.layers {
            let mut img = prev.clone();
            for &(off, len, v) in edits {
                let end = (off + len).min(size);
                match v {
                    Some(v) => img[off..end].iter_mut().enumerate().for_each(|(i, b)| *b = v ^ (i as u8)),
                    None => img[off..end].fill(0),
                }
            }
            kinds.push(if *sesparse { ExtentKind::SeSparse } else { ExtentKind::VmfsSparse });
            images.push(img.clone());
            prev = img;
        }
        let knobs = c.layers[0].1;
        let mut opts = ChainOptions::default();
        opts.cowd.grain_sectors = [1, 1, 8, 3][usize::from(knobs & 3)];
        if knobs & 4 != 0 {
            opts.cowd.order = AllocationOrder::Descending;
            opts.sesparse.order = AllocationOrder::Descending;
        }
        if knobs & 8 != 0 {
            opts.cowd.tables = TablePlacement::Interleaved;
        }
        opts.sesparse.zeroed = [ZeroedGrains::ZeroEntry, ZeroedGrains::Unmapped, ZeroedGrains::Allocated][usize::from(knobs >> 4) % 3];
        let layers: Vec<(ExtentKind, Image<'_>)> = kinds.iter().zip(&images).map(|(k, i)| (*k, Image::Bytes(i))).collect();
        let files = write_chain(&dir, "p", Image::Bytes(&base), &layers, &opts).unwrap();
        for (k, desc) in files.descriptors.iter().enumerate() {
            let (mut disk, _) = open(desc);
            let got = read_all(&mut disk);
            let want = if k == 0 { &base } else { &images[k - 1] };
            prop_assert!(first_difference(&got, want).is_none(), "layer {} differs at {:?}", k, first_difference(&got, want));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The Windows chain of testdata/build-esxi.sh (flat base → COWD → SEsparse, the hive edited at
/// each layer): every layer's descriptor reads byte for byte as its raw disk, which the script
/// checked against `qemu-img convert -O raw`.
#[test]
fn the_windows_fixture_chain_reads_as_its_layers() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/testdata/esxi");
    if !dir.join("MANIFEST").is_file() {
        eprintln!("skipped: {} is absent; run testdata/build.sh", dir.display());
        return;
    }
    for (i, name) in ["chain.vmdk", "chain-000001.vmdk", "chain-000002.vmdk"].into_iter().enumerate() {
        let want = std::fs::read(dir.join(format!("raw/layer{i}.raw"))).unwrap();
        let (mut disk, counters) = open(&dir.join(name));
        assert_eq!(disk.size(), want.len() as u64, "{name}");
        let mut got = vec![0u8; want.len()];
        for (k, chunk) in got.chunks_mut(1 << 20).enumerate() {
            disk.read_at((k as u64) << 20, chunk).unwrap();
        }
        assert!(got == want, "{name} differs from raw/layer{i}.raw");
        eprintln!(
            "{name}: {} bytes, same as raw/layer{i}.raw ({} bytes read from the chain)",
            want.len(),
            counters.bytes_read()
        );
    }
}
