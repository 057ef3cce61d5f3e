//! Fuzz target: see regnet_fuzz::network.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| regnet_fuzz::network(data));
