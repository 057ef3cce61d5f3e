//! Case-insensitive name comparison as NTFS does it: both names are mapped through the volume's
//! `$UpCase` table (record 10: 65536 little-endian u16, one per UTF-16 code unit), then compared
//! code unit by code unit, a shorter name sorting first when one is a prefix of the other.

use std::cmp::Ordering;

/// Size of a `$UpCase` table in bytes.
pub(crate) const UPCASE_BYTES: usize = 65536 * 2;

/// The upper-case mapping of a volume.
#[derive(Debug, Clone)]
pub(crate) struct UpCase {
    /// The volume's table, or `None` for the built-in fallback.
    table: Option<Vec<u16>>,
}

impl UpCase {
    /// The volume's table from the bytes of `$UpCase`; `None` unless it is exactly 128 KiB.
    pub(crate) fn from_bytes(b: &[u8]) -> Option<UpCase> {
        (b.len() == UPCASE_BYTES).then(|| UpCase { table: Some(super::le::utf16(b)) })
    }

    /// Used when `$UpCase` cannot be read: Unicode simple upper-casing of BMP characters, which
    /// agrees with Windows' table for the letters file names use in practice.
    pub(crate) fn fallback() -> UpCase {
        UpCase { table: None }
    }

    pub(crate) fn is_fallback(&self) -> bool {
        self.table.is_none()
    }

    pub(crate) fn up(&self, u: u16) -> u16 {
        match &self.table {
            Some(t) => t.get(usize::from(u)).copied().unwrap_or(u),
            None => {
                let Some(c) = char::from_u32(u32::from(u)) else { return u };
                let mut up = c.to_uppercase();
                match (up.next(), up.next()) {
                    (Some(one), None) => u16::try_from(u32::from(one)).unwrap_or(u),
                    _ => u,
                }
            }
        }
    }

    /// Orders two names as a file-name index does.
    pub(crate) fn compare(&self, a: &[u16], b: &[u16]) -> Ordering {
        for (&x, &y) in a.iter().zip(b) {
            match self.up(x).cmp(&self.up(y)) {
                Ordering::Equal => {}
                other => return other,
            }
        }
        a.len().cmp(&b.len())
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    #[test]
    fn fallback_compares_case_insensitively() {
        let u = UpCase::fallback();
        assert_eq!(u.compare(&w("system"), &w("SYSTEM")), Ordering::Equal);
        assert_eq!(u.compare(&w("ärger"), &w("ÄRGER")), Ordering::Equal);
        assert_eq!(u.compare(&w("SYSTEM"), &w("SYSTEM.LOG1")), Ordering::Less);
        assert_eq!(u.compare(&w("b"), &w("A")), Ordering::Greater);
        // ß upper-cases to two characters, so it stays itself; lone surrogates stay themselves.
        assert_eq!(u.up(0x00DF), 0x00DF);
        assert_eq!(u.up(0xD800), 0xD800);
    }

    #[test]
    fn table_is_used_when_present() {
        let mut t = vec![0u8; UPCASE_BYTES];
        for i in 0..65536usize {
            let v = if i == usize::from(b'q') { u16::from(b'Z') } else { u16::try_from(i).unwrap() };
            t[2 * i..2 * i + 2].copy_from_slice(&v.to_le_bytes());
        }
        let u = UpCase::from_bytes(&t).unwrap();
        assert_eq!(u.up(u16::from(b'q')), u16::from(b'Z'));
        assert_eq!(u.up(u16::from(b'a')), u16::from(b'a'));
        assert!(UpCase::from_bytes(&t[..100]).is_none());
    }
}
