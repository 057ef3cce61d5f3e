//! Fuzz target: the input is a disk holding LVM2 physical volumes. Every 512-byte-aligned region
//! (from each sector to the end) is probed for a PV, the PVs found are assembled into volume
//! groups, and every logical volume that opens is read near its edges: its start, middle and end,
//! and both sides of each segment boundary. Seeds: `regnet-fixtures lvm` (see fuzz/seed.py).
//!
//! Mutations rarely keep LVM's CRCs right, so each input runs twice: as it is, and with every
//! CRC it holds recomputed (each `LABELONE` sector, then the metadata area headers its PV header
//! lists and their texts, wrap included), so the text parser and the volume layout see the
//! mutated bytes too.
#![no_main]

use regnet_image::lvm;
use regnet_image::{share, Counters, FileSource, ImageLimits, RawDisk, Region, Volume};
use std::sync::Arc;

fn limits() -> ImageLimits {
    let mut l = ImageLimits::default();
    l.max_bytes_read = 256 << 20;
    l.max_lvm_segments = 4096;
    l
}

/// LVM's CRC (reflected CRC-32, initial value 0xF597A6CF, no final XOR).
fn crc(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let t = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
            }
            *e = c;
        }
        t
    });
    data.iter().fold(0xF597_A6CF, |c, &b| t[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8))
}

fn u64_at(d: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(d.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

fn put(d: &mut [u8], at: usize, v: &[u8]) {
    if let Some(s) = d.get_mut(at..at + v.len()) {
        s.copy_from_slice(v);
    }
}

/// `data` with every LVM CRC recomputed (see the module comment).
fn resealed(data: &[u8]) -> Vec<u8> {
    let mut d = data.to_vec();
    for sector in (0..d.len() / 512).take(1 << 14) {
        let at = sector * 512;
        if d.get(at..at + 8) != Some(&b"LABELONE"[..]) {
            continue;
        }
        let c = crc(&d[at + 20..at + 512]);
        put(&mut d, at + 16, &c.to_le_bytes());
        let Some(n) = u64_at(&d, at + 8).filter(|&n| n < 4 && n as usize <= sector) else { continue };
        let pv = at - n as usize * 512;
        // The metadata area list follows the data area list, both after the 40-byte PV header start.
        let mut p = at + 32 + 40;
        while u64_at(&d, p).is_some_and(|o| o != 0) && p < at + 512 {
            p += 16;
        }
        p += 16;
        while p + 16 <= at + 512 {
            let (Some(o), Some(size)) = (u64_at(&d, p), u64_at(&d, p + 8)) else { break };
            if o == 0 {
                break;
            }
            p += 16;
            let Some(h) =
                usize::try_from(o).ok().and_then(|o| o.checked_add(pv)).filter(|&h| h < d.len().saturating_sub(511))
            else {
                continue;
            };
            // The text: slot 0's offset and size, wrapping to the area's byte 512.
            let text_crc = (|| {
                let (to, tz) = (u64_at(&d, h + 40)?, u64_at(&d, h + 48)?);
                if to < 512 || to >= size || tz == 0 || tz > size - 512 || tz > 1 << 20 {
                    return None;
                }
                let first = usize::try_from(tz.min(size - to)).ok()?;
                let second = usize::try_from(tz).ok()? - first;
                let a = h.checked_add(usize::try_from(to).ok()?)?;
                let mut text = d.get(a..a.checked_add(first)?)?.to_vec();
                text.extend_from_slice(d.get(h + 512..(h + 512).checked_add(second)?)?);
                Some(crc(&text))
            })();
            if let Some(c) = text_crc {
                put(&mut d, h + 56, &c.to_le_bytes());
            }
            let c = crc(&d[h + 4..h + 512]);
            put(&mut d, h, &c.to_le_bytes());
        }
    }
    d
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    run(data);
    let sealed = resealed(data);
    if sealed != data {
        run(&sealed);
    }
});

fn run(data: &[u8]) {
    let limits = limits();
    let counters = Arc::new(Counters::default());
    let Ok(src) =
        FileSource::new("input", Box::new(std::io::Cursor::new(data.to_vec())), Arc::clone(&counters), &limits)
    else {
        return;
    };
    let disk = share(Box::new(RawDisk::new(src)));
    let size = data.len() as u64;
    let mut pvs = Vec::new();
    for start in (0..size).step_by(512) {
        let Ok(region) = Region::new(disk.clone(), start, size - start) else { continue };
        if let Ok(Some(pv)) = lvm::probe(&region, &limits) {
            pvs.push(pv);
        }
    }
    if pvs.is_empty() {
        return;
    }
    let vgs = lvm::assemble(&pvs, &limits).expect("assemble fails only on limits it checks at probe");
    let mut buf = vec![0u8; 4096];
    for vg in &vgs {
        for lv in &vg.lvs {
            let opened = lvm::open_lv(vg, &pvs, &lv.name);
            assert_eq!(opened.is_ok(), lv.readable.is_ok(), "readable and open_lv disagree on {}", lv.name);
            let Ok(mut v) = opened else { continue };
            let len = v.len();
            let mut spots = vec![0, len / 2, len.saturating_sub(4096), len.saturating_sub(1)];
            for s in lv.segments.iter().take(64) {
                let at = s.start_extent.saturating_mul(vg.extent_bytes);
                spots.extend([at.saturating_sub(1), at, at.saturating_add(s.stripe_size).saturating_sub(1)]);
            }
            for at in spots {
                if at < len {
                    let n = (len - at).min(4096) as usize;
                    let read = v.read_exact_at(at, &mut buf[..n]);
                    // Inside its length an opened LV reads, unless the read budget ran out.
                    assert!(read.is_ok() || counters.bytes_read() + 4096 > limits.max_bytes_read, "{read:?}");
                }
            }
            assert!(v.read_exact_at(len, &mut buf[..1]).is_err());
        }
    }
}
