//! Windows-style uppercasing of UTF-16 code units (the shipped implementation lives in
//! `regnet_hive::upcase`; the writer uses the same rule so that its lists sort as Windows sorts).

/// Uppercases one UTF-16 code unit the way Windows does for registry names.
pub fn upcase_utf16_unit(unit: u16) -> u16 {
    regnet_hive::upcase(unit)
}

/// Uppercases a whole name given as UTF-16 code units, unit by unit.
pub fn upcase_utf16(units: &[u16]) -> Vec<u16> {
    units.iter().map(|&u| upcase_utf16_unit(u)).collect()
}
