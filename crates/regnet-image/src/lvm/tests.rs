//! Unit tests of the LVM2 reader, on PVs made by the independent test-only writer
//! (`regnet_testkit::lvm`).
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]

use super::*;
use crate::disk::RawDisk;
use crate::source::{Counters, FileSource};
use crate::volume::{share, SharedDisk};
use regnet_testkit::lvm::{self as w, LvSpec, PvImage, PvLayout, SegSpec, VgSpec};

const KIB: u64 = 1024;

fn disk(bytes: Vec<u8>) -> SharedDisk {
    let src = FileSource::new(
        "mem",
        Box::new(std::io::Cursor::new(bytes)),
        Arc::new(Counters::default()),
        &ImageLimits::default(),
    )
    .unwrap();
    share(Box::new(RawDisk::new(src)))
}

fn whole(bytes: Vec<u8>) -> Region {
    let len = bytes.len() as u64;
    Region::new(disk(bytes), 0, len).unwrap()
}

fn limits() -> ImageLimits {
    ImageLimits::default()
}

fn probe_bytes(bytes: Vec<u8>) -> Result<Option<PhysicalVolume>> {
    probe(&whole(bytes), &limits())
}

fn pv(bytes: Vec<u8>) -> PhysicalVolume {
    probe_bytes(bytes).unwrap().unwrap()
}

/// A one-PV VG `vg` (4 KiB extents, 256 KiB PV) with the LVs given.
fn one_pv_vg(seed: &str, lvs: Vec<LvSpec>) -> VgSpec {
    let mut vg = VgSpec::new("vg", 8);
    vg.add_pv("pv0", PvLayout::small(seed, 256 * KIB));
    vg.lvs = lvs;
    vg
}

/// A PV of `vg`'s first PV's layout with `text` committed.
fn pv_with_text(vg: &VgSpec, text: &str) -> Vec<u8> {
    let mut img = PvImage::new(vg.pvs[0].layout.clone());
    img.commit(text);
    img.bytes
}

fn sample(name: &str) -> Vec<u8> {
    w::samples().into_iter().find(|(n, _)| *n == name).unwrap().1
}

fn read_all(v: &mut LvVolume) -> Vec<u8> {
    let mut buf = vec![0u8; v.len() as usize];
    v.read_exact_at(0, &mut buf).unwrap();
    buf
}

/// The bytes `count` extents from `first_pe` of a PV filled with salt `salt` hold.
fn expected(salt: u8, pe_start: u64, first_pe: u64, count: u64) -> Vec<u8> {
    let from = pe_start + first_pe * 4096;
    (from..from + count * 4096).map(|at| w::pattern_byte(salt, at)).collect()
}

#[test]
fn no_label_is_none() {
    assert!(probe_bytes(vec![0u8; 4096]).unwrap().is_none());
    assert!(probe_bytes(vec![0u8; 100]).unwrap().is_none());
    assert!(probe_bytes(vec![]).unwrap().is_none());
    let (pvs, errors) = scan(&[whole(vec![0u8; 4096]), whole(sample("linear.img")), whole(vec![7u8; 2048])], &limits());
    assert_eq!((pvs.len(), errors.len()), (1, 0));
}

#[test]
fn linear_sample_reads_through_its_segments() {
    let p = pv(sample("linear.img"));
    assert_eq!(p.vg_name.as_deref(), Some("vg0"));
    assert_eq!(p.seqno, Some(1));
    assert_eq!(p.label_sector, 1);
    assert_eq!(p.uuid, w::dashed(&w::uuid("linear-pv0")));
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    let pvs = vec![p];
    let vgs = assemble(&pvs, &limits()).unwrap();
    assert_eq!(vgs.len(), 1);
    let vg = &vgs[0];
    assert_eq!((vg.name.as_str(), vg.seqno, vg.extent_bytes), ("vg0", 1, 4096));
    assert_eq!(vg.uuid, w::dashed(&w::uuid("vg:vg0")));
    assert!(vg.warnings.is_empty(), "{:?}", vg.warnings);
    assert_eq!(vg.pvs.len(), 1);
    assert_eq!((vg.pvs[0].pe_start, vg.pvs[0].pe_count, vg.pvs[0].found), (32 * KIB, 56, true));
    let root = &vg.lvs[0];
    assert_eq!((root.name.as_str(), root.size, root.kind.as_str(), root.visible), ("root", 16 * 4096, "linear", true));
    assert_eq!(root.readable, Ok(()));
    assert_eq!(root.segments.len(), 2);
    assert_eq!(root.segments[1].stripes, vec![(pvs[0].uuid.clone(), 2)]);
    let mut v = open_lv(vg, &pvs, "root").unwrap();
    assert_eq!((v.name(), v.len(), v.segment_count()), ("vg0/root", 16 * 4096, 2));
    let mut want = expected(1, 32 * KIB, 20, 10);
    want.extend(expected(1, 32 * KIB, 2, 6));
    assert_eq!(read_all(&mut v), want);
    // Reads across the segment boundary, at the edges, and past the end.
    let mut b = [0u8; 100];
    v.read_exact_at(10 * 4096 - 50, &mut b).unwrap();
    assert_eq!(&b[..], &want[10 * 4096 - 50..10 * 4096 + 50]);
    let mut one = [0u8; 1];
    v.read_exact_at(v.len() - 1, &mut one).unwrap();
    assert_eq!(one[0], *want.last().unwrap());
    assert!(matches!(v.read_exact_at(v.len(), &mut one), Err(ImageError::OutOfRange { .. })));
    assert!(v.read_exact_at(u64::MAX, &mut one).is_err());
    v.read_exact_at(v.len(), &mut []).unwrap();
    assert!(matches!(open_lv(vg, &pvs, "nope"), Err(ImageError::NotFound { .. })));
}

#[test]
fn striped_and_spanning_lvs_over_two_pvs() {
    let d = disk(sample("striped.img"));
    let a = Region::new(d.clone(), 0, 256 * KIB).unwrap();
    let b = Region::new(d.clone(), 256 * KIB, 256 * KIB).unwrap();
    // The second PV given first: order does not matter, UUIDs do.
    let pvs = vec![probe(&b, &limits()).unwrap().unwrap(), probe(&a, &limits()).unwrap().unwrap()];
    let vgs = assemble(&pvs, &limits()).unwrap();
    let vg = &vgs[0];
    assert!(vg.warnings.is_empty(), "{:?}", vg.warnings);
    let data = &vg.lvs[0];
    assert_eq!((data.kind.as_str(), data.size), ("striped", 8 * 4096));
    assert_eq!(data.segments[0].stripe_size, 4096);
    let mut v = open_lv(vg, &pvs, "data").unwrap();
    let got = read_all(&mut v);
    // Chunks of 4 KiB alternate: pv0 extent 0, pv1 extent 0, pv0 extent 1, …
    let mut want = Vec::new();
    for row in 0..4 {
        want.extend(expected(2, 32 * KIB, row, 1));
        want.extend(expected(3, 32 * KIB, row, 1));
    }
    assert_eq!(got, want);
    let mut buf = [0u8; 5000];
    v.read_exact_at(4096 - 2500, &mut buf).unwrap();
    assert_eq!(&buf[..], &want[4096 - 2500..4096 + 2500]);
    let mut v = open_lv(vg, &pvs, "span").unwrap();
    let mut want = expected(2, 32 * KIB, 50, 3);
    want.extend(expected(3, 32 * KIB, 10, 5));
    assert_eq!(read_all(&mut v), want);
    // Without the second PV: a warning, and the LVs on it name its UUID.
    let only_a = vec![probe(&a, &limits()).unwrap().unwrap()];
    let vgs = assemble(&only_a, &limits()).unwrap();
    let missing_uuid = w::dashed(&w::uuid("striped-pv1"));
    assert!(
        vgs[0].warnings.iter().any(|w| w.contains(&missing_uuid) && w.contains("not found")),
        "{:?}",
        vgs[0].warnings
    );
    assert!(!vgs[0].pvs[1].found);
    assert!(vgs[0].lvs[0].readable.as_ref().unwrap_err().contains(&missing_uuid));
    match open_lv(&vgs[0], &only_a, "span") {
        Err(ImageError::NotFound { path, .. }) => assert!(path.contains(&missing_uuid), "{path}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn wrapped_metadata_is_joined() {
    let p = pv(sample("wrapped.img"));
    let seqno = p.seqno.unwrap();
    assert!(seqno >= 40);
    assert!(p.meta.as_ref().unwrap().wrapped);
    let vgs = assemble(std::slice::from_ref(&p), &limits()).unwrap();
    assert_eq!(vgs[0].lvs.len() as u64, seqno % 5 + 1);
    assert_eq!(vgs[0].lvs[0].name, "lv0");
    // A text that wraps by a single byte, and one that starts in the last sector.
    let mut vg = one_pv_vg("wrap1", vec![LvSpec::new("a", vec![SegSpec::linear(0, 1, "pv0", 0)])]);
    for extra in [0usize, 1, 700] {
        vg.seqno = 3 + extra as u64;
        let text = format!("{}# {}\n", vg.text(), "x".repeat(extra));
        let len = text.len() as u64 + 1;
        let mut img = PvImage::new(vg.pvs[0].layout.clone());
        let area = 28 * KIB;
        img.commit_at(0, area - len + 1, &text);
        assert!(img.wrapped(0));
        let p = pv(img.bytes);
        assert_eq!(p.seqno, Some(vg.seqno));
        assert!(p.meta.unwrap().wrapped);
    }
}

#[test]
fn refused_kinds_are_named() {
    let p = pv(sample("refused.img"));
    let pvs = vec![p];
    let vgs = assemble(&pvs, &limits()).unwrap();
    let vg = &vgs[0];
    let kind = |n: &str| vg.lvs.iter().find(|l| l.name == n).unwrap().clone();
    for (name, k) in
        [("pool", "thin-pool"), ("thin", "thin"), ("mirror", "raid1"), ("snap", "snapshot"), ("snapshot0", "snapshot")]
    {
        let lv = kind(name);
        assert_eq!(lv.kind, k, "{name}");
        assert!(lv.readable.as_ref().unwrap_err().contains("not read"), "{name}: {:?}", lv.readable);
        match open_lv(vg, &pvs, name) {
            Err(ImageError::Unsupported(m)) => assert!(m.contains(k) && m.contains(name), "{m}"),
            other => panic!("{name}: {other:?}"),
        }
    }
    assert_eq!(kind("thin").size, 8 * 4096);
    assert!(kind("snap").readable.unwrap_err().contains("copy-on-write store of snapshot \"snapshot0\" of \"origin\""));
    let origin = kind("origin");
    assert_eq!((origin.kind.as_str(), origin.readable.clone()), ("linear", Ok(())));
    let tdata = kind("pool_tdata");
    assert!(!tdata.visible && tdata.readable.is_ok());
    assert_eq!(read_all(&mut open_lv(vg, &pvs, "origin").unwrap()), expected(5, 32 * KIB, 10, 4));
}

#[test]
fn two_metadata_areas_and_a_label_in_sector_0() {
    let bytes = sample("two-mdas.img");
    let p = pv(bytes.clone());
    assert_eq!((p.label_sector, p.seqno), (0, Some(1)));
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    // The second area damaged: a warning, the first copy is used.
    let mut b = bytes.clone();
    let second = 256 * KIB as usize - 16 * 1024;
    b[second + 600] ^= 0xff;
    let p = pv(b.clone());
    assert_eq!(p.seqno, Some(1));
    assert!(p.warnings[0].contains("damaged") && p.warnings[0].contains("checksum"), "{:?}", p.warnings);
    // Both damaged: the first copy's error.
    b[4096 + 600] ^= 0xff;
    assert!(matches!(probe_bytes(b), Err(ImageError::BadChecksum { what: "LVM metadata text", offset: 4608, .. })));
    // A newer copy in the second area wins.
    let mut vg = VgSpec::new("vg2", 8);
    let mut layout = PvLayout::small("two-mdas-pv0", 256 * KIB);
    layout.mdas.push((256 * KIB - 16 * KIB, 16 * KIB));
    vg.add_pv("pv0", layout);
    let mut img = PvImage::new(vg.pvs[0].layout.clone());
    img.commit_at(0, 512, &vg.text());
    vg.seqno = 9;
    img.commit_at(1, 512, &vg.text());
    assert_eq!(pv(img.bytes.clone()).seqno, Some(9));
    // Areas that describe two different VGs: the higher seqno, with a warning.
    let mut other = VgSpec::new("vgx", 8);
    other.pvs = vg.pvs.clone();
    other.seqno = 4;
    img.commit_at(0, 512, &other.text());
    let p = pv(img.bytes);
    assert_eq!(p.vg_name.as_deref(), Some("vg2"));
    assert!(p.warnings.iter().any(|w| w.contains("two VGs")), "{:?}", p.warnings);
}

#[test]
fn an_orphan_pv_and_an_ignored_area() {
    let layout = PvLayout::small("orphan", 256 * KIB);
    let img = PvImage::new(layout.clone());
    let p = pv(img.bytes.clone());
    assert_eq!((p.vg_name.clone(), p.seqno), (None, None));
    assert!(assemble(&[p], &limits()).unwrap().is_empty());
    let mut img = PvImage::new(layout);
    let vg = one_pv_vg("orphan", vec![]);
    img.commit(&vg.text());
    let (o, z) = img.committed[0].unwrap();
    let c = w::crc(w::INITIAL_CRC, &img.bytes[4096 + o as usize..4096 + (o + z) as usize]);
    img.write_mda_header(0, Some((o, z, c, 1)));
    assert_eq!(pv(img.bytes).vg_name, None);
    // A PV that keeps no metadata areas at all.
    let mut layout = PvLayout::small("nomda", 256 * KIB);
    layout.mdas.clear();
    assert_eq!(pv(PvImage::new(layout).bytes).vg_name, None);
}

#[test]
fn highest_seqno_across_pvs_wins() {
    let mut vg = VgSpec::new("vgm", 8);
    vg.add_pv("pv0", PvLayout::small("m0", 256 * KIB));
    vg.add_pv("pv1", PvLayout::small("m1", 256 * KIB));
    let old = vg.write();
    vg.seqno = 2;
    vg.lvs.push(LvSpec::new("new", vec![SegSpec::linear(0, 2, "pv1", 0)]));
    let new = vg.write();
    // pv0 still holds seqno 1; pv1 seqno 2. Either order gives seqno 2.
    let pvs = vec![pv(old[0].bytes.clone()), pv(new[1].bytes.clone())];
    for order in [pvs.clone(), pvs.iter().rev().cloned().collect()] {
        let vgs = assemble(&order, &limits()).unwrap();
        assert_eq!(vgs[0].seqno, 2);
        assert_eq!(vgs[0].lvs.len(), 1);
        assert!(vgs[0].warnings.iter().any(|w| w.contains("older copy")), "{:?}", vgs[0].warnings);
    }
    // Same seqno, different text: warned about, the first PV's copy used.
    let mut other = vg.clone();
    other.lvs[0].name = "other".into();
    let pvs = vec![pv(new[0].bytes.clone()), pv(other.write()[1].bytes.clone())];
    let vgs = assemble(&pvs, &limits()).unwrap();
    assert_eq!(vgs[0].lvs[0].name, "new");
    assert!(vgs[0].warnings.iter().any(|w| w.contains("same seqno")), "{:?}", vgs[0].warnings);
    // A PV the newest metadata no longer lists.
    let mut smaller = vg.clone();
    smaller.seqno = 3;
    smaller.pvs.truncate(1);
    smaller.lvs.clear();
    let mut img = PvImage::new(vg.pvs[0].layout.clone());
    img.commit(&smaller.text());
    let pvs = vec![pv(img.bytes), pv(new[1].bytes.clone())];
    let vgs = assemble(&pvs, &limits()).unwrap();
    assert_eq!(vgs[0].seqno, 3);
    assert!(vgs[0].warnings.iter().any(|w| w.contains("does not list it")), "{:?}", vgs[0].warnings);
}

#[test]
fn a_pv_uuid_seen_twice_uses_the_first() {
    let bytes = sample("linear.img");
    let d = disk([bytes.clone(), bytes].concat());
    let first = probe(&Region::new(d.clone(), 0, 256 * KIB).unwrap(), &limits()).unwrap().unwrap();
    let second = probe(&Region::new(d, 256 * KIB, 256 * KIB).unwrap(), &limits()).unwrap().unwrap();
    let pvs = vec![first, second];
    let vgs = assemble(&pvs, &limits()).unwrap();
    assert_eq!(vgs.len(), 1);
    assert!(
        vgs[0].warnings.iter().any(|w| w.contains("two volumes") && w.contains("0x40000")),
        "{:?}",
        vgs[0].warnings
    );
    let mut v = open_lv(&vgs[0], &pvs, "swap").unwrap();
    assert_eq!(read_all(&mut v), expected(1, 32 * KIB, 40, 4));
}

#[test]
fn two_vgs_with_one_name() {
    let a = one_pv_vg("same-a", vec![]);
    let mut b = one_pv_vg("same-b", vec![]);
    b.uuid = w::uuid("another vg");
    let pvs = vec![pv(a.write()[0].bytes.clone()), pv(b.write()[0].bytes.clone())];
    let vgs = assemble(&pvs, &limits()).unwrap();
    assert_eq!(vgs.len(), 2);
    assert!(vgs.iter().all(|v| v.warnings.iter().any(|w| w.contains("also named"))));
}

#[test]
fn lvs_past_their_pv() {
    // pe_count larger than the PV: the VG warns; an LV on the missing extents is unreadable.
    let mut vg = one_pv_vg("past", vec![LvSpec::new("ok", vec![SegSpec::linear(0, 2, "pv0", 0)])]);
    vg.pvs[0].pe_count = Some(1000);
    vg.lvs.push(LvSpec::new("far", vec![SegSpec::linear(0, 10, "pv0", 990)]));
    vg.lvs.push(LvSpec::new("beyond", vec![SegSpec::linear(0, 10, "pv0", 995)]));
    let pvs = vec![pv(pv_with_text(&vg, &vg.text()))];
    let vgs = assemble(&pvs, &limits()).unwrap();
    let g = &vgs[0];
    assert!(g.warnings.iter().any(|w| w.contains("run past the end")), "{:?}", g.warnings);
    assert_eq!(g.lvs[0].readable, Ok(()));
    assert!(g.lvs[1].readable.as_ref().unwrap_err().contains("outside"), "{:?}", g.lvs[1].readable);
    assert!(matches!(open_lv(g, &pvs, "far"), Err(ImageError::OutOfRange { .. })));
    assert!(g.lvs[2].readable.as_ref().unwrap_err().contains("which has 1000"), "{:?}", g.lvs[2].readable);
    assert!(matches!(open_lv(g, &pvs, "beyond"), Err(ImageError::Corrupt { .. })));
}

/// `vg`'s text with `from` replaced by `to`, on a PV, probed.
fn probe_edited(vg: &VgSpec, from: &str, to: &str) -> Result<Option<PhysicalVolume>> {
    let text = vg.text();
    assert!(text.contains(from), "{from}");
    probe_bytes(pv_with_text(vg, &text.replacen(from, to, 1)))
}

#[test]
fn vg_level_faults_are_errors() {
    let vg = one_pv_vg("vgf", vec![]);
    let pv_id = w::dashed(&vg.pvs[0].layout.uuid);
    let pv_id_line = format!("id = \"{pv_id}\"");
    let cases: &[(&str, &str, &str)] = &[
        ("contents = \"Text Format Volume Group\"", "contents = \"Other\"", "expected contents"),
        ("version = 1", "version = 2", "expected version = 1"),
        ("seqno = 1", "seqno = 4294967296", "expected seqno"),
        ("seqno = 1", "seqno = -1", "expected seqno"),
        ("seqno = 1", "seqno = 99999999999999999999", "out of range"),
        ("extent_size = 8", "extent_size = 0", "expected extent_size"),
        ("physical_volumes {", "pvs_renamed {", "expected a physical_volumes section"),
        ("pe_start = 64", "pe_start = \"x\"", "expected pe_start"),
        (&pv_id_line, "id = \"short\"", "expected id = a UUID"),
    ];
    for &(from, to, want) in cases {
        match probe_edited(&vg, from, to) {
            Err(ImageError::Corrupt { what: "LVM metadata", reason, .. }) => {
                assert!(reason.contains(want), "{to}: {reason}")
            }
            other => panic!("{to}: {other:?}"),
        }
    }
    // No VG section at all; a duplicate PV id.
    let text = "contents = \"Text Format Volume Group\"\nversion = 1\n";
    assert!(matches!(probe_bytes(pv_with_text(&vg, text)), Err(ImageError::Corrupt { .. })));
    let mut two = vg.clone();
    two.add_pv("pv1", vg.pvs[0].layout.clone());
    match probe_bytes(pv_with_text(&two, &two.text())) {
        Err(ImageError::Corrupt { reason, .. }) => assert!(reason.contains("also the id of"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // A syntax error reports its line.
    match probe_edited(&vg, "seqno = 1", "seqno = = 1") {
        Err(ImageError::Corrupt { what: "LVM metadata text", reason, .. }) => {
            assert!(reason.contains("line 3"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn lv_level_faults_leave_the_rest_readable() {
    let base = one_pv_vg(
        "lvf",
        vec![
            LvSpec::new("good", vec![SegSpec::linear(0, 2, "pv0", 0)]),
            LvSpec::new("bad", vec![SegSpec::linear(0, 2, "pv0", 4), SegSpec::linear(2, 2, "pv0", 8)]),
        ],
    );
    let text = base.text();
    let bad_at = text.find("\nbad {").unwrap();
    let (head, tail) = text.split_at(bad_at);
    let cases: &[(&str, &str, &str)] = &[
        ("segment_count = 2", "segment_count = 4294967296", "expected segment_count"),
        ("segment_count = 2", "segment_count = 3", "segment_count is 3, but it has 2 segments"),
        ("start_extent = 2", "start_extent = 3", "gap or overlap at extent 2"),
        ("start_extent = 2", "start_extent = 1", "gap or overlap"),
        ("extent_count = 2", "extent_count = 0", "expected extent_count"),
        ("start_extent = 2\nextent_count = 2", "start_extent = 2\nextent_count = 4294967295", "more than LVM's"),
        ("stripe_count = 1", "stripe_count = 3\nstripe_size = 8", "do not divide into 3 stripes"),
        ("stripe_count = 1", "stripe_count = 0", "expected stripe_count"),
        ("\"pv0\", 4", "\"pv9\", 4", "no PV of the volume group"),
        ("\"pv0\", 4", "\"good\", 4", "stacked on logical volume \"good\""),
        ("\"pv0\", 4", "\"pv0\", -4", "expected a first extent"),
        ("\"pv0\", 4", "4, 4", "expected a PV name"),
        ("\"pv0\", 4", "\"pv0\", 4, \"pv0\", 5", "stripes has 4 items"),
        ("stripes = [", "stripez = [", "expected a stripes list"),
        ("type = \"striped\"", "type = 5", "expected type"),
    ];
    for &(from, to, want) in cases {
        assert!(tail.contains(from), "{from}");
        let edited = format!("{head}{}", tail.replacen(from, to, 1));
        let pvs = vec![pv(pv_with_text(&base, &edited))];
        let vgs = assemble(&pvs, &limits()).unwrap();
        let lvs = &vgs[0].lvs;
        assert_eq!(lvs[0].readable, Ok(()), "{to}");
        let why = lvs[1].readable.as_ref().unwrap_err();
        assert!(why.contains(want), "{to}: {why}");
        assert!(matches!(open_lv(&vgs[0], &pvs, "bad"), Err(ImageError::Corrupt { .. })), "{to}");
        assert_eq!(
            read_all(&mut open_lv(&vgs[0], &pvs, "good").unwrap()),
            expected(0, 32 * KIB, 0, 2).iter().map(|_| 0).collect::<Vec<_>>()
        );
    }
    // No segments at all.
    let edited = format!(
        "{head}{}",
        tail.replacen("segment_count = 2", "segment_count = 0", 1).replacen("segment1 {", "notes1 {", 1)
    );
    let _ = edited;
    let mut none = base.clone();
    none.lvs[1].segments.clear();
    let vgs = assemble(&[pv(pv_with_text(&none, &none.text()))], &limits()).unwrap();
    assert!(vgs[0].lvs[1].readable.as_ref().unwrap_err().contains("no segments"));
    // Stripe size not dividing a stripe's bytes: refused at open.
    let mut odd = base.clone();
    odd.lvs[1].segments = vec![SegSpec::striped(0, 4, 24, &[("pv0", 10), ("pv0", 20)])];
    let pvs = vec![pv(pv_with_text(&odd, &odd.text()))];
    let vgs = assemble(&pvs, &limits()).unwrap();
    assert!(vgs[0].lvs[1].readable.as_ref().unwrap_err().contains("does not divide"), "{:?}", vgs[0].lvs[1].readable);
    // An LV with no id or status is still read (hidden, no UUID).
    let bare = text.replacen("status = [\"READ\", \"WRITE\", \"VISIBLE\"]", "", 1);
    let bare = bare.replacen(&format!("id = \"{}\"", w::dashed(&base.lvs[0].uuid)), "", 1);
    let vgs = assemble(&[pv(pv_with_text(&base, &bare))], &limits()).unwrap();
    assert_eq!((vgs[0].lvs[0].uuid.clone(), vgs[0].lvs[0].visible), (None, false));
}

#[test]
fn the_segment_limit_holds_before_any_segment_is_read() {
    let segs: Vec<SegSpec> = (0..50).map(|i| SegSpec::linear(i, 1, "pv0", i)).collect();
    let vg = one_pv_vg("many", vec![LvSpec::new("lv", segs)]);
    let mut l = limits();
    l.max_lvm_segments = 49;
    assert!(matches!(
        probe(&whole(pv_with_text(&vg, &vg.text())), &l),
        Err(ImageError::LimitExceeded { limit: "max_lvm_segments", value: 50, max: 49 })
    ));
    l.max_lvm_segments = 50;
    let p = probe(&whole(pv_with_text(&vg, &vg.text())), &l).unwrap().unwrap();
    let vgs = assemble(std::slice::from_ref(&p), &l).unwrap();
    let mut v = open_lv(&vgs[0], &[p], "lv").unwrap();
    assert_eq!(v.segment_count(), 50);
    assert_eq!(read_all(&mut v).len(), 50 * 4096);
}

#[test]
fn metadata_area_faults_are_typed() {
    let vg = one_pv_vg("mda", vec![]);
    let good = vg.write().remove(0);
    let mda = 4096usize;
    let patch = |f: &dyn Fn(&mut PvImage)| {
        let mut img = good.clone();
        f(&mut img);
        probe_bytes(img.bytes)
    };
    let set_locn = |img: &mut PvImage, o: u64, z: u64| {
        img.bytes[mda + 40..mda + 48].copy_from_slice(&o.to_le_bytes());
        img.bytes[mda + 48..mda + 56].copy_from_slice(&z.to_le_bytes());
        img.reseal_mda_header(0);
    };
    let area = 28 * KIB;
    // raw_locn larger than its area, past it, inside the header, or empty.
    for (o, z, field) in [
        (512, area, "size"),
        (512, u64::MAX, "size"),
        (512, 0, "size"),
        (area, 100, "offset"),
        (u64::MAX, 100, "offset"),
        (100, 100, "offset"),
    ] {
        match patch(&|img| set_locn(img, o, z)) {
            Err(ImageError::BadField { what, .. }) => assert!(what.contains(field), "{o} {z}: {what}"),
            other => panic!("{o} {z}: {other:?}"),
        }
    }
    // A text larger than the limit is refused before it is read.
    let mut small = limits();
    small.max_lvm_metadata_bytes = 100;
    assert!(matches!(
        probe(&whole(good.bytes.clone()), &small),
        Err(ImageError::LimitExceeded { limit: "max_lvm_metadata_bytes", max: 100, .. })
    ));
    // Header faults.
    assert!(matches!(patch(&|img| img.bytes[mda + 100] ^= 1), Err(ImageError::BadChecksum { offset: 4096, .. })));
    fn field(at: usize, v: &'static [u8]) -> impl Fn(&mut PvImage) {
        move |img: &mut PvImage| {
            img.bytes[4096 + at..4096 + at + v.len()].copy_from_slice(v);
            img.reseal_mda_header(0);
        }
    }
    assert!(matches!(patch(&field(4, b"X")), Err(ImageError::BadSignature { .. })));
    assert!(matches!(patch(&field(20, &[2])), Err(ImageError::BadField { what: "LVM metadata area version", .. })));
    assert!(matches!(patch(&field(24, &[1])), Err(ImageError::BadField { what: "LVM metadata area start", .. })));
    assert!(matches!(patch(&field(32, &[1])), Err(ImageError::BadField { what: "LVM metadata area size", .. })));
    // The text's CRC.
    assert!(matches!(
        patch(&|img| img.bytes[mda + 600] ^= 1),
        Err(ImageError::BadChecksum { what: "LVM metadata text", .. })
    ));
    // The area itself past the PV's end, or smaller than its header.
    for (o, z) in [(4096u64, 1u64 << 30), (u64::MAX - 10, 512), (4096, 100)] {
        let mut img = good.clone();
        let label = img.label_at();
        img.bytes[label + 104..label + 112].copy_from_slice(&o.to_le_bytes());
        img.bytes[label + 112..label + 120].copy_from_slice(&z.to_le_bytes());
        img.reseal_label();
        assert!(matches!(probe_bytes(img.bytes), Err(ImageError::OutOfRange { .. })), "{o} {z}");
    }
    // A truncated PV: the label is there, the metadata area is not.
    assert!(matches!(probe_bytes(good.bytes[..2048].to_vec()), Err(ImageError::OutOfRange { .. })));
    // The device size in the header larger than the region: a warning.
    assert!(pv(good.bytes.clone()).warnings.is_empty());
    let mut b = good.bytes.clone();
    b[512 + 64..512 + 72].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let c = w::crc(w::INITIAL_CRC, &b[512 + 20..1024]);
    b[512 + 16..512 + 20].copy_from_slice(&c.to_le_bytes());
    assert!(pv(b).warnings[0].contains("truncated"));
}

#[test]
fn label_scan_rules() {
    let good = sample("linear.img");
    // A LABELONE with a bad CRC in sector 0 and a good label in sector 1: the good one is used.
    let mut b = good.clone();
    b[..8].copy_from_slice(b"LABELONE");
    assert_eq!(pv(b).label_sector, 1);
    // Only a damaged label: its error.
    let mut b = good.clone();
    b[512 + 100] ^= 1;
    assert!(matches!(probe_bytes(b), Err(ImageError::BadChecksum { offset: 0x210, .. })));
    // A label in sector 4 is not looked for.
    let mut b = vec![0u8; 4096];
    b[2048..2560].copy_from_slice(&good[512..1024]);
    assert!(probe_bytes(b).unwrap().is_none());
}

#[test]
fn byte_flips_and_truncations_end_in_a_result() {
    // Every byte of the label, the metadata header and the text flipped in turn, and every
    // truncation at a sector: a PV, None, or a typed error; never a panic.
    let good = sample("striped.img")[..256 * 1024].to_vec();
    let text_end = 4096 + 512 + 2048;
    for at in (0..1024).chain(4096..text_end) {
        let mut b = good.clone();
        b[at] ^= 0x55;
        if let Ok(Some(p)) = probe_bytes(b) {
            let vgs = assemble(std::slice::from_ref(&p), &limits()).unwrap();
            for vg in &vgs {
                for lv in &vg.lvs {
                    if let Ok(mut v) = open_lv(vg, std::slice::from_ref(&p), &lv.name) {
                        let mut buf = [0u8; 16];
                        let _ = v.read_exact_at(v.len().saturating_sub(8), &mut buf[..8]);
                    }
                }
            }
        }
    }
    for len in (0..good.len()).step_by(512) {
        let _ = probe_bytes(good[..len].to_vec());
    }
}

#[test]
fn offsets_that_overflow_64_bits_and_scan_errors() {
    // Extents of 2^32 - 1 sectors (2 TiB each) at physical extent 2^32 - 10: past 2^64 bytes.
    let mut vg = one_pv_vg("ovf", vec![LvSpec::new("lv", vec![SegSpec::linear(0, 1, "pv0", 4294967285)])]);
    vg.pvs[0].pe_count = Some(4294967295);
    let text = vg.text().replacen("extent_size = 8", "extent_size = 4294967295", 1);
    let pvs = vec![pv(pv_with_text(&vg, &text))];
    let vgs = assemble(&pvs, &limits()).unwrap();
    assert!(vgs[0].lvs[0].readable.as_ref().unwrap_err().contains("64-bit"), "{:?}", vgs[0].lvs[0].readable);
    assert!(matches!(open_lv(&vgs[0], &pvs, "lv"), Err(ImageError::Corrupt { .. })));
    // scan: a damaged PV is reported by the index of its region.
    let mut bad = sample("linear.img");
    bad[512 + 100] ^= 1;
    let (found, errors) = scan(&[whole(sample("linear.img")), whole(bad)], &limits());
    assert_eq!(found.len(), 1);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, 1);
}

#[test]
fn at_most_two_metadata_areas_are_read_and_lvs_are_volumes() {
    // A header listing five areas (all the same one): two are read, with a warning.
    let mut layout = PvLayout::small("five", 256 * KIB);
    layout.mdas = vec![(4096, 28 * KIB); 5];
    let vg = {
        let mut v = VgSpec::new("five", 8);
        v.pvs.push(w::PvRef { name: "pv0".into(), layout: layout.clone(), pe_count: None });
        v.lvs.push(LvSpec::new("lv", vec![SegSpec::linear(0, 1, "pv0", 0)]));
        v
    };
    let mut img = PvImage::new(layout);
    img.commit_at(0, 512, &vg.text());
    let p = pv(img.bytes);
    assert_eq!(p.seqno, Some(1));
    assert!(p.warnings.iter().any(|w| w.contains("5 metadata areas")), "{:?}", p.warnings);
    let vgs = assemble(std::slice::from_ref(&p), &limits()).unwrap();
    let v: Box<dyn Volume> = Box::new(open_lv(&vgs[0], &[p], "lv").unwrap());
    assert_eq!(v.len(), 4096);
}
