//! Small helpers the keyfile and ifcfg readers share (address and MAC parsing, bounded warning
//! lists). Candidates for a crate-wide module when the stacks are consolidated.

use crate::Warning;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Most warnings one reader keeps about one file; the rest are counted in one last warning.
pub(crate) const MAX_WARNINGS_PER_FILE: usize = 64;

/// Most characters of guest text quoted in a warning.
const QUOTE_CHARS: usize = 80;

/// Guest bytes, quoted for a message: lossy UTF-8, control characters escaped, at most 80
/// characters.
pub(crate) fn quote(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    for (n, c) in text.chars().enumerate() {
        if n >= QUOTE_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// An IPv4 address as `inet_pton` reads it (four decimal parts, no leading zeros).
pub(crate) fn ipv4(s: &str) -> Option<Ipv4Addr> {
    s.parse().ok()
}

/// An IPv6 address as `inet_pton` reads it.
pub(crate) fn ipv6(s: &str) -> Option<Ipv6Addr> {
    s.parse().ok()
}

/// An address of either family.
pub(crate) fn ip(s: &str, v6: bool) -> Option<IpAddr> {
    if v6 {
        ipv6(s).map(IpAddr::V6)
    } else {
        ipv4(s).map(IpAddr::V4)
    }
}

/// A MAC address as NetworkManager's `nm_utils_hwaddr_aton` reads a 6-byte one: hex groups of
/// one or two digits separated by `:` or `-` (the same one throughout), canonical as
/// `00:50:56:9A:3C:1F`.
pub(crate) fn mac(s: &str) -> Option<String> {
    let sep = if s.contains(':') { ':' } else { '-' };
    let mut out = String::with_capacity(17);
    let mut n = 0usize;
    for part in s.split(sep) {
        if part.is_empty() || part.len() > 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        n += 1;
        if n > 6 {
            return None;
        }
        let v = u8::from_str_radix(part, 16).ok()?;
        if n > 1 {
            out.push(':');
        }
        out.push_str(&format!("{v:02X}"));
    }
    (n == 6).then_some(out)
}

/// The prefix length of a contiguous IPv4 netmask.
pub(crate) fn netmask_len(mask: Ipv4Addr) -> Option<u8> {
    let m = u32::from(mask);
    let len = m.leading_ones();
    (m.checked_shl(len).unwrap_or(0) == 0).then_some(len as u8)
}

/// Warnings with a cap per file: past [`MAX_WARNINGS_PER_FILE`] for one file, one more says how
/// many were left out.
#[derive(Debug, Default)]
pub(crate) struct Warnings {
    pub list: Vec<Warning>,
    file: Option<String>,
    count: usize,
}

impl Warnings {
    /// Starts counting for `file`.
    pub fn file(&mut self, file: &str) {
        self.flush();
        self.file = Some(file.to_owned());
        self.count = 0;
    }

    /// Adds a warning about the current file (or none).
    pub fn add(&mut self, code: &str, message: impl Into<String>) {
        self.count = self.count.saturating_add(1);
        if self.count <= MAX_WARNINGS_PER_FILE {
            self.list.push(Warning::new(code, message, self.file.as_deref()));
        }
    }

    /// Adds a warning about another file, outside the count.
    pub fn about(&mut self, code: &str, message: impl Into<String>, file: &str) {
        self.list.push(Warning::new(code, message, Some(file)));
    }

    /// Closes the current file's count.
    pub fn flush(&mut self) {
        if self.count > MAX_WARNINGS_PER_FILE {
            let more = self.count - MAX_WARNINGS_PER_FILE;
            self.list.push(Warning::new(
                "bad_file",
                format!("{more} more warnings about this file left out"),
                self.file.as_deref(),
            ));
        }
        self.count = 0;
        self.file = None;
    }

    /// The warnings, the last count closed.
    pub fn finish(mut self) -> Vec<Warning> {
        self.flush();
        self.list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(mac("52:54:00:c0:ff:ee").as_deref(), Some("52:54:00:C0:FF:EE"));
        assert_eq!(mac("52-54-0-c0-ff-e").as_deref(), Some("52:54:00:C0:FF:0E"));
        assert_eq!(mac("52:54:00:c0:ff"), None);
        assert_eq!(mac("52:54:00:c0:ff:ee:01"), None);
        assert_eq!(mac("52:54:00-c0:ff:ee"), None);
        assert_eq!(mac("525400c0ffee"), None);
        assert_eq!(mac("52:54:00:c0:ff:eee"), None);
        assert_eq!(mac("52:54::c0:ff:ee"), None);
        assert_eq!(mac("52:54:0g:c0:ff:ee"), None);
        assert_eq!(ipv4("010.0.0.1"), None);
        assert_eq!(ip("::1", true), Some(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert_eq!(ip("::1", false), None);
        assert_eq!(netmask_len(Ipv4Addr::new(255, 255, 254, 0)), Some(23));
        assert_eq!(netmask_len(Ipv4Addr::new(255, 255, 255, 255)), Some(32));
        assert_eq!(netmask_len(Ipv4Addr::new(0, 0, 0, 0)), Some(0));
        assert_eq!(netmask_len(Ipv4Addr::new(255, 0, 255, 0)), None);
        assert_eq!(quote(b"a\nb\xff"), "a\\nb\u{fffd}");
        assert_eq!(quote(&[b'x'; 100]).chars().count(), 81);
        let mut w = Warnings::default();
        w.file("/f");
        for _ in 0..100 {
            w.add("bad_value", "x");
        }
        w.about("skipped_file", "y", "/g");
        w.file("/h");
        w.add("bad_value", "z");
        let list = w.finish();
        assert_eq!(list.len(), MAX_WARNINGS_PER_FILE + 3);
        assert!(list.iter().any(|w| w.message.contains("36 more")));
    }
}
