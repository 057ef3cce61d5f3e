//! The whole guest: which stack applies, what the others leave as warnings, and the host-wide facts.

use regnet_linux::{read, Limits, MemFiles, Stack};

fn wants(f: &mut MemFiles, unit: &str) {
    f.link(&format!("/etc/systemd/system/multi-user.target.wants/{unit}"), &format!("/usr/lib/systemd/system/{unit}"));
}

fn keyfile(f: &mut MemFiles) {
    f.file_with(
        "/etc/NetworkManager/system-connections/ens192.nmconnection",
        "[connection]\nid=ens192\ntype=ethernet\ninterface-name=ens192\n\n[ipv4]\nmethod=manual\naddress1=10.30.0.15/24,10.30.0.1\ndns=10.30.0.2;\n",
        0,
        0o600,
    );
}

fn ifupdown(f: &mut MemFiles) {
    f.file("/etc/network/interfaces", "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet static\n  address 10.1.0.25/24\n  gateway 10.1.0.1\n");
}

fn codes(net: &regnet_linux::LinuxNetwork) -> Vec<&str> {
    net.warnings.iter().map(|w| w.code.as_str()).collect()
}

#[test]
fn the_enabled_service_decides_and_the_others_warn() {
    let mut f = MemFiles::new();
    keyfile(&mut f);
    ifupdown(&mut f);
    wants(&mut f, "NetworkManager.service");
    let net = read(&mut f, &Limits::default());
    assert_eq!(net.stack, Some(Stack::NetworkManager));
    assert_eq!(net.interfaces.len(), 1);
    assert_eq!(net.interfaces[0].name, "ens192");
    assert_eq!(net.interfaces[0].gateways[0].to_string(), "10.30.0.1");
    assert!(codes(&net).contains(&"inactive_stack"), "{:?}", net.warnings);
    assert!(codes(&net).contains(&"hardware_name"));

    let mut f = MemFiles::new();
    keyfile(&mut f);
    ifupdown(&mut f);
    wants(&mut f, "networking.service");
    let net = read(&mut f, &Limits::default());
    assert_eq!(net.stack, Some(Stack::Ifupdown));
    assert_eq!(net.interfaces[0].name, "eth0");
    assert!(!codes(&net).contains(&"hardware_name"), "eth0 does not depend on the hardware");
}

#[test]
fn networkd_wicked_and_initscripts() {
    let mut f = MemFiles::new();
    f.file(
        "/etc/systemd/network/10-eth0.network",
        "[Match]\nName=eth0\n\n[Network]\nAddress=10.9.0.5/24\nGateway=10.9.0.1\n",
    );
    wants(&mut f, "systemd-networkd.service");
    let net = read(&mut f, &Limits::default());
    assert_eq!(net.stack, Some(Stack::Networkd));
    assert_eq!(net.interfaces[0].addresses[0].address.to_string(), "10.9.0.5");

    let mut f = MemFiles::new();
    f.file("/etc/sysconfig/network/ifcfg-eth0", "BOOTPROTO='static'\nSTARTMODE='auto'\nIPADDR='192.168.100.5/24'\n");
    f.file("/etc/sysconfig/network/routes", "default 192.168.100.1 - -\n");
    wants(&mut f, "wicked.service");
    let net = read(&mut f, &Limits::default());
    assert_eq!(net.stack, Some(Stack::IfcfgSuse));
    assert_eq!(net.interfaces[0].name, "eth0");

    let mut f = MemFiles::new();
    f.file(
        "/etc/sysconfig/network-scripts/ifcfg-eth0",
        "DEVICE=eth0\nBOOTPROTO=none\nONBOOT=yes\nIPADDR=172.16.0.4\nPREFIX=16\n",
    );
    wants(&mut f, "network.service");
    let net = read(&mut f, &Limits::default());
    assert_eq!(net.stack, Some(Stack::IfcfgRhel));
    assert_eq!(net.interfaces[0].addresses[0].prefix_len, 16);
}

#[test]
fn without_an_enabled_service_the_only_configuration_is_read() {
    let mut f = MemFiles::new();
    ifupdown(&mut f);
    let net = read(&mut f, &Limits::default());
    assert_eq!(net.stack, Some(Stack::Ifupdown));
    assert!(codes(&net).contains(&"no_enabled_stack"));
    let net = read(&mut MemFiles::new(), &Limits::default());
    assert_eq!(net.stack, None);
    assert!(net.interfaces.is_empty());
}

#[test]
fn netplan_with_network_manager_adds_its_profiles() {
    let mut f = MemFiles::new();
    f.file(
        "/etc/netplan/01-network-manager-all.yaml",
        "network:\n  version: 2\n  renderer: NetworkManager\n  ethernets:\n    eth0:\n      dhcp4: true\n",
    );
    keyfile(&mut f);
    wants(&mut f, "NetworkManager.service");
    let net = read(&mut f, &Limits::default());
    assert_eq!(net.stack, Some(Stack::Netplan));
    let names: Vec<&str> = net.interfaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["eth0", "ens192"]);
    assert_eq!(net.interfaces[1].stack, Some(Stack::NetworkManager));
}

#[test]
fn host_wide_facts() {
    let mut f = MemFiles::new();
    ifupdown(&mut f);
    wants(&mut f, "networking.service");
    f.file("/etc/hostname", "files-deb-02\n");
    f.file("/etc/systemd/resolved.conf", "[Resolve]\nDNS=10.1.0.2\nDomains=corp.example\n");
    f.file("/etc/resolv.conf", "nameserver 10.1.0.3\nsearch lab.example\n");
    f.file(
        "/etc/udev/rules.d/70-persistent-net.rules",
        "SUBSYSTEM==\"net\", ATTR{address}==\"00:50:56:a1:22:33\", NAME=\"eth0\"\n",
    );
    f.file("/etc/default/grub", "GRUB_CMDLINE_LINUX=\"net.ifnames=0\"\n");
    let net = read(&mut f, &Limits::default());
    assert_eq!(net.hostname.as_deref(), Some("files-deb-02"));
    assert_eq!(net.dns.iter().map(ToString::to_string).collect::<Vec<_>>(), ["10.1.0.2", "10.1.0.3"]);
    assert_eq!(net.search, ["corp.example", "lab.example"]);
    assert_eq!(net.interfaces[0].mac.as_deref(), Some("00:50:56:A1:22:33"));
    assert!(net.files.iter().any(|p| p == "/etc/hostname"));
    assert_eq!(net.resolv_conf_link, None);
}
