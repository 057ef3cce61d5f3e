//! GLib's key-file syntax, as `g_key_file_load_from_data` reads it (checked against GLib 2.74).
//!
//! - Lines split at `\n`, one trailing `\r` dropped, each line cut at its first NUL byte.
//! - Leading white space (space, tab, `\n`, `\f`, `\r`; not `\v`) is skipped; an empty line or one
//!   starting with `#` is a comment (`;` is **not** a comment: such a line fails the whole file).
//! - `[name]` followed only by spaces or tabs opens a group; a name that is empty or holds `[`, `]`
//!   or a control character fails the file; a group opened twice continues the first.
//! - `key=value`: the key loses trailing white space, the value leading white space (trailing is
//!   kept). A key before any group, a line with neither `=` nor a group, a line starting with
//!   `=`, or a key holding `]` (or a `[` not closing a locale) fails the file. `key[locale]` is a
//!   translation NetworkManager never reads: dropped. A repeated key replaces the earlier value.
//! - Values are bytes until read: [`KeyFile::string`] applies the escapes `\s \n \t \r \\` (any
//!   other, or `\` at the end, makes the value unreadable, as `g_key_file_get_string` returns
//!   NULL), [`KeyFile::list`] splits at unescaped `;` (`\;` is a `;`) and drops one trailing empty
//!   item; a value that is not UTF-8 is unreadable too.

use std::collections::BTreeMap;

/// A parsed key file: groups in first-seen order, keys in first-seen order within a group.
#[derive(Debug, Default)]
pub(crate) struct KeyFile {
    groups: Vec<Group>,
    index: BTreeMap<Vec<u8>, usize>,
}

#[derive(Debug)]
struct Group {
    keys: Vec<(Vec<u8>, Vec<u8>)>,
    index: BTreeMap<Vec<u8>, usize>,
}

/// Why a key file does not load (NetworkManager then skips the whole file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: &'static str,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0c' | b'\r')
}

fn trim_start(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_space(*first) {
            break;
        }
        s = rest;
    }
    s
}

fn trim_end(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., last] = s {
        if !is_space(*last) {
            break;
        }
        s = rest;
    }
    s
}

impl KeyFile {
    /// Parses `data`, reading at most `max_lines` lines (beyond: an error, as the file cannot be
    /// trusted).
    pub fn parse(data: &[u8], max_lines: usize) -> Result<KeyFile, ParseError> {
        let mut kf = KeyFile::default();
        let mut current: Option<usize> = None;
        for (n, raw) in data.split(|&b| b == b'\n').enumerate() {
            let line_no = n.saturating_add(1);
            if n >= max_lines {
                return Err(ParseError { line: line_no, reason: "more lines than the limit" });
            }
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let raw = match raw.iter().position(|&b| b == 0) {
                Some(p) => raw.get(..p).unwrap_or_default(),
                None => raw,
            };
            let line = trim_start(raw);
            if line.is_empty() || line.first() == Some(&b'#') {
                continue;
            }
            if let Some(name) = group_line(line) {
                if name.is_empty() || name.iter().any(|&b| b == b'[' || b == b']' || b < 0x20 || b == 0x7f) {
                    return Err(ParseError { line: line_no, reason: "invalid group name" });
                }
                current = Some(kf.group_index(name));
                continue;
            }
            let Some(eq) = line.iter().position(|&b| b == b'=') else {
                return Err(ParseError { line: line_no, reason: "neither a group, a key nor a comment" });
            };
            if eq == 0 {
                return Err(ParseError { line: line_no, reason: "a line starting with '='" });
            }
            let (key, value) = line.split_at(eq);
            let key = trim_end(key);
            let value = trim_start(value.get(1..).unwrap_or_default());
            let Some(g) = current else {
                return Err(ParseError { line: line_no, reason: "a key before the first group" });
            };
            match key_kind(key) {
                KeyKind::Invalid => return Err(ParseError { line: line_no, reason: "invalid key name" }),
                KeyKind::Translation => continue,
                KeyKind::Plain => {}
            }
            if let Some(group) = kf.groups.get_mut(g) {
                match group.index.get(key) {
                    Some(&i) => {
                        if let Some(slot) = group.keys.get_mut(i) {
                            slot.1 = value.to_vec();
                        }
                    }
                    None => {
                        group.index.insert(key.to_vec(), group.keys.len());
                        group.keys.push((key.to_vec(), value.to_vec()));
                    }
                }
            }
        }
        Ok(kf)
    }

    fn group_index(&mut self, name: &[u8]) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.groups.len();
        self.index.insert(name.to_vec(), i);
        self.groups.push(Group { keys: Vec::new(), index: BTreeMap::new() });
        i
    }

    /// Whether the group exists.
    pub fn has_group(&self, group: &str) -> bool {
        self.index.contains_key(group.as_bytes())
    }

    /// The keys of a group with their raw values, in first-seen order.
    pub fn keys(&self, group: &str) -> &[(Vec<u8>, Vec<u8>)] {
        match self.index.get(group.as_bytes()).and_then(|&i| self.groups.get(i)) {
            Some(g) => &g.keys,
            None => &[],
        }
    }

    /// The raw value of a key.
    pub fn raw(&self, group: &str, key: &str) -> Option<&[u8]> {
        let g = self.groups.get(*self.index.get(group.as_bytes())?)?;
        g.keys.get(*g.index.get(key.as_bytes())?).map(|(_, v)| v.as_slice())
    }

    /// The value as `g_key_file_get_string` gives it, or `Err` when it cannot be read (bad
    /// escape, not UTF-8); `Ok(None)` when absent.
    pub fn string(&self, group: &str, key: &str) -> Result<Option<String>, &'static str> {
        match self.raw(group, key) {
            None => Ok(None),
            Some(v) => unescape(v, false).map(|mut items| Some(items.pop().unwrap_or_default())),
        }
    }

    /// The value as `g_key_file_get_string_list` gives it.
    pub fn list(&self, group: &str, key: &str) -> Result<Option<Vec<String>>, &'static str> {
        match self.raw(group, key) {
            None => Ok(None),
            Some(v) => unescape(v, true).map(Some),
        }
    }
}

enum KeyKind {
    Plain,
    Translation,
    Invalid,
}

fn group_line(line: &[u8]) -> Option<&[u8]> {
    let rest = line.strip_prefix(b"[")?;
    let close = rest.iter().position(|&b| b == b']')?;
    let (name, after) = rest.split_at(close);
    let after = after.get(1..).unwrap_or_default();
    if after.iter().all(|&b| b == b' ' || b == b'\t') {
        Some(name)
    } else {
        None
    }
}

fn key_kind(key: &[u8]) -> KeyKind {
    let base_len = key.iter().position(|&b| b == b'[' || b == b']').unwrap_or(key.len());
    if base_len == 0 {
        return KeyKind::Invalid;
    }
    let rest = key.get(base_len..).unwrap_or_default();
    match rest.split_first() {
        None => KeyKind::Plain,
        Some((b'[', tail)) => {
            let Some((b']', locale)) = tail.split_last() else { return KeyKind::Invalid };
            if !locale.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@')) {
                KeyKind::Invalid
            } else if locale.is_empty() {
                KeyKind::Plain
            } else {
                KeyKind::Translation
            }
        }
        Some(_) => KeyKind::Invalid,
    }
}

/// GLib's value unescaping; with `list`, splitting at unescaped `;`.
fn unescape(v: &[u8], list: bool) -> Result<Vec<String>, &'static str> {
    let mut items = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut bad_escape = false;
    let mut it = v.iter();
    while let Some(&b) = it.next() {
        if b == b'\\' {
            match it.next() {
                None => return Err("an escape character at the end of the value"),
                Some(b's') => cur.push(b' '),
                Some(b'n') => cur.push(b'\n'),
                Some(b't') => cur.push(b'\t'),
                Some(b'r') => cur.push(b'\r'),
                Some(b'\\') => cur.push(b'\\'),
                Some(b';') if list => cur.push(b';'),
                Some(&other) => {
                    bad_escape = true;
                    cur.push(b'\\');
                    cur.push(other);
                }
            }
        } else if b == b';' && list {
            items.push(std::mem::take(&mut cur));
        } else {
            cur.push(b);
        }
    }
    if bad_escape {
        return Err("an invalid escape sequence");
    }
    if !list || !cur.is_empty() {
        items.push(cur);
    }
    items.into_iter().map(|i| String::from_utf8(i).map_err(|_| "a value that is not UTF-8")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kf(s: &[u8]) -> KeyFile {
        KeyFile::parse(s, 1000).unwrap()
    }

    #[test]
    fn glib_rules() {
        assert_eq!(KeyFile::parse(b"k=v\n[a]\n", 10).unwrap_err().reason, "a key before the first group");
        assert!(KeyFile::parse(b"[a]\n;c\n", 10).is_err());
        assert!(KeyFile::parse(b"[a]\n=v\n", 10).is_err());
        assert!(KeyFile::parse(b"[a]\nk v\n", 10).is_err());
        assert!(KeyFile::parse(b"[]\n", 10).is_err());
        assert!(KeyFile::parse(b"[a]b]\n", 10).is_err());
        assert!(KeyFile::parse(b"[a\x01]\n", 10).is_err());
        assert!(KeyFile::parse(b"[a]\nk[=2\n", 10).is_err());
        assert!(KeyFile::parse(b"[a]\nk]=2\n", 10).is_err());
        assert!(KeyFile::parse(b"[a]\nk[de]x=1\n", 10).is_err());
        assert!(KeyFile::parse(b"\xef\xbb\xbf[a]\n", 10).is_err());
        assert!(KeyFile::parse(b"[a]\n[b\n", 10).is_err());
        assert_eq!(KeyFile::parse(b"[a]\n\n\n\n", 2).unwrap_err().line, 3);
        let k = kf(b"[a]\n  # c\n k = v \n");
        assert_eq!(k.string("a", "k").unwrap().unwrap(), "v ");
        let k = kf(b"[a]\nk=1\n[b]\n[a]\nk=3\nj=2\n");
        assert_eq!(k.string("a", "k").unwrap().unwrap(), "3");
        assert_eq!(k.keys("a").len(), 2);
        assert!(k.has_group("b") && !k.has_group("c"));
        let k = kf(b"[a]\r\nk=v\r\n\x0bj=w\nn=a\x00b\n\x00x=1\nl[de]=1\nm[]=2\n");
        assert_eq!(k.string("a", "k").unwrap().unwrap(), "v");
        assert_eq!(k.string("a", "\x0bj").unwrap().unwrap(), "w");
        assert_eq!(k.string("a", "n").unwrap().unwrap(), "a");
        assert_eq!(k.string("a", "l").unwrap(), None);
        assert_eq!(k.string("a", "m[]").unwrap().unwrap(), "2");
        assert_eq!(k.keys("a").len(), 4);
        assert_eq!(k.keys("zz").len(), 0);
    }

    #[test]
    fn values() {
        let k = kf(
            b"[a]\nk=\\s x\\;y\nl=x\\\nm=a;b;\nn=a;;b\no=a\\;b;c\np=;\nq=\nr= ;x\ns=\\n\\t\\r\\\\\nt=\xff\nu=a\\\\;b\n",
        );
        assert!(k.string("a", "k").is_err());
        assert_eq!(k.list("a", "k").unwrap().unwrap(), ["  x;y"]);
        assert!(k.string("a", "l").is_err() && k.list("a", "l").is_err());
        assert_eq!(k.list("a", "m").unwrap().unwrap(), ["a", "b"]);
        assert_eq!(k.list("a", "n").unwrap().unwrap(), ["a", "", "b"]);
        assert_eq!(k.list("a", "o").unwrap().unwrap(), ["a;b", "c"]);
        assert_eq!(k.list("a", "p").unwrap().unwrap(), [""]);
        assert_eq!(k.list("a", "q").unwrap().unwrap(), Vec::<String>::new());
        assert_eq!(k.string("a", "q").unwrap().unwrap(), "");
        assert_eq!(k.list("a", "r").unwrap().unwrap(), ["", "x"]);
        assert_eq!(k.string("a", "s").unwrap().unwrap(), "\n\t\r\\");
        assert!(k.string("a", "t").is_err());
        assert_eq!(k.list("a", "u").unwrap().unwrap(), ["a\\", "b"]);
        assert_eq!(k.list("a", "none").unwrap(), None);
        assert_eq!(k.raw("a", "m"), Some(&b"a;b;"[..]));
    }
}
