use super::*;
use crate::MemFiles;

fn a(s: &str, p: u8) -> IfAddress {
    IfAddress::new(s.parse().unwrap(), p)
}
fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}
fn codes(c: &StackConfig) -> Vec<&str> {
    c.warnings.iter().map(|w| w.code.as_str()).collect()
}
fn rhel(files: &[(&str, &str)]) -> StackConfig {
    let mut f = MemFiles::new();
    for (p, d) in files {
        f.file(p, d);
    }
    read_rhel(&mut f, &Limits::default())
}

#[test]
fn anaconda_static_with_numbered_addresses() {
    let c = rhel(&[
        ("/etc/sysconfig/network", "# Created by anaconda\nGATEWAY=172.20.1.1\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-eth1", "TYPE=Ethernet\nBOOTPROTO=none\nNAME=\"System eth1\"\nDEVICE=eth1\nONBOOT=yes\nHWADDR=00:50:56:9e:11:22\nIPADDR0=172.20.1.15\nPREFIX0=24\nIPADDR1='172.20.2.15'\nNETMASK1=255.255.0.0\nDEFROUTE=no\nDNS1=172.20.1.2\n"),
        ("/etc/sysconfig/network-scripts/readme-ifcfg-rh.txt", "text"),
    ]);
    let i = &c.interfaces[0];
    assert_eq!(i.name, "eth1");
    assert_eq!(i.mac.as_deref(), Some("00:50:56:9E:11:22"));
    assert_eq!(i.addresses, [a("172.20.1.15", 24), a("172.20.2.15", 16)]);
    // The network file's GATEWAY applies (no GATEWAY0 here) but DEFROUTE=no keeps it off.
    assert!(i.gateways.is_empty());
    assert_eq!(codes(&c), ["never_default"]);
    assert_eq!(i.dns, [ip("172.20.1.2")]);
    assert_eq!(c.files.len(), 2);
}

#[test]
fn gateway_pairing() {
    // A plain GATEWAY does not pair with IPADDR0: the network file's applies.
    let c = rhel(&[
        ("/etc/sysconfig/network", "GATEWAY=10.0.0.254\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-a", "IPADDR0=10.0.0.5\nPREFIX0=24\nGATEWAY=10.0.0.1\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-b", "IPADDR=10.1.0.5\nPREFIX=24\nGATEWAY=10.1.0.1\n"),
        (
            "/etc/sysconfig/network-scripts/ifcfg-c",
            "IPADDR0=10.2.0.5\nPREFIX0=24\nIPADDR1=10.3.0.5\nPREFIX1=24\nGATEWAY1=10.3.0.1\nGATEWAY0=10.2.0.1\n",
        ),
        ("/etc/sysconfig/network-scripts/ifcfg-d", "BOOTPROTO=dhcp\n"),
    ]);
    let by = |n: &str| c.interfaces.iter().find(|i| i.name == n).unwrap();
    assert_eq!(by("a").gateways, [ip("10.0.0.254")]);
    assert_eq!(by("b").gateways, [ip("10.1.0.1")]);
    assert_eq!(by("c").gateways, [ip("10.2.0.1")]);
    assert!(by("d").gateways.is_empty() && by("d").dhcp4);
    assert!(codes(&c).contains(&"gateway_ignored"));
}

#[test]
fn prefix_over_netmask_and_classful() {
    let c = rhel(&[(
        "/etc/sysconfig/network-scripts/ifcfg-eth1",
        "DEVICE=\"eth1\"\nBOOTPROTO=\"static\"\nIPADDR0=\"192.168.60.20\"\nPREFIX0=\"24\"\nIPADDR1=\"192.168.61.20\"\nNETMASK1=\"255.255.255.0\"\nPREFIX1=\"23\"\nGATEWAY0=\"192.168.60.1\"\nMACADDR=\"02:00:00:60:00:20\"\nIPADDR2=10.0.0.1\nIPADDR3=172.16.0.1\nIPADDR4=224.0.0.1\nIPADDR6=1.1.1.1\n",
    )]);
    let i = &c.interfaces[0];
    assert_eq!(
        i.addresses,
        [a("192.168.60.20", 24), a("192.168.61.20", 23), a("10.0.0.1", 8), a("172.16.0.1", 16), a("224.0.0.1", 24)]
    );
    assert_eq!(i.gateways, [ip("192.168.60.1")]);
    assert_eq!(i.set_mac.as_deref(), Some("02:00:00:60:00:20"));
    assert_eq!(i.mac, None);
    assert_eq!(codes(&c), ["default_prefix"; 3]);
}

#[test]
fn ipv6_dns_and_routes() {
    let c = rhel(&[
        ("/etc/sysconfig/network", "IPV6INIT=yes\nIPV6_DEFAULTGW=2001:db8::1%eth0\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-eth0", "DEVICE=eth0\nBOOTPROTO=dhcp\nIPV6_AUTOCONF=no\nIPV6ADDR=2001:db8::5/64\nIPV6ADDR_SECONDARIES=\"2001:db8::6 2001:db8::7/80\"\nDNS1=10.0.0.2\nDNS2=2001:db8::53\nDOMAIN=\"a.example b.example\"\nMTU=9000\n"),
        ("/etc/sysconfig/network-scripts/route-eth0", "# static\n10.9.0.0/16 via 10.0.0.3 dev eth0 metric 5\ndefault via 10.0.0.1\nbogus line here\n"),
        ("/etc/sysconfig/network-scripts/route6-eth0", "2001:db8:9::/48 via 2001:db8::9\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-eth2", "DEVICE=eth2\nIPADDR=10.8.0.1\nPREFIX=24\n"),
        ("/etc/sysconfig/network-scripts/route-eth2", "ADDRESS0=10.50.0.0\nNETMASK0=255.255.0.0\nGATEWAY0=10.8.0.9\nMETRIC0=7\nADDRESS1=bad\n"),
    ]);
    let i = &c.interfaces[0];
    assert!(i.dhcp4 && !i.dhcp6);
    assert_eq!(i.addresses, [a("2001:db8::5", 64), a("2001:db8::6", 64), a("2001:db8::7", 80)]);
    assert_eq!(i.gateways, [ip("2001:db8::1"), ip("10.0.0.1")]);
    assert_eq!(i.dns, [ip("10.0.0.2"), ip("2001:db8::53")]);
    assert_eq!(i.search, ["a.example", "b.example"]);
    assert_eq!(i.mtu, Some(9000));
    assert_eq!(i.routes.len(), 2);
    assert_eq!(i.routes[0].metric, Some(5));
    assert_eq!(i.files.len(), 3);
    let e2 = &c.interfaces[1];
    assert_eq!(e2.routes, [IfRoute { to: a("10.50.0.0", 16), via: Some(ip("10.8.0.9")), metric: Some(7) }]);
    assert_eq!(codes(&c).iter().filter(|c| **c == "bad_value").count(), 2, "{:#?}", c.warnings);
}

#[test]
fn skipped_and_refused() {
    let good = "IPADDR=10.0.0.1\nPREFIX=24\n";
    let c = rhel(&[
        ("/etc/sysconfig/network-scripts/ifcfg-eth0", good),
        ("/etc/sysconfig/network-scripts/ifcfg-eth0.bak", good),
        ("/etc/sysconfig/network-scripts/ifcfg-eth0.RPMNEW", good),
        ("/etc/sysconfig/network-scripts/ifcfg-eth0~", good),
        ("/etc/sysconfig/network-scripts/ifcfg-eth0;5f3a9b2c", good),
        ("/etc/sysconfig/network-scripts/ifcfg-eth0:1", good),
        ("/etc/sysconfig/network-scripts/ifcfg-lo", "DEVICE=lo\nIPADDR=127.0.0.1\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-", good),
        ("/etc/sysconfig/network-scripts/ifcfg-off", "ONBOOT=no\nIPADDR=10.0.0.2\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-x1", "IPADDR=$(rm -rf /)\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-x2", "IPADDR=$HOME\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-x3", "BOOTPROTO=magic\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-x4", "IPADDR=10.0.0.1\nPREFIX=40\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-x5", "IPADDR=10.0.0.1\nGATEWAY=x\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-x6", "IPADDR=10.0.0.1\nDNS1=nope\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-x7", "HWADDR=zz\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-x8", "IPADDR=\"10.0.0.1\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-x9", "IPV6INIT=yes\nIPV6ADDR=zz\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-xa", "TYPE=Vlan\nDEVICE=vlan\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-xb", "MACADDR=zz\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-xc", "IPV6INIT=yes\nIPV6ADDR=::5/200\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-xd", "IPV6INIT=yes\nIPV6ADDR=::5\nIPV6_DEFAULTGW=zz\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-xe", "NM_CONTROLLED=no\nMTU=big\n"),
    ]);
    let names: Vec<&str> = c.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["eth0", "x1", "x8", "xe"], "{:#?}", c.warnings);
    let cs = codes(&c);
    assert_eq!(cs.iter().filter(|c| **c == "skipped_file").count(), 6, "{:#?}", c.warnings);
    assert_eq!(cs.iter().filter(|c| **c == "bad_file").count(), 11, "{:#?}", c.warnings);
    for code in ["not_onboot", "nm_unmanaged", "bad_value"] {
        assert!(cs.contains(&code), "{code}");
    }
    // $(rm -rf /) is unreadable, hence unset: no address, IPv4 disabled.
    assert!(c.interfaces[1].addresses.is_empty() && !c.interfaces[1].dhcp4);
}

#[test]
fn vlans_bonds_bridges() {
    let c = rhel(&[
        ("/etc/sysconfig/network-scripts/ifcfg-bond0", "DEVICE=bond0\nTYPE=Bond\nBONDING_MASTER=yes\nBONDING_OPTS=\"mode=active-backup\"\nIPADDR=10.0.0.5\nPREFIX=24\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-ens3", "DEVICE=ens3\nMASTER=bond0\nSLAVE=yes\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-ens4", "DEVICE=ens4\nMASTER=bond0\nSLAVE=yes\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-br0", "DEVICE=br0\nTYPE=Bridge\nBOOTPROTO=dhcp\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-ens5", "DEVICE=ens5\nBRIDGE=br0\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-bond0.20", "DEVICE=bond0.20\nVLAN=yes\nBOOTPROTO=dhcp\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-v30", "DEVICE=v30\nTYPE=Vlan\nPHYSDEV=ens3\nVLAN_ID=30\n"),
    ]);
    let by = |n: &str| c.interfaces.iter().find(|i| i.name == n).unwrap();
    assert_eq!(by("bond0").kind, InterfaceKind::Bond { members: vec!["ens3".into(), "ens4".into()] });
    assert_eq!(by("br0").kind, InterfaceKind::Bridge { members: vec!["ens5".into()] });
    assert_eq!(by("bond0.20").kind, InterfaceKind::Vlan { id: 20, link: "bond0".into() });
    assert_eq!(by("v30").kind, InterfaceKind::Vlan { id: 30, link: "ens3".into() });
    assert!(by("ens3").addresses.is_empty());
}

#[test]
fn suse() {
    let mut f = MemFiles::new();
    f.file("/etc/sysconfig/network/ifcfg-eth0", "BOOTPROTO='static'\nSTARTMODE='auto'\nIPADDR='192.168.100.5/24'\nIPADDR_2='192.168.101.5'\nNETMASK_2='255.255.255.0'\nIPADDR_v6='2001:db8::5'\nPREFIXLEN_v6='64'\nIPADDR_x='10.1.1.1'\nLLADDR='02:00:00:00:00:05'\nMTU='1400'\n");
    f.file("/etc/sysconfig/network/ifcfg-eth1", "BOOTPROTO='dhcp'\nSTARTMODE='hotplug'\n");
    f.file("/etc/sysconfig/network/ifcfg-eth2", "BOOTPROTO='static'\nSTARTMODE='manual'\nIPADDR='10.0.0.1/8'\n");
    f.file("/etc/sysconfig/network/ifcfg-eth0.bak", "IPADDR='1.1.1.1/8'\n");
    f.file("/etc/sysconfig/network/ifcfg-lo", "IPADDR='127.0.0.1/8'\n");
    f.file(
        "/etc/sysconfig/network/ifcfg-vlan10",
        "STARTMODE=auto\nETHERDEVICE=eth0\nVLAN_ID=10\nIPADDR=10.10.0.1/24\n",
    );
    f.file(
        "/etc/sysconfig/network/ifcfg-bond0",
        "STARTMODE=auto\nBONDING_MASTER=yes\nBONDING_SLAVE_0=eth3\nBONDING_SLAVE_1=eth4\nBOOTPROTO=dhcp4\n",
    );
    f.file(
        "/etc/sysconfig/network/ifcfg-br0",
        "STARTMODE=auto\nBRIDGE=yes\nBRIDGE_PORTS='eth5 eth6'\nBOOTPROTO=dhcp6\nLLADDR=zz\nIPADDR=zz\n",
    );
    f.file("/etc/sysconfig/network/ifcfg-odd", "BOOTPROTO=weird\nVLAN_ID=x\nETHERDEVICE=eth0\n");
    f.file("/etc/sysconfig/network/routes", "# global\ndefault 192.168.100.1 - -\n10.20.0.0 192.168.101.1 255.255.0.0 -\n2001:db8:5::/48 2001:db8::1 - eth0\ndefault 172.16.0.1 - -\nbad x - -\n");
    f.file("/etc/sysconfig/network/ifroute-eth1", "default 10.99.0.1 - eth1\n");
    f.file("/etc/sysconfig/network/config", "NETCONFIG_DNS_STATIC_SERVERS=\"192.168.100.2 2001:db8::53 nope\"\nNETCONFIG_DNS_STATIC_SEARCHLIST=\"corp.example lab.example\"\n");
    let c = read_suse(&mut f, &Limits::default());
    let by = |n: &str| c.interfaces.iter().find(|i| i.name == n).unwrap_or_else(|| panic!("{n}"));
    let e0 = by("eth0");
    assert_eq!(e0.addresses, [a("192.168.100.5", 24), a("192.168.101.5", 24), a("2001:db8::5", 64), a("10.1.1.1", 32)]);
    assert_eq!(e0.gateways, [ip("192.168.100.1")]);
    assert_eq!(e0.routes.len(), 2);
    assert_eq!(e0.routes[0].to, a("10.20.0.0", 16));
    assert_eq!(e0.set_mac.as_deref(), Some("02:00:00:00:00:05"));
    assert_eq!(e0.mtu, Some(1400));
    assert!(by("eth1").dhcp4 && by("eth1").dhcp6);
    assert_eq!(by("eth1").gateways, [ip("10.99.0.1")]);
    assert!(c.interfaces.iter().all(|i| i.name != "eth2" && i.name != "lo"));
    assert_eq!(by("vlan10").kind, InterfaceKind::Vlan { id: 10, link: "eth0".into() });
    assert_eq!(by("bond0").kind, InterfaceKind::Bond { members: vec!["eth3".into(), "eth4".into()] });
    assert!(by("bond0").dhcp4 && !by("bond0").dhcp6);
    assert_eq!(by("br0").kind, InterfaceKind::Bridge { members: vec!["eth5".into(), "eth6".into()] });
    assert_eq!(c.dns, [ip("192.168.100.2"), ip("2001:db8::53")]);
    assert_eq!(c.search, ["corp.example", "lab.example"]);
    let cs = codes(&c);
    for code in ["not_onboot", "skipped_file", "default_prefix", "bad_value"] {
        assert!(cs.contains(&code), "{code}: {:#?}", c.warnings);
    }
}

#[test]
fn helpers() {
    assert_eq!(mask_prefix(Ipv4Addr::new(255, 0, 255, 0)), 24);
    assert_eq!(mask_prefix(Ipv4Addr::new(0, 0, 0, 0)), 0);
    assert_eq!(classful(Ipv4Addr::new(240, 0, 0, 1)), 24);
    assert!(same_subnet(&a("2001:db8::1", 64), ip("2001:db8::ff")));
    assert!(!same_subnet(&a("2001:db8::1", 64), ip("10.0.0.1")));
    assert!(same_subnet(&a("10.0.0.1", 0), ip("11.0.0.1")));
}

#[test]
fn less_common_rhel_settings() {
    let c = rhel(&[
        ("/etc/sysconfig/network", "GATEWAYDEV=eth0\nGATEWAY=10.0.0.1\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-eth0", "DEVICE=eth0\nIPADDR=10.0.0.5\nPREFIX=24\nMTU=0\nIPV6INIT=yes\nIPV6_DISABLED=yes\nIPV6ADDR=2001:db8::1\nDNS1=2001:db8::53\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-eth1", "DEVICE=eth1\nIPADDR=10.1.0.5\nPREFIX=24\nIPV6INIT=yes\nIPV6_AUTOCONF=no\nDHCPV6C=yes\nIPV6ADDR=2001:db8:1::5\nIPV6_DEFAULTGW=2001:db8:1::1\nIPV6_DEFROUTE=no\n"),
        ("/etc/sysconfig/network-scripts/ifcfg-eth2", "DEVICE=eth2\nBOOTPROTO=none\nDNS1=10.0.0.2\nIPV6INIT=yes\nIPV6_AUTOCONF=shared\n"),
        ("/etc/sysconfig/network-scripts/route-eth1", "10.5.0.0/16 via 10.1.0.1 metric x\n10.6.0.0/16 via nowhere\n10.7.0.0/16 dev eth1 proto static\n"),
    ]);
    let by = |n: &str| c.interfaces.iter().find(|i| i.name == n).unwrap();
    assert_eq!(by("eth0").gateways, [ip("10.0.0.1")]);
    assert_eq!(by("eth0").mtu, None);
    assert!(by("eth0").dns.is_empty() && !by("eth0").dhcp6);
    // GATEWAYDEV names eth0: eth1 gets no default route from the network file.
    assert!(by("eth1").gateways.is_empty());
    assert!(by("eth1").dhcp6);
    assert_eq!(by("eth1").routes.len(), 1);
    assert!(by("eth2").dns.is_empty());
    assert!(codes(&c).contains(&"never_default"));
}

#[test]
fn less_common_suse_settings() {
    let mut f = MemFiles::new();
    f.file("/etc/sysconfig/network/ifcfg-eth0", "IPADDR=10.0.0.5/24\n");
    f.file("/etc/sysconfig/network/ifroute-eth0.bak", "default 10.0.0.9 - eth0\n");
    f.file(
        "/etc/sysconfig/network/ifroute-eth0",
        "10.9.0.0/16 - - eth0\nzz 10.0.0.1 - eth0\n2001:db8::/32 - 64 eth0\n10.8.0.0 10.0.0.1 16 -\n\
         10.7.0.0/99 - - eth0\n10.6.0.0 10.0.0.1 40 -\n",
    );
    f.file("/etc/sysconfig/network/routes", "default - - -\n");
    f.file("/etc/sysconfig/network/ifcfg-", "");
    let c = read_suse(&mut f, &Limits::default());
    let i = &c.interfaces[0];
    assert_eq!(i.routes.len(), 3, "{:#?}", c.warnings);
    assert!(i.gateways.is_empty());
    assert_eq!(c.files.len(), 3);
    // Prefix lengths past the address's width are refused, not clamped.
    assert_eq!(c.warnings.iter().filter(|w| w.message.contains("is over 32")).count(), 2, "{:#?}", c.warnings);
}
