//! The mapping rules.

use crate::model::*;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// Why no mapping could be made. Every variant names what is missing or which VMs conflict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MapError {
    /// The plan has no cloud networks, or names one twice.
    #[error("the plan is not usable: {0}")]
    BadPlan(String),
    /// Without a table, the counts must match.
    #[error("automatic mapping needs as many cloud networks as production networks: {production} production networks ({}) but {cloud} cloud networks ({}); give a mapping table", .production_names.join(", "), .cloud_names.join(", "))]
    CountMismatch {
        /// Number of distinct production networks.
        production: usize,
        /// Their names.
        production_names: Vec<String>,
        /// Number of cloud networks in the plan.
        cloud: usize,
        /// Their names.
        cloud_names: Vec<String>,
    },
    /// Without a table, every VM's settings must have been read by regnet.
    #[error("automatic mapping needs every VM's settings read by regnet; these are known only from a VM file: {}; give a mapping table", .vms.join(", "))]
    NotWindows {
        /// The VMs (name and OS).
        vms: Vec<String>,
    },
    /// A table entry names a cloud network the plan does not have.
    #[error("mapping table entry {production:?} names cloud network {cloud:?}, which is not in the plan ({})", .plan.join(", "))]
    UnknownCloudNetwork {
        /// The entry's production network.
        production: String,
        /// The unknown cloud network.
        cloud: String,
        /// The plan's networks.
        plan: Vec<String>,
    },
    /// A table entry's production network is neither a subnet nor usable as a label.
    #[error("mapping table entry {0:?} is empty")]
    BadTableEntry(String),
    /// With a table, every production network must be mapped.
    #[error("the mapping table does not map {}", .networks.iter().map(|(n, vms)| format!("{n} (used by {})", vms.join(", "))).collect::<Vec<_>>().join("; "))]
    Unmapped {
        /// Each unmapped network with the VMs on it.
        networks: Vec<(String, Vec<String>)>,
    },
    /// VMs on one subnet report different gateways.
    #[error("production network {network}: VMs report different gateways: {}", .gateways.iter().map(|(vm, gw)| format!("{vm} uses {gw}")).collect::<Vec<_>>().join(", "))]
    GatewayConflict {
        /// The subnet.
        network: String,
        /// (VM, gateway) pairs.
        gateways: Vec<(String, Ipv4Addr)>,
    },
    /// Two production subnets overlap (e.g. the same network with different masks).
    #[error("production networks {a} (used by {}) and {b} (used by {}) overlap: different masks for one network, or one network inside another", .a_vms.join(", "), .b_vms.join(", "))]
    Overlap {
        /// One subnet.
        a: String,
        /// Its VMs.
        a_vms: Vec<String>,
        /// The other subnet.
        b: String,
        /// Its VMs.
        b_vms: Vec<String>,
    },
    /// NICs on one named production network report different subnets.
    #[error("production network {network:?}: its NICs are in different subnets: {}; one network has one subnet (is a NIC on the wrong port group, or is the name used for two networks?)", .subnets.iter().map(|(vm, s)| format!("{vm} in {s}")).collect::<Vec<_>>().join(", "))]
    NamedNetworkConflict {
        /// The network's name.
        network: String,
        /// (VM, subnet) pairs.
        subnets: Vec<(String, String)>,
    },
    /// Two named production networks carry the same subnet.
    #[error("production networks {} are one subnet, {subnet}, under different names; give their NICs one name, or map the subnet with a table entry", .names.iter().map(|(n, vms)| format!("{n:?} (used by {})", vms.join(", "))).collect::<Vec<_>>().join(" and "))]
    SubnetNamedTwice {
        /// The subnet.
        subnet: String,
        /// Each name with the VMs using it.
        names: Vec<(String, Vec<String>)>,
    },
    /// A NIC's subnets map to different cloud networks, but a NIC attaches to one.
    #[error("VM {vm}: NIC {nic} has addresses in {} which map to different cloud networks ({})", .networks.join(" and "), .clouds.join(", "))]
    NicSpansClouds {
        /// The VM.
        vm: String,
        /// The NIC.
        nic: String,
        /// Its production networks.
        networks: Vec<String>,
        /// The cloud networks they map to.
        clouds: Vec<String>,
    },
}

/// A production network's identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum ProdKey {
    /// Subnets sort first, by address then prefix length.
    Subnet(Ipv4Addr, u8),
    /// Then labels, alphabetically.
    Label(String),
}

impl fmt::Display for ProdKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProdKey::Subnet(a, p) => write!(f, "{a}/{p}"),
            ProdKey::Label(l) => f.write_str(l),
        }
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix.min(32)))
    }
}

#[cfg(test)]
fn contains(net: Ipv4Addr, prefix: u8, addr: Ipv4Addr) -> bool {
    u32::from(addr) & mask(prefix) == u32::from(net)
}

/// `10.41.7.0/24` (host bits cleared) from table text; `None` if it is not a subnet.
fn parse_subnet(s: &str) -> Option<(Ipv4Addr, u8)> {
    let (a, p) = s.trim().split_once('/')?;
    let a: Ipv4Addr = a.trim().parse().ok()?;
    let p: u8 = p.trim().parse().ok().filter(|&p| p <= 32)?;
    Some((Ipv4Addr::from(u32::from(a) & mask(p)), p))
}

/// An IPv4 subnet: network address and prefix length.
type Subnet = (Ipv4Addr, u8);

/// Who uses a production network: the VMs on it, and the (VM, gateway) pairs they report inside it.
type NetUse = (BTreeSet<usize>, BTreeSet<(usize, Ipv4Addr)>);

/// One NIC that takes part in the mapping.
struct Nic {
    vm: usize,
    guid: Option<String>,
    name: Option<String>,
    /// Its production network's name, when the hypervisor (or the caller) gave one.
    label: Option<String>,
    /// The subnets of its addresses, in address order, each once.
    subnets: Vec<(Ipv4Addr, u8)>,
    keys: Vec<ProdKey>,
    addresses: Vec<String>,
    gateways: Vec<Ipv4Addr>,
}

/// Maps the VMs' production networks onto the plan's cloud networks, with default options.
pub fn map(vms: &[VmInput], plan: &Plan, table: Option<&Table>) -> Result<Mapping, MapError> {
    map_with(vms, plan, table, &MapOptions::default())
}

/// Maps the VMs' production networks onto the plan's cloud networks.
///
/// Adapters a report marks absent (`"present": false`: a NIC the VM no longer has) are left out
/// with an `absent_adapter` warning unless [`MapOptions::include_absent`] is set.
pub fn map_with(vms: &[VmInput], plan: &Plan, table: Option<&Table>, opts: &MapOptions) -> Result<Mapping, MapError> {
    let mut warnings = Vec::new();
    let warn = |w: &mut Vec<MapWarning>, code: &str, message: String| w.push(MapWarning { code: code.into(), message });
    if plan.networks.is_empty() {
        return Err(MapError::BadPlan("it lists no cloud networks".into()));
    }
    let mut seen = BTreeSet::new();
    for n in &plan.networks {
        if !seen.insert(n.name.as_str()) {
            return Err(MapError::BadPlan(format!("cloud network {:?} is listed twice", n.name)));
        }
    }
    let plan_names: Vec<String> = plan.networks.iter().map(|n| n.name.clone()).collect();

    // VM names and NICs.
    let mut names = Vec::new();
    let mut oses = Vec::new();
    let mut nics: Vec<Nic> = Vec::new();
    for (i, vm) in vms.iter().enumerate() {
        match vm {
            VmInput::Windows { report, name } => {
                // The hypervisor's name for the VM (what the provider's console shows) when the
                // report was read through its configuration, else the guest's host name.
                let vm_name = name
                    .clone()
                    .or_else(|| report.vm.as_ref().and_then(|v| v.name.clone()))
                    .or_else(|| report.hostname.clone())
                    .or_else(|| report.computer_name.clone())
                    .unwrap_or_else(|| format!("vm{}", i + 1));
                for a in &report.adapters {
                    if a.present == Some(false) && !opts.include_absent {
                        warn(
                            &mut warnings,
                            "absent_adapter",
                            format!(
                                "VM {vm_name}: adapter {} ({}) is absent ({}); it is not mapped (include it with --include-absent)",
                                a.guid,
                                a.name.as_deref().unwrap_or("unnamed"),
                                absence_reason(a)
                            ),
                        );
                        continue;
                    }
                    let addresses: Vec<String> =
                        a.ipv4.iter().map(|e| format!("{}/{}", e.address, e.prefix_len)).collect();
                    let gateways: Vec<Ipv4Addr> = a
                        .gateways
                        .iter()
                        .filter_map(|g| match g.address {
                            IpAddr::V4(v) => Some(v),
                            IpAddr::V6(_) => None,
                        })
                        .collect();
                    let label = a.network.clone().filter(|l| !l.trim().is_empty());
                    // In address order, each subnet once (a set: a hostile hive can give an
                    // adapter thousands of addresses).
                    let mut seen = BTreeSet::new();
                    let mut subnets = Vec::new();
                    for e in &a.ipv4 {
                        let sub = (e.network(), e.prefix_len.min(32));
                        if seen.insert(sub) {
                            subnets.push(sub);
                        }
                    }
                    if label.is_none() && subnets.is_empty() {
                        // Virtual adapters without addresses (WAN miniports, tunnels) are noise.
                        if a.physical != Some(false) {
                            warn(
                                &mut warnings,
                                "nic_without_ipv4",
                                format!(
                                    "VM {vm_name}: adapter {} ({}) has no IPv4 address and no network label; it is not mapped",
                                    a.guid,
                                    a.name.as_deref().unwrap_or("unnamed")
                                ),
                            );
                        }
                        continue;
                    }
                    nics.push(Nic {
                        vm: i,
                        guid: (!a.guid.is_empty()).then(|| a.guid.clone()),
                        name: a.name.clone(),
                        label,
                        subnets,
                        keys: Vec::new(),
                        addresses,
                        gateways,
                    });
                }
                names.push(vm_name);
                // The report's OS family (`windows`, `linux`); reports from before it existed are Windows.
                oses.push(report.os.as_ref().map_or_else(|| "windows".to_owned(), |o| o.family.clone()));
            }
            VmInput::Other(o) => {
                for n in &o.nics {
                    nics.push(Nic {
                        vm: i,
                        guid: n.id.clone(),
                        name: None,
                        label: Some(n.network.clone()),
                        subnets: Vec::new(),
                        keys: Vec::new(),
                        addresses: Vec::new(),
                        gateways: Vec::new(),
                    });
                }
                names.push(o.name.clone());
                oses.push(o.os.clone());
            }
        }
    }
    let mut dup = BTreeSet::new();
    for n in &names {
        if !dup.insert(n) {
            warn(&mut warnings, "duplicate_vm_name", format!("two VMs are named {n}"));
        }
    }

    // Named networks and subnets: a name is the production network, and its subnet is the one the
    // guests' NICs on it agree on (each NIC's first subnet). A NIC without a name whose subnet is a
    // named network's joins that network.
    let label_subnet = named_subnets(&nics, &names)?;
    let mut subnet_label: BTreeMap<(Ipv4Addr, u8), &String> = BTreeMap::new();
    for (label, sub) in &label_subnet {
        if let Some(other) = subnet_label.insert(*sub, label) {
            let users = |l: &String| {
                let set: BTreeSet<&String> =
                    nics.iter().filter(|n| n.label.as_ref() == Some(l)).filter_map(|n| names.get(n.vm)).collect();
                set.into_iter().cloned().collect::<Vec<_>>()
            };
            return Err(MapError::SubnetNamedTwice {
                subnet: format!("{}/{}", sub.0, sub.1),
                names: vec![(other.clone(), users(other)), (label.clone(), users(label))],
            });
        }
    }
    for nic in &mut nics {
        nic.keys = match &nic.label {
            Some(l) => vec![ProdKey::Label(l.clone())],
            None => {
                let mut seen = BTreeSet::new();
                let mut k = Vec::new();
                for sub in &nic.subnets {
                    let key = match subnet_label.get(sub) {
                        Some(l) => ProdKey::Label((*l).clone()),
                        None => ProdKey::Subnet(sub.0, sub.1),
                    };
                    if seen.insert(key.clone()) {
                        k.push(key);
                    }
                }
                k
            }
        };
    }

    // Production networks: VMs on each, and the gateways they report inside each subnet.
    let mut prod: BTreeMap<ProdKey, NetUse> = BTreeMap::new();
    for nic in &nics {
        for key in &nic.keys {
            prod.entry(key.clone()).or_default().0.insert(nic.vm);
        }
        // Each gateway belongs to the NIC's subnet that contains it: looked up by prefix length
        // (at most 33 lookups per gateway), not by comparing every gateway with every subnet.
        let subnets: BTreeSet<(Ipv4Addr, u8)> = nic.subnets.iter().copied().collect();
        let prefixes: BTreeSet<u8> = subnets.iter().map(|s| s.1).collect();
        for &g in &nic.gateways {
            let home =
                prefixes.iter().map(|&p| (Ipv4Addr::from(u32::from(g) & mask(p)), p)).find(|s| subnets.contains(s));
            for key in &nic.keys {
                let inside = match key {
                    ProdKey::Subnet(net, p) => home == Some((*net, *p)),
                    // A named network's gateway is one inside its subnet (or, when none of its
                    // NICs has an address, any gateway they report).
                    ProdKey::Label(l) => match label_subnet.get(l) {
                        Some(sub) => home == Some(*sub),
                        None => nic.addresses.is_empty() || home.is_some(),
                    },
                };
                if inside {
                    if let Some(entry) = prod.get_mut(key) {
                        entry.1.insert((nic.vm, g));
                    }
                }
            }
        }
    }
    let vm_list = |set: &BTreeSet<usize>| set.iter().filter_map(|&i| names.get(i).cloned()).collect::<Vec<_>>();
    // Conflicts: different gateways on one network; overlapping subnets.
    for (key, (_, gws)) in &prod {
        let distinct: BTreeSet<Ipv4Addr> = gws.iter().map(|g| g.1).collect();
        if distinct.len() > 1 {
            return Err(MapError::GatewayConflict {
                network: key.to_string(),
                gateways: gws.iter().map(|(v, g)| (names.get(*v).cloned().unwrap_or_default(), *g)).collect(),
            });
        }
    }
    // Overlapping subnets, named networks' included. CIDR blocks are nested or disjoint, so one
    // sweep in address order finds any overlap: a block that starts inside the widest block seen so
    // far overlaps it.
    let mut blocks: Vec<((Ipv4Addr, u8), &ProdKey, &BTreeSet<usize>)> = prod
        .iter()
        .filter_map(|(key, (vms_on, _))| match key {
            ProdKey::Subnet(net, p) => Some(((*net, *p), key, vms_on)),
            ProdKey::Label(l) => label_subnet.get(l).map(|sub| (*sub, key, vms_on)),
        })
        .collect();
    blocks.sort_by_key(|b| b.0);
    let mut widest: Option<(&ProdKey, &BTreeSet<usize>, u64)> = None;
    for ((net, p), key, vms_on) in blocks {
        let (net, p) = (&net, &p);
        let start = u64::from(u32::from(*net));
        let end = start + (u64::from(!mask(*p)) + 1);
        if let Some((wk, wvms, wend)) = widest {
            if start < wend {
                return Err(MapError::Overlap {
                    a: wk.to_string(),
                    a_vms: vm_list(wvms),
                    b: key.to_string(),
                    b_vms: vm_list(vms_on),
                });
            }
        }
        if widest.is_none_or(|w| end > w.2) {
            widest = Some((key, vms_on, end));
        }
    }

    // Production network -> cloud network.
    let keys: Vec<ProdKey> = prod.keys().cloned().collect();
    let mut assign: BTreeMap<ProdKey, String> = BTreeMap::new();
    let automatic = table.is_none();
    match table {
        None => {
            let others: Vec<String> = vms
                .iter()
                .filter_map(|v| match v {
                    VmInput::Other(o) => Some(format!("{} ({})", o.name, o.os)),
                    _ => None,
                })
                .collect();
            if !others.is_empty() {
                return Err(MapError::NotWindows { vms: others });
            }
            if keys.len() != plan.networks.len() {
                return Err(MapError::CountMismatch {
                    production: keys.len(),
                    production_names: keys.iter().map(ToString::to_string).collect(),
                    cloud: plan.networks.len(),
                    cloud_names: plan_names.clone(),
                });
            }
            // Named networks take the place of their subnet, so that knowing the names (from VM
            // configuration files) never moves a NIC to another cloud network.
            let mut ordered: Vec<&ProdKey> = keys.iter().collect();
            ordered.sort_by_key(|k| match k {
                ProdKey::Subnet(n, p) => (0, Some((*n, *p)), None),
                ProdKey::Label(l) => match label_subnet.get(l) {
                    Some(sub) => (0, Some(*sub), Some(l)),
                    None => (1, None, Some(l)),
                },
            });
            for (k, c) in ordered.into_iter().zip(&plan.networks) {
                assign.insert(k.clone(), c.name.clone());
            }
        }
        Some(t) => {
            let mut entries: Vec<(ProdKey, String, String)> = Vec::new();
            for e in &t.map {
                if e.production.trim().is_empty() {
                    return Err(MapError::BadTableEntry(e.production.clone()));
                }
                if !plan_names.contains(&e.cloud) {
                    return Err(MapError::UnknownCloudNetwork {
                        production: e.production.clone(),
                        cloud: e.cloud.clone(),
                        plan: plan_names.clone(),
                    });
                }
                // A subnet that is a named network's names that network.
                let key = match parse_subnet(&e.production) {
                    Some(sub) => match subnet_label.get(&sub) {
                        Some(l) => ProdKey::Label((*l).clone()),
                        None => ProdKey::Subnet(sub.0, sub.1),
                    },
                    None => ProdKey::Label(e.production.clone()),
                };
                entries.push((key, e.cloud.clone(), e.production.clone()));
            }
            // The first entry for a network wins.
            let mut by_key: BTreeMap<&ProdKey, &String> = BTreeMap::new();
            for (k, c, _) in &entries {
                by_key.entry(k).or_insert(c);
            }
            let mut unmapped = Vec::new();
            for k in &keys {
                match by_key.get(k) {
                    Some(c) => {
                        assign.insert(k.clone(), (*c).clone());
                    }
                    None => unmapped.push((k.to_string(), prod.get(k).map(|v| vm_list(&v.0)).unwrap_or_default())),
                }
            }
            if !unmapped.is_empty() {
                return Err(MapError::Unmapped { networks: unmapped });
            }
            for (k, _, text) in &entries {
                if !prod.contains_key(k) {
                    warn(&mut warnings, "unused_table_entry", format!("mapping table entry {text:?} matches no NIC"));
                }
            }
        }
    }

    // Per VM and NIC: the cloud network.
    let mut vm_maps: Vec<VmMapping> =
        names.iter().zip(&oses).map(|(n, o)| VmMapping { vm: n.clone(), os: o.clone(), nics: Vec::new() }).collect();
    for nic in &nics {
        let clouds: Vec<String> = nic.keys.iter().filter_map(|k| assign.get(k).cloned()).collect();
        let distinct: BTreeSet<&String> = clouds.iter().collect();
        let vm = names.get(nic.vm).cloned().unwrap_or_default();
        if distinct.len() > 1 {
            return Err(MapError::NicSpansClouds {
                vm,
                nic: nic.guid.clone().or(nic.name.clone()).unwrap_or_default(),
                networks: nic.keys.iter().map(ToString::to_string).collect(),
                clouds: distinct.into_iter().cloned().collect(),
            });
        }
        let (Some(first), Some(cloud)) = (nic.keys.first(), clouds.first()) else { continue };
        if let Some(m) = vm_maps.get_mut(nic.vm) {
            m.nics.push(NicMapping {
                guid: nic.guid.clone(),
                name: nic.name.clone(),
                network: first.to_string(),
                networks: nic.keys.iter().map(ToString::to_string).collect(),
                cloud_network: cloud.clone(),
                addresses: nic.addresses.clone(),
            });
        }
    }

    // Per cloud network: the production networks and the NEA settings.
    let cloud_networks = plan
        .networks
        .iter()
        .map(|c| {
            let production_networks: Vec<ProductionNetwork> = keys
                .iter()
                .filter(|k| assign.get(*k) == Some(&c.name))
                .map(|k| {
                    let (vm_set, gws) = prod.get(k).cloned().unwrap_or_default();
                    let sub = match k {
                        ProdKey::Subnet(n, p) => Some((*n, *p)),
                        ProdKey::Label(l) => label_subnet.get(l).copied(),
                    };
                    ProductionNetwork {
                        network: k.to_string(),
                        gateway: gws.first().map(|g| g.1),
                        prefix_len: sub.map(|s| s.1),
                        subnet: sub.map(|(n, p)| format!("{n}/{p}")),
                        vms: vm_list(&vm_set),
                    }
                })
                .collect();
            CloudAssignment { name: c.name.clone(), vlan: c.vlan, internet: c.internet, production_networks }
        })
        .collect::<Vec<_>>();
    for c in &cloud_networks {
        if c.production_networks.is_empty() {
            warn(
                &mut warnings,
                "idle_cloud_network",
                format!("cloud network {} receives no production network", c.name),
            );
        }
    }
    Ok(Mapping { schema_version: MAPPING_SCHEMA_VERSION, automatic, cloud_networks, vms: vm_maps, warnings })
}

/// How a report knew an adapter was absent, for the warning.
fn absence_reason(a: &regnet::Adapter) -> String {
    let Some(p) = &a.presence else { return "the report says so".into() };
    match p.source {
        regnet::PresenceSource::VmConfig => "its MAC is no NIC of the VM's configuration".into(),
        regnet::PresenceSource::DeviceTimes => format!(
            "its device was removed at {} after it last arrived at {}",
            p.last_removal.as_deref().unwrap_or("?"),
            p.last_arrival.as_deref().unwrap_or("?")
        ),
        regnet::PresenceSource::DeviceInstance => format!(
            "its device instance {} is gone from the hive's device tree",
            p.device_instance.as_deref().unwrap_or("")
        ),
        _ => "the report says so".into(),
    }
}

/// The subnet of each named network: the first subnet of each NIC on it, which must agree across
/// the NICs that have addresses; a disagreement is an error naming every NIC's VM and subnet.
fn named_subnets(nics: &[Nic], names: &[String]) -> Result<BTreeMap<String, (Ipv4Addr, u8)>, MapError> {
    let mut seen: BTreeMap<&String, BTreeSet<(usize, Subnet)>> = BTreeMap::new();
    for nic in nics {
        if let (Some(l), Some(first)) = (&nic.label, nic.subnets.first()) {
            seen.entry(l).or_default().insert((nic.vm, *first));
        }
    }
    let mut out = BTreeMap::new();
    for (label, uses) in seen {
        let distinct: BTreeSet<(Ipv4Addr, u8)> = uses.iter().map(|u| u.1).collect();
        if distinct.len() > 1 {
            return Err(MapError::NamedNetworkConflict {
                network: label.clone(),
                subnets: uses
                    .iter()
                    .map(|(vm, (n, p))| (names.get(*vm).cloned().unwrap_or_default(), format!("{n}/{p}")))
                    .collect(),
            });
        }
        if let Some(sub) = distinct.into_iter().next() {
            out.insert(label.clone(), sub);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_parse_and_contain() {
        assert_eq!(parse_subnet("10.41.7.5/24"), Some(("10.41.7.0".parse().unwrap(), 24)));
        assert_eq!(parse_subnet("VM Network"), None);
        assert_eq!(parse_subnet("10.0.0.0/33"), None);
        assert!(contains("10.41.7.0".parse().unwrap(), 24, "10.41.7.1".parse().unwrap()));
        assert!(!contains("10.41.7.0".parse().unwrap(), 24, "10.41.8.1".parse().unwrap()));
        assert!(contains("0.0.0.0".parse().unwrap(), 0, "1.2.3.4".parse().unwrap()));
    }
}
