use super::*;
use crate::networkd::tests::load_tree;
use crate::MemFiles;
use std::time::{Duration, Instant};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn iface<'a>(c: &'a StackConfig, name: &str) -> &'a Interface {
    c.interfaces.iter().find(|i| i.name == name).unwrap_or_else(|| panic!("no {name} in {:#?}", c.interfaces))
}

fn codes(c: &StackConfig) -> Vec<&str> {
    c.warnings.iter().map(|w| w.code.as_str()).collect()
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
fn debian_fixture_dual_stack_and_source_directory() {
    let mut f = load_tree("debian-12");
    let c = read(&mut f, &Limits::default());
    let names: Vec<&str> = c.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["eth1", "eth0"]);
    let e0 = iface(&c, "eth0");
    assert_eq!(e0.addresses, [IfAddress::new(ip("10.1.0.25"), 24), IfAddress::new(ip("2001:db8:10:1::25"), 64)]);
    assert_eq!(e0.gateways, [ip("10.1.0.1"), ip("2001:db8:10:1::1")]);
    assert_eq!(e0.dns, [ip("10.1.0.2"), ip("10.1.0.3")]);
    assert_eq!(e0.search, ["corp.example.com"]);
    let e1 = iface(&c, "eth1");
    assert_eq!(e1.addresses, [IfAddress::new(ip("192.168.77.25"), 24)]);
    assert_eq!(e1.set_mac.as_deref(), Some("52:54:00:AA:01:02"));
    assert_eq!(e1.mtu, Some(9000));
    assert_eq!(e1.files, ["/etc/network/interfaces.d/eth1"]);
    // eth2.disabled is skipped for its dot.
    assert!(c.warnings.iter().any(|w| w.code == "skipped_file" && w.message.contains("eth2.disabled")));
    assert_eq!(c.files, ["/etc/network/interfaces", "/etc/network/interfaces.d/eth1"]);
    for t in ["debian-12-networkd", "ubuntu-24.04", "rocky-9", "alma-9-cloud"] {
        let mut f = load_tree(t);
        assert!(read(&mut f, &Limits::default()).interfaces.is_empty(), "{t}");
    }
}

#[test]
fn cloud_image_and_cloud_init_files() {
    let mut f = MemFiles::new();
    // Debian 11 cloud image: `source /etc/network/interfaces.d/*` (a glob: the .cfg is read).
    f.file(
        "/etc/network/interfaces",
        "# This file describes the network interfaces available on your system\n# and how to activate them. For more information, see interfaces(5).\n\n# The loopback network interface\nauto lo\niface lo inet loopback\n\n# Cloud images dynamically generate config fragments for newly\n# attached interfaces. See /etc/udev/rules.d/75-cloud-ifupdown.rules\n# and /etc/network/cloud-ifupdown-helper. Dynamically generated\n# configuration fragments are stored in /run:\nsource-directory /run/network/interfaces.d\nsource /etc/network/interfaces.d/*\n",
    );
    f.file(
        "/etc/network/interfaces.d/50-cloud-init.cfg",
        "# This file is generated from information provided by the datasource.  Changes\n# to it will not persist across an instance reboot.  To disable cloud-init's\n# network configuration capabilities, write a file\n# /etc/cloud/cloud.cfg.d/99-disable-network-config.cfg with the following:\n# network: {config: disabled}\nauto lo\niface lo inet loopback\n    dns-nameservers 10.0.0.2\n\nauto ens3\niface ens3 inet static\n    address 10.0.0.15/24\n    gateway 10.0.0.1\n    dns-search example.org\n\n# control-alias ens3\niface ens3 inet6 static\n    address 2001:db8::15/64\n    gateway 2001:db8::1\n\nauto ens4\niface ens4 inet dhcp\n\nauto ens5\niface ens5 inet6 auto\n\nauto ens6.100\niface ens6.100 inet static\n    address 192.0.2.9\n    netmask 255.255.255.128\n    vlan-raw-device ens6\n\nauto bond0\niface bond0 inet manual\n    bond-slaves ens7 ens8\n    bond_mode active-backup\n\nauto br0\niface br0 inet dhcp\n    bridge_ports ens9\n\nauto ens10\niface ens10 inet manual\n    bond-master bond0\n\nauto vlan20\niface vlan20 inet manual\n    vlan_raw_device ens6\n",
    );
    let c = read(&mut f, &Limits::default());
    let e = iface(&c, "ens3");
    assert_eq!(e.addresses.len(), 2);
    assert_eq!(e.gateways, [ip("10.0.0.1"), ip("2001:db8::1")]);
    assert!(iface(&c, "ens4").dhcp4);
    assert!(iface(&c, "ens5").dhcp6);
    let v = iface(&c, "ens6.100");
    assert_eq!(v.kind, InterfaceKind::Vlan { id: 100, link: "ens6".into() });
    assert_eq!(v.addresses, [IfAddress::new(ip("192.0.2.9"), 25)]);
    assert_eq!(
        iface(&c, "bond0").kind,
        InterfaceKind::Bond { members: vec!["ens7".into(), "ens8".into(), "ens10".into()] }
    );
    assert_eq!(iface(&c, "br0").kind, InterfaceKind::Bridge { members: vec!["ens9".into()] });
    assert_eq!(iface(&c, "vlan20").kind, InterfaceKind::Vlan { id: 20, link: "ens6".into() });
    assert!(codes(&c).contains(&"missing_file"));
    assert!(!c.interfaces.iter().any(|i| i.name == "lo"));
}

#[test]
fn options_and_oddities() {
    let mut f = MemFiles::new();
    f.file(
        "/etc/network/interfaces",
        "auto eth0 eth1 eth2 ghost\nallow-hotplug eth3\nallow-ovs x\nno-auto-down eth0\niface eth0 inet static\n  address 10.0.0.1 # not a comment\n  address 10.0.0.2\n  netmask 16\n  address 10.0.0.3\n  gateway nope\n  dns-nameservers 1.1.1.1 nope\n  dns-nameserver 8.8.8.8\n  dns-domain a.example\n  hwaddress 52:54:00:12:34:56\n  mtu big\n  up ip route add 10.9.0.0/16 via 10.0.0.254\niface eth0 inet static\n  address 2001:db8::1\n  netmask zz\n  hwaddress ether zz\niface eth0 inet6 static\n  address 2001:db8::1\n  netmask 48\niface eth1 inet6 static\n  address 2001:db8::2\niface eth2 inet bootp\niface eth2 ipx static\n  address 1\niface eth3 \\\n inet dhcp\niface eth4 inet static\n  address 10.4.0.1/24\nmapping eth*\n  script /usr/local/sbin/map\niface eth0:1 inet static\n  address 10.0.0.9/24\nauto eth0:1\niface lo inet loopback\nrename x=y\n",
    );
    let c = read(&mut f, &Limits::default());
    let e = iface(&c, "eth0");
    // The first address line (with its "comment") is the stanza's address: the later ones are ignored.
    assert_eq!(e.addresses, [IfAddress::new(ip("2001:db8::1"), 48)]);
    assert_eq!(e.dns, [ip("1.1.1.1"), ip("8.8.8.8")]);
    assert_eq!(e.search, ["a.example"]);
    assert_eq!(e.set_mac.as_deref(), Some("52:54:00:12:34:56"));
    assert_eq!(iface(&c, "eth1").addresses, [IfAddress::new(ip("2001:db8::2"), 128)]);
    assert!(iface(&c, "eth3").dhcp4);
    assert!(!c.interfaces.iter().any(|i| i.name == "eth4"));
    let cs = codes(&c);
    for code in
        ["bad_value", "duplicate_stanza", "unsupported", "not_brought_up", "unknown_interface", "alias_interface"]
    {
        assert!(cs.contains(&code), "{code}: {cs:?}");
    }
    assert_eq!(vlan_id("vlan0010"), Some(10));
    assert_eq!(vlan_id("eth0.5000"), None);
    assert_eq!(vlan_id("eth0"), None);
    assert_eq!(normalize("/a/./b/../c/"), "/a/c");
    assert_eq!(normalize("/../.."), "/");
}

#[test]
fn errors_ifupdown_refuses() {
    for text in [
        "address 1.2.3.4\nauto eth0\niface eth0 inet dhcp\n",
        "auto eth0\niface eth0 inet dhcp\niface eth1\n",
        "auto eth0\niface eth0 inet foo\n",
        "auto eth0\niface eth0 inet dhcp\niface eth1 xns static\n",
    ] {
        let mut f = MemFiles::new();
        f.file("/etc/network/interfaces", text);
        let c = read(&mut f, &Limits::default());
        assert!(c.interfaces.is_empty(), "{text}");
        assert!(codes(&c).contains(&"ifupdown_refuses"), "{text}");
    } // In an included file, an error stops that file only.
    let mut f = MemFiles::new();
    f.file("/etc/network/interfaces", "auto eth0\niface eth0 inet dhcp\nsource x\nauto eth3\niface eth3 inet dhcp\n");
    f.file("/etc/network/x", "auto eth1 eth2\niface eth1 inet dhcp\niface eth2 inet6 slaac\n  address fd00::1/64\n");
    let c = read(&mut f, &Limits::default());
    let names: Vec<&str> = c.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["eth0", "eth1", "eth3"]);
    assert!(codes(&c).contains(&"bad_file"));
}

#[test]
fn relative_source_and_globs() {
    let mut f = MemFiles::new();
    f.file("/etc/network/interfaces", "source ifaces/*.conf extra\nsource-directory ifaces.d\n");
    f.file("/etc/network/ifaces/b.conf", "auto b\niface b inet dhcp\n");
    f.file("/etc/network/ifaces/a.conf", "auto a\niface a inet dhcp\n");
    f.file("/etc/network/ifaces/.hidden.conf", "auto h\niface h inet dhcp\n");
    f.file("/etc/network/extra", "auto x\niface x inet dhcp\n");
    f.file("/etc/network/ifaces.d/z-1", "auto z\niface z inet dhcp\n");
    f.dir("/etc/network/ifaces.d/sub");
    let c = read(&mut f, &Limits::default());
    let names: Vec<&str> = c.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "x", "z"]);
    // No main file: nothing, no warning.
    let c = read(&mut MemFiles::new(), &Limits::default());
    assert!(c.interfaces.is_empty() && c.warnings.is_empty());
}

#[test]
fn hostile_cycles() {
    let mut f = MemFiles::new();
    f.file(
        "/etc/network/interfaces",
        "source /etc/network/interfaces\nsource-directory /\nsource-directory /etc/network\nsource ./interfaces\nauto eth0\niface eth0 inet dhcp\n",
    );
    f.file("/etc/network/a", "source /etc/network/b\n");
    f.file("/etc/network/b", "source /etc/network/a\nauto eth1\niface eth1 inet dhcp\n");
    f.file("/shadow", "auto evil\niface evil inet dhcp\n");
    let c = timed(&mut f, &Limits::default());
    let names: Vec<&str> = c.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["evil", "eth1", "eth0"]);
    assert!(codes(&c).contains(&"include_cycle"));
    // A chain deeper than max_depth.
    let mut f = MemFiles::new();
    f.file("/etc/network/interfaces", "source /d/0\nauto eth0\niface eth0 inet dhcp\n");
    for i in 0..200 {
        f.file(&format!("/d/{i}"), format!("source /d/{}\n", i + 1));
    }
    let c = timed(&mut f, &Limits::default());
    assert!(codes(&c).contains(&"too_deep"));
    assert_eq!(c.interfaces.len(), 1);
    // Links that loop.
    let mut f = MemFiles::new();
    f.file(
        "/etc/network/interfaces",
        "source /etc/network/loop/*\nsource /etc/network/self\nauto eth0\niface eth0 inet dhcp\n",
    );
    f.link("/etc/network/loop", "/etc/network");
    f.link("/etc/network/self", "self");
    let c = timed(&mut f, &Limits::default());
    assert_eq!(c.interfaces.len(), 1);
}

#[test]
fn hostile_sizes_and_bytes() {
    // 100,000 interfaces, in 100 files of 1,000 each (default limits).
    let mut f = MemFiles::new();
    f.file("/etc/network/interfaces", "source-directory /etc/network/interfaces.d\n");
    for file in 0..100 {
        let mut text = String::new();
        for i in file * 1000..(file + 1) * 1000 {
            text.push_str(&format!("auto e{i}\niface e{i} inet dhcp\n"));
        }
        f.file(&format!("/etc/network/interfaces.d/f{file:03}"), &text);
    }
    let limits = Limits::default();
    let c = timed(&mut f, &limits);
    assert_eq!(c.interfaces.len(), limits.max_interfaces);
    assert!(codes(&c).contains(&"too_many_interfaces"));
    assert!(codes(&c).contains(&"more_warnings"));
    // 1,000,001 lines.
    let mut f = MemFiles::new();
    f.file("/etc/network/interfaces", format!("auto eth0\niface eth0 inet dhcp\n{}", "\n".repeat(1_000_000)));
    let c = timed(&mut f, &Limits::default());
    assert!(codes(&c).contains(&"too_many_lines"));
    assert_eq!(c.interfaces.len(), 1);
    // Too big.
    let mut f = MemFiles::new();
    f.file("/etc/network/interfaces", "source /big\nauto eth0\niface eth0 inet dhcp\n");
    f.file("/big", vec![b'#'; 2 << 20]);
    let c = timed(&mut f, &Limits::default());
    assert!(codes(&c).contains(&"bad_file"));
    assert_eq!(c.interfaces.len(), 1);
    // Non-UTF-8 in every field.
    let mut junk = Vec::new();
    for b in 128..=255u8 {
        let n = [b'e', b];
        for part in [
            &b"auto "[..],
            &n,
            b"\niface ",
            &n,
            b" inet static\n address 10.0.0.",
            &[b],
            b"\n netmask ",
            &[b],
            b"\n gateway ",
            &[b],
            b"\n dns-nameservers ",
            &[b],
            b"\n dns-search ",
            &[b],
            b"\n hwaddress ",
            &[b],
            b"\n mtu ",
            &[b],
            b"\nsource /",
            &[b],
            b"\n",
        ] {
            junk.extend_from_slice(part);
        }
    }
    let mut f = MemFiles::new();
    f.file("/etc/network/interfaces", &junk);
    f.file("/etc/network/interfaces.d/\u{fffd}", "auto q\niface q inet dhcp\n");
    let c = timed(&mut f, &Limits::default());
    assert!(codes(&c).contains(&"bad_value"));
    // Globs over the whole tree.
    let mut f = MemFiles::new();
    for a in 0..20 {
        for b in 0..20 {
            f.file(&format!("/g{a}/h{b}/i/j"), "auto z\niface z inet dhcp\n");
        }
    }
    f.file("/etc/network/interfaces", "source /*/*/*/*\nsource-directory /*/*/*\nsource /nothing/*\n");
    let c = timed(&mut f, &Limits::default());
    assert_eq!(c.interfaces.len(), 1);
    let small = Limits { max_files: 30, ..Limits::default() };
    let c = timed(&mut f, &small);
    assert!(codes(&c).contains(&"too_many_files"));
}
