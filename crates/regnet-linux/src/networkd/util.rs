//! Small parsers the networkd and ifupdown readers share: addresses with prefixes, netmasks,
//! canonical MACs, shell-style globs, reading a file within the limits. (Candidates for a shared
//! module once the other readers land.)

use crate::{FileKind, GuestFiles, IfAddress, Limits, Warning};
use std::net::{IpAddr, Ipv4Addr};

/// Counts what one stack's reader has read, against [`Limits`].
#[derive(Debug, Default)]
pub(crate) struct Budget {
    pub files: usize,
    pub over: bool,
}

impl Budget {
    /// One more file; `false` (and one warning) once `max_files` is reached.
    pub fn take(&mut self, limits: &Limits, warnings: &mut Vec<Warning>, path: &str) -> bool {
        if self.files >= limits.max_files {
            if !self.over {
                self.over = true;
                warnings.push(Warning::new(
                    "too_many_files",
                    format!("more than {} configuration files: the rest are not read", limits.max_files),
                    Some(path),
                ));
            }
            return false;
        }
        self.files += 1;
        true
    }
}

/// At most this many warnings per reader (then one saying the rest are left out).
pub(crate) const MAX_WARNINGS: usize = 1000;

/// Pushes a warning unless there are already [`MAX_WARNINGS`].
pub(crate) fn push_capped(w: &mut Vec<Warning>, warning: Warning) {
    if w.len() < MAX_WARNINGS {
        w.push(warning);
    } else if w.len() == MAX_WARNINGS {
        w.push(Warning::new(
            "more_warnings",
            format!("more than {MAX_WARNINGS} warnings: the rest are left out"),
            None,
        ));
    }
}

/// A file's text (lossy UTF-8), or `None` with a warning when it is absent, too big or unreadable.
pub(crate) fn read_text(
    files: &mut dyn GuestFiles,
    path: &str,
    limits: &Limits,
    warnings: &mut Vec<Warning>,
) -> Option<String> {
    match files.read(path, limits.max_file_bytes) {
        Ok(Some(bytes)) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Ok(None) => {
            warnings.push(Warning::new(
                "missing_file",
                format!("{path} does not exist (a link into nowhere?)"),
                Some(path),
            ));
            None
        }
        Err(e) => {
            warnings.push(Warning::new("bad_file", e.to_string(), Some(path)));
            None
        }
    }
}

/// A directory's entries as UTF-8 names (others skipped with a warning), at most `max_files`;
/// `None` when there is no such directory.
pub(crate) fn list_dir(
    files: &mut dyn GuestFiles,
    dir: &str,
    limits: &Limits,
    warnings: &mut Vec<Warning>,
) -> Option<Vec<(String, FileKind)>> {
    let entries = match files.list(dir) {
        Ok(Some(e)) => e,
        Ok(None) => return None,
        Err(e) => {
            warnings.push(Warning::new("bad_file", e.to_string(), Some(dir)));
            return Some(Vec::new());
        }
    };
    let mut out = Vec::new();
    for (name, kind) in entries {
        if out.len() >= limits.max_files {
            warnings.push(Warning::new(
                "too_many_files",
                format!("{dir} has more than {} entries: the rest are not read", limits.max_files),
                Some(dir),
            ));
            break;
        }
        match String::from_utf8(name) {
            Ok(n) if !n.contains('/') && !n.is_empty() => out.push((n, kind)),
            Ok(_) | Err(_) => warnings.push(Warning::new(
                "skipped_file",
                format!("{dir}: an entry whose name is not UTF-8"),
                Some(dir),
            )),
        }
    }
    Some(out)
}

/// `dir/name` (dir without its trailing `/`).
pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// The directory part of an absolute path (`/` for `/x`).
pub(crate) fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => path.get(..i).unwrap_or("/"),
    }
}

/// `a.b.c.d/len`, `a:b::c/len`, or an address alone (`None` prefix).
pub(crate) fn parse_ip_prefix(s: &str) -> Option<(IpAddr, Option<u8>)> {
    let (a, p) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let ip: IpAddr = a.trim().parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match p {
        None => None,
        Some(p) => {
            let n: u8 = p.trim().parse().ok()?;
            if n > max {
                return None;
            }
            Some(n)
        }
    };
    Some((ip, prefix))
}

/// An address with a prefix, the prefix defaulting to the full length.
pub(crate) fn parse_address(s: &str) -> Option<IfAddress> {
    let (ip, p) = parse_ip_prefix(s)?;
    Some(IfAddress::new(ip, p.unwrap_or(if ip.is_ipv4() { 32 } else { 128 })))
}

/// A netmask in dotted form (contiguous ones only) or as a number of bits.
pub(crate) fn parse_netmask(s: &str, v4: bool) -> Option<u8> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u8>() {
        return (n <= if v4 { 32 } else { 128 }).then_some(n);
    }
    if !v4 {
        return None;
    }
    let m: Ipv4Addr = s.parse().ok()?;
    let bits = u32::from(m);
    let ones = bits.leading_ones();
    (bits.checked_shl(ones).unwrap_or(0) == 0).then_some(ones as u8)
}

/// A MAC address in canonical form (`00:50:56:9A:3C:1F`), from `xx:xx:…`, `xx-xx-…` or
/// `xxxx.xxxx.xxxx`.
pub(crate) fn canonical_mac(s: &str) -> Option<String> {
    let s = s.trim();
    let hex: String = if s.len() == 17 && (s.split(':').count() == 6 || s.split('-').count() == 6) {
        let sep = if s.contains(':') { ':' } else { '-' };
        let parts: Vec<&str> = s.split(sep).collect();
        if parts.iter().any(|p| p.len() != 2) {
            return None;
        }
        parts.concat()
    } else if s.len() == 14 && s.split('.').count() == 3 {
        let parts: Vec<&str> = s.split('.').collect();
        if parts.iter().any(|p| p.len() != 4) {
            return None;
        }
        parts.concat()
    } else {
        return None;
    };
    if hex.len() != 12 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let up = hex.to_ascii_uppercase();
    let mut out = String::with_capacity(17);
    for (i, c) in up.chars().enumerate() {
        if i > 0 && i % 2 == 0 {
            out.push(':');
        }
        out.push(c);
    }
    Some(out)
}

/// Whether `s` has glob characters (`*`, `?`, `[`, `\`).
pub(crate) fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '[', '\\'])
}

/// A budget of glob steps shared by all the matching one reader does (each step is one
/// comparison), so that hostile patterns cannot make matching slow.
#[derive(Debug)]
pub(crate) struct Steps {
    pub left: u64,
    pub spent: bool,
}

impl Steps {
    /// The budget readers use: a fraction of a second of matching at worst.
    pub fn new() -> Self {
        Steps { left: 4_000_000, spent: false }
    }
}

/// fnmatch(3) with no flags, without a budget (for short inputs and tests).
#[cfg(test)]
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    glob_match_in(pattern, text, &mut Steps::new())
}

/// fnmatch(3) with no flags: `*`, `?`, `[…]` (with `!`/`^` and ranges), `\` escapes. Iterative,
/// O(len(pattern) × len(text)) at worst, each step taken from `steps`; once it is spent, nothing
/// matches (and `steps.spent` says so).
pub(crate) fn glob_match_in(pattern: &str, text: &str, steps: &mut Steps) -> bool {
    // Each call costs its lengths too, so that many short calls are bounded like long ones.
    let cost = (pattern.len() + text.len()) as u64 + 1;
    if steps.left < cost {
        steps.left = 0;
        steps.spent = true;
        return false;
    }
    steps.left -= cost;
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if steps.left == 0 {
            steps.spent = true;
            return false;
        }
        steps.left -= 1;
        if let Some(&pc) = p.get(pi) {
            if pc == '*' {
                star = Some((pi, ti));
                pi += 1;
                continue;
            }
            if let Some(&tc) = t.get(ti) {
                let step = match pc {
                    '?' => Some(1),
                    '[' => match class(&p, pi, tc) {
                        Some((true, len)) => Some(len),
                        Some((false, _)) => None,
                        // An unclosed bracket is a literal `[`.
                        None => (tc == '[').then_some(1),
                    },
                    '\\' => match p.get(pi + 1) {
                        Some(&e) => (e == tc).then_some(2),
                        None => (tc == '\\').then_some(1),
                    },
                    c => (c == tc).then_some(1),
                };
                if let Some(n) = step {
                    pi += n;
                    ti += 1;
                    continue;
                }
            }
        } else if ti == t.len() {
            return true;
        }
        // Mismatch: let the last star swallow one more character.
        match star {
            Some((sp, st)) if st < t.len() => {
                star = Some((sp, st + 1));
                pi = sp + 1;
                ti = st + 1;
            }
            _ => return false,
        }
    }
}

/// A bracket expression at `p[start] == '['`: whether `c` matches and the expression's length,
/// or `None` when it is not closed.
fn class(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!') | Some('^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let &ch = p.get(i)?;
        if ch == ']' && !first {
            return Some((matched != negate, i + 1 - start));
        }
        first = false;
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&e| e != ']') {
            let &hi = p.get(i + 2)?;
            if ch <= c && c <= hi {
                matched = true;
            }
            i += 3;
        } else {
            if ch == c {
                matched = true;
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_as_fnmatch() {
        assert!(glob_match("en*", "ens192"));
        assert!(glob_match("*", ""));
        assert!(glob_match("e?h[0-9]", "eth1"));
        assert!(!glob_match("e?h[!0-9]", "eth1"));
        assert!(glob_match("e?h[^0-9]", "ethx"));
        assert!(glob_match("a\\*", "a*"));
        assert!(!glob_match("a\\*", "ab"));
        assert!(glob_match("a\\", "a\\"));
        assert!(glob_match("[", "["));
        assert!(glob_match("[]]", "]"));
        assert!(!glob_match("!backup0", "backup0"));
        assert!(glob_match("*a*b*c", "xxaxxbxxc"));
        assert!(!glob_match("*a*b*c", "xxaxxbxx"));
        assert!(!glob_match("abc", "ab"));
        let long = "a".repeat(5000);
        assert!(!glob_match(&"*a".repeat(200), &format!("{long}b")));
    }

    #[test]
    fn addresses_masks_macs() {
        assert_eq!(parse_address("10.0.0.1/24").unwrap().prefix_len, 24);
        assert_eq!(parse_address("10.0.0.1").unwrap().prefix_len, 32);
        assert_eq!(parse_address("2001:db8::1").unwrap().prefix_len, 128);
        assert!(parse_address("10.0.0.1/33").is_none());
        assert!(parse_address("10.0.0.1/x").is_none());
        assert_eq!(parse_netmask("255.255.255.0", true), Some(24));
        assert_eq!(parse_netmask("255.0.255.0", true), None);
        assert_eq!(parse_netmask("0.0.0.0", true), Some(0));
        assert_eq!(parse_netmask("255.255.255.255", true), Some(32));
        assert_eq!(parse_netmask("64", false), Some(64));
        assert_eq!(parse_netmask("129", false), None);
        assert_eq!(parse_netmask("ffff::", false), None);
        assert_eq!(canonical_mac("00:50:56:9c:40:02").as_deref(), Some("00:50:56:9C:40:02"));
        assert_eq!(canonical_mac("00-50-56-9c-40-02").as_deref(), Some("00:50:56:9C:40:02"));
        assert_eq!(canonical_mac("0050.569c.4002").as_deref(), Some("00:50:56:9C:40:02"));
        assert_eq!(canonical_mac("0050.569c.40"), None);
        assert_eq!(canonical_mac("00:50:56:9c:40:0g"), None);
        assert_eq!(canonical_mac("000:50:56:9c:40:0"), None);
        assert_eq!(canonical_mac("x"), None);
        assert_eq!(parent("/etc/network/interfaces"), "/etc/network");
        assert_eq!(parent("/x"), "/");
        assert_eq!(join("/", "x"), "/x");
    }
}
