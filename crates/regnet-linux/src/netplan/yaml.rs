//! A YAML document as a tree, built from `saphyr-parser`'s events under budgets.
//!
//! The event parser never expands aliases and keeps its own nesting on the heap; this builder
//! is a loop over its events with an explicit stack, so nothing here recurses on input depth.
//! Budgets: nesting deeper than [`Limits::max_depth`] (capped at [`MAX_DEPTH`]) is refused when
//! it is opened; every node counts against [`Limits::max_nodes`], an alias counting as many
//! nodes as the tree it repeats (checked before the copy is made), and the text of scalars,
//! aliases included, may not exceed four times [`Limits::max_file_bytes`]. So a billion-laughs
//! file stops at the budget, in time and memory proportional to the budget.

use crate::Limits;
use saphyr_parser::{Event, Parser, ScalarStyle};
use std::collections::HashMap;

/// The deepest nesting accepted whatever the limits say (trees are dropped recursively by Rust,
/// so their depth must stay small).
pub(crate) const MAX_DEPTH: usize = 1024;

/// A YAML node. Scalars keep their text as written (netplan reads raw scalars: YAML 1.1
/// booleans and the like are interpreted by the reader, not here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    /// A scalar; `plain` when it was not quoted nor a block scalar.
    Scalar {
        /// The text.
        text: String,
        /// Unquoted.
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, pairs in document order (duplicates kept: netplan applies each in turn).
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The text of a scalar.
    pub(crate) fn scalar(&self) -> Option<&str> {
        match self {
            Node::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// A plain `~`, `null` or empty scalar.
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Node::Scalar { text, plain: true } if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// What kind of node, for messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Node::Scalar { .. } => "a scalar",
            Node::Seq(_) => "a sequence",
            Node::Map(_) => "a mapping",
        }
    }
}

enum Frame {
    Seq { items: Vec<Node>, anchor: usize, nodes0: usize, bytes0: usize },
    Map { pairs: Vec<(Node, Node)>, key: Option<Node>, anchor: usize, nodes0: usize, bytes0: usize },
}

struct Budget {
    nodes: usize,
    bytes: usize,
    max_nodes: usize,
    max_bytes: usize,
}

impl Budget {
    fn take(&mut self, nodes: usize, bytes: usize) -> Result<(), String> {
        self.nodes = self.nodes.saturating_add(nodes);
        self.bytes = self.bytes.saturating_add(bytes);
        if self.nodes > self.max_nodes {
            return Err(format!("more than {} YAML nodes (aliases expanded)", self.max_nodes));
        }
        if self.bytes > self.max_bytes {
            return Err(format!("more than {} bytes of YAML text (aliases expanded)", self.max_bytes));
        }
        Ok(())
    }
}

/// The first document of `text` as a tree (`None` for an empty stream), or why not.
pub(crate) fn parse(text: &str, limits: &Limits) -> Result<Option<Node>, String> {
    let max_depth = limits.max_depth.min(MAX_DEPTH);
    let max_bytes = usize::try_from(limits.max_file_bytes.saturating_mul(4)).unwrap_or(usize::MAX);
    let mut budget = Budget { nodes: 0, bytes: 0, max_nodes: limits.max_nodes, max_bytes };
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, (Node, usize, usize)> = HashMap::new();
    let mut root: Option<Node> = None;
    // Every event but the stream and document markers costs at least one node or closes a
    // collection, so this bounds the loop whatever the parser does.
    let max_events = limits.max_nodes.saturating_mul(2).saturating_add(16);
    let mut events = 0usize;
    while let Some(ev) = parser.next_event() {
        events += 1;
        if events > max_events {
            return Err(format!("more than {max_events} YAML events"));
        }
        let (ev, _span) = ev.map_err(|e| e.to_string())?;
        let (node, anchor, nodes0, bytes0) = match ev {
            Event::Nothing | Event::StreamStart | Event::DocumentStart(_) => continue,
            Event::DocumentEnd | Event::StreamEnd => break,
            Event::Scalar(text, style, anchor, _tag) => {
                let (n0, b0) = (budget.nodes, budget.bytes);
                budget.take(1, text.len())?;
                let plain = matches!(style, ScalarStyle::Plain);
                (Node::Scalar { text: text.into_owned(), plain }, anchor, n0, b0)
            }
            Event::Alias(id) => {
                let Some((node, nodes, bytes)) = anchors.get(&id) else {
                    return Err("an alias to an unknown anchor".into());
                };
                budget.take(*nodes, *bytes)?;
                (node.clone(), 0, 0, 0)
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= max_depth {
                    return Err(format!("YAML nested more than {max_depth} deep"));
                }
                let (nodes0, bytes0) = (budget.nodes, budget.bytes);
                budget.take(1, 0)?;
                stack.push(if matches!(ev, Event::SequenceStart(..)) {
                    Frame::Seq { items: Vec::new(), anchor, nodes0, bytes0 }
                } else {
                    Frame::Map { pairs: Vec::new(), key: None, anchor, nodes0, bytes0 }
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq { items, anchor, nodes0, bytes0 }) => (Node::Seq(items), anchor, nodes0, bytes0),
                Some(Frame::Map { pairs, anchor, nodes0, bytes0, .. }) => (Node::Map(pairs), anchor, nodes0, bytes0),
                None => return Err("a collection closed that was never opened".into()),
            },
        };
        if anchor != 0 {
            let cost = (budget.nodes.saturating_sub(nodes0), budget.bytes.saturating_sub(bytes0));
            // The copy kept for later aliases costs as much again.
            budget.take(cost.0, cost.1)?;
            anchors.insert(anchor, (node.clone(), cost.0, cost.1));
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { pairs, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => pairs.push((k, node)),
            },
        }
    }
    if !stack.is_empty() {
        return Err("the YAML document ends inside a collection".into());
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: &str) -> Node {
        Node::Scalar { text: t.into(), plain: true }
    }

    #[test]
    fn builds_maps_sequences_flow_and_aliases() {
        let doc = "a: &x [1, 'two', {k: v}]\nb: *x\nc:\n  - \"q\"\n  - ~\n---\nsecond: doc\n";
        let n = parse(doc, &Limits::default()).unwrap().unwrap();
        let list = Node::Seq(vec![
            s("1"),
            Node::Scalar { text: "two".into(), plain: false },
            Node::Map(vec![(s("k"), s("v"))]),
        ]);
        assert_eq!(
            n,
            Node::Map(vec![
                (s("a"), list.clone()),
                (s("b"), list),
                (s("c"), Node::Seq(vec![Node::Scalar { text: "q".into(), plain: false }, s("~")])),
            ])
        );
        assert!(s("~").is_null() && s("").is_null() && !s("x").is_null());
        assert_eq!(parse("", &Limits::default()).unwrap(), None);
        assert_eq!(parse("# only a comment\n", &Limits::default()).unwrap(), None);
    }

    #[test]
    fn budgets_hold() {
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..20 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = parse(&bomb, &Limits::default()).unwrap_err();
        assert!(e.contains("YAML nodes"), "{e}");
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        let e = parse(&deep, &Limits::default()).unwrap_err();
        // saphyr-parser's scanner stops flow nesting at its own limit (255) before ours.
        assert!(e.contains("nested") || e.contains("recursion limit"), "{e}");
        let deep64 = "[".repeat(65) + &"]".repeat(65);
        assert!(parse(&deep64, &Limits::default()).unwrap_err().contains("nested"));
        assert!(parse(&("[".repeat(64) + &"]".repeat(64)), &Limits::default()).is_ok());
        let deep_block: String = (0..10_000).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        assert!(parse(&deep_block, &Limits::default()).unwrap_err().contains("nested"));
        assert!(parse("a: *nope\n", &Limits::default()).unwrap_err().contains("unknown anchor"));
        assert!(parse("a: &r [*r]\n", &Limits::default()).is_err());
        assert!(parse("a: [1, 2\n", &Limits::default()).is_err());
        assert!(parse("a:\n\t- b\n", &Limits::default()).is_err());
        let big = "x".repeat(1000);
        let mut text = format!("a: &a {big}\nb: [");
        for _ in 0..100 {
            text.push_str("*a, ");
        }
        text.push_str("]\n");
        let small = Limits { max_file_bytes: 10_000, ..Limits::default() };
        assert!(parse(&text, &small).unwrap_err().contains("bytes"));
        let few = Limits { max_nodes: 3, ..Limits::default() };
        assert!(parse("[1, 2, 3, 4]", &few).is_err());
    }
}
