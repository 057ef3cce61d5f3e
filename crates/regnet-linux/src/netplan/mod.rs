//! netplan (`/lib`, `/etc`, `/run` `netplan/*.yaml`), read as netplan's own parser does.
//!
//! Files: only `*.yaml` (not hidden names) in `/lib/netplan`, `/etc/netplan` and `/run/netplan`;
//! a file in `/run` hides a file of the same name in `/etc`, which hides one in `/lib`. The
//! files are then applied in byte order of their names, each onto the definitions of the ones
//! before it, as netplan's parser does: a scalar overwrites, a sequence appends (addresses,
//! nameservers and search domains without duplicates), a mapping merges key by key; a later
//! definition may not change an ID's device type.
//!
//! Names: `set-name` when present; else the ID when there is no `match`; else the `match`
//! name when it is not a glob; else the ID, with a `matched_name` warning, since the real name
//! depends on which hardware matches.
//!
//! Every value is checked as netplan checks it; a value netplan would refuse is a `bad_value`
//! warning (netplan refuses the whole configuration for it: the warning says so) and is left
//! out. A file that is not YAML, not UTF-8, too big, too deep or too large once its aliases
//! are expanded is a `bad_file` warning and the other files still apply.

mod yaml;

use crate::{FileKind, GuestFiles, IfAddress, IfRoute, Interface, InterfaceKind, Limits, Stack, StackConfig, Warning};
use std::collections::{BTreeMap, HashSet};
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use yaml::Node;

/// The directories netplan reads, lowest first (a later one hides a same-named file).
const DIRS: [&str; 3] = ["/lib/netplan", "/etc/netplan", "/run/netplan"];

/// Reads the netplan configuration: the interfaces it defines and the renderer it names
/// (`"networkd"` or `"NetworkManager"`; `None` when no file names one, and netplan then uses
/// networkd).
pub fn read(files: &mut dyn GuestFiles, limits: &Limits) -> (StackConfig, Option<String>) {
    let mut out = StackConfig::default();
    let names = collect(files, limits, &mut out.warnings);
    let mut state = State::new(limits);
    for path in names {
        let text = match files.read(&path, limits.max_file_bytes) {
            Ok(Some(data)) => data,
            Ok(None) => continue,
            Err(e) => {
                out.warnings.push(Warning::new("bad_file", e.to_string(), Some(&path)));
                continue;
            }
        };
        out.files.push(path.clone());
        let text = match String::from_utf8(text) {
            Ok(t) => t,
            Err(e) => {
                out.warnings.push(Warning::new("bad_file", format!("not UTF-8: {e}"), Some(&path)));
                continue;
            }
        };
        match yaml::parse(&text, limits) {
            Ok(Some(root)) => state.apply_file(&root, &path),
            Ok(None) => {}
            Err(e) => out.warnings.push(Warning::new("bad_file", e, Some(&path))),
        }
        out.warnings.append(&mut state.warnings);
    }
    let renderer = state.renderer.clone();
    let refused = state.refused;
    out.interfaces = state.finish();
    out.warnings.append(&mut state.warnings);
    // `netplan generate` stops at the first value it refuses and renders nothing; the parts are
    // still returned (for people to read), and `refused` says boot will apply none of them.
    out.refused = refused;
    (out, renderer)
}

/// The files to read, in the order netplan applies them.
fn collect(files: &mut dyn GuestFiles, limits: &Limits, warnings: &mut Vec<Warning>) -> Vec<String> {
    let mut by_name: BTreeMap<Vec<u8>, String> = BTreeMap::new();
    for dir in DIRS {
        let entries = match files.list(dir) {
            Ok(Some(e)) => e,
            Ok(None) => continue,
            Err(e) => {
                warnings.push(Warning::new("bad_file", e.to_string(), Some(dir)));
                continue;
            }
        };
        for (name, kind) in entries {
            if !name.ends_with(b".yaml") || name.starts_with(b".") || matches!(kind, FileKind::Dir | FileKind::Other) {
                continue;
            }
            let Ok(text) = std::str::from_utf8(&name) else {
                warnings.push(Warning::new(
                    "skipped_file",
                    format!("a file name that is not UTF-8 in {dir}: {}", String::from_utf8_lossy(&name)),
                    Some(dir),
                ));
                continue;
            };
            let path = format!("{dir}/{text}");
            if !by_name.contains_key(&name) && by_name.len() >= limits.max_files {
                warnings.push(Warning::new(
                    "skipped_file",
                    format!("more than {} netplan files: {path} and later ones are not read", limits.max_files),
                    Some(&path),
                ));
                return by_name.into_values().collect();
            }
            by_name.insert(name, path);
        }
    }
    by_name.into_values().collect()
}

/// The device types netplan knows that this reader turns into interfaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Kind {
    #[default]
    Ethernet,
    Vlan,
    Bond,
    Bridge,
}

impl Kind {
    fn section(self) -> &'static str {
        match self {
            Kind::Ethernet => "ethernets",
            Kind::Vlan => "vlans",
            Kind::Bond => "bonds",
            Kind::Bridge => "bridges",
        }
    }
}

/// One netplan definition (an ID under a device type), as merged so far.
#[derive(Debug, Clone, Default)]
struct Def {
    kind: Kind,
    id: String,
    has_match: bool,
    match_mac: Option<String>,
    match_name: Option<String>,
    set_name: Option<String>,
    set_mac: Option<String>,
    mtu: Option<u32>,
    dhcp4: Option<bool>,
    dhcp6: Option<bool>,
    addr4: Uniq<IfAddress>,
    addr6: Uniq<IfAddress>,
    /// Addresses written as mappings (with options): networkd gets them after the plain ones.
    addr_opts: Uniq<IfAddress>,
    gateway4: Option<IpAddr>,
    gateway6: Option<IpAddr>,
    routes: Vec<IfRoute>,
    /// netplan drops a route that repeats one already added.
    route_seen: HashSet<(IfAddress, Option<IpAddr>, Option<u32>)>,
    dns4: Uniq<IpAddr>,
    dns6: Uniq<IpAddr>,
    search: Uniq<String>,
    vlan_id: Option<u16>,
    link: Option<String>,
    members: Uniq<String>,
    files: Vec<String>,
}

impl Def {
    fn new(kind: Kind, id: &str) -> Self {
        Def { kind, id: id.to_owned(), ..Def::default() }
    }
}

/// The merged definitions, with the budgets that bound them.
struct State {
    defs: Vec<Def>,
    index: BTreeMap<String, usize>,
    renderer: Option<String>,
    warnings: Vec<Warning>,
    max_interfaces: usize,
    /// List items (addresses, routes, DNS servers, members...) still allowed over all files.
    items_left: usize,
    items_warned: bool,
    interfaces_warned: bool,
    /// A value netplan refuses was met: `netplan generate` renders nothing.
    refused: bool,
}

/// Where a value sits, for messages: `ethernets.eth0.mtu`.
struct At<'a> {
    file: &'a str,
    path: String,
}

fn key_text(k: &Node) -> Option<&str> {
    k.scalar()
}

/// A YAML 1.1 boolean as netplan reads it (case-insensitive `true/on/yes/y`, `false/off/no/n`).
fn boolean(text: &str) -> Option<bool> {
    let t = text.to_ascii_lowercase();
    match t.as_str() {
        "true" | "on" | "yes" | "y" => Some(true),
        "false" | "off" | "no" | "n" => Some(false),
        _ => None,
    }
}

/// A MAC address as `00:50:56:9A:3C:1F` (netplan also takes 20-byte InfiniBand addresses).
pub(crate) fn mac(text: &str) -> Option<String> {
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() != 6 && parts.len() != 20 {
        return None;
    }
    if parts.iter().any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_hexdigit())) {
        return None;
    }
    Some(text.to_ascii_uppercase())
}

/// `a.b.c.d/len` or `v6/len`; a missing prefix is refused unless `host` (then /32 or /128).
fn prefixed(text: &str, host: bool) -> Option<IfAddress> {
    let (addr, len) = match text.rsplit_once('/') {
        Some((a, l)) => (a, Some(l)),
        None if host => (text, None),
        None => return None,
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = match len {
        Some(l) => l.parse::<u8>().ok().filter(|&l| l <= max)?,
        None => max,
    };
    Some(IfAddress::new(ip, len))
}

fn is_glob(name: &str) -> bool {
    name.contains(['*', '?', '['])
}

impl State {
    fn new(limits: &Limits) -> Self {
        State {
            defs: Vec::new(),
            index: BTreeMap::new(),
            renderer: None,
            warnings: Vec::new(),
            max_interfaces: limits.max_interfaces,
            items_left: limits.max_nodes,
            items_warned: false,
            interfaces_warned: false,
            refused: false,
        }
    }

    fn bad(&mut self, at: &At, what: impl std::fmt::Display) {
        self.refused = true;
        self.warnings.push(Warning::new(
            "bad_value",
            format!("{}: {what} (netplan refuses the whole configuration for this)", at.path),
            Some(at.file),
        ));
    }

    /// One more list item, or `false` (with one warning) when the budget is spent.
    fn item(&mut self, at: &At) -> bool {
        if self.items_left == 0 {
            if !self.items_warned {
                self.items_warned = true;
                self.warnings.push(Warning::new(
                    "too_many",
                    format!("{}: too many list items over all netplan files; the rest are ignored", at.path),
                    Some(at.file),
                ));
            }
            return false;
        }
        self.items_left -= 1;
        true
    }

    fn apply_file(&mut self, root: &Node, file: &str) {
        let top = At { file, path: String::new() };
        let Node::Map(pairs) = root else {
            self.bad(&top, format!("the document is {}, not a mapping", root.kind()));
            return;
        };
        for (k, network) in pairs {
            if key_text(k) != Some("network") {
                continue;
            }
            let at = At { file, path: "network".into() };
            let Node::Map(sections) = network else {
                self.bad(&at, format!("{} where a mapping is expected", network.kind()));
                continue;
            };
            for (k, v) in sections {
                let Some(key) = key_text(k) else { continue };
                let at = At { file, path: format!("network.{key}") };
                match key {
                    "version" => {
                        if v.scalar() != Some("2") {
                            self.bad(&at, "only version 2 is supported");
                        }
                    }
                    "renderer" => match v.scalar() {
                        Some(r @ ("networkd" | "NetworkManager" | "sriov")) => self.renderer = Some(r.to_owned()),
                        _ => self.bad(&at, "unknown renderer"),
                    },
                    "ethernets" => self.section(Kind::Ethernet, v, &at),
                    "vlans" => self.section(Kind::Vlan, v, &at),
                    "bonds" => self.section(Kind::Bond, v, &at),
                    "bridges" => self.section(Kind::Bridge, v, &at),
                    _ => {
                        if !v.is_null() {
                            self.warnings.push(Warning::new(
                                "unsupported",
                                format!("{}: not read by regnet", at.path),
                                Some(file),
                            ));
                        }
                    }
                }
            }
        }
    }

    fn section(&mut self, kind: Kind, node: &Node, at: &At) {
        let Node::Map(defs) = node else {
            self.bad(at, format!("{} where a mapping is expected", node.kind()));
            return;
        };
        for (k, v) in defs {
            let Some(id) = key_text(k) else {
                self.bad(at, "an ID that is not a scalar");
                continue;
            };
            let at = At { file: at.file, path: format!("{}.{id}", kind.section()) };
            let body: &[(Node, Node)] = match v {
                Node::Map(p) => p,
                n => {
                    self.bad(&at, format!("{} where a mapping is expected", n.kind()));
                    continue;
                }
            };
            let i = match self.index.get(id) {
                Some(&i) => {
                    if self.defs.get(i).map(|d| d.kind) != Some(kind) {
                        self.bad(&at, "an updated definition changes the device type");
                        continue;
                    }
                    i
                }
                None => {
                    if self.defs.len() >= self.max_interfaces {
                        if !self.interfaces_warned {
                            self.interfaces_warned = true;
                            self.warnings.push(Warning::new(
                                "too_many",
                                format!(
                                    "{}: more than {} netplan definitions; the rest are ignored",
                                    at.path, self.max_interfaces
                                ),
                                Some(at.file),
                            ));
                        }
                        continue;
                    }
                    self.defs.push(Def::new(kind, id));
                    self.index.insert(id.to_owned(), self.defs.len() - 1);
                    self.defs.len() - 1
                }
            };
            let Some(mut def) = self.defs.get_mut(i).map(std::mem::take) else { continue };
            if def.files.last().map(String::as_str) != Some(at.file) {
                def.files.push(at.file.to_owned());
            }
            for (k, v) in body {
                let Some(key) = key_text(k) else { continue };
                let at = At { file: at.file, path: format!("{}.{key}", at.path) };
                self.setting(&mut def, key, v, &at);
            }
            if let Some(slot) = self.defs.get_mut(i) {
                *slot = def;
            }
        }
    }

    fn scalar<'n>(&mut self, v: &'n Node, at: &At) -> Option<&'n str> {
        match v.scalar() {
            Some(s) => Some(s),
            None => {
                self.bad(at, format!("{} where a scalar is expected", v.kind()));
                None
            }
        }
    }

    fn seq<'n>(&mut self, v: &'n Node, at: &At) -> &'n [Node] {
        match v {
            Node::Seq(items) => items,
            n => {
                self.bad(at, format!("{} where a sequence is expected", n.kind()));
                &[]
            }
        }
    }

    fn map<'n>(&mut self, v: &'n Node, at: &At) -> &'n [(Node, Node)] {
        match v {
            Node::Map(pairs) => pairs,
            n => {
                self.bad(at, format!("{} where a mapping is expected", n.kind()));
                &[]
            }
        }
    }

    fn bool_of(&mut self, v: &Node, at: &At) -> Option<bool> {
        let s = self.scalar(v, at)?;
        let b = boolean(s);
        if b.is_none() {
            self.bad(at, format!("invalid boolean value '{s}'"));
        }
        b
    }

    fn ip_of(&mut self, v: &Node, at: &At) -> Option<IpAddr> {
        let s = self.scalar(v, at)?;
        let ip = s.parse::<IpAddr>().ok();
        if ip.is_none() {
            self.bad(at, format!("malformed address '{s}'"));
        }
        ip
    }

    fn setting(&mut self, def: &mut Def, key: &str, v: &Node, at: &At) {
        match key {
            "match" => {
                def.has_match = true;
                for (k, v) in self.map(v, at) {
                    let Some(key) = key_text(k) else { continue };
                    let at = At { file: at.file, path: format!("{}.{key}", at.path) };
                    match key {
                        "macaddress" => {
                            if let Some(s) = self.scalar(v, &at) {
                                match mac(s) {
                                    Some(m) => def.match_mac = Some(m),
                                    None => self.bad(&at, format!("invalid MAC address '{s}'")),
                                }
                            }
                        }
                        "name" => def.match_name = self.scalar(v, &at).map(str::to_owned),
                        _ => {}
                    }
                }
            }
            "set-name" => def.set_name = self.scalar(v, at).map(str::to_owned),
            "macaddress" => {
                if let Some(s) = self.scalar(v, at) {
                    match mac(s) {
                        Some(m) => def.set_mac = Some(m),
                        // netplan's special values (`permanent`, `random`, `stable`...) set none.
                        None if s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') => def.set_mac = None,
                        None => self.bad(at, format!("invalid MAC address '{s}'")),
                    }
                }
            }
            "mtu" => {
                if let Some(s) = self.scalar(v, at) {
                    match s.parse::<u32>() {
                        Ok(m) => def.mtu = Some(m),
                        Err(_) => self.bad(at, format!("invalid MTU '{s}'")),
                    }
                }
            }
            "dhcp4" => def.dhcp4 = self.bool_of(v, at).or(def.dhcp4),
            "dhcp6" => def.dhcp6 = self.bool_of(v, at).or(def.dhcp6),
            "addresses" => self.addresses(def, v, at),
            "gateway4" | "gateway6" => {
                self.warnings.push(Warning::new(
                    "deprecated",
                    format!("{}: deprecated, netplan wants `routes: [{{to: default, via: …}}]`", at.path),
                    Some(at.file),
                ));
                if let Some(ip) = self.ip_of(v, at) {
                    match (key, ip) {
                        ("gateway4", IpAddr::V4(_)) => def.gateway4 = Some(ip),
                        ("gateway6", IpAddr::V6(_)) => def.gateway6 = Some(ip),
                        _ => self.bad(at, format!("'{ip}' is of the wrong family")),
                    }
                }
            }
            "routes" => {
                for (n, r) in self.seq(v, at).iter().enumerate() {
                    let at = At { file: at.file, path: format!("{}[{n}]", at.path) };
                    if self.item(&at) {
                        self.route(def, r, &at);
                    }
                }
            }
            "nameservers" => {
                for (k, v) in self.map(v, at) {
                    let Some(key) = key_text(k) else { continue };
                    let at = At { file: at.file, path: format!("{}.{key}", at.path) };
                    match key {
                        "addresses" => {
                            for a in self.seq(v, &at) {
                                if !self.item(&at) {
                                    break;
                                }
                                match self.ip_of(a, &at) {
                                    Some(ip @ IpAddr::V4(_)) => push_new(&mut def.dns4, ip),
                                    Some(ip @ IpAddr::V6(_)) => push_new(&mut def.dns6, ip),
                                    None => {}
                                }
                            }
                        }
                        "search" => {
                            for s in self.seq(v, &at) {
                                if !self.item(&at) {
                                    break;
                                }
                                if let Some(s) = self.scalar(s, &at) {
                                    push_new(&mut def.search, s.to_owned());
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            "id" if def.kind == Kind::Vlan => {
                if let Some(s) = self.scalar(v, at) {
                    match s.parse::<u16>() {
                        Ok(id) if id <= 4094 => def.vlan_id = Some(id),
                        _ => self.bad(at, format!("invalid VLAN ID '{s}'")),
                    }
                }
            }
            "link" if def.kind == Kind::Vlan => def.link = self.scalar(v, at).map(str::to_owned),
            "interfaces" if matches!(def.kind, Kind::Bond | Kind::Bridge) => {
                for m in self.seq(v, at) {
                    if !self.item(at) {
                        break;
                    }
                    if let Some(m) = self.scalar(m, at) {
                        push_new(&mut def.members, m.to_owned());
                    }
                }
            }
            _ => {}
        }
    }

    fn addresses(&mut self, def: &mut Def, v: &Node, at: &At) {
        for a in self.seq(v, at) {
            if !self.item(at) {
                break;
            }
            let (text, with_options) = match a {
                Node::Scalar { text, .. } => (text.as_str(), false),
                // `- 10.0.0.5/24: {label: …}`: the first key is the address.
                Node::Map(pairs) => match pairs.first().and_then(|(k, _)| k.scalar()) {
                    Some(t) => (t, true),
                    None => {
                        self.bad(at, "an address mapping without an address");
                        continue;
                    }
                },
                Node::Seq(_) => {
                    self.bad(at, "a sequence where an address is expected");
                    continue;
                }
            };
            if !text.contains('/') {
                self.bad(at, format!("address '{text}' is missing /prefixlength"));
                continue;
            }
            match prefixed(text, false) {
                Some(addr) if with_options && def.addr_opts.seen.contains(&addr) => {
                    // netplan's parser returns from the whole list when an address with options
                    // is there already (its guard against parsing a file twice), so the rest of
                    // this list is dropped.
                    return;
                }
                Some(addr) if addr.prefix_len > 0 || with_options => {
                    let list = match (with_options, addr.address) {
                        (true, _) => &mut def.addr_opts,
                        (false, IpAddr::V4(_)) => &mut def.addr4,
                        (false, IpAddr::V6(_)) => &mut def.addr6,
                    };
                    push_new(list, addr);
                }
                Some(_) => self.bad(at, format!("invalid prefix length in address '{text}'")),
                None => self.bad(at, format!("malformed address '{text}'")),
            }
        }
    }

    fn route(&mut self, def: &mut Def, r: &Node, at: &At) {
        let mut to: Option<IfAddress> = None;
        let mut via: Option<IpAddr> = None;
        let mut metric: Option<u32> = None;
        let before = self.warnings.len();
        for (k, v) in self.map(r, at) {
            let Some(key) = key_text(k) else { continue };
            let at = At { file: at.file, path: format!("{}.{key}", at.path) };
            match key {
                "to" => match self.scalar(v, &at) {
                    Some("default") => to = Some(IfAddress::v4(Ipv4Addr::UNSPECIFIED, 0)),
                    Some(s) => match prefixed(s, true) {
                        Some(a) => to = Some(a),
                        None => self.bad(&at, format!("malformed address '{s}'")),
                    },
                    None => {}
                },
                "via" => via = self.ip_of(v, &at).or(via),
                "metric" => {
                    if let Some(s) = self.scalar(v, &at) {
                        match s.parse::<u32>() {
                            Ok(m) => metric = Some(m),
                            Err(_) => self.bad(&at, format!("invalid metric '{s}'")),
                        }
                    }
                }
                _ => {}
            }
        }
        if self.warnings.len() > before {
            // netplan refuses the route (and the configuration); so does this reader.
            return;
        }
        let Some(mut to) = to else {
            self.bad(at, "a route without `to`");
            return;
        };
        // `to: default` takes the family of `via`.
        if to.prefix_len == 0 && to.address == IpAddr::V4(Ipv4Addr::UNSPECIFIED) && matches!(via, Some(IpAddr::V6(_))) {
            to = IfAddress::v6(Ipv6Addr::UNSPECIFIED, 0);
        }
        if via.is_some_and(|v| v.is_ipv4() != to.address.is_ipv4()) {
            self.bad(at, "IP family mismatch between `to` and `via`");
            return;
        }
        if def.route_seen.insert((to, via, metric)) {
            def.routes.push(IfRoute { to, via, metric });
        }
    }

    /// The interfaces, in the order their IDs first appeared.
    fn finish(&mut self) -> Vec<Interface> {
        let names: BTreeMap<String, String> = self.defs.iter().map(|d| (d.id.clone(), self.name_of(d))).collect();
        let mut out = Vec::with_capacity(self.defs.len());
        let defs = std::mem::take(&mut self.defs);
        for d in defs {
            let name = names.get(&d.id).cloned().unwrap_or_else(|| d.id.clone());
            let file = d.files.first().cloned();
            if d.set_name.is_none() && d.has_match && d.match_name.as_deref().is_none_or(is_glob) {
                self.warnings.push(Warning::new(
                    "matched_name",
                    format!(
                        "netplan ID {}: the interface's name depends on the hardware its `match` finds; the ID stands for it",
                        d.id
                    ),
                    file.as_deref(),
                ));
            }
            let mut resolve = |m: &String, what: &str| -> String {
                match names.get(m) {
                    Some(n) => n.clone(),
                    None => {
                        self.warnings.push(Warning::new(
                            "bad_value",
                            format!("{}.{}: {what} '{m}' is not defined", d.kind.section(), d.id),
                            file.as_deref(),
                        ));
                        m.clone()
                    }
                }
            };
            let kind = match d.kind {
                Kind::Ethernet => InterfaceKind::Ethernet,
                Kind::Vlan => {
                    let link = d.link.as_ref().map(|l| resolve(l, "link")).unwrap_or_default();
                    if d.vlan_id.is_none() || d.link.is_none() {
                        self.warnings.push(Warning::new(
                            "bad_value",
                            format!("vlans.{}: a VLAN needs both `id` and `link`", d.id),
                            file.as_deref(),
                        ));
                    }
                    InterfaceKind::Vlan { id: d.vlan_id.unwrap_or(0), link }
                }
                Kind::Bond => {
                    InterfaceKind::Bond { members: d.members.list.iter().map(|m| resolve(m, "interface")).collect() }
                }
                Kind::Bridge => {
                    InterfaceKind::Bridge { members: d.members.list.iter().map(|m| resolve(m, "interface")).collect() }
                }
            };
            let mut gateways = Uniq::default();
            let mut routes = Vec::new();
            for g in d.gateway4.iter().chain(d.gateway6.iter()) {
                push_new(&mut gateways, *g);
            }
            for r in d.routes {
                match (r.to.prefix_len, r.via) {
                    (0, Some(via)) if r.to.address.is_unspecified() => push_new(&mut gateways, via),
                    _ => routes.push(r),
                }
            }
            let mut addresses = d.addr4;
            for a in d.addr6.list.into_iter().chain(d.addr_opts.list) {
                addresses.push(a);
            }
            let mut dns = d.dns4.list;
            dns.extend(d.dns6.list);
            out.push(Interface {
                name,
                mac: d.match_mac,
                set_mac: d.set_mac,
                kind,
                dhcp4: d.dhcp4.unwrap_or(false),
                dhcp6: d.dhcp6.unwrap_or(false),
                addresses: addresses.list,
                gateways: gateways.list,
                routes,
                dns,
                search: d.search.list,
                mtu: d.mtu,
                stack: Some(Stack::Netplan),
                files: d.files,
            });
        }
        out
    }

    fn name_of(&self, d: &Def) -> String {
        if let Some(n) = &d.set_name {
            return n.clone();
        }
        if !d.has_match {
            return d.id.clone();
        }
        match &d.match_name {
            Some(n) if !is_glob(n) => n.clone(),
            _ => d.id.clone(),
        }
    }
}

/// A list without duplicates, in insertion order, in linear time.
#[derive(Debug, Clone)]
struct Uniq<T> {
    list: Vec<T>,
    seen: HashSet<T>,
}

impl<T> Default for Uniq<T> {
    fn default() -> Self {
        Uniq { list: Vec::new(), seen: HashSet::new() }
    }
}

impl<T: Hash + Eq + Clone> Uniq<T> {
    fn push(&mut self, v: T) {
        if self.seen.insert(v.clone()) {
            self.list.push(v);
        }
    }
}

fn push_new<T: Hash + Eq + Clone>(list: &mut Uniq<T>, v: T) {
    list.push(v);
}

#[cfg(test)]
mod tests;
