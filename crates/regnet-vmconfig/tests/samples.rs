//! The realistic sample files in testdata/vm, as ESXi, ovftool and virsh write them.

use std::path::PathBuf;

use regnet_vmconfig::{detect, parse, parse_ova, ConfigKind, DiskLocation, VmConfig, VmConfigLimits};

fn sample(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/vm").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn macs(vm: &VmConfig) -> Vec<Option<&str>> {
    vm.nics.iter().map(|n| n.mac.as_deref()).collect()
}

fn networks(vm: &VmConfig) -> Vec<Option<&str>> {
    vm.nics.iter().map(|n| n.network.as_deref()).collect()
}

fn files(vm: &VmConfig) -> Vec<(&str, &str)> {
    vm.disks
        .iter()
        .map(|d| match &d.location {
            DiskLocation::File(f) => (d.device.as_str(), f.as_str()),
            DiskLocation::ArchiveMember { name, .. } => (d.device.as_str(), name.as_str()),
            _ => unreachable!(),
        })
        .collect()
}

#[test]
fn esxi_vmx() {
    let bytes = sample("web01.vmx");
    assert_eq!(detect(&bytes), Some(ConfigKind::Vmx));
    let vm = parse(ConfigKind::Vmx, &bytes, &VmConfigLimits::default()).unwrap();
    assert_eq!(vm.kind, ConfigKind::Vmx);
    assert_eq!(vm.hypervisor, "vmware");
    assert_eq!(vm.name.as_deref(), Some("web01"));
    assert_eq!(vm.guest_os.as_deref(), Some("windows2019srv-64"));
    assert_eq!(files(&vm), [("scsi0:0", "web01.vmdk"), ("scsi0:1", "web01_1.vmdk")]);
    assert_eq!(macs(&vm), [Some("00:50:56:9A:3C:1F"), Some("00:50:56:9A:3C:20")]);
    assert_eq!(networks(&vm), [Some("Prod-VLAN10"), Some("Backup-VLAN20")]);
    assert_eq!(vm.nics[0].label, "ethernet0");
    assert_eq!(vm.nics[1].device.as_deref(), Some("vmxnet3"));
    assert_eq!(vm.nics[0].vlan, None);
    assert!(vm.warnings.is_empty(), "{:?}", vm.warnings);
}

#[test]
fn ovftool_ovf() {
    let bytes = sample("web01.ovf");
    assert_eq!(detect(&bytes), Some(ConfigKind::Ovf));
    let vm = parse(ConfigKind::Ovf, &bytes, &VmConfigLimits::default()).unwrap();
    assert_eq!(vm.kind, ConfigKind::Ovf);
    assert_eq!(vm.hypervisor, "vmware");
    assert_eq!(vm.name.as_deref(), Some("web01"));
    assert_eq!(vm.guest_os.as_deref(), Some("windows2019srv_64Guest"));
    assert_eq!(files(&vm), [("Hard disk 1", "web01-disk1.vmdk"), ("Hard disk 2", "web01-disk2.vmdk")]);
    assert_eq!(macs(&vm), [Some("00:50:56:9A:3C:1F"), Some("00:50:56:9A:3C:20")]);
    assert_eq!(networks(&vm), [Some("Prod-VLAN10"), Some("Backup-VLAN20")]);
    assert_eq!(vm.nics[0].label, "Network adapter 1");
    assert_eq!(vm.nics[0].device.as_deref(), Some("vmxnet3"));
    assert!(vm.warnings.is_empty(), "{:?}", vm.warnings);
}

#[test]
fn virsh_domain() {
    let bytes = sample("domain.xml");
    assert_eq!(detect(&bytes), Some(ConfigKind::Libvirt));
    let vm = parse(ConfigKind::Libvirt, &bytes, &VmConfigLimits::default()).unwrap();
    assert_eq!(vm.hypervisor, "libvirt:kvm");
    assert_eq!(vm.name.as_deref(), Some("web01"));
    assert_eq!(vm.guest_os.as_deref(), Some("http://microsoft.com/win/2k22"));
    assert_eq!(
        files(&vm),
        [("vda", "/var/lib/libvirt/images/web01.qcow2"), ("vdb", "/var/lib/libvirt/images/web01-data.raw")]
    );
    assert_eq!(vm.warnings.len(), 1, "{:?}", vm.warnings);
    assert!(vm.warnings[0].contains("vdc") && vm.warnings[0].contains("block"), "{:?}", vm.warnings);
    assert_eq!(macs(&vm), [Some("00:50:56:9A:3C:1F"), Some("00:50:56:9A:3C:20")]);
    assert_eq!(networks(&vm), [Some("br-prod"), Some("backup")]);
    assert_eq!(vm.nics.iter().map(|n| n.vlan).collect::<Vec<_>>(), [Some(10), Some(20)]);
    assert_eq!(vm.nics[0].label, "vnet12");
    assert_eq!(vm.nics[1].device.as_deref(), Some("e1000e"));
}

#[test]
fn ova_built_by_tar() {
    let bytes = sample("web01.ova");
    assert_eq!(detect(&bytes), Some(ConfigKind::Ova));
    let vm = parse_ova(&mut std::io::Cursor::new(&bytes), &VmConfigLimits::default()).unwrap();
    assert_eq!(vm.kind, ConfigKind::Ova);
    assert_eq!(vm.name.as_deref(), Some("web01"));
    assert_eq!(macs(&vm), [Some("00:50:56:9A:3C:1F"), Some("00:50:56:9A:3C:20")]);
    assert_eq!(vm.disks.len(), 2);
    for (disk, (name, fill, len)) in
        vm.disks.iter().zip([("web01-disk1.vmdk", b'A', 1536), ("web01-disk2.vmdk", b'B', 1024)])
    {
        let DiskLocation::ArchiveMember { name: n, offset, len: l } = &disk.location else { panic!("{disk:?}") };
        assert_eq!((n.as_str(), *l), (name, len));
        assert_eq!(offset % 512, 0);
        let data = &bytes[*offset as usize..(*offset + *l) as usize];
        assert!(data.iter().all(|&b| b == fill), "{name} at {offset}");
    }
    assert!(vm.warnings.is_empty(), "{:?}", vm.warnings);
}

#[test]
fn detection_ignores_names_and_rejects_others() {
    assert_eq!(detect(b""), None);
    assert_eq!(detect(b"KDMV\x01\x00\x00\x00"), None);
    assert_eq!(detect(b"# Disk DescriptorFile\nversion=1\nCID=fffffffe\ncreateType=\"monolithicSparse\"\n"), None);
    assert_eq!(detect(b"<?xml version='1.0'?><html/>"), None);
    // Only the first 4 KiB count.
    let mut long = vec![b' '; 5000];
    long.extend_from_slice(b"<domain/>");
    assert_eq!(detect(&long), None);
}

#[test]
fn parse_detected_reads_every_sample() {
    for (file, kind) in [
        ("web01.vmx", ConfigKind::Vmx),
        ("web01.ovf", ConfigKind::Ovf),
        ("web01.ova", ConfigKind::Ova),
        ("domain.xml", ConfigKind::Libvirt),
    ] {
        let vm = regnet_vmconfig::parse_detected(&sample(file), &VmConfigLimits::default()).unwrap();
        assert_eq!(vm.kind, kind, "{file}");
        assert_eq!(vm.name.as_deref(), Some("web01"), "{file}");
        assert_eq!(macs(&vm), [Some("00:50:56:9A:3C:1F"), Some("00:50:56:9A:3C:20")], "{file}");
    }
}
