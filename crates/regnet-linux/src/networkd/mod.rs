//! systemd-networkd: `*.network` files (with their `*.network.d/*.conf` drop-ins), `*.link`
//! files for the names bound to MACs, and `*.netdev` files for the kinds of virtual devices.
//!
//! The rules, as systemd applies them:
//! - Files are looked for in `/etc/systemd/network`, `/run/systemd/network`,
//!   `/usr/local/lib/systemd/network`, `/usr/lib/systemd/network` and `/lib/systemd/network`
//!   (split-usr systems; on merged-usr ones it is the same directory), in that order of priority: a
//!   file in a higher directory masks a lower one of the same name. A masking file that is a link
//!   to `/dev/null`, or is empty, masks without replacing (systemd's `null_or_empty`). Names
//!   starting with `.` are skipped, as systemd skips hidden files.
//! - All `.network` files are sorted by file name across directories; each interface gets the
//!   **first** one whose `[Match]` matches it, and only that one.
//! - Drop-ins `NAME.network.d/*.conf` come from all directories, sorted by name, a higher
//!   directory's drop-in masking a lower one's of the same name; they are read after the main
//!   file: lists append (an empty `DNS=`, `Domains=` or `[Network] Address=` resets them, as
//!   systemd's parsers do), single settings override.
//! - `[Match] Name=`: space-separated shell globs (fnmatch with no flags); a leading `!` inverts
//!   the **whole list** (systemd prefixes every word with `!`, so `Name=!a !b` also excludes the
//!   literal name `!b`: a warning says so). A list with positive patterns matches when one of them
//!   matches and no negative one does; a list of negative patterns matches when none does. Several
//!   `Name=` lines append; an empty one resets. `MACAddress=` is a list of MACs.
//! - An offline reader sees no interfaces, so each `.network` file that may apply becomes one
//!   [`Interface`] per plain name in its `Name=` (or per MAC in `MACAddress=`, named by the `.link`
//!   binding when there is one), or, when it matches by glob, negation or nothing at all, one
//!   named after the file, with a `hardware_name` warning. A file shadowed for a name by an earlier
//!   file that matches that name (and MAC) is not reported for it (warning `shadowed`).
//! - Conditions an offline reader cannot evaluate (`Type=`, `Driver=`, `Path=`, `Kind=`,
//!   `Property=`, `PermanentMACAddress=`, WLAN ones, `Host=`, `KernelCommandLine=`,
//!   `KernelVersion=`, `Architecture=`, `Credential=`, `Firmware=`…) are **assumed to hold**, each
//!   with an `unevaluated_condition` warning. `Virtualization=` is evaluated for a VM of unknown
//!   kind (the replica boots as a VM): `yes`, `vm` hold, `no`, `container`, `private-users` and
//!   container names do not; a specific hypervisor is assumed to hold, with a warning.
//! - `.link` files: the first whose `[Match]` matches applies; `[Match] MACAddress=` with
//!   `[Link] Name=` binds that MAC to that name (when `NamePolicy=` is also set, systemd uses
//!   `Name=` only when the policies give no name: a warning says so).

pub(crate) mod ini;
pub(crate) mod util;

use crate::{FileKind, GuestFiles, IfAddress, IfRoute, Interface, InterfaceKind, Limits, Stack, StackConfig, Warning};
use ini::{words, Section};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use util::{
    canonical_mac, glob_match_in, is_glob, join, list_dir, parse_address, push_capped, read_text, Budget, Steps,
};

/// systemd's search path for network files, highest priority first.
pub const DIRS: [&str; 5] = [
    "/etc/systemd/network",
    "/run/systemd/network",
    "/usr/local/lib/systemd/network",
    "/usr/lib/systemd/network",
    "/lib/systemd/network",
];

/// One file chosen among the directories: its path, or `None` when masked.
#[derive(Debug, Clone)]
struct Chosen {
    path: String,
    masked: bool,
}

/// Reads systemd-networkd's configuration: one [`Interface`] per `.network` file (and plain name
/// or MAC) that would apply at boot, with the warnings that say what could not be decided offline.
pub fn read(files: &mut dyn GuestFiles, limits: &Limits) -> StackConfig {
    let mut cfg = StackConfig::default();
    let mut budget = Budget::default();
    let w = &mut cfg.warnings;

    // Every name in every directory, the highest directory winning.
    let mut chosen: BTreeMap<String, Chosen> = BTreeMap::new();
    for dir in DIRS {
        for (name, kind) in list_dir(files, dir, limits, w).unwrap_or_default() {
            if name.starts_with('.')
                || !(name.ends_with(".network") || name.ends_with(".link") || name.ends_with(".netdev"))
            {
                continue;
            }
            if chosen.contains_key(&name) || matches!(kind, FileKind::Dir | FileKind::Other) {
                continue;
            }
            if chosen.len() >= limits.max_files {
                w.push(Warning::new(
                    "too_many_files",
                    format!("more than {} network files", limits.max_files),
                    Some(dir),
                ));
                break;
            }
            let path = join(dir, &name);
            let masked = is_masked(files, &path, kind);
            chosen.insert(name, Chosen { path, masked });
        }
    }
    for (name, c) in &chosen {
        if c.masked {
            push_capped(w, Warning::new(
                "masked_file",
                format!("{name} is masked by {} (a link to /dev/null or an empty file): lower directories' {name} is not read", c.path),
                Some(&c.path),
            ));
        }
    }

    // .link files: MAC → name bindings, first match wins.
    let mut mac_names: BTreeMap<String, String> = BTreeMap::new();
    // .netdev files: name → (kind, VLAN id).
    let mut netdevs: BTreeMap<String, (String, Option<u16>)> = BTreeMap::new();
    let mut networks: Vec<NetFile> = Vec::new();
    for (name, c) in &chosen {
        if c.masked || !budget.take(limits, &mut cfg.warnings, &c.path) {
            continue;
        }
        let Some(text) = read_text(files, &c.path, limits, &mut cfg.warnings) else { continue };
        cfg.files.push(c.path.clone());
        let sections = ini::parse(&text, &c.path, limits, &mut cfg.warnings);
        if name.ends_with(".link") {
            read_link_file(&sections, &c.path, &mut mac_names, &mut cfg.warnings);
        } else if name.ends_with(".netdev") {
            read_netdev(&sections, &mut netdevs);
        } else {
            let mut nf = NetFile { name: name.clone(), files: vec![c.path.clone()], ..NetFile::default() };
            apply(&mut nf, &sections, &c.path, &mut cfg.warnings);
            for d in dropins(files, name, limits, &mut cfg.warnings) {
                if !budget.take(limits, &mut cfg.warnings, &d) {
                    break;
                }
                let Some(text) = read_text(files, &d, limits, &mut cfg.warnings) else { continue };
                cfg.files.push(d.clone());
                nf.files.push(d.clone());
                let s = ini::parse(&text, &d, limits, &mut cfg.warnings);
                apply(&mut nf, &s, &d, &mut cfg.warnings);
            }
            finish_match(&mut nf, &mut cfg.warnings);
            networks.push(nf);
        }
    }

    emit(&mut cfg, &networks, &mac_names, &netdevs, limits);
    cfg
}

/// A link to `/dev/null` or an empty file.
fn is_masked(files: &mut dyn GuestFiles, path: &str, kind: FileKind) -> bool {
    if kind == FileKind::Link {
        if let Ok(Some(t)) = files.read_link(path) {
            if t == b"/dev/null" {
                return true;
            }
        }
    }
    matches!(files.read(path, 0), Ok(Some(b)) if b.is_empty())
}

/// `NAME.d/*.conf` from every directory, the highest winning per name, sorted by name.
fn dropins(files: &mut dyn GuestFiles, name: &str, limits: &Limits, w: &mut Vec<Warning>) -> Vec<String> {
    let mut by_name: BTreeMap<String, Chosen> = BTreeMap::new();
    for dir in DIRS {
        let d = join(dir, &format!("{name}.d"));
        for (n, kind) in list_dir(files, &d, limits, w).unwrap_or_default() {
            if n.starts_with('.')
                || !n.ends_with(".conf")
                || by_name.contains_key(&n)
                || matches!(kind, FileKind::Dir | FileKind::Other)
            {
                continue;
            }
            if by_name.len() >= limits.max_files {
                break;
            }
            let path = join(&d, &n);
            let masked = is_masked(files, &path, kind);
            if masked {
                push_capped(
                    w,
                    Warning::new("masked_file", format!("drop-in {n} of {name} is masked by {path}"), Some(&path)),
                );
            }
            by_name.insert(n, Chosen { path, masked });
        }
    }
    by_name.into_values().filter(|c| !c.masked).map(|c| c.path).collect()
}

fn read_link_file(sections: &[Section], path: &str, mac_names: &mut BTreeMap<String, String>, w: &mut Vec<Warning>) {
    let mut macs: Vec<String> = Vec::new();
    let mut name: Option<String> = None;
    let mut policy = false;
    for s in sections {
        for (k, v) in &s.entries {
            match (s.name.as_str(), k.as_str()) {
                ("Match", "MACAddress") => {
                    if v.is_empty() {
                        macs.clear();
                    }
                    macs.extend(words(v).iter().filter_map(|m| canonical_mac(m)));
                }
                ("Link", "Name") => name = (!v.is_empty()).then(|| v.clone()),
                ("Link", "NamePolicy") => policy = !v.is_empty(),
                _ => {}
            }
        }
    }
    let Some(name) = name else { return };
    if macs.is_empty() {
        return;
    }
    if policy {
        w.push(Warning::new(
            "link_name_policy",
            format!(
                "{path} sets both NamePolicy= and Name={name}: systemd uses the name only when the policies give none"
            ),
            Some(path),
        ));
    }
    for m in macs {
        mac_names.entry(m).or_insert_with(|| name.clone());
    }
}

fn read_netdev(sections: &[Section], netdevs: &mut BTreeMap<String, (String, Option<u16>)>) {
    let (mut name, mut kind, mut id) = (None, String::new(), None);
    for s in sections {
        for (k, v) in &s.entries {
            match (s.name.as_str(), k.as_str()) {
                ("NetDev", "Name") => name = Some(v.clone()),
                ("NetDev", "Kind") => kind = v.clone(),
                ("VLAN", "Id") => id = v.parse::<u16>().ok().filter(|&i| i < 4095),
                _ => {}
            }
        }
    }
    if let Some(n) = name {
        netdevs.entry(n).or_insert((kind, id));
    }
}

/// What one `.network` file (with its drop-ins) says.
#[derive(Debug, Clone, Default)]
struct NetFile {
    name: String,
    files: Vec<String>,
    names: Vec<String>,
    macs: Vec<String>,
    /// A condition known not to hold on the replica.
    never: bool,
    /// Some [Match] condition other than Name= and MACAddress= was given.
    other_match: bool,
    dhcp4: bool,
    dhcp6: bool,
    addresses: Vec<IfAddress>,
    gateways: Vec<IpAddr>,
    routes: Vec<IfRoute>,
    dns: Vec<IpAddr>,
    search: Vec<String>,
    mtu: Option<u32>,
    set_mac: Option<String>,
    vlans: Vec<String>,
    bond: Option<String>,
    bridge: Option<String>,
}

/// Conditions that filter interfaces by properties an offline reader does not know.
const UNKNOWN_IFACE: [&str; 10] = [
    "Type",
    "Driver",
    "Path",
    "Kind",
    "Property",
    "PermanentMACAddress",
    "WLANInterfaceType",
    "SSID",
    "BSSID",
    "OriginalName",
];
/// Conditions on the host.
const UNKNOWN_HOST: [&str; 7] =
    ["Host", "KernelCommandLine", "KernelVersion", "Architecture", "Credential", "Firmware", "FirmwareType"];

/// At most this many warnings about one file's values.
const MAX_FILE_WARNINGS: usize = 32;

fn apply(nf: &mut NetFile, sections: &[Section], path: &str, w: &mut Vec<Warning>) {
    let start = w.len();
    let mut over = false;
    for s in sections {
        if w.len() > start + MAX_FILE_WARNINGS {
            w.truncate(start + MAX_FILE_WARNINGS);
            over = true;
        }
        let mut route: Option<(Option<IpAddr>, Option<IfAddress>, Option<u32>)> = None;
        let mut address: Option<IfAddress> = None;
        for (k, v) in &s.entries {
            if w.len() > start + MAX_FILE_WARNINGS {
                w.truncate(start + MAX_FILE_WARNINGS);
                over = true;
            }
            match (s.name.as_str(), k.as_str()) {
                ("Match", "Name") => {
                    if v.is_empty() {
                        nf.names.clear();
                        continue;
                    }
                    let (invert, rest) = match v.strip_prefix('!') {
                        Some(r) => (true, r),
                        None => (false, v.as_str()),
                    };
                    for word in words(rest) {
                        if !ifname_valid(&word) {
                            w.push(Warning::new(
                                "bad_value",
                                "Name=: a pattern longer than 127 bytes or with a character systemd refuses in names (control, space, non-ASCII, :, /, %): ignored, as systemd does",
                                Some(path),
                            ));
                            continue;
                        }
                        if invert && word.starts_with('!') {
                            w.push(Warning::new(
                                "odd_match",
                                format!("Name={v}: the leading ! inverts the whole list, so {word} is the literal name {word}, which never matches"),
                                Some(path),
                            ));
                        }
                        nf.names.push(if invert { format!("!{word}") } else { word });
                    }
                }
                ("Match", "MACAddress") => {
                    if v.is_empty() {
                        nf.macs.clear();
                    }
                    for m in words(v) {
                        match canonical_mac(&m) {
                            Some(m) => nf.macs.push(m),
                            None => w.push(Warning::new(
                                "bad_value",
                                format!("MACAddress={m} is not a MAC address, ignored"),
                                Some(path),
                            )),
                        }
                    }
                }
                ("Match", "Virtualization") => {
                    nf.other_match = true;
                    let (neg, val) = match v.strip_prefix('!') {
                        Some(r) => (true, r),
                        None => (false, v.as_str()),
                    };
                    let holds = match val.to_ascii_lowercase().as_str() {
                        "yes" | "y" | "true" | "t" | "on" | "1" | "vm" => Some(true),
                        "no" | "n" | "false" | "f" | "off" | "0" | "container" | "private-users" | "systemd-nspawn"
                        | "lxc" | "lxc-libvirt" | "openvz" | "docker" | "podman" | "rkt" | "wsl" | "proot"
                        | "pouch" => Some(false),
                        _ => None,
                    };
                    let holds = holds.map(|h| h != neg);
                    match holds {
                        Some(false) => nf.never = true,
                        Some(true) => {}
                        None => w.push(Warning::new(
                            "unevaluated_condition",
                            format!("[Match] Virtualization={v}: the replica's hypervisor is unknown; assumed to hold"),
                            Some(path),
                        )),
                    }
                }
                ("Match", key) if UNKNOWN_IFACE.contains(&key) || UNKNOWN_HOST.contains(&key) => {
                    // An empty value resets the condition.
                    if v.is_empty() {
                        continue;
                    }
                    nf.other_match = true;
                    w.push(Warning::new(
                        "unevaluated_condition",
                        format!("[Match] {key}={v} cannot be evaluated offline; assumed to hold"),
                        Some(path),
                    ));
                }
                ("Match", key) => {
                    nf.other_match = true;
                    w.push(Warning::new(
                        "unknown_key",
                        format!("[Match] {key}= is not known; assumed to hold"),
                        Some(path),
                    ));
                }
                ("Network", "DHCP") => match dhcp(v) {
                    Some((a, b)) => {
                        nf.dhcp4 = a;
                        nf.dhcp6 = b;
                    }
                    None => {
                        w.push(Warning::new("bad_value", format!("DHCP={v} is not a valid value, ignored"), Some(path)))
                    }
                },
                ("Network", "Address") => {
                    if v.is_empty() {
                        nf.addresses.clear();
                    } else {
                        push_addr(&mut nf.addresses, v, path, w);
                    }
                }
                ("Address", "Address") => match parse_address(v) {
                    Some(a) => address = Some(a),
                    None => {
                        w.push(Warning::new("bad_value", format!("Address={v} is not an address, ignored"), Some(path)))
                    }
                },
                ("Network", "Gateway") => match gateway(v) {
                    Ok(Some(g)) => nf.gateways.push(g),
                    Ok(None) => {}
                    Err(()) => {
                        w.push(Warning::new("bad_value", format!("Gateway={v} is not an address, ignored"), Some(path)))
                    }
                },
                ("Network", "DNS") => {
                    if v.is_empty() {
                        nf.dns.clear();
                    }
                    for d in words(v) {
                        match dns(&d) {
                            Some(ip) => nf.dns.push(ip),
                            None => w.push(Warning::new(
                                "bad_value",
                                format!("DNS={d} is not an address, ignored"),
                                Some(path),
                            )),
                        }
                    }
                }
                ("Network", "Domains") => {
                    if v.is_empty() {
                        nf.search.clear();
                    }
                    for d in words(v) {
                        // `~domain` routes queries without being a search domain.
                        if !d.starts_with('~') && d != "." {
                            nf.search.push(d);
                        }
                    }
                }
                ("Network", "VLAN") => nf.vlans.extend(words(v)),
                ("Network", "Bond") => nf.bond = (!v.is_empty()).then(|| v.clone()),
                ("Network", "Bridge") => nf.bridge = (!v.is_empty()).then(|| v.clone()),
                ("Route", "Gateway") => match gateway(v) {
                    Ok(g) => route.get_or_insert((None, None, None)).0 = g,
                    Err(()) => w.push(Warning::new(
                        "bad_value",
                        format!("[Route] Gateway={v} is not an address, ignored"),
                        Some(path),
                    )),
                },
                ("Route", "Destination") => match parse_address(v) {
                    Some(a) => route.get_or_insert((None, None, None)).1 = Some(a),
                    None => w.push(Warning::new(
                        "bad_value",
                        format!("Destination={v} is not a prefix, ignored"),
                        Some(path),
                    )),
                },
                ("Route", "Metric") => match v.parse::<u32>() {
                    Ok(m) => route.get_or_insert((None, None, None)).2 = Some(m),
                    Err(_) => {
                        w.push(Warning::new("bad_value", format!("Metric={v} is not a number, ignored"), Some(path)))
                    }
                },
                ("Link", "MTUBytes") => match mtu(v) {
                    Some(m) => nf.mtu = Some(m),
                    None => {
                        w.push(Warning::new("bad_value", format!("MTUBytes={v} is not a size, ignored"), Some(path)))
                    }
                },
                ("Link", "MACAddress") => match canonical_mac(v) {
                    Some(m) => nf.set_mac = Some(m),
                    None => w.push(Warning::new(
                        "bad_value",
                        format!("[Link] MACAddress={v} is not a MAC address, ignored"),
                        Some(path),
                    )),
                },
                _ => {}
            }
        }
        if let Some(a) = address {
            nf.addresses.push(a);
        }
        if let Some((via, to, metric)) = route {
            match to {
                None => {
                    if let Some(g) = via {
                        nf.gateways.push(g);
                    }
                }
                Some(t) if t.prefix_len == 0 && t.address.is_unspecified() => {
                    if let Some(g) = via {
                        nf.gateways.push(g);
                    }
                }
                Some(t) => nf.routes.push(IfRoute { to: t, via, metric }),
            }
        }
    }
    if over || w.len() > start + MAX_FILE_WARNINGS {
        w.truncate(start + MAX_FILE_WARNINGS);
        w.push(Warning::new(
            "more_warnings",
            format!("more than {MAX_FILE_WARNINGS} warnings about this file: the rest are left out"),
            Some(path),
        ));
    }
}

fn finish_match(nf: &mut NetFile, w: &mut Vec<Warning>) {
    if nf.names.is_empty() && nf.macs.is_empty() && !nf.other_match && !nf.never {
        w.push(Warning::new(
            "match_all",
            format!("{}: no [Match] condition, so it matches every interface that has no earlier file", nf.name),
            nf.files.first().map(String::as_str),
        ));
    }
}

fn push_addr(v: &mut Vec<IfAddress>, s: &str, path: &str, w: &mut Vec<Warning>) {
    match parse_address(s) {
        Some(a) => v.push(a),
        None => w.push(Warning::new("bad_value", format!("Address={s} is not an address, ignored"), Some(path))),
    }
}

/// systemd's `ifname_valid_full` for alternative names: 1–127 bytes of printable ASCII other than
/// `:`, `/` and `%`.
fn ifname_valid(s: &str) -> bool {
    (1..128).contains(&s.len()) && s.bytes().all(|b| (33..127).contains(&b) && !matches!(b, b':' | b'/' | b'%'))
}

/// `DHCP=`: systemd's booleans, `ipv4`, `ipv6`, and the deprecated `both`, `none`, `v4`, `v6`.
fn dhcp(v: &str) -> Option<(bool, bool)> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "t" | "on" | "1" | "both" => Some((true, true)),
        "no" | "n" | "false" | "f" | "off" | "0" | "none" | "" => Some((false, false)),
        "ipv4" | "v4" => Some((true, false)),
        "ipv6" | "v6" => Some((false, true)),
        _ => None,
    }
}

/// A gateway: an address, or one of the special `_dhcp4`, `_ipv6ra`, `_dhcp` (`Ok(None)`).
fn gateway(v: &str) -> Result<Option<IpAddr>, ()> {
    if v.starts_with('_') {
        return Ok(None);
    }
    v.parse::<IpAddr>().map(Some).map_err(|_| ())
}

/// `DNS=` entries: `ADDR`, `ADDR:PORT`, `[ADDR]:PORT`, each with optional `%IFNAME` and `#NAME`.
fn dns(v: &str) -> Option<IpAddr> {
    let v = v.split('#').next().unwrap_or("");
    if let Some(rest) = v.strip_prefix('[') {
        let (addr, _) = rest.split_once(']')?;
        return addr.split('%').next()?.parse().ok();
    }
    let v = v.split('%').next().unwrap_or("");
    if let Ok(ip) = v.parse() {
        return Some(ip);
    }
    // IPv4 with a port.
    let (a, port) = v.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    a.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// `MTUBytes=`: bytes, with an optional `K`, `M`, `G` (powers of 1024).
fn mtu(v: &str) -> Option<u32> {
    let v = v.trim();
    let (num, mult) = match v.char_indices().last()? {
        (i, 'K' | 'k') => (v.get(..i)?, 1024u64),
        (i, 'M' | 'm') => (v.get(..i)?, 1024 * 1024),
        (i, 'G' | 'g') => (v.get(..i)?, 1024 * 1024 * 1024),
        _ => (v, 1),
    };
    let n: u64 = num.trim().parse().ok()?;
    u32::try_from(n.checked_mul(mult)?).ok()
}

/// `net_condition_test_strv`: positive patterns need one match, negative ones none.
fn names_match(patterns: &[String], name: &str, steps: &mut Steps) -> bool {
    let mut positive = false;
    let mut matched = false;
    for p in patterns {
        match p.strip_prefix('!') {
            Some(neg) => {
                if glob_match_in(neg, name, steps) {
                    return false;
                }
            }
            None => {
                positive = true;
                if glob_match_in(p, name, steps) {
                    matched = true;
                }
            }
        }
    }
    !positive || matched
}

/// What is known of an interface a file would be reported for.
struct Probe<'a> {
    name: Option<&'a str>,
    mac: Option<&'a str>,
}

/// Whether `e` surely matches the interface `p` describes (unknown conditions assumed to hold).
fn covers(e: &NetFile, p: &Probe, steps: &mut Steps) -> bool {
    if e.never {
        return false;
    }
    let names_ok = e.names.is_empty() || p.name.is_some_and(|n| names_match(&e.names, n, steps));
    let macs_ok = e.macs.is_empty() || p.mac.is_some_and(|m| e.macs.iter().any(|x| x == m));
    names_ok && macs_ok
}

fn emit(
    cfg: &mut StackConfig,
    networks: &[NetFile],
    mac_names: &BTreeMap<String, String>,
    netdevs: &BTreeMap<String, (String, Option<u16>)>,
    limits: &Limits,
) {
    let w = &mut cfg.warnings;
    let mut out: Vec<Interface> = Vec::new();
    let mut full = false;
    let mut steps = Steps::new();
    let mut name_macs: BTreeMap<&str, &str> = BTreeMap::new();
    for (m, n) in mac_names {
        name_macs.entry(n.as_str()).or_insert(m.as_str());
    }
    for (i, nf) in networks.iter().enumerate() {
        if nf.never {
            push_capped(
                w,
                Warning::new(
                    "condition_false",
                    format!("{}: its [Match] conditions do not hold on a VM, so it applies to nothing", nf.name),
                    nf.files.first().map(String::as_str),
                ),
            );
            continue;
        }
        let earlier = networks.get(..i).unwrap_or(&[]);
        let positives: Vec<&String> = nf.names.iter().filter(|n| !n.starts_with('!')).collect();
        let plain = !positives.is_empty() && positives.iter().all(|n| !is_glob(n));
        let negatives: Vec<String> = nf.names.iter().filter(|n| n.starts_with('!')).cloned().collect();
        // (name, binding MAC, hardware-dependent, the name known for matching)
        let mut targets: Vec<(String, Option<String>, bool, Option<String>)> = Vec::new();
        if plain {
            for n in positives {
                if targets.len() >= limits.max_interfaces {
                    break;
                }
                if !names_match(&negatives, n, &mut steps) {
                    continue;
                }
                let mac = match nf.macs.as_slice() {
                    [one] => Some(one.clone()),
                    [] => name_macs.get(n.as_str()).map(|m| (*m).to_owned()),
                    _ => None,
                };
                targets.push((n.clone(), mac, false, Some(n.clone())));
            }
        } else if !nf.macs.is_empty() {
            for m in &nf.macs {
                match mac_names.get(m) {
                    Some(n) if names_match(&nf.names, n, &mut steps) => {
                        targets.push((n.clone(), Some(m.clone()), false, Some(n.clone())))
                    }
                    Some(_) => {}
                    None => targets.push((m.clone(), Some(m.clone()), false, None)),
                }
            }
        } else {
            targets.push((nf.name.clone(), None, true, None));
        }
        for (name, mac, hw, probe_name) in targets {
            let probe = Probe { name: probe_name.as_deref(), mac: mac.as_deref() };
            if let Some(e) = earlier.iter().find(|e| covers(e, &probe, &mut steps)) {
                push_capped(
                    w,
                    Warning::new(
                        "shadowed",
                        format!("{} is not applied to {name}: {} comes first and matches it", nf.name, e.name),
                        nf.files.first().map(String::as_str),
                    ),
                );
                continue;
            }
            if hw {
                push_capped(
                    w,
                    Warning::new(
                        "hardware_name",
                        format!(
                            "{} matches interfaces by {}: which ones depends on the replica's hardware",
                            nf.name,
                            if nf.names.is_empty() {
                                "nothing in particular (every interface)".to_owned()
                            } else if nf.names.iter().all(|n| n.starts_with('!')) {
                                // A leading `!` negated the whole list: each pattern carries one.
                                let bare: Vec<&str> = nf.names.iter().map(|n| n.get(1..).unwrap_or("")).collect();
                                format!("names matching none of {}", bare.join(" "))
                            } else {
                                format!("Name={}", nf.names.join(" "))
                            }
                        ),
                        nf.files.first().map(String::as_str),
                    ),
                );
            }
            if out.len() >= limits.max_interfaces {
                if !full {
                    full = true;
                    push_capped(
                        w,
                        Warning::new(
                            "too_many_interfaces",
                            format!("more than {} interfaces: the rest are not reported", limits.max_interfaces),
                            nf.files.first().map(String::as_str),
                        ),
                    );
                }
                continue;
            }
            out.push(Interface {
                name,
                mac,
                set_mac: nf.set_mac.clone(),
                kind: InterfaceKind::Ethernet,
                dhcp4: nf.dhcp4,
                dhcp6: nf.dhcp6,
                addresses: nf.addresses.clone(),
                gateways: nf.gateways.clone(),
                routes: nf.routes.clone(),
                dns: nf.dns.clone(),
                search: nf.search.clone(),
                mtu: nf.mtu,
                stack: Some(Stack::Networkd),
                files: nf.files.clone(),
            });
        }
    }
    if steps.spent {
        push_capped(w, Warning::new(
            "match_budget",
            "the [Match] patterns are too costly to compare: some files may be reported although an earlier one shadows them",
            None,
        ));
    }
    kinds(&mut out, networks, netdevs);
    cfg.interfaces = out;
}

/// Virtual devices: VLANs from `.netdev` `[VLAN] Id=` and the `VLAN=` of the file that carries
/// them; bonds and bridges with the interfaces whose files name them in `Bond=`/`Bridge=`.
fn kinds(out: &mut [Interface], networks: &[NetFile], netdevs: &BTreeMap<String, (String, Option<u16>)>) {
    let mut members: BTreeMap<&str, (Vec<String>, Vec<String>)> = BTreeMap::new();
    let mut vlan_link: BTreeMap<&str, String> = BTreeMap::new();
    let file_names: BTreeMap<&str, Vec<String>> = {
        let mut m: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for i in out.iter() {
            if let Some(f) = i.files.first() {
                m.entry(f.as_str()).or_default().push(i.name.clone());
            }
        }
        m
    };
    for nf in networks {
        let Some(first) = nf.files.first() else { continue };
        let Some(ifs) = file_names.get(first.as_str()) else { continue };
        for n in ifs {
            if let Some(b) = &nf.bond {
                members.entry(b.as_str()).or_default().0.push(n.clone());
            }
            if let Some(b) = &nf.bridge {
                members.entry(b.as_str()).or_default().1.push(n.clone());
            }
            for v in &nf.vlans {
                vlan_link.entry(v.as_str()).or_insert_with(|| n.clone());
            }
        }
    }
    let dedup = |v: &Vec<String>| -> Vec<String> {
        let mut seen = BTreeSet::new();
        v.iter().filter(|x| seen.insert(x.as_str())).cloned().collect()
    };
    for i in out.iter_mut() {
        let nd = netdevs.get(&i.name);
        let kind = nd.map(|(k, _)| k.as_str()).unwrap_or("");
        if let Some((bond, bridge)) = members.get(i.name.as_str()) {
            if kind == "bridge" || (!bridge.is_empty() && bond.is_empty()) {
                i.kind = InterfaceKind::Bridge { members: dedup(bridge) };
            } else {
                i.kind = InterfaceKind::Bond { members: dedup(bond) };
            }
        } else if kind == "bond" {
            i.kind = InterfaceKind::Bond { members: Vec::new() };
        } else if kind == "bridge" {
            i.kind = InterfaceKind::Bridge { members: Vec::new() };
        } else if let (Some((_, Some(id))), Some(link)) = (nd, vlan_link.get(i.name.as_str())) {
            i.kind = InterfaceKind::Vlan { id: *id, link: link.clone() };
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
