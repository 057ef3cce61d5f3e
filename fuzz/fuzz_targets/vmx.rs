//! Fuzz target: the input read as a VMware .vmx (detection too); checks what any result promises.
#![no_main]
use regnet_vmconfig::{detect, parse, ConfigKind, VmConfigLimits};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = detect(data);
    let limits = VmConfigLimits::default();
    if let Ok(vm) = parse(ConfigKind::Vmx, data, &limits) {
        invariants(&vm, &limits);
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
