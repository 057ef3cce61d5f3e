//! Fuzz target: the input as systemd-networkd files. Split on the marker `\n#8<\n`, the parts go
//! in turn to `/etc/systemd/network/10-a.network`, `/usr/lib/systemd/network/10-a.network` (masked
//! by the first), `…/10-a.network.d/50-x.conf`, `/run/systemd/network/20-b.network`, a `.link`
//! and a `.netdev`, then `/lib/systemd/network/30-c.network`; an empty part is a mask. Checks what
//! any result promises.
#![no_main]
use regnet_linux::{networkd, Limits, MemFiles, Stack};

const PATHS: [&str; 8] = [
    "/etc/systemd/network/10-a.network",
    "/usr/lib/systemd/network/10-a.network",
    "/etc/systemd/network/10-a.network.d/50-x.conf",
    "/run/systemd/network/20-b.network",
    "/usr/lib/systemd/network/10-b.link",
    "/etc/systemd/network/30-b.netdev",
    "/lib/systemd/network/30-c.network",
    "/usr/lib/systemd/network/10-a.network.d/40-y.conf",
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut files = MemFiles::new();
    let marker = b"\n#8<\n";
    let mut rest = data;
    for path in PATHS {
        let (part, next) = match rest.windows(marker.len()).position(|w| w == marker) {
            Some(at) => (&rest[..at], Some(&rest[at + marker.len()..])),
            None => (rest, None),
        };
        if part == b"null" {
            files.link(path, "/dev/null");
        } else {
            files.file(path, part);
        }
        match next {
            Some(n) => rest = n,
            None => break,
        }
    }
    let mut limits = Limits::default();
    limits.max_interfaces = 64;
    let cfg = networkd::read(&mut files, &limits);
    assert!(cfg.interfaces.len() <= limits.max_interfaces);
    for i in &cfg.interfaces {
        assert_eq!(i.stack, Some(Stack::Networkd));
        assert!(!i.files.is_empty());
        for mac in i.mac.iter().chain(i.set_mac.iter()) {
            assert_eq!(mac.len(), 17, "{mac}");
        }
        for a in &i.addresses {
            assert!(a.prefix_len <= if a.address.is_ipv4() { 32 } else { 128 });
        }
    }
});
