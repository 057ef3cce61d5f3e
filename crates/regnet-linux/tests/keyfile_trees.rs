//! The keyfile and ifcfg readers on the committed guest trees (`testdata/linux/trees`, with the
//! modes of their `.modes` files), and the keyfile reader against libnm's `NM.keyfile_read` on
//! every fixture keyfile and on generated ones (skipped with a message when python3-gi and
//! gir1.2-nm-1.0 are missing).

use regnet_linux::{ifcfg, keyfile, IfAddress, Interface, Limits, MemFiles, StackConfig};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

fn trees() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/linux/trees")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// A committed tree as the guest sees it: files (root, 0644 unless `.modes` says otherwise) and
/// links.
fn tree(name: &str) -> MemFiles {
    let root = trees().join(name);
    let text = |ext: &str| std::fs::read_to_string(trees().join(format!("{name}.{ext}"))).unwrap_or_default();
    let modes: Vec<(u32, String, u32)> = text("modes")
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let uid = f.get(2).and_then(|o| o.split(':').next()).and_then(|u| u.parse().ok()).unwrap_or(0);
            Some((u32::from_str_radix(f.first()?, 8).ok()?, format!("/{}", f.get(1)?), uid))
        })
        .collect();
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut m = MemFiles::new();
    for p in files {
        let guest = format!("/{}", p.strip_prefix(&root).unwrap().to_str().unwrap());
        let (mode, uid) = modes.iter().find(|(_, g, _)| *g == guest).map_or((0o644, 0), |(m, _, u)| (*m, *u));
        m.file_with(&guest, std::fs::read(&p).unwrap(), uid, mode);
    }
    for l in text("links").lines() {
        if let Some((p, t)) = l.split_once(' ') {
            m.link(&format!("/{p}"), t);
        }
    }
    m
}

fn a(s: &str, p: u8) -> IfAddress {
    IfAddress::new(s.parse().unwrap(), p)
}
fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}
fn by<'a>(c: &'a StackConfig, n: &str) -> &'a Interface {
    c.interfaces.iter().find(|i| i.name == n).unwrap_or_else(|| panic!("{n}: {:#?}", c.interfaces))
}

#[test]
fn rocky_9() {
    let mut f = tree("rocky-9");
    let c = keyfile::read(&mut f, &Limits::default());
    assert_eq!(c.interfaces.len(), 1, "{:#?}", c);
    let i = by(&c, "ens192");
    assert_eq!(i.addresses, [a("10.30.0.15", 24), a("10.30.0.16", 24)]);
    assert_eq!(i.gateways, [ip("10.30.0.1")]);
    assert_eq!(i.dns, [ip("10.30.0.2"), ip("10.30.0.3")]);
    assert_eq!(i.search, ["corp.example.com"]);
    assert!(!i.dhcp4 && i.dhcp6);
    let bak = c.warnings.iter().find(|w| w.file.as_deref().is_some_and(|f| f.ends_with(".bak"))).unwrap();
    assert_eq!(bak.code, "skipped_file");
    assert!(bak.message.contains("mode 0644"), "{bak:?}");
    assert_eq!(c.warnings.len(), 1);

    let c = ifcfg::read_rhel(&mut f, &Limits::default());
    let i = by(&c, "eth1");
    assert_eq!(i.mac.as_deref(), Some("00:50:56:9E:11:22"));
    assert_eq!(i.addresses, [a("172.20.1.15", 24), a("172.20.2.15", 16)]);
    // GATEWAY of /etc/sysconfig/network would apply, but DEFROUTE=no.
    assert!(i.gateways.is_empty());
    assert_eq!(i.dns, [ip("172.20.1.2")]);
    assert_eq!(c.warnings.iter().map(|w| w.code.as_str()).collect::<Vec<_>>(), ["never_default"]);
    assert_eq!(ifcfg::read_suse(&mut f, &Limits::default()).interfaces.len(), 0);
}

#[test]
fn alma_9_cloud() {
    let mut f = tree("alma-9-cloud");
    let c = keyfile::read(&mut f, &Limits::default());
    assert_eq!(c.interfaces.len(), 2, "{:#?}", c);
    let i = by(&c, "cloud-init eth0");
    assert_eq!(i.mac.as_deref(), Some("52:54:00:C0:FF:EE"));
    assert_eq!(i.addresses, [a("10.40.0.20", 24), a("10.40.0.21", 25), a("2001:db8:40::20", 64)]);
    assert_eq!(i.gateways, [ip("10.40.0.1"), ip("2001:db8:40::1")]);
    assert_eq!(i.dns, [ip("10.40.0.2"), ip("10.40.0.3")]);
    let e = by(&c, "ens192");
    assert!(e.dhcp4 && !e.dhcp6 && e.addresses.is_empty());
    assert!(c.warnings.iter().any(|w| w.code == "skipped_file" && w.message.contains("mode 0644")));

    let c = ifcfg::read_rhel(&mut f, &Limits::default());
    let i = by(&c, "eth1");
    assert_eq!(i.addresses, [a("192.168.60.20", 24), a("192.168.61.20", 23)]);
    assert_eq!(i.gateways, [ip("192.168.60.1")]);
    assert_eq!(i.set_mac.as_deref(), Some("02:00:00:60:00:20"));
    assert!(c.warnings.is_empty(), "{:#?}", c.warnings);
}

#[test]
fn other_trees_have_no_profiles() {
    for entry in std::fs::read_dir(trees()).unwrap() {
        let p = entry.unwrap().path();
        if !p.is_dir() {
            continue;
        }
        let name = p.file_name().unwrap().to_str().unwrap().to_owned();
        let mut f = tree(&name);
        let k = keyfile::read(&mut f, &Limits::default());
        let r = ifcfg::read_rhel(&mut f, &Limits::default());
        let s = ifcfg::read_suse(&mut f, &Limits::default());
        if !name.starts_with("rocky") && !name.starts_with("alma") {
            assert!(k.interfaces.is_empty() && r.interfaces.is_empty(), "{name}");
        }
        assert!(s.interfaces.is_empty(), "{name}");
    }
}

/// Profiles made here: address keys in every syntax NetworkManager's reader documents.
fn generated() -> Vec<String> {
    let head = "[connection]\nid=g\nuuid=0c6f5f55-1111-4222-8333-944444444444\ntype=ethernet\ninterface-name=eth0\n";
    let mut out = Vec::new();
    let v4 = [
        "address1=10.1.0.5/24,10.1.0.1",
        "address1=10.1.0.5",
        "address1=10.1.0.5/10.1.0.1",
        "address1=10.1.0.5;24;10.1.0.1;",
        "address1=10.1.0.5,24,10.1.0.1",
        "address1=10.1.0.5/33",
        "address1=10.1.0.5/24,10.1.0.1,9",
        "address1=10.1.0.x/24",
        "addresses=10.1.0.5/24\naddress=10.1.0.6/24\naddress0=10.1.0.7/24,10.1.0.70",
        "address2=10.1.0.5/24,10.1.0.2\naddress10=10.1.0.6/24,10.1.0.10\naddresses1=10.1.0.7/24",
        "address01=10.1.0.5/24\naddress1=10.1.0.6/24",
        "address1=10.1.0.5/24,10.1.0.1\ngateway=10.1.0.254",
        "address1=10.1.0.5/24,10.1.0.1\nnever-default=true",
        "address1=10.1.0.5/024",
        "address1= 10.1.0.5/24",
        "address1=10.1.0.5/24 ",
        "address1=10.1.0.5/24\ndns=10.1.0.2;nope;10.1.0.3\ndns-search=a.example;b.example;",
        "address1=10.1.0.5/24\ndns=10.1.0.2; 10.1.0.3",
        "route1=10.9.0.0/16,10.1.0.1,5\naddress1=10.1.0.5/24",
        "route1=10.9.0.0,10.1.0.1\naddress1=10.1.0.5/24",
        "address1=10.1.0.5/24\ngateway=0.0.0.0",
        "address1=10.1.0.5/24\nroute1=0.0.0.0/0,10.1.0.9",
    ];
    for (n, body) in v4.iter().enumerate() {
        let method = if n % 3 == 0 { "auto" } else { "manual" };
        out.push(format!("{head}[ipv4]\nmethod={method}\n{body}\n[ipv6]\nmethod=ignore\n"));
    }
    for body in [
        "address1=2001:db8::5",
        "address1=2001:db8::5/80,2001:db8::1",
        "addresses=2001:db8::5/64;2001:db8::1;",
        "address1=2001:db8::5/64\ngateway=fe80::1",
        "address1=2001:db8::5/129",
    ] {
        out.push(format!("{head}[ipv4]\nmethod=disabled\n[ipv6]\nmethod=manual\n{body}\n"));
    }
    out.push(format!("{head}[ethernet]\nmac-address=52-54-00-c0-ff-0e\n[ipv4]\nmethod=auto\n"));
    out.push(format!("{head}[ethernet]\nmac-address=82;84;0;192;255;14;\n[ipv4]\nmethod=auto\n"));
    out.push(format!("{head}[802-3-ethernet]\nmac-address=52:54:00:c0:ff:0e\n[ipv6]\nmethod=dhcp\n"));
    out
}

#[test]
fn differential_against_libnm() {
    let python = "/usr/bin/python3";
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/keyfile_nm.py");
    let probe = Command::new(python)
        .args(["-c", "import gi; gi.require_version('NM', '1.0'); from gi.repository import NM"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        println!("SKIP differential_against_libnm: {python} cannot import NM from gi (apt-get install python3-gi gir1.2-nm-1.0)");
        return;
    }
    let tmp = std::env::temp_dir().join(format!("regnet-keyfile-diff-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut cases: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let mut all = Vec::new();
    walk(&trees(), &mut all);
    for p in all {
        if p.to_str().unwrap().contains("system-connections/") {
            cases.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
    let fixtures = cases.len();
    for (n, g) in generated().into_iter().enumerate() {
        let p = tmp.join(format!("gen{n:02}.nmconnection"));
        std::fs::write(&p, &g).unwrap();
        cases.push((p, g.into_bytes()));
    }
    let out = Command::new(python).arg(&script).args(cases.iter().map(|c| &c.0)).output().unwrap();
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), cases.len());
    let mut differences = Vec::new();
    for ((path, data), nm) in cases.iter().zip(&lines) {
        let mut f = MemFiles::new();
        f.file_with("/etc/NetworkManager/system-connections/p.nmconnection", data, 0, 0o600);
        let c = keyfile::read(&mut f, &Limits::default());
        let ours = c.interfaces.first();
        let nm_ok = nm["ok"].as_bool().unwrap();
        if nm_ok != ours.is_some() {
            differences.push(format!("{}: libnm ok={nm_ok}, regnet {:?}", path.display(), c.warnings));
            continue;
        }
        let Some(i) = ours else { continue };
        let list = |v: &serde_json::Value| -> Vec<String> {
            v.as_array().map(|a| a.iter().map(|x| x.as_str().unwrap().to_owned()).collect()).unwrap_or_default()
        };
        let mut addrs = Vec::new();
        let mut gws = Vec::new();
        let mut dns = Vec::new();
        for fam in ["ip4", "ip6"] {
            addrs.extend(list(&nm[fam]["addresses"]));
            if let Some(g) = nm[fam]["gateway"].as_str() {
                gws.push(g.to_owned());
            }
            dns.extend(list(&nm[fam]["dns"]));
        }
        for r in list(&nm["ip4"]["routes"]).into_iter().chain(list(&nm["ip6"]["routes"])) {
            if r.starts_with("0.0.0.0/0,") || r.starts_with("::/0,") {
                gws.push(r.split(',').nth(1).unwrap().to_owned());
            }
        }
        let our_addrs: Vec<String> = i.addresses.iter().map(|a| format!("{}/{}", a.address, a.prefix_len)).collect();
        let our_gws: Vec<String> = i.gateways.iter().map(ToString::to_string).collect();
        let our_dns: Vec<String> = i.dns.iter().map(ToString::to_string).collect();
        let mac = nm["mac"].as_str().map(str::to_owned);
        let dhcp4 = nm["ip4"]["method"] == "auto";
        let dhcp6 = nm["ip6"]["method"] == "auto" || nm["ip6"]["method"] == "dhcp";
        if (our_addrs.clone(), our_gws.clone(), our_dns.clone(), i.mac.clone(), i.dhcp4, i.dhcp6)
            != (addrs.clone(), gws.clone(), dns.clone(), mac.clone(), dhcp4, dhcp6)
        {
            differences.push(format!(
                "{}: libnm {addrs:?} {gws:?} {dns:?} {mac:?} dhcp {dhcp4}/{dhcp6}; regnet {our_addrs:?} {our_gws:?} {our_dns:?} {:?} dhcp {}/{}",
                path.display(),
                i.mac,
                i.dhcp4,
                i.dhcp6
            ));
        }
    }
    std::fs::remove_dir_all(&tmp).ok();
    println!(
        "differential_against_libnm: {} keyfiles ({fixtures} fixtures, {} generated), {} differences",
        cases.len(),
        cases.len() - fixtures,
        differences.len()
    );
    assert!(differences.is_empty(), "{differences:#?}");
}
