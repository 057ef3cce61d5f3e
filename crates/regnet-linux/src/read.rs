//! The whole guest: which stack is active, what it configures, and the host-wide facts.

use crate::files::GuestFiles;
use crate::host;
use crate::model::{Interface, Limits, LinuxNetwork, Stack, StackConfig, Warning};
use crate::stack::{enabled_services, Service};

/// Reads the network configuration the guest will apply at boot.
///
/// The active stack is the one whose service is enabled (`/etc/systemd/system/*.wants/`); netplan,
/// when it has files, is the configuration whatever renders it. The configuration of a stack that
/// is installed but not active is a warning (`inactive_stack`), never settings.
///
/// ```
/// use regnet_linux::{read, Limits, MemFiles};
/// let mut files = MemFiles::new();
/// files.file("/etc/netplan/50-cloud-init.yaml",
///     "network:\n  version: 2\n  ethernets:\n    ens192:\n      addresses: [10.41.7.30/24]\n      routes: [{to: default, via: 10.41.7.1}]\n");
/// files.file("/etc/hostname", "web01\n");
/// let net = read(&mut files, &Limits::default());
/// assert_eq!(net.hostname.as_deref(), Some("web01"));
/// assert_eq!(net.interfaces[0].name, "ens192");
/// assert_eq!(net.interfaces[0].gateways[0].to_string(), "10.41.7.1");
/// ```
pub fn read(files: &mut dyn GuestFiles, limits: &Limits) -> LinuxNetwork {
    let mut net = LinuxNetwork::default();
    let mut warnings = Vec::new();
    let mut read_files = Vec::new();
    net.hostname = host::hostname(files, limits, &mut read_files, &mut warnings);
    let services = enabled_services(files, limits, &mut warnings);

    // Every stack's configuration, read once.
    let (netplan, renderer) = crate::netplan::read(files, limits);
    let keyfiles = crate::keyfile::read(files, limits);
    let ifcfg_rhel = crate::ifcfg::read_rhel(files, limits);
    let ifcfg_suse = crate::ifcfg::read_suse(files, limits);
    let networkd = crate::networkd::read(files, limits);
    let ifupdown = crate::ifupdown::read(files, limits);
    let has = |c: &StackConfig| !c.interfaces.is_empty();
    // A netplan configuration netplan refuses renders nothing at boot: its interfaces get no
    // settings from it (the warning names them); the files still make netplan the stack.
    let mut netplan = netplan;
    if netplan.refused {
        let names: Vec<&str> = netplan.interfaces.iter().take(16).map(|i| i.name.as_str()).collect();
        warnings.push(Warning::new(
            "netplan_refused",
            format!(
                "netplan refuses this configuration (see the bad_value warnings) and renders nothing at boot: {} get no settings from it",
                if names.is_empty() { "its interfaces".to_owned() } else { names.join(", ") }
            ),
            netplan.files.first().map(String::as_str),
        ));
        netplan.interfaces.clear();
    }
    let netplan_files = !netplan.files.is_empty();

    let enabled = |s: Service| services.contains(&s);
    // The stacks that apply, in the order their interfaces are taken (a later one only adds
    // interfaces an earlier one does not configure).
    let mut active: Vec<(Stack, &StackConfig)> = Vec::new();
    if has(&netplan) || (netplan.refused && netplan_files) {
        active.push((Stack::Netplan, &netplan));
        // netplan renders for NetworkManager or networkd; NetworkManager also applies its own profiles.
        if renderer.as_deref() == Some("NetworkManager") || enabled(Service::NetworkManager) {
            active.push((Stack::NetworkManager, &keyfiles));
        }
    } else if enabled(Service::NetworkManager) {
        active.push((Stack::NetworkManager, &keyfiles));
        // NetworkManager's ifcfg-rh plugin (EL 8 and 9) reads the ifcfg files too.
        active.push((Stack::IfcfgRhel, &ifcfg_rhel));
    } else if enabled(Service::Networkd) {
        active.push((Stack::Networkd, &networkd));
    } else if enabled(Service::Ifupdown) {
        active.push((Stack::Ifupdown, &ifupdown));
    } else if enabled(Service::Wicked) {
        active.push((Stack::IfcfgSuse, &ifcfg_suse));
    } else if enabled(Service::Initscripts) {
        active.push((Stack::IfcfgRhel, &ifcfg_rhel));
    } else {
        // No network service is enabled (or the unit links were not kept): the one stack that has
        // configuration, with a warning.
        let candidates = [
            (Stack::NetworkManager, &keyfiles),
            (Stack::Networkd, &networkd),
            (Stack::Ifupdown, &ifupdown),
            (Stack::IfcfgSuse, &ifcfg_suse),
            (Stack::IfcfgRhel, &ifcfg_rhel),
        ];
        if let Some((s, c)) = candidates.into_iter().find(|(_, c)| has(c)) {
            warnings.push(Warning::new(
                "no_enabled_stack",
                format!("no network service is enabled under /etc/systemd/system; {s:?} has the only configuration, so it is read"),
                None,
            ));
            active.push((s, c));
        }
    }
    net.stack = active.iter().find(|(_, c)| has(c)).map(|(s, _)| *s).or(active.first().map(|(s, _)| *s));

    let all: [(Stack, &StackConfig); 6] = [
        (Stack::Netplan, &netplan),
        (Stack::NetworkManager, &keyfiles),
        (Stack::IfcfgRhel, &ifcfg_rhel),
        (Stack::IfcfgSuse, &ifcfg_suse),
        (Stack::Networkd, &networkd),
        (Stack::Ifupdown, &ifupdown),
    ];
    for (s, c) in all {
        let is_active = active.iter().any(|(a, _)| *a == s);
        if is_active {
            read_files.extend(c.files.iter().cloned());
            warnings.extend(c.warnings.iter().cloned());
            net.dns.extend(c.dns.iter().copied());
            net.search.extend(c.search.iter().cloned());
            for i in &c.interfaces {
                if net.interfaces.len() >= limits.max_interfaces {
                    break;
                }
                if !net.interfaces.iter().any(|k| same(k, i)) {
                    let mut i = i.clone();
                    i.stack.get_or_insert(s);
                    net.interfaces.push(i);
                }
            }
        } else if has(c) && !(s == Stack::Networkd && active.iter().any(|(a, _)| *a == Stack::Netplan)) {
            let names: Vec<&str> = c.interfaces.iter().take(8).map(|i| i.name.as_str()).collect();
            warnings.push(Warning::new(
                "inactive_stack",
                format!(
                    "{s:?} configuration for {} is on the disk but {s:?} is not the active stack: it is not applied",
                    names.join(", ")
                ),
                c.files.first().map(String::as_str),
            ));
        }
    }

    // Host-wide DNS: the stack's, then systemd-resolved's, then a plain resolv.conf.
    let (dns, domains) = host::resolved_conf(files, limits, &mut read_files, &mut warnings);
    push_new(&mut net.dns, dns);
    push_new(&mut net.search, domains);
    let (link, servers, search) = host::resolv_conf(files, limits, &mut read_files, &mut warnings);
    net.resolv_conf_link = link;
    push_new(&mut net.dns, servers);
    push_new(&mut net.search, search);

    // MAC bindings from udev rules, and names that depend on the hardware.
    let udev = host::udev_names(files, limits, &mut read_files, &mut warnings);
    for i in &mut net.interfaces {
        if i.mac.is_none() {
            i.mac = udev.iter().find(|(_, n)| *n == i.name).map(|(m, _)| m.clone());
        }
    }
    let classic = host::classic_names(files, limits, &mut warnings);
    for i in &net.interfaces {
        if host::hardware_name(&i.name) && i.mac.is_none() && !classic {
            warnings.push(Warning::new(
                "hardware_name",
                format!(
                    "{} is a name the virtual hardware gives (a PCI slot or firmware index): a replica on other hardware may name its NIC differently, and this configuration will not apply there",
                    i.name
                ),
                i.files.first().map(String::as_str),
            ));
        }
    }
    read_files.dedup();
    net.files = read_files;
    net.warnings = warnings;
    net
}

fn same(a: &Interface, b: &Interface) -> bool {
    a.name == b.name || (a.mac.is_some() && a.mac == b.mac)
}

fn push_new<T: PartialEq>(to: &mut Vec<T>, from: Vec<T>) {
    for x in from {
        if !to.contains(&x) && to.len() < 64 {
            to.push(x);
        }
    }
}
