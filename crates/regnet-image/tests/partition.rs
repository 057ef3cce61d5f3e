//! Partition tables made by sfdisk and sgdisk (volumes by mkntfs and mkfs.fat), read by regnet and
//! compared with what `sfdisk -J` and `sgdisk -p` say about the same file. Each test skips, saying
//! why, when a tool is missing; the 4096-byte-sector disk also needs root for `losetup -b 4096`.

mod partition_common;

use partition_common::*;
use regnet_image::partition::{Filesystem, TableKind};
use std::os::unix::fs::FileExt;
use std::path::Path;

const MIB: u64 = 1 << 20;

/// EFI (FAT) + MSR + basic data (NTFS) + recovery, as Windows Setup lays out a GPT disk.
fn windows_gpt(name: &str) -> TempPath {
    let d = TempPath::sparse(name, 64 * MIB);
    sfdisk(
        &d,
        &format!(
            "label: gpt\n\
             start=2048, size=32768, type={ESP}, name=\"EFI system partition\"\n\
             start=34816, size=8192, type={MSR}, name=\"Microsoft reserved partition\"\n\
             start=43008, size=40960, type={BASIC}, name=\"Basic data partition\"\n\
             start=83968, size=16384, type={RECOVERY}, name=\"Recovery\"\n"
        ),
    );
    // mkfs.fat writes in place; its size is in KiB blocks.
    run("mkfs.fat", &["--offset", "2048", d.to_str().unwrap(), "16384"], "").unwrap();
    let v = ntfs_volume(&format!("{name}-ntfs"), 20, 43008, 512);
    place(&v, &d, 43008 * 512);
    d
}

const GPT_TOOLS: &[&str] = &["sfdisk", "sgdisk", "mkfs.fat", "mkntfs"];

#[test]
fn gpt_as_windows_lays_it_out() {
    if !have("gpt_as_windows_lays_it_out", GPT_TOOLS) {
        return;
    }
    let d = windows_gpt("part-gpt");
    let t = read_file(&d).unwrap();
    assert_eq!(t.kind, TableKind::Gpt { sector_size: 512, used_backup_header: false });
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    let (ss, listed) = sfdisk_json(&d);
    assert_eq!(ss, 512);
    assert_same_as(&t, 512, &listed);
    let fs: Vec<Filesystem> = t.partitions.iter().map(|p| p.filesystem).collect();
    assert_eq!(fs, [Filesystem::Fat, Filesystem::Unknown, Filesystem::Ntfs, Filesystem::Unknown]);
    let types: Vec<&str> = t.partitions.iter().map(|p| p.type_id.as_str()).collect();
    assert_eq!(types, [ESP, MSR, BASIC, RECOVERY]);
    // sgdisk agrees on every first and last LBA.
    let sg: Vec<(u32, u64, u64)> =
        t.partitions.iter().map(|p| (p.number, p.start / 512, (p.start + p.len) / 512 - 1)).collect();
    assert_eq!(sg, sgdisk_p(&d));
    assert_eq!(t.sector_size(), 512);
}

#[test]
fn gpt_with_primary_header_zeroed_uses_the_backup() {
    if !have("gpt_with_primary_header_zeroed_uses_the_backup", GPT_TOOLS) {
        return;
    }
    let d = windows_gpt("part-gpt-backup");
    let intact = read_file(&d).unwrap();
    std::fs::OpenOptions::new().write(true).open(&*d).unwrap().write_all_at(&[0u8; 512], 512).unwrap();
    let t = read_file(&d).unwrap();
    assert_eq!(t.kind, TableKind::Gpt { sector_size: 512, used_backup_header: true });
    assert_eq!(t.partitions, intact.partitions);
    assert!(t.warnings.iter().any(|w| w.contains("backup header at LBA 131071")), "{:?}", t.warnings);
    // sfdisk also falls back to the backup and lists the same partitions.
    let (_, listed) = sfdisk_json(&d);
    assert_same_as(&t, 512, &listed);
}

#[test]
fn gpt_with_primary_crc_broken_on_a_grown_disk_finds_the_backup_by_alternate_lba() {
    if !have("gpt_grown", GPT_TOOLS) {
        return;
    }
    // qemu-img rounds a VHD up to a CHS size, so the backup header is no longer at the last LBA.
    let d = windows_gpt("part-gpt-grown");
    let intact = read_file(&d).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&*d).unwrap();
    f.set_len(64 * MIB + 3 * 512).unwrap();
    let grown = read_file(&d).unwrap();
    assert_eq!(grown.partitions, intact.partitions);
    assert!(grown.warnings.is_empty(), "the backup is found where AlternateLBA says: {:?}", grown.warnings);
    // Break the primary's first-usable LBA: its CRC no longer matches, but AlternateLBA is still read.
    f.write_all_at(&[0x99], 512 + 40).unwrap();
    let t = read_file(&d).unwrap();
    assert_eq!(t.kind, TableKind::Gpt { sector_size: 512, used_backup_header: true });
    assert_eq!(t.partitions, intact.partitions);
    assert!(t.warnings.iter().any(|w| w.contains("checksum") && w.contains("LBA 131071")), "{:?}", t.warnings);
}

#[test]
fn gpt_with_256_byte_entries() {
    if !have("gpt_with_256_byte_entries", GPT_TOOLS) {
        return;
    }
    let d = windows_gpt("part-gpt-256");
    let intact = read_file(&d).unwrap();
    let mut bytes = std::fs::read(&*d).unwrap();
    // Rewrite both arrays in place: the same 16 KiB now hold 64 entries of 256 bytes, each old entry
    // at the start of its new slot; then both CRCs of both headers.
    for lba in [1u64, 131071] {
        let h = lba as usize * 512;
        let at = get_u64(&bytes, h + 72) as usize * 512;
        let old: Vec<u8> = bytes[at..at + 128 * 128].to_vec();
        let new = &mut bytes[at..at + 128 * 128];
        new.fill(0);
        for i in 0..64 {
            new[i * 256..i * 256 + 128].copy_from_slice(&old[i * 128..i * 128 + 128]);
        }
        put_u32(&mut bytes, h + 80, 64);
        put_u32(&mut bytes, h + 84, 256);
        fix_array_crc(&mut bytes, 512, lba);
    }
    std::fs::write(&*d, &bytes).unwrap();
    let t = read_file(&d).unwrap();
    assert_eq!(t.kind, TableKind::Gpt { sector_size: 512, used_backup_header: false });
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    assert_eq!(t.partitions, intact.partitions);
    // sfdisk reads the rewritten table the same way (sgdisk 1.0.9 supports only 128-byte entries:
    // it warns, reads garbage and lists nothing).
    let (_, listed) = sfdisk_json(&d);
    assert_same_as(&t, 512, &listed);
}

#[test]
fn hybrid_mbr_made_by_sgdisk_reads_as_gpt() {
    if !have("hybrid_mbr_made_by_sgdisk_reads_as_gpt", GPT_TOOLS) {
        return;
    }
    let d = windows_gpt("part-gpt-hybrid");
    let intact = read_file(&d).unwrap();
    run("sgdisk", &["-h", "3", d.to_str().unwrap()], "").unwrap();
    let t = read_file(&d).unwrap();
    assert_eq!(t.kind, TableKind::Gpt { sector_size: 512, used_backup_header: false });
    assert_eq!(t.partitions, intact.partitions);
    assert!(t.warnings.iter().any(|w| w.contains("hybrid MBR")), "{:?}", t.warnings);
}

#[test]
fn mbr_with_system_reserved_and_windows() {
    if !have("mbr_with_system_reserved_and_windows", &["sfdisk", "mkntfs"]) {
        return;
    }
    let d = TempPath::sparse("part-mbr", 160 * MIB);
    sfdisk(&d, "label: dos\nstart=2048, size=204800, type=7, bootable\nstart=206848, size=102400, type=7\n");
    place(&ntfs_volume("part-mbr-sr", 100, 2048, 512), &d, 2048 * 512);
    place(&ntfs_volume("part-mbr-win", 50, 206848, 512), &d, 206848 * 512);
    let t = read_file(&d).unwrap();
    assert_eq!(t.kind, TableKind::Mbr);
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    let (_, listed) = sfdisk_json(&d);
    assert_same_as(&t, 512, &listed);
    assert_eq!(t.partitions.len(), 2);
    assert!(t.partitions[0].bootable && !t.partitions[1].bootable);
    assert_eq!(t.partitions[0].len, 100 * MIB);
    assert!(t.partitions.iter().all(|p| p.filesystem == Filesystem::Ntfs && p.type_id == "0x07"));
}

#[test]
fn mbr_with_three_logical_partitions() {
    if !have("mbr_with_three_logical_partitions", &["sfdisk", "mkntfs", "mkfs.fat"]) {
        return;
    }
    let d = TempPath::sparse("part-logical", 64 * MIB);
    sfdisk(
        &d,
        "label: dos\n\
         start=2048, size=16384, type=c\n\
         start=20480, size=110592, type=f\n\
         start=22528, size=40960, type=7\n\
         start=65536, size=8192, type=83\n\
         start=75776, size=16384, type=7\n",
    );
    run("mkfs.fat", &["--offset", "2048", d.to_str().unwrap(), "8192"], "").unwrap();
    place(&ntfs_volume("part-logical-ntfs", 20, 22528, 512), &d, 22528 * 512);
    let t = read_file(&d).unwrap();
    assert_eq!(t.kind, TableKind::Mbr);
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    let (_, listed) = sfdisk_json(&d);
    assert_same_as(&t, 512, &listed);
    let numbers: Vec<u32> = t.partitions.iter().map(|p| p.number).collect();
    assert_eq!(numbers, [1, 2, 5, 6, 7]);
    let fs: Vec<Filesystem> = t.partitions.iter().map(|p| p.filesystem).collect();
    use Filesystem::*;
    assert_eq!(fs, [Fat, Unknown, Ntfs, Unknown, Unknown]);
}

#[test]
fn bare_ntfs_volume_is_no_table_not_an_mbr() {
    if !have("bare_ntfs_volume_is_no_table_not_an_mbr", &["mkntfs"]) {
        return;
    }
    let v = ntfs_volume("part-bare", 16, 0, 512);
    // The trap: an NTFS boot sector also ends in 55 AA.
    let mut sig = [0u8; 2];
    std::fs::File::open(&*v).unwrap().read_exact_at(&mut sig, 510).unwrap();
    assert_eq!(sig, [0x55, 0xAA]);
    let t = read_file(&v).unwrap();
    assert_eq!(t.kind, TableKind::None);
    assert_eq!(t.partitions.len(), 1);
    let p = &t.partitions[0];
    assert_eq!((p.number, p.start, p.len, p.filesystem), (0, 0, 16 * MIB, Filesystem::Ntfs));
    // The same volume with the BitLocker signature.
    std::fs::OpenOptions::new().write(true).open(&*v).unwrap().write_all_at(b"-FVE-FS-", 3).unwrap();
    let t = read_file(&v).unwrap();
    assert_eq!((t.kind, t.partitions[0].filesystem), (TableKind::None, Filesystem::BitLocker));
}

#[test]
fn bare_fat_volume_is_no_table() {
    if !have("bare_fat_volume_is_no_table", &["mkfs.fat"]) {
        return;
    }
    for (name, args) in [("part-fat16", &["-F", "16"][..]), ("part-fat32", &["-F", "32", "-S", "512"][..])] {
        let v = TempPath::sparse(name, 40 * MIB);
        let mut a = args.to_vec();
        a.push(v.to_str().unwrap());
        run("mkfs.fat", &a, "").unwrap();
        let t = read_file(&v).unwrap();
        assert_eq!((&t.kind, t.partitions[0].filesystem), (&TableKind::None, Filesystem::Fat), "{name}");
    }
}

/// A loop device with 4096-byte sectors, detached when dropped.
struct Loop(String);

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = run("losetup", &["-d", &self.0], "");
    }
}

#[test]
fn gpt_on_4096_byte_sectors() {
    if !have("gpt_on_4096_byte_sectors", &["losetup", "sfdisk", "mkntfs"]) {
        return;
    }
    let d = TempPath::sparse("part-4k", 64 * MIB);
    let dev = match run("losetup", &["-f", "--show", "-b", "4096", d.to_str().unwrap()], "") {
        Ok(out) => Loop(out.trim().to_owned()),
        Err(e) => {
            eprintln!("gpt_on_4096_byte_sectors: skipped, losetup -b 4096 failed (needs root): {e}");
            return;
        }
    };
    let dev_path = Path::new(&dev.0).to_owned();
    sfdisk(&dev_path, &format!("label: gpt\nstart=256, size=4096, type={ESP}\nstart=4352, size=8192, type={BASIC}\n"));
    let (ss, listed) = sfdisk_json(&dev_path);
    drop(dev);
    assert_eq!(ss, 4096);
    place(&ntfs_volume("part-4k-ntfs", 32, 4352 * 8, 4096), &d, 4352 * 4096);
    let t = read_file(&d).unwrap();
    assert_eq!(t.kind, TableKind::Gpt { sector_size: 4096, used_backup_header: false });
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    assert_same_as(&t, 4096, &listed);
    assert_eq!(t.partitions[1].filesystem, Filesystem::Ntfs);
    assert_eq!(t.partitions[1].start, 4352 * 4096);
    assert_eq!(t.sector_size(), 4096);

    // With its primary header zeroed, the backup at the last 4 KiB sector is found.
    std::fs::OpenOptions::new().write(true).open(&*d).unwrap().write_all_at(&[0u8; 4096], 4096).unwrap();
    let b = read_file(&d).unwrap();
    assert_eq!(b.kind, TableKind::Gpt { sector_size: 4096, used_backup_header: true });
    assert_eq!(b.partitions, t.partitions);
}

#[test]
fn stale_gpt_behind_a_real_mbr_is_ignored() {
    if !have("stale_gpt_behind_a_real_mbr_is_ignored", &["sfdisk"]) {
        return;
    }
    // A GPT disk repartitioned as MBR by a tool that left the GPT headers in place.
    let d = TempPath::sparse("part-stale", 32 * MIB);
    sfdisk(&d, &format!("label: gpt\nstart=2048, size=8192, type={BASIC}\n"));
    let mut mbr = [0u8; 512];
    mbr_entry(&mut mbr, 0, 0x80, 0x07, 4096, 16384);
    mbr[510..].copy_from_slice(&[0x55, 0xAA]);
    std::fs::OpenOptions::new().write(true).open(&*d).unwrap().write_all_at(&mbr, 0).unwrap();
    let t = read_file(&d).unwrap();
    assert_eq!(t.kind, TableKind::Mbr);
    assert_eq!((t.partitions[0].start, t.partitions[0].len), (4096 * 512, 16384 * 512));
    assert!(t.warnings.iter().any(|w| w.contains("stale")), "{:?}", t.warnings);
}

/// The images testdata/build-images.sh makes, when they are there: each read as sfdisk reads it.
#[test]
fn testdata_images_agree_with_sfdisk() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/testdata/images");
    let Ok(list) = std::fs::read_dir(&dir) else {
        eprintln!("testdata_images_agree_with_sfdisk: skipped, no {} (run testdata/build.sh)", dir.display());
        return;
    };
    if !have("testdata_images_agree_with_sfdisk", &["sfdisk"]) {
        return;
    }
    for entry in list {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "raw") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // sfdisk lists nothing for a bare volume (it reads an NTFS boot sector as an empty DOS table),
        // nor for the images testdata/build-images.sh makes with `sgdisk -q ...` (sgdisk 1.0.9 then
        // writes no table). regnet must not invent partitions there: a bare volume, or an error.
        let sfdisk_lists = run("sfdisk", &["-J", path.to_str().unwrap()], "").is_ok_and(|o| o.contains("\"node\""));
        let counters = std::sync::Arc::new(regnet_image::Counters::default());
        let limits = regnet_image::ImageLimits::default();
        let src = regnet_image::FileSource::open_path(&path, counters.clone(), &limits).unwrap();
        let t0 = std::time::Instant::now();
        let read = regnet_image::partition::read_partitions(&mut regnet_image::RawDisk::new(src), &limits);
        eprintln!("{name}: {} reads, {} bytes, {:?}", counters.reads(), counters.bytes_read(), t0.elapsed());
        let t = match read {
            Ok(t) => t,
            Err(e) => {
                assert!(!sfdisk_lists, "{name}: {e}");
                eprintln!("{name}: no table, as sfdisk says: {e}");
                continue;
            }
        };
        match name.as_str() {
            // sfdisk takes a file's sectors as 512 bytes, so only the kind is compared.
            "gpt4k.raw" => assert_eq!(t.kind, TableKind::Gpt { sector_size: 4096, used_backup_header: false }),
            // With the backup GPT cut off, sfdisk 2.38 lists the protective MBR's 0xEE entry; sgdisk
            // reads the primary GPT, as regnet does.
            "truncated.raw" => {
                let size = std::fs::metadata(&path).unwrap().len();
                let mut sg = sgdisk_p(&path);
                sg.retain(|&(_, first, _)| first * 512 < size);
                let ours: Vec<(u32, u64, u64)> =
                    t.partitions.iter().map(|p| (p.number, p.start / 512, (p.start + p.len) / 512 - 1)).collect();
                assert_eq!(ours, sg);
                assert!(t.warnings.iter().any(|w| w.contains("backup GPT header")), "{:?}", t.warnings);
            }
            _ if !sfdisk_lists => {
                assert_eq!(t.kind, TableKind::None, "{name}");
                eprintln!("{name}: a bare {:?} volume", t.partitions[0].filesystem);
            }
            _ => {
                let (_, listed) = sfdisk_json(&path);
                assert_same_as(&t, 512, &listed);
            }
        }
        if name == "truncated.raw" {
            assert!(t.partitions.iter().any(|p| p.truncated && p.filesystem == Filesystem::Ntfs), "{t:?}");
        }
    }
}
