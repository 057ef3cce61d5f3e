//! Differential tests of the LVM2 reader against LVM itself: PVs and VGs made by `pvcreate`,
//! `vgcreate` and `vgcfgrestore` (with LVs added to a `vgcfgbackup` file, as LINUX.md §4
//! describes; `lvcreate` needs device-mapper) on loop devices, and read back by `pvs`, `vgs` and
//! `lvs`; the reader must find the same UUIDs, seqno, extents and segments, and read each LV's
//! bytes where LVM's reported extent ranges put them. The test-only writer's PVs go through the
//! same tools, which proves the writer the unit tests rely on.
//!
//! Needs root, `losetup` with a free loop device, and lvm2; each test prints why it skips
//! otherwise (`cargo test -- --nocapture`). Every LVM command names its devices (`--devices`),
//! so nothing else on the host is scanned, and writes no backups or archives.

use regnet_image::lvm::{self, LogicalVolumeInfo, PhysicalVolume, VolumeGroup};
use regnet_image::{share, Counters, FileSource, ImageLimits, RawDisk, Region, Volume};
use regnet_testkit::lvm::{self as w, LvSpec, PvLayout, SegSpec, VgSpec};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const MIB: u64 = 1 << 20;
/// No backups or archives written to the host's /etc/lvm; no waiting on udev (CI containers have
/// none).
const NO_BACKUPS: &str = "backup { backup = 0 archive = 0 } devices { obtain_device_list_from_udev = 0 } activation { udev_sync = 0 udev_rules = 0 }";

/// Why these tests cannot run here, if they cannot.
fn skip_reason() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if uid.as_deref() != Some("0") {
        return Some("not root (losetup and pvcreate need it)".into());
    }
    for tool in ["losetup", "pvcreate", "vgcreate", "vgcfgbackup", "vgcfgrestore", "pvs", "vgs", "lvs"] {
        let found =
            Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success());
        if !found {
            return Some(format!("{tool} is not installed (Debian packages mount and lvm2)"));
        }
    }
    let free = Command::new("losetup").arg("-f").output();
    if !free.as_ref().is_ok_and(|o| o.status.success()) {
        return Some("no free loop device (losetup -f failed)".into());
    }
    None
}

macro_rules! need_tools {
    () => {
        if let Some(why) = skip_reason() {
            eprintln!("skipping: {why}");
            return;
        }
    };
}

/// A file attached to a loop device, detached on drop.
struct Loop {
    dev: String,
}

impl Loop {
    fn attach(file: &Path) -> Loop {
        for _ in 0..20 {
            let out = Command::new("losetup").args(["-f", "--show"]).arg(file).output().unwrap();
            if out.status.success() {
                return Loop { dev: String::from_utf8_lossy(&out.stdout).trim().to_string() };
            }
            // Another process took the free device first: try again.
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("losetup -f --show {} keeps failing", file.display());
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.dev]).status();
    }
}

/// Runs LVM command `cmd` on `devs` only; its stdout, or a panic with its stderr.
fn lvm_cmd(devs: &[&Loop], cmd: &str, args: &[&str]) -> String {
    let list: Vec<&str> = devs.iter().map(|l| l.dev.as_str()).collect();
    let out = Command::new(cmd)
        .env("LVM_SUPPRESS_FD_WARNINGS", "1")
        .args(["--config", NO_BACKUPS, "--devices", &list.join(",")])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{cmd} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A report (`pvs`, `vgs`, `lvs -a`) of `fields`, one row per line, in bytes.
fn report(devs: &[&Loop], cmd: &str, fields: &str) -> Vec<Vec<String>> {
    let mut args = vec!["--noheadings", "--separator", "|", "--units", "b", "--nosuffix", "-o", fields];
    if cmd == "lvs" {
        args.push("-a");
    }
    lvm_cmd(devs, cmd, &args)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().split('|').map(|f| f.trim().to_string()).collect())
        .collect()
}

/// A fresh folder for one test's files.
fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("regnet-lvm-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A sparse file of `size` bytes.
fn sparse(path: &Path, size: u64) {
    std::fs::File::create(path).unwrap().set_len(size).unwrap();
}

/// The whole file as a region.
fn region_of(path: &Path) -> Region {
    let bytes = std::fs::read(path).unwrap();
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

/// Fills `path` from `from` to its end with the writer's pattern (salt `salt`).
fn fill(path: &Path, from: u64, salt: u8) {
    let mut bytes = std::fs::read(path).unwrap();
    for (i, b) in bytes[from as usize..].iter_mut().enumerate() {
        *b = w::pattern_byte(salt, from + i as u64);
    }
    std::fs::write(path, bytes).unwrap();
}

/// A segment as `lvs` reports it: start, size, type, stripes, stripe size in bytes, and each
/// stripe's (PV UUID, first pe, last pe).
type LvmSeg = (u64, u64, String, u64, u64, Vec<(String, u64, u64)>);
/// A segment to write: start, count, stripe size in sectors, stripes (PV name, first pe).
type SegDef<'a> = (u64, u64, u64, Vec<(&'a str, u64)>);

/// What LVM reports, keyed for comparison with the reader.
struct LvmView {
    /// Device → PV UUID.
    dev_uuid: HashMap<String, String>,
    /// PV UUID → (pe_start bytes, pe_count).
    pvs: HashMap<String, (u64, u64)>,
    /// (VG name, UUID, seqno, extent bytes).
    vg: (String, String, u64, u64),
    /// LV name (brackets of hidden LVs removed) → its segments: (start, size, type, stripes,
    /// stripe size bytes, [(PV UUID, first pe, last pe)]).
    lvs: HashMap<String, Vec<LvmSeg>>,
}

fn lvm_view(devs: &[&Loop]) -> LvmView {
    let mut dev_uuid = HashMap::new();
    let mut pvs = HashMap::new();
    for r in report(devs, "pvs", "pv_name,pv_uuid,pe_start,pv_pe_count") {
        dev_uuid.insert(r[0].clone(), r[1].clone());
        pvs.insert(r[1].clone(), (r[2].parse().unwrap(), r[3].parse().unwrap()));
    }
    let v = &report(devs, "vgs", "vg_name,vg_uuid,seqno,vg_extent_size")[0];
    let vg = (v[0].clone(), v[1].clone(), v[2].parse().unwrap(), v[3].parse().unwrap());
    let mut lvs: HashMap<String, Vec<_>> = HashMap::new();
    for r in report(devs, "lvs", "lv_name,seg_start_pe,seg_size_pe,segtype,stripes,stripe_size,seg_pe_ranges") {
        let name = r[0].trim_matches(|c| c == '[' || c == ']').to_string();
        let ranges = r[6]
            .split_whitespace()
            .filter_map(|range| {
                let (dev, span) = range.rsplit_once(':')?;
                let (a, b) = span.split_once('-')?;
                Some((dev_uuid.get(dev)?.clone(), a.parse().ok()?, b.parse().ok()?))
            })
            .collect();
        lvs.entry(name).or_default().push((
            r[1].parse().unwrap(),
            r[2].parse().unwrap(),
            r[3].clone(),
            r[4].parse().unwrap_or(0),
            r[5].parse().unwrap_or(0),
            ranges,
        ));
    }
    LvmView { dev_uuid, pvs, vg, lvs }
}

/// The reader's view of the files `paths`.
fn reader_view(paths: &[PathBuf]) -> (Vec<PhysicalVolume>, Vec<VolumeGroup>) {
    let limits = ImageLimits::default();
    let pvs: Vec<PhysicalVolume> = paths.iter().map(|p| lvm::probe(&region_of(p), &limits).unwrap().unwrap()).collect();
    let vgs = lvm::assemble(&pvs, &limits).unwrap();
    (pvs, vgs)
}

/// Compares the reader's VG with LVM's report: PVs, VG fields, every LV's segments.
fn compare(view: &LvmView, vg: &VolumeGroup) {
    assert_eq!((&vg.name, &vg.uuid, vg.seqno, vg.extent_bytes), (&view.vg.0, &view.vg.1, view.vg.2, view.vg.3));
    for p in &vg.pvs {
        assert_eq!(view.pvs.get(&p.uuid), Some(&(p.pe_start, p.pe_count)), "PV {}", p.uuid);
    }
    assert_eq!(vg.pvs.len(), view.pvs.len());
    // LVM does not list the internal snapshot LV (snapshot0); every other LV must match.
    let ours: Vec<&LogicalVolumeInfo> = vg.lvs.iter().filter(|l| l.kind != "snapshot" || l.visible).collect();
    assert_eq!(
        ours.len(),
        view.lvs.len(),
        "LVs: {:?} vs {:?}",
        ours.iter().map(|l| &l.name).collect::<Vec<_>>(),
        view.lvs.keys()
    );
    for lv in ours {
        let segs = view.lvs.get(&lv.name).unwrap_or_else(|| panic!("LVM has no LV {}", lv.name));
        let size: u64 = segs.iter().map(|s| s.1).sum();
        if lv.kind != "snapshot" {
            assert_eq!(size * vg.extent_bytes, lv.size, "{}", lv.name);
        }
        match lv.kind.as_str() {
            "linear" | "striped" => {
                assert_eq!(lv.readable, Ok(()), "{}", lv.name);
                assert_eq!(lv.segments.len(), segs.len(), "{}", lv.name);
                for (ours, theirs) in lv.segments.iter().zip(segs) {
                    let (start, count, kind, stripes, stripe_size, ranges) = theirs;
                    assert_eq!((ours.start_extent, ours.extent_count), (*start, *count), "{}", lv.name);
                    assert_eq!(kind, if ours.stripes.len() == 1 { "linear" } else { "striped" }, "{}", lv.name);
                    assert_eq!((ours.stripes.len() as u64, ours.stripe_size), (*stripes, *stripe_size), "{}", lv.name);
                    let per = count / stripes;
                    let want: Vec<(String, u64, u64)> =
                        ours.stripes.iter().map(|(u, pe)| (u.clone(), *pe, pe + per - 1)).collect();
                    assert_eq!(&want, ranges, "{}", lv.name);
                }
            }
            refused => {
                assert!(lv.readable.is_err(), "{}", lv.name);
                // LVM's type for the LV, or `snapshot` for the COW store LVM reports as linear.
                assert!(
                    segs.iter().any(|s| s.2 == refused) || refused == "snapshot",
                    "{}: {refused} vs {:?}",
                    lv.name,
                    segs
                );
            }
        }
    }
}

/// Each readable LV's bytes, as LVM's reported extent ranges place them (computed here from
/// LVM's report alone), against the reader's.
fn compare_data(view: &LvmView, vg: &VolumeGroup, pvs: &[PhysicalVolume], files: &HashMap<String, Vec<u8>>) {
    let ext = view.vg.3;
    for lv in vg.lvs.iter().filter(|l| l.readable.is_ok()) {
        let mut segs = view.lvs[&lv.name].clone();
        segs.sort_by_key(|s| s.0);
        let mut want = Vec::new();
        for (_, count, _, stripes, stripe_size, ranges) in &segs {
            let area = count / stripes * ext;
            let chunk = if *stripes > 1 { *stripe_size } else { area };
            for row in 0..area / chunk {
                for (uuid, first, _) in ranges {
                    let from = (view.pvs[uuid].0 + first * ext + row * chunk) as usize;
                    want.extend_from_slice(&files[uuid][from..from + chunk as usize]);
                }
            }
        }
        let mut v = lvm::open_lv(vg, pvs, &lv.name).unwrap();
        let mut got = vec![0u8; v.len() as usize];
        v.read_exact_at(0, &mut got).unwrap();
        assert_eq!(got.len(), want.len(), "{}", lv.name);
        assert!(got == want, "{}: bytes differ", lv.name);
    }
}

/// The files of `paths` keyed by the PV UUID LVM reports for their devices.
fn files_by_uuid(view: &LvmView, loops: &[&Loop], paths: &[PathBuf]) -> HashMap<String, Vec<u8>> {
    loops.iter().zip(paths).map(|(l, p)| (view.dev_uuid[&l.dev].clone(), std::fs::read(p).unwrap())).collect()
}

/// The `vgcfgbackup` text of `vg` with its `logical_volumes` replaced by `lvs`.
fn with_lvs(backup: &str, lvs: &str) -> String {
    let mut text = backup.to_string();
    if let Some(start) = text.find("\tlogical_volumes {") {
        let end = start + text[start..].find("\n\t}\n").unwrap() + 4;
        text.replace_range(start..end, "");
    }
    let close = text.find("\n}\n").unwrap();
    text.insert_str(close, lvs);
    text
}

/// A `logical_volumes` section: each LV (name, [(start, count, stripe_size sectors, [(pv, pe)])]).
fn lv_section(lvs: &[(&str, Vec<SegDef<'_>>)]) -> String {
    let mut t = String::from("\n\tlogical_volumes {\n");
    for (i, (name, segs)) in lvs.iter().enumerate() {
        t += &format!(
            "\n\t\t{name} {{\n\t\t\tid = \"{}\"\n\t\t\tstatus = [\"READ\", \"WRITE\", \"VISIBLE\"]\n\t\t\tflags = []\n\t\t\tsegment_count = {}\n",
            w::dashed(&w::uuid(&format!("tools-lv-{i}-{name}"))),
            segs.len()
        );
        for (k, (start, count, stripe_size, stripes)) in segs.iter().enumerate() {
            t += &format!(
                "\n\t\t\tsegment{} {{\n\t\t\t\tstart_extent = {start}\n\t\t\t\textent_count = {count}\n\t\t\t\ttype = \"striped\"\n\t\t\t\tstripe_count = {}\n",
                k + 1,
                stripes.len()
            );
            if stripes.len() > 1 {
                t += &format!("\t\t\t\tstripe_size = {stripe_size}\n");
            }
            let list: Vec<String> = stripes.iter().map(|(p, e)| format!("\"{p}\", {e}")).collect();
            t += &format!("\t\t\t\tstripes = [{}]\n\t\t\t}}\n", list.join(", "));
        }
        t += "\t\t}\n";
    }
    t + "\t}\n"
}

#[test]
fn real_lvm_two_pvs_linear_striped_and_spanning() {
    need_tools!();
    let dir = workdir("two");
    let paths = vec![dir.join("a.img"), dir.join("b.img")];
    for p in &paths {
        sparse(p, 24 * MIB);
    }
    let (a, b) = (Loop::attach(&paths[0]), Loop::attach(&paths[1]));
    let devs = [&a, &b];
    let vgname = format!("rgtwo{}", std::process::id());
    lvm_cmd(&devs, "pvcreate", &["-q", &a.dev, &b.dev]);
    lvm_cmd(&devs, "vgcreate", &["-q", "-s", "1M", &vgname, &a.dev, &b.dev]);
    let backup = dir.join("vg.txt");
    lvm_cmd(&devs, "vgcfgbackup", &["-q", "-f", backup.to_str().unwrap(), &vgname]);
    let lvs = lv_section(&[
        ("lin", vec![(0, 3, 0, vec![("pv0", 10)]), (3, 2, 0, vec![("pv0", 1)])]),
        ("span", vec![(0, 4, 0, vec![("pv0", 19)]), (4, 3, 0, vec![("pv1", 0)])]),
        ("str", vec![(0, 6, 128, vec![("pv0", 13), ("pv1", 3)])]),
        ("mixed", vec![(0, 2, 0, vec![("pv1", 20)]), (2, 4, 64, vec![("pv1", 10), ("pv0", 3)])]),
    ]);
    std::fs::write(&backup, with_lvs(&std::fs::read_to_string(&backup).unwrap(), &lvs)).unwrap();
    lvm_cmd(&devs, "vgcfgrestore", &["-q", "-f", backup.to_str().unwrap(), &vgname]);
    let view = lvm_view(&devs);
    fill(&paths[0], view.pvs.values().next().unwrap().0, 11);
    fill(&paths[1], view.pvs.values().next().unwrap().0, 12);
    // The second PV given first: PVs are matched by UUID.
    let (pvs, vgs) = reader_view(&[paths[1].clone(), paths[0].clone()]);
    assert_eq!(vgs.len(), 1);
    assert!(vgs[0].warnings.is_empty(), "{:?}", vgs[0].warnings);
    for (p, l) in pvs.iter().zip([&b, &a]) {
        assert_eq!(view.dev_uuid[&l.dev], p.uuid);
    }
    compare(&view, &vgs[0]);
    compare_data(&view, &vgs[0], &pvs, &files_by_uuid(&view, &devs, &paths));
    eprintln!("two PVs: {} LVs match pvs/vgs/lvs, seqno {}", vgs[0].lvs.len(), vgs[0].seqno);
    drop((a, b));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn real_lvm_metadata_that_wrapped_after_many_changes() {
    need_tools!();
    let dir = workdir("wrap");
    let path = dir.join("pv.img");
    sparse(&path, 16 * MIB);
    let l = Loop::attach(&path);
    let devs = [&l];
    let vgname = format!("rgwrap{}", std::process::id());
    // A small metadata area (64 KiB alignment leaves 60 KiB), so it wraps in a few dozen commits.
    lvm_cmd(&devs, "pvcreate", &["-q", "--dataalignment", "64k", "--metadatasize", "32k", &l.dev]);
    lvm_cmd(&devs, "vgcreate", &["-q", "-s", "64k", &vgname, &l.dev]);
    let backup = dir.join("vg.txt");
    let (mut rounds, mut wraps) = (0, 0);
    while wraps < 2 && rounds < 200 {
        rounds += 1;
        lvm_cmd(&devs, "vgcfgbackup", &["-q", "-f", backup.to_str().unwrap(), &vgname]);
        let n = rounds % 9 + 1;
        let names: Vec<String> = (0..n).map(|i| format!("lv{i}_round{rounds}")).collect();
        let lvs: Vec<(&str, Vec<SegDef<'_>>)> =
            names.iter().enumerate().map(|(i, s)| (s.as_str(), vec![(0, 2, 0, vec![("pv0", 2 * i as u64)])])).collect();
        let text = with_lvs(&std::fs::read_to_string(&backup).unwrap(), &lv_section(&lvs));
        std::fs::write(&backup, text).unwrap();
        lvm_cmd(&devs, "vgcfgrestore", &["-q", "-f", backup.to_str().unwrap(), &vgname]);
        // Does the committed text (raw_locn slot 0 of the area at 4 KiB) now wrap?
        let bytes = std::fs::read(&path).unwrap();
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        let (size, offset, len) = (u64_at(4096 + 32), u64_at(4096 + 40), u64_at(4096 + 48));
        if offset + len > size {
            wraps += 1;
            let view = lvm_view(&devs);
            let (pvs, vgs) = reader_view(std::slice::from_ref(&path));
            assert!(pvs[0].warnings.is_empty(), "{:?}", pvs[0].warnings);
            compare(&view, &vgs[0]);
            eprintln!(
                "round {rounds}: text at {offset} + {len} wraps a {size}-byte area; seqno {} and {} LVs match",
                vgs[0].seqno,
                vgs[0].lvs.len()
            );
        }
    }
    assert_eq!(wraps, 2, "the metadata never wrapped in {rounds} rounds");
    drop(l);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn writer_pvs_read_the_same_in_lvm() {
    need_tools!();
    let dir = workdir("writer");
    // LVM ignores devices under 2 MiB: the writer's samples at 4 MiB per PV.
    for (name, bytes) in w::samples_sized(4 * MIB) {
        if name == "striped.img" {
            continue; // two PVs in one file: the two-file case below covers it
        }
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let l = Loop::attach(&path);
        let view = lvm_view(&[&l]);
        let (_, vgs) = reader_view(std::slice::from_ref(&path));
        compare(&view, &vgs[0]);
        eprintln!("writer's {name}: pvs/vgs/lvs agree ({} LVs, seqno {})", view.lvs.len(), view.vg.2);
    }
    // Two PVs in two files: striped and spanning LVs, and a different extent size.
    let mut vg = VgSpec::new(&format!("rgw{}", std::process::id()), 128);
    vg.add_pv("pv0", PvLayout::new("writer-two-0", 8 * MIB));
    vg.add_pv("pv1", PvLayout::new("writer-two-1", 8 * MIB));
    vg.lvs.push(LvSpec::new("data", vec![SegSpec::striped(0, 20, 32, &[("pv0", 0), ("pv1", 4)])]));
    vg.lvs.push(LvSpec::new("span", vec![SegSpec::linear(0, 30, "pv0", 10), SegSpec::linear(30, 50, "pv1", 14)]));
    let paths: Vec<PathBuf> = vg
        .write()
        .into_iter()
        .enumerate()
        .map(|(i, mut img)| {
            w::fill_extents(&mut img, 20 + i as u8);
            let p = dir.join(format!("two-{i}.img"));
            std::fs::write(&p, &img.bytes).unwrap();
            p
        })
        .collect();
    let loops: Vec<Loop> = paths.iter().map(|p| Loop::attach(p)).collect();
    let devs: Vec<&Loop> = loops.iter().collect();
    let view = lvm_view(&devs);
    let (pvs, vgs) = reader_view(&paths);
    compare(&view, &vgs[0]);
    compare_data(&view, &vgs[0], &pvs, &files_by_uuid(&view, &devs, &paths));
    eprintln!("writer's two-PV VG: pvs/vgs/lvs agree, and the LVs' bytes too");
    drop(loops);
    let _ = std::fs::remove_dir_all(&dir);
}
