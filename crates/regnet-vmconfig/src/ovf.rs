//! OVF descriptors (1.x and 2.x), as ovftool and VMware, VirtualBox and others write them.

use std::collections::HashMap;

use crate::xml::{self, Doc, Ns};
use crate::{
    canonical_mac, clip, warn, ConfigKind, DiskLocation, Result, VmConfig, VmConfigError, VmConfigLimits, VmDisk, VmNic,
};

/// The OVF envelope namespaces, 1.x and 2.x, start with this.
const OVF: Ns = Ns::PrefixOrNone("http://schemas.dmtf.org/ovf/envelope/");
const RASD: &str = "CIM_ResourceAllocationSettingData";
const EPASD: &str = "CIM_EthernetPortAllocationSettingData";
const SASD: &str = "CIM_StorageAllocationSettingData";
const VSSD: Ns = Ns::SuffixOrNone("CIM_VirtualSystemSettingData");
const VMW: &str = "http://www.vmware.com/schema/ovf";

/// CIM ResourceType of an Ethernet adapter.
const RT_NIC: u32 = 10;
/// CIM ResourceType of a disk drive.
const RT_DISK: u32 = 17;

pub(crate) fn parse(bytes: &[u8], limits: &VmConfigLimits) -> Result<VmConfig> {
    let doc = xml::parse(bytes, limits)?;
    from_doc(&doc, limits)
}

fn from_doc(doc: &Doc, limits: &VmConfigLimits) -> Result<VmConfig> {
    let root = doc.root();
    if !doc.is(root, "Envelope", OVF) {
        let found = doc.element(root).map(|e| e.local.clone()).unwrap_or_default();
        return Err(VmConfigError::WrongDocument {
            what: "OVF root element",
            expected: "<Envelope> in the OVF namespace",
            found: clip(&found, 80),
        });
    }
    let mut vm = VmConfig::new(ConfigKind::Ovf, "ovf");
    vm.warnings = doc.warnings.clone();

    // References/File: id -> href.
    let mut files: HashMap<&str, &str> = HashMap::new();
    for refs in doc.children(root).filter(|&c| doc.is(c, "References", OVF)) {
        for f in doc.children(refs).filter(|&c| doc.is(c, "File", OVF)) {
            match (doc.attr(f, "id", OVF), doc.attr(f, "href", OVF)) {
                (Some(id), Some(href)) => {
                    if files.insert(id, href).is_some() {
                        warn(
                            &mut vm.warnings,
                            format!("OVF File id {:?} given twice; the last one is used", clip(id, 40)),
                        );
                    }
                }
                _ => warn(&mut vm.warnings, "OVF File without ovf:id or ovf:href ignored"),
            }
        }
    }
    // DiskSection/Disk: diskId -> fileRef (None for a blank disk). Usually in the Envelope;
    // tolerated anywhere.
    let mut disks: HashMap<&str, Option<&str>> = HashMap::new();
    for s in doc.descendants(root).filter(|&c| doc.is(c, "DiskSection", OVF)) {
        for d in doc.children(s).filter(|&c| doc.is(c, "Disk", OVF)) {
            if let Some(id) = doc.attr(d, "diskId", OVF) {
                disks.insert(id, doc.attr(d, "fileRef", OVF));
            }
        }
    }

    let vs = match doc.child(root, "VirtualSystem", OVF) {
        Some(vs) => vs,
        None => {
            let coll = doc.child(root, "VirtualSystemCollection", OVF).ok_or_else(|| VmConfigError::Missing {
                what: "OVF VirtualSystem",
                expected: "an Envelope/VirtualSystem or VirtualSystemCollection".into(),
            })?;
            let count = doc.descendants(coll).filter(|&c| doc.is(c, "VirtualSystem", OVF)).count();
            let first = doc.descendants(coll).find(|&c| doc.is(c, "VirtualSystem", OVF)).ok_or_else(|| {
                VmConfigError::Missing {
                    what: "OVF VirtualSystem",
                    expected: "a VirtualSystem in the VirtualSystemCollection".into(),
                }
            })?;
            warn(
                &mut vm.warnings,
                format!("OVF VirtualSystemCollection of {count} virtual systems: only the first is read"),
            );
            first
        }
    };
    vm.name = doc.child_text(vs, "Name", OVF).or_else(|| doc.attr(vs, "id", OVF)).map(str::to_owned);
    if let Some(os) = doc.child(vs, "OperatingSystemSection", OVF) {
        vm.guest_os = doc
            .attr(os, "osType", Ns::PrefixOrNone(VMW))
            .filter(|s| !s.trim().is_empty())
            .or_else(|| doc.child_text(os, "Description", OVF))
            .or_else(|| doc.attr(os, "id", OVF))
            .map(str::to_owned);
    }

    let mut sections = doc.children(vs).filter(|&c| doc.is(c, "VirtualHardwareSection", OVF));
    let hw = sections.next().ok_or_else(|| VmConfigError::Missing {
        what: "OVF VirtualHardwareSection",
        expected: "one in the VirtualSystem".into(),
    })?;
    if sections.next().is_some() {
        warn(&mut vm.warnings, "OVF VirtualSystem has several VirtualHardwareSections: only the first is read");
    }
    let system_type = doc.child(hw, "System", OVF).and_then(|s| doc.child_text(s, "VirtualSystemType", VSSD));
    vm.hypervisor = hypervisor(system_type, doc.uses_namespace(VMW)).into();

    let mut n_nics = 0u64;
    let mut n_disks = 0u64;
    for item in doc.children(hw) {
        let ns = if doc.is(item, "Item", OVF) {
            RASD
        } else if doc.is(item, "EthernetPortItem", OVF) {
            EPASD
        } else if doc.is(item, "StorageItem", OVF) {
            SASD
        } else {
            continue;
        };
        let field = |name: &str| doc.child_text(item, name, Ns::SuffixOrNone(ns));
        let Some(rt) = field("ResourceType") else { continue };
        let Ok(rt) = rt.parse::<u32>() else {
            warn(&mut vm.warnings, format!("OVF item ResourceType {:?} is not a number; ignored", clip(rt, 40)));
            continue;
        };
        let label = field("ElementName").or_else(|| field("InstanceID")).map(str::to_owned);
        match rt {
            RT_NIC => {
                n_nics += 1;
                VmConfigLimits::check("max_nics", n_nics, limits.max_nics as u64)?;
                let label = label.unwrap_or_else(|| format!("nic {}", n_nics - 1));
                let raw_mac = field("Address");
                let mac = raw_mac.and_then(canonical_mac);
                if let (Some(raw), None) = (raw_mac, &mac) {
                    warn(&mut vm.warnings, format!("{label}: MAC {:?} is not a MAC address", clip(raw, 40)));
                }
                vm.nics.push(VmNic {
                    label,
                    mac,
                    network: field("Connection").map(str::to_owned),
                    vlan: None,
                    device: field("ResourceSubType").map(str::to_ascii_lowercase),
                });
            }
            RT_DISK => {
                let device = label.unwrap_or_else(|| format!("disk {}", n_disks));
                let Some(host) = field("HostResource") else {
                    warn(&mut vm.warnings, format!("OVF disk {device:?} has no HostResource; skipped"));
                    continue;
                };
                let href = match resolve_host_resource(host, &disks, &files) {
                    Ok(Some(href)) => href,
                    Ok(None) => {
                        warn(&mut vm.warnings, format!("OVF disk {device:?} is a blank disk (no file); skipped"));
                        continue;
                    }
                    Err(why) => {
                        return Err(VmConfigError::Missing {
                            what: "OVF disk reference",
                            expected: format!("{device}: HostResource {:?} {why}", clip(host, 80)),
                        })
                    }
                };
                n_disks += 1;
                VmConfigLimits::check("max_disks", n_disks, limits.max_disks as u64)?;
                vm.disks.push(VmDisk { device, location: DiskLocation::File(href.to_owned()) });
            }
            _ => {}
        }
    }
    Ok(vm)
}

/// `ovf:/disk/ID` through DiskSection to References, or `ovf:/file/ID` to References.
/// `Ok(None)` for a disk with no file (a blank disk the importer creates).
fn resolve_host_resource<'a>(
    host: &str,
    disks: &HashMap<&str, Option<&'a str>>,
    files: &HashMap<&str, &'a str>,
) -> Result<Option<&'a str>, &'static str> {
    let path = host.strip_prefix("ovf:").unwrap_or(host);
    if let Some(id) = path.strip_prefix("/disk/") {
        match disks.get(id) {
            Some(Some(file)) => files.get(file).map(|h| Some(*h)).ok_or("names a disk whose file is not in References"),
            Some(None) => Ok(None),
            None => Err("names no disk of the DiskSection"),
        }
    } else if let Some(id) = path.strip_prefix("/file/") {
        files.get(id).map(|h| Some(*h)).ok_or("names no file of References")
    } else {
        Err("is not ovf:/disk/ID or ovf:/file/ID")
    }
}

/// The hypervisor an OVF was made for, from its VirtualSystemType (`vmx-13`, `virtualbox-2.2`, ...).
fn hypervisor(system_type: Option<&str>, vmware_ns: bool) -> &'static str {
    let t = system_type.unwrap_or_default().to_ascii_lowercase();
    let tokens: Vec<&str> = t.split(|c: char| c.is_whitespace() || c == ',').filter(|s| !s.is_empty()).collect();
    if tokens.iter().any(|s| s.starts_with("vmx-")) {
        "vmware"
    } else if t.contains("virtualbox") {
        "virtualbox"
    } else if t.contains("xen") {
        "xen"
    } else if t.contains("hyper-v") || t.contains("microsoft") {
        "hyper-v"
    } else if t.contains("kvm") || t.contains("qemu") {
        "kvm"
    } else if vmware_ns {
        "vmware"
    } else {
        "ovf"
    }
}
