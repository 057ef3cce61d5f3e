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

#[cfg(test)]
mod tests {
    use super::*;

    fn ovf(text: &str) -> Result<VmConfig> {
        parse(text.as_bytes(), &VmConfigLimits::default())
    }

    const HEAD: &str = r#"<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">"#;

    fn with_items(refs: &str, disks: &str, items: &str) -> String {
        format!(
            "{HEAD}<References>{refs}</References><DiskSection><Info/>{disks}</DiskSection>\
             <VirtualSystem ovf:id='vm'><VirtualHardwareSection>{items}</VirtualHardwareSection></VirtualSystem></Envelope>"
        )
    }

    fn disk_item(name: &str, host: &str) -> String {
        format!("<Item><rasd:ElementName>{name}</rasd:ElementName><rasd:HostResource>{host}</rasd:HostResource><rasd:InstanceID>9</rasd:InstanceID><rasd:ResourceType>17</rasd:ResourceType></Item>")
    }

    #[test]
    fn ovf2_port_and_storage_items_with_other_prefixes() {
        let text = r#"<?xml version="1.0" encoding="UTF-8"?>
<o:Envelope xmlns:o="http://schemas.dmtf.org/ovf/envelope/2" xmlns:e="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_EthernetPortAllocationSettingData" xmlns:s="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_StorageAllocationSettingData" xmlns:r="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:v="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <o:References><o:File o:id="f1" o:href="db01-1.vhd"/></o:References>
  <o:DiskSection><o:Info>disks</o:Info><o:Disk o:diskId="d1" o:fileRef="f1" o:capacity="10737418240"/></o:DiskSection>
  <o:VirtualSystem o:id="db01">
    <o:OperatingSystemSection o:id="94"><o:Info/><o:Description>Microsoft Windows Server 2019 (64-bit)</o:Description></o:OperatingSystemSection>
    <o:VirtualHardwareSection>
      <o:System><v:VirtualSystemType>virtualbox-2.2</v:VirtualSystemType></o:System>
      <o:StorageItem><s:ElementName>Disk 0</s:ElementName><s:HostResource>ovf:/disk/d1</s:HostResource><s:InstanceID>4</s:InstanceID><s:ResourceType>17</s:ResourceType></o:StorageItem>
      <o:EthernetPortItem><e:Address>08-00-27-AA-BB-CC</e:Address><e:Connection>intnet</e:Connection><e:ElementName>Ethernet 1</e:ElementName><e:InstanceID>5</e:InstanceID><e:ResourceSubType>E1000</e:ResourceSubType><e:ResourceType>10</e:ResourceType></o:EthernetPortItem>
      <o:EthernetPortItem><r:Address>08:00:27:00:00:01</r:Address><r:ResourceType>10</r:ResourceType></o:EthernetPortItem>
      <o:Item><e:ResourceType>10</e:ResourceType><e:Connection>wrong namespace</e:Connection></o:Item>
      <o:Item><r:ResourceType>ten</r:ResourceType></o:Item>
      <o:Item><r:ElementName>no type</r:ElementName></o:Item>
    </o:VirtualHardwareSection>
  </o:VirtualSystem>
</o:Envelope>"#;
        let vm = ovf(text).unwrap();
        assert_eq!(vm.hypervisor, "virtualbox");
        assert_eq!(vm.name.as_deref(), Some("db01"));
        assert_eq!(vm.guest_os.as_deref(), Some("Microsoft Windows Server 2019 (64-bit)"));
        assert_eq!(vm.disks, [VmDisk { device: "Disk 0".into(), location: DiskLocation::File("db01-1.vhd".into()) }]);
        // Only the EthernetPortItem in the epasd namespace is a NIC; rasd fields in an
        // EthernetPortItem and epasd fields in an Item are not read.
        assert_eq!(vm.nics.len(), 1, "{:?}", vm.nics);
        assert_eq!(vm.nics[0].label, "Ethernet 1");
        assert_eq!(vm.nics[0].mac.as_deref(), Some("08:00:27:AA:BB:CC"));
        assert_eq!(vm.nics[0].network.as_deref(), Some("intnet"));
        assert_eq!(vm.nics[0].device.as_deref(), Some("e1000"));
        assert!(vm.warnings.iter().any(|w| w.contains("\"ten\"")), "{:?}", vm.warnings);
    }

    #[test]
    fn host_resources() {
        let refs = "<File ovf:id='f1' ovf:href='/etc/shadow'/><File ovf:id='f2' ovf:href='../x'/><File ovf:id='f3'/>";
        let disks = "<Disk ovf:diskId='d1' ovf:fileRef='f1'/><Disk ovf:diskId='blank' ovf:capacity='1'/><Disk ovf:diskId='d9' ovf:fileRef='f9'/>";
        let items =
            [disk_item("A", "ovf:/disk/d1"), disk_item("B", "ovf:/file/f2"), disk_item("C", "/disk/blank")].concat();
        let vm = ovf(&with_items(refs, disks, &items)).unwrap();
        assert_eq!(
            vm.disks,
            [
                VmDisk { device: "A".into(), location: DiskLocation::File("/etc/shadow".into()) },
                VmDisk { device: "B".into(), location: DiskLocation::File("../x".into()) },
            ]
        );
        let w = vm.warnings.join("\n");
        assert!(w.contains("without ovf:id or ovf:href") && w.contains("blank disk"), "{w}");
        for (host, needle) in [
            ("ovf:/disk/nope", "names no disk"),
            ("ovf:/disk/d9", "whose file is not in References"),
            ("ovf:/file/nope", "names no file"),
            ("http://x/y", "is not ovf:/disk/ID"),
        ] {
            let e = ovf(&with_items(refs, disks, &disk_item("Z", host))).unwrap_err().to_string();
            assert!(e.contains(needle) && e.contains('Z'), "{host}: {e}");
        }
        let no_host = "<Item><rasd:ResourceType>17</rasd:ResourceType></Item>";
        let vm = ovf(&with_items(refs, disks, no_host)).unwrap();
        assert!(vm.disks.is_empty() && vm.warnings.iter().any(|w| w.contains("no HostResource")));
        let dup = "<File ovf:id='f1' ovf:href='a'/><File ovf:id='f1' ovf:href='b'/>";
        let vm = ovf(&with_items(dup, "", &disk_item("A", "ovf:/file/f1"))).unwrap();
        assert_eq!(vm.disks[0].location, DiskLocation::File("b".into()));
        assert!(vm.warnings.iter().any(|w| w.contains("given twice")));
    }

    #[test]
    fn systems_and_sections() {
        let coll = format!(
            "{HEAD}<VirtualSystemCollection ovf:id='vApp'><VirtualSystem ovf:id='first'><VirtualHardwareSection/></VirtualSystem>\
             <VirtualSystem ovf:id='second'><VirtualHardwareSection/></VirtualSystem></VirtualSystemCollection></Envelope>"
        );
        let vm = ovf(&coll).unwrap();
        assert_eq!(vm.name.as_deref(), Some("first"));
        assert_eq!(vm.hypervisor, "ovf");
        assert!(vm.warnings.iter().any(|w| w.contains("2 virtual systems")), "{:?}", vm.warnings);
        for (body, needle) in [
            ("", "VirtualSystem is missing"),
            ("<VirtualSystemCollection/>", "in the VirtualSystemCollection"),
            ("<VirtualSystem/>", "VirtualHardwareSection is missing"),
        ] {
            let e = ovf(&format!("{HEAD}{body}</Envelope>")).unwrap_err().to_string();
            assert!(e.contains(needle), "{body}: {e}");
        }
        let two = format!("{HEAD}<VirtualSystem><Name> n </Name><OperatingSystemSection ovf:id='1'/><VirtualHardwareSection/><VirtualHardwareSection/></VirtualSystem></Envelope>");
        let vm = ovf(&two).unwrap();
        assert_eq!(vm.name.as_deref(), Some("n"));
        assert_eq!(vm.guest_os.as_deref(), Some("1"));
        assert!(vm.warnings.iter().any(|w| w.contains("several VirtualHardwareSections")));
        let e = ovf("<domain/>").unwrap_err();
        assert!(matches!(e, VmConfigError::WrongDocument { .. }), "{e}");
        let e = ovf("<Envelope xmlns='urn:not-ovf'/>").unwrap_err();
        assert!(matches!(e, VmConfigError::WrongDocument { .. }), "{e}");
    }

    #[test]
    fn nic_details() {
        let items = "<Item><rasd:Address>zz:zz</rasd:Address><rasd:ResourceType>10</rasd:ResourceType></Item>\
                     <Item><rasd:InstanceID>12</rasd:InstanceID><rasd:ResourceType> 10 </rasd:ResourceType></Item>";
        let vm = ovf(&with_items("", "", items)).unwrap();
        assert_eq!(vm.nics.iter().map(|n| n.label.as_str()).collect::<Vec<_>>(), ["nic 0", "12"]);
        assert_eq!(vm.nics[0].mac, None);
        assert!(vm.warnings.iter().any(|w| w.contains("\"zz:zz\"")));
    }

    #[test]
    fn hypervisor_hints() {
        assert_eq!(hypervisor(Some("vmx-07 vmx-10"), false), "vmware");
        assert_eq!(hypervisor(Some("xen-3"), false), "xen");
        assert_eq!(hypervisor(Some("Microsoft:Hyper-V:SubType:2"), false), "hyper-v");
        assert_eq!(hypervisor(Some("kvm"), false), "kvm");
        assert_eq!(hypervisor(Some("other"), true), "vmware");
        assert_eq!(hypervisor(None, false), "ovf");
    }

    #[test]
    fn ten_thousand_nics() {
        let nic = "<Item><rasd:Connection>n</rasd:Connection><rasd:ResourceType>10</rasd:ResourceType></Item>";
        let text = with_items("", "", &nic.repeat(10_000));
        let e = ovf(&text).unwrap_err();
        assert!(matches!(e, VmConfigError::LimitExceeded { limit: "max_nics", value: 4097, max: 4096 }), "{e}");
        let limits = VmConfigLimits { max_nics: 10_000, ..Default::default() };
        assert_eq!(parse(text.as_bytes(), &limits).unwrap().nics.len(), 10_000);
        let refs = "<File ovf:id='f' ovf:href='x'/>";
        let e = parse(
            with_items(refs, "", &disk_item("d", "ovf:/file/f").repeat(3)).as_bytes(),
            &VmConfigLimits { max_disks: 2, ..Default::default() },
        )
        .unwrap_err();
        assert!(matches!(e, VmConfigError::LimitExceeded { limit: "max_disks", .. }), "{e}");
    }
}
