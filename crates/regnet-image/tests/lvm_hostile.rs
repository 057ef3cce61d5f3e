//! Hostile LVM2 inputs through the public API: each ends in a result or a typed `ImageError`,
//! (within 2 s, as scripts/hostile-check.sh measures), with no single allocation above 32 MiB (a size taken from the disk cannot hide).
//!
//! PVs are made by the independent test-only writer (`regnet_testkit::lvm`) and then patched:
//! `raw_locn` larger than its area, offsets past the area and the PV, 2^32 segments, an LV past
//! its PV, a PV UUID seen twice, nesting bombs and huge lists in the text, wrong CRCs (label,
//! metadata area header, text), wrapped text, truncations and byte flips.

use regnet_image::lvm::{self, PhysicalVolume};
use regnet_image::{share, Counters, FileSource, ImageError, ImageLimits, RawDisk, Region, Volume};
use regnet_testkit::lvm::{self as w, LvSpec, PvImage, PvLayout, SegSpec, VgSpec};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Records the largest single allocation.
struct Largest;
static LARGEST: AtomicUsize = AtomicUsize::new(0);
unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LARGEST.fetch_max(l.size(), Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LARGEST.fetch_max(n, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}
#[global_allocator]
static ALLOC: Largest = Largest;

const MAX_ALLOC: usize = 32 << 20;
const SLOW: Duration = Duration::from_secs(1);
const KIB: u64 = 1024;

fn region(bytes: Vec<u8>) -> Region {
    let len = bytes.len() as u64;
    let src = FileSource::new(
        "pv",
        Box::new(std::io::Cursor::new(bytes)),
        Arc::new(Counters::default()),
        &ImageLimits::default(),
    )
    .unwrap();
    Region::new(share(Box::new(RawDisk::new(src))), 0, len).unwrap()
}

/// Per VG: its name, and per LV its name and whether it reads (or why not).
type VgOutcome = (String, Vec<(String, Result<(), String>)>);

/// What one input came to.
#[derive(Debug)]
enum Outcome {
    /// No LVM label.
    NoPv,
    /// Probing failed with this error.
    Probe(ImageError),
    /// Assembled: per VG, per LV, readable or why not; and the VGs' warnings.
    Vgs(Vec<VgOutcome>, Vec<String>),
}

/// Probes, assembles, opens every LV and reads near its edges; timed and allocation-checked.
fn run(name: &str, pvs: Vec<Vec<u8>>) -> Outcome {
    run_with(name, pvs, &ImageLimits::default())
}

fn run_with(name: &str, pvs: Vec<Vec<u8>>, limits: &ImageLimits) -> Outcome {
    let regions: Vec<Region> = pvs.into_iter().map(region).collect();
    let t = Instant::now();
    let mut found: Vec<PhysicalVolume> = Vec::new();
    for r in &regions {
        match lvm::probe(r, limits) {
            Ok(Some(pv)) => found.push(pv),
            Ok(None) => {}
            Err(e) => return check(name, t, Outcome::Probe(e)),
        }
    }
    if found.is_empty() {
        return check(name, t, Outcome::NoPv);
    }
    let vgs = lvm::assemble(&found, limits).unwrap();
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    for vg in &vgs {
        warnings.extend(vg.warnings.iter().cloned());
        let mut lvs = Vec::new();
        for lv in &vg.lvs {
            let opened = lvm::open_lv(vg, &found, &lv.name);
            assert_eq!(
                opened.is_ok(),
                lv.readable.is_ok(),
                "{name}: {} {:?} vs {:?}",
                lv.name,
                lv.readable,
                opened.err()
            );
            if let Ok(mut v) = opened {
                let mut buf = vec![0u8; 8192];
                for at in [0, v.len() / 2, v.len().saturating_sub(4096), v.len().saturating_sub(1)] {
                    let n = (v.len() - at).min(4096) as usize;
                    v.read_exact_at(at, &mut buf[..n]).unwrap();
                }
                assert!(v.read_exact_at(v.len(), &mut buf[..1]).is_err());
            }
            lvs.push((lv.name.clone(), lv.readable.clone()));
        }
        out.push((vg.name.clone(), lvs));
    }
    check(name, t, Outcome::Vgs(out, warnings))
}

fn check(name: &str, t: Instant, o: Outcome) -> Outcome {
    let took = t.elapsed();
    // Tests never assert timings (scripts/hostile-check.sh measures them); a slow case shows here.
    if took > SLOW {
        eprintln!("{name}: slow hostile case: {took:?}");
    }
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(largest < MAX_ALLOC, "{name}: an allocation of {largest} bytes");
    o
}

fn probe_err(o: Outcome) -> ImageError {
    match o {
        Outcome::Probe(e) => e,
        o => panic!("expected a probe error, got {o:?}"),
    }
}

fn lv_result(o: &Outcome, lv: &str) -> Result<(), String> {
    match o {
        Outcome::Vgs(vgs, _) => vgs[0].1.iter().find(|(n, _)| n == lv).unwrap().1.clone(),
        o => panic!("expected VGs, got {o:?}"),
    }
}

/// A one-PV VG (`PvLayout::new`: a ~1 MiB metadata area) with the given LVs.
fn vg_with(lvs: Vec<LvSpec>, size: u64) -> VgSpec {
    let mut vg = VgSpec::new("hvg", 8);
    vg.add_pv("pv0", PvLayout::new("hostile-pv0", size));
    vg.lvs = lvs;
    vg
}

/// `vg`'s first PV with `text` committed (CRC right).
fn with_text(vg: &VgSpec, text: &str) -> Vec<u8> {
    let mut img = PvImage::new(vg.pvs[0].layout.clone());
    img.commit(text);
    img.bytes
}

fn basic() -> (VgSpec, PvImage) {
    let vg = vg_with(vec![LvSpec::new("root", vec![SegSpec::linear(0, 16, "pv0", 0)])], 2 << 20);
    let img = vg.write().remove(0);
    (vg, img)
}

fn set_locn(img: &mut PvImage, offset: u64, size: u64) {
    let at = img.mda_at(0);
    img.bytes[at + 40..at + 48].copy_from_slice(&offset.to_le_bytes());
    img.bytes[at + 48..at + 56].copy_from_slice(&size.to_le_bytes());
    img.reseal_mda_header(0);
}

#[test]
fn raw_locn_larger_than_its_area_or_past_it() {
    let (_, img) = basic();
    let area = (1 << 20) - 4096;
    for (offset, size) in [
        (512, area),
        (512, area + 1),
        (512, u64::MAX),
        (512, 1 << 40),
        (area, 100),
        (area + 512, 10),
        (u64::MAX, 1),
        (0x100, 16),
    ] {
        let mut b = img.clone();
        set_locn(&mut b, offset, size);
        let e = probe_err(run(&format!("raw_locn {offset} {size}"), vec![b.bytes]));
        assert!(matches!(e, ImageError::BadField { .. }), "{offset} {size}: {e}");
    }
    // The metadata area itself past the PV's end (its header entry patched).
    for (offset, size) in [(4096, 1 << 40), (u64::MAX - 4, 1024), (3 << 20, 4096)] {
        let mut b = img.clone();
        let l = b.label_at();
        b.bytes[l + 104..l + 112].copy_from_slice(&u64::to_le_bytes(offset));
        b.bytes[l + 112..l + 120].copy_from_slice(&u64::to_le_bytes(size));
        b.reseal_label();
        let e = probe_err(run("mda past the PV", vec![b.bytes]));
        assert!(matches!(e, ImageError::OutOfRange { .. }), "{e}");
    }
}

#[test]
fn segments_two_to_the_32() {
    let (vg, _) = basic();
    let text = vg.text();
    for (from, to, want) in [
        ("segment_count = 1", "segment_count = 4294967296", "expected segment_count"),
        ("segment_count = 1", "segment_count = 4294967295", "segment_count is 4294967295, but it has 1 segments"),
        ("extent_count = 16", "extent_count = 4294967296", "expected extent_count"),
        ("stripe_count = 1", "stripe_count = 4294967295\nstripe_size = 8", "do not divide"),
        ("start_extent = 0", "start_extent = 4294967295", "gap or overlap"),
    ] {
        let o = run(to, vec![with_text(&vg, &text.replacen(from, to, 1))]);
        let why = lv_result(&o, "root").unwrap_err();
        assert!(why.contains(want), "{to}: {why}");
    }
    // 2^32 - 1 stripes that do divide the extents, with a two-item list.
    let t = text.replacen("extent_count = 16", "extent_count = 4294967295", 1).replacen(
        "stripe_count = 1",
        "stripe_count = 4294967295\nstripe_size = 8",
        1,
    );
    let why = lv_result(&run("2^32-1 stripes", vec![with_text(&vg, &t)]), "root").unwrap_err();
    assert!(why.contains("stripes has 2 items"), "{why}");
    // As many segments as 1 MiB of text holds, over the segment limit: refused before any is read.
    let segs: Vec<SegSpec> = (0..5000).map(|i| SegSpec::linear(i, 1, "pv0", i % 200)).collect();
    let many = vg_with(vec![LvSpec::new("many", segs)], 2 << 20);
    let bytes = with_text(&many, &many.text());
    let limits = {
        let mut l = ImageLimits::default();
        l.max_lvm_segments = 4096;
        l
    };
    let e = probe_err(run_with("5000 segments, limit 4096", vec![bytes.clone()], &limits));
    assert!(matches!(e, ImageError::LimitExceeded { limit: "max_lvm_segments", value: 5000, .. }), "{e}");
    // Under the default limit, all 5000 are read and the LV reads through them.
    assert_eq!(lv_result(&run("5000 segments", vec![bytes]), "many"), Ok(()));
    // LVs whose sizes overflow 64-bit byte offsets: extent_size 2^32 - 1 sectors.
    let huge = text.replacen("extent_size = 8", "extent_size = 4294967295", 1);
    let o = run("huge extents", vec![with_text(&vg, &huge)]);
    assert!(lv_result(&o, "root").is_err());
}

#[test]
fn an_lv_past_its_pv() {
    let mut vg = vg_with(
        vec![
            LvSpec::new("inside", vec![SegSpec::linear(0, 4, "pv0", 0)]),
            LvSpec::new("past_end", vec![SegSpec::linear(0, 100, "pv0", 200)]),
            LvSpec::new("past_count", vec![SegSpec::linear(0, 10, "pv0", 4294967290)]),
            LvSpec::new(
                "second_segment_past",
                vec![SegSpec::linear(0, 1, "pv0", 1), SegSpec::linear(1, 1, "pv0", 999_999)],
            ),
        ],
        2 << 20,
    );
    vg.pvs[0].pe_count = Some(4294967295);
    let o = run("LV past its PV", vec![with_text(&vg, &vg.text())]);
    assert_eq!(lv_result(&o, "inside"), Ok(()));
    for lv in ["past_end", "past_count", "second_segment_past"] {
        assert!(lv_result(&o, lv).is_err(), "{lv}");
    }
    let Outcome::Vgs(_, warnings) = &o else { panic!() };
    assert!(warnings.iter().any(|w| w.contains("run past the end")), "{warnings:?}");
}

#[test]
fn a_pv_uuid_seen_twice() {
    let (_, img) = basic();
    let o = run("duplicate PV", vec![img.bytes.clone(), img.bytes.clone()]);
    let Outcome::Vgs(vgs, warnings) = &o else { panic!("{o:?}") };
    assert_eq!(vgs.len(), 1);
    assert!(warnings.iter().any(|w| w.contains("two volumes") && w.contains("first is used")), "{warnings:?}");
    assert_eq!(lv_result(&o, "root"), Ok(()));
    // The same UUID with different VGs on it: still the first PV's.
    let mut other = vg_with(vec![], 2 << 20);
    other.name = "other".into();
    other.uuid = w::uuid("other-vg");
    let o = run("duplicate PV, two VGs", vec![img.bytes.clone(), with_text(&other, &other.text())]);
    let Outcome::Vgs(vgs, _) = &o else { panic!("{o:?}") };
    assert_eq!(vgs.iter().map(|v| v.0.as_str()).collect::<Vec<_>>(), ["hvg"]);
}

#[test]
fn nesting_bombs_and_huge_lists() {
    let (vg, _) = basic();
    let fit = 1_000_000;
    let text = vg.text();
    let cases = [
        ("sections 500,000 deep", "a{".repeat(fit / 2)),
        ("lists in lists", format!("a = {}", "[".repeat(fit - 4))),
        ("a list of 500,000 items", format!("{text}big = [{}]\n", "1,".repeat(fit / 2 - 40_000))),
        (
            "250,000 keys",
            format!("{text}{}", &(0..250_000).map(|i| format!("k{i:x}=1\n")).collect::<String>()[..fit - 40_000]),
        ),
        ("closing braces only", "}".repeat(fit)),
        (
            "130,000 empty sections",
            (0..200_000).map(|i| format!("{i:x}{{}}")).collect::<String>()[..fit - 40_000].to_string(),
        ),
        (
            "130,000 LVs",
            format!("{}{{ {} }}", "v", &(0..200_000).map(|i| format!("{i:x}{{}}")).collect::<String>()[..fit - 40_000]),
        ),
        ("an unterminated string", format!("a = \"{}", "x".repeat(fit - 10))),
        ("a comment to the end", format!("# {}", "x".repeat(fit - 10))),
        ("a long name", "n".repeat(fit)),
        ("numbers that overflow", format!("{text}big = [{}]\n", "99999999999999999999999,".repeat(30_000))),
        ("NULs", "\0".repeat(fit)),
    ];
    for (name, t) in cases {
        match run(name, vec![with_text(&vg_with(vec![], 4 << 20), &t)]) {
            Outcome::Probe(ImageError::Corrupt { .. }) | Outcome::Vgs(..) => {}
            o => panic!("{name}: {o:?}"),
        }
    }
}

#[test]
fn wrong_crcs() {
    let (_, img) = basic();
    let mut b = img.clone();
    let at = b.label_at() + 200;
    b.bytes[at] ^= 1;
    assert!(matches!(probe_err(run("label CRC", vec![b.bytes])), ImageError::BadChecksum { .. }));
    let mut b = img.clone();
    let at = b.mda_at(0) + 300;
    b.bytes[at] ^= 1;
    assert!(matches!(probe_err(run("mda header CRC", vec![b.bytes])), ImageError::BadChecksum { .. }));
    let mut b = img.clone();
    let at = b.mda_at(0) + 512 + 10;
    b.bytes[at] ^= 1;
    assert!(matches!(
        probe_err(run("text CRC", vec![b.bytes])),
        ImageError::BadChecksum { what: "LVM metadata text", .. }
    ));
}

#[test]
fn wrapped_text_reads() {
    let (vg, _) = basic();
    let text = vg.text();
    let len = text.len() as u64 + 1;
    let area = (1 << 20) - 4096;
    for back in [1, 2, 511, 512, len / 2, len - 1] {
        let mut img = PvImage::new(vg.pvs[0].layout.clone());
        img.commit_at(0, area - back, &text);
        assert_eq!(img.wrapped(0), back < len);
        assert_eq!(lv_result(&run("wrapped", vec![img.bytes]), "root"), Ok(()), "{back}");
    }
    // A wrapped text whose second piece was not written: the CRC catches it.
    let mut img = PvImage::new(vg.pvs[0].layout.clone());
    img.commit_at(0, area - 100, &text);
    let at = img.mda_at(0) + 512;
    img.bytes[at..at + 200].fill(0);
    assert!(matches!(probe_err(run("half a wrap", vec![img.bytes])), ImageError::BadChecksum { .. }));
}

#[test]
fn truncations_and_byte_flips() {
    let mut vg = VgSpec::new("fvg", 8);
    vg.add_pv("pv0", PvLayout::small("flip-0", 256 * KIB));
    vg.add_pv("pv1", PvLayout::small("flip-1", 256 * KIB));
    vg.lvs.push(LvSpec::new("s", vec![SegSpec::striped(0, 8, 8, &[("pv0", 0), ("pv1", 0)])]));
    vg.lvs.push(LvSpec::new("l", vec![SegSpec::linear(0, 3, "pv0", 50), SegSpec::linear(3, 5, "pv1", 10)]));
    let imgs = vg.write();
    let (a, b) = (imgs[0].bytes.clone(), imgs[1].bytes.clone());
    let text_len = imgs[0].committed[0].unwrap().1 as usize;
    let mut outcomes = [0usize; 3];
    let mut count = |o: Outcome| match o {
        Outcome::NoPv => outcomes[0] += 1,
        Outcome::Probe(_) => outcomes[1] += 1,
        Outcome::Vgs(..) => outcomes[2] += 1,
    };
    for len in (0..a.len()).step_by(512).chain([1, 511, 513, 4096 + 511, 4096 + 512 + 100]) {
        count(run("truncated", vec![a[..len].to_vec(), b.clone()]));
    }
    // Every byte of the label sector, the metadata area header and the text, three ways.
    let spots = (512..1024).chain(4096..4096 + 512 + text_len);
    for at in spots {
        for x in [0x01u8, 0x80, 0xff] {
            let mut f = a.clone();
            f[at] ^= x;
            count(run("flipped", vec![f, b.clone()]));
        }
    }
    eprintln!(
        "truncations and flips: {} without a PV, {} typed errors, {} assembled",
        outcomes[0], outcomes[1], outcomes[2]
    );
    assert!(outcomes[1] > 0 && outcomes[2] > 0, "{outcomes:?}");
}
