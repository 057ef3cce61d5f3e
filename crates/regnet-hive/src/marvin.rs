//! Marvin32, the hash that guards new-format log entries (spec, "Log entries" notes 1–3).

/// The seed the registry uses. The spec lists it as the bytes 82 EF 4D 88 7A 4E 55 C5;
/// the hashes in real Windows logs match only when those bytes are read as
/// one big-endian number (low word 0x7A4E55C5, high word 0x82EF4D88).
pub const REGISTRY_SEED: u64 = 0x82EF_4D88_7A4E_55C5;

#[inline]
fn mix(lo: &mut u32, hi: &mut u32) {
    *hi ^= *lo;
    *lo = lo.rotate_left(20).wrapping_add(*hi);
    *hi = hi.rotate_left(9) ^ *lo;
    *lo = lo.rotate_left(27).wrapping_add(*hi);
    *hi = hi.rotate_left(19);
}

/// Marvin32 of `data` with a 64-bit seed; the result is `hi << 32 | lo`.
pub fn marvin32(seed: u64, data: &[u8]) -> u64 {
    let mut lo = seed as u32;
    let mut hi = (seed >> 32) as u32;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        let v: [u8; 4] = w.try_into().unwrap_or([0; 4]);
        lo = lo.wrapping_add(u32::from_le_bytes(v));
        mix(&mut lo, &mut hi);
    }
    let rest = words.remainder();
    let mut fin: u32 = 0x80 << (8 * rest.len());
    for (i, &b) in rest.iter().enumerate() {
        fin |= u32::from(b) << (8 * i);
    }
    lo = lo.wrapping_add(fin);
    mix(&mut lo, &mut hi);
    mix(&mut lo, &mut hi);
    (u64::from(hi) << 32) | u64::from(lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_bytes() {
        assert_eq!(REGISTRY_SEED.to_be_bytes(), [0x82, 0xEF, 0x4D, 0x88, 0x7A, 0x4E, 0x55, 0xC5]);
    }

    #[test]
    fn tail_lengths_differ() {
        let h: Vec<u64> = (0..8).map(|n| marvin32(REGISTRY_SEED, &[0u8; 8][..n])).collect();
        for i in 0..h.len() {
            for j in 0..i {
                assert_ne!(h[i], h[j], "{i} vs {j}");
            }
        }
    }
}
