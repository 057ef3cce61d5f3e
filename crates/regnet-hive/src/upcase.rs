//! Windows-style uppercasing of UTF-16 code units, as the registry uses it to compare names.
//!
//! Windows compares registry names code unit by code unit after uppercasing each with its own table
//! (`RtlUpcaseUnicodeChar`), which is not the current Unicode simple uppercase mapping:
//!
//! * it predates many mappings Unicode added later (Georgian Mtavruli, Cherokee lowercase, newer
//!   Latin letters in U+A7xx, ...);
//! * it leaves alone the "compatibility" lowercase letters whose uppercase is an ordinary letter
//!   (µ, ı, ſ, final ς, the Greek symbol variants ϐ ϑ ϕ ϖ ϰ ϱ ϵ, titlecase digraphs such as ǅ);
//! * it maps the Greek letters with ypogegrammeni (ᾀ...) to their titlecase forms (ᾈ...), for which
//!   Unicode only has a multi-character full uppercase mapping.
//!
//! The rule here is "Rust's `char::to_uppercase` when it yields a single BMP character, except for
//! the ranges in `NOT_UPPERCASED`, plus the ypogegrammeni titlecase mappings". It was checked code
//! point by code point against the `$UpCase` table of an NTFS volume formatted by Windows (generated
//! from the same casing data); regnet-testkit's `upcase_matches_windows_ntfs_table` test repeats the
//! check whenever the corpus image and ntfs-3g are present, so a Unicode update in the standard
//! library that adds a mapping is noticed.

/// Inclusive code point ranges that Rust's `char::to_uppercase` maps but Windows leaves unchanged.
/// Only lowercase letters in these ranges matter; uppercase letters inside a range map to
/// themselves either way.
const NOT_UPPERCASED: &[(u16, u16)] = &[
    (0x00B5, 0x00B5),
    (0x0131, 0x0131),
    (0x017F, 0x017F),
    (0x019B, 0x019B),
    (0x01C5, 0x01C5),
    (0x01C8, 0x01C8),
    (0x01CB, 0x01CB),
    (0x01F2, 0x01F2),
    (0x023F, 0x0240),
    (0x0252, 0x0252),
    (0x025C, 0x025C),
    (0x0261, 0x0261),
    (0x0264, 0x0266),
    (0x026A, 0x026A),
    (0x026C, 0x026C),
    (0x0282, 0x0282),
    (0x0287, 0x0287),
    (0x029D, 0x029E),
    (0x0345, 0x0345),
    (0x03C2, 0x03C2),
    (0x03D0, 0x03D1),
    (0x03D5, 0x03D6),
    (0x03F0, 0x03F1),
    (0x03F3, 0x03F5),
    (0x0525, 0x052F),
    (0x10D0, 0x10FA),
    (0x10FD, 0x10FF),
    (0x13F8, 0x13FD),
    (0x1C80, 0x1C8A),
    (0x1D8E, 0x1D8E),
    (0x1E9B, 0x1E9B),
    (0x1FBE, 0x1FBE),
    (0x2C5F, 0x2C5F),
    (0x2CEC, 0x2CEE),
    (0x2CF3, 0x2CF3),
    (0x2D27, 0x2D27),
    (0x2D2D, 0x2D2D),
    (0xA661, 0xA661),
    (0xA699, 0xA69B),
    (0xA791, 0xA794),
    (0xA797, 0xA7A9),
    (0xA7B5, 0xA7C3),
    (0xA7C8, 0xA7CA),
    (0xA7CD, 0xA7DB),
    (0xA7F6, 0xA7F6),
    (0xAB53, 0xAB53),
    (0xAB70, 0xABBF),
];

/// Uppercases one UTF-16 code unit the way Windows does for registry names (see the module
/// documentation).
///
/// Surrogate code units are returned unchanged: Windows uppercases code units, not code points, so
/// characters outside the BMP never change case in registry names.
pub fn upcase(unit: u16) -> u16 {
    // Greek letters with ypogegrammeni (or prosgegrammeni): Windows maps them to the titlecase
    // letter, 8 code points up (or to the single titlecase letter for U+1FB3/1FC3/1FF3).
    match unit {
        0x1F80..=0x1F87 | 0x1F90..=0x1F97 | 0x1FA0..=0x1FA7 => return unit + 8,
        0x1FB3 | 0x1FC3 | 0x1FF3 => return unit + 9,
        _ => {}
    }
    if unit < 0x80 {
        return if (u16::from(b'a')..=u16::from(b'z')).contains(&unit) { unit - 32 } else { unit };
    }
    // The ranges are sorted and disjoint: find the last one starting at or below `unit`.
    let i = NOT_UPPERCASED.partition_point(|&(lo, _)| lo <= unit);
    if i > 0 && NOT_UPPERCASED.get(i - 1).is_some_and(|&(_, hi)| unit <= hi) {
        return unit;
    }
    let Some(c) = char::from_u32(u32::from(unit)) else {
        return unit; // a surrogate
    };
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) => u16::try_from(u32::from(u)).unwrap_or(unit),
        // A multi-character full mapping (ß -> SS, ŉ -> ʼN, ...) has no single-unit equivalent:
        // Windows keeps the unit.
        _ => unit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(c: char) -> char {
        char::from_u32(u32::from(upcase(c as u16))).unwrap()
    }

    #[test]
    fn ascii_and_latin1() {
        assert_eq!(up('a'), 'A');
        assert_eq!(up('z'), 'Z');
        assert_eq!(up('A'), 'A');
        assert_eq!(up('1'), '1');
        assert_eq!(up('é'), 'É');
        assert_eq!(up('þ'), 'Þ');
        assert_eq!(up('÷'), '÷');
        // ÿ has its uppercase outside Latin-1: a compressed name can uppercase to a non-Latin-1
        // unit.
        assert_eq!(up('ÿ'), 'Ÿ');
        // No single-unit uppercase on Windows.
        assert_eq!(up('ß'), 'ß');
        assert_eq!(up('µ'), 'µ');
        assert_eq!(upcase(0x9F), 0x9F);
    }

    #[test]
    fn other_scripts() {
        assert_eq!(up('ж'), 'Ж');
        assert_eq!(up('ω'), 'Ω');
        assert_eq!(up('ς'), 'ς');
        assert_eq!(up('ı'), 'ı');
        assert_eq!(up('ǆ'), 'Ǆ');
        assert_eq!(up('ǅ'), 'ǅ');
        assert_eq!(up('ᾀ'), 'ᾈ');
        assert_eq!(up('ᾳ'), 'ᾼ');
        assert_eq!(up('ა'), 'ა'); // Georgian Mkhedruli: no Mtavruli mapping on Windows
        assert_eq!(up('中'), '中');
        assert_eq!(upcase(0xD83D), 0xD83D);
        assert_eq!(upcase(0xDE00), 0xDE00);
    }
}
