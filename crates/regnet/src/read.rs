//! Reading typed settings out of registry values, leniently where Windows is lenient and with a
//! warning wherever a value is not what it should be.

use crate::report::Warning;
use regnet_hive::{Key, Value, ValueType};
use std::net::{IpAddr, Ipv4Addr};

/// The largest string value read for a setting: no network setting is anywhere near this, and it
/// bounds the work a crafted value can cause (HOSTILE-INPUTS V5).
const MAX_SETTING_BYTES: u32 = 64 * 1024;

/// Collects warnings while reading.
#[derive(Default)]
pub(crate) struct Reader {
    pub warnings: Vec<Warning>,
}

/// The registry path of a key, for messages: rebuilt from the names the caller used.
pub(crate) type KeyPath<'a> = &'a str;

impl Reader {
    pub fn warn(&mut self, code: &str, message: impl Into<String>, key: Option<&str>, value: Option<&str>) {
        self.warnings.push(Warning {
            code: code.to_owned(),
            message: message.into(),
            key: key.map(str::to_owned),
            value: value.map(str::to_owned),
        });
    }

    /// A value by name; a damaged value list is a warning and reads as absent.
    pub fn value<'h>(&mut self, key: &Key<'h>, path: KeyPath<'_>, name: &str) -> Option<Value<'h>> {
        match key.value(name) {
            Ok(v) => v.filter(|v| !v.is_tombstone()),
            Err(e) => {
                self.warn(
                    "unreadable_value",
                    format!("values of this key could not be read: {e}"),
                    Some(path),
                    Some(name),
                );
                None
            }
        }
    }

    /// The raw data of a value, bounded.
    fn data(&mut self, v: &Value<'_>, path: KeyPath<'_>, name: &str) -> Option<Vec<u8>> {
        if v.data_len() > MAX_SETTING_BYTES {
            self.warn(
                "bad_value",
                format!("{} bytes is too long for a network setting; ignored", v.data_len()),
                Some(path),
                Some(name),
            );
            return None;
        }
        match v.data() {
            Ok(d) => Some(d.into_owned()),
            Err(e) => {
                self.warn("unreadable_value", format!("data could not be read: {e}"), Some(path), Some(name));
                None
            }
        }
    }

    /// A string or list-of-strings value as its items, by position: REG_SZ and REG_EXPAND_SZ give
    /// one item, REG_MULTI_SZ its items up to the list terminator. An item that is blank or not
    /// valid UTF-16 is `None` but keeps its place, so that parallel lists (`IPAddress` and
    /// `SubnetMask`) stay paired. Absent: empty.
    pub fn string_items(&mut self, key: &Key<'_>, path: KeyPath<'_>, name: &str) -> Vec<Option<String>> {
        let Some(v) = self.value(key, path, name) else { return Vec::new() };
        let t = v.data_type();
        if !matches!(t, ValueType::Sz | ValueType::ExpandSz | ValueType::MultiSz) {
            self.warn("wrong_type", format!("expected a string, found {t}; ignored"), Some(path), Some(name));
            return Vec::new();
        }
        let Some(d) = self.data(&v, path, name) else { return Vec::new() };
        if d.len() % 2 != 0 {
            self.warn(
                "bad_value",
                "odd number of bytes in UTF-16 text; the last byte was dropped",
                Some(path),
                Some(name),
            );
        }
        let units: Vec<u16> = d.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        if !units.is_empty() && !units.contains(&0) {
            self.warn(
                "bad_value",
                "string without a terminating NUL; read to the end of the data",
                Some(path),
                Some(name),
            );
        }
        let items: Vec<&[u16]> = if t == ValueType::MultiSz {
            // Items up to the first empty one (the list terminator).
            units.split(|&u| u == 0).take_while(|s| !s.is_empty()).collect()
        } else {
            units.split(|&u| u == 0).take(1).collect()
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match String::from_utf16(item) {
                Ok(s) => {
                    let s = s.trim();
                    out.push((!s.is_empty()).then(|| s.to_owned()));
                }
                Err(_) => {
                    self.warn(
                        "bad_value",
                        "invalid UTF-16 (an unpaired surrogate); item ignored",
                        Some(path),
                        Some(name),
                    );
                    out.push(None);
                }
            }
        }
        out
    }

    /// The usable items of a string or list-of-strings value (see [`Reader::string_items`]).
    pub fn strings(&mut self, key: &Key<'_>, path: KeyPath<'_>, name: &str) -> Vec<String> {
        self.string_items(key, path, name).into_iter().flatten().collect()
    }

    /// A single string setting: the first item; absent or empty gives `None`.
    pub fn string(&mut self, key: &Key<'_>, path: KeyPath<'_>, name: &str) -> Option<String> {
        self.strings(key, path, name).into_iter().next()
    }

    /// A DWORD setting. Also accepts REG_QWORD that fits and REG_DWORD_BIG_ENDIAN.
    pub fn dword(&mut self, key: &Key<'_>, path: KeyPath<'_>, name: &str) -> Option<u32> {
        let v = self.value(key, path, name)?;
        let t = v.data_type();
        let d = self.data(&v, path, name)?;
        let n = match (t, d.len()) {
            (ValueType::Dword, 4) => u32::from_le_bytes([d[0], d[1], d[2], d[3]]),
            (ValueType::DwordBigEndian, 4) => u32::from_be_bytes([d[0], d[1], d[2], d[3]]),
            (ValueType::Qword, 8) => {
                let q = u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
                match u32::try_from(q) {
                    Ok(n) => n,
                    Err(_) => {
                        self.warn("bad_value", format!("{q} does not fit 32 bits; ignored"), Some(path), Some(name));
                        return None;
                    }
                }
            }
            (ValueType::Dword | ValueType::DwordBigEndian | ValueType::Qword, n) => {
                self.warn("bad_value", format!("{t} of {n} bytes; ignored"), Some(path), Some(name));
                return None;
            }
            _ => {
                self.warn("wrong_type", format!("expected a DWORD, found {t}; ignored"), Some(path), Some(name));
                return None;
            }
        };
        Some(n)
    }

    /// Binary data of a REG_BINARY value (other types are a warning).
    pub fn binary(&mut self, key: &Key<'_>, path: KeyPath<'_>, name: &str) -> Option<Vec<u8>> {
        let v = self.value(key, path, name)?;
        if v.data_type() != ValueType::Binary {
            self.warn(
                "wrong_type",
                format!("expected REG_BINARY, found {}; ignored", v.data_type()),
                Some(path),
                Some(name),
            );
            return None;
        }
        self.data(&v, path, name)
    }

    /// IPv4 addresses from string items, by position, each strictly parsed; `0.0.0.0` means "none".
    pub fn ipv4_list(&mut self, items: &[Option<String>], path: KeyPath<'_>, name: &str) -> Vec<Option<Ipv4Addr>> {
        items
            .iter()
            .map(|s| match s.as_deref().map(str::parse::<Ipv4Addr>) {
                None => None,
                Some(Ok(a)) if a.is_unspecified() => None,
                Some(Ok(a)) => Some(a),
                Some(Err(_)) => {
                    self.warn(
                        "bad_value",
                        format!("{:?} is not an IPv4 address; ignored", s.as_deref().unwrap_or_default()),
                        Some(path),
                        Some(name),
                    );
                    None
                }
            })
            .collect()
    }

    /// One IPv4 address from a single-string setting.
    pub fn ipv4(&mut self, key: &Key<'_>, path: KeyPath<'_>, name: &str) -> Option<Ipv4Addr> {
        let item = self.string(key, path, name)?;
        self.ipv4_list(&[Some(item)], path, name).pop().flatten()
    }

    /// A server list such as `NameServer`: items split on commas, spaces and semicolons, each parsed.
    pub fn server_list(&mut self, key: &Key<'_>, path: KeyPath<'_>, name: &str) -> Vec<IpAddr> {
        let mut out = Vec::new();
        for item in self.strings(key, path, name) {
            for part in item.split([',', ' ', ';', '\t']).filter(|p| !p.is_empty()) {
                match part.parse::<IpAddr>() {
                    Ok(a) if a.is_unspecified() => {}
                    Ok(a) => out.push(a),
                    Err(_) => self.warn(
                        "bad_value",
                        format!("{part:?} is not an IP address; ignored"),
                        Some(path),
                        Some(name),
                    ),
                }
            }
        }
        out
    }
}

/// Prefix length of a contiguous subnet mask.
pub(crate) fn mask_prefix(mask: Ipv4Addr) -> Option<u8> {
    let m = u32::from(mask);
    let ones = m.leading_ones();
    (m.checked_shl(ones).unwrap_or(0) == 0).then(|| u8::try_from(ones).unwrap_or(32))
}

/// `00:50:56:9A:3C:1F` from 6 bytes.
pub(crate) fn format_mac(b: &[u8]) -> Option<String> {
    if b.len() != 6 || b.iter().all(|&x| x == 0) {
        return None;
    }
    Some(b.iter().map(|x| format!("{x:02X}")).collect::<Vec<_>>().join(":"))
}

/// A MAC from 12 hex digits (the `NetworkAddress` override), separators tolerated.
pub(crate) fn parse_mac_text(s: &str) -> Option<String> {
    let hex: String = s.chars().filter(|c| !matches!(c, ':' | '-' | '.' | ' ')).collect();
    if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let bytes: Vec<u8> =
        (0..6).filter_map(|i| hex.get(2 * i..2 * i + 2)).filter_map(|p| u8::from_str_radix(p, 16).ok()).collect();
    format_mac(&bytes)
}

/// Canonical interface GUID: upper-case, with braces.
pub(crate) fn canonical_guid(s: &str) -> String {
    let t = s.trim().trim_start_matches('{').trim_end_matches('}');
    format!("{{{}}}", t.to_ascii_uppercase())
}

/// RFC 3339 UTC for Unix seconds at or after 2000-01-01; earlier values are not calendar times here.
pub(crate) fn epoch_utc(secs: u32) -> Option<String> {
    const Y2000: u32 = 946_684_800;
    if secs < Y2000 {
        return None;
    }
    let ft = (u64::from(secs) + 11_644_473_600) * 10_000_000;
    Some(regnet_hive::FileTime(ft).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_prefix("255.255.255.0".parse().unwrap()), Some(24));
        assert_eq!(mask_prefix("255.255.255.255".parse().unwrap()), Some(32));
        assert_eq!(mask_prefix("0.0.0.0".parse().unwrap()), Some(0));
        assert_eq!(mask_prefix("255.0.255.0".parse().unwrap()), None);
        assert_eq!(mask_prefix("255.255.254.0".parse().unwrap()), Some(23));
    }

    #[test]
    fn macs_and_guids() {
        assert_eq!(parse_mac_text("00505691AbCd").as_deref(), Some("00:50:56:91:AB:CD"));
        assert_eq!(parse_mac_text("00-50-56-91-AB-CD").as_deref(), Some("00:50:56:91:AB:CD"));
        assert_eq!(parse_mac_text(""), None);
        assert_eq!(parse_mac_text("0050569"), None);
        assert_eq!(format_mac(&[0; 6]), None);
        assert_eq!(canonical_guid("{4b0ae068-b350-4bd4-85ab-77e00e581863}"), "{4B0AE068-B350-4BD4-85AB-77E00E581863}");
        assert_eq!(epoch_utc(1_289_408_803).as_deref(), Some("2010-11-10T17:06:43Z"));
        assert_eq!(epoch_utc(830_452), None);
    }
}
