//! Little-endian field access that cannot panic: a field outside its buffer is `None`.

/// `len` bytes at `off`, if they are all inside `b`.
pub(crate) fn bytes(b: &[u8], off: usize, len: usize) -> Option<&[u8]> {
    b.get(off..off.checked_add(len)?)
}

pub(crate) fn u8_at(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

pub(crate) fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes(b, off, 2)?.try_into().ok()?))
}

pub(crate) fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes(b, off, 4)?.try_into().ok()?))
}

/// `a / b`, 0 when `b` is 0 (callers have checked `b`; this keeps the arithmetic total).
pub(crate) fn div(a: u64, b: u64) -> u64 {
    a.checked_div(b).unwrap_or(0)
}

/// `a % b`, 0 when `b` is 0.
pub(crate) fn rem(a: u64, b: u64) -> u64 {
    a.checked_rem(b).unwrap_or(0)
}
