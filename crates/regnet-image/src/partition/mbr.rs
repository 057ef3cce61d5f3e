//! MBR: four primary entries at byte 446, and for each extended entry (types 0x05, 0x0F, 0x85) its
//! chain of EBRs.
//!
//! Layout (IBM PC, as Windows and Linux `block/partitions/msdos.c` read it): an entry is 16 bytes,
//! boot flag at +0, type at +4, first LBA (u32 LE) at +8, sector count (u32 LE) at +12; `55 AA` at
//! byte 510. In an EBR, entry 1 is the logical partition with its start relative to that EBR, and
//! entry 2 links to the next EBR with its start relative to the extended partition's first LBA.
//!
//! The chain is walked in a loop, never by recursion, with a set of the EBR LBAs already visited:
//! The Sleuth Kit recursed forever on an EBR that pointed at itself (CVE-2017-13756) and on one
//! that pointed back to an earlier EBR (TSK #1088), and `dissect.volume` lost the whole disk to a
//! RecursionError. A loop ends the chain with a warning, keeping what came before; a chain longer
//! than `max_partitions` is [`ImageError::LimitExceeded`](crate::ImageError::LimitExceeded).
//!
//! LBAs are 512-byte sectors (see [`TableKind::Mbr`](super::TableKind::Mbr)).

use super::{extent, lba_range, truncated_warning, u32_at, Filesystem, Partition, SECTOR};
use crate::disk::VirtualDisk;
use crate::error::Result;
use crate::limits::ImageLimits;
use std::collections::BTreeSet;

/// The type of a GPT protective (or hybrid) MBR entry.
pub(crate) const PROTECTIVE: u8 = 0xEE;
/// The sector size MBR LBAs are counted in.
const SECTOR_SIZE: u64 = SECTOR as u64;
/// Where the four entries start.
const TABLE_OFFSET: usize = 446;
/// Size of one entry.
const ENTRY_SIZE: usize = 16;

/// One 16-byte MBR or EBR entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    /// 0x80 active, 0x00 inactive (anything else is accepted with a warning).
    pub boot: u8,
    /// The partition type byte.
    pub kind: u8,
    /// First LBA (relative to what the table's kind says).
    pub start: u32,
    /// Sector count.
    pub sectors: u32,
}

impl Entry {
    /// An entry describes a partition when it has a type and a size. Windows ignores type 0
    /// entries; a size of 0 holds nothing.
    pub fn is_used(&self) -> bool {
        self.kind != 0 && self.sectors != 0
    }
}

/// `55 AA` at byte 510.
pub(crate) fn has_boot_signature(sector: &[u8]) -> bool {
    sector.get(510..512) == Some(&[0x55, 0xAA][..])
}

/// The four entries of an MBR or EBR sector.
pub(crate) fn primary_entries(sector: &[u8]) -> [Entry; 4] {
    let entry = |i: usize| {
        let at = TABLE_OFFSET + i * ENTRY_SIZE;
        Entry {
            boot: sector.get(at).copied().unwrap_or(0),
            kind: sector.get(at + 4).copied().unwrap_or(0),
            start: u32_at(sector, at + 8),
            sectors: u32_at(sector, at + 12),
        }
    };
    [entry(0), entry(1), entry(2), entry(3)]
}

/// The extended-partition types: 0x05 (CHS), 0x0F (LBA, what Windows writes), 0x85 (Linux).
pub(crate) fn is_extended(kind: u8) -> bool {
    matches!(kind, 0x05 | 0x0F | 0x85)
}

/// [`is_extended`] on a partition's `type_id`.
pub(crate) fn is_extended_id(type_id: &str) -> bool {
    matches!(type_id, "0x05" | "0x0F" | "0x85")
}

/// The `type_id` of an MBR type byte.
fn type_text(kind: u8) -> String {
    format!("0x{kind:02X}")
}

/// State shared by the chains of every extended partition of one disk.
struct Chains {
    /// EBR LBAs read so far: a link to one of them is a loop.
    visited: BTreeSet<u64>,
    /// EBRs read so far, against `max_partitions`.
    reads: u64,
    /// The next logical partition number.
    next_number: u32,
}

/// The partitions of an MBR disk whose sector 0 (`lba0`, with `55 AA`) has been read: primary
/// entries 1-4 in slot order (extended ones included, as fdisk lists them), then the logical
/// partitions numbered from 5 in chain order.
pub(crate) fn read_mbr(
    disk: &mut dyn VirtualDisk,
    lba0: &[u8],
    limits: &ImageLimits,
    warnings: &mut Vec<String>,
) -> Result<Vec<Partition>> {
    let size = disk.size();
    let mut parts = Vec::new();
    let mut extended = Vec::new();
    for (number, e) in (1u32..).zip(primary_entries(lba0)) {
        if !e.is_used() {
            if e.kind == 0 && e.sectors != 0 {
                warnings.push(format!("MBR entry {number} has a size but type 0: ignored, as Windows does"));
            }
            continue;
        }
        boot_flag_warning(e.boot, number, warnings);
        if e.start == 0 {
            warnings.push(format!(
                "MBR entry {number} (type {}) starts at LBA 0, over the MBR: skipped",
                type_text(e.kind)
            ));
            continue;
        }
        let (start, len, truncated) = match extent(u64::from(e.start), u64::from(e.sectors), SECTOR_SIZE, size) {
            Ok(found) => found,
            Err(why) => {
                warnings.push(format!(
                    "MBR entry {number} (type {}, LBAs {} + {}) skipped: {why}",
                    type_text(e.kind),
                    e.start,
                    e.sectors
                ));
                continue;
            }
        };
        if truncated {
            warnings.push(truncated_warning(&format!("MBR entry {number}"), start, len, size));
        }
        parts.push(Partition {
            number,
            start,
            len,
            type_id: type_text(e.kind),
            name: None,
            filesystem: Filesystem::Unknown,
            bootable: e.boot == 0x80,
            truncated,
        });
        if is_extended(e.kind) {
            extended.push((number, u64::from(e.start), u64::from(e.sectors)));
        }
    }
    if extended.len() > 1 {
        warnings.push(format!("{} extended partitions (DOS allows one): the chain of each is read", extended.len()));
    }
    let mut chains = Chains { visited: BTreeSet::new(), reads: 0, next_number: 5 };
    for (number, first, sectors) in extended {
        walk_chain(disk, number, first, sectors, limits, &mut chains, &mut parts, warnings)?;
    }
    Ok(parts)
}

/// Warns about a boot flag other than 0x00 or 0x80 (mbrman refuses such a disk; Windows boots it).
fn boot_flag_warning(boot: u8, number: u32, warnings: &mut Vec<String>) {
    if boot != 0 && boot != 0x80 {
        warnings.push(format!("partition {number}: boot flag {boot:#04x} is neither 0x00 nor 0x80 (accepted)"));
    }
}

/// Follows the EBR chain of the extended partition `number` (LBAs `first .. first + sectors`).
#[allow(clippy::too_many_arguments)]
fn walk_chain(
    disk: &mut dyn VirtualDisk,
    number: u32,
    first: u64,
    sectors: u64,
    limits: &ImageLimits,
    chains: &mut Chains,
    parts: &mut Vec<Partition>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let size = disk.size();
    let max = u64::from(limits.max_partitions);
    // The extended partition may run past the end of a truncated disk: each EBR is checked against both.
    let end = first.saturating_add(sectors);
    let mut ebr_lba = first;
    loop {
        if !chains.visited.insert(ebr_lba) {
            warnings.push(format!(
                "the EBR chain of partition {number} loops back to the EBR at LBA {ebr_lba}: stopped there"
            ));
            return Ok(());
        }
        chains.reads = chains.reads.saturating_add(1);
        ImageLimits::check("max_partitions", chains.reads, max)?;
        let in_extended = ebr_lba < end;
        let Some((offset, _)) = lba_range(ebr_lba, 1, SECTOR_SIZE, size).filter(|_| in_extended) else {
            warnings.push(format!(
                "an EBR link of partition {number} points to LBA {ebr_lba}, outside the extended partition \
                 (LBAs {first}..{end}) or the disk: chain stopped there"
            ));
            return Ok(());
        };
        let mut ebr = [0u8; SECTOR];
        disk.read_at(offset, &mut ebr)?;
        if !has_boot_signature(&ebr) {
            warnings.push(format!("the EBR at LBA {ebr_lba} has no 55 AA signature: chain stopped there"));
            return Ok(());
        }
        let [data, link, third, fourth] = primary_entries(&ebr);
        if data.is_used() {
            if is_extended(data.kind) {
                warnings.push(format!("the EBR at LBA {ebr_lba} has an extended type in its first entry: ignored"));
            } else {
                let logical = chains.next_number;
                chains.next_number = logical.saturating_add(1);
                ImageLimits::check("max_partitions", (parts.len() as u64).saturating_add(1), max)?;
                add_logical(data, logical, ebr_lba, (first, end), size, parts, warnings);
            }
        }
        if third.is_used() || fourth.is_used() {
            warnings.push(format!("the EBR at LBA {ebr_lba} uses its third or fourth entry: ignored"));
        }
        if !link.is_used() {
            return Ok(());
        }
        if !is_extended(link.kind) {
            warnings.push(format!(
                "the EBR at LBA {ebr_lba} links with type {} (not extended): chain ends there",
                type_text(link.kind)
            ));
            return Ok(());
        }
        // u32 + u64 of a disk's sector count: cannot overflow, but stay checked.
        let Some(next) = first.checked_add(u64::from(link.start)) else { return Ok(()) };
        ebr_lba = next;
    }
}

/// Adds the logical partition of the EBR at `ebr_lba`, if it starts inside the disk.
fn add_logical(
    e: Entry,
    number: u32,
    ebr_lba: u64,
    (ext_first, ext_end): (u64, u64),
    disk_size: u64,
    parts: &mut Vec<Partition>,
    warnings: &mut Vec<String>,
) {
    boot_flag_warning(e.boot, number, warnings);
    if e.start == 0 {
        warnings.push(format!("logical partition {number} starts on its own EBR (LBA {ebr_lba}): skipped"));
        return;
    }
    let lba = ebr_lba.saturating_add(u64::from(e.start));
    let (start, len, truncated) = match extent(lba, u64::from(e.sectors), SECTOR_SIZE, disk_size) {
        Ok(found) => found,
        Err(why) => {
            warnings.push(format!("logical partition {number} (LBAs {lba} + {}) skipped: {why}", e.sectors));
            return;
        }
    };
    if truncated {
        warnings.push(truncated_warning(&format!("logical partition {number}"), start, len, disk_size));
    }
    let last = lba.saturating_add(u64::from(e.sectors));
    if lba < ext_first || last > ext_end {
        warnings.push(format!("logical partition {number} lies outside its extended partition (kept)"));
    }
    parts.push(Partition {
        number,
        start,
        len,
        type_id: type_text(e.kind),
        name: None,
        filesystem: Filesystem::Unknown,
        bootable: e.boot == 0x80,
        truncated,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_types() {
        let mut s = [0u8; 512];
        s[446] = 0x80;
        s[446 + 4] = 0x07;
        s[446 + 8..446 + 12].copy_from_slice(&2048u32.to_le_bytes());
        s[446 + 12..446 + 16].copy_from_slice(&204800u32.to_le_bytes());
        s[510] = 0x55;
        s[511] = 0xAA;
        let e = primary_entries(&s);
        assert_eq!(e[0], Entry { boot: 0x80, kind: 7, start: 2048, sectors: 204800 });
        assert!(e[0].is_used() && !e[1].is_used());
        assert!(has_boot_signature(&s));
        assert!(!has_boot_signature(&s[..511]));
        assert_eq!(primary_entries(&[]), [Entry { boot: 0, kind: 0, start: 0, sectors: 0 }; 4]);
        assert_eq!(type_text(0x0F), "0x0F");
        assert!(is_extended_id(&type_text(0x0F)) && is_extended_id(&type_text(5)) && is_extended_id(&type_text(0x85)));
        assert!(!is_extended_id(&type_text(7)));
    }
}
