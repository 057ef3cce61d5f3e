//! Fuzz target: the input as ifupdown files. Split on the marker `\n#8<\n`, the parts go in turn
//! to `/etc/network/interfaces`, `/etc/network/interfaces.d/eth1`, `/etc/network/interfaces.d/a.cfg`,
//! `/etc/network/other` and `/etc/network/sub/x`, so that `source` and `source-directory` lines
//! (globs, relative paths, cycles) reach them. Checks what any result promises.
#![no_main]
use regnet_linux::{ifupdown, Limits, MemFiles, Stack};

const PATHS: [&str; 5] = [
    "/etc/network/interfaces",
    "/etc/network/interfaces.d/eth1",
    "/etc/network/interfaces.d/a.cfg",
    "/etc/network/other",
    "/etc/network/sub/x",
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut files = MemFiles::new();
    files.link("/etc/network/loop", "/etc/network");
    let marker = b"\n#8<\n";
    let mut rest = data;
    for path in PATHS {
        let (part, next) = match rest.windows(marker.len()).position(|w| w == marker) {
            Some(at) => (&rest[..at], Some(&rest[at + marker.len()..])),
            None => (rest, None),
        };
        files.file(path, part);
        match next {
            Some(n) => rest = n,
            None => break,
        }
    }
    let mut limits = Limits::default();
    limits.max_interfaces = 64;
    limits.max_depth = 8;
    let cfg = ifupdown::read(&mut files, &limits);
    assert!(cfg.interfaces.len() <= limits.max_interfaces);
    for i in &cfg.interfaces {
        assert_eq!(i.stack, Some(Stack::Ifupdown));
        assert!(!i.files.is_empty());
        assert_ne!(i.name, "lo");
        for mac in i.set_mac.iter() {
            assert_eq!(mac.len(), 17, "{mac}");
        }
        for a in &i.addresses {
            assert!(a.prefix_len <= if a.address.is_ipv4() { 32 } else { 128 });
        }
    }
});
