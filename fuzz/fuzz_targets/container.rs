//! Fuzz target: see regnet_fuzz::container.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| regnet_fuzz::container(data));
