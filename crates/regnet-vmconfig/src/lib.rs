//! Reads VM configuration files (VMware `.vmx`, OVF/OVA, libvirt domain XML): the VM's name, disks
//! by path and NICs by MAC and production network. Knows no disks' contents, no registries, no
//! networks' rules.
//!
//! Every byte is hostile: any input gets a [`VmConfig`] or a typed [`VmConfigError`], in bounded
//! time and memory. This crate never touches the file system: a disk named `/etc/shadow` or
//! `../x` is returned as a name, and resolving it is the caller's job under its own policy. XML
//! entities other than the five predefined ones and character references are refused, never
//! expanded or fetched.
//!
//! ```
//! use regnet_vmconfig::{detect, parse, ConfigKind, VmConfigLimits};
//!
//! let vmx = br#".encoding = "UTF-8"
//! displayName = "web01"
//! ethernet0.present = "TRUE"
//! ethernet0.networkName = "VM Network"
//! ethernet0.addressType = "static"
//! ethernet0.address = "00:50:56:3f:00:10"
//! "#;
//! assert_eq!(detect(vmx), Some(ConfigKind::Vmx));
//! let vm = parse(ConfigKind::Vmx, vmx, &VmConfigLimits::default()).unwrap();
//! assert_eq!(vm.name.as_deref(), Some("web01"));
//! assert_eq!(vm.nics[0].mac.as_deref(), Some("00:50:56:3F:00:10"));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod error;
mod libvirt;
mod limits;
mod ova;
mod ovf;
mod vmx;
mod xml;

pub use error::{Result, VmConfigError};
pub use limits::VmConfigLimits;
pub use ova::parse_ova;

use serde::{Deserialize, Serialize};

/// The kind of configuration file.
///
/// ```
/// use regnet_vmconfig::ConfigKind;
/// assert_eq!(serde_json::to_string(&ConfigKind::Libvirt).unwrap(), r#""libvirt""#);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigKind {
    /// A VMware `.vmx` file.
    Vmx,
    /// An OVF descriptor (`.ovf`).
    Ovf,
    /// An OVA archive: a tar whose first member is the `.ovf`.
    Ova,
    /// A libvirt domain XML (as `virsh dumpxml` writes it).
    Libvirt,
}

/// A VM's configuration as its file gives it.
///
/// ```
/// # use regnet_vmconfig::*;
/// let xml = br#"<domain type='kvm'><name>db01</name><devices>
///   <interface type='bridge'><mac address='52:54:00:aa:bb:cc'/><source bridge='br0'/></interface>
/// </devices></domain>"#;
/// let vm = parse(ConfigKind::Libvirt, xml, &VmConfigLimits::default()).unwrap();
/// assert_eq!(vm.hypervisor, "libvirt:kvm");
/// assert_eq!(vm.nics[0].network.as_deref(), Some("br0"));
/// let json = serde_json::to_string(&vm).unwrap();
/// assert!(json.contains(r#""kind":"libvirt""#));
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmConfig {
    /// What kind of file it was.
    pub kind: ConfigKind,
    /// `"vmware"` (vmx, or an OVF made by VMware), `"ovf"` (or another OVF VirtualSystemType hint
    /// such as `"virtualbox"`), `"libvirt:kvm"`, `"libvirt:qemu"`, ... (the domain type).
    pub hypervisor: String,
    /// `displayName`, the OVF VirtualSystem's `Name` (or `ovf:id`), libvirt `<name>`.
    pub name: Option<String>,
    /// `guestOS`, the OVF OperatingSystemSection's `vmw:osType` (or its Description), the libosinfo
    /// os id.
    pub guest_os: Option<String>,
    /// Disks in the VM's order (controller and unit for vmx; the file's order for OVF and libvirt).
    pub disks: Vec<VmDisk>,
    /// NICs in the VM's order.
    pub nics: Vec<VmNic>,
    /// Odd things that did not stop parsing.
    pub warnings: Vec<String>,
}

/// One disk of a VM.
///
/// ```
/// use regnet_vmconfig::{DiskLocation, VmDisk};
/// let disk = VmDisk::new("scsi0:0", DiskLocation::File("web01.vmdk".into()));
/// assert_eq!(serde_json::to_string(&disk).unwrap(), r#"{"device":"scsi0:0","location":{"file":"web01.vmdk"}}"#);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmDisk {
    /// The VM's name for the device: `"scsi0:0"`, `"vda"`, the OVF item's ElementName (or InstanceID).
    pub device: String,
    /// Where its bytes are.
    pub location: DiskLocation,
}

/// Where a disk's bytes are.
///
/// ```
/// use regnet_vmconfig::DiskLocation;
/// let member = DiskLocation::ArchiveMember { name: "web01-disk1.vmdk".into(), offset: 9216, len: 1536 };
/// assert_eq!(
///     serde_json::to_string(&member).unwrap(),
///     r#"{"archive_member":{"name":"web01-disk1.vmdk","offset":9216,"len":1536}}"#
/// );
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiskLocation {
    /// A file name as the configuration gives it (relative to the configuration file's folder
    /// unless absolute); the caller resolves it under its own policy.
    File(String),
    /// A member of the OVA archive: its name, and where its bytes are in the `.ova` file.
    ArchiveMember {
        /// The member's name in the archive.
        name: String,
        /// Byte offset of its data in the `.ova` file.
        offset: u64,
        /// Its length in bytes.
        len: u64,
    },
}

/// One NIC of a VM.
///
/// ```
/// use regnet_vmconfig::VmNic;
/// let mut nic = VmNic::new("ethernet0");
/// nic.mac = regnet_vmconfig::canonical_mac("00:50:56:9a:3c:1f");
/// nic.network = Some("Prod-VLAN10".into());
/// assert_eq!(nic.mac.as_deref(), Some("00:50:56:9A:3C:1F"));
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmNic {
    /// `"ethernet0"`, the OVF item's ElementName (or InstanceID), libvirt's target dev or
    /// `"interface N"`.
    pub label: String,
    /// Canonical MAC, `"00:50:56:9A:3C:1F"` (upper-case hex, colons), when the file gives a valid one.
    pub mac: Option<String>,
    /// The port group, OVF Connection, or libvirt source network, bridge or dev.
    pub network: Option<String>,
    /// The VLAN tag (libvirt `<vlan><tag id=…/>`); vmx and OVF usually give none.
    pub vlan: Option<u16>,
    /// The virtual device model: `vmxnet3`, `e1000e`, `virtio`, ...
    pub device: Option<String>,
}

impl VmDisk {
    /// A disk (for callers building a configuration by hand, such as tests).
    pub fn new(device: impl Into<String>, location: DiskLocation) -> Self {
        VmDisk { device: device.into(), location }
    }
}

impl VmNic {
    /// A NIC with only its label; the other fields are `None`.
    pub fn new(label: impl Into<String>) -> Self {
        VmNic { label: label.into(), mac: None, network: None, vlan: None, device: None }
    }
}

impl VmConfig {
    /// An empty configuration (for callers building one by hand, such as tests).
    ///
    /// ```
    /// use regnet_vmconfig::{ConfigKind, VmConfig, VmNic};
    /// let mut vm = VmConfig::new(ConfigKind::Vmx, "vmware");
    /// vm.nics.push(VmNic::new("ethernet0"));
    /// assert!(vm.disks.is_empty() && vm.warnings.is_empty());
    /// ```
    pub fn new(kind: ConfigKind, hypervisor: impl Into<String>) -> Self {
        VmConfig {
            kind,
            hypervisor: hypervisor.into(),
            name: None,
            guest_os: None,
            disks: Vec::new(),
            nics: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// How many bytes of a file [`detect`] looks at, at most.
pub const DETECT_BYTES: usize = 4096;

/// Detects a configuration file from its first bytes (content, never the file name); `None` if it
/// is none of them. `head` is the first [`DETECT_BYTES`] bytes of the file, or less.
///
/// An OVA is a ustar or GNU tar (magic at byte 257) whose first member's name ends in `.ovf`; an
/// OVF is XML whose root element is `Envelope` in the OVF namespace; a libvirt domain is XML whose
/// root is `<domain>`; a `.vmx` is `key = "value"` text with keys a `.vmx` has.
///
/// ```
/// # use regnet_vmconfig::*;
/// assert_eq!(detect(b"<?xml version='1.0'?>\n<domain type='kvm'>"), Some(ConfigKind::Libvirt));
/// assert_eq!(detect(b"hello"), None);
/// ```
pub fn detect(head: &[u8]) -> Option<ConfigKind> {
    let head = head.get(..DETECT_BYTES).unwrap_or(head);
    if ova::looks_like_ova(head) {
        return Some(ConfigKind::Ova);
    }
    if let Some(kind) = xml::detect_root(head) {
        return Some(kind);
    }
    if vmx::looks_like_vmx(head) {
        return Some(ConfigKind::Vmx);
    }
    None
}

/// Parses a `.vmx`, `.ovf` or libvirt domain XML held in memory. An OVA is read with
/// [`parse_ova`]; passing [`ConfigKind::Ova`] here is [`VmConfigError::Unsupported`].
///
/// ```
/// use regnet_vmconfig::{parse, ConfigKind, DiskLocation, VmConfigLimits};
///
/// let vmx = br#"displayName = "db |22prod|22"
/// scsi0.present = "TRUE"
/// scsi0:0.present = "TRUE"
/// scsi0:0.fileName = "db-000001.vmdk"
/// ide1:0.present = "TRUE"
/// ide1:0.deviceType = "cdrom-image"
/// ide1:0.fileName = "/vmfs/volumes/iso/setup.iso"
/// "#;
/// let vm = parse(ConfigKind::Vmx, vmx, &VmConfigLimits::default())?;
/// assert_eq!(vm.name.as_deref(), Some("db \"prod\""));
/// assert_eq!(vm.disks.len(), 1); // the CD-ROM is not a disk
/// assert_eq!(vm.disks[0].device, "scsi0:0");
/// assert_eq!(vm.disks[0].location, DiskLocation::File("db-000001.vmdk".into()));
///
/// // Hostile input gets a typed error, never a panic.
/// let bomb = br#"<!DOCTYPE d [<!ENTITY a "aaaa">]><domain>&a;</domain>"#;
/// assert!(parse(ConfigKind::Libvirt, bomb, &VmConfigLimits::default()).is_err());
/// # Ok::<(), regnet_vmconfig::VmConfigError>(())
/// ```
pub fn parse(kind: ConfigKind, bytes: &[u8], limits: &VmConfigLimits) -> Result<VmConfig> {
    VmConfigLimits::check("max_config_bytes", bytes.len() as u64, limits.max_config_bytes)?;
    match kind {
        ConfigKind::Vmx => vmx::parse(bytes, limits),
        ConfigKind::Ovf => ovf::parse(bytes, limits),
        ConfigKind::Libvirt => libvirt::parse(bytes, limits),
        ConfigKind::Ova => Err(VmConfigError::Unsupported("an OVA is an archive: read it with parse_ova".into())),
    }
}

/// Detects the kind of a configuration held in memory and reads it: [`detect`], then [`parse`]
/// (or [`parse_ova`] over the bytes for an OVA). Anything [`detect`] does not recognise is
/// [`VmConfigError::WrongDocument`].
///
/// ```
/// # use regnet_vmconfig::*;
/// let vm = parse_detected(b"<domain type='kvm'><name>db01</name></domain>", &VmConfigLimits::default())?;
/// assert_eq!((vm.kind, vm.name.as_deref()), (ConfigKind::Libvirt, Some("db01")));
/// assert!(matches!(
///     parse_detected(b"MZ\x90\0", &VmConfigLimits::default()),
///     Err(VmConfigError::WrongDocument { .. })
/// ));
/// # Ok::<(), VmConfigError>(())
/// ```
pub fn parse_detected(bytes: &[u8], limits: &VmConfigLimits) -> Result<VmConfig> {
    match detect(bytes) {
        Some(ConfigKind::Ova) => parse_ova(&mut std::io::Cursor::new(bytes), limits),
        Some(kind) => parse(kind, bytes, limits),
        None => Err(VmConfigError::WrongDocument {
            what: "configuration file",
            expected: "a .vmx, OVF, OVA or libvirt domain XML",
            found: clip(&String::from_utf8_lossy(bytes.get(..32).unwrap_or(bytes)), 32),
        }),
    }
}

/// A MAC address in the canonical form `00:50:56:9A:3C:1F`, from `00:50:56:9a:3c:1f`,
/// `00-50-56-9A-3C-1F`, `0050.569a.3c1f` or `0050569a3c1f`; `None` for anything else.
///
/// ```
/// assert_eq!(regnet_vmconfig::canonical_mac("00-50-56-9a-3c-1f").as_deref(), Some("00:50:56:9A:3C:1F"));
/// assert_eq!(regnet_vmconfig::canonical_mac("00:50:56"), None);
/// ```
pub fn canonical_mac(text: &str) -> Option<String> {
    let text = text.trim();
    if text.len() > 17 {
        return None;
    }
    let mut digits = [0u8; 12];
    let mut n = 0usize;
    for c in text.chars() {
        if c.is_ascii_hexdigit() {
            *digits.get_mut(n)? = c.to_ascii_uppercase() as u8;
            n += 1;
        } else if !matches!(c, ':' | '-' | '.') {
            return None;
        }
    }
    if n != 12 {
        return None;
    }
    // Separators must sit between whole groups: 6 groups of 2, 3 of 4, or none.
    let groups: Vec<usize> = text.split([':', '-', '.']).map(str::len).collect();
    if !(groups == [2; 6] || groups == [4; 3] || groups == [12]) {
        return None;
    }
    let mut out = String::with_capacity(17);
    for (i, pair) in digits.chunks(2).enumerate() {
        if i > 0 {
            out.push(':');
        }
        for &d in pair {
            out.push(d as char);
        }
    }
    Some(out)
}

/// At most `n` characters of `s`, for error messages and warnings.
pub(crate) fn clip(s: &str, n: usize) -> String {
    let mut out: String = s.chars().take(n).collect();
    if s.chars().nth(n).is_some() {
        out.push('…');
    }
    out
}

/// Most warnings kept for one file; the rest are counted in one last warning.
pub const MAX_WARNINGS: usize = 64;

/// Adds a warning, keeping at most [`MAX_WARNINGS`].
pub(crate) fn warn(warnings: &mut Vec<String>, msg: impl Into<String>) {
    match warnings.len() {
        n if n < MAX_WARNINGS => warnings.push(msg.into()),
        n if n == MAX_WARNINGS => warnings.push("further warnings omitted".into()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_and_dispatch() {
        let mut vm = VmConfig::new(ConfigKind::Ovf, "ovf");
        vm.disks.push(VmDisk::new("d", DiskLocation::File("x".into())));
        vm.nics.push(VmNic::new("n"));
        assert_eq!((vm.disks[0].device.as_str(), vm.nics[0].label.as_str(), vm.nics[0].mac.as_ref()), ("d", "n", None));
        let limits = VmConfigLimits::default();
        assert!(matches!(parse_detected(b"\x7fELF", &limits), Err(VmConfigError::WrongDocument { .. })));
        assert_eq!(parse_detected(b"displayName = \"a\"\n", &limits).unwrap().name.as_deref(), Some("a"));
        assert!(matches!(parse_detected(&[0u8; 600], &limits), Err(VmConfigError::WrongDocument { .. })));
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("abc", 3), "abc");
    }
}
