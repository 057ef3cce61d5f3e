use super::*;
use crate::MemFiles;
use std::path::Path;
use std::time::{Duration, Instant};

/// A committed guest tree (`testdata/linux/trees/NAME` and `NAME.links`) in memory.
pub(crate) fn load_tree(name: &str) -> MemFiles {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/linux/trees");
    let base = root.join(name);
    let mut f = MemFiles::new();
    let mut stack = vec![base.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = format!("/{}", p.strip_prefix(&base).unwrap().to_str().unwrap());
            if e.file_type().unwrap().is_dir() {
                f.dir(&rel);
                stack.push(p);
            } else {
                f.file(&rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let links = std::fs::read_to_string(root.join(format!("{name}.links"))).unwrap_or_default();
    for l in links.lines() {
        if let Some((p, t)) = l.split_once(' ') {
            f.link(&format!("/{p}"), t);
        }
    }
    f
}

fn run(f: &mut MemFiles) -> StackConfig {
    read(f, &Limits::default())
}

fn iface<'a>(c: &'a StackConfig, name: &str) -> &'a Interface {
    c.interfaces.iter().find(|i| i.name == name).unwrap_or_else(|| panic!("no {name} in {:#?}", c.interfaces))
}

fn codes(c: &StackConfig) -> Vec<&str> {
    c.warnings.iter().map(|w| w.code.as_str()).collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn debian_networkd_fixture() {
    let mut f = load_tree("debian-12-networkd");
    let c = run(&mut f);
    // The vendor DHCP file is masked by /etc's link to /dev/null.
    assert!(c.warnings.iter().any(|w| w.code == "masked_file" && w.message.contains("90-vm-dhcp.network")));
    assert!(!c.files.iter().any(|p| p.contains("90-vm-dhcp")));
    let names: Vec<&str> = c.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["ens192", "backup0", "99-other.network"]);
    let e = iface(&c, "ens192");
    assert_eq!(e.addresses, [IfAddress::new(ip("10.70.0.12"), 24), IfAddress::new(ip("10.70.0.13"), 24)]);
    assert_eq!(e.gateways, [ip("10.70.0.1")]);
    // The drop-in's DNS= appends.
    assert_eq!(e.dns, [ip("10.70.0.2"), ip("10.70.0.3")]);
    assert_eq!(e.search, ["db.example.org"]);
    assert_eq!(
        e.files,
        ["/etc/systemd/network/10-ens192.network", "/etc/systemd/network/10-ens192.network.d/dns.conf"]
    );
    let b = iface(&c, "backup0");
    assert_eq!(b.mac.as_deref(), Some("00:50:56:9C:40:02"));
    assert_eq!(b.addresses, [IfAddress::new(ip("192.168.80.12"), 24)]);
    let o = iface(&c, "99-other.network");
    assert!(o.dhcp4 && !o.dhcp6);
    // `Name=!ens192 !backup0 en*`: the ! inverts the whole list.
    assert!(codes(&c).contains(&"odd_match"));
    assert!(codes(&c).contains(&"hardware_name"));
    assert_eq!(o.mac, None);
}

#[test]
fn trees_without_networkd_files() {
    for t in [
        "debian-12",
        "ubuntu-24.04",
        "ubuntu-22.04",
        "ubuntu-22.04-cloud",
        "rocky-9",
        "alma-9-cloud",
        "fedora-41-cloud",
    ] {
        let mut f = load_tree(t);
        let c = run(&mut f);
        assert!(c.interfaces.is_empty(), "{t}");
    }
}

#[test]
fn netplan_generated_files_and_first_match() {
    let mut f = MemFiles::new();
    // As netplan writes them (Ubuntu 22.04, /run/systemd/network).
    f.file(
        "/run/systemd/network/10-netplan-eth0.network",
        "[Match]\nMACAddress=00:50:56:9a:3c:1f\nName=eth0\n\n[Link]\nMTUBytes=1500\n\n[Network]\nLinkLocalAddressing=ipv6\nAddress=10.20.30.40/24\nAddress=2001:db8::40/64\nDNS=10.20.30.2\nDNS=[2001:db8::2]:53\nDomains=example.com ~corp.example\n\n[Route]\nDestination=0.0.0.0/0\nGateway=10.20.30.1\n\n[Route]\nDestination=10.99.0.0/16\nGateway=10.20.30.254\nMetric=100\n",
    );
    f.file(
        "/run/systemd/network/10-netplan-eth0.link",
        "[Match]\nMACAddress=00:50:56:9a:3c:1f\n\n[Link]\nName=eth0\nWakeOnLan=off\n",
    );
    f.file("/run/systemd/network/10-netplan-eth1.network", "[Match]\nName=eth1\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=ipv6\n\n[DHCP]\nRouteMetric=100\nUseMTU=true\n");
    // An earlier catch-all glob shadows a later plain name.
    f.file("/etc/systemd/network/05-eth2-first.network", "[Match]\nName=eth2 eth3\n[Network]\nDHCP=yes\n");
    f.file("/etc/systemd/network/50-eth.network", "[Match]\nName=eth*\n[Network]\nDHCP=true\n");
    f.file("/etc/systemd/network/60-eth2.network", "[Match]\nName=eth2\n[Network]\nAddress=1.2.3.4/8\n");
    f.file("/etc/systemd/network/61-eth9.network", "[Match]\nName=eth9\n[Network]\nAddress=1.2.3.9/8\n");
    let c = run(&mut f);
    let e = iface(&c, "eth0");
    assert_eq!(e.mac.as_deref(), Some("00:50:56:9A:3C:1F"));
    assert_eq!(e.mtu, Some(1500));
    assert_eq!(e.addresses.len(), 2);
    assert_eq!(e.gateways, [ip("10.20.30.1")]);
    assert_eq!(
        e.routes,
        [IfRoute { to: IfAddress::new(ip("10.99.0.0"), 16), via: Some(ip("10.20.30.254")), metric: Some(100) }]
    );
    assert_eq!(e.dns, [ip("10.20.30.2"), ip("2001:db8::2")]);
    assert_eq!(e.search, ["example.com"]);
    assert!(iface(&c, "eth1").dhcp4);
    assert!(iface(&c, "eth2").dhcp4 && iface(&c, "eth2").dhcp6);
    assert!(iface(&c, "eth3").dhcp4);
    let names: Vec<&str> = c.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["eth2", "eth3", "eth0", "eth1", "50-eth.network"]);
    let shadowed: Vec<&str> = c.warnings.iter().filter(|w| w.code == "shadowed").map(|w| w.message.as_str()).collect();
    assert_eq!(shadowed.len(), 2, "{shadowed:?}");
    assert!(shadowed[0].contains("60-eth2.network is not applied to eth2: 05-eth2-first.network"));
    assert!(shadowed[1].contains("61-eth9.network is not applied to eth9: 50-eth.network"));
}

#[test]
fn masking_dropins_and_resets() {
    let mut f = MemFiles::new();
    f.file("/usr/lib/systemd/network/80-vendor.network", "[Match]\nName=ens3\n[Network]\nDHCP=yes\n");
    f.file("/etc/systemd/network/80-vendor.network", ""); // an empty file masks too
    f.file(
        "/usr/lib/systemd/network/81-shown.network",
        "[Match]\nName=ens4\n[Network]\nDHCP=no\nAddress=10.0.0.4/24\nDNS=9.9.9.9\n",
    );
    f.file(
        "/etc/systemd/network/81-shown.network",
        "[Match]\nName=ens4\n[Network]\nAddress=10.0.0.5/24\nDNS=9.9.9.9\nDomains=a.example\n",
    );
    // Drop-ins: /etc masks /usr/lib's same name; sorted by name across directories.
    f.file("/usr/lib/systemd/network/81-shown.network.d/10-dns.conf", "[Network]\nDNS=8.8.8.8\n");
    f.file(
        "/etc/systemd/network/81-shown.network.d/10-dns.conf",
        "[Network]\nDNS=\nDNS=1.1.1.1#one.one.one.one 1.0.0.1:53%ens4\n",
    );
    f.file("/usr/lib/systemd/network/81-shown.network.d/20-addr.conf", "[Network]\nAddress=\nAddress=10.0.0.6/24\nDomains=\nDomains=b.example\n[Link]\nMTUBytes=9K\nMACAddress=02-00-00-00-00-01\n");
    f.link("/run/systemd/network/81-shown.network.d/30-masked.conf", "/dev/null");
    f.file("/usr/lib/systemd/network/81-shown.network.d/30-masked.conf", "[Network]\nDHCP=yes\n");
    f.file("/usr/lib/systemd/network/81-shown.network.d/readme.txt", "[Network]\nDHCP=yes\n");
    f.file("/etc/systemd/network/.hidden.network", "[Network]\nDHCP=yes\n");
    f.dir("/etc/systemd/network/dir.network");
    let c = run(&mut f);
    assert_eq!(c.interfaces.len(), 1, "{:#?}", c.interfaces);
    let e = iface(&c, "ens4");
    assert_eq!(e.addresses, [IfAddress::new(ip("10.0.0.6"), 24)]);
    assert_eq!(e.dns, [ip("1.1.1.1"), ip("1.0.0.1")]);
    assert_eq!(e.search, ["b.example"]);
    assert_eq!(e.mtu, Some(9216));
    assert_eq!(e.set_mac.as_deref(), Some("02:00:00:00:00:01"));
    assert!(!e.dhcp4);
    assert_eq!(
        e.files,
        [
            "/etc/systemd/network/81-shown.network",
            "/etc/systemd/network/81-shown.network.d/10-dns.conf",
            "/usr/lib/systemd/network/81-shown.network.d/20-addr.conf"
        ]
    );
    assert_eq!(c.warnings.iter().filter(|w| w.code == "masked_file").count(), 2);
}

#[test]
fn dhcp_spellings_and_values() {
    for (v, want) in [
        ("yes", (true, true)),
        ("TRUE", (true, true)),
        ("on", (true, true)),
        ("1", (true, true)),
        ("y", (true, true)),
        ("t", (true, true)),
        ("both", (true, true)),
        ("no", (false, false)),
        ("false", (false, false)),
        ("off", (false, false)),
        ("0", (false, false)),
        ("none", (false, false)),
        ("ipv4", (true, false)),
        ("v4", (true, false)),
        ("ipv6", (false, true)),
    ] {
        assert_eq!(dhcp(v), Some(want), "{v}");
    }
    assert_eq!(dhcp("maybe"), None);
    assert_eq!(dns("[2001:db8::1]:53%eth0#name"), Some(ip("2001:db8::1")));
    assert_eq!(dns("2001:db8::1%eth0"), Some(ip("2001:db8::1")));
    assert_eq!(dns("1.2.3.4:853#x"), Some(ip("1.2.3.4")));
    assert_eq!(dns("1.2.3.4:99999"), None);
    assert_eq!(dns("[::1"), None);
    assert_eq!(dns("x"), None);
    assert_eq!(mtu("1500"), Some(1500));
    assert_eq!(mtu("1M"), Some(1 << 20));
    assert_eq!(mtu("1g"), Some(1 << 30));
    assert_eq!(mtu("4G"), None);
    assert_eq!(mtu("1k"), Some(1024));
    assert_eq!(mtu("x"), None);
    assert_eq!(mtu(""), None);
    let s = &mut Steps::new();
    assert!(names_match(&["!ens192".into(), "!!backup0".into(), "!en*".into()], "eth0", s));
    assert!(!names_match(&["!ens192".into(), "!!backup0".into(), "!en*".into()], "ens224", s));
    assert!(names_match(&["!!backup0".into()], "backup0", s));
    assert!(names_match(&["en*".into(), "!ens192".into()], "ens224", s));
    assert!(!names_match(&["en*".into(), "!ens192".into()], "ens192", s));
    assert!(!names_match(&["en*".into()], "eth0", s));
    assert!(
        ifname_valid("eth0")
            && ifname_valid("!x")
            && !ifname_valid("a:b")
            && !ifname_valid("")
            && !ifname_valid(&"a".repeat(128))
    );
}

#[test]
fn conditions_bonds_vlans_and_oddities() {
    let mut f = MemFiles::new();
    let d = "/etc/systemd/network";
    f.file(
        &format!("{d}/01-container.network"),
        "[Match]\nVirtualization=container\nName=host0\n[Network]\nDHCP=yes\n",
    );
    f.file(&format!("{d}/02-notvm.network"), "[Match]\nVirtualization=!vm\n[Network]\nDHCP=yes\n");
    f.file(
        &format!("{d}/03-kvm.network"),
        "[Match]\nVirtualization=kvm\nName=kvm0\nHost=db1\nType=ether\nFoo=bar\nDriver=\n[Network]\nDHCP=yes\n",
    );
    f.file(&format!("{d}/10-bond.netdev"), "[NetDev]\nName=bond0\nKind=bond\n");
    f.file(&format!("{d}/11-vlan.netdev"), "[NetDev]\nName=vlan10\nKind=vlan\n[VLAN]\nId=10\n");
    f.file(&format!("{d}/12-br.netdev"), "[NetDev]\nName=br0\nKind=bridge\n");
    f.file(&format!("{d}/13-bond1.netdev"), "[NetDev]\nName=bond1\nKind=bond\n");
    f.file(&format!("{d}/20-bond.network"), "[Match]\nName=bond0\n[Network]\nVLAN=vlan10\nAddress=10.9.0.2/24\nGateway=10.9.0.1\nGateway=_dhcp4\nGateway=bad\n");
    f.file(&format!("{d}/21-members.network"), "[Match]\nName=ens1 ens2\n[Network]\nBond=bond0\n");
    f.file(&format!("{d}/22-vlan.network"), "[Match]\nName=vlan10\n[Network]\nAddress=10.10.0.2/24\nBridge=br0\n");
    f.file(&format!("{d}/23-br.network"), "[Match]\nName=br0\n[Network]\nDHCP=yes\n");
    f.file(&format!("{d}/24-bond1.network"), "[Match]\nName=bond1\n");
    f.file(
        &format!("{d}/30-mac.network"),
        "[Match]\nMACAddress=52:54:00:00:00:01 52:54:00:00:00:02 bogus\nMACAddress=\nMACAddress=52:54:00:00:00:03 52:54:00:00:00:04\n[Network]\nDHCP=ipv6\nDHCP=sometimes\n",
    );
    f.file(
        &format!("{d}/30-mac.link"),
        "[Match]\nMACAddress=52:54:00:00:00:04\n[Link]\nNamePolicy=kernel\nName=lan4\n",
    );
    f.file(&format!("{d}/31-mac2.link"), "[Match]\nMACAddress=52:54:00:00:00:09\n[Link]\nName=\n");
    f.file(&format!("{d}/32-nomac.link"), "[Match]\nOriginalName=*\n[Link]\nName=x\n");
    f.file(
        &format!("{d}/40-bad.network"),
        "Name=x\n[Match]\nName=\nName=a\"b c\"\n[Address]\nAddress=nope\n[Route]\nGateway=nope\nDestination=nope\nMetric=x\n[Route]\nDestination=::/0\nGateway=fe80::1\n[Route]\nDestination=10.0.0.0/8\n[Link]\nMTUBytes=huge\nMACAddress=zz\n[Network]\nDNS=nope\nAddress=nope\n",
    );
    f.file(&format!("{d}/50-mac-only-name.network"), "[Match]\nMACAddress=52:54:00:00:00:04\nName=other\n");
    f.file(&format!("{d}/51-mac-lan4.network"), "[Match]\nMACAddress=52:54:00:00:00:04\nName=lan*\n");
    f.file(&format!("{d}/99-all.network"), "[Network]\nDHCP=yes\n");
    f.file(&format!("{d}/99-zz.network"), "[Match]\nName=zz\n");
    let c = run(&mut f);
    let names: Vec<&str> = c.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        ["kvm0", "bond0", "ens1", "ens2", "vlan10", "br0", "bond1", "52:54:00:00:00:03", "lan4", "40-bad.network"],
        "{:#?}",
        c.warnings
    );
    assert_eq!(iface(&c, "bond0").kind, InterfaceKind::Bond { members: vec!["ens1".into(), "ens2".into()] });
    assert_eq!(iface(&c, "bond0").gateways, [ip("10.9.0.1")]);
    assert_eq!(iface(&c, "vlan10").kind, InterfaceKind::Vlan { id: 10, link: "bond0".into() });
    assert_eq!(iface(&c, "br0").kind, InterfaceKind::Bridge { members: vec!["vlan10".into()] });
    assert_eq!(iface(&c, "bond1").kind, InterfaceKind::Bond { members: vec![] });
    let lan4 = iface(&c, "lan4");
    assert_eq!(lan4.mac.as_deref(), Some("52:54:00:00:00:04"));
    assert!(lan4.dhcp6 && !lan4.dhcp4);
    // `Name=a"b c"` is the name `ab c`, which systemd refuses: the file matches everything.
    let bad = iface(&c, "40-bad.network");
    assert_eq!(bad.gateways, [ip("fe80::1")]);
    assert_eq!(bad.routes.len(), 1);
    let cs = codes(&c);
    for code in [
        "condition_false",
        "unevaluated_condition",
        "unknown_key",
        "bad_value",
        "bad_line",
        "link_name_policy",
        "match_all",
        "shadowed",
    ] {
        assert!(cs.contains(&code), "{code}: {cs:?}");
    }
    // 99-all and 99-zz are shadowed by the catch-all before them.
    assert!(c.warnings.iter().any(|w| w.code == "shadowed" && w.message.contains("99-zz.network")));
    assert!(c.warnings.iter().any(|w| w.code == "shadowed" && w.message.contains("99-all.network")));
}

fn timed(f: &mut MemFiles, limits: &Limits) -> StackConfig {
    let t = Instant::now();
    let c = read(f, limits);
    // Tests never assert timings (scripts/hostile-check.sh measures them); a slow case shows here.
    if t.elapsed() > Duration::from_secs(1) {
        eprintln!("slow hostile case: read in {:?}", t.elapsed());
    }
    c
}

#[test]
fn hostile_many_interfaces_lines_and_bytes() {
    let mut f = MemFiles::new();
    let mut big = String::from("[Match]\nName=");
    for i in 0..100_000 {
        big.push_str(&format!("e{i} "));
    }
    big.push_str("\n[Network]\nDHCP=yes\n");
    f.file("/etc/systemd/network/10-many.network", &big);
    let lines = format!("[Network]\nDNS=1.1.1.1\n{}", "\n".repeat(1_000_000));
    f.file("/etc/systemd/network/20-lines.network", &lines);
    let mut junk = Vec::new();
    for b in 0..=255u8 {
        junk.extend_from_slice(b"[Match]\nName=e\xff");
        junk.push(b);
        junk.extend_from_slice(b"\nMACAddress=\xfe\n[Network]\nAddress=\xff1.2.3.4/24\nDNS=\x80\nDomains=\xc3\x28\nGateway=\xff\n[Link]\nMTUBytes=\xff\n");
    }
    f.file("/etc/systemd/network/30-junk.network", &junk);
    f.file("/etc/systemd/network/40-\u{ff}\u{fe}.network", "[Match]\nName=x\n");
    f.file("/etc/systemd/network/50-huge.network", vec![b'#'; 2 << 20]);
    f.link("/etc/systemd/network/60-loop.network", "60-loop.network");
    f.link("/etc/systemd/network/61-nowhere.network", "/run/nowhere.network");
    let limits = Limits::default();
    let c = timed(&mut f, &limits);
    assert_eq!(c.interfaces.len(), limits.max_interfaces);
    let cs = codes(&c);
    for code in ["too_many_interfaces", "too_many_lines", "bad_file", "missing_file", "bad_value"] {
        assert!(cs.contains(&code), "{code}: {cs:?}");
    }
    // Tighter limits: files.
    let mut f = MemFiles::new();
    for i in 0..50 {
        f.file(&format!("/etc/systemd/network/{i:03}.network"), format!("[Match]\nName=e{i}\n"));
        f.file(&format!("/etc/systemd/network/{i:03}.network.d/a.conf"), "[Network]\nDHCP=yes\n");
    }
    let small = Limits { max_files: 10, ..Limits::default() };
    let c = timed(&mut f, &small);
    assert!(codes(&c).contains(&"too_many_files"));
    assert!(c.files.len() <= 10);
}

#[test]
fn hostile_globs_are_bounded() {
    let mut f = MemFiles::new();
    // Many costly patterns against many plain names: bounded by the step budget.
    let costly: String =
        (0..2000).map(|i| format!("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b{i} ")).collect();
    f.file("/etc/systemd/network/10-glob.network", format!("[Match]\nName={costly}\n"));
    let names: String = (0..4000).map(|i| format!("{}{i} ", "a".repeat(100))).collect();
    f.file("/etc/systemd/network/20-plain.network", format!("[Match]\nName={names}\n"));
    f.file("/etc/systemd/network/30-long.network", format!("[Match]\nName={}\n", "a".repeat(4000)));
    let c = timed(&mut f, &Limits::default());
    assert!(codes(&c).contains(&"match_budget"), "{:?}", codes(&c));
    assert!(codes(&c).contains(&"bad_value"));
}
