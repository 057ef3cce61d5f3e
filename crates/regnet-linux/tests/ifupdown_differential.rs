//! Differential test against ifupdown's own parser: `ifquery` from Debian's `ifupdown` package
//! (found on the PATH or in /sbin, else unpacked with `apt-get download ifupdown` + `dpkg -x`,
//! never installed). Each case is a small guest tree written under a temporary folder with its
//! `/etc/network` paths pointing into that folder (never the host's `/etc`); for every interface
//! ifupdown brings up at boot (`ifquery --list` and `--list --allow=hotplug`), the addresses,
//! prefixes, gateways and DNS servers ifquery prints must be what regnet reads from the same tree.
//! Without ifquery the test prints why and passes.

use regnet_linux::{ifupdown, Limits, MemFiles};
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

fn ifquery() -> Result<PathBuf, String> {
    for p in ["/sbin/ifquery", "/usr/sbin/ifquery"] {
        if Path::new(p).exists() {
            return Ok(PathBuf::from(p));
        }
    }
    let dir = std::env::temp_dir().join("regnet-ifupdown-pkg");
    let bin = dir.join("root/sbin/ifquery");
    if bin.exists() {
        return Ok(bin);
    }
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let out = Command::new("apt-get")
        .args(["download", "ifupdown"])
        .current_dir(&dir)
        .output()
        .map_err(|e| format!("apt-get: {e}"))?;
    if !out.status.success() {
        return Err(format!("apt-get download ifupdown failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let deb = std::fs::read_dir(&dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or("no .deb downloaded")?;
    let st =
        Command::new("dpkg").arg("-x").arg(&deb).arg(dir.join("root")).status().map_err(|e| format!("dpkg: {e}"))?;
    if !st.success() || !bin.exists() {
        return Err("dpkg -x did not give sbin/ifquery".into());
    }
    Ok(bin)
}

/// What ifquery or regnet says of one interface: addresses with prefixes, gateways, DNS.
#[derive(Debug, PartialEq, Eq)]
struct View {
    addresses: BTreeSet<(IpAddr, u8)>,
    gateways: BTreeSet<IpAddr>,
    dns: Vec<IpAddr>,
}

fn mask_bits(m: &str) -> u8 {
    if let Ok(n) = m.parse::<u8>() {
        return n;
    }
    let ip: std::net::Ipv4Addr = m.parse().unwrap();
    u32::from(ip).leading_ones() as u8
}

fn query(bin: &Path, file: &Path, state: &Path, args: &[&str]) -> String {
    let out = Command::new(bin).arg("-i").arg(file).arg("--state-dir").arg(state).args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn parse_view(text: &str) -> View {
    let mut v = View { addresses: BTreeSet::new(), gateways: BTreeSet::new(), dns: Vec::new() };
    let mut pending: Option<IpAddr> = None;
    let flush = |p: &mut Option<IpAddr>, bits: Option<u8>, v: &mut View| {
        if let Some(a) = p.take() {
            v.addresses.insert((a, bits.unwrap_or(if a.is_ipv4() { 32 } else { 128 })));
        }
    };
    for line in text.lines() {
        let Some((k, val)) = line.split_once(": ") else { continue };
        match k {
            "address" => {
                flush(&mut pending, None, &mut v);
                let (a, p) = match val.split_once('/') {
                    Some((a, p)) => (a, Some(p.parse::<u8>().unwrap())),
                    None => (val, None),
                };
                let ip: IpAddr = a.parse().unwrap();
                match p {
                    Some(p) => {
                        v.addresses.insert((ip, p));
                    }
                    None => pending = Some(ip),
                }
            }
            "netmask" => flush(&mut pending, Some(mask_bits(val)), &mut v),
            "gateway" => {
                v.gateways.insert(val.parse().unwrap());
            }
            "dns-nameservers" => v.dns.extend(val.split_whitespace().map(|d| d.parse::<IpAddr>().unwrap())),
            _ => {}
        }
    }
    flush(&mut pending, None, &mut v);
    v
}

fn cases() -> Vec<(&'static str, Vec<(String, String)>)> {
    let tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/linux/trees/debian-12/etc/network");
    let mut debian = Vec::new();
    for p in ["interfaces", "interfaces.d/eth1", "interfaces.d/eth2.disabled"] {
        debian.push((format!("/etc/network/{p}"), std::fs::read_to_string(tree.join(p)).unwrap()));
    }
    let s = |p: &str, t: &str| (p.to_owned(), t.to_owned());
    vec![
        ("debian-12 fixture", debian),
        (
            "cloud image + cloud-init",
            vec![
                s("/etc/network/interfaces", "auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\nsource-directory /etc/network/interfaces.d\n"),
                s(
                    "/etc/network/interfaces.d/50-cloud-init.cfg",
                    "auto lo\niface lo inet loopback\n    dns-nameservers 10.0.0.2\n\nauto ens3\niface ens3 inet static\n    address 10.0.0.15/24\n    gateway 10.0.0.1\n    dns-nameservers 10.0.0.2 10.0.0.3\n    dns-search example.org\n\n# control-alias ens3\niface ens3 inet6 static\n    address 2001:db8::15/64\n    gateway 2001:db8::1\n\nauto ens4\niface ens4 inet dhcp\n",
                ),
                s("/etc/network/interfaces.d/ens5", "allow-hotplug ens5\niface ens5 inet static\n  address 192.168.5.5\n  netmask 255.255.252.0\n  address 192.168.5.6\n  gateway 192.168.4.1\n"),
                s("/etc/network/interfaces.d/ens6.cfg-bak", "auto ens6\niface ens6 inet static\n  address 192.168.6.6/24\n"),
            ],
        ),
        (
            "a misplaced option: ifupdown refuses the file",
            vec![s("/etc/network/interfaces", "mtu 1500\nauto eth0\niface eth0 inet dhcp\n")],
        ),
        (
            "an unknown method in an included file: that file stops there",
            vec![
                s("/etc/network/interfaces", "auto eth0\niface eth0 inet dhcp\nsource /etc/network/x\n"),
                s("/etc/network/x", "auto eth1 eth2\niface eth1 inet dhcp\niface eth2 inet6 slaac\n"),
            ],
        ),
        (
            "relative sources, continuation, netmask bits, not brought up",
            vec![
                s(
                    "/etc/network/interfaces",
                    "source more/*.conf\nauto eth0\niface eth0 inet static\n  address \\\n 10.9.0.5\n  netmask 20\n  dns-nameservers 10.9.0.1 \\\n   10.9.0.2\n  gateway 10.9.0.1\niface eth9 inet static\n  address 10.99.0.9/24\n",
                ),
                s("/etc/network/more/a.conf", "auto eth1\niface eth1 inet6 static\n  address fd00::1\n  netmask 48\n  gateway fd00::ffff\n"),
                s("/etc/network/more/b.conf", "allow-auto eth2\niface eth2 inet manual\n"),
            ],
        ),
    ]
}

#[test]
fn ifquery_agrees() {
    let bin = match ifquery() {
        Ok(b) => b,
        Err(why) => {
            println!("skipped: ifupdown's ifquery is not available ({why})");
            return;
        }
    };
    let base = std::env::temp_dir().join(format!("regnet-ifquery-{}", std::process::id()));
    for (name, files) in cases() {
        let root = base.join(name.replace([' ', ',', '+'], "_"));
        let state = root.join("state");
        std::fs::create_dir_all(&state).unwrap();
        let mut mem = MemFiles::new();
        for (p, text) in &files {
            mem.file(p, text);
            let host = root.join(p.trim_start_matches('/'));
            std::fs::create_dir_all(host.parent().unwrap()).unwrap();
            let rewritten = text.replace("/etc/network", &root.join("etc/network").to_string_lossy());
            std::fs::write(&host, rewritten).unwrap();
        }
        let main = root.join("etc/network/interfaces");
        let cfg = ifupdown::read(&mut mem, &Limits::default());
        let mut up: BTreeSet<String> = BTreeSet::new();
        for args in [&["--list"][..], &["--list", "--allow=hotplug"][..]] {
            up.extend(query(&bin, &main, &state, args).lines().map(str::to_owned).filter(|n| n != "lo"));
        }
        let ours: BTreeSet<String> = cfg.interfaces.iter().map(|i| i.name.clone()).collect();
        assert_eq!(ours, up, "{name}: interfaces brought up at boot");
        for i in &cfg.interfaces {
            let theirs = parse_view(&query(&bin, &main, &state, &[&i.name]));
            let mine = View {
                addresses: i.addresses.iter().map(|a| (a.address, a.prefix_len)).collect(),
                gateways: i.gateways.iter().copied().collect(),
                dns: i.dns.clone(),
            };
            assert_eq!(mine, theirs, "{name}: {}", i.name);
        }
        println!("{name}: {} interfaces agree with ifquery", cfg.interfaces.len());
    }
    let _ = std::fs::remove_dir_all(&base);
}
