//! LVM2: physical volumes found on partitions (or whole disks), assembled into volume groups, and
//! their linear and striped logical volumes read as [`Volume`]s. Knows no file systems.
//!
//! Sources: LVM2's own code (`lib/label/`, `lib/format_text/`, `libdm/libdm-config.c`), read for
//! the facts of the on-disk format only, and PVs made by `pvcreate`, `vgcreate` and
//! `vgcfgrestore` (LVM 2.03) checked against `pvs`, `vgs` and `lvs` in this crate's tests.
//!
//! # How it is used
//! 1. [`probe`] each partition (or disk, or every candidate [`Region`]; [`scan`] does all of
//!    them): `Ok(None)` when it holds no LVM label, else a [`PhysicalVolume`] with its UUID and
//!    the best copy of its VG's metadata (the highest `seqno` of its metadata areas).
//! 2. [`assemble`] all PVs of all disks given: PVs are grouped by the VG UUID their metadata
//!    names; each VG takes the copy with the highest `seqno` among its PVs; PVs are matched to it
//!    by their UUID, never by the `device` hint. A PV the metadata lists but no disk holds is a
//!    warning, and the LVs on it are not readable (their `readable` names the PV's UUID).
//! 3. [`open_lv`] a [`LogicalVolumeInfo`] whose `readable` is `Ok`: an [`LvVolume`] reads through
//!    its segments and stripes into the PVs' regions.
//!
//! ```
//! use regnet_image::lvm;
//! use regnet_image::{share, Counters, FileSource, ImageLimits, RawDisk, Region, Volume};
//! use regnet_testkit::lvm::{LvSpec, PvLayout, SegSpec, VgSpec};
//! # fn main() -> regnet_image::Result<()> {
//! // A PV made by the test-only writer: VG `vg0`, LV `root` of 10 extents of 4 KiB.
//! let mut spec = VgSpec::new("vg0", 8);
//! spec.add_pv("pv0", PvLayout::small("example", 1 << 20));
//! spec.lvs.push(LvSpec::new("root", vec![SegSpec::linear(0, 10, "pv0", 3)]));
//! let bytes = spec.write().remove(0).bytes;
//!
//! let limits = ImageLimits::default();
//! let len = bytes.len() as u64;
//! let src = FileSource::new("disk", Box::new(std::io::Cursor::new(bytes)), Default::default(), &limits)?;
//! let partition = Region::new(share(Box::new(RawDisk::new(src))), 0, len)?;
//! let pv = lvm::probe(&partition, &limits)?.expect("an LVM label");
//! let pvs = vec![pv];
//! let vgs = lvm::assemble(&pvs, &limits)?;
//! assert_eq!((vgs[0].name.as_str(), vgs[0].lvs[0].kind.as_str()), ("vg0", "linear"));
//! let mut root = lvm::open_lv(&vgs[0], &pvs, "root")?;
//! assert_eq!(root.len(), 10 * 4096);
//! let mut first = [0u8; 512];
//! root.read_exact_at(0, &mut first)?; // bytes 32 KiB + 3 × 4 KiB of the PV
//! # Ok(())
//! # }
//! ```
//!
//! # What is read
//! - **On disk** (`label.rs`, `mda.rs`): the label in sectors 0–3 (its CRC
//!   and sector number checked), the PV header, each metadata area's header (CRC, magic,
//!   version, start and size) and its committed text, joined across the circular buffer's wrap
//!   and CRC-checked.
//! - **The text** (`text.rs`, `vg.rs`): parsed without recursion, at most
//!   [`ImageLimits::max_lvm_metadata_bytes`] of it, 32 levels deep, 2^18 keys and sections, 2^18
//!   list items, [`ImageLimits::max_lvm_segments`] segments per VG.
//! - **Volumes**: `striped` segments (one stripe is linear; several interleave chunks of
//!   `stripe_size`), any number per LV. Thin volumes and pools, RAID (`raid0`–`raid10`),
//!   `mirror`, `cache`, `writecache`, `vdo`, `integrity`, and old-style snapshots (the LV a
//!   `snapshot` segment uses as its COW store) are listed but refused by name: their bytes are
//!   not the file system. An LV stacked on another LV (a `pvmove` in progress) is refused too.
//!
//! # Choices on hostile input
//! - A PV UUID seen twice (two partitions, or two disks, with the same label): the **first** in
//!   the order given is used, and each VG that lists the UUID carries a warning naming both
//!   places. LVM itself picks one of the duplicates and warns; picking the first keeps the
//!   result independent of anything but the caller's order.
//! - A PV whose label is valid but whose every metadata copy is damaged is an error from
//!   [`probe`] (the error of its first copy): nothing about it can be trusted. One damaged
//!   copy beside a good one is a warning on the PV.
//! - Two copies of one VG with the same `seqno` but different text: the first PV's is used,
//!   with a warning.
//! - An LV whose segments run past the end of their PV's region, past the PV's `pe_count`, or
//!   name a missing PV is listed with `readable` saying why, and [`open_lv`] is that error.

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]

mod label;
mod mda;
mod text;
mod vg;

#[cfg(test)]
mod tests;

use crate::disk::read_in_pieces;
use crate::error::{ImageError, Result};
use crate::limits::ImageLimits;
use crate::volume::{Region, Volume};
use label::SECTOR;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use vg::{Problem, VgMeta};

/// The most metadata areas of one PV that are read.
const MAX_MDAS: usize = 2;

/// A physical volume: a region that starts with an LVM2 label.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PhysicalVolume {
    /// Its UUID, in LVM's dashed form (`QGRo9X-zfAg-UDYk-ZEYY-mkLh-3Ix0-y5aykl`).
    pub uuid: String,
    /// The whole PV (a partition, or a whole disk); offsets in the metadata are from its start.
    pub region: Region,
    /// The name of the VG its best metadata copy describes; `None` for a PV in no VG, or one
    /// that keeps no metadata (`pvcreate --metadatacopies 0`: its VG's other PVs describe it).
    pub vg_name: Option<String>,
    /// The UUID of that VG.
    pub vg_uuid: Option<String>,
    /// The `seqno` of that copy.
    pub seqno: Option<u64>,
    /// The device size its header records, bytes.
    pub device_size: u64,
    /// The sector (0–3) its label is in.
    pub label_sector: u64,
    /// What is odd about it but did not stop the reading (a damaged second metadata copy, a
    /// recorded size larger than the region).
    pub warnings: Vec<String>,
    /// The best metadata copy, parsed.
    meta: Option<Arc<VgMeta>>,
}

/// Looks for an LVM2 physical volume in `region`: `Ok(None)` when none of sectors 0–3 starts
/// with `LABELONE`. Reads the label sectors and, for each metadata area (the first two: LVM
/// writes no more), its header and text (at most [`ImageLimits::max_lvm_metadata_bytes`] each).
///
/// Errors: a `LABELONE` sector that is not a valid label (CRC, sector number, type, PV header),
/// and a PV whose every metadata copy is damaged (header CRC, magic, location, text CRC, text
/// syntax, or VG fields), as typed [`ImageError`]s with offsets from the start of `region`
/// (in the text, for text faults).
pub fn probe(region: &Region, limits: &ImageLimits) -> Result<Option<PhysicalVolume>> {
    let Some(label) = label::read_label(region)? else { return Ok(None) };
    let mut warnings = Vec::new();
    if label.device_size > region.len() {
        warnings.push(format!(
            "PV {}: its header records a device of {} bytes, but its volume holds {} (a truncated image?)",
            label.uuid,
            label.device_size,
            region.len()
        ));
    }
    let mut best: Option<VgMeta> = None;
    let mut errors = Vec::new();
    // LVM writes at most two metadata areas (`--pvmetadatacopies 2`); more would only multiply
    // the text read and parsed, so the rest are left unread.
    if label.metadata_areas.len() > MAX_MDAS {
        warnings.push(format!(
            "PV {}: its header lists {} metadata areas; LVM writes at most {MAX_MDAS}, and only the first {MAX_MDAS} are read",
            label.uuid,
            label.metadata_areas.len()
        ));
    }
    for &area in label.metadata_areas.iter().take(MAX_MDAS) {
        let meta = mda::read_text(region, area, limits).and_then(|t| match t {
            None => Ok(None),
            Some(t) => {
                let tree = text::parse(&t.text)?;
                let mut meta = vg::interpret(&tree, limits)?;
                meta.checksum = t.checksum;
                meta.wrapped = t.wrapped;
                Ok(Some(meta))
            }
        });
        match meta {
            Ok(None) => {}
            Ok(Some(meta)) => match &best {
                Some(b) if b.id != meta.id => {
                    warnings.push(format!(
                        "PV {}: its metadata areas describe two VGs ({} and {}); the one with the higher seqno is used",
                        label.uuid, b.id, meta.id
                    ));
                    if meta.seqno > b.seqno {
                        best = Some(meta);
                    }
                }
                Some(b) if meta.seqno > b.seqno => best = Some(meta),
                Some(_) => {}
                None => best = Some(meta),
            },
            Err(e) => errors.push((area.offset, e)),
        }
    }
    let mut errors = errors.into_iter();
    if best.is_none() {
        if let Some((_, e)) = errors.next() {
            return Err(e);
        }
    }
    for (at, e) in errors {
        warnings.push(format!(
            "PV {}: the metadata area at byte {at:#x} is damaged ({e}); another copy is used",
            label.uuid
        ));
    }
    let meta = best.map(Arc::new);
    Ok(Some(PhysicalVolume {
        uuid: label.uuid,
        region: region.clone(),
        vg_name: meta.as_ref().map(|m| m.name.clone()),
        vg_uuid: meta.as_ref().map(|m| m.id.clone()),
        seqno: meta.as_ref().map(|m| m.seqno),
        device_size: label.device_size,
        label_sector: label.sector,
        warnings,
        meta,
    }))
}

/// [`probe`]s every region: the PVs found, and the regions (by index) that hold a damaged one.
pub fn scan(regions: &[Region], limits: &ImageLimits) -> (Vec<PhysicalVolume>, Vec<(usize, ImageError)>) {
    let mut pvs = Vec::new();
    let mut errors = Vec::new();
    for (i, r) in regions.iter().enumerate() {
        match probe(r, limits) {
            Ok(Some(pv)) => pvs.push(pv),
            Ok(None) => {}
            Err(e) => errors.push((i, e)),
        }
    }
    (pvs, errors)
}

/// A volume group, from the highest-`seqno` copy of its metadata among its PVs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VolumeGroup {
    /// Its name (two VGs may share one; their UUIDs differ).
    pub name: String,
    /// Its UUID, dashed.
    pub uuid: String,
    /// The `seqno` of the copy used.
    pub seqno: u64,
    /// Bytes per extent.
    pub extent_bytes: u64,
    /// Its PVs as the metadata lists them.
    pub pvs: Vec<PvInfo>,
    /// Its LVs, in metadata order (hidden ones too: see [`LogicalVolumeInfo::visible`]).
    pub lvs: Vec<LogicalVolumeInfo>,
    /// What is odd but did not stop the assembly: missing PVs, duplicate PV UUIDs, older or
    /// conflicting copies, PVs that run past their regions.
    pub warnings: Vec<String>,
    /// The metadata copy used.
    meta: Arc<VgMeta>,
}

/// A PV as its VG's metadata lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PvInfo {
    /// Its name in the metadata (`pv0`).
    pub name: String,
    /// Its UUID, dashed.
    pub uuid: String,
    /// Where its first extent starts, bytes from the start of the PV.
    pub pe_start: u64,
    /// Its number of extents.
    pub pe_count: u64,
    /// True when a PV with this UUID was given to [`assemble`].
    pub found: bool,
}

/// A logical volume as its VG's metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogicalVolumeInfo {
    /// Its name.
    pub name: String,
    /// Its UUID, dashed (`None` when the metadata's is missing or malformed).
    pub uuid: Option<String>,
    /// Its size in bytes (its extents times the extent size).
    pub size: u64,
    /// `linear`, `striped`, or the kind it is refused as: the LVM segment type (`thin`,
    /// `thin-pool`, `raid1`, `raid5_ls`, `mirror`, `cache`, `vdo`, …), or `snapshot` for the
    /// copy-on-write store of an old-style snapshot.
    pub kind: String,
    /// Its status has `VISIBLE`; hidden LVs are the parts of others (pool data and metadata,
    /// RAID images, snapshot stores) and hold no file system of their own.
    pub visible: bool,
    /// Its segments, ordered (empty when it is refused or inconsistent).
    pub segments: Vec<SegmentInfo>,
    /// `Ok` when [`open_lv`] can read it; else why not (a refused kind, a missing PV named by its
    /// UUID, a segment past its PV's end, inconsistent segments).
    pub readable: std::result::Result<(), String>,
}

/// One segment of a linear or striped LV.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SegmentInfo {
    /// Its first logical extent.
    pub start_extent: u64,
    /// Its number of logical extents.
    pub extent_count: u64,
    /// The stripe (chunk) size in bytes; 0 for one stripe.
    pub stripe_size: u64,
    /// Each stripe: the UUID of its PV, and its first physical extent there.
    pub stripes: Vec<(String, u64)>,
}

/// Groups `pvs` (from all partitions of all disks given) into volume groups, each from the copy
/// of its metadata with the highest `seqno`. VGs come out ordered by name, then UUID. PVs in no
/// VG are left out. Errors only when the limits are exceeded; every fault of one VG or LV is a
/// warning or an unreadable LV, so the others still read.
pub fn assemble(pvs: &[PhysicalVolume], limits: &ImageLimits) -> Result<Vec<VolumeGroup>> {
    // The limits were applied when each PV's metadata was read (`probe`); at most one VG per PV,
    // so the work below is bounded by the number of PVs and their (bounded) metadata.
    let _ = limits;
    let mut chosen: Vec<&PhysicalVolume> = Vec::new();
    let mut by_uuid: HashMap<&str, &PhysicalVolume> = HashMap::new();
    let mut duplicates: HashMap<&str, Vec<String>> = HashMap::new();
    for pv in pvs {
        match by_uuid.get(pv.uuid.as_str()) {
            Some(first) => duplicates.entry(&pv.uuid).or_default().push(format!(
                "PV UUID {} is on two volumes (at disk byte {:#x} and at disk byte {:#x}); the first is used",
                pv.uuid,
                first.region.start(),
                pv.region.start()
            )),
            None => {
                by_uuid.insert(&pv.uuid, pv);
                chosen.push(pv);
            }
        }
    }
    // The best copy of each VG (by UUID), and conflicting copies.
    let mut best: BTreeMap<&str, (&Arc<VgMeta>, &PhysicalVolume)> = BTreeMap::new();
    let mut conflicts: HashMap<&str, Vec<String>> = HashMap::new();
    for &pv in &chosen {
        let Some(meta) = &pv.meta else { continue };
        match best.get(meta.id.as_str()) {
            None => {
                best.insert(&meta.id, (meta, pv));
            }
            Some((b, from)) if meta.seqno == b.seqno && meta.checksum != b.checksum => {
                conflicts.entry(&meta.id).or_default().push(format!(
                    "PVs {} and {} hold different metadata with the same seqno {}; the copy on {} is used",
                    from.uuid, pv.uuid, meta.seqno, from.uuid
                ));
            }
            Some((b, _)) if meta.seqno > b.seqno => {
                best.insert(&meta.id, (meta, pv));
            }
            Some(_) => {}
        }
    }
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (meta, _) in best.values() {
        let n = names.entry(meta.name.as_str()).or_default();
        *n = n.saturating_add(1);
    }
    let mut vgs = Vec::new();
    for (id, (meta, _)) in &best {
        let mut warnings: Vec<String> = conflicts.remove(id).unwrap_or_default();
        if names.get(meta.name.as_str()).is_some_and(|&n| n > 1) {
            warnings.push(format!("another VG is also named {:?}; this one's UUID is {id}", meta.name));
        }
        let extent_bytes = meta.extent_sectors.saturating_mul(SECTOR);
        let mut pv_infos = Vec::new();
        for p in &meta.pvs {
            let found = by_uuid.get(p.id.as_str());
            if let Some(d) = duplicates.get(p.id.as_str()) {
                warnings.extend(d.iter().cloned());
            }
            match found {
                None => warnings.push(format!(
                    "PV {} ({}) of VG {} was not found on any disk given: the LVs on it cannot be read",
                    p.id, p.key, meta.name
                )),
                Some(pv) => {
                    let end = p
                        .pe_count
                        .checked_mul(extent_bytes)
                        .and_then(|n| n.checked_add(p.pe_start.checked_mul(SECTOR)?));
                    if end.is_none_or(|end| end > pv.region.len()) {
                        warnings.push(format!(
                            "PV {} ({}): its {} extents run past the end of its {}-byte volume (a truncated image?)",
                            p.id,
                            p.key,
                            p.pe_count,
                            pv.region.len()
                        ));
                    }
                    if let Some(seqno) = pv.seqno.filter(|&s| pv.vg_uuid.as_deref() == Some(*id) && s < meta.seqno) {
                        warnings.push(format!(
                            "PV {} holds an older copy of the metadata (seqno {seqno}, the newest is {})",
                            p.id, meta.seqno
                        ));
                    }
                }
            }
            pv_infos.push(PvInfo {
                name: p.key.clone(),
                uuid: p.id.clone(),
                pe_start: p.pe_start.saturating_mul(SECTOR),
                pe_count: p.pe_count,
                found: found.is_some(),
            });
        }
        let listed: HashSet<&str> = meta.pvs.iter().map(|p| p.id.as_str()).collect();
        for &pv in &chosen {
            if pv.vg_uuid.as_deref() == Some(*id) && !listed.contains(pv.uuid.as_str()) {
                warnings.push(format!(
                    "PV {} says it is in VG {} (seqno {}), but the newest metadata (seqno {}) does not list it",
                    pv.uuid,
                    meta.name,
                    pv.seqno.unwrap_or(0),
                    meta.seqno
                ));
            }
        }
        let lvs = meta
            .lvs
            .iter()
            .map(|lv| LogicalVolumeInfo {
                name: lv.name.clone(),
                uuid: lv.id.clone(),
                size: lv.extents.saturating_mul(extent_bytes),
                kind: lv.kind.clone(),
                visible: lv.visible,
                segments: lv
                    .segments
                    .iter()
                    .map(|s| SegmentInfo {
                        start_extent: s.start_extent,
                        extent_count: s.extent_count,
                        stripe_size: s.stripe_sectors.saturating_mul(SECTOR),
                        stripes: s
                            .stripes
                            .iter()
                            .map(|&(pv, pe)| (meta.pvs.get(pv).map(|p| p.id.clone()).unwrap_or_default(), pe))
                            .collect(),
                    })
                    .collect(),
                readable: match &lv.problem {
                    Some(p) => Err(p.to_string()),
                    None => layout(meta, lv, &by_uuid).map(|_| ()).map_err(|e| e.to_string()),
                },
            })
            .collect();
        vgs.push(VolumeGroup {
            name: meta.name.clone(),
            uuid: (*id).to_string(),
            seqno: meta.seqno,
            extent_bytes,
            pvs: pv_infos,
            lvs,
            warnings,
            meta: Arc::clone(meta),
        });
    }
    vgs.sort_by(|a, b| (&a.name, &a.uuid).cmp(&(&b.name, &b.uuid)));
    Ok(vgs)
}

/// Opens the LV `lv_name` of `vg` over the PVs `pvs` (matched by UUID; the first of duplicates).
///
/// Errors: no such LV ([`ImageError::NotFound`]); a refused kind ([`ImageError::Unsupported`],
/// naming it); a PV the LV needs that is not in `pvs` ([`ImageError::NotFound`] naming its
/// UUID); a segment past its PV's `pe_count` ([`ImageError::Corrupt`]) or past the end of its
/// region ([`ImageError::OutOfRange`]); inconsistent segments ([`ImageError::Corrupt`]).
pub fn open_lv(vg: &VolumeGroup, pvs: &[PhysicalVolume], lv_name: &str) -> Result<LvVolume> {
    let meta = &vg.meta;
    let lv = meta.lvs.iter().find(|l| l.name == lv_name).ok_or_else(|| ImageError::NotFound {
        path: format!("{}/{}", vg.name, lv_name),
        detail: Some(format!("volume group {} has no logical volume of that name", vg.name)),
    })?;
    match &lv.problem {
        Some(Problem::Refused(why)) => {
            return Err(ImageError::Unsupported(format!("logical volume {}/{} ({}): {why}", vg.name, lv.name, lv.kind)))
        }
        Some(Problem::Corrupt(why)) => {
            return Err(ImageError::Corrupt {
                what: "LVM logical volume metadata",
                offset: 0,
                reason: format!("{}/{}: {why}", vg.name, lv.name),
            })
        }
        None => {}
    }
    let mut by_uuid: HashMap<&str, &PhysicalVolume> = HashMap::new();
    for pv in pvs {
        by_uuid.entry(&pv.uuid).or_insert(pv);
    }
    let segs = layout(meta, lv, &by_uuid)?;
    let mut regions: Vec<Region> = Vec::new();
    let mut region_of: HashMap<usize, usize> = HashMap::new();
    let mut out = Vec::with_capacity(segs.len());
    for s in segs {
        let mut stripes = Vec::with_capacity(s.stripes.len());
        for (pv_index, base) in s.stripes {
            let next = regions.len();
            let r = *region_of.entry(pv_index).or_insert(next);
            if r == next {
                let id = meta.pvs.get(pv_index).map(|p| p.id.as_str()).unwrap_or_default();
                let pv = by_uuid.get(id).ok_or_else(|| missing(&vg.name, &lv.name, id))?;
                regions.push(pv.region.clone());
            }
            stripes.push((r, base));
        }
        out.push(Seg { start: s.start, end: s.end, chunk: s.chunk, stripes });
    }
    let len = out.last().map_or(0, |s| s.end);
    Ok(LvVolume { name: format!("{}/{}", vg.name, lv.name), len, segs: out, regions })
}

/// A segment placed on the PVs: bytes `start..end` of the LV; each stripe is a PV index and the
/// byte in that PV of the stripe's first chunk.
struct Placed {
    start: u64,
    end: u64,
    chunk: u64,
    stripes: Vec<(usize, u64)>,
}

/// The error for a PV an LV needs that was not given.
fn missing(vg: &str, lv: &str, uuid: &str) -> ImageError {
    ImageError::NotFound {
        path: format!("LVM physical volume {uuid}"),
        detail: Some(format!("logical volume {vg}/{lv} needs it, and it is on none of the disks given")),
    }
}

/// Places every segment of `lv` on the PVs `pvs`, checking each stripe's area against its PV's
/// `pe_count` and its region's end.
fn layout(meta: &VgMeta, lv: &vg::LvMeta, pvs: &HashMap<&str, &PhysicalVolume>) -> Result<Vec<Placed>> {
    let name = format!("{}/{}", meta.name, lv.name);
    let extent = meta.extent_sectors.checked_mul(SECTOR).ok_or_else(|| overflow(&name))?;
    let mut out = Vec::new();
    out.try_reserve_exact(lv.segments.len()).map_err(|_| overflow(&name))?;
    for s in &lv.segments {
        let n = s.stripes.len() as u64;
        let area_extents = s.extent_count.checked_div(n).ok_or_else(|| overflow(&name))?;
        let area_bytes = area_extents.checked_mul(extent).ok_or_else(|| overflow(&name))?;
        let chunk =
            if n > 1 { s.stripe_sectors.checked_mul(SECTOR).ok_or_else(|| overflow(&name))? } else { area_bytes };
        if n > 1 && area_bytes.checked_rem(chunk) != Some(0) {
            return Err(ImageError::Corrupt {
                what: "LVM logical volume metadata",
                offset: 0,
                reason: format!(
                    "{name}: segment at extent {}: its stripe size ({chunk} bytes) does not divide each stripe's {area_bytes} bytes",
                    s.start_extent
                ),
            });
        }
        let mut stripes = Vec::with_capacity(s.stripes.len());
        for &(pv_index, first_pe) in &s.stripes {
            let p = meta.pvs.get(pv_index).ok_or_else(|| overflow(&name))?;
            let pv = pvs.get(p.id.as_str()).ok_or_else(|| missing(&meta.name, &lv.name, &p.id))?;
            if first_pe.checked_add(area_extents).is_none_or(|end| end > p.pe_count) {
                return Err(ImageError::Corrupt {
                    what: "LVM logical volume metadata",
                    offset: 0,
                    reason: format!(
                        "{name}: segment at extent {} uses extents {first_pe}..{} of PV {} ({}), which has {}",
                        s.start_extent,
                        first_pe.saturating_add(area_extents),
                        p.id,
                        p.key,
                        p.pe_count
                    ),
                });
            }
            let base = first_pe
                .checked_mul(extent)
                .and_then(|b| b.checked_add(p.pe_start.checked_mul(SECTOR)?))
                .ok_or_else(|| overflow(&name))?;
            if base.checked_add(area_bytes).is_none_or(|end| end > pv.region.len()) {
                return Err(ImageError::OutOfRange {
                    what: "LVM physical volume (a logical volume's extents)",
                    offset: base,
                    len: area_bytes,
                    size: pv.region.len(),
                });
            }
            stripes.push((pv_index, base));
        }
        let start = s.start_extent.checked_mul(extent).ok_or_else(|| overflow(&name))?;
        let len = s.extent_count.checked_mul(extent).ok_or_else(|| overflow(&name))?;
        let end = start.checked_add(len).ok_or_else(|| overflow(&name))?;
        out.push(Placed { start, end, chunk, stripes });
    }
    Ok(out)
}

/// The error for sizes that do not fit in 64 bits.
fn overflow(name: &str) -> ImageError {
    ImageError::Corrupt {
        what: "LVM logical volume metadata",
        offset: 0,
        reason: format!("{name}: its extents do not fit in 64-bit byte offsets"),
    }
}

/// One segment of an open LV.
#[derive(Debug)]
struct Seg {
    /// Bytes `start..end` of the LV.
    start: u64,
    end: u64,
    /// Chunk (stripe) size in bytes; the whole segment for one stripe.
    chunk: u64,
    /// Each stripe: an index into `regions`, and the byte there of its first chunk.
    stripes: Vec<(usize, u64)>,
}

/// A linear or striped logical volume, read through its segments into its PVs' regions.
#[derive(Debug)]
#[non_exhaustive]
pub struct LvVolume {
    name: String,
    len: u64,
    segs: Vec<Seg>,
    regions: Vec<Region>,
}

impl LvVolume {
    /// `VG/LV`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The number of segments.
    pub fn segment_count(&self) -> usize {
        self.segs.len()
    }

    /// Where byte `offset` of the LV is: the index of its region, the byte there, and how many
    /// bytes from there on are contiguous (at most `max`).
    fn map(&self, offset: u64, max: u64) -> Result<(usize, u64, u64)> {
        let bad = || ImageError::OutOfRange { what: "LVM logical volume", offset, len: max, size: self.len };
        let i = self.segs.partition_point(|s| s.end <= offset);
        let s = self.segs.get(i).ok_or_else(bad)?;
        let rel = offset.checked_sub(s.start).ok_or_else(bad)?;
        let left = s.end.saturating_sub(offset).min(max);
        let n = s.stripes.len() as u64;
        if n == 1 {
            let &(r, base) = s.stripes.first().ok_or_else(bad)?;
            return Ok((r, base.checked_add(rel).ok_or_else(bad)?, left));
        }
        let chunk_no = rel.checked_div(s.chunk).ok_or_else(bad)?;
        let within = rel.checked_rem(s.chunk).ok_or_else(bad)?;
        let stripe = usize::try_from(chunk_no.checked_rem(n).ok_or_else(bad)?).map_err(|_| bad())?;
        let row = chunk_no.checked_div(n).ok_or_else(bad)?;
        let &(r, base) = s.stripes.get(stripe).ok_or_else(bad)?;
        let at = row.checked_mul(s.chunk).and_then(|x| x.checked_add(base)?.checked_add(within)).ok_or_else(bad)?;
        Ok((r, at, left.min(s.chunk.saturating_sub(within))))
    }
}

impl Volume for LvVolume {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let len = self.len;
        read_in_pieces("LVM logical volume", len, offset, buf, |off, out| {
            let (r, at, n) = self.map(off, out.len() as u64)?;
            let n = usize::try_from(n).unwrap_or(out.len()).min(out.len()).max(1);
            let region = self.regions.get_mut(r).ok_or(ImageError::OutOfRange {
                what: "LVM logical volume",
                offset: off,
                len: n as u64,
                size: len,
            })?;
            region.read_exact_at(at, out.get_mut(..n).unwrap_or_default())?;
            Ok(n)
        })
    }
}
