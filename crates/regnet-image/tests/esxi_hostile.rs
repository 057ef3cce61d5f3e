//! Hostile ESXi snapshot deltas and chains, made by regnet-testkit's writer and then damaged:
//! huge grain directories, grain entries past the end of the file or on their own tables, raw
//! directory and table entries, capacities that disagree with the descriptor, parent chains that
//! loop or leave the image's folder, a parent whose CID changed, truncations and byte flips. Each
//! ends in a typed error (or, for the CID, a warning), quickly and without large allocations.

use regnet_image::container::vmdk::VmdkDisk;
use regnet_image::{Counters, DirResolver, FileSource, ImageError, ImageLimits, NoResolver, VirtualDisk};
use regnet_testkit::esxi::{
    cowd_delta_bytes, sesparse_delta_bytes, write_chain, ChainOptions, Corruption, CowdOptions, Descriptor, ExtentKind,
    Image, SeSparseOptions, SparseExtent,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Opens `name` in `dir` and reads the whole disk; the first error, and the warnings.
fn open_and_read(dir: &Path, name: &str) -> (regnet_image::Result<()>, Vec<String>) {
    let t = Instant::now();
    let limits = ImageLimits::default();
    let counters = Arc::new(Counters::default());
    let resolver = DirResolver::new(dir, &[], counters.clone(), limits);
    let mut warnings = vec![];
    let r = (|| {
        let src = FileSource::open_path(&dir.join(name), counters.clone(), &limits)?;
        let mut disk = VmdkDisk::open(src, &resolver, &limits)?;
        warnings = disk.warnings();
        let mut buf = vec![0u8; MIB];
        let mut off = 0;
        while off < disk.size() {
            let n = (disk.size() - off).min(MIB as u64);
            disk.read_at(off, &mut buf[..n as usize])?;
            off += n;
        }
        Ok(())
    })();
    // Tests never assert timings (scripts/hostile-check.sh measures them); a slow case shows here.
    if t.elapsed() > Duration::from_secs(1) {
        eprintln!("{name}: slow hostile case: {:?}", t.elapsed());
    }
    (r, warnings)
}

/// A 4 MiB base with data, and a changed copy (two COWD tables and one SEsparse table touched).
fn images() -> (Vec<u8>, Vec<u8>) {
    let size = 4 * MIB;
    let base: Vec<u8> = (0..size).map(|i| (i / 512 % 251) as u8).collect();
    let mut child = base.clone();
    child[1000..9000].fill(0x5a);
    child[2 * MIB + 512..2 * MIB + 4096].fill(0xa5);
    child[3 * MIB..3 * MIB + 4096].fill(0);
    (base, child)
}

/// Writes base (flat) and a one-delta chain whose delta file is `delta`; returns the top
/// descriptor's name.
fn chain_with(dir: &Path, kind: ExtentKind, delta: &SparseExtent) -> String {
    let (base, child) = images();
    let files =
        write_chain(dir, "vm", Image::Bytes(&base), &[(kind, Image::Bytes(&child))], &ChainOptions::default()).unwrap();
    delta.write_to(&files.extents[1]).unwrap();
    files.descriptors[1].file_name().unwrap().to_str().unwrap().to_owned()
}

fn cowd(corruptions: Vec<Corruption>) -> SparseExtent {
    let (base, child) = images();
    cowd_delta_bytes(&base, &child, &CowdOptions { corruptions, ..CowdOptions::default() }).unwrap()
}

fn sesparse(corruptions: Vec<Corruption>) -> SparseExtent {
    let (base, child) = images();
    sesparse_delta_bytes(&base, &child, &SeSparseOptions { corruptions, ..SeSparseOptions::default() }).unwrap()
}

type Check = fn(&ImageError) -> bool;

#[test]
fn hostile_cowd_deltas_give_typed_errors() {
    let dir = scratch("esxi-hostile-cowd");
    let good = cowd(vec![]);
    let name = chain_with(&dir, ExtentKind::VmfsSparse, &good);
    assert!(open_and_read(&dir, &name).0.is_ok());
    let l = &good.layout;
    let (first_grain, place) = l.grains.iter().next().map(|(g, p)| (*g, *p)).unwrap();
    let gt0 = *l.gt_offsets.values().next().unwrap();
    let cases: Vec<(&str, Vec<Corruption>, Check)> = vec![
        ("GD entries 2^32-1", vec![Corruption::GdSize(u64::from(u32::MAX))], |e| {
            // The declared directory then runs over the grain tables.
            matches!(e, ImageError::Corrupt { what: "VMDK COWD grain directory entry", .. })
        }),
        ("GD entries 1", vec![Corruption::GdSize(1)], |e| {
            matches!(e, ImageError::BadField { what: "VMDK COWD numGDEntries", offset: 24, .. })
        }),
        ("capacity 2^32-1", vec![Corruption::Capacity(u64::from(u32::MAX))], |e| {
            matches!(e, ImageError::BadField { .. } | ImageError::Corrupt { .. })
        }),
        ("capacity vs descriptor", vec![Corruption::Capacity(100)], |e| {
            matches!(e, ImageError::Corrupt { what: "VMDK extent line", .. })
        }),
        ("grain past EOF", vec![Corruption::GrainPastEof(first_grain)], |e| {
            matches!(e, ImageError::Truncated { what: "VMDK COWD grain", .. })
        }),
        ("grain at its table", vec![Corruption::GrainAtTable(first_grain)], |e| {
            matches!(e, ImageError::Corrupt { what: "VMDK COWD grain table entry", .. })
        }),
        ("grain on the header", vec![Corruption::GrainEntry { grain: first_grain, value: 2 }], |e| {
            matches!(e, ImageError::Corrupt { what: "VMDK COWD grain table entry", .. })
        }),
        ("grain on the GD", vec![Corruption::GrainEntry { grain: first_grain, value: 4 }], |e| {
            matches!(e, ImageError::Corrupt { what: "VMDK COWD grain table entry", .. })
        }),
        ("GT past EOF", vec![Corruption::GdEntry { index: 0, value: 1 << 31 }], |e| {
            matches!(e, ImageError::Truncated { what: "VMDK COWD grain table", .. })
        }),
        ("GT on the header", vec![Corruption::GdEntry { index: 0, value: 1 }], |e| {
            matches!(e, ImageError::Corrupt { what: "VMDK COWD grain directory entry", .. })
        }),
        ("two GDEs, one GT", vec![Corruption::GdEntry { index: 1, value: gt0 / 512 }], |e| {
            matches!(e, ImageError::Corrupt { what: "VMDK COWD grain table", .. })
        }),
        ("version 2", vec![Corruption::Bytes { offset: 4, bytes: 2u32.to_le_bytes().to_vec() }], |e| {
            matches!(e, ImageError::BadField { what: "VMDK COWD version", .. })
        }),
        ("grain size 0", vec![Corruption::Bytes { offset: 16, bytes: vec![0; 4] }], |e| {
            matches!(e, ImageError::BadField { what: "VMDK COWD grainSize", .. })
        }),
        ("GD sector 0", vec![Corruption::Bytes { offset: 20, bytes: vec![0; 4] }], |e| {
            matches!(e, ImageError::BadField { what: "VMDK COWD gdOffset", .. })
        }),
        ("magic", vec![Corruption::Bytes { offset: 0, bytes: b"KDMV".to_vec() }], |e| {
            matches!(e, ImageError::BadField { .. } | ImageError::Truncated { .. } | ImageError::Corrupt { .. })
        }),
    ];
    for (what, c, ok) in cases {
        let bad = cowd(c);
        chain_with(&dir, ExtentKind::VmfsSparse, &bad);
        match open_and_read(&dir, &name).0 {
            Err(e) => assert!(ok(&e), "{what}: unexpected error {e:?}"),
            Ok(()) => panic!("{what}: accepted"),
        }
    }
    // Truncations of the delta.
    let len = good.bytes.len() as u64;
    for cut in [0, 3, 4, 31, 2047, 2048, l.gd_offset + 2, gt0, gt0 + 100, place.data_offset.unwrap(), len - 1] {
        let bad = cowd(vec![]);
        let files_delta = dir.join(name.replace(".vmdk", "-delta.vmdk"));
        chain_with(&dir, ExtentKind::VmfsSparse, &bad);
        let f = std::fs::OpenOptions::new().write(true).open(&files_delta).unwrap();
        f.set_len(cut).unwrap();
        drop(f);
        let (r, _) = open_and_read(&dir, &name);
        assert!(r.is_err(), "cut at {cut}: accepted");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hostile_sesparse_deltas_give_typed_errors() {
    let dir = scratch("esxi-hostile-se");
    let good = sesparse(vec![]);
    let name = chain_with(&dir, ExtentKind::SeSparse, &good);
    assert!(open_and_read(&dir, &name).0.is_ok());
    let l = &good.layout;
    let first_grain = *l.grains.keys().next().unwrap();
    let gt0 = *l.gt_offsets.values().next().unwrap();
    let cases: Vec<(&str, Vec<Corruption>, Check)> = vec![
        ("GD size 2^40 sectors", vec![Corruption::GdSize(1 << 40)], |e| {
            matches!(e, ImageError::Corrupt { what: "VMDK SESparse constant header", .. })
        }),
        ("GD size 0", vec![Corruption::GdSize(0)], |e| {
            matches!(e, ImageError::BadField { what: "VMDK SESparse grain directory size", .. })
        }),
        ("capacity 2^58", vec![Corruption::Capacity(1 << 58)], |e| matches!(e, ImageError::BadField { .. })),
        ("capacity vs descriptor", vec![Corruption::Capacity(8)], |e| {
            matches!(e, ImageError::Corrupt { what: "VMDK extent line", .. })
        }),
        ("grain past EOF", vec![Corruption::GrainPastEof(first_grain)], |e| {
            matches!(e, ImageError::BadField { what: "VMDK SESparse grain table entry", .. })
        }),
        ("grain entry kind 7", vec![Corruption::GrainEntry { grain: first_grain, value: 7 << 60 }], |e| {
            matches!(e, ImageError::BadField { what: "VMDK SESparse grain table entry", .. })
        }),
        ("GD entry without its marker", vec![Corruption::GdEntry { index: 0, value: 5 }], |e| {
            matches!(e, ImageError::BadField { what: "VMDK SESparse grain directory entry", .. })
        }),
        ("GD entry past the tables", vec![Corruption::GdEntry { index: 0, value: 0x1000_0000_ffff_ffff }], |e| {
            matches!(e, ImageError::BadField { what: "VMDK SESparse grain directory entry", .. })
        }),
        (
            "grains region on the GD",
            vec![Corruption::Bytes { offset: 192, bytes: (l.gd_offset / 512).to_le_bytes().to_vec() }],
            |e| matches!(e, ImageError::Corrupt { what: "VMDK SESparse constant header", .. }),
        ),
        ("dirty", vec![Corruption::Bytes { offset: 512 + 24, bytes: vec![1] }], |e| {
            matches!(e, ImageError::Unsupported(_))
        }),
        ("volatile magic", vec![Corruption::Bytes { offset: 512, bytes: vec![0; 8] }], |e| {
            matches!(e, ImageError::BadSignature { .. })
        }),
        ("version", vec![Corruption::Bytes { offset: 8, bytes: vec![2] }], |e| {
            matches!(e, ImageError::BadField { what: "VMDK SESparse version", .. })
        }),
        ("padding", vec![Corruption::Bytes { offset: 300, bytes: vec![9] }], |e| {
            matches!(e, ImageError::BadField { what: "VMDK SESparse constant header padding", offset: 300, .. })
        }),
    ];
    for (what, c, ok) in cases {
        let bad = sesparse(c);
        chain_with(&dir, ExtentKind::SeSparse, &bad);
        match open_and_read(&dir, &name).0 {
            Err(e) => assert!(ok(&e), "{what}: unexpected error {e:?}"),
            Ok(()) => panic!("{what}: accepted"),
        }
    }
    let len = good.bytes.len() as u64;
    for cut in [0, 7, 8, 511, 512, 1000, l.gd_offset, l.gd_offset + 4, gt0, gt0 + 100, len - 1] {
        chain_with(&dir, ExtentKind::SeSparse, &good);
        let delta = dir.join(name.replace(".vmdk", "-sesparse.vmdk"));
        let f = std::fs::OpenOptions::new().write(true).open(&delta).unwrap();
        f.set_len(cut).unwrap();
        drop(f);
        assert!(open_and_read(&dir, &name).0.is_err(), "cut at {cut}: accepted");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn byte_flips_in_delta_metadata_never_panic() {
    let dir = scratch("esxi-flips");
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let (mut ok, mut errors) = (0, 0);
    for kind in [ExtentKind::VmfsSparse, ExtentKind::SeSparse] {
        let good = if kind == ExtentKind::SeSparse { sesparse(vec![]) } else { cowd(vec![]) };
        let name = chain_with(&dir, kind, &good);
        let delta = dir.join(name.replace(".vmdk", &format!("-{}.vmdk", kind.file_suffix())));
        let l = &good.layout;
        let gt0 = *l.gt_offsets.values().next().unwrap() as usize;
        for _ in 0..150 {
            let mut b = good.bytes.clone();
            for _ in 0..1 + next() % 3 {
                let r = next();
                let at = match r % 4 {
                    0 => (r >> 8) as usize % 512,
                    1 => l.gd_offset as usize + (r >> 8) as usize % 64,
                    2 => gt0 + (r >> 8) as usize % 4096,
                    _ => (r >> 8) as usize % b.len(),
                };
                b[at] = (next() >> 24) as u8;
            }
            std::fs::write(&delta, &b).unwrap();
            match open_and_read(&dir, &name).0 {
                Ok(()) => ok += 1,
                Err(_) => errors += 1,
            }
        }
    }
    eprintln!("ESXi delta flips: {ok} read, {errors} typed errors");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn parent_chains_that_loop_leave_the_folder_or_changed() {
    let root = scratch("esxi-parents");
    let dir = root.join("vm");
    let (base, child) = images();
    let files = write_chain(
        &dir,
        "vm",
        Image::Bytes(&base),
        &[(ExtentKind::VmfsSparse, Image::Bytes(&child))],
        &ChainOptions::default(),
    )
    .unwrap();
    let capacity = (base.len() / 512) as u64;
    let delta = files.extents[1].file_name().unwrap().to_str().unwrap().to_owned();
    let snap = |cid: u32, parent_cid: u32, hint: &str| {
        Descriptor::snapshot(ExtentKind::VmfsSparse, &delta, capacity, cid, parent_cid, hint).render()
    };
    // a → b → a.
    std::fs::write(dir.join("a.vmdk"), snap(1, 2, "b.vmdk")).unwrap();
    std::fs::write(dir.join("b.vmdk"), snap(2, 1, "a.vmdk")).unwrap();
    let (r, _) = open_and_read(&dir, "a.vmdk");
    assert!(matches!(r, Err(ImageError::Corrupt { what: "VMDK parent chain", .. })), "{r:?}");
    // Itself.
    std::fs::write(dir.join("self.vmdk"), snap(1, 1, "self.vmdk")).unwrap();
    let (r, _) = open_and_read(&dir, "self.vmdk");
    assert!(matches!(r, Err(ImageError::Corrupt { what: "VMDK parent chain", .. })), "{r:?}");
    // Outside the folder, absolute, a protocol name, missing.
    std::fs::write(root.join("outside.vmdk"), Descriptor::base("vm-flat.vmdk", capacity, 7).render()).unwrap();
    for hint in
        ["../outside.vmdk", "/etc/passwd", "json:{\"file.filename\":\"/etc/passwd\"}", "nbd://x/y", "missing.vmdk"]
    {
        std::fs::write(dir.join("h.vmdk"), snap(1, 2, hint)).unwrap();
        let (r, _) = open_and_read(&dir, "h.vmdk");
        assert!(
            matches!(
                r,
                Err(ImageError::ExternalReference { .. }) | Err(ImageError::Corrupt { what: "VMDK extent line", .. })
            ),
            "{hint}: {r:?}"
        );
    }
    // The parent's CID changed since the snapshot: read, with a warning.
    let top = files.descriptors[1].file_name().unwrap().to_str().unwrap().to_owned();
    let text = std::fs::read_to_string(&files.descriptors[1]).unwrap();
    let pcid = format!("parentCID={:08x}", files.cids[0]);
    std::fs::write(dir.join("changed.vmdk"), text.replace(&pcid, "parentCID=0badcafe")).unwrap();
    let (r, warnings) = open_and_read(&dir, "changed.vmdk");
    r.unwrap();
    assert!(warnings.len() == 1 && warnings[0].contains("0badcafe"), "{warnings:?}");
    let (r, warnings) = open_and_read(&dir, &top);
    r.unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    // A deep chain stops at max_chain_depth.
    let mut prev = files.descriptors[0].file_name().unwrap().to_str().unwrap().to_owned();
    for k in 0..20 {
        let name = format!("deep{k}.vmdk");
        std::fs::write(dir.join(&name), snap(100 + k, 99 + k, &prev)).unwrap();
        prev = name;
    }
    let (r, _) = open_and_read(&dir, &prev);
    assert!(matches!(r, Err(ImageError::LimitExceeded { limit: "max_chain_depth", .. })), "{r:?}");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_bare_delta_opens_without_parent_with_a_warning() {
    let (base, child) = images();
    let limits = ImageLimits::default();
    for kind in [ExtentKind::VmfsSparse, ExtentKind::SeSparse] {
        let delta = if kind == ExtentKind::SeSparse {
            sesparse_delta_bytes(&base, &child, &SeSparseOptions::default()).unwrap()
        } else {
            cowd_delta_bytes(&base, &child, &CowdOptions::default()).unwrap()
        };
        let src =
            FileSource::new("d", Box::new(std::io::Cursor::new(delta.bytes)), Arc::new(Counters::default()), &limits)
                .unwrap();
        let mut disk = VmdkDisk::open(src, &NoResolver, &limits).unwrap();
        assert_eq!(disk.size(), base.len() as u64);
        assert_eq!(disk.warnings().len(), 1, "{:?}", disk.warnings());
        let mut got = vec![0u8; base.len()];
        disk.read_at(0, &mut got).unwrap();
        // What the delta holds is the child's; the rest is zeros.
        assert_eq!(got[1000..9000], child[1000..9000]);
        assert!(got[20_000..30_000].iter().all(|&b| b == 0));
    }
}
