//! From a SYSTEM hive to a [`Report`]: the current control set, host settings, and every adapter
//! joined by interface GUID across the keys that describe it (see REGISTRY-FIELDS.md).

use crate::error::{Error, Result};
use crate::read::{canonical_guid, epoch_utc, format_mac, mask_prefix, parse_mac_text, Reader};
use crate::report::*;
use regnet_hive::{Hive, Key, LogStatus};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The network adapter device class.
const NET_CLASS: &str = "{4D36E972-E325-11CE-BFC1-08002BE10318}";
/// Nsi module tables: IPv4 and IPv6, table 10 = persistent unicast addresses.
const NSI_IPV4_ADDRS: &str = "Control\\Nsi\\{eb004a00-9b1a-11d4-9123-0050047759bc}\\10";
const NSI_IPV6_ADDRS: &str = "Control\\Nsi\\{eb004a01-9b1a-11d4-9123-0050047759bc}\\10";
/// NCF_PHYSICAL in a device class `Characteristics` value.
const NCF_PHYSICAL: u32 = 0x4;
/// Most adapters read from one hive; a real system has a few dozen.
const MAX_ADAPTERS: usize = 4096;

/// Builds the report from an open SYSTEM hive (for callers that open hives themselves, e.g.
/// with their own [`regnet_hive::Limits`]).
///
/// ```
/// # let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/SYSTEM")).unwrap();
/// let mut limits = regnet::Limits::default();
/// limits.max_hive_size = 64 << 20;
/// let hive = regnet::hive::Hive::open_with(&bytes[..], &regnet::hive::OpenOptions::new().limits(limits))?;
/// let report = regnet::report_from_hive(&hive)?;
/// assert_eq!(report.control_set, 1);
/// # Ok::<(), regnet::Error>(())
/// ```
pub fn report_from_hive(hive: &Hive<'_>) -> Result<Report> {
    let mut r = Reader::default();
    let root = hive.root_key()?;
    let (set, source) = control_set(&mut r, &root)?;
    let cs_name = format!("ControlSet{set:03}");
    let cs = root
        .subkey(&cs_name)
        .map_err(Error::Hive)?
        .ok_or_else(|| Error::NotASystemHive(format!("{cs_name} named by Select is missing")))?;

    let params_path = format!("{cs_name}\\Services\\Tcpip\\Parameters");
    let params = sub(&mut r, &cs, "Services\\Tcpip\\Parameters", &params_path);
    let (mut hostname, mut hostname_pending, mut domain, mut domain_pending) = (None, None, None, None);
    let (mut search_list, mut ip_forwarding) = (Vec::new(), false);
    if let Some(p) = &params {
        hostname = r.string(p, &params_path, "Hostname");
        let nv = r.string(p, &params_path, "NV Hostname");
        if nv.is_some() && nv != hostname {
            r.warn(
                "rename_pending",
                "the host name changes at the next boot (NV Hostname differs from Hostname)",
                Some(&params_path),
                Some("NV Hostname"),
            );
            if hostname.is_none() {
                hostname = nv.clone();
            } else {
                hostname_pending = nv;
            }
        }
        domain = domain_value(&mut r, p, &params_path, "Domain");
        let nvd = domain_value(&mut r, p, &params_path, "NV Domain");
        if nvd.is_some() && nvd != domain {
            if domain.is_none() {
                domain = nvd;
            } else {
                domain_pending = nvd;
            }
        }
        search_list = r
            .strings(p, &params_path, "SearchList")
            .iter()
            .flat_map(|s| {
                s.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect::<Vec<_>>()
            })
            .collect();
        ip_forwarding = r.dword(p, &params_path, "IPEnableRouter") == Some(1);
    } else {
        r.warn(
            "missing_key",
            "no TCP/IP parameters key: this control set has no IPv4 stack configuration",
            Some(&params_path),
            None,
        );
    }
    let cn_path = format!("{cs_name}\\Control\\ComputerName\\ComputerName");
    let computer_name = sub(&mut r, &cs, "Control\\ComputerName\\ComputerName", &cn_path)
        .and_then(|k| r.string(&k, &cn_path, "ComputerName"));

    let (mut adapters, luids) = adapters(&mut r, &cs, &cs_name, params.as_ref());
    nsi_cross_check(&mut r, &cs, &cs_name, &mut adapters, &luids);
    let routes = params.as_ref().map(|p| routes(&mut r, p, &params_path, &adapters)).unwrap_or_default();
    // Last: a hive whose Enum tree is built to exhaust the read budget cannot cost the rest.
    crate::presence::mark_adapters(&mut r, &cs, &cs_name, &mut adapters);

    let os = crate::wintime::windows_os(&mut r, &cs, &cs_name);
    Ok(Report {
        schema_version: SCHEMA_VERSION,
        hostname,
        hostname_pending,
        computer_name,
        domain,
        domain_pending,
        search_list,
        ip_forwarding,
        control_set: set,
        control_set_source: source,
        hive: hive_state(hive),
        adapters,
        routes,
        warnings: r.warnings,
        source: None,
        vm: None,
        os: Some(os),
        tcpip_last_written: params.as_ref().and_then(crate::wintime::key_time),
        network_history: Vec::new(),
        software_hive: None,
    })
}

/// What the hive's recovery did, for the report.
pub(crate) fn hive_state(hive: &Hive<'_>) -> HiveState {
    let rec = hive.recovery();
    let mut applied: Vec<(u32, String)> = Vec::new();
    let mut ignored = Vec::new();
    for l in &rec.logs {
        match &l.status {
            LogStatus::Applied => applied.push((l.sequence_applied.map_or(0, |s| s.0), l.name.clone())),
            LogStatus::Ignored { reason } => ignored.push(IgnoredLog { name: l.name.clone(), reason: reason.clone() }),
            _ => {}
        }
    }
    applied.sort();
    HiveState {
        dirty: rec.dirty,
        logs_applied: applied.into_iter().map(|a| a.1).collect(),
        logs_ignored: ignored,
        entries_applied: rec.entries_applied(),
        pages_applied: rec.pages_applied(),
    }
}

/// `Domain` may be REG_DWORD 0 on a machine that is not domain-joined: that is "none", not an error.
fn domain_value(r: &mut Reader, key: &Key<'_>, path: &str, name: &str) -> Option<String> {
    match r.value(key, path, name) {
        Some(v) if v.data_type() == regnet_hive::ValueType::Dword => None,
        Some(_) => r.string(key, path, name),
        None => None,
    }
}

/// A subkey by relative path; damage on the way is a warning and reads as absent.
fn sub<'h>(r: &mut Reader, key: &Key<'h>, rel: &str, full: &str) -> Option<Key<'h>> {
    match key.subpath(rel) {
        Ok(k) => Some(k),
        Err(regnet_hive::HiveError::KeyNotFound { .. }) => None,
        Err(e) => {
            r.warn("unreadable_key", format!("could not be read: {e}"), Some(full), None);
            None
        }
    }
}

/// The current control set: `Select\Current`, else `Default`, else `LastKnownGood` (with a warning).
fn control_set(r: &mut Reader, root: &Key<'_>) -> Result<(u32, ControlSetSource)> {
    let select = root
        .subkey("Select")?
        .ok_or_else(|| Error::NotASystemHive("there is no \\Select key, so this is not a SYSTEM hive".into()))?;
    let mut problems = Vec::new();
    for (name, source) in [
        ("Current", ControlSetSource::Current),
        ("Default", ControlSetSource::Default),
        ("LastKnownGood", ControlSetSource::LastKnownGood),
    ] {
        let Some(n) = r.dword(&select, "Select", name) else {
            problems.push(format!("Select\\{name} is missing or not a DWORD"));
            continue;
        };
        if !(1..=999).contains(&n) {
            problems.push(format!("Select\\{name} = {n} names no control set"));
            continue;
        }
        let set = format!("ControlSet{n:03}");
        if root.subkey(&set)?.is_none() {
            problems.push(format!("Select\\{name} = {n}, but {set} does not exist"));
            continue;
        }
        if source != ControlSetSource::Current {
            r.warn(
                "control_set_fallback",
                format!("{}; using Select\\{name} = {n}", problems.join("; ")),
                Some("Select"),
                Some(name),
            );
        }
        return Ok((n, source));
    }
    Err(Error::NoControlSet(problems.join("; ")))
}

/// What the device class says about one adapter.
#[derive(Default)]
struct ClassInfo {
    index: String,
    description: Option<String>,
    characteristics: Option<u32>,
    if_type: Option<u32>,
    luid_index: Option<u32>,
    mac_override: Option<String>,
    vlan_id: Option<u16>,
}

/// Every adapter, joined by GUID, with its Nsi LUID prefix where known.
fn adapters(
    r: &mut Reader,
    cs: &Key<'_>,
    cs_name: &str,
    params: Option<&Key<'_>>,
) -> (Vec<Adapter>, Vec<Option<String>>) {
    // 1. Device class entries (NNNN subkeys with a NetCfgInstanceId), in index order.
    let mut order: Vec<String> = Vec::new();
    let mut class: BTreeMap<String, ClassInfo> = BTreeMap::new();
    let class_path = format!("{cs_name}\\Control\\Class\\{NET_CLASS}");
    if let Some(ck) = sub(r, cs, &format!("Control\\Class\\{NET_CLASS}"), &class_path) {
        let mut entries: Vec<(String, Key<'_>)> = Vec::new();
        for k in ck.subkeys() {
            match k {
                Ok(k) => {
                    let name = k.name_string().into_owned();
                    if name.len() == 4 && name.chars().all(|c| c.is_ascii_digit()) {
                        entries.push((name, k));
                    }
                }
                Err(e) => r.warn(
                    "unreadable_key",
                    format!("a device class entry could not be read: {e}"),
                    Some(&class_path),
                    None,
                ),
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (index, k) in entries.into_iter().take(MAX_ADAPTERS) {
            let path = format!("{class_path}\\{index}");
            let Some(guid) = r.string(&k, &path, "NetCfgInstanceId") else { continue };
            let guid = canonical_guid(&guid);
            let mac_override = r.string(&k, &path, "NetworkAddress").and_then(|s| {
                let m = parse_mac_text(&s);
                if m.is_none() {
                    r.warn(
                        "bad_value",
                        format!("{s:?} is not a MAC address; ignored"),
                        Some(&path),
                        Some("NetworkAddress"),
                    );
                }
                m
            });
            let vlan_id = vlan(r, &k, &path);
            let info = ClassInfo {
                description: r.string(&k, &path, "DriverDesc"),
                characteristics: r.dword(&k, &path, "Characteristics"),
                if_type: r.dword(&k, &path, "*IfType"),
                luid_index: r.dword(&k, &path, "NetLuidIndex"),
                mac_override,
                vlan_id,
                index,
            };
            if class.insert(guid.clone(), info).is_none() {
                order.push(guid);
            } else {
                r.warn(
                    "duplicate_adapter",
                    "two device class entries name the same interface GUID; the later one is used",
                    Some(&path),
                    Some("NetCfgInstanceId"),
                );
            }
        }
    }

    // 2. TCP/IP interface keys that hold values (the empty pseudo-interface keys are skipped).
    let ifs_path = format!("{cs_name}\\Services\\Tcpip\\Parameters\\Interfaces");
    let mut tcpip: BTreeMap<String, Key<'_>> = BTreeMap::new();
    if let Some(ifs) = params.and_then(|p| sub(r, p, "Interfaces", &ifs_path)) {
        for k in ifs.subkeys().take(MAX_ADAPTERS) {
            match k {
                Ok(k) => {
                    if k.value_count() == 0 {
                        continue;
                    }
                    tcpip.insert(canonical_guid(&k.name_string()), k);
                }
                Err(e) => {
                    r.warn("unreadable_key", format!("an interface key could not be read: {e}"), Some(&ifs_path), None)
                }
            }
        }
    }
    let mut extra: Vec<String> = tcpip.keys().filter(|g| !class.contains_key(*g)).cloned().collect();
    extra.sort();
    order.extend(extra);

    order
        .into_iter()
        .map(|guid| {
            let ci = class.remove(&guid).unwrap_or_default();
            adapter(r, cs, cs_name, &guid, ci, tcpip.get(&guid))
        })
        .unzip()
}

/// The driver's `VlanID` keyword (a string in most drivers, a DWORD in some).
fn vlan(r: &mut Reader, k: &Key<'_>, path: &str) -> Option<u16> {
    let v = r.value(k, path, "VlanID")?;
    let n = if v.data_type() == regnet_hive::ValueType::Dword {
        r.dword(k, path, "VlanID")
    } else {
        let s = r.string(k, path, "VlanID")?;
        match s.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                r.warn("bad_value", format!("{s:?} is not a VLAN ID; ignored"), Some(path), Some("VlanID"));
                None
            }
        }
    }?;
    match u16::try_from(n) {
        Ok(0) => None,
        Ok(id) if id < 4095 => Some(id),
        _ => {
            r.warn("bad_value", format!("{n} is not a VLAN ID (1-4094); ignored"), Some(path), Some("VlanID"));
            None
        }
    }
}

/// One adapter: identity from the class, names, MACs, and the live IPv4 settings.
fn adapter(
    r: &mut Reader,
    cs: &Key<'_>,
    cs_name: &str,
    guid: &str,
    ci: ClassInfo,
    tcpip: Option<&Key<'_>>,
) -> (Adapter, Option<String>) {
    let conn_rel = format!("Control\\Network\\{NET_CLASS}\\{guid}\\Connection");
    let conn_path = format!("{cs_name}\\{conn_rel}");
    let mut name = sub(r, cs, &conn_rel, &conn_path).and_then(|k| r.string(&k, &conn_path, "Name"));

    // Windows 10 and later: alias and MACs.
    let ns2_rel = format!("Control\\NetworkSetup2\\Interfaces\\{guid}\\Kernel");
    let ns2_path = format!("{cs_name}\\{ns2_rel}");
    let mut mac = ci.mac_override.clone().map(|m| (m, MacSource::Override));
    let mut if_type = ci.if_type;
    let mut description = ci.description.clone();
    if let Some(k) = sub(r, cs, &ns2_rel, &ns2_path) {
        if name.is_none() {
            name = r.string(&k, &ns2_path, "IfAlias");
        }
        if description.is_none() {
            description = r.string(&k, &ns2_path, "IfDescr");
        }
        if if_type.is_none() {
            if_type = r.dword(&k, &ns2_path, "IfType");
        }
        for (value, source) in [("CurrentAddress", MacSource::Current), ("PermanentAddress", MacSource::Permanent)] {
            if mac.is_none() {
                if let Some(b) = r.binary(&k, &ns2_path, value) {
                    mac = format_mac(&b).map(|m| (m, source));
                }
            }
        }
    }

    let mut a = Adapter {
        guid: guid.to_owned(),
        name,
        description,
        mac: mac.as_ref().map(|m| m.0.clone()),
        mac_source: mac.map(|m| m.1),
        physical: ci.characteristics.map(|c| c & NCF_PHYSICAL != 0),
        if_type,
        class_index: (!ci.index.is_empty()).then(|| ci.index.clone()),
        dhcp: false,
        ipv4: Vec::new(),
        gateways: Vec::new(),
        dns_servers: Vec::new(),
        dns_source: None,
        dns_suffix: String::new(),
        dhcp_lease: None,
        ipv6: Vec::new(),
        ipv6_dns_servers: Vec::new(),
        dhcpv6_dns_servers: Vec::new(),
        wins_servers: Vec::new(),
        netbios: None,
        mtu: None,
        vlan_id: ci.vlan_id,
        interface_metric: None,
        network: None,
        present: None,
        presence: None,
        dhcp6: false,
        config: None,
        last_written: tcpip.and_then(|k| crate::wintime::key_time(k)),
        network_profile: None,
    };
    if let Some(k) = tcpip {
        ipv4_settings(r, k, &format!("{cs_name}\\Services\\Tcpip\\Parameters\\Interfaces\\{guid}"), &mut a);
    }
    ipv6_settings(r, cs, cs_name, &mut a);
    netbt_settings(r, cs, cs_name, &mut a);
    // The LUID joins the adapter to the Nsi store; it is not part of the report.
    let luid = match (if_type, ci.luid_index) {
        (Some(t), Some(i)) => Some(luid_hex(t, i)),
        _ => None,
    };
    (a, luid)
}

/// The Nsi value-name prefix for an interface: NET_LUID `(IfType << 48) | (NetLuidIndex << 24)`,
/// its 8 little-endian bytes in hex.
fn luid_hex(if_type: u32, index: u32) -> String {
    let luid = (u64::from(if_type & 0xFFFF) << 48) | (u64::from(index & 0xFF_FFFF) << 24);
    luid.to_le_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// The live IPv4 settings of a `Tcpip\Parameters\Interfaces\{GUID}` key.
fn ipv4_settings(r: &mut Reader, k: &Key<'_>, path: &str, a: &mut Adapter) {
    a.dhcp = r.dword(k, path, "EnableDHCP") == Some(1);
    a.mtu = r.dword(k, path, "MTU").filter(|&m| m != 0 && m != u32::MAX);
    a.interface_metric = r.dword(k, path, "InterfaceMetric").filter(|&m| m != 0);
    let static_dns = r.server_list(k, path, "NameServer");
    let static_suffix = r.string(k, path, "Domain");
    if a.dhcp {
        let ip = r.ipv4(k, path, "DhcpIPAddress");
        let mask = r.ipv4(k, path, "DhcpSubnetMask");
        if let Some(ip) = ip {
            match mask.and_then(mask_prefix) {
                Some(p) => a.ipv4.push(Ipv4Entry::new(ip, p)),
                None => r.warn(
                    "bad_value",
                    format!("leased address {ip} has no usable subnet mask; left out"),
                    Some(path),
                    Some("DhcpSubnetMask"),
                ),
            }
            let gws = r.string_items(k, path, "DhcpDefaultGateway");
            a.gateways = r
                .ipv4_list(&gws, path, "DhcpDefaultGateway")
                .into_iter()
                .flatten()
                .map(|g| Gateway { address: IpAddr::V4(g), metric: None })
                .collect();
            let obtained = r.dword(k, path, "LeaseObtainedTime");
            let expires = r.dword(k, path, "LeaseTerminatesTime");
            // One warning per lease, naming the first time that is not a calendar time.
            let odd = [("LeaseObtainedTime", obtained), ("LeaseTerminatesTime", expires)]
                .into_iter()
                .find(|(_, t)| t.is_some_and(|t| epoch_utc(t).is_none()));
            if let Some((name, _)) = odd {
                r.warn(
                    "lease_not_epoch",
                    format!("{name} is before 2000: not seconds since 1970 (some Windows 10 builds store a relative clock); reported raw only"),
                    Some(path),
                    Some(name),
                );
            }
            let server = r.ipv4(k, path, "DhcpServer").filter(|s| !s.is_broadcast());
            let gateway_mac = r.binary(k, path, "DhcpGatewayHardware").and_then(|b| {
                // 4-byte gateway address, u32 hardware-address length, then the address.
                let len = b.get(4..8).map(|l| u32::from_le_bytes([l[0], l[1], l[2], l[3]]))?;
                if len != 6 {
                    return None;
                }
                format_mac(b.get(8..14)?)
            });
            a.dhcp_lease = Some(DhcpLease {
                server,
                obtained,
                expires,
                obtained_utc: obtained.and_then(epoch_utc),
                expires_utc: expires.and_then(epoch_utc),
                lease_seconds: r.dword(k, path, "Lease"),
                gateway_mac,
            });
        }
        if !static_dns.is_empty() {
            a.dns_servers = static_dns;
            a.dns_source = Some(DnsSource::Static);
        } else {
            a.dns_servers = r.server_list(k, path, "DhcpNameServer");
            a.dns_source = (!a.dns_servers.is_empty()).then_some(DnsSource::Dhcp);
        }
        a.dns_suffix = static_suffix.or_else(|| r.string(k, path, "DhcpDomain")).unwrap_or_default();
    } else {
        let ips_raw = r.string_items(k, path, "IPAddress");
        let masks_raw = r.string_items(k, path, "SubnetMask");
        let ips = r.ipv4_list(&ips_raw, path, "IPAddress");
        let masks = r.ipv4_list(&masks_raw, path, "SubnetMask");
        if ips_raw.len() != masks_raw.len() {
            r.warn(
                "unpaired_values",
                format!(
                    "{} addresses but {} subnet masks; only complete pairs are used",
                    ips_raw.len(),
                    masks_raw.len()
                ),
                Some(path),
                Some("SubnetMask"),
            );
        }
        for (ip, mask) in ips.iter().zip(masks.iter()) {
            let (Some(ip), Some(mask)) = (ip, mask) else { continue };
            match mask_prefix(*mask) {
                Some(p) => a.ipv4.push(Ipv4Entry::new(*ip, p)),
                None => r.warn(
                    "bad_value",
                    format!("subnet mask {mask} of {ip} is not contiguous; address left out"),
                    Some(path),
                    Some("SubnetMask"),
                ),
            }
        }
        let gws_raw = r.string_items(k, path, "DefaultGateway");
        let gws = r.ipv4_list(&gws_raw, path, "DefaultGateway");
        let metrics = r.string_items(k, path, "DefaultGatewayMetric");
        for (i, g) in gws.iter().enumerate() {
            let Some(g) = g else { continue };
            let metric = metrics.get(i).and_then(Option::as_ref).and_then(|m| match m.parse::<u32>() {
                Ok(v) => Some(v),
                Err(_) => {
                    r.warn(
                        "bad_value",
                        format!("{m:?} is not a gateway metric; ignored"),
                        Some(path),
                        Some("DefaultGatewayMetric"),
                    );
                    None
                }
            });
            a.gateways.push(Gateway { address: IpAddr::V4(*g), metric });
        }
        a.dns_servers = static_dns;
        a.dns_source = (!a.dns_servers.is_empty()).then_some(DnsSource::Static);
        a.dns_suffix = static_suffix.unwrap_or_default();
    }
}

/// IPv6 DNS from `Tcpip6\Parameters\Interfaces\{guid}`.
fn ipv6_settings(r: &mut Reader, cs: &Key<'_>, cs_name: &str, a: &mut Adapter) {
    let rel = format!("Services\\Tcpip6\\Parameters\\Interfaces\\{}", a.guid);
    let path = format!("{cs_name}\\{rel}");
    let Some(k) = sub(r, cs, &rel, &path) else { return };
    a.ipv6_dns_servers = r.server_list(&k, &path, "NameServer");
    if let Some(b) = r.binary(&k, &path, "Dhcpv6DNSServers") {
        if b.len() % 16 != 0 {
            r.warn(
                "bad_value",
                format!("{} bytes is not a list of 16-byte IPv6 addresses; trailing bytes ignored", b.len()),
                Some(&path),
                Some("Dhcpv6DNSServers"),
            );
        }
        a.dhcpv6_dns_servers = b
            .chunks_exact(16)
            .filter_map(|c| <[u8; 16]>::try_from(c).ok())
            .map(Ipv6Addr::from)
            .filter(|x| !x.is_unspecified())
            .collect();
    }
}

/// WINS servers and the NetBIOS setting from `NetBT\Parameters\Interfaces\Tcpip_{guid}`.
fn netbt_settings(r: &mut Reader, cs: &Key<'_>, cs_name: &str, a: &mut Adapter) {
    let rel = format!("Services\\NetBT\\Parameters\\Interfaces\\Tcpip_{}", a.guid);
    let path = format!("{cs_name}\\{rel}");
    let Some(k) = sub(r, cs, &rel, &path) else { return };
    let static_wins = r.string_items(&k, &path, "NameServerList");
    let list = if static_wins.iter().all(Option::is_none) && a.dhcp {
        r.string_items(&k, &path, "DhcpNameServerList")
    } else {
        static_wins
    };
    a.wins_servers = r.ipv4_list(&list, &path, "NameServerList").into_iter().flatten().collect();
    a.netbios = match r.dword(&k, &path, "NetbiosOptions") {
        Some(0) => Some(Netbios::FromDhcp),
        Some(1) => Some(Netbios::Enabled),
        Some(2) => Some(Netbios::Disabled),
        Some(n) => {
            r.warn(
                "bad_value",
                format!("NetbiosOptions {n} is not 0, 1 or 2; ignored"),
                Some(&path),
                Some("NetbiosOptions"),
            );
            None
        }
        None => None,
    };
}

/// Reads the Nsi persistent store: static IPv6 addresses, and a cross-check of static IPv4 ones.
fn nsi_cross_check(r: &mut Reader, cs: &Key<'_>, cs_name: &str, adapters: &mut [Adapter], luids: &[Option<String>]) {
    let v4 = nsi_table(r, cs, cs_name, NSI_IPV4_ADDRS, 4);
    let v6 = nsi_table(r, cs, cs_name, NSI_IPV6_ADDRS, 16);
    for (a, luid) in adapters.iter_mut().zip(luids) {
        let Some(luid) = luid else { continue };
        if let Some(list) = v6.get(luid) {
            a.ipv6 = list
                .iter()
                .filter_map(|(b, p)| {
                    <[u8; 16]>::try_from(b.as_slice())
                        .ok()
                        .map(|x| Ipv6Entry { address: Ipv6Addr::from(x), prefix_len: *p })
                })
                .collect();
        }
        if a.dhcp {
            continue;
        }
        let nsi: Vec<Ipv4Entry> = v4
            .get(luid)
            .map(|l| {
                l.iter()
                    .filter_map(|(b, p)| {
                        <[u8; 4]>::try_from(b.as_slice()).ok().map(|x| Ipv4Entry::new(Ipv4Addr::from(x), *p))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if nsi.is_empty() {
            continue;
        }
        let mut ours = a.ipv4.clone();
        let mut theirs = nsi.clone();
        ours.sort_by_key(|e| (e.address, e.prefix_len));
        theirs.sort_by_key(|e| (e.address, e.prefix_len));
        if ours.is_empty() {
            r.warn(
                "nsi_only",
                format!("no addresses in the TCP/IP key; using the Nsi persistent store's {}", fmt_list(&nsi)),
                Some(&format!("{cs_name}\\{NSI_IPV4_ADDRS}")),
                None,
            );
            a.ipv4 = nsi;
        } else if ours != theirs {
            r.warn(
                "nsi_mismatch",
                format!(
                    "adapter {}: the TCP/IP key says {}, the Nsi persistent store says {}; the TCP/IP key is reported",
                    a.guid,
                    fmt_list(&a.ipv4),
                    fmt_list(&nsi)
                ),
                Some(&format!("{cs_name}\\{NSI_IPV4_ADDRS}")),
                None,
            );
        }
    }
}

fn fmt_list(l: &[Ipv4Entry]) -> String {
    l.iter().map(|e| format!("{}/{}", e.address, e.prefix_len)).collect::<Vec<_>>().join(", ")
}

/// An Nsi address table: LUID hex -> [(address bytes, on-link prefix length)].
/// Value names are hex: LUID (8 bytes) + address (4 or 16 bytes) [+ padding]; the data holds the
/// prefix length at byte 16.
fn nsi_table(
    r: &mut Reader,
    cs: &Key<'_>,
    cs_name: &str,
    rel: &str,
    addr_len: usize,
) -> BTreeMap<String, Vec<(Vec<u8>, u8)>> {
    let mut out: BTreeMap<String, Vec<(Vec<u8>, u8)>> = BTreeMap::new();
    let path = format!("{cs_name}\\{rel}");
    let Some(k) = sub(r, cs, rel, &path) else { return out };
    for v in k.values().take(65_536) {
        let Ok(v) = v else { continue };
        let name = v.name().to_string_lossy().to_ascii_lowercase();
        let (Some(luid), Some(addr_hex)) = (name.get(..16), name.get(16..16 + 2 * addr_len)) else {
            r.warn("bad_value", "Nsi entry name is not LUID + address hex; ignored", Some(&path), Some(&name));
            continue;
        };
        let addr: Option<Vec<u8>> = (0..addr_len)
            .map(|i| addr_hex.get(2 * i..2 * i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
            .collect();
        let prefix = v.data().ok().and_then(|d| d.get(16).copied());
        match (addr, prefix) {
            (Some(addr), Some(p)) if usize::from(p) <= addr_len * 8 => {
                out.entry(luid.to_owned()).or_default().push((addr, p))
            }
            _ => r.warn(
                "bad_value",
                "Nsi entry with an unreadable address or prefix length; ignored",
                Some(&path),
                Some(&name),
            ),
        }
    }
    out
}

/// Persistent routes: value names `destination,mask,gateway,metric`.
fn routes(r: &mut Reader, params: &Key<'_>, params_path: &str, adapters: &[Adapter]) -> Vec<Route> {
    let path = format!("{params_path}\\PersistentRoutes");
    let Some(k) = sub(r, params, "PersistentRoutes", &path) else { return Vec::new() };
    // A set: a hostile hive may hold thousands of adapters, gateways and routes.
    let gateways: std::collections::BTreeSet<IpAddr> =
        adapters.iter().flat_map(|a| a.gateways.iter().map(|g| g.address)).collect();
    let mut out = Vec::new();
    for v in k.values().take(65_536) {
        let Ok(v) = v else { continue };
        let name = v.name().to_string_lossy().into_owned();
        let parts: Vec<&str> = name.split(',').map(str::trim).collect();
        let parsed = match parts.as_slice() {
            [d, m, g, metric] => {
                match (d.parse::<Ipv4Addr>(), m.parse::<Ipv4Addr>(), g.parse::<Ipv4Addr>(), metric.parse::<i64>()) {
                    (Ok(d), Ok(m), Ok(g), Ok(metric)) => mask_prefix(m).map(|p| (d, p, g, metric)),
                    _ => None,
                }
            }
            _ => None,
        };
        // The metric is -1 (automatic) or a 32-bit number; anything else is a malformed name.
        let parsed = parsed.and_then(|(d, p, g, m)| match m {
            -1 => Some((d, p, g, None)),
            m => u32::try_from(m).ok().map(|m| (d, p, g, Some(m))),
        });
        let Some((destination, prefix_len, gateway, metric)) = parsed else {
            r.warn(
                "bad_value",
                format!("{name:?} is not destination,mask,gateway,metric; ignored"),
                Some(&path),
                Some(&name),
            );
            continue;
        };
        out.push(Route {
            destination,
            prefix_len,
            gateway,
            metric,
            repeats_default_gateway: prefix_len == 0
                && destination.is_unspecified()
                && gateways.contains(&IpAddr::V4(gateway)),
        });
    }
    out
}
