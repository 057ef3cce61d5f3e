//! Shell-variable files as NetworkManager's `shvar.c` reads them (never executed).
//!
//! - A line is `NAME=value` when, after leading white space, a shell name (`[A-Za-z_][A-Za-z0-9_]*`)
//!   is directly followed by `=`; any other line (comments, commands) is ignored. The last
//!   assignment of a name wins.
//! - The value is unquoted as bash would (`svUnescape`): `'…'`, `"…"` (where `\` escapes
//!   `$ \` " \`), `$'…'` (ANSI-C escapes), `\x` outside quotes. Unquoted white space or `;` may
//!   only be followed by white space, one `;` or a `#` comment. An unterminated quote, a `\` at
//!   the end, `$` or a backquote inside double quotes, an unquoted `| & ( ) < >`, or a result
//!   that is not UTF-8 make the value unreadable: NetworkManager then treats it as empty, i.e.
//!   unset. `$(rm -rf /)` is such a value, and nothing is ever run.

use std::collections::BTreeMap;

/// A parsed variables file.
#[derive(Debug, Default)]
pub(crate) struct ShellVars {
    vars: BTreeMap<String, Result<String, &'static str>>,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0c' | b'\r')
}

impl ShellVars {
    /// Parses `data`, at most `max_lines` lines (the rest is ignored; `truncated` says so).
    pub fn parse(data: &[u8], max_lines: usize) -> (ShellVars, bool) {
        let mut v = ShellVars::default();
        for (n, line) in data.split(|&b| b == b'\n').enumerate() {
            if n >= max_lines {
                return (v, true);
            }
            let start = line.iter().position(|&b| !is_space(b)).unwrap_or(line.len());
            let line = line.get(start..).unwrap_or_default();
            let Some(eq) = line.iter().position(|&b| b == b'=') else { continue };
            let (name, rest) = line.split_at(eq);
            let valid = name.first().is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_')
                && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid {
                continue;
            }
            let Ok(name) = std::str::from_utf8(name) else { continue };
            v.vars.insert(name.to_owned(), unescape(rest.get(1..).unwrap_or_default()));
        }
        (v, false)
    }

    /// The value of a variable; unset, empty and unreadable values are `None` (as
    /// `svGetValueStr`).
    pub fn get(&self, name: &str) -> Option<&str> {
        match self.vars.get(name) {
            Some(Ok(s)) if !s.is_empty() => Some(s.as_str()),
            _ => None,
        }
    }

    /// Why the variable's value could not be read, when it could not.
    pub fn error(&self, name: &str) -> Option<&'static str> {
        match self.vars.get(name) {
            Some(Err(e)) => Some(e),
            _ => None,
        }
    }

    /// The names set, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(String::as_str)
    }

    /// `svGetValueBoolean`: yes/true/t/y/1 and no/false/f/n/0 in any case; else `default`.
    pub fn boolean(&self, name: &str, default: bool) -> bool {
        self.get(name).map_or(default, |v| parse_bool(v, default))
    }
}

/// `svParseBoolean`.
pub(crate) fn parse_bool(v: &str, default: bool) -> bool {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "true" | "t" | "y" | "1" => true,
        "no" | "false" | "f" | "n" | "0" => false,
        _ => default,
    }
}

fn hex(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

/// `svUnescape`: the value after `NAME=`.
pub(crate) fn unescape(v: &[u8]) -> Result<String, &'static str> {
    let mut out: Vec<u8> = Vec::new();
    let mut i = 0usize;
    let at = |i: usize| v.get(i).copied();
    loop {
        let Some(c) = at(i) else { break };
        if is_space(c) || c == b';' {
            let mut semi = c == b';';
            let mut j = i + 1;
            while let Some(d) = at(j) {
                if is_space(d) || (!semi && d == b';') {
                    semi |= d == b';';
                    j += 1;
                } else {
                    break;
                }
            }
            match at(j) {
                None | Some(b'#') => break,
                _ => return Err("unquoted white space followed by more text (a command?)"),
            }
        }
        match c {
            b'\\' => {
                let Some(d) = at(i + 1) else { return Err("a backslash at the end") };
                out.push(d);
                i += 2;
            }
            b'\'' => {
                let rest = v.get(i + 1..).unwrap_or_default();
                let Some(end) = rest.iter().position(|&b| b == b'\'') else {
                    return Err("an unterminated single quote");
                };
                out.extend_from_slice(rest.get(..end).unwrap_or_default());
                i += end + 2;
            }
            b'"' => {
                i += 1;
                loop {
                    match at(i) {
                        None => return Err("an unterminated double quote"),
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'`' | b'$') => return Err("a shell expansion ($ or `) in double quotes"),
                        Some(b'\\') => {
                            let Some(d) = at(i + 1) else { return Err("a backslash at the end") };
                            if !matches!(d, b'$' | b'`' | b'"' | b'\\') {
                                out.push(b'\\');
                            }
                            out.push(d);
                            i += 2;
                        }
                        Some(d) => {
                            out.push(d);
                            i += 1;
                        }
                    }
                }
            }
            b'$' if at(i + 1) == Some(b'\'') => {
                i += 2;
                loop {
                    match at(i) {
                        None => return Err("an unterminated $' quote"),
                        Some(b'\'') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => {
                            let Some(d) = at(i + 1) else { return Err("a backslash at the end") };
                            i += 2;
                            let simple = match d {
                                b'a' => Some(7),
                                b'b' => Some(8),
                                b'e' | b'E' => Some(0x1b),
                                b'f' => Some(0x0c),
                                b'n' => Some(b'\n'),
                                b'r' => Some(b'\r'),
                                b't' => Some(b'\t'),
                                b'v' => Some(0x0b),
                                b'\\' | b'\'' | b'"' | b'?' => Some(d),
                                _ => None,
                            };
                            if let Some(s) = simple {
                                out.push(s);
                            } else if (b'0'..=b'7').contains(&d) {
                                let mut n = u32::from(d - b'0');
                                for _ in 0..2 {
                                    match at(i) {
                                        Some(o @ b'0'..=b'7') => {
                                            n = n * 8 + u32::from(o - b'0');
                                            i += 1;
                                        }
                                        _ => break,
                                    }
                                }
                                out.push((n & 0xff) as u8);
                            } else if matches!(d, b'x' | b'u' | b'U') && at(i).and_then(hex).is_some() {
                                let max = match d {
                                    b'x' => 2,
                                    b'u' => 4,
                                    _ => 8,
                                };
                                let mut n = 0u32;
                                for _ in 0..max {
                                    match at(i).and_then(hex) {
                                        Some(h) => {
                                            n = n.wrapping_mul(16).wrapping_add(h);
                                            i += 1;
                                        }
                                        None => break,
                                    }
                                }
                                if d == b'x' {
                                    out.push((n & 0xff) as u8);
                                } else {
                                    let ch = char::from_u32(n).unwrap_or('\u{fffd}');
                                    let mut buf = [0u8; 4];
                                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                                }
                            } else {
                                out.push(b'\\');
                                out.push(d);
                            }
                        }
                        Some(d) => {
                            out.push(d);
                            i += 1;
                        }
                    }
                }
            }
            b'|' | b'&' | b'(' | b')' | b'<' | b'>' => return Err("an unquoted shell metacharacter"),
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| "not UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Result<String, &'static str> {
        unescape(s.as_bytes())
    }

    #[test]
    fn bash_quoting() {
        assert_eq!(u("abc").unwrap(), "abc");
        assert_eq!(u("'a b'\"c\\\"d\\n\"e\\ f").unwrap(), "a bc\"d\\ne f");
        assert_eq!(u("a # comment").unwrap(), "a");
        assert_eq!(u("a;").unwrap(), "a");
        assert_eq!(u("a ; #x").unwrap(), "a");
        assert_eq!(u("").unwrap(), "");
        assert_eq!(u("   ").unwrap(), "");
        assert_eq!(u("$HOME").unwrap(), "$HOME");
        assert_eq!(u("$'a\\tb\\x41\\101\\u00e9\\q\\''").unwrap(), "a\tbAAé\\q'");
        assert_eq!(u("$'\\U0001F600\\a\\b\\e\\f\\n\\r\\v\\\\\\\"\\?'").unwrap(), "😀\x07\x08\x1b\x0c\n\r\x0b\\\"?");
        assert_eq!(u("$'\\xZ'").unwrap(), "\\xZ");
        for bad in [
            "a b",
            "a;b",
            "a; ;",
            "'x",
            "\"x",
            "\"$(x)\"",
            "\"`x`\"",
            "$(rm -rf /)",
            "a|b",
            "x\\",
            "\"x\\",
            "$'x",
            "$'x\\",
            "a>b",
        ] {
            assert!(u(bad).is_err(), "{bad}");
        }
        assert!(unescape(b"'\xff'").is_err());
    }

    #[test]
    fn files() {
        let (v, t) = ShellVars::parse(
            b"# c\n  A=1\nB = 2\n1C=3\n_D=\"x\"\nE=\nF=$(rm -rf /)\nA=2\nG=yes\nH=Off\nexport I=1\n",
            100,
        );
        assert!(!t);
        assert_eq!(v.get("A"), Some("2"));
        assert_eq!(v.get("B"), None);
        assert_eq!(v.get("_D"), Some("x"));
        assert_eq!(v.get("E"), None);
        assert_eq!(v.get("F"), None);
        assert!(v.error("F").is_some() && v.error("A").is_none());
        assert!(v.boolean("G", false) && v.boolean("H", true) && !v.boolean("Z", false) && v.boolean("A", true));
        assert_eq!(v.names().count(), 6);
        let (_, t) = ShellVars::parse(b"A=1\nB=2\nC=3\n", 2);
        assert!(t);
    }
}
