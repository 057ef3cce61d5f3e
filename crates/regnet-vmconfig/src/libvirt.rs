//! libvirt domain XML, as `virsh dumpxml` writes it.

use crate::xml::{self, Ns};
use crate::{
    canonical_mac, clip, warn, ConfigKind, DiskLocation, Result, VmConfig, VmConfigError, VmConfigLimits, VmDisk, VmNic,
};

const LIBOSINFO: Ns = Ns::PrefixOrNone("http://libosinfo.org/xmlns/libvirt/domain/");

pub(crate) fn parse(bytes: &[u8], limits: &VmConfigLimits) -> Result<VmConfig> {
    let doc = xml::parse(bytes, limits)?;
    let root = doc.root();
    if !doc.is(root, "domain", Ns::None) {
        let found = doc.element(root).map(|e| e.local.clone()).unwrap_or_default();
        let found = match doc.ns_uri(root) {
            Some(ns) => format!("{{{}}}{}", clip(ns, 80), clip(&found, 80)),
            None => clip(&found, 80),
        };
        return Err(VmConfigError::WrongDocument {
            what: "libvirt root element",
            expected: "<domain> (in no namespace)",
            found,
        });
    }
    let hypervisor = match doc.attr(root, "type", Ns::None).map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => format!("libvirt:{}", clip(&t.to_ascii_lowercase(), 40)),
        None => "libvirt".into(),
    };
    let mut vm = VmConfig::new(ConfigKind::Libvirt, hypervisor);
    vm.warnings = doc.warnings.clone();
    vm.name = doc.child_text(root, "name", Ns::None).map(str::to_owned);
    if let Some(meta) = doc.child(root, "metadata", Ns::None) {
        vm.guest_os = doc
            .descendants(meta)
            .find(|&c| doc.is(c, "os", LIBOSINFO) && doc.ns_uri(c).is_some())
            .and_then(|os| doc.attr(os, "id", Ns::None))
            .map(str::to_owned);
    }
    let Some(devices) = doc.child(root, "devices", Ns::None) else {
        warn(&mut vm.warnings, "libvirt domain has no <devices>");
        return Ok(vm);
    };
    let mut n_ifaces = 0u64;
    let mut n_disks = 0u64;
    for dev in doc.children(devices) {
        if doc.is(dev, "disk", Ns::None) {
            let device = doc.attr(dev, "device", Ns::None).unwrap_or("disk");
            if matches!(device, "cdrom" | "floppy") {
                continue;
            }
            let name = doc
                .child(dev, "target", Ns::None)
                .and_then(|t| doc.attr(t, "dev", Ns::None))
                .map(str::to_owned)
                .unwrap_or_else(|| format!("disk {n_disks}"));
            let dtype = doc.attr(dev, "type", Ns::None).unwrap_or("file");
            let source = doc.child(dev, "source", Ns::None);
            if dtype != "file" {
                let what = source
                    .and_then(|s| ["dev", "name", "pool", "dir", "path"].iter().find_map(|a| doc.attr(s, a, Ns::None)))
                    .map(|s| format!(" ({})", clip(s, 80)))
                    .unwrap_or_default();
                warn(&mut vm.warnings, format!("disk {name} is type '{}'{what}, not a file; skipped", clip(dtype, 40)));
                continue;
            }
            match source.and_then(|s| doc.attr(s, "file", Ns::None)).filter(|f| !f.trim().is_empty()) {
                Some(file) => {
                    n_disks += 1;
                    VmConfigLimits::check("max_disks", n_disks, limits.max_disks as u64)?;
                    vm.disks.push(VmDisk { device: name, location: DiskLocation::File(file.to_owned()) });
                }
                None => warn(&mut vm.warnings, format!("disk {name} names no source file; skipped")),
            }
        } else if doc.is(dev, "interface", Ns::None) {
            let index = n_ifaces;
            n_ifaces += 1;
            VmConfigLimits::check("max_nics", n_ifaces, limits.max_nics as u64)?;
            let label = doc
                .child(dev, "target", Ns::None)
                .and_then(|t| doc.attr(t, "dev", Ns::None))
                .map(str::to_owned)
                .unwrap_or_else(|| format!("interface {index}"));
            let raw_mac = doc.child(dev, "mac", Ns::None).and_then(|m| doc.attr(m, "address", Ns::None));
            let mac = raw_mac.and_then(canonical_mac);
            if let (Some(raw), None) = (raw_mac, &mac) {
                warn(&mut vm.warnings, format!("{label}: MAC {:?} is not a MAC address", clip(raw, 40)));
            }
            let itype = doc.attr(dev, "type", Ns::None).unwrap_or("");
            let network = doc.child(dev, "source", Ns::None).and_then(|s| {
                let order: &[&str] = match itype {
                    "network" => &["network", "bridge", "dev"],
                    "bridge" => &["bridge", "network", "dev"],
                    _ => &["dev", "network", "bridge"],
                };
                order.iter().find_map(|a| doc.attr(s, a, Ns::None)).map(str::to_owned)
            });
            let mut vlan = None;
            if let Some(v) = doc.child(dev, "vlan", Ns::None) {
                let tags: Vec<usize> = doc.children(v).filter(|&t| doc.is(t, "tag", Ns::None)).take(2).collect();
                if tags.len() > 1 || doc.attr(v, "trunk", Ns::None) == Some("yes") {
                    warn(&mut vm.warnings, format!("{label}: a VLAN trunk; only the first tag is reported"));
                }
                if let Some(id) = tags.first().and_then(|&t| doc.attr(t, "id", Ns::None)) {
                    match id.trim().parse::<u16>() {
                        Ok(n) if n < 4095 => vlan = Some(n),
                        _ => warn(&mut vm.warnings, format!("{label}: VLAN id {:?} is not 0-4094", clip(id, 40))),
                    }
                }
            }
            let device =
                doc.child(dev, "model", Ns::None).and_then(|m| doc.attr(m, "type", Ns::None)).map(str::to_owned);
            vm.nics.push(VmNic { label, mac, network, vlan, device });
        }
    }
    Ok(vm)
}

#[cfg(test)]
#[allow(clippy::type_complexity)]
mod tests {
    use super::*;

    fn domain(devices: &str) -> VmConfig {
        let text = format!("<domain type='QEMU'><name>t</name><devices>{devices}</devices></domain>");
        parse(text.as_bytes(), &VmConfigLimits::default()).unwrap()
    }

    #[test]
    fn interfaces() {
        let vm = domain(
            "<interface type='direct'><mac address='52:54:00:00:00:01'/><source dev='eno1' mode='bridge'/><model type='virtio'/></interface>\
             <interface type='user'><mac address='5254.0000.0002'/></interface>\
             <interface type='bridge'><mac address='bad'/><source bridge='br0'/><vlan trunk='yes'><tag id='10'/><tag id='20'/></vlan></interface>\
             <interface type='network'><source network='n'/><vlan><tag id='5000'/></vlan></interface>\
             <interface type='network'><source network='n'/><vlan><tag/></vlan></interface>",
        );
        assert_eq!(vm.hypervisor, "libvirt:qemu");
        let got: Vec<(&str, Option<&str>, Option<&str>, Option<u16>)> =
            vm.nics.iter().map(|n| (n.label.as_str(), n.mac.as_deref(), n.network.as_deref(), n.vlan)).collect();
        assert_eq!(
            got,
            [
                ("interface 0", Some("52:54:00:00:00:01"), Some("eno1"), None),
                ("interface 1", Some("52:54:00:00:00:02"), None, None),
                ("interface 2", None, Some("br0"), Some(10)),
                ("interface 3", None, Some("n"), None),
                ("interface 4", None, Some("n"), None),
            ]
        );
        let w = vm.warnings.join("\n");
        for needle in ["interface 2: MAC", "VLAN trunk", "\"5000\""] {
            assert!(w.contains(needle), "{needle} in {w}");
        }
    }

    #[test]
    fn disks() {
        let vm = domain(
            "<disk type='network' device='disk'><source protocol='rbd' name='pool/img'/><target dev='vda'/></disk>\
             <disk type='volume' device='disk'><source pool='p' volume='v'/><target dev='vdb'/></disk>\
             <disk type='nvme' device='disk'><target dev='vdc'/></disk>\
             <disk type='file' device='floppy'><source file='a.img'/></disk>\
             <disk type='file' device='disk'><target dev='vdd'/></disk>\
             <disk device='lun' type='file'><source file='/etc/shadow'/><target dev='sda'/></disk>\
             <disk><source file='../x'/></disk>",
        );
        assert_eq!(
            vm.disks,
            [
                VmDisk { device: "sda".into(), location: DiskLocation::File("/etc/shadow".into()) },
                VmDisk { device: "disk 1".into(), location: DiskLocation::File("../x".into()) },
            ]
        );
        let w = vm.warnings.join("\n");
        for needle in [
            "vda is type 'network' (pool/img)",
            "vdb is type 'volume' (p)",
            "vdc is type 'nvme', not",
            "vdd names no source",
        ] {
            assert!(w.contains(needle), "{needle} in {w}");
        }
    }

    #[test]
    fn documents() {
        let vm = parse(b"<domain><metadata><os id='x'/></metadata></domain>", &VmConfigLimits::default()).unwrap();
        assert_eq!(vm.hypervisor, "libvirt");
        assert_eq!(vm.guest_os, None);
        assert!(vm.warnings.iter().any(|w| w.contains("no <devices>")));
        for text in ["<Envelope/>", "<d:domain xmlns:d='urn:x'/>"] {
            let e = parse(text.as_bytes(), &VmConfigLimits::default()).unwrap_err();
            assert!(matches!(e, VmConfigError::WrongDocument { .. }), "{e}");
        }
        let many = format!("<domain><devices>{}</devices></domain>", "<interface type='user'/>".repeat(10_000));
        let e = parse(many.as_bytes(), &VmConfigLimits::default()).unwrap_err();
        assert!(matches!(e, VmConfigError::LimitExceeded { limit: "max_nics", .. }), "{e}");
        let many = format!("<domain><devices>{}</devices></domain>", "<disk><source file='a'/></disk>".repeat(3));
        let e = parse(many.as_bytes(), &VmConfigLimits { max_disks: 2, ..Default::default() }).unwrap_err();
        assert!(matches!(e, VmConfigError::LimitExceeded { limit: "max_disks", .. }), "{e}");
    }
}
