//! Windows times in the hives: key last-written times (FILETIME), SYSTEMTIME values written in
//! local time (NetworkList dates), and the machine's time zone from the SYSTEM hive.

use crate::history::{TimeZoneRule, TransitionRule};
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
    os.time_zone_rule = zone_rule(r, &k, &path);
    os
}

/// `Bias`, `StandardBias`, `DaylightBias` and the two yearly transitions; `None` without a `Bias`
/// or with a value out of range (a warning).
fn zone_rule(r: &mut Reader, k: &Key<'_>, path: &str) -> Option<TimeZoneRule> {
    let bias = r.dword(k, path, "Bias")? as i32;
    let standard_bias = r.dword(k, path, "StandardBias").map_or(0, |b| b as i32);
    let daylight_bias = r.dword(k, path, "DaylightBias").map_or(0, |b| b as i32);
    let limit = 14 * 60;
    if [bias, standard_bias, daylight_bias].iter().any(|b| b.unsigned_abs() > limit)
        || (bias + standard_bias).unsigned_abs() > limit
        || (bias + daylight_bias).unsigned_abs() > limit
    {
        r.warn("bad_value", "time zone biases out of range; no time zone rule", Some(path), Some("Bias"));
        return None;
    }
    let mut transition = |name: &str| -> std::result::Result<Option<TransitionRule>, ()> {
        let Some(b) = r.binary(k, path, name) else { return Ok(None) };
        let w: Vec<u16> = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        match w.as_slice() {
            [_, 0, ..] if w.len() == 8 => Ok(None), // month 0: no daylight saving time
            [0, mo @ 1..=12, wd @ 0..=6, wk @ 1..=5, h @ 0..=23, mi @ 0..=59, _, _] => Ok(Some(TransitionRule {
                month: *mo as u8,
                week: *wk as u8,
                weekday: *wd as u8,
                hour: *h as u8,
                minute: *mi as u8,
            })),
            _ => {
                r.warn(
                    "bad_value",
                    "not a yearly transition rule (a 16-byte SYSTEMTIME with year 0); no time zone rule",
                    Some(path),
                    Some(name),
                );
                Err(())
            }
        }
    };
    let standard_start = transition("StandardStart").ok()?;
    let daylight_start = transition("DaylightStart").ok()?;
    let (standard_start, daylight_start) = match (standard_start, daylight_start) {
        (Some(s), Some(d)) => (Some(s), Some(d)),
        _ => (None, None),
    };
    Some(TimeZoneRule { bias, standard_bias, daylight_bias, standard_start, daylight_start })
}

/// How local time is turned into UTC: the zone's rule when the SYSTEM hive gives one, else the
/// offset in effect when it was last written.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Zone {
    pub rule: Option<TimeZoneRule>,
    pub offset: Option<i32>,
}

impl Zone {
    pub(crate) fn of(os: Option<&OsInfo>) -> Zone {
        os.map_or(Zone::default(), |o| Zone { rule: o.time_zone_rule, offset: o.utc_offset_minutes })
    }

    /// Local minus UTC, in minutes, at the local time `days` (since 1970) + `minute` of the day.
    fn offset_at(&self, y: i64, days: i64, minute: i64) -> Option<i32> {
        let Some(rule) = self.rule else { return self.offset };
        let dst = match (rule.daylight_start, rule.standard_start) {
            (Some(ds), Some(ss)) => {
                let t = days * 1440 + minute;
                let (start, end) = (transition_at(y, ds), transition_at(y, ss));
                if start < end {
                    t >= start && t < end
                } else {
                    t >= start || t < end
                }
            }
            _ => false,
        };
        Some(-(rule.bias + if dst { rule.daylight_bias } else { rule.standard_bias }))
    }
}

/// The local minute (since 1970) of a yearly transition in year `y`.
fn transition_at(y: i64, r: TransitionRule) -> i64 {
    let month = u32::from(r.month);
    let first = days_from_civil(y, month, 1);
    let first_weekday = (first + 4).rem_euclid(7); // 1970-01-01 was a Thursday
    let mut day = 1 + (i64::from(r.weekday) - first_weekday).rem_euclid(7) + (i64::from(r.week) - 1) * 7;
    while day > i64::from(days_in_month(y, month)) {
        day -= 7;
    }
    (first + day - 1) * 1440 + i64::from(r.hour) * 60 + i64::from(r.minute)
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
/// little-endian u16) written in local time, in `zone`.
pub(crate) fn systemtime(b: &[u8], zone: &Zone) -> SystemTime {
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
    let days = days_from_civil(i64::from(y), u32::from(mo), u32::from(d));
    let utc = zone.offset_at(i64::from(y), days, i64::from(h) * 60 + i64::from(mi)).and_then(|off| {
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
        let fixed = |m| Zone { rule: None, offset: Some(m) };
        let b = st(2024, 3, 2, 5, 14, 22, 10, 500);
        assert_eq!(
            systemtime(&b, &fixed(60)),
            SystemTime::Date { local: "2024-03-05T14:22:10".into(), utc: Some("2024-03-05T13:22:10Z".into()) }
        );
        // West of UTC, across midnight and a leap day.
        assert_eq!(
            systemtime(&st(2024, 2, 4, 29, 20, 0, 0, 0), &fixed(-300)),
            SystemTime::Date { local: "2024-02-29T20:00:00".into(), utc: Some("2024-03-01T01:00:00Z".into()) }
        );
        assert_eq!(
            systemtime(&b, &Zone::default()),
            SystemTime::Date { local: "2024-03-05T14:22:10".into(), utc: None }
        );
        for bad in [
            st(2023, 2, 0, 29, 0, 0, 0, 0),
            st(2024, 13, 0, 1, 0, 0, 0, 0),
            st(0, 1, 0, 1, 0, 0, 0, 0),
            st(2024, 1, 0, 1, 24, 0, 0, 0),
            st(65535, 65535, 65535, 65535, 65535, 65535, 65535, 65535),
        ] {
            match systemtime(&bad, &fixed(0)) {
                SystemTime::Impossible { raw, .. } => assert_eq!(raw.len(), 32),
                d => panic!("{d:?}"),
            }
        }
        assert!(matches!(systemtime(&[1, 2, 3], &fixed(0)), SystemTime::Impossible { raw, .. } if raw == "010203"));
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(unix_utc(1_700_000_000).as_deref(), Some("2023-11-14T22:13:20Z"));
        assert_eq!(unix_utc(0), None);
        assert_eq!(filetime_utc(u64::MAX), None);
    }

    #[test]
    fn daylight_saving_time_by_the_zone_rule() {
        // W. Europe: UTC+1, DST from the last Sunday of March 02:00 to the last Sunday of October 03:00.
        let rule = TimeZoneRule {
            bias: -60,
            standard_bias: 0,
            daylight_bias: -60,
            standard_start: Some(TransitionRule { month: 10, week: 5, weekday: 0, hour: 3, minute: 0 }),
            daylight_start: Some(TransitionRule { month: 3, week: 5, weekday: 0, hour: 2, minute: 0 }),
        };
        let z = Zone { rule: Some(rule), offset: Some(60) };
        let utc = |b: Vec<u8>| match systemtime(&b, &z) {
            SystemTime::Date { utc, .. } => utc.unwrap(),
            d => panic!("{d:?}"),
        };
        // 2024: DST from 31 March to 27 October.
        assert_eq!(utc(st(2024, 7, 4, 4, 6, 55, 30, 0)), "2024-07-04T04:55:30Z");
        assert_eq!(utc(st(2024, 12, 0, 1, 22, 5, 59, 0)), "2024-12-01T21:05:59Z");
        assert_eq!(utc(st(2024, 3, 0, 31, 1, 59, 0, 0)), "2024-03-31T00:59:00Z");
        assert_eq!(utc(st(2024, 3, 0, 31, 3, 0, 0, 0)), "2024-03-31T01:00:00Z");
        assert_eq!(utc(st(2024, 10, 0, 27, 3, 0, 0, 0)), "2024-10-27T02:00:00Z");
        // Southern hemisphere (AUS Eastern: UTC+10, DST from the first Sunday of October to the
        // first Sunday of April): January is summer.
        let aus = TimeZoneRule {
            bias: -600,
            standard_bias: 0,
            daylight_bias: -60,
            standard_start: Some(TransitionRule { month: 4, week: 1, weekday: 0, hour: 3, minute: 0 }),
            daylight_start: Some(TransitionRule { month: 10, week: 1, weekday: 0, hour: 2, minute: 0 }),
        };
        let z = Zone { rule: Some(aus), offset: None };
        let utc = |b: Vec<u8>| match systemtime(&b, &z) {
            SystemTime::Date { utc, .. } => utc.unwrap(),
            d => panic!("{d:?}"),
        };
        assert_eq!(utc(st(2024, 1, 1, 15, 12, 0, 0, 0)), "2024-01-15T01:00:00Z");
        assert_eq!(utc(st(2024, 7, 1, 15, 12, 0, 0, 0)), "2024-07-15T02:00:00Z");
        // The last Thursday of February 2024 is the 29th.
        let last = TransitionRule { month: 2, week: 5, weekday: 4, hour: 0, minute: 0 };
        assert_eq!(transition_at(2024, last) / 1440, days_from_civil(2024, 2, 29));
    }
}
