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
    /// Without a table, every VM must be Windows (its settings read by regnet).
    #[error("automatic mapping needs every VM's settings read by regnet; these are not Windows: {}; give a mapping table", .vms.join(", "))]
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

/// Who uses a production network: the VMs on it, and the (VM, gateway) pairs they report inside it.
type NetUse = (BTreeSet<usize>, BTreeSet<(usize, Ipv4Addr)>);

/// One NIC that takes part in the mapping.
struct Nic {
    vm: usize,
    guid: Option<String>,
    name: Option<String>,
    keys: Vec<ProdKey>,
    addresses: Vec<String>,
    gateways: Vec<Ipv4Addr>,
}

/// Maps the VMs' production networks onto the plan's cloud networks.
pub fn map(vms: &[VmInput], plan: &Plan, table: Option<&Table>) -> Result<Mapping, MapError> {
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
                let vm_name = name
                    .clone()
                    .or_else(|| report.hostname.clone())
                    .or_else(|| report.computer_name.clone())
                    .unwrap_or_else(|| format!("vm{}", i + 1));
                for a in &report.adapters {
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
                    let keys: Vec<ProdKey> = match &a.network {
                        Some(label) if !label.trim().is_empty() => vec![ProdKey::Label(label.clone())],
                        _ => {
                            // In address order, each subnet once (a set: a hostile hive can give an
                            // adapter thousands of addresses).
                            let mut seen = BTreeSet::new();
                            let mut k: Vec<ProdKey> = Vec::new();
                            for e in &a.ipv4 {
                                let key = ProdKey::Subnet(e.network(), e.prefix_len);
                                if seen.insert(key.clone()) {
                                    k.push(key);
                                }
                            }
                            k
                        }
                    };
                    if keys.is_empty() {
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
                        guid: Some(a.guid.clone()),
                        name: a.name.clone(),
                        keys,
                        addresses,
                        gateways,
                    });
                }
                names.push(vm_name);
                oses.push("windows".to_owned());
            }
            VmInput::Other(o) => {
                for n in &o.nics {
                    nics.push(Nic {
                        vm: i,
                        guid: n.id.clone(),
                        name: None,
                        keys: vec![ProdKey::Label(n.network.clone())],
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

    // Production networks: VMs on each, and the gateways they report inside each subnet.
    let mut prod: BTreeMap<ProdKey, NetUse> = BTreeMap::new();
    for nic in &nics {
        for key in &nic.keys {
            prod.entry(key.clone()).or_default().0.insert(nic.vm);
        }
        // Each gateway belongs to the NIC's subnet that contains it: looked up by prefix length
        // (at most 33 lookups per gateway), not by comparing every gateway with every subnet.
        let subnets: BTreeSet<(Ipv4Addr, u8)> = nic_subnets(nic).into_iter().collect();
        let prefixes: BTreeSet<u8> = subnets.iter().map(|s| s.1).collect();
        for &g in &nic.gateways {
            let home =
                prefixes.iter().map(|&p| (Ipv4Addr::from(u32::from(g) & mask(p)), p)).find(|s| subnets.contains(s));
            for key in &nic.keys {
                let inside = match key {
                    ProdKey::Subnet(net, p) => home == Some((*net, *p)),
                    // A labelled NIC's gateway belongs to its network if it is in one of its subnets.
                    ProdKey::Label(_) => nic.addresses.is_empty() || home.is_some(),
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
    // Overlapping subnets. CIDR blocks are nested or disjoint, so one sweep in address order finds
    // any overlap: a block that starts inside the widest block seen so far overlaps it.
    let mut widest: Option<(&ProdKey, &BTreeSet<usize>, u64)> = None;
    for (key, (vms_on, _)) in &prod {
        let ProdKey::Subnet(net, p) = key else { continue };
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
            for (k, c) in keys.iter().zip(&plan.networks) {
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
                let key = match parse_subnet(&e.production) {
                    Some((n, p)) => ProdKey::Subnet(n, p),
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
                    let (gateway, prefix_len) = match k {
                        ProdKey::Subnet(_, p) => (gws.first().map(|g| g.1), Some(*p)),
                        ProdKey::Label(_) => label_settings(k, &nics),
                    };
                    ProductionNetwork { network: k.to_string(), gateway, prefix_len, vms: vm_list(&vm_set) }
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

/// The subnets a NIC's addresses are in.
fn nic_subnets(nic: &Nic) -> Vec<(Ipv4Addr, u8)> {
    nic.addresses.iter().filter_map(|a| parse_subnet(a)).collect()
}

/// Gateway and prefix length of a labelled network: from the first labelled NIC that has addresses.
fn label_settings(key: &ProdKey, nics: &[Nic]) -> (Option<Ipv4Addr>, Option<u8>) {
    for nic in nics.iter().filter(|n| n.keys.contains(key)) {
        if let Some((net, p)) = nic_subnets(nic).first() {
            let gw = nic.gateways.iter().copied().find(|g| contains(*net, *p, *g));
            return (gw, Some(*p));
        }
    }
    (None, None)
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
