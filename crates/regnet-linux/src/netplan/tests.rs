use super::*;
use crate::{FilesError, MemFiles};

fn v4(s: &str, len: u8) -> IfAddress {
    IfAddress::new(s.parse().unwrap(), len)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn run(files: &[(&str, &str)]) -> (StackConfig, Option<String>) {
    let mut m = MemFiles::new();
    for (p, t) in files {
        m.file(p, t);
    }
    read(&mut m, &Limits::default())
}

fn codes(c: &StackConfig) -> Vec<&str> {
    c.warnings.iter().map(|w| w.code.as_str()).collect()
}

const INSTALLER: &str = "# This is the network config written by 'subiquity'
network:
  ethernets:
    ens33:
      addresses:
      - 10.60.1.17/24
      gateway4: 10.60.1.1
      nameservers:
        addresses:
        - 10.60.1.2
        - 10.60.1.3
        search:
        - db.example.org
  version: 2
";

const CLOUD_INIT: &str = "# This file is generated from information provided by the datasource.  Changes
# to it will not persist across an instance reboot.
network:
    ethernets:
        eth0:
            dhcp4: true
            dhcp6: false
            match:
                macaddress: 52:54:00:3c:7a:01
            set-name: eth0
        ens4:
            addresses:
            - 172.16.5.30/24
            - 2001:db8::30/64
            - 172.16.5.31/24:
                label: ens4:vip
            match:
                macaddress: fa:16:3e:00:00:02
            nameservers:
                addresses:
                - 2001:db8::53
                - 172.16.5.2
                search:
                - app.example.net
            routes:
            -   to: default
                via: 172.16.5.1
            -   to: 10.99.0.0/16
                via: 172.16.5.254
                metric: 100
            -   to: ::/0
                via: 2001:db8::1
            set-name: ens4
            mtu: 9000
    version: 2
";

#[test]
fn installer_file_with_gateway4() {
    let (c, r) = run(&[("/etc/netplan/00-installer-config.yaml", INSTALLER)]);
    assert_eq!(r, None);
    assert_eq!(c.files, ["/etc/netplan/00-installer-config.yaml"]);
    let [i] = &c.interfaces[..] else { panic!("{c:?}") };
    assert_eq!(i.name, "ens33");
    assert_eq!(i.addresses, [v4("10.60.1.17", 24)]);
    assert_eq!(i.gateways, [ip("10.60.1.1")]);
    assert_eq!(i.dns, [ip("10.60.1.2"), ip("10.60.1.3")]);
    assert_eq!(i.search, ["db.example.org"]);
    assert!(!i.dhcp4 && i.mac.is_none());
    assert_eq!(i.stack, Some(Stack::Netplan));
    assert_eq!(i.files, ["/etc/netplan/00-installer-config.yaml"]);
    assert_eq!(codes(&c), ["deprecated"]);
}

#[test]
fn cloud_init_file_with_match_set_name_routes_and_address_options() {
    let (c, _) = run(&[("/etc/netplan/50-cloud-init.yaml", CLOUD_INIT)]);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let [e0, e1] = &c.interfaces[..] else { panic!("{c:?}") };
    assert_eq!(
        (e0.name.as_str(), e0.mac.as_deref(), e0.dhcp4, e0.dhcp6),
        ("eth0", Some("52:54:00:3C:7A:01"), true, false)
    );
    assert_eq!(e1.name, "ens4");
    assert_eq!(e1.mac.as_deref(), Some("FA:16:3E:00:00:02"));
    // networkd gets plain IPv4, then plain IPv6, then addresses with options.
    assert_eq!(e1.addresses, [v4("172.16.5.30", 24), v4("2001:db8::30", 64), v4("172.16.5.31", 24)]);
    assert_eq!(e1.gateways, [ip("172.16.5.1"), ip("2001:db8::1")]);
    assert_eq!(e1.routes, [IfRoute { to: v4("10.99.0.0", 16), via: Some(ip("172.16.5.254")), metric: Some(100) }]);
    assert_eq!(e1.dns, [ip("172.16.5.2"), ip("2001:db8::53")]);
    assert_eq!(e1.mtu, Some(9000));
}

#[test]
fn run_hides_etc_hides_lib_and_later_names_merge() {
    let (c, r) = run(&[
        ("/lib/netplan/00-installer-config.yaml", "network: {version: 2, ethernets: {lib: {dhcp4: yes}}}"),
        ("/etc/netplan/00-installer-config.yaml", INSTALLER),
        ("/run/netplan/00-installer-config.yaml", "network:\n  renderer: NetworkManager\n  ethernets:\n    ens33: {dhcp4: on}\n"),
        ("/lib/netplan/90-late.yaml", "network:\n  ethernets:\n    ens33:\n      addresses: [10.0.0.9/8]\n      dhcp4: off\n"),
        ("/etc/netplan/50-mid.yaml", "network:\n  renderer: networkd\n  ethernets:\n    ens33:\n      addresses: ['10.0.0.8/8', 10.0.0.9/8]\n      nameservers: {addresses: [1.1.1.1], search: [a.example]}\n"),
        ("/etc/netplan/README", "not yaml: ["),
        ("/etc/netplan/.hidden.yaml", "not yaml: ["),
    ]);
    assert_eq!(
        c.files,
        ["/run/netplan/00-installer-config.yaml", "/etc/netplan/50-mid.yaml", "/lib/netplan/90-late.yaml"]
    );
    assert_eq!(r.as_deref(), Some("networkd"));
    let [i] = &c.interfaces[..] else { panic!("{c:?}") };
    assert_eq!(i.name, "ens33");
    assert!(!i.dhcp4, "the last file's `off` wins");
    assert_eq!(i.addresses, [v4("10.0.0.8", 8), v4("10.0.0.9", 8)]);
    assert_eq!(i.dns, [ip("1.1.1.1")]);
    assert_eq!(i.files, c.files);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn a_later_file_appends_and_overwrites_like_the_ubuntu_fixture() {
    let (c, _) = run(&[
        ("/etc/netplan/01-netcfg.yaml", "network:\n  version: 2\n  ethernets:\n    ens160:\n      dhcp4: yes\n      addresses: [10.20.30.41/24]\n      nameservers:\n        addresses: [10.20.30.3]\n"),
        ("/etc/netplan/50-cloud-init.yaml", "network:\n  version: 2\n  ethernets:\n    ens160:\n      dhcp4: false\n      addresses: [10.20.30.40/24]\n      nameservers:\n        addresses: [10.20.30.2]\n        search: [corp.example.com]\n      routes:\n      - to: default\n        via: 10.20.30.1\n"),
    ]);
    let [i] = &c.interfaces[..] else { panic!() };
    assert!(!i.dhcp4);
    assert_eq!(i.addresses, [v4("10.20.30.41", 24), v4("10.20.30.40", 24)]);
    assert_eq!(i.dns, [ip("10.20.30.3"), ip("10.20.30.2")]);
    assert_eq!(i.gateways, [ip("10.20.30.1")]);
    assert_eq!(i.files.len(), 2);
}

#[test]
fn yaml_1_1_booleans_as_netplan_reads_them() {
    for (t, v) in [
        ("yes", true),
        ("Yes", true),
        ("YES", true),
        ("on", true),
        ("ON", true),
        ("true", true),
        ("True", true),
        ("y", true),
        ("Y", true),
        ("no", false),
        ("No", false),
        ("off", false),
        ("Off", false),
        ("false", false),
        ("FALSE", false),
        ("n", false),
        ("'yes'", true),
    ] {
        let (c, _) = run(&[(
            "/etc/netplan/a.yaml",
            &format!("network:\n  ethernets:\n    e:\n      dhcp4: {t}\n      dhcp6: {t}\n"),
        )]);
        assert_eq!((c.interfaces[0].dhcp4, c.interfaces[0].dhcp6), (v, v), "{t}");
    }
    let (c, _) = run(&[("/etc/netplan/a.yaml", "network:\n  ethernets:\n    e:\n      dhcp4: 1\n")]);
    assert!(!c.interfaces[0].dhcp4);
    assert_eq!(codes(&c), ["bad_value"]);
}

#[test]
fn names_follow_set_name_then_id_then_match_name() {
    let (c, _) = run(&[(
        "/etc/netplan/a.yaml",
        "network:
  ethernets:
    lan: {match: {macaddress: '00:50:56:9a:3c:1f'}, set-name: lan0, macaddress: 02:00:00:00:00:01}
    plain: {dhcp4: true}
    byname: {match: {name: ens192}}
    byglob: {match: {name: 'en*'}}
    bydriver: {match: {driver: vmxnet3}}
",
    )]);
    let names: Vec<&str> = c.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["lan0", "plain", "ens192", "byglob", "bydriver"]);
    assert_eq!(c.interfaces[0].mac.as_deref(), Some("00:50:56:9A:3C:1F"));
    assert_eq!(c.interfaces[0].set_mac.as_deref(), Some("02:00:00:00:00:01"));
    assert_eq!(codes(&c), ["matched_name", "matched_name"]);
    assert!(c.warnings[0].message.contains("byglob") && c.warnings[1].message.contains("bydriver"));
}

#[test]
fn vlans_bonds_and_bridges_with_their_members() {
    let (c, r) = run(&[(
        "/etc/netplan/10-bond.yaml",
        "network:
  version: 2
  renderer: networkd
  ethernets:
    nic1: {match: {macaddress: '00:50:56:00:00:01'}, set-name: eth1}
    nic2: {}
  bonds:
    bond0:
      interfaces: [nic1, nic2]
      parameters: {mode: active-backup}
  vlans:
    vlan10:
      id: 10
      link: bond0
      addresses: [192.168.10.5/24]
  bridges:
    br0:
      interfaces: [vlan10, ghost]
      dhcp4: yes
    br1: ~
",
    )]);
    assert_eq!(r.as_deref(), Some("networkd"));
    let by = |n: &str| c.interfaces.iter().find(|i| i.name == n).unwrap().clone();
    assert_eq!(by("bond0").kind, InterfaceKind::Bond { members: vec!["eth1".into(), "nic2".into()] });
    assert_eq!(by("vlan10").kind, InterfaceKind::Vlan { id: 10, link: "bond0".into() });
    assert_eq!(by("vlan10").addresses, [v4("192.168.10.5", 24)]);
    assert_eq!(by("br0").kind, InterfaceKind::Bridge { members: vec!["vlan10".into(), "ghost".into()] });
    assert!(by("br0").dhcp4);
    assert!(c.interfaces.iter().all(|i| i.name != "br1"));
    assert_eq!(codes(&c), ["bad_value", "bad_value"]);
    assert!(c.warnings[0].message.contains("br1") && c.warnings[1].message.contains("ghost"));
}

#[test]
fn wrong_types_and_values_are_warnings() {
    let (c, _) = run(&[(
        "/etc/netplan/a.yaml",
        "network:
  version: 3
  renderer: systemd
  wifis: {w: {}}
  ethernets:
    a: just a string
    b:
      addresses: 10.0.0.1/24
      nameservers: [1.1.1.1]
      routes: {to: default}
      match: [x]
      mtu: big
      dhcp4: maybe
      macaddress: 00:11
      gateway4: 2001:db8::1
      gateway6: nope
    c:
      addresses: [10.0.0.1, 10.0.0.2/33, 10.0.0.0/0, not/24, [x], {}, {10.0.0.7/24: {label: x}}]
      match: {macaddress: zz:zz, name: [x]}
      set-name: {}
      nameservers: {addresses: [x, [y]], search: [[z]]}
      routes: [x, {via: 10.0.0.1}, {to: 10.1.0.0/16, via: 2001:db8::1}, {to: 10.2.0.0/16, metric: x}, {to: 10.4.0.0/16}, {to: bad, via: 10.0.0.1}, {to: default, via: 2001:db8::1}, {to: 10.3.0.0/16, via: bad}]
      macaddress: permanent
  vlans:
    v: {id: 5000, interfaces: [a]}
    w: {link: c}
  bonds:
    c: {}
    [k]: {}
  bridges: [x]
other: ignored
",
    )]);
    assert!(c.warnings.len() > 25, "{:#?}", c.warnings);
    assert!(c.warnings.iter().all(|w| w.file.as_deref() == Some("/etc/netplan/a.yaml")));
    let by = |n: &str| c.interfaces.iter().find(|i| i.name == n).unwrap().clone();
    assert_eq!(by("c").addresses, [v4("10.0.0.7", 24)]);
    assert_eq!(by("c").gateways, [ip("2001:db8::1")]);
    assert_eq!(by("c").routes, [IfRoute { to: v4("10.4.0.0", 16), via: None, metric: None }]);
    assert!(by("b").gateways.is_empty());
    assert_eq!(by("v").kind, InterfaceKind::Vlan { id: 0, link: String::new() });
    assert_eq!(by("w").kind, InterfaceKind::Vlan { id: 0, link: "c".into() });
    for code in ["bad_value", "unsupported", "deprecated"] {
        assert!(codes(&c).contains(&code), "{code}");
    }
    for (doc, what) in [
        ("[1, 2]", "a sequence, not a mapping"),
        ("network: x", "where a mapping is expected"),
        ("network: {ethernets: x}", "where a mapping is expected"),
        ("network: {ethernets: {[x]: {}}}", "not a scalar"),
    ] {
        let (c, _) = run(&[("/etc/netplan/a.yaml", doc)]);
        assert!(c.warnings.iter().any(|w| w.message.contains(what)), "{doc}: {:?}", c.warnings);
    }
    // netplan refuses empty values where it expects mappings
    let (c, _) = run(&[
        ("/etc/netplan/a.yaml", "network:\n  ethernets: ~\n"),
        ("/etc/netplan/b.yaml", "network:\n"),
        ("/etc/netplan/c.yaml", "network: {bonds: {b: }}\n"),
    ]);
    assert!(c.interfaces.is_empty());
    assert_eq!(codes(&c), ["bad_value", "bad_value", "bad_value"]);
}

#[test]
fn a_definition_may_not_change_type() {
    let (c, _) = run(&[
        ("/etc/netplan/a.yaml", "network: {ethernets: {x: {dhcp4: yes}}}"),
        ("/etc/netplan/b.yaml", "network: {bonds: {x: {dhcp4: no}}}"),
    ]);
    assert_eq!(c.interfaces.len(), 1);
    assert!(c.interfaces[0].dhcp4 && c.interfaces[0].kind == InterfaceKind::Ethernet);
    assert!(c.warnings[0].message.contains("changes the device type"));
}

#[test]
fn hostile_files_are_warnings_and_the_others_still_apply() {
    let good = ("/etc/netplan/99-good.yaml", "network: {ethernets: {ok: {dhcp4: true}}}");
    let mut bomb = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..30 {
        let p = i - 1;
        bomb.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
    }
    bomb.push_str("network: {ethernets: {x: {addresses: *a29}}}\n");
    let deep = format!("network: {}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_map: String = (0..10_000).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect();
    let anchors = "a: &a x\nb: &b [*a, *a]\nc: &c {search: *b}\nnetwork: {ethernets: {e: {nameservers: *c}}}\n";
    let mut m = MemFiles::new();
    m.file("/etc/netplan/01-bomb.yaml", &bomb)
        .file("/etc/netplan/02-deep.yaml", &deep)
        .file("/etc/netplan/03-deep-map.yaml", &deep_map)
        .file("/etc/netplan/04-latin1.yaml", b"network: {ethernets: {caf\xe9: {}}}\n")
        .file("/etc/netplan/05-tabs.yaml", "network:\n\tethernets: {}\n")
        .file(
            "/etc/netplan/06-dup.yaml",
            "network:\n  ethernets:\n    d: {dhcp4: yes}\n    d: {dhcp4: no, addresses: [10.0.0.1/8]}\n",
        )
        .file("/etc/netplan/07-anchors.yaml", anchors)
        .file("/etc/netplan/08-huge.yaml", vec![b'#'; 2 << 20])
        .file("/etc/netplan/09-unclosed.yaml", "network: {ethernets: {x: [")
        .file("/etc/netplan/10-empty.yaml", "")
        .file("/etc/netplan/11-bom.yaml", "\u{feff}network: {ethernets: {bom: {}}}\n")
        .dir("/etc/netplan/12-dir.yaml")
        .link("/etc/netplan/13-dangling.yaml", "/run/nowhere.yaml")
        .file(good.0, good.1);
    let (c, _) = read(&mut m, &Limits::default());
    let bad: Vec<&str> = c.warnings.iter().filter(|w| w.code == "bad_file").filter_map(|w| w.file.as_deref()).collect();
    assert_eq!(
        bad,
        [
            "/etc/netplan/01-bomb.yaml",
            "/etc/netplan/02-deep.yaml",
            "/etc/netplan/03-deep-map.yaml",
            "/etc/netplan/04-latin1.yaml",
            "/etc/netplan/05-tabs.yaml",
            "/etc/netplan/08-huge.yaml",
            "/etc/netplan/09-unclosed.yaml",
        ],
        "{:#?}",
        c.warnings
    );
    let names: Vec<&str> = c.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["d", "e", "bom", "ok"]);
    assert!(!c.interfaces[0].dhcp4);
    assert_eq!(c.interfaces[0].addresses, [v4("10.0.0.1", 8)]);
    assert_eq!(c.interfaces[1].search, ["x"]);
}

#[test]
fn a_hundred_thousand_interfaces_are_bounded() {
    let mut text = String::from("network:\n  ethernets:\n");
    for i in 0..100_000 {
        text.push_str(&format!("    e{i}: {{addresses: [10.{}.{}.1/24]}}\n", i / 256 % 256, i % 256));
    }
    let start = std::time::Instant::now();
    let mut m = MemFiles::new();
    m.file("/etc/netplan/a.yaml", &text);
    let (c, _) = read(&mut m, &Limits { max_file_bytes: 64 << 20, ..Limits::default() });
    assert!(start.elapsed().as_secs() < 30);
    assert_eq!(c.interfaces.len(), Limits::default().max_interfaces);
    assert_eq!(codes(&c), ["too_many"]);
    // and one interface with a million addresses stops at the item budget
    let mut text = String::from("network:\n  ethernets:\n    e:\n      addresses:\n");
    for i in 0..200_000u32 {
        text.push_str(&format!("      - 10.{}.{}.{}/8\n", i >> 16, (i >> 8) & 255, i & 255));
    }
    let mut m = MemFiles::new();
    m.file("/etc/netplan/a.yaml", &text);
    let limits = Limits { max_file_bytes: 64 << 20, max_nodes: 100_000, ..Limits::default() };
    let (c, _) = read(&mut m, &limits);
    assert_eq!(codes(&c), ["bad_file"]);
    let limits = Limits { max_file_bytes: 64 << 20, max_nodes: 300_000, ..Limits::default() };
    let mut m2 = MemFiles::new();
    m2.file("/etc/netplan/a.yaml", &text).file("/etc/netplan/b.yaml", &text);
    let (c, _) = read(&mut m2, &limits);
    assert_eq!(codes(&c), ["too_many"]);
    assert_eq!(c.interfaces[0].addresses.len(), 200_000);
}

#[test]
fn file_limits_and_unreadable_directories() {
    let mut m = MemFiles::new();
    for i in 0..5 {
        m.file(&format!("/etc/netplan/{i}.yaml"), format!("network: {{ethernets: {{e{i}: {{}}}}}}"));
    }
    m.file("/lib/netplan/0.yaml", "network: {}");
    let limits = Limits { max_files: 3, ..Limits::default() };
    let (c, _) = read(&mut m, &limits);
    assert_eq!(c.interfaces.len(), 3);
    assert_eq!(codes(&c), ["skipped_file"]);

    struct Broken;
    impl GuestFiles for Broken {
        fn read(&mut self, path: &str, _: u64) -> Result<Option<Vec<u8>>, FilesError> {
            Err(FilesError::Unreadable { path: path.into(), reason: "damaged".into() })
        }
        fn list(&mut self, dir: &str) -> Result<Option<Vec<(Vec<u8>, FileKind)>>, FilesError> {
            match dir {
                "/etc/netplan" => {
                    Ok(Some(vec![(b"a.yaml".to_vec(), FileKind::File), (b"\xff.yaml".to_vec(), FileKind::File)]))
                }
                "/run/netplan" => Err(FilesError::Unreadable { path: dir.into(), reason: "loop".into() }),
                _ => Ok(None),
            }
        }
        fn read_link(&mut self, _: &str) -> Result<Option<Vec<u8>>, FilesError> {
            Ok(None)
        }
        fn owner_mode(&mut self, _: &str) -> Result<Option<(u32, u32)>, FilesError> {
            Ok(None)
        }
    }
    let (c, _) = read(&mut Broken, &Limits::default());
    assert_eq!(codes(&c), ["skipped_file", "bad_file", "bad_file"]);
    assert!(c.interfaces.is_empty());
}

/// A guest tree from `testdata/linux/trees/NAME` (with its `.links`).
pub(crate) fn tree(name: &str) -> MemFiles {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/linux/trees").join(name);
    let mut m = MemFiles::new();
    let mut todo = vec![root.clone()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = format!("/{}", p.strip_prefix(&root).unwrap().to_string_lossy());
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                m.dir(&rel);
                todo.push(p);
            } else if meta.is_file() {
                m.file(&rel, std::fs::read(&p).unwrap());
            }
        }
    }
    if let Ok(links) = std::fs::read_to_string(root.with_extension("links")) {
        for l in links.lines() {
            if let Some((p, t)) = l.split_once(' ') {
                m.link(&format!("/{p}"), t);
            }
        }
    }
    m
}

#[test]
fn the_realistic_trees() {
    let limits = Limits::default();
    let (c, r) = read(&mut tree("ubuntu-24.04"), &limits);
    assert_eq!(r.as_deref(), Some("networkd"));
    assert_eq!(c.files, ["/etc/netplan/01-netcfg.yaml", "/etc/netplan/50-cloud-init.yaml"]);
    let [ens160, backup] = &c.interfaces[..] else { panic!("{c:?}") };
    assert_eq!(ens160.name, "ens160");
    assert!(!ens160.dhcp4);
    assert_eq!(ens160.addresses, [v4("10.20.30.41", 24), v4("10.20.30.40", 24)]);
    assert_eq!(ens160.gateways, [ip("10.20.30.1")]);
    assert_eq!(ens160.dns, [ip("10.20.30.3"), ip("10.20.30.2")]);
    assert_eq!(ens160.search, ["corp.example.com"]);
    assert_eq!((backup.name.as_str(), backup.mac.as_deref()), ("ens224", Some("00:50:56:8A:12:34")));
    assert_eq!(backup.gateways, [ip("192.168.50.1")]);

    let (c, r) = read(&mut tree("ubuntu-22.04"), &limits);
    assert_eq!(r, None);
    assert_eq!(c.interfaces[0].name, "ens33");
    assert_eq!(c.interfaces[0].gateways, [ip("10.60.1.1")]);

    // An address with options, as cloud-init writes it (`- 172.16.5.31/24: {label: …}`), after
    // the plain one.
    let (c, _) = read(&mut tree("ubuntu-22.04-cloud"), &limits);
    assert_eq!(c.interfaces.len(), 2);
    assert_eq!(c.interfaces[1].addresses, [v4("172.16.5.30", 24), v4("172.16.5.31", 24)]);
    assert!(!c.refused && !c.warnings.iter().any(|w| w.message.contains("missing /prefixlength")));
    // The form cloud-init never writes (`- address: …, label: …`) is refused by netplan whole.
    let mut bad = tree("ubuntu-22.04-cloud");
    bad.file(
        "/etc/netplan/60-bad.yaml",
        "network:\n  version: 2\n  ethernets:\n    eth1:\n      addresses:\n      - address: 172.16.5.32/24\n        label: x\n",
    );
    let (c, _) = read(&mut bad, &limits);
    assert!(c.refused && c.warnings.iter().any(|w| w.message.contains("missing /prefixlength")));

    for t in ["debian-12", "rocky-9", "alma-9-cloud", "debian-12-networkd", "fedora-41-cloud"] {
        let (c, r) = read(&mut tree(t), &limits);
        assert!(c.interfaces.is_empty() && c.files.is_empty() && r.is_none(), "{t}");
    }
}

#[test]
fn a_repeated_address_with_options_ends_its_list_as_in_netplan() {
    let (c, _) = run(&[
        ("/etc/netplan/a.yaml", "network: {ethernets: {e: {addresses: [{10.0.0.5/24: {label: x}}, 10.0.0.6/24]}}}"),
        ("/etc/netplan/b.yaml", "network: {ethernets: {e: {addresses: [{10.0.0.5/24: {label: x}}, 10.0.0.7/24]}}}"),
    ]);
    assert_eq!(c.interfaces[0].addresses, [v4("10.0.0.6", 24), v4("10.0.0.5", 24)]);
}
