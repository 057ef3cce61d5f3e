//! Little-endian field access that cannot panic: every read of a field an image controls goes
//! through these and yields `None` when the field lies outside the buffer.

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

pub(crate) fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes(b, off, 8)?.try_into().ok()?))
}

/// An unsigned little-endian number of 0 to 8 bytes (as data runs store them).
pub(crate) fn uint_var(b: &[u8]) -> Option<u64> {
    let mut a = [0u8; 8];
    a.get_mut(..b.len())?.copy_from_slice(b);
    Some(u64::from_le_bytes(a))
}

/// A signed (two's complement, sign-extended) little-endian number of 1 to 8 bytes.
pub(crate) fn int_var(b: &[u8]) -> Option<i64> {
    let negative = b.last().is_some_and(|&top| top & 0x80 != 0);
    let mut a = if negative { [0xFFu8; 8] } else { [0u8; 8] };
    a.get_mut(..b.len())?.copy_from_slice(b);
    Some(i64::from_le_bytes(a))
}

/// UTF-16LE code units of a name (an odd trailing byte is ignored; callers pass even lengths).
pub(crate) fn utf16(b: &[u8]) -> Vec<u16> {
    b.chunks_exact(2)
        .map(|c| u16::from_le_bytes([c.first().copied().unwrap_or(0), c.get(1).copied().unwrap_or(0)]))
        .collect()
}

/// A name for messages: UTF-16 decoded, unpaired surrogates as U+FFFD.
pub(crate) fn name_string(units: &[u16]) -> String {
    char::decode_utf16(units.iter().copied()).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)).collect()
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    #[test]
    fn variable_width_numbers() {
        assert_eq!(uint_var(&[]), Some(0));
        assert_eq!(uint_var(&[0x34, 0x12]), Some(0x1234));
        assert_eq!(uint_var(&[0xFF; 9]), None);
        assert_eq!(int_var(&[0xFF]), Some(-1));
        assert_eq!(int_var(&[0x00, 0x80]), Some(-32768));
        assert_eq!(int_var(&[0x7F]), Some(127));
        assert_eq!(int_var(&[1, 2, 3, 4, 5, 6, 7, 0x80]), Some(i64::from_le_bytes([1, 2, 3, 4, 5, 6, 7, 0x80])));
    }

    #[test]
    fn fields_outside_are_none() {
        let b = [1u8, 2, 3];
        assert_eq!(u16_at(&b, 1), Some(0x0302));
        assert_eq!(u16_at(&b, 2), None);
        assert_eq!(u64_at(&b, usize::MAX), None);
        assert_eq!(bytes(&b, usize::MAX, 2), None);
    }
}
