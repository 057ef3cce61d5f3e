//! Host-wide facts: the host name, the resolver's host-wide DNS, where `/etc/resolv.conf` points,
//! MAC-to-name bindings from udev rules, and whether interface names depend on the hardware.

use crate::files::GuestFiles;
use crate::model::{Limits, Warning};
use std::net::IpAddr;

/// Names that name no host.
const LOCALHOST: [&str; 4] = ["localhost", "localhost.localdomain", "localhost6", "localhost6.localdomain6"];

fn text(files: &mut dyn GuestFiles, path: &str, limits: &Limits, warnings: &mut Vec<Warning>) -> Option<String> {
    match files.read(path, limits.max_file_bytes) {
        Ok(Some(b)) => Some(String::from_utf8_lossy(&b).into_owned()),
        Ok(None) => None,
        Err(e) => {
            warnings.push(Warning::new("bad_file", e.to_string(), Some(path)));
            None
        }
    }
}

/// hostname(5): `/etc/hostname` (the first line that is not a comment), else `/etc/HOSTNAME`
/// (SUSE), else `HOSTNAME=` in `/etc/sysconfig/network` (RHEL); `localhost` names no host.
pub(crate) fn hostname(
    files: &mut dyn GuestFiles,
    limits: &Limits,
    read: &mut Vec<String>,
    warnings: &mut Vec<Warning>,
) -> Option<String> {
    for path in ["/etc/hostname", "/etc/HOSTNAME"] {
        if let Some(t) = text(files, path, limits, warnings) {
            read.push(path.to_owned());
            let line = t.lines().take(1000).map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'));
            // systemd takes the first non-comment line whole; an invalid one names no host.
            if let Some(name) = line.and_then(valid) {
                return Some(name);
            }
        }
    }
    let path = "/etc/sysconfig/network";
    if let Some(t) = text(files, path, limits, warnings) {
        for line in t.lines().take(10_000) {
            if let Some(v) = line.trim().strip_prefix("HOSTNAME=") {
                read.push(path.to_owned());
                return valid(v.trim().trim_matches(|c| c == '"' || c == '\''));
            }
        }
    }
    None
}

fn valid(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    (ok && !LOCALHOST.contains(&name.to_ascii_lowercase().as_str())).then(|| name.to_owned())
}

/// Where `/etc/resolv.conf` points when it is a link (usually into `/run`, which a disk at rest
/// does not hold), and the servers of a plain file (`127.0.0.53` is systemd-resolved's stub, not
/// a server: left out with a note).
pub(crate) fn resolv_conf(
    files: &mut dyn GuestFiles,
    limits: &Limits,
    read: &mut Vec<String>,
    warnings: &mut Vec<Warning>,
) -> (Option<String>, Vec<IpAddr>, Vec<String>) {
    let path = "/etc/resolv.conf";
    let link = files.read_link(path).ok().flatten().map(|t| String::from_utf8_lossy(&t).into_owned());
    let mut servers = Vec::new();
    let mut search = Vec::new();
    if let Some(t) = text(files, path, limits, warnings) {
        read.push(path.to_owned());
        for line in t.lines().take(10_000) {
            let mut w = line.split_whitespace();
            match w.next() {
                Some("nameserver") => {
                    if let Some(ip) = w.next().and_then(|a| a.parse::<IpAddr>().ok()) {
                        if ip == IpAddr::from([127, 0, 0, 53]) {
                            warnings.push(Warning::new(
                                "resolver_stub",
                                "/etc/resolv.conf names 127.0.0.53, systemd-resolved's local stub, not a DNS server",
                                Some(path),
                            ));
                        } else if servers.len() < 64 {
                            servers.push(ip);
                        }
                    }
                }
                Some("search") | Some("domain") => search.extend(w.take(64).map(str::to_owned)),
                _ => {}
            }
        }
    } else if let Some(target) = &link {
        warnings.push(Warning::new(
            "resolv_conf_link",
            format!("/etc/resolv.conf links to {target}, which does not exist on the disk at rest: the resolver is configured at boot"),
            Some(path),
        ));
    }
    (link, servers, search)
}

/// systemd-resolved's host-wide `DNS=` and `Domains=` (`/etc/systemd/resolved.conf`, then its
/// drop-ins in `/etc/systemd/resolved.conf.d/*.conf` in name order; later settings win).
pub(crate) fn resolved_conf(
    files: &mut dyn GuestFiles,
    limits: &Limits,
    read: &mut Vec<String>,
    warnings: &mut Vec<Warning>,
) -> (Vec<IpAddr>, Vec<String>) {
    let mut paths = vec!["/etc/systemd/resolved.conf".to_owned()];
    if let Ok(Some(list)) = files.list("/etc/systemd/resolved.conf.d") {
        for (n, _) in list.into_iter().take(limits.max_files) {
            let n = String::from_utf8_lossy(&n).into_owned();
            if n.ends_with(".conf") {
                paths.push(format!("/etc/systemd/resolved.conf.d/{n}"));
            }
        }
    }
    let (mut dns, mut domains) = (Vec::new(), Vec::new());
    for p in paths {
        let Some(t) = text(files, &p, limits, warnings) else { continue };
        read.push(p.clone());
        let mut in_resolve = false;
        for line in t.lines().take(10_000) {
            let line = line.trim();
            if line.starts_with('[') {
                in_resolve = line == "[Resolve]";
                continue;
            }
            if !in_resolve || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(v) = line.strip_prefix("DNS=") {
                // An empty assignment resets the list.
                if v.trim().is_empty() {
                    dns.clear();
                }
                for a in v.split_whitespace().take(64) {
                    // `1.1.1.1:53#cloudflare-dns.com`, `[2001:db8::1]:53`, `addr%ifname`.
                    let a = a.split('#').next().unwrap_or(a);
                    let a = a.split('%').next().unwrap_or(a);
                    let bare = a.strip_prefix('[').and_then(|r| r.split_once(']')).map_or(a, |(h, _)| h);
                    let bare =
                        if bare.matches(':').count() == 1 { bare.split(':').next().unwrap_or(bare) } else { bare };
                    if let Ok(ip) = bare.parse::<IpAddr>() {
                        dns.push(ip);
                    }
                }
            } else if let Some(v) = line.strip_prefix("Domains=") {
                if v.trim().is_empty() {
                    domains.clear();
                }
                domains.extend(v.split_whitespace().take(64).map(|d| d.trim_start_matches('~').to_owned()));
            }
        }
    }
    (dns, domains)
}

/// `/etc/udev/rules.d/70-persistent-net.rules`: `ATTR{address}=="00:50:56:..", NAME="eth0"` lines
/// bind names to MACs (machines upgraded from CentOS 7 or Ubuntu 16.04 keep them).
pub(crate) fn udev_names(
    files: &mut dyn GuestFiles,
    limits: &Limits,
    read: &mut Vec<String>,
    warnings: &mut Vec<Warning>,
) -> Vec<(String, String)> {
    let path = "/etc/udev/rules.d/70-persistent-net.rules";
    let Some(t) = text(files, path, limits, warnings) else { return Vec::new() };
    read.push(path.to_owned());
    let mut out = Vec::new();
    for line in t.lines().take(100_000) {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let field = |key: &str| {
            let at = line.find(key)?;
            let rest = line.get(at + key.len()..)?;
            let rest = rest.strip_prefix('"')?;
            rest.split('"').next().map(str::to_owned)
        };
        if let (Some(mac), Some(name)) = (field("ATTR{address}==").and_then(|m| canonical_mac(&m)), field("NAME=")) {
            if out.len() < limits.max_interfaces {
                out.push((mac, name));
            }
        }
    }
    out
}

/// `net.ifnames=0` on the kernel command line (`/etc/default/grub`, `/boot/loader/entries/*.conf`,
/// `/etc/kernel/cmdline`): the guest names its NICs `eth0`, `eth1`... whatever the hardware.
pub(crate) fn classic_names(files: &mut dyn GuestFiles, limits: &Limits, warnings: &mut Vec<Warning>) -> bool {
    let mut paths = vec!["/etc/default/grub".to_owned(), "/etc/kernel/cmdline".to_owned()];
    if let Ok(Some(list)) = files.list("/boot/loader/entries") {
        for (n, _) in list.into_iter().take(256) {
            paths.push(format!("/boot/loader/entries/{}", String::from_utf8_lossy(&n)));
        }
    }
    paths.into_iter().any(|p| text(files, &p, limits, warnings).is_some_and(|t| t.contains("net.ifnames=0")))
}

/// `00:50:56:9a:3c:1f` (or dashes, or no separators) as `00:50:56:9A:3C:1F`.
pub fn canonical_mac(s: &str) -> Option<String> {
    let hex: Vec<u8> = s.trim().bytes().filter(|b| *b != b':' && *b != b'-' && *b != b'.').collect();
    if hex.len() != 12 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let up = String::from_utf8(hex.to_ascii_uppercase()).ok()?;
    Some((0..6).filter_map(|i| up.get(i * 2..i * 2 + 2)).collect::<Vec<_>>().join(":"))
}

/// A predictable name that depends on the virtual hardware (PCI slot or BIOS index), which a
/// replica on other hardware will not have: `ens192`, `enp0s3`, `eno1`, `enx005056..`.
pub(crate) fn hardware_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("en").or_else(|| name.strip_prefix("wl")) else { return false };
    let mut c = rest.chars();
    matches!(c.next(), Some('s' | 'o' | 'p' | 'x')) && rest.chars().any(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::MemFiles;

    fn run<T>(
        f: &mut MemFiles,
        g: impl Fn(&mut MemFiles, &mut Vec<String>, &mut Vec<Warning>) -> T,
    ) -> (T, Vec<String>, Vec<Warning>) {
        let (mut r, mut w) = (Vec::new(), Vec::new());
        let out = g(f, &mut r, &mut w);
        (out, r, w)
    }

    #[test]
    fn host_names() {
        let l = Limits::default();
        let mut f = MemFiles::new();
        f.file("/etc/hostname", "# cloud-init\n\n  web01  \n");
        assert_eq!(run(&mut f, |f, r, w| hostname(f, &l, r, w)).0.as_deref(), Some("web01"));
        let mut f = MemFiles::new();
        f.file("/etc/hostname", "localhost\n")
            .file("/etc/sysconfig/network", "NETWORKING=yes\nHOSTNAME=\"db02.corp\"\n");
        assert_eq!(run(&mut f, |f, r, w| hostname(f, &l, r, w)).0.as_deref(), Some("db02.corp"));
        let mut f = MemFiles::new();
        f.file("/etc/HOSTNAME", "suse15\n");
        assert_eq!(run(&mut f, |f, r, w| hostname(f, &l, r, w)).0.as_deref(), Some("suse15"));
        let mut f = MemFiles::new();
        f.file("/etc/hostname", "bad name$(x)\n");
        assert_eq!(run(&mut f, |f, r, w| hostname(f, &l, r, w)).0, None);
    }

    #[test]
    fn resolvers() {
        let l = Limits::default();
        let mut f = MemFiles::new();
        f.link("/etc/resolv.conf", "../run/systemd/resolve/stub-resolv.conf");
        let ((link, servers, _), _, w) = run(&mut f, |f, r, w| resolv_conf(f, &l, r, w));
        assert_eq!(link.as_deref(), Some("../run/systemd/resolve/stub-resolv.conf"));
        assert!(servers.is_empty() && w.iter().any(|w| w.code == "resolv_conf_link"));
        let mut f = MemFiles::new();
        f.file("/etc/resolv.conf", "# Generated\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch corp.example\n");
        let ((_, servers, search), _, w) = run(&mut f, |f, r, w| resolv_conf(f, &l, r, w));
        assert_eq!(servers, ["10.0.0.2".parse::<IpAddr>().unwrap()]);
        assert_eq!(search, ["corp.example"]);
        assert!(w.iter().any(|w| w.code == "resolver_stub"));
        let mut f = MemFiles::new();
        f.file("/etc/systemd/resolved.conf", "[Resolve]\nDNS=1.1.1.1:53#one.one.one.one 9.9.9.9\nDomains=~corp\n");
        f.file("/etc/systemd/resolved.conf.d/10-x.conf", "[Resolve]\nDNS=\nDNS=[2001:db8::1]:53 10.1.1.1%eth0\n");
        let ((dns, domains), read, _) = run(&mut f, |f, r, w| resolved_conf(f, &l, r, w));
        assert_eq!(dns, ["2001:db8::1".parse::<IpAddr>().unwrap(), "10.1.1.1".parse().unwrap()]);
        assert_eq!(domains, ["corp"]);
        assert_eq!(read.len(), 2);
    }

    #[test]
    fn bindings_and_names() {
        let l = Limits::default();
        let mut f = MemFiles::new();
        f.file(
            "/etc/udev/rules.d/70-persistent-net.rules",
            "# PCI device\nSUBSYSTEM==\"net\", ACTION==\"add\", DRIVERS==\"?*\", ATTR{address}==\"00:50:56:9a:3c:1f\", ATTR{type}==\"1\", KERNEL==\"eth*\", NAME=\"eth0\"\n",
        );
        let (b, _, _) = run(&mut f, |f, r, w| udev_names(f, &l, r, w));
        assert_eq!(b, [("00:50:56:9A:3C:1F".to_owned(), "eth0".to_owned())]);
        let mut f = MemFiles::new();
        f.file("/etc/default/grub", "GRUB_CMDLINE_LINUX=\"net.ifnames=0 biosdevname=0\"\n");
        let mut w = Vec::new();
        assert!(classic_names(&mut f, &l, &mut w));
        assert!(!classic_names(&mut MemFiles::new(), &l, &mut w));
        assert!(hardware_name("ens192") && hardware_name("enp0s3") && hardware_name("eno1"));
        assert!(!hardware_name("eth0") && !hardware_name("bond0") && !hardware_name("ens"));
        assert_eq!(canonical_mac("00-50-56-9a-3c-1f").as_deref(), Some("00:50:56:9A:3C:1F"));
        assert_eq!(canonical_mac("zz"), None);
    }
}
