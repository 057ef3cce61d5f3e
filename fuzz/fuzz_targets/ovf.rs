//! Fuzz target: the input read as an OVF descriptor, and as an OVA archive through a Cursor.
#![no_main]
use regnet_vmconfig::{detect, parse, parse_ova, ConfigKind, VmConfigLimits};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = detect(data);
    let limits = VmConfigLimits::default();
    if let Ok(vm) = parse(ConfigKind::Ovf, data, &limits) {
        invariants(&vm, &limits);
    }
    if let Ok(vm) = parse_ova(&mut std::io::Cursor::new(data), &limits) {
        invariants(&vm, &limits);
        for disk in &vm.disks {
            if let regnet_vmconfig::DiskLocation::ArchiveMember { offset, len, .. } = &disk.location {
                assert!(offset.checked_add(*len).is_some_and(|end| end <= data.len() as u64), "{disk:?}");
            }
        }
    }
});

/// What any result promises: limits kept, MACs canonical, OVA members inside the input.
fn invariants(vm: &regnet_vmconfig::VmConfig, limits: &VmConfigLimits) {
    assert!(vm.nics.len() <= limits.max_nics && vm.disks.len() <= limits.max_disks);
    assert!(vm.warnings.len() <= regnet_vmconfig::MAX_WARNINGS + 1);
    for nic in &vm.nics {
        if let Some(mac) = &nic.mac {
            assert_eq!(mac.len(), 17, "{mac}");
            assert!(mac.bytes().enumerate().all(|(i, b)| if i % 3 == 2 { b == b':' } else { matches!(b, b'0'..=b'9' | b'A'..=b'F') }), "{mac}");
            assert_eq!(regnet_vmconfig::canonical_mac(mac).as_deref(), Some(mac.as_str()));
        }
    }
}
