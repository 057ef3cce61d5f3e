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

/// The state between whole-word rounds, kept as `(r, h)` with `lo = r + h` and
/// `hi = h.rotate_left(19)`: the round's last addition is then folded into the next round's
/// addition of its word, `(r + word) + h`, whose first half does not wait for `h`. That takes one
/// step off the chain of dependent operations each 4 bytes go through (four instead of five).
#[derive(Clone, Copy)]
struct State {
    r: u32,
    h: u32,
}

impl State {
    #[inline]
    fn new(seed: u64) -> State {
        let h = ((seed >> 32) as u32).rotate_right(19);
        State { r: (seed as u32).wrapping_sub(h), h }
    }

    /// One round over a 4-byte word.
    #[inline(always)]
    fn round(&mut self, w: u32) {
        let lo = self.r.wrapping_add(w).wrapping_add(self.h);
        let hi = self.h.rotate_left(19) ^ lo;
        let lo = lo.rotate_left(20).wrapping_add(hi);
        self.h = hi.rotate_left(9) ^ lo;
        self.r = lo.rotate_left(27);
    }

    /// Rounds over the whole words of `data`.
    #[inline]
    fn rounds(&mut self, data: &[u8]) {
        for w in data.chunks_exact(4) {
            self.round(word(w));
        }
    }

    /// The padded last bytes of `data` (what follows its whole words) and the final mixes.
    #[inline]
    fn finish(self, data: &[u8]) -> u64 {
        let (mut lo, mut hi) = (self.r.wrapping_add(self.h), self.h.rotate_left(19));
        let rest = data.chunks_exact(4).remainder();
        let mut fin: u32 = 0x80 << (8 * rest.len());
        for (i, &b) in rest.iter().enumerate() {
            fin |= u32::from(b) << (8 * i);
        }
        lo = lo.wrapping_add(fin);
        mix(&mut lo, &mut hi);
        mix(&mut lo, &mut hi);
        (u64::from(hi) << 32) | u64::from(lo)
    }
}

#[inline(always)]
fn word(w: &[u8]) -> u32 {
    u32::from_le_bytes(w.try_into().unwrap_or([0; 4]))
}

/// Marvin32 of `data` with a 64-bit seed; the result is `hi << 32 | lo`.
pub fn marvin32(seed: u64, data: &[u8]) -> u64 {
    let mut st = State::new(seed);
    st.rounds(data);
    st.finish(data)
}

/// Marvin32 of each input, the same as [`marvin32`] on each one.
///
/// One input's rounds form a single chain of dependent operations that leaves most of a
/// processor's execution units idle. Here the inputs are dealt onto two lanes of about equal
/// length (longest first) and the lanes are hashed side by side, so that their chains overlap:
/// on the log entries of a large hive this takes about two thirds of the time of one by one.
///
/// ```
/// use regnet_hive::{marvin32, marvin32_many, REGISTRY_SEED};
/// let inputs: [&[u8]; 3] = [b"HvLE", b"a longer input of several words", b""];
/// let many = marvin32_many(REGISTRY_SEED, &inputs);
/// assert_eq!(many, inputs.map(|i| marvin32(REGISTRY_SEED, i)));
/// ```
pub fn marvin32_many(seed: u64, inputs: &[&[u8]]) -> Vec<u64> {
    let mut out = vec![0u64; inputs.len()];
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(inputs.get(i).map_or(0, |x| x.len())));
    let (mut lane_a, mut lane_b) = (Vec::new(), Vec::new());
    let (mut load_a, mut load_b) = (0usize, 0usize);
    for i in order {
        let (input, len) = (inputs.get(i).copied().unwrap_or(&[]), inputs.get(i).map_or(0, |x| x.len()));
        if load_a <= load_b {
            lane_a.push((i, input));
            load_a += len;
        } else {
            lane_b.push((i, input));
            load_b += len;
        }
    }
    let mut set = |i: usize, h: u64| {
        if let Some(o) = out.get_mut(i) {
            *o = h;
        }
    };
    // Each lane: its queue and the input it is in (index, whole input, bytes left, state).
    let (mut qa, mut qb) = (lane_a.into_iter(), lane_b.into_iter());
    type InLane<'x> = (usize, &'x [u8], &'x [u8], State);
    fn enter(seed: u64, (i, x): (usize, &[u8])) -> InLane<'_> {
        (i, x, x, State::new(seed))
    }
    let start = |e| enter(seed, e);
    let (mut a, mut b) = (qa.next().map(start), qb.next().map(start));
    loop {
        match (&mut a, &mut b) {
            (Some((ia, xa, ra, sa)), Some((ib, xb, rb, sb))) => {
                // Side by side over the words both have left, then finish whichever ended.
                let n = ra.len().min(rb.len()) / 4 * 4;
                let (ha, ta) = ra.split_at(n);
                let (hb, tb) = rb.split_at(n);
                for (wa, wb) in ha.chunks_exact(4).zip(hb.chunks_exact(4)) {
                    sa.round(word(wa));
                    sb.round(word(wb));
                }
                (*ra, *rb) = (ta, tb);
                if ra.len() < 4 {
                    set(*ia, sa.finish(xa));
                    a = qa.next().map(start);
                }
                if rb.len() < 4 {
                    set(*ib, sb.finish(xb));
                    b = qb.next().map(start);
                }
            }
            (Some((i, x, rest, st)), None) | (None, Some((i, x, rest, st))) => {
                st.rounds(rest);
                set(*i, st.finish(x));
                for (i, x) in qa.by_ref().chain(qb.by_ref()) {
                    set(i, marvin32(seed, x));
                }
                break;
            }
            (None, None) => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_bytes() {
        assert_eq!(REGISTRY_SEED.to_be_bytes(), [0x82, 0xEF, 0x4D, 0x88, 0x7A, 0x4E, 0x55, 0xC5]);
    }

    /// Marvin32 as written in the spec: five dependent steps per word, no reordering.
    fn textbook(seed: u64, data: &[u8]) -> u64 {
        let (mut lo, mut hi) = (seed as u32, (seed >> 32) as u32);
        let mut words = data.chunks_exact(4);
        for w in &mut words {
            lo = lo.wrapping_add(u32::from_le_bytes(w.try_into().unwrap()));
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

    proptest::proptest! {
        #[test]
        fn reordered_rounds_equal_the_textbook(seed: u64, inputs in proptest::collection::vec(proptest::collection::vec(0u8.., 0..600), 0..9)) {
            let refs: Vec<&[u8]> = inputs.iter().map(|v| &v[..]).collect();
            let want: Vec<u64> = refs.iter().map(|x| textbook(seed, x)).collect();
            let one: Vec<u64> = refs.iter().map(|x| marvin32(seed, x)).collect();
            proptest::prop_assert_eq!(&one, &want);
            proptest::prop_assert_eq!(marvin32_many(seed, &refs), want);
        }
    }

    #[test]
    fn many_equals_one_by_one() {
        // Lengths around the group size and the word size, so every path through the groups,
        // the interleaved words, the leftover words and the tails is taken.
        let data: Vec<u8> = (0..300u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for n in 0..11 {
            let inputs: Vec<&[u8]> = (0..n).map(|i| &data[i * 7 % 13..(i * 37 + 5) % 290]).collect();
            let one: Vec<u64> = inputs.iter().map(|x| marvin32(REGISTRY_SEED, x)).collect();
            assert_eq!(marvin32_many(REGISTRY_SEED, &inputs), one, "{n} inputs");
            assert_eq!(marvin32_many(0x1234, &inputs), inputs.iter().map(|x| marvin32(0x1234, x)).collect::<Vec<_>>());
        }
    }

    #[test]
    fn published_vectors() {
        // The test vectors .NET publishes for its Marvin implementation (seed 0x004FB61A001BDBCC,
        // inputs of 0 to 7 bytes, results as hi << 32 | lo): they pin the rounds and every tail
        // length independently of the registry's logs.
        let seed = 0x004F_B61A_001B_DBCC;
        let cases: [(&[u8], u64); 8] = [
            (b"", 0x30ED_35C1_00CD_3C7D),
            (&[0xaf], 0x48E7_3FC7_7D75_DDC1),
            (&[0xe7, 0x0f], 0xB5F6_E1FC_485D_BFF8),
            (&[0x37, 0xf4, 0x95], 0xF0B0_7C78_9B8C_F7E8),
            (&[0x86, 0x42, 0xdc, 0x59], 0x7008_F2E8_7E9C_F556),
            (&[0x15, 0x3f, 0xb7, 0x98, 0x26], 0xE6C0_8C6D_A2AF_A997),
            (&[0x09, 0x32, 0xe6, 0x24, 0x6c, 0x47], 0x6F04_BF1A_5EA2_4060),
            (&[0xab, 0x42, 0x7e, 0xa8, 0xd1, 0x0f, 0xc7], 0xE118_47E4_F067_8C41),
        ];
        for (input, want) in cases {
            assert_eq!(marvin32(seed, input), want, "{input:02x?}");
        }
        let inputs: Vec<&[u8]> = cases.iter().map(|c| c.0).collect();
        assert_eq!(marvin32_many(seed, &inputs), cases.map(|c| c.1));
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
