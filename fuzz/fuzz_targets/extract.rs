//! Fuzz target: see regnet_fuzz::extract.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| regnet_fuzz::extract(data));
