//! Big-endian fields at byte offsets of a buffer: `None` when the field runs past its end.

pub(crate) fn u8_at(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

pub(crate) fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_be_bytes(s.try_into().ok()?))
}

pub(crate) fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes(s.try_into().ok()?))
}

pub(crate) fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(8)?)?;
    Some(u64::from_be_bytes(s.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_past_the_end_are_none() {
        let b = [1u8, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(u8_at(&b, 7), Some(8));
        assert_eq!(u16_at(&b, 6), Some(0x0708));
        assert_eq!(u32_at(&b, 4), Some(0x0506_0708));
        assert_eq!(u64_at(&b, 0), Some(0x0102_0304_0506_0708));
        assert_eq!(u8_at(&b, 8), None);
        assert_eq!(u16_at(&b, 7), None);
        assert_eq!(u32_at(&b, 5), None);
        assert_eq!(u64_at(&b, 1), None);
        assert_eq!(u64_at(&b, usize::MAX), None);
    }
}
