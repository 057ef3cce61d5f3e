//! Checked little-endian field access over untrusted byte slices.
//!
//! Every read of the hive goes through these helpers, so a bad offset or
//! length becomes `None` instead of a panic. Callers turn `None` into a typed
//! error that names the structure and the byte offset.

/// `buf[off..off + len]`, or `None` when the range does not fit.
#[inline]
pub(crate) fn slice(buf: &[u8], off: usize, len: usize) -> Option<&[u8]> {
    let end = off.checked_add(len)?;
    buf.get(off..end)
}

#[inline]
pub(crate) fn u16_at(buf: &[u8], off: usize) -> Option<u16> {
    let b = slice(buf, off, 2)?;
    Some(u16::from_le_bytes([*b.first()?, *b.get(1)?]))
}

#[inline]
pub(crate) fn u32_at(buf: &[u8], off: usize) -> Option<u32> {
    let b: [u8; 4] = slice(buf, off, 4)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

#[inline]
pub(crate) fn i32_at(buf: &[u8], off: usize) -> Option<i32> {
    let b: [u8; 4] = slice(buf, off, 4)?.try_into().ok()?;
    Some(i32::from_le_bytes(b))
}

#[inline]
pub(crate) fn u64_at(buf: &[u8], off: usize) -> Option<u64> {
    let b: [u8; 8] = slice(buf, off, 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(b))
}

/// The first two bytes as a signature, for error messages.
#[inline]
pub(crate) fn sig2(buf: &[u8]) -> [u8; 2] {
    [buf.first().copied().unwrap_or(0), buf.get(1).copied().unwrap_or(0)]
}

/// The first four bytes as a signature, for error messages.
#[inline]
pub(crate) fn sig4(buf: &[u8]) -> [u8; 4] {
    let mut s = [0u8; 4];
    for (d, b) in s.iter_mut().zip(buf.iter()) {
        *d = *b;
    }
    s
}

/// Writes `v` at `buf[off..off + 4]` when it fits; returns whether it did.
#[inline]
pub(crate) fn put_u32(buf: &mut [u8], off: usize, v: u32) -> bool {
    match off.checked_add(4).and_then(|end| buf.get_mut(off..end)) {
        Some(dst) => {
            dst.copy_from_slice(&v.to_le_bytes());
            true
        }
        None => false,
    }
}

/// A `u32` offset or size widened to `usize` (lossless on every target regnet supports: 32- and 64-bit).
#[inline]
pub(crate) fn us(v: u32) -> usize {
    v as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_checked() {
        let b = [1u8, 2, 3, 4, 5];
        assert_eq!(u32_at(&b, 0), Some(0x0403_0201));
        assert_eq!(u32_at(&b, 2), None);
        assert_eq!(u32_at(&b, usize::MAX), None);
        assert_eq!(slice(&b, usize::MAX, 2), None);
        assert_eq!(u16_at(&b, 4), None);
        assert_eq!(sig2(&b[..1]), [1, 0]);
        assert_eq!(sig4(&b), [1, 2, 3, 4]);
        let mut m = [0u8; 6];
        assert!(put_u32(&mut m, 2, 0xAABB_CCDD));
        assert!(!put_u32(&mut m, 3, 1));
        assert_eq!(m, [0, 0, 0xDD, 0xCC, 0xBB, 0xAA]);
    }
}
