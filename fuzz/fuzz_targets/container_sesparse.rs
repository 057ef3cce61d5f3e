//! Fuzz target: the input is an SEsparse (seSparse, `-sesparse.vmdk`) extent. It is opened twice:
//! bare (a delta without parent) and as the top of a chain whose descriptors name it and an
//! in-memory flat base; both are read near every edge (see container_esxi.rs).
#![no_main]
#[path = "container_esxi.rs"]
mod esxi;
libfuzzer_sys::fuzz_target!(|data: &[u8]| esxi::delta(data, esxi::Kind::SeSparse));
