//! Segment file names: `.E01` … `.E99`, then `.EAA` … `.EZZ`, `.FAA` … `.ZZZ` (the same for
//! `.s01` SMART sets), keeping the case of the first segment's extension.

/// The file name of segment `n` (1-based) of the set whose first segment is `first` (a file
/// name, no folder), or `None` when `first` has no `.X01` extension or `n` is past `.ZZZ`.
pub(crate) fn name(first: &str, n: u32) -> Option<String> {
    let (stem, ext) = first.rsplit_once('.')?;
    let b = ext.as_bytes();
    let [lead, b'0', b'1'] = b else { return None };
    if !lead.is_ascii_alphabetic() {
        return None;
    }
    let lower = lead.is_ascii_lowercase();
    let ext = if (1..=99).contains(&n) {
        format!("{}{n:02}", char::from(*lead))
    } else {
        let k = n.checked_sub(100)?;
        let first_letter = u32::from(lead.to_ascii_uppercase() - b'A') + k / (26 * 26);
        if first_letter >= 26 || n == 0 {
            return None;
        }
        let letters = [first_letter, k / 26 % 26, k % 26].map(|i| {
            let c = char::from(b'A' + i as u8);
            if lower {
                c.to_ascii_lowercase()
            } else {
                c
            }
        });
        letters.iter().collect()
    };
    Some(format!("{stem}.{ext}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_order() {
        assert_eq!(name("disk.E01", 1).as_deref(), Some("disk.E01"));
        assert_eq!(name("disk.E01", 2).as_deref(), Some("disk.E02"));
        assert_eq!(name("disk.E01", 99).as_deref(), Some("disk.E99"));
        assert_eq!(name("disk.E01", 100).as_deref(), Some("disk.EAA"));
        assert_eq!(name("disk.E01", 101).as_deref(), Some("disk.EAB"));
        assert_eq!(name("disk.E01", 126).as_deref(), Some("disk.EBA"));
        assert_eq!(name("disk.E01", 100 + 676).as_deref(), Some("disk.FAA"));
        assert_eq!(name("a.b.e01", 100).as_deref(), Some("a.b.eaa"));
        assert_eq!(name("x.s01", 2).as_deref(), Some("x.s02"));
        // Past .ZZZ, and names that are not a first segment.
        assert_eq!(name("disk.E01", 100 + 22 * 676 - 1).as_deref(), Some("disk.ZZZ"));
        assert_eq!(name("disk.E01", 100 + 22 * 676), None);
        assert_eq!(name("disk.E02", 2), None);
        assert_eq!(name("disk", 2), None);
        assert_eq!(name("disk.001", 2), None);
        assert_eq!(name("disk.E01", 0), None);
    }
}
