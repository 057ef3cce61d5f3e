//! Fuzz target: see regnet_fuzz::partitions.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| regnet_fuzz::partitions(data));
