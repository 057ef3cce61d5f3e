//! The stack-neutral model every reader produces.

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A network configuration stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Stack {
    /// netplan (`/etc/netplan/*.yaml`), rendered by networkd or NetworkManager.
    Netplan,
    /// NetworkManager keyfiles (`system-connections/*.nmconnection`).
    NetworkManager,
    /// RHEL-style ifcfg (`/etc/sysconfig/network-scripts/ifcfg-*`), read by NetworkManager or `network`.
    IfcfgRhel,
    /// SUSE-style ifcfg (`/etc/sysconfig/network/ifcfg-*`), read by wicked.
    IfcfgSuse,
    /// systemd-networkd (`*.network`).
    Networkd,
    /// ifupdown (`/etc/network/interfaces`).
    Ifupdown,
}

/// What kind of interface a configuration describes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum InterfaceKind {
    /// A NIC (or anything not said otherwise).
    #[default]
    Ethernet,
    /// A VLAN on `link` with `id`.
    Vlan {
        /// The VLAN ID.
        id: u16,
        /// The interface it rides on.
        link: String,
    },
    /// A bond of `members`.
    Bond {
        /// The member interfaces.
        members: Vec<String>,
    },
    /// A bridge of `members`.
    Bridge {
        /// The member interfaces.
        members: Vec<String>,
    },
}

/// An address with its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IfAddress {
    /// The address.
    pub address: IpAddr,
    /// Its prefix length.
    pub prefix_len: u8,
}

impl IfAddress {
    /// An address with its prefix length.
    pub fn new(address: IpAddr, prefix_len: u8) -> Self {
        IfAddress { address, prefix_len }
    }
    /// An IPv4 address.
    pub fn v4(address: Ipv4Addr, prefix_len: u8) -> Self {
        IfAddress { address: IpAddr::V4(address), prefix_len }
    }
    /// An IPv6 address.
    pub fn v6(address: Ipv6Addr, prefix_len: u8) -> Self {
        IfAddress { address: IpAddr::V6(address), prefix_len }
    }
}

/// A route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IfRoute {
    /// Destination network (`0.0.0.0`/0 or `::`/0 for a default route).
    pub to: IfAddress,
    /// Next hop, when any.
    pub via: Option<IpAddr>,
    /// Metric, when set.
    pub metric: Option<u32>,
}

/// One interface as the active configuration will bring it up at boot.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Interface {
    /// The name the guest will give the interface (after renames), or the configuration's ID when
    /// it binds by MAC or driver only.
    pub name: String,
    /// The MAC address the configuration binds to (`00:50:56:9A:3C:1F` style), when it does.
    pub mac: Option<String>,
    /// A MAC address the configuration sets on the interface (`MACADDR`, `hwaddress`), when any.
    pub set_mac: Option<String>,
    /// What kind of interface.
    pub kind: InterfaceKind,
    /// IPv4 by DHCP.
    pub dhcp4: bool,
    /// IPv6 by DHCPv6 (or RA, when the stack ties them together).
    pub dhcp6: bool,
    /// Static addresses, IPv4 and IPv6, in configuration order.
    pub addresses: Vec<IfAddress>,
    /// Default gateways, in configuration order.
    pub gateways: Vec<IpAddr>,
    /// Other routes.
    pub routes: Vec<IfRoute>,
    /// DNS servers, in order.
    pub dns: Vec<IpAddr>,
    /// DNS search domains, in order.
    pub search: Vec<String>,
    /// MTU, when set.
    pub mtu: Option<u32>,
    /// Which stack configured it.
    pub stack: Option<Stack>,
    /// The guest files that gave it its settings, in the order applied.
    pub files: Vec<String>,
}

/// Something odd that did not stop the reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Warning {
    /// A stable code: `bad_file`, `skipped_file`, `inactive_stack`, `hardware_name`...
    pub code: String,
    /// For people.
    pub message: String,
    /// The guest file concerned, when there is one.
    pub file: Option<String>,
}

impl Warning {
    /// A warning.
    pub fn new(code: &str, message: impl Into<String>, file: Option<&str>) -> Self {
        Warning { code: code.to_owned(), message: message.into(), file: file.map(str::to_owned) }
    }
}

/// What one stack's reader found.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StackConfig {
    /// The interfaces it configures.
    pub interfaces: Vec<Interface>,
    /// DNS servers it sets for the whole host (not per interface), in order.
    pub dns: Vec<IpAddr>,
    /// Search domains it sets for the whole host.
    pub search: Vec<String>,
    /// The files it read.
    pub files: Vec<String>,
    /// Broken or skipped parts.
    pub warnings: Vec<Warning>,
    /// The stack refuses this configuration whole at boot (netplan renders nothing when one value
    /// is invalid): `interfaces` is what the files describe, none of which will apply.
    #[serde(default)]
    pub refused: bool,
}

/// The guest's network configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LinuxNetwork {
    /// The active stack, when one is.
    pub stack: Option<Stack>,
    /// The interfaces it will bring up.
    pub interfaces: Vec<Interface>,
    /// The host name.
    pub hostname: Option<String>,
    /// Host-wide DNS servers (after the per-interface ones), in order.
    pub dns: Vec<IpAddr>,
    /// Host-wide search domains.
    pub search: Vec<String>,
    /// Where `/etc/resolv.conf` points, when it is a link (often into `/run`, absent offline).
    pub resolv_conf_link: Option<String>,
    /// The files read.
    pub files: Vec<String>,
    /// Everything odd.
    pub warnings: Vec<Warning>,
}

/// Bounds on what reading a guest's configuration may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest configuration file read (a bigger one is a `bad_file` warning, never read).
    pub max_file_bytes: u64,
    /// Most configuration files read per stack (beyond, a warning).
    pub max_files: usize,
    /// Most interfaces per stack (beyond, a warning).
    pub max_interfaces: usize,
    /// Deepest nesting of a structured file (YAML, includes), and most `source` inclusions.
    pub max_depth: usize,
    /// Most YAML nodes (after aliases are expanded) or lines per file.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_file_bytes: 1 << 20, max_files: 10_000, max_interfaces: 4096, max_depth: 64, max_nodes: 1_000_000 }
    }
}
