//! EWF segment files: the 13-byte file header and the chain of 76-byte section descriptors.

use crate::error::{ImageError, Result};
use crate::source::FileSource;

/// Signature of an EWF-E01 (and SMART) segment file.
pub(crate) const EVF: &[u8; 8] = b"EVF\x09\x0d\x0a\xff\x00";
/// Signature of an EWF-L01 (logical evidence) segment file.
pub(crate) const LVF: &[u8; 8] = b"LVF\x09\x0d\x0a\xff\x00";
/// Signatures of EWF2 (Ex01 / Lx01) segment files.
pub(crate) const EVF2: &[u8; 8] = b"EVF2\x0d\x0a\x81\x00";
pub(crate) const LEF2: &[u8; 8] = b"LEF2\x0d\x0a\x81\x00";

/// Size of a section descriptor.
pub(crate) const DESCRIPTOR: u64 = 76;
/// Size of the file header.
pub(crate) const FILE_HEADER: u64 = 13;

/// Adler-32 (RFC 1950) of `data`, starting from `start` (1 for a fresh checksum).
pub(crate) fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 bytes is the most that can be summed before `b` could overflow 32 bits.
    for block in data.chunks(5552) {
        for &x in block {
            a += u32::from(x);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

pub(crate) fn le32(b: &[u8], at: usize) -> u32 {
    let mut v = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        v.copy_from_slice(s);
    }
    u32::from_le_bytes(v)
}

pub(crate) fn le64(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    if let Some(s) = b.get(at..at + 8) {
        v.copy_from_slice(s);
    }
    u64::from_le_bytes(v)
}

/// Checks the Adler-32 stored at `data[at..at + 4]` against the bytes before it.
pub(crate) fn check_adler(data: &[u8], at: usize, what: &'static str, offset: u64) -> Result<()> {
    let body = data.get(..at).ok_or(ImageError::Truncated {
        what,
        offset,
        needed: at as u64 + 4,
        available: data.len() as u64,
    })?;
    let stored = le32(data, at);
    let computed = adler32(body);
    if stored != computed {
        return Err(ImageError::BadChecksum { what, offset, expected: u64::from(computed), found: u64::from(stored) });
    }
    Ok(())
}

/// What the first 8 bytes of a file say about EWF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signature {
    /// EWF-E01 / SMART: read.
    Evf,
    /// EWF-L01: a logical evidence file (files, not a disk).
    Lvf,
    /// EWF2 (Ex01, Lx01).
    Ewf2,
}

/// The EWF signature `head` starts with, if any.
pub(crate) fn signature(head: &[u8]) -> Option<Signature> {
    let h = head.get(..8)?;
    if h == EVF {
        Some(Signature::Evf)
    } else if h == LVF {
        Some(Signature::Lvf)
    } else if h == EVF2 || h == LEF2 {
        Some(Signature::Ewf2)
    } else {
        None
    }
}

/// Reads a segment's file header and returns its segment number.
pub(crate) fn segment_number(src: &mut FileSource) -> Result<u16> {
    let mut h = [0u8; FILE_HEADER as usize];
    src.read_exact_at(0, &mut h, "EWF file header")?;
    match signature(&h) {
        Some(Signature::Evf) => {}
        Some(Signature::Lvf) => {
            return Err(ImageError::Unsupported(format!(
                "{} is an EWF-L01 logical evidence file (copied files, not a disk image)",
                src.name()
            )))
        }
        Some(Signature::Ewf2) => {
            return Err(ImageError::Unsupported(format!(
                "{} is an EWF2 (Ex01/Lx01) evidence file, which regnet does not read; convert it with `ewfexport -f raw` (or to E01) first",
                src.name()
            )))
        }
        None => {
            return Err(ImageError::BadSignature {
                what: "EWF segment file",
                offset: 0,
                expected: "EVF\\x09\\x0d\\x0a\\xff\\x00",
                found: h.get(..8).unwrap_or_default().to_vec(),
            })
        }
    }
    let n = u16::from_le_bytes([h[9], h[10]]);
    if h[8] != 1 || n == 0 {
        return Err(ImageError::BadField {
            what: "EWF segment number",
            offset: 9,
            value: u64::from(n),
            expected: "a start-of-fields byte 1 and a segment number of 1 or more",
        });
    }
    Ok(n)
}

/// One section descriptor.
#[derive(Debug, Clone)]
pub(crate) struct Section {
    /// The type string (`header`, `volume`, `sectors`...), NUL padding removed.
    pub(crate) kind: String,
    /// Where the next descriptor starts (itself for `next` and `done`).
    pub(crate) next: u64,
    /// Where the section's data starts (just after the descriptor).
    pub(crate) data: u64,
    /// Where the section's data ends.
    pub(crate) end: u64,
}

impl Section {
    /// Length of the section's data.
    pub(crate) fn data_len(&self) -> u64 {
        self.end.saturating_sub(self.data)
    }
    /// True for the sections that end a segment.
    pub(crate) fn is_last(&self) -> bool {
        self.kind == "next" || self.kind == "done"
    }
}

/// Reads and checks the descriptor at `offset`. Sections only go forward: the next descriptor
/// must start after this one ends (a `next` or `done` section points at itself), so walking a
/// segment ends after at most `len / 76` steps.
pub(crate) fn read_section(src: &mut FileSource, offset: u64) -> Result<Section> {
    let mut d = [0u8; DESCRIPTOR as usize];
    src.read_exact_at(offset, &mut d, "EWF section descriptor")?;
    check_adler(&d, 72, "EWF section descriptor", offset)?;
    let kind_bytes = d.get(..16).unwrap_or_default();
    let kind_end = kind_bytes.iter().position(|&b| b == 0).unwrap_or(16);
    let kind: String = kind_bytes.get(..kind_end).unwrap_or_default().iter().map(|&b| char::from(b)).collect();
    let next = le64(&d, 16);
    let size = le64(&d, 24);
    let data = offset + DESCRIPTOR;
    let last = kind == "next" || kind == "done";
    let len = src.len();
    if last {
        if next != offset {
            return Err(ImageError::BadField {
                what: "EWF next/done section's next offset",
                offset,
                value: next,
                expected: "the offset of the section itself",
            });
        }
        return Ok(Section { kind, next, data, end: data });
    }
    if next < data || next > len {
        return Err(ImageError::Corrupt {
            what: "EWF section descriptor",
            offset,
            reason: format!(
                "{kind:?} section's next offset {next:#x} {}",
                if next < data { "points backwards (sections only go forward)" } else { "is past the end of its file" }
            ),
        });
    }
    // The size counts the descriptor. Some writers leave it 0; then the next offset bounds it.
    let end = if size >= DESCRIPTOR {
        let end = offset.checked_add(size).filter(|&e| e <= next).ok_or_else(|| ImageError::Corrupt {
            what: "EWF section descriptor",
            offset,
            reason: format!("{kind:?} section's size {size:#x} runs past the next section at {next:#x}"),
        })?;
        end
    } else {
        next
    };
    Ok(Section { kind, next, data, end })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adler32_known_values() {
        assert_eq!(adler32(b""), 1);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        let big = vec![0xffu8; 100_000];
        // Reference: the same sum done with u64 arithmetic and one reduction per byte.
        let (mut a, mut b) = (1u64, 0u64);
        for &x in &big {
            a = (a + u64::from(x)) % 65521;
            b = (b + a) % 65521;
        }
        assert_eq!(adler32(&big), ((b << 16) | a) as u32);
    }

    #[test]
    fn signatures() {
        assert_eq!(signature(EVF), Some(Signature::Evf));
        assert_eq!(signature(LVF), Some(Signature::Lvf));
        assert_eq!(signature(EVF2), Some(Signature::Ewf2));
        assert_eq!(signature(b"EVF"), None);
        assert_eq!(signature(&[0u8; 16]), None);
    }
}
