//! Fuzz target: the input as one ifcfg file, RHEL style (`network-scripts/ifcfg-eth0`, also as
//! its `route-eth0`) and SUSE style (`network/ifcfg-eth0`, also as `routes`), read by
//! `regnet_linux::ifcfg`. Every input must give a result, within the limits; nothing is run.
#![no_main]
use regnet_linux::{ifcfg, Limits, MemFiles};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut files = MemFiles::new();
    files.file("/etc/sysconfig/network-scripts/ifcfg-eth0", data);
    files.file("/etc/sysconfig/network-scripts/route-eth0", data);
    files.file("/etc/sysconfig/network/ifcfg-eth0", data);
    files.file("/etc/sysconfig/network/routes", data);
    let limits = Limits::default();
    let rhel = ifcfg::read_rhel(&mut files, &limits);
    assert!(rhel.interfaces.len() <= 1);
    let suse = ifcfg::read_suse(&mut files, &limits);
    assert!(suse.interfaces.len() <= 1);
});
