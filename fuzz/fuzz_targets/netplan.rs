//! Fuzz target: the input as netplan YAML (one file in `/etc/netplan`, or two when it holds the
//! marker `\n#8<\n`: the part after it goes to `/run/netplan`, sorted after the first); checks
//! what any result promises.
#![no_main]
use regnet_linux::{netplan, Limits, MemFiles, Stack};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut files = MemFiles::new();
    let marker = b"\n#8<\n";
    match data.windows(marker.len()).position(|w| w == marker) {
        Some(at) => {
            files.file("/etc/netplan/10-first.yaml", &data[..at]);
            files.file("/run/netplan/20-second.yaml", &data[at + marker.len()..]);
        }
        None => {
            files.file("/etc/netplan/50-cloud-init.yaml", data);
        }
    }
    let limits = Limits::default();
    let (cfg, renderer) = netplan::read(&mut files, &limits);
    assert!(cfg.interfaces.len() <= limits.max_interfaces);
    assert!(matches!(renderer.as_deref(), None | Some("networkd" | "NetworkManager" | "sriov")));
    for i in &cfg.interfaces {
        assert_eq!(i.stack, Some(Stack::Netplan));
        assert!(!i.files.is_empty());
        for mac in i.mac.iter().chain(i.set_mac.iter()) {
            assert!(mac.len() == 17 || mac.len() == 59, "{mac}");
            assert!(mac.bytes().enumerate().all(|(n, b)| if n % 3 == 2 { b == b':' } else { matches!(b, b'0'..=b'9' | b'A'..=b'F') }), "{mac}");
        }
    }
    for w in &cfg.warnings {
        assert!(w.file.is_some(), "{w:?}");
    }
});
