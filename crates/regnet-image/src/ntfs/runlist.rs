//! Data runs (mapping pairs) of non-resident attributes: decoding, merging the pieces of an
//! attribute split over several records, and mapping a VCN to an LCN.
//!
//! Each run starts with a header byte: the low nibble is the size of the run length field, the high
//! nibble the size of the LCN offset field (0 = a sparse run with no clusters); then the length
//! (unsigned) and the offset from the previous run's LCN (signed), both little-endian. A zero header
//! byte ends the list. Sources: Linux-NTFS documentation (flatcap, "Data Runs"), libfsntfs notes.

use super::le::{bytes, int_var, u8_at, uint_var};
use crate::error::{ImageError, Result};

/// A run of clusters: VCNs `vcn .. vcn + len` are at LCNs `lcn .. lcn + len`, or sparse (zeros).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    pub vcn: u64,
    pub len: u64,
    pub lcn: Option<u64>,
}

impl Run {
    pub(crate) fn end(&self) -> u64 {
        self.vcn.saturating_add(self.len)
    }
}

/// Appends `run` to `runs`, joining it to the last run when the two are contiguous on disk (or both
/// sparse), so that reads can be coalesced.
pub(crate) fn push_run(runs: &mut Vec<Run>, run: Run) {
    if let Some(last) = runs.last_mut() {
        let joins = last.end() == run.vcn
            && match (last.lcn, run.lcn) {
                (None, None) => true,
                (Some(a), Some(b)) => a.checked_add(last.len) == Some(b),
                _ => false,
            };
        if joins {
            if let Some(len) = last.len.checked_add(run.len) {
                last.len = len;
                return;
            }
        }
    }
    runs.push(run);
}

/// Decodes the mapping pairs `mp` (which end where the attribute ends) of an attribute extent whose
/// first VCN is `start_vcn`. Every LCN range must lie inside the volume's `total_clusters`.
/// `offset` is the volume byte offset of `mp`, for errors.
pub(crate) fn decode(mp: &[u8], start_vcn: u64, total_clusters: u64, offset: u64) -> Result<Vec<Run>> {
    let corrupt = |pos: usize, reason: String| ImageError::Corrupt {
        what: "NTFS data run",
        offset: offset.saturating_add(pos as u64),
        reason,
    };
    let mut runs = Vec::new();
    let mut pos = 0usize;
    let mut vcn = start_vcn;
    let mut lcn: i64 = 0;
    loop {
        let Some(header) = u8_at(mp, pos) else {
            return Err(corrupt(pos, "the run list is not terminated inside its attribute".into()));
        };
        if header == 0 {
            return Ok(runs);
        }
        let len_size = usize::from(header & 0x0F);
        let off_size = usize::from(header >> 4);
        if !(1..=8).contains(&len_size) || off_size > 8 {
            return Err(corrupt(pos, format!("run header {header:#04x}: field sizes must be 1-8 and 0-8 bytes")));
        }
        let len_at = pos.saturating_add(1);
        let off_at = len_at.saturating_add(len_size);
        let next = off_at.saturating_add(off_size);
        let (Some(len_bytes), Some(off_bytes)) = (bytes(mp, len_at, len_size), bytes(mp, off_at, off_size)) else {
            return Err(corrupt(pos, "the run runs past its attribute".into()));
        };
        let len = uint_var(len_bytes).unwrap_or(0);
        // The length field is signed on disk; a "negative" or zero length is corrupt (CVE-2022-40284).
        if len == 0 || len > i64::MAX as u64 {
            return Err(corrupt(pos, format!("run length {len:#x} (must be positive)")));
        }
        let run_lcn = if off_size == 0 {
            None
        } else {
            let delta = int_var(off_bytes).unwrap_or(0);
            lcn = match lcn.checked_add(delta) {
                Some(l) if l >= 0 => l,
                _ => return Err(corrupt(pos, format!("LCN offset {delta} leaves the volume"))),
            };
            let start = lcn.unsigned_abs();
            if start.checked_add(len).is_none_or(|e| e > total_clusters) {
                return Err(corrupt(
                    pos,
                    format!("clusters {start:#x}+{len:#x} are outside the volume's {total_clusters:#x} clusters"),
                ));
            }
            Some(start)
        };
        let Some(end) = vcn.checked_add(len) else {
            return Err(corrupt(pos, "the run's VCNs pass 2^64".into()));
        };
        push_run(&mut runs, Run { vcn, len, lcn: run_lcn });
        vcn = end;
        pos = next;
    }
}

/// One extent of a non-resident attribute: its VCN range (inclusive end; `None` for an empty
/// attribute) and the runs decoded from it.
#[derive(Debug, Clone)]
pub(crate) struct Extent {
    pub lowest_vcn: u64,
    pub highest_vcn: Option<u64>,
    pub runs: Vec<Run>,
}

impl Extent {
    /// The VCN after the extent's last.
    pub(crate) fn end_vcn(&self) -> u64 {
        self.highest_vcn.map_or(self.lowest_vcn, |h| h.saturating_add(1))
    }
}

/// Checks that an extent's runs cover exactly its VCN range.
pub(crate) fn check_extent(e: &Extent, offset: u64) -> Result<()> {
    let runs_end = e.runs.last().map_or(e.lowest_vcn, Run::end);
    if runs_end != e.end_vcn() {
        return Err(ImageError::Corrupt {
            what: "NTFS data run",
            offset,
            reason: format!(
                "the runs end at VCN {runs_end:#x}, but the attribute covers VCNs {:#x} to {:#x}",
                e.lowest_vcn,
                e.end_vcn()
            ),
        });
    }
    Ok(())
}

/// Joins the extents of one attribute (from its base and extension records) into a single run
/// list. The extents must tile the VCNs from 0 with no gap or overlap.
pub(crate) fn merge(mut extents: Vec<Extent>, offset: u64) -> Result<Vec<Run>> {
    extents.sort_by_key(|e| e.lowest_vcn);
    let mut runs: Vec<Run> = Vec::new();
    let mut next_vcn = 0u64;
    for e in extents {
        if e.lowest_vcn != next_vcn {
            return Err(ImageError::Corrupt {
                what: "NTFS attribute extents",
                offset,
                reason: format!("an extent starts at VCN {:#x} where {next_vcn:#x} was expected", e.lowest_vcn),
            });
        }
        next_vcn = e.end_vcn();
        for r in e.runs {
            push_run(&mut runs, r);
        }
    }
    Ok(runs)
}

/// Index of the run holding `vcn`, if any (runs are sorted and contiguous).
pub(crate) fn find(runs: &[Run], vcn: u64) -> Option<usize> {
    let i = runs.partition_point(|r| r.end() <= vcn);
    runs.get(i).filter(|r| r.vcn <= vcn).map(|_| i)
}

/// Total VCNs the runs cover.
pub(crate) fn total_clusters(runs: &[Run]) -> u64 {
    runs.last().map_or(0, Run::end)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    #[test]
    fn decodes_sparse_and_negative_offsets() {
        // 0x21: 1-byte length 0x18, 2-byte LCN 0x5634; 0x01: sparse 0x10; 0x11: len 8, LCN -0x10.
        let mp = [0x21, 0x18, 0x34, 0x56, 0x01, 0x10, 0x11, 0x08, 0xF0, 0x00];
        let runs = decode(&mp, 0, 1 << 20, 0).unwrap();
        assert_eq!(
            runs,
            vec![
                Run { vcn: 0, len: 0x18, lcn: Some(0x5634) },
                Run { vcn: 0x18, len: 0x10, lcn: None },
                Run { vcn: 0x28, len: 8, lcn: Some(0x5624) },
            ]
        );
        assert_eq!(find(&runs, 0x17), Some(0));
        assert_eq!(find(&runs, 0x18), Some(1));
        assert_eq!(find(&runs, 0x30), None);
    }

    #[test]
    fn coalesces_contiguous_runs() {
        let mp = [0x11, 0x04, 0x10, 0x11, 0x04, 0x04, 0x00];
        assert_eq!(decode(&mp, 7, 100, 0).unwrap(), vec![Run { vcn: 7, len: 8, lcn: Some(0x10) }]);
    }

    #[test]
    fn rejects_hostile_runs() {
        let cases: &[&[u8]] = &[
            &[0x11, 0x00, 0x10, 0x00],                                     // zero length
            &[0x11, 0x04, 0x7F, 0x00],                                     // past the volume (100 clusters)
            &[0x11, 0x04, 0x80, 0x00],                                     // negative LCN
            &[0x19, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00],                // 9-byte length field
            &[0x91, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00],                // 9-byte offset field
            &[0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00], // "negative" length
            &[0x11, 0x04, 0x10],                                           // no terminator
            &[0x31, 0x04, 0x10],                                           // field past the end
            &[],
        ];
        for mp in cases {
            assert!(matches!(decode(mp, 0, 100, 0), Err(ImageError::Corrupt { .. })), "{mp:02x?}");
        }
        // VCN overflow.
        assert!(decode(&[0x01, 0x10, 0x00], u64::MAX - 4, 100, 0).is_err());
    }

    #[test]
    fn merges_extents_in_vcn_order() {
        let a = Extent { lowest_vcn: 0, highest_vcn: Some(3), runs: vec![Run { vcn: 0, len: 4, lcn: Some(10) }] };
        let b = Extent { lowest_vcn: 4, highest_vcn: Some(5), runs: vec![Run { vcn: 4, len: 2, lcn: Some(14) }] };
        check_extent(&a, 0).unwrap();
        assert_eq!(merge(vec![b.clone(), a.clone()], 0).unwrap(), vec![Run { vcn: 0, len: 6, lcn: Some(10) }]);
        assert!(merge(vec![b.clone()], 0).is_err());
        assert!(merge(vec![a.clone(), a.clone()], 0).is_err());
        let short = Extent { lowest_vcn: 0, highest_vcn: Some(9), runs: a.runs.clone() };
        assert!(check_extent(&short, 0).is_err());
        let empty = Extent { lowest_vcn: 0, highest_vcn: None, runs: vec![] };
        check_extent(&empty, 0).unwrap();
        assert!(merge(vec![empty], 0).unwrap().is_empty());
    }
}
