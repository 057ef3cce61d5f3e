//! Fuzz target: the input as one NetworkManager keyfile (root, mode 0600) in
//! `/etc/NetworkManager/system-connections/`, read by `regnet_linux::keyfile::read`. Every input
//! must give a result, within the limits.
#![no_main]
use regnet_linux::{keyfile, Limits, MemFiles};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut files = MemFiles::new();
    files.file_with("/etc/NetworkManager/system-connections/fuzz.nmconnection", data, 0, 0o600);
    let config = keyfile::read(&mut files, &Limits::default());
    assert!(config.interfaces.len() <= 1);
});
