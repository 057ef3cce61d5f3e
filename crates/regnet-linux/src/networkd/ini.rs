//! systemd's INI syntax, as its conf-parser reads unit and network files: `[Section]` headers,
//! `Key=Value` with whitespace trimmed, `#` and `;` comment lines, a trailing `\` continuing the
//! line (the backslash becomes a space; comment lines inside a continuation are skipped). Quotes
//! are not special here: each setting's parser unquotes its own words.

use crate::{Limits, Warning};

/// One `[Section]` with its assignments in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Section {
    pub name: String,
    pub entries: Vec<(String, String)>,
}

/// The sections of one file, at most `max_nodes` lines read (beyond, a warning).
pub(crate) fn parse(text: &str, path: &str, limits: &Limits, warnings: &mut Vec<Warning>) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    let mut cont: Option<String> = None;
    let mut outside = false;
    let mut lines = 0usize;
    let mut bad = 0usize;
    for raw in text.split('\n') {
        lines += 1;
        if lines > limits.max_nodes {
            warnings.push(Warning::new(
                "too_many_lines",
                format!("more than {} lines: the rest of the file is not read", limits.max_nodes),
                Some(path),
            ));
            cont = None;
            break;
        }
        let l = raw.trim_matches(|c: char| c.is_ascii_whitespace());
        let comment = l.starts_with('#') || l.starts_with(';');
        if cont.is_some() && comment {
            continue;
        }
        if cont.is_none() && (l.is_empty() || comment) {
            continue;
        }
        let trailing = l.bytes().rev().take_while(|&b| b == b'\\').count();
        if trailing % 2 == 1 {
            let c = cont.get_or_insert_with(String::new);
            c.push_str(l.get(..l.len() - 1).unwrap_or(""));
            c.push(' ');
            continue;
        }
        let full = match cont.take() {
            Some(mut c) => {
                c.push_str(l);
                c
            }
            None => l.to_owned(),
        };
        line(&full, &mut sections, &mut outside, &mut bad);
    }
    if let Some(c) = cont {
        line(c.trim_end(), &mut sections, &mut outside, &mut bad);
    }
    if outside {
        warnings.push(Warning::new("bad_line", "assignments before the first [section] are ignored", Some(path)));
    }
    if bad > 0 {
        warnings.push(Warning::new(
            "bad_line",
            format!("{bad} line(s) that are neither [section] nor key=value, ignored"),
            Some(path),
        ));
    }
    sections
}

fn line(l: &str, sections: &mut Vec<Section>, outside: &mut bool, bad: &mut usize) {
    if let Some(rest) = l.strip_prefix('[') {
        match rest.strip_suffix(']') {
            Some(name) if !name.is_empty() => sections.push(Section { name: name.to_owned(), entries: Vec::new() }),
            _ => *bad += 1,
        }
        return;
    }
    let Some((k, v)) = l.split_once('=') else {
        *bad += 1;
        return;
    };
    let Some(sec) = sections.last_mut() else {
        *outside = true;
        return;
    };
    let ws = |c: char| c.is_ascii_whitespace();
    sec.entries.push((k.trim_matches(ws).to_owned(), v.trim_matches(ws).to_owned()));
}

/// Splits a value into words as systemd's `extract_first_word(…, EXTRACT_UNQUOTE)` does for the
/// common cases: whitespace separates, `'…'` and `"…"` group, `\` escapes the next character.
pub(crate) fn words(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut has = false;
    let mut quote: Option<char> = None;
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                    has = true;
                }
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                has = true;
            }
            (None, c) if c.is_ascii_whitespace() => {
                if has {
                    out.push(std::mem::take(&mut cur));
                    has = false;
                }
            }
            (None, c) => {
                cur.push(c);
                has = true;
            }
        }
    }
    if has {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemd_ini() {
        let mut w = Vec::new();
        let text = "X=1\n[Match]\n  Name = en* \\\n# inside\n  eth0\n; c\n# c\nbogus\n[]\n[Network]\nDNS=1.1.1.1\\";
        let s = parse(text, "/f", &Limits::default(), &mut w);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].entries, vec![("Name".to_owned(), "en*  eth0".to_owned())]);
        assert_eq!(s[1].entries, vec![("DNS".to_owned(), "1.1.1.1".to_owned())]);
        assert_eq!(w.len(), 2);
        assert_eq!(words(" a 'b c' \"d\"\\ e \\"), vec!["a", "b c", "d e"]);
        assert_eq!(words(""), Vec::<String>::new());
        assert_eq!(words("''"), vec![""]);
    }
}
