//! Open a whole hive (no logs) and walk every key and value.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| regnet_fuzz::hive_walk(data));
