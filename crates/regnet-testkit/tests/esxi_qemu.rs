//! Proves the ESXi writer (`regnet_testkit::esxi`) with `qemu-img`, an independent VMDK reader: every
//! layer of every chain written here is converted with `qemu-img convert -f vmdk -O raw` and must
//! equal the image it was made from, byte for byte. Skips (with a printed reason) when qemu-img is
//! not installed.

mod common;

use common::{have_tool, scratch_dir};
use proptest::prelude::*;
use regnet_testkit::esxi::{
    self, write_chain, AllocationOrder, ChainOptions, Corruption, CowdOptions, Descriptor, ExtentKind, Image,
    SeSparseOptions, TablePlacement, ZeroedGrains, SECTOR,
};
use std::path::Path;
use std::process::Command;

const MIB: usize = 1 << 20;

fn qemu() -> bool {
    let ok = have_tool("qemu-img");
    if !ok {
        eprintln!("skipped: qemu-img not found (Debian: qemu-utils)");
    }
    ok
}

/// Deterministic bytes (xorshift64*), never a whole zero sector in practice.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        v.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    v.truncate(len);
    v
}

fn fill(img: &mut [u8], at: usize, len: usize, seed: u64) {
    img[at..at + len].copy_from_slice(&noise(seed, len));
}

fn zero(img: &mut [u8], at: usize, len: usize) {
    img[at..at + len].fill(0);
}

/// `qemu-img convert` of a descriptor to raw; panics with qemu's message if it refuses.
fn convert(desc: &Path) -> Vec<u8> {
    try_convert(desc).unwrap_or_else(|e| panic!("qemu-img convert {}: {e}", desc.display()))
}

fn try_convert(desc: &Path) -> Result<Vec<u8>, String> {
    let out = desc.with_extension("out.raw");
    let o = Command::new("qemu-img")
        .args(["convert", "-f", "vmdk", "-O", "raw"])
        .arg(desc)
        .arg(&out)
        .output()
        .map_err(|e| e.to_string())?;
    if !o.status.success() {
        return Err(String::from_utf8_lossy(&o.stderr).into_owned());
    }
    let bytes = std::fs::read(&out).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&out);
    Ok(bytes)
}

/// Asserts two images are equal, naming the first differing sector.
fn assert_same(got: &[u8], want: &[u8], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: size");
    if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!("{what}: first difference at byte {i} (sector {})", i as u64 / SECTOR);
    }
}

/// Writes the chain and checks every layer's descriptor with qemu-img.
fn check_chain(dir: &Path, name: &str, images: &[Vec<u8>], kinds: &[ExtentKind], opts: &ChainOptions) {
    let layers: Vec<(ExtentKind, Image<'_>)> =
        kinds.iter().zip(&images[1..]).map(|(k, img)| (*k, Image::Bytes(img))).collect();
    let files = write_chain(dir, name, Image::Bytes(&images[0]), &layers, opts).unwrap();
    assert_eq!(files.descriptors.len(), images.len());
    for (i, (desc, want)) in files.descriptors.iter().zip(images).enumerate() {
        assert_same(&convert(desc), want, &format!("{name} layer {i} ({})", desc.display()));
    }
}

#[test]
fn cowd_one_layer_multi_gt() {
    if !qemu() {
        return;
    }
    let dir = scratch_dir("esxi-cowd1");
    // 5 MiB: three COWD grain tables of 2 MiB (4096 grains of 512 bytes).
    let size = 5 * MIB;
    let mut base = vec![0u8; size];
    fill(&mut base, 0, MIB, 1);
    fill(&mut base, 4 * MIB + MIB / 2, 4096, 2);
    let mut child = base.clone();
    fill(&mut child, 100, 7, 3); // inside grain 0
    fill(&mut child, 2 * MIB - 700, 1400, 4); // across the first GT boundary
    zero(&mut child, 10 * 512, 512); // a grain that became zero
    fill(&mut child, 3 * MIB, 5000, 5); // where the base is zero
    fill(&mut child, size - 512, 512, 6); // the last sector
    for (order, tables) in [
        (AllocationOrder::Ascending, TablePlacement::Upfront),
        (AllocationOrder::Descending, TablePlacement::Interleaved),
    ] {
        let opts = ChainOptions { cowd: CowdOptions { order, tables, ..CowdOptions::default() }, ..Default::default() };
        let name = format!("one-{order:?}-{tables:?}");
        check_chain(dir.path(), &name, &[base.clone(), child.clone()], &[ExtentKind::VmfsSparse], &opts);
    }
    // Only the changed grains are stored: header + GD + 3 tables + the changed 512-byte grains.
    let d = esxi::cowd_delta_bytes(&base, &child, &CowdOptions::default()).unwrap();
    let changed = (0..size / 512).filter(|g| base[g * 512..(g + 1) * 512] != child[g * 512..(g + 1) * 512]).count();
    assert_eq!(d.layout.grains.len(), changed);
    assert_eq!(d.layout.gt_offsets.len(), 3);
    assert_eq!(d.bytes.len(), (4 + 1 + 3 * 32 + changed) * 512);
}

#[test]
fn cowd_big_grain_odd_size() {
    if !qemu() {
        return;
    }
    let dir = scratch_dir("esxi-cowd8");
    // 4 KiB grains (GT covers 16 MiB), size not a multiple of the grain, two tables.
    let size = 17 * MIB + 1536;
    let mut base = vec![0u8; size];
    fill(&mut base, 0, 64 * 1024, 1);
    fill(&mut base, size - 3000, 3000, 2);
    let mut child = base.clone();
    fill(&mut child, 4096 * 3 + 10, 20, 3);
    zero(&mut child, 4096 * 5, 4096);
    fill(&mut child, 16 * MIB - 100, 200, 4); // across the GT boundary
    fill(&mut child, size - 700, 200, 5); // inside the last, partial grain
    let opts = ChainOptions { cowd: CowdOptions { grain_sectors: 8, ..Default::default() }, ..Default::default() };
    check_chain(dir.path(), "odd", &[base, child], &[ExtentKind::VmfsSparse], &opts);
}

#[test]
fn sesparse_one_layer_every_zero_style() {
    if !qemu() {
        return;
    }
    let dir = scratch_dir("esxi-se1");
    // Three SEsparse grain tables (16 MiB each), a partial last grain.
    let size = 33 * MIB + 5 * 512;
    let mut base = vec![0u8; size];
    fill(&mut base, 0, 256 * 1024, 1);
    fill(&mut base, 20 * MIB, 8192, 2);
    fill(&mut base, size - 2048, 2048, 3);
    let mut child = base.clone();
    fill(&mut child, 4096 + 1, 3, 4);
    zero(&mut child, 8192, 4096); // became zero
    zero(&mut child, 20 * MIB, 8192); // two grains became zero, in the second table
    fill(&mut child, 16 * MIB - 10, 20, 5); // across a GT boundary
    fill(&mut child, 32 * MIB + 100, 10, 6); // third table
    fill(&mut child, size - 512, 100, 7); // partial last grain
    for (zeroed, order) in [
        (ZeroedGrains::ZeroEntry, AllocationOrder::Ascending),
        (ZeroedGrains::Unmapped, AllocationOrder::Ascending),
        (ZeroedGrains::Allocated, AllocationOrder::Descending),
    ] {
        let opts =
            ChainOptions { sesparse: SeSparseOptions { order, zeroed, ..Default::default() }, ..Default::default() };
        let name = format!("se-{zeroed:?}-{order:?}");
        check_chain(dir.path(), &name, &[base.clone(), child.clone()], &[ExtentKind::SeSparse], &opts);
    }
    let d = esxi::sesparse_delta_bytes(&base, &child, &SeSparseOptions::default()).unwrap();
    assert_eq!(d.layout.gt_offsets.len(), 3);
    let zero_entries = d.layout.grains.values().filter(|p| p.entry == 0x2000_0000_0000_0000).count();
    assert_eq!(zero_entries, 3);
}

/// More than 4096 allocated SEsparse grains, so that grain indices use the entry's high bits too
/// (`index >> 12` in the low 48 bits), in both allocation orders.
#[test]
fn sesparse_many_grains() {
    if !qemu() {
        return;
    }
    let dir = scratch_dir("esxi-se-many");
    let size = 24 * MIB + 3 * 512;
    let base = noise(1, size);
    let mut child = noise(2, size);
    zero(&mut child, 5 * MIB, 4096 * 3);
    for order in [AllocationOrder::Ascending, AllocationOrder::Descending] {
        let opts = ChainOptions { sesparse: SeSparseOptions { order, ..Default::default() }, ..Default::default() };
        check_chain(
            dir.path(),
            &format!("many-{order:?}"),
            &[base.clone(), child.clone()],
            &[ExtentKind::SeSparse],
            &opts,
        );
    }
    let d = esxi::sesparse_delta_bytes(&base, &child, &SeSparseOptions::default()).unwrap();
    assert!(d.layout.grains.values().filter(|p| p.data_offset.is_some()).count() > 6000);
    assert_eq!(esxi::sesparse_allocated_entry(0x12345), 0x3345_0000_0000_0012);
}

/// Bad inputs are errors, not panics.
#[test]
fn input_errors() {
    let opts = CowdOptions::default();
    assert!(matches!(esxi::cowd_delta_bytes(&[0; 512], &[0; 1024], &opts), Err(esxi::EsxiError::SizeMismatch { .. })));
    assert!(matches!(esxi::cowd_delta_bytes(&[], &[], &opts), Err(esxi::EsxiError::Empty)));
    assert!(matches!(
        esxi::cowd_delta_bytes(&[0; 700], &[0; 700], &opts),
        Err(esxi::EsxiError::NotSectorMultiple(700))
    ));
    let zero_grain = CowdOptions { grain_sectors: 0, ..Default::default() };
    assert!(matches!(esxi::cowd_delta_bytes(&[0; 512], &[0; 512], &zero_grain), Err(esxi::EsxiError::BadGrainSize(0))));
    // A short reader.
    let r = esxi::cowd_delta(&[0u8; 512][..], &[0u8; 1024][..], 1024, &opts);
    assert!(matches!(r, Err(esxi::EsxiError::Io(_))));
    // Corrupting a grain that did not change has no entry to corrupt.
    let bad = CowdOptions { corruptions: vec![Corruption::GrainPastEof(0)], ..Default::default() };
    assert!(matches!(esxi::cowd_delta_bytes(&[0; 512], &[0; 512], &bad), Err(esxi::EsxiError::Unsupported(_))));
    // An unchanged disk is a delta with no tables.
    let d = esxi::sesparse_delta_bytes(&[7; 8192], &[7; 8192], &SeSparseOptions::default()).unwrap();
    assert!(d.layout.gt_offsets.is_empty() && d.bytes.len() as u64 == d.layout.grains_offset);
}

/// The chain the fixtures use: flat base -> COWD -> SEsparse, overlapping changes, a grain zeroed in
/// the top layer, an odd size, several tables per layer.
#[test]
fn chain_flat_cowd_sesparse() {
    if !qemu() {
        return;
    }
    let dir = scratch_dir("esxi-chain");
    let size = 40 * MIB + 3584;
    let mut base = vec![0u8; size];
    fill(&mut base, 0, 2 * MIB, 1);
    fill(&mut base, 30 * MIB, MIB, 2);
    let mut l1 = base.clone();
    fill(&mut l1, MIB, 64 * 1024, 3); // A: over base data
    fill(&mut l1, 17 * MIB, 100_000, 4); // B: over zeros
    zero(&mut l1, 30 * MIB, 4096); // C: base data zeroed in layer 1
    let mut l2 = l1.clone();
    fill(&mut l2, 17 * MIB + 50_000, 100_000, 5); // overlaps B
    zero(&mut l2, MIB + 8192, 8192); // zeroes part of A (layer 1's data)
    zero(&mut l2, 30 * MIB + 65536, 4096); // zeroes base data
    fill(&mut l2, 30 * MIB + 1000, 100, 6); // rewrites C, zeroed in layer 1
    fill(&mut l2, size - 1000, 1000, 7); // the partial last grain
    let images = [base, l1, l2];
    check_chain(dir.path(), "chain", &images, &[ExtentKind::VmfsSparse, ExtentKind::SeSparse], &Default::default());
    // The reverse stacking too: SEsparse under COWD.
    check_chain(dir.path(), "rev", &images, &[ExtentKind::SeSparse, ExtentKind::VmfsSparse], &Default::default());
    // ESXi's names.
    for f in ["chain.vmdk", "chain-flat.vmdk", "chain-000001.vmdk", "chain-000001-delta.vmdk"] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    assert!(dir.join("chain-000002-sesparse.vmdk").is_file());
}

#[test]
fn chain_from_files() {
    if !qemu() {
        return;
    }
    let dir = scratch_dir("esxi-files");
    let size = 3 * MIB;
    let mut base = vec![0u8; size];
    fill(&mut base, 0, MIB, 1);
    let mut l1 = base.clone();
    fill(&mut l1, 2 * MIB, 4096, 2);
    let mut l2 = l1.clone();
    zero(&mut l2, 0, 8192);
    for (n, img) in [("b.raw", &base), ("1.raw", &l1), ("2.raw", &l2)] {
        std::fs::write(dir.join(n), img).unwrap();
    }
    let (b, p1, p2) = (dir.join("b.raw"), dir.join("1.raw"), dir.join("2.raw"));
    let files = write_chain(
        &dir.join("out"),
        "f",
        Image::File(&b),
        &[(ExtentKind::VmfsSparse, Image::File(&p1)), (ExtentKind::SeSparse, Image::File(&p2))],
        &Default::default(),
    )
    .unwrap();
    for (desc, want) in files.descriptors.iter().zip([&base, &l1, &l2]) {
        assert_same(&convert(desc), want, &desc.display().to_string());
    }
}

#[test]
fn descriptor_text() {
    let d = Descriptor::base("x-flat.vmdk", 131072, 0x1234abcd);
    let t = d.render();
    assert!(t.starts_with(
        "# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID=1234abcd\nparentCID=ffffffff\n\
         isNativeSnapshot=\"no\"\ncreateType=\"vmfs\"\n\n# Extent description\nRW 131072 VMFS \"x-flat.vmdk\"\n\n\
         # The Disk Data Base \n#DDB\n\nddb.adapterType = \"lsilogic\"\n"
    ));
    for key in ["ddb.geometry.cylinders = \"8\"", "ddb.virtualHWVersion = \"14\"", "ddb.uuid = \"", "ddb.deletable"] {
        assert!(t.contains(key), "{key}");
    }
    assert!(t.contains("ddb.longContentID = \"") && t.contains("1234abcd\"\n"));
    let s = Descriptor::snapshot(ExtentKind::SeSparse, "x-000001-sesparse.vmdk", 131072, 7, 0x1234abcd, "x.vmdk");
    let t = s.render();
    assert!(t.contains(
        "CID=00000007\nparentCID=1234abcd\nisNativeSnapshot=\"no\"\ncreateType=\"seSparse\"\n\
         parentFileNameHint=\"x.vmdk\"\n# Extent description\nRW 131072 SESPARSE \"x-000001-sesparse.vmdk\"\n"
    ));
    assert!(t.contains("ddb.grain = \"8\""));
    let c = Descriptor::snapshot(ExtentKind::VmfsSparse, "x-000001-delta.vmdk", 10, 7, 1, "x.vmdk").render();
    assert!(c.contains("createType=\"vmfsSparse\"") && c.contains("RW 10 VMFSSPARSE \"x-000001-delta.vmdk\""));
}

/// The hostile knobs do what they say; qemu's reaction is recorded (it refuses a wrong parentCID).
#[test]
fn hostile_knobs() {
    if !qemu() {
        return;
    }
    let dir = scratch_dir("esxi-hostile");
    let size = 3 * MIB;
    let mut base = vec![0u8; size];
    fill(&mut base, 0, MIB, 1);
    let mut child = base.clone();
    fill(&mut child, 2 * MIB + 512, 512, 2);
    let files = write_chain(
        dir.path(),
        "h",
        Image::Bytes(&base),
        &[(ExtentKind::VmfsSparse, Image::Bytes(&child))],
        &Default::default(),
    )
    .unwrap();
    // A wrong parentCID: qemu refuses to read through to the parent.
    let mut d =
        Descriptor::snapshot(ExtentKind::VmfsSparse, "h-000001-delta.vmdk", 6144, 5, files.cids[0] ^ 1, "h.vmdk");
    std::fs::write(dir.join("bad-cid.vmdk"), d.render()).unwrap();
    let err = try_convert(&dir.join("bad-cid.vmdk")).unwrap_err();
    eprintln!("wrong parentCID: qemu-img refused: {}", err.trim());
    assert!(!err.is_empty());
    d.parent_cid = files.cids[0];
    std::fs::write(dir.join("good-cid.vmdk"), d.render()).unwrap();
    assert_same(&convert(&dir.join("good-cid.vmdk")), &child, "fixed CID");

    let g = (2 * MIB + 512) as u64 / 512;
    let write = |name: &str, c: Corruption| {
        let e =
            esxi::cowd_delta_bytes(&base, &child, &CowdOptions { corruptions: vec![c], ..Default::default() }).unwrap();
        e.write_to(&dir.join(format!("{name}-delta.vmdk"))).unwrap();
        let d = Descriptor::snapshot(
            ExtentKind::VmfsSparse,
            &format!("{name}-delta.vmdk"),
            6144,
            9,
            files.cids[0],
            "h.vmdk",
        );
        std::fs::write(dir.join(format!("{name}.vmdk")), d.render()).unwrap();
        let r = try_convert(&dir.join(format!("{name}.vmdk")));
        eprintln!(
            "{name}: qemu-img {}",
            r.as_ref().map_or_else(|e| format!("refused: {}", e.trim()), |_| "read it (wrong data)".into())
        );
        (e, r)
    };
    // A GD one entry short: the changed grain's table is cut off.
    let (e, r) = write("gd-short", Corruption::GdSize(1));
    assert_eq!(u32::from_le_bytes(e.bytes[24..28].try_into().unwrap()), 1);
    assert!(r.map_or(true, |got| got != child), "qemu read the short GD as if whole");
    // A grain past the end of the file.
    let (e, r) = write("past-eof", Corruption::GrainPastEof(g));
    let entry = u32::from_le_bytes(e.bytes[e.layout.grains[&g].entry_offset as usize..][..4].try_into().unwrap());
    assert!(u64::from(entry) * 512 >= e.bytes.len() as u64);
    assert!(r.map_or(true, |got| got != child));
    // A grain pointing at its own grain table.
    let (e, r) = write("at-gt", Corruption::GrainAtTable(g));
    let entry = u32::from_le_bytes(e.bytes[e.layout.grains[&g].entry_offset as usize..][..4].try_into().unwrap());
    assert_eq!(u64::from(entry) * 512, e.layout.gt_offsets[&(g / 4096)]);
    assert!(r.map_or(true, |got| got != child));
    // SEsparse: a grain past the end; an entry of an unknown kind.
    for (name, c) in [
        ("se-past", Corruption::GrainPastEof(g / 8)),
        ("se-kind", Corruption::GrainEntry { grain: g / 8, value: 0x4000_0000_0000_0000 }),
    ] {
        let e =
            esxi::sesparse_delta_bytes(&base, &child, &SeSparseOptions { corruptions: vec![c], ..Default::default() })
                .unwrap();
        e.write_to(&dir.join(format!("{name}-sesparse.vmdk"))).unwrap();
        let d = Descriptor::snapshot(
            ExtentKind::SeSparse,
            &format!("{name}-sesparse.vmdk"),
            6144,
            9,
            files.cids[0],
            "h.vmdk",
        );
        std::fs::write(dir.join(format!("{name}.vmdk")), d.render()).unwrap();
        let r = try_convert(&dir.join(format!("{name}.vmdk")));
        eprintln!(
            "{name}: qemu-img {}",
            r.as_ref().map_or_else(|e| format!("refused: {}", e.trim()), |_| "read it (wrong data)".into())
        );
        assert!(r.map_or(true, |got| got != child), "{name}");
    }
    assert!(esxi::sesparse_delta_bytes(
        &base,
        &child,
        &SeSparseOptions { corruptions: vec![Corruption::GrainAtTable(g / 8)], ..Default::default() }
    )
    .is_err());
}

/// One random write: offset and length in bytes, and the data's seed (0: zeros).
fn writes(size: usize) -> impl Strategy<Value = Vec<(usize, usize, u64)>> {
    prop::collection::vec((0..size, 1..20_000usize, prop_oneof![Just(0u64), 1..u64::MAX]), 0..8)
}

fn apply(img: &mut [u8], ops: &[(usize, usize, u64)]) {
    for &(at, len, seed) in ops {
        let len = len.min(img.len() - at);
        if seed == 0 {
            zero(img, at, len)
        } else {
            fill(img, at, len, seed)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Random two-layer chains of random kinds and options over small images read back right.
    #[test]
    fn random_chains(
        sectors in 1usize..9000,
        seed in any::<u64>(),
        ops1 in writes(9000 * 512),
        ops2 in writes(9000 * 512),
        kinds in prop::sample::select(vec![
            [ExtentKind::VmfsSparse, ExtentKind::SeSparse],
            [ExtentKind::SeSparse, ExtentKind::VmfsSparse],
            [ExtentKind::VmfsSparse, ExtentKind::VmfsSparse],
            [ExtentKind::SeSparse, ExtentKind::SeSparse],
        ]),
        grain in prop::sample::select(vec![1u64, 2, 8, 16]),
        descending in any::<bool>(),
        interleaved in any::<bool>(),
        zeroed in prop::sample::select(vec![ZeroedGrains::ZeroEntry, ZeroedGrains::Unmapped, ZeroedGrains::Allocated]),
    ) {
        if !qemu() {
            return Ok(());
        }
        let size = sectors * 512;
        let clip = |ops: Vec<(usize, usize, u64)>| -> Vec<_> { ops.into_iter().map(|(a, l, s)| (a % size, l, s)).collect() };
        let mut base = vec![0u8; size];
        if seed % 3 != 0 {
            base[..size / 2].copy_from_slice(&noise(seed, size / 2));
        }
        let mut l1 = base.clone();
        apply(&mut l1, &clip(ops1));
        let mut l2 = l1.clone();
        apply(&mut l2, &clip(ops2));
        let order = if descending { AllocationOrder::Descending } else { AllocationOrder::Ascending };
        let opts = ChainOptions {
            cid_seed: seed,
            cowd: CowdOptions {
                grain_sectors: grain,
                order,
                tables: if interleaved { TablePlacement::Interleaved } else { TablePlacement::Upfront },
                ..Default::default()
            },
            sesparse: SeSparseOptions { order, zeroed, ..Default::default() },
        };
        let dir = scratch_dir("esxi-prop");
        check_chain(dir.path(), "p", &[base, l1, l2], &kinds, &opts);
    }
}
