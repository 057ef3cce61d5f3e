//! LZNT1 decompression of one NTFS compression unit (16 clusters of at most 4 KiB).
//!
//! The compressed data of a unit is a sequence of chunks, each decoding to at most 4096 bytes. A
//! chunk starts with a u16 header: bits 0-11 are the number of bytes that follow minus one, bits
//! 12-14 the signature 3, bit 15 set if the chunk is compressed. A zero header ends the data. A
//! compressed chunk is a sequence of flag bytes, each followed by up to 8 items: a literal byte for
//! a clear bit, a u16 back-reference for a set bit. The reference splits into a displacement and a
//! length whose widths depend on how many bytes the chunk has produced so far: the displacement
//! has 4 bits while fewer than 17 bytes have been produced, one more each time that count doubles,
//! up to 12. Sources: [MS-XCA] 2.5 (LZNT1), Linux-NTFS documentation ("Compression").
//!
//! Every chunk writes only into its own 4096-byte slot of the unit, and every back-reference is
//! checked against the bytes its chunk has produced, so output is bounded by the unit size.

/// Bytes one chunk decodes to at most.
pub(crate) const CHUNK: usize = 4096;

/// Decompresses `input` into `out` (one compression unit; bytes no chunk produces are zeros).
/// Errors describe the first inconsistency.
pub(crate) fn decompress_unit(input: &[u8], out: &mut [u8]) -> Result<(), String> {
    out.fill(0);
    let mut pos = 0usize;
    for (index, slot) in out.chunks_mut(CHUNK).enumerate() {
        let Some(header) = super::le::u16_at(input, pos) else { return Ok(()) };
        if header == 0 {
            return Ok(());
        }
        if (header >> 12) & 7 != 3 {
            return Err(format!("chunk {index}: header {header:#06x} lacks the signature 3"));
        }
        let size = usize::from(header & 0x0FFF).saturating_add(1);
        let body_at = pos.saturating_add(2);
        let Some(body) = super::le::bytes(input, body_at, size) else {
            return Err(format!("chunk {index}: {size} bytes run past the compressed data"));
        };
        if header & 0x8000 != 0 {
            decompress_chunk(body, slot).map_err(|e| format!("chunk {index}: {e}"))?;
        } else {
            let n = body.len().min(slot.len());
            if let (Some(dst), Some(src)) = (slot.get_mut(..n), body.get(..n)) {
                dst.copy_from_slice(src);
            }
        }
        pos = body_at.saturating_add(size);
    }
    Ok(())
}

/// Decodes one compressed chunk into `slot` (at most [`CHUNK`] bytes); returns the bytes produced.
fn decompress_chunk(body: &[u8], slot: &mut [u8]) -> Result<usize, String> {
    let cap = slot.len().min(CHUNK);
    let mut src = body.iter().copied().peekable();
    let mut produced = 0usize;
    while let Some(flags) = src.next() {
        for bit in 0..8 {
            // The chunk may end anywhere between items.
            if src.peek().is_none() {
                return Ok(produced);
            }
            if flags & (1 << bit) == 0 {
                let Some(b) = src.next() else { return Ok(produced) };
                let dst = slot.get_mut(produced).filter(|_| produced < cap).ok_or("literal past 4096 bytes")?;
                *dst = b;
                produced = produced.saturating_add(1);
            } else {
                let (Some(lo), Some(hi)) = (src.next(), src.next()) else {
                    return Err("a back-reference is cut short".into());
                };
                let token = u16::from_le_bytes([lo, hi]);
                // Displacement bits grow with the output: 4 bits up to 16 bytes, 12 at most.
                let mut disp_bits = 4u32;
                let mut n = produced.saturating_sub(1) >> 4;
                while n > 0 && disp_bits < 12 {
                    disp_bits = disp_bits.saturating_add(1);
                    n >>= 1;
                }
                let len_bits = 16u32.saturating_sub(disp_bits);
                let displacement = usize::from(token >> len_bits).saturating_add(1);
                let length = usize::from(token & ((1u16 << len_bits).saturating_sub(1))).saturating_add(3);
                if produced == 0 || displacement > produced {
                    return Err(format!("back-reference {displacement} bytes back, after {produced} bytes"));
                }
                let end = produced.saturating_add(length);
                if end > cap {
                    return Err(format!("back-reference of {length} bytes passes 4096 bytes"));
                }
                for i in produced..end {
                    let from = i.saturating_sub(displacement);
                    let b = slot.get(from).copied().unwrap_or(0);
                    if let Some(d) = slot.get_mut(i) {
                        *d = b;
                    }
                }
                produced = end;
            }
        }
    }
    Ok(produced)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    /// The worked example of [MS-XCA] 3.3: 59 compressed bytes, 142 bytes of text.
    #[test]
    fn ms_xca_example() {
        let compressed: [u8; 59] = [
            0x38, 0xb0, 0x88, 0x46, 0x23, 0x20, 0x00, 0x20, 0x47, 0x20, 0x41, 0x00, 0x10, 0xa2, 0x47, 0x01, 0xa0, 0x45,
            0x20, 0x44, 0x00, 0x08, 0x45, 0x01, 0x50, 0x79, 0x00, 0xc0, 0x45, 0x20, 0x05, 0x24, 0x13, 0x88, 0x05, 0xb4,
            0x02, 0x4a, 0x44, 0xef, 0x03, 0x58, 0x02, 0x8c, 0x09, 0x16, 0x01, 0x48, 0x45, 0x00, 0xbe, 0x00, 0x9e, 0x00,
            0x04, 0x01, 0x18, 0x90, 0x00,
        ];
        let text = b"F# F# G A A G F# E D D E F# F# E E F# F# G A A G F# E D D E F# E D D E E F# D E F# G F# D E F# G F# E D E A F# F# G A A G F# E D D E F# E D D\0";
        assert_eq!(text.len(), 142);
        let mut out = vec![0xAAu8; 8192];
        decompress_unit(&compressed, &mut out).unwrap();
        assert_eq!(&out[..142], &text[..]);
        assert!(out[142..].iter().all(|&b| b == 0));
    }

    #[test]
    fn uncompressed_chunks_and_end() {
        let mut input = vec![0xFF, 0x3F]; // uncompressed, 4096 bytes
        input.extend(std::iter::repeat_n(7u8, 4096));
        input.extend_from_slice(&[0x02, 0x30, 1, 2, 3]); // uncompressed, 3 bytes
        input.extend_from_slice(&[0, 0]);
        let mut out = vec![0u8; 16384];
        decompress_unit(&input, &mut out).unwrap();
        assert!(out[..4096].iter().all(|&b| b == 7));
        assert_eq!(&out[4096..4100], &[1, 2, 3, 0]);
    }

    #[test]
    fn hostile_chunks_are_bounded() {
        let mut out = vec![0u8; 65536];
        // A back-reference before any output.
        assert!(decompress_unit(&[0x02, 0xB0, 0x01, 0x00, 0x00], &mut out).is_err());
        // A chunk longer than the data.
        assert!(decompress_unit(&[0xFF, 0xBF, 0x00], &mut out).is_err());
        // Bad signature.
        assert!(decompress_unit(&[0x02, 0x80, 0, 0, 0], &mut out).is_err());
        // A chunk whose back-references would produce 4097 bytes: 1 literal then references of the
        // longest length until the chunk overflows by exactly one byte.
        let mut body = vec![0b1111_1110u8, b'x'];
        // After 1 byte: 4-bit displacement, 12-bit length: length 4095 = 1 + 4095 = 4096 exactly...
        body.extend_from_slice(&(0x0FFCu16).to_le_bytes()); // displacement 1, length 0xFFC + 3 = 4095
        let mut ok = vec![((body.len() - 1) & 0xFF) as u8, 0xB0 | ((body.len() - 1) >> 8) as u8];
        ok.extend_from_slice(&body);
        decompress_unit(&ok, &mut out).unwrap();
        assert!(out[..4096].iter().all(|&b| b == b'x'));
        let mut body = vec![0b1111_1110u8, b'x'];
        body.extend_from_slice(&(0x0FFDu16).to_le_bytes()); // length 4096: one byte too many
        let mut over = vec![((body.len() - 1) & 0xFF) as u8, 0xB0 | ((body.len() - 1) >> 8) as u8];
        over.extend_from_slice(&body);
        assert!(decompress_unit(&over, &mut out).is_err());
        // Output never exceeds the unit, whatever the input.
        let mut small = vec![0u8; 100];
        let mut input = vec![0xFF, 0x3F];
        input.extend(std::iter::repeat_n(1u8, 4096));
        decompress_unit(&input, &mut small).unwrap();
        assert!(small.iter().all(|&b| b == 1));
    }
}
