//! ifupdown: `/etc/network/interfaces` and the files it includes.
//!
//! The rules, as ifupdown 0.8 (Debian) reads them (interfaces(5), checked against `ifquery`):
//! - A line ending in `\` continues on the next; a line whose first non-blank character is `#` is
//!   a comment (there are no end-of-line comments: `address 1.2.3.4 # x` keeps `# x`).
//! - `source PATH…` includes files (shell globs, expanded by listing the guest's directories,
//!   sorted); `source-directory DIR…` includes the files of DIR whose names match
//!   `^[a-zA-Z0-9_-]+$` (so `50-cloud-init.cfg` and `eth2.disabled` are not included), sorted. A
//!   relative path is relative to the directory of the file that names it. Included files are read
//!   in place, at most [`Limits::max_depth`] deep; a file already read is not read again (a
//!   `source` cycle, `source-directory /etc/network`), with a warning.
//! - `iface NAME FAMILY METHOD` stanzas (several per interface: `inet` and `inet6` merge into one
//!   [`Interface`]), with options until the next stanza: `address` (`a/len`), `netmask` (dotted or
//!   bits), `gateway`, `dns-nameservers`/`dns-nameserver`, `dns-search`/`dns-domain`,
//!   `hwaddress [ether] MAC`, `mtu`, `vlan-raw-device`, `bond-slaves`/`bond-master`,
//!   `bridge_ports` (ifupdown treats `-` and `_` alike in option names here). An address without
//!   a prefix or netmask is /32 (IPv4) or /128 (IPv6), as `ip addr add` takes it. Methods `dhcp`
//!   (IPv4 or DHCPv6) and `auto` (IPv6 router advertisements) set DHCP; `loopback` and `lo` are
//!   skipped.
//! - At boot, `networking.service` runs `ifup -a` (interfaces named by `auto` or `allow-auto`)
//!   and udev runs `ifup --allow=hotplug` for `allow-hotplug` ones when their device appears.
//!   An interface named by neither is **not brought up at boot**: it is left out of the
//!   interfaces, with a `not_brought_up` warning naming it.
//! - A stanza keeps its first `address` line (later ones are ignored, with a warning); two stanzas
//!   of one family both apply (merged).
//! - Errors stop ifupdown: in the main file (an `iface` line without family or method, an unknown
//!   family or method, an option outside any stanza) it refuses the whole configuration and brings
//!   up **no** interface (`ifupdown_refuses`, no interfaces reported); in an included file it
//!   stops reading that file at the error and goes on with the includer (`bad_file`).
//! - Reading is bounded: at most `max_files` files and directory listings, `max_nodes` lines in
//!   all, `max_interfaces` interfaces.

use crate::networkd::util::{
    canonical_mac, glob_match_in, is_glob, join, list_dir, parent, parse_ip_prefix, parse_netmask, push_capped,
    read_text, Budget, Steps,
};
use crate::{FileKind, GuestFiles, IfAddress, Interface, InterfaceKind, Limits, Stack, StackConfig, Warning};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// The main file.
pub const INTERFACES: &str = "/etc/network/interfaces";

/// One interface's stanzas merged.
#[derive(Debug, Default)]
struct Iface {
    iface: Interface,
    families: BTreeSet<String>,
    raw_device: Option<String>,
    bond_slaves: Vec<String>,
    bridge_ports: Vec<String>,
    bond_master: Option<String>,
    loopback: bool,
}

/// Where a stanza's options go.
#[derive(Debug, Clone)]
struct Stanza {
    index: usize,
    v6: bool,
    /// Addresses of this stanza without a prefix yet (a later `netmask` gives it).
    pending: Vec<usize>,
    netmask: Option<u8>,
    has_address: bool,
}

struct Frame {
    path: String,
    lines: std::vec::IntoIter<String>,
    depth: usize,
}

struct State<'a> {
    limits: &'a Limits,
    budget: Budget,
    lines_left: usize,
    cfg: StackConfig,
    visited: BTreeSet<String>,
    ifaces: Vec<Iface>,
    by_name: BTreeMap<String, usize>,
    up: BTreeSet<String>,
    full: bool,
    steps: Steps,
    /// Why ifupdown would refuse the configuration, when it would.
    refused: Option<String>,
    /// An error on the line just read.
    error: Option<String>,
}

/// Reads ifupdown's configuration: the interfaces brought up at boot, each with all its stanzas
/// merged, and warnings for what is skipped.
pub fn read(files: &mut dyn GuestFiles, limits: &Limits) -> StackConfig {
    let mut st = State {
        limits,
        budget: Budget::default(),
        lines_left: limits.max_nodes,
        cfg: StackConfig::default(),
        visited: BTreeSet::new(),
        ifaces: Vec::new(),
        by_name: BTreeMap::new(),
        up: BTreeSet::new(),
        full: false,
        steps: Steps::new(),
        refused: None,
        error: None,
    };
    let mut stack: Vec<Frame> = Vec::new();
    if let Some(f) = open(files, &mut st, INTERFACES, 0, true) {
        stack.push(f);
    }
    let mut stanza: Option<Stanza> = None;
    // Options of a stanza that is not read (a mapping, another family, past max_interfaces).
    let mut swallow = false;
    while let Some(frame) = stack.last_mut() {
        let Some(line) = frame.lines.next() else {
            stack.pop();
            stanza = None;
            continue;
        };
        let path = frame.path.clone();
        let depth = frame.depth;
        let mut words = line.split_ascii_whitespace();
        let Some(first) = words.next() else { continue };
        let rest: Vec<&str> = words.collect();
        if matches!(
            first,
            "source" | "source-directory" | "auto" | "mapping" | "rename" | "no-auto-down" | "no-scripts" | "iface"
        ) || first.starts_with("allow-")
        {
            swallow = first == "mapping";
        }
        match first {
            "source" | "source-directory" => {
                stanza = None;
                let dir_mode = first == "source-directory";
                let mut found: Vec<String> = Vec::new();
                for pat in &rest {
                    let abs = if pat.starts_with('/') { (*pat).to_owned() } else { join(parent(&path), pat) };
                    let matches = expand(&mut st, files, &abs, &path);
                    if matches.is_empty() && is_glob(pat) {
                        push_capped(
                            &mut st.cfg.warnings,
                            Warning::new("missing_file", format!("{first} {pat}: nothing matches"), Some(&path)),
                        );
                    }
                    for m in matches {
                        if dir_mode {
                            let Some(entries) = list_dir(files, &m, limits, &mut st.cfg.warnings) else {
                                push_capped(
                                    &mut st.cfg.warnings,
                                    Warning::new(
                                        "missing_file",
                                        format!("source-directory {m}: no such directory"),
                                        Some(&path),
                                    ),
                                );
                                continue;
                            };
                            for (n, kind) in entries {
                                if kind == FileKind::Dir {
                                    continue;
                                }
                                if !n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
                                    push_capped(&mut st.cfg.warnings, Warning::new(
                                        "skipped_file",
                                        format!("{n} is not read: source-directory includes only names made of letters, digits, _ and -"),
                                        Some(&join(&m, &n)),
                                    ));
                                    continue;
                                }
                                found.push(join(&m, &n));
                            }
                        } else {
                            found.push(m);
                        }
                    }
                }
                if depth + 1 > limits.max_depth {
                    push_capped(
                        &mut st.cfg.warnings,
                        Warning::new(
                            "too_deep",
                            format!("{first} nested more than {} deep: not followed", limits.max_depth),
                            Some(&path),
                        ),
                    );
                    continue;
                }
                let mut frames = Vec::new();
                for p in found {
                    if let Some(f) = open(files, &mut st, &p, depth + 1, false) {
                        frames.push(f);
                    }
                }
                stack.extend(frames.into_iter().rev());
            }
            "auto" | "allow-auto" | "allow-hotplug" => {
                stanza = None;
                for n in rest {
                    st.up.insert(n.to_owned());
                }
            }
            "mapping" | "rename" => {
                stanza = None;
                if first == "mapping" {
                    push_capped(
                        &mut st.cfg.warnings,
                        Warning::new(
                            "unsupported",
                            format!(
                                "mapping {}: a mapping script chooses names at run time; not followed",
                                rest.join(" ")
                            ),
                            Some(&path),
                        ),
                    );
                }
            }
            "no-auto-down" | "no-scripts" => stanza = None,
            f if f.starts_with("allow-") => stanza = None,
            "iface" => {
                stanza = iface_line(&mut st, &rest, &path);
                swallow = stanza.is_none();
            }
            opt => match &mut stanza {
                Some(s) => option(&mut st, s, opt, &rest, &path),
                None if swallow => {}
                None => refuse(&mut st, &path, format!("misplaced option `{opt}` outside any iface stanza")),
            },
        }
        // ifupdown stops at an error: in the main file it refuses the whole configuration; in an
        // included file it stops reading that file and goes on with the one that included it
        // (checked with ifquery and `ifup -n -a`).
        if let Some(why) = st.error.take() {
            if depth == 0 {
                st.refused = Some(why);
                break;
            }
            push_capped(
                &mut st.cfg.warnings,
                Warning::new("bad_file", format!("{why}: ifupdown stops reading this file here"), Some(&path)),
            );
            stack.pop();
            stanza = None;
        }
    }
    finish(st)
}

/// Reads one file into a frame, once.
fn open(files: &mut dyn GuestFiles, st: &mut State, path: &str, depth: usize, main: bool) -> Option<Frame> {
    let path = normalize(path);
    if !st.visited.insert(path.clone()) {
        push_capped(
            &mut st.cfg.warnings,
            Warning::new(
                "include_cycle",
                format!("{path} is included again (a source cycle or an overlapping source-directory): not read twice"),
                Some(&path),
            ),
        );
        return None;
    }
    if st.lines_left == 0 || !st.budget.take(st.limits, &mut st.cfg.warnings, &path) {
        return None;
    }
    let text = match files.read(&path, st.limits.max_file_bytes) {
        Ok(Some(b)) => String::from_utf8_lossy(&b).into_owned(),
        Ok(None) if main => return None,
        _ => read_text(files, &path, st.limits, &mut st.cfg.warnings)?,
    };
    st.cfg.files.push(path.clone());
    let lines = logical_lines(&text, &mut st.lines_left, &path, &mut st.cfg.warnings);
    Some(Frame { path, lines: lines.into_iter(), depth })
}

/// Joins continued lines, drops comments and blank lines.
fn logical_lines(text: &str, left: &mut usize, path: &str, w: &mut Vec<Warning>) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for raw in text.split('\n') {
        if *left == 0 {
            w.push(Warning::new(
                "too_many_lines",
                "the line budget (max_nodes) is spent: the rest is not read",
                Some(path),
            ));
            return out;
        }
        *left -= 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(head) = raw.strip_suffix('\\') {
            cur.push_str(head);
            continue;
        }
        cur.push_str(raw);
        let l = std::mem::take(&mut cur);
        let t = l.trim_matches(|c: char| c.is_ascii_whitespace());
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        out.push(t.to_owned());
    }
    let t = cur.trim();
    if !t.is_empty() && !t.starts_with('#') {
        out.push(t.to_owned());
    }
    out
}

/// `/a/./b/../c` → `/a/c`.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The paths a shell glob matches in the guest (sorted), or the path itself when it has no glob
/// characters and exists.
fn expand(st: &mut State, files: &mut dyn GuestFiles, pattern: &str, from: &str) -> Vec<String> {
    let pattern = normalize(pattern);
    let comps: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    let mut current: Vec<String> = vec![String::from("/")];
    let n = comps.len();
    for (i, c) in comps.iter().enumerate() {
        let last = i + 1 == n;
        let mut next = Vec::new();
        for base in &current {
            if !is_glob(c) {
                next.push(join(base, c));
                continue;
            }
            if !st.budget.take(st.limits, &mut st.cfg.warnings, from) {
                return Vec::new();
            }
            let mut names = list_dir(files, base, st.limits, &mut st.cfg.warnings).unwrap_or_default();
            names.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, kind) in names {
                if name.starts_with('.') && !c.starts_with('.') {
                    continue;
                }
                if !last && kind != FileKind::Dir && kind != FileKind::Link {
                    continue;
                }
                if glob_match_in(c, &name, &mut st.steps) {
                    next.push(join(base, &name));
                }
            }
        }
        if next.len() > st.limits.max_files {
            push_capped(
                &mut st.cfg.warnings,
                Warning::new(
                    "too_many_files",
                    format!("{pattern} matches more than {} paths: not followed", st.limits.max_files),
                    Some(from),
                ),
            );
            return Vec::new();
        }
        current = next;
    }
    current
}

/// ifupdown stops reading at errors like this one and brings up no interface at all.
fn refuse(st: &mut State, path: &str, why: String) {
    if st.error.is_none() {
        st.error = Some(format!("{path}: {why}"));
    }
}

fn iface_line(st: &mut State, rest: &[&str], path: &str) -> Option<Stanza> {
    let (Some(&name), Some(&family), Some(&method)) = (rest.first(), rest.get(1), rest.get(2)) else {
        refuse(st, path, format!("`iface {}` without a name, address family and method", rest.join(" ")));
        return None;
    };
    let known = match family {
        "inet" => matches!(
            method,
            "loopback" | "static" | "manual" | "dhcp" | "bootp" | "tunnel" | "ppp" | "wvdial" | "ipv4ll"
        ),
        "inet6" => matches!(method, "auto" | "loopback" | "static" | "manual" | "dhcp" | "v4tunnel" | "6to4"),
        "ipx" => matches!(method, "static" | "dynamic"),
        "can" => method == "static",
        _ => false,
    };
    if !known {
        refuse(st, path, format!("iface {name} {family} {method}: unknown address family or method"));
        return None;
    }
    if !matches!(family, "inet" | "inet6") {
        push_capped(
            &mut st.cfg.warnings,
            Warning::new("unsupported", format!("iface {name} {family}: address family not read"), Some(path)),
        );
        return None;
    }
    let v6 = family == "inet6";
    let index = match st.by_name.get(name) {
        Some(&i) => i,
        None => {
            if st.ifaces.len() >= st.limits.max_interfaces {
                if !st.full {
                    st.full = true;
                    push_capped(
                        &mut st.cfg.warnings,
                        Warning::new(
                            "too_many_interfaces",
                            format!("more than {} interfaces: the rest are not read", st.limits.max_interfaces),
                            Some(path),
                        ),
                    );
                }
                return None;
            }
            let i = st.ifaces.len();
            let mut new = Iface::default();
            new.iface.name = name.to_owned();
            new.iface.stack = Some(Stack::Ifupdown);
            st.ifaces.push(new);
            st.by_name.insert(name.to_owned(), i);
            i
        }
    };
    let it = st.ifaces.get_mut(index)?;
    if !it.families.insert(family.to_owned()) {
        push_capped(
            &mut st.cfg.warnings,
            Warning::new(
                "duplicate_stanza",
                format!("iface {name} {family} appears twice: ifupdown runs both stanzas; merged"),
                Some(path),
            ),
        );
    }
    if !it.iface.files.iter().any(|f| f == path) {
        it.iface.files.push(path.to_owned());
    }
    match method {
        "dhcp" => {
            if v6 {
                it.iface.dhcp6 = true;
            } else {
                it.iface.dhcp4 = true;
            }
        }
        "auto" if v6 => it.iface.dhcp6 = true,
        "loopback" => it.loopback = true,
        "static" | "manual" => {}
        other => push_capped(
            &mut st.cfg.warnings,
            Warning::new(
                "unsupported",
                format!("iface {name} {family} {other}: method not read (its addresses, if any, are)"),
                Some(path),
            ),
        ),
    }
    Some(Stanza { index, v6, pending: Vec::new(), netmask: None, has_address: false })
}

fn option(st: &mut State, s: &mut Stanza, opt: &str, rest: &[&str], path: &str) {
    let w = &mut st.cfg.warnings;
    let Some(it) = st.ifaces.get_mut(s.index) else { return };
    let name = it.iface.name.clone();
    let bad = |w: &mut Vec<Warning>, what: &str| {
        push_capped(
            w,
            Warning::new("bad_value", format!("iface {name}: {opt} {}: {what}, ignored", rest.join(" ")), Some(path)),
        )
    };
    let value = rest.join(" ");
    match opt.replace('_', "-").as_str() {
        "address" => {
            if s.has_address {
                // ifupdown keeps the first `address` of a stanza (checked with ifquery).
                push_capped(
                    w,
                    Warning::new(
                        "ignored_option",
                        format!("iface {name}: a second address {value} in one stanza; ifupdown uses only the first"),
                        Some(path),
                    ),
                );
                return;
            }
            s.has_address = true;
            {
                match parse_ip_prefix(&value) {
                    Some((ip, p)) if ip.is_ipv6() == s.v6 => {
                        let full = if s.v6 { 128 } else { 32 };
                        if p.is_none() && s.netmask.is_none() {
                            // A later netmask line sets its prefix.
                            s.pending.push(it.iface.addresses.len());
                        }
                        it.iface.addresses.push(IfAddress::new(ip, p.or(s.netmask).unwrap_or(full)));
                    }
                    _ => bad(w, "not an address of this family"),
                }
            }
        }
        "netmask" => match parse_netmask(&value, !s.v6) {
            Some(m) => {
                s.netmask = Some(m);
                for i in std::mem::take(&mut s.pending) {
                    if let Some(a) = it.iface.addresses.get_mut(i) {
                        a.prefix_len = m;
                    }
                }
            }
            None => bad(w, "not a netmask"),
        },
        "gateway" => match value.parse::<IpAddr>() {
            Ok(g) => it.iface.gateways.push(g),
            Err(_) => bad(w, "not an address"),
        },
        "dns-nameservers" | "dns-nameserver" => {
            for d in rest {
                match d.parse::<IpAddr>() {
                    Ok(ip) => it.iface.dns.push(ip),
                    Err(_) => bad(w, "not an address"),
                }
            }
        }
        "dns-search" | "dns-domain" => it.iface.search.extend(rest.iter().map(|s| (*s).to_owned())),
        "hwaddress" => {
            let mac = match rest {
                [kind, m] if *kind == "ether" => canonical_mac(m),
                [m] => canonical_mac(m),
                _ => None,
            };
            match mac {
                Some(m) => it.iface.set_mac = Some(m),
                None => bad(w, "not a MAC address"),
            }
        }
        "mtu" => match value.parse::<u32>() {
            Ok(m) => it.iface.mtu = Some(m),
            Err(_) => bad(w, "not a number"),
        },
        "vlan-raw-device" => it.raw_device = Some(value),
        "bond-slaves" => it.bond_slaves.extend(rest.iter().filter(|s| **s != "none").map(|s| (*s).to_owned())),
        "bond-master" => it.bond_master = Some(value),
        "bridge-ports" => it.bridge_ports.extend(rest.iter().filter(|s| **s != "none").map(|s| (*s).to_owned())),
        _ => {}
    }
}

/// The VLAN ID in a name: `eth0.10`, `vlan10`, `vlan0010`.
fn vlan_id(name: &str) -> Option<u16> {
    let digits = match name.rsplit_once('.') {
        Some((_, d)) => d,
        None => name.strip_prefix("vlan")?,
    };
    digits.parse::<u16>().ok().filter(|&i| i < 4095)
}

fn finish(st: State) -> StackConfig {
    let State { mut cfg, ifaces, up, steps, refused, .. } = st;
    if steps.spent {
        push_capped(
            &mut cfg.warnings,
            Warning::new("match_budget", "source globs too costly to expand: some were not followed", None),
        );
    }
    // Bond members named on the members' side.
    let mut masters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for it in &ifaces {
        if let Some(m) = &it.bond_master {
            masters.entry(m.clone()).or_default().push(it.iface.name.clone());
        }
    }
    let known: BTreeSet<&str> = ifaces.iter().map(|i| i.iface.name.as_str()).collect();
    for n in &up {
        if !known.contains(n.as_str()) && n != "lo" {
            push_capped(
                &mut cfg.warnings,
                Warning::new(
                    "unknown_interface",
                    format!("{n} is marked auto or allow-hotplug but has no iface stanza"),
                    None,
                ),
            );
        }
    }
    for mut it in ifaces {
        if it.loopback || it.iface.name == "lo" {
            continue;
        }
        if !up.contains(&it.iface.name) {
            push_capped(&mut cfg.warnings, Warning::new(
                "not_brought_up",
                format!(
                    "{} is configured but marked neither auto nor allow-hotplug: ifupdown does not bring it up at boot, so it is left out",
                    it.iface.name
                ),
                it.iface.files.first().map(String::as_str),
            ));
            continue;
        }
        let mut bond = it.bond_slaves.clone();
        if let Some(extra) = masters.get(&it.iface.name) {
            for m in extra {
                if !bond.contains(m) {
                    bond.push(m.clone());
                }
            }
        }
        if !bond.is_empty() {
            it.iface.kind = InterfaceKind::Bond { members: bond };
        } else if !it.bridge_ports.is_empty() {
            it.iface.kind = InterfaceKind::Bridge { members: it.bridge_ports.clone() };
        } else if let Some(id) = vlan_id(&it.iface.name) {
            let link = it
                .raw_device
                .clone()
                .or_else(|| it.iface.name.rsplit_once('.').map(|(l, _)| l.to_owned()))
                .unwrap_or_default();
            if !link.is_empty() {
                it.iface.kind = InterfaceKind::Vlan { id, link };
            }
        }
        if it.iface.name.contains(':') {
            push_capped(
                &mut cfg.warnings,
                Warning::new(
                    "alias_interface",
                    format!(
                        "{} is an alias: its addresses go on {}",
                        it.iface.name,
                        it.iface.name.split(':').next().unwrap_or("")
                    ),
                    it.iface.files.first().map(String::as_str),
                ),
            );
        }
        cfg.interfaces.push(it.iface);
    }
    if let Some(why) = refused {
        // ifup -a fails on the whole configuration: nothing is brought up at boot.
        let names: Vec<&str> = cfg.interfaces.iter().take(20).map(|i| i.name.as_str()).collect();
        cfg.warnings.push(Warning::new(
            "ifupdown_refuses",
            format!(
                "ifupdown refuses this configuration ({why}) and brings up no interface at boot; the files describe {}",
                if names.is_empty() { "none".to_owned() } else { names.join(", ") }
            ),
            None,
        ));
        cfg.interfaces.clear();
    }
    cfg
}

#[cfg(test)]
mod tests;
