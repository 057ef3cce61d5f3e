//! Hostile keyfiles and ifcfg files: each gives a result with warnings, the good files beside
//! them still read, in bounded time.

use regnet_linux::{ifcfg, keyfile, Limits, MemFiles, StackConfig};
use std::time::{Duration, Instant};

const ETC: &str = "/etc/NetworkManager/system-connections";
const RH: &str = "/etc/sysconfig/network-scripts";
const GOOD_KF: &str =
    "[connection]\ntype=ethernet\ninterface-name=good0\n[ipv4]\nmethod=manual\naddress1=10.0.0.5/24,10.0.0.1\n";
const GOOD_RH: &str = "DEVICE=good0\nIPADDR=10.0.0.5\nPREFIX=24\nGATEWAY=10.0.0.1\n";

fn timed<T>(f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let r = f();
    // Tests never assert timings (scripts/hostile-check.sh measures them); a slow case shows here.
    if t.elapsed() > Duration::from_secs(5) {
        eprintln!("slow hostile case: {:?}", t.elapsed());
    }
    r
}

fn good_still_read(c: &StackConfig) {
    assert!(
        c.interfaces.iter().any(|i| i.name == "good0" && i.addresses.len() == 1),
        "{:#?}",
        c.interfaces.iter().map(|i| &i.name).collect::<Vec<_>>()
    );
}

#[test]
fn non_utf8_in_every_field() {
    let fields =
        ["id", "uuid", "type", "interface-name", "autoconnect", "autoconnect-priority", "master", "slave-type"];
    let mut f = MemFiles::new();
    f.file_with(&format!("{ETC}/good.nmconnection"), GOOD_KF, 0, 0o600);
    for (n, k) in fields.iter().enumerate() {
        let text =
            [format!("[connection]\ntype=ethernet\ninterface-name=e{n}\n{k}=").into_bytes(), b"\xffx\n".to_vec()]
                .concat();
        f.file_with(&format!("{ETC}/c{n}.nmconnection"), text, 0, 0o600);
    }
    for (n, k) in ["mac-address", "cloned-mac-address", "mtu"].iter().enumerate() {
        f.file_with(
            &format!("{ETC}/e{n}.nmconnection"),
            [&b"[connection]\ntype=ethernet\n[ethernet]\n"[..], k.as_bytes(), b"=\xfe\xff\n"].concat(),
            0,
            0o600,
        );
    }
    for (n, k) in ["method", "address1", "addresses", "gateway", "dns", "dns-search", "route1", "never-default"]
        .iter()
        .enumerate()
    {
        f.file_with(
            &format!("{ETC}/i{n}.nmconnection"),
            [
                &b"[connection]\ntype=ethernet\n[ipv4]\n"[..],
                k.as_bytes(),
                b"=\xc3\x28\n[ipv6]\n",
                k.as_bytes(),
                b"=\xa0\xa1\n",
            ]
            .concat(),
            0,
            0o600,
        );
    }
    f.file_with(&format!("{ETC}/g.nmconnection"), b"[conn\xffection]\ntype=ethernet\n[\xfe]\nk\xff=v\n", 0, 0o600);
    let c = timed(|| keyfile::read(&mut f, &Limits::default()));
    good_still_read(&c);
    assert!(c.warnings.iter().filter(|w| w.code == "bad_value").count() >= 10, "{:#?}", c.warnings);

    let mut f = MemFiles::new();
    f.file(&format!("{RH}/ifcfg-good0"), GOOD_RH);
    for k in [
        "DEVICE",
        "BOOTPROTO",
        "IPADDR",
        "PREFIX",
        "NETMASK",
        "GATEWAY",
        "DNS1",
        "DOMAIN",
        "HWADDR",
        "MACADDR",
        "TYPE",
        "IPV6ADDR",
        "ONBOOT",
        "MASTER",
    ] {
        f.file(
            &format!("{RH}/ifcfg-{}", k.to_lowercase()),
            [k.as_bytes(), b"=\xff\xfe\n", k.as_bytes(), b"1='\xc3\x28'\n"].concat(),
        );
    }
    let c = timed(|| ifcfg::read_rhel(&mut f, &Limits::default()));
    good_still_read(&c);
    assert!(c.warnings.iter().filter(|w| w.code == "bad_value").count() >= 14);
}

#[test]
fn many_interfaces_are_bounded() {
    let mut f = MemFiles::new();
    for n in 0..100_000u32 {
        f.file_with(
            &format!("{ETC}/p{n:06}.nmconnection"),
            format!("[connection]\ntype=ethernet\ninterface-name=e{n}\n"),
            0,
            0o600,
        );
    }
    let c = timed(|| keyfile::read(&mut f, &Limits::default()));
    assert_eq!(c.interfaces.len(), Limits::default().max_interfaces);
    assert!(c.warnings.iter().any(|w| w.code == "too_many_files"));
    assert!(c.warnings.iter().any(|w| w.code == "too_many_interfaces"));

    let mut f = MemFiles::new();
    for n in 0..100_000u32 {
        f.file(&format!("{RH}/ifcfg-e{n:06}"), "BOOTPROTO=dhcp\n");
    }
    let c = timed(|| ifcfg::read_rhel(&mut f, &Limits::default()));
    assert!(c.interfaces.len() <= Limits::default().max_interfaces);
    assert!(c.warnings.iter().any(|w| w.code == "too_many_files" || w.code == "too_many_interfaces"));

    // One keyfile with 100,000 address keys, one ifcfg with 100,000 IPADDRn.
    let mut text = String::from("[connection]\ntype=ethernet\ninterface-name=big\n[ipv4]\nmethod=manual\n");
    let mut sh = String::from("DEVICE=big\n");
    for n in 0..100_000u32 {
        text.push_str(&format!("address{n}=10.{}.{}.{}/8\n", n >> 16, (n >> 8) & 255, n & 255));
        sh.push_str(&format!("IPADDR{n}=10.{}.{}.{}\nPREFIX{n}=8\n", n >> 16, (n >> 8) & 255, n & 255));
    }
    let mut lim = Limits::default();
    lim.max_file_bytes = 8 << 20;
    let mut f = MemFiles::new();
    f.file_with(&format!("{ETC}/big.nmconnection"), &text, 0, 0o600);
    f.file(&format!("{RH}/ifcfg-big"), &sh);
    let c = timed(|| keyfile::read(&mut f, &lim));
    assert_eq!(c.interfaces[0].addresses.len(), 100_000);
    let c = timed(|| ifcfg::read_rhel(&mut f, &lim));
    assert_eq!(c.interfaces[0].addresses.len(), 100_000);
}

#[test]
fn huge_lines_and_repeated_keys() {
    let mut lim = Limits::default();
    lim.max_file_bytes = 64 << 20;
    let mut f = MemFiles::new();
    f.file_with(&format!("{ETC}/good.nmconnection"), GOOD_KF, 0, 0o600);
    let mut huge = b"[connection]\ntype=ethernet\nid=".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 16 << 20));
    huge.extend_from_slice(b"\n[ipv4]\naddress1=");
    huge.extend(std::iter::repeat_n(b'1', 4 << 20));
    f.file_with(&format!("{ETC}/huge.nmconnection"), &huge, 0, 0o600);
    let repeated: String = std::iter::once("[connection]\ntype=ethernet\n[ipv4]\n".to_owned())
        .chain(std::iter::repeat_n("dns=1.1.1.1;2.2.2.2\n".to_owned(), 1_000_000))
        .collect();
    f.file_with(&format!("{ETC}/rep.nmconnection"), &repeated, 0, 0o600);
    let many_lines = "\n".repeat(2_000_000);
    f.file_with(&format!("{ETC}/lines.nmconnection"), &many_lines, 0, 0o600);
    let c = timed(|| keyfile::read(&mut f, &lim));
    good_still_read(&c);
    // 1,000,003 lines: over max_nodes, refused whole with a warning.
    assert!(c
        .warnings
        .iter()
        .any(|w| w.code == "bad_file" && w.file.as_deref().is_some_and(|f| f.ends_with("rep.nmconnection"))));
    assert!(c.warnings.iter().any(|w| w.file.as_deref().is_some_and(|f| f.ends_with("lines.nmconnection"))));
    // The default limit refuses the 20 MiB file before reading it.
    let c = timed(|| keyfile::read(&mut f, &Limits::default()));
    assert!(c
        .warnings
        .iter()
        .any(|w| w.code == "bad_file" && w.file.as_deref().is_some_and(|f| f.ends_with("huge.nmconnection"))));

    let mut f = MemFiles::new();
    f.file(&format!("{RH}/ifcfg-good0"), GOOD_RH);
    let mut huge = b"DEVICE=".to_vec();
    huge.extend(std::iter::repeat_n(b'"', 8 << 20));
    f.file(&format!("{RH}/ifcfg-huge"), &huge);
    let repeated: String = std::iter::repeat_n("IPADDR=10.0.0.9\nDNS1=10.0.0.2\n", 1_000_000).collect();
    f.file(&format!("{RH}/ifcfg-rep"), &repeated);
    let c = timed(|| ifcfg::read_rhel(&mut f, &lim));
    good_still_read(&c);
    assert!(c.warnings.iter().any(|w| w.file.as_deref().is_some_and(|f| f.ends_with("ifcfg-rep"))));
}

#[test]
fn shell_injection_and_unterminated_quotes() {
    let mut f = MemFiles::new();
    f.file(&format!("{RH}/ifcfg-good0"), GOOD_RH);
    f.file(&format!("{RH}/ifcfg-inj1"), "DEVICE=inj1\nIPADDR=$(rm -rf /)\n");
    f.file(&format!("{RH}/ifcfg-inj2"), "DEVICE=inj2\nIPADDR=`reboot`\n");
    f.file(&format!("{RH}/ifcfg-inj3"), "DEVICE=inj3\nIPADDR=\"$(touch /tmp/regnet-pwned)\"\n");
    f.file(&format!("{RH}/ifcfg-inj4"), "DEVICE=inj4\nIPADDR=10.0.0.1; rm -rf /\n");
    f.file(&format!("{RH}/ifcfg-q1"), "DEVICE=q1\nIPADDR='10.0.0.1\nPREFIX=24\n");
    f.file(&format!("{RH}/ifcfg-q2"), "DEVICE=\"q2\nBOOTPROTO=dhcp\n");
    f.file(&format!("{RH}/ifcfg-q3"), "DEVICE=q3\nIPADDR=$'10.0.0.1\n");
    f.file(&format!("{RH}/route-good0"), "10.0.0.0/8 via $(reboot)\n");
    let c = timed(|| ifcfg::read_rhel(&mut f, &Limits::default()));
    good_still_read(&c);
    assert!(!std::path::Path::new("/tmp/regnet-pwned").exists());
    assert!(c.warnings.len() >= 8, "{:#?}", c.warnings);
    for i in &c.interfaces {
        if i.name != "good0" {
            assert!(i.addresses.is_empty(), "{}", i.name);
        }
    }
    let mut f = MemFiles::new();
    f.file("/etc/sysconfig/network/ifcfg-eth0", "IPADDR='10.0.0.1/24\nSTARTMODE=auto\n");
    f.file("/etc/sysconfig/network/ifcfg-eth1", "IPADDR=$(reboot)\n");
    f.file("/etc/sysconfig/network/config", "NETCONFIG_DNS_STATIC_SERVERS=\"1.1.1.1\n");
    let c = timed(|| ifcfg::read_suse(&mut f, &Limits::default()));
    assert!(c.interfaces.iter().all(|i| i.addresses.is_empty()));
    assert!(c.dns.is_empty());
    assert!(c.warnings.len() >= 3);
}
