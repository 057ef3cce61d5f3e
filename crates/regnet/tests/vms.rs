//! End to end: VM configuration files (as ESXi, ovftool and virsh write them) beside disks made by
//! the real tools (testdata/build-vms.sh, on the ESXi snapshot chain of testdata/build-esxi.sh):
//! the guest is found among the VM's disks, and each adapter is joined to its VM NIC by MAC.

use regnet::{Error, ExtractOptions, PresenceSource, Report};
use std::path::{Path, PathBuf};

fn vms() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/testdata/vms");
    if d.join("esxi/app-srv-07.vmx").is_file() {
        Some(d)
    } else {
        eprintln!(
            "skipped: {} is absent; run testdata/build.sh (needs qemu-img, ntfs-3g, wimtools, hivex)",
            d.display()
        );
        None
    }
}

fn extract(p: &Path) -> Report {
    regnet::extract(p, &ExtractOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn adapter<'r>(r: &'r Report, name: &str) -> &'r regnet::Adapter {
    r.adapters.iter().find(|a| a.name.as_deref() == Some(name)).unwrap_or_else(|| panic!("no adapter {name}"))
}

fn codes(r: &Report) -> Vec<&str> {
    r.warnings.iter().map(|w| w.code.as_str()).collect()
}

#[test]
fn vmx_on_an_esxi_snapshot_chain_reads_the_top_layer_and_names_each_network() {
    let Some(d) = vms() else { return };
    let r = extract(&d.join("esxi/app-srv-07.vmx"));
    let vm = r.vm.as_ref().unwrap();
    assert_eq!(vm.name.as_deref(), Some("app-srv-07"));
    assert_eq!(vm.config_kind.as_deref(), Some("vmx"));
    assert_eq!(vm.hypervisor, "vmware");
    assert_eq!(vm.guest_os.as_deref(), Some("windows2019srv-64"));
    let sys = vm.system_disk.as_ref().unwrap();
    assert_eq!((sys.device.as_str(), sys.file.as_str()), ("scsi0:0", "chain-000002.vmdk"));
    // The CD-ROM is no disk; the data disk is, but holds no Windows.
    let disks: Vec<&str> = vm.disks.iter().map(|d| d.device.as_str()).collect();
    assert_eq!(disks, ["scsi0:0", "scsi0:1"]);
    // A data disk without Windows is normal: no warning.
    assert!(!codes(&r).contains(&"vm_disk_not_read"), "{:?}", r.warnings);
    // The top layer (SEsparse over COWD over the flat base) wins.
    let prod = adapter(&r, "Ethernet0");
    assert_eq!(prod.ipv4[0].to_string(), "10.41.7.220/24");
    assert_eq!(prod.network.as_deref(), Some("Prod-VLAN10"));
    assert_eq!(prod.present, Some(true));
    assert_eq!(prod.presence.as_ref().map(|p| p.source), Some(PresenceSource::VmConfig));
    let backup = adapter(&r, "Backup");
    assert_eq!(backup.network.as_deref(), Some("Backup-VLAN20"));
    let nics: Vec<(Option<&str>, Option<&str>, Option<&str>)> =
        vm.nics.iter().map(|n| (n.mac.as_deref(), n.network.as_deref(), n.adapter.as_deref())).collect();
    assert_eq!(
        nics,
        [
            (Some("00:50:56:9A:3C:1F"), Some("Prod-VLAN10"), Some(prod.guid.as_str())),
            (Some("00:50:56:9A:3C:20"), Some("Backup-VLAN20"), Some(backup.guid.as_str())),
        ]
    );
    let src = r.source.as_ref().unwrap();
    assert_eq!(src.container, "vmdk");
    // Far less than the chain: a 64 MiB flat base, a COWD and a 6 MB SEsparse delta.
    assert!(src.bytes_read < 2 << 20, "read {} bytes", src.bytes_read);
    // Without the VM file, the top descriptor gives the same guest.
    let plain = extract(&d.join("esxi/chain-000002.vmdk"));
    assert_eq!(plain.adapters[0].ipv4, prod.ipv4);
    assert!(plain.vm.is_none() && plain.adapters.iter().all(|a| a.network.is_none()));
    // A delta extent alone is no disk: the error points at its descriptor.
    for f in ["esxi/chain-000001-delta.vmdk", "esxi/chain-000002-sesparse.vmdk"] {
        let e = regnet::extract(d.join(f), &ExtractOptions::default()).unwrap_err().to_string();
        assert!(e.contains("ESXi snapshot delta extent") && e.contains("descriptor"), "{f}: {e}");
    }
}

#[test]
fn a_nic_removed_from_the_vm_leaves_a_ghost_adapter() {
    let Some(d) = vms() else { return };
    let r = extract(&d.join("esxi/app-srv-07-one-nic.vmx"));
    assert_eq!(r.vm.as_ref().unwrap().nics.len(), 1, "ethernet1.present = FALSE is no NIC");
    let backup = adapter(&r, "Backup");
    assert_eq!(backup.present, Some(false));
    assert_eq!(backup.network, None);
    let w = r.warnings.iter().find(|w| w.code == "adapter_without_vm_nic").unwrap();
    assert!(w.message.contains("00:50:56:9A:3C:20") && w.message.contains("ethernet0"), "{}", w.message);
    assert_eq!(adapter(&r, "Ethernet0").present, Some(true));
}

#[test]
fn libvirt_domain_with_a_nic_the_guest_lacks() {
    let Some(d) = vms() else { return };
    let r = extract(&d.join("libvirt/web-srv-08.xml"));
    assert_eq!(r.hostname.as_deref(), Some("WEB-SRV-08"));
    let vm = r.vm.as_ref().unwrap();
    assert_eq!(vm.hypervisor, "libvirt:kvm");
    assert_eq!(vm.system_disk.as_ref().unwrap().device, "vda");
    let prod = adapter(&r, "Ethernet0");
    assert_eq!(prod.ipv4[0].to_string(), "10.41.7.30/24");
    assert_eq!(prod.network.as_deref(), Some("Prod-VLAN10"));
    assert_eq!(adapter(&r, "Backup").network.as_deref(), Some("Backup-VLAN20"));
    assert_eq!(vm.nics.iter().map(|n| n.vlan).collect::<Vec<_>>(), [None, Some(10), Some(20)]);
    let w = r.warnings.iter().find(|w| w.code == "vm_nic_without_adapter").unwrap();
    assert!(w.message.contains("52:54:00:AA:4D:99") && w.message.contains("Ethernet0"), "{}", w.message);
}

#[test]
fn ova_and_ovf_read_their_streamoptimized_disks() {
    let Some(d) = vms() else { return };
    for f in ["ova/app-srv-07.ova", "ova/app-srv-07.ovf"] {
        let r = extract(&d.join(f));
        let vm = r.vm.as_ref().unwrap();
        assert_eq!(vm.name.as_deref(), Some("app-srv-07"), "{f}");
        assert_eq!(vm.system_disk.as_ref().unwrap().file, "app-srv-07-disk1.vmdk", "{f}");
        assert_eq!(adapter(&r, "Ethernet0").network.as_deref(), Some("Prod-VLAN10"), "{f}");
        assert_eq!(adapter(&r, "Backup").network.as_deref(), Some("Backup-VLAN20"), "{f}");
        // The example guest: its logs replayed.
        assert_eq!(adapter(&r, "Ethernet0").ipv4.len(), 2, "{f}");
    }
}

#[test]
fn disk_choice_and_its_errors() {
    let Some(d) = vms() else { return };
    let vmx = d.join("esxi/app-srv-07.vmx");
    let mut o = ExtractOptions::default();
    o.disk = Some("2".into());
    let e = regnet::extract(&vmx, &o).unwrap_err();
    assert!(matches!(e, Error::NoSystemDisk { .. }), "{e}");
    assert!(e.to_string().contains("scsi0:1"), "{e}");
    o.disk = Some("scsi0:0".into());
    assert_eq!(regnet::extract(&vmx, &o).unwrap().vm.unwrap().system_disk.unwrap().device, "scsi0:0");
    o.disk = Some("nvme0:0".into());
    let e = regnet::extract(&vmx, &o).unwrap_err().to_string();
    assert!(e.contains("no disk \"nvme0:0\"") && e.contains("1 = scsi0:0"), "{e}");
}

#[test]
fn hostile_configuration_files_open_nothing_outside_their_folder() {
    let Some(d) = vms() else { return };
    let h = d.join("hostile");
    // Both disks are outside the folder: refused, and the error says so for each.
    let e = regnet::extract(h.join("shadow.vmx"), &ExtractOptions::default()).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, Error::NoSystemDisk { .. }), "{text}");
    assert!(
        text.contains("/etc/shadow")
            && text.contains("is outside")
            && text.contains("the folder of the file that names it"),
        "{text}"
    );
    assert!(text.contains("../../../../etc/passwd"), "{text}");
    // A refused disk beside a good one: the good one is read, the refusal is a warning.
    let r = extract(&h.join("shadow-and-disk.vmx"));
    assert_eq!(r.hostname.as_deref(), Some("APP-SRV-07"));
    assert!(r.warnings.iter().any(|w| w.code == "vm_disk_not_read" && w.message.contains("/etc/shadow")));
    // An entity bomb with an external entity: an error, nothing expanded or fetched.
    let e = regnet::extract(h.join("bomb.xml"), &ExtractOptions::default()).unwrap_err();
    assert!(matches!(e, Error::VmConfig { .. }), "{e}");
    // 10,000 NICs: past the default limit, a typed error; within a raised one, a report.
    let e = regnet::extract(h.join("many-nics.vmx"), &ExtractOptions::default()).unwrap_err();
    assert!(e.to_string().contains("max_nics"), "{e}");
    let mut o = ExtractOptions::default();
    o.vm_limits.max_nics = 20_000;
    let r = regnet::extract(h.join("many-nics.vmx"), &o).unwrap();
    assert_eq!(r.vm.as_ref().unwrap().nics.len(), 10_000);
    // None of them has the guest's MACs: both adapters are ghosts of this VM, and the warnings
    // stay short (a list of 10,000 NICs is cut).
    assert_eq!(adapter(&r, "Ethernet0").network, None);
    assert_eq!(adapter(&r, "Ethernet0").present, Some(false));
    let w = r.warnings.iter().find(|w| w.code == "adapter_without_vm_nic").unwrap();
    assert!(w.message.len() < 4096 && w.message.contains("9984 more"), "{}", w.message);
}
