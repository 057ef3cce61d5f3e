//! Hostile partition tables (HOSTILE-INPUTS.md §3.2, P1-P11): each is a valid table with one field
//! made wrong and its CRCs fixed up, so that only that field is wrong. Every case must end quickly
//! in a typed error or a result with a warning, never a panic, a hang or a large allocation. They
//! are built in memory, so they run without any tool; `synthetic_tables_agree_with_sfdisk` checks
//! the builders against sfdisk.

mod partition_common;

use partition_common::*;
use proptest::prelude::*;
use regnet_image::partition::{read_partitions, Filesystem, PartitionTable, TableKind};
use regnet_image::{ContainerFormat, ImageError, ImageLimits, VirtualDisk};

const SECTORS: u64 = 2048; // a 1 MiB disk

fn windows_entries() -> Vec<Entry<'static>> {
    vec![
        Entry { kind: ESP, first: 64, last: 511, name: "EFI system partition" },
        Entry { kind: MSR, first: 512, last: 767, name: "Microsoft reserved partition" },
        Entry { kind: BASIC, first: 768, last: 1791, name: "Basic data partition" },
        Entry { kind: RECOVERY, first: 1792, last: 2000, name: "Recovery" },
    ]
}

fn gpt() -> Vec<u8> {
    build_gpt(SECTORS, 512, &windows_entries())
}

const LAST: u64 = SECTORS - 1;

/// Reads a hostile disk. (Work is bounded by construction and checked by read counts where it
/// matters; tests never assert timings.)
fn timed(bytes: Vec<u8>) -> regnet_image::Result<PartitionTable> {
    read_mem(bytes)
}

#[test]
fn built_gpt_reads_back() {
    let t = timed(gpt()).unwrap();
    assert_eq!(t.kind, TableKind::Gpt { sector_size: 512, used_backup_header: false });
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    let got: Vec<(u32, u64, u64, &str, Option<&str>)> =
        t.partitions.iter().map(|p| (p.number, p.start, p.len, p.type_id.as_str(), p.name.as_deref())).collect();
    let want: Vec<(u32, u64, u64, &str, Option<&str>)> = windows_entries()
        .iter()
        .zip(1..)
        .map(|(e, n)| (n, e.first * 512, (e.last - e.first + 1) * 512, e.kind, Some(e.name)))
        .collect();
    assert_eq!(got, want);
}

/// Sets a header field of both headers (or only the primary) and fixes their header CRCs.
fn with_header_u32(mut d: Vec<u8>, at: usize, v: u32, both: bool) -> Vec<u8> {
    for lba in if both { vec![1, LAST] } else { vec![1] } {
        put_u32(&mut d, lba as usize * 512 + at, v);
        fix_header_crc(&mut d, 512, lba);
    }
    d
}

fn with_header_u64(mut d: Vec<u8>, at: usize, v: u64, both: bool) -> Vec<u8> {
    for lba in if both { vec![1, LAST] } else { vec![1] } {
        put_u64(&mut d, lba as usize * 512 + at, v);
        fix_header_crc(&mut d, 512, lba);
    }
    d
}

fn assert_backup_used(t: &PartitionTable, because: &str) {
    assert_eq!(t.kind, TableKind::Gpt { sector_size: 512, used_backup_header: true });
    assert_eq!(t.partitions.len(), 4);
    assert!(
        t.warnings.iter().any(|w| w.contains("primary GPT header damaged") && w.contains(because)),
        "{:?}",
        t.warnings
    );
}

#[test]
fn p6_entry_count_2_to_the_32_minus_1() {
    // Primary only: the backup is used.
    let t = timed(with_header_u32(gpt(), 80, u32::MAX, false)).unwrap();
    assert_backup_used(&t, "max_table_bytes");
    // Both: refused before any allocation.
    let e = timed(with_header_u32(gpt(), 80, u32::MAX, true)).unwrap_err();
    assert!(is_limit(&e, "max_table_bytes"), "{e}");
    // With the entry size also 0xFFFFFFFF (their product overflows 32 bits): the size is refused first.
    let d = with_header_u32(with_header_u32(gpt(), 80, u32::MAX, true), 84, u32::MAX, true);
    let e = timed(d).unwrap_err();
    assert!(matches!(e, ImageError::BadField { what: "GPT partition entry size", value: 0xFFFF_FFFF, .. }), "{e}");
}

#[test]
fn p6_entry_count_within_the_limit_but_past_the_disk() {
    // 65536 × 128 = 8 MiB: allowed by max_table_bytes, but the disk is 4 MiB.
    let e = timed(with_header_u32(gpt(), 80, 65536, true)).unwrap_err();
    assert!(matches!(e, ImageError::BadField { what: "GPT PartitionEntryLBA", .. }), "{e}");
}

#[test]
fn p7_entry_size_0_8_and_2_to_the_31() {
    for size in [0u32, 8, 1 << 31, 96, 200] {
        let t = timed(with_header_u32(gpt(), 84, size, false)).unwrap();
        assert_backup_used(&t, "entry size");
        let e = timed(with_header_u32(gpt(), 84, size, true)).unwrap_err();
        assert!(matches!(e, ImageError::BadField { what: "GPT partition entry size", .. }), "{size}: {e}");
    }
}

#[test]
fn p8_header_size_0xffffffff() {
    let t = timed(with_header_u32(gpt(), 12, u32::MAX, false)).unwrap();
    assert_backup_used(&t, "header size");
    let e = timed(with_header_u32(gpt(), 12, u32::MAX, true)).unwrap_err();
    assert!(matches!(e, ImageError::BadField { what: "GPT header size", .. }), "{e}");
}

#[test]
fn p9_entry_lba_2_to_the_48() {
    let t = timed(with_header_u64(gpt(), 72, 1 << 48, false)).unwrap();
    assert_backup_used(&t, "PartitionEntryLBA");
    let e = timed(with_header_u64(gpt(), 72, u64::MAX, true)).unwrap_err();
    assert!(matches!(e, ImageError::BadField { what: "GPT PartitionEntryLBA", .. }), "{e}");
}

#[test]
fn both_headers_damaged_is_an_error() {
    let mut d = gpt();
    d[512 + 40] ^= 0xFF; // primary: CRC no longer matches
    d[LAST as usize * 512 + 40] ^= 0xFF; // backup too
    let e = timed(d).unwrap_err();
    assert!(matches!(e, ImageError::BadChecksum { what: "GPT header", offset: 512, .. }), "{e}");
    // Primary zeroed, backup's array CRC wrong: the backup's error is the one reported.
    let mut d = gpt();
    d[512..1024].fill(0);
    let arr = get_u64(&d, LAST as usize * 512 + 72) as usize * 512;
    d[arr + 32] ^= 1;
    let e = timed(d).unwrap_err();
    assert!(matches!(e, ImageError::BadChecksum { what: "GPT partition entry array", .. }), "{e}");
    // Both zeroed, with a protective MBR that says GPT.
    let mut d = gpt();
    d[512..1024].fill(0);
    d[LAST as usize * 512..].fill(0);
    let e = timed(d).unwrap_err();
    assert!(matches!(e, ImageError::BadSignature { what: "GPT header", .. }), "{e}");
}

#[test]
fn damaged_entry_array_crc_falls_back_to_the_backup() {
    let mut d = gpt();
    d[2 * 512 + 32] ^= 1; // first entry's first LBA, primary array only
    let t = timed(d).unwrap();
    assert_backup_used(&t, "entry array");
    assert_eq!(t.partitions[0].start, 64 * 512);
}

#[test]
fn damaged_backup_is_a_warning() {
    let mut d = gpt();
    d[LAST as usize * 512 + 40] ^= 0xFF;
    let t = timed(d).unwrap();
    assert_eq!(t.kind, TableKind::Gpt { sector_size: 512, used_backup_header: false });
    assert!(t.warnings.iter().any(|w| w.contains("backup GPT header at LBA 2047")), "{:?}", t.warnings);
}

#[test]
fn p10_bad_entries_are_skipped_and_the_rest_kept() {
    let mut e = windows_entries();
    e[0] = Entry { kind: ESP, first: 4000, last: 3000, name: "first after last" };
    e[1] = Entry { kind: MSR, first: 0, last: u64::MAX, name: "size overflows" };
    e.push(Entry { kind: BASIC, first: 100_000, last: 100_010, name: "past the end" });
    e.push(Entry { kind: BASIC, first: 2010, last: 3000, name: "truncated" });
    e.push(Entry { kind: BASIC, first: u64::MAX, last: u64::MAX, name: "at 2^64" });
    let t = timed(build_gpt(SECTORS, 512, &e)).unwrap();
    let kept: Vec<(u32, bool)> = t.partitions.iter().map(|p| (p.number, p.truncated)).collect();
    assert_eq!(kept, [(3, false), (4, false), (6, true)]);
    let skipped = t.warnings.iter().filter(|w| w.contains("skipped")).count();
    assert_eq!(skipped, 4, "{:?}", t.warnings);
    // The truncated one starts inside the disk: its first sector is read, its end is not there.
    let p = &t.partitions[2];
    assert_eq!((p.start, p.len), (2010 * 512, 991 * 512));
    assert!(p.start + p.len > SECTORS * 512);
    // Such a partition cannot be opened as a region: its missing end is a typed error.
    let mut disk = MemDisk::new(build_gpt(SECTORS, 512, &e));
    let err = regnet_image::RegionReader::new(&mut disk, p.start, p.len).err().unwrap();
    assert!(matches!(err, ImageError::OutOfRange { .. }), "{err}");
}

#[test]
fn gpt_entries_beyond_max_partitions_are_a_limit() {
    let mut limits = ImageLimits::default();
    limits.max_partitions = 3;
    let e = read_partitions(&mut MemDisk::new(gpt()), &limits).unwrap_err();
    assert!(is_limit(&e, "max_partitions"), "{e}");
    limits.max_partitions = 4;
    assert_eq!(read_partitions(&mut MemDisk::new(gpt()), &limits).unwrap().partitions.len(), 4);
}

#[test]
fn entry_array_larger_than_max_table_bytes_is_a_limit() {
    let mut limits = ImageLimits::default();
    limits.max_table_bytes = 8 << 10; // the built array is 16 KiB
    let e = read_partitions(&mut MemDisk::new(gpt()), &limits).unwrap_err();
    assert!(is_limit(&e, "max_table_bytes"), "{e}");
}

#[test]
fn gpt_without_protective_mbr_is_found_by_its_header() {
    let mut d = gpt();
    d[..512].fill(0);
    let t = timed(d.clone()).unwrap();
    assert_eq!(t.kind, TableKind::Gpt { sector_size: 512, used_backup_header: false });
    assert!(t.warnings.iter().any(|w| w.contains("no MBR")), "{:?}", t.warnings);
    // And with only the backup left.
    d[512..1024].fill(0);
    let t = timed(d).unwrap();
    assert_eq!(t.kind, TableKind::Gpt { sector_size: 512, used_backup_header: true });
}

#[test]
fn gpt_on_4096_byte_sectors_built_in_memory() {
    let e = [Entry { kind: BASIC, first: 256, last: 1023, name: "Basic data partition" }];
    let d = build_gpt(1024 + 64, 4096, &e);
    let t = timed(d.clone()).unwrap();
    assert_eq!(t.kind, TableKind::Gpt { sector_size: 4096, used_backup_header: false });
    assert_eq!((t.partitions[0].start, t.partitions[0].len), (256 * 4096, 768 * 4096));
    let mut z = d;
    z[4096..8192].fill(0);
    let t = timed(z).unwrap();
    assert_eq!(t.kind, TableKind::Gpt { sector_size: 4096, used_backup_header: true });
}

// ---- MBR ----

const MIB: usize = 1 << 20;

/// An MBR disk of 1 MiB: a primary at LBA 64 and an extended partition from 128 to the end
/// holding two logical partitions, whose EBRs are at LBAs 128 and 640.
fn mbr_with_logicals() -> Vec<u8> {
    let mut d = vec![0u8; MIB];
    mbr_sector(&mut d, 0, &[(0, 0x80, 0x07, 64, 64), (1, 0, 0x0F, 128, 1920)]);
    // EBR 1 at 128: logical at +64 (192), 128 sectors; next EBR at extended + 512 = 640.
    mbr_sector(&mut d, 128, &[(0, 0, 0x07, 64, 128), (1, 0, 0x05, 512, 256)]);
    // EBR 2 at 640: logical at +32 (672), 128 sectors; end of chain.
    mbr_sector(&mut d, 640, &[(0, 0, 0x83, 32, 128)]);
    d
}

fn numbers(t: &PartitionTable) -> Vec<u32> {
    t.partitions.iter().map(|p| p.number).collect()
}

#[test]
fn built_mbr_reads_back() {
    let t = timed(mbr_with_logicals()).unwrap();
    assert_eq!(t.kind, TableKind::Mbr);
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    assert_eq!(numbers(&t), [1, 2, 5, 6]);
    let starts: Vec<u64> = t.partitions.iter().map(|p| p.start / 512).collect();
    assert_eq!(starts, [64, 128, 192, 672]);
}

#[test]
fn p1_ebr_pointing_at_itself() {
    let mut d = mbr_with_logicals();
    // EBR 1's link: type 5, relative start 0 = the extended partition's start = EBR 1 itself.
    mbr_entry(&mut d[128 * 512..], 1, 0, 0x05, 0, 256);
    let t = timed(d).unwrap();
    assert_eq!(numbers(&t), [1, 2, 5]);
    assert!(t.warnings.iter().any(|w| w.contains("loops back to the EBR at LBA 128")), "{:?}", t.warnings);
}

#[test]
fn p2_ebr_pointing_back_to_an_earlier_one() {
    let mut d = mbr_with_logicals();
    mbr_entry(&mut d[640 * 512..], 1, 0, 0x05, 0, 256);
    let t = timed(d).unwrap();
    assert_eq!(numbers(&t), [1, 2, 5, 6]);
    assert!(t.warnings.iter().any(|w| w.contains("loops back to the EBR at LBA 128")), "{:?}", t.warnings);
}

#[test]
fn p4_ebr_link_past_the_disk() {
    let mut d = mbr_with_logicals();
    mbr_entry(&mut d[640 * 512..], 1, 0, 0x05, 0x7FFF_FFFF, 256);
    let t = timed(d).unwrap();
    assert_eq!(numbers(&t), [1, 2, 5, 6]);
    assert!(t.warnings.iter().any(|w| w.contains("outside the extended partition")), "{:?}", t.warnings);
    // A logical partition past the disk: skipped, the chain goes on.
    let mut d = mbr_with_logicals();
    mbr_entry(&mut d[128 * 512..], 0, 0, 0x07, 0xFFFF_0000, 128);
    let t = timed(d).unwrap();
    assert_eq!(numbers(&t), [1, 2, 6]);
}

#[test]
fn p5_huge_entries_in_the_mbr() {
    let mut d = vec![0u8; MIB];
    let e = 0xFFFF_FFFF;
    mbr_sector(&mut d, 0, &[(0, 0, 7, 0xFFFF_FF00, e), (1, 0, 7, 0xFFFF_FFFF, e), (2, 0, 7, 1, e), (3, 0, 7, 2, e)]);
    let t = timed(d).unwrap();
    assert_eq!(t.kind, TableKind::Mbr);
    // The first two start past the end: skipped. The other two start inside: kept, flagged
    // truncated, and overlapping.
    let kept: Vec<(u32, bool)> = t.partitions.iter().map(|p| (p.number, p.truncated)).collect();
    assert_eq!(kept, [(3, true), (4, true)]);
    assert_eq!(t.partitions[0].len, u64::from(e) * 512);
    assert!(t.warnings.iter().any(|w| w.contains("partition 4 overlaps partition 3")), "{:?}", t.warnings);
    assert_eq!(t.warnings.iter().filter(|w| w.contains("skipped")).count(), 2, "{:?}", t.warnings);
}

#[test]
fn four_overlapping_partitions_inside_the_disk() {
    let mut d = vec![0u8; MIB];
    mbr_sector(&mut d, 0, &[(0, 0, 7, 1, 2000), (1, 0, 7, 1, 2000), (2, 0, 7, 100, 50), (3, 0, 7, 1000, 1047)]);
    let t = timed(d).unwrap();
    assert_eq!(numbers(&t), [1, 2, 3, 4]);
    assert_eq!(t.warnings.iter().filter(|w| w.contains("overlaps")).count(), 3, "{:?}", t.warnings);
}

#[test]
fn odd_boot_flags_are_accepted_with_a_warning() {
    let mut d = vec![0u8; MIB];
    mbr_sector(&mut d, 0, &[(0, 0x33, 7, 64, 8), (1, 0x80, 7, 128, 8)]);
    let t = timed(d).unwrap();
    assert_eq!(numbers(&t), [1, 2]);
    assert!(!t.partitions[0].bootable && t.partitions[1].bootable);
    assert!(t.warnings.iter().any(|w| w.contains("boot flag 0x33")), "{:?}", t.warnings);
}

#[test]
fn entries_of_type_0_or_at_lba_0_are_not_partitions() {
    let mut d = vec![0u8; MIB];
    mbr_sector(&mut d, 0, &[(0, 0, 0, 2048, 8), (1, 0, 7, 0, 8), (2, 0, 7, 4096, 0)]);
    let t = timed(d).unwrap();
    assert!(t.partitions.is_empty());
    assert_eq!(t.warnings.len(), 2, "{:?}", t.warnings);
}

#[test]
fn no_table_at_all_is_an_error() {
    let e = timed(vec![0u8; MIB]).unwrap_err();
    assert!(matches!(e, ImageError::BadSignature { offset: 510, .. }), "{e}");
}

#[test]
fn short_and_empty_disks_are_errors() {
    for n in [0usize, 1, 100, 511] {
        let e = timed(vec![0x55; n]).unwrap_err();
        assert!(matches!(e, ImageError::Truncated { needed: 512, .. }), "{n}: {e}");
    }
    // Exactly one sector: an empty MBR, with nothing else to probe.
    let mut d = vec![0u8; 512];
    d[510..].copy_from_slice(&[0x55, 0xAA]);
    assert!(timed(d).unwrap().partitions.is_empty());
    // One sector that is a protective MBR: GPT, whose header is not there.
    let mut d = vec![0u8; 512];
    mbr_sector(&mut d, 0, &[(0, 0, 0xEE, 1, 100)]);
    let e = timed(d).unwrap_err();
    assert!(matches!(e, ImageError::Truncated { what: "GPT header", .. }), "{e}");
}

/// A disk that makes up an EBR chain of any length as it is read: sector 0 is an MBR with one
/// extended partition from LBA 2; EBR k is at LBA 2 + 2k, its logical partition right after it.
struct ChainDisk {
    ebrs: u64,
    reads: u64,
}

impl ChainDisk {
    fn sector(&self, lba: u64) -> [u8; 512] {
        let mut sector = [0u8; 512];
        if lba == 0 {
            mbr_entry(&mut sector, 0, 0, 0x0F, 2, u32::try_from(2 * self.ebrs + 2).unwrap());
        } else if lba >= 2 && lba % 2 == 0 && (lba - 2) / 2 < self.ebrs {
            let k = (lba - 2) / 2;
            mbr_entry(&mut sector, 0, 0, 0x07, 1, 1);
            if k + 1 < self.ebrs {
                mbr_entry(&mut sector, 1, 0, 0x05, u32::try_from(2 * (k + 1)).unwrap(), 2);
            }
        } else {
            return sector;
        }
        sector[510] = 0x55;
        sector[511] = 0xAA;
        sector
    }
}

impl VirtualDisk for ChainDisk {
    fn size(&self) -> u64 {
        (2 + 2 * self.ebrs + 8) * 512
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> regnet_image::Result<()> {
        regnet_image::disk::check_range("chain disk", offset, buf.len(), self.size())?;
        self.reads += 1;
        let mut done = 0;
        while done < buf.len() {
            let pos = offset + done as u64;
            let at = (pos % 512) as usize;
            let n = (512 - at).min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&self.sector(pos / 512)[at..at + n]);
            done += n;
        }
        Ok(())
    }
    fn format(&self) -> ContainerFormat {
        ContainerFormat::Raw
    }
}

#[test]
fn p3_long_ebr_chains() {
    // 100 logical partitions: all read.
    let mut disk = ChainDisk { ebrs: 100, reads: 0 };
    let t = read_partitions(&mut disk, &ImageLimits::default()).unwrap();
    assert_eq!(t.partitions.len(), 101);
    assert_eq!(t.partitions.last().unwrap().number, 104);
    // 20,000: stopped at max_partitions, in time linear in the limit.
    let mut disk = ChainDisk { ebrs: 20_000, reads: 0 };
    let e = read_partitions(&mut disk, &ImageLimits::default()).unwrap_err();
    assert!(is_limit(&e, "max_partitions"), "{e}");
    let max = u64::from(ImageLimits::default().max_partitions);
    // The EBRs, plus the MBR, the first 4 KiB (a bare Linux volume's signatures) and the four
    // probes for a GPT header (LBA 1 and the last LBA, for both sector sizes).
    assert!(disk.reads <= max + 6, "{} reads", disk.reads);
}

#[test]
fn bare_volume_wins_over_its_55aa() {
    // An NTFS boot sector whose bytes, read as MBR entries, would make partitions.
    let mut d = vec![0u8; MIB];
    mbr_sector(&mut d, 0, &[(0, 0x80, 0x07, 1, 100)]);
    d[3..11].copy_from_slice(b"NTFS    ");
    let t = timed(d.clone()).unwrap();
    assert_eq!(t.kind, TableKind::None);
    assert_eq!(t.partitions.len(), 1);
    assert_eq!((t.partitions[0].len, t.partitions[0].filesystem), (MIB as u64, Filesystem::Ntfs));
    // exFAT and ReFS are not read, but they are volumes, not tables.
    for oem in [b"EXFAT   ", b"ReFS\0\0\0\0"] {
        d[3..11].copy_from_slice(oem);
        let t = timed(d.clone()).unwrap();
        assert_eq!((&t.kind, t.partitions[0].filesystem), (&TableKind::None, Filesystem::Unknown));
    }
}

/// The in-memory builders make what sfdisk also reads: so the hostile cases start from valid tables.
#[test]
fn synthetic_tables_agree_with_sfdisk() {
    if !have("synthetic_tables_agree_with_sfdisk", &["sfdisk"]) {
        return;
    }
    for (name, bytes) in [("part-syn-gpt", gpt()), ("part-syn-mbr", mbr_with_logicals())] {
        let f = TempPath::new(name);
        std::fs::write(&*f, &bytes).unwrap();
        let t = read_file(&f).unwrap();
        let (_, listed) = sfdisk_json(&f);
        assert_same_as(&t, 512, &listed);
    }
}

// ---- Properties: any bytes give a result or a typed error, quickly. ----

/// A disk from a valid table with some bytes overwritten, biased to the table structures.
fn mutated(base: Vec<u8>, hot: Vec<usize>) -> impl Strategy<Value = Vec<u8>> {
    let len = base.len();
    let hot_len = hot.len();
    proptest::collection::vec((0..hot_len + 1, 0..len, 0..512usize, any::<u8>()), 1..24).prop_map(move |edits| {
        let mut d = base.clone();
        for (h, anywhere, near, v) in edits {
            let at = if h < hot_len { (hot[h] + near) % len } else { anywhere };
            d[at] = v;
        }
        d
    })
}

fn gpt_with_crcs_fixed(mut d: Vec<u8>) -> Vec<u8> {
    // Fix the header CRCs after the edits (where the fields still allow it) so that mutations
    // reach past the CRC checks into the field checks and the entries.
    for lba in [1, LAST] {
        let h = lba as usize * 512;
        let size = get_u32(&d, h + 12) as usize;
        if (92..=512).contains(&size) {
            fix_header_crc(&mut d, 512, lba);
        }
    }
    d
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_gpt_never_panics(d in mutated(gpt(), vec![0, 446, 512, 1024, 1536, LAST as usize * 512])) {
        let _ = read_mem(d.clone());
        let r = read_mem(gpt_with_crcs_fixed(d));
        if let Ok(t) = r {
            prop_assert!(t.partitions.len() <= 128);
        }
    }

    #[test]
    fn mutated_mbr_never_panics(d in mutated(mbr_with_logicals(), vec![0, 446, 128 * 512 + 446, 640 * 512 + 446])) {
        if let Ok(t) = read_mem(d) {
            prop_assert!(t.partitions.len() <= 4 + 1024);
        }
    }

    #[test]
    fn random_first_sectors_never_panic(head in proptest::collection::vec(any::<u8>(), 0..2048), tail in 0usize..8192) {
        let mut d = head;
        d.resize(d.len() + tail, 0);
        let _ = read_mem(d);
    }
}
