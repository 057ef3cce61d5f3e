//! The report: what regnet tells about a guest's network settings.
//!
//! These types are the JSON contract (`schema_version` 1, see `docs/report.md`). Field names are
//! fixed; new fields may be added, so every struct is `#[non_exhaustive]`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The version of the JSON contract this crate writes.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything regnet read about one guest.
///
/// Serialises to the documented JSON contract and reads back:
/// ```
/// # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/SYSTEM");
/// let report = regnet::report_from_hive_file(path, &regnet::Options::default())?;
/// let json = serde_json::to_string(&report).unwrap();
/// assert!(json.starts_with(r#"{"schema_version":1,"hostname":"APP-SRV-07""#));
/// let back: regnet::Report = serde_json::from_str(&json).unwrap();
/// assert_eq!(back, report);
/// # Ok::<(), regnet::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Report {
    /// Version of this contract (1).
    pub schema_version: u32,
    /// DNS host name the guest used (`Tcpip\Parameters\Hostname`).
    #[serde(default)]
    pub hostname: Option<String>,
    /// The host name configured for the next boot (`NV Hostname`), when it differs: a rename is pending.
    #[serde(default)]
    pub hostname_pending: Option<String>,
    /// NetBIOS computer name (`Control\ComputerName\ComputerName`).
    #[serde(default)]
    pub computer_name: Option<String>,
    /// Primary DNS suffix (`Tcpip\Parameters\Domain`).
    #[serde(default)]
    pub domain: Option<String>,
    /// The primary DNS suffix for the next boot (`NV Domain`), when it differs.
    #[serde(default)]
    pub domain_pending: Option<String>,
    /// DNS suffix search list, in order (`SearchList`).
    #[serde(default)]
    pub search_list: Vec<String>,
    /// IP forwarding (`IPEnableRouter` = 1).
    #[serde(default)]
    pub ip_forwarding: bool,
    /// The control set read (`ControlSet%03d`).
    #[serde(default)]
    pub control_set: u32,
    /// Which `Select` value named it: `current`, `default` or `last_known_good`.
    #[serde(default)]
    pub control_set_source: ControlSetSource,
    /// The hive file's state and what log replay did.
    #[serde(default)]
    pub hive: HiveState,
    /// Network adapters, in a stable order: by device class index, then those without a class entry by GUID.
    #[serde(default)]
    pub adapters: Vec<Adapter>,
    /// Persistent IPv4 routes (`Tcpip\Parameters\PersistentRoutes`).
    #[serde(default)]
    pub routes: Vec<Route>,
    /// Everything odd that did not stop the report.
    #[serde(default)]
    pub warnings: Vec<Warning>,
    /// Where the hive came from when it was read out of a disk image (null for a hive file).
    #[serde(default)]
    pub source: Option<ImageSource>,
    /// The VM, when the report was made from its configuration file (`.vmx`, `.ovf`/`.ova`,
    /// libvirt XML): its name, the file, and each NIC's production network and MAC. Null otherwise.
    #[serde(default)]
    pub vm: Option<VmInfo>,
    /// The guest's operating system: its family, and for Linux what `/etc/os-release` says; for
    /// Windows what the SOFTWARE hive's `CurrentVersion` key says, when that hive was read.
    #[serde(default)]
    pub os: Option<OsInfo>,
    /// When the TCP/IP parameters changed: the last-written time of `Services\Tcpip\Parameters`,
    /// UTC RFC 3339 (Windows only).
    #[serde(default)]
    pub tcpip_last_written: Option<String>,
    /// The networks the machine has been on (SOFTWARE `NetworkList`), most recently connected
    /// first. Empty when no SOFTWARE hive was read.
    #[serde(default)]
    pub network_history: Vec<crate::history::NetworkProfile>,
    /// The SOFTWARE hive's state and what its log replay did; null when none was read.
    #[serde(default)]
    pub software_hive: Option<HiveState>,
}

/// The guest's operating system.
///
/// ```
/// let os: regnet::OsInfo = serde_json::from_str(r#"{"family": "linux", "id": "ubuntu",
///     "name": "Ubuntu", "version": "24.04.1 LTS (Noble Numbat)", "version_id": "24.04"}"#).unwrap();
/// assert_eq!(os.id.as_deref(), Some("ubuntu"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct OsInfo {
    /// `windows` or `linux`.
    pub family: String,
    /// os-release `ID` (`ubuntu`, `debian`, `rhel`, `rocky`, `almalinux`, `amzn`...).
    #[serde(default)]
    pub id: Option<String>,
    /// os-release `NAME`; Windows: `ProductName` as stored (Windows 11 still stores `Windows 10 …`).
    #[serde(default)]
    pub name: Option<String>,
    /// os-release `VERSION`; Windows: `major.minor.build.ubr` (`10.0.22631.2861`; `6.1.7601` before Windows 10).
    #[serde(default)]
    pub version: Option<String>,
    /// os-release `VERSION_ID`.
    #[serde(default)]
    pub version_id: Option<String>,
    /// os-release `PRETTY_NAME`; Windows: a readable line made by regnet (`Windows 11 Pro 23H2`,
    /// named Windows 11 from build 22000 on, whatever `ProductName` says).
    #[serde(default)]
    pub pretty_name: Option<String>,
    /// os-release `ID_LIKE`, split on spaces.
    #[serde(default)]
    pub id_like: Vec<String>,
    /// Windows: `CurrentBuild` (else `CurrentBuildNumber`), e.g. `22631`.
    #[serde(default)]
    pub build: Option<String>,
    /// Windows: the update build revision (`UBR`), e.g. 2861.
    #[serde(default)]
    pub ubr: Option<u32>,
    /// Windows: `EditionID`, e.g. `Professional`, `ServerStandard`.
    #[serde(default)]
    pub edition: Option<String>,
    /// Windows: `DisplayVersion` (`23H2`; Windows 10 20H2 and later), else `ReleaseId` (`1909`).
    #[serde(default)]
    pub display_version: Option<String>,
    /// Windows: when it was installed (`InstallDate`, Unix seconds; else `InstallTime`, FILETIME),
    /// UTC RFC 3339.
    #[serde(default)]
    pub install_date: Option<String>,
    /// Windows: the time zone's key name (SYSTEM `TimeZoneInformation\TimeZoneKeyName`).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Windows: the offset of local time from UTC in minutes when the hive was last written
    /// (`-ActiveTimeBias`; 60 for UTC+1).
    #[serde(default)]
    pub utc_offset_minutes: Option<i32>,
    /// Windows: the time zone's rule (`Bias`, `StandardBias`, `DaylightBias`, `StandardStart`,
    /// `DaylightStart`), by which NetworkList dates in local time are converted to UTC.
    #[serde(default)]
    pub time_zone_rule: Option<crate::history::TimeZoneRule>,
}

/// The VM a report was read from, as its own configuration file describes it.
///
/// ```
/// let vm: regnet::VmInfo = serde_json::from_str(r#"{"name": "web01", "config": "web01.vmx",
///     "hypervisor": "vmware", "nics": [{"mac": "00:50:56:9A:3C:1F", "network": "Prod-VLAN10"}]}"#).unwrap();
/// assert_eq!(vm.nics[0].network.as_deref(), Some("Prod-VLAN10"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct VmInfo {
    /// The VM's name (`displayName`, the OVF VirtualSystem's name, libvirt `<name>`).
    #[serde(default)]
    pub name: Option<String>,
    /// The configuration file, as the caller named it.
    #[serde(default)]
    pub config: String,
    /// Which kind of file it was: `vmx`, `ovf`, `ova` or `libvirt`.
    #[serde(default)]
    pub config_kind: Option<String>,
    /// The hypervisor the file is for: `vmware`, `ovf`, `libvirt:kvm`, ...
    #[serde(default)]
    pub hypervisor: String,
    /// The guest OS the configuration declares (`guestOS`, OVF `osType`, libosinfo id).
    #[serde(default)]
    pub guest_os: Option<String>,
    /// The disk the guest was read from: its device (`scsi0:0`, `vda`) and file.
    #[serde(default)]
    pub system_disk: Option<VmDiskInfo>,
    /// The VM's disks, in the configuration's order.
    #[serde(default)]
    pub disks: Vec<VmDiskInfo>,
    /// The VM's NICs, in the configuration's order.
    #[serde(default)]
    pub nics: Vec<VmNicInfo>,
}

/// A disk of the VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct VmDiskInfo {
    /// Its device (`scsi0:0`, `sata0:1`, `vda`, an OVF item's name).
    pub device: String,
    /// Its file as the configuration names it (for an OVA, the archive member).
    pub file: String,
}

/// A NIC of the VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct VmNicInfo {
    /// Its MAC address, `00:50:56:9A:3C:1F` style (the form adapters use), when the file gives one.
    #[serde(default)]
    pub mac: Option<String>,
    /// Its production network: the port group, OVF network, libvirt network, bridge or device.
    #[serde(default)]
    pub network: Option<String>,
    /// Its VLAN tag, when the file gives one (libvirt `<vlan><tag id=…>`).
    #[serde(default)]
    pub vlan: Option<u16>,
    /// The virtual device model (`vmxnet3`, `e1000e`, `virtio`).
    #[serde(default)]
    pub device: Option<String>,
    /// The NIC's name in the file (`ethernet0`, an OVF item's name, libvirt's target device).
    #[serde(default)]
    pub label: Option<String>,
    /// The guest adapter joined to it by MAC (its GUID), when there is one.
    #[serde(default)]
    pub adapter: Option<String>,
}

/// Where in a disk image the hive was found, and what reading it cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ImageSource {
    /// The image as named by the caller.
    #[serde(default)]
    pub image: String,
    /// Container format detected from the content: `raw`, `vhd`, `vhdx`, `vmdk`, `qcow2`, `ewf`; `split`
    /// for a raw image in pieces (found by name: `.001`, `aa`); `folder` for a mounted guest root.
    #[serde(default)]
    pub container: String,
    /// Size of the virtual disk in bytes.
    #[serde(default)]
    pub virtual_size: u64,
    /// `gpt`, `mbr`, or `none` (a bare volume).
    #[serde(default)]
    pub partition_table: String,
    /// The partition read (GPT entry number; MBR 1-4 primary, 5+ logical; 0 for a bare volume).
    #[serde(default)]
    pub partition: u32,
    /// Its start on the virtual disk, in bytes.
    #[serde(default)]
    pub partition_start: u64,
    /// The files read from it, in order.
    #[serde(default)]
    pub files: Vec<String>,
    /// Bytes read from the image file(s) in all: the honest measure of laziness.
    #[serde(default)]
    pub bytes_read: u64,
    /// Read calls made on the image file(s).
    #[serde(default)]
    pub reads: u64,
    /// The volume manager the guest's volume is in (`lvm`), null when none.
    #[serde(default)]
    pub volume_manager: Option<String>,
    /// The logical volume read, `VG/LV` (`ubuntu-vg/ubuntu-lv`), null when none.
    #[serde(default)]
    pub logical_volume: Option<String>,
    /// The file system read: `ntfs`, `ext4` (ext2/3/4), `xfs`, or `folder` for a mounted guest root.
    #[serde(default)]
    pub filesystem: Option<String>,
    /// The files that make up the image, in order, when it is a set of several: EWF segments
    /// (`disk.E01`, `disk.E02`, …) or the pieces of a split raw image (`disk.001`, …, `diskaa`, …),
    /// named as the first one was given. Empty for a one-file image.
    #[serde(default)]
    pub segments: Vec<String>,
    /// What an evidence file (EWF) records about its acquisition: case data, dates, the hashes
    /// stored in it. Null for other containers.
    #[serde(default)]
    pub evidence: Option<crate::Evidence>,
}

/// Which `Select` value chose the control set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ControlSetSource {
    /// `Select\Current` (the normal case).
    Current,
    /// `Select\Default`, because Current was missing or unusable.
    Default,
    /// `Select\LastKnownGood`, because Current and Default were missing or unusable.
    LastKnownGood,
    /// Not a Windows guest: there is no control set (`control_set` is 0). Also what a report
    /// written without this field reads as.
    #[default]
    None,
}

/// The hive file's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct HiveState {
    /// The primary file needed recovery (a crash-consistent copy of a running system usually does).
    #[serde(default)]
    pub dirty: bool,
    /// Transaction logs whose data was applied, in the order applied.
    #[serde(default)]
    pub logs_applied: Vec<String>,
    /// Logs that were given or found but not used, with the reason.
    #[serde(default)]
    pub logs_ignored: Vec<IgnoredLog>,
    /// Log entries (new format) applied in all.
    #[serde(default)]
    pub entries_applied: u32,
    /// Dirty pages written in all.
    #[serde(default)]
    pub pages_applied: u32,
}

/// A log that was not applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct IgnoredLog {
    /// Its name.
    pub name: String,
    /// Why it was not used.
    pub reason: String,
}

/// One network adapter (interface), joined by its interface GUID across the registry.
///
/// ```
/// # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/SYSTEM");
/// let report = regnet::report_from_hive_file(path, &regnet::Options::default())?;
/// let prod = &report.adapters[0];
/// assert_eq!(prod.name.as_deref(), Some("Ethernet0"));
/// assert!(!prod.dhcp);
/// assert_eq!(prod.ipv4[0].to_string(), "10.41.7.20/24");
/// assert_eq!(prod.ipv4[0].network().to_string(), "10.41.7.0");
/// # Ok::<(), regnet::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Adapter {
    /// Interface GUID, upper-case with braces: `{7E1A0C55-3B2D-4F1E-9A61-2C5D8E0F4A11}`. Linux
    /// interfaces have none: empty here, `null` in JSON.
    #[serde(serialize_with = "guid_out", deserialize_with = "guid_in")]
    #[schemars(with = "GuidSchema")]
    pub guid: String,
    /// Friendly (connection) name, e.g. `Ethernet0`.
    #[serde(default)]
    pub name: Option<String>,
    /// Driver description, e.g. `vmxnet3 Ethernet Adapter`.
    #[serde(default)]
    pub description: Option<String>,
    /// MAC address, `00:50:56:9A:3C:1F` style.
    #[serde(default)]
    pub mac: Option<String>,
    /// Where the MAC came from.
    #[serde(default)]
    pub mac_source: Option<MacSource>,
    /// True for a physical NIC (device class `Characteristics` has NCF_PHYSICAL, 0x4), false for a
    /// virtual or software adapter, null when the adapter has no device class entry.
    #[serde(default)]
    pub physical: Option<bool>,
    /// IANA interface type (`*IfType`: 6 Ethernet, 71 802.11, 131 tunnel, ...).
    #[serde(default)]
    pub if_type: Option<u32>,
    /// Device class subkey (`Control\Class\{4D36E972-...}\NNNN`) of this adapter.
    #[serde(default)]
    pub class_index: Option<String>,
    /// True when DHCP configures IPv4 (`EnableDHCP` = 1). Decides which values are live.
    #[serde(default)]
    pub dhcp: bool,
    /// IPv4 addresses with prefix lengths, in configured order (for DHCP: the leased address).
    #[serde(default)]
    pub ipv4: Vec<Ipv4Entry>,
    /// IPv4 default gateways in order, with metrics where configured.
    #[serde(default)]
    pub gateways: Vec<Gateway>,
    /// DNS servers in query order. A static `NameServer` overrides DHCP's even on a DHCP adapter.
    #[serde(default)]
    #[schemars(with = "Vec<IpSchema>")]
    pub dns_servers: Vec<IpAddr>,
    /// Where the DNS servers came from.
    #[serde(default)]
    pub dns_source: Option<DnsSource>,
    /// Connection-specific DNS suffix (`Domain`, else `DhcpDomain` on a DHCP adapter); empty when none.
    #[serde(default)]
    pub dns_suffix: String,
    /// The DHCP lease, for a DHCP adapter that holds one.
    #[serde(default)]
    pub dhcp_lease: Option<DhcpLease>,
    /// Static IPv6 addresses (from the Nsi persistent store).
    #[serde(default)]
    pub ipv6: Vec<Ipv6Entry>,
    /// Static IPv6 DNS servers (`Tcpip6 ... NameServer`).
    #[serde(default)]
    #[schemars(with = "Vec<IpSchema>")]
    pub ipv6_dns_servers: Vec<IpAddr>,
    /// IPv6 DNS servers learnt from DHCPv6 (`Dhcpv6DNSServers`), in order, duplicates kept.
    #[serde(default)]
    pub dhcpv6_dns_servers: Vec<Ipv6Addr>,
    /// WINS servers: static (`NameServerList`), else DHCP's (`DhcpNameServerList`).
    #[serde(default)]
    pub wins_servers: Vec<Ipv4Addr>,
    /// NetBIOS over TCP/IP (`NetbiosOptions`).
    #[serde(default)]
    pub netbios: Option<Netbios>,
    /// IPv4 MTU (`MTU`), when set.
    #[serde(default)]
    pub mtu: Option<u32>,
    /// VLAN ID from the driver's `VlanID` keyword, when set.
    #[serde(default)]
    pub vlan_id: Option<u16>,
    /// Interface metric (`InterfaceMetric`), when set (0 or absent is automatic).
    #[serde(default)]
    pub interface_metric: Option<u32>,
    /// A label for the production network this adapter is on (a hypervisor port group or switch
    /// name): from the VM configuration's NIC with the same MAC, or set by the caller; `regnet map`
    /// uses it instead of the adapter's IPv4 subnet to name the production network.
    #[serde(default)]
    pub network: Option<String>,
    /// Whether the adapter's device was present: `false` for a "ghost", a NIC removed long ago
    /// whose TCP/IP settings the hive still keeps; null when nothing tells. `presence` says how it
    /// was known (see `docs/presence.md`).
    #[serde(default)]
    pub present: Option<bool>,
    /// The evidence behind `present`: the adapter's device instance and its last arrival and
    /// removal times. Null when there is nothing to go on (no device class entry, or one that
    /// names no device instance).
    #[serde(default)]
    pub presence: Option<Presence>,
    /// IPv6 is configured automatically (DHCPv6 or router advertisements: netplan `dhcp6`,
    /// NetworkManager `[ipv6] method=auto|dhcp`, ifcfg `IPV6_AUTOCONF`/`DHCPV6C`, networkd
    /// `DHCP=ipv6`, ifupdown `inet6 auto|dhcp`). Set for Linux interfaces; false for Windows ones.
    #[serde(default)]
    pub dhcp6: bool,
    /// For a Linux guest: the network stack and the files that gave this interface its settings.
    #[serde(default)]
    pub config: Option<AdapterConfig>,
    /// When this adapter's TCP/IP configuration last changed: the last-written time of its
    /// `Tcpip\Parameters\Interfaces\{GUID}` key, UTC RFC 3339 (Windows only).
    #[serde(default)]
    pub last_written: Option<String>,
    /// The name of the network (`network_history`) this adapter's DHCP gateway belongs to: the
    /// profile whose signature's `gateway_mac` equals `dhcp_lease.gateway_mac` (the most recently
    /// connected one when several do).
    #[serde(default)]
    pub network_profile: Option<String>,
}

/// Where a Linux interface's settings came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct AdapterConfig {
    /// The stack: `netplan`, `network_manager`, `ifcfg_rhel`, `ifcfg_suse`, `networkd`, `ifupdown`.
    pub stack: String,
    /// The guest files, in the order applied.
    pub files: Vec<String>,
}

/// An empty GUID (a Linux interface) is `null` in JSON.
fn guid_out<S: serde::Serializer>(g: &str, s: S) -> Result<S::Ok, S::Error> {
    if g.is_empty() {
        s.serialize_none()
    } else {
        s.serialize_str(g)
    }
}

/// `null` (a Linux interface, or a report written by hand) reads as an empty GUID.
fn guid_in<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

impl Adapter {
    /// Sets `present` from a VM configuration (the hypervisor's own list of NICs, joined by MAC),
    /// which overrides what the hive says: `presence.source` becomes `vm_config`, and the
    /// hive's own answer stays in `presence.hive_present` with the device facts it came from.
    ///
    /// ```
    /// # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/example/SYSTEM");
    /// let mut report = regnet::report_from_hive_file(path, &regnet::Options::default())?;
    /// let a = &mut report.adapters[0];
    /// a.set_present_from_vm_config(true);
    /// assert_eq!(a.present, Some(true));
    /// assert_eq!(a.presence.as_ref().map(|p| p.source), Some(regnet::PresenceSource::VmConfig));
    /// # Ok::<(), regnet::Error>(())
    /// ```
    pub fn set_present_from_vm_config(&mut self, present: bool) {
        let hive_present = self.presence.as_ref().map_or(self.present, |p| p.hive_present);
        let mut p = self.presence.take().unwrap_or_default();
        p.source = PresenceSource::VmConfig;
        p.hive_present = hive_present;
        self.presence = Some(p);
        self.present = Some(present);
    }
}

/// How an adapter's presence was known, and the device facts behind it (`docs/presence.md`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Presence {
    /// The evidence that decided `present`; when `present` is null, the evidence that was
    /// examined and did not decide it.
    pub source: PresenceSource,
    /// The adapter's device instance, relative to `ControlSet00N\Enum`
    /// (`PCI\VEN_8086&DEV_100F&SUBSYS_075015AD&REV_01\4&B70F118&0&0888`), as its device class entry
    /// (`DeviceInstanceID`) or connection key (`PnpInstanceID`) names it.
    #[serde(default)]
    pub device_instance: Option<String>,
    /// When the device last arrived (`DEVPKEY_Device_LastArrivalDate`, Windows 8 and later), UTC
    /// RFC 3339.
    #[serde(default)]
    pub last_arrival: Option<String>,
    /// When the device was last removed (`DEVPKEY_Device_LastRemovalDate`), UTC RFC 3339.
    #[serde(default)]
    pub last_removal: Option<String>,
    /// What the hive alone says; equal to `present` unless a VM configuration overrode it.
    #[serde(default)]
    pub hive_present: Option<bool>,
}

/// The evidence that decided an adapter's `present`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PresenceSource {
    /// The device instance under `Enum`: missing means absent; present but with no arrival or
    /// removal time (Windows 7 and older), it decides nothing.
    #[default]
    DeviceInstance,
    /// The device's last arrival and removal times (Windows 8 and later): a removal after the
    /// last arrival means the device was gone.
    DeviceTimes,
    /// The VM's configuration file: the hypervisor's NICs, joined by MAC (set by the caller with
    /// [`Adapter::set_present_from_vm_config`]).
    VmConfig,
}

/// Where a MAC address was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MacSource {
    /// The administrator's override (device class `NetworkAddress`): the MAC the NIC uses.
    Override,
    /// `NetworkSetup2\...\Kernel\CurrentAddress` (Windows 10 and later).
    Current,
    /// `NetworkSetup2\...\Kernel\PermanentAddress` (Windows 10 and later).
    Permanent,
    /// A Linux configuration binds its settings to the NIC with this MAC (netplan `match`,
    /// NetworkManager `mac-address`, ifcfg `HWADDR`, networkd `MACAddress=`, udev rules).
    Binding,
}

/// Where DNS servers were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DnsSource {
    /// The static `NameServer` value.
    Static,
    /// `DhcpNameServer`, on a DHCP adapter without a static override.
    Dhcp,
}

/// An IPv4 address and its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Ipv4Entry {
    /// The address.
    pub address: Ipv4Addr,
    /// Prefix length (from the subnet mask), 0 to 32.
    #[schemars(range(max = 32))]
    pub prefix_len: u8,
}

impl std::fmt::Display for Ipv4Entry {
    /// `10.41.7.20/24`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

impl Ipv4Entry {
    /// An address with its prefix length.
    pub fn new(address: Ipv4Addr, prefix_len: u8) -> Self {
        Ipv4Entry { address, prefix_len }
    }
    /// The network address (address with host bits cleared).
    pub fn network(&self) -> Ipv4Addr {
        let mask = if self.prefix_len == 0 { 0 } else { u32::MAX << (32 - u32::from(self.prefix_len.min(32))) };
        Ipv4Addr::from(u32::from(self.address) & mask)
    }
}

/// An IPv6 address and its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Ipv6Entry {
    /// The address.
    pub address: Ipv6Addr,
    /// On-link prefix length, 0 to 128.
    #[schemars(range(max = 128))]
    pub prefix_len: u8,
}

/// A default gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Gateway {
    /// The gateway's address.
    #[schemars(with = "IpSchema")]
    pub address: IpAddr,
    /// Its metric (0 = automatic), when configured.
    pub metric: Option<u32>,
}

/// A DHCP lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct DhcpLease {
    /// The DHCP server (`DhcpServer`).
    #[serde(default)]
    pub server: Option<Ipv4Addr>,
    /// `LeaseObtainedTime` as stored (documented as seconds since 1970).
    #[serde(default)]
    pub obtained: Option<u32>,
    /// `LeaseTerminatesTime` as stored.
    #[serde(default)]
    pub expires: Option<u32>,
    /// `obtained` as a UTC time, only where it is a plausible epoch (year 2000 or later); some
    /// Windows 10 builds store a relative clock there instead.
    #[serde(default)]
    pub obtained_utc: Option<String>,
    /// `expires` as a UTC time, under the same rule.
    #[serde(default)]
    pub expires_utc: Option<String>,
    /// The lease length in seconds (`Lease`).
    #[serde(default)]
    pub lease_seconds: Option<u32>,
    /// The gateway's MAC address as DHCP recorded it (`DhcpGatewayHardware`): the gateway's, not this NIC's.
    #[serde(default)]
    pub gateway_mac: Option<String>,
}

/// NetBIOS over TCP/IP setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Netbios {
    /// Use the DHCP server's setting (0).
    FromDhcp,
    /// Enabled (1).
    Enabled,
    /// Disabled (2).
    Disabled,
}

/// A persistent IPv4 route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Route {
    /// Destination network.
    pub destination: Ipv4Addr,
    /// Destination prefix length, 0 to 32.
    #[schemars(range(max = 32))]
    pub prefix_len: u8,
    /// Next hop.
    pub gateway: Ipv4Addr,
    /// Metric; null when automatic (-1).
    #[serde(default)]
    pub metric: Option<u32>,
    /// True when this is a default route that only repeats an adapter's default gateway (Windows
    /// writes those here too); false for a route someone added.
    #[serde(default)]
    pub repeats_default_gateway: bool,
}

/// Something odd about the hive that did not stop the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Warning {
    /// A stable machine-readable code, e.g. `bad_value`, `wrong_type`, `nsi_mismatch`.
    #[serde(default)]
    pub code: String,
    /// What happened, for people.
    #[serde(default)]
    pub message: String,
    /// The registry key concerned, when there is one.
    #[serde(default)]
    pub key: Option<String>,
    /// The value concerned, when there is one.
    #[serde(default)]
    pub value: Option<String>,
}

/// `std::net::IpAddr` in the schema: an IPv4 or IPv6 address, with the standard formats (schemars
/// would write the non-standard format `ip`).
enum IpSchema {}

impl JsonSchema for IpSchema {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "IpAddr".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An IPv4 or IPv6 address.",
            "type": "string",
            "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]
        })
    }
}

/// `Adapter.guid` in the schema: a string or null, and required when read too (`guid_in` reads
/// null, but the field must be there; `Option<String>` would make it optional).
enum GuidSchema {}

impl JsonSchema for GuidSchema {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Guid".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": ["string", "null"]})
    }
}

/// The JSON Schema (draft 2020-12) of the report this version of regnet writes: every field it
/// writes is required (`null` where it has no value), and unknown fields are allowed (a newer
/// regnet may add some). Pretty JSON in a stable order with a trailing newline: exactly
/// `docs/schema/report.schema.json` and what `regnet schema report` prints.
///
/// ```
/// let schema: serde_json::Value = serde_json::from_str(&regnet::report_json_schema()).unwrap();
/// assert_eq!(schema["$defs"]["Ipv4Entry"]["properties"]["address"]["format"], "ipv4");
/// ```
pub fn report_json_schema() -> String {
    json_schema_text::<Report>(&format!("regnet report, schema_version {SCHEMA_VERSION}"), false)
}

/// The JSON Schema (draft 2020-12) of a report as regnet reads one (`regnet map`, [`Report`]'s
/// `Deserialize`): fields with a default may be left out, as in a report written by hand or by an
/// older regnet. Every report regnet writes is also valid here. `docs/schema/report-input.schema.json`,
/// `regnet schema report-input`.
pub fn report_input_json_schema() -> String {
    json_schema_text::<Report>(&format!("regnet report as regnet reads it, schema_version {SCHEMA_VERSION}"), true)
}

/// The schema document of `T` (shared with regnet-map): `title` set, Rust examples cut out of the
/// descriptions, keys in a stable, readable order. `input` describes what is read (fields with
/// defaults optional) rather than what is written (every written field required).
#[doc(hidden)]
pub fn json_schema_text<T: JsonSchema>(title: &str, input: bool) -> String {
    let settings = schemars::generate::SchemaSettings::draft2020_12();
    let settings = if input { settings.for_deserialize() } else { settings.for_serialize() };
    let mut schema = serde_json::Value::from(settings.into_generator().into_root_schema_for::<T>());
    tidy_descriptions(&mut schema);
    if let Some(o) = schema.as_object_mut() {
        o.insert("title".into(), title.into());
    }
    let mut text = serde_json::to_string_pretty(&schema_order::Ordered::schema(&schema)).unwrap_or_default();
    text.push('\n');
    text
}

/// Cuts the Rust examples out of every `description`: fenced code blocks, and a paragraph ending in
/// `:` that only introduces one.
fn tidy_descriptions(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(o) => {
            for (k, child) in o.iter_mut() {
                match child {
                    serde_json::Value::String(s) if k == "description" => *s = without_code(s),
                    _ => tidy_descriptions(child),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(tidy_descriptions),
        _ => {}
    }
}

fn without_code(text: &str) -> String {
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut in_code = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("```") {
            if !in_code {
                if !current.is_empty() {
                    paragraphs.push(std::mem::take(&mut current));
                }
                if paragraphs.last().is_some_and(|p| p.ends_with(':')) {
                    paragraphs.pop();
                }
            }
            in_code = !in_code;
        } else if !in_code && line.is_empty() {
            if !current.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
        } else if !in_code {
            if !current.is_empty() {
                current.push('\n');
            }
            current.push_str(line);
        }
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    paragraphs.join("\n\n")
}

/// Serialises a schema with its keys in a stable order people can read: the keywords first
/// (`$schema`, `title`, `description`, `type`, ...), `properties` in the order of `required` (the
/// fields' order in the Rust type), `$defs` by name, anything else alphabetically.
mod schema_order {
    use serde::ser::{SerializeMap, SerializeSeq};
    use serde_json::Value;

    const FIRST: &[&str] = &[
        "$schema",
        "title",
        "description",
        "type",
        "format",
        "const",
        "enum",
        "oneOf",
        "anyOf",
        "$ref",
        "minimum",
        "maximum",
        "items",
        "properties",
        "required",
        "additionalProperties",
        "default",
        "$defs",
    ];

    pub(super) struct Ordered<'a> {
        value: &'a Value,
        /// `Some(order)` when the value is a map of names (`properties`, `$defs`), ordered so.
        names: Option<Vec<&'a str>>,
    }

    impl<'a> Ordered<'a> {
        pub(super) fn schema(value: &'a Value) -> Self {
            Ordered { value, names: None }
        }
    }

    impl serde::Serialize for Ordered<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match self.value {
                Value::Object(o) => {
                    let mut keys: Vec<&String> = o.keys().collect();
                    match &self.names {
                        Some(order) => {
                            keys.sort_by_key(|k| (order.iter().position(|n| n == k).unwrap_or(usize::MAX), *k))
                        }
                        None => keys.sort_by_key(|k| (FIRST.iter().position(|n| n == k).unwrap_or(usize::MAX), *k)),
                    }
                    let mut m = s.serialize_map(Some(keys.len()))?;
                    for k in keys {
                        let child = &o[k.as_str()];
                        let names = match (self.names.is_some(), k.as_str()) {
                            (false, "properties") => Some(
                                o.get("required")
                                    .and_then(Value::as_array)
                                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                                    .unwrap_or_default(),
                            ),
                            (false, "$defs") => Some(Vec::new()),
                            _ => None,
                        };
                        m.serialize_entry(k, &Ordered { value: child, names })?;
                    }
                    m.end()
                }
                Value::Array(a) => {
                    let mut q = s.serialize_seq(Some(a.len()))?;
                    for v in a {
                        q.serialize_element(&Ordered::schema(v))?;
                    }
                    q.end()
                }
                other => other.serialize(s),
            }
        }
    }
}
