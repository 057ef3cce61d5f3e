//! A Linux guest's report: its OS (`os-release`), host name and network configuration (read by
//! `regnet-linux` through the guest view), as the same `Report` a Windows guest gives.

use crate::report::{
    Adapter, AdapterConfig, ControlSetSource, DnsSource, Gateway, HiveState, Ipv4Entry, Ipv6Entry, MacSource, OsInfo,
    Report, Route, Warning, SCHEMA_VERSION,
};
use regnet_image::guest::{GuestView, NodeKind};
use regnet_image::ImageError;
use std::net::IpAddr;

/// Largest os-release or hostname file read (they are a few hundred bytes).
const SMALL_FILE: u64 = 64 << 10;

/// The report of the Linux guest `view` shows, and the guest files read for it.
pub(crate) fn report(view: &mut GuestView<'_>) -> (Report, Vec<String>) {
    let mut files = Vec::new();
    let mut warnings = Vec::new();
    // os-release(5): /etc/os-release, else /usr/lib/os-release.
    let mut os = OsInfo { family: "linux".into(), ..OsInfo::default() };
    for path in ["/etc/os-release", "/usr/lib/os-release"] {
        match small_file(view, path) {
            Ok(Some(text)) => {
                files.push(path.to_owned());
                fill_os(&mut os, &text);
                break;
            }
            Ok(None) => {}
            Err(e) => warnings.push(warn("os_release", format!("{path}: {e}"))),
        }
    }
    let mut hostname = None;
    for path in ["/etc/hostname", "/etc/HOSTNAME"] {
        match small_file(view, path) {
            Ok(Some(text)) => {
                files.push(path.to_owned());
                hostname = parse_hostname(&text);
                break;
            }
            Ok(None) => {}
            Err(e) => warnings.push(warn("hostname", format!("{path}: {e}"))),
        }
    }
    let mut report = Report {
        schema_version: SCHEMA_VERSION,
        hostname,
        hostname_pending: None,
        computer_name: None,
        domain: None,
        domain_pending: None,
        search_list: Vec::new(),
        ip_forwarding: false,
        control_set: 0,
        control_set_source: ControlSetSource::None,
        hive: HiveState::default(),
        adapters: Vec::new(),
        routes: Vec::new(),
        warnings,
        source: None,
        vm: None,
        os: Some(os),
        tcpip_last_written: None,
        network_history: Vec::new(),
        software_hive: None,
    };
    network(view, &mut report, &mut files);
    (report, files)
}

fn warn(code: &str, message: String) -> Warning {
    Warning { code: code.into(), message, key: None, value: None }
}

/// A small text file of the guest, or `None` when it does not exist (a dangling link counts as
/// missing: `/etc/os-release` may point into a `/run` that does not exist offline).
fn small_file(view: &mut GuestView<'_>, path: &str) -> Result<Option<String>, ImageError> {
    let node = match view.resolve(path) {
        Ok(n) => n,
        Err(ImageError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    if node.size > SMALL_FILE {
        return Err(ImageError::LimitExceeded {
            limit: "os-release and hostname size",
            value: node.size,
            max: SMALL_FILE,
        });
    }
    let bytes = view.read(path)?;
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// os-release(5): `KEY=value` lines, values optionally quoted with `"` or `'`, backslash escapes
/// inside double quotes; `#` comments and blank lines skipped; later keys win.
fn fill_os(os: &mut OsInfo, text: &str) {
    for line in text.lines().take(1000) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else { continue };
        let value = unquote(raw.trim());
        let v = Some(value.clone()).filter(|v| !v.is_empty());
        match key.trim() {
            "ID" => os.id = v,
            "NAME" => os.name = v,
            "VERSION" => os.version = v,
            "VERSION_ID" => os.version_id = v,
            "PRETTY_NAME" => os.pretty_name = v,
            "ID_LIKE" => os.id_like = value.split_whitespace().map(str::to_owned).collect(),
            _ => {}
        }
    }
}

fn unquote(raw: &str) -> String {
    let mut chars = raw.chars();
    match chars.next() {
        Some(q @ ('"' | '\'')) => {
            let mut out = String::new();
            let mut escaped = false;
            for c in chars {
                if escaped {
                    out.push(c);
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    break;
                } else {
                    out.push(c);
                }
            }
            out
        }
        _ => raw.to_owned(),
    }
}

/// hostname(5): the first line that is not a comment, trimmed; `localhost` names no host.
fn parse_hostname(text: &str) -> Option<String> {
    let line = text.lines().take(1000).map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'))?;
    let name = line.split_whitespace().next()?;
    let localhost = ["localhost", "localhost.localdomain", "localhost6", "localhost6.localdomain6"];
    (!localhost.contains(&name.to_ascii_lowercase().as_str()) && name.len() <= 253).then(|| name.to_owned())
}

/// The guest's files for `regnet-linux`, through the guest view (links resolve inside the guest).
struct ViewFiles<'v, 'f> {
    view: &'v mut GuestView<'f>,
}

fn files_err(path: &str, e: ImageError) -> regnet_linux::FilesError {
    regnet_linux::FilesError::Unreadable { path: path.to_owned(), reason: e.to_string() }
}

impl regnet_linux::GuestFiles for ViewFiles<'_, '_> {
    fn read(&mut self, path: &str, max: u64) -> Result<Option<Vec<u8>>, regnet_linux::FilesError> {
        let node = match self.view.resolve(path) {
            Ok(n) => n,
            Err(ImageError::NotFound { .. }) => return Ok(None),
            Err(ImageError::BadPath { reason, .. }) if reason.contains("not a directory") => return Ok(None),
            Err(e) => return Err(files_err(path, e)),
        };
        if node.kind != NodeKind::File {
            return Ok(None);
        }
        if node.size > max {
            return Err(regnet_linux::FilesError::TooBig { path: path.to_owned(), size: node.size, max });
        }
        self.view.read(path).map(Some).map_err(|e| files_err(path, e))
    }

    fn list(&mut self, dir: &str) -> Result<Option<regnet_linux::Listing>, regnet_linux::FilesError> {
        match self.view.resolve(dir) {
            Ok(n) if n.kind == NodeKind::Dir => {}
            Ok(_) | Err(ImageError::NotFound { .. }) => return Ok(None),
            Err(ImageError::BadPath { reason, .. }) if reason.contains("not a directory") => return Ok(None),
            Err(e) => return Err(files_err(dir, e)),
        }
        let entries = self.view.list(dir).map_err(|e| files_err(dir, e))?;
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            let kind = match e.kind {
                Some(k) => k,
                None => {
                    let child = format!("{}/{}", dir.trim_end_matches('/'), String::from_utf8_lossy(&e.name));
                    self.view.resolve_nofollow(&child).map_or(NodeKind::Other, |n| n.kind)
                }
            };
            let kind = match kind {
                NodeKind::File => regnet_linux::FileKind::File,
                NodeKind::Dir => regnet_linux::FileKind::Dir,
                NodeKind::Symlink => regnet_linux::FileKind::Link,
                _ => regnet_linux::FileKind::Other,
            };
            out.push((e.name, kind));
        }
        Ok(Some(out))
    }

    fn read_link(&mut self, path: &str) -> Result<Option<Vec<u8>>, regnet_linux::FilesError> {
        match self.view.resolve_nofollow(path) {
            Ok(n) if n.kind == NodeKind::Symlink => self.view.read_link(path).map(Some).map_err(|e| files_err(path, e)),
            Ok(_) | Err(ImageError::NotFound { .. }) => Ok(None),
            Err(ImageError::BadPath { .. }) => Ok(None),
            Err(e) => Err(files_err(path, e)),
        }
    }

    fn owner_mode(&mut self, path: &str) -> Result<Option<(u32, u32)>, regnet_linux::FilesError> {
        match self.view.resolve(path) {
            Ok(n) => Ok(n.uid.zip(n.mode)),
            Err(ImageError::NotFound { .. } | ImageError::BadPath { .. }) => Ok(None),
            Err(e) => Err(files_err(path, e)),
        }
    }
}

/// The guest's interfaces as report adapters, its routes, and what the reader warned about.
fn network(view: &mut GuestView<'_>, report: &mut Report, files: &mut Vec<String>) {
    let mut guest = ViewFiles { view };
    let net = regnet_linux::read(&mut guest, &regnet_linux::Limits::default());
    if report.hostname.is_none() {
        report.hostname = net.hostname.clone();
    }
    report.search_list = net.search.clone();
    for i in &net.interfaces {
        let (v4, v6): (Vec<&regnet_linux::IfAddress>, Vec<&regnet_linux::IfAddress>) =
            i.addresses.iter().partition(|a| a.address.is_ipv4());
        let stack = i.stack.or(net.stack).map(stack_name).unwrap_or("unknown").to_owned();
        let physical = matches!(i.kind, regnet_linux::InterfaceKind::Ethernet);
        let mut a = Adapter {
            guid: String::new(),
            // A configuration that binds by MAC or driver only may name the interface by its
            // profile or file: that is no interface name (the kernel's rule: 1-15 bytes, no `/`,
            // `:` or white space).
            name: valid_ifname(&i.name).then(|| i.name.clone()),
            description: (!valid_ifname(&i.name)).then(|| i.name.clone()),
            // The MAC the NIC will use: the one the configuration sets, else the one it binds to.
            mac: i.set_mac.clone().or_else(|| i.mac.clone()),
            mac_source: if i.set_mac.is_some() {
                Some(MacSource::Override)
            } else if i.mac.is_some() {
                Some(MacSource::Binding)
            } else {
                None
            },
            physical: Some(physical),
            if_type: physical.then_some(6),
            class_index: None,
            dhcp: i.dhcp4,
            ipv4: v4
                .iter()
                .filter_map(|a| match a.address {
                    IpAddr::V4(ip) => Some(Ipv4Entry::new(ip, a.prefix_len.min(32))),
                    IpAddr::V6(_) => None,
                })
                .collect(),
            gateways: i.gateways.iter().map(|g| Gateway { address: *g, metric: None }).collect(),
            dns_servers: i.dns.iter().copied().filter(IpAddr::is_ipv4).collect(),
            dns_source: (!i.dns.is_empty()).then_some(DnsSource::Static),
            dns_suffix: i.search.first().cloned().unwrap_or_default(),
            dhcp_lease: None,
            ipv6: v6
                .iter()
                .filter_map(|a| match a.address {
                    IpAddr::V6(ip) => Some(Ipv6Entry { address: ip, prefix_len: a.prefix_len.min(128) }),
                    IpAddr::V4(_) => None,
                })
                .collect(),
            ipv6_dns_servers: i.dns.iter().copied().filter(IpAddr::is_ipv6).collect(),
            dhcpv6_dns_servers: Vec::new(),
            wins_servers: Vec::new(),
            netbios: None,
            mtu: i.mtu,
            vlan_id: match &i.kind {
                regnet_linux::InterfaceKind::Vlan { id, .. } => Some(*id),
                _ => None,
            },
            interface_metric: None,
            network: None,
            present: None,
            presence: None,
            dhcp6: i.dhcp6,
            config: Some(AdapterConfig { stack, files: i.files.clone() }),
            last_written: None,
            network_profile: None,
        };
        // Host-wide DNS applies to interfaces without their own.
        if a.dns_servers.is_empty() && a.ipv6_dns_servers.is_empty() && !net.dns.is_empty() {
            a.dns_servers = net.dns.iter().copied().filter(IpAddr::is_ipv4).collect();
            a.ipv6_dns_servers = net.dns.iter().copied().filter(IpAddr::is_ipv6).collect();
            a.dns_source = Some(DnsSource::Static);
        }
        for r in &i.routes {
            if let (IpAddr::V4(dest), Some(IpAddr::V4(gw))) = (r.to.address, r.via) {
                if report.routes.len() < 4096 {
                    report.routes.push(Route {
                        destination: dest,
                        prefix_len: r.to.prefix_len.min(32),
                        gateway: gw,
                        metric: r.metric,
                        repeats_default_gateway: r.to.prefix_len == 0
                            && a.gateways.iter().any(|g| g.address == IpAddr::V4(gw)),
                    });
                }
            }
        }
        report.adapters.push(a);
    }
    for w in net.warnings {
        report.warnings.push(Warning { code: w.code, message: w.message, key: w.file, value: None });
    }
    for f in net.files {
        if !files.contains(&f) {
            files.push(f);
        }
    }
}

/// A name the kernel accepts for a network interface (`dev_valid_name`).
fn valid_ifname(n: &str) -> bool {
    !n.is_empty()
        && n.len() < 16
        && n != "."
        && n != ".."
        && !n.bytes().any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace())
}

fn stack_name(s: regnet_linux::Stack) -> &'static str {
    match s {
        regnet_linux::Stack::Netplan => "netplan",
        regnet_linux::Stack::NetworkManager => "network_manager",
        regnet_linux::Stack::IfcfgRhel => "ifcfg_rhel",
        regnet_linux::Stack::IfcfgSuse => "ifcfg_suse",
        regnet_linux::Stack::Networkd => "networkd",
        regnet_linux::Stack::Ifupdown => "ifupdown",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regnet_image::guest::{GuestLimits, MemoryFs};

    #[test]
    fn os_release_and_hostname() {
        let mut fs = MemoryFs::new();
        fs.add_file(
            "/usr/lib/os-release",
            b"# comment\nPRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"24.04\"\nVERSION=\"24.04.1 LTS (Noble Numbat)\"\nID=ubuntu\nID_LIKE=debian\nNOTE='it''s'\nBAD LINE\nESC=\"a\\\"b\"\n",
        );
        fs.add_link("/etc/os-release", "../usr/lib/os-release");
        fs.add_file("/etc/hostname", b"# set by cloud-init\n\n  web01  \n");
        let mut view = GuestView::new(Box::new(fs), GuestLimits::default());
        let (r, files) = report(&mut view);
        let os = r.os.unwrap();
        assert_eq!(os.id.as_deref(), Some("ubuntu"));
        assert_eq!(os.name.as_deref(), Some("Ubuntu"));
        assert_eq!(os.version_id.as_deref(), Some("24.04"));
        assert_eq!(os.pretty_name.as_deref(), Some("Ubuntu 24.04.1 LTS"));
        assert_eq!(os.id_like, ["debian"]);
        assert_eq!(r.hostname.as_deref(), Some("web01"));
        assert_eq!(files, ["/etc/os-release", "/etc/hostname"]);
        assert_eq!(r.control_set_source, ControlSetSource::None);
        assert!(r.adapters.is_empty(), "no network configuration in this tree");
        assert_eq!(unquote("\"a\\\"b\""), "a\"b");
        assert_eq!(unquote("'x y'"), "x y");
    }

    #[test]
    fn localhost_is_no_name_and_missing_files_are_fine() {
        assert_eq!(parse_hostname("localhost\n"), None);
        assert_eq!(parse_hostname("# only a comment\n"), None);
        assert_eq!(parse_hostname("db02.example.com extra\n").as_deref(), Some("db02.example.com"));
        let mut fs = MemoryFs::new();
        fs.add_dir("/etc");
        fs.add_link("/etc/os-release", "/run/os-release");
        fs.add_file("/etc/HOSTNAME", b"suse15\n");
        let mut view = GuestView::new(Box::new(fs), GuestLimits::default());
        let (r, files) = report(&mut view);
        assert_eq!(r.os.unwrap().id, None);
        assert_eq!(r.hostname.as_deref(), Some("suse15"));
        assert_eq!(files, ["/etc/HOSTNAME"]);
    }

    #[test]
    fn an_oversized_or_looping_file_is_a_warning() {
        let mut fs = MemoryFs::new();
        fs.add_file("/etc/os-release", &vec![b'#'; 100_000]);
        fs.add_link("/etc/hostname", "hostname");
        let mut view = GuestView::new(Box::new(fs), GuestLimits::default());
        let (r, _) = report(&mut view);
        let codes: Vec<&str> = r.warnings.iter().map(|w| w.code.as_str()).collect();
        assert!(codes.contains(&"os_release") && codes.contains(&"hostname"), "{codes:?}");
    }
}
