//! Windows times in the hives: key last-written times (FILETIME), SYSTEMTIME values written in
//! local time (NetworkList dates), and the machine's time zone from the SYSTEM hive.

use crate::read::Reader;
use crate::report::OsInfo;
use regnet_hive::{FileTime, Key};

/// Seconds from 1601-01-01 to 1970-01-01.
const EPOCH_1601: i64 = 11_644_473_600;

/// A key's last-written time as UTC RFC 3339; null for a zero time (never set) or one past 9999.
pub(crate) fn key_time(k: &Key<'_>) -> Option<String> {
    filetime_utc(k.last_written().0)
}

/// A FILETIME as UTC RFC 3339, when it is a date regnet can write (after 1601, before 10000).
pub(crate) fn filetime_utc(ft: u64) -> Option<String> {
    let t = FileTime(ft);
    (ft != 0 && t.to_utc().0 <= 9999).then(|| t.to_string())
}

/// Unix seconds as UTC RFC 3339 (0 and dates past 9999 are null).
pub(crate) fn unix_utc(secs: i64) -> Option<String> {
    if secs == 0 {
        return None;
    }
    let ft = secs.checked_add(EPOCH_1601)?.checked_mul(10_000_000)?;
    filetime_utc(u64::try_from(ft).ok()?)
}

/// The family and time zone of a Windows guest, from `ControlSet00N\Control\TimeZoneInformation`:
/// `TimeZoneKeyName` and `ActiveTimeBias` (else `Bias`), minutes that local time is behind UTC.
pub(crate) fn windows_os(r: &mut Reader, cs: &Key<'_>, cs_name: &str) -> OsInfo {
    let mut os = OsInfo { family: "windows".into(), ..OsInfo::default() };
    let path = format!("{cs_name}\\Control\\TimeZoneInformation");
    let Ok(k) = cs.subpath("Control\\TimeZoneInformation") else { return os };
    os.time_zone = r.string(&k, &path, "TimeZoneKeyName").or_else(|| r.string(&k, &path, "StandardName"));
    let (name, bias) = match r.dword(&k, &path, "ActiveTimeBias") {
        Some(b) => ("ActiveTimeBias", Some(b)),
        None => ("Bias", r.dword(&k, &path, "Bias")),
    };
    if let Some(b) = bias {
        // A signed DWORD; no zone is more than 14 hours from UTC.
        let minutes = b as i32;
        if minutes.unsigned_abs() <= 14 * 60 {
            os.utc_offset_minutes = Some(-minutes);
        } else {
            r.warn("bad_value", format!("{minutes} minutes is not a time zone bias; ignored"), Some(&path), Some(name));
        }
    }
    os
}

/// A SYSTEMTIME decoded: the local time as written, and UTC when the offset is known.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SystemTime {
    /// A possible date: `local` (`2024-03-05T14:22:10`) and, with an offset, `utc`.
    Date { local: String, utc: Option<String> },
    /// Not a possible date: the bytes in hex, and why.
    Impossible { raw: String, why: String },
}

/// Decodes a 16-byte SYSTEMTIME (year, month, day of week, day, hour, minute, second, ms: eight
/// little-endian u16) written in local time; `offset` is local minus UTC in minutes.
pub(crate) fn systemtime(b: &[u8], offset: Option<i32>) -> SystemTime {
    let raw = || b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    if b.len() != 16 {
        return SystemTime::Impossible { raw: raw(), why: format!("{} bytes, not the 16 of a SYSTEMTIME", b.len()) };
    }
    let w: Vec<u16> = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    let (y, mo, d, h, mi, s, ms) = (w[0], w[1], w[3], w[4], w[5], w[6], w[7]);
    let bad = if !(1601..=9999).contains(&y) {
        Some(format!("year {y}"))
    } else if !(1..=12).contains(&mo) {
        Some(format!("month {mo}"))
    } else if d == 0 || d > days_in_month(i64::from(y), u32::from(mo)) {
        Some(format!("day {d} of {y}-{mo:02}"))
    } else if h > 23 || mi > 59 || s > 59 || ms > 999 {
        Some(format!("time {h}:{mi}:{s}.{ms}"))
    } else {
        None
    };
    if let Some(why) = bad {
        return SystemTime::Impossible { raw: raw(), why };
    }
    let local = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
    let utc = offset.and_then(|off| {
        let days = days_from_civil(i64::from(y), u32::from(mo), u32::from(d));
        let secs = days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s) - i64::from(off) * 60;
        unix_utc(secs)
    });
    SystemTime::Date { local, utc }
}

fn days_in_month(y: i64, m: u32) -> u16 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of the hive crate's
/// `civil_from_days`, derived the same way).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::too_many_arguments)]
    fn st(y: u16, mo: u16, dow: u16, d: u16, h: u16, mi: u16, s: u16, ms: u16) -> Vec<u8> {
        [y, mo, dow, d, h, mi, s, ms].iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn systemtimes() {
        let b = st(2024, 3, 2, 5, 14, 22, 10, 500);
        assert_eq!(
            systemtime(&b, Some(60)),
            SystemTime::Date { local: "2024-03-05T14:22:10".into(), utc: Some("2024-03-05T13:22:10Z".into()) }
        );
        // West of UTC, across midnight and a leap day.
        assert_eq!(
            systemtime(&st(2024, 2, 4, 29, 20, 0, 0, 0), Some(-300)),
            SystemTime::Date { local: "2024-02-29T20:00:00".into(), utc: Some("2024-03-01T01:00:00Z".into()) }
        );
        assert_eq!(systemtime(&b, None), SystemTime::Date { local: "2024-03-05T14:22:10".into(), utc: None });
        for bad in [
            st(2023, 2, 0, 29, 0, 0, 0, 0),
            st(2024, 13, 0, 1, 0, 0, 0, 0),
            st(0, 1, 0, 1, 0, 0, 0, 0),
            st(2024, 1, 0, 1, 24, 0, 0, 0),
            st(65535, 65535, 65535, 65535, 65535, 65535, 65535, 65535),
        ] {
            match systemtime(&bad, Some(0)) {
                SystemTime::Impossible { raw, .. } => assert_eq!(raw.len(), 32),
                d => panic!("{d:?}"),
            }
        }
        assert!(matches!(systemtime(&[1, 2, 3], Some(0)), SystemTime::Impossible { raw, .. } if raw == "010203"));
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(unix_utc(1_700_000_000).as_deref(), Some("2023-11-14T22:13:20Z"));
        assert_eq!(unix_utc(0), None);
        assert_eq!(filetime_utc(u64::MAX), None);
    }
}
