//! Fuzz target: see regnet_fuzz::ntfs.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| regnet_fuzz::ntfs(data));
