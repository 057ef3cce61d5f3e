//! Partition tables: GPT (512- and 4096-byte sectors, backup header), MBR (primary, extended and
//! logical partitions, protective and hybrid), or a bare volume with no table.
//!
//! Sources: UEFI 2.10 §5.2 (legacy MBR, protective MBR) and §5.3 (GPT header, entry array and
//! their CRC32s); the IBM PC MBR and EBR layout as Windows, Linux (`block/partitions/msdos.c`,
//! `efi.c`) and libfdisk read it.
//!
//! # How a disk is recognised, in order
//! 1. **A bare volume.** A boot sector at byte 0 with the OEM id `NTFS    ` or `-FVE-FS-` at byte 3,
//!    or a FAT boot sector with a sane BPB (or an exFAT or ReFS one), is a volume without a table
//!    ([`TableKind::None`], one partition numbered 0 covering the disk). This comes first because an
//!    NTFS or FAT boot sector also ends in `55 AA`, and read as an MBR its code bytes give nonsense
//!    partitions.
//! 2. **GPT**, when the MBR has a `0xEE` entry (protective or hybrid), or when it has no partitions
//!    at all (no `55 AA`, or four empty entries) but an `EFI PART` header is at LBA 1 or at the last
//!    LBA, for 512- or 4096-byte sectors. An `EFI PART` header behind an MBR that lists partitions
//!    and no `0xEE` entry is a stale GPT: UEFI firmware, Windows and Linux all read such a disk as
//!    MBR, and so does this module (with a warning). When GPT is chosen and neither header is valid
//!    the disk is an error: an MBR that says "GPT" has nothing else to offer.
//! 3. **MBR** with `55 AA`: four primary entries, and the EBR chain of each extended entry.
//!
//! An entry that starts at or past the end of the disk is skipped with a warning: none of it exists.
//! One that starts inside but ends past the end is kept with its size as recorded, flagged
//! [`Partition::truncated`], and warned about; it is never clamped. So a truncated image still shows
//! its Windows partition, and opening it (as a [`RegionReader`](crate::RegionReader) of `start ..
//! start + len`) is a typed `OutOfRange` error that says what happened, rather than "no Windows
//! partition". Overlapping partitions are kept and warned about.

use crate::disk::VirtualDisk;
use crate::error::{ImageError, Result};
use crate::limits::ImageLimits;
use serde::{Deserialize, Serialize};

pub mod gpt;
pub mod mbr;

/// Which kind of table the disk has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TableKind {
    /// GUID partition table.
    Gpt {
        /// Logical sector size found (512 or 4096).
        sector_size: u32,
        /// True when the primary header was damaged and the backup header was used.
        used_backup_header: bool,
    },
    /// MBR (DOS) partition table. Its LBAs are taken as 512-byte sectors: an MBR carries no sector
    /// size, and a 4096-byte-sector disk is in practice always GPT (Windows cannot boot 4Kn from MBR).
    Mbr,
    /// No table: the disk is one bare volume.
    None,
}

/// What the first sector of a partition says it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Filesystem {
    /// NTFS (`NTFS    ` at byte 3).
    Ntfs,
    /// BitLocker-encrypted volume (`-FVE-FS-` at byte 3).
    BitLocker,
    /// FAT12/16/32 (an EFI system partition, usually).
    Fat,
    /// Anything else, or unreadable.
    Unknown,
}

/// One partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Partition {
    /// GPT entry number (1-based); MBR: 1-4 primary, 5 and up logical, in chain order; 0 for a bare volume.
    pub number: u32,
    /// Start, bytes from the start of the disk.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
    /// GPT partition type GUID (upper-case, no braces) or MBR type byte as `0x07`; empty for a bare
    /// volume.
    pub type_id: String,
    /// GPT partition name, when any.
    pub name: Option<String>,
    /// What its first sector says.
    pub filesystem: Filesystem,
    /// MBR: the boot flag is `0x80` (active). GPT: attribute bit 2 (legacy BIOS bootable).
    pub bootable: bool,
    /// The table puts the end of this partition past the end of the disk (a truncated image, or a
    /// table that lies): `len` is what the table says, and reading its missing end is an error.
    pub truncated: bool,
}

/// A disk's partitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PartitionTable {
    /// The table kind.
    pub kind: TableKind,
    /// Partitions in table order.
    pub partitions: Vec<Partition>,
    /// Odd things that did not stop the reading (e.g. a damaged primary GPT header).
    pub warnings: Vec<String>,
}

impl PartitionTable {
    /// The logical sector size the table's LBAs were read in: the GPT's, else 512.
    pub fn sector_size(&self) -> u32 {
        match self.kind {
            TableKind::Gpt { sector_size, .. } => sector_size,
            _ => 512,
        }
    }
}

/// Bytes of the first sector read for recognition: the MBR, or the boot sector of a volume.
pub(crate) const SECTOR: usize = 512;

/// Reads the partition table of a disk (or recognises a bare volume).
///
/// Cost: a few sectors for the table, the GPT entry array (at most `max_table_bytes`), and one
/// sector per partition (at most `max_partitions` of them) to tell its file system.
pub fn read_partitions(disk: &mut dyn VirtualDisk, limits: &ImageLimits) -> Result<PartitionTable> {
    let size = disk.size();
    let mut lba0 = [0u8; SECTOR];
    if size < SECTOR as u64 {
        return Err(ImageError::Truncated { what: "first sector", offset: 0, needed: SECTOR as u64, available: size });
    }
    disk.read_at(0, &mut lba0)?;

    // 1. A bare volume: a boot sector, or a Linux volume's signature (a whole-disk LVM PV, ext4,
    //    XFS, LUKS, Btrfs: their first sector has no partition table and often no 55 AA).
    let fs = probe_filesystem(&lba0);
    let mut head = [0u8; 4096];
    let n = usize::try_from(size).map_or(head.len(), |s| s.min(head.len()));
    if let Some(h) = head.get_mut(..n) {
        disk.read_at(0, h)?;
    }
    if fs != Filesystem::Unknown || is_other_boot_sector(&lba0) || is_linux_volume(head.get(..n).unwrap_or_default()) {
        let volume = Partition {
            number: 0,
            start: 0,
            len: size,
            type_id: String::new(),
            name: None,
            filesystem: fs,
            bootable: false,
            truncated: false,
        };
        return Ok(PartitionTable { kind: TableKind::None, partitions: vec![volume], warnings: Vec::new() });
    }

    // 2. GPT.
    let mbr_ok = mbr::has_boot_signature(&lba0);
    let entries = mbr::primary_entries(&lba0);
    let protective = mbr_ok && entries.iter().any(|e| e.kind == mbr::PROTECTIVE);
    let mbr_used = mbr_ok && entries.iter().any(|e| e.is_used() && e.kind != mbr::PROTECTIVE);
    let mut warnings = Vec::new();
    let use_gpt = if protective {
        true
    } else if gpt::signature_anywhere(disk)? {
        if mbr_used {
            warnings.push(
                "an EFI PART header is on the disk but the MBR lists partitions and no 0xEE protective entry: \
                 read as MBR, as UEFI firmware, Windows and Linux do (the GPT is stale)"
                    .to_owned(),
            );
            false
        } else {
            if mbr_ok {
                warnings.push("the MBR has no 0xEE protective entry; the GPT was found by its header".to_owned());
            } else {
                warnings.push("no MBR (no 55 AA at byte 510); the GPT was found by its header".to_owned());
            }
            true
        }
    } else {
        false
    };

    let (kind, mut partitions) = if use_gpt {
        if protective && mbr_used {
            warnings.push(
                "hybrid MBR: the GPT is used; the MBR's entries other than 0xEE (copies of GPT entries for \
                 BIOS boot) are ignored"
                    .to_owned(),
            );
        }
        let found = gpt::read_gpt(disk, limits, &mut warnings)?;
        (TableKind::Gpt { sector_size: found.sector_size, used_backup_header: found.used_backup }, found.partitions)
    } else {
        // 3. MBR.
        if !mbr_ok {
            return Err(ImageError::BadSignature {
                what: "MBR boot signature",
                offset: 510,
                expected: "55 AA (or a boot sector, or a GPT header)",
                found: lba0.get(510..512).map(<[u8]>::to_vec).unwrap_or_default(),
            });
        }
        (TableKind::Mbr, mbr::read_mbr(disk, &lba0, limits, &mut warnings)?)
    };

    overlap_warnings(&partitions, &mut warnings);
    for p in &mut partitions {
        p.filesystem =
            if mbr::is_extended_id(&p.type_id) { Filesystem::Unknown } else { probe_partition(disk, p, &mut warnings) };
    }
    Ok(PartitionTable { kind, partitions, warnings })
}

/// Reads the first sector of a partition to tell its file system. A partition shorter than a
/// sector, or one whose sector cannot be read, is `Unknown` (the latter with a warning).
fn probe_partition(disk: &mut dyn VirtualDisk, p: &Partition, warnings: &mut Vec<String>) -> Filesystem {
    let in_disk = p.start.checked_add(SECTOR as u64).is_some_and(|end| end <= disk.size());
    if p.len < SECTOR as u64 || !in_disk {
        return Filesystem::Unknown;
    }
    let mut sector = [0u8; SECTOR];
    match disk.read_at(p.start, &mut sector) {
        Ok(()) => probe_filesystem(&sector),
        Err(e) => {
            warnings.push(format!("partition {}: its first sector could not be read: {e}", p.number));
            Filesystem::Unknown
        }
    }
}

/// What a boot sector says its volume is.
pub fn probe_filesystem(sector: &[u8]) -> Filesystem {
    match sector.get(3..11) {
        Some(b"NTFS    ") => Filesystem::Ntfs,
        Some(b"-FVE-FS-") => Filesystem::BitLocker,
        _ if is_fat_boot_sector(sector) => Filesystem::Fat,
        _ => Filesystem::Unknown,
    }
}

/// The first 4 KiB of a volume Linux uses without a partition table: an LVM label in sectors
/// 0–3, XFS, LUKS, an ext2/3/4 superblock at 1024, swap. (A real MBR or GPT disk never starts
/// with these: sector 0 would hold 55 AA and a table.)
fn is_linux_volume(h: &[u8]) -> bool {
    let lvm = (0..4).any(|i| h.get(i * SECTOR..i * SECTOR + 8) == Some(b"LABELONE"));
    let ext = h.get(1080..1082) == Some(&[0x53, 0xEF]) && !mbr::has_boot_signature(h);
    lvm || ext || h.starts_with(b"XFSB") || h.starts_with(b"LUKS\xba\xbe") || h.get(4086..4096) == Some(b"SWAPSPACE2")
}

/// Boot sectors of volumes regnet does not read (exFAT, ReFS): still a bare volume, not an MBR.
fn is_other_boot_sector(s: &[u8]) -> bool {
    matches!(s.get(3..11), Some(b"EXFAT   " | b"ReFS\0\0\0\0"))
}

/// A FAT12/16/32 boot sector: a jump instruction, a BPB whose fields have values FAT allows, and
/// a FAT type string (at 54, or at 82 for FAT32) or an OEM id that FAT formatters write. The BPB
/// check keeps an MBR's boot code, which can hold any bytes, from passing for a volume.
fn is_fat_boot_sector(s: &[u8]) -> bool {
    let byte = |i: usize| s.get(i).copied().unwrap_or(0);
    let jump = byte(0) == 0xEB || byte(0) == 0xE9;
    let bytes_per_sector = u16_at(s, 11);
    let sectors_per_cluster = byte(13);
    let reserved = u16_at(s, 14);
    let fats = byte(16);
    let media = byte(21);
    let total = u32::from(u16_at(s, 19)).max(u32_at(s, 32));
    let sane = jump
        && matches!(bytes_per_sector, 512 | 1024 | 2048 | 4096)
        && sectors_per_cluster.is_power_of_two()
        && reserved >= 1
        && matches!(fats, 1 | 2)
        && (media == 0xF0 || media >= 0xF8)
        && total > 0;
    let fat_type = s.get(54..57) == Some(b"FAT") || s.get(82..87) == Some(b"FAT32");
    let oem = matches!(s.get(3..11), Some(b"MSDOS5.0" | b"mkfs.fat" | b"mkdosfs " | b"MSWIN4.1" | b"MSWIN4.0"));
    sane && (fat_type || oem)
}

/// Warns about partitions that share sectors (extended containers aside: they hold their logical
/// partitions by design). Sorting keeps this O(n log n) for a table of any size.
fn overlap_warnings(parts: &[Partition], warnings: &mut Vec<String>) {
    let mut spans: Vec<(u64, u64, u32)> = parts
        .iter()
        .filter(|p| !mbr::is_extended_id(&p.type_id))
        .map(|p| (p.start, p.start.saturating_add(p.len), p.number))
        .collect();
    spans.sort_unstable();
    let mut reach: Option<(u64, u32)> = None;
    for &(start, end, number) in &spans {
        if let Some((prev_end, prev)) = reach {
            if start < prev_end {
                warnings.push(format!("partition {number} overlaps partition {prev}"));
            }
        }
        if reach.is_none_or(|(e, _)| end > e) {
            reach = Some((end, number));
        }
    }
}

/// The byte range of `sectors` sectors from `lba`, if it lies inside a disk of `disk_size` bytes.
pub(crate) fn lba_range(lba: u64, sectors: u64, sector_size: u64, disk_size: u64) -> Option<(u64, u64)> {
    let start = lba.checked_mul(sector_size)?;
    let len = sectors.checked_mul(sector_size)?;
    let end = start.checked_add(len)?;
    (end <= disk_size).then_some((start, len))
}

/// Where a partition of `sectors` sectors from `lba` lies: `(start, len, truncated)` in bytes, when
/// it starts inside the disk and its end is a representable byte offset; else why not.
pub(crate) fn extent(
    lba: u64,
    sectors: u64,
    sector_size: u64,
    disk_size: u64,
) -> Result<(u64, u64, bool), &'static str> {
    let start = lba.checked_mul(sector_size).filter(|&s| s < disk_size).ok_or("it starts past the end of the disk")?;
    let len = sectors.checked_mul(sector_size).ok_or("its size overflows 64 bits")?;
    let end = start.checked_add(len).ok_or("its end overflows 64 bits")?;
    Ok((start, len, end > disk_size))
}

/// The warning for a partition kept with [`Partition::truncated`] set.
pub(crate) fn truncated_warning(what: &str, start: u64, len: u64, disk_size: u64) -> String {
    format!(
        "{what} (bytes {start:#x} + {len:#x}) runs past the end of the {disk_size}-byte disk: \
         kept as truncated, its end cannot be read"
    )
}

/// Little-endian `u16` at `off`, 0 when the slice is too short (callers pass whole sectors).
pub(crate) fn u16_at(b: &[u8], off: usize) -> u16 {
    off.checked_add(2).and_then(|end| b.get(off..end)).and_then(|s| s.try_into().ok()).map_or(0, u16::from_le_bytes)
}

/// Little-endian `u32` at `off`, 0 when the slice is too short.
pub(crate) fn u32_at(b: &[u8], off: usize) -> u32 {
    off.checked_add(4).and_then(|end| b.get(off..end)).and_then(|s| s.try_into().ok()).map_or(0, u32::from_le_bytes)
}

/// Little-endian `u64` at `off`, 0 when the slice is too short.
pub(crate) fn u64_at(b: &[u8], off: usize) -> u64 {
    off.checked_add(8).and_then(|end| b.get(off..end)).and_then(|s| s.try_into().ok()).map_or(0, u64::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(number: u32, start: u64, len: u64) -> Partition {
        Partition {
            number,
            start,
            len,
            type_id: "0x07".into(),
            name: None,
            filesystem: Filesystem::Unknown,
            bootable: false,
            truncated: false,
        }
    }

    #[test]
    fn overlaps_are_found_once_per_partition() {
        let mut w = Vec::new();
        overlap_warnings(&[part(1, 0, 100), part(2, 100, 50), part(3, 10, 10), part(4, 140, 5)], &mut w);
        assert_eq!(w, ["partition 3 overlaps partition 1", "partition 4 overlaps partition 2"]);
        let mut w = Vec::new();
        overlap_warnings(&[part(1, u64::MAX - 1, 10), part(2, 0, 1)], &mut w);
        assert!(w.is_empty());
    }

    #[test]
    fn boot_sectors() {
        let mut s = [0u8; 512];
        assert_eq!(probe_filesystem(&s), Filesystem::Unknown);
        s[3..11].copy_from_slice(b"NTFS    ");
        assert_eq!(probe_filesystem(&s), Filesystem::Ntfs);
        s[3..11].copy_from_slice(b"-FVE-FS-");
        assert_eq!(probe_filesystem(&s), Filesystem::BitLocker);
        // A FAT32 boot sector as mkfs.fat writes it.
        let mut f = [0u8; 512];
        f[..3].copy_from_slice(&[0xEB, 0x58, 0x90]);
        f[3..11].copy_from_slice(b"mkfs.fat");
        f[11..13].copy_from_slice(&512u16.to_le_bytes());
        f[13] = 1;
        f[14..16].copy_from_slice(&32u16.to_le_bytes());
        f[16] = 2;
        f[21] = 0xF8;
        f[32..36].copy_from_slice(&65536u32.to_le_bytes());
        f[82..90].copy_from_slice(b"FAT32   ");
        assert_eq!(probe_filesystem(&f), Filesystem::Fat);
        // The same with an impossible BPB is not FAT.
        let mut g = f;
        g[13] = 3;
        assert_eq!(probe_filesystem(&g), Filesystem::Unknown);
        let mut g = f;
        g[11..13].copy_from_slice(&100u16.to_le_bytes());
        assert_eq!(probe_filesystem(&g), Filesystem::Unknown);
        // Without a type string nor a known OEM id, not FAT either.
        let mut g = f;
        g[3..11].copy_from_slice(b"XXXXXXXX");
        g[82..90].copy_from_slice(b"        ");
        assert_eq!(probe_filesystem(&g), Filesystem::Unknown);
        assert_eq!(probe_filesystem(&[]), Filesystem::Unknown);
        // Short slices are read as far as they go, without panicking.
        assert_eq!(probe_filesystem(&f[..40]), Filesystem::Fat);
        assert_eq!(probe_filesystem(&f[..12]), Filesystem::Unknown);
    }

    #[test]
    fn ranges_and_fields() {
        assert_eq!(lba_range(2, 3, 512, 4096), Some((1024, 1536)));
        assert_eq!(lba_range(2, 6, 512, 4096), Some((1024, 3072)));
        assert_eq!(lba_range(2, 7, 512, 4096), None);
        assert_eq!(lba_range(u64::MAX, 1, 512, u64::MAX), None);
        assert_eq!(lba_range(1, u64::MAX / 256, 512, u64::MAX), None);
        assert_eq!(extent(2, 3, 512, 4096), Ok((1024, 1536, false)));
        assert_eq!(extent(2, 7, 512, 4096), Ok((1024, 3584, true)));
        assert!(extent(8, 1, 512, 4096).is_err());
        assert!(extent(u64::MAX, 1, 512, u64::MAX).is_err());
        assert!(extent(1, u64::MAX, 512, u64::MAX).is_err());
        assert!(extent(1, u64::MAX / 512, 512, u64::MAX).is_err());
        let b = [1u8, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(u16_at(&b, 6), 0x0807);
        assert_eq!(u16_at(&b, 7), 0);
        assert_eq!(u32_at(&b, usize::MAX), 0);
        assert_eq!(u64_at(&b, 0), 0x0807060504030201);
    }
}
