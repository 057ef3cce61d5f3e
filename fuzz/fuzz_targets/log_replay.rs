//! Replay LOG1 + LOG2 over a primary (all from one input), then walk the result.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| regnet_fuzz::log_replay(data));
