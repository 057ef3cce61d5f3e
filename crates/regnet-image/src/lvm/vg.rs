//! What a parsed metadata text says about its volume group (LVM2 `lib/format_text/import_vsn1.c`):
//! the VG's identity and extent size, its PVs by UUID, and each LV's segments.
//!
//! ```text
//! NAME {
//!     id = "…"  seqno = N  extent_size = SECTORS
//!     physical_volumes { pv0 { id = "…"  pe_start = SECTORS  pe_count = N } … }
//!     logical_volumes {
//!         LV { id = "…"  status = ["READ", "WRITE", "VISIBLE"]  segment_count = N
//!             segment1 { start_extent = N  extent_count = N  type = "striped"
//!                        stripe_count = N  stripe_size = SECTORS  stripes = ["pv0", FIRST_PE, …] }
//!             … } … }
//! }
//! contents = "Text Format Volume Group"  version = 1
//! ```
//!
//! A fault in the VG's own fields or its PV list makes the whole text unusable (an error); a
//! fault in one LV makes that LV unreadable (its `problem`), and the rest of the VG still reads.
//! Integers LVM keeps in 32 bits (seqno, extent size and counts, stripe fields) must fit in 32
//! bits here (LVM truncates them silently). Every subsection of an LV is a segment, as in LVM; the
//! segments must number `segment_count` and cover extents `0..` with no gap or overlap.

use super::label::normalize_uuid;
use super::text::{Section, Tree, Value};
use crate::error::{ImageError, Result};
use crate::limits::ImageLimits;
use std::collections::HashMap;

/// The `contents` of VG metadata.
const CONTENTS: &str = "Text Format Volume Group";

/// The parts of a VG's metadata the reader uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VgMeta {
    /// VG name.
    pub(crate) name: String,
    /// VG UUID, dashed.
    pub(crate) id: String,
    /// Sequence number of this copy.
    pub(crate) seqno: u64,
    /// Extent size in 512-byte sectors.
    pub(crate) extent_sectors: u64,
    /// PVs, in text order.
    pub(crate) pvs: Vec<PvMeta>,
    /// LVs, in text order.
    pub(crate) lvs: Vec<LvMeta>,
    /// CRC of the text this came from (two copies with one seqno should have the same).
    pub(crate) checksum: u32,
    /// The text had wrapped around its metadata area.
    pub(crate) wrapped: bool,
}

/// One entry of `physical_volumes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PvMeta {
    /// Its section name (`pv0`), which segments use.
    pub(crate) key: String,
    /// Its UUID, dashed.
    pub(crate) id: String,
    /// Start of its first extent, sectors.
    pub(crate) pe_start: u64,
    /// Its number of extents.
    pub(crate) pe_count: u64,
}

/// One LV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LvMeta {
    /// Its name.
    pub(crate) name: String,
    /// Its UUID, dashed, when valid.
    pub(crate) id: Option<String>,
    /// Its status has `VISIBLE` (hidden LVs are parts of others: pool data, RAID images, …).
    pub(crate) visible: bool,
    /// `linear`, `striped`, or the first other segment type (`thin`, `raid1`, `snapshot`, …).
    pub(crate) kind: String,
    /// Its extents (the sum of its segments').
    pub(crate) extents: u64,
    /// Its segments, ordered by start extent.
    pub(crate) segments: Vec<SegMeta>,
    /// Why it cannot be read, when it cannot.
    pub(crate) problem: Option<Problem>,
}

/// Why an LV cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// A kind of volume the reader refuses (thin, RAID, snapshot, …).
    Refused(String),
    /// Its metadata is inconsistent.
    Corrupt(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Refused(s) | Problem::Corrupt(s) => f.write_str(s),
        }
    }
}

/// One striped (or linear) segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegMeta {
    /// First logical extent.
    pub(crate) start_extent: u64,
    /// Number of logical extents.
    pub(crate) extent_count: u64,
    /// Stripe (chunk) size in sectors; 0 for one stripe.
    pub(crate) stripe_sectors: u64,
    /// Each stripe: the index of its PV in [`VgMeta::pvs`], and its first physical extent.
    pub(crate) stripes: Vec<(usize, u64)>,
}

/// The VG metadata a parsed text holds.
pub(crate) fn interpret(tree: &Tree, limits: &ImageLimits) -> Result<VgMeta> {
    let root = tree.root().ok_or_else(|| corrupt(0, "the text is empty".into()))?;
    match root.get("contents") {
        Some(Value::Str(s)) if s == CONTENTS => {}
        other => {
            return Err(corrupt(0, format!("expected contents = {CONTENTS:?}, found {}", describe(other))));
        }
    }
    match root.get("version") {
        Some(Value::Int(1)) => {}
        other => return Err(corrupt(0, format!("expected version = 1, found {}", describe(other)))),
    }
    // As LVM: the VG is the first section at the top level.
    let vg =
        tree.children(root).next().ok_or_else(|| corrupt(0, "expected a volume group section, found none".into()))?;
    let at = vg.at as u64;
    let id = uuid(vg, "id").map_err(|e| corrupt(at, format!("volume group {:?}: {e}", vg.name)))?;
    let vg_err = |e: String| corrupt(at, format!("volume group {:?}: {e}", vg.name));
    let seqno = int(vg, "seqno", 0, u32::MAX.into()).map_err(vg_err)?;
    let extent_sectors = int(vg, "extent_size", 1, u32::MAX.into()).map_err(vg_err)?;
    let pv_section = tree
        .child(vg, "physical_volumes")
        .ok_or_else(|| vg_err("expected a physical_volumes section, found none".into()))?;
    let mut pvs = Vec::new();
    let mut pv_keys: HashMap<&str, usize> = HashMap::new();
    let mut pv_ids: HashMap<String, &str> = HashMap::new();
    for pv in tree.children(pv_section) {
        let pv_err = |e: String| {
            corrupt(pv.at as u64, format!("volume group {:?}, physical volume {:?}: {e}", vg.name, pv.name))
        };
        let pv_id = uuid(pv, "id").map_err(pv_err)?;
        let pe_start = int(pv, "pe_start", 0, u64::MAX >> 9).map_err(pv_err)?;
        let pe_count = int(pv, "pe_count", 0, u32::MAX.into()).map_err(pv_err)?;
        if let Some(other) = pv_ids.insert(pv_id.clone(), &pv.name) {
            return Err(pv_err(format!("its id {pv_id} is also the id of {other:?}")));
        }
        pv_keys.insert(&pv.name, pvs.len());
        pvs.push(PvMeta { key: pv.name.clone(), id: pv_id, pe_start, pe_count });
    }
    let mut lvs = Vec::new();
    if let Some(lv_section) = tree.child(vg, "logical_volumes") {
        // Count every segment before reading any: the bound holds before the work it guards.
        let segments = tree.children(lv_section).map(|lv| lv.children.len() as u64).fold(0u64, u64::saturating_add);
        ImageLimits::check("max_lvm_segments", segments, limits.max_lvm_segments.into())?;
        let lv_names: HashMap<&str, ()> = tree.children(lv_section).map(|lv| (lv.name.as_str(), ())).collect();
        for lv in tree.children(lv_section) {
            lvs.push(read_lv(tree, lv, &pv_keys, &lv_names));
        }
        mark_cow_stores(tree, lv_section, &mut lvs);
    }
    Ok(VgMeta { name: vg.name.clone(), id, seqno, extent_sectors, pvs, lvs, checksum: 0, wrapped: false })
}

/// The LV of section `lv`; faults go into its `problem`.
fn read_lv(tree: &Tree, lv: &Section, pvs: &HashMap<&str, usize>, lvs: &HashMap<&str, ()>) -> LvMeta {
    let visible = match lv.get("status") {
        Some(Value::List(l)) => l.iter().any(|v| matches!(v, Value::Str(s) if s == "VISIBLE")),
        _ => false,
    };
    let mut meta = LvMeta {
        name: lv.name.clone(),
        id: uuid(lv, "id").ok(),
        visible,
        kind: "linear".into(),
        extents: 0,
        segments: Vec::new(),
        problem: None,
    };
    // The kind first: a refused type is named even when the rest of the LV is odd.
    let mut striped = false;
    for seg in tree.children(lv) {
        let Some(Value::Str(t)) = seg.get("type") else { continue };
        let base = t.split('+').next().unwrap_or_default();
        if base != "striped" && base != "linear" {
            meta.kind = base.chars().take(64).collect();
            meta.problem = Some(Problem::Refused(format!(
                "{} volumes are not read (only linear and striped ones are)",
                meta.kind.escape_debug()
            )));
            break;
        }
        striped |= matches!(seg.get("stripe_count"), Some(Value::Int(n)) if *n > 1);
    }
    if meta.problem.is_none() && striped {
        meta.kind = "striped".into();
    }
    let mut segments = Vec::new();
    let mut extents = 0u64;
    let mut problem = None;
    for seg in tree.children(lv) {
        match read_segment(seg, pvs, lvs, meta.problem.is_some()) {
            Ok(s) => {
                extents = extents.saturating_add(s.extent_count);
                segments.push(s);
            }
            Err(e) => {
                problem.get_or_insert_with(|| format!("segment {:?}: {e}", seg.name));
            }
        }
    }
    meta.extents = extents;
    if meta.problem.is_some() {
        return meta;
    }
    if problem.is_none() {
        problem = check_segments(lv, &mut segments).err();
    }
    match problem {
        Some(p) => meta.problem = Some(Problem::Corrupt(p)),
        None => meta.segments = segments,
    }
    meta
}

/// Checks `segment_count`, sorts the segments and checks they cover `0..` without gap or overlap.
fn check_segments(lv: &Section, segments: &mut [SegMeta]) -> std::result::Result<(), String> {
    let count = int(lv, "segment_count", 0, u32::MAX.into())?;
    if count != segments.len() as u64 {
        return Err(format!("segment_count is {count}, but it has {} segments", segments.len()));
    }
    if segments.is_empty() {
        return Err("it has no segments".into());
    }
    segments.sort_by_key(|s| s.start_extent);
    let mut next = 0u64;
    for s in segments.iter() {
        if s.start_extent != next {
            return Err(format!(
                "its segments leave a gap or overlap at extent {next} (a segment starts at {})",
                s.start_extent
            ));
        }
        next = next.saturating_add(s.extent_count);
    }
    if next > u32::MAX.into() {
        return Err(format!("it has {next} extents, more than LVM's 2^32 - 1"));
    }
    Ok(())
}

/// One segment. When `counts_only`, only its extents are read (the LV is refused anyway).
fn read_segment(
    seg: &Section,
    pvs: &HashMap<&str, usize>,
    lvs: &HashMap<&str, ()>,
    counts_only: bool,
) -> std::result::Result<SegMeta, String> {
    let start_extent = int(seg, "start_extent", 0, u32::MAX.into())?;
    let extent_count = int(seg, "extent_count", 1, u32::MAX.into())?;
    let mut s = SegMeta { start_extent, extent_count, stripe_sectors: 0, stripes: Vec::new() };
    if counts_only {
        return Ok(s);
    }
    match seg.get("type") {
        Some(Value::Str(_)) => {}
        other => return Err(format!("expected type = \"striped\", found {}", describe(other))),
    }
    let count = int(seg, "stripe_count", 1, u32::MAX.into())?;
    if count > 1 {
        s.stripe_sectors = int(seg, "stripe_size", 1, u32::MAX.into())?;
    }
    if extent_count.checked_rem(count) != Some(0) {
        return Err(format!("its {extent_count} extents do not divide into {count} stripes"));
    }
    let Some(Value::List(list)) = seg.get("stripes") else {
        return Err(format!("expected a stripes list, found {}", describe(seg.get("stripes"))));
    };
    if list.len() as u64 != count.saturating_mul(2) {
        return Err(format!(
            "stripe_count is {count}, but stripes has {} items (expected a name and a first extent per stripe)",
            list.len()
        ));
    }
    for pair in list.chunks_exact(2) {
        let (Some(Value::Str(name)), Some(first)) = (pair.first(), pair.get(1)) else {
            return Err(format!("expected a PV name in stripes, found {}", describe(pair.first())));
        };
        let first_pe = match first {
            Value::Int(n) => u64::try_from(*n).ok().filter(|&n| n <= u32::MAX.into()),
            _ => None,
        }
        .ok_or_else(|| {
            format!(
                "expected a first extent (0 to 2^32 - 1) after {name:?} in stripes, found {}",
                describe(Some(first))
            )
        })?;
        match pvs.get(name.as_str()) {
            Some(&pv) => s.stripes.push((pv, first_pe)),
            None if lvs.contains_key(name.as_str()) => {
                return Err(format!(
                "it is stacked on logical volume {:?} (a pvmove in progress or a layered volume), which is not read",
                name.escape_debug().to_string()
            ))
            }
            None => {
                return Err(format!(
                    "its stripe names {:?}, which is no PV of the volume group",
                    name.escape_debug().to_string()
                ))
            }
        }
    }
    Ok(s)
}

/// Marks the COW store of each old-style snapshot (the LV a `snapshot` segment names in
/// `cow_store`): its bytes are the snapshot's exception store, not a file system.
fn mark_cow_stores(tree: &Tree, lv_section: &Section, lvs: &mut [LvMeta]) {
    let index: HashMap<String, usize> = lvs.iter().enumerate().map(|(i, l)| (l.name.clone(), i)).collect();
    for lv in tree.children(lv_section) {
        for seg in tree.children(lv) {
            if !matches!(seg.get("type"), Some(Value::Str(t)) if t.split('+').next() == Some("snapshot")) {
                continue;
            }
            let Some(Value::Str(cow)) = seg.get("cow_store") else { continue };
            let origin = match seg.get("origin") {
                Some(Value::Str(o)) => o.as_str(),
                _ => "?",
            };
            if let Some(store) = index.get(cow).and_then(|&i| lvs.get_mut(i)) {
                store.kind = "snapshot".into();
                store.problem = Some(Problem::Refused(format!(
                    "it is the copy-on-write store of snapshot {:?} of {:?}: snapshot volumes are not read",
                    lv.name.escape_debug().to_string(),
                    origin.escape_debug().to_string()
                )));
            }
        }
    }
}

/// The integer `key` of `s`, in `min..=max`.
fn int(s: &Section, key: &str, min: u64, max: u64) -> std::result::Result<u64, String> {
    let v = s.get(key);
    match v {
        Some(Value::Int(n)) => u64::try_from(*n).ok().filter(|n| (min..=max).contains(n)),
        _ => None,
    }
    .ok_or_else(|| format!("expected {key} = an integer from {min} to {max}, found {}", describe(v)))
}

/// The UUID `key` of `s`, dashed.
fn uuid(s: &Section, key: &str) -> std::result::Result<String, String> {
    let v = s.get(key);
    match v {
        Some(Value::Str(t)) => normalize_uuid(t),
        _ => None,
    }
    .ok_or_else(|| {
        format!("expected {key} = a UUID (32 characters of [0-9a-zA-Z!#], dashes allowed), found {}", describe(v))
    })
}

/// A value for an error message, short.
fn describe(v: Option<&Value>) -> String {
    match v {
        None => "nothing".into(),
        Some(Value::Int(n)) => n.to_string(),
        Some(Value::OutOfRange) => "an integer out of range".into(),
        Some(Value::Float) => "a decimal number".into(),
        Some(Value::Str(s)) => {
            let short: String = s.chars().take(80).collect();
            format!("{:?}", short)
        }
        Some(Value::List(l)) => format!("a list of {} items", l.len()),
    }
}

/// A fault in the VG-level metadata, at byte `offset` of the text.
fn corrupt(offset: u64, reason: String) -> ImageError {
    ImageError::Corrupt { what: "LVM metadata", offset, reason }
}
