//! NetworkManager keyfiles (`system-connections/*.nmconnection`), read as NetworkManager's keyfile
//! plugin loads them at boot.
//!
//! Rules, from NetworkManager's sources (`src/core/settings/plugins/keyfile/`,
//! `src/libnm-core-impl/nm-keyfile.c`) and checked against libnm's `nm_keyfile_read`:
//!
//! - Directories: `/etc/NetworkManager/system-connections` then
//!   `/usr/lib/NetworkManager/system-connections`. `/run/NetworkManager/system-connections` has
//!   the highest priority on a running system, but `/run` is a tmpfs at boot: files an image holds
//!   there are hidden, so they are reported as skipped, never applied.
//! - File names (`nm_keyfile_utils_ignore_filename`): hidden names (`.x`), names ending in `~`,
//!   `mkstemp` temporary names (a final `.` and six letters or digits, which also covers
//!   `.nmmeta`), certificates (`.pem`, `.der`, any case) are skipped; outside `/etc` only
//!   `*.nmconnection` files are read. A `.bak` name is **not** skipped for its name.
//! - Ownership (`nms_keyfile_utils_check_file_permissions`): a file must be a regular file (after
//!   links) owned by root with no group or other permission bits (`mode & 0o077 == 0`); a backup
//!   left at 0644 is skipped for its mode. When the file system records no owner, the file is read
//!   with a warning.
//! - A file GLib cannot load as a key file, or a profile NetworkManager's verification refuses
//!   (an unknown type or method, `method=manual` without addresses or routes, addresses with
//!   `disabled`/`link-local`, a bad interface name...), is skipped whole with a warning.
//! - Several files with one UUID: `/etc` wins over `/usr/lib`; an `/etc/…/UUID.nmmeta` link to
//!   `/dev/null` deletes the `/usr/lib` profile of that UUID; in one directory NetworkManager
//!   takes the newest file, which offline is unknown: the greatest name is taken, with a warning.
//! - Addresses (`_build_list_create`): keys `address`, `addresses`, `addressN`, `addressesN` (N
//!   without leading zeros, `0` alone allowed) sorted by N (no N first), then `address` before
//!   `addresses`. Each value is `ip[/plen][,gateway]` with `/`, `;`, `,` interchangeable; a missing
//!   or invalid prefix is 24 (IPv4) or 64 (IPv6); the first gateway given with an address is the
//!   gateway unless `gateway=` is set; `never-default=true` drops the gateway. Routes `routeN`
//!   likewise (`dest/plen,gateway,metric`, default prefix 24 or 128).
//! - At boot NetworkManager activates profiles with `autoconnect` (default true). Others are
//!   listed as warnings (`not_autoconnect`), not as interfaces. When several autoconnect profiles
//!   bind the same interface, the one with the highest `autoconnect-priority`, then the most
//!   recent timestamp (`/var/lib/NetworkManager/timestamps`, else the profile's `timestamp`) is
//!   applied; the others are warnings (`shadowed_profile`).
//! - Ports (`slave-type`/`port-type` with `master`/`controller` naming an interface or a
//!   profile's UUID) carry no IP settings and are listed as members of their bond or bridge.

mod gkeyfile;
pub(crate) mod util;

use crate::{
    FileKind, FilesError, GuestFiles, IfAddress, IfRoute, Interface, InterfaceKind, Limits, Stack, StackConfig,
};
use gkeyfile::KeyFile;
use std::collections::BTreeMap;
use std::net::IpAddr;
use util::{quote, Warnings};

const ETC: &str = "/etc/NetworkManager/system-connections";
const LIB: &str = "/usr/lib/NetworkManager/system-connections";
const RUN: &str = "/run/NetworkManager/system-connections";
const TIMESTAMPS: &str = "/var/lib/NetworkManager/timestamps";

/// Reads the NetworkManager keyfiles of the guest.
pub fn read(files: &mut dyn GuestFiles, limits: &Limits) -> StackConfig {
    let mut out = StackConfig::default();
    let mut w = Warnings::default();
    let mut budget = limits.max_files;

    match files.list(RUN) {
        Ok(Some(entries)) if !entries.is_empty() => w.about(
            "skipped_file",
            format!(
                "{} entries in the image's {RUN}: /run is an empty tmpfs at boot, NetworkManager never sees them",
                entries.len()
            ),
            RUN,
        ),
        _ => {}
    }

    let mut profiles: Vec<Profile> = Vec::new();
    let mut tombstones: Vec<String> = Vec::new();
    for (dir, etc) in [(ETC, true), (LIB, false)] {
        let entries = match files.list(dir) {
            Ok(Some(e)) => e,
            Ok(None) => continue,
            Err(e) => {
                w.about("bad_file", format!("cannot list the folder: {e}"), dir);
                continue;
            }
        };
        for (name, kind) in entries {
            if budget == 0 {
                w.about("too_many_files", format!("more than {} files: the rest is not read", limits.max_files), dir);
                break;
            }
            budget -= 1;
            let Ok(name) = String::from_utf8(name.clone()) else {
                w.about("skipped_file", format!("a name that is not UTF-8 ({})", quote(&name)), dir);
                continue;
            };
            let path = format!("{dir}/{name}");
            if kind == FileKind::Dir {
                w.about("skipped_file", "a folder, not a file", &path);
                continue;
            }
            if let Some(why) = ignored_name(&name, etc) {
                if etc && is_nmmeta(&name) {
                    if let Some(uuid) = tombstone(files, &path, &name, limits) {
                        tombstones.push(uuid);
                        continue;
                    }
                }
                w.about("skipped_file", format!("NetworkManager skips {why}"), &path);
                continue;
            }
            w.file(&path);
            if let Some(p) = load(files, &path, etc, limits, &mut w) {
                out.files.push(path.clone());
                profiles.push(p);
            }
            w.flush();
        }
    }

    let timestamps = read_timestamps(files, limits, &mut w);
    let chosen = choose(profiles, &tombstones, &timestamps, &mut w);
    out.interfaces = build(&chosen, limits, &mut w);
    out.warnings = w.finish();
    out
}

/// Why NetworkManager's keyfile plugin skips a file by its name, if it does.
fn ignored_name(name: &str, etc: bool) -> Option<&'static str> {
    if name.is_empty() || name.starts_with('.') {
        return Some("hidden files");
    }
    if !etc {
        return if name.len() > ".nmconnection".len() && name.ends_with(".nmconnection") {
            None
        } else {
            Some("files without the .nmconnection extension outside /etc")
        };
    }
    if name.ends_with('~') {
        return Some("backup files ending in '~'");
    }
    if let Some(dot) = name.rfind('.') {
        let tail = name.get(dot + 1..).unwrap_or_default();
        if tail.len() == 6 && tail.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Some("temporary files (a '.' and six letters or digits at the end)");
        }
    }
    let lower = name.to_ascii_lowercase();
    if (lower.ends_with(".pem") || lower.ends_with(".der")) && name.len() > 4 {
        return Some("certificates and keys (.pem, .der)");
    }
    None
}

/// `UUID.nmmeta` with a normalized (lower-case) UUID.
fn is_nmmeta(name: &str) -> bool {
    name.strip_suffix(".nmmeta").is_some_and(is_normalized_uuid)
}

fn is_normalized_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                b == b'-'
            } else {
                b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
            }
        })
}

/// The UUID a `UUID.nmmeta` tombstone deletes: a link to `/dev/null`, or a file whose `[nmmeta]`
/// has `uuid=UUID` and `loaded-path=/dev/null`.
fn tombstone(files: &mut dyn GuestFiles, path: &str, name: &str, limits: &Limits) -> Option<String> {
    let uuid = name.strip_suffix(".nmmeta")?;
    let target = match files.read_link(path) {
        Ok(Some(t)) => Some(t),
        _ => None,
    };
    let loaded = match target {
        Some(t) => t,
        None => {
            let data = files.read(path, limits.max_file_bytes).ok()??;
            let kf = KeyFile::parse(&data, limits.max_nodes).ok()?;
            if kf.string("nmmeta", "uuid").ok()?? != uuid {
                return None;
            }
            kf.string("nmmeta", "loaded-path").ok()??.into_bytes()
        }
    };
    (loaded == b"/dev/null").then(|| uuid.to_owned())
}

fn read_timestamps(files: &mut dyn GuestFiles, limits: &Limits, w: &mut Warnings) -> BTreeMap<String, i64> {
    let mut map = BTreeMap::new();
    match files.read(TIMESTAMPS, limits.max_file_bytes) {
        Ok(Some(data)) => {
            if let Ok(kf) = KeyFile::parse(&data, limits.max_nodes) {
                for (k, v) in kf.keys("timestamps") {
                    if let (Ok(k), Some(v)) =
                        (std::str::from_utf8(k), std::str::from_utf8(v).ok().and_then(|v| v.trim().parse().ok()))
                    {
                        map.insert(k.to_owned(), v);
                    }
                }
            }
        }
        Ok(None) => {}
        Err(e) => w.about("bad_file", e.to_string(), TIMESTAMPS),
    }
    map
}

/// One IP family's settings.
#[derive(Debug, Default, Clone)]
struct IpCfg {
    method: String,
    addresses: Vec<IfAddress>,
    gateway: Option<IpAddr>,
    routes: Vec<IfRoute>,
    dns: Vec<IpAddr>,
    search: Vec<String>,
}

/// One profile as NetworkManager would load it.
#[derive(Debug, Clone)]
struct Profile {
    path: String,
    etc: bool,
    id: String,
    uuid: String,
    kind: String,
    iface: Option<String>,
    mac: Option<String>,
    set_mac: Option<String>,
    mtu: Option<u32>,
    autoconnect: bool,
    priority: i32,
    timestamp: i64,
    controller: Option<String>,
    port_type: Option<String>,
    vlan: Option<(u16, String)>,
    ip4: Option<IpCfg>,
    ip6: Option<IpCfg>,
}

fn load(files: &mut dyn GuestFiles, path: &str, etc: bool, limits: &Limits, w: &mut Warnings) -> Option<Profile> {
    match files.owner_mode(path) {
        Ok(Some((uid, mode))) => {
            if uid != 0 {
                w.add("skipped_file", format!("owned by user {uid}: NetworkManager loads only root's files"));
                return None;
            }
            if mode & 0o077 != 0 {
                w.add(
                    "skipped_file",
                    format!(
                        "mode {:04o}: NetworkManager loads no file that group or others may access (0600 expected)",
                        mode & 0o7777
                    ),
                );
                return None;
            }
        }
        Ok(None) => {
            w.add("no_owner_mode", "the file system records no owner or mode: read as if root's with mode 0600")
        }
        Err(e) => {
            w.add("bad_file", e.to_string());
            return None;
        }
    }
    let data = match files.read(path, limits.max_file_bytes) {
        Ok(Some(d)) => d,
        Ok(None) => {
            w.add("skipped_file", "not a regular file (a link leading nowhere?)");
            return None;
        }
        Err(e @ FilesError::TooBig { .. }) | Err(e @ FilesError::Unreadable { .. }) => {
            w.add("bad_file", e.to_string());
            return None;
        }
    };
    let kf = match KeyFile::parse(&data, limits.max_nodes) {
        Ok(kf) => kf,
        Err(e) => {
            w.add(
                "bad_file",
                format!("not a key file GLib loads (line {}: {}): NetworkManager skips it", e.line, e.reason),
            );
            return None;
        }
    };
    match profile(&kf, path, etc, w) {
        Ok(p) => Some(p),
        Err(why) => {
            w.add("bad_file", format!("NetworkManager refuses this profile: {why}"));
            None
        }
    }
}

/// A string value, with a warning when it cannot be read.
fn get(kf: &KeyFile, group: &str, key: &str, w: &mut Warnings) -> Option<String> {
    match kf.string(group, key) {
        Ok(v) => v,
        Err(why) => {
            w.add("bad_value", format!("[{group}] {key}: {why}: ignored"));
            None
        }
    }
}

/// The group an alias names (`ethernet` is `802-3-ethernet`): NetworkManager looks in the alias
/// first.
fn get_alias(kf: &KeyFile, groups: &[&str], key: &str, w: &mut Warnings) -> Option<String> {
    groups.iter().find(|g| kf.raw(g, key).is_some()).and_then(|g| get(kf, g, key, w))
}

fn boolean(kf: &KeyFile, group: &str, key: &str, default: bool, w: &mut Warnings) -> bool {
    match get(kf, group, key, w) {
        None => default,
        Some(v) => match v.trim_end() {
            "true" | "1" => true,
            "false" | "0" => false,
            other => {
                w.add(
                    "bad_value",
                    format!("[{group}] {key}={}: not a boolean, {default} assumed", quote(other.as_bytes())),
                );
                default
            }
        },
    }
}

fn ifname_valid(s: &str) -> bool {
    !s.is_empty()
        && s.len() < 16
        && s != "."
        && s != ".."
        && !s.bytes().any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace())
}

fn profile(kf: &KeyFile, path: &str, etc: bool, w: &mut Warnings) -> Result<Profile, String> {
    let file_name = path.rsplit('/').next().unwrap_or(path);
    let id = get(kf, "connection", "id", w).filter(|s| !s.is_empty()).unwrap_or_else(|| {
        file_name.strip_suffix(".nmconnection").filter(|s| !s.is_empty()).unwrap_or(file_name).to_owned()
    });
    let uuid = match get(kf, "connection", "uuid", w) {
        Some(u) => {
            let l = u.to_ascii_lowercase();
            if !is_normalized_uuid(&l) {
                return Err(format!("connection.uuid '{}' is not a UUID", quote(u.as_bytes())));
            }
            l
        }
        None => format!("file:{path}"),
    };
    let kind = match get(kf, "connection", "type", w).as_deref() {
        Some("ethernet" | "802-3-ethernet") => "ethernet",
        Some(t @ ("vlan" | "bond" | "bridge")) => t,
        Some(other) => return Err(format!("type '{}' is not a wired interface regnet reads", quote(other.as_bytes()))),
        None => {
            if kf.has_group("ethernet") || kf.has_group("802-3-ethernet") {
                "ethernet"
            } else if kf.has_group("vlan") {
                "vlan"
            } else if kf.has_group("bond") {
                "bond"
            } else if kf.has_group("bridge") {
                "bridge"
            } else {
                return Err("no connection.type and no setting that gives one".into());
            }
        }
    }
    .to_owned();
    let iface = get(kf, "connection", "interface-name", w).filter(|s| !s.is_empty());
    if let Some(i) = &iface {
        if !ifname_valid(i) {
            return Err(format!("interface-name '{}' is not a valid interface name", quote(i.as_bytes())));
        }
    }
    let eth = ["ethernet", "802-3-ethernet"];
    let mac = match get_alias(kf, &eth, "mac-address", w) {
        Some(m) if !m.is_empty() => match util::mac(&m).or_else(|| int_list_mac(&m)) {
            Some(m) => Some(m),
            None => {
                w.add(
                    "bad_value",
                    format!("[ethernet] mac-address={}: not a MAC address, ignored", quote(m.as_bytes())),
                );
                None
            }
        },
        _ => None,
    };
    let set_mac = match get_alias(kf, &eth, "cloned-mac-address", w) {
        Some(m) if !m.is_empty() => match util::mac(&m).or_else(|| int_list_mac(&m)) {
            Some(m) => Some(m),
            None if matches!(m.as_str(), "preserve" | "permanent" | "random" | "stable" | "stable-ssid") => {
                w.add("cloned_mac", format!("[ethernet] cloned-mac-address={m}: a MAC chosen at activation"));
                None
            }
            None => return Err(format!("cloned-mac-address '{}' is invalid", quote(m.as_bytes()))),
        },
        _ => None,
    };
    let mtu = match get_alias(kf, &eth, "mtu", w) {
        None => None,
        Some(v) => match v.trim().parse::<u32>() {
            Ok(0) => None,
            Ok(n) => Some(n),
            Err(_) => {
                w.add("bad_value", format!("[ethernet] mtu={}: not a number, ignored", quote(v.as_bytes())));
                None
            }
        },
    };
    let autoconnect = boolean(kf, "connection", "autoconnect", true, w);
    let priority =
        get(kf, "connection", "autoconnect-priority", w).and_then(|v| v.trim().parse::<i32>().ok()).unwrap_or(0);
    let timestamp = get(kf, "connection", "timestamp", w).and_then(|v| v.trim().parse::<i64>().ok()).unwrap_or(0);
    let controller =
        get(kf, "connection", "controller", w).or_else(|| get(kf, "connection", "master", w)).filter(|s| !s.is_empty());
    let port_type = get(kf, "connection", "port-type", w)
        .or_else(|| get(kf, "connection", "slave-type", w))
        .filter(|s| !s.is_empty());
    if controller.is_some() != port_type.is_some() {
        return Err("a controller without a port type, or a port type without a controller".into());
    }
    let vlan = if kind == "vlan" {
        let id = get(kf, "vlan", "id", w).unwrap_or_default();
        let Ok(id) = id.trim().parse::<u16>() else {
            return Err(format!("vlan.id '{}' is not a number", quote(id.as_bytes())));
        };
        if id > 4094 {
            return Err(format!("vlan.id {id} is over 4094"));
        }
        let parent = get(kf, "vlan", "parent", w).filter(|s| !s.is_empty());
        let Some(parent) = parent.or_else(|| mac.clone()) else {
            return Err("a VLAN with neither vlan.parent nor a MAC".into());
        };
        Some((id, parent))
    } else {
        None
    };
    let (ip4, ip6) =
        if port_type.is_some() { (None, None) } else { (Some(ip_cfg(kf, false, w)?), Some(ip_cfg(kf, true, w)?)) };
    Ok(Profile {
        path: path.to_owned(),
        etc,
        id,
        uuid,
        kind,
        iface,
        mac,
        set_mac,
        mtu,
        autoconnect,
        priority,
        timestamp,
        controller,
        port_type,
        vlan,
        ip4,
        ip6,
    })
}

/// The old MAC format: six decimal bytes separated by `;`.
fn int_list_mac(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.strip_suffix(';').unwrap_or(s).split(';').collect();
    if parts.len() != 6 {
        return None;
    }
    let bytes: Option<Vec<u8>> = parts.iter().map(|p| p.trim().parse::<u8>().ok()).collect();
    Some(bytes?.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":"))
}

/// Keys `baseN` as NetworkManager's `_build_list_match_key_w_name` accepts them: the index, -1
/// for no N.
fn key_index(key: &[u8], base: &str) -> Option<i64> {
    let rest = key.strip_prefix(base.as_bytes())?;
    match rest {
        [] => Some(-1),
        [b'0'] => Some(0),
        [b'1'..=b'9', ..] if rest.iter().all(u8::is_ascii_digit) => {
            std::str::from_utf8(rest).ok()?.parse::<i64>().ok().filter(|&v| v <= i64::from(i32::MAX))
        }
        _ => None,
    }
}

/// The keys of a list property (`address`/`addresses`, `route`/`routes`) in NetworkManager's
/// order.
fn list_keys(kf: &KeyFile, group: &str, bases: [&str; 2]) -> Vec<String> {
    let mut keys: Vec<(i64, u8, String)> = Vec::new();
    for (k, _) in kf.keys(group) {
        let Ok(name) = std::str::from_utf8(k) else { continue };
        if let Some(i) = key_index(k, bases[0]) {
            keys.push((i, 0, name.to_owned()));
        } else if let Some(i) = key_index(k, bases[1]) {
            keys.push((i, 1, name.to_owned()));
        }
    }
    keys.sort();
    keys.into_iter().map(|k| k.2).collect()
}

const IP_CHARS: &[u8] = b"0123456789abcdefABCDEF:.%";

/// NetworkManager's `read_field`: the field (possibly empty) up to the next delimiter, `None` at
/// the end of input, `Err` on a character outside `chars` (the position is not consumed).
fn read_field<'a>(cur: &mut Option<&'a str>, chars: &[u8]) -> Result<Option<&'a str>, ()> {
    let Some(s) = *cur else { return Ok(None) };
    if s.is_empty() {
        return Ok(None);
    }
    let end = s.bytes().position(|b| !chars.contains(&b)).unwrap_or(s.len());
    let (field, rest) = s.split_at(end);
    match rest.bytes().next() {
        None => {
            *cur = None;
            Ok(Some(field))
        }
        Some(b'/' | b';' | b',') => {
            *cur = Some(rest.get(1..).unwrap_or_default());
            Ok(Some(field))
        }
        Some(_) => Err(()),
    }
}

/// One `addressN`/`routeN` value: (address, prefix, gateway, metric).
/// An address or route value: address, prefix, gateway text, metric, whether the prefix was
/// defaulted.
type Item<'a> = (IpAddr, u8, Option<&'a str>, Option<u32>, bool);

fn parse_item(v: &str, v6: bool, route: bool) -> Result<Item<'_>, String> {
    let mut cur = Some(v);
    let addr = read_field(&mut cur, IP_CHARS).map_err(|_| "an unexpected character in the address".to_owned())?;
    let plen = read_field(&mut cur, b"0123456789").ok().flatten();
    let gw = read_field(&mut cur, IP_CHARS).map_err(|_| "an unexpected character in the gateway".to_owned())?;
    let metric = if route {
        read_field(&mut cur, b"0123456789").map_err(|_| "an unexpected character in the metric".to_owned())?
    } else {
        None
    };
    if let Some(rest) = cur {
        if !rest.is_empty() {
            return Err("something after the last field".into());
        }
    }
    let addr = addr.filter(|a| !a.is_empty()).ok_or("no address")?;
    let max = if v6 { 128 } else { 32 };
    let default = if v6 {
        if route {
            128
        } else {
            64
        }
    } else {
        24
    };
    let (plen, defaulted) = match plen.filter(|p| !p.is_empty()).map(|p| p.parse::<u32>()) {
        Some(Ok(p)) if p <= max => (p as u8, false),
        _ => (default, true),
    };
    let ip = util::ip(addr, v6)
        .ok_or_else(|| format!("'{}' is not an IPv{} address", quote(addr.as_bytes()), if v6 { 6 } else { 4 }))?;
    let metric = match metric.filter(|m| !m.is_empty()) {
        Some(m) => Some(m.parse::<u32>().map_err(|_| "a metric over 2^32".to_owned())?),
        None => None,
    };
    Ok((ip, plen, gw.filter(|g| !g.is_empty()), metric, defaulted))
}

fn ip_cfg(kf: &KeyFile, v6: bool, w: &mut Warnings) -> Result<IpCfg, String> {
    let group = if v6 { "ipv6" } else { "ipv4" };
    let mut c = IpCfg { method: get(kf, group, "method", w).unwrap_or_else(|| "auto".into()), ..IpCfg::default() };
    let valid: &[&str] = if v6 {
        &["auto", "dhcp", "manual", "ignore", "disabled", "link-local", "shared"]
    } else {
        &["auto", "manual", "disabled", "link-local", "shared"]
    };
    if !valid.contains(&c.method.as_str()) {
        return Err(format!("{group}.method '{}' is unknown", quote(c.method.as_bytes())));
    }
    let mut first_gw: Option<String> = None;
    for key in list_keys(kf, group, ["address", "addresses"]) {
        let Some(v) = get(kf, group, &key, w) else { continue };
        match parse_item(&v, v6, false) {
            Ok((ip, plen, gw, _, defaulted)) => {
                if defaulted {
                    w.add(
                        "default_prefix",
                        format!(
                            "[{group}] {key}={}: no valid prefix length, /{plen} assumed as NetworkManager does",
                            quote(v.as_bytes())
                        ),
                    );
                }
                c.addresses.push(IfAddress::new(ip, plen));
                if first_gw.is_none() {
                    first_gw = gw.map(str::to_owned);
                }
            }
            Err(why) => w.add("bad_value", format!("[{group}] {key}={}: {why}: ignored", quote(v.as_bytes()))),
        }
    }
    let gw_text = get(kf, group, "gateway", w).or(first_gw);
    if let Some(g) = gw_text.filter(|g| !g.is_empty()) {
        match util::ip(&g, v6) {
            Some(ip) if !ip.is_unspecified() => c.gateway = Some(ip),
            Some(_) => {}
            None => return Err(format!("{group}.gateway '{}' is not an address", quote(g.as_bytes()))),
        }
    }
    if c.gateway.is_some() && boolean(kf, group, "never-default", false, w) {
        w.add("never_default", format!("[{group}] never-default=true: the gateway makes no default route"));
        c.gateway = None;
    }
    for key in list_keys(kf, group, ["route", "routes"]) {
        let Some(v) = get(kf, group, &key, w) else { continue };
        match parse_item(&v, v6, true) {
            Ok((ip, plen, gw, metric, _)) => {
                let via = match gw {
                    Some(g) => match util::ip(g, v6) {
                        Some(ip) => Some(ip).filter(|ip| !ip.is_unspecified()),
                        None => {
                            w.add(
                                "bad_value",
                                format!("[{group}] {key}={}: a bad gateway: ignored", quote(v.as_bytes())),
                            );
                            continue;
                        }
                    },
                    None => None,
                };
                c.routes.push(IfRoute { to: IfAddress::new(ip, plen), via, metric });
            }
            Err(why) => w.add("bad_value", format!("[{group}] {key}={}: {why}: ignored", quote(v.as_bytes()))),
        }
    }
    match kf.list(group, "dns") {
        Ok(Some(list)) => {
            for d in list {
                match util::ip(&d, v6) {
                    Some(ip) => c.dns.push(ip),
                    None => w.add(
                        "bad_value",
                        format!(
                            "[{group}] dns: '{}' is not an IPv{} address: ignored",
                            quote(d.as_bytes()),
                            if v6 { 6 } else { 4 }
                        ),
                    ),
                }
            }
        }
        Ok(None) => {}
        Err(why) => w.add("bad_value", format!("[{group}] dns: {why}: ignored")),
    }
    match kf.list(group, "dns-search") {
        Ok(Some(list)) => c.search = list.into_iter().filter(|s| !s.is_empty()).collect(),
        Ok(None) => {}
        Err(why) => w.add("bad_value", format!("[{group}] dns-search: {why}: ignored")),
    }
    let m = c.method.as_str();
    if m == "manual" && c.addresses.is_empty() && c.routes.is_empty() {
        return Err(format!("{group}.method=manual without an address or a route"));
    }
    if matches!(m, "disabled" | "link-local" | "ignore") && !c.addresses.is_empty() {
        return Err(format!("{group}: addresses with method={m}"));
    }
    if !v6 && matches!(m, "disabled" | "link-local" | "shared") && (!c.dns.is_empty() || !c.search.is_empty()) {
        return Err(format!("{group}: DNS settings with method={m}"));
    }
    Ok(c)
}

/// Applies UUID shadowing, tombstones, `autoconnect` and the choice among several profiles for
/// one interface.
fn choose(
    profiles: Vec<Profile>,
    tombstones: &[String],
    timestamps: &BTreeMap<String, i64>,
    w: &mut Warnings,
) -> Vec<Profile> {
    // One profile per UUID: /etc first, then the greatest path.
    let mut by_uuid: BTreeMap<String, Profile> = BTreeMap::new();
    for p in profiles {
        if !p.etc && tombstones.contains(&p.uuid) {
            w.about("skipped_file", format!("deleted by the tombstone {ETC}/{}.nmmeta", p.uuid), &p.path);
            continue;
        }
        match by_uuid.remove(&p.uuid) {
            None => {
                by_uuid.insert(p.uuid.clone(), p);
            }
            Some(old) => {
                let (win, lose) = if (old.etc, &old.path) >= (p.etc, &p.path) { (old, p) } else { (p, old) };
                let why = if win.etc != lose.etc {
                    "a profile in /etc hides one in /usr/lib with the same UUID".to_owned()
                } else {
                    "two files with one UUID: NetworkManager takes the newer, unknown offline; the greater name is taken".to_owned()
                };
                w.about("shadowed_profile", format!("{why} ({} is used)", win.path), &lose.path);
                by_uuid.insert(win.uuid.clone(), win);
            }
        }
    }
    let all: Vec<Profile> = by_uuid.into_values().collect();
    let mut chosen: Vec<Profile> = Vec::new();
    let mut by_binding: BTreeMap<(Option<String>, Option<String>), usize> = BTreeMap::new();
    let mut sorted = all;
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    for mut p in sorted {
        if !p.autoconnect {
            w.about(
                "not_autoconnect",
                format!(
                    "profile '{}' has autoconnect=false: NetworkManager does not activate it at boot",
                    quote(p.id.as_bytes())
                ),
                &p.path,
            );
            continue;
        }
        if let Some(ts) = timestamps.get(&p.uuid) {
            p.timestamp = *ts;
        }
        let binding = (p.iface.clone(), p.mac.clone());
        if binding == (None, None) || p.port_type.is_some() || p.kind == "vlan" {
            chosen.push(p);
            continue;
        }
        match by_binding.get(&binding).copied() {
            None => {
                by_binding.insert(binding, chosen.len());
                chosen.push(p);
            }
            Some(i) => {
                let Some(old) = chosen.get_mut(i) else { continue };
                let (lose_path, win_path) = if (p.priority, p.timestamp) > (old.priority, old.timestamp) {
                    let lose = std::mem::replace(old, p);
                    (lose.path, old.path.clone())
                } else {
                    (p.path, old.path.clone())
                };
                w.about(
                    "shadowed_profile",
                    format!("another autoconnect profile for the same interface wins ({win_path}: higher autoconnect-priority, then the most recent use)"),
                    &lose_path,
                );
            }
        }
    }
    chosen
}

fn build(profiles: &[Profile], limits: &Limits, w: &mut Warnings) -> Vec<Interface> {
    let name_of = |p: &Profile| -> String {
        if let Some(i) = &p.iface {
            return i.clone();
        }
        if let Some((id, parent)) = &p.vlan {
            let parent = resolve(profiles, parent).unwrap_or_else(|| parent.clone());
            let mut n = format!("{parent}.{id}");
            n.truncate(15);
            return n;
        }
        p.id.clone()
    };
    let mut out: Vec<Interface> = Vec::new();
    for p in profiles {
        if out.len() >= limits.max_interfaces {
            w.about(
                "too_many_interfaces",
                format!("more than {} profiles: the rest is not read", limits.max_interfaces),
                &p.path,
            );
            break;
        }
        let kind = match (p.kind.as_str(), &p.vlan) {
            ("vlan", Some((id, parent))) => {
                InterfaceKind::Vlan { id: *id, link: resolve(profiles, parent).unwrap_or_else(|| parent.clone()) }
            }
            ("bond" | "bridge", _) => {
                let mut members = Vec::new();
                for q in profiles {
                    let Some(c) = &q.controller else { continue };
                    if q.port_type.as_deref() == Some(p.kind.as_str()) && (c == &p.uuid || Some(c) == p.iface.as_ref())
                    {
                        members.push(name_of(q));
                    }
                }
                if p.kind == "bond" {
                    InterfaceKind::Bond { members }
                } else {
                    InterfaceKind::Bridge { members }
                }
            }
            _ => InterfaceKind::Ethernet,
        };
        let mut i = Interface {
            name: name_of(p),
            mac: p.mac.clone(),
            set_mac: p.set_mac.clone(),
            kind,
            mtu: p.mtu,
            stack: Some(Stack::NetworkManager),
            files: vec![p.path.clone()],
            ..Interface::default()
        };
        for (c, v6) in [(&p.ip4, false), (&p.ip6, true)] {
            let Some(c) = c else { continue };
            if c.method == "auto" || c.method == "dhcp" {
                if v6 {
                    i.dhcp6 = true;
                } else {
                    i.dhcp4 = true;
                }
            }
            i.addresses.extend(c.addresses.iter().copied());
            i.gateways.extend(c.gateway);
            for r in &c.routes {
                match r.via {
                    Some(g) if r.to.prefix_len == 0 => {
                        if !i.gateways.contains(&g) {
                            i.gateways.push(g);
                        }
                    }
                    _ => i.routes.push(r.clone()),
                }
            }
            i.dns.extend(c.dns.iter().copied());
            for s in &c.search {
                if !i.search.contains(s) {
                    i.search.push(s.clone());
                }
            }
        }
        out.push(i);
    }
    out
}

/// A controller or parent named by UUID becomes that profile's interface name.
fn resolve(profiles: &[Profile], name: &str) -> Option<String> {
    profiles.iter().find(|p| p.uuid == name.to_ascii_lowercase()).and_then(|p| p.iface.clone())
}

#[cfg(test)]
mod tests;
