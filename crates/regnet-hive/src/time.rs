//! Windows FILETIME timestamps.

use serde::{Serialize, Serializer};
use std::fmt;

/// A Windows FILETIME: 100-nanosecond intervals since 1601-01-01 00:00:00 UTC.
///
/// Displayed (and serialised) as RFC 3339 UTC with whole seconds, e.g.
/// `2019-02-01T10:00:00Z`:
///
/// ```
/// use regnet_hive::FileTime;
/// assert_eq!(FileTime(0).to_string(), "1601-01-01T00:00:00Z");
/// assert_eq!(FileTime(116_444_736_000_000_000).to_string(), "1970-01-01T00:00:00Z");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileTime(pub u64);

const TICKS_PER_SEC: u64 = 10_000_000;
const SECS_PER_DAY: u64 = 86_400;
/// Days from 1601-01-01 to 1970-01-01.
const DAYS_1601_TO_1970: i64 = 134_774;

impl FileTime {
    /// Whole seconds since the Unix epoch (negative before 1970).
    pub fn unix_seconds(self) -> i64 {
        // u64::MAX / 10^7 fits an i64 comfortably.
        let secs = i64::try_from(self.0 / TICKS_PER_SEC).unwrap_or(i64::MAX);
        secs.saturating_sub(DAYS_1601_TO_1970.saturating_mul(SECS_PER_DAY as i64))
    }

    /// (year, month, day, hour, minute, second) in UTC.
    pub fn to_utc(self) -> (i64, u32, u32, u32, u32, u32) {
        let total = self.0 / TICKS_PER_SEC;
        let days = i64::try_from(total / SECS_PER_DAY).unwrap_or(i64::MAX);
        let sod = total % SECS_PER_DAY;
        let (y, m, d) = civil_from_days(days.saturating_sub(DAYS_1601_TO_1970));
        // sod < 86400, so these narrowings are exact.
        let h = u32::try_from(sod / 3600).unwrap_or(0);
        let mi = u32::try_from(sod % 3600 / 60).unwrap_or(0);
        let s = u32::try_from(sod % 60).unwrap_or(0);
        (y, m, d, h, mi, s)
    }
}

/// Proleptic Gregorian date from days since 1970-01-01 (Howard Hinnant's
/// well-known `civil_from_days` algorithm, re-derived here).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let y = if m <= 2 { y + 1 } else { y };
    (y, u32::try_from(m).unwrap_or(1), u32::try_from(d).unwrap_or(1))
}

impl fmt::Display for FileTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s) = self.to_utc();
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }
}

impl Serialize for FileTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        // 2019-02-01T10:00:00Z = unix 1549015200
        let ft = FileTime((1_549_015_200 + 11_644_473_600) * TICKS_PER_SEC + 1234);
        assert_eq!(ft.to_string(), "2019-02-01T10:00:00Z");
        assert_eq!(ft.unix_seconds(), 1_549_015_200);
        assert_eq!(FileTime((951_782_400 + 11_644_473_600) * TICKS_PER_SEC).to_string(), "2000-02-29T00:00:00Z");
        // Largest FILETIME still formats.
        assert_eq!(FileTime(u64::MAX).to_string(), "60056-05-28T05:36:10Z");
    }
}
