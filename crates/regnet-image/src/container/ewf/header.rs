//! The `header2` (UTF-16) and `header` (ASCII) sections: zlib-compressed text tables of the
//! acquisition's case data.

use crate::container::cache::inflate_into;
use crate::error::{ImageError, Result};

/// The `main` category of a header: identifier → value, as written.
#[derive(Debug, Default, Clone)]
pub(crate) struct HeaderValues {
    pub(crate) pairs: Vec<(String, String)>,
}

impl HeaderValues {
    pub(crate) fn get(&self, id: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == id).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }
}

/// Inflates a header section's data (at most `max` bytes out) and decodes its text.
pub(crate) fn decode(data: &[u8], utf16: bool, max: u64, offset: u64) -> Result<String> {
    let cap = usize::try_from(max).unwrap_or(usize::MAX).min(16 << 20);
    let mut out = Vec::new();
    out.try_reserve_exact(cap).map_err(|_| ImageError::LimitExceeded { limit: "max_header_bytes", value: max, max })?;
    out.resize(cap, 0);
    let n = inflate_into(data, &mut out, true, "EWF header section", offset)?;
    out.truncate(n);
    if !utf16 {
        // ASCII, or a Windows code page: bytes past ASCII are kept as Latin-1.
        return Ok(out.iter().map(|&b| char::from(b)).collect());
    }
    let (body, big) = match out.get(..2) {
        Some([0xfe, 0xff]) => (out.get(2..).unwrap_or_default(), true),
        Some([0xff, 0xfe]) => (out.get(2..).unwrap_or_default(), false),
        _ => (&out[..], false),
    };
    let units =
        body.chunks_exact(2)
            .map(|c| if big { u16::from_be_bytes([c[0], c[1]]) } else { u16::from_le_bytes([c[0], c[1]]) });
    Ok(char::decode_utf16(units).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)).collect())
}

/// Parses the `main` category: line 3 holds tab-separated identifiers, line 4 their values
/// (lines end in `\n` or `\r\n`).
pub(crate) fn parse(text: &str) -> HeaderValues {
    let lines: Vec<&str> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let mut pairs = Vec::new();
    // Find the `main` line, then identifiers and values follow.
    if let Some(i) = lines.iter().position(|l| l.trim() == "main") {
        if let (Some(ids), Some(vals)) = (lines.get(i + 1), lines.get(i + 2)) {
            let vals: Vec<&str> = vals.split('\t').collect();
            for (k, id) in ids.split('\t').enumerate() {
                let v = vals.get(k).copied().unwrap_or("");
                pairs.push((id.trim().to_owned(), v.trim().to_owned()));
            }
        }
    }
    HeaderValues { pairs }
}

/// Renders a recorded date. `header2` (and linen's `header`) holds a POSIX timestamp: rendered as
/// UTC, `2026-12-06T09:47:02Z`. EnCase's and libewf's ASCII `header` holds `Y M D h m s` in the
/// acquiring machine's local time, zone not recorded: rendered without a zone,
/// `2026-12-06T09:47:02`. Anything else is returned as written.
pub(crate) fn render_date(v: &str) -> String {
    let v = v.trim();
    if !v.is_empty() && v.len() <= 12 && v.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(secs) = v.parse::<i64>() {
            return format_utc(secs);
        }
    }
    let parts: Vec<u32> = v.split_whitespace().filter_map(|p| p.parse().ok()).collect();
    if let [y, mo, d, h, mi, s] = parts[..] {
        if v.split_whitespace().count() == 6
            && (1..=12).contains(&mo)
            && (1..=31).contains(&d)
            && h < 24
            && mi < 60
            && s < 61
        {
            return format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
        }
    }
    v.to_owned()
}

/// `secs` since 1970-01-01T00:00:00Z as an RFC 3339 UTC time.
fn format_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since the epoch (the usual days-to-civil arithmetic over 400-year eras).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let mut y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    if m <= 2 {
        y += 1;
    }
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::ZlibEncoder;
    use std::io::Write;

    #[test]
    fn dates() {
        assert_eq!(render_date("1142163845"), "2006-03-12T11:44:05Z");
        assert_eq!(render_date("0"), "1970-01-01T00:00:00Z");
        assert_eq!(render_date("1796550422"), "2026-12-06T09:47:02Z");
        assert_eq!(render_date("2002 3 4 10 19 59"), "2002-03-04T10:19:59");
        assert_eq!(render_date("yesterday"), "yesterday");
        assert_eq!(render_date("2002 13 4 10 19 59"), "2002 13 4 10 19 59");
    }

    #[test]
    fn header_tables() {
        let t = "1\r\nmain\r\nc\tn\ta\te\tt\tav\tov\tm\tu\tp\r\nC1\tE1\tdesc\tExam\tnote\t7.1\tWindows\t2002 3 4 10 19 59\t\t0\r\n\r\n";
        let h = parse(t);
        assert_eq!((h.get("c"), h.get("e"), h.get("u"), h.get("zz")), (Some("C1"), Some("Exam"), None, None));
        // Short value lines and no `main` give what there is, never a panic.
        assert!(parse("1\nmain\na\tb\n").get("a").is_none());
        assert!(parse("").pairs.is_empty());
        // UTF-16 with a BOM, zlib-compressed.
        let text = "3\nmain\na\tc\nd\u{e9}sc\tK\n\n";
        let mut raw = vec![0xff, 0xfe];
        for u in text.encode_utf16() {
            raw.extend_from_slice(&u.to_le_bytes());
        }
        let mut e = ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&raw).unwrap();
        let z = e.finish().unwrap();
        let s = decode(&z, true, 1 << 20, 0).unwrap();
        assert_eq!(parse(&s).get("a"), Some("d\u{e9}sc"));
        // A header that inflates past the cap is an error.
        assert!(decode(&z, true, 8, 0).is_err());
        assert!(decode(b"not zlib", false, 1 << 20, 0).is_err());
    }
}
