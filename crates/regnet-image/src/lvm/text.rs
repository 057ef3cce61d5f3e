//! The LVM2 metadata text: LVM's configuration syntax (`libdm/libdm-config.c`), parsed into a
//! flat tree of sections without recursion.
//!
//! ```text
//! # a comment, to the end of the line
//! vg0 {                                  # a section: a name, then { entries }
//!     id = "CBYfeO-1Qg0-GW08-2DvN-xdqQ-202O-0e1aa9"   # a string: \" and \\ are escapes
//!     seqno = 7                          # an integer (a leading 0 makes it octal, as strtoll)
//!     status = ["RESIZEABLE", "READ"]    # a list of scalars, commas optional
//! }
//! contents = "Text Format Volume Group"
//! ```
//!
//! Names are bare words (up to a space, `#`, `=`, `{` or `}`) or quoted strings. Values are
//! integers, decimals, double-quoted strings with escapes, single-quoted strings without, or a
//! list of those (lists do not nest). A NUL byte ends the text, as in LVM.
//!
//! Differences from LVM, all refusals of text LVM never writes: a bare word as a value (LVM
//! reads it as a string) is an error; a name given twice in one section is an error (LVM merges
//! repeated sections and keeps the last of repeated values, with a warning). An integer out of
//! the i64 range is kept as [`Value::OutOfRange`] and is an error only where it is used (LVM
//! accepts one such `creation_time`, written by old 32-bit builds).
//!
//! Bounds, fixed: sections nest at most [`MAX_DEPTH`] deep (LVM's own metadata is 4 deep); at most
//! [`MAX_ENTRIES`] keys and sections and [`MAX_LIST_ITEMS`] list items in all. The text itself
//! is at most [`ImageLimits::max_lvm_metadata_bytes`](crate::ImageLimits::max_lvm_metadata_bytes)
//! long. Each byte is looked at a bounded number of times; errors give the byte offset in the
//! text, the line, and what was expected.

use crate::error::{ImageError, Result};
use std::collections::HashSet;

/// Deepest nesting of sections (the root is depth 0).
pub(crate) const MAX_DEPTH: usize = 32;
/// Most keys and sections in one text.
pub(crate) const MAX_ENTRIES: usize = 1 << 18;
/// Most list items in one text.
pub(crate) const MAX_LIST_ITEMS: usize = 1 << 18;

/// A value of a key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// An integer.
    Int(i64),
    /// An integer outside the i64 range.
    OutOfRange,
    /// A decimal number (LVM writes none in VG metadata; its value is not kept).
    Float,
    /// A string.
    Str(String),
    /// A list of scalars.
    List(Vec<Value>),
}

/// A section: its keys in order, and its subsections as indices into [`Tree::sections`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Section {
    /// Its name (empty for the root).
    pub(crate) name: String,
    /// Byte offset of its name in the text.
    pub(crate) at: usize,
    /// Keys and their values, in text order.
    pub(crate) keys: Vec<(String, Value)>,
    /// Subsections, in text order.
    pub(crate) children: Vec<usize>,
}

impl Section {
    /// The value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.keys.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// A parsed text: `sections[0]` is the root.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tree {
    /// All sections, the root first, each after its parent.
    pub(crate) sections: Vec<Section>,
}

impl Tree {
    /// The root section.
    pub(crate) fn root(&self) -> Option<&Section> {
        self.sections.first()
    }

    /// The subsections of `s`.
    pub(crate) fn children<'a>(&'a self, s: &'a Section) -> impl Iterator<Item = &'a Section> + 'a {
        s.children.iter().filter_map(move |&i| self.sections.get(i))
    }

    /// The subsection of `s` named `name`.
    pub(crate) fn child<'a>(&'a self, s: &'a Section, name: &str) -> Option<&'a Section> {
        self.children(s).find(|c| c.name == name)
    }
}

/// Parses metadata text.
pub(crate) fn parse(text: &[u8]) -> Result<Tree> {
    Parser { t: text, pos: 0, entries: 0, items: 0 }.file()
}

/// The error for text at `pos`: where, what was expected, and what was found.
pub(crate) fn error_at(text: &[u8], pos: usize, expected: &str) -> ImageError {
    let before = text.get(..pos).unwrap_or(text);
    let line = before.iter().filter(|&&c| c == b'\n').count().saturating_add(1);
    let found = match text.get(pos) {
        None | Some(0) => "the end of the text".to_string(),
        Some(&c) if c.is_ascii_graphic() => format!("'{}'", char::from(c)),
        Some(&c) => format!("byte {c:#04x}"),
    };
    ImageError::Corrupt {
        what: "LVM metadata text",
        offset: pos as u64,
        reason: format!("line {line}, byte {}: expected {expected}, found {found}", pos.saturating_add(1)),
    }
}

/// The line of byte `pos` (1-based).
fn line_of(text: &[u8], pos: usize) -> usize {
    text.get(..pos).unwrap_or(text).iter().filter(|&&c| c == b'\n').count().saturating_add(1)
}

/// What `isspace` in the C locale accepts.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// The state of one parse.
struct Parser<'a> {
    t: &'a [u8],
    pos: usize,
    entries: usize,
    items: usize,
}

impl Parser<'_> {
    /// The byte at the cursor; `None` at the end or at a NUL.
    fn peek(&self) -> Option<u8> {
        self.t.get(self.pos).copied().filter(|&c| c != 0)
    }

    fn bump(&mut self) {
        self.pos = self.pos.saturating_add(1);
    }

    fn err(&self, expected: &str) -> ImageError {
        error_at(self.t, self.pos, expected)
    }

    /// Skips white space and comments.
    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            if is_space(c) {
                self.bump();
            } else if c == b'#' {
                while self.peek().is_some_and(|c| c != b'\n') {
                    self.bump();
                }
            } else {
                break;
            }
        }
    }

    /// The whole text: entries of the root until the end, sections opened and closed with an
    /// explicit stack.
    fn file(mut self) -> Result<Tree> {
        let mut sections = vec![Section { name: String::new(), at: 0, keys: Vec::new(), children: Vec::new() }];
        // Open sections: index, and the names already used in it.
        let mut stack: Vec<(usize, HashSet<String>)> = vec![(0, HashSet::new())];
        loop {
            self.skip_space();
            let Some(c) = self.peek() else {
                if let Some(&(open, _)) = stack.get(1..).and_then(|s| s.last()) {
                    let s = sections.get(open).map(|s| (s.name.as_str(), line_of(self.t, s.at))).unwrap_or_default();
                    return Err(self.err(&format!("'}}' closing section {:?} (opened on line {})", s.0, s.1)));
                }
                break;
            };
            if c == b'}' {
                if stack.len() <= 1 {
                    return Err(self.err("a name (no section is open)"));
                }
                stack.pop();
                self.bump();
                continue;
            }
            let at = self.pos;
            let name = self.name()?;
            let Some((current, names)) = stack.last_mut() else { break };
            let current = *current;
            if !names.insert(name.clone()) {
                return Err(error_at(self.t, at, &format!("a name not used before in this section ({name:?} is)")));
            }
            self.entries = self.entries.saturating_add(1);
            if self.entries > MAX_ENTRIES {
                return Err(error_at(self.t, at, &format!("at most {MAX_ENTRIES} keys and sections")));
            }
            self.skip_space();
            match self.peek() {
                Some(b'{') => {
                    if stack.len() > MAX_DEPTH {
                        return Err(self.err(&format!("sections nested at most {MAX_DEPTH} deep")));
                    }
                    self.bump();
                    let index = sections.len();
                    sections.try_reserve(1).map_err(|_| self.err("less metadata (out of memory)"))?;
                    sections.push(Section { name, at, keys: Vec::new(), children: Vec::new() });
                    if let Some(parent) = sections.get_mut(current) {
                        parent.children.push(index);
                    }
                    stack.push((index, HashSet::new()));
                }
                Some(b'=') => {
                    self.bump();
                    let value = self.value()?;
                    if let Some(s) = sections.get_mut(current) {
                        s.keys.push((name, value));
                    }
                }
                _ => return Err(self.err(&format!("'{{' or '=' after {name:?}"))),
            }
        }
        Ok(Tree { sections })
    }

    /// A section or key name: a quoted string, or a bare word.
    fn name(&mut self) -> Result<String> {
        let at = self.pos;
        let name = match self.peek() {
            Some(b'"' | b'\'') => self.string()?,
            _ => {
                while self.peek().is_some_and(|c| !is_space(c) && !matches!(c, b'#' | b'=' | b'{' | b'}')) {
                    self.bump();
                }
                String::from_utf8_lossy(self.t.get(at..self.pos).unwrap_or_default()).into_owned()
            }
        };
        if name.is_empty() {
            return Err(error_at(self.t, at, "a name"));
        }
        Ok(name)
    }

    /// A value after `=`: a scalar or a list of scalars.
    fn value(&mut self) -> Result<Value> {
        self.skip_space();
        if self.peek() != Some(b'[') {
            return self.scalar();
        }
        let open = self.pos;
        self.bump();
        let mut list = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                Some(b']') => {
                    self.bump();
                    return Ok(Value::List(list));
                }
                None => {
                    return Err(self.err(&format!("']' closing the list opened on line {}", line_of(self.t, open))));
                }
                Some(_) => {
                    let v = self.scalar()?;
                    self.items = self.items.saturating_add(1);
                    if self.items > MAX_LIST_ITEMS {
                        return Err(self.err(&format!("at most {MAX_LIST_ITEMS} list items")));
                    }
                    list.try_reserve(1).map_err(|_| self.err("a shorter list (out of memory)"))?;
                    list.push(v);
                    self.skip_space();
                    if self.peek() == Some(b',') {
                        self.bump();
                    }
                }
            }
        }
    }

    /// A number or a string.
    fn scalar(&mut self) -> Result<Value> {
        match self.peek() {
            Some(b'"' | b'\'') => Ok(Value::Str(self.string()?)),
            Some(b'0'..=b'9' | b'+' | b'-' | b'.') => self.number(),
            _ => Err(self.err("a value (a number, a quoted string, or a list in [ ])")),
        }
    }

    /// A number, lexed as LVM does: a sign, digit or point, then digits and at most one point.
    fn number(&mut self) -> Result<Value> {
        let start = self.pos;
        let mut float = self.peek() == Some(b'.');
        self.bump();
        while let Some(c) = self.peek() {
            if c.is_ascii_digit() {
                self.bump();
            } else if c == b'.' && !float {
                float = true;
                self.bump();
            } else {
                break;
            }
        }
        if float {
            return Ok(Value::Float);
        }
        let token = self.t.get(start..self.pos).unwrap_or_default();
        let (negative, digits) = match token.split_first() {
            Some((b'-', rest)) => (true, rest),
            Some((b'+', rest)) => (false, rest),
            _ => (false, token),
        };
        // strtoll with base 0: a leading 0 means octal.
        let radix: u32 = if digits.len() > 1 && digits.first() == Some(&b'0') { 8 } else { 10 };
        if digits.is_empty() || digits.iter().any(|&c| u32::from(c.wrapping_sub(b'0')) >= radix) {
            return Err(error_at(self.t, start, "a number ([+-] and decimal digits, or octal after a 0)"));
        }
        let mut n: i128 = 0;
        for &c in digits {
            n = n.saturating_mul(radix.into()).saturating_add(i128::from(c.wrapping_sub(b'0')));
        }
        let n = if negative { n.saturating_neg() } else { n };
        Ok(i64::try_from(n).map_or(Value::OutOfRange, Value::Int))
    }

    /// A double-quoted string (with `\"` and `\\` escapes) or a single-quoted one (without).
    fn string(&mut self) -> Result<String> {
        let open = self.pos;
        let quote = self.peek().unwrap_or(b'"');
        self.bump();
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == quote {
                break;
            }
            if quote == b'"' && c == b'\\' && self.t.get(self.pos.saturating_add(1)).is_some_and(|&n| n != 0) {
                self.bump();
            }
            self.bump();
        }
        if self.peek() != Some(quote) {
            return Err(self.err(&format!(
                "{} closing the string opened on line {}",
                if quote == b'"' { "'\"'" } else { "\"'\"" },
                line_of(self.t, open)
            )));
        }
        let raw = self.t.get(start..self.pos).unwrap_or_default();
        self.bump();
        let mut out = Vec::with_capacity(raw.len());
        let mut it = raw.iter().copied().peekable();
        while let Some(c) = it.next() {
            if quote == b'"' && c == b'\\' {
                if let Some(&n) = it.peek() {
                    if n == b'"' || n == b'\\' {
                        out.push(n);
                        it.next();
                        continue;
                    }
                }
            }
            out.push(c);
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    fn reason(e: ImageError) -> (u64, String) {
        match e {
            ImageError::Corrupt { offset, reason, .. } => (offset, reason),
            e => panic!("{e}"),
        }
    }

    #[test]
    fn lvm_text_as_pvcreate_writes_it() {
        let text = b"testvg {\nid = \"CBYfeO-1Qg0\"\nseqno = 1\nformat = \"lvm2\"\nstatus = [\"RESIZEABLE\", \"READ\", \"WRITE\"]\nflags = []\nextent_size = 8192\n\nphysical_volumes {\n\npv0 {\nid = \"QGRo9X\"\ndevice = \"/dev/loop0\"\n\nstatus = [\"ALLOCATABLE\"]\npe_start = 2048\npe_count = 3\n}\n}\n\n\n}\n# Generated by LVM2\n\ncontents = \"Text Format Volume Group\"\nversion = 1\n\ndescription = \"Write from vgcreate\"\n\ncreation_host = \"vm\"\t# Linux vm\ncreation_time = 1796537297\t# Sun Dec\n\n\0garbage after the NUL {";
        let tree = parse(text).unwrap();
        let root = tree.root().unwrap();
        assert_eq!(root.get("version"), Some(&Value::Int(1)));
        assert_eq!(root.get("contents"), Some(&Value::Str("Text Format Volume Group".into())));
        let vg = tree.child(root, "testvg").unwrap();
        assert_eq!(vg.get("seqno"), Some(&Value::Int(1)));
        assert_eq!(vg.get("flags"), Some(&Value::List(vec![])));
        assert_eq!(
            vg.get("status"),
            Some(&Value::List(vec![
                Value::Str("RESIZEABLE".into()),
                Value::Str("READ".into()),
                Value::Str("WRITE".into())
            ]))
        );
        let pvs = tree.child(vg, "physical_volumes").unwrap();
        let pv0 = tree.child(pvs, "pv0").unwrap();
        assert_eq!(pv0.get("pe_start"), Some(&Value::Int(2048)));
        assert_eq!(tree.children(pvs).count(), 1);
        assert!(tree.child(vg, "logical_volumes").is_none());
        assert_eq!(root.get("nothing"), None);
    }

    #[test]
    fn scalars() {
        let t = parse(b"a=-5 b=+7 c=010 d=1.5 e=.5 f='x\\\"y' g=\"q\\\"\\\\\\n\" h=99999999999999999999 i=-0 'j k'=1 \"l\"=[1 2,3,]")
            .unwrap();
        let r = t.root().unwrap();
        assert_eq!(r.get("a"), Some(&Value::Int(-5)));
        assert_eq!(r.get("b"), Some(&Value::Int(7)));
        assert_eq!(r.get("c"), Some(&Value::Int(8)));
        assert_eq!(r.get("d"), Some(&Value::Float));
        assert_eq!(r.get("e"), Some(&Value::Float));
        assert_eq!(r.get("f"), Some(&Value::Str("x\\\"y".into())));
        assert_eq!(r.get("g"), Some(&Value::Str("q\"\\\\n".into())));
        assert_eq!(r.get("h"), Some(&Value::OutOfRange));
        assert_eq!(r.get("i"), Some(&Value::Int(0)));
        assert_eq!(r.get("j k"), Some(&Value::Int(1)));
        assert_eq!(r.get("l"), Some(&Value::List(vec![Value::Int(1), Value::Int(2), Value::Int(3)])));
        assert_eq!(parse(b"").unwrap().sections.len(), 1);
        assert_eq!(parse(b"  # only a comment").unwrap().sections.len(), 1);
    }

    #[test]
    fn errors_say_where_and_what() {
        let cases: &[(&[u8], u64, &str)] = &[
            (b"a {\n b = 1\n", 11, "'}' closing section \"a\" (opened on line 1)"),
            (b"}", 0, "no section is open"),
            (b"a = ", 4, "expected a value"),
            (b"a = bare", 4, "expected a value"),
            (b"a = [1, [2]]", 8, "expected a value"),
            (b"a = [1, 2", 9, "']' closing the list opened on line 1"),
            (b"a = [,]", 5, "expected a value"),
            (b"\n\na = \"open", 11, "line 3, byte 12: expected '\"' closing the string opened on line 3"),
            (b"a = 'open", 9, "\"'\" closing the string"),
            (b"a = 1 a = 2", 6, "a name not used before in this section (\"a\" is)"),
            (b"s {} s {}", 5, "a name not used before"),
            (b"a 1", 2, "expected '{' or '=' after \"a\""),
            (b"a = -", 4, "expected a number"),
            (b"a = 09", 4, "expected a number"),
            (b"a = +", 4, "expected a number"),
            (b"= 1", 0, "expected a name, found '='"),
            (b"\"\" = 1", 0, "expected a name"),
            (b"a = \x01", 4, "found byte 0x01"),
        ];
        for &(text, offset, want) in cases {
            let (at, why) = reason(parse(text).unwrap_err());
            assert_eq!(at, offset, "{:?}: {why}", String::from_utf8_lossy(text));
            assert!(why.contains(want), "{:?}: {why}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn nesting_bombs_end_in_an_error_not_a_stack_overflow() {
        let deep = "a{".repeat(MAX_DEPTH);
        assert!(parse(format!("{deep}{}", "}".repeat(MAX_DEPTH)).as_bytes()).is_ok());
        let bomb = "a{".repeat(500_000);
        let (at, why) = reason(parse(bomb.as_bytes()).unwrap_err());
        assert_eq!(at, (MAX_DEPTH * 2 + 1) as u64);
        assert!(why.contains("nested at most 32 deep"), "{why}");
        // Lists do not nest at all.
        assert!(parse("a = ".to_string().add_brackets(100_000).as_bytes()).is_err());
    }

    trait Brackets {
        fn add_brackets(self, n: usize) -> String;
    }
    impl Brackets for String {
        fn add_brackets(self, n: usize) -> String {
            self + &"[".repeat(n) + &"]".repeat(n)
        }
    }

    #[test]
    fn counts_are_bounded() {
        let many_keys: String = (0..=MAX_ENTRIES).map(|i| format!("k{i}=1\n")).collect();
        let (_, why) = reason(parse(many_keys.as_bytes()).unwrap_err());
        assert!(why.contains("at most 262144 keys and sections"), "{why}");
        let long_list = format!("a=[{}]", "1,".repeat(MAX_LIST_ITEMS + 1));
        let (_, why) = reason(parse(long_list.as_bytes()).unwrap_err());
        assert!(why.contains("at most 262144 list items"), "{why}");
    }
}
