//! ifcfg files: RHEL style (`/etc/sysconfig/network-scripts`, read by NetworkManager's ifcfg-rh
//! plugin or the legacy `network` service) and SUSE style (`/etc/sysconfig/network`, read by
//! wicked).
//!
//! RHEL rules, from NetworkManager's `nms-ifcfg-rh-utils.c` and `nms-ifcfg-rh-reader.c`:
//!
//! - Files named `ifcfg-NAME`; names ending (in any case) in `.bak`, `~`, `.orig`, `.rej`,
//!   `.rpmnew`, `.augnew`, `.augtmp` or rpm's `;` and eight hex digits are skipped
//!   (`utils_should_ignore_file`), as are `DEVICE=lo` and alias files `ifcfg-eth0:1`.
//! - Values are read by [`shell`] rules; an unreadable value counts as unset.
//! - `BOOTPROTO` none/static/empty with an address: manual, without one: IPv4 disabled;
//!   dhcp/bootp: DHCP; autoip: link-local; shared; anything else refuses the file.
//! - Addresses `IPADDR`, `IPADDR0`, `IPADDR1`, `IPADDR2`… (the first missing one from index 2
//!   on ends the list); `PREFIXn` wins over `NETMASKn` (a netmask counts up to its lowest set
//!   bit); neither is the classful prefix (A /8, B /16, C /24, else /24).
//! - Gateway: `GATEWAYn` is read with `IPADDRn` (plain `GATEWAY` only with plain `IPADDR`), the
//!   first one found wins; without one, `GATEWAY` of `/etc/sysconfig/network` applies when the
//!   profile has static addresses. `DEFROUTE=no`, or a `GATEWAYDEV` naming another device, makes
//!   it no default route.
//! - A bad address, prefix, netmask, gateway or DNS server refuses the whole profile, as
//!   NetworkManager does.
//! - `DNS1`, `DNS2`… until the first missing; IPv4 ones for IPv4, IPv6 ones for IPv6; `DOMAIN`
//!   split at spaces.
//! - IPv6: `IPV6INIT` (default from `/etc/sysconfig/network`, else no), `IPV6_AUTOCONF` (default
//!   yes unless `IPV6FORWARDING`), `DHCPV6C`; `IPV6ADDR` and `IPV6ADDR_SECONDARIES` (default
//!   /64); `IPV6_DEFAULTGW` (without `%dev`), else the one in `/etc/sysconfig/network`.
//! - `HWADDR` binds to a MAC, `MACADDR` sets one; `DEVICE` names the interface (else the file
//!   name's suffix); `ONBOOT=no` is a warning (`not_onboot`), not applied; `NM_CONTROLLED=no` a
//!   warning (`nm_unmanaged`).
//! - `route-NAME`: `ADDRESSn`/`NETMASKn`/`GATEWAYn`/`METRICn` or `ip route` lines
//!   (`10.0.0.0/8 via 10.1.0.1 dev eth0 metric 5`, `default via …`); `route6-NAME` the second.

pub(crate) mod shell;

use crate::keyfile::util::{self, quote, Warnings};
use crate::{FileKind, GuestFiles, IfAddress, IfRoute, Interface, InterfaceKind, Limits, Stack, StackConfig};
use shell::ShellVars;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const RHEL_DIR: &str = "/etc/sysconfig/network-scripts";
const RHEL_NETWORK: &str = "/etc/sysconfig/network";
const SUSE_DIR: &str = "/etc/sysconfig/network";

/// Reads a file into shell variables, with warnings for what cannot be read.
fn load(files: &mut dyn GuestFiles, path: &str, limits: &Limits, w: &mut Warnings) -> Option<ShellVars> {
    match files.read(path, limits.max_file_bytes) {
        Ok(Some(data)) => {
            let (vars, truncated) = ShellVars::parse(&data, limits.max_nodes);
            if truncated {
                w.about("bad_file", format!("more than {} lines: the rest is not read", limits.max_nodes), path);
            }
            Some(vars)
        }
        Ok(None) => None,
        Err(e) => {
            w.about("bad_file", e.to_string(), path);
            None
        }
    }
}

/// The files of a folder whose names start with `prefix`, as UTF-8 names, bounded by
/// `max_files`.
fn list(files: &mut dyn GuestFiles, dir: &str, limits: &Limits, w: &mut Warnings) -> Vec<String> {
    let entries = match files.list(dir) {
        Ok(Some(e)) => e,
        Ok(None) => return Vec::new(),
        Err(e) => {
            w.about("bad_file", format!("cannot list the folder: {e}"), dir);
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (name, kind) in entries {
        if out.len() >= limits.max_files {
            w.about("too_many_files", format!("more than {} files: the rest is not read", limits.max_files), dir);
            break;
        }
        if kind == FileKind::Dir {
            continue;
        }
        match String::from_utf8(name) {
            Ok(n) => out.push(n),
            Err(e) => w.about("skipped_file", format!("a name that is not UTF-8 ({})", quote(e.as_bytes())), dir),
        }
    }
    out
}

/// Why NetworkManager's ifcfg-rh plugin ignores a file name, if it does.
fn ignored_suffix(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    for tag in [".bak", "~", ".orig", ".rej", ".rpmnew", ".augnew", ".augtmp"] {
        if lower.len() > tag.len() && lower.ends_with(tag) {
            return Some("a backup or package-manager copy (.bak, ~, .orig, .rej, .rpmnew, .augnew, .augtmp)");
        }
    }
    if let Some(p) = name.rfind(';') {
        let tail = name.get(p + 1..).unwrap_or_default();
        if tail.len() == 8 && tail.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Some("an rpm temporary file (';' and eight hex digits)");
        }
    }
    None
}

/// The classful prefix of an IPv4 address.
fn classful(a: Ipv4Addr) -> u8 {
    match a.octets()[0] {
        0..=127 => 8,
        128..=191 => 16,
        _ => 24,
    }
}

/// `nm_ip4_addr_netmask_to_prefix`: 32 minus the trailing zero bits.
fn mask_prefix(m: Ipv4Addr) -> u8 {
    let m = u32::from(m);
    if m == 0 {
        0
    } else {
        (32 - m.trailing_zeros()) as u8
    }
}

fn num_tag(base: &str, i: i64) -> String {
    if i < 0 {
        base.to_owned()
    } else {
        format!("{base}{i}")
    }
}

fn v4(vars: &ShellVars, key: &str) -> Result<Option<Ipv4Addr>, String> {
    match vars.get(key) {
        None => Ok(None),
        Some(s) => {
            util::ipv4(s).map(Some).ok_or_else(|| format!("{key}='{}' is not an IPv4 address", quote(s.as_bytes())))
        }
    }
}

/// Reads RHEL-style ifcfg files.
pub fn read_rhel(files: &mut dyn GuestFiles, limits: &Limits) -> StackConfig {
    let mut out = StackConfig::default();
    let mut w = Warnings::default();
    let network = load(files, RHEL_NETWORK, limits, &mut w);
    if network.is_some() {
        out.files.push(RHEL_NETWORK.to_owned());
    }
    let names = list(files, RHEL_DIR, limits, &mut w);
    let mut ports: Vec<(String, String, &'static str)> = Vec::new();
    for name in &names {
        let Some(suffix) = name.strip_prefix("ifcfg-") else { continue };
        let path = format!("{RHEL_DIR}/{name}");
        if suffix.is_empty() {
            continue;
        }
        if let Some(why) = ignored_suffix(name) {
            w.about("skipped_file", format!("NetworkManager skips {why}"), &path);
            continue;
        }
        if let Some((base, _)) = suffix.split_once(':') {
            if names.iter().any(|n| n.strip_prefix("ifcfg-") == Some(base)) {
                w.about("skipped_file", "an alias file (ifcfg-DEV:N), which NetworkManager does not read", &path);
                continue;
            }
        }
        if out.interfaces.len() >= limits.max_interfaces {
            w.about(
                "too_many_interfaces",
                format!("more than {} interfaces: the rest is not read", limits.max_interfaces),
                &path,
            );
            break;
        }
        let Some(vars) = load(files, &path, limits, &mut w) else { continue };
        out.files.push(path.clone());
        w.file(&path);
        for n in vars.names() {
            if let Some(e) = vars.error(n) {
                w.add("bad_value", format!("{n}: {e}: read as unset, as NetworkManager does"));
            }
        }
        match rhel_profile(files, &vars, suffix, &path, network.as_ref(), limits, &mut w, &mut out.files) {
            Ok(Some((iface, port))) => {
                if let Some((controller, kind)) = port {
                    ports.push((iface.name.clone(), controller, kind));
                }
                out.interfaces.push(iface);
            }
            Ok(None) => {}
            Err(why) => w.add("bad_file", format!("NetworkManager refuses this profile: {why}")),
        }
        w.flush();
    }
    attach_ports(&mut out.interfaces, &ports);
    out.warnings = w.finish();
    out
}

fn attach_ports(interfaces: &mut [Interface], ports: &[(String, String, &'static str)]) {
    for (port, controller, kind) in ports {
        for i in interfaces.iter_mut() {
            if &i.name != controller {
                continue;
            }
            match (&mut i.kind, *kind) {
                (InterfaceKind::Bond { members }, "bond") | (InterfaceKind::Bridge { members }, "bridge") => {
                    if !members.contains(port) {
                        members.push(port.clone());
                    }
                }
                _ => {}
            }
        }
    }
}

type Port = Option<(String, &'static str)>;

#[allow(clippy::too_many_arguments)]
fn rhel_profile(
    files: &mut dyn GuestFiles,
    vars: &ShellVars,
    suffix: &str,
    path: &str,
    network: Option<&ShellVars>,
    limits: &Limits,
    w: &mut Warnings,
    read_files: &mut Vec<String>,
) -> Result<Option<(Interface, Port)>, String> {
    let device = vars.get("DEVICE").unwrap_or(suffix).to_owned();
    if device == "lo" {
        w.add("skipped_file", "the loopback interface, which NetworkManager does not handle");
        return Ok(None);
    }
    if !vars.boolean("ONBOOT", true) {
        w.add("not_onboot", format!("ONBOOT=no: {device} is not brought up at boot"));
        return Ok(None);
    }
    if !vars.boolean("NM_CONTROLLED", true) {
        w.add("nm_unmanaged", format!("NM_CONTROLLED=no: NetworkManager leaves {device} alone (only the legacy network service configures it)"));
    }
    let mut i = Interface {
        name: device.clone(),
        stack: Some(Stack::IfcfgRhel),
        files: vec![path.to_owned()],
        ..Interface::default()
    };
    if let Some(m) = vars.get("HWADDR") {
        i.mac = Some(util::mac(m).ok_or_else(|| format!("HWADDR='{}' is not a MAC address", quote(m.as_bytes())))?);
    }
    if let Some(m) = vars.get("MACADDR") {
        i.set_mac =
            Some(util::mac(m).ok_or_else(|| format!("MACADDR='{}' is not a MAC address", quote(m.as_bytes())))?);
    }
    if let Some(m) = vars.get("MTU") {
        match m.parse::<u32>() {
            Ok(0) => {}
            Ok(n) => i.mtu = Some(n),
            Err(_) => w.add("bad_value", format!("MTU='{}' is not a number: ignored", quote(m.as_bytes()))),
        }
    }
    let ty = vars.get("TYPE").unwrap_or_default().to_ascii_lowercase();
    let mut port: Port = None;
    if let Some(m) = vars.get("MASTER").or_else(|| vars.get("CONTROLLER")) {
        port = Some((m.to_owned(), "bond"));
    } else if let Some(b) = vars.get("BRIDGE") {
        port = Some((b.to_owned(), "bridge"));
    }
    if ty == "bond" || vars.get("BONDING_OPTS").is_some() || vars.boolean("BONDING_MASTER", false) {
        i.kind = InterfaceKind::Bond { members: Vec::new() };
    } else if ty == "bridge" {
        i.kind = InterfaceKind::Bridge { members: Vec::new() };
    } else if ty == "vlan" || vars.boolean("VLAN", false) {
        let (parent, id) = match device.rsplit_once('.') {
            Some((p, id)) if id.parse::<u16>().is_ok() => (Some(p.to_owned()), id.parse::<u16>().ok()),
            _ => (None, None),
        };
        let id = match vars.get("VLAN_ID") {
            Some(v) => v.parse::<u16>().ok(),
            None => id,
        };
        let parent = vars.get("PHYSDEV").map(str::to_owned).or(parent);
        match (id, parent) {
            (Some(id), Some(link)) if id <= 4094 => i.kind = InterfaceKind::Vlan { id, link },
            _ => return Err("a VLAN without a valid VLAN_ID and PHYSDEV (or a DEVICE like eth0.10)".into()),
        }
    }
    if port.is_some() {
        return Ok(Some((i, port)));
    }

    // IPv4.
    let bootproto = vars.get("BOOTPROTO").unwrap_or("none").to_ascii_lowercase();
    let any_addr = (-1..=2).any(|n| vars.get(&num_tag("IPADDR", n)).is_some());
    let method = match bootproto.as_str() {
        "none" | "static" => {
            if any_addr {
                "manual"
            } else {
                "disabled"
            }
        }
        "dhcp" | "bootp" => "auto",
        "autoip" => "link-local",
        "shared" => "shared",
        other => return Err(format!("BOOTPROTO='{}' is unknown", quote(other.as_bytes()))),
    };
    i.dhcp4 = method == "auto";
    let mut never_default = !vars.boolean("DEFROUTE", true);
    if let Some(dev) = network.and_then(|n| n.get("GATEWAYDEV")) {
        if vars.get("DEVICE").is_some_and(|d| d != dev) {
            never_default = true;
        }
    }
    let mut gateway: Option<Ipv4Addr> = None;
    let mut gateway_key = String::new();
    if method != "disabled" {
        let mut n: i64 = -1;
        loop {
            if n > limits.max_nodes as i64 {
                break;
            }
            let key = num_tag("IPADDR", n);
            let Some(addr) = v4(vars, &key)? else {
                if n > 1 {
                    break;
                }
                n += 1;
                continue;
            };
            if gateway.is_none() {
                let gk = num_tag("GATEWAY", n);
                if let Some(g) = v4(vars, &gk)? {
                    gateway = Some(g);
                    gateway_key = gk;
                }
            }
            let pk = num_tag("PREFIX", n);
            let prefix = match vars.get(&pk) {
                Some(p) => match p.parse::<u8>() {
                    Ok(p) if p <= 32 => p,
                    _ => return Err(format!("{pk}='{}' is not a prefix length", quote(p.as_bytes()))),
                },
                None => match v4(vars, &num_tag("NETMASK", n))? {
                    Some(m) => mask_prefix(m),
                    None => {
                        let p = classful(addr);
                        w.add(
                            "default_prefix",
                            format!(
                                "{key}={addr} has no PREFIX{s} or NETMASK{s}: /{p} assumed (its class)",
                                s = if n < 0 { String::new() } else { n.to_string() }
                            ),
                        );
                        p
                    }
                },
            };
            let a = IfAddress::v4(addr, prefix);
            if !i.addresses.contains(&a) {
                i.addresses.push(a);
            }
            n += 1;
        }
        if gateway.is_none() {
            if let Some(g) = network.map(|n| v4(n, "GATEWAY")).transpose()?.flatten() {
                if i.addresses.is_empty() {
                    w.add(
                        "gateway_ignored",
                        format!("GATEWAY={g} of {RHEL_NETWORK} ignored: the profile has no static address"),
                    );
                } else {
                    gateway = Some(g);
                    gateway_key = format!("GATEWAY of {RHEL_NETWORK}");
                }
            }
        }
        if vars.get("GATEWAY").is_some() && vars.get("IPADDR").is_none() {
            w.add(
                "gateway_ignored",
                "GATEWAY without a plain IPADDR: NetworkManager pairs it only with IPADDR (GATEWAYn goes with IPADDRn)",
            );
        }
    }
    if let Some(g) = gateway {
        if never_default {
            w.add("never_default", format!("{gateway_key}={g} makes no default route (DEFROUTE=no or GATEWAYDEV)"));
        } else {
            i.gateways.push(IpAddr::V4(g));
        }
    }

    // IPv6.
    let ipv6init = match vars.get("IPV6INIT") {
        Some(v) => shell::parse_bool(v, false),
        None => network.is_some_and(|n| n.boolean("IPV6INIT", false)),
    };
    let v6_method = if vars.boolean("IPV6_DISABLED", false) {
        "disabled"
    } else if !ipv6init {
        "ignore"
    } else if vars.get("IPV6_AUTOCONF") == Some("shared") {
        "shared"
    } else if vars.get("IPV6_AUTOCONF").map_or(!vars.boolean("IPV6FORWARDING", false), |v| {
        shell::parse_bool(v, !vars.boolean("IPV6FORWARDING", false))
    }) {
        "auto"
    } else if vars.boolean("DHCPV6C", false) {
        "dhcp"
    } else {
        "manual"
    };
    i.dhcp6 = matches!(v6_method, "auto" | "dhcp");
    let v6_on = !matches!(v6_method, "ignore" | "disabled");
    let mut v6_count = 0usize;
    if v6_on {
        let joined = [vars.get("IPV6ADDR"), vars.get("IPV6ADDR_SECONDARIES")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        for item in joined.split(' ').filter(|s| !s.is_empty()) {
            let (a, p) = match item.split_once('/') {
                Some((a, p)) => (
                    a,
                    p.parse::<u8>()
                        .ok()
                        .filter(|p| *p <= 128)
                        .ok_or_else(|| format!("'{}' has a bad prefix", quote(item.as_bytes())))?,
                ),
                None => (item, 64),
            };
            let ip: Ipv6Addr =
                util::ipv6(a).ok_or_else(|| format!("'{}' is not an IPv6 address", quote(item.as_bytes())))?;
            let addr = IfAddress::v6(ip, p);
            if !i.addresses.contains(&addr) {
                i.addresses.push(addr);
                v6_count += 1;
            }
        }
        if v6_count > 0 {
            let gw = vars.get("IPV6_DEFAULTGW").or_else(|| network.and_then(|n| n.get("IPV6_DEFAULTGW")));
            if let Some(g) = gw {
                let g = g.split('%').next().unwrap_or(g);
                let ip = util::ipv6(g)
                    .ok_or_else(|| format!("IPV6_DEFAULTGW='{}' is not an IPv6 address", quote(g.as_bytes())))?;
                if vars.boolean("IPV6_DEFROUTE", true) {
                    i.gateways.push(IpAddr::V6(ip));
                } else {
                    w.add("never_default", "IPV6_DEFROUTE=no: the IPv6 gateway makes no default route");
                }
            }
        } else if v6_method == "manual" {
            // NetworkManager: IPV6_AUTOCONF=no without an address is link-local.
        }
    }

    // DNS.
    if method != "shared" {
        let mut n = 1usize;
        while n < 10_000 {
            let key = format!("DNS{n}");
            let Some(d) = vars.get(&key) else { break };
            match d.parse::<IpAddr>() {
                Ok(ip @ IpAddr::V4(_)) if method != "disabled" => i.dns.push(ip),
                Ok(ip @ IpAddr::V6(_)) if v6_on => i.dns.push(ip),
                Ok(_) => {}
                Err(_) => return Err(format!("{key}='{}' is not an address", quote(d.as_bytes()))),
            }
            n += 1;
        }
        if let Some(d) = vars.get("DOMAIN") {
            i.search.extend(d.split(' ').filter(|s| !s.is_empty()).map(str::to_owned));
        }
    }
    if method == "manual" || method == "auto" || v6_on {
        let route_name = path.rsplit('/').next().and_then(|n| n.strip_prefix("ifcfg-")).unwrap_or(suffix);
        routes(files, &format!("{RHEL_DIR}/route-{route_name}"), false, limits, w, &mut i, read_files);
        if v6_on {
            routes(files, &format!("{RHEL_DIR}/route6-{route_name}"), true, limits, w, &mut i, read_files);
        }
    }
    Ok(Some((i, None)))
}

/// A `route-NAME` or `route6-NAME` file.
fn routes(
    files: &mut dyn GuestFiles,
    path: &str,
    v6: bool,
    limits: &Limits,
    w: &mut Warnings,
    i: &mut Interface,
    read_files: &mut Vec<String>,
) {
    let data = match files.read(path, limits.max_file_bytes) {
        Ok(Some(d)) => d,
        Ok(None) => return,
        Err(e) => {
            w.about("bad_file", e.to_string(), path);
            return;
        }
    };
    read_files.push(path.to_owned());
    i.files.push(path.to_owned());
    let (vars, _) = ShellVars::parse(&data, limits.max_nodes);
    if !v6 && vars.get("ADDRESS0").is_some() {
        let mut n = 0usize;
        while n < limits.max_nodes {
            let Some(a) = vars.get(&format!("ADDRESS{n}")) else { break };
            let net = util::ipv4(a);
            let mask = vars.get(&format!("NETMASK{n}")).map(util::ipv4);
            let gw = vars.get(&format!("GATEWAY{n}")).map(util::ipv4);
            let metric = vars.get(&format!("METRIC{n}")).and_then(|m| m.parse::<u32>().ok());
            match (net, mask, gw) {
                (Some(net), None | Some(Some(_)), None | Some(Some(_))) => {
                    let plen = mask.flatten().map_or(32, mask_prefix);
                    push_route(i, IfAddress::v4(net, plen), gw.flatten().map(IpAddr::V4), metric);
                }
                _ => w.about(
                    "bad_value",
                    format!("ADDRESS{n}/NETMASK{n}/GATEWAY{n}: a bad address: route ignored"),
                    path,
                ),
            }
            n += 1;
        }
        return;
    }
    for (n, line) in data.split(|&b| b == b'\n').enumerate() {
        if n >= limits.max_nodes {
            break;
        }
        let Ok(line) = std::str::from_utf8(line) else {
            w.about("bad_value", format!("line {}: not UTF-8: ignored", n + 1), path);
            continue;
        };
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_ascii_whitespace();
        let dest = words.next().unwrap_or_default();
        let to = if dest == "default" {
            Some(if v6 { IfAddress::v6(Ipv6Addr::UNSPECIFIED, 0) } else { IfAddress::v4(Ipv4Addr::UNSPECIFIED, 0) })
        } else {
            let (a, p) = dest.split_once('/').unwrap_or((dest, if v6 { "128" } else { "32" }));
            match (util::ip(a, v6), p.parse::<u8>()) {
                (Some(ip), Ok(p)) if p <= if v6 { 128 } else { 32 } => Some(IfAddress::new(ip, p)),
                _ => None,
            }
        };
        let mut via = None;
        let mut metric = None;
        let mut ok = to.is_some();
        while let Some(word) = words.next() {
            match word {
                "via" => match words.next().and_then(|g| util::ip(g, v6)) {
                    Some(g) => via = Some(g),
                    None => ok = false,
                },
                "metric" => match words.next().and_then(|m| m.parse::<u32>().ok()) {
                    Some(m) => metric = Some(m),
                    None => ok = false,
                },
                _ => {
                    let _ = words.next();
                }
            }
        }
        match (ok, to) {
            (true, Some(to)) => push_route(i, to, via, metric),
            _ => w.about(
                "bad_value",
                format!("line {}: '{}' is not a route NetworkManager reads: ignored", n + 1, quote(line.as_bytes())),
                path,
            ),
        }
    }
}

fn push_route(i: &mut Interface, to: IfAddress, via: Option<IpAddr>, metric: Option<u32>) {
    if to.prefix_len == 0 {
        if let Some(g) = via {
            if !i.gateways.contains(&g) {
                i.gateways.push(g);
            }
            return;
        }
    }
    i.routes.push(IfRoute { to, via, metric });
}

/// Reads SUSE-style ifcfg files (wicked).
///
/// - `ifcfg-NAME` names the interface `NAME`; backup copies (`~`, `.bak`, `.orig`, `.rpmnew`,
///   `.rpmsave`, `.old`) and `ifcfg-lo` are skipped.
/// - `STARTMODE` auto/onboot/hotplug/nfsroot (and unset) come up at boot; manual/off/ifplugd are
///   warnings (`not_onboot`), not applied.
/// - `BOOTPROTO` static/dhcp/dhcp4/dhcp6/dhcp+autoip/autoip/none.
/// - `IPADDR` and `IPADDR_x` (any suffix, in name order): `a/len`, else `PREFIXLEN(_x)`, else
///   `NETMASK(_x)`, else /32 for IPv4 (wicked) and /64 for IPv6, with a warning.
/// - `LLADDR` sets the MAC; `MTU`; VLANs `ETHERDEVICE` + `VLAN_ID`; bonds `BONDING_MASTER=yes`
///   with `BONDING_SLAVE_x`; bridges `BRIDGE=yes` with `BRIDGE_PORTS`.
/// - Routes in `routes` and `ifroute-NAME`: `DEST GATEWAY NETMASK|PREFIX INTERFACE …`, `-` for
///   none; `default GW - -` is a default gateway for the interface whose subnet holds `GW`
///   (or the one named).
/// - `config`: `NETCONFIG_DNS_STATIC_SERVERS` and `NETCONFIG_DNS_STATIC_SEARCHLIST` are the host's
///   DNS ([`StackConfig::dns`], [`StackConfig::search`]).
pub fn read_suse(files: &mut dyn GuestFiles, limits: &Limits) -> StackConfig {
    let mut out = StackConfig::default();
    let mut w = Warnings::default();
    let names = list(files, SUSE_DIR, limits, &mut w);
    let mut ports: Vec<(String, String, &'static str)> = Vec::new();
    let mut route_files: Vec<(String, Option<String>)> = Vec::new();
    for name in &names {
        let path = format!("{SUSE_DIR}/{name}");
        if name == "routes" {
            route_files.push((path, None));
            continue;
        }
        if let Some(dev) = name.strip_prefix("ifroute-") {
            if ignored_suffix(name).is_none() {
                route_files.push((path, Some(dev.to_owned())));
            }
            continue;
        }
        let Some(dev) = name.strip_prefix("ifcfg-") else { continue };
        if dev.is_empty() {
            continue;
        }
        let lower = name.to_ascii_lowercase();
        if ignored_suffix(name).is_some() || lower.ends_with(".rpmsave") || lower.ends_with(".old") {
            w.about("skipped_file", "wicked skips backup copies", &path);
            continue;
        }
        if dev == "lo" {
            continue;
        }
        if out.interfaces.len() >= limits.max_interfaces {
            w.about(
                "too_many_interfaces",
                format!("more than {} interfaces: the rest is not read", limits.max_interfaces),
                &path,
            );
            break;
        }
        let Some(vars) = load(files, &path, limits, &mut w) else { continue };
        out.files.push(path.clone());
        w.file(&path);
        for n in vars.names() {
            if let Some(e) = vars.error(n) {
                w.add("bad_value", format!("{n}: {e}: read as unset"));
            }
        }
        if let Some((i, more)) = suse_profile(&vars, dev, &path, &mut w) {
            ports.extend(more);
            out.interfaces.push(i);
        }
        w.flush();
    }
    attach_ports(&mut out.interfaces, &ports);
    for (path, dev) in route_files {
        suse_routes(files, &path, dev.as_deref(), limits, &mut w, &mut out);
    }
    let config = format!("{SUSE_DIR}/config");
    if let Some(vars) = load(files, &config, limits, &mut w) {
        out.files.push(config.clone());
        for key in ["NETCONFIG_DNS_STATIC_SERVERS", "NETCONFIG_DNS_STATIC_SEARCHLIST"] {
            if let Some(e) = vars.error(key) {
                w.about("bad_value", format!("{key}: {e}: read as unset"), &config);
            }
        }
        if let Some(s) = vars.get("NETCONFIG_DNS_STATIC_SERVERS") {
            for d in s.split_ascii_whitespace() {
                match d.parse::<IpAddr>() {
                    Ok(ip) => out.dns.push(ip),
                    Err(_) => w.about(
                        "bad_value",
                        format!("NETCONFIG_DNS_STATIC_SERVERS: '{}' is not an address: ignored", quote(d.as_bytes())),
                        &config,
                    ),
                }
            }
        }
        if let Some(s) = vars.get("NETCONFIG_DNS_STATIC_SEARCHLIST") {
            out.search.extend(s.split_ascii_whitespace().map(str::to_owned));
        }
    }
    out.warnings = w.finish();
    out
}

fn suffixed<'a>(vars: &'a ShellVars, base: &str) -> Vec<(String, &'a str)> {
    let mut out = Vec::new();
    for n in vars.names() {
        if n == base || n.strip_prefix(base).is_some_and(|s| s.starts_with('_')) {
            if let Some(v) = vars.get(n) {
                out.push((n.get(base.len()..).unwrap_or_default().to_owned(), v));
            }
        }
    }
    out
}

fn suse_profile(
    vars: &ShellVars,
    dev: &str,
    path: &str,
    w: &mut Warnings,
) -> Option<(Interface, Vec<(String, String, &'static str)>)> {
    let start = vars.get("STARTMODE").unwrap_or("auto").to_ascii_lowercase();
    if matches!(start.as_str(), "manual" | "off" | "ifplugd") {
        w.add("not_onboot", format!("STARTMODE={start}: {dev} is not brought up at boot"));
        return None;
    }
    let mut i = Interface {
        name: dev.to_owned(),
        stack: Some(Stack::IfcfgSuse),
        files: vec![path.to_owned()],
        ..Interface::default()
    };
    let boot = vars.get("BOOTPROTO").unwrap_or("static").to_ascii_lowercase();
    i.dhcp4 = matches!(boot.as_str(), "dhcp" | "dhcp4" | "dhcp+autoip");
    i.dhcp6 = matches!(boot.as_str(), "dhcp" | "dhcp6" | "dhcp+autoip");
    if let Some(m) = vars.get("LLADDR") {
        match util::mac(m) {
            Some(m) => i.set_mac = Some(m),
            None => w.add("bad_value", format!("LLADDR='{}' is not a MAC address: ignored", quote(m.as_bytes()))),
        }
    }
    if let Some(m) = vars.get("MTU") {
        match m.parse::<u32>() {
            Ok(n) if n > 0 => i.mtu = Some(n),
            _ => {}
        }
    }
    let mut ports = Vec::new();
    if let (Some(link), Some(id)) =
        (vars.get("ETHERDEVICE"), vars.get("VLAN_ID").or_else(|| dev.rsplit_once('.').map(|x| x.1)))
    {
        match id.parse::<u16>() {
            Ok(id) if id <= 4094 => i.kind = InterfaceKind::Vlan { id, link: link.to_owned() },
            _ => w.add("bad_value", format!("VLAN_ID='{}' is not a VLAN ID", quote(id.as_bytes()))),
        }
    } else if vars.boolean("BONDING_MASTER", false) {
        let members: Vec<String> = suffixed(vars, "BONDING_SLAVE").into_iter().map(|(_, v)| v.to_owned()).collect();
        i.kind = InterfaceKind::Bond { members };
    } else if vars.boolean("BRIDGE", false) {
        let members: Vec<String> =
            vars.get("BRIDGE_PORTS").unwrap_or_default().split_ascii_whitespace().map(str::to_owned).collect();
        i.kind = InterfaceKind::Bridge { members };
    }
    let _ = &mut ports;
    if matches!(boot.as_str(), "static" | "dhcp" | "dhcp4" | "dhcp6" | "dhcp+autoip" | "none" | "autoip") {
        let mut addrs = suffixed(vars, "IPADDR");
        addrs.sort();
        for (sfx, v) in addrs {
            let (a, p) = match v.split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (v, None),
            };
            let Some(ip) = a.parse::<IpAddr>().ok() else {
                w.add("bad_value", format!("IPADDR{sfx}='{}' is not an address: ignored", quote(v.as_bytes())));
                continue;
            };
            let max = if ip.is_ipv6() { 128 } else { 32 };
            let p = p
                .map(str::to_owned)
                .or_else(|| vars.get(&format!("PREFIXLEN{sfx}")).map(str::to_owned))
                .and_then(|p| p.parse::<u8>().ok().filter(|p| *p <= max))
                .or_else(|| vars.get(&format!("NETMASK{sfx}")).and_then(util::ipv4).and_then(util::netmask_len));
            let p = match p {
                Some(p) => p,
                None => {
                    let d = if ip.is_ipv6() { 64 } else { 32 };
                    w.add("default_prefix", format!("IPADDR{sfx}={a} has no prefix length: /{d} assumed"));
                    d
                }
            };
            i.addresses.push(IfAddress::new(ip, p));
        }
    } else {
        w.add("bad_value", format!("BOOTPROTO='{}' is unknown: no addresses applied", quote(boot.as_bytes())));
    }
    Some((i, ports))
}

fn suse_routes(
    files: &mut dyn GuestFiles,
    path: &str,
    dev: Option<&str>,
    limits: &Limits,
    w: &mut Warnings,
    out: &mut StackConfig,
) {
    let data = match files.read(path, limits.max_file_bytes) {
        Ok(Some(d)) => d,
        Ok(None) => return,
        Err(e) => {
            w.about("bad_file", e.to_string(), path);
            return;
        }
    };
    out.files.push(path.to_owned());
    for (n, line) in data.split(|&b| b == b'\n').enumerate() {
        if n >= limits.max_nodes {
            w.about("bad_file", format!("more than {} lines: the rest is not read", limits.max_nodes), path);
            break;
        }
        let text = String::from_utf8_lossy(line);
        let text = text.split('#').next().unwrap_or_default().trim();
        if text.is_empty() {
            continue;
        }
        let f: Vec<&str> = text.split_ascii_whitespace().take(5).collect();
        let field = |k: usize| f.get(k).copied().filter(|s| *s != "-");
        let (Some(dest), gw) = (field(0), field(1)) else { continue };
        let iface = field(3).or(dev);
        let via = match gw.map(|g| g.parse::<IpAddr>()) {
            None => None,
            Some(Ok(g)) => Some(g),
            Some(Err(_)) => {
                w.about("bad_value", format!("line {}: a bad gateway: ignored", n + 1), path);
                continue;
            }
        };
        let to = if dest == "default" {
            None
        } else {
            let (a, p) = dest.split_once('/').map_or((dest, None), |(a, p)| (a, Some(p)));
            let Ok(ip) = a.parse::<IpAddr>() else {
                w.about("bad_value", format!("line {}: a bad destination: ignored", n + 1), path);
                continue;
            };
            let full = if ip.is_ipv6() { 128 } else { 32 };
            let p = p
                .and_then(|p| p.parse::<u8>().ok())
                .or_else(|| {
                    field(2).and_then(|m| m.parse::<u8>().ok().or_else(|| util::ipv4(m).and_then(util::netmask_len)))
                })
                .unwrap_or(full);
            if p > full {
                w.about("bad_value", format!("line {}: prefix length {p} is over {full}: ignored", n + 1), path);
                continue;
            }
            Some(IfAddress::new(ip, p))
        };
        let target = out.interfaces.iter_mut().position(|i| match (iface, via) {
            (Some(name), _) => i.name == name,
            (None, Some(g)) => i.addresses.iter().any(|a| same_subnet(a, g)),
            (None, None) => false,
        });
        let Some(t) = target.and_then(|t| out.interfaces.get_mut(t)) else {
            w.about("bad_value", format!("line {}: no interface for this route: ignored", n + 1), path);
            continue;
        };
        if !t.files.iter().any(|f| f == path) {
            t.files.push(path.to_owned());
        }
        match to {
            None => {
                if let Some(g) = via {
                    if !t.gateways.contains(&g) {
                        t.gateways.push(g);
                    }
                }
            }
            Some(to) => push_route(t, to, via, None),
        }
    }
}

fn same_subnet(a: &IfAddress, g: IpAddr) -> bool {
    match (a.address, g) {
        (IpAddr::V4(x), IpAddr::V4(y)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(a.prefix_len.min(32))).unwrap_or(0);
            u32::from(x) & mask == u32::from(y) & mask
        }
        (IpAddr::V6(x), IpAddr::V6(y)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(a.prefix_len.min(128))).unwrap_or(0);
            u128::from(x) & mask == u128::from(y) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
