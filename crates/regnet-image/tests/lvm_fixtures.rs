//! The LVM2 reader on the Linux guest fixtures `testdata/build-linux.sh` makes with the real LVM
//! tools (Ubuntu's `ubuntu-vg` in a streamOptimized VMDK, Rocky's `rl` in a VHDX, Debian's VG on
//! two disks, one of them a whole-disk PV, and metadata that wrapped), through the containers and
//! partition tables: every PV, LV and segment must be what `pvs`/`lvs` reported when the fixture
//! was made (`NAME.lvm.txt`), and each guest's root LV must start with its file system's magic.
//!
//! Skips, saying why, when the fixtures have not been built (`target/testdata/linux/MANIFEST`).

use regnet_image::lvm::{self, PhysicalVolume};
use regnet_image::partition::read_partitions;
use regnet_image::{detect, open_container, share, Counters, FileSource, ImageLimits, NoResolver, Region, Volume};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn fixtures() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/testdata/linux");
    dir.join("MANIFEST").is_file().then_some(dir)
}

/// Every PV on the images, named as the fixture's reports name them (`disk:p3`, `disk2`).
fn pvs_of(dir: &Path, images: &[&str]) -> Vec<(String, PhysicalVolume)> {
    let limits = ImageLimits::default();
    let mut out = Vec::new();
    for (i, image) in images.iter().enumerate() {
        let name = if images.len() == 1 { "disk".to_string() } else { format!("disk{}", i + 1) };
        let mut src = FileSource::open_path(&dir.join(image), Arc::new(Counters::default()), &limits).unwrap();
        let format = detect(&mut src).unwrap();
        let mut disk = open_container(src, format, &NoResolver, &limits).unwrap();
        let size = disk.size();
        let parts = read_partitions(disk.as_mut(), &limits).map(|t| t.partitions).unwrap_or_default();
        let disk = share(disk);
        let mut regions = vec![(name.clone(), Region::new(disk.clone(), 0, size).unwrap())];
        for p in parts.iter().filter(|p| p.number > 0) {
            if let Ok(r) = Region::new(disk.clone(), p.start, p.len) {
                regions.push((format!("{name}:p{}", p.number), r));
            }
        }
        for (n, r) in regions {
            if let Some(pv) = lvm::probe(&r, &limits).unwrap() {
                out.push((n, pv));
            }
        }
    }
    out
}

#[test]
fn lvm_fixtures_made_by_the_real_tools() {
    let Some(dir) = fixtures() else {
        eprintln!("skipping: target/testdata/linux/MANIFEST is absent (testdata/build-linux.sh makes the fixtures)");
        return;
    };
    let manifest = std::fs::read_to_string(dir.join("MANIFEST")).unwrap();
    let mut checked = 0;
    for line in manifest.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (Some(name), Some(images), Some(root), Some(fs)) = (cols.first(), cols.get(1), cols.get(4), cols.get(5))
        else {
            continue;
        };
        let Ok(report) = std::fs::read_to_string(dir.join(format!("{name}.lvm.txt"))) else { continue };
        let images: Vec<&str> = images.split(',').collect();
        let found = pvs_of(&dir, &images);
        let pvs: Vec<PhysicalVolume> = found.iter().map(|(_, p)| p.clone()).collect();
        let vgs = lvm::assemble(&pvs, &ImageLimits::default()).unwrap();
        let region_of: HashMap<&str, &str> = found.iter().map(|(n, p)| (p.uuid.as_str(), n.as_str())).collect();
        let mut table = "";
        for row in report.lines().map(|l| l.split_whitespace().collect::<Vec<_>>()) {
            // Each table starts with its header line: `PV VG PV UUID …`, then `VG LV LV UUID …`.
            if let Some(&first @ ("PV" | "VG")) = row.first() {
                if row.get(1).is_some_and(|s| *s == "VG" || *s == "LV") {
                    table = first;
                    continue;
                }
            }
            match (table, row.as_slice()) {
                // PV VG UUID DevSize 1stPE PE PMdaSize
                ("PV", [pv, vg, uuid, _, pe_start, pe_count, _]) => {
                    let (n, p) =
                        found.iter().find(|(_, p)| p.uuid == *uuid).unwrap_or_else(|| panic!("{name}: PV {uuid}"));
                    assert_eq!(n, pv, "{name}: where PV {uuid} is");
                    assert_eq!(p.vg_name.as_deref(), Some(*vg));
                    let g = vgs.iter().find(|g| g.name == *vg).unwrap();
                    let info = g.pvs.iter().find(|i| i.uuid == *uuid).unwrap();
                    assert_eq!(format!("{}B", info.pe_start), *pe_start, "{name}");
                    assert_eq!(info.pe_count.to_string(), *pe_count, "{name}");
                }
                // VG LV UUID LSize Start SSize Ranges
                ("VG", [vg, lv, uuid, size, start, count, ranges @ ..]) => {
                    let g = vgs.iter().find(|g| g.name == *vg).unwrap();
                    let l = g.lvs.iter().find(|l| l.name == *lv).unwrap();
                    assert_eq!(l.uuid.as_deref(), Some(*uuid), "{name}");
                    assert_eq!(format!("{}B", l.size), *size, "{name}");
                    assert_eq!(l.readable, Ok(()), "{name}");
                    let start: u64 = start.parse().unwrap();
                    let s = l.segments.iter().find(|s| s.start_extent == start).unwrap();
                    assert_eq!(s.extent_count.to_string(), *count, "{name}");
                    let ours: Vec<String> = s
                        .stripes
                        .iter()
                        .map(|(u, pe)| {
                            format!(
                                "{}:{pe}-{}",
                                region_of[u.as_str()],
                                pe + s.extent_count / s.stripes.len() as u64 - 1
                            )
                        })
                        .collect();
                    assert_eq!(ours, ranges, "{name}: {lv}");
                }
                _ => {}
            }
        }
        // The guest's root LV starts with its file system.
        if let Some((vg, lv)) = root.strip_prefix("lv=").and_then(|r| r.split_once('/')) {
            let g = vgs.iter().find(|g| g.name == vg).unwrap();
            let mut v = lvm::open_lv(g, &pvs, lv).unwrap();
            let mut head = [0u8; 2048];
            v.read_exact_at(0, &mut head).unwrap();
            match *fs {
                "ext4" => assert_eq!(&head[1080..1082], &[0x53, 0xEF], "{name}"),
                "xfs" => assert_eq!(&head[..4], b"XFSB", "{name}"),
                other => panic!("{name}: {other}"),
            }
        }
        eprintln!(
            "{name}: {} PVs, {} VGs agree with the pvs/lvs report; the root LV holds {fs}",
            found.len(),
            vgs.len()
        );
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} LVM fixtures checked");
}
