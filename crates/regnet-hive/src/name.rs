//! Key and value names, and the case-insensitive comparison Windows uses.

use crate::upcase::upcase;
use serde::{Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

/// A key or value name as stored: Latin-1 ("compressed") or UTF-16LE.
///
/// The bytes are borrowed from the hive. [`Name::to_string_lossy`] decodes
/// them; compressed names are Latin-1 (byte 0x9F is U+009F, not cp1252's Ÿ),
/// and unpaired UTF-16 surrogates become U+FFFD.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Name<'h> {
    /// One byte per character, Latin-1.
    Latin1(&'h [u8]),
    /// UTF-16LE code units (an odd trailing byte is ignored).
    Utf16(&'h [u8]),
}

impl<'h> Name<'h> {
    /// The raw bytes as stored.
    pub fn raw(&self) -> &'h [u8] {
        match self {
            Name::Latin1(b) | Name::Utf16(b) => b,
        }
    }

    /// True for the empty name (the default value of a key).
    pub fn is_empty(&self) -> bool {
        self.raw().len() < if matches!(self, Name::Utf16(_)) { 2 } else { 1 }
    }

    /// The name as UTF-16 code units.
    pub fn code_units(&self) -> impl Iterator<Item = u16> + 'h {
        let (latin, bytes) = match *self {
            Name::Latin1(b) => (true, b),
            Name::Utf16(b) => (false, b),
        };
        let n = if latin { bytes.len() } else { bytes.len() / 2 };
        (0..n).map(move |i| {
            if latin {
                bytes.get(i).map_or(0, |&b| u16::from(b))
            } else {
                let lo = bytes.get(2 * i).copied().unwrap_or(0);
                let hi = bytes.get(2 * i + 1).copied().unwrap_or(0);
                u16::from_le_bytes([lo, hi])
            }
        })
    }

    /// Decodes the name; borrowed when it is pure ASCII.
    pub fn to_string_lossy(&self) -> Cow<'h, str> {
        match *self {
            Name::Latin1(b) => {
                if b.is_ascii() {
                    // ASCII is valid UTF-8.
                    match std::str::from_utf8(b) {
                        Ok(s) => Cow::Borrowed(s),
                        Err(_) => Cow::Owned(b.iter().map(|&c| char::from(c)).collect()),
                    }
                } else {
                    Cow::Owned(b.iter().map(|&c| char::from(c)).collect())
                }
            }
            Name::Utf16(_) => Cow::Owned(
                char::decode_utf16(self.code_units()).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)).collect(),
            ),
        }
    }

    /// Appends the decoded name to `out` (as [`Name::to_string_lossy`] decodes it, without making a
    /// string of its own).
    ///
    /// ```
    /// use regnet_hive::Name;
    /// let mut path = String::from("\\");
    /// Name::Latin1(b"Tcpip").push_to(&mut path);
    /// Name::Utf16(&[0x41, 0, 0x3a9_u16 as u8, 0x03]).push_to(&mut path);
    /// assert_eq!(path, "\\TcpipAΩ");
    /// ```
    pub fn push_to(&self, out: &mut String) {
        match *self {
            Name::Latin1(b) => match std::str::from_utf8(b) {
                Ok(s) if b.is_ascii() => out.push_str(s),
                _ => out.extend(b.iter().map(|&c| char::from(c))),
            },
            Name::Utf16(_) => {
                out.extend(char::decode_utf16(self.code_units()).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)))
            }
        }
    }

    /// Compares with `other` the way Windows compares registry names:
    /// code unit by code unit after upper-casing both.
    ///
    /// ```
    /// use regnet_hive::Name;
    /// assert!(Name::Latin1(b"HostName").eq_ignore_case("hostname"));
    /// assert!(Name::Latin1(b"\xe9t\xe9").eq_ignore_case("ÉTÉ"));
    /// assert!(!Name::Latin1(b"abc").eq_ignore_case("abcd"));
    /// ```
    pub fn eq_ignore_case(&self, other: &str) -> bool {
        let mut a = self.code_units();
        let mut b = other.encode_utf16();
        loop {
            match (a.next(), b.next()) {
                (None, None) => return true,
                (Some(x), Some(y)) => {
                    if x != y && upcase(x) != upcase(y) {
                        return false;
                    }
                }
                _ => return false,
            }
        }
    }

    /// Compares two stored names case-insensitively (see [`Name::eq_ignore_case`]).
    pub fn eq_name_ignore_case(&self, other: &Name<'_>) -> bool {
        let mut a = self.code_units();
        let mut b = other.code_units();
        loop {
            match (a.next(), b.next()) {
                (None, None) => return true,
                (Some(x), Some(y)) => {
                    if x != y && upcase(x) != upcase(y) {
                        return false;
                    }
                }
                _ => return false,
            }
        }
    }
}

impl fmt::Debug for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string_lossy(), f)
    }
}

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl Serialize for Name<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string_lossy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upcase_rules() {
        assert_eq!(upcase(u16::from(b'a')), u16::from(b'A'));
        assert_eq!(upcase(0xE9), 0xC9); // é -> É
        assert_eq!(upcase(0xFF), 0x178); // ÿ -> Ÿ
        assert_eq!(upcase(0xDF), 0xDF); // ß stays
        assert_eq!(upcase(0x3C3), 0x3A3); // σ -> Σ
        assert_eq!(upcase(0x430), 0x410); // а -> А
        assert_eq!(upcase(0xD800), 0xD800);
        assert_eq!(upcase(0xB5), 0xB5); // µ stays on Windows
        assert_eq!(upcase(0x131), 0x131); // ı stays on Windows
    }

    #[test]
    fn decode() {
        assert_eq!(Name::Latin1(b"\x9f").to_string_lossy(), "\u{9f}");
        assert_eq!(Name::Utf16(&[0x78, 0x01]).to_string_lossy(), "Ÿ");
        assert_eq!(Name::Utf16(&[0x00, 0xD8, 0x41, 0x00]).to_string_lossy(), "\u{fffd}A");
        assert!(Name::Utf16(&[0x41, 0x00]).eq_name_ignore_case(&Name::Latin1(b"a")));
        assert!(Name::Latin1(b"").is_empty());
        assert!(Name::Utf16(&[0]).is_empty());
    }
}
